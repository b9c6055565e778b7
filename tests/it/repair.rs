//! Repair (issue 19, SPEC §4): images other tools broke — a tag whose index lists deleted
//! platform images, answering "manifest unknown" — brought back through the binary, the
//! emulator's registry and its state.

use crate::images::resolves;
use crate::util::*;
use chrono::{Duration, Utc};
use gh_emulator::scenario::{digest, PackageSpec, PackageType, VersionSpec};
use gh_emulator::Emulator;

const PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64"];

fn web() -> PackageSpec {
    PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web")
}

/// Mark versions deleted `days` ago, as a cleanup tool did.
fn deleted(mut package: PackageSpec, ids: &[u64], days: i64) -> PackageSpec {
    for version in package.versions.iter_mut().filter(|v| ids.contains(&v.id)) {
        version.deleted_at = Some(Utc::now() - Duration::days(days));
    }
    package
}

/// `v1` (100) lost its platform images and attestations (101–104) and its signature (150)
/// to a cleanup a day ago; `v2` (200) is whole.
fn broken_v1() -> PackageSpec {
    let package = web()
        .multi_arch(100, &["v1"], PLATFORMS, true, at(0))
        .signature(150, 100, at(1))
        .multi_arch(200, &["v2"], PLATFORMS, true, at(5));
    deleted(package, &[101, 102, 103, 104, 150], 1)
}

