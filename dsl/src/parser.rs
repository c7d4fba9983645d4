//! Recursive-descent TICKscript parser (Kapacitor 1.8 `tick/ast/parser.go`).
//!
//! [`parse`] never fails wholesale: it returns the statements it could read plus every
//! diagnostic, recovering at the next plausible statement start (`var`, `dbrp`, or an
//! identifier that begins a line and does not continue the previous one).
//!
//! * Precedence (low to high): `OR`, `AND`, `== != =~ !~`, `< <= > >=`, `+ -`, `* / %`, all
//!   left associative; unary `-` and `!` bind tightest; `(...)` sets [`Expr::parens`].
//! * Chains `|name(...)`, `.name(...)`, `.name` and `@name(...)` follow an identifier or a
//!   function call and nest to the left: `stream|from().measurement('x')` is
//!   `Chain(Chain(stream, |, from()), ., measurement('x'))`.
//! * Newlines are insignificant: a statement ends when the next token cannot continue it.
//! * [`Call::multiline`] is true when the first token of the last argument is on another line
//!   than the function name; [`ExprKind::Binary`]'s `multiline` when a newline separates the
//!   operands (tickfmt then breaks the line after the operator).
//! * Comments: the `//` lines written before a token are attached to the first node that
//!   starts there: a statement, a chain link (the `Chain` expression whose `call` is the
//!   link) or a primary expression. Comments before tokens that start no node (`,`, `)`,
//!   operators) move on to the next node. Comments after the last statement become
//!   [`Program::trailing_comment`].

use crate::ast::{Call, ChainOp, Comment, Expr, ExprKind, Ident, Program, Stmt};
use crate::diagnostic::{Diagnostic, codes};
use crate::expr::{BinaryOp, UnaryOp};
use crate::lexer::{self, duration_value, float_value, int_value, string_value, unquote};
use crate::span::{Pos, Span};
use crate::token::{Token, TokenKind};

/// Deepest nesting of parentheses, unary operators, calls and lists accepted.
const MAX_DEPTH: u32 = 64;

/// Parses a TICKscript. Returns the (possibly partial) program and every diagnostic found by
/// the lexer and the parser, in source order. Never panics.
pub fn parse(src: &str) -> (Program, Vec<Diagnostic>) {
    let (tokens, lex_diags) = lexer::lex(src);
    let mut p = Parser::new(tokens);
    let program = p.program();
    let mut diags = lex_diags;
    diags.extend(p.diags);
    diags.sort_by_key(|d| d.span.start.offset);
    (program, diags)
}

/// A significant token plus the comment group written just before it.
#[derive(Debug)]
struct PTok {
    tok: Token,
    comment: Option<Comment>,
    /// First significant token of its line.
    line_start: bool,
}

/// Errors are already pushed to `Parser::diags`.
type PResult<T> = Result<T, ()>;

struct Parser {
    toks: Vec<PTok>,
    pos: usize,
    diags: Vec<Diagnostic>,
    /// Comments of tokens consumed without attaching them, waiting for the next node.
    pending: Option<Comment>,
    depth: u32,
}

fn comment_line(text: &str) -> String {
    text.strip_prefix("//").unwrap_or(text).trim().to_string()
}

fn merge(a: Option<Comment>, b: Option<Comment>) -> Option<Comment> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            a.lines.extend(b.lines);
            a.span = a.span.to(b.span);
            Some(a)
        }
        (a, b) => a.or(b),
    }
}

fn binop(kind: TokenKind) -> Option<BinaryOp> {
    use TokenKind as T;
    Some(match kind {
        T::Or => BinaryOp::Or,
        T::And => BinaryOp::And,
        T::EqEq => BinaryOp::Eq,
        T::NotEq => BinaryOp::NotEq,
        T::RegexMatch => BinaryOp::RegexMatch,
        T::RegexNotMatch => BinaryOp::RegexNotMatch,
        T::Less => BinaryOp::Less,
        T::LessEq => BinaryOp::LessEq,
        T::Greater => BinaryOp::Greater,
        T::GreaterEq => BinaryOp::GreaterEq,
        T::Plus => BinaryOp::Add,
        T::Minus => BinaryOp::Sub,
        T::Star => BinaryOp::Mul,
        T::Slash => BinaryOp::Div,
        T::Percent => BinaryOp::Mod,
        _ => return None,
    })
}

/// Tokens after which the next line still continues the same statement.
fn continues(kind: TokenKind) -> bool {
    use TokenKind as T;
    binop(kind).is_some()
        || matches!(
            kind,
            T::Pipe
                | T::Dot
                | T::At
                | T::LParen
                | T::LBracket
                | T::Comma
                | T::Assign
                | T::Lambda
                | T::Not
                | T::Var
                | T::Dbrp
        )
}

