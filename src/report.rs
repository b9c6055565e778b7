//! Everything the run reports: the plan table in the log, the `result` JSON, the
//! `$GITHUB_OUTPUT` file (random heredoc delimiters) and the step summary.
//!
//! All renderers read the same two things, the [`Plan`] and the execution [`Outcomes`], so
//! the log, the outputs and the summary cannot disagree.

use crate::execute::{Outcome, Outcomes};
use crate::model::{Mode, OwnerKind, PackageType, PackageVersion, Target};
use crate::plan::{Decision, Entry, PackagePlan, Plan, SkipReason};
use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::io::Write as _;
use std::path::Path;

/// What the report says about the run as a whole.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub owner: String,
    pub owner_kind: OwnerKind,
    pub package_type: PackageType,
    pub mode: Mode,
    pub target: Target,
    pub dry_run: bool,
    /// Why a plan was not executed (`max-changes`), if it was not.
    pub held: Option<String>,
    /// `GITHUB_SERVER_URL`, for links to the packages.
    pub server_url: String,
    /// How a workflow names this action (`owner/repo@ref`), for the undo step.
    pub action: String,
}

impl RunContext {
    /// The package's page on GitHub.
    pub fn package_url(&self, name: &str) -> String {
        let owners = match self.owner_kind {
            OwnerKind::Organization => "orgs",
            OwnerKind::User => "users",
        };
        format!(
            "{}/{owners}/{}/packages/{}/package/{}",
            self.server_url,
            self.owner,
            self.package_type,
            crate::github::percent_encode(name)
        )
    }
}

/// Where one selected version ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate<'a> {
    /// Planned, not sent (dry run, or held by max-changes).
    Planned,
    /// Deleted or restored, as the mode says; with the id learnt afterwards, if any.
    Changed(Option<u64>),
    Skipped(SkipReason),
    Failed(&'a str),
}

pub fn fate<'a>(package: &str, entry: &Entry, outcomes: &'a Outcomes) -> Fate<'a> {
    match &entry.decision {
        Decision::Skip(reason) => Fate::Skipped(reason.clone()),
        Decision::Change => match outcomes.get(&(package.to_string(), entry.version.id)) {
            None => Fate::Planned,
            Some(Outcome::Changed(id)) => Fate::Changed(*id),
            Some(Outcome::Refused(message)) => Fate::Skipped(SkipReason::Refused {
                message: message.clone(),
            }),
            Some(Outcome::Failed(message)) => Fate::Failed(message),
            Some(Outcome::Deferred(resets)) => Fate::Skipped(SkipReason::RateLimitBudget {
                resets_at: resets.clone(),
            }),
            Some(Outcome::OutOfTime) => Fate::Skipped(SkipReason::TimeBudget),
            Some(Outcome::Cancelled) => Fate::Skipped(SkipReason::Cancelled),
        },
    }
}

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
    pub result: Value,
}

