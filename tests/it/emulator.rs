//! The emulator's fidelity to GitHub, checked over HTTP: what the facts file and the OpenAPI
//! description say GitHub does, the emulator does.

use crate::util::*;
use gh_emulator::scenario::{PackageSpec, PackageType, VersionSpec};
use gh_emulator::Emulator;
use std::io::{Read, Write};
use std::net::TcpStream;

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A plain HTTP/1.1 request, so the test sees exactly what went over the wire.
fn call(emulator: &Emulator, method: &str, path: &str, token: Option<&str>) -> Answer {
    let addr = emulator.url().trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

fn many(n: u64) -> PackageSpec {
    let mut p =
        PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web");
    for i in 0..n {
        p = p.version(VersionSpec::image(id(i), &[], at(i as i64)));
    }
    p
}

#[test]
fn pagination_defaults_to_30_caps_at_100_and_links_in_numeric_id_form() {
    let emulator = Emulator::start(base().package(many(250))).unwrap();
    let first = call(
        &emulator,
        "GET",
        "/orgs/acme/packages/container/web/versions",
        Some(PAT),
    );
    assert_eq!(first.status, 200);
    assert_eq!(first.json().as_array().unwrap().len(), 30);
    let link = first.header("link").unwrap();
    let url = emulator.url();
    assert!(link.contains(&format!("<{url}/organizations/54834211/packages/container/web/versions?page=2&per_page=30>; rel=\"next\"")), "{link}");
    assert!(link.contains("page=9&per_page=30>; rel=\"last\""), "{link}");

    let big = call(
        &emulator,
        "GET",
        "/orgs/acme/packages/container/web/versions?per_page=500&page=3",
        Some(PAT),
    );
    assert_eq!(big.json().as_array().unwrap().len(), 50);
    let link = big.header("link").unwrap();
    assert!(
        link.contains("rel=\"prev\"")
            && link.contains("rel=\"first\"")
            && !link.contains("rel=\"next\""),
        "{link}"
    );

    // The numeric-id form is served too, and one page that holds everything has no Link.
    let numeric = call(
        &emulator,
        "GET",
        "/organizations/54834211/packages/container/web/versions?per_page=100&page=2",
        Some(PAT),
    );
    assert_eq!(numeric.json().as_array().unwrap().len(), 100);
    let small = Emulator::start(base().package(many(5))).unwrap();
    let all = call(
        &small,
        "GET",
        "/orgs/acme/packages/container/web/versions?per_page=100",
        Some(PAT),
    );
    assert_eq!(all.json().as_array().unwrap().len(), 5);
    assert!(all.header("link").is_none());
}

#[test]
fn versions_are_shaped_as_the_openapi_description_says() {
    let emulator =
        Emulator::start(base().package(images("web", &[&["v1", "latest"], &[]]))).unwrap();
    let list = call(
        &emulator,
        "GET",
        "/orgs/acme/packages/container/web/versions",
        Some(PAT),
    )
    .json();
    let v = &list[1];
    for field in [
        "id",
        "name",
        "url",
        "package_html_url",
        "created_at",
        "updated_at",
    ] {
        assert!(!v[field].is_null(), "{field} missing in {v}");
    }
    assert_eq!(v["metadata"]["package_type"], "container");
    assert_eq!(
        v["metadata"]["container"]["tags"],
        serde_json::json!(["v1", "latest"])
    );
    assert_eq!(
        list[0]["metadata"]["container"]["tags"],
        serde_json::json!([])
    );
    assert!(v.get("deleted_at").is_none());
}

#[test]
fn deletes_answer_204_with_an_empty_body_and_errors_carry_status_as_a_string() {
    let emulator = Emulator::start(base().package(images("web", &[&["a"], &["b"]]))).unwrap();
    let path = format!("/orgs/acme/packages/container/web/versions/{}", id(0));
    let deleted = call(&emulator, "DELETE", &path, Some(PAT));
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.body, "");
    let last = call(
        &emulator,
        "DELETE",
        &format!("/orgs/acme/packages/container/web/versions/{}", id(1)),
        Some(PAT),
    );
    assert_eq!(last.status, 400);
    assert_eq!(
        last.json()["message"],
        "You cannot delete the last version of a package. You must delete the package instead."
    );
    assert_eq!(last.json()["status"], "400");
    let deleted_list = call(
        &emulator,
        "GET",
        "/orgs/acme/packages/container/web/versions?state=deleted",
        Some(PAT),
    )
    .json();
    assert_eq!(deleted_list[0]["id"], id(0));
    assert!(deleted_list[0]["deleted_at"].is_string());
}

