//! Pacing as GitHub asks, and long runs (issue 11): mutations one at a time and evenly
//! spaced, a rate-limit answer stopping everything not yet sent, the primary budget spent
//! but never exhausted, `max-duration`, progress lines, cancellation, outputs at scale.
//!
//! No check here depends on the machine's speed: a busy machine only makes requests later,
//! so spacing and waits only grow, and every assertion is a bound that lateness keeps.

use crate::util::*;
use gh_emulator::scenario::{PackageSpec, PackageType, VersionSpec};
use gh_emulator::{Emulator, Faults, LoggedRequest};
use std::time::Duration;

/// `n` container versions tagged `pr-N`, oldest first, and `v1` kept.
fn pull_requests(n: u64) -> PackageSpec {
    let mut package =
        PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web");
    for i in 0..n {
        package = package.version(VersionSpec::image(
            id(i),
            &[&format!("pr-{i}")],
            at(i as i64),
        ));
    }
    package.version(VersionSpec::image(id(n), &["v1"], at(n as i64)))
}

fn deletes(requests: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    requests.iter().filter(|r| r.method == "DELETE").collect()
}

/// SIGTERM to `child`, as a cancelled workflow sends, once the emulator's log shows `seen`
/// (waited for in real time, bounded: a busy machine only makes the signal later).
fn terminate_once(
    child: &std::process::Child,
    emulator: &Emulator,
    seen: impl Fn(&[LoggedRequest]) -> bool,
) {
    signal_once(child, emulator, "-TERM", seen);
}

