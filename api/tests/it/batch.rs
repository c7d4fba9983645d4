//! Batch tasks, influxDBOut, subscriptions and batch recordings against a real `influxd`
//! (Debian's `influxdb` 1.6 package, started on free ports for each test).

use crate::daemon::{Daemon, Extra, log_lines, ok, wait_for};
use kap_influxdb::testing::Influxd;
use std::time::Duration;

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// A daemon whose default `[[influxdb]]` cluster is `influxd`.
fn daemon_with(name: &str, influxd: &Influxd, subscriptions: bool) -> Daemon {
    Daemon::start_config(
        name,
        Extra {
            influxdb: format!(
                "[[influxdb]]\nenabled = true\ndefault = true\nname = \"local\"\nurls = [\"{}\"]\ntimeout = \"10s\"\ndisable-subscriptions = {}\nkapacitor-hostname = \"127.0.0.1\"\nsubscriptions-sync-interval = \"1s\"\n",
                influxd.url(),
                !subscriptions
            ),
            ..Extra::default()
        },
    )
}

/// `cpu,host=h value=v t` lines: one point per host every second over the last `secs`.
fn cpu_lines(hosts: &[&str], secs: i64, value: f64) -> String {
    let now = now_ns();
    let mut out = String::new();
    for h in hosts {
        for i in 0..secs {
            let t = now - (secs - i) * 1_000_000_000;
            out.push_str(&format!("cpu,host={h} value={value} {t}\n"));
        }
    }
    out
}

/// Defines and enables stream task `id` on telegraf.autogen.
fn enable_telegraf_stream_task(d: &Daemon, id: &str, script: &str) {
    let body = serde_json::json!({
        "id": id,
        "type": "stream",
        "dbrps": [{"db": "telegraf", "rp": "autogen"}],
        "script": script,
        "status": "enabled",
    })
    .to_string();
    let (status, resp) = d.req("POST", "/kapacitor/v1/tasks", Some(&body));
    assert_eq!(status, 200, "{resp}");
}

/// Waits until `influxd` lists one of kapacitord's subscriptions.
fn wait_subscribed(influxd: &Influxd, what: &str) {
    wait_for(30, what, || {
        let r = influxd.query("", "SHOW SUBSCRIPTIONS");
        serde_json::to_string(&r)
            .unwrap_or_default()
            .contains("kapacitor-")
    });
}

/// The first value of the first row of an answer (a `count`'s).
fn first_value(r: &kap_influxdb::Response) -> Option<i64> {
    r.results
        .first()
        .and_then(|s| s.series.first())
        .and_then(|s| s.values.first())
        .and_then(|row| row.get(1))
        .and_then(|v| v.as_i64())
}

fn stdout(o: &std::process::Output) -> String {
    ok(o).trim().to_string()
}

