//! The log: GitHub Actions workflow commands on stdout (`::group::`, annotations, `::debug::`)
//! in Actions, plain text on a command line (SPEC §6).
//!
//! GitHub shows at most 10 warning and 10 error annotations per step; past that, lines are
//! printed plainly (escaped all the same) and counted, and [`Log::finish`] says how many were
//! folded. Every line goes through [`out`], which never panics: a closed stdout
//! (`package-janitor … | head -1`) silences the log and the run goes on.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

/// `GITHUB_ACTIONS=true`: workflow commands; otherwise plain text.
static ACTIONS: AtomicBool = AtomicBool::new(false);

/// Say whether the run is inside GitHub Actions (workflow commands) or not (plain text).
pub fn set_actions(on: bool) {
    ACTIONS.store(on, Ordering::Relaxed);
}

pub fn in_actions() -> bool {
    ACTIONS.load(Ordering::Relaxed)
}

/// Every credential the run holds (the API token, registry tokens): text from outside may
/// repeat one (an error body echoing a request's `Authorization`), so all that is printed or
/// written passes through [`redact`] (SPEC §6).
static SECRETS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Hold `value` as a credential: from now on it is printed and written as `***`.
pub fn secret(value: &str) {
    // Too short a string could only be a coincidence, and would blank out common text.
    if value.len() < 8 {
        return;
    }
    if let Ok(mut secrets) = SECRETS.lock() {
        if !secrets.iter().any(|s| s == value) {
            secrets.push(value.to_string());
            // The longest first: a secret that contains another is replaced whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }
}

/// `text` with every credential the run holds replaced by `***`.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let Ok(secrets) = SECRETS.lock() else {
        return std::borrow::Cow::Borrowed(text);
    };
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut redacted = text.to_string();
    for secret in secrets.iter() {
        redacted = redacted.replace(secret.as_str(), "***");
    }
    std::borrow::Cow::Owned(redacted)
}

/// One line on stdout; a failed write (a closed pipe) is ignored rather than a panic.
pub fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", redact(line));
}

/// A line that must not be lost: on stdout, or on stderr with a note when stdout is closed
/// (a command line piped into `head`).
pub fn out_or_stderr(line: &str) {
    let line = redact(line);
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(
            stderr,
            "(stdout was closed before the outputs were written; here they are)\n{line}"
        );
    }
}

/// Mask a credential obtained at run time (Actions only: on a command line this would print
/// it), and hold it as one: never printed or written from then on.
pub fn mask(value: &str) {
    if in_actions() {
        // The one line that must carry it as it is: the runner hides it from then on.
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "::add-mask::{}", escape_data(value));
    }
    secret(value);
}

/// Escape a workflow command's message: `%`, CR and LF.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow command's property value: as data, plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

const ANNOTATION_LIMIT: usize = 10;

/// A plain log line from code that holds no [`Log`] (the client's waits and retries). Its text
/// may come from outside, so in Actions it is escaped: it can never start a workflow command.
pub fn say(message: &str) {
    if in_actions() {
        out(&escape_data(message));
    } else {
        out(message);
    }
}

/// `RUNNER_DEBUG=1`: debug lines for code that holds no [`Log`] (every request and answer).
static DEBUG: AtomicBool = AtomicBool::new(false);

pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

/// A `::debug::` line, shown only when the run's debug logging is on.
pub fn debug(message: &str) {
    if DEBUG.load(Ordering::Relaxed) {
        if in_actions() {
            out(&format!("::debug::{}", escape_data(message)));
        } else {
            out(&format!("debug: {message}"));
        }
    }
}

/// The run's log. Warnings and errors are gathered by cause (their title) and written by
/// [`Log::finish`] as one annotation per cause, with a count and the first few messages, so
/// one cause never floods the annotations (SPEC §6); the rest follow as plain lines.
#[derive(Debug, Default)]
pub struct Log {
    causes: Vec<Cause>,
}

#[derive(Debug)]
struct Cause {
    kind: &'static str,
    title: String,
    messages: Vec<String>,
}

/// Messages shown in a cause's annotation; the rest follow it as plain lines.
const SHOWN: usize = 3;

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    pub fn info(&self, message: &str) {
        out(message);
    }

    pub fn debug(&self, message: &str) {
        debug(message);
    }

    pub fn group(&self, title: &str) {
        if in_actions() {
            out(&format!("::group::{}", escape_data(title)));
        } else {
            out(&format!("== {title}"));
        }
    }

    pub fn end_group(&self) {
        if in_actions() {
            out("::endgroup::");
        }
    }

    pub fn notice(&self, title: &str, message: &str) {
        annotate("notice", 1, title, message);
    }

    pub fn warning(&mut self, title: &str, message: &str) {
        self.record("warning", title, message);
    }

    pub fn error(&mut self, title: &str, message: &str) {
        self.record("error", title, message);
    }

    fn record(&mut self, kind: &'static str, title: &str, message: &str) {
        match self
            .causes
            .iter_mut()
            .find(|c| c.kind == kind && c.title == title)
        {
            Some(cause) => cause.messages.push(message.to_string()),
            None => self.causes.push(Cause {
                kind,
                title: title.to_string(),
                messages: vec![message.to_string()],
            }),
        }
    }

    /// Write the gathered warnings and errors, one annotation per cause, and say how many
    /// did not fit GitHub's limit of ten of each kind.
    pub fn finish(&mut self) {
        let mut shown = [("warning", 0usize), ("error", 0usize)];
        for cause in std::mem::take(&mut self.causes) {
            let nth = shown
                .iter_mut()
                .find(|(kind, _)| *kind == cause.kind)
                .map(|(_, n)| {
                    *n += 1;
                    *n
                })
                .unwrap_or(1);
            let count = cause.messages.len();
            let message = if count == 1 {
                cause.messages[0].clone()
            } else {
                let first: Vec<&str> = cause
                    .messages
                    .iter()
                    .take(SHOWN)
                    .map(String::as_str)
                    .collect();
                let more = if count > SHOWN {
                    format!("; and {} more", count - SHOWN)
                } else {
                    String::new()
                };
                format!("{count} times: {}{more}", first.join("; "))
            };
            annotate(cause.kind, nth, &cause.title, &message);
            // One line per cause, not a flood (SPEC §6): the rest only with debug logging.
            for rest in cause.messages.iter().skip(SHOWN) {
                debug(&format!("{}: {}: {rest}", cause.kind, cause.title));
            }
        }
        let mut folded = String::new();
        for (kind, n) in shown {
            if n > ANNOTATION_LIMIT {
                if !folded.is_empty() {
                    folded.push_str(" and ");
                }
                let _ = write!(folded, "{} {kind}s", n - ANNOTATION_LIMIT);
            }
        }
        if !folded.is_empty() {
            out(&format!(
                "({folded} more than GitHub shows as annotations are in the log above)"
            ));
        }
    }
}

/// The `nth` annotation of its kind: a workflow command while GitHub still shows them, an
/// escaped plain line after; plain text outside Actions.
fn annotate(kind: &str, nth: usize, title: &str, message: &str) {
    if !in_actions() {
        // On a command line, errors and warnings go to stderr (`2>err.log` catches them, and
        // stdout keeps the plan, the progress and the outputs' JSON).
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{}", redact(&format!("{kind}: {title}: {message}")));
    } else if nth <= ANNOTATION_LIMIT {
        out(&format!(
            "::{kind} title={}::{}",
            escape_property(title),
            escape_data(message)
        ));
    } else {
        out(&escape_data(&format!("{kind}: {title}: {message}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_properties_are_escaped() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
