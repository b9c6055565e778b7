//! A version's (or a whole package's) DELETE or restore: one request, settled (SPEC §5); a
//! restored package's id read back.

use super::{stopped_outcome, Change, Destination, Outcome};
use crate::github::GitHub;
use crate::model::Target;

/// DELETE or restore one version (or package), settled (SPEC §5).
pub async fn delete_or_restore(
    github: &GitHub,
    to: &Destination<'_>,
    change: &Change<'_>,
) -> Outcome {
    let (package, version) = (change.package, change.version);
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
            let _finishing = crate::signals::Shield::up();
            let id = github.package(to.route, to.package_type, package).await;
            Outcome::Changed(id.ok().map(|(p, _)| p.id))
        }
        Ok(Ok(())) => Outcome::Changed(None),
        Ok(Err(e)) if e.status == 400 || e.status == 422 => {
            Outcome::Skipped(crate::plan::SkipReason::Refused { message: e.message })
        }
        Ok(Err(e)) => Outcome::Failed(e.to_string()),
        Err(e) => stopped_outcome(&e).unwrap_or_else(|| Outcome::Failed(format!("{e:#}"))),
    }
}
