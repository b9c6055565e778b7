//! Cancellation (SPEC §6): on SIGINT or SIGTERM the run starts no new change, lets the one in
//! flight finish, and reports what was done. A flag that the executor and the pacer read, and a
//! notification that wakes whatever sits in a wait.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::Notify;

static CANCELLED: AtomicBool = AtomicBool::new(false);
static WAKE: Notify = Notify::const_new();

/// Whether the run was asked to stop.
pub fn cancelled() -> bool {
    CANCELLED.load(Ordering::SeqCst)
}

/// Ask the run to stop (what a signal does).
pub fn cancel() {
    CANCELLED.store(true, Ordering::SeqCst);
    WAKE.notify_waiters();
}

/// Changes in progress: while one is, a cancellation does not stop its requests (SPEC §6: a
/// change that took several requests is one unit, never split).
static SHIELDS: AtomicUsize = AtomicUsize::new(0);

/// Held while a started change finishes: its requests go out, and its waits run their course,
/// even after a cancellation or past `max-duration`.
pub struct Shield(());

impl Shield {
    pub fn up() -> Shield {
        SHIELDS.fetch_add(1, Ordering::SeqCst);
        Shield(())
    }
}

impl Drop for Shield {
    fn drop(&mut self) {
        SHIELDS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a started change is being finished.
pub fn shielded() -> bool {
    SHIELDS.load(Ordering::SeqCst) > 0
}

/// Whether requests must stop now: cancelled, and no started change to finish.
pub fn stop_requests() -> bool {
    cancelled() && !shielded()
}

/// Sleep until `until`, or less if the run is cancelled meanwhile (unless a started change is
/// being finished).
pub async fn sleep_until(until: tokio::time::Instant) {
    let woken = WAKE.notified();
    tokio::pin!(woken);
    // Registered before the flag is read, so a cancel in between is not missed.
    woken.as_mut().enable();
    if shielded() {
        tokio::time::sleep_until(until).await;
        return;
    }
    if cancelled() {
        return;
    }
    tokio::select! {
        () = tokio::time::sleep_until(until) => {}
        () = woken => {}
    }
}

/// Listen for SIGINT and SIGTERM on the current runtime; each sets the flag once.
pub fn listen() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        // SIGHUP: a closed terminal ends a command-line run as a cancel does (SPEC §6).
        for kind in [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
        ] {
            if let Ok(mut stream) = signal(kind) {
                tokio::spawn(async move {
                    if stream.recv().await.is_some() {
                        crate::workflow::say(
                            "Cancelled: no new change is started; the one in flight finishes, \
                             then the outputs are written (a run cancelled before its plan \
                             exists changes nothing and stops with exit 2).",
                        );
                        cancel();
                    }
                });
            }
        }
    }
}
