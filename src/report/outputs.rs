//! `$GITHUB_OUTPUT`: the outputs in order, each with a random heredoc delimiter, and the
//! `result` JSON, kept under GitHub's 1 MiB per output.

use super::{fate, Fate, RunContext};
use crate::execute::Outcomes;
use crate::model::{Mode, PackageVersion};
use crate::plan::{Decision, PackagePlan, Plan};
use anyhow::{Context as _, Result};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::io::Write as _;
use std::path::Path;

/// The values written to `$GITHUB_OUTPUT`, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    pub planned_count: usize,
    pub planned_ids: Vec<u64>,
    pub deleted_count: usize,
    pub deleted_ids: Vec<u64>,
    pub restored_count: usize,
    pub restored_ids: Vec<u64>,
    pub skipped_count: usize,
    pub failed_count: usize,
    /// Of the failures, images restored without all their parts (also in `restored_count`).
    pub not_whole: usize,
    /// `untag`: the tags removed, as `TAG@DIGEST` (the digest the tag pointed to).
    pub removed_tags: Vec<String>,
    /// Restore: the tags put back on their images, as `TAG@DIGEST`.
    pub restored_tags: Vec<String>,
    pub result: Value,
}

impl Outputs {
    pub fn new(context: &RunContext, plan: &Plan, outcomes: &Outcomes) -> Outputs {
        let mut counts = Counts {
            skipped: plan.missing_ids.len(),
            ..Counts::default()
        };
        let packages: Vec<Value> = plan
            .packages
            .iter()
            .map(|package| package_json(package, outcomes, &mut counts))
            .collect();
        let not_found: Vec<Value> = plan
            .missing_ids
            .iter()
            .map(|id| json!({"id": id, "reason": "version-ids: not found in any listed package"}))
            .collect();
        let result = fit_result(json!({
            "owner": context.owner,
            "owner_kind": context.owner_kind.to_string(),
            "package_type": context.package_type.as_str(),
            "mode": context.mode.as_str(),
            "target": context.target,
            "dry_run": context.dry_run,
            "held": context.held,
            "packages": packages,
            "not_found": not_found,
            "broken_images": plan.broken.iter().map(|image| json!({
                "package": image.package,
                "digest": image.digest,
                "tags": image.tags,
                "missing": image.missing.iter().map(|part| json!({
                    "digest": part.digest,
                    "platform": part.platform,
                    "id": part.version.or(part.expired.map(|(id, _)| id)),
                    "deleted_at": part.expired.map(|(_, at)| at),
                    "state": match (part.version, part.expired) {
                        (Some(_), _) => "deleted",
                        (None, Some(_)) => "expired",
                        (None, None) => "gone",
                    },
                })).collect::<Vec<_>>(),
                "repaired": super::repaired(image, outcomes),
            })).collect::<Vec<_>>(),
        }));
        let changed = (counts.changed_ids.len(), counts.changed_ids);
        let ((deleted_count, deleted_ids), (restored_count, restored_ids)) = match context.mode {
            Mode::Delete => (changed, (0, Vec::new())),
            Mode::Restore | Mode::Repair => ((0, Vec::new()), changed),
        };
        let planned_ids = plan.change_ids();
        Outputs {
            // The count is the number of ids (SPEC §1): a version that loses tags is one
            // planned id however many tags go (they are counted in `removed-tags-count`).
            planned_count: planned_ids.len(),
            planned_ids,
            deleted_count,
            deleted_ids,
            restored_count,
            restored_ids,
            skipped_count: counts.skipped,
            failed_count: counts.failed,
            not_whole: counts.not_whole,
            removed_tags: counts.removed_tags,
            restored_tags: counts.restored_tags,
            result,
        }
    }

    /// `5 failed`, or `5 failed (1 restored but not whole)`: an image counted both as
    /// restored and as failed says so, so the totals add up.
    pub fn failed_words(&self) -> String {
        match self.not_whole {
            0 => format!("{} failed", self.failed_count),
            n => format!("{} failed ({n} restored but not whole)", self.failed_count),
        }
    }

