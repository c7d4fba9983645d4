//! InfluxQL function nodes (`|mean('f')`, `|top(3, 'f')`, `|difference('f')`...): aggregates
//! and selectors over batches or equal-time buckets of a stream, batch-emitting functions,
//! and per-point transformations (semantics §3).

mod holt_winters;
mod reducers;

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{
    Batch, BatchPoint, BuildIdHasher, Dimensions, FieldValue, Fields, GroupId, GroupMap, Msg,
    Point, Sym, Tags, get, remove, set,
};
use kap_dsl::plan::{InfluxQLFunc, InfluxQLSpec};
use reducers::{Item, Out, Transform, ZERO_TIME};
use std::collections::HashSet;

/// Reducer kind, from the first value of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Float,
    Int,
    Str,
    Bool,
}

fn kind_of(v: &FieldValue) -> Option<Kind> {
    match v {
        FieldValue::Float(_) => Some(Kind::Float),
        FieldValue::Int(_) => Some(Kind::Int),
        FieldValue::String(_) => Some(Kind::Str),
        FieldValue::Bool(_) => Some(Kind::Bool),
        FieldValue::Null => None,
    }
}

/// The node's configuration.
#[derive(Debug, Clone)]
pub(crate) struct Cfg {
    pub(crate) func: InfluxQLFunc,
    pub(crate) field: Sym,
    pub(crate) as_: Sym,
    pub(crate) point_times: bool,
    pub(crate) n: i64,
    pub(crate) fields_and_tags: Vec<Sym>,
    pub(crate) p: f64,
    pub(crate) window: i64,
    pub(crate) unit: i64,
    pub(crate) h: i64,
    pub(crate) m: i64,
    pub(crate) interval: i64,
    pub(crate) quiet: bool,
}

impl Cfg {
    fn supports(&self, k: Kind) -> bool {
        use InfluxQLFunc::*;
        match self.func {
            Count | First | Last | Distinct | Elapsed => true,
            _ => matches!(k, Kind::Float | Kind::Int),
        }
    }

    /// Selectors whose output point is the selected point (all its fields and tags).
    fn simple_selector(&self) -> bool {
        use InfluxQLFunc::*;
        matches!(self.func, First | Last | Min | Max | Percentile)
    }

    /// Whether the bucket's points must be kept (their tags/fields go to the output).
    fn keeps_points(&self) -> bool {
        self.simple_selector() || matches!(self.func, InfluxQLFunc::Top | InfluxQLFunc::Bottom)
    }
}

/// Builds an InfluxQL function processor.
pub(crate) fn build(
    spec: &InfluxQLSpec,
    info: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    use InfluxQLFunc::*;
    let func = spec.func;
    if matches!(func, Top | Bottom) && spec.n <= 0 {
        return Err(BuildError::invalid(
            info,
            format!("{} needs n > 0", func.name()),
        ));
    }
    if func == MovingAverage && spec.window <= 0 {
        return Err(BuildError::invalid(
            info,
            "movingAverage window must be > 0",
        ));
    }
    let transformation = func.is_transformation();
    let point_times =
        spec.use_point_times || transformation || matches!(func, HoltWinters | HoltWintersWithFit);
    // Kapacitor creates holtWintersWithFit as a `holtWinters` node: that is its default
    // `.as()` (an explicit `.as('holtWintersWithFit')` cannot be told apart in the spec).
    let as_ = if func == HoltWintersWithFit && spec.as_ == func.name() {
        HoltWinters.name()
    } else {
        spec.as_.as_str()
    };
    let cfg = Cfg {
        func,
        field: Sym::new(&spec.field),
        as_: Sym::new(as_),
        point_times,
        n: spec.n,
        fields_and_tags: spec.fields_and_tags.iter().map(|s| Sym::new(s)).collect(),
        p: spec.p,
        window: spec.window,
        unit: spec.unit,
        h: spec.h,
        m: spec.m,
        interval: spec.interval,
        quiet: spec.quiet,
    };
    Ok(Box::new(InfluxQL {
        cfg,
        transformation,
        buckets: GroupMap::default(),
        transforms: GroupMap::default(),
        batch_groups: HashSet::default(),
        items: Vec::new(),
    }))
}

