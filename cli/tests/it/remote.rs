//! Verbs that talk to the daemon, without a daemon: every verb's arguments parse (in both
//! flag styles) up to the connection attempt, which fails with exit 4 against a closed port;
//! usage errors exit 1 or 2 with a clear message before any connection.

use crate::{kapacitor, run, tempdir};
use std::process::Output;

/// A 127.0.0.1 URL nobody listens on.
fn closed_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// Runs with `-url <closed port>` prepended.
fn run_closed(args: &[&str]) -> (i32, String, String) {
    let url = closed_url();
    let mut all = vec!["-url", url.as_str()];
    all.extend_from_slice(args);
    run(&all)
}

fn assert_reaches_daemon(args: &[&str]) {
    let (code, out, err) = run_closed(args);
    assert_eq!(code, 4, "{args:?}\nstdout: {out}\nstderr: {err}");
    assert!(
        err.contains("cannot reach kapacitord at http://127.0.0.1:")
            && err.contains("connection refused (is it running? set -url or KAPACITOR_URL)"),
        "{args:?}: {err}"
    );
}

fn assert_usage(args: &[&str], code: i32, needle: &str) {
    let (got, out, err) = run_closed(args);
    assert_eq!(got, code, "{args:?}\nstdout: {out}\nstderr: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in\n{err}"
    );
}

struct Files {
    tick: String,
    seed: String,
    fragment: String,
    whole: String,
    vars: String,
    task: String,
    handler: String,
    /// Holds the files until the test is done with them.
    _dir: crate::TestDir,
}

