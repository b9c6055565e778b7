//! The one client of GitHub's REST API, over octocrab's raw `_get`/`_delete`/`_post`.
//!
//! octocrab has no typed packages API, its typed errors drop headers and its `delete::<()>`
//! fails on a 204, so this module handles status, headers and JSON itself. octocrab is built
//! without its `retry` feature: retries belong to us, not to a layer that also repeats DELETEs.

use crate::limits::{
    backoff, rate_limit, Limits, Pacer, RateLimit, GET_POINTS, MAX_ATTEMPTS, MAX_RATE_LIMIT_WAITS,
    MUTATION_POINTS,
};
use crate::model::{Mode, OwnerKind, PackageType, PackageVersion};
use crate::workflow::say;
use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use octocrab::Octocrab;
use serde::Deserialize;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A non-success answer from GitHub, kept whole where the caller branches on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

/// The run may send no further request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// A rate-limit answer asked for a wait longer than the run may take.
    RateLimited { wait_secs: u64, resets_at: String },
    /// SIGINT or SIGTERM: no new request.
    Cancelled,
    /// `max-duration` passed while a change waited for its turn: it does not start.
    OutOfTime,
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stopped::RateLimited { wait_secs, .. } => write!(
                f,
                "GitHub's rate limit asks for a wait of {wait_secs}s, longer than this run may take"
            ),
            Stopped::Cancelled => write!(f, "the run was cancelled (SIGINT or SIGTERM)"),
            Stopped::OutOfTime => write!(f, "max-duration was reached"),
        }
    }
}

impl std::error::Error for Stopped {}

/// The longest rate-limit wait a run sits through without `max-duration`; a longer one ends
/// it cleanly (SPEC §5).
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// One answer: status, headers, body, and whether an attempt before it failed in a way that
/// may have taken effect (a 5xx or a transport failure, not a rate-limit answer).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    after_failure: bool,
}

/// The answer's `Date` header as epoch seconds: GitHub's clock, for waits until its reset.
fn server_date(headers: &HeaderMap) -> Option<i64> {
    headers
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|d| d.timestamp())
}

impl Answer {
    fn rate_limit(&self) -> Option<RateLimit> {
        let header = |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok());
        rate_limit(
            self.status.as_u16(),
            header("retry-after"),
            header("x-ratelimit-remaining"),
            header("x-ratelimit-reset"),
            server_date(&self.headers),
            &self.error().message,
        )
    }

    fn error(&self) -> ApiError {
        #[derive(Deserialize)]
        struct Body {
            message: Option<String>,
        }
        let message = serde_json::from_slice::<Body>(&self.body)
            .ok()
            .and_then(|b| b.message)
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&self.body)
                    .chars()
                    .take(200)
                    .collect()
            });
        ApiError {
            status: self.status.as_u16(),
            message,
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body).with_context(|| format!("unexpected JSON in {what}"))
    }
}

/// What the preflight learns about the owner and the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub kind: OwnerKind,
    /// A classic PAT's scopes; `None` for tokens that do not report scopes.
    pub scopes: Option<Vec<String>>,
}

/// Where one owner's packages live: `/orgs/{org}`, `/user` or `/users/{user}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRoute {
    pub prefix: String,
}

impl OwnerRoute {
    pub fn org(org: &str) -> OwnerRoute {
        OwnerRoute {
            prefix: format!("/orgs/{org}"),
        }
    }
    pub fn authenticated_user() -> OwnerRoute {
        OwnerRoute {
            prefix: "/user".into(),
        }
    }
    pub fn user(user: &str) -> OwnerRoute {
        OwnerRoute {
            prefix: format!("/users/{user}"),
        }
    }

    /// `{prefix}/packages/{type}/{name}` with the name percent-encoded (`repo/app` →
    /// `repo%2Fapp`).
    pub fn package(&self, package_type: PackageType, name: &str) -> String {
        format!(
            "{}/packages/{}/{}",
            self.prefix,
            package_type,
            percent_encode(name)
        )
    }
}

