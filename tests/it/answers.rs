//! Answers the emulator did not give before, and the promises that must hold under each
//! (issue 10): every test here failed before its fix. Each runs the real binary against the
//! emulator with one of its quirks switched on, or against a plain TCP listener.

use crate::util::*;
use gh_emulator::scenario::{digest, Account, AccountKind, PackageSpec, PackageType, VersionSpec};
use gh_emulator::{Emulator, Faults, Quirks};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

const PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64"];

fn web() -> PackageSpec {
    PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web")
}

/// A plain TCP listener that keeps the raw bytes of every request head it receives and
/// answers each with `answer(request_line)`.
struct Recorder {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start(answer: fn(&str, &str) -> String) -> Recorder {
        Recorder::serve(answer, false)
    }

    /// As [`Recorder::start`], `answer` given the request's whole head, not its first line.
    fn start_with_head(answer: fn(&str, &str) -> String) -> Recorder {
        Recorder::serve(answer, true)
    }

    fn serve(answer: fn(&str, &str) -> String, whole_head: bool) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let kept = heads.clone();
        let base = url.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let Some(head) = read_head(&stream) else {
                    continue;
                };
                let line = head.lines().next().unwrap_or_default().to_string();
                kept.lock().unwrap().push(head.clone());
                let mut stream = stream;
                let asked = if whole_head {
                    head.as_str()
                } else {
                    line.as_str()
                };
                let _ = stream.write_all(answer(asked, &base).as_bytes());
            }
        });
        Recorder { url, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn read_head(mut stream: &TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while !bytes.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        bytes.push(byte[0]);
    }
    String::from_utf8(bytes).ok()
}

fn reply(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The header names of a raw request head that occur more than once (case-insensitive).
fn repeated_fields(head: &str) -> Vec<String> {
    let mut names: Vec<String> = head
        .lines()
        .skip(1)
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, _)| n.trim().to_ascii_lowercase())
        })
        .collect();
    names.sort();
    let mut repeated: Vec<String> = names
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0].clone())
        .collect();
    repeated.dedup();
    repeated
}

#[test]
fn no_header_field_goes_out_twice_to_the_api_or_the_registry() {
    // The API: the first request's raw bytes, answered 401 so the run stops there.
    let api =
        Recorder::start(|_, _| reply("401 Unauthorized", "", r#"{"message":"Bad credentials"}"#));
    let emulator = Emulator::start(base()).unwrap();
    let mut inputs = acme(&[("tags", "pr-*")]);
    inputs.push(("registry-url", emulator.url()));
    let run = run_with_api(&api.url, &inputs);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let heads = api.heads();
    assert!(!heads.is_empty());
    for head in &heads {
        assert_eq!(repeated_fields(head), Vec::<String>::new(), "{head}");
        let lower = head.to_ascii_lowercase();
        assert_eq!(
            lower.matches("x-github-api-version: 2022-11-28").count(),
            1,
            "{head}"
        );
        assert_eq!(lower.matches("user-agent:").count(), 1, "{head}");
    }

    // The registry: the `/v2/` check and the token exchange, each read raw.
    let registry = Recorder::start(|line, base| {
        if line.starts_with("GET /v2/ ") {
            let challenge =
                format!("WWW-Authenticate: Bearer realm=\"{base}/token\",service=\"ghcr.io\"\r\n");
            reply("401 Unauthorized", &challenge, "{}")
        } else {
            reply("401 Unauthorized", "", "{}")
        }
    });
    let emulator =
        Emulator::start(base().package(web().multi_arch(100, &["v1"], PLATFORMS, false, at(0))))
            .unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("untagged", "true"), ("registry-url", &registry.url)]),
    );
    assert_eq!(
        run.code, 1,
        "fails closed without manifests: {}",
        run.stdout
    );
    let heads = registry.heads();
    assert!(
        heads.iter().any(|h| h.starts_with("GET /v2/ ")),
        "{heads:?}"
    );
    assert!(
        heads.iter().any(|h| h.starts_with("GET /token?")),
        "{heads:?}"
    );
    for head in &heads {
        assert_eq!(repeated_fields(head), Vec::<String>::new(), "{head}");
    }
    // Nothing untagged was deleted without the manifests.
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [100, 101, 102]
    );
}

