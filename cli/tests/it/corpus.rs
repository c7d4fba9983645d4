//! Every script of Kapacitor's conformance corpus passes `kapacitor vet` (with its case's
//! kind as the type; only UDF cases are skipped), and `kapacitor fmt` is idempotent on it.

use crate::{corpus_dir, run, tempdir};

#[test]
fn every_corpus_script_vets_and_formats_idempotently() {
    let cases = corpus_dir().join("kapacitor/cases");
    let dir = tempdir("corpus");
    let mut entries: Vec<_> = std::fs::read_dir(&cases)
        .expect("vendored corpus")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    let (mut checked, mut skipped) = (0, 0);
    let mut failures = Vec::new();
    for e in entries {
        let text = std::fs::read_to_string(e.path()).expect("read case");
        let case: serde_json::Value = serde_json::from_str(&text).expect("case json");
        let requires: Vec<&str> = case["requires"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if requires.contains(&"udf") {
            skipped += 1;
            continue;
        }
        let name = case["name"]
            .as_str()
            .unwrap_or("?")
            .replace(['/', '#'], ".");
        let kind = case["kind"].as_str().expect("kind");
        let script = case["script"].as_str().expect("script");
        let file = dir.join(format!("{name}.tick"));
        std::fs::write(&file, script).expect("write script");
        let f = file.to_str().expect("utf-8 path");

        let (code, _, err) = run(&["vet", "-type", kind, f]);
        if code != 0 {
            failures.push(format!("{name}: vet failed (exit {code}):\n{err}"));
            continue;
        }
        let (code, once, err) = run(&["fmt", f]);
        if code != 0 {
            failures.push(format!("{name}: fmt failed (exit {code}):\n{err}"));
            continue;
        }
        let formatted = dir.join(format!("{name}.fmt.tick"));
        std::fs::write(&formatted, &once).expect("write formatted");
        let (code, twice, err) = run(&["fmt", formatted.to_str().expect("utf-8")]);
        if code != 0 || twice != once {
            failures.push(format!(
                "{name}: fmt not idempotent (exit {code}) {err}\n--- once\n{once}--- twice\n{twice}"
            ));
            continue;
        }
        let (code, _, err) = run(&["vet", "--type", kind, formatted.to_str().expect("utf-8")]);
        if code != 0 {
            failures.push(format!("{name}: formatted script does not vet:\n{err}"));
            continue;
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} corpus scripts failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        checked >= 160,
        "only {checked} scripts checked ({skipped} skipped)"
    );
}
