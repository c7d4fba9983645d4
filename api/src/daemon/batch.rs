//! Batch tasks: the query scheduler and the way query results enter the engine (the
//! original design's Query Scheduler and Batch engine).
//!
//! Each `query` node of an enabled batch task gets a [`Job`]: its query text checked once
//! ([`BatchQuery`]), its [`Schedule`], and the InfluxDB cluster and database it asks. One
//! scheduler thread keeps the jobs in a heap by due time. At a tick the run for that tick's
//! range starts on its own thread; its result enters the task's dataflow as **one epoch**
//! (one batch per series, in the order InfluxDB returned them), so downstream nodes see a
//! run complete before the next run's epoch. A job never runs twice at once: a tick that
//! comes while the previous run of the same node is still going is skipped, as Kapacitor's
//! ticker drops ticks its reader is too slow for.
//!
//! Beyond Kapacitor, for users whose InfluxDB buckles when every task queries at `:00`
//! (kapacitor#712, #1023): `[batch] query-spread` delays each job's runs by a fixed,
//! per-job share of that spread (the queried ranges stay those of the nominal ticks), and
//! `[batch] max-concurrent-queries` bounds the queries in flight. Both are off by default.
//!
//! Node stats of a query node: `query_errors`, `batches_queried`, `points_queried`.

use super::influxdb::Clusters;
use crate::config::BatchConfig;
use kap_dataflow::point::{
    Batch, BatchPoint, Dimensions, FieldValue, Fields, Sym, Tags, normalize,
};
use kap_dataflow::runtime::Engine;
use kap_dsl::plan::{DbRp, NodeSpec, Pipeline, QuerySpec};
use kap_dsl::query::BatchQuery;
use kap_dsl::schedule::{Schedule, run_range};
use kap_influxdb::{Client, Query, Response};
use kap_ingest::recording::{RecordedBatch, RecordedPoint, RecordedValue};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// One `query` node of a batch task, resolved against the configured clusters.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    /// Plan node id (where results enter).
    pub node: usize,
    /// Node name (`query1`).
    pub name: String,
    /// The node's properties.
    pub spec: QuerySpec,
    /// The checked query text.
    pub query: BatchQuery,
    /// When it runs.
    pub schedule: Schedule,
    /// The cluster it asks.
    pub client: Client,
    /// `db` / `rp` parameters of the query (for an unqualified measurement).
    pub database: String,
    /// Retention policy parameter.
    pub retention_policy: String,
}

/// The query nodes of a batch plan in Kapacitor's walk order (the order recordings store
/// their sources). An unqualified measurement is read from the task's first dbrp, else from
/// the first database of the cluster's `subscriptions`; with neither it is an error.
pub fn query_plans(
    plan: &Pipeline,
    dbrps: &[DbRp],
    clusters: &Clusters,
) -> Result<Vec<QueryPlan>, String> {
    let mut out = Vec::new();
    for id in kap_dsl::dot::walk_order(plan) {
        let node = &plan.nodes[id];
        let spec = match &node.spec {
            NodeSpec::Query(q) => q,
            NodeSpec::QueryFlux(_) => {
                return Err(format!(
                    "{}: queryFlux needs a Flux engine (InfluxDB 2.x), which this kapacitord does not have",
                    node.name
                ));
            }
            _ => continue,
        };
        if let Some(e) = kap_dsl::registry::query_schedule_error(spec.every, &spec.cron) {
            return Err(format!("{}: {e}", node.name));
        }
        let query = BatchQuery::new(spec).map_err(|e| format!("{}: {e}", node.name))?;
        let schedule = Schedule::new(spec).map_err(|e| format!("{}: {e}", node.name))?;
        let client = clusters
            .client(&spec.cluster)
            .map_err(|e| format!("{}: {e}", node.name))?;
        let (database, retention_policy) = if query.database().is_some() {
            (String::new(), String::new())
        } else if let Some(d) = dbrps.first() {
            (d.db.clone(), d.rp.clone())
        } else if let Some((db, rps)) = clusters
            .config(&spec.cluster)
            .and_then(|c| c.subscriptions.iter().next())
        {
            (db.clone(), rps.first().cloned().unwrap_or_default())
        } else {
            return Err(format!(
                "{}: the query does not name its database ({}): qualify the measurement (\"db\".\"rp\".\"measurement\"), give the task a dbrp, or list a database in the cluster's [[influxdb]] subscriptions",
                node.name, spec.query
            ));
        };
        out.push(QueryPlan {
            node: id,
            name: node.name.clone(),
            spec: spec.clone(),
            query,
            schedule,
            client,
            database,
            retention_policy,
        });
    }
    Ok(out)
}

