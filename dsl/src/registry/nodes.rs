//! Every node kind.

use super::*;

fn ok(_: &NodeSpec) -> Result<(), String> {
    Ok(())
}

/// All node kinds.
pub static NODES: &[NodeDef] = &[
    NodeDef {
        name: "stream",
        desc: "stream",
        doc: "All points written to Kapacitor for the task's databases and retention policies.",
        wants: Wants::Root,
        provides: Provides::Stream,
        params: Params::NONE,
        props: &[],
        build: |_| Ok(NodeSpec::Stream),
        validate: ok,
        special: Special::None,
    },
    NodeDef {
        name: "batch",
        desc: "batch",
        doc: "Container for scheduled queries.",
        wants: Wants::Root,
        provides: Provides::None,
        params: Params::NONE,
        props: &[],
        build: |_| Ok(NodeSpec::Batch),
        validate: ok,
        special: Special::None,
    },
];
