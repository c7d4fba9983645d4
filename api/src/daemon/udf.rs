//! User-defined functions (`[udf.functions.<name>]`), as Kapacitor runs them: an agent
//! speaking Kapacitor's UDF protocol ([`kap_ingest::udf`]) over a child process's
//! stdin/stdout (`prog`, `args`, `env`; its stderr is logged) or over a unix socket
//! (`socket`).
//!
//! At start the daemon asks each UDF's agent for its info (what it wants and provides, its
//! options): scripts are checked against it (`@name()` and its `.option(values)`), and a
//! UDF whose agent does not answer keeps the daemon from starting, as in Kapacitor. Each
//! task node that calls a UDF gets its own agent, initialized with the node's options
//! ([`UdfService::start`]); the node hands it points or batches and emits its answers.
//! Every `[task] snapshot-interval` a live task node's agent is asked for a snapshot of its
//! state, kept in the store; an agent started for that node later (after a restart, a
//! disable and enable) is restored from it. Replays neither restore nor keep snapshots, and
//! deleting a task deletes its snapshots.

use crate::config::{UdfConfig, UdfFunctionConfig};
use crate::store::{Store, TaskSnapshotRecord};
use anyhow::Context as _;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use kap_dataflow::ops::udf::{Received, UdfAgent, UdfService, Wake};
use kap_dataflow::point::{
    Batch, BatchPoint, Dimensions, FieldValue, Fields, Msg, Point, Str, Sym, Tags,
};
use kap_dsl::registry::EdgeType;
use kap_dsl::value::{Value, ValueType};
use kap_ingest::udf::{self as proto, Request, Response};
use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, BufWriter, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The UDFs of `[udf.functions]`, with the info their agents gave at start.
#[derive(Debug, Default, Clone)]
pub struct UdfFunctions {
    functions: Arc<BTreeMap<String, (UdfFunctionConfig, proto::Info)>>,
    /// Where live task nodes' snapshots are kept, and how often they are taken.
    snapshots: Option<(Store, Duration)>,
}

impl UdfFunctions {
    /// Asks every UDF's agent for its info; `Err` names the UDF that does not answer.
    pub fn load(config: &UdfConfig) -> anyhow::Result<UdfFunctions> {
        let mut functions = BTreeMap::new();
        for (name, f) in &config.functions {
            let info = info_of(name, f).with_context(|| format!("[udf.functions.{name}]"))?;
            tracing::info!(udf = %name, wants = ?info.wants, provides = ?info.provides, "UDF loaded");
            functions.insert(name.clone(), (f.clone(), info));
        }
        Ok(UdfFunctions {
            functions: Arc::new(functions),
            snapshots: None,
        })
    }

    /// These UDFs with their agents' snapshots taken every `interval` (none when zero) and
    /// kept in `store`, and agents restored from them when they start.
    pub fn with_snapshots(mut self, store: Store, interval: Duration) -> UdfFunctions {
        self.snapshots = (!interval.is_zero()).then_some((store, interval));
        self
    }

    /// These UDFs without snapshots: a replay neither restores nor keeps the live task's.
    pub fn without_snapshots(&self) -> UdfFunctions {
        UdfFunctions {
            functions: Arc::clone(&self.functions),
            snapshots: None,
        }
    }

    /// The snapshot kept for node `node` of task `task`.
    fn stored_snapshot(&self, task: &str, node: &str) -> Option<Vec<u8>> {
        use base64::Engine as _;
        let (store, _) = self.snapshots.as_ref()?;
        let key = format!("{}{node}", TaskSnapshotRecord::prefix(task));
        match store.get::<TaskSnapshotRecord>(&key) {
            Ok(r) => r.and_then(|r| {
                base64::engine::general_purpose::STANDARD
                    .decode(r.data)
                    .map_err(|e| tracing::error!(task, node, "UDF snapshot unreadable: {e}"))
                    .ok()
            }),
            Err(e) => {
                tracing::error!(task, node, "reading the UDF snapshot: {e}");
                None
            }
        }
    }

