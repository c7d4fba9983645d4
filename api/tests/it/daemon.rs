//! End-to-end tests: real `kapacitord` processes on 127.0.0.1, driven over HTTP and with the
//! real `kapacitor` binary.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A `kapacitord` process with its own data dir and port.
pub(crate) struct Daemon {
    pub(crate) dir: crate::TestDir,
    pub(crate) port: u16,
    child: Option<Child>,
    extra: Extra,
}

/// Extra configuration text: top-level keys, `[http]` keys, further sections, and the
/// `[[influxdb]]` section (empty: none enabled, so no test daemon ever talks to an InfluxDB
/// it did not start).
#[derive(Debug, Clone, Default)]
pub(crate) struct Extra {
    pub(crate) top: String,
    pub(crate) http: String,
    pub(crate) tail: String,
    pub(crate) influxdb: String,
    /// More `kapacitord` arguments.
    pub(crate) args: Vec<String>,
    /// Environment variables of `kapacitord`.
    pub(crate) env: Vec<(String, String)>,
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The `(time, column)` rows of the series tagged `tag` = `value` in httpOut `path`, once
/// it has `n`, with the series' tags.
pub(crate) fn series_rows(
    d: &Daemon,
    path: &str,
    (tag, value): (&str, &str),
    column: &str,
    n: usize,
) -> (serde_json::Value, Vec<(String, f64)>) {
    let ours = |s: &serde_json::Value| s["tags"][tag] == value;
    let out = d.wait_json(path, 30, |v| {
        v["series"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| ours(s) && s["values"].as_array().map(Vec::len) == Some(n))
        })
    });
    let series = out["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| ours(s))
        .unwrap()
        .clone();
    let cols = series["columns"].as_array().unwrap();
    let at = cols.iter().position(|c| c == column).unwrap();
    let rows = series["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[at].as_f64().unwrap()))
        .collect();
    (series["tags"].clone(), rows)
}

impl Daemon {
    /// Starts a daemon in a fresh directory `name`.
    pub(crate) fn start(name: &str) -> Daemon {
        Daemon::start_with(name, "")
    }

    /// Starts a daemon whose configuration also has the top-level keys in `extra`.
    pub(crate) fn start_with(name: &str, top: &str) -> Daemon {
        Daemon::start_config(
            name,
            Extra {
                top: top.to_string(),
                ..Extra::default()
            },
        )
    }

    /// Starts a daemon with extra configuration.
    pub(crate) fn start_config(name: &str, extra: Extra) -> Daemon {
        let dir = crate::tempdir(name);
        let mut d = Daemon {
            dir,
            port: free_port(),
            child: None,
            extra,
        };
        d.spawn();
        d
    }

    /// The configuration file.
    pub(crate) fn config_path(&self) -> PathBuf {
        self.dir.join("kapacitor.conf")
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        self.launch();
        self.wait_ready();
    }

    /// Starts several daemons at once, each in a fresh directory, and waits until all
    /// answer: the processes of an engine cluster start only together.
    pub(crate) fn start_all(configs: Vec<(&str, Extra)>) -> Vec<Daemon> {
        let mut all: Vec<Daemon> = configs
            .into_iter()
            .map(|(name, extra)| Daemon {
                dir: crate::tempdir(name),
                port: free_port(),
                child: None,
                extra,
            })
            .collect();
        for d in &mut all {
            d.launch();
        }
        for d in &mut all {
            d.wait_ready();
        }
        all
    }

    /// Starts the process, without waiting for it to answer.
    fn launch(&mut self) {
        let conf = self.config_path();
        std::fs::write(
            &conf,
            format!(
                "data_dir = {:?}\n{}\n[http]\nbind-address = \"127.0.0.1:{}\"\n{}\n[logging]\nlevel = \"WARN\"\n{}\n{}\n",
                self.dir.join("data"),
                self.extra.top,
                self.port,
                self.extra.http,
                self.extra.tail,
                if self.extra.influxdb.is_empty() {
                    "[[influxdb]]\nenabled = false\n"
                } else {
                    &self.extra.influxdb
                },
            ),
        )
        .expect("write config");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("kapacitord.log"))
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_kapacitord"))
            .arg("-config")
            .arg(&conf)
            .arg("-pidfile")
            .arg(self.dir.join("kapacitord.pid"))
            .args(&self.extra.args)
            .envs(self.extra.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start kapacitord");
        self.child = Some(child);
    }

    /// Waits up to 30 s for the started process to answer `/ping`.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok((204, _)) = http(self.port, "GET", "/kapacitor/v1/ping", None) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "kapacitord did not answer /ping within 30 s; log:\n{}",
            std::fs::read_to_string(self.dir.join("kapacitord.log")).unwrap_or_default()
        );
    }

    /// Waits up to 10 s for a line of kapacitord's log that `pred` accepts, and returns it;
    /// fails saying `what` is missing.
    pub(crate) fn wait_log_line(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(self.dir.join("kapacitord.log")).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| pred(l)) {
                return line.to_string();
            }
            assert!(Instant::now() < deadline, "no {what} logged:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `kill -9`, then start again on the same data dir and port.
    pub(crate) fn kill9_and_restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
        // A daemon restarted by a script (the API corpus' restart steps) is not our child.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("kapacitord.pid")) {
            let _ = Command::new("kill").arg("-9").arg(pid.trim()).status();
            let _ = std::fs::remove_file(self.dir.join("kapacitord.pid"));
        }
    }

    /// A request; returns status and body.
    pub(crate) fn req(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        http(self.port, method, path, body).expect("HTTP request")
    }

    /// Creates task `id`, enabled, a stream task on `mydb.myrp` running `script`.
    pub(crate) fn enable_task(&self, id: &str, script: &str) {
        let task = serde_json::json!({
            "id": id, "type": "stream", "dbrps": [{"db": "mydb", "rp": "myrp"}],
            "script": script, "status": "enabled"
        });
        let (status, body) = self.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()));
        assert_eq!(status, 200, "create task {id}: {body}");
    }

    /// Writes line protocol (seconds) to `mydb.myrp`.
    pub(crate) fn write_s(&self, lines: &str) {
        let (status, body) = self.req(
            "POST",
            "/kapacitor/v1/write?db=mydb&rp=myrp&precision=s",
            Some(lines),
        );
        assert_eq!(status, 204, "write {lines:?}: {body}");
    }

    /// GET a JSON document.
    pub(crate) fn json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.req("GET", path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("JSON body")
    }

    /// Runs the `kapacitor` CLI against this daemon.
    pub(crate) fn cli(&self, args: &[&str]) -> Output {
        Command::new(kapacitor_bin())
            .arg("-url")
            .arg(self.url())
            .args(args)
            .output()
            .expect("run kapacitor")
    }

    /// Polls `path` until `pred` holds on its JSON, or panics after `secs`.
    pub(crate) fn wait_json(
        &self,
        path: &str,
        secs: u64,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (status, body) = self.req("GET", path, None);
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            if (200..300).contains(&status) && pred(&v) {
                return v;
            }
            if Instant::now() > deadline {
                panic!("GET {path}: condition not met in {secs} s; last {status}: {body}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The `kapacitor` binary next to `kapacitord` (built by `cargo build`/`nextest` of the
/// workspace; built here when missing).
pub(crate) fn kapacitor_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_kapacitord")).with_file_name("kapacitor");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "kap-cli", "--bin", "kapacitor"])
            .status()
            .expect("cargo build kapacitor");
        assert!(status.success(), "building the kapacitor CLI failed");
    }
    bin
}

/// A minimal HTTP/1.1 client (one request per connection).
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

const COUNT_TASK: &str = "stream\n    |from()\n        .measurement('test')\n    |window()\n        .period(10s)\n        .every(10s)\n    |count('value')\n    |httpOut('count')\n";

fn lines(from: i64, to: i64) -> String {
    (from..=to)
        .map(|t| format!("test value=1 {t:010}\n"))
        .collect()
}

#[test]
fn kill_9_loses_nothing_and_restarts_cleanly() {
    let mut d = Daemon::start("kill9");
    let task = serde_json::json!({
        "id": "counter", "type": "stream", "dbrps": [{"db": "mydb", "rp": "myrp"}],
        "script": COUNT_TASK, "status": "enabled"
    });
    assert_eq!(
        d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()))
            .0,
        200
    );
    d.kill9_and_restart();
    let tpl = serde_json::json!({"id": "tpl", "type": "stream",
        "script": "var field string\nstream\n    |from()\n        .measurement('test')\n    |count(field)\n"});
    assert_eq!(
        d.req("POST", "/kapacitor/v1/templates", Some(&tpl.to_string()))
            .0,
        200
    );
    let off = serde_json::json!({"id": "off", "template-id": "tpl",
        "dbrps": [{"db": "mydb", "rp": "myrp"}],
        "vars": {"field": {"type": "string", "value": "value"}}});
    assert_eq!(
        d.req("POST", "/kapacitor/v1/tasks", Some(&off.to_string()))
            .0,
        200
    );
    d.kill9_and_restart();

    let t = d.json("/kapacitor/v1/tasks/counter");
    assert_eq!(t["status"], "enabled");
    assert_eq!(
        t["executing"], true,
        "an enabled task runs again after kill -9: {t}"
    );
    let t = d.json("/kapacitor/v1/tasks/off");
    assert_eq!(t["status"], "disabled");
    assert_eq!(t["template-id"], "tpl");
    assert_eq!(t["vars"]["field"]["value"], "value");
    assert_eq!(d.json("/kapacitor/v1/templates/tpl")["id"], "tpl");
    // The restarted task processes data.
    d.write_s(&lines(0, 11));
    let out = d.wait_json("/kapacitor/v1/tasks/counter/count", 20, |v| {
        !v["series"].is_null()
    });
    assert_eq!(out["series"][0]["values"][0][1], 10);
    let vars = d.json("/kapacitor/v1/debug/vars");
    assert_eq!(vars["num_tasks"], 2);
    assert_eq!(vars["num_enabled_tasks"], 1);
}

