//! `kap-cli`: the `kapacitor` command-line client.
//!
//! Commands that talk to a daemon go over HTTP only; `vet` and `fmt` work offline through
//! `kap-dsl`. Flags may be written Kapacitor's way (`-type stream`) or the GNU way
//! (`--type stream`). Exit codes are Kapacitor's: 0 success, 1 usage error, 2 sub-command
//! usage error, 3 command error, 4 connection error.

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::process::ExitCode;

mod commands;

/// Exit codes, as Kapacitor's CLI uses them.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Usage error (bad command line).
    pub const USAGE: u8 = 1;
    /// Sub-command usage error.
    pub const SUB_USAGE: u8 = 2;
    /// The command ran and failed.
    pub const COMMAND: u8 = 3;
    /// Could not reach the daemon.
    pub const CONNECT: u8 = 4;
}

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "kapacitor",
    version,
    about = "Kapacitor (Rust) command-line client"
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check TICKscript (or seed-form) files offline and print every problem.
    Vet(commands::vet::VetArgs),
    /// Print a TICKscript file in canonical (tickfmt) form.
    Fmt(commands::fmt::FmtArgs),
    /// Print the client version.
    Version,
}

/// Long flags that Kapacitor spells with one dash; `-type` is rewritten to `--type`.
const LONG_FLAGS: &[&str] = &["type", "write", "url", "help", "version"];

/// Rewrites Kapacitor-style single-dash long flags (`-type`) to `--type`, so both styles
/// work. `-` alone, negative numbers and unknown flags are left untouched.
pub fn normalize_args(args: Vec<OsString>) -> Vec<OsString> {
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 {
                return a;
            }
            let Some(s) = a.to_str() else { return a };
            if let Some(rest) = s.strip_prefix('-')
                && !rest.starts_with('-')
                && LONG_FLAGS.contains(&rest.split('=').next().unwrap_or(rest))
            {
                return OsString::from(format!("-{s}"));
            }
            a
        })
        .collect()
}

/// Runs the CLI with the given arguments (including the program name).
pub fn run(args: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(normalize_args(args)) {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::OK
                }
                _ => exit::USAGE,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Vet(a) => commands::vet::run(&a),
        Command::Fmt(a) => commands::fmt::run(&a),
        Command::Version => {
            println!("Kapacitor (Rust) {}", env!("CARGO_PKG_VERSION"));
            exit::OK
        }
    };
    ExitCode::from(code)
}
