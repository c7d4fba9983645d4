//! `|influxDBOut()` and `|kapacitorLoopback()`: write points through
//! [`PointsWriter`](crate::node::PointsWriter) and forward nothing
//! (`kapacitor-semantics.md` §10).
//!
//! influxDBOut buffers up to `.buffer(n)` points per database/retention policy and writes
//! when the buffer is full, when `.flushInterval(d)` of wall-clock time has passed since
//! the last write (checked on every message and by [`InfluxDbOut::tick`], which the
//! runtime should call periodically), and at end of input (`done`). Stats
//! `points_written`, `write_errors`. kapacitorLoopback writes every point at once.

use crate::node::{BuildError, BuildInfo, Ctx, Processor, WriteCounters, WriteTarget};
use crate::point::{Batch, Dimensions, GroupId, Msg, Point, Sym, Tags, set};
use kap_dsl::plan::{InfluxDbOutSpec, KapacitorLoopbackSpec};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Shows a writer's counters as the node's `points_written` and `write_errors`.
fn show_counters(counters: &WriteCounters, ctx: &mut Ctx<'_>) {
    let c = &mut ctx.stats.counters;
    c.insert("points_written", counters.written.load(Ordering::Relaxed));
    c.insert("write_errors", counters.errors.load(Ordering::Relaxed));
}

fn opt_sym(s: &str) -> Option<Sym> {
    (!s.is_empty()).then(|| Sym::new(s))
}

fn add_tags(tags: &mut Tags, extra: &[(Sym, Sym)]) {
    for (k, v) in extra {
        set(tags, *k, *v);
    }
}

/// The points of a batch as stream points: batch name (or `name`), batch tags merged
/// with the point's tags, then `extra`.
fn batch_points(b: Batch, name: Option<Sym>, db: Sym, rp: Sym, extra: &[(Sym, Sym)]) -> Vec<Point> {
    b.points
        .into_iter()
        .map(|bp| {
            let mut tags = b.tags.clone();
            add_tags(&mut tags, &bp.tags);
            add_tags(&mut tags, extra);
            let mut p = Point {
                name: name.unwrap_or(b.name),
                db,
                rp,
                tags,
                fields: bp.fields,
                time: bp.time,
                dims: Dimensions::default(),
                group: GroupId::default(),
            };
            p.regroup();
            p
        })
        .collect()
}

/// The `influxDBOut` processor.
#[derive(Debug)]
pub(crate) struct InfluxDbOut {
    cluster: String,
    database: Option<Sym>,
    rp: Option<Sym>,
    measurement: Option<Sym>,
    tags: Vec<(Sym, Sym)>,
    precision: String,
    consistency: String,
    buffer: usize,
    flush_interval: i64,
    quiet: bool,
    pending: BTreeMap<(Sym, Sym), Vec<Point>>,
    last_flush: Option<i64>,
    counters: Arc<WriteCounters>,
}

/// Builds an `influxDBOut` node.
pub(crate) fn build_influxdb_out(
    spec: &InfluxDbOutSpec,
    _: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(InfluxDbOut {
        cluster: spec.cluster.clone(),
        database: opt_sym(&spec.database),
        rp: opt_sym(&spec.retention_policy),
        measurement: opt_sym(&spec.measurement),
        tags: spec
            .tags
            .iter()
            .map(|(k, v)| (Sym::new(k), Sym::new(v)))
            .collect(),
        precision: spec.precision.clone(),
        consistency: spec.write_consistency.clone(),
        buffer: usize::try_from(spec.buffer.max(1)).unwrap_or(1),
        flush_interval: spec.flush_interval,
        quiet: spec.quiet,
        pending: BTreeMap::new(),
        last_flush: None,
        counters: Arc::default(),
    }))
}

impl InfluxDbOut {
    fn write(&self, db: Sym, rp: Sym, points: Vec<Point>, ctx: &mut Ctx<'_>) {
        if points.is_empty() {
            return;
        }
        let target = WriteTarget {
            cluster: Some(&self.cluster),
            database: db.as_str(),
            retention_policy: rp.as_str(),
            precision: &self.precision,
            consistency: &self.consistency,
            counters: &self.counters,
        };
        if let Err(e) = ctx.services.points.write(&target, points) {
            self.counters.failed();
            ctx.error(
                self.quiet,
                &format!("failed to write points to InfluxDB: {e}"),
            );
        }
        show_counters(&self.counters, ctx);
    }

    fn flush_all(&mut self, ctx: &mut Ctx<'_>) {
        for ((db, rp), points) in std::mem::take(&mut self.pending) {
            self.write(db, rp, points, ctx);
        }
    }