#[test]
fn write_with_bad_lines_keeps_the_good_ones() {
    let d = Daemon::start("badlines");
    let task = serde_json::json!({
        "id": "counter", "type": "stream", "dbrps": [{"db": "mydb", "rp": "myrp"}],
        "script": COUNT_TASK, "status": "enabled"
    });
    assert_eq!(
        d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()))
            .0,
        200
    );
    let mut body = lines(0, 4);
    body.push_str("test value= 5\n"); // line 6: no value
    body.push_str(&lines(5, 8));
    body.push_str("test,host value=1 9\n"); // line 11: tag without value
    body.push_str(&lines(10, 11));
    let (status, text) = d.req(
        "POST",
        "/kapacitor/v1/write?db=mydb&rp=myrp&precision=s",
        Some(&body),
    );
    assert_eq!(status, 400, "{text}");
    let err: serde_json::Value = serde_json::from_str(&text).expect("JSON error");
    let msg = err["error"].as_str().unwrap_or_default();
    assert!(msg.contains("partial write"), "{msg}");
    assert!(msg.contains("line 6"), "{msg}");
    assert!(msg.contains("line 11"), "{msg}");
    // The 9 good points of [0, 10) (t = 0..8; t = 9 was the bad line 11) reach the task;
    // the window closes when t = 10 arrives.
    let out = d.wait_json("/kapacitor/v1/tasks/counter/count", 20, |v| {
        !v["series"].is_null()
    });
    assert_eq!(out["series"][0]["values"][0][1], 9, "{out}");
    // Node stats count what happened and time the nodes (sampled).
    let t = d.wait_json("/kapacitor/v1/tasks/counter", 10, |t| {
        t["stats"]["node-stats"]["window2"]["avg_exec_time_ns"].as_i64() > Some(0)
    });
    assert!(
        t["dot"]
            .as_str()
            .unwrap_or_default()
            .contains("avg_exec_time_ns=\""),
        "{t}"
    );
}

#[test]
fn a_bad_script_never_replaces_a_working_task() {
    let d = Daemon::start("badscript");
    let task = serde_json::json!({
        "id": "counter", "type": "stream", "dbrps": [{"db": "mydb", "rp": "myrp"}],
        "script": COUNT_TASK, "status": "enabled"
    });
    assert_eq!(
        d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()))
            .0,
        200
    );
    let bad = serde_json::json!({"script": "stream\n    |from()\n        .measurment('test')\n"});
    let (status, text) = d.req(
        "PATCH",
        "/kapacitor/v1/tasks/counter",
        Some(&bad.to_string()),
    );
    assert_eq!(status, 400, "{text}");
    let err: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(err["diagnostics"][0]["line"], 3, "{err}");
    assert!(
        err["error"].as_str().unwrap_or_default().contains("line 3"),
        "{err}"
    );
    let t = d.json("/kapacitor/v1/tasks/counter?script-format=raw");
    assert_eq!(t["script"], COUNT_TASK);
    assert_eq!(t["executing"], true);
}

/// Kapacitor's anonymous topic (`main:<task>:<node>`, the topic of an alert's inline
/// handlers) closes when its task is disabled (`unknown topic`), comes back with its state
/// when the task is enabled again, and goes when the task is deleted
/// (`TestServer_AlertAnonTopic`).
#[test]
fn an_anonymous_topic_closes_with_its_task_and_goes_with_it() {
    let d = Daemon::start("anontopic");
    let log = d.dir.join("alerts.log");
    let script = format!(
        "stream\n    |from()\n        .measurement('alert')\n    |alert()\n        .id('id')\n        .crit(lambda: \"value\" > 1.0)\n        .log('{}')\n",
        log.display()
    );
    let task = serde_json::json!({
        "id": "testAnonTopic", "type": "stream", "dbrps": [{"db": "mydb", "rp": "myrp"}],
        "script": script, "status": "enabled"
    });
    let (status, body) = d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()));
    assert_eq!(status, 200, "{body}");
    d.write_s("alert value=3 0");
    let events = "/kapacitor/v1/alerts/topics/main:testAnonTopic:alert2/events";
    d.wait_json(events, 10, |v| {
        v["events"][0]["state"]["level"] == "CRITICAL"
    });
    let set = |status: &str| {
        let body = serde_json::json!({ "status": status }).to_string();
        let (code, text) = d.req("PATCH", "/kapacitor/v1/tasks/testAnonTopic", Some(&body));
        assert_eq!(code, 200, "{text}");
    };
    set("disabled");
    let (status, body) = d.req("GET", events, None);
    assert_eq!(
        status, 404,
        "a disabled task's anonymous topic is unknown: {body}"
    );
    set("enabled");
    let v = d.json(events);
    assert_eq!(v["events"][0]["id"], "id", "the state comes back: {v}");
    assert_eq!(v["events"][0]["state"]["level"], "CRITICAL", "{v}");
    let (status, _) = d.req("DELETE", "/kapacitor/v1/tasks/testAnonTopic", None);
    assert_eq!(status, 204);
    let (status, body) = d.req("GET", events, None);
    assert_eq!(
        status, 404,
        "a deleted task's anonymous topic is gone: {body}"
    );
}

