//! Container safety (SPEC §4), pure: which manifests to read, what the images that stay still
//! need, and what a deleted image index takes with it.
//!
//! Every manifest is its own package version: the platform images and buildx attestation
//! manifests of a multi-arch image are untagged versions, and cosign signatures, attestations
//! and SBOMs are versions tagged `sha256-<hex>` (with `.sig`, `.att`, `.sbom`) after the digest
//! they refer to. So, for a container delete plan:
//! 1. **Protect**: a planned version that an image that stays references (through index
//!    children, transitively, or as a referrer of its digest) is kept, "used by `<image>`"; kept
//!    versions stay too, so this repeats until nothing changes.
//! 2. **Fail closed**: if the manifest of a version that stays could not be read, no untagged
//!    version of the package is deleted: any could be its child.
//! 3. **Cascade**: the untagged children and the referrers of a deleted index that nothing
//!    staying needs, and that no rule of the plan kept, are deleted with it, "part of
//!    `<image>`". A child with a tag of its own is left alone.

use crate::model::PackageVersion;
use crate::plan::{Decision, Entry, PackagePlan, SkipReason};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// One child of an image index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Child {
    pub digest: String,
    /// The child is an index itself (nested), so its own manifest must be read.
    pub is_index: bool,
    /// `os/arch[/variant]` as the index names it (`unknown/unknown` for attestations).
    pub platform: Option<String>,
}

/// What reading one manifest gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestRead {
    Index(Vec<Child>),
    Image,
    Unreadable(String),
}

/// Manifests read so far, by digest.
pub type Manifests = HashMap<String, ManifestRead>;

/// The digest a referrer tag refers to: `sha256-<hex>[.sig|.att|.sbom|…]` → `sha256:<hex>`.
pub fn referred_digest(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix("sha256-")?;
    let hex: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    (hex.len() == 64 && (rest.len() == 64 || rest[64..].starts_with('.')))
        .then(|| format!("sha256:{hex}"))
}

/// The manifests to read next. Tagged versions first: once their indexes are read, the
/// untagged platform and attestation manifests they list are known leaves and need no read
/// (each read counts as a download). Then whatever is still unknown.
pub fn next_reads(active: &[Arc<PackageVersion>], manifests: &Manifests) -> Vec<String> {
    let leaves: BTreeSet<&str> = manifests
        .values()
        .filter_map(|m| match m {
            ManifestRead::Index(children) => Some(children),
            _ => None,
        })
        .flatten()
        .filter(|c| !c.is_index)
        .map(|c| c.digest.as_str())
        .collect();
    let unknown: Vec<&PackageVersion> = active
        .iter()
        .map(|v| &**v)
        .filter(|v| v.name.starts_with("sha256:"))
        .filter(|v| !manifests.contains_key(&v.name) && !leaves.contains(v.name.as_str()))
        .collect();
    let tagged: Vec<String> = unknown
        .iter()
        .filter(|v| !v.tags.is_empty())
        .map(|v| v.name.clone())
        .collect();
    if !tagged.is_empty() {
        return tagged;
    }
    unknown.iter().map(|v| v.name.clone()).collect()
}

fn label(version: &PackageVersion) -> String {
    match version.tags.first() {
        Some(tag) => tag.clone(),
        None => {
            let short: String = version.name.chars().take(19).collect();
            format!("{short}…")
        }
    }
}

/// What the manifests say about one package's images: each digest's children, and the
/// referrers (`sha256-<hex>…` tags) of each digest.
pub struct ImageGraph<'a> {
    by_digest: HashMap<&'a str, &'a Arc<PackageVersion>>,
    children: HashMap<&'a str, Vec<&'a str>>,
    referrers: BTreeMap<String, Vec<&'a str>>,
}

impl<'a> ImageGraph<'a> {
    pub fn new(versions: &'a [Arc<PackageVersion>], manifests: &'a Manifests) -> ImageGraph<'a> {
        let children = manifests
            .iter()
            .filter_map(|(digest, read)| match read {
                ManifestRead::Index(children) => Some((
                    digest.as_str(),
                    children.iter().map(|c| c.digest.as_str()).collect(),
                )),
                _ => None,
            })
            .collect();
        let mut referrers: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for v in versions {
            for subject in v.tags.iter().filter_map(|t| referred_digest(t)) {
                referrers.entry(subject).or_default().push(v.name.as_str());
            }
        }
        ImageGraph {
            by_digest: versions.iter().map(|v| (v.name.as_str(), v)).collect(),
            children,
            referrers,
        }
    }

    /// Everything a root needs: its children, transitively, and the referrers of each.
    pub fn needs(&self, root: &str) -> BTreeSet<&'a str> {
        let mut seen: BTreeSet<&'a str> = BTreeSet::new();
        let mut stack: Vec<&'a str> = self.next_to(root);
        while let Some(d) = stack.pop() {
            if d != root && seen.insert(d) {
                stack.extend(self.next_to(d));
            }
        }
        seen
    }

    /// A digest's children and referrers.
    fn next_to(&self, digest: &str) -> Vec<&'a str> {
        let children = self.children.get(digest).into_iter().flatten();
        let referrers = self.referrers.get(digest).into_iter().flatten();
        children.chain(referrers).copied().collect()
    }
}

