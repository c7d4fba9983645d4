//! `kap_api::config`: defaults, `kapacitord config` output, unknown keys, environment overrides.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kap_api::config::{Config, ConfigError, load};

/// An environment made of the given pairs only.
fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn defaults_match_kapacitor() {
    let c = Config::default();
    assert_eq!(c.hostname, "localhost");
    assert_eq!(c.data_dir, Path::new("/var/lib/kapacitor"));
    assert_eq!(c.http.bind_address, "127.0.0.1:9092");
    assert_eq!(c.http.shutdown_timeout, Duration::from_secs(10));
    assert!(c.http.log_enabled);
    assert_eq!(c.replay_dir(), Path::new("/var/lib/kapacitor/replay"));
    assert_eq!(c.store_path(), Path::new("/var/lib/kapacitor/kapacitor.db"));
    assert_eq!(c.task_dir(), Path::new("/var/lib/kapacitor/tasks"));
    assert_eq!(c.task.snapshot_interval, Duration::from_secs(60));
    assert!(c.alert.persist_topics);
    assert_eq!(c.logging.level, "INFO");
    assert_eq!(c.influxdb.len(), 1);
    assert_eq!(c.influxdb[0].urls, ["http://localhost:8086"]);
    assert_eq!(c.influxdb[0].startup_timeout, Duration::from_secs(300));
    assert_eq!(c.deadman.interval, Duration::from_secs(10));
    assert_eq!(c.stats.database, "_kapacitor");
    assert!(c.unix_socket().is_none());
    c.validate().expect("defaults are valid");
    assert_eq!(
        c.http_bind_addr().unwrap(),
        "127.0.0.1:9092".parse().unwrap()
    );
}

#[test]
fn demo_config_lives_under_home() {
    let c = Config::demo(&env_of(&[("HOME", "/home/k")]));
    assert_eq!(c.data_dir, Path::new("/home/k/.kapacitor"));
    assert_eq!(c.store_path(), Path::new("/home/k/.kapacitor/kapacitor.db"));
    // `load` without any file falls back to the demo configuration.
    let c = load(None, &env_of(&[("HOME", "/nonexistent-home")])).unwrap();
    assert_eq!(c.data_dir, Path::new("/nonexistent-home/.kapacitor"));
}

#[test]
fn defaults_round_trip_through_to_toml() {
    let text = Config::default().to_toml();
    for section in [
        "[http]",
        "[replay]",
        "[storage]",
        "[task]",
        "[load]",
        "[alert]",
        "[logging]",
        "[deadman]",
        "[stats]",
        "[[influxdb]]",
    ] {
        assert!(text.contains(section), "{section} missing from:\n{text}");
    }
    assert!(text.contains("shutdown-timeout = \"10s\""), "{text}");
    assert!(text.contains("snapshot-interval = \"1m0s\""), "{text}");
    assert!(
        text.contains("boltdb = \"/var/lib/kapacitor/kapacitor.db\""),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "kapacitor.conf", &text);
    let loaded = load(Some(&path), &env_of(&[])).unwrap();
    let mut want = Config::default();
    want.replay.dir = want.replay_dir();
    want.storage.boltdb = want.store_path();
    want.task.dir = want.task_dir();
    want.load.dir = want.load_dir();
    assert_eq!(loaded, want);
    assert_eq!(loaded.to_toml(), text);
}

