//! Hand-written TICKscript lexer (Kapacitor 1.8 `tick/ast/lex.go`).
//!
//! [`lex`] turns a source into tokens, each with a [`Span`] (byte offset, 1-based line and
//! character column). Comments are kept as [`TokenKind::Comment`] tokens. Errors become
//! diagnostics and lexing goes on, so every problem of a script is reported at once; the
//! token stream always ends with [`TokenKind::Eof`].
//!
//! Literal rules (Kapacitor's):
//! * single-quoted strings: a backslash escapes the next character while scanning, and only
//!   `\'` is unescaped (to `'`); every other backslash stays as written;
//! * triple-quoted strings `'''...'''` are raw and may span lines;
//! * references `"..."`: only `\"` is unescaped;
//! * regexes `/.../`: only `\/` is unescaped. A `/` starts a regex only where an operand is
//!   expected (after an operator, `(`, `,`, `[`, `=`, `lambda:`, ...), otherwise it divides;
//! * integers with a leading `0` are octal (`08` is an error); floats are `1.5`, `1.`, `.5`;
//! * durations are an integer plus one of `u µ ms s m h d w` (`1.5s` is an error).

use crate::diagnostic::{Diagnostic, codes};
use crate::span::{Pos, Span};
use crate::token::{Token, TokenKind};

/// Lexes a whole source. The returned tokens include comments and end with `Eof`.
pub fn lex(src: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lx = Lexer {
        src,
        pos: Pos::START,
        toks: Vec::new(),
        diags: Vec::new(),
        prev: None,
    };
    lx.run();
    (lx.toks, lx.diags)
}

