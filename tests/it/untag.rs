//! Untag (issue 14, SPEC §2 and §4): tags come off an image that stays — a placeholder pushed
//! under each tag, then deleted — through the binary, the emulator's registry and its log.

use crate::util::*;
use gh_emulator::scenario::{digest, PackageSpec, PackageType, VersionSpec};
use gh_emulator::Emulator;

const PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64"];

fn web() -> PackageSpec {
    PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web")
}

/// 100 tagged `pr-1` and `v1`, 200 tagged `v2`.
fn pr_and_release() -> Emulator {
    let package = web()
        .version(VersionSpec::image(100, &["pr-1", "v1"], at(0)))
        .version(VersionSpec::image(200, &["v2"], at(1)));
    Emulator::start(base().package(package)).unwrap()
}

/// The tags of each active version of acme's web, by id.
fn tags(emulator: &Emulator) -> Vec<(u64, Vec<String>)> {
    let package = emulator
        .package("acme", PackageType::Container, "web")
        .unwrap();
    let mut tags: Vec<(u64, Vec<String>)> = package
        .versions
        .iter()
        .filter(|v| v.deleted_at.is_none())
        .map(|v| (v.id, v.tags.clone()))
        .collect();
    tags.sort();
    tags
}

#[test]
fn a_single_arch_image_loses_its_pr_tag_and_keeps_its_digest_and_release_tag() {
    let package = web()
        .version(VersionSpec::image(
            100,
            &["pr-128", "sha-3f2a9c1", "v1.3.0"],
            at(0),
        ))
        .version(VersionSpec::image(200, &["pr-129"], at(1)))
        .version(VersionSpec::image(300, &["v1.4.0"], at(2)));
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("untag", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    // 200 (pr-129 only) is deleted; 100 loses pr-128 and keeps its other tags and digest.
    assert_eq!(run.ids("deleted-ids"), [200]);
    assert_eq!(run.output("removed-tags-count"), "1");
    assert_eq!(
        run.output("removed-tags"),
        format!("pr-128@{}", digest(100))
    );
    assert_eq!(
        tags(&emulator),
        [
            (100, vec!["sha-3f2a9c1".to_string(), "v1.3.0".to_string()]),
            (300, vec!["v1.4.0".to_string()])
        ]
    );
    // One push under the tag, the placeholder found and deleted; one mutation at a time.
    let requests = emulator.requests();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.method == "PUT" && r.path == "/v2/acme/web/manifests/pr-128")
            .count(),
        1
    );
    assert_eq!(count(&requests, "DELETE"), 2);
    assert_eq!(emulator.state().max_mutations_in_flight, 1);
    // Still pullable by its release tag; the removed tag no longer resolves.
    assert!(crate::images::resolves(&emulator, "v1.3.0"));
    assert!(!crate::images::resolves(&emulator, "pr-128"));
    assert!(run.stdout.contains("untagged"), "{}", run.stdout);
    assert!(run.stdout.contains("removed pr-128"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Done: 2 planned, 1 deleted, 0 skipped, 0 failed, 1 tags removed"),
        "{}",
        run.stdout
    );
    assert!(
        run.summary
            .contains("### Tags removed\n\nEach tag pointed at the digest after it"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains(&format!("- `pr-128@{}`", digest(100))),
        "{}",
        run.summary
    );
    let result = run.result();
    assert_eq!(
        result["packages"][0]["untagged"][0]["removed_tags"],
        serde_json::json!(["pr-128"])
    );
}

#[test]
fn a_multi_arch_index_loses_its_pr_tag_and_keeps_every_child() {
    let package = web()
        .multi_arch(100, &["pr-7", "v2.0.0"], PLATFORMS, true, at(0))
        .version(VersionSpec::image(200, &["v1"], at(5)));
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("tags", "pr-*"), ("untagged", "true"), ("untag", "true")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("deleted-count"), "0", "{}", run.stdout);
    assert_eq!(run.output("removed-tags"), format!("pr-7@{}", digest(100)));
    // The index and its four children stay; the index keeps v2.0.0.
    let active: Vec<u64> = tags(&emulator).iter().map(|(id, _)| *id).collect();
    assert_eq!(active, [100, 101, 102, 103, 104, 200]);
    assert_eq!(tags(&emulator)[0].1, ["v2.0.0"]);
    // Issue 18, item 8: no manifest is downloaded twice (the index was read for the plan and
    // again for the untag).
    let mut gets: Vec<String> = emulator
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/manifests/"))
        .map(|r| r.path.clone())
        .collect();
    let all = gets.len();
    gets.sort();
    gets.dedup();
    assert_eq!(
        gets.len(),
        all,
        "{}",
        log_lines(&emulator.requests()).join("\n")
    );
    // Still pullable by its other tag, every platform image and attestation with it.
    assert!(crate::images::resolves(&emulator, "v2.0.0"));
    assert!(!crate::images::resolves(&emulator, "pr-7"));
}

