//! Container safety at run time (SPEC §4): reads the manifests a plan needs from the registry
//! and applies [`images`](crate::images)' rules; after a restore, brings back the deleted
//! children and referrers of every restored image index.

use crate::execute::{execute, Destination, Outcome, Outcomes};
use crate::github::GitHub;
use crate::images::{ManifestRead, Manifests};
use crate::model::PackageListing;
use crate::plan::{Decision, Entry, PackagePlan, Plan, SkipReason};
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
        let manifests = read_manifests(images, &package.package, &listing.versions).await;
        crate::images::protect(package, &listing.versions, &manifests);
        let planned: BTreeSet<&str> = package.changes().map(|v| v.name.as_str()).collect();
        for (digest, read) in &manifests {
            if let ManifestRead::Unreadable(error) = read {
                if !planned.contains(digest.as_str()) {
                    log.warning(
                        "Manifest unreadable",
                        &format!(
                            "{}: manifest {digest} could not be read ({error}); no untagged \
                             version of {} is deleted in this run",
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

/// `untag` runs: the placeholders left by an interrupted one — versions with a single tag
/// whose manifest carries the placeholder mark. Reading a manifest in full counts as a
/// download, so only single-tag versions are read. Ids, per package.
pub async fn find_placeholders(
    images: &Images<'_>,
    listings: &[PackageListing],
) -> Vec<(String, BTreeSet<u64>)> {
    let mut found = Vec::new();
    for listing in listings {
        let single: Vec<&crate::model::PackageVersion> = listing
            .versions
            .iter()
            .filter(|v| v.tags.len() == 1)
            .collect();
        if single.is_empty() {
            continue;
        }
        let Ok(session) = images.registry.session(images.owner, &listing.name).await else {
            continue;
        };
        let mut ids = BTreeSet::new();
        for version in single {
            if let Ok((_, bytes)) = images
                .registry
                .manifest_bytes(&session, &version.name)
                .await
            {
                if crate::images::is_placeholder(&bytes) {
                    ids.insert(version.id);
                }
            }
        }
        if !ids.is_empty() {
            found.push((listing.name.clone(), ids));
        }
    }
    found
}

/// Every manifest the rules need, tagged versions first, with bounded concurrency.
async fn read_manifests(
    images: &Images<'_>,
    name: &str,
    versions: &[crate::model::PackageVersion],
) -> Manifests {
    let registry = images.registry;
    let mut manifests = Manifests::new();
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

/// After a restore: read each restored version's manifest and restore the deleted versions it
/// references (platform images, attestations, nested indexes) and the deleted referrers of
/// its digest, until nothing more is found. They join the plan as "part of `<image>`". Like
/// the cascade it mirrors, a version with a tag of its own is never brought back as a part.
/// Returns the restored images whose parts could not be learnt (SPEC §4: a failure, exit 1,
/// never a silent partial image).
pub async fn restore_parts(
    github: &GitHub,
    to: &Destination<'_>,
    images: &Images<'_>,
    plan: &mut Plan,
    listings: &[PackageListing],
    outcomes: &mut Outcomes,
    log: &mut Log,
) -> usize {
    let mut examined: BTreeSet<u64> = BTreeSet::new();
    let mut incomplete = 0;
    loop {
        let mut wave = Plan {
            packages: Vec::new(),
            missing_ids: Vec::new(),
        };
        for package in &plan.packages {
            let Some(listing) = listings.iter().find(|l| l.name == package.package) else {
                continue;
            };
            let restored: Vec<&Entry> = package
                .entries
                .iter()
                .filter(|e| !examined.contains(&e.version.id))
                .filter(|e| {
                    matches!(
                        outcomes.get(&(package.package.clone(), e.version.id)),
                        Some(Outcome::Changed(_))
                    )
                })
                .collect();
            if restored.is_empty() {
                continue;
            }
            examined.extend(restored.iter().map(|e| e.version.id));
            let (parts, unreadable) = parts_of(images, package, &restored, listing).await;
            for (digest, error) in unreadable {
                incomplete += 1;
                log.error(
                    "Image restored incompletely",
                    &format!(
                        "{}: {digest} was restored, but its manifest could not be read \
                         ({error}), so its deleted parts (platform images, attestations, \
                         signatures) were not restored; run again with the same inputs, or \
                         restore them by version-ids",
                        package.package
                    ),
                );
            }
            if !parts.is_empty() {
                wave.packages.push(PackagePlan {
                    package: package.package.clone(),
                    listed: package.listed,
                    entries: parts,
                });
            }
        }
        if wave.packages.is_empty() {
            return incomplete;
        }
        outcomes.extend(execute(github, to, &wave, log).await);
        for part in wave.packages {
            if let Some(package) = plan.packages.iter_mut().find(|p| p.package == part.package) {
                package.entries.extend(part.entries);
                package.entries.sort_by(|a, b| {
                    crate::model::PackageVersion::newer_first(&a.version, &b.version)
                });
            }
        }
    }
}

/// The deleted parts of the `restored` versions of one package, read from their manifests,
/// and the digests whose manifest could not be read (with why).
async fn parts_of(
    images: &Images<'_>,
    package: &PackagePlan,
    restored: &[&Entry],
    listing: &PackageListing,
) -> (Vec<Entry>, Vec<(String, String)>) {
    let session = match images
        .registry
        .session(images.owner, &package.package)
        .await
    {
        Ok(session) => session,
        Err(error) => {
            let why = format!("{error:#}");
            let all = restored
                .iter()
                .map(|e| (e.version.name.clone(), why.clone()))
                .collect();
            return (Vec::new(), all);
        }
    };
    let in_plan: BTreeSet<&str> = package
        .entries
        .iter()
        .map(|e| e.version.name.as_str())
        .collect();
    let mut parts: Vec<Entry> = Vec::new();
    let mut unreadable = Vec::new();
    for entry in restored {
        let children: Vec<String> = match images
            .registry
            .manifest(&session, &entry.version.name)
            .await
        {
            ManifestRead::Index(children) => children.into_iter().map(|c| c.digest).collect(),
            ManifestRead::Image => Vec::new(),
            ManifestRead::Unreadable(error) => {
                unreadable.push((entry.version.name.clone(), error));
                Vec::new()
            }
        };
        let image = entry
            .version
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| entry.version.name.clone());
        for v in crate::images::parts_of(&entry.version, &children, &listing.versions, &in_plan) {
            if !parts.iter().any(|p| p.version.id == v.id) {
                parts.push(Entry {
                    version: v.clone(),
                    decision: Decision::Change,
                    note: Some(format!("part of {image}")),
                });
            }
        }
    }
    (parts, unreadable)
}
