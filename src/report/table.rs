//! The log: the plan of each package as a plain-text table, its group title, the totals.

use super::outputs::Outputs;
use super::{entry_words, id_cell, short_name, tag_list, RunContext};
use crate::change::Outcomes;
use crate::model::{Mode, Target};
use crate::plan::PackagePlan;
use chrono::{DateTime, Utc};
use std::fmt::Write as _;

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

/// The log group's title for one package: `container web: 3 of 12 versions planned`.
pub fn group_title(context: &RunContext, package: &PackagePlan) -> String {
    let what = match context.target {
        Target::Versions => format!(
            "{} of {} versions planned",
            package.changes().count() + package.untags().count(),
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

/// The totals line: `Done: 3 planned, 3 deleted, 2 skipped, 0 failed`, and the tags `untag`
/// removed when it removed any.
pub fn totals(context: &RunContext, outputs: &Outputs) -> String {
    let removed = match outputs.removed_tags.len() {
        0 => String::new(),
        n => format!(", {n} tags removed"),
    };
    format!(
        "{}: {} planned, {} {}, {} skipped, {}{removed}",
        match (&context.held, context.dry_run) {
            (Some(_), _) => "Held",
            (None, true) => "Dry run",
            (None, false) => "Done",
        },
        outputs.planned_count,
        outputs.deleted_count + outputs.restored_count,
        match context.mode {
            Mode::Delete => "deleted",
            Mode::Restore | Mode::Repair => "restored",
        },
        outputs.skipped_count,
        outputs.failed_words()
    )
}

/// The plan of one package as a plain-text table for the log, a line at a time to `line`:
/// one pass measures the columns, the next writes the rows, so a package of 100,000
/// versions never holds its table whole (issue 26).
pub fn plan_table(
    context: &RunContext,
    package: &PackagePlan,
    outcomes: &Outcomes,
    now: DateTime<Utc>,
    line: &mut dyn FnMut(&str),
) {
    if package.entries.is_empty() {
        return line("Nothing selected.");
    }
    let age_header = match context.mode {
        Mode::Delete => "age",
        Mode::Restore | Mode::Repair => "deleted",
    };
    let header = ["id", "version", "tags", age_header, "fate", "reason"].map(String::from);
    let row = |entry: &crate::plan::Entry| {
        let (fate, reason) = entry_words(&package.package, entry, outcomes, context);
        let known = entry.version.id != 0;
        [
            id_cell(&entry.version),
            short_name(&entry.version.name),
            tag_list(&entry.version.tags),
            // A restore's age is the time since deletion (SPEC §2: what GitHub's 30 days
            // count), a delete's the time since creation.
            match (known, context.mode, entry.version.deleted_at) {
                (false, _, _) => "-".into(),
                (true, Mode::Restore | Mode::Repair, Some(deleted)) => age(now, deleted),
                (true, _, _) => age(now, entry.version.created_at),
            },
            fate,
            reason,
        ]
    };
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for cells in package.entries.iter().map(row) {
        for (width, cell) in widths.iter_mut().zip(&cells) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for cells in std::iter::once(header).chain(package.entries.iter().map(row)) {
        text.clear();
        for (cell, width) in cells.iter().zip(widths) {
            let _ = write!(text, "{cell:<width$}  ");
        }
        line(text.trim_end());
    }
}
