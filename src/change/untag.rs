//! Untag at run time (SPEC §4): neither the REST API nor the registry can remove one tag, so
//! to take tag T off version V and keep V, push under T a placeholder — an empty index whose
//! bytes depend only on T and V's digest ([`images::placeholder`]) — which moves T to a new
//! package version, then find that version by its digest and delete it through the REST API.
//! V keeps its digest and its other tags.
//!
//! Push, find and delete are one change: it waits for its mutation turn (one at a time,
//! spaced) and, once its push is on the wire, finishes whatever a cancellation or
//! `max-duration` says ([`crate::signals::Shield`]). A run killed in between leaves an active
//! placeholder that the next run recognises from its listing and deletes. A restore puts a
//! deleted placeholder's tag back on its image ([`Untagger::put_back`]).

use super::{Destination, Outcome};
use crate::containers::Images;
use crate::github::GitHub;
use crate::images;
use crate::model::{Mode, PackageVersion};
use crate::plan::Placeholder;
use crate::registry::Session;
use std::sync::Arc;

/// Takes tags off images and puts them back, with the clients.
pub struct Untagger<'a> {
    github: &'a GitHub,
    to: &'a Destination<'a>,
    images: Option<&'a Images<'a>>,
}

impl<'a> Untagger<'a> {
    pub fn new(
        github: &'a GitHub,
        to: &'a Destination<'a>,
        images: Option<&'a Images<'a>>,
    ) -> Untagger<'a> {
        Untagger { github, to, images }
    }

    /// The registry, and a push-scoped session for `package` (the registry reuses recent
    /// ones).
    async fn session(&self, package: &str) -> Result<(&'a Images<'a>, Arc<Session>), String> {
        let images = self
            .images
            .ok_or_else(|| "no container registry for this package type".to_string())?;
        let session = images
            .registry
            .push_session(images.owner, package)
            .await
            .map_err(|e| format!("no push token for {package}: {e:#}"))?;
        Ok((images, session))
    }

    /// Take `tag` off `version`: one change.
    pub async fn remove(&self, package: &str, version: &PackageVersion, tag: &str) -> Outcome {
        let github = self.github;
        let (images, session) = match self.session(package).await {
            Ok(found) => found,
            Err(error) => {
                return Outcome::Failed(format!("tag {tag} is still on {}: {error}", version.name))
            }
        };
        let placeholder = images::placeholder(tag, &version.name);
        let expected = images::digest_of(&placeholder);
        // The push is a mutation: it waits for its turn, as DELETEs do; from then on the
        // change is finished whatever a cancellation or max-duration says.
        let turn = match github.mutation_turn().await {
            Ok(turn) => turn,
            Err(stopped) => return Outcome::from(&stopped),
        };
        let _finishing = crate::signals::Shield::up();
        let pushed = images
            .registry
            .push(&session, tag, images::PLACEHOLDER_MEDIA_TYPE, &placeholder)
            .await;
        drop(turn);
        if let Err(error) = pushed {
            let settled = settle_push(images, &session, version, tag, &expected, &error).await;
            if let Some(failed) = settled {
                return failed;
            }
        }
        // From here the tag has left the image, whatever happens to the placeholder: it is
        // said in `removed-tags` even when a later step fails (SPEC §1).
        let failed = self
            .delete_placeholder(package, version, tag, &expected)
            .await;
        Outcome::Untagged {
            removed: vec![tag.to_string()],
            failed,
        }
    }

    /// The placeholder `expected` found in the listing and deleted; what went wrong, if
    /// anything (the tag is off the image either way).
    async fn delete_placeholder(
        &self,
        package: &str,
        version: &PackageVersion,
        tag: &str,
        expected: &str,
    ) -> Option<String> {
        let (github, to) = (self.github, self.to);
        let moved = format!(
            "tag {tag} no longer points at {}: it points at the placeholder {expected}",
            version.name
        );
        let found = github
            .find_version(to.route, to.package_type, package, expected)
            .await;
        let placeholder_version = match found {
            Ok(Some(found)) => found,
            Ok(None) => {
                return Some(format!(
                    "{moved}, which GitHub does not list yet; run again to delete it"
                ))
            }
            Err(error) => {
                return Some(format!(
                    "{moved}, which could not be found: {error:#}; run again to delete it"
                ))
            }
        };
        let deleted = github
            .change_version(
                to.route,
                to.package_type,
                package,
                placeholder_version.id,
                Mode::Delete,
            )
            .await;
        let why = match deleted {
            Ok(Ok(())) => return None,
            Ok(Err(e)) => e.to_string(),
            Err(e) => format!("{e:#}"),
        };
        Some(format!(
            "{moved} (version {}), which could not be deleted: {why}; delete it, or run again",
            placeholder_version.id
        ))
    }

    /// A restore of an untag placeholder: push its image's manifest under its tag, so the tag
    /// points at the image again (SPEC §4). One registry push, in its mutation turn.
    pub async fn put_back(&self, package: &str, placeholder: &Placeholder) -> Outcome {
        let Placeholder { tag, image } = placeholder;
        let (images, session) = match self.session(package).await {
            Ok(found) => found,
            Err(error) => {
                return Outcome::Failed(format!("tag {tag} was not put back on {image}: {error}"))
            }
        };
        // Where the tag stands now, at the moment of the change: a tag is never taken from
        // the version that holds it (a build pushed, or restored, under it since the plan).
        match images.registry.tag_digest(&session, tag).await {
            Ok(Some(digest)) if digest == *image => {
                return Outcome::Skipped(crate::plan::SkipReason::PlaceholderTagInPlace {
                    tag: tag.clone(),
                })
            }
            Ok(Some(holder)) => {
                return Outcome::Skipped(crate::plan::SkipReason::PlaceholderTagMoved {
                    tag: tag.clone(),
                    holder,
                })
            }
            Ok(None) => {}
            Err(error) => {
                return Outcome::Failed(format!(
                    "tag {tag} was not put back on {image}: where it stands now could not be \
                     looked up: {error:#}"
                ))
            }
        }
        let manifest = images.registry.manifest_bytes(&session, image).await;
        let (media_type, bytes) = match manifest {
            Ok(read) => read,
            Err(error) => {
                return Outcome::Failed(format!(
                    "tag {tag} was not put back on {image}: its manifest could not be read: \
                     {error:#}"
                ))
            }
        };
        let turn = match self.github.mutation_turn().await {
            Ok(turn) => turn,
            Err(stopped) => return Outcome::from(&stopped),
        };
        let _finishing = crate::signals::Shield::up();
        let pushed = images
            .registry
            .push(&session, tag, &media_type, &bytes)
            .await;
        drop(turn);
        match pushed {
            Ok(digest) if digest == *image => Outcome::Retagged(format!("{tag}@{image}")),
            Ok(digest) => Outcome::Failed(format!(
                "tag {tag} was pushed with {image}'s manifest, but the registry named it \
                 {digest}; the tag points there"
            )),
            Err(error) => settle_put_back(images, &session, tag, image, &error).await,
        }
    }
}