#[test]
fn tokens_behave_by_kind() {
    let emulator = Emulator::start(base().package(images("web", &[&["a"], &["b"]]))).unwrap();
    // GITHUB_TOKEN: 403 on /user, cannot list packages, may read what its repository administers.
    let user = call(&emulator, "GET", "/user", Some(GITHUB_TOKEN));
    assert_eq!(
        (user.status, user.json()["message"].as_str()),
        (403, Some("Resource not accessible by integration"))
    );
    // Users report 400 `Invalid argument.` (facts file); the other answer is a switch.
    let listing = call(
        &emulator,
        "GET",
        "/orgs/acme/packages?package_type=container",
        Some(GITHUB_TOKEN),
    );
    assert_eq!(
        (listing.status, listing.json()["message"].as_str()),
        (400, Some("Invalid argument."))
    );
    emulator.set_quirks(gh_emulator::Quirks {
        installation_list_status: 403,
        ..Default::default()
    });
    assert_eq!(
        call(
            &emulator,
            "GET",
            "/orgs/acme/packages?package_type=container",
            Some(GITHUB_TOKEN)
        )
        .status,
        403
    );
    emulator.set_quirks(gh_emulator::Quirks::default());
    assert_eq!(
        call(
            &emulator,
            "GET",
            "/orgs/acme/packages/container/web",
            Some(GITHUB_TOKEN)
        )
        .status,
        200
    );
    let other = call(
        &emulator,
        "GET",
        "/orgs/acme/packages/container/web",
        Some(OCTOCAT_GITHUB_TOKEN),
    );
    assert_eq!(
        (other.status, other.json()["message"].as_str()),
        (404, Some("Package not found."))
    );
    assert!(user.header("x-oauth-scopes").is_none());
    // Classic PAT: scopes in X-OAuth-Scopes; lists what it can see.
    let me = call(&emulator, "GET", "/user", Some(PAT));
    assert_eq!(me.json()["login"], "alice");
    assert_eq!(
        me.header("x-oauth-scopes"),
        Some("repo, read:packages, write:packages, delete:packages")
    );
    let listed = call(
        &emulator,
        "GET",
        "/orgs/acme/packages?package_type=container",
        Some(PAT),
    )
    .json();
    assert_eq!(listed[0]["name"], "web");
    assert_eq!(
        call(
            &emulator,
            "GET",
            "/orgs/acme/packages?package_type=container&page=101&per_page=100",
            Some(PAT)
        )
        .status,
        400
    );
    // Fine-grained PAT: refused by the packages API; unknown or missing token: 401.
    assert_eq!(
        call(
            &emulator,
            "GET",
            "/orgs/acme/packages/container/web",
            Some(FINE_GRAINED)
        )
        .status,
        403
    );
    assert_eq!(
        call(
            &emulator,
            "GET",
            "/orgs/acme/packages/container/web",
            Some("nope")
        )
        .status,
        401
    );
    assert_eq!(
        call(&emulator, "GET", "/orgs/acme/packages/container/web", None).status,
        401
    );
    assert_eq!(
        call(&emulator, "GET", "/users/acme", None).json()["type"],
        "Organization"
    );
    // Primary budget headers on authenticated answers.
    assert_eq!(me.header("x-ratelimit-limit"), Some("5000"));
    assert_eq!(user.header("x-ratelimit-limit"), Some("1000"));
}

#[test]
fn a_pat_without_delete_scope_cannot_delete() {
    let scenario = base()
        .classic_pat("ghp_readonly", "alice", &["read:packages"])
        .package(images("web", &[&["a"], &["b"]]));
    let emulator = Emulator::start(scenario).unwrap();
    let path = format!("/orgs/acme/packages/container/web/versions/{}", id(0));
    let refused = call(&emulator, "DELETE", &path, Some("ghp_readonly"));
    assert_eq!(refused.status, 403);
    assert!(refused.json()["message"]
        .as_str()
        .unwrap()
        .contains("delete:packages"));
    assert_eq!(
        emulator
            .active_ids("acme", PackageType::Container, "web")
            .len(),
        2
    );
}

#[test]
fn restores_work_within_30_days_only() {
    let now = chrono::Utc::now();
    let package = images("web", &[&["a"], &["b"]])
        .version(
            VersionSpec::image(id(7), &["old"], at(7)).deleted(now - chrono::Duration::days(31)),
        )
        .version(
            VersionSpec::image(id(8), &["recent"], at(8)).deleted(now - chrono::Duration::days(2)),
        );
    let emulator = Emulator::start(base().package(package)).unwrap();
    let path = |i: u64| {
        format!(
            "/orgs/acme/packages/container/web/versions/{}/restore",
            id(i)
        )
    };
    let late = call(&emulator, "POST", &path(7), Some(PAT));
    assert_eq!(late.status, 400);
    assert!(late.json()["message"].as_str().unwrap().contains("30 days"));
    let ok = call(&emulator, "POST", &path(8), Some(PAT));
    assert_eq!((ok.status, ok.body.as_str()), (204, ""));
    assert_eq!(
        emulator.active_ids("acme", PackageType::Container, "web"),
        [id(0), id(1), id(8)]
    );
}

