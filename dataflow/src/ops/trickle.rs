//! `|trickle()`: turns each batch point into a stream point with the batch's name and
//! dimensions.

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{Msg, Point, Sym};
use kap_dsl::plan::TrickleSpec;

/// The `trickle` processor.
#[derive(Debug)]
pub(crate) struct Trickle;

/// Builds a `trickle` node.
pub(crate) fn build(_: &TrickleSpec, _: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(Trickle))
}

impl Processor for Trickle {
    fn process(&mut self, _: usize, msg: Msg, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Batch(b) => {
                for bp in b.points {
                    let mut p = Point {
                        name: b.name,
                        db: Sym::empty(),
                        rp: Sym::empty(),
                        tags: bp.tags,
                        fields: bp.fields,
                        time: bp.time,
                        dims: b.dims,
                        group: b.group,
                    };
                    p.regroup();
                    out.push(Msg::Point(p));
                }
            }
            other => out.push(other),
        }
    }
}
