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
        "[collectd]\nenabled = true\nsecurity-level = \"signed\"\n",
        "collectd.security-level: unknown security level \"signed\" (want none, sign or encrypt)",
    );
    refuses_config(
        &dir,
        "[http]\nbind-address = \"127.0.0.1:0\"\n[collectd]\nenabled = true\nbind-address = \"127.0.0.1:0\"\n\
         typesdb = \"/usr/share/collectd/types.db\"\nsecurity-level = \"sign\"\nauth-file = \"/nonexistent/auth\"\n",
        "[collectd] auth-file /nonexistent/auth",
    );
}

/// collectd itself (Debian's `collectd-core`, which the test command installs): its path.
fn collectd_binary() -> std::path::PathBuf {
    let sbin = std::path::PathBuf::from("/usr/sbin/collectd");
    if sbin.exists() {
        return sbin;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("collectd"))
                .find(|p| p.exists())
        })
        .expect("collectd is installed (Debian package collectd-core; .ci/run installs it)")
}

/// A running collectd that sends its `load` values every second to `port` as host
/// `host`, with `security` lines in its `<Server>` block; stopped when dropped.
struct Collectd {
    child: std::process::Child,
    /// Its configuration and base directory, removed after it stops.
    _dir: crate::TestDir,
}

impl Collectd {
    fn start(host: &str, port: u16, security: &str) -> Collectd {
        let dir = crate::tempdir(&format!("collectd-{host}"));
        let conf = dir.join("collectd.conf");
        std::fs::write(
            &conf,
            format!(
                "Hostname \"{host}\"\nFQDNLookup false\nInterval 1\nBaseDir \"{d}\"\n\
                 PIDFile \"{d}/collectd.pid\"\nTypesDB \"/usr/share/collectd/types.db\"\n\
                 LoadPlugin load\n<LoadPlugin network>\n  FlushInterval 1\n</LoadPlugin>\n\
                 <Plugin network>\n  <Server \"127.0.0.1\" \"{port}\">\n{security}\n  </Server>\n</Plugin>\n",
                d = dir.display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new(collectd_binary())
            .args(["-f", "-C"])
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start collectd");
        Collectd { child, _dir: dir }
    }
}

impl Drop for Collectd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Real collectd daemons sending to a `security-level = "sign"` input: signed and
/// encrypted values with the auth file's password are read; plaintext, and encryption
/// with another password, are dropped and logged.
#[test]
fn a_real_collectds_signed_and_encrypted_packets_are_read_at_security_level_sign() {
    let port = free_port();
    let dir = crate::tempdir("collectd-secure");
    let auth = dir.join("auth_file");
    std::fs::write(&auth, "# collectd users\nalice: s3cret\n").unwrap();
    let d = Daemon::start_config(
        "collectd-secure",
        Extra {
            tail: format!(
                "[collectd]\nenabled = true\nbind-address = \"127.0.0.1:{port}\"\n\
                 typesdb = \"/usr/share/collectd/types.db\"\nsecurity-level = \"sign\"\nauth-file = {:?}\n",
                auth.display().to_string()
            ),
            ..Extra::default()
        },
    );
    let task = serde_json::json!({
        "id": "out", "type": "stream",
        "dbrps": [{"db": "collectd", "rp": "autogen"}],
        "script": "stream\n    |from()\n        .measurement('load_shortterm')\n        .groupBy('host')\n    |window()\n        .periodCount(1)\n        .everyCount(1)\n    |httpOut('out')\n",
        "status": "enabled"
    });
    let (status, body) = d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()));
    assert_eq!(status, 200, "{body}");
    let _signer = Collectd::start(
        "signer",
        port,
        "    SecurityLevel Sign\n    Username \"alice\"\n    Password \"s3cret\"",
    );
    let _sealed = Collectd::start(
        "sealed",
        port,
        "    SecurityLevel Encrypt\n    Username \"alice\"\n    Password \"s3cret\"",
    );
    let _plain = Collectd::start("plain", port, "    SecurityLevel None");
    let _intruder = Collectd::start(
        "intruder",
        port,
        "    SecurityLevel Encrypt\n    Username \"alice\"\n    Password \"guess\"",
    );
    let hosts = |v: &serde_json::Value| -> Vec<String> {
        let mut h: Vec<String> = v["series"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|s| s["tags"]["host"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        h.sort();
        h
    };
    d.wait_json("/kapacitor/v1/tasks/out/out", 30, |v| {
        hosts(v) == ["sealed", "signer"]
    });
    let plain = d.wait_log_line("plaintext dropped", |l| {
        l.contains("collectd packet dropped") && l.contains("not signed or encrypted")
    });
    assert!(plain.contains("(security-level sign)"), "{plain}");
    d.wait_log_line("a wrong password dropped", |l| {
        l.contains("collectd packet dropped")
            && l.contains("encrypted part of user \"alice\" does not decrypt")
    });
    // Still only the two with the password, with a load value each.
    let out = d.json("/kapacitor/v1/tasks/out/out");
    assert_eq!(hosts(&out), ["sealed", "signer"], "{out}");
    for s in out["series"].as_array().unwrap() {
        let cols = s["columns"].as_array().unwrap();
        let value = cols.iter().position(|c| c == "value").unwrap();
        assert!(s["values"][0][value].as_f64().is_some(), "{out}");
    }
}
