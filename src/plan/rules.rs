//! Rule lists (`rules`, `rules-file`; SPEC §2 "Rule lists"): a retention policy as one list of
//! keep and delete rules, evaluated per package as a pure function of (versions, rules, now).
//!
//! # The precedence, in five lines
//! 1. Each rule matches versions as the inputs would ([`super::select`]); a version with a tag
//!    matching its `exclude-tags` is not matched. Keep rules' tags match on **any** tag, delete
//!    rules' on **all** of them, unless a rule says otherwise with `tag-match`.
//! 2. A keep rule keeps its matches, or with `newest: N` the N newest of them in the package
//!    (with `per`, the N highest of each release line, as `keep-per` ranks them).
//! 3. **Keep wins**: a version any keep rule keeps is never deleted.
//! 4. Of the delete rules, the **first** that matches a version whole — or partly with
//!    `untag: true` — decides: delete, or take the matching tags off. A partial match without
//!    `untag` decides nothing; if nothing else decides, the version is skipped naming the rule.
//! 5. A kept version may still lose tags to an `untag` rule, never a tag by which a keep rule
//!    kept it, and never its last tag. Then `min-versions`, container safety, the budget and
//!    `max-changes` act on the whole plan as they do for the inputs.

use super::{
    highest_per_line, select, Decision, Entry, Matcher, RulesInPackage, Selection, SkipReason,
    TagMatch,
};
use crate::model::{PackageType, PackageVersion};
use crate::pattern::PatternSet;
use crate::semantic::{KeepPer, Range};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A validated rule list, in the order it was written.
#[derive(Debug, Clone, Default)]
pub struct RuleList {
    pub rules: Vec<Rule>,
}

impl RuleList {
    /// Whether some delete rule takes tags off images (`untag: true`).
    pub fn untags(&self) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(r.action, Action::Delete { untag: true }))
    }
}

/// One rule: its name, what it matches and what it does with its matches.
#[derive(Debug, Clone)]
pub struct Rule {
    /// As written, or `rule N` (N counted from 1).
    pub name: String,
    pub when: Conditions,
    pub action: Action,
}

/// What a rule does with the versions it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Keep them all, or the `newest` N in each package (with `per`, of each release line).
    Keep {
        newest: Option<usize>,
        per: Option<KeepPer>,
    },
    /// Delete them; with `untag`, a partly matching image loses just the matching tags.
    Delete { untag: bool },
}

/// What a rule matches, written as the inputs are (SPEC §2).
#[derive(Debug, Clone)]
pub struct Conditions {
    /// The step's packages this rule applies to; empty: all of them.
    pub packages: PatternSet,
    pub tags: PatternSet,
    pub exclude_tags: PatternSet,
    pub tag_match: TagMatch,
    pub untagged: bool,
    /// Only versions updated longer ago than this.
    pub older_than: Option<TimeDelta>,
    /// Only versions updated more recently than this.
    pub newer_than: Option<TimeDelta>,
    pub semver_range: Option<Range>,
}

impl Conditions {
    /// Whether the rule applies to this package: `packages` unset, a pattern matching the
    /// name, or an exact name (package names compare case-insensitively, SPEC §2).
    pub fn applies_to(&self, package: &str) -> bool {
        self.packages.is_empty()
            || self
                .packages
                .patterns()
                .iter()
                .any(|p| p.is_match(package) || p.as_str().eq_ignore_ascii_case(package))
    }

    fn matcher<'a>(&'a self, package_type: PackageType, no_ids: &'a BTreeSet<u64>) -> Matcher<'a> {
        Matcher {
            package_type,
            tags: &self.tags,
            tag_match: self.tag_match,
            untagged: self.untagged,
            version_ids: no_ids,
            older_than: self.older_than,
            newer_than: self.newer_than,
            deleted_within: None,
            semver_range: self.semver_range.as_ref(),
        }
    }
}

/// What one rule did in one package: the versions it matched, and (a keep rule) kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTally {
    pub rule: String,
    pub matched: usize,
    pub kept: usize,
}

/// How one rule matches one version. One byte: a rule list asks every rule about every
/// version, so a 20-rule list over 100,000 versions keeps 2 MB of these, not 50.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hit {
    None,
    /// Every tag (or one, under `tag-match: any`), or a selector without tags.
    Whole,
    /// `tag-match: all` and some tags are outside the rule's `tags`.
    Partial,
}