/// The original design's batch workflow end to end: data in InfluxDB, `define batcher`,
/// `record batch`, `replay`, edit the query, record and replay again, `enable`, and alerts
/// from the live schedule.
#[test]
fn seed_batch_workflow_end_to_end() {
    let influxd = Influxd::start();
    influxd.create_database("telegraf");
    influxd.write_lines("telegraf", &cpu_lines(&["a", "b"], 120, 10.0));
    let d = daemon_with("batch-seed", &influxd, false);
    let dir = d.dir.to_path_buf();
    let log = dir.join("alerts.log");
    let fragment = dir.join("cpu.tick");
    std::fs::write(
        &fragment,
        format!(
            "|alert()\n    .crit(lambda: \"mean\" < 30)\n    .log('{}')\n",
            log.display()
        ),
    )
    .expect("fragment");
    let frag = fragment.to_string_lossy().into_owned();
    let define = |query: &str| {
        ok(&d.cli(&[
            "define",
            "batcher",
            "--name",
            "cpu_batch",
            "--query",
            query,
            "--period",
            "1s",
            "--group-by",
            "10m",
            "--dbrp",
            "telegraf.autogen",
            "--script",
            &frag,
        ]))
    };

    // 1. define batcher: disabled, a batch task.
    define("SELECT mean(value) FROM cpu GROUP BY host");
    let t = d.json("/kapacitor/v1/tasks/cpu_batch");
    assert_eq!(t["type"], "batch", "{t}");
    assert_eq!(t["status"], "disabled");

    // 2. record the most recent schedule window (the seed's bare `record batch NAME`).
    let rec = stdout(&d.cli(&["record", "batch", "cpu_batch"]));
    let r = d.json(&format!("/kapacitor/v1/recordings/{rec}"));
    assert_eq!(r["status"], "finished", "{r}");
    assert_eq!(r["type"], "batch", "{r}");
    assert!(r["size"].as_i64().unwrap_or(0) > 0, "{r}");

    // 3. replay it into the disabled task: one alert per host.
    ok(&d.cli(&["replay", &rec, "cpu_batch"]));
    wait_for(20, "the replay's alerts", || log_lines(&log).len() >= 2);
    let lines = log_lines(&log);
    assert!(lines.iter().all(|l| l["level"] == "CRITICAL"), "{lines:?}");
    let mut ids: Vec<String> = lines.iter().map(|l| l["id"].to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "one alert per host: {lines:?}");
    let t = d.json("/kapacitor/v1/tasks/cpu_batch");
    assert_eq!(t["status"], "disabled", "a replay does not enable the task");

    // 4. edit the query so it returns nothing, record and replay again: no alert.
    std::fs::remove_file(&log).expect("rm log");
    define("SELECT mean(value) FROM cpu WHERE value > 50 GROUP BY host");
    let rec2 = stdout(&d.cli(&["record", "batch", "cpu_batch", "-past", "10m"]));
    ok(&d.cli(&["replay", &rec2, "cpu_batch"]));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        log_lines(&log).is_empty(),
        "the edited query gives no alert"
    );

    // 5. back to the first query, enable: the live schedule queries every second.
    define("SELECT mean(value) FROM cpu GROUP BY host");
    ok(&d.cli(&["enable", "cpu_batch"]));
    wait_for(30, "alerts from the live schedule", || {
        log_lines(&log).len() >= 2
    });
    let t = d.json("/kapacitor/v1/tasks/cpu_batch");
    assert_eq!(t["executing"], true, "{t}");
    let query = &t["stats"]["node-stats"]["query1"];
    assert!(query["batches_queried"].as_i64() >= Some(2), "{t}");
    assert!(query["points_queried"].as_i64() >= Some(2), "{t}");
    assert_eq!(query["query_errors"], 0, "{t}");
    assert!(
        t["dot"].as_str().unwrap_or("").contains("batches_queried"),
        "{t}"
    );
}