#[test]
fn unknown_key_names_key_line_and_section() {
    let text = "hostname = \"h\"\n\n[http]\n  bind-adress = \":9092\"\n";
    let err = Config::parse(text, "config.toml").unwrap_err();
    assert!(
        matches!(err, ConfigError::UnknownKey { line: 4, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "config.toml:4: unknown key \"bind-adress\" in [http] (did you mean \"bind-address\"?)"
    );

    let text = "[[influxdb]]\nname = \"a\"\n\n[[influxdb]]\nname = \"b\"\nurl = [\"x\"]\n";
    let err = Config::parse(text, "c.conf").unwrap_err().to_string();
    assert_eq!(
        err,
        "c.conf:6: unknown key \"url\" in [[influxdb]] (did you mean \"urls\"?)"
    );

    let err = Config::parse("\n\nfrobnicate = 1\n", "c.conf")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "c.conf:3: unknown key \"frobnicate\" in the top level");

    let err = Config::parse("[htp]\nx = 1\n", "c.conf")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "c.conf:1: unknown key \"htp\" in the top level (did you mean \"http\"?)"
    );

    // Through `load`, the origin is the file's path.
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "k.conf", "[storage]\nbolt = \"x\"\n");
    let err = load(Some(&path), &env_of(&[])).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}:2: unknown key \"bolt\" in [storage]",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn type_errors_and_syntax_errors_have_lines() {
    let err = Config::parse("[http]\nlog-enabled = true\nauth-enabled = \"yes\"\n", "c")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("c:3: invalid value for \"auth-enabled\" in [http]:"),
        "{err}"
    );
    let err = Config::parse("[task]\nsnapshot-interval = \"10 s\"\n", "c")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("c:2: "), "{err}");
    assert!(err.contains("invalid duration"), "{err}");
    let err = Config::parse("[deadman]\ninterval = true\n", "c")
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected a duration string"), "{err}");
    let err = Config::parse("\n[[influxdb]]\ntimeout = 10\n", "c")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("c:3: invalid value for \"timeout\" in [[influxdb]]:"),
        "{err}"
    );
    assert!(err.contains("missing unit"), "{err}");
    let err = Config::parse("[http\n", "c").unwrap_err();
    assert!(matches!(err, ConfigError::Parse { line: 1, .. }), "{err:?}");
}

#[test]
fn durations_in_go_form() {
    let c = Config::parse(
        "[http]\nshutdown-timeout = \"1m30s\"\n[deadman]\ninterval = \"1.5s\"\n\
         [[influxdb]]\ntimeout = \"0\"\nstartup-timeout = \"2h\"\n",
        "c",
    )
    .unwrap();
    assert_eq!(c.http.shutdown_timeout, Duration::from_secs(90));
    assert_eq!(c.deadman.interval, Duration::from_millis(1500));
    assert_eq!(c.influxdb[0].timeout, Duration::ZERO);
    assert_eq!(c.influxdb[0].startup_timeout, Duration::from_secs(7200));
    let text = c.to_toml();
    assert!(text.contains("shutdown-timeout = \"1m30s\""), "{text}");
    assert!(text.contains("interval = \"1.5s\""), "{text}");
    assert!(text.contains("startup-timeout = \"2h0m0s\""), "{text}");
}

