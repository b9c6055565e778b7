//! GitHub's rate limits, and how we stay under them: pacing, waits and retries.
//!
//! Secondary limits (GitHub docs, "Rate limits for the REST API"): at most 100 concurrent
//! requests; at most 900 points per minute per REST endpoint, where a GET costs 1 point and a
//! DELETE or POST 5, so at most 180 mutations a minute. Primary limits: 5,000 requests an hour
//! for a PAT, 1,000 per repository for a GITHUB_TOKEN, reported in `x-ratelimit-*` headers.
//! GitHub Enterprise Server administrators set their own, so every limit here can be
//! overridden (`PACKAGE_JANITOR_*` variables, read by `config`); benchmarks and tests also speed up the clock.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard, Semaphore, SemaphorePermit};
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

/// The pace of mutations by default: one a second, as GitHub asks integrators (SPEC §5).
pub const MUTATIONS_PER_MINUTE: u32 = 60;
/// The most mutations a minute the `mutations-per-minute` input allows: 900 points / 5.
pub const MAX_MUTATIONS_PER_MINUTE: u32 = 180;
/// List pages in flight at once (SPEC §5).
pub const LIST_PAGES_IN_FLIGHT: usize = 4;

/// The limits in force, with the clock's speed.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub points_per_minute: u32,
    /// Reads (GETs) in flight at once; mutations go one at a time whatever this says.
    pub concurrency: usize,
    /// Mutations (DELETE, restore POST) a minute, evenly spaced.
    pub mutations_per_minute: u32,
    /// How long one attempt may wait for its answer, in real time (never scaled).
    pub timeout: Duration,
    /// `max-duration`: no change starts after this much GitHub time since the run began.
    pub max_duration: Option<Duration>,
    /// Waits (pacing, backoff, rate-limit waits) run this many times faster than GitHub's
    /// time (1 in production; tests and benchmarks speed them up).
    pub time_scale: f64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            points_per_minute: POINTS_PER_MINUTE,
            concurrency: 20,
            mutations_per_minute: MUTATIONS_PER_MINUTE,
            timeout: PER_ATTEMPT_TIMEOUT,
            max_duration: None,
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
        let wait = reset.map_or(60, |r| r.saturating_sub(now).max(1) as u64);
        return Some(RateLimit::UntilReset(wait));
    }
    let lower = message.to_ascii_lowercase();
    if status == 429 || lower.contains("rate limit") || lower.contains("abuse") {
        return Some(RateLimit::Secondary);
    }
    None
}

/// Paces requests as GitHub asks integrators to (SPEC §5): mutations one at a time, evenly
/// spaced at `mutations-per-minute`; reads a bounded number at a time; every request under a
/// sliding one-minute window of points (the documented ceiling, never the target); and after a
/// rate-limit answer, nothing goes out until the wait is over, checked at the moment a request
/// is let through, not when it was queued.
///
/// A request counts in the window from its admission, and its minute runs from when its answer
/// came back: GitHub counts it on arrival, somewhere in between, so ageing from the answer
/// keeps our window at least as full as GitHub's whatever the queueing delays.
pub struct Pacer {
    limits: Limits,
    window: std::sync::Mutex<Window>,
    in_flight: Semaphore,
    /// Held by the one mutation in flight; holds when the last one was let through.
    mutation: Mutex<Option<Instant>>,
    /// After a rate-limit answer every request waits, not only the one that met it.
    paused_until: std::sync::Mutex<Option<Instant>>,
    /// The per-minute points we allow ourselves; halved at a secondary-limit answer, since
    /// GitHub's real limit is evidently lower than we were told.
    budget: AtomicU32,
    /// The spacing of mutations is multiplied by this: doubled at each secondary limit.
    slowdown: AtomicU32,
}

#[derive(Default)]
struct Window {
    next_id: u64,
    /// (id, when its answer came back — `None` while in flight, points).
    entries: Vec<(u64, Option<Instant>, u32)>,
}

