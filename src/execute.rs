//! The executor: applies a plan's changes (deletes or restores), oldest first, and records
//! each one's outcome.
//!
//! It changes nothing the plan does not list. GitHub's refusals of a single version (400/422,
//! such as the last-version rule or the download limit) are skips with GitHub's message, not
//! failures.

use crate::github::{GitHub, OwnerRoute};
use crate::model::{Mode, PackageType, Target};
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
}

/// Outcomes keyed by (package name, version id).
pub type Outcomes = BTreeMap<(String, u64), Outcome>;

pub async fn execute(
    github: &GitHub,
    route: &OwnerRoute,
    package_type: PackageType,
    mode: Mode,
    target: Target,
    plan: &Plan,
    log: &mut Log,
) -> Outcomes {
    let failed = match mode {
        Mode::Delete => "Delete failed",
        Mode::Restore => "Restore failed",
    };
    let mut outcomes = Outcomes::new();
    for package in &plan.packages {
        // Oldest first: a run cut short has removed the oldest versions.
        let changes: Vec<_> = package.changes().collect();
        for version in changes.into_iter().rev() {
            let name = &package.package;
            let answer = match target {
                Target::Versions => {
                    github
                        .change_version(route, package_type, name, version.id, mode)
                        .await
                }
                Target::Packages => github.change_package(route, package_type, name, mode).await,
            };
            let outcome = match answer {
                Ok(Ok(())) if version.id == 0 => {
                    // A restored package: now GitHub can tell its id.
                    let id = github.package(route, package_type, name).await;
                    Outcome::Changed(id.ok().map(|(p, _)| p.id))
                }
                Ok(Ok(())) => Outcome::Changed(None),
                Ok(Err(e)) if e.status == 400 || e.status == 422 => {
                    log.warning(
                        "Version refused by GitHub",
                        &format!(
                            "{} version {} ({}): {}",
                            package.package, version.id, version.name, e.message
                        ),
                    );
                    Outcome::Refused(e.message)
                }
                Ok(Err(e)) => {
                    log.error(
                        failed,
                        &format!("{} version {}: {e}", package.package, version.id),
                    );
                    Outcome::Failed(e.to_string())
                }
                Err(e) => {
                    log.error(
                        failed,
                        &format!("{} version {}: {e:#}", package.package, version.id),
                    );
                    Outcome::Failed(format!("{e:#}"))
                }
            };
            outcomes.insert((package.package.clone(), version.id), outcome);
        }
    }
    outcomes
}
