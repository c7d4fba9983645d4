//! The alert node and the shared alert state it reports to (`kapacitor-semantics.md` §4).
//!
//! Services the daemon registers (all optional; without them the node keeps private state
//! and events go nowhere):
//!
//! | name | type | role |
//! |---|---|---|
//! | `"alerts"` | [`AlertService`] | receives every [`AlertEvent`] (non-blocking) |
//! | `"topics"` | [`TopicStore`] | per-topic event states: `previousLevel`, restore, API |
//! | `"inhibitors"` | [`InhibitorRegistry`] | `.inhibit()` across tasks |
//! | `"server_info"` | [`AlertServiceInfo`] | `.ServerInfo` of the templates |

mod event;
mod node;
mod state;

pub use event::{AlertEvent, Level};
pub(crate) use node::build;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Service name of the [`AlertService`].
pub const ALERTS_SERVICE: &str = "alerts";
/// Service name of the [`TopicStore`].
pub const TOPICS_SERVICE: &str = "topics";
/// Service name of the [`InhibitorRegistry`].
pub const INHIBITORS_SERVICE: &str = "inhibitors";
/// Service name of the [`AlertServiceInfo`].
pub const SERVER_INFO_SERVICE: &str = "server_info";

/// Receives alert events. Implementations must not block or do I/O inline (queue the event
/// and handle it elsewhere), as Kapacitor's per-handler buffered channels do.
pub trait AlertSink: Send + Sync + fmt::Debug {
    /// Takes one event.
    fn publish(&self, event: AlertEvent);
}

/// The alert sink service, registered under [`ALERTS_SERVICE`].
#[derive(Debug, Clone)]
pub struct AlertService(pub Arc<dyn AlertSink>);

/// What `.ServerInfo` shows in alert templates; registered under [`SERVER_INFO_SERVICE`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertServiceInfo {
    /// `.ServerInfo.Hostname`.
    pub hostname: String,
    /// `.ServerInfo.ClusterID`.
    pub cluster_id: String,
    /// `.ServerInfo.ServerID`.
    pub server_id: String,
}

/// The stored state of one event (alert id) of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventState {
    /// Level.
    pub level: Level,
    /// Message.
    pub message: String,
    /// Details.
    pub details: String,
    /// Event time, ns.
    pub time: i64,
    /// Duration, ns.
    pub duration: i64,
}

/// The state of one topic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicState {
    /// Events by id.
    pub events: HashMap<String, EventState>,
    /// Number of events collected.
    pub collected: i64,
}

impl TopicState {
    /// The topic level: the highest level of its events (OK when none).
    pub fn level(&self) -> Level {
        self.events
            .values()
            .map(|e| e.level)
            .max()
            .unwrap_or(Level::Ok)
    }
}

/// Topic states, registered under [`TOPICS_SERVICE`]: the previous level of an event and
/// what the topics API shows.
#[derive(Debug, Default)]
pub struct TopicStore {
    topics: Mutex<HashMap<String, TopicState>>,
}

impl TopicStore {
    fn map(&self) -> MutexGuard<'_, HashMap<String, TopicState>> {
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The stored state of event `id` of `topic`.
    pub fn event_state(&self, topic: &str, id: &str) -> Option<EventState> {
        self.map()
            .get(topic)
            .and_then(|t| t.events.get(id).cloned())
    }

    /// Records an event (counting it as collected) and returns the state it replaces.
    pub fn update(&self, topic: &str, id: &str, state: EventState) -> Option<EventState> {
        let mut map = self.map();
        let t = map.entry(topic.to_string()).or_default();
        t.collected += 1;
        t.events.insert(id.to_string(), state)
    }

    /// Records `event` in `topic` with `state`, and sets its previous level to the level
    /// the topic held for its id (OK when first seen).
    pub fn record(&self, topic: &str, event: &mut AlertEvent, state: EventState) {
        event.previous_level = self
            .update(topic, &event.id, state)
            .map_or(Level::Ok, |s| s.level);
    }

    /// Restores an event state without counting it (loading persisted topics).
    pub fn restore(&self, topic: &str, id: &str, state: EventState) {
        self.map()
            .entry(topic.to_string())
            .or_default()
            .events
            .insert(id.to_string(), state);
    }

    /// A copy of a topic's state.
    pub fn topic(&self, topic: &str) -> Option<TopicState> {
        self.map().get(topic).cloned()
    }

    /// The topic names, sorted.
    pub fn topics(&self) -> Vec<String> {
        let mut v: Vec<String> = self.map().keys().cloned().collect();
        v.sort();
        v
    }

    /// Number of events collected by `topic`.
    pub fn collected(&self, topic: &str) -> i64 {
        self.map().get(topic).map_or(0, |t| t.collected)
    }

    /// Deletes a topic; whether it existed.
    pub fn remove_topic(&self, topic: &str) -> bool {
        self.map().remove(topic).is_some()
    }
}

/// One `.inhibit(category, tags...)` of one alert group: active while the group is non-OK.
#[derive(Debug)]
pub struct Inhibitor {
    /// Task that owns it.
    pub task: String,
    /// The inhibited category.
    pub category: String,
    /// Equal-tag names and the values of the inhibiting group.
    pub tags: Vec<(String, String)>,
    active: AtomicBool,
}

impl Inhibitor {
    /// A new, inactive inhibitor.
    pub fn new(task: &str, category: &str, tags: Vec<(String, String)>) -> Inhibitor {
        Inhibitor {
            task: task.to_string(),
            category: category.to_string(),
            tags,
            active: AtomicBool::new(false),
        }
    }

    /// Activates or deactivates it.
    pub fn set(&self, active: bool) {
        self.active.store(active, Ordering::Relaxed);
    }

    /// Whether it is active.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Whether it inhibits an event of `category` with these tags.
    pub fn inhibits(
        &self,
        category: &str,
        tags: &[(crate::point::Sym, crate::point::Sym)],
    ) -> bool {
        self.is_active()
            && self.category == category
            && self.tags.iter().all(|(k, v)| {
                crate::point::get(tags, crate::point::Sym::new(k)).map_or("", |t| t.as_str()) == v
            })
    }
}

/// Every inhibitor, registered under [`INHIBITORS_SERVICE`] (shared across tasks).
#[derive(Debug, Default)]
pub struct InhibitorRegistry {
    inhibitors: Mutex<Vec<Arc<Inhibitor>>>,
}

impl InhibitorRegistry {
    fn list(&self) -> MutexGuard<'_, Vec<Arc<Inhibitor>>> {
        self.inhibitors.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an inhibitor.
    pub fn add(&self, inhibitor: Arc<Inhibitor>) {
        self.list().push(inhibitor);
    }

    /// Removes one inhibitor (by identity).
    pub fn remove(&self, inhibitor: &Arc<Inhibitor>) {
        self.list().retain(|i| !Arc::ptr_eq(i, inhibitor));
    }

    /// Removes every inhibitor of `task`.
    pub fn remove_task(&self, task: &str) {
        self.list().retain(|i| i.task != task);
    }

    /// Whether an event of `category` with `tags` is inhibited.
    pub fn is_inhibited(
        &self,
        category: &str,
        tags: &[(crate::point::Sym, crate::point::Sym)],
    ) -> bool {
        !category.is_empty() && self.list().iter().any(|i| i.inhibits(category, tags))
    }
}
