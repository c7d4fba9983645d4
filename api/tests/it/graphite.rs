//! The Graphite inputs: plaintext lines over TCP and UDP, turned into points by the
//! section's templates and default tags, reach stream tasks.

use crate::daemon::{Daemon, Extra, free_port, series_rows};
use std::io::Write;
use std::net::{TcpStream, UdpSocket};

/// The `(time, idle)` rows of host `host` in the task's output, once there are `n`.
fn rows(d: &Daemon, host: &str, n: usize) -> (serde_json::Value, Vec<(String, f64)>) {
    series_rows(d, "/kapacitor/v1/tasks/out/out", ("host", host), "idle", n)
}

#[test]
fn graphite_lines_over_tcp_and_udp_follow_the_templates() {
    let (tcp, udp) = (free_port(), free_port());
    let section = |port: u16, protocol: &str| {
        format!(
            "[[graphite]]\nenabled = true\nbind-address = \"127.0.0.1:{port}\"\nprotocol = \"{protocol}\"\nbatch-size = 2\nbatch-timeout = \"100ms\"\ntemplates = [\"servers.* .host.measurement.field\"]\ntags = [\"dc=eu\"]\n"
        )
    };
    let d = Daemon::start_config(
        "graphite",
        Extra {
            tail: format!("{}{}", section(tcp, "tcp"), section(udp, "udp")),
            ..Extra::default()
        },
    );
    let task = serde_json::json!({
        "id": "out", "type": "stream",
        "dbrps": [{"db": "graphite", "rp": "autogen"}],
        "script": "stream\n    |from()\n        .measurement('cpu')\n        .groupBy('host', 'dc')\n    |window()\n        .periodCount(2)\n        .everyCount(2)\n    |httpOut('out')\n",
        "status": "enabled"
    });
    let (status, body) = d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()));
    assert_eq!(status, 200, "{body}");
    let mut conn = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    conn.write_all(
        b"servers.web01.cpu.idle 12 1356998400\nbad\nservers.web01.cpu.idle 13.5 1356998401.5\nservers.web01.cpu.idle NaN 1356998402\n",
    )
    .unwrap();
    let (tags, got) = rows(&d, "web01", 2);
    assert_eq!(tags, serde_json::json!({"host": "web01", "dc": "eu"}));
    assert_eq!(
        got,
        vec![
            ("2013-01-01T00:00:00Z".to_string(), 12.0),
            ("2013-01-01T00:00:01.5Z".to_string(), 13.5)
        ]
    );
    let bad = d.wait_log_line("the bad line", |l| l.contains("Graphite line 2"));
    assert!(bad.contains("doesn't have required fields"), "{bad}");
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(
            b"servers.web02.cpu.idle 1 1356998400\nservers.web02.cpu.idle 2 1356998401\n",
            ("127.0.0.1", udp),
        )
        .unwrap();
    let (_, got) = rows(&d, "web02", 2);
    assert_eq!(got.iter().map(|r| r.1).collect::<Vec<_>>(), [1.0, 2.0]);
}