    /// What scripts are checked against: each UDF's edges and options.
    pub fn infos(&self) -> BTreeMap<String, kap_dsl::UdfInfo> {
        let edge = |e: proto::EdgeKind| match e {
            proto::EdgeKind::Stream => EdgeType::Stream,
            proto::EdgeKind::Batch => EdgeType::Batch,
        };
        let ty = |t: &proto::ValueType| match t {
            proto::ValueType::Bool => ValueType::Bool,
            proto::ValueType::Int => ValueType::Int,
            proto::ValueType::Double => ValueType::Float,
            proto::ValueType::String => ValueType::String,
            proto::ValueType::Duration => ValueType::Duration,
        };
        self.functions
            .iter()
            .map(|(name, (_, info))| {
                (
                    name.clone(),
                    kap_dsl::UdfInfo {
                        wants: edge(info.wants),
                        provides: edge(info.provides),
                        options: info
                            .options
                            .iter()
                            .map(|(k, v)| (k.clone(), v.iter().map(ty).collect()))
                            .collect(),
                    },
                )
            })
            .collect()
    }
}

/// Starts `f`'s agent and asks for its info.
fn info_of(name: &str, f: &UdfFunctionConfig) -> anyhow::Result<proto::Info> {
    let mut conn = Connection::open(name, f, None).map_err(anyhow::Error::msg)?;
    conn.send(&Request::Info).map_err(anyhow::Error::msg)?;
    let info = match conn.answer(f.timeout, "info")? {
        Response::Info(info) => info,
        other => anyhow::bail!("the agent answered the info request with {other:?}"),
    };
    Ok(info)
}

impl UdfService for UdfFunctions {
    fn start(
        &self,
        udf: &str,
        task: &str,
        node: &str,
        options: &[(String, Vec<Value>)],
        wake: Wake,
    ) -> Result<Box<dyn UdfAgent>, String> {
        let (f, _) = self
            .functions
            .get(udf)
            .ok_or_else(|| format!("no UDF {udf:?} in [udf.functions]"))?;
        let mut options_out = Vec::with_capacity(options.len());
        for (k, values) in options {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::Bool(b) => proto::OptionValue::Bool(*b),
                    Value::Int(n) => proto::OptionValue::Int(*n),
                    Value::Float(x) => proto::OptionValue::Double(*x),
                    Value::String(s) => proto::OptionValue::String(s.clone()),
                    Value::Duration(d) => proto::OptionValue::Duration(*d),
                    other => return Err(format!("option {k}: a UDF takes no {other:?}")),
                });
            }
            options_out.push((k.clone(), out));
        }
        let mut conn = Connection::open(udf, f, Some(wake))?;
        conn.send(&Request::Init(proto::Init {
            options: options_out,
            task_id: task.to_string(),
            node_id: node.to_string(),
        }))?;
        match conn
            .answer(f.timeout, "init")
            .map_err(|e| format!("{e:#}"))?
        {
            Response::Init { success: true, .. } => {}
            Response::Init { error, .. } => return Err(format!("init failed: {error}")),
            other => {
                return Err(format!(
                    "the agent answered the init request with {other:?}"
                ));
            }
        }
        // The node's last snapshot, if any, as Kapacitor restores a task's at its start.
        if let Some(snapshot) = self.stored_snapshot(task, node) {
            conn.send(&Request::Restore(snapshot))?;
            match conn
                .answer(f.timeout, "restore")
                .map_err(|e| format!("{e:#}"))?
            {
                Response::Restore { success: true, .. } => {
                    tracing::info!(task, node, udf, "UDF restored from its snapshot");
                }
                Response::Restore { error, .. } => {
                    return Err(format!("restoring its snapshot failed: {error}"));
                }
                other => {
                    return Err(format!(
                        "the agent answered the restore request with {other:?}"
                    ));
                }
            }
        }
        Ok(Box::new(Agent {
            conn,
            batch: None,
            timeout: f.timeout,
            keepalive_sent: Instant::now(),
            awaiting: None,
        }))
    }

    fn timeout(&self, udf: &str) -> Duration {
        self.functions
            .get(udf)
            .map_or(Duration::from_secs(10), |(f, _)| f.timeout)
    }

    fn snapshot_interval(&self) -> Option<Duration> {
        self.snapshots.as_ref().map(|(_, every)| *every)
    }

    fn save_snapshot(&self, task: &str, node: &str, snapshot: Vec<u8>) {
        use base64::Engine as _;
        let Some((store, _)) = &self.snapshots else {
            return;
        };
        let record = TaskSnapshotRecord {
            task: task.to_string(),
            node: node.to_string(),
            data: base64::engine::general_purpose::STANDARD.encode(snapshot),
        };
        if let Err(e) = store.put(&record) {
            tracing::error!(task, node, "keeping the UDF snapshot: {e}");
        }
    }
}

