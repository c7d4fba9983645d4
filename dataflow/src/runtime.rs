//! The timely runtime: one timely computation per process with N worker threads, started
//! once and kept running. Tasks and replays are dataflows installed and removed at run time.
//!
//! - **Control plane.** Commands (install, remove) go to the process's first worker, which
//!   proposes them to a timely [`Sequencer`]; every worker applies them in the same order,
//!   so every worker builds the same dataflows in the same order, also across the processes
//!   of a cluster ([`ClusterConfig`]: there ingest splits by every worker of the cluster,
//!   and every dataflow's first stage exchanges what another process's worker holds).
//! - **Data plane.** Each worker owns a bounded lane. Ingest assigns every point a sequence
//!   number and an epoch (the timely time), pre-partitions points by a stable hash of their
//!   series into the lanes, then advances every lane to the next epoch (a watermark to every
//!   worker, so an idle worker never holds the others back). A full lane is reported to the
//!   caller ([`EngineError::Backpressure`]); nothing is dropped silently. A direct feed
//!   (one dataflow) whose points all pass one `from` first is partitioned by the group
//!   that `from` gives them instead: the nodes after it need no exchange.
//! - **Task dataflows.** A plan is cut into *stages* where the grouping may change (after
//!   `from`, `groupBy`, nodes that rewrite tags, multi-parent nodes) or a global view is needed
//!   (`httpOut`). Stage *k* is one timely operator whose input is exchanged by the group id of
//!   the messages addressed to it (by nothing for stage 0, by a constant for a gathering
//!   stage); messages for later stages pass through on the same worker. Each stage stashes
//!   what arrives per epoch and, once the frontier has passed the epoch, processes it in
//!   ingest order (sequence number, then parent index): results do not depend on the number
//!   of workers. All state of one group lives on one worker. A single worker runs the whole
//!   plan as one stage: its exchanges would be no-ops, and depth-first execution is the
//!   order the stages restore.
//! - **End of input.** Closing a dataflow's input (end of a replay) lets each stage run its
//!   nodes' `done` once its input frontier is empty (join and union flush; windows don't).
//!   Removing a live task drops its dataflow without flushing anything.

mod parcel;

use crate::alert::{
    ALERTS_SERVICE, AlertEvent, AlertService, AlertSink, TOPICS_SERVICE, TopicStore,
};
use crate::exec::TaskExec;
use crate::node::Services;
use crate::ops::from::FromGrouping;
use crate::point::{Batch, BuildIdHasher, Msg, Point, Sym};
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use kap_dsl::plan::{DbRp, NodeSpec, Pipeline};
use parcel::{Head, Merged, OrderKey, Origin, Parcel, Spare};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{DistributorPact, Pipeline as PipelinePact};
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::{Capability, Probe};
use timely::dataflow::{InputHandle, ProbeHandle, Stream};
use timely::synchronization::Sequencer;

/// Why the engine refused work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A worker's lane is full: the caller must wait or refuse the write.
    #[error("the engine is busy: worker {worker}'s input lane is full")]
    Backpressure {
        /// The worker whose lane is full.
        worker: usize,
    },
    /// The engine has stopped.
    #[error("the engine has stopped")]
    Stopped,
    /// A dataflow with this id is already installed.
    #[error("dataflow `{0}` is already installed")]
    Exists(String),
    /// The plan cannot run.
    #[error("{0}")]
    Build(String),
    /// Timely could not start.
    #[error("cannot start timely: {0}")]
    Start(String),
}

/// How data reaches an installed dataflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Feed {
    /// A live task: points written to the engine whose db/rp are among `dbrps` (any, when
    /// empty) and whose measurement is among `measurements` (any, when `None`).
    Live {
        /// Subscribed databases and retention policies.
        dbrps: Vec<DbRp>,
        /// Subscribed measurements (`None`: every measurement).
        measurements: Option<Vec<String>>,
    },
    /// A replay or a run fed explicitly with [`Engine::feed_points`] or
    /// [`Engine::feed_batches`], isolated from live data.
    Direct,
}

/// Commands name dataflows by a unique key (task id plus a generation), so a task id can be
/// reinstalled while messages for its previous dataflow are still in flight.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Cmd {
    Install {
        key: String,
        task: String,
        plan: Pipeline,
        feed: Feed,
    },
    Remove {
        key: String,
    },
    /// Close a direct-fed dataflow's input on the workers of every process but the one that
    /// installed it ([`origin_of`]), whose workers close it through their lanes, after its
    /// data.
    Close {
        key: String,
    },
}

enum Lane {
    /// Live points of one epoch, for the roots of the dataflows subscribed to them.
    Live { epoch: u64, points: Parcel },
    /// Messages for one direct-fed dataflow.
    Direct {
        id: String,
        epoch: u64,
        items: Parcel,
    },
    /// One write for a direct-fed dataflow whose `from` partitions: the receiving worker
    /// groups and splits it, and its input's exchange takes each share to its worker.
    Chunk {
        id: String,
        epoch: u64,
        points: Vec<Point>,
        first: u64,
        grouping: Arc<FromGrouping>,
    },
    /// Every input may advance to this epoch.
    Advance(u64),
    /// Close a direct-fed dataflow's input on this worker.
    Close { id: String },
    /// Stop the worker.
    Shutdown,
}

impl Lane {
    /// Points or messages it carries.
    fn len(&self) -> usize {
        match self {
            Lane::Live { points, .. } => points.len(),
            Lane::Direct { items, .. } => items.len(),
            Lane::Chunk { points, .. } => points.len(),
            Lane::Advance(_) | Lane::Close { .. } | Lane::Shutdown => 0,
        }
    }
}

/// How many points (or messages) a worker takes in from its lane before it steps its
/// dataflows: what it splits between two steps (a few MB at most) is read again while
/// still in cache.
const STEP_POINTS: usize = 16 * 1024;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Worker threads (default: available cores).
    pub workers: usize,
    /// Capacity of each worker's lane, in messages.
    pub lane_capacity: usize,
    /// How often an idle engine advances every worker's watermark, so that what timers
    /// emit, and data stashed for an epoch, is processed without waiting for the next write
    /// (default 50 ms; at least 1 ms). Also the longest an idle worker sleeps: whatever
    /// has work for a worker wakes it sooner.
    pub heartbeat: Duration,
    /// Joins this engine to a multi-process timely cluster (`None`: this process alone).
    pub cluster: Option<ClusterConfig>,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            lane_capacity: 1024,
            heartbeat: Duration::from_millis(50),
            cluster: None,
        }
    }
}

/// The services a process gives the dataflows another process of its cluster installs,
/// by task name: each process's workers run their share of every task, and what those
/// shares emit (alerts, posts, writes) goes through this process's services.
pub type ServicesFor = Arc<dyn Fn(&str) -> Services + Send + Sync>;

/// One process of a multi-process timely cluster: every process runs
/// [`EngineConfig::workers`] workers (the same number everywhere), and the cluster's
/// `workers × processes` workers share every task by group, across processes. A task
/// installed on any process is installed on all, in the same order everywhere (timely's
/// [`Sequencer`]); points written to any process reach the workers of their groups,
/// wherever they are.
#[derive(Clone)]
pub struct ClusterConfig {
    /// This process's index in `addresses`.
    pub process: usize,
    /// `host:port` of every process, in process order; each process listens on its own and
    /// connects to the others (start blocks until all are connected).
    pub addresses: Vec<String>,
    /// Services for the tasks other processes install (default: none, so their alerts
    /// and outputs on this process's workers go nowhere).
    pub services: Option<ServicesFor>,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("process", &self.process)
            .field("addresses", &self.addresses)
            .field("services", &self.services.is_some())
            .finish()
    }
}

struct Shared {
    /// Services of each dataflow (not serialisable, so they don't travel with commands).
    services: Mutex<HashMap<String, Services>>,
    /// Build errors reported by workers, by dataflow id.
    errors: Mutex<HashMap<String, String>>,
    /// Node statistics each stage of each worker publishes, by dataflow key.
    stats: Mutex<HashMap<String, Vec<Arc<Mutex<StageStats>>>>>,
    /// [`Df::fresh`] of each dataflow key, shared by its instances on every worker.
    fresh: Mutex<HashMap<String, Arc<AtomicU64>>>,
    /// Emptied parcels, for ingest and stages to fill again.
    spare: Spare,
    /// [`EngineConfig::heartbeat`].
    heartbeat: Duration,
    /// This process's index in its cluster (0 alone).
    process: usize,
    /// Processes of the cluster (1 alone).
    processes: usize,
    /// [`ClusterConfig::services`].
    services_for: Option<ServicesFor>,
    /// In a cluster, the alert events of dataflows another process installed, on their way
    /// to it ([`Relay`]), with their dataflow keys.
    relay: (Sender<Relayed>, Receiver<Relayed>),
    /// In a cluster, dataflows removed here, with when: their services are dropped after
    /// [`RELAY_GRACE`].
    retired: Mutex<Vec<(Instant, String)>>,
}

/// How long a removed dataflow's services still take the events other processes relayed.
const RELAY_GRACE: Duration = Duration::from_secs(10);

/// In a cluster, the alert sink of a dataflow another process installed: its events go to
/// that process (through the relay dataflow every worker runs), whose topics, topic
/// handlers and alert API are the task's; this process only holds the groups' state.
#[derive(Debug)]
struct Relay {
    key: String,
    to: Sender<Relayed>,
}

/// An event on its way to the process that installed its dataflow, with the dataflow key.
type Relayed = (String, AlertEvent);

impl AlertSink for Relay {
    fn publish(&self, event: AlertEvent) {
        let _ = self.to.send((self.key.clone(), event));
    }
}

/// The key of the `generation`th dataflow installed by this process under task id `id`:
/// `<id>#<n>`, or in a cluster (`processes` > 1) `<id>#<process>.<n>`, unique there and
/// saying which process installed it ([`origin_of`]).
fn key_of(id: &str, generation: u64, process: usize, processes: usize) -> String {
    match processes {
        1 => format!("{id}#{generation}"),
        _ => format!("{id}#{process}.{generation}"),
    }
}

/// The process that installed dataflow `key` ([`key_of`]; 0 outside a cluster).
fn origin_of(key: &str) -> usize {
    key.rsplit_once('#')
        .and_then(|(_, n)| n.split_once('.'))
        .and_then(|(p, _)| p.parse().ok())
        .unwrap_or(0)
}

/// On the installing process, an event a relay brought: recorded in the task's topics
/// (the previous level as this process's topics knew it) and published to its sink, as
/// the alert node does on this process ([`Relay`]).
fn deliver_relayed(shared: &Shared, key: &str, mut event: AlertEvent) {
    let Some(services) = shared
        .services
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(key)
        .cloned()
    else {
        // Removed meanwhile.
        return;
    };
    if let Some(topics) = services.get::<TopicStore>(TOPICS_SERVICE) {
        let (topic, state) = (event.topic.clone(), event.state());
        topics.record(&topic, &mut event, state);
    }
    if let Some(sink) = services.get::<AlertService>(ALERTS_SERVICE) {
        sink.0.publish(event);
    }
}

/// The most room a live write's parcel for one dataflow starts with (messages).
const LIVE_ROOM: usize = 1024;

/// The statistics one stage executor published last (every node of the plan; nodes of
/// other stages stay at zero there).
#[derive(Debug, Default, Clone)]
struct StageStats {
    nodes: BTreeMap<String, BTreeMap<String, i64>>,
    edges: BTreeMap<(String, String), u64>,
}

/// Statistics of an installed task, summed over its stages and workers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TaskStats {
    /// Per node name: counter → value (`errors`, `working_cardinality`, node counters such
    /// as `alerts_triggered`, `crits_triggered`, `points_written`…).
    pub nodes: BTreeMap<String, BTreeMap<String, i64>>,
    /// Messages sent per `(parent, child)` edge.
    pub edges: BTreeMap<(String, String), u64>,
}

/// The database of Kapacitor's internal statistics (`[stats] database`): its points reach
/// only the dataflows that name it, never one fed every database (as Kapacitor's default
/// `excluded-subscriptions` keep it out of its subscriptions).
pub const INTERNAL_DATABASE: &str = "_kapacitor";