fn hit(
    version: &PackageVersion,
    when: &Conditions,
    package_type: PackageType,
    now: DateTime<Utc>,
) -> Hit {
    let no_ids = BTreeSet::new();
    let hit = match select(version, &when.matcher(package_type, &no_ids), now) {
        Selection::NotSelected => return Hit::None,
        Selection::Selected => Hit::Whole,
        Selection::Partial(_) => Hit::Partial,
    };
    let excluded = version
        .labels(package_type)
        .any(|label| when.exclude_tags.is_match(label));
    match excluded {
        true => Hit::None,
        false => hit,
    }
}

/// Whether a delete rule of `list` that applies to `package` matches `version`, whole or in
/// part (before any keep rule weighs it).
pub(super) fn may_delete(
    list: &RuleList,
    package: &str,
    version: &PackageVersion,
    package_type: PackageType,
    now: DateTime<Utc>,
) -> bool {
    list.rules.iter().any(|rule| {
        matches!(rule.action, Action::Delete { .. })
            && rule.when.applies_to(package)
            && hit(version, &rule.when, package_type, now) != Hit::None
    })
}

/// Why a version is kept: the first keep rule (in list order) that keeps it, and every tag a
/// keeping rule's `tags` matched — tags an `untag` rule may not take.
#[derive(Default)]
struct Kept {
    by: Option<usize>,
    protected: BTreeSet<String>,
}

/// Evaluate the rules that apply to `package` over its versions (newest first, one each):
/// the entries of the plan, newest first, and what the rules did. `min-versions` is left to
/// the caller, as for the inputs.
pub(super) fn plan_package(
    package: &str,
    versions: &[&Arc<PackageVersion>],
    list: &RuleList,
    package_type: PackageType,
    now: DateTime<Utc>,
) -> (Vec<Entry>, RulesInPackage) {
    let rules: Vec<&Rule> = list
        .rules
        .iter()
        .filter(|r| r.when.applies_to(package))
        .collect();
    // hits[r][v]: how rule r matches version v.
    let hits: Vec<Vec<Hit>> = rules
        .iter()
        .map(|rule| {
            versions
                .iter()
                .map(|v| hit(v, &rule.when, package_type, now))
                .collect()
        })
        .collect();
    let mut tallies: Vec<RuleTally> = rules
        .iter()
        .zip(&hits)
        .map(|(rule, hits)| RuleTally {
            rule: rule.name.clone(),
            // A keep rule's partial match (its own `tag-match: all`) keeps nothing.
            matched: hits
                .iter()
                .filter(|h| match rule.action {
                    Action::Keep { .. } => **h == Hit::Whole,
                    Action::Delete { .. } => **h != Hit::None,
                })
                .count(),
            kept: 0,
        })
        .collect();
    let kept = keep(&rules, &hits, versions, package_type, &mut tallies);
    let entries = versions
        .iter()
        .enumerate()
        .filter_map(|(v, version)| decide(&rules, &hits, v, version, &kept[v], package_type))
        .collect();
    let kept = versions
        .iter()
        .zip(&kept)
        .filter(|(_, kept)| kept.by.is_some())
        .map(|(version, _)| version.id)
        .collect();
    (entries, RulesInPackage { tallies, kept })
}

/// Steps 2 and 3: what each keep rule keeps, counted over its own matches in this package.
fn keep(
    rules: &[&Rule],
    hits: &[Vec<Hit>],
    versions: &[&Arc<PackageVersion>],
    package_type: PackageType,
    tallies: &mut [RuleTally],
) -> Vec<Kept> {
    let mut kept: Vec<Kept> = versions.iter().map(|_| Kept::default()).collect();
    for (r, rule) in rules.iter().enumerate() {
        let Action::Keep { newest, per } = rule.action else {
            continue;
        };
        // Versions come newest first, so a rule's matches do too.
        let matches: Vec<(usize, &PackageVersion)> = (0..versions.len())
            .filter(|v| hits[r][*v] == Hit::Whole)
            .map(|v| (v, &**versions[v]))
            .collect();
        let keeps: Vec<usize> = match (newest, per) {
            (None, _) => matches.iter().map(|(v, _)| *v).collect(),
            (Some(n), None) => matches.iter().take(n).map(|(v, _)| *v).collect(),
            (Some(n), Some(per)) => highest_per_line(&matches, package_type, n, per)
                .into_iter()
                .map(|(v, _)| v)
                .collect(),
        };
        tallies[r].kept = keeps.len();
        for v in keeps {
            let version = versions[v];
            kept[v].by.get_or_insert(r);
            kept[v].protected.extend(
                version
                    .labels(package_type)
                    .filter(|label| rule.when.tags.is_match(label))
                    .map(str::to_string),
            );
        }
    }
    kept
}

