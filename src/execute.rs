//! The executor: applies a plan's changes (deletes or restores) and records each one's outcome.
//!
//! It changes nothing the plan does not list. The most valuable changes go first (untagged
//! versions, then the oldest), one at a time at the pacer's spacing; when GitHub's
//! primary budget cannot cover the plan, the rest is deferred to a later run with a notice.
//! GitHub's refusals of a single version (400/422, such as the last-version rule or the
//! download limit) are skips with GitHub's message, not failures.

use crate::change::{Change, Destination, Executed, Kind, Outcome, Outcomes};
use crate::containers::Images;
use crate::github::GitHub;
use crate::limits::BUDGET_RESERVE;
use crate::model::{Mode, PackageListing, PackageVersion};
use crate::plan::{Decision, Plan, SkipReason};
use crate::workflow::Log;
use std::collections::{BTreeMap, BTreeSet};

/// The plan's changes in the order they run: most valuable first (untagged, then oldest),
/// except that a change never comes before an index it waits for (`PackagePlan::after`).
pub fn changes(plan: &Plan) -> Vec<Change<'_>> {
    let mut all: Vec<Change<'_>> = Vec::new();
    for package in &plan.packages {
        for entry in &package.entries {
            let version = &entry.version;
            match &entry.decision {
                Decision::Change => all.push(Change {
                    package: &package.package,
                    version,
                    kind: match package.placeholders.get(&version.id) {
                        Some(placeholder) if entry.note.is_none() => {
                            Kind::Retag(placeholder.clone())
                        }
                        _ => Kind::Version,
                    },
                    after: package
                        .after
                        .get(&version.id)
                        .map(|ids| ids.iter().copied().collect())
                        .unwrap_or_default(),
                    unreadable: package.unreadable,
                }),
                Decision::Untag(tags) => all.extend(tags.iter().map(|tag| Change {
                    package: &package.package,
                    version,
                    kind: Kind::Untag(tag.clone()),
                    after: Vec::new(),
                    unreadable: None,
                })),
                Decision::Skip(_) => {}
            }
        }
    }
    all.sort_by_key(|c| {
        (
            !c.version.tags.is_empty(),
            c.version.created_at,
            c.version.id,
        )
    });
    dependency_order(all)
}

/// A stable topological order: each change after the ones it waits for, otherwise as given.
fn dependency_order(changes: Vec<Change<'_>>) -> Vec<Change<'_>> {
    let position: BTreeMap<(&str, u64), usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| ((c.package, c.version.id), i))
        .collect();
    let mut waiting: Vec<usize> = vec![0; changes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
    for (i, change) in changes.iter().enumerate() {
        for id in &change.after {
            if let Some(&j) = position.get(&(change.package, *id)) {
                waiting[i] += 1;
                dependents[j].push(i);
            }
        }
    }
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..changes.len())
        .filter(|i| waiting[*i] == 0)
        .map(std::cmp::Reverse)
        .collect();
    let mut order = Vec::with_capacity(changes.len());
    while let Some(std::cmp::Reverse(i)) = ready.pop() {
        order.push(i);
        for &d in &dependents[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.push(std::cmp::Reverse(d));
            }
        }
    }
    // A cycle (two images listing each other) cannot be ordered: those changes go last, in
    // their given order, each still waiting for the others (so none runs).
    let placed: BTreeSet<usize> = order.iter().copied().collect();
    order.extend((0..changes.len()).filter(|i| !placed.contains(i)));
    let mut slots: Vec<Option<Change<'_>>> = changes.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Apply the plan's changes in order, one at a time; stop starting new ones when the budget,
