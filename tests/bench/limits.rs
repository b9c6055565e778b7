//! `cargo bench --bench limits`: the real binary against the emulator under GitHub's limits.
//!
//! Prints, for a package of 10,000 versions of which 4,000 are deleted:
//! - requests sent vs the minimum (preflight + ceil(n/100) list pages + one per change);
//! - the mutation rate achieved vs the configured limit, and the limit answers met;
//! - the time to list 10,000 versions with 100 ms of emulated latency (an npm package, so the
//!   figure is the listing alone), and the time container safety takes to read 10,000
//!   manifests at the same latency.
//!
//! Targets: requests equal to the minimum; rate at least 95% of the limit with no limit
//! answer; listing under 1.5 s.
#![allow(clippy::unwrap_used)] // A benchmark over fixed, valid data.

use chrono::{Duration, TimeZone, Utc};
use gh_emulator::scenario::{PackageSpec, PackageType, Scenario, VersionSpec};
use gh_emulator::{Emulator, Faults};
use std::process::Command;
use std::time::Instant;

const VERSIONS: u64 = 10_000;
const DELETED: u64 = 4_000;
/// Emulated time runs this much faster, so 22 emulated minutes of deletes take seconds.
const SCALE: f64 = 300.0;

fn scenario(package_type: PackageType) -> Scenario {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut package = PackageSpec::new("acme", package_type, "web", 7001);
    for i in 0..VERSIONS {
        // Every 5th of the first 10,000 versions, twice over: 4,000 `pr-` images.
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

fn run(emulator: &Emulator, package_type: &str, dry_run: bool, scale: f64) -> std::time::Duration {
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

fn is_rest(path: &str) -> bool {
    path != "/token" && !path.starts_with("/v2/")
}

fn main() {
    // Listing under latency: a dry run of an npm package is the preflight and the listing.
    let emulator = Emulator::start(scenario(PackageType::Npm)).unwrap();
    emulator.set_faults(Faults {
        latency_ms: 100,
        points_per_minute: Some(900),
        ..Faults::default()
    });
    let listing = run(&emulator, "npm", true, 1.0);
    let pages = emulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/versions"))
        .count();
    println!("listing: {VERSIONS} versions in {pages} pages with 100 ms latency: {:.2} s (target < 1.5 s)", listing.as_secs_f64());

    // Container safety under the same latency: a dry run of the container package.
    let emulator = Emulator::start(scenario(PackageType::Container)).unwrap();
    emulator.set_faults(Faults {
        latency_ms: 100,
        points_per_minute: Some(900),
        ..Faults::default()
    });
    let safety = run(&emulator, "container", true, 1.0);
    let reads = emulator
        .requests()
        .iter()
        .filter(|r| r.path.contains("/manifests/"))
        .count();
    println!(
        "container safety: {reads} manifest reads with 100 ms latency; the dry run took {:.1} s",
        safety.as_secs_f64()
    );

    // Deleting under GitHub's secondary limit, on a fast clock.
    let emulator = Emulator::start(scenario(PackageType::Container)).unwrap();
    emulator.set_faults(Faults {
        points_per_minute: Some(900),
        time_scale: SCALE,
        ..Faults::default()
    });
    run(&emulator, "container", false, SCALE);
    let requests: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| is_rest(&r.path))
        .collect();
    let deletes = requests
        .iter()
        .filter(|r| r.method == "DELETE" && r.status == 204)
        .count() as u64;
    let limit_answers = requests
        .iter()
        .filter(|r| r.fault == Some("secondary-limit"))
        .count();
    let minimum = 1 + VERSIONS.div_ceil(100) + DELETED;
    println!(
        "requests: {} sent to the REST API, minimum {minimum} (preflight 1 + {} pages + {DELETED} deletes)",
        requests.len(),
        VERSIONS.div_ceil(100)
    );
    // The delete phase alone, in emulated time: from the first DELETE to the last.
    let times: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.at)
        .collect();
    let span = *times.iter().max().unwrap() - *times.iter().min().unwrap();
    let minutes = span.num_milliseconds() as f64 / 60_000.0;
    let rate = deletes as f64 / minutes;
    println!(
        "mutations: {deletes} in {minutes:.1} emulated minutes = {rate:.0}/min, {:.1}% of the 180/min limit; {limit_answers} limit answers",
        rate / 180.0 * 100.0
    );
}