/// [`INTERNAL_DATABASE`], interned (compared by pointer per point).
static INTERNAL_DB: std::sync::LazyLock<Sym> =
    std::sync::LazyLock::new(|| Sym::new(INTERNAL_DATABASE));

/// How often a busy stage republishes its statistics.
const STATS_EVERY: Duration = Duration::from_millis(100);

/// The running engine.
pub struct Engine {
    /// Worker threads of this process.
    workers: usize,
    /// Workers of the computation: `workers` times the processes of the cluster.
    peers: usize,
    lanes: Vec<Sender<Lane>>,
    threads: Vec<std::thread::Thread>,
    commands: Sender<Cmd>,
    done: Receiver<(String, usize)>,
    installed: Receiver<(String, usize)>,
    shared: Arc<Shared>,
    /// Serialises ingest so epochs and sequence numbers increase together.
    ingest: Arc<Mutex<u64>>,
    /// Stops the heartbeat thread.
    stopping: Arc<std::sync::atomic::AtomicBool>,
    seq: AtomicU64,
    /// Installed dataflows: task id → unique key.
    keys: Mutex<HashMap<String, String>>,
    /// How ingest groups the points of direct-fed dataflows (by task id) whose points all
    /// pass through one `from` first ([`ingest_grouping`]).
    groupings: Mutex<HashMap<String, Arc<FromGrouping>>>,
    generation: AtomicU64,
    finished: Mutex<HashMap<String, usize>>,
    /// Joined on drop; behind a mutex so the engine is `Sync` (the guards are not).
    guards: Mutex<Option<timely::communication::WorkerGuards<()>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("workers", &self.workers)
            .finish()
    }
}

/// Which stage every node runs in, and how each stage's input is partitioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stages {
    /// Stage of each node.
    pub stage_of: Vec<usize>,
    /// Partitioning of each stage's input.
    pub keys: Vec<StageKey>,
}

/// How a stage's input is partitioned among workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageKey {
    /// Stays where ingest put it (stage 0: sources and `from`).
    Local,
    /// By group id: all of a group on one worker.
    Group,
    /// Everything on one worker, the first of the process that installed the dataflow
    /// (worker 0 but in a cluster; nodes that need a global view: `httpOut`'s group slots,
    /// `union`'s cross-group release order, `groupBy` of batches, which merges the batches
    /// of every group of one time).
    Gather,
    /// By the group id restricted to these tags (a `join(...).on(...)`: messages of
    /// different grouping that match on these tags meet on one worker).
    On(Vec<crate::point::Sym>),
}

/// The `from` every point of a stream plan passes through first, when there is exactly one
/// (the `stream` root's only child).
fn only_from(plan: &Pipeline) -> Option<usize> {
    let root = plan
        .nodes
        .iter()
        .position(|n| matches!(n.spec, NodeSpec::Stream))?;
    let mut children = plan.children(root);
    let from = children.next()?;
    (children.next().is_none() && matches!(plan.nodes[from].spec, NodeSpec::From(_)))
        .then_some(from)
}

/// The `from` whose grouping a direct feed's ingest partitions points by, with several
/// workers: the plan's only one ([`only_from`]). The stages then start after it without an
/// exchange ([`stages_after`]).
fn partitioning_from(plan: &Pipeline, feed: &Feed, peers: usize) -> Option<usize> {
    if peers < 2 || !matches!(feed, Feed::Direct) {
        return None;
    }
    only_from(plan)
}

/// How ingest groups a direct feed's points ([`partitioning_from`]).
fn ingest_grouping(plan: &Pipeline, feed: &Feed, peers: usize) -> Option<FromGrouping> {
    match &plan.nodes[partitioning_from(plan, feed, peers)?].spec {
        NodeSpec::From(spec) => Some(FromGrouping::new(spec)),
        _ => None,
    }
}

/// Cuts a plan into stages (see the module docs).
pub fn stages(plan: &Pipeline) -> Stages {
    stages_after(plan, None)
}

/// [`stages`], for input already partitioned by the group `from` (a node id) gives points:
/// that `from` starts no stage of its own, its children stay in the first stage.
fn stages_after(plan: &Pipeline, from: Option<usize>) -> Stages {
    let n = plan.nodes.len();
    let mut after_from = vec![false; n];
    let mut stage_of = vec![0usize; n];
    let mut keys = vec![StageKey::Local];
    let regroups = |spec: &NodeSpec| {
        matches!(
            spec,
            NodeSpec::From(_)
                | NodeSpec::GroupBy(_)
                | NodeSpec::Default(_)
                | NodeSpec::Delete(_)
                | NodeSpec::Eval(_)
                | NodeSpec::Alert(_)
                | NodeSpec::Flatten(_)
                | NodeSpec::Combine(_)
                | NodeSpec::Join(_)
                | NodeSpec::Union(_)
                | NodeSpec::Sideload(_)
                | NodeSpec::Udf(_)
        )
    };
    let edges = crate::exec::edge_types(plan);
    let batch_in = |id: usize| {
        plan.parents(id)
            .next()
            .is_some_and(|p| edges[p] == kap_dsl::registry::EdgeType::Batch)
    };
    let gathers = |id: usize| match &plan.nodes[id].spec {
        // A UDF node has one agent: all its data goes to the worker that runs it; an
        // autoscale node knows every resource it scales (any tag may name one).
        NodeSpec::HttpOut(_)
        | NodeSpec::Union(_)
        | NodeSpec::Udf(_)
        | NodeSpec::K8sAutoscale(_)
        | NodeSpec::SwarmAutoscale(_)
        | NodeSpec::Ec2Autoscale(_) => true,
        NodeSpec::GroupBy(_) => batch_in(id),
        _ => false,
    };
    let key_of = |id: usize| match &plan.nodes[id].spec {
        NodeSpec::Join(j) if !j.on.is_empty() => {
            let mut on: Vec<crate::point::Sym> =
                j.on.iter().map(|t| crate::point::Sym::new(t)).collect();
            on.sort();
            StageKey::On(on)
        }
        _ if gathers(id) => StageKey::Gather,
        _ => StageKey::Group,
    };
    for id in kap_dsl::dot::walk_order(plan) {
        let spec = &plan.nodes[id].spec;
        let parents: Vec<usize> = plan.parents(id).collect();
        if let NodeSpec::Stats(_) = spec {
            // A stats source reads counters shared by every worker: one worker emits them.
            keys.push(StageKey::Gather);
            stage_of[id] = keys.len() - 1;
            continue;
        }
        let root_like = parents.is_empty()
            || matches!(
                spec,
                NodeSpec::From(_) | NodeSpec::Query(_) | NodeSpec::QueryFlux(_)
            );
        if root_like {
            stage_of[id] = 0;
            continue;
        }
        let p = parents[0];
        let pspec = &plan.nodes[p].spec;
        // The partitioning `from`, or a node chained after it in the first stage.
        let partitioned = from == Some(p) || after_from[p];
        let new_stage = parents.len() > 1
            || gathers(id)
            || matches!(spec, NodeSpec::Join(_))
            || (regroups(pspec) && from != Some(p))
            || gathers(p)
            || (stage_of[p] == 0 && !partitioned);
        if new_stage {
            keys.push(key_of(id));
            stage_of[id] = keys.len() - 1;
        } else {
            stage_of[id] = stage_of[p];
            after_from[id] = stage_of[id] == 0;
        }
    }
    Stages { stage_of, keys }
}

/// The whole plan as one local stage (a single worker needs no exchange).
fn fused(plan: &Pipeline) -> Stages {
    Stages {
        stage_of: vec![0; plan.nodes.len()],
        keys: vec![StageKey::Local],
    }
}

/// The heartbeat: every `every` ([`EngineConfig::heartbeat`]), advances every lane to a new
/// epoch when ingest has been idle.
fn spawn_heartbeat(
    every: Duration,
    lanes: Vec<Sender<Lane>>,
    threads: Vec<std::thread::Thread>,
    ingest: Arc<Mutex<u64>>,
    stopping: Arc<std::sync::atomic::AtomicBool>,
    clocked: bool,
) {
    let _ = std::thread::Builder::new()
        .name("engine-heartbeat".into())
        .spawn(move || {
            let mut last = 0u64;
            while !stopping.load(Ordering::Relaxed) {
                std::thread::sleep(every);
                let mut epoch = ingest.lock().unwrap_or_else(|e| e.into_inner());
                if *epoch != last && !clocked {
                    // Ingest moved on its own since the last beat.
                    last = *epoch;
                    continue;
                }
                // In a cluster, every beat moves the watermark to the clock: another
                // process's data waits for this one's epochs to pass its own.
                let e = take_epoch(&mut epoch, clocked);
                last = *epoch;
                for lane in &lanes {
                    // A full lane is busy with data that advances epochs anyway.
                    let _ = lane.try_send(Lane::Advance(e + 1));
                }
                drop(epoch);
                for t in &threads {
                    t.unpark();
                }
            }
        });
}

/// Takes the next epoch from ingest's counter. In a cluster (`clocked`) epochs are at least
/// the wall clock's microseconds since the Unix epoch: each process numbers its own
/// writes, and a watermark passes an epoch only once every process's has, so the
/// processes' epochs must advance together however many writes each takes (by the clock,
/// the data of a busy process waits at most one heartbeat for an idle one).
fn take_epoch(epoch: &mut u64, clocked: bool) -> u64 {
    if clocked {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        *epoch = (*epoch).max(now);
    }
    let e = *epoch;
    *epoch += 1;
    e
}

/// How often stages with wall-clock nodes run their timers.
const TICK: Duration = Duration::from_millis(100);

/// The hash ingest pre-partitions points by: the group id of grouping by every tag, without
/// the measurement ([`group_of_all`](crate::point::group_of_all)). The same series always
/// reaches the same lane, and a task whose grouping is all of a series' tags (`groupBy(*)`,
/// or `groupBy('host')` of points tagged only by host) finds each group already on the
/// worker its exchange sends it to: none of its points crosses workers. It reads the
/// interned names' content hashes (computed once per name): no byte is read per point and
/// every process agrees.
pub fn series_hash(p: &Point) -> u64 {
    crate::point::group_of_all(&p.tags).0
}

/// The worker of a hash: `hash % peers`, by a mask when `peers` is a power of two (a
/// division costs tens of cycles, paid per message at every exchange).
#[inline]
fn worker_for(hash: u64, peers: usize) -> usize {
    let peers = peers as u64;
    (if peers.is_power_of_two() {
        hash & (peers - 1)
    } else {
        hash % peers
    }) as usize
}

/// Groups arriving points by their series (every tag, not the measurement) and picks their
/// lanes, by that group's id ([`series_hash`]). The hashing happens here, on the writer's
/// thread, where the points' names were just read: a `from` whose grouping is the series
/// (`groupBy(*)`, or `groupBy('host')` of points tagged only by host) keeps the group. The
/// last series' dimensions are kept: the points of a write mostly share their tag keys, and
/// then reuse them instead of looking them up again.
#[derive(Default)]
struct Lanes {
    last: Option<crate::point::Dimensions>,
}

impl Lanes {
    /// Groups `p` by its series and returns its lane among `peers`.
    #[inline(always)]
    fn assign(&mut self, p: &mut Point, peers: usize) -> usize {
        p.dims = match self.last {
            Some(d) if d.is_series_of(&p.tags) => d,
            _ => {
                let d = crate::point::Dimensions::of_series(&p.tags);
                self.last = Some(d);
                d
            }
        };
        p.group = crate::point::group_of_all(&p.tags);
        debug_assert_eq!(p.group, crate::point::group_of(p.name, &p.tags, &p.dims));
        worker_for(p.group.0, peers)
    }
}

