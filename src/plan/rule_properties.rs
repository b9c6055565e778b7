//! Properties of rule lists over random versions and lists (SPEC §2, "Rule lists"): keep wins,
//! the order of keep rules does not matter, a delete rule deletes only what it matches, and the
//! selection inputs plan what their two-rule list plans.

use super::properties::{at, now, planned, shuffle};
use super::*;
use crate::pattern::{Pattern, Syntax};
use proptest::prelude::*;
use proptest::sample::subsequence;

const TAGS: &[&str] = &[
    "pr-1",
    "pr-2",
    "v1.2.0",
    "v1.3.0-rc.1",
    "v2.0.0",
    "latest",
    "main-a",
    "main-b",
];
const GLOBS: &[&str] = &["pr-*", "v*", "main-*", "latest", "*", "v1.*"];
const RANGES: &[&str] = &["<2.0.0", ">=1.3.0", "^1.2", ">=2.0.0"];

prop_compose! {
    fn version()(id in 1u64..5000, created in 0i64..5000, age in 0i64..5000,
                 tags in subsequence(TAGS.to_vec(), 0..4)) -> PackageVersion {
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

fn versions() -> impl Strategy<Value = Vec<PackageVersion>> {
    proptest::collection::vec(version(), 0..40).prop_map(|mut v| {
        v.sort_by_key(|v| v.id);
        v.dedup_by_key(|v| v.id);
        v
    })
}

fn set(list: Vec<&str>) -> PatternSet {
    PatternSet::new(
        list.into_iter()
            .map(|p| Pattern::new(p, Syntax::Glob).unwrap())
            .collect(),
    )
}

prop_compose! {
    fn conditions()(tags in subsequence(GLOBS.to_vec(), 0..3),
                    exclude in subsequence(GLOBS.to_vec(), 0..2),
                    exclude_on in proptest::bool::weighted(0.2),
                    tag_match in proptest::option::of(any::<bool>()),
                    untagged in any::<bool>(),
                    older in proptest::option::of(0i64..8000),
                    newer in proptest::option::weighted(0.2, 0i64..8000),
                    range in proptest::option::weighted(0.3, 0..RANGES.len()))
                    -> (Conditions, Option<bool>) {
        (Conditions {
            packages: PatternSet::default(),
            tags: set(tags),
            exclude_tags: if exclude_on { set(exclude) } else { PatternSet::default() },
            tag_match: TagMatch::All,
            untagged,
            older_than: older.map(TimeDelta::minutes),
            newer_than: newer.map(TimeDelta::minutes),
            semver_range: range.map(|r| Range::parse(RANGES[r]).unwrap()),
        }, tag_match)
    }
}

prop_compose! {
    fn rule()(when in conditions(), keep in any::<bool>(), newest in proptest::option::of(0usize..4),
              per in proptest::option::weighted(0.3, any::<bool>()), untag in any::<bool>())
              -> Rule {
        let (mut when, tag_match) = when;
        let action = if keep {
            when.tag_match = if tag_match == Some(true) { TagMatch::All } else { TagMatch::Any };
            Action::Keep {
                newest,
                per: newest.and(per).map(|m| if m { KeepPer::Minor } else { KeepPer::Major }),
            }
        } else {
            when.tag_match = if tag_match == Some(false) { TagMatch::Any } else { TagMatch::All };
            if when.tags.is_empty() && !when.untagged && when.older_than.is_none() && when.semver_range.is_none() {
                when.untagged = true;
            }
            Action::Delete { untag: untag && when.tag_match == TagMatch::All }
        };
        Rule { name: String::new(), when, action }
    }
}

fn rule_list() -> impl Strategy<Value = RuleList> {
    proptest::collection::vec(rule(), 1..7).prop_map(|rules| RuleList {
        rules: rules
            .into_iter()
            .enumerate()
            .map(|(i, rule)| Rule {
                name: format!("r{}", i + 1),
                ..rule
            })
            .collect(),
    })
}

fn policy_with(rules: RuleList, min_versions: usize) -> Policy {
    Policy {
        package_type: PackageType::Container,
        mode: Mode::Delete,
        tags: PatternSet::default(),
        exclude_tags: PatternSet::default(),
        tag_match: TagMatch::All,
        untagged: false,
        version_ids: BTreeSet::new(),
        keep_latest: 0,
        min_versions,
        older_than: None,
        deleted_within: None,
        max_changes: None,
        semver_range: None,
        keep_per: None,
        untag: false,
        rules: Some(rules),
    }
}

/// How a rule matches a version, written the plain way: `Some(true)` whole, `Some(false)` in
/// part (`tag-match: all`, some tags outside), `None` not at all.
fn matches(c: &Conditions, v: &PackageVersion) -> Option<bool> {
    let age = now() - v.updated_at;
    let filtered = c.older_than.is_some_and(|d| age <= d)
        || c.newer_than.is_some_and(|d| age >= d)
        || c.semver_range.as_ref().is_some_and(|r| {
            !crate::semantic::semantic_version(v, PackageType::Container)
                .is_some_and(|s| r.contains(&s))
        })
        || v.tags.iter().any(|t| c.exclude_tags.is_match(t));
    if filtered {
        return None;
    }
    if c.tags.is_empty() && !c.untagged {
        return Some(true);
    }
    if c.untagged && v.tags.is_empty() {
        return Some(true);
    }
    let hits = v.tags.iter().filter(|t| c.tags.is_match(t)).count();
    match hits {
        0 => None,
        n if n == v.tags.len() || c.tag_match == TagMatch::Any => Some(true),
        _ => Some(false),
    }
}

/// The versions each keep rule keeps, the plain way: its whole matches, the `newest` N of them,
/// or with `per` the N highest releases (then pre-releases) of each line and those with no
/// semantic version.
fn kept_by(rule: &Rule, vs: &[PackageVersion]) -> BTreeSet<u64> {
    let Action::Keep { newest, per } = rule.action else {
        return BTreeSet::new();
    };
    let mut m: Vec<&PackageVersion> = vs
        .iter()
        .filter(|v| matches(&rule.when, v) == Some(true))
        .collect();
    m.sort_by(|a, b| PackageVersion::newer_first(a, b));
    match (newest, per) {
        (None, _) => m.iter().map(|v| v.id).collect(),
        (Some(n), None) => m.iter().take(n).map(|v| v.id).collect(),
        (Some(n), Some(per)) => {
            let mut lines: BTreeMap<String, Vec<(bool, semver::Version, &PackageVersion)>> =
                BTreeMap::new();
            let mut kept = BTreeSet::new();
            for v in m {
                match crate::semantic::semantic_version(v, PackageType::Container) {
                    None => {
                        kept.insert(v.id);
                    }
                    Some(s) => {
                        lines
                            .entry(per.line(&s))
                            .or_default()
                            .push((s.pre.is_empty(), s, v))
                    }
                }
            }
            for members in lines.values_mut() {
                // Highest first; equal versions newest first.
                members.sort_by(|a, b| {
                    (b.0, &b.1)
                        .cmp(&(a.0, &a.1))
                        .then(PackageVersion::newer_first(a.2, b.2))
                });
                kept.extend(members.iter().take(n).map(|m| m.2.id));
            }
            kept
        }
    }
}

/// A plan's fates with the keeping rule's name left out: which keep rule is named may follow
/// the list's order, what happens may not.
fn fates(plan: &Plan) -> Vec<(u64, String, Option<String>)> {
    plan.packages[0]
        .entries
        .iter()
        .map(|e| match &e.decision {
            Decision::Skip(SkipReason::KeptByRule { .. }) => (e.version.id, "kept".into(), None),
            other => (e.version.id, format!("{other:?}"), e.rule.clone()),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn keep_wins_and_a_kept_version_keeps_its_kept_tags_and_one_more(vs in versions(), rules in rule_list(), min in 0usize..3) {
        let plan = planned(&vs, &policy_with(rules.clone(), min));
        for entry in &plan.packages[0].entries {
            let keepers: Vec<&Rule> = rules.rules.iter().filter(|r| kept_by(r, &vs).contains(&entry.version.id)).collect();
            if keepers.is_empty() {
                continue;
            }
            prop_assert!(entry.decision != Decision::Change, "deleted a kept version: {:?}", entry);
            if let Decision::Untag(tags) = &entry.decision {
                prop_assert!(tags.len() < entry.version.tags.len(), "took every tag: {:?}", entry);
                for tag in tags {
                    prop_assert!(!keepers.iter().any(|k| k.when.tags.is_match(tag)), "took kept tag {}: {:?}", tag, entry);
                }
            }
        }
        // And the ids container safety must never take as parts.
        let all_kept: BTreeSet<u64> = rules.rules.iter().flat_map(|r| kept_by(r, &vs)).collect();
        prop_assert_eq!(&plan.packages[0].rules.kept, &all_kept);
    }

    #[test]
    fn a_delete_rule_changes_only_what_it_matches(vs in versions(), rules in rule_list()) {
        let plan = planned(&vs, &policy_with(rules.clone(), 0));
        for entry in &plan.packages[0].entries {
            let rule = rules.rules.iter().find(|r| Some(&r.name) == entry.rule.as_ref());
            let rule = rule.expect("every entry names its rule");
            let matched = matches(&rule.when, &entry.version);
            match &entry.decision {
                Decision::Change => {
                    let deletes = matches!(rule.action, Action::Delete { .. });
                    prop_assert!(deletes, "{:?}", rule);
                    prop_assert_eq!(matched, Some(true), "{:?}", entry);
                    // The first delete rule that matches whole decides.
                    let first = rules.rules.iter().find(|r| {
                        matches!(r.action, Action::Delete { untag } if matches(&r.when, &entry.version) == Some(true)
                            || (untag && matches(&r.when, &entry.version) == Some(false)))
                    });
                    prop_assert_eq!(first.map(|r| &r.name), Some(&rule.name));
                }
                Decision::Untag(tags) => {
                    prop_assert_eq!(rule.action, Action::Delete { untag: true });
                    prop_assert!(matched.is_some(), "{:?}", entry);
                    prop_assert!(tags.iter().all(|t| rule.when.tags.is_match(t)));
                    prop_assert!(tags.len() < entry.version.tags.len());
                }
                Decision::Skip(_) => {}
            }
        }
    }

    #[test]
    fn the_plan_does_not_depend_on_the_order_of_keep_rules(vs in versions(), rules in rule_list(), seed in any::<u64>(), min in 0usize..3) {
        // The keep rules moved to the front in another order; delete rules keep theirs.
        let (keeps, deletes): (Vec<Rule>, Vec<Rule>) = rules.rules.iter().cloned()
            .partition(|r| matches!(r.action, Action::Keep { .. }));
        let mut order: Vec<usize> = (0..keeps.len()).collect();
        let mut state = seed | 1;
        for i in (1..order.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let moved = RuleList { rules: order.into_iter().map(|i| keeps[i].clone()).chain(deletes).collect() };
        let a = planned(&vs, &policy_with(rules, min));
        let b = planned(&vs, &policy_with(moved, min));
        prop_assert_eq!(fates(&a), fates(&b));
        prop_assert_eq!(&a.packages[0].rules.kept, &b.packages[0].rules.kept);
    }

    #[test]
    fn rule_lists_do_not_depend_on_listing_order(vs in versions(), rules in rule_list(), seed in any::<u64>()) {
        let p = policy_with(rules, 1);
        prop_assert_eq!(planned(&vs, &p), planned(&shuffle(&vs, seed), &p));
    }

    /// SPEC §2, "Equivalence": the selection inputs plan what `[{keep: {…, newest: N}},
    /// {delete: {…}}]` plans — same versions, same fates.
    #[test]
    fn the_inputs_plan_what_their_two_rule_list_plans(
        vs in versions(), when in conditions(), any_tag in any::<bool>(), keep_latest in 0usize..4,
        per in proptest::option::weighted(0.3, any::<bool>()), min in 0usize..3,
    ) {
        let (mut when, _) = when;
        when.tag_match = if any_tag { TagMatch::Any } else { TagMatch::All };
        when.newer_than = None;
        when.exclude_tags = PatternSet::default();
        let keep_per = per.filter(|_| keep_latest > 0).map(|m| if m { KeepPer::Minor } else { KeepPer::Major });
        let inputs = Policy {
            tags: when.tags.clone(),
            tag_match: when.tag_match,
            untagged: when.untagged,
            older_than: when.older_than,
            semver_range: when.semver_range.clone(),
            keep_latest,
            keep_per,
            rules: None,
            ..policy_with(RuleList::default(), min)
        };
        let list = RuleList { rules: vec![
            Rule { name: "keep".into(), when: when.clone(), action: Action::Keep { newest: Some(keep_latest), per: keep_per } },
            Rule { name: "delete".into(), when, action: Action::Delete { untag: false } },
        ]};
        let kind = |plan: &Plan| -> Vec<(u64, &'static str)> {
            plan.packages[0].entries.iter().map(|e| (e.version.id, match e.decision {
                Decision::Change => "change",
                Decision::Untag(_) => "untag",
                Decision::Skip(_) => "skip",
            })).collect()
        };
        let a = planned(&vs, &inputs);
        let b = planned(&vs, &policy_with(list, min));
        prop_assert_eq!(kind(&a), kind(&b));
        prop_assert_eq!(a.change_ids(), b.change_ids());
    }
}
