//! One module per node kind, each exposing `build(spec, info) -> Box<dyn Processor>`.
//! [`build`] matches the plan's closed [`NodeSpec`] enum exhaustively, so a node kind
//! without a runtime is visible here.

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::Msg;
use kap_dsl::plan::NodeSpec;

pub mod autoscale;
pub(crate) mod change_detect;
pub(crate) mod derivative;
pub mod expiry;
pub mod http_out;
pub mod http_post;
pub(crate) mod influxql;
pub(crate) mod passthrough;
pub(crate) mod state;
pub(crate) mod window;
// Transforms, join/union, sideload, stats and outputs.
pub(crate) mod barrier;
pub(crate) mod combine;
pub(crate) mod default;
pub(crate) mod delete;
pub(crate) mod eval;
pub(crate) mod flatten;
pub(crate) mod from;
pub(crate) mod group_by;
pub(crate) mod join;
pub(crate) mod log;
pub(crate) mod outputs;
pub(crate) mod sample;
pub(crate) mod shift;
pub mod sideload;
pub mod stats;
pub(crate) mod trickle;
pub mod udf;
pub(crate) mod union;
pub(crate) mod where_;

/// Builds the processor of a plan node.
pub fn build(spec: &NodeSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    Ok(match spec {
        // Roots forward what they receive; `query` forwards the batches its runs (or a
        // replay) inject; `noop` swallows everything.
        NodeSpec::Stream | NodeSpec::Batch | NodeSpec::Query(_) | NodeSpec::QueryFlux(_) => {
            Box::new(passthrough::Forward)
        }
        NodeSpec::NoOp(_) => Box::new(passthrough::Swallow),
        NodeSpec::HttpOut(s) => http_out::build(s, info)?,
        NodeSpec::HttpPost(s) => http_post::build(s, info)?,
        NodeSpec::Alert(s) => crate::alert::build(s, info)?,
        NodeSpec::K8sAutoscale(_) | NodeSpec::SwarmAutoscale(_) | NodeSpec::Ec2Autoscale(_) => {
            autoscale::build(spec, info)?
        }
        NodeSpec::Window(s) => window::build(s, info)?,
        NodeSpec::InfluxQL(s) => influxql::build(s, info)?,
        NodeSpec::Derivative(s) => derivative::build(s, info)?,
        NodeSpec::StateDuration(s) => state::build_duration(s, info)?,
        NodeSpec::StateCount(s) => state::build_count(s, info)?,
        NodeSpec::ChangeDetect(s) => change_detect::build(s, info)?,
        NodeSpec::From(s) => from::build(s, info)?,
        NodeSpec::Where(s) => where_::build(s, info)?,
        NodeSpec::Eval(s) => eval::build(s, info)?,
        NodeSpec::GroupBy(s) => group_by::build(s, info)?,
        NodeSpec::Default(s) => default::build(s, info)?,
        NodeSpec::Delete(s) => delete::build(s, info)?,
        NodeSpec::Shift(s) => shift::build(s, info)?,
        NodeSpec::Sample(s) => sample::build(s, info)?,
        NodeSpec::Log(s) => log::build(s, info)?,
        NodeSpec::Trickle(s) => trickle::build(s, info)?,
        NodeSpec::Flatten(s) => flatten::build(s, info)?,
        NodeSpec::Combine(s) => combine::build(s, info)?,
        NodeSpec::Join(s) => join::build(s, info)?,
        NodeSpec::Union(s) => union::build(s, info)?,
        NodeSpec::Barrier(s) => barrier::build(s, info)?,
        NodeSpec::Sideload(s) => sideload::build(s, info)?,
        NodeSpec::Stats(s) => stats::build(s, info)?,
        NodeSpec::InfluxDbOut(s) => outputs::build_influxdb_out(s, info)?,
        NodeSpec::KapacitorLoopback(s) => outputs::build_loopback(s, info)?,
        NodeSpec::Udf(s) => udf::build(s, info)?,
    })
}

/// A parent's and its child's processors, built together.
pub type FusedPair = (Box<dyn Processor>, Box<dyn Processor>);

/// Builds a window and its only child together when the child's function can be folded
/// into the window (a tumbling window before `count`, `sum`, `mean`, `spread`, `first`,
/// `last`, `min` or `max`): the window then keeps one running partial per group instead
/// of its points, and hands it to the child with each batch. Outputs, errors and stats are those of the two nodes built apart.
/// `None` when the pair does not qualify.
pub fn build_fused(
    window: (&NodeSpec, &BuildInfo),
    child: (&NodeSpec, &BuildInfo),
) -> Result<Option<FusedPair>, BuildError> {
    let (NodeSpec::Window(w), NodeSpec::InfluxQL(q)) = (window.0, child.0) else {
        return Ok(None);
    };
    if window.1.batch_input || !window::tumbling(w) {
        return Ok(None);
    }
    let Some((folder, node)) = influxql::fold(q, child.1)? else {
        return Ok(None);
    };
    Ok(Some((window::build_folded(w, window.1, folder)?, node)))
}

/// Emits `msg` unchanged (helper for simple nodes).
pub(crate) fn forward(msg: Msg, out: &mut Vec<Msg>) {
    out.push(msg);
}

/// Edits a batch the way `default` and `delete` do: its group tags (which then become its
/// dimensions, as Kapacitor's `BeginBatch.SetTags` does) and every point's fields and tags.
pub(crate) fn edit_batch(
    b: &mut crate::point::Batch,
    ctx: &mut crate::node::Ctx<'_>,
    fields: impl Fn(&mut crate::point::Fields, &mut crate::node::Ctx<'_>),
    tags: impl Fn(&mut crate::point::Tags, &mut crate::node::Ctx<'_>) -> bool,
) {
    let mut group_tags = b.tags.clone();
    if tags(&mut group_tags, ctx) {
        b.set_tags(group_tags);
    }
    for bp in &mut b.points {
        fields(&mut bp.fields, ctx);
        tags(&mut bp.tags, ctx);
    }
}

/// [`Processor::process`] of a node that handles messages in place
/// ([`Processor::in_place`]): the message goes on when the node keeps it.
pub(crate) fn process_by_in_place(
    node: &mut dyn Processor,
    input: usize,
    mut msg: Msg,
    ctx: &mut Ctx<'_>,
    out: &mut Vec<Msg>,
) {
    if node.process_in_place(input, &mut msg, ctx) {
        out.push(msg);
    }
}