/// A request's place in the pacer: its minute starts when this is dropped, and a mutation
/// keeps the next one waiting until then.
pub struct Admission<'a> {
    pacer: &'a Pacer,
    id: u64,
    _permit: Option<SemaphorePermit<'a>>,
    _mutation: Option<MutexGuard<'a, Option<Instant>>>,
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
            mutation: Mutex::new(None),
            paused_until: std::sync::Mutex::new(None),
            budget: AtomicU32::new(budget.max(MUTATION_POINTS)),
            slowdown: AtomicU32::new(1),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The time between the starts of two mutations, in real time.
    pub fn mutation_interval(&self) -> Duration {
        let per_minute = self
            .limits
            .mutations_per_minute
            .clamp(1, MAX_MUTATIONS_PER_MINUTE);
        let slowdown = self.slowdown.load(Ordering::Relaxed).max(1);
        self.limits
            .real(Duration::from_secs(60) / per_minute)
            .saturating_mul(slowdown)
    }

    /// Mutations a minute at the pace now in force (halved after each secondary limit).
    pub fn mutations_per_minute(&self) -> f64 {
        f64::from(
            self.limits
                .mutations_per_minute
                .clamp(1, MAX_MUTATIONS_PER_MINUTE),
        ) / f64::from(self.slowdown.load(Ordering::Relaxed).max(1))
    }

    /// A rate-limit answer: hold every request for `wait` (GitHub time); for a secondary
    /// limit, also halve the pace for the rest of the run, once per pause.
    pub fn back_off(&self, wait: Duration, secondary: bool) {
        let now = Instant::now();
        let until = now
            .checked_add(self.limits.real(wait))
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        let Ok(mut paused) = self.paused_until.lock() else {
            return;
        };
        let already = paused.is_some_and(|p| p > now);
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
        if secondary && !already {
            let _ = self
                .budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                    Some((b / 2).max(MUTATION_POINTS))
                });
            let _ = self
                .slowdown
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                    Some(s.saturating_mul(2).min(1024))
                });
        }
    }

    fn paused(&self) -> Option<Instant> {
        let paused = self.paused_until.lock().ok().and_then(|p| *p);
        paused.filter(|until| *until > Instant::now())
    }

    /// Wait until a request costing `points` may go out: no pause in force, its mutation turn
    /// come (one at a time, spaced), a place in flight free (reads), and room in the window.
    /// `None` when the run was cancelled meanwhile: the request is not sent.
    pub async fn admit(&self, points: u32, mutation: bool) -> Option<Admission<'_>> {
        let mut turn = if mutation {
            Some(self.mutation.lock().await)
        } else {
            None
        };
        let permit = if mutation {
            None
        } else {
            self.in_flight.acquire().await.ok()
        };
        let minute = self.limits.real(Duration::from_secs(60));
        loop {
            if crate::signals::stop_requests() {
                return None;
            }
            if let Some(until) = self.paused() {
                crate::signals::sleep_until(until).await;
                continue;
            }
            if let Some(Some(last)) = turn.as_deref() {
                let next = *last + self.mutation_interval();
                if next > Instant::now() {
                    crate::signals::sleep_until(next).await;
                    // A pause may have begun meanwhile: look again before going out.
                    continue;
                }
            }
            let budget = self.budget.load(Ordering::Relaxed);
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
                        if let Some(turn) = turn.as_deref_mut() {
                            *turn = Some(now);
                        }
                        return Some(Admission {
                            pacer: self,
                            id,
                            _permit: permit,
                            _mutation: turn,
                        });
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
            crate::signals::sleep_until(Instant::now() + wait.max(Duration::from_millis(1))).await;
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
    fn one_attempt_waits_at_most_30_seconds_by_default() {
        assert_eq!(Limits::default().timeout, Duration::from_secs(30));
        assert_eq!(Limits::default().mutations_per_minute, 60);
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
        // 98 points a minute: 98 reads at once, the 99th a minute after the first answer.
        for _ in 0..98 {
            drop(pacer.admit(1, false).await.unwrap());
        }
        assert!(start.elapsed() < Duration::from_secs(1));
        drop(pacer.admit(1, false).await.unwrap());
        assert!(
            start.elapsed() >= Duration::from_secs(60),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn mutations_go_one_at_a_time_evenly_spaced_and_slow_down_after_a_limit() {
        let pacer = Pacer::new(Limits {
            mutations_per_minute: 120,
            ..Limits::default()
        });
        let start = tokio::time::Instant::now();
        let mut starts = Vec::new();
        for _ in 0..4 {
            drop(pacer.admit(MUTATION_POINTS, true).await.unwrap());
            starts.push(start.elapsed());
        }
        let spacing: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            spacing.iter().all(|s| *s == Duration::from_millis(500)),
            "{spacing:?}"
        );

        // A second mutation waits for the first one's answer, however long it takes.
        let first = pacer.admit(MUTATION_POINTS, true).await.unwrap();
        let waiting = pacer.admit(MUTATION_POINTS, true);
        tokio::pin!(waiting);
        assert!(tokio::time::timeout(Duration::from_secs(5), &mut waiting)
            .await
            .is_err());
        drop(first);
        drop(waiting.await.unwrap());

        // A secondary limit: a pause for everything, then half the pace.
        pacer.back_off(Duration::from_secs(30), true);
        let paused_at = tokio::time::Instant::now();
        drop(pacer.admit(1, false).await.unwrap());
        assert!(paused_at.elapsed() >= Duration::from_secs(30));
        assert_eq!(pacer.mutation_interval(), Duration::from_secs(1));
        assert_eq!(pacer.mutations_per_minute(), 60.0);
    }
}
