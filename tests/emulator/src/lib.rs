//! A stateful emulator of the GitHub Packages REST API, for package-janitor's tests and demo.
//!
//! [`Emulator::start`] serves a [`Scenario`] on a random loopback port from a background
//! thread, so plain `#[test]` functions can run the real binary against it and then read the
//! final state and the request log. GitHub's behaviour lives in [`github`]; this file is the
//! HTTP glue.

pub mod cli;
pub mod github;
pub mod limits;
pub mod quirks;
pub mod registry;
pub mod scenario;

use anyhow::{Context, Result};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request as HttpRequest, StatusCode};
use axum::response::Response as HttpResponse;
use chrono::Utc;
pub use github::{LoggedRequest, Request, Response};
pub use limits::{Cut, CutHow, Faults};
pub use quirks::Quirks;
pub use scenario::{PackageSpec, PackageType, Scenario, VersionSpec};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// The state, and the clock emulated time is read from.
struct Shared {
    github: Mutex<github::GitHub>,
    clock: Clock,
    /// Print each request with its arrival time (microseconds since the epoch) to stdout.
    echo: std::sync::atomic::AtomicBool,
    /// Wakes the requests held unanswered when the emulator stops.
    closing: tokio::sync::Notify,
    /// A held answer (`CutHow::Hold`) may go.
    released: std::sync::atomic::AtomicBool,
}

/// Emulated time: it starts at the real time and runs `time_scale` times faster.
struct Clock {
    started: std::time::Instant,
    epoch: chrono::DateTime<Utc>,
}

