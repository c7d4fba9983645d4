//! `kap-api-types`: the JSON wire types of the `/kapacitor/v1` API, shared by the daemon
//! (`kapacitord`) and the CLI (`kapacitor`). Plain serde data: no HTTP, no runtime.

use serde::{Deserialize, Serialize};

/// A diagnostic as carried in API error bodies next to Kapacitor's `error` text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticDto {
    /// Stable code, e.g. `E0203`.
    pub code: String,
    /// Message.
    pub message: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// Kapacitor's error body: `{"error": "...", "message": "..."}`, plus our diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Error text (Kapacitor's wording).
    pub error: String,
    /// Same text (Kapacitor sends both keys).
    pub message: String,
    /// Script diagnostics with line and column, when a script was rejected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<DiagnosticDto>,
}