/// A stream task sees points written to InfluxDB through the subscription kapacitord
/// creates, and its influxDBOut results can be read back with a query.
#[test]
fn subscription_feeds_stream_tasks_and_influxdb_out_writes_back() {
    let influxd = Influxd::start();
    influxd.create_database("telegraf");
    let d = daemon_with("batch-subs", &influxd, true);
    let script = "stream\n    |from()\n        .measurement('cpu')\n    |eval(lambda: \"value\" * 2.0)\n        .as('double')\n    |influxDBOut()\n        .create()\n        .database('results')\n        .retentionPolicy('autogen')\n        .measurement('cpu_double')\n        .buffer(1)\n        .flushInterval(100ms)\n";
    enable_telegraf_stream_task(&d, "double", script);
    // The subscription exists once kapacitord has synced.
    wait_subscribed(&influxd, "kapacitord's subscription on telegraf.autogen");
    let (status, body) = d.req("POST", "/kapacitor/v1/subscriptions", None);
    assert_eq!(status, 204, "relinking is idempotent: {body}");
    let vars = d.json("/kapacitor/v1/debug/vars");
    assert!(vars["num_subscriptions"].as_i64() >= Some(1), "{vars}");
    assert!(
        !vars["cluster_id"].as_str().unwrap_or("").is_empty(),
        "{vars}"
    );
    // Points written to InfluxDB reach the task through the subscription; its results are
    // written to the `results` database kapacitord created.
    let t0 = now_ns() - 10_000_000_000;
    let lines: String = (0..5)
        .map(|i| format!("cpu,host=a value={i} {}\n", t0 + i * 1_000_000_000))
        .collect();
    influxd.write_lines("telegraf", &lines);
    wait_for(30, "influxDBOut's points in InfluxDB", || {
        let r = influxd.query("results", "SELECT count(double) FROM cpu_double");
        first_value(&r) == Some(5)
    });
    let r = influxd.query("results", "SELECT double FROM cpu_double WHERE host = 'a'");
    let values: Vec<f64> = r.results[0].series[0]
        .values
        .iter()
        .filter_map(|row| row.get(1).and_then(|v| v.as_f64()))
        .collect();
    assert_eq!(values, vec![0.0, 2.0, 4.0, 6.0, 8.0]);
    // Node stats are published periodically.
    let t = d.wait_json("/kapacitor/v1/tasks/double", 20, |t| {
        t["stats"]["node-stats"]["influxdb_out3"]["points_written"] == 5
    });
    let out = &t["stats"]["node-stats"]["influxdb_out3"];
    assert_eq!(out["write_errors"], 0, "{t}");
}

/// With `subscription-protocol = "udp"`, kapacitord listens on a UDP port per subscribed
/// database and retention policy and names it in its subscription: points written to
/// InfluxDB reach a stream task over UDP.
#[test]
fn udp_subscription_feeds_stream_tasks() {
    let influxd = Influxd::start();
    influxd.create_database("telegraf");
    let d = Daemon::start_config(
        "batch-udp-subs",
        Extra {
            influxdb: format!(
                "[[influxdb]]\nenabled = true\ndefault = true\nname = \"local\"\nurls = [\"{}\"]\ntimeout = \"10s\"\nkapacitor-hostname = \"127.0.0.1\"\nsubscription-protocol = \"udp\"\nudp-bind = \"127.0.0.1\"\nsubscriptions-sync-interval = \"1s\"\n",
                influxd.url()
            ),
            ..Extra::default()
        },
    );
    let script = "stream\n    |from()\n        .measurement('cpu')\n    |window()\n        .periodCount(3)\n        .everyCount(3)\n    |httpOut('out')\n";
    enable_telegraf_stream_task(&d, "udp", script);
    wait_subscribed(
        &influxd,
        "kapacitord's UDP subscription on telegraf.autogen",
    );
    let subs = serde_json::to_string(&influxd.query("", "SHOW SUBSCRIPTIONS")).unwrap();
    assert!(subs.contains("udp://127.0.0.1:"), "{subs}");
    let t0 = now_ns() - 10_000_000_000;
    let lines: String = (0..3)
        .map(|i| format!("cpu,host=a value={i} {}\n", t0 + i * 1_000_000_000))
        .collect();
    influxd.write_lines("telegraf", &lines);
    let out = d.wait_json("/kapacitor/v1/tasks/udp/out", 30, |v| {
        v["series"][0]["values"].as_array().map(Vec::len) == Some(3)
    });
    let values: Vec<f64> = out["series"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|row| row[row.as_array()?.len() - 1].as_f64())
        .collect();
    assert_eq!(values, vec![0.0, 1.0, 2.0], "{out}");
}