/// `max-duration` or a cancellation says so, and say how far it got.
pub async fn execute(
    github: &GitHub,
    to: &Destination<'_>,
    images: Option<&Images<'_>>,
    plan: &Plan,
    deleted: &[PackageListing],
    log: &mut Log,
) -> Executed {
    let changes = changes(plan);
    let mut done = Executed::default();
    let images_restored = images.is_some() && to.mode.restores();
    let costs = costs(plan, &changes, deleted, images_restored);
    let affordable = defer_unaffordable(github, &costs, log);
    let mut progress = Progress::new(github, changes.len());
    let untag = crate::change::untag::Untagger::new(github, to, images);
    let mut stop: Option<Outcome> = None;
    for (i, change) in changes.iter().enumerate() {
        let key = (change.package.to_string(), change.version.id);
        if change.kind == Kind::Version && done.outcomes.contains_key(&key) {
            // Restored already, as a part of an image restored before it (one change).
            continue;
        }
        let outcome = if let Some(kept) = waits_for_failed(change, &done.outcomes) {
            kept
        } else if let Some(stopped) = stop.clone().or_else(|| {
            let cost = costs.get(i).copied().unwrap_or(1);
            may_not_start(github, i, cost, affordable.as_ref())
        }) {
            stopped
        } else {
            let outcome =
                run_change(github, to, images, plan, deleted, &untag, change, &mut done).await;
            if !outcome.not_started() {
                progress.step(log);
            }
            say_refusal_or_failure(log, to.mode, change, &outcome);
            outcome
        };
        if stop.is_none() && outcome.stops_the_run() {
            // Not started, nor is any change after it.
            if outcome == Outcome::Skipped(SkipReason::TimeBudget) {
                time_budget_notice(log, &progress);
            }
            stop = Some(outcome.clone());
        }
        merge(&mut done.outcomes, key, outcome);
    }
    progress.finish(log, stop.is_none());
    untag_notices(plan, &done.outcomes, log);
    done
}

/// Run one change to its end.
#[allow(clippy::too_many_arguments)]
async fn run_change(
    github: &GitHub,
    to: &Destination<'_>,
    images: Option<&Images<'_>>,
    plan: &Plan,
    deleted: &[PackageListing],
    untag: &crate::change::untag::Untagger<'_>,
    change: &Change<'_>,
    done: &mut Executed,
) -> Outcome {
    match &change.kind {
        Kind::Version => {
            let outcome = crate::change::version::delete_or_restore(github, to, change).await;
            match (images, to.mode, &outcome) {
                // A restored image brings its parts back in the same change.
                (Some(images), Mode::Restore | Mode::Repair, Outcome::Changed(_)) => {
                    crate::change::parts::restore_parts(
                        github, to, images, plan, deleted, change, done,
                    )
                    .await
                    .unwrap_or(outcome)
                }
                _ => outcome,
            }
        }
        Kind::Untag(tag) => untag.remove(change.package, change.version, tag).await,
        Kind::Retag(placeholder) => untag.put_back(change.package, placeholder).await,
    }
}

/// A version that kept some of the tags `untag` was to take off (the run stopped first) says
/// which, for a later run.
fn untag_notices(plan: &Plan, outcomes: &Outcomes, log: &Log) {
    for package in &plan.packages {
        for (version, tags) in package.untags() {
            let key = (package.package.clone(), version.id);
            if let Some(Outcome::Untagged { removed, .. }) = outcomes.get(&key) {
                let left: Vec<&str> = tags
                    .iter()
                    .filter(|t| !removed.contains(t))
                    .map(String::as_str)
                    .collect();
                if !left.is_empty() {
                    log.notice(
                        "Untag not finished",
                        &format!(
                            "{} version {}: {} left on it for a later run (time or rate-limit \
                             budget, or a cancellation)",
                            package.package,
                            version.id,
                            left.join(", ")
                        ),
                    );
                }
            }
        }
    }
}

/// A change that waits for an index whose deletion did not happen stays, with that reason.
fn waits_for_failed(change: &Change<'_>, outcomes: &Outcomes) -> Option<Outcome> {
    change.after.iter().find_map(|id| {
        let outcome = outcomes.get(&(change.package.to_string(), *id));
        let image = format!("version {id}");
        let why = match outcome {
            Some(Outcome::Changed(_)) => return None,
            other => other.map_or_else(|| "not reached".into(), Outcome::why_not),
        };
        Some(Outcome::Skipped(match change.unreadable == Some(*id) {
            true => SkipReason::MayBePartOf { image, why },
            false => SkipReason::ImageStays { image, why },
        }))
    })
}

/// Why change `i` may not start: the budget, a cancellation or `max-duration`.
fn may_not_start(
    github: &GitHub,
    i: usize,
    cost: u64,
    planned: Option<&(usize, String)>,
) -> Option<Outcome> {
    if crate::signals::cancelled() {
        return Some(Outcome::Skipped(SkipReason::Cancelled));
    }
    if github.out_of_time() {
        return Some(Outcome::Skipped(SkipReason::TimeBudget));
    }
    if let Some((_, resets)) = planned.filter(|(n, _)| i >= *n) {
        return Some(Outcome::Skipped(SkipReason::RateLimitBudget {
            resets_at: resets.clone(),
        }));
    }
    // What is left now, not only what the plan counted on: retries and read-backs spend the
    // budget too, and the primary limit is never met (SPEC §5).
    match github.budget() {
        Some(budget) if affordable(budget.remaining, &[cost]) == 0 => {
            Some(Outcome::Skipped(SkipReason::RateLimitBudget {
                resets_at: budget.resets_at(),
            }))
        }
        _ => None,
    }
}