/// A sideload node reads its files once, and again after `POST /sideload/reload`.
#[test]
fn sideload_sources_reload_on_request() {
    let d = Daemon::start("sideload");
    let src = d.dir.join("sideload");
    std::fs::create_dir_all(src.join("host")).unwrap();
    let file = src.join("host").join("a.yml");
    std::fs::write(&file, "threshold: 10.5\n").unwrap();
    let script = format!(
        "stream\n    |from()\n        .measurement('cpu')\n    |sideload()\n        .source('file://{}')\n        .order('host/{{{{.host}}}}.yml')\n        .field('threshold', 0.0)\n    |httpOut('out')\n",
        src.display()
    );
    let task = serde_json::json!({
        "id": "side", "type": "stream", "dbrps": [{"db": "mydb", "rp": "myrp"}],
        "script": script, "status": "enabled"
    });
    let (status, body) = d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()));
    assert_eq!(status, 200, "{body}");
    let write = |t: i64| {
        let line = format!("cpu,host=a value=1 {t}");
        d.write_s(&line);
    };
    let threshold_at = |t: &str, want: f64| {
        d.wait_json("/kapacitor/v1/tasks/side/out", 10, |v| {
            let row = &v["series"][0];
            row["values"][0][0] == t
                && row["columns"]
                    .as_array()
                    .and_then(|c| c.iter().position(|c| c == "threshold"))
                    .is_some_and(|i| row["values"][0][i] == want)
        });
    };
    write(1);
    threshold_at("1970-01-01T00:00:01Z", 10.5);
    std::fs::write(&file, "threshold: 20.5\n").unwrap();
    write(2);
    // Read once: the change is not seen yet.
    threshold_at("1970-01-01T00:00:02Z", 10.5);
    let (status, body) = d.req("POST", "/kapacitor/v1/sideload/reload", None);
    assert_eq!(status, 204, "{body}");
    write(3);
    threshold_at("1970-01-01T00:00:03Z", 20.5);
}

/// `kapacitor watch TASK` prints the task's log lines as they are written (Kapacitor's
/// `/kapacitor/v1preview/logs` stream); `kapacitor logs` refuses a bad filter.
#[test]
fn watch_prints_a_task_s_log_lines_as_they_come() {
    let d = Daemon::start("watch");
    // Test daemons log at WARN; a log stream carries what the daemon writes.
    ok(&d.cli(&["level", "info"]));
    d.enable_task(
        "w",
        "stream\n    |from()\n        .measurement('cpu')\n    |log()\n        .prefix('P')\n",
    );
    let mut child = Command::new(kapacitor_bin())
        .arg("-url")
        .arg(d.url())
        .args(["watch", "w", "lvl=info+"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run kapacitor watch");
    let rx = stdout_lines(&mut child);
    // Lines are only streamed once the session is open: write until one arrives.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut t = 1;
    let line = loop {
        d.write_s(&format!("cpu,host=a value={t} {t}"));
        t += 1;
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
            break line;
        }
        assert!(Instant::now() < deadline, "kapacitor watch printed nothing");
    };
    let _ = child.kill();
    let _ = child.wait();
    for want in [
        "lvl=info",
        "msg=point",
        "task=w",
        "node=log2",
        "prefix=P",
        "tag_host=a",
    ] {
        assert!(line.contains(want), "{want} missing from {line:?}");
    }
    let out = d.cli(&["logs", "lvl"]);
    assert_eq!(out.status.code(), Some(2), "a sub-usage error: {out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad key=value pair \"lvl\""),
        "{out:?}"
    );
}

/// `define -file` and `define-topic-handler` read YAML files as Kapacitor's CLI does (the
/// format of its template task and handler examples).
#[test]
fn yaml_task_and_handler_files() {
    let d = Daemon::start("yaml");
    let w = |name: &str, text: &str| {
        let p = d.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let tpl = w(
        "tpl.tick",
        "var measurement string\nvar threshold = 80.0\nstream\n    |from()\n        .measurement(measurement)\n    |alert()\n        .crit(lambda: \"value\" > threshold)\n",
    );
    ok(&d.cli(&["define-template", "tpl", "-tick", &tpl, "-type", "stream"]));
    let task = w(
        "task.yaml",
        "id: from_yaml\ntemplate-id: tpl\ndbrps:\n  - db: mydb\n    rp: myrp\nvars:\n  measurement:\n    type: string\n    value: cpu\n  threshold:\n    type: float\n    value: 90.5\n",
    );
    ok(&d.cli(&["define", "from_yaml", "-file", &task]));
    let t = d.json("/kapacitor/v1/tasks/from_yaml");
    assert_eq!(t["template-id"], "tpl", "{t}");
    assert_eq!(
        t["dbrps"],
        serde_json::json!([{"db": "mydb", "rp": "myrp"}]),
        "{t}"
    );
    assert_eq!(t["vars"]["threshold"]["value"], 90.5, "{t}");
    assert_eq!(t["vars"]["measurement"]["value"], "cpu", "{t}");
    let handler = w(
        "handler.yml",
        "topic: cpu\nid: to-log\nkind: log\nmatch: changed() == TRUE\noptions:\n  path: /tmp/alerts.log\n",
    );
    ok(&d.cli(&["define-topic-handler", &handler]));
    let h = d.json("/kapacitor/v1/alerts/topics/cpu/handlers/to-log");
    assert_eq!(h["kind"], "log", "{h}");
    assert_eq!(h["match"], "changed() == TRUE", "{h}");
    assert_eq!(h["options"]["path"], "/tmp/alerts.log", "{h}");
    // A broken YAML file is refused, naming the file and the place.
    let bad = w("bad.yaml", "id: x\ndbrps: [\n");
    let out = d.cli(&["define", "x", "-file", &bad]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid task file") && err.contains("bad.yaml") && err.contains("line"),
        "{err}"
    );
}

/// A running task's throughput (task stats and DOT) is what its source took in over the
/// last second.
#[test]
fn throughput_is_the_points_of_the_last_second() {
    let d = Daemon::start("throughput");
    d.enable_task(
        "tp",
        "stream\n    |from()\n        .measurement('cpu')\n    |httpOut('out')\n",
    );
    let t = d.json("/kapacitor/v1/tasks/tp");
    assert_eq!(t["stats"]["task-stats"]["throughput"], 0.0, "{t}");
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < Duration::from_millis(3500) {
        i += 1;
        d.write_s(&format!("cpu,host=a value=1 {i}\ncpu,host=b value=1 {i}"));
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = d.json("/kapacitor/v1/tasks/tp");
    let rate = t["stats"]["task-stats"]["throughput"]
        .as_f64()
        .unwrap_or(0.0);
    assert!(rate > 0.0, "{t}");
    let dot = t["dot"].as_str().unwrap_or_default();
    assert!(
        dot.contains("graph [throughput=\"") && !dot.contains("throughput=\"0.00"),
        "{dot}"
    );
}

/// `kapacitord -disable-handlers exec,tcp` refuses those kinds inline in TICKscript and as
/// topic handlers, saying which; other kinds work; an unknown kind stops the daemon.
#[test]
fn disabled_handlers_are_refused() {
    let d = Daemon::start_config(
        "disabled-handlers",
        Extra {
            args: vec!["-disable-handlers".into(), "exec,tcp".into()],
            ..Extra::default()
        },
    );
    let task = |id: &str, handler: &str| {
        serde_json::json!({
            "id": id, "type": "stream", "dbrps": [{"db": "mydb", "rp": "myrp"}],
            "script": format!("stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: TRUE)\n        {handler}\n"),
        })
        .to_string()
    };
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/tasks",
        Some(&task("ex", ".exec('/bin/echo', 'x')")),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("alert2: the exec handler is disabled (kapacitord -disable-handlers)"),
        "{body}"
    );
    let log = d.dir.join("alerts.log");
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/tasks",
        Some(&task("lg", &format!(".log('{}')", log.display()))),
    );
    assert_eq!(status, 200, "{body}");
    let handler = |kind: &str, options: serde_json::Value| {
        serde_json::json!({"id": format!("h-{kind}"), "kind": kind, "options": options}).to_string()
    };
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/alerts/topics/cpu/handlers",
        Some(&handler(
            "tcp",
            serde_json::json!({"address": "127.0.0.1:1"}),
        )),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("the tcp handler is disabled"), "{body}");
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/alerts/topics/cpu/handlers",
        Some(&handler("log", serde_json::json!({"path": log}))),
    );
    assert_eq!(status, 200, "{body}");
    refuses_to_start(
        &d.config_path(),
        &["-disable-handlers", "exec,nope"],
        "unknown handler kind \"nope\"",
    );
}

