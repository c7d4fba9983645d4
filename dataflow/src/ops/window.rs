//! `|window()`: buffers the points of each group and emits them as batches, by time
//! (`.period(p).every(e)`) or by count (`.periodCount(n).everyCount(m)`), with Kapacitor's
//! exact emit rules (semantics §2).

use super::influxql::{Folder, Partial};
use crate::node::{BuildError, BuildInfo, Ctx, Emits, Processor};
use crate::point::{Batch, BatchPoint, Dimensions, GroupId, GroupMap, Msg, Point, Sym, Tags};
use kap_dsl::plan::WindowSpec;
use std::collections::VecDeque;

/// Nanoseconds between Go's zero time (January 1, year 1 UTC) and the Unix epoch.
const GO_ZERO_OFFSET_NS: i128 = 62_135_596_800 * 1_000_000_000;

/// Go's `Time.Truncate(d)`: rounds `t` down to a multiple of `d` counted from Go's zero
/// time (year 1); `d <= 0` leaves `t` unchanged.
pub(crate) fn go_truncate(t: i64, d: i64) -> i64 {
    if d <= 0 {
        return t;
    }
    let abs = i128::from(t) + GO_ZERO_OFFSET_NS;
    let rem = abs.rem_euclid(i128::from(d));
    (i128::from(t) - rem) as i64
}

/// Builds a window processor.
pub(crate) fn build(spec: &WindowSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    build_with(spec, info, None)
}

/// Whether a window's batches never overlap and leave nothing behind: then every point is
/// in exactly one batch, and a fold of its only child can replace its buffer.
pub(crate) fn tumbling(spec: &WindowSpec) -> bool {
    if spec.period_count > 0 || spec.every_count > 0 {
        spec.every_count > 0 && (spec.period_count <= 0 || spec.period_count == spec.every_count)
    } else {
        spec.every.unwrap_or(0) > 0 && spec.period == spec.every
    }
}

/// Builds a [`tumbling`] window that folds its points into `folder` (its only child's
/// function) instead of keeping them: it emits the same batches, empty, each with its
/// partial.
pub(crate) fn build_folded(
    spec: &WindowSpec,
    info: &BuildInfo,
    folder: Folder,
) -> Result<Box<dyn Processor>, BuildError> {
    debug_assert!(tumbling(spec));
    build_with(spec, info, Some(folder))
}

fn build_with(
    spec: &WindowSpec,
    info: &BuildInfo,
    folder: Option<Folder>,
) -> Result<Box<dyn Processor>, BuildError> {
    if info.batch_input {
        return Err(BuildError::invalid(info, "window cannot receive batches"));
    }
    let period = spec.period.unwrap_or(0);
    let every = spec.every.unwrap_or(0);
    if spec.period_count > 0 || spec.every_count > 0 {
        if spec.align {
            return Err(BuildError::invalid(info, "cannot align count windows"));
        }
        if spec.every_count <= 0 {
            return Err(BuildError::invalid(
                info,
                "everyCount must be greater than 0",
            ));
        }
        let period_count = if spec.period_count > 0 {
            spec.period_count
        } else {
            spec.every_count
        };
        return Ok(Box::new(CountWindow {
            period: period_count as usize,
            every: spec.every_count,
            fill_period: spec.fill_period,
            groups: GroupMap::default(),
            folder,
        }));
    }
    if period < 0 || every < 0 {
        return Err(BuildError::invalid(
            info,
            "window period and every must be >= 0",
        ));
    }
    let cfg = TimeCfg {
        period,
        every,
        align: spec.align,
        fill_period: spec.fill_period,
    };
    Ok(match folder {
        Some(folder) => Box::new(TimeWindow::<FoldGroup> {
            cfg,
            groups: GroupMap::default(),
            with: folder,
        }),
        None => Box::new(TimeWindow::<TimeGroup> {
            cfg,
            groups: GroupMap::default(),
            with: (),
        }),
    })
}

/// What an emitted batch carries of its group.
#[derive(Debug)]
struct GroupHead {
    name: Sym,
    tags: Tags,
    dims: Dimensions,
    group: GroupId,
}

