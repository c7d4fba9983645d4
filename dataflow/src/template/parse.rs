//! Lexer and recursive-descent parser for Go `text/template` syntax.

use super::TemplateError;
use super::funcs::Funcs;

/// Maximum nesting of control structures and parentheses.
pub(crate) const MAX_DEPTH: usize = 100;

/// A node of the parsed template.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal text.
    Text(String),
    /// `{{ pipeline }}`: printed unless it declares or assigns variables.
    Action(Pipe),
    /// `{{ if }}` / `{{ with }}`.
    IfWith {
        is_with: bool,
        pipe: Pipe,
        body: Vec<Node>,
        els: Vec<Node>,
    },
    /// `{{ range }}`.
    Range {
        pipe: Pipe,
        body: Vec<Node>,
        els: Vec<Node>,
    },
    /// `{{ break }}`.
    Break,
    /// `{{ continue }}`.
    Continue,
}

/// A pipeline: optional variable declaration/assignment, then commands joined by `|`.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub(crate) decl: Vec<String>,
    pub(crate) assign: bool,
    pub(crate) cmds: Vec<Cmd>,
}

/// One command of a pipeline.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    /// Byte offset in the template text.
    pub(crate) pos: usize,
    /// The command's source text, for error contexts (`at <...>`).
    pub(crate) ctx: String,
    pub(crate) args: Vec<Operand>,
}

/// An operand of a command.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Ident(String),
    Dot,
    Nil,
    Bool(bool),
    Str(String),
    Int(i64),
    Float(f64),
    /// `.A.B` relative to dot.
    Field(Vec<String>),
    /// `$x.A.B`.
    Var(String, Vec<String>),
    /// `(pipeline).A.B`.
    Pipe(Box<Pipe>, Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Text(String),
    Left,
    Right,
    Space,
    Ident(String),
    Field(String),
    Dot,
    Var(String),
    Str(String),
    Char(char),
    Num(String),
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    Comma,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Text(_) => "text".into(),
            Tok::Left => "\"{{\"".into(),
            Tok::Right => "\"}}\"".into(),
            Tok::Space => "space".into(),
            Tok::Ident(s) | Tok::Num(s) => format!("{s:?}"),
            Tok::Field(s) => format!("<.{s}>"),
            Tok::Dot => "<.>".into(),
            Tok::Var(s) => format!("{s:?}"),
            Tok::Str(s) => format!("{s:?}"),
            Tok::Char(c) => format!("{c:?}"),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::Pipe => "\"|\"".into(),
            Tok::Declare => "\":=\"".into(),
            Tok::Assign => "\"=\"".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Eof => "EOF".into(),
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    toks: Vec<(Tok, usize)>,
    name: &'s str,
}

impl<'s> Lexer<'s> {
    fn err(&self, pos: usize, msg: impl Into<String>) -> TemplateError {
        TemplateError::parse(self.name, self.src, pos, msg.into())
    }