/// Step 4's scan of the delete rules, in list order, for version `v`: the first that matches
/// it whole, or partly with `untag` (with whether it untags), and the first that matched it
/// only partly before that (the reason a version nothing decided is skipped).
fn first_delete_rule(
    rules: &[&Rule],
    hits: &[Vec<Hit>],
    v: usize,
) -> (Option<(usize, bool)>, Option<usize>) {
    let mut partial: Option<usize> = None;
    for (r, rule) in rules.iter().enumerate() {
        let Action::Delete { untag } = rule.action else {
            continue;
        };
        match hits[r][v] {
            Hit::None => {}
            Hit::Whole => return (Some((r, untag)), partial),
            Hit::Partial if untag => return (Some((r, true)), partial),
            Hit::Partial => {
                partial.get_or_insert(r);
            }
        }
    }
    (None, partial)
}

/// Steps 4 and 5 for one version: its entry, or `None` when no delete rule matched it (then
/// it is not part of the plan, kept or not).
fn decide(
    rules: &[&Rule],
    hits: &[Vec<Hit>],
    v: usize,
    version: &Arc<PackageVersion>,
    kept: &Kept,
    package_type: PackageType,
) -> Option<Entry> {
    let (decider, partial) = first_delete_rule(rules, hits, v);
    let entry = |decision: Decision, r: usize| Entry {
        version: version.clone(),
        decision,
        note: None,
        rule: Some(rules[r].name.clone()),
    };
    // The tags rule `r` takes off, sparing `protected`: when some go and some stay.
    let untag_tags = |r: usize, protected: &BTreeSet<String>| -> Option<Vec<String>> {
        let (gone, stay): (Vec<&String>, Vec<&String>) = version
            .tags
            .iter()
            .partition(|t| rules[r].when.tags.is_match(t) && !protected.contains(t.as_str()));
        (!gone.is_empty() && !stay.is_empty()).then(|| gone.into_iter().cloned().collect())
    };
    let partly = |r: usize| {
        let unmatched = version
            .labels(package_type)
            .filter(|label| !rules[r].when.tags.is_match(label))
            .map(str::to_string)
            .collect();
        entry(
            Decision::Skip(SkipReason::PartialTagMatch {
                unmatched,
                rule: Some(rules[r].name.clone()),
            }),
            r,
        )
    };
    if let Some(keeper) = kept.by {
        // Keep wins; an `untag` rule may still take the tags no keep rule kept it by, never
        // the last one.
        if decider.is_none() && partial.is_none() {
            return None;
        }
        let untagged = decider
            .filter(|(_, untag)| *untag && package_type.has_tags())
            .and_then(|(r, _)| untag_tags(r, &kept.protected).map(|tags| (r, tags)));
        return Some(match untagged {
            Some((r, tags)) => entry(Decision::Untag(tags), r),
            None => entry(
                Decision::Skip(SkipReason::KeptByRule {
                    rule: rules[keeper].name.clone(),
                }),
                keeper,
            ),
        });
    }
    match (decider, partial) {
        (Some((r, _)), _) if hits[r][v] == Hit::Whole => Some(entry(Decision::Change, r)),
        // A partial match with `untag`: the matching tags go, the others stay.
        (Some((r, _)), _) => Some(match untag_tags(r, &BTreeSet::new()) {
            Some(tags) => entry(Decision::Untag(tags), r),
            None => partly(r),
        }),
        (None, Some(r)) => Some(partly(r)),
        (None, None) => None,
    }
}

/// The rules that matched nothing in any package (a typo in a pattern is the usual cause).
pub fn unmatched_rules<'a>(list: &'a RuleList, packages: &[super::PackagePlan]) -> Vec<&'a str> {
    let matched: BTreeMap<&str, usize> =
        packages
            .iter()
            .flat_map(|p| &p.rules.tallies)
            .fold(BTreeMap::new(), |mut sum, tally| {
                *sum.entry(tally.rule.as_str()).or_default() += tally.matched;
                sum
            });
    list.rules
        .iter()
        .map(|r| r.name.as_str())
        .filter(|name| matched.get(name).copied().unwrap_or(0) == 0)
        .collect()
}
