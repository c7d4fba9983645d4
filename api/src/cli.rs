//! The `kapacitord` command line.

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "kapacitord", version, about = "Kapacitor (Rust) daemon")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Kapacitor's integration-test corpus (DIR/cases, DIR/data) through the engine and
    /// compare every httpOut result; prints `N passed, M failed, K skipped`.
    Conformance {
        /// The corpus directory.
        dir: PathBuf,
        /// Worker threads of the engine (default: available cores).
        #[arg(long)]
        workers: Option<usize>,
        /// Use the single-threaded reference executor instead of the timely engine.
        #[arg(long, conflicts_with = "workers")]
        direct: bool,
        /// Only run cases whose name contains this text.
        #[arg(long)]
        only: Option<String>,
        /// Also list passing and skipped cases.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Print the version.
    Version,
}

/// Runs `kapacitord` with `args` (including the program name).
pub fn main(args: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    match cli.command {
        Command::Version => {
            println!("Kapacitor (Rust) {}", crate::VERSION);
            ExitCode::SUCCESS
        }
        Command::Conformance {
            dir,
            workers,
            direct,
            only,
            verbose,
        } => {
            let workers = (!direct).then(|| {
                workers.unwrap_or_else(|| kap_dataflow::runtime::EngineConfig::default().workers)
            });
            let run = || -> anyhow::Result<bool> {
                crate::conformance::check_dir(&dir)?;
                let summary = crate::conformance::run(
                    &dir,
                    workers,
                    only.as_deref(),
                    verbose,
                    &mut std::io::stdout(),
                )?;
                Ok(summary.failed.is_empty())
            };
            match run() {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("kapacitord: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
