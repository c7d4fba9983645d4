//! Recordings and replays (Kapacitor's `replay` service).
//!
//! ```text
//!  POST /recordings/stream ─▶ StreamRecorder (a WriteObserver) ─▶ <replay dir>/<id>.srpl
//!  POST /replays ─▶ background thread: read .srpl ─▶ Engine::install_as("replay:<id>", task, Direct)
//!                    with isolated httpOut/topics/inhibitors ─▶ feed_points ─▶ close_and_wait
//! ```
//!
//! A stream recording sees every point `/write` accepts, keeps those of the task's dbrps and
//! `from()` measurements, and ends, as Kapacitor's does, at the first such point whose time
//! is after `stop`. Two extensions: when `stop` is still in the future at creation, the
//! recording also ends when the wall clock reaches it (so `record stream -duration 10s`
//! ends without further data); and an empty `stop` records until
//! `POST /recordings/<id>/stop` (the seed's `start-recording`/`stop-recording`). An empty
//! `task` records every point written.
//!
//! A replay runs the task's plan as its own dataflow, isolated from live data: it gets its
//! own httpOut registry, alert topic states and inhibitors, so the live task (enabled or
//! not) is never touched, while the alert handlers written in the script fire (a replay's
//! `.log()` file is written, as Kapacitor's tests expect). Its events reach no topic
//! handler: live alert topics stay untouched.
//! Points are shifted so that the first recorded point is at now, unless `recording-time`.
//!
//! Metadata lives in the store; recordings and replays left `running` by a crash are marked
//! `failed` ("interrupted by a restart") when the daemon opens.

use super::http::{blocking, json_body as body, page};
use super::influxdb::InfluxWriter;
use super::runtime::{Runtime, WriteObserver};
use super::tasks::{self, TaskManager, go_quote, invalid_id, new_id, valid_id};
use super::{ApiError, Daemon};
use crate::config::Config;
use crate::store::{RecordingRecord, ReplayRecord, Store};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use kap_api_types::{
    CreateReplay, DbRp, Link, RecordBatch, RecordQuery, RecordStream, Recording, RecordingList,
    Replay, ReplayBatch, ReplayList, ReplayQuery,
};
use kap_dataflow::alert::{AlertService, InhibitorRegistry, TopicStore};
use kap_dataflow::node::{PointsWriter, Services, WriteTarget};
use kap_dataflow::ops::http_out::HttpOutRegistry;
use kap_dataflow::point::Batch;
use kap_dataflow::point::Point;
use kap_dataflow::runtime::Engine;
use kap_dataflow::runtime::Feed;
use kap_dsl::plan::{Pipeline, TaskType};
use kap_ingest::line_protocol::Precision;
use kap_ingest::recording::RecordedBatch;
use kap_ingest::recording::{SrplWriter, read_srpl};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path as FsPath;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

mod batch;

/// The error of a recording or replay a crash left running.
pub const INTERRUPTED: &str = "interrupted by a restart";

/// Points fed to a replay's dataflow per epoch.
const REPLAY_CHUNK: usize = 256;

/// How long a replay's dataflow may take to drain once its input is closed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);

/// How often a running replay stores its progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// `fast` or `real` from a replay request (empty: `fast`).
fn clock_of(clock: &str) -> Result<&'static str, ApiError> {
    match clock {
        "" | "fast" => Ok("fast"),
        "real" => Ok("real"),
        other => Err(ApiError::bad_request(format!(
            "invalid clock {other:?}: want \"fast\" or \"real\""
        ))),
    }
}

fn task_kind(t: TaskType) -> &'static str {
    match t {
        TaskType::Stream => "stream",
        TaskType::Batch => "batch",
    }
}

const RUNNING: &str = "running";
const FINISHED: &str = "finished";
const FAILED: &str = "failed";

/// Recordings and replays of the daemon.
pub struct ReplayService {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ReplayService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayService")
            .field("dir", &self.shared.dir)
            .finish_non_exhaustive()
    }
}

