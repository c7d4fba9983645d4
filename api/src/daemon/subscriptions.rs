//! InfluxDB subscriptions: InfluxDB pushes every write of the subscribed databases to our
//! `/write`, as Kapacitor's `services/influxdb/service.go` arranges.
//!
//! At startup and every `subscriptions-sync-interval`, for each enabled cluster without
//! `disable-subscriptions`:
//!
//! ```text
//! SHOW DATABASES ─▶ SHOW RETENTION POLICIES ON "db" ─▶ wanted = every db.rp
//!                   in `subscriptions` (empty = all) and not in `excluded-subscriptions`
//! SHOW SUBSCRIPTIONS ─▶ ours = those named exactly "kapacitor-<cluster id>"
//! DROP SUBSCRIPTION ours that are not wanted, or whose destination changed
//! CREATE SUBSCRIPTION "kapacitor-<id>" ON "db"."rp" DESTINATIONS ANY 'http://<host>:<port>'
//!                     for each wanted db.rp we do not hold ("already exists" is fine)
//! ```
//!
//! With `subscription-protocol = "udp"`, as Kapacitor, each wanted db.rp gets a UDP listener
//! of its own on `udp-bind` and a free port, and its subscription's destination is
//! `udp://<host>:<that port>`: InfluxDB sends the writes there and the listener writes them
//! into that db.rp. A subscription of ours found at startup (after a restart) keeps its port
//! when it is still free; otherwise it is dropped and made again on a new one.
//!
//! Subscriptions of anyone else are never touched. As in Kapacitor, `subscriptions` and
//! `excluded-subscriptions` name retention policies one by one (a database with an empty
//! list names none). Failures are logged (naming the cluster and the statement) and retried: after
//! 1 s, doubling up to the sync interval.

use super::udp::{UdpListener, UdpSink};
use crate::config::InfluxDbConfig;
use kap_influxdb::{Client, Query, Response, quote_ident, quote_string};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// First wait before retrying a failed sync; it doubles up to the sync interval.
const RETRY_MIN: Duration = Duration::from_secs(1);
/// Longest wait between retries when there is no sync interval.
const RETRY_MAX: Duration = Duration::from_secs(60);

/// Keeps our subscriptions on the InfluxDB clusters in line with the configuration.
/// Dropping it stops the background sync (a sync in flight finishes on its own).
#[derive(Debug)]
pub(crate) struct Subscriptions {
    inner: Arc<Inner>,
    /// Dropped to stop the background thread.
    _stop: Option<mpsc::Sender<()>>,
}

#[derive(Debug)]
struct Inner {
    clusters: Vec<Cluster>,
    /// `kapacitor-<cluster id>`: our subscriptions' name (`subscription-mode = "cluster"`).
    name: String,
    /// `kapacitor-<server id>`: their name with `subscription-mode = "server"`.
    server_name: String,
    our_http_port: u16,
    /// Where the UDP listeners of `udp` subscriptions write (`None`: no `udp` subscriptions).
    udp: Option<UdpSink>,
    /// The UDP listener of each `udp` subscription we hold, by cluster index and db.rp.
    listeners: Mutex<BTreeMap<(usize, DbRp), UdpListener>>,
    /// One sync at a time (background and `sync_now`).
    syncing: Mutex<()>,
}

#[derive(Debug)]
struct Cluster {
    client: Client,
    config: InfluxDbConfig,
    /// Our subscriptions on this cluster as of the last sync that read them.
    held: AtomicUsize,
}

/// One of our subscriptions as `SHOW SUBSCRIPTIONS` lists it.
type DbRp = (String, String);