/// `janitor` with the API at `api_url` instead of an emulator.
fn run_with_api(api_url: &str, inputs: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_package-janitor"));
    command
        .env_clear()
        .env("GITHUB_API_URL", api_url)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_ACTIONS", "true")
        .env("PACKAGE_JANITOR_TIME_SCALE", "100")
        .current_dir(dir.path());
    for (name, value) in inputs {
        command.env(format!("INPUT_{}", name.to_uppercase()), value);
    }
    let out = command.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs: parse_output_file(&std::fs::read_to_string(&output).unwrap_or_default()),
        summary: String::new(),
    }
}

#[test]
fn the_emulator_refuses_a_repeated_api_version_as_a_proxy_would_pass_it() {
    let emulator = Emulator::start(base()).unwrap();
    let addr = emulator.url().trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "GET /users/acme HTTP/1.1\r\nHost: {addr}\r\nX-GitHub-Api-Version: 2022-11-28\r\n\
         X-GitHub-Api-Version: 2022-11-28\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");
    assert!(
        raw.contains("x-github-api-version: 2022-11-28, 2022-11-28"),
        "{raw}"
    );
}

#[test]
fn a_manifest_without_an_image_media_type_is_read_and_a_tagged_index_keeps_its_children() {
    // `application/json`, no Content-Type at all, and no `mediaType` in the body either.
    let answers = [
        Quirks {
            manifest_content_type: Some("application/json".into()),
            ..Quirks::default()
        },
        Quirks {
            manifest_content_type: Some(String::new()),
            manifest_without_media_type: true,
            ..Quirks::default()
        },
    ];
    for quirks in answers {
        let package = web()
            .multi_arch(100, &["v1"], PLATFORMS, true, at(0))
            .multi_arch(200, &[], &["linux/amd64"], false, at(5));
        let emulator = Emulator::start(base().package(package)).unwrap();
        emulator.set_quirks(quirks.clone());
        let run = janitor(&emulator, &acme(&[("untagged", "true")]));
        assert_eq!(run.code, 0, "{quirks:?}: {}", run.stdout);
        // Only the orphaned index 200 and its image go; v1's four children stay.
        assert_eq!(run.ids("deleted-ids"), [200, 201], "{quirks:?}");
        assert_eq!(
            emulator.active_ids("acme", PackageType::Container, "web"),
            [100, 101, 102, 103, 104]
        );
        assert!(run.stdout.contains("used by v1"), "{}", run.stdout);
    }
}

