//! One module per node kind, each exposing `build(spec, info) -> Box<dyn Processor>`.
//! [`build`] matches the plan's closed [`NodeSpec`] enum exhaustively, so a node kind
//! without a runtime is visible here.

use crate::node::{BuildError, BuildInfo, Processor};
use crate::point::Msg;
use kap_dsl::plan::NodeSpec;

pub(crate) mod passthrough;

/// Builds the processor of a plan node.
pub fn build(spec: &NodeSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    let unsupported = |reason: &str| BuildError::Unsupported {
        node: info.node.clone(),
        kind: spec.kind().to_string(),
        reason: reason.to_string(),
    };
    Ok(match spec {
        // Roots forward what they receive; `query` forwards the batches its runs (or a
        // replay) inject; `noop` swallows everything.
        NodeSpec::Stream | NodeSpec::Batch | NodeSpec::Query(_) | NodeSpec::QueryFlux(_) => {
            Box::new(passthrough::Forward)
        }
        NodeSpec::NoOp(_) => Box::new(passthrough::Swallow),
        NodeSpec::K8sAutoscale(_) | NodeSpec::SwarmAutoscale(_) | NodeSpec::Ec2Autoscale(_) => {
            return Err(unsupported("autoscale nodes need an orchestrator service"));
        }
        NodeSpec::Udf(_) => return Err(unsupported("UDFs are not supported yet")),
        _ => return Err(unsupported("no runtime yet")),
    })
}

/// Emits `msg` unchanged (helper for simple nodes).
pub(crate) fn forward(msg: Msg, out: &mut Vec<Msg>) {
    out.push(msg);
}