impl Parser {
    fn new(tokens: Vec<Token>) -> Parser {
        let mut toks: Vec<PTok> = Vec::with_capacity(tokens.len());
        let mut group: Option<Comment> = None;
        let mut last_line = 0;
        for tok in tokens {
            if tok.kind == TokenKind::Comment {
                let c = Comment {
                    lines: vec![comment_line(&tok.text)],
                    span: tok.span,
                };
                group = merge(group, Some(c));
                continue;
            }
            let line_start = tok.span.start.line != last_line;
            last_line = tok.span.end.line;
            toks.push(PTok {
                tok,
                comment: group.take(),
                line_start,
            });
        }
        Parser {
            toks,
            pos: 0,
            diags: Vec::new(),
            pending: None,
            depth: 0,
        }
    }

    fn peek(&self) -> &Token {
        &self.toks[self.pos].tok
    }

    fn kind(&self) -> TokenKind {
        self.peek().kind
    }

    /// End of the last consumed token.
    fn prev_end(&self) -> Pos {
        if self.pos == 0 {
            self.peek().span.start
        } else {
            self.toks[self.pos - 1].tok.span.end
        }
    }

    /// Consumes the current token (never moves past `Eof`). An unattached comment moves to
    /// `pending`.
    fn bump(&mut self) -> Token {
        let t = &mut self.toks[self.pos];
        let c = t.comment.take();
        let tok = t.tok.clone();
        self.pending = merge(self.pending.take(), c);
        if tok.kind != TokenKind::Eof {
            self.pos += 1;
        }
        tok
    }

    /// Takes the comments waiting for a node that starts at the current token.
    fn take_comment(&mut self) -> Option<Comment> {
        let own = self.toks[self.pos].comment.take();
        merge(self.pending.take(), own)
    }

    fn error_here(&mut self, expected: &str) {
        let t = self.peek();
        let (code, found) = if t.kind == TokenKind::Eof {
            (codes::UNEXPECTED_EOF, "end of input".to_string())
        } else {
            (codes::UNEXPECTED_TOKEN, t.describe())
        };
        let d = Diagnostic::error(
            code,
            format!("unexpected {found}, expected {expected}"),
            t.span,
        )
        .with_label(format!("expected {expected}"));
        self.diags.push(d);
    }

    fn expect(&mut self, kind: TokenKind, expected: &str) -> PResult<Token> {
        if self.kind() == kind {
            Ok(self.bump())
        } else {
            self.error_here(expected);
            Err(())
        }
    }

    fn program(&mut self) -> Program {
        let mut stmts = Vec::new();
        while self.kind() != TokenKind::Eof {
            let start = self.pos;
            match self.statement() {
                Ok(s) => stmts.push(s),
                Err(()) => self.sync(start),
            }
        }
        let trailing_comment = self.take_comment();
        Program {
            stmts,
            trailing_comment,
        }
    }

    /// Skips to the next plausible statement start, always making progress.
    fn sync(&mut self, start: usize) {
        if self.pos == start {
            self.bump();
        }
        while self.kind() != TokenKind::Eof {
            let t = &self.toks[self.pos];
            let prev = self.toks[self.pos - 1].tok.kind;
            match t.tok.kind {
                TokenKind::Var | TokenKind::Dbrp => break,
                TokenKind::Ident if t.line_start && !continues(prev) => break,
                _ => {
                    self.bump();
                }
            }
        }
        self.pending = None;
        self.depth = 0;
    }

    fn ident(&mut self, expected: &str) -> PResult<Ident> {
        let t = self.expect(TokenKind::Ident, expected)?;
        Ok(Ident {
            name: t.text,
            span: t.span,
        })
    }

    fn statement(&mut self) -> PResult<Stmt> {
        let comment = self.take_comment();
        let start = self.peek().span.start;
        match self.kind() {
            TokenKind::Var => {
                self.bump();
                let name = self.ident("a variable name after `var`")?;
                match self.kind() {
                    TokenKind::Assign => {
                        self.bump();
                        let value = self.expr()?;
                        Ok(Stmt::Decl {
                            comment,
                            name,
                            value,
                            span: Span::new(start, self.prev_end()),
                        })
                    }
                    TokenKind::Ident => {
                        let ty = self.ident("a type")?;
                        Ok(Stmt::TypeDecl {
                            comment,
                            name,
                            ty,
                            span: Span::new(start, self.prev_end()),
                        })
                    }
                    _ => {
                        let exp = format!("`=` or a type name after `var {}`", name.name);
                        self.error_here(&exp);
                        Err(())
                    }
                }
            }
            TokenKind::Dbrp => {
                self.bump();
                let db =
                    self.expect(TokenKind::Ref, "a double-quoted database name after `dbrp`")?;
                self.expect(TokenKind::Dot, "`.` between database and retention policy")?;
                let rp = self.expect(TokenKind::Ref, "a double-quoted retention policy")?;
                Ok(Stmt::Dbrp {
                    comment,
                    db: unquote(&db.text, '"'),
                    rp: unquote(&rp.text, '"'),
                    span: Span::new(start, self.prev_end()),
                })
            }
            _ => {
                let expr = self.expr()?;
                Ok(Stmt::Expr { comment, expr })
            }
        }
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.binary(0)
    }

