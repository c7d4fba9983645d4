//! The OpenTSDB input: telnet `put` lines and `POST /api/put` on one port (and over TLS)
//! reach stream tasks as points of the metric with field `value`.

use crate::daemon::{Daemon, Extra, free_port, refuses_config, series_rows};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A daemon with `[opentsdb]` on `port` (batches of 2) and a task `out` showing the
/// `sys.cpu` points of `opentsdb.autogen` by host.
fn daemon(name: &str, port: u16, more: &str) -> Daemon {
    let d = Daemon::start_config(
        name,
        Extra {
            tail: format!(
                "[opentsdb]\nenabled = true\nbind-address = \"127.0.0.1:{port}\"\nbatch-size = 2\nbatch-timeout = \"100ms\"\n{more}"
            ),
            ..Extra::default()
        },
    );
    let task = serde_json::json!({
        "id": "out", "type": "stream",
        "dbrps": [{"db": "opentsdb", "rp": "autogen"}],
        "script": "stream\n    |from()\n        .measurement('sys.cpu')\n        .groupBy('host')\n    |window()\n        .periodCount(2)\n        .everyCount(2)\n    |httpOut('out')\n",
        "status": "enabled"
    });
    let (status, body) = d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()));
    assert_eq!(status, 200, "{body}");
    d
}

/// The `(time, value)` rows of host `host` in the task's output, once there are `n`.
fn rows(d: &Daemon, host: &str, n: usize) -> Vec<(String, f64)> {
    series_rows(d, "/kapacitor/v1/tasks/out/out", ("host", host), "value", n).1
}

#[test]
fn telnet_puts_and_http_puts_share_the_port() {
    let port = free_port();
    let d = daemon("opentsdb", port, "");
    let mut telnet = TcpStream::connect(("127.0.0.1", port)).unwrap();
    telnet
        .write_all(
            b"put sys.cpu 1356998400 42.5 host=a cpu=0\nversion\nput sys.cpu 13569984 1 host=a\nput sys.cpu 1356998401123 43 host=a bad=\n",
        )
        .unwrap();
    let mut answer = [0u8; 19];
    telnet
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    telnet.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"InfluxDB TSDB proxy");
    assert_eq!(
        rows(&d, "a", 2),
        vec![
            ("2013-01-01T00:00:00Z".to_string(), 42.5),
            ("2013-01-01T00:00:01.123Z".to_string(), 43.0)
        ]
    );
    let bad = d.wait_log_line("the bad line", |l| l.contains("OpenTSDB line 3"));
    assert!(bad.contains("must be 10 or 13 digits"), "{bad}");
    // HTTP on the same port: an array of points, then a body that is not JSON.
    let url = format!("http://127.0.0.1:{port}/api/put");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let resp = agent
        .post(&url)
        .send(r#"[{"metric":"sys.cpu","timestamp":1356998400,"value":1,"tags":{"host":"b"}},{"metric":"sys.cpu","timestamp":1356998401000,"value":2,"tags":{"host":"b"}}]"#)
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        rows(&d, "b", 2),
        vec![
            ("2013-01-01T00:00:00Z".to_string(), 1.0),
            ("2013-01-01T00:00:01Z".to_string(), 2.0)
        ]
    );
    let mut resp = agent.post(&url).send("not json").unwrap();
    assert_eq!(resp.status(), 400);
    let body = resp.body_mut().read_to_string().unwrap();
    assert!(body.starts_with("json object decode error"), "{body}");
    let resp = agent
        .post(format!("http://127.0.0.1:{port}/api/metadata/put"))
        .send("{}")
        .unwrap();
    assert_eq!(resp.status(), 204);
}

#[test]
fn opentsdb_over_tls() {
    let dir = crate::tempdir("opentsdb-tls");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("self-signed certificate");
    let pem = dir.join("opentsdb.pem");
    std::fs::write(
        &pem,
        format!("{}{}", ck.cert.pem(), ck.signing_key.serialize_pem()),
    )
    .unwrap();
    let port = free_port();
    let d = daemon(
        "opentsdb-tls",
        port,
        &format!(
            "tls-enabled = true\ncertificate = {:?}\n",
            pem.display().to_string()
        ),
    );
    let ca = ureq::tls::Certificate::from_pem(ck.cert.pem().as_bytes())
        .unwrap()
        .to_owned();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .build()
        .into();
    let resp = agent
        .post(format!("https://127.0.0.1:{port}/api/put"))
        .send(r#"[{"metric":"sys.cpu","timestamp":1356998400,"value":5,"tags":{"host":"t"}},{"metric":"sys.cpu","timestamp":1356998401,"value":6,"tags":{"host":"t"}}]"#)
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(rows(&d, "t", 2).len(), 2);
    refuses_config(
        &dir,
        // (HTTP on a free port: the file is read once the API listens.)
        "[http]\nbind-address = \"127.0.0.1:0\"\n[opentsdb]\nenabled = true\nbind-address = \"127.0.0.1:0\"\ntls-enabled = true\ncertificate = \"/nonexistent.pem\"\n",
        "[opentsdb] certificate /nonexistent.pem",
    );
}