impl Subscriptions {
    /// Starts a background thread that syncs every enabled cluster without
    /// `disable-subscriptions` now, then every `subscriptions-sync-interval` (`0s`: only at
    /// startup and on [`Subscriptions::sync_now`]). `cluster_id` names our subscriptions
    /// (`kapacitor-<cluster_id>`); a cluster's `http-port` of `0` means `our_http_port`, an
    /// empty `kapacitor-hostname` the machine's host name (callers wanting Kapacitor's rule
    /// fill it from the top-level `hostname` first). The listeners of `udp` subscriptions
    /// hand what they receive to `udp`.
    pub(crate) fn start(
        clusters: Vec<(Client, InfluxDbConfig)>,
        (cluster_id, server_id): (String, String),
        our_http_port: u16,
        udp: UdpSink,
    ) -> Subscriptions {
        let mut subs =
            Subscriptions::new(clusters, (cluster_id, server_id), our_http_port, Some(udp));
        if subs.inner.clusters.is_empty() {
            return subs;
        }
        let (tx, rx) = mpsc::channel();
        let inner = Arc::clone(&subs.inner);
        let spawned = std::thread::Builder::new()
            .name("subscriptions".into())
            .spawn(move || inner.run(&rx));
        match spawned {
            Ok(_) => subs._stop = Some(tx),
            Err(e) => tracing::error!("starting the subscriptions thread: {e}"),
        }
        subs
    }

    /// Without the background thread.
    fn new(
        clusters: Vec<(Client, InfluxDbConfig)>,
        (cluster_id, server_id): (String, String),
        our_http_port: u16,
        udp: Option<UdpSink>,
    ) -> Subscriptions {
        let clusters = clusters
            .into_iter()
            .filter(|(_, c)| c.enabled && !c.disable_subscriptions)
            .map(|(client, config)| Cluster {
                client,
                config,
                held: AtomicUsize::new(0),
            })
            .collect();
        Subscriptions {
            inner: Arc::new(Inner {
                clusters,
                name: format!("kapacitor-{cluster_id}"),
                server_name: format!("kapacitor-{server_id}"),
                our_http_port,
                udp,
                listeners: Mutex::new(BTreeMap::new()),
                syncing: Mutex::new(()),
            }),
            _stop: None,
        }
    }