impl Engine {
    /// Starts the workers.
    pub fn start(config: EngineConfig) -> Result<Engine, EngineError> {
        let workers = config.workers.max(1);
        let heartbeat = config.heartbeat.max(Duration::from_millis(1));
        let (process, processes) = config
            .cluster
            .as_ref()
            .map_or((0, 1), |c| (c.process, c.addresses.len().max(1)));
        let timely_config = match &config.cluster {
            None => timely::Config::process(workers),
            Some(c) => {
                if c.process >= c.addresses.len() {
                    return Err(EngineError::Start(format!(
                        "process {} is not among the cluster's {} addresses",
                        c.process,
                        c.addresses.len()
                    )));
                }
                timely::Config {
                    communication: timely::CommunicationConfig::Cluster {
                        threads: workers,
                        process: c.process,
                        addresses: c.addresses.clone(),
                        report: false,
                        zerocopy: false,
                    },
                    worker: timely::WorkerConfig::default(),
                }
            }
        };
        let mut lanes = Vec::new();
        let mut receivers = Vec::new();
        for _ in 0..workers {
            let (tx, rx) = bounded(config.lane_capacity.max(1));
            lanes.push(tx);
            receivers.push(rx);
        }
        let (cmd_tx, cmd_rx) = unbounded::<Cmd>();
        let (done_tx, done_rx) = unbounded();
        let (installed_tx, installed_rx) = unbounded();
        let (thread_tx, thread_rx) = unbounded();
        let shared = Arc::new(Shared {
            services: Mutex::new(HashMap::new()),
            errors: Mutex::new(HashMap::new()),
            stats: Mutex::new(HashMap::new()),
            fresh: Mutex::new(HashMap::new()),
            spare: Spare::new(workers),
            heartbeat,
            process,
            processes,
            services_for: config.cluster.and_then(|c| c.services),
            relay: unbounded(),
            retired: Mutex::new(Vec::new()),
        });
        let worker_shared = Arc::clone(&shared);
        let receivers = Arc::new(receivers);
        // Blocks, in a cluster, until every process is connected.
        let guards = timely::execute(timely_config, move |worker| {
            // This process's workers are `process * workers ..`: its lanes are theirs.
            let index = worker.index() - process * workers;
            let _ = thread_tx.send((index, std::thread::current()));
            let lane = receivers[index].clone();
            run_worker(
                worker,
                lane,
                &cmd_rx,
                &done_tx,
                &installed_tx,
                &worker_shared,
            );
        })
        .map_err(EngineError::Start)?;
        let mut threads: Vec<(usize, std::thread::Thread)> =
            (0..workers).filter_map(|_| thread_rx.recv().ok()).collect();
        threads.sort_by_key(|(i, _)| *i);
        let threads: Vec<std::thread::Thread> = threads.into_iter().map(|(_, t)| t).collect();
        let ingest = Arc::new(Mutex::new(1u64));
        let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
        spawn_heartbeat(
            heartbeat,
            lanes.clone(),
            threads.clone(),
            Arc::clone(&ingest),
            Arc::clone(&stopping),
            processes > 1,
        );
        Ok(Engine {
            workers,
            peers: workers * processes,
            lanes,
            threads,
            commands: cmd_tx,
            done: done_rx,
            installed: installed_rx,
            shared,
            ingest,
            stopping,
            seq: AtomicU64::new(1),
            keys: Mutex::new(HashMap::new()),
            groupings: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(1),
            finished: Mutex::new(HashMap::new()),
            guards: Mutex::new(Some(guards)),
        })
    }

    /// Number of workers of this process.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The lane that takes what ingest split for worker `w` of the computation: its own,
    /// or, for a worker of another process, the lane of one of this process's workers,
    /// whose first stage's exchange moves it on (the parcel whole).
    fn lane_of(&self, w: usize) -> &Sender<Lane> {
        &self.lanes[w % self.workers]
    }

    fn wake(&self) {
        for t in &self.threads {
            t.unpark();
        }
    }

    /// Installs a dataflow for `plan` under `id`.
    pub fn install(
        &self,
        id: &str,
        plan: &Pipeline,
        services: Services,
        feed: Feed,
    ) -> Result<(), EngineError> {
        self.install_as(id, id, plan, services, feed)
    }

