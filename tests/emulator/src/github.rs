//! GitHub's behaviour over the emulated state: routing, tokens, permissions, pagination,
//! refusals. Plain functions of a [`Request`] to a [`Response`]; the HTTP glue is in `server`.
//!
//! Faithful to `shared/github-api/packages-openapi.json` and the facts file: the three route
//! families (`/orgs/{org}`, `/user`, `/users/{username}`) plus the numeric-id forms real GitHub
//! puts in `Link` headers (`/organizations/{id}`, `/user/{id}`); 204 with an empty body for
//! deletes and restores; error bodies with `status` as a string.

use crate::limits::{endpoint, Dice, Faults, Primary, Secondary, Transport};
use crate::quirks::Quirks;
use crate::scenario::{
    Account, AccountKind, PackageSpec, PackageType, Scenario, TokenKind, TokenSpec, VersionSpec,
    Visibility,
};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};

/// GitHub's message for deleting the last version of a package.
pub const LAST_VERSION: &str =
    "You cannot delete the last version of a package. You must delete the package instead.";
/// GitHub does not publish the download-limit message; this one says what the docs say. The
/// texts below are invented likewise: the client must branch on the status (a 400 or 422 on
/// one version is a skip, SPEC §2), never on these words.
pub const DOWNLOAD_LIMIT: &str = "Publicly visible package versions with more than 5000 downloads \
    cannot be deleted. Contact GitHub support for further assistance.";
pub const RESTORE_TOO_LATE: &str =
    "Package version cannot be restored: it was deleted more than 30 days ago.";
pub const NAME_REUSED: &str =
    "Package version cannot be restored: a version with the same name was published since.";
pub const INTEGRATION: &str = "Resource not accessible by integration";
/// What a GITHUB_TOKEN gets when it lists an owner's packages (facts file, "Tokens").
pub const INVALID_ARGUMENT: &str = "Invalid argument.";
pub const FINE_GRAINED: &str = "Resource not accessible by personal access token";

/// Downloads above which a public version cannot be deleted.
pub const DOWNLOAD_LIMIT_COUNT: u64 = 5000;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The raw path, percent-encoding intact.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub authorization: Option<String>,
    /// Singular header fields that came more than once, joined as a proxy would join them.
    pub repeated: Vec<String>,
    /// The request's body (a manifest pushed to the registry).
    pub body: Vec<u8>,
    /// The request's `Content-Type`, if any.
    pub content_type: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// `None` is an empty body (204).
    pub body: Option<Value>,
    /// A transport fault to inflict on this answer.
    pub transport: Option<Transport>,
    /// Held until the test releases it (a cut run: `CutHow::Hold`).
    pub hold: bool,
}

impl Response {
    pub fn json_body(status: u16, body: Value) -> Response {
        Response::json(status, body)
    }

    fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Some(body),
            transport: None,
            hold: false,
        }
    }

    fn no_content() -> Response {
        Response {
            status: 204,
            headers: Vec::new(),
            body: None,
            transport: None,
            hold: false,
        }
    }

    /// GitHub's error body: `status` is a string.
    pub fn error(status: u16, message: &str) -> Response {
        Response::json(
            status,
            json!({
                "message": message,
                "documentation_url": "https://docs.github.com/rest/packages/packages",
                "status": status.to_string(),
            }),
        )
    }

    fn not_found() -> Response {
        Response::error(404, "Not Found")
    }

    fn package_not_found() -> Response {
        Response::error(404, "Package not found.")
    }
}

/// One request as the log keeps it: never a token value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub token_kind: Option<TokenKind>,
    /// The fault inflicted, if any: `server-error`, `lost-answer`, `reset`, `slow`,
    /// `secondary-limit`, `primary-limit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<&'static str>,
    /// When it was served, in emulated time.
    pub at: DateTime<Utc>,
    /// Served by the registry (`/v2/…`, the token realm), not the REST API.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub registry: bool,
}

impl LoggedRequest {
    /// A REST request as served, with no token kind.
    fn of(
        request: &Request,
        response: &Response,
        fault: Option<&'static str>,
        at: DateTime<Utc>,
    ) -> LoggedRequest {
        LoggedRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            status: response.status,
            token_kind: None,
            fault,
            at,
            registry: false,
        }
    }
}

/// The emulated GitHub: the scenario's data, changed by the requests it serves.
#[derive(Debug)]
pub struct GitHub {
    pub base_url: String,
    pub accounts: Vec<Account>,
    pub tokens: Vec<TokenSpec>,
    pub packages: Vec<PackageSpec>,
    pub log: Vec<LoggedRequest>,
    pub faults: Faults,
    /// How it answers where GitHub's behaviour varies.
    pub quirks: Quirks,
    dice: Dice,
    secondary: Secondary,
    primary: Primary,
    /// Requests being served right now.
    pub in_flight: usize,
    /// REST mutations (DELETE, POST) being served right now, and the most seen at once.
    pub mutations_in_flight: usize,
    pub max_mutations_in_flight: usize,
    /// When each REST mutation arrived, in emulated time: their spacing.
    pub mutation_arrivals: Vec<DateTime<Utc>>,
    /// Registry tokens issued, and the repository each may pull.
    pub registry_tokens: u64,
    /// Registry tokens issued: the repository each is for, and whether it may push.
    pub registry_grants: std::collections::HashMap<String, (String, bool)>,
    /// Transient faults in a row per request (method, path and query).
    streaks: std::collections::HashMap<String, u32>,
    /// Mutations served so far (REST DELETE and POST, registry PUT), for `Faults::cut`.
    pub mutations: usize,
    /// The cut happened (its mutation was served).
    pub cut_reached: bool,
    /// Registry pushes whose answer was lost so far, for `Faults::lost_pushes`.
    pushes_lost: usize,
    /// Container versions deleted while an active image index listed them (SPEC §4's
    /// invariant broken), in words: recorded at each DELETE.
    pub violations: Vec<String>,
}

