//! UDFs (`[udf.functions]`): a real agent process (`tests/udf/moving_avg.py`, written as
//! users write agents, the protocol by hand) checked at start, its options checked in
//! scripts, and points and batches through it in running tasks.

use crate::daemon::{Daemon, Extra, refuses_config};

fn agent() -> String {
    format!("{}/tests/udf/moving_avg.py", env!("CARGO_MANIFEST_DIR"))
}

fn daemon(name: &str) -> Daemon {
    Daemon::start_config(
        name,
        Extra {
            tail: format!(
                "[udf]\n[udf.functions.movingAvg]\nprog = \"python3\"\nargs = [\"-u\", {a:?}]\ntimeout = \"10s\"\n\
                 [udf.functions.batchCount]\nprog = \"python3\"\nargs = [\"-u\", {a:?}]\n\
                 [udf.functions.batchCount.env]\nUDF_MODE = \"batch\"\n",
                a = agent()
            ),
            ..Extra::default()
        },
    )
}

fn create(d: &Daemon, id: &str, script: &str) -> (u16, String) {
    let task = serde_json::json!({
        "id": id, "type": "stream", "dbrps": [{"db": "mydb", "rp": "myrp"}],
        "script": script, "status": "enabled"
    });
    d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()))
}

/// The last row of `path`'s httpOut for `host`: (time, value of `column`).
fn last(d: &Daemon, path: &str, host: &str, column: &str, want: f64) -> String {
    let v = d.wait_json(path, 30, |v| {
        v["series"].as_array().is_some_and(|s| {
            s.iter().any(|s| {
                s["tags"]["host"] == host && {
                    let cols = s["columns"].as_array().unwrap();
                    let i = cols.iter().position(|c| c == column);
                    i.is_some_and(|i| s["values"][0][i].as_f64() == Some(want))
                }
            })
        })
    });
    v.to_string()
}

#[test]
fn a_stream_udf_answers_points_with_its_options() {
    let d = daemon("udf-stream");
    let (status, body) = create(
        &d,
        "avg",
        "stream\n    |from()\n        .measurement('cpu')\n        .groupBy('host')\n    @movingAvg()\n        .field('value')\n        .size(2)\n        .as('avg')\n    |httpOut('out')\n",
    );
    assert_eq!(status, 200, "{body}");
    d.write_s("cpu,host=a value=1 1\ncpu,host=b value=10 1\ncpu,host=a value=2 2\n");
    d.write_s("cpu,host=a value=4 3\ncpu,host=b value=30 3\n");
    let out = last(&d, "/kapacitor/v1/tasks/avg/out", "a", "avg", 3.0);
    assert!(out.contains("1970-01-01T00:00:03Z"), "{out}");
    let out = last(&d, "/kapacitor/v1/tasks/avg/out", "b", "avg", 20.0);
    // The agent's points keep their measurement, group and time.
    assert!(out.contains("\"name\":\"cpu\""), "{out}");
    // The task shows the UDF node in its DOT.
    let task = d.json("/kapacitor/v1/tasks/avg");
    assert!(
        task["dot"].as_str().unwrap().contains("movingAvg2"),
        "{task}"
    );
}

#[test]
fn a_udf_agent_is_restored_from_its_last_snapshot_after_a_restart() {
    let mut d = Daemon::start_config(
        "udf-snapshot",
        Extra {
            tail: format!(
                "[task]\nsnapshot-interval = \"100ms\"\n[udf]\n[udf.functions.movingAvg]\nprog = \"python3\"\nargs = [\"-u\", {:?}]\ntimeout = \"10s\"\n",
                agent()
            ),
            ..Extra::default()
        },
    );
    let script = "stream\n    |from()\n        .measurement('cpu')\n        .groupBy('host')\n    @movingAvg()\n        .field('value')\n        .size(3)\n        .as('avg')\n    |httpOut('out')\n";
    let (status, body) = create(&d, "snap", script);
    assert_eq!(status, 200, "{body}");
    // Two values of three: the agent holds them, nothing comes out yet.
    d.write_s("cpu,host=a value=1 1\ncpu,host=a value=2 2\n");
    // Once both reached the agent, a snapshot asked for later holds them: one is asked
    // for every 100 ms, never while the last is awaited, so the second kept after that
    // moment was asked for after it. Then the daemon dies.
    let task = d.wait_json("/kapacitor/v1/tasks/snap", 30, |t| {
        t["dot"]
            .as_str()
            .is_some_and(|dot| dot.contains("from1 -> movingAvg2 [processed=\"2\"]"))
    });
    let kept = |t: &serde_json::Value| t["stats"]["node-stats"]["movingAvg2"]["snapshots"].as_i64();
    let before = kept(&task).unwrap_or(0);
    d.wait_json("/kapacitor/v1/tasks/snap", 30, |t| {
        kept(t).is_some_and(|n| n >= before + 2)
    });
    d.kill9_and_restart();
    // The new agent is restored with the two values: the third completes the window
    // (without the snapshot it would hold one value, and emit nothing).
    d.write_s("cpu,host=a value=6 3\n");
    let out = last(&d, "/kapacitor/v1/tasks/snap/out", "a", "avg", 3.0);
    assert!(out.contains("1970-01-01T00:00:03Z"), "{out}");
}

#[test]
fn a_batch_udf_answers_each_window() {
    let d = daemon("udf-batch");
    let (status, body) = create(
        &d,
        "count",
        "stream\n    |from()\n        .measurement('cpu')\n        .groupBy('host')\n    |window()\n        .period(10s)\n        .every(10s)\n    @batchCount()\n    |httpOut('out')\n",
    );
    assert_eq!(status, 200, "{body}");
    d.write_s("cpu,host=a value=1 1\ncpu,host=a value=2 2\ncpu,host=a value=3 3\n");
    // A later point closes the group's window [1s, 11s): its batch has tmax 11s.
    d.write_s("cpu,host=a value=4 12\n");
    let out = last(&d, "/kapacitor/v1/tasks/count/out", "a", "count", 3.0);
    assert!(out.contains("1970-01-01T00:00:11Z"), "{out}");
}

