//! `@name()`: a user-defined function, run by an agent outside the engine (a child process,
//! or a server on a unix socket) that the daemon starts through the [`UdfService`]
//! registered under [`UDF_SERVICE`].
//!
//! As in Kapacitor, each task node has its own agent, initialized with the node's option
//! calls. The node hands the agent every point or batch it receives and emits what the
//! agent sends back, whenever it arrives: an agent may answer each message, several, or
//! none (a batch UDF answers at the end of a batch), so the node collects its answers after
//! each message it sends and on its stage's timer, which the agent wakes when an answer
//! arrives. At the end of the input the agent's
//! input is closed and the node waits for the rest of its answers until it exits.
//!
//! The node runs on one worker (its stage gathers), so a task's UDF sees all its data, in
//! order, through one agent.
//!
//! Every `[task] snapshot-interval` ([`UdfService::snapshot_interval`]) the node asks its
//! agent for a snapshot of its state (once the last one came back) and hands it to the
//! service, which keeps it (counted as `snapshots` in the node's statistics); an agent
//! started later for the same task node (after a restart) is restored from it, as
//! Kapacitor's task snapshots do.

use crate::node::{BuildError, BuildInfo, Ctx, Processor, STAGE_WAKER, StageWaker};
use crate::point::Msg;
use kap_dsl::plan::UdfSpec;
use kap_dsl::value::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Node statistic: snapshots of its agent's state kept ([`UdfService::save_snapshot`]).
pub const SNAPSHOTS: &str = "snapshots";

/// Name of the [`UdfStarter`] service.
pub const UDF_SERVICE: &str = "udf";

/// What an agent sent back.
#[derive(Debug)]
pub enum Received {
    /// A point or a batch.
    Msg(Msg),
    /// The snapshot of its state the agent was asked for ([`UdfAgent::snapshot`]).
    Snapshot(Vec<u8>),
    /// Nothing within the wait.
    Nothing,
    /// The agent is gone: `None` when it exited after its input was closed, else why it
    /// failed (it answered an error, died, or sent what does not decode).
    Ended(Option<String>),
}

/// A running agent of one task node.
pub trait UdfAgent: Send {
    /// Hands the agent a point or a batch (waits while the agent does not read).
    fn send(&mut self, msg: &Msg) -> Result<(), String>;
    /// What the agent sent back, waiting at most `wait` for it.
    fn recv(&mut self, wait: Duration) -> Received;
    /// Closes the agent's input: it answers what it still holds, then exits.
    fn close(&mut self);
    /// Asks the agent for a snapshot of its state; it comes back through
    /// [`UdfAgent::recv`] as [`Received::Snapshot`]. The default asks nothing.
    fn snapshot(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// Wakes a UDF node when its agent has sent something.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// Starts the agents of UDFs.
pub trait UdfService: Send + Sync + std::fmt::Debug {
    /// Starts an agent of UDF `udf` for node `node` of task `task`, initialized with the
    /// node's option calls; the agent calls `wake` when an answer arrives, so the node
    /// takes it at once. `Err` says why it could not start or refused the options.
    fn start(
        &self,
        udf: &str,
        task: &str,
        node: &str,
        options: &[(String, Vec<Value>)],
        wake: Wake,
    ) -> Result<Box<dyn UdfAgent>, String>;

    /// How long the end of the input waits for the last answers of an agent of `udf`.
    fn timeout(&self, udf: &str) -> Duration;

    /// How often agents are asked for snapshots of their state (`[task]
    /// snapshot-interval`); `None`: never. An agent started later for the same task node
    /// is restored from the last one ([`UdfService::start`]).
    fn snapshot_interval(&self) -> Option<Duration> {
        None
    }

    /// Keeps the snapshot of node `node` of task `task`.
    fn save_snapshot(&self, task: &str, node: &str, snapshot: Vec<u8>) {
        let _ = (task, node, snapshot);
    }
}

/// The UDF service, registered under [`UDF_SERVICE`].
#[derive(Debug, Clone)]
pub struct UdfStarter(pub Arc<dyn UdfService>);

/// Builds a UDF node.
///
/// Without a [`UdfStarter`] (a plan checked before it is installed, an engine without
/// UDFs) the node builds, and says at its first message that no agent can be started.
pub(crate) fn build(spec: &UdfSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(Udf {
        spec: spec.clone(),
        service: info.services.get::<UdfStarter>(UDF_SERVICE),
        waker: info.services.get::<StageWaker>(STAGE_WAKER),
        agent: None,
        failed: false,
        snapshot_asked: None,
        snapshot_awaited: false,
    }))
}

struct Udf {
    spec: UdfSpec,
    service: Option<Arc<UdfStarter>>,
    /// Wakes the node's stage (its timer takes the agent's answers).
    waker: Option<Arc<StageWaker>>,
    /// Started on the first message or timer (only the worker holding the node's data
    /// gets either).
    agent: Option<Box<dyn UdfAgent>>,
    /// The agent could not start or failed: later messages are dropped, counted as errors.
    failed: bool,
    /// When the agent was last asked for a snapshot (its start counts as one).
    snapshot_asked: Option<Instant>,
    /// A snapshot was asked for and has not come back: no other is asked for meanwhile
    /// (a slow agent is not sent requests faster than it answers them).
    snapshot_awaited: bool,
}

impl Udf {
    /// The agent, started if need be; `None` when it cannot run (the error is counted and
    /// logged once).
    fn agent(&mut self, ctx: &mut Ctx<'_>) -> Option<&mut Box<dyn UdfAgent>> {
        if self.failed {
            return None;
        }
        if self.agent.is_none() {
            let Some(service) = &self.service else {
                let why = format!("UDF {}: no UDF service to start its agent", self.spec.name);
                self.fail(ctx, &why);
                return None;
            };
            let waker = self.waker.clone();
            let wake: Wake = Arc::new(move || {
                if let Some(w) = &waker {
                    w.wake();
                }
            });
            match service.0.start(
                &self.spec.name,
                ctx.task,
                ctx.node,
                &self.spec.options,
                wake,
            ) {
                Ok(a) => {
                    self.agent = Some(a);
                    self.snapshot_asked = Some(Instant::now());
                }
                Err(e) => {
                    self.fail(ctx, &format!("UDF {}: {e}", self.spec.name));
                    return None;
                }
            }
        }
        self.agent.as_mut()
    }

