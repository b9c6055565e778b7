//! ghcr.io's registry endpoints, as far as a cleanup reads them: the `/token` exchange (the
//! GitHub token as the Basic password, or anonymous for public images) and manifests by digest
//! or tag (`GET`/`HEAD /v2/<owner>/<name>/manifests/<ref>`), with the right `Content-Type`
//! and `Docker-Content-Digest`. Each `GET` of a manifest counts as a download, as on GHCR.

use crate::github::{GitHub, Request, Response};
use crate::scenario::{PackageType, Visibility};
use serde_json::json;

fn registry_error(status: u16, code: &str, message: &str) -> Response {
    let mut response = Response::error(status, message);
    response.body = Some(json!({"errors": [{"code": code, "message": message}]}));
    response
}

/// Decode standard base64 (for Basic credentials).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

impl GitHub {
    /// Serve a registry request, or `None` when the path is not the registry's.
    pub fn registry(&mut self, request: &Request) -> Option<Response> {
        if request.path == self.quirks.token_realm {
            return Some(self.registry_token(request));
        }
        if request.path == "/v2/" || request.path == "/v2" {
            // The API version check: a client without a bearer token learns the realm here.
            return Some(self.challenge(request, None));
        }
        let rest = request.path.strip_prefix("/v2/")?;
        let (repository, reference) = rest.rsplit_once("/manifests/")?;
        if request.method == "PUT" {
            return Some(self.push(request, repository, reference));
        }
        Some(self.manifest(request, repository, reference))
    }

