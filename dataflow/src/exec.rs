//! The task executor: runs one task's processors over its plan's DAG, in Kapacitor's
//! order. A message a node emits is delivered to each child in link order, and everything
//! it causes downstream happens before the node's next output (depth first), which is the
//! order Kapacitor's per-node goroutines produce for one input message.
//!
//! The executor is single-threaded and owns the state of the groups it is given; the timely
//! runtime runs one executor segment per worker for the groups that worker owns.

use crate::node::{BuildError, BuildInfo, Ctx, Emits, NodeStats, Processor, Services};
use crate::ops;
use crate::point::{Batch, Msg, Point};
use kap_dsl::plan::{NodeSpec, Pipeline};
use kap_dsl::registry::{self, EdgeType};
use std::collections::BTreeMap;

/// One call in this many is timed for `avg_exec_time_ns`.
const TIME_SAMPLE: u64 = 128;
/// The largest chunk buffers an executor keeps between chunks (messages): a chunk can be a
/// whole ingest parcel, and a rare large one should not stay allocated in every stage.
const CHUNK_KEEP: usize = 1 << 13;
/// Node stat: total time of the timed calls, ns (see [`TaskExec::node_stats`]).
pub const EXEC_NS: &str = "exec_time_sampled_ns";
/// Node stat: number of timed calls.
pub const EXEC_SAMPLES: &str = "exec_time_samples";

/// One running task.
pub struct TaskExec {
    task: String,
    plan: Pipeline,
    procs: Vec<Box<dyn Processor>>,
    /// Per node: `(child, input index at the child)` in link order.
    children: Vec<Vec<(usize, usize)>>,
    stats: Vec<NodeStats>,
    /// Messages sent per edge, aligned with `children`.
    edges: Vec<Vec<u64>>,
    services: Services,
    /// Query nodes in walk order (batch replays feed file `i` to query `i`).
    queries: Vec<usize>,
    /// Nodes in Kapacitor's walk order (for end of input).
    order: Vec<usize>,
    finished: bool,
    /// Messages for nodes of other stages (segment mode, the timely runtime: see
    /// [`TaskExec::take_exits`]).
    exits: Vec<(usize, usize, Msg)>,
    /// Nodes watched by a `stats` node: their per-group `emitted` counters.
    watched: Vec<Option<crate::ops::stats::StatsFeed>>,
    /// Nodes whose children all belong to other stages (their outputs are exits).
    exits_only: Vec<bool>,
    /// Reused buffers of [`TaskExec::run`]: the work stack and a node's outputs.
    stack: Vec<(usize, usize, Msg)>,
    out: Vec<Msg>,
    /// Per node, what every message reads, kept apart from the (large) plan nodes so the
    /// hot path touches few cache lines.
    names: Vec<String>,
    hot: Vec<Hot>,
    /// Reused buffers of [`TaskExec::deliver_chunk`]: outputs, and the origins of a chunk's
    /// messages and of its outputs.
    chunk_out: Vec<Msg>,
    chunk_origins: (Vec<u32>, Vec<u32>),
    /// Whether each message of a run goes on, for in-place nodes (a reused buffer).
    chunk_kept: Vec<bool>,
}

/// What the executor reads of a node for every message.
#[derive(Debug, Clone, Copy, Default)]
struct Hot {
    /// This executor runs the node.
    owned: bool,
    /// The node forwards what it receives (roots): no call needed.
    forward: bool,
    /// Its only child and the input index there, when that child runs here too and no
    /// `stats` node watches it: its outputs go there directly.
    lone: Option<(usize, usize)>,
    /// The node and everything downstream of it in this stage run as a chain (each node
    /// has its [`lone`](Hot::lone) child, or none, or only children in other stages), so
    /// messages for it can be delivered a chunk at a time: [`TaskExec::deliver_chunk`].
    chain: bool,
    /// Calls, and the time and count of the sampled ones (every [`TIME_SAMPLE`]th call is
    /// timed, so timing costs little).
    calls: u64,
    ns: u64,
    samples: u64,
}

/// A message a chunk sends to another stage ([`TaskExec::deliver_chunk`]): the index of
/// the chunk's message whose handling emitted it, the destination node and its input
/// index, and the message.
pub type ChunkExit = (u32, usize, usize, Msg);

/// Where [`TaskExec::deliver_chunk_to`] hands the messages a chunk sends to other stages,
/// in the order one-at-a-time delivery would send them.
pub trait ChunkExits {
    /// One exit: the index in the chunk of the message whose handling emitted it, the
    /// destination node, its input index, and the message.
    fn exit(&mut self, origin: u32, dest: usize, input: usize, msg: Msg);

