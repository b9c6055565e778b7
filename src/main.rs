//! The action's entry point: read the environment, run, map the result to an exit status.

use package_janitor::config::Environment;
use package_janitor::workflow::Log;
use package_janitor::{run, Exit};
use std::process::ExitCode;

fn main() -> ExitCode {
    let env = Environment::from_process();
    let mut log = Log::new(false);
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(run(&env, &mut log)));
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(error) => {
            // Errors from `run` come before the first change: nothing was changed.
            log.error("package-janitor stopped", &format!("{error:#}"));
            log.info("Nothing was changed.");
            ExitCode::from(Exit::Stopped as u8)
        }
    }
}
