//! Golden diagnostics: each `tests/golden/<name>.tick` is a script with one mistake and
//! `<name>.expected` is the exact rendered output of the checker (codes, line, column,
//! caret, label, notes, "did you mean"). Regenerate with `UPDATE_GOLDEN=1` and review the
//! diff before committing.

use kap_dsl::diagnostic::render_all;
use kap_dsl::eval::CompileOptions;
use std::path::PathBuf;

#[test]
fn golden_diagnostics() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/golden")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tick"))
        .collect();
    files.sort();
    let mut mismatches = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(path).unwrap();
        // Same options as `kapacitor vet` without `-type`.
        let opts = CompileOptions {
            template: true,
            ..CompileOptions::default()
        };
        let got = match kap_dsl::compile_source(&src, &opts) {
            Ok(_) => format!("(no diagnostics: {name} compiled)\n"),
            Err(diags) => render_all(&diags, &name, &src),
        };
        let expected_path = path.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            mismatches.push(format!("== {name}\n-- expected\n{expected}-- got\n{got}"));
        }
        assert!(
            got.contains("error["),
            "{name} must be a mistake, got:\n{got}"
        );
    }
    assert!(
        mismatches.is_empty(),
        "{} golden mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(
        files.len() >= 40,
        "at least 40 distinct mistakes are covered, found {}",
        files.len()
    );
}
