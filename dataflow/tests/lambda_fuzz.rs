//! Random expressions (a small deterministic generator, no proptest): compiling and
//! evaluating never panics, and constant folding never changes a result.

mod common;

use kap_dataflow::lambda::{AlertContext, CompiledLambda, MapScope, Value};
use kap_dsl::expr::{BinaryOp, Expr, UnaryOp};
use kap_dsl::registry::functions::FUNCTIONS;
use std::sync::Arc;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const OPS: &[BinaryOp] = &[
    BinaryOp::Or,
    BinaryOp::And,
    BinaryOp::Eq,
    BinaryOp::NotEq,
    BinaryOp::RegexMatch,
    BinaryOp::RegexNotMatch,
    BinaryOp::Less,
    BinaryOp::LessEq,
    BinaryOp::Greater,
    BinaryOp::GreaterEq,
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Mod,
];

const REFS: &[&str] = &[
    "i", "f", "s", "b", "host", "time", "nope", "dup", "neg", "z",
];

fn leaf(rng: &mut Rng) -> Expr {
    match rng.below(9) {
        0 => Expr::Int(*rng.pick(&[0, 1, -1, 2, 7, i64::MIN, i64::MAX])),
        1 => Expr::Float(*rng.pick(&[0.0, -0.0, 0.5, 1.0, -2.5, 1e300, f64::NAN, f64::INFINITY])),
        2 => Expr::Bool(rng.below(2) == 0),
        3 => Expr::Str(
            rng.pick(&["", "a", "abc", "é", "5m", "true", "12", " x "])
                .to_string(),
        ),
        4 => Expr::Duration(*rng.pick(&[0, 1, 1_000_000_000, -60_000_000_000, i64::MAX])),
        5 => Expr::Regex(rng.pick(&["a", "^b", "(x*)", "(?P<n>.)"]).to_string()),
        6 => Expr::Ident(rng.pick(&["OK", "CRITICAL"]).to_string()),
        _ => Expr::Ref(rng.pick(REFS).to_string()),
    }
}

fn expr(rng: &mut Rng, depth: usize) -> Expr {
    if depth == 0 {
        return leaf(rng);
    }
    match rng.below(6) {
        0 => leaf(rng),
        1 => Expr::Unary(
            if rng.below(2) == 0 {
                UnaryOp::Neg
            } else {
                UnaryOp::Not
            },
            Box::new(expr(rng, depth - 1)),
        ),
        2 | 3 => Expr::Binary(
            *rng.pick(OPS),
            Box::new(expr(rng, depth - 1)),
            Box::new(expr(rng, depth - 1)),
        ),
        _ => {
            let def = rng.pick(FUNCTIONS);
            let sig = rng.pick(def.sigs);
            let n = if rng.below(10) == 0 {
                rng.below(5)
            } else {
                sig.params.len()
            };
            let args = (0..n).map(|_| expr(rng, depth - 1)).collect();
            Expr::Call(def.name.to_string(), args)
        }
    }
}

fn scope() -> MapScope {
    MapScope::new(common::T0)
        .with_field("i", 10i64)
        .with_field("f", 2.5)
        .with_field("s", "abc")
        .with_field("b", true)
        .with_field("neg", -7i64)
        .with_field("z", 0i64)
        .with_field("dup", 1i64)
        .with_tag("dup", "x")
        .with_tag("host", "serverA")
        .with_alert(AlertContext::default())
}

/// Replaces every literal by a reference to a field holding it, so nothing folds.
fn unfold(e: &Expr, scope: &mut MapScope, n: &mut usize) -> Expr {
    let mut lit = |v: Value, scope: &mut MapScope| {
        *n += 1;
        let name = format!("lit{n}");
        scope.fields.insert(name.clone(), v);
        Expr::Ref(name)
    };
    match e {
        Expr::Int(i) => lit(Value::Int(*i), scope),
        Expr::Float(f) => lit(Value::Float(*f), scope),
        Expr::Bool(b) => lit(Value::Bool(*b), scope),
        Expr::Str(s) => lit(Value::string(s), scope),
        Expr::Duration(d) => lit(Value::Duration(*d), scope),
        Expr::Regex(r) => match regex::Regex::new(r) {
            Ok(re) => lit(Value::Regex(Arc::new(re)), scope),
            Err(_) => e.clone(),
        },
        Expr::Unary(op, x) => Expr::Unary(*op, Box::new(unfold(x, scope, n))),
        Expr::Binary(op, l, r) => {
            let l = unfold(l, scope, n);
            let r = unfold(r, scope, n);
            Expr::Binary(*op, Box::new(l), Box::new(r))
        }
        // isPresent of a literal differs from isPresent of a reference by design.
        Expr::Call(name, _) if name == "isPresent" => e.clone(),
        Expr::Call(name, args) => Expr::Call(
            name.clone(),
            args.iter().map(|a| unfold(a, scope, n)).collect(),
        ),
        _ => e.clone(),
    }
}

fn same(a: &Result<Value, String>, b: &Result<Value, String>) -> bool {
    match (a, b) {
        (Ok(Value::Float(x)), Ok(Value::Float(y))) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

#[test]
fn random_expressions_never_panic_and_folding_is_transparent() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut compiled, mut ok, mut folded) = (0, 0, 0);
    for _ in 0..8_000 {
        let e = expr(&mut rng, 4);
        let Ok(l) = CompiledLambda::compile_with(&e, &common::opts()) else {
            continue;
        };
        compiled += 1;
        let base = scope();
        let mut st = l.new_state();
        let got = l.eval(&mut st, &base).map_err(|e| e.to_string());
        ok += usize::from(got.is_ok());
        let _ = l.eval_bool(&mut st, &base);

        // Stateful, random and clock-dependent expressions are compared only for panics.
        let text = e.to_string();
        if ["count", "sigma", "spread", "rand", "now"]
            .iter()
            .any(|f| text.contains(&format!("{f}(")))
        {
            continue;
        }
        let mut s2 = base.clone();
        let mut n = 0;
        let e2 = unfold(&e, &mut s2, &mut n);
        let l2 = CompiledLambda::compile_with(&e2, &common::opts()).unwrap();
        let got2 = l2.eval(&mut l2.new_state(), &s2).map_err(|e| e.to_string());
        if l.constant().is_some() {
            folded += 1;
        }
        // Missing-value errors name the synthetic references, and the left/right
        // reference errors differ; everything else must match exactly.
        let names_differ = |r: &Result<Value, String>| {
            r.as_ref()
                .err()
                .is_some_and(|m| m.contains("reference value"))
        };
        if !names_differ(&got) && !names_differ(&got2) {
            assert!(
                same(&got, &got2),
                "{e}\n folded: {got:?}\n unfolded: {got2:?}"
            );
        }
    }
    eprintln!("{compiled} compiled, {ok} evaluated, {folded} folded");
    assert!(compiled > 4_000, "{compiled}");
    assert!(ok > 500, "{ok}");
    assert!(folded > 100, "{folded}");
}
