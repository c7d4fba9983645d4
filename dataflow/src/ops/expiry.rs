//! Group expiry (ours, not Kapacitor's, and off unless asked for): a node forgets its state
//! of a group it has had no data of for a while. Kapacitor keeps every group a task has
//! ever seen until the task stops (its users' first complaint: memory that only grows as
//! hosts come and go); its own remedy, `barrier().idle(d).delete(TRUE)`, has to be written
//! into every script, and emits a barrier (windows flush) before deleting.
//!
//! With [`GroupExpiry`] among a dataflow's services, each node that keeps state per group
//! ([`holds_groups`]) is wrapped in an [`Expiring`] node: it notes the wall-clock time of
//! each group's last data (points and batches; a barrier only creates the entry), and a
//! group idle for the expiry's duration is handed to the node as the delete-group message
//! `barrier().delete(TRUE)` sends, which drops the group's state there and nowhere else. It
//! emits nothing: a window's partial contents go without a batch, an httpOut's row is
//! removed. A group that comes back starts afresh, as a new group does (an alert node's new
//! group takes its level back from the alert's topics, as in Kapacitor). Each node (and
//! each worker's part of it) decides for itself, from the data it receives.

use crate::node::{Ctx, Emits, Processor};
use crate::point::{GroupId, GroupInfo, GroupMap, Msg};
use kap_dsl::plan::NodeSpec;
use std::time::Duration;

/// Name of the [`GroupExpiry`] service.
pub const GROUP_EXPIRY: &str = "group_expiry";

/// How long a group may go without data before the nodes keeping its state forget it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupExpiry(pub Duration);

/// Whether nodes of this kind keep state per group, which [`Expiring`] then expires. Left
/// alone: joins (they match groups of several parents, and their buffers empty as they
/// match), unions (no state) and `groupBy` (its batches stay only until the next batch
/// time).
pub fn holds_groups(spec: &NodeSpec) -> bool {
    matches!(
        spec,
        NodeSpec::Where(_)
            | NodeSpec::Eval(_)
            | NodeSpec::Window(_)
            | NodeSpec::Barrier(_)
            | NodeSpec::Sample(_)
            | NodeSpec::Flatten(_)
            | NodeSpec::Combine(_)
            | NodeSpec::ChangeDetect(_)
            | NodeSpec::StateDuration(_)
            | NodeSpec::StateCount(_)
            | NodeSpec::Derivative(_)
            | NodeSpec::HttpOut(_)
            | NodeSpec::Alert(_)
            | NodeSpec::InfluxQL(_)
    )
}

/// The counter of groups a node forgot ([`Expiring`]); shown once one has expired.
pub const GROUPS_EXPIRED: &str = "groups_expired";

/// A group's last data, and what its delete-group message says.
#[derive(Debug)]
struct Seen {
    info: GroupInfo,
    /// Wall-clock time (ns) of the group's last data.
    last: i64,
}

/// A node whose idle groups are forgotten ([`GroupExpiry`]); otherwise the node itself.
pub struct Expiring {
    inner: Box<dyn Processor>,
    /// The expiry, in ns.
    after: i64,
    /// How often idle groups are looked for (a quarter of the expiry, at least every
    /// minute): a group goes between `after` and `after + every` after its last data.
    every: i64,
    seen: GroupMap<Seen>,
    /// The wall clock as of the latest tick (read once per tick, not per message); 0 until
    /// the first message or tick reads it.
    now: i64,
    /// When idle groups are next looked for.
    next_sweep: i64,
}

impl std::fmt::Debug for Expiring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expiring")
            .field("after", &self.after)
            .field("groups", &self.seen.len())
            .finish_non_exhaustive()
    }
}

impl Expiring {
    /// Wraps `inner`, whose groups idle for `after` are forgotten.
    pub fn new(inner: Box<dyn Processor>, after: Duration) -> Expiring {
        let after = i64::try_from(after.as_nanos()).unwrap_or(i64::MAX).max(1);
        Expiring {
            inner,
            after,
            every: (after / 4).clamp(1, 60_000_000_000),
            seen: GroupMap::default(),
            now: 0,
            next_sweep: 0,
        }
    }

