//! The one client of the OCI registry (ghcr.io): the `/token` exchange and manifest reads.
//!
//! The GitHub token is the Basic password of the exchange (anonymous when that is refused, for
//! public images); the registry token it returns is masked in the log at once. Manifests are
//! looked at by digest with the Accept headers of OCI indexes and manifests and Docker manifest
//! lists and manifests: a `HEAD` tells the media type, and only an index's body is read, since
//! each `GET` counts as a download of the version on GHCR.

use crate::images::{Child, ManifestRead};
use crate::limits::{backoff, Limits, Pacer};
use crate::workflow::say;
use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http::HeaderMap;
use http_body_util::BodyExt;
use octocrab::Octocrab;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// Attempts at one registry request (server errors, transport failures) before it fails.
const ATTEMPTS: u32 = 3;
/// Rate-limit (429) waits for one registry request before it counts as failed.
const RATE_LIMIT_WAITS: u32 = 4;
/// Registry reads in flight at once. The registry's limits are not GitHub's REST limits and
/// are not published: reads are bounded here, and a 429 pauses them all.
pub const READS_IN_FLIGHT: usize = 32;

/// The registry for an API base: `registry-url` when given, ghcr.io for github.com, the API's
/// own origin when the API is a loopback or plain-http address (an emulator or a test
/// server, which serves `/v2/` beside the API), else `containers.HOST` for GitHub Enterprise
/// Server. The second value says whether it was derived rather than given.
pub fn registry_url(configured: Option<&str>, api_url: &str) -> (String, bool) {
    if let Some(url) = configured.filter(|u| !u.trim().is_empty()) {
        let url = url.trim().trim_end_matches('/');
        let url = if url.contains("://") {
            url.to_string()
        } else {
            format!("https://{url}")
        };
        return (url, false);
    }
    let (scheme, rest) = api_url.split_once("://").unwrap_or(("https", api_url));
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let local = scheme == "http"
        || host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let url = if host == "api.github.com" {
        "https://ghcr.io".to_string()
    } else if local {
        format!("{scheme}://{authority}")
    } else {
        format!("https://containers.{host}")
    };
    (url, true)
}

pub struct Registry {
    octo: Octocrab,
    /// The registry's base URL, for messages.
    url: String,
    /// Origins (`scheme://host:port`) the GitHub token may be sent to as the token
    /// exchange's password: the registry's and the API's.
    trusted_hosts: Vec<String>,
    github_token: String,
    limits: Limits,
    reads: AtomicUsize,
    looks: AtomicUsize,
    requests: AtomicUsize,
    /// In Actions, registry tokens are masked with `::add-mask::`; on a command line that
    /// line would print the token instead.
    mask: bool,
    /// Where tokens come from, learnt once from the `/v2/` challenge.
    challenge: OnceCell<Challenge>,
    /// The registry's own pacing: reads in flight, and the pause after a 429.
    pacer: Pacer,
    /// Tokens asked for lately, by repository and access, reused for [`SESSION_REUSE`]: one
    /// token request per image restored or tag removed would double the registry's work.
    sessions: tokio::sync::Mutex<Sessions>,
    /// `manifest-cache`: manifests downloaded by earlier runs, checked against their digests.
    cache: Option<Arc<crate::cache::ManifestCache>>,
}

/// Recent registry tokens by (repository, access), with when each was asked for.
type Sessions = HashMap<(String, String), (tokio::time::Instant, Arc<Session>)>;

/// How long a registry token is reused: well inside any registry token's life (ghcr.io's last
/// minutes), so a long run never meets an expired one.
const SESSION_REUSE: Duration = Duration::from_secs(60);

/// What the registry's `/v2/` answer says about authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The token realm (`https://ghcr.io/token` on ghcr.io); `None` when `/v2/` needs none.
    pub realm: Option<String>,
    pub service: String,
}

/// Pull access to one repository (`owner/name`).
pub struct Session {
    repository: String,
    bearer: Option<String>,
}

