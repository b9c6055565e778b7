//! GitHub's rate limits, and how we stay under them: pacing, waits and retries.
//!
//! Secondary limits (GitHub docs, "Rate limits for the REST API"): at most 100 concurrent
//! requests; at most 900 points per minute per REST endpoint, where a GET costs 1 point and a
//! DELETE or POST 5, so at most 180 mutations a minute. Primary limits: 5,000 requests an hour
//! for a PAT, 1,000 per repository for a GITHUB_TOKEN, reported in `x-ratelimit-*` headers.
//! GitHub Enterprise Server administrators set their own, so every limit here can be
//! overridden (`PACKAGE_JANITOR_*` variables, read by `config`); benchmarks and tests also speed up the clock.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// Points GitHub allows per endpoint per minute.
pub const POINTS_PER_MINUTE: u32 = 900;
/// Points a DELETE or POST costs.
pub const MUTATION_POINTS: u32 = 5;
/// Points a GET costs.
pub const GET_POINTS: u32 = 1;
/// GitHub's cap on concurrent requests.
pub const MAX_CONCURRENT: usize = 100;
/// We keep this share of each per-minute budget, so clock skew never tips us over.
const SAFETY: f64 = 0.98;
/// Requests kept back from the primary budget for what a run may still need.
pub const BUDGET_RESERVE: u64 = 10;
/// The longest one attempt may wait for its answer (SPEC §5: at most 30 s).
pub const PER_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts for one request that meets a server error or a transport failure.
pub const MAX_ATTEMPTS: u32 = 5;
/// Rate-limit waits for one request before it is given up.
pub const MAX_RATE_LIMIT_WAITS: u32 = 8;

/// The limits in force, with the clock's speed.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub points_per_minute: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// How long one request may take.
    pub timeout: Duration,
    /// Real time runs this many times faster than GitHub's (1 in production).
    pub time_scale: f64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            points_per_minute: POINTS_PER_MINUTE,
            concurrency: 20,
            timeout: PER_ATTEMPT_TIMEOUT,
            time_scale: 1.0,
        }
    }
}

impl Limits {
    /// GitHub time → real time.
    pub fn real(&self, github: Duration) -> Duration {
        // Saturating: a wait from outside (`retry-after`) can be any size.
        Duration::try_from_secs_f64(github.as_secs_f64() / self.time_scale.max(1e-9))
            .unwrap_or(Duration::MAX)
    }

    pub async fn sleep(&self, github: Duration) {
        tokio::time::sleep(self.real(github)).await;
    }
}

/// A fresh random number from the standard library's per-process random keys.
pub fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// Exponential backoff for attempt `n` (1-based) from `base`, with up to 25% jitter.
pub fn backoff(base: Duration, n: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << n.saturating_sub(1).min(10));
    let jitter = (random_u64() % 1000) as f64 / 4000.0;
    exp.mul_f64(1.0 + jitter)
}

/// What a non-success answer says about rate limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateLimit {
    /// `retry-after` seconds.
    RetryAfter(u64),
    /// The primary budget is spent; wait this long, until its reset.
    UntilReset(u64),
    /// A secondary limit without advice: wait at least a minute, backing off.
    Secondary,
}

/// Tell a rate-limit answer from other 403s and 429s by its headers and message.
pub fn rate_limit(
    status: u16,
    retry_after: Option<&str>,
    remaining: Option<&str>,
    reset: Option<&str>,
    server_now: Option<i64>,
    message: &str,
) -> Option<RateLimit> {
    if status != 403 && status != 429 {
        return None;
    }
    if let Some(seconds) = retry_after.and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(RateLimit::RetryAfter(seconds));
    }
    if remaining.map(str::trim) == Some("0") {
        let reset = reset.and_then(|r| r.trim().parse::<i64>().ok());
        let now = server_now.unwrap_or_else(|| chrono::Utc::now().timestamp());
        let wait = reset.map_or(60, |r| (r - now).max(1) as u64);
        return Some(RateLimit::UntilReset(wait));
    }
    let lower = message.to_ascii_lowercase();
    if status == 429 || lower.contains("rate limit") || lower.contains("abuse") {
        return Some(RateLimit::Secondary);
    }
    None
}

/// Paces requests under GitHub's secondary limits: a sliding one-minute window of points, and
/// a cap on requests in flight.
///
/// A request counts in the window from its admission, and its minute runs from when its answer
/// came back: GitHub counts it on arrival, somewhere in between, so ageing from the answer
/// keeps our window at least as full as GitHub's whatever the queueing delays.
pub struct Pacer {
    limits: Limits,
    window: std::sync::Mutex<Window>,
    in_flight: Semaphore,
    /// After a rate-limit answer every request waits, not only the one that met it.
    paused_until: Mutex<Option<Instant>>,
    /// The per-minute points we allow ourselves; halved at a secondary-limit answer, since
    /// GitHub's real limit is evidently lower than we were told.
    budget: std::sync::atomic::AtomicU32,
}

#[derive(Default)]
struct Window {
    next_id: u64,
    /// (id, when its answer came back — `None` while in flight, points).
    entries: Vec<(u64, Option<Instant>, u32)>,
}

