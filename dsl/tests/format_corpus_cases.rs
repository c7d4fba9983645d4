//! Every script of the Kapacitor integration corpus (`kapacitor/cases/*.json`) parses without
//! diagnostics, formats idempotently, and keeps its syntax tree through formatting.

mod format_corpus;

use format_corpus::{json_files, strip_spans};
use kap_dsl::format::format_program;
use kap_dsl::parse;

#[test]
fn corpus_scripts_parse_format_and_round_trip() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (file, case) in json_files("kapacitor/cases") {
        let Some(script) = case.get("script").and_then(|s| s.as_str()) else {
            continue;
        };
        let (prog, diags) = parse(script);
        if !diags.is_empty() {
            failures.push(format!(
                "{file}: diagnostics {:?}",
                diags.iter().map(|d| d.one_line()).collect::<Vec<_>>()
            ));
            continue;
        }
        let once = format_program(&prog);
        let (prog2, diags2) = parse(&once);
        if !diags2.is_empty() {
            failures.push(format!(
                "{file}: formatted script does not parse: {diags2:?}\n{once}"
            ));
            continue;
        }
        let twice = format_program(&prog2);
        if once != twice {
            failures.push(format!("{file}: not idempotent:\n{once}\n---\n{twice}"));
        }
        if strip_spans(&prog) != strip_spans(&prog2) {
            failures.push(format!(
                "{file}: syntax tree changed by formatting:\n{script}\n---\n{once}"
            ));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(checked >= 150, "only {checked} scripts checked");
}