#[test]
fn a_dry_run_shows_the_untag_and_sends_no_push_and_no_delete() {
    let emulator = pr_and_release();
    let run = janitor(
        &emulator,
        &acme(&[("tags", "pr-*"), ("untag", "true"), ("dry-run", "true")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("untag (dry run)"), "{}", run.stdout);
    assert!(run.stdout.contains("removes pr-1"), "{}", run.stdout);
    assert_eq!(run.output("removed-tags-count"), "0");
    let requests = emulator.requests();
    assert!(requests
        .iter()
        .all(|r| r.method != "PUT" && r.method != "DELETE"));
}

#[test]
fn exclude_tags_protect_the_excluded_tags_themselves() {
    // `tags: '*'` matches every tag; `exclude-tags: v*` spares v1, so only pr-1 comes off.
    let emulator = pr_and_release();
    let run = janitor(
        &emulator,
        &acme(&[("tags", "*"), ("exclude-tags", "v*"), ("untag", "true")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("removed-tags"), format!("pr-1@{}", digest(100)));
    assert_eq!(
        tags(&emulator),
        [(100, vec!["v1".to_string()]), (200, vec!["v2".to_string()])]
    );
}

#[test]
fn max_changes_counts_each_removed_tag() {
    let package = web()
        .version(VersionSpec::image(100, &["pr-1", "pr-2", "v1"], at(0)))
        .version(VersionSpec::image(200, &["v2"], at(1)));
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("tags", "pr-*"), ("untag", "true"), ("max-changes", "1")]),
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("the plan has 2 changes"),
        "{}",
        run.stdout
    );
    assert!(emulator.requests().iter().all(|r| r.method != "PUT"));
    let run = janitor(
        &emulator,
        &acme(&[("tags", "pr-*"), ("untag", "true"), ("max-changes", "2")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("removed-tags-count"), "2");
    // Issue 27, item 9: one version planned, however many tags it loses: the count is the
    // number of ids, and the group title counts it.
    assert_eq!(run.output("planned-ids"), "100");
    assert_eq!(run.output("planned-count"), "1");
    assert!(
        run.stdout
            .contains("container web: 1 of 2 versions planned"),
        "{}",
        run.stdout
    );
    assert_eq!(tags(&emulator)[0].1, ["v1"]);
}

#[test]
fn one_push_token_serves_every_tag_removed_from_a_package() {
    // Three tags off three images of one package: the registry token is asked for once per
    // access (pull for the reads, pull,push for the untags), not once per tag.
    let package = web()
        .version(VersionSpec::image(100, &["pr-1", "v1"], at(0)))
        .version(VersionSpec::image(200, &["pr-2", "v2"], at(1)))
        .version(VersionSpec::image(300, &["pr-3", "v3"], at(2)));
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("tags", "pr-*"), ("untag", "true"), ("min-versions", "0")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("removed-tags-count"), "3", "{}", run.stdout);
    let tokens: Vec<String> = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "/token")
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(
        tokens.iter().filter(|q| q.contains("push")).count(),
        1,
        "{tokens:?}"
    );
    assert!(tokens.len() <= 2, "{tokens:?}");
}

#[test]
fn a_placeholder_left_by_an_interrupted_run_is_deleted_by_the_next() {
    // Version 300 is a placeholder an interrupted run pushed under pr-9 to take it off 200:
    // newest, single-tag, named by the digest of the placeholder's exact bytes (SPEC §4).
    let bytes = package_janitor::images::placeholder("pr-9", &digest(200));
    let mut leftover = VersionSpec::image(300, &["pr-9"], at(9));
    leftover.name = package_janitor::images::digest_of(&bytes);
    leftover.manifest = Some(serde_json::from_slice(&bytes).unwrap());
    let package = web()
        .version(VersionSpec::image(100, &["v1"], at(0)))
        .version(VersionSpec::image(200, &["pr-8"], at(1)))
        .version(leftover);
    let emulator = Emulator::start(base().package(package)).unwrap();
    // keep-latest 1 would keep the newest pr- version, the placeholder: it goes all the same.
    let run = janitor(
        &emulator,
        &acme(&[("tags", "pr-*"), ("untag", "true"), ("keep-latest", "1")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [300]);
    assert!(
        run.stdout.contains("leftover untag placeholder"),
        "{}",
        run.stdout
    );
}

#[test]
fn untag_needs_write_packages_and_conflicting_inputs_stop_before_any_change() {
    let package = web().version(VersionSpec::image(100, &["pr-1", "v1"], at(0)));
    let scenario = base()
        .classic_pat(
            "ghp_nowrite",
            "alice",
            &["read:packages", "delete:packages"],
        )
        .package(package);
    let emulator = Emulator::start(scenario).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", "ghp_nowrite"),
            ("owner", "acme"),
            ("packages", "web"),
            ("tags", "pr-*"),
            ("untag", "true"),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("missing the scope(s) write:packages"),
        "{}",
        run.stdout
    );
    for (extra, text) in [
        (("tag-match", "any"), "conflicts with `tag-match: any`"),
        (("package-type", "npm"), "works on container images only"),
        (("mode", "restore"), "conflicts with `mode: restore`"),
    ] {
        let run = janitor(
            &emulator,
            &acme(&[("tags", "pr-*"), ("untag", "true"), extra]),
        );
        assert_eq!(run.code, 2, "{}", run.stdout);
        assert!(
            run.stdout.contains("input 'untag'") && run.stdout.contains(text),
            "{}",
            run.stdout
        );
    }
    assert!(emulator.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn a_refused_push_is_a_failure_that_says_the_tag_is_still_there() {
    let emulator = pr_and_release();
    emulator.set_quirks(gh_emulator::Quirks {
        push_denied: true,
        ..Default::default()
    });
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("untag", "true")]));
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "::error title=Untag failed::web version 100: tag pr-1 is still on {}",
            digest(100)
        )) && run
            .stdout
            .contains("the push failed: PUT /v2/acme/web/manifests/pr-1: HTTP 403"),
        "{}",
        run.stdout
    );
    assert_eq!(run.output("removed-tags-count"), "0");
    assert_eq!(run.output("failed-count"), "1");
    assert_eq!(tags(&emulator)[0].1, ["pr-1", "v1"]);
}

