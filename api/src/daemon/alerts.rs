//! Alert topics and their handlers: the [`AlertCenter`] every alert node publishes to, and
//! the `/kapacitor/v1/alerts` routes over it.
//!
//! ```text
//!  alert node ─ AlertEvent ─▶ AlertCenter::publish (never blocks)
//!                               ├─ marks the topic dirty ─▶ persister thread ─▶ TopicStateRecord
//!                               └─ bounded queue ─▶ dispatcher thread
//!                                    ├─ the event's inline handlers (`.log()`, `.tcp()`…)
//!                                    └─ the topic's handlers whose `match` holds
//! ```
//!
//! Topic handlers live in the store ([`HandlerRecord`]) and in memory, compiled (match
//! lambda, delivery action). Kinds that deliver without service configuration: `log`,
//! `post`, `tcp`, `exec`, `publish` (re-publishes to other topics) and `aggregate` (one
//! event per interval for the events it got, published to another topic by the
//! aggregates thread; see `alerts/aggregate.rs`). The other kinds
//! Kapacitor knows are accepted, stored and listed; delivering through them counts an error
//! and logs `handler <id> of kind <kind>: no [<kind>] service configured`.
//!
//! Topic states (the level, message, details, time and duration of each event) are
//! persisted when `[alert] persist-topics` is on and restored by [`AlertCenter::open`],
//! before tasks start; `collected` is not persisted (0 after a restart, as in Kapacitor).
//!
//! A task's anonymous topics (`main:<task>:<node>`, of its alerts' inline handlers) follow
//! the task as in Kapacitor: closed when it stops (state saved, the topic unknown to the
//! API), restored when it starts, deleted with it.

mod aggregate;
mod delivery;

use super::{ApiError, Daemon};
use crate::alert_handlers::{HandlerServices, HandlerStats, options};
use crate::store::{EventStateRecord, HandlerRecord, Store, StoreError, TopicStateRecord};
use aggregate::Aggregate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
pub use delivery::RetryPolicy;
use delivery::{DELIVERY_SHARDS, Delivery};
use kap_api_types::{
    Event, EventList, EventState as WireEventState, Handler, HandlerList,
    HandlerSpec as WireHandlerSpec, Link, Topic, TopicList,
};
use kap_dataflow::alert::{AlertEvent, AlertSink, EventState, Level, TopicStore};
use kap_dataflow::gofmt;
use kap_dataflow::lambda::{AlertContext, CompiledLambda, MapScope};
use kap_dsl::plan::{ExecHandler, HandlerSpec as PlanHandler, LogHandler, PostHandler, TcpHandler};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Base path of the topics API.
pub const TOPICS_PATH: &str = "/kapacitor/v1/alerts/topics";

/// The handler kinds the daemon runs itself, beside the alert services
/// ([`options::SERVICE_KINDS`]).
const BUILTIN_KINDS: &[&str] = &["aggregate", "exec", "log", "post", "publish", "tcp"];

/// Every handler kind Kapacitor accepts, sorted.
pub fn handler_kinds() -> Vec<&'static str> {
    let mut kinds: Vec<&str> = BUILTIN_KINDS
        .iter()
        .chain(options::SERVICE_KINDS)
        .copied()
        .collect();
    kinds.sort_unstable();
    kinds
}

/// Whether `kind` is a handler kind Kapacitor accepts.
pub fn is_handler_kind(kind: &str) -> bool {
    BUILTIN_KINDS.contains(&kind) || options::SERVICE_KINDS.contains(&kind)
}

/// How deep `publish` handlers may chain before an event is dropped (guards against loops).
const MAX_PUBLISH_DEPTH: usize = 8;

/// The longest the aggregates thread sleeps (it wakes sooner when an interval ends).
const AGGREGATE_WAIT_MAX: Duration = Duration::from_millis(100);

/// What a topic handler does with an event.
#[derive(Debug)]
enum Action {
    /// One of the handlers the daemon delivers itself.
    Run(Arc<PlanHandler>),
    /// Re-publish to these topics.
    Publish(Vec<String>),
    /// Gather events; the aggregates thread publishes one per interval.
    Aggregate(Arc<Aggregate>),
}

