//! Integration tests of the `kapacitord` binary.

mod alerts_api;
mod api_corpus;
mod batch;
mod config;
mod conformance;
mod daemon;
mod handlers;
mod replay_api;

use std::path::PathBuf;

/// The vendored Kapacitor conformance corpus.
pub(crate) fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dsl/tests/corpus/kapacitor")
}

/// A fresh temporary directory for one test.
pub(crate) fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kap-api-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}
