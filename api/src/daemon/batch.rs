//! Batch tasks: the query scheduler and the way query results enter the engine (the
//! original design's Query Scheduler and Batch engine).
//!
//! Each `query` node of an enabled batch task gets a job: its query text checked once
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
use kap_dataflow::gofmt::quote_go as go_quote;
use kap_dataflow::point::{
    Batch, BatchPoint, Dimensions, FieldValue, Fields, Str, Sym, Tags, normalize,
};
use kap_dataflow::runtime::Engine;
use kap_dsl::plan::{DbRp, NodeSpec, Pipeline, QuerySpec};
use kap_dsl::query::BatchQuery;
use kap_dsl::schedule::{Schedule, run_range};
use kap_influxdb::{AnswerError, Cell, Client, Query};
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
    for id in query_nodes(plan) {
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
        // Kapacitor's `checkDBRPs`: a task given dbrps queries only those. (A task without
        // dbrps, and an unqualified measurement, which reads the task's first dbrp, are
        // this daemon's additions.)
        if !dbrps.is_empty()
            && let Some((db, rp)) = query.sources().iter().find(|(db, rp)| {
                !db.is_empty() && !dbrps.iter().any(|d| &d.db == db && &d.rp == rp)
            })
        {
            return Err(format!(
                "batch query is not allowed to request data from {}.{}",
                go_quote(db),
                go_quote(rp)
            ));
        }
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
            .and_then(|c| c.subscriptions.into_iter().next())
        {
            (db, rps.first().cloned().unwrap_or_default())
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
        let q = Query {
            command: self.query.text(start, stop),
            database: self.database.clone(),
            retention_policy: self.retention_policy.clone(),
            epoch: Some("ns".into()),
            chunked: false,
            chunk_size: 0,
        };
        let by_name = self.spec.group_by_measurement;
        let grouped = self.query.group_by_time().is_some();
        self.client
            .query_with(&q, |bytes| decode_batches(bytes, by_name, grouped, stop))
            .map_err(|e| e.to_string())
    }
}

/// A cell of a query result as a field value: numbers are floats (InfluxDB integers arrive
/// as JSON numbers, which Kapacitor decodes as float64), `null` is no value.
fn cell_value(v: &Cell) -> Option<FieldValue> {
    match v {
        Cell::Int(i) => Some(FieldValue::Float(*i as f64)),
        Cell::Float(f) => Some(FieldValue::Float(*f)),
        Cell::String(s) => Some(FieldValue::String(Str::from(&**s))),
        Cell::Bool(b) => Some(FieldValue::Bool(*b)),
        Cell::Null | Cell::Json(_) => None,
    }
}

fn cell_time(v: &Cell) -> Option<i64> {
    match v {
        Cell::String(s) => kap_ingest::recording::parse_time(s),
        other => other.as_i64(),
    }
}

/// Kapacitor drops rows without a non-null value; the others become points with the
/// series tags.
fn push_point(points: &mut Vec<BatchPoint>, time: i64, mut fields: Fields, tags: &Tags) {
    if fields.is_empty() {
        return;
    }
    normalize(&mut fields);
    points.push(BatchPoint {
        time,
        fields,
        tags: tags.clone(),
    });
}

/// One series' batch: Kapacitor's `ResultToBufferedBatches` plus the batch time rule
/// (semantics §1.2): name, series tags as group tags, `byName`; batch time = the last
/// row's time when the query is grouped by time and returned rows, else the query's stop
/// time. An empty series still gives an (empty) batch.
fn series_batch(name: &str, tags: Tags, points: Vec<BatchPoint>, opts: decode::Opts) -> Batch {
    let tmax = match points.iter().map(|p| p.time).max() {
        Some(t) if opts.grouped_by_time => t,
        _ => opts.stop,
    };
    let dims = Dimensions::new(opts.by_name, tags.iter().map(|(k, _)| *k).collect());
    let mut b = Batch {
        name: Sym::new(name),
        tmax,
        tags,
        dims,
        group: Default::default(),
        points,
    };
    b.regroup();
    b
}

/// Answers at least this long are decoded on two threads, split between series.
const PARALLEL_DECODE_BYTES: usize = 256 * 1024;

