//! The `[[influxdb]]` clusters: their clients, and the writer behind `influxDBOut`.
//!
//! `influxDBOut` hands points to [`InfluxWriter`] from a dataflow worker, which must never
//! wait on the network: the writer queues them per cluster and one background thread per
//! cluster writes them in order. A failed write is counted (`write_errors`) and retried with
//! backoff while the daemon runs when the failure may pass (transport errors, timeouts,
//! 5xx); a write InfluxDB refuses for good (4xx: a type conflict, a missing database) is
//! logged and counted, not retried. Points written are counted when InfluxDB accepted them
//! (`points_written`). The queue is bounded: beyond [`MAX_QUEUED_POINTS`] points waiting
//! for a cluster, new writes are refused with an error the node counts and logs, so memory
//! stays bounded while InfluxDB is down and nothing disappears without a trace.

use crate::config::Config;
use kap_dataflow::node::{PointsWriter, WriteCounters, WriteTarget};
use kap_dataflow::point::Point;
use kap_influxdb::{Client, ClientConfig, Query, WriteRequest};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Points that may wait for one cluster before new writes are refused.
pub const MAX_QUEUED_POINTS: usize = 1_000_000;

/// Points sent in one `/write` request at most.
const MAX_REQUEST_POINTS: usize = 5_000;