    fn fail(&mut self, ctx: &mut Ctx<'_>, why: &str) {
        self.failed = true;
        self.agent = None;
        // Logged whatever `.quiet()` says: the node stops working.
        ctx.error(false, why);
    }

    /// Asks the agent for a snapshot when `[task] snapshot-interval` has passed since the
    /// last request (or its start) and the last one has come back.
    fn snapshot_if_due(&mut self, ctx: &mut Ctx<'_>) {
        let Some(every) = self.service.as_ref().and_then(|s| s.0.snapshot_interval()) else {
            return;
        };
        if self.snapshot_awaited || self.snapshot_asked.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.snapshot_asked = Some(Instant::now());
        self.snapshot_awaited = true;
        if let Some(agent) = self.agent.as_mut()
            && let Err(e) = agent.snapshot()
        {
            let why = format!("UDF {}: {e}", self.spec.name);
            self.fail(ctx, &why);
        }
    }

    /// Emits what the agent sent back, waiting at most `wait` for the first answer.
    fn collect(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>, mut wait: Duration) {
        loop {
            let Some(agent) = self.agent.as_mut() else {
                return;
            };
            match agent.recv(wait) {
                Received::Msg(m) => out.push(m),
                Received::Snapshot(snapshot) => {
                    self.snapshot_awaited = false;
                    if let Some(service) = &self.service {
                        service.0.save_snapshot(ctx.task, ctx.node, snapshot);
                        ctx.stats.add(SNAPSHOTS, 1);
                    }
                }
                Received::Nothing => return,
                Received::Ended(None) => {
                    self.agent = None;
                    self.failed = true;
                    return;
                }
                Received::Ended(Some(why)) => {
                    let why = format!("UDF {}: {why}", self.spec.name);
                    self.fail(ctx, &why);
                    return;
                }
            }
            wait = Duration::ZERO;
        }
    }
}

impl Processor for Udf {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Point(_) | Msg::Batch(_) => {
                let Some(agent) = self.agent(ctx) else {
                    ctx.stats.errors += 1;
                    return;
                };
                if let Err(e) = agent.send(&msg) {
                    let why = format!("UDF {}: {e}", self.spec.name);
                    self.fail(ctx, &why);
                    return;
                }
                self.collect(ctx, out, Duration::ZERO);
            }
            // The agent sees data only; the group's end and barriers go on as they are.
            other => out.push(other),
        }
    }

    fn tick(&mut self, _: i64, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        if self.agent(ctx).is_some() {
            self.snapshot_if_due(ctx);
            self.collect(ctx, out, Duration::ZERO);
        }
    }

    fn ticks(&self) -> bool {
        true
    }

    fn done(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let Some(agent) = self.agent.as_mut() else {
            return;
        };
        agent.close();
        let timeout = self
            .service
            .as_ref()
            .map_or(Duration::from_secs(10), |s| s.0.timeout(&self.spec.name));
        let deadline = Instant::now() + timeout;
        while self.agent.is_some() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let why = format!(
                    "UDF {}: no end of its answers within {:?} after its input closed",
                    self.spec.name, timeout
                );
                self.fail(ctx, &why);
                return;
            }
            self.collect(ctx, out, left.min(Duration::from_millis(50)));
        }
    }
}
