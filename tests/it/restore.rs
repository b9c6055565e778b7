//! Restore mode end to end: undoing a cleanup, restoring by tag and by deletion time, and
//! GitHub's 30-day window.

use crate::util::*;
use chrono::{Duration, Utc};
use gh_emulator::scenario::{PackageSpec, PackageType, VersionSpec};
use gh_emulator::Emulator;

#[test]
fn deleted_ids_fed_back_as_version_ids_undo_a_container_cleanup() {
    let emulator =
        Emulator::start(base().package(images("web", &[&["pr-1"], &[], &["pr-2"], &["v1"]])))
            .unwrap();
    let before = emulator.active_ids("acme", PackageType::Container, "web");
    let deleted = janitor(&emulator, &acme(&[("tags", "pr-*"), ("untagged", "true")]));
    assert_eq!(deleted.code, 0, "{}", deleted.stdout);
    assert_eq!(deleted.ids("deleted-ids"), [id(0), id(1), id(2)]);

    let ids = deleted.output("deleted-ids").to_string();
    let restored = janitor(
        &emulator,
        &acme(&[("mode", "restore"), ("version-ids", &ids)]),
    );
    assert_eq!(restored.code, 0, "{}", restored.stdout);
    assert_eq!(restored.ids("restored-ids"), deleted.ids("deleted-ids"));
    assert_eq!(restored.output("restored-count"), "3");
    assert_eq!(restored.output("deleted-count"), "0");
    assert_eq!(restored.result()["mode"], "restore");
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        before
    );

    let lines = log_lines(&emulator.requests());
    assert!(
        lines.contains(
            &"GET /orgs/acme/packages/container/web/versions?per_page=100&state=deleted -> 200"
                .to_string()
        ),
        "{lines:?}"
    );
    assert!(lines.contains(&format!(
        "POST /orgs/acme/packages/container/web/versions/{}/restore -> 204",
        id(1)
    )));
    assert!(restored.stdout.contains("restored"));
    assert!(restored.summary.contains("## package-janitor: restore"));
}

#[test]
fn an_npm_cleanup_is_undone_the_same_way() {
    let mut package = PackageSpec::new("acme", PackageType::Npm, "ui", 81).repository("acme/web");
    for (i, v) in ["1.0.0", "1.1.0-rc.1", "1.1.0-rc.2", "1.1.0"]
        .iter()
        .enumerate()
    {
        package = package.version(VersionSpec::new(8100 + i as u64, v, at(i as i64)));
    }
    let emulator = Emulator::start(base().package(package)).unwrap();
    let common = [
        ("token", PAT),
        ("owner", "acme"),
        ("package-type", "npm"),
        ("packages", "ui"),
    ];
    let mut delete = common.to_vec();
    delete.push(("tags", "*-rc.*"));
    let deleted = janitor(&emulator, &delete);
    assert_eq!(deleted.ids("deleted-ids"), [8101, 8102]);
    let ids = deleted.output("deleted-ids").to_string();
    let mut restore = common.to_vec();
    restore.extend([("mode", "restore"), ("version-ids", ids.as_str())]);
    let restored = janitor(&emulator, &restore);
    assert_eq!(restored.code, 0, "{}", restored.stdout);
    assert_eq!(restored.ids("restored-ids"), [8101, 8102]);
    assert_eq!(
        emulator.active_ids("acme", PackageType::Npm, "ui"),
        [8100, 8101, 8102, 8103]
    );
}

fn with_deleted() -> PackageSpec {
    let now = Utc::now();
    images("web", &[&["v1"], &["latest"]])
        .version(VersionSpec::image(id(10), &["pr-10"], at(10)).deleted(now - Duration::days(2)))
        .version(VersionSpec::image(id(11), &["pr-11"], at(11)).deleted(now - Duration::days(10)))
        .version(VersionSpec::image(id(12), &["v0.9"], at(12)).deleted(now - Duration::days(3)))
        .version(VersionSpec::image(id(13), &["pr-13"], at(13)).deleted(now - Duration::days(31)))
}