/// Percent-encode everything but RFC 3986's unreserved characters.
pub fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The authenticated view of GitHub's REST API, paced under its limits.
pub struct GitHub {
    octo: Octocrab,
    base: http::Uri,
    pacer: Pacer,
    requests: AtomicUsize,
    limit_answers: AtomicUsize,
    budget: std::sync::Mutex<Option<Budget>>,
    /// Set when no further request may go out.
    stopped: std::sync::Mutex<Option<Stopped>>,
    /// When the run began, in real time.
    started: tokio::time::Instant,
}

/// The primary budget as GitHub last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub remaining: u64,
    /// Epoch seconds at which the budget resets.
    pub reset: i64,
    /// Seconds from the answer's `Date` to the reset.
    pub reset_in: i64,
}

/// The REST API version every request asks for.
const API_VERSION: &str = "2022-11-28";

/// Page size for every listing: GitHub's maximum.
const PER_PAGE: usize = 100;
/// GitHub answers 400 to a package listing past `page * per_page = 10000`.
const LISTING_LIMIT: usize = 10_000;

impl GitHub {
    pub fn new(api_url: &str, token: &str, limits: Limits) -> Result<GitHub> {
        let base: http::Uri = api_url
            .parse()
            .with_context(|| format!("GITHUB_API_URL '{api_url}' is not a URL"))?;
        // octocrab sends its own `User-Agent` on every request; `Accept` and the API version
        // are set once per request in `send_once`, never added here, since the builder's extra
        // headers are appended and a repeated field breaks behind a proxy (facts file, "HTTP
        // on the wire").
        let octo = Octocrab::builder()
            .base_uri(base.clone())
            .context("setting the API base")?
            .personal_token(token.to_string())
            .build()
            .context("building the HTTP client")?;
        Ok(GitHub {
            octo,
            base,
            pacer: Pacer::new(limits),
            requests: AtomicUsize::new(0),
            limit_answers: AtomicUsize::new(0),
            budget: std::sync::Mutex::new(None),
            stopped: std::sync::Mutex::new(None),
            started: tokio::time::Instant::now(),
        })
    }

