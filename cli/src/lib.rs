//! `kap-cli`: the `kapacitor` command-line client.
//!
//! Commands that talk to a daemon go over HTTP only; `vet` and `fmt` work offline through
//! `kap-dsl`. Flags may be written Kapacitor's way (`-type stream`) or the GNU way
//! (`--type stream`). Exit codes are Kapacitor's: 0 success, 1 usage error, 2 sub-command
//! usage error, 3 command error, 4 connection error.

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::process::ExitCode;

pub mod client;
mod commands;
pub mod unix_http;

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
    /// The daemon's URL: `http://host:port` or `unix:///path/to.sock`.
    #[arg(
        long = "url",
        env = "KAPACITOR_URL",
        default_value = "http://localhost:9092",
        global = true
    )]
    pub url: String,
    /// Accept any certificate of an https URL (self-signed ones).
    #[arg(long = "skipVerify", env = "KAPACITOR_UNSAFE_SSL", global = true)]
    pub skip_verify: bool,
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
    /// Create or update a task (`define streamer|batcher --name N ...` generates one).
    Define(commands::define::DefineArgs),
    /// Create or update a template.
    DefineTemplate(commands::define::DefineTemplateArgs),
    /// Create or replace a topic handler from a JSON file `{topic, id, kind, options, match}`.
    DefineTopicHandler(commands::define::DefineHandlerArgs),
    /// Enable tasks (ids or glob patterns).
    Enable(commands::tasks::IdsArgs),
    /// Disable tasks (ids or glob patterns).
    Disable(commands::tasks::IdsArgs),
    /// Reload tasks: disable, then enable.
    Reload(commands::tasks::IdsArgs),
    /// Delete tasks, templates, recordings, replays, topics or handlers.
    Delete(commands::tasks::KindArgs),
    /// List tasks, templates, recordings, replays, topics or handlers.
    List(commands::tasks::KindArgs),
    /// Show a task.
    Show(commands::tasks::ShowArgs),
    /// Show a template.
    ShowTemplate(commands::tasks::OneArgs),
    /// Show an alert topic and its events.
    ShowTopic(commands::tasks::OneArgs),
    /// Show a topic handler: `show-handler TOPIC HANDLER`.
    #[command(alias = "show-topic-handler")]
    ShowHandler(commands::tasks::HandlerArgs),
    /// Record data: `record stream|batch|query ...`.
    Record(commands::record::RecordArgs),
    /// Start an open-ended stream recording (of one task's data, or of every point).
    StartRecording(commands::record::StartRecordingArgs),
    /// Stop a stream recording (the most recent running one when no id is given).
    StopRecording(commands::record::StopRecordingArgs),
    /// Replay a recording into a task: `replay RECORDING TASK` or `-recording R -task T`.
    Replay(commands::record::ReplayArgs),
    /// Replay InfluxDB data into a task without recording it: `replay-live batch|query ...`.
    ReplayLive(commands::record::ReplayLiveArgs),
    /// Copy a task to another daemon and enable it there.
    Push(commands::tasks::PushArgs),
    /// Print statistics: `stats general|ingress`.
    Stats(commands::misc::StatsArgs),
    /// Print the daemon's `/debug/vars`.
    Vars,
    /// Download a backup of the daemon's store into a file.
    Backup(commands::misc::BackupArgs),
    /// Set the daemon's log level: `level debug|info|warn|error`.
    Level(commands::misc::LevelArgs),
    /// Print a task's log lines as they are written: `watch TASK [key=value…]`.
    Watch(commands::misc::WatchArgs),
    /// Print the daemon's log lines as they are written: `logs [key=value…]` (e.g.
    /// `lvl=info+`, `service=alerts`).
    Logs(commands::misc::LogsArgs),
    /// Send each matching service's test alert with its default options and print whether
    /// it went through: `service-tests [name or pattern…]` (all when none is given).
    ServiceTests(commands::misc::ServiceTestsArgs),
}

/// Long flags that Kapacitor spells with one dash; `-type` is rewritten to `--type`.
const LONG_FLAGS: &[&str] = &[
    "type",
    "write",
    "url",
    "skipVerify",
    "help",
    "version",
    "tick",
    "dbrp",
    "template",
    "vars",
    "file",
    "no-reload",
    "name",
    "from",
    "where",
    "script",
    "query",
    "period",
    "group-by",
    "task",
    "duration",
    "no-wait",
    "recording-id",
    "start",
    "stop",
    "past",
    "cluster",
    "host",
    "id",
    "recording",
    "rec-time",
    "real-clock",
    "replay-id",
    "replay",
    "remote",
];

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

/// The exit code of a command-line parse error: 0 for `--help`/`--version`, 2 when a known
/// sub-command got bad arguments (Kapacitor's sub-command usage error), 1 otherwise.
fn parse_error_code(e: &clap::Error, args: &[OsString]) -> u8 {
    use clap::error::ErrorKind::*;
    match e.kind() {
        DisplayHelp | DisplayVersion => exit::OK,
        InvalidSubcommand | MissingSubcommand | DisplayHelpOnMissingArgumentOrSubcommand => {
            exit::USAGE
        }
        _ => {
            if subcommand_of(args).is_some() {
                exit::SUB_USAGE
            } else {
                exit::USAGE
            }
        }
    }
}

/// The known sub-command named on the command line, skipping global flags.
fn subcommand_of(args: &[OsString]) -> Option<String> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let s = a.to_str()?;
        if s == "--url" {
            it.next();
            continue;
        }
        if s.starts_with('-') {
            continue;
        }
        return cmd
            .get_subcommands()
            .find(|c| c.get_name() == s || c.get_all_aliases().any(|al| al == s))
            .map(|c| c.get_name().to_string());
    }
    None
}

/// Runs the CLI with the given arguments (including the program name).
pub fn run(args: Vec<OsString>) -> ExitCode {
    let args = normalize_args(args);
    let cli = match Cli::try_parse_from(args.clone()) {
        Ok(c) => c,
        Err(e) => {
            let code = parse_error_code(&e, &args);
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
        other => match commands::run_remote(&cli.url, cli.skip_verify, other) {
            Ok(()) => exit::OK,
            Err(f) => f.report(),
        },
    };
    ExitCode::from(code)
}
