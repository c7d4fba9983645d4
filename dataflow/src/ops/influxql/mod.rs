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
    Ok(Box::new(new(spec, info)?))
}

fn new(spec: &InfluxQLSpec, info: &BuildInfo) -> Result<InfluxQL, BuildError> {
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
    Ok(InfluxQL {
        cfg,
        transformation,
        buckets: GroupMap::default(),
        transforms: GroupMap::default(),
        batch_groups: HashSet::default(),
        items: Vec::new(),
        handoff: None,
    })
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

impl Head {
    /// A batch's head (its tags moved out).
    fn take_from(b: &mut Batch) -> Head {
        Head {
            name: b.name,
            tags: std::mem::take(&mut b.tags),
            dims: b.dims,
            group: b.group,
            time: b.tmax,
        }
    }
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
    /// Folded into the window before it ([`fold`]): its batches come with partials.
    handoff: Option<Handoff>,
}

/// Why a point's field cannot be aggregated (reported as the node's error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// The field is missing (or null).
    Missing,
    /// The first value's type is one the function does not take.
    Unsupported(&'static str),
    /// The value's type differs from the first value's.
    WrongType(&'static str),
}

impl Unusable {
    /// Counts and logs the error, as Kapacitor's node does.
    fn report(self, cfg: &Cfg, ctx: &mut Ctx<'_>) {
        let message = match self {
            Unusable::Missing => format!("field {:?} missing from point", cfg.field.as_str()),
            Unusable::Unsupported(t) => format!("cannot apply {} to {t} field", cfg.func.name()),
            Unusable::WrongType(t) => {
                format!("wrong type for field {:?}: {t}", cfg.field.as_str())
            }
        };
        ctx.error(cfg.quiet, &message);
    }
}

/// The field of a point for a reducer of kind `kind` (realized from the first usable value).
fn classify<'a>(
    cfg: &Cfg,
    kind: &mut Option<Kind>,
    fields: &'a Fields,
) -> Result<&'a FieldValue, Unusable> {
    let v = match get(fields, cfg.field) {
        Some(v) if !matches!(v, FieldValue::Null) => v,
        _ => return Err(Unusable::Missing),
    };
    let Some(k) = kind_of(v) else {
        return Err(Unusable::Missing);
    };
    match kind {
        None => {
            if !cfg.supports(k) {
                return Err(Unusable::Unsupported(v.type_name()));
            }
            *kind = Some(k);
        }
        Some(have) if *have != k => return Err(Unusable::WrongType(v.type_name())),
        Some(_) => {}
    }
    Ok(v)
}

/// Reads the field of a point for a reducer of kind `kind` (realizing it from the first
/// point); logs and returns `None` when the point cannot be aggregated.
fn realize(
    cfg: &Cfg,
    kind: &mut Option<Kind>,
    fields: &Fields,
    ctx: &mut Ctx<'_>,
) -> Option<FieldValue> {
    match classify(cfg, kind, fields) {
        Ok(v) => Some(v.clone()),
        Err(e) => {
            e.report(cfg, ctx);
            None
        }
    }
}

/// A function of [`fold`] computed point by point, for a window whose only child is that
/// node: the window keeps this instead of its points and hands it over with each (empty)
/// batch it emits. The result, errors included, is what the node computes from the
/// batch's points: the same values in the same order.
#[derive(Debug, Default)]
pub(crate) struct Partial {
    /// Values aggregated.
    size: u64,
    /// The sum so far, as the bits of an `i64` or an `f64` by `kind` (the kind is fixed by
    /// the first value: a value of another kind is unusable, never added).
    sum: u64,
    kind: Option<Kind>,
    /// Whether the window has kept a point for this partial (the window's flag, stored
    /// here where it costs no space).
    pub(crate) kept: bool,
    /// What selectors, `spread` and errors need: boxed, so the partial of a sum or mean
    /// stays small and a window's groups cache-friendly.
    cold: Option<Box<Cold>>,
}

/// What a selector or `spread` keeps of the values seen.
#[derive(Debug)]
enum Chosen {
    /// The selected point: its time and value, and the fields and tags it brings along.
    Selected {
        time: i64,
        v: FieldValue,
        fields: Fields,
        tags: Tags,
    },
    /// The smallest and largest values.
    Range { min: FieldValue, max: FieldValue },
}

/// The rarely needed part of a [`Partial`].
#[derive(Debug, Default)]
struct Cold {
    /// The selected point so far (`first`, `last`, `min`, `max`), or the value range so far
    /// (`spread`).
    chosen: Option<Chosen>,
    /// Points that could not be aggregated, reported by the node when it takes the batch.
    unusable: Vec<Unusable>,
}

