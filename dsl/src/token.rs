//! Tokens of the TICKscript language (Kapacitor's `tick/ast/lex.go`), each with its span.

use crate::span::Span;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An identifier (Unicode letters, `_`, digits after the first character).
    Ident,
    /// `var`
    Var,
    /// `dbrp`
    Dbrp,
    /// `lambda:` (the colon is part of the token).
    Lambda,
    /// `TRUE`
    True,
    /// `FALSE`
    False,
    /// `AND`
    And,
    /// `OR`
    Or,
    /// An integer literal (`42`, octal `017`).
    Int,
    /// A float literal (`1.5`, `1.`, `.5`).
    Float,
    /// A duration literal (`10s`, `1500ms`).
    Duration,
    /// A single- or triple-quoted string literal (text includes the quotes).
    Str,
    /// A double-quoted reference (text includes the quotes).
    Ref,
    /// A regex literal `/.../` (text includes the slashes).
    Regex,
    /// `*`: a star operand or the multiplication operator, depending on position.
    Star,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `|`
    Pipe,
    /// `.`
    Dot,
    /// `@`
    At,
    /// `:` outside `lambda:` (never valid, reported by the parser).
    Colon,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `/` in operator position.
    Slash,
    /// `%`
    Percent,
    /// `==`
    EqEq,
    /// `!=`
    NotEq,
    /// `<`
    Less,
    /// `<=`
    LessEq,
    /// `>`
    Greater,
    /// `>=`
    GreaterEq,
    /// `=~`
    RegexMatch,
    /// `!~`
    RegexNotMatch,
    /// `!`
    Not,
    /// `=`
    Assign,
    /// A `//` comment; the text is everything after `//` up to the end of the line.
    Comment,
    /// End of input (always the last token).
    Eof,
}

impl TokenKind {
    /// True for tokens after which an operand has just ended, so that a following `/` is a
    /// division and not the start of a regex.
    pub fn ends_operand(self) -> bool {
        use TokenKind::*;
        matches!(
            self,
            Ident | True | False | Int | Float | Duration | Str | Ref | Regex | RParen | RBracket
        )
    }

    /// A short description used in diagnostics, e.g. "`)`" or "identifier".
    pub fn describe(self) -> &'static str {
        use TokenKind::*;
        match self {
            Ident => "identifier",
            Var => "`var`",
            Dbrp => "`dbrp`",
            Lambda => "`lambda:`",
            True => "`TRUE`",
            False => "`FALSE`",
            And => "`AND`",
            Or => "`OR`",
            Int => "integer",
            Float => "float",
            Duration => "duration",
            Str => "string",
            Ref => "reference",
            Regex => "regex",
            Star => "`*`",
            LBracket => "`[`",
            RBracket => "`]`",
            Comma => "`,`",
            LParen => "`(`",
            RParen => "`)`",
            Pipe => "`|`",
            Dot => "`.`",
            At => "`@`",
            Colon => "`:`",
            Plus => "`+`",
            Minus => "`-`",
            Slash => "`/`",
            Percent => "`%`",
            EqEq => "`==`",
            NotEq => "`!=`",
            Less => "`<`",
            LessEq => "`<=`",
            Greater => "`>`",
            GreaterEq => "`>=`",
            RegexMatch => "`=~`",
            RegexNotMatch => "`!~`",
            Not => "`!`",
            Assign => "`=`",
            Comment => "comment",
            Eof => "end of input",
        }
    }
}

/// One token: its kind, its source text and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// The exact source text (quotes, slashes and `//` included).
    pub text: String,
    /// Where it was written.
    pub span: Span,
}

impl Token {
    /// A description for diagnostics: "`)`", "identifier `foo`", "string `'x'`", ...
    pub fn describe(&self) -> String {
        use TokenKind::*;
        match self.kind {
            Ident | Int | Float | Duration | Str | Ref | Regex => {
                let mut t: String = self.text.chars().take(30).collect();
                if t.len() < self.text.len() {
                    t.push('…');
                }
                let t = t.replace('\n', " ").replace('`', "'");
                format!("{} `{t}`", self.kind.describe())
            }
            k => k.describe().to_string(),
        }
    }
}
