//! The node contract: every TICKscript node runs as a [`Processor`], a synchronous state
//! machine over [`Msg`]s with its per-group state inside. Processors know nothing of timely:
//! the executor ([`crate::exec`]) and the timely runtime drive them, and everything with an
//! effect outside the task (alert handlers, httpOut endpoints, writes to InfluxDB, logs,
//! HTTP posts, the wall clock) goes through the injected [`Services`].

use crate::point::{Msg, Point};
use kap_dsl::plan::TaskType;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Wall-clock time source (ns since the Unix epoch). Injected so tests and replays control it.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, in ns.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0)
    }
}

/// Where the log node and node errors write (the daemon routes this to its logger).
pub trait LogSink: Send + Sync + fmt::Debug {
    /// One log line at `level` (`DEBUG`, `INFO`, `WARN`, `ERROR`) in logfmt.
    fn log(&self, level: &str, line: &str);
}

/// A log sink that drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullLog;

impl LogSink for NullLog {
    fn log(&self, _: &str, _: &str) {}
}

/// Where and how `influxDBOut` / `kapacitorLoopback` points are written.
#[derive(Debug, Clone, Copy)]
pub struct WriteTarget<'a> {
    /// The InfluxDB cluster (`.cluster()`, empty = the default one) for influxDBOut; `None`
    /// for kapacitorLoopback, which writes into Kapacitor's own stream.
    pub cluster: Option<&'a str>,
    /// Database.
    pub database: &'a str,
    /// Retention policy (empty = the database's default).
    pub retention_policy: &'a str,
    /// `.precision()` (`ns`, `u`, `ms`, `s`, `m`, `h`; empty = nanoseconds).
    pub precision: &'a str,
    /// `.writeConsistency()` (InfluxDB Enterprise; empty = the server's default).
    pub consistency: &'a str,
    /// Where the writer counts the outcome, possibly later and from another thread.
    pub counters: &'a Arc<WriteCounters>,
}

/// Outcome of writes, counted by the [`PointsWriter`] once points are really written (or
/// an attempt fails), and shown as the node's `points_written` / `write_errors`.
#[derive(Debug, Default)]
pub struct WriteCounters {
    /// Points written.
    pub written: AtomicI64,
    /// Failed write attempts.
    pub errors: AtomicI64,
}

impl WriteCounters {
    /// Counts `n` points written.
    pub fn wrote(&self, n: usize) {
        self.written.fetch_add(n as i64, Ordering::Relaxed);
    }

    /// Counts one failed write attempt.
    pub fn failed(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Receives points written by `influxDBOut` and `kapacitorLoopback`.
pub trait PointsWriter: Send + Sync + fmt::Debug {
    /// Accepts `points` for `target`. A writer that writes later (with retries) returns
    /// `Ok` at once and counts the outcome in `target.counters`; a synchronous one counts
    /// before returning. `Err` means refused now; the caller counts that error.
    fn write(&self, target: &WriteTarget<'_>, points: Vec<Point>) -> Result<(), String>;
}

/// A writer that accepts, counts and drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullWriter;

impl PointsWriter for NullWriter {
    fn write(&self, target: &WriteTarget<'_>, points: Vec<Point>) -> Result<(), String> {
        target.counters.wrote(points.len());
        Ok(())
    }
}

/// Everything a node may need from outside the task.
#[derive(Clone)]
pub struct Services {
    /// Wall clock (barrier, stats, deadman, `now()`).
    pub clock: Arc<dyn Clock>,
    /// Log output.
    pub log: Arc<dyn LogSink>,
    /// influxDBOut / kapacitorLoopback output.
    pub points: Arc<dyn PointsWriter>,
    /// Extension services by name (alert topics and handlers, httpOut registry, HTTP
    /// client, sideload sources…): each node module defines the trait it needs and looks
    /// its service up here with [`Services::get`].
    pub extensions: BTreeMap<&'static str, Arc<dyn std::any::Any + Send + Sync>>,
}

impl fmt::Debug for Services {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Services")
            .field("clock", &self.clock)
            .field("extensions", &self.extensions.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Default for Services {
    fn default() -> Services {
        Services {
            clock: Arc::new(SystemClock),
            log: Arc::new(NullLog),
            points: Arc::new(NullWriter),
            extensions: BTreeMap::new(),
        }
    }
}

impl Services {
    /// Registers an extension service under `name`.
    pub fn with<T: std::any::Any + Send + Sync>(
        mut self,
        name: &'static str,
        service: Arc<T>,
    ) -> Services {
        self.extensions.insert(name, service);
        self
    }

    /// The extension service registered under `name`, if it has type `T`.
    pub fn get<T: std::any::Any + Send + Sync>(&self, name: &str) -> Option<Arc<T>> {
        self.extensions
            .get(name)
            .and_then(|s| Arc::clone(s).downcast::<T>().ok())
    }
}

/// Name of the [`StageWaker`] service.
pub const STAGE_WAKER: &str = "stage_waker";

/// Wakes the stage (timely operator) a node runs in, from any thread: a node whose
/// messages arrive from outside (a UDF's agent) has its timer run at once instead of at
/// the next tick. Registered per stage under [`STAGE_WAKER`]; set once the stage exists.
#[derive(Default)]
pub struct StageWaker(std::sync::Mutex<Option<Box<dyn Fn() + Send + Sync>>>);

impl fmt::Debug for StageWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StageWaker").finish_non_exhaustive()
    }
}

impl StageWaker {
    /// Sets how to wake the stage.
    pub fn set(&self, wake: Box<dyn Fn() + Send + Sync>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(wake);
    }

    /// Wakes the stage (nothing before it is set).
    pub fn wake(&self) {
        if let Some(w) = self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            w();
        }
    }
}

/// Per-node counters, shown in `kapacitor show` and the DOT of an executing task.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeStats {
    /// Errors (a message was dropped or could not be handled).
    pub errors: u64,
    /// Node-specific counters (`alerts_triggered`, `fields_defaulted`…), by name.
    pub counters: BTreeMap<&'static str, i64>,
}

impl NodeStats {
    /// Adds `n` to the counter `name`.
    pub fn add(&mut self, name: &'static str, n: i64) {
        *self.counters.entry(name).or_insert(0) += n;
    }
}

/// What a processor sees while handling a message.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Task id.
    pub task: &'a str,
    /// Node name (`window2`).
    pub node: &'a str,
    /// Injected services.
    pub services: &'a Services,
    /// This node's counters.
    pub stats: &'a mut NodeStats,
}