/// Apply container safety to one container package's delete plan, in three steps: protect
/// what staying images need, fail closed on an unreadable manifest, cascade what deleted
/// indexes leave behind. `active` is every active version of the package, as listed.
pub fn protect(plan: &mut PackagePlan, active: &[Arc<PackageVersion>], manifests: &Manifests) {
    let graph = ImageGraph::new(active, manifests);
    keep_what_staying_images_need(plan, active, &graph);
    keep_unreadable_pairs(plan, manifests);
    fail_closed(plan, active, manifests);
    cascade(plan, active, &graph);
    plan.after = deletion_order(plan, &graph);
    unreadable_first(plan, manifests, &graph);
    placeholders_first(plan);
    plan.entries
        .sort_by(|a, b| PackageVersion::newer_first(&a.version, &b.version));
}

/// The order deletions must keep (SPEC §4): each planned version waits for every planned
/// index (or other image) that lists it, transitively or as a referrer of its digest, so a
/// run cut anywhere leaves orphans, never an index pointing at nothing.
fn deletion_order(plan: &PackagePlan, graph: &ImageGraph<'_>) -> BTreeMap<u64, BTreeSet<u64>> {
    let planned: HashMap<&str, u64> = plan.changes().map(|v| (v.name.as_str(), v.id)).collect();
    let mut after: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for version in plan.changes() {
        for part in graph.needs(&version.name) {
            if let Some(id) = planned.get(part) {
                after.entry(*id).or_default().insert(version.id);
            }
        }
    }
    after
}

/// The digests of the planned changes.
fn planned<'a>(plan: &PackagePlan, active: &'a [Arc<PackageVersion>]) -> HashSet<&'a str> {
    // Borrowed from the listing, not copied: 100,000 digests are 10 MB (issue 26).
    let ids: HashSet<u64> = plan.changes().map(|v| v.id).collect();
    active
        .iter()
        .filter(|v| ids.contains(&v.id))
        .map(|v| v.name.as_str())
        .collect()
}

/// 1. A planned version that a version that stays needs is kept, "used by `<image>`"; kept
///    versions stay too, so this repeats until nothing changes.
fn keep_what_staying_images_need(
    plan: &mut PackagePlan,
    active: &[Arc<PackageVersion>],
    graph: &ImageGraph<'_>,
) {
    loop {
        let planned = planned(plan, active);
        let mut used_by: BTreeMap<&str, String> = BTreeMap::new();
        for stays in active.iter().filter(|v| !planned.contains(v.name.as_str())) {
            for needed in graph.needs(&stays.name) {
                if planned.contains(needed) {
                    used_by.entry(needed).or_insert_with(|| label(stays));
                }
            }
        }
        if used_by.is_empty() {
            return;
        }
        for entry in plan
            .entries
            .iter_mut()
            .filter(|e| e.decision == Decision::Change)
        {
            if let Some(image) = used_by.get(entry.version.name.as_str()) {
                entry.decision = Decision::Skip(SkipReason::UsedBy {
                    image: image.clone(),
                });
                entry.note = None;
            }
        }
    }
}

/// 2. If the manifest of a version that stays could not be read, no version of the package
///    is deleted: any could be its child, tagged or not (`docker buildx imagetools create`
///    makes indexes over tagged images).
fn fail_closed(plan: &mut PackagePlan, active: &[Arc<PackageVersion>], manifests: &Manifests) {
    let planned = planned(plan, active);
    let unreadable = active.iter().find_map(|v| match manifests.get(&v.name) {
        Some(ManifestRead::Unreadable(error)) if !planned.contains(v.name.as_str()) => {
            Some((v.name.clone(), error.clone()))
        }
        _ => None,
    });
    let Some((digest, error)) = unreadable else {
        return;
    };
    for entry in plan.entries.iter_mut() {
        if entry.decision == Decision::Change {
            entry.decision = Decision::Skip(SkipReason::ManifestUnreadable {
                digest: digest.clone(),
                error: error.clone(),
            });
            entry.note = None;
        }
    }
}

/// 2a. A version to be deleted whose manifest could not be read may list any other version.
///     One such version can go first (`unreadable_first`); two could list each other, so no
///     order is safe: they stay, and step 2 fails the package closed.
fn keep_unreadable_pairs(plan: &mut PackagePlan, manifests: &Manifests) {
    let unreadable = |e: &Entry| {
        e.decision == Decision::Change
            && matches!(
                manifests.get(&e.version.name),
                Some(ManifestRead::Unreadable(_))
            )
    };
    if plan.entries.iter().filter(|e| unreadable(e)).count() < 2 {
        return;
    }
    for entry in plan.entries.iter_mut() {
        if let (true, Some(ManifestRead::Unreadable(error))) =
            (unreadable(entry), manifests.get(&entry.version.name))
        {
            entry.decision = Decision::Skip(SkipReason::ManifestUnreadable {
                digest: entry.version.name.clone(),
                error: error.clone(),
            });
            entry.note = None;
        }
    }
}

