//! Parser and lexer behaviour: tree shapes, spans, flags used by tickfmt, comments and
//! diagnostics.

use kap_dsl::ast::{ChainOp, Expr, ExprKind, Stmt};
use kap_dsl::expr::{BinaryOp, UnaryOp};
use kap_dsl::lexer::lex;
use kap_dsl::parse;
use kap_dsl::span::Pos;
use kap_dsl::token::TokenKind;

fn one_expr(src: &str) -> Expr {
    let (p, d) = parse(src);
    assert!(d.is_empty(), "{src}: {d:?}");
    assert_eq!(p.stmts.len(), 1, "{src}");
    match p.stmts.into_iter().next() {
        Some(Stmt::Expr { expr, .. }) => expr,
        Some(Stmt::Decl { value, .. }) => value,
        other => panic!("unexpected statement {other:?}"),
    }
}

/// Renders an expression with explicit grouping, to check precedence.
fn shape(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Binary {
            op, left, right, ..
        } => format!("({} {} {})", shape(left), op.as_str(), shape(right)),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            expr,
        } => format!("(-{})", shape(expr)),
        ExprKind::Unary {
            op: UnaryOp::Not,
            expr,
        } => format!("(!{})", shape(expr)),
        ExprKind::Ident(i) => i.clone(),
        ExprKind::Ref(r) => format!("\"{r}\""),
        ExprKind::Int { value, .. } => value.to_string(),
        ExprKind::Lambda(b) => format!("lambda:{}", shape(b)),
        ExprKind::Chain { left, op, call, .. } => {
            format!("{}{}{}", shape(left), op.as_str(), call.name.name)
        }
        ExprKind::Call(c) => format!(
            "{}({})",
            c.name.name,
            c.args.iter().map(shape).collect::<Vec<_>>().join(",")
        ),
        other => format!("{other:?}"),
    }
}

#[test]
fn precedence_and_associativity() {
    assert_eq!(
        shape(&one_expr("a OR b AND c == d < e + f * g")),
        "(a OR (b AND (c == (d < (e + (f * g))))))"
    );
    assert_eq!(shape(&one_expr("a - b - c")), "((a - b) - c)");
    assert_eq!(shape(&one_expr("a / b % c * d")), "(((a / b) % c) * d)");
    assert_eq!(
        shape(&one_expr("a =~ b !~ c != d")),
        "(((a =~ b) !~ c) != d)"
    );
    assert_eq!(shape(&one_expr("-a * !b")), "((-a) * (!b))");
    assert_eq!(
        shape(&one_expr("lambda: \"a\" > 1 AND \"b\" < 2")),
        "lambda:((\"a\" > 1) AND (\"b\" < 2))"
    );
    let e = one_expr("(a + b) * c");
    let ExprKind::Binary {
        left,
        op: BinaryOp::Mul,
        ..
    } = &e.kind
    else {
        panic!("{e:?}")
    };
    assert!(left.parens && !e.parens);
}

#[test]
fn chains_are_left_nested_and_bind_to_the_primary() {
    let e = one_expr("var x = stream|from().measurement('x')|window()@udf().opt");
    assert_eq!(shape(&e), "stream|from.measurement|window@udf.opt");
    let ExprKind::Chain {
        op: ChainOp::Dot,
        call,
        ..
    } = &e.kind
    else {
        panic!()
    };
    assert!(!call.has_parens && call.args.is_empty());
    assert_eq!(shape(&one_expr("sigma(\"v\") > 3")), "(sigma(\"v\") > 3)");
    // Only identifiers and function calls start chains.
    let (_, d) = parse("f('a'|g())");
    assert_eq!(
        d[0].message,
        "unexpected `|`, expected `,` or `)` in the arguments of `f`"
    );
}

#[test]
fn newlines_do_not_end_statements() {
    let (p, d) = parse("var x = 1\n+\n2\nstream\n|from()\n\n.measurement('m')\nbatch");
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(p.stmts.len(), 3);
}

