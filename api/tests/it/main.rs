//! Integration tests of the `kapacitord` binary.

mod alerts_api;
mod api_corpus;
mod autoscale;
mod batch;
mod cluster;
mod collectd;
mod config;
mod conformance;
mod daemon;
mod graphite;
mod handlers;
mod opentsdb;
mod replay_api;
mod scraper;
mod services;
mod udf;

use std::path::PathBuf;

/// The vendored Kapacitor conformance corpus.
pub(crate) fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dsl/tests/corpus/kapacitor")
}

#[path = "../common/testdir.rs"]
mod testdir;
pub(crate) use testdir::{TestDir, tempdir};
