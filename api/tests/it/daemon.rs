//! End-to-end tests: real `kapacitord` processes on 127.0.0.1, driven over HTTP and with the
//! real `kapacitor` binary.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A `kapacitord` process with its own data dir and port.
pub(crate) struct Daemon {
    pub(crate) dir: PathBuf,
    pub(crate) port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Daemon {
    /// Starts a daemon in a fresh directory `name`.
    pub(crate) fn start(name: &str) -> Daemon {
        let dir = crate::tempdir(name);
        let mut d = Daemon {
            dir,
            port: free_port(),
            child: None,
        };
        d.spawn();
        d
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let conf = self.dir.join("kapacitor.conf");
        std::fs::write(
            &conf,
            format!(
                "data_dir = {:?}\n[http]\nbind-address = \"127.0.0.1:{}\"\n[logging]\nlevel = \"WARN\"\n",
                self.dir.join("data"),
                self.port
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
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start kapacitord");
        self.child = Some(child);
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
    }

    /// A request; returns status and body.
    pub(crate) fn req(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        http(self.port, method, path, body).expect("HTTP request")
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
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/write?db=mydb&rp=myrp&precision=s",
        Some(&lines(0, 11)),
    );
    assert_eq!(status, 204, "{body}");
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
