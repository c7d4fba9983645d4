//! `kap-api`: the `kapacitord` daemon's library and composition root.
//!
//! Today it wires the engine for `kapacitord conformance` (Kapacitor's integration-test
//! corpus replayed through the engine, with a local HTTP sink and an HTTP client for
//! `httpPost`). The HTTP API, persistence and task management arrive with the daemon issue.

pub mod alert_handlers;
pub mod cli;
pub mod config;
pub mod conformance;
pub mod daemon;
pub mod services;
pub mod store;

/// The version string printed by `kapacitord version` and sent as `X-Kapacitor-Version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
