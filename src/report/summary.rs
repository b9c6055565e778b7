//! The step summary in Markdown: totals, a table per package (folded past 20 rows, long
//! reasons in footnotes), the undo step after deletions, and the short summary of a run that
//! stopped before changing anything.

use super::outputs::{append, join_ids, Outputs};
use super::{entry_words, fate, fate_words, id_cell, md_cell, short_name, tag_list};
use super::{Fate, RunContext};
use crate::change::Outcomes;
use crate::model::Target;
use crate::plan::{PackagePlan, Plan};
use anyhow::{Context as _, Result};
use std::fmt::Write as _;
use std::path::Path;

/// Tables longer than this are folded in `<details>`.
const FOLD_ROWS: usize = 20;
/// Reasons longer than this go to a footnote.
const LONG_REASON: usize = 80;

/// GitHub's limit for one step's summary.
const SUMMARY_LIMIT: usize = 1024 * 1024;

/// The step summary in Markdown.
/// `tables: false` leaves out the per-package tables (on a command line the log has them).
pub fn summary(
    context: &RunContext,
    plan: &Plan,
    outcomes: &Outcomes,
    outputs: &Outputs,
    tables: bool,
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
        "Owner **{}** ({}), package type `{}`: {} planned, {} {}, {} skipped, {}.\n",
        context.owner,
        context.owner_kind,
        context.package_type,
        outputs.planned_count,
        outputs.deleted_count + outputs.restored_count,
        fate_words(&Fate::Changed(None), context).0,
        outputs.skipped_count,
        outputs.failed_words()
    );
    md.push_str(&rules_table(context, plan, outcomes));
    let footnotes = &mut 0;
    for package in plan.packages.iter().filter(|_| tables) {
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
        if !package_table(&mut md, context, package, outcomes, footnotes) {
            md.push_str("\n*The summary was cut to stay under GitHub's 1 MiB limit; the `result` output has every version.*\n");
            return md;
        }
    }
    if !plan.broken.is_empty() {
        md.push_str(&broken_images(context, plan, outcomes));
    } else if context.mode == crate::model::Mode::Repair {
        let _ = writeln!(md, "{}\n", super::examined_words(plan));
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
    if !outputs.removed_tags.is_empty() {
        md.push_str(&removed_tags(&outputs.removed_tags));
    }
    md
}

/// `mode: repair`: each broken image examined, what it lacks, and whether it was repaired.
fn broken_images(context: &RunContext, plan: &Plan, outcomes: &Outcomes) -> String {
    let mut md = String::from(
        "### Broken images\n\nTags that answer \"manifest unknown\" on pull: their index \
         lists parts that are not active versions.\n\n| package | image | missing parts | \
         repaired |\n|---|---|---|---|\n",
    );
    for image in &plan.broken {
        let state = if super::repaired(image, outcomes) {
            "yes"
        } else if image.missing.iter().any(|p| p.version.is_none()) {
            "no: beyond repair (parts gone for good)"
        } else if context.dry_run {
            "no (dry run)"
        } else {
            "no"
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {state} |",
            md_cell(&image.package),
            md_cell(&super::image_words(image)),
            md_cell(&super::missing_words(image))
        );
    }
    md.push('\n');
    md
}

/// One package's table: folded in `<details>` past [`FOLD_ROWS`], a long reason (GitHub's
/// message) in a footnote so the row stays readable. False when the summary's limit came
/// first.
fn package_table(
    md: &mut String,
    context: &RunContext,
    package: &PackagePlan,
    outcomes: &Outcomes,
    footnotes: &mut usize,
) -> bool {
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
        let reason = if reason.chars().count() > LONG_REASON {
            *footnotes += 1;
            let _ = writeln!(notes, "[^{}]: {}", footnotes, md_cell(&reason));
            let short: String = reason.chars().take(40).collect();
            format!("{}…[^{}]", md_cell(&short), footnotes)
        } else {
            md_cell(&reason)
        };
        let created = match entry.version.id {
            0 => "-".to_string(),
            _ => entry.version.created_at.format("%Y-%m-%d").to_string(),
        };
        let row = format!(
            "| `{}` {} | {} | {created} | {fate} | {reason} |\n",
            id_cell(&entry.version),
            md_cell(&short_name(&entry.version.name)),
            md_cell(&tag_list(&entry.version.tags)),
        );
        // Leave room for the closing note.
        if md.len() + row.len() + notes.len() > SUMMARY_LIMIT - 4096 {
            return false;
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
    true
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

/// A rule list: one row per rule and package — what the rule matched, kept, deleted and the
/// tags it took off (planned, in a dry run or a held plan).
fn rules_table(context: &RunContext, plan: &Plan, outcomes: &Outcomes) -> String {
    let mut rules: Vec<&str> = Vec::new();
    for tally in plan.packages.iter().flat_map(|p| &p.rules.tallies) {
        if !rules.contains(&tally.rule.as_str()) {
            rules.push(&tally.rule);
        }
    }
    if rules.is_empty() {
        return String::new();
    }
    let planned = context.dry_run || context.held.is_some();
    let (deleted, removed) = match planned {
        true => ("to delete", "tags to remove"),
        false => ("deleted", "tags removed"),
    };
    let mut md = format!(
        "### Rules\n\n| rule | package | matched | kept | {deleted} | {removed} |\n\
         |---|---|---|---|---|---|\n"
    );
    for rule in rules {
        for package in &plan.packages {
            let Some(tally) = package.rules.tallies.iter().find(|t| t.rule == rule) else {
                continue;
            };
            let (mut gone, mut tags) = (0, 0);
            for entry in package
                .entries
                .iter()
                .filter(|e| e.rule.as_deref() == Some(rule))
            {
                match fate(&package.package, entry, outcomes) {
                    Fate::Planned if planned => gone += 1,
                    Fate::UntagPlanned(t) if planned => tags += t.len(),
                    Fate::Changed(_) => gone += 1,
                    Fate::Untagged(t) | Fate::UntagFailed(t, _) => tags += t.len(),
                    _ => {}
                }
            }
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {gone} | {tags} |",
                md_cell(rule),
                md_cell(&package.package),
                tally.matched,
                tally.kept
            );
        }
    }
    md.push('\n');
    md
}

/// After `untag`: the tags removed, and how to put one back (a tag is a registry's to move).
fn removed_tags(removed: &[String]) -> String {
    let mut md = String::from(
        "### Tags removed\n\nEach tag pointed at the digest after it; put one back with any \
         registry client, e.g. `crane tag ghcr.io/OWNER/NAME@DIGEST TAG`:\n\n",
    );
    for tag in removed {
        let _ = writeln!(md, "- `{}`", md_cell(tag));
    }
    md.push('\n');
    md
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