    fn rest(&self) -> &'s str {
        &self.src[self.pos..]
    }

    fn at_right_delim(&self) -> Option<(bool, usize)> {
        let r = self.rest().as_bytes();
        if r.len() >= 4 && is_space(r[0]) && r[1] == b'-' && &r[2..4] == b"}}" {
            return Some((true, 4));
        }
        if r.starts_with(b"}}") {
            return Some((false, 2));
        }
        None
    }

    fn lex(mut self) -> Result<Vec<(Tok, usize)>, TemplateError> {
        let mut trim_next = false;
        loop {
            if trim_next {
                let skip = self.rest().len()
                    - self
                        .rest()
                        .trim_start_matches([' ', '\t', '\r', '\n'])
                        .len();
                self.pos += skip;
            }
            let Some(idx) = self.rest().find("{{") else {
                if !self.rest().is_empty() {
                    self.toks
                        .push((Tok::Text(self.rest().to_owned()), self.pos));
                }
                self.toks.push((Tok::Eof, self.src.len()));
                return Ok(self.toks);
            };
            let start = self.pos + idx;
            let after = &self.src[start + 2..];
            let trim_left =
                after.len() >= 2 && after.as_bytes()[0] == b'-' && is_space(after.as_bytes()[1]);
            let mut text = &self.src[self.pos..start];
            if trim_left {
                text = text.trim_end_matches([' ', '\t', '\r', '\n']);
            }
            if !text.is_empty() {
                self.toks.push((Tok::Text(text.to_owned()), self.pos));
            }
            self.pos = start + 2 + if trim_left { 2 } else { 0 };
            // Comment.
            if self.rest().starts_with("/*") {
                let Some(end) = self.rest().find("*/") else {
                    return Err(self.err(start, "unclosed comment"));
                };
                self.pos += end + 2;
                match self.at_right_delim() {
                    Some((trim, n)) => {
                        self.pos += n;
                        trim_next = trim;
                        continue;
                    }
                    None => return Err(self.err(start, "comment ends before closing delimiter")),
                }
            }
            self.toks.push((Tok::Left, start));
            trim_next = self.lex_action(start)?;
        }
    }

    /// Lexes inside an action up to and including the right delimiter; returns whether the
    /// right trim marker was present.
    fn lex_action(&mut self, start: usize) -> Result<bool, TemplateError> {
        let mut parens = 0usize;
        loop {
            if let Some((trim, n)) = self.at_right_delim() {
                if parens > 0 {
                    return Err(self.err(self.pos, "unclosed left paren"));
                }
                self.toks.push((Tok::Right, self.pos));
                self.pos += n;
                return Ok(trim);
            }
            let p = self.pos;
            let Some(c) = self.rest().chars().next() else {
                return Err(self.err(start, "unclosed action"));
            };
            let b = self.rest().as_bytes();
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    while let Some(&b0) = self.rest().as_bytes().first() {
                        if !is_space(b0) || self.at_right_delim().is_some_and(|(t, _)| t) {
                            break;
                        }
                        self.pos += 1;
                    }
                    self.toks.push((Tok::Space, p));
                }
                '(' => {
                    parens += 1;
                    self.pos += 1;
                    self.toks.push((Tok::LParen, p));
                }
                ')' => {
                    if parens == 0 {
                        return Err(self.err(p, "unexpected right paren"));
                    }
                    parens -= 1;
                    self.pos += 1;
                    self.toks.push((Tok::RParen, p));
                }
                '|' => {
                    self.pos += 1;
                    self.toks.push((Tok::Pipe, p));
                }
                ',' => {
                    self.pos += 1;
                    self.toks.push((Tok::Comma, p));
                }
                ':' => {
                    if b.get(1) != Some(&b'=') {
                        return Err(self.err(p, "expected :="));
                    }
                    self.pos += 2;
                    self.toks.push((Tok::Declare, p));
                }
                '=' => {
                    self.pos += 1;
                    self.toks.push((Tok::Assign, p));
                }
                '"' => {
                    let s = self.lex_quote(p)?;
                    self.toks.push((Tok::Str(s), p));
                }
                '`' => {
                    let Some(end) = self.rest()[1..].find('`') else {
                        return Err(self.err(p, "unterminated raw quoted string"));
                    };
                    let s = self.rest()[1..1 + end].to_owned();
                    self.pos += end + 2;
                    self.toks.push((Tok::Str(s), p));
                }
                '\'' => {
                    let c = self.lex_char(p)?;
                    self.toks.push((Tok::Char(c), p));
                }
                '$' => {
                    let len = 1 + self.ident_len(1);
                    let name = self.rest()[..len].to_owned();
                    self.pos += len;
                    self.toks.push((Tok::Var(name), p));
                }
                '.' => {
                    if b.get(1).is_some_and(u8::is_ascii_digit) {
                        let n = self.lex_number(p)?;
                        self.toks.push((Tok::Num(n), p));
                    } else {
                        let len = self.ident_len(1);
                        if len == 0 {
                            self.pos += 1;
                            self.toks.push((Tok::Dot, p));
                        } else {
                            let name = self.rest()[1..1 + len].to_owned();
                            self.pos += 1 + len;
                            self.toks.push((Tok::Field(name), p));
                        }
                    }
                }
                '0'..='9' => {
                    let n = self.lex_number(p)?;
                    self.toks.push((Tok::Num(n), p));
                }
                '+' | '-' if b.get(1).is_some_and(|c| c.is_ascii_digit() || *c == b'.') => {
                    let n = self.lex_number(p)?;
                    self.toks.push((Tok::Num(n), p));
                }
                c if is_alnum(c) => {
                    let len = self.ident_len(0);
                    let name = self.rest()[..len].to_owned();
                    self.pos += len;
                    self.toks.push((Tok::Ident(name), p));
                }
                c => {
                    return Err(self.err(
                        p,
                        format!("unrecognized character in action: U+{:04X} {c:?}", c as u32),
                    ));
                }
            }
        }
    }

    /// Length in bytes of the identifier starting `off` bytes into the rest.
    fn ident_len(&self, off: usize) -> usize {
        self.rest()[off..]
            .char_indices()
            .find(|&(_, c)| !is_alnum(c))
            .map_or(self.rest().len() - off, |(i, _)| i)
    }

    fn lex_number(&mut self, p: usize) -> Result<String, TemplateError> {
        let r = self.rest().as_bytes();
        let mut i = 0;
        if matches!(r.first(), Some(b'+' | b'-')) {
            i += 1;
        }
        while i < r.len() {
            let c = r[i];
            let exp_sign = matches!(c, b'+' | b'-')
                && i > 0
                && matches!(r[i - 1], b'e' | b'E' | b'p' | b'P')
                && !(r.get(1).is_some_and(|x| matches!(x, b'x' | b'X'))
                    && matches!(r[i - 1], b'e' | b'E'));
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exp_sign {
                i += 1;
            } else {
                break;
            }
        }
        let s = self.rest()[..i].to_owned();
        self.pos += i;
        if let Some(c) = self.rest().chars().next().filter(|&c| is_alnum(c)) {
            let text = &self.src[p..self.pos + c.len_utf8()];
            return Err(self.err(p, format!("bad number syntax: {text:?}")));
        }
        Ok(s)
    }

    fn lex_quote(&mut self, p: usize) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut chars = self.rest()[1..].char_indices();
        loop {
            let Some((i, c)) = chars.next() else {
                return Err(self.err(p, "unterminated quoted string"));
            };
            match c {
                '"' => {
                    self.pos += 1 + i + 1;
                    return Ok(out);
                }
                '\n' => return Err(self.err(p, "unterminated quoted string")),
                '\\' => {
                    let Some(c) = unescape(&mut chars, '"') else {
                        return Err(self.err(p, "invalid syntax in quoted string"));
                    };
                    out.push(c);
                }
                c => out.push(c),
            }
        }
    }

    fn lex_char(&mut self, p: usize) -> Result<char, TemplateError> {
        let mut chars = self.rest()[1..].char_indices();
        let c = match chars.next() {
            Some((_, '\\')) => unescape(&mut chars, '\''),
            Some((_, '\'')) | Some((_, '\n')) | None => None,
            Some((_, c)) => Some(c),
        };
        match (c, chars.next()) {
            (Some(c), Some((i, '\''))) => {
                self.pos += 1 + i + 1;
                Ok(c)
            }
            _ => Err(self.err(p, "malformed character constant")),
        }
    }
}

