//! `|flatten()`: merges the points of a group that share a (tolerance-rounded) time into
//! one point whose field keys are prefixed by the `.on` tag values
//! (`kapacitor-semantics.md` §9).

use super::from::go_round;
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{
    Batch, BatchPoint, Dimensions, Fields, GroupId, GroupMap, Msg, Point, Sym, Tags, get, normalize,
};
use kap_dsl::plan::FlattenSpec;

/// Points of one group waiting for a later time.
#[derive(Debug)]
struct Pending {
    time: i64,
    name: Sym,
    tags: Tags,
    dims: Dimensions,
    points: Vec<(Tags, Fields)>,
}

/// The `flatten` processor.
#[derive(Debug)]
pub(crate) struct Flatten {
    on: Vec<Sym>,
    delimiter: String,
    tolerance: i64,
    drop_name: bool,
    quiet: bool,
    groups: GroupMap<Pending>,
}

/// Builds a `flatten` node.
pub(crate) fn build(spec: &FlattenSpec, _: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(Flatten {
        on: spec.on.iter().map(|s| Sym::new(s)).collect(),
        delimiter: spec.delimiter.clone(),
        tolerance: spec.tolerance,
        drop_name: spec.drop_original_field_name,
        quiet: spec.quiet,
        groups: GroupMap::default(),
    }))
}

impl Flatten {
    /// Flattens a set of points into one field set.
    fn flatten(&self, points: &[(Tags, Fields)], ctx: &mut Ctx<'_>) -> Fields {
        let mut fields: Fields = Fields::new();
        'points: for (tags, pf) in points {
            let mut prefix = String::new();
            for (i, tag) in self.on.iter().enumerate() {
                match get(tags, *tag) {
                    Some(v) => {
                        if i > 0 {
                            prefix.push_str(&self.delimiter);
                        }
                        prefix.push_str(v.as_str());
                    }
                    None => {
                        ctx.error(
                            self.quiet,
                            &format!("point missing tag {tag:?} for flatten operation"),
                        );
                        continue 'points;
                    }
                }
            }
            for (k, v) in pf {
                let key = if self.drop_name {
                    prefix.clone()
                } else if prefix.is_empty() {
                    k.as_str().to_string()
                } else {
                    format!("{prefix}{}{k}", self.delimiter)
                };
                fields.push((Sym::new(&key), v.clone()));
            }
        }
        normalize(&mut fields);
        fields
    }

    fn flush(&self, pending: Pending, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        if pending.points.is_empty() {
            return;
        }
        let fields = self.flatten(&pending.points, ctx);
        let mut p = Point {
            name: pending.name,
            db: Sym::empty(),
            rp: Sym::empty(),
            tags: pending.tags,
            fields,
            time: pending.time,
            dims: pending.dims,
            group: GroupId::default(),
        };
        p.regroup();
        out.push(Msg::Point(p));
    }

    fn batch(&self, mut b: Batch, ctx: &mut Ctx<'_>) -> Batch {
        let mut points: Vec<BatchPoint> = Vec::new();
        let mut cur: Option<i64> = None;
        let mut set: Vec<(Tags, Fields)> = Vec::new();
        for bp in std::mem::take(&mut b.points) {
            let t = go_round(bp.time, self.tolerance);
            if cur != Some(t) {
                if let Some(ct) = cur
                    && !set.is_empty()
                {
                    points.push(BatchPoint {
                        time: ct,
                        fields: self.flatten(&set, ctx),
                        tags: b.tags.clone(),
                    });
                    set.clear();
                }
                cur = Some(t);
            }
            set.push((bp.tags, bp.fields));
        }
        if let Some(ct) = cur
            && !set.is_empty()
        {
            points.push(BatchPoint {
                time: ct,
                fields: self.flatten(&set, ctx),
                tags: b.tags.clone(),
            });
        }
        b.points = points;
        b
    }
}

impl Processor for Flatten {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Point(p) => {
                let t = go_round(p.time, self.tolerance);
                let flush = match self.groups.get(&p.group) {
                    Some(g) => g.time != t,
                    None => false,
                };
                if flush && let Some(old) = self.groups.swap_remove(&p.group) {
                    self.flush(old, ctx, out);
                }
                let tags = p.group_tags();
                let g = self.groups.entry(p.group).or_insert_with(|| Pending {
                    time: t,
                    name: p.name,
                    tags,
                    dims: p.dims,
                    points: Vec::new(),
                });
                g.points.push((p.tags, p.fields));
            }
            Msg::Batch(b) => {
                let b = self.batch(b, ctx);
                out.push(Msg::Batch(b));
            }
            Msg::Barrier(b) => {
                let t = go_round(b.time, self.tolerance);
                if self.groups.get(&b.group.id).is_some_and(|g| t > g.time)
                    && let Some(old) = self.groups.swap_remove(&b.group.id)
                {
                    self.flush(old, ctx, out);
                }
                out.push(Msg::Barrier(b));
            }
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