struct Lexer<'a> {
    src: &'a str,
    pos: Pos,
    toks: Vec<Token>,
    diags: Vec<Diagnostic>,
    /// Kind of the previous non-comment token.
    prev: Option<TokenKind>,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn is_dur_unit(c: char) -> bool {
    matches!(c, 'u' | 'µ' | 's' | 'm' | 'h' | 'd' | 'w')
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos.offset..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos.offset..].chars().nth(n)
    }

    fn rest(&self) -> &str {
        &self.src[self.pos.offset..]
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos.offset += c.len_utf8();
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn emit(&mut self, kind: TokenKind, start: Pos) {
        let span = Span::new(start, self.pos);
        let text = span.text(self.src).to_string();
        self.toks.push(Token { kind, text, span });
        if kind != TokenKind::Comment {
            self.prev = Some(kind);
        }
    }

    fn error(&mut self, code: &'static str, msg: impl Into<String>, start: Pos) {
        self.diags
            .push(Diagnostic::error(code, msg, Span::new(start, self.pos)));
    }

    fn operand_expected(&self) -> bool {
        !self.prev.is_some_and(TokenKind::ends_operand)
    }

    fn run(&mut self) {
        while let Some(c) = self.peek() {
            let start = self.pos;
            if c.is_whitespace() {
                self.bump();
                continue;
            }
            if is_ident_start(c) {
                self.ident(start);
                continue;
            }
            if c.is_ascii_digit() {
                self.number(start);
                continue;
            }
            match c {
                '.' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => self.number(start),
                '\'' => self.string(start),
                '"' => self.reference(start),
                '/' if self.peek_at(1) == Some('/') => self.comment(start),
                '/' if self.operand_expected() => self.regex(start),
                _ => self.punct(c, start),
            }
        }
        let end = self.pos;
        self.toks.push(Token {
            kind: TokenKind::Eof,
            text: String::new(),
            span: Span::new(end, end),
        });
    }

    fn ident(&mut self, start: Pos) {
        while self.peek().is_some_and(is_ident_char) {
            self.bump();
        }
        let word = &self.src[start.offset..self.pos.offset];
        let kind = match word {
            "var" => TokenKind::Var,
            "dbrp" => TokenKind::Dbrp,
            "TRUE" => TokenKind::True,
            "FALSE" => TokenKind::False,
            "AND" => TokenKind::And,
            "OR" => TokenKind::Or,
            "lambda" if self.peek() == Some(':') => {
                self.bump();
                TokenKind::Lambda
            }
            _ => TokenKind::Ident,
        };
        self.emit(kind, start);
    }

    fn number(&mut self, start: Pos) {
        let mut dots = 0;
        let mut kind = TokenKind::Int;
        while let Some(c) = self.peek() {
            if c == '.' {
                dots += 1;
                self.bump();
            } else if c.is_ascii_digit() {
                self.bump();
            } else {
                break;
            }
        }
        let digits_end = self.pos;
        let mut bad_suffix = false;
        if let Some(c) = self.peek()
            && is_dur_unit(c)
            && self.src[start.offset..digits_end.offset]
                .bytes()
                .any(|b| b.is_ascii_digit())
        {
            self.bump();
            if c == 'm' && self.peek() == Some('s') {
                self.bump();
            }
            kind = TokenKind::Duration;
        } else if dots > 0 {
            kind = TokenKind::Float;
        }
        // A number glued to more letters (`10sec`, `5x`) is one bad literal.
        while self.peek().is_some_and(is_ident_char) {
            bad_suffix = true;
            self.bump();
        }
        let text = &self.src[start.offset..self.pos.offset];
        let problem = if bad_suffix {
            Some(format!(
                "invalid number or duration `{text}`; duration units are `u`, `µ`, `ms`, `s`, `m`, `h`, `d` and `w`"
            ))
        } else if dots > 1 {
            Some(format!("invalid number `{text}`: multiple decimal points"))
        } else {
            match kind {
                TokenKind::Int => int_value(text).err(),
                TokenKind::Float => float_value(text).err(),
                _ => duration_value(text).err(),
            }
        };
        if let Some(msg) = problem {
            self.error(codes::BAD_NUMBER, msg, start);
        }
        self.emit(kind, start);
    }

    fn string(&mut self, start: Pos) {
        if self.rest().starts_with("'''") {
            for _ in 0..3 {
                self.bump();
            }
            loop {
                if self.rest().starts_with("'''") {
                    for _ in 0..3 {
                        self.bump();
                    }
                    break;
                }
                if self.bump().is_none() {
                    self.error(
                        codes::UNTERMINATED,
                        "unterminated triple-quoted string",
                        start,
                    );
                    break;
                }
            }
            self.emit(TokenKind::Str, start);
            return;
        }
        self.quoted(start, '\'', TokenKind::Str, "string");
    }

    fn reference(&mut self, start: Pos) {
        self.quoted(start, '"', TokenKind::Ref, "reference");
    }

    fn regex(&mut self, start: Pos) {
        self.quoted(start, '/', TokenKind::Regex, "regex");
    }

    /// Scans a literal delimited by `quote` (it may span lines). A backslash escapes the
    /// next character.
    fn quoted(&mut self, start: Pos, quote: char, kind: TokenKind, what: &str) {
        self.bump();
        loop {
            match self.bump() {
                None => {
                    self.error(codes::UNTERMINATED, format!("unterminated {what}"), start);
                    break;
                }
                Some('\\') => {
                    self.bump();
                }
                Some(c) if c == quote => break,
                Some(_) => {}
            }
        }
        self.emit(kind, start);
    }

    fn comment(&mut self, start: Pos) {
        while self.peek().is_some_and(|c| c != '\n') {
            self.bump();
        }
        self.emit(TokenKind::Comment, start);
    }

    fn punct(&mut self, c: char, start: Pos) {
        use TokenKind::*;
        self.bump();
        let next = self.peek();
        let two = |lx: &mut Self, k: TokenKind| {
            lx.bump();
            k
        };
        let kind = match (c, next) {
            ('=', Some('=')) => two(self, EqEq),
            ('=', Some('~')) => two(self, RegexMatch),
            ('=', _) => Assign,
            ('!', Some('=')) => two(self, NotEq),
            ('!', Some('~')) => two(self, RegexNotMatch),
            ('!', _) => Not,
            ('<', Some('=')) => two(self, LessEq),
            ('<', _) => Less,
            ('>', Some('=')) => two(self, GreaterEq),
            ('>', _) => Greater,
            ('*', _) => Star,
            ('[', _) => LBracket,
            (']', _) => RBracket,
            (',', _) => Comma,
            ('(', _) => LParen,
            (')', _) => RParen,
            ('|', _) => Pipe,
            ('.', _) => Dot,
            ('@', _) => At,
            (':', _) => Colon,
            ('+', _) => Plus,
            ('-', _) => Minus,
            ('/', _) => Slash,
            ('%', _) => Percent,
            _ => {
                let shown = if c.is_control() {
                    format!("{:?}", c)
                } else {
                    format!("`{c}`")
                };
                self.error(
                    codes::UNEXPECTED_CHAR,
                    format!("unexpected character {shown}"),
                    start,
                );
                return;
            }
        };
        self.emit(kind, start);
    }
}

/// The value of an integer literal: decimal, or octal with a leading `0`.
pub fn int_value(text: &str) -> Result<i64, String> {
    if text.len() > 1 && text.starts_with('0') {
        i64::from_str_radix(&text[1..], 8).map_err(|e| {
            if text.bytes().any(|b| b == b'8' || b == b'9') {
                format!("invalid octal literal `{text}` (a leading `0` means base 8)")
            } else {
                format!("integer literal `{text}` out of range: {e}")
            }
        })
    } else {
        text.parse::<i64>()
            .map_err(|_| format!("integer literal `{text}` out of range"))
    }
}

