//! The helper DSL: a standard scenario, running the real binary against the emulator with a
//! clean environment, and reading back what it wrote.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gh_emulator::scenario::{PackageSpec, PackageType, Scenario, VersionSpec};
use gh_emulator::{Emulator, LoggedRequest};
use std::collections::BTreeMap;
use std::process::Command;

/// A token string that must never appear in anything the binary writes.
pub const PAT: &str = "ghp_Zq9sEcReTtOkEnThAtMuStNeVeRlEaK01";
/// A GITHUB_TOKEN issued for a run in `acme/web`.
pub const GITHUB_TOKEN: &str = "ghs_InStAlLaTiOnToKeNfOrAcMeWeB00000000";
/// Octocat's own PAT.
pub const OCTOCAT_PAT: &str = "ghp_OcToCaTsOwNcLaSsIcPaT000000000000";
/// A GITHUB_TOKEN issued for a run in `octocat/tool`.
pub const OCTOCAT_GITHUB_TOKEN: &str = "ghs_InStAlLaTiOnToKeNfOrOcToCaTtOoL00";
pub const FINE_GRAINED: &str = "github_pat_11FiNeGrAiNeD0000000000000000";

pub const ALL_SCOPES: &[&str] = &["repo", "read:packages", "write:packages", "delete:packages"];

/// A fixed point in the past that version times are built from.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// `t0` plus `minutes`.
pub fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

/// The organization `acme` (alice is an admin), the user `octocat`, their tokens.
pub fn base() -> Scenario {
    Scenario::default()
        .org("acme", 54834211, &["alice"])
        .user("alice", 1001)
        .user("octocat", 583231)
        .classic_pat(PAT, "alice", ALL_SCOPES)
        .github_token(GITHUB_TOKEN, "acme/web")
        .classic_pat(OCTOCAT_PAT, "octocat", ALL_SCOPES)
        .github_token(OCTOCAT_GITHUB_TOKEN, "octocat/tool")
        .fine_grained_pat(FINE_GRAINED, "alice")
}

/// A container package of `acme` linked to `acme/web`, versions given as tag lists
/// (id = 600_000_000 + index, created one minute apart in that order).
pub fn images(name: &str, tags: &[&[&str]]) -> PackageSpec {
    let mut package =
        PackageSpec::new("acme", PackageType::Container, name, 7001).repository("acme/web");
    for (i, t) in tags.iter().enumerate() {
        package = package.version(VersionSpec::image(600_000_000 + i as u64, t, at(i as i64)));
    }
    package
}

pub fn id(index: u64) -> u64 {
    600_000_000 + index
}

/// alice's PAT on `acme`'s `web` package, plus `extra` inputs.
pub fn acme<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut inputs = vec![("token", PAT), ("owner", "acme"), ("packages", "web")];
    inputs.extend_from_slice(extra);
    inputs
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// `$GITHUB_OUTPUT`, parsed.
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
}

impl Run {
    pub fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no output {name}; stdout:\n{}", self.stdout))
    }

    pub fn ids(&self, name: &str) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .output(name)
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    }

    pub fn result(&self) -> serde_json::Value {
        serde_json::from_str(self.output("result")).unwrap()
    }

    /// Everything the binary wrote, for leak checks.
    pub fn everything(&self) -> String {
        format!(
            "{}\n{}\n{:?}\n{}",
            self.stdout, self.stderr, self.outputs, self.summary
        )
    }
}

/// Run the real binary against `emulator` with a clean environment: `GITHUB_API_URL`, the
/// file commands, and `INPUT_*` from `inputs` (names as in action.yml, hyphens kept).
pub fn janitor(emulator: &Emulator, inputs: &[(&str, &str)]) -> Run {
    janitor_with(emulator, inputs, &[])
}

/// As [`janitor`], with extra environment variables (limits, time scale).
pub fn janitor_with(emulator: &Emulator, inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Run {
    let (mut command, dir) = janitor_command(emulator, inputs);
    command.envs(env.iter().copied());
    let before = emulator.requests().len();
    let out = command.output().unwrap();
    crate::openapi::assert_valid_operations(&emulator.requests()[before..]);
    finished(&out, &dir)
}

/// The binary set up to run against `emulator` with a clean environment: `GITHUB_API_URL`,
/// the file commands in a fresh directory (returned: it must outlive the run), and
/// `INPUT_*` from `inputs` (names as in action.yml, hyphens kept). Waits (the
/// one-a-second pacing of mutations, backoff) are sped up unless the caller sets its own
/// scale; timeouts are real time, so a busy machine changes no outcome.
pub fn janitor_command(
    emulator: &Emulator,
    inputs: &[(&str, &str)],
) -> (Command, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let output_file = dir.path().join("output");
    std::fs::write(&output_file, "").unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_package-janitor"));
    command
        .env_clear()
        .env("GITHUB_API_URL", emulator.url())
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary"))
        .env("GITHUB_ACTIONS", "true")
        .env("INPUT_REGISTRY-URL", emulator.url())
        .env("PACKAGE_JANITOR_TIME_SCALE", "1000")
        .current_dir(dir.path());
    for (name, value) in inputs {
        command.env(format!("INPUT_{}", name.to_uppercase()), value);
    }
    (command, dir)
}

/// What a finished run wrote, read from its directory.
pub fn finished(out: &std::process::Output, dir: &tempfile::TempDir) -> Run {
    let output = std::fs::read_to_string(dir.path().join("output")).unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs: parse_output_file(&output),
        summary: std::fs::read_to_string(dir.path().join("summary")).unwrap_or_default(),
    }
}

/// Parse `$GITHUB_OUTPUT` as the runner does: `name=value` lines and `name<<DELIM` blocks.
pub fn parse_output_file(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            assert!(
                delimiter.starts_with("ghadelimiter_"),
                "delimiter {delimiter}"
            );
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delimiter {
                    break;
                }
                value.push(l);
            }
            outputs.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_string(), value.to_string());
        }
    }
    outputs
}

/// The log as `METHOD path?query -> status` lines.
pub fn log_lines(requests: &[LoggedRequest]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            let q = if r.query.is_empty() {
                String::new()
            } else {
                format!("?{}", r.query)
            };
            format!("{} {}{} -> {}", r.method, r.path, q, r.status)
        })
        .collect()
}

/// REST requests of `method` (the registry's `/token` and `/v2/` left out).
pub fn count(requests: &[LoggedRequest], method: &str) -> usize {
    rest(requests).iter().filter(|r| r.method == method).count()
}

/// The REST API's requests only, without the registry's.
pub fn rest(requests: &[LoggedRequest]) -> Vec<LoggedRequest> {
    requests.iter().filter(|r| !r.registry).cloned().collect()
}

/// The registry's manifest requests of `method` (`HEAD` looks, `GET` reads, which count as
/// downloads).
pub fn manifest_requests(requests: &[LoggedRequest], method: &str) -> usize {
    requests
        .iter()
        .filter(|r| r.method == method && r.path.contains("/manifests/"))
        .count()
}
