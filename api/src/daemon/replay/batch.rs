//! Recordings and replays of InfluxDB data: `record batch` (a batch task's queries over a
//! time range), `record query` (any InfluxQL query, kept as stream or batch data),
//! replays of batch recordings, and replay-live (`/replays/batch`, `/replays/query`: the
//! same queries replayed at once, without a recording).

use super::*;
use crate::daemon::batch::{QueryPlan, decode_batches, recorded};
use kap_dsl::schedule::Schedule;
use kap_influxdb::{Client, ClientConfig, Query};
use kap_ingest::recording::write_brpl;

fn plan_dbrps(dbrps: &[DbRp]) -> Vec<kap_dsl::plan::DbRp> {
    dbrps
        .iter()
        .map(|d| kap_dsl::plan::DbRp {
            db: d.db.clone(),
            rp: d.rp.clone(),
        })
        .collect()
}

/// The most recent tick at or before `now` (the seed's bare `record batch TASK`): `now`
/// truncated to `every` with `.align()`, else `now` itself (a cron's or an unaligned
/// ticker's latest tick depends on when the task started; `now` is the freshest window).
fn latest_tick(s: &Schedule, now: i64) -> i64 {
    match s {
        Schedule::Every { every, align: true } => kap_dsl::schedule::go_truncate(now, *every),
        _ => now,
    }
}

/// The database and retention policy of a query's first `FROM` source: `db.rp.m`,
/// `db..m` (no rp), `rp.m` (no db) or `m` (neither); quoted parts may hold dots.
fn source_dbrp(query: &str) -> (Option<String>, Option<String>) {
    let b = query.as_bytes();
    let mut i = 0;
    let mut from = None;
    // The first FROM outside quotes, as a whole word.
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'/') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            _ if b.len() - i >= 4
                && query[i..i + 4].eq_ignore_ascii_case("from")
                && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
                && b.get(i + 4)
                    .is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'_') =>
            {
                from = Some(i + 4);
                break;
            }
            _ => i += 1,
        }
    }
    let Some(mut i) = from else {
        return (None, None);
    };
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let mut parts = vec![String::new()];
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    if let Some(p) = parts.last_mut() {
                        p.push(b[i] as char);
                    }
                    i += 1;
                }
                i += 1;
            }
            b'.' => {
                parts.push(String::new());
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                if let Some(p) = parts.last_mut() {
                    p.push(c as char);
                }
                i += 1;
            }
            _ => break,
        }
    }
    let some = |s: &String| (!s.is_empty()).then(|| s.clone());
    match parts.as_slice() {
        [db, rp, _] => (some(db), some(rp)),
        [rp, _] => (None, some(rp)),
        _ => (None, None),
    }
}

fn parse_time(what: &str, s: &str) -> Result<i64, ApiError> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .ok_or_else(|| ApiError::bad_request(format!("invalid {what} time {s:?}: want RFC 3339")))
}

/// The `[start, stop]` of a request: `start` required unless `latest` is allowed (then an
/// empty start means "the most recent schedule window"); `stop` defaults to now.
fn time_range(start: &str, stop: &str) -> Result<Option<(i64, i64)>, ApiError> {
    if start.is_empty() {
        return Ok(None);
    }
    let start = parse_time("start", start)?;
    let stop = if stop.is_empty() {
        now_ns()
    } else {
        parse_time("stop", stop)?
    };
    if stop < start {
        return Err(ApiError::bad_request(
            "stop time is before start time".into(),
        ));
    }
    Ok(Some((start, stop)))
}

/// Runs every query node's queries for `range` (each node's schedule grid over it, as
/// Kapacitor's `Queries(start, stop)`), or for its most recent schedule window when `range`
/// is `None`. One source per node, in walk order.
fn query_sources(
    plans: &[QueryPlan],
    range: Option<(i64, i64)>,
) -> Result<Vec<Vec<RecordedBatch>>, String> {
    let now = now_ns();
    let mut sources = Vec::with_capacity(plans.len());
    for p in plans {
        let ranges = match range {
            Some((start, stop)) => p.schedule.ranges(&p.spec, start, stop, now),
            None => vec![kap_dsl::schedule::run_range(
                &p.spec,
                latest_tick(&p.schedule, now),
            )],
        };
        let mut batches = Vec::new();
        for (start, stop) in ranges {
            let got = p.run(start, stop).map_err(|e| format!("{}: {e}", p.name))?;
            batches.extend(got.iter().map(recorded));
        }
        sources.push(batches);
    }
    Ok(sources)
}

/// The client a `record query` / `replay-live query` asks: `host` (ours, the seed's
/// `record stream --host URL`), else the named (or default) cluster.
fn query_client(shared: &Shared, cluster: &str, host: &str) -> Result<Client, ApiError> {
    if !host.is_empty() {
        return Client::new(ClientConfig {
            name: host.to_string(),
            urls: vec![host.to_string()],
            timeout: Duration::from_secs(60),
            ..ClientConfig::default()
        })
        .map_err(|e| ApiError::bad_request(format!("invalid host {host:?}: {e}")));
    }
    shared
        .runtime
        .batch
        .clusters()
        .client(cluster)
        .map_err(ApiError::bad_request)
}