impl QueryPlan {
    /// Runs the query for `[start, stop)` and returns its batches.
    pub fn run(&self, start: i64, stop: i64) -> Result<Vec<Batch>, String> {
        let resp = self.ask(start, stop)?;
        Ok(batches_of(
            &resp,
            self.spec.group_by_measurement,
            self.query.group_by_time().is_some(),
            stop,
        ))
    }

    /// The raw answer for `[start, stop)`, times as integer nanoseconds.
    pub fn ask(&self, start: i64, stop: i64) -> Result<Response, String> {
        let q = Query {
            command: self.query.text(start, stop),
            database: self.database.clone(),
            retention_policy: self.retention_policy.clone(),
            epoch: Some("ns".into()),
            chunked: false,
            chunk_size: 0,
        };
        self.client.query(&q).map_err(|e| e.to_string())
    }
}

/// A cell of a query result as a field value: numbers are floats (InfluxDB integers arrive
/// as JSON numbers, which Kapacitor decodes as float64), `null` is no value.
fn cell_value(v: &serde_json::Value) -> Option<FieldValue> {
    match v {
        serde_json::Value::Number(n) => n.as_f64().map(FieldValue::Float),
        serde_json::Value::String(s) => Some(FieldValue::String(Arc::from(s.as_str()))),
        serde_json::Value::Bool(b) => Some(FieldValue::Bool(*b)),
        _ => None,
    }
}

fn cell_time(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => kap_ingest::recording::parse_time(s),
        _ => None,
    }
}

/// Kapacitor's `ResultToBufferedBatches` plus the batch time rule (semantics §1.2): one
/// batch per series (name, series tags as group tags, `byName`), rows with no non-null
/// value dropped, batch time = the last row's time when the query is grouped by time and
/// returned rows, else the query's stop time. Empty series still give an (empty) batch.
pub fn batches_of(resp: &Response, by_name: bool, grouped_by_time: bool, stop: i64) -> Vec<Batch> {
    let mut out = Vec::new();
    for series in resp.results.iter().flat_map(|r| &r.series) {
        let tags: Tags = series
            .tags
            .iter()
            .map(|(k, v)| (Sym::new(k), Sym::new(v)))
            .collect();
        let columns: Vec<Option<Sym>> = series
            .columns
            .iter()
            .map(|c| (c != "time").then(|| Sym::new(c)))
            .collect();
        let time_col = series.columns.iter().position(|c| c == "time");
        let mut points = Vec::with_capacity(series.values.len());
        let mut tmax = i64::MIN;
        for row in &series.values {
            let time = time_col
                .and_then(|i| row.get(i))
                .and_then(cell_time)
                .unwrap_or(0);
            let mut fields: Fields = Vec::with_capacity(columns.len());
            for (c, v) in columns.iter().zip(row) {
                if let (Some(c), Some(v)) = (c, cell_value(v)) {
                    fields.push((*c, v));
                }
            }
            if fields.is_empty() {
                continue;
            }
            normalize(&mut fields);
            tmax = tmax.max(time);
            points.push(BatchPoint {
                time,
                fields,
                tags: tags.clone(),
            });
        }
        let tmax = if points.is_empty() || !grouped_by_time {
            stop
        } else {
            tmax
        };
        let dims = Dimensions {
            by_name,
            tag_names: tags.iter().map(|(k, _)| *k).collect(),
        };
        let mut b = Batch {
            name: Sym::new(&series.name),
            tmax,
            tags,
            dims,
            group: Default::default(),
            points,
        };
        b.regroup();
        out.push(b);
    }
    out
}