#[test]
fn whole_packages_delete_and_restore_and_names_with_slashes_decode() {
    let mut package = images("repo/app", &[&["a"], &["b"]]);
    package.id = 7002;
    let emulator = Emulator::start(base().package(package)).unwrap();
    assert_eq!(
        call(
            &emulator,
            "GET",
            "/orgs/acme/packages/container/repo%2Fapp",
            Some(PAT)
        )
        .json()["name"],
        "repo/app"
    );
    assert_eq!(
        call(
            &emulator,
            "DELETE",
            "/orgs/acme/packages/container/repo%2Fapp",
            Some(PAT)
        )
        .status,
        204
    );
    assert_eq!(
        call(
            &emulator,
            "GET",
            "/orgs/acme/packages/container/repo%2Fapp",
            Some(PAT)
        )
        .status,
        404
    );
    assert_eq!(
        call(
            &emulator,
            "POST",
            "/orgs/acme/packages/container/repo%2Fapp/restore",
            Some(PAT)
        )
        .status,
        204
    );
    assert_eq!(
        call(
            &emulator,
            "GET",
            "/orgs/acme/packages/container/repo%2Fapp",
            Some(PAT)
        )
        .status,
        200
    );
}

#[test]
fn the_request_log_keeps_no_token_values() {
    let emulator = Emulator::start(base()).unwrap();
    call(&emulator, "GET", "/user", Some(PAT));
    let log = serde_json::to_string(&emulator.requests()).unwrap();
    assert!(!log.contains(PAT));
    assert!(log.contains("\"token_kind\":\"classic\""));
}

#[test]
fn the_registry_serves_manifests_by_digest_and_tag_and_counts_downloads() {
    let package = PackageSpec::new("acme", PackageType::Container, "web", 7001)
        .repository("acme/web")
        .multi_arch(100, &["v1"], &["linux/amd64"], true, at(0));
    let emulator = Emulator::start(base().package(package)).unwrap();
    // Without a token: 401 with the realm to get one.
    let denied = call(&emulator, "GET", "/v2/acme/web/manifests/v1", None);
    assert_eq!(denied.status, 401);
    assert!(denied
        .header("www-authenticate")
        .unwrap()
        .contains("/token"));
    // A private image needs the GitHub token as the Basic password.
    let anonymous = call(
        &emulator,
        "GET",
        "/token?service=ghcr.io&scope=repository:acme/web:pull",
        None,
    );
    assert_eq!(anonymous.status, 401);
    let token = emulator.state().registry_grants.len();
    assert_eq!(token, 0);
    let addr = emulator.url().trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    // "x:" + PAT in base64.
    write!(stream, "GET /token?service=ghcr.io&scope=repository:acme/web:pull HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic eDpnaHBfWnE5c0VjUmVUdE9rRW5UaEF0TXVTdE5lVmVSbEVhSzAx\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let body: serde_json::Value =
        serde_json::from_str(raw.split_once("\r\n\r\n").unwrap().1).unwrap();
    let bearer = body["token"].as_str().unwrap().to_string();

    let index = call(&emulator, "GET", "/v2/acme/web/manifests/v1", Some(&bearer));
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("application/vnd.oci.image.index.v1+json")
    );
    let digest = index.header("docker-content-digest").unwrap().to_string();
    assert_eq!(index.json()["manifests"].as_array().unwrap().len(), 2);
    let head = call(
        &emulator,
        "HEAD",
        &format!("/v2/acme/web/manifests/{digest}"),
        Some(&bearer),
    );
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert_eq!(head.header("docker-content-digest"), Some(digest.as_str()));
    // One GET, one download; HEAD is free.
    let downloads = emulator
        .package("acme", PackageType::Container, "web")
        .unwrap()
        .versions
        .iter()
        .find(|v| v.id == 100)
        .unwrap()
        .downloads;
    assert_eq!(downloads, 1);
    let missing = call(
        &emulator,
        "GET",
        "/v2/acme/web/manifests/nope",
        Some(&bearer),
    );
    assert_eq!(missing.status, 404);
}

#[test]
fn a_public_image_gets_an_anonymous_pull_token() {
    let package = PackageSpec::new("acme", PackageType::Container, "web", 7001)
        .public()
        .version(VersionSpec::image(1, &["v1"], at(0)));
    let emulator = Emulator::start(base().package(package)).unwrap();
    let token = call(
        &emulator,
        "GET",
        "/token?service=ghcr.io&scope=repository:acme/web:pull",
        None,
    );
    assert_eq!(token.status, 200);
    let bearer = token.json()["token"].as_str().unwrap().to_string();
    assert_eq!(
        call(&emulator, "GET", "/v2/acme/web/manifests/v1", Some(&bearer)).status,
        200
    );
}