impl GroupHead {
    fn of_point(p: &Point) -> GroupHead {
        GroupHead {
            name: p.name,
            tags: p.group_tags(),
            dims: p.dims,
            group: p.group,
        }
    }

    fn batch(&self, tmax: i64, points: Vec<BatchPoint>) -> Batch {
        Batch {
            name: self.name,
            tmax,
            tags: self.tags.clone(),
            dims: self.dims,
            group: self.group,
            points,
        }
    }
}

/// The batch point of `p`, whose tags and fields it takes (the rest of `p` is dropped with
/// its message): nothing is copied but the time.
fn take_batch_point(p: &mut Point) -> BatchPoint {
    BatchPoint {
        time: p.time,
        fields: std::mem::take(&mut p.fields),
        tags: std::mem::take(&mut p.tags),
    }
}

/// One group of a time window that buffers its points.
#[derive(Debug)]
struct TimeGroup {
    /// Boxed: only emits read it, and small entries keep the group map cache-friendly.
    head: Box<GroupHead>,
    next_emit: i64,
    /// Buffered points (their group is the head's).
    buf: VecDeque<BatchPoint>,
}

/// One group of a folded time window: the partial of the next batch instead of points.
#[derive(Debug)]
struct FoldGroup {
    head: Box<GroupHead>,
    next_emit: i64,
    /// `part.kept` tells whether a point has been kept since the last emit. Until then,
    /// points older than the next batch's lower bound are the front of the buffer the emit
    /// would purge: they are dropped on arrival.
    part: Partial,
}

/// A time window's group: what it keeps until its next emit, and how it handles time.
trait WindowGroup: Sized {
    /// What every group of the window shares (a folded window's folder).
    type With;

    fn new(head: Box<GroupHead>, next_emit: i64) -> Self;

    /// Handles time `t` (a point, or a barrier when `point` is `None`). The point is lent,
    /// not moved: a group may take its tags and fields, the rest is dropped with its
    /// message.
    fn tick(
        &mut self,
        cfg: &TimeCfg,
        t: i64,
        point: Option<&mut Point>,
        with: &Self::With,
        out: &mut Vec<Msg>,
    );
}

/// Time window settings.
#[derive(Debug, Clone, Copy)]
struct TimeCfg {
    period: i64,
    every: i64,
    align: bool,
    fill_period: bool,
}

/// Time windows, buffering ([`TimeGroup`]) or folded ([`FoldGroup`], with its folder).
#[derive(Debug)]
struct TimeWindow<G: WindowGroup> {
    cfg: TimeCfg,
    groups: GroupMap<G>,
    with: G::With,
}

impl TimeCfg {
    /// The next emit time after an emit triggered at `t`.
    fn next_emit_after(&self, t: i64) -> i64 {
        if self.align {
            go_truncate(t + self.every, self.every)
        } else {
            t + self.every
        }
    }

    fn first_emit(&self, t0: i64) -> i64 {
        let (p, e) = (self.period, self.every);
        match (self.fill_period, self.align) {
            (false, false) => t0 + e,
            (false, true) => go_truncate(t0 + e, e),
            (true, false) => t0 + p,
            (true, true) => {
                let x = go_truncate(t0 + p, e);
                if x <= t0 + p { x + e } else { x }
            }
        }
    }
}

impl WindowGroup for FoldGroup {
    type With = Folder;

    fn new(head: Box<GroupHead>, next_emit: i64) -> FoldGroup {
        FoldGroup {
            head,
            next_emit,
            part: Partial::default(),
        }
    }

    #[inline(always)]
    fn tick(
        &mut self,
        cfg: &TimeCfg,
        t: i64,
        point: Option<&mut Point>,
        folder: &Folder,
        out: &mut Vec<Msg>,
    ) {
        // Tumbling (period == every > 0): each emit empties the buffer, so the batch holds
        // exactly the points kept since the last one.
        if t >= self.next_emit {
            let emit = self.next_emit;
            self.next_emit = cfg.next_emit_after(t);
            // The partial handed over leaves a fresh one, `kept` false.
            folder.hand_over(std::mem::take(&mut self.part));
            out.push(Msg::Batch(self.head.batch(emit, Vec::new())));
        }
        if let Some(p) = point
            && (self.part.kept || p.time >= self.next_emit - cfg.period)
        {
            self.part.kept = true;
            folder.add(&mut self.part, p);
        }
    }
}