/// 4. The one version to be deleted whose manifest could not be read goes before every other
///    deletion of the package but those that list it (which go before it, as the index before
///    its parts): whatever it lists, nothing is deleted while it stands. Refused, failed or
///    not reached, the others stay (SPEC §4, fail closed).
fn unreadable_first(plan: &mut PackagePlan, manifests: &Manifests, graph: &ImageGraph<'_>) {
    let Some(unreadable) = plan
        .changes()
        .find(|v| matches!(manifests.get(&v.name), Some(ManifestRead::Unreadable(_))))
        .cloned()
    else {
        return;
    };
    let others: Vec<(u64, bool)> = plan
        .changes()
        .filter(|v| v.id != unreadable.id)
        .map(|v| {
            (
                v.id,
                graph.needs(&v.name).contains(unreadable.name.as_str()),
            )
        })
        .collect();
    for (id, lists_it) in others {
        if !lists_it {
            plan.after.entry(id).or_default().insert(unreadable.id);
        }
    }
    plan.unreadable = Some(unreadable.id);
}

/// 5. A leftover untag placeholder goes before the image it names: a placeholder is known
///    from a listing only while its image is listed (its bytes name the image's digest), so a
///    run cut between the two must never leave the placeholder without its image — it would
///    stand for good, counted as an image by `keep-latest`.
fn placeholders_first(plan: &mut PackagePlan) {
    let planned: HashMap<&str, u64> = plan.changes().map(|v| (v.name.as_str(), v.id)).collect();
    let planned_ids: HashSet<u64> = planned.values().copied().collect();
    let edges: Vec<(u64, u64)> = plan
        .placeholders
        .iter()
        .filter(|(id, _)| planned_ids.contains(id))
        .filter_map(|(id, placeholder)| Some((*planned.get(placeholder.image.as_str())?, *id)))
        .collect();
    for (image, placeholder) in edges {
        plan.after.entry(image).or_default().insert(placeholder);
    }
}

/// 3. The parts (children and referrers, transitively) of a deleted index that nothing staying
///    needs, that no rule of the plan kept and that carry no tag of their own, are deleted with
///    it, "part of `<image>`"; until nothing more is added.
fn cascade(plan: &mut PackagePlan, active: &[Arc<PackageVersion>], graph: &ImageGraph<'_>) {
    // Linear in the package and its edges each round (issue 26: nothing quadratic).
    loop {
        let planned: HashSet<&str> = plan.changes().map(|v| v.name.as_str()).collect();
        let in_plan: HashSet<&str> = plan
            .entries
            .iter()
            .map(|e| e.version.name.as_str())
            .collect();
        let rules: HashMap<u64, &Option<String>> = plan
            .entries
            .iter()
            .map(|e| (e.version.id, &e.rule))
            .collect();
        let needed_by_staying: HashSet<&str> = active
            .iter()
            .filter(|v| !planned.contains(v.name.as_str()))
            .flat_map(|v| graph.needs(&v.name))
            .collect();
        let mut added: Vec<Entry> = Vec::new();
        let mut added_names: HashSet<&str> = HashSet::new();
        for deleted in active.iter().filter(|v| planned.contains(v.name.as_str())) {
            for part in graph.needs(&deleted.name) {
                let Some(version) = graph.by_digest.get(part) else {
                    continue;
                };
                if !may_be_part(version)
                    || in_plan.contains(part)
                    || plan.rules.kept.contains(&version.id)
                    || needed_by_staying.contains(part)
                    || !added_names.insert(part)
                {
                    continue;
                }
                // A part goes by the rule that deletes its index.
                let rule = rules.get(&deleted.id).and_then(|rule| (*rule).clone());
                added.push(Entry {
                    rule,
                    ..Entry::new(
                        (*version).clone(),
                        Decision::Change,
                        Some(format!("part of {}", label(deleted))),
                    )
                });
            }
        }
        if added.is_empty() {
            return;
        }
        plan.entries.extend(added);
    }
}

/// The mirror of `cascade` for a restore: of the `deleted` versions, those that come back
/// with the restored image `restored` whose index lists `children` — every child it lists,
/// tagged or not (`docker buildx imagetools create` makes indexes over tagged images: without
/// them the image is broken), and the referrers of its digest — that are not in the plan
/// already (`in_plan`).
pub fn parts_of<'a>(
    restored: &PackageVersion,
    children: &[String],
    deleted: &'a [Arc<PackageVersion>],
    in_plan: &BTreeSet<&str>,
) -> Vec<&'a PackageVersion> {
    deleted
        .iter()
        .map(|v| &**v)
        .filter(|v| {
            children.contains(&v.name)
                || (may_be_part(v)
                    && v.tags
                        .iter()
                        .any(|t| referred_digest(t).as_deref() == Some(restored.name.as_str())))
        })
        .filter(|v| !in_plan.contains(v.name.as_str()))
        .collect()
}

/// The bytes of the placeholder that takes `tag` off the image `image` (SPEC §4, exactly):
/// an OCI index with no manifests, annotated, depending on nothing but the two.
pub fn placeholder(tag: &str, image: &str) -> Vec<u8> {
    let (prefix, suffix) = placeholder_frame();
    let mut bytes = prefix.into_bytes();
    bytes.extend_from_slice(&json_string_body(&format!("{tag}@{image}")));
    bytes.extend_from_slice(suffix.as_bytes());
    bytes
}

