//! The planner: a pure function from listed versions and a policy to a [`Plan`].
//!
//! No clock, client or environment inside: `now` is a parameter. Nothing is ever deleted except
//! by executing a plan, and the plan lists every version the selectors matched with its fate.
//!
//! # Selection, in this order
//! The versions are the package's active ones in a delete plan, its deleted ones (listed with
//! `state=deleted`) in a restore plan.
//!
//! 1. **Filters**: with `older-than`, only versions whose `updated_at` is more than that long
//!    before `now` take part at all; with `deleted-within` (restore), only versions whose
//!    `deleted_at` is at most that long before `now`; with `semver-range`, only versions whose
//!    semantic version lies in the range (pre-releases by precedence; a version without one
//!    is outside every range: [`crate::semantic`]). A version the filters leave out is not
//!    in the plan.
//! 2. **Selectors**, OR-ed: `version-ids` (the id is listed); `tags` (for container and docker
//!    packages the version's tags, for other types its version name; under `tag-match: all`
//!    a tagged version is selected only when *every* tag matches a pattern, under `any` one
//!    matching tag is enough); `untagged` (a container version with no tag). With no selector
//!    but a filter, every version the filter lets through is selected (`older-than: 90d`
//!    alone = every version older than 90 days, tagged or not). A version that `tags` matched
//!    only in part, and that no other selector picked, is reported as skipped ("partial tag
//!    match") and never changed.
//! 3. **`exclude-tags`**: a selected version with any tag (or name) matching is skipped.
//!    Exclusion always wins, even over `version-ids`.
//! 4. **`keep-latest`**: of the remaining candidates, the N newest (by `created_at`, then id:
//!    the higher id is newer) are kept. With `keep-per: major|minor`, instead the N highest
//!    semantic versions of each major (or major.minor) line are kept, releases ranked above
//!    pre-releases, each by precedence (ties: the newer first), and a candidate with no semantic version is kept too ("keep-per: no
//!    semantic version"): grouping cannot place it.
//! 5. **`min-versions`** (delete plans only): while deleting the rest would leave the package
//!    with fewer than N versions, the newest remaining candidate is kept.
//!
//! Whatever survives is a planned change. `version-ids` that no listed package holds are
//! reported once, as skipped ("not found"). `max-changes` does not shrink the plan: a plan
//! larger than it is not executed at all ([`Plan::exceeds`]).

use crate::model::{Mode, PackageListing, PackageType, PackageVersion};
use crate::pattern::{Pattern, PatternSet};
use crate::semantic::{semantic_version, KeepPer, Range};
use chrono::{DateTime, TimeDelta, Utc};
pub use rules::{unmatched_rules, Action, Conditions, Rule, RuleList, RuleTally};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// `tag-match`: how many of a tagged version's tags must match `tags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMatch {
    All,
    Any,
}

/// The selection policy, validated from the inputs.
#[derive(Debug, Clone)]
pub struct Policy {
    pub package_type: PackageType,
    /// Delete plans act on active versions, restore plans on deleted ones.
    pub mode: Mode,
    pub tags: PatternSet,
    pub exclude_tags: PatternSet,
    pub tag_match: TagMatch,
    pub untagged: bool,
    pub version_ids: BTreeSet<u64>,
    pub keep_latest: usize,
    pub min_versions: usize,
    /// Only versions last updated longer ago than this.
    pub older_than: Option<TimeDelta>,
    /// Restore: only versions deleted within this long before now.
    pub deleted_within: Option<TimeDelta>,
    /// A plan with more changes than this is not executed.
    pub max_changes: Option<usize>,
    /// Only versions whose semantic version lies in this range.
    pub semver_range: Option<Range>,
    /// `keep-latest` keeps the N highest of each release line instead of the N newest.
    pub keep_per: Option<KeepPer>,
    /// `untag`: a version whose tags match `tags` only in part loses just the matching ones.
    pub untag: bool,
    /// `rules`/`rules-file`: a retention policy that replaces the selection inputs above
    /// (SPEC §2, "Rule lists"); `min-versions` and `max-changes` still apply.
    pub rules: Option<RuleList>,
}

impl Policy {
    /// Whether the run may take tags off images: `untag`, or a delete rule that says it.
    pub fn untags(&self) -> bool {
        self.untag || self.rules.as_ref().is_some_and(RuleList::untags)
    }

    /// The selectors and filters of the inputs, as [`select`] reads them.
    fn matcher(&self) -> Matcher<'_> {
        Matcher {
            package_type: self.package_type,
            tags: &self.tags,
            tag_match: self.tag_match,
            untagged: self.untagged,
            version_ids: &self.version_ids,
            older_than: self.older_than,
            newer_than: None,
            deleted_within: self.deleted_within,
            semver_range: self.semver_range.as_ref(),
        }
    }
}