/// `old` (100: two platforms, attestations, a signature 150) deleted by an earlier run.
fn deleted_signed_image(emulator: &Emulator) {
    let run = janitor(emulator, &acme(&[("tags", "old")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [100, 101, 102, 103, 104, 150]);
}

fn signed_image() -> PackageSpec {
    web()
        .multi_arch(100, &["old"], PLATFORMS, true, at(0))
        .signature(150, 100, at(1))
        .multi_arch(200, &["v2"], PLATFORMS, false, at(5))
}

#[test]
fn max_changes_counts_the_parts_a_restore_may_add_before_anything_changes() {
    let emulator = Emulator::start(base().package(signed_image())).unwrap();
    deleted_signed_image(&emulator);
    let before = emulator.requests().len();
    // One restore planned (the tag `old`), five parts behind it: a cap of 1 holds the run.
    let run = janitor(
        &emulator,
        &acme(&[("mode", "restore"), ("tags", "old"), ("max-changes", "1")]),
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("may bring back up to 5 deleted parts"),
        "{}",
        run.stdout
    );
    assert_eq!(run.output("restored-count"), "0");
    assert_eq!(count(&emulator.requests()[before..], "POST"), 0);
    assert_eq!(
        emulator.deleted_ids("acme", PackageType::Container, "web"),
        [100, 101, 102, 103, 104, 150]
    );
    // A cap that covers the parts lets the whole image come back.
    let run = janitor(
        &emulator,
        &acme(&[("mode", "restore"), ("tags", "old"), ("max-changes", "6")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [100, 101, 102, 103, 104, 150]);
}

#[test]
fn an_index_unreadable_after_its_restore_is_a_failure_that_names_it() {
    let emulator = Emulator::start(base().package(signed_image())).unwrap();
    deleted_signed_image(&emulator);
    {
        let mut state = emulator.state();
        let version = state.packages[0]
            .versions
            .iter_mut()
            .find(|v| v.id == 100)
            .unwrap();
        version.unreadable = true;
    }
    let run = janitor_with(
        &emulator,
        &acme(&[("mode", "restore"), ("tags", "old")]),
        &[("PACKAGE_JANITOR_TIME_SCALE", "100")],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "::error title=Restore failed::web version 100: {} (old) was restored, but not whole",
            digest(100)
        )),
        "{}",
        run.stdout
    );
    // The index and its signature (a referrer, known from the listing) came back; the
    // platform images could not be learnt.
    assert_eq!(run.ids("restored-ids"), [100, 150]);
}

#[test]
fn use_regex_keeps_a_hyphenated_name_exact_so_a_github_token_needs_no_listing() {
    let mut package =
        PackageSpec::new("acme", PackageType::Container, "my-app", 7002).repository("acme/web");
    for (i, tag) in ["pr-12", "pr-13", "v1"].iter().enumerate() {
        package = package.version(VersionSpec::image(id(i as u64), &[tag], at(i as i64)));
    }
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", GITHUB_TOKEN),
            ("owner", "acme"),
            ("packages", "my-app"),
            ("use-regex", "true"),
            ("tags", r"pr-\d+"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(0), id(1)]);
    assert!(!emulator
        .requests()
        .iter()
        .any(|r| r.path == "/orgs/acme/packages"));
}

#[test]
fn a_token_holding_a_line_break_is_an_input_error_before_any_request() {
    let emulator = Emulator::start(base()).unwrap();
    let token = "ghp_first\nghp_second";
    let run = janitor(
        &emulator,
        &[
            ("token", token),
            ("owner", "acme"),
            ("packages", "web"),
            ("tags", "*"),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("input 'token': holds a character that is not printable ASCII"),
        "{}",
        run.stdout
    );
    assert!(!run.everything().contains("ghp_second"));
    assert!(emulator.requests().is_empty());
}

#[test]
fn a_version_name_with_non_ascii_characters_is_shown_not_sliced() {
    let package = web()
        .version(VersionSpec {
            tags: vec!["pr-1".into()],
            ..VersionSpec::new(1, "sha256:ééééééééééééééééé", at(0))
        })
        .version(VersionSpec::image(2, &["v1"], at(1)));
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("dry-run", "true")]));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("sha256:éééééééééééé…"),
        "{}",
        run.stdout
    );
    assert_eq!(run.ids("planned-ids"), [1]);
}