    fn registry_token(&mut self, request: &Request) -> Response {
        let scope = request
            .query
            .split('&')
            .find_map(|p| p.strip_prefix("scope="))
            .and_then(crate::github::percent_decode)
            .unwrap_or_default();
        let (repository, push) = match scope.strip_prefix("repository:") {
            Some(rest) if rest.ends_with(":pull,push") || rest.ends_with(":push,pull") => {
                (&rest[..rest.len() - ":pull,push".len()], true)
            }
            Some(rest) if rest.ends_with(":pull") => (&rest[..rest.len() - ":pull".len()], false),
            _ => {
                return registry_error(
                    400,
                    "DENIED",
                    "scope must be repository:OWNER/NAME:pull or :pull,push",
                )
            }
        };
        let Some((owner, name)) = repository.split_once('/') else {
            return registry_error(400, "DENIED", "bad repository");
        };
        let Some(package) = self.packages.iter().find(|p| {
            p.package_type == PackageType::Container
                && p.owner.eq_ignore_ascii_case(owner)
                && p.name == name
                && p.deleted_at.is_none()
        }) else {
            return registry_error(404, "NAME_UNKNOWN", "repository name not known to registry");
        };
        let password = request
            .authorization
            .as_deref()
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(base64_decode)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.split_once(':').map(|(_, p)| p.to_string()));
        let allowed = match &password {
            // Any user name; the GitHub token as the password, if it may read the package.
            Some(token) => self.may_read(token, package),
            None => package.visibility == Visibility::Public,
        };
        // As ghcr.io: a token that may not write gets a pull-only token, refused at the push.
        let push = push
            && password
                .as_deref()
                .is_some_and(|t| self.may_push(t, package));
        if !allowed {
            return registry_error(401, "UNAUTHORIZED", "authentication required");
        }
        self.registry_tokens += 1;
        let token = format!(
            "rt_{}_{}",
            self.registry_tokens,
            repository.replace('/', "_")
        );
        self.registry_grants
            .insert(token.clone(), (repository.to_string(), push));
        Response::json_body(200, json!({"token": token, "access_token": token}))
    }

    /// 401 with the `WWW-Authenticate: Bearer` challenge that names the token realm; `/v2/`
    /// itself answers 200 to a valid bearer token.
    fn challenge(&self, request: &Request, repository: Option<&str>) -> Response {
        let bearer = request
            .authorization
            .as_deref()
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| self.registry_grants.contains_key(t.trim()));
        if bearer && repository.is_none() {
            return Response::json_body(200, json!({}));
        }
        let mut response = registry_error(401, "UNAUTHORIZED", "authentication required");
        let scope = repository
            .map(|r| format!(",scope=\"repository:{r}:pull\""))
            .unwrap_or_default();
        response.headers.push((
            "www-authenticate".into(),
            format!(
                "Bearer realm=\"{}{}\",service=\"ghcr.io\"{scope}",
                // A realm given whole (`http://…`) is announced as it is: elsewhere.
                if self.quirks.token_realm.starts_with("http") {
                    ""
                } else {
                    self.base_url.as_str()
                },
                self.quirks.token_realm
            ),
        ));
        response
    }

    fn manifest(&mut self, request: &Request, repository: &str, reference: &str) -> Response {
        let granted = request
            .authorization
            .as_deref()
            .and_then(|h| h.strip_prefix("Bearer "))
            .and_then(|t| self.registry_grants.get(t.trim()))
            .is_some_and(|(r, _)| r == repository);
        if !granted {
            return self.challenge(request, Some(repository));
        }
        // A wait named only in the text reaches a GET: a HEAD's answer has no body.
        let text_only = self.quirks.registry_429_wait_in_text;
        if self.quirks.registry_429s > 0 && !(text_only && request.method == "HEAD") {
            self.quirks.registry_429s -= 1;
            if text_only {
                return registry_error(
                    429,
                    "TOOMANYREQUESTS",
                    "toomanyrequests: retry-after: 333.939671ms, allowed: 44000/minute",
                );
            }
            let mut response = registry_error(429, "TOOMANYREQUESTS", "rate limit exceeded");
            response.headers.push(("retry-after".into(), "2".into()));
            return response;
        }
        let Some((owner, name)) = repository.split_once('/') else {
            return registry_error(404, "NAME_UNKNOWN", "repository name not known to registry");
        };
        let head = request.method == "HEAD";
        let version = self
            .packages
            .iter_mut()
            .filter(|p| {
                p.package_type == PackageType::Container
                    && p.owner.eq_ignore_ascii_case(owner)
                    && p.name == name
                    && p.deleted_at.is_none()
            })
            .flat_map(|p| p.versions.iter_mut())
            .find(|v| {
                v.deleted_at.is_none()
                    && (v.name == reference || v.tags.iter().any(|t| t == reference))
            });
        let Some(version) = version else {
            return registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown");
        };
        if version.unreadable {
            return registry_error(500, "UNKNOWN", "unknown error");
        }
        if !head {
            version.downloads += 1;
        }
        let media_type = match &self.quirks.manifest_content_type {
            None => Some(version.media_type()),
            Some(t) if t.is_empty() => None,
            Some(t) => Some(t.clone()),
        };
        let mut body = version.served_manifest();
        if self.quirks.manifest_without_media_type {
            if let Some(fields) = body.as_object_mut() {
                fields.remove("mediaType");
            }
        }
        let mut response = Response::json_body(200, body);
        if head {
            response.body = None;
        }
        response
            .headers
            .push(("docker-content-digest".into(), version.name.clone()));
        match media_type {
            Some(media_type) => response.headers.push(("content-type".into(), media_type)),
            // No Content-Type at all: the glue adds none when this marker is present.
            None => response
                .headers
                .push(("content-type".into(), String::new())),
        }
        response
    }
}

