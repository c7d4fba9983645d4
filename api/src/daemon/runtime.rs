//! The daemon's side of the engine: the shared services every live task gets (httpOut
//! endpoints, alert topics and handlers, inhibitors, the loopback writer, logs), live
//! writes, and the observers (recordings) that see every accepted point.

use super::batch::BatchService;
use super::influxdb::{Clusters, InfluxWriter};
use crate::config::BatchConfig;
use kap_api_types::TaskStats;
use kap_dataflow::alert::{
    ALERTS_SERVICE, AlertService, AlertServiceInfo, INHIBITORS_SERVICE, InhibitorRegistry,
    SERVER_INFO_SERVICE, TOPICS_SERVICE, TopicStore,
};
use kap_dataflow::node::{LogSink, PointsWriter, Services};
use kap_dataflow::ops::expiry::{GROUP_EXPIRY, GroupExpiry};
use kap_dataflow::ops::http_out::HttpOutRegistry;
use kap_dataflow::ops::http_post::{self, HttpPostService};
use kap_dataflow::ops::sideload::{self, SideloadReloads};
use kap_dataflow::point::{Point, Sym};
use kap_dataflow::runtime::{Engine, EngineError, Feed};
use kap_dsl::dot::DotStats;
use kap_dsl::plan::{NodeSpec, Pipeline, TaskType};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Sees every point accepted by `/write` (stream recordings).
pub trait WriteObserver: Send + Sync {
    /// Called with each accepted write, before the engine gets it.
    fn observe(&self, points: &[Point]);
}

/// Counters shown by `/debug/vars` and `/metrics`.
#[derive(Debug, Default)]
pub struct IngestStats {
    /// Points accepted by `/write`.
    pub points_received: AtomicU64,
    /// Lines rejected by `/write` for being malformed.
    pub points_rejected: AtomicU64,
    /// Writes refused because the engine was busy (503).
    pub writes_refused: AtomicU64,
    /// `/write` requests handled.
    pub write_requests: AtomicU64,
    /// Points accepted per database, retention policy and measurement (Kapacitor's
    /// `ingress` statistics).
    pub received: Mutex<BTreeMap<(Sym, Sym, Sym), u64>>,
}

impl IngestStats {
    /// Counts accepted `points` by database, retention policy and measurement (runs of
    /// points of one series counted together, so a write takes the lock once per run).
    fn count(&self, counts: Vec<((Sym, Sym, Sym), u64)>) {
        let mut received = self.received.lock().unwrap_or_else(|e| e.into_inner());
        for (key, n) in counts {
            *received.entry(key).or_default() += n;
        }
    }

    /// The points accepted so far per database, retention policy and measurement.
    pub fn received(&self) -> Vec<((Sym, Sym, Sym), u64)> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, n)| (*k, *n))
            .collect()
    }
}

/// `points` counted by database, retention policy and measurement, runs merged.
fn ingress_counts(points: &[Point]) -> Vec<((Sym, Sym, Sym), u64)> {
    let mut out: Vec<((Sym, Sym, Sym), u64)> = Vec::new();
    for p in points {
        let key = (p.db, p.rp, p.name);
        match out.last_mut() {
            Some((k, n)) if *k == key => *n += 1,
            _ => out.push((key, 1)),
        }
    }
    out
}

/// Logs of the `log` node and node errors, into `tracing`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingLog;

/// The `tracing` target of tasks' log lines (logfmt: `msg=… task=… node=…`).
pub const TASK_LOG_TARGET: &str = "kapacitor::task";

impl LogSink for TracingLog {
    fn log(&self, level: &str, line: &str) {
        match level {
            "ERROR" => tracing::error!(target: TASK_LOG_TARGET, "{line}"),
            "WARN" => tracing::warn!(target: TASK_LOG_TARGET, "{line}"),
            "DEBUG" => tracing::debug!(target: TASK_LOG_TARGET, "{line}"),
            _ => tracing::info!(target: TASK_LOG_TARGET, "{line}"),
        }
    }
}

/// Takes the sampled execution time out of a node's counters and returns the average, ns.
fn avg_exec_ns(counters: &mut std::collections::BTreeMap<String, i64>) -> i64 {
    use kap_dataflow::exec::{EXEC_NS, EXEC_SAMPLES};
    let ns = counters.remove(EXEC_NS).unwrap_or(0);
    let n = counters.remove(EXEC_SAMPLES).unwrap_or(0);
    if n > 0 { ns / n } else { 0 }
}

