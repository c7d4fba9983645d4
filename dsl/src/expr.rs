//! Lambda expressions as they appear in the plan: resolved (script vars substituted),
//! serde-serialisable, and printable back to TICKscript.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Binary operators of the lambda language, in Kapacitor's precedence classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryOp {
    /// `OR` (precedence 0)
    Or,
    /// `AND` (1)
    And,
    /// `==` (2)
    Eq,
    /// `!=` (2)
    NotEq,
    /// `=~` (2)
    RegexMatch,
    /// `!~` (2)
    RegexNotMatch,
    /// `<` (3)
    Less,
    /// `<=` (3)
    LessEq,
    /// `>` (3)
    Greater,
    /// `>=` (3)
    GreaterEq,
    /// `+` (4)
    Add,
    /// `-` (4)
    Sub,
    /// `*` (5)
    Mul,
    /// `/` (5)
    Div,
    /// `%` (5)
    Mod,
}

impl BinaryOp {
    /// Kapacitor's precedence: higher binds tighter.
    pub fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Or => 0,
            And => 1,
            Eq | NotEq | RegexMatch | RegexNotMatch => 2,
            Less | LessEq | Greater | GreaterEq => 3,
            Add | Sub => 4,
            Mul | Div | Mod => 5,
        }
    }

    /// The operator as written in TICKscript.
    pub fn as_str(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Or => "OR",
            And => "AND",
            Eq => "==",
            NotEq => "!=",
            RegexMatch => "=~",
            RegexNotMatch => "!~",
            Less => "<",
            LessEq => "<=",
            Greater => ">",
            GreaterEq => ">=",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
        }
    }

    /// True for `== != < <= > >= =~ !~`.
    pub fn is_comparison(self) -> bool {
        matches!(self.precedence(), 2 | 3)
    }

    /// True for `AND`/`OR`.
    pub fn is_logical(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or)
    }

    /// True for `+ - * / %`.
    pub fn is_arithmetic(self) -> bool {
        matches!(self.precedence(), 4 | 5)
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `!x`
    Not,
}

/// A lambda expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// Integer literal.
    Int(i64),
    /// Float literal.
    Float(f64),
    /// `TRUE` / `FALSE`.
    Bool(bool),
    /// String literal.
    Str(String),
    /// Duration literal, in nanoseconds.
    Duration(i64),
    /// Regex literal (Go RE2 syntax, without slashes).
    Regex(String),
    /// `"name"`: a field or tag of the point (or `"time"`).
    Ref(String),
    /// A bare identifier left unresolved by the script (e.g. `CRITICAL` in a handler
    /// `match` expression).
    Ident(String),
    /// `*`
    Star,
    /// Unary operation.
    Unary(UnaryOp, Box<Expr>),
    /// Binary operation.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// Function call, e.g. `sigma("value")`.
    Call(String, Vec<Expr>),
}

impl Expr {
    /// Every `"reference"` used by this expression, in order of first appearance.
    pub fn references(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Ref(r) = e
                && !out.contains(&r.as_str())
            {
                out.push(r.as_str());
            }
        });
        out
    }

    /// Calls `f` on this expression and every sub-expression, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Unary(_, e) => e.walk(f),
            Expr::Binary(_, l, r) => {
                l.walk(f);
                r.walk(f);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.walk(f)),
            _ => {}
        }
    }
}

/// Formats a float the way tickfmt does: shortest round-trip decimal, with `.0`
/// appended when the text has no `.` (and no exponent).
pub fn format_float(f: f64) -> String {
    let mut s = format!("{f}");
    if !s.contains('.') && !s.contains('e') && !s.contains("inf") && !s.contains("NaN") {
        s.push_str(".0");
    }
    s
}

/// Formats a duration in nanoseconds as the shortest InfluxQL duration literal
/// (`10s`, `1m`, `1500ms`, `0s`).
pub fn format_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    const UNITS: [(i64, &str); 7] = [
        (7 * 24 * 3_600_000_000_000, "w"),
        (24 * 3_600_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "u"),
    ];
    for (unit, name) in UNITS {
        if ns % unit == 0 {
            return format!("{}{name}", ns / unit);
        }
    }
    format!("{ns}ns")
}

fn write_str_literal(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in s.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("'")
}

impl fmt::Display for Expr {
    /// Prints the expression as TICKscript lambda text (without `lambda: `), adding
    /// parentheses only where precedence requires them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Int(i) => write!(f, "{i}"),
            Expr::Float(x) => f.write_str(&format_float(*x)),
            Expr::Bool(true) => f.write_str("TRUE"),
            Expr::Bool(false) => f.write_str("FALSE"),
            Expr::Str(s) => write_str_literal(f, s),
            Expr::Duration(ns) => f.write_str(&format_duration(*ns)),
            Expr::Regex(r) => write!(f, "/{}/", r.replace('/', "\\/")),
            Expr::Ref(r) => write!(f, "\"{}\"", r.replace('"', "\\\"")),
            Expr::Ident(i) => f.write_str(i),
            Expr::Star => f.write_str("*"),
            Expr::Unary(op, e) => {
                f.write_str(match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Not => "!",
                })?;
                if matches!(**e, Expr::Binary(..)) {
                    write!(f, "({e})")
                } else {
                    write!(f, "{e}")
                }
            }
            Expr::Binary(op, l, r) => {
                let p = op.precedence();
                match &**l {
                    Expr::Binary(lop, ..) if lop.precedence() < p => write!(f, "({l})")?,
                    _ => write!(f, "{l}")?,
                }
                write!(f, " {} ", op.as_str())?;
                match &**r {
                    Expr::Binary(rop, ..) if rop.precedence() <= p => write!(f, "({r})"),
                    _ => write!(f, "{r}"),
                }
            }
            Expr::Call(name, args) => {
                write!(f, "{name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_respects_precedence() {
        let e = Expr::Binary(
            BinaryOp::Mul,
            Box::new(Expr::Binary(
                BinaryOp::Add,
                Box::new(Expr::Ref("a".into())),
                Box::new(Expr::Int(1)),
            )),
            Box::new(Expr::Float(2.0)),
        );
        assert_eq!(e.to_string(), "(\"a\" + 1) * 2.0");
        assert_eq!(format_duration(90_000_000_000), "90s");
        assert_eq!(format_duration(3_600_000_000_000), "1h");
        assert_eq!(format_duration(1_500_000), "1500u");
    }
}
