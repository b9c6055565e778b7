//! Container images (SPEC §4) end to end: multi-arch images never broken, orphans swept,
//! signatures and attestations follow their image, fail closed on unreadable manifests.

use crate::util::*;
use gh_emulator::scenario::{PackageSpec, PackageType};
use gh_emulator::Emulator;
use std::io::{Read, Write};
use std::net::TcpStream;

fn get(emulator: &Emulator, path: &str, auth: &str) -> (u16, String) {
    let addr = emulator.url().trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Whether `tag` of `acme/web` resolves fully: the index and every manifest it lists.
pub fn resolves(emulator: &Emulator, tag: &str) -> bool {
    // Basic x:PAT, as the registry's token exchange takes it.
    let basic = "Basic eDpnaHBfWnE5c0VjUmVUdE9rRW5UaEF0TXVTdE5lVmVSbEVhSzAx";
    let (_, token) = get(
        emulator,
        "/token?service=ghcr.io&scope=repository:acme/web:pull",
        basic,
    );
    let token: serde_json::Value = serde_json::from_str(&token).unwrap();
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    let (status, index) = get(emulator, &format!("/v2/acme/web/manifests/{tag}"), &bearer);
    if status != 200 {
        return false;
    }
    let index: serde_json::Value = serde_json::from_str(&index).unwrap();
    index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|child| {
            let digest = child["digest"].as_str().unwrap();
            get(
                emulator,
                &format!("/v2/acme/web/manifests/{digest}"),
                &bearer,
            )
            .0 == 200
        })
}

fn web() -> PackageSpec {
    PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web")
}

const PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64"];

#[test]
fn untagged_cleanup_deletes_only_true_orphans_and_never_breaks_a_tagged_image() {
    // 100: an image whose tag moved away (index and parts all untagged); 200: `v1`.
    let package = web()
        .multi_arch(100, &[], PLATFORMS, true, at(0))
        .multi_arch(200, &["v1"], PLATFORMS, true, at(10));
    let emulator = Emulator::start(base().package(package)).unwrap();
    assert!(resolves(&emulator, "v1"));
    let before = emulator.requests().len();
    let run = janitor(&emulator, &acme(&[("untagged", "true")]));
    let requests = emulator.requests()[before..].to_vec();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [100, 101, 102, 103, 104]);
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [200, 201, 202, 203, 204]
    );
    assert!(resolves(&emulator, "v1"), "v1 must still resolve");
    let skipped = run.result()["packages"][0]["skipped"].clone();
    assert_eq!(skipped.as_array().unwrap().len(), 4);
    assert!(
        skipped
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["reason"] == "used by v1"),
        "{skipped}"
    );
    // Tagged versions came first; their platform and attestation manifests needed no look.
    // Looks: the v1 index, then the orphan index and its four parts. Only the two indexes
    // were read in full, the only downloads the run added.
    assert_eq!(manifest_requests(&requests, "HEAD"), 1 + 5);
    assert_eq!(manifest_requests(&requests, "GET"), 2);
    assert!(run.stdout.contains("used by v1"));
}

fn signed_tree() -> PackageSpec {
    // `old` (100) with attestations and a cosign signature (150); `new` (300) shares old's
    // amd64 image (101); `v2` (200) is unrelated.
    web()
        .multi_arch(100, &["old"], PLATFORMS, true, at(0))
        .signature(150, 100, at(1))
        .multi_arch(200, &["v2"], PLATFORMS, false, at(5))
        .index_over(300, &["new"], &[101, 201], at(9))
}

#[test]
fn deleting_a_signed_multi_arch_index_takes_its_tree_but_nothing_shared_and_restore_brings_it_back()
{
    let emulator = Emulator::start(base().package(signed_tree())).unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "old")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    // The index, its arm64 image, both attestations and the signature; not 101, which `new` uses.
    assert_eq!(run.ids("deleted-ids"), [100, 102, 103, 104, 150]);
    assert_eq!(run.ids("planned-ids"), [100, 102, 103, 104, 150]);
    let changed = run.result()["packages"][0]["planned"].to_string();
    assert!(changed.contains("\"sha256-"), "{changed}");
    assert!(run.stdout.contains("part of old"), "{}", run.stdout);
    assert!(emulator
        .active_ids("acme", PackageType::Container, "web")
        .contains(&101));
    assert!(resolves(&emulator, "new"));
    assert!(resolves(&emulator, "v2"));
    assert!(!resolves(&emulator, "old"));

    // Restoring the index by its tag brings the whole tree back.
    let restored = janitor(&emulator, &acme(&[("mode", "restore"), ("tags", "old")]));
    assert_eq!(restored.code, 0, "{}", restored.stdout);
    assert_eq!(restored.ids("restored-ids"), [100, 102, 103, 104, 150]);
    assert!(emulator
        .deleted_ids("acme", PackageType::Container, "web")
        .is_empty());
    assert!(resolves(&emulator, "old"));
    assert!(restored.stdout.contains("part of old"));
}