/// `kapacitord -config CONFIG ARGS` exits 1 before serving, saying `why` on stderr.
/// Writes `dir/bad.conf` (its `data_dir` under `dir`, then `sections`) and checks that
/// kapacitord refuses to start with it, saying `why`.
pub(crate) fn refuses_config(dir: &Path, sections: &str, why: &str) {
    let conf = dir.join("bad.conf");
    std::fs::write(
        &conf,
        format!("data_dir = {:?}\n{sections}", dir.join("data")),
    )
    .unwrap();
    refuses_to_start(&conf, &[], why);
}

pub(crate) fn refuses_to_start(config: &Path, args: &[&str], why: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_kapacitord"))
        .arg("-config")
        .arg(config)
        .args(args)
        .output()
        .expect("run kapacitord");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(why),
        "{why:?} missing: {out:?}"
    );
}

/// `[http] https-enabled` serves the API over TLS with the configured certificate and key;
/// the CLI reaches it at an https URL (`-skipVerify` for a self-signed certificate, and a
/// clear connection error without it); a certificate file that is not one stops the daemon
/// naming the key.
#[test]
fn https_serves_the_api_over_tls() {
    let dir = crate::tempdir("https");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("self-signed certificate");
    let cert = dir.join("kapacitor.pem");
    let key = dir.join("kapacitor.key");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let port = free_port();
    let conf = dir.join("kapacitord.conf");
    let write_conf = |cert: &std::path::Path| {
        std::fs::write(
            &conf,
            format!(
                "data_dir = {:?}\n[http]\nbind-address = \"127.0.0.1:{port}\"\nhttps-enabled = true\nhttps-certificate = {:?}\nhttps-private-key = {:?}\n[logging]\nlevel = \"WARN\"\n[[influxdb]]\nenabled = false\n",
                dir.join("data"),
                cert,
                key,
            ),
        )
        .unwrap();
    };
    write_conf(&cert);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kapacitord"))
        .arg("-config")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kapacitord");
    let url = format!("https://127.0.0.1:{port}");
    let cli = |args: &[&str]| {
        Command::new(kapacitor_bin())
            .arg("-url")
            .arg(&url)
            .args(args)
            .output()
            .expect("run kapacitor")
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cli(&["-skipVerify", "list", "tasks"]).status.success() {
        assert!(Instant::now() < deadline, "no HTTPS answer in 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, _) = http(port, "GET", "/kapacitor/v1/ping", None).unwrap_or((0, String::new()));
    assert_ne!(
        status, 204,
        "plain HTTP must not be served on the HTTPS port"
    );
    let f = dir.join("t.tick");
    std::fs::write(
        &f,
        "stream\n    |from()\n        .measurement('cpu')\n    |httpOut('out')\n",
    )
    .unwrap();
    let out = cli(&[
        "-skipVerify",
        "define",
        "tls_task",
        "-tick",
        f.to_str().unwrap(),
        "-dbrp",
        "mydb.myrp",
    ]);
    assert!(out.status.success(), "{out:?}");
    let out = cli(&["-skipVerify", "list", "tasks"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("tls_task"),
        "{out:?}"
    );
    let out = cli(&["list", "tasks"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS") && err.contains("-skipVerify"), "{err}");
    // The InfluxDB client (here against this HTTPS server's /ping) trusts a cluster's
    // `ssl-ca`, or skips the check with `insecure-skip-verify`, and refuses it otherwise.
    let ping = |tls: kap_influxdb::TlsOptions| {
        kap_influxdb::Client::new(kap_influxdb::ClientConfig {
            name: "tls".into(),
            urls: vec![url.clone()],
            tls,
            ..Default::default()
        })
        .expect("client")
        .ping()
    };
    assert!(ping(Default::default()).is_err());
    let ca = kap_influxdb::TlsOptions {
        ca_pem: Some(ck.cert.pem().into_bytes()),
        ..Default::default()
    };
    ping(ca).expect("trusted through ssl-ca");
    let insecure = kap_influxdb::TlsOptions {
        insecure_skip_verify: true,
        ..Default::default()
    };
    ping(insecure).expect("insecure-skip-verify");
    let _ = child.kill();
    let _ = child.wait();
    // A certificate file that holds no certificate stops the daemon, naming the key.
    let bad = dir.join("bad.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    write_conf(&bad);
    refuses_to_start(&conf, &[], "[http] https-certificate");
}

/// Waits until `got` holds `n` requests (or fails listing them), and returns them.
pub(crate) fn wait_posts(got: &Requests, n: usize) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.lock().unwrap().len() < n {
        assert!(
            Instant::now() < deadline,
            "{n} posts expected: {:?}",
            got.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    got.lock().unwrap().clone()
}

/// The `(request line and headers, body)` of each request an [`http_sink`] got.
pub(crate) type Requests = Arc<Mutex<Vec<(String, String)>>>;

/// An HTTP server on 127.0.0.1 that answers 200 to every request: its URL, and the
/// requests it got.
pub(crate) fn http_sink() -> (String, Requests) {
    http_sink_answering(|_, _| 200)
}

/// An HTTP server on 127.0.0.1 that answers each request with the status `status` gives for
/// its request line and the number of requests before it: its URL, and the requests it got.
pub(crate) fn http_sink_answering(
    status: impl Fn(&str, usize) -> u16 + Send + Sync + 'static,
) -> (String, Requests) {
    serve_http(None, Arc::new(status))
}

/// [`http_sink`] over HTTPS with `tls`: its `https://127.0.0.1:port` URL.
pub(crate) fn https_sink(tls: Arc<tokio_rustls::rustls::ServerConfig>) -> (String, Requests) {
    serve_http(Some(tls), Arc::new(|_: &str, _: usize| 200))
}

/// What a test server's connection reads and writes: TCP, or TLS over it.
pub(crate) trait Conn: std::io::Read + std::io::Write {}
impl<T: std::io::Read + std::io::Write> Conn for T {}

/// `stream`, over TLS when `tls` is set.
pub(crate) fn server_conn(
    stream: std::net::TcpStream,
    tls: Option<&Arc<tokio_rustls::rustls::ServerConfig>>,
) -> Box<dyn Conn + Send> {
    match tls {
        Some(config) => {
            let server = tokio_rustls::rustls::ServerConnection::new(Arc::clone(config))
                .expect("TLS server connection");
            Box::new(tokio_rustls::rustls::StreamOwned::new(server, stream))
        }
        None => Box::new(stream),
    }
}

type Status = Arc<dyn Fn(&str, usize) -> u16 + Send + Sync>;

fn serve_http(
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    status: Status,
) -> (String, Requests) {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (g, status) = (Arc::clone(&g), Arc::clone(&status));
            let conn = server_conn(stream, tls.as_ref());
            std::thread::spawn(move || {
                let mut r = std::io::BufReader::new(conn);
                loop {
                    let (mut head, mut line, mut len) = (String::new(), String::new(), 0);
                    while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        head.push_str(&line);
                        line.clear();
                    }
                    if head.is_empty() {
                        return;
                    }
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    let code = {
                        let mut g = g.lock().unwrap();
                        let code = status(head.lines().next().unwrap_or(""), g.len());
                        g.push((head, String::from_utf8_lossy(&body).into_owned()));
                        code
                    };
                    let w = r.get_mut();
                    let _ = w
                        .write_all(
                            format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                        )
                        .and_then(|()| w.flush());
                }
            });
        }
    });
    (url, got)
}

/// A live task's httpPost posts each point's row to its URL.
#[test]
fn http_post_reaches_its_url() {
    let d = Daemon::start("httppost");
    let (url, got) = http_sink();
    d.enable_task("hp", &format!("stream\n    |from()\n        .measurement('cpu')\n    |httpPost('{url}/x')\n        .header('k', 'v')\n"));
    d.write_s("cpu,host=a value=2 1");
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "nothing posted");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (head, body) = got.lock().unwrap()[0].clone();
    assert!(head.starts_with("POST /x "), "{head}");
    assert!(head.to_ascii_lowercase().contains("k: v"), "{head}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(v["series"][0]["name"], "cpu", "{body}");
    assert_eq!(v["series"][0]["values"][0][1], 2, "{body}");
}

/// `[[httppost]]` endpoints: an httpPost node and an alert's post handler that name one
/// post to its URL with its headers and basic authentication.
#[test]
fn httppost_endpoints_from_the_config() {
    let (url, got) = http_sink();
    let d = Daemon::start_config(
        "httppost-endpoints",
        Extra {
            tail: format!(
                "[[httppost]]\nendpoint = \"sink\"\nurl = \"{url}/sink\"\nheaders = {{ Example = \"your-key\" }}\n[httppost.basic-auth]\nusername = \"me\"\npassword = \"secret\"\n"
            ),
            ..Extra::default()
        },
    );
    d.enable_task("ep", "stream\n    |from()\n        .measurement('cpu')\n    |httpPost()\n        .endpoint('sink')\n    |alert()\n        .crit(lambda: TRUE)\n        .post()\n            .endpoint('sink')\n");
    d.write_s("cpu,host=a value=2 1");
    let posts = wait_posts(&got, 2);
    // `me:secret` in base64.
    for (head, _) in &posts {
        let h = head.to_ascii_lowercase();
        assert!(head.starts_with("POST /sink "), "{head}");
        assert!(h.contains("example: your-key"), "{head}");
        assert!(h.contains("authorization: basic bwu6c2vjcmv0"), "{head}");
    }
    assert!(
        posts.iter().any(|(_, b)| b.contains("\"series\"")),
        "{posts:?}"
    );
    assert!(
        posts
            .iter()
            .any(|(_, b)| b.contains("\"level\":\"CRITICAL\"")),
        "{posts:?}"
    );
    // The service test posts an empty alert to the endpoint, with its headers and the
    // test's own.
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/service-tests/httppost",
        Some(r#"{"endpoint": "sink", "url": "", "headers": {"X-Test": "1"}}"#),
    );
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"message":"","success":true}"#)
    );
    let posts = wait_posts(&got, 3);
    let (head, body) = &posts[2];
    let h = head.to_ascii_lowercase();
    assert!(head.starts_with("POST /sink "), "{head}");
    assert!(
        h.contains("example: your-key") && h.contains("x-test: 1"),
        "{head}"
    );
    assert!(body.contains("\"level\":\"OK\""), "{body}");
}

/// `[http] log-enabled` (the default): each request is logged as Kapacitor logs it; with
/// `write-tracing`, each write's body too.
#[test]
fn http_requests_are_logged() {
    let d = Daemon::start_config(
        "http-log",
        Extra {
            http: "write-tracing = true\n".into(),
            ..Extra::default()
        },
    );
    let (status, _) = d.req(
        "POST",
        "/kapacitor/v1/loglevel",
        Some(r#"{"level": "INFO"}"#),
    );
    assert_eq!(status, 204);
    let (status, _) = d.req("GET", "/kapacitor/v1/ping", None);
    assert_eq!(status, 204);
    let line = d.wait_log_line("request", |l| {
        l.contains("http request") && l.contains("/kapacitor/v1/ping")
    });
    for field in ["method=GET", "status=204", "request_id=", "duration="] {
        assert!(line.contains(field), "{field} missing: {line}");
    }
    d.write_s("traced value=1 1");
    d.wait_log_line("write body", |l| {
        l.contains("write body received by handler") && l.contains("traced value=1 1")
    });
}

/// `[deadman] global`: every task gets a deadman on its source with the configured
/// threshold, interval and texts; a task whose data stops goes critical (as in Kapacitor,
/// a deadman watches the groups it has seen).
#[test]
fn global_deadman_watches_every_task() {
    let (url, got) = http_sink();
    let d = Daemon::start_config(
        "deadman-global",
        Extra {
            tail: format!(
                "[deadman]\nglobal = true\nthreshold = 0.0\ninterval = \"1s\"\nid = \"quiet NODE_NAME\"\nmessage = \"{{{{ .ID }}}} is {{{{ .Level }}}} after INTERVAL\"\n\
                 [[slack]]\nenabled = true\nglobal = true\nurl = \"{url}/slack\"\n"
            ),
            ..Extra::default()
        },
    );
    d.enable_task(
        "quiet",
        "stream\n    |from()\n        .measurement('cpu')\n    |httpOut('x')\n",
    );
    d.write_s("cpu value=1 1");
    let t = d.wait_json("/kapacitor/v1/tasks/quiet", 20, |t| {
        t["stats"]["node-stats"]["alert5"]["crits_triggered"].as_i64() >= Some(1)
    });
    let dot = t["dot"].as_str().unwrap_or_default();
    assert!(dot.contains("stats3 -> derivative4"), "{dot}");
    // A global service gets the deadman's alert, with the configured texts.
    let posts = wait_posts(&got, 1);
    let body: serde_json::Value = serde_json::from_str(&posts[0].1).unwrap();
    assert_eq!(
        body["attachments"][0]["text"], "quiet stream0 is CRITICAL after 1s",
        "{body}"
    );
}

/// Kapacitor's internal statistics: `/debug/vars` serves them as `{name, tags, values}`
/// objects (`ingress` per database, retention policy and measurement, `nodes` per running
/// task), `kapacitor stats ingress` prints them, and with `[stats]` they enter the stream as
/// `_kapacitor.autogen` points a task can read.
#[test]
fn internal_statistics_reach_vars_the_cli_and_the_stream() {
    let d = Daemon::start_config(
        "stats",
        Extra {
            tail: "[stats]\nenabled = true\nstats-interval = \"1s\"\n".into(),
            ..Extra::default()
        },
    );
    let task = serde_json::json!({
        "id": "selfwatch", "type": "stream", "dbrps": [{"db": "_kapacitor", "rp": "autogen"}],
        "script": "stream\n    |from()\n        .measurement('ingress')\n        .where(lambda: \"measurement\" == 'cpu')\n    |httpOut('ingress')\n",
        "status": "enabled"
    });
    let (status, body) = d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()));
    assert_eq!(status, 200, "{body}");
    d.write_s("cpu,host=a value=1 1\ncpu,host=b value=2 1\nmem,host=a value=3 1");
    let vars = d.json("/kapacitor/v1/debug/vars");
    let stats: Vec<&serde_json::Value> = vars["kapacitor"].as_object().unwrap().values().collect();
    let cpu = stats
        .iter()
        .find(|s| s["name"] == "ingress" && s["tags"]["measurement"] == "cpu")
        .unwrap_or_else(|| panic!("no ingress of cpu: {vars}"));
    assert_eq!(cpu["tags"]["database"], "mydb");
    assert_eq!(cpu["tags"]["retention_policy"], "myrp");
    assert_eq!(cpu["tags"]["task_master"], "main");
    assert_eq!(cpu["values"]["points_received"], 2);
    assert!(
        stats
            .iter()
            .any(|s| s["name"] == "nodes" && s["tags"]["task"] == "selfwatch"),
        "{vars}"
    );
    let out = ok(&d.cli(&["stats", "ingress"]));
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["mydb", "myrp", "cpu", "2"]),
        "{out}"
    );
    // Within a couple of intervals, the task has read the statistics from the stream.
    let seen = d.wait_json("/kapacitor/v1/tasks/selfwatch/ingress", 20, |v| {
        !v["series"].is_null()
    });
    let row = &seen["series"][0];
    assert_eq!(row["name"], "ingress", "{seen}");
    let columns: Vec<&str> = row["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let at = columns
        .iter()
        .position(|c| *c == "points_received")
        .unwrap();
    assert_eq!(row["values"][0][at], 2, "{seen}");
}

