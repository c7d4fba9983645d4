//! `|where(lambda)`: keeps points for which the predicate is true (`kapacitor-semantics.md`
//! §8). One lambda state per group, created on the group's first message, never reset.

use super::from::compile;
use crate::lambda::{CompiledLambda, LambdaState};
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{GroupMap, Msg};
use crate::scope::PointScope;
use kap_dsl::plan::WhereSpec;

/// The `where` processor.
#[derive(Debug)]
pub(crate) struct Where {
    lambda: CompiledLambda,
    states: GroupMap<LambdaState>,
    quiet: bool,
}

/// Builds a `where` node.
pub(crate) fn build(spec: &WhereSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(Where {
        lambda: compile(info, &spec.lambda)?,
        states: GroupMap::default(),
        quiet: spec.quiet,
    }))
}

impl Processor for Where {
    fn process(&mut self, input: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        super::process_by_in_place(self, input, msg, ctx, out);
    }

    fn in_place(&self) -> bool {
        true
    }

    fn process_in_place(&mut self, _: usize, msg: &mut Msg, ctx: &mut Ctx<'_>) -> bool {
        let lambda = &self.lambda;
        match msg {
            Msg::Point(p) => {
                let state = self
                    .states
                    .entry(p.group)
                    .or_insert_with(|| lambda.new_state());
                match lambda.eval_bool(state, &PointScope::new(&p.fields, &p.tags, p.time)) {
                    Ok(keep) => keep,
                    Err(e) => {
                        ctx.error(
                            self.quiet,
                            &format!("error while evaluating expression: {e}"),
                        );
                        false
                    }
                }
            }
            Msg::Batch(b) => {
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
                true
            }
            Msg::Barrier(b) => {
                self.states
                    .entry(b.group.id)
                    .or_insert_with(|| lambda.new_state());
                true
            }
            Msg::DeleteGroup(g) => {
                self.states.swap_remove(&g.id);
                true
            }
        }
    }

    fn warm(&self, msgs: &[Msg]) {
        crate::point::warm_groups(&self.states, msgs, 0, |_| 0);
    }

    fn cardinality(&self) -> usize {
        self.states.len()
    }
}