/// A batch as a recording stores it (`.brpl`).
pub fn recorded(b: &Batch) -> RecordedBatch {
    let tags: BTreeMap<String, String> = b
        .tags
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
        .collect();
    RecordedBatch {
        name: b.name.as_str().to_string(),
        tmax: Some(b.tmax),
        group: b.group_string(),
        byname: b.dims.by_name,
        points: b
            .points
            .iter()
            .map(|p| RecordedPoint {
                fields: p
                    .fields
                    .iter()
                    .filter_map(|(k, v)| {
                        let v = match v {
                            FieldValue::Float(f) => RecordedValue::Float(*f),
                            FieldValue::Int(i) => RecordedValue::Float(*i as f64),
                            FieldValue::String(s) => RecordedValue::String(s.to_string()),
                            FieldValue::Bool(x) => RecordedValue::Bool(*x),
                            _ => return None,
                        };
                        Some((k.as_str().to_string(), v))
                    })
                    .collect(),
                tags: if p.tags == b.tags {
                    BTreeMap::new()
                } else {
                    p.tags
                        .iter()
                        .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
                        .collect()
                },
                time: p.time,
            })
            .collect(),
        tags,
    }
}

/// A recorded batch back as an engine batch, its times moved by `shift` ns. Its time is
/// its last point's (Kapacitor's batch replay), or the recorded batch time when later.
pub fn from_recorded(b: &RecordedBatch, shift: i64) -> Batch {
    let tags: Tags = b
        .tags
        .iter()
        .map(|(k, v)| (Sym::new(k), Sym::new(v)))
        .collect();
    let points: Vec<BatchPoint> = b
        .points
        .iter()
        .map(|p| {
            let mut fields: Fields = p
                .fields
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        RecordedValue::Float(f) => FieldValue::Float(*f),
                        RecordedValue::String(s) => FieldValue::String(Arc::from(s.as_str())),
                        RecordedValue::Bool(x) => FieldValue::Bool(*x),
                    };
                    (Sym::new(k), v)
                })
                .collect();
            normalize(&mut fields);
            BatchPoint {
                time: p.time.saturating_add(shift),
                fields,
                tags: if p.tags.is_empty() {
                    tags.clone()
                } else {
                    p.tags
                        .iter()
                        .map(|(k, v)| (Sym::new(k), Sym::new(v)))
                        .collect()
                },
            }
        })
        .collect();
    let last = b.points.last().map(|p| p.time);
    let tmax = match (b.tmax, last) {
        (Some(t), Some(l)) => t.max(l),
        (Some(t), None) => t,
        (None, Some(l)) => l,
        (None, None) => 0,
    }
    .saturating_add(shift);
    let dims = Dimensions {
        by_name: b.byname,
        tag_names: tags.iter().map(|(k, _)| *k).collect(),
    };
    let mut batch = Batch {
        name: Sym::new(&b.name),
        tmax,
        tags,
        dims,
        group: Default::default(),
        points,
    };
    batch.regroup();
    batch
}

/// Counters of one query node.
#[derive(Debug, Default)]
pub struct QueryStats {
    query_errors: AtomicI64,
    batches_queried: AtomicI64,
    points_queried: AtomicI64,
}

impl QueryStats {
    /// Counts a run's batches.
    pub fn queried(&self, batches: &[Batch]) {
        self.batches_queried
            .fetch_add(batches.len() as i64, Ordering::Relaxed);
        let points: usize = batches.iter().map(|b| b.points.len()).sum();
        self.points_queried
            .fetch_add(points as i64, Ordering::Relaxed);
    }

    /// Counts a failed query.
    pub fn failed(&self) {
        self.query_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters by their stat names.
    pub fn snapshot(&self) -> [(&'static str, i64); 3] {
        [
            (
                "batches_queried",
                self.batches_queried.load(Ordering::Relaxed),
            ),
            (
                "points_queried",
                self.points_queried.load(Ordering::Relaxed),
            ),
            ("query_errors", self.query_errors.load(Ordering::Relaxed)),
        ]
    }
}

/// A scheduled query node of an enabled task.
struct Job {
    task: String,
    plan: QueryPlan,
    /// This job's share of `[batch] query-spread`, ns.
    delay: i64,
    running: AtomicBool,
    stopped: AtomicBool,
    stats: Arc<QueryStats>,
}

#[derive(Default)]
struct State {
    /// (due wall time, sequence, nominal tick, job).
    heap: BinaryHeap<Reverse<(i64, u64, i64, usize)>>,
    jobs: HashMap<usize, Arc<Job>>,
    by_task: HashMap<String, Vec<usize>>,
    next_id: usize,
    seq: u64,
    in_flight: usize,
    shutdown: bool,
}

struct Inner {
    state: Mutex<State>,
    woken: Condvar,
    engine: Arc<Engine>,
    max_concurrent: usize,
}

/// The query scheduler of the daemon's batch tasks.
pub struct BatchService {
    clusters: Clusters,
    spread: i64,
    inner: Arc<Inner>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for BatchService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchService").finish_non_exhaustive()
    }
}

/// A stable share of `spread` for a job: FNV-1a of task and node name.
fn spread_delay(task: &str, node: &str, spread: i64) -> i64 {
    if spread <= 0 {
        return 0;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in task.bytes().chain([0]).chain(node.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % spread as u64) as i64
}

impl BatchService {
    /// The scheduler over `engine`, querying `clusters`.
    pub fn start(clusters: Clusters, engine: Arc<Engine>, config: &BatchConfig) -> BatchService {
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            woken: Condvar::new(),
            engine,
            max_concurrent: config.max_concurrent_queries,
        });
        let bg = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name("batch-scheduler".into())
            .spawn(move || schedule_loop(&bg))
            .map_err(|e| tracing::error!("starting the batch scheduler: {e}"))
            .ok();
        BatchService {
            clusters,
            spread: i64::try_from(config.query_spread.as_nanos()).unwrap_or(i64::MAX),
            inner,
            thread: Mutex::new(thread),
        }
    }