    fn binary(&mut self, min: u8) -> PResult<Expr> {
        let start = self.peek().span.start;
        let mut lhs = self.unary()?;
        while let Some(op) = binop(self.kind()) {
            if op.precedence() < min {
                break;
            }
            lhs = self.binary_rhs(lhs, op, start)?;
        }
        Ok(lhs)
    }

    /// Parses the operator and right operand of `lhs OP rhs`.
    fn binary_rhs(&mut self, lhs: Expr, op: BinaryOp, start: Pos) -> PResult<Expr> {
        let lhs_end = self.prev_end();
        let op_span = self.bump().span;
        let rhs_start = self.peek().span.start;
        let rhs = self.binary(op.precedence() + 1)?;
        let multiline = rhs_start.line != lhs_end.line;
        let kind = ExprKind::Binary {
            op,
            op_span,
            left: Box::new(lhs),
            right: Box::new(rhs),
            multiline,
        };
        Ok(Expr::new(kind, Span::new(start, self.prev_end())))
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.depth >= MAX_DEPTH {
            let t = self.peek().span;
            self.diags.push(Diagnostic::error(
                codes::BAD_STATEMENT,
                format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
                t,
            ));
            return Err(());
        }
        self.depth += 1;
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self) -> PResult<Expr> {
        let op = match self.kind() {
            TokenKind::Minus => UnaryOp::Neg,
            TokenKind::Not => UnaryOp::Not,
            _ => return self.postfix(),
        };
        let comment = self.take_comment();
        let start = self.bump().span.start;
        let operand = self.unary()?;
        let mut e = Expr::new(
            ExprKind::Unary {
                op,
                expr: Box::new(operand),
            },
            Span::new(start, self.prev_end()),
        );
        e.comment = comment;
        Ok(e)
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let start = self.peek().span.start;
        let mut e = self.primary()?;
        // Like Kapacitor's grammar, only identifiers and function calls start chains.
        if !matches!(e.kind, ExprKind::Ident(_) | ExprKind::Call(_)) || e.parens {
            return Ok(e);
        }
        while let Some(op) = match self.kind() {
            TokenKind::Pipe => Some(ChainOp::Pipe),
            TokenKind::Dot => Some(ChainOp::Dot),
            TokenKind::At => Some(ChainOp::At),
            _ => None,
        } {
            e = self.link(e, op, start)?;
        }
        Ok(e)
    }

    /// One chain link `|name(...)`, `.name(...)`, `.name` or `@name(...)` applied to `left`.
    fn link(&mut self, left: Expr, op: ChainOp, start: Pos) -> PResult<Expr> {
        let comment = self.take_comment();
        let op_span = self.bump().span;
        let what = match op {
            ChainOp::Pipe => "a node name after `|`",
            ChainOp::Dot => "a property name after `.`",
            ChainOp::At => "a UDF name after `@`",
        };
        let name = self.ident(what)?;
        let call = if self.kind() == TokenKind::LParen {
            self.call(name)?
        } else if op == ChainOp::Dot {
            let span = name.span;
            Call {
                name,
                args: Vec::new(),
                multiline: false,
                has_parens: false,
                span,
            }
        } else {
            let exp = format!("`(` after `{}{}`", op.as_str(), name.name);
            self.error_here(&exp);
            return Err(());
        };
        let kind = ExprKind::Chain {
            left: Box::new(left),
            op,
            op_span,
            call,
        };
        let mut e = Expr::new(kind, Span::new(start, self.prev_end()));
        e.comment = comment;
        Ok(e)
    }

