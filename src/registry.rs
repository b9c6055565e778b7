//! The one client of the OCI registry (ghcr.io): the `/token` exchange and manifest reads.
//!
//! The GitHub token is the Basic password of the exchange (anonymous when that is refused, for
//! public images); the registry token it returns is masked in the log at once. Manifests are
//! looked at by digest with the Accept headers of OCI indexes and manifests and Docker manifest
//! lists and manifests: a `HEAD` tells the media type, and only an index's body is read, since
//! each `GET` counts as a download of the version on GHCR.

use crate::images::{Child, ManifestRead};
use crate::limits::{backoff, Limits};
use anyhow::{anyhow, bail, Context, Result};
use http::HeaderMap;
use http_body_util::BodyExt;
use octocrab::Octocrab;
use serde::Deserialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// Attempts at one manifest before it counts as unreadable.
const ATTEMPTS: u32 = 3;

/// The registry for an API base: `registry-url` when given, ghcr.io for github.com,
/// `containers.HOST` for GitHub Enterprise Server.
pub fn registry_url(configured: Option<&str>, api_url: &str) -> String {
    if let Some(url) = configured.filter(|u| !u.trim().is_empty()) {
        let url = url.trim().trim_end_matches('/');
        return if url.contains("://") {
            url.to_string()
        } else {
            format!("https://{url}")
        };
    }
    let host = api_url
        .split("://")
        .nth(1)
        .unwrap_or(api_url)
        .split('/')
        .next()
        .unwrap_or_default();
    if host == "api.github.com" {
        "https://ghcr.io".to_string()
    } else {
        format!("https://containers.{host}")
    }
}

pub struct Registry {
    octo: Octocrab,
    service: String,
    github_token: String,
    limits: Limits,
    reads: AtomicUsize,
    looks: AtomicUsize,
    /// In Actions, registry tokens are masked with `::add-mask::`; on a command line that
    /// line would print the token instead.
    mask: bool,
}

/// Pull access to one repository (`owner/name`).
pub struct Session {
    repository: String,
    bearer: Option<String>,
}

impl Registry {
    pub fn new(url: &str, github_token: &str, limits: Limits, mask: bool) -> Result<Registry> {
        let base: http::Uri = url
            .parse()
            .with_context(|| format!("registry-url '{url}' is not a URL"))?;
        let service = base.host().unwrap_or_default().to_string();
        let octo = Octocrab::builder()
            .base_uri(base)
            .context("setting the registry base")?
            .build()
            .context("building the registry client")?;
        Ok(Registry {
            octo,
            service,
            github_token: github_token.to_string(),
            limits,
            reads: AtomicUsize::new(0),
            looks: AtomicUsize::new(0),
            mask,
        })
    }

    /// Manifest bodies read so far (GETs): each is a download on GHCR. HEADs are not.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    /// Manifests looked at so far (HEADs).
    pub fn looks(&self) -> usize {
        self.looks.load(Ordering::Relaxed)
    }

    async fn get(&self, path: &str, headers: HeaderMap) -> Result<(u16, HeaderMap, Vec<u8>)> {
        self.send(http::Method::GET, path, headers).await
    }

    async fn send(
        &self,
        method: http::Method,
        path: &str,
        headers: HeaderMap,
    ) -> Result<(u16, HeaderMap, Vec<u8>)> {
        let mut builder = http::Request::builder().method(method.clone()).uri(path);
        for (name, value) in &headers {
            builder = builder.header(name, value);
        }
        let request = self
            .octo
            .build_request(builder, None::<&()>)
            .with_context(|| format!("{method} {path}"))?;
        let sent = self.octo.execute(request);
        let response = tokio::time::timeout(self.limits.real(self.limits.timeout), sent)
            .await
            .map_err(|_| anyhow!("no answer within {:?}", self.limits.timeout))?
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes().to_vec();
        Ok((status, headers, body))
    }

    /// Exchange the GitHub token for a pull token of `owner/name`.
    pub async fn session(&self, owner: &str, name: &str) -> Result<Session> {
        #[derive(Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let repository = format!("{}/{}", owner.to_lowercase(), name);
        let path = format!(
            "/token?service={}&scope=repository:{repository}:pull",
            self.service
        );
        let mut basic = HeaderMap::new();
        let credentials = base64(format!("package-janitor:{}", self.github_token).as_bytes());
        basic.insert(
            http::header::AUTHORIZATION,
            format!("Basic {credentials}")
                .parse()
                .context("the token cannot be sent in a header")?,
        );
        let (mut status, _, mut body) = self.get(&path, basic).await?;
        if status == 401 || status == 403 {
            // Public images also work anonymously.
            (status, _, body) = self.get(&path, HeaderMap::new()).await?;
        }
        if status != 200 {
            bail!("the registry refused a pull token for {repository} (HTTP {status})");
        }
        let token: Token = serde_json::from_slice(&body).context("the registry's token answer")?;
        let bearer = token.token.or(token.access_token);
        if let (Some(bearer), true) = (&bearer, self.mask) {
            // Mask it before anything could print it.
            println!("::add-mask::{bearer}");
        }
        Ok(Session { repository, bearer })
    }

