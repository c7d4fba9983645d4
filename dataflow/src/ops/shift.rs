//! `|shift(d)`: shifts times by `d` (`kapacitor-semantics.md` §8).

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::Msg;
use kap_dsl::plan::ShiftSpec;

/// The `shift` processor.
#[derive(Debug)]
pub(crate) struct Shift {
    shift: i64,
}

/// Builds a `shift` node; a zero shift is an error.
pub(crate) fn build(spec: &ShiftSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    if spec.shift == 0 {
        return Err(BuildError::invalid(
            info,
            "invalid shift value: must be non zero duration",
        ));
    }
    Ok(Box::new(Shift { shift: spec.shift }))
}

impl Processor for Shift {
    fn process(&mut self, _: usize, msg: Msg, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Point(mut p) => {
                p.time = p.time.saturating_add(self.shift);
                out.push(Msg::Point(p));
            }
            Msg::Batch(mut b) => {
                b.tmax = b.tmax.saturating_add(self.shift);
                for bp in &mut b.points {
                    bp.time = bp.time.saturating_add(self.shift);
                }
                out.push(Msg::Batch(b));
            }
            other => out.push(other),
        }
    }
}
