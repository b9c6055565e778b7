//! Rate limits and faults (SPEC §5): every rate-limit answer and every fault kind, and a
//! seeded randomized suite; in each, exactly the plan is carried out and the outputs agree
//! with the emulator's final state.

use crate::util::*;
use gh_emulator::scenario::{PackageSpec, PackageType, VersionSpec};
use gh_emulator::{Emulator, Faults, LoggedRequest};
use std::collections::BTreeSet;

/// Emulated time runs this much faster, for the emulator and the binary alike.
const SCALE: f64 = 600.0;
const SCALE_ENV: (&str, &str) = ("PACKAGE_JANITOR_TIME_SCALE", "600");

/// `n` container versions: every third untagged, the others `pr-N`, one `v1` kept.
fn package(n: u64) -> PackageSpec {
    let mut p =
        PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web");
    for i in 0..n {
        let tag = format!("pr-{i}");
        let tags: Vec<&str> = match i % 3 {
            0 if i > 0 => vec![],
            _ if i == 1 => vec!["v1"],
            _ => vec![tag.as_str()],
        };
        p = p.version(VersionSpec::image(id(i), &tags, at(i as i64)));
    }
    p
}

fn faults() -> Faults {
    Faults {
        time_scale: SCALE,
        ..Faults::default()
    }
}

const CLEANUP: &[(&str, &str)] = &[
    ("token", PAT),
    ("owner", "acme"),
    ("packages", "web"),
    ("tags", "pr-*"),
    ("untagged", "true"),
];

fn faults_of(requests: &[LoggedRequest], kind: &str) -> usize {
    requests.iter().filter(|r| r.fault == Some(kind)).count()
}

/// The run did exactly its plan: every planned id deleted, nothing else, outputs agreeing.
fn exactly_the_plan(emulator: &Emulator, run: &Run) {
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("failed-count"), "0", "{}", run.stdout);
    let planned = run.ids("planned-ids");
    assert!(!planned.is_empty());
    assert_eq!(run.ids("deleted-ids"), planned);
    assert_eq!(run.output("deleted-count"), planned.len().to_string());
    assert_eq!(
        emulator.deleted_ids("acme", PackageType::Container, "web"),
        planned
    );
}

#[test]
fn a_secondary_limit_with_retry_after_is_waited_out() {
    let emulator = Emulator::start(base().package(package(40))).unwrap();
    // GitHub allows 60 points a minute here; the binary believes in 900.
    emulator.set_faults(Faults {
        points_per_minute: Some(60),
        ..faults()
    });
    let run = janitor_with(&emulator, CLEANUP, &[SCALE_ENV]);
    exactly_the_plan(&emulator, &run);
    let requests = emulator.requests();
    assert!(faults_of(&requests, "secondary-limit") > 0);
    assert!(
        run.stdout.contains("Rate limited (RetryAfter("),
        "{}",
        run.stdout
    );
}

#[test]
fn a_429_without_retry_after_backs_off_at_least_a_minute() {
    let emulator = Emulator::start(base().package(package(12))).unwrap();
    emulator.set_faults(Faults {
        points_per_minute: Some(20),
        secondary_429: true,
        secondary_retry_after: false,
        ..faults()
    });
    let run = janitor_with(&emulator, CLEANUP, &[SCALE_ENV]);
    exactly_the_plan(&emulator, &run);
    assert!(emulator.requests().iter().any(|r| r.status == 429));
    let waits: Vec<u64> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("Rate limited (Secondary)"))
        .filter_map(|l| {
            l.rsplit("waiting ")
                .next()?
                .trim_end_matches('s')
                .parse()
                .ok()
        })
        .collect();
    assert!(
        !waits.is_empty() && waits.iter().all(|w| *w >= 60),
        "{waits:?}"
    );
}

#[test]
fn pacing_to_the_configured_limit_meets_no_limit_answer() {
    // A slower clock than elsewhere: a millisecond of scheduling jitter must stay small
    // against the one-minute window.
    let emulator = Emulator::start(base().package(package(30))).unwrap();
    emulator.set_faults(Faults {
        points_per_minute: Some(60),
        time_scale: 60.0,
        ..Faults::default()
    });
    let run = janitor_with(
        &emulator,
        CLEANUP,
        &[
            ("PACKAGE_JANITOR_TIME_SCALE", "60"),
            ("PACKAGE_JANITOR_POINTS_PER_MINUTE", "60"),
        ],
    );
    exactly_the_plan(&emulator, &run);
    assert_eq!(faults_of(&emulator.requests(), "secondary-limit"), 0);
}