    /// Every output of the chunk's last node, whose only child, `dest` (input `input`), is
    /// in another stage: `msgs[i]` was emitted while handling the chunk's message
    /// `origins[i]` (in order). What it leaves in `msgs` is dropped; a taker may swap in
    /// another (empty) buffer. By default, each goes through [`ChunkExits::exit`].
    fn exit_all(&mut self, dest: usize, input: usize, msgs: &mut Vec<Msg>, origins: &[u32]) {
        for (m, &origin) in msgs.drain(..).zip(origins) {
            self.exit(origin, dest, input, m);
        }
    }
}

impl<F: FnMut(u32, usize, usize, Msg)> ChunkExits for F {
    fn exit(&mut self, origin: u32, dest: usize, input: usize, msg: Msg) {
        self(origin, dest, input, msg);
    }
}

/// Sends `m` to each of `kids` (`(child, input)`, link order) through `send`, counting
/// each edge in `counts`: a clone for every child but the last, which takes `m` itself.
fn to_each(
    kids: &[(usize, usize)],
    counts: &mut [u64],
    m: Msg,
    mut send: impl FnMut(usize, usize, Msg),
) {
    let Some((&(last, last_input), rest)) = kids.split_last() else {
        return;
    };
    for (k, &(child, input)) in rest.iter().enumerate() {
        counts[k] += 1;
        send(child, input, m.clone());
    }
    counts[rest.len()] += 1;
    send(last, last_input, m);
}

/// Adds a shared [`StatsFeeds`](crate::ops::stats::StatsFeeds) registry to `services` when the
/// plan has `stats` (or `deadman`) nodes and none is registered, so the nodes they watch and
/// the stats nodes meet on the same counters (also across workers).
pub fn with_stats_feeds(services: Services, plan: &Pipeline) -> Services {
    use crate::ops::stats::{STATS_FEEDS, StatsFeeds};
    let has_stats = plan
        .nodes
        .iter()
        .any(|n| matches!(n.spec, NodeSpec::Stats(_)));
    if has_stats && services.get::<StatsFeeds>(STATS_FEEDS).is_none() {
        services.with(STATS_FEEDS, std::sync::Arc::new(StatsFeeds::default()))
    } else {
        services
    }
}

impl std::fmt::Debug for TaskExec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskExec")
            .field("task", &self.task)
            .field("nodes", &self.plan.nodes.len())
            .finish()
    }
}

/// The output edge type of every node of a plan (needed to tell processors whether they
/// receive points or batches).
pub fn edge_types(plan: &Pipeline) -> Vec<EdgeType> {
    let mut out = vec![EdgeType::None; plan.nodes.len()];
    for id in kap_dsl::dot::walk_order(plan) {
        let node = &plan.nodes[id];
        let input = plan
            .parents(id)
            .next()
            .map(|p| out[p])
            .unwrap_or(EdgeType::None);
        out[id] = match &node.spec {
            NodeSpec::Stream => EdgeType::Stream,
            NodeSpec::Batch => EdgeType::Batch,
            // What the UDF's agent said it sends.
            NodeSpec::Udf(u) => u.provides.unwrap_or(input),
            spec => registry::node(spec.kind())
                .map(|d| d.output(input))
                .unwrap_or(input),
        };
    }
    out
}

impl TaskExec {
    /// Builds every processor of `plan`.
    pub fn new(task: &str, plan: &Pipeline, services: Services) -> Result<TaskExec, BuildError> {
        TaskExec::build(task, plan, services, None)
    }

    /// Builds the processors of the nodes of stage `stage` only (`stage_of[node]` gives each
    /// node's stage); messages to other stages' nodes are collected as exits.
    pub fn new_segment(
        task: &str,
        plan: &Pipeline,
        services: Services,
        stage_of: std::sync::Arc<Vec<usize>>,
        stage: usize,
    ) -> Result<TaskExec, BuildError> {
        TaskExec::build(task, plan, services, Some((stage_of, stage)))
    }