#[test]
fn a_huge_retry_after_ends_the_run_cleanly_and_sends_nothing_more() {
    let mut package = web();
    for i in 0..12 {
        package = package.version(VersionSpec::image(
            id(i),
            &[&format!("pr-{i}")],
            at(i as i64),
        ));
    }
    let emulator = Emulator::start(base().package(package)).unwrap();
    // Ten points a minute: two deletions, then a secondary limit asking for forever.
    emulator.set_faults(Faults {
        points_per_minute: Some(10),
        retry_after: Some(u64::MAX.to_string()),
        ..Faults::default()
    });
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("min-versions", "0")]));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let requests = emulator.requests();
    let limited = requests
        .iter()
        .position(|r| r.fault == Some("secondary-limit"))
        .expect("a secondary limit");
    let deleted = run.ids("deleted-ids");
    assert_eq!(
        deleted,
        emulator.deleted_ids("acme", PackageType::Container, "web")
    );
    assert_eq!(
        count(&requests[limited + 1..], "DELETE"),
        0,
        "no request after the limit answer: {:?}",
        log_lines(&requests)
    );
    let skipped = run.result()["packages"][0]["skipped"].clone();
    let budget = skipped
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason_kind"] == "rate-limit-budget")
        .count();
    assert_eq!(deleted.len() + budget, 12, "{skipped}");
    assert!(budget > 0);
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let emulator =
        Emulator::start(base().package(crate::util::images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_package-janitor"))
        .env_clear()
        .env("GITHUB_API_URL", emulator.url())
        .env("GITHUB_TOKEN", PAT)
        .args(["--owner", "acme", "--packages", "web", "--tags", "pr-*"])
        .args(["--registry-url", emulator.url()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `| head -0`: the reader goes away before the first line.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        emulator.deleted_ids("acme", PackageType::Container, "web"),
        [id(0)]
    );
}

#[test]
fn unwritable_outputs_stop_the_run_before_any_request() {
    let emulator =
        Emulator::start(base().package(crate::util::images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    for variable in ["GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"] {
        let run = janitor_with(
            &emulator,
            &acme(&[("tags", "pr-*")]),
            &[(variable, "/nonexistent/dir/file")],
        );
        assert_eq!(run.code, 2, "{}", run.stdout);
        assert!(
            run.stdout
                .contains(&format!("${variable} cannot be written")),
            "{}",
            run.stdout
        );
    }
    assert!(emulator.requests().is_empty());
}

#[test]
fn a_whole_package_restore_counts_only_ids_it_knows_and_invents_nothing() {
    let package = crate::util::images("preview", &[&["pr-1"]]);
    let mut package = package;
    package.deleted_at = Some(chrono::Utc::now() - chrono::Duration::days(1));
    let emulator = Emulator::start(base().package(package)).unwrap();
    let inputs = [
        ("token", PAT),
        ("owner", "acme"),
        ("packages", "preview"),
        ("target", "packages"),
        ("mode", "restore"),
    ];
    let mut dry = inputs.to_vec();
    dry.push(("dry-run", "true"));
    let run = janitor(&emulator, &dry);
    assert_eq!(run.code, 0, "{}", run.stdout);
    // Its id is unknown until restored: counts equal ids, and `result` invents no id or time.
    assert_eq!(run.output("planned-count"), "0");
    assert_eq!(run.output("planned-ids"), "");
    let planned = run.result()["packages"][0]["planned"][0].clone();
    assert_eq!(planned["id"], serde_json::Value::Null, "{planned}");
    assert_eq!(planned["name"], "preview");
    assert!(planned.get("created_at").is_none(), "{planned}");
    let run = janitor(&emulator, &inputs);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("restored-count"), "1", "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [7001]);
}

#[test]
fn a_users_route_that_ignores_state_deleted_stops_the_restore() {
    let mut package = PackageSpec::new("octocat", PackageType::Container, "tool", 9001)
        .repository("octocat/tool");
    package = package
        .version(
            VersionSpec::image(id(0), &["pr-1"], at(0))
                .deleted(chrono::Utc::now() - chrono::Duration::days(1)),
        )
        .version(VersionSpec::image(id(1), &["pr-2"], at(1)))
        .version(VersionSpec::image(id(2), &["v1"], at(2)));
    let emulator = Emulator::start(base().package(package)).unwrap();
    // The installation token of octocat/tool reads octocat's packages by `/users/octocat`.
    let inputs = [
        ("token", OCTOCAT_GITHUB_TOKEN),
        ("owner", "octocat"),
        ("packages", "tool"),
        ("mode", "restore"),
        ("tags", "pr-*"),
    ];
    emulator.set_quirks(Quirks {
        users_route_ignores_state: true,
        ..Quirks::default()
    });
    let run = janitor(&emulator, &inputs);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("ignored `state=deleted`"),
        "{}",
        run.stdout
    );
    assert!(emulator.requests().iter().all(|r| r.method == "GET"));
    // Where the route honours it, the same run restores the deleted version only.
    emulator.set_quirks(Quirks::default());
    let run = janitor(&emulator, &inputs);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [id(0)], "{}", run.stdout);
    assert!(emulator
        .requests()
        .iter()
        .any(|r| r.path.starts_with("/users/octocat/packages/")));
}

#[test]
fn the_registry_token_comes_from_the_realm_its_challenge_names() {
    let package = web()
        .multi_arch(100, &["v1"], PLATFORMS, false, at(0))
        .multi_arch(200, &[], &["linux/amd64"], false, at(5));
    let emulator = Emulator::start(base().package(package)).unwrap();
    emulator.set_quirks(Quirks {
        token_realm: "/registry/auth/token".into(),
        ..Quirks::default()
    });
    let run = janitor(&emulator, &acme(&[("untagged", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [200, 201]);
    let requests = emulator.requests();
    assert!(requests
        .iter()
        .any(|r| r.path == "/registry/auth/token" && r.status == 200));
    assert!(!requests.iter().any(|r| r.path == "/token"));
}

#[test]
fn a_realm_on_another_port_or_scheme_never_receives_the_token() {
    // Issue 18, item 8: the realm was checked by host only.
    let package = web().multi_arch(100, &["v1"], PLATFORMS, false, at(0));
    let emulator = Emulator::start(base().package(package)).unwrap();
    let port = emulator.url().rsplit(':').next().unwrap().to_string();
    for realm in [
        "http://127.0.0.1:9/token".to_string(),
        format!("https://127.0.0.1:{port}/token"),
    ] {
        emulator.set_quirks(Quirks {
            token_realm: realm.clone(),
            ..Quirks::default()
        });
        let run = janitor(&emulator, &acme(&[("untagged", "true")]));
        assert_eq!(run.code, 2, "{}", run.stdout);
        assert!(
            run.stdout.contains(&format!(
                "the registry names the token realm '{realm}', which is neither the registry's \
                 nor the API's origin"
            )),
            "{}",
            run.stdout
        );
    }
    assert!(!emulator.requests().iter().any(|r| r.path == "/token"));
}

#[test]
fn a_server_that_never_answers_costs_bounded_attempts_each_said_and_named() {
    let emulator = Emulator::start(base()).unwrap();
    emulator.set_quirks(Quirks {
        never_answer: true,
        ..Quirks::default()
    });
    // A 1 s timeout here (30 s by default: a unit test of `Limits`). The server never
    // answers, so every attempt times out however busy the machine is.
    let run = janitor_with(
        &emulator,
        &acme(&[("tags", "pr-*")]),
        &[("PACKAGE_JANITOR_TIMEOUT", "1s")],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    let request = format!("GET {}/users/acme", emulator.url());
    assert_eq!(
        run.stdout
            .matches(&format!(
                "{request}: failed (no answer within 1s); retrying"
            ))
            .count(),
        4,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("{request}: 5 attempts failed")),
        "{}",
        run.stdout
    );

    // A closed port: the message names the URL too.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = run_with_api(&url, &acme(&[("tags", "pr-*")]));
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("GET {url}/users/acme: 5 attempts failed")),
        "{}",
        run.stdout
    );
}

/// 250 versions: three pages of a hundred.
fn big() -> PackageSpec {
    let mut package = web();
    for i in 0..250 {
        package = package.version(VersionSpec::image(
            id(i),
            &[&format!("pr-{i}")],
            at(i as i64),
        ));
    }
    package
}

#[test]
fn an_incomplete_listing_stops_the_run_before_any_change() {
    let emulator = Emulator::start(base().package(big())).unwrap();
    emulator.set_quirks(Quirks {
        stale_last_link: true,
        ..Quirks::default()
    });
    let run = janitor(&emulator, &acme(&[("tags", "pr-*")]));
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("the listing of 'web' came back incomplete"),
        "{}",
        run.stdout
    );
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
}

#[test]
fn a_link_to_another_host_is_not_followed_with_the_token() {
    let emulator = Emulator::start(base().package(big())).unwrap();
    emulator.set_quirks(Quirks {
        link_base: Some("http://elsewhere.invalid".into()),
        ..Quirks::default()
    });
    let run = janitor(&emulator, &acme(&[("tags", "pr-*")]));
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("points away from the API host"),
        "{}",
        run.stdout
    );
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
}

#[test]
fn an_owner_that_is_neither_user_nor_organization_stops_the_run() {
    let mut scenario = base();
    scenario.accounts.push(Account {
        login: "dependabot".into(),
        id: 49699333,
        kind: AccountKind::Bot,
        members: Vec::new(),
        admins: Vec::new(),
    });
    let emulator = Emulator::start(scenario).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "dependabot"),
            ("packages", "web"),
            ("tags", "*"),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("owner 'dependabot' is a 'Bot' account"),
        "{}",
        run.stdout
    );
}

