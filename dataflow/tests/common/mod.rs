//! Helpers shared by the `lambda_*` integration tests.
#![allow(dead_code)]

use kap_dataflow::lambda::{
    CompileOptions, CompiledLambda, EvalError, FixedClock, MapScope, TimeZone, Value,
};
use kap_dsl::expr::{BinaryOp, Expr, UnaryOp};
use std::sync::Arc;

/// 2021-03-04T05:06:07.000000008Z, a Thursday.
pub(crate) const T0: i64 = 1_614_834_367_000_000_008;

/// The `now()` of [`opts`]: 2022-01-02T03:04:05Z.
pub(crate) const NOW: i64 = 1_641_092_645_000_000_000;

/// Deterministic options: UTC, a fixed clock at [`NOW`], `rand()` seeded with 42.
pub(crate) fn opts() -> CompileOptions {
    CompileOptions {
        time_zone: TimeZone::Utc,
        clock: Arc::new(FixedClock(NOW)),
        rand_seed: Some(42),
    }
}

/// Parses `src` as the lambda of an eval node with the real front end (so statically
/// ill-typed constants are rejected there: build those with the constructors below).
pub(crate) fn parse(src: &str) -> Expr {
    let script = format!("stream\n    |from()\n    |eval(lambda: {src})\n        .as('x')\n");
    let compiled = kap_dsl::compile_source(&script, &Default::default())
        .unwrap_or_else(|d| panic!("{src}: {d:?}"));
    let plan = serde_json::to_value(&compiled.pipeline).expect("plan serialises");
    let lambda = plan["nodes"][2]["spec"]["Eval"]["lambdas"][0].clone();
    serde_json::from_value(lambda).expect("an Expr")
}

/// Compiles `src` (parsed by [`parse`]) with [`opts`].
pub(crate) fn compile(src: &str) -> CompiledLambda {
    CompiledLambda::compile_with(&parse(src), &opts()).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// The standard scope of the tables: ints `i`=10, `j`=3, `z`=0, `neg`=-7, floats
/// `f`=2.5, `g`=0.5, `fz`=0.0, `nan`=NaN, strings `s`='abc', `t`='abd', bools `b`=true,
/// `c`=false, tags `host`='serverA', `dup` (also a field), time [`T0`].
pub(crate) fn scope() -> MapScope {
    MapScope::new(T0)
        .with_field("i", 10i64)
        .with_field("j", 3i64)
        .with_field("z", 0i64)
        .with_field("neg", -7i64)
        .with_field("f", 2.5)
        .with_field("g", 0.5)
        .with_field("fz", 0.0)
        .with_field("nan", f64::NAN)
        .with_field("s", "abc")
        .with_field("t", "abd")
        .with_field("b", true)
        .with_field("c", false)
        .with_field("dup", 1i64)
        .with_tag("host", "serverA")
        .with_tag("dup", "x")
}

/// Evaluates an expression once against [`scope`] with a fresh state.
pub(crate) fn eval_expr(e: &Expr) -> Result<Value, EvalError> {
    let l = CompiledLambda::compile_with(e, &opts()).unwrap_or_else(|err| panic!("{e}: {err}"));
    l.eval(&mut l.new_state(), &scope())
}

/// Evaluates lambda text once against [`scope`] with a fresh state.
pub(crate) fn eval(src: &str) -> Result<Value, EvalError> {
    eval_expr(&parse(src))
}

/// What a table row expects.
#[derive(Debug)]
pub(crate) enum Want {
    /// This value.
    V(Value),
    /// An error with exactly this text.
    E(&'static str),
}

/// Checks one result against a table row.
pub(crate) fn check(what: &str, got: Result<Value, EvalError>, want: &Want) {
    match (got, want) {
        (Ok(v), Want::V(w)) => {
            let same = v == *w
                || matches!((&v, w), (Value::Float(a), Value::Float(b)) if a.is_nan() && b.is_nan());
            assert!(same, "{what}: got {v:?}, want {w:?}");
        }
        (Err(e), Want::E(w)) => assert_eq!(e.to_string(), *w, "{what}"),
        (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
    }
}

/// Shorthands for building expressions the front end would reject statically.
pub(crate) fn r(name: &str) -> Expr {
    Expr::Ref(name.to_string())
}
pub(crate) fn int(i: i64) -> Expr {
    Expr::Int(i)
}
pub(crate) fn float(f: f64) -> Expr {
    Expr::Float(f)
}
pub(crate) fn string(s: &str) -> Expr {
    Expr::Str(s.to_string())
}
pub(crate) fn dur(ns: i64) -> Expr {
    Expr::Duration(ns)
}
pub(crate) fn boolean(b: bool) -> Expr {
    Expr::Bool(b)
}
pub(crate) fn regex(src: &str) -> Expr {
    Expr::Regex(src.to_string())
}
pub(crate) fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary(op, Box::new(l), Box::new(r))
}
pub(crate) fn un(op: UnaryOp, e: Expr) -> Expr {
    Expr::Unary(op, Box::new(e))
}
pub(crate) fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(name.to_string(), args)
}

/// `Value::String`.
pub(crate) fn vs(s: &str) -> Value {
    Value::string(s)
}

pub(crate) const SEC: i64 = 1_000_000_000;
