//! `kap-dataflow`: the engine that runs [`kap_dsl::plan::Pipeline`]s on timely dataflow.
//!
//! This crate is the home of the runtime (issue "Engine"); it currently only re-exports the
//! plan types it will lower, so that the dependency direction `dataflow → dsl` is fixed
//! from the start.

pub use kap_dsl::plan;

pub mod gofmt;
pub mod lambda;
pub mod template;
