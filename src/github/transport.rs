//! Transport: one request out and its answer back, paced, bounded in time, retried or waited
//! out; the pure [`next_step`] decides what follows each answer.
//!
//! octocrab has no typed packages API, its typed errors drop headers and its `delete::<()>`
//! fails on a 204, so requests are built here — each header field once — and sent through
//! octocrab's `execute`; status, headers and JSON are handled here. octocrab is built without
//! its `retry` feature: retries belong to us, not to a layer that also repeats DELETEs.

use super::{Budget, GitHub};
use crate::limits::{
    backoff, rate_limit, RateLimit, GET_POINTS, MAX_ATTEMPTS, MAX_RATE_LIMIT_WAITS, MUTATION_POINTS,
};
use crate::workflow::say;
use anyhow::{anyhow, Context, Result};
use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;
use std::fmt;
use std::sync::atomic::Ordering;
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
    /// The primary budget is down to its last request: a retry would meet the limit (or
    /// leave nothing to read back what a failed attempt did).
    BudgetSpent { resets_at: String },
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
            Stopped::BudgetSpent { resets_at } => write!(
                f,
                "GitHub's primary rate-limit budget is spent until {resets_at}, so no retry may go"
            ),
        }
    }
}

impl std::error::Error for Stopped {}

/// An attempt of a change went on the wire and may have taken effect (a 5xx, or no answer),
/// and no further attempt may go (`stop`: time, cancel, a too-long rate-limit wait) or every
/// attempt failed (`stop` is `None`). What happened is learnt by reading, never guessed
/// (SPEC §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsettled {
    /// `DELETE https://…/versions/1`.
    pub request: String,
    /// What the last attempt heard.
    pub last: String,
    pub stop: Option<Stopped>,
}

impl fmt::Display for Unsettled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.request, self.last)?;
        if let Some(stop) = &self.stop {
            write!(f, ", and no retry was allowed: {stop}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Unsettled {}

/// The REST API version every request asks for.
const API_VERSION: &str = "2022-11-28";

/// One answer: status, headers, body, and whether an attempt before it failed in a way that
/// may have taken effect (a 5xx or a transport failure, not a rate-limit answer).
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
    pub(super) after_failure: bool,
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

    pub(super) fn error(&self) -> ApiError {
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

    pub(super) fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body).with_context(|| format!("unexpected JSON in {what}"))
    }
}

impl GitHub {
    /// Send one request, paced; retry server errors and transport failures with backoff, and
    /// wait out rate-limit answers as GitHub documents: `retry-after`, else the reset when
    /// the budget is spent, else at least a minute, backing off. What to do after each answer
    /// is [`next_step`]'s decision.
    pub(super) async fn send(&self, method: http::Method, path_and_query: &str) -> Result<Answer> {
        let mutation = method != http::Method::GET;
        let points = if mutation {
            MUTATION_POINTS
        } else {
            GET_POINTS
        };
        let request = format!("{method} {}{path_and_query}", self.origin());
        let (mut failures, mut waits) = (0, 0);
        // What the last attempt that may have taken effect heard.
        let mut last_failure = String::new();
        // A mutation sent before may have taken effect: it is not simply "not sent".
        let stop = |stop: Stopped, failures: u32, last: &str| -> anyhow::Error {
            if mutation && failures > 0 {
                Unsettled {
                    request: request.clone(),
                    last: last.to_string(),
                    stop: Some(stop),
                }
                .into()
            } else {
                stop.into()
            }
        };
        loop {
            // Held until this attempt's answer is dealt with: a mutation's successor waits
            // for it, and a rate-limit answer pauses the pacer before anything else goes out.
            let Some(admission) = self.pacer.admit(points, mutation).await else {
                return Err(stop(Stopped::Cancelled, failures, &last_failure));
            };
            // At the moment of sending: a too-long wait met meanwhile stops this one too, and
            // no change starts past `max-duration`, however long it waited for its turn (a
            // started change being finished goes on: `signals::Shield`).
            if let Some(stopped) = self.stopped() {
                return Err(stop(stopped, failures, &last_failure));
            }
            if mutation && self.out_of_time() && !crate::signals::shielded() {
                return Err(stop(Stopped::OutOfTime, failures, &last_failure));
            }
            let result = self.attempt(&method, path_and_query).await;
            let heard = Heard::of(&result);
            let step = next_step(&heard, failures, waits, self.max_wait());
            match step {
                Step::Retry { after } => {
                    failures += 1;
                    last_failure = describe(&result);
                    // A retry spends the primary budget too: down to its last request, it
                    // may not go (that request reads back what a failed change did), and
                    // the limit is never met (SPEC §5).
                    if let Some(stopped) = self.budget_spent(&result) {
                        return Err(stop(stopped, failures, &last_failure));
                    }
                    drop(admission);
                    self.back_off(&request, &last_failure, failures, after)
                        .await;
                }
                Step::Wait { wait, secondary } => {
                    waits += 1;
                    self.rate_limited(&request, &heard, wait, false);
                    self.pacer.back_off(wait, secondary);
                }
                Step::Stop { wait } => {
                    self.rate_limited(&request, &heard, wait, true);
                    let stopped = self.stop(wait);
                    return Err(stop(stopped, failures, &last_failure));
                }
                Step::Return => {
                    let sent = Sent {
                        request,
                        label: format!("{method} {path_and_query}"),
                        mutation,
                        failures,
                        waits,
                    };
                    return self.returned(sent, &heard, result);
                }
            }
        }
    }