/// One registry answer: status, headers, body.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Registry {
    pub fn new(
        url: &str,
        api_url: &str,
        github_token: &str,
        limits: Limits,
        mask: bool,
    ) -> Result<Registry> {
        let base: http::Uri = url
            .parse()
            .with_context(|| format!("registry-url '{url}' is not a URL"))?;
        let trusted_hosts = [Some(&base), api_url.parse::<http::Uri>().ok().as_ref()]
            .into_iter()
            .flatten()
            .filter_map(origin)
            .collect();
        // No extra headers: each request sets its own, once (facts file, "HTTP on the wire").
        let octo = Octocrab::builder()
            .base_uri(base)
            .context("setting the registry base")?
            .build()
            .context("building the registry client")?;
        Ok(Registry {
            octo,
            url: url.trim_end_matches('/').to_string(),
            trusted_hosts,
            github_token: github_token.to_string(),
            reads: AtomicUsize::new(0),
            looks: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            mask,
            challenge: OnceCell::new(),
            sessions: tokio::sync::Mutex::new(HashMap::new()),
            cache: None,
            pacer: Pacer::new(Limits {
                concurrency: READS_IN_FLIGHT,
                // No per-minute window: the registry publishes none; 429s pause instead.
                points_per_minute: u32::MAX / 2,
                ..limits.clone()
            }),
            limits,
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

    /// Requests sent to the registry so far, retries included.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// The registry's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// One request, bounded in time; `uri` is a path on the registry or an absolute URL.
    async fn send_once(
        &self,
        method: &http::Method,
        uri: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Reply> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = http::Request::builder().method(method.clone()).uri(uri);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request.body(octocrab::OctoBody::from(body.to_vec()))?;
        let timeout = self.limits.timeout;
        let response = tokio::time::timeout(timeout, self.octo.execute(request))
            .await
            .map_err(|_| anyhow!("no answer within {}s", timeout.as_secs()))??;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes().to_vec();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// One request, retried on server errors and transport failures with backoff, a line
    /// said for each retry; the final error names the registry and the request.
    async fn send(
        &self,
        method: http::Method,
        uri: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Reply> {
        let shown = if uri.starts_with('/') {
            format!("{}{uri}", self.url)
        } else {
            uri.to_string()
        };
        let mut attempt = 0;
        let mut waits = 0;
        loop {
            attempt += 1;
            let Some(admission) = self.pacer.admit(1, false).await else {
                bail!("{method} {shown}: not sent, the run was cancelled");
            };
            let result = self.send_once(&method, uri, headers, body).await;
            let failure = match result {
                // A 429: every registry request waits `retry-after` (else a minute, backing
                // off), then this one goes again; the wait does not count as a failed attempt.
                Ok(reply) if reply.status == 429 && waits < RATE_LIMIT_WAITS => {
                    waits += 1;
                    attempt -= 1;
                    let wait = registry_wait(&reply)
                        .unwrap_or_else(|| backoff(Duration::from_secs(60), waits))
                        .min(Duration::from_secs(3600));
                    say(&format!(
                        "Rate limited by the registry on {method} {shown}: waiting {:.3}s",
                        wait.as_secs_f64()
                    ));
                    self.pacer.back_off(wait, false);
                    drop(admission);
                    continue;
                }
                Ok(reply) if reply.status < 500 => return Ok(reply),
                Ok(reply) => anyhow!("HTTP {}", reply.status),
                Err(error) => error,
            };
            drop(admission);
            if attempt >= ATTEMPTS {
                return Err(failure.context(format!("{method} {shown}: {attempt} attempts failed")));
            }
            let wait = backoff(Duration::from_secs(1), attempt);
            say(&format!(
                "{method} {shown}: {failure:#}; retrying in {}s",
                wait.as_secs()
            ));
            // A cancellation ends the backoff at once (SPEC §6), unless a started change is
            // being finished.
            crate::signals::sleep_until(tokio::time::Instant::now() + self.limits.real(wait)).await;
        }
    }

    /// Read manifests through `cache` first: what it holds is not asked for again.
    pub fn with_cache(mut self, cache: Arc<crate::cache::ManifestCache>) -> Registry {
        self.cache = Some(cache);
        self
    }

    /// The cache, if the run has one.
    pub fn cache(&self) -> Option<&crate::cache::ManifestCache> {
        self.cache.as_deref()
    }

    /// Before anything is planned: the registry answers `/v2/` as an OCI registry does, or
    /// the run stops here (exit 2) with one message, not a warning per manifest.
    pub async fn check(&self) -> Result<()> {
        let challenge = self.challenge.get_or_try_init(|| self.discover()).await?;
        match &challenge.realm {
            Some(realm) => self.trusted_realm(realm),
            None => Ok(()),
        }
    }

    /// A realm the GitHub token may be sent to: the registry's or the API's own origin.
    fn trusted_realm(&self, realm: &str) -> Result<()> {
        let realm_origin = realm.parse::<http::Uri>().ok().as_ref().and_then(origin);
        if !realm_origin.is_some_and(|o| self.trusted_hosts.contains(&o)) {
            bail!(
                "the registry names the token realm '{realm}', which is neither the registry's \
                 nor the API's origin (scheme, host and port); the token is not sent there"
            );
        }
        Ok(())
    }

    /// The `/v2/` check: where tokens come from (SPEC §4: follow the challenge's realm).
    async fn discover(&self) -> Result<Challenge> {
        let reply = self
            .send(http::Method::GET, "/v2/", &HeaderMap::new(), &[])
            .await?;
        if (200..300).contains(&reply.status) {
            return Ok(Challenge {
                realm: None,
                service: String::new(),
            });
        }
        let header = reply
            .headers
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok());
        match (reply.status, header.and_then(parse_challenge)) {
            (401, Some(challenge)) => Ok(challenge),
            (status, _) => bail!(
                "the registry {} answered HTTP {status} to GET /v2/ without a Bearer challenge                  naming its token realm (is registry-url an OCI registry?)",
                self.url
            ),
        }
    }

    /// Exchange the GitHub token for a pull token of `owner/name` at the challenge's realm.
    pub async fn session(&self, owner: &str, name: &str) -> Result<Arc<Session>> {
        self.reused(owner, name, "pull").await
    }

    /// A token that may also push (untag's placeholders: `pull,push`, SPEC §4).
    pub async fn push_session(&self, owner: &str, name: &str) -> Result<Arc<Session>> {
        self.reused(owner, name, "pull,push").await
    }

    /// A token asked for less than [`SESSION_REUSE`] ago, else a new one.
    async fn reused(&self, owner: &str, name: &str, access: &str) -> Result<Arc<Session>> {
        let key = (format!("{owner}/{name}").to_lowercase(), access.to_string());
        let mut sessions = self.sessions.lock().await;
        if let Some((at, session)) = sessions.get(&key) {
            if at.elapsed() < SESSION_REUSE {
                return Ok(session.clone());
            }
        }
        let session = Arc::new(self.session_for(owner, name, access).await?);
        sessions.insert(key, (tokio::time::Instant::now(), session.clone()));
        Ok(session)
    }

    async fn session_for(&self, owner: &str, name: &str, access: &str) -> Result<Session> {
        #[derive(Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        // OCI repository names are lower-case; GitHub's package names compare without case.
        let repository = format!("{}/{}", owner.to_lowercase(), name.to_lowercase());
        let challenge = self.challenge.get_or_try_init(|| self.discover()).await?;
        let Some(realm) = &challenge.realm else {
            return Ok(Session {
                repository,
                bearer: None,
            });
        };
        self.trusted_realm(realm)?;
        let query = format!(
            "service={}&scope={}",
            encode_query(&challenge.service),
            encode_query(&format!("repository:{repository}:{access}"))
        );
        let url = format!(
            "{realm}{}{query}",
            if realm.contains('?') { '&' } else { '?' }
        );
        let mut basic = HeaderMap::new();
        let credentials = BASE64.encode(format!("package-janitor:{}", self.github_token));
        basic.insert(
            http::header::AUTHORIZATION,
            format!("Basic {credentials}")
                .parse()
                .context("the token cannot be sent in a header")?,
        );
        let mut reply = self.send(http::Method::GET, &url, &basic, &[]).await?;
        if reply.status == 401 || reply.status == 403 {
            // Public images also work anonymously.
            reply = self
                .send(http::Method::GET, &url, &HeaderMap::new(), &[])
                .await?;
        }
        if reply.status != 200 {
            bail!(
                "the registry refused a {access} token for {repository} (HTTP {} from {realm})",
                reply.status
            );
        }
        let token: Token =
            serde_json::from_slice(&reply.body).context("the registry's token answer")?;
        let bearer = token.token.or(token.access_token);
        if let (Some(bearer), true) = (&bearer, self.mask) {
            // Mask it before anything could print it.
            crate::workflow::mask(bearer);
        }
        Ok(Session { repository, bearer })
    }

    /// A manifest's bytes as stored, and its media type (a `GET`: a download on GHCR).
    pub async fn manifest_bytes(
        &self,
        session: &Session,
        digest: &str,
    ) -> Result<(String, Vec<u8>)> {
        let headers = self.headers(session)?;
        let path = format!("/v2/{}/manifests/{digest}", session.repository);
        self.reads.fetch_add(1, Ordering::Relaxed);
        let reply = self.send(http::Method::GET, &path, &headers, &[]).await?;
        if reply.status != 200 {
            bail!("GET {path}: HTTP {}", reply.status);
        }
        let media_type = media_type(&reply.headers)
            .unwrap_or_else(|| "application/vnd.oci.image.manifest.v1+json".to_string());
        Ok((media_type, reply.body))
    }

    /// Push `manifest` under `tag`; the digest the registry gives it (`Docker-Content-Digest`).
    pub async fn push(
        &self,
        session: &Session,
        tag: &str,
        media_type: &str,
        manifest: &[u8],
    ) -> Result<String> {
        let mut headers = self.headers(session)?;
        headers.insert(
            http::header::CONTENT_TYPE,
            media_type
                .parse()
                .map_err(|_| anyhow!("media type '{media_type}' cannot be sent"))?,
        );
        let path = format!("/v2/{}/manifests/{tag}", session.repository);
        let reply = self
            .send(http::Method::PUT, &path, &headers, manifest)
            .await?;
        if !(200..300).contains(&reply.status) {
            bail!(
                "PUT {path}: HTTP {} {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            );
        }
        reply
            .headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("PUT {path}: no Docker-Content-Digest in the answer"))
    }

    /// What `tag` names now, by a `HEAD` (a look, not a download): its digest, or `None` when
    /// the registry knows no such tag. Settles a push whose answer was lost (SPEC §4).
    pub async fn tag_digest(&self, session: &Session, tag: &str) -> Result<Option<String>> {
        let headers = self.headers(session)?;
        let path = format!("/v2/{}/manifests/{tag}", session.repository);
        let head = self.send(http::Method::HEAD, &path, &headers, &[]).await?;
        match head.status {
            200 => head
                .headers
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(|d| Some(d.to_string()))
                .ok_or_else(|| anyhow!("HEAD {path}: no Docker-Content-Digest in the answer")),
            404 => Ok(None),
            status => bail!("HEAD {path}: HTTP {status}"),
        }
    }

    /// `Accept` for every manifest type, and the session's bearer token.
    fn headers(&self, session: &Session) -> Result<HeaderMap> {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::ACCEPT, http::HeaderValue::from_static(ACCEPT));
        if let Some(bearer) = &session.bearer {
            let value = format!("Bearer {bearer}")
                .parse()
                .map_err(|_| anyhow!("the registry's token cannot be sent in a header"))?;
            headers.insert(http::header::AUTHORIZATION, value);
        }
        Ok(headers)
    }

    /// Read one manifest: a `HEAD` settles a single image when the registry names one of the
    /// two image media types; anything else (an index, another type, none) means reading the
    /// body (SPEC §4). Server errors and transport failures are retried; then unreadable.
    pub async fn manifest(&self, session: &Session, digest: &str) -> ManifestRead {
        match self.manifest_once(session, digest).await {
            Ok(read) => read,
            Err(error) => ManifestRead::Unreadable(format!("{error:#}")),
        }
    }

    async fn manifest_once(&self, session: &Session, digest: &str) -> Result<ManifestRead> {
        // Bytes an earlier run downloaded, checked against this digest: no request at all.
        if let Some(bytes) = self.cache.as_ref().and_then(|c| c.get(digest)) {
            if let Ok(read) = parse_manifest(&bytes) {
                return Ok(read);
            }
        }
        let headers = self.headers(session)?;
        let path = format!("/v2/{}/manifests/{digest}", session.repository);
        // HEAD first: it tells the media type without counting as a download.
        let head = self.send(http::Method::HEAD, &path, &headers, &[]).await?;
        // Counted once answered: a read a cancellation kept from going out checked nothing.
        self.looks.fetch_add(1, Ordering::Relaxed);
        if head.status != 200 {
            bail!("HTTP {}", head.status);
        }
        if media_type(&head.headers).is_some_and(|t| IMAGE_TYPES.contains(&t.as_str())) {
            return Ok(ManifestRead::Image);
        }
        let get = self.send(http::Method::GET, &path, &headers, &[]).await?;
        self.reads.fetch_add(1, Ordering::Relaxed);
        if get.status != 200 {
            bail!("HTTP {}", get.status);
        }
        let read = parse_manifest(&get.body).map_err(|e| anyhow!(e))?;
        if let Some(cache) = &self.cache {
            cache.put(digest, &get.body);
        }
        Ok(read)
    }
}

/// The wait a registry's 429 asks for (SPEC §5): its `Retry-After` header (seconds), else
/// the wait its error text names in Go's duration syntax, as ghcr.io writes it
/// (`toomanyrequests: retry-after: 333.939671ms, allowed: 44000/minute`); `None` when it
/// names none (then a minute's backoff).
fn registry_wait(reply: &Reply) -> Option<Duration> {
    let header = reply
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(86_400.0)));
    header.or_else(|| {
        let text = String::from_utf8_lossy(&reply.body).to_ascii_lowercase();
        let (_, after) = text.split_once("retry-after:")?;
        let word = after.trim_start().split([',', ' ', '"', '}']).next()?;
        go_duration(word)
    })
}

