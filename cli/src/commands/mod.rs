//! One module per sub-command (or family of them).

pub(crate) mod define;
pub(crate) mod fmt;
pub(crate) mod misc;
pub(crate) mod record;
pub(crate) mod tasks;
pub(crate) mod vet;

use crate::Command;
use crate::client::{Client, Failure};

/// Reads a script file, printing `kapacitor: <path>: <cause>` on failure.
pub(crate) fn read_script(path: &std::path::Path) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("kapacitor: cannot read {}: {e}", path.display());
            None
        }
    }
}

/// Reads a file for a command, as a command error naming the file.
pub(crate) fn read_file(path: &std::path::Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::command(format!("cannot read {}: {e}", path.display())))
}

/// Runs a command that talks to the daemon at `url` (`skip_verify`: accept any
/// certificate of an https URL).
pub(crate) fn run_remote(url: &str, skip_verify: bool, command: Command) -> Result<(), Failure> {
    let client = Client::new(url, "set -url or KAPACITOR_URL", skip_verify)?;
    let c = &client;
    match command {
        Command::Define(a) => define::define(c, &a),
        Command::DefineTemplate(a) => define::define_template(c, &a),
        Command::DefineTopicHandler(a) => define::define_handler(c, &a),
        Command::Enable(a) => tasks::set_status(c, &a.ids, tasks::Change::Enable),
        Command::Disable(a) => tasks::set_status(c, &a.ids, tasks::Change::Disable),
        Command::Reload(a) => tasks::set_status(c, &a.ids, tasks::Change::Reload),
        Command::Delete(a) => tasks::delete(c, &a),
        Command::List(a) => tasks::list(c, &a),
        Command::Show(a) => tasks::show(c, &a),
        Command::ShowTemplate(a) => tasks::show_template(c, &a.id),
        Command::ShowTopic(a) => tasks::show_topic(c, &a.id),
        Command::ShowHandler(a) => tasks::show_handler(c, &a),
        Command::Record(a) => record::record(c, &a),
        Command::StartRecording(a) => record::start_recording(c, &a),
        Command::StopRecording(a) => record::stop_recording(c, &a),
        Command::Replay(a) => record::replay(c, &a),
        Command::ReplayLive(a) => record::replay_live(c, &a),
        Command::Push(a) => tasks::push(c, &a),
        Command::Stats(a) => misc::stats(c, &a),
        Command::Vars => misc::vars(c),
        Command::Backup(a) => misc::backup(c, &a),
        Command::Level(a) => misc::level(c, &a),
        Command::Watch(a) => misc::watch(c, &a),
        Command::Logs(a) => misc::logs(c, &a),
        Command::ServiceTests(a) => misc::service_tests(c, &a),
        Command::Vet(_) | Command::Fmt(_) | Command::Version => Ok(()),
    }
}

/// Whether an id argument is a glob pattern.
pub(crate) fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Go's `%q`-quoted DBRP list as Kapacitor prints it: `["db"."rp" "db2"."rp"]`.
pub(crate) fn dbrps_text(dbrps: &[kap_api_types::DbRp]) -> String {
    let items: Vec<String> = dbrps
        .iter()
        .map(|d| format!("{:?}.{:?}", d.db, d.rp))
        .collect();
    format!("[{}]", items.join(" "))
}

/// An RFC 3339 time as Go's `time.RFC822` (`02 Jan 06 15:04 UTC`), in UTC.
pub(crate) fn rfc822(t: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(d) => d
            .with_timezone(&chrono::Utc)
            .format("%d %b %y %H:%M UTC")
            .to_string(),
        Err(_) => t.to_string(),
    }
}

/// Parses a Go duration (`90s`, `1h30m`, `500ms`).
pub(crate) fn parse_go_duration(s: &str) -> Option<std::time::Duration> {
    let mut rest = s.trim();
    if rest == "0" {
        return Some(std::time::Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[u..];
        total += value * mult;
    }
    Some(std::time::Duration::from_secs_f64(total))
}

/// `now + d` (or `now - d`) as RFC 3339 with nanoseconds, as Go's client sends times.
pub(crate) fn time_from_now(d: std::time::Duration, past: bool) -> String {
    let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    let now = chrono::Utc::now();
    let t = if past { now - d } else { now + d };
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Shows progress of a long operation on stderr when it is a terminal.
pub(crate) fn progress(what: &str, fraction: f64, done: bool) {
    use std::io::{IsTerminal, Write};
    let mut err = std::io::stderr();
    if !err.is_terminal() {
        return;
    }
    let pct = (fraction.clamp(0.0, 1.0) * 100.0).round();
    let _ = write!(err, "\r{what}: {pct:>3}%");
    if done {
        let _ = writeln!(err);
    }
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_go_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_go_duration("500ms").unwrap().as_millis(), 500);
        assert!(parse_go_duration("10").is_none());
        assert!(parse_go_duration("abc").is_none());
    }

    #[test]
    fn dbrps_and_dates() {
        let d = vec![kap_api_types::DbRp {
            db: "telegraf".into(),
            rp: "autogen".into(),
        }];
        assert_eq!(dbrps_text(&d), "[\"telegraf\".\"autogen\"]");
        assert_eq!(rfc822("2026-01-02T03:04:05Z"), "02 Jan 26 03:04 UTC");
    }
}