enum Caller<'a> {
    Anonymous,
    Token(&'a TokenSpec),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    List,
    Read,
    Delete,
    Restore,
}

/// Whose packages a request is about.
struct Scope {
    owner: usize,
    /// The numeric-id prefix for `Link` headers.
    link_prefix: String,
    /// The request came by `/users/{username}`, where `state` is undocumented.
    users_route: bool,
}

/// A percent-encoded segment decoded; `None` when it is not UTF-8.
pub(crate) fn percent_decode(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Everything but RFC 3986's unreserved characters, percent-encoded.
fn percent_encode(segment: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(segment, SEGMENT).to_string()
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (
                percent_decode(k).unwrap_or_default(),
                percent_decode(&v.replace('+', " ")).unwrap_or_default(),
            ),
            None => (percent_decode(p).unwrap_or_default(), String::new()),
        })
        .collect()
}

/// A mutation: a REST DELETE or restore POST, or a registry push (`PUT /v2/…`).
pub fn is_mutation(request: &Request) -> bool {
    let registry = request.path.starts_with("/v2/") || request.path.contains("/token");
    match request.method.as_str() {
        "DELETE" | "POST" => !registry,
        "PUT" => request.path.starts_with("/v2/"),
        _ => false,
    }
}

impl GitHub {
    /// The smallest spacing between two REST mutations' arrivals so far, in emulated time.
    pub fn min_mutation_spacing(&self) -> Option<Duration> {
        self.mutation_arrivals.windows(2).map(|w| w[1] - w[0]).min()
    }

    pub fn new(scenario: Scenario, base_url: &str) -> GitHub {
        GitHub {
            base_url: base_url.trim_end_matches('/').to_string(),
            accounts: scenario.accounts,
            tokens: scenario.tokens,
            packages: scenario.packages,
            log: Vec::new(),
            faults: Faults::default(),
            quirks: Quirks::default(),
            dice: Dice::new(1),
            secondary: Secondary::default(),
            primary: Primary::default(),
            in_flight: 0,
            mutations_in_flight: 0,
            max_mutations_in_flight: 0,
            mutation_arrivals: Vec::new(),
            streaks: std::collections::HashMap::new(),
            registry_tokens: 0,
            registry_grants: std::collections::HashMap::new(),
            mutations: 0,
            cut_reached: false,
            pushes_lost: 0,
            violations: Vec::new(),
        }
    }

    /// Replace the faults and limits in force (and reseed the dice).
    pub fn set_faults(&mut self, faults: Faults) {
        self.dice = Dice::new(faults.seed);
        self.faults = faults;
    }

    /// Whether `token` may read `package` (the registry's token exchange).
    pub fn may_read(&self, token: &str, package: &PackageSpec) -> bool {
        self.may(token, package, Access::Read)
    }

    /// Whether `token` may push to `package`: `write:packages` for a classic PAT, the Admin
    /// role for a GITHUB_TOKEN's repository (facts file, "Tokens").
    pub fn may_push(&self, token: &str, package: &PackageSpec) -> bool {
        self.may(token, package, Access::Restore)
    }

    fn may(&self, token: &str, package: &PackageSpec, access: Access) -> bool {
        let Some(spec) = self.tokens.iter().find(|t| t.token == token) else {
            return false;
        };
        let Some(owner) = self
            .accounts
            .iter()
            .position(|a| a.login.eq_ignore_ascii_case(&package.owner))
        else {
            return false;
        };
        self.authorize(
            &Caller::Token(spec),
            owner,
            Some(package),
            package.package_type,
            access,
        )
        .is_ok()
    }

    /// Serve one request and log it, cut as `Faults::cut` says. `now` is emulated time.
    pub fn handle(&mut self, request: &Request, now: DateTime<Utc>) -> Response {
        let Some(cut) = self.faults.cut.filter(|_| is_mutation(request)) else {
            return self.serve_request(request, now);
        };
        self.mutations += 1;
        if self.mutations != cut.at {
            return self.serve_request(request, now);
        }
        self.cut_reached = true;
        use crate::limits::CutHow;
        let (fault, mut response) = match cut.how {
            CutHow::Refuse => (
                "cut-refused",
                Response::error(400, "Refused by the emulator (a cut run)."),
            ),
            CutHow::LostAnswer => {
                self.serve_request(request, now);
                let mut response = Response::error(502, "Server Error");
                response.hold = true;
                ("cut-lost-answer", response)
            }
            CutHow::NoAnswer => {
                let mut response = self.serve_request(request, now);
                response.transport = Some(Transport::Reset);
                response.hold = true;
                ("cut-no-answer", response)
            }
            CutHow::Hold => {
                let mut response = self.serve_request(request, now);
                response.hold = true;
                return response;
            }
        };
        response
            .headers
            .push(("date".into(), now.to_rfc2822().replace("+0000", "GMT")));
        self.log.push(LoggedRequest {
            registry: request.path.starts_with("/v2/"),
            ..LoggedRequest::of(request, &response, Some(fault), now)
        });
        response
    }