    /// Like [`Engine::install`], with the task name the nodes see (`.TaskName`, stats,
    /// anonymous topics) different from the dataflow id: a replay runs task `t`'s plan as
    /// dataflow `replay:<id>` next to the live `t`.
    pub fn install_as(
        &self,
        id: &str,
        task_name: &str,
        plan: &Pipeline,
        services: Services,
        feed: Feed,
    ) -> Result<(), EngineError> {
        // Build once here so that an invalid plan is refused before any worker sees it.
        TaskExec::new(task_name, plan, Services::default())
            .map_err(|e| EngineError::Build(e.to_string()))?;
        let key = {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            if keys.contains_key(id) {
                return Err(EngineError::Exists(id.to_string()));
            }
            let generation = self.generation.fetch_add(1, Ordering::Relaxed);
            let key = key_of(id, generation, self.shared.process, self.shared.processes);
            keys.insert(id.to_string(), key.clone());
            key
        };
        if let Some(g) = ingest_grouping(plan, &feed, self.peers) {
            self.groupings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.to_string(), Arc::new(g));
        }
        // One stats registry for the dataflow, shared by its instances on every worker: a
        // `stats`/`deadman` node (on one worker) reads what the watched node counts on all.
        let services = crate::exec::with_stats_feeds(services, plan);
        self.shared
            .services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), services);
        self.commands
            .send(Cmd::Install {
                key: key.clone(),
                task: task_name.to_string(),
                plan: plan.clone(),
                feed,
            })
            .map_err(|_| EngineError::Stopped)?;
        self.wake();
        // Running when this returns: every worker has built the dataflow, so the next write
        // reaches it.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut acks = 0;
        while acks < self.workers {
            if let Some(err) = self
                .shared
                .errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key)
            {
                let _ = self.remove(id);
                return Err(EngineError::Build(err));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(EngineError::Build(format!(
                    "dataflow `{id}` was not installed within 30s"
                )));
            }
            // Acks of other dataflows (removed again, or installed concurrently) are ignored.
            if let Ok((k, _)) = self
                .installed
                .recv_timeout(left.min(Duration::from_millis(50)))
                && k == key
            {
                acks += 1;
            }
        }
        Ok(())
    }

    /// The key of installed dataflow `id`, or the error feeding or closing a missing one
    /// returns.
    fn installed_key(&self, id: &str) -> Result<String, EngineError> {
        self.key(id)
            .ok_or_else(|| EngineError::Build(format!("no dataflow `{id}` is installed")))
    }

    fn key(&self, id: &str) -> Option<String> {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Removes a dataflow at once (no flush), e.g. when a task is disabled.
    pub fn remove(&self, id: &str) -> Result<(), EngineError> {
        self.groupings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        let Some(key) = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
        else {
            return Ok(());
        };
        {
            let mut services = self
                .shared
                .services
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if self.shared.processes > 1 {
                // Events other processes relayed before the removal may still be on
                // their way: its services take them for a while yet.
                let mut retired = self
                    .shared
                    .retired
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                retired.retain(|(at, k)| {
                    let keep = now.duration_since(*at) < RELAY_GRACE;
                    if !keep {
                        services.remove(k);
                    }
                    keep
                });
                retired.push((now, key.clone()));
            } else {
                services.remove(&key);
            }
        }
        self.commands
            .send(Cmd::Remove { key })
            .map_err(|_| EngineError::Stopped)?;
        self.wake();
        Ok(())
    }

    fn next_epoch(&self, epoch: &mut u64) -> u64 {
        take_epoch(epoch, self.shared.processes > 1)
    }

    fn advance_all(&self, epoch: u64) -> Result<(), EngineError> {
        for (w, lane) in self.lanes.iter().enumerate() {
            // Watermarks must reach every worker: block briefly rather than lose one.
            lane.send_timeout(Lane::Advance(epoch), Duration::from_secs(5))
                .map_err(|e| match e {
                    crossbeam_channel::SendTimeoutError::Timeout(_) => {
                        EngineError::Backpressure { worker: w }
                    }
                    crossbeam_channel::SendTimeoutError::Disconnected(_) => EngineError::Stopped,
                })?;
        }
        Ok(())
    }

    /// Writes live points (one epoch): each reaches every live task subscribed to its db, rp
    /// and measurement.
    pub fn write(&self, points: Vec<Point>) -> Result<(), EngineError> {
        // A zero timeout tries each lane once.
        self.write_timeout(points, Duration::ZERO)
    }

    /// Waits (up to `timeout`) until every worker has taken everything queued for it, then
    /// gives the workers two watermark periods to process it: used at shutdown so accepted
    /// writes reach their tasks (and alert topics) before the process exits.
    pub fn quiesce(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.lanes.iter().any(|l| !l.is_empty()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(
            (2 * self.shared.heartbeat).min(deadline.saturating_duration_since(Instant::now())),
        );
    }

    /// Statistics of the installed dataflow `id` (`None` when it is not installed), summed
    /// over its stages and workers. Counts lag by at most ~100 ms.
    pub fn stats(&self, id: &str) -> Option<TaskStats> {
        let key = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()?;
        let slots = self
            .shared
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned()
            .unwrap_or_default();
        let mut out = TaskStats::default();
        for slot in slots {
            let st = slot.lock().unwrap_or_else(|e| e.into_inner());
            for (node, counters) in &st.nodes {
                let n = out.nodes.entry(node.clone()).or_default();
                for (k, v) in counters {
                    *n.entry(k.clone()).or_default() += v;
                }
            }
            for (edge, v) in &st.edges {
                *out.edges.entry(edge.clone()).or_default() += v;
            }
        }
        Some(out)
    }

    /// Like [`Engine::write`], but waits up to `timeout` for room in full lanes instead of
    /// refusing at once. On `Backpressure` nothing of this write was queued on the lanes
    /// that were full; lanes already written keep their part (the error says which worker).
    pub fn write_timeout(&self, points: Vec<Point>, timeout: Duration) -> Result<(), EngineError> {
        // Live points are partitioned by series (a write reaches every task subscribed),
        // before the ingest lock: concurrent writes group their points in parallel. Only
        // the epoch orders writes; sequence numbers order the points of one.
        let parts = self.partition(points);
        let mut epoch = self.ingest.lock().unwrap_or_else(|e| e.into_inner());
        let e = self.next_epoch(&mut epoch);
        let deadline = Instant::now() + timeout;
        for (w, part) in parts.into_iter().enumerate() {
            if part.is_empty() {
                self.shared.spare.put([part]);
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            self.lane_of(w)
                .send_timeout(
                    Lane::Live {
                        epoch: e,
                        points: part,
                    },
                    left,
                )
                .map_err(|err| match err {
                    crossbeam_channel::SendTimeoutError::Timeout(_) => {
                        EngineError::Backpressure { worker: w }
                    }
                    crossbeam_channel::SendTimeoutError::Disconnected(_) => EngineError::Stopped,
                })?;
        }
        self.advance_all(e + 1)?;
        self.wake();
        Ok(())
    }

    /// Feeds a direct dataflow with points for its root (one epoch), blocking while lanes
    /// are full (replays are paced by the engine). With several workers and one `from`,
    /// a worker splits the write (`Engine::feed_chunk`); else the calling thread does.
    pub fn feed_points(&self, id: &str, points: Vec<Point>) -> Result<(), EngineError> {
        // Installed only with several workers ([`partitioning_from`]).
        let grouping = self
            .groupings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned();
        if let Some(grouping) = grouping {
            return self.feed_chunk(id, points, grouping);
        }
        let parts = self.partition(points);
        self.feed_parts(id, parts)
    }

    /// Sends a write whole to one worker, in turn, which groups and splits it as the
    /// dataflow's `from` groups, and hands every share to its input: the first stage's
    /// exchange moves each (uncopied) to its worker. The calling thread only numbers the
    /// points; the workers, not it, write the messages they read, so a write costs the
    /// caller next to nothing and the copy of most points stays within one worker's cache
    /// (`benches/engine.rs`: with 2 workers ~15 % faster than splitting on the caller).
    fn feed_chunk(
        &self,
        id: &str,
        points: Vec<Point>,
        grouping: Arc<FromGrouping>,
    ) -> Result<(), EngineError> {
        let key = self.installed_key(id)?;
        let first = self.seq.fetch_add(points.len() as u64, Ordering::Relaxed);
        let mut epoch = self.ingest.lock().unwrap_or_else(|e| e.into_inner());
        let e = self.next_epoch(&mut epoch);
        let w = (e % self.workers as u64) as usize;
        self.lanes[w]
            .send(Lane::Chunk {
                id: key,
                epoch: e,
                points,
                first,
                grouping,
            })
            .map_err(|_| EngineError::Stopped)?;
        self.advance_all(e + 1)?;
        self.wake();
        Ok(())
    }

    /// Numbers `points` (ingest sequence), groups them by series and splits them into one
    /// parcel of messages per worker ([`partition`]).
    fn partition(&self, points: Vec<Point>) -> Vec<Parcel> {
        let first = self.seq.fetch_add(points.len() as u64, Ordering::Relaxed);
        partition(points, first, None, self.peers, &self.shared.spare)
    }

    /// Feeds a direct dataflow with batches for its query node number `query` (node id).
    pub fn feed_batches(
        &self,
        id: &str,
        node: usize,
        batches: Vec<Batch>,
    ) -> Result<(), EngineError> {
        let mut parts = parcels(batches.len(), self.peers, &self.shared.spare);
        let first = self.seq.fetch_add(batches.len() as u64, Ordering::Relaxed);
        for (seq, b) in (first..).zip(batches) {
            parts[worker_for(b.group.0, self.peers)]
                .push(Head::ingest(node as u32, seq), Msg::Batch(b));
        }
        self.feed_parts(id, parts)
    }

    /// Sends one epoch of pre-partitioned parcels to a direct dataflow.
    fn feed_parts(&self, id: &str, parts: Vec<Parcel>) -> Result<(), EngineError> {
        let key = self.installed_key(id)?;
        let mut epoch = self.ingest.lock().unwrap_or_else(|e| e.into_inner());
        let e = self.next_epoch(&mut epoch);
        for (w, part) in parts.into_iter().enumerate() {
            if part.is_empty() {
                self.shared.spare.put([part]);
                continue;
            }
            self.lane_of(w)
                .send(Lane::Direct {
                    id: key.clone(),
                    epoch: e,
                    items: part,
                })
                .map_err(|_| EngineError::Stopped)?;
        }
        self.advance_all(e + 1)?;
        self.wake();
        Ok(())
    }

    /// Closes a direct dataflow's input and waits until every worker has drained it (its
    /// nodes' end-of-input work done), then removes it. Returns the first build error a
    /// worker reported, if any.
    pub fn close_and_wait(&self, id: &str, timeout: Duration) -> Result<(), EngineError> {
        let outcome = self.close_and_drain(id, timeout);
        self.remove(id)?;
        outcome
    }

    /// [`Engine::close_and_wait`] but for the removal: the drained dataflow's statistics
    /// stay readable ([`Engine::stats`]) until [`Engine::remove`].
    pub fn close_and_drain(&self, id: &str, timeout: Duration) -> Result<(), EngineError> {
        let key = self.installed_key(id)?;
        for lane in &self.lanes {
            lane.send(Lane::Close { id: key.clone() })
                .map_err(|_| EngineError::Stopped)?;
        }
        if self.shared.processes > 1 {
            // The other processes' workers feed it nothing: they close it when told.
            self.commands
                .send(Cmd::Close { key: key.clone() })
                .map_err(|_| EngineError::Stopped)?;
        }
        self.wake();
        let deadline = Instant::now() + timeout;
        let outcome = loop {
            if let Some(err) = self
                .shared
                .errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key)
            {
                break Err(EngineError::Build(err));
            }
            if self
                .finished
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .copied()
                .unwrap_or(0)
                >= self.workers
            {
                break Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Err(EngineError::Build(format!(
                    "dataflow `{id}` did not drain within {timeout:?}"
                )));
            }
            if let Ok((done_key, _)) = self.done.recv_timeout(left.min(Duration::from_millis(50))) {
                *self
                    .finished
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(done_key)
                    .or_insert(0) += 1;
            }
        };
        self.finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        outcome
    }

    /// Stops the workers and waits for them. In a cluster, the processes stop together:
    /// this returns once every process's workers have stopped (timely's connections close
    /// cleanly only then).
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        for lane in &self.lanes {
            let _ = lane.send(Lane::Shutdown);
        }
        self.wake();
        let guards = self
            .guards
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(guards);
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Df {
    index: usize,
    input: Option<InputHandle<u64, CapacityContainerBuilder<Parcel>>>,
    probe: ProbeHandle<u64>,
    reported: bool,
    /// The latest epoch at which any worker sent this dataflow data (shared by its
    /// instances on every worker): only dataflows with new data follow every watermark
    /// at once, so a write costs O(matching tasks), not O(tasks).
    fresh: Arc<AtomicU64>,
}

/// How often every dataflow's input follows the watermark, data or not. Dataflows with new
/// data (on any worker) follow every watermark; the others need no progress, so the sweep
/// only keeps idle frontiers from lagging far behind.
const SWEEP: Duration = Duration::from_secs(5);

impl Df {
    /// Sends `items` (left empty) as epoch `e`, if its input is still open.
    fn send(&mut self, e: u64, items: &mut Parcel) {
        if let Some(input) = self.input.as_mut() {
            if input.time() < &e {
                input.advance_to(e);
            }
            self.fresh.fetch_max(e, Ordering::Relaxed);
            input.send_batch(items);
        }
    }

    /// Advances the input to `e` if it has had data since its last advance, or on a sweep.
    fn follow(&mut self, e: u64, sweep: bool) {
        if let Some(input) = self.input.as_mut()
            && input.time() < &e
            && (sweep || self.fresh.load(Ordering::Relaxed) >= *input.time())
        {
            input.advance_to(e);
        }
    }
}

fn run_worker(
    worker: &mut timely::worker::Worker,
    lane: Receiver<Lane>,
    commands: &Receiver<Cmd>,
    done: &Sender<(String, usize)>,
    installed: &Sender<(String, usize)>,
    shared: &Arc<Shared>,
) {
    let index = worker.index();
    // Each process's first worker proposes its process's commands.
    let proposer = index == shared.process * lane_workers(worker, shared);
    let clustered = shared.processes > 1;
    let mut sequencer: Option<Sequencer<Cmd>> = Some(Sequencer::new(worker, Instant::now()));
    // In a cluster, every worker's first dataflow takes the alert events of the dataflows
    // other processes installed to the first worker of their process.
    let mut relay = clustered.then(|| relay_dataflow(worker, shared));
    let mut dfs: BTreeMap<String, Df> = BTreeMap::new();
    let mut st = LaneState {
        live: LiveIndex::default(),
        epoch: 1,
        pending: HashMap::new(),
        swept: Instant::now(),
        spare: &shared.spare,
        peers: worker.peers(),
    };
    let mut shutdown = false;
    while !shutdown {
        if proposer && let Some(seq) = sequencer.as_mut() {
            while let Ok(cmd) = commands.try_recv() {
                seq.push(cmd);
            }
        }
        let cmds: Vec<Cmd> = sequencer
            .as_mut()
            .map(|s| s.by_ref().collect())
            .unwrap_or_default();
        for cmd in cmds {
            match cmd {
                Cmd::Install {
                    key: id,
                    task,
                    plan,
                    feed,
                } => {
                    let origin = origin_of(&id);
                    if dfs.contains_key(&id) {
                        continue;
                    }
                    let local = origin == shared.process;
                    let services = services_of(shared, &id, &task, &plan, local);
                    match build_dataflow(worker, &id, &task, &plan, &feed, services, shared, origin)
                    {
                        Ok((df_index, mut input, probe, fresh)) => {
                            // Data that raced ahead of the install command is replayed at
                            // its own epochs, so every worker orders it the same way.
                            let early = st.pending.remove(&id).unwrap_or_default();
                            let start = early
                                .iter()
                                .filter_map(|l| match l {
                                    Lane::Direct { epoch: e, .. }
                                    | Lane::Chunk { epoch: e, .. } => Some(*e),
                                    _ => None,
                                })
                                .min()
                                .unwrap_or(st.epoch)
                                .min(st.epoch);
                            input.advance_to(start);
                            dfs.insert(
                                id.clone(),
                                Df {
                                    index: df_index,
                                    input: Some(input),
                                    probe,
                                    // Only the installing process waits for it to drain.
                                    reported: !local,
                                    fresh,
                                },
                            );
                            st.live.add(&id, &feed);
                            for l in early {
                                apply_lane(l, &mut dfs, &mut st);
                            }
                            if let Some(input) = dfs.get_mut(&id).and_then(|d| d.input.as_mut())
                                && input.time() < &st.epoch
                            {
                                input.advance_to(st.epoch);
                            }
                            if local {
                                let _ = installed.send((id.clone(), index));
                            }
                        }
                        Err(e) => {
                            shared
                                .errors
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(id.clone(), e);
                        }
                    }
                }
                Cmd::Close { key: id } => {
                    if origin_of(&id) != shared.process
                        && let Some(df) = dfs.get_mut(&id)
                    {
                        df.input.take();
                    }
                }
                Cmd::Remove { key: id } => {
                    if let Some(df) = dfs.remove(&id) {
                        worker.drop_dataflow(df.index);
                    }
                    if clustered && origin_of(&id) != shared.process {
                        // Made here for a task another process installed.
                        shared
                            .services
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&id);
                    }
                    shared
                        .stats
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id);
                    shared
                        .fresh
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id);
                    st.live.remove(&id);
                    st.pending.remove(&id);
                }
            }
        }
        let mut idle = true;
        if let Some(relay) = relay.as_mut() {
            let mut sent = false;
            while let Ok(item) = shared.relay.1.try_recv() {
                relay.send(item);
                sent = true;
            }
            if sent {
                // Advancing the input is what schedules its operators (a flush alone
                // leaves the events until something else does).
                let next = *relay.time() + 1;
                relay.advance_to(next);
                idle = false;
            }
        }
        // Data taken in is processed before much more is: a worker that split every write
        // waiting in its lane before it stepped held them all, split, until the step (tens
        // of MB of parcels, through memory rather than cache, and the pool of emptied
        // parcels ran dry: fresh pages, zeroed by the kernel). A step after each write
        // costs more than it saves (`benches/engine.rs`, 2 workers: median time 7-11 % less
        // than stepping after up to 64 lane messages; 1 worker and the live path unchanged).
        let mut taken = 0;
        for _ in 0..64 {
            match lane.try_recv() {
                Ok(Lane::Shutdown) => {
                    shutdown = true;
                    idle = false;
                    break;
                }
                Ok(l) => {
                    idle = false;
                    taken += l.len();
                    apply_lane(l, &mut dfs, &mut st);
                    if taken >= STEP_POINTS {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        // A worker can take an epoch's watermark before the worker its data went to has
        // fed it (and marked the dataflow fresh), and then leaves the dataflow's input
        // behind, holding the epoch back on every worker. It catches up as soon as it
        // wakes, which that worker's progress makes it do, and before it steps, so the
        // epoch passes in this step rather than at the next heartbeat.
        for df in dfs.values_mut() {
            // In a cluster, another process's data is not marked fresh here: every
            // dataflow follows every watermark.
            df.follow(st.epoch, clustered);
        }
        // An idle worker sleeps until something has work for it: a lane message or a command
        // is followed by an unpark, timely unparks a worker it sends data or progress to, a
        // stage's timer bounds the sleep, and the heartbeat comes anyway. (Waking every 2 ms
        // instead cost each idle worker ~2 % of a core.)
        worker.step_or_park(if idle {
            Some(shared.heartbeat)
        } else {
            Some(Duration::ZERO)
        });
        for (id, df) in dfs.iter_mut() {
            if df.input.is_none() && !df.reported && df.probe.done() {
                df.reported = true;
                let _ = done.send((id.clone(), index));
            }
        }
    }
    for (_, df) in std::mem::take(&mut dfs) {
        worker.drop_dataflow(df.index);
    }
    relay.take();
    sequencer.take();
}

/// The input of the relay dataflow ([`Relay`]).
type RelayInput = InputHandle<u64, CapacityContainerBuilder<Vec<Relayed>>>;

/// Builds the relay dataflow: events in, exchanged to the first worker of the process
/// that installed their dataflow, delivered there ([`deliver_relayed`]) as they arrive:
/// nothing waits for its progress (its input advances one step per batch of events sent,
/// which schedules its operators).
fn relay_dataflow(worker: &mut timely::worker::Worker, shared: &Arc<Shared>) -> RelayInput {
    use timely::dataflow::operators::{Exchange, Inspect};
    let threads = lane_workers(worker, shared) as u64;
    let mut input = RelayInput::new();
    let shared = Arc::clone(shared);
    worker.dataflow_named::<u64, _, _>("alert-relay", |scope| {
        input
            .to_stream(scope)
            .exchange(move |(key, _)| origin_of(key) as u64 * threads)
            .inspect(move |(key, event)| deliver_relayed(&shared, key, event.clone()));
    });
    input
}

/// Worker threads per process.
fn lane_workers(worker: &timely::worker::Worker, shared: &Shared) -> usize {
    worker.peers() / shared.processes
}

/// The services of dataflow `key` (of task `task`) on this process: those it was installed
/// with here (`local`), else, for a task another process of the cluster installed,
/// [`ClusterConfig::services`]' (made once per process, shared by its workers).
fn services_of(shared: &Shared, key: &str, task: &str, plan: &Pipeline, local: bool) -> Services {
    let mut services = shared.services.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = services.get(key) {
        return s.clone();
    }
    if local {
        return Services::default();
    }
    let made = shared
        .services_for
        .as_ref()
        .map_or_else(Services::default, |f| f(task))
        // Its alert nodes keep their groups' levels here, and send the events on.
        .with(TOPICS_SERVICE, Arc::new(TopicStore::default()))
        .with(
            ALERTS_SERVICE,
            Arc::new(AlertService(Arc::new(Relay {
                key: key.to_string(),
                to: shared.relay.0.clone(),
            }))),
        );
    let made = crate::exec::with_stats_feeds(made, plan);
    services.insert(key.to_string(), made.clone());
    made
}

/// Which live dataflows a point reaches, by interned (db, rp) and measurement, so the cost
/// per point does not grow with the number of tasks it does not reach. A dataflow is listed
/// under every (db/rp, measurement) pair it subscribes to, with `None` standing for "any"
/// (no dbrps, or `measurements: None`); a point looks up its four possible keys, and since a
/// dataflow subscribes either to any or to listed db/rps (and measurements), it is found
/// under at most one of them.
#[derive(Default)]
struct LiveIndex {
    /// Subscribers by `(db/rp, measurement)`.
    subs: HashMap<LiveKey, Vec<u32>, BuildIdHasher>,
    /// Number of keys with a `None` db/rp, and with a `None` measurement (lookups skipped
    /// when zero).
    any_dbrp: usize,
    any_measurement: usize,
    /// Dataflow key of each slot (`None`: free).
    slots: Vec<Option<String>>,
    /// Keys registered for each slot (to remove them again).
    keys_of: Vec<Vec<LiveKey>>,
    /// Points batched per slot while routing one lane message (reused).
    bufs: Vec<Parcel>,
    /// Slots with points in `bufs`, in first-touch order.
    touched: Vec<u32>,
}

type LiveKey = (Option<(Sym, Sym)>, Option<Sym>);

impl LiveIndex {
    /// Subscribes dataflow `key` to what `feed` selects (nothing for a direct feed).
    fn add(&mut self, key: &str, feed: &Feed) {
        let Feed::Live {
            dbrps,
            measurements,
        } = feed
        else {
            return;
        };
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.slots.push(None);
                self.keys_of.push(Vec::new());
                self.bufs.push(Parcel::default());
                self.slots.len() - 1
            }
        };
        self.slots[slot] = Some(key.to_string());
        let dbs: Vec<Option<(Sym, Sym)>> = if dbrps.is_empty() {
            vec![None]
        } else {
            dbrps
                .iter()
                .map(|d| Some((Sym::new(&d.db), Sym::new(&d.rp))))
                .collect()
        };
        let ms: Vec<Option<Sym>> = match measurements {
            None => vec![None],
            Some(ms) => ms.iter().map(|m| Some(Sym::new(m))).collect(),
        };
        let mut keys = Vec::new();
        for db in &dbs {
            for m in &ms {
                let k = (*db, *m);
                if keys.contains(&k) {
                    continue;
                }
                keys.push(k);
                self.subs.entry(k).or_default().push(slot as u32);
                self.any_dbrp += usize::from(db.is_none());
                self.any_measurement += usize::from(m.is_none());
            }
        }
        self.keys_of[slot] = keys;
    }

    /// Unsubscribes dataflow `key`.
    fn remove(&mut self, key: &str) {
        let Some(slot) = self.slots.iter().position(|s| s.as_deref() == Some(key)) else {
            return;
        };
        self.slots[slot] = None;
        for k in std::mem::take(&mut self.keys_of[slot]) {
            if let Some(list) = self.subs.get_mut(&k) {
                list.retain(|&s| s as usize != slot);
                if list.is_empty() {
                    self.subs.remove(&k);
                }
            }
            self.any_dbrp -= usize::from(k.0.is_none());
            self.any_measurement -= usize::from(k.1.is_none());
        }
        self.bufs[slot] = Parcel::default();
    }

    /// Routes one epoch of live points to the dataflows subscribed to them. When every
    /// point goes to one dataflow (the points of a write share their database and retention
    /// policy, and mostly their measurement), the parcel goes to it whole; otherwise each
    /// point is moved to its dataflows' parcels, cloned for all but the last.
    fn route(
        &mut self,
        epoch: u64,
        mut points: Parcel,
        dfs: &mut BTreeMap<String, Df>,
        spare: &Spare,
    ) {
        if self.subs.is_empty() {
            spare.put([points]);
            return;
        }
        let mut slots = Slots::default();
        if let Some(slot) = self.only_slot(&points.msgs, &mut slots) {
            if let Some(df) = self.dataflow(slot, dfs) {
                df.send(epoch, &mut points);
            }
            spare.put([points]);
            return;
        }
        // A dataflow's container for this epoch starts with room for much of the write
        // (timely took last epoch's): it grows by copying less often.
        let room = points.len().min(LIVE_ROOM);
        points.materialize();
        let (heads, msgs) = points.split();
        for (head, msg) in heads.iter().zip(msgs.drain(..)) {
            let Msg::Point(p) = msg else {
                continue;
            };
            let found = slots.of(self, &p);
            let Some((&last, rest)) = found.split_last() else {
                continue;
            };
            for &slot in rest {
                self.push(slot, *head, Msg::Point(p.clone()), spare, room);
            }
            self.push(last, *head, Msg::Point(p), spare, room);
        }
        spare.put([points]);
        for slot in std::mem::take(&mut self.touched) {
            let slot = slot as usize;
            let mut batch = std::mem::take(&mut self.bufs[slot]);
            if let Some(df) = self.dataflow(slot as u32, dfs) {
                df.send(epoch, &mut batch);
            }
            batch.clear();
            self.bufs[slot] = batch;
        }
    }

    /// The one dataflow slot every message of `msgs` (all points) goes to, if there is one.
    fn only_slot(&self, msgs: &[Msg], slots: &mut Slots) -> Option<u32> {
        let mut only = None;
        for m in msgs {
            let Msg::Point(p) = m else {
                return None;
            };
            match (slots.of(self, p), only) {
                (&[s], None) => only = Some(s),
                (&[s], Some(o)) if s == o => {}
                _ => return None,
            }
        }
        only
    }

    /// The dataflow in `slot`, if it is installed here.
    fn dataflow<'d>(&self, slot: u32, dfs: &'d mut BTreeMap<String, Df>) -> Option<&'d mut Df> {
        let key = self.slots.get(slot as usize)?.as_ref()?;
        dfs.get_mut(key)
    }

    /// Appends to `found` the slots of the dataflows subscribed to `p`.
    fn lookup(&self, p: &Point, found: &mut Vec<u32>) {
        let dbrp = Some((p.db, p.rp));
        let m = Some(p.name);
        let mut look = |k: LiveKey| {
            if let Some(list) = self.subs.get(&k) {
                found.extend_from_slice(list);
            }
        };
        look((dbrp, m));
        if self.any_measurement > 0 {
            look((dbrp, None));
        }
        // A dataflow fed "every database" does not get Kapacitor's internal statistics:
        // only one that names their database does.
        if self.any_dbrp > 0 && p.db != *INTERNAL_DB {
            look((None, m));
            if self.any_measurement > 0 {
                look((None, None));
            }
        }
    }

    #[inline(always)]
    fn push(&mut self, slot: u32, head: Head, msg: Msg, spare: &Spare, room: usize) {
        let buf = &mut self.bufs[slot as usize];
        if buf.is_empty() {
            self.touched.push(slot);
            if buf.capacity() == 0 {
                *buf = spare.take(room);
            }
        }
        buf.push(head, msg);
    }
}