#[test]
fn statements() {
    let (p, d) = parse("dbrp \"my\\\"db\".\"rp\"\nvar t duration\nvar x = 5m");
    assert!(d.is_empty(), "{d:?}");
    match &p.stmts[0] {
        Stmt::Dbrp { db, rp, span, .. } => {
            assert_eq!((db.as_str(), rp.as_str()), ("my\"db", "rp"));
            assert_eq!((span.start.column, span.end.column), (1, 19));
        }
        s => panic!("{s:?}"),
    }
    match &p.stmts[1] {
        Stmt::TypeDecl { name, ty, .. } => {
            assert_eq!((name.name.as_str(), ty.name.as_str()), ("t", "duration"))
        }
        s => panic!("{s:?}"),
    }
    match &p.stmts[2] {
        Stmt::Decl { value, span, .. } => {
            assert!(matches!(
                value.kind,
                ExprKind::Duration {
                    ns: 300_000_000_000,
                    ..
                }
            ));
            assert_eq!(
                span.start,
                Pos {
                    offset: 34,
                    line: 3,
                    column: 1
                }
            );
            assert_eq!(span.end.column, 11);
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn spans_are_line_and_char_column() {
    let e = one_expr("stream\n    |from()\n        .measurement('cpu')");
    let ExprKind::Chain { call, op_span, .. } = &e.kind else {
        panic!()
    };
    assert_eq!(
        op_span.start,
        Pos {
            offset: 27,
            line: 3,
            column: 9
        }
    );
    assert_eq!(
        (call.name.span.start.line, call.name.span.start.column),
        (3, 10)
    );
    assert_eq!((call.span.end.line, call.span.end.column), (3, 28));
    assert_eq!(e.span.start, Pos::START);
    assert_eq!(call.args[0].span.start.column, 22);
}

#[test]
fn multiline_flags() {
    let multi = |src: &str| match &one_expr(src).kind {
        ExprKind::Call(c) => c.multiline,
        ExprKind::Chain { call, .. } => call.multiline,
        ExprKind::Binary { multiline, .. } => *multiline,
        k => panic!("{k:?}"),
    };
    assert!(!multi("f(1, 2)"));
    assert!(multi("f(1,\n2)"));
    assert!(multi("f(\n1)"));
    assert!(!multi("f(1\n)"));
    assert!(!multi("f()"));
    assert!(!multi("batch|query('''\nSELECT\n''')"));
    assert!(multi("1 +\n2"));
    assert!(multi("1\n+ 2"));
    assert!(!multi("1 + 2"));
}

#[test]
fn literals() {
    let k = |src: &str| one_expr(src).kind;
    assert_eq!(
        k("017"),
        ExprKind::Int {
            value: 15,
            literal: "017".into()
        }
    );
    assert_eq!(
        k("1."),
        ExprKind::Float {
            value: 1.0,
            literal: "1.".into()
        }
    );
    assert_eq!(
        k("1w"),
        ExprKind::Duration {
            ns: 604_800_000_000_000,
            literal: "1w".into()
        }
    );
    assert_eq!(
        k("5µ"),
        ExprKind::Duration {
            ns: 5_000,
            literal: "5µ".into()
        }
    );
    assert_eq!(
        k("'a\\'b\\c'"),
        ExprKind::Str {
            value: "a'b\\c".into(),
            triple: false
        }
    );
    assert_eq!(
        k("'''a\\'b'''"),
        ExprKind::Str {
            value: "a\\'b".into(),
            triple: true
        }
    );
    assert_eq!(
        k("''"),
        ExprKind::Str {
            value: String::new(),
            triple: false
        }
    );
    assert_eq!(k("\"a\\\"b\""), ExprKind::Ref("a\"b".into()));
    assert_eq!(k("var r = /a\\/b/"), ExprKind::Regex("a/b".into()));
    assert_eq!(k("*"), ExprKind::Star);
    assert_eq!(k("lambda"), ExprKind::Ident("lambda".into()));
    assert_eq!(k("true"), ExprKind::Ident("true".into()));
    assert!(matches!(k("['a', b, *]"), ExprKind::List(v) if v.len() == 3));
}

#[test]
fn regex_only_where_an_operand_is_expected() {
    let kinds = |src: &str| lex(src).0.into_iter().map(|t| t.kind).collect::<Vec<_>>();
    use TokenKind::*;
    assert_eq!(
        kinds("\"a\" / 2 / 3"),
        vec![Ref, Slash, Int, Slash, Int, Eof]
    );
    assert_eq!(
        kinds("f(/a/, /b/)"),
        vec![Ident, LParen, Regex, Comma, Regex, RParen, Eof]
    );
    assert_eq!(kinds("x =~ /a b/"), vec![Ident, RegexMatch, Regex, Eof]);
    assert_eq!(kinds("(1) / 2"), vec![LParen, Int, RParen, Slash, Int, Eof]);
    assert_eq!(
        kinds("a // c\n/ b"),
        vec![Ident, Comment, Slash, Ident, Eof]
    );
}

#[test]
fn comments_attach_to_statements_links_and_program_end() {
    let (p, d) = parse(
        "// one\n// two\nvar x = 1\nstream\n  // link\n  |from()\n    .m('x') // after\n  |log()\n// tail\n",
    );
    assert!(d.is_empty());
    let Stmt::Decl {
        comment: Some(c), ..
    } = &p.stmts[0]
    else {
        panic!()
    };
    assert_eq!(c.lines, vec!["one", "two"]);
    let Stmt::Expr {
        expr,
        comment: None,
    } = &p.stmts[1]
    else {
        panic!()
    };
    let ExprKind::Chain { left, call, .. } = &expr.kind else {
        panic!()
    };
    assert_eq!(call.name.name, "log");
    assert_eq!(
        expr.comment.as_ref().map(|c| c.lines.clone()),
        Some(vec!["after".to_string()])
    );
    let ExprKind::Chain { left, .. } = &left.kind else {
        panic!()
    };
    assert_eq!(
        left.comment.as_ref().map(|c| c.lines.clone()),
        Some(vec!["link".to_string()])
    );
    assert_eq!(
        p.trailing_comment.map(|c| c.lines),
        Some(vec!["tail".to_string()])
    );
}

#[test]
fn diagnostics_have_codes_positions_and_messages() {
    let (_, d) = parse("stream\n    |from()\n        .measurement('cpu'\n    |window()");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "E0101");
    assert_eq!((d[0].span.start.line, d[0].span.start.column), (4, 5));
    assert_eq!(
        d[0].message,
        "unexpected `|`, expected `,` or `)` in the arguments of `measurement`"
    );

    let (_, d) = parse("var x = )");
    assert_eq!(d[0].message, "unexpected `)`, expected an expression");
    let (_, d) = parse("stream|from(");
    assert_eq!(
        (d[0].code, d[0].message.as_str()),
        ("E0102", "unexpected end of input, expected an expression")
    );
    let (_, d) = parse("var 1 = 2");
    assert_eq!(
        d[0].message,
        "unexpected integer `1`, expected a variable name after `var`"
    );
    let (_, d) = parse("var x");
    assert_eq!(
        d[0].message,
        "unexpected end of input, expected `=` or a type name after `var x`"
    );
    let (_, d) = parse("stream|from");
    assert_eq!(
        d[0].message,
        "unexpected end of input, expected `(` after `|from`"
    );
    let (_, d) = parse("dbrp 'db'.'rp'");
    assert_eq!(
        d[0].message,
        "unexpected string `'db'`, expected a double-quoted database name after `dbrp`"
    );
    let (_, d) = parse("var x = 'abc");
    assert_eq!(
        (d[0].code, d[0].message.as_str()),
        ("E0002", "unterminated string")
    );
    let (_, d) = parse("var x = 08 + 1.5s + 3 # 4");
    let msgs: Vec<_> = d.iter().map(|d| (d.code, d.message.as_str())).collect();
    assert_eq!(
        msgs,
        vec![
            (
                "E0003",
                "invalid octal literal `08` (a leading `0` means base 8)"
            ),
            (
                "E0003",
                "invalid duration `1.5s`: durations cannot have a fractional part"
            ),
            ("E0001", "unexpected character `#`"),
        ]
    );
}

#[test]
fn recovery_keeps_good_statements() {
    let (p, d) = parse(
        "var a = 1\nvar b = (\nvar c = 3\nstream|from(\nstream|from()\n)\nstream|from(,)\nx y ]\nvar d = 4",
    );
    assert_eq!(d.len(), 3, "{d:?}");
    let names: Vec<String> = p
        .stmts
        .iter()
        .map(|s| match s {
            Stmt::Decl { name, .. } => name.name.clone(),
            Stmt::Expr { .. } => "expr".into(),
            _ => "?".into(),
        })
        .collect();
    assert_eq!(names, vec!["a", "c", "expr", "expr", "expr", "d"]);
}