fn files(name: &str) -> Files {
    let dir = tempdir(name);
    let w = |f: &str, text: &str| {
        let p = dir.join(f);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    Files {
        tick: w(
            "cpu.tick",
            "stream|from().measurement('cpu')|httpOut('x')\n",
        ),
        seed: w("seed.tick", "alert(avg(window(value, 10)), <, 30)\n"),
        fragment: w("frag.tick", "|alert().crit(lambda: \"mean\" < 30)\n"),
        whole: w("whole.tick", "stream|from()|httpOut('x')\n"),
        vars: w("vars.json", r#"{"x": {"type": "int", "value": 1}}"#),
        task: w(
            "task.json",
            r#"{"template-id": "t", "dbrps": [{"db": "a", "rp": "b"}]}"#,
        ),
        handler: w(
            "h.json",
            r#"{"topic": "cpu", "id": "log", "kind": "log", "options": {"path": "/tmp/x"}}"#,
        ),
        _dir: dir,
    }
}

#[test]
fn connection_refused_exits_4_with_a_hint() {
    let (code, out, err) = run_closed(&["list", "tasks"]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(err.starts_with("kapacitor: cannot reach kapacitord at http://127.0.0.1:"));
    assert!(
        err.trim_end()
            .ends_with(": connection refused (is it running? set -url or KAPACITOR_URL)")
    );
    // KAPACITOR_URL and --url after the verb work too.
    let url = closed_url();
    let o: Output = kapacitor()
        .args(["vars"])
        .env("KAPACITOR_URL", &url)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&url));
    let (code, _, err) = run(&["show", "cpu", "--url", &url]);
    assert_eq!(code, 4, "{err}");
    // A unix socket that does not exist.
    let (code, _, err) = run(&[
        "-url",
        "unix:///nonexistent/kapacitor.sock",
        "list",
        "tasks",
    ]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("cannot reach kapacitord at unix:///nonexistent/kapacitor.sock"),
        "{err}"
    );
}

#[test]
fn every_verb_parses_in_both_flag_styles() {
    let f = files("verbs");
    for d in ["-", "--"] {
        let fl = |name: &str| format!("{d}{name}");
        let cases: Vec<Vec<String>> = vec![
            vec![
                "define".into(),
                "cpu".into(),
                fl("tick"),
                f.tick.clone(),
                fl("type"),
                "stream".into(),
                fl("dbrp"),
                "telegraf.autogen".into(),
                fl("dbrp"),
                "db.rp".into(),
                fl("no-reload"),
            ],
            vec![
                "define".into(),
                "cpu".into(),
                fl("template"),
                "t".into(),
                fl("vars"),
                f.vars.clone(),
            ],
            vec!["define".into(), "cpu".into(), fl("file"), f.task.clone()],
            vec![
                "define-template".into(),
                "t".into(),
                fl("tick"),
                f.tick.clone(),
                fl("type"),
                "stream".into(),
            ],
            vec!["define-topic-handler".into(), f.handler.clone()],
            vec!["enable".into(), "a".into(), "b*".into()],
            vec!["disable".into(), "a".into()],
            vec!["reload".into(), "a".into()],
            vec!["delete".into(), "tasks".into(), "a".into()],
            vec!["delete".into(), "recordings".into(), "r1".into()],
            vec![
                "delete".into(),
                "handlers".into(),
                "cpu".into(),
                "log".into(),
            ],
            vec!["list".into(), "tasks".into()],
            vec!["list".into(), "templates".into(), "t*".into()],
            vec!["list".into(), "recordings".into()],
            vec!["list".into(), "replays".into()],
            vec!["list".into(), "topics".into()],
            vec!["list".into(), "handlers".into(), "cpu".into()],
            vec!["show".into(), "cpu".into()],
            vec!["show".into(), fl("replay"), "r1".into(), "cpu".into()],
            vec!["show-template".into(), "t".into()],
            vec!["show-topic".into(), "cpu".into()],
            vec!["show-handler".into(), "cpu".into(), "log".into()],
            vec!["show-topic-handler".into(), "cpu".into(), "log".into()],
            vec![
                "record".into(),
                "stream".into(),
                fl("task"),
                "cpu".into(),
                fl("duration"),
                "1m".into(),
                fl("no-wait"),
                fl("recording-id"),
                "r1".into(),
            ],
            vec![
                "record".into(),
                "stream".into(),
                fl("host"),
                "http://influx:8086".into(),
                fl("query"),
                "select value from cpu".into(),
            ],
            vec![
                "record".into(),
                "batch".into(),
                fl("task"),
                "b".into(),
                fl("past"),
                "1h".into(),
            ],
            vec![
                "record".into(),
                "batch".into(),
                fl("task"),
                "b".into(),
                fl("start"),
                "2026-01-01T00:00:00Z".into(),
                fl("stop"),
                "2026-01-01T01:00:00Z".into(),
            ],
            vec!["record".into(), "batch".into(), "b".into()],
            vec![
                "record".into(),
                "query".into(),
                fl("query"),
                "select * from cpu".into(),
                fl("type"),
                "batch".into(),
                fl("cluster"),
                "c".into(),
            ],
            vec!["start-recording".into()],
            vec![
                "start-recording".into(),
                fl("task"),
                "cpu".into(),
                fl("id"),
                "r1".into(),
            ],
            vec!["stop-recording".into()],
            vec!["stop-recording".into(), "r1".into()],
            vec!["replay".into(), "r1".into(), "cpu".into()],
            vec![
                "replay".into(),
                fl("recording"),
                "r1".into(),
                fl("task"),
                "cpu".into(),
                fl("rec-time"),
                fl("real-clock"),
                fl("no-wait"),
                fl("replay-id"),
                "p1".into(),
            ],
            vec![
                "push".into(),
                fl("remote"),
                "http://127.0.0.1:9".into(),
                "cpu".into(),
            ],
            vec!["stats".into(), "general".into()],
            vec!["stats".into(), "ingress".into()],
            vec!["vars".into()],
            vec!["backup".into(), "/tmp/kap-backup-never-written.db".into()],
            vec!["level".into(), "debug".into()],
            vec![
                "define".into(),
                "streamer".into(),
                fl("name"),
                "s".into(),
                fl("from"),
                "cpu".into(),
                fl("where"),
                "cpu = 'cpu-total'".into(),
                fl("script"),
                f.seed.clone(),
                fl("dbrp"),
                "telegraf.autogen".into(),
            ],
            vec![
                "define".into(),
                "streamer".into(),
                fl("name"),
                "s".into(),
                fl("where"),
                "lambda: \"cpu\" == 'cpu-total'".into(),
                fl("script"),
                f.fragment.clone(),
            ],
            vec![
                "define".into(),
                "streamer".into(),
                fl("name"),
                "s".into(),
                fl("script"),
                f.whole.clone(),
            ],
            vec![
                "define".into(),
                "batcher".into(),
                fl("name"),
                "b".into(),
                fl("query"),
                "select mean(value) from cpu_idle where role = 'logs' group by dc".into(),
                fl("period"),
                "15m".into(),
                fl("group-by"),
                "1h".into(),
                fl("script"),
                f.fragment.clone(),
                fl("dbrp"),
                "db.rp".into(),
            ],
        ];
        for c in &cases {
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            assert_reaches_daemon(&args);
        }
    }
}

#[test]
fn usage_errors_exit_1_or_2_with_a_message() {
    let f = files("usage");
    let tick = f.tick.as_str();
    let whole = f.whole.as_str();
    let frag = f.fragment.as_str();
    // Unknown command, bad -url: 1.
    assert_usage(&["frobnicate"], 1, "unrecognized subcommand");
    let (code, _, err) = run(&["-url", "ftp://x", "list", "tasks"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("invalid URL"), "{err}");
    // Sub-command usage: 2.
    assert_usage(&["define"], 2, "<ID>");
    assert_usage(&["define", "cpu", "-type", "bogus"], 2, "bogus");
    assert_usage(
        &["define", "cpu", "-tick", tick, "-dbrp", "nodot"],
        2,
        "must be specified as 'db.rp'",
    );
    assert_usage(
        &["define", "cpu", "--from", "cpu"],
        2,
        "belong to `define streamer`",
    );
    assert_usage(
        &["define", "streamer", "--script", frag],
        2,
        "--name is required",
    );
    assert_usage(
        &["define", "streamer", "--name", "s"],
        2,
        "--script FILE is required",
    );
    assert_usage(
        &[
            "define", "streamer", "--name", "s", "--from", "cpu", "--script", whole,
        ],
        2,
        "--from and --where apply to a seed-form script",
    );
    assert_usage(
        &[
            "define",
            "streamer",
            "--name",
            "s",
            "--where",
            "(cpu = 'x'",
            "--script",
            frag,
        ],
        2,
        "unbalanced",
    );
    assert_usage(
        &[
            "define", "streamer", "--name", "s", "--query", "select 1", "--script", frag,
        ],
        2,
        "belong to `define batcher`",
    );
    assert_usage(
        &["define", "batcher", "--name", "b", "--script", frag],
        2,
        "--query, --period and --group-by are required",
    );
    assert_usage(
        &[
            "define",
            "batcher",
            "--name",
            "b",
            "--query",
            "select v from m group by time(1m)",
            "--period",
            "1m",
            "--group-by",
            "1h",
            "--script",
            frag,
        ],
        2,
        "remove GROUP BY time",
    );
    assert_usage(
        &[
            "define",
            "batcher",
            "--name",
            "b",
            "--query",
            "select v from m",
            "--period",
            "often",
            "--group-by",
            "1h",
            "--script",
            frag,
        ],
        2,
        "--period must be a duration",
    );
    assert_usage(&["enable"], 2, "<IDS>");
    assert_usage(&["list"], 2, "<KIND>");
    assert_usage(&["list", "bogus"], 2, "bogus");
    assert_usage(&["delete", "tasks"], 2, "give at least one id");
    assert_usage(
        &["delete", "handlers", "cpu"],
        2,
        "give the topic, then handler ids",
    );
    assert_usage(&["record"], 2, "<KIND>");
    assert_usage(
        &["record", "stream", "-task", "x"],
        2,
        "-duration is required",
    );
    assert_usage(
        &["record", "stream", "-task", "x", "-duration", "soon"],
        2,
        "invalid -duration",
    );
    assert_usage(
        &["record", "stream", "-duration", "1m"],
        2,
        "-task is required",
    );
    assert_usage(&["record", "batch"], 2, "-task is required");
    assert_usage(
        &[
            "record",
            "batch",
            "-task",
            "b",
            "-past",
            "1h",
            "-start",
            "2026-01-01T00:00:00Z",
        ],
        2,
        "either -past or -start",
    );
    assert_usage(
        &["record", "batch", "-task", "b", "-start", "yesterday"],
        2,
        "invalid -start",
    );
    assert_usage(
        &["record", "query", "-query", "select 1"],
        2,
        "-type stream|batch is required",
    );
    assert_usage(
        &["record", "stream", "--host", "http://i:8086"],
        2,
        "needs --query",
    );
    assert_usage(&["replay"], 2, "the recording is required");
    assert_usage(&["replay", "r1"], 2, "the task is required");
    assert_usage(
        &["replay", "r1", "t", "-task", "t"],
        2,
        "either with -task or as an argument",
    );
    assert_usage(&["push", "cpu"], 2, "--remote");
    assert_usage(&["stats", "bogus"], 2, "bogus");
    assert_usage(&["level", "loud"], 2, "loud");
    assert_usage(&["define-topic-handler", tick], 3, "invalid handler file");
}

#[test]
fn help_and_version_exit_0() {
    let (code, out, _) = run(&["help"]);
    assert_eq!(code, 0);
    for verb in [
        "define",
        "record",
        "replay",
        "start-recording",
        "push",
        "stats",
    ] {
        assert!(out.contains(verb), "{out}");
    }
    let (code, out, _) = run(&["help", "define"]);
    assert_eq!(code, 0);
    assert!(out.contains("--group-by"), "{out}");
}
