//! The builtin functions (features §3.3), family by family, with Go-compatible edge
//! cases; plus compile-time errors.

mod common;

use Want::{E, V};
use common::*;
use kap_dataflow::lambda::{
    AlertContext, CompileError, CompileOptions, CompiledLambda, MapScope, TimeZone, Value, levels,
};
use kap_dsl::expr::Expr;
use kap_dsl::registry::functions::{FUNCTIONS, FuncType};
use std::sync::Arc;

fn run(rows: &[(&str, Want)]) {
    for (src, want) in rows {
        check(src, eval(src), want);
    }
}

fn f(x: f64) -> Want {
    V(Value::Float(x))
}

fn i(x: i64) -> Want {
    V(Value::Int(x))
}

fn b(x: bool) -> Want {
    V(Value::Bool(x))
}

fn s(x: &str) -> Want {
    V(vs(x))
}

fn d(x: i64) -> Want {
    V(Value::Duration(x))
}

#[test]
fn bool_conversion() {
    run(&[
        ("bool('true')", b(true)),
        ("bool('T')", b(true)),
        ("bool('1')", b(true)),
        ("bool('FALSE')", b(false)),
        ("bool('0')", b(false)),
        ("bool(1)", b(true)),
        ("bool(0)", b(false)),
        ("bool(1.0)", b(true)),
        ("bool(0.0)", b(false)),
        ("bool(TRUE)", b(true)),
        (
            "bool('yes')",
            E(r#"bool(): strconv.ParseBool: parsing "yes": invalid syntax"#),
        ),
        (
            "bool(2)",
            E("bool(): cannot convert int 2 to boolean, must be 0 or 1"),
        ),
        (
            "bool(0.5)",
            E("bool(): cannot convert float 0.5 to boolean, must be 0 or 1"),
        ),
    ]);
}

#[test]
fn int_conversion() {
    run(&[
        ("int(2.9)", i(2)),
        ("int(-2.9)", i(-2)),
        ("int('42')", i(42)),
        ("int('+42')", i(42)),
        ("int('-7')", i(-7)),
        ("int(TRUE)", i(1)),
        ("int(FALSE)", i(0)),
        ("int(1s)", i(1_000_000_000)),
        (r#"int("i")"#, i(10)),
        (
            "int('4.2')",
            E(r#"int(): strconv.ParseInt: parsing "4.2": invalid syntax"#),
        ),
        (
            "int(' 1')",
            E(r#"int(): strconv.ParseInt: parsing " 1": invalid syntax"#),
        ),
        (
            "int('99999999999999999999')",
            E(r#"int(): strconv.ParseInt: parsing "99999999999999999999": value out of range"#),
        ),
    ]);
}

#[test]
fn float_conversion() {
    run(&[
        ("float(3)", f(3.0)),
        ("float('1e3')", f(1000.0)),
        ("float('-2.5')", f(-2.5)),
        ("float('Inf')", f(f64::INFINITY)),
        ("float('-infinity')", f(f64::NEG_INFINITY)),
        ("float('NaN')", f(f64::NAN)),
        ("float(FALSE)", f(0.0)),
        ("float(TRUE)", f(1.0)),
        (r#"float("f")"#, f(2.5)),
        (
            "float('x')",
            E(r#"float(): strconv.ParseFloat: parsing "x": invalid syntax"#),
        ),
        (
            "float('')",
            E(r#"float(): strconv.ParseFloat: parsing "": invalid syntax"#),
        ),
        (
            "float('1e400')",
            E(r#"float(): strconv.ParseFloat: parsing "1e400": value out of range"#),
        ),
    ]);
}

#[test]
fn string_conversion() {
    run(&[
        ("string(2.5)", s("2.5")),
        ("string(100.0)", s("100")),
        ("string(0.1 + 0.2)", s("0.30000000000000004")),
        (
            "string(1000000000000000000000.0)",
            s("1000000000000000000000"),
        ),
        ("string(0.000001)", s("0.000001")),
        ("string(-0.5)", s("-0.5")),
        ("string(42)", s("42")),
        ("string(TRUE)", s("true")),
        ("string(FALSE)", s("false")),
        ("string('x')", s("x")),
        ("string(90s)", s("90s")),
        ("string(1h)", s("1h")),
        ("string(2d)", s("2d")),
        ("string(14d)", s("2w")),
        ("string(1500ms)", s("1500ms")),
        ("string(1u)", s("1u")),
        ("string(0s)", s("0s")),
        (r#"string("f" / "fz")"#, s("+Inf")),
        (r#"string("fz" / "fz")"#, s("NaN")),
    ]);
}

#[test]
fn duration_conversion() {
    run(&[
        ("duration('5m')", d(300 * SEC)),
        ("duration('1h30m')", d(5400 * SEC)),
        ("duration('-10s')", d(-10 * SEC)),
        ("duration('100ms')", d(100_000_000)),
        ("duration('3ns')", d(3)),
        ("duration('2w')", d(14 * 86_400 * SEC)),
        ("duration(10s)", d(10 * SEC)),
        ("duration(5, 1m)", d(300 * SEC)),
        ("duration(1.5, 1s)", d(1_500_000_000)),
        (r#"duration("i", 1ms)"#, d(10_000_000)),
        ("duration('5')", E(r#"duration(): invalid duration "5""#)),
        ("duration('5x')", E(r#"duration(): invalid duration "5x""#)),
        (
            "duration('1.5h')",
            E(r#"duration(): invalid duration "1.5h""#),
        ),
    ]);
}

fn close(what: &str, got: Value, want: f64) {
    let Value::Float(x) = got else {
        panic!("{what}: got {got:?}")
    };
    let ok = if want.is_nan() {
        x.is_nan()
    } else if want.is_infinite() || want == 0.0 {
        x == want && x.is_sign_negative() == want.is_sign_negative()
    } else {
        ((x - want) / want).abs() < 1e-14
    };
    assert!(ok, "{what}: got {x:?}, want {want:?}");
}

#[test]
fn math_functions_mirror_go() {
    let rows: &[(&str, f64)] = &[
        ("abs(-2.5)", 2.5),
        ("acos(1.0)", 0.0),
        ("acosh(1.0)", 0.0),
        ("asin(1.0)", std::f64::consts::FRAC_PI_2),
        ("asinh(0.0)", 0.0),
        ("atan(1.0)", std::f64::consts::FRAC_PI_4),
        ("atan2(1.0, -1.0)", 3.0 * std::f64::consts::FRAC_PI_4),
        ("atanh(0.5)", 0.549_306_144_334_054_8),
        ("cbrt(27.0)", 3.0),
        ("ceil(1.2)", 2.0),
        ("ceil(-1.2)", -1.0),
        ("cos(0.0)", 1.0),
        ("cosh(0.0)", 1.0),
        ("erf(1.0)", 0.842_700_792_949_714_9),
        ("erfc(1.0)", 0.157_299_207_050_285_13),
        ("exp(1.0)", std::f64::consts::E),
        ("exp2(10.0)", 1024.0),
        ("expm1(0.0000000001)", 1.000_000_000_05e-10),
        ("floor(-1.2)", -2.0),
        ("gamma(0.5)", 1.772_453_850_905_516),
        ("gamma(5.0)", 24.0),
        ("gamma(-1.0)", f64::NAN),
        ("gamma(0.0)", f64::INFINITY),
        ("hypot(3.0, 4.0)", 5.0),
        ("j0(1.0)", 0.765_197_686_557_966_6),
        ("j1(1.0)", 0.440_050_585_744_933_5),
        ("jn(2, 1.0)", 0.114_903_484_931_900_5),
        ("jn(0, 1.0)", 0.765_197_686_557_966_6),
        ("log(1.0)", 0.0),
        ("log10(1000.0)", 3.0),
        ("log1p(0.0000000001)", 9.999_999_999_5e-11),
        ("log2(8.0)", 3.0),
        ("log(-1.0)", f64::NAN),
        ("log(0.0)", f64::NEG_INFINITY),
        ("logb(8.0)", 3.0),
        ("logb(0.1)", -4.0),
        ("logb(0.0)", f64::NEG_INFINITY),
        ("max(1.0, 2.0)", 2.0),
        ("min(1.0, 2.0)", 1.0),
        ("mod(-7.0, 3.0)", -1.0),
        ("mod(7.0, -3.0)", 1.0),
        ("mod(1.0, 0.0)", f64::NAN),
        ("pow(2.0, 10.0)", 1024.0),
        ("pow(-8.0, 1.0 / 3.0)", f64::NAN),
        ("pow10(2)", 100.0),
        ("pow10(-1)", 0.1),
        ("pow10(-400)", 0.0),
        ("pow10(400)", f64::INFINITY),
        ("sin(0.0)", 0.0),
        ("sinh(0.0)", 0.0),
        ("sqrt(16.0)", 4.0),
        ("sqrt(-1.0)", f64::NAN),
        ("tan(0.0)", 0.0),
        ("tanh(0.0)", 0.0),
        ("trunc(-2.7)", -2.0),
        ("y0(1.0)", 0.088_256_964_215_676_97),
        ("y1(1.0)", -0.781_212_821_300_288_7),
        ("yn(2, 1.0)", -1.650_682_606_816_254_6),
        ("y0(0.0)", f64::NEG_INFINITY),
        (r#"max("f", "nan")"#, f64::NAN),
        (r#"min("nan", "f")"#, f64::NAN),
        (r#"min(-0.0, "fz")"#, -0.0),
        (r#"max(-0.0, "fz")"#, 0.0),
    ];
    for (src, want) in rows {
        close(
            src,
            eval(src).unwrap_or_else(|e| panic!("{src}: {e}")),
            *want,
        );
    }
}

#[test]
fn math_functions_take_floats_only() {
    run(&[
        (
            r#"sqrt("i")"#,
            E("sqrt(): invalid argument types (int), expected sqrt(float) float"),
        ),
        (
            r#"pow("f", "i")"#,
            E("pow(): invalid argument types (float, int), expected pow(float, float) float"),
        ),
        (
            r#"jn("f", "f")"#,
            E("jn(): invalid argument types (float, float), expected jn(int, float) float"),
        ),
        (
            r#"abs("s")"#,
            E("abs(): invalid argument types (string), expected abs(float) float"),
        ),
    ]);
}

#[test]
fn string_functions_follow_go_strings() {
    run(&[
        ("strContains('seafood', 'foo')", b(true)),
        ("strContains('seafood', '')", b(true)),
        ("strContains('seafood', 'bar')", b(false)),
        ("strContainsAny('failure', 'ui')", b(true)),
        ("strContainsAny('foo', '')", b(false)),
        ("strCount('cheese', 'e')", i(3)),
        ("strCount('five', '')", i(5)),
        ("strCount('aaaa', 'aa')", i(2)),
        ("strHasPrefix('Gopher', 'Go')", b(true)),
        ("strHasPrefix('Gopher', '')", b(true)),
        ("strHasSuffix('Amigo', 'go')", b(true)),
        ("strHasSuffix('Amigo', 'Ami')", b(false)),
        ("strIndex('chicken', 'ken')", i(4)),
        ("strIndex('chicken', 'dmr')", i(-1)),
        ("strIndex('héllo', 'l')", i(3)),
        ("strIndexAny('golang', 'y')", i(-1)),
        ("strIndexAny('chicken', 'kmn')", i(4)),
        ("strLastIndex('go gopher', 'go')", i(3)),
        ("strLastIndex('go gopher', '')", i(9)),
        ("strLastIndex('go gopher', 'rodent')", i(-1)),
        ("strLastIndexAny('go gopher', 'go')", i(4)),
        ("strLastIndexAny('go gopher', 'rodent')", i(8)),
        ("strLastIndexAny('go gopher', 'fail')", i(-1)),
        ("strLength('héllo')", i(6)),
        ("strLength('')", i(0)),
        (
            "strReplace('oink oink oink', 'k', 'ky', 2)",
            s("oinky oinky oink"),
        ),
        (
            "strReplace('oink oink oink', 'oink', 'moo', -1)",
            s("moo moo moo"),
        ),
        ("strReplace('oink', 'k', 'ky', 0)", s("oink")),
        ("strReplace('ab', '', 'x', -1)", s("xaxbx")),
        ("strReplace('ab', '', 'x', 2)", s("xaxb")),
        ("strSubstring('abcdef', 1, 3)", s("bc")),
        ("strSubstring('abcdef', 0, 6)", s("abcdef")),
        ("strSubstring('abcdef', 3, 3)", s("")),
        ("strSubstring('héllo', 0, 2)", s("h\u{FFFD}")),
        (
            "strSubstring('abcdef', 2, 7)",
            E("strSubstring(): stop index 7 out of range for start index 2 and string of length 6"),
        ),
        (
            "strSubstring('abcdef', -1, 2)",
            E("strSubstring(): start index -1 out of range for string of length 6"),
        ),
        (
            "strSubstring('abcdef', 4, 2)",
            E("strSubstring(): stop index 2 out of range for start index 4 and string of length 6"),
        ),
        ("strToLower('Gopher ÄÖ')", s("gopher äö")),
        ("strToUpper('Gopher äö')", s("GOPHER ÄÖ")),
        ("strTrim('¡¡¡Hello, Gophers!!!', '!¡')", s("Hello, Gophers")),
        ("strTrim('xx', 'x')", s("")),
        ("strTrim(' a ', '')", s(" a ")),
        (
            "strTrimLeft('¡¡¡Hello, Gophers!!!', '!¡')",
            s("Hello, Gophers!!!"),
        ),
        (
            "strTrimRight('¡¡¡Hello, Gophers!!!', '!¡')",
            s("¡¡¡Hello, Gophers"),
        ),
        ("strTrimPrefix('¡¡¡Hello', '¡¡¡')", s("Hello")),
        ("strTrimPrefix('Hello', 'x')", s("Hello")),
        ("strTrimSuffix('Hello, Gophers', ', Gophers')", s("Hello")),
        (
            "strTrimSpace(' \t\n Hello, Gophers \n\t\r\n')",
            s("Hello, Gophers"),
        ),
        ("strTrimSpace('\u{a0}x\u{85}')", s("x")),
        (r#"strToUpper("host")"#, s("SERVERA")),
        (
            r#"strLength("i")"#,
            E("strLength(): invalid argument types (int), expected strLength(string) int"),
        ),
    ]);
}

#[test]
fn regex_replace_expands_like_go() {
    run(&[
        ("regexReplace(/a(x*)b/, '-ab-axxb-', 'T')", s("-T-T-")),
        ("regexReplace(/a(x*)b/, '-ab-axxb-', '$1')", s("--xx-")),
        ("regexReplace(/a(x*)b/, '-ab-axxb-', '$1W')", s("---")),
        ("regexReplace(/a(x*)b/, '-ab-axxb-', '${1}W')", s("-W-xxW-")),
        ("regexReplace(/a(x*)b/, '-ab-axxb-', '$$')", s("-$-$-")),
        (
            "regexReplace(/(?P<first>\\w+)\\s(?P<last>\\w+)/, 'Jane Doe', '${last}, ${first}')",
            s("Doe, Jane"),
        ),
        ("regexReplace(/^server/, \"host\", 'srv')", s("srvA")),
        ("regexReplace(/nomatch/, 'abc', 'x')", s("abc")),
    ]);
}

#[test]
fn invalid_regex_is_a_compile_error() {
    let err = CompiledLambda::compile(&regex("a(")).unwrap_err();
    assert!(
        matches!(&err, CompileError::InvalidRegex { pattern, .. } if pattern == "a("),
        "{err}"
    );
    assert!(err.to_string().starts_with("invalid regex /a(/: "), "{err}");
}

#[test]
fn time_functions_in_a_fixed_zone() {
    // T0 = 2021-03-04T05:06:07.000000008Z, a Thursday.
    run(&[
        (r#"unixNano("time")"#, i(T0)),
        (r#"minute("time")"#, i(6)),
        (r#"hour("time")"#, i(5)),
        (r#"weekday("time")"#, i(4)),
        (r#"day("time")"#, i(4)),
        (r#"month("time")"#, i(3)),
        (r#"year("time")"#, i(2021)),
        ("unixNano(now())", i(NOW)),
        ("year(now())", i(2022)),
        ("weekday(now())", i(0)), // 2022-01-02 was a Sunday
        (
            r#"hour("i")"#,
            E("hour(): invalid argument types (int), expected hour(time) int"),
        ),
    ]);
    // Six hours west of UTC it is still Wednesday the 3rd, 23:06.
    let opts = CompileOptions {
        time_zone: TimeZone::FixedOffset(-6 * 3600),
        ..opts()
    };
    for (src, want) in [
        (r#"hour("time")"#, 23),
        (r#"day("time")"#, 3),
        (r#"weekday("time")"#, 3),
        (r#"minute("time")"#, 6),
        (r#"unixNano("time")"#, T0),
    ] {
        let l = CompiledLambda::compile_with(&parse(src), &opts).unwrap();
        assert_eq!(
            l.eval(&mut l.new_state(), &scope()),
            Ok(Value::Int(want)),
            "{src}"
        );
    }
    // Before the epoch.
    let l = CompiledLambda::compile_with(&parse(r#"year("time")"#), &common::opts()).unwrap();
    assert_eq!(
        l.eval(&mut l.new_state(), &MapScope::new(-1)),
        Ok(Value::Int(1969))
    );
}

#[test]
fn time_functions_default_to_the_local_zone() {
    use chrono::{Datelike, Local, TimeZone as _, Timelike};
    let local = Local.timestamp_nanos(T0);
    let l = CompiledLambda::compile(&parse(r#"hour("time") * 100 + minute("time")"#)).unwrap();
    let want = i64::from(local.hour() * 100 + local.minute());
    assert_eq!(l.eval(&mut l.new_state(), &scope()), Ok(Value::Int(want)));
    let l = CompiledLambda::compile(&parse(r#"day("time")"#)).unwrap();
    assert_eq!(
        l.eval(&mut l.new_state(), &scope()),
        Ok(Value::Int(i64::from(local.day())))
    );
}

#[test]
fn if_evaluates_both_branches() {
    run(&[
        (r#"if("b", 'yes', 'no')"#, s("yes")),
        (r#"if("c", 1, 2)"#, i(2)),
        (r#"if("i" > 5, "f", 0.0)"#, f(2.5)),
        (r#"if("b", 1s, 2s)"#, d(SEC)),
        (
            r#"if("b", "i", "f")"#,
            E(
                "if(): different return types are not supported - second argument is int and third argument is float",
            ),
        ),
        (
            r#"if("i", 1, 2)"#,
            E("if(): first argument must be a condition with type of boolean - got int"),
        ),
        // The branch not taken is evaluated too: a missing reference there is an error.
        (
            r#"if("b", 1, "nope")"#,
            E(r#"argument 3 of if(): reference value "nope" is missing value"#),
        ),
    ]);
}

#[test]
fn human_bytes_matches_go_humanize() {
    run(&[
        ("humanBytes(82854982)", s("83 MB")),
        ("humanBytes(1200000)", s("1.2 MB")),
        ("humanBytes(1200000.0)", s("1.2 MB")),
        ("humanBytes(0)", s("0 B")),
        ("humanBytes(9)", s("9 B")),
        ("humanBytes(999)", s("999 B")),
        ("humanBytes(1000)", s("1.0 kB")),
        ("humanBytes(1500)", s("1.5 kB")),
        ("humanBytes(82500000)", s("82 MB")), // %.0f rounds half to even
        ("humanBytes(1000000000000000000)", s("1.0 EB")),
        (r#"humanBytes("neg")"#, s("18 EB")), // Go's uint64(-7)
    ]);
}

#[test]
fn alert_identifiers_and_handler_functions() {
    let ctx = AlertContext {
        changed: true,
        level: levels::CRITICAL,
        name: "cpu".into(),
        task_name: "task1".into(),
        duration: 90 * SEC,
    };
    let scope = scope().with_alert(ctx);
    let rows = [
        (call("changed", vec![]), Value::Bool(true)),
        (
            bin(
                kap_dsl::expr::BinaryOp::Eq,
                call("level", vec![]),
                Expr::Ident("CRITICAL".into()),
            ),
            Value::Bool(true),
        ),
        (
            bin(
                kap_dsl::expr::BinaryOp::Greater,
                call("level", vec![]),
                Expr::Ident("WARNING".into()),
            ),
            Value::Bool(true),
        ),
        (call("name", vec![]), vs("cpu")),
        (call("taskName", vec![]), vs("task1")),
        (call("alertDuration", vec![]), Value::Duration(90 * SEC)),
        (Expr::Ident("OK".into()), Value::Int(0)),
        (Expr::Ident("INFO".into()), Value::Int(1)),
    ];
    for (e, want) in rows {
        let l = CompiledLambda::compile_with(&e, &opts()).unwrap();
        assert_eq!(l.eval(&mut l.new_state(), &scope), Ok(want), "{e}");
    }
    // Without an alert context they fail.
    let l = CompiledLambda::compile_with(&call("level", vec![]), &opts()).unwrap();
    assert_eq!(
        l.eval(&mut l.new_state(), &common::scope())
            .unwrap_err()
            .to_string(),
        "level() can only be used in alert handler match expressions"
    );
}

#[test]
fn compile_errors() {
    let cases = [
        (call("nope", vec![]), "undefined function nope()"),
        (call("sigma", vec![]), "`sigma()` takes 1 argument, got 0"),
        (
            call("count", vec![int(1)]),
            "`count()` takes 0 arguments, got 1",
        ),
        (
            call("rand", vec![int(1), int(2)]),
            "`rand()` takes 0 or 1 arguments, got 2",
        ),
        (
            Expr::Ident("BOGUS".into()),
            "undefined identifier BOGUS: only OK, INFO, WARNING and CRITICAL can be used in a lambda",
        ),
        (Expr::Star, "`*` cannot be used in a lambda expression"),
        (
            bin(kap_dsl::expr::BinaryOp::Add, int(1), regex("(")),
            "invalid regex /(/: ",
        ),
    ];
    for (e, want) in cases {
        let err = CompiledLambda::compile(&e).unwrap_err().to_string();
        assert!(err.starts_with(want), "{e}: {err}");
    }
}

/// An argument of the given parameter type.
fn arg_of(t: FuncType) -> Expr {
    match t {
        FuncType::Bool => boolean(true),
        FuncType::Int => int(1),
        FuncType::Float => float(0.5),
        FuncType::String => string("a b"),
        FuncType::Duration => dur(SEC),
        FuncType::Regex => regex("b"),
        FuncType::Time => r("time"),
        FuncType::Any | FuncType::Same => r("i"),
    }
}

#[test]
fn every_registry_function_is_implemented_with_every_signature() {
    let scope = scope().with_alert(AlertContext::default());
    let mut n = 0;
    for def in FUNCTIONS {
        for sig in def.sigs {
            let args: Vec<Expr> = sig.params.iter().map(|t| arg_of(*t)).collect();
            let e = call(def.name, args);
            let l = CompiledLambda::compile_with(&e, &opts())
                .unwrap_or_else(|err| panic!("{e}: {err}"));
            // Values a conversion rejects (`bool(0.5)`) are fine; a type error is not.
            let v = match l.eval(&mut l.new_state(), &scope) {
                Ok(v) => v,
                Err(err) => {
                    let text = err.to_string();
                    assert!(!text.contains("invalid argument types"), "{e}: {text}");
                    n += 1;
                    continue;
                }
            };
            let want = match sig.returns {
                FuncType::Same => "int",
                FuncType::Bool => "boolean",
                t => t.name(),
            };
            assert_eq!(v.type_name(), want, "{e}");
            n += 1;
        }
    }
    assert!(n > 90, "{n} signatures");
}

#[test]
fn compiled_lambdas_are_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledLambda>();
    assert_send_sync::<kap_dataflow::lambda::LambdaState>();
    let l = Arc::new(compile(r#""i" > 1"#));
    assert_eq!(l.to_string(), r#""i" > 1"#);
}