impl Outputs {
    pub fn new(context: &RunContext, plan: &Plan, outcomes: &Outcomes) -> Outputs {
        let mut changed_ids = Vec::new();
        let mut changed_count = 0;
        let mut skipped_count = plan.missing_ids.len();
        let mut failed_count = 0;
        let mut packages = Vec::new();
        for package in &plan.packages {
            let (mut planned, mut changed, mut skipped, mut failed) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for entry in &package.entries {
                if entry.decision == Decision::Change {
                    let mut v = version_json(&entry.version);
                    if let Some(note) = &entry.note {
                        v["note"] = json!(note);
                    }
                    planned.push(v);
                }
                match fate(&package.package, entry, outcomes) {
                    Fate::Planned => {}
                    Fate::Changed(learnt) => {
                        let mut version = entry.version.clone();
                        version.id = learnt.unwrap_or(version.id);
                        // Id 0: a restored package whose id GitHub did not tell. Counts equal
                        // ids (SPEC §2), so it is in `result` only.
                        if version.id != 0 {
                            changed_count += 1;
                            changed_ids.push(version.id);
                        }
                        let mut v = version_json(&version);
                        if let Some(note) = &entry.note {
                            v["note"] = json!(note);
                        }
                        changed.push(v);
                    }
                    Fate::Skipped(reason) => {
                        skipped_count += 1;
                        let mut v = version_json(&entry.version);
                        v["reason"] = json!(reason.to_string());
                        v["reason_kind"] = serde_json::to_value(&reason)
                            .ok()
                            .and_then(|r| r.get("kind").cloned())
                            .unwrap_or(Value::Null);
                        skipped.push(v);
                    }
                    Fate::Failed(message) => {
                        failed_count += 1;
                        let mut v = version_json(&entry.version);
                        v["message"] = json!(message);
                        failed.push(v);
                    }
                }
            }
            packages.push(json!({
                "name": package.package,
                "listed": package.listed,
                "planned": planned,
                "changed": changed,
                "skipped": skipped,
                "failed": failed,
            }));
        }
        let not_found: Vec<Value> = plan
            .missing_ids
            .iter()
            .map(|id| json!({"id": id, "reason": "version-ids: not found in any listed package"}))
            .collect();
        let result = json!({
            "owner": context.owner,
            "owner_kind": context.owner_kind.to_string(),
            "package_type": context.package_type.as_str(),
            "mode": context.mode.as_str(),
            "target": context.target,
            "dry_run": context.dry_run,
            "held": context.held,
            "packages": packages,
            "not_found": not_found,
        });
        let result = fit_result(result);
        let ((deleted_count, deleted_ids), (restored_count, restored_ids)) = match context.mode {
            Mode::Delete => ((changed_count, changed_ids), (0, Vec::new())),
            Mode::Restore => ((0, Vec::new()), (changed_count, changed_ids)),
        };
        let planned_ids = plan.change_ids();
        Outputs {
            planned_count: planned_ids.len(),
            planned_ids,
            deleted_count,
            deleted_ids,
            restored_count,
            restored_ids,
            skipped_count,
            failed_count,
            result,
        }
    }

    /// Name and value of every output, in the order they are written.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("planned-count", self.planned_count.to_string()),
            ("planned-ids", join_ids(&self.planned_ids)),
            ("deleted-count", self.deleted_count.to_string()),
            ("deleted-ids", join_ids(&self.deleted_ids)),
            ("restored-count", self.restored_count.to_string()),
            ("restored-ids", join_ids(&self.restored_ids)),
            ("skipped-count", self.skipped_count.to_string()),
            ("failed-count", self.failed_count.to_string()),
            ("result", self.result.to_string()),
        ]
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

fn join_ids(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
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
    append(path, "").with_context(|| format!("{what} cannot be written"))
}

fn append(path: &Path, text: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.write_all(text.as_bytes())
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

fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let d = now.signed_duration_since(then);
    if d.num_days() >= 1 {
        format!("{}d", d.num_days())
    } else if d.num_hours() >= 1 {
        format!("{}h", d.num_hours())
    } else {
        format!("{}m", d.num_minutes().max(0))
    }
}

fn short_name(name: &str) -> String {
    match name.strip_prefix("sha256:") {
        // By characters: a name from outside may hold any, and a byte slice could split one.
        Some(hex) if hex.chars().count() > 12 => {
            format!("sha256:{}…", hex.chars().take(12).collect::<String>())
        }
        _ => name.to_string(),
    }
}

/// The fate and reason columns of one entry: a change's note ("part of v1") when it has one.
fn entry_words(
    package: &str,
    entry: &Entry,
    outcomes: &Outcomes,
    context: &RunContext,
) -> (String, String) {
    let (fate, reason) = fate_words(&fate(package, entry, outcomes), context);
    match (&entry.note, reason.is_empty()) {
        (Some(note), true) => (fate, note.clone()),
        _ => (fate, reason),
    }
}

