//! `$GITHUB_OUTPUT`: the outputs in order, each with a random heredoc delimiter, and the
//! `result` JSON, kept under GitHub's 1 MiB per output.

use super::{fate, Fate, RunContext};
use crate::change::Outcomes;
use crate::model::{Mode, PackageVersion};
use crate::plan::{Decision, Entry, PackagePlan, Plan};
use anyhow::{Context as _, Result};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::BTreeMap;
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
    /// `result`, serialized: written within [`RESULT_LIMIT`] as it is produced.
    pub result: String,
}

impl Outputs {
    pub fn new(context: &RunContext, plan: &Plan, outcomes: &Outcomes) -> Outputs {
        let mut counts = Counts {
            skipped: plan.missing_ids.len(),
            ..Counts::default()
        };
        for package in &plan.packages {
            tally(package, outcomes, &mut counts);
        }
        let result = result_text(context, plan, outcomes);
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
            ("result", self.result.clone()),
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
        map.insert(
            "result".into(),
            serde_json::from_str(&self.result).unwrap_or(Value::Null),
        );
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

/// Count one package's fates into the outputs' counts and lists.
fn tally(package: &PackagePlan, outcomes: &Outcomes, counts: &mut Counts) {
    for entry in &package.entries {
        match fate(&package.package, entry, outcomes) {
            Fate::Planned | Fate::UntagPlanned(_) => {}
            Fate::Changed(learnt) => {
                let id = learnt.unwrap_or(entry.version.id);
                if id != 0 {
                    counts.changed_ids.push(id);
                }
            }
            Fate::Skipped(_) => counts.skipped += 1,
            Fate::Untagged(removed) => {
                counts.removed_tags.extend(tags_at(removed, &entry.version));
            }
            Fate::Failed(_) => counts.failed += 1,
            Fate::UntagFailed(removed, _) => {
                // The tags that came off before the failure are gone all the same.
                counts.failed += 1;
                counts.removed_tags.extend(tags_at(removed, &entry.version));
            }
            Fate::Incomplete(_) => {
                counts.failed += 1;
                counts.not_whole += 1;
                counts.changed_ids.push(entry.version.id);
            }
            Fate::Retagged(tag) => counts.restored_tags.push(tag.to_string()),
        }
    }
}

/// Text within a byte budget shared by everything `result` holds: a push that would pass it
/// is refused, and the caller falls back to a shorter form.
struct Budget {
    left: usize,
}

impl Budget {
    fn take(&mut self, text: String) -> Option<String> {
        self.left = self.left.checked_sub(text.len() + 1)?;
        Some(text)
    }
}

/// A JSON array of already serialized items.
fn array(items: &[String]) -> Box<RawValue> {
    RawValue::from_string(format!("[{}]", items.join(","))).unwrap_or_else(|_| empty_array())
}

fn empty_array() -> Box<RawValue> {
    RawValue::from_string("[]".into()).unwrap_or_default()
}

/// The lists of a package's detail in `result`, by fate.
#[derive(Default)]
struct Lists {
    planned: Vec<String>,
    changed: Vec<String>,
    skipped: Vec<String>,
    failed: Vec<String>,
    untag: Vec<String>,
    untagged: Vec<String>,
    retagged: Vec<String>,
}

/// One package in `result` with per-version detail (its planned, changed, skipped and failed
/// versions…), or `None` when the budget runs out. Keys in alphabetical order, as before.
fn package_detail(
    package: &PackagePlan,
    outcomes: &Outcomes,
    budget: &mut Budget,
) -> Option<Box<RawValue>> {
    let mut lists = Lists::default();
    for entry in &package.entries {
        if entry.decision == Decision::Change {
            let planned = entry_json(entry, &entry.version, &entry_note(entry));
            lists.planned.push(budget.take(planned)?);
        }
        for (list, text) in entry_detail(&package.package, entry, outcomes, &mut lists) {
            list.push(budget.take(text)?);
        }
    }
    #[derive(Serialize)]
    struct Detail<'a> {
        changed: Box<RawValue>,
        failed: Box<RawValue>,
        listed: usize,
        name: &'a str,
        planned: Box<RawValue>,
        skipped: Box<RawValue>,
        tags_put_back: Box<RawValue>,
        untag: Box<RawValue>,
        untagged: Box<RawValue>,
    }
    raw(&Detail {
        changed: array(&lists.changed),
        failed: array(&lists.failed),
        listed: package.listed,
        name: &package.package,
        planned: array(&lists.planned),
        skipped: array(&lists.skipped),
        tags_put_back: array(&lists.retagged),
        untag: array(&lists.untag),
        untagged: array(&lists.untagged),
    })
}

/// A version as `result` lists it, with the rule that decided it (a rule list, SPEC §2) and
/// the fields its fate adds.
fn entry_json(entry: &Entry, version: &PackageVersion, extra: &[(&str, Value)]) -> String {
    let mut v = version_json(version);
    if let Some(rule) = &entry.rule {
        v["rule"] = json!(rule);
    }
    for (key, value) in extra {
        v[*key] = value.clone();
    }
    v.to_string()
}

/// The note of a change no selector chose (`part of v1.2`), as a field.
fn entry_note(entry: &Entry) -> Vec<(&'static str, Value)> {
    entry.note.iter().map(|n| ("note", json!(n))).collect()
}

/// Which of `lists` an entry's fate puts it in, and as what (an image restored but not whole
/// is in two).
fn entry_detail<'l>(
    package: &str,
    entry: &Entry,
    outcomes: &Outcomes,
    lists: &'l mut Lists,
) -> Vec<(&'l mut Vec<String>, String)> {
    let of = |extra: &[(&str, Value)]| entry_json(entry, &entry.version, extra);
    match fate(package, entry, outcomes) {
        Fate::Planned => Vec::new(),
        Fate::Changed(learnt) => {
            let mut version = (*entry.version).clone();
            version.id = learnt.unwrap_or(version.id);
            vec![(
                &mut lists.changed,
                entry_json(entry, &version, &entry_note(entry)),
            )]
        }
        Fate::Skipped(reason) => {
            let extra = [
                ("reason", json!(reason.to_string())),
                ("reason_kind", json!(reason.kind())),
            ];
            vec![(&mut lists.skipped, of(&extra))]
        }
        Fate::UntagPlanned(tags) => {
            vec![(&mut lists.untag, of(&[("tags_to_remove", json!(tags))]))]
        }
        Fate::Untagged(removed) => {
            vec![(&mut lists.untagged, of(&[("removed_tags", json!(removed))]))]
        }
        Fate::Failed(message) => vec![(&mut lists.failed, of(&[("message", json!(message))]))],
        Fate::UntagFailed(removed, message) => {
            let extra = [
                ("removed_tags", json!(removed)),
                ("message", json!(message)),
            ];
            vec![(&mut lists.failed, of(&extra))]
        }
        Fate::Incomplete(message) => {
            let text = of(&[("message", json!(message))]);
            vec![
                (&mut lists.changed, text.clone()),
                (&mut lists.failed, text),
            ]
        }
        Fate::Retagged(tag) => vec![(&mut lists.retagged, of(&[("restored_tag", json!(tag))]))],
    }
}