    /// The clusters queries go to.
    pub fn clusters(&self) -> &Clusters {
        &self.clusters
    }

    /// Resolves a batch plan's query nodes (for recordings and replay-live).
    pub fn plans(&self, plan: &Pipeline, dbrps: &[DbRp]) -> Result<Vec<QueryPlan>, String> {
        query_plans(plan, dbrps, &self.clusters)
    }

    /// Schedules the query nodes of task `id` (installed in the engine under `id`).
    pub fn start_task(&self, id: &str, plan: &Pipeline, dbrps: &[DbRp]) -> Result<(), String> {
        let plans = self.plans(plan, dbrps)?;
        let now = now_ns();
        let mut st = lock(&self.inner.state);
        let mut ids = Vec::new();
        for p in plans {
            let delay = spread_delay(id, &p.name, self.spread);
            let first = p.schedule.next_after(now);
            let job = Arc::new(Job {
                task: id.to_string(),
                plan: p,
                delay,
                running: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
                stats: Arc::default(),
            });
            let jid = st.next_id;
            st.next_id += 1;
            st.seq += 1;
            let seq = st.seq;
            st.heap.push(Reverse((first + delay, seq, first, jid)));
            st.jobs.insert(jid, job);
            ids.push(jid);
        }
        st.by_task.insert(id.to_string(), ids);
        drop(st);
        self.inner.woken.notify_all();
        Ok(())
    }