    /// Requests sent so far, retries included.
    pub fn request_count(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// GitHub time → real time (the clock's speed in tests).
    pub fn real(&self, github: Duration) -> Duration {
        self.pacer.limits().real(github)
    }

    /// The GitHub time left before `max-duration`, if it is set.
    fn time_left(&self) -> Option<Duration> {
        let limits = self.pacer.limits();
        let budget = limits.real(limits.max_duration?);
        let left = budget.saturating_sub(self.started.elapsed());
        Some(left.mul_f64(limits.time_scale.max(1e-9)))
    }

    /// Whether `max-duration` has passed: no change may start.
    pub fn out_of_time(&self) -> bool {
        self.time_left().is_some_and(|left| left.is_zero())
    }

    /// The longest rate-limit wait the run sits through: the time left before `max-duration`,
    /// else an hour (SPEC §5); a longer one ends the run cleanly.
    fn max_wait(&self) -> Duration {
        self.time_left().map_or(MAX_WAIT, |left| left.min(MAX_WAIT))
    }

    /// Mutations a minute at the pace now in force.
    pub fn mutations_per_minute(&self) -> f64 {
        self.pacer.mutations_per_minute()
    }

    /// Rate-limit answers met so far.
    pub fn limit_answers(&self) -> usize {
        self.limit_answers.load(Ordering::Relaxed)
    }

    /// The primary budget from the latest answer that reported it.
    pub fn budget(&self) -> Option<Budget> {
        self.budget.lock().ok().and_then(|b| *b)
    }

    /// Send one request, paced; retry server errors and transport failures with backoff, and
    /// wait out rate-limit answers as GitHub documents: `retry-after`, else the reset when
    /// the budget is spent, else at least a minute, backing off.
    async fn send(&self, method: http::Method, path_and_query: &str) -> Result<Answer> {
        let limits = self.pacer.limits().clone();
        let points = if method == http::Method::GET {
            GET_POINTS
        } else {
            MUTATION_POINTS
        };
        let request = format!("{method} {}{path_and_query}", self.origin());
        let mut attempts = 0;
        let mut failures = 0;
        let mut waits = 0;
        loop {
            if let Some(stop) = self.stopped() {
                return Err(stop.into());
            }
            attempts += 1;
            // Held until this attempt's answer is dealt with: a mutation's successor waits
            // for it, and a rate-limit answer pauses the pacer before anything else goes out.
            let Some(admission) = self.pacer.admit(points, points == MUTATION_POINTS).await else {
                return Err(Stopped::Cancelled.into());
            };
            // At the moment of sending: a too-long wait met meanwhile stops this one too, and
            // no change starts past `max-duration`, however long it waited for its turn.
            if let Some(stop) = self.stopped() {
                return Err(stop.into());
            }
            if points == MUTATION_POINTS && self.out_of_time() {
                return Err(Stopped::OutOfTime.into());
            }
            let sent = self.send_once(&method, path_and_query);
            // The whole request is bounded here: octocrab's read timeout (hyper-timeout)
            // also fires on idle pooled connections, failing the next request sent on one.
            // Real time, never scaled: a busy machine must not turn a normal answer into a
            // timeout in a test that speeds up the waits.
            let result = match tokio::time::timeout(limits.timeout, sent).await {
                Ok(result) => result,
                Err(_) => Err(anyhow!("no answer within {}s", limits.timeout.as_secs())),
            };
            // A server error or a transport failure: retry with backoff, a few times.
            let failure = match &result {
                Err(e) => Some(format!("failed ({e:#})")),
                Ok(answer) if answer.status.is_server_error() => {
                    Some(format!("HTTP {}", answer.status.as_u16()))
                }
                Ok(_) => None,
            };
            if let Some(what) = failure {
                failures += 1;
                if failures < MAX_ATTEMPTS {
                    let wait = backoff(Duration::from_secs(1), failures);
                    say(&format!(
                        "{request}: {what}; retrying in {}s (attempt {} of {MAX_ATTEMPTS})",
                        wait.as_secs(),
                        failures + 1
                    ));
                    drop(admission);
                    limits.sleep(wait).await;
                    continue;
                }
                if let Err(error) = result {
                    // The final word names the host and the request.
                    return Err(error.context(format!("{request}: {failures} attempts failed")));
                }
            }
            let mut answer = result?;
            // A rate-limit answer: every request waits, this one included, then it is retried.
            if let Some(limit) = answer.rate_limit().filter(|_| waits < MAX_RATE_LIMIT_WAITS) {
                waits += 1;
                self.limit_answers.fetch_add(1, Ordering::Relaxed);
                let wait = match limit {
                    RateLimit::RetryAfter(s) => Duration::from_secs(s),
                    RateLimit::UntilReset(s) => Duration::from_secs(s.saturating_add(1)),
                    RateLimit::Secondary => backoff(Duration::from_secs(60), waits),
                };
                if wait > self.max_wait() {
                    drop(admission);
                    // Longer than the run may take: stop every request, this one included.
                    let resets_at = chrono::TimeDelta::from_std(wait)
                        .ok()
                        .and_then(|d| Utc::now().checked_add_signed(d))
                        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_else(|| format!("{}s", wait.as_secs()));
                    let stop = Stopped::RateLimited {
                        wait_secs: wait.as_secs(),
                        resets_at,
                    };
                    if let Ok(mut stopped) = self.stopped.lock() {
                        stopped.get_or_insert(stop.clone());
                    }
                    say(&format!(
                        "Rate limited ({limit:?}) on {request}: the wait of {}s is longer than \
                         this run may take; no further request is sent",
                        wait.as_secs()
                    ));
                    return Err(stop.into());
                }
                say(&format!(
                    "Rate limited ({limit:?}) on {request}: waiting {}s",
                    wait.as_secs()
                ));
                let secondary = !matches!(limit, RateLimit::UntilReset(_));
                self.pacer.back_off(wait, secondary);
                drop(admission);
                continue;
            }
            crate::workflow::debug(&format!(
                "{method} {path_and_query} -> {} (attempt {attempts})",
                answer.status.as_u16()
            ));
            answer.after_failure = failures > 0;
            self.note_budget(&answer.headers);
            drop(admission);
            return Ok(answer);
        }
    }

    /// Why no further request may be sent, once a rate-limit wait was too long.
    fn stopped(&self) -> Option<Stopped> {
        self.stopped.lock().ok().and_then(|s| s.clone())
    }

    /// `scheme://host[:port]` of the API, for messages.
    fn origin(&self) -> String {
        match (self.base.scheme_str(), self.base.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
            _ => String::new(),
        }
    }

    fn note_budget(&self, headers: &HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
        };
        if let (Some(remaining), Some(reset)) =
            (number("x-ratelimit-remaining"), number("x-ratelimit-reset"))
        {
            let now = server_date(headers).unwrap_or_else(|| chrono::Utc::now().timestamp());
            if let Ok(mut budget) = self.budget.lock() {
                *budget = Some(Budget {
                    remaining: remaining.max(0) as u64,
                    reset,
                    reset_in: reset.saturating_sub(now).max(0),
                });
            }
        }
    }

