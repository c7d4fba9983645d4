//! `record`, `start-recording`, `stop-recording` and `replay`.

use super::{parse_go_duration, progress, time_from_now};
use crate::client::{Client, Context, Failure, path_escape};
use kap_api_types::{
    CreateReplay, RecordBatch, RecordQuery, RecordStream, Recording, RecordingList, Replay,
    ReplayBatch, ReplayQuery,
};
use std::time::Duration;

/// Arguments of `record stream|batch|query`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// What to record.
    #[arg(value_parser = ["stream", "batch", "query"])]
    pub kind: String,
    /// The task (positional form: `record batch TASK` records its latest schedule window).
    #[arg(value_name = "TASK")]
    pub task_pos: Option<String>,
    /// The task whose data is recorded.
    #[arg(long)]
    pub task: Option<String>,
    /// stream: how long to record (`1m`, `30s`).
    #[arg(long)]
    pub duration: Option<String>,
    /// Print the recording id without waiting for the recording to finish.
    #[arg(long = "no-wait")]
    pub no_wait: bool,
    /// The recording id (generated when not given).
    #[arg(long = "recording-id")]
    pub recording_id: Option<String>,
    /// batch: start time (RFC 3339).
    #[arg(long)]
    pub start: Option<String>,
    /// batch: stop time (RFC 3339; default now).
    #[arg(long)]
    pub stop: Option<String>,
    /// batch: record from now minus this duration until now.
    #[arg(long)]
    pub past: Option<String>,
    /// query (and `stream --host`): the InfluxQL query.
    #[arg(long)]
    pub query: Option<String>,
    /// query: the recording's type.
    #[arg(long = "type", value_parser = ["stream", "batch"])]
    pub query_type: Option<String>,
    /// query, batch: the InfluxDB cluster name.
    #[arg(long)]
    pub cluster: Option<String>,
    /// stream with --query: the InfluxDB URL to query.
    #[arg(long)]
    pub host: Option<String>,
}

/// Arguments of `start-recording`.
#[derive(Debug, clap::Args)]
pub struct StartRecordingArgs {
    /// Record the data of this task only (default: every point written to the daemon).
    #[arg(long)]
    pub task: Option<String>,
    /// The recording id (generated when not given).
    #[arg(long)]
    pub id: Option<String>,
}

/// Arguments of `stop-recording`.
#[derive(Debug, clap::Args)]
pub struct StopRecordingArgs {
    /// The recording to stop (default: the most recent running stream recording).
    pub id: Option<String>,
}

/// Arguments of `replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The recording (positional form `replay RECORDING TASK`).
    #[arg(value_name = "RECORDING")]
    pub recording_pos: Option<String>,
    /// The task (positional form).
    #[arg(value_name = "TASK")]
    pub task_pos: Option<String>,
    /// The recording to replay.
    #[arg(long)]
    pub recording: Option<String>,
    /// The task to replay into.
    #[arg(long)]
    pub task: Option<String>,
    /// How the replay runs.
    #[command(flatten)]
    pub how: ReplayHow,
}

/// Arguments of `replay-live batch|query`.
#[derive(Debug, clap::Args)]
pub struct ReplayLiveArgs {
    /// What to replay: a batch task's queries over a range, or one query's result.
    #[arg(value_parser = ["batch", "query"])]
    pub kind: String,
    /// The task to replay into.
    #[arg(long)]
    pub task: Option<String>,
    /// batch: start time (RFC 3339).
    #[arg(long)]
    pub start: Option<String>,
    /// batch: stop time (RFC 3339; default now).
    #[arg(long)]
    pub stop: Option<String>,
    /// batch: from now minus this duration until now.
    #[arg(long)]
    pub past: Option<String>,
    /// query: the InfluxQL query.
    #[arg(long)]
    pub query: Option<String>,
    /// query: the InfluxDB cluster name.
    #[arg(long)]
    pub cluster: Option<String>,
    /// How the replay runs.
    #[command(flatten)]
    pub how: ReplayHow,
}