#[test]
fn env_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "kapacitor.conf",
        "data_dir = \"/srv/kap\"\n[http]\nbind-address = \":9092\"\n\
         [[influxdb]]\nname = \"a\"\nurls = [\"http://a:8086\", \"http://b:8086\"]\n",
    );
    let env = env_of(&[
        ("KAPACITOR_CONFIG_PATH", path.to_str().unwrap()),
        ("KAPACITOR_HOSTNAME", "kap1"),
        ("KAPACITOR_DATA_DIR", "/data"),
        ("KAPACITOR_DEFAULT_RETENTION_POLICY", "rp1"),
        ("KAPACITOR_HTTP_BIND_ADDRESS", "127.0.0.1:9999"),
        ("KAPACITOR_HTTP_SHUTDOWN_TIMEOUT", "3s"),
        ("KAPACITOR_HTTP_LOG_ENABLED", "false"),
        ("KAPACITOR_REPLAY_DIR", "/replays"),
        ("KAPACITOR_LOGGING_LEVEL", "DEBUG"),
        ("KAPACITOR_DEADMAN_THRESHOLD", "2.5"),
        ("KAPACITOR_INFLUXDB_0_URLS_1", "http://c:8086"),
        ("KAPACITOR_INFLUXDB_0_ENABLED", "0"),
        ("KAPACITOR_INFLUXDB_1_NAME", "second"),
        ("KAPACITOR_INFLUXDB_1_URLS_0", "http://d:8086"),
        ("KAPACITOR_UDP_0_BIND_ADDRESS", ":4444"),
        ("KAPACITOR_UDP_0_ENABLED", "true"),
        ("KAPACITOR_UDP_0_DATABASE", "game"),
    ]);
    let c = load(None, &env).unwrap();
    assert_eq!(c.hostname, "kap1");
    assert_eq!(c.data_dir, Path::new("/data"));
    assert_eq!(c.default_retention_policy, "rp1");
    assert_eq!(c.http.bind_address, "127.0.0.1:9999");
    assert_eq!(c.http.shutdown_timeout, Duration::from_secs(3));
    assert!(!c.http.log_enabled);
    assert_eq!(c.replay_dir(), Path::new("/replays"));
    assert_eq!(c.store_path(), Path::new("/data/kapacitor.db"));
    assert_eq!(c.logging.level, "DEBUG");
    assert_eq!(c.deadman.threshold, 2.5);
    assert_eq!(c.influxdb.len(), 2);
    assert_eq!(c.influxdb[0].name, "a");
    assert!(!c.influxdb[0].enabled);
    assert_eq!(c.influxdb[0].urls, ["http://a:8086", "http://c:8086"]);
    assert_eq!(c.influxdb[1].name, "second");
    assert!(
        c.influxdb[1].enabled,
        "a new element starts from the defaults"
    );
    assert_eq!(c.influxdb[1].urls, ["http://d:8086"]);
    assert_eq!(c.udp.len(), 1);
    assert_eq!(c.udp[0].bind_address, ":4444");
    assert!(c.udp[0].enabled);
    assert_eq!(c.udp[0].buffer, 1000);
    c.validate().unwrap();

    // A whole list at once, and the storage path.
    let c = load(
        Some(&path),
        &env_of(&[
            ("KAPACITOR_INFLUXDB_0_URLS", "http://x:1, http://y:2"),
            ("KAPACITOR_STORAGE_BOLTDB", "/db/k.db"),
        ]),
    )
    .unwrap();
    assert_eq!(c.influxdb[0].urls, ["http://x:1", "http://y:2"]);
    assert_eq!(c.store_path(), Path::new("/db/k.db"));
}

#[test]
fn env_override_creates_first_influxdb_element() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "k.conf", "influxdb = []\n");
    let c = load(
        Some(&path),
        &env_of(&[("KAPACITOR_INFLUXDB_0_URLS_0", "http://influx:8086")]),
    )
    .unwrap();
    assert_eq!(c.influxdb.len(), 1);
    assert_eq!(c.influxdb[0].name, "default");
    assert_eq!(c.influxdb[0].urls, ["http://influx:8086"]);
}