/// `/config/httppost`: an endpoint's new URL reaches the running httpPost node and post
/// handler that name it at once; its basic authentication shows redacted; an endpoint
/// added through the API serves a task started after.
#[test]
fn httppost_endpoints_change_at_runtime() {
    let (old_url, old) = http_sink();
    let (new_url, new) = http_sink();
    let d = Daemon::start_config(
        "httppost-config",
        Extra {
            tail: format!(
                "[[httppost]]\nendpoint = \"sink\"\nurl = \"{old_url}/sink\"\n[httppost.basic-auth]\nusername = \"me\"\npassword = \"secret\"\n"
            ),
            ..Extra::default()
        },
    );
    d.enable_task("ep", "stream\n    |from()\n        .measurement('cpu')\n    |httpPost()\n        .endpoint('sink')\n    |alert()\n        .crit(lambda: TRUE)\n        .post()\n            .endpoint('sink')\n");
    d.write_s("cpu,host=a value=1 1");
    wait_posts(&old, 2);
    let element = d.json("/kapacitor/v1/config/httppost/sink");
    assert_eq!(element["options"]["basic-auth"], true, "{element}");
    assert_eq!(element["redacted"], serde_json::json!(["basic-auth"]));
    let set = serde_json::json!({"set": {"url": format!("{new_url}/moved")}});
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/httppost/sink",
        Some(&set.to_string()),
    );
    assert_eq!(status, 204, "{body}");
    d.write_s("cpu,host=a value=2 2");
    let posts = wait_posts(&new, 2);
    for (head, _) in &posts {
        assert!(head.starts_with("POST /moved "), "{head}");
        // The endpoint's basic authentication stays.
        assert!(
            head.to_ascii_lowercase().contains("authorization: basic"),
            "{head}"
        );
    }
    assert_eq!(old.lock().unwrap().len(), 2, "nothing more to the old URL");
    let add = serde_json::json!({"add": {"endpoint": "extra", "url": format!("{new_url}/extra")}});
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/httppost",
        Some(&add.to_string()),
    );
    assert_eq!(status, 204, "{body}");
    d.enable_task("ex", "stream\n    |from()\n        .measurement('mem')\n    |httpPost()\n        .endpoint('extra')\n");
    d.write_s("mem,host=a value=3 3");
    let posts = wait_posts(&new, 3);
    assert!(posts[2].0.starts_with("POST /extra "), "{posts:?}");
    let bad = serde_json::json!({"set": {"url": "nowhere"}});
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/httppost/extra",
        Some(&bad.to_string()),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("httppost[1].url"), "{body}");
}

