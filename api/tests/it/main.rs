//! Integration tests of the `kapacitord` binary.

mod conformance;

use std::path::PathBuf;

/// The vendored Kapacitor conformance corpus.
pub(crate) fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dsl/tests/corpus/kapacitor")
}