/// The window's end of a fold: it adds points to a group's [`Partial`] and hands partials
/// over to the node, in the order of the batches it emits.
#[derive(Debug)]
pub(crate) struct Folder {
    cfg: Cfg,
    /// The function sums its values (`count`, `sum`, `mean`): a number of the kind the
    /// partial already has takes [`Folder::add`]'s short path.
    sums: bool,
    handoff: Handoff,
}

/// Partials on their way from a window to its folded child (same executor, same thread:
/// the child takes each one while handling the batch emitted with it).
type Handoff = std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<Partial>>>;

impl Folder {
    /// Adds a point to a group's partial (a selector keeps it if it is the best so far,
    /// taking its tags and fields: the point is lent, and dropped with its message).
    #[inline(always)]
    pub(crate) fn add(&self, part: &mut Partial, p: &mut Point) {
        // Most points: a number of the kind the partial has, for a sum. This is what the
        // general path does with it, without its calls.
        if self.sums {
            match (get(&p.fields, self.cfg.field), part.kind) {
                (Some(FieldValue::Float(x)), Some(Kind::Float)) => {
                    part.size += 1;
                    part.sum = (f64::from_bits(part.sum) + x).to_bits();
                    return;
                }
                (Some(FieldValue::Int(i)), Some(Kind::Int)) => {
                    part.size += 1;
                    part.sum = (part.sum as i64).wrapping_add(*i) as u64;
                    return;
                }
                _ => {}
            }
        }
        self.add_any(part, p);
    }

    /// [`Folder::add`] for any point.
    fn add_any(&self, part: &mut Partial, p: &mut Point) {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let v = match classify(&self.cfg, &mut part.kind, &p.fields) {
            Ok(v) => v,
            Err(e) => {
                part.cold.get_or_insert_default().unusable.push(e);
                return;
            }
        };
        part.size += 1;
        let func = self.cfg.func;
        match func {
            InfluxQLFunc::First | InfluxQLFunc::Last | InfluxQLFunc::Min | InfluxQLFunc::Max => {
                // `reducers::reduce`'s rule, item by item.
                let cold = part.cold.get_or_insert_default();
                let better = match &cold.chosen {
                    Some(Chosen::Selected {
                        time: best_time,
                        v: best,
                        ..
                    }) => {
                        let c = reducers::cmp_values(v, best);
                        let (t, bt) = (p.time, *best_time);
                        match func {
                            InfluxQLFunc::First => t < bt || (t == bt && c == Greater),
                            InfluxQLFunc::Last => t > bt || (t == bt && c == Greater),
                            InfluxQLFunc::Min => c == Less || (c == Equal && t < bt),
                            _ => c == Greater || (c == Equal && t < bt),
                        }
                    }
                    _ => true,
                };
                if better {
                    let v = v.clone();
                    cold.chosen = Some(Chosen::Selected {
                        time: p.time,
                        v,
                        fields: std::mem::take(&mut p.fields),
                        tags: std::mem::take(&mut p.tags),
                    });
                }
            }
            InfluxQLFunc::Spread => match &mut part.cold.get_or_insert_default().chosen {
                Some(Chosen::Range { min, max }) => {
                    if reducers::cmp_values(v, min) == Less {
                        *min = v.clone();
                    }
                    if reducers::cmp_values(v, max) == Greater {
                        *max = v.clone();
                    }
                }
                chosen => {
                    *chosen = Some(Chosen::Range {
                        min: v.clone(),
                        max: v.clone(),
                    });
                }
            },
            _ => match v {
                FieldValue::Int(i) => part.sum = (part.sum as i64).wrapping_add(*i) as u64,
                FieldValue::Float(x) => part.sum = (f64::from_bits(part.sum) + x).to_bits(),
                _ => {}
            },
        }
    }

    /// Hands a group's partial over with the batch emitted next.
    pub(crate) fn hand_over(&self, part: Partial) {
        self.handoff
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(part);
    }
}

