//! `|groupBy(dims...)`: regroups points (stream) or splits batches by the new group
//! (`kapacitor-semantics.md` §7).

use super::from::{DimSpec, Ordered};
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{Batch, GroupId, Msg, get, group_of};
use kap_dsl::plan::GroupBySpec;

/// The `groupBy` processor.
#[derive(Debug)]
pub(crate) struct GroupBy {
    dims: DimSpec,
    by_measurement: bool,
    /// Batch mode: time of the last batch or barrier seen.
    last_time: Option<i64>,
    /// Batch mode: buffered output batches by new group, in first-seen order.
    groups: Ordered<GroupId, Batch>,
}

/// Builds a `groupBy` node.
pub(crate) fn build(spec: &GroupBySpec, _: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(GroupBy {
        dims: DimSpec::new(&spec.dimensions, &spec.exclude),
        by_measurement: spec.by_measurement,
        last_time: None,
        groups: Ordered::default(),
    }))
}

impl GroupBy {
    /// Emits the buffered groups if `t` differs from the last batch/barrier time.
    fn emit(&mut self, t: i64, out: &mut Vec<Msg>) {
        if self.last_time == Some(t) {
            return;
        }
        self.last_time = Some(t);
        for (_, mut b) in self.groups.drain() {
            b.points.sort_by_key(|p| p.time);
            out.push(Msg::Batch(b));
        }
    }
}

impl Processor for GroupBy {
    fn process(&mut self, _: usize, msg: Msg, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Point(mut p) => {
                p.dims = self.dims.dims(
                    p.dims.by_name || self.by_measurement,
                    p.tags.iter().map(|(k, _)| k),
                );
                p.regroup();
                out.push(Msg::Point(p));
            }
            Msg::Batch(b) => {
                self.emit(b.tmax, out);
                let by_name = b.dims.by_name || self.by_measurement;
                for bp in b.points {
                    let dims = self.dims.dims(by_name, bp.tags.iter().map(|(k, _)| k));
                    let id = group_of(b.name, &bp.tags, &dims);
                    let group = self.groups.entry(id, || {
                        let tags = dims
                            .tag_names
                            .iter()
                            .filter_map(|k| get(&bp.tags, *k).map(|v| (*k, *v)))
                            .collect();
                        Batch {
                            name: b.name,
                            tmax: b.tmax,
                            tags,
                            dims,
                            group: id,
                            points: Vec::new(),
                        }
                    });
                    group.points.push(bp);
                }
            }
            Msg::Barrier(b) => {
                self.emit(b.time, out);
                out.push(Msg::Barrier(b));
            }
            Msg::DeleteGroup(g) => out.push(Msg::DeleteGroup(g)),
        }
    }

    fn cardinality(&self) -> usize {
        self.groups.len()
    }
}