    /// Stops scheduling task `id` (a run in flight finishes; its result is dropped with the
    /// task's dataflow).
    pub fn stop_task(&self, id: &str) {
        let mut st = lock(&self.inner.state);
        for jid in st.by_task.remove(id).unwrap_or_default() {
            if let Some(job) = st.jobs.remove(&jid) {
                job.stopped.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Query-node counters of task `id`, by node name.
    pub fn node_stats(&self, id: &str) -> Vec<(String, [(&'static str, i64); 3])> {
        let st = lock(&self.inner.state);
        st.by_task
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|jid| st.jobs.get(jid))
            .map(|j| (j.plan.name.clone(), j.stats.snapshot()))
            .collect()
    }

    /// Stops the scheduler thread.
    pub fn shutdown(&self) {
        lock(&self.inner.state).shutdown = true;
        self.inner.woken.notify_all();
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }
}

impl Drop for BatchService {
    fn drop(&mut self) {
        lock(&self.inner.state).shutdown = true;
        self.inner.woken.notify_all();
    }
}

fn schedule_loop(inner: &Arc<Inner>) {
    let mut st = lock(&inner.state);
    loop {
        if st.shutdown {
            return;
        }
        let now = now_ns();
        let Some(&Reverse((due, _, tick, jid))) = st.heap.peek() else {
            st = inner.woken.wait(st).unwrap_or_else(|e| e.into_inner());
            continue;
        };
        if due > now {
            let wait = Duration::from_nanos((due - now) as u64).min(Duration::from_secs(1));
            st = inner
                .woken
                .wait_timeout(st, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
            continue;
        }
        st.heap.pop();
        let Some(job) = st.jobs.get(&jid).cloned() else {
            continue; // the task was stopped
        };
        // Next tick first, so a slow run never shifts the schedule.
        let next = job.plan.schedule.next_after(tick);
        st.seq += 1;
        let seq = st.seq;
        st.heap.push(Reverse((next + job.delay, seq, next, jid)));
        if job.running.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                task = job.task,
                node = job.plan.name,
                "skipping a run: the previous one is still going"
            );
            continue;
        }
        let bg = Arc::clone(inner);
        let spawned = std::thread::Builder::new()
            .name(format!("batch-{}", job.task))
            .spawn(move || run_job(&bg, &job, tick));
        if let Err(e) = spawned {
            tracing::error!("starting a batch run: {e}");
        }
    }
}

/// Waits for a query slot (`[batch] max-concurrent-queries`), runs the query for `tick`'s
/// range and feeds the result as one epoch.
fn run_job(inner: &Inner, job: &Job, tick: i64) {
    {
        let mut st = lock(&inner.state);
        while inner.max_concurrent > 0 && st.in_flight >= inner.max_concurrent && !st.shutdown {
            st = inner.woken.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.in_flight += 1;
    }
    let (start, stop) = run_range(&job.plan.spec, tick);
    let result = job.plan.run(start, stop);
    {
        let mut st = lock(&inner.state);
        st.in_flight -= 1;
    }
    inner.woken.notify_all();
    match result {
        Ok(batches) if !job.stopped.load(Ordering::Relaxed) => {
            job.stats.queried(&batches);
            if !batches.is_empty()
                && let Err(e) = inner.engine.feed_batches(&job.task, job.plan.node, batches)
            {
                tracing::warn!(
                    task = job.task,
                    node = job.plan.name,
                    "feeding a batch: {e}"
                );
            }
        }
        Ok(_) => {}
        Err(e) => {
            job.stats.failed();
            tracing::error!(
                task = job.task,
                node = job.plan.name,
                "query failed (retried at the next run): {e}"
            );
        }
    }
    job.running.store(false, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;
    use kap_influxdb::{Series, StatementResult};

    fn series(
        name: &str,
        tags: &[(&str, &str)],
        cols: &[&str],
        rows: Vec<Vec<serde_json::Value>>,
    ) -> Series {
        Series {
            name: name.into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            columns: cols.iter().map(|c| c.to_string()).collect(),
            values: rows,
            partial: false,
        }
    }

    fn response(series: Vec<Series>) -> Response {
        Response {
            results: vec![StatementResult {
                statement_id: 0,
                series,
                error: None,
            }],
        }
    }

    #[test]
    fn results_become_one_batch_per_series() {
        use serde_json::json;
        let resp = response(vec![
            series(
                "cpu",
                &[("host", "a")],
                &["time", "mean", "max"],
                vec![
                    vec![json!(10), json!(1.5), json!(3)],
                    vec![json!(20), json!(null), json!(null)],
                    vec![json!(30), json!(2), json!(null)],
                ],
            ),
            series("cpu", &[("host", "b")], &["time", "mean"], vec![]),
        ]);
        let b = batches_of(&resp, false, true, 100);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].points.len(), 2, "the all-null row is dropped");
        assert_eq!(b[0].tmax, 30);
        assert_eq!(b[0].group_string(), "host=a");
        assert_eq!(
            b[0].points[0].fields,
            vec![
                (Sym::new("max"), FieldValue::Float(3.0)),
                (Sym::new("mean"), FieldValue::Float(1.5))
            ]
        );
        assert_eq!(b[1].tmax, 100, "an empty series takes the stop time");
        let b = batches_of(&resp, true, false, 100);
        assert_eq!(b[0].tmax, 100, "not grouped by time: the stop time");
        assert!(b[0].dims.by_name);
    }

    #[test]
    fn recorded_batches_round_trip() {
        use serde_json::json;
        let resp = response(vec![series(
            "cpu",
            &[("host", "a")],
            &["time", "v", "s"],
            vec![vec![json!(10), json!(1), json!("x")]],
        )]);
        let b = &batches_of(&resp, false, true, 100)[0];
        let r = recorded(b);
        assert_eq!(&from_recorded(&r, 0), b);
        let shifted = from_recorded(&r, 5);
        assert_eq!(shifted.tmax, 15);
        assert_eq!(shifted.points[0].time, 15);
    }

    #[test]
    fn spread_delays_are_stable_and_bounded() {
        let d = spread_delay("t", "query1", 60_000_000_000);
        assert_eq!(d, spread_delay("t", "query1", 60_000_000_000));
        assert!((0..60_000_000_000).contains(&d));
        assert_eq!(spread_delay("t", "query1", 0), 0);
    }
}