fn fate_words(fate: &Fate, context: &RunContext) -> (String, String) {
    let (verb, done) = match context.mode {
        Mode::Delete => ("delete", "deleted"),
        Mode::Restore => ("restore", "restored"),
    };
    match fate {
        Fate::Planned => match (&context.held, context.dry_run) {
            (Some(reason), _) => (format!("{verb} (held)"), reason.clone()),
            (None, true) => (format!("{verb} (dry run)"), String::new()),
            (None, false) => (verb.into(), String::new()),
        },
        Fate::Changed(_) => (done.into(), String::new()),
        Fate::Skipped(reason) => ("skip".into(), reason.to_string()),
        Fate::Failed(message) => ("FAILED".into(), message.to_string()),
    }
}

/// The log group's title for one package: `container web: 3 of 12 versions planned`.
pub fn group_title(context: &RunContext, package: &PackagePlan) -> String {
    let what = match context.target {
        Target::Versions => format!(
            "{} of {} versions planned",
            package.changes().count(),
            package.listed
        ),
        Target::Packages => format!("the whole package, {} versions", package.listed),
    };
    format!(
        "{} {}: {what}{}",
        context.package_type,
        package.package,
        if context.dry_run { " (dry run)" } else { "" }
    )
}

/// The totals line: `Done: 3 planned, 3 deleted, 2 skipped, 0 failed`.
pub fn totals(context: &RunContext, outputs: &Outputs) -> String {
    format!(
        "{}: {} planned, {} {}, {} skipped, {} failed",
        match (&context.held, context.dry_run) {
            (Some(_), _) => "Held",
            (None, true) => "Dry run",
            (None, false) => "Done",
        },
        outputs.planned_count,
        outputs.deleted_count + outputs.restored_count,
        match context.mode {
            Mode::Delete => "deleted",
            Mode::Restore => "restored",
        },
        outputs.skipped_count,
        outputs.failed_count
    )
}