/// `record query` as stream and batch data, replays of both, and replay-live of a batch
/// task and of a query.
#[test]
fn query_recordings_and_replay_live() {
    let influxd = Influxd::start();
    influxd.create_database("telegraf");
    influxd.write_lines("telegraf", &cpu_lines(&["a"], 30, 5.0));
    let d = daemon_with("batch-query", &influxd, false);
    let dir = d.dir.to_path_buf();
    let slog = dir.join("stream.log");
    let blog = dir.join("batch.log");
    let stream = format!(
        "stream\n    |from()\n        .measurement('cpu')\n    |window()\n        .periodCount(5)\n        .everyCount(5)\n    |mean('value')\n    |alert()\n        .crit(lambda: \"mean\" < 30)\n        .log('{}')\n",
        slog.display()
    );
    let batch = format!(
        "batch\n    |query('SELECT mean(value) FROM \"telegraf\".\"autogen\".\"cpu\"')\n        .period(1m)\n        .every(30s)\n        .groupBy(time(10s), 'host')\n    |alert()\n        .crit(lambda: \"mean\" < 30)\n        .log('{}')\n",
        blog.display()
    );
    for (id, kind, script) in [("s", "stream", &stream), ("b", "batch", &batch)] {
        let body = serde_json::json!({
            "id": id, "type": kind, "script": script, "status": "disabled",
            "dbrps": [{"db": "telegraf", "rp": "autogen"}],
        })
        .to_string();
        let (status, resp) = d.req("POST", "/kapacitor/v1/tasks", Some(&body));
        assert_eq!(status, 200, "{resp}");
    }
    let q = "SELECT value FROM telegraf.autogen.cpu WHERE time > now() - 1m";
    let qb = "SELECT mean(value) FROM telegraf.autogen.cpu WHERE time > now() - 1m GROUP BY time(10s), host";

    // record query -type stream, replayed into the stream task.
    let rs = stdout(&d.cli(&["record", "query", "-query", q, "-type", "stream"]));
    assert_eq!(
        d.json(&format!("/kapacitor/v1/recordings/{rs}"))["type"],
        "stream"
    );
    ok(&d.cli(&["replay", &rs, "s"]));
    wait_for(20, "alerts of the stream replay", || {
        !log_lines(&slog).is_empty()
    });

    // record query -type batch, replayed into the batch task.
    let rb = stdout(&d.cli(&["record", "query", "-query", qb, "-type", "batch"]));
    ok(&d.cli(&["replay", &rb, "b"]));
    wait_for(20, "alerts of the batch replay", || {
        !log_lines(&blog).is_empty()
    });
    // A batch recording does not replay into a stream task.
    let out = d.cli(&["replay", &rb, "s"]);
    assert!(!out.status.success());

    // replay-live batch and query, no recording.
    std::fs::remove_file(&blog).expect("rm");
    let before = d.json("/kapacitor/v1/recordings")["recordings"]
        .as_array()
        .map(Vec::len);
    ok(&d.cli(&["replay-live", "batch", "-task", "b", "-past", "2m"]));
    wait_for(20, "alerts of replay-live batch", || {
        !log_lines(&blog).is_empty()
    });
    std::fs::remove_file(&slog).expect("rm");
    ok(&d.cli(&["replay-live", "query", "-task", "s", "-query", q]));
    wait_for(20, "alerts of replay-live query", || {
        !log_lines(&slog).is_empty()
    });
    let after = d.json("/kapacitor/v1/recordings")["recordings"]
        .as_array()
        .map(Vec::len);
    assert_eq!(before, after, "replay-live stores no recording");

    // Errors name what is wrong.
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/recordings/query",
        Some(r#"{"type":"batch","query":"SELECT nope FROM"}"#),
    );
    assert_eq!(status, 201, "the recording starts: {body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = d.wait_json(&format!("/kapacitor/v1/recordings/{id}"), 20, |v| {
        v["status"] != "running"
    });
    assert_eq!(r["status"], "failed", "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap_or("")
            .contains("SELECT nope FROM"),
        "{r}"
    );
}

