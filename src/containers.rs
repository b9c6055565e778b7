//! Container safety at run time (SPEC §4): reads the manifests a plan needs from the registry
//! and applies [`images`](crate::images)' rules; after a restore, brings back the deleted
//! children and referrers of every restored image index.

use crate::images::{ManifestRead, Manifests};
use crate::model::{Mode, PackageListing, PackageVersion};
use crate::plan::{Decision, Entry, Plan, SkipReason};
use crate::registry::Registry;
use crate::workflow::Log;
use futures_util::StreamExt;
use std::collections::BTreeSet;
use std::sync::Arc;

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
    mut prefetched: std::collections::BTreeMap<String, Manifests>,
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
        // What was read while the listing came in; a placeholder's bytes are known from its
        // listing: an empty index, never read.
        let mut known = prefetched.remove(&package.package).unwrap_or_default();
        known.extend(
            listing
                .versions
                .iter()
                .filter(|v| package.placeholders.contains_key(&v.id))
                .map(|v| (v.name.clone(), ManifestRead::Index(Vec::new()))),
        );
        let manifests = read_manifests(images, &package.package, &listing.versions, known).await;
        crate::images::protect(package, &listing.versions, &manifests);
        if crate::signals::cancelled() {
            // Reads the cancel kept back are no unreadable manifests: the run stops before
            // any change (`run`), blaming none.
            continue;
        }
        let planned: BTreeSet<&str> = package.changes().map(|v| v.name.as_str()).collect();
        if let Some(id) = package.unreadable {
            log.warning(
                "Manifest unreadable",
                &format!(
                    "{}: the manifest of version {id}, to be deleted, could not be read: it may \
                     list any other version, so every other deletion of {} waits until its \
                     DELETE succeeded",
                    package.package, package.package
                ),
            );
        }
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

/// Restore and repair (SPEC §4): an active image that is examined and lacks deleted parts —
/// a restore cut between an image and its parts, or an image another tool broke — gets them
/// back: they join the plan as "part of `<image>`, which lacks it", so a dry run shows them
/// and running an interrupted restore again completes it. A restore examines the active
/// images its selectors match; a repair every tagged image unless selectors narrow it, and
/// records each examined image that lacks parts in `Plan::broken`. Only the examined images'
/// manifests are read (and their nested indexes'). `deleted` and `active` are the two
/// listings of each package.
pub async fn complete(
    images: &Images<'_>,
    plan: &mut Plan,
    deleted: &[PackageListing],
    active: &[PackageListing],
    policy: &crate::plan::Policy,
    now: chrono::DateTime<chrono::Utc>,
) {
    let mut broken = Vec::new();
    let mut examined_count = 0;
    for ((package, deleted), active) in plan.packages.iter_mut().zip(deleted).zip(active) {
        // Deleted past GitHub's 30 days: listed still, named so, never asked to come back.
        let expired: std::collections::HashMap<&str, (u64, chrono::DateTime<chrono::Utc>)> =
            deleted
                .versions
                .iter()
                .filter_map(|v| Some((v.name.as_str(), (v.id, v.deleted_at?))))
                .filter(|(_, (_, at))| now.signed_duration_since(*at) > RESTORABLE)
                .collect();
        // GitHub restores a version within 30 days of its deletion: older ones are gone for
        // good, and no restore is asked of them.
        let deleted = PackageListing {
            name: deleted.name.clone(),
            versions: deleted
                .versions
                .iter()
                .filter(|v| v.deleted_at.is_some() && crate::plan::restorable(v, now))
                .cloned()
                .collect(),
        };
        let deleted = &deleted;
        let examined = examined(active, policy, now);
        if examined.is_empty() || (deleted.versions.is_empty() && policy.mode != Mode::Repair) {
            continue;
        }
        let manifests = read_with_nested(images, &package.package, &examined, active).await;
        if policy.mode == Mode::Repair {
            examined_count += examined.len();
            let health = Health {
                package: &package.package,
                standing: active.versions.iter().map(|v| v.name.as_str()).collect(),
                gone: deleted
                    .versions
                    .iter()
                    .map(|v| (v.name.as_str(), v.id))
                    .collect(),
                expired: &expired,
                manifests: &manifests,
            };
            broken.extend(examined.iter().filter_map(|root| health.broken(root)));
        }
        // Deleted first: a digest both deleted and active is the active one.
        let all: Vec<Arc<PackageVersion>> = deleted
            .versions
            .iter()
            .chain(&active.versions)
            .cloned()
            .collect();
        let roots: Vec<&PackageVersion> = examined.iter().map(|v| &**v).collect();
        let in_plan: BTreeSet<u64> = package.entries.iter().map(|e| e.version.id).collect();
        for (image, part) in crate::images::missing_parts(&roots, &all, &manifests) {
            if in_plan.contains(&part.id) {
                continue;
            }
            package.entries.push(Entry::new(
                part.clone(),
                Decision::Change,
                Some(format!("part of {image}, which lacks it")),
            ));
        }
        package
            .entries
            .sort_by(|a, b| PackageVersion::newer_first(&a.version, &b.version));
    }
    plan.broken = broken;
    plan.examined = examined_count;
}

