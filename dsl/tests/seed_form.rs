//! The seed form `alert(avg(window(value, 10)), <, 30)` and its TICKscript lowering
//! (decisions.md).

use kap_dsl::format::format_script;
use kap_dsl::seed::{SeedExpr, looks_like_seed, parse_seed, seed_to_tickscript};

fn lower(src: &str) -> String {
    let e = parse_seed(src).unwrap_or_else(|d| panic!("{src}: {d:?}"));
    let frag = seed_to_tickscript(&e).unwrap_or_else(|d| panic!("{src}: {d:?}"));
    // The fragment appended to the caller's source is a tickfmt fixed point.
    let script = format!("stream\n    |from()\n{frag}");
    assert_eq!(
        format_script(&script).as_deref(),
        Ok(script.as_str()),
        "{src}"
    );
    frag
}

fn err(src: &str) -> Vec<String> {
    let r = parse_seed(src).and_then(|e| seed_to_tickscript(&e));
    r.expect_err(src)
        .into_iter()
        .map(|d| d.message + &d.help.map(|h| format!(" ({h})")).unwrap_or_default())
        .collect()
}

#[test]
fn decisions_example() {
    assert_eq!(
        lower("alert(avg(window(value, 10)), <, 30)"),
        "    |window()\n        .periodCount(10)\n        .everyCount(1)\n    |mean('value')\n    |alert()\n        .crit(lambda: \"mean\" < 30)\n"
    );
}

#[test]
fn every_comparison_operator() {
    for op in ["<", "<=", ">", ">=", "==", "!="] {
        assert_eq!(
            lower(&format!("alert(value, {op}, 90)")),
            format!("    |alert()\n        .crit(lambda: \"value\" {op} 90)\n")
        );
    }
}

#[test]
fn thresholds() {
    assert!(lower("alert(value, >, 9.5)").contains("\"value\" > 9.5)"));
    assert!(lower("alert(value, >, -3)").contains("\"value\" > -3)"));
    assert!(lower("alert(value, >, -2.50)").contains("\"value\" > -2.5)"));
    assert!(lower("alert(value, ==, 'ok')").contains("\"value\" == 'ok')"));
}

#[test]
fn time_windows_emit_on_every_point() {
    assert_eq!(
        lower("alert(max(window(cpu, 5m)), >=, 80)"),
        "    |window()\n        .period(5m)\n        .every(0s)\n    |max('cpu')\n    |alert()\n        .crit(lambda: \"max\" >= 80)\n"
    );
}

#[test]
fn aggregates_and_their_output_fields() {
    for (f, out) in [
        ("avg", "mean"),
        ("mean", "mean"),
        ("sum", "sum"),
        ("count", "count"),
        ("min", "min"),
        ("median", "median"),
        ("mode", "mode"),
        ("spread", "spread"),
        ("stddev", "stddev"),
        ("first", "first"),
        ("last", "last"),
        ("distinct", "distinct"),
        ("difference", "difference"),
        ("cumulativeSum", "cumulativeSum"),
    ] {
        let frag = lower(&format!("alert({f}(window(v, 3)), >, 1)"));
        assert!(frag.contains(&format!("    |{out}('v')\n")), "{frag}");
        assert!(frag.contains(&format!("lambda: \"{out}\" > 1")), "{frag}");
    }
    assert!(lower("alert(percentile(window(v, 3), 95), >, 1)").contains(
        "|percentile('v', 95.0)\n    |alert()\n        .crit(lambda: \"percentile\" > 1)"
    ));
    assert!(
        lower("alert(top(window(v, 3), 2), >, 1)")
            .contains("|top(2, 'v')\n    |alert()\n        .crit(lambda: \"top\" > 1)")
    );
    assert!(lower("bottom(window(v, 3), 2)").contains("|bottom(2, 'v')"));
    assert!(lower("movingAverage(v, 4)").contains("|movingAverage('v', 4)"));
    assert!(lower("elapsed(v, 1s)").contains("|elapsed('v', 1s)"));
}