    fn build(
        task: &str,
        plan: &Pipeline,
        services: Services,
        segment: Option<(std::sync::Arc<Vec<usize>>, usize)>,
    ) -> Result<TaskExec, BuildError> {
        let services = with_stats_feeds(services, plan);
        let feeds = services.get::<crate::ops::stats::StatsFeeds>(crate::ops::stats::STATS_FEEDS);
        let mut watched = vec![None; plan.nodes.len()];
        for n in &plan.nodes {
            if let (NodeSpec::Stats(s), Some(f)) = (&n.spec, feeds.as_ref())
                && s.source < watched.len()
            {
                watched[s.source] = Some(f.feed(task, s.source));
            }
        }
        let edges = edge_types(plan);
        let mut procs = Vec::with_capacity(plan.nodes.len());
        let mut children = vec![Vec::new(); plan.nodes.len()];
        let mut inputs = vec![0usize; plan.nodes.len()];
        for e in &plan.edges {
            children[e.from].push((e.to, e.input));
            inputs[e.to] += 1;
        }
        let infos: Vec<BuildInfo> = plan
            .nodes
            .iter()
            .map(|node| {
                let parent = plan.parents(node.id).next();
                BuildInfo {
                    task: task.to_string(),
                    node: node.name.clone(),
                    node_id: node.id,
                    inputs: inputs[node.id].max(1),
                    task_type: plan.task_type,
                    batch_input: parent.is_some_and(|p| edges[p] == EdgeType::Batch),
                    services: services.clone(),
                }
            })
            .collect();
        let mine = |id: usize| segment.as_ref().is_none_or(|(of, st)| of[id] == *st);
        let mut built: Vec<Option<Box<dyn Processor>>> = Vec::new();
        built.resize_with(plan.nodes.len(), || None);
        // A node with one parent whose only child it is may run fused with it
        // (`ops::build_fused`): both are built together.
        for (id, kids) in children.iter().enumerate() {
            if let [(child, 0)] = kids[..]
                && inputs[child] == 1
                && mine(id)
                && mine(child)
                && let Some((a, b)) = ops::build_fused(
                    (&plan.nodes[id].spec, &infos[id]),
                    (&plan.nodes[child].spec, &infos[child]),
                )?
            {
                built[id] = Some(a);
                built[child] = Some(b);
            }
        }
        let expiry = services
            .get::<ops::expiry::GroupExpiry>(ops::expiry::GROUP_EXPIRY)
            .map(|e| e.0);
        for (node, info) in plan.nodes.iter().zip(&infos) {
            let proc = match built[node.id].take() {
                Some(p) => p,
                None if mine(node.id) => ops::build(&node.spec, info)?,
                None => Box::new(ops::passthrough::Swallow),
            };
            procs.push(match expiry {
                Some(after) if mine(node.id) && ops::expiry::holds_groups(&node.spec) => {
                    Box::new(ops::expiry::Expiring::new(proc, after))
                }
                _ => proc,
            });
        }
        // Query nodes in Kapacitor's walk order (the order its replays feed recordings).
        let queries = kap_dsl::dot::walk_order(plan)
            .into_iter()
            .filter(|&id| {
                matches!(
                    plan.nodes[id].spec,
                    NodeSpec::Query(_) | NodeSpec::QueryFlux(_)
                )
            })
            .collect();
        let exits_only: Vec<bool> = children
            .iter()
            .map(|kids| {
                !kids.is_empty()
                    && segment
                        .as_ref()
                        .is_some_and(|(of, st)| kids.iter().all(|&(c, _)| of[c] != *st))
            })
            .collect();
        let names = plan.nodes.iter().map(|n| n.name.clone()).collect();
        let mut hot: Vec<Hot> = plan
            .nodes
            .iter()
            .map(|node| Hot {
                owned: mine(node.id),
                forward: matches!(
                    node.spec,
                    NodeSpec::Stream
                        | NodeSpec::Batch
                        | NodeSpec::Query(_)
                        | NodeSpec::QueryFlux(_)
                ),
                lone: match children[node.id][..] {
                    [(child, input)] if mine(child) && watched[node.id].is_none() => {
                        Some((child, input))
                    }
                    _ => None,
                },
                ..Hot::default()
            })
            .collect();
        // Children before parents: a node chains when its lone child does, or when it has
        // no children here (none at all, or only in other stages) and no `stats` watcher.
        for &id in kap_dsl::dot::walk_order(plan).iter().rev() {
            let h = hot[id];
            let end = (children[id].is_empty() || exits_only[id]) && watched[id].is_none();
            hot[id].chain = h.owned && (end || h.lone.is_some_and(|(c, _)| hot[c].chain));
        }
        Ok(TaskExec {
            names,
            hot,
            chunk_out: Vec::new(),
            chunk_origins: (Vec::new(), Vec::new()),
            chunk_kept: Vec::new(),
            exits_only,
            task: task.to_string(),
            stats: vec![NodeStats::default(); plan.nodes.len()],
            plan: plan.clone(),
            procs,
            edges: children.iter().map(|c| vec![0; c.len()]).collect(),
            children,
            services,
            queries,
            order: kap_dsl::dot::walk_order(plan),
            finished: false,
            exits: Vec::new(),
            watched,
            stack: Vec::new(),
            out: Vec::new(),
        })
    }

    /// The plan this task runs.
    pub fn plan(&self) -> &Pipeline {
        &self.plan
    }

    /// Feeds a point to the task's `stream` root.
    pub fn push_point(&mut self, p: Point) {
        self.deliver(0, 0, Msg::Point(p));
    }

    /// Feeds a batch to the `index`-th query node (its run's result, or a replayed batch).
    pub fn push_batch(&mut self, index: usize, b: Batch) {
        if let Some(&q) = self.queries.get(index) {
            self.deliver(q, 0, Msg::Batch(b));
        }
    }

    /// Number of query nodes.
    pub fn query_count(&self) -> usize {
        self.queries.len()
    }