/// The begin of a batch / bucket: what its outputs carry.
#[derive(Debug, Clone)]
struct Head {
    name: Sym,
    tags: Tags,
    dims: Dimensions,
    group: GroupId,
    time: i64,
}

/// A stream group's current equal-time bucket.
#[derive(Debug)]
struct Bucket {
    head: Head,
    acc: Acc,
    items: Vec<Item>,
    points: Vec<Point>,
}

/// The reducer of one bucket or batch.
#[derive(Debug, Default)]
struct Acc {
    kind: Option<Kind>,
    size: usize,
}

#[derive(Debug)]
struct InfluxQL {
    cfg: Cfg,
    transformation: bool,
    buckets: GroupMap<Bucket>,
    transforms: GroupMap<Transform>,
    /// Groups seen on batch input (for the working cardinality).
    batch_groups: HashSet<GroupId, BuildIdHasher>,
    /// Values of the bucket being reduced (reused buffer for batches).
    items: Vec<Item>,
}

/// Reads the field of a point for a reducer of kind `acc.kind` (realizing it from the first
/// point); logs and returns `None` when the point cannot be aggregated.
fn realize(
    cfg: &Cfg,
    kind: &mut Option<Kind>,
    fields: &Fields,
    ctx: &mut Ctx<'_>,
) -> Option<FieldValue> {
    let v = match get(fields, cfg.field) {
        Some(v) if !matches!(v, FieldValue::Null) => v,
        _ => {
            ctx.error(
                cfg.quiet,
                &format!("field {:?} missing from point", cfg.field.as_str()),
            );
            return None;
        }
    };
    let k = kind_of(v)?;
    match kind {
        None => {
            if !cfg.supports(k) {
                ctx.error(
                    cfg.quiet,
                    &format!(
                        "cannot apply {} to {} field",
                        cfg.func.name(),
                        v.type_name()
                    ),
                );
                return None;
            }
            *kind = Some(k);
        }
        Some(have) if *have != k => {
            ctx.error(
                cfg.quiet,
                &format!(
                    "wrong type for field {:?}: {}",
                    cfg.field.as_str(),
                    v.type_name()
                ),
            );
            return None;
        }
        Some(_) => {}
    }
    Some(v.clone())
}

/// Where selected points come from: the bucket's stored points or a batch's points.
trait Source {
    fn fields(&self, idx: usize) -> &Fields;
    fn tags(&self, idx: usize) -> &Tags;
    fn take_fields(&mut self, idx: usize) -> Fields;
    fn take_tags(&mut self, idx: usize) -> Tags;
}

impl Source for Vec<Point> {
    fn fields(&self, idx: usize) -> &Fields {
        &self[idx].fields
    }
    fn tags(&self, idx: usize) -> &Tags {
        &self[idx].tags
    }
    fn take_fields(&mut self, idx: usize) -> Fields {
        std::mem::take(&mut self[idx].fields)
    }
    fn take_tags(&mut self, idx: usize) -> Tags {
        std::mem::take(&mut self[idx].tags)
    }
}

impl Source for Vec<BatchPoint> {
    fn fields(&self, idx: usize) -> &Fields {
        &self[idx].fields
    }
    fn tags(&self, idx: usize) -> &Tags {
        &self[idx].tags
    }
    fn take_fields(&mut self, idx: usize) -> Fields {
        std::mem::take(&mut self[idx].fields)
    }
    fn take_tags(&mut self, idx: usize) -> Tags {
        std::mem::take(&mut self[idx].tags)
    }
}

