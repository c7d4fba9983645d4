//! `kap-api`: the `kapacitord` daemon's library (composition root). The HTTP API,
//! persistence and task management arrive with the daemon issue; today it provides the
//! version information the binary prints.

/// The version string printed by `kapacitord version` and sent as `X-Kapacitor-Version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