/// Shared runtime state of the daemon.
pub struct Runtime {
    /// The engine.
    pub engine: Arc<Engine>,
    /// httpOut endpoints of live tasks.
    pub http_out: Arc<HttpOutRegistry>,
    /// Alert topic states.
    pub topics: Arc<TopicStore>,
    /// Where alert events go.
    pub alerts: Arc<AlertService>,
    /// Inhibitors across tasks.
    pub inhibitors: Arc<InhibitorRegistry>,
    /// `.ServerInfo` of templates.
    pub server_info: Arc<AlertServiceInfo>,
    /// Reloads of sideload sources (`POST /sideload/reload`).
    pub sideload: Arc<SideloadReloads>,
    /// The client and `[[httppost]]` endpoints of httpPost nodes.
    pub http_post: Arc<HttpPostService>,
    /// The agents of `[udf.functions]` for live tasks (with snapshots).
    pub udfs: Arc<kap_dataflow::ops::udf::UdfStarter>,
    /// The agents of `[udf.functions]` for replays (no snapshots restored or kept).
    pub replay_udfs: Arc<kap_dataflow::ops::udf::UdfStarter>,
    /// The `[[kubernetes]]`, `[[swarm]]` and `[[ec2]]` clusters of autoscale nodes.
    pub orchestrators: Arc<super::autoscale::Orchestrators>,
    /// The same, as the autoscale nodes' service.
    autoscale: Arc<kap_dataflow::ops::autoscale::Autoscale>,
    /// Each running task's throughput.
    throughput: Arc<super::throughput::Throughput>,
    /// Ingest counters.
    pub ingest: IngestStats,
    /// `influxDBOut` (to the `[[influxdb]]` clusters) and `kapacitorLoopback` writes.
    pub writer: Arc<InfluxWriter>,
    /// The query scheduler of batch tasks.
    pub batch: BatchService,
    observers: Mutex<Vec<(u64, Arc<dyn WriteObserver>)>>,
    next_observer: AtomicU64,
    /// How long `/write` waits for room in the engine before answering 503.
    pub write_wait: Duration,
    /// `[engine] group-expiry` of live and batch tasks.
    group_expiry: Option<Duration>,
    started: Instant,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime over `engine`, with events going to `alerts`, batch queries and
    /// `influxDBOut` writes going to `clusters`.
    pub fn new(
        engine: Arc<Engine>,
        topics: Arc<TopicStore>,
        alerts: Arc<AlertService>,
        info: AlertServiceInfo,
        clusters: Clusters,
        batch: &BatchConfig,
        http_post: HttpPostService,
    ) -> Runtime {
        Runtime {
            writer: Arc::new(InfluxWriter::start(
                clusters.clone(),
                Arc::downgrade(&engine),
            )),
            batch: BatchService::start(clusters, Arc::clone(&engine), batch),
            throughput: super::throughput::Throughput::start(Arc::downgrade(&engine)),
            engine,
            http_out: Arc::new(HttpOutRegistry::default()),
            topics,
            alerts,
            inhibitors: Arc::new(InhibitorRegistry::default()),
            server_info: Arc::new(info),
            sideload: Arc::default(),
            http_post: Arc::new(http_post),
            udfs: Arc::new(kap_dataflow::ops::udf::UdfStarter(Arc::new(
                super::udf::UdfFunctions::default(),
            ))),
            replay_udfs: Arc::new(kap_dataflow::ops::udf::UdfStarter(Arc::new(
                super::udf::UdfFunctions::default(),
            ))),
            orchestrators: Arc::default(),
            autoscale: Arc::new(kap_dataflow::ops::autoscale::Autoscale(Arc::new(
                super::autoscale::Orchestrators::default(),
            ))),
            ingest: IngestStats::default(),
            observers: Mutex::new(Vec::new()),
            next_observer: AtomicU64::new(1),
            write_wait: Duration::from_secs(5),
            group_expiry: None,
            started: Instant::now(),
        }
    }