#[test]
fn a_spent_primary_budget_without_headers_is_waited_out_until_the_reset() {
    // A GITHUB_TOKEN whose answers carry no budget headers, so the plan cannot be cut to fit.
    let emulator = Emulator::start(base().package(package(12))).unwrap();
    emulator.set_faults(Faults {
        primary_limit: Some(6),
        omit_installation_rate_headers: true,
        time_scale: 3600.0,
        ..Faults::default()
    });
    let run = janitor_with(
        &emulator,
        &[
            ("token", GITHUB_TOKEN),
            ("owner", "acme"),
            ("packages", "web"),
            ("tags", "pr-*"),
            ("untagged", "true"),
        ],
        &[("PACKAGE_JANITOR_TIME_SCALE", "3600")],
    );
    exactly_the_plan(&emulator, &run);
    assert!(faults_of(&emulator.requests(), "primary-limit") > 0);
    assert!(
        run.stdout.contains("Rate limited (UntilReset("),
        "{}",
        run.stdout
    );
}

#[test]
fn a_plan_larger_than_the_budget_does_the_most_valuable_part_and_defers_the_rest() {
    let emulator = Emulator::start(base().package(package(30))).unwrap();
    emulator.set_faults(Faults {
        primary_limit: Some(20),
        ..faults()
    });
    let run = janitor_with(&emulator, CLEANUP, &[SCALE_ENV]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let planned = run.ids("planned-ids");
    let deleted = run.ids("deleted-ids");
    // 20 requests, 2 spent on the preflight and the listing, 1 kept in reserve (a tenth of
    // what is left, at least one): 17 changes.
    assert_eq!(deleted.len(), 17, "{}", run.stdout);
    // Untagged versions go first, then the oldest.
    let untagged: Vec<u64> = (0..30).filter(|i| i % 3 == 0 && *i > 0).map(id).collect();
    assert!(untagged.iter().all(|u| deleted.contains(u)), "{deleted:?}");
    assert_eq!(faults_of(&emulator.requests(), "primary-limit"), 0);
    let skipped = run.result()["packages"][0]["skipped"].clone();
    let deferred = skipped
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason_kind"] == "rate-limit-budget")
        .count();
    assert_eq!(deferred, planned.len() - 17);
    assert!(
        run.stdout.contains("::notice title=Rate-limit budget::"),
        "{}",
        run.stdout
    );
    assert_eq!(
        emulator.deleted_ids("acme", PackageType::Container, "web"),
        deleted
    );

    // A later run, with the budget back, finishes the job.
    emulator.set_faults(faults());
    let again = janitor_with(&emulator, CLEANUP, &[SCALE_ENV]);
    assert_eq!(again.code, 0);
    let all: BTreeSet<u64> = deleted
        .iter()
        .chain(again.ids("deleted-ids").iter())
        .copied()
        .collect();
    assert_eq!(all.into_iter().collect::<Vec<_>>(), planned);
}

fn one_fault_kind(f: Faults, kind: &str, extra_env: &[(&str, &str)]) {
    let emulator = Emulator::start(base().package(package(24))).unwrap();
    emulator.set_faults(Faults { seed: 7, ..f });
    let mut env = vec![SCALE_ENV];
    env.extend_from_slice(extra_env);
    let run = janitor_with(&emulator, CLEANUP, &env);
    exactly_the_plan(&emulator, &run);
    assert!(
        faults_of(&emulator.requests(), kind) > 0,
        "no {kind} happened"
    );
}

#[test]
fn server_errors_are_retried() {
    one_fault_kind(
        Faults {
            server_errors: 0.3,
            ..faults()
        },
        "server-error",
        &[],
    );
}

#[test]
fn a_delete_that_happened_behind_a_502_counts_as_deleted() {
    one_fault_kind(
        Faults {
            lost_answers: 0.4,
            ..faults()
        },
        "lost-answer",
        &[],
    );
}

#[test]
fn connection_resets_are_retried() {
    one_fault_kind(
        Faults {
            resets: 0.3,
            ..faults()
        },
        "reset",
        &[],
    );
}

#[test]
fn slow_answers_time_out_and_are_retried() {
    // Timeouts are real time: a 1 s timeout, and slow answers held 1.5 s, so a slow answer
    // always times out and a normal one never does, however busy the machine.
    one_fault_kind(
        Faults {
            slow: 0.2,
            slow_ms: 1500,
            ..faults()
        },
        "slow",
        &[("PACKAGE_JANITOR_TIMEOUT", "1s")],
    );
}

#[test]
fn a_restore_whose_answer_was_lost_counts_as_restored() {
    let emulator = Emulator::start(base().package(package(12))).unwrap();
    let deleted = janitor_with(&emulator, CLEANUP, &[SCALE_ENV]);
    let ids = deleted.output("deleted-ids").to_string();
    emulator.set_faults(Faults {
        lost_answers: 0.5,
        seed: 3,
        ..faults()
    });
    let restored = janitor_with(
        &emulator,
        &acme(&[("mode", "restore"), ("version-ids", &ids)]),
        &[SCALE_ENV],
    );
    assert_eq!(restored.code, 0, "{}", restored.stdout);
    assert_eq!(restored.ids("restored-ids"), deleted.ids("deleted-ids"));
    assert!(emulator
        .deleted_ids("acme", PackageType::Container, "web")
        .is_empty());
    assert!(faults_of(&emulator.requests(), "lost-answer") > 0);
}

/// Seeds for the randomized suite; `FAULT_SEEDS` overrides (e.g. 2000 for a long soak).
fn seeds() -> u64 {
    std::env::var("FAULT_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

/// One seeded run under a random mix of faults and limits: exactly the plan is carried out,
/// and on odd seeds exactly that is restored again.
fn seeded_run(seed: u64) {
    let versions = 6 + seed % 25;
    let emulator = Emulator::start(base().package(package(versions))).unwrap();
    let p = |n: u64| (seed.wrapping_mul(n) % 100) as f64 / 1000.0;
    emulator.set_faults(Faults {
        seed,
        server_errors: p(31),
        lost_answers: p(37),
        resets: p(41),
        slow: p(43) / 8.0,
        slow_ms: 1500,
        points_per_minute: seed.is_multiple_of(4).then_some(40),
        secondary_429: seed.is_multiple_of(8),
        time_scale: 3000.0,
        ..Faults::default()
    });
    // Waits run 3000 times faster; timeouts are real time (1 s, slow answers 1.5 s), so no
    // outcome depends on how busy the machine is.
    let run = janitor_with(
        &emulator,
        CLEANUP,
        &[
            ("PACKAGE_JANITOR_TIME_SCALE", "3000"),
            ("PACKAGE_JANITOR_TIMEOUT", "1s"),
        ],
    );
    let requests = emulator.requests();
    assert_eq!(run.code, 0, "seed {seed}: {}", run.stdout);
    let planned = run.ids("planned-ids");
    assert_eq!(run.ids("deleted-ids"), planned, "seed {seed}");
    assert_eq!(
        emulator.deleted_ids("acme", PackageType::Container, "web"),
        planned,
        "seed {seed}: {requests:?}"
    );
    assert_eq!(run.output("failed-count"), "0", "seed {seed}");

    // Every other seed undoes the cleanup under the same faults: exactly the deleted come back.
    if seed % 2 == 1 {
        let ids = run.output("deleted-ids").to_string();
        let restore = janitor_with(
            &emulator,
            &acme(&[("mode", "restore"), ("version-ids", &ids)]),
            &[
                ("PACKAGE_JANITOR_TIME_SCALE", "3000"),
                ("PACKAGE_JANITOR_TIMEOUT", "1s"),
            ],
        );
        assert_eq!(restore.code, 0, "seed {seed}: {}", restore.stdout);
        assert_eq!(restore.ids("restored-ids"), planned, "seed {seed}");
        assert!(
            emulator
                .deleted_ids("acme", PackageType::Container, "web")
                .is_empty(),
            "seed {seed}"
        );
    }
}

/// The seeded suite runs in four parts, so the test harness can run them side by side.
fn seeded_part(part: u64) {
    let parts = 4;
    for seed in (0..seeds()).filter(|s| s % parts == part) {
        seeded_run(seed);
    }
}

#[test]
fn seeded_random_faults_never_change_more_or_less_than_the_plan_part_1() {
    seeded_part(0);
}

#[test]
fn seeded_random_faults_never_change_more_or_less_than_the_plan_part_2() {
    seeded_part(1);
}

#[test]
fn seeded_random_faults_never_change_more_or_less_than_the_plan_part_3() {
    seeded_part(2);
}

#[test]
fn seeded_random_faults_never_change_more_or_less_than_the_plan_part_4() {
    seeded_part(3);
}
