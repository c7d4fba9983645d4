//! The TICKscript syntax tree. It keeps everything `tickfmt` needs to print a script back
//! (literal forms, parentheses, comments, which calls and operators spanned lines) and a
//! [`Span`] on every node for diagnostics.

use crate::expr::{BinaryOp, UnaryOp};
use crate::span::Span;
use serde::{Deserialize, Serialize};

/// A whole script.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Program {
    /// Statements in source order.
    pub stmts: Vec<Stmt>,
    /// Comments after the last statement (not attached to anything).
    pub trailing_comment: Option<Comment>,
}

/// A group of consecutive `//` comment lines. Each entry is the text after `//`, with
/// leading spaces trimmed (tickfmt prints `// <text>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// One entry per `//` line.
    pub lines: Vec<String>,
    /// Where the group was written.
    pub span: Span,
}

/// An identifier with its span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A top-level statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Stmt {
    /// `var name = expr`
    Decl {
        /// Comment just above the statement (template var description).
        comment: Option<Comment>,
        /// The variable.
        name: Ident,
        /// Its value.
        value: Expr,
        /// The whole statement.
        span: Span,
    },
    /// `var name type` (template var declaration)
    TypeDecl {
        /// Comment just above the statement (template var description).
        comment: Option<Comment>,
        /// The variable.
        name: Ident,
        /// The declared type name (`int`, `float`, `duration`, ...), not yet validated.
        ty: Ident,
        /// The whole statement.
        span: Span,
    },
    /// `dbrp "db"."rp"`
    Dbrp {
        /// Comment just above the statement.
        comment: Option<Comment>,
        /// Database (unquoted).
        db: String,
        /// Retention policy (unquoted).
        rp: String,
        /// The whole statement.
        span: Span,
    },
    /// An expression statement, usually a chain such as `stream|from()...`.
    Expr {
        /// Comment just above the statement.
        comment: Option<Comment>,
        /// The expression.
        expr: Expr,
    },
}

impl Stmt {
    /// The span of the whole statement.
    pub fn span(&self) -> Span {
        match self {
            Stmt::Decl { span, .. } | Stmt::TypeDecl { span, .. } | Stmt::Dbrp { span, .. } => {
                *span
            }
            Stmt::Expr { expr, .. } => expr.span,
        }
    }
}

/// The chain operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChainOp {
    /// `|name()`: creates a child node.
    Pipe,
    /// `.name()`: sets a property.
    Dot,
    /// `@name()`: calls a UDF.
    At,
}

impl ChainOp {
    /// The operator character.
    pub fn as_str(self) -> &'static str {
        match self {
            ChainOp::Pipe => "|",
            ChainOp::Dot => ".",
            ChainOp::At => "@",
        }
    }
}

/// A function call: `name(args)` as a global function, a chain link or a lambda function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// The function name.
    pub name: Ident,
    /// Arguments in order.
    pub args: Vec<Expr>,
    /// True when the source had a newline between the name and the last argument
    /// (tickfmt then prints one argument per line).
    pub multiline: bool,
    /// Whether `(...)` was written. Only `.ident` chain links (a property reference
    /// without a call) have `false`.
    pub has_parens: bool,
    /// From the name to the closing parenthesis.
    pub span: Span,
}

/// An expression node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written (without surrounding parentheses).
    pub span: Span,
    /// Whether it was wrapped in parentheses in the source (kept by tickfmt).
    pub parens: bool,
    /// Comment attached to this node (chain links carry the comment written above them).
    pub comment: Option<Comment>,
}

impl Expr {
    /// A new expression without parentheses or comment.
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr {
            kind,
            span,
            parens: false,
            comment: None,
        }
    }
}

/// Expression kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    /// A bare identifier: a var, `stream`, `batch`, or a handler-match constant.
    Ident(String),
    /// Integer literal. `literal` is the source text (a leading `0` means octal).
    Int {
        /// The value.
        value: i64,
        /// The source text.
        literal: String,
    },
    /// Float literal.
    Float {
        /// The value.
        value: f64,
        /// The source text.
        literal: String,
    },
    /// Duration literal (`10s`, `1500ms`). tickfmt prints `literal` unchanged.
    Duration {
        /// The value in nanoseconds.
        ns: i64,
        /// The source text.
        literal: String,
    },
    /// String literal, unescaped.
    Str {
        /// The unescaped value.
        value: String,
        /// True for `'''...'''` (raw, printed unchanged).
        triple: bool,
    },
    /// `"reference"`, unescaped.
    Ref(String),
    /// `/regex/`, with `\/` unescaped to `/`.
    Regex(String),
    /// `TRUE` / `FALSE`.
    Bool(bool),
    /// `*`
    Star,
    /// `[a, b, c]`
    List(Vec<Expr>),
    /// `lambda: expr`
    Lambda(Box<Expr>),
    /// `-x`, `!x`
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// `left OP right`
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Where the operator was written.
        op_span: Span,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// True when the source had a newline between the operands (tickfmt breaks the
        /// line after the operator).
        multiline: bool,
    },
    /// A global or lambda function call: `time(10s)`, `sigma("value")`.
    Call(Call),
    /// `left|call`, `left.call`, `left@call`.
    Chain {
        /// What the link applies to.
        left: Box<Expr>,
        /// `|`, `.` or `@`.
        op: ChainOp,
        /// Where the operator was written.
        op_span: Span,
        /// The method call.
        call: Call,
    },
}
