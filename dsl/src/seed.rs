//! The seed form: the project's original design DSL, nested C-style calls whose innermost
//! argument is a field of the matched point, e.g. `alert(avg(window(value, 10)), <, 30)`.
//!
//! ```text
//! SeedCall = ident "(" [ SeedArg { "," SeedArg } ] ")" .
//! SeedArg  = SeedCall | ident | number | "-" number | duration | string
//!          | "<" | "<=" | ">" | ">=" | "==" | "!=" .
//! ```
//!
//! [`seed_to_tickscript`] lowers a seed expression to the equivalent TICKscript chain
//! fragment, formatted as `tickfmt` would print it after `stream\n    |from()\n` (the caller
//! prepends that). Innermost call first, each call's first argument being its input:
//!
//! | seed | TICKscript | output field |
//! |---|---|---|
//! | `window(f, N)` (integer) | `\|window().periodCount(N).everyCount(1)` | `f` |
//! | `window(f, D)` (duration) | `\|window().period(D).every(0s)`: emits on every point, over the last `D` | `f` |
//! | `avg(f)` / `mean(f)` | `\|mean('f')` | `mean` |
//! | `sum count min max median mode spread stddev first last distinct difference cumulativeSum` `(f)` | `\|name('f')` | the function name |
//! | `percentile(f, p)` | `\|percentile('f', p)` | `percentile` |
//! | `top(f, n)` / `bottom(f, n)` | `\|top(n, 'f')` | `top` / `bottom` |
//! | `movingAverage(f, n)` | `\|movingAverage('f', n)` | `movingAverage` |
//! | `elapsed(f, unit)` | `\|elapsed('f', unit)` | `elapsed` |
//! | `derivative(f[, unit])` | `\|derivative('f')` (`.unit(unit)`) | `f` |
//! | `alert(x, OP, t)` (outermost only) | `\|alert().crit(lambda: "<field of x>" OP t)` | — |
//!
//! So `alert(avg(window(value, 10)), <, 30)` is
//! `|window().periodCount(10).everyCount(1)|mean('value')|alert().crit(lambda: "mean" < 30)`
//! (decisions.md: the alert level is CRITICAL).

use crate::ast::{Call, ChainOp, Expr, ExprKind, Ident, Program, Stmt};
use crate::diagnostic::{Diagnostic, codes, suggest};
use crate::expr::{BinaryOp, UnaryOp};
use crate::lexer::{duration_value, float_value, int_value, lex, string_value};
use crate::span::Span;
use crate::token::{Token, TokenKind};

/// Every function name the seed form knows.
pub const SEED_FUNCTIONS: &[&str] = &[
    "alert",
    "window",
    "avg",
    "mean",
    "sum",
    "count",
    "min",
    "max",
    "median",
    "mode",
    "spread",
    "stddev",
    "first",
    "last",
    "percentile",
    "distinct",
    "top",
    "bottom",
    "derivative",
    "difference",
    "cumulativeSum",
    "movingAverage",
    "elapsed",
];

/// Deepest nesting of seed calls accepted.
const MAX_DEPTH: usize = 64;

/// A seed-form call `name(args)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedCall {
    /// The function name.
    pub name: Ident,
    /// The arguments in order.
    pub args: Vec<SeedExpr>,
    /// From the name to the closing parenthesis.
    pub span: Span,
}

/// One seed-form expression.
#[derive(Debug, Clone, PartialEq)]
pub enum SeedExpr {
    /// A nested call.
    Call(SeedCall),
    /// A bare identifier: a field of the point.
    Field(Ident),
    /// An integer (possibly negative).
    Int {
        /// The value.
        value: i64,
        /// Where it was written.
        span: Span,
    },
    /// A float (possibly negative).
    Float {
        /// The value.
        value: f64,
        /// Where it was written.
        span: Span,
    },
    /// A duration literal.
    Duration {
        /// The value in nanoseconds.
        ns: i64,
        /// The literal as written (`10s`).
        literal: String,
        /// Where it was written.
        span: Span,
    },
    /// A single-quoted string.
    Str {
        /// The unescaped value.
        value: String,
        /// Where it was written.
        span: Span,
    },
    /// A comparison operator argument (`<`, `<=`, `>`, `>=`, `==`, `!=`).
    Op {
        /// The operator.
        op: BinaryOp,
        /// Where it was written.
        span: Span,
    },
}