#[test]
fn derivative_keeps_the_field_name() {
    assert_eq!(
        lower("alert(derivative(bytes, 1m), >, 100)"),
        "    |derivative('bytes')\n        .unit(1m)\n    |alert()\n        .crit(lambda: \"bytes\" > 100)\n"
    );
    assert_eq!(lower("derivative(bytes)"), "    |derivative('bytes')\n");
    assert_eq!(
        lower("alert(window(value, 2), <, 1)"),
        "    |window()\n        .periodCount(2)\n        .everyCount(1)\n    |alert()\n        .crit(lambda: \"value\" < 1)\n"
    );
}

#[test]
fn parse_keeps_spans() {
    let Ok(SeedExpr::Call(c)) = parse_seed("// cpu\nalert(avg(window(value, 10)), <, 30)") else {
        panic!()
    };
    assert_eq!(
        (c.span.start.line, c.span.start.column, c.span.end.column),
        (2, 1, 37)
    );
    let SeedExpr::Call(inner) = &c.args[0] else {
        panic!()
    };
    assert_eq!(inner.name.name, "avg");
    assert_eq!(inner.name.span.start.column, 7);
    assert!(matches!(c.args[1], SeedExpr::Op { .. }));
    assert!(matches!(c.args[2], SeedExpr::Int { value: 30, .. }));
}

#[test]
fn detection() {
    assert!(looks_like_seed("alert(avg(window(value, 10)), <, 30)"));
    assert!(looks_like_seed(
        "  // a comment\n  alert(value, >, 90) // trailing\n"
    ));
    assert!(looks_like_seed("avg(window(value, 10))"));
    assert!(!looks_like_seed("stream|from()"));
    assert!(!looks_like_seed("var x = 1"));
    assert!(!looks_like_seed("alert(stream, >, 1)"));
    assert!(!looks_like_seed("alert(x, >, 1) alert(y, <, 2)"));
    assert!(!looks_like_seed("alert(x, >, 1"));
    assert!(!looks_like_seed("frobnicate(x)"));
    assert!(!looks_like_seed(""));
    assert!(!looks_like_seed("batch|query('x')"));
}

#[test]
fn errors() {
    assert_eq!(
        err("alert(avgg(window(value, 10)), <, 30)"),
        vec!["unknown seed function `avgg` (did you mean `avg`?)"]
    );
    assert_eq!(
        err("alert(value, <)"),
        vec!["`alert` takes an input, a comparison operator and a threshold, got 2 argument(s)"]
    );
    assert_eq!(
        err("alert(value, 30, <)"),
        vec![
            "`alert` expects a comparison operator (`<`, `<=`, `>`, `>=`, `==`, `!=`) as its second argument"
        ]
    );
    assert_eq!(
        err("avg(alert(value, <, 1))"),
        vec!["`alert` must be the outermost call of a seed expression"]
    );
    assert_eq!(
        err("window(value, 0)"),
        vec![
            "`window` expects a positive point count or a positive duration as its second argument"
        ]
    );
    assert_eq!(
        err("alert(value, <, 30"),
        vec!["unexpected end of input, expected `,` or `)` in the arguments of `alert`"]
    );
    assert_eq!(
        err("alert(value | x, <, 30)"),
        vec!["unexpected `|`, expected `,` or `)` in the arguments of `alert`"]
    );
    assert_eq!(
        err("alert(value, <, 30) x"),
        vec!["unexpected identifier `x`, expected end of input after the seed call"]
    );
    assert_eq!(
        err("alert(<, <, 30)"),
        vec!["the first argument of `alert` must be a field or a nested call"]
    );
    assert_eq!(
        err("42"),
        vec!["unexpected integer `42`, expected a seed function call such as `alert(...)`"]
    );
    assert_eq!(
        err("alert()"),
        vec!["`alert` needs an input: a field or a nested call"]
    );
    assert!(parse_seed(&format!("{}x{}", "avg(".repeat(1000), ")".repeat(1000))).is_err());
}
