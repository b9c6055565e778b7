//! Owners, tokens and routes (SPEC §3): the right route family for every owner kind and token
//! kind, in both modes, or the right error; scopes checked up front; package-name patterns.

use crate::util::*;
use chrono::{Duration, Utc};
use gh_emulator::scenario::{PackageSpec, PackageType, VersionSpec};
use gh_emulator::Emulator;

/// One package per owner kind, each with an active `pr-1`, a `keep` and a deleted `pr-0`.
fn package(owner: &str, name: &str, id: u64, repository: &str) -> PackageSpec {
    PackageSpec::new(owner, PackageType::Container, name, id)
        .repository(repository)
        .version(
            VersionSpec::image(id * 10, &["pr-0"], at(0)).deleted(Utc::now() - Duration::days(1)),
        )
        .version(VersionSpec::image(id * 10 + 1, &["pr-1"], at(1)))
        .version(VersionSpec::image(id * 10 + 2, &["keep"], at(2)))
}

fn world() -> Emulator {
    Emulator::start(
        base()
            .package(package("acme", "web", 1, "acme/web"))
            .package(package("octocat", "tool", 2, "octocat/tool"))
            .package(package("alice", "site", 3, "alice/site").public()),
    )
    .unwrap()
}

/// (owner, package, token, mode) → the route prefix used, or the exit code and message.
fn check(owner: &str, name: &str, token: &str, mode: &str, expected: Result<&str, (i32, &str)>) {
    let emulator = world();
    let run = janitor(
        &emulator,
        &[
            ("token", token),
            ("owner", owner),
            ("packages", name),
            ("mode", mode),
            ("tags", "pr-*"),
        ],
    );
    let changes: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE" || r.method == "POST")
        .collect();
    match expected {
        Ok(prefix) => {
            assert_eq!(run.code, 0, "{owner}/{mode}: {}", run.stdout);
            assert_eq!(changes.len(), 1, "{owner}/{mode}: {changes:?}");
            assert!(
                changes[0]
                    .path
                    .starts_with(&format!("{prefix}/packages/container/{name}/versions/")),
                "{changes:?}"
            );
            assert_eq!(changes[0].status, 204);
            let listing = emulator
                .requests()
                .into_iter()
                .find(|r| r.path.ends_with("/versions"))
                .unwrap();
            assert!(listing.path.starts_with(prefix), "{listing:?}");
        }
        Err((code, message)) => {
            assert_eq!(run.code, code, "{owner}/{mode}: {}", run.stdout);
            assert!(
                run.stdout.contains(message),
                "{owner}/{mode}: expected {message:?} in {}",
                run.stdout
            );
            if code == 2 {
                assert!(changes.is_empty(), "{changes:?}");
            }
        }
    }
}

#[test]
fn organization_with_a_pat_uses_the_orgs_routes() {
    check("acme", "web", PAT, "delete", Ok("/orgs/acme"));
    check("acme", "web", PAT, "restore", Ok("/orgs/acme"));
}

#[test]
fn organization_with_a_github_token_uses_the_orgs_routes() {
    check("acme", "web", GITHUB_TOKEN, "delete", Ok("/orgs/acme"));
    check("acme", "web", GITHUB_TOKEN, "restore", Ok("/orgs/acme"));
}

#[test]
fn own_user_with_the_users_pat_uses_the_user_routes() {
    check("octocat", "tool", OCTOCAT_PAT, "delete", Ok("/user"));
    check("octocat", "tool", OCTOCAT_PAT, "restore", Ok("/user"));
}

#[test]
fn own_user_with_a_github_token_uses_the_users_routes() {
    check(
        "octocat",
        "tool",
        OCTOCAT_GITHUB_TOKEN,
        "delete",
        Ok("/users/octocat"),
    );
    check(
        "octocat",
        "tool",
        OCTOCAT_GITHUB_TOKEN,
        "restore",
        Ok("/users/octocat"),
    );
}

#[test]
fn another_users_private_package_is_not_found_with_its_causes() {
    check(
        "octocat",
        "tool",
        PAT,
        "delete",
        Err((2, "was not found (HTTP 404")),
    );
    check(
        "octocat",
        "tool",
        PAT,
        "restore",
        Err((2, "was not found (HTTP 404")),
    );
}

#[test]
fn another_users_public_package_is_listed_but_changes_are_refused() {
    check(
        "alice",
        "site",
        OCTOCAT_PAT,
        "delete",
        Err((1, "::error title=Delete failed::site version 31: HTTP 403")),
    );
    check(
        "alice",
        "site",
        OCTOCAT_PAT,
        "restore",
        Err((1, "::error title=Restore failed::site version 30: HTTP 403")),
    );
}

#[test]
fn a_github_token_of_another_repository_sees_no_package() {
    check(
        "acme",
        "web",
        OCTOCAT_GITHUB_TOKEN,
        "delete",
        Err((2, "Manage Actions access")),
    );
    check(
        "octocat",
        "tool",
        GITHUB_TOKEN,
        "restore",
        Err((2, "Manage Actions access")),
    );
}

#[test]
fn an_unknown_owner_stops_the_run() {
    check(
        "nobody",
        "web",
        PAT,
        "delete",
        Err((2, "owner 'nobody' does not exist")),
    );
}