    /// Syncs every cluster now (blocking) and returns how many subscriptions were created;
    /// the error lists every failure, each naming its cluster.
    pub(crate) fn sync_now(&self) -> Result<usize, String> {
        let mut created = 0;
        let mut errors = Vec::new();
        for (i, cluster) in self.inner.clusters.iter().enumerate() {
            match self.inner.sync(i, cluster) {
                Ok(n) => created += n,
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(created)
        } else {
            Err(errors.join("; "))
        }
    }

    /// How many subscriptions we hold, over all clusters.
    pub(crate) fn count(&self) -> usize {
        self.inner
            .clusters
            .iter()
            .map(|c| c.held.load(Ordering::Relaxed))
            .sum()
    }
}

impl Drop for Subscriptions {
    /// Stops the UDP listeners now, so that subscriptions started in their place can bind
    /// their ports again.
    fn drop(&mut self) {
        let listeners = std::mem::take(
            &mut *self
                .inner
                .listeners
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        drop(listeners);
    }
}

impl Inner {
    /// The background loop: each cluster on its own schedule, failures retried sooner.
    fn run(&self, stop: &mpsc::Receiver<()>) {
        let now = Instant::now();
        let mut next: Vec<Option<Instant>> = vec![Some(now); self.clusters.len()];
        let mut retry = vec![RETRY_MIN; self.clusters.len()];
        loop {
            for (i, cluster) in self.clusters.iter().enumerate() {
                if next[i].is_none_or(|at| at > Instant::now()) {
                    continue;
                }
                let interval = cluster.config.subscriptions_sync_interval;
                let done = Instant::now();
                next[i] = match self.sync(i, cluster) {
                    Ok(_) => {
                        retry[i] = RETRY_MIN;
                        (!interval.is_zero()).then(|| done + interval)
                    }
                    Err(_) => {
                        // Already logged. Retry sooner than the interval: InfluxDB may
                        // just be starting.
                        let wait = if interval.is_zero() {
                            retry[i]
                        } else {
                            retry[i].min(interval)
                        };
                        let cap = if interval.is_zero() {
                            RETRY_MAX
                        } else {
                            interval
                        };
                        retry[i] = (retry[i] * 2).min(cap.max(RETRY_MIN));
                        Some(done + wait)
                    }
                };
            }
            let wait = next
                .iter()
                .flatten()
                .min()
                .map(|at| at.saturating_duration_since(Instant::now()));
            let received = match wait {
                Some(wait) => stop.recv_timeout(wait),
                None => stop.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match received {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Syncs cluster number `i`: returns how many subscriptions it created. Every failure
    /// is logged; the error names the cluster and the failures.
    fn sync(&self, i: usize, cluster: &Cluster) -> Result<usize, String> {
        let _one_at_a_time = self.syncing.lock().unwrap_or_else(|e| e.into_inner());
        let name = &cluster.config.name;
        let fail = |message: String| {
            tracing::warn!(cluster = %name, "syncing subscriptions: {message}");
            format!("[[influxdb]] {name:?}: {message}")
        };
        // `None` for udp: each db.rp has its own.
        let destination = self.destination(&cluster.config).map_err(fail)?;
        let run = |statement: &str| -> Result<Response, String> {
            cluster
                .client
                .query(&Query::new(statement))
                .map_err(|e| e.to_string())
        };

        // What we want.
        let dbs = column(&run("SHOW DATABASES").map_err(fail)?, "name");
        let mut wanted = BTreeSet::new();
        for db in dbs {
            if !may_want_db(&cluster.config, &db) {
                continue;
            }
            let statement = format!("SHOW RETENTION POLICIES ON {}", quote_ident(&db));
            let rps = match run(&statement) {
                Ok(r) => column(&r, "name"),
                // Dropped since SHOW DATABASES.
                Err(e) if e.contains("database not found") => continue,
                Err(e) => return Err(fail(e)),
            };
            for rp in rps {
                if wants(&cluster.config, &db, &rp) {
                    wanted.insert((db.clone(), rp));
                }
            }
        }

        // What we have.
        let ours = self.ours(&run("SHOW SUBSCRIPTIONS").map_err(fail)?, &cluster.config);

        // Reconcile.
        let mut errors = Vec::new();
        let mut held = 0;
        let mut created = 0;
        let mut missing: Vec<&DbRp> = wanted.iter().filter(|k| !ours.contains_key(*k)).collect();
        for (dbrp, destinations) in &ours {
            let keep = wanted.contains(dbrp)
                && match &destination {
                    Some(d) => destinations == std::slice::from_ref(d),
                    None => self.udp_listening(i, &cluster.config, dbrp, destinations),
                };
            if keep {
                held += 1;
                continue;
            }
            let statement = format!(
                "DROP SUBSCRIPTION {} ON {}.{}",
                quote_ident(self.name_on(&cluster.config)),
                quote_ident(&dbrp.0),
                quote_ident(&dbrp.1)
            );
            match run(&statement) {
                Ok(_) => {
                    tracing::info!(cluster = %name, "dropped subscription: {statement}");
                    if wanted.contains(dbrp) {
                        // The destination changed: subscribe again.
                        missing.push(dbrp);
                    }
                }
                Err(e) if e.contains("subscription not found") => {}
                Err(e) => {
                    held += 1;
                    errors.push(e);
                }
            }
        }
        for dbrp in missing {
            let destination = match &destination {
                Some(d) => d.clone(),
                None => match self.udp_listen(i, &cluster.config, dbrp, 0) {
                    Ok(d) => d,
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                },
            };
            let statement = format!(
                "CREATE SUBSCRIPTION {} ON {}.{} DESTINATIONS ANY {}",
                quote_ident(self.name_on(&cluster.config)),
                quote_ident(&dbrp.0),
                quote_ident(&dbrp.1),
                quote_string(&destination)
            );
            match run(&statement) {
                Ok(_) => {
                    tracing::info!(cluster = %name, "created subscription: {statement}");
                    held += 1;
                    created += 1;
                }
                // Someone (another of our processes) was quicker: it is ours all the same.
                Err(e) if e.contains("subscription already exists") => held += 1,
                Err(e) => {
                    self.lock_listeners().remove(&(i, dbrp.clone()));
                    errors.push(e);
                }
            }
        }
        // Listeners of db.rps no longer wanted stop.
        self.lock_listeners()
            .retain(|(cluster, dbrp), _| *cluster != i || wanted.contains(dbrp));
        cluster.held.store(held, Ordering::Relaxed);
        if errors.is_empty() {
            Ok(created)
        } else {
            Err(fail(errors.join("; ")))
        }
    }

    /// `<protocol>://<host>:<port>[<path>]`, where InfluxDB posts the writes (`None` for
    /// `udp`, where each db.rp has a destination of its own: [`Inner::udp_listen`]).
    fn destination(&self, c: &InfluxDbConfig) -> Result<Option<String>, String> {
        let protocol = match c.subscription_protocol.as_str() {
            "" => "http",
            p @ ("http" | "https") => p,
            "udp" if self.udp.is_some() => return Ok(None),
            "udp" => return Err("no UDP listener can be started here".into()),
            other => return Err(format!("unknown subscription-protocol {other:?}")),
        };
        let host = our_host(c);
        let port = if c.http_port == 0 {
            self.our_http_port
        } else {
            c.http_port
        };
        let path = c.subscription_path.trim_matches('/');
        Ok(Some(if path.is_empty() {
            format!("{protocol}://{host}:{port}")
        } else {
            format!("{protocol}://{host}:{port}/{path}")
        }))
    }

    fn lock_listeners(&self) -> std::sync::MutexGuard<'_, BTreeMap<(usize, DbRp), UdpListener>> {
        self.listeners.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the UDP listener of `dbrp` on cluster `i` on `port` of `udp-bind` (0: a free
    /// one), in place of the one it had; returns its subscription's destination,
    /// `udp://<host>:<port>`.
    fn udp_listen(
        &self,
        i: usize,
        c: &InfluxDbConfig,
        dbrp: &DbRp,
        port: u16,
    ) -> Result<String, String> {
        let sink = self
            .udp
            .clone()
            .ok_or("no UDP listener can be started here")?;
        let bind = format!("{}:{port}", bracketed(&c.udp_bind));
        let mut listeners = self.lock_listeners();
        // A listener being replaced frees its port first.
        listeners.remove(&(i, dbrp.clone()));
        let listener = UdpListener::start(
            &bind,
            c.udp_read_buffer,
            c.udp_buffer,
            (&dbrp.0, &dbrp.1),
            sink,
        )
        .map_err(|e| format!("listening on UDP {bind} for {}.{}: {e:#}", dbrp.0, dbrp.1))?;
        let port = listener.addr().port();
        tracing::info!(
            addr = %listener.addr(),
            db = %dbrp.0,
            rp = %dbrp.1,
            "listening for an InfluxDB subscription over UDP"
        );
        listeners.insert((i, dbrp.clone()), listener);
        Ok(format!("udp://{}:{port}", our_host(c)))
    }

    /// Whether our `udp` subscription on `dbrp` (cluster `i`) with these `destinations`
    /// can stay: its one destination is `udp://<our host>:<port>` and a listener of ours
    /// runs on that port (started here if need be, as after a restart).
    fn udp_listening(
        &self,
        i: usize,
        c: &InfluxDbConfig,
        dbrp: &DbRp,
        destinations: &[String],
    ) -> bool {
        let [destination] = destinations else {
            return false;
        };
        let Some((host, port)) = destination
            .strip_prefix("udp://")
            .and_then(|rest| rest.rsplit_once(':'))
        else {
            return false;
        };
        let Ok(port) = port.parse::<u16>() else {
            return false;
        };
        if host != our_host(c) || port == 0 {
            return false;
        }
        let running = self
            .lock_listeners()
            .get(&(i, dbrp.clone()))
            .map(|l| l.addr().port());
        if running == Some(port) {
            return true;
        }
        match self.udp_listen(i, c, dbrp, port) {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(cluster = %c.name, "{e}: the subscription is made again on another port");
                false
            }
        }
    }

    /// Our subscriptions in a `SHOW SUBSCRIPTIONS` answer: db.rp → destinations.
    /// Our subscriptions' name on a cluster: by our cluster id, or by our server id with
    /// `subscription-mode = "server"` (each Kapacitor of a cluster subscribes on its own).
    fn name_on(&self, c: &InfluxDbConfig) -> &str {
        if c.subscription_mode == "server" {
            &self.server_name
        } else {
            &self.name
        }
    }

    fn ours(&self, answer: &Response, c: &InfluxDbConfig) -> BTreeMap<DbRp, Vec<String>> {
        let mut out = BTreeMap::new();
        for series in answer.results.iter().flat_map(|r| &r.series) {
            let (Some(rp), Some(name), Some(dest)) = (
                series.column("retention_policy"),
                series.column("name"),
                series.column("destinations"),
            ) else {
                continue;
            };
            for row in &series.values {
                if row.get(name).and_then(|v| v.as_str()) != Some(self.name_on(c)) {
                    continue;
                }
                let Some(rp) = row.get(rp).and_then(|v| v.as_str()) else {
                    continue;
                };
                let destinations = row
                    .get(dest)
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|d| d.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert((series.name.clone(), rp.to_string()), destinations);
            }
        }
        out
    }
}

/// The string values of column `name` in every series of `answer`.
fn column(answer: &Response, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for series in answer.results.iter().flat_map(|r| &r.series) {
        let Some(i) = series.column(name) else {
            continue;
        };
        out.extend(
            series
                .values
                .iter()
                .filter_map(|row| row.get(i)?.as_str().map(str::to_string)),
        );
    }
    out
}

/// Whether `list` (db → rps) names `db`.`rp`. As in Kapacitor, a database listed with no
/// retention policy names none of them.
fn listed(list: &BTreeMap<String, Vec<String>>, db: &str, rp: &str) -> bool {
    list.get(db).is_some_and(|rps| rps.iter().any(|r| r == rp))
}

/// Whether some retention policy of `db` may be wanted (saves a `SHOW RETENTION POLICIES`).
fn may_want_db(c: &InfluxDbConfig, db: &str) -> bool {
    c.subscriptions.is_empty() || c.subscriptions.contains_key(db)
}

/// Whether we subscribe to `db`.`rp`: in `subscriptions` (empty = all) and not excluded.
fn wants(c: &InfluxDbConfig, db: &str, rp: &str) -> bool {
    (c.subscriptions.is_empty() || listed(&c.subscriptions, db, rp))
        && !listed(&c.excluded_subscriptions, db, rp)
}

/// The host InfluxDB reaches us at: `kapacitor-hostname`, else the machine's host name
/// (an IPv6 address in brackets).
fn our_host(c: &InfluxDbConfig) -> String {
    if c.kapacitor_hostname.is_empty() {
        bracketed(&machine_hostname())
    } else {
        bracketed(&c.kapacitor_hostname)
    }
}

/// `host` as the host part of `host:port`: an IPv6 address in brackets (an empty host stays
/// empty: Go's `:port`, every interface).
fn bracketed(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// The machine's host name, else `localhost`.
fn machine_hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| {
            let name = std::fs::read_to_string(p).ok()?.trim().to_string();
            (!name.is_empty()).then_some(name)
        })
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kap_influxdb::testing::Influxd;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    const ID: &str = "3f1c-test";

    fn config(name: &str) -> InfluxDbConfig {
        InfluxDbConfig {
            name: name.into(),
            kapacitor_hostname: "127.0.0.1".into(),
            ..InfluxDbConfig::default()
        }
    }

    fn subs(influxd: &Influxd, config: InfluxDbConfig, port: u16) -> Subscriptions {
        Subscriptions::new(
            vec![(influxd.client(), config)],
            (ID.into(), ID.into()),
            port,
            None,
        )
    }

    /// Every subscription on the server: (db, rp, name, destinations).
    fn show(influxd: &Influxd) -> Vec<(String, String, String, Vec<String>)> {
        let answer = influxd.query("", "SHOW SUBSCRIPTIONS");
        let mut out = Vec::new();
        for s in answer.results.iter().flat_map(|r| &r.series) {
            for row in &s.values {
                out.push((
                    s.name.clone(),
                    row[0].as_str().unwrap().to_string(),
                    row[1].as_str().unwrap().to_string(),
                    row[3]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d.as_str().unwrap().to_string())
                        .collect(),
                ));
            }
        }
        out.sort();
        out
    }

    fn ours(db: &str, rp: &str, dest: &str) -> (String, String, String, Vec<String>) {
        (
            db.into(),
            rp.into(),
            format!("kapacitor-{ID}"),
            vec![dest.to_string()],
        )
    }

    #[test]
    fn filters() {
        let mut c = InfluxDbConfig::default();
        assert!(wants(&c, "db", "autogen"));
        assert!(!wants(&c, "_kapacitor", "autogen"));
        assert!(wants(&c, "_kapacitor", "other"));
        c.subscriptions =
            BTreeMap::from([("a".into(), vec!["autogen".into()]), ("b".into(), vec![])]);
        assert!(wants(&c, "a", "autogen"));
        assert!(!wants(&c, "a", "short"));
        // Kapacitor: a database listed without retention policies names none of them.
        assert!(!wants(&c, "b", "anything"));
        assert!(!wants(&c, "c", "autogen"));
        assert!(may_want_db(&c, "a") && !may_want_db(&c, "c"));
        c.subscriptions.clear();
        c.excluded_subscriptions = BTreeMap::from([("b".into(), vec![])]);
        assert!(
            wants(&c, "b", "anything"),
            "an empty exclusion excludes nothing"
        );
    }

    #[test]
    fn destinations() {
        let s = Subscriptions::new(Vec::new(), (ID.into(), ID.into()), 9092, None);
        let mut c = config("x");
        let dest = |c: &InfluxDbConfig| s.inner.destination(c).unwrap().unwrap();
        assert_eq!(dest(&c), "http://127.0.0.1:9092");
        c.http_port = 9100;
        c.subscription_protocol = "https".into();
        c.subscription_path = "/kapacitor/".into();
        c.kapacitor_hostname = "::1".into();
        assert_eq!(dest(&c), "https://[::1]:9100/kapacitor");
        // udp: one destination per db.rp, each with its own listener.
        c.subscription_protocol = "udp".into();
        assert!(s.inner.destination(&c).is_err(), "no sink, no listener");
        let with_sink = Subscriptions::new(
            Vec::new(),
            (ID.into(), ID.into()),
            9092,
            Some(UdpSink::new(|_, _, _| {})),
        );
        assert_eq!(with_sink.inner.destination(&c), Ok(None));
        c.kapacitor_hostname.clear();
        c.subscription_protocol = "http".into();
        assert!(!dest(&c).contains("http://:"));
    }

    #[test]
    fn sync_subscribes_each_wanted_db_rp_once_and_is_idempotent() {
        let influxd = Influxd::start();
        for db in ["a", "b", "_kapacitor"] {
            influxd.create_database(db);
        }
        influxd.query(
            "",
            "CREATE RETENTION POLICY \"short\" ON \"a\" DURATION 1h REPLICATION 1",
        );
        let s = subs(&influxd, config("local"), 9092);
        assert_eq!(s.sync_now(), Ok(3));
        assert_eq!(s.count(), 3);
        let dest = "http://127.0.0.1:9092";
        let want = vec![
            ours("a", "autogen", dest),
            ours("a", "short", dest),
            ours("b", "autogen", dest),
        ];
        assert_eq!(show(&influxd), want, "_kapacitor.autogen is excluded");
        assert_eq!(s.sync_now(), Ok(0));
        assert_eq!(s.count(), 3);
        assert_eq!(show(&influxd), want);
    }

    /// `subscription-mode = "server"`: the subscription is named by the server id, so each
    /// Kapacitor sharing a cluster id gets the data on its own.
    #[test]
    fn server_mode_names_subscriptions_by_the_server_id() {
        let influxd = Influxd::start();
        influxd.create_database("a");
        let c = InfluxDbConfig {
            subscription_mode: "server".into(),
            ..config("local")
        };
        let s = Subscriptions::new(
            vec![(influxd.client(), c)],
            ("the-cluster".into(), "this-server".into()),
            9092,
            None,
        );
        assert_eq!(s.sync_now(), Ok(1));
        let names: Vec<String> = show(&influxd).into_iter().map(|(_, _, n, _)| n).collect();
        assert_eq!(names, ["kapacitor-this-server"]);
        assert_eq!(s.sync_now(), Ok(0), "found again by its name");
    }

    #[test]
    fn unwanted_and_moved_subscriptions_are_dropped_and_foreign_ones_left_alone() {
        let influxd = Influxd::start();
        influxd.create_database("a");
        influxd.create_database("b");
        influxd.query(
            "",
            "CREATE SUBSCRIPTION \"other\" ON \"a\".\"autogen\" DESTINATIONS ALL 'http://10.0.0.1:1'",
        );
        assert_eq!(subs(&influxd, config("local"), 9092).sync_now(), Ok(2));

        // `a` no longer wanted: ours on `a` goes, `other` stays.
        let mut only_b = config("local");
        only_b.subscriptions = BTreeMap::from([("b".into(), vec!["autogen".into()])]);
        let s = subs(&influxd, only_b.clone(), 9092);
        assert_eq!(s.sync_now(), Ok(0));
        assert_eq!(s.count(), 1);
        let foreign = (
            "a".to_string(),
            "autogen".to_string(),
            "other".to_string(),
            vec!["http://10.0.0.1:1".to_string()],
        );
        assert_eq!(
            show(&influxd),
            vec![
                foreign.clone(),
                ours("b", "autogen", "http://127.0.0.1:9092")
            ]
        );

        // Our port moved: ours is replaced, `other` still untouched.
        let s = subs(&influxd, only_b, 9200);
        assert_eq!(s.sync_now(), Ok(1));
        assert_eq!(s.count(), 1);
        assert_eq!(
            show(&influxd),
            vec![foreign, ours("b", "autogen", "http://127.0.0.1:9200")]
        );

        // Another Kapacitor (another cluster id) does not touch ours.
        let other = Subscriptions::new(
            vec![(influxd.client(), config("local"))],
            ("someone-else".into(), "someone-else".into()),
            9300,
            None,
        );
        assert_eq!(other.sync_now(), Ok(2));
        assert_eq!(show(&influxd).len(), 4);
        assert_eq!(subs(&influxd, config("local"), 9200).sync_now(), Ok(1));
        assert_eq!(show(&influxd).len(), 5);
    }

    #[test]
    fn failures_name_the_cluster_and_the_statement() {
        let dead = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let client = kap_influxdb::Client::new(kap_influxdb::ClientConfig {
            name: "down".into(),
            urls: vec![dead.clone()],
            ..kap_influxdb::ClientConfig::default()
        })
        .unwrap();
        let s = Subscriptions::new(
            vec![(client, config("down"))],
            (ID.into(), ID.into()),
            9092,
            None,
        );
        let err = s.sync_now().unwrap_err();
        assert!(
            err.starts_with(&format!(
                "[[influxdb]] \"down\": query `SHOW DATABASES` on {dead} failed: "
            )),
            "{err}"
        );
        assert_eq!(s.count(), 0);

        let influxd = Influxd::start();
        // Disabled clusters and `disable-subscriptions` are left alone.
        let mut off = config("off");
        off.disable_subscriptions = true;
        let s = subs(&influxd, off, 9092);
        assert_eq!(s.sync_now(), Ok(0));
        influxd.create_database("a");
        assert_eq!(s.sync_now(), Ok(0));
        assert!(show(&influxd).is_empty());
    }

    /// The background thread subscribes at startup and picks up new databases at the next
    /// sync; InfluxDB then posts the writes of the database to our `/write`.
    #[test]
    fn background_sync_and_influxdb_posts_writes_to_us() {
        let influxd = Influxd::start();
        influxd.create_database("a");
        let us = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = us.local_addr().unwrap().port();
        let mut c = config("local");
        c.subscriptions_sync_interval = Duration::from_millis(200);
        let s = Subscriptions::start(
            vec![(influxd.client(), c)],
            (ID.into(), ID.into()),
            port,
            UdpSink::new(|_, _, _| {}),
        );
        let wait_for = |n: usize| {
            let deadline = Instant::now() + Duration::from_secs(20);
            while s.count() != n {
                assert!(Instant::now() < deadline, "count {} != {n}", s.count());
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        wait_for(1);
        influxd.create_database("b");
        wait_for(2);

        influxd.write_lines("b", "cpu v=1 1000000000\n");
        us.set_nonblocking(false).unwrap();
        let (stream, _) = us.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        let mut len = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            head.push_str(&line);
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
        let request_line = head.lines().next().unwrap();
        assert!(request_line.starts_with("POST /write?"), "{head}");
        assert!(request_line.contains("db=b"), "{head}");
        assert!(request_line.contains("rp=autogen"), "{head}");
        assert_eq!(String::from_utf8_lossy(&body), "cpu v=1 1000000000\n");
        drop(s);
    }

    /// `udp` subscriptions: one listener per wanted db.rp, on its own port, named in its
    /// subscription's destination; InfluxDB sends the writes there. After a restart the
    /// subscriptions keep their ports; one whose port is taken is made again on another.
    #[test]
    fn udp_subscriptions_listen_per_db_rp_and_keep_their_port_across_restarts() {
        let influxd = Influxd::start();
        influxd.create_database("a");
        influxd.create_database("b");
        let mut c = config("udp");
        c.subscription_protocol = "udp".into();
        c.udp_bind = "127.0.0.1".into();
        let got: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
        let start = || {
            let got = Arc::clone(&got);
            Subscriptions::new(
                vec![(influxd.client(), c.clone())],
                (ID.into(), ID.into()),
                9092,
                Some(UdpSink::new(move |body, db, rp| {
                    got.lock().unwrap().push((
                        db.into(),
                        rp.into(),
                        String::from_utf8_lossy(body).into(),
                    ));
                })),
            )
        };
        let port_of = |db: &str| -> u16 {
            let subs = show(&influxd);
            let (.., dests) = subs.iter().find(|s| s.0 == db).expect("subscribed");
            assert_eq!(dests.len(), 1, "{subs:?}");
            let port = dests[0]
                .strip_prefix("udp://127.0.0.1:")
                .unwrap_or_else(|| panic!("{subs:?}"));
            port.parse().unwrap()
        };
        let received = |db: &str, line: &str| {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let done = got
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|(d, rp, body)| d == db && rp == "autogen" && body.contains(line));
                if done {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "{line} never reached us for {db}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        };

        let s = start();
        assert_eq!(s.sync_now(), Ok(2));
        assert_eq!(s.sync_now(), Ok(0), "idempotent");
        assert_eq!(s.count(), 2);
        let (pa, pb) = (port_of("a"), port_of("b"));
        assert_ne!(pa, pb, "a listener per db.rp");
        influxd.write_lines("a", "cpu v=1 1000000000\n");
        influxd.write_lines("b", "mem v=2 1000000000\n");
        received("a", "cpu v=1 1000000000");
        received("b", "mem v=2 1000000000");

        // A restart: the subscriptions stay as they are, their listeners come back.
        drop(s);
        let s = start();
        assert_eq!(s.sync_now(), Ok(0));
        assert_eq!((port_of("a"), port_of("b")), (pa, pb));
        got.lock().unwrap().clear();
        influxd.write_lines("a", "cpu v=3 2000000000\n");
        received("a", "cpu v=3 2000000000");

        // Another restart, with a's port taken meanwhile: a is subscribed again elsewhere.
        drop(s);
        let squatter = std::net::UdpSocket::bind(("127.0.0.1", pa)).unwrap();
        let s = start();
        assert_eq!(s.sync_now(), Ok(1));
        let moved = port_of("a");
        assert_ne!(moved, pa);
        assert_eq!(port_of("b"), pb);
        influxd.write_lines("a", "cpu v=4 3000000000\n");
        received("a", "cpu v=4 3000000000");
        drop(squatter);

        // A database dropped: its subscription goes with it, and its listener stops.
        influxd.query("", "DROP DATABASE b");
        assert_eq!(s.sync_now(), Ok(0));
        assert_eq!(s.count(), 1);
        assert!(
            std::net::UdpSocket::bind(("127.0.0.1", pb)).is_ok(),
            "b's listener freed its port"
        );
    }
}