/// A topic handler, compiled.
struct Compiled {
    rec: HandlerRecord,
    matcher: Option<CompiledLambda>,
    action: Action,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("rec", &self.rec)
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

type HandlerMap = BTreeMap<String, BTreeMap<String, Arc<Compiled>>>;

#[derive(Debug)]
struct Inner {
    store: Store,
    topics: Arc<TopicStore>,
    services: Arc<HandlerServices>,
    handlers: RwLock<HandlerMap>,
    stats: Arc<HandlerStats>,
    last_error: Arc<Mutex<Option<String>>>,
    /// The delivery threads' queues ([`DELIVERY_SHARDS`]).
    shards: Vec<crossbeam_channel::Sender<Delivery>>,
    persist: bool,
    dirty: Mutex<BTreeSet<String>>,
    /// Anonymous topics of stopped tasks: out of the live topics, their state kept in the
    /// store (Kapacitor's closed topics).
    closed: Mutex<BTreeSet<String>>,
    /// Serializes API changes of handlers and topics.
    write: Mutex<()>,
    /// Handler kinds refused (`kapacitord -disable-handlers`).
    disabled: BTreeSet<String>,
}

/// Counts a handler error, logs it and keeps it as the last one.
fn record_error(stats: &HandlerStats, last: &Mutex<Option<String>>, msg: String) {
    stats.errors.fetch_add(1, Ordering::Relaxed);
    tracing::error!("{msg}");
    *lock(last) = Some(msg);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The daemon's alert sink: runs inline and topic handlers in the background, persists topic
/// states, and serves the topics API.
#[derive(Debug)]
pub struct AlertCenter {
    inner: Arc<Inner>,
    queue: Option<crossbeam_channel::Sender<AlertEvent>>,
    signal: Option<crossbeam_channel::Sender<()>>,
    /// Dropped to stop the aggregates thread.
    stop: Option<crossbeam_channel::Sender<()>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// Options of [`AlertCenter::open`].
#[derive(Debug, Clone)]
pub struct AlertOptions {
    /// Events that may wait for the handlers (`[alert] topic-buffer-length`).
    pub buffer: usize,
    /// Persist and restore topic states (`[alert] persist-topics`).
    pub persist_topics: bool,
    /// Handler kinds refused, inline and on topics (`kapacitord -disable-handlers`).
    pub disabled_handlers: BTreeSet<String>,
    /// How failed handler runs are tried again.
    pub retry: RetryPolicy,
}

impl Default for AlertOptions {
    fn default() -> Self {
        AlertOptions {
            buffer: 5000,
            persist_topics: true,
            disabled_handlers: BTreeSet::new(),
            retry: RetryPolicy::default(),
        }
    }
}

/// Runs the inline handlers of the events it takes, and nothing else
/// ([`AlertCenter::inline_handlers`]).
pub struct InlineHandlers(Arc<Inner>);

impl std::fmt::Debug for InlineHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InlineHandlers")
    }
}

impl AlertSink for InlineHandlers {
    fn publish(&self, event: AlertEvent) {
        if !event.handlers.is_empty() {
            self.0.deliver_inline(&Arc::new(event));
        }
    }
}

impl AlertCenter {
    /// Loads the topic handlers from `store`, restores the persisted topic states into
    /// `topics` (when `opts.persist_topics`), and starts the dispatcher and persister
    /// threads.
    ///
    /// # Errors
    /// A store error reading handlers or topic states.
    pub fn open(
        store: Store,
        topics: Arc<TopicStore>,
        services: Arc<HandlerServices>,
        opts: AlertOptions,
    ) -> Result<AlertCenter, StoreError> {
        let mut map = HandlerMap::new();
        for rec in store.list::<HandlerRecord>()? {
            match refuse_disabled(&opts.disabled_handlers, &rec.kind).and_then(|()| compile(&rec)) {
                Ok(c) => {
                    map.entry(rec.topic.clone())
                        .or_default()
                        .insert(rec.id.clone(), Arc::new(c));
                }
                Err(e) => tracing::error!(
                    topic = %rec.topic,
                    handler = %rec.id,
                    "not loading stored topic handler: {e}"
                ),
            }
        }
        if opts.persist_topics {
            for rec in store.list::<TopicStateRecord>()? {
                for (id, e) in rec.events {
                    topics.restore(&rec.topic, &id, event_state_from_record(&e));
                }
            }
        }
        let stats = Arc::new(HandlerStats::default());
        let last_error = Arc::new(Mutex::new(None));
        let mut shards = Vec::with_capacity(DELIVERY_SHARDS);
        for n in 0..DELIVERY_SHARDS {
            let (tx, rx) = crossbeam_channel::bounded::<Delivery>(opts.buffer.max(1));
            delivery::spawn(
                n,
                rx,
                delivery::Shared {
                    services: Arc::clone(&services),
                    stats: Arc::clone(&stats),
                    last_error: Arc::clone(&last_error),
                    policy: opts.retry,
                    buffer: opts.buffer,
                },
            );
            shards.push(tx);
        }
        let inner = Arc::new(Inner {
            store,
            topics,
            services,
            handlers: RwLock::new(map),
            stats,
            last_error,
            shards,
            persist: opts.persist_topics,
            dirty: Mutex::new(BTreeSet::new()),
            closed: Mutex::new(BTreeSet::new()),
            write: Mutex::new(()),
            disabled: opts.disabled_handlers,
        });
        let (tx, rx) = crossbeam_channel::bounded::<AlertEvent>(opts.buffer.max(1));
        let (sig_tx, sig_rx) = crossbeam_channel::bounded::<()>(1);
        let mut threads = Vec::new();
        let i = Arc::clone(&inner);
        let sig = sig_tx.clone();
        threads.push(
            std::thread::Builder::new()
                .name("alert-handlers".into())
                .spawn(move || {
                    for event in rx {
                        i.dispatch(event, 0, &sig);
                    }
                })
                .expect("spawning the alert handler thread"),
        );
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let i = Arc::clone(&inner);
        let sig = sig_tx.clone();
        threads.push(
            std::thread::Builder::new()
                .name("alert-aggregates".into())
                .spawn(move || {
                    loop {
                        let wait = i.tick_aggregates(Instant::now(), &sig);
                        match stop_rx.recv_timeout(wait) {
                            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                            _ => break,
                        }
                    }
                })
                .expect("spawning the aggregate handlers thread"),
        );
        let i = Arc::clone(&inner);
        threads.push(
            std::thread::Builder::new()
                .name("alert-topics".into())
                .spawn(move || {
                    while sig_rx.recv().is_ok() {
                        i.flush();
                    }
                    i.flush();
                })
                .expect("spawning the topic persister thread"),
        );
        Ok(AlertCenter {
            inner,
            queue: Some(tx),
            signal: Some(sig_tx),
            stop: Some(stop_tx),
            threads: Mutex::new(threads),
        })
    }

    /// A sink that runs only the inline handlers of the events it takes, on the delivery
    /// threads (with their retries), never touching topics: a replay's alerts.
    pub fn inline_handlers(&self) -> InlineHandlers {
        InlineHandlers(Arc::clone(&self.inner))
    }

    /// Counters of handler runs (`handled`, `errors`, `dropped`).
    pub fn stats(&self) -> &HandlerStats {
        &self.inner.stats
    }

    /// What handlers deliver with (service tests send through it too).
    pub fn services(&self) -> &Arc<HandlerServices> {
        &self.inner.services
    }

    /// The last handler error, if any.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.inner.last_error).clone()
    }

    /// Writes the states of the topics changed since the last flush to the store now.
    pub fn flush(&self) {
        self.inner.flush();
    }

    /// The topic states store.
    pub fn topic_store(&self) -> &Arc<TopicStore> {
        &self.inner.topics
    }