/// Failed queries are counted in `query_errors` and retried at every tick; a query whose
/// measurement names no database, for a task without dbrp and a cluster without
/// subscriptions, is refused when the task starts, saying what to do; the seed's form of
/// `define batcher` alerts from the live schedule.
#[test]
fn query_errors_missing_databases_and_the_seed_form() {
    let influxd = Influxd::start();
    influxd.create_database("telegraf");
    influxd.write_lines("telegraf", &cpu_lines(&["a"], 60, 10.0));
    let d = daemon_with("batch-errors", &influxd, false);
    // The service test pings a cluster: the default one, or the one named.
    for (options, want) in [
        ("{}", serde_json::json!({"success": true, "message": ""})),
        (
            r#"{"cluster": "local"}"#,
            serde_json::json!({"success": true, "message": ""}),
        ),
        (
            r#"{"cluster": "nope"}"#,
            serde_json::json!({"success": false,
                "message": "cluster \"nope\" is not enabled or does not exist"}),
        ),
    ] {
        let (status, body) = d.req(
            "POST",
            "/kapacitor/v1/service-tests/influxdb",
            Some(options),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap(),
            want
        );
    }
    let create = |id: &str, query: &str, dbrps: serde_json::Value| {
        let script = format!(
            "batch\n    |query('{query}')\n        .period(1m)\n        .every(1s)\n    |log()\n"
        );
        let body = serde_json::json!({
            "id": id, "type": "batch", "dbrps": dbrps, "script": script, "status": "enabled",
        })
        .to_string();
        d.req("POST", "/kapacitor/v1/tasks", Some(&body))
    };

    // InfluxDB refuses the query at every run: counted, retried, the task keeps running.
    let (status, body) = create(
        "bad",
        "SELECT nosuchfn(value) FROM \"telegraf\".\"autogen\".\"cpu\"",
        serde_json::json!([]),
    );
    assert_eq!(status, 200, "{body}");
    let t = d.wait_json("/kapacitor/v1/tasks/bad", 30, |t| {
        t["stats"]["node-stats"]["query1"]["query_errors"].as_i64() >= Some(2)
    });
    assert_eq!(t["executing"], true, "{t}");
    assert_eq!(
        t["stats"]["node-stats"]["query1"]["batches_queried"], 0,
        "{t}"
    );

    // No database anywhere for `FROM cpu`: the create that enabled it fails (the task is
    // kept, with its error).
    let (status, body) = create("nodb", "SELECT mean(value) FROM cpu", serde_json::json!([]));
    assert_eq!(status, 500, "{body}");
    let t = d.json("/kapacitor/v1/tasks/nodb");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"],
        t["error"],
        "{t}"
    );
    assert_eq!(t["executing"], false, "{body} {t}");
    let err = t["error"].as_str().unwrap_or("");
    assert!(
        err.contains("does not name its database") && err.contains("dbrp"),
        "{t}"
    );

    // Kapacitor's `TestServer_InvalidBatchTask`: a task given dbrps queries only those.
    // Created disabled, then enabled as the Go test does: the PATCH answers the error.
    let script = "batch\n    |query(' SELECT value from unknowndb.unknownrp.cpu ')\n        .every(1s)\n    |count('value')\n    |httpOut('count')\n";
    let body = serde_json::json!({
        "id": "otherdb", "type": "batch", "dbrps": [{"db": "telegraf", "rp": "autogen"}],
        "script": script, "status": "disabled",
    })
    .to_string();
    let (status, body) = d.req("POST", "/kapacitor/v1/tasks", Some(&body));
    assert_eq!(status, 200, "{body}");
    let want = "batch query is not allowed to request data from \"unknowndb\".\"unknownrp\"";
    let (status, body) = d.req(
        "PATCH",
        "/kapacitor/v1/tasks/otherdb",
        Some(r#"{"status": "enabled"}"#),
    );
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"],
        want
    );
    let t = d.json("/kapacitor/v1/tasks/otherdb");
    assert_eq!(
        (&t["status"], &t["executing"], &t["error"]),
        (&"enabled".into(), &false.into(), &want.into()),
        "{t}"
    );
    let (status, body) = d.req("DELETE", "/kapacitor/v1/tasks/otherdb", None);
    assert_eq!(status, 204, "{body}");
    let (_, body) = create(
        "samedb",
        "SELECT count(value) FROM \"telegraf\".\"autogen\".cpu",
        serde_json::json!([{"db": "telegraf", "rp": "autogen"}]),
    );
    let t = d.json("/kapacitor/v1/tasks/samedb");
    assert_eq!(
        (&t["executing"], &t["error"]),
        (&true.into(), &"".into()),
        "{body} {t}"
    );

    // The seed form: `alert(avg(window(mean, 2)), <, 30)` over the query's rows.
    let seed = d.dir.join("cpu.seed");
    std::fs::write(&seed, "alert(avg(window(mean, 2)), <, 30)\n").expect("seed");
    ok(&d.cli(&[
        "define",
        "batcher",
        "--name",
        "seed_batch",
        "--query",
        "SELECT mean(value) FROM cpu GROUP BY host",
        "--period",
        "1s",
        "--group-by",
        "10s",
        "--dbrp",
        "telegraf.autogen",
        "--script",
        &seed.to_string_lossy(),
    ]));
    ok(&d.cli(&["enable", "seed_batch"]));
    // Rows keep arriving only while the data is recent: write a fresh minute.
    influxd.write_lines("telegraf", &cpu_lines(&["a"], 60, 10.0));
    d.wait_json("/kapacitor/v1/tasks/seed_batch", 30, |t| {
        t["stats"]["node-stats"]
            .as_object()
            .is_some_and(|n| n.values().any(|s| s["crits_triggered"].as_i64() > Some(0)))
    });
}

