//! `cargo bench --bench limits`: the real binary against the emulator under GitHub's limits.
//!
//! Prints, for packages of 10,000 versions (listing, container safety) and of 500 versions
//! of which 200 are deleted (pacing):
//! - requests sent vs the minimum (preflight + ceil(n/100) list pages + one per change);
//! - side by side for the default pace and for `mutations-per-minute: 180`: the sustained
//!   mutation rate, the most mutations in flight, the smallest spacing between two mutations'
//!   arrivals, the limit answers met and the requests that arrived within a `retry-after`;
//! - the time to list 10,000 versions with 100 ms of emulated latency (an npm package, so the
//!   figure is the listing alone, 4 pages in flight), and the time container safety takes to
//!   read 10,000 manifests at the same latency.
//!
//! Targets: requests equal to the minimum; at least 57 and 171 a minute; one in flight; no
//! limit answer; nothing sent within a `retry-after`; listing under 3 s.
#![allow(clippy::unwrap_used)] // A benchmark over fixed, valid data.

use chrono::{Duration, TimeZone, Utc};
use gh_emulator::scenario::{PackageSpec, PackageType, Scenario, VersionSpec};
use gh_emulator::{Emulator, Faults};
use std::process::Command;
use std::time::Instant;

const VERSIONS: u64 = 10_000;
/// The pacing runs: 500 versions of which 200 are deleted.
const PACED: u64 = 500;
const DELETED: u64 = 200;
/// Emulated time runs this much faster, so 3.3 emulated minutes of deletes take 20 s; slow
/// enough that the timer's millisecond and a request's real round trip stay small against
/// the spacing asked for (at 180 a minute, 33 ms of real time).
const SCALE: f64 = 10.0;

fn scenario(package_type: PackageType, versions: u64) -> Scenario {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut package = PackageSpec::new("acme", package_type, "web", 7001);
    for i in 0..versions {
        // Two in every five: `pr-` images.
        let tag = if i % 5 < 2 {
            format!("pr-{i}")
        } else {
            format!("v{i}")
        };
        package = package.version(VersionSpec::image(
            600_000_000 + i,
            &[tag.as_str()],
            t0 + Duration::minutes(i as i64),
        ));
    }
    Scenario::default()
        .org("acme", 54834211, &["alice"])
        .user("alice", 1001)
        .classic_pat(
            "ghp_bench",
            "alice",
            &["repo", "read:packages", "delete:packages"],
        )
        .package(package)
}

fn run(
    emulator: &Emulator,
    package_type: &str,
    dry_run: bool,
    scale: f64,
    pace: u32,
) -> std::time::Duration {
    let dir = std::env::temp_dir().join(format!("janitor-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_package-janitor"))
        .env_clear()
        .env("GITHUB_API_URL", emulator.url())
        .env("INPUT_REGISTRY-URL", emulator.url())
        .env("INPUT_PACKAGE-TYPE", package_type)
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("INPUT_TOKEN", "ghp_bench")
        .env("INPUT_OWNER", "acme")
        .env("INPUT_PACKAGES", "web")
        .env("INPUT_TAGS", "pr-*")
        .env("INPUT_DRY-RUN", dry_run.to_string())
        .env("INPUT_MUTATIONS-PER-MINUTE", pace.to_string())
        .env("PACKAGE_JANITOR_TIME_SCALE", scale.to_string())
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
    elapsed
}

fn main() {
    // Listing under latency: a dry run of an npm package is the preflight and the listing.
    let emulator = Emulator::start(scenario(PackageType::Npm, VERSIONS)).unwrap();
    emulator.set_faults(Faults {
        latency_ms: 100,
        points_per_minute: Some(900),
        ..Faults::default()
    });
    let listing = run(&emulator, "npm", true, 1.0, 60);
    let pages = emulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/versions"))
        .count();
    println!("listing: {VERSIONS} versions in {pages} pages with 100 ms latency, 4 in flight: {:.2} s (target < 3 s)", listing.as_secs_f64());

    // Container safety under the same latency: a dry run of the container package.
    let emulator = Emulator::start(scenario(PackageType::Container, VERSIONS)).unwrap();
    emulator.set_faults(Faults {
        latency_ms: 100,
        points_per_minute: Some(900),
        ..Faults::default()
    });
    let safety = run(&emulator, "container", true, 1.0, 60);
    let reads = emulator
        .requests()
        .iter()
        .filter(|r| r.path.contains("/manifests/"))
        .count();
    println!(
        "container safety: {reads} manifest reads with 100 ms latency; the dry run took {:.1} s",
        safety.as_secs_f64()
    );

    // Deleting under GitHub's secondary limit, on a fast clock, at each pace.
    println!("pace | mutations/min (sustained) | most in flight | smallest spacing | limit answers | sent within a retry-after | requests (minimum)");
    for pace in [60u32, 180] {
        let emulator = Emulator::start(scenario(PackageType::Container, PACED)).unwrap();
        emulator.set_faults(Faults {
            points_per_minute: Some(900),
            time_scale: SCALE,
            ..Faults::default()
        });
        run(&emulator, "container", false, SCALE, pace);
        let state = emulator.state();
        let requests: Vec<_> = state.log.iter().filter(|r| !r.registry).collect();
        let deletes: Vec<_> = requests
            .iter()
            .filter(|r| r.method == "DELETE" && r.status == 204)
            .collect();
        let limits: Vec<_> = requests
            .iter()
            .filter(|r| r.fault == Some("secondary-limit"))
            .collect();
        // `retry-after` is at least a second: anything arriving within it was sent too soon.
        let too_soon = limits
            .iter()
            .map(|limit| {
                requests
                    .iter()
                    .filter(|r| r.at > limit.at && r.at - limit.at < Duration::seconds(1))
                    .count()
            })
            .sum::<usize>();
        // The delete phase alone, in emulated time: from the first DELETE to the last.
        let first = deletes.iter().map(|r| r.at).min().unwrap();
        let last = deletes.iter().map(|r| r.at).max().unwrap();
        let minutes = (last - first).num_milliseconds() as f64 / 60_000.0;
        let rate = (deletes.len() - 1) as f64 / minutes;
        let spacing = state.min_mutation_spacing().unwrap();
        let minimum = 1 + PACED.div_ceil(100) + DELETED;
        println!(
            "{pace} | {rate:.1} | {} | {} ms | {} | {too_soon} | {} ({minimum})",
            state.max_mutations_in_flight,
            spacing.num_milliseconds(),
            limits.len(),
            requests.len(),
        );
    }
}
