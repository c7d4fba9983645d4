//! The `kapacitord` command line.

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "kapacitord", version, about = "Kapacitor (Rust) daemon")]
pub struct Cli {
    /// What to do (default: run the daemon).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the daemon when no sub-command is given (as `kapacitord run`).
    #[command(flatten)]
    pub run: RunArgs,
}

/// Options of `kapacitord run`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunArgs {
    /// Configuration file (default: `KAPACITOR_CONFIG_PATH`, then
    /// `~/.kapacitor/kapacitor.conf`, then `/etc/kapacitor/kapacitor.conf`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Write the process id to this file.
    #[arg(long)]
    pub pidfile: Option<PathBuf>,
    /// Override `hostname`.
    #[arg(long)]
    pub hostname: Option<String>,
    /// Log to this file instead of stderr (overrides `[logging] file`).
    #[arg(long)]
    pub log_file: Option<PathBuf>,
    /// Log level (overrides `[logging] level`): debug, info, warn, error.
    #[arg(long)]
    pub log_level: Option<String>,
    /// Comma-separated alert handler kinds to refuse, inline in TICKscript and as topic
    /// handlers (e.g. `exec,tcp`).
    #[arg(long = "disable-handlers", value_delimiter = ',')]
    pub disable_handlers: Vec<String>,
    /// Comma-separated networks (CIDRs, e.g. `10.0.0.0/8,169.254.0.0/16`) that httpPost
    /// nodes and post alert handlers may not post to.
    #[arg(long = "blacklist-cidrs", value_delimiter = ',')]
    pub blacklist_cidrs: Vec<String>,
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
        /// Also list passing and skipped cases, and print a failing case's whole result.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Run the daemon (the default).
    Run(RunArgs),
    /// Run a daemon on 127.0.0.1 with an example: a task alerting on CPU idle, fed by a
    /// built-in generator; its alerts print here within the first minute.
    Demo {
        /// Port to listen on.
        #[arg(long, default_value_t = 9092)]
        port: u16,
    },
    /// Print the configuration (the defaults, or `-config PATH` with environment overrides)
    /// as TOML.
    Config {
        /// Configuration file to read.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print the version.
    Version,
}

/// Long flags Kapacitor spells with one dash.
const LONG_FLAGS: &[&str] = &[
    "config",
    "pidfile",
    "hostname",
    "log-file",
    "log-level",
    "disable-handlers",
    "blacklist-cidrs",
    "workers",
    "direct",
    "only",
    "help",
    "version",
];

fn normalize(args: Vec<OsString>) -> Vec<OsString> {
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 {
                return a;
            }
            match a.to_str() {
                Some(s)
                    if s.starts_with('-')
                        && !s.starts_with("--")
                        && LONG_FLAGS.contains(&s[1..].split('=').next().unwrap_or("")) =>
                {
                    OsString::from(format!("-{s}"))
                }
                _ => a,
            }
        })
        .collect()
}

/// Runs `kapacitord` with `args` (including the program name).
pub fn main(args: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(normalize(args)) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    match cli.command.unwrap_or(Command::Run(cli.run)) {
        Command::Run(args) => crate::daemon::run_main(args),
        Command::Demo { port } => crate::daemon::demo_main(port),
        Command::Config { config } => {
            let env = |k: &str| std::env::var(k).ok();
            match crate::config::load(config.as_deref(), &env) {
                Ok(c) => {
                    print!("{}", c.to_toml());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("kapacitord: {e}");
                    ExitCode::from(1)
                }
            }
        }
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