    /// The wait before a retry, said; a cancellation ends it at once (SPEC §6).
    async fn back_off(&self, request: &str, failure: &str, failures: u32, after: Duration) {
        let after = jitter(after);
        say(&format!(
            "{request}: {failure}; retrying in {}s (attempt {} of {MAX_ATTEMPTS})",
            after.as_secs(),
            failures + 1
        ));
        let real = self.pacer.limits().real(after);
        crate::signals::sleep_until(tokio::time::Instant::now() + real).await;
    }

    /// A rate-limit answer, counted and said: waited out, or (`stops`) longer than the run
    /// may take.
    fn rate_limited(&self, request: &str, heard: &Heard, wait: Duration, stops: bool) {
        self.limit_answers.fetch_add(1, Ordering::Relaxed);
        say(&match stops {
            false => format!(
                "Rate limited ({}) on {request}: waiting {}s",
                heard.limit(),
                wait.as_secs()
            ),
            true => format!(
                "Rate limited ({}) on {request}: the wait of {}s is longer than this run may \
                 take; no further request is sent",
                heard.limit(),
                wait.as_secs()
            ),
        });
    }

    /// A retry spends the primary budget too: down to its last request, it may not go (that
    /// request reads back what a failed change did), and the limit is never met (SPEC §5).
    fn budget_spent(&self, result: &Result<Answer>) -> Option<Stopped> {
        let told = match result {
            Ok(answer) => self.note_budget(&answer.headers),
            Err(_) => false,
        };
        if !told {
            // No word on the budget (a reset connection, a proxy's 502): the attempt reached
            // GitHub, may be counted all the same, and is counted here (simulation seed 8973).
            if let Ok(mut budget) = self.budget.lock() {
                if let Some(budget) = budget.as_mut() {
                    budget.remaining = budget.remaining.saturating_sub(1);
                }
            }
        }
        let budget = self
            .budget
            .lock()
            .ok()
            .and_then(|b| *b)
            .filter(|b| b.remaining <= 1)?;
        Some(Stopped::BudgetSpent {
            resets_at: budget.resets_at(),
        })
    }

