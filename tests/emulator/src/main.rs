//! `gh-emulator --scenario FILE [--port N] [--echo]`: serve a scenario until interrupted;
//! `--echo` prints each request with its arrival time.

use gh_emulator::{Emulator, Scenario};
use std::net::SocketAddr;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut scenario = None;
    let mut port = 0u16;
    let mut echo = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--scenario" => scenario = args.next(),
            "--port" => port = args.next().unwrap_or_default().parse()?,
            "--echo" => echo = true,
            _ => anyhow::bail!("usage: gh-emulator --scenario FILE [--port N] [--echo]"),
        }
    }
    let Some(path) = scenario else {
        anyhow::bail!("usage: gh-emulator --scenario FILE [--port N] [--echo]");
    };
    let scenario = Scenario::from_yaml(&std::fs::read_to_string(&path)?)?;
    let emulator = Emulator::start_on(scenario, SocketAddr::from(([127, 0, 0, 1], port)))?;
    emulator.echo(echo);
    println!("GitHub emulator listening on {}", emulator.url());
    emulator.wait();
    Ok(())
}