/// The flags of every replay: `-rec-time`, `-real-clock`, `-no-wait`, `-replay-id`.
#[derive(Debug, clap::Args)]
pub struct ReplayHow {
    /// Keep the recorded (or queried) times instead of shifting them to now.
    #[arg(long = "rec-time")]
    pub rec_time: bool,
    /// Replay in real time instead of as fast as possible.
    #[arg(long = "real-clock")]
    pub real_clock: bool,
    /// Print the replay id without waiting for the replay to finish.
    #[arg(long = "no-wait")]
    pub no_wait: bool,
    /// The replay id (generated when not given).
    #[arg(long = "replay-id")]
    pub replay_id: Option<String>,
}

impl ReplayHow {
    fn clock(&self) -> String {
        if self.real_clock { "real" } else { "fast" }.into()
    }

    fn id(&self) -> String {
        self.replay_id.clone().unwrap_or_default()
    }
}

/// `-past D` (now minus `D` until now) or `-start S [-stop E]` (until now by default) as
/// RFC 3339 start and stop; `None` when neither is given.
fn range_flags(
    cmd: &str,
    past: &Option<String>,
    start: &Option<String>,
    stop: &Option<String>,
) -> Result<Option<(String, String)>, Failure> {
    match (past, start) {
        (Some(_), Some(_)) => Err(Failure::usage(format!(
            "{cmd}: give either -past or -start, not both"
        ))),
        (Some(_), None) if stop.is_some() => Err(Failure::usage(format!(
            "{cmd}: -past runs until now; -stop does not apply"
        ))),
        (Some(p), None) => Ok(Some((
            time_from_now(duration_flag("-past", p)?, true),
            time_from_now(Duration::ZERO, false),
        ))),
        (None, Some(s)) => Ok(Some((
            rfc3339_flag("-start", s)?,
            match stop {
                Some(s) => rfc3339_flag("-stop", s)?,
                None => time_from_now(Duration::ZERO, false),
            },
        ))),
        (None, None) if stop.is_some() => Err(Failure::usage(format!("{cmd}: -stop needs -start"))),
        (None, None) => Ok(None),
    }
}

fn duration_flag(flag: &str, v: &str) -> Result<Duration, Failure> {
    parse_go_duration(v).ok_or_else(|| {
        Failure::usage(format!(
            "invalid {flag} {v:?}: expected a duration such as 30s, 5m or 1h30m"
        ))
    })
}

fn rfc3339_flag(flag: &str, v: &str) -> Result<String, Failure> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|_| v.to_string())
        .map_err(|e| {
            Failure::usage(format!(
                "invalid {flag} {v:?}: {e} (expected RFC 3339, e.g. 2026-01-02T15:04:05Z)"
            ))
        })
}

/// `record stream|batch|query`: POST the recording, then poll it unless `-no-wait`, and
/// print its id.
pub(crate) fn record(c: &Client, a: &RecordArgs) -> Result<(), Failure> {
    let task = match (&a.task, &a.task_pos) {
        (Some(_), Some(_)) => {
            return Err(Failure::usage(
                "give the task either with -task or as an argument",
            ));
        }
        (Some(t), None) | (None, Some(t)) => Some(t.clone()),
        (None, None) => None,
    };
    let id = a.recording_id.clone().unwrap_or_default();
    let rec: Recording = match a.kind.as_str() {
        "stream" if a.query.is_some() || a.host.is_some() => {
            let Some(query) = &a.query else {
                return Err(Failure::usage("record stream --host URL needs --query"));
            };
            if task.is_some() || a.duration.is_some() {
                return Err(Failure::usage(
                    "record stream --query records the query's result; -task and -duration do not apply",
                ));
            }
            let body = RecordQuery {
                id,
                query: query.clone(),
                kind: "stream".into(),
                cluster: a.cluster.clone().unwrap_or_default(),
                host: a.host.clone().unwrap_or_default(),
            };
            c.send("POST", "/recordings/query", &body)
                .context("record stream")?
        }
        "stream" => {
            let Some(task) = task else {
                return Err(Failure::usage("record stream: -task is required"));
            };
            let Some(d) = &a.duration else {
                return Err(Failure::usage("record stream: -duration is required"));
            };
            let d = duration_flag("-duration", d)?;
            let body = RecordStream {
                id,
                task: task.clone(),
                stop: time_from_now(d, false),
            };
            c.send("POST", "/recordings/stream", &body)
                .context(format!("record stream of task {task:?}"))?
        }
        "batch" => {
            let Some(task) = task else {
                return Err(Failure::usage("record batch: -task is required"));
            };
            let mut body = RecordBatch {
                id,
                task: task.clone(),
                cluster: a.cluster.clone().unwrap_or_default(),
                ..RecordBatch::default()
            };
            if let Some((start, stop)) = range_flags("record batch", &a.past, &a.start, &a.stop)? {
                body.start = start;
                body.stop = stop;
            }
            c.send("POST", "/recordings/batch", &body)
                .context(format!("record batch of task {task:?}"))?
        }
        _ => {
            let Some(query) = &a.query else {
                return Err(Failure::usage("record query: -query is required"));
            };
            let Some(kind) = &a.query_type else {
                return Err(Failure::usage(
                    "record query: -type stream|batch is required",
                ));
            };
            if task.is_some() {
                return Err(Failure::usage("record query: -task does not apply"));
            }
            let body = RecordQuery {
                id,
                query: query.clone(),
                kind: kind.clone(),
                cluster: a.cluster.clone().unwrap_or_default(),
                host: a.host.clone().unwrap_or_default(),
            };
            c.send("POST", "/recordings/query", &body)
                .context("record query")?
        }
    };
    if a.no_wait {
        println!("{}", rec.id);
        return Ok(());
    }
    let rec = wait_recording(c, rec)?;
    println!("{}", rec.id);
    Ok(())
}