#[test]
fn missing_scopes_are_named_before_any_change() {
    let scenario = base()
        .classic_pat("ghp_readonly", "alice", &["read:packages"])
        .classic_pat("ghp_norepo", "alice", &["read:packages", "delete:packages"])
        .package(package("acme", "web", 1, "acme/web"));
    let emulator = Emulator::start(scenario).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", "ghp_readonly"),
            ("owner", "acme"),
            ("packages", "web"),
            ("tags", "pr-*"),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stdout.contains(
            "missing the scope(s) delete:packages needed to delete container package versions"
        ),
        "{}",
        run.stdout
    );
    let run = janitor(
        &emulator,
        &[
            ("token", "ghp_norepo"),
            ("owner", "acme"),
            ("package-type", "maven"),
            ("packages", "web"),
            ("tags", "*"),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stdout.contains("missing the scope(s) repo needed"),
        "{}",
        run.stdout
    );
    assert_eq!(
        count(&emulator.requests(), "GET"),
        2,
        "only the two preflights"
    );
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
}

#[test]
fn npm_nuget_and_rubygems_need_no_repo_scope() {
    // SPEC §3: only maven and docker are repository-scoped; a PAT without `repo` deletes npm.
    let mut npm = PackageSpec::new("acme", PackageType::Npm, "lib", 300).repository("acme/web");
    for (i, name) in ["1.0.0", "1.1.0-rc.1", "1.1.0"].iter().enumerate() {
        npm = npm.version(VersionSpec::new(3000 + i as u64, name, at(i as i64)));
    }
    let scenario = base()
        .classic_pat("ghp_norepo", "alice", &["read:packages", "delete:packages"])
        .package(npm);
    let emulator = Emulator::start(scenario).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", "ghp_norepo"),
            ("owner", "acme"),
            ("package-type", "npm"),
            ("packages", "lib"),
            ("tags", "*-rc.*"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [3001]);
    assert_eq!(
        emulator.active_ids("acme", PackageType::Npm, "lib"),
        [3000, 3002]
    );
}

fn many_packages() -> Emulator {
    let mut scenario = base();
    for (i, name) in ["app-api", "app-web", "app-worker", "tools", "repo/app-cli"]
        .iter()
        .enumerate()
    {
        scenario = scenario.package(
            PackageSpec::new("acme", PackageType::Container, name, 100 + i as u64)
                .repository("acme/web")
                .version(VersionSpec::image(1000 + i as u64 * 10, &["pr-1"], at(0)))
                .version(VersionSpec::image(1001 + i as u64 * 10, &["v1"], at(1))),
        );
    }
    Emulator::start(scenario).unwrap()
}

#[test]
fn a_package_glob_expands_through_the_owners_package_list() {
    let emulator = many_packages();
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", "app-*\ntools"),
            ("tags", "pr-*"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [1000, 1010, 1020, 1030]);
    let names: Vec<_> = run.result()["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["app-api", "app-web", "app-worker", "tools"]);
    let lines = log_lines(&rest(&emulator.requests()));
    assert_eq!(
        lines[1],
        "GET /orgs/acme/packages?package_type=container&per_page=100 -> 200"
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("DELETE /orgs/acme/packages/container/app-worker/versions/1020")));
}

#[test]
fn a_package_regex_matches_whole_names_including_slashes() {
    let emulator = many_packages();
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", r"(repo/)?app-(api|cli)"),
            ("use-regex", "true"),
            ("tags", "pr-.*"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [1000, 1040]);
    assert!(emulator
        .requests()
        .iter()
        .any(|r| r.path == "/orgs/acme/packages/container/repo%2Fapp-cli/versions/1040"));
}

#[test]
fn a_package_pattern_with_a_github_token_fails_clearly_and_changes_nothing() {
    let emulator = many_packages();
    // GitHub answers 400 `Invalid argument.` (facts file) or 403: the message is the same,
    // decided by what the token is.
    for status in [400, 403] {
        emulator.set_quirks(gh_emulator::Quirks {
            installation_list_status: status,
            ..Default::default()
        });
        let run = janitor(
            &emulator,
            &[
                ("token", GITHUB_TOKEN),
                ("owner", "acme"),
                ("packages", "app-*"),
                ("tags", "pr-*"),
            ],
        );
        assert_eq!(run.code, 2, "{}", run.stdout);
        assert!(
            run.stdout.contains(
                "listing packages needs a classic personal access token with read:packages, \
                 for organizations and users alike"
            ),
            "{status}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("a GITHUB_TOKEN cannot list packages"),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains(&format!("HTTP {status}")),
            "{}",
            run.stdout
        );
        assert_eq!(count(&emulator.requests(), "DELETE"), 0);
    }
    emulator.set_quirks(gh_emulator::Quirks::default());
    // Exact names keep working with the same token.
    let run = janitor(
        &emulator,
        &[
            ("token", GITHUB_TOKEN),
            ("owner", "acme"),
            ("packages", "app-api"),
            ("tags", "pr-*"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [1000]);
}

#[test]
fn a_package_pattern_that_matches_nothing_warns_and_changes_nothing() {
    let emulator = many_packages();
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", "nothing-*"),
            ("tags", "pr-*"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("::warning title=No package matched::packages: 'nothing-*' matched none of the owner's 5 container packages"));
    assert_eq!(run.output("planned-count"), "0");
}
