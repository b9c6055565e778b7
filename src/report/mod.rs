//! Everything the run reports, one renderer per output: `table` (the log's plan table,
//! group titles and totals), `outputs` (`$GITHUB_OUTPUT` and the `result` JSON) and
//! `summary` (the step summary).
//!
//! All renderers read the same two things, the [`Plan`] and the execution
//! [`Outcomes`], so the log, the outputs and the summary cannot disagree.

mod outputs;
mod summary;
mod table;

pub use outputs::{check_writable, Outputs, RESULT_LIMIT};
pub use summary::{append_summary, stopped_summary, summary};
pub use table::{group_title, plan_table, totals};

use crate::plan::{BrokenImage, Plan};

/// `mode: repair`: whether the run brought back every part a broken image lacked — each
/// missing part a deleted version, restored now.
pub fn repaired(image: &BrokenImage, outcomes: &Outcomes) -> bool {
    image.missing.iter().all(|part| {
        part.version.is_some_and(|id| {
            matches!(
                outcomes.get(&(image.package.clone(), id)),
                Some(Outcome::Changed(_))
            )
        })
    })
}

/// A repair that found nothing broken says how much it looked at: `Examined 3 images: each
/// is whole (every part it lists is an active version).`
pub fn examined_words(plan: &Plan) -> String {
    match plan.examined {
        0 => "Examined no image: no tagged image matched the selectors.".into(),
        1 => "Examined 1 image: it is whole (every part it lists is an active version).".into(),
        n => format!(
            "Examined {n} images: each is whole (every part it lists is an active version)."
        ),
    }
}

/// The examined images that stay broken (exit 1).
pub fn unrepaired<'a>(plan: &'a Plan, outcomes: &Outcomes) -> Vec<&'a BrokenImage> {
    plan.broken
        .iter()
        .filter(|image| !repaired(image, outcomes))
        .collect()
}

/// A broken image's missing parts for people: `linux/arm64 sha256:…12 (deleted)` or
/// `(gone for good)`.
pub fn missing_words(image: &BrokenImage) -> String {
    image
        .missing
        .iter()
        .map(|part| {
            format!(
                "{}{} ({})",
                part.platform
                    .as_deref()
                    .map(|p| format!("{p} "))
                    .unwrap_or_default(),
                short_name(&part.digest),
                match (part.version, part.expired) {
                    (Some(id), _) => format!("deleted version {id}"),
                    (None, Some((id, at))) => format!(
                        "deleted version {id}, deleted {}: past GitHub's 30 days, gone for good",
                        at.format("%Y-%m-%d")
                    ),
                    (None, None) => "gone for good".to_string(),
                }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A broken image named for people: its tags, else its digest.
pub fn image_words(image: &BrokenImage) -> String {
    match image.tags.is_empty() {
        true => short_name(&image.digest),
        false => format!("{} ({})", image.tags.join(", "), short_name(&image.digest)),
    }
}

use crate::change::{Outcome, Outcomes};
use crate::model::{Mode, OwnerKind, PackageType, PackageVersion, Target};
use crate::plan::{Decision, Entry, SkipReason};

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
    /// `untag`: these tags are to come off (planned, not sent).
    UntagPlanned(&'a [String]),
    /// `untag`: these tags came off; the version stays.
    Untagged(&'a [String]),
    /// `untag`: these tags came off, then taking off another failed.
    UntagFailed(&'a [String], &'a str),
    /// A restore put an untag placeholder's tag back on its image (`TAG@DIGEST`).
    Retagged(&'a str),
    /// Restored, but the image did not come back whole: changed, and a failure.
    Incomplete(&'a str),
}

pub fn fate<'a>(package: &str, entry: &'a Entry, outcomes: &'a Outcomes) -> Fate<'a> {
    let outcome = outcomes.get(&(package.to_string(), entry.version.id));
    match &entry.decision {
        Decision::Skip(reason) => Fate::Skipped(reason.clone()),
        Decision::Untag(tags) => match outcome {
            None => Fate::UntagPlanned(tags),
            Some(other) => change_fate(other),
        },
        Decision::Change => match outcome {
            None => Fate::Planned,
            Some(other) => change_fate(other),
        },
    }
}

/// What a change's outcome makes of its version.
fn change_fate(outcome: &Outcome) -> Fate<'_> {
    match outcome {
        Outcome::Changed(id) => Fate::Changed(*id),
        Outcome::Untagged {
            removed,
            failed: None,
        } => Fate::Untagged(removed),
        Outcome::Untagged {
            removed,
            failed: Some(message),
        } => Fate::UntagFailed(removed, message),
        Outcome::Retagged(tag) => Fate::Retagged(tag),
        Outcome::Incomplete(message) => Fate::Incomplete(message),
        Outcome::Skipped(reason) => Fate::Skipped(reason.clone()),
        Outcome::Failed(message) => Fate::Failed(message),
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
    let fate = fate(package, entry, outcomes);
    let (words, reason) = fate_words(&fate, context);
    let reason = match (&entry.note, reason.is_empty()) {
        (Some(note), true) => note.clone(),
        _ => reason,
    };
    match &entry.rule {
        Some(rule) => (words, rule_words(&fate, reason, rule, context)),
        None => (words, reason),
    }
}

/// A reason that names the rule that decided the fate (SPEC §2, "Every fate names its rule"):
/// `deleted by rule stale previews`, `removes pr-1 (rule stale previews)`.
fn rule_words(fate: &Fate, reason: String, rule: &str, context: &RunContext) -> String {
    let done = match context.mode {
        Mode::Delete => "deleted",
        Mode::Restore | Mode::Repair => "restored",
    };
    match fate {
        Fate::Skipped(SkipReason::KeptByRule { .. })
        | Fate::Skipped(SkipReason::PartialTagMatch { rule: Some(_), .. }) => reason,
        _ if reason.is_empty() => format!("{done} by rule {rule}"),
        Fate::Planned | Fate::Changed(_) => format!("{reason}; {done} by rule {rule}"),
        _ => format!("{reason} (rule {rule})"),
    }
}

fn fate_words(fate: &Fate, context: &RunContext) -> (String, String) {
    let (verb, done) = match context.mode {
        Mode::Delete => ("delete", "deleted"),
        Mode::Restore | Mode::Repair => ("restore", "restored"),
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
        Fate::UntagPlanned(tags) => match (&context.held, context.dry_run) {
            (Some(reason), _) => ("untag (held)".into(), reason.clone()),
            (None, true) => (
                "untag (dry run)".into(),
                format!("removes {}", tags.join(", ")),
            ),
            (None, false) => ("untag".into(), format!("removes {}", tags.join(", "))),
        },
        Fate::Untagged(tags) => ("untagged".into(), format!("removed {}", tags.join(", "))),
        Fate::UntagFailed([], message) => ("FAILED".into(), message.to_string()),
        Fate::UntagFailed(tags, message) => (
            "FAILED".into(),
            format!("removed {}; then {message}", tags.join(", ")),
        ),
        Fate::Retagged(tag) => ("tag put back".into(), tag.to_string()),
        Fate::Incomplete(message) => (format!("{done}, FAILED"), message.to_string()),
    }
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
