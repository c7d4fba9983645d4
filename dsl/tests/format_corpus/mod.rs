//! Shared helpers for the parse/format tests: locating the conformance corpora and comparing
//! syntax trees without their spans.

#![allow(dead_code)]

use std::path::PathBuf;

/// The corpus folder `rel` (e.g. `kapacitor/cases`): the vendored copy under
/// `dsl/tests/corpus/` if present, else the shared one beside the repository
/// (`../shared/conformance/`). Panics loudly when neither exists.
pub(crate) fn corpus_dir(rel: &str) -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let vendored = manifest.join("tests/corpus").join(rel);
    if vendored.is_dir() {
        return vendored;
    }
    let shared = manifest.join("../../shared/conformance").join(rel);
    if shared.is_dir() {
        return shared;
    }
    panic!(
        "conformance corpus `{rel}` not found: looked in {} and {}",
        vendored.display(),
        shared.display()
    );
}

/// Every `*.json` file of a corpus folder, sorted, parsed.
pub(crate) fn json_files(rel: &str) -> Vec<(String, serde_json::Value)> {
    let dir = corpus_dir(rel);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no json files in {}", dir.display());
    paths
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                v,
            )
        })
        .collect()
}

/// A program as JSON with every span removed, for structural comparison. Number literals
/// compare by value (and octal-ness for ints), since tickfmt normalises their text.
pub(crate) fn strip_spans(p: &kap_dsl::ast::Program) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("span");
                m.remove("op_span");
                if let Some(serde_json::Value::Object(f)) = m.get_mut("Float") {
                    f.remove("literal");
                }
                if let Some(serde_json::Value::Object(i)) = m.get_mut("Int") {
                    let octal = i
                        .get("literal")
                        .and_then(|l| l.as_str())
                        .is_some_and(|l| l.len() > 1 && l.starts_with('0'));
                    i.insert("literal".into(), serde_json::Value::Bool(octal));
                }
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(p).expect("program serializes");
    strip(&mut v);
    v
}