#[test]
fn scripts_are_checked_against_the_udfs_info() {
    let d = daemon("udf-checks");
    let refused = |script: &str, why: &str| {
        let (status, body) = create(&d, "bad", script);
        assert_eq!(status, 400, "{body}");
        assert!(body.contains(why), "{why} not in {body}");
    };
    refused(
        "stream\n    |from()\n    @movingAvg()\n        .feild('value')\n",
        "UDF `@movingAvg()` has no option `feild`",
    );
    refused(
        "stream\n    |from()\n    @movingAvg()\n        .size('two')\n",
        "option `.size()` of UDF `@movingAvg()`: value 1 must be int, got string",
    );
    refused(
        "stream\n    |from()\n    @movingAvg()\n        .size(1, 2)\n",
        "takes 1 value(s), got 2",
    );
    refused(
        "stream\n    |from()\n    |window()\n        .period(1s)\n        .every(1s)\n    @movingAvg()\n",
        "`@movingAvg()` cannot follow `window`: the UDF wants a stream, but `window` provides batches",
    );
    refused(
        "stream\n    |from()\n    @nope()\n",
        "unknown UDF `@nope()`",
    );
    // An agent that refuses its options: the node reports it and drops the data.
    let (status, body) = create(
        &d,
        "zero",
        "stream\n    |from()\n        .measurement('cpu')\n    @movingAvg()\n        .size(0)\n    |httpOut('out')\n",
    );
    assert_eq!(status, 200, "{body}");
    d.write_s("cpu,host=a value=1 1\n");
    let line = d.wait_log_line("the init failure", |l| l.contains("init failed"));
    assert!(line.contains("size must be positive, got 0"), "{line}");
}

#[test]
fn a_udf_whose_agent_does_not_answer_keeps_the_daemon_from_starting() {
    let dir = crate::tempdir("udf-refused");
    refuses_config(
        &dir,
        "[udf]\n[udf.functions.gone]\nprog = \"/nonexistent/agent\"\n",
        "[udf.functions.gone]",
    );
    refuses_config(
        &dir,
        "[udf.functions.both]\nprog = \"python3\"\nsocket = \"/tmp/x.sock\"\n",
        "udf.functions.both.socket: a UDF has either prog or socket, not both",
    );
}

/// A UDF served on a unix socket (`socket`): each task node gets its own connection, here
/// to the same agent program, started by a small server for each connection.
#[test]
fn a_socket_udf_gets_a_connection_per_task_node() {
    let dir = crate::tempdir("udf-socket");
    let sock = dir.join("agent.sock");
    let server = "import socket, subprocess, sys\n\
                  s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n\
                  s.bind(sys.argv[1])\n\
                  s.listen(8)\n\
                  while True:\n\
                  \x20   c, _ = s.accept()\n\
                  \x20   subprocess.Popen([sys.executable, '-u', sys.argv[2]], stdin=c.fileno(), stdout=c.fileno())\n\
                  \x20   c.close()\n";
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Server(
        std::process::Command::new("python3")
            .args(["-c", server])
            .arg(&sock)
            .arg(agent())
            .spawn()
            .expect("python3"),
    );
    crate::daemon::wait_for(10, "the agent server's socket", || sock.exists());
    let d = Daemon::start_config(
        "udf-socket",
        Extra {
            tail: format!(
                "[udf.functions.sockAvg]\nsocket = {:?}\ntimeout = \"10s\"\n",
                sock.display().to_string()
            ),
            ..Extra::default()
        },
    );
    for (id, size) in [("two", 2), ("three", 3)] {
        let (status, body) = create(
            &d,
            id,
            &format!(
                "stream\n    |from()\n        .measurement('cpu')\n        .groupBy('host')\n    @sockAvg()\n        .size({size})\n    |httpOut('out')\n"
            ),
        );
        assert_eq!(status, 200, "{body}");
    }
    d.write_s("cpu,host=a value=3 1\ncpu,host=a value=6 2\ncpu,host=a value=9 3\n");
    last(&d, "/kapacitor/v1/tasks/two/out", "a", "avg", 7.5);
    last(&d, "/kapacitor/v1/tasks/three/out", "a", "avg", 6.0);
}

/// An agent that stops answering keepalive requests fails its node within `timeout` (3 s:
/// the agent's first answer, to the info request at the daemon's start, has as long, and
/// a loaded machine can take more than a second to start Python).
#[test]
fn an_agent_that_does_not_answer_keepalives_fails_its_node() {
    let d = Daemon::start_config(
        "udf-hang",
        Extra {
            tail: format!(
                "[udf.functions.stuck]\nprog = \"python3\"\nargs = [\"-u\", {:?}]\ntimeout = \"3s\"\n\
                 [udf.functions.stuck.env]\nUDF_MODE = \"hang\"\n",
                agent()
            ),
            ..Extra::default()
        },
    );
    let (status, body) = create(
        &d,
        "stuck",
        "stream\n    |from()\n        .measurement('cpu')\n    @stuck()\n    |httpOut('out')\n",
    );
    assert_eq!(status, 200, "{body}");
    d.write_s("cpu,host=a value=1 1\n");
    let line = d.wait_log_line("the keepalive failure", |l| {
        l.contains("keepalive timed out")
    });
    assert!(line.contains("UDF stuck"), "{line}");
}