    async fn send_once(&self, method: &http::Method, path_and_query: &str) -> Result<Answer> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(path_and_query)
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", API_VERSION);
        if *method != http::Method::GET {
            request = request.header(http::header::CONTENT_LENGTH, "0");
        }
        let request = request
            .body(octocrab::OctoBody::empty())
            .with_context(|| format!("{method} {path_and_query}"))?;
        let response = self
            .octo
            .execute(request)
            .await
            .with_context(|| format!("{method} {path_and_query}"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .with_context(|| format!("reading the answer to {method} {path_and_query}"))?
            .to_bytes()
            .to_vec();
        Ok(Answer {
            status,
            headers,
            body,
            after_failure: false,
        })
    }

    /// `GET /users/{owner}`: whether the owner is a user or an organization, and the token's
    /// OAuth scopes when it is a classic PAT (`X-OAuth-Scopes`; absent for other tokens).
    pub async fn owner(&self, owner: &str) -> Result<Owner> {
        #[derive(Deserialize)]
        struct Account {
            #[serde(rename = "type")]
            kind: String,
        }
        let answer = self
            .send(http::Method::GET, &format!("/users/{owner}"))
            .await?;
        match answer.status.as_u16() {
            200 => {}
            401 => bail!("the token was rejected ({})", answer.error()),
            404 => {
                // A GitHub Enterprise Server URL without `/api/v3` answers 404 to every
                // API path: say so rather than blame the owner.
                let hint = match (self.base.host(), self.base.path()) {
                    (Some("api.github.com"), _) => String::new(),
                    (_, path) if path.trim_end_matches('/').ends_with("/api/v3") => String::new(),
                    _ => format!(
                        " If {} is a GitHub Enterprise Server, GITHUB_API_URL may be missing \
                         `/api/v3`.",
                        self.origin()
                    ),
                };
                bail!(
                    "owner '{owner}' does not exist on GitHub ({}).{hint}",
                    answer.error()
                )
            }
            _ => return Err(anyhow!(answer.error()).context(format!("GET /users/{owner}"))),
        }
        let account: Account = answer.json(&format!("GET /users/{owner}"))?;
        let scopes = answer
            .headers
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            });
        let kind = match account.kind.as_str() {
            "Organization" => OwnerKind::Organization,
            "User" => OwnerKind::User,
            other => bail!(
                "owner '{owner}' is a '{other}' account; only users and organizations own packages"
            ),
        };
        Ok(Owner { kind, scopes })
    }

    /// `GET /user`: the login the token belongs to, or `None` for an installation token
    /// (GITHUB_TOKEN), which GitHub answers with 403 "Resource not accessible by integration".
    pub async fn token_login(&self) -> Result<Option<String>> {
        #[derive(Deserialize)]
        struct Account {
            login: String,
        }
        let answer = self.send(http::Method::GET, "/user").await?;
        match answer.status.as_u16() {
            200 => Ok(Some(answer.json::<Account>("GET /user")?.login)),
            403 => Ok(None),
            401 => bail!("the token was rejected ({})", answer.error()),
            _ => Err(anyhow!(answer.error()).context("GET /user")),
        }
    }

    /// Every active (delete) or deleted (restore, `state=deleted`) version of a package.
    pub async fn list_versions(
        &self,
        route: &OwnerRoute,
        package_type: PackageType,
        name: &str,
        mode: Mode,
    ) -> Result<Vec<PackageVersion>> {
        let state = match mode {
            // `active` is GitHub's default.
            Mode::Delete => "",
            Mode::Restore => "&state=deleted",
        };
        let first = format!(
            "{}/versions?per_page={PER_PAGE}{state}",
            route.package(package_type, name)
        );
        let (pages, truncated) = self.pages::<VersionJson>(first, usize::MAX).await?;
        if truncated {
            // Fail closed: a plan over part of the versions could delete what it cannot see
            // the rest of (a kept image's children, the newest versions).
            bail!(
                "the listing of '{name}' came back incomplete (its last page still links to a \
                 next one); nothing is changed on a partial listing"
            );
        }
        let versions: Vec<PackageVersion> = pages
            .into_iter()
            .flatten()
            .map(VersionJson::into_version)
            .collect();
        if mode == Mode::Restore {
            // `state=deleted` is documented only for `/user` and `/orgs` (SPEC §3): a route
            // that ignored it lists active versions, which must never be planned as restores.
            if let Some(active) = versions.iter().find(|v| v.deleted_at.is_none()) {
                bail!(
                    "the listing of deleted versions of '{name}' via {} returned version {} \
                     without `deleted_at`: GitHub ignored `state=deleted` on this route; \
                     stopping rather than planning restores of active versions",
                    route.prefix,
                    active.id
                );
            }
        }
        Ok(versions)
    }

    /// The names of the owner's packages of one type. GitHub lists at most 10,000
    /// (`page * per_page <= 10000`); `truncated` says there were more.
    pub async fn list_packages(
        &self,
        route: &OwnerRoute,
        package_type: PackageType,
    ) -> Result<(Vec<String>, bool)> {
        #[derive(Deserialize)]
        struct PackageJson {
            name: String,
        }
        let first = format!(
            "{}/packages?package_type={package_type}&per_page={PER_PAGE}",
            route.prefix
        );
        let (pages, truncated) = self
            .pages::<PackageJson>(first, LISTING_LIMIT / PER_PAGE)
            .await?;
        let names = pages.into_iter().flatten().map(|p| p.name).collect();
        Ok((names, truncated))
    }

    /// Up to `max_pages` pages from `first` on, and whether pages were left unread. Once the
    /// first answer's `Link: rel="last"` tells the count, the other pages are fetched
    /// concurrently from that link (its `page` parameter varied); otherwise `rel="next"` is
    /// followed exactly as given.
    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        first: String,
        max_pages: usize,
    ) -> Result<(Vec<Vec<T>>, bool)> {
        let (page, links) = self.page::<T>(&first).await?;
        let mut pages = vec![page];
        if let Some((last, count)) = links
            .last
            .as_deref()
            .and_then(|l| Some((l, page_number(l)?)))
        {
            let wanted = count.min(max_pages);
            let urls: Vec<String> = (2..=wanted)
                .map(|n| with_page(last, n).map(|url| self.relative(&url)))
                .collect::<Option<Result<_>>>()
                .context("the `last` link has no page number")??;
            let concurrency = crate::limits::LIST_PAGES_IN_FLIGHT;
            let rest: Vec<Result<(Vec<T>, Links)>> = futures_util::stream::iter(urls)
                .map(|url| async move { self.page::<T>(&url).await })
                .buffered(concurrency)
                .collect()
                .await;
            let mut next = links.next;
            for page in rest {
                let (page, links) = page?;
                pages.push(page);
                next = links.next;
            }
            return Ok((
                pages,
                count > max_pages || (wanted == count && next.is_some()),
            ));
        }
        let mut next = links.next;
        while let Some(url) = next.take() {
            if pages.len() == max_pages {
                return Ok((pages, true));
            }
            let (page, links) = self.page::<T>(&self.relative(&url)?).await?;
            pages.push(page);
            next = links.next;
        }
        Ok((pages, false))
    }

    async fn page<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<(Vec<T>, Links)> {
        let answer = self.send(http::Method::GET, url).await?;
        if !answer.status.is_success() {
            return Err(anyhow!(answer.error()));
        }
        Ok((answer.json("a listing")?, links(&answer.headers)))
    }

    /// `DELETE …/versions/{id}` or `POST …/versions/{id}/restore`.
    pub async fn change_version(
        &self,
        route: &OwnerRoute,
        package_type: PackageType,
        name: &str,
        id: u64,
        mode: Mode,
    ) -> Result<Result<(), ApiError>> {
        let version = format!("{}/versions/{id}", route.package(package_type, name));
        self.change(&version, mode).await
    }

    /// `GET {prefix}/packages/{type}/{name}`: a package, as a stand-in version for plans of
    /// whole packages (id and name of the package), with its version count.
    pub async fn package(
        &self,
        route: &OwnerRoute,
        package_type: PackageType,
        name: &str,
    ) -> Result<(PackageVersion, usize)> {
        #[derive(Deserialize)]
        struct PackageJson {
            id: u64,
            name: String,
            #[serde(default)]
            version_count: usize,
            created_at: DateTime<Utc>,
            updated_at: DateTime<Utc>,
        }
        let answer = self
            .send(http::Method::GET, &route.package(package_type, name))
            .await?;
        if !answer.status.is_success() {
            return Err(anyhow!(answer.error()));
        }
        let p: PackageJson = answer.json("a package")?;
        Ok((
            PackageVersion {
                id: p.id,
                name: p.name,
                tags: Vec::new(),
                created_at: p.created_at,
                updated_at: p.updated_at,
                deleted_at: None,
            },
            p.version_count,
        ))
    }

    /// `DELETE {prefix}/packages/{type}/{name}` or `POST …/restore`.
    pub async fn change_package(
        &self,
        route: &OwnerRoute,
        package_type: PackageType,
        name: &str,
        mode: Mode,
    ) -> Result<Result<(), ApiError>> {
        self.change(&route.package(package_type, name), mode).await
    }

    /// Delete `path`, or restore it (`POST {path}/restore`): `Ok` on 2xx (GitHub answers 204),
    /// the API's error otherwise.
    async fn change(&self, path: &str, mode: Mode) -> Result<Result<(), ApiError>> {
        let answer = match mode {
            Mode::Delete => self.send(http::Method::DELETE, path).await?,
            Mode::Restore => {
                self.send(http::Method::POST, &format!("{path}/restore"))
                    .await?
            }
        };
        // A retried change answered 404: the attempt that failed in transit took effect.
        let done_before = answer.status == StatusCode::NOT_FOUND && answer.after_failure;
        Ok(if answer.status.is_success() || done_before {
            Ok(())
        } else {
            Err(answer.error())
        })
    }

    /// A pagination link as a path and query on the API host. The token is only ever sent to
    /// the API host, so a link elsewhere is an error rather than a request.
    fn relative(&self, link: &str) -> Result<String> {
        let uri: http::Uri = link
            .parse()
            .with_context(|| format!("pagination link '{link}' is not a URL"))?;
        if uri.authority() != self.base.authority() && uri.authority().is_some() {
            bail!("pagination link '{link}' points away from the API host; not following it");
        }
        Ok(uri
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| "/".into()))
    }
}

