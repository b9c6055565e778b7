//! The first hour (issue 13): the command line, the messages and the emulator as a new user
//! meets them, followed word for word from the README.

use crate::util::*;
use gh_emulator::Emulator;

#[test]
fn the_emulator_explains_itself_and_names_a_missing_scenario_file() {
    use gh_emulator::cli::{load, parse, Command, USAGE};
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(parse(&args(&["--help"])).unwrap(), Command::Help);
    assert!(USAGE.contains("Usage: gh-emulator --scenario FILE"));
    let error = parse(&args(&["--bogus"])).unwrap_err().to_string();
    assert!(
        error.contains("unknown argument '--bogus'") && error.contains("Usage:"),
        "{error}"
    );
    let error = format!("{:#}", load("no/such/scenario.yaml", None).unwrap_err());
    assert!(error.contains("'no/such/scenario.yaml'"), "{error}");
    // The README's scenario loads.
    let demo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/emulator/scenarios/demo.yaml"
    );
    assert!(load(demo, None).is_ok());
}

/// The binary on a command line, against the emulator, on acme's `web` with `extra` flags.
fn command_line(emulator: &Emulator, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["--owner", "acme", "--packages", "web"];
    args.extend_from_slice(extra);
    crate::cli::cli(Some(emulator), &args)
}

#[test]
fn a_first_command_line_dry_run_against_the_emulator_works_in_plain_text() {
    let package = images("web", &[&["pr-1"], &["pr-2"], &["v1"]]);
    let emulator = Emulator::start(base().package(package)).unwrap();
    // No --registry-url: a loopback API serves the registry beside it.
    let (code, stdout, stderr) = command_line(&emulator, &["--tags", "pr-*", "--dry-run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        !stdout.contains("::"),
        "no workflow commands on a terminal:\n{stdout}"
    );
    assert!(
        stdout.contains("== container web: 2 of 3 versions planned (dry run)"),
        "{stdout}"
    );
    let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(json["planned-count"], "2");
    assert!(emulator.requests().iter().any(|r| r.path == "/v2/"));
}

#[test]
fn an_unusable_registry_stops_the_run_once_before_any_change() {
    let package = images("web", &[&["pr-1"], &["v1"]]);
    let emulator = Emulator::start(base().package(package)).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (code, stdout, stderr) =
        command_line(&emulator, &["--tags", "pr-*", "--registry-url", &url]);
    assert_eq!(code, 2, "{stdout}");
    // On a command line errors go to stderr (issue 27, item 11).
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error: ")).count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "the registry {url} (given as `registry-url`) cannot be used"
        )),
        "{stderr}"
    );
    assert!(
        !stdout.lines().any(|l| l.starts_with("error: ")) && !stderr.contains("warning"),
        "{stdout}{stderr}"
    );
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
}

#[test]
fn list_flags_add_up_on_a_command_line() {
    let package = images("web", &[&["pr-1"], &["pr-2"], &["pr-3"], &["v1"]]);
    let emulator = Emulator::start(base().package(package)).unwrap();
    let (code, stdout, _) = command_line(&emulator, &["--tags", "pr-1", "--tags", "pr-2"]);
    assert_eq!(code, 0, "{stdout}");
    let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let mut deleted: Vec<&str> = json["deleted-ids"].as_str().unwrap().split(',').collect();
    deleted.sort_unstable();
    assert_eq!(deleted, [id(0).to_string(), id(1).to_string()]);
}

#[test]
fn a_tag_pattern_that_matches_nothing_is_a_warning_that_says_how_to_write_a_list() {
    let package = images("web", &[&["pr-101"], &["pr-102"], &["v1"]]);
    let emulator = Emulator::start(base().package(package)).unwrap();
    let cases = [
        ("pr-{101,102}", "braces `{a,b}` are not glob syntax here"),
        ("pr-101;pr-102", "semicolons do not separate patterns"),
        ("pr-101 pr-102", "spaces do not separate patterns"),
        (
            r#"["pr-101","pr-102"]"#,
            "a YAML/JSON flow list is not a list here",
        ),
        ("pr-103", ""),
    ];
    for (tags, hint) in cases {
        let run = janitor(&emulator, &acme(&[("tags", tags)]));
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert_eq!(run.output("planned-count"), "0");
        let expected = format!(
            "::warning title=No version matched::web: tags: '{tags}' matched none of its 3 versions"
        );
        assert!(run.stdout.contains(&expected), "{tags}: {}", run.stdout);
        assert!(run.stdout.contains(hint), "{tags}: {}", run.stdout);
        if !hint.is_empty() {
            assert!(run
                .stdout
                .contains("one pattern per line, or separate them with commas"));
        }
    }
}