    /// Delivers `msg` to `node` as if it came from its parent number `input`.
    pub fn deliver(&mut self, node: usize, input: usize, msg: Msg) {
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        self.step(node, input, msg, &mut stack);
        self.run(&mut stack);
        self.stack = stack;
    }

    /// Whether messages for `node` may go through [`TaskExec::deliver_chunk`].
    pub fn chains(&self, node: usize) -> bool {
        self.hot[node].chain
    }

    /// Delivers consecutive messages for `node` (input `input`), a [`chains`] node, a node
    /// at a time down its chain: each node handles the whole chunk, then its child handles
    /// what it emitted. Every node sees the messages it would see one at a time, in the same
    /// order; only the interleaving of different nodes' work changes (as between
    /// Kapacitor's node goroutines). What the chain sends to other stages lands in `exits`
    /// in the order one-at-a-time delivery would send it, each with the index in `msgs` of
    /// the message whose handling emitted it. A panicking call loses that message, counted
    /// as an error of its node. Leaves `msgs` empty (its capacity kept).
    ///
    /// [`chains`]: TaskExec::chains
    pub fn deliver_chunk(
        &mut self,
        node: usize,
        input: usize,
        msgs: &mut Vec<Msg>,
        exits: &mut Vec<ChunkExit>,
    ) {
        self.deliver_chunk_to(node, input, msgs, &mut |origin, child, input, m| {
            exits.push((origin, child, input, m));
        });
    }

