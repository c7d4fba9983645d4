//! tickfmt rules, one test each (Kapacitor `tick/fmt.go`; `kapacitor-semantics.md` §12).

use kap_dsl::format::{format_program, format_script};
use kap_dsl::parse;

fn fmt(src: &str) -> String {
    let out = format_script(src).unwrap_or_else(|d| panic!("{src}: {d:?}"));
    // Every formatted script is a fixed point and keeps its syntax tree.
    assert_eq!(
        format_script(&out).as_deref(),
        Ok(out.as_str()),
        "not idempotent: {out}"
    );
    out
}

#[test]
fn worked_example_from_semantics_12() {
    let src = "stream|from().measurement('cpu')|window().period(10s).every(10s)|mean('usage_idle')\n// alert\n  .as('m')|alert().crit(lambda:\"m\"<10.0 AND \"host\"=='a')\n";
    let want = "stream
    |from()
        .measurement('cpu')
    |window()
        .period(10s)
        .every(10s)
    |mean('usage_idle')
        // alert
        .as('m')
    |alert()
        .crit(lambda: \"m\" < 10.0 AND \"host\" == 'a')
";
    assert_eq!(fmt(src), want);
}

#[test]
fn statements_are_separated_by_one_blank_line() {
    assert_eq!(
        fmt("\n\ndbrp \"db\".\"rp\"\nvar   x   =   5\n\n\n\nvar y duration\nstream|from()"),
        "dbrp \"db\".\"rp\"\n\nvar x = 5\n\nvar y duration\n\nstream\n    |from()\n"
    );
    assert_eq!(fmt(""), "");
}

#[test]
fn chains_in_var_declarations_indent_from_the_statement() {
    assert_eq!(
        fmt("var data = batch|query('select 1').period(10s)\ndata@udf().opt(1)|httpOut('x')"),
        "var data = batch\n    |query('select 1')\n        .period(10s)\n\ndata\n    @udf()\n        .opt(1)\n    |httpOut('x')\n"
    );
}

#[test]
fn property_without_parentheses_is_kept() {
    assert_eq!(
        fmt("stream|from().quiet"),
        "stream\n    |from()\n        .quiet\n"
    );
}

#[test]
fn multiline_calls_print_one_argument_per_line() {
    let src = "stream|eval(lambda: \"a\" * 2,\n   lambda: \"b\")\n.as('a',\n'b')|groupBy('x', 'y')";
    let want = "stream
    |eval(
        lambda: \"a\" * 2,
        lambda: \"b\"
    )
        .as(
            'a',
            'b'
        )
    |groupBy('x', 'y')
";
    assert_eq!(fmt(src), want);
    // A newline only before the closing parenthesis does not make a call multi-line, nor does
    // a multi-line triple-quoted string starting on the call's line.
    assert_eq!(fmt("f('a'\n)"), "f('a')\n");
    assert_eq!(
        fmt("batch|query('''\nSELECT 1\n''')"),
        "batch\n    |query('''\nSELECT 1\n''')\n"
    );
}

#[test]
fn multiline_binary_breaks_after_the_operator() {
    let src = "stream|where(lambda: \"a\" > 1\n  AND \"b\" < 2)";
    assert_eq!(
        fmt(src),
        "stream\n    |where(lambda: \"a\" > 1 AND\n        \"b\" < 2)\n"
    );
    assert_eq!(fmt("var x = 1 +\n2"), "var x = 1 +\n2\n");
}

#[test]
fn parentheses_are_kept_where_written() {
    assert_eq!(fmt("var x = (1+2)*3"), "var x = (1 + 2) * 3\n");
    assert_eq!(fmt("var x = 1+(2*3)"), "var x = 1 + (2 * 3)\n");
    assert_eq!(fmt("var x = -(1)"), "var x = -(1)\n");
    assert_eq!(fmt("var x = !TRUE"), "var x = !TRUE\n");
}

#[test]
fn literals() {
    assert_eq!(fmt("var a = 017"), "var a = 017\n");
    assert_eq!(fmt("var a = 00"), "var a = 00\n");
    assert_eq!(fmt("var a = 1."), "var a = 1.0\n");
    assert_eq!(fmt("var a = .50"), "var a = 0.5\n");
    assert_eq!(fmt("var a = 2.50000"), "var a = 2.5\n");
    assert_eq!(
        fmt("var a = 1000000000000000000000.00"),
        "var a = 1000000000000000000000.0\n"
    );
    assert_eq!(fmt("var a = 0.000001"), "var a = 0.000001\n");
}

#[test]
fn more_literals() {
    assert_eq!(fmt("var a = 60s"), "var a = 60s\n");
    assert_eq!(fmt("var a = 1500ms"), "var a = 1500ms\n");
    assert_eq!(fmt("var a = 'it\\'s'"), "var a = 'it\\'s'\n");
    assert_eq!(fmt("var a = 'a\\nb'"), "var a = 'a\\nb'\n");
    assert_eq!(
        fmt("var a = '''it's\n raw\\'''"),
        "var a = '''it's\n raw\\'''\n"
    );
    assert_eq!(fmt("var a = \"x\\\"y\""), "var a = \"x\\\"y\"\n");
    assert_eq!(fmt("var a = /a\\/b.*/"), "var a = /a\\/b.*/\n");
    assert_eq!(
        fmt("var a = TRUE\nvar b = FALSE"),
        "var a = TRUE\n\nvar b = FALSE\n"
    );
    assert_eq!(fmt("var a = [ 'a' ,b,* ]"), "var a = ['a', b, *]\n");
    assert_eq!(fmt("var a = []"), "var a = []\n");
    assert_eq!(fmt("stream|groupBy(*)"), "stream\n    |groupBy(*)\n");
}

#[test]
fn lambda_and_operators() {
    assert_eq!(
        fmt("var f = lambda:\"a\"=~/x/ OR \"b\"!~/y/ AND \"c\"!=1%2-3/4"),
        "var f = lambda: \"a\" =~ /x/ OR \"b\" !~ /y/ AND \"c\" != 1 % 2 - 3 / 4\n"
    );
    assert_eq!(
        fmt("var f = lambda: sigma(\"v\")>=3"),
        "var f = lambda: sigma(\"v\") >= 3\n"
    );
}

#[test]
fn comments() {
    let src = "//   var comment\n//\nvar x = 1 // trailing\n// above stream\nstream\n  // above from\n  |from()\n// end\n";
    let want = "// var comment\n//\nvar x = 1\n\n// trailing\n// above stream\nstream\n    // above from\n    |from()\n\n// end\n";
    assert_eq!(fmt(src), want);
    assert_eq!(fmt("// only a comment"), "// only a comment\n");
}

#[test]
fn format_program_matches_format_script() {
    let src = "stream|from()";
    let (p, d) = parse(src);
    assert!(d.is_empty());
    assert_eq!(format_program(&p), fmt(src));
}

#[test]
fn format_script_reports_errors() {
    let err = format_script("stream|from(").unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].code, "E0102");
}
