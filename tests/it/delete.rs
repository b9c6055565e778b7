//! Delete runs end to end: selection, routes, outputs, refusals.

use crate::util::*;
use gh_emulator::scenario::{PackageSpec, PackageType, VersionSpec};
use gh_emulator::Emulator;

/// 250 versions in five shapes, by index % 5:
/// 0 `pr-N` · 1 `pr-N` + `vN` · 2 untagged · 3 `vN` · 4 `pr-N` + `pr-N-fix`.
fn two_fifty() -> PackageSpec {
    let mut package =
        PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web");
    for i in 0..250u64 {
        let tags: Vec<String> = match i % 5 {
            0 => vec![format!("pr-{i}")],
            1 => vec![format!("pr-{i}"), format!("v{i}")],
            2 => vec![],
            3 => vec![format!("v{i}")],
            _ => vec![format!("pr-{i}"), format!("pr-{i}-fix")],
        };
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        package = package.version(VersionSpec::image(id(i), &tags, at(i as i64)));
    }
    package
}

fn ids_where(pred: impl Fn(u64) -> bool) -> Vec<u64> {
    (0..250).filter(|i| pred(*i)).map(id).collect()
}

#[test]
fn pr_tags_delete_exactly_the_versions_whose_every_tag_matches_in_three_pages() {
    let emulator = Emulator::start(base().package(two_fifty())).unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*")]));
    assert_eq!(run.code, 0, "{}", run.stdout);

    let expected = ids_where(|i| i % 5 == 0 || i % 5 == 4);
    assert_eq!(run.ids("deleted-ids"), expected);
    assert_eq!(run.ids("planned-ids"), expected);
    assert_eq!(run.output("deleted-count"), "100");
    assert_eq!(run.output("failed-count"), "0");
    // The 50 versions also tagged vN matched only in part.
    assert_eq!(run.output("skipped-count"), "50");
    assert_eq!(
        emulator.deleted_ids("acme", PackageType::Container, "web"),
        expected
    );

    let all = emulator.requests();
    let requests = rest(&all);
    let mut lines = log_lines(&requests);
    // Pages 2 and 3 are fetched concurrently.
    lines[2..4].sort();
    assert_eq!(lines[0], "GET /users/acme -> 200");
    assert_eq!(
        lines[1],
        "GET /orgs/acme/packages/container/web/versions?per_page=100 -> 200"
    );
    // Pages 2 and 3 follow GitHub's numeric-id `last` link, its page number varied.
    assert_eq!(
        lines[2],
        "GET /organizations/54834211/packages/container/web/versions?page=2&per_page=100 -> 200"
    );
    assert_eq!(
        lines[3],
        "GET /organizations/54834211/packages/container/web/versions?page=3&per_page=100 -> 200"
    );
    assert_eq!(count(&requests, "GET"), 4);
    assert_eq!(count(&requests, "DELETE"), 100);
    assert_eq!(
        requests.len(),
        104,
        "preflight + 3 pages + one request per change"
    );
    // Container safety looked at each manifest once; single-platform images, no index among
    // them, so no body was read and no download counted.
    assert_eq!(manifest_requests(&all, "HEAD"), 250);
    assert_eq!(manifest_requests(&all, "GET"), 0);
    assert!(run
        .stdout
        .contains("Checked 250 manifests in the registry, 0 of them image indexes"));
    assert!(requests
        .iter()
        .filter(|r| r.method == "DELETE")
        .all(|r| r.status == 204));

    let result = run.result();
    assert_eq!(result["owner"], "acme");
    assert_eq!(result["owner_kind"], "Organization");
    assert_eq!(
        result["packages"][0]["changed"].as_array().unwrap().len(),
        100
    );
    let skipped = &result["packages"][0]["skipped"];
    assert_eq!(skipped[0]["reason_kind"], "partial-tag-match");
    assert!(skipped[0]["reason"]
        .as_str()
        .unwrap()
        .contains("not matched"));
    assert!(run
        .stdout
        .contains("::group::container web: 100 of 250 versions planned"));
    assert!(run
        .summary
        .contains("| Version | Tags | Created | Result | Reason |"));
}

#[test]
fn tag_match_any_takes_versions_with_one_matching_tag() {
    let emulator = Emulator::start(base().package(two_fifty())).unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("tag-match", "any")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let expected = ids_where(|i| matches!(i % 5, 0 | 1 | 4));
    assert_eq!(run.ids("deleted-ids"), expected);
    assert_eq!(
        emulator.deleted_ids("acme", PackageType::Container, "web"),
        expected
    );
}

#[test]
fn regexes_match_whole_tags() {
    let emulator = Emulator::start(base().package(images(
        "web",
        &[&["pr-1"], &["pr-2-fix"], &["xpr-3"], &["v1"]],
    )))
    .unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("tags", r"pr-\d{1,3}"), ("use-regex", "true")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(0)]);
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [id(1), id(2), id(3)]
    );
}

