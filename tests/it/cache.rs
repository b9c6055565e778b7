//! The manifest cache (issue 26, SPEC §5): a repeat run downloads no manifest it has seen;
//! a tampered entry or a foreign file changes no decision; the file keeps only what is listed.

use crate::util::*;
use gh_emulator::scenario::{digest, PackageSpec, PackageType, VersionSpec};
use gh_emulator::Emulator;
use serde_json::json;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A version named by the true digest of the bytes the registry serves for it.
fn real(id: u64, tags: &[&str], manifest: serde_json::Value) -> VersionSpec {
    let mut version = VersionSpec::image(id, tags, at(id as i64));
    version.manifest = Some(manifest);
    version.with_true_digest()
}

fn image(id: u64, tags: &[&str]) -> VersionSpec {
    real(
        id,
        tags,
        json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(0), "size": 2},
            "layers": [],
            "annotations": {"id": id.to_string()},
        }),
    )
}

fn index(id: u64, tags: &[&str], children: &[&VersionSpec]) -> VersionSpec {
    let manifests: Vec<serde_json::Value> = children
        .iter()
        .map(|c| {
            json!({"mediaType": OCI_MANIFEST, "digest": c.name, "size": 100,
                   "platform": {"architecture": "amd64", "os": "linux"}})
        })
        .collect();
    real(
        id,
        tags,
        json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
    )
}

/// Five multi-arch images (index `N00` tagged `vN` over `N01`, `N02`) and three orphans.
fn world() -> Emulator {
    let mut package =
        PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web");
    for n in 1..=5u64 {
        let (a, b) = (image(n * 100 + 1, &[]), image(n * 100 + 2, &[]));
        let tag = format!("v{n}");
        let i = index(n * 100, &[tag.as_str()], &[&a, &b]);
        package = package.version(a).version(b).version(i);
    }
    for id in 901..=903 {
        package = package.version(image(id, &[]));
    }
    Emulator::start(base().package(package)).unwrap()
}

/// Run in `workspace` (kept between runs, as actions/cache keeps the file).
fn run_in(emulator: &Emulator, workspace: &std::path::Path, extra: &[(&str, &str)]) -> Run {
    let mut inputs = acme(&[("manifest-cache", ".cache/manifests.json")]);
    inputs.extend_from_slice(extra);
    let (mut command, dir) = janitor_command(emulator, &inputs);
    command.env("GITHUB_WORKSPACE", workspace);
    finished(&command.output().unwrap(), &dir)
}

fn cached(workspace: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(workspace.join(".cache/manifests.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_repeat_run_downloads_no_manifest_it_has_seen() {
    let emulator = world();
    let workspace = tempfile::tempdir().unwrap();
    let dry = [("untagged", "true"), ("dry-run", "true")];

    let first = run_in(&emulator, workspace.path(), &dry);
    assert_eq!(first.code, 0, "{}", first.stdout);
    let requests = emulator.requests();
    assert_eq!(
        manifest_requests(&requests, "GET"),
        5,
        "each index downloaded once"
    );
    assert_eq!(
        cached(workspace.path())["manifests"]
            .as_object()
            .unwrap()
            .len(),
        5
    );

    // The second run: no download; the same plan.
    let before = emulator.requests().len();
    let second = run_in(&emulator, workspace.path(), &dry);
    assert_eq!(second.code, 0, "{}", second.stdout);
    assert_eq!(second.output("planned-ids"), first.output("planned-ids"));
    let requests = &emulator.requests()[before..];
    assert_eq!(manifest_requests(requests, "GET"), 0);
    // Only what the cache cannot vouch for is asked about: the three orphans, single images
    // no cached index lists (the platform images are known from their indexes).
    let first_looks = manifest_requests(&emulator.requests()[..before], "HEAD");
    assert_eq!(
        manifest_requests(requests, "HEAD"),
        3,
        "{first_looks} the first time"
    );
    assert!(
        second.stdout.contains("Manifest cache"),
        "{}",
        second.stdout
    );

    // A tampered entry is dropped, said once, and read again; the plan does not change.
    let mut file = cached(workspace.path());
    let entry = file["manifests"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    *entry = json!(base64_of(br#"{"schemaVersion":2,"manifests":[]}"#));
    std::fs::write(
        workspace.path().join(".cache/manifests.json"),
        file.to_string(),
    )
    .unwrap();
    let before = emulator.requests().len();
    let third = run_in(&emulator, workspace.path(), &dry);
    assert_eq!(third.code, 0, "{}", third.stdout);
    assert_eq!(third.output("planned-ids"), first.output("planned-ids"));
    assert_eq!(manifest_requests(&emulator.requests()[before..], "GET"), 1);
    assert!(
        third
            .stdout
            .contains("1 of 5 entries did not match their digest"),
        "{}",
        third.stdout
    );

    // A file that is not a cache is set aside; the run goes on without it.
    std::fs::write(workspace.path().join(".cache/manifests.json"), "notes").unwrap();
    let fourth = run_in(&emulator, workspace.path(), &dry);
    assert_eq!(fourth.code, 0, "{}", fourth.stdout);
    assert_eq!(fourth.output("planned-ids"), first.output("planned-ids"));
    assert!(fourth.stdout.contains("set aside"), "{}", fourth.stdout);
    assert_eq!(
        std::fs::read_to_string(workspace.path().join(".cache/manifests.not-a-cache")).unwrap(),
        "notes"
    );

    // A real run deletes v1's image: the cache keeps only what is still listed.
    let fifth = run_in(&emulator, workspace.path(), &[("tags", "v1")]);
    assert_eq!(fifth.code, 0, "{}", fifth.stdout);
    assert_eq!(fifth.ids("deleted-ids"), [100, 101, 102]);
    let sixth = run_in(&emulator, workspace.path(), &dry);
    assert_eq!(sixth.code, 0, "{}", sixth.stdout);
    assert_eq!(
        cached(workspace.path())["manifests"]
            .as_object()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn a_cache_path_leading_out_of_the_workspace_is_refused_before_any_request() {
    let emulator = world();
    let workspace = tempfile::tempdir().unwrap();
    for path in ["/tmp/cache.json", "../cache.json", "a/../../cache.json"] {
        let inputs = acme(&[("untagged", "true"), ("manifest-cache", path)]);
        let (mut command, dir) = janitor_command(&emulator, &inputs);
        command.env("GITHUB_WORKSPACE", workspace.path());
        let run = finished(&command.output().unwrap(), &dir);
        assert_eq!(run.code, 2, "{path}: {}", run.stdout);
        assert!(
            run.stdout.contains("input 'manifest-cache'"),
            "{}",
            run.stdout
        );
    }
    assert!(emulator.requests().is_empty());
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
