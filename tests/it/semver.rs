//! Retention by semantic version (issue 15): `semver-range` and `keep-per`, through the
//! binary, on npm names, Maven names and container tags.

use crate::util::*;
use gh_emulator::scenario::{PackageSpec, PackageType, VersionSpec};
use gh_emulator::Emulator;

/// A package of `package_type` whose versions are named `names`, oldest first (ids 1000…).
fn named(package_type: PackageType, name: &str, names: &[&str]) -> PackageSpec {
    let mut package = PackageSpec::new("acme", package_type, name, 300).repository("acme/web");
    for (i, version) in names.iter().enumerate() {
        package = package.version(VersionSpec::new(1000 + i as u64, version, at(i as i64)));
    }
    package
}

fn ids_of(names: &[&str], all: &[&str]) -> Vec<u64> {
    let mut ids: Vec<u64> = names
        .iter()
        .map(|n| 1000 + all.iter().position(|a| a == n).unwrap() as u64)
        .collect();
    ids.sort_unstable();
    ids
}

const NPM: &[&str] = &[
    "1.3.0",
    "1.3.1",
    "1.3.2",
    "1.4.0",
    "1.4.1",
    "1.4.2",
    "1.4.3",
    "2.0.0-rc.1",
    "nightly",
];

#[test]
fn keep_the_newest_two_patches_of_each_minor_of_an_npm_package() {
    let emulator = Emulator::start(base().package(named(PackageType::Npm, "ui", NPM))).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[
            ("package-type", "npm"),
            ("packages", "ui"),
            ("tags", "*"),
            ("keep-latest", "2"),
            ("keep-per", "minor"),
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.ids("deleted-ids"),
        ids_of(&["1.3.0", "1.4.0", "1.4.1"], NPM)
    );
    assert!(
        run.stdout
            .contains("keep-per minor: among the 2 highest of 1.4"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("keep-per: no semantic version"),
        "{}",
        run.stdout
    );
    assert_eq!(
        emulator.active_ids("acme", PackageType::Npm, "ui"),
        ids_of(
            &["1.3.1", "1.3.2", "1.4.2", "1.4.3", "2.0.0-rc.1", "nightly"],
            NPM
        )
    );
}

#[test]
fn a_range_selects_maven_versions_below_a_release_with_older_than_and_min_versions() {
    let names = &[
        "1.0.0",
        "1.1.0-SNAPSHOT",
        "1.2.0",
        "1.3.0",
        "1.4.0",
        "2.0.0",
    ];
    let emulator =
        Emulator::start(base().package(named(PackageType::Maven, "com.acme.lib", names))).unwrap();
    // Everything below 1.4.0, but only what is older than a day (all of it here), and keep
    // at least four versions in the package.
    let run = janitor(
        &emulator,
        &acme(&[
            ("package-type", "maven"),
            ("packages", "com.acme.lib"),
            ("semver-range", "<1.4.0"),
            ("older-than", "1d"),
            ("min-versions", "4"),
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    // In range: 1.0.0, 1.1.0-SNAPSHOT (a pre-release, by precedence), 1.2.0, 1.3.0; four of
    // six may go and four must stay: the two oldest go.
    assert_eq!(
        run.ids("deleted-ids"),
        ids_of(&["1.0.0", "1.1.0-SNAPSHOT"], names)
    );
    assert!(
        run.stdout
            .contains("min-versions: the package keeps at least 4"),
        "{}",
        run.stdout
    );
}

#[test]
fn pre_releases_of_released_images_go_by_their_highest_semantic_tag() {
    // Tags: `v1.4.0-rc.1`; `v1.4.0` (+ latest-1.4); `1.5.0-rc.1` with `sha-1`; `v1.5.0`
    // (current); `1.6.0-rc.1` (upcoming); `pr-7` (no semantic version).
    let tags: &[&[&str]] = &[
        &["v1.4.0-rc.1"],
        &["v1.4.0", "latest-1.4"],
        &["1.5.0-rc.1", "sha-1"],
        &["v1.5.0"],
        &["1.6.0-rc.1"],
        &["pr-7"],
    ];
    let emulator = Emulator::start(base().package(images("web", tags))).unwrap();
    // Delete the pre-releases of released versions: `*-*` up to the current release (its
    // candidates stand with it); keep anything tagged `sha-*`.
    let run = janitor(
        &emulator,
        &acme(&[
            ("tags", "*-*"),
            ("tag-match", "any"),
            ("semver-range", "<=1.5.0"),
            ("exclude-tags", "sha-*"),
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    // 1.4.0-rc.1 goes; 1.5.0-rc.1 is in range but excluded; 1.6.0-rc.1 is out of range;
    // latest-1.4 matches `*-*` but its version's highest semantic tag is 1.4.0, a release
    // inside the range: with `tag-match: any` it goes too.
    assert_eq!(run.ids("deleted-ids"), [id(0), id(1)]);
    assert!(
        run.stdout.contains("exclude-tags: 'sha-1' matches 'sha-*'"),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_semver_inputs_stop_before_any_request() {
    let emulator = Emulator::start(base()).unwrap();
    for (extra, input, text) in [
        (
            vec![("semver-range", "<two")],
            "semver-range",
            "Cargo's or npm's syntax",
        ),
        // Issue 27, item 2: npm reads an empty side of `||` as any version: every one.
        (
            vec![("semver-range", "1.2.3 ||")],
            "semver-range",
            "empty alternative (after the last `||`)",
        ),
        (
            vec![("semver-range", "|| <2.0.0")],
            "semver-range",
            "empty alternative (before the first `||`)",
        ),
        (
            vec![("semver-range", "1.x || || 2.x")],
            "semver-range",
            "empty alternative (between `||` number 1 and 2)",
        ),
        (
            vec![("semver-range", "1.2.3 || 2.0.0")],
            "semver-range",
            "bare version inside an alternative",
        ),
        (
            vec![("keep-per", "minor")],
            "keep-per",
            "needs `keep-latest`",
        ),
        (
            vec![("keep-per", "patch"), ("keep-latest", "2")],
            "keep-per",
            "must be one of `major`, `minor`",
        ),
    ] {
        let mut inputs = acme(&[("tags", "*")]);
        inputs.extend(extra);
        let run = janitor(&emulator, &inputs);
        assert_eq!(run.code, 2, "{}", run.stdout);
        assert!(
            run.stdout.contains(&format!("input '{input}'")) && run.stdout.contains(text),
            "{}",
            run.stdout
        );
    }
    assert!(emulator.requests().is_empty());
}

/// Issue 20: ranges as npm and Cargo users read them, on npm names and container tags.
#[test]
fn a_pre_release_stands_with_its_release_on_npm_names_and_container_tags() {
    let npm = &[
        "1.9.0",
        "2.0.0-rc.1",
        "2.0.0",
        "1.2.3-alpine",
        "1.2.3",
        "1.2.2",
    ];
    let emulator = Emulator::start(base().package(named(PackageType::Npm, "ui", npm))).unwrap();
    for (range, deleted) in [
        // "Everything before 2.0" keeps 2.0's candidate.
        ("<2.0.0", vec!["1.9.0", "1.2.3-alpine", "1.2.3", "1.2.2"]),
        // A variant goes with its release.
        ("<1.2.3", vec!["1.2.2"]),
        ("<=1.2.3", vec!["1.2.3-alpine", "1.2.3", "1.2.2"]),
    ] {
        let run = janitor(
            &emulator,
            &acme(&[
                ("package-type", "npm"),
                ("packages", "ui"),
                ("semver-range", range),
                ("dry-run", "true"),
            ]),
        );
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert_eq!(run.ids("planned-ids"), ids_of(&deleted, npm), "{range}");
    }
    // The same on container tags.
    let tags: &[&[&str]] = &[&["v1.9.0"], &["2.0.0-rc.1"], &["1.2.3-alpine"], &["1.2.3"]];
    let emulator = Emulator::start(base().package(images("web", tags))).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("semver-range", "<1.2.3"), ("dry-run", "true")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("planned-ids"), "");
    let run = janitor(&emulator, &acme(&[("semver-range", "<2.0.0")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(0), id(2), id(3)]);
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [id(1)]
    );
}

#[test]
fn npm_range_syntax_works_and_a_bare_version_is_refused_with_a_hint() {
    let npm = &["1.0.0", "1.4.9", "1.5.0", "2.3.0", "3.0.0"];
    let emulator = Emulator::start(base().package(named(PackageType::Npm, "ui", npm))).unwrap();
    for (range, selected) in [
        (">=1.0.0 <1.5.0", vec!["1.0.0", "1.4.9"]),
        ("1.x || 2.x", vec!["1.0.0", "1.4.9", "1.5.0", "2.3.0"]),
        ("1.4.9 - 2.3.0", vec!["1.4.9", "1.5.0", "2.3.0"]),
        (">=1.0.0, <1.5.0", vec!["1.0.0", "1.4.9"]),
        ("=1.5.0", vec!["1.5.0"]),
    ] {
        let run = janitor(
            &emulator,
            &acme(&[
                ("package-type", "npm"),
                ("packages", "ui"),
                ("semver-range", range),
                ("min-versions", "0"),
                ("dry-run", "true"),
            ]),
        );
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert_eq!(run.ids("planned-ids"), ids_of(&selected, npm), "{range}");
    }
    let before = emulator.requests().len();
    let run = janitor(
        &emulator,
        &acme(&[
            ("package-type", "npm"),
            ("packages", "ui"),
            ("semver-range", "1.2.3"),
        ]),
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("input 'semver-range'")
            && run
                .stdout
                .contains("write `=1.2.3` for exactly that version, or `^1.2.3`"),
        "{}",
        run.stdout
    );
    assert_eq!(emulator.requests().len(), before);
}

#[test]
fn keep_per_ranks_a_lines_releases_above_its_pre_releases() {
    // `keep-per: minor`, `keep-latest: 1`: 1.2's only release stays, its candidate goes.
    let npm = &["1.2.5", "1.2.6-rc.1", "1.3.0", "1.3.1-rc.1"];
    let emulator = Emulator::start(base().package(named(PackageType::Npm, "ui", npm))).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[
            ("package-type", "npm"),
            ("packages", "ui"),
            ("tags", "*"),
            ("keep-latest", "1"),
            ("keep-per", "minor"),
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.ids("deleted-ids"),
        ids_of(&["1.2.6-rc.1", "1.3.1-rc.1"], npm)
    );
    // The same on container tags.
    let tags: &[&[&str]] = &[&["v1.2.5"], &["v1.2.6-rc.1"]];
    let emulator = Emulator::start(base().package(images("web", tags))).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("tags", "*"), ("keep-latest", "1"), ("keep-per", "minor")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(1)]);
}
