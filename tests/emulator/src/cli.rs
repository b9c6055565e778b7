//! The emulator's command line: `gh-emulator --scenario FILE [--port N] [--echo] [--quirks
//! FILE]`. Parsing and loading live here, in the library, so tests can reach them.

use crate::{Quirks, Scenario};
use anyhow::Context;

pub const USAGE: &str = "\
gh-emulator: a stateful emulator of GitHub's Packages REST API and of ghcr.io's registry
endpoints, for package-janitor's tests and for trying it without a GitHub account.

Usage: gh-emulator --scenario FILE [--port N] [--echo] [--quirks FILE]

  --scenario FILE  the accounts, tokens and packages to serve (YAML), e.g.
                   tests/emulator/scenarios/demo.yaml
  --port N         the port on 127.0.0.1 (default: one the system picks)
  --echo           print each request with its arrival time (µs since the epoch)
  --quirks FILE    answer as GitHub or a registry sometimes does (YAML of `Quirks`:
                   manifest_content_type, users_route_ignores_state, token_realm, …)
  -h, --help       print this help

Then point package-janitor at it; a loopback API serves the registry beside it:
  GITHUB_API_URL=http://127.0.0.1:PORT GITHUB_TOKEN=<a token of the scenario> \\
    package-janitor --owner OWNER --packages NAME --tags 'pr-*' --dry-run
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Serve {
        scenario: String,
        quirks: Option<String>,
        port: u16,
        echo: bool,
    },
}

pub fn parse(args: &[String]) -> anyhow::Result<Command> {
    let mut args = args.iter();
    let mut scenario = None;
    let mut quirks = None;
    let mut port = 0u16;
    let mut echo = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--scenario" => scenario = args.next().cloned(),
            "--quirks" => quirks = args.next().cloned(),
            "--port" => {
                let value = args.next().cloned().unwrap_or_default();
                port = value
                    .parse()
                    .with_context(|| format!("--port '{value}' is not a port number"))?;
            }
            "--echo" => echo = true,
            other => anyhow::bail!("unknown argument '{other}'\n\n{USAGE}"),
        }
    }
    let Some(scenario) = scenario else {
        anyhow::bail!("--scenario FILE is required\n\n{USAGE}");
    };
    Ok(Command::Serve {
        scenario,
        quirks,
        port,
        echo,
    })
}

/// Read the scenario (and the quirks) files; errors name the file.
pub fn load(scenario: &str, quirks: Option<&str>) -> anyhow::Result<(Scenario, Quirks)> {
    let text = std::fs::read_to_string(scenario)
        .with_context(|| format!("reading the scenario file '{scenario}'"))?;
    let loaded =
        Scenario::from_yaml(&text).with_context(|| format!("the scenario file '{scenario}'"))?;
    let quirks = match quirks {
        None => Quirks::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the quirks file '{path}'"))?;
            serde_yaml::from_str(&text).with_context(|| format!("the quirks file '{path}'"))?
        }
    };
    Ok((loaded, quirks))
}