/// Polls a recording every 500 ms until it is no longer running; a failed recording is an
/// error.
fn wait_recording(c: &Client, mut rec: Recording) -> Result<Recording, Failure> {
    let what = format!("recording {:?}", rec.id);
    let link = if rec.link.href.is_empty() {
        format!("/recordings/{}", path_escape(&rec.id))
    } else {
        rec.link.href.clone()
    };
    while rec.status == "running" {
        progress(&what, rec.progress, false);
        std::thread::sleep(Duration::from_millis(500));
        let resp = c.call("GET", &link, None::<&()>).context(&what)?;
        rec = crate::client::decode(&resp).context(&what)?;
    }
    progress(&what, 1.0, true);
    if rec.status == "failed" {
        return Err(Failure::command(format!("{what} failed: {}", rec.error)));
    }
    Ok(rec)
}

/// `start-recording [--task T] [--id ID]`: an open-ended stream recording.
pub(crate) fn start_recording(c: &Client, a: &StartRecordingArgs) -> Result<(), Failure> {
    let body = RecordStream {
        id: a.id.clone().unwrap_or_default(),
        task: a.task.clone().unwrap_or_default(),
        stop: String::new(),
    };
    let rec: Recording = c
        .send("POST", "/recordings/stream", &body)
        .context("start recording")?;
    println!("RecordingID={}", rec.id);
    Ok(())
}

/// `stop-recording [ID]`: `POST /recordings/<id>/stop`; without an id, the most recent
/// running stream recording.
pub(crate) fn stop_recording(c: &Client, a: &StopRecordingArgs) -> Result<(), Failure> {
    let id = match &a.id {
        Some(id) => id.clone(),
        None => {
            let list: RecordingList = c.get("/recordings").context("stop recording")?;
            let latest = list
                .recordings
                .into_iter()
                .filter(|r| r.status == "running" && r.kind == "stream")
                .max_by(|x, y| {
                    let px = chrono::DateTime::parse_from_rfc3339(&x.date).ok();
                    let py = chrono::DateTime::parse_from_rfc3339(&y.date).ok();
                    px.cmp(&py)
                });
            match latest {
                Some(r) => r.id,
                None => {
                    return Err(Failure::command(
                        "stop recording: no stream recording is running",
                    ));
                }
            }
        }
    };
    let rec: Recording = c
        .send_empty_json("POST", &format!("/recordings/{}/stop", path_escape(&id)))
        .context(format!("stop recording {id:?}"))?;
    println!(
        "RecordingID={}",
        if rec.id.is_empty() { &id } else { &rec.id }
    );
    Ok(())
}