impl SeedExpr {
    /// Where the expression was written.
    pub fn span(&self) -> Span {
        match self {
            SeedExpr::Call(c) => c.span,
            SeedExpr::Field(i) => i.span,
            SeedExpr::Int { span, .. }
            | SeedExpr::Float { span, .. }
            | SeedExpr::Duration { span, .. }
            | SeedExpr::Str { span, .. }
            | SeedExpr::Op { span, .. } => *span,
        }
    }
}

/// Tokens of `src` without comments.
fn tokens(src: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let (toks, diags) = lex(src);
    (
        toks.into_iter()
            .filter(|t| t.kind != TokenKind::Comment)
            .collect(),
        diags,
    )
}

/// True when `src` (ignoring `//` comments and whitespace) is a single call expression whose
/// outermost name is a seed function, and contains no `|`, `var`, `stream` or `batch`.
pub fn looks_like_seed(src: &str) -> bool {
    let (toks, _) = tokens(src);
    let [first, second, ..] = toks.as_slice() else {
        return false;
    };
    if first.kind != TokenKind::Ident || !SEED_FUNCTIONS.contains(&first.text.as_str()) {
        return false;
    }
    if second.kind != TokenKind::LParen {
        return false;
    }
    let mut depth: i64 = 0;
    for (i, t) in toks.iter().enumerate().skip(1) {
        match t.kind {
            TokenKind::Pipe | TokenKind::Var => return false,
            TokenKind::Ident if t.text == "stream" || t.text == "batch" => return false,
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => {
                depth -= 1;
                if depth == 0 {
                    // The outer call must end the text.
                    return toks.get(i + 1).is_some_and(|n| n.kind == TokenKind::Eof);
                }
            }
            _ => {}
        }
    }
    false
}

/// Parses a seed-form expression (one call).
pub fn parse_seed(src: &str) -> Result<SeedExpr, Vec<Diagnostic>> {
    let (toks, diags) = tokens(src);
    if !diags.is_empty() {
        return Err(diags);
    }
    let mut p = SeedParser {
        toks,
        pos: 0,
        depth: 0,
    };
    let call = p.call().map_err(|d| vec![*d])?;
    let t = p.peek();
    if t.kind != TokenKind::Eof {
        return Err(vec![*p.unexpected("end of input after the seed call")]);
    }
    Ok(SeedExpr::Call(call))
}

/// Seed parse errors stop at the first problem.
type SResult<T> = Result<T, Box<Diagnostic>>;

