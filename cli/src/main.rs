//! `kapacitor`: the command-line client. Thin: parse arguments, run, map to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    kap_cli::run(std::env::args_os().collect())
}