/// One version's outcome, the tags of an untag gathered into one.
fn merge(outcomes: &mut Outcomes, key: (String, u64), outcome: Outcome) {
    let merged = match outcomes.remove(&key) {
        None => outcome,
        Some(previous) => combine(previous, outcome),
    };
    outcomes.insert(key, merged);
}

/// Two outcomes of one version's tags (each tag `untag` removes is its own change): the tags
/// removed stay said, whatever came after them, and the first failure is kept.
fn combine(previous: Outcome, next: Outcome) -> Outcome {
    match (previous, next) {
        (
            Outcome::Untagged {
                mut removed,
                failed,
            },
            Outcome::Untagged {
                removed: more,
                failed: later,
            },
        ) => {
            removed.extend(more);
            Outcome::Untagged {
                removed,
                failed: failed.or(later),
            }
        }
        (Outcome::Untagged { removed, failed }, Outcome::Failed(message))
        | (Outcome::Failed(message), Outcome::Untagged { removed, failed }) => Outcome::Untagged {
            removed,
            failed: failed.or(Some(message)),
        },
        // A later tag not started: the removed ones stand.
        (untagged @ Outcome::Untagged { .. }, _) => untagged,
        (first, Outcome::Untagged { removed, failed }) if first.not_started() => {
            Outcome::Untagged { removed, failed }
        }
        (failed @ Outcome::Failed(_), _) => failed,
        (_, next) => next,
    }
}

/// What each change costs against the primary budget: its own requests and, for a restored
/// container image, the parts it will likely bring back in the same change
/// ([`crate::images::likely_parts`]), so that a budget stop falls between images.
fn costs(
    plan: &Plan,
    changes: &[Change<'_>],
    deleted: &[PackageListing],
    images_restored: bool,
) -> Vec<u64> {
    let mut parts: BTreeMap<(&str, u64), u64> = BTreeMap::new();
    if images_restored {
        for package in &plan.packages {
            let Some(listing) = deleted.iter().find(|l| l.name == package.package) else {
                continue;
            };
            let roots: Vec<&PackageVersion> = changes
                .iter()
                .filter(|c| c.package == package.package && c.kind == Kind::Version)
                .map(|c| c.version)
                .collect();
            let in_plan: BTreeSet<u64> = package.entries.iter().map(|e| e.version.id).collect();
            let likely = crate::images::likely_parts(&roots, &listing.versions, &in_plan);
            parts.extend(
                likely
                    .into_iter()
                    .map(|(id, n)| ((package.package.as_str(), id), n)),
            );
        }
    }
    changes
        .iter()
        .map(|c| c.cost() + parts.get(&(c.package, c.version.id)).copied().unwrap_or(0))
        .collect()
}

/// When GitHub's primary budget cannot cover every change, the most valuable ones (first in
/// `changes`) go and the rest are deferred to a later run, with a notice: how many go and
/// when the budget resets.
fn defer_unaffordable(github: &GitHub, costs: &[u64], log: &Log) -> Option<(usize, String)> {
    let budget = github.budget()?;
    let now = affordable(budget.remaining, costs);
    if now == costs.len() {
        return None;
    }
    let resets = budget.resets_at();
    log.notice(
        "Rate-limit budget",
        &format!(
            "GitHub's budget ({} requests left) covers {now} of {} changes; the other {} are \
             left for a later run after the budget resets at {resets}",
            budget.remaining,
            costs.len(),
            costs.len() - now
        ),
    );
    Some((now, resets))
}

/// A refusal is a warning with GitHub's message; a failure an error. A package to restore has
/// no id yet (0): it is named by its name alone.
fn say_refusal_or_failure(log: &mut Log, mode: Mode, change: &Change<'_>, outcome: &Outcome) {
    let (package, version) = (change.package, change.version);
    let (what, named) = match version.id {
        0 => (package.to_string(), package.to_string()),
        id => (
            format!("{package} version {id}"),
            format!("{package} version {id} ({})", version.name),
        ),
    };
    let failed = match (&change.kind, mode) {
        (Kind::Untag(_), _) => "Untag failed",
        (Kind::Retag(_), _) => "Putting a tag back failed",
        (_, Mode::Delete) => "Delete failed",
        (_, Mode::Restore) => "Restore failed",
        (_, Mode::Repair) => "Repair failed",
    };
    match outcome {
        Outcome::Skipped(SkipReason::Refused { message }) => {
            log.warning("Version refused by GitHub", &format!("{named}: {message}"))
        }
        Outcome::Failed(message) | Outcome::Incomplete(message) => {
            log.error(failed, &format!("{what}: {message}"))
        }
        Outcome::Untagged {
            failed: Some(message),
            ..
        } => log.error(failed, &format!("{what}: {message}")),
        _ => {}
    }
}

fn time_budget_notice(log: &Log, progress: &Progress<'_>) {
    log.notice(
        "Time budget",
        &format!(
            "max-duration reached after {} of {} changes; the rest are skipped with reason \
             \"time budget\": run again to finish",
            progress.done, progress.total
        ),
    );
}

/// How many changes, in order, the primary budget affords: what is left less a reserve of a
/// tenth of it (at least one request, at most [`BUDGET_RESERVE`]), so the run spends the rest
/// and never meets the primary limit (SPEC §5).
pub fn affordable(remaining: u64, costs: &[u64]) -> usize {
    let reserve = (remaining / 10).clamp(1, BUDGET_RESERVE);
    let mut left = remaining.saturating_sub(reserve);
    costs
        .iter()
        .take_while(|cost| {
            let fits = **cost <= left;
            if fits {
                left -= **cost;
            }
            fits
        })
        .count()
}

/// The progress line (SPEC §6): at least every 30 s of GitHub time while changes run, and at
/// the end.
struct Progress<'a> {
    github: &'a GitHub,
    total: usize,
    done: usize,
    last: tokio::time::Instant,
}