struct SeedParser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl SeedParser {
    fn peek(&self) -> &Token {
        let last = self.toks.len() - 1;
        &self.toks[self.pos.min(last)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.kind != TokenKind::Eof {
            self.pos += 1;
        }
        t
    }

    fn unexpected(&self, expected: &str) -> Box<Diagnostic> {
        let t = self.peek();
        let found = if t.kind == TokenKind::Eof {
            "end of input".to_string()
        } else {
            t.describe()
        };
        Box::new(
            Diagnostic::error(
                codes::BAD_SEED,
                format!("unexpected {found}, expected {expected}"),
                t.span,
            )
            .with_label(format!("expected {expected}")),
        )
    }

    fn call(&mut self) -> SResult<SeedCall> {
        if self.peek().kind != TokenKind::Ident {
            return Err(self.unexpected("a seed function call such as `alert(...)`"));
        }
        let name = self.bump();
        let name = Ident {
            name: name.text,
            span: name.span,
        };
        self.call_rest(name)
    }

    fn call_rest(&mut self, name: Ident) -> SResult<SeedCall> {
        if self.depth >= MAX_DEPTH {
            return Err(Box::new(Diagnostic::error(
                codes::BAD_SEED,
                "seed expression nested too deeply",
                name.span,
            )));
        }
        if self.peek().kind != TokenKind::LParen {
            return Err(self.unexpected(&format!("`(` after `{}`", name.name)));
        }
        self.bump();
        self.depth += 1;
        let mut args = Vec::new();
        if self.peek().kind != TokenKind::RParen {
            loop {
                args.push(self.arg()?);
                match self.peek().kind {
                    TokenKind::Comma => {
                        self.bump();
                    }
                    TokenKind::RParen => break,
                    _ => {
                        return Err(self.unexpected(&format!(
                            "`,` or `)` in the arguments of `{}`",
                            name.name
                        )));
                    }
                }
            }
        }
        self.depth -= 1;
        let close = self.bump();
        Ok(SeedCall {
            span: name.span.to(close.span),
            name,
            args,
        })
    }

    fn arg(&mut self) -> SResult<SeedExpr> {
        let t = self.peek().clone();
        let op = |op| Ok(SeedExpr::Op { op, span: t.span });
        match t.kind {
            TokenKind::Ident => {
                self.bump();
                let name = Ident {
                    name: t.text,
                    span: t.span,
                };
                if self.peek().kind == TokenKind::LParen {
                    Ok(SeedExpr::Call(self.call_rest(name)?))
                } else {
                    Ok(SeedExpr::Field(name))
                }
            }
            TokenKind::Minus => {
                self.bump();
                let n = self.peek().clone();
                let span = t.span.to(n.span);
                match n.kind {
                    TokenKind::Int => {
                        self.bump();
                        Ok(SeedExpr::Int {
                            value: int_value(&n.text).map(i64::wrapping_neg).unwrap_or(0),
                            span,
                        })
                    }
                    TokenKind::Float => {
                        self.bump();
                        Ok(SeedExpr::Float {
                            value: -float_value(&n.text).unwrap_or(0.0),
                            span,
                        })
                    }
                    _ => Err(self.unexpected("a number after `-`")),
                }
            }
            TokenKind::Int => {
                self.bump();
                Ok(SeedExpr::Int {
                    value: int_value(&t.text).unwrap_or(0),
                    span: t.span,
                })
            }
            TokenKind::Float => {
                self.bump();
                Ok(SeedExpr::Float {
                    value: float_value(&t.text).unwrap_or(0.0),
                    span: t.span,
                })
            }
            TokenKind::Duration => {
                self.bump();
                Ok(SeedExpr::Duration {
                    ns: duration_value(&t.text).unwrap_or(0),
                    literal: t.text,
                    span: t.span,
                })
            }
            TokenKind::Str => {
                self.bump();
                Ok(SeedExpr::Str {
                    value: string_value(&t.text).0,
                    span: t.span,
                })
            }
            TokenKind::Less => {
                self.bump();
                op(BinaryOp::Less)
            }
            TokenKind::LessEq => {
                self.bump();
                op(BinaryOp::LessEq)
            }
            TokenKind::Greater => {
                self.bump();
                op(BinaryOp::Greater)
            }
            TokenKind::GreaterEq => {
                self.bump();
                op(BinaryOp::GreaterEq)
            }
            TokenKind::EqEq => {
                self.bump();
                op(BinaryOp::Eq)
            }
            TokenKind::NotEq => {
                self.bump();
                op(BinaryOp::NotEq)
            }
            _ => Err(self.unexpected(
                "a call, a field, a number, a duration, a string or a comparison operator",
            )),
        }
    }
}

/// One generated chain link: `|node(args)` plus `.property(args)` lines.
struct Link {
    node: Call,
    props: Vec<Call>,
}

fn call(name: &str, args: Vec<Expr>) -> Call {
    let name = Ident {
        name: name.to_string(),
        span: Span::default(),
    };
    Call {
        name,
        args,
        multiline: false,
        has_parens: true,
        span: Span::default(),
    }
}

fn e(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn str_lit(s: &str) -> Expr {
    e(ExprKind::Str {
        value: s.to_string(),
        triple: false,
    })
}

fn int_lit(v: i64) -> Expr {
    number(
        v < 0,
        ExprKind::Int {
            value: v.unsigned_abs() as i64,
            literal: v.unsigned_abs().to_string(),
        },
    )
}

fn number(negative: bool, kind: ExprKind) -> Expr {
    if negative {
        e(ExprKind::Unary {
            op: UnaryOp::Neg,
            expr: Box::new(e(kind)),
        })
    } else {
        e(kind)
    }
}

fn dur_lit(ns: i64, literal: &str) -> Expr {
    e(ExprKind::Duration {
        ns,
        literal: literal.to_string(),
    })
}

/// Lowers a seed expression to a TICKscript chain fragment (formatted, starting with
/// `    |`, ending with a newline) to append after `stream\n    |from()\n`.
pub fn seed_to_tickscript(expr: &SeedExpr) -> Result<String, Vec<Diagnostic>> {
    let mut links = Vec::new();
    let mut diags = Vec::new();
    match expr {
        SeedExpr::Call(c) => {
            lower(c, true, &mut links, &mut diags);
        }
        other => diags.push(Diagnostic::error(
            codes::BAD_SEED,
            "a seed expression must be a call",
            other.span(),
        )),
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let from = Expr::new(
        ExprKind::Chain {
            left: Box::new(e(ExprKind::Ident("stream".into()))),
            op: ChainOp::Pipe,
            op_span: Span::default(),
            call: call("from", Vec::new()),
        },
        Span::default(),
    );
    let mut chain = from;
    for link in links {
        chain = e(ExprKind::Chain {
            left: Box::new(chain),
            op: ChainOp::Pipe,
            op_span: Span::default(),
            call: link.node,
        });
        for p in link.props {
            chain = e(ExprKind::Chain {
                left: Box::new(chain),
                op: ChainOp::Dot,
                op_span: Span::default(),
                call: p,
            });
        }
    }
    let program = Program {
        stmts: vec![Stmt::Expr {
            comment: None,
            expr: chain,
        }],
        trailing_comment: None,
    };
    let text = crate::format::format_program(&program);
    Ok(text
        .strip_prefix("stream\n    |from()\n")
        .unwrap_or(&text)
        .to_string())
}

fn arg_error(c: &SeedCall, msg: String) -> Diagnostic {
    Diagnostic::error(codes::BAD_SEED, msg, c.span).with_label(format!("in `{}`", c.name.name))
}

/// Lowers `c`, pushing its links after those of its input. Returns the name of the field
/// the last link outputs.
fn lower(
    c: &SeedCall,
    outermost: bool,
    links: &mut Vec<Link>,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    let name = c.name.name.as_str();
    if !SEED_FUNCTIONS.contains(&name) {
        let mut d = Diagnostic::error(
            codes::UNKNOWN_FUNCTION,
            format!("unknown seed function `{name}`"),
            c.name.span,
        )
        .with_label("not a seed function");
        if let Some(s) = suggest(name, SEED_FUNCTIONS.iter().copied()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        diags.push(d);
        return None;
    }
    if name == "alert" && !outermost {
        diags.push(arg_error(
            c,
            "`alert` must be the outermost call of a seed expression".into(),
        ));
        return None;
    }
    let Some(input) = c.args.first() else {
        diags.push(arg_error(
            c,
            format!("`{name}` needs an input: a field or a nested call"),
        ));
        return None;
    };
    let field = match input {
        SeedExpr::Call(inner) => lower(inner, false, links, diags)?,
        SeedExpr::Field(f) => f.name.clone(),
        SeedExpr::Str { value, .. } => value.clone(),
        other => {
            diags.push(Diagnostic::error(
                codes::BAD_SEED,
                format!("the first argument of `{name}` must be a field or a nested call"),
                other.span(),
            ));
            return None;
        }
    };
    let params = &c.args[1..];
    let want = |n: usize, what: &str, diags: &mut Vec<Diagnostic>| {
        if params.len() == n {
            true
        } else {
            diags.push(arg_error(
                c,
                format!("`{name}` takes {what}, got {} argument(s)", c.args.len()),
            ));
            false
        }
    };
    let positive_int = |p: &SeedExpr| match p {
        SeedExpr::Int { value, .. } if *value > 0 => Some(*value),
        _ => None,
    };
    let bad = |p: &SeedExpr, what: &str| {
        Diagnostic::error(
            codes::BAD_SEED,
            format!("`{name}` expects {what}"),
            p.span(),
        )
    };
    match name {
        "window" => {
            if !want(1, "a field and a count or a duration", diags) {
                return None;
            }
            let props = match &params[0] {
                SeedExpr::Int { value, .. } if *value > 0 => {
                    vec![
                        call("periodCount", vec![int_lit(*value)]),
                        call("everyCount", vec![int_lit(1)]),
                    ]
                }
                SeedExpr::Duration { ns, literal, .. } if *ns > 0 => {
                    vec![
                        call("period", vec![dur_lit(*ns, literal)]),
                        call("every", vec![dur_lit(0, "0s")]),
                    ]
                }
                p => {
                    diags.push(bad(
                        p,
                        "a positive point count or a positive duration as its second argument",
                    ));
                    return None;
                }
            };
            links.push(Link {
                node: call("window", Vec::new()),
                props,
            });
            Some(field)
        }
        "alert" => {
            if !want(2, "an input, a comparison operator and a threshold", diags) {
                return None;
            }
            let SeedExpr::Op { op, .. } = &params[0] else {
                diags.push(bad(&params[0], "a comparison operator (`<`, `<=`, `>`, `>=`, `==`, `!=`) as its second argument"));
                return None;
            };
            let threshold = match &params[1] {
                SeedExpr::Int { value, .. } => int_lit(*value),
                SeedExpr::Float { value, .. } => {
                    let lit = crate::expr::format_float(value.abs());
                    number(
                        *value < 0.0,
                        ExprKind::Float {
                            value: value.abs(),
                            literal: lit,
                        },
                    )
                }
                SeedExpr::Duration { ns, literal, .. } => dur_lit(*ns, literal),
                SeedExpr::Str { value, .. } => str_lit(value),
                p => {
                    diags.push(bad(
                        p,
                        "a number, a duration or a string threshold as its third argument",
                    ));
                    return None;
                }
            };
            let cond = e(ExprKind::Binary {
                op: *op,
                op_span: Span::default(),
                left: Box::new(e(ExprKind::Ref(field))),
                right: Box::new(threshold),
                multiline: false,
            });
            let lambda = e(ExprKind::Lambda(Box::new(cond)));
            links.push(Link {
                node: call("alert", Vec::new()),
                props: vec![call("crit", vec![lambda])],
            });
            Some(String::new())
        }
        "derivative" => {
            let props = match params {
                [] => Vec::new(),
                [SeedExpr::Duration { ns, literal, .. }] if *ns > 0 => {
                    vec![call("unit", vec![dur_lit(*ns, literal)])]
                }
                [p] => {
                    diags.push(bad(p, "a positive duration unit as its second argument"));
                    return None;
                }
                _ => {
                    diags.push(arg_error(
                        c,
                        format!(
                            "`derivative` takes a field and an optional unit, got {} arguments",
                            c.args.len()
                        ),
                    ));
                    return None;
                }
            };
            links.push(Link {
                node: call("derivative", vec![str_lit(&field)]),
                props,
            });
            Some(field)
        }
        "percentile" => {
            if !want(1, "a field and a percentile", diags) {
                return None;
            }
            let p = match &params[0] {
                SeedExpr::Int { value, .. } if (0..=100).contains(value) => e(ExprKind::Float {
                    value: *value as f64,
                    literal: format!("{value}.0"),
                }),
                SeedExpr::Float { value, .. } if (0.0..=100.0).contains(value) => {
                    e(ExprKind::Float {
                        value: *value,
                        literal: crate::expr::format_float(*value),
                    })
                }
                p => {
                    diags.push(bad(
                        p,
                        "a percentile between 0 and 100 as its second argument",
                    ));
                    return None;
                }
            };
            links.push(Link {
                node: call("percentile", vec![str_lit(&field), p]),
                props: Vec::new(),
            });
            Some("percentile".into())
        }
        "top" | "bottom" | "movingAverage" => {
            if !want(1, "a field and a positive count", diags) {
                return None;
            }
            let Some(n) = positive_int(&params[0]) else {
                diags.push(bad(
                    &params[0],
                    "a positive integer count as its second argument",
                ));
                return None;
            };
            let args = if name == "movingAverage" {
                vec![str_lit(&field), int_lit(n)]
            } else {
                vec![int_lit(n), str_lit(&field)]
            };
            links.push(Link {
                node: call(name, args),
                props: Vec::new(),
            });
            Some(name.to_string())
        }
        "elapsed" => {
            if !want(1, "a field and a duration unit", diags) {
                return None;
            }
            let SeedExpr::Duration { ns, literal, .. } = &params[0] else {
                diags.push(bad(&params[0], "a duration unit as its second argument"));
                return None;
            };
            links.push(Link {
                node: call("elapsed", vec![str_lit(&field), dur_lit(*ns, literal)]),
                props: Vec::new(),
            });
            Some("elapsed".into())
        }
        _ => {
            if !want(0, "exactly one argument (a field or a nested call)", diags) {
                return None;
            }
            let node = if name == "avg" { "mean" } else { name };
            links.push(Link {
                node: call(node, vec![str_lit(&field)]),
                props: Vec::new(),
            });
            Some(node.to_string())
        }
    }
}