/// The `next` and `last` targets of a `Link` header.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Links {
    pub next: Option<String>,
    pub last: Option<String>,
}

pub fn links(headers: &HeaderMap) -> Links {
    let mut links = Links::default();
    for part in headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let Some((target, params)) = part.split_once(';') else {
            continue;
        };
        let target = target.trim();
        let Some(url) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
            continue;
        };
        for param in params.split(';').map(|p| p.trim().replace(' ', "")) {
            match param.as_str() {
                "rel=\"next\"" => links.next = Some(url.to_string()),
                "rel=\"last\"" => links.last = Some(url.to_string()),
                _ => {}
            }
        }
    }
    links
}

/// The `page` query parameter of a URL.
fn page_number(url: &str) -> Option<usize> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .find_map(|p| p.strip_prefix("page="))
        .and_then(|n| n.parse().ok())
}

/// The URL with its `page` query parameter set to `page`.
fn with_page(url: &str, page: usize) -> Option<String> {
    let (path, query) = url.split_once('?')?;
    let mut found = false;
    let query: Vec<String> = query
        .split('&')
        .map(|p| {
            if p.starts_with("page=") {
                found = true;
                format!("page={page}")
            } else {
                p.to_string()
            }
        })
        .collect();
    found.then(|| format!("{path}?{}", query.join("&")))
}