/// `signal` to `child` once the emulator's log shows `seen`.
fn signal_once(
    child: &std::process::Child,
    emulator: &Emulator,
    signal: &str,
    seen: impl Fn(&[LoggedRequest]) -> bool,
) {
    let waited = std::time::Instant::now();
    while !seen(&emulator.requests()) && waited.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

#[test]
fn a_closed_terminal_cancels_a_command_line_run_which_still_prints_its_outputs() {
    // Issue 27, item 8 (SPEC §6): SIGHUP is a cancel, not a death without outputs.
    let emulator = Emulator::start(base().package(pull_requests(20))).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_package-janitor"));
    command
        .env_clear()
        .env("GITHUB_API_URL", emulator.url())
        .env("GITHUB_TOKEN", PAT)
        .args(["--owner", "acme", "--packages", "web", "--tags", "pr-*"])
        .args([
            "--registry-url",
            emulator.url(),
            "--mutations-per-minute",
            "60",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    signal_once(&child, &emulator, "-HUP", |log| !deletes(log).is_empty());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    let outputs: serde_json::Value = serde_json::from_str(last).unwrap();
    let deleted = outputs["deleted-count"]
        .as_str()
        .unwrap()
        .parse::<usize>()
        .unwrap();
    assert_eq!(
        deleted,
        emulator
            .deleted_ids("acme", PackageType::Container, "web")
            .len()
    );
    assert!(deleted < 20, "{stdout}");
}

#[test]
fn mutations_go_one_at_a_time_a_second_apart_by_default_and_meet_no_limit() {
    let emulator = Emulator::start(base().package(pull_requests(6))).unwrap();
    // Both clocks twice as fast: a second of GitHub time is half a real second. The emulator
    // answers a secondary limit to a mutation closer than 0.9 s to the one before.
    emulator.set_faults(Faults {
        time_scale: 2.0,
        min_mutation_spacing_ms: Some(900),
        ..Faults::default()
    });
    let run = janitor_with(
        &emulator,
        &acme(&[("tags", "pr-*")]),
        &[("PACKAGE_JANITOR_TIME_SCALE", "2")],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids").len(), 6);
    let state = emulator.state();
    assert_eq!(state.max_mutations_in_flight, 1);
    assert!(
        state.log.iter().all(|r| r.fault.is_none()),
        "{:?}",
        state.log
    );
    let spacing = state.min_mutation_spacing().unwrap();
    assert!(spacing >= chrono::Duration::milliseconds(900), "{spacing}");
}

#[test]
fn mutations_per_minute_sets_the_spacing_up_to_180() {
    let emulator = Emulator::start(base().package(pull_requests(6))).unwrap();
    // Real time: 180 a minute is one every 333 ms.
    let run = janitor_with(
        &emulator,
        &acme(&[("tags", "pr-*"), ("mutations-per-minute", "180")]),
        &[("PACKAGE_JANITOR_TIME_SCALE", "1")],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let state = emulator.state();
    assert_eq!(state.max_mutations_in_flight, 1);
    let spacing = state.min_mutation_spacing().unwrap();
    assert!(spacing >= chrono::Duration::milliseconds(250), "{spacing}");
    assert!(
        run.stdout
            .contains("Progress: 6/6 changes, 180 per minute, done"),
        "{}",
        run.stdout
    );
}

#[test]
fn after_a_secondary_limit_nothing_goes_out_within_retry_after_and_the_pace_halves() {
    let emulator = Emulator::start(base().package(pull_requests(8))).unwrap();
    // GitHub here wants 1.5 s between mutations; the run asks for 180 a minute (0.33 s).
    emulator.set_faults(Faults {
        time_scale: 10.0,
        min_mutation_spacing_ms: Some(1500),
        ..Faults::default()
    });
    let run = janitor_with(
        &emulator,
        &acme(&[("tags", "pr-*"), ("mutations-per-minute", "180")]),
        &[("PACKAGE_JANITOR_TIME_SCALE", "10")],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids").len(), 8);
    let requests = emulator.requests();
    let limits: Vec<&LoggedRequest> = requests
        .iter()
        .filter(|r| r.fault == Some("secondary-limit"))
        .collect();
    assert!(!limits.is_empty());
    // Halved at each limit: 180, 90, 45, 22.5 a minute; by then 2.7 s apart, none met.
    assert!(limits.len() <= 3, "{}", log_lines(&requests).join("\n"));
    for limit in &limits {
        // `retry-after: 1`: nothing reaches GitHub in the second after the answer.
        let after = requests
            .iter()
            .filter(|r| r.at > limit.at && !r.registry)
            .map(|r| r.at - limit.at)
            .min();
        if let Some(gap) = after {
            assert!(gap >= chrono::Duration::seconds(1), "{gap}");
        }
    }
    assert_eq!(emulator.state().max_mutations_in_flight, 1);
}

#[test]
fn with_ten_requests_left_some_deletions_happen_and_the_primary_limit_is_never_met() {
    let emulator = Emulator::start(base().package(pull_requests(12))).unwrap();
    // 12 an hour: the preflight and the listing leave 10 for 12 deletions.
    emulator.set_faults(Faults {
        primary_limit: Some(12),
        ..Faults::default()
    });
    let run = janitor(&emulator, &acme(&[("tags", "pr-*")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    // One request kept back (a tenth of ten): nine deletions.
    assert_eq!(run.ids("deleted-ids").len(), 9, "{}", run.stdout);
    let requests = emulator.requests();
    assert!(requests.iter().all(|r| r.fault != Some("primary-limit")));
    assert!(
        run.stdout.contains("covers 9 of 12 changes"),
        "{}",
        run.stdout
    );
    let skipped = run.result()["packages"][0]["skipped"].clone();
    let deferred: Vec<&serde_json::Value> = skipped
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason_kind"] == "rate-limit-budget")
        .collect();
    assert_eq!(deferred.len(), 3);
    assert!(
        deferred[0]["reason"].as_str().unwrap().contains("UTC"),
        "{skipped}"
    );
}

#[test]
fn max_duration_starts_no_change_past_it_and_leaves_a_clean_report() {
    let emulator = Emulator::start(base().package(pull_requests(20))).unwrap();
    // A second apart at 100 times real speed: 5 s of GitHub time allows at most six starts
    // (at 0, 1, … 5 s); a busy machine allows fewer, never more.
    let run = janitor_with(
        &emulator,
        &acme(&[("tags", "pr-*"), ("max-duration", "5s")]),
        &[("PACKAGE_JANITOR_TIME_SCALE", "100")],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let deleted = run.ids("deleted-ids");
    assert!(deleted.len() <= 6, "{deleted:?}");
    assert_eq!(deleted.len(), deletes(&emulator.requests()).len());
    let skipped = run.result()["packages"][0]["skipped"].clone();
    let out_of_time = skipped
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason_kind"] == "time-budget")
        .count();
    assert_eq!(deleted.len() + out_of_time, 20, "{skipped}");
    assert!(
        run.stdout
            .contains("::notice title=Time budget::max-duration reached after"),
        "{}",
        run.stdout
    );
    // Issue 18, item 7: the last progress line of a stopped run promises no time left.
    let last = run
        .stdout
        .lines()
        .rfind(|l| l.starts_with("Progress: "))
        .unwrap_or_default();
    assert!(
        last.ends_with("changes; the run stopped before the rest"),
        "{}",
        run.stdout
    );
}

#[test]
fn progress_lines_come_at_least_every_30_seconds_and_at_the_end() {
    let emulator = Emulator::start(base().package(pull_requests(40))).unwrap();
    // 40 deletions a second apart: 39 s at least, so a line comes before the end.
    let run = janitor_with(
        &emulator,
        &acme(&[("tags", "pr-*")]),
        &[("PACKAGE_JANITOR_TIME_SCALE", "1000")],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("Progress: "))
        .collect();
    assert!(lines.len() >= 2, "{lines:?}");
    assert!(lines[0].contains(" per minute, about "), "{lines:?}");
    assert_eq!(
        lines.last(),
        Some(&"Progress: 40/40 changes, 60 per minute, done")
    );
}

#[test]
fn a_cancelled_run_finishes_the_change_in_flight_and_writes_what_it_did() {
    let emulator = Emulator::start(base().package(pull_requests(20))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let summary = dir.path().join("summary");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_package-janitor"));
    command
        .env_clear()
        .env("GITHUB_API_URL", emulator.url())
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_ACTIONS", "true")
        .env("INPUT_REGISTRY-URL", emulator.url())
        // Real time, 60 a minute: 20 deletions would take 19 seconds, far longer than the
        // signal takes to land; the signal ends the run at once.
        .env("INPUT_MUTATIONS-PER-MINUTE", "60")
        .stdout(std::process::Stdio::piped());
    for (name, value) in acme(&[("tags", "pr-*")]) {
        command.env(format!("INPUT_{}", name.to_uppercase()), value);
    }
    let child = command.spawn().unwrap();
    // Once the first deletion has reached GitHub.
    terminate_once(&child, &emulator, |log| !deletes(log).is_empty());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let outputs = parse_output_file(&std::fs::read_to_string(&output).unwrap());
    let mut deleted: Vec<u64> = outputs["deleted-ids"]
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    deleted.sort_unstable();
    // Exactly what GitHub saw deleted is reported, and no change started after the signal.
    assert_eq!(
        deleted,
        emulator.deleted_ids("acme", PackageType::Container, "web")
    );
    assert!(!deleted.is_empty() && deleted.len() < 20, "{deleted:?}");
    let result: serde_json::Value = serde_json::from_str(&outputs["result"]).unwrap();
    let cancelled = result["packages"][0]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason_kind"] == "cancelled")
        .count();
    assert_eq!(deleted.len() + cancelled, 20);
    // Issue 21, item 11: an annotation says why the run exits 1.
    assert!(
        stdout.contains("::error title=Cancelled::the run was cancelled (SIGINT or SIGTERM)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Cancelled: no new change is started"),
        "{stdout}"
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("### Undo"), "{summary}");
}

/// `n` pull-request images, every answer two real seconds late, and a SIGTERM once the log
/// shows `seen`: the run must stop with exit 2, before its plan is complete, having changed
/// nothing.
fn cancelled_before_the_plan(n: u64, seen: impl Fn(&[LoggedRequest]) -> bool) -> Run {
    let emulator = Emulator::start(base().package(pull_requests(n))).unwrap();
    emulator.set_faults(Faults {
        latency_ms: 2000,
        ..Faults::default()
    });
    let (mut command, dir) = janitor_command(&emulator, &acme(&[("tags", "pr-*")]));
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    terminate_once(&child, &emulator, seen);
    let run = finished(&child.wait_with_output().unwrap(), &dir);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(deletes(&emulator.requests()).len(), 0);
    // Whether the signal lands during the listing or the manifest reads after it, it is said.
    for said in [
        "the run was cancelled (SIGINT or SIGTERM)",
        "Nothing was changed.",
    ] {
        assert!(run.stdout.contains(said), "{said}\n{}", run.stdout);
    }
    run
}

#[test]
fn a_cancel_during_the_listing_changes_nothing_and_says_so_with_exit_2() {
    // Issue 18, item 7: a cancel before the plan exists promised outputs and wrote none.
    // Four pages of versions and 351 manifests to read, each answer two real seconds late:
    // once the first page is in the log, the signal lands while the later pages or the
    // manifests the plan needs are awaited (some twenty seconds of them).
    let run = cancelled_before_the_plan(350, |log| {
        log.iter().any(|r| r.path.ends_with("/web/versions"))
    });
    assert!(
        run.stdout
            .contains("a run cancelled before its plan exists changes nothing"),
        "{}",
        run.stdout
    );
    // No output promises a change; the summary says why the run stopped.
    assert!(run
        .outputs
        .get("deleted-ids")
        .is_none_or(|ids| ids.is_empty()));
    assert!(run.summary.contains("cancelled"), "{}", run.summary);
}

#[test]
fn a_cancel_while_manifests_are_read_changes_nothing_and_blames_no_manifest() {
    // The listing is done; the signal lands while the registry is read for the plan,
    // each answer two seconds late, 200 images in seven rounds of 32 reads: once the first
    // round is in the log, the signal has twelve seconds to land before the last round.
    let run = cancelled_before_the_plan(200, |log| {
        log.iter().any(|r| r.path.contains("/manifests/"))
    });
    // A plan whose images are not all protected yet is no plan, and the reads the signal
    // kept from going out are neither blamed nor counted.
    assert!(
        run.stdout
            .contains("the run was cancelled (SIGINT or SIGTERM) before its plan was complete"),
        "{}",
        run.stdout
    );
    for wrong in [
        "Manifest unreadable",
        "fail closed",
        "Checked 201 manifests",
        "The plan, before any change",
    ] {
        assert!(!run.stdout.contains(wrong), "{wrong}\n{}", run.stdout);
    }
}

#[test]
fn a_cancel_ends_a_backoff_at_once() {
    // Issue 18, item 7: backoff sleeps ignored a cancel. GitHub asks for ten minutes of quiet
    // after the second DELETE (real time); a SIGTERM during that wait ends the run without
    // waiting it out, with the first deletion reported and the rest cancelled.
    let emulator = Emulator::start(base().package(pull_requests(5))).unwrap();
    emulator.set_faults(Faults {
        time_scale: 1.0,
        min_mutation_spacing_ms: Some(3_600_000),
        secondary_retry_after: true,
        retry_after: Some("600".into()),
        ..Faults::default()
    });
    let (mut command, dir) = janitor_command(&emulator, &acme(&[("tags", "pr-*")]));
    command
        .env("PACKAGE_JANITOR_TIME_SCALE", "1")
        .env("INPUT_MUTATIONS-PER-MINUTE", "180")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    terminate_once(&child, &emulator, |log| {
        log.iter().any(|r| r.fault == Some("secondary-limit"))
    });
    let signalled = std::time::Instant::now();
    // Far inside the ten minutes asked for, however busy the machine.
    while child.try_wait().unwrap().is_none() && signalled.elapsed() < Duration::from_secs(240) {
        std::thread::sleep(Duration::from_millis(20));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
        panic!("the run still waited out the backoff 240 s after the signal");
    }
    let run = finished(&child.wait_with_output().unwrap(), &dir);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(0)]);
    assert_eq!(deletes(&emulator.requests()).len(), 2);
    let cancelled = run.result()["packages"][0]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason_kind"] == "cancelled")
        .count();
    assert_eq!(cancelled, 4, "{}", run.stdout);
}

#[test]
fn a_result_too_large_for_an_output_drops_the_detail_and_says_so() {
    let mut package = PackageSpec::new("acme", PackageType::Npm, "lib", 300).repository("acme/web");
    // 3,000 versions with long names: about 1.3 MB of per-version detail.
    for i in 0..3000u64 {
        package = package.version(VersionSpec::new(
            4000 + i,
            &format!(
                "1.0.{i}-beta.{}",
                "with-a-rather-long-pre-release-name-from-a-build-system.".repeat(4)
            ),
            at(i as i64),
        ));
    }
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[
            ("package-type", "npm"),
            ("packages", "lib"),
            ("tags", "*-beta.*"),
            ("dry-run", "true"),
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let text = run.output("result");
    assert!(text.len() < 1024 * 1024, "{}", text.len());
    let result = run.result();
    assert!(result["detail"]
        .as_str()
        .unwrap()
        .contains("per-version detail dropped"));
    assert_eq!(
        result["packages"][0]["planned_ids"]
            .as_array()
            .unwrap()
            .len(),
        2999
    );
    assert_eq!(run.ids("planned-ids").len(), 2999);
    // The summary folds the long table and stays under the limit.
    assert!(run
        .summary
        .contains("<details><summary>3000 versions</summary>"));
    assert!(run.summary.len() < 1024 * 1024);
}

#[test]
fn long_reasons_go_to_footnotes_and_a_stopped_run_still_summarizes_why() {
    let emulator =
        Emulator::start(base().package(crate::util::images("web", &[&["pr-1"]]))).unwrap();
    // The last version: GitHub refuses with an 88-character message.
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("min-versions", "0")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.summary
            .contains("[^1]: refused by GitHub: You cannot delete the last version"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("…[^1] |"), "{}", run.summary);

    let run = janitor(&emulator, &acme(&[("tags", "pr-[")]));
    assert_eq!(run.code, 2);
    assert!(
        run.summary.contains("## package-janitor stopped"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("input 'tags'"), "{}", run.summary);
    assert!(
        run.summary.contains("**Nothing was changed** (exit 2)."),
        "{}",
        run.summary
    );
}

#[test]
fn an_id_list_past_one_mib_is_cut_at_a_whole_entry_with_a_warning() {
    // Issue 18, item 8: a dry run over 110,000 versions planned more ids than an output holds.
    let mut package = PackageSpec::new("acme", PackageType::Npm, "lib", 300).repository("acme/web");
    for i in 0..110_000u64 {
        package = package.version(VersionSpec::new(
            1_000_000_000 + i,
            &format!("1.0.{i}"),
            at(0),
        ));
    }
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[
            ("package-type", "npm"),
            ("packages", "lib"),
            ("older-than", "1d"),
            ("dry-run", "true"),
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let ids = run.output("planned-ids");
    assert!(ids.len() < 1024 * 1024, "{}", ids.len());
    // Whole entries only: every id is one of the planned, none cut in half.
    let said: Vec<&str> = ids.split(',').collect();
    assert!(said.iter().all(|id| id.len() == 10), "an id cut in half");
    let left_out = 109_999 - said.len();
    assert!(left_out > 0);
    assert_eq!(run.output("planned-count"), "109999");
    assert!(
        run.stdout.contains(&format!(
            "::warning title=Output cut::planned-ids would pass GitHub's 1 MiB limit for an \
             output: cut at a whole entry, {left_out} left out"
        )),
        "{}",
        run.stdout
            .lines()
            .filter(|l| l.starts_with("::"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