    /// Readies a plan's alert nodes for this daemon: each gets the services configured
    /// `global = true` that it has no handler of, and a global one with `state-changes-only`
    /// makes every alert state-changes-only, as in Kapacitor; then a handler of a
    /// kind refused by `kapacitord -disable-handlers` is an error naming its node.
    pub fn prepare_inline(&self, plan: &mut kap_dsl::plan::Pipeline) -> Result<(), String> {
        // A global service of a disabled kind is not attached (it would refuse every task).
        let mut globals = self.inner.services.configs().globals();
        globals.retain(|(spec, _)| !self.inner.disabled.contains(spec.kind()));
        for n in &mut plan.nodes {
            if let kap_dsl::plan::NodeSpec::Alert(a) = &mut n.spec {
                for h in &a.handlers {
                    refuse_disabled(&self.inner.disabled, h.kind())
                        .map_err(|e| format!("{}: {e}", n.name))?;
                }
                for (spec, state_changes_only) in &globals {
                    a.state_changes_only |= *state_changes_only;
                    if !a.handlers.iter().any(|h| h.kind() == spec.kind()) {
                        a.handlers.push(spec.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// When task `task` stops (disabled, or restarted with a new script): its anonymous
    /// topics (`main:<task>:<node>`, of its alerts' inline handlers) are closed, as
    /// Kapacitor closes them. Their state is saved, and they leave the topics the API lists
    /// (`unknown topic` until the task starts again).
    pub fn close_task_topics(&self, task: &str) {
        for t in self.inner.topics.topics() {
            if !is_anon_topic_of(&t, task) {
                continue;
            }
            lock(&self.inner.closed).insert(t.clone());
            let state = self.inner.topics.topic(&t);
            self.inner.topics.remove_topic(&t);
            if let (true, Some(state)) = (self.inner.persist, state)
                && let Err(e) = self.inner.store.put(&state_record(&t, &state))
            {
                tracing::error!(topic = %t, "saving a closed topic's state: {e}");
            }
        }
    }

    /// When task `task` starts: its closed anonymous topics come back with their saved
    /// state.
    pub fn restore_task_topics(&self, task: &str) {
        let closed: Vec<String> = {
            let mut c = lock(&self.inner.closed);
            let mine: Vec<String> = c
                .iter()
                .filter(|t| is_anon_topic_of(t, task))
                .cloned()
                .collect();
            for t in &mine {
                c.remove(t);
            }
            mine
        };
        for t in closed {
            match self.inner.store.get::<TopicStateRecord>(&t) {
                Ok(Some(rec)) => {
                    for (id, e) in rec.events {
                        self.inner
                            .topics
                            .restore(&t, &id, event_state_from_record(&e));
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::error!(topic = %t, "restoring a closed topic's state: {e}"),
            }
        }
    }

    /// When task `task` is deleted: its anonymous topics go, with their state and handlers.
    pub fn delete_task_topics(&self, task: &str) {
        let mut topics: BTreeSet<String> = self
            .inner
            .topics
            .topics()
            .into_iter()
            .filter(|t| is_anon_topic_of(t, task))
            .collect();
        lock(&self.inner.closed).retain(|t| {
            let mine = is_anon_topic_of(t, task);
            if mine {
                topics.insert(t.clone());
            }
            !mine
        });
        for t in topics {
            if let Err(e) = self.delete_topic(&t) {
                tracing::error!(topic = %t, "deleting an anonymous topic: {}", e.message);
            }
        }
    }

    // ---- API ----

    /// Topics whose id matches `pattern` (a glob; empty = all) and whose level is at least
    /// `min_level`, sorted by id.
    pub fn list_topics(&self, pattern: &str, min_level: Level) -> Vec<Topic> {
        let pat = glob::Pattern::new(pattern).ok();
        self.topic_ids()
            .into_iter()
            .filter(|t| pattern.is_empty() || pat.as_ref().is_some_and(|p| p.matches(t)))
            .map(|t| self.topic_view(&t))
            .filter(|t| Level::parse(&t.level).unwrap_or_default() >= min_level)
            .collect()
    }

    /// One topic; 404 when it has neither handlers nor events.
    ///
    /// # Errors
    /// 404 for an unknown topic.
    pub fn topic(&self, topic: &str) -> Result<Topic, ApiError> {
        if !self.topic_exists(topic) {
            return Err(unknown_topic(topic));
        }
        Ok(self.topic_view(topic))
    }

    /// Deletes a topic: its handlers and its state (idempotent).
    ///
    /// # Errors
    /// A store error.
    pub fn delete_topic(&self, topic: &str) -> Result<(), ApiError> {
        let _w = lock(&self.inner.write);
        let prefix = HandlerRecord::topic_prefix(topic);
        self.inner
            .store
            .transaction(|tx| -> Result<(), StoreError> {
                for h in tx.list_prefix::<HandlerRecord>(&prefix)? {
                    tx.delete::<HandlerRecord>(&HandlerRecord::key_for(&h.topic, &h.id))?;
                }
                tx.delete::<TopicStateRecord>(topic)?;
                Ok(())
            })
            .map_err(ApiError::internal)?;
        self.handlers_mut().remove(topic);
        self.inner.topics.remove_topic(topic);
        Ok(())
    }

    /// The events of a topic at `min_level` or above, sorted by id.
    ///
    /// # Errors
    /// 404 for an unknown topic.
    pub fn events(&self, topic: &str, min_level: Level) -> Result<Vec<Event>, ApiError> {
        if !self.topic_exists(topic) {
            return Err(unknown_topic(topic));
        }
        let state = self.inner.topics.topic(topic).unwrap_or_default();
        let mut ids: Vec<&String> = state.events.keys().collect();
        ids.sort();
        Ok(ids
            .into_iter()
            .filter_map(|id| {
                let e = &state.events[id];
                (e.level >= min_level).then(|| event_view(topic, id, e))
            })
            .collect())
    }

    /// One event of a topic.
    ///
    /// # Errors
    /// 404 for an unknown topic or event.
    pub fn event(&self, topic: &str, id: &str) -> Result<Event, ApiError> {
        if !self.topic_exists(topic) {
            return Err(unknown_topic(topic));
        }
        let e = self.inner.topics.event_state(topic, id).ok_or_else(|| {
            ApiError::not_found(format!("event {id:?} does not exist for topic {topic:?}"))
        })?;
        Ok(event_view(topic, id, &e))
    }

    /// The handlers of a topic whose id matches `pattern`, sorted by id (empty for an unknown
    /// topic).
    pub fn handlers(&self, topic: &str, pattern: &str) -> Vec<Handler> {
        let pat = glob::Pattern::new(pattern).ok();
        self.handlers_ref()
            .get(topic)
            .map(|hs| {
                hs.values()
                    .filter(|h| {
                        pattern.is_empty() || pat.as_ref().is_some_and(|p| p.matches(&h.rec.id))
                    })
                    .map(|h| handler_view(&h.rec))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One handler.
    ///
    /// # Errors
    /// 404 for an unknown handler.
    pub fn handler(&self, topic: &str, id: &str) -> Result<Handler, ApiError> {
        self.handlers_ref()
            .get(topic)
            .and_then(|hs| hs.get(id))
            .map(|h| handler_view(&h.rec))
            .ok_or_else(|| unknown_handler(topic, id))
    }

    /// Creates a handler on `topic` (which creates the topic).
    ///
    /// # Errors
    /// 400 for an invalid id, kind, options or match expression; 500 when a handler with
    /// this id exists.
    pub fn create_handler(&self, topic: &str, spec: WireHandlerSpec) -> Result<Handler, ApiError> {
        let rec = record_from_spec(topic, spec)?;
        refuse_disabled(&self.inner.disabled, &rec.kind).map_err(ApiError::bad_request)?;
        let compiled = compile(&rec).map_err(ApiError::bad_request)?;
        let _w = lock(&self.inner.write);
        if self.handler_exists(topic, &rec.id) {
            return Err(ApiError::internal_msg(
                "failed to create handler: handler spec already exists".into(),
            ));
        }
        self.inner.store.put(&rec).map_err(ApiError::internal)?;
        self.handlers_mut()
            .entry(topic.to_string())
            .or_default()
            .insert(rec.id.clone(), Arc::new(compiled));
        Ok(handler_view(&rec))
    }

    /// Replaces handler `id` of `topic` with `spec` (whose id may differ: a rename).
    ///
    /// # Errors
    /// 404 for an unknown handler, 400 for an invalid spec, 500 for a rename onto an
    /// existing handler.
    pub fn replace_handler(
        &self,
        topic: &str,
        id: &str,
        spec: WireHandlerSpec,
    ) -> Result<Handler, ApiError> {
        let rec = record_from_spec(topic, spec)?;
        refuse_disabled(&self.inner.disabled, &rec.kind).map_err(ApiError::bad_request)?;
        let compiled = compile(&rec).map_err(ApiError::bad_request)?;
        let _w = lock(&self.inner.write);
        if !self.handler_exists(topic, id) {
            return Err(unknown_handler(topic, id));
        }
        if rec.id != id && self.handler_exists(topic, &rec.id) {
            return Err(ApiError::internal_msg(format!(
                "failed to update handler: handler {:?} already exists for topic {topic:?}",
                rec.id
            )));
        }
        self.inner
            .store
            .transaction(|tx| -> Result<(), StoreError> {
                if rec.id != id {
                    tx.delete::<HandlerRecord>(&HandlerRecord::key_for(topic, id))?;
                }
                tx.put(&rec)
            })
            .map_err(ApiError::internal)?;
        let mut map = self.handlers_mut();
        let hs = map.entry(topic.to_string()).or_default();
        hs.remove(id);
        hs.insert(rec.id.clone(), Arc::new(compiled));
        Ok(handler_view(&rec))
    }

    /// Applies a JSON patch (RFC 6902) to handler `id` of `topic`, seen as
    /// `{"id", "topic", "kind", "options", "match"}`.
    ///
    /// # Errors
    /// 404 for an unknown handler, 400 for a bad patch or an invalid result.
    pub fn patch_handler(&self, topic: &str, id: &str, patch: &Value) -> Result<Handler, ApiError> {
        let current = {
            let map = self.handlers_ref();
            map.get(topic)
                .and_then(|hs| hs.get(id))
                .map(|h| h.rec.clone())
                .ok_or_else(|| unknown_handler(topic, id))?
        };
        let mut doc = serde_json::json!({
            "id": current.id,
            "topic": current.topic,
            "kind": current.kind,
            "options": if current.options.is_null() { Value::Object(Map::new()) } else { current.options },
            "match": current.match_expr,
        });
        apply_patch(&mut doc, patch).map_err(ApiError::bad_request)?;
        let spec: WireHandlerSpec = serde_json::from_value(doc)
            .map_err(|e| ApiError::bad_request(format!("invalid patched handler: {e}")))?;
        self.replace_handler(topic, id, spec)
    }

    /// Deletes a handler (idempotent).
    ///
    /// # Errors
    /// A store error.
    pub fn delete_handler(&self, topic: &str, id: &str) -> Result<(), ApiError> {
        let _w = lock(&self.inner.write);
        self.inner
            .store
            .delete::<HandlerRecord>(&HandlerRecord::key_for(topic, id))
            .map_err(ApiError::internal)?;
        let mut map = self.handlers_mut();
        if let Some(hs) = map.get_mut(topic) {
            hs.remove(id);
            if hs.is_empty() {
                map.remove(topic);
            }
        }
        Ok(())
    }

    // ---- helpers ----

    fn handlers_ref(&self) -> std::sync::RwLockReadGuard<'_, HandlerMap> {
        self.inner
            .handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn handlers_mut(&self) -> std::sync::RwLockWriteGuard<'_, HandlerMap> {
        self.inner
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn handler_exists(&self, topic: &str, id: &str) -> bool {
        self.handlers_ref()
            .get(topic)
            .is_some_and(|hs| hs.contains_key(id))
    }

    fn topic_exists(&self, topic: &str) -> bool {
        self.handlers_ref()
            .get(topic)
            .is_some_and(|hs| !hs.is_empty())
            || self.inner.topics.topic(topic).is_some()
    }

    fn topic_ids(&self) -> Vec<String> {
        let mut ids: BTreeSet<String> = self.inner.topics.topics().into_iter().collect();
        ids.extend(
            self.handlers_ref()
                .iter()
                .filter(|(_, hs)| !hs.is_empty())
                .map(|(t, _)| t.clone()),
        );
        ids.into_iter().collect()
    }

    fn topic_view(&self, topic: &str) -> Topic {
        let state = self.inner.topics.topic(topic).unwrap_or_default();
        let base = format!("{TOPICS_PATH}/{topic}");
        Topic {
            link: Link::self_(base.clone()),
            id: topic.to_string(),
            level: state.level().as_str().to_string(),
            collected: state.collected,
            events_link: Link {
                rel: "events".into(),
                href: format!("{base}/events"),
            },
            handlers_link: Link {
                rel: "handlers".into(),
                href: format!("{base}/handlers"),
            },
        }
    }
}

impl Drop for AlertCenter {
    fn drop(&mut self) {
        self.queue.take();
        self.stop.take();
        self.signal.take();
        for t in lock(&self.threads).drain(..) {
            let _ = t.join();
        }
    }
}

impl AlertSink for AlertCenter {
    fn publish(&self, event: AlertEvent) {
        self.inner.mark_dirty(&event.topic, self.signal.as_ref());
        let wanted = !event.handlers.is_empty()
            || self
                .inner
                .handlers
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&event.topic)
                .is_some_and(|hs| !hs.is_empty());
        if !wanted {
            return;
        }
        if let Some(q) = &self.queue
            && q.try_send(event).is_err()
        {
            self.inner.stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::error!("alert handler queue full: event dropped");
        }
    }
}

impl Inner {
    fn mark_dirty(&self, topic: &str, signal: Option<&crossbeam_channel::Sender<()>>) {
        if !self.persist {
            return;
        }
        lock(&self.dirty).insert(topic.to_string());
        if let Some(s) = signal {
            let _ = s.try_send(());
        }
    }

    fn error(&self, msg: String) {
        record_error(&self.stats, &self.last_error, msg);
    }

    /// Runs the inline handlers of `event` and the matching handlers of its topic.
    fn dispatch(&self, event: AlertEvent, depth: usize, signal: &crossbeam_channel::Sender<()>) {
        let shared = Arc::new(event.clone());
        self.deliver_inline(&shared);
        let handlers: Vec<Arc<Compiled>> = self
            .handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&event.topic)
            .map(|hs| hs.values().cloned().collect())
            .unwrap_or_default();
        for h in handlers {
            match matches(h.matcher.as_ref(), &event) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    self.error(format!(
                        "handler {} of topic {}: evaluating match expression: {e}",
                        h.rec.id, h.rec.topic
                    ));
                    continue;
                }
            }
            self.stats.handled.fetch_add(1, Ordering::Relaxed);
            match &h.action {
                Action::Run(spec) => {
                    let what = format!("handler {} of kind {}", h.rec.id, h.rec.kind);
                    self.deliver((&h.rec.topic, &h.rec.id), Arc::clone(spec), &shared, what);
                }
                Action::Publish(targets) => {
                    if depth >= MAX_PUBLISH_DEPTH {
                        self.error(format!(
                            "handler {} of kind publish: too many nested publishes, event {} dropped",
                            h.rec.id, event.id
                        ));
                        continue;
                    }
                    for t in targets {
                        let mut ev = event.clone();
                        ev.handlers = Vec::new();
                        self.collect(t, ev, depth + 1, signal);
                    }
                }
                Action::Aggregate(a) => {
                    let mut ev = event.clone();
                    ev.handlers = Vec::new();
                    a.add(ev);
                }
            }
        }
    }

    /// Queues the runs of an event's inline handlers (those of its TICKscript).
    fn deliver_inline(&self, event: &Arc<AlertEvent>) {
        for (i, h) in event.handlers.iter().enumerate() {
            self.stats.handled.fetch_add(1, Ordering::Relaxed);
            let what = format!("inline {} handler of task {}", h.kind(), event.task);
            self.deliver(
                (&event.topic, &i.to_string()),
                Arc::new(h.clone()),
                event,
                what,
            );
        }
    }

    /// Queues a handler run on the delivery thread of handler `key` (its topic and id); a
    /// full queue drops it and says so.
    fn deliver(
        &self,
        key: (&str, &str),
        spec: Arc<PlanHandler>,
        event: &Arc<AlertEvent>,
        what: String,
    ) {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        let shard = &self.shards[(h.finish() % self.shards.len() as u64) as usize];
        let key = h.finish();
        let d = Delivery {
            spec,
            event: Arc::clone(event),
            what,
            key,
        };
        if let Err(e) = shard.try_send(d) {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            self.error(format!(
                "{}: queue full, event {} dropped",
                e.into_inner().what,
                event.id
            ));
        }
    }

    /// An event a handler publishes to topic `topic`: it updates the topic's state (its
    /// previous level is the one the topic held for its id) and goes to the topic's
    /// handlers.
    fn collect(
        &self,
        topic: &str,
        mut event: AlertEvent,
        depth: usize,
        signal: &crossbeam_channel::Sender<()>,
    ) {
        let state = event.state();
        self.topics.record(topic, &mut event, state);
        event.topic = topic.to_string();
        self.mark_dirty(topic, Some(signal));
        self.dispatch(event, depth, signal);
    }

    /// Publishes the aggregate event of every `aggregate` handler whose interval has ended
    /// at `now`; returns how long until the next interval ends (at most
    /// [`AGGREGATE_WAIT_MAX`], so new handlers are seen).
    fn tick_aggregates(&self, now: Instant, signal: &crossbeam_channel::Sender<()>) -> Duration {
        let aggregates: Vec<(Arc<Compiled>, Arc<Aggregate>)> = self
            .handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .flat_map(BTreeMap::values)
            .filter_map(|h| match &h.action {
                Action::Aggregate(a) => Some((Arc::clone(h), Arc::clone(a))),
                _ => None,
            })
            .collect();
        let mut next = now + AGGREGATE_WAIT_MAX;
        for (h, a) in aggregates {
            match a.tick(now) {
                None => {}
                Some(Ok(event)) => {
                    let topic = a.topic.clone();
                    self.collect(&topic, event, 1, signal);
                }
                Some(Err(e)) => {
                    self.error(format!("handler {} of kind aggregate: {e}", h.rec.id));
                }
            }
            next = next.min(a.due());
        }
        next.saturating_duration_since(now)
    }

    /// Persists the states of the dirty topics (a closed topic's saved state stays).
    fn flush(&self) {
        let dirty = std::mem::take(&mut *lock(&self.dirty));
        if dirty.is_empty() || !self.persist {
            return;
        }
        let res = self.store.transaction(|tx| -> Result<(), StoreError> {
            for t in &dirty {
                match self.topics.topic(t) {
                    Some(state) => tx.put(&state_record(t, &state))?,
                    // Read after the topic: a topic closed since this flush began (its
                    // task disabled) is closed before it leaves `topics`, so its saved
                    // state is never taken for a deleted topic's.
                    None if lock(&self.closed).contains(t) => {}
                    None => {
                        tx.delete::<TopicStateRecord>(t)?;
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = res {
            tracing::error!("persisting alert topic states: {e}");
            lock(&self.dirty).extend(dirty);
        }
    }
}

// ---- conversions ----

/// Whether `topic` is an anonymous topic of task `task`: `main:<task>:<node>` (task and
/// node ids have no `:`).
fn is_anon_topic_of(topic: &str, task: &str) -> bool {
    topic
        .strip_prefix("main:")
        .and_then(|r| r.strip_prefix(task))
        .and_then(|r| r.strip_prefix(':'))
        .is_some_and(|node| !node.is_empty() && !node.contains(':'))
}

/// The stored state of a topic.
fn state_record(topic: &str, state: &kap_dataflow::alert::TopicState) -> TopicStateRecord {
    TopicStateRecord {
        topic: topic.to_string(),
        events: state
            .events
            .iter()
            .map(|(id, e)| (id.clone(), event_state_record(e)))
            .collect(),
    }
}

fn event_state_record(e: &EventState) -> EventStateRecord {
    EventStateRecord {
        message: e.message.clone(),
        details: e.details.clone(),
        time: chrono::DateTime::from_timestamp_nanos(e.time),
        duration_ns: e.duration,
        level: e.level.as_str().to_string(),
    }
}

fn event_state_from_record(r: &EventStateRecord) -> EventState {
    EventState {
        level: Level::parse(&r.level).unwrap_or_default(),
        message: r.message.clone(),
        details: r.details.clone(),
        time: r.time.timestamp_nanos_opt().unwrap_or(0),
        duration: r.duration_ns,
    }
}

fn event_view(topic: &str, id: &str, e: &EventState) -> Event {
    Event {
        link: Link::self_(format!("{TOPICS_PATH}/{topic}/events/{id}")),
        id: id.to_string(),
        state: WireEventState {
            message: e.message.clone(),
            details: e.details.clone(),
            time: gofmt::format_time_rfc3339nano(e.time),
            duration: gofmt::format_duration_go(e.duration),
            level: e.level.as_str().to_string(),
        },
    }
}

fn handler_view(rec: &HandlerRecord) -> Handler {
    Handler {
        link: Link::self_(format!("{TOPICS_PATH}/{}/handlers/{}", rec.topic, rec.id)),
        id: rec.id.clone(),
        kind: rec.kind.clone(),
        options: match &rec.options {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        },
        match_expr: rec.match_expr.clone(),
    }
}

fn unknown_topic(topic: &str) -> ApiError {
    ApiError::not_found(format!("topic {topic:?} does not exist"))
}

fn unknown_handler(topic: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("handler {id:?} does not exist for topic {topic:?}"))
}

/// Whether `id` is a valid handler id (`^[-._\p{L}0-9]+$`).
pub fn valid_handler_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_alphabetic() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_'))
}

/// Whether `id` is a valid topic id (handler ids plus `:`).
pub fn valid_topic_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_alphabetic() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_' | ':'))
}

fn record_from_spec(topic: &str, spec: WireHandlerSpec) -> Result<HandlerRecord, ApiError> {
    if !valid_handler_id(&spec.id) {
        return Err(ApiError::bad_request(format!(
            "handler ID must contain only letters, numbers, '-', '.' and '_'. {:?}",
            spec.id
        )));
    }
    if !valid_topic_id(topic) {
        return Err(ApiError::bad_request(format!(
            "topic ID must contain only letters, numbers, '-', '.', ':' and '_'. {topic:?}"
        )));
    }
    if spec.kind.is_empty() {
        return Err(ApiError::bad_request(
            "handler Kind must not be empty".into(),
        ));
    }
    Ok(HandlerRecord {
        topic: topic.to_string(),
        id: spec.id,
        kind: spec.kind,
        options: Value::Object(spec.options),
        match_expr: spec.match_expr,
    })
}

fn opt_str(o: &Map<String, Value>, key: &str) -> Result<String, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(format!("option {key:?} must be a string, got {v}")),
    }
}

fn opt_strings(o: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("option {key:?} must be a list of strings"))
            })
            .collect(),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(v) => Err(format!("option {key:?} must be a list of strings, got {v}")),
    }
}

/// A duration option: nanoseconds as a number, or a Go/TICKscript duration string.
fn opt_duration(o: &Map<String, Value>, key: &str) -> Result<i64, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("option {key:?} must be a duration")),
        Some(Value::String(s)) => {
            parse_duration(s).ok_or_else(|| format!("option {key:?}: invalid duration {s:?}"))
        }
        Some(v) => Err(format!("option {key:?} must be a duration, got {v}")),
    }
}