/// The value of a float literal (`1.5`, `1.`, `.5`).
pub fn float_value(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .map_err(|_| format!("invalid float literal `{text}`"))
}

/// The value of a duration literal in nanoseconds (InfluxQL units `u µ ms s m h d w`).
pub fn duration_value(text: &str) -> Result<i64, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    if num.contains('.') {
        return Err(format!(
            "invalid duration `{text}`: durations cannot have a fractional part"
        ));
    }
    let mult: i64 = match unit {
        "u" | "µ" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        "w" => 604_800_000_000_000,
        _ => return Err(format!("invalid duration `{text}`: unknown unit `{unit}`")),
    };
    num.parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("duration `{text}` out of range"))
}

/// The value of a string token's text: triple-quoted strings are raw; single-quoted ones
/// unescape only `\'`. Returns the value and whether it was triple-quoted. Unterminated
/// literals give what was written.
pub fn string_value(text: &str) -> (String, bool) {
    if text.len() >= 6 && text.starts_with("'''") && text.ends_with("'''") {
        return (text[3..text.len() - 3].to_string(), true);
    }
    if let Some(rest) = text.strip_prefix("'''") {
        return (rest.to_string(), true);
    }
    (unquote(text, '\''), false)
}

/// Strips the delimiters of a quoted literal and unescapes `\<quote>` only.
pub fn unquote(text: &str, quote: char) -> String {
    let inner = text.strip_prefix(quote).unwrap_or(text);
    let inner = if inner.ends_with(quote) && !ends_with_escape(inner) {
        &inner[..inner.len() - quote.len_utf8()]
    } else {
        inner
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n) if n == quote => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// True when the last character of `s` is escaped by an odd run of backslashes before it
/// (then it is not a closing delimiter: the literal was unterminated).
fn ends_with_escape(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let mut n = 0;
    let mut i = b.len() - 1;
    while i > 0 && b[i - 1] == b'\\' {
        n += 1;
        i -= 1;
    }
    n % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use TokenKind::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        let (t, d) = lex(src);
        assert!(d.is_empty(), "{d:?}");
        t.into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn basic_tokens() {
        assert_eq!(
            kinds("stream|from().measurement('cpu')"),
            vec![
                Ident, Pipe, Ident, LParen, RParen, Dot, Ident, LParen, Str, RParen, Eof
            ]
        );
        assert_eq!(
            kinds("lambda: \"a\" =~ /x\\/y/"),
            vec![Lambda, Ref, RegexMatch, Regex, Eof]
        );
        assert_eq!(kinds("lambda :"), vec![Ident, Colon, Eof]);
        assert_eq!(kinds("\"a\" / 2"), vec![Ref, Slash, Int, Eof]);
        assert_eq!(
            kinds("1ms 1m 1µ 1.5 .5 1."),
            vec![Duration, Duration, Duration, Float, Float, Float, Eof]
        );
        assert_eq!(
            kinds("a <= b != c !~ d ! e"),
            vec![
                Ident,
                LessEq,
                Ident,
                NotEq,
                Ident,
                RegexNotMatch,
                Ident,
                Not,
                Ident,
                Eof
            ]
        );
    }

    #[test]
    fn positions() {
        let (t, _) = lex("a\n  µb 'x'");
        assert_eq!(
            t[1].span.start,
            Pos {
                offset: 4,
                line: 2,
                column: 3
            }
        );
        assert_eq!(
            t[2].span.start,
            Pos {
                offset: 8,
                line: 2,
                column: 6
            }
        );
    }

    #[test]
    fn literal_values() {
        assert_eq!(int_value("017"), Ok(15));
        assert!(int_value("08").is_err());
        assert_eq!(duration_value("1500ms"), Ok(1_500_000_000));
        assert!(duration_value("1.5s").is_err());
        assert_eq!(string_value(r"'it\'s \n'"), ("it's \\n".to_string(), false));
        assert_eq!(string_value("'''a\n'b'''"), ("a\n'b".to_string(), true));
        assert_eq!(unquote(r#""a\"b""#, '"'), "a\"b");
    }

    #[test]
    fn errors_continue() {
        let (t, d) = lex("08 1.5s 1.2.3 10sec # 'abc");
        let codes: Vec<_> = d.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            vec!["E0003", "E0003", "E0003", "E0003", "E0001", "E0002"]
        );
        assert_eq!(t.last().map(|t| t.kind), Some(Eof));
    }
}