/// First and longest wait between attempts of a failing write.
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The enabled `[[influxdb]]` clusters, by name. Cheap to clone: every clone (the batch
/// scheduler's, the writer's, the service test's) sees a [`Clusters::reconfigure`].
#[derive(Debug, Clone, Default)]
pub struct Clusters {
    inner: Arc<std::sync::RwLock<ClusterSet>>,
}

#[derive(Debug, Default)]
struct ClusterSet {
    clients: BTreeMap<String, Client>,
    configs: BTreeMap<String, crate::config::InfluxDbConfig>,
    default: Option<String>,
}

/// The client settings of a `[[influxdb]]` section (its PEM files read).
fn client_config(c: &crate::config::InfluxDbConfig) -> Result<ClientConfig, String> {
    Ok(ClientConfig {
        name: c.name.clone(),
        urls: c.urls.clone(),
        username: c.username.clone(),
        password: c.password.clone(),
        shared_secret: c.http_shared_secret.clone(),
        timeout: c.timeout,
        gzip: c.compression.eq_ignore_ascii_case("gzip"),
        tls: tls_options(c).map_err(|e| format!("[[influxdb]] {:?}: {e}", c.name))?,
    })
}

impl Clusters {
    /// Clients for the enabled clusters of `config`.
    pub fn from_config(config: &Config) -> Result<Clusters, String> {
        let clusters = Clusters::default();
        clusters.reconfigure(&config.influxdb)?;
        Ok(clusters)
    }

    /// Runs with the `[[influxdb]]` sections `sections` (checked as the configuration
    /// file's are): a cluster that stays enabled keeps its client, updated in place, so the
    /// running tasks that hold it follow; a new one gets a client; a disabled or removed one
    /// is dropped. On error (a URL or PEM file that does not do) nothing changes.
    pub fn reconfigure(&self, sections: &[crate::config::InfluxDbConfig]) -> Result<(), String> {
        let wanted = Self::client_configs(sections)?;
        let mut set = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let mut clients = BTreeMap::new();
        let mut configs = BTreeMap::new();
        for (c, cc) in wanted {
            let client = match set.clients.remove(&c.name) {
                Some(client) => {
                    if client.config() != cc {
                        client
                            .update(cc)
                            .map_err(|e| format!("[[influxdb]] {:?}: {e}", c.name))?;
                    }
                    client
                }
                None => Client::new(cc).map_err(|e| format!("[[influxdb]] {:?}: {e}", c.name))?,
            };
            clients.insert(c.name.clone(), client);
            configs.insert(c.name.clone(), c.clone());
        }
        let default = crate::config::default_influxdb(sections).map(|c| c.name.clone());
        *set = ClusterSet {
            clients,
            configs,
            default,
        };
        Ok(())
    }

    /// Whether the enabled clusters of `sections` can be made (their URLs, their PEM
    /// files), as [`Clusters::reconfigure`] would make them.
    pub fn check(sections: &[crate::config::InfluxDbConfig]) -> Result<(), String> {
        Self::client_configs(sections).map(drop)
    }

    /// The enabled sections with their client settings, each checked.
    fn client_configs(
        sections: &[crate::config::InfluxDbConfig],
    ) -> Result<Vec<(&crate::config::InfluxDbConfig, ClientConfig)>, String> {
        sections
            .iter()
            .filter(|c| c.enabled)
            .map(|c| {
                let cc = client_config(c)?;
                Client::new(cc.clone()).map_err(|e| format!("[[influxdb]] {:?}: {e}", c.name))?;
                Ok((c, cc))
            })
            .collect()
    }

    fn set(&self) -> std::sync::RwLockReadGuard<'_, ClusterSet> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether no cluster is enabled.
    pub fn is_empty(&self) -> bool {
        self.set().clients.is_empty()
    }

    /// The name `cluster` stands for (empty: the default cluster).
    pub fn resolve(&self, cluster: &str) -> Result<String, String> {
        self.set().resolve(cluster)
    }

    /// The client of `cluster` (empty: the default cluster).
    pub fn client(&self, cluster: &str) -> Result<Client, String> {
        let set = self.set();
        let name = set.resolve(cluster)?;
        Ok(set.clients[&name].clone())
    }

    /// The configuration of `cluster` (empty: the default cluster).
    pub fn config(&self, cluster: &str) -> Option<crate::config::InfluxDbConfig> {
        let set = self.set();
        set.resolve(cluster)
            .ok()
            .and_then(|n| set.configs.get(&n).cloned())
    }

    /// Every enabled cluster with its configuration.
    pub fn all(&self) -> Vec<(Client, crate::config::InfluxDbConfig)> {
        let set = self.set();
        set.clients
            .iter()
            .map(|(name, c)| (c.clone(), set.configs[name].clone()))
            .collect()
    }
}

impl ClusterSet {
    fn resolve(&self, cluster: &str) -> Result<String, String> {
        if cluster.is_empty() {
            return match &self.default {
                Some(d) => Ok(d.clone()),
                None if self.clients.is_empty() => {
                    Err("no [[influxdb]] cluster is configured (or none is enabled)".into())
                }
                None => Err(format!(
                    "no default [[influxdb]] cluster: name one of {}",
                    self.names()
                )),
            };
        }
        if self.clients.contains_key(cluster) {
            Ok(cluster.to_string())
        } else {
            Err(format!(
                "unknown InfluxDB cluster {cluster:?}: the enabled [[influxdb]] clusters are {}",
                self.names()
            ))
        }
    }

    fn names(&self) -> String {
        if self.clients.is_empty() {
            return "none".into();
        }
        self.clients
            .keys()
            .map(|k| format!("{k:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A precision name of `.precision()` / `?precision=` as nanoseconds per unit.
fn precision_unit(p: &str) -> i64 {
    match p {
        "u" | "us" | "µ" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => 1,
    }
}

/// `points` as a line-protocol body with times in `precision`; points without a field
/// value line protocol can carry are left out.
pub fn encode(points: &[Point], precision: &str) -> Vec<u8> {
    let unit = precision_unit(precision);
    let mut out = String::with_capacity(points.len() * 64);
    for p in points {
        let mut line = super::write::line_of(p);
        if line.fields.is_empty() {
            continue;
        }
        line.timestamp = Some(p.time.div_euclid(unit));
        line.write_to(&mut out);
        out.push('\n');
    }
    out.into_bytes()
}

enum Work {
    Write {
        request: WriteRequest,
        points: Vec<Point>,
        counters: Arc<WriteCounters>,
    },
    /// `influxDBOut().create()`: the database (and retention policy) before any write.
    Create { statement: String },
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<Work>,
    points: usize,
    busy: bool,
}

struct Queue {
    name: String,
    client: Client,
    state: Mutex<QueueState>,
    woken: Condvar,
    stop: AtomicBool,
}

impl Queue {
    fn run(self: Arc<Queue>) {
        loop {
            let work = {
                let mut st = lock(&self.state);
                loop {
                    if let Some(w) = st.items.pop_front() {
                        st.busy = true;
                        break Some(w);
                    }
                    st.busy = false;
                    self.woken.notify_all();
                    if self.stop.load(Ordering::Relaxed) {
                        break None;
                    }
                    st = self
                        .woken
                        .wait_timeout(st, Duration::from_millis(500))
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0);
                }
            };
            let Some(work) = work else { return };
            match work {
                Work::Create { statement } => self.create(&statement),
                Work::Write {
                    request,
                    points,
                    counters,
                } => {
                    let n = points.len();
                    self.write(&request, points, &counters);
                    let mut st = lock(&self.state);
                    st.points = st.points.saturating_sub(n);
                }
            }
        }
    }

    fn create(&self, statement: &str) {
        let q = Query {
            command: statement.to_string(),
            database: String::new(),
            retention_policy: String::new(),
            epoch: None,
            chunked: false,
            chunk_size: 0,
        };
        self.retry(&format!("influxDBOut create ({statement})"), || {
            self.client.query(&q).map(|_| ())
        });
    }

    /// Runs `attempt` until it succeeds, fails for good (not retryable), or the writer
    /// stops, waiting with exponential backoff between retryable failures; every failure is
    /// logged with `what`. Returns whether it succeeded.
    fn retry(
        &self,
        what: &str,
        mut attempt: impl FnMut() -> Result<(), kap_influxdb::Error>,
    ) -> bool {
        let mut backoff = BACKOFF_MIN;
        loop {
            match attempt() {
                Ok(()) => return true,
                Err(e) if e.is_retryable() && !self.stop.load(Ordering::Relaxed) => {
                    tracing::warn!(cluster = self.name, "{what}: {e}; retrying in {backoff:?}");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                Err(e) => {
                    tracing::error!(cluster = self.name, "{what}: {e}; given up");
                    return false;
                }
            }
        }
    }

    fn write(&self, request: &WriteRequest, points: Vec<Point>, counters: &WriteCounters) {
        for chunk in points.chunks(MAX_REQUEST_POINTS) {
            let body = encode(chunk, &request.precision);
            let what = format!(
                "influxDBOut: {} points to {}.{}",
                chunk.len(),
                request.database,
                request.retention_policy
            );
            let written = self.retry(&what, || {
                self.client
                    .write(request, &body)
                    .inspect_err(|_| counters.failed())
            });
            if written {
                counters.wrote(chunk.len());
            }
        }
    }
}

/// The `PointsWriter` of live tasks: `influxDBOut` to the clusters, `kapacitorLoopback`
/// into the daemon's own stream (through `loopback`). A cluster's queue and thread start
/// with its first write, so a cluster added at runtime is written to like the others.
pub struct InfluxWriter {
    clusters: Clusters,
    queues: Mutex<BTreeMap<String, Arc<Queue>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    loopback: Weak<kap_dataflow::runtime::Engine>,
}

impl std::fmt::Debug for InfluxWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InfluxWriter")
            .field("clusters", &lock(&self.queues).keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl InfluxWriter {
    /// A writer to `clusters` (and their changes).
    pub fn start(
        clusters: Clusters,
        loopback: Weak<kap_dataflow::runtime::Engine>,
    ) -> InfluxWriter {
        InfluxWriter {
            clusters,
            queues: Mutex::new(BTreeMap::new()),
            threads: Mutex::new(Vec::new()),
            loopback,
        }
    }

    /// The queue of `cluster` (empty: the default), started with its first use.
    fn queue(&self, cluster: &str) -> Result<Arc<Queue>, String> {
        let name = self.clusters.resolve(cluster)?;
        let mut queues = lock(&self.queues);
        if let Some(q) = queues.get(&name) {
            return Ok(Arc::clone(q));
        }
        let client = self.clusters.client(&name)?;
        let q = Arc::new(Queue {
            name: name.clone(),
            client,
            state: Mutex::new(QueueState::default()),
            woken: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let bg = Arc::clone(&q);
        let thread = std::thread::Builder::new()
            .name(format!("influxdb-out-{name}"))
            .spawn(move || bg.run())
            .map_err(|e| format!("starting the writer of InfluxDB cluster {name:?}: {e}"))?;
        lock(&self.threads).push(thread);
        queues.insert(name, Arc::clone(&q));
        Ok(q)
    }

    /// Every queue started so far.
    fn queues(&self) -> Vec<Arc<Queue>> {
        lock(&self.queues).values().cloned().collect()
    }

    /// Queues `influxDBOut().create()`'s statement: the database, with `rp` as its default
    /// retention policy when set (Kapacitor's `CREATE DATABASE db WITH NAME rp`).
    pub fn create(&self, cluster: &str, db: &str, rp: &str) -> Result<(), String> {
        let q = self.queue(cluster)?;
        let mut statement = format!("CREATE DATABASE {}", quote_ident(db));
        if !rp.is_empty() {
            statement.push_str(" WITH NAME ");
            statement.push_str(&quote_ident(rp));
        }
        lock(&q.state).items.push_back(Work::Create { statement });
        q.woken.notify_all();
        Ok(())
    }

    /// Waits until every queue is empty and idle, up to `timeout`; returns whether they are.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        for q in self.queues() {
            let mut st = lock(&q.state);
            while !st.items.is_empty() || st.busy {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                st = q
                    .woken
                    .wait_timeout(st, left.min(Duration::from_millis(50)))
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
        }
        true
    }

    /// Flushes for up to `timeout`, then stops the writer threads.
    pub fn shutdown(&self, timeout: Duration) {
        if !self.flush(timeout) {
            let queued: usize = self.queues().iter().map(|q| lock(&q.state).points).sum();
            tracing::warn!("influxDBOut: {queued} points were still queued at shutdown");
        }
        for q in self.queues() {
            q.stop.store(true, Ordering::Relaxed);
            q.woken.notify_all();
        }
        for t in lock(&self.threads).drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for InfluxWriter {
    fn drop(&mut self) {
        for q in self.queues() {
            q.stop.store(true, Ordering::Relaxed);
            q.woken.notify_all();
        }
    }
}

/// An InfluxQL identifier, double-quoted when it needs to be.
pub fn quote_ident(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

impl PointsWriter for InfluxWriter {
    fn write(&self, target: &WriteTarget<'_>, points: Vec<Point>) -> Result<(), String> {
        let Some(cluster) = target.cluster else {
            // kapacitorLoopback: into the daemon's own stream.
            let engine = self.loopback.upgrade().ok_or("the engine has stopped")?;
            let n = points.len();
            let points = points
                .into_iter()
                .map(|p| p.in_db(target.database, target.retention_policy))
                .collect::<Vec<_>>();
            engine.write(points).map_err(|e| e.to_string())?;
            target.counters.wrote(n);
            return Ok(());
        };
        let q = self.queue(cluster)?;
        let n = points.len();
        let mut st = lock(&q.state);
        if st.points + n > MAX_QUEUED_POINTS {
            return Err(format!(
                "InfluxDB cluster {:?} is not keeping up: {} points are waiting to be written; {n} points for {}.{} refused",
                q.name, st.points, target.database, target.retention_policy
            ));
        }
        st.points += n;
        st.items.push_back(Work::Write {
            request: WriteRequest {
                database: target.database.to_string(),
                retention_policy: target.retention_policy.to_string(),
                precision: target.precision.to_string(),
                consistency: target.consistency.to_string(),
            },
            points,
            counters: Arc::clone(target.counters),
        });
        drop(st);
        q.woken.notify_all();
        Ok(())
    }
}

/// A cluster's HTTPS settings, its PEM files read (`ssl-cert` and `ssl-key` go together).
fn tls_options(c: &crate::config::InfluxDbConfig) -> Result<kap_influxdb::TlsOptions, String> {
    let read = |key: &str, path: &str| {
        std::fs::read(path).map_err(|e| format!("{key}: reading {path}: {e}"))
    };
    let ca_pem = if c.ssl_ca.is_empty() {
        None
    } else {
        Some(read("ssl-ca", &c.ssl_ca)?)
    };
    let client_pem = match (c.ssl_cert.is_empty(), c.ssl_key.is_empty()) {
        (true, true) => None,
        (false, false) => Some((read("ssl-cert", &c.ssl_cert)?, read("ssl-key", &c.ssl_key)?)),
        _ => return Err("ssl-cert and ssl-key go together".into()),
    };
    Ok(kap_influxdb::TlsOptions {
        ca_pem,
        client_pem,
        insecure_skip_verify: c.insecure_skip_verify,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kap_dataflow::point::{FieldValue, Point};

    /// A fake InfluxDB whose `/write` answers 500 `failures` times, then 204; returns its
    /// URL and the bodies it accepted.
    fn flaky_influxdb(failures: usize) -> (String, Arc<Mutex<Vec<String>>>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let got = Arc::clone(&accepted);
        std::thread::spawn(move || {
            let mut left = failures;
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                // Headers, then Content-Length bytes of body.
                let body = loop {
                    let Ok(n) = conn.read(&mut buf) else {
                        break None;
                    };
                    if n == 0 {
                        break None;
                    }
                    req.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&req).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if req.len() >= end + 4 + len {
                            break Some(text[end + 4..].to_string());
                        }
                    }
                };
                let status = if left > 0 {
                    left -= 1;
                    "500 Internal Server Error"
                } else {
                    got.lock().unwrap().push(body.unwrap_or_default());
                    "204 No Content"
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        (url, accepted)
    }

    #[test]
    fn failed_writes_are_retried_and_counted_until_they_succeed() {
        let (url, accepted) = flaky_influxdb(2);
        let mut config = Config::default();
        config.influxdb[0].urls = vec![url];
        // Plain bodies, to read them back (the default is gzip).
        config.influxdb[0].compression = String::new();
        let writer = InfluxWriter::start(Clusters::from_config(&config).unwrap(), Weak::new());
        let counters = Arc::new(WriteCounters::default());
        let points: Vec<Point> = (0..3)
            .map(|i| {
                Point::new(
                    "cpu",
                    vec![],
                    vec![(kap_dataflow::point::Sym::new("v"), FieldValue::Int(i))],
                    i * 1_000_000_000,
                )
            })
            .collect();
        let target = WriteTarget {
            cluster: Some(""),
            database: "db",
            retention_policy: "rp",
            precision: "s",
            consistency: "",
            counters: &counters,
        };
        writer.write(&target, points).expect("queued");
        assert!(writer.flush(Duration::from_secs(20)), "written in the end");
        assert_eq!(counters.written.load(Ordering::Relaxed), 3);
        assert_eq!(
            counters.errors.load(Ordering::Relaxed),
            2,
            "each failed attempt counts"
        );
        assert_eq!(
            accepted.lock().unwrap().as_slice(),
            ["cpu v=0i 0\ncpu v=1i 1\ncpu v=2i 2\n"]
        );
        writer.shutdown(Duration::from_secs(1));
    }

    #[test]
    fn identifiers_are_quoted_when_needed() {
        assert_eq!(quote_ident("telegraf"), "telegraf");
        assert_eq!(quote_ident("my db"), "\"my db\"");
        assert_eq!(quote_ident("1x"), "\"1x\"");
        assert_eq!(quote_ident("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn encoding_uses_the_precision_and_skips_empty_points() {
        let p = Point::new(
            "cpu",
            vec![],
            vec![(kap_dataflow::point::Sym::new("v"), FieldValue::Float(1.5))],
            3_500_000_000,
        );
        let empty = Point::new("cpu", vec![], vec![], 1);
        let body = String::from_utf8(encode(&[p.clone(), empty], "s")).unwrap();
        assert_eq!(body, "cpu v=1.5 3\n");
        let body = String::from_utf8(encode(&[p], "")).unwrap();
        assert_eq!(body, "cpu v=1.5 3500000000\n");
    }
}