fn parse_duration(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "u" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            "w" => 7.0 * 86400e9,
            _ => return None,
        };
        rest = &rest[u..];
        total += num * mult;
    }
    Some(total as i64)
}

/// Compiles a handler record: its kind's action and its match lambda.
fn compile(rec: &HandlerRecord) -> Result<Compiled, String> {
    if !is_handler_kind(&rec.kind) {
        return Err(format!("unsupported action kind {:?}", rec.kind));
    }
    let empty = Map::new();
    let o = match &rec.options {
        Value::Object(m) => m,
        Value::Null => &empty,
        v => return Err(format!("handler options must be an object, got {v}")),
    };
    let action = match rec.kind.as_str() {
        "log" => {
            let path = opt_str(o, "path")?;
            if !std::path::Path::new(&path).is_absolute() {
                return Err(format!("log path must be absolute: {path:?}"));
            }
            let mode = match o.get("mode") {
                None | Some(Value::Null) => 0o600,
                Some(v) => v
                    .as_i64()
                    .ok_or_else(|| format!("option \"mode\" must be an integer, got {v}"))?,
            };
            Action::Run(Arc::new(PlanHandler::Log(LogHandler {
                file_path: path,
                mode: if mode == 0 { 0o600 } else { mode },
            })))
        }
        "tcp" => {
            let address = opt_str(o, "address")?;
            if address.is_empty() {
                return Err("tcp handler: option \"address\" is required".into());
            }
            Action::Run(Arc::new(PlanHandler::Tcp(TcpHandler { address })))
        }
        "exec" => {
            let prog = opt_str(o, "prog")?;
            if prog.is_empty() {
                return Err("exec handler: option \"prog\" is required".into());
            }
            let mut command = vec![prog];
            command.extend(opt_strings(o, "args")?);
            Action::Run(Arc::new(PlanHandler::Exec(ExecHandler { command })))
        }
        "post" => {
            let url = opt_str(o, "url")?;
            let endpoint = opt_str(o, "endpoint")?;
            let headers = match o.get("headers") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Object(h)) => h
                    .iter()
                    .map(|(k, v)| {
                        v.as_str()
                            .map(|s| (k.clone(), s.to_string()))
                            .ok_or_else(|| format!("post header {k:?} must be a string"))
                    })
                    .collect::<Result<_, _>>()?,
                Some(v) => return Err(format!("option \"headers\" must be an object, got {v}")),
            };
            // A named endpoint's URL and headers are looked up as events are delivered.
            Action::Run(Arc::new(PlanHandler::Post(PostHandler {
                url,
                endpoint,
                headers,
                capture_response: o
                    .get("capture-response")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                timeout: opt_duration(o, "timeout")?,
                skip_ssl_verification: o
                    .get("skip-ssl-verification")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })))
        }
        "publish" => {
            let topics = opt_strings(o, "topics")?;
            if let Some(t) = topics.iter().find(|t| !valid_topic_id(t)) {
                return Err(format!("publish handler: invalid topic {t:?}"));
            }
            Action::Publish(topics)
        }
        "aggregate" => Action::Aggregate(Arc::new(Aggregate::from_options(o)?)),
        kind => match options::service_handler(kind, o) {
            Some(spec) => Action::Run(Arc::new(spec?)),
            None => return Err(format!("unsupported action kind {kind:?}")),
        },
    };
    let matcher = if rec.match_expr.trim().is_empty() {
        None
    } else {
        let expr = parse_match(&rec.match_expr)
            .map_err(|e| format!("invalid match expression {:?}: {e}", rec.match_expr))?;
        Some(
            CompiledLambda::compile(&expr)
                .map_err(|e| format!("invalid match expression {:?}: {e}", rec.match_expr))?,
        )
    };
    Ok(Compiled {
        rec: rec.clone(),
        matcher,
        action,
    })
}