/// A push that put a tag back and whose answer was an error is settled like any other (SPEC
/// §5): a look at the tag tells whether it took effect — then the tag is back, and said so.
async fn settle_put_back(
    images: &Images<'_>,
    session: &crate::registry::Session,
    tag: &str,
    image: &str,
    error: &anyhow::Error,
) -> Outcome {
    match images.registry.tag_digest(session, tag).await {
        Ok(Some(digest)) if digest == image => Outcome::Retagged(format!("{tag}@{image}")),
        Ok(found) => Outcome::Failed(format!(
            "tag {tag} was not put back on {image}: the push failed ({error:#}); the tag now \
             names {}",
            found.as_deref().unwrap_or("nothing")
        )),
        Err(look) => Outcome::Failed(format!(
            "tag {tag} was not put back on {image} unless the push took effect: the push failed \
             ({error:#}) and the tag could not be looked up ({look:#}); it may have taken effect"
        )),
    }
}

/// A push whose answer was an error is settled, never taken as not done (SPEC §5): a look at
/// what the tag names now tells whether it took effect. `None`: it did, the tag is on the
/// placeholder; else the change's failure.
async fn settle_push(
    images: &Images<'_>,
    session: &crate::registry::Session,
    version: &PackageVersion,
    tag: &str,
    expected: &str,
    error: &anyhow::Error,
) -> Option<Outcome> {
    let failed = match images.registry.tag_digest(session, tag).await {
        Ok(Some(digest)) if digest == expected => return None,
        Ok(Some(digest)) if digest == version.name => format!(
            "tag {tag} is still on {}: the push failed: {error:#}",
            version.name
        ),
        Ok(found) => format!(
            "tag {tag} was pushed to take it off {}, and the push failed ({error:#}); the tag \
             now names {}",
            version.name,
            found.as_deref().unwrap_or("nothing")
        ),
        Err(look) => format!(
            "tag {tag} is still on {} unless the push took effect (then it is on the \
             placeholder {expected}, which the next run deletes): the push failed ({error:#}) \
             and the tag could not be looked up ({look:#}); it may have taken effect",
            version.name
        ),
    };
    Some(Outcome::Failed(failed))
}