#[test]
fn bad_env_values_name_the_variable() {
    for (var, value, want) in [
        ("KAPACITOR_HTTP_AUTH_ENABLED", "yes", "invalid boolean"),
        ("KAPACITOR_HTTP_MAX_BODY_SIZE", "big", "invalid integer"),
        ("KAPACITOR_HTTP_SHUTDOWN_TIMEOUT", "10", "missing unit"),
        ("KAPACITOR_INFLUXDB_0_TIMEOUT", "soon", "invalid duration"),
        ("KAPACITOR_INFLUXDB_0_HTTP_PORT", "70000", "KAPACITOR_"),
    ] {
        let err = load(None, &env_of(&[(var, value)]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("KAPACITOR_"), "{var}: {err}");
        assert!(err.contains(want), "{var}: {err}");
        if want != "KAPACITOR_" {
            assert!(err.starts_with(var), "{var}: {err}");
        }
    }
}

#[test]
fn missing_file_is_an_error() {
    let err = load(
        None,
        &env_of(&[("KAPACITOR_CONFIG_PATH", "/nonexistent/kapacitor.conf")]),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
    assert!(err.to_string().starts_with("/nonexistent/kapacitor.conf: "));
}

/// A Kapacitor section this daemon does not implement may be present, but not enabled:
/// what it would do would silently not happen. `[reporting]` stays accepted (nothing is
/// reported), and `auth-enabled` is refused rather than run an open API.
#[test]
fn unsupported_sections_are_refused_when_enabled() {
    let err = Config::parse(
        "[graphite]\n  enabled = false\n[[nerve]]\n  enabled = false\n[[nerve]]\n  id = \"b\"\n  enabled = true\n",
        "kapacitor.conf",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "kapacitor.conf:7: nerve.enabled: Nerve discovery is not supported by this daemon; set enabled = false"
    );
    let err = Config::parse("[fluxtask]\nenabled = true\n", "c").unwrap_err();
    assert!(
        matches!(err, ConfigError::Unsupported { line: 2, .. }),
        "{err}"
    );
    let ok = Config::parse(
        "[reporting]\nenabled = true\n[graphite]\nenabled = false\n[[kubernetes]]\nenabled = false\n",
        "c",
    );
    assert!(ok.is_ok(), "{ok:?}");
    // UDP subscriptions are Kapacitor's; an unknown protocol is refused.
    let udp = Config::parse(
        "[[influxdb]]\nenabled = true\nurls = [\"http://127.0.0.1:8086\"]\nsubscription-protocol = \"udp\"\nudp-bind = \"127.0.0.1\"\n",
        "c",
    )
    .unwrap();
    assert!(udp.validate().is_ok());
    let err = Config::parse(
        "[[influxdb]]\nenabled = true\nurls = [\"http://127.0.0.1:8086\"]\nsubscription-protocol = \"tcp\"\n",
        "c",
    )
    .unwrap()
    .validate()
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("influxdb[0].subscription-protocol"),
        "{err}"
    );
    let err = Config::parse("[http]\nauth-enabled = true\n", "c")
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("http.auth-enabled"), "{err}");
}

#[test]
fn validation() {
    let invalid = |text: &str| {
        Config::parse(text, "c")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string()
    };
    assert!(invalid("[http]\nbind-address = \"9092\"\n").contains("http.bind-address"));
    let https = invalid("[http]\nhttps-enabled = true\nhttps-certificate = \"\"\n");
    assert!(https.contains("http.https-certificate"), "{https}");
    assert!(invalid("[[influxdb]]\nurls = []\n").contains("influxdb[0].urls"));
    assert!(invalid("[[influxdb]]\nurls = [\"localhost:8086\"]\n").contains("invalid URL"));
    assert!(
        invalid("[[influxdb]]\nsubscription-protocol = \"tcp\"\n")
            .contains("influxdb[0].subscription-protocol")
    );
    assert!(
        invalid("[[influxdb]]\nname = \"a\"\n[[influxdb]]\nname = \"b\"\n")
            .contains("must be marked as default")
    );
    assert!(
        invalid("[[influxdb]]\nname = \"a\"\n[[influxdb]]\nname = \"a\"\ndefault = true\n")
            .contains("duplicate name")
    );
    assert!(invalid("[logging]\nlevel = \"loud\"\n").contains("logging.level"));
    assert!(
        invalid("[[udp]]\nenabled = true\nbind-address = \":9100\"\n").contains("udp[0].database")
    );
    // A disabled cluster needs no URLs; one enabled cluster is the default implicitly.
    let c = Config::parse(
        "[[influxdb]]\nname = \"off\"\nenabled = false\nurls = []\n[[influxdb]]\nname = \"on\"\n",
        "c",
    )
    .unwrap();
    c.validate().unwrap();
    assert_eq!(c.default_influxdb().unwrap().name, "on");
    let c = Config::parse("[http]\nbind-address = \":9092\"\n", "c").unwrap();
    assert_eq!(c.http_bind_addr().unwrap(), "0.0.0.0:9092".parse().unwrap());
}

