//! `target: packages`: whole packages deleted and restored, with the same dry-run, outputs
//! and `max-changes` safety as versions.

use crate::util::*;
use gh_emulator::scenario::{PackageSpec, PackageType, VersionSpec};
use gh_emulator::Emulator;

fn previews() -> Emulator {
    let mut scenario = base();
    for (i, name) in ["preview-pr-1", "preview-pr-2", "web"].iter().enumerate() {
        scenario = scenario.package(
            PackageSpec::new("acme", PackageType::Container, name, 500 + i as u64)
                .repository("acme/web")
                .version(VersionSpec::image(5000 + i as u64 * 10, &["latest"], at(0)))
                .version(VersionSpec::image(5001 + i as u64 * 10, &[], at(1))),
        );
    }
    Emulator::start(scenario).unwrap()
}

fn deleted(emulator: &Emulator, name: &str) -> bool {
    emulator
        .package("acme", PackageType::Container, name)
        .unwrap()
        .deleted_at
        .is_some()
}

#[test]
fn whole_packages_are_deleted_by_pattern_and_restored_by_name() {
    let emulator = previews();
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", "preview-pr-*"),
            ("target", "packages"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [500, 501]);
    assert_eq!(run.result()["target"], "packages");
    assert_eq!(
        run.result()["packages"][0]["changed"][0]["name"],
        "preview-pr-1"
    );
    assert!(deleted(&emulator, "preview-pr-1") && deleted(&emulator, "preview-pr-2"));
    assert!(!deleted(&emulator, "web"));
    let lines = log_lines(&emulator.requests());
    assert!(
        lines.contains(&"DELETE /orgs/acme/packages/container/preview-pr-1 -> 204".to_string()),
        "{lines:?}"
    );

    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", "preview-pr-1, preview-pr-2"),
            ("target", "packages"),
            ("mode", "restore"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("restored-count"), "2");
    assert_eq!(run.ids("restored-ids"), [500, 501]);
    assert!(!deleted(&emulator, "preview-pr-1") && !deleted(&emulator, "preview-pr-2"));
    let lines = log_lines(&emulator.requests());
    assert!(
        lines.contains(
            &"POST /orgs/acme/packages/container/preview-pr-2/restore -> 204".to_string()
        ),
        "{lines:?}"
    );
}

#[test]
fn whole_package_dry_run_and_max_changes_change_nothing() {
    let emulator = previews();
    let dry = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", "preview-pr-*"),
            ("target", "packages"),
            ("dry-run", "true"),
        ],
    );
    assert_eq!(dry.code, 0, "{}", dry.stdout);
    assert_eq!(dry.ids("planned-ids"), [500, 501]);
    let held = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", "preview-pr-*"),
            ("target", "packages"),
            ("max-changes", "1"),
        ],
    );
    assert_eq!(held.code, 2, "{}", held.stdout);
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
    assert!(!deleted(&emulator, "preview-pr-1"));
}

#[test]
fn a_github_token_deletes_a_package_its_repository_administers() {
    let emulator = previews();
    let run = janitor(
        &emulator,
        &[
            ("token", GITHUB_TOKEN),
            ("owner", "acme"),
            ("packages", "preview-pr-2"),
            ("target", "packages"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [501]);
}

#[test]
fn a_missing_package_to_restore_is_a_failure_with_githubs_message() {
    let emulator = previews();
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", "never-existed"),
            ("target", "packages"),
            ("mode", "restore"),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.output("failed-count"), "1");
    assert!(run.result()["packages"][0]["failed"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Package not found"));
}
