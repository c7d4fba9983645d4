//! A temporary directory per test, shared by the integration tests of `kap-api` and
//! `kap-cli` (the CLI's tests include this file by path).

/// A fresh temporary directory for one test, removed with everything in it when dropped
/// (a test that fails keeps nothing behind either).
pub(crate) struct TestDir(tempfile::TempDir);

impl std::ops::Deref for TestDir {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        self.0.path()
    }
}

/// A fresh temporary directory for one test, named after the crate and the test.
pub(crate) fn tempdir(name: &str) -> TestDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{}-{name}-", env!("CARGO_PKG_NAME")))
        .tempdir()
        .expect("create temp dir");
    TestDir(dir)
}
