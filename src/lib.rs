//! package-janitor deletes GitHub Packages versions selected by glob or regex over their tags.
//!
//! The flow: [`config`] turns the environment into a validated `Config`; [`github`] resolves
//! the owner and lists versions; [`plan`] decides, purely, what to change; [`execute`] applies
//! the plan; [`report`] writes the log table, `$GITHUB_OUTPUT` and the step summary. See
//! ARCHITECTURE.md.

pub mod cache;
pub mod change;
pub mod cli;
pub mod config;
pub mod containers;
pub mod duration;
pub mod execute;
pub mod github;
pub mod images;
pub mod limits;
pub mod model;
pub mod pattern;
pub mod plan;
pub mod preflight;
pub mod registry;
pub mod report;
pub mod run;
pub mod semantic;
pub mod signals;
pub mod workflow;

pub use run::{run, Exit};