/// Kapacitor's packaged `etc/kapacitor/kapacitor.conf`, trimmed of comments and of most handler
/// sections (which are accepted and ignored).
const KAPACITOR_SAMPLE: &str = r#"
hostname = "localhost"
data_dir = "/var/lib/kapacitor"
skip-config-overrides = false
default-retention-policy = ""

[alert]
  persist-topics = true

[http]
  bind-address = ":9092"
  auth-enabled = false
  log-enabled = true
  write-tracing = false
  pprof-enabled = false
  https-enabled = false
  https-certificate = "/etc/ssl/kapacitor.pem"
  shutdown-timeout = "10s"
  shared-secret = ""

[tls]
  min-version = ""
  max-version = ""

[config-override]
  enabled = true

[logging]
    file = "/var/log/kapacitor/kapacitor.log"
    level = "INFO"

[load]
  enabled = true
  dir = "/etc/kapacitor/load"

[replay]
  dir = "/var/lib/kapacitor/replay"

[task]
  dir = "/var/lib/kapacitor/tasks"
  snapshot-interval = "60s"

[storage]
  boltdb = "/var/lib/kapacitor/kapacitor.db"

[deadman]
  global = false
  threshold = 0.0
  interval = "10s"
  id = "node 'NODE_NAME' in task '{{ .TaskName }}'"
  message = "{{ .ID }} is {{ if eq .Level \"OK\" }}alive{{ else }}dead{{ end }}: {{ index .Fields \"emitted\" | printf \"%0.3f\" }} points/INTERVAL."

[[influxdb]]
  enabled = true
  default = true
  name = "localhost"
  urls = ["http://localhost:8086"]
  username = ""
  password = ""
  timeout = 0
  insecure-skip-verify = false
  startup-timeout = "5m"
  disable-subscriptions = false
  subscription-mode = "cluster"
  subscription-protocol = "http"
  subscriptions-sync-interval = "1m0s"
  kapacitor-hostname = ""
  http-port = 0
  udp-bind = ""
  udp-buffer = 1000
  udp-read-buffer = 0
  [influxdb.subscriptions]
    mydb = ["autogen"]
  [influxdb.excluded-subscriptions]
    _kapacitor = ["autogen"]

[fluxtask]
  enabled = false
  task-run-influxdb = "localhost"

[smtp]
  enabled = false
  host = "localhost"
  port = 25

[[slack]]
  enabled = false
  default = true
  workspace = ""

[reporting]
  enabled = true
  url = "https://usage.influxdata.com"

[stats]
  enabled = true
  stats-interval = "10s"
  database = "_kapacitor"
  retention-policy= "autogen"

[udf]
[udf.functions]

[[udp]]
  enabled = false
  bind-address = ":9100"
  database = "game"
  retention-policy = "autogen"

[collectd]
  enabled = false
  bind-address = ":25826"
  database = "collectd"
  retention-policy = ""
  batch-size = 1000
  batch-pending = 5
  batch-timeout = "10s"
  typesdb = "/usr/share/collectd/types.db"

[[graphite]]
  enabled = false
  bind-address = ":2003"
  database = "graphite"
  protocol = "tcp"
  batch-size = 1000
  batch-pending = 5
  batch-timeout = "1s"
  udp-read-buffer = 0
  separator = "."
  templates = [
    "*.app env.service.resource.measurement",
    "server.*",
  ]
  tags = ["region=us-east"]

[opentsdb]
  enabled = false
  bind-address = ":4242"
  database = "opentsdb"
  retention-policy = ""
  consistency-level = "one"
  tls-enabled = false
  certificate = "/etc/ssl/influxdb.pem"
  batch-size = 1000
  batch-pending = 5
  batch-timeout = "1s"
  log-point-errors = true

