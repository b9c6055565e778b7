//! Snapshots of what people read: the log with its plan table, and the step summary.

use crate::util::*;
use chrono::{Duration, Utc};
use gh_emulator::scenario::{PackageSpec, PackageType, VersionSpec};
use gh_emulator::Emulator;

/// A package whose ages are fixed relative to now, so the table does not drift.
fn package() -> PackageSpec {
    let mut p =
        PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web");
    let shapes: [(&[&str], i64); 7] = [
        (&["v1.0.0"], 90),
        (&["pr-11"], 60),
        (&[], 45),
        (&["pr-12", "v1.1.0-rc.1"], 40),
        (&["pr-13"], 20),
        (&["pr-14"], 3),
        (&["latest", "v1.1.0"], 1),
    ];
    for (i, (tags, days)) in shapes.iter().enumerate() {
        p = p.version(VersionSpec::image(
            id(i as u64),
            tags,
            Utc::now() - Duration::days(*days) - Duration::minutes(5),
        ));
    }
    p
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d{2}-\d{2}", "[date]");
    settings.add_filter(r"ghadelimiter_[0-9a-f]{32}", "[delimiter]");
    settings.add_filter(r"::add-mask::\S+", "::add-mask::[registry token]");
    settings
}

#[test]
fn the_log_and_summary_of_a_cleanup() {
    let emulator = Emulator::start(base().package(package())).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("tags", "pr-*"), ("untagged", "true"), ("keep-latest", "1")]),
    );
    assert_eq!(run.code, 0);
    settings().bind(|| {
        insta::assert_snapshot!("cleanup_log", run.stdout);
        insta::assert_snapshot!("cleanup_summary", run.summary);
    });
}

#[test]
fn the_log_and_summary_of_a_dry_run() {
    let emulator = Emulator::start(base().package(package())).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[
            ("tags", "pr-*"),
            ("exclude-tags", "pr-13"),
            ("dry-run", "true"),
        ]),
    );
    assert_eq!(run.code, 0);
    settings().bind(|| {
        insta::assert_snapshot!("dry_run_log", run.stdout);
        insta::assert_snapshot!("dry_run_summary", run.summary);
    });
}

#[test]
fn the_error_for_bad_input() {
    let emulator = Emulator::start(base()).unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-[0-9")]));
    assert_eq!(run.code, 2);
    insta::assert_snapshot!("bad_input_log", run.stdout);
}

#[test]
fn a_summary_past_githubs_1_mib_limit_is_cut_with_a_note() {
    // 12,000 selected versions: more table than GitHub shows.
    let tags: Vec<String> = (0..12_000)
        .map(|i| format!("pr-{i}-with-a-rather-long-branch-name"))
        .collect();
    let tag_lists: Vec<Vec<&str>> = tags.iter().map(|t| vec![t.as_str()]).collect();
    let slices: Vec<&[&str]> = tag_lists.iter().map(Vec::as_slice).collect();
    let emulator = Emulator::start(base().package(images("web", &slices))).unwrap();
    // A dry run: the plan (and container safety's 12,000 manifest reads) without the deletes.
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("dry-run", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.summary.len() < 1024 * 1024,
        "{} bytes",
        run.summary.len()
    );
    assert!(
        run.summary.len() > 1000 * 1024,
        "{} bytes: not cut near the limit",
        run.summary.len()
    );
    assert!(run
        .summary
        .contains("The summary was cut to stay under GitHub's 1 MiB limit"));
    // The outputs still have every version.
    assert_eq!(run.output("planned-count"), "11999");
}