/// The dataflow slots of the last point looked up, by its database, retention policy and
/// measurement: the points of a write share the first two, and mostly the third.
#[derive(Default)]
struct Slots {
    key: Option<(Sym, Sym, Sym)>,
    found: Vec<u32>,
}

impl Slots {
    /// The slots of the dataflows subscribed to `p`.
    #[inline]
    fn of(&mut self, index: &LiveIndex, p: &Point) -> &[u32] {
        let key = Some((p.db, p.rp, p.name));
        if self.key != key {
            self.key = key;
            self.found.clear();
            index.lookup(p, &mut self.found);
        }
        &self.found
    }
}

/// One empty parcel per worker of `peers`, with room for an even share of `n` messages
/// (and some), reusing emptied parcels.
fn parcels(n: usize, peers: usize, spare: &Spare) -> Vec<Parcel> {
    let room = if peers == 1 {
        n
    } else {
        n / peers + n / 8 + 16
    };
    (0..peers).map(|_| spare.take(room)).collect()
}

/// Numbers `points` from `first`, groups them and splits them into one parcel of messages
/// per worker of `peers`: by `grouping` (a dataflow's only `from`: the nodes after it need
/// no exchange), else by series ([`Lanes`]).
fn partition(
    points: Vec<Point>,
    first: u64,
    grouping: Option<&FromGrouping>,
    peers: usize,
    spare: &Spare,
) -> Vec<Parcel> {
    let n = points.len();
    let mut lanes = Lanes::default();
    // Each point is grouped as it moves to its worker's parcel: one pass, which the
    // thread splitting (a `/write`'s, or the worker a direct write reached) finishes
    // sooner than a pass to group and another to move (`benches/engine.rs`).
    let mut parts = parcels(n, peers, spare);
    for (seq, mut p) in (first..).zip(points) {
        let lane = match grouping {
            Some(g) => {
                g.group(&mut p);
                worker_for(p.group.0, peers)
            }
            None => lanes.assign(&mut p, peers),
        };
        parts[lane].push_ingest(seq, Msg::Point(p));
    }
    parts
}

/// What a worker keeps of its lane between messages.
struct LaneState<'s> {
    live: LiveIndex,
    /// The latest epoch every lane has advanced to.
    epoch: u64,
    /// Lane messages for dataflows whose install command has not arrived yet.
    pending: HashMap<String, Vec<Lane>>,
    /// When the dataflows last swept their idle state.
    swept: Instant,
    spare: &'s Spare,
    /// Workers of the computation.
    peers: usize,
}

fn apply_lane(l: Lane, dfs: &mut BTreeMap<String, Df>, st: &mut LaneState<'_>) {
    let LaneState {
        live,
        epoch,
        pending,
        swept,
        spare,
        peers,
    } = st;
    match l {
        Lane::Chunk {
            id,
            epoch: e,
            points,
            first,
            grouping,
        } => match dfs.get_mut(&id) {
            Some(df) => {
                let parts = partition(points, first, Some(&grouping), *peers, spare);
                for mut part in parts {
                    if !part.is_empty() {
                        df.send(e, &mut part);
                    }
                    spare.put([part]);
                }
            }
            None => pending.entry(id.clone()).or_default().push(Lane::Chunk {
                id,
                epoch: e,
                points,
                first,
                grouping,
            }),
        },
        Lane::Live { epoch: e, points } => live.route(e, points, dfs, spare),
        Lane::Direct {
            id,
            epoch: e,
            mut items,
        } => match dfs.get_mut(&id) {
            Some(df) => df.send(e, &mut items),
            None => pending.entry(id.clone()).or_default().push(Lane::Direct {
                id,
                epoch: e,
                items,
            }),
        },
        Lane::Advance(e) => {
            *epoch = (*epoch).max(e);
            let sweep = swept.elapsed() >= SWEEP;
            if sweep {
                *swept = Instant::now();
            }
            for df in dfs.values_mut() {
                df.follow(e, sweep);
            }
        }
        Lane::Close { id } => match dfs.get_mut(&id) {
            Some(df) => {
                df.input.take();
            }
            None => pending
                .entry(id.clone())
                .or_default()
                .push(Lane::Close { id }),
        },
        Lane::Shutdown => {}
    }
}