/// A batch recording replays on the real clock when asked: its batches come as far apart
/// as their times are.
#[test]
fn batch_replays_follow_the_real_clock() {
    let influxd = Influxd::start();
    influxd.create_database("telegraf");
    let t0 = now_ns() - 60_000_000_000;
    influxd.write_lines(
        "telegraf",
        &format!(
            "cpu,host=a value=1 {t0}\ncpu,host=b value=1 {}\n",
            t0 + 2_000_000_000
        ),
    );
    let d = daemon_with("batch-real", &influxd, false);
    let body = serde_json::json!({
        "id": "b", "type": "batch", "status": "disabled",
        "script": "batch\n    |query('SELECT value FROM \"telegraf\".\"autogen\".\"cpu\"')\n        .period(1m)\n        .every(1m)\n        .groupBy('host')\n    |log()\n",
    })
    .to_string();
    let (status, resp) = d.req("POST", "/kapacitor/v1/tasks", Some(&body));
    assert_eq!(status, 200, "{resp}");
    let rec = stdout(&d.cli(&[
        "record",
        "query",
        "-type",
        "batch",
        "-query",
        "SELECT value FROM telegraf.autogen.cpu WHERE time > now() - 5m GROUP BY host",
    ]));
    let timed = |args: &[&str]| {
        let start = std::time::Instant::now();
        ok(&d.cli(args));
        start.elapsed()
    };
    let fast = timed(&["replay", &rec, "b"]);
    let real = timed(&["replay", &rec, "b", "-real-clock"]);
    assert!(real >= Duration::from_millis(1800), "real clock: {real:?}");
    assert!(
        real > fast + Duration::from_millis(1000),
        "fast {fast:?}, real {real:?}"
    );
}

