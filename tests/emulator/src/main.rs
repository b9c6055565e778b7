//! `gh-emulator --scenario FILE [--port N] [--echo] [--quirks FILE]`: serve a scenario until
//! interrupted (see `cli::USAGE`).

use gh_emulator::cli::{self, Command};
use gh_emulator::Emulator;
use std::net::SocketAddr;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (scenario, quirks, port, echo) = match cli::parse(&args)? {
        Command::Help => {
            print!("{}", cli::USAGE);
            return Ok(());
        }
        Command::Serve {
            scenario,
            quirks,
            port,
            echo,
        } => (scenario, quirks, port, echo),
    };
    let (scenario, quirks) = cli::load(&scenario, quirks.as_deref())?;
    let emulator = Emulator::start_on(scenario, SocketAddr::from(([127, 0, 0, 1], port)))?;
    emulator.set_quirks(quirks);
    emulator.echo(echo);
    println!("GitHub emulator listening on {}", emulator.url());
    emulator.wait();
    Ok(())
}