/// `replay RECORDING TASK` or `replay -recording R -task T`: POST the replay, poll it unless
/// `-no-wait`, and print its id.
pub(crate) fn replay(c: &Client, a: &ReplayArgs) -> Result<(), Failure> {
    let pick = |flag: &Option<String>, pos: &Option<String>, name: &str| match (flag, pos) {
        (Some(_), Some(_)) => Err(Failure::usage(format!(
            "replay: give the {name} either with -{name} or as an argument"
        ))),
        (Some(v), None) | (None, Some(v)) => Ok(v.clone()),
        (None, None) => Err(Failure::usage(format!(
            "replay: the {name} is required (replay RECORDING TASK, or -recording R -task T)"
        ))),
    };
    let recording = pick(&a.recording, &a.recording_pos, "recording")?;
    let task = pick(&a.task, &a.task_pos, "task")?;
    let body = CreateReplay {
        id: a.how.id(),
        recording: recording.clone(),
        task: task.clone(),
        recording_time: a.how.rec_time,
        clock: a.how.clock(),
    };
    let what = format!("replay recording {recording:?} into task {task:?}");
    let rep: Replay = c.send("POST", "/replays", &body).context(&what)?;
    finish_replay(c, rep, a.how.no_wait, &what)
}

/// `replay-live batch -task T (-start S [-stop E] | -past D)` and
/// `replay-live query -task T -query Q`: the queries run now and their result is replayed
/// into the task without a recording.
pub(crate) fn replay_live(c: &Client, a: &ReplayLiveArgs) -> Result<(), Failure> {
    let Some(task) = a.task.clone() else {
        return Err(Failure::usage(format!(
            "replay-live {}: -task is required",
            a.kind
        )));
    };
    let id = a.how.id();
    let clock = a.how.clock();
    let (path, what, body) = if a.kind == "batch" {
        if a.query.is_some() {
            return Err(Failure::usage(
                "replay-live batch: -query belongs to replay-live query",
            ));
        }
        let Some((start, stop)) = range_flags("replay-live batch", &a.past, &a.start, &a.stop)?
        else {
            return Err(Failure::usage(
                "replay-live batch: -start or -past is required",
            ));
        };
        let body = ReplayBatch {
            id,
            task: task.clone(),
            start,
            stop,
            recording_time: a.how.rec_time,
            clock,
            cluster: a.cluster.clone().unwrap_or_default(),
        };
        (
            "/replays/batch",
            format!("replay-live batch into task {task:?}"),
            serde_json::to_value(body),
        )
    } else {
        let Some(query) = a.query.clone() else {
            return Err(Failure::usage("replay-live query: -query is required"));
        };
        if a.start.is_some() || a.stop.is_some() || a.past.is_some() {
            return Err(Failure::usage(
                "replay-live query: -start, -stop and -past belong to replay-live batch",
            ));
        }
        let body = ReplayQuery {
            id,
            task: task.clone(),
            query,
            cluster: a.cluster.clone().unwrap_or_default(),
            recording_time: a.how.rec_time,
            clock,
        };
        (
            "/replays/query",
            format!("replay-live query into task {task:?}"),
            serde_json::to_value(body),
        )
    };
    let body = body.map_err(|e| Failure::command(e.to_string()))?;
    let rep: Replay = c.send("POST", path, &body).context(&what)?;
    finish_replay(c, rep, a.how.no_wait, &what)
}

/// Prints a replay's id, after polling it to its end unless `no_wait`.
fn finish_replay(c: &Client, mut rep: Replay, no_wait: bool, what: &str) -> Result<(), Failure> {
    if no_wait {
        println!("{}", rep.id);
        return Ok(());
    }
    let link = if rep.link.href.is_empty() {
        format!("/replays/{}", path_escape(&rep.id))
    } else {
        rep.link.href.clone()
    };
    let label = format!("replay {:?}", rep.id);
    while rep.status == "running" {
        progress(&label, rep.progress, false);
        std::thread::sleep(Duration::from_millis(500));
        let resp = c.call("GET", &link, None::<&()>).context(what)?;
        rep = crate::client::decode(&resp).context(what)?;
    }
    progress(&label, 1.0, true);
    println!("{}", rep.id);
    if rep.status == "failed" {
        return Err(Failure::command(format!("{what}: {}", rep.error)));
    }
    Ok(())
}