/// A built dataflow: its index, input, probe, and its mark of new data ([`Df::fresh`]).
type Built = (
    usize,
    InputHandle<u64, CapacityContainerBuilder<Parcel>>,
    ProbeHandle<u64>,
    Arc<AtomicU64>,
);

#[allow(clippy::too_many_arguments)]
fn build_dataflow(
    worker: &mut timely::worker::Worker,
    key: &str,
    task: &str,
    plan: &Pipeline,
    feed: &Feed,
    services: Services,
    shared: &Arc<Shared>,
    origin: usize,
) -> Result<Built, String> {
    // With one worker every exchange would route to this worker: one stage runs the whole
    // plan depth first, Kapacitor's order, which the stages restore by sorting anyway.
    let st = if worker.peers() == 1 {
        fused(plan)
    } else {
        // Ingest may partition by the group of the plan's only `from` (`feed_points`): the
        // worker a write reaches splits it, and the first stage's exchange moves each share
        // (whole) to the worker of its group. In a cluster, what ingest split for the
        // workers of other processes reaches a lane here, and the first stage's exchange
        // moves it on, to the worker of its series.
        let from = partitioning_from(plan, feed, worker.peers());
        let mut st = stages_after(plan, from);
        if from.is_some() || shared.processes > 1 {
            st.keys[0] = StageKey::Group;
        }
        st
    };
    let stage_of = Arc::new(st.stage_of.clone());
    // Build every stage's executor before touching timely, so an error leaves no dataflow.
    let mut execs = Vec::new();
    let mut wakers = Vec::new();
    for k in 0..st.keys.len() {
        let waker = Arc::new(crate::node::StageWaker::default());
        let services = services
            .clone()
            .with(crate::node::STAGE_WAKER, Arc::clone(&waker));
        execs.push(
            TaskExec::new_segment(task, plan, services, Arc::clone(&stage_of), k)
                .map_err(|e| e.to_string())?,
        );
        wakers.push(waker);
    }
    let df_index = worker.next_dataflow_index();
    // The dataflow's mark of new data: a stage whose timer emitted marks it, so the next
    // watermark moves the dataflow on and its later stages see the timer's output then,
    // not at the next sweep.
    let fresh = Arc::clone(
        shared
            .fresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default(),
    );
    let me = worker.index() as u64;
    let peers = worker.peers();
    // What a gathering stage gathers goes to the first worker of the installing process:
    // its httpOut endpoints are served by that process.
    let gather = (origin * lane_workers(worker, shared)) as u64;
    let key_name = key;
    let mut input = InputHandle::new();
    let probe = ProbeHandle::new();
    worker.dataflow_named::<u64, _, _>(&format!("task:{key}"), |scope| {
        let mut stream: Stream<'_, u64, Parcel> = input.to_stream(scope);
        for (k, exec) in execs.into_iter().enumerate() {
            let key = st.keys[k].clone();
            // A gathering stage's timers run on the worker that holds its data.
            let tick_here = key != StageKey::Gather || me == gather;
            // The next stage's exchange: this stage splits what it sends by worker already.
            let next = st
                .keys
                .get(k + 1)
                .filter(|key| **key != StageKey::Local)
                .map(|key| {
                    Router::new(
                        key.clone(),
                        Arc::clone(&stage_of),
                        k + 1,
                        (me, gather),
                        peers,
                    )
                });
            let stage_of = Arc::clone(&stage_of);
            let shared = Arc::clone(shared);
            let stage_fresh = Arc::clone(&fresh);
            let waker = Arc::clone(&wakers[k]);
            let name = format!("stage{k}");
            // Zeros for every node until the stage publishes: an idle task still shows them.
            let slot = Arc::new(Mutex::new(StageStats {
                nodes: exec.node_stats(),
                edges: exec.edge_stats(),
            }));
            shared
                .stats
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(key_name.to_string())
                .or_default()
                .push(Arc::clone(&slot));
            stream = match key {
                StageKey::Local => stream
                    .unary_frontier::<CapacityContainerBuilder<Parcel>, _, _, _>(
                        PipelinePact,
                        &name,
                        move |cap, info| {
                            let sync = scope.worker().sync_activator_for(info.address.to_vec());
                            waker.set(Box::new(move || {
                                let _ = sync.activate();
                            }));
                            let activator = scope.activator_for(info.address);
                            let timer = tick_here.then_some(stage_fresh);
                            stage_logic(
                                cap, exec, stage_of, k, activator, timer, slot, next, shared,
                            )
                        },
                    ),
                StageKey::Group | StageKey::Gather | StageKey::On(_) => {
                    let router = Router::new(key, Arc::clone(&stage_of), k, (me, gather), peers);
                    stream.unary_frontier::<CapacityContainerBuilder<Parcel>, _, _, _>(
                        DistributorPact(move |_peers| Split { router }),
                        &name,
                        move |cap, info| {
                            let sync = scope.worker().sync_activator_for(info.address.to_vec());
                            waker.set(Box::new(move || {
                                let _ = sync.activate();
                            }));
                            let activator = scope.activator_for(info.address);
                            let timer = tick_here.then_some(stage_fresh);
                            stage_logic(
                                cap, exec, stage_of, k, activator, timer, slot, next, shared,
                            )
                        },
                    )
                }
            };
        }
        stream.probe_with(&probe);
    });
    Ok((df_index, input, probe, fresh))
}

/// Where the messages entering stage `k` go: those for its nodes by the stage's key, those
/// passing through to later stages stay on this worker.
#[derive(Clone)]
struct Router {
    key: StageKey,
    stage_of: Arc<Vec<usize>>,
    k: usize,
    me: u64,
    /// The worker a gathering stage gathers to.
    gather: u64,
    peers: usize,
}

impl Router {
    /// The router of stage `k`, on worker `me` of `peers`, gathering to `gather`.
    fn new(
        key: StageKey,
        stage_of: Arc<Vec<usize>>,
        k: usize,
        (me, gather): (u64, u64),
        peers: usize,
    ) -> Router {
        Router {
            key,
            stage_of,
            k,
            me,
            gather,
            peers,
        }
    }

    /// The worker of a message.
    fn worker(&self, head: &Head, msg: &Msg) -> usize {
        self.worker_of(head.dest as usize, msg)
    }

    /// The worker all of `msgs` for node `dest` go to, if they go to one.
    fn worker_of_all(&self, dest: usize, msgs: &[Msg]) -> Option<usize> {
        let (head, rest) = msgs.split_first()?;
        let first = self.worker_of(dest, head);
        // Passing through, or gathered: one worker whatever the messages. By group (the
        // common case), the stage and key are read once, not per message.
        let one = self.stage_of[dest] != self.k
            || match &self.key {
                StageKey::Gather => true,
                StageKey::On(_) => rest.iter().all(|m| self.worker_of(dest, m) == first),
                StageKey::Local | StageKey::Group => {
                    let peers = self.peers;
                    rest.iter().all(|m| worker_for(m.group().0, peers) == first)
                }
            };
        one.then_some(first)
    }

    /// The worker of a message `msg` for node `dest`.
    fn worker_of(&self, dest: usize, msg: &Msg) -> usize {
        let hash = if self.stage_of[dest] != self.k {
            self.me
        } else {
            match &self.key {
                StageKey::Gather => self.gather,
                StageKey::On(tags) => on_key(msg, tags),
                _ => msg.group().0,
            }
        };
        worker_for(hash, self.peers)
    }
}

/// Sends a stage's outgoing containers on to the workers its [`Router`] picks. Every such
/// container comes from an [`Outbox`], which holds one worker's messages per container: it
/// moves there whole, uncopied, by its first message's worker (debug builds check the
/// others). timely's own distributor copies every message into buffers of 8 KB, sent one
/// by one.
struct Split {
    router: Router,
}

impl timely::dataflow::channels::pushers::exchange::Distributor<Parcel> for Split {
    fn partition<T: Clone, P>(
        &mut self,
        container: &mut Parcel,
        stamp: &timely::progress::Stamp<T>,
        pushers: &mut [P],
    ) where
        P: timely::communication::Push<timely::dataflow::channels::Message<T, Parcel>>,
    {
        debug_assert_eq!(pushers.len(), self.router.peers);
        container.materialize();
        let (Some(h), Some(m)) = (container.heads().first(), container.msgs.first()) else {
            return;
        };
        let w = self.router.worker(h, m);
        debug_assert!(
            container
                .heads()
                .iter()
                .zip(&container.msgs)
                .all(|(h, m)| self.router.worker(h, m) == w)
        );
        timely::dataflow::channels::Message::push_at(container, stamp.clone(), &mut pushers[w]);
        // A pusher may hand back a used container: nothing of it is ours to send.
        container.clear();
    }

    fn flush<T: Clone, P>(&mut self, _: &timely::progress::Stamp<T>, _: &mut [P])
    where
        P: timely::communication::Push<timely::dataflow::channels::Message<T, Parcel>>,
    {
        // Nothing is held back between containers.
    }
}

/// The input of a stage operator: its input handle and frontier.
type StageInput<'a, 'b, P> = (
    &'a mut timely::dataflow::operators::generic::InputHandleCore<u64, Parcel, P>,
    &'b timely::progress::frontier::MutableAntichain<u64>,
);
/// The output session builder of a stage operator.
type StageOutput<'a> = timely::dataflow::operators::generic::OutputBuilderSession<
    'a,
    u64,
    CapacityContainerBuilder<Parcel>,
>;