/// `[[httppost]]` body templates: `row-template` shapes an httpPost node's body from the
/// row, `alert-template` (here from a file) a post handler's from the alert data; a template
/// that does not parse stops the daemon, naming its key.
#[test]
fn httppost_endpoint_templates_shape_the_bodies() {
    let (url, got) = http_sink();
    let dir = crate::tempdir("httppost-templates-file");
    let alert_file = dir.join("alert.tmpl");
    std::fs::write(
        &alert_file,
        "{{.Level}} {{.ID}}:{{range .Data.Series}} {{index .Tags \"host\"}}{{range .Values}} {{index . 1}}{{end}}{{end}}",
    )
    .unwrap();
    let d = Daemon::start_config(
        "httppost-templates",
        Extra {
            tail: format!(
                "[[httppost]]\nendpoint = \"rows\"\nurl = \"{url}/rows\"\nrow-template = '{{{{.Name}}}} host={{{{index .Tags \"host\"}}}}{{{{range .Values}}}} {{{{index . 1}}}}{{{{end}}}}'\n\
                 [[httppost]]\nendpoint = \"alerts\"\nurl = \"{url}/alerts\"\nalert-template-file = {:?}\n",
                alert_file.display().to_string()
            ),
            ..Extra::default()
        },
    );
    d.enable_task("tp", "stream\n    |from()\n        .measurement('cpu')\n    |httpPost()\n        .endpoint('rows')\n    |alert()\n        .id('cpu')\n        .crit(lambda: TRUE)\n        .post()\n            .endpoint('alerts')\n");
    d.write_s("cpu,host=a value=2 1");
    let posts = wait_posts(&got, 2);
    let body = |path: &str| {
        posts
            .iter()
            .find(|(head, _)| head.starts_with(&format!("POST {path} ")))
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("no post to {path}: {posts:?}"))
    };
    assert_eq!(body("/rows"), "cpu host=a 2");
    assert_eq!(body("/alerts"), "CRITICAL cpu: a 2");

    refuses_config(
        &dir,
        "[[httppost]]\nendpoint = \"x\"\nurl = \"http://127.0.0.1:1/\"\nrow-template = \"{{.Name\"\n",
        "httppost[0].row-template",
    );
}

/// `kapacitord -blacklist-cidrs 127.0.0.0/8`: httpPost nodes and post handlers do not post
/// into that network (the error is logged); a bad CIDR stops the daemon.
#[test]
fn blacklisted_networks_get_no_posts() {
    let (url, got) = http_sink();
    let d = Daemon::start_config(
        "blacklist",
        Extra {
            args: vec!["-blacklist-cidrs".into(), "10.0.0.0/8,127.0.0.0/8".into()],
            ..Extra::default()
        },
    );
    d.enable_task(
        "bl",
        &format!(
            "stream\n    |from()\n        .measurement('cpu')\n    |httpPost('{url}/x')\n    |alert()\n        .crit(lambda: TRUE)\n        .post('{url}/alert')\n"
        ),
    );
    d.write_s("cpu,host=a value=2 1");
    let log = d.dir.join("kapacitord.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text
            .matches("is in the blacklisted network 127.0.0.0/8")
            .count()
            >= 2
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no blacklist errors logged:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(got.lock().unwrap().is_empty(), "{:?}", got.lock().unwrap());
    refuses_to_start(
        &d.config_path(),
        &["-blacklist-cidrs", "10.0.0.0/33"],
        "invalid CIDR \"10.0.0.0/33\"",
    );
}

/// The lines a child writes to its piped stdout, as they come.
fn stdout_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

pub(crate) fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kapacitor failed ({}): stdout {stdout} stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn recording_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("RecordingID="))
        .unwrap_or_else(|| panic!("no RecordingID= in {stdout}"))
        .to_string()
}

/// `cpu,cpu=cpu-total value=V T` lines, one per second from `t0`, in any database.
fn cpu_lines(t0: i64, values: &[f64]) -> String {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("cpu,cpu=cpu-total,host=a value={v} {}\n", t0 + i as i64))
        .collect()
}