#[test]
fn a_dry_run_is_a_health_check_and_a_repair_brings_the_parts_back() {
    let emulator = Emulator::start(base().package(broken_v1())).unwrap();
    assert!(!resolves(&emulator, "v1"));
    let dry = janitor(&emulator, &acme(&[("mode", "repair"), ("dry-run", "true")]));
    // A broken image fails the health check; nothing is sent.
    assert_eq!(dry.code, 1, "{}", dry.stdout);
    assert!(emulator.requests().iter().all(|r| r.method != "POST"));
    assert_eq!(dry.ids("planned-ids"), [101, 102, 103, 104, 150]);
    let broken = &dry.result()["broken_images"];
    assert_eq!(broken.as_array().unwrap().len(), 1, "{broken}");
    assert_eq!(broken[0]["tags"], serde_json::json!(["v1"]));
    assert_eq!(broken[0]["digest"], digest(100));
    assert_eq!(broken[0]["repaired"], false);
    assert_eq!(broken[0]["missing"].as_array().unwrap().len(), 4);
    assert_eq!(broken[0]["missing"][0]["state"], "deleted");
    assert!(
        dry.stdout.contains("::error title=Image broken::web: v1"),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains("linux/amd64"), "{}", dry.stdout);
    // buildx's attestation manifests say `unknown/unknown`; they are named by what they attest.
    assert!(
        dry.stdout.contains("attestation of linux/arm64 sha256:"),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains("unknown/unknown"), "{}", dry.stdout);
    assert!(dry.summary.contains("### Broken images"), "{}", dry.summary);
    assert!(dry.summary.contains("no (dry run)"), "{}", dry.summary);

    let run = janitor(&emulator, &acme(&[("mode", "repair")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [101, 102, 103, 104, 150]);
    assert_eq!(run.result()["broken_images"][0]["repaired"], true);
    assert!(run.stdout.contains("Repaired: web: v1"), "{}", run.stdout);
    assert!(resolves(&emulator, "v1"));
    assert!(resolves(&emulator, "v2"));
    // Healthy again: the next health check passes and plans nothing.
    let again = janitor(&emulator, &acme(&[("mode", "repair"), ("dry-run", "true")]));
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert_eq!(again.output("planned-count"), "0");
    // A health check that passes says what it looked at, in the log and the summary.
    let healthy = "Examined 2 images: each is whole (every part it lists is an active version).";
    assert!(again.stdout.contains(healthy), "{}", again.stdout);
    assert!(again.summary.contains(healthy), "{}", again.summary);
    assert!(
        again.stdout.contains("Nothing selected."),
        "{}",
        again.stdout
    );
}

#[test]
fn parts_gone_for_good_leave_an_image_beyond_repair_said_plainly() {
    // 101 was deleted 40 days ago (past GitHub's 30); the index also lists a digest that is no
    // version at all. 103 and 104 come back; the image stays broken: exit 1.
    let mut package = deleted(broken_v1(), &[101], 40);
    let index = package.versions.iter_mut().find(|v| v.id == 100).unwrap();
    let manifest = index.manifest.as_mut().unwrap();
    manifest["manifests"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest(999),
            "size": 1000,
            "platform": {"architecture": "s390x", "os": "linux"},
        }));
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(&emulator, &acme(&[("mode", "repair")]));
    assert_eq!(run.code, 1, "{}", run.stdout);
    // No restore is asked of a version past 30 days.
    assert_eq!(run.ids("restored-ids"), [102, 103, 104, 150]);
    assert!(!emulator
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/versions/101/restore")));
    assert!(
        run.stdout
            .contains("::error title=Image beyond repair::web: v1"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("linux/s390x"), "{}", run.stdout);
    assert!(run.stdout.contains("gone for good"), "{}", run.stdout);
    let broken = &run.result()["broken_images"][0];
    assert_eq!(broken["repaired"], false);
    let state = |wanted: &str| -> Vec<&serde_json::Value> {
        broken["missing"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["state"] == wanted)
            .collect()
    };
    // Never in the package: gone, no id.
    let gone = state("gone");
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0]["digest"], digest(999));
    // Issue 27, item 10: deleted past 30 days, GitHub still lists it: named by its id and
    // when it was deleted.
    let expired = state("expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["digest"], digest(101));
    assert_eq!(expired[0]["id"], 101);
    assert!(expired[0]["deleted_at"].is_string(), "{broken}");
    assert!(
        run.stdout.contains("deleted version 101, deleted "),
        "{}",
        run.stdout
    );
    assert!(run.summary.contains("beyond repair"), "{}", run.summary);
}

#[test]
fn nested_indexes_are_read_and_their_deleted_children_restored() {
    // `multi` (300) lists the nested index 310, which lists 311 and 312 (deleted).
    let package = web()
        .version(VersionSpec::image(311, &[], at(0)))
        .version(VersionSpec::image(312, &[], at(0)))
        .index_over(310, &[], &[311, 312], at(1))
        .index_over(300, &["multi"], &[310], at(2));
    let package = deleted(package, &[311, 312], 2);
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(&emulator, &acme(&[("mode", "repair")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [311, 312]);
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [300, 310, 311, 312]
    );
}

#[test]
fn tags_narrow_what_is_examined_and_conflicting_inputs_stop_first() {
    // v2 is broken too; `tags: v1` repairs v1 alone.
    let package = deleted(broken_v1(), &[201, 202], 1);
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(&emulator, &acme(&[("mode", "repair"), ("tags", "v1")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [101, 102, 103, 104, 150]);
    assert!(!resolves(&emulator, "v2"));
    for (extra, input) in [
        (("package-type", "npm"), "mode"),
        (("untagged", "true"), "untagged"),
        (("keep-latest", "2"), "keep-latest"),
        (("deleted-within", "1d"), "deleted-within"),
    ] {
        let run = janitor(&emulator, &acme(&[("mode", "repair"), extra]));
        assert_eq!(run.code, 2, "{}", run.stdout);
        assert!(
            run.stdout.contains(&format!("input '{input}'")),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn a_repair_needs_write_packages_and_says_so_before_any_change() {
    let scenario = base()
        .classic_pat(
            "ghp_readdelete",
            "alice",
            &["read:packages", "delete:packages"],
        )
        .package(broken_v1());
    let emulator = Emulator::start(scenario).unwrap();
    let run = janitor(
        &emulator,
        &[
            ("token", "ghp_readdelete"),
            ("owner", "acme"),
            ("packages", "web"),
            ("mode", "repair"),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("missing the scope(s) write:packages"),
        "{}",
        run.stdout
    );
    assert!(emulator.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn a_restore_of_several_images_asks_the_registry_for_one_token() {
    // Two multi-arch images deleted whole by a cleanup; restoring both reads each restored
    // index for its parts under one pull token, not one per image.
    let package = web()
        .multi_arch(100, &["v1"], PLATFORMS, true, at(0))
        .multi_arch(200, &["v2"], PLATFORMS, true, at(5))
        .multi_arch(300, &["v3"], PLATFORMS, true, at(9));
    let package = deleted(
        package,
        &[100, 101, 102, 103, 104, 200, 201, 202, 203, 204],
        1,
    );
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(&emulator, &acme(&[("mode", "restore"), ("tags", "v1,v2")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("restored-count"), "10", "{}", run.stdout);
    let tokens = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "/token")
        .count();
    assert_eq!(tokens, 1, "{}", log_lines(&emulator.requests()).join("\n"));
    assert!(resolves(&emulator, "v1") && resolves(&emulator, "v2"));
}

#[test]
fn an_index_restored_without_its_parts_is_counted_as_failed() {
    // Issue 18, item 8: the index came back, its platform images (deleted 40 days ago) could
    // not; the run said "0 failed" while exiting 1.
    let package = web().multi_arch(100, &["v1"], PLATFORMS, true, at(0));
    let package = deleted(deleted(package, &[100], 1), &[101, 102, 103, 104], 40);
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(&emulator, &acme(&[("mode", "restore"), ("tags", "v1")]));
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [100]);
    // The four parts and the image they leave broken; no restore is asked of a part past
    // GitHub's 30 days, and the run does not promise that running again would help.
    assert_eq!(run.output("failed-count"), "5", "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "Done: 5 planned, 1 restored, 0 skipped, 5 failed (1 restored but not whole)"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(count(&emulator.requests(), "POST"), 1);
    assert!(
        run.stdout.contains(
            "was restored, but not whole: parts 104, 103, 102, 101 deleted more than 30 days ago, \
             gone for good; no restore can complete it"
        ),
        "{}",
        run.stdout
    );
    assert!(!resolves(&emulator, "v1"));
}

/// Issue 25: `docker buildx imagetools create` makes an index over *tagged* platform images.
/// 10 `multi` lists 1 `amd64` and 2 `arm64`; a cleanup deleted all three a day ago.
fn index_over_tagged_images() -> PackageSpec {
    web()
        .version(VersionSpec::image(1, &["amd64"], at(0)))
        .version(VersionSpec::image(2, &["arm64"], at(1)))
        .index_over(10, &["multi"], &[1, 2], at(2))
}

#[test]
fn a_restore_of_an_index_over_tagged_images_brings_them_back_with_it() {
    let package = deleted(index_over_tagged_images(), &[1, 2, 10], 1);
    let emulator = Emulator::start(base().package(package)).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("mode", "restore"), ("version-ids", "10")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [1, 2, 10]);
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [1, 2, 10]
    );
    assert!(resolves(&emulator, "multi"));
}

#[test]
fn a_repair_brings_back_a_tagged_part_and_a_second_repair_finds_the_image_whole() {
    // Only the arm64 image was deleted: `multi` answers "manifest unknown" on arm64.
    let package = deleted(index_over_tagged_images(), &[2], 1);
    let emulator = Emulator::start(base().package(package)).unwrap();
    assert!(!resolves(&emulator, "multi"));
    let run = janitor(&emulator, &acme(&[("mode", "repair")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [2]);
    assert!(resolves(&emulator, "multi"));
    let again = janitor(&emulator, &acme(&[("mode", "repair")]));
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert_eq!(again.output("restored-count"), "0");
    assert!(again.result()["broken_images"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// Issue 27, item 1: a health check on one tag of a multi-tagged image examines that image
/// (any of its tags matching), so a broken `latest` never passes by being skipped.
#[test]
fn a_health_check_on_one_tag_examines_the_image_that_carries_it_among_others() {
    let emulator = Emulator::start(base().package(broken_v1())).unwrap();
    {
        let mut state = emulator.state();
        let v1 = state.packages[0]
            .versions
            .iter_mut()
            .find(|v| v.id == 100)
            .unwrap();
        v1.tags.push("latest".into());
    }
    let dry = janitor(
        &emulator,
        &acme(&[("mode", "repair"), ("tags", "latest"), ("dry-run", "true")]),
    );
    assert_eq!(
        dry.code, 1,
        "a broken image fails the check: {}",
        dry.stdout
    );
    assert_eq!(dry.result()["broken_images"].as_array().unwrap().len(), 1);
    let run = janitor(&emulator, &acme(&[("mode", "repair"), ("tags", "latest")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(resolves(&emulator, "latest"));
}

/// Issue 27, item 12: the scenario the README ships for trying the repair story loads, shows
/// the broken image, and a repair makes it whole (its deletion moved to two days ago, so the
/// test does not age with the file's dates).
#[test]
fn the_shipped_broken_image_scenario_is_repaired() {
    let yaml = include_str!("../emulator/scenarios/broken.yaml");
    let mut scenario = gh_emulator::Scenario::from_yaml(yaml).unwrap();
    for version in scenario.packages[0].versions.iter_mut() {
        if version.deleted_at.is_some() {
            version.deleted_at = Some(Utc::now() - Duration::days(2));
        }
    }
    let emulator = Emulator::start(scenario).unwrap();
    let inputs = [
        ("token", "ghp_brokenDemoPat"),
        ("owner", "acme"),
        ("packages", "app"),
        ("mode", "repair"),
    ];
    let mut dry: Vec<(&str, &str)> = inputs.to_vec();
    dry.push(("dry-run", "true"));
    let check = janitor(&emulator, &dry);
    assert_eq!(check.code, 1, "{}", check.stdout);
    assert_eq!(check.result()["broken_images"].as_array().unwrap().len(), 1);
    let run = janitor(&emulator, &inputs);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("restored-ids"), [700000002]);
}