    /// The last attempt's result, as the request's: a mutation none of whose attempts was
    /// answered is unsettled (each may have taken effect); an error names the host and the
    /// request; an answer notes the budget it reports.
    fn returned(&self, sent: Sent, heard: &Heard, result: Result<Answer>) -> Result<Answer> {
        let Sent {
            request,
            label,
            mutation,
            failures,
            waits,
        } = sent;
        if mutation && matches!(heard, Heard::Nothing | Heard::ServerError(_)) {
            return Err(Unsettled {
                request,
                last: format!("{} ({} attempts)", describe(&result), failures + 1),
                stop: None,
            }
            .into());
        }
        let mut answer = result.map_err(|error| {
            error.context(format!("{request}: {} attempts failed", failures + 1))
        })?;
        crate::workflow::debug(&format!(
            "{label} -> {} (attempt {})",
            answer.status.as_u16(),
            failures + waits + 1
        ));
        answer.after_failure = failures > 0;
        let _ = self.note_budget(&answer.headers);
        Ok(answer)
    }

    /// One attempt, bounded in real time (never scaled: a busy machine must not turn a normal
    /// answer into a timeout in a test that speeds up the waits). The whole request is bounded
    /// here, since octocrab's read timeout also fires on idle pooled connections.
    async fn attempt(&self, method: &http::Method, path_and_query: &str) -> Result<Answer> {
        let timeout = self.pacer.limits().timeout;
        match tokio::time::timeout(timeout, self.send_once(method, path_and_query)).await {
            Ok(result) => result,
            Err(_) => Err(anyhow!("no answer within {}s", timeout.as_secs())),
        }
    }

    /// Stop every request from now on: a rate-limit wait longer than the run may take.
    fn stop(&self, wait: Duration) -> Stopped {
        let resets_at = chrono::TimeDelta::from_std(wait)
            .ok()
            .and_then(|d| Utc::now().checked_add_signed(d))
            .map(super::minute)
            .unwrap_or_else(|| format!("{}s", wait.as_secs()));
        let stop = Stopped::RateLimited {
            wait_secs: wait.as_secs(),
            resets_at,
        };
        if let Ok(mut stopped) = self.stopped.lock() {
            stopped.get_or_insert(stop.clone());
        }
        stop
    }

    /// Why no further request may be sent, once a rate-limit wait was too long.
    pub(super) fn stopped(&self) -> Option<Stopped> {
        self.stopped.lock().ok().and_then(|s| s.clone())
    }

    /// `scheme://host[:port]` of the API, for messages.
    pub(super) fn origin(&self) -> String {
        match (self.base.scheme_str(), self.base.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
            _ => String::new(),
        }
    }

    /// Remember the primary budget an answer reports; whether it reported one.
    fn note_budget(&self, headers: &HeaderMap) -> bool {
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
            return true;
        }
        false
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
}

/// What one attempt heard back, as far as the next step depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// No answer: a transport failure or a timeout (it may have taken effect).
    Nothing,
    /// A server error (it may have taken effect).
    ServerError(u16),
    /// A rate-limit answer.
    Limited(RateLimit),
    /// Any other answer, success or not: the caller's to read.
    Answer(u16),
}

impl Heard {
    /// The rate limit heard, for the log: `RetryAfter(30)`.
    fn limit(&self) -> String {
        match self {
            Heard::Limited(limit) => format!("{limit:?}"),
            other => format!("{other:?}"),
        }
    }