/// What a selection looks at, whether it comes from the inputs or from one rule of a list:
/// the selectors (`tags` under `tag-match`, `untagged`, `version-ids`, OR-ed) and the filters
/// AND-ed with them (`older-than`, `newer-than`, `deleted-within`, `semver-range`).
pub(crate) struct Matcher<'a> {
    pub package_type: PackageType,
    pub tags: &'a PatternSet,
    pub tag_match: TagMatch,
    pub untagged: bool,
    pub version_ids: &'a BTreeSet<u64>,
    pub older_than: Option<TimeDelta>,
    pub newer_than: Option<TimeDelta>,
    pub deleted_within: Option<TimeDelta>,
    pub semver_range: Option<&'a Range>,
}

impl Matcher<'_> {
    fn has_selector(&self) -> bool {
        !self.tags.is_empty() || self.untagged || !self.version_ids.is_empty()
    }
}

/// Why a selected version is left alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SkipReason {
    /// A tag (or the name) matched `exclude-tags`.
    Excluded { label: String, pattern: String },
    /// `tag-match: all` and these tags matched no pattern (of the named rule, in a rule list).
    PartialTagMatch {
        unmatched: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    /// A rule list: a keep rule keeps it, and keep wins over every delete rule.
    KeptByRule { rule: String },
    /// One of the N newest candidates.
    KeepLatest { n: usize },
    /// With `keep-per`: one of the N highest of its release line.
    KeepPer {
        per: KeepPer,
        n: usize,
        line: String,
    },
    /// With `keep-per`: no semantic version, so no line to place it in.
    KeepPerNoVersion,
    /// Deleting it would leave fewer than N versions.
    MinVersions { n: usize },
    /// GitHub refused the change for this version (last version, download limit, …).
    Refused { message: String },
    /// GitHub's primary budget would not cover it; a later run will.
    RateLimitBudget { resets_at: String },
    /// `max-duration` was reached before it started; a later run will do it.
    TimeBudget,
    /// The run was cancelled before it started.
    Cancelled,
    /// A container image that stays references it (platform image, attestation, nested
    /// index, signature or other referrer).
    UsedBy { image: String },
    /// Fail closed: a manifest of this package could not be read, so no version that could
    /// be its child, tagged or not, is deleted.
    ManifestUnreadable { digest: String, error: String },
    /// A part of an image index whose deletion did not happen: it stays with its image.
    ImageStays { image: String, why: String },
    /// Fail closed: a version to be deleted whose manifest could not be read may list this
    /// one; its deletion did not happen, so this one stays.
    MayBePartOf { image: String, why: String },
    /// Restore: deleted longer ago than GitHub restores (30 days); never asked.
    RestoreExpired,
    /// A deleted untag placeholder whose image is not active: its tag cannot be put back.
    PlaceholderImageGone { tag: String, image: String },
    /// A deleted untag placeholder whose tag another active version holds now (a new build
    /// pushed under it): a tag is never taken from the version that holds it.
    PlaceholderTagMoved { tag: String, holder: String },
    /// A deleted untag placeholder whose tag is on its image already.
    PlaceholderTagInPlace { tag: String },
    /// A deleted untag placeholder of a tag that a newer placeholder also took: only the
    /// newest is considered.
    PlaceholderSuperseded { tag: String },
}