    /// [`TaskExec::deliver_chunk`], handing the exits to `exit` as they are made (all at
    /// once when the chunk's last node has a lone child in another stage): a stage posts
    /// them where they go next without first collecting them.
    pub fn deliver_chunk_to(
        &mut self,
        node: usize,
        input: usize,
        msgs: &mut Vec<Msg>,
        exit: &mut impl ChunkExits,
    ) {
        debug_assert!(self.hot[node].chain);
        let mut next = std::mem::take(&mut self.chunk_out);
        let (mut origins, mut next_origins) = std::mem::take(&mut self.chunk_origins);
        origins.clear();
        origins.extend(0..msgs.len() as u32);
        let (mut n, mut i) = (node, input);
        while !msgs.is_empty() {
            let hot = &mut self.hot[n];
            if let (true, Some((child, input))) = (hot.forward, hot.lone) {
                hot.calls += msgs.len() as u64;
                self.edges[n][0] += msgs.len() as u64;
                (n, i) = (child, input);
                continue;
            }
            next.clear();
            next_origins.clear();
            let mut panics = 0;
            let proc = &mut self.procs[n];
            let mut ctx = Ctx {
                task: &self.task,
                node: &self.names[n],
                services: &self.services,
                stats: &mut self.stats[n],
            };
            if proc.by_ref() {
                // The messages stay where they are; the node reads (or takes parts of)
                // them, and they are dropped together after. One unwind guard per call;
                // after a panic the node goes on with the next message.
                let len = msgs.len();
                let start = std::time::Instant::now();
                let mut from = 0;
                while from < len {
                    let mut emits = Emits::new(&mut next, &mut next_origins, &origins, from);
                    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        proc.process_refs(i, &mut msgs[from..], &mut ctx, &mut emits)
                    }));
                    if done.is_ok() {
                        break;
                    }
                    panics += 1;
                    emits.settle();
                    from = emits.handling() + 1;
                }
                hot.calls += len as u64;
                hot.ns += start.elapsed().as_nanos() as u64;
                hot.samples += len as u64;
                msgs.clear();
            } else if proc.in_place() {
                proc.warm(msgs);
                // The messages stay where they are; those that go on are compacted to the
                // front (nothing moves while every message goes on). One call per run and
                // one unwind guard around it; after a panic (its message is not kept) the
                // node goes on with the next message.
                let len = msgs.len();
                let mut kept = std::mem::take(&mut self.chunk_kept);
                kept.clear();
                let start = std::time::Instant::now();
                while kept.len() < len {
                    let from = kept.len();
                    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        proc.process_in_place_run(i, &mut msgs[from..], &mut kept, &mut ctx)
                    }));
                    if done.is_err() {
                        panics += 1;
                        kept.push(false);
                    }
                }
                hot.calls += len as u64;
                hot.ns += start.elapsed().as_nanos() as u64;
                hot.samples += len as u64;
                if let Some(first) = kept.iter().position(|k| !k) {
                    let mut at = first;
                    for r in first + 1..len {
                        if kept[r] {
                            msgs.swap(at, r);
                            origins[at] = origins[r];
                            at += 1;
                        }
                    }
                    msgs.truncate(at);
                    origins.truncate(at);
                }
                self.chunk_kept = kept;
                std::mem::swap(msgs, &mut next);
                std::mem::swap(&mut origins, &mut next_origins);
            } else {
                proc.warm(msgs);
                // One unwind guard around the loop, not one per call (a closure per call
                // moves every message through the stack once more); after a panic the
                // loop resumes with the next message. Origins are counted apart, not
                // enumerated: an (index, message) pair is stored in parts and read back
                // whole, a store-forwarding stall on every message.
                let mut drained = msgs.drain(..);
                let (mut j, mut origin) = (0, 0);
                loop {
                    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        for m in drained.by_ref() {
                            origin = origins[j];
                            j += 1;
                            hot.calls += 1;
                            let start =
                                (hot.calls % TIME_SAMPLE == 1).then(std::time::Instant::now);
                            proc.process(i, m, &mut ctx, &mut next);
                            if let Some(start) = start {
                                hot.ns += start.elapsed().as_nanos() as u64;
                                hot.samples += 1;
                            }
                            next_origins.resize(next.len(), origin);
                        }
                    }));
                    if done.is_ok() {
                        break;
                    }
                    panics += 1;
                    next_origins.resize(next.len(), origin);
                }
            }
            for _ in 0..panics {
                self.record_panic(n);
            }
            if let Some((child, input)) = self.hot[n].lone {
                self.edges[n][0] += next.len() as u64;
                std::mem::swap(msgs, &mut next);
                std::mem::swap(&mut origins, &mut next_origins);
                (n, i) = (child, input);
                continue;
            }
            if self.exits_only[n] {
                self.exit_outputs(n, &mut next, &next_origins, exit);
            }
            // A leaf: what it emits goes nowhere.
            break;
        }
        msgs.clear();
        next.clear();
        // A chunk may be a whole ingest parcel: buffers grown past what runs usually need
        // are freed, not kept by every stage of every task.
        if next.capacity() > CHUNK_KEEP {
            next = Vec::new();
        }
        if origins.capacity() > CHUNK_KEEP {
            origins = Vec::new();
        }
        if next_origins.capacity() > CHUNK_KEEP {
            next_origins = Vec::new();
        }
        if self.chunk_kept.capacity() > CHUNK_KEEP {
            self.chunk_kept = Vec::new();
        }
        self.chunk_out = next;
        self.chunk_origins = (origins, next_origins);
    }

    /// Hands node `n`'s outputs `next` (with their `origins`), all for children in other
    /// stages, to `exit`.
    fn exit_outputs(
        &mut self,
        n: usize,
        next: &mut Vec<Msg>,
        origins: &[u32],
        exit: &mut impl ChunkExits,
    ) {
        if let [(child, input)] = self.children[n][..] {
            // One child, in another stage: every output goes to it, at once.
            self.edges[n][0] += next.len() as u64;
            exit.exit_all(child, input, next, origins);
        } else {
            // Children in other stages only: each output goes to each of them.
            for (m, &origin) in next.drain(..).zip(origins) {
                to_each(
                    &self.children[n],
                    &mut self.edges[n],
                    m,
                    |child, input, m| exit.exit(origin, child, input, m),
                );
            }
        }
    }

    /// Processes a LIFO work stack: children are pushed in reverse so they run in link
    /// order and each output is fully propagated before the next (depth first), without
    /// recursion. Work for nodes of other stages becomes exits, in the same order.
    fn run(&mut self, stack: &mut Vec<(usize, usize, Msg)>) {
        while let Some((n, i, m)) = stack.pop() {
            self.step(n, i, m, stack);
        }
    }

    /// Runs node `n` on one message (or makes it an exit), pushing its outputs' work. A
    /// lone output for a lone child is handled next without the stack (where it would be
    /// popped next anyway).
    fn step(
        &mut self,
        mut n: usize,
        mut i: usize,
        mut m: Msg,
        stack: &mut Vec<(usize, usize, Msg)>,
    ) {
        loop {
            let hot = &mut self.hot[n];
            if !hot.owned {
                self.exits.push((n, i, m));
                return;
            }
            hot.calls += 1;
            if hot.forward
                && let Some((child, input)) = hot.lone
            {
                self.edges[n][0] += 1;
                (n, i) = (child, input);
                continue;
            }
            let mut out = std::mem::take(&mut self.out);
            let mut ctx = Ctx {
                task: &self.task,
                node: &self.names[n],
                services: &self.services,
                stats: &mut self.stats[n],
            };
            out.clear();
            if hot.calls % TIME_SAMPLE == 1 {
                let start = std::time::Instant::now();
                self.procs[n].process(i, m, &mut ctx, &mut out);
                hot.ns += start.elapsed().as_nanos() as u64;
                hot.samples += 1;
            } else {
                self.procs[n].process(i, m, &mut ctx, &mut out);
            }
            if let (Some((child, input)), 1) = (hot.lone, out.len())
                && let Some(next) = out.pop()
            {
                self.edges[n][0] += 1;
                (n, i, m) = (child, input, next);
                self.out = out;
                continue;
            }
            if !out.is_empty() {
                self.fan_out(n, &mut out, stack);
            }
            self.out = out;
            return;
        }
    }

    fn fan_out(&mut self, n: usize, out: &mut Vec<Msg>, stack: &mut Vec<(usize, usize, Msg)>) {
        if let Some(feed) = &self.watched[n] {
            for m in out.iter() {
                match m {
                    Msg::Point(p) => {
                        feed.add(&p.group_string(), &p.group_tags(), &p.dims, "emitted", 1)
                    }
                    Msg::Batch(b) => feed.add(&b.group_string(), &b.tags, &b.dims, "emitted", 1),
                    Msg::Barrier(_) | Msg::DeleteGroup(_) => {}
                }
            }
        }
        let kids = &self.children[n];
        let counts = &mut self.edges[n];
        if self.exits_only[n] {
            // Every child is in another stage: the work would go on top of the stack and
            // straight to the exits, in this order.
            for m in out.drain(..) {
                to_each(kids, counts, m, |child, input, m| {
                    self.exits.push((child, input, m))
                });
            }
            return;
        }
        for m in out.drain(..).rev() {
            for (k, &(child, input)) in kids.iter().enumerate().rev() {
                counts[k] += 1;
                if k == 0 {
                    stack.push((child, input, m));
                    break;
                }
                stack.push((child, input, m.clone()));
            }
        }
    }

    /// Whether any node of this executor has wall-clock timers.
    pub fn ticks(&self) -> bool {
        self.procs
            .iter()
            .enumerate()
            .any(|(n, p)| self.owns(n) && p.ticks())
    }

    /// Runs the wall-clock timers of this executor's nodes at `now` (ns); what they emit
    /// flows downstream like any message.
    pub fn tick(&mut self, now: i64) {
        self.for_each_owned(|p| p.ticks(), |proc, ctx, out| proc.tick(now, ctx, out));
    }

    /// The services this executor was built with.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Counts a message lost to a panic in `node` as an error of that node.
    pub fn record_panic(&mut self, node: usize) {
        if let Some(s) = self.stats.get_mut(node) {
            s.errors += 1;
        }
        self.services.log.log(
            "ERROR",
            &format!(
                "task={} node={} err=\"node panicked; message dropped\"",
                self.task, self.plan.nodes[node].name
            ),
        );
    }

    /// Messages emitted to nodes of other stages since the last call, in emission order:
    /// `(node, input index, message)`.
    pub fn take_exits(&mut self) -> Vec<(usize, usize, Msg)> {
        std::mem::take(&mut self.exits)
    }

    /// Like [`TaskExec::take_exits`], but swaps them into `into` (which must be empty), so
    /// callers can reuse one buffer.
    pub fn swap_exits(&mut self, into: &mut Vec<(usize, usize, Msg)>) {
        debug_assert!(into.is_empty());
        std::mem::swap(&mut self.exits, into);
    }

    /// Whether `node` belongs to this executor (always true outside segment mode).
    pub fn owns(&self, node: usize) -> bool {
        self.hot[node].owned
    }

    /// End of input: every node's `done` runs in walk order (parents before children), and
    /// what it flushes flows downstream. Idempotent.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.for_each_owned(|_| true, |proc, ctx, out| proc.done(ctx, out));
    }

    /// Calls `call` on each of this executor's nodes (walk order) that `select` picks, with
    /// its context; what a node emits flows downstream before the next node is called.
    fn for_each_owned(
        &mut self,
        select: impl Fn(&dyn Processor) -> bool,
        mut call: impl FnMut(&mut dyn Processor, &mut Ctx<'_>, &mut Vec<Msg>),
    ) {
        let mut out = Vec::new();
        let mut stack = Vec::new();
        for n in self.order.clone() {
            if !self.owns(n) || !select(self.procs[n].as_ref()) {
                continue;
            }
            let mut ctx = Ctx {
                task: &self.task,
                node: &self.plan.nodes[n].name,
                services: &self.services,
                stats: &mut self.stats[n],
            };
            call(self.procs[n].as_mut(), &mut ctx, &mut out);
            self.fan_out(n, &mut out, &mut stack);
            self.run(&mut stack);
        }
    }

    /// Per-node stats, by node name, with `errors`, `working_cardinality` and the sampled
    /// execution time ([`EXEC_NS`] over [`EXEC_SAMPLES`] calls: sums, so that stages and
    /// workers add up; `avg_exec_time_ns` is their ratio).
    pub fn node_stats(&self) -> BTreeMap<String, BTreeMap<String, i64>> {
        self.plan
            .nodes
            .iter()
            .map(|n| {
                let s = &self.stats[n.id];
                let mut m: BTreeMap<String, i64> = s
                    .counters
                    .iter()
                    .map(|(k, v)| (k.to_string(), *v))
                    .collect();
                m.insert("errors".into(), s.errors as i64);
                let Hot { ns, samples, .. } = self.hot[n.id];
                m.insert(EXEC_NS.into(), ns as i64);
                m.insert(EXEC_SAMPLES.into(), samples as i64);
                m.insert(
                    "working_cardinality".into(),
                    self.procs[n.id].cardinality() as i64,
                );
                (n.name.clone(), m)
            })
            .collect()
    }

    /// Messages sent per edge, by `(parent name, child name)`.
    pub fn edge_stats(&self) -> BTreeMap<(String, String), u64> {
        let mut stats = BTreeMap::new();
        for (a, kids) in self.children.iter().enumerate() {
            for (k, &(b, _)) in kids.iter().enumerate() {
                let n = self.edges[a][k];
                if n > 0 {
                    *stats
                        .entry((
                            self.plan.nodes[a].name.clone(),
                            self.plan.nodes[b].name.clone(),
                        ))
                        .or_insert(0) += n;
                }
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::{FieldValue, Sym};
    use std::sync::{Arc, Mutex};

    /// Panics on points whose `v` is odd; forwards the others.
    struct PanicOnOdd;

    impl Processor for PanicOnOdd {
        fn process(&mut self, _: usize, msg: Msg, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
            if let Msg::Point(p) = &msg
                && let Some(FieldValue::Int(v)) = crate::point::get(&p.fields, Sym::new("v"))
                && v % 2 == 1
            {
                panic!("odd value {v}");
            }
            out.push(msg);
        }
    }

    /// [`PanicOnOdd`], handling messages in place.
    struct PanicOnOddInPlace;

    impl Processor for PanicOnOddInPlace {
        fn process(&mut self, i: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
            crate::ops::process_by_in_place(self, i, msg, ctx, out);
        }

        fn in_place(&self) -> bool {
            true
        }

        fn process_in_place(&mut self, _: usize, msg: &mut Msg, _: &mut Ctx<'_>) -> bool {
            if let Msg::Point(p) = msg
                && let Some(FieldValue::Int(v)) = crate::point::get(&p.fields, Sym::new("v"))
            {
                if v % 2 == 1 {
                    panic!("odd value {v}");
                }
                // Changed in place: the child must see the change.
                p.time += 100;
                return *v != 4;
            }
            true
        }
    }

    /// Reads points by reference: panics on odd `v`, emits two copies of `v` 2 (the second
    /// a second later), one of the others, and takes each point's fields (what a by-ref
    /// node may do).
    struct PanicOnOddByRef;

    impl PanicOnOddByRef {
        fn handle(p: &mut Point, out: &mut Vec<Msg>) {
            let Some(&FieldValue::Int(v)) = crate::point::get(&p.fields, Sym::new("v")) else {
                return;
            };
            if v % 2 == 1 {
                panic!("odd value {v}");
            }
            let copy = Point::new("m", Vec::new(), std::mem::take(&mut p.fields), p.time);
            if v == 2 {
                let mut later = copy.clone();
                later.time += 1;
                out.push(Msg::Point(copy));
                out.push(Msg::Point(later));
            } else {
                out.push(Msg::Point(copy));
            }
        }
    }

    impl Processor for PanicOnOddByRef {
        fn process(&mut self, _: usize, mut msg: Msg, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
            if let Msg::Point(p) = &mut msg {
                Self::handle(p, out);
            }
        }

        fn by_ref(&self) -> bool {
            true
        }

        fn process_refs(
            &mut self,
            _: usize,
            msgs: &mut [Msg],
            _: &mut Ctx<'_>,
            emits: &mut Emits<'_>,
        ) {
            for (j, m) in msgs.iter_mut().enumerate() {
                emits.at(j);
                if let Msg::Point(p) = m {
                    emits.with(|out| Self::handle(p, out));
                }
            }
        }
    }

    /// The `v` and time of the points a [`Record`] received.
    type Seen = Arc<Mutex<Vec<(i64, i64)>>>;

    /// Records the `v` and time of every point it receives.
    struct Record(Seen);

    impl Processor for Record {
        fn process(&mut self, _: usize, msg: Msg, _: &mut Ctx<'_>, _: &mut Vec<Msg>) {
            if let Msg::Point(p) = &msg
                && let Some(FieldValue::Int(v)) = crate::point::get(&p.fields, Sym::new("v"))
            {
                self.0.lock().unwrap().push((*v, p.time));
            }
        }
    }

    /// `stream|from()|log()` with `from` replaced by `first` and `log` recording.
    fn exec_with(first: Box<dyn Processor>) -> (TaskExec, Seen) {
        let plan = kap_dsl::compile_source("stream|from()|log()", &Default::default())
            .unwrap()
            .pipeline;
        let mut e = TaskExec::new("t", &plan, Services::default()).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        e.procs[1] = first;
        e.procs[2] = Box::new(Record(Arc::clone(&seen)));
        (e, seen)
    }

    fn points() -> Vec<Msg> {
        (0..10)
            .map(|v| {
                let fields = vec![(Sym::new("v"), FieldValue::Int(v))];
                Msg::Point(Point::new("m", Vec::new(), fields, v))
            })
            .collect()
    }

    #[test]
    fn a_panicking_call_in_a_chunk_loses_only_its_message() {
        let (mut chunked, seen) = exec_with(Box::new(PanicOnOdd));
        assert!(chunked.chains(0));
        let (mut run, mut exits) = (points(), Vec::new());
        chunked.deliver_chunk(0, 0, &mut run, &mut exits);
        assert!(run.is_empty() && exits.is_empty());
        let got: Vec<i64> = seen.lock().unwrap().iter().map(|&(v, _)| v).collect();
        assert_eq!(got, vec![0, 2, 4, 6, 8]);
        let stats = chunked.node_stats();
        assert_eq!(stats["from1"]["errors"], 5);
        assert_eq!(chunked.edge_stats()[&("from1".into(), "log2".into())], 5);
        assert_eq!(stats["log2"]["errors"], 0);
    }

    #[test]
    fn in_place_nodes_keep_changes_drop_what_they_refuse_and_lose_only_a_panicking_message() {
        let (mut chunked, seen) = exec_with(Box::new(PanicOnOddInPlace));
        let (mut run, mut exits) = (points(), Vec::new());
        chunked.deliver_chunk(0, 0, &mut run, &mut exits);
        assert!(run.is_empty() && exits.is_empty());
        // 4 is refused, odd values panic; the rest go on, in order, as changed.
        let want = vec![(0, 100), (2, 102), (6, 106), (8, 108)];
        assert_eq!(*seen.lock().unwrap(), want);
        let stats = chunked.node_stats();
        assert_eq!(stats["from1"]["errors"], 5);
        assert_eq!(chunked.edge_stats()[&("from1".into(), "log2".into())], 4);
        // One at a time (the stage guards each delivery), the same messages arrive.
        let (single, seen) = one_at_a_time(Box::new(PanicOnOddInPlace));
        assert_eq!(*seen.lock().unwrap(), want);
        assert_eq!(single.node_stats()["from1"]["errors"], 5);
    }

    /// [`exec_with`] fed [`points`] one at a time, each delivery guarded as a stage does.
    fn one_at_a_time(first: Box<dyn Processor>) -> (TaskExec, Seen) {
        let (mut single, seen) = exec_with(first);
        for m in points() {
            let delivered =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| single.deliver(0, 0, m)));
            if delivered.is_err() {
                single.record_panic(1);
            }
        }
        (single, seen)
    }

    #[test]
    fn by_ref_nodes_emit_as_one_at_a_time_and_lose_only_a_panicking_message() {
        let (mut chunked, seen) = exec_with(Box::new(PanicOnOddByRef));
        let (mut run, mut exits) = (points(), Vec::new());
        chunked.deliver_chunk(0, 0, &mut run, &mut exits);
        assert!(run.is_empty() && exits.is_empty());
        let want = vec![(0, 0), (2, 2), (2, 3), (4, 4), (6, 6), (8, 8)];
        assert_eq!(*seen.lock().unwrap(), want);
        let stats = chunked.node_stats();
        assert_eq!(stats["from1"]["errors"], 5);
        assert_eq!(chunked.edge_stats()[&("from1".into(), "log2".into())], 6);
        let (single, seen) = one_at_a_time(Box::new(PanicOnOddByRef));
        assert_eq!(*seen.lock().unwrap(), want);
        assert_eq!(single.node_stats()["from1"]["errors"], 5);
    }

    #[test]
    fn a_by_ref_nodes_exits_carry_the_origin_of_the_message_that_made_them() {
        // `from` in a stage of its own: what it emits leaves the chunk as exits.
        let plan = kap_dsl::compile_source("stream|from()|log()", &Default::default())
            .unwrap()
            .pipeline;
        let stage_of = std::sync::Arc::new(vec![0, 0, 1]);
        let mut e = TaskExec::new_segment("t", &plan, Services::default(), stage_of, 0).unwrap();
        e.procs[1] = Box::new(PanicOnOddByRef);
        let (mut run, mut exits) = (points(), Vec::new());
        e.deliver_chunk(0, 0, &mut run, &mut exits);
        let got: Vec<(u32, usize, i64)> = exits
            .iter()
            .map(|(origin, dest, _, m)| match m {
                Msg::Point(p) => (*origin, *dest, p.time),
                _ => (*origin, *dest, -1),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 2, 0),
                (2, 2, 2),
                (2, 2, 3),
                (4, 2, 4),
                (6, 2, 6),
                (8, 2, 8)
            ]
        );
    }
}