    /// Name and value of every output, in the order they are written; a list that would pass
    /// GitHub's 1 MiB per output is cut at a whole entry ([`Outputs::cut_lists`] says how
    /// many were left out).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let list = |name: &'static str, items: Vec<String>| (name, fit_list(&items).0);
        vec![
            ("planned-count", self.planned_count.to_string()),
            list("planned-ids", strings(&self.planned_ids)),
            ("deleted-count", self.deleted_count.to_string()),
            list("deleted-ids", strings(&self.deleted_ids)),
            ("restored-count", self.restored_count.to_string()),
            list("restored-ids", strings(&self.restored_ids)),
            ("skipped-count", self.skipped_count.to_string()),
            ("failed-count", self.failed_count.to_string()),
            ("removed-tags-count", self.removed_tags.len().to_string()),
            list("removed-tags", self.removed_tags.clone()),
            ("restored-tags-count", self.restored_tags.len().to_string()),
            list("restored-tags", self.restored_tags.clone()),
            ("result", self.result.to_string()),
        ]
    }

    /// The lists cut to fit an output, and how many entries each left out.
    pub fn cut_lists(&self) -> Vec<(&'static str, usize)> {
        [
            ("planned-ids", strings(&self.planned_ids)),
            ("deleted-ids", strings(&self.deleted_ids)),
            ("restored-ids", strings(&self.restored_ids)),
            ("removed-tags", self.removed_tags.clone()),
            ("restored-tags", self.restored_tags.clone()),
        ]
        .into_iter()
        .filter_map(|(name, items)| {
            let left_out = fit_list(&items).1;
            (left_out > 0).then_some((name, left_out))
        })
        .collect()
    }

    /// Append every output to the `$GITHUB_OUTPUT` file as `name<<DELIM … DELIM`.
    pub fn write_to(&self, path: &Path) -> Result<()> {
        let mut text = String::new();
        for (name, value) in self.pairs() {
            let delimiter = loop {
                let d = random_delimiter();
                if !value.contains(&d) {
                    break d;
                }
            };
            let _ = write!(text, "{name}<<{delimiter}\n{value}\n{delimiter}\n");
        }
        append(path, &text).context("writing the outputs to $GITHUB_OUTPUT")
    }

    /// Outside Actions: one JSON object on stdout.
    pub fn to_json(&self) -> Value {
        let mut map = serde_json::Map::new();
        for (name, value) in self.pairs() {
            map.insert(name.to_string(), json!(value));
        }
        map.insert("result".into(), self.result.clone());
        Value::Object(map)
    }
}

/// What the outputs count across packages.
#[derive(Default)]
struct Counts {
    /// Ids of what was changed. A restored package whose id GitHub did not tell (0) is in
    /// `result` only: counts equal ids (SPEC §2).
    changed_ids: Vec<u64>,
    skipped: usize,
    failed: usize,
    not_whole: usize,
    removed_tags: Vec<String>,
    restored_tags: Vec<String>,
}

/// One package in `result`: its planned, changed, skipped and failed versions.
fn package_json(package: &PackagePlan, outcomes: &Outcomes, counts: &mut Counts) -> Value {
    let (mut planned, mut changed, mut skipped, mut failed) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut untag, mut untagged, mut retagged) = (Vec::new(), Vec::new(), Vec::new());
    for entry in &package.entries {
        // Every entry names the rule that decided it, in a rule list (SPEC §2).
        let version_json = |version: &PackageVersion| {
            let mut v = version_json(version);
            if let Some(rule) = &entry.rule {
                v["rule"] = json!(rule);
            }
            v
        };
        let noted = |version: &PackageVersion, note: &Option<String>| {
            let mut v = version_json(version);
            if let Some(note) = note {
                v["note"] = json!(note);
            }
            v
        };
        if entry.decision == Decision::Change {
            planned.push(noted(&entry.version, &entry.note));
        }
        match fate(&package.package, entry, outcomes) {
            Fate::Planned => {}
            Fate::Changed(learnt) => {
                let mut version = entry.version.clone();
                version.id = learnt.unwrap_or(version.id);
                if version.id != 0 {
                    counts.changed_ids.push(version.id);
                }
                changed.push(noted(&version, &entry.note));
            }
            Fate::Skipped(reason) => {
                counts.skipped += 1;
                let mut v = version_json(&entry.version);
                v["reason"] = json!(reason.to_string());
                v["reason_kind"] = serde_json::to_value(&reason)
                    .ok()
                    .and_then(|r| r.get("kind").cloned())
                    .unwrap_or(Value::Null);
                skipped.push(v);
            }
            Fate::UntagPlanned(tags) => {
                let mut v = version_json(&entry.version);
                v["tags_to_remove"] = json!(tags);
                untag.push(v);
            }
            Fate::Untagged(removed) => {
                counts.removed_tags.extend(tags_at(removed, &entry.version));
                let mut v = version_json(&entry.version);
                v["removed_tags"] = json!(removed);
                untagged.push(v);
            }
            Fate::Failed(message) => {
                counts.failed += 1;
                let mut v = version_json(&entry.version);
                v["message"] = json!(message);
                failed.push(v);
            }
            Fate::UntagFailed(removed, message) => {
                // The tags that came off before the failure are gone all the same.
                counts.failed += 1;
                counts.removed_tags.extend(tags_at(removed, &entry.version));
                let mut v = version_json(&entry.version);
                v["removed_tags"] = json!(removed);
                v["message"] = json!(message);
                failed.push(v);
            }
            Fate::Incomplete(message) => {
                counts.failed += 1;
                counts.not_whole += 1;
                counts.changed_ids.push(entry.version.id);
                let mut v = version_json(&entry.version);
                v["message"] = json!(message);
                changed.push(v.clone());
                failed.push(v);
            }
            Fate::Retagged(tag) => {
                counts.restored_tags.push(tag.to_string());
                let mut v = version_json(&entry.version);
                v["restored_tag"] = json!(tag);
                retagged.push(v);
            }
        }
    }
    json!({
        "name": package.package,
        "listed": package.listed,
        "planned": planned,
        "changed": changed,
        "skipped": skipped,
        "failed": failed,
        "untag": untag,
        "untagged": untagged,
        "tags_put_back": retagged,
    })
}

