//! Every lambda of the vendored Kapacitor conformance scripts
//! (`dsl/tests/corpus/kapacitor/cases/*.json`, from Kapacitor's integration tests, MIT)
//! compiles, and evaluates without panicking against a synthetic point.

mod common;

use kap_dataflow::lambda::{AlertContext, CompiledLambda, MapScope};
use kap_dsl::expr::Expr;
use serde_json::Value as Json;
use std::path::PathBuf;

const EXPR_VARIANTS: &[&str] = &[
    "Int", "Float", "Bool", "Str", "Duration", "Regex", "Ref", "Ident", "Unary", "Binary", "Call",
];

/// Collects every serialised [`Expr`] in a plan.
fn collect(v: &Json, out: &mut Vec<Expr>) {
    match v {
        Json::Object(map) => {
            if map.len() == 1
                && map.keys().all(|k| EXPR_VARIANTS.contains(&k.as_str()))
                && let Ok(e) = serde_json::from_value::<Expr>(v.clone())
            {
                out.push(e);
                return;
            }
            map.values().for_each(|x| collect(x, out));
        }
        Json::Array(items) => items.iter().for_each(|x| collect(x, out)),
        _ => {}
    }
}

#[test]
fn every_corpus_lambda_compiles() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dsl/tests/corpus/kapacitor/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut scripts, mut lambdas) = (0, 0);
    for path in &files {
        let case: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let Some(script) = case["script"].as_str() else {
            continue;
        };
        let Ok(compiled) = kap_dsl::compile_source(script, &Default::default()) else {
            continue;
        };
        scripts += 1;
        let mut exprs = Vec::new();
        collect(
            &serde_json::to_value(&compiled.pipeline).unwrap(),
            &mut exprs,
        );
        for e in exprs {
            let l = CompiledLambda::compile_with(&e, &common::opts())
                .unwrap_or_else(|err| panic!("{}: {e}: {err}", path.display()));
            if !matches!(
                e,
                Expr::Binary(..) | Expr::Call(..) | Expr::Unary(..) | Expr::Ref(_)
            ) {
                continue;
            }
            lambdas += 1;
            // Every reference a float: errors are fine, panics are not.
            let mut scope = MapScope::new(common::T0).with_alert(AlertContext::default());
            for r in l.references() {
                scope = scope.with_field(r, 1.0);
            }
            let mut state = l.new_state();
            for _ in 0..3 {
                let _ = l.eval(&mut state, &scope);
            }
        }
    }
    assert!(scripts > 150, "only {scripts} corpus scripts compiled");
    assert!(lambdas > 100, "only {lambdas} lambdas found");
    eprintln!("{scripts} scripts, {lambdas} lambdas compiled");
}