/// The placeholder's media type: an OCI image index.
pub const PLACEHOLDER_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// Everything before and after the JSON-escaped `T@V_DIGEST` in a placeholder.
fn placeholder_frame() -> (String, &'static str) {
    (
        format!(
            "{{\"schemaVersion\":2,\"mediaType\":\"{PLACEHOLDER_MEDIA_TYPE}\",\"manifests\":[],\
             \"annotations\":{{\"org.opencontainers.image.description\":\"package-janitor untag \
             placeholder\",\"io.github.package-janitor.untag\":\""
        ),
        "\"}}",
    )
}

/// A string JSON-escaped, without its quotes.
fn json_string_body(text: &str) -> Vec<u8> {
    let quoted = serde_json::Value::String(text.to_string()).to_string();
    quoted.as_bytes()[1..quoted.len() - 1].to_vec()
}

/// `sha256:<hex>` of some bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// The most placeholder digests computed for one package: a leftover is looked for among
/// single-tag versions × images, newest first, and this bounds the work on huge packages
/// (about a second).
pub const PLACEHOLDER_CHECKS: usize = 5_000_000;

/// The untag placeholders among `versions`, recognised from the listing (SPEC §4): a version
/// with one tag T whose name is the digest of the placeholder for T and one of `images` (the
/// package's digests). When the tagged versions' manifests were `read` already (a delete run
/// reads them while it lists), only those that are empty indexes are candidates, and the
/// search costs a few hashes (issue 26); otherwise nothing is downloaded and single-tag
/// versions are checked newest first, at most [`PLACEHOLDER_CHECKS`] digests in all.
pub fn find_placeholders(
    versions: &[Arc<PackageVersion>],
    images: &[&str],
    read: Option<&Manifests>,
) -> BTreeMap<u64, crate::plan::Placeholder> {
    use sha2::Digest as _;
    let empty_index = |v: &PackageVersion| {
        read.is_none_or(|read| {
            matches!(read.get(&v.name), Some(ManifestRead::Index(children)) if children.is_empty())
        })
    };
    let mut single: Vec<(&PackageVersion, [u8; 32])> = versions
        .iter()
        .map(|v| &**v)
        .filter(|v| v.tags.len() == 1 && referred_digest(&v.tags[0]).is_none())
        .filter(|v| empty_index(v))
        .filter_map(|v| Some((v, digest_bytes(&v.name)?)))
        .collect();
    single.sort_by(|a, b| PackageVersion::newer_first(a.0, b.0));
    let images: Vec<(&str, Vec<u8>)> = images
        .iter()
        .filter(|d| d.starts_with("sha256:"))
        .map(|d| (*d, json_string_body(d)))
        .collect();
    let budget = match read {
        // Every candidate is an empty index: each is checked, whatever it costs.
        Some(_) => usize::MAX,
        None => PLACEHOLDER_CHECKS / images.len().max(1),
    };
    let (prefix, suffix) = placeholder_frame();
    let mut found = BTreeMap::new();
    for (version, name) in single.into_iter().take(budget) {
        let tag = &version.tags[0];
        let mut head = sha2::Sha256::new();
        head.update(prefix.as_bytes());
        head.update(json_string_body(tag));
        head.update(b"@");
        for (image, escaped) in &images {
            let mut hasher = head.clone();
            hasher.update(escaped);
            hasher.update(suffix.as_bytes());
            if hasher.finalize().as_slice() == name {
                found.insert(
                    version.id,
                    crate::plan::Placeholder {
                        tag: tag.clone(),
                        image: (*image).to_string(),
                    },
                );
                break;
            }
        }
    }
    // The same placeholder pushed again (a tag taken off the same image twice) is a second
    // version with the same name; one whose tag has moved on since has no tag left to
    // recognise it by, but its name still says what it is.
    let by_name: BTreeMap<&str, crate::plan::Placeholder> = versions
        .iter()
        .filter_map(|v| Some((v.name.as_str(), found.get(&v.id)?.clone())))
        .collect();
    for version in versions {
        if let Some(placeholder) = by_name.get(version.name.as_str()) {
            found
                .entry(version.id)
                .or_insert_with(|| placeholder.clone());
        }
    }
    found
}

/// The 32 bytes of a `sha256:<hex>` digest.
fn digest_bytes(name: &str) -> Option<[u8; 32]> {
    let hex = name.strip_prefix("sha256:")?;
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(bytes)
}

/// Restore mode (SPEC §4): the deleted parts of the active images `roots` — what an image
/// needs (its children, transitively, tagged or not, and the referrers of each digest) that
/// is a deleted version — each with the label of the image that lacks it. `versions` is
/// every version of the package, active and deleted; `manifests` the active indexes read.
pub fn missing_parts<'a>(
    roots: &[&PackageVersion],
    versions: &'a [Arc<PackageVersion>],
    manifests: &'a Manifests,
) -> Vec<(String, &'a PackageVersion)> {
    let graph = ImageGraph::new(versions, manifests);
    let mut found: Vec<(String, &PackageVersion)> = Vec::new();
    for root in roots {
        for needed in graph.needs(&root.name) {
            let Some(version) = graph.by_digest.get(needed) else {
                continue;
            };
            if version.deleted_at.is_some() && !found.iter().any(|(_, v)| v.id == version.id) {
                found.push((label(root), version));
            }
        }
    }
    found
}