impl SkipReason {
    /// The reason's kind, as `result` names it (`reason_kind`, the serialized `kind`): one word
    /// a workflow can match on, whatever the message says.
    pub fn kind(&self) -> &'static str {
        match self {
            SkipReason::Excluded { .. } => "excluded",
            SkipReason::PartialTagMatch { .. } => "partial-tag-match",
            SkipReason::KeptByRule { .. } => "kept-by-rule",
            SkipReason::KeepLatest { .. } => "keep-latest",
            SkipReason::KeepPer { .. } => "keep-per",
            SkipReason::KeepPerNoVersion => "keep-per-no-version",
            SkipReason::MinVersions { .. } => "min-versions",
            SkipReason::Refused { .. } => "refused",
            SkipReason::RateLimitBudget { .. } => "rate-limit-budget",
            SkipReason::TimeBudget => "time-budget",
            SkipReason::Cancelled => "cancelled",
            SkipReason::UsedBy { .. } => "used-by",
            SkipReason::ManifestUnreadable { .. } => "manifest-unreadable",
            SkipReason::ImageStays { .. } => "image-stays",
            SkipReason::MayBePartOf { .. } => "may-be-part-of",
            SkipReason::RestoreExpired => "restore-expired",
            SkipReason::PlaceholderImageGone { .. } => "placeholder-image-gone",
            SkipReason::PlaceholderTagMoved { .. } => "placeholder-tag-moved",
            SkipReason::PlaceholderTagInPlace { .. } => "placeholder-tag-in-place",
            SkipReason::PlaceholderSuperseded { .. } => "placeholder-superseded",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Excluded { label, pattern } => {
                write!(f, "exclude-tags: '{label}' matches '{pattern}'")
            }
            SkipReason::PartialTagMatch {
                unmatched,
                rule: None,
            } => {
                write!(f, "partial tag match: {} not matched", unmatched.join(", "))
            }
            SkipReason::PartialTagMatch {
                unmatched,
                rule: Some(rule),
            } => write!(
                f,
                "partial tag match (rule {rule}): {} not matched",
                unmatched.join(", ")
            ),
            SkipReason::KeptByRule { rule } => write!(f, "kept by rule {rule}"),
            SkipReason::KeepLatest { n } => write!(f, "keep-latest: among the {n} newest selected"),
            SkipReason::KeepPer { per, n, line } => {
                write!(f, "keep-per {per}: among the {n} highest of {line}")
            }
            SkipReason::KeepPerNoVersion => write!(f, "keep-per: no semantic version"),
            SkipReason::MinVersions { n } => {
                write!(f, "min-versions: the package keeps at least {n}")
            }
            SkipReason::Refused { message } => write!(f, "refused by GitHub: {message}"),
            SkipReason::RateLimitBudget { resets_at } => {
                write!(f, "rate-limit budget: run again after {resets_at}")
            }
            SkipReason::TimeBudget => write!(f, "time budget: max-duration reached; run again"),
            SkipReason::Cancelled => write!(f, "cancelled before it started"),
            SkipReason::UsedBy { image } => write!(f, "used by {image}"),
            SkipReason::ManifestUnreadable { digest, error } => {
                write!(f, "fail closed: manifest {digest} unreadable ({error})")
            }
            SkipReason::MayBePartOf { image, why } => write!(
                f,
                "fail closed: {image}, whose manifest could not be read, may list it and was not \
                 deleted ({why})"
            ),
            SkipReason::ImageStays { image, why } => {
                write!(f, "part of {image}, which was not deleted ({why})")
            }
            SkipReason::PlaceholderTagMoved { tag, holder } => write!(
                f,
                "untag placeholder of {tag}: the tag has moved on to {holder} since, and is \
                 never taken from the version that holds it"
            ),
            SkipReason::RestoreExpired => write!(
                f,
                "deleted more than 30 days ago: GitHub restores within 30 days"
            ),
            SkipReason::PlaceholderTagInPlace { tag } => {
                write!(
                    f,
                    "untag placeholder of {tag}: the tag is on its image already"
                )
            }
            SkipReason::PlaceholderSuperseded { tag } => write!(
                f,
                "an older untag placeholder of {tag}: only the newest one is put back"
            ),
            SkipReason::PlaceholderImageGone { tag, image } => write!(
                f,
                "untag placeholder of {tag}: its image {image} is not active, so the tag \
                 cannot be put back"
            ),
        }
    }
}

/// What the plan does with one selected version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Change,
    Skip(SkipReason),
    /// `untag`: these tags come off the version, which stays (SPEC §2, §4).
    Untag(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub version: Arc<PackageVersion>,
    pub decision: Decision,
    /// Why a change is in the plan when no selector chose it (`part of v1.2`: the child of a
    /// deleted image index).
    pub note: Option<String>,
    /// A rule list: the rule that decided this version's fate (the delete rule that deletes or
    /// untags it, the keep rule that keeps it, the delete rule it matched only in part).
    pub rule: Option<String>,
}

impl Entry {
    /// An entry no rule decided: the inputs' plan, or a version container safety adds.
    pub fn new(
        version: impl Into<Arc<PackageVersion>>,
        decision: Decision,
        note: Option<String>,
    ) -> Entry {
        Entry {
            version: version.into(),
            decision,
            note,
            rule: None,
        }
    }
}

impl Entry {
    /// A change the retention rules (`keep-latest`, `keep-per`, `min-versions`) weigh: a
    /// deletion or restore, or an `untag` (SPEC §2).
    fn is_candidate(&self) -> bool {
        matches!(self.decision, Decision::Change | Decision::Untag(_))
    }
}

/// An untag placeholder (SPEC §4), recognised from a listing: the tag it was pushed under and
/// the digest of the image that tag was taken off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub tag: String,
    pub image: String,
}

/// The plan for one package: every selected version, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagePlan {
    pub package: String,
    /// How many versions the package had when listed.
    pub listed: usize,
    pub entries: Vec<Entry>,
    /// Container deletions: a planned version's id → the planned image indexes that list it,
    /// whose DELETE must succeed before it may go (SPEC §4: the index before its parts).
    pub after: BTreeMap<u64, BTreeSet<u64>>,
    /// Untag placeholders among the listed versions, by id.
    pub placeholders: BTreeMap<u64, Placeholder>,
    /// A rule list: what its rules did in this package.
    pub rules: RulesInPackage,
    /// Container deletions: the planned version whose manifest could not be read. It may list
    /// any other version, so every other deletion that does not list it waits for its DELETE
    /// (in `after`); SPEC §4, fail closed.
    pub unreadable: Option<u64>,
}

/// What a rule list did in one package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesInPackage {
    /// What each rule that applies to the package matched and kept, in list order.
    pub tallies: Vec<RuleTally>,
    /// Every version a keep rule keeps — in the plan or not (a version no delete rule matched
    /// is not) — so container safety never deletes one as the part of an index.
    pub kept: BTreeSet<u64>,
}