pub(crate) fn log_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub(crate) fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The original design's stream workflow, end to end, with the real CLI.
#[test]
fn seed_stream_workflow_end_to_end() {
    let d = Daemon::start("seed1");
    let dir = d.dir.to_path_buf();
    let seed = dir.join("cpu.seed");
    std::fs::write(&seed, "alert(avg(window(value, 10)), <, 30)\n").expect("seed file");
    let seed_arg = seed.to_string_lossy().into_owned();
    // `define streamer` of the same task with the script in `script`.
    let define = |script: &str| {
        ok(&d.cli(&[
            "define",
            "streamer",
            "--name",
            "cpu_alert",
            "--from",
            "cpu",
            "--where",
            "cpu = 'cpu-total'",
            "--script",
            script,
        ]))
    };

    // 1. define streamer (seed form), no dbrp: it matches every database.
    define(&seed_arg);
    let t = d.json("/kapacitor/v1/tasks/cpu_alert");
    assert_eq!(t["type"], "stream");
    assert_eq!(t["status"], "disabled");

    // 2. record the live stream between start-recording and stop-recording.
    let rec = recording_id(&ok(&d.cli(&["start-recording"])));
    let (status, body) = d.req(
        "POST",
        "/write?db=telegraf&precision=s",
        Some(&cpu_lines(100, &[10.0; 12])),
    );
    assert_eq!(status, 204, "{body}");
    // Points of another cpu and another measurement are recorded, and filtered at replay.
    let (status, _) = d.req(
        "POST",
        "/write?db=telegraf&precision=s",
        Some("cpu,cpu=cpu0,host=a value=99 112\nmem value=1 112\n"),
    );
    assert_eq!(status, 204);
    assert_eq!(recording_id(&ok(&d.cli(&["stop-recording", &rec]))), rec);
    let r = d.wait_json(&format!("/kapacitor/v1/recordings/{rec}"), 20, |v| {
        v["status"] == "finished"
    });
    assert!(r["size"].as_i64().unwrap_or(0) > 0, "{r}");

    // 3. replay into the disabled streamer: the seed task has no handler, so edit it to log
    //    its alerts, then replay; the live task's state stays untouched.
    let log = dir.join("alerts.log");
    let fragment = dir.join("cpu.tick");
    std::fs::write(
        &fragment,
        format!(
            "|window()\n    .periodCount(10)\n    .everyCount(1)\n|mean('value')\n|alert()\n    .crit(lambda: \"mean\" < 30)\n    .log('{}')\n",
            log.display()
        ),
    )
    .expect("fragment");
    let frag_arg = fragment.to_string_lossy().into_owned();
    define(&frag_arg);
    let replay = ok(&d.cli(&["replay", &rec, "cpu_alert"]))
        .trim()
        .to_string();
    wait_for(20, "the replay's alert log", || !log_lines(&log).is_empty());
    let first = log_lines(&log);
    assert_eq!(first[0]["level"], "CRITICAL", "{first:?}");
    // `show -replay` prints the DOT with the replayed task's statistics as it ended.
    wait_for(20, "the replay's stats in `kapacitor show -replay`", || {
        let out = ok(&d.cli(&["show", "-replay", &replay, "cpu_alert"]));
        out.contains("crits_triggered=\"") && !out.contains("crits_triggered=\"0\"")
    });
    let t = d.json("/kapacitor/v1/tasks/cpu_alert");
    assert_eq!(t["status"], "disabled", "a replay does not enable the task");
    assert_eq!(t["executing"], false);
    let topics = d.json("/kapacitor/v1/alerts/topics");
    assert!(
        topics["topics"].as_array().is_none_or(|a| a.is_empty()),
        "a replay leaves live alert topics untouched: {topics}"
    );

    // 4. edit (threshold below the data: no alert) and replay again.
    std::fs::remove_file(&log).expect("rm log");
    let quiet = std::fs::read_to_string(&fragment)
        .expect("fragment")
        .replace("< 30", "< 5");
    std::fs::write(&fragment, quiet).expect("fragment");
    define(&frag_arg);
    ok(&d.cli(&["replay", &rec, "cpu_alert"]));
    std::thread::sleep(Duration::from_millis(300));
    assert!(log_lines(&log).is_empty(), "the edited task does not alert");

    // 5. back to the seed form, enable, and see it alert on live points.
    define(&seed_arg);
    ok(&d.cli(&["enable", "cpu_alert"]));
    let (status, body) = d.req(
        "POST",
        "/write?db=anydb&precision=s",
        Some(&cpu_lines(1000, &[20.0; 12])),
    );
    assert_eq!(status, 204, "{body}");
    // The seed form has no handler: the alert shows in the task's node stats, which
    // `kapacitor show` prints in the DOT graph.
    wait_for(20, "crits_triggered in `kapacitor show`", || {
        let out = ok(&d.cli(&["show", "cpu_alert"]));
        out.contains("crits_triggered=\"") && !out.contains("crits_triggered=\"0\"")
    });

    // 6. push to a second daemon and see it alert there.
    let d2 = Daemon::start("seed2");
    ok(&d.cli(&["push", "--remote", &d2.url(), "cpu_alert"]));
    let t2 = d2.json("/kapacitor/v1/tasks/cpu_alert");
    assert_eq!(t2["status"], "enabled");
    assert_eq!(t2["executing"], true);
    let (status, body) = d2.req(
        "POST",
        "/write?db=other&precision=s",
        Some(&cpu_lines(5000, &[1.0; 12])),
    );
    assert_eq!(status, 204, "{body}");
    wait_for(20, "crits_triggered on the second daemon", || {
        let t = d2.json("/kapacitor/v1/tasks/cpu_alert");
        t["stats"]["node-stats"]
            .as_object()
            .is_some_and(|n| n.values().any(|s| s["crits_triggered"].as_i64() > Some(0)))
    });
    // A refused push names the remote.
    let mut closed = Daemon::start("seed3");
    closed.kill9();
    let out = d.cli(&["push", "--remote", &closed.url(), "cpu_alert"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&closed.url()),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn udp_listener_unix_socket_backup_and_log_level() {
    let udp_port = free_port();
    let sock = std::env::temp_dir().join(format!("kapd-{}.sock", std::process::id()));
    let d = Daemon::start_config(
        "udp-unix",
        Extra {
            http: format!("unix-socket = {sock:?}"),
            tail: format!(
                "[[udp]]\nenabled = true\nbind-address = \"127.0.0.1:{udp_port}\"\ndatabase = \"mydb\"\nretention-policy = \"myrp\"\n"
            ),
            ..Extra::default()
        },
    );
    // The CLI over the unix socket defines and enables the task.
    let tick = d.dir.join("count.tick");
    std::fs::write(&tick, COUNT_TASK).expect("tick");
    let unix = format!("unix://{}", sock.display());
    let out = Command::new(kapacitor_bin())
        .args(["-url", &unix, "define", "counter", "-tick"])
        .arg(&tick)
        .args(["-dbrp", "mydb.myrp"])
        .output()
        .expect("kapacitor");
    ok(&out);
    ok(&Command::new(kapacitor_bin())
        .args(["-url", &unix, "enable", "counter"])
        .output()
        .expect("kapacitor"));
    // Points over UDP (nanosecond timestamps), including a bad line that is skipped.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let mut body: String = (0..=11)
        .map(|t| format!("test value=1 {}\n", t * 1_000_000_000i64))
        .collect();
    body.push_str("test value=\n");
    udp.send_to(body.as_bytes(), ("127.0.0.1", udp_port))
        .expect("send");
    let out = d.wait_json("/kapacitor/v1/tasks/counter/count", 20, |v| {
        !v["series"].is_null()
    });
    assert_eq!(out["series"][0]["values"][0][1], 10, "{out}");
    let vars = d.json("/kapacitor/v1/debug/vars");
    assert_eq!(
        vars["kapacitor"]["write:"]["values"]["points_rejected"], 1,
        "{vars}"
    );

    // Backup: a consistent copy of the store that opens and holds the task.
    let backup = d.dir.join("backup.db");
    ok(&d.cli(&["backup", &backup.to_string_lossy()]));
    let copy = kap_api::store::Store::open(&backup).expect("the backup opens as a store");
    let tasks: Vec<kap_api::store::TaskRecord> = copy.list().expect("list");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].id, "counter");

    // Log level at run time.
    ok(&d.cli(&["level", "debug"]));
    let out = d.cli(&["level", "loud"]);
    assert!(!out.status.success());
    let _ = std::fs::remove_file(&sock);
}