/// `mode: repair`: what the image `root` lists, through the indexes read in `manifests`
/// (nested ones that stand included), that is not an active version — each with the deleted
/// version that brings it back, if there is one.
pub fn missing_children(
    root: &str,
    manifests: &Manifests,
    active: &BTreeSet<&str>,
    deleted: &HashMap<&str, u64>,
) -> Vec<crate::plan::MissingPart> {
    let mut missing: Vec<crate::plan::MissingPart> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(digest) = stack.pop() {
        let Some(ManifestRead::Index(children)) = manifests.get(digest) else {
            continue;
        };
        for child in children {
            if !seen.insert(child.digest.as_str()) {
                continue;
            }
            if active.contains(child.digest.as_str()) {
                stack.push(child.digest.as_str());
            } else {
                missing.push(crate::plan::MissingPart {
                    digest: child.digest.clone(),
                    platform: child.platform.clone(),
                    version: deleted.get(child.digest.as_str()).copied(),
                    expired: None,
                });
            }
        }
    }
    missing
}

/// Whether `version` is a part by its tags alone: untagged (platform images, attestation
/// manifests) or a referrer (`sha256-<hex>…`). A version with a tag of its own is an image
/// someone named: the cascade never sweeps it; a restore brings it back only when an index
/// it restores lists it.
pub fn may_be_part(version: &PackageVersion) -> bool {
    version.tags.iter().all(|t| referred_digest(t).is_some())
}

/// The most parts a restore of `plan` can add (SPEC §4: they count against `max-changes`
/// before anything changes). An image's children are known only once it is restored and its
/// manifest can be read, and an index may list tagged images, so every deleted version not in
/// the plan counts but a referrer of a digest that cannot come back.
pub fn possible_parts(plan: &PackagePlan, deleted: &[Arc<PackageVersion>]) -> usize {
    if plan.changes().next().is_none() {
        return 0;
    }
    let in_plan: BTreeSet<u64> = plan.entries.iter().map(|e| e.version.id).collect();
    let referrer = |v: &PackageVersion| !v.tags.is_empty() && may_be_part(v);
    let mut may_return: BTreeSet<&str> = plan.changes().map(|v| v.name.as_str()).collect();
    may_return.extend(
        deleted
            .iter()
            .filter(|v| !referrer(v) && !in_plan.contains(&v.id))
            .map(|v| v.name.as_str()),
    );
    deleted
        .iter()
        .filter(|v| !in_plan.contains(&v.id))
        .filter(|v| {
            !referrer(v)
                || v.tags
                    .iter()
                    .any(|t| referred_digest(t).is_some_and(|d| may_return.contains(d.as_str())))
        })
        .count()
}