/// Refuses a handler kind that `kapacitord -disable-handlers` disabled.
fn refuse_disabled(disabled: &BTreeSet<String>, kind: &str) -> Result<(), String> {
    if disabled.contains(kind) {
        Err(format!(
            "the {kind} handler is disabled (kapacitord -disable-handlers)"
        ))
    } else {
        Ok(())
    }
}

/// Parses a `match` expression: a lambda body where the level identifiers `OK`, `INFO`,
/// `WARNING` and `CRITICAL` stay bare identifiers (the evaluator resolves them).
///
/// # Errors
/// The parser's diagnostics, joined.
pub fn parse_match(text: &str) -> Result<kap_dsl::expr::Expr, String> {
    let src = format!(
        "var OK int\nvar INFO int\nvar WARNING int\nvar CRITICAL int\n\
         var match_expr = lambda: {text}\nstream\n    |from()\n"
    );
    let opts = kap_dsl::CompileOptions {
        template: true,
        ..kap_dsl::CompileOptions::default()
    };
    let compiled = kap_dsl::compile(&src, &opts).map_err(|d| {
        d.iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    match compiled
        .vars
        .into_iter()
        .find(|v| v.name == "match_expr")
        .and_then(|v| v.value)
    {
        Some(kap_dsl::value::Value::Lambda(e)) => Ok(e),
        _ => Err(format!("`{text}` is not a lambda expression")),
    }
}

/// Evaluates a handler's match lambda on an event (no lambda: every event matches). The
/// scope holds the event's tags and the handler functions `changed()`, `level()`,
/// `name()`, `taskName()` and `duration()`.
fn matches(m: Option<&CompiledLambda>, event: &AlertEvent) -> Result<bool, String> {
    let Some(m) = m else {
        return Ok(true);
    };
    let mut scope = MapScope::new(event.time).with_alert(AlertContext {
        changed: event.changed(),
        level: event.level.index() as i64,
        name: event.name.clone(),
        task_name: event.task.clone(),
        duration: event.duration,
    });
    for (k, v) in &event.tags {
        scope = scope.with_tag(k.as_str(), v.as_str());
    }
    m.eval_bool(&mut m.new_state(), &scope)
        .map_err(|e| e.to_string())
}

// ---- JSON patch (RFC 6902) ----

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn pointer_tokens(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("invalid JSON pointer {path:?}: must start with '/'"))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn array_index(token: &str, len: usize, allow_end: bool, path: &str) -> Result<usize, String> {
    if allow_end && token == "-" {
        return Ok(len);
    }
    let i: usize = token
        .parse()
        .map_err(|_| format!("invalid array index {token:?} in {path:?}"))?;
    let max = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    if i > max || (!allow_end && len == 0) {
        return Err(format!("array index {i} out of range in {path:?}"));
    }
    Ok(i)
}

/// The parent container of the location `tokens` points to.
fn parent_mut<'a>(
    doc: &'a mut Value,
    tokens: &[String],
    path: &str,
) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for t in &tokens[..tokens.len() - 1] {
        cur = match cur {
            Value::Object(m) => m
                .get_mut(t)
                .ok_or_else(|| format!("path {path:?} does not exist"))?,
            Value::Array(a) => {
                let i = array_index(t, a.len(), false, path)?;
                &mut a[i]
            }
            _ => return Err(format!("path {path:?} does not exist")),
        };
    }
    Ok(cur)
}