#[test]
fn untag_spends_the_primary_budget_but_never_meets_its_limit() {
    // 8 requests an hour: the preflight and the listing take 2; each tag costs 2 more (a
    // page and a DELETE) and one request stays in reserve: two of three tags come off.
    let package = web()
        .version(VersionSpec::image(
            100,
            &["pr-1", "pr-2", "pr-3", "v1"],
            at(0),
        ))
        .version(VersionSpec::image(200, &["v2"], at(1)));
    let emulator = Emulator::start(base().package(package)).unwrap();
    emulator.set_faults(gh_emulator::Faults {
        primary_limit: Some(8),
        ..Default::default()
    });
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("untag", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("removed-tags-count"), "2", "{}", run.stdout);
    assert!(emulator
        .requests()
        .iter()
        .all(|r| r.fault != Some("primary-limit")));
    assert_eq!(tags(&emulator)[0].1, ["pr-3", "v1"]);
    assert!(
        run.stdout
            .contains("::notice title=Untag not finished::web version 100: pr-3 left on it"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_restore_with_the_same_tags_puts_the_tag_back_instead_of_restoring_the_placeholder() {
    // Issue 18, item 5: the deleted placeholder is recognised from the listing alone and its
    // tag pushed back onto the image, which keeps its digest; the placeholder stays deleted.
    let emulator = pr_and_release();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("untag", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("removed-tags"), format!("pr-1@{}", digest(100)));
    let placeholder = emulator.deleted_ids("acme", PackageType::Container, "web");
    assert_eq!(placeholder.len(), 1);
    let before = emulator.requests().len();
    let undo = janitor(&emulator, &acme(&[("mode", "restore"), ("tags", "pr-*")]));
    assert_eq!(undo.code, 0, "{}", undo.stdout);
    assert_eq!(
        undo.output("restored-tags"),
        format!("pr-1@{}", digest(100))
    );
    assert_eq!(undo.output("restored-count"), "0");
    assert_eq!(
        tags(&emulator)[0],
        (100, vec!["v1".to_string(), "pr-1".to_string()])
    );
    assert_eq!(
        emulator.deleted_ids("acme", PackageType::Container, "web"),
        placeholder
    );
    assert!(crate::images::resolves(&emulator, "pr-1"));
    // No restore request went out, and no placeholder manifest was downloaded.
    let requests = &emulator.requests()[before..];
    assert!(requests.iter().all(|r| !r.path.ends_with("/restore")));
    // Restoring it by its id (the summary's undo step) does the same.
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("untag", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let ids = emulator.deleted_ids("acme", PackageType::Container, "web");
    let newest = ids.iter().max().unwrap().to_string();
    let undo = janitor(
        &emulator,
        &acme(&[("mode", "restore"), ("version-ids", &newest)]),
    );
    assert_eq!(undo.code, 0, "{}", undo.stdout);
    assert_eq!(
        undo.output("restored-tags"),
        format!("pr-1@{}", digest(100))
    );
}

#[test]
fn a_leftover_placeholder_is_found_without_downloading_any_manifest() {
    // Issue 18, item 8: leftovers are recognised by their digest alone; a plain cleanup run
    // (no untag) deletes them too.
    let bytes = package_janitor::images::placeholder("pr-9", &digest(100));
    let mut leftover = VersionSpec::image(300, &["pr-9"], at(9));
    leftover.name = package_janitor::images::digest_of(&bytes);
    leftover.manifest = Some(serde_json::from_slice(&bytes).unwrap());
    let package = web()
        .version(VersionSpec::image(100, &["v1"], at(0)))
        .version(VersionSpec::image(200, &["v2"], at(1)))
        .version(leftover);
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(&emulator, &acme(&[("older-than", "3650d")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [300]);
    assert_eq!(manifest_requests(&emulator.requests(), "GET"), 0);
}

#[test]
fn keep_latest_counts_untag_candidates_so_the_newest_image_keeps_its_tags() {
    // Issue 18, item 7: keep-latest kept the newest *deletion*, and the newest image lost its
    // tag. Candidates, newest first: 200 (untag pr-2), 150 (delete), 100 (untag pr-1).
    let package = web()
        .version(VersionSpec::image(100, &["pr-1", "v1"], at(0)))
        .version(VersionSpec::image(150, &["pr-0"], at(1)))
        .version(VersionSpec::image(200, &["pr-2", "v2"], at(2)));
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("tags", "pr-*"), ("untag", "true"), ("keep-latest", "1")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [150]);
    assert_eq!(run.output("removed-tags"), format!("pr-1@{}", digest(100)));
    assert_eq!(run.output("planned-count"), "2");
    assert_eq!(
        tags(&emulator),
        [
            (100, vec!["v1".to_string()]),
            (200, vec!["pr-2".to_string(), "v2".to_string()])
        ]
    );
}

#[test]
fn the_readme_recipe_strips_tags_and_deletes_nothing() {
    // Issue 21, item 5: `semver-range: ">=0.0.0"` keeps to images that carry a version tag.
    let package = web()
        .version(VersionSpec::image(100, &["pr-128", "v1.3.0"], at(0)))
        .version(VersionSpec::image(200, &["pr-129"], at(1)))
        .version(VersionSpec::image(300, &["v1.4.0"], at(2)));
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[
            ("tags", "pr-*"),
            ("untag", "true"),
            ("semver-range", ">=0.0.0"),
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("deleted-count"), "0");
    assert_eq!(
        run.output("removed-tags"),
        format!("pr-128@{}", digest(100))
    );
    assert_eq!(
        tags(&emulator),
        [
            (100, vec!["v1.3.0".to_string()]),
            (200, vec!["pr-129".to_string()]),
            (300, vec!["v1.4.0".to_string()])
        ]
    );
}

/// Issue 25: undoing an old untag after the tag moved on to a new build must not take the tag
/// from that build; of several placeholders for one tag only the newest is put back, once.
#[test]
fn a_restore_puts_a_tag_back_only_where_it_can_still_hold() {
    let emulator = pr_and_release();
    let untag = acme(&[("tags", "pr-*"), ("untag", "true")]);
    assert_eq!(janitor(&emulator, &untag).code, 0);
    let restore = acme(&[("mode", "restore"), ("tags", "pr-*")]);
    assert_eq!(janitor(&emulator, &restore).code, 0);
    // Untagged again: two deleted placeholders of pr-1 now.
    assert_eq!(janitor(&emulator, &untag).code, 0);
    assert_eq!(
        emulator
            .deleted_ids("acme", PackageType::Container, "web")
            .len(),
        2
    );
    // Both selected (by age: a tag put back on its image leaves the older placeholder).
    let before = emulator.requests().len();
    let undo = janitor(
        &emulator,
        &acme(&[("mode", "restore"), ("deleted-within", "1d")]),
    );
    assert_eq!(undo.code, 0, "{}", undo.stdout);
    assert_eq!(
        undo.output("restored-tags"),
        format!("pr-1@{}", digest(100)),
        "one home, said once"
    );
    let puts = |from: usize| {
        emulator.requests()[from..]
            .iter()
            .filter(|r| r.method == "PUT")
            .count()
    };
    assert_eq!(puts(before), 1);
    assert!(
        undo.stdout
            .contains("an older untag placeholder of pr-1: only the newest one is put back"),
        "{}",
        undo.stdout
    );

    // Untagged once more, then a new build is pushed under pr-1.
    assert_eq!(janitor(&emulator, &untag).code, 0);
    emulator
        .state()
        .packages
        .iter_mut()
        .find(|p| p.name == "web")
        .unwrap()
        .versions
        .push(VersionSpec::image(300, &["pr-1"], chrono::Utc::now()));
    let before = emulator.requests().len();
    let undo = janitor(&emulator, &restore);
    assert_eq!(undo.code, 0, "{}", undo.stdout);
    assert_eq!(undo.output("restored-tags-count"), "0");
    assert_eq!(puts(before), 0, "nothing is pushed");
    assert_eq!(
        tags(&emulator),
        [
            (100, vec!["v1".to_string()]),
            (200, vec!["v2".to_string()]),
            (300, vec!["pr-1".to_string()])
        ]
    );
    assert!(
        undo.stdout.contains("the tag has moved on to sha256:"),
        "{}",
        undo.stdout
    );
}

/// Issue 25: a push whose answers were all lost (acted on, answered 502, retries included) is
/// settled by a look at the tag: the tag has left the image, so it is in `removed-tags` and the
/// placeholder is deleted in the same change.
#[test]
fn a_push_whose_answers_were_all_lost_is_settled_by_a_look_at_the_tag() {
    let emulator = pr_and_release();
    emulator.set_faults(gh_emulator::Faults {
        lost_pushes: 100,
        ..gh_emulator::Faults::default()
    });
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("untag", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("removed-tags"), format!("pr-1@{}", digest(100)));
    // The placeholder went too: nothing but the two images is active.
    assert_eq!(
        tags(&emulator),
        [(100, vec!["v1".to_string()]), (200, vec!["v2".to_string()])]
    );
    let requests = emulator.requests();
    assert!(
        requests
            .iter()
            .filter(|r| r.method == "PUT")
            .all(|r| r.status == 502),
        "every answer to the push was lost: {:?}",
        log_lines(&requests)
    );
    assert!(
        requests
            .iter()
            .any(|r| r.method == "HEAD" && r.path == "/v2/acme/web/manifests/pr-1"),
        "looked"
    );
}