impl InfluxQL {
    /// Ends a bucket/batch: reduces the items and emits the output.
    fn finish<S: Source>(
        cfg: &Cfg,
        head: &Head,
        acc: &Acc,
        items: &mut Vec<Item>,
        src: &mut S,
        out: &mut Vec<Msg>,
    ) {
        let outs: Vec<Out> = if acc.size == 0 || items.is_empty() {
            match cfg.func {
                InfluxQLFunc::Count => vec![Out {
                    time: ZERO_TIME,
                    v: FieldValue::Int(0),
                    idx: None,
                }],
                InfluxQLFunc::Sum => vec![Out {
                    time: 0,
                    v: match acc.kind {
                        Some(Kind::Int) => FieldValue::Int(0),
                        _ => FieldValue::Float(0.0),
                    },
                    idx: None,
                }],
                _ => return,
            }
        } else if matches!(cfg.func, InfluxQLFunc::Top | InfluxQLFunc::Bottom) {
            Self::top_bottom(cfg, items, src)
        } else {
            reducers::reduce(cfg, acc.kind.unwrap_or(Kind::Float), items)
        };
        items.clear();
        let time_of = |o: &Out| {
            if cfg.point_times && o.time != ZERO_TIME {
                o.time
            } else {
                head.time
            }
        };
        if cfg.func.emits_batch() {
            if outs.is_empty() {
                return;
            }
            let mut tmax = head.time;
            let mut points = Vec::with_capacity(outs.len());
            for o in outs {
                let time = time_of(&o);
                tmax = tmax.max(time);
                let tags = match o.idx {
                    Some(i) => {
                        let mut t = src.tags(i).clone();
                        for (k, v) in &head.tags {
                            set(&mut t, *k, *v);
                        }
                        t
                    }
                    None => head.tags.clone(),
                };
                points.push(BatchPoint {
                    time,
                    fields: vec![(cfg.as_, o.v)],
                    tags,
                });
            }
            out.push(Msg::Batch(Batch {
                name: head.name,
                tmax,
                tags: head.tags.clone(),
                dims: head.dims.clone(),
                group: head.group,
                points,
            }));
            return;
        }
        if outs.len() != 1 {
            return;
        }
        let Some(o) = outs.into_iter().next() else {
            return;
        };
        let time = time_of(&o);
        let (fields, tags) = match o.idx {
            Some(i) if cfg.simple_selector() => {
                let mut fields = src.take_fields(i);
                if cfg.as_ != cfg.field
                    && let Some(v) = remove(&mut fields, cfg.field)
                {
                    set(&mut fields, cfg.as_, v);
                }
                (fields, src.take_tags(i))
            }
            _ => (vec![(cfg.as_, o.v)], head.tags.clone()),
        };
        out.push(Msg::Point(Point {
            name: head.name,
            db: Sym::empty(),
            rp: Sym::empty(),
            tags,
            fields,
            time,
            dims: head.dims.clone(),
            group: head.group,
        }));
    }

    /// `top`/`bottom`: the n largest/smallest values (with extra fields/tags: the best point
    /// per distinct combination of their values first).
    fn top_bottom<S: Source>(cfg: &Cfg, items: &mut [Item], src: &S) -> Vec<Out> {
        let top = cfg.func == InfluxQLFunc::Top;
        reducers::top_order(items, top);
        let n = cfg.n.max(0) as usize;
        let mut res = Vec::with_capacity(n.min(items.len()));
        if cfg.fields_and_tags.is_empty() {
            for it in items.iter().take(n) {
                res.push(Out {
                    time: it.time,
                    v: it.v.clone(),
                    idx: Some(it.idx),
                });
            }
            return res;
        }
        let mut seen: Vec<Vec<Option<FieldValue>>> = Vec::new();
        for it in items.iter() {
            if res.len() >= n {
                break;
            }
            let key: Vec<Option<FieldValue>> = cfg
                .fields_and_tags
                .iter()
                .map(|k| {
                    get(src.fields(it.idx), *k).cloned().or_else(|| {
                        get(src.tags(it.idx), *k)
                            .map(|t| FieldValue::String(std::sync::Arc::from(t.as_str())))
                    })
                })
                .collect();
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            res.push(Out {
                time: it.time,
                v: it.v.clone(),
                idx: Some(it.idx),
            });
        }
        res
    }