fn get_at(doc: &Value, path: &str) -> Result<Value, String> {
    let tokens = pointer_tokens(path)?;
    let mut cur = doc;
    for t in &tokens {
        cur = match cur {
            Value::Object(m) => m.get(t),
            Value::Array(a) => a.get(array_index(t, a.len(), false, path)?),
            _ => None,
        }
        .ok_or_else(|| format!("path {path:?} does not exist"))?;
    }
    Ok(cur.clone())
}

fn add_at(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let tokens = pointer_tokens(path)?;
    let Some(last) = tokens.last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, &tokens, path)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            let i = array_index(last, a.len(), true, path)?;
            a.insert(i, value);
        }
        _ => return Err(format!("path {path:?} does not exist")),
    }
    Ok(())
}

fn remove_at(doc: &mut Value, path: &str) -> Result<Value, String> {
    let tokens = pointer_tokens(path)?;
    let Some(last) = tokens.last() else {
        return Err("cannot remove the whole document".into());
    };
    match parent_mut(doc, &tokens, path)? {
        Value::Object(m) => m
            .remove(last)
            .ok_or_else(|| format!("path {path:?} does not exist")),
        Value::Array(a) => {
            let i = array_index(last, a.len(), false, path)?;
            Ok(a.remove(i))
        }
        _ => Err(format!("path {path:?} does not exist")),
    }
}