#[test]
fn restore_by_tag_restores_only_matching_deleted_versions() {
    let emulator = Emulator::start(base().package(with_deleted())).unwrap();
    let run = janitor(&emulator, &acme(&[("mode", "restore"), ("tags", "v*")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [id(12)]);
    assert_eq!(
        emulator.deleted_ids("acme", PackageType::Container, "web"),
        [id(10), id(11), id(13)]
    );
}

#[test]
fn restore_by_deleted_within_takes_only_recent_deletions() {
    let emulator = Emulator::start(base().package(with_deleted())).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("mode", "restore"), ("deleted-within", "1w")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [id(10), id(12)]);
}

#[test]
fn a_window_that_leaves_out_every_deletion_says_which_window_would_not() {
    // Deleted 2, 3, 10 and 31 days ago; a window of one day takes in none of them.
    let emulator = Emulator::start(base().package(with_deleted())).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("mode", "restore"), ("deleted-within", "1d")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("restored-count"), "0");
    assert!(
        run.stdout.contains(
            "::warning title=No deletion within the window::web: no version was deleted within \
             'deleted-within'; 3 deleted versions lie just outside: 'deleted-within: 11d' would \
             include them; 1 deleted more than 30 days ago cannot be restored"
        ),
        "{}",
        run.stdout
    );
    // The window it names does take them in, and only them.
    let wider = janitor(
        &emulator,
        &acme(&[
            ("mode", "restore"),
            ("deleted-within", "11d"),
            ("dry-run", "true"),
        ]),
    );
    assert_eq!(wider.ids("planned-ids"), [id(10), id(11), id(12)]);
    assert!(!wider.stdout.contains("No deletion within the window"));
    // Counted over what the other selectors take: here one version past the 30 days, so no
    // window to suggest.
    let old = janitor(
        &emulator,
        &acme(&[
            ("mode", "restore"),
            ("tags", "pr-13"),
            ("deleted-within", "1d"),
        ]),
    );
    assert!(
        old.stdout.contains(
            "web: no version was deleted within 'deleted-within'; 1 deleted more than 30 days ago \
             cannot be restored\n"
        ),
        "{}",
        old.stdout
    );
}

#[test]
fn a_version_deleted_31_days_ago_is_skipped_with_githubs_reason() {
    let emulator = Emulator::start(base().package(with_deleted())).unwrap();
    let run = janitor(&emulator, &acme(&[("mode", "restore"), ("tags", "pr-*")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [id(10), id(11)]);
    assert_eq!(run.output("skipped-count"), "1");
    assert_eq!(run.output("failed-count"), "0");
    let skipped = &run.result()["packages"][0]["skipped"][0];
    assert_eq!(skipped["id"], id(13));
    assert!(
        skipped["reason"].as_str().unwrap().contains("30 days"),
        "{skipped}"
    );
    // Issue 27, item 5: the age a restore shows is the time since deletion.
    let row = run
        .stdout
        .lines()
        .find(|l| l.starts_with(&id(13).to_string()))
        .unwrap_or_default();
    assert!(row.contains(" 31d "), "{}", run.stdout);
    assert!(run.stdout.contains(" deleted  fate "), "{}", run.stdout);
    // Never asked — GitHub would refuse it — so no refusal to warn of.
    assert!(!run
        .stdout
        .contains("::warning title=Version refused by GitHub::"));
    assert!(emulator
        .requests()
        .iter()
        .all(|r| !r.path.ends_with(&format!("/versions/{}/restore", id(13)))));
}

#[test]
fn restore_needs_write_packages_and_stops_before_any_change_without_it() {
    let scenario = base()
        .classic_pat(
            "ghp_deleteonly",
            "alice",
            &["read:packages", "delete:packages"],
        )
        .package(with_deleted());
    let emulator = Emulator::start(scenario).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", "ghp_deleteonly"),
            ("owner", "acme"),
            ("packages", "web"),
            ("mode", "restore"),
            ("tags", "*"),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("missing the scope(s) write:packages needed to restore"),
        "{}",
        run.stdout
    );
    assert_eq!(log_lines(&emulator.requests()), ["GET /users/acme -> 200"]);
}
