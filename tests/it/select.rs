//! The selection language and retention policy through the binary: older-than, keep-latest,
//! min-versions, max-changes, and the combinations users write.

use crate::util::*;
use chrono::{Duration, Utc};
use gh_emulator::scenario::{PackageSpec, PackageType, VersionSpec};
use gh_emulator::Emulator;

/// An npm package `ui` whose versions were published `days` ago, in the order given.
fn npm_aged(versions: &[(&str, i64)]) -> PackageSpec {
    let mut p = PackageSpec::new("acme", PackageType::Npm, "ui", 81).repository("acme/web");
    for (i, (name, days)) in versions.iter().enumerate() {
        p = p.version(VersionSpec::new(
            100 + i as u64,
            name,
            Utc::now() - Duration::days(*days),
        ));
    }
    p
}

/// Container versions `id(i)` with these tags, updated `days` ago.
fn images_aged(tags: &[(&[&str], i64)]) -> PackageSpec {
    let mut p =
        PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web");
    for (i, (t, days)) in tags.iter().enumerate() {
        p = p.version(VersionSpec::image(
            id(i as u64),
            t,
            Utc::now() - Duration::days(*days),
        ));
    }
    p
}

#[test]
fn older_than_alone_selects_every_version_that_old_tagged_or_not() {
    let emulator = Emulator::start(base().package(images_aged(&[
        (&["v1"], 200),
        (&[], 120),
        (&["pr-3"], 91),
        (&["pr-4"], 89),
        (&["latest"], 1),
    ])))
    .unwrap();
    let run = janitor(&emulator, &acme(&[("older-than", "90d")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(0), id(1), id(2)]);
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [id(3), id(4)]
    );
}

#[test]
fn older_than_filters_the_tag_selection() {
    let emulator = Emulator::start(base().package(images_aged(&[
        (&["pr-1"], 40),
        (&["pr-2"], 10),
        (&["v1"], 50),
    ])))
    .unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("older-than", "4w")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(0)]);
}

#[test]
fn release_candidates_older_than_30_days_keeping_the_3_newest() {
    // What users write: `tags: '*-rc.*'` + `keep-latest: 3` + `older-than: 30d`.
    let emulator = Emulator::start(base().package(npm_aged(&[
        ("1.0.0-rc.1", 120),
        ("1.0.0-rc.2", 110),
        ("1.0.0", 100),
        ("1.1.0-rc.1", 90),
        ("1.1.0-rc.2", 80),
        ("1.1.0-rc.3", 70),
        ("1.1.0", 60),
        ("1.2.0-rc.1", 10),
    ])))
    .unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("package-type", "npm"),
            ("packages", "ui"),
            ("tags", "*-rc.*"),
            ("keep-latest", "3"),
            ("older-than", "30d"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    // Candidates: the five rc versions older than 30 days; the 3 newest of them stay.
    assert_eq!(run.ids("deleted-ids"), [100, 101]);
    assert_eq!(
        emulator.active_ids("acme", PackageType::Npm, "ui"),
        [102, 103, 104, 105, 106, 107]
    );
    let skipped = &run.result()["packages"][0]["skipped"];
    let kinds: Vec<&str> = skipped
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason_kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["keep-latest", "keep-latest", "keep-latest"]);
    assert_eq!(run.output("skipped-count"), "3");
}

#[test]
fn min_versions_keeps_the_newest_candidates() {
    let emulator = Emulator::start(
        base().package(images("web", &[&["pr-1"], &["pr-2"], &["pr-3"], &["pr-4"]])),
    )
    .unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("min-versions", "3")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(0)]);
    assert_eq!(run.output("skipped-count"), "3");
    assert!(run
        .stdout
        .contains("min-versions: the package keeps at least 3"));
}

#[test]
fn a_plan_larger_than_max_changes_changes_nothing_and_stops() {
    let emulator =
        Emulator::start(base().package(images("web", &[&["pr-1"], &["pr-2"], &["pr-3"], &["v1"]])))
            .unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("max-changes", "2")]));
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
    assert_eq!(
        emulator
            .active_ids("acme", PackageType::Container, "web")
            .len(),
        4
    );
    // The plan still reaches the outputs and the summary.
    assert_eq!(run.output("planned-count"), "3");
    assert_eq!(run.output("deleted-count"), "0");
    assert_eq!(
        run.result()["held"],
        "the plan has 3 changes, more than max-changes 2"
    );
    assert!(run.stdout.contains("::error title=Plan too large::the plan has 3 changes, more than max-changes 2; nothing was changed"));
    assert!(run.summary.contains("held: nothing was changed"));

    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("max-changes", "3")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("deleted-count"), "3");
}

#[test]
fn tags_star_selects_every_tagged_version_but_not_untagged_ones() {
    let emulator =
        Emulator::start(base().package(images("web", &[&["a"], &[], &["b", "c"], &["d"]])))
            .unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "*"), ("keep-latest", "1")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(0), id(2)]);
}

#[test]
fn a_dry_run_plans_exactly_what_the_real_run_then_deletes() {
    let emulator = Emulator::start(base().package(images_aged(&[
        (&["pr-1"], 40),
        (&["pr-2", "v2"], 35),
        (&[], 30),
        (&["pr-4"], 20),
        (&["v1"], 10),
        (&["pr-6"], 5),
    ])))
    .unwrap();
    let inputs = acme(&[
        ("tags", "pr-*"),
        ("untagged", "true"),
        ("keep-latest", "1"),
        ("older-than", "1w"),
    ]);
    let mut dry = inputs.clone();
    dry.push(("dry-run", "true"));
    let planned = janitor(&emulator, &dry);
    let real = janitor(&emulator, &inputs);
    assert_eq!(planned.code, 0);
    assert_eq!(real.code, 0);
    assert_eq!(planned.ids("planned-ids"), real.ids("planned-ids"));
    assert_eq!(real.ids("planned-ids"), real.ids("deleted-ids"));
    assert_eq!(real.ids("deleted-ids"), [id(0), id(2)]);
}
