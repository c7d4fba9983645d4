//! `|combine(lambdas...)`: every k-combination of the points of a group that share a
//! (tolerance-rounded) time, where the i-th lambda matches the i-th element, becomes one
//! point with prefixed fields and tags (`kapacitor-semantics.md` §9). Output is always a
//! stream of points.

use super::from::{compile, go_round};
use crate::lambda::{CompiledLambda, LambdaState};
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{Dimensions, Fields, GroupId, GroupMap, Msg, Point, Sym, Tags, normalize};
use crate::scope::PointScope;
use kap_dsl::plan::CombineSpec;

/// One buffered point.
#[derive(Debug, Clone)]
struct Item {
    time: i64,
    tags: Tags,
    fields: Fields,
}

/// Per-group buffer.
#[derive(Debug)]
struct Group {
    time: Option<i64>,
    name: Sym,
    dims: Dimensions,
    points: Vec<Item>,
    states: Vec<LambdaState>,
}

/// The `combine` processor.
#[derive(Debug)]
pub(crate) struct Combine {
    lambdas: Vec<CompiledLambda>,
    names: Vec<String>,
    delimiter: String,
    tolerance: i64,
    max: i64,
    quiet: bool,
    groups: GroupMap<Group>,
}

/// Builds a `combine` node.
pub(crate) fn build(
    spec: &CombineSpec,
    info: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    if spec.as_.len() != spec.lambdas.len() {
        return Err(BuildError::invalid(
            info,
            "combine: must provide one name per expression via the 'As' property",
        ));
    }
    let lambdas = spec
        .lambdas
        .iter()
        .map(|e| compile(info, e))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Box::new(Combine {
        lambdas,
        names: spec.as_.clone(),
        delimiter: spec.delimiter.clone(),
        tolerance: spec.tolerance,
        max: spec.max,
        quiet: spec.quiet,
        groups: GroupMap::default(),
    }))
}

/// n choose k, saturating.
fn choose(n: usize, k: usize) -> u128 {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    let mut r: u128 = 1;
    for i in 0..k {
        r = r.saturating_mul((n - i) as u128) / (i as u128 + 1);
    }
    r
}

/// Calls `f` with every k-combination of `0..n` in lexicographic order.
fn combinations(n: usize, k: usize, mut f: impl FnMut(&[usize])) {
    if k == 0 || k > n {
        return;
    }
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        f(&idx);
        let mut i = k;
        while i > 0 {
            i -= 1;
            if idx[i] != i + n - k {
                idx[i] += 1;
                for j in i + 1..k {
                    idx[j] = idx[j - 1] + 1;
                }
                break;
            }
            if i == 0 {
                return;
            }
        }
    }
}

impl Combine {
    fn new_group(&self, name: Sym, dims: Dimensions) -> Group {
        Group {
            time: None,
            name,
            dims,
            points: Vec::new(),
            states: self.lambdas.iter().map(|l| l.new_state()).collect(),
        }
    }

    /// Adds a point to the group, emitting the previous bucket at a new time.
    fn add(&self, g: &mut Group, item: Item, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let t = go_round(item.time, self.tolerance);
        let item = Item { time: t, ..item };
        if g.time == Some(t) {
            g.points.push(item);
        } else {
            self.combine(g, ctx, out);
            g.time = Some(t);
            g.points.push(item);
        }
    }

    /// Emits every matching combination of the buffered points and clears the buffer.
    fn combine(&self, g: &mut Group, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let points = std::mem::take(&mut g.points);
        if points.is_empty() {
            return;
        }
        let k = self.lambdas.len();
        let mut matches = vec![vec![false; points.len()]; k];
        for (pi, p) in points.iter().enumerate() {
            for (li, l) in self.lambdas.iter().enumerate() {
                match l.eval_bool(
                    &mut g.states[li],
                    &PointScope::new(&p.fields, &p.tags, p.time),
                ) {
                    Ok(m) => matches[li][pi] = m,
                    Err(e) => {
                        ctx.error(self.quiet, &format!("error evaluating expression: {e}"));
                    }
                }
            }
        }
        let c = choose(points.len(), k);
        if c > self.max.max(0) as u128 {
            ctx.error(
                self.quiet,
                &format!(
                    "too many combinations ({c}) for {} points, max {}",
                    points.len(),
                    self.max
                ),
            );
            return;
        }
        let dims = &g.dims;
        combinations(points.len(), k, |comb| {
            let mut remaining: Vec<usize> = comb.to_vec();
            let mut set: Vec<usize> = Vec::with_capacity(k);
            for m in matches.iter() {
                match remaining.iter().position(|&i| m[i]) {
                    Some(pos) => set.push(remaining.remove(pos)),
                    None => return,
                }
            }
            let mut fields: Fields = Fields::new();
            let mut tags: Tags = Tags::new();
            for (si, &pi) in set.iter().enumerate() {
                let prefix = &self.names[si];
                for (fk, fv) in &points[pi].fields {
                    fields.push((
                        Sym::new(&format!("{prefix}{}{fk}", self.delimiter)),
                        fv.clone(),
                    ));
                }
                for (tk, tv) in &points[pi].tags {
                    if dims.tag_names.contains(tk) {
                        tags.push((*tk, *tv));
                    } else {
                        tags.push((Sym::new(&format!("{prefix}{}{tk}", self.delimiter)), *tv));
                    }
                }
            }
            normalize(&mut fields);
            normalize(&mut tags);
            let mut p = Point {
                name: g.name,
                db: Sym::empty(),
                rp: Sym::empty(),
                tags,
                fields,
                time: points[set[0]].time,
                dims: *dims,
                group: GroupId::default(),
            };
            p.regroup();
            out.push(Msg::Point(p));
        });
    }
}

impl Processor for Combine {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Point(p) => {
                let mut g = match self.groups.swap_remove(&p.group) {
                    Some(g) => g,
                    None => self.new_group(p.name, p.dims),
                };
                g.name = p.name;
                g.dims = p.dims;
                let id = p.group;
                self.add(
                    &mut g,
                    Item {
                        time: p.time,
                        tags: p.tags,
                        fields: p.fields,
                    },
                    ctx,
                    out,
                );
                self.groups.insert(id, g);
            }
            Msg::Batch(b) => {
                let mut g = match self.groups.swap_remove(&b.group) {
                    Some(g) => g,
                    None => self.new_group(b.name, b.dims),
                };
                g.name = b.name;
                g.dims = b.dims;
                g.time = None;
                g.points.clear();
                for bp in b.points {
                    self.add(
                        &mut g,
                        Item {
                            time: bp.time,
                            tags: bp.tags,
                            fields: bp.fields,
                        },
                        ctx,
                        out,
                    );
                }
                self.combine(&mut g, ctx, out);
                self.groups.insert(b.group, g);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_in_order() {
        let mut all = Vec::new();
        combinations(4, 2, |c| all.push(c.to_vec()));
        assert_eq!(
            all,
            vec![
                vec![0, 1],
                vec![0, 2],
                vec![0, 3],
                vec![1, 2],
                vec![1, 3],
                vec![2, 3]
            ]
        );
        assert_eq!(choose(4, 2), 6);
        assert_eq!(choose(2, 3), 0);
    }
}
