//! The one integration-test binary: the real `package-janitor` binary against the emulator.

// Tests may unwrap: a panic is a failed assertion here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod action;
mod answers;
mod cache;
mod cli;
mod cuts;
mod delete;
mod emulator;
mod faults;
mod first_hour;
mod images;
mod inputs;
mod openapi;
mod pacing;
mod packages;
mod repair;
mod restore;
mod routes;
mod rules;
mod scale;
mod select;
mod semver;
mod simulation;
mod snapshots;
mod untag;
mod util;