/// A request's place in the pacer; its minute starts when this is dropped.
pub struct Admission<'a> {
    pacer: &'a Pacer,
    id: u64,
    _permit: Option<SemaphorePermit<'a>>,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if let Ok(mut window) = self.pacer.window.lock() {
            let now = Instant::now();
            if let Some(entry) = window.entries.iter_mut().find(|e| e.0 == self.id) {
                entry.1 = Some(now);
            }
        }
    }
}

impl Pacer {
    pub fn new(limits: Limits) -> Pacer {
        let concurrency = limits.concurrency.clamp(1, MAX_CONCURRENT);
        let budget = (f64::from(limits.points_per_minute) * SAFETY) as u32;
        Pacer {
            limits,
            window: std::sync::Mutex::new(Window::default()),
            in_flight: Semaphore::new(concurrency),
            paused_until: Mutex::new(None),
            budget: std::sync::atomic::AtomicU32::new(budget.max(MUTATION_POINTS)),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A rate-limit answer: hold every request for `wait` (GitHub time); for a secondary
    /// limit, also halve the pace, once per pause.
    pub async fn back_off(&self, wait: Duration, secondary: bool) {
        let now = Instant::now();
        let until = now
            .checked_add(self.limits.real(wait))
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        let mut paused = self.paused_until.lock().await;
        let already = paused.is_some_and(|p| p > now);
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
        if secondary && !already {
            use std::sync::atomic::Ordering;
            let _ = self
                .budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                    Some((b / 2).max(MUTATION_POINTS))
                });
        }
    }

    /// Wait until a request costing `points` fits the window, and a place in flight is free.
    pub async fn admit(&self, points: u32) -> Admission<'_> {
        let permit = self.in_flight.acquire().await.ok();
        let minute = self.limits.real(Duration::from_secs(60));
        loop {
            let paused = *self.paused_until.lock().await;
            if let Some(until) = paused.filter(|u| *u > Instant::now()) {
                tokio::time::sleep_until(until).await;
                continue;
            }
            let budget = self.budget.load(std::sync::atomic::Ordering::Relaxed);
            let wait = match self.window.lock() {
                Ok(mut window) => {
                    let now = Instant::now();
                    window
                        .entries
                        .retain(|(_, at, _)| at.is_none_or(|t| now.duration_since(t) < minute));
                    let used: u32 = window.entries.iter().map(|e| e.2).sum();
                    if used + points <= budget.max(points) {
                        let id = window.next_id;
                        window.next_id += 1;
                        window.entries.push((id, None, points));
                        return Admission {
                            pacer: self,
                            id,
                            _permit: permit,
                        };
                    }
                    // Wait until enough answered requests have aged out (or a minute).
                    let mut answered: Vec<(Instant, u32)> = window
                        .entries
                        .iter()
                        .filter_map(|(_, at, p)| at.map(|t| (t, *p)))
                        .collect();
                    answered.sort_by_key(|(t, _)| *t);
                    let mut freed = 0;
                    let mut until = now + minute;
                    for (t, p) in answered {
                        freed += p;
                        if used.saturating_sub(freed) + points <= budget {
                            until = t + minute;
                            break;
                        }
                    }
                    until.saturating_duration_since(now)
                }
                Err(_) => minute,
            };
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_answers_are_told_from_permission_403s() {
        assert_eq!(
            rate_limit(403, Some("30"), None, None, None, "whatever"),
            Some(RateLimit::RetryAfter(30))
        );
        assert_eq!(
            rate_limit(
                403,
                None,
                Some("0"),
                Some("1100"),
                Some(1000),
                "API rate limit exceeded"
            ),
            Some(RateLimit::UntilReset(100))
        );
        assert_eq!(
            rate_limit(429, None, Some("12"), None, None, ""),
            Some(RateLimit::Secondary)
        );
        assert_eq!(
            rate_limit(
                403,
                None,
                Some("4000"),
                None,
                None,
                "You have exceeded a secondary rate limit."
            ),
            Some(RateLimit::Secondary)
        );
        assert_eq!(
            rate_limit(
                403,
                None,
                Some("4000"),
                None,
                None,
                "Resource not accessible by integration"
            ),
            None
        );
        assert_eq!(rate_limit(404, Some("1"), None, None, None, ""), None);
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let b = Duration::from_secs(1);
        let third = backoff(b, 3);
        assert!(
            third >= Duration::from_secs(4) && third <= Duration::from_secs(5),
            "{third:?}"
        );
        assert!(backoff(b, 40) <= Duration::from_secs(1280));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn the_pacer_keeps_a_minute_under_the_points_budget() {
        let pacer = Pacer::new(Limits {
            points_per_minute: 100,
            ..Limits::default()
        });
        let start = tokio::time::Instant::now();
        // 98 points a minute at 5 points each: 19 mutations at once, the 20th a minute later.
        for _ in 0..19 {
            drop(pacer.admit(5).await);
        }
        // Each request's minute runs from its answer: the 20th waits for the first.
        assert!(start.elapsed() < Duration::from_secs(1));
        drop(pacer.admit(5).await);
        assert!(
            start.elapsed() >= Duration::from_secs(60),
            "{:?}",
            start.elapsed()
        );
    }
}
