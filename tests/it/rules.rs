//! Rule lists (issue 24, SPEC §2 "Rule lists"): a whole retention policy in one step, through
//! the binary, the emulator's final state, its request log and the outputs.

use crate::util::*;
use gh_emulator::scenario::{PackageSpec, PackageType, VersionSpec};
use gh_emulator::Emulator;
use std::collections::BTreeMap;

const PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64"];

/// A service's policy: releases kept, the two newest `main-*` builds kept and older ones
/// deleted, previews deleted after two weeks (or just untagged where a release tag stays),
/// old untagged manifests deleted.
const POLICY: &str = "\
- name: releases
  keep: {tags: \"v*, latest\"}
- name: recent main
  keep: {tags: \"main-*\", newest: 2}
- name: old main
  delete: {tags: \"main-*\"}
- name: stale previews
  delete: {tags: \"pr-*\", older-than: 14d, untag: true}
- name: orphans
  delete: {untagged: true, older-than: 7d}
";

fn web() -> PackageSpec {
    PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web")
}

/// Multi-arch images (index `N00`, platform images and attestations `N01`–`N04`), all months
/// old but one preview pushed yesterday.
fn service() -> Emulator {
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    let package = web()
        .multi_arch(100, &["v1.0.0"], PLATFORMS, true, at(0))
        .multi_arch(200, &["main-1"], PLATFORMS, true, at(10))
        .multi_arch(300, &["main-2"], PLATFORMS, true, at(20))
        .multi_arch(400, &["main-3"], PLATFORMS, true, at(30))
        .multi_arch(500, &["pr-7"], PLATFORMS, true, at(40))
        .multi_arch(600, &["pr-8", "v1.1.0"], PLATFORMS, true, at(50))
        .version(VersionSpec::image(700, &["pr-9"], yesterday))
        .version(VersionSpec::image(800, &[], at(60)));
    Emulator::start(base().package(package)).unwrap()
}

/// Active versions of acme's web, by id, with their tags.
fn active(emulator: &Emulator, name: &str) -> BTreeMap<u64, Vec<String>> {
    let package = emulator
        .package("acme", PackageType::Container, name)
        .unwrap();
    package
        .versions
        .iter()
        .filter(|v| v.deleted_at.is_none())
        .map(|v| (v.id, v.tags.clone()))
        .collect()
}

fn tree(index: u64) -> Vec<u64> {
    (index..=index + 4).collect()
}

/// Each entry of `result` for one package, `id -> (list, rule, reason)`.
fn entries(run: &Run, package: &str) -> BTreeMap<u64, (String, String, String)> {
    let result = run.result();
    let package = result["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == package)
        .unwrap()
        .clone();
    let mut entries = BTreeMap::new();
    for list in [
        "changed", "skipped", "untagged", "planned", "untag", "failed",
    ] {
        for entry in package[list].as_array().unwrap() {
            entries
                .entry(entry["id"].as_u64().unwrap())
                .or_insert_with(|| {
                    (
                        list.to_string(),
                        entry["rule"].as_str().unwrap_or("").to_string(),
                        entry["reason"].as_str().unwrap_or("").to_string(),
                    )
                });
        }
    }
    entries
}

#[test]
fn a_whole_policy_on_a_multi_arch_package_keeps_what_it_says_and_a_second_run_changes_nothing() {
    let emulator = service();
    let run = janitor(&emulator, &acme(&[("rules", POLICY)]));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    // Deleted: the oldest main build and the stale preview, each with its platform images and
    // attestations after it; the old untagged orphan.
    let mut deleted: Vec<u64> = [tree(200), tree(500), vec![800]].concat();
    deleted.sort_unstable();
    assert_eq!(run.ids("deleted-ids"), deleted);
    // The preview that is also a release loses only its preview tag.
    assert_eq!(run.output("removed-tags-count"), "1");
    assert!(run.output("removed-tags").starts_with("pr-8@"));
    let left = active(&emulator, "web");
    let mut kept: Vec<u64> = [tree(100), tree(300), tree(400), tree(600), vec![700]].concat();
    kept.sort_unstable();
    assert_eq!(left.keys().copied().collect::<Vec<_>>(), kept);
    assert_eq!(left[&600], ["v1.1.0"]);
    // Every tag left pulls whole: the platform images of kept indexes stayed although the
    // orphans rule matched them.
    for tag in ["v1.0.0", "main-2", "main-3", "v1.1.0", "pr-9"] {
        assert!(crate::images::resolves(&emulator, tag), "{tag} is broken");
    }

    // Every fate names its rule.
    let fates = entries(&run, "web");
    assert_eq!(
        fates[&200],
        ("changed".into(), "old main".into(), String::new())
    );
    // A platform image is old and untagged: the orphans rule matched it itself.
    assert_eq!(fates[&201].1, "orphans");
    assert_eq!(fates[&500].1, "stale previews");
    assert_eq!(fates[&800].1, "orphans");
    assert_eq!(
        fates[&300],
        (
            "skipped".into(),
            "recent main".into(),
            "kept by rule recent main".into()
        )
    );
    assert_eq!(fates[&600].0, "untagged");
    assert_eq!(fates[&600].1, "stale previews");
    assert_eq!(fates[&101].1, "orphans");
    assert!(
        fates[&101].2.starts_with("used by v1.0.0"),
        "{:?}",
        fates[&101]
    );
    // Versions no delete rule matched are not part of the plan.
    assert!(!fates.contains_key(&100) && !fates.contains_key(&700));
    assert!(
        run.stdout.contains("deleted by rule old main"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("kept by rule recent main"),
        "{}",
        run.stdout
    );

    // The summary's table: one row per rule.
    assert!(run.summary.contains("### Rules"), "{}", run.summary);
    for row in [
        "| releases | web | 2 | 2 | 0 | 0 |",
        "| recent main | web | 3 | 2 | 0 | 0 |",
        // The indexes by their own rules; their old untagged parts by the orphans rule, which
        // matched them too (and the 25 it matched are every old untagged version).
        "| old main | web | 3 | 0 | 1 | 0 |",
        "| stale previews | web | 2 | 0 | 1 | 1 |",
        "| orphans | web | 25 | 0 | 9 | 0 |",
    ] {
        assert!(run.summary.contains(row), "{row} in\n{}", run.summary);
    }

    // One listing, one read of each manifest, one mutation at a time.
    let requests = emulator.requests();
    // (An untag lists again after its push, to find the placeholder: that is the change's.)
    let first_change = requests
        .iter()
        .position(|r| r.method == "DELETE" || r.method == "PUT")
        .unwrap();
    let listings = requests[..first_change]
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/packages/container/web/versions"))
        .count();
    assert_eq!(listings, 1);
    // (A HEAD looks, a GET reads an index: each at most once per manifest.)
    let mut reads: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in requests
        .iter()
        .filter(|r| r.registry && r.path.contains("/manifests/sha256:"))
        .filter(|r| r.method == "GET" || r.method == "HEAD")
    {
        *reads
            .entry((r.method.as_str(), r.path.as_str()))
            .or_default() += 1;
    }
    assert!(reads.values().all(|n| *n == 1), "{reads:?}");
    assert_eq!(emulator.state().max_mutations_in_flight, 1);

    // The second run finds nothing to do.
    let before = emulator.requests().len();
    let again = janitor(&emulator, &acme(&[("rules", POLICY)]));
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert_eq!(again.output("deleted-count"), "0");
    assert_eq!(again.output("removed-tags-count"), "0");
    let mutations = emulator.requests()[before..]
        .iter()
        .filter(|r| r.method == "DELETE" || r.method == "PUT" || r.method == "POST")
        .count();
    assert_eq!(mutations, 0);
    assert_eq!(active(&emulator, "web"), left);
}

#[test]
fn a_dry_run_plans_the_same_and_changes_nothing() {
    let emulator = service();
    let run = janitor(&emulator, &acme(&[("rules", POLICY), ("dry-run", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let mut planned: Vec<u64> = [tree(200), tree(500), vec![600, 800]].concat();
    planned.sort_unstable();
    assert_eq!(run.ids("planned-ids"), planned);
    assert!(run
        .summary
        .contains("| rule | package | matched | kept | to delete | tags to remove |"));
    assert!(run
        .summary
        .contains("| stale previews | web | 2 | 0 | 1 | 1 |"));
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
}

#[test]
fn packages_narrow_a_rule_and_a_rule_that_matched_nothing_gets_a_notice() {
    let api = PackageSpec::new("acme", PackageType::Container, "api", 7002)
        .repository("acme/web")
        .version(VersionSpec::image(10, &["dev-1"], at(0)))
        .version(VersionSpec::image(11, &["pr-1"], at(1)))
        .version(VersionSpec::image(12, &["v1"], at(2)));
    let web = web()
        .version(VersionSpec::image(20, &["dev-1"], at(0)))
        .version(VersionSpec::image(21, &["pr-1"], at(1)))
        .version(VersionSpec::image(22, &["v1"], at(2)));
    let emulator = Emulator::start(base().package(api).package(web)).unwrap();
    let rules = "\
- name: previews
  delete: {tags: pr-*}
- name: api dev builds
  delete: {packages: api, tags: dev-*}
- name: typo
  delete: {tags: \"nightly-*\"}
";
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", "web, api"),
            ("rules", rules),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [10, 11, 21]);
    assert_eq!(
        active(&emulator, "web").keys().copied().collect::<Vec<_>>(),
        [20, 22]
    );
    assert!(
        run.stdout
            .contains("rule 'typo' matched no version of the 2 packages"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("::notice"), "{}", run.stdout);
    assert!(!run.stdout.contains("rule 'previews' matched no"));
    assert!(run
        .summary
        .contains("| api dev builds | api | 1 | 0 | 1 | 0 |"));
    assert!(!run.summary.contains("| api dev builds | web |"));
}

#[test]
fn a_rules_file_from_the_workspace() {
    let package = PackageSpec::new("acme", PackageType::Npm, "ui", 7003)
        .repository("acme/web")
        .version(VersionSpec::new(1, "1.0.0", at(0)))
        .version(VersionSpec::new(2, "1.0.1", at(1)))
        .version(VersionSpec::new(3, "1.1.0", at(2)))
        .version(VersionSpec::new(4, "1.1.1-rc.1", at(3)))
        .version(VersionSpec::new(5, "1.1.1", at(4)));
    let emulator = Emulator::start(base().package(package)).unwrap();
    // An npm library: the newest patch of each minor line kept, everything else deleted.
    let (mut command, dir) = janitor_command(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", "ui"),
            ("package-type", "npm"),
            ("rules-file", ".github/janitor.yml"),
        ],
    );
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::write(
        dir.path().join(".github/janitor.yml"),
        "- name: newest patch of each minor\n  keep: {newest: 1, per: minor}\n- name: the rest\n  \
         delete: {semver-range: \">=0.0.0\"}\n",
    )
    .unwrap();
    command.env("GITHUB_WORKSPACE", dir.path());
    let run = finished(&command.output().unwrap(), &dir);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.ids("deleted-ids"), [1, 3, 4]);
    assert!(run
        .stdout
        .contains("kept by rule newest patch of each minor"));
}

/// Inputs, and words the refusal must say.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

/// Every bad list stops the run before its first request, naming the rule and the key.
#[test]
fn every_bad_list_is_an_input_error_before_any_request() {
    let emulator = Emulator::start(base().package(web())).unwrap();
    let cases: &[Case] = &[
        (
            &[("rules", "- keep: {tags: x")],
            &["is not valid YAML", "line 2"],
        ),
        (&[("rules", "keep: {}")], &["must be a YAML list of rules"]),
        (
            &[("rules", "- just a string")],
            &["rule 1 (line 1, column 3)", "mapping"],
        ),
        (
            &[("rules", "- name: a\n  delete: {tags: x, older_than: 14d}")],
            &["rule 'a'", "older_than", "did you mean `older-than`?"],
        ),
        (
            &[("rules", "- delete: {tags: x, newest: 2}")],
            &["`newest`", "belongs in a keep rule"],
        ),
        (
            &[("rules", "- name: x\n  keep: {}\n  delete: {tags: y}")],
            &["rule 'x'", "exactly one of `keep` and `delete`"],
        ),
        (&[("rules", "- name: x")], &["neither `keep` nor `delete`"]),
        (
            &[("rules", "- name: x\n  keep: {}\n- name: x\n  keep: {}")],
            &["line 3", "unique"],
        ),
        (
            &[("rules", "- delete: {exclude-tags: v*}")],
            &["selects nothing"],
        ),
        (
            &[("rules", "- keep: {per: major}")],
            &["`per`", "needs `newest`"],
        ),
        (
            &[("rules", "- delete: {older-than: 2m}")],
            &["`older-than`", "(value: '2m')"],
        ),
        (
            &[("rules", "- a: &x {keep: {}}\n- b: *x")],
            &["anchor or alias", "line 1"],
        ),
        (
            &[("rules", "- delete: {tags: x}"), ("tags", "pr-*")],
            &["input 'tags'", "conflicts with `rules`"],
        ),
        (
            &[("rules", "- delete: {tags: x}"), ("mode", "restore")],
            &["input 'mode'", "conflicts with `rules`"],
        ),
        (
            &[("rules", "- delete: {tags: x}"), ("target", "packages")],
            &["input 'target'", "conflicts with `rules`"],
        ),
        (
            &[("rules", "- delete: {tags: x}"), ("rules-file", "j.yml")],
            &["input 'rules-file'", "conflicts with `rules`"],
        ),
        (
            &[("rules-file", "/etc/passwd")],
            &["input 'rules-file'", "absolute path"],
        ),
        (
            &[("rules-file", "../../etc/passwd")],
            &["input 'rules-file'"],
        ),
        (&[("rules-file", "missing.yml")], &["cannot be found"]),
    ];
    let many: String = (0..101)
        .map(|i| format!("- name: r{i}\n  keep: {{}}\n"))
        .collect();
    let big = format!("- keep: {{tags: '{}'}}", "x".repeat(70_000));
    let sized: [Case; 2] = [
        (&[("rules", many.as_str())], &["holds 101 rules"]),
        (&[("rules", big.as_str())], &["64 KiB"]),
    ];
    for (inputs, words) in cases.iter().chain(sized.iter()) {
        let run = janitor(&emulator, &acme(inputs));
        assert_eq!(run.code, 2, "{inputs:?}: {}", run.stdout);
        let said = format!("{}{}", run.stdout, run.stderr);
        for word in *words {
            assert!(said.contains(word), "{inputs:?}: {word:?} not in {said}");
        }
        assert!(!said.contains(&"x".repeat(300)), "a value echoed whole");
    }
    assert!(emulator.requests().is_empty(), "{:?}", emulator.requests());
}
