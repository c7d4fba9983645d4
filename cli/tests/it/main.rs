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

/// A fresh temporary directory for one test.
pub(crate) fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kap-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// The vendored conformance corpus (`dsl/tests/corpus`).
pub(crate) fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dsl/tests/corpus")
}