    /// The runtime with these UDFs (`[udf.functions]`) for its tasks' `@name()` nodes:
    /// `live` for live tasks, `replays` for replays.
    pub fn with_udfs(
        mut self,
        live: Arc<dyn kap_dataflow::ops::udf::UdfService>,
        replays: Arc<dyn kap_dataflow::ops::udf::UdfService>,
    ) -> Runtime {
        self.udfs = Arc::new(kap_dataflow::ops::udf::UdfStarter(live));
        self.replay_udfs = Arc::new(kap_dataflow::ops::udf::UdfStarter(replays));
        self
    }

    /// The runtime with these clusters for its tasks' autoscale nodes.
    pub fn with_autoscale(mut self, clusters: Arc<super::autoscale::Orchestrators>) -> Runtime {
        self.autoscale = Arc::new(kap_dataflow::ops::autoscale::Autoscale(
            Arc::clone(&clusters) as _,
        ));
        self.orchestrators = clusters;
        self
    }

    /// Time since the daemon started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The runtime with `[engine] group-expiry` for its live and batch tasks (`0s`: none).
    pub fn with_group_expiry(mut self, after: Duration) -> Runtime {
        self.group_expiry = (!after.is_zero()).then_some(after);
        self
    }

    /// The services of a live task.
    pub fn live_services(&self) -> Services {
        let services = self.task_services(
            Arc::clone(&self.writer) as Arc<dyn PointsWriter>,
            Arc::clone(&self.http_out),
            Arc::clone(&self.alerts),
            Arc::clone(&self.topics),
            Arc::clone(&self.inhibitors),
        );
        match self.group_expiry {
            Some(after) => services.with(GROUP_EXPIRY, Arc::new(GroupExpiry(after))),
            None => services,
        }
    }

    /// The services of a task run with these outputs and alert state (a live task gets the
    /// daemon's, a replay its own), logging to `tracing`.
    pub fn task_services(
        &self,
        points: Arc<dyn PointsWriter>,
        http_out: Arc<HttpOutRegistry>,
        alerts: Arc<AlertService>,
        topics: Arc<TopicStore>,
        inhibitors: Arc<InhibitorRegistry>,
    ) -> Services {
        Services {
            log: Arc::new(TracingLog),
            points,
            ..Services::default()
        }
        .with("http_out", http_out)
        .with(ALERTS_SERVICE, alerts)
        .with(TOPICS_SERVICE, topics)
        .with(INHIBITORS_SERVICE, inhibitors)
        .with(SERVER_INFO_SERVICE, Arc::clone(&self.server_info))
        .with(sideload::SERVICE_NAME, Arc::clone(&self.sideload))
        .with(http_post::SERVICE_NAME, Arc::clone(&self.http_post))
        .with(kap_dataflow::ops::udf::UDF_SERVICE, Arc::clone(&self.udfs))
        .with(
            kap_dataflow::ops::autoscale::AUTOSCALE_SERVICE,
            Arc::clone(&self.autoscale),
        )
    }

    /// Installs a live task: a stream task reads the points `feed` selects; a batch task
    /// is fed by its scheduled queries (the dbrps of `feed` name the database of queries
    /// whose measurement is unqualified).
    pub fn start_task(&self, id: &str, plan: &Pipeline, feed: Feed) -> Result<(), String> {
        let fail = |e: String| format!("failed to start task: {e}");
        let batch = plan.task_type == TaskType::Batch;
        let (feed, dbrps) = match feed {
            Feed::Live { dbrps, .. } if batch => (Feed::Direct, dbrps),
            other => (other, Vec::new()),
        };
        // Resolved before anything is installed, so a bad query leaves nothing behind. Its
        // errors read as Kapacitor's (`checkDBRPs`'s, among them), without a prefix.
        let queries = if batch {
            Some(self.batch.plans(plan, &dbrps)?)
        } else {
            None
        };
        self.engine
            .install(id, plan, self.live_services(), feed)
            .map_err(|e| fail(e.to_string()))?;
        for n in &plan.nodes {
            if let NodeSpec::InfluxDbOut(o) = &n.spec
                && o.create
                && !o.database.is_empty()
                && let Err(e) = self
                    .writer
                    .create(&o.cluster, &o.database, &o.retention_policy)
            {
                tracing::error!(task = id, node = n.name, "influxDBOut create: {e}");
            }
        }
        if let Some(queries) = queries {
            self.batch.start_task(id, queries);
        }
        self.throughput.add(id, plan);
        Ok(())
    }

