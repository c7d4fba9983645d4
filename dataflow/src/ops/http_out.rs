//! `|httpOut(name)`: keeps the latest row of every group and serves them as one
//! `models.Result` at `GET /kapacitor/v1/tasks/<task>/<name>` (`kapacitor-semantics.md` §10).
//!
//! One slot per group in group-creation order (the first message of the group at this node;
//! a barrier creates an empty, `null`, slot); each point or batch replaces its group's slot;
//! a delete-group removes it. Everything is forwarded unchanged.
//!
//! The daemon registers an [`HttpOutRegistry`] under the service name `"http_out"`; each
//! node registers its endpoint there at build time, and the API renders it with
//! [`HttpOutRegistry::json`].

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{GroupId, GroupMap, Msg};
use crate::result::{ResultSet, Row, batch_row, point_row};
use kap_dsl::plan::HttpOutSpec;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// The service name the registry is looked up under.
pub const SERVICE_NAME: &str = "http_out";

/// The slots of one httpOut endpoint, in group-creation order.
#[derive(Debug, Default)]
pub struct HttpOutSlots {
    /// Slot by creation sequence number.
    slots: BTreeMap<u64, Option<Row>>,
    /// Sequence number of each group's slot.
    index: GroupMap<u64>,
    next: u64,
}

impl HttpOutSlots {
    fn slot(&mut self, g: GroupId) -> &mut Option<Row> {
        let seq = *self.index.entry(g).or_insert_with(|| {
            self.next += 1;
            self.next
        });
        self.slots.entry(seq).or_default()
    }

    fn remove(&mut self, g: GroupId) {
        if let Some(seq) = self.index.swap_remove(&g) {
            self.slots.remove(&seq);
        }
    }

    /// The current result (one entry per group, in creation order; `series` is `null`
    /// until the first group is created, `[]` once every group was deleted, as in Go).
    pub fn result(&self) -> ResultSet {
        ResultSet {
            series: if self.next == 0 {
                None
            } else {
                Some(self.slots.values().cloned().collect())
            },
        }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there is no slot.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

type Shared = Arc<Mutex<HttpOutSlots>>;
type Endpoints = HashMap<(String, String), Vec<Shared>>;

fn lock(s: &Mutex<HttpOutSlots>) -> MutexGuard<'_, HttpOutSlots> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The httpOut endpoints of every task, by `(task, endpoint)`.
///
/// Several nodes may register the same endpoint (one per worker, when the runtime builds a
/// task's processors on every worker); the endpoint serves their slots concatenated in
/// registration order (the runtime gathers an httpOut's input on one worker, so only that
/// node has slots). An endpoint keeps serving its last result after its nodes are dropped
/// (a finished replay, an engine that tore the dataflow down), until [`remove_task`]
/// (call it when a task is disabled or deleted: Kapacitor then answers 404) or until a new
/// node registers the same endpoint (a re-enabled task starts empty).
///
/// [`remove_task`]: HttpOutRegistry::remove_task
#[derive(Debug, Default)]
pub struct HttpOutRegistry {
    endpoints: Mutex<Endpoints>,
}

/// Whether the node owning `slots` still exists (the registry holds the other reference).
fn alive(slots: &Shared) -> bool {
    Arc::strong_count(slots) > 1
}

impl HttpOutRegistry {
    fn map(&self) -> MutexGuard<'_, Endpoints> {
        self.endpoints.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the slots of a node serving `task`'s endpoint `endpoint`. The node keeps
    /// its own `Arc`: slots whose node is gone are dropped at the next registration.
    pub fn register(&self, task: &str, endpoint: &str, slots: &Arc<Mutex<HttpOutSlots>>) {
        let mut map = self.map();
        let list = map
            .entry((task.to_string(), endpoint.to_string()))
            .or_default();
        list.retain(alive);
        list.push(Arc::clone(slots));
    }

    /// The current result of an endpoint (`None` when it does not exist): the slots of
    /// its live nodes, or the last slots of its dropped ones when none is alive.
    pub fn result(&self, task: &str, endpoint: &str) -> Option<ResultSet> {
        let sets: Vec<Shared> = {
            let map = self.map();
            let list = map.get(&(task.to_string(), endpoint.to_string()))?;
            let any_live = list.iter().any(alive);
            let keep: Vec<bool> = list.iter().map(|s| !any_live || alive(s)).collect();
            list.iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|(s, _)| Arc::clone(s))
                .collect()
        };
        let mut series: Option<Vec<Option<Row>>> = None;
        for s in &sets {
            if let Some(rows) = lock(s).result().series {
                series.get_or_insert_with(Vec::new).extend(rows);
            }
        }
        Some(ResultSet { series })
    }

    /// The endpoint's body: Go's `json.Marshal` of its result (`Err` with Go's error text
    /// when a value cannot be encoded, which Kapacitor answers with HTTP 500). `None` when
    /// the endpoint does not exist.
    pub fn json(&self, task: &str, endpoint: &str) -> Option<Result<String, String>> {
        self.result(task, endpoint).map(|r| r.to_json())
    }

    /// Forgets every endpoint of `task`.
    pub fn remove_task(&self, task: &str) {
        self.map().retain(|(t, _), _| t != task);
    }

    /// The endpoint names of `task`, sorted.
    pub fn endpoints(&self, task: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .map()
            .keys()
            .filter(|(t, _)| t == task)
            .map(|(_, e)| e.clone())
            .collect();
        v.sort();
        v
    }
}

/// The httpOut processor.
#[derive(Debug)]
pub(crate) struct HttpOut {
    slots: Shared,
}

/// Builds an httpOut node and registers its endpoint (when the registry service exists).
pub(crate) fn build(
    spec: &HttpOutSpec,
    info: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    let slots: Shared = Arc::default();
    if let Some(reg) = info.services.get::<HttpOutRegistry>(SERVICE_NAME) {
        reg.register(&info.task, &spec.endpoint, &slots);
    }
    Ok(Box::new(HttpOut { slots }))
}

impl Processor for HttpOut {
    fn process(&mut self, _: usize, msg: Msg, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        {
            let mut s = lock(&self.slots);
            match &msg {
                Msg::Point(p) => *s.slot(p.group) = Some(point_row(p)),
                Msg::Batch(b) => *s.slot(b.group) = Some(batch_row(b)),
                Msg::Barrier(b) => {
                    s.slot(b.group.id);
                }
                Msg::DeleteGroup(g) => {
                    s.remove(g.id);
                }
            }
        }
        out.push(msg);
    }

    fn cardinality(&self) -> usize {
        lock(&self.slots).len()
    }
}