/// A repair's health check of one package (SPEC §4): what its examined images list that is
/// not an active version.
struct Health<'a> {
    package: &'a str,
    /// The active digests.
    standing: BTreeSet<&'a str>,
    /// The deleted digests GitHub can still restore, and their ids.
    gone: std::collections::HashMap<&'a str, u64>,
    /// Deleted past GitHub's 30 days: id and when.
    expired: &'a std::collections::HashMap<&'a str, (u64, chrono::DateTime<chrono::Utc>)>,
    manifests: &'a Manifests,
}

impl Health<'_> {
    /// The image `root` as broken, when it lacks parts.
    fn broken(&self, root: &Arc<PackageVersion>) -> Option<crate::plan::BrokenImage> {
        let mut missing =
            crate::images::missing_children(&root.name, self.manifests, &self.standing, &self.gone);
        for part in missing.iter_mut().filter(|p| p.version.is_none()) {
            part.expired = self.expired.get(part.digest.as_str()).copied();
        }
        (!missing.is_empty()).then(|| crate::plan::BrokenImage {
            package: self.package.to_string(),
            digest: root.name.clone(),
            tags: root.tags.clone(),
            missing,
        })
    }
}

/// How long GitHub keeps a deleted version restorable (facts file, "Refusals").
const RESTORABLE: chrono::TimeDelta = crate::plan::RESTORABLE;

/// The active images a restore or repair examines: those its selectors match (the
/// planner's selection, with nothing kept); a repair with no selector examines every image
/// with a tag of its own (a referrer's tag names another image).
fn examined(
    active: &PackageListing,
    policy: &crate::plan::Policy,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Arc<PackageVersion>> {
    let narrowed = !policy.tags.is_empty()
        || !policy.version_ids.is_empty()
        || policy.older_than.is_some()
        || policy.semver_range.is_some();
    if policy.mode == Mode::Repair && !narrowed {
        return active
            .versions
            .iter()
            .filter(|v| {
                v.tags
                    .iter()
                    .any(|t| crate::images::referred_digest(t).is_none())
            })
            .cloned()
            .collect();
    }
    let matching = crate::plan::Policy {
        keep_latest: 0,
        keep_per: None,
        // SPEC §1: a repair examines an image when any of its tags matches (`tags: latest`
        // is a health check of the image tagged `v3.0.0, latest`, never a pass by skipping).
        tag_match: match policy.mode {
            Mode::Repair => crate::plan::TagMatch::Any,
            Mode::Delete | Mode::Restore => policy.tag_match,
        },
        ..policy.clone()
    };
    crate::plan::plan(std::slice::from_ref(active), &matching, now)
        .packages
        .into_iter()
        .flat_map(|p| p.entries)
        .filter(|e| e.decision == Decision::Change)
        .map(|e| e.version)
        .collect()
}

/// The manifests of the digests `digests` brings, read as they come while the listing is
/// still arriving (issue 26): the tagged versions' manifests, the first reads [`protect`]
/// would make. A session that cannot be had reads nothing here; `protect` tries again and
/// fails closed then.
pub async fn prefetch(
    images: &Images<'_>,
    package: &str,
    mut digests: tokio::sync::mpsc::UnboundedReceiver<String>,
) -> Manifests {
    let Some(first) = digests.recv().await else {
        return Manifests::new();
    };
    let Ok(session) = images.registry.session(images.owner, package).await else {
        return Manifests::new();
    };
    let session = &session;
    let arriving =
        futures_util::stream::unfold((Some(first), digests), |(first, mut rest)| async {
            let next = match first {
                Some(first) => first,
                None => rest.recv().await?,
            };
            Some((next, (None, rest)))
        });
    arriving
        .map(|digest| async move {
            let read = images.registry.manifest(session, &digest).await;
            (digest, read)
        })
        .buffer_unordered(crate::registry::READS_IN_FLIGHT)
        .collect()
        .await
}

/// The manifests of `versions`, and of the nested indexes among their children that stand.
async fn read_with_nested(
    images: &Images<'_>,
    package: &str,
    versions: &[Arc<PackageVersion>],
    active: &PackageListing,
) -> Manifests {
    let mut manifests = read_manifests(images, package, versions, Manifests::new()).await;
    loop {
        let nested: Vec<Arc<PackageVersion>> = manifests
            .values()
            .filter_map(|m| match m {
                ManifestRead::Index(children) => Some(children),
                _ => None,
            })
            .flatten()
            .filter(|c| c.is_index && !manifests.contains_key(&c.digest))
            .filter_map(|c| active.versions.iter().find(|v| v.name == c.digest))
            .cloned()
            .collect();
        if nested.is_empty() {
            return manifests;
        }
        manifests = read_manifests(images, package, &nested, manifests).await;
    }
}

/// Every manifest the rules need, tagged versions first, with bounded concurrency.
async fn read_manifests(
    images: &Images<'_>,
    name: &str,
    versions: &[Arc<PackageVersion>],
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