impl GitHub {
    /// `PUT /v2/<owner>/<name>/manifests/<tag>` (facts file, "ghcr.io"): with a push-scoped
    /// token; the blobs and manifests it references must exist in the repository (or its lists
    /// be empty); a new digest becomes a new package version, and the tag moves to it from the
    /// version that had it. 201 with `Docker-Content-Digest`.
    fn push(&mut self, request: &Request, repository: &str, tag: &str) -> Response {
        let grant = request
            .authorization
            .as_deref()
            .and_then(|h| h.strip_prefix("Bearer "))
            .and_then(|t| self.registry_grants.get(t.trim()))
            .cloned();
        if self.quirks.push_denied {
            return registry_error(403, "DENIED", "requested access to the resource is denied");
        }
        match grant {
            Some((r, true)) if r == repository => {}
            Some((r, false)) if r == repository => {
                return registry_error(403, "DENIED", "requested access to the resource is denied")
            }
            _ => return self.challenge(request, Some(repository)),
        }
        let Ok(manifest) = serde_json::from_slice::<serde_json::Value>(&request.body) else {
            return registry_error(400, "MANIFEST_INVALID", "manifest invalid");
        };
        let Some(index) = self.packages.iter().position(|p| {
            p.package_type == PackageType::Container
                && repository.split_once('/').is_some_and(|(owner, name)| {
                    p.owner.eq_ignore_ascii_case(owner) && p.name == name
                })
                && p.deleted_at.is_none()
        }) else {
            return registry_error(404, "NAME_UNKNOWN", "repository name not known to registry");
        };
        if let Err(missing) = references_exist(&self.packages[index], &manifest) {
            return registry_error(
                400,
                "MANIFEST_BLOB_UNKNOWN",
                &format!("blob unknown: {missing}"),
            );
        }
        use sha2::Digest as _;
        // The same bytes are the same digest: the scenario names its versions with made-up
        // digests, so bytes equal to what the registry serves for a version are that
        // version's digest (a tag pushed back onto its image moves to that image).
        let served = self.packages[index].versions.iter().find(|v| {
            v.deleted_at.is_none()
                && v.served_manifest().to_string().as_bytes() == request.body.as_slice()
        });
        let digest = match served {
            Some(version) => version.name.clone(),
            None => format!("sha256:{:x}", sha2::Sha256::digest(&request.body)),
        };
        let package = &mut self.packages[index];
        for version in package.versions.iter_mut() {
            version.tags.retain(|t| t != tag);
        }
        let now = chrono::Utc::now();
        match package
            .versions
            .iter_mut()
            .find(|v| v.name == digest && v.deleted_at.is_none())
        {
            Some(version) => version.tags.push(tag.to_string()),
            None => {
                let id = package.versions.iter().map(|v| v.id).max().unwrap_or(0) + 1;
                let mut version = crate::scenario::VersionSpec::new(id, &digest, now);
                version.tags = vec![tag.to_string()];
                version.manifest = Some(manifest);
                package.versions.push(version);
            }
        }
        let mut response = Response::json_body(201, json!({}));
        response.body = None;
        response.headers.extend([
            ("docker-content-digest".into(), digest.clone()),
            (
                "location".into(),
                format!("/v2/{repository}/manifests/{digest}"),
            ),
        ]);
        response
    }
}

/// Every blob and manifest a pushed manifest references exists in the package: its config
/// and layers among the blobs the package's manifests name, its `manifests[]` among the
/// package's versions. `Err` names the first missing digest.
fn references_exist(
    package: &crate::scenario::PackageSpec,
    manifest: &serde_json::Value,
) -> Result<(), String> {
    let stored: Vec<serde_json::Value> = package
        .versions
        .iter()
        .map(crate::scenario::VersionSpec::served_manifest)
        .collect();
    let blobs: std::collections::BTreeSet<String> = stored
        .iter()
        .flat_map(|m| {
            let config = m["config"]["digest"].as_str().map(str::to_string);
            let layers = m["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l["digest"].as_str().map(str::to_string));
            config.into_iter().chain(layers)
        })
        .collect();
    let digests = |field: &str| -> Vec<String> {
        manifest[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["digest"].as_str().map(str::to_string))
            .collect()
    };
    let config = manifest["config"]["digest"].as_str().map(str::to_string);
    for blob in config.into_iter().chain(digests("layers")) {
        if !blobs.contains(&blob) {
            return Err(blob);
        }
    }
    for child in digests("manifests") {
        if !package.versions.iter().any(|v| v.name == child) {
            return Err(child);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes_basic_credentials() {
        assert_eq!(super::base64_decode("eDpzZWNyZXQ=").unwrap(), b"x:secret");
    }
}