impl WindowGroup for TimeGroup {
    type With = ();

    fn new(head: Box<GroupHead>, next_emit: i64) -> TimeGroup {
        TimeGroup {
            head,
            next_emit,
            buf: VecDeque::new(),
        }
    }

    fn tick(
        &mut self,
        cfg: &TimeCfg,
        t: i64,
        point: Option<&mut Point>,
        _: &(),
        out: &mut Vec<Msg>,
    ) {
        let buf = &mut self.buf;
        if cfg.every != 0 {
            if t >= self.next_emit {
                let lower = self.next_emit - cfg.period;
                while buf.front().is_some_and(|p| p.time < lower) {
                    buf.pop_front();
                }
                let emit = self.next_emit;
                self.next_emit = cfg.next_emit_after(t);
                // The front points the next emit will purge are moved, not copied.
                let next_lower = self.next_emit - cfg.period;
                let moved = buf.iter().take_while(|p| p.time < next_lower).count();
                let mut points = Vec::with_capacity(buf.len());
                points.extend(buf.drain(..moved));
                points.extend(buf.iter().cloned());
                out.push(Msg::Batch(self.head.batch(emit, points)));
            }
            if let Some(p) = point {
                buf.push_back(take_batch_point(p));
            }
        } else {
            if let Some(p) = point {
                buf.push_back(take_batch_point(p));
            }
            if t >= self.next_emit {
                let lower = t - cfg.period;
                while buf.front().is_some_and(|p| p.time <= lower) {
                    buf.pop_front();
                }
                let points = buf.iter().cloned().collect();
                out.push(Msg::Batch(self.head.batch(t, points)));
                self.next_emit = t;
            }
        }
    }
}

impl<G> Processor for TimeWindow<G>
where
    G: WindowGroup + Send + std::fmt::Debug,
    G::With: Send,
{
    fn process(&mut self, _: usize, mut msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let cfg = self.cfg;
        // The point is lent to its group, not moved (a move copies the whole point).
        if let Msg::Point(p) = &mut msg {
            self.point(p, out);
            return;
        }
        match msg {
            Msg::Point(_) => {}
            Msg::Barrier(b) => {
                let t = b.time;
                let g = self.groups.entry(b.group.id).or_insert_with(|| {
                    // A barrier's name is the literal "barrier" (semantics §0.1).
                    let head = GroupHead {
                        name: Sym::new("barrier"),
                        tags: b.group.tags.clone(),
                        dims: b.group.dims,
                        group: b.group.id,
                    };
                    G::new(Box::new(head), cfg.first_emit(t))
                });
                g.tick(&cfg, t, None, &self.with, out);
            }
            Msg::DeleteGroup(g) => {
                self.groups.swap_remove(&g.id);
                out.push(Msg::DeleteGroup(g));
            }
            Msg::Batch(_) => {
                ctx.error(false, "window cannot receive batches");
            }
        }
    }

    fn by_ref(&self) -> bool {
        true
    }

    fn process_refs(
        &mut self,
        input: usize,
        msgs: &mut [Msg],
        ctx: &mut Ctx<'_>,
        emits: &mut Emits<'_>,
    ) {
        // A block's groups are found first, in one pass whose lookups are independent (their
        // cache misses overlap), then each point goes straight to its group's entry: one
        // lookup per point, not a warming one and another. A block is about what the first
        // level of cache holds of the group table's entries.
        let mut slots = [NO_SLOT; BLOCK];
        for (b, block) in msgs.chunks_mut(BLOCK).enumerate() {
            for (slot, msg) in slots.iter_mut().zip(block.iter()) {
                *slot = match msg {
                    Msg::Point(p) => self.groups.get_index_of(&p.group).unwrap_or(NO_SLOT),
                    _ => NO_SLOT,
                };
            }
            // New groups are appended (found slots stay valid); a removed group moves
            // another: after a message that is not a point, points look their group up.
            let mut found = true;
            for (j, msg) in block.iter_mut().enumerate() {
                emits.at(b * BLOCK + j);
                match msg {
                    Msg::Point(p) if found && slots[j] != NO_SLOT => {
                        let cfg = self.cfg;
                        let (_, g) = self
                            .groups
                            .get_index_mut(slots[j])
                            .expect("a found slot holds its group");
                        emits.with(|out| g.tick(&cfg, p.time, Some(p), &self.with, out));
                    }
                    Msg::Point(p) => emits.with(|out| self.point(p, out)),
                    // Barriers and deletes (and batches, refused) are rare: handled as one
                    // at a time would, on a copy.
                    other => {
                        found = false;
                        let m = other.clone();
                        emits.with(|out| self.process(input, m, ctx, out));
                    }
                }
            }
        }
    }

    fn cardinality(&self) -> usize {
        self.groups.len()
    }
}