/// A Go duration (`333.939671ms`, `1.5s`, `2m3s`, `1h`): numbers with units ns, us (µs), ms,
/// s, m, h; `None` for anything else.
fn go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let (seconds, unit_len) = [
            ("ns", 1e-9),
            ("us", 1e-6),
            ("µs", 1e-6),
            ("ms", 1e-3),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
        ]
        .iter()
        .find(|(unit, _)| rest.starts_with(unit))
        .map(|(unit, scale)| (*scale, unit.len()))?;
        total += number * seconds;
        rest = &rest[unit_len..];
    }
    (total.is_finite() && total >= 0.0).then(|| Duration::from_secs_f64(total.min(86_400.0)))
}

/// The two media types of a single image, which a `HEAD` answer may settle.
const IMAGE_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The `Content-Type` without parameters, lower-cased.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::CONTENT_TYPE)?.to_str().ok()?;
    let bare = value.split(';').next().unwrap_or_default().trim();
    (!bare.is_empty()).then(|| bare.to_ascii_lowercase())
}

/// A query-string value, percent-encoded.
fn encode_query(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY).to_string()
}

/// Everything but RFC 3986's unreserved characters and `:` and `/`, which scopes carry.
const QUERY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'/');

/// `scheme://host:port` of a URL, lower-case, the port made explicit: where a credential may
/// go is a whole origin, not a host (a realm on another port or over `http` is elsewhere).
fn origin(uri: &http::Uri) -> Option<String> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let port = uri.port_u16().or(match scheme.as_str() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    })?;
    Some(format!(
        "{scheme}://{}:{port}",
        uri.host()?.to_ascii_lowercase()
    ))
}

