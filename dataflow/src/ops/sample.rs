//! `|sample(n or d)`: keeps one point in `n` per group, or the points whose time is a
//! multiple of `d` (`kapacitor-semantics.md` §8). For batches the points of each batch are
//! sampled with the counter reset at every batch.

use super::from::go_truncate;
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{GroupMap, Msg};
use kap_dsl::plan::SampleSpec;

/// The `sample` processor.
#[derive(Debug)]
pub(crate) struct Sample {
    n: i64,
    d: i64,
    counts: GroupMap<i64>,
}

/// Builds a `sample` node.
pub(crate) fn build(spec: &SampleSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    if spec.count <= 0 && spec.duration <= 0 {
        return Err(BuildError::invalid(
            info,
            "sample needs a positive count or duration",
        ));
    }
    Ok(Box::new(Sample {
        n: spec.count,
        d: spec.duration,
        counts: GroupMap::default(),
    }))
}

impl Sample {
    fn keep(&self, count: &mut i64, t: i64) -> bool {
        if self.d != 0 {
            return go_truncate(t, self.d) == t;
        }
        let keep = *count % self.n == 0;
        *count += 1;
        keep
    }
}

impl Processor for Sample {
    fn process(&mut self, _: usize, msg: Msg, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Point(p) => {
                let mut c = self.counts.get(&p.group).copied().unwrap_or(0);
                let keep = self.keep(&mut c, p.time);
                self.counts.insert(p.group, c);
                if keep {
                    out.push(Msg::Point(p));
                }
            }
            Msg::Batch(mut b) => {
                self.counts.insert(b.group, 0);
                let mut c = 0;
                b.points.retain(|bp| self.keep(&mut c, bp.time));
                self.counts.insert(b.group, c);
                out.push(Msg::Batch(b));
            }
            Msg::Barrier(b) => {
                self.counts.entry(b.group.id).or_insert(0);
                out.push(Msg::Barrier(b));
            }
            Msg::DeleteGroup(g) => {
                self.counts.swap_remove(&g.id);
                out.push(Msg::DeleteGroup(g));
            }
        }
    }

    fn cardinality(&self) -> usize {
        self.counts.len()
    }
}
