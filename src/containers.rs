//! Container safety at run time (SPEC §4): reads the manifests a plan needs from the registry
//! and applies [`images`](crate::images)' rules; after a restore, brings back the deleted
//! children and referrers of every restored image index.

use crate::execute::{Change, Destination, Executed, Outcome};
use crate::github::GitHub;
use crate::images::{Child, ManifestRead, Manifests};
use crate::model::{Mode, PackageListing, PackageVersion};
use crate::plan::{Decision, Entry, Plan, SkipReason};
use crate::registry::Registry;
use crate::workflow::Log;
use futures_util::StreamExt;
use std::collections::BTreeSet;

/// The registry, and whose repositories to read.
pub struct Images<'a> {
    pub registry: &'a Registry,
    pub owner: &'a str,
}

/// Protect what staying images need, sweep what deleted indexes leave, fail closed on
/// unreadable manifests. Returns whether the run had to fail closed.
pub async fn protect(
    images: &Images<'_>,
    plan: &mut Plan,
    listings: &[PackageListing],
    log: &mut Log,
) -> bool {
    let mut failed_closed = false;
    for package in plan.packages.iter_mut() {
        if package.changes().next().is_none() {
            continue;
        }
        let Some(listing) = listings.iter().find(|l| l.name == package.package) else {
            continue;
        };
        // A placeholder's bytes are known from its listing: an empty index, never read.
        let known: Manifests = listing
            .versions
            .iter()
            .filter(|v| package.placeholders.contains_key(&v.id))
            .map(|v| (v.name.clone(), ManifestRead::Index(Vec::new())))
            .collect();
        let manifests = read_manifests(images, &package.package, &listing.versions, known).await;
        crate::images::protect(package, &listing.versions, &manifests);
        let planned: BTreeSet<&str> = package.changes().map(|v| v.name.as_str()).collect();
        for (digest, read) in &manifests {
            if let ManifestRead::Unreadable(error) = read {
                if !planned.contains(digest.as_str()) {
                    log.warning(
                        "Manifest unreadable",
                        &format!(
                            "{}: manifest {digest} could not be read ({error}); no version of \
                             {} is deleted in this run",
                            package.package, package.package
                        ),
                    );
                }
            }
        }
        failed_closed |= package.entries.iter().any(|e| {
            matches!(
                e.decision,
                Decision::Skip(SkipReason::ManifestUnreadable { .. })
            )
        });
    }
    log.info(&format!(
        "Checked {} manifests in the registry, {} of them image indexes read in full (each \
         full read counts as a download)",
        images.registry.looks(),
        images.registry.reads()
    ));
    failed_closed
}

/// Every manifest the rules need, tagged versions first, with bounded concurrency.
async fn read_manifests(
    images: &Images<'_>,
    name: &str,
    versions: &[crate::model::PackageVersion],
    known: Manifests,
) -> Manifests {
    let registry = images.registry;
    let mut manifests = known;
    let session = match registry.session(images.owner, name).await {
        Ok(session) => session,
        Err(error) => {
            // Nothing can be read: every version's manifest is unknown.
            for v in versions {
                manifests.insert(
                    v.name.clone(),
                    ManifestRead::Unreadable(format!("{error:#}")),
                );
            }
            return manifests;
        }
    };
    loop {
        let next = crate::images::next_reads(versions, &manifests);
        if next.is_empty() {
            return manifests;
        }
        let session = &session;
        let reads: Vec<(String, ManifestRead)> = futures_util::stream::iter(next)
            .map(|digest| async move {
                let read = registry.manifest(session, &digest).await;
                (digest, read)
            })
            .buffer_unordered(crate::registry::READS_IN_FLIGHT)
            .collect()
            .await;
        manifests.extend(reads);
    }
}