/// `TAG@DIGEST` for each tag that pointed at `version`.
fn tags_at<'a>(
    tags: &'a [String],
    version: &'a PackageVersion,
) -> impl Iterator<Item = String> + 'a {
    tags.iter()
        .map(move |tag| format!("{tag}@{}", version.name))
}

/// The most bytes `result` may take: GitHub accepts at most 1 MiB per output; the rest is
/// margin for the output file's framing.
pub const RESULT_LIMIT: usize = 1024 * 1024 - 16 * 1024;

/// `result` as it is when it fits under [`RESULT_LIMIT`]; else without per-version detail: per
/// package the ids of what was planned and changed, and counts by kind, with a note saying so.
fn fit_result(mut result: Value) -> Value {
    let size = result.to_string().len();
    if size <= RESULT_LIMIT {
        return result;
    }
    let ids = |list: &Value| -> Vec<Value> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("id").cloned())
            .collect()
    };
    if let Some(packages) = result.get_mut("packages").and_then(Value::as_array_mut) {
        for package in packages.iter_mut() {
            let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
            for skipped in package["skipped"].as_array().into_iter().flatten() {
                let kind = skipped["reason_kind"]
                    .as_str()
                    .unwrap_or("other")
                    .to_string();
                *reasons.entry(kind).or_default() += 1;
            }
            *package = json!({
                "name": package["name"],
                "listed": package["listed"],
                "planned_ids": ids(&package["planned"]),
                "changed_ids": ids(&package["changed"]),
                "skipped_by_reason": reasons,
                "failed_ids": ids(&package["failed"]),
            });
        }
    }
    result["detail"] = json!(format!(
        "per-version detail dropped: the full result ({size} bytes) is over GitHub's 1 MiB \
         limit for an output; the log and the step summary list every version"
    ));
    result
}

pub(super) fn join_ids(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

fn strings(ids: &[u64]) -> Vec<String> {
    ids.iter().map(u64::to_string).collect()
}

/// A comma-separated list within [`RESULT_LIMIT`] bytes, cut at a whole entry; and how many
/// entries did not fit.
fn fit_list(items: &[String]) -> (String, usize) {
    let mut text = String::new();
    for (i, item) in items.iter().enumerate() {
        if text.len() + 1 + item.len() > RESULT_LIMIT {
            return (text, items.len() - i);
        }
        if i > 0 {
            text.push(',');
        }
        text.push_str(item);
    }
    (text, 0)
}

/// `ghadelimiter_` and 128 random bits from the standard library's per-process random keys.
fn random_delimiter() -> String {
    let a = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(a);
    format!("ghadelimiter_{a:016x}{:016x}", h.finish())
}

/// Check, before the first change, that a file the run reports to can be appended to, so that
/// no change is made whose record could not be written (SPEC §6). Writes nothing.
pub fn check_writable(path: &Path, what: &str) -> Result<()> {
    // Never opened unless a regular file (or `/dev/null`): a FIFO would block the run forever,
    // a directory or a device cannot hold the record (SPEC §1).
    if let Ok(meta) = std::fs::metadata(path) {
        let null = path
            .canonicalize()
            .is_ok_and(|p| p == Path::new("/dev/null"));
        if !meta.is_file() && !null {
            anyhow::bail!(
                "{what} {} is not a regular file (a FIFO would block the run forever, a \
                 directory or a device cannot hold it)",
                path.display()
            );
        }
    }
    append(path, "").with_context(|| format!("{what} cannot be written"))
}

pub(super) fn append(path: &Path, text: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.write_all(crate::workflow::redact(text).as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// A version as `result` shows it. A package to restore is known only by name until GitHub
/// shows it again (its stand-in has id 0): nothing is invented for it (SPEC §2).
fn version_json(v: &PackageVersion) -> Value {
    if v.id == 0 {
        return json!({"id": null, "name": v.name, "tags": v.tags});
    }
    json!({
        "id": v.id,
        "name": v.name,
        "tags": v.tags,
        "created_at": v.created_at,
        "updated_at": v.updated_at,
        "deleted_at": v.deleted_at,
    })
}
