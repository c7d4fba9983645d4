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

/// A fresh temporary directory for one test, removed with everything in it when dropped
/// (a test that fails keeps nothing behind either).
pub(crate) struct TestDir(tempfile::TempDir);

impl std::ops::Deref for TestDir {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        self.0.path()
    }
}

/// A fresh temporary directory for one test, named after it.
pub(crate) fn tempdir(name: &str) -> TestDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("kap-api-{name}-"))
        .tempdir()
        .expect("create temp dir");
    TestDir(dir)
}