#[allow(clippy::too_many_arguments)]
fn stage_logic<P>(
    cap: Capability<u64>,
    mut exec: TaskExec,
    stage_of: Arc<Vec<usize>>,
    k: usize,
    activator: timely::scheduling::Activator,
    timer: Option<Arc<AtomicU64>>,
    slot: Arc<Mutex<StageStats>>,
    next: Option<Router>,
    shared: Arc<Shared>,
) -> impl FnMut(StageInput<'_, '_, P>, &mut StageOutput<'_>)
where
    P: timely::communication::Pull<timely::dataflow::channels::Message<u64, Parcel>>,
{
    let mut held: Option<Capability<u64>> = Some(cap);
    // What arrived per epoch, as the parcels timely handed over (moved, not copied).
    let mut stash: BTreeMap<u64, (Capability<u64>, Vec<Parcel>)> = BTreeMap::new();
    // Reused buffers: the executor's exits, and a run of messages for a chaining node.
    let mut exits: Vec<(usize, usize, Msg)> = Vec::new();
    let mut run = Parcel::default();
    let mut finished = false;
    // The latest epoch processed: the end-of-input flush must not overtake it.
    let mut latest: u64 = 0;
    // Stages holding wall-clock nodes (barrier, stats, influxDBOut) wake up on their own.
    let ticks = timer.is_some() && exec.ticks();
    if ticks {
        activator.activate_after(TICK);
    }
    let mut dirty = false;
    // Whether the stage asked to be woken to publish counts it held back.
    let mut wake_asked = false;
    let mut published = Instant::now();
    move |(input, frontier), output| {
        // `for_each` keeps arrival order (FIFO per sending worker), which the merge below
        // relies on for ties. timely drops what is left in a parcel's place, so it gets an
        // empty one (no allocation); the emptied parcels are reused after processing.
        input.for_each(|c, data| {
            let Some(t) = c.least().copied() else { return };
            let Some(owned) = c.retain_least(0) else {
                return;
            };
            let entry = stash.entry(t).or_insert_with(|| (owned, Vec::new()));
            let mut parcel = std::mem::take(data);
            // Ingest wrote sequence numbers only: their heads are made here, where they
            // are read.
            parcel.materialize();
            entry.1.push(parcel);
        });
        while let Some((&t, _)) = stash.first_key_value() {
            if frontier.less_equal(&t) {
                break;
            }
            let Some((c, mut parcels)) = stash.remove(&t) else {
                break;
            };
            latest = latest.max(t);
            // What this epoch sends on, handed to timely as one parcel per worker: given
            // one by one, each message would be copied into timely's small buffers once more.
            let arrived: usize = parcels.iter().map(Parcel::len).sum();
            let mut outbox = Outbox::new(next.as_ref(), arrived, &shared.spare);
            let mut walk = Walk {
                exec: &mut exec,
                stage_of: &stage_of,
                k,
                run: &mut run,
                run_to: None,
                exits: &mut exits,
                outbox: &mut outbox,
                delivered: false,
            };
            if parcel::one_run(&parcels) {
                // One sender (or ingest): its parcels in arrival order are the epoch's order.
                for p in &mut parcels {
                    walk.parcel(p);
                }
            } else {
                // Each sending worker's parcels arrive in order: merging them moves each
                // message once (a sort of the whole epoch moved it a dozen times, through
                // buffers as large as the epoch).
                for (head, msg) in Merged::new(&mut parcels) {
                    walk.message(head, msg);
                }
            }
            walk.flush();
            dirty |= walk.delivered;
            outbox.send(output, &c);
            // The emptied parcels are filled again.
            shared.spare.put(parcels);
        }
        // The capability follows the frontier before the timers run: what they emit goes
        // after the epochs just processed. (Emitted at an older time, it reached later
        // stages before what those epochs emitted: a UDF's answer taken on the timer
        // overtook the one taken with the data before it.)
        if let (Some(h), Some(&min)) = (held.as_mut(), frontier.frontier().first())
            && h.time() < &min
        {
            h.downgrade(&min);
        }
        if ticks
            && !frontier.is_empty()
            && let Some(h) = held.as_ref()
        {
            let now = exec.services().clock.now();
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exec.tick(now))).is_err() {
                exec.record_panic(0);
            }
            let exits = exec.take_exits();
            if !exits.is_empty() {
                let mut outbox = Outbox::new(next.as_ref(), exits.len(), &shared.spare);
                // After the epoch's data, before the next ingest message.
                outbox.post_exits(exits, (u64::MAX - 1, 0, 0));
                outbox.send(output, h);
                if let Some(fresh) = &timer {
                    fresh.fetch_max(*h.time(), Ordering::Relaxed);
                }
            }
            activator.activate_after(TICK);
            // Wall-clock nodes change their counters on their own (influxDBOut's writes
            // complete in the background).
            dirty = true;
        }
        // Publish at most every STATS_EVERY while busy; counts held back are published
        // when the stage wakes again, which it asks for (an idle dataflow's stages are not
        // woken by the watermark heartbeat until the sweep).
        if (dirty && published.elapsed() >= STATS_EVERY) || (frontier.is_empty() && !finished) {
            dirty = false;
            wake_asked = false;
            published = Instant::now();
            let mut st = slot.lock().unwrap_or_else(|e| e.into_inner());
            st.nodes = exec.node_stats();
            st.edges = exec.edge_stats();
        } else if dirty && !wake_asked {
            // Once per held-back publication: a busy stage runs many times in between.
            wake_asked = true;
            activator.activate_after(STATS_EVERY.saturating_sub(published.elapsed()));
        }
        if frontier.is_empty() {
            if !finished {
                finished = true;
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exec.finish())).is_err()
                {
                    exec.record_panic(0);
                }
                let exits = exec.take_exits();
                if let Some(h) = held.as_ref()
                    && !exits.is_empty()
                {
                    let flush_cap = if *h.time() < latest {
                        h.delayed(&latest)
                    } else {
                        h.clone()
                    };
                    let mut outbox = Outbox::new(next.as_ref(), exits.len(), &shared.spare);
                    outbox.post_exits(exits, (u64::MAX, 0, 0));
                    outbox.send(output, &flush_cap);
                }
            }
            held = None;
        }
    }
}

/// A stage handling one epoch's messages, in order: those for its chaining nodes in runs
/// (a chunk per node), the others one at a time, those for later stages posted on.
struct Walk<'a, 'r> {
    exec: &'a mut TaskExec,
    stage_of: &'a [usize],
    /// This stage.
    k: usize,
    /// Messages gathered one by one for a chaining node, delivered as one chunk.
    run: &'a mut Parcel,
    /// The node and input of the messages in `run`.
    run_to: Option<(usize, usize)>,
    exits: &'a mut Vec<(usize, usize, Msg)>,
    outbox: &'a mut Outbox<'r>,
    /// Whether any message reached a node of this stage.
    delivered: bool,
}

impl Walk<'_, '_> {
    /// Handles a parcel, in order. A parcel whose messages all go to one chaining node of
    /// this stage (what ingest sends, and most stage-to-stage traffic) goes to it whole:
    /// its messages are the chunk the node reads, not copied into a run first.
    fn parcel(&mut self, p: &mut Parcel) {
        if let Some((dest, input)) = p.to()
            && self.stage_of[dest as usize] == self.k
            && self.exec.chains(dest as usize)
        {
            self.flush();
            self.delivered = true;
            let to = (dest as usize, usize::from(input));
            let (heads, msgs) = p.split();
            deliver(self.exec, to, msgs, heads, self.outbox);
            return;
        }
        let (heads, msgs) = p.split();
        for (head, msg) in heads.iter().zip(msgs.drain(..)) {
            self.message(*head, msg);
        }
    }

    /// Handles one message.
    fn message(&mut self, head: Head, msg: Msg) {
        if self.stage_of[head.dest as usize] != self.k {
            self.outbox.post(head, msg);
            return;
        }
        self.delivered = true;
        let to = (head.dest as usize, head.input as usize);
        if self.exec.chains(to.0) {
            if self.run_to != Some(to) {
                self.flush();
                self.run_to = Some(to);
            }
            self.run.push(head, msg);
            if self.run.len() >= RUN_MAX {
                self.deliver_run(to);
            }
            return;
        }
        self.flush();
        // A bug in one node must not take the worker (and every task) down.
        let exec = &mut *self.exec;
        let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            exec.deliver(to.0, to.1, msg)
        }));
        if delivered.is_err() {
            exec.record_panic(to.0);
        }
        exec.swap_exits(self.exits);
        self.outbox.post_exits(self.exits.drain(..), head.origin());
    }

    /// Delivers the pending run, if any.
    fn flush(&mut self) {
        if let Some(to) = self.run_to.take() {
            self.deliver_run(to);
        }
    }

    /// Delivers the run to `to` (node and input), leaving it empty.
    fn deliver_run(&mut self, to: (usize, usize)) {
        let (heads, msgs) = self.run.split();
        deliver(self.exec, to, msgs, heads, self.outbox);
        self.run.clear();
    }
}

/// The most room an epoch's outbox starts with (it grows past it when needed).
const OUTBOX_MAX: usize = 1 << 14;

/// What a stage sends on while handling an epoch, one parcel per worker of the next stage
/// (split by its [`Router`]): each goes to timely whole, so the exchange moves it instead
/// of copying its messages. Every parcel leaves in [`Head::key`] order, so the stage
/// receiving it need not check: a stage posts in the order it processes, which only a path
/// too deep to extend ([`Head::exit`]) can break, and a parcel it broke is sorted before it
/// leaves.
struct Outbox<'r> {
    router: Option<&'r Router>,
    parts: Vec<Part>,
    spare: &'r Spare,
    /// The room a part starts with, taken from `spare` at its first message.
    room: usize,
}

/// One worker's parcels of an [`Outbox`] (messages are posted to the last; a chunk's exits
/// may come as a parcel of their own), with the order key of the last message.
#[derive(Default)]
struct Part {
    parcels: Vec<Parcel>,
    last: OrderKey,
    unsorted: bool,
}

impl<'r> Outbox<'r> {
    /// Room for an even share of `arrived` messages per worker.
    fn new(router: Option<&'r Router>, arrived: usize, spare: &'r Spare) -> Outbox<'r> {
        let n = router.map_or(1, |r| r.peers);
        Outbox {
            router,
            parts: (0..n).map(|_| Part::default()).collect(),
            spare,
            room: (arrived / n + 16).min(OUTBOX_MAX),
        }
    }

    /// Posts a message that goes on as it is (for a node of a later stage).
    fn post(&mut self, head: Head, msg: Msg) {
        let w = self.router.map_or(0, |router| router.worker(&head, &msg));
        self.part(w, head.key()).push(head, msg);
    }

    /// Posts exit `k` of the message at `origin` for node and input `dest`
    /// ([`Head::exit`]); its worker is known before its head is made.
    fn post_exit(&mut self, dest: (usize, usize), origin: Origin, k: usize, msg: Msg) {
        let w = self
            .router
            .map_or(0, |router| router.worker_of(dest.0, &msg));
        let head = Head::exit(dest, origin, k);
        self.part(w, head.key()).push(head, msg);
    }

    /// Worker `w`'s last parcel, about to take a message of order `key`.
    fn part(&mut self, w: usize, key: OrderKey) -> &mut Parcel {
        let part = &mut self.parts[w];
        if part.parcels.is_empty() {
            part.parcels.push(self.spare.take(self.room));
        } else if key < part.last {
            part.unsorted = true;
        }
        part.last = key;
        part.parcels.last_mut().expect("a part has a parcel")
    }

    /// Posts `msgs`, all for node and input `dest`, as a parcel of their own if they go to
    /// one worker (the buffer is taken, an empty one left in its place): message `i` gets
    /// head `heads(i)`. Returns `false`, having posted nothing, if they go to several.
    fn post_all(
        &mut self,
        dest: usize,
        msgs: &mut Vec<Msg>,
        heads: impl Iterator<Item = Head>,
    ) -> bool {
        if msgs.is_empty() {
            return true;
        }
        let w = match self.router {
            Some(router) => match router.worker_of_all(dest, msgs) {
                Some(w) => w,
                None => return false,
            },
            None => 0,
        };
        let mut parcel = self.spare.take(0);
        std::mem::swap(&mut parcel.msgs, msgs);
        parcel.set_heads(heads);
        let Some((first, last)) = parcel.bounds() else {
            return true;
        };
        let part = &mut self.parts[w];
        if !part.parcels.is_empty() && first < part.last {
            part.unsorted = true;
        }
        part.last = last;
        // An emptied last parcel gives way to it.
        if part.parcels.last().is_some_and(Parcel::is_empty) {
            part.parcels.pop();
        }
        part.parcels.push(parcel);
        true
    }

    /// Sorts each part posted out of order (stably: ties keep the order they were posted
    /// in) into one parcel, as the next stage expects every parcel.
    fn seal(&mut self) {
        for part in &mut self.parts {
            if part.unsorted {
                let mut all = std::mem::take(&mut part.parcels).into_iter();
                let mut one = all.next().unwrap_or_default();
                for mut p in all {
                    one.append(&mut p);
                }
                one.sort();
                part.parcels.push(one);
                part.unsorted = false;
            }
        }
    }

    /// Posts what the executor sent on to other stages while handling the message at
    /// `origin`, in order ([`Head::exit`]).
    fn post_exits(&mut self, exits: impl IntoIterator<Item = (usize, usize, Msg)>, origin: Origin) {
        for (k, (dest, input, msg)) in exits.into_iter().enumerate() {
            self.post_exit((dest, input), origin, k, msg);
        }
    }

    /// Gives timely what was posted, at `cap`'s time.
    fn send(&mut self, output: &mut StageOutput<'_>, cap: &Capability<u64>) {
        self.seal();
        let mut session = output.session(cap);
        for part in &mut self.parts {
            for parcel in &mut part.parcels {
                if !parcel.is_empty() {
                    session.give_container(parcel);
                }
            }
        }
    }
}

/// The longest run of messages gathered one by one into a chunk: long enough to amortize
/// the per-node work of a run (1024 measured no faster), short enough that what a run's
/// nodes emit stays in cache and the buffers every busy task's stages keep stay small (a
/// few tens of KB). Parcels that go to one node whole are not cut.
const RUN_MAX: usize = 256;