    /// Read one manifest; retried on server errors and transport failures, then unreadable.
    pub async fn manifest(&self, session: &Session, digest: &str) -> ManifestRead {
        let mut last_error = String::new();
        for attempt in 1..=ATTEMPTS {
            match self.manifest_once(session, digest).await {
                Ok(read) => return read,
                Err((retry, error)) => {
                    last_error = error;
                    if !retry {
                        break;
                    }
                    if attempt < ATTEMPTS {
                        self.limits
                            .sleep(backoff(Duration::from_secs(1), attempt))
                            .await;
                    }
                }
            }
        }
        ManifestRead::Unreadable(last_error)
    }

    async fn manifest_once(
        &self,
        session: &Session,
        digest: &str,
    ) -> Result<ManifestRead, (bool, String)> {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::ACCEPT, http::HeaderValue::from_static(ACCEPT));
        if let Some(bearer) = &session.bearer {
            let value = format!("Bearer {bearer}")
                .parse()
                .map_err(|_| (false, "unusable registry token".to_string()))?;
            headers.insert(http::header::AUTHORIZATION, value);
        }
        let path = format!("/v2/{}/manifests/{digest}", session.repository);
        // HEAD first: it tells the media type without counting as a download. Only an
        // index's body is needed (its children); a single image needs no GET at all.
        let content_type = |headers: &HeaderMap| {
            headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        self.looks.fetch_add(1, Ordering::Relaxed);
        let (status, head) = self
            .send(http::Method::HEAD, &path, headers.clone())
            .await
            .map(|(status, head, _)| (status, head))
            .map_err(|e| (true, format!("{e:#}")))?;
        if status != 200 {
            return Err((status >= 500, format!("HTTP {status}")));
        }
        let media_type = content_type(&head);
        if !media_type.is_empty() && !is_index_type(&media_type) {
            return Ok(ManifestRead::Image);
        }
        self.reads.fetch_add(1, Ordering::Relaxed);
        let (status, headers, body) = self
            .get(&path, headers)
            .await
            .map_err(|e| (true, format!("{e:#}")))?;
        if status != 200 {
            return Err((status >= 500, format!("HTTP {status}")));
        }
        let content_type = content_type(&headers);
        parse_manifest(&content_type, &body).map_err(|e| (false, e))
    }
}

/// OCI image indexes and Docker manifest lists.
fn is_index_type(media_type: &str) -> bool {
    media_type.contains("image.index") || media_type.contains("manifest.list")
}

/// An index lists `manifests[]`; anything else is a single image.
pub fn parse_manifest(content_type: &str, body: &[u8]) -> Result<ManifestRead, String> {
    #[derive(Deserialize)]
    struct Manifest {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<Vec<Entry>>,
    }
    #[derive(Deserialize)]
    struct Entry {
        digest: String,
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    let manifest: Manifest =
        serde_json::from_slice(body).map_err(|e| format!("not a manifest: {e}"))?;
    let declared = manifest.media_type.as_deref().unwrap_or(content_type);
    match manifest.manifests {
        Some(entries)
            if is_index_type(declared) || is_index_type(content_type) || declared.is_empty() =>
        {
            Ok(ManifestRead::Index(
                entries
                    .into_iter()
                    .map(|e| Child {
                        is_index: e.media_type.as_deref().is_some_and(is_index_type),
                        digest: e.digest,
                    })
                    .collect(),
            ))
        }
        Some(_) if is_index_type(declared) => Ok(ManifestRead::Index(Vec::new())),
        _ => Ok(ManifestRead::Image),
    }
}

/// Standard base64, for Basic credentials.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_follow_the_api_host() {
        assert_eq!(
            registry_url(None, "https://api.github.com"),
            "https://ghcr.io"
        );
        assert_eq!(
            registry_url(Some(""), "https://ghe.example.com/api/v3"),
            "https://containers.ghe.example.com"
        );
        assert_eq!(
            registry_url(Some("registry.example.com/"), "x"),
            "https://registry.example.com"
        );
        assert_eq!(
            registry_url(Some("http://127.0.0.1:5000"), "x"),
            "http://127.0.0.1:5000"
        );
    }

    #[test]
    fn base64_encodes_credentials() {
        assert_eq!(base64(b"x:secret"), "eDpzZWNyZXQ=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn indexes_and_images_are_told_apart() {
        let index = br#"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:a"},
            {"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:b"}]}"#;
        assert_eq!(
            parse_manifest("application/vnd.oci.image.index.v1+json", index),
            Ok(ManifestRead::Index(vec![
                Child {
                    digest: "sha256:a".into(),
                    is_index: false
                },
                Child {
                    digest: "sha256:b".into(),
                    is_index: true
                },
            ]))
        );
        let list = br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:c"}]}"#;
        assert!(matches!(
            parse_manifest(
                "application/vnd.docker.distribution.manifest.list.v2+json",
                list
            ),
            Ok(ManifestRead::Index(_))
        ));
        let image = br#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
        assert_eq!(parse_manifest("", image), Ok(ManifestRead::Image));
        assert!(parse_manifest("", b"<html>").is_err());
    }
}