impl PackagePlan {
    pub fn changes(&self) -> impl Iterator<Item = &PackageVersion> {
        self.entries
            .iter()
            .filter(|e| e.decision == Decision::Change)
            .map(|e| &*e.version)
    }

    /// The versions that lose tags, and the tags they lose.
    pub fn untags(&self) -> impl Iterator<Item = (&PackageVersion, &[String])> {
        self.entries.iter().filter_map(|e| match &e.decision {
            Decision::Untag(tags) => Some((&*e.version, tags.as_slice())),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub packages: Vec<PackagePlan>,
    /// `version-ids` found in no listed package.
    pub missing_ids: Vec<u64>,
    /// `mode: repair`: the examined images that lack parts.
    pub broken: Vec<BrokenImage>,
    /// `mode: repair`: how many images were examined.
    pub examined: usize,
}

/// `mode: repair`: an examined image index that lacks parts (SPEC §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenImage {
    pub package: String,
    pub digest: String,
    pub tags: Vec<String>,
    pub missing: Vec<MissingPart>,
}

/// A part an image index lists that is not an active version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPart {
    pub digest: String,
    /// `os/arch` as the index names it.
    pub platform: Option<String>,
    /// The deleted version that brings it back; `None` when it is gone for good (beyond
    /// GitHub's 30 days, or never in this package).
    pub version: Option<u64>,
    /// A deleted version past GitHub's 30 days that was this part: its id and when it was
    /// deleted — listed still, restorable no more.
    pub expired: Option<(u64, DateTime<Utc>)>,
}

impl PackagePlan {
    /// A package with nothing selected yet.
    pub fn empty(package: &str, listed: usize) -> PackagePlan {
        PackagePlan {
            package: package.to_string(),
            listed,
            entries: Vec::new(),
            after: BTreeMap::new(),
            placeholders: BTreeMap::new(),
            rules: RulesInPackage::default(),
            unreadable: None,
        }
    }
}

impl Plan {
    /// Deletions or restores, and each tag `untag` removes: one change each (SPEC §2).
    pub fn change_count(&self) -> usize {
        self.packages
            .iter()
            .map(|p| p.changes().count() + p.untags().map(|(_, tags)| tags.len()).sum::<usize>())
            .sum()
    }

    /// Whether the plan has more changes than `max-changes` allows.
    pub fn exceeds(&self, policy: &Policy) -> bool {
        policy
            .max_changes
            .is_some_and(|max| self.change_count() > max)
    }

    /// Planned changes whose id is not known yet (packages to restore).
    pub fn unknown_ids(&self) -> usize {
        self.packages
            .iter()
            .flat_map(|p| p.changes())
            .filter(|v| v.id == 0)
            .count()
    }

