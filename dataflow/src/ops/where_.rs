//! `|where(lambda)`: keeps points for which the predicate is true (`kapacitor-semantics.md`
//! §8). One lambda state per group, created on the group's first message, never reset.

use super::from::compile;
use crate::lambda::{CompiledLambda, LambdaState};
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{GroupId, Msg};
use crate::scope::PointScope;
use kap_dsl::plan::WhereSpec;
use std::collections::HashMap;

/// The `where` processor.
#[derive(Debug)]
pub(crate) struct Where {
    lambda: CompiledLambda,
    states: HashMap<GroupId, LambdaState>,
    quiet: bool,
}

/// Builds a `where` node.
pub(crate) fn build(spec: &WhereSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(Where {
        lambda: compile(info, &spec.lambda)?,
        states: HashMap::new(),
        quiet: spec.quiet,
    }))
}

impl Processor for Where {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let lambda = &self.lambda;
        match msg {
            Msg::Point(p) => {
                let state = self
                    .states
                    .entry(p.group)
                    .or_insert_with(|| lambda.new_state());
                match lambda.eval_bool(state, &PointScope::new(&p.fields, &p.tags, p.time)) {
                    Ok(true) => out.push(Msg::Point(p)),
                    Ok(false) => {}
                    Err(e) => ctx.error(
                        self.quiet,
                        &format!("error while evaluating expression: {e}"),
                    ),
                }
            }
            Msg::Batch(mut b) => {
                let state = self
                    .states
                    .entry(b.group)
                    .or_insert_with(|| lambda.new_state());
                let quiet = self.quiet;
                b.points.retain(|bp| {
                    match lambda.eval_bool(state, &PointScope::new(&bp.fields, &bp.tags, bp.time)) {
                        Ok(keep) => keep,
                        Err(e) => {
                            ctx.error(quiet, &format!("error while evaluating expression: {e}"));
                            false
                        }
                    }
                });
                out.push(Msg::Batch(b));
            }
            Msg::Barrier(b) => {
                self.states
                    .entry(b.group.id)
                    .or_insert_with(|| lambda.new_state());
                out.push(Msg::Barrier(b));
            }
            Msg::DeleteGroup(g) => {
                self.states.remove(&g.id);
                out.push(Msg::DeleteGroup(g));
            }
        }
    }

    fn cardinality(&self) -> usize {
        self.states.len()
    }
}
