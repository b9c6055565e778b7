#![allow(unsafe_code, clippy::unwrap_used)] // wait4 for the child's peak memory; fixed data.
//! `cargo bench --bench scale`: the real binary against the emulator at 80 ms a read, on the
//! world of issue 26: 25,000 multi-arch images (an index tagged `vN` or `pr-N` over two
//! platform images and an attestation) and 5,000 orphans, 105,000 versions, each named by the
//! true digest of its bytes. A dry run of `untagged: true` with `manifest-cache`, twice: the
//! first run, then the repeat run with the cache the first one wrote. Then the same for
//! `tags: pr-*`.
//!
//! Prints for each run: wall time, peak memory (the child's maximum resident set, from
//! `wait4`), bytes per version, and requests by kind (REST, registry HEAD, GET, token).
//!
//! Targets (issue 26): under 3 minutes and 100 MiB; a repeat run downloads no manifest and
//! sends at most 10% of the first run's registry requests.
//!
//! `BENCH_IMAGES=2500 cargo bench --bench scale` runs a tenth of the world (orphans are a
//! fifth of the images); `BENCH_LATENCY_MS` sets the latency.

use chrono::{Duration, TimeZone, Utc};
use gh_emulator::scenario::{PackageSpec, PackageType, Scenario, VersionSpec, OCI_INDEX};
use gh_emulator::{Emulator, Faults};
use serde_json::json;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

fn number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A plain image manifest whose bytes are its own (an annotation names it).
fn plain(id: u64, at: chrono::DateTime<Utc>) -> VersionSpec {
    VersionSpec::image(id, &[], at).with_true_digest()
}

fn world(images: u64) -> Scenario {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut package =
        PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web");
    for k in 0..images {
        let at = t0 + Duration::minutes(k as i64);
        let first = 1_000_000 + 4 * k;
        let amd = plain(first + 1, at);
        let arm = plain(first + 2, at);
        let attestation = plain(first + 3, at);
        let entry = |v: &VersionSpec, arch: &str| {
            json!({"mediaType": v.media_type(), "digest": v.name, "size": 1000,
                   "platform": {"architecture": arch, "os": "linux"}})
        };
        let mut attested = entry(&attestation, "unknown");
        attested["platform"]["os"] = json!("unknown");
        attested["annotations"] = json!({
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": amd.name,
        });
        // Two in every five are pull-request builds.
        let tag = if k % 5 < 2 {
            format!("pr-{k}")
        } else {
            format!("v{k}")
        };
        let mut index = VersionSpec::image(first, &[tag.as_str()], at + Duration::seconds(1));
        index.manifest = Some(json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [entry(&amd, "amd64"), entry(&arm, "arm64"), attested],
        }));
        package = package
            .version(amd)
            .version(arm)
            .version(attestation)
            .version(index.with_true_digest());
    }
    for j in 0..images / 5 {
        package = package.version(plain(2_000_000 + j, t0 + Duration::minutes(j as i64 * 5)));
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

struct Figures {
    seconds: f64,
    peak_bytes: u64,
    rest: usize,
    heads: usize,
    gets: usize,
    tokens: usize,
}

/// `scale --measure <program>`: run the program with this process's environment, wait for
/// it with `wait4`, and print its exit code and maximum resident set in bytes. A small
/// process of its own, because Linux counts the resident set a child had before `exec` (here
/// the whole world the benchmark built) in its maximum.
fn measure(program: &str) -> ! {
    let child = Command::new(program).stdout(Stdio::null()).spawn().unwrap();
    let mut status: libc::c_int = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let status = std::process::ExitStatus::from_raw(status);
    println!(
        "{} {}",
        status.code().unwrap_or(-1),
        usage.ru_maxrss as u64 * 1024
    );
    std::process::exit(0)
}

fn run(emulator: &Emulator, workspace: &Path, selection: (&str, &str)) -> Figures {
    let before = emulator.requests().len();
    let start = Instant::now();
    let measured = Command::new(std::env::current_exe().unwrap())
        .arg("--measure")
        .arg(env!("CARGO_BIN_EXE_package-janitor"))
        .env_clear()
        .env("GITHUB_API_URL", emulator.url())
        .env("GITHUB_WORKSPACE", workspace)
        .env("GITHUB_OUTPUT", workspace.join("output"))
        .env("GITHUB_STEP_SUMMARY", workspace.join("summary"))
        .env("GITHUB_ACTIONS", "true")
        .env("INPUT_REGISTRY-URL", emulator.url())
        .env("INPUT_TOKEN", "ghp_bench")
        .env("INPUT_OWNER", "acme")
        .env("INPUT_PACKAGES", "web")
        .env(format!("INPUT_{}", selection.0.to_uppercase()), selection.1)
        .env("INPUT_DRY-RUN", "true")
        .env("INPUT_MANIFEST-CACHE", ".cache/manifests.json")
        .current_dir(workspace)
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let said = String::from_utf8_lossy(&measured.stdout);
    let (code, peak_bytes) = said.trim().split_once(' ').unwrap();
    assert_eq!(code, "0", "the run failed");
    let peak_bytes: u64 = peak_bytes.parse().unwrap();
    let state = emulator.state();
    let requests = &state.log[before..];
    let registry = |method: &str| {
        requests
            .iter()
            .filter(|r| r.registry && r.method == method && r.path.contains("/manifests/"))
            .count()
    };
    Figures {
        seconds,
        peak_bytes,
        rest: requests.iter().filter(|r| !r.registry).count(),
        heads: registry("HEAD"),
        gets: registry("GET"),
        tokens: requests
            .iter()
            .filter(|r| r.registry && !r.path.contains("/manifests/"))
            .count(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--measure") {
        measure(&args[at + 1]);
    }
    let images = number("BENCH_IMAGES", 25_000);
    let latency = number("BENCH_LATENCY_MS", 80);
    let versions = images * 4 + images / 5;
    let started = Instant::now();
    let scenario = world(images);
    println!(
        "world: {images} multi-arch images and {} orphans = {versions} versions, built in {:.1} s; {latency} ms a read, 900 points a minute",
        images / 5,
        started.elapsed().as_secs_f64()
    );
    println!(
        "selection | run | wall | peak memory | bytes/version | REST | registry HEAD | GET | token"
    );
    for selection in [("untagged", "true"), ("tags", "pr-*")] {
        let emulator = Emulator::start(scenario.clone()).unwrap();
        emulator.set_faults(Faults {
            latency_ms: latency,
            points_per_minute: Some(900),
            ..Faults::default()
        });
        let workspace = tempfile::tempdir().unwrap();
        let first = run(&emulator, workspace.path(), selection);
        let repeat = run(&emulator, workspace.path(), selection);
        for (name, f) in [("first", &first), ("repeat", &repeat)] {
            println!(
                "{}: {} | {name} | {:.1} s | {:.1} MiB | {} | {} | {} | {} | {}",
                selection.0,
                selection.1,
                f.seconds,
                f.peak_bytes as f64 / (1024.0 * 1024.0),
                f.peak_bytes / versions,
                f.rest,
                f.heads,
                f.gets,
                f.tokens
            );
        }
        let first_registry = first.heads + first.gets;
        println!(
            "  repeat run: {} manifest downloads (target 0); registry requests {:.1}% of the first run's (target <= 10%)",
            repeat.gets,
            100.0 * (repeat.heads + repeat.gets) as f64 / first_registry.max(1) as f64
        );
    }
}