    fn point(&mut self, p: Point, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let cfg = &self.cfg;
        if self.transformation {
            let tr = self.transforms.entry(p.group).or_default();
            let Some(v) = realize(cfg, &mut tr.kind, &p.fields, ctx) else {
                return;
            };
            if let Some((time, v)) = tr.step(cfg, p.time, v) {
                let tags = p.group_tags();
                out.push(Msg::Point(Point {
                    name: p.name,
                    db: Sym::empty(),
                    rp: Sym::empty(),
                    tags,
                    fields: vec![(cfg.as_, v)],
                    time,
                    dims: p.dims,
                    group: p.group,
                }));
            }
            return;
        }
        let head_of = |p: &Point| Head {
            name: p.name,
            tags: p.group_tags(),
            dims: p.dims.clone(),
            group: p.group,
            time: p.time,
        };
        let bucket = self.buckets.entry(p.group).or_insert_with(|| Bucket {
            head: head_of(&p),
            acc: Acc::default(),
            items: Vec::new(),
            points: Vec::new(),
        });
        if bucket.head.time != p.time {
            Self::finish(
                cfg,
                &bucket.head,
                &bucket.acc,
                &mut bucket.items,
                &mut bucket.points,
                out,
            );
            bucket.head = head_of(&p);
            bucket.acc = Acc::default();
            bucket.points.clear();
        }
        let Some(v) = realize(cfg, &mut bucket.acc.kind, &p.fields, ctx) else {
            return;
        };
        bucket.acc.size += 1;
        bucket.items.push(Item {
            time: p.time,
            v,
            idx: bucket.points.len(),
        });
        if cfg.keeps_points() {
            bucket.points.push(p);
        }
    }

    fn batch(&mut self, mut b: Batch, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        self.batch_groups.insert(b.group);
        let cfg = &self.cfg;
        if self.transformation {
            let mut tr = Transform::default();
            let mut points = Vec::with_capacity(b.points.len());
            for bp in &b.points {
                let Some(v) = realize(cfg, &mut tr.kind, &bp.fields, ctx) else {
                    continue;
                };
                if let Some((time, v)) = tr.step(cfg, bp.time, v) {
                    points.push(BatchPoint {
                        time,
                        fields: vec![(cfg.as_, v)],
                        tags: b.tags.clone(),
                    });
                }
            }
            b.points = points;
            out.push(Msg::Batch(b));
            return;
        }
        let mut acc = Acc::default();
        let mut items = std::mem::take(&mut self.items);
        items.clear();
        for (i, bp) in b.points.iter().enumerate() {
            if let Some(v) = realize(cfg, &mut acc.kind, &bp.fields, ctx) {
                acc.size += 1;
                items.push(Item {
                    time: bp.time,
                    v,
                    idx: i,
                });
            }
        }
        let head = Head {
            name: b.name,
            tags: std::mem::take(&mut b.tags),
            dims: std::mem::take(&mut b.dims),
            group: b.group,
            time: b.tmax,
        };
        Self::finish(cfg, &head, &acc, &mut items, &mut b.points, out);
        self.items = items;
    }
}

impl Processor for InfluxQL {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Point(p) => self.point(p, ctx, out),
            Msg::Batch(b) => self.batch(b, ctx, out),
            Msg::Barrier(b) => out.push(Msg::Barrier(b)),
            Msg::DeleteGroup(g) => {
                self.buckets.remove(&g.id);
                self.transforms.remove(&g.id);
                self.batch_groups.remove(&g.id);
                out.push(Msg::DeleteGroup(g));
            }
        }
    }

    fn cardinality(&self) -> usize {
        self.buckets.len() + self.transforms.len() + self.batch_groups.len()
    }
}