/// `/config/influxdb`, as Kapacitor's `TestServer_BatchTask_InfluxDBConfigUpdate`: a batch
/// task started against a cluster that does not answer follows the cluster's new URL set
/// through the API at once; the element shows with its password redacted; a cluster added
/// through the API is queried by name and written to by `influxDBOut`; a bad URL is refused.
#[test]
fn influxdb_clusters_change_at_runtime() {
    let influxd = Influxd::start();
    influxd.create_database("telegraf");
    influxd.create_database("results");
    influxd.write_lines("telegraf", &cpu_lines(&["a"], 30, 5.0));
    let d = Daemon::start_config(
        "batch-config",
        Extra {
            influxdb: "[[influxdb]]\nenabled = true\ndefault = true\nname = \"local\"\nurls = [\"http://127.0.0.1:1\"]\nusername = \"bob\"\npassword = \"secret\"\ntimeout = \"10s\"\ndisable-subscriptions = true\n".into(),
            ..Extra::default()
        },
    );
    let script = "batch\n    |query('SELECT count(value) FROM \"telegraf\".\"autogen\".\"cpu\"')\n        .period(1m)\n        .every(1s)\n    |httpOut('count')\n";
    let body = serde_json::json!({"id": "b", "type": "batch", "dbrps": [], "script": script, "status": "enabled"});
    let (status, text) = d.req("POST", "/kapacitor/v1/tasks", Some(&body.to_string()));
    assert_eq!(status, 200, "{text}");
    d.wait_json("/kapacitor/v1/tasks/b", 30, |t| {
        t["stats"]["node-stats"]["query1"]["query_errors"].as_i64() >= Some(1)
    });

    let element = d.json("/kapacitor/v1/config/influxdb/local");
    assert_eq!(element["options"]["password"], true, "{element}");
    assert_eq!(element["options"]["username"], "bob");
    assert_eq!(
        element["options"]["urls"],
        serde_json::json!(["http://127.0.0.1:1"])
    );
    assert_eq!(
        element["redacted"],
        serde_json::json!(["password", "token", "http-shared-secret"])
    );
    // Go's nil map, as Kapacitor shows an unset `subscriptions`.
    assert_eq!(element["options"]["subscriptions"], serde_json::Value::Null);
    assert_eq!(
        element["options"]["excluded-subscriptions"],
        serde_json::json!({"_kapacitor": ["autogen"]})
    );
    let set = serde_json::json!({"set": {"urls": [influxd.url()], "username": "", "password": ""}});
    let (status, text) = d.req(
        "POST",
        "/kapacitor/v1/config/influxdb/local",
        Some(&set.to_string()),
    );
    assert_eq!(status, 204, "{text}");
    d.wait_json("/kapacitor/v1/tasks/b/count", 30, |v| {
        v["series"][0]["values"][0][1] == 30
    });
    assert_eq!(
        d.json("/kapacitor/v1/config/influxdb/local")["options"]["urls"],
        serde_json::json!([influxd.url()])
    );

    // A second cluster, added through the API, queried and written to by name, and
    // subscribed to at once.
    let add = serde_json::json!({"add": {
        "name": "other", "enabled": true, "urls": [influxd.url()],
        "kapacitor-hostname": "127.0.0.1", "subscriptions-sync-interval": "1s",
    }});
    let (status, text) = d.req(
        "POST",
        "/kapacitor/v1/config/influxdb",
        Some(&add.to_string()),
    );
    assert_eq!(status, 204, "{text}");
    let script = "batch\n    |query('SELECT mean(value) AS m FROM \"telegraf\".\"autogen\".\"cpu\"')\n        .period(1m)\n        .every(1s)\n        .cluster('other')\n    |influxDBOut()\n        .cluster('other')\n        .database('results')\n        .retentionPolicy('autogen')\n        .measurement('cpu_mean')\n";
    let body = serde_json::json!({"id": "o", "type": "batch", "dbrps": [], "script": script, "status": "enabled"});
    let (status, text) = d.req("POST", "/kapacitor/v1/tasks", Some(&body.to_string()));
    assert_eq!(status, 200, "{text}");
    wait_subscribed(&influxd, "kapacitord's subscription on the added cluster");
    wait_for(30, "the added cluster's influxDBOut points", || {
        let r = influxd.query("results", "SELECT count(m) FROM cpu_mean");
        first_value(&r) >= Some(1)
    });

    // A URL that is not one is refused, saying where; nothing changes.
    let bad = serde_json::json!({"set": {"urls": ["localhost:8086"]}});
    let (status, text) = d.req(
        "POST",
        "/kapacitor/v1/config/influxdb/other",
        Some(&bad.to_string()),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("influxdb[1].urls"), "{text}");
    assert_eq!(
        d.json("/kapacitor/v1/config/influxdb/other")["options"]["urls"],
        serde_json::json!([influxd.url()])
    );
}
