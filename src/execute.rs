//! The executor: applies a plan's changes (deletes or restores), oldest first, and records
//! each one's outcome.
//!
//! It changes nothing the plan does not list. GitHub's refusals of a single version (400/422,
//! such as the last-version rule or the download limit) are skips with GitHub's message, not
//! failures.

use crate::github::{GitHub, OwnerRoute};
use crate::model::{Mode, PackageType};
use crate::plan::Plan;
use crate::workflow::Log;
use std::collections::BTreeMap;

/// What happened to one planned change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Changed,
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
            let outcome = match github
                .change_version(route, package_type, &package.package, version.id, mode)
                .await
            {
                Ok(Ok(())) => Outcome::Changed,
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