struct Shared {
    store: Store,
    runtime: Arc<Runtime>,
    dir: PathBuf,
    /// Where replays' alert events go: their inline handlers only, on the alert center's
    /// delivery threads (with its retries), so a replay's `.log()`/`.post()` fire while
    /// live topics and their handlers never see its events.
    alerts: Arc<AlertService>,
    /// Running stream recordings. Lock order: this, then a recorder's state.
    recordings: Mutex<BTreeMap<String, Arc<StreamRecorder>>>,
    /// Running replays and their cancel flags. A replay's record is only written while
    /// holding this lock and while the replay is still here, so a DELETE is final.
    replays: Mutex<BTreeMap<String, Arc<AtomicBool>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn now_ns() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

fn no_recording(id: &str) -> ApiError {
    ApiError::not_found(format!("no recording exists with ID {}", go_quote(id)))
}

fn no_replay(id: &str) -> ApiError {
    ApiError::not_found(format!("no replay exists with ID {}", go_quote(id)))
}

/// The view of a recording record.
pub fn recording_view(r: &RecordingRecord) -> Recording {
    Recording {
        link: Link::self_(format!("/kapacitor/v1/recordings/{}", r.id)),
        id: r.id.clone(),
        kind: r.kind.clone(),
        size: r.size as i64,
        date: rfc3339(&r.date),
        error: r.error.clone(),
        status: r.status.clone(),
        progress: r.progress,
    }
}

/// The view of a replay record.
pub fn replay_view(r: &ReplayRecord) -> Replay {
    Replay {
        link: Link::self_(format!("/kapacitor/v1/replays/{}", r.id)),
        id: r.id.clone(),
        task: r.task.clone(),
        recording: r.recording.clone(),
        recording_time: r.recording_time,
        clock: r.clock.clone(),
        date: rfc3339(&r.date),
        error: r.error.clone(),
        status: r.status.clone(),
        progress: r.progress,
        stats: if r.stats.is_null() {
            serde_json::json!({})
        } else {
            r.stats.clone()
        },
    }
}

/// Which written points a recording or replay keeps: the task's dbrps (any when empty) and
/// `from()` measurements (any when `None`).
#[derive(Debug, Clone, Default)]
struct Filter {
    dbrps: Vec<DbRp>,
    measurements: Option<Vec<String>>,
}

impl Filter {
    fn of_task(plan: &Pipeline, dbrps: Vec<DbRp>) -> Filter {
        Filter {
            dbrps,
            measurements: tasks::measurements(plan),
        }
    }

    fn keeps(&self, db: &str, rp: &str, measurement: &str) -> bool {
        (self.dbrps.is_empty() || self.dbrps.iter().any(|d| d.db == db && d.rp == rp))
            && self
                .measurements
                .as_ref()
                .is_none_or(|ms| ms.iter().any(|m| m == measurement))
    }
}

// ---- stream recordings ----

struct RecState {
    writer: Option<SrplWriter<BufWriter<File>>>,
    error: Option<String>,
    /// Set once the recording is over (wakes the stop timer).
    over: bool,
}

/// A running stream recording: observes every accepted write.
struct StreamRecorder {
    id: String,
    filter: Option<Filter>,
    /// Ends at the first kept point after this time (ns).
    stop: Option<i64>,
    observer: Mutex<u64>,
    state: Mutex<RecState>,
    woken: Condvar,
    shared: std::sync::Weak<Shared>,
}

impl WriteObserver for StreamRecorder {
    fn observe(&self, points: &[Point]) {
        let mut ended = false;
        {
            let mut st = lock(&self.state);
            let RecState { writer, error, .. } = &mut *st;
            let Some(w) = writer.as_mut() else {
                return;
            };
            if error.is_some() {
                return;
            }
            for p in points {
                if let Some(f) = &self.filter
                    && !f.keeps(p.db.as_str(), p.rp.as_str(), p.name.as_str())
                {
                    continue;
                }
                if self.stop.is_some_and(|s| p.time > s) {
                    ended = true;
                    break;
                }
                if let Err(e) = w.write(p.db.as_str(), p.rp.as_str(), &super::write::line_of(p)) {
                    *error = Some(format!("writing the recording: {e}"));
                    ended = true;
                    break;
                }
            }
        }
        if ended && let Some(shared) = self.shared.upgrade() {
            shared.finish_recording(&self.id);
        }
    }
}

impl Shared {
    fn recording_path(&self, id: &str) -> PathBuf {
        self.recording_file(id, "stream")
    }

    /// A recording's file: `<id>.srpl` for stream data, `<id>.brpl` for batches.
    fn recording_file(&self, id: &str, kind: &str) -> PathBuf {
        let ext = if kind == "batch" { "brpl" } else { "srpl" };
        self.dir.join(format!("{id}.{ext}"))
    }

