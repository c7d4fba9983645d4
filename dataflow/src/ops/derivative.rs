//! `|derivative(field)`: rate of change between consecutive points of a group (§9).

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{FieldValue, Fields, GroupMap, Msg, Sym, get, set};
use kap_dsl::plan::DerivativeSpec;

/// Builds a derivative processor.
pub(crate) fn build(
    spec: &DerivativeSpec,
    _info: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(Derivative {
        cfg: Cfg {
            field: Sym::new(&spec.field),
            as_: Sym::new(&spec.as_),
            unit: spec.unit as f64,
            non_negative: spec.non_negative,
            quiet: spec.quiet,
        },
        prev: GroupMap::default(),
    }))
}

#[derive(Debug)]
struct Cfg {
    field: Sym,
    as_: Sym,
    unit: f64,
    non_negative: bool,
    quiet: bool,
}

#[derive(Debug)]
struct Derivative {
    cfg: Cfg,
    /// Per group: the stored previous point's time and value.
    prev: GroupMap<Option<(i64, f64)>>,
}

impl Cfg {
    /// Kapacitor's `derivative`: updates `prev` and returns the value to emit, if any.
    fn step(
        &self,
        prev: &mut Option<(i64, f64)>,
        fields: &Fields,
        time: i64,
        ctx: &mut Ctx<'_>,
    ) -> Option<f64> {
        let cur = match get(fields, self.field) {
            Some(FieldValue::Float(f)) => *f,
            Some(FieldValue::Int(i)) => *i as f64,
            other => {
                let ty = other.map_or("nil", FieldValue::type_name);
                ctx.error(self.quiet, &format!("cannot apply derivative to type {ty}"));
                return None;
            }
        };
        let (t0, v0) = prev.replace((time, cur))?;
        let elapsed = (time - t0) as f64;
        if elapsed == 0.0 {
            return None;
        }
        let diff = cur - v0;
        if self.non_negative && diff < 0.0 {
            return None;
        }
        Some(diff / (elapsed / self.unit))
    }
}

impl Processor for Derivative {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Point(mut p) => {
                let prev = self.prev.entry(p.group).or_default();
                if let Some(v) = self.cfg.step(prev, &p.fields, p.time, ctx) {
                    set(&mut p.fields, self.cfg.as_, FieldValue::Float(v));
                    out.push(Msg::Point(p));
                }
            }
            Msg::Batch(mut b) => {
                // The group counts in the working cardinality, as in Kapacitor.
                self.prev.entry(b.group).or_default();
                let mut prev = None;
                let points = std::mem::take(&mut b.points);
                b.points.reserve(points.len().saturating_sub(1));
                for mut bp in points {
                    if let Some(v) = self.cfg.step(&mut prev, &bp.fields, bp.time, ctx) {
                        set(&mut bp.fields, self.cfg.as_, FieldValue::Float(v));
                        b.points.push(bp);
                    }
                }
                out.push(Msg::Batch(b));
            }
            Msg::Barrier(b) => out.push(Msg::Barrier(b)),
            Msg::DeleteGroup(g) => {
                self.prev.swap_remove(&g.id);
                out.push(Msg::DeleteGroup(g));
            }
        }
    }

    fn cardinality(&self) -> usize {
        self.prev.len()
    }
}
