//! Properties of the planner over random packages and policies.

use super::*;
use crate::pattern::{Pattern, Syntax};
use chrono::TimeZone;
use proptest::prelude::*;
use proptest::sample::subsequence;

const TAGS: &[&str] = &["pr-1", "pr-2", "v1", "v2", "latest", "1.0-rc.1", "sha-abc"];
const GLOBS: &[&str] = &["pr-*", "v*", "*", "latest", "*-rc.*", "[pv]*", "sha-???"];

pub(super) fn at(minutes: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + minutes * 60, 0).unwrap()
}

pub(super) fn now() -> DateTime<Utc> {
    at(10_000)
}

prop_compose! {
    fn version()(id in 1u64..5000, created in 0i64..5000, age in 0i64..5000,
                 tags in subsequence(TAGS.to_vec(), 0..3)) -> PackageVersion {
        PackageVersion {
            id,
            name: format!("sha256:{id:064x}"),
            tags: tags.into_iter().map(String::from).collect(),
            created_at: at(created),
            updated_at: at(created + age),
            deleted_at: None,
        }
    }
}

fn globs(max: usize) -> impl Strategy<Value = Vec<&'static str>> {
    subsequence(GLOBS.to_vec(), 0..max)
}

prop_compose! {
    fn policy()(tags in globs(3), exclude in globs(2), any in any::<bool>(), untagged in any::<bool>(),
                ids in proptest::collection::btree_set(1u64..5000, 0..4),
                keep_latest in 0usize..4, min_versions in 0usize..4,
                older_than in proptest::option::of(0i64..8000),
                max_changes in proptest::option::of(0usize..20)) -> Policy {
        let set = |l: Vec<&str>| PatternSet::new(l.into_iter().map(|p| Pattern::new(p, Syntax::Glob).unwrap()).collect());
        Policy {
            package_type: PackageType::Container,
            tags: set(tags),
            exclude_tags: set(exclude),
            tag_match: if any { TagMatch::Any } else { TagMatch::All },
            untagged,
            version_ids: ids,
            keep_latest,
            min_versions,
            older_than: older_than.map(TimeDelta::minutes),
            deleted_within: None,
            mode: Mode::Delete,
            max_changes,
            semver_range: None,
            keep_per: None,
            untag: false,
            rules: None,
        }
    }
}

fn versions() -> impl Strategy<Value = Vec<PackageVersion>> {
    proptest::collection::vec(version(), 0..40).prop_map(|mut v| {
        v.sort_by_key(|v| v.id);
        v.dedup_by_key(|v| v.id);
        v
    })
}

/// The selection rules written the plain way, as the README states them.
fn is_candidate(v: &PackageVersion, p: &Policy) -> bool {
    let old_enough = p.older_than.is_none_or(|d| now() - v.updated_at > d);
    let by_tags = !v.tags.is_empty()
        && match p.tag_match {
            TagMatch::All => v.tags.iter().all(|t| p.tags.is_match(t)),
            TagMatch::Any => v.tags.iter().any(|t| p.tags.is_match(t)),
        };
    let selectors = !p.tags.is_empty() || p.untagged || !p.version_ids.is_empty();
    let selected =
        !selectors || p.version_ids.contains(&v.id) || by_tags || (p.untagged && v.tags.is_empty());
    let excluded = v.tags.iter().any(|t| p.exclude_tags.is_match(t));
    old_enough && selected && !excluded
}

/// The versions in another order: a cheap deterministic shuffle.
pub(super) fn shuffle(versions: &[PackageVersion], seed: u64) -> Vec<PackageVersion> {
    let mut shuffled = versions.to_vec();
    let mut state = seed | 1;
    for i in (1..shuffled.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        shuffled.swap(i, (state % (i as u64 + 1)) as usize);
    }
    shuffled
}