/// Kapacitor's conversion of a (non-chunked) `/query` answer into one batch per series
/// (`series_batch`), decoded straight from its bytes without building the table: a batch query may answer
/// hundreds of thousands of rows, and every cell and row allocated on the way shows.
/// InfluxDB writes a series' `columns` before its `values`; rows that come first anyway
/// are kept as cells until the columns are known.
pub fn decode_batches(
    bytes: &[u8],
    by_name: bool,
    grouped_by_time: bool,
    stop: i64,
) -> Result<Vec<Batch>, AnswerError> {
    use serde::de::DeserializeSeed;
    let opts = decode::Opts {
        by_name,
        grouped_by_time,
        stop,
    };
    if bytes.len() >= PARALLEL_DECODE_BYTES
        && let Some(out) = decode::parallel(bytes, opts)
    {
        return Ok(out);
    }
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = decode::AnswerSeed {
        out: &mut out,
        opts,
    };
    match seed.deserialize(&mut de).and_then(|e| de.end().map(|()| e)) {
        Ok(None) => Ok(out),
        Ok(Some(e)) => Err(AnswerError::Statement(e)),
        Err(e) => Err(AnswerError::Malformed(e.to_string())),
    }
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
                        RecordedValue::String(s) => FieldValue::String(Str::from(s.as_str())),
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
    let dims = Dimensions::new(b.byname, tags.iter().map(|(k, _)| *k).collect());
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

/// The query nodes of a plan in Kapacitor's walk order: recording source `i` feeds node
/// `query_nodes(plan)[i]`.
pub fn query_nodes(plan: &Pipeline) -> Vec<usize> {
    kap_dsl::dot::walk_order(plan)
        .into_iter()
        .filter(|&id| {
            matches!(
                plan.nodes[id].spec,
                NodeSpec::Query(_) | NodeSpec::QueryFlux(_)
            )
        })
        .collect()
}

/// Recorded batch sources in the order a replay feeds them, each with its source index:
/// empty batches are dropped; unless `recording_time`, each source's times move so that
/// its first point is at `now`; sources are merged by batch time (ties: source order).
pub fn replay_order(
    sources: &[Vec<RecordedBatch>],
    recording_time: bool,
    now: i64,
) -> Vec<(usize, Batch)> {
    let mut files: Vec<std::collections::VecDeque<Batch>> = sources
        .iter()
        .map(|batches| {
            let first = batches
                .iter()
                .find_map(|b| b.points.first())
                .map(|p| p.time)
                .unwrap_or(0);
            let shift = if recording_time { 0 } else { now - first };
            batches
                .iter()
                .filter(|b| !b.points.is_empty())
                .map(|b| from_recorded(b, shift))
                .collect()
        })
        .collect();
    let mut out = Vec::new();
    while let Some(i) = (0..files.len())
        .filter(|&i| !files[i].is_empty())
        .min_by_key(|&i| (files[i].front().map(|b| b.tmax), i))
    {
        if let Some(b) = files[i].pop_front() {
            out.push((i, b));
        }
    }
    out
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

    /// Schedules the query nodes of task `id` (installed in the engine under `id`), as
    /// resolved by [`BatchService::plans`].
    pub fn start_task(&self, id: &str, plans: Vec<QueryPlan>) {
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
        drop(st);
        self.inner.woken.notify_all();
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
        while inner.max_concurrent > 0
            && st.in_flight >= inner.max_concurrent
            && !st.shutdown
            && !job.stopped.load(Ordering::Relaxed)
        {
            st = inner.woken.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        // A run still waiting for a slot when its task stops (or the daemon does) is over.
        if st.shutdown || job.stopped.load(Ordering::Relaxed) {
            job.running.store(false, Ordering::Release);
            return;
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

mod decode {
    //! The serde seeds of [`super::decode_batches`].

    use super::{Cell, cell_time, cell_value, push_point};
    use kap_dataflow::point::Str;
    use kap_dataflow::point::{Batch, BatchPoint, FieldValue, Fields, Sym, Tags};
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::collections::BTreeMap;
    use std::fmt;

    /// What InfluxDB writes before and after the series of a one-statement answer.
    const HEAD: &[u8] = br#"{"results":[{"statement_id":0,"series":["#;
    const TAIL: &[u8] = b"]}]}";
    /// Where one series ends and the next begins.
    const BETWEEN: &[u8] = br#"},{"name":"#;

    /// Decodes a one-statement answer on two threads: its series list is cut in two at a
    /// series boundary near the middle, and each half is decoded as a JSON array of its
    /// own. A cut that fell inside a string would leave that string open in the first half,
    /// which then fails to parse; any failure (or another answer shape: several
    /// statements, an error, a partial answer) returns `None` and the caller decodes the
    /// answer whole.
    pub(super) fn parallel(bytes: &[u8], opts: Opts) -> Option<Vec<Batch>> {
        let trimmed = bytes.trim_ascii_end();
        let list = trimmed.strip_prefix(HEAD)?.strip_suffix(TAIL)?;
        let middle = list.len() / 2;
        let cut = middle
            + list[middle..]
                .windows(BETWEEN.len())
                .position(|w| w == BETWEEN)?;
        let (first, second) = (&list[..=cut], &list[cut + 2..]);
        let decode = |part: &[u8]| -> Option<Vec<Batch>> {
            let mut text = Vec::with_capacity(part.len() + 2);
            text.push(b'[');
            text.extend_from_slice(part);
            text.push(b']');
            let mut out = Vec::new();
            let mut de = serde_json::Deserializer::from_slice(&text);
            SeriesList {
                out: &mut out,
                opts,
            }
            .deserialize(&mut de)
            .ok()?;
            de.end().ok()?;
            Some(out)
        };
        let (a, b) = std::thread::scope(|s| {
            let other = s.spawn(|| decode(second));
            let a = decode(first);
            (a, other.join().ok().flatten())
        });
        let mut a = a?;
        a.extend(b?);
        Some(a)
    }

    /// How rows become batches: `.groupByMeasurement()`, whether the query groups by time,
    /// and the query's stop time (the batch time rule).
    #[derive(Debug, Clone, Copy)]
    pub(super) struct Opts {
        pub(super) by_name: bool,
        pub(super) grouped_by_time: bool,
        pub(super) stop: i64,
    }

    /// `{"results": [...], "error": "..."}`; returns the first error.
    pub(super) struct AnswerSeed<'a> {
        pub(super) out: &'a mut Vec<Batch>,
        pub(super) opts: Opts,
    }

    impl<'de> DeserializeSeed<'de> for AnswerSeed<'_> {
        type Value = Option<String>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for AnswerSeed<'_> {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a /query answer")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
            let mut error = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match &*key {
                    "results" => {
                        let e = map.next_value_seed(Results {
                            out: &mut *self.out,
                            opts: self.opts,
                        })?;
                        error = error.or(e);
                    }
                    "error" => {
                        let e: Option<String> = map.next_value()?;
                        error = error.or(e);
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(error)
        }
    }

    /// `[{"statement_id": 0, "series": [...], "error": "..."}, ...]`.
    struct Results<'a> {
        out: &'a mut Vec<Batch>,
        opts: Opts,
    }

    impl<'de> DeserializeSeed<'de> for Results<'_> {
        type Value = Option<String>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Results<'_> {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of statement results")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
            let mut error = None;
            loop {
                let result = StatementSeed {
                    out: &mut *self.out,
                    opts: self.opts,
                };
                match seq.next_element_seed(result)? {
                    Some(e) => error = error.or(e),
                    None => return Ok(error),
                }
            }
        }
    }

    struct StatementSeed<'a> {
        out: &'a mut Vec<Batch>,
        opts: Opts,
    }

    impl<'de> DeserializeSeed<'de> for StatementSeed<'_> {
        type Value = Option<String>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for StatementSeed<'_> {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a statement result")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
            let mut error = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match &*key {
                    "series" => map.next_value_seed(SeriesList {
                        out: &mut *self.out,
                        opts: self.opts,
                    })?,
                    "error" => error = map.next_value()?,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(error)
        }
    }

    struct SeriesList<'a> {
        out: &'a mut Vec<Batch>,
        opts: Opts,
    }

    impl<'de> DeserializeSeed<'de> for SeriesList<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for SeriesList<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of series")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(b) = seq.next_element_seed(SeriesSeed { opts: self.opts })? {
                self.out.push(b);
            }
            Ok(())
        }
    }

    /// One series: `{"name", "tags", "columns", "values"}` into one batch.
    struct SeriesSeed {
        opts: Opts,
    }

    /// The columns of a series as the rows decoder needs them.
    struct Columns {
        /// Field name per column; `None` for `time`.
        names: Vec<Option<Sym>>,
    }

    impl Columns {
        fn new(columns: &[String]) -> Columns {
            Columns {
                names: columns
                    .iter()
                    .map(|c| (c != "time").then(|| Sym::new(c)))
                    .collect(),
            }
        }
    }

    impl<'de> DeserializeSeed<'de> for SeriesSeed {
        type Value = Batch;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Batch, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for SeriesSeed {
        type Value = Batch;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a series")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Batch, A::Error> {
            let mut name = String::new();
            let mut tags = Tags::new();
            let mut columns: Option<Columns> = None;
            let mut points: Vec<BatchPoint> = Vec::new();
            // Rows that came before the columns (InfluxDB does not do that).
            let mut early: Vec<Vec<Cell>> = Vec::new();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match &*key {
                    "name" => name = map.next_value()?,
                    "tags" => {
                        let t: BTreeMap<String, String> = map.next_value()?;
                        tags = t.iter().map(|(k, v)| (Sym::new(k), Sym::new(v))).collect();
                    }
                    "columns" => {
                        let c: Vec<String> = map.next_value()?;
                        columns = Some(Columns::new(&c));
                    }
                    "values" => match &columns {
                        Some(c) => map.next_value_seed(Rows {
                            columns: c,
                            tags: &tags,
                            points: &mut points,
                        })?,
                        None => early = map.next_value()?,
                    },
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            if let Some(c) = &columns {
                for row in &early {
                    let mut time = 0;
                    let mut fields = Fields::with_capacity(row.len());
                    for (name, cell) in c.names.iter().zip(row) {
                        match name {
                            None => time = cell_time(cell).unwrap_or(0),
                            Some(n) => {
                                if let Some(v) = cell_value(cell) {
                                    fields.push((*n, v));
                                }
                            }
                        }
                    }
                    push_point(&mut points, time, fields, &tags);
                }
            }
            Ok(super::series_batch(&name, tags, points, self.opts))
        }
    }

    struct Rows<'a> {
        columns: &'a Columns,
        tags: &'a Tags,
        points: &'a mut Vec<BatchPoint>,
    }

    impl<'de> DeserializeSeed<'de> for Rows<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Rows<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of rows")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            if let Some(n) = seq.size_hint() {
                self.points.reserve(n);
            }
            while let Some((time, fields)) = seq.next_element_seed(Row {
                columns: self.columns,
            })? {
                push_point(self.points, time, fields, self.tags);
            }
            Ok(())
        }
    }

    /// One row: its time and its non-null values as fields.
    struct Row<'a> {
        columns: &'a Columns,
    }

    impl<'de> DeserializeSeed<'de> for Row<'_> {
        type Value = (i64, Fields);
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(i64, Fields), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Row<'_> {
        type Value = (i64, Fields);
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a row")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(i64, Fields), A::Error> {
            let mut time = 0;
            let mut fields = Fields::with_capacity(self.columns.names.len());
            let mut i = 0;
            while let Some(v) = seq.next_element_seed(Value)? {
                match self.columns.names.get(i) {
                    Some(None) => time = v.as_time().unwrap_or(0),
                    Some(Some(name)) => {
                        if let Some(f) = v.into_field() {
                            fields.push((*name, f));
                        }
                    }
                    None => {}
                }
                i += 1;
            }
            Ok((time, fields))
        }
    }

    /// A cell, without allocating for numbers.
    enum Val {
        None,
        Int(i64),
        Float(f64),
        Bool(bool),
        Str(Str),
    }

    impl Val {
        fn as_time(&self) -> Option<i64> {
            match self {
                Val::Int(i) => Some(*i),
                Val::Float(f) => Some(*f as i64),
                Val::Str(s) => kap_ingest::recording::parse_time(s),
                _ => None,
            }
        }

        /// Numbers are floats (Kapacitor decodes InfluxDB's JSON numbers as float64).
        fn into_field(self) -> Option<FieldValue> {
            match self {
                Val::None => None,
                Val::Int(i) => Some(FieldValue::Float(i as f64)),
                Val::Float(f) => Some(FieldValue::Float(f)),
                Val::Bool(b) => Some(FieldValue::Bool(b)),
                Val::Str(s) => Some(FieldValue::String(s)),
            }
        }
    }

    struct Value;

    impl<'de> DeserializeSeed<'de> for Value {
        type Value = Val;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Val, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Value {
        type Value = Val;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a value")
        }
        fn visit_unit<E>(self) -> Result<Val, E> {
            Ok(Val::None)
        }
        fn visit_none<E>(self) -> Result<Val, E> {
            Ok(Val::None)
        }
        fn visit_bool<E>(self, b: bool) -> Result<Val, E> {
            Ok(Val::Bool(b))
        }
        fn visit_i64<E>(self, i: i64) -> Result<Val, E> {
            Ok(Val::Int(i))
        }
        fn visit_u64<E>(self, u: u64) -> Result<Val, E> {
            Ok(i64::try_from(u).map_or(Val::Float(u as f64), Val::Int))
        }
        fn visit_f64<E>(self, f: f64) -> Result<Val, E> {
            Ok(Val::Float(f))
        }
        fn visit_str<E>(self, s: &str) -> Result<Val, E> {
            Ok(Val::Str(Str::from(s)))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Val::None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Val::None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kap_influxdb::{Response, Series, StatementResult};

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
            values: rows
                .into_iter()
                .map(|r| {
                    r.into_iter()
                        .map(|v| serde_json::from_value(v).expect("cell"))
                        .collect()
                })
                .collect(),
            partial: false,
        }
    }

    /// The same conversion from a decoded `Response` (the test oracle of the decoder).
    fn batches_of(resp: &Response, by_name: bool, grouped_by_time: bool, stop: i64) -> Vec<Batch> {
        let opts = decode::Opts {
            by_name,
            grouped_by_time,
            stop,
        };
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
            let mut points = Vec::new();
            for row in &series.values {
                let mut time = 0;
                let mut fields = Fields::new();
                for (c, v) in columns.iter().zip(row) {
                    match c {
                        None => time = cell_time(v).unwrap_or(0),
                        Some(c) => {
                            if let Some(v) = cell_value(v) {
                                fields.push((*c, v));
                            }
                        }
                    }
                }
                push_point(&mut points, time, fields, &tags);
            }
            out.push(series_batch(&series.name, tags, points, opts));
        }
        out
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
            b[0].points[0].fields.to_vec(),
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
    fn decoding_the_answer_gives_the_same_batches() {
        let text = r#"{"results":[{"statement_id":0,"series":[
            {"name":"cpu","tags":{"host":"a"},"columns":["time","mean","s"],
             "values":[[10,1.5,"x"],[20,null,null],[30,2,true]]},
            {"name":"cpu","tags":{"host":"b"},"columns":["time","mean"]},
            {"name":"mem","values":[[5,1]],"columns":["time","v"]}]}]}"#;
        let resp: Response = serde_json::from_str(text).unwrap();
        for grouped in [true, false] {
            assert_eq!(
                decode_batches(text.as_bytes(), true, grouped, 100).unwrap(),
                batches_of(&resp, true, grouped, 100)
            );
        }
        assert_eq!(
            decode_batches(
                br#"{"results":[{"statement_id":0,"error":"boom"}]}"#,
                false,
                true,
                1
            ),
            Err(AnswerError::Statement("boom".into()))
        );
        assert_eq!(
            decode_batches(br#"{"error":"bad"}"#, false, true, 1),
            Err(AnswerError::Statement("bad".into()))
        );
        assert!(matches!(
            decode_batches(b"{\"results\":[", false, true, 1),
            Err(AnswerError::Malformed(_))
        ));
    }

    #[test]
    fn big_answers_decode_on_two_threads_to_the_same_batches() {
        use std::fmt::Write as _;
        let mut text = String::from(r#"{"results":[{"statement_id":0,"series":["#);
        for s in 0..3000 {
            if s > 0 {
                text.push(',');
            }
            write!(
                text,
                r#"{{"name":"cpu","tags":{{"host":"h{s}","q":"a\"]}}"}},"columns":["time","mean"],"values":[[1,{s}],[2,null],[3,"x{{"]]}}"#
            )
            .unwrap();
        }
        text.push_str("]}]}");
        assert!(text.len() >= PARALLEL_DECODE_BYTES);
        let opts = decode::Opts {
            by_name: false,
            grouped_by_time: true,
            stop: 9,
        };
        assert_eq!(
            decode::parallel(text.as_bytes(), opts).map(|b| b.len()),
            Some(3000)
        );
        // A boundary-looking text inside a string is not a place to cut.
        let tricky = text.replacen("\"h1500\"", "\"h},{\\\"name\\\":\"", 1);
        let resp: Response = serde_json::from_str(&tricky).unwrap();
        assert_eq!(
            decode_batches(tricky.as_bytes(), false, true, 9).unwrap(),
            batches_of(&resp, false, true, 9)
        );
        let resp: Response = serde_json::from_str(&text).unwrap();
        assert_eq!(
            decode_batches(text.as_bytes(), false, true, 9).unwrap(),
            batches_of(&resp, false, true, 9)
        );
        let failed = text.replacen(
            r#""statement_id":0,"#,
            r#""statement_id":0,"error":"no","#,
            1,
        );
        assert!(decode::parallel(failed.as_bytes(), opts).is_none());
        assert_eq!(
            decode_batches(failed.as_bytes(), false, true, 9),
            Err(AnswerError::Statement("no".into()))
        );
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

    /// A fake InfluxDB that answers every query after `delay`, counting the queries and
    /// the most it saw at once.
    fn slow_influxdb(delay: Duration) -> (String, Arc<(AtomicI64, AtomicI64, AtomicI64)>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        // (queries, in flight, most in flight)
        let stats = Arc::new((AtomicI64::new(0), AtomicI64::new(0), AtomicI64::new(0)));
        let st = Arc::clone(&stats);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let st = Arc::clone(&st);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let _ = conn.read(&mut buf);
                    st.0.fetch_add(1, Ordering::SeqCst);
                    let now = st.1.fetch_add(1, Ordering::SeqCst) + 1;
                    st.2.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(delay);
                    st.1.fetch_sub(1, Ordering::SeqCst);
                    let body = r#"{"results":[{"statement_id":0}]}"#;
                    let _ = write!(
                        conn,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        (url, stats)
    }

    /// Runs three batch tasks querying every 50 ms for `run` against a server answering
    /// in 150 ms; returns (queries, most queries at once).
    fn three_tasks(batch: BatchConfig, run: Duration) -> (i64, i64) {
        let (url, stats) = slow_influxdb(Duration::from_millis(150));
        let mut config = crate::config::Config::default();
        config.influxdb[0].urls = vec![url];
        let clusters = Clusters::from_config(&config).unwrap();
        let engine = Arc::new(
            Engine::start(kap_dataflow::runtime::EngineConfig {
                workers: 1,
                ..Default::default()
            })
            .unwrap(),
        );
        let service = BatchService::start(clusters, Arc::clone(&engine), &batch);
        let plan = kap_dsl::compile_source(
            "batch|query('SELECT mean(v) FROM \"db\".\"rp\".\"m\"').period(1m).every(50ms)|log()",
            &Default::default(),
        )
        .unwrap()
        .pipeline;
        for id in ["t1", "t2", "t3"] {
            engine
                .install(
                    id,
                    &plan,
                    Default::default(),
                    kap_dataflow::runtime::Feed::Direct,
                )
                .unwrap();
            service.start_task(id, service.plans(&plan, &[]).unwrap());
        }
        std::thread::sleep(run);
        for id in ["t1", "t2", "t3"] {
            service.stop_task(id);
        }
        service.shutdown();
        std::thread::sleep(Duration::from_millis(300));
        (
            stats.0.load(Ordering::SeqCst),
            stats.2.load(Ordering::SeqCst),
        )
    }

    #[test]
    fn max_concurrent_queries_bounds_the_queries_in_flight() {
        let (queries, most) = three_tasks(BatchConfig::default(), Duration::from_millis(800));
        assert!(queries >= 6, "{queries} queries");
        assert!(most >= 2, "without a limit the tasks query at once: {most}");
        let limited = BatchConfig {
            max_concurrent_queries: 1,
            ..BatchConfig::default()
        };
        let (queries, most) = three_tasks(limited, Duration::from_millis(800));
        assert!(queries >= 3, "{queries} queries");
        assert_eq!(most, 1, "one query at a time");
    }

    #[test]
    fn spread_delays_are_stable_and_bounded() {
        let d = spread_delay("t", "query1", 60_000_000_000);
        assert_eq!(d, spread_delay("t", "query1", 60_000_000_000));
        assert!((0..60_000_000_000).contains(&d));
        assert_eq!(spread_delay("t", "query1", 0), 0);
    }
}