/// Messages whose groups a time window finds at once ([`Processor::process_refs`]).
const BLOCK: usize = 256;

/// No group found (yet) for a message of a block.
const NO_SLOT: usize = usize::MAX;

impl<G: WindowGroup> TimeWindow<G> {
    /// Handles a point, lent to its group.
    #[inline(always)]
    fn point(&mut self, p: &mut Point, out: &mut Vec<Msg>) {
        let cfg = self.cfg;
        let t = p.time;
        let g = self
            .groups
            .entry(p.group)
            .or_insert_with(|| G::new(Box::new(GroupHead::of_point(p)), cfg.first_emit(t)));
        g.tick(&cfg, t, Some(p), &self.with, out);
    }
}

/// One group of a count window.
#[derive(Debug)]
struct CountGroup {
    head: GroupHead,
    /// Buffered points (their group is the head's).
    buf: VecDeque<BatchPoint>,
    count: i64,
    next_emit: i64,
    /// What a folded window keeps instead of `buf`.
    part: Partial,
}

/// Count windows.
#[derive(Debug)]
struct CountWindow {
    period: usize,
    every: i64,
    fill_period: bool,
    groups: GroupMap<CountGroup>,
    folder: Option<Folder>,
}

impl Processor for CountWindow {
    fn process(&mut self, _: usize, mut msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match &mut msg {
            Msg::Point(p) => {
                let next_emit = if self.fill_period {
                    self.period as i64
                } else {
                    self.every
                };
                let g = self.groups.entry(p.group).or_insert_with(|| CountGroup {
                    head: GroupHead::of_point(p),
                    buf: if self.folder.is_some() {
                        VecDeque::new()
                    } else {
                        VecDeque::with_capacity(self.period.min(1024))
                    },
                    count: 0,
                    next_emit,
                    part: Partial::default(),
                });
                if let Some(folder) = &self.folder {
                    // periodCount == everyCount: each emit takes every buffered point.
                    let t = p.time;
                    folder.add(&mut g.part, p);
                    g.count += 1;
                    if g.count == g.next_emit {
                        g.next_emit += self.every;
                        folder.hand_over(std::mem::take(&mut g.part));
                        out.push(Msg::Batch(g.head.batch(t, Vec::new())));
                    }
                    return;
                }
                if g.buf.len() == self.period {
                    g.buf.pop_front();
                }
                let t = p.time;
                g.buf.push_back(take_batch_point(p));
                g.count += 1;
                if g.count == g.next_emit {
                    g.next_emit += self.every;
                    // Points evicted before the next emit are moved, not copied.
                    let every = usize::try_from(self.every).unwrap_or(usize::MAX);
                    let moved = g
                        .buf
                        .len()
                        .saturating_add(every)
                        .saturating_sub(self.period)
                        .min(g.buf.len());
                    let mut points = Vec::with_capacity(g.buf.len());
                    points.extend(g.buf.drain(..moved));
                    points.extend(g.buf.iter().cloned());
                    out.push(Msg::Batch(g.head.batch(t, points)));
                }
            }
            Msg::Batch(_) => ctx.error(false, "window cannot receive batches"),
            Msg::DeleteGroup(g) => {
                self.groups.swap_remove(&g.id);
                out.push(msg);
            }
            Msg::Barrier(_) => out.push(msg),
        }
    }