    /// Notes a message the node is given.
    #[inline]
    fn note(&mut self, msg: &Msg, ctx: &Ctx<'_>) {
        if self.now == 0 {
            self.now = ctx.services.clock.now();
        }
        match msg {
            Msg::Point(p) => self.data(p.group, || p.group_info()),
            Msg::Batch(b) => self.data(b.group, || b.group_info()),
            // Not data: an idle group's barriers do not keep it.
            Msg::Barrier(b) => {
                let now = self.now;
                self.seen.entry(b.group.id).or_insert_with(|| Seen {
                    info: b.group.clone(),
                    last: now,
                });
            }
            Msg::DeleteGroup(g) => {
                self.seen.swap_remove(&g.id);
            }
        }
    }

    /// Notes data of group `id` (described by `info`, read for a new group only).
    #[inline]
    fn data(&mut self, id: GroupId, info: impl FnOnce() -> GroupInfo) {
        let now = self.now;
        self.seen
            .entry(id)
            .and_modify(|s| s.last = now)
            .or_insert_with(|| Seen {
                info: info(),
                last: now,
            });
    }

    /// Hands the node the delete-group message of every group idle since before `now -
    /// after`; passes on what else the node emits for them (nothing, for the nodes of
    /// [`holds_groups`]), not the delete-group messages: the nodes after forget for
    /// themselves.
    fn sweep(&mut self, now: i64, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let cutoff = now.saturating_sub(self.after);
        let mut idle = Vec::new();
        self.seen.retain(|_, s| {
            if s.last <= cutoff {
                idle.push(s.info.clone());
                false
            } else {
                true
            }
        });
        if idle.is_empty() {
            return;
        }
        ctx.stats.add(GROUPS_EXPIRED, idle.len() as i64);
        let mut emitted = Vec::new();
        for info in idle {
            self.inner
                .process(0, Msg::DeleteGroup(info), ctx, &mut emitted);
            out.extend(
                emitted
                    .drain(..)
                    .filter(|m| !matches!(m, Msg::DeleteGroup(_))),
            );
        }
    }
}

impl Processor for Expiring {
    fn process(&mut self, input: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        self.note(&msg, ctx);
        self.inner.process(input, msg, ctx, out);
    }

    fn in_place(&self) -> bool {
        self.inner.in_place()
    }

    fn process_in_place(&mut self, input: usize, msg: &mut Msg, ctx: &mut Ctx<'_>) -> bool {
        self.note(msg, ctx);
        self.inner.process_in_place(input, msg, ctx)
    }

    fn process_in_place_run(
        &mut self,
        input: usize,
        msgs: &mut [Msg],
        kept: &mut Vec<bool>,
        ctx: &mut Ctx<'_>,
    ) {
        for m in msgs.iter() {
            self.note(m, ctx);
        }
        self.inner.process_in_place_run(input, msgs, kept, ctx);
    }

    fn by_ref(&self) -> bool {
        self.inner.by_ref()
    }

    fn process_refs(
        &mut self,
        input: usize,
        msgs: &mut [Msg],
        ctx: &mut Ctx<'_>,
        emits: &mut Emits<'_>,
    ) {
        for m in msgs.iter() {
            self.note(m, ctx);
        }
        self.inner.process_refs(input, msgs, ctx, emits);
    }

    fn warm(&self, msgs: &[Msg]) {
        self.inner.warm(msgs);
    }

    fn done(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        self.inner.done(ctx, out);
    }

    fn tick(&mut self, now: i64, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        self.now = now;
        if self.inner.ticks() {
            self.inner.tick(now, ctx, out);
        }
        if now >= self.next_sweep {
            self.next_sweep = now.saturating_add(self.every);
            self.sweep(now, ctx, out);
        }
    }

    fn ticks(&self) -> bool {
        true
    }