impl<'a> Progress<'a> {
    fn new(github: &'a GitHub, total: usize) -> Progress<'a> {
        Progress {
            github,
            total,
            done: 0,
            last: tokio::time::Instant::now(),
        }
    }

    fn step(&mut self, log: &Log) {
        self.done += 1;
        if self.last.elapsed() >= self.github.real(PROGRESS_EVERY) {
            self.say(log);
        }
    }

    /// The last line; a run that stopped early says how far it got instead of a time left.
    fn finish(&mut self, log: &Log, ran_to_the_end: bool) {
        if self.total == 0 {
            return;
        }
        if ran_to_the_end {
            self.say(log);
        } else {
            log.info(&format!(
                "Progress: {}/{} changes; the run stopped before the rest",
                self.done, self.total
            ));
        }
    }

    fn say(&mut self, log: &Log) {
        self.last = tokio::time::Instant::now();
        log.info(&progress_line(
            self.done,
            self.total,
            self.github.mutations_per_minute(),
        ));
    }
}

/// How often, at least, a progress line is written while changes run.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// `Progress: 120/480 changes, 60 per minute, about 6 min left`.
pub fn progress_line(done: usize, total: usize, per_minute: f64) -> String {
    let left = total.saturating_sub(done);
    let minutes = if per_minute > 0.0 {
        (left as f64 / per_minute).ceil() as u64
    } else {
        0
    };
    let eta = match (left, minutes) {
        (0, _) => "done".to_string(),
        (_, 0 | 1) => "about 1 min left".to_string(),
        (_, m) if m < 120 => format!("about {m} min left"),
        (_, m) => format!("about {} h {} min left", m / 60, m % 60),
    };
    format!("Progress: {done}/{total} changes, {per_minute:.0} per minute, {eta}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_keeps_back_a_tenth_at_most_ten_at_least_one() {
        // 10 left, 12 planned: 9 go, one request stays in reserve.
        assert_eq!(affordable(10, &[1; 12]), 9);
        assert_eq!(affordable(1, &[1; 3]), 0);
        assert_eq!(affordable(0, &[1; 3]), 0);
        assert_eq!(affordable(5000, &[1; 6000]), 4990);
        assert_eq!(affordable(50, &[1; 3]), 3);
        // A change costing two (a package restore) that no longer fits ends the run's share.
        assert_eq!(affordable(10, &[2, 2, 2, 2, 2]), 4);
    }

    #[test]
    fn progress_lines_say_how_far_and_how_long() {
        assert_eq!(
            progress_line(120, 480, 60.0),
            "Progress: 120/480 changes, 60 per minute, about 6 min left"
        );
        assert_eq!(
            progress_line(480, 480, 60.0),
            "Progress: 480/480 changes, 60 per minute, done"
        );
        assert_eq!(
            progress_line(0, 10_000, 30.0),
            "Progress: 0/10000 changes, 30 per minute, about 5 h 34 min left"
        );
    }
}