/// One package in `result` without per-version detail: the ids of what was planned, changed
/// and failed, and the skips counted by reason; with `ids: false` the counts alone.
fn package_ids(
    package: &PackagePlan,
    outcomes: &Outcomes,
    ids: bool,
    budget: &mut Budget,
) -> Option<Box<RawValue>> {
    let (mut planned, mut changed, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in &package.entries {
        let id = entry.version.id;
        if entry.decision == Decision::Change {
            planned.push(id);
        }
        match fate(&package.package, entry, outcomes) {
            Fate::Changed(learnt) => changed.push(learnt.unwrap_or(id)),
            Fate::Incomplete(_) => {
                changed.push(id);
                failed.push(id);
            }
            Fate::Failed(_) | Fate::UntagFailed(..) => failed.push(id),
            Fate::Skipped(reason) => *reasons.entry(reason.kind()).or_default() += 1,
            _ => {}
        }
    }
    let text = if ids {
        json!({
            "name": package.package,
            "listed": package.listed,
            "planned_ids": planned,
            "changed_ids": changed,
            "skipped_by_reason": reasons,
            "failed_ids": failed,
        })
    } else {
        json!({
            "name": package.package,
            "listed": package.listed,
            "planned": planned.len(),
            "changed": changed.len(),
            "skipped_by_reason": reasons,
            "failed": failed.len(),
        })
    }
    .to_string();
    RawValue::from_string(budget.take(text)?).ok()
}

fn raw(value: &impl Serialize) -> Option<Box<RawValue>> {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| RawValue::from_string(text).ok())
}