    fn of(result: &Result<Answer>) -> Heard {
        match result {
            Err(_) => Heard::Nothing,
            Ok(answer) if answer.status.is_server_error() => {
                Heard::ServerError(answer.status.as_u16())
            }
            Ok(answer) => match answer.rate_limit() {
                Some(limit) => Heard::Limited(limit),
                None => Heard::Answer(answer.status.as_u16()),
            },
        }
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send again after this backoff (before jitter).
    Retry { after: Duration },
    /// Pause every request for `wait`, then send again; a secondary limit halves the pace.
    Wait { wait: Duration, secondary: bool },
    /// The wait asked for is longer than the run may take: send nothing more.
    Stop { wait: Duration },
    /// Hand the answer (or the last failure) to the caller.
    Return,
}

/// Retry, wait or return, from what was heard, the failures and rate-limit waits so far, and
/// the longest wait the run may still sit through (SPEC §5).
pub fn next_step(heard: &Heard, failures: u32, waits: u32, max_wait: Duration) -> Step {
    match heard {
        Heard::Nothing | Heard::ServerError(_) if failures + 1 < MAX_ATTEMPTS => Step::Retry {
            after: backoff_base(failures + 1),
        },
        Heard::Limited(limit) if waits < MAX_RATE_LIMIT_WAITS => {
            let wait = match limit {
                RateLimit::RetryAfter(s) => Duration::from_secs(*s),
                RateLimit::UntilReset(s) => Duration::from_secs(s.saturating_add(1)),
                RateLimit::Secondary => Duration::from_secs(60).saturating_mul(1 << waits.min(10)),
            };
            if wait > max_wait {
                Step::Stop { wait }
            } else {
                Step::Wait {
                    wait,
                    secondary: !matches!(limit, RateLimit::UntilReset(_)),
                }
            }
        }
        _ => Step::Return,
    }
}

/// The `n`th retry's backoff before jitter: 1 s, 2 s, 4 s, …
fn backoff_base(n: u32) -> Duration {
    Duration::from_secs(1).saturating_mul(1 << n.saturating_sub(1).min(10))
}

/// Up to 25% more, so retries of many requests do not line up.
fn jitter(base: Duration) -> Duration {
    backoff(base, 1)
}

/// A failed attempt in words, for the retry line.
fn describe(result: &Result<Answer>) -> String {
    match result {
        Err(error) => format!("failed ({error:#})"),
        Ok(answer) => format!("HTTP {}", answer.status.as_u16()),
    }
}

/// What a request was, and what its attempts came to, for [`GitHub::returned`].
struct Sent {
    /// `METHOD origin/path`, for messages.
    request: String,
    /// `METHOD /path`, for debug lines.
    label: String,
    mutation: bool,
    failures: u32,
    waits: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn failures_are_retried_with_doubling_backoff_up_to_five_attempts() {
        assert_eq!(
            next_step(&Heard::Nothing, 0, 0, HOUR),
            Step::Retry {
                after: Duration::from_secs(1)
            }
        );
        assert_eq!(
            next_step(&Heard::ServerError(502), 3, 0, HOUR),
            Step::Retry {
                after: Duration::from_secs(8)
            }
        );
        // The fifth failure is the last.
        assert_eq!(next_step(&Heard::Nothing, 4, 0, HOUR), Step::Return);
        assert_eq!(next_step(&Heard::Answer(404), 0, 0, HOUR), Step::Return);
        assert_eq!(next_step(&Heard::Answer(204), 2, 3, HOUR), Step::Return);
    }

    #[test]
    fn rate_limits_are_waited_out_as_documented_or_end_the_run() {
        assert_eq!(
            next_step(&Heard::Limited(RateLimit::RetryAfter(30)), 0, 0, HOUR),
            Step::Wait {
                wait: Duration::from_secs(30),
                secondary: true
            }
        );
        assert_eq!(
            next_step(&Heard::Limited(RateLimit::UntilReset(99)), 0, 0, HOUR),
            Step::Wait {
                wait: Duration::from_secs(100),
                secondary: false
            }
        );
        // No advice: a minute, doubling.
        assert_eq!(
            next_step(&Heard::Limited(RateLimit::Secondary), 0, 2, HOUR),
            Step::Wait {
                wait: Duration::from_secs(240),
                secondary: true
            }
        );
        // Longer than the run may take, however huge.
        assert_eq!(
            next_step(&Heard::Limited(RateLimit::RetryAfter(u64::MAX)), 0, 0, HOUR),
            Step::Stop {
                wait: Duration::from_secs(u64::MAX)
            }
        );
        assert_eq!(
            next_step(
                &Heard::Limited(RateLimit::RetryAfter(120)),
                0,
                0,
                Duration::from_secs(60)
            ),
            Step::Stop {
                wait: Duration::from_secs(120)
            }
        );
        // Past the most waits for one request, the answer goes back to the caller.
        assert_eq!(
            next_step(
                &Heard::Limited(RateLimit::Secondary),
                0,
                MAX_RATE_LIMIT_WAITS,
                HOUR
            ),
            Step::Return
        );
    }
}