    /// Removes a live task and its endpoints.
    pub fn stop_task(&self, id: &str) {
        self.batch.stop_task(id);
        if let Err(e) = self.engine.remove(id) {
            tracing::warn!(task = id, "removing task: {e}");
        }
        self.http_out.remove_task(id);
        self.inhibitors.remove_task(id);
        self.throughput.remove(id);
    }

    /// Engine statistics of a running task, with its query nodes' counters.
    fn stats(&self, id: &str) -> Option<kap_dataflow::runtime::TaskStats> {
        let mut st = self.engine.stats(id)?;
        for (node, counters) in self.batch.node_stats(id) {
            let m = st.nodes.entry(node).or_default();
            for (k, v) in counters {
                m.insert(k.to_string(), v);
            }
        }
        Some(st)
    }

    /// DOT statistics of a running task.
    pub fn dot_stats(&self, id: &str) -> DotStats {
        let Some(st) = self.stats(id) else {
            return DotStats::default();
        };
        let nodes = st
            .nodes
            .into_iter()
            .map(|(name, mut counters)| {
                let avg = avg_exec_ns(&mut counters);
                let mut m: std::collections::BTreeMap<String, String> = counters
                    .into_iter()
                    .map(|(k, v)| (k, v.to_string()))
                    .collect();
                m.insert("avg_exec_time_ns".into(), kap_dsl::eval::go_duration(avg));
                (name, m)
            })
            .collect();
        DotStats {
            throughput: self.throughput.get(id),
            nodes,
            edges: st.edges,
        }
    }

    /// Messages sent per `(parent, child)` edge of a running task.
    pub fn edge_stats(&self, id: &str) -> Vec<((String, String), u64)> {
        self.stats(id)
            .map(|st| st.edges.into_iter().collect())
            .unwrap_or_default()
    }

    /// API statistics of a running task (`task-stats` and `node-stats`).
    pub fn task_stats(&self, id: &str) -> TaskStats {
        let Some(st) = self.stats(id) else {
            return TaskStats::default();
        };
        let mut out = TaskStats::default();
        out.task_stats.insert(
            "throughput".into(),
            serde_json::Value::from(self.throughput.get(id)),
        );
        for (name, mut counters) in st.nodes {
            let avg = avg_exec_ns(&mut counters);
            let mut m: serde_json::Map<String, serde_json::Value> = counters
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::from(v)))
                .collect();
            m.insert("avg_exec_time_ns".into(), serde_json::Value::from(avg));
            out.node_stats.insert(name, serde_json::Value::Object(m));
        }
        out
    }

    /// Registers an observer of accepted writes; returns its handle for
    /// [`Runtime::remove_observer`].
    pub fn add_observer(&self, o: Arc<dyn WriteObserver>) -> u64 {
        let id = self.next_observer.fetch_add(1, Ordering::Relaxed);
        self.observers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, o));
        id
    }

    /// Unregisters an observer.
    pub fn remove_observer(&self, id: u64) {
        self.observers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(i, _)| *i != id);
    }

    /// [`Runtime::write`] for an input that has no client to answer (UDP, Graphite, OpenTSDB
    /// telnet, collectd, the scraper): a refusal is logged, naming `input` and the database.
    pub fn write_logged(&self, input: &str, points: Vec<Point>) {
        let db = points.first().map(|p| p.db);
        if let Err(e) = self.write(points) {
            let db = db.map_or("", |d| d.as_str());
            tracing::warn!(db, "{input} points refused: {e}");
        }
    }

    /// Writes live points, waiting up to [`Runtime::write_wait`] for room in the engine.
    pub fn write(&self, points: Vec<Point>) -> Result<(), EngineError> {
        if points.is_empty() {
            return Ok(());
        }
        let observers: Vec<Arc<dyn WriteObserver>> = self
            .observers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(_, o)| Arc::clone(o))
            .collect();
        for o in &observers {
            o.observe(&points);
        }
        let n = points.len() as u64;
        let counts = ingress_counts(&points);
        match self.engine.write_timeout(points, self.write_wait) {
            Ok(()) => {
                self.ingest.points_received.fetch_add(n, Ordering::Relaxed);
                self.ingest.count(counts);
                Ok(())
            }
            Err(e) => {
                self.ingest.writes_refused.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }
}