    /// The ids of the planned changes, the versions `untag` takes tags off among them; an id
    /// not known yet (0, a package to restore) is left out.
    pub fn change_ids(&self) -> Vec<u64> {
        self.packages
            .iter()
            .flat_map(|p| {
                p.entries
                    .iter()
                    .filter(|e| e.is_candidate())
                    .map(|e| e.version.id)
            })
            .filter(|id| *id != 0)
            .collect()
    }
}

/// Plan every listed package. Pure: the same inputs give the same plan, whatever the order the
/// versions were listed in.
pub fn plan(listings: &[PackageListing], policy: &Policy, now: DateTime<Utc>) -> Plan {
    let packages: Vec<PackagePlan> = listings
        .iter()
        .map(|listing| plan_package(listing, policy, now))
        .collect();
    let listed_ids: BTreeSet<u64> = listings
        .iter()
        .flat_map(|l| l.versions.iter().map(|v| v.id))
        .collect();
    let missing_ids = policy
        .version_ids
        .iter()
        .copied()
        .filter(|id| !listed_ids.contains(id))
        .collect();
    Plan {
        packages,
        missing_ids,
        broken: Vec::new(),
        examined: 0,
    }
}

/// `target: packages`: each named package is one change. Its entry stands for the whole
/// package (the package's id and name); a package to restore cannot be read from GitHub
/// before it is restored, so its entry has id 0 until then.
pub fn plan_whole_packages(packages: Vec<(PackageVersion, usize)>) -> Plan {
    Plan {
        packages: packages
            .into_iter()
            .map(|(package, versions)| PackagePlan {
                package: package.name.clone(),
                listed: versions,
                entries: vec![Entry::new(package, Decision::Change, None)],
                after: BTreeMap::new(),
                placeholders: BTreeMap::new(),
                rules: RulesInPackage::default(),
                unreadable: None,
            })
            .collect(),
        missing_ids: Vec::new(),
        broken: Vec::new(),
        examined: 0,
    }
}

/// What the selectors (step 1) say about one version.
enum Selection {
    Selected,
    Partial(Vec<String>),
    NotSelected,
}

fn select(version: &PackageVersion, policy: &Matcher, now: DateTime<Utc>) -> Selection {
    let age = now.signed_duration_since(version.updated_at);
    if policy.older_than.is_some_and(|older| age <= older)
        || policy.newer_than.is_some_and(|newer| age >= newer)
    {
        return Selection::NotSelected;
    }
    if let Some(range) = policy.semver_range {
        let inside =
            semantic_version(version, policy.package_type).is_some_and(|v| range.contains(&v));
        if !inside {
            return Selection::NotSelected;
        }
    }
    if let Some(within) = policy.deleted_within {
        let recent = version
            .deleted_at
            .is_some_and(|at| now.signed_duration_since(at) <= within);
        if !recent {
            return Selection::NotSelected;
        }
    }
    if !policy.has_selector() {
        // Only filters were given: they select on their own.
        return Selection::Selected;
    }
    if policy.version_ids.contains(&version.id) {
        return Selection::Selected;
    }
    if policy.untagged && policy.package_type.has_tags() && version.tags.is_empty() {
        return Selection::Selected;
    }
    if policy.tags.is_empty() {
        return Selection::NotSelected;
    }
    // Counted first, so that only a partial match allocates (a rule list asks every rule
    // about every version).
    let labels = version.labels(policy.package_type);
    let matched = labels.clone().filter(|l| policy.tags.is_match(l)).count();
    if matched == 0 {
        Selection::NotSelected
    } else if matched == labels.clone().count() || policy.tag_match == TagMatch::Any {
        Selection::Selected
    } else {
        Selection::Partial(
            labels
                .filter(|l| !policy.tags.is_match(l))
                .map(str::to_string)
                .collect(),
        )
    }
}

/// Whether a plan of `policy` may change `version` of `package`: the selection (or a delete
/// rule) matches it, before `keep-latest`, keep rules and `min-versions` weigh it. Cheap, one
/// version at a time: the manifest reads start when the listing shows the first such
/// version, before it ends (issue 26).
pub fn may_change(
    package: &str,
    version: &PackageVersion,
    policy: &Policy,
    now: DateTime<Utc>,
) -> bool {
    match &policy.rules {
        Some(list) => rules::may_delete(list, package, version, policy.package_type, now),
        None => !matches!(
            select(version, &policy.matcher(), now),
            Selection::NotSelected
        ),
    }
}

/// The `tags` patterns that match no tag (or name) of any version in the listing: most often a
/// typo or a list written in another syntax, worth a warning rather than a silent "0 planned".
pub fn unmatched_patterns<'p>(listing: &PackageListing, policy: &'p Policy) -> Vec<&'p Pattern> {
    policy
        .tags
        .patterns()
        .iter()
        .filter(|pattern| {
            !listing.versions.iter().any(|v| {
                v.labels(policy.package_type)
                    .any(|label| pattern.is_match(label))
            })
        })
        .collect()
}

fn plan_package(listing: &PackageListing, policy: &Policy, now: DateTime<Utc>) -> PackagePlan {
    let mut versions: Vec<&Arc<PackageVersion>> = listing.versions.iter().collect();
    versions.sort_by(|a, b| PackageVersion::newer_first(a, b));
    versions.dedup_by_key(|v| v.id);

    let (mut entries, rules) = match &policy.rules {
        Some(rules) => {
            rules::plan_package(&listing.name, &versions, rules, policy.package_type, now)
        }
        None => (
            select_and_keep(&versions, policy, now),
            RulesInPackage::default(),
        ),
    };
    min_versions(&mut entries, versions.len(), policy);
    if policy.mode.restores() {
        skip_past_thirty_days(&mut entries, now);
    }

    PackagePlan {
        package: listing.name.clone(),
        listed: versions.len(),
        entries,
        after: BTreeMap::new(),
        placeholders: BTreeMap::new(),
        rules,
        unreadable: None,
    }
}

/// The inputs' selection (steps 1 to 4), newest first.
fn select_and_keep(
    versions: &[&Arc<PackageVersion>],
    policy: &Policy,
    now: DateTime<Utc>,
) -> Vec<Entry> {
    let matcher = policy.matcher();
    let mut entries: Vec<Entry> = Vec::new();
    for version in versions {
        let decision = match select(version, &matcher, now) {
            Selection::NotSelected => continue,
            Selection::Partial(unmatched) => match untag(version, policy) {
                Some(tags) => Decision::Untag(tags),
                None => Decision::Skip(SkipReason::PartialTagMatch {
                    unmatched,
                    rule: None,
                }),
            },
            Selection::Selected => {
                let excluded = version
                    .labels(policy.package_type)
                    .find_map(|label| policy.exclude_tags.first_match(label).map(|p| (label, p)));
                match (excluded, untag(version, policy)) {
                    (None, _) => Decision::Change,
                    // `untag` spares the excluded tags themselves and takes the others.
                    (Some(_), Some(tags)) => Decision::Untag(tags),
                    (Some((label, pattern)), None) => Decision::Skip(SkipReason::Excluded {
                        label: label.to_string(),
                        pattern: pattern.as_str().to_string(),
                    }),
                }
            }
        };
        entries.push(Entry::new(Arc::clone(version), decision, None));
    }

    match policy.keep_per {
        None => keep_newest(&mut entries, policy.keep_latest),
        Some(per) => {
            keep_highest_per_line(&mut entries, policy.package_type, policy.keep_latest, per)
        }
    }
    entries
}

