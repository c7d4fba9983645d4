//! `|stats(interval)`: a source emitting another node's statistics every `interval` of
//! wall-clock time (`kapacitor-features.md` §2.0).
//!
//! A processor cannot read another node's counters, so the runtime feeds them in: it
//! registers a [`StatsFeeds`] in [`Services`](crate::node::Services) under [`STATS_FEEDS`]
//! and keeps the [`StatsFeed`] of every watched node (`StatsFeeds::feed(task, node_id)`)
//! up to date, per group of that node (Kapacitor's `nodeStatsByGroup`: field `emitted` =
//! messages the node emitted for the group). On each due tick the stats node emits, per
//! group in the feed (in group id order), a point named `stats` with the group's tags and
//! dimensions, the feed's values as int fields and time = now (rounded to the interval
//! with `.align()`).
//!
//! The runtime must call `Stats::tick` with the wall clock (every tick it has, or at the
//! next deadline); the node also checks the clock whenever it receives a message.

use super::from::go_round;
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{Dimensions, FieldValue, GroupId, Msg, Point, Sym, Tags};
use kap_dsl::plan::StatsSpec;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The [`Services`](crate::node::Services) extension key of the [`StatsFeeds`] registry.
pub const STATS_FEEDS: &str = "stats_feeds";

/// The statistics of one group of a watched node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupStats {
    /// The group's tags (dimension tags only).
    pub tags: Tags,
    /// The group's dimensions.
    pub dims: Dimensions,
    /// Counter values by name (`emitted`, ...).
    pub values: BTreeMap<String, i64>,
}

/// The live statistics of one node, shared between the runtime (writer) and the stats
/// node (reader). Cloning shares the same data.
#[derive(Debug, Clone, Default)]
pub struct StatsFeed {
    groups: Arc<Mutex<BTreeMap<String, GroupStats>>>,
}

impl StatsFeed {
    /// Replaces the statistics of the group with id string `group`.
    pub fn set_group(&self, group: &str, stats: GroupStats) {
        self.lock().insert(group.to_string(), stats);
    }

    /// Adds `n` to counter `key` of group `group` (created with `tags`/`dims` if new).
    pub fn add(&self, group: &str, tags: &Tags, dims: &Dimensions, key: &str, n: i64) {
        let mut g = self.lock();
        let entry = g.entry(group.to_string()).or_insert_with(|| GroupStats {
            tags: tags.clone(),
            dims: *dims,
            values: BTreeMap::new(),
        });
        *entry.values.entry(key.to_string()).or_insert(0) += n;
    }

    /// Forgets a group.
    pub fn remove_group(&self, group: &str) {
        self.lock().remove(group);
    }

    /// A copy of every group's statistics, by group id string.
    pub fn snapshot(&self) -> BTreeMap<String, GroupStats> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, GroupStats>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Registry of [`StatsFeed`]s by `(task, node id)`; register one in the services under
/// [`STATS_FEEDS`].
#[derive(Debug, Default)]
pub struct StatsFeeds {
    feeds: Mutex<BTreeMap<(String, usize), StatsFeed>>,
}

impl StatsFeeds {
    /// The feed of node `node` of task `task` (created empty on first use).
    pub fn feed(&self, task: &str, node: usize) -> StatsFeed {
        self.feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((task.to_string(), node))
            .or_default()
            .clone()
    }

    /// Drops the feeds of a task.
    pub fn remove_task(&self, task: &str) {
        self.feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(t, _), _| t != task);
    }
}

/// The `stats` processor.
#[derive(Debug)]
pub(crate) struct Stats {
    feed: StatsFeed,
    interval: i64,
    align: bool,
    next: i64,
}

/// Builds a `stats` node.
pub(crate) fn build(spec: &StatsSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    if spec.interval <= 0 {
        return Err(BuildError::invalid(info, "stats interval must be positive"));
    }
    let feed = info
        .services
        .get::<StatsFeeds>(STATS_FEEDS)
        .map(|f| f.feed(&info.task, spec.source))
        .unwrap_or_default();
    Ok(Box::new(Stats {
        feed,
        interval: spec.interval,
        align: spec.align,
        next: info.services.clock.now().saturating_add(spec.interval),
    }))
}

impl Stats {
    /// Emits the stats points due at wall-clock time `now` (ns).
    pub(crate) fn tick(&mut self, now: i64, out: &mut Vec<Msg>) {
        if now < self.next {
            return;
        }
        while self.next <= now {
            self.next = self.next.saturating_add(self.interval);
        }
        let t = if self.align {
            go_round(now, self.interval)
        } else {
            now
        };
        for (_, g) in self.feed.snapshot() {
            let mut p = Point {
                name: Sym::new("stats"),
                db: Sym::empty(),
                rp: Sym::empty(),
                tags: g.tags,
                fields: g
                    .values
                    .iter()
                    .map(|(k, v)| (Sym::new(k), FieldValue::Int(*v)))
                    .collect(),
                time: t,
                dims: g.dims,
                group: GroupId::default(),
            };
            p.regroup();
            out.push(Msg::Point(p));
        }
    }
}

impl Processor for Stats {
    fn tick(&mut self, now: i64, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        Stats::tick(self, now, out);
    }

    fn ticks(&self) -> bool {
        true
    }

    fn process(&mut self, _: usize, _: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let now = ctx.services.clock.now();
        self.tick(now, out);
    }
}