    /// Ends a running stream recording: closes its file and stores it `finished` (or
    /// `failed` with the write error). Does nothing when it is not running.
    fn finish_recording(&self, id: &str) -> Option<RecordingRecord> {
        let mut running = lock(&self.recordings);
        let rec = running.remove(id)?;
        self.runtime.remove_observer(*lock(&rec.observer));
        let (writer, mut error) = {
            let mut st = lock(&rec.state);
            st.over = true;
            (st.writer.take(), st.error.take())
        };
        rec.woken.notify_all();
        if let Some(w) = writer {
            let closed = w.finish().and_then(|mut b| b.flush().map_err(Into::into));
            if let Err(e) = closed
                && error.is_none()
            {
                error = Some(format!("closing the recording: {e}"));
            }
        }
        let size = std::fs::metadata(self.recording_path(id))
            .map(|m| m.len())
            .unwrap_or(0);
        let mut r = self.store.get::<RecordingRecord>(id).ok().flatten()?;
        r.size = size;
        r.progress = 1.0;
        match error {
            Some(e) => {
                r.status = FAILED.into();
                r.error = e;
            }
            None => r.status = FINISHED.into(),
        }
        if let Err(e) = self.store.put(&r) {
            tracing::error!(recording = id, "storing the finished recording: {e}");
        }
        drop(running);
        Some(r)
    }

