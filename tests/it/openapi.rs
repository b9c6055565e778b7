//! Every request the binary sends must be an operation of GitHub's OpenAPI description
//! (`tests/emulator/openapi/packages-openapi.json`, a copy of `shared/github-api`): method,
//! path template and query parameters. `janitor()` checks this after every run.

use gh_emulator::LoggedRequest;
use serde_json::Value;
use std::sync::OnceLock;

struct Operation {
    method: String,
    segments: Vec<String>,
    query: Vec<String>,
}

fn operations() -> &'static Vec<Operation> {
    static OPS: OnceLock<Vec<Operation>> = OnceLock::new();
    OPS.get_or_init(|| {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/emulator/openapi/packages-openapi.json"
        ))
        .unwrap();
        let spec: Value = serde_json::from_str(&text).unwrap();
        let resolve = |p: &Value| -> Value {
            match p.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let name = r.rsplit('/').next().unwrap();
                    spec["components"]["parameters"][name].clone()
                }
                None => p.clone(),
            }
        };
        let mut ops = Vec::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let query = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(resolve)
                    .filter(|p| p["in"] == "query")
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .collect();
                ops.push(Operation {
                    method: method.to_uppercase(),
                    segments: path
                        .trim_start_matches('/')
                        .split('/')
                        .map(String::from)
                        .collect(),
                    query,
                });
            }
        }
        // The account lookups the preflight uses, from GitHub's users and orgs descriptions.
        for path in ["/users/{username}", "/user", "/orgs/{org}"] {
            ops.push(Operation {
                method: "GET".into(),
                segments: path
                    .trim_start_matches('/')
                    .split('/')
                    .map(String::from)
                    .collect(),
                query: Vec::new(),
            });
        }
        ops
    })
}

/// GitHub's `Link` headers use numeric-id paths; the binary follows them as given, and they
/// stand for the named routes.
fn canonical(path: &str) -> Vec<String> {
    let mut segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(String::from)
        .collect();
    match segments.first().map(String::as_str) {
        Some("organizations") => segments[0] = "orgs".into(),
        Some("user")
            if segments
                .get(1)
                .is_some_and(|s| s.chars().all(|c| c.is_ascii_digit())) =>
        {
            segments[0] = "users".into()
        }
        _ => {}
    }
    segments
}

fn matches(op: &Operation, method: &str, segments: &[String]) -> bool {
    op.method == method
        && op.segments.len() == segments.len()
        && op
            .segments
            .iter()
            .zip(segments)
            .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
}

pub fn assert_valid_operations(requests: &[LoggedRequest]) {
    // The registry's `/token` and `/v2/` are not REST operations.
    let rest = requests.iter().filter(|r| !r.registry);
    for r in rest {
        let segments = canonical(&r.path);
        let op = operations()
            .iter()
            .find(|op| matches(op, &r.method, &segments))
            .unwrap_or_else(|| {
                panic!(
                    "{} {} is no operation of the OpenAPI description",
                    r.method, r.path
                )
            });
        for pair in r.query.split('&').filter(|p| !p.is_empty()) {
            let name = pair.split('=').next().unwrap();
            // The description omits `page`, `per_page` and `state` on the /users/{username}
            // versions listing, which GitHub serves like the other two families (README).
            let users_versions =
                segments[0] == "users" && segments.last().is_some_and(|s| s == "versions");
            let allowed = op.query.iter().any(|q| q == name)
                || (users_versions && ["page", "per_page", "state"].contains(&name));
            assert!(
                allowed,
                "{} {}?{}: `{name}` is no query parameter of this operation",
                r.method, r.path, r.query
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, query: &str) -> LoggedRequest {
        LoggedRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            status: 200,
            token_kind: None,
            fault: None,
            at: chrono::Utc::now(),
            registry: false,
        }
    }

    #[test]
    fn documented_operations_pass() {
        assert_valid_operations(&[
            request(
                "GET",
                "/orgs/acme/packages/container/web/versions",
                "per_page=100&state=deleted",
            ),
            request(
                "GET",
                "/organizations/1/packages/container/web/versions",
                "page=2&per_page=100",
            ),
            request("DELETE", "/user/packages/npm/ui/versions/12", ""),
            request(
                "POST",
                "/users/octocat/packages/container/x/versions/1/restore",
                "",
            ),
            request(
                "GET",
                "/users/octocat/packages/container/x/versions",
                "per_page=100",
            ),
        ]);
    }

    #[test]
    #[should_panic(expected = "no query parameter")]
    fn an_undocumented_query_parameter_is_caught() {
        assert_valid_operations(&[request(
            "GET",
            "/orgs/acme/packages/container/web/versions",
            "sort=desc",
        )]);
    }

    #[test]
    #[should_panic(expected = "no operation")]
    fn an_unknown_route_is_caught() {
        assert_valid_operations(&[request(
            "DELETE",
            "/orgs/acme/packages/container/web/tags/v1",
            "",
        )]);
    }
}
