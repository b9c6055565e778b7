//! Untag at run time (SPEC §4): neither the REST API nor the registry can remove one tag, so
//! to take tag T off version V and keep V, push under T a placeholder (V's manifest emptied
//! and marked, [`images::placeholder`]) — which moves T to a new package version — then find
//! that version by its digest and delete it through the REST API. V keeps its digest and its
//! other tags. Each removed tag is one change: it waits for its mutation turn (one at a time,
//! spaced), stops at `max-duration` or a cancellation, and a failure says what state the tag
//! is in.

use crate::containers::Images;
use crate::execute::{Destination, Outcome, Outcomes};
use crate::github::GitHub;
use crate::images;
use crate::model::{Mode, PackageVersion};
use crate::plan::Plan;
use crate::registry::Session;
use crate::workflow::Log;

/// Remove the tags the plan takes off, version by version; one outcome per version.
pub async fn execute(
    github: &GitHub,
    to: &Destination<'_>,
    images: &Images<'_>,
    plan: &Plan,
    log: &mut Log,
) -> Outcomes {
    let mut outcomes = Outcomes::new();
    for package in &plan.packages {
        let untags: Vec<(&PackageVersion, &[String])> = package.untags().collect();
        if untags.is_empty() {
            continue;
        }
        let session = images
            .registry
            .push_session(images.owner, &package.package)
            .await;
        for (version, tags) in untags {
            let outcome = match &session {
                Ok(session) => {
                    let at = Where {
                        github,
                        to,
                        images,
                        session,
                        package: &package.package,
                    };
                    untag_version(&at, version, tags).await
                }
                Err(error) => Outcome::Failed(format!(
                    "no tag was removed (all are still on {}): no push token for {}: {error:#}",
                    version.name, package.package
                )),
            };
            match &outcome {
                Outcome::Failed(message) => log.error(
                    "Untag failed",
                    &format!("{} version {}: {message}", package.package, version.id),
                ),
                Outcome::Untagged(removed) if removed.len() < tags.len() => {
                    let left: Vec<&str> = tags
                        .iter()
                        .filter(|t| !removed.contains(t))
                        .map(String::as_str)
                        .collect();
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
                _ => {}
            }
            outcomes.insert((package.package.clone(), version.id), outcome);
        }
    }
    outcomes
}

/// Where the tags come off: the clients, the package and a push-scoped registry session.
struct Where<'a> {
    github: &'a GitHub,
    to: &'a Destination<'a>,
    images: &'a Images<'a>,
    session: &'a Session,
    package: &'a str,
}

/// Take `tags` off `version`, one at a time.
async fn untag_version(at: &Where<'_>, version: &PackageVersion, tags: &[String]) -> Outcome {
    let read = at
        .images
        .registry
        .manifest_bytes(at.session, &version.name)
        .await;
    let placeholder = match read {
        Ok((media_type, bytes)) => images::placeholder(&bytes).map(|p| (media_type, p)),
        Err(error) => Err(format!("{error:#}")),
    };
    let (media_type, placeholder) = match placeholder {
        Ok(made) => made,
        Err(error) => {
            return Outcome::Failed(format!(
                "no tag was removed (all are still on {}): its manifest could not be read: {error}",
                version.name
            ))
        }
    };
    let mut removed = Vec::new();
    for tag in tags {
        let step = remove_tag(at, version, tag, &media_type, &placeholder).await;
        match step {
            Ok(()) => removed.push(tag.clone()),
            Err(Stop::NotStarted(outcome)) if removed.is_empty() => return outcome,
            Err(Stop::NotStarted(_)) => break,
            Err(Stop::Failed(state)) => {
                let done = if removed.is_empty() {
                    String::new()
                } else {
                    format!(" (removed before it: {})", removed.join(", "))
                };
                return Outcome::Failed(format!("{state}{done}"));
            }
        }
    }
    Outcome::Untagged(removed)
}

/// REST requests one removed tag costs: a page of the listing, and the DELETE.
const REST_COST: u64 = 2;

/// Why a tag was not removed.
enum Stop {
    /// Nothing was sent for it: `max-duration`, a cancellation or a too-long rate-limit wait.
    NotStarted(Outcome),
    /// Something went wrong; the tag's state in words.
    Failed(String),
}

/// Push the placeholder under `tag`, find the version it became, delete that version.
async fn remove_tag(
    at: &Where<'_>,
    version: &PackageVersion,
    tag: &str,
    media_type: &str,
    placeholder: &[u8],
) -> Result<(), Stop> {
    let Where {
        github,
        to,
        images,
        session,
        package,
    } = *at;
    // The primary budget must cover what the tag costs on the REST API: the page that finds
    // the placeholder and its DELETE (SPEC §5: never meet the primary limit).
    if let Some(budget) = github.budget() {
        if crate::execute::affordable(budget.remaining, &[REST_COST]) == 0 {
            return Err(Stop::NotStarted(Outcome::Deferred(budget.resets_at())));
        }
    }
    // The push is a mutation: it waits for its turn, as DELETEs do.
    let turn = github.mutation_turn().await.map_err(Stop::NotStarted)?;
    let pushed = images
        .registry
        .push(session, tag, media_type, placeholder)
        .await;
    drop(turn);
    let digest = pushed.map_err(|e| {
        Stop::Failed(format!(
            "tag {tag} is still on {}: the push failed: {e:#}",
            version.name
        ))
    })?;
    let moved = format!(
        "tag {tag} no longer points at {}: it points at the placeholder {digest}",
        version.name
    );
    let found = github
        .find_version(to.route, to.package_type, package, &digest)
        .await
        .map_err(|e| {
            Stop::Failed(format!(
                "{moved}, which could not be found: {e:#}; run again to delete it"
            ))
        })?;
    let Some(placeholder_version) = found else {
        return Err(Stop::Failed(format!(
            "{moved}, which GitHub does not list yet; run again to delete it"
        )));
    };
    match github
        .change_version(
            to.route,
            to.package_type,
            package,
            placeholder_version.id,
            Mode::Delete,
        )
        .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Stop::Failed(format!(
            "{moved} (version {}), which could not be deleted: {e}; delete it, or run again",
            placeholder_version.id
        ))),
        Err(e) => Err(Stop::Failed(format!(
            "{moved} (version {}), which could not be deleted: {e:#}; delete it, or run again",
            placeholder_version.id
        ))),
    }
}