/// An agent's input and output, and its process or socket.
type Transport = (
    Box<dyn Write + Send>,
    Box<dyn std::io::Read + Send>,
    Option<Child>,
    Option<UnixStream>,
);

/// A connection to an agent: the requests' writer and the decoded responses.
struct Connection {
    name: String,
    /// `None` once the input is closed.
    writer: Option<BufWriter<Box<dyn Write + Send>>>,
    responses: Receiver<Result<Response, String>>,
    child: Option<Child>,
    socket: Option<UnixStream>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Starts the agent's program, or connects to its socket; `wake` is called after
    /// each answer is read.
    fn open(name: &str, f: &UdfFunctionConfig, wake: Option<Wake>) -> Result<Connection, String> {
        let (writer, reader, child, socket): Transport = if f.socket.is_empty() {
            let mut child = Command::new(&f.prog)
                .args(&f.args)
                .envs(&f.env)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("starting {}: {e}", f.prog))?;
            let (Some(stdin), Some(stdout), Some(stderr)) =
                (child.stdin.take(), child.stdout.take(), child.stderr.take())
            else {
                let _ = child.kill();
                return Err("the agent's pipes are missing".into());
            };
            let udf = name.to_string();
            let _ = std::thread::Builder::new()
                .name(format!("udf-{name}-stderr"))
                .spawn(move || {
                    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                        tracing::info!(udf = %udf, "UDF log: {line}");
                    }
                });
            (Box::new(stdin), Box::new(stdout), Some(child), None)
        } else {
            let stream = UnixStream::connect(&f.socket)
                .map_err(|e| format!("connecting to {}: {e}", f.socket))?;
            let reader = stream.try_clone().map_err(|e| e.to_string())?;
            let writer = stream.try_clone().map_err(|e| e.to_string())?;
            (Box::new(writer), Box::new(reader), None, Some(stream))
        };
        let (tx, rx) = crossbeam_channel::unbounded();
        let udf = name.to_string();
        std::thread::Builder::new()
            .name(format!("udf-{name}"))
            .spawn(move || {
                let mut reader = BufReader::new(reader);
                loop {
                    let sent = match proto::read_frame(&mut reader) {
                        Ok(Some(frame)) => tx.send(Response::decode(&frame)),
                        Ok(None) => {
                            // The node learns the agent is done.
                            drop(tx);
                            if let Some(w) = &wake {
                                w();
                            }
                            return;
                        }
                        Err(e) => tx.send(Err(format!("reading from the agent: {e}"))),
                    };
                    if sent.is_err() {
                        return;
                    }
                    if let Some(w) = &wake {
                        w();
                    }
                }
            })
            .map_err(|e| format!("UDF {udf}: {e}"))?;
        Ok(Connection {
            name: name.to_string(),
            writer: Some(BufWriter::new(writer)),
            responses: rx,
            child,
            socket,
        })
    }

    /// Writes requests and flushes them.
    fn send_all(&mut self, requests: &[Request]) -> Result<(), String> {
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| "the agent's input is closed".to_string())?;
        for r in requests {
            proto::write_frame(w, &r.encode()).map_err(|e| format!("writing to the agent: {e}"))?;
        }
        w.flush().map_err(|e| format!("writing to the agent: {e}"))
    }

    fn send(&mut self, request: &Request) -> Result<(), String> {
        self.send_all(std::slice::from_ref(request))
    }

    /// The answer to a management request, within `timeout` (keepalives skipped).
    fn answer(&mut self, timeout: Duration, what: &str) -> anyhow::Result<Response> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.responses.recv_timeout(left) {
                Ok(Ok(Response::Keepalive(_))) => {}
                Ok(Ok(Response::Error(e))) => anyhow::bail!("the agent failed: {e}"),
                Ok(Ok(r)) => return Ok(r),
                Ok(Err(e)) => anyhow::bail!("{e}"),
                Err(RecvTimeoutError::Timeout) => {
                    anyhow::bail!("no answer to the {what} request within {timeout:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    anyhow::bail!("the agent exited{}", self.exit_status())
                }
            }
        }
    }

    /// `" with status N"` when the agent process ended so.
    fn exit_status(&mut self) -> String {
        let Some(child) = self.child.as_mut() else {
            return String::new();
        };
        // Its output ended: it is exiting, give it a moment.
        for _ in 0..50 {
            if let Ok(Some(status)) = child.try_wait() {
                return format!(" ({status})");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        String::new()
    }

    /// Closes the agent's input.
    fn close(&mut self) {
        if let Some(mut w) = self.writer.take() {
            let _ = w.flush();
        }
        if let Some(s) = &self.socket {
            let _ = s.shutdown(std::net::Shutdown::Write);
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.writer = None;
        if let Some(s) = &self.socket {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A task node's agent.
#[derive(Debug)]
struct Agent {
    conn: Connection,
    /// The batch the agent is sending: its begin and points so far.
    batch: Option<(proto::BeginBatch, Vec<BatchPoint>)>,
    /// `timeout`: a keepalive request goes out every half of it, and an agent that does
    /// not answer one within it has failed (Kapacitor's keepalive).
    timeout: Duration,
    keepalive_sent: Instant,
    /// When the unanswered keepalive request went out.
    awaiting: Option<Instant>,
}

impl Agent {
    /// Sends a keepalive request when one is due; `Err` when the last one went
    /// unanswered for `timeout`.
    fn keepalive(&mut self) -> Result<(), String> {
        if let Some(sent) = self.awaiting {
            if sent.elapsed() > self.timeout {
                return Err(format!(
                    "keepalive timed out: no answer within {:?}",
                    self.timeout
                ));
            }
            return Ok(());
        }
        if self.conn.writer.is_some() && self.keepalive_sent.elapsed() >= self.timeout / 2 {
            let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
            self.conn.send(&Request::Keepalive(now))?;
            self.keepalive_sent = Instant::now();
            self.awaiting = Some(self.keepalive_sent);
        }
        Ok(())
    }
}

impl UdfAgent for Agent {
    fn send(&mut self, msg: &Msg) -> Result<(), String> {
        match msg {
            Msg::Point(p) => self.conn.send(&Request::Point(point_out(p))),
            Msg::Batch(b) => {
                let group = b.group_string();
                let dims: Vec<String> = b
                    .dims
                    .tag_names
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect();
                let tags = tag_map(&b.tags);
                let mut requests = Vec::with_capacity(b.points.len() + 2);
                requests.push(Request::Begin(proto::BeginBatch {
                    name: b.name.as_str().to_string(),
                    group: group.clone(),
                    tags: tags.clone(),
                    size: b.points.len() as i64,
                    by_name: b.dims.by_name,
                }));
                for bp in &b.points {
                    let mut p = fields_out(&bp.fields);
                    p.time = bp.time;
                    p.name = b.name.as_str().to_string();
                    p.group = group.clone();
                    p.dimensions = dims.clone();
                    p.tags = tag_map(&bp.tags);
                    p.by_name = b.dims.by_name;
                    requests.push(Request::Point(p));
                }
                requests.push(Request::End(proto::EndBatch {
                    name: b.name.as_str().to_string(),
                    group,
                    tmax: b.tmax,
                    tags,
                    by_name: b.dims.by_name,
                }));
                self.conn.send_all(&requests)
            }
            _ => Ok(()),
        }
    }

    fn recv(&mut self, wait: Duration) -> Received {
        if let Err(e) = self.keepalive() {
            return Received::Ended(Some(e));
        }
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // A zero wait still takes an answer already there.
            let response = match self.conn.responses.recv_timeout(left) {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => return Received::Ended(Some(e)),
                Err(RecvTimeoutError::Timeout) => return Received::Nothing,
                Err(RecvTimeoutError::Disconnected) => {
                    // After its input closed, an agent exits; before, it died.
                    if self.conn.writer.is_none() {
                        return Received::Ended(None);
                    }
                    let status = self.conn.exit_status();
                    return Received::Ended(Some(format!("the agent exited{status}")));
                }
            };
            match response {
                Response::Point(p) => match &mut self.batch {
                    Some((_, points)) => {
                        let fields = fields_in(&p);
                        points.push(BatchPoint {
                            time: p.time,
                            fields,
                            tags: tags_in(&p.tags),
                        });
                    }
                    None => return Received::Msg(Msg::Point(point_in(p))),
                },
                Response::Begin(b) => {
                    let n = usize::try_from(b.size).unwrap_or(0).min(1 << 16);
                    self.batch = Some((b, Vec::with_capacity(n)));
                }
                Response::End(e) => {
                    let points = self.batch.take().map(|(_, p)| p).unwrap_or_default();
                    return Received::Msg(Msg::Batch(batch_in(e, points)));
                }
                Response::Error(e) => {
                    return Received::Ended(Some(format!("the agent failed: {e}")));
                }
                Response::Keepalive(_) => self.awaiting = None,
                Response::Snapshot(snapshot) => return Received::Snapshot(snapshot),
                // A restore answer comes at start, an info answer never here.
                _ => {}
            }
        }
    }

    fn close(&mut self) {
        self.conn.close();
    }

    fn snapshot(&mut self) -> Result<(), String> {
        self.conn.send(&Request::Snapshot)
    }
}

fn tag_map(tags: &Tags) -> BTreeMap<String, String> {
    tags.iter()
        .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
        .collect()
}

/// A point's fields in the protocol's four maps (a field without a value is left out).
fn fields_out(fields: &Fields) -> proto::Point {
    let mut p = proto::Point::default();
    for (k, v) in fields {
        let k = k.as_str().to_string();
        match v {
            FieldValue::Float(x) => {
                p.fields_double.insert(k, *x);
            }
            FieldValue::Int(n) => {
                p.fields_int.insert(k, *n);
            }
            FieldValue::String(s) => {
                p.fields_string.insert(k, s.to_string());
            }
            FieldValue::Bool(b) => {
                p.fields_bool.insert(k, *b);
            }
            FieldValue::Null => {}
        }
    }
    p
}

fn point_out(p: &Point) -> proto::Point {
    let mut out = fields_out(&p.fields);
    out.time = p.time;
    out.name = p.name.as_str().to_string();
    out.database = p.db.as_str().to_string();
    out.retention_policy = p.rp.as_str().to_string();
    out.group = p.group_string();
    out.dimensions = p
        .dims
        .tag_names
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    out.tags = tag_map(&p.tags);
    out.by_name = p.dims.by_name;
    out
}

fn tags_in(tags: &BTreeMap<String, String>) -> Tags {
    // Sorted by the map already, as points keep them.
    tags.iter()
        .map(|(k, v)| (Sym::new(k), Sym::new(v)))
        .collect()
}

fn fields_in(p: &proto::Point) -> Fields {
    let mut fields: Fields = Fields::default();
    for (k, v) in &p.fields_double {
        fields.push((Sym::new(k), FieldValue::Float(*v)));
    }
    for (k, v) in &p.fields_int {
        fields.push((Sym::new(k), FieldValue::Int(*v)));
    }
    for (k, v) in &p.fields_string {
        fields.push((Sym::new(k), FieldValue::String(Str::from(v.as_str()))));
    }
    for (k, v) in &p.fields_bool {
        fields.push((Sym::new(k), FieldValue::Bool(*v)));
    }
    kap_dataflow::point::normalize(&mut fields);
    fields
}

/// A point the agent sent, grouped by its dimensions.
fn point_in(p: proto::Point) -> Point {
    let fields = fields_in(&p);
    let mut point = Point::new(&p.name, tags_in(&p.tags), fields, p.time)
        .in_db(&p.database, &p.retention_policy);
    let mut dims: Vec<Sym> = p.dimensions.iter().map(|d| Sym::new(d)).collect();
    dims.sort();
    point.dims = Dimensions::new(p.by_name, dims);
    point.regroup();
    point
}

/// A batch the agent sent: grouped by its tags, as Kapacitor groups a UDF's batches.
fn batch_in(end: proto::EndBatch, points: Vec<BatchPoint>) -> Batch {
    let tags = tags_in(&end.tags);
    let dims = Dimensions::of_keys(end.by_name, tags.iter().map(|(k, _)| *k));
    let mut b = Batch {
        name: Sym::new(&end.name),
        tmax: end.tmax,
        tags,
        dims,
        group: Default::default(),
        points,
    };
    b.regroup();
    b
}