/// The rest of a restore's change (SPEC §4): the restored version's manifest read (and its
/// nested indexes'), and the deleted versions it lists (platform images, attestations,
/// nested indexes) and the deleted referrers of each digest restored, one by one, finished
/// whatever a cancellation or `max-duration` says. Like the cascade it mirrors, a version with
/// a tag of its own is never brought back as a part. The parts join the plan as "part of
/// `<image>`"; the image's outcome is a failure naming it when a manifest could not be read
/// or a part could not be restored (`None` when it came back whole).
#[allow(clippy::too_many_arguments)]
pub async fn restore_parts(
    github: &GitHub,
    to: &Destination<'_>,
    images: &Images<'_>,
    plan: &Plan,
    deleted: &[PackageListing],
    change: &Change<'_>,
    done: &mut Executed,
) -> Option<Outcome> {
    let _finishing = crate::signals::Shield::up();
    let package = change.package;
    let listing = deleted.iter().find(|l| l.name == package)?;
    let label = change
        .version
        .tags
        .first()
        .unwrap_or(&change.version.name)
        .clone();
    let image = match change.version.tags.first() {
        Some(tag) => format!("{} ({tag})", change.version.name),
        None => change.version.name.clone(),
    };
    let session = match images.registry.session(images.owner, package).await {
        Ok(session) => session,
        Err(error) => return Some(incomplete(&image, &format!("no registry token: {error:#}"))),
    };
    let mut in_plan: BTreeSet<String> = plan
        .packages
        .iter()
        .filter(|p| p.package == package)
        .flat_map(|p| p.entries.iter().map(|e| e.version.name.clone()))
        .collect();
    in_plan.extend(
        done.parts
            .iter()
            .filter(|(p, _)| p == package)
            .map(|(_, e)| e.version.name.clone()),
    );
    let mut problems: Vec<String> = Vec::new();
    // (version restored, whether its manifest may list children)
    let mut queue: Vec<(PackageVersion, bool)> = vec![(change.version.clone(), true)];
    while let Some((restored, may_be_index)) = queue.pop() {
        let children: Vec<Child> = if may_be_index {
            match images.registry.manifest(&session, &restored.name).await {
                ManifestRead::Index(children) => children,
                ManifestRead::Image => Vec::new(),
                ManifestRead::Unreadable(error) => {
                    problems.push(format!("manifest {} unreadable ({error})", restored.name));
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let digests: Vec<String> = children.iter().map(|c| c.digest.clone()).collect();
        let names: BTreeSet<&str> = in_plan.iter().map(String::as_str).collect();
        let parts: Vec<PackageVersion> =
            crate::images::parts_of(&restored, &digests, &listing.versions, &names)
                .into_iter()
                .cloned()
                .collect();
        for part in parts {
            in_plan.insert(part.name.clone());
            let outcome = match github
                .change_version(to.route, to.package_type, package, part.id, Mode::Restore)
                .await
            {
                Ok(Ok(())) => Outcome::Changed(None),
                Ok(Err(e)) => Outcome::Failed(e.to_string()),
                Err(e) => Outcome::Failed(format!("{e:#}")),
            };
            if let Outcome::Failed(why) = &outcome {
                problems.push(format!(
                    "part {} ({}) not restored: {why}",
                    part.id, part.name
                ));
            } else {
                let nested = children.iter().any(|c| c.digest == part.name && c.is_index);
                queue.push((part.clone(), nested));
            }
            done.outcomes
                .insert((package.to_string(), part.id), outcome);
            done.parts.push((
                package.to_string(),
                Entry {
                    version: part,
                    decision: Decision::Change,
                    note: Some(format!("part of {label}")),
                },
            ));
        }
    }
    (!problems.is_empty()).then(|| incomplete(&image, &problems.join("; ")))
}

/// A restored image that did not come back whole: a failure that names it (SPEC §4).
fn incomplete(image: &str, why: &str) -> Outcome {
    Outcome::Incomplete(format!(
        "{image} was restored, but not whole: {why}; run the same restore again to complete it"
    ))
}