#[test]
fn exclude_tags_win_over_tags_and_version_ids() {
    let emulator = Emulator::start(base().package(images(
        "web",
        &[&["pr-1"], &["pr-2", "keep"], &["pr-3"], &["v1"]],
    )))
    .unwrap();
    let version_ids = format!("{},{}", id(1), id(3));
    let run = janitor(
        &emulator,
        &acme(&[
            ("tags", "pr-*"),
            ("tag-match", "any"),
            ("exclude-tags", "keep\nv*"),
            ("version-ids", &version_ids),
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(0), id(2)]);
    assert_eq!(run.output("skipped-count"), "2");
    let skipped = &run.result()["packages"][0]["skipped"];
    assert!(skipped
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["reason_kind"] == "excluded"));
}

#[test]
fn untagged_selects_only_versions_without_tags() {
    let emulator =
        Emulator::start(base().package(images("web", &[&[], &["v1"], &[], &["latest"]]))).unwrap();
    let run = janitor(&emulator, &acme(&[("untagged", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(0), id(2)]);
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [id(1), id(3)]
    );
}

#[test]
fn version_ids_select_exactly_those_and_report_the_missing() {
    let emulator =
        Emulator::start(base().package(images("web", &[&["a"], &["b"], &["c"]]))).unwrap();
    let ids = format!("{}, 12345", id(1));
    let run = janitor(&emulator, &acme(&[("version-ids", &ids)]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(1)]);
    assert_eq!(run.output("skipped-count"), "1");
    assert_eq!(run.result()["not_found"][0]["id"], 12345);
    assert!(run
        .stdout
        .contains("::warning title=Version id not found::"));
}

#[test]
fn npm_versions_are_selected_by_version_name_in_several_packages_with_slashes() {
    let npm = |name: &str, id: u64, versions: &[&str]| {
        let mut p = PackageSpec::new("acme", PackageType::Npm, name, id).repository("acme/web");
        for (i, v) in versions.iter().enumerate() {
            p = p.version(VersionSpec::new(id * 100 + i as u64, v, at(i as i64)));
        }
        p
    };
    let emulator = Emulator::start(
        base()
            .package(npm(
                "ui",
                81,
                &["1.0.0", "1.1.0-rc.1", "1.1.0-rc.2", "1.1.0"],
            ))
            .package(npm("web/sdk", 82, &["2.0.0-rc.1", "2.0.0"])),
    )
    .unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("package-type", "npm"),
            ("packages", "ui, web/sdk"),
            ("tags", "*-rc.*"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [8101, 8102, 8200]);
    assert_eq!(
        emulator.active_ids("acme", PackageType::Npm, "ui"),
        [8100, 8103]
    );
    assert_eq!(
        emulator.active_ids("acme", PackageType::Npm, "web/sdk"),
        [8201]
    );
    let paths: Vec<String> = emulator.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths.contains(&"/orgs/acme/packages/npm/web%2Fsdk/versions".to_string()),
        "{paths:?}"
    );
    assert!(paths.contains(&"/orgs/acme/packages/npm/web%2Fsdk/versions/8200".to_string()));
}

fn octocat_tool() -> PackageSpec {
    let mut p =
        PackageSpec::new("octocat", PackageType::Container, "tool", 91).repository("octocat/tool");
    for (i, tags) in [&["pr-1"][..], &["pr-2"], &["v1"]].iter().enumerate() {
        p = p.version(VersionSpec::image(900 + i as u64, tags, at(i as i64)));
    }
    p
}

/// Delete octocat's `pr-*` versions with `token`: the REST request log, changes sorted (they
/// run concurrently, so their order in the log is not fixed).
fn octocat_cleanup(token: &str) -> (Run, Vec<String>) {
    let emulator = Emulator::start(base().package(octocat_tool())).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", token),
            ("owner", "octocat"),
            ("packages", "tool"),
            ("tags", "pr-*"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [900, 901]);
    let mut lines = log_lines(&rest(&emulator.requests()));
    lines[3..].sort();
    (run, lines)
}

#[test]
fn a_users_own_pat_uses_the_user_routes() {
    let (run, lines) = octocat_cleanup(OCTOCAT_PAT);
    assert_eq!(
        lines,
        [
            "GET /users/octocat -> 200",
            "GET /user -> 200",
            "GET /user/packages/container/tool/versions?per_page=100 -> 200",
            "DELETE /user/packages/container/tool/versions/900 -> 204",
            "DELETE /user/packages/container/tool/versions/901 -> 204",
        ]
    );
    assert_eq!(run.result()["owner_kind"], "User");
}

#[test]
fn a_github_token_on_a_user_package_uses_the_users_routes() {
    let (_, lines) = octocat_cleanup(OCTOCAT_GITHUB_TOKEN);
    assert_eq!(
        lines,
        [
            "GET /users/octocat -> 200",
            "GET /user -> 403",
            "GET /users/octocat/packages/container/tool/versions?per_page=100 -> 200",
            "DELETE /users/octocat/packages/container/tool/versions/900 -> 204",
            "DELETE /users/octocat/packages/container/tool/versions/901 -> 204",
        ]
    );
}

#[test]
fn a_github_token_deletes_an_org_package_its_repository_administers() {
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", GITHUB_TOKEN),
            ("owner", "acme"),
            ("packages", "web"),
            ("tags", "pr-*"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(0)]);
}