#[test]
fn one_cause_is_one_annotation_with_a_count_and_the_first_few() {
    // Twelve ids that no listed version has: one warning, counted, the rest as plain lines.
    let emulator =
        Emulator::start(base().package(crate::util::images("web", &[&["v1"], &["v2"]]))).unwrap();
    let ids: Vec<String> = (1..=12).map(|i| i.to_string()).collect();
    let ids = ids.join(",");
    let run = janitor(&emulator, &acme(&[("version-ids", &ids)]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.stdout.matches("::warning title=").count(),
        1,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "::warning title=Version id not found::12 times: version-ids: 1 is no active version \
             of a listed package: deleted already, or another package's; version-ids: 2 is"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("; and 9 more"), "{}", run.stdout);
    // One line per cause, not one per id (SPEC §6).
    assert!(!run.stdout.contains("version-ids: 12 is"), "{}", run.stdout);
}

#[test]
fn a_registry_rate_limit_pauses_the_reads_and_they_go_on() {
    let package = web()
        .multi_arch(100, &["v1"], PLATFORMS, false, at(0))
        .multi_arch(200, &[], &["linux/amd64"], false, at(5));
    let emulator = Emulator::start(base().package(package)).unwrap();
    emulator.set_quirks(Quirks {
        registry_429s: 3,
        ..Quirks::default()
    });
    let run = janitor(&emulator, &acme(&[("untagged", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [200, 201]);
    assert!(
        run.stdout.contains("Rate limited by the registry on HEAD"),
        "{}",
        run.stdout
    );
    let limited = emulator
        .requests()
        .iter()
        .filter(|r| r.registry && r.status == 429)
        .count();
    assert_eq!(limited, 3);
    assert!(run.stdout.contains("waiting 2.000s"), "{}", run.stdout);
}

#[test]
fn a_registry_429_that_names_its_wait_only_in_go_duration_text_is_honoured() {
    // Issue 26, item 4 (SPEC §5): ghcr.io writes `retry-after: 333.939671ms` in the error
    // text, with no header: the reads wait a third of a second, not a minute's backoff.
    let package = web().multi_arch(100, &["v1"], PLATFORMS, false, at(0));
    let emulator = Emulator::start(base().package(package)).unwrap();
    emulator.set_quirks(Quirks {
        registry_429s: 2,
        registry_429_wait_in_text: true,
        ..Quirks::default()
    });
    let run = janitor(&emulator, &acme(&[("untagged", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("waiting 0.334s"), "{}", run.stdout);
    assert!(!run.stdout.contains("waiting 60"), "{}", run.stdout);
}

#[test]
fn an_owner_answer_that_is_not_json_names_the_request() {
    let api = Recorder::start(|_, _| reply("200 OK", "", "<html>maintenance</html>"));
    let run = run_with_api(&api.url, &acme(&[("tags", "pr-*")]));
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("unexpected JSON in GET /users/acme"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("{owner}"), "{}", run.stdout);
}

/// Issue 27, item 4 (SPEC §6): an answer that repeats the request's `Authorization` header
/// puts no credential in the log, the outputs or the summary.
#[test]
fn an_answer_that_repeats_the_token_prints_no_credential() {
    let api = Recorder::start_with_head(|head, _| {
        let echoed = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
            .unwrap_or_default()
            .replace('"', "'");
        reply(
            "403 Forbidden",
            "",
            &format!(r#"{{"message":"Forbidden; you sent {echoed}"}}"#),
        )
    });
    let run = run_with_api(&api.url, &acme(&[("tags", "pr-*")]));
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("you sent authorization: Bearer ***"),
        "{}",
        run.stdout
    );
    assert!(!run.everything().contains(PAT), "{}", run.everything());
}
