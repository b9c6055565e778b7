//! The one client of GitHub's REST API: `transport` (one request, paced, retried, waited
//! out), `pages` (pagination), `models` (the JSON) and, here, the typed calls the run makes.

mod models;
mod pages;
mod route;
mod transport;

pub use route::{percent_encode, OwnerRoute};
pub use transport::{next_step, ApiError, Heard, Step, Stopped, Unsettled};

use crate::limits::{Limits, Pacer};
use crate::model::{Mode, OwnerKind, PackageType, PackageVersion};
use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Utc};
use http::StatusCode;
use models::VersionJson;
use octocrab::Octocrab;
use pages::{LISTING_LIMIT, PER_PAGE};
use serde::Deserialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The longest rate-limit wait a run sits through without `max-duration`; a longer one ends
/// it cleanly (SPEC §5).
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// What the preflight learns about the owner and the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub kind: OwnerKind,
    /// A classic PAT's scopes; `None` for tokens that do not report scopes.
    pub scopes: Option<Vec<String>>,
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

impl Budget {
    /// When the budget resets, for people: `2026-12-02 15:00 UTC`.
    pub fn resets_at(&self) -> String {
        DateTime::from_timestamp(self.reset, 0)
            .map(minute)
            .unwrap_or_else(|| format!("{}s from now", self.reset_in))
    }
}