/// Decodes one Go escape sequence (after the backslash).
fn unescape(chars: &mut std::str::CharIndices<'_>, quote: char) -> Option<char> {
    let (_, c) = chars.next()?;
    let hex = |chars: &mut std::str::CharIndices<'_>, n: usize| -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = v * 16 + chars.next()?.1.to_digit(16)?;
        }
        Some(v)
    };
    Some(match c {
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{b}',
        '\\' => '\\',
        c if c == quote => c,
        'x' => char::from_u32(hex(chars, 2)?)?,
        'u' => char::from_u32(hex(chars, 4)?)?,
        'U' => char::from_u32(hex(chars, 8)?)?,
        '0'..='7' => {
            let mut v = c.to_digit(8)?;
            for _ in 0..2 {
                v = v * 8 + chars.next()?.1.to_digit(8)?;
            }
            if v > 255 {
                return None;
            }
            char::from_u32(v)?
        }
        _ => return None,
    })
}

/// How a list of nodes ended.
enum Ending {
    Eof,
    End(usize),
    Else(usize),
}

pub(crate) struct Parser<'s> {
    name: &'s str,
    src: &'s str,
    toks: Vec<(Tok, usize)>,
    i: usize,
    vars: Vec<String>,
    funcs: &'s Funcs,
    depth: usize,
    range_depth: usize,
}