    fn cardinality(&self) -> usize {
        self.groups.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{NodeStats, Services};
    use crate::point::{Barrier, FieldValue, GroupInfo, list};

    /// A time window of `.period(10s).every(10s)` (the buffering one).
    fn window() -> Box<dyn Processor> {
        let spec = WindowSpec {
            period: Some(10_000_000_000),
            every: Some(10_000_000_000),
            ..WindowSpec::default()
        };
        let info = BuildInfo {
            task: "t".into(),
            node: "window2".into(),
            node_id: 2,
            inputs: 1,
            task_type: kap_dsl::plan::TaskType::Stream,
            batch_input: false,
            services: Services::default(),
        };
        build(&spec, &info).unwrap()
    }

    /// Points of 300 hosts (more than a block) over 25 s, grouped by host, with a group
    /// deleted in the middle of a block (the last group, which the removal moves, comes
    /// after it in the block) and a barrier.
    fn messages() -> Vec<Msg> {
        let host = Sym::new("host");
        let dims = Dimensions::new(false, vec![host]);
        let info = |h: usize| {
            GroupInfo::new(
                Sym::new("cpu"),
                list![(host, Sym::new(&format!("h{h}")))],
                dims,
            )
        };
        let mut out = Vec::new();
        for t in 0..25i64 {
            for h in 0..300usize {
                if t == 12 && h == 250 {
                    out.push(Msg::DeleteGroup(info(7)));
                }
                if t == 12 && h == 260 {
                    out.push(Msg::Barrier(Barrier {
                        group: info(9),
                        time: 12_500_000_000,
                    }));
                }
                let mut p = Point::new(
                    "cpu",
                    vec![(host, Sym::new(&format!("h{h}")))],
                    vec![(Sym::new("v"), FieldValue::Int(t * 1000 + h as i64))],
                    t * 1_000_000_000,
                );
                p.dims = dims;
                p.regroup();
                out.push(Msg::Point(p));
            }
        }
        out
    }

    /// A chunk handled by reference emits what one message at a time emits, in the same
    /// order and from the same messages, across blocks, deleted groups and barriers.
    #[test]
    fn a_chunk_by_reference_is_one_message_at_a_time() {
        let services = Services::default();
        let mut stats = NodeStats::default();
        let mut ctx = Ctx {
            task: "t",
            node: "window2",
            services: &services,
            stats: &mut stats,
        };
        let (mut one, mut chunk) = (window(), window());
        let mut want = Vec::new();
        let mut want_origins = Vec::new();
        for (k, m) in messages().into_iter().enumerate() {
            one.process(0, m, &mut ctx, &mut want);
            want_origins.resize(want.len(), k as u32);
        }
        let mut msgs = messages();
        let origins: Vec<u32> = (0..msgs.len() as u32).collect();
        let (mut got, mut got_origins) = (Vec::new(), Vec::new());
        let mut emits = Emits::new(&mut got, &mut got_origins, &origins, 0);
        assert!(chunk.by_ref());
        chunk.process_refs(0, &mut msgs, &mut ctx, &mut emits);
        assert!(want.len() > 600, "{} batches", want.len());
        assert_eq!(got, want);
        assert_eq!(got_origins, want_origins);
        assert_eq!(chunk.cardinality(), one.cardinality());
    }

    #[test]
    fn truncate_is_relative_to_go_zero_time() {
        const DAY: i64 = 86_400_000_000_000;
        // 1970-01-01 is a Thursday; Go's 7-day truncation lands on Monday 1969-12-29.
        assert_eq!(go_truncate(0, 7 * DAY), -3 * DAY);
        assert_eq!(go_truncate(13_000_000_000, 10_000_000_000), 10_000_000_000);
        assert_eq!(go_truncate(-1, 10), -10);
        assert_eq!(go_truncate(17, 0), 17);
    }
}
