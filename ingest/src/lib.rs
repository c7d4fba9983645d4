//! `kap-ingest`: everything that brings data in.
//!
//! - [`line_protocol`]: InfluxDB 1.x line protocol (its own dependency-free crate, so it can
//!   be fuzzed alone).
//! - [`recording`]: Kapacitor's `.srpl` (stream) and `.brpl` (batch) recording formats.
//! - [`prometheus`]: the Prometheus text exposition format the scraper reads.
//! - [`opentsdb`]: OpenTSDB's telnet `put` lines and `/api/put` JSON.
//! - [`graphite`]: Graphite's plaintext lines, with InfluxDB's templates.
//! - [`collectd`]: collectd's binary network protocol and `types.db`.
//! - [`udf`]: Kapacitor's UDF protocol, spoken with user-defined functions' agents.
//!
//! `/write` handling, UDP listeners and batch queries join it as the daemon grows.

// A library reports through `tracing` or its services: a print here is a leftover.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub use kap_line_protocol as line_protocol;

pub mod collectd;
pub mod graphite;
pub mod opentsdb;
pub mod prometheus;
pub mod recording;
pub mod udf;
