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

    let mut outcomes = Outcomes::new();
    if let Some(budget) = github.budget() {
        // A restored package costs a second request, to learn its id.
        let cost = |v: &PackageVersion| if v.id == 0 { 2 } else { 1 };
        let mut affordable = budget.remaining.saturating_sub(BUDGET_RESERVE);
        let mut now = 0;
        while now < changes.len() && cost(changes[now].1) <= affordable {
            affordable -= cost(changes[now].1);
            now += 1;
        }
        if now < changes.len() {
            let resets = chrono::DateTime::from_timestamp(budget.reset, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| format!("{}s from now", budget.reset_in));
            log.notice(
                "Rate-limit budget",
                &format!(
                    "GitHub's budget ({} requests left) covers {now} of {} changes; the other {} \
                     are left for a later run after the budget resets at {resets}",
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
        }
    }

    let failed = match to.mode {
        Mode::Delete => "Delete failed",
        Mode::Restore => "Restore failed",
    };
    // One at a time: the pacer spaces them, and a rate-limit answer stops the rest.
    for (package, version) in changes {
        let outcome = change(github, to, package, version).await;
        // A package to restore has no id yet (0): it is named by its name alone.
        let (what, named) = match version.id {
            0 => (package.to_string(), package.to_string()),
            id => (
                format!("{package} version {id}"),
                format!("{package} version {id} ({})", version.name),
            ),
        };
        match &outcome {
            Outcome::Refused(message) => {
                log.warning("Version refused by GitHub", &format!("{named}: {message}"))
            }
            Outcome::Failed(message) => log.error(failed, &format!("{what}: {message}")),
            Outcome::Changed(_) | Outcome::Deferred(_) => {}
        }
        outcomes.insert((package.to_string(), version.id), outcome);
    }
    outcomes
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
            None => Outcome::Failed(format!("{e:#}")),
        },
    }
}