#[test]
fn minutes_are_min_and_a_bare_m_is_refused_with_a_hint() {
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("older-than", "6m")]));
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("'6m' is ambiguous (minutes or months?): write '6min' for minutes"),
        "{}",
        run.stdout
    );
    assert!(emulator.requests().is_empty());
    let run = janitor(
        &emulator,
        &acme(&[("tags", "pr-*"), ("older-than", "6min")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn an_api_url_without_api_v3_is_suspected_when_the_owner_is_not_found() {
    let emulator = Emulator::start(base()).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "nobody"),
            ("packages", "web"),
            ("tags", "*"),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("owner 'nobody' does not exist"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("GITHUB_API_URL may be missing `/api/v3`"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_package_named_in_capitals_reads_its_manifests_under_the_lower_case_name() {
    // GitHub compares package names without case; OCI repository names are lower-case.
    let package = gh_emulator::scenario::PackageSpec::new(
        "acme",
        gh_emulator::PackageType::Container,
        "web",
        7001,
    )
    .repository("acme/web")
    .multi_arch(100, &["v1"], &["linux/amd64", "linux/arm64"], true, at(0))
    .multi_arch(200, &[], &["linux/amd64"], false, at(5));
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", "WEB"),
            ("untagged", "true"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(!run.stdout.contains("::warning"), "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [200, 201]);
}

#[test]
fn a_record_that_is_no_regular_file_stops_the_run_before_any_request() {
    // Issue 27, item 7 (SPEC §1): a device cannot hold a record, and a FIFO would block the
    // run forever: anything but a regular file (or /dev/null) is refused first.
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let fifo = fifo.to_str().unwrap();
    for (variable, path) in [
        ("GITHUB_STEP_SUMMARY", "/dev/full"),
        ("GITHUB_OUTPUT", fifo),
        ("GITHUB_OUTPUT", dir.path().to_str().unwrap()),
    ] {
        let run = janitor_with(&emulator, &acme(&[("tags", "pr-*")]), &[(variable, path)]);
        assert_eq!(run.code, 2, "{variable}={path}: {}", run.stdout);
        assert!(
            run.stdout.contains("is not a regular file"),
            "{}",
            run.stdout
        );
    }
    // /dev/null takes the records and throws them away.
    let run = janitor_with(
        &emulator,
        &acme(&[("tags", "pr-*"), ("dry-run", "true")]),
        &[("GITHUB_STEP_SUMMARY", "/dev/null")],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
    // Only the dry run asked anything.
    assert!(emulator
        .requests()
        .iter()
        .all(|r| r.method == "GET" || r.method == "HEAD"));
}

/// Issue 21, item 2: the plan is printed before the first change, the outcome at the end.
#[test]
fn the_plan_is_printed_before_the_first_change() {
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let at = |text: &str| {
        run.stdout
            .find(text)
            .unwrap_or_else(|| panic!("no {text:?} in {}", run.stdout))
    };
    let plan = at("The plan, before any change:");
    let planned = plan
        + run.stdout[plan..]
            .find("  delete")
            .expect("no planned fate");
    let progress = at("Progress:");
    let outcome = run.stdout.rfind("  deleted").expect("no outcome");
    assert!(planned < progress && progress < outcome, "{}", run.stdout);
}

/// Issue 21, item 8: re-running an undo says the versions are active already.
#[test]
fn an_undo_run_twice_says_the_versions_are_active_already() {
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*")]));
    let ids = run.output("deleted-ids").to_string();
    let undo = acme(&[("mode", "restore"), ("version-ids", ids.as_str())]);
    assert_eq!(janitor(&emulator, &undo).code, 0);
    let again = janitor(&emulator, &undo);
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert!(
        again.stdout.contains("active already (nothing to restore)"),
        "{}",
        again.stdout
    );
}

/// Issue 27, item 3 (SPEC §1): a value that is not UTF-8, an input variable that names no
/// input, an argument that is not UTF-8: each an input error before any request, never a
/// dropped value (a dropped `dry-run` deletes for real) nor a panic.
#[test]
fn unreadable_and_misnamed_inputs_stop_before_any_request() {
    use std::os::unix::ffi::OsStrExt as _;
    let emulator =
        Emulator::start(base().package(crate::util::images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let inputs = acme(&[("tags", "pr-*")]);

    let (mut command, dir) = janitor_command(&emulator, &inputs);
    command.env("INPUT_DRY-RUN", std::ffi::OsStr::from_bytes(b"tr\xffue"));
    let run = finished(&command.output().unwrap(), &dir);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("INPUT_DRY-RUN holds bytes that are not UTF-8"),
        "{}",
        run.stdout
    );

    let (mut command, dir) = janitor_command(&emulator, &inputs);
    command.env("INPUT_DRY_RUN", "true");
    let run = finished(&command.output().unwrap(), &dir);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("did you mean `dry-run`"),
        "{}",
        run.stdout
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_package-janitor"))
        .env_clear()
        .env("GITHUB_API_URL", emulator.url())
        .env("GITHUB_TOKEN", PAT)
        .arg("--owner")
        .arg(std::ffi::OsStr::from_bytes(b"ac\xffme"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "not a panic");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
    assert!(emulator.requests().is_empty(), "{:?}", emulator.requests());
}