[[scraper]]
  enabled = false
  name = "myscraper"
  discoverer-id = ""
  discoverer-service = ""
  db = "prometheus_raw"
  rp = "autogen"
  type = "prometheus"
  scheme = "http"
  metrics-path = "/metrics"
  scrape-interval = "1m0s"
  scrape-timeout = "10s"
  username = ""
  password = ""
  bearer-token = ""
  ssl-ca = ""
  ssl-cert = ""
  ssl-key = ""
  ssl-server-name = ""
  insecure-skip-verify = false

[[file-discovery]]
  enabled = false
  id = "myfile"
  refresh-interval = "5m0s"
  files = []

[[static-discovery]]
  enabled = false
  id = "mystatic"
  targets = ["localhost:9100"]
  [static.labels]
    region = "us-east-1"
"#;

#[test]
fn kapacitor_sample_config_parses() {
    // `timeout = 0` is an integer, which Go's TOML decoder hands to `toml.Duration` as "0".
    let c = Config::parse(KAPACITOR_SAMPLE, "kapacitor.conf").unwrap();
    c.validate().unwrap();
    assert_eq!(c.http_bind_addr().unwrap(), "0.0.0.0:9092".parse().unwrap());
    assert_eq!(c.logging.file, "/var/log/kapacitor/kapacitor.log");
    assert!(c.load.enabled);
    assert_eq!(c.load_dir(), Path::new("/etc/kapacitor/load"));
    assert_eq!(c.influxdb.len(), 1);
    assert_eq!(c.influxdb[0].name, "localhost");
    assert_eq!(c.influxdb[0].subscriptions["mydb"], ["autogen"]);
    assert_eq!(c.influxdb[0].startup_timeout, Duration::from_secs(300));
    assert_eq!(c.task.snapshot_interval, Duration::from_secs(60));
    assert_eq!(c.udp.len(), 1);
    assert_eq!(c.udp[0].database, "game");
    assert_eq!(c.default_influxdb().unwrap().name, "localhost");
    assert_eq!(c.collectd.typesdb, "/usr/share/collectd/types.db");
    assert_eq!(c.graphite[0].templates.len(), 2);
    assert_eq!(c.graphite[0].batch_size, 1000);
    assert_eq!(c.opentsdb.database, "opentsdb");
    assert_eq!(c.opentsdb.batch_timeout, Duration::from_secs(1));
    assert_eq!(c.scraper[0].name, "myscraper");
    assert_eq!(c.scraper[0].scrape_timeout, Duration::from_secs(10));
    assert_eq!(c.static_discovery[0].targets, ["localhost:9100"]);
    assert_eq!(
        c.file_discovery[0].refresh_interval,
        Duration::from_secs(300)
    );
}