    /// Stores a replay's record, unless it was deleted meanwhile.
    fn put_replay(&self, r: &ReplayRecord) {
        let running = lock(&self.replays);
        if running.contains_key(&r.id)
            && let Err(e) = self.store.put(r)
        {
            tracing::error!(replay = r.id, "storing the replay: {e}");
        }
    }
}

/// Stops a recording when the wall clock reaches `deadline`, unless it ended before.
fn stop_timer(rec: Arc<StreamRecorder>, deadline: Instant) {
    let mut st = lock(&rec.state);
    loop {
        if st.over {
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        st = rec
            .woken
            .wait_timeout(st, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    drop(st);
    if let Some(shared) = rec.shared.upgrade() {
        shared.finish_recording(&rec.id);
    }
}

// ---- replays ----

/// Replays write `influxDBOut` points to InfluxDB as Kapacitor's do (its replays share the
/// InfluxDB service), and drop `kapacitorLoopback` output, which must not reach the live
/// stream.
#[derive(Debug)]
struct ReplayWriter(Arc<InfluxWriter>);

impl PointsWriter for ReplayWriter {
    fn write(&self, target: &WriteTarget<'_>, points: Vec<Point>) -> Result<(), String> {
        if target.cluster.is_some() {
            return self.0.write(target, points);
        }
        target.counters.wrote(points.len());
        Ok(())
    }
}

/// What a replay needs besides its record.
struct ReplayJob {
    plan: Pipeline,
    source: Source,
    cancel: Arc<AtomicBool>,
}

/// Where a replay's data comes from.
enum Source {
    /// A stream recording, filtered by the task's dbrps and measurements.
    Stream { path: PathBuf, filter: Filter },
    /// Points queried for a stream task (`/replays/query`), in time order.
    Points(Vec<Point>),
    /// A batch recording: entry `i` feeds the task's `i`-th query node.
    BatchFile(PathBuf),
    /// Batches queried for a batch task (`/replays/batch`, `/replays/query`), per query
    /// node in walk order.
    Batches(Vec<Vec<RecordedBatch>>),
}

fn replay_services(runtime: &Runtime, alerts: &Arc<AlertService>) -> Services {
    runtime
        .task_services(
            Arc::new(ReplayWriter(Arc::clone(&runtime.writer))),
            Arc::new(HttpOutRegistry::default()),
            Arc::clone(alerts),
            Arc::new(TopicStore::default()),
            Arc::new(InhibitorRegistry::default()),
        )
        // A replay's UDF agents start fresh and keep no snapshot of the live task's nodes.
        .with(
            kap_dataflow::ops::udf::UDF_SERVICE,
            Arc::clone(&runtime.replay_udfs),
        )
}

/// Reads a stream recording, keeps the points the task subscribes to, and shifts them.
fn recorded_points(
    path: &FsPath,
    filter: &Filter,
    recording_time: bool,
) -> Result<Vec<Point>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("reading the recording {}: {e}", path.display()))?;
    let records = read_srpl(&bytes, Precision::Nanoseconds)
        .map_err(|e| format!("reading the recording {}: {e}", path.display()))?;
    let first = records.iter().find_map(|r| r.point.timestamp).unwrap_or(0);
    let shift = if recording_time { 0 } else { now_ns() - first };
    Ok(records
        .iter()
        .filter(|r| filter.keeps(&r.db, &r.rp, &r.point.measurement))
        .map(|r| {
            let t = r.point.timestamp.unwrap_or(first);
            super::write::point_from_line(&r.db, &r.rp, &r.point, t.saturating_add(shift))
        })
        .collect())
}

/// Batch sources as a replay's input: source `i` feeds the plan's `i`-th query node.
fn batch_input(plan: &Pipeline, sources: &[Vec<RecordedBatch>], recording_time: bool) -> Input {
    let nodes = crate::daemon::batch::query_nodes(plan);
    Input::Batches(
        crate::daemon::batch::replay_order(sources, recording_time, now_ns())
            .into_iter()
            .filter_map(|(i, b)| nodes.get(i).map(|&n| (n, b)))
            .collect(),
    )
}

/// What a replay feeds, in order: points (all to the root) or batches (each to its query
/// node).
enum Input {
    Points(Vec<Point>),
    Batches(Vec<(usize, Batch)>),
}

impl Input {
    fn read(job: &ReplayJob, recording_time: bool) -> Result<Input, String> {
        Ok(match &job.source {
            Source::Stream { path, filter } => {
                Input::Points(recorded_points(path, filter, recording_time)?)
            }
            Source::Points(points) => {
                let first = points.first().map(|p| p.time).unwrap_or(0);
                let shift = if recording_time { 0 } else { now_ns() - first };
                Input::Points(
                    points
                        .iter()
                        .map(|p| {
                            let mut p = p.clone();
                            p.time = p.time.saturating_add(shift);
                            p
                        })
                        .collect(),
                )
            }
            Source::BatchFile(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| format!("reading the recording {}: {e}", path.display()))?;
                let sources = kap_ingest::recording::read_brpl(&bytes)
                    .map_err(|e| format!("reading the recording {}: {e}", path.display()))?;
                batch_input(&job.plan, &sources, recording_time)
            }
            Source::Batches(sources) => batch_input(&job.plan, sources, recording_time),
        })
    }

    fn len(&self) -> usize {
        match self {
            Input::Points(p) => p.len(),
            Input::Batches(b) => b.len(),
        }
    }

    fn time(&self, i: usize) -> i64 {
        match self {
            Input::Points(p) => p[i].time,
            Input::Batches(b) => b[i].1.tmax,
        }
    }

    /// Feeds items `range` as one epoch (batches: one epoch each, as runs are).
    fn feed(&self, engine: &Engine, id: &str, range: std::ops::Range<usize>) -> Result<(), String> {
        match self {
            Input::Points(p) => engine.feed_points(id, p[range].to_vec()),
            Input::Batches(b) => b[range]
                .iter()
                .try_for_each(|(node, batch)| engine.feed_batches(id, *node, vec![batch.clone()])),
        }
        .map_err(|e| format!("feeding the replay: {e}"))
    }
}

fn run_replay(shared: &Shared, rec: &mut ReplayRecord, job: &ReplayJob) -> Result<(), String> {
    let input = Input::read(job, rec.recording_time)?;
    let engine = &shared.runtime.engine;
    let engine_id = format!("replay:{}", rec.id);
    engine
        .install_as(
            &engine_id,
            &rec.task,
            &job.plan,
            replay_services(&shared.runtime, &shared.alerts),
            Feed::Direct,
        )
        .map_err(|e| format!("starting the replay of task {}: {e}", rec.task))?;
    let len = input.len();
    let total = len.max(1);
    let real = rec.clock == "real";
    let started = Instant::now();
    let origin = if len > 0 { input.time(0) } else { 0 };
    let mut last_progress = Instant::now();
    let mut fed = 0usize;
    let chunk = match input {
        Input::Points(_) => REPLAY_CHUNK,
        Input::Batches(_) => 1,
    };
    let outcome = loop {
        if job.cancel.load(Ordering::Relaxed) {
            let _ = engine.remove(&engine_id);
            return Err("replay deleted".into());
        }
        if fed == len {
            break Ok(());
        }
        let n = if real {
            // Everything at the next item's time, once the clock reaches it.
            let t = input.time(fed);
            let due = Duration::from_nanos(t.saturating_sub(origin).max(0) as u64);
            let wait = due.saturating_sub(started.elapsed());
            if !wait.is_zero() {
                std::thread::sleep(wait.min(Duration::from_millis(200)));
                continue;
            }
            (fed..len).take_while(|&i| input.time(i) == t).count()
        } else {
            (len - fed).min(chunk)
        };
        if let Err(e) = input.feed(engine, &engine_id, fed..fed + n) {
            break Err(e);
        }
        fed += n;
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            rec.progress = fed as f64 / total as f64;
            shared.put_replay(rec);
        }
    };
    let closed = engine
        .close_and_drain(&engine_id, DRAIN_TIMEOUT)
        .map_err(|e| format!("running the replay: {e}"));
    // The replayed task's statistics as it ended, for `GET /replays/<id>` and
    // `GET /tasks/<task>?replay-id=<id>` (`kapacitor show -replay`).
    let stats = shared.runtime.task_stats(&engine_id);
    rec.stats = serde_json::to_value(&stats).unwrap_or_default();
    let dot = shared.runtime.dot_stats(&engine_id);
    rec.dot = [
        kap_dsl::dot::DotView::Attributes,
        kap_dsl::dot::DotView::Labels,
    ]
    .map(|view| kap_dsl::dot::render_with_stats(&job.plan, &rec.task, &dot, view));
    let _ = engine.remove(&engine_id);
    outcome?;
    closed
}

