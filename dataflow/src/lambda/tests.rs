//! Unit tests of internals (the behaviour is tested in `dataflow/tests/lambda_*.rs`).

use super::functions::{human_bytes, parse_influxql_duration};

#[test]
fn human_bytes_matches_go_humanize() {
    assert_eq!(human_bytes(0), "0 B");
    assert_eq!(human_bytes(9), "9 B");
    assert_eq!(human_bytes(82_854_982), "83 MB");
    assert_eq!(human_bytes(1_200_000), "1.2 MB");
}

#[test]
fn influxql_durations_parse() {
    assert_eq!(parse_influxql_duration("5m"), Ok(300_000_000_000));
    assert_eq!(parse_influxql_duration("1h30m"), Ok(5_400_000_000_000));
    assert!(parse_influxql_duration("5").is_err());
}

/// A numeric field compared with a number answers in `eval_bool`'s short path: the same
/// answers and errors as evaluating the comparison in full, for every operand kind.
#[test]
fn numeric_comparisons_answer_as_the_full_evaluation() {
    use super::{CompiledLambda, MapScope, Value};
    use kap_dsl::expr::{BinaryOp, Expr};
    let scopes = [
        MapScope::default().with_field("x", Value::Float(9.5)),
        MapScope::default().with_field("x", Value::Float(10.0)),
        MapScope::default().with_field("x", Value::Float(f64::NAN)),
        MapScope::default().with_field("x", Value::Int(10)),
        MapScope::default().with_field("x", Value::Int(-3)),
        MapScope::default().with_field("x", Value::String("10".into())),
        MapScope::default().with_field("x", Value::Bool(true)),
        MapScope::default().with_tag("x", "10"),
        MapScope::default()
            .with_field("x", Value::Int(1))
            .with_tag("x", "1"),
        MapScope::default(),
    ];
    let ops = [
        BinaryOp::Eq,
        BinaryOp::NotEq,
        BinaryOp::Less,
        BinaryOp::LessEq,
        BinaryOp::Greater,
        BinaryOp::GreaterEq,
        BinaryOp::RegexMatch,
    ];
    for op in ops {
        for c in [Expr::Float(10.0), Expr::Int(10)] {
            let expr = Expr::Binary(op, Box::new(Expr::Ref("x".into())), Box::new(c.clone()));
            let lambda = CompiledLambda::compile(&expr).unwrap();
            for scope in &scopes {
                let mut state = lambda.new_state();
                let short = lambda.eval_bool(&mut state, scope);
                let full = lambda.eval(&mut state, scope).map(|v| match v {
                    Value::Bool(b) => b,
                    other => panic!("{expr}: not a bool: {other:?}"),
                });
                assert_eq!(
                    format!("{short:?}"),
                    format!("{full:?}"),
                    "{expr} over {scope:?}"
                );
            }
        }
    }
}