/// What `result` says it left out, by form: nothing, the per-version detail, the ids too.
const DROPPED: [Option<&str>; 3] = [
    None,
    Some(
        "per-version detail dropped: the full result is over GitHub's 1 MiB limit for an \
         output; the log and the step summary list every version",
    ),
    Some(
        "per-version detail and ids dropped: even the ids are over GitHub's 1 MiB limit for \
         an output; the planned-ids, deleted-ids and restored-ids outputs and the log list them",
    ),
];

/// One way to write a package into `result`; `None` when the budget runs out.
type PackageForm = fn(&PackagePlan, &Outcomes, &mut Budget) -> Option<Box<RawValue>>;

/// `result` (SPEC §1), written within [`RESULT_LIMIT`] as it is produced, never built whole
/// and cut afterwards (issue 26): with per-version detail when it fits; else per package the
/// ids by fate and the skips counted by reason; else the counts alone; a note says which.
fn result_text(context: &RunContext, plan: &Plan, outcomes: &Outcomes) -> String {
    #[derive(Serialize)]
    struct Result<'a> {
        broken_images: Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        dry_run: bool,
        held: &'a Option<String>,
        mode: &'static str,
        not_found: Box<RawValue>,
        owner: &'a str,
        owner_kind: String,
        package_type: &'static str,
        packages: Vec<Box<RawValue>>,
        target: crate::model::Target,
    }
    let not_found: Vec<String> = plan
        .missing_ids
        .iter()
        .map(|id| {
            json!({"id": id, "reason": "version-ids: not found in any listed package"}).to_string()
        })
        .collect();
    let broken_images = broken_images_json(plan, outcomes);
    let fixed = broken_images.to_string().len() + 2048;
    let forms: [PackageForm; 3] = [
        package_detail,
        |p, o, b| package_ids(p, o, true, b),
        |p, o, b| package_ids(p, o, false, b),
    ];
    let mut last = String::new();
    for (level, form) in forms.iter().enumerate() {
        let mut budget = Budget {
            left: RESULT_LIMIT.saturating_sub(fixed),
        };
        let not_found = not_found
            .iter()
            .map(|t| budget.take(t.clone()))
            .collect::<Option<Vec<String>>>()
            .unwrap_or_default();
        let packages: Option<Vec<Box<RawValue>>> = plan
            .packages
            .iter()
            .map(|package| form(package, outcomes, &mut budget))
            .collect();
        let Some(packages) = packages else {
            continue;
        };
        let result = Result {
            broken_images: broken_images.clone(),
            detail: DROPPED[level].map(str::to_string),
            dry_run: context.dry_run,
            held: &context.held,
            mode: context.mode.as_str(),
            not_found: array(&not_found),
            owner: &context.owner,
            owner_kind: context.owner_kind.to_string(),
            package_type: context.package_type.as_str(),
            packages,
            target: context.target,
        };
        last = serde_json::to_string(&result).unwrap_or_default();
        if last.len() <= RESULT_LIMIT {
            break;
        }
    }
    last
}

