//! Kapacitor's operator table (semantics §11, features §3.2): every allowed combination
//! and every error case, evaluated against fields so the front end's static checks do not
//! intervene.

mod common;

use Want::{E, V};
use common::*;
use kap_dataflow::lambda::{CompiledLambda, EvalError, MapScope, Side, Value};
use kap_dsl::expr::{BinaryOp as B, UnaryOp as U};

const MISMATCH: &str = ". see bool(), int(), float(), string(), duration()";

fn run(rows: &[(&str, Want)]) {
    for (src, want) in rows {
        check(src, eval(src), want);
    }
}

#[test]
fn int_arithmetic() {
    run(&[
        (r#""i" + "j""#, V(Value::Int(13))),
        (r#""i" - "j""#, V(Value::Int(7))),
        (r#""i" * "j""#, V(Value::Int(30))),
        (r#""i" / "j""#, V(Value::Int(3))),
        (r#""neg" / "j""#, V(Value::Int(-2))), // Go truncates toward zero
        (r#""neg" % "j""#, V(Value::Int(-1))), // sign of the dividend
        (r#""i" % "j""#, V(Value::Int(1))),
        (r#""i" / "z""#, E("integer divide by zero")),
        (r#""i" % "z""#, E("integer divide by zero")),
        (
            r#""i" * 922337203685477581"#,
            V(Value::Int(-9223372036854775806)),
        ), // wraps as in Go
    ]);
    // MIN / -1 wraps in Go instead of trapping.
    check(
        "min/-1",
        eval_expr(&bin(B::Div, int(i64::MIN), un(U::Neg, int(1)))),
        &V(Value::Int(i64::MIN)),
    );
}

#[test]
fn float_arithmetic() {
    run(&[
        (r#""f" + "g""#, V(Value::Float(3.0))),
        (r#""f" - "g""#, V(Value::Float(2.0))),
        (r#""f" * "g""#, V(Value::Float(1.25))),
        (r#""f" / "g""#, V(Value::Float(5.0))),
        (r#""f" / "fz""#, V(Value::Float(f64::INFINITY))),
        (r#""fz" / "fz""#, V(Value::Float(f64::NAN))),
        (
            r#""f" % "g""#,
            E("invalid binary operator % for type float"),
        ),
    ]);
}

#[test]
fn int_with_float_is_an_error() {
    for op in ["+", "-", "*", "/"] {
        let want = format!("mismatched type to binary operator. got int {op} float{MISMATCH}");
        assert_eq!(
            eval(&format!(r#""i" {op} "f""#)).unwrap_err().to_string(),
            want
        );
        let want = format!("mismatched type to binary operator. got float {op} int{MISMATCH}");
        assert_eq!(
            eval(&format!(r#""f" {op} "i""#)).unwrap_err().to_string(),
            want
        );
    }
    assert_eq!(
        eval(r#""i" % "f""#).unwrap_err().to_string(),
        format!("mismatched type to binary operator. got int % float{MISMATCH}")
    );
}

#[test]
fn string_operators() {
    run(&[
        (r#""s" + "t""#, V(vs("abcabd"))),
        (r#""s" + '-' + "host""#, V(vs("abc-serverA"))),
        (r#""s" < "t""#, V(Value::Bool(true))),
        (r#""s" <= "s""#, V(Value::Bool(true))),
        (r#""s" > "t""#, V(Value::Bool(false))),
        (r#""t" >= "s""#, V(Value::Bool(true))),
        (r#""s" == 'abc'"#, V(Value::Bool(true))),
        (r#""s" != 'abc'"#, V(Value::Bool(false))),
        (r#"'B' < 'a'"#, V(Value::Bool(true))), // byte-wise
        (
            r#""s" - "t""#,
            E("invalid binary operator - for type string"),
        ),
        (
            r#""s" * "t""#,
            E("invalid binary operator * for type string"),
        ),
        (
            r#""s" + "i""#,
            E(
                "mismatched type to binary operator. got string + int. see bool(), int(), float(), string(), duration()",
            ),
        ),
        (
            r#""s" == "i""#,
            E(
                "mismatched type to binary operator. got string == int. see bool(), int(), float(), string(), duration()",
            ),
        ),
        (
            r#""s" < "f""#,
            E(
                "mismatched type to binary operator. got string < float. see bool(), int(), float(), string(), duration()",
            ),
        ),
    ]);
}

#[test]
fn duration_operators() {
    let s = SEC;
    let rows = [
        (
            bin(B::Add, dur(10 * s), dur(5 * s)),
            V(Value::Duration(15 * s)),
        ),
        (
            bin(B::Sub, dur(10 * s), dur(15 * s)),
            V(Value::Duration(-5 * s)),
        ),
        (bin(B::Mul, dur(10 * s), int(3)), V(Value::Duration(30 * s))),
        (bin(B::Mul, int(3), dur(10 * s)), V(Value::Duration(30 * s))),
        (
            bin(B::Mul, dur(10 * s), float(1.5)),
            V(Value::Duration(15 * s)),
        ),
        (
            bin(B::Mul, float(0.5), dur(10 * s)),
            V(Value::Duration(5 * s)),
        ),
        (
            bin(B::Div, dur(10 * s), int(4)),
            V(Value::Duration(2_500_000_000)),
        ),
        (
            bin(B::Div, dur(10 * s), float(0.5)),
            V(Value::Duration(20 * s)),
        ),
        (bin(B::Div, dur(10 * s), dur(3 * s)), V(Value::Int(3))),
        (
            bin(B::Div, dur(10 * s), int(0)),
            E("integer divide by zero"),
        ),
        (
            bin(B::Div, dur(10 * s), dur(0)),
            E("integer divide by zero"),
        ),
        (bin(B::Less, dur(s), dur(2 * s)), V(Value::Bool(true))),
        (bin(B::GreaterEq, dur(s), dur(2 * s)), V(Value::Bool(false))),
        (bin(B::Eq, dur(s), dur(s)), V(Value::Bool(true))),
        (
            bin(B::Mod, dur(s), dur(s)),
            E("invalid binary operator % for type duration"),
        ),
        (
            bin(B::Add, dur(s), int(1)),
            E(
                "mismatched type to binary operator. got duration + int. see bool(), int(), float(), string(), duration()",
            ),
        ),
        (
            bin(B::Div, int(1), dur(s)),
            E(
                "mismatched type to binary operator. got int / duration. see bool(), int(), float(), string(), duration()",
            ),
        ),
        (
            bin(B::Less, dur(s), int(1)),
            E(
                "mismatched type to binary operator. got duration < int. see bool(), int(), float(), string(), duration()",
            ),
        ),
    ];
    for (e, want) in rows {
        check(&e.to_string(), eval_expr(&e), &want);
    }
}

#[test]
fn numeric_comparisons_mix_int_and_float() {
    run(&[
        (r#""i" > "f""#, V(Value::Bool(true))),
        (r#""f" < "i""#, V(Value::Bool(true))),
        (r#""i" == 10.0"#, V(Value::Bool(true))),
        (r#""i" != 10.0"#, V(Value::Bool(false))),
        (r#""j" <= 3"#, V(Value::Bool(true))),
        (r#""j" >= 3.5"#, V(Value::Bool(false))),
        (r#""f" == 2.5"#, V(Value::Bool(true))),
        // NaN is unequal to everything and unordered.
        (r#""nan" == "nan""#, V(Value::Bool(false))),
        (r#""nan" != "nan""#, V(Value::Bool(true))),
        (r#""nan" < 1.0"#, V(Value::Bool(false))),
        (r#""nan" >= 1.0"#, V(Value::Bool(false))),
    ]);
}

#[test]
fn bool_operators() {
    run(&[
        (r#""b" == TRUE"#, V(Value::Bool(true))),
        (r#""b" != "c""#, V(Value::Bool(true))),
        (r#""b" AND "c""#, V(Value::Bool(false))),
        (r#""b" OR "c""#, V(Value::Bool(true))),
        (r#""c" OR "c""#, V(Value::Bool(false))),
        (r#""b" AND "b""#, V(Value::Bool(true))),
        (r#"!"b""#, V(Value::Bool(false))),
        (r#"!("i" > 5)"#, V(Value::Bool(false))),
        (
            r#""b" < "c""#,
            E("invalid binary operator < for type boolean"),
        ),
        (
            r#""b" + "c""#,
            E("invalid binary operator + for type boolean"),
        ),
        (
            r#""b" == "i""#,
            E(
                "mismatched type to binary operator. got boolean == int. see bool(), int(), float(), string(), duration()",
            ),
        ),
        (
            r#""i" AND "b""#,
            E("invalid binary operator AND for type int"),
        ),
        (
            r#""b" AND "i""#,
            E(
                "mismatched type to binary operator. got boolean AND int. see bool(), int(), float(), string(), duration()",
            ),
        ),
        (
            r#""s" OR "b""#,
            E("invalid binary operator OR for type string"),
        ),
    ]);
}

#[test]
fn regex_operators() {
    run(&[
        (r#""host" =~ /^server/"#, V(Value::Bool(true))),
        (r#""host" =~ /A$/"#, V(Value::Bool(true))),
        (r#""host" !~ /^server/"#, V(Value::Bool(false))),
        (r#""s" !~ /x/"#, V(Value::Bool(true))),
        (r#""s" =~ /(?i)ABC/"#, V(Value::Bool(true))),
        (
            r#""i" =~ /1/"#,
            E(
                "mismatched type to binary operator. got int =~ regex. see bool(), int(), float(), string(), duration()",
            ),
        ),
    ]);
    check(
        "string =~ string",
        eval_expr(&bin(B::RegexMatch, r("s"), string("a"))),
        &E("invalid binary operator =~ for type string"),
    );
    check(
        "regex == regex",
        eval_expr(&bin(B::Eq, regex("a"), r("s"))),
        &E(
            "mismatched type to binary operator. got regex == string. see bool(), int(), float(), string(), duration()",
        ),
    );
}

#[test]
fn unary_operators() {
    run(&[
        (r#"-"i""#, V(Value::Int(-10))),
        (r#"-"f""#, V(Value::Float(-2.5))),
        (r#"-"s""#, E("invalid unary operator - for type string")),
        (r#"!"i""#, E("invalid unary operator ! for type int")),
        (
            r#"-"missing""#,
            E(r#"reference value "missing" is missing value"#),
        ),
    ]);
    check(
        "-dur",
        eval_expr(&un(U::Neg, dur(SEC))),
        &V(Value::Duration(-SEC)),
    );
    check(
        "-bool",
        eval_expr(&un(U::Neg, boolean(true))),
        &E("invalid unary operator - for type boolean"),
    );
}

#[test]
fn precedence_follows_the_parser() {
    run(&[
        (r#""i" + "j" * 2"#, V(Value::Int(16))),
        (r#"("i" + "j") * 2"#, V(Value::Int(26))),
        (r#""i" - "j" - 1"#, V(Value::Int(6))),
        (r#""i" > 5 AND "j" < 5 OR "c""#, V(Value::Bool(true))),
    ]);
}

#[test]
fn missing_references_are_errors_naming_them() {
    run(&[
        (
            r#""nope" > 1"#,
            E(r#"left reference value "nope" is missing value"#),
        ),
        (
            r#"1 < "nope""#,
            E(r#"right reference value "nope" is missing value"#),
        ),
        (
            r#""nope" + "other""#,
            E(r#"left reference value "nope" is missing value"#),
        ),
        (
            r#""i" + "nope""#,
            E(r#"right reference value "nope" is missing value"#),
        ),
        (
            r#""nope" AND "b""#,
            E(r#"left reference value "nope" is missing value"#),
        ),
        (
            r#""b" AND "nope""#,
            E(r#"right reference value "nope" is missing value"#),
        ),
        (r#""nope""#, E(r#"reference value "nope" is missing value"#)),
        (
            r#"sigma("nope")"#,
            E(r#"argument 1 of sigma(): reference value "nope" is missing value"#),
        ),
        (
            r#"strContains('x', "nope")"#,
            E(r#"argument 2 of strContains(): reference value "nope" is missing value"#),
        ),
    ]);
    let err = eval(r#""nope" > 1"#).unwrap_err();
    assert_eq!(
        err,
        EvalError::MissingOperand {
            side: Side::Left,
            name: "nope".into()
        }
    );
}

#[test]
fn is_present_tests_fields_and_tags() {
    run(&[
        (r#"isPresent("i")"#, V(Value::Bool(true))),
        (r#"isPresent("host")"#, V(Value::Bool(true))),
        (r#"isPresent("nope")"#, V(Value::Bool(false))),
        (r#"isPresent("time")"#, V(Value::Bool(true))),
        (r#"!isPresent("nope") OR "nope" > 1"#, V(Value::Bool(true))),
        (r#"isPresent("nope") AND "nope" > 1"#, V(Value::Bool(false))),
        (
            r#"isPresent("dup")"#,
            E(r#"cannot have field and tags with same name "dup""#),
        ),
    ]);
}

#[test]
fn short_circuit_skips_the_right_side() {
    run(&[
        (r#""c" AND "nope" > 1"#, V(Value::Bool(false))),
        (r#""b" OR "nope" > 1"#, V(Value::Bool(true))),
        (r#""c" AND "i" / "z" > 1"#, V(Value::Bool(false))),
        (r#""b" OR "s""#, V(Value::Bool(true))), // right side type never checked
        (
            r#""b" AND "nope" > 1"#,
            E(r#"left reference value "nope" is missing value"#),
        ),
    ]);
}

#[test]
fn field_and_tag_with_the_same_name_is_an_error() {
    check(
        "dup",
        eval(r#""dup" == 1"#),
        &E(r#"cannot have field and tags with same name "dup""#),
    );
}

#[test]
fn time_reference_is_the_point_time() {
    check("time", eval(r#"unixNano("time")"#), &V(Value::Int(T0)));
    check("time value", eval(r#""time""#), &V(Value::Time(T0)));
    // A field named time does not shadow the point time (Kapacitor's fillScope).
    let l = compile(r#"unixNano("time")"#);
    let s = MapScope::new(5).with_field("time", 7i64);
    assert_eq!(l.eval(&mut l.new_state(), &s), Ok(Value::Int(5)));
    assert!(l.references().is_empty());
    // Times compare with times.
    check("time cmp", eval(r#""time" < now()"#), &V(Value::Bool(true)));
    assert_eq!(
        eval_expr(&bin(B::Add, r("time"), dur(SEC)))
            .unwrap_err()
            .to_string(),
        format!("mismatched type to binary operator. got time + duration{MISMATCH}")
    );
}

#[test]
fn eval_bool_rejects_non_bool_results() {
    let l = compile(r#""i" + 1"#);
    let err = l.eval_bool(&mut l.new_state(), &scope()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "expression returned unexpected type int, expected boolean"
    );
    let l = compile(r#""i" > 1"#);
    assert_eq!(l.eval_bool(&mut l.new_state(), &scope()), Ok(true));
}

#[test]
fn constants_fold_but_failing_constants_fail_per_point() {
    let l = CompiledLambda::compile_with(&parse("1 + 2 * 3"), &opts()).unwrap();
    assert_eq!(l.constant(), Some(&Value::Int(7)));
    let l = CompiledLambda::compile_with(&parse(r#"strToUpper('a') + "s""#), &opts()).unwrap();
    assert_eq!(l.constant(), None);
    assert_eq!(l.eval(&mut l.new_state(), &scope()), Ok(vs("Aabc")));
    let e = bin(B::Div, int(1), int(0));
    let l = CompiledLambda::compile_with(&e, &opts()).unwrap();
    assert_eq!(l.constant(), None);
    assert_eq!(
        l.eval(&mut l.new_state(), &scope()),
        Err(EvalError::DivideByZero)
    );
    // now() and stateful functions are never folded.
    assert_eq!(compile("count() > 0").constant(), None);
    assert_eq!(compile("unixNano(now())").constant(), None);
}

#[test]
fn references_are_listed_once_in_order() {
    let l = compile(r#""b" AND "host" == 'x' OR "i" > 1 AND "host" != 'y' AND "time" < now()"#);
    let refs: Vec<&str> = l.references().iter().map(|r| &**r).collect();
    assert_eq!(refs, ["b", "host", "i"]);
}

/// `"ref" op constant` takes a shorter path than other comparisons: it must give exactly
/// what the same comparison against a reference holding the constant gives, whatever the
/// reference resolves to (field, tag, nothing, both), in any scope.
#[test]
fn a_reference_compared_with_a_constant_resolves_as_any_operand_does() {
    let scopes = [
        MapScope::new(0).with_field("x", 5i64),
        MapScope::new(0).with_field("x", 0.5),
        MapScope::new(0).with_tag("x", "a"),
        MapScope::new(0),
        MapScope::new(0).with_field("x", 5i64).with_tag("x", "a"),
    ];
    for (c, c_ref) in [(int(1), "ci"), (float(1.0), "cf"), (string("a"), "cs")] {
        for op in [B::Greater, B::Eq, B::NotEq, B::Add] {
            let fast = CompiledLambda::compile(&bin(op, r("x"), c.clone())).unwrap();
            let general = CompiledLambda::compile(&bin(op, r("x"), r(c_ref))).unwrap();
            for scope in &scopes {
                let scope = scope
                    .clone()
                    .with_field("ci", 1i64)
                    .with_field("cf", 1.0)
                    .with_field("cs", "a");
                let got = fast.eval(&mut fast.new_state(), &scope);
                let want = general.eval(&mut general.new_state(), &scope);
                assert_eq!(
                    got.as_ref().map_err(ToString::to_string),
                    want.as_ref().map_err(ToString::to_string),
                    "{op:?} {c_ref} in {scope:?}"
                );
            }
        }
    }
}