impl Clock {
    fn now(&self, scale: f64) -> chrono::DateTime<Utc> {
        let elapsed = self.started.elapsed().mul_f64(scale.max(0.0));
        self.epoch + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}

/// A running emulator; stops when dropped.
pub struct Emulator {
    url: String,
    state: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Emulator {
    /// Serve `scenario` on 127.0.0.1 with a port the OS picks.
    pub fn start(scenario: Scenario) -> Result<Emulator> {
        Emulator::start_on(scenario, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn start_on(scenario: Scenario, addr: SocketAddr) -> Result<Emulator> {
        let listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Shared {
            github: Mutex::new(github::GitHub::new(scenario, &url)),
            clock: Clock {
                started: std::time::Instant::now(),
                epoch: Utc::now(),
            },
            echo: std::sync::atomic::AtomicBool::new(false),
            closing: tokio::sync::Notify::new(),
            released: std::sync::atomic::AtomicBool::new(false),
        });
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(state.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Ok(Emulator {
            url,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`: the API base, for `GITHUB_API_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The state, for reading or arranging it between runs.
    pub fn state(&self) -> MutexGuard<'_, github::GitHub> {
        self.state
            .github
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Print every request to stdout as it arrives: `<µs since the epoch> METHOD path`.
    pub fn echo(&self, on: bool) {
        self.state
            .echo
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Serve with these latency, limits and faults from now on.
    pub fn set_faults(&self, faults: Faults) {
        self.state().set_faults(faults);
    }

    /// Answer with these quirks from now on.
    pub fn set_quirks(&self, quirks: Quirks) {
        self.state().quirks = quirks;
    }

    /// Let a held answer (`CutHow::Hold`) go.
    pub fn release(&self) {
        self.state
            .released
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Every request served so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state().log.clone()
    }

    /// A package as it is now (active or deleted), by owner, type and name.
    pub fn package(
        &self,
        owner: &str,
        package_type: PackageType,
        name: &str,
    ) -> Option<PackageSpec> {
        self.state()
            .packages
            .iter()
            .find(|p| {
                p.owner.eq_ignore_ascii_case(owner)
                    && p.package_type == package_type
                    && p.name == name
            })
            .cloned()
    }

    /// Ids of a package's active versions, ascending.
    pub fn active_ids(&self, owner: &str, package_type: PackageType, name: &str) -> Vec<u64> {
        self.ids(owner, package_type, name, false)
    }

    /// Ids of a package's deleted versions, ascending.
    pub fn deleted_ids(&self, owner: &str, package_type: PackageType, name: &str) -> Vec<u64> {
        self.ids(owner, package_type, name, true)
    }

    fn ids(&self, owner: &str, package_type: PackageType, name: &str, deleted: bool) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .package(owner, package_type, name)
            .map(|p| {
                p.versions
                    .iter()
                    .filter(|v| v.deleted_at.is_some() == deleted)
                    .map(|v| v.id)
                    .collect()
            })
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Block the calling thread until the process is interrupted (for the binary).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.state.closing.notify_waiters();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(State(state): State<Arc<Shared>>, request: HttpRequest<Body>) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 4 * 1024 * 1024)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let request = HttpRequest::from_parts(parts, body);
    if state.echo.load(std::sync::atomic::Ordering::Relaxed) {
        println!(
            "{} {} {}",
            Utc::now().timestamp_micros(),
            request.method(),
            request.uri().path()
        );
    }
    let request = Request {
        method: request.method().as_str().to_string(),
        path: request.uri().path().to_string(),
        query: request.uri().query().unwrap_or("").to_string(),
        authorization: request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        repeated: repeated_fields(request.headers()),
        content_type: request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: request.body().clone(),
    };
    let lock = || {
        state
            .github
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    let mutation = github::is_mutation(&request);
    let (latency, never_answer) = {
        let mut github = lock();
        github.in_flight += 1;
        if mutation {
            let now = state.clock.now(github.faults.time_scale);
            github.mutation_arrivals.push(now);
            github.mutations_in_flight += 1;
            github.max_mutations_in_flight = github
                .max_mutations_in_flight
                .max(github.mutations_in_flight);
        }
        (github.faults.latency_ms, github.quirks.never_answer)
    };
    if never_answer {
        // Accepted, and never answered: the client's own timeout must end the wait. Only
        // the emulator's stopping ends it here, so that it can stop.
        state.closing.notified().await;
        return HttpResponse::new(Body::empty());
    }
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    let later_page = request.method == "GET"
        && request.path.ends_with("/versions")
        && request
            .query
            .split('&')
            .any(|p| p.strip_prefix("page=").is_some_and(|n| n != "1"));
    if later_page && lock().faults.hold_pages_until_manifest_read {
        let read = || {
            lock()
                .log
                .iter()
                .any(|r| r.registry && r.path.contains("/manifests/"))
        };
        let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !read() && std::time::Instant::now() < until {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    let response = {
        let mut github = lock();
        let now = state.clock.now(github.faults.time_scale);
        let response = github.handle(&request, now);
        github.in_flight -= 1;
        if mutation {
            github.mutations_in_flight -= 1;
        }
        response
    };
    if response.hold {
        // A cut run: the change was made; its answer waits until the test has signalled the
        // process (or the emulator stops).
        while !state.released.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
                () = state.closing.notified() => break,
            }
        }
    }
    match response.transport {
        Some(limits::Transport::Slow(ms)) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await
        }
        Some(limits::Transport::Reset) => {
            // Headers go out, then the body fails: the client sees the connection drop.
            let broken = futures_util::stream::once(async {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("connection reset"))
            });
            let mut http = HttpResponse::new(Body::from_stream(broken));
            *http.status_mut() = StatusCode::OK;
            return http;
        }
        None => {}
    }
    let mut http = HttpResponse::new(match &response.body {
        Some(body) => Body::from(body.to_string()),
        None => Body::empty(),
    });
    *http.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = http.headers_mut();
    let typed = response.headers.iter().any(|(n, _)| n == "content-type");
    if response.body.is_some() && !typed {
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    for (name, value) in response.headers {
        if name == "content-type" && value.is_empty() {
            // The answer goes out with no Content-Type at all.
            headers.remove("content-type");
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(name, value);
        }
    }
    http
}

/// Singular header fields (RFC 9110 §5.3) that came more than once, each as a proxy would
/// join them: `name: a, b`. GitHub behind such a hop then sees one odd value, e.g.
/// `X-GitHub-Api-Version: 2022-11-28, 2022-11-28`, which is no supported version.
fn repeated_fields(headers: &axum::http::HeaderMap) -> Vec<String> {
    const SINGULAR: &[&str] = &[
        "user-agent",
        "x-github-api-version",
        "accept",
        "authorization",
        "content-type",
        "content-length",
        "host",
    ];
    SINGULAR
        .iter()
        .filter(|name| headers.get_all(**name).iter().count() > 1)
        .map(|name| {
            let values: Vec<&str> = headers
                .get_all(*name)
                .iter()
                .map(|v| v.to_str().unwrap_or("?"))
                .collect();
            format!("{name}: {}", values.join(", "))
        })
        .collect()
}