/// Parses template text into nodes.
pub(crate) fn parse(name: &str, src: &str, funcs: &Funcs) -> Result<Vec<Node>, TemplateError> {
    let toks = Lexer {
        src,
        pos: 0,
        toks: Vec::new(),
        name,
    }
    .lex()?;
    let mut p = Parser {
        name,
        src,
        toks,
        i: 0,
        vars: vec!["$".to_owned()],
        funcs,
        depth: 0,
        range_depth: 0,
    };
    let (nodes, end) = p.list()?;
    match end {
        Ending::Eof => Ok(nodes),
        Ending::End(pos) => Err(p.err(pos, "unexpected {{end}}")),
        Ending::Else(pos) => Err(p.err(pos, "unexpected {{else}}")),
    }
}

impl Parser<'_> {
    fn err(&self, pos: usize, msg: impl Into<String>) -> TemplateError {
        TemplateError::parse(self.name, self.src, pos, msg.into())
    }

    fn err_prev(&self, msg: impl Into<String>) -> TemplateError {
        let pos = self.toks.get(self.i.saturating_sub(1)).map_or(0, |t| t.1);
        self.err(pos, msg)
    }

    fn peek(&self) -> &Tok {
        self.toks.get(self.i).map_or(&Tok::Eof, |t| &t.0)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.src.len(), |t| t.1)
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn skip_space(&mut self) {
        while *self.peek() == Tok::Space {
            self.i += 1;
        }
    }

    fn peek_non_space(&mut self) -> &Tok {
        self.skip_space();
        self.peek()
    }

    fn expect_right(&mut self, ctx: &str) -> Result<(), TemplateError> {
        match self.peek_non_space() {
            Tok::Right => {
                self.i += 1;
                Ok(())
            }
            t => {
                let d = t.describe();
                Err(self.err(self.pos(), format!("unexpected {d} in {ctx}")))
            }
        }
    }

    fn enter(&mut self) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(self.pos(), "template nesting too deep"));
        }
        Ok(())
    }

    fn list(&mut self) -> Result<(Vec<Node>, Ending), TemplateError> {
        let mut nodes = Vec::new();
        loop {
            match self.next() {
                Tok::Eof => return Ok((nodes, Ending::Eof)),
                Tok::Text(t) => nodes.push(Node::Text(t)),
                Tok::Left => {
                    if let Some(end) = self.action(&mut nodes)? {
                        return Ok((nodes, end));
                    }
                }
                t => {
                    let d = t.describe();
                    return Err(self.err_prev(format!("unexpected {d}")));
                }
            }
        }
    }

    /// Parses one action after `{{`; returns `Some` when it is `{{end}}` or `{{else}}`.
    fn action(&mut self, nodes: &mut Vec<Node>) -> Result<Option<Ending>, TemplateError> {
        let kw = match self.peek_non_space() {
            Tok::Ident(k) => k.clone(),
            _ => String::new(),
        };
        match kw.as_str() {
            "end" => {
                let pos = self.pos();
                self.i += 1;
                self.expect_right("end")?;
                Ok(Some(Ending::End(pos)))
            }
            "else" => {
                let pos = self.pos();
                self.i += 1;
                // `else if` / `else with` keep the `else` open: the caller sees the keyword.
                if !matches!(self.peek_non_space(), Tok::Ident(k) if k == "if" || k == "with") {
                    self.expect_right("else")?;
                }
                Ok(Some(Ending::Else(pos)))
            }
            "if" | "with" | "range" => {
                self.i += 1;
                let node = self.control(&kw)?;
                nodes.push(node);
                Ok(None)
            }
            "break" | "continue" => {
                self.i += 1;
                if self.range_depth == 0 {
                    return Err(self.err_prev(format!("{{{{{kw}}}}} outside {{{{range}}}}")));
                }
                self.expect_right(&kw)?;
                nodes.push(if kw == "break" {
                    Node::Break
                } else {
                    Node::Continue
                });
                Ok(None)
            }
            "define" | "template" | "block" => Err(self.err(
                self.pos(),
                format!("{{{{{kw}}}}} is not supported by this template engine"),
            )),
            _ => {
                let pipe = self.pipeline("command", false)?;
                nodes.push(Node::Action(pipe));
                Ok(None)
            }
        }
    }

    fn control(&mut self, kw: &str) -> Result<Node, TemplateError> {
        self.enter()?;
        let mark = self.vars.len();
        let pipe = self.pipeline(kw, kw == "range")?;
        if kw == "range" {
            self.range_depth += 1;
        }
        let (body, end) = self.list()?;
        if kw == "range" {
            self.range_depth -= 1;
        }
        let els = match end {
            Ending::Eof => return Err(self.err(self.src.len(), "unexpected EOF")),
            Ending::End(_) => Vec::new(),
            Ending::Else(_) => {
                let chained = match self.peek_non_space() {
                    Tok::Ident(k) if (k == "if" || k == "with") && kw != "range" => Some(k.clone()),
                    _ => None,
                };
                if let Some(k) = chained {
                    // `{{else if x}}` = `{{else}}{{if x}}...{{end}}{{end}}` sharing one end.
                    self.i += 1;
                    vec![self.control(&k)?]
                } else {
                    let (els, end) = self.list()?;
                    match end {
                        Ending::End(_) => els,
                        Ending::Eof => return Err(self.err(self.src.len(), "unexpected EOF")),
                        Ending::Else(pos) => {
                            return Err(self.err(pos, "expected end; found {{else}}"));
                        }
                    }
                }
            }
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(match kw {
            "range" => Node::Range { pipe, body, els },
            _ => Node::IfWith {
                is_with: kw == "with",
                pipe,
                body,
                els,
            },
        })
    }

    /// Parses a pipeline up to `}}` (consumed) or `)` (not consumed).
    fn pipeline(&mut self, ctx: &str, multi_decl: bool) -> Result<Pipe, TemplateError> {
        let mut decl = Vec::new();
        let mut assign = false;
        if let Tok::Var(v) = self.peek_non_space().clone() {
            let vpos = self.pos();
            let save = self.i;
            self.i += 1;
            match self.peek_non_space() {
                Tok::Declare | Tok::Assign => {
                    assign = *self.peek() == Tok::Assign;
                    self.i += 1;
                    if assign {
                        if !self.vars.contains(&v) {
                            return Err(self.err(vpos, format!("undefined variable {v:?}")));
                        }
                    } else {
                        self.vars.push(v.clone());
                    }
                    decl.push(v);
                }
                Tok::Comma if multi_decl => {
                    self.i += 1;
                    let Tok::Var(v2) = self.peek_non_space().clone() else {
                        return Err(self.err(self.pos(), format!("bad declaration in {ctx}")));
                    };
                    self.i += 1;
                    if !matches!(self.peek_non_space(), Tok::Declare | Tok::Assign) {
                        return Err(self.err(self.pos(), format!("missing := in {ctx}")));
                    }
                    assign = *self.peek() == Tok::Assign;
                    self.i += 1;
                    for x in [&v, &v2] {
                        if assign {
                            if !self.vars.contains(x) {
                                return Err(self.err(vpos, format!("undefined variable {x:?}")));
                            }
                        } else {
                            self.vars.push(x.clone());
                        }
                    }
                    decl.push(v);
                    decl.push(v2);
                }
                Tok::Comma => {
                    return Err(self.err(self.pos(), format!("too many declarations in {ctx}")));
                }
                _ => self.i = save,
            }
        }
        let mut cmds: Vec<Cmd> = Vec::new();
        loop {
            match self.peek_non_space() {
                Tok::Right => {
                    self.i += 1;
                    break;
                }
                Tok::RParen => break,
                Tok::Eof => return Err(self.err(self.pos(), format!("unclosed action in {ctx}"))),
                _ => {
                    let cmd = self.command()?;
                    if !cmds.is_empty()
                        && matches!(
                            cmd.args[0],
                            Operand::Bool(_)
                                | Operand::Dot
                                | Operand::Nil
                                | Operand::Int(_)
                                | Operand::Float(_)
                                | Operand::Str(_)
                        )
                    {
                        return Err(self.err(
                            cmd.pos,
                            format!(
                                "non executable command in pipeline stage {}",
                                cmds.len() + 1
                            ),
                        ));
                    }
                    cmds.push(cmd);
                }
            }
        }
        if cmds.is_empty() {
            return Err(self.err_prev(format!("missing value for {ctx}")));
        }
        Ok(Pipe { decl, assign, cmds })
    }

    fn command(&mut self) -> Result<Cmd, TemplateError> {
        let pos = self.pos();
        let mut args = Vec::new();
        let mut end;
        loop {
            self.skip_space();
            let op = self.operand()?;
            end = self.pos();
            args.push(op);
            match self.peek() {
                Tok::Space => {
                    self.skip_space();
                    match self.peek() {
                        Tok::Right | Tok::RParen => break,
                        Tok::Pipe => {
                            self.i += 1;
                            break;
                        }
                        _ => {}
                    }
                }
                Tok::Right | Tok::RParen => break,
                Tok::Pipe => {
                    self.i += 1;
                    break;
                }
                t => {
                    let d = t.describe();
                    return Err(self.err(self.pos(), format!("unexpected {d} in operand")));
                }
            }
        }
        let ctx = self.src.get(pos..end).unwrap_or("").trim().to_owned();
        Ok(Cmd { pos, ctx, args })
    }

    fn operand(&mut self) -> Result<Operand, TemplateError> {
        let pos = self.pos();
        let term = match self.next() {
            Tok::Ident(name) => match name.as_str() {
                "true" => Operand::Bool(true),
                "false" => Operand::Bool(false),
                "nil" => Operand::Nil,
                "if" | "else" | "end" | "range" | "with" | "define" | "template" | "block"
                | "break" | "continue" => {
                    return Err(self.err(pos, format!("unexpected <{name}> in operand")));
                }
                _ => {
                    if !self.funcs.is_defined(&name) {
                        return Err(self.err(pos, format!("function {name:?} not defined")));
                    }
                    Operand::Ident(name)
                }
            },
            Tok::Dot => Operand::Dot,
            Tok::Field(f) => Operand::Field(vec![f]),
            Tok::Var(v) => {
                if !self.vars.contains(&v) {
                    return Err(self.err(pos, format!("undefined variable {v:?}")));
                }
                Operand::Var(v, Vec::new())
            }
            Tok::Str(s) => Operand::Str(s),
            Tok::Char(c) => Operand::Int(i64::from(u32::from(c))),
            Tok::Num(n) => self.number(pos, &n)?,
            Tok::LParen => {
                self.enter()?;
                let p = self.pipeline("parenthesized pipeline", false)?;
                self.depth -= 1;
                if self.next() != Tok::RParen {
                    return Err(self.err(pos, "unclosed left paren"));
                }
                Operand::Pipe(Box::new(p), Vec::new())
            }
            t => {
                let d = t.describe();
                return Err(self.err(pos, format!("unexpected {d} in operand")));
            }
        };
        // Field chain.
        let mut chain = Vec::new();
        while let Tok::Field(f) = self.peek() {
            chain.push(f.clone());
            self.i += 1;
        }
        if chain.is_empty() {
            return Ok(term);
        }
        Ok(match term {
            Operand::Field(mut p) => {
                p.extend(chain);
                Operand::Field(p)
            }
            Operand::Var(v, _) => Operand::Var(v, chain),
            Operand::Pipe(p, _) => Operand::Pipe(p, chain),
            _ => return Err(self.err(pos, "unexpected . after term")),
        })
    }

    fn number(&self, pos: usize, n: &str) -> Result<Operand, TemplateError> {
        let bad = || self.err(pos, format!("illegal number syntax: {n:?}"));
        let clean: String = n.chars().filter(|&c| c != '_').collect();
        let (neg, body) = match clean.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
        };
        let lower = body.to_ascii_lowercase();
        let radix = if lower.starts_with("0x") {
            Some(16)
        } else if lower.starts_with("0o") {
            Some(8)
        } else if lower.starts_with("0b") {
            Some(2)
        } else {
            None
        };
        if let Some(r) = radix {
            let v = i64::from_str_radix(&body[2..], r).map_err(|_| bad())?;
            return Ok(Operand::Int(if neg { -v } else { v }));
        }
        if body.contains(['.', 'e', 'E']) {
            let v: f64 = body.parse().map_err(|_| bad())?;
            return Ok(Operand::Float(if neg { -v } else { v }));
        }
        if body.len() > 1 && body.starts_with('0') && body.bytes().all(|b| b.is_ascii_digit()) {
            let v = i64::from_str_radix(&body[1..], 8).map_err(|_| bad())?;
            return Ok(Operand::Int(if neg { -v } else { v }));
        }
        let text = if neg {
            format!("-{body}")
        } else {
            body.to_owned()
        };
        text.parse::<i64>().map(Operand::Int).map_err(|_| bad())
    }
}