    fn serve_request(&mut self, request: &Request, now: DateTime<Utc>) -> Response {
        if !request.repeated.is_empty() {
            // What GitHub answers once a proxy has joined the repeated fields into one.
            let response = Response::error(
                400,
                &format!(
                    "Unsupported or malformed header: {}",
                    request.repeated.join("; ")
                ),
            );
            self.log.push(LoggedRequest::of(
                request,
                &response,
                Some("repeated-header"),
                now,
            ));
            return response;
        }
        if let Some(mut response) = self.registry(request) {
            let mut fault = None;
            if request.method == "PUT" && self.pushes_lost < self.faults.lost_pushes {
                // The push was acted on; its answer is lost, every time it is tried
                // (`Faults::lost_pushes`).
                self.pushes_lost += 1;
                fault = Some("lost-answer");
                response = Response::error(502, "Server Error");
            }
            self.log.push(LoggedRequest {
                registry: true,
                ..LoggedRequest::of(request, &response, fault, now)
            });
            return response;
        }
        let token = request.authorization.as_deref().and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("token "))
                .map(str::trim)
        });
        let spec = token.and_then(|t| self.tokens.iter().find(|s| s.token == t).cloned());
        let mut fault = None;
        let key = format!("{} {}?{}", request.method, request.path, request.query);
        let streak = self.streaks.get(&key).copied().unwrap_or(0);
        // Transient faults strike one request at most twice running.
        let lucky = streak >= 2;
        let unknown = (token.is_some() && spec.is_none())
            || (request.authorization.is_some() && token.is_none());
        let mut response = if unknown {
            Response::error(401, "Bad credentials")
        } else {
            match self.limited(request, spec.as_ref(), now, &mut fault, lucky) {
                Some(refused) => refused,
                None => {
                    let caller = match &spec {
                        Some(spec) => Caller::Token(spec),
                        None => Caller::Anonymous,
                    };
                    self.route(request, &caller, now)
                }
            }
        };
        let mutation = request.method == "DELETE" || request.method == "POST";
        if lucky {
            // Enough bad luck for this request: serve it cleanly.
        } else if fault.is_none() && mutation && self.dice.roll(self.faults.lost_answers) {
            // Facts file, "Rate limits": "A DELETE can answer 502 yet have succeeded; its retry
            // then gets 404." The change was made above; only the answer is lost.
            fault = Some("lost-answer");
            response = Response::error(502, "Server Error");
        } else if fault.is_none() && self.dice.roll(self.faults.resets) {
            fault = Some("reset");
            response.transport = Some(Transport::Reset);
        } else if fault.is_none() && self.dice.roll(self.faults.slow) {
            fault = Some("slow");
            response.transport = Some(Transport::Slow(self.faults.slow_ms));
        }
        match fault {
            Some("server-error" | "lost-answer" | "reset" | "slow") => {
                self.streaks.insert(key, streak + 1);
            }
            // Limit answers neither add to nor end a streak of bad luck.
            Some(_) => {}
            None => {
                self.streaks.remove(&key);
            }
        }
        if let Some(spec) = &spec {
            if spec.kind == TokenKind::Classic {
                response
                    .headers
                    .push(("x-oauth-scopes".into(), spec.scopes.join(", ")));
            }
            let omit =
                spec.kind == TokenKind::Installation && self.faults.omit_installation_rate_headers;
            if !omit {
                self.rate_headers(spec, now, &mut response);
            }
        }
        response
            .headers
            .push(("date".into(), now.to_rfc2822().replace("+0000", "GMT")));
        self.log.push(LoggedRequest {
            token_kind: spec.map(|s| s.kind),
            ..LoggedRequest::of(request, &response, fault, now)
        });
        response
    }

    /// GitHub's limits, and the server errors that come before a request is acted on.
    fn limited(
        &mut self,
        request: &Request,
        spec: Option<&TokenSpec>,
        now: DateTime<Utc>,
        fault: &mut Option<&'static str>,
        lucky: bool,
    ) -> Option<Response> {
        if let Some(spec) = spec {
            let limit = self.primary_limit(spec);
            if let Err(reset) = self.primary.charge(&spec.token, limit, now) {
                *fault = Some("primary-limit");
                let mut response = Response::error(
                    403,
                    "API rate limit exceeded for user ID 1. If you reach out to GitHub Support \
                     for help, please include the request ID.",
                );
                response.headers.extend([
                    ("x-ratelimit-limit".into(), limit.to_string()),
                    ("x-ratelimit-remaining".into(), "0".into()),
                    ("x-ratelimit-reset".into(), reset.to_string()),
                ]);
                return Some(response);
            }
        }
        let secondary = |wait: i64, faults: &Faults| {
            let mut response = Response::error(
                if faults.secondary_429 { 429 } else { 403 },
                "You have exceeded a secondary rate limit. Please wait a few minutes before you \
                 try again.",
            );
            if faults.secondary_retry_after {
                let wait = faults
                    .retry_after
                    .clone()
                    .unwrap_or_else(|| wait.to_string());
                response.headers.push(("retry-after".into(), wait));
            }
            response
        };
        if self.in_flight > self.faults.max_concurrent {
            *fault = Some("secondary-limit");
            return Some(secondary(1, &self.faults));
        }
        if let (Some(spacing), true) = (self.faults.min_mutation_spacing_ms, is_mutation(request)) {
            // GitHub asks for a second between mutations; closer ones may meet a secondary
            // limit (facts file, "Rate limits"). Measured between arrivals.
            let arrivals = &self.mutation_arrivals;
            if let [.., before, last] = arrivals.as_slice() {
                if (*last - *before).num_milliseconds() < spacing as i64 {
                    *fault = Some("secondary-limit");
                    return Some(secondary(1, &self.faults));
                }
            }
        }
        if let Some(limit) = self.faults.points_per_minute {
            let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
            let points = if request.method == "GET" { 1 } else { 5 };
            let key = endpoint(&request.method, &segments);
            if let Err(wait) = self.secondary.charge(&key, points, limit, now) {
                *fault = Some("secondary-limit");
                return Some(secondary(wait, &self.faults));
            }
        }
        if !lucky && self.dice.roll(self.faults.server_errors) {
            *fault = Some("server-error");
            let status = if self.dice.roll(0.5) { 502 } else { 503 };
            return Some(Response::error(status, "Server Error"));
        }
        None
    }

    fn primary_limit(&self, spec: &TokenSpec) -> u64 {
        self.faults.primary_limit.unwrap_or(match spec.kind {
            TokenKind::Installation => 1000,
            _ => 5000,
        })
    }

    fn rate_headers(&mut self, spec: &TokenSpec, now: DateTime<Utc>, response: &mut Response) {
        if response
            .headers
            .iter()
            .any(|(n, _)| n == "x-ratelimit-remaining")
        {
            return;
        }
        let limit = self.primary_limit(spec);
        let used = self.primary.used(&spec.token, now);
        let reset = (now.timestamp() / 3600 + 1) * 3600;
        response.headers.extend([
            ("x-ratelimit-limit".into(), limit.to_string()),
            (
                "x-ratelimit-remaining".into(),
                limit.saturating_sub(used).to_string(),
            ),
            ("x-ratelimit-used".into(), used.to_string()),
            ("x-ratelimit-reset".into(), reset.to_string()),
            ("x-ratelimit-resource".into(), "core".into()),
        ]);
    }

    fn route(&mut self, request: &Request, caller: &Caller, now: DateTime<Utc>) -> Response {
        let raw: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
        let Some(segments) = raw
            .iter()
            .map(|s| percent_decode(s))
            .collect::<Option<Vec<String>>>()
        else {
            return Response::error(400, "Malformed path");
        };
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        let query = parse_query(&request.query);
        let method = request.method.as_str();
        match (method, s.as_slice()) {
            ("GET", ["user"]) => self.get_authenticated_user(caller),
            ("GET", ["users", login]) => self.get_account(login, None),
            ("GET", ["orgs", login]) => self.get_account(login, Some(AccountKind::Organization)),
            ("GET", ["rate_limit"]) => self.get_rate_limit(caller, now),
            _ => {
                let (scope, rest) = match self.scope(caller, &s) {
                    Ok(found) => found,
                    Err(response) => return response,
                };
                self.packages_route(method, rest, &query, caller, &scope, now)
            }
        }
    }

    /// The owner a packages path is about, and the rest of the path.
    fn scope<'p>(
        &self,
        caller: &Caller,
        s: &'p [&'p str],
    ) -> Result<(Scope, &'p [&'p str]), Response> {
        let by_login = |login: &str, kind: AccountKind| {
            self.accounts
                .iter()
                .position(|a| a.login.eq_ignore_ascii_case(login) && a.kind == kind)
        };
        let by_id = |id: &str, kind: AccountKind| {
            let id: u64 = id.parse().ok()?;
            self.accounts
                .iter()
                .position(|a| a.id == id && a.kind == kind)
        };
        let (owner, rest) = match s {
            ["orgs", org, rest @ ..] => (by_login(org, AccountKind::Organization), rest),
            ["organizations", id, rest @ ..] => (by_id(id, AccountKind::Organization), rest),
            ["users", user, rest @ ..] => (by_login(user, AccountKind::User), rest),
            ["user", "packages", ..] | ["user", "docker", ..] => {
                let login = match caller {
                    Caller::Anonymous => {
                        return Err(Response::error(401, "Requires authentication"))
                    }
                    Caller::Token(t) if t.kind == TokenKind::Installation => {
                        return Err(Response::error(403, INTEGRATION))
                    }
                    Caller::Token(t) => t.login.clone().unwrap_or_default(),
                };
                (by_login(&login, AccountKind::User), &s[1..])
            }
            ["user", id, rest @ ..] => (by_id(id, AccountKind::User), rest),
            _ => return Err(Response::not_found()),
        };
        let owner = owner.ok_or_else(Response::not_found)?;
        let account = &self.accounts[owner];
        // Facts file, "REST routes": real GitHub's `Link` headers use numeric-id paths
        // (`/organizations/{id}/…`, `/user/{id}/…`), which the client must follow as given.
        let link_prefix = match account.kind {
            AccountKind::Organization => format!("/organizations/{}", account.id),
            AccountKind::User | AccountKind::Bot => format!("/user/{}", account.id),
        };
        let users_route = s.first() == Some(&"users");
        Ok((
            Scope {
                owner,
                link_prefix,
                users_route,
            },
            rest,
        ))
    }

    fn packages_route(
        &mut self,
        method: &str,
        rest: &[&str],
        query: &[(String, String)],
        caller: &Caller,
        scope: &Scope,
        now: DateTime<Utc>,
    ) -> Response {
        let param = |name: &str| {
            query
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let package_type = |s: &str| PackageType::parse(s);
        match (method, rest) {
            ("GET", ["docker", "conflicts"]) => Response::json(200, json!([])),
            ("GET", ["packages"]) => {
                let Some(t) = param("package_type").and_then(package_type) else {
                    return Response::error(422, "Invalid or missing package_type.");
                };
                self.list_packages(caller, scope, t, query)
            }
            (_, ["packages", t, name, tail @ ..]) => {
                let Some(t) = package_type(t) else {
                    return Response::not_found();
                };
                match (method, tail) {
                    ("GET", []) => self.get_package(caller, scope, t, name),
                    ("DELETE", []) => self.delete_package(caller, scope, t, name, now),
                    ("POST", ["restore"]) => self.restore_package(caller, scope, t, name, now),
                    ("GET", ["versions"])
                        if scope.users_route && self.quirks.users_route_ignores_state =>
                    {
                        self.list_versions(caller, scope, t, name, false, query)
                    }
                    ("GET", ["versions"]) => {
                        let deleted = match param("state") {
                            None | Some("active") => false,
                            Some("deleted") => true,
                            Some(_) => {
                                return Response::error(
                                    422,
                                    "Invalid state: must be active or deleted.",
                                )
                            }
                        };
                        self.list_versions(caller, scope, t, name, deleted, query)
                    }
                    ("GET", ["versions", id]) => self.get_version(caller, scope, t, name, id),
                    ("DELETE", ["versions", id]) => {
                        self.delete_version(caller, scope, t, name, id, now)
                    }
                    ("POST", ["versions", id, "restore"]) => {
                        self.restore_version(caller, scope, t, name, id, now)
                    }
                    _ => Response::not_found(),
                }
            }
            _ => Response::not_found(),
        }
    }

    fn get_authenticated_user(&self, caller: &Caller) -> Response {
        match caller {
            Caller::Anonymous => Response::error(401, "Requires authentication"),
            Caller::Token(t) if t.kind == TokenKind::Installation => {
                Response::error(403, INTEGRATION)
            }
            Caller::Token(t) => {
                let login = t.login.clone().unwrap_or_default();
                self.get_account(&login, Some(AccountKind::User))
            }
        }
    }

    fn get_account(&self, login: &str, kind: Option<AccountKind>) -> Response {
        match self
            .accounts
            .iter()
            .find(|a| a.login.eq_ignore_ascii_case(login) && kind.is_none_or(|k| a.kind == k))
        {
            Some(a) => Response::json(200, self.account_json(a)),
            None => Response::not_found(),
        }
    }

    fn account_json(&self, a: &Account) -> Value {
        let kind = match a.kind {
            AccountKind::User => "User",
            AccountKind::Organization => "Organization",
            AccountKind::Bot => "Bot",
        };
        json!({
            "login": a.login,
            "id": a.id,
            "type": kind,
            "url": format!("{}/users/{}", self.base_url, a.login),
            "html_url": format!("https://github.com/{}", a.login),
            "site_admin": false,
        })
    }

    fn get_rate_limit(&self, caller: &Caller, now: DateTime<Utc>) -> Response {
        let (limit, used) = match caller {
            Caller::Anonymous => (60, 0),
            Caller::Token(t) => (self.primary_limit(t), self.primary.used(&t.token, now)),
        };
        let core = json!({
            "limit": limit,
            "used": used,
            "remaining": limit - used.min(limit),
            "reset": (now.timestamp() / 3600 + 1) * 3600,
        });
        Response::json(200, json!({"resources": {"core": core}, "rate": core}))
    }

    /// Whether `caller` may do `access` on `owner`'s package (or package list).
    fn authorize(
        &self,
        caller: &Caller,
        owner: usize,
        package: Option<&PackageSpec>,
        package_type: PackageType,
        access: Access,
    ) -> Result<(), Response> {
        let token = match caller {
            Caller::Anonymous => return Err(Response::error(401, "Requires authentication")),
            Caller::Token(t) => t,
        };
        match token.kind {
            TokenKind::FineGrained => Err(Response::error(403, FINE_GRAINED)),
            TokenKind::Installation => {
                if access == Access::List {
                    // Users report 400 `Invalid argument.` here (facts file, "Tokens").
                    return Err(match self.quirks.installation_list_status {
                        400 => Response::error(400, INVALID_ARGUMENT),
                        status => Response::error(status, INTEGRATION),
                    });
                }
                let repository = token.repository.as_deref().unwrap_or_default();
                let admin = package.is_some_and(|p| {
                    p.repository
                        .iter()
                        .chain(&p.admin_repositories)
                        .any(|r| r.eq_ignore_ascii_case(repository))
                });
                if admin {
                    Ok(())
                } else {
                    Err(Response::package_not_found())
                }
            }
            TokenKind::Classic => {
                let mut needed = vec!["read:packages"];
                match access {
                    Access::Delete => needed.push("delete:packages"),
                    Access::Restore => needed.push("write:packages"),
                    Access::List | Access::Read => {}
                }
                // Only the repository-scoped registries need `repo` (facts file, "Tokens").
                if matches!(package_type, PackageType::Maven | PackageType::Docker) {
                    needed.push("repo");
                }
                let has = |scope: &str| {
                    token
                        .scopes
                        .iter()
                        .any(|s| s == scope || (s == "write:packages" && scope == "read:packages"))
                };
                if let Some(missing) = needed.iter().find(|s| !has(s)) {
                    return Err(Response::error(
                        403,
                        &format!("You need at least {missing} scope or the token to have access to this package."),
                    ));
                }
                let login = token.login.as_deref().unwrap_or_default();
                let account = &self.accounts[owner];
                let is_owner = account.login.eq_ignore_ascii_case(login);
                let is_admin =
                    is_owner || account.admins.iter().any(|a| a.eq_ignore_ascii_case(login));
                let is_member = is_admin
                    || account
                        .members
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case(login));
                let visible =
                    is_member || package.is_some_and(|p| p.visibility == Visibility::Public);
                match access {
                    Access::List => Ok(()),
                    Access::Read if visible => Ok(()),
                    Access::Delete | Access::Restore if is_admin => Ok(()),
                    Access::Delete | Access::Restore if visible => Err(Response::error(
                        403,
                        "You must have admin permissions on this package to change it.",
                    )),
                    _ => Err(Response::package_not_found()),
                }
            }
        }
    }

    /// Index of `owner`'s active (or, for restores, deleted) package.
    fn find_package(
        &self,
        owner: usize,
        t: PackageType,
        name: &str,
        deleted: bool,
    ) -> Option<usize> {
        let login = &self.accounts[owner].login;
        self.packages.iter().position(|p| {
            p.owner.eq_ignore_ascii_case(login)
                && p.package_type == t
                && p.name.eq_ignore_ascii_case(name)
                && p.deleted_at.is_some() == deleted
        })
    }

    /// The package a version route is about, checked for `access`.
    fn package_for(
        &self,
        caller: &Caller,
        scope: &Scope,
        t: PackageType,
        name: &str,
        access: Access,
    ) -> Result<usize, Response> {
        let found = self.find_package(scope.owner, t, name, false);
        self.authorize(
            caller,
            scope.owner,
            found.map(|i| &self.packages[i]),
            t,
            access,
        )?;
        found.ok_or_else(Response::package_not_found)
    }

    fn package_json(&self, p: &PackageSpec) -> Value {
        let owner = self
            .accounts
            .iter()
            .find(|a| a.login.eq_ignore_ascii_case(&p.owner))
            .map(|a| self.account_json(a));
        let created = p.versions.iter().map(|v| v.created_at).min();
        let updated = p
            .versions
            .iter()
            .map(|v| v.updated_at.unwrap_or(v.created_at))
            .max();
        let visibility = match p.visibility {
            Visibility::Public => "public",
            Visibility::Private => "private",
            Visibility::Internal => "internal",
        };
        json!({
            "id": p.id,
            "name": p.name,
            "package_type": p.package_type.as_str(),
            "url": format!("{}/{}/packages/{}/{}", self.base_url, self.owner_path(&p.owner), p.package_type.as_str(), percent_encode(&p.name)),
            "html_url": format!("https://github.com/{}/packages/{}/package/{}", p.owner, p.package_type.as_str(), percent_encode(&p.name)),
            "version_count": p.versions.iter().filter(|v| v.deleted_at.is_none()).count(),
            "visibility": visibility,
            "owner": owner,
            "repository": p.repository.as_ref().map(|r| json!({"full_name": r})),
            "created_at": created,
            "updated_at": updated,
        })
    }

    fn owner_path(&self, login: &str) -> String {
        match self
            .accounts
            .iter()
            .find(|a| a.login.eq_ignore_ascii_case(login))
        {
            Some(a) if a.kind == AccountKind::Organization => format!("orgs/{}", a.login),
            _ => format!("users/{login}"),
        }
    }

    fn version_json(&self, p: &PackageSpec, v: &VersionSpec) -> Value {
        let package_url = format!(
            "{}/{}/packages/{}/{}",
            self.base_url,
            self.owner_path(&p.owner),
            p.package_type.as_str(),
            percent_encode(&p.name)
        );
        let mut metadata = json!({"package_type": p.package_type.as_str()});
        match p.package_type {
            PackageType::Container => metadata["container"] = json!({"tags": v.tags}),
            PackageType::Docker => metadata["docker"] = json!({"tag": v.tags}),
            _ => {}
        }
        let mut body = json!({
            "id": v.id,
            "name": v.name,
            "url": format!("{package_url}/versions/{}", v.id),
            "package_html_url": format!("https://github.com/{}/packages/{}/package/{}", p.owner, p.package_type.as_str(), percent_encode(&p.name)),
            "html_url": format!("https://github.com/{}/packages/{}/{}/{}", p.owner, p.package_type.as_str(), percent_encode(&p.name), v.id),
            "created_at": v.created_at,
            "updated_at": v.updated_at.unwrap_or(v.created_at),
            "metadata": metadata,
        });
        if let Some(at) = v.deleted_at {
            body["deleted_at"] = json!(at);
        }
        body
    }

    /// One page of `items` with GitHub's `Link` header (absent when one page holds all).
    /// One page of `items`, each rendered by `render` (only the page's items are rendered).
    fn paginate<T>(
        &self,
        items: Vec<T>,
        render: impl Fn(&T) -> Value,
        link_path: &str,
        query: &[(String, String)],
        stale_last: bool,
    ) -> Response {
        let number = |name: &str, default: usize| {
            query
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(default)
        };
        let per_page = number("per_page", 30).clamp(1, 100);
        let page = number("page", 1).max(1);
        let pages = items.len().div_ceil(per_page).max(1);
        let body: Vec<Value> = items
            .iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .map(render)
            .collect();
        let mut response = Response::json(200, Value::Array(body));
        if pages > 1 {
            let kept: String = query
                .iter()
                .filter(|(k, _)| k != "page" && k != "per_page")
                .map(|(k, v)| format!("{}={}&", percent_encode(k), percent_encode(v)))
                .collect();
            let base = self.quirks.link_base.as_deref().unwrap_or(&self.base_url);
            let url = |n: usize| format!("<{base}{link_path}?{kept}page={n}&per_page={per_page}>");
            // A stale `last` names a page before the real last one.
            let last = if stale_last {
                (pages - 1).max(1)
            } else {
                pages
            };
            let mut links = Vec::new();
            if page > 1 {
                links.push(format!("{}; rel=\"prev\"", url(page.min(pages + 1) - 1)));
            }
            if page < pages {
                links.push(format!("{}; rel=\"next\"", url(page + 1)));
                links.push(format!("{}; rel=\"last\"", url(last.max(page))));
            }
            if page > 1 {
                links.push(format!("{}; rel=\"first\"", url(1)));
            }
            response.headers.push(("link".into(), links.join(", ")));
        }
        response
    }

    fn list_packages(
        &self,
        caller: &Caller,
        scope: &Scope,
        t: PackageType,
        query: &[(String, String)],
    ) -> Response {
        if let Err(response) = self.authorize(caller, scope.owner, None, t, Access::List) {
            return response;
        }
        let number = |name: &str, default: usize| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(default)
        };
        if number("page", 1).saturating_mul(number("per_page", 30).min(100)) > 10_000 {
            return Response::error(
                400,
                "The value of `per_page` multiplied by `page` cannot be greater than 10000.",
            );
        }
        let visibility = query
            .iter()
            .find(|(k, _)| k == "visibility")
            .map(|(_, v)| v.as_str());
        let login = &self.accounts[scope.owner].login;
        let mut packages: Vec<&PackageSpec> = self
            .packages
            .iter()
            .filter(|p| {
                p.owner.eq_ignore_ascii_case(login) && p.package_type == t && p.deleted_at.is_none()
            })
            .filter(|p| {
                self.authorize(caller, scope.owner, Some(p), t, Access::Read)
                    .is_ok()
            })
            .filter(|p| {
                visibility.is_none_or(|v| {
                    matches!(
                        (v, p.visibility),
                        ("public", Visibility::Public)
                            | ("private", Visibility::Private)
                            | ("internal", Visibility::Internal)
                    )
                })
            })
            .collect();
        packages.sort_by_key(|p| p.id);
        self.paginate(
            packages,
            |p| self.package_json(p),
            &format!("{}/packages", scope.link_prefix),
            query,
            false,
        )
    }

    fn get_package(&self, caller: &Caller, scope: &Scope, t: PackageType, name: &str) -> Response {
        match self.package_for(caller, scope, t, name, Access::Read) {
            Ok(i) => Response::json(200, self.package_json(&self.packages[i])),
            Err(response) => response,
        }
    }

    fn delete_package(
        &mut self,
        caller: &Caller,
        scope: &Scope,
        t: PackageType,
        name: &str,
        now: DateTime<Utc>,
    ) -> Response {
        let i = match self.package_for(caller, scope, t, name, Access::Delete) {
            Ok(i) => i,
            Err(response) => return response,
        };
        let p = &mut self.packages[i];
        let downloads: u64 = p.versions.iter().map(|v| v.downloads).sum();
        if p.visibility == Visibility::Public && downloads > DOWNLOAD_LIMIT_COUNT {
            return Response::error(400, DOWNLOAD_LIMIT);
        }
        p.deleted_at = Some(now);
        Response::no_content()
    }

    fn restore_package(
        &mut self,
        caller: &Caller,
        scope: &Scope,
        t: PackageType,
        name: &str,
        now: DateTime<Utc>,
    ) -> Response {
        let found = self.find_package(scope.owner, t, name, true);
        if let Err(response) = self.authorize(
            caller,
            scope.owner,
            found.map(|i| &self.packages[i]),
            t,
            Access::Restore,
        ) {
            return response;
        }
        let Some(i) = found else {
            return Response::package_not_found();
        };
        if self.find_package(scope.owner, t, name, false).is_some() {
            return Response::error(
                400,
                "Package cannot be restored: a package with the same name exists.",
            );
        }
        let p = &mut self.packages[i];
        if p.deleted_at.is_some_and(|at| now - at > Duration::days(30)) {
            return Response::error(
                400,
                "Package cannot be restored: it was deleted more than 30 days ago.",
            );
        }
        p.deleted_at = None;
        Response::no_content()
    }

    fn list_versions(
        &self,
        caller: &Caller,
        scope: &Scope,
        t: PackageType,
        name: &str,
        deleted: bool,
        query: &[(String, String)],
    ) -> Response {
        let i = match self.package_for(caller, scope, t, name, Access::Read) {
            Ok(i) => i,
            Err(response) => return response,
        };
        let p = &self.packages[i];
        let mut versions: Vec<&VersionSpec> = p
            .versions
            .iter()
            .filter(|v| v.deleted_at.is_some() == deleted)
            .collect();
        // Newest first, as GitHub seems to list; the order is undocumented.
        versions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        let link_path = format!(
            "{}/packages/{}/{}/versions",
            scope.link_prefix,
            t.as_str(),
            percent_encode(&p.name)
        );
        let stale = self.quirks.stale_last_link;
        self.paginate(
            versions,
            |v| self.version_json(p, v),
            &link_path,
            query,
            stale,
        )
    }

    fn version_index(p: &PackageSpec, id: &str, deleted: Option<bool>) -> Option<usize> {
        let id: u64 = id.parse().ok()?;
        p.versions
            .iter()
            .position(|v| v.id == id && deleted.is_none_or(|d| v.deleted_at.is_some() == d))
    }

    fn get_version(
        &self,
        caller: &Caller,
        scope: &Scope,
        t: PackageType,
        name: &str,
        id: &str,
    ) -> Response {
        let i = match self.package_for(caller, scope, t, name, Access::Read) {
            Ok(i) => i,
            Err(response) => return response,
        };
        let p = &self.packages[i];
        // Deleted versions too, unless the quirk hides them.
        let only_active = self.quirks.deleted_version_404.then_some(false);
        match GitHub::version_index(p, id, only_active) {
            Some(v) => Response::json(200, self.version_json(p, &p.versions[v])),
            None => Response::not_found(),
        }
    }

    fn delete_version(
        &mut self,
        caller: &Caller,
        scope: &Scope,
        t: PackageType,
        name: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Response {
        let i = match self.package_for(caller, scope, t, name, Access::Delete) {
            Ok(i) => i,
            Err(response) => return response,
        };
        let p = &mut self.packages[i];
        let Some(v) = GitHub::version_index(p, id, Some(false)) else {
            return Response::not_found();
        };
        if p.visibility == Visibility::Public && p.versions[v].downloads > DOWNLOAD_LIMIT_COUNT {
            return Response::error(400, DOWNLOAD_LIMIT);
        }
        if p.versions.iter().filter(|v| v.deleted_at.is_none()).count() == 1 {
            return Response::error(400, LAST_VERSION);
        }
        p.versions[v].deleted_at = Some(now);
        let digest = p.versions[v].name.clone();
        let standing: Vec<String> = p
            .versions
            .iter()
            .filter(|o| o.deleted_at.is_none())
            .filter(|o| {
                o.manifest.as_ref().is_some_and(|m| {
                    m["manifests"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["digest"] == digest.as_str())
                })
            })
            .map(|o| format!("{} {:?}", o.id, o.tags))
            .collect();
        if !standing.is_empty() {
            let message = format!(
                "version {} ({digest}) deleted while image indexes listing it stood: {}",
                p.versions[v].id,
                standing.join(", ")
            );
            self.violations.push(message);
        }
        Response::no_content()
    }

    fn restore_version(
        &mut self,
        caller: &Caller,
        scope: &Scope,
        t: PackageType,
        name: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Response {
        let i = match self.package_for(caller, scope, t, name, Access::Restore) {
            Ok(i) => i,
            Err(response) => return response,
        };
        let p = &mut self.packages[i];
        let Some(v) = GitHub::version_index(p, id, Some(true)) else {
            let active = GitHub::version_index(p, id, Some(false)).is_some();
            return match self.quirks.restore_active_status {
                status @ (400 | 422) if active => {
                    Response::error(status, "Package version is not deleted.")
                }
                _ => Response::not_found(),
            };
        };
        if p.versions[v]
            .deleted_at
            .is_some_and(|at| now - at > Duration::days(30))
        {
            return Response::error(400, RESTORE_TOO_LATE);
        }
        let name = p.versions[v].name.clone();
        if p.versions
            .iter()
            .any(|o| o.deleted_at.is_none() && o.name == name)
        {
            return Response::error(400, NAME_REUSED);
        }
        p.versions[v].deleted_at = None;
        Response::no_content()
    }
}