/// README's first command: `kapacitord demo` alerts within a minute.
#[test]
fn demo_alerts_within_a_minute() {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kapacitord"))
        .args(["demo", "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kapacitord demo");
    let rx = stdout_lines(&mut child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut alert = None;
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
            && v["level"].is_string()
        {
            alert = Some(v);
            break;
        }
    }
    // Stopped as Ctrl-C would stop it, the demo removes its data dir.
    let data_dir = std::env::temp_dir().join(format!("kapacitord-demo-{}", child.id()));
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let stopped = child.wait().expect("wait for kapacitord demo");
    let alert = alert.expect("an alert printed within 60 s");
    assert!(stopped.success(), "{stopped}");
    assert!(!data_dir.exists(), "{} left behind", data_dir.display());
    assert!(
        alert["message"]
            .as_str()
            .unwrap_or_default()
            .contains("server0"),
        "{alert}"
    );
}

/// `PATCH` of an enabled task's script stores it but leaves the task running what it ran,
/// as Kapacitor does; `kapacitor reload` (disable, then enable) makes it take effect.
#[test]
fn patching_a_running_script_waits_for_a_reload() {
    let d = Daemon::start("patch-running");
    let script = |k: f64| {
        format!(
            "stream\n    |from()\n        .measurement('cpu')\n    |eval(lambda: \"value\" * {k:.1})\n        .as('v')\n    |httpOut('out')\n"
        )
    };
    d.enable_task("p", &script(2.0));
    let out = |want: i64| {
        d.wait_json("/kapacitor/v1/tasks/p/out", 10, |v| {
            v["series"][0]["values"][0][1] == want
        })
    };
    d.write_s("cpu value=1 1");
    out(2);
    let (status, body) = d.req(
        "PATCH",
        "/kapacitor/v1/tasks/p",
        Some(&serde_json::json!({ "script": script(3.0) }).to_string()),
    );
    assert_eq!(status, 200, "{body}");
    let t = d.json("/kapacitor/v1/tasks/p");
    assert!(t["script"].as_str().unwrap().contains("3.0"), "{t}");
    assert_eq!(t["executing"], true);
    assert!(t["dot"].as_str().unwrap().contains("eval2"), "{t}");
    d.write_s("cpu value=2 2");
    out(4);
    let out_cli = d.cli(&["reload", "p"]);
    assert!(out_cli.status.success(), "{out_cli:?}");
    d.write_s("cpu value=2 3");
    out(6);
}

#[test]
fn group_expiry_forgets_hosts_that_stopped_sending() {
    // `[engine] group-expiry`: the httpOut row (and every node's state) of a host silent
    // for a second goes; a host still sending stays.
    let d = Daemon::start_config(
        "group-expiry",
        Extra {
            tail: "[engine]\ngroup-expiry = \"1s\"\n".into(),
            ..Extra::default()
        },
    );
    d.enable_task(
        "last",
        "stream|from().measurement('cpu').groupBy('host')|httpOut('last')",
    );
    d.write_s("cpu,host=h1 value=1 0\ncpu,host=h2 value=1 0\n");
    let hosts = |v: &serde_json::Value| -> Vec<String> {
        v["series"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|r| r["tags"]["host"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    d.wait_json("/kapacitor/v1/tasks/last/last", 10, |v| hosts(v).len() == 2);
    let start = Instant::now();
    let mut t = 1;
    let gone = loop {
        d.write_s(&format!("cpu,host=h2 value=1 {t}\n"));
        t += 1;
        let v = d.json("/kapacitor/v1/tasks/last/last");
        if hosts(&v) == ["h2"] {
            break true;
        }
        if start.elapsed() > Duration::from_secs(15) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(gone, "h1 still shown after 15 s of silence");
    // Not before its second of silence.
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    // The node's statistics say so (published within a moment).
    d.wait_json("/kapacitor/v1/tasks/last", 10, |task| {
        task["stats"]["node-stats"]["http_out2"]["groups_expired"] == 1
            && task["stats"]["node-stats"]["http_out2"]["working_cardinality"] == 1
    });
}

/// `[http] pprof-enabled = true` serves Go's profiler endpoints: a CPU profile of the
/// daemon that `go tool pprof` reads (gzipped pprof protobuf), one at a time, its
/// arguments, an index; Go's runtime profiles are answered 404 with why. Without the
/// setting none exists, as in Kapacitor.
#[test]
fn pprof_enabled_serves_cpu_profiles_in_go_s_format() {
    use pprof::protos::Message;
    let off = Daemon::start("pprof-off");
    assert_eq!(
        off.req("GET", "/kapacitor/v1/debug/pprof/profile?seconds=1", None)
            .0,
        404
    );
    drop(off);
    let d = Daemon::start_config(
        "pprof-on",
        Extra {
            http: "pprof-enabled = true\n".into(),
            ..Extra::default()
        },
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = |path: &str| {
        format!(
            "http://127.0.0.1:{}/kapacitor/v1/debug/pprof/{path}",
            d.port
        )
    };
    // Work for the profile to see while it is taken: writes to a running task.
    d.enable_task(
        "busy",
        "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)|mean('value')|httpOut('m')",
    );
    let (profile, second) = std::thread::scope(|s| {
        let taking = s.spawn(|| {
            let mut resp = agent.get(url("profile?seconds=2")).call().unwrap();
            let status = resp.status().as_u16();
            let kind = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = resp.body_mut().read_to_vec().unwrap();
            (status, kind, body)
        });
        std::thread::sleep(Duration::from_millis(500));
        // A second profile while the first is taken: refused, as Go does.
        let mut second = agent.get(url("profile?seconds=1")).call().unwrap();
        let second = (
            second.status().as_u16(),
            second.body_mut().read_to_string().unwrap(),
        );
        // Writes until the profile is taken, so every second of it has work to sample.
        let mut t = 0;
        while !taking.is_finished() {
            let lines: String = (0..500)
                .map(|h| format!("cpu,host=h{h} value={t} {t}\n"))
                .collect();
            d.write_s(&lines);
            t += 1;
        }
        (taking.join().unwrap(), second)
    });
    assert_eq!(second.0, 500, "{}", second.1);
    assert!(
        second.1.contains("cpu profiling already in use"),
        "{}",
        second.1
    );
    let (status, kind, body) = profile;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(kind, "application/octet-stream");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut raw)
        .expect("a gzipped profile");
    let p = pprof::protos::Profile::decode(&raw[..]).expect("a pprof protobuf profile");
    let name = |i: i64| p.string_table[i as usize].clone();
    let types: Vec<(String, String)> = p
        .sample_type
        .iter()
        .map(|t| (name(t.ty), name(t.unit)))
        .collect();
    assert!(
        types.contains(&("cpu".to_string(), "nanoseconds".to_string())),
        "{types:?}"
    );
    assert!(!p.sample.is_empty(), "no samples in two busy seconds");
    // Its stacks name the daemon's own functions, and end where the threads were, not in
    // the profiler's unwinder.
    assert!(
        p.string_table.iter().any(|s| s.contains("kap_")),
        "no kapacitord function in the profile"
    );
    let leaf = |sample: &pprof::protos::Sample| -> Vec<String> {
        let loc = p
            .location
            .iter()
            .find(|l| Some(&l.id) == sample.location_id.first());
        loc.map(|l| {
            l.line
                .iter()
                .filter_map(|line| p.function.iter().find(|f| f.id == line.function_id))
                .map(|f| name(f.name))
                .collect()
        })
        .unwrap_or_default()
    };
    let in_unwinder: Vec<Vec<String>> = p
        .sample
        .iter()
        .filter(|s| leaf(s).iter().any(|f| f.starts_with("backtrace::")))
        .map(|s| {
            s.location_id
                .iter()
                .filter_map(|id| p.location.iter().find(|l| l.id == *id))
                .flat_map(|l| &l.line)
                .filter_map(|line| p.function.iter().find(|f| f.id == line.function_id))
                .map(|f| name(f.name))
                .collect()
        })
        .collect();
    assert!(
        in_unwinder.is_empty(),
        "of {} samples: {in_unwinder:#?}",
        p.sample.len()
    );
    assert!(p.duration_nanos >= 1_900_000_000, "{}", p.duration_nanos);
    // The profiler is free again.
    let resp = agent.get(url("profile?seconds=1")).call().unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // The arguments, the index, and Go's runtime profiles.
    let (status, args) = d.req("GET", "/kapacitor/v1/debug/pprof/cmdline", None);
    assert_eq!(status, 200);
    assert!(
        args.split('\0')
            .next()
            .unwrap_or("")
            .ends_with("kapacitord"),
        "{args:?}"
    );
    let (status, index) = d.req("GET", "/kapacitor/v1/debug/pprof/", None);
    assert_eq!(status, 200);
    assert!(index.contains("href='profile'"), "{index}");
    let (status, heap) = d.req("GET", "/kapacitor/v1/debug/pprof/heap", None);
    assert_eq!(status, 404);
    assert!(heap.contains("not a Go program"), "{heap}");
}
