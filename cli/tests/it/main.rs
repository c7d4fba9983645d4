//! Integration tests of the `kapacitor` binary.

mod corpus;
mod remote;
mod vet_fmt;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The built `kapacitor` binary.
pub(crate) fn kapacitor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kapacitor"))
}

/// Runs `kapacitor` with `args`, returning (exit code, stdout, stderr).
pub(crate) fn run(args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = kapacitor().args(args).output().expect("run kapacitor");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[path = "../../../api/tests/common/testdir.rs"]
mod testdir;
pub(crate) use testdir::{TestDir, tempdir};

/// The vendored conformance corpus (`dsl/tests/corpus`).
pub(crate) fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dsl/tests/corpus")
}