impl Ctx<'_> {
    /// Counts an error and logs it (unless the node is quiet).
    pub fn error(&mut self, quiet: bool, message: &str) {
        self.stats.errors += 1;
        if !quiet {
            self.services.log.log(
                "ERROR",
                &format!("task={} node={} err={message:?}", self.task, self.node),
            );
        }
    }
}

/// Static facts a processor is built with.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// Task id.
    pub task: String,
    /// Node name (`window2`).
    pub node: String,
    /// Node id in the plan.
    pub node_id: usize,
    /// Number of parents (join/union have several).
    pub inputs: usize,
    /// Stream or batch task.
    pub task_type: TaskType,
    /// Whether the node's input edge carries batches.
    pub batch_input: bool,
    /// Injected services (for nodes that keep a handle at build time).
    pub services: Services,
}

/// A running node.
pub trait Processor: Send {
    /// Handles one message arriving from parent number `input` (0 unless the node has
    /// several parents), appending what it emits to `out`.
    fn process(&mut self, input: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>);

    /// Whether every message this node emits is the message it received, changed or not,
    /// or nothing: such a node implements [`Processor::process_in_place`], and a chunk
    /// passes through it without moving its messages.
    fn in_place(&self) -> bool {
        false
    }

    /// Handles one message in place, for a node whose [`Processor::in_place`] is true:
    /// returns whether the message (as changed here) goes on. Must do what
    /// [`Processor::process`] does. The executor calls it only on such nodes; the default
    /// panics (a broken contract, counted as the node's error like any panic).
    fn process_in_place(&mut self, input: usize, msg: &mut Msg, ctx: &mut Ctx<'_>) -> bool {
        let _ = (input, msg, ctx);
        unreachable!("process_in_place called on a node that does not handle messages in place")
    }

    /// Handles a run of messages in place, in order, for a node whose
    /// [`Processor::in_place`] is true: pushes to `kept`, for each message, whether it goes
    /// on ([`Processor::process_in_place`]'s answer). The default calls
    /// [`Processor::process_in_place`] once per message, statically: one call through the
    /// node's vtable per run instead of per message. After a panic the executor calls again
    /// with the messages after the one that panicked (`kept` tells how far it got).
    fn process_in_place_run(
        &mut self,
        input: usize,
        msgs: &mut [Msg],
        kept: &mut Vec<bool>,
        ctx: &mut Ctx<'_>,
    ) {
        for m in msgs {
            let keep = self.process_in_place(input, m, ctx);
            kept.push(keep);
        }
    }