/// Applies a JSON patch (RFC 6902: `add`, `remove`, `replace`, `move`, `copy`, `test`) to
/// `doc`. All or nothing: on error `doc` is left unchanged.
///
/// # Errors
/// A message naming the failing operation.
pub fn apply_patch(doc: &mut Value, patch: &Value) -> Result<(), String> {
    let ops = patch
        .as_array()
        .ok_or("a JSON patch must be an array of operations")?;
    let mut out = doc.clone();
    for (n, op) in ops.iter().enumerate() {
        let field = |k: &str| -> Result<&str, String> {
            op.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("patch operation {n}: missing {k:?}"))
        };
        let kind = field("op")?;
        let path = field("path")?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| format!("patch operation {n} ({kind}): missing \"value\""))
        };
        let res = match kind {
            "add" => add_at(&mut out, path, value()?),
            "remove" => remove_at(&mut out, path).map(drop),
            "replace" => {
                let v = value()?;
                remove_at(&mut out, path).and_then(|_| add_at(&mut out, path, v))
            }
            "move" => {
                let from = field("from")?;
                if path.starts_with(&format!("{from}/")) {
                    Err(format!("cannot move {from:?} into its own child {path:?}"))
                } else {
                    remove_at(&mut out, from).and_then(|v| add_at(&mut out, path, v))
                }
            }
            "copy" => {
                let from = field("from")?;
                get_at(&out, from).and_then(|v| add_at(&mut out, path, v))
            }
            "test" => {
                let v = value()?;
                get_at(&out, path).and_then(|cur| {
                    if cur == v {
                        Ok(())
                    } else {
                        Err(format!("test failed: {path:?} is {cur}, not {v}"))
                    }
                })
            }
            other => Err(format!("unknown operation {other:?}")),
        };
        res.map_err(|e| format!("patch operation {n} ({kind} {path}): {e}"))?;
    }
    *doc = out;
    Ok(())
}

// ---- HTTP ----

type St = State<Arc<Daemon>>;

/// The `/alerts` routes, to nest under `/kapacitor/v1`.
pub fn routes() -> Router<Arc<Daemon>> {
    Router::new()
        .route("/topics", get(list_topics))
        .route("/topics/{topic}", get(get_topic).delete(delete_topic))
        .route("/topics/{topic}/events", get(list_events))
        .route("/topics/{topic}/events/{event}", get(get_event))
        .route(
            "/topics/{topic}/handlers",
            get(list_handlers).post(create_handler),
        )
        .route(
            "/topics/{topic}/handlers/{handler}",
            get(get_handler)
                .put(replace_handler)
                .patch(patch_handler)
                .delete(delete_handler),
        )
}

fn min_level(q: &super::http::Query) -> Result<Level, ApiError> {
    match q.get("min-level") {
        None | Some("") => Ok(Level::Ok),
        Some(l) => Level::parse(&l.to_ascii_uppercase())
            .ok_or_else(|| ApiError::bad_request(format!("invalid level {l:?}"))),
    }
}

/// A list's self link: its path and the query string as received.
fn list_link(path: String, raw_query: Option<&str>) -> Link {
    match raw_query {
        Some(q) => Link::self_(format!("{path}?{q}")),
        None => Link::self_(path),
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

async fn on_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("handler failed: {e}")))?
}

async fn list_topics(State(d): St, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let link = list_link(TOPICS_PATH.to_string(), q.as_deref());
    let q = super::http::Query::parse(q.as_deref());
    let min = min_level(&q)?;
    let topics = d.alerts.list_topics(q.get("pattern").unwrap_or(""), min);
    Ok(axum::Json(TopicList { link, topics }).into_response())
}

async fn get_topic(State(d): St, Path(topic): Path<String>) -> Result<Response, ApiError> {
    Ok(axum::Json(d.alerts.topic(&topic)?).into_response())
}