/// A package version as GitHub sends it; only the required fields are required.
#[derive(Deserialize)]
struct VersionJson {
    id: u64,
    name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(default)]
    deleted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    metadata: Option<MetadataJson>,
}

#[derive(Deserialize)]
struct MetadataJson {
    #[serde(default)]
    container: Option<TagsJson>,
    #[serde(default)]
    docker: Option<DockerTagsJson>,
}

#[derive(Deserialize)]
struct TagsJson {
    #[serde(default)]
    tags: Vec<String>,
}

/// The OpenAPI description names the legacy docker field `tag`, yet requires `tags`.
#[derive(Deserialize)]
struct DockerTagsJson {
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    tag: Vec<String>,
}

impl VersionJson {
    fn into_version(self) -> PackageVersion {
        let tags = match self.metadata {
            Some(MetadataJson {
                container: Some(c), ..
            }) => c.tags,
            Some(MetadataJson {
                docker: Some(d), ..
            }) => {
                if d.tags.is_empty() {
                    d.tag
                } else {
                    d.tags
                }
            }
            _ => Vec::new(),
        };
        PackageVersion {
            id: self.id,
            name: self.name,
            tags,
            created_at: self.created_at,
            updated_at: self.updated_at,
            deleted_at: self.deleted_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_slashes_are_percent_encoded() {
        assert_eq!(percent_encode("repo/app"), "repo%2Fapp");
        assert_eq!(
            OwnerRoute::org("acme").package(PackageType::Npm, "@acme/x"),
            "/orgs/acme/packages/npm/%40acme%2Fx"
        );
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::LINK,
            r#"<https://api.github.com/organizations/1/packages/container/web/versions?page=3&per_page=100>; rel="last", <https://api.github.com/organizations/1/packages/container/web/versions?page=2&per_page=100>; rel="next""#
                .parse()
                .unwrap(),
        );
        let found = links(&headers);
        assert_eq!(
            found.next.as_deref(),
            Some("https://api.github.com/organizations/1/packages/container/web/versions?page=2&per_page=100")
        );
        let last = found.last.unwrap();
        assert_eq!(page_number(&last), Some(3));
        assert_eq!(
            with_page(&last, 7).as_deref(),
            Some("https://api.github.com/organizations/1/packages/container/web/versions?page=7&per_page=100")
        );
        assert_eq!(links(&HeaderMap::new()), Links::default());
    }
}