impl Partial {
    /// The reducer's outputs, as [`reducers::reduce`] gives them over the same values, and
    /// the points they select from.
    fn outs(self, cfg: &Cfg) -> (Outs, Vec<BatchPoint>) {
        let n = self.size;
        let int = self.kind == Some(Kind::Int);
        let one = |time, v| smallvec::smallvec![Out { time, v, idx: None }];
        let (int_sum, float_sum) = (self.sum as i64, f64::from_bits(self.sum));
        let outs = match (cfg.func, self.cold.and_then(|c| c.chosen)) {
            (InfluxQLFunc::Count, _) => one(ZERO_TIME, FieldValue::Int(n as i64)),
            (InfluxQLFunc::Sum, _) if int => one(0, FieldValue::Int(int_sum)),
            (InfluxQLFunc::Sum, _) => {
                one(0, FieldValue::Float(if n == 0 { 0.0 } else { float_sum }))
            }
            (InfluxQLFunc::Mean, _) if n == 0 => Outs::new(),
            (InfluxQLFunc::Mean, _) if int => {
                one(ZERO_TIME, FieldValue::Float(int_sum as f64 / n as f64))
            }
            (InfluxQLFunc::Mean, _) => one(ZERO_TIME, FieldValue::Float(float_sum / n as f64)),
            (
                _,
                Some(Chosen::Selected {
                    time,
                    v,
                    fields,
                    tags,
                }),
            ) => {
                let point = BatchPoint { time, fields, tags };
                let outs = smallvec::smallvec![Out {
                    time,
                    v,
                    idx: Some(0),
                }];
                return (outs, vec![point]);
            }
            (_, Some(Chosen::Range { min, max })) => {
                let v = match (&max, &min) {
                    (FieldValue::Int(a), FieldValue::Int(b)) => FieldValue::Int(a.wrapping_sub(*b)),
                    (a, b) => FieldValue::Float(reducers::f(a) - reducers::f(b)),
                };
                one(ZERO_TIME, v)
            }
            (_, None) => Outs::new(),
        };
        (outs, Vec::new())
    }
}

/// A function's outputs for one bucket: one, mostly, kept inline (no allocation per batch).
type Outs = smallvec::SmallVec<[Out; 1]>;

/// The window's end of a fold, and the node.
pub(crate) type Folded = (Folder, Box<dyn Processor>);

/// Folds `spec`'s function into the window before it, when it is `count`, `sum`, `mean`,
/// `spread` or a selector of one point (`first`, `last`, `min`, `max`): one output per
/// batch, computable point by point in the same order: returns the
/// window's end and the node, which then takes partials instead of points.
pub(crate) fn fold(spec: &InfluxQLSpec, info: &BuildInfo) -> Result<Option<Folded>, BuildError> {
    use InfluxQLFunc::*;
    if !matches!(
        spec.func,
        Count | Sum | Mean | First | Last | Min | Max | Spread
    ) {
        return Ok(None);
    }
    let mut node = new(spec, info)?;
    let handoff = Handoff::default();
    node.handoff = Some(std::sync::Arc::clone(&handoff));
    let folder = Folder {
        sums: matches!(spec.func, Count | Sum | Mean),
        cfg: node.cfg.clone(),
        handoff,
    };
    Ok(Some((folder, Box::new(node))))
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
        let outs: Outs = if acc.size == 0 || items.is_empty() {
            match cfg.func {
                InfluxQLFunc::Count => smallvec::smallvec![Out {
                    time: ZERO_TIME,
                    v: FieldValue::Int(0),
                    idx: None,
                }],
                InfluxQLFunc::Sum => smallvec::smallvec![Out {
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
            Outs::from_vec(Self::top_bottom(cfg, items, src))
        } else {
            Outs::from_vec(reducers::reduce(
                cfg,
                acc.kind.unwrap_or(Kind::Float),
                items,
            ))
        };
        items.clear();
        Self::emit(cfg, head, outs, src, out);
    }

    /// Emits the reducer's outputs for a bucket/batch.
    fn emit<S: Source>(cfg: &Cfg, head: &Head, outs: Outs, src: &mut S, out: &mut Vec<Msg>) {
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
                    fields: crate::point::list![(cfg.as_, o.v)],
                    tags,
                });
            }
            out.push(Msg::Batch(Batch {
                name: head.name,
                tmax,
                tags: head.tags.clone(),
                dims: head.dims,
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
            _ => (crate::point::list![(cfg.as_, o.v)], head.tags.clone()),
        };
        out.push(Msg::Point(Point {
            name: head.name,
            db: Sym::empty(),
            rp: Sym::empty(),
            tags,
            fields,
            time,
            dims: head.dims,
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
                            .map(|t| FieldValue::String(crate::point::Str::from(t.as_str())))
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
                    fields: crate::point::list![(cfg.as_, v)],
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
            dims: p.dims,
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
        let folded = self
            .handoff
            .as_ref()
            .and_then(|h| h.lock().unwrap_or_else(|e| e.into_inner()).pop_front());
        if let Some(part) = folded {
            for e in part.cold.iter().flat_map(|c| c.unusable.iter()) {
                e.report(cfg, ctx);
            }
            let head = Head::take_from(&mut b);
            let (outs, mut points) = part.outs(cfg);
            Self::emit(cfg, &head, outs, &mut points, out);
            return;
        }
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
                        fields: crate::point::list![(cfg.as_, v)],
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
        let head = Head::take_from(&mut b);
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
                self.buckets.swap_remove(&g.id);
                self.transforms.swap_remove(&g.id);
                self.batch_groups.remove(&g.id);
                out.push(Msg::DeleteGroup(g));
            }
        }
    }

    fn cardinality(&self) -> usize {
        self.buckets.len() + self.transforms.len() + self.batch_groups.len()
    }
}