/// `result.broken_images`: each image a repair examined that lacks parts.
fn broken_images_json(plan: &Plan, outcomes: &Outcomes) -> Value {
    Value::Array(
        plan.broken
            .iter()
            .map(|image| {
                json!({
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
                })
            })
            .collect(),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OwnerKind, PackageType, Target};
    use crate::plan::{Entry, SkipReason};

    fn context() -> RunContext {
        RunContext {
            owner: "acme".into(),
            owner_kind: OwnerKind::Organization,
            package_type: PackageType::Container,
            mode: Mode::Delete,
            target: Target::Versions,
            dry_run: true,
            held: None,
            server_url: "https://github.com".into(),
            action: "acme/package-janitor@v1".into(),
        }
    }

    /// A package of `n` planned versions and one skipped.
    fn plan(n: u64) -> Plan {
        let version = |id: u64| PackageVersion {
            id,
            name: format!("sha256:{id:064x}"),
            tags: vec![format!("pr-{id}")],
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            deleted_at: None,
        };
        let mut package = PackagePlan::empty("web", n as usize + 1);
        package.entries = (0..n)
            .map(|i| Entry::new(version(1_000_000_000 + i), Decision::Change, None))
            .collect();
        package.entries.push(Entry::new(
            version(9),
            Decision::Skip(SkipReason::KeepLatest { n: 1 }),
            None,
        ));
        Plan {
            packages: vec![package],
            missing_ids: vec![7],
            broken: Vec::new(),
            examined: 0,
        }
    }

    fn outputs_of(n: u64) -> (usize, Value) {
        let outputs = Outputs::new(&context(), &plan(n), &Outcomes::new());
        assert_eq!(outputs.planned_count, n as usize);
        assert_eq!(
            outputs.skipped_count, 2,
            "the kept version and the missing id"
        );
        (
            outputs.result.len(),
            serde_json::from_str(&outputs.result).unwrap(),
        )
    }

    #[test]
    fn result_keeps_per_version_detail_while_it_fits() {
        let (_, result) = outputs_of(100);
        assert!(result.get("detail").is_none());
        let package = &result["packages"][0];
        assert_eq!(package["planned"].as_array().unwrap().len(), 100);
        assert_eq!(package["planned"][0]["tags"][0], "pr-1000000000");
        assert_eq!(package["skipped"][0]["reason_kind"], "keep-latest");
        assert_eq!(result["not_found"][0]["id"], 7);
        assert_eq!(result["owner"], "acme");
    }

    #[test]
    fn result_falls_back_to_ids_then_to_counts_and_stays_under_the_limit() {
        // About 200 bytes a version: 20,000 do not fit with detail, their ids do.
        let (size, result) = outputs_of(20_000);
        assert!(size <= RESULT_LIMIT, "{size}");
        assert!(result["detail"]
            .as_str()
            .unwrap()
            .starts_with("per-version detail dropped"));
        let package = &result["packages"][0];
        assert_eq!(package["planned_ids"].as_array().unwrap().len(), 20_000);
        assert_eq!(package["skipped_by_reason"]["keep-latest"], 1);
        // 11 bytes an id: 120,000 ids do not fit either; the counts do.
        let (size, result) = outputs_of(120_000);
        assert!(size <= RESULT_LIMIT, "{size}");
        assert!(result["detail"]
            .as_str()
            .unwrap()
            .starts_with("per-version detail and ids dropped"));
        let package = &result["packages"][0];
        assert_eq!(package["planned"], 120_000);
        assert!(package.get("planned_ids").is_none());
        assert_eq!(package["skipped_by_reason"]["keep-latest"], 1);
    }
}
