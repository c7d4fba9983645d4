//! Recordings and replays at the `Daemon` level (no HTTP): stream recordings through the
//! write observer, replays isolated from the live task, restart recovery.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kap_api::config::Config;
use kap_api::daemon::Daemon;
use kap_api::daemon::replay::INTERRUPTED;
use kap_api_types::{CreateReplay, CreateTask, DbRp, RecordStream};
use kap_dataflow::point::{FieldValue, Point, Sym};
use kap_ingest::line_protocol::Precision;
use kap_ingest::recording::read_srpl;

fn open(dir: &Path) -> Arc<Daemon> {
    let config = Config {
        data_dir: dir.join("data"),
        ..Config::default()
    };
    Daemon::open(config).expect("daemon opens")
}

fn point(measurement: &str, db: &str, rp: &str, value: f64, secs: i64) -> Point {
    Point::new(
        measurement,
        Vec::new(),
        vec![(Sym::new("value"), FieldValue::Float(value))],
        secs * 1_000_000_000,
    )
    .in_db(db, rp)
}

fn task(d: &Daemon, id: &str, script: &str, status: &str) {
    d.tasks
        .create(CreateTask {
            id: id.into(),
            kind: "stream".into(),
            dbrps: vec![DbRp {
                db: "mydb".into(),
                rp: "myrp".into(),
            }],
            script: script.into(),
            status: status.into(),
            ..CreateTask::default()
        })
        .expect("task created");
}

