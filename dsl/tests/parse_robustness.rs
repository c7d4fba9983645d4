//! The parser never panics, always terminates, and whatever parses cleanly formats to a
//! script that parses to the same tree (modulo spans) and is a formatting fixed point.

mod format_corpus;

use format_corpus::strip_spans;
use kap_dsl::format::format_program;
use kap_dsl::parse;
use proptest::prelude::*;

const FRAGMENTS: &[&str] = &[
    "stream",
    "batch",
    "var",
    "dbrp",
    "lambda:",
    "lambda",
    "TRUE",
    "FALSE",
    "AND",
    "OR",
    "x",
    "from",
    "window",
    "|",
    ".",
    "@",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "=~",
    "!~",
    "!",
    "+",
    "-",
    "*",
    "/",
    "%",
    ":",
    "1",
    "017",
    "08",
    "1.5",
    ".5",
    "1.",
    "1.2.3",
    "10s",
    "1ms",
    "1.5s",
    "5µ",
    "'a'",
    "'it\\'s'",
    "'''tri\nple'''",
    "''",
    "'",
    "\"ref\"",
    "\"r\\\"ef\"",
    "\"",
    "/re\\/x/",
    "// comment\n",
    "//\n",
    "\n",
    " ",
    "\t",
    "#",
    "µ",
    "é",
    "'''",
    "\\",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40).prop_map(|v| v.join(""))
}

fn spaced_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(FRAGMENTS),
            prop::sample::select(&[" ", "\n", ""][..]),
        ),
        0..40,
    )
    .prop_map(|v| v.into_iter().map(|(a, b)| format!("{a}{b}")).collect())
}

fn check(src: &str) {
    let (prog, diags) = parse(src);
    for d in &diags {
        // Rendering never panics either, and spans stay inside the source.
        assert!(d.span.start.offset <= src.len() && d.span.end.offset <= src.len());
        let _ = d.render("x.tick", src);
    }
    let out = format_program(&prog);
    if diags.is_empty() {
        let (prog2, diags2) = parse(&out);
        assert!(
            diags2.is_empty(),
            "formatted output of {src:?} does not parse: {out:?} {diags2:?}"
        );
        assert_eq!(
            strip_spans(&prog),
            strip_spans(&prog2),
            "tree changed: {src:?} -> {out:?}"
        );
        assert_eq!(format_program(&prog2), out, "not idempotent: {src:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,80}") {
        check(&s);
    }

    #[test]
    fn token_soup_never_panics(s in soup()) {
        check(&s);
    }

    #[test]
    fn spaced_token_soup_never_panics(s in spaced_soup()) {
        check(&s);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let src = format!("var x = {}1{}", "(".repeat(5000), ")".repeat(5000));
    let (_, d) = parse(&src);
    assert!(
        d.iter().any(|d| d.message.contains("nested too deeply")),
        "{d:?}"
    );
    let src = format!("var x = {}1", "-".repeat(5000));
    assert!(!parse(&src).1.is_empty());
    let src = format!("var x = {}", "[".repeat(5000));
    assert!(!parse(&src).1.is_empty());
}

#[test]
fn long_chains_format_without_recursion() {
    let mut src = String::from("stream\n");
    for _ in 0..5000 {
        src.push_str("|log().prefix('x')\n");
    }
    let (p, d) = parse(&src);
    assert!(d.is_empty());
    let out = format_program(&p);
    assert_eq!(out.lines().count(), 10001);
}

#[test]
fn garbage_reports_every_bad_statement() {
    let (p, d) = parse("var = 1\nvar y = 2\nstream|from(\nvar z = )\nbatch|query('q')\n#");
    let lines: Vec<u32> = d.iter().map(|d| d.span.start.line).collect();
    assert_eq!(lines, vec![1, 4, 4, 6], "{d:?}");
    assert_eq!(p.stmts.len(), 2);
}