async fn delete_topic(State(d): St, Path(topic): Path<String>) -> Result<StatusCode, ApiError> {
    on_blocking(move || d.alerts.delete_topic(&topic)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_events(
    State(d): St,
    Path(topic): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let link = list_link(format!("{TOPICS_PATH}/{topic}/events"), q.as_deref());
    let q = super::http::Query::parse(q.as_deref());
    let events = d.alerts.events(&topic, min_level(&q)?)?;
    Ok(axum::Json(EventList {
        link,
        topic,
        events,
    })
    .into_response())
}

async fn get_event(
    State(d): St,
    Path((topic, event)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(d.alerts.event(&topic, &event)?).into_response())
}

async fn list_handlers(
    State(d): St,
    Path(topic): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let link = list_link(format!("{TOPICS_PATH}/{topic}/handlers"), q.as_deref());
    let q = super::http::Query::parse(q.as_deref());
    let handlers = d.alerts.handlers(&topic, q.get("pattern").unwrap_or(""));
    Ok(axum::Json(HandlerList {
        link,
        topic,
        handlers,
    })
    .into_response())
}

async fn create_handler(
    State(d): St,
    Path(topic): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let spec: WireHandlerSpec = parse_body(&body)?;
    let h = on_blocking(move || d.alerts.create_handler(&topic, spec)).await?;
    Ok(axum::Json(h).into_response())
}

async fn get_handler(
    State(d): St,
    Path((topic, handler)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(d.alerts.handler(&topic, &handler)?).into_response())
}

async fn replace_handler(
    State(d): St,
    Path((topic, handler)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let spec: WireHandlerSpec = parse_body(&body)?;
    let h = on_blocking(move || d.alerts.replace_handler(&topic, &handler, spec)).await?;
    Ok(axum::Json(h).into_response())
}

async fn patch_handler(
    State(d): St,
    Path((topic, handler)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let patch: Value = parse_body(&body)?;
    let h = on_blocking(move || d.alerts.patch_handler(&topic, &handler, &patch)).await?;
    Ok(axum::Json(h).into_response())
}

async fn delete_handler(
    State(d): St,
    Path((topic, handler)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    on_blocking(move || d.alerts.delete_handler(&topic, &handler)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"id": "h", "kind": "slack", "options": {"channel": "#test", "list": [1, 2]}, "match": ""})
    }

    #[test]
    fn patch_ops() {
        let mut d = doc();
        apply_patch(
            &mut d,
            &json!([
                {"op": "replace", "path": "/kind", "value": "log"},
                {"op": "remove", "path": "/options/channel", "value": null},
                {"op": "add", "path": "/options/path", "value": "/tmp/a.log"},
                {"op": "add", "path": "/options/list/-", "value": 3},
                {"op": "add", "path": "/options/list/0", "value": 0},
                {"op": "copy", "from": "/options/path", "path": "/options/copy"},
                {"op": "move", "from": "/options/copy", "path": "/match"},
                {"op": "test", "path": "/options/list", "value": [0, 1, 2, 3]},
                {"op": "add", "path": "/options/a~1b", "value": true},
            ]),
        )
        .unwrap();
        assert_eq!(
            d,
            json!({"id": "h", "kind": "log", "match": "/tmp/a.log",
                   "options": {"path": "/tmp/a.log", "list": [0, 1, 2, 3], "a/b": true}})
        );
    }

    #[test]
    fn patch_errors_leave_the_document_unchanged() {
        for bad in [
            json!([{"op": "remove", "path": "/nope"}]),
            json!([{"op": "replace", "path": "/options/nope", "value": 1}]),
            json!([{"op": "test", "path": "/kind", "value": "log"}]),
            json!([{"op": "add", "path": "/options/list/9", "value": 1}]),
            json!([{"op": "kind", "path": "/kind"}]),
            json!([{"op": "replace", "path": "/kind", "value": "log"}, {"op": "remove", "path": "/x"}]),
            json!({"op": "remove"}),
        ] {
            let mut d = doc();
            assert!(apply_patch(&mut d, &bad).is_err(), "{bad}");
            assert_eq!(d, doc());
        }
    }

    fn event(level: Level, prev: Level, host: &str) -> AlertEvent {
        AlertEvent {
            topic: "t".into(),
            id: "id".into(),
            message: "m".into(),
            details: String::new(),
            time: 0,
            duration: 0,
            level,
            previous_level: prev,
            recoverable: true,
            data: Default::default(),
            name: "cpu".into(),
            task: "task".into(),
            node: "alert2".into(),
            category: String::new(),
            group_id: String::new(),
            tags: kap_dataflow::point::list![(
                kap_dataflow::point::Sym::new("host"),
                kap_dataflow::point::Sym::new(host),
            )],
            fields: Default::default(),
            handlers: Vec::new(),
        }
    }

    fn rec(kind: &str, options: Value, m: &str) -> HandlerRecord {
        HandlerRecord {
            topic: "t".into(),
            id: "h".into(),
            kind: kind.into(),
            options,
            match_expr: m.into(),
        }
    }

    #[test]
    fn match_expressions() {
        let cases = [
            ("changed() == TRUE", Level::Critical, Level::Ok, "a", true),
            (
                "changed() == TRUE",
                Level::Critical,
                Level::Critical,
                "a",
                false,
            ),
            ("level() >= WARNING", Level::Warning, Level::Ok, "a", true),
            ("level() >= WARNING", Level::Info, Level::Ok, "a", false),
            ("level() == OK", Level::Ok, Level::Critical, "a", true),
            ("\"host\" == 'a'", Level::Ok, Level::Ok, "a", true),
            ("\"host\" == 'a'", Level::Ok, Level::Ok, "b", false),
            (
                "\"host\" =~ /^s/ AND level() > INFO",
                Level::Critical,
                Level::Ok,
                "srv",
                true,
            ),
        ];
        for (m, level, prev, host, want) in cases {
            let c = compile(&rec("tcp", json!({"address": "x:1"}), m)).unwrap();
            assert_eq!(
                matches(c.matcher.as_ref(), &event(level, prev, host)).unwrap(),
                want,
                "{m}"
            );
        }
    }

    #[test]
    fn compile_validates_kinds_and_options() {
        assert!(compile(&rec("nope", json!({}), "")).is_err());
        assert!(compile(&rec("log", json!({"path": "relative.log"}), "")).is_err());
        assert!(compile(&rec("tcp", json!({}), "")).is_err());
        assert!(compile(&rec("tcp", json!({"address": "a:1"}), "level( >")).is_err());
        assert!(matches!(
            compile(&rec("kafka", json!({"cluster": "x", "topic": "t"}), ""))
                .unwrap()
                .action,
            Action::Run(_)
        ));
        match compile(&rec("slack", json!({"channel": "#x"}), ""))
            .unwrap()
            .action
        {
            Action::Run(h) => assert!(matches!(*h, PlanHandler::Slack(_))),
            other => panic!("{other:?}"),
        }
        assert!(compile(&rec("slack", json!({"chanel": "#x"}), "")).is_err());
        match compile(&rec("exec", json!({"prog": "/bin/cat", "args": ["-"]}), ""))
            .unwrap()
            .action
        {
            Action::Run(h) => assert!(matches!(*h, PlanHandler::Exec(_))),
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_duration("1m30s"), Some(90_000_000_000));
        assert!(valid_topic_id("main:task:alert2"));
        assert!(!valid_handler_id("a:b"));
    }
}