fn record(d: &Daemon, id: &str, task: &str, stop: &str) {
    let r = d
        .replays
        .record_stream(
            &d.tasks,
            RecordStream {
                id: id.into(),
                task: task.into(),
                stop: stop.into(),
            },
        )
        .expect("recording starts");
    assert_eq!(r.status, "running");
    assert_eq!(r.link.href, format!("/kapacitor/v1/recordings/{id}"));
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

const COUNT_SCRIPT: &str = "stream\n    |from()\n        .measurement('test')\n    |window()\n        .period(10s)\n        .every(10s)\n    |count('value')\n    |httpOut('count')\n";

#[test]
fn stream_recording_writes_a_readable_srpl_of_the_task_points() {
    let dir = crate::tempdir("replay-srpl");
    let d = open(&dir);
    task(&d, "t", COUNT_SCRIPT, "disabled");
    record(&d, "rec", "t", "1970-01-01T00:00:10Z");
    let mut points = Vec::new();
    for s in 0..=10 {
        points.push(point("test", "mydb", "myrp", 1.0, s));
        // Not the task's measurement, nor its dbrp: not recorded.
        points.push(point("other", "mydb", "myrp", 2.0, s));
        points.push(point("test", "otherdb", "myrp", 3.0, s));
    }
    d.runtime.write(points).expect("written");
    let r = d.replays.get_recording("rec").expect("exists");
    assert_eq!(r.status, "running", "no point after stop yet");
    // A point after stop ends the recording (and is not recorded).
    d.runtime
        .write(vec![point("test", "mydb", "myrp", 9.0, 11)])
        .expect("written");
    let r = d.replays.get_recording("rec").expect("exists");
    assert_eq!(r.status, "finished");
    assert_eq!(r.error, "");
    assert_eq!(r.progress, 1.0);
    assert!(r.size > 0);
    let path = d.config.replay_dir().join("rec.srpl");
    let bytes = std::fs::read(&path).expect("recording file");
    assert_eq!(r.size as usize, bytes.len());
    let records = read_srpl(&bytes, Precision::Nanoseconds).expect("readable");
    assert_eq!(records.len(), 11);
    for (i, rec) in records.iter().enumerate() {
        assert_eq!((rec.db.as_str(), rec.rp.as_str()), ("mydb", "myrp"));
        assert_eq!(rec.point.measurement, "test");
        assert_eq!(rec.point.timestamp, Some(i as i64 * 1_000_000_000));
    }
    // Later writes do not touch a finished recording.
    d.runtime
        .write(vec![point("test", "mydb", "myrp", 1.0, 5)])
        .expect("written");
    assert_eq!(std::fs::read(&path).expect("file").len(), bytes.len());

    assert_eq!(d.replays.list_recordings("").expect("list").len(), 1);
    assert_eq!(d.replays.list_recordings("nope*").expect("list").len(), 0);
    d.replays.delete_recording("rec").expect("deleted");
    assert!(!path.exists());
    assert!(d.replays.get_recording("rec").is_err());
}

#[test]
fn open_ended_recording_of_every_point_stops_on_request() {
    let dir = crate::tempdir("replay-open");
    let d = open(&dir);
    record(&d, "all", "", "");
    d.runtime
        .write(vec![
            point("a", "db1", "rp1", 1.0, 1),
            point("b", "db2", "rp2", 2.0, 1_000_000),
        ])
        .expect("written");
    assert_eq!(
        d.replays.get_recording("all").expect("exists").status,
        "running"
    );
    let r = d.replays.stop_recording("all").expect("stopped");
    assert_eq!(r.status, "finished");
    let bytes = std::fs::read(d.config.replay_dir().join("all.srpl")).expect("file");
    assert_eq!(
        read_srpl(&bytes, Precision::Nanoseconds)
            .expect("readable")
            .len(),
        2
    );
    // Stopping again answers the finished recording.
    assert_eq!(
        d.replays.stop_recording("all").expect("again").status,
        "finished"
    );
}

#[test]
fn invalid_and_duplicate_ids_are_refused() {
    let dir = crate::tempdir("replay-ids");
    let d = open(&dir);
    let e = d
        .replays
        .record_stream(
            &d.tasks,
            RecordStream {
                id: "bad id".into(),
                task: String::new(),
                stop: String::new(),
            },
        )
        .expect_err("invalid id");
    assert_eq!(
        e.message,
        "recording ID must contain only letters, numbers, '-', '.' and '_'. \"bad id\""
    );
    record(&d, "r1", "", "");
    assert!(
        d.replays
            .record_stream(
                &d.tasks,
                RecordStream {
                    id: "r1".into(),
                    ..RecordStream::default()
                },
            )
            .is_err()
    );
    let e = d
        .replays
        .record_stream(
            &d.tasks,
            RecordStream {
                task: "missing".into(),
                ..RecordStream::default()
            },
        )
        .expect_err("unknown task");
    assert_eq!(e.status.as_u16(), 404);
}

#[test]
fn replay_runs_isolated_from_the_live_task() {
    let dir = crate::tempdir("replay-isolated");
    let d = open(&dir);
    let log = dir.join("alert.log");
    let script = format!(
        "stream\n    |from()\n        .measurement('test')\n    |window()\n        .period(10s)\n        .every(10s)\n    |count('value')\n    |httpOut('count')\n    |alert()\n        .id('test-count')\n        .message('{{{{ .ID }}}} got: {{{{ index .Fields \"count\" }}}}')\n        .crit(lambda: TRUE)\n        .log('{}')\n",
        log.display()
    );
    task(&d, "live", &script, "enabled");
    record(&d, "rec", "live", "1970-01-01T00:00:10Z");
    // 15 points in [0s, 10s), one at 10s that closes the window, one after stop.
    let mut points = Vec::new();
    for s in [0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 5, 6, 7, 8, 9, 10, 11] {
        points.push(point("test", "mydb", "myrp", 1.0, s));
    }
    d.runtime.write(points).expect("written");
    let rec = d.replays.get_recording("rec").expect("exists");
    assert_eq!(rec.status, "finished");
    let live = || d.runtime.http_out.json("live", "count");
    wait_until("the live window", || {
        live().is_some_and(|r| r.is_ok_and(|j| j.contains("15")))
    });
    let before = live();
    wait_until("the live alert", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.lines().count() == 1)
    });
    std::fs::remove_file(&log).expect("log removed");

    let r = d
        .replays
        .create_replay(
            &d.tasks,
            CreateReplay {
                id: "rep".into(),
                recording: "rec".into(),
                task: "live".into(),
                recording_time: true,
                clock: "fast".into(),
            },
        )
        .expect("replay starts");
    assert_eq!(r.task, "live");
    assert_eq!(r.link.href, "/kapacitor/v1/replays/rep");
    assert!(d.replays.wait_idle(Duration::from_secs(60)));
    let r = d.replays.get_replay("rep").expect("exists");
    assert_eq!((r.status.as_str(), r.error.as_str()), ("finished", ""));
    assert_eq!(r.progress, 1.0);
    // The replayed task's statistics as it ended, and its DOT with them.
    assert_eq!(
        r.stats["node-stats"]["alert5"]["crits_triggered"], 1,
        "{}",
        r.stats
    );
    assert_eq!(
        r.stats["node-stats"]["window2"]["working_cardinality"], 1,
        "{}",
        r.stats
    );
    let (task, _, dot) = d.replays.replay_stats("rep", false).expect("stats");
    assert_eq!(task, "live");
    assert!(dot.contains("crits_triggered=\"1\""), "{dot}");

    // The replay's inline handler fired, with the recorded times.
    wait_until("the replay alert", || {
        std::fs::read_to_string(&log).is_ok_and(|t| !t.is_empty())
    });
    let text = std::fs::read_to_string(&log).expect("alert log");
    let first: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a line")).expect("JSON");
    assert_eq!(first["message"], "test-count got: 15");
    assert_eq!(first["time"], "1970-01-01T00:00:10Z");
    // The live task's httpOut and state are untouched, and it still runs.
    assert_eq!(live(), before);
    let t = d
        .tasks
        .get("live", kap_api::daemon::tasks::ViewOptions::default())
        .expect("task");
    assert!(t.executing);
    assert_eq!(t.status, "enabled");

    // Shifted to now when recording-time is false.
    std::fs::remove_file(&log).expect("log removed");
    d.replays
        .create_replay(
            &d.tasks,
            CreateReplay {
                id: "rep-now".into(),
                recording: "rec".into(),
                task: "live".into(),
                recording_time: false,
                clock: String::new(),
            },
        )
        .expect("replay starts");
    assert!(d.replays.wait_idle(Duration::from_secs(60)));
    assert_eq!(
        d.replays.get_replay("rep-now").expect("exists").status,
        "finished"
    );
    wait_until("the shifted alert", || {
        std::fs::read_to_string(&log).is_ok_and(|t| !t.is_empty())
    });
    let text = std::fs::read_to_string(&log).expect("alert log");
    let first: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a line")).expect("JSON");
    let year = first["time"].as_str().expect("time")[..4].to_string();
    assert_ne!(year, "1970");
    assert_eq!(live(), before);

    assert_eq!(d.replays.list_replays("").expect("list").len(), 2);
    d.replays.delete_replay("rep").expect("deleted");
    assert_eq!(d.replays.list_replays("").expect("list").len(), 1);
}