    fn call(&mut self, name: Ident) -> PResult<Call> {
        self.bump(); // `(`
        let mut args = Vec::new();
        let mut last_arg_line = None;
        if self.kind() != TokenKind::RParen {
            loop {
                last_arg_line = Some(self.peek().span.start.line);
                args.push(self.expr()?);
                match self.kind() {
                    TokenKind::Comma => {
                        self.bump();
                    }
                    TokenKind::RParen => break,
                    _ => {
                        let exp = format!("`,` or `)` in the arguments of `{}`", name.name);
                        self.error_here(&exp);
                        return Err(());
                    }
                }
            }
        }
        self.expect(TokenKind::RParen, "`)`")?;
        let multiline = last_arg_line.is_some_and(|l| l != name.span.start.line);
        let span = Span::new(name.span.start, self.prev_end());
        Ok(Call {
            name,
            args,
            multiline,
            has_parens: true,
            span,
        })
    }

    fn primary(&mut self) -> PResult<Expr> {
        let comment = self.take_comment();
        let start = self.peek().span.start;
        let kind = match self.kind() {
            TokenKind::LParen => return self.paren(comment),
            TokenKind::Ident => self.ident_or_call()?,
            TokenKind::LBracket => self.list()?,
            TokenKind::Lambda => {
                self.bump();
                ExprKind::Lambda(Box::new(self.expr()?))
            }
            _ => self.literal()?,
        };
        let mut e = Expr::new(kind, Span::new(start, self.prev_end()));
        e.comment = comment;
        Ok(e)
    }

    fn paren(&mut self, comment: Option<Comment>) -> PResult<Expr> {
        self.bump();
        let mut inner = self.expr()?;
        self.expect(TokenKind::RParen, "`)` to close `(`")?;
        inner.parens = true;
        inner.comment = merge(comment, inner.comment.take());
        Ok(inner)
    }

    fn ident_or_call(&mut self) -> PResult<ExprKind> {
        let tok = self.bump();
        if self.kind() == TokenKind::LParen {
            Ok(ExprKind::Call(self.call(Ident {
                name: tok.text,
                span: tok.span,
            })?))
        } else {
            Ok(ExprKind::Ident(tok.text))
        }
    }

    fn list(&mut self) -> PResult<ExprKind> {
        self.bump();
        let mut items = Vec::new();
        if self.kind() != TokenKind::RBracket {
            loop {
                items.push(self.expr()?);
                match self.kind() {
                    TokenKind::Comma => {
                        self.bump();
                    }
                    TokenKind::RBracket => break,
                    _ => {
                        self.error_here("`,` or `]` in a list");
                        return Err(());
                    }
                }
            }
        }
        self.expect(TokenKind::RBracket, "`]`")?;
        Ok(ExprKind::List(items))
    }

    /// A literal token (not recursive, so its frame is not on the nesting path).
    fn literal(&mut self) -> PResult<ExprKind> {
        let kind = match self.kind() {
            TokenKind::Int
            | TokenKind::Float
            | TokenKind::Duration
            | TokenKind::Str
            | TokenKind::Ref
            | TokenKind::Regex
            | TokenKind::True
            | TokenKind::False
            | TokenKind::Star => self.kind(),
            _ => {
                self.error_here("an expression");
                return Err(());
            }
        };
        let text = self.bump().text;
        Ok(match kind {
            TokenKind::Int => ExprKind::Int {
                value: int_value(&text).unwrap_or(0),
                literal: text,
            },
            TokenKind::Float => ExprKind::Float {
                value: float_value(&text).unwrap_or(0.0),
                literal: text,
            },
            TokenKind::Duration => ExprKind::Duration {
                ns: duration_value(&text).unwrap_or(0),
                literal: text,
            },
            TokenKind::Str => {
                let (value, triple) = string_value(&text);
                ExprKind::Str { value, triple }
            }
            TokenKind::Ref => ExprKind::Ref(unquote(&text, '"')),
            TokenKind::Regex => ExprKind::Regex(unquote(&text, '/')),
            TokenKind::True => ExprKind::Bool(true),
            TokenKind::False => ExprKind::Bool(false),
            _ => ExprKind::Star,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_nests_left() {
        let (p, d) = parse("stream|from().measurement('x')|window()");
        assert!(d.is_empty(), "{d:?}");
        let Stmt::Expr { expr, .. } = &p.stmts[0] else {
            panic!("not an expr")
        };
        let ExprKind::Chain { left, op, call, .. } = &expr.kind else {
            panic!("not a chain")
        };
        assert_eq!((*op, call.name.name.as_str()), (ChainOp::Pipe, "window"));
        let ExprKind::Chain { op, call, .. } = &left.kind else {
            panic!("not a chain")
        };
        assert_eq!(
            (*op, call.name.name.as_str()),
            (ChainOp::Dot, "measurement")
        );
    }

    #[test]
    fn recovers_and_reports_all() {
        let (p, d) = parse("var x = )\nvar y = 1\nstream|from(\nvar z = (1");
        assert_eq!(d.len(), 3, "{d:?}");
        assert_eq!(p.stmts.len(), 1);
    }
}
