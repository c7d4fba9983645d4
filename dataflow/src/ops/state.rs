//! `|stateDuration(lambda)` and `|stateCount(lambda)`: how long / how many consecutive
//! points of a group matched a predicate (§9).

use crate::lambda::{CompiledLambda, LambdaState};
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{FieldValue, Fields, GroupMap, Msg, Sym, Tags, set};
use crate::scope::PointScope;
use kap_dsl::plan::{StateCountSpec, StateDurationSpec};

/// Builds a stateDuration processor.
pub(crate) fn build_duration(
    spec: &StateDurationSpec,
    info: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    let lambda = CompiledLambda::compile(&spec.lambda)
        .map_err(|e| BuildError::invalid(info, e.to_string()))?;
    Ok(Box::new(StateTracking {
        lambda,
        as_: Sym::new(&spec.as_),
        kind: Kind::Duration(spec.unit as f64),
        quiet: spec.quiet,
        groups: GroupMap::default(),
    }))
}

/// Builds a stateCount processor.
pub(crate) fn build_count(
    spec: &StateCountSpec,
    info: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    let lambda = CompiledLambda::compile(&spec.lambda)
        .map_err(|e| BuildError::invalid(info, e.to_string()))?;
    Ok(Box::new(StateTracking {
        lambda,
        as_: Sym::new(&spec.as_),
        kind: Kind::Count,
        quiet: spec.quiet,
        groups: GroupMap::default(),
    }))
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// stateDuration with its unit (ns).
    Duration(f64),
    /// stateCount.
    Count,
}

/// Per-group tracker.
#[derive(Debug, Default)]
struct Tracker {
    lambda: LambdaState,
    /// Start of the current true state (duration).
    start: Option<i64>,
    /// Points in the current true state (count).
    count: i64,
}

impl Tracker {
    fn reset(&mut self) {
        self.start = None;
        self.count = 0;
    }
}

#[derive(Debug)]
struct StateTracking {
    lambda: CompiledLambda,
    as_: Sym,
    kind: Kind,
    quiet: bool,
    groups: GroupMap<Tracker>,
}

impl StateTracking {
    /// Evaluates a point; `None` drops it (lambda error).
    #[allow(clippy::too_many_arguments)]
    fn track(
        lambda: &CompiledLambda,
        kind: Kind,
        quiet: bool,
        tr: &mut Tracker,
        fields: &Fields,
        tags: &Tags,
        time: i64,
        ctx: &mut Ctx<'_>,
    ) -> Option<FieldValue> {
        let scope = PointScope::new(fields, tags, time);
        let pass = match lambda.eval_bool(&mut tr.lambda, &scope) {
            Ok(b) => b,
            Err(e) => {
                ctx.error(quiet, &e.to_string());
                return None;
            }
        };
        Some(match kind {
            Kind::Duration(unit) => {
                if !pass {
                    tr.start = None;
                    FieldValue::Float(-1.0)
                } else {
                    let start = *tr.start.get_or_insert(time);
                    FieldValue::Float((time - start) as f64 / unit)
                }
            }
            Kind::Count => {
                if !pass {
                    tr.count = 0;
                    FieldValue::Int(-1)
                } else {
                    tr.count += 1;
                    FieldValue::Int(tr.count)
                }
            }
        })
    }
}

impl Processor for StateTracking {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Point(mut p) => {
                let tr = self.groups.entry(p.group).or_insert_with(|| Tracker {
                    lambda: self.lambda.new_state(),
                    ..Tracker::default()
                });
                let v = Self::track(
                    &self.lambda,
                    self.kind,
                    self.quiet,
                    tr,
                    &p.fields,
                    &p.tags,
                    p.time,
                    ctx,
                );
                if let Some(v) = v {
                    set(&mut p.fields, self.as_, v);
                    out.push(Msg::Point(p));
                }
            }
            Msg::Batch(mut b) => {
                let tr = self.groups.entry(b.group).or_insert_with(|| Tracker {
                    lambda: self.lambda.new_state(),
                    ..Tracker::default()
                });
                tr.reset();
                let (lambda, kind, quiet, as_) = (&self.lambda, self.kind, self.quiet, self.as_);
                b.points.retain_mut(|bp| {
                    match Self::track(lambda, kind, quiet, tr, &bp.fields, &bp.tags, bp.time, ctx) {
                        Some(v) => {
                            set(&mut bp.fields, as_, v);
                            true
                        }
                        None => false,
                    }
                });
                out.push(Msg::Batch(b));
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
