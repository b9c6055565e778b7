//! GitHub's limits and the faults of a real network, for the emulator: a seeded plan of
//! faults, the secondary limiter (points per endpoint per minute, concurrency), the primary
//! budget, and a clock that can run faster than real time.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// What the emulator does beyond answering: latency, limits and faults. All off by default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Real milliseconds added to every answer.
    pub latency_ms: u64,
    /// Emulated time runs this many times faster than real time (windows, resets,
    /// `retry-after`); the binary is told the same through `PACKAGE_JANITOR_TIME_SCALE`.
    pub time_scale: f64,
    /// Enforce GitHub's secondary limit: points per endpoint per minute (GET 1, DELETE/POST 5).
    pub points_per_minute: Option<u32>,
    /// Answer secondary limits with 429 instead of 403.
    pub secondary_429: bool,
    /// Send `retry-after` with secondary-limit answers.
    pub secondary_retry_after: bool,
    /// The `retry-after` value to send instead of the real wait (any text: a huge number).
    pub retry_after: Option<String>,
    /// Requests in flight at once before a secondary-limit answer.
    pub max_concurrent: usize,
    /// Answer a secondary limit to a mutation that arrives closer than this many emulated
    /// milliseconds after the one before.
    pub min_mutation_spacing_ms: Option<u64>,
    /// Override the primary budget per token per hour (PAT 5,000; GITHUB_TOKEN 1,000).
    pub primary_limit: Option<u64>,
    /// Leave the `x-ratelimit-*` headers off installation-token answers (GitHub sometimes does).
    pub omit_installation_rate_headers: bool,
    /// Seed of the fault dice.
    pub seed: u64,
    /// Chance of a 502/503 before the request is acted on.
    pub server_errors: f64,
    /// Chance that a DELETE/POST is acted on and then answered 502.
    pub lost_answers: f64,
    /// Chance that the connection is reset after the request was acted on.
    pub resets: f64,
    /// Chance that the answer comes after `slow_ms` real milliseconds.
    pub slow: f64,
    pub slow_ms: u64,
    /// Cut the run at one mutation (REST DELETE or POST, registry PUT), for the
    /// cut-anywhere tests.
    pub cut: Option<Cut>,
    /// The first N registry `PUT`s are acted on and answered 502 (every answer of a push
    /// lost, retries included), for the settling of a push.
    pub lost_pushes: usize,
    /// Listing pages after the first wait (up to 20 real seconds) until the registry has
    /// served a manifest: a client that reads manifests only once its listing is whole shows
    /// it in the log's order, whatever the machine's speed (issue 26).
    pub hold_pages_until_manifest_read: bool,
}

/// Where and how a run is cut: at the `at`-th mutation (1-based) the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cut {
    pub at: usize,
    pub how: CutHow,
}

/// The ways a run is cut at one mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CutHow {
    /// Refused with 400, not acted on (a refusal such as the download limit).
    Refuse,
    /// Acted on, answered 502 once the test releases it (it may signal the process first,
    /// so that no retry is allowed and the client must read back what happened).
    LostAnswer,
    /// Acted on, the connection dropped (no answer) once the test releases it.
    NoAnswer,
    /// Acted on, and the answer held until the test releases it (it signals the process
    /// meanwhile: SIGTERM or SIGKILL).
    Hold,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            latency_ms: 0,
            time_scale: 1.0,
            points_per_minute: None,
            secondary_429: false,
            secondary_retry_after: true,
            retry_after: None,
            max_concurrent: 100,
            min_mutation_spacing_ms: None,
            primary_limit: None,
            omit_installation_rate_headers: false,
            seed: 1,
            server_errors: 0.0,
            lost_answers: 0.0,
            resets: 0.0,
            slow: 0.0,
            slow_ms: 0,
            cut: None,
            lost_pushes: 0,
            hold_pages_until_manifest_read: false,
        }
    }
}

/// A fault of the transport rather than of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The connection drops before the answer is complete.
    Reset,
    /// The answer is held back this many real milliseconds.
    Slow(u64),
}

/// Deterministic dice (xorshift64*).
#[derive(Debug, Clone)]
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// True with probability `p`.
    pub fn roll(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// Points per endpoint in a sliding one-minute window of emulated time.
#[derive(Debug, Default)]
pub struct Secondary {
    windows: HashMap<String, VecDeque<(DateTime<Utc>, u32)>>,
}

impl Secondary {
    /// Count `points` against `endpoint`, or say how many seconds until they would fit.
    pub fn charge(
        &mut self,
        endpoint: &str,
        points: u32,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<(), i64> {
        let window = self.windows.entry(endpoint.to_string()).or_default();
        while window
            .front()
            .is_some_and(|(t, _)| now - *t >= Duration::seconds(60))
        {
            window.pop_front();
        }
        let used: u32 = window.iter().map(|(_, p)| p).sum();
        if used + points <= limit {
            window.push_back((now, points));
            return Ok(());
        }
        let mut freed = 0;
        for (t, p) in window.iter() {
            freed += p;
            if used - freed + points <= limit {
                return Err(((*t + Duration::seconds(60)) - now).num_seconds().max(1));
            }
        }
        Err(60)
    }
}

/// A token's primary budget: requests used in the current emulated hour.
#[derive(Debug, Default)]
pub struct Primary {
    used: HashMap<String, (i64, u64)>,
}

impl Primary {
    /// Count one request for `token`; `Err(reset)` when the hour's budget is spent.
    pub fn charge(
        &mut self,
        token: &str,
        limit: u64,
        now: DateTime<Utc>,
    ) -> Result<(u64, i64), i64> {
        let hour = now.timestamp() / 3600;
        let reset = (hour + 1) * 3600;
        let entry = self.used.entry(token.to_string()).or_insert((hour, 0));
        if entry.0 != hour {
            *entry = (hour, 0);
        }
        if entry.1 >= limit {
            return Err(reset);
        }
        entry.1 += 1;
        Ok((entry.1, reset))
    }

    pub fn used(&self, token: &str, now: DateTime<Utc>) -> u64 {
        match self.used.get(token) {
            Some((hour, used)) if *hour == now.timestamp() / 3600 => *used,
            _ => 0,
        }
    }
}

/// The endpoint a path belongs to for the secondary limiter: ids and names generalized.
pub fn endpoint(method: &str, segments: &[&str]) -> String {
    let mut out = String::from(method);
    let packages = segments.iter().position(|s| *s == "packages");
    for (i, s) in segments.iter().enumerate() {
        out.push('/');
        let is_name = packages.is_some_and(|p| i == p + 2);
        if is_name || s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() {
            out.push_str("{}");
        } else {
            out.push_str(s);
        }
    }
    out
}
