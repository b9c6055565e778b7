//! The log: GitHub Actions workflow commands on stdout (`::group::`, annotations, `::debug::`).
//!
//! GitHub shows at most 10 warning and 10 error annotations per step; past that, lines are
//! printed plainly and counted, and [`Log::finish`] says how many were folded.

use std::fmt::Write as _;

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

/// A plain log line from code that holds no [`Log`] (the client's waits and retries).
pub fn say(message: &str) {
    println!("{message}");
}

/// `RUNNER_DEBUG=1`: debug lines for code that holds no [`Log`] (every request and answer).
static DEBUG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_debug(on: bool) {
    DEBUG.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// A `::debug::` line, shown only when the run's debug logging is on.
pub fn debug(message: &str) {
    if DEBUG.load(std::sync::atomic::Ordering::Relaxed) {
        println!("::debug::{}", escape_data(message));
    }
}

#[derive(Debug, Default)]
pub struct Log {
    warnings: usize,
    errors: usize,
}

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    pub fn info(&self, message: &str) {
        println!("{message}");
    }

    pub fn debug(&self, message: &str) {
        debug(message);
    }

    pub fn group(&self, title: &str) {
        println!("::group::{}", escape_data(title));
    }

    pub fn end_group(&self) {
        println!("::endgroup::");
    }

    pub fn notice(&self, title: &str, message: &str) {
        println!(
            "::notice title={}::{}",
            escape_property(title),
            escape_data(message)
        );
    }

    pub fn warning(&mut self, title: &str, message: &str) {
        self.warnings += 1;
        annotate("warning", self.warnings, title, message);
    }

    pub fn error(&mut self, title: &str, message: &str) {
        self.errors += 1;
        annotate("error", self.errors, title, message);
    }

    /// Say how many annotations did not fit GitHub's limit.
    pub fn finish(&self) {
        let mut folded = String::new();
        if self.warnings > ANNOTATION_LIMIT {
            let _ = write!(folded, "{} warnings", self.warnings - ANNOTATION_LIMIT);
        }
        if self.errors > ANNOTATION_LIMIT {
            if !folded.is_empty() {
                folded.push_str(" and ");
            }
            let _ = write!(folded, "{} errors", self.errors - ANNOTATION_LIMIT);
        }
        if !folded.is_empty() {
            println!("({folded} more than GitHub shows as annotations are in the log above)");
        }
    }
}

/// The `nth` annotation of its kind: a workflow command while GitHub still shows them, plain
/// text after.
fn annotate(kind: &str, nth: usize, title: &str, message: &str) {
    if nth <= ANNOTATION_LIMIT {
        println!(
            "::{kind} title={}::{}",
            escape_property(title),
            escape_data(message)
        );
    } else {
        println!("{kind}: {title}: {message}");
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
