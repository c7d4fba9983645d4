//! Typed node specs (one variant per TICKscript node).

use serde::{Deserialize, Serialize};

/// What a node does, with every property it was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NodeSpec {
    /// `stream`
    Stream,
    /// `batch`
    Batch,
}