pub(super) fn planned(versions: &[PackageVersion], policy: &Policy) -> Plan {
    plan(
        &[PackageListing {
            name: "web".into(),
            versions: versions.iter().cloned().map(std::sync::Arc::new).collect(),
        }],
        policy,
        now(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn only_candidates_are_planned_and_never_excluded_ones(vs in versions(), p in policy()) {
        let plan = planned(&vs, &p);
        for v in plan.packages[0].changes() {
            prop_assert!(is_candidate(v, &p), "planned a non-candidate {v:?}");
            prop_assert!(!v.tags.iter().any(|t| p.exclude_tags.is_match(t)));
        }
    }

    #[test]
    fn every_candidate_is_planned_unless_kept_by_a_named_rule(vs in versions(), p in policy()) {
        let plan = planned(&vs, &p);
        for v in vs.iter().filter(|v| is_candidate(v, &p)) {
            let entry = plan.packages[0].entries.iter().find(|e| e.version.id == v.id);
            let entry = entry.expect("a candidate is missing from the plan");
            let kept_by_rule = matches!(
                entry.decision,
                Decision::Change | Decision::Skip(SkipReason::KeepLatest { .. } | SkipReason::MinVersions { .. })
            );
            prop_assert!(kept_by_rule, "{:?}", entry.decision);
        }
    }

    #[test]
    fn the_keep_latest_newest_candidates_survive(vs in versions(), p in policy()) {
        let plan = planned(&vs, &p);
        let mut candidates: Vec<&PackageVersion> = vs.iter().filter(|v| is_candidate(v, &p)).collect();
        candidates.sort_by(|a, b| PackageVersion::newer_first(a, b));
        let planned_ids: BTreeSet<u64> = plan.change_ids().into_iter().collect();
        for v in candidates.iter().take(p.keep_latest) {
            prop_assert!(!planned_ids.contains(&v.id));
        }
    }

    #[test]
    fn at_least_min_versions_stay(vs in versions(), p in policy()) {
        let plan = planned(&vs, &p);
        let left = vs.len() - plan.change_count();
        prop_assert!(left >= p.min_versions.min(vs.len()));
    }

    #[test]
    fn a_plan_within_max_changes_is_never_held_and_one_beyond_always_is(vs in versions(), p in policy()) {
        let plan = planned(&vs, &p);
        match p.max_changes {
            Some(max) => prop_assert_eq!(plan.exceeds(&p), plan.change_count() > max),
            None => prop_assert!(!plan.exceeds(&p)),
        }
    }

    #[test]
    fn the_plan_does_not_depend_on_listing_order(vs in versions(), p in policy(), seed in any::<u64>()) {
        prop_assert_eq!(planned(&vs, &p), planned(&shuffle(&vs, seed), &p));
    }
}

/// npm versions named by random semantic versions (some pre-releases, some names without one).
fn npm_versions() -> impl Strategy<Value = Vec<PackageVersion>> {
    let name = (0u64..3, 0u64..4, 0u64..4, 0usize..4).prop_map(|(a, b, c, pre)| match pre {
        0 => format!("{a}.{b}.{c}-rc.1"),
        1 => "nightly".to_string(),
        _ => format!("{a}.{b}.{c}"),
    });
    proptest::collection::vec((1u64..5000, 0i64..5000, name), 0..40).prop_map(|raw| {
        let mut seen = BTreeSet::new();
        raw.into_iter()
            .filter(|(id, _, _)| seen.insert(*id))
            .map(|(id, created, name)| PackageVersion {
                id,
                name,
                tags: Vec::new(),
                created_at: at(created),
                updated_at: at(created),
                deleted_at: None,
            })
            .collect()
    })
}

fn per_line_policy(n: usize, per: KeepPer) -> Policy {
    Policy {
        package_type: PackageType::Npm,
        tags: PatternSet::new(vec![Pattern::new("*", Syntax::Glob).unwrap()]),
        exclude_tags: PatternSet::default(),
        tag_match: TagMatch::All,
        untagged: false,
        version_ids: BTreeSet::new(),
        keep_latest: n,
        min_versions: 0,
        older_than: None,
        deleted_within: None,
        max_changes: None,
        semver_range: None,
        keep_per: Some(per),
        untag: false,
        rules: None,
        mode: Mode::Delete,
    }
}

proptest! {
    /// `keep-per` keeps exactly N of each line (or all of a smaller line), the highest ones —
    /// releases ranked above pre-releases — and every version without a semantic version;
    /// whatever the listing order.
    #[test]
    fn keep_per_keeps_exactly_the_n_highest_of_each_line(
        vs in npm_versions(), n in 1usize..3, minor in any::<bool>(), seed in any::<u64>(),
    ) {
        let per = if minor { KeepPer::Minor } else { KeepPer::Major };
        let policy = per_line_policy(n, per);
        let plan = planned(&vs, &policy);
        let mut lines: std::collections::HashMap<String, Vec<(semver::Version, bool)>> =
            std::collections::HashMap::new();
        for entry in &plan.packages[0].entries {
            match crate::semantic::semantic_version(&entry.version, PackageType::Npm) {
                None => prop_assert_eq!(&entry.decision, &Decision::Skip(SkipReason::KeepPerNoVersion)),
                Some(version) => {
                    let kept = matches!(entry.decision, Decision::Skip(SkipReason::KeepPer { .. }));
                    lines.entry(per.line(&version)).or_default().push((version, kept));
                }
            }
        }
        for (line, members) in &lines {
            // The rank: a release above every pre-release, then precedence.
            let rank = |v: &semver::Version| (v.pre.is_empty(), v.clone());
            let kept: Vec<_> = members.iter().filter(|m| m.1).map(|m| rank(&m.0)).collect();
            prop_assert_eq!(kept.len(), n.min(members.len()), "line {}", line);
            let lowest_kept = kept.iter().min();
            for (version, is_kept) in members {
                if !is_kept {
                    prop_assert!(lowest_kept.is_none_or(|low| rank(version) <= *low), "{} in {}", version, line);
                }
            }
        }
        prop_assert_eq!(planned(&vs, &policy), planned(&shuffle(&vs, seed), &policy));
    }
}
