//! The collectd input: binary packets over UDP become points named by `types.db`.

use crate::daemon::{Daemon, Extra, free_port, refuses_config, series_rows};
use kap_ingest::collectd::{ValueList, gauge_packet};
use std::net::UdpSocket;

const TYPES_DB: &str = "load shortterm:GAUGE:0:5000, midterm:GAUGE:0:5000, longterm:GAUGE:0:5000\n";

/// A daemon reading collectd on `port` (UDP) with a `types.db` naming `load`'s values, and
/// a task `out` showing measurement `measurement` by host.
fn daemon(name: &str, port: u16, mode: &str, measurement: &str) -> (Daemon, crate::TestDir) {
    let dir = crate::tempdir(name);
    let types = dir.join("types.db");
    std::fs::write(&types, TYPES_DB).unwrap();
    let d = Daemon::start_config(
        name,
        Extra {
            tail: format!(
                "[collectd]\nenabled = true\nbind-address = \"127.0.0.1:{port}\"\ntypesdb = {:?}\nparse-multivalue-plugin = \"{mode}\"\n",
                types.display().to_string()
            ),
            ..Extra::default()
        },
    );
    let task = serde_json::json!({
        "id": "out", "type": "stream",
        "dbrps": [{"db": "collectd", "rp": "autogen"}],
        "script": format!("stream\n    |from()\n        .measurement('{measurement}')\n        .groupBy('host', 'type')\n    |window()\n        .periodCount(2)\n        .everyCount(2)\n    |httpOut('out')\n"),
        "status": "enabled"
    });
    let (status, body) = d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()));
    assert_eq!(status, 200, "{body}");
    (d, dir)
}

fn send(port: u16, second: i64, values: [f64; 3]) {
    let list = ValueList {
        host: "web01".into(),
        plugin: "load".into(),
        plugin_instance: String::new(),
        kind: "load".into(),
        type_instance: String::new(),
        time_ns: (1_356_998_400 + second) * 1_000_000_000,
        values: values.to_vec(),
    };
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(&gauge_packet(&list), ("127.0.0.1", port))
        .unwrap();
}

#[test]
fn collectd_values_split_into_points_named_by_types_db() {
    let port = free_port();
    let (d, _dir) = daemon("collectd", port, "split", "load_shortterm");
    // A packet that does not parse is dropped and logged; the next ones are read.
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(&[0, 1, 0, 40], ("127.0.0.1", port))
        .unwrap();
    send(port, 0, [0.5, 0.25, 0.125]);
    send(port, 1, [0.75, 0.5, 0.25]);
    let (tags, rows) = series_rows(
        &d,
        "/kapacitor/v1/tasks/out/out",
        ("host", "web01"),
        "value",
        2,
    );
    assert_eq!(tags, serde_json::json!({"host": "web01", "type": "load"}));
    assert_eq!(
        rows,
        vec![
            ("2013-01-01T00:00:00Z".to_string(), 0.5),
            ("2013-01-01T00:00:01Z".to_string(), 0.75)
        ]
    );
    let bad = d.wait_log_line("the bad packet", |l| l.contains("collectd packet dropped"));
    assert!(bad.contains("part length 40 does not fit"), "{bad}");
}

#[test]
fn collectd_value_lists_join_into_one_point() {
    let port = free_port();
    let (d, _dir) = daemon("collectd-join", port, "join", "load");
    send(port, 0, [0.5, 0.25, 0.125]);
    send(port, 1, [0.75, 0.5, 0.25]);
    let (_, rows) = series_rows(
        &d,
        "/kapacitor/v1/tasks/out/out",
        ("host", "web01"),
        "midterm",
        2,
    );
    assert_eq!(rows.iter().map(|r| r.1).collect::<Vec<_>>(), [0.25, 0.5]);
}

#[test]
fn collectd_configurations_that_cannot_work_are_refused() {
    let dir = crate::tempdir("collectd-refused");
    refuses_config(
        &dir,
        // (HTTP on a free port: the file is read once the API listens.)
        "[http]\nbind-address = \"127.0.0.1:0\"\n[collectd]\nenabled = true\nbind-address = \"127.0.0.1:0\"\ntypesdb = \"/nonexistent/types.db\"\n",
        "[collectd] typesdb /nonexistent/types.db",
    );
    refuses_config(
        &dir,
        "[collectd]\nenabled = true\nsecurity-level = \"sign\"\n",
        "collectd.security-level: \"sign\" is not supported",
    );
}