/// How long GitHub keeps a deleted version restorable (facts file, "Refusals").
pub const RESTORABLE: TimeDelta = TimeDelta::days(30);

/// Whether GitHub still restores `version`: active, or deleted within its 30 days.
pub fn restorable(version: &PackageVersion, now: DateTime<Utc>) -> bool {
    version
        .deleted_at
        .is_none_or(|at| now.signed_duration_since(at) <= RESTORABLE)
}

/// Restore plans: a version deleted more than 30 days ago is never asked for — GitHub would
/// refuse it — and is said so, costing no request (SPEC §2).
fn skip_past_thirty_days(entries: &mut [Entry], now: DateTime<Utc>) {
    for entry in entries
        .iter_mut()
        .filter(|e| e.decision == Decision::Change)
    {
        if !restorable(&entry.version, now) {
            entry.decision = Decision::Skip(SkipReason::RestoreExpired);
        }
    }
}

/// What `deleted-within` left out when it left out every deleted version of a package: the
/// versions GitHub can still restore (deleted within its 30 days) and the window, in whole
/// days, that would take them all in; and those past the 30 days (SPEC §2, issue 27).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideWindow {
    pub restorable: usize,
    pub window_days: i64,
    pub expired: usize,
}

/// Counted over the deleted versions the rest of the selection takes; `None` when the window
/// takes in at least one of them, or there are none.
pub fn outside_window(
    listing: &PackageListing,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Option<OutsideWindow> {
    let within = policy.deleted_within?;
    let without_window = Matcher {
        deleted_within: None,
        ..policy.matcher()
    };
    let ages: Vec<TimeDelta> = listing
        .versions
        .iter()
        .filter(|v| !matches!(select(v, &without_window, now), Selection::NotSelected))
        .filter_map(|v| v.deleted_at.map(|at| now.signed_duration_since(at)))
        .collect();
    if ages.is_empty() || ages.iter().any(|age| *age <= within) {
        return None;
    }
    let restorable: Vec<&TimeDelta> = ages.iter().filter(|age| **age <= RESTORABLE).collect();
    let oldest = restorable
        .iter()
        .copied()
        .max()
        .copied()
        .unwrap_or_default();
    // The next whole day past the oldest: it still takes them in when the run comes later.
    Some(OutsideWindow {
        restorable: restorable.len(),
        window_days: oldest.num_days() + 1,
        expired: ages.len() - restorable.len(),
    })
}

/// Step 5, `min-versions` (delete plans): while the changes would leave the package with
/// fewer than N versions, the newest remaining candidate is kept. `untag` candidates count as
/// deletions do (SPEC §2): what is kept keeps its tags.
fn min_versions(entries: &mut [Entry], listed: usize, policy: &Policy) {
    let mut changes = entries.iter().filter(|e| e.is_candidate()).count();
    // A restore only adds versions: min-versions has nothing to protect.
    let min_versions = match policy.mode {
        Mode::Delete => policy.min_versions,
        Mode::Restore | Mode::Repair => 0,
    };
    for entry in entries.iter_mut().filter(|e| e.is_candidate()) {
        if listed - changes >= min_versions {
            break;
        }
        entry.decision = Decision::Skip(SkipReason::MinVersions { n: min_versions });
        changes -= 1;
    }
}

/// With `untag`: the tags a version would lose — those matching `tags` and not `exclude-tags`
/// — when some of its tags stay; `None` when none would go or none would stay (then the
/// usual rules apply).
fn untag(version: &PackageVersion, policy: &Policy) -> Option<Vec<String>> {
    if !policy.untag {
        return None;
    }
    let (gone, stay): (Vec<&String>, Vec<&String>) = version
        .tags
        .iter()
        .partition(|t| policy.tags.is_match(t) && !policy.exclude_tags.is_match(t));
    (!gone.is_empty() && !stay.is_empty()).then(|| gone.into_iter().cloned().collect())
}

/// `keep-latest`: the N newest candidates are kept. Entries are newest first, so the first
/// candidates are the newest ones.
fn keep_newest(entries: &mut [Entry], n: usize) {
    for entry in entries.iter_mut().filter(|e| e.is_candidate()).take(n) {
        entry.decision = Decision::Skip(SkipReason::KeepLatest { n });
    }
}

/// `keep-latest` with `keep-per`: in each release line the N highest semantic versions are
/// kept, releases ranked above pre-releases (ties: the newer first, as entries come); a
/// candidate with none is kept.
fn keep_highest_per_line(entries: &mut [Entry], package_type: PackageType, n: usize, per: KeepPer) {
    let candidates: Vec<(usize, &PackageVersion)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_candidate())
        .map(|(i, e)| (i, &*e.version))
        .collect();
    for (i, kept) in highest_per_line(&candidates, package_type, n, per) {
        entries[i].decision = Decision::Skip(match kept {
            Some(line) => SkipReason::KeepPer { per, n, line },
            None => SkipReason::KeepPerNoVersion,
        });
    }
}