/// `Bearer realm="…",service="…",scope="…"` → the realm and the service.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, params) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = String::new();
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remainder) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            },
        };
        match key.as_str() {
            "realm" => realm = Some(value.to_string()),
            "service" => service = value.to_string(),
            _ => {}
        }
        rest = remainder.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge {
        realm: Some(realm?),
        service,
    })
}

/// A manifest's body: `manifests[]` makes it an index (SPEC §4), whatever the answer's
/// `Content-Type` or the optional `mediaType` field say; any other JSON object is an image.
pub fn parse_manifest(body: &[u8]) -> Result<ManifestRead, String> {
    #[derive(Deserialize)]
    struct Manifest {
        manifests: Option<Vec<Entry>>,
    }
    #[derive(Deserialize)]
    struct Entry {
        digest: String,
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        // Read loosely: these only name parts for people, so an odd value in them must not
        // make the manifest unreadable (which would fail its package closed).
        #[serde(default)]
        platform: serde_json::Value,
        #[serde(default)]
        annotations: serde_json::Value,
    }
    let manifest: Manifest =
        serde_json::from_slice(body).map_err(|e| format!("not a manifest: {e}"))?;
    let Some(entries) = manifest.manifests else {
        return Ok(ManifestRead::Image);
    };
    let platform = |e: &Entry| {
        let field = |name: &str| e.platform.get(name).and_then(serde_json::Value::as_str);
        e.platform.is_object().then(|| {
            let named = format!(
                "{}/{}",
                field("os").unwrap_or_default(),
                field("architecture").unwrap_or_default()
            );
            match field("variant") {
                Some(variant) => format!("{named}/{variant}"),
                None => named,
            }
        })
    };
    let annotation = |e: &'_ Entry, name: &str| -> Option<String> {
        Some(e.annotations.get(name)?.as_str()?.to_string())
    };
    let platforms: BTreeMap<&str, String> = entries
        .iter()
        .filter_map(|e| Some((e.digest.as_str(), platform(e)?)))
        .collect();
    let children = entries
        .iter()
        .map(|e| Child {
            // A child of unknown type is read too: it may be a nested index.
            is_index: e
                .media_type
                .as_deref()
                .is_none_or(|t| !IMAGE_TYPES.contains(&t)),
            digest: e.digest.clone(),
            // buildx names its attestation manifests `unknown/unknown`; the annotation says
            // which platform image they describe.
            platform: match annotation(e, "vnd.docker.reference.type").as_deref() {
                Some("attestation-manifest") => Some(
                    match annotation(e, "vnd.docker.reference.digest")
                        .and_then(|d| platforms.get(d.as_str()))
                    {
                        Some(of) => format!("attestation of {of}"),
                        None => "attestation".to_string(),
                    },
                ),
                _ => platform(e),
            },
        })
        .collect();
    Ok(ManifestRead::Index(children))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_429_names_its_wait_in_a_header_or_in_go_duration_text() {
        assert_eq!(
            go_duration("333.939671ms"),
            Some(Duration::from_nanos(333_939_671))
        );
        assert_eq!(go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(go_duration("2m3s"), Some(Duration::from_secs(123)));
        assert_eq!(go_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(go_duration("250us"), Some(Duration::from_micros(250)));
        for bad in ["", "ms", "12", "3x", "1.2.3s", "-1s"] {
            assert_eq!(go_duration(bad), None, "{bad}");
        }
        let reply = |headers: &[(&'static str, &'static str)], body: &str| Reply {
            status: 429,
            headers: headers
                .iter()
                .map(|(k, v)| (http::HeaderName::from_static(k), v.parse().unwrap()))
                .collect(),
            body: body.as_bytes().to_vec(),
        };
        let ghcr = r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"toomanyrequests: retry-after: 333.939671ms, allowed: 44000/minute"}]}"#;
        assert_eq!(
            registry_wait(&reply(&[], ghcr)),
            Some(Duration::from_nanos(333_939_671))
        );
        assert_eq!(
            registry_wait(&reply(&[("retry-after", "2")], ghcr)),
            Some(Duration::from_secs(2))
        );
        assert_eq!(registry_wait(&reply(&[], "slow down")), None);
    }

    #[test]
    fn registries_follow_the_api_host() {
        let url = |configured, api| registry_url(configured, api).0;
        assert_eq!(url(None, "https://api.github.com"), "https://ghcr.io");
        assert_eq!(
            url(Some(""), "https://ghe.example.com/api/v3"),
            "https://containers.ghe.example.com"
        );
        assert_eq!(
            url(Some("registry.example.com/"), "x"),
            "https://registry.example.com"
        );
        assert_eq!(
            url(Some("http://127.0.0.1:5000"), "x"),
            "http://127.0.0.1:5000"
        );
        // A local API (an emulator) serves the registry beside it.
        assert_eq!(
            registry_url(None, "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080".to_string(), true)
        );
        assert_eq!(
            url(None, "https://localhost:8443/api/v3"),
            "https://localhost:8443"
        );
        assert_eq!(url(None, "https://[::1]:9/api"), "https://[::1]:9");
    }

    #[test]
    fn challenges_name_the_realm_and_the_service() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge {
                realm: Some("https://ghcr.io/token".into()),
                service: "ghcr.io".into()
            })
        );
        assert_eq!(
            parse_challenge("bearer service=x, realm=https://h/auth"),
            Some(Challenge {
                realm: Some("https://h/auth".into()),
                service: "x".into()
            })
        );
        assert_eq!(parse_challenge(r#"Basic realm="x""#), None);
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
        assert_eq!(parse_challenge(r#"Bearer realm="unterminated"#), None);
    }

    #[test]
    fn indexes_and_images_are_told_apart() {
        let index = br#"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:a"},
            {"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:b"}]}"#;
        assert_eq!(
            parse_manifest(index),
            Ok(ManifestRead::Index(vec![
                Child {
                    digest: "sha256:a".into(),
                    is_index: false,
                    platform: None,
                },
                Child {
                    digest: "sha256:b".into(),
                    is_index: true,
                    platform: None,
                },
            ]))
        );
        let list = br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:c"}]}"#;
        assert!(matches!(parse_manifest(list), Ok(ManifestRead::Index(_))));
        let image = br#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
        assert_eq!(parse_manifest(image), Ok(ManifestRead::Image));
        assert!(parse_manifest(b"<html>").is_err());
        // No `mediaType` anywhere: `manifests[]` alone makes an index, its children unknown.
        let bare = br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:d"}]}"#;
        assert_eq!(
            parse_manifest(bare),
            Ok(ManifestRead::Index(vec![Child {
                digest: "sha256:d".into(),
                is_index: true,
                platform: None,
            }]))
        );
    }

    #[test]
    fn an_attestation_manifest_is_named_by_the_platform_it_describes() {
        // As buildx writes them: the attestation's platform is `unknown/unknown`.
        let index = br#"{"manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:a",
             "platform":{"os":"linux","architecture":"arm","variant":"v7"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:b",
             "platform":{"os":"unknown","architecture":"unknown"},
             "annotations":{"vnd.docker.reference.type":"attestation-manifest",
                            "vnd.docker.reference.digest":"sha256:a"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:c",
             "platform":{"os":"unknown","architecture":"unknown"},
             "annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}"#;
        let Ok(ManifestRead::Index(children)) = parse_manifest(index) else {
            panic!("not an index");
        };
        let named: Vec<Option<&str>> = children.iter().map(|c| c.platform.as_deref()).collect();
        assert_eq!(
            named,
            [
                Some("linux/arm/v7"),
                Some("attestation of linux/arm/v7"),
                Some("attestation")
            ]
        );
    }

    #[test]
    fn odd_platform_or_annotation_values_leave_the_index_readable() {
        // They only name parts for people: an index with them is read all the same, never
        // unreadable (which would fail its package closed).
        let index = br#"{"manifests":[
            {"digest":"sha256:a","platform":"linux/amd64","annotations":{"n":1}},
            {"digest":"sha256:b","platform":{"os":7,"architecture":"arm64"},
             "annotations":["x"]},
            {"digest":"sha256:c","platform":null,"annotations":null}]}"#;
        let Ok(ManifestRead::Index(children)) = parse_manifest(index) else {
            panic!("not read as an index");
        };
        let named: Vec<Option<&str>> = children.iter().map(|c| c.platform.as_deref()).collect();
        assert_eq!(named, [None, Some("/arm64"), None]);
    }
}