impl ReplayService {
    /// Opens the service over the `[replay] dir`, its replays alerting through `services`;
    /// recordings and replays a crash left `running` are marked `failed`.
    pub fn open(
        store: Store,
        runtime: Arc<Runtime>,
        config: &Config,
        handlers: Arc<dyn kap_dataflow::alert::AlertSink>,
    ) -> Result<ReplayService, ApiError> {
        for mut r in store
            .list::<RecordingRecord>()
            .map_err(ApiError::internal)?
        {
            if r.status == RUNNING {
                r.status = FAILED.into();
                r.error = INTERRUPTED.into();
                r.size = std::fs::metadata(config.replay_dir().join(format!("{}.srpl", r.id)))
                    .map(|m| m.len())
                    .unwrap_or(r.size);
                store.put(&r).map_err(ApiError::internal)?;
            }
        }
        for mut r in store.list::<ReplayRecord>().map_err(ApiError::internal)? {
            if r.status == RUNNING {
                r.status = FAILED.into();
                r.error = INTERRUPTED.into();
                store.put(&r).map_err(ApiError::internal)?;
            }
        }
        Ok(ReplayService {
            shared: Arc::new(Shared {
                store,
                runtime,
                dir: config.replay_dir(),
                alerts: Arc::new(AlertService(handlers)),
                recordings: Mutex::new(BTreeMap::new()),
                replays: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    fn pick_id(id: &str, what: &str) -> Result<String, ApiError> {
        let id = if id.is_empty() {
            new_id()
        } else {
            id.to_string()
        };
        if !valid_id(&id) {
            return Err(invalid_id(what, &id));
        }
        Ok(id)
    }

    /// `POST /recordings/stream`: starts recording the live stream for a task (every point
    /// when `task` is empty) until `stop` (until stopped when empty).
    pub fn record_stream(
        &self,
        tasks: &TaskManager,
        opts: RecordStream,
    ) -> Result<Recording, ApiError> {
        let id = Self::pick_id(&opts.id, "recording")?;
        let filter = if opts.task.is_empty() {
            None
        } else {
            let (plan, dbrps) = tasks.plan(&opts.task)?;
            if plan.task_type != TaskType::Stream {
                return Err(ApiError::bad_request(format!(
                    "task {} is a batch task: record it with /recordings/batch",
                    opts.task
                )));
            }
            Some(Filter::of_task(&plan, dbrps))
        };
        let stop = if opts.stop.is_empty() {
            None
        } else {
            Some(
                DateTime::parse_from_rfc3339(&opts.stop)
                    .map_err(|e| {
                        ApiError::bad_request(format!(
                            "invalid stop time {:?}: {e} (want RFC 3339)",
                            opts.stop
                        ))
                    })?
                    .with_timezone(&Utc),
            )
        };
        let shared = &self.shared;
        let mut running = lock(&shared.recordings);
        if running.contains_key(&id)
            || shared
                .store
                .get::<RecordingRecord>(&id)
                .map_err(ApiError::internal)?
                .is_some()
        {
            return Err(ApiError::bad_request(format!(
                "recording {} already exists",
                go_quote(&id)
            )));
        }
        let path = shared.recording_path(&id);
        let file = File::create(&path).map_err(|e| {
            ApiError::internal_msg(format!("creating the recording {}: {e}", path.display()))
        })?;
        let rec = RecordingRecord {
            id: id.clone(),
            kind: "stream".into(),
            size: 0,
            date: Utc::now(),
            error: String::new(),
            status: RUNNING.into(),
            progress: 0.0,
        };
        if let Err(e) = shared.store.put(&rec) {
            let _ = std::fs::remove_file(&path);
            return Err(ApiError::internal(e));
        }
        let recorder = Arc::new(StreamRecorder {
            id: id.clone(),
            filter,
            stop: stop.map(|s| s.timestamp_nanos_opt().unwrap_or(i64::MAX)),
            observer: Mutex::new(0),
            state: Mutex::new(RecState {
                writer: Some(SrplWriter::new(BufWriter::new(file))),
                error: None,
                over: false,
            }),
            woken: Condvar::new(),
            shared: Arc::downgrade(shared),
        });
        running.insert(id.clone(), Arc::clone(&recorder));
        *lock(&recorder.observer) = shared
            .runtime
            .add_observer(Arc::clone(&recorder) as Arc<dyn WriteObserver>);
        drop(running);
        // Ours: a stop still ahead on the wall clock also ends the recording then.
        if let Some(left) = stop.and_then(|s| (s - Utc::now()).to_std().ok()) {
            let r = Arc::clone(&recorder);
            let deadline = Instant::now() + left;
            std::thread::Builder::new()
                .name(format!("recording-{id}"))
                .spawn(move || stop_timer(r, deadline))
                .map_err(ApiError::internal)?;
        }
        Ok(recording_view(&rec))
    }

    /// `POST /recordings/<id>/stop`: ends a running stream recording now; a recording that
    /// is already over is returned as it is.
    pub fn stop_recording(&self, id: &str) -> Result<Recording, ApiError> {
        if let Some(r) = self.shared.finish_recording(id) {
            return Ok(recording_view(&r));
        }
        self.get_recording(id)
    }

    /// `GET /recordings/<id>`.
    pub fn get_recording(&self, id: &str) -> Result<Recording, ApiError> {
        self.shared
            .store
            .get::<RecordingRecord>(id)
            .map_err(ApiError::internal)?
            .map(|r| recording_view(&r))
            .ok_or_else(|| no_recording(id))
    }

    /// `GET /recordings`: sorted by id, filtered by a glob `pattern`.
    pub fn list_recordings(&self, pattern: &str) -> Result<Vec<Recording>, ApiError> {
        let pat = glob::Pattern::new(pattern).ok();
        Ok(self
            .shared
            .store
            .list::<RecordingRecord>()
            .map_err(ApiError::internal)?
            .iter()
            .filter(|r| pattern.is_empty() || pat.as_ref().is_some_and(|p| p.matches(&r.id)))
            .map(recording_view)
            .collect())
    }

    /// `DELETE /recordings/<id>`: stops it if running, deletes its file and record.
    /// Idempotent.
    pub fn delete_recording(&self, id: &str) -> Result<(), ApiError> {
        let shared = &self.shared;
        shared.finish_recording(id);
        let _running = lock(&shared.recordings);
        shared
            .store
            .delete::<RecordingRecord>(id)
            .map_err(ApiError::internal)?;
        for ext in ["srpl", "brpl"] {
            let path = shared.dir.join(format!("{id}.{ext}"));
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(ApiError::internal_msg(format!(
                        "deleting {}: {e}",
                        path.display()
                    )));
                }
            }
        }
        Ok(())
    }

    /// `POST /replays`: replays a finished recording into a task, in the background.
    pub fn create_replay(
        &self,
        tasks: &TaskManager,
        opts: CreateReplay,
    ) -> Result<Replay, ApiError> {
        let id = Self::pick_id(&opts.id, "replay")?;
        let clock = clock_of(&opts.clock)?;
        let shared = &self.shared;
        let recording = shared
            .store
            .get::<RecordingRecord>(&opts.recording)
            .map_err(ApiError::internal)?
            .ok_or_else(|| no_recording(&opts.recording))?;
        let (plan, dbrps) = tasks.plan(&opts.task)?;
        if recording.status != FINISHED {
            return Err(ApiError::bad_request(format!(
                "recording {} is {}, not finished: it cannot be replayed",
                go_quote(&recording.id),
                recording.status
            )));
        }
        let source = match (recording.kind.as_str(), plan.task_type) {
            ("stream", TaskType::Stream) => Source::Stream {
                path: shared.recording_file(&recording.id, "stream"),
                filter: Filter::of_task(&plan, dbrps),
            },
            ("batch", TaskType::Batch) => {
                Source::BatchFile(shared.recording_file(&recording.id, "batch"))
            }
            (kind, _) => {
                return Err(ApiError::bad_request(format!(
                    "cannot replay {kind} recording {} into {} task {}",
                    recording.id,
                    task_kind(plan.task_type),
                    opts.task
                )));
            }
        };
        self.start_replay(
            id,
            &opts.task,
            &recording.id,
            opts.recording_time,
            clock,
            plan,
            source,
        )
    }

    /// Records and runs a replay of `plan` (task `task`) from `source`, in the background.
    #[allow(clippy::too_many_arguments)]
    fn start_replay(
        &self,
        id: String,
        task: &str,
        recording: &str,
        recording_time: bool,
        clock: &str,
        plan: Pipeline,
        source: Source,
    ) -> Result<Replay, ApiError> {
        let shared = &self.shared;
        let mut running = lock(&shared.replays);
        if running.contains_key(&id)
            || shared
                .store
                .get::<ReplayRecord>(&id)
                .map_err(ApiError::internal)?
                .is_some()
        {
            return Err(ApiError::bad_request(format!(
                "replay {} already exists",
                go_quote(&id)
            )));
        }
        let mut rec = ReplayRecord {
            id: id.clone(),
            task: task.to_string(),
            recording: recording.to_string(),
            recording_time,
            clock: clock.into(),
            date: Utc::now(),
            error: String::new(),
            status: RUNNING.into(),
            progress: 0.0,
            stats: serde_json::Value::Null,
            dot: Default::default(),
        };
        shared.store.put(&rec).map_err(ApiError::internal)?;
        let cancel = Arc::new(AtomicBool::new(false));
        running.insert(id.clone(), Arc::clone(&cancel));
        drop(running);
        let view = replay_view(&rec);
        let job = ReplayJob {
            plan,
            source,
            cancel,
        };
        let bg = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name(format!("replay-{id}"))
            .spawn(move || {
                let outcome = run_replay(&bg, &mut rec, &job);
                let mut running = lock(&bg.replays);
                if running.remove(&rec.id).is_none() {
                    return;
                }
                match outcome {
                    Ok(()) => {
                        rec.status = FINISHED.into();
                        rec.progress = 1.0;
                    }
                    Err(e) => {
                        tracing::warn!(replay = rec.id, "replay failed: {e}");
                        rec.status = FAILED.into();
                        rec.error = e;
                    }
                }
                if let Err(e) = bg.store.put(&rec) {
                    tracing::error!(replay = rec.id, "storing the replay: {e}");
                }
            });
        if let Err(e) = spawned {
            lock(&shared.replays).remove(&id);
            let _ = shared.store.delete::<ReplayRecord>(&id);
            return Err(ApiError::internal(e));
        }
        Ok(view)
    }

    /// `GET /replays/<id>`.
    pub fn get_replay(&self, id: &str) -> Result<Replay, ApiError> {
        self.shared
            .store
            .get::<ReplayRecord>(id)
            .map_err(ApiError::internal)?
            .map(|r| replay_view(&r))
            .ok_or_else(|| no_replay(id))
    }

    /// The statistics and DOT (`labels`: as labels) of replay `id` when it ended, and the
    /// task it replayed into.
    pub fn replay_stats(
        &self,
        id: &str,
        labels: bool,
    ) -> Result<(String, serde_json::Value, String), ApiError> {
        let r = self
            .shared
            .store
            .get::<ReplayRecord>(id)
            .map_err(ApiError::internal)?
            .ok_or_else(|| no_replay(id))?;
        let [attributes, as_labels] = r.dot;
        Ok((r.task, r.stats, if labels { as_labels } else { attributes }))
    }

    /// `GET /replays`: sorted by id, filtered by a glob `pattern`.
    pub fn list_replays(&self, pattern: &str) -> Result<Vec<Replay>, ApiError> {
        let pat = glob::Pattern::new(pattern).ok();
        Ok(self
            .shared
            .store
            .list::<ReplayRecord>()
            .map_err(ApiError::internal)?
            .iter()
            .filter(|r| pattern.is_empty() || pat.as_ref().is_some_and(|p| p.matches(&r.id)))
            .map(replay_view)
            .collect())
    }

    /// `DELETE /replays/<id>`: a running replay is cancelled. Idempotent.
    pub fn delete_replay(&self, id: &str) -> Result<(), ApiError> {
        let mut running = lock(&self.shared.replays);
        if let Some(cancel) = running.remove(id) {
            cancel.store(true, Ordering::Relaxed);
        }
        self.shared
            .store
            .delete::<ReplayRecord>(id)
            .map_err(ApiError::internal)?;
        Ok(())
    }

    /// Waits until no replay is running (tests and shutdown), up to `timeout`.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !lock(&self.shared.replays).is_empty() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

// ---- HTTP ----

type St = State<Arc<Daemon>>;

/// The routes of recordings and replays (under `/kapacitor/v1`).
pub fn routes() -> Router<Arc<Daemon>> {
    Router::new()
        .route("/recordings", get(list_recordings))
        .route("/recordings/stream", post(record_stream))
        .route("/recordings/batch", post(record_batch))
        .route("/recordings/query", post(record_query))
        .route(
            "/recordings/{id}",
            get(get_recording)
                .delete(delete_recording)
                .patch(patch_recording),
        )
        .route("/recordings/{id}/stop", post(stop_recording))
        .route("/replays", get(list_replays).post(create_replay))
        .route("/replays/batch", post(replay_batch))
        .route("/replays/query", post(replay_query))
        .route("/replays/{id}", get(get_replay).delete(delete_replay))
}

fn status_of(status: &str) -> StatusCode {
    if status == RUNNING {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    }
}

async fn list_recordings(State(d): St, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = super::http::Query::parse(q.as_deref());
    let pattern = q.get("pattern").unwrap_or("").to_string();
    let all = blocking(move || d.replays.list_recordings(&pattern)).await?;
    Ok(Json(RecordingList {
        recordings: page(all, &q)?,
    })
    .into_response())
}

async fn record_stream(State(d): St, bytes: Bytes) -> Result<Response, ApiError> {
    let opts: RecordStream = body(&bytes)?;
    let r = blocking(move || d.replays.record_stream(&d.tasks, opts)).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

async fn record_batch(State(d): St, bytes: Bytes) -> Result<Response, ApiError> {
    let opts: RecordBatch = body(&bytes)?;
    let r = blocking(move || d.replays.record_batch(&d.tasks, opts)).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

async fn record_query(State(d): St, bytes: Bytes) -> Result<Response, ApiError> {
    let opts: RecordQuery = body(&bytes)?;
    let r = blocking(move || d.replays.record_query(opts)).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

async fn get_recording(State(d): St, Path(id): Path<String>) -> Result<Response, ApiError> {
    let r = blocking(move || d.replays.get_recording(&id)).await?;
    Ok((status_of(&r.status), Json(r)).into_response())
}

async fn delete_recording(State(d): St, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    blocking(move || d.replays.delete_recording(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn stop_recording(State(d): St, Path(id): Path<String>) -> Result<Response, ApiError> {
    let r = blocking(move || d.replays.stop_recording(&id)).await?;
    Ok(Json(r).into_response())
}

/// Ours: `PATCH /recordings/<id>` with `{"status": "stopped"}` is the same as
/// `POST /recordings/<id>/stop`.
async fn patch_recording(
    State(d): St,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    #[derive(serde::Deserialize)]
    struct Patch {
        #[serde(default)]
        status: String,
    }
    let p: Patch = body(&bytes)?;
    if !matches!(p.status.as_str(), "stopped" | "finished") {
        return Err(ApiError::bad_request(format!(
            "a recording can only be patched with {{\"status\": \"stopped\"}}, not {:?}",
            p.status
        )));
    }
    let r = blocking(move || d.replays.stop_recording(&id)).await?;
    Ok(Json(r).into_response())
}

async fn list_replays(State(d): St, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = super::http::Query::parse(q.as_deref());
    let pattern = q.get("pattern").unwrap_or("").to_string();
    let all = blocking(move || d.replays.list_replays(&pattern)).await?;
    Ok(Json(ReplayList {
        replays: page(all, &q)?,
    })
    .into_response())
}

async fn create_replay(State(d): St, bytes: Bytes) -> Result<Response, ApiError> {
    let opts: CreateReplay = body(&bytes)?;
    let r = blocking(move || d.replays.create_replay(&d.tasks, opts)).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

async fn replay_batch(State(d): St, bytes: Bytes) -> Result<Response, ApiError> {
    let opts: ReplayBatch = body(&bytes)?;
    let r = blocking(move || d.replays.replay_batch(&d.tasks, opts)).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

async fn replay_query(State(d): St, bytes: Bytes) -> Result<Response, ApiError> {
    let opts: ReplayQuery = body(&bytes)?;
    let r = blocking(move || d.replays.replay_query(&d.tasks, opts)).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

async fn get_replay(State(d): St, Path(id): Path<String>) -> Result<Response, ApiError> {
    let r = blocking(move || d.replays.get_replay(&id)).await?;
    Ok((status_of(&r.status), Json(r)).into_response())
}

async fn delete_replay(State(d): St, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    blocking(move || d.replays.delete_replay(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_keeps_task_dbrps_and_measurements() {
        let f = Filter {
            dbrps: vec![DbRp {
                db: "mydb".into(),
                rp: "myrp".into(),
            }],
            measurements: Some(vec!["test".into()]),
        };
        assert!(f.keeps("mydb", "myrp", "test"));
        assert!(!f.keeps("mydb", "autogen", "test"));
        assert!(!f.keeps("mydb", "myrp", "other"));
        let any = Filter::default();
        assert!(any.keeps("x", "y", "z"));
    }
}