    /// Flushes buffers older than the flush interval at wall-clock time `now` (ns).
    pub(crate) fn tick(&mut self, now: i64, ctx: &mut Ctx<'_>) {
        show_counters(&self.counters, ctx);
        let last = *self.last_flush.get_or_insert(now);
        if self.flush_interval > 0 && now.saturating_sub(last) >= self.flush_interval {
            self.last_flush = Some(now);
            self.flush_all(ctx);
        }
    }

    fn enqueue(&mut self, db: Sym, rp: Sym, points: Vec<Point>, ctx: &mut Ctx<'_>) {
        let buf = self.pending.entry((db, rp)).or_default();
        buf.extend(points);
        if buf.len() >= self.buffer {
            let all = std::mem::take(buf);
            self.pending.remove(&(db, rp));
            self.write(db, rp, all, ctx);
        }
    }
}

impl Processor for InfluxDbOut {
    fn tick(&mut self, now: i64, ctx: &mut Ctx<'_>, _: &mut Vec<Msg>) {
        InfluxDbOut::tick(self, now, ctx);
    }

    fn ticks(&self) -> bool {
        true
    }

    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, _: &mut Vec<Msg>) {
        let now = ctx.services.clock.now();
        self.tick(now, ctx);
        match msg {
            Msg::Point(mut p) => {
                let db = self.database.unwrap_or(p.db);
                let rp = self.rp.unwrap_or(p.rp);
                if let Some(m) = self.measurement {
                    p.name = m;
                }
                p.db = db;
                p.rp = rp;
                add_tags(&mut p.tags, &self.tags);
                p.regroup();
                self.enqueue(db, rp, vec![p], ctx);
            }
            Msg::Batch(b) => {
                let db = self.database.unwrap_or_else(Sym::empty);
                let rp = self.rp.unwrap_or_else(Sym::empty);
                let points = batch_points(b, self.measurement, db, rp, &self.tags);
                self.enqueue(db, rp, points, ctx);
            }
            _ => {}
        }
    }

    fn done(&mut self, ctx: &mut Ctx<'_>, _: &mut Vec<Msg>) {
        self.flush_all(ctx);
    }
}

/// The `kapacitorLoopback` processor.
#[derive(Debug)]
pub(crate) struct Loopback {
    database: Sym,
    rp: Sym,
    measurement: Option<Sym>,
    tags: Vec<(Sym, Sym)>,
    quiet: bool,
    counters: Arc<WriteCounters>,
}

/// Builds a `kapacitorLoopback` node.
pub(crate) fn build_loopback(
    spec: &KapacitorLoopbackSpec,
    _: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(Loopback {
        database: Sym::new(&spec.database),
        rp: Sym::new(&spec.retention_policy),
        measurement: opt_sym(&spec.measurement),
        tags: spec
            .tags
            .iter()
            .map(|(k, v)| (Sym::new(k), Sym::new(v)))
            .collect(),
        quiet: spec.quiet,
        counters: Arc::default(),
    }))
}

impl Loopback {
    fn write(&self, points: Vec<Point>, ctx: &mut Ctx<'_>) {
        for p in points {
            let (db, rp) = (p.db, p.rp);
            let target = WriteTarget {
                cluster: None,
                database: db.as_str(),
                retention_policy: rp.as_str(),
                precision: "",
                consistency: "",
                counters: &self.counters,
            };
            if let Err(e) = ctx.services.points.write(&target, vec![p]) {
                ctx.error(
                    self.quiet,
                    &format!("failed to write point over loopback: {e}"),
                );
            }
        }
        let written = self.counters.written.load(Ordering::Relaxed);
        ctx.stats.counters.insert("points_written", written);
    }
}

impl Processor for Loopback {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, _: &mut Vec<Msg>) {
        match msg {
            Msg::Point(mut p) => {
                if !self.database.as_str().is_empty() {
                    p.db = self.database;
                }
                if !self.rp.as_str().is_empty() {
                    p.rp = self.rp;
                }
                if let Some(m) = self.measurement {
                    p.name = m;
                }
                add_tags(&mut p.tags, &self.tags);
                p.regroup();
                self.write(vec![p], ctx);
            }
            Msg::Batch(b) => {
                // The measurement override is ignored for batches (Kapacitor).
                let mut points = Vec::with_capacity(b.points.len());
                for bp in b.points {
                    let mut tags = bp.tags;
                    add_tags(&mut tags, &self.tags);
                    let mut p = Point {
                        name: b.name,
                        db: self.database,
                        rp: self.rp,
                        tags,
                        fields: bp.fields,
                        time: bp.time,
                        dims: Dimensions::default(),
                        group: GroupId::default(),
                    };
                    p.regroup();
                    points.push(p);
                }
                self.write(points, ctx);
            }
            _ => {}
        }
    }
}
