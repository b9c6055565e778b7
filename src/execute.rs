//! The executor: applies a plan's changes (deletes or restores) and records each one's outcome.
//!
//! It changes nothing the plan does not list. The most valuable changes go first (untagged
//! versions, then the oldest), one at a time at the pacer's spacing; when GitHub's
//! primary budget cannot cover the plan, the rest is deferred to a later run with a notice.
//! GitHub's refusals of a single version (400/422, such as the last-version rule or the
//! download limit) are skips with GitHub's message, not failures.

use crate::github::{GitHub, OwnerRoute, Stopped};
use crate::limits::BUDGET_RESERVE;
use crate::model::{Mode, PackageType, PackageVersion, Target};
use crate::plan::Plan;
use crate::workflow::Log;
use std::collections::BTreeMap;

/// What happened to one planned change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; with the id GitHub reported afterwards when the plan could not know it (a
    /// restored package).
    Changed(Option<u64>),
    /// GitHub refused this version; GitHub's message.
    Refused(String),
    /// The change failed; the error.
    Failed(String),
    /// Left for a later run: the primary budget would not cover it. When the budget resets.
    Deferred(String),
    /// Not started: `max-duration` was reached.
    OutOfTime,
    /// Not started: the run was cancelled.
    Cancelled,
    /// `untag`: these tags were removed and the version stays.
    Untagged(Vec<String>),
}

/// Outcomes keyed by (package name, version id).
pub type Outcomes = BTreeMap<(String, u64), Outcome>;

/// Where the changes go.
pub struct Destination<'a> {
    pub route: &'a OwnerRoute,
    pub package_type: PackageType,
    pub mode: Mode,
    pub target: Target,
}

/// Apply the plan's changes, most valuable first, one at a time; stop starting new ones when
/// the budget, `max-duration` or a cancellation says so, and say how far it got.
pub async fn execute(
    github: &GitHub,
    to: &Destination<'_>,
    plan: &Plan,
    log: &mut Log,
) -> Outcomes {
    let mut changes: Vec<(&str, &PackageVersion)> = plan
        .packages
        .iter()
        .flat_map(|p| p.changes().map(move |v| (p.package.as_str(), v)))
        .collect();
    changes.sort_by_key(|(_, v)| (!v.tags.is_empty(), v.created_at, v.id));
    let mut outcomes = defer_unaffordable(github, &mut changes, log);
    let mut progress = Progress::new(github, changes.len());
    let mut rest = changes.into_iter();
    while let Some((package, version)) = rest.next() {
        let outcome = change(github, to, package, version).await;
        if matches!(outcome, Outcome::OutOfTime | Outcome::Cancelled) {
            // Not started (it waited for its turn past the limit), nor is any after it.
            if outcome == Outcome::OutOfTime {
                time_budget_notice(log, &progress);
            }
            for (package, version) in std::iter::once((package, version)).chain(rest) {
                outcomes.insert((package.to_string(), version.id), outcome.clone());
            }
            break;
        }
        progress.step(log);
        say_refusal_or_failure(log, to.mode, package, version, &outcome);
        outcomes.insert((package.to_string(), version.id), outcome);
    }
    progress.finish(log);
    outcomes
}

/// When GitHub's primary budget cannot cover every change, the most valuable ones (first in
/// `changes`) stay and the rest are deferred to a later run, with a notice.
fn defer_unaffordable(
    github: &GitHub,
    changes: &mut Vec<(&str, &PackageVersion)>,
    log: &Log,
) -> Outcomes {
    let mut outcomes = Outcomes::new();
    let Some(budget) = github.budget() else {
        return outcomes;
    };
    // A restored package costs a second request, to learn its id.
    let costs: Vec<u64> = changes
        .iter()
        .map(|(_, v)| if v.id == 0 { 2 } else { 1 })
        .collect();
    let now = affordable(budget.remaining, &costs);
    if now == changes.len() {
        return outcomes;
    }
    let resets = budget.resets_at();
    log.notice(
        "Rate-limit budget",
        &format!(
            "GitHub's budget ({} requests left) covers {now} of {} changes; the other {} are \
             left for a later run after the budget resets at {resets}",
            budget.remaining,
            changes.len(),
            changes.len() - now
        ),
    );
    for (package, version) in changes.drain(now..) {
        outcomes.insert(
            (package.to_string(), version.id),
            Outcome::Deferred(resets.clone()),
        );
    }
    outcomes
}

/// A refusal is a warning with GitHub's message; a failure an error. A package to restore has
/// no id yet (0): it is named by its name alone.
fn say_refusal_or_failure(
    log: &mut Log,
    mode: Mode,
    package: &str,
    version: &PackageVersion,
    outcome: &Outcome,
) {
    let (what, named) = match version.id {
        0 => (package.to_string(), package.to_string()),
        id => (
            format!("{package} version {id}"),
            format!("{package} version {id} ({})", version.name),
        ),
    };
    let failed = match mode {
        Mode::Delete => "Delete failed",
        Mode::Restore => "Restore failed",
    };
    match outcome {
        Outcome::Refused(message) => {
            log.warning("Version refused by GitHub", &format!("{named}: {message}"))
        }
        Outcome::Failed(message) => log.error(failed, &format!("{what}: {message}")),
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

    fn finish(&mut self, log: &Log) {
        if self.total > 0 {
            self.say(log);
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

async fn change(
    github: &GitHub,
    to: &Destination<'_>,
    package: &str,
    version: &PackageVersion,
) -> Outcome {
    let answer = match to.target {
        Target::Versions => {
            github
                .change_version(to.route, to.package_type, package, version.id, to.mode)
                .await
        }
        Target::Packages => {
            github
                .change_package(to.route, to.package_type, package, to.mode)
                .await
        }
    };
    match answer {
        Ok(Ok(())) if version.id == 0 => {
            // A restored package: now GitHub can tell its id.
            let id = github.package(to.route, to.package_type, package).await;
            Outcome::Changed(id.ok().map(|(p, _)| p.id))
        }
        Ok(Ok(())) => Outcome::Changed(None),
        Ok(Err(e)) if e.status == 400 || e.status == 422 => Outcome::Refused(e.message),
        Ok(Err(e)) => Outcome::Failed(e.to_string()),
        Err(e) => match e.downcast_ref::<Stopped>() {
            // Never sent: the rate limit asked for a wait longer than the run may take.
            Some(Stopped::RateLimited { resets_at, .. }) => Outcome::Deferred(resets_at.clone()),
            // Never sent: the run was cancelled while this one waited for its turn.
            Some(Stopped::Cancelled) => Outcome::Cancelled,
            Some(Stopped::OutOfTime) => Outcome::OutOfTime,
            None => Outcome::Failed(format!("{e:#}")),
        },
    }
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