/// The result of a raw query as batches: one per series, batch time = its last row's.
fn raw_batches(client: &Client, query: &str) -> Result<Vec<Batch>, String> {
    let q = Query {
        command: query.to_string(),
        database: String::new(),
        retention_policy: String::new(),
        epoch: Some("ns".into()),
        chunked: false,
        chunk_size: 0,
    };
    client
        .query_with(&q, |bytes| decode_batches(bytes, false, true, 0))
        .map_err(|e| e.to_string())
}

/// Batches as stream points of `db`/`rp`, in time order.
fn stream_points(batches: Vec<Batch>, db: &str, rp: &str) -> Vec<Point> {
    let mut points: Vec<Point> = batches
        .into_iter()
        .flat_map(|b| {
            let name = b.name;
            b.points.into_iter().map(move |bp| {
                let mut p = Point {
                    name,
                    db: kap_dataflow::point::Sym::new(db),
                    rp: kap_dataflow::point::Sym::new(rp),
                    tags: bp.tags,
                    fields: bp.fields,
                    time: bp.time,
                    dims: Default::default(),
                    group: Default::default(),
                };
                p.regroup();
                p
            })
        })
        .collect();
    points.sort_by_key(|p| p.time);
    points
}

impl ReplayService {
    fn new_recording(&self, id: &str, kind: &str) -> Result<RecordingRecord, ApiError> {
        let shared = &self.shared;
        let running = lock(&shared.recordings);
        if running.contains_key(id)
            || shared
                .store
                .get::<RecordingRecord>(id)
                .map_err(ApiError::internal)?
                .is_some()
        {
            return Err(ApiError::bad_request(format!(
                "recording {} already exists",
                go_quote(id)
            )));
        }
        let rec = RecordingRecord {
            id: id.to_string(),
            kind: kind.into(),
            size: 0,
            date: Utc::now(),
            error: String::new(),
            status: RUNNING.into(),
            progress: 0.0,
        };
        shared.store.put(&rec).map_err(ApiError::internal)?;
        Ok(rec)
    }

    /// Runs `work` in the background and stores recording `rec` finished (with the file
    /// `work` wrote) or failed.
    fn finish_in_background(
        &self,
        mut rec: RecordingRecord,
        work: impl FnOnce(&FsPath) -> Result<(), String> + Send + 'static,
    ) -> Result<Recording, ApiError> {
        let view = recording_view(&rec);
        let bg = Arc::clone(&self.shared);
        std::thread::Builder::new()
            .name(format!("recording-{}", rec.id))
            .spawn(move || {
                let path = bg.recording_file(&rec.id, &rec.kind);
                match work(&path) {
                    Ok(()) => {
                        rec.status = FINISHED.into();
                        rec.size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    }
                    Err(e) => {
                        tracing::warn!(recording = rec.id, "recording failed: {e}");
                        let _ = std::fs::remove_file(&path);
                        rec.status = FAILED.into();
                        rec.error = e;
                    }
                }
                rec.progress = 1.0;
                // A recording deleted meanwhile stays deleted.
                let _running = lock(&bg.recordings);
                if matches!(bg.store.get::<RecordingRecord>(&rec.id), Ok(Some(_)))
                    && let Err(e) = bg.store.put(&rec)
                {
                    tracing::error!(recording = rec.id, "storing the recording: {e}");
                }
            })
            .map_err(ApiError::internal)?;
        Ok(view)
    }

    /// `POST /recordings/batch`: records a batch task's queries over `[start, stop]`
    /// (`stop` defaults to now; without `start`, the most recent schedule window).
    pub fn record_batch(
        &self,
        tasks: &TaskManager,
        opts: RecordBatch,
    ) -> Result<Recording, ApiError> {
        let id = Self::pick_id(&opts.id, "recording")?;
        let (plan, dbrps) = tasks.plan(&opts.task)?;
        if plan.task_type != TaskType::Batch {
            return Err(ApiError::bad_request(format!(
                "task {} is a stream task: record it with /recordings/stream",
                opts.task
            )));
        }
        let range = time_range(&opts.start, &opts.stop)?;
        let mut plans = self
            .shared
            .runtime
            .batch
            .plans(&plan, &plan_dbrps(&dbrps))
            .map_err(ApiError::bad_request)?;
        if !opts.cluster.is_empty() {
            let client = self
                .shared
                .runtime
                .batch
                .clusters()
                .client(&opts.cluster)
                .map_err(ApiError::bad_request)?;
            for p in &mut plans {
                p.client = client.clone();
            }
        }
        let rec = self.new_recording(&id, "batch")?;
        self.finish_in_background(rec, move |path| {
            let sources = query_sources(&plans, range)?;
            write_brpl_file(path, &sources)
        })
    }

