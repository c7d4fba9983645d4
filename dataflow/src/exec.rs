//! The task executor: runs one task's processors over its plan's DAG, in Kapacitor's
//! order. A message a node emits is delivered to each child in link order, and everything
//! it causes downstream happens before the node's next output (depth first), which is the
//! order Kapacitor's per-node goroutines produce for one input message.
//!
//! The executor is single-threaded and owns the state of the groups it is given; the timely
//! runtime runs one executor segment per worker for the groups that worker owns.

use crate::node::{BuildError, BuildInfo, Ctx, NodeStats, Processor, Services};
use crate::ops;
use crate::point::{Batch, Msg, Point};
use kap_dsl::plan::{NodeSpec, Pipeline};
use kap_dsl::registry::{self, EdgeType};
use std::collections::BTreeMap;

/// One running task.
pub struct TaskExec {
    task: String,
    plan: Pipeline,
    procs: Vec<Box<dyn Processor>>,
    /// Per node: `(child, input index at the child)` in link order.
    children: Vec<Vec<(usize, usize)>>,
    stats: Vec<NodeStats>,
    /// Messages sent per edge `(parent, child)`.
    edges: BTreeMap<(usize, usize), u64>,
    services: Services,
    /// Query nodes in creation order (batch replays feed file `i` to query `i`).
    queries: Vec<usize>,
    /// Nodes in Kapacitor's walk order (for end of input).
    order: Vec<usize>,
    finished: bool,
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
        let edges = edge_types(plan);
        let mut procs = Vec::with_capacity(plan.nodes.len());
        let mut children = vec![Vec::new(); plan.nodes.len()];
        let mut inputs = vec![0usize; plan.nodes.len()];
        for e in &plan.edges {
            children[e.from].push((e.to, inputs[e.to]));
            inputs[e.to] += 1;
        }
        for node in &plan.nodes {
            let parent = plan.parents(node.id).next();
            let info = BuildInfo {
                task: task.to_string(),
                node: node.name.clone(),
                node_id: node.id,
                inputs: inputs[node.id].max(1),
                task_type: plan.task_type,
                batch_input: parent.is_some_and(|p| edges[p] == EdgeType::Batch),
                services: services.clone(),
            };
            procs.push(ops::build(&node.spec, &info)?);
        }
        let queries = plan
            .nodes
            .iter()
            .filter(|n| matches!(n.spec, NodeSpec::Query(_) | NodeSpec::QueryFlux(_)))
            .map(|n| n.id)
            .collect();
        Ok(TaskExec {
            task: task.to_string(),
            stats: vec![NodeStats::default(); plan.nodes.len()],
            plan: plan.clone(),
            procs,
            children,
            edges: BTreeMap::new(),
            services,
            queries,
            order: kap_dsl::dot::walk_order(plan),
            finished: false,
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
        // Explicit LIFO stack: children are pushed in reverse so they run in link order and
        // each output is fully propagated before the next (depth first), without recursion.
        let mut stack: Vec<(usize, usize, Msg)> = vec![(node, input, msg)];
        let mut out = Vec::new();
        while let Some((n, i, m)) = stack.pop() {
            let mut ctx = Ctx {
                task: &self.task,
                node: &self.plan.nodes[n].name,
                services: &self.services,
                stats: &mut self.stats[n],
            };
            self.procs[n].process(i, m, &mut ctx, &mut out);
            self.fan_out(n, &mut out, &mut stack);
        }
    }

    fn fan_out(&mut self, n: usize, out: &mut Vec<Msg>, stack: &mut Vec<(usize, usize, Msg)>) {
        let kids = &self.children[n];
        for m in out.drain(..).rev() {
            for (k, &(child, input)) in kids.iter().enumerate().rev() {
                *self.edges.entry((n, child)).or_insert(0) += 1;
                if k == 0 {
                    stack.push((child, input, m));
                    break;
                }
                stack.push((child, input, m.clone()));
            }
        }
    }

    /// End of input: every node's `done` runs in walk order (parents before children), and
    /// what it flushes flows downstream. Idempotent.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let mut out = Vec::new();
        for n in self.order.clone() {
            let mut ctx = Ctx {
                task: &self.task,
                node: &self.plan.nodes[n].name,
                services: &self.services,
                stats: &mut self.stats[n],
            };
            self.procs[n].done(&mut ctx, &mut out);
            let mut stack = Vec::new();
            self.fan_out(n, &mut out, &mut stack);
            while let Some((c, i, m)) = stack.pop() {
                let mut ctx = Ctx {
                    task: &self.task,
                    node: &self.plan.nodes[c].name,
                    services: &self.services,
                    stats: &mut self.stats[c],
                };
                self.procs[c].process(i, m, &mut ctx, &mut out);
                self.fan_out(c, &mut out, &mut stack);
            }
        }
    }

    /// Per-node stats, by node name, with `errors` and `working_cardinality` included.
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
        self.edges
            .iter()
            .map(|(&(a, b), &n)| {
                (
                    (
                        self.plan.nodes[a].name.clone(),
                        self.plan.nodes[b].name.clone(),
                    ),
                    n,
                )
            })
            .collect()
    }
}
