//! Stateful functions: per-instance state, Kapacitor's per-name sharing, short-circuit.

mod common;

use common::*;
use kap_dataflow::lambda::{CompileOptions, CompiledLambda, LambdaState, MapScope, Value};

fn series(l: &CompiledLambda, state: &mut LambdaState, field: &str, xs: &[f64]) -> Vec<Value> {
    xs.iter()
        .map(|x| {
            l.eval(state, &MapScope::new(0).with_field(field, *x))
                .unwrap_or_else(|e| panic!("{l}: {e}"))
        })
        .collect()
}

fn floats(vs: &[Value]) -> Vec<f64> {
    vs.iter().map(|v| v.as_float().expect("a float")).collect()
}

#[test]
fn count_counts_per_state() {
    let l = compile("count()");
    assert!(l.is_stateful());
    let (mut a, mut b) = (l.new_state(), l.new_state());
    let s = scope();
    for want in 1..=3 {
        assert_eq!(l.eval(&mut a, &s), Ok(Value::Int(want)));
    }
    assert_eq!(l.eval(&mut b, &s), Ok(Value::Int(1)));
    assert_eq!(l.eval(&mut a, &s), Ok(Value::Int(4)));
}

#[test]
fn sigma_is_welford_after_adding_x() {
    let l = compile(r#"sigma("x")"#);
    let mut st = l.new_state();
    let got = floats(&series(&l, &mut st, "x", &[1.0, 2.0, 3.0, 4.0]));
    let want = [0.0, 0.5 / 0.5f64.sqrt(), 1.0, 1.5 / (5.0f64 / 3.0).sqrt()];
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
    }
    // Zero variance gives 0, not NaN.
    let mut st = l.new_state();
    assert_eq!(
        floats(&series(&l, &mut st, "x", &[5.0, 5.0, 5.0])),
        [0.0, 0.0, 0.0]
    );
    // A point far from the mean.
    let mut st = l.new_state();
    let got = floats(&series(
        &l,
        &mut st,
        "x",
        &[10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 50.0],
    ));
    assert!(got[6] > 2.0, "{got:?}");
}

#[test]
fn sigma_and_spread_take_floats_only() {
    let l = compile(r#"sigma("x")"#);
    let err = l
        .eval(&mut l.new_state(), &MapScope::new(0).with_field("x", 1i64))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "sigma(): invalid argument types (int), expected sigma(float) float"
    );
    let l = compile(r#"spread("x")"#);
    let err = l
        .eval(&mut l.new_state(), &MapScope::new(0).with_field("x", "a"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "spread(): invalid argument types (string), expected spread(float) float"
    );
}

#[test]
fn spread_is_running_max_minus_min() {
    let l = compile(r#"spread("x")"#);
    let mut st = l.new_state();
    assert_eq!(
        floats(&series(&l, &mut st, "x", &[3.0, 1.0, 4.0, 1.0, 5.0])),
        [0.0, 2.0, 3.0, 3.0, 4.0]
    );
    let mut other = l.new_state();
    assert_eq!(floats(&series(&l, &mut other, "x", &[-1.0])), [0.0]);
}

#[test]
fn rand_is_seeded_per_state() {
    let l = compile("rand()");
    let (mut a, mut b) = (l.new_state(), l.new_state());
    let s = scope();
    let xs: Vec<Value> = (0..5).map(|_| l.eval(&mut a, &s).unwrap()).collect();
    let ys: Vec<Value> = (0..5).map(|_| l.eval(&mut b, &s).unwrap()).collect();
    assert_eq!(xs, ys, "a fixed seed gives every state the same sequence");
    assert!(xs.iter().all(|v| v.as_int().is_some_and(|i| i >= 0)));
    assert_ne!(xs[0], xs[1]);

    let l = compile("rand(10)");
    let mut st = l.new_state();
    for _ in 0..200 {
        let v = l.eval(&mut st, &s).unwrap().as_int().unwrap();
        assert!((0..10).contains(&v), "{v}");
    }
    let l = CompiledLambda::compile_with(&call("rand", vec![int(0)]), &opts()).unwrap();
    assert_eq!(
        l.eval(&mut l.new_state(), &s).unwrap_err().to_string(),
        "rand(): invalid argument 0, must be positive"
    );

    // Without a configured seed, states differ.
    let l = CompiledLambda::compile_with(&parse("rand()"), &CompileOptions::default()).unwrap();
    let firsts: Vec<Value> = (0..4)
        .map(|_| l.eval(&mut l.new_state(), &s).unwrap())
        .collect();
    assert!(firsts.windows(2).any(|w| w[0] != w[1]), "{firsts:?}");
}

#[test]
fn short_circuit_does_not_call_stateful_functions() {
    let l = compile(r#""x" OR count() > 100"#);
    let mut st = l.new_state();
    let t = MapScope::new(0).with_field("x", true);
    let f = MapScope::new(0).with_field("x", false);
    for _ in 0..3 {
        assert_eq!(l.eval(&mut st, &t), Ok(Value::Bool(true)));
    }
    // count() was never called while "x" was true: this is its first call.
    let l2 = compile(r#""x" OR count() == 1"#);
    let mut st2 = l2.new_state();
    for _ in 0..3 {
        l2.eval(&mut st2, &t).unwrap();
    }
    assert_eq!(l2.eval(&mut st2, &f), Ok(Value::Bool(true)));
    assert_eq!(l2.eval(&mut st2, &f), Ok(Value::Bool(false)));

    let l = compile(r#""x" AND sigma("v") > 1.0"#);
    let mut st = l.new_state();
    // A missing "v" on the right is no error while "x" is false.
    assert_eq!(l.eval(&mut st, &f), Ok(Value::Bool(false)));
}

#[test]
fn stateful_functions_share_state_per_name_within_an_expression() {
    // Kapacitor keeps one instance per function name per expression.
    let l = compile("count() + count()");
    let mut st = l.new_state();
    let s = scope();
    assert_eq!(l.eval(&mut st, &s), Ok(Value::Int(3)));
    assert_eq!(l.eval(&mut st, &s), Ok(Value::Int(7)));
    // Two lambdas never share.
    let other = compile("count() + count()");
    assert_eq!(other.eval(&mut other.new_state(), &s), Ok(Value::Int(3)));
}

#[test]
fn if_calls_stateful_functions_in_both_branches() {
    let l = compile(r#"if("b", count(), count() * 100)"#);
    let mut st = l.new_state();
    let s = scope();
    assert_eq!(l.eval(&mut st, &s), Ok(Value::Int(1)));
    assert_eq!(l.eval(&mut st, &s), Ok(Value::Int(3)));
}

#[test]
fn a_foreign_state_is_replaced_not_a_panic() {
    let l = compile("count()");
    let mut st = compile(r#"sigma("x") + spread("x")"#).new_state();
    assert_eq!(l.eval(&mut st, &scope()), Ok(Value::Int(1)));
    let mut empty = LambdaState::default();
    assert_eq!(l.eval(&mut empty, &scope()), Ok(Value::Int(1)));
    // Stateless lambdas have an empty state.
    assert_eq!(compile("1 + 1").new_state(), LambdaState::default());
}