#[test]
fn an_unreadable_manifest_fails_closed() {
    let mut package = web()
        .multi_arch(200, &["v1"], PLATFORMS, false, at(0))
        .multi_arch(300, &[], &["linux/amd64"], false, at(5))
        .version(gh_emulator::VersionSpec::image(400, &["pr-1"], at(9)));
    package
        .versions
        .iter_mut()
        .find(|v| v.id == 200)
        .unwrap()
        .unreadable = true;
    let emulator = Emulator::start(base().package(package)).unwrap();
    // A fast clock: the unreadable manifest is retried with backoff before it counts.
    let run = janitor_with(
        &emulator,
        &acme(&[("tags", "pr-*"), ("untagged", "true")]),
        &[("PACKAGE_JANITOR_TIME_SCALE", "100")],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    // Nothing goes, tagged or not: any version could be v1's child (an index over tagged
    // images is what `docker buildx imagetools create` makes).
    assert_eq!(run.ids("deleted-ids"), Vec::<u64>::new());
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [200, 201, 202, 300, 301, 400]
    );
    assert!(
        run.stdout
            .contains("::warning title=Manifest unreadable::web: manifest sha256:"),
        "{}",
        run.stdout
    );
    let skipped = run.result()["packages"][0]["skipped"].clone();
    assert!(
        skipped
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["reason_kind"] == "manifest-unreadable"),
        "{skipped}"
    );
}

/// Issue 25: an index *to be deleted* whose manifest cannot be read may list any version, so
/// every other deletion of its package waits for its DELETE. Refused (the download limit of a
/// popular public image), it keeps them all; its untagged platform images are no longer
/// deleted before it, which left its tag answering "manifest unknown".
#[test]
fn an_unreadable_index_to_be_deleted_goes_first_and_refused_keeps_everything_it_may_list() {
    let unreadable_index = |package: gh_emulator::PackageSpec, downloads: u64| {
        let mut package = package
            .multi_arch(200, &["pr-1"], PLATFORMS, false, at(0))
            .version(gh_emulator::VersionSpec::image(300, &[], at(9)))
            .version(gh_emulator::VersionSpec::image(400, &["v1"], at(10)));
        let index = package.versions.iter_mut().find(|v| v.id == 200).unwrap();
        index.unreadable = true;
        index.downloads = downloads;
        package
    };
    let inputs = acme(&[("tags", "pr-*"), ("untagged", "true")]);
    let fast = [("PACKAGE_JANITOR_TIME_SCALE", "100")];

    // Refused: nothing it may list goes, not even the unrelated untagged 300.
    let emulator = Emulator::start(base().package(unreadable_index(web().public(), 9000))).unwrap();
    let run = janitor_with(&emulator, &inputs, &fast);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), Vec::<u64>::new());
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [200, 201, 202, 300, 400]
    );
    assert_eq!(
        count(&emulator.requests(), "DELETE"),
        1,
        "only the index was tried"
    );
    let skipped = run.result()["packages"][0]["skipped"].clone();
    let mut reasons: Vec<(u64, &str)> = skipped
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_u64().unwrap(),
                s["reason_kind"].as_str().unwrap(),
            )
        })
        .collect();
    reasons.sort_unstable();
    assert_eq!(
        reasons,
        [
            (200, "refused"),
            (201, "may-be-part-of"),
            (202, "may-be-part-of"),
            (300, "may-be-part-of")
        ],
        "{skipped}"
    );
    assert!(run
        .stdout
        .contains("whose manifest could not be read, may list it"));

    // Deleted: it went first, then what it may have listed.
    let emulator = Emulator::start(base().package(unreadable_index(web(), 0))).unwrap();
    let run = janitor_with(&emulator, &inputs, &fast);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("deleted-ids"), [200, 201, 202, 300]);
    let deletes: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path)
        .collect();
    assert!(deletes[0].ends_with("/versions/200"), "{deletes:?}");
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [400]
    );
}

#[test]
fn a_dry_run_shows_the_same_protected_plan() {
    let emulator = Emulator::start(base().package(signed_tree())).unwrap();
    let dry = janitor(&emulator, &acme(&[("tags", "old"), ("dry-run", "true")]));
    assert_eq!(dry.code, 0, "{}", dry.stdout);
    assert_eq!(dry.ids("planned-ids"), [100, 102, 103, 104, 150]);
    assert_eq!(count(&emulator.requests(), "DELETE"), 0);
}
