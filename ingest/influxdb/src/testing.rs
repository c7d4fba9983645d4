//! A private `influxd` for tests (feature `testing`).
//!
//! Each [`Influxd`] runs its own server on two free 127.0.0.1 ports with its data in a fresh
//! temporary directory, so tests run in parallel safely. Dropping it kills the server and
//! removes the directory.
//!
//! ```no_run
//! let influxd = kap_influxdb::testing::Influxd::start();
//! influxd.create_database("db");
//! influxd.write_lines("db", "cpu v=1 1000000000\n");
//! let answer = influxd.query("db", "SELECT v FROM cpu");
//! assert_eq!(answer.results[0].series[0].values.len(), 1);
//! ```

use crate::{Client, ClientConfig, Query, Response, WriteRequest, quote_ident};
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long `start` waits for `/ping` to answer.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Whole starts tried when influxd cannot bind its (just freed) ports.
const START_ATTEMPTS: usize = 3;

/// A running `influxd`, killed (and its directory removed) on drop.
#[derive(Debug)]
pub struct Influxd {
    child: Child,
    http_port: u16,
    client: Client,
    log_path: PathBuf,
    // Last: removed after the process is gone (see `Drop`).
    dir: tempfile::TempDir,
}

/// Why one start attempt failed.
enum StartError {
    /// A port was taken between picking and binding it: try again with new ports.
    PortTaken(String),
    /// Anything else: give up.
    Fatal(String),
}

impl Influxd {
    /// Starts `influxd` (`/usr/bin/influxd`, else `influxd` on `PATH`) and waits until it
    /// answers `/ping`.
    ///
    /// # Panics
    ///
    /// When influxd is not installed, or does not come up within 30 s (the message includes
    /// its log).
    pub fn start() -> Influxd {
        Influxd::start_with_http("")
    }

    /// [`Influxd::start`] with more `[http]` settings (`auth-enabled = true`,
    /// `shared-secret = "…"`). With authentication on, [`Influxd::client`] can only ping.
    ///
    /// # Panics
    ///
    /// As [`Influxd::start`].
    pub fn start_with_http(http: &str) -> Influxd {
        let binary = find_influxd().unwrap_or_else(|| {
            panic!("influxd not found: install Debian's `influxdb` package (./.ci/run does)")
        });
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            match Influxd::try_start(&binary, http) {
                Ok(influxd) => return influxd,
                Err(StartError::PortTaken(log)) => last = log,
                Err(StartError::Fatal(message)) => panic!("{message}"),
            }
        }
        panic!("influxd could not bind free ports in {START_ATTEMPTS} attempts; last log:\n{last}")
    }

    fn try_start(binary: &Path, http: &str) -> Result<Influxd, StartError> {
        let fatal = |what: &str, e: std::io::Error| StartError::Fatal(format!("{what}: {e}"));
        let dir = tempfile::Builder::new()
            .prefix("kap-influxd-")
            .tempdir()
            .map_err(|e| fatal("creating a temporary directory for influxd", e))?;
        let (bind_port, http_port) =
            free_ports().map_err(|e| fatal("picking free ports for influxd", e))?;
        let root = dir.path();
        let config = format!(
            r#"reporting-disabled = true
bind-address = "127.0.0.1:{bind_port}"
[meta]
  dir = "{meta}"
[data]
  dir = "{data}"
  wal-dir = "{wal}"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
{http}
[monitor]
  store-enabled = false
[subscriber]
  enabled = true
"#,
            meta = root.join("meta").display(),
            data = root.join("data").display(),
            wal = root.join("wal").display(),
        );
        let config_path = root.join("influxdb.conf");
        std::fs::write(&config_path, config).map_err(|e| fatal("writing influxdb.conf", e))?;
        let log_path = root.join("influxd.log");
        let log = File::create(&log_path).map_err(|e| fatal("creating influxd.log", e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| fatal("opening influxd.log", e))?;
        let child = Command::new(binary)
            .arg("-config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| fatal(&format!("starting {}", binary.display()), e))?;
        let url = format!("http://127.0.0.1:{http_port}");
        let client = Client::new(ClientConfig {
            name: "influxd".into(),
            urls: vec![url.clone()],
            timeout: Duration::from_secs(10),
            ..ClientConfig::default()
        })
        .map_err(|e| StartError::Fatal(e.to_string()))?;
        let mut influxd = Influxd {
            child,
            http_port,
            client,
            log_path,
            dir,
        };
        influxd.wait_until_up()?;
        Ok(influxd)
    }

    fn wait_until_up(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let listening = format!("127.0.0.1:{}", self.http_port);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log();
                return Err(if log.contains("address already in use") {
                    StartError::PortTaken(log)
                } else {
                    StartError::Fatal(format!("influxd exited ({status}) at startup; log:\n{log}"))
                });
            }
            // Ours answers only once its log says it listens on the port (another server
            // could have grabbed the port after we freed it).
            if self.log().contains(&listening) && self.client.ping().is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StartError::Fatal(format!(
                    "influxd did not answer /ping on {} within {STARTUP_TIMEOUT:?}; log:\n{}",
                    self.url(),
                    self.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The HTTP port.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// A client for this server (10 s timeout, no auth, no gzip).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// `CREATE DATABASE "db"`.
    ///
    /// # Panics
    ///
    /// On any error (the message includes influxd's log).
    pub fn create_database(&self, db: &str) {
        self.query("", &format!("CREATE DATABASE {}", quote_ident(db)));
    }

    /// Writes line protocol with nanosecond timestamps into `db`'s default retention policy.
    ///
    /// # Panics
    ///
    /// On any error (the message includes influxd's log).
    pub fn write_lines(&self, db: &str, lines: &str) {
        let w = WriteRequest {
            database: db.into(),
            ..WriteRequest::default()
        };
        if let Err(e) = self.client.write(&w, lines.as_bytes()) {
            panic!("{e}\ninfluxd log:\n{}", self.log());
        }
    }

    /// Runs `q` against `db` (may be empty), times as RFC 3339 strings.
    ///
    /// # Panics
    ///
    /// On any error, a failed statement included (the message includes influxd's log).
    pub fn query(&self, db: &str, q: &str) -> Response {
        self.client
            .query(&Query::new(q).on(db))
            .unwrap_or_else(|e| panic!("{e}\ninfluxd log:\n{}", self.log()))
    }

    /// What influxd printed so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| format!("<cannot read {}: {e}>", self.log_path.display()))
    }

    /// The server's temporary directory (config, data, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // `dir` is removed when the field drops, after this.
    }
}

/// Two distinct ports free right now (both listeners are open at once).
fn free_ports() -> std::io::Result<(u16, u16)> {
    let a = TcpListener::bind("127.0.0.1:0")?;
    let b = TcpListener::bind("127.0.0.1:0")?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

/// `/usr/bin/influxd`, else the first `influxd` on `PATH`.
fn find_influxd() -> Option<PathBuf> {
    let default = PathBuf::from("/usr/bin/influxd");
    if default.is_file() {
        return Some(default);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("influxd"))
        .find(|p| p.is_file())
}