#[test]
fn replay_refuses_unknown_or_unfinished_recordings() {
    let dir = crate::tempdir("replay-refuse");
    let d = open(&dir);
    task(&d, "t", COUNT_SCRIPT, "disabled");
    let replay = |rec: &str| {
        d.replays.create_replay(
            &d.tasks,
            CreateReplay {
                recording: rec.into(),
                task: "t".into(),
                ..CreateReplay::default()
            },
        )
    };
    assert_eq!(replay("missing").expect_err("unknown").status.as_u16(), 404);
    record(&d, "running", "t", "");
    assert_eq!(replay("running").expect_err("running").status.as_u16(), 400);
}

#[test]
fn running_recordings_and_replays_fail_after_a_restart() {
    let dir = crate::tempdir("replay-restart");
    {
        let d = open(&dir);
        record(&d, "r", "", "");
        d.runtime
            .write(vec![point("a", "db", "rp", 1.0, 1)])
            .expect("written");
        d.store
            .put(&kap_api::store::ReplayRecord {
                id: "rep".into(),
                task: "t".into(),
                recording: "r".into(),
                recording_time: false,
                clock: "fast".into(),
                date: chrono::Utc::now(),
                error: String::new(),
                status: "running".into(),
                progress: 0.5,
                stats: serde_json::Value::Null,
                dot: Default::default(),
            })
            .expect("stored");
    }
    let d = open(&dir);
    let r = d.replays.get_recording("r").expect("kept");
    assert_eq!(
        (r.status.as_str(), r.error.as_str()),
        ("failed", INTERRUPTED)
    );
    let r = d.replays.get_replay("rep").expect("kept");
    assert_eq!(
        (r.status.as_str(), r.error.as_str()),
        ("failed", INTERRUPTED)
    );
}

/// A replay's alerts reach the configured services: a post handler naming an
/// `[[httppost]]` endpoint posts to its URL, and `.slack()` to the `[[slack]]` workspace.
#[test]
fn replay_alerts_reach_endpoints_and_services() {
    let (url, got) = crate::daemon::http_sink();
    let dir = crate::tempdir("replay-services");
    let config = Config {
        data_dir: dir.join("data"),
        httppost: vec![kap_api::config::HttpPostConfig {
            endpoint: "sink".into(),
            url: format!("{url}/endpoint"),
            ..Default::default()
        }],
        services: kap_api::alert_handlers::ServiceConfigs {
            slack: vec![kap_api::alert_handlers::SlackConfig {
                enabled: true,
                url: format!("{url}/slack"),
                ..Default::default()
            }],
            ..Default::default()
        },
        ..Config::default()
    };
    let d = Daemon::open(config).expect("daemon opens");
    task(
        &d,
        "t",
        "stream\n    |from()\n        .measurement('test')\n    |alert()\n        .crit(lambda: TRUE)\n        .message('replayed')\n        .post()\n            .endpoint('sink')\n        .slack()\n",
        "disabled",
    );
    record(&d, "rec", "t", "1970-01-01T00:00:10Z");
    d.runtime
        .write(vec![
            point("test", "mydb", "myrp", 1.0, 1),
            point("test", "mydb", "myrp", 1.0, 11),
        ])
        .expect("written");
    assert_eq!(
        d.replays.get_recording("rec").expect("exists").status,
        "finished"
    );
    d.replays
        .create_replay(
            &d.tasks,
            CreateReplay {
                id: "rep".into(),
                recording: "rec".into(),
                task: "t".into(),
                recording_time: true,
                clock: "fast".into(),
            },
        )
        .expect("replay starts");
    assert!(d.replays.wait_idle(Duration::from_secs(60)));
    wait_until("both posts", || got.lock().unwrap().len() >= 2);
    let posts = got.lock().unwrap().clone();
    let to = |path: &str| {
        posts
            .iter()
            .find(|(head, _)| head.starts_with(&format!("POST {path} ")))
            .map(|(_, body)| serde_json::from_str::<serde_json::Value>(body).expect("JSON"))
            .unwrap_or_else(|| panic!("no post to {path}: {posts:?}"))
    };
    assert_eq!(to("/endpoint")["message"], "replayed");
    assert_eq!(to("/slack")["attachments"][0]["text"], "replayed");
}