/// Delivers `msgs`, whose heads are `heads`, to `to` (node and input) as one chunk, leaving
/// `msgs` empty, and posts what it sends to other stages to `outbox` as it is made, each
/// under its message's ingest sequence with its path extended as one message at a time
/// would (a panic outside the nodes' calls loses the chunk, counted as an error of `to`'s
/// node).
fn deliver(
    exec: &mut TaskExec,
    to: (usize, usize),
    msgs: &mut Vec<Msg>,
    heads: &[Head],
    outbox: &mut Outbox<'_>,
) {
    if msgs.is_empty() {
        return;
    }
    let mut exits = ToOutbox {
        outbox,
        heads,
        last: None,
        k: 0,
    };
    let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        exec.deliver_chunk_to(to.0, to.1, msgs, &mut exits)
    }));
    if delivered.is_err() {
        msgs.clear();
        exec.record_panic(to.0);
    }
}

/// Where a chunk's exits go: to the outbox, each under the head of the chunk message it
/// derives from, with its path extended as one message at a time would.
struct ToOutbox<'a, 'r> {
    outbox: &'a mut Outbox<'r>,
    /// The heads of the chunk's messages.
    heads: &'a [Head],
    /// The origin of the last exit, and its number among that origin's exits.
    last: Option<u32>,
    k: usize,
}

/// The number of the next exit of `origin`, after the exit numbered `k` of origin `last`
/// (exits come grouped by origin, in order: each origin's are numbered from 0).
fn number(last: &mut Option<u32>, k: &mut usize, origin: u32) -> usize {
    *k = if *last == Some(origin) { *k + 1 } else { 0 };
    *last = Some(origin);
    *k
}

impl crate::exec::ChunkExits for ToOutbox<'_, '_> {
    fn exit(&mut self, origin: u32, dest: usize, input: usize, msg: Msg) {
        let k = number(&mut self.last, &mut self.k, origin);
        let from = self.heads[origin as usize].origin();
        self.outbox.post_exit((dest, input), from, k, msg);
    }

    fn exit_all(&mut self, dest: usize, input: usize, msgs: &mut Vec<Msg>, origins: &[u32]) {
        // Numbered as one at a time would, then posted whole if they go to one worker
        // (the numbering goes on from the last exit; nothing is numbered otherwise).
        let heads = self.heads;
        let (mut last, mut k) = (self.last, self.k);
        let numbered = origins.iter().map(|&o| {
            let n = number(&mut last, &mut k, o);
            Head::exit((dest, input), heads[o as usize].origin(), n)
        });
        if self.outbox.post_all(dest, msgs, numbered) {
            (self.last, self.k) = (last, k);
            return;
        }
        for (m, &origin) in msgs.drain(..).zip(origins) {
            self.exit(origin, dest, input, m);
        }
    }
}

/// The exchange key of a message for a `join(...).on(tags)`: its group id restricted to
/// `tags` (with the measurement when grouped by it), as Kapacitor's join matches.
fn on_key(msg: &Msg, tags: &[crate::point::Sym]) -> u64 {
    let (name, all_tags, by_name) = match msg {
        Msg::Point(p) => (p.name, &p.tags, p.dims.by_name),
        Msg::Batch(b) => (b.name, &b.tags, b.dims.by_name),
        Msg::Barrier(b) => (b.group.name, &b.group.tags, b.group.dims.by_name),
        Msg::DeleteGroup(g) => (g.name, &g.tags, g.dims.by_name),
    };
    crate::point::group_on(name, all_tags, by_name, tags).0
}

#[cfg(test)]
mod tests {
    use super::parcel::tests::msg;
    use super::*;

    fn point(host: &str) -> Msg {
        let tags =
            crate::point::list![(crate::point::Sym::new("host"), crate::point::Sym::new(host))];
        let fields = crate::point::list![(
            crate::point::Sym::new("v"),
            crate::point::FieldValue::Float(1.0)
        )];
        let mut p = Point::new("m", tags, fields, 0);
        Lanes::default().assign(&mut p, 1);
        Msg::Point(p)
    }

    /// The heads of every message of an outbox's part `w`, parcel after parcel.
    fn heads_of(outbox: &Outbox<'_>, w: usize) -> Vec<Head> {
        outbox.parts[w]
            .parcels
            .iter()
            .flat_map(|p| p.heads().iter().copied())
            .collect()
    }

    fn compiled(script: &str) -> Pipeline {
        kap_dsl::compile_source(script, &Default::default())
            .expect("script compiles")
            .pipeline
    }

    /// Node ids by name (`window2`), and the stage of each.
    fn stage_names(plan: &Pipeline, st: &Stages) -> Vec<(String, usize)> {
        plan.nodes
            .iter()
            .map(|n| (n.name.clone(), st.stage_of[n.id]))
            .collect()
    }

    #[test]
    fn a_dataflow_key_names_the_process_that_installed_it() {
        assert_eq!(key_of("t", 3, 0, 1), "t#3");
        assert_eq!(origin_of(&key_of("t", 3, 0, 1)), 0);
        for id in ["t", "a.b", "x#y.1"] {
            let key = key_of(id, 7, 2, 3);
            assert!(key.starts_with(id), "{key}");
            assert_eq!(origin_of(&key), 2, "{key}");
        }
    }

    #[test]
    fn a_direct_feed_through_one_from_is_partitioned_by_its_group_and_needs_no_exchange_after_it() {
        let plan = compiled(
            "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)\
             |mean('value')|alert().crit(lambda: \"mean\" < 10.0)",
        );
        assert!(ingest_grouping(&plan, &Feed::Direct, 2).is_some());
        // Live tasks share ingest's series partition; one worker has no exchange at all.
        assert!(ingest_grouping(&plan, &live_feed(), 2).is_none());
        assert!(ingest_grouping(&plan, &Feed::Direct, 1).is_none());
        let st = stages_after(&plan, only_from(&plan));
        assert_eq!(st.keys, vec![StageKey::Local]);
        // Without the partition, the nodes after `from` are a stage exchanged by group.
        let plain = stages(&plan);
        assert_eq!(plain.keys, vec![StageKey::Local, StageKey::Group]);
        assert_eq!(
            stage_names(&plan, &plain),
            [
                ("stream0", 0),
                ("from1", 0),
                ("window2", 1),
                ("mean3", 1),
                ("alert4", 1)
            ]
            .map(|(n, k)| (n.to_string(), k))
        );
    }

    #[test]
    fn after_a_partitioning_from_a_regrouping_node_still_starts_an_exchanged_stage() {
        let plan = compiled(
            "stream|from().groupBy('host')|groupBy('dc')|window().period(10s).every(10s)\
             |count('value')|httpOut('x')",
        );
        let st = stages_after(&plan, only_from(&plan));
        assert_eq!(
            stage_names(&plan, &st),
            [
                ("stream0", 0),
                ("from1", 0),
                ("groupby2", 0),
                ("window3", 1),
                ("count4", 1),
                ("http_out5", 2)
            ]
            .map(|(n, k)| (n.to_string(), k))
        );
        assert_eq!(
            st.keys,
            vec![StageKey::Local, StageKey::Group, StageKey::Gather]
        );
        // Two `from`s group differently: ingest cannot partition for both.
        let two = compiled(
            "var s = stream\n\
             s|from().groupBy('host')|httpOut('a')\n\
             s|from().groupBy('dc')|httpOut('b')",
        );
        assert!(only_from(&two).is_none());
        assert!(ingest_grouping(&two, &Feed::Direct, 2).is_none());
    }

    fn live_feed() -> Feed {
        Feed::Live {
            dbrps: Vec::new(),
            measurements: None,
        }
    }

    #[test]
    fn an_outbox_hands_over_every_parcel_in_order() {
        let spare = Spare::new(1);
        let mut outbox = Outbox::new(None, 8, &spare);
        // A path too deep to extend: exits of one message tie on (seq, path), and their
        // inputs may fall (node 7's input 1 before node 8's input 0).
        let deep = (5, 0, 6);
        outbox.post(Head::ingest(0, 1), msg());
        outbox.post_exit((7, 1), deep, 0, msg());
        outbox.post_exit((8, 0), deep, 1, msg());
        outbox.post(Head::ingest(0, 9), msg());
        assert!(outbox.parts[0].unsorted);
        outbox.seal();
        let got: Vec<(u64, u32)> = heads_of(&outbox, 0)
            .iter()
            .map(|h| (h.seq, h.dest))
            .collect();
        assert_eq!(got, vec![(1, 0), (5, 8), (5, 7), (9, 0)]);
        assert!(outbox.parts[0].parcels.iter().all(Parcel::is_sorted));
        assert_eq!(outbox.parts[0].parcels[0].msgs.len(), 4);
        // Posted in order, nothing moves.
        let mut outbox = Outbox::new(None, 8, &spare);
        outbox.post_exit((7, 1), (5, 0, 0), 0, msg());
        outbox.post_exit((8, 0), (5, 0, 0), 1, msg());
        assert!(!outbox.parts[0].unsorted);
    }

    #[test]
    fn a_chunk_posted_whole_takes_its_buffer_and_heads_as_one_at_a_time_would() {
        let spare = Spare::new(2);
        // Node 1 is stage 1's, exchanged by group among 2 workers.
        let router = Router::new(StageKey::Group, Arc::new(vec![0, 1]), 1, (0, 0), 2);
        // Hosts on different workers: not posted whole, nothing taken.
        let host_on = |w| {
            (0..64)
                .map(|i| point(&format!("h{i}")))
                .find(|m| router.worker_of(1, m) == w)
                .expect("a host on each worker")
        };
        let (on0, on1) = (host_on(0), host_on(1));
        let mut outbox = Outbox::new(Some(&router), 8, &spare);
        let mut mixed = vec![on0.clone(), on1.clone()];
        assert!(!outbox.post_all(1, &mut mixed, std::iter::empty()));
        assert_eq!(mixed.len(), 2);

        // Exits of chunk messages 0, 0, 2 (origin heads at seq 10, 11, 12): posted whole
        // they get the heads one-at-a-time exits would get, and the buffer moves.
        let heads = [
            Head::ingest(0, 10),
            Head::ingest(0, 11),
            Head::ingest(0, 12),
        ];
        let origins = [0u32, 0, 2];
        let one_by_one = {
            let mut outbox = Outbox::new(Some(&router), 8, &spare);
            let mut to = ToOutbox {
                outbox: &mut outbox,
                heads: &heads,
                last: None,
                k: 0,
            };
            for &o in &origins {
                crate::exec::ChunkExits::exit(&mut to, o, 1, 0, on1.clone());
            }
            heads_of(&outbox, 1)
        };
        let mut outbox = Outbox::new(Some(&router), 8, &spare);
        outbox.post(Head::ingest(1, 3), on1.clone());
        let mut to = ToOutbox {
            outbox: &mut outbox,
            heads: &heads,
            last: None,
            k: 0,
        };
        let mut chunk = vec![on1.clone(), on1.clone(), on1.clone()];
        let buffer = chunk.as_ptr();
        crate::exec::ChunkExits::exit_all(&mut to, 1, 0, &mut chunk, &origins);
        // The numbering goes on after the chunk as it would have.
        assert_eq!((to.last, to.k), (Some(2), 0));
        assert!(chunk.is_empty());
        let part = &outbox.parts[1];
        assert_eq!(part.parcels.len(), 2, "a parcel of its own");
        assert_eq!(
            part.parcels[1].msgs.as_ptr(),
            buffer,
            "the chunk's buffer, moved"
        );
        assert!(!part.unsorted);
        assert_eq!(heads_of(&outbox, 1)[1..], one_by_one[..]);
        assert!(outbox.parts[0].parcels.is_empty());
    }

    #[test]
    fn a_chunk_posted_whole_behind_later_messages_is_sorted_in() {
        let spare = Spare::new(1);
        let mut outbox = Outbox::new(None, 8, &spare);
        outbox.post(Head::ingest(1, 9), msg());
        let mut chunk = vec![msg(), msg()];
        let heads = [Head::ingest(1, 2), Head::ingest(1, 5)];
        assert!(outbox.post_all(1, &mut chunk, heads.iter().copied()));
        assert!(outbox.parts[0].unsorted);
        outbox.seal();
        let seqs: Vec<u64> = heads_of(&outbox, 0).iter().map(|h| h.seq).collect();
        assert_eq!(seqs, vec![2, 5, 9]);
        assert_eq!(outbox.parts[0].parcels.len(), 1);
    }
}
