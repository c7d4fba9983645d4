//! `|barrier()`: emits Barrier messages by wall-clock time (`kapacitor-semantics.md` §9).
//!
//! Processors are message driven, so the wall clock is checked on every message
//! (`services.clock.now()`), and the runtime should also call [`Barrier::tick`]
//! periodically (e.g. every 100 ms, or at [`Barrier::next_deadline`]) so idle groups get
//! their barriers without new data:
//! * `.idle(d)`: `d` of wall-clock time after a group's last data, a barrier with time =
//!   last data time + `d` (once per idle spell, as Kapacitor's one-shot timer);
//! * `.period(d)`: every `d` of wall-clock time per group (from the group's first data), a
//!   barrier with time = now.
//!
//! Data older than the group's last barrier (or last data) time is dropped. With
//! `.delete(TRUE)` each barrier is followed by a DeleteGroup and the group is forgotten.
//! Due groups are kept in a deadline heap, so a message costs O(log groups), not a scan.

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{Barrier as BarrierMsg, GroupId, GroupInfo, GroupMap, Msg};
use kap_dsl::plan::BarrierSpec;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Per-group barrier state.
#[derive(Debug)]
struct Group {
    info: GroupInfo,
    /// Creation sequence (tells a re-created group from stale heap entries).
    seq: u64,
    /// Last data (or barrier) time.
    last_t: i64,
    /// Wall time of the last data (idle mode).
    last_wall: i64,
    /// Idle mode: a barrier is due after the current idle spell.
    armed: bool,
    /// Period mode: next wall-clock emission.
    next_wall: i64,
    /// Whether the group has an entry in the heap.
    queued: bool,
}

/// The `barrier` processor.
#[derive(Debug)]
pub(crate) struct Barrier {
    idle: i64,
    period: i64,
    delete: bool,
    groups: GroupMap<Group>,
    heap: BinaryHeap<Reverse<(i64, u64, GroupId)>>,
    seq: u64,
}

/// Builds a `barrier` node.
pub(crate) fn build(
    spec: &BarrierSpec,
    info: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    if (spec.idle > 0) == (spec.period > 0) {
        return Err(BuildError::invalid(
            info,
            "barrier needs exactly one of idle or period set to a positive duration",
        ));
    }
    Ok(Box::new(Barrier {
        idle: spec.idle,
        period: spec.period,
        delete: spec.delete,
        groups: GroupMap::default(),
        heap: BinaryHeap::new(),
        seq: 0,
    }))
}

impl Barrier {
    fn deadline(&self, g: &Group) -> Option<i64> {
        if self.idle > 0 {
            g.armed.then(|| g.last_wall.saturating_add(self.idle))
        } else {
            Some(g.next_wall)
        }
    }

    /// The earliest wall-clock time (ns) at which [`Barrier::tick`] may emit something.
    pub(crate) fn next_deadline(&self) -> Option<i64> {
        self.heap.peek().map(|Reverse((d, _, _))| *d)
    }

    /// Emits the barriers (and group deletes) due at wall-clock time `now` (ns).
    pub(crate) fn tick(&mut self, now: i64, out: &mut Vec<Msg>) {
        while self.next_deadline().is_some_and(|d| d <= now) {
            let Some(Reverse((_, seq, id))) = self.heap.pop() else {
                break;
            };
            let Some(g) = self.groups.get(&id) else {
                continue;
            };
            if g.seq != seq {
                continue;
            }
            let real = self.deadline(g);
            let Some(g) = self.groups.get_mut(&id) else {
                continue;
            };
            g.queued = false;
            match real {
                None => continue,
                Some(real) if real > now => {
                    self.heap.push(Reverse((real, seq, id)));
                    g.queued = true;
                    continue;
                }
                Some(_) => {}
            }
            let t = if self.idle > 0 {
                g.armed = false;
                g.last_t = g.last_t.saturating_add(self.idle);
                g.last_t
            } else {
                while g.next_wall <= now {
                    g.next_wall = g.next_wall.saturating_add(self.period);
                }
                g.last_t = now;
                self.heap.push(Reverse((g.next_wall, seq, id)));
                g.queued = true;
                now
            };
            out.push(Msg::Barrier(BarrierMsg {
                group: g.info.clone(),
                time: t,
            }));
            if self.delete {
                out.push(Msg::DeleteGroup(g.info.clone()));
                self.groups.swap_remove(&id);
            }
        }
    }

    /// Handles a data message of `info`'s group at data time `t`; whether to forward it.
    fn data(&mut self, info: impl FnOnce() -> GroupInfo, id: GroupId, t: i64, now: i64) -> bool {
        let period = self.period;
        let next_seq = &mut self.seq;
        let g = self.groups.entry(id).or_insert_with(|| {
            *next_seq += 1;
            Group {
                info: info(),
                seq: *next_seq,
                last_t: i64::MIN,
                last_wall: now,
                armed: false,
                next_wall: now.saturating_add(period),
                queued: false,
            }
        });
        if t < g.last_t {
            return false;
        }
        g.last_t = t;
        g.last_wall = now;
        g.armed = true;
        if !g.queued {
            g.queued = true;
            let (seq, d) = (
                g.seq,
                if self.idle > 0 {
                    now.saturating_add(self.idle)
                } else {
                    g.next_wall
                },
            );
            self.heap.push(Reverse((d, seq, id)));
        }
        true
    }
}

impl Processor for Barrier {
    fn tick(&mut self, now: i64, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        Barrier::tick(self, now, out);
    }

    fn ticks(&self) -> bool {
        true
    }

    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let now = ctx.services.clock.now();
        self.tick(now, out);
        match msg {
            Msg::Point(p) => {
                if self.data(|| p.group_info(), p.group, p.time, now) {
                    out.push(Msg::Point(p));
                }
            }
            Msg::Batch(b) => {
                if self.data(|| b.group_info(), b.group, b.tmax, now) {
                    out.push(Msg::Batch(b));
                }
            }
            Msg::Barrier(b) => out.push(Msg::Barrier(b)),
            Msg::DeleteGroup(g) => {
                self.groups.swap_remove(&g.id);
                out.push(Msg::DeleteGroup(g));
            }
        }
    }

    fn cardinality(&self) -> usize {
        self.groups.len()
    }
}
