//! The entry point: in Actions, read the `INPUT_*` environment; on a command line, the same
//! inputs as flags. Run, and map the result to the exit status.

use package_janitor::cli::{self, Command};
use package_janitor::config::Environment;
use package_janitor::workflow::Log;
use package_janitor::{run, Exit};
use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut log = Log::new();
    let mut env = Environment::from_process();
    package_janitor::workflow::set_actions(env.var("GITHUB_ACTIONS") == Some("true"));
    // An argument that is not UTF-8 is named, never a panic (SPEC §1).
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect::<Result<_, _>>()
    {
        Ok(args) => args,
        Err(arg) => {
            log.error(
                "package-janitor stopped",
                &format!(
                    "a command-line argument is not UTF-8 text: '{}'",
                    arg.to_string_lossy()
                ),
            );
            log.finish();
            return ExitCode::from(Exit::Stopped as u8);
        }
    };
    match cli::parse(&args) {
        Ok(Command::Help) => {
            return match cli::help() {
                Ok(help) => {
                    let _ = write!(std::io::stdout(), "{help}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    let _ = writeln!(std::io::stderr(), "{error:#}");
                    ExitCode::from(Exit::Stopped as u8)
                }
            };
        }
        Ok(Command::Version) => {
            let _ = writeln!(
                std::io::stdout(),
                "package-janitor {}",
                env!("CARGO_PKG_VERSION")
            );
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run(inputs)) => env.set(inputs),
        Err(error) => {
            log.error("package-janitor stopped", &format!("{error:#}"));
            log.finish();
            return ExitCode::from(Exit::Stopped as u8);
        }
    }
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(run(&env, &mut log)));
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(error) => {
            // Errors from `run` come before the first change: nothing was changed.
            let message = format!("{error:#}");
            log.error("package-janitor stopped", &message);
            log.finish();
            log.info("Nothing was changed.");
            if let Some(path) = env.var("GITHUB_STEP_SUMMARY") {
                // SPEC §6: a run that stops with exit 2 still says why (if the file takes it).
                let _ = package_janitor::report::append_summary(
                    std::path::Path::new(path),
                    &package_janitor::report::stopped_summary(&message),
                );
            }
            ExitCode::from(Exit::Stopped as u8)
        }
    }
}
