//! Command-line mode: flags that mirror the inputs, help from action.yml, JSON on stdout.

use crate::util::*;
use gh_emulator::scenario::PackageType;
use gh_emulator::Emulator;
use std::process::Command;

/// The binary on a command line: no `GITHUB_ACTIONS`, flags, the token from `GITHUB_TOKEN`,
/// waits sped up.
pub fn cli(emulator: Option<&Emulator>, args: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_package-janitor"));
    command
        .env_clear()
        .env("GITHUB_TOKEN", PAT)
        .env("PACKAGE_JANITOR_TIME_SCALE", "1000")
        .args(args);
    if let Some(emulator) = emulator {
        command.env("GITHUB_API_URL", emulator.url());
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_every_input_but_the_token_from_action_yml() {
    let (code, help, _) = cli(None, &["--help"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("help", help);
    for input in package_janitor::config::INPUTS
        .iter()
        .filter(|i| **i != "token")
    {
        assert!(
            help.contains(&format!("  --{input}")),
            "--{input} missing from --help"
        );
    }
    let (code, version, _) = cli(None, &["--version"]);
    assert_eq!(
        (code, version.trim()),
        (0, concat!("package-janitor ", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn a_command_line_run_prints_the_outputs_as_json_and_the_summary_on_stderr() {
    let emulator =
        Emulator::start(base().package(images("web", &[&["pr-1"], &["pr-2"], &["v1"]]))).unwrap();
    let url = emulator.url().to_string();
    let (code, stdout, stderr) = cli(
        Some(&emulator),
        &[
            "--owner",
            "acme",
            "--packages",
            "web",
            "--tags",
            "pr-*",
            "--registry-url",
            &url,
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    // The outputs are stdout's last line, ready for `tail -1 | jq`.
    let json = stdout.lines().last().unwrap();
    let outputs: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(outputs["deleted-count"], "2");
    assert_eq!(outputs["result"]["owner"], "acme");
    assert!(stderr.contains("## package-janitor: delete"), "{stderr}");
    // Issue 21, item 9: the plan once on a terminal — the log's table, not the summary's too.
    assert!(stdout.contains("fate"), "{stdout}");
    assert!(
        !stderr.contains("| Version | Tags |") && !stderr.contains("|---"),
        "{stderr}"
    );
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [id(2)]
    );
    assert!(!stdout.contains(PAT) && !stderr.contains(PAT));
    // `::add-mask::` is for the Actions log; on a terminal it would show the registry token.
    assert!(
        !stdout.contains("::add-mask::") && !stdout.contains("rt_"),
        "{stdout}"
    );
}

#[test]
fn a_bare_boolean_flag_means_true_and_bad_flags_stop_before_any_request() {
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let url = emulator.url().to_string();
    let (code, stdout, _) = cli(
        Some(&emulator),
        &[
            "--owner",
            "acme",
            "--packages",
            "web",
            "--tags",
            "pr-*",
            "--dry-run",
            "--registry-url",
            &url,
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("\"dry_run\":true"), "{stdout}");
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
    let before = emulator.requests().len();
    let (code, _, stderr) = cli(Some(&emulator), &["--owner", "acme", "--pakages", "web"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown flag '--pakages'"), "{stderr}");
    assert_eq!(emulator.requests().len(), before);
}

/// Issue 21, item 9: on a command line the messages name flags, and outputs are never lost to a
/// closed stdout.
#[test]
fn a_command_line_names_its_flags_and_keeps_the_outputs_when_stdout_closes() {
    let (code, _, stderr) = cli(None, &["--packages", "web", "--tags", "pr-*"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--owner: is not given, and neither is GITHUB_REPOSITORY_OWNER"),
        "{stderr}"
    );
    // Piped into something that stops reading at once (`| head -0`): the JSON goes to stderr.
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_package-janitor"))
        .env_clear()
        .env("GITHUB_TOKEN", PAT)
        .env("GITHUB_API_URL", emulator.url())
        .env("PACKAGE_JANITOR_TIME_SCALE", "1000")
        .args([
            "--owner",
            "acme",
            "--packages",
            "web",
            "--tags",
            "pr-*",
            "--dry-run",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stdout was closed before the outputs were written"),
        "{stderr}"
    );
    let json = stderr.lines().last().unwrap();
    let outputs: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(outputs["planned-count"], "1");
}