    /// Whether this node handles a chunk by reference ([`Processor::process_refs`]): its
    /// messages stay where they are and the executor drops them after, instead of moving
    /// each into a [`Processor::process`] call.
    fn by_ref(&self) -> bool {
        false
    }

    /// Handles `msgs` in order, by reference, for a node whose [`Processor::by_ref`] is
    /// true: calls `emits.at(j)` before handling `msgs[j]`, emits through `emits`, and
    /// leaves the messages to the executor (it may take parts of them, such as a point's
    /// tags and fields). Must do for each message what [`Processor::process`] does, and
    /// warms its own state ([`Processor::warm`] is not called). A panic loses only the
    /// message being handled: the executor calls again with the messages after it.
    fn process_refs(
        &mut self,
        input: usize,
        msgs: &mut [Msg],
        ctx: &mut Ctx<'_>,
        emits: &mut Emits<'_>,
    ) {
        let _ = (input, msgs, ctx, emits);
        unreachable!("process_refs called on a node that does not handle chunks by reference")
    }

    /// Called with a chunk of messages just before they are processed one by one: a node
    /// whose per-message state lives in a large table touches the entries these messages
    /// will use, in one tight pass, so their cache misses overlap instead of stalling one
    /// message after another. Must not change any state a script can observe.
    fn warm(&self, msgs: &[Msg]) {
        let _ = msgs;
    }

    /// End of input: only nodes that Kapacitor flushes at end (join, union) emit here.
    fn done(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let _ = (ctx, out);
    }

    /// Wall-clock timer: called periodically with the current time (ns) for nodes that act
    /// on their own (`barrier`, `stats`, `influxDBOut`'s flush interval); see
    /// [`Processor::ticks`].
    fn tick(&mut self, now: i64, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let _ = (now, ctx, out);
    }

    /// Whether this node needs [`Processor::tick`] calls.
    fn ticks(&self) -> bool {
        false
    }

    /// Number of groups with state (`working_cardinality`).
    fn cardinality(&self) -> usize {
        0
    }
}

/// What a node emits while handling a chunk by reference ([`Processor::process_refs`]),
/// each output recorded with the origin of the message being handled.
#[derive(Debug)]
pub struct Emits<'a> {
    out: &'a mut Vec<Msg>,
    origins: &'a mut Vec<u32>,
    /// The origin of each message of the chunk.
    chunk: &'a [u32],
    /// Index in `chunk` of the first message the node was given.
    base: usize,
    /// Index in `chunk` of the message being handled.
    at: usize,
}

impl<'a> Emits<'a> {
    /// Emits into `out`, recording in `origins` the origin (from `chunk`) of the message
    /// being handled; the node is given the chunk's messages from index `base`.
    pub fn new(
        out: &'a mut Vec<Msg>,
        origins: &'a mut Vec<u32>,
        chunk: &'a [u32],
        base: usize,
    ) -> Emits<'a> {
        Emits {
            out,
            origins,
            chunk,
            base,
            at: base,
        }
    }

    /// The node is handling message `j` of the slice it was given.
    #[inline]
    pub fn at(&mut self, j: usize) {
        self.at = self.base + j;
    }

    /// Index in the chunk of the message being handled.
    pub fn handling(&self) -> usize {
        self.at
    }

    /// Lets `f` emit into the output, as [`Processor::process`] does into its `out`.
    #[inline]
    pub fn with<R>(&mut self, f: impl FnOnce(&mut Vec<Msg>) -> R) -> R {
        let before = self.out.len();
        let r = f(self.out);
        if self.out.len() != before {
            self.settle();
        }
        r
    }

    /// Records the origin of every output not yet recorded (after a panic too).
    pub fn settle(&mut self) {
        let origin = self.chunk.get(self.at).copied().unwrap_or_default();
        self.origins.resize(self.out.len(), origin);
    }
}

/// Why a plan node cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The node kind has no runtime yet (or needs a service that is not configured).
    #[error("node `{node}` ({kind}) is not supported: {reason}")]
    Unsupported {
        /// Node name.
        node: String,
        /// Node kind.
        kind: String,
        /// Why.
        reason: String,
    },
    /// The spec is invalid at run time (e.g. a regex or lambda that does not compile).
    #[error("node `{node}`: {message}")]
    Invalid {
        /// Node name.
        node: String,
        /// What is wrong.
        message: String,
    },
}

impl BuildError {
    /// An [`BuildError::Invalid`] for `info`'s node.
    pub fn invalid(info: &BuildInfo, message: impl Into<String>) -> BuildError {
        BuildError::Invalid {
            node: info.node.clone(),
            message: message.into(),
        }
    }
}
