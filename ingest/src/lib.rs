//! `kap-ingest`: everything that brings data in.
//!
//! Today this is the InfluxDB line protocol ([`line_protocol`], its own dependency-free
//! crate so it can be fuzzed alone); `/write` handling, recordings and batch queries
//! join it as the daemon grows.

pub use kap_line_protocol as line_protocol;
