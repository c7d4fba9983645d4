//! The `Pipeline` plan: what a script means, ready for the engine to lower. A closed enum
//! of node specs ([`NodeSpec`]) plus parent→child edges, serde-serialisable.

use serde::{Deserialize, Serialize};

mod spec;

pub use spec::*;

/// Stream or batch task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskType {
    /// Fed by points written to Kapacitor.
    Stream,
    /// Fed by scheduled queries.
    Batch,
}

impl TaskType {
    /// `stream` or `batch`.
    pub fn name(self) -> &'static str {
        match self {
            TaskType::Stream => "stream",
            TaskType::Batch => "batch",
        }
    }
}

/// A database and retention policy pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DbRp {
    /// Database.
    pub db: String,
    /// Retention policy.
    pub rp: String,
}

/// One node of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanNode {
    /// Index in [`Pipeline::nodes`]; Kapacitor's node id (creation order, source first).
    pub id: usize,
    /// Kapacitor's node name: description + id, e.g. `window2`, `http_out5`.
    pub name: String,
    /// What the node does.
    pub spec: NodeSpec,
}

/// A parent → child edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Edge {
    /// Parent node id.
    pub from: usize,
    /// Child node id.
    pub to: usize,
    /// Which parent of the child this is, in link order: 0 for the node the child was
    /// chained from, then `join(...)`/`union(...)` arguments in order.
    pub input: usize,
}

/// A checked script, ready to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Stream or batch.
    pub task_type: TaskType,
    /// Nodes in creation order (ids are indexes).
    pub nodes: Vec<PlanNode>,
    /// Edges in link order (children of a node appear in the order they were linked).
    pub edges: Vec<Edge>,
    /// DBRPs declared with `dbrp` statements.
    pub dbrps: Vec<DbRp>,
}

impl Pipeline {
    /// Children of `id`, in link order.
    pub fn children(&self, id: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges
            .iter()
            .filter(move |e| e.from == id)
            .map(|e| e.to)
    }

    /// Parents of `id`, in link order (the first is the node it was chained from).
    pub fn parents(&self, id: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges
            .iter()
            .filter(move |e| e.to == id)
            .map(|e| e.from)
    }

    /// Ids of nodes without parents (`stream`/`batch` and `stats` sources), in id order.
    pub fn sources(&self) -> Vec<usize> {
        self.nodes
            .iter()
            .map(|n| n.id)
            .filter(|&id| self.parents(id).next().is_none())
            .collect()
    }
}