/// How long after (or before) an image's deletion its parts are taken to have been deleted
/// with it, when a restore estimates what it will cost.
pub const DELETED_TOGETHER: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// The parts a restore of each of `roots` will likely bring back, by root id, for the primary
/// budget (SPEC §5: the budget stops a run between changes, and a restored image's parts are
/// in its change). An estimate, since a deleted manifest cannot be read: the deleted
/// referrers of its digest, and each deleted untagged version not in the plan that was
/// deleted within [`DELETED_TOGETHER`] of a root, counted once, for the root deleted nearest
/// to it in time (a cleanup deletes an image's parts in one go, next to the image).
pub fn likely_parts(
    roots: &[&PackageVersion],
    deleted: &[Arc<PackageVersion>],
    in_plan: &BTreeSet<u64>,
) -> BTreeMap<u64, u64> {
    let mut parts: BTreeMap<u64, u64> = roots.iter().map(|r| (r.id, 0)).collect();
    let mut by_time: Vec<(chrono::DateTime<chrono::Utc>, u64)> = roots
        .iter()
        .filter_map(|r| Some((r.deleted_at?, r.id)))
        .collect();
    by_time.sort();
    let by_digest: BTreeMap<&str, u64> = roots.iter().map(|r| (r.name.as_str(), r.id)).collect();
    // A part is a child (tagged or not: an index may list tagged images), found by time, or
    // a referrer, found by the digest its tag names.
    let candidates = deleted.iter().filter(|v| !in_plan.contains(&v.id));
    for version in candidates {
        let referrer = !version.tags.is_empty() && may_be_part(version);
        let root = if !referrer {
            version.deleted_at.and_then(|at| {
                let next = by_time.partition_point(|(t, _)| *t < at);
                let near = [next.checked_sub(1), Some(next)];
                near.into_iter()
                    .flatten()
                    .filter_map(|i| by_time.get(i))
                    .map(|(t, id)| ((*t - at).abs(), *id))
                    .filter(|(gap, _)| *gap <= DELETED_TOGETHER)
                    .min()
                    .map(|(_, id)| id)
            })
        } else {
            version
                .tags
                .iter()
                .find_map(|t| by_digest.get(referred_digest(t)?.as_str()).copied())
        };
        if let Some(root) = root {
            *parts.entry(root).or_default() += 1;
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arcs(versions: &[PackageVersion]) -> Vec<Arc<PackageVersion>> {
        versions.iter().cloned().map(Arc::new).collect()
    }
    use chrono::{TimeZone, Utc};

    fn digest(id: u64) -> String {
        format!("sha256:{id:064x}")
    }

    fn version(id: u64, tags: &[&str]) -> PackageVersion {
        let at = Utc.timestamp_opt(1_700_000_000 + id as i64, 0).unwrap();
        PackageVersion {
            id,
            name: digest(id),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            created_at: at,
            updated_at: at,
            deleted_at: None,
        }
    }

    fn index(children: &[u64]) -> ManifestRead {
        ManifestRead::Index(
            children
                .iter()
                .map(|c| Child {
                    digest: digest(*c),
                    is_index: false,
                    platform: None,
                })
                .collect(),
        )
    }

    /// Versions, manifests, the ids the selectors planned → each selected version as
    /// `id:fate(reason)`, newest first.
    fn check(
        active: &[PackageVersion],
        manifests: &[(u64, ManifestRead)],
        planned: &[u64],
        expected: &[&str],
    ) {
        let manifests: Manifests = manifests
            .iter()
            .map(|(id, m)| (digest(*id), m.clone()))
            .collect();
        let mut plan = PackagePlan {
            package: "web".into(),
            listed: active.len(),
            entries: active
                .iter()
                .filter(|v| planned.contains(&v.id))
                .map(|v| Entry::new(v.clone(), Decision::Change, None))
                .collect(),
            after: BTreeMap::new(),
            placeholders: BTreeMap::new(),
            rules: Default::default(),
            unreadable: None,
        };
        protect(&mut plan, &arcs(active), &manifests);
        let got: Vec<String> = plan
            .entries
            .iter()
            .map(|e| match (&e.decision, &e.note) {
                (Decision::Change, None) => format!("{}:delete", e.version.id),
                (Decision::Change, Some(note)) => format!("{}:delete({note})", e.version.id),
                (Decision::Skip(r), _) => format!("{}:skip({r})", e.version.id),
                (Decision::Untag(tags), _) => format!("{}:untag({})", e.version.id, tags.join(",")),
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn untagged_children_of_a_tagged_index_are_protected() {
        // 10 = index `v1` over 1, 2; 3 is a true orphan.
        let active = [
            version(1, &[]),
            version(2, &[]),
            version(3, &[]),
            version(10, &["v1"]),
        ];
        check(
            &active,
            &[(10, index(&[1, 2])), (3, ManifestRead::Image)],
            &[1, 2, 3],
            &["3:delete", "2:skip(used by v1)", "1:skip(used by v1)"],
        );
    }

    #[test]
    fn a_deleted_index_takes_its_children_and_signature_but_not_shared_ones() {
        // 10 `old` over 1, 2; 11 `new` over 2, 3; 20 signs 10.
        let sig = format!("{}.sig", digest(10).replace(':', "-"));
        let active = [
            version(1, &[]),
            version(2, &[]),
            version(3, &[]),
            version(10, &["old"]),
            version(11, &["new"]),
            version(20, &[&sig]),
        ];
        check(
            &active,
            &[(10, index(&[1, 2])), (11, index(&[2, 3]))],
            &[10],
            &[
                "20:delete(part of old)",
                "10:delete",
                "1:delete(part of old)",
            ],
        );
    }

    #[test]
    fn two_unreadable_versions_to_be_deleted_fail_the_package_closed() {
        let unreadable = || ManifestRead::Unreadable("500".into());
        let active = [version(1, &[]), version(10, &["a"]), version(11, &["b"])];
        check(
            &active,
            &[(10, unreadable()), (11, unreadable())],
            &[1, 10, 11],
            &[
                &format!(
                    "11:skip(fail closed: manifest {} unreadable (500))",
                    digest(11)
                ),
                &format!(
                    "10:skip(fail closed: manifest {} unreadable (500))",
                    digest(10)
                ),
                &format!(
                    "1:skip(fail closed: manifest {} unreadable (500))",
                    digest(10)
                ),
            ],
        );
    }

    #[test]
    fn one_unreadable_version_to_be_deleted_goes_before_all_but_what_lists_it() {
        // 20 is an index over 10, whose manifest could not be read; 1 and 2 are untagged.
        let active = [
            version(1, &[]),
            version(2, &[]),
            version(10, &[]),
            version(20, &["old"]),
        ];
        let manifests: Manifests = [
            (digest(10), ManifestRead::Unreadable("500".into())),
            (digest(20), index(&[10])),
        ]
        .into_iter()
        .collect();
        let mut plan = PackagePlan {
            entries: active
                .iter()
                .filter(|v| v.id != 2)
                .map(|v| Entry::new(v.clone(), Decision::Change, None))
                .collect(),
            ..PackagePlan::empty("web", 4)
        };
        protect(&mut plan, &arcs(&active), &manifests);
        assert_eq!(plan.unreadable, Some(10));
        let after: Vec<(u64, Vec<u64>)> = plan
            .after
            .iter()
            .map(|(id, ids)| (*id, ids.iter().copied().collect()))
            .collect();
        // 10 waits for the index listing it; 1 waits for 10; 20 waits for nothing.
        assert_eq!(after, [(1, vec![10]), (10, vec![20])]);
    }

    #[test]
    fn a_child_with_its_own_tag_is_not_swept_with_its_index() {
        let active = [
            version(1, &["amd64-only"]),
            version(2, &[]),
            version(10, &["old"]),
        ];
        check(
            &active,
            &[(10, index(&[1, 2]))],
            &[10],
            &["10:delete", "2:delete(part of old)"],
        );
    }

    #[test]
    fn nested_indexes_protect_their_grandchildren() {
        // 10 `v1` over index 5, which is over 1, 2.
        let active = [
            version(1, &[]),
            version(2, &[]),
            version(5, &[]),
            version(10, &["v1"]),
        ];
        let nested = ManifestRead::Index(vec![Child {
            digest: digest(5),
            is_index: true,
            platform: None,
        }]);
        check(
            &active,
            &[(10, nested), (5, index(&[1, 2]))],
            &[1, 2, 5],
            &[
                "5:skip(used by v1)",
                "2:skip(used by v1)",
                "1:skip(used by v1)",
            ],
        );
    }

    #[test]
    fn a_signature_of_a_staying_image_is_protected() {
        let sig = format!("{}.sig", digest(10).replace(':', "-"));
        let active = [version(10, &["v1"]), version(20, &[&sig])];
        check(
            &active,
            &[(10, ManifestRead::Image)],
            &[20],
            &["20:skip(used by v1)"],
        );
    }

    #[test]
    fn an_unreadable_manifest_protects_every_version_tagged_or_not() {
        // An index over tagged platform images (`docker buildx imagetools create`) may be
        // the one that cannot be read.
        let active = [version(1, &[]), version(2, &["pr-2"]), version(10, &["v1"])];
        let unreadable = |id: u64| {
            format!(
                "{id}:skip(fail closed: manifest {} unreadable (HTTP 500))",
                digest(10)
            )
        };
        check(
            &active,
            &[(10, ManifestRead::Unreadable("HTTP 500".into()))],
            &[1, 2],
            &[&unreadable(2), &unreadable(1)],
        );
    }

    #[test]
    fn parts_wait_for_the_indexes_that_list_them() {
        // 10 `old` over 1 and the nested index 5 (over 2); 20 signs 10.
        let sig = format!("{}.sig", digest(10).replace(':', "-"));
        let active = [
            version(1, &[]),
            version(2, &[]),
            version(5, &[]),
            version(10, &["old"]),
            version(20, &[&sig]),
        ];
        let nested = ManifestRead::Index(vec![
            Child {
                digest: digest(1),
                is_index: false,
                platform: None,
            },
            Child {
                digest: digest(5),
                is_index: true,
                platform: None,
            },
        ]);
        let manifests: Manifests = [(digest(10), nested), (digest(5), index(&[2]))]
            .into_iter()
            .collect();
        let mut plan = PackagePlan {
            package: "web".into(),
            listed: active.len(),
            entries: vec![Entry::new(active[3].clone(), Decision::Change, None)],
            after: BTreeMap::new(),
            placeholders: BTreeMap::new(),
            rules: Default::default(),
            unreadable: None,
        };
        protect(&mut plan, &arcs(&active), &manifests);
        let after: Vec<(u64, Vec<u64>)> = plan
            .after
            .iter()
            .map(|(id, ids)| (*id, ids.iter().copied().collect()))
            .collect();
        assert_eq!(
            after,
            [
                (1, vec![10]),
                (2, vec![5, 10]),
                (5, vec![10]),
                (20, vec![10])
            ]
        );
    }

    #[test]
    fn reads_start_with_tagged_versions_and_skip_known_leaves() {
        let active = [
            version(1, &[]),
            version(2, &[]),
            version(3, &[]),
            version(10, &["v1"]),
        ];
        let mut manifests = Manifests::new();
        assert_eq!(next_reads(&arcs(&active), &manifests), [digest(10)]);
        manifests.insert(digest(10), index(&[1, 2]));
        assert_eq!(next_reads(&arcs(&active), &manifests), [digest(3)]);
        manifests.insert(digest(3), ManifestRead::Image);
        assert!(next_reads(&arcs(&active), &manifests).is_empty());
    }

    #[test]
    fn possible_parts_bound_what_a_restore_can_add() {
        // Deleted: 1 (v1, planned), 2 and 3 untagged, 4 a signature of 1, 5 a named image
        // (which 1 may list: an index may list tagged images), 6 a signature of 5; 7 a
        // signature of 8, which is not deleted and so cannot come back.
        let mut signature = version(4, &[]);
        signature.tags = vec![format!("{}.sig", digest(1).replace(':', "-"))];
        let mut other = version(6, &[]);
        other.tags = vec![digest(5).replace(':', "-")];
        let mut orphan = version(7, &[]);
        orphan.tags = vec![digest(8).replace(':', "-")];
        let deleted = vec![
            version(1, &["v1"]),
            version(2, &[]),
            version(3, &[]),
            signature,
            version(5, &["v0"]),
            other,
            orphan,
        ];
        let plan = PackagePlan {
            package: "web".into(),
            listed: 7,
            entries: vec![Entry::new(deleted[0].clone(), Decision::Change, None)],
            after: BTreeMap::new(),
            placeholders: BTreeMap::new(),
            rules: Default::default(),
            unreadable: None,
        };
        assert_eq!(possible_parts(&plan, &arcs(&deleted)), 5);
        let mut nothing = plan.clone();
        nothing.entries[0].decision = Decision::Skip(SkipReason::KeepLatest { n: 1 });
        assert_eq!(possible_parts(&nothing, &arcs(&deleted)), 0);
    }

    #[test]
    fn a_restore_brings_back_what_the_cascade_would_have_taken() {
        // Deleted: the index 1 (restored), its children 2 and 3 (3 named v0: an index may
        // list tagged images, and comes back whole), a signature 4 of 1, and 5, unrelated; 2
        // is already in the plan.
        let mut signature = version(4, &[]);
        signature.tags = vec![format!("{}.sig", digest(1).replace(':', "-"))];
        let deleted = vec![
            version(1, &["v1"]),
            version(2, &[]),
            version(3, &["v0"]),
            signature,
            version(5, &[]),
        ];
        let children = vec![digest(2), digest(3)];
        let in_plan: BTreeSet<&str> = [deleted[1].name.as_str()].into_iter().collect();
        let parts: Vec<u64> = parts_of(&deleted[0], &children, &arcs(&deleted), &in_plan)
            .iter()
            .map(|v| v.id)
            .collect();
        assert_eq!(parts, [3, 4]);
        let parts: Vec<u64> = parts_of(&deleted[0], &children, &arcs(&deleted), &BTreeSet::new())
            .iter()
            .map(|v| v.id)
            .collect();
        assert_eq!(parts, [2, 3, 4]);
    }

    #[test]
    fn placeholders_have_the_exact_bytes_and_are_found_from_a_listing() {
        let image = digest(7);
        let bytes = placeholder("pr-\"1", &image);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":{{"org.opencontainers.image.description":"package-janitor untag placeholder","io.github.package-janitor.untag":"pr-\"1@{image}"}}}}"#
            )
        );
        let mut leftover = version(9, &["pr-\"1"]);
        leftover.name = digest_of(&bytes);
        let listing = [version(7, &["v1"]), leftover, version(8, &["pr-2"])];
        let names: Vec<&str> = listing.iter().map(|v| v.name.as_str()).collect();
        let found = find_placeholders(&arcs(&listing), &names, None);
        assert_eq!(found.keys().copied().collect::<Vec<_>>(), [9]);
        // With the manifests read, only an empty index is a candidate.
        let mut read = Manifests::new();
        read.insert(listing[1].name.clone(), ManifestRead::Index(Vec::new()));
        read.insert(listing[2].name.clone(), ManifestRead::Image);
        assert_eq!(
            find_placeholders(&arcs(&listing), &names, Some(&read)).len(),
            1
        );
        read.insert(listing[1].name.clone(), ManifestRead::Image);
        assert!(find_placeholders(&arcs(&listing), &names, Some(&read)).is_empty());
        assert_eq!(found[&9].tag, "pr-\"1");
        assert_eq!(found[&9].image, image);
    }

    #[test]
    fn referrer_tags_name_their_subject() {
        let hex = "a".repeat(64);
        assert_eq!(
            referred_digest(&format!("sha256-{hex}.sig")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(
            referred_digest(&format!("sha256-{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(referred_digest("sha256-abc.sig"), None);
        assert_eq!(referred_digest("v1"), None);
    }

    #[test]
    fn likely_parts_counts_each_deleted_part_once_for_the_image_deleted_nearest_to_it() {
        let deleted_at = |mut v: PackageVersion, minutes: i64| {
            v.deleted_at = Some(Utc.timestamp_opt(1_800_000_000 + minutes * 60, 0).unwrap());
            v
        };
        let a = deleted_at(version(1, &["a"]), 0);
        let b = deleted_at(version(2, &["b"]), 5);
        let signature = format!("sha256-{}.sig", &digest(2)[7..]);
        let deleted = vec![
            a.clone(),
            b.clone(),
            deleted_at(version(10, &[]), 1),            // nearest a
            deleted_at(version(11, &[]), 4),            // nearest b
            deleted_at(version(12, &[]), 6),            // nearest b
            deleted_at(version(13, &[]), 40),           // deleted with neither
            deleted_at(version(14, &[]), 0),            // in the plan already
            deleted_at(version(15, &[&signature]), 90), // b's signature, whenever deleted
            deleted_at(version(16, &["v1"]), 0),        // tagged, nearest a: may be its child
        ];
        let in_plan: BTreeSet<u64> = [1, 2, 14].into();
        let parts = likely_parts(&[&a, &b], &arcs(&deleted), &in_plan);
        assert_eq!(parts, BTreeMap::from([(1, 2), (2, 3)]));
        // The window: nothing deleted more than ten minutes from any image counts.
        let alone = likely_parts(&[&a], &arcs(&deleted[5..6]), &in_plan);
        assert_eq!(alone, BTreeMap::from([(1, 0)]));
    }
}