    fn cardinality(&self) -> usize {
        self.inner.cardinality()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{BuildInfo, NodeStats, Services};
    use crate::point::{Dimensions, FieldValue, Point, Sym};

    const S: i64 = 1_000_000_000;

    /// `stateCount` of `host`'s points, wrapped to expire groups idle for 10 s.
    fn state_count() -> Expiring {
        let plan = kap_dsl::compile_source(
            "stream|from().measurement('m').groupBy('host')|stateCount(lambda: \"v\" > 0)",
            &Default::default(),
        )
        .expect("script")
        .pipeline;
        let node = &plan.nodes[2];
        let info = BuildInfo {
            task: "t".into(),
            node: node.name.clone(),
            node_id: node.id,
            inputs: 1,
            task_type: plan.task_type,
            batch_input: false,
            services: Services::default(),
        };
        assert!(holds_groups(&node.spec));
        let inner = crate::ops::build(&node.spec, &info).expect("build");
        Expiring::new(inner, Duration::from_secs(10))
    }

    fn point(host: &str, t: i64) -> Msg {
        let mut p = Point::new(
            "m",
            vec![(Sym::new("host"), Sym::new(host))],
            vec![(Sym::new("v"), FieldValue::Float(1.0))],
            t * S,
        );
        p.dims = Dimensions::new(false, vec![Sym::new("host")]);
        p.regroup();
        Msg::Point(p)
    }

    /// Sends `msg` at wall-clock second `now` (a tick first, as the stage does); returns
    /// the state counts emitted (barriers pass).
    fn send(node: &mut Expiring, stats: &mut NodeStats, now: i64, msg: Msg) -> Vec<i64> {
        let services = Services::default();
        let mut ctx = Ctx {
            task: "t",
            node: "stateCount2",
            services: &services,
            stats,
        };
        let mut out = Vec::new();
        node.tick(now * S, &mut ctx, &mut out);
        assert!(out.is_empty(), "expiry emits nothing: {out:?}");
        node.process(0, msg, &mut ctx, &mut out);
        out.iter()
            .filter_map(|m| match m {
                Msg::Point(p) => match crate::point::get(&p.fields, Sym::new("state_count")) {
                    Some(FieldValue::Int(n)) => Some(*n),
                    other => panic!("{other:?}"),
                },
                Msg::Barrier(_) => None,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn an_idle_group_starts_afresh_and_a_busy_one_keeps_its_state() {
        let mut node = state_count();
        let mut stats = NodeStats::default();
        assert_eq!(send(&mut node, &mut stats, 100, point("a", 0)), [1]);
        assert_eq!(send(&mut node, &mut stats, 100, point("b", 0)), [1]);
        assert_eq!(send(&mut node, &mut stats, 105, point("b", 5)), [2]);
        // At 111 s `a` has been idle 11 s, `b` 6 s: `a` goes, `b` stays.
        assert_eq!(send(&mut node, &mut stats, 111, point("b", 11)), [3]);
        assert_eq!(stats.counters.get(GROUPS_EXPIRED), Some(&1));
        assert_eq!(node.cardinality(), 1);
        assert_eq!(send(&mut node, &mut stats, 112, point("a", 12)), [1]);
        assert_eq!(send(&mut node, &mut stats, 113, point("b", 13)), [4]);
        assert_eq!(node.cardinality(), 2);
    }

    #[test]
    fn barriers_do_not_keep_a_group() {
        let mut node = state_count();
        let mut stats = NodeStats::default();
        assert_eq!(send(&mut node, &mut stats, 100, point("a", 0)), [1]);
        let Msg::Point(p) = point("a", 0) else {
            unreachable!()
        };
        let barrier = |t: i64| {
            Msg::Barrier(crate::point::Barrier {
                group: p.group_info(),
                time: t * S,
            })
        };
        assert!(send(&mut node, &mut stats, 104, barrier(4)).is_empty());
        assert!(send(&mut node, &mut stats, 108, barrier(8)).is_empty());
        assert_eq!(send(&mut node, &mut stats, 111, point("a", 11)), [1]);
    }
}