/// A time to the minute, for people: `2026-12-02 15:00 UTC`.
pub fn minute(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

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
        if crate::signals::shielded() {
            // A started change is finished whatever `max-duration` says.
            return MAX_WAIT;
        }
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
    ) -> Result<Vec<Arc<PackageVersion>>> {
        self.list_versions_seen(route, package_type, name, mode, &mut |_| {})
            .await
    }

    /// [`GitHub::list_versions`], showing each page's versions to `seen` as it arrives (the
    /// manifest reads start before the listing ends, issue 26).
    pub async fn list_versions_seen(
        &self,
        route: &OwnerRoute,
        package_type: PackageType,
        name: &str,
        mode: Mode,
        seen: &mut dyn FnMut(&[Arc<PackageVersion>]),
    ) -> Result<Vec<Arc<PackageVersion>>> {
        let state = match mode {
            // `active` is GitHub's default.
            Mode::Delete => "",
            Mode::Restore | Mode::Repair => "&state=deleted",
        };
        let first = format!(
            "{}/versions?per_page={PER_PAGE}{state}",
            route.package(package_type, name)
        );
        let mut versions: Vec<Arc<PackageVersion>> = Vec::new();
        let truncated = self
            .pages::<VersionJson>(first, usize::MAX, &mut |page| {
                let start = versions.len();
                versions.extend(page.into_iter().map(|v| Arc::new(v.into_version())));
                seen(&versions[start..]);
            })
            .await?;
        if truncated {
            // Fail closed: a plan over part of the versions could delete what it cannot see
            // the rest of (a kept image's children, the newest versions).
            bail!(
                "the listing of '{name}' came back incomplete (its last page still links to a \
                 next one); nothing is changed on a partial listing"
            );
        }
        if mode.restores() {
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
        let mut names = Vec::new();
        let truncated = self
            .pages::<PackageJson>(first, LISTING_LIMIT / PER_PAGE, &mut |page| {
                names.extend(page.into_iter().map(|p| p.name))
            })
            .await?;
        Ok((names, truncated))
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
        let sent = match mode {
            Mode::Delete => self.send(http::Method::DELETE, path).await,
            Mode::Restore | Mode::Repair => {
                self.send(http::Method::POST, &format!("{path}/restore"))
                    .await
            }
        };
        let answer = match sent {
            Ok(answer) => answer,
            Err(error) => {
                return match error.downcast::<Unsettled>() {
                    Ok(unsettled) => self.settle(path, mode, unsettled).await,
                    Err(error) => Err(error),
                }
            }
        };
        if answer.status.is_success() {
            return Ok(Ok(()));
        }
        // A retried DELETE answered 404: the attempt that failed in transit took effect
        // (facts file, "Rate limits").
        if answer.after_failure && mode == Mode::Delete && answer.status == StatusCode::NOT_FOUND {
            return Ok(Ok(()));
        }
        if answer.after_failure {
            // Any other answer to a retry — a restore of a version back already (404, 400 or
            // 422: undocumented), a refusal of one gone already — is read back: what
            // happened is learnt, never guessed from the code.
            let _finishing = crate::signals::Shield::up();
            let wanted = mode == Mode::Delete;
            return match self.is_deleted(path).await {
                Ok(deleted) if deleted == wanted => Ok(Ok(())),
                Ok(_) => Ok(Err(answer.error())),
                Err(why) => Err(anyhow!(
                    "{path} answered {} after an attempt that may have taken effect, and \
                     reading it back failed: {why}",
                    answer.status
                )),
            };
        }
        Ok(Err(answer.error()))
    }

    /// Whether the version at `path` is deleted, read back with a GET: a deleted version may
    /// be answered 404 or listed with its `deleted_at`; both mean deleted.
    async fn is_deleted(&self, path: &str) -> std::result::Result<bool, String> {
        if let Some(budget) = self.budget().filter(|b| b.remaining == 0) {
            // A read-back now would meet the primary limit (SPEC §5): said, not sent.
            return Err(format!(
                "GitHub's primary rate-limit budget is spent until {}",
                budget.resets_at()
            ));
        }
        let answer = self
            .send(http::Method::GET, path)
            .await
            .map_err(|e| format!("{e:#}"))?;
        #[derive(Deserialize)]
        struct State {
            deleted_at: Option<DateTime<Utc>>,
        }
        match answer.status.as_u16() {
            404 => Ok(true),
            200 => answer
                .json::<State>("the version read back")
                .map(|state| state.deleted_at.is_some())
                .map_err(|e| format!("{e:#}")),
            _ => Err(answer.error().to_string()),
        }
    }

    /// A change that went on the wire and may have taken effect, settled by reading what it
    /// changed (a GET, not a change; SPEC §5): done, or not done and why, or — when even that
    /// cannot be learnt — an error that says it may have taken effect. A deleted version
    /// may be answered 404 or listed with `deleted_at`; both mean deleted.
    async fn settle(
        &self,
        path: &str,
        mode: Mode,
        unsettled: Unsettled,
    ) -> Result<Result<(), ApiError>> {
        let _finishing = crate::signals::Shield::up();
        let may = |why: String| {
            anyhow!("{unsettled}; it may have taken effect, and reading it back failed: {why}")
        };
        if self.stopped().is_some() {
            return Err(may("the rate limit allows no further request".into()));
        }
        let deleted = self.is_deleted(path).await.map_err(may)?;
        let took_effect = deleted == (mode == Mode::Delete);
        crate::workflow::say(&format!(
            "{unsettled}; read back: it {}",
            if took_effect {
                "took effect"
            } else {
                "did not take effect"
            }
        ));
        match (took_effect, unsettled.stop.clone()) {
            (true, _) => Ok(Ok(())),
            // Nothing happened, and nothing more may be sent: the change did not start.
            (false, Some(stop)) => Err(stop.into()),
            (false, None) => Err(anyhow!("{unsettled}; it did not take effect")),
        }
    }

    /// A mutation's turn for a request sent elsewhere (a registry push): one at a time and
    /// spaced with the REST mutations; `Err` with why none may start.
    pub async fn mutation_turn(&self) -> Result<crate::limits::Admission<'_>, Stopped> {
        let turn = self
            .pacer
            .admit(crate::limits::MUTATION_POINTS, true)
            .await
            .ok_or(Stopped::Cancelled)?;
        if self.out_of_time() {
            return Err(Stopped::OutOfTime);
        }
        if let Some(limited @ Stopped::RateLimited { .. }) = self.stopped() {
            return Err(limited);
        }
        Ok(turn)
    }

    /// The version of a package named `digest` (a pushed manifest), looked for page by page
    /// from the newest; `None` when no page lists it.
    pub async fn find_version(
        &self,
        route: &OwnerRoute,
        package_type: PackageType,
        name: &str,
        digest: &str,
    ) -> Result<Option<PackageVersion>> {
        let mut next = Some(format!(
            "{}/versions?per_page={PER_PAGE}",
            route.package(package_type, name)
        ));
        while let Some(url) = next.take() {
            let (page, links) = self.page::<VersionJson>(&url).await?;
            if let Some(found) = page.into_iter().find(|v| v.name == digest) {
                return Ok(Some(found.into_version()));
            }
            next = links.next.map(|link| self.relative(&link)).transpose()?;
        }
        Ok(None)
    }
}