    /// `POST /recordings/query`: records the result of an InfluxQL query as stream points
    /// (`type: stream`, with the database and retention policy its `FROM` names) or as
    /// batches (`type: batch`).
    pub fn record_query(&self, opts: RecordQuery) -> Result<Recording, ApiError> {
        let id = Self::pick_id(&opts.id, "recording")?;
        let kind = match opts.kind.as_str() {
            "stream" | "batch" => opts.kind.clone(),
            other => {
                return Err(ApiError::bad_request(format!(
                    "invalid recording type {other:?}: want \"stream\" or \"batch\""
                )));
            }
        };
        if opts.query.trim().is_empty() {
            return Err(ApiError::bad_request("a query is required".into()));
        }
        let client = query_client(&self.shared, &opts.cluster, &opts.host)?;
        let (db, rp) = source_dbrp(&opts.query);
        let rec = self.new_recording(&id, &kind)?;
        let query = opts.query;
        self.finish_in_background(rec, move |path| {
            let batches = raw_batches(&client, &query)?;
            if kind == "batch" {
                let sources = vec![batches.iter().map(recorded).collect::<Vec<_>>()];
                return write_brpl_file(path, &sources);
            }
            let file =
                File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
            let mut w = SrplWriter::new(BufWriter::new(file));
            let (db, rp) = (db.unwrap_or_default(), rp.unwrap_or_default());
            for p in stream_points(batches, &db, &rp) {
                w.write(&db, &rp, &super::super::write::line_of(&p))
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
            }
            w.finish()
                .and_then(|mut b| b.flush().map_err(Into::into))
                .map_err(|e| format!("writing {}: {e}", path.display()))
        })
    }

    /// `POST /replays/batch` (replay-live): runs a batch task's queries over the range and
    /// replays the result into the task at once, without a recording.
    pub fn replay_batch(&self, tasks: &TaskManager, opts: ReplayBatch) -> Result<Replay, ApiError> {
        let id = Self::pick_id(&opts.id, "replay")?;
        let clock = clock_of(&opts.clock)?;
        let (plan, dbrps) = tasks.plan(&opts.task)?;
        if plan.task_type != TaskType::Batch {
            return Err(ApiError::bad_request(format!(
                "task {} is a stream task: replay-live batch needs a batch task",
                opts.task
            )));
        }
        let range = time_range(&opts.start, &opts.stop)?;
        let plans = self
            .shared
            .runtime
            .batch
            .plans(&plan, &plan_dbrps(&dbrps))
            .map_err(ApiError::bad_request)?;
        let sources = query_sources(&plans, range).map_err(ApiError::bad_request)?;
        self.start_replay(
            id,
            &opts.task,
            "",
            opts.recording_time,
            clock,
            plan,
            Source::Batches(sources),
        )
    }

    /// `POST /replays/query` (replay-live): runs a query and replays its result into the
    /// task at once: as batches into a batch task, as points into a stream task.
    pub fn replay_query(&self, tasks: &TaskManager, opts: ReplayQuery) -> Result<Replay, ApiError> {
        let id = Self::pick_id(&opts.id, "replay")?;
        let clock = clock_of(&opts.clock)?;
        let (plan, dbrps) = tasks.plan(&opts.task)?;
        let client = query_client(&self.shared, &opts.cluster, "")?;
        let batches = raw_batches(&client, &opts.query).map_err(ApiError::bad_request)?;
        let source = match plan.task_type {
            TaskType::Batch => Source::Batches(vec![batches.iter().map(recorded).collect()]),
            TaskType::Stream => {
                let (db, rp) = source_dbrp(&opts.query);
                let filter = Filter::of_task(&plan, dbrps);
                let (db, rp) = (db.unwrap_or_default(), rp.unwrap_or_default());
                Source::Points(
                    stream_points(batches, &db, &rp)
                        .into_iter()
                        .filter(|p| filter.keeps(&db, &rp, p.name.as_str()))
                        .collect(),
                )
            }
        };
        self.start_replay(id, &opts.task, "", opts.recording_time, clock, plan, source)
    }
}

fn write_brpl_file(path: &FsPath, sources: &[Vec<RecordedBatch>]) -> Result<(), String> {
    let file = File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    write_brpl(BufWriter::new(file), sources)
        .and_then(|mut w| w.flush().map_err(Into::into))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::source_dbrp;

    #[test]
    fn sources_name_their_database_and_retention_policy() {
        let s = |db: &str, rp: &str| (Some(db.to_string()), Some(rp.to_string()));
        assert_eq!(source_dbrp("SELECT v FROM db.rp.cpu"), s("db", "rp"));
        assert_eq!(
            source_dbrp("select \"from\" from \"my.db\".\"autogen\".\"cpu\" where x = 'from'"),
            s("my.db", "autogen")
        );
        assert_eq!(
            source_dbrp("SELECT v FROM db..cpu"),
            (Some("db".into()), None)
        );
        assert_eq!(
            source_dbrp("SELECT v FROM rp.cpu"),
            (None, Some("rp".into()))
        );
        assert_eq!(source_dbrp("SELECT v FROM cpu"), (None, None));
    }
}