/// The plan of one package as a plain-text table for the log.
pub fn plan_table(
    context: &RunContext,
    package: &PackagePlan,
    outcomes: &Outcomes,
    now: DateTime<Utc>,
) -> String {
    let header = ["id", "version", "tags", "age", "fate", "reason"].map(String::from);
    let mut rows = vec![header];
    for entry in &package.entries {
        let (fate, reason) = entry_words(&package.package, entry, outcomes, context);
        let tags = tag_list(&entry.version.tags);
        let known = entry.version.id != 0;
        rows.push([
            id_cell(&entry.version),
            short_name(&entry.version.name),
            tags,
            if known {
                age(now, entry.version.created_at)
            } else {
                "-".into()
            },
            fate,
            reason,
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let _ = write!(line, "{cell:<width$}  ", width = widths[c]);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Tables longer than this are folded in `<details>`.
const FOLD_ROWS: usize = 20;
/// Reasons longer than this go to a footnote.
const LONG_REASON: usize = 80;

/// GitHub's limit for one step's summary.
const SUMMARY_LIMIT: usize = 1024 * 1024;

/// The step summary in Markdown.
pub fn summary(
    context: &RunContext,
    plan: &Plan,
    outcomes: &Outcomes,
    outputs: &Outputs,
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## package-janitor: {}{}\n",
        context.mode,
        match (&context.held, context.dry_run) {
            (Some(_), _) => " (held: nothing was changed)",
            (None, true) => " (dry run)",
            (None, false) => "",
        }
    );
    if let Some(reason) = &context.held {
        let _ = writeln!(md, "**Not executed:** {reason}.\n");
    }
    let _ = writeln!(
        md,
        "Owner **{}** ({}), package type `{}`: {} planned, {} {}, {} skipped, {} failed.\n",
        context.owner,
        context.owner_kind,
        context.package_type,
        outputs.planned_count,
        outputs.deleted_count + outputs.restored_count,
        fate_words(&Fate::Changed(None), context).0,
        outputs.skipped_count,
        outputs.failed_count
    );
    let footnotes = &mut 0;
    for package in &plan.packages {
        let _ = writeln!(
            md,
            "### [{}]({}) ({} versions listed, {} selected)\n",
            package.package,
            context.package_url(&package.package),
            package.listed,
            package.entries.len()
        );
        if package.entries.is_empty() {
            md.push_str("Nothing selected.\n\n");
            continue;
        }
        let folded = package.entries.len() > FOLD_ROWS;
        if folded {
            let _ = writeln!(
                md,
                "<details><summary>{} versions</summary>\n",
                package.entries.len()
            );
        }
        md.push_str("| Version | Tags | Created | Result | Reason |\n|---|---|---|---|---|\n");
        let mut notes = String::new();
        for entry in &package.entries {
            let (fate, reason) = entry_words(&package.package, entry, outcomes, context);
            // A long reason (GitHub's message) goes to a footnote so the row stays readable.
            let reason = if reason.chars().count() > LONG_REASON {
                *footnotes += 1;
                let _ = writeln!(notes, "[^{}]: {}", footnotes, md_cell(&reason));
                let short: String = reason.chars().take(40).collect();
                format!("{}…[^{}]", md_cell(&short), footnotes)
            } else {
                md_cell(&reason)
            };
            let row = format!(
                "| `{}` {} | {} | {} | {} | {} |\n",
                id_cell(&entry.version),
                md_cell(&short_name(&entry.version.name)),
                md_cell(&tag_list(&entry.version.tags)),
                if entry.version.id == 0 {
                    "-".to_string()
                } else {
                    entry.version.created_at.format("%Y-%m-%d").to_string()
                },
                fate,
                reason
            );
            // Leave room for the closing note.
            if md.len() + row.len() + notes.len() > SUMMARY_LIMIT - 4096 {
                md.push_str("\n*The summary was cut to stay under GitHub's 1 MiB limit; the `result` output has every version.*\n");
                return md;
            }
            md.push_str(&row);
        }
        md.push('\n');
        if !notes.is_empty() {
            md.push_str(&notes);
            md.push('\n');
        }
        if folded {
            md.push_str("</details>\n\n");
        }
    }
    if !plan.missing_ids.is_empty() {
        let _ = writeln!(
            md,
            "Version ids not found in any listed package: {}\n",
            join_ids(&plan.missing_ids)
        );
    }
    if !outputs.deleted_ids.is_empty() {
        md.push_str(&undo_step(context, plan, outcomes, &outputs.deleted_ids));
    }
    md
}

/// After deletions: the workflow step that would restore them (GitHub keeps deleted versions
/// for 30 days).
fn undo_step(context: &RunContext, plan: &Plan, outcomes: &Outcomes, ids: &[u64]) -> String {
    let packages: Vec<&str> = plan
        .packages
        .iter()
        .filter(|p| {
            p.entries
                .iter()
                .any(|e| matches!(fate(&p.package, e, outcomes), Fate::Changed(_)))
        })
        .map(|p| p.package.as_str())
        .collect();
    let target = match context.target {
        Target::Versions => format!("          version-ids: {}\n", join_ids(ids)),
        Target::Packages => "          target: packages\n".to_string(),
    };
    format!(
        "### Undo\n\nThese deletions can be restored within 30 days by a step like this one \
         (`deleted-ids` as `version-ids`):\n\n```yaml\n      - uses: {}\n        with:\n          \
         owner: {}\n          package-type: {}\n          packages: {}\n          mode: \
         restore\n{target}```\n",
        context.action,
        context.owner,
        context.package_type,
        packages.join(", ")
    )
}

/// The id, or `-` while GitHub has not told it (a package to restore).
fn id_cell(version: &PackageVersion) -> String {
    match version.id {
        0 => "-".into(),
        id => id.to_string(),
    }
}

fn tag_list(tags: &[String]) -> String {
    if tags.is_empty() {
        "-".to_string()
    } else {
        tags.join(", ")
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The short summary of a run that stopped before changing anything (exit 2).
pub fn stopped_summary(why: &str) -> String {
    let why: String = why.chars().take(4000).collect();
    format!(
        "## package-janitor stopped\n\n{}\n\n**Nothing was changed** (exit 2).\n",
        md_cell(&why)
    )
}

pub fn append_summary(path: &Path, markdown: &str) -> Result<()> {
    append(path, markdown).context("writing the step summary")
}