/// An enabled scraper is checked with the discoverer it names; discoverers other than
/// static and file discovery are refused by name. Enabled `[opentsdb]`, `[[graphite]]` and
/// `[collectd]` sections are checked too.
#[test]
fn scraper_and_input_validation() {
    let check = |text: &str| {
        Config::parse(text, "c")
            .unwrap()
            .validate()
            .map_err(|e| e.to_string())
    };
    let good = "[[static-discovery]]\nenabled = true\nid = \"s\"\ntargets = [\"127.0.0.1:9100\"]\n\
                [static-discovery.labels]\nregion = \"eu\"\n\
                [[scraper]]\nenabled = true\nname = \"job\"\ndb = \"prom\"\n\
                discoverer-service = \"static-discovery\"\ndiscoverer-id = \"s\"\n";
    check(good).unwrap();
    let c = Config::parse(good, "c").unwrap();
    assert_eq!(c.static_discovery[0].labels["region"], "eu");
    let bad = |edit: (&str, &str), want: &str| {
        let text = good.replace(edit.0, edit.1);
        let err = check(&text).unwrap_err();
        assert!(err.contains(want), "{text}: {err}");
    };
    bad(("name = \"job\"", "name = \"\""), "scraper[0].name");
    bad(
        ("db = \"prom\"", "type = \"influx\"\ndb = \"prom\""),
        "unknown scraper type \"influx\" (want prometheus)",
    );
    bad(("db = \"prom\"\n", ""), "scraper[0].db");
    bad(
        ("discoverer-id = \"s\"", "discoverer-id = \"t\""),
        "no enabled [[static-discovery]] has id \"t\"",
    );
    bad(
        (
            "discoverer-service = \"static-discovery\"",
            "discoverer-service = \"nerve\"",
        ),
        "\"nerve\" discovery is not supported (static-discovery, file-discovery, azure, consul, dns, ec2, gce, kubernetes, marathon and triton are)",
    );
    bad(
        (
            "discoverer-service = \"static-discovery\"",
            "discoverer-service = \"x\"",
        ),
        "unknown discoverer service \"x\"",
    );
    bad(
        ("targets = [\"127.0.0.1:9100\"]", "targets = [\"nohost\"]"),
        "invalid target \"nohost\": want host:port",
    );
    bad(
        ("db = \"prom\"", "db = \"prom\"\nscrape-timeout = \"2m\""),
        "scraper[0].scrape-timeout",
    );
    bad(
        ("db = \"prom\"", "db = \"prom\"\nssl-server-name = \"x\""),
        "scraper[0].ssl-server-name",
    );
    let files = "[[file-discovery]]\nenabled = true\nid = \"f\"\nfiles = [\"/etc/targets.txt\"]\n";
    assert!(
        check(files)
            .unwrap_err()
            .contains("only .json, .yml and .yaml files are read")
    );
    let tsdb = |more: &str| check(&format!("[opentsdb]\nenabled = true\n{more}"));
    tsdb("").unwrap();
    assert!(
        tsdb("database = \"\"\n")
            .unwrap_err()
            .contains("opentsdb.database")
    );
    assert!(
        tsdb("bind-address = \"4242\"\n")
            .unwrap_err()
            .contains("opentsdb.bind-address")
    );
    assert!(
        tsdb("consistency-level = \"two\"\n")
            .unwrap_err()
            .contains("unknown level \"two\"")
    );
    let graphite = |more: &str| check(&format!("[[graphite]]\nenabled = true\n{more}"));
    graphite("templates = [\"a.* .host.measurement.field dc=eu\"]\n").unwrap();
    assert!(
        graphite("protocol = \"sctp\"\n")
            .unwrap_err()
            .contains("graphite[0].protocol")
    );
    let e = graphite("templates = [\"measurement*.field*\"]\n").unwrap_err();
    assert!(
        e.contains("graphite[0].templates: template \"measurement*.field*\""),
        "{e}"
    );
    assert!(
        graphite("tags = [\"dc\"]\n")
            .unwrap_err()
            .contains("invalid tag format \"dc\"")
    );
    let collectd = |more: &str| check(&format!("[collectd]\nenabled = true\n{more}"));
    collectd("parse-multivalue-plugin = \"join\"\n").unwrap();
    assert!(
        collectd("parse-multivalue-plugin = \"merge\"\n")
            .unwrap_err()
            .contains("unknown mode \"merge\" (want split or join)")
    );
    let consul = |more: &str| check(&format!("[[consul]]\nenabled = true\nid = \"c\"\n{more}"));
    consul("services = [\"web\"]\n").unwrap();
    assert!(
        consul("address = \"consul\"\n")
            .unwrap_err()
            .contains("consul[0].address")
    );
    let twice = "[[static-discovery]]\nenabled = true\nid = \"s\"\n[[static-discovery]]\nenabled = true\nid = \"s\"\n";
    assert!(
        check(twice)
            .unwrap_err()
            .contains("static-discovery[1].id: duplicate id \"s\"")
    );
    // A disabled scraper is not checked.
    check("[[scraper]]\nenabled = false\n").unwrap();
}