#[test]
fn dry_run_plans_and_reports_but_sends_no_delete() {
    let emulator = Emulator::start(base().package(two_fifty())).unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("dry-run", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("planned-count"), "100");
    assert_eq!(run.output("deleted-count"), "0");
    assert_eq!(run.output("deleted-ids"), "");
    assert_eq!(run.result()["dry_run"], true);
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
    assert!(emulator
        .deleted_ids("acme", PackageType::Container, "web")
        .is_empty());
    assert!(run.stdout.contains("delete (dry run)"));
    assert!(run.summary.contains("(dry run)"));
}

#[test]
fn githubs_refusals_are_skips_with_its_message_not_failures() {
    // A public version past the download limit, and a package's last version.
    let popular = PackageSpec::new("acme", PackageType::Container, "site", 7002)
        .public()
        .version(VersionSpec::image(1, &["pr-1"], at(0)).downloads(9000))
        .version(VersionSpec::image(2, &["v1"], at(1)));
    let single = PackageSpec::new("acme", PackageType::Container, "web", 7001)
        .version(VersionSpec::image(3, &["pr-3"], at(2)));
    let emulator = Emulator::start(base().package(popular).package(single)).unwrap();
    // min-versions 0 lets the plan include the last version, which GitHub refuses.
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", "site, web"),
            ("tags", "pr-*"),
            ("min-versions", "0"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("planned-ids"), [1, 3]);
    assert_eq!(run.output("deleted-count"), "0");
    assert_eq!(run.output("skipped-count"), "2");
    assert_eq!(run.output("failed-count"), "0");
    let result = run.result();
    let site = &result["packages"][0]["skipped"][0];
    assert_eq!(site["reason_kind"], "refused");
    assert!(
        site["reason"].as_str().unwrap().contains("5000 downloads"),
        "{site}"
    );
    let web = &result["packages"][1]["skipped"][0]["reason"];
    assert!(
        web.as_str()
            .unwrap()
            .contains("You cannot delete the last version of a package"),
        "{web}"
    );
    // Two refusals, one cause: one annotation that counts them.
    assert_eq!(
        run.stdout
            .matches("::warning title=Version refused by GitHub::2 times: ")
            .count(),
        1,
        "{}",
        run.stdout
    );
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "site"),
        [1, 2]
    );
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [3]
    );
}

#[test]
fn min_versions_keeps_the_last_version_without_asking_github() {
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["pr-2"]]))).unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [id(0)]);
    assert_eq!(count(&emulator.requests(), "DELETE"), 1);
    assert_eq!(
        run.result()["packages"][0]["skipped"][0]["reason_kind"],
        "min-versions"
    );
}

#[test]
fn a_package_the_token_cannot_see_stops_with_the_likely_causes() {
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", OCTOCAT_GITHUB_TOKEN),
            ("owner", "acme"),
            ("packages", "web"),
            ("tags", "pr-*"),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stdout.contains("::error title=package-janitor stopped::package 'web' (container) of 'acme' was not found"), "{}", run.stdout);
    assert!(run.stdout.contains("Manage Actions access"));
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
    assert!(run.outputs.is_empty());
}

#[test]
fn a_fine_grained_pat_is_refused_with_a_clear_message() {
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", FINE_GRAINED),
            ("owner", "acme"),
            ("packages", "web"),
            ("tags", "pr-*"),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "Fine-grained personal access tokens and GitHub App tokens are not supported"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
}

#[test]
fn the_token_never_appears_in_anything_the_binary_writes() {
    let emulator = Emulator::start(base().package(two_fifty())).unwrap();
    let runs = [
        janitor(&emulator, &acme(&[("tags", "pr-*"), ("dry-run", "true")])),
        janitor(
            &emulator,
            &[
                ("token", PAT),
                ("owner", "acme"),
                ("packages", "nope"),
                ("tags", "pr-*"),
            ],
        ),
        janitor(&emulator, &acme(&[("tags", "pr-[")])),
        janitor(
            &emulator,
            &[
                ("token", "ghp_unknownTokenValue"),
                ("owner", "acme"),
                ("packages", "web"),
                ("tags", "x"),
            ],
        ),
    ];
    for run in &runs {
        assert!(!run.everything().contains(PAT), "{}", run.everything());
        assert!(!run.everything().contains("ghp_unknownTokenValue"));
    }
    assert_eq!(runs[3].code, 2);
    assert!(
        runs[3].stdout.contains("Bad credentials"),
        "{}",
        runs[3].stdout
    );
}

#[test]
fn runner_debug_logs_every_request_as_debug_lines() {
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let quiet = janitor(&emulator, &acme(&[("tags", "pr-*"), ("dry-run", "true")]));
    assert!(!quiet.stdout.contains("::debug::"));
    let run = janitor_with(
        &emulator,
        &acme(&[("tags", "pr-*"), ("dry-run", "true")]),
        &[("RUNNER_DEBUG", "1")],
    );
    assert!(
        run.stdout
            .contains("::debug::GET /users/acme -> 200 (attempt 1)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(PAT));
}
