//! `gh-emulator --scenario FILE [--port N] [--echo] [--quirks FILE]`: serve a scenario until
//! interrupted; `--echo` prints each request with its arrival time.

use anyhow::Context;
use gh_emulator::{Emulator, Quirks, Scenario};
use std::net::SocketAddr;

const USAGE: &str = "\
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

Then point package-janitor at it, API and registry alike:
  GITHUB_API_URL=http://127.0.0.1:PORT GITHUB_TOKEN=<a token of the scenario> \\
    package-janitor --owner OWNER --packages NAME --tags 'pr-*' \\
      --registry-url http://127.0.0.1:PORT --dry-run
";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut scenario = None;
    let mut quirks = None;
    let mut port = 0u16;
    let mut echo = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--scenario" => scenario = args.next(),
            "--quirks" => quirks = args.next(),
            "--port" => {
                let value = args.next().unwrap_or_default();
                port = value
                    .parse()
                    .with_context(|| format!("--port '{value}' is not a port number"))?;
            }
            "--echo" => echo = true,
            other => anyhow::bail!("unknown argument '{other}'\n\n{USAGE}"),
        }
    }
    let Some(path) = scenario else {
        anyhow::bail!("--scenario FILE is required\n\n{USAGE}");
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the scenario file '{path}'"))?;
    let scenario =
        Scenario::from_yaml(&text).with_context(|| format!("the scenario file '{path}'"))?;
    let emulator = Emulator::start_on(scenario, SocketAddr::from(([127, 0, 0, 1], port)))?;
    if let Some(path) = quirks {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the quirks file '{path}'"))?;
        let quirks: Quirks =
            serde_yaml::from_str(&text).with_context(|| format!("the quirks file '{path}'"))?;
        emulator.set_quirks(quirks);
    }
    emulator.echo(echo);
    println!("GitHub emulator listening on {}", emulator.url());
    emulator.wait();
    Ok(())
}