/// Of `versions` (newest first, each with a key), those that `keep-per` keeps: the N highest
/// semantic versions of each line, releases ranked above pre-releases (a line's `1.2.5` before
/// its `1.2.6-rc.1`), each highest first, ties the newer first; with the line they were kept
/// in, or `None` for a version with no semantic version, which grouping cannot place and so
/// keeps. Shared by `keep-per` and a keep rule's `per`.
pub(crate) fn highest_per_line<K: Copy>(
    versions: &[(K, &PackageVersion)],
    package_type: PackageType,
    n: usize,
    per: KeepPer,
) -> Vec<(K, Option<String>)> {
    let mut kept = Vec::new();
    let mut ranked: Vec<(K, semver::Version)> = Vec::new();
    for (key, version) in versions {
        match semantic_version(version, package_type) {
            Some(semantic) => ranked.push((*key, semantic)),
            None => kept.push((*key, None)),
        }
    }
    // A stable sort keeps equal versions newest first.
    ranked.sort_by(|a, b| (b.1.pre.is_empty(), &b.1).cmp(&(a.1.pre.is_empty(), &a.1)));
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (key, version) in ranked {
        let line = per.line(&version);
        let count = counts.entry(line.clone()).or_insert(0);
        if *count < n {
            *count += 1;
            kept.push((key, Some(line)));
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::{Pattern, Syntax};
    use chrono::TimeZone;

    fn version(id: u64, tags: &[&str]) -> PackageVersion {
        let at = Utc
            .timestamp_opt(1_700_000_000 + id as i64 * 60, 0)
            .unwrap();
        PackageVersion {
            id,
            name: format!("sha256:{id:064x}"),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            created_at: at,
            updated_at: at,
            deleted_at: None,
        }
    }

    /// Version `id` is created `id` minutes after 1_700_000_000; "now" is 100 minutes later.
    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + 100 * 60, 0).unwrap()
    }

    fn patterns(list: &[&str]) -> PatternSet {
        PatternSet::new(
            list.iter()
                .map(|p| Pattern::new(p, Syntax::Glob).unwrap())
                .collect(),
        )
    }

    fn policy() -> Policy {
        Policy {
            package_type: PackageType::Container,
            tags: PatternSet::default(),
            exclude_tags: PatternSet::default(),
            tag_match: TagMatch::All,
            untagged: false,
            version_ids: BTreeSet::new(),
            keep_latest: 0,
            min_versions: 1,
            older_than: None,
            deleted_within: None,
            max_changes: None,
            semver_range: None,
            keep_per: None,
            untag: false,
            rules: None,
            mode: Mode::Delete,
        }
    }

    /// Plan one package and render each selected version as `id:fate`, newest first.
    fn check(versions: Vec<PackageVersion>, policy: &Policy, expected: &[&str]) {
        let listing = PackageListing {
            name: "web".into(),
            versions: versions.into_iter().map(Arc::new).collect(),
        };
        let plan = plan(&[listing], policy, now());
        let got: Vec<String> = plan.packages[0]
            .entries
            .iter()
            .map(|e| match &e.decision {
                Decision::Change => format!("{}:delete", e.version.id),
                Decision::Untag(tags) => format!("{}:untag({})", e.version.id, tags.join(",")),
                Decision::Skip(r) => format!("{}:{}", e.version.id, r.kind()),
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_skip_reasons_kind_is_the_kind_result_serializes() {
        let s = || String::from("x");
        let every = [
            SkipReason::Excluded {
                label: s(),
                pattern: s(),
            },
            SkipReason::PartialTagMatch {
                unmatched: vec![s()],
                rule: None,
            },
            SkipReason::KeptByRule { rule: s() },
            SkipReason::KeepLatest { n: 1 },
            SkipReason::KeepPer {
                per: KeepPer::Minor,
                n: 1,
                line: s(),
            },
            SkipReason::KeepPerNoVersion,
            SkipReason::MinVersions { n: 1 },
            SkipReason::Refused { message: s() },
            SkipReason::RateLimitBudget { resets_at: s() },
            SkipReason::TimeBudget,
            SkipReason::Cancelled,
            SkipReason::UsedBy { image: s() },
            SkipReason::ManifestUnreadable {
                digest: s(),
                error: s(),
            },
            SkipReason::ImageStays {
                image: s(),
                why: s(),
            },
            SkipReason::MayBePartOf {
                image: s(),
                why: s(),
            },
            SkipReason::RestoreExpired,
            SkipReason::PlaceholderImageGone {
                tag: s(),
                image: s(),
            },
            SkipReason::PlaceholderTagMoved {
                tag: s(),
                holder: s(),
            },
            SkipReason::PlaceholderTagInPlace { tag: s() },
            SkipReason::PlaceholderSuperseded { tag: s() },
        ];
        for reason in every {
            let serialized = serde_json::to_value(&reason).unwrap();
            assert_eq!(serialized["kind"], reason.kind(), "{reason:?}");
        }
    }

    fn sample() -> Vec<PackageVersion> {
        vec![
            version(1, &["v1.0.0"]),
            version(2, &["pr-1"]),
            version(3, &["pr-2", "v1.1.0"]),
            version(4, &[]),
            version(5, &["pr-3", "keep"]),
            version(6, &["pr-4"]),
            version(7, &["latest", "v1.2.0"]),
        ]
    }

    #[test]
    fn tag_match_all_skips_partial_matches() {
        let p = Policy {
            tags: patterns(&["pr-*"]),
            ..policy()
        };
        check(
            sample(),
            &p,
            &[
                "6:delete",
                "5:partial-tag-match",
                "3:partial-tag-match",
                "2:delete",
            ],
        );
    }

    #[test]
    fn tag_match_any_takes_one_matching_tag() {
        let p = Policy {
            tags: patterns(&["pr-*"]),
            tag_match: TagMatch::Any,
            ..policy()
        };
        check(
            sample(),
            &p,
            &["6:delete", "5:delete", "3:delete", "2:delete"],
        );
    }

    #[test]
    fn exclude_wins_over_every_selector() {
        let p = Policy {
            tags: patterns(&["pr-*"]),
            tag_match: TagMatch::Any,
            exclude_tags: patterns(&["keep", "v*"]),
            version_ids: [7].into(),
            ..policy()
        };
        check(
            sample(),
            &p,
            &[
                "7:excluded",
                "6:delete",
                "5:excluded",
                "3:excluded",
                "2:delete",
            ],
        );
    }

    #[test]
    fn untagged_and_version_ids_are_ored() {
        let p = Policy {
            untagged: true,
            version_ids: [1, 99].into(),
            ..policy()
        };
        check(sample(), &p, &["4:delete", "1:delete"]);
        let plan = plan(
            &[PackageListing {
                name: "web".into(),
                versions: sample().into_iter().map(Arc::new).collect(),
            }],
            &p,
            now(),
        );
        assert_eq!(plan.missing_ids, [99]);
    }

    #[test]
    fn keep_latest_then_min_versions() {
        let p = Policy {
            tags: patterns(&["*"]),
            keep_latest: 2,
            ..policy()
        };
        check(
            sample(),
            &p,
            &[
                "7:keep-latest",
                "6:keep-latest",
                "5:delete",
                "3:delete",
                "2:delete",
                "1:delete",
            ],
        );
        let p = Policy {
            tags: patterns(&["*"]),
            untagged: true,
            min_versions: 3,
            ..policy()
        };
        check(
            sample(),
            &p,
            &[
                "7:min-versions",
                "6:min-versions",
                "5:min-versions",
                "4:delete",
                "3:delete",
                "2:delete",
                "1:delete",
            ],
        );
    }

    #[test]
    fn the_last_version_is_never_planned_by_default() {
        let p = Policy {
            tags: patterns(&["*"]),
            ..policy()
        };
        check(vec![version(1, &["a"])], &p, &["1:min-versions"]);
    }

    #[test]
    fn non_container_types_match_the_version_name() {
        let mut a = version(1, &[]);
        a.name = "1.0.0-rc.1".into();
        let mut b = version(2, &[]);
        b.name = "1.0.0".into();
        let p = Policy {
            package_type: PackageType::Npm,
            tags: patterns(&["*-rc.*"]),
            ..policy()
        };
        check(vec![a, b], &p, &["1:delete"]);
    }

    #[test]
    fn listing_order_does_not_matter() {
        let p = Policy {
            tags: patterns(&["pr-*"]),
            ..policy()
        };
        let mut reversed = sample();
        reversed.reverse();
        check(
            reversed,
            &p,
            &[
                "6:delete",
                "5:partial-tag-match",
                "3:partial-tag-match",
                "2:delete",
            ],
        );
    }

    #[test]
    fn older_than_filters_selectors_and_selects_alone() {
        // Versions 1..=7 were updated 99..=93 minutes before now.
        let p = Policy {
            older_than: Some(TimeDelta::minutes(95)),
            ..policy()
        };
        check(
            sample(),
            &p,
            &["4:delete", "3:delete", "2:delete", "1:delete"],
        );
        let p = Policy {
            tags: patterns(&["pr-*"]),
            older_than: Some(TimeDelta::minutes(95)),
            ..policy()
        };
        check(sample(), &p, &["3:partial-tag-match", "2:delete"]);
    }

    #[test]
    fn max_changes_is_a_limit_on_the_whole_plan() {
        let p = Policy {
            tags: patterns(&["pr-*"]),
            max_changes: Some(2),
            ..policy()
        };
        let listing = PackageListing {
            name: "web".into(),
            versions: sample().into_iter().map(Arc::new).collect(),
        };
        assert!(!plan(std::slice::from_ref(&listing), &p, now()).exceeds(&p));
        let p = Policy {
            max_changes: Some(1),
            ..p
        };
        assert!(plan(&[listing], &p, now()).exceeds(&p));
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod rule_properties;
mod rules;
