//! `|eval(lambdas...)`: computes fields (or tags) in order; later lambdas see earlier
//! results (`kapacitor-semantics.md` §8 "eval details").

use super::from::compile;
use crate::lambda::{CompiledLambda, LambdaState, Lookup, Scope, Value};
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{Fields, GroupId, GroupMap, Msg, Sym, Tags, get, normalize, set};
use crate::scope::{PointScope, value_to_field};
use kap_dsl::plan::EvalSpec;

/// The `eval` processor.
#[derive(Debug)]
pub(crate) struct Eval {
    lambdas: Vec<CompiledLambda>,
    names: Vec<Sym>,
    is_tag: Vec<bool>,
    keep: bool,
    keep_list: Vec<Sym>,
    states: GroupMap<Vec<LambdaState>>,
    quiet: bool,
}

/// Builds an `eval` node.
pub(crate) fn build(spec: &EvalSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    if spec.as_.len() != spec.lambdas.len() {
        return Err(BuildError::invalid(
            info,
            format!(
                "must provide one name per expression via the 'As' property, got {} names for {} expressions",
                spec.as_.len(),
                spec.lambdas.len()
            ),
        ));
    }
    let lambdas = spec
        .lambdas
        .iter()
        .map(|e| compile(info, e))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Box::new(Eval {
        lambdas,
        names: spec.as_.iter().map(|s| Sym::new(s)).collect(),
        is_tag: spec.as_.iter().map(|n| spec.tags.contains(n)).collect(),
        keep: spec.keep || !spec.keep_list.is_empty(),
        keep_list: spec.keep_list.iter().map(|s| Sym::new(s)).collect(),
        states: GroupMap::default(),
        quiet: spec.quiet,
    }))
}

/// The point's fields and tags, then the results computed so far.
struct EvalScope<'a> {
    point: PointScope<'a>,
    results: &'a [(Sym, Value)],
}

impl Scope for EvalScope<'_> {
    fn lookup(&self, name: &str) -> Lookup {
        self.lookup_sym(name, Sym::new(name))
    }

    fn lookup_sym(&self, name: &str, sym: Sym) -> Lookup {
        match self.point.lookup_sym(name, sym) {
            Lookup::Absent => match self.results.iter().rev().find(|(k, _)| *k == sym) {
                Some((_, v)) => Lookup::Field(v.clone()),
                None => Lookup::Absent,
            },
            other => other,
        }
    }

    fn time(&self) -> i64 {
        self.point.time
    }
}

impl Eval {
    /// Evaluates for one point; the new fields and tags, or an error message.
    fn eval_point(
        &self,
        states: &mut [LambdaState],
        fields: &Fields,
        tags: &Tags,
        time: i64,
    ) -> Result<(Fields, Tags), String> {
        let mut results: Vec<(Sym, Value)> = Vec::with_capacity(self.lambdas.len());
        let mut new_fields: Fields = Fields::new();
        let mut new_tags: Vec<(Sym, Sym)> = Vec::new();
        for (i, l) in self.lambdas.iter().enumerate() {
            let scope = EvalScope {
                point: PointScope::new(fields, tags, time),
                results: &results,
            };
            let v = l.eval(&mut states[i], &scope).map_err(|e| e.to_string())?;
            let name = self.names[i];
            if self.is_tag[i] {
                match &v {
                    Value::String(s) => new_tags.push((name, Sym::new(s))),
                    other => {
                        return Err(format!(
                            "result of a tag expression must be of type string, got {}",
                            other.type_name()
                        ));
                    }
                }
            } else {
                new_fields.push((name, value_to_field(&v)?));
            }
            results.push((name, v));
        }
        normalize(&mut new_fields);
        let out_fields = if !self.keep_list.is_empty() {
            let mut f: Fields = Fields::with_capacity(self.keep_list.len());
            for k in &self.keep_list {
                if let Some(v) = get(&new_fields, *k).or_else(|| get(fields, *k)) {
                    f.push((*k, v.clone()));
                } else {
                    return Err(format!("cannot keep field \"{k}\", field does not exist"));
                }
            }
            normalize(&mut f);
            f
        } else if self.keep {
            let mut f = fields.clone();
            for (k, v) in new_fields {
                set(&mut f, k, v);
            }
            f
        } else {
            new_fields
        };
        let mut out_tags = tags.clone();
        for (k, v) in new_tags {
            set(&mut out_tags, k, v);
        }
        Ok((out_fields, out_tags))
    }

    fn states_for(&mut self, g: GroupId) -> Vec<LambdaState> {
        match self.states.swap_remove(&g) {
            Some(s) => s,
            None => self.lambdas.iter().map(|l| l.new_state()).collect(),
        }
    }

    fn fail(&self, ctx: &mut Ctx<'_>, e: &str) {
        ctx.stats.add("eval_errors", 1);
        ctx.error(self.quiet, &format!("error evaluating expression: {e}"));
    }
}

impl Processor for Eval {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        super::from::seed_stats(ctx, &["eval_errors"]);
        match msg {
            Msg::Point(mut p) => {
                let mut states = self.states_for(p.group);
                let r = self.eval_point(&mut states, &p.fields, &p.tags, p.time);
                self.states.insert(p.group, states);
                match r {
                    Ok((f, t)) => {
                        p.fields = f;
                        if t != p.tags {
                            p.tags = t;
                            p.regroup();
                        }
                        out.push(Msg::Point(p));
                    }
                    Err(e) => self.fail(ctx, &e),
                }
            }
            Msg::Batch(mut b) => {
                let mut states = self.states_for(b.group);
                let mut points = Vec::with_capacity(b.points.len());
                for mut bp in std::mem::take(&mut b.points) {
                    match self.eval_point(&mut states, &bp.fields, &bp.tags, bp.time) {
                        Ok((f, t)) => {
                            bp.fields = f;
                            bp.tags = t;
                            points.push(bp);
                        }
                        Err(e) => self.fail(ctx, &e),
                    }
                }
                self.states.insert(b.group, states);
                b.points = points;
                out.push(Msg::Batch(b));
            }
            Msg::Barrier(b) => {
                let s = self.states_for(b.group.id);
                self.states.insert(b.group.id, s);
                out.push(Msg::Barrier(b));
            }
            Msg::DeleteGroup(g) => {
                self.states.swap_remove(&g.id);
                out.push(Msg::DeleteGroup(g));
            }
        }
    }

    fn cardinality(&self) -> usize {
        self.states.len()
    }
}
