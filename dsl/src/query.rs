//! InfluxQL query rewriting for batch `|query()` nodes, as Kapacitor does it (semantics §1.2).
//!
//! A [`BatchQuery`] is checked once, when the task is defined: the text must be exactly one
//! `SELECT` statement whose clauses are in InfluxQL's order. On each run, [`BatchQuery::text`]
//! gives the text sent to InfluxDB for a time range:
//!
//! * the range is ANDed to the `WHERE` condition without added parentheses, exactly as
//!   Kapacitor prints its rewritten tree (`WHERE C AND time >= '…' AND time < '…'`), so only
//!   the parentheses the user wrote survive;
//! * the query's own `GROUP BY` is always dropped and replaced by the node's `.groupBy()`
//!   dimensions (`time(10s, 0s)` with its offset printed, tags quoted only when needed, `*`);
//! * `.fill()` replaces the query's `fill(...)`, which stays otherwise;
//! * `ORDER BY`, `LIMIT`, `OFFSET`, `SLIMIT`, `SOFFSET` and `tz()` stay after them.
//!
//! Kapacitor re-prints its parsed AST; we keep the user's text otherwise as written (comments
//! dropped), which InfluxDB reads the same way.
//!
//! ```
//! use kap_dsl::plan::{Dimension, QuerySpec};
//! use kap_dsl::query::BatchQuery;
//!
//! let spec = QuerySpec {
//!     query: "SELECT mean(usage) FROM \"telegraf\".\"autogen\".cpu WHERE host = 'a' GROUP BY dc".into(),
//!     dimensions: vec![Dimension::Time { every: 10_000_000_000, offset: 0 }, Dimension::Tag("host".into())],
//!     ..QuerySpec::default()
//! };
//! let q = BatchQuery::new(&spec).unwrap();
//! assert_eq!(
//!     q.text(0, 60_000_000_000),
//!     "SELECT mean(usage) FROM \"telegraf\".\"autogen\".cpu WHERE host = 'a' \
//!      AND time >= '1970-01-01T00:00:00Z' AND time < '1970-01-01T00:01:00Z' GROUP BY time(10s, 0s), host"
//! );
//! assert_eq!(q.database().as_deref(), Some("telegraf"));
//! assert_eq!(q.group_by_time(), Some(10_000_000_000));
//! ```

use crate::expr::{format_duration, format_float};
use crate::plan::{Dimension, Fill, QuerySpec};

// ------------------------------------------------------------------------------------------
// Tokens

/// One token of InfluxQL text (a query, or a `--where` condition): its text and what it is.
/// Tokens cover the text without gaps, so it can be rebuilt exactly.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'a> {
    /// A bare identifier or keyword (dots included: `db.rp.m` is one token).
    Ident(&'a str),
    /// A double-quoted identifier, quotes included.
    QuotedIdent(&'a str),
    /// A single-quoted string, quotes included.
    Str(&'a str),
    /// A number or duration literal.
    Number(&'a str),
    /// A `/regex/` literal, slashes included.
    Regex(&'a str),
    /// An operator or punctuation.
    Op(&'a str),
    /// Whitespace.
    Space(&'a str),
    /// A `-- line` or `/* block */` comment.
    Comment(&'a str),
}

impl<'a> Tok<'a> {
    /// The token's text as written.
    pub(crate) fn text(&self) -> &'a str {
        match self {
            Tok::Ident(s)
            | Tok::QuotedIdent(s)
            | Tok::Str(s)
            | Tok::Number(s)
            | Tok::Regex(s)
            | Tok::Op(s)
            | Tok::Space(s)
            | Tok::Comment(s) => s,
        }
    }

    /// Whether the token is a bare identifier equal to `kw`, ignoring case.
    pub(crate) fn is_keyword(&self, kw: &str) -> bool {
        matches!(self, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    /// Whitespace or a comment.
    pub(crate) fn is_trivia(&self) -> bool {
        matches!(self, Tok::Space(_) | Tok::Comment(_))
    }
}

/// InfluxQL's keywords (`influxql.Lookup`, case-insensitive): an identifier spelled like one
/// must be double-quoted.
const KEYWORDS: &[&str] = &[
    "ALL",
    "ALTER",
    "ANALYZE",
    "AND",
    "ANY",
    "AS",
    "ASC",
    "BEGIN",
    "BY",
    "CARDINALITY",
    "CONTINUOUS",
    "CREATE",
    "DATABASE",
    "DATABASES",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DESTINATIONS",
    "DIAGNOSTICS",
    "DISTINCT",
    "DROP",
    "DURATION",
    "END",
    "EVERY",
    "EXACT",
    "EXPLAIN",
    "FALSE",
    "FIELD",
    "FOR",
    "FROM",
    "GRANT",
    "GRANTS",
    "GROUP",
    "GROUPS",
    "IN",
    "INF",
    "INSERT",
    "INTO",
    "KEY",
    "KEYS",
    "KILL",
    "LIMIT",
    "MEASUREMENT",
    "MEASUREMENTS",
    "NAME",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "PASSWORD",
    "POLICIES",
    "POLICY",
    "PRIVILEGES",
    "QUERIES",
    "QUERY",
    "READ",
    "REPLICATION",
    "RESAMPLE",
    "RETENTION",
    "REVOKE",
    "SELECT",
    "SERIES",
    "SET",
    "SHARD",
    "SHARDS",
    "SHOW",
    "SLIMIT",
    "SOFFSET",
    "STATS",
    "SUBSCRIPTION",
    "SUBSCRIPTIONS",
    "TAG",
    "TO",
    "TRUE",
    "USER",
    "USERS",
    "VALUES",
    "WHERE",
    "WITH",
    "WRITE",
];

fn is_influxql_keyword(s: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s))
}

/// Ends a quoted literal started at byte `start` (the quote char) of `s`; honours `\` escapes.
fn quoted_end(s: &str, start: usize, quote: char) -> Result<usize, String> {
    let mut escaped = false;
    for (i, c) in s[start + 1..].char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return Ok(start + 1 + i + c.len_utf8());
        }
    }
    Err(format!(
        "unterminated {quote}…{quote} starting at {}",
        position(s, start)
    ))
}

/// Where byte `at` of `s` is, for messages: `column C` (byte column, 1-based) for one-line
/// text, `line L, column C` otherwise.
pub(crate) fn position(s: &str, at: usize) -> String {
    let at = at.min(s.len());
    let before = &s.as_bytes()[..at];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = at - line_start + 1;
    if s.contains('\n') {
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        format!("line {line}, column {column}")
    } else {
        format!("column {column}")
    }
}

/// Whether a `/` after `prev` (the last significant token) starts a regex rather than being
/// a division: InfluxQL reads regexes where an operand is expected (after `=~`, `FROM`, `,`,
/// `BY`, `db.rp.`...).
fn regex_expected(prev: Option<&Tok<'_>>) -> bool {
    match prev {
        None => true,
        Some(Tok::Op(op)) => *op != ")",
        Some(Tok::Ident(s)) => s.ends_with('.') || is_influxql_keyword(s),
        Some(_) => false,
    }
}

/// Splits InfluxQL text into tokens; whitespace and comments are kept so the text can be
/// rebuilt exactly. Errors name the byte column.
pub(crate) fn tokenize(s: &str) -> Result<Vec<Tok<'_>>, String> {
    let mut toks: Vec<Tok<'_>> = Vec::new();
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < s.len() {
        let c = s[i..].chars().next().unwrap_or(' ');
        let start = i;
        let prev = toks.iter().rev().find(|t| !t.is_trivia());
        if c.is_whitespace() {
            while i < s.len() && s[i..].starts_with(char::is_whitespace) {
                i += s[i..].chars().next().map_or(1, char::len_utf8);
            }
            toks.push(Tok::Space(&s[start..i]));
        } else if s[i..].starts_with("--") {
            i = s[i..].find('\n').map_or(s.len(), |n| i + n);
            toks.push(Tok::Comment(&s[start..i]));
        } else if c == '\'' || c == '"' {
            i = quoted_end(s, i, c)?;
            let text = &s[start..i];
            toks.push(if c == '"' {
                Tok::QuotedIdent(text)
            } else {
                Tok::Str(text)
            });
        } else if s[i..].starts_with("/*") {
            // A comment even where a regex could start (InfluxQL's scanner decides first).
            let Some(end) = s[i + 2..].find("*/") else {
                return Err(format!(
                    "unterminated /* comment starting at {}",
                    position(s, start)
                ));
            };
            i += 2 + end + 2;
            toks.push(Tok::Comment(&s[start..i]));
        } else if c == '/' && regex_expected(prev) {
            i = quoted_end(s, i, '/')?;
            toks.push(Tok::Regex(&s[start..i]));
        } else if c.is_ascii_digit()
            || (c == '.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            while i < s.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            // µ as a duration unit.
            while s[i..].starts_with('µ') || s[i..].starts_with(|c: char| c.is_ascii_alphabetic())
            {
                i += s[i..].chars().next().map_or(1, char::len_utf8);
            }
            toks.push(Tok::Number(&s[start..i]));
        } else if c.is_alphabetic() || c == '_' {
            while i < s.len() {
                let Some(n) = s[i..].chars().next() else {
                    break;
                };
                if n.is_alphanumeric() || n == '_' || n == '.' {
                    i += n.len_utf8();
                } else {
                    break;
                }
            }
            toks.push(Tok::Ident(&s[start..i]));
        } else {
            let two = s.get(i..i + 2).unwrap_or("");
            let op_len = match two {
                "==" | "!=" | "<>" | "<=" | ">=" | "=~" | "!~" | "&&" | "||" | "::" => 2,
                _ => c.len_utf8(),
            };
            i += op_len;
            let op = &s[start..i];
            if !matches!(
                op,
                "==" | "!="
                    | "<>"
                    | "<="
                    | ">="
                    | "=~"
                    | "!~"
                    | "&&"
                    | "||"
                    | "="
                    | "<"
                    | ">"
                    | "("
                    | ")"
                    | ","
                    | "+"
                    | "-"
                    | "*"
                    | "/"
                    | "%"
                    | "&"
                    | "|"
                    | "^"
                    | "!"
                    | ";"
                    | "."
                    | "::"
                    | ":"
            ) {
                return Err(format!("unexpected `{op}` at {}", position(s, start)));
            }
            toks.push(Tok::Op(op));
        }
    }
    Ok(toks)
}

// ------------------------------------------------------------------------------------------
// Printing helpers

/// `influxql.QuoteIdent` for one segment: double-quoted only when needed (a keyword, empty,
/// or a character other than ASCII letters, digits and `_`, or a leading digit).
pub fn quote_ident(ident: &str) -> String {
    let plain = !ident.is_empty()
        && !is_influxql_keyword(ident)
        && ident
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        return ident.to_string();
    }
    let mut out = String::with_capacity(ident.len() + 2);
    out.push('"');
    for c in ident.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `time.RFC3339Nano` in UTC: `2006-01-02T15:04:05.999999999Z`, trailing zeros of the
/// fraction trimmed and no fraction when it is zero.
pub fn rfc3339_nano(ns: i64) -> String {
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(ns);
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = ns.rem_euclid(1_000_000_000);
    if frac != 0 {
        let digits = format!(".{frac:09}");
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The `fill(...)` clause for a `.fill()` option.
fn fill_clause(f: &Fill) -> String {
    match f {
        Fill::Null => "fill(null)".into(),
        Fill::None => "fill(none)".into(),
        Fill::Previous => "fill(previous)".into(),
        Fill::Linear => "fill(linear)".into(),
        Fill::Int(i) => format!("fill({i})"),
        Fill::Float(x) => format!("fill({})", format_float(*x)),
    }
}

// ------------------------------------------------------------------------------------------
// The statement's structure

/// Clauses after `FROM`, in the order InfluxQL's grammar requires them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Clause {
    Where,
    GroupBy,
    Fill,
    OrderBy,
    Limit,
    Offset,
    SLimit,
    SOffset,
    Tz,
}

impl Clause {
    fn name(self) -> &'static str {
        match self {
            Clause::Where => "WHERE",
            Clause::GroupBy => "GROUP BY",
            Clause::Fill => "fill()",
            Clause::OrderBy => "ORDER BY",
            Clause::Limit => "LIMIT",
            Clause::Offset => "OFFSET",
            Clause::SLimit => "SLIMIT",
            Clause::SOffset => "SOFFSET",
            Clause::Tz => "tz()",
        }
    }
}

/// A batch query checked once at task definition.
#[derive(Debug, Clone)]
pub struct BatchQuery {
    /// `SELECT ... FROM sources`, as written.
    head: String,
    /// The `WHERE` keyword as written and the condition after it.
    condition: Option<(String, String)>,
    /// The `.groupBy()` dimensions.
    dimensions: Vec<Dimension>,
    /// `.alignGroup()`.
    align_group: bool,
    /// The `fill(...)` clause printed: `.fill()`'s, else the query's own.
    fill: Option<String>,
    /// `ORDER BY ...` to the end, as written (may be empty).
    tail: String,
    /// The `.groupBy(time(d))` interval.
    group_by_time: Option<i64>,
    /// Each source's database and retention policy (empty where not named); none for a
    /// subquery.
    sources: Vec<(String, String)>,
}

impl BatchQuery {
    /// Checks `spec.query` (exactly one `SELECT`, clauses in InfluxQL's order) and the
    /// `.groupBy()` dimensions (at most one time dimension).
    pub fn new(spec: &QuerySpec) -> Result<BatchQuery, String> {
        let text = spec.query.as_str();
        let toks = tokenize(text).map_err(|e| format!("failed to parse InfluxQL query: {e}"))?;
        let mut offsets = Vec::with_capacity(toks.len() + 1);
        let mut at = 0;
        for t in &toks {
            offsets.push(at);
            at += t.text().len();
        }
        offsets.push(at);

        // Statements are separated by `;`; empty ones are skipped, as InfluxQL does.
        let mut statements = Vec::new();
        let mut begin = 0;
        for (i, t) in toks.iter().enumerate() {
            if *t == Tok::Op(";") {
                statements.push(begin..i);
                begin = i + 1;
            }
        }
        statements.push(begin..toks.len());
        statements.retain(|r| toks[r.clone()].iter().any(|t| !t.is_trivia()));
        let [stmt] = statements.as_slice() else {
            return Err(format!(
                "query must be a single select statement, got {} statements",
                statements.len()
            ));
        };
        let p = Parser {
            text,
            toks: &toks,
            offsets: &offsets,
        };
        let parts = p.statement(stmt.clone())?;

        let mut group_by_time = None;
        for d in &spec.dimensions {
            if let Dimension::Time { every, .. } = d {
                if group_by_time.is_some() {
                    return Err("groupBy cannot have more than one time dimension".into());
                }
                group_by_time = Some(*every);
            }
        }
        let fill = match &spec.fill {
            Some(f) => Some(fill_clause(f)),
            None => parts.fill,
        };
        Ok(BatchQuery {
            head: parts.head,
            condition: parts.condition,
            dimensions: spec.dimensions.clone(),
            align_group: spec.align_group,
            fill,
            tail: parts.tail,
            group_by_time,
            sources: parts.sources,
        })
    }

    /// The query text for the range `[start, stop)` (ns since the Unix epoch).
    pub fn text(&self, start: i64, stop: i64) -> String {
        let mut out = String::with_capacity(self.head.len() + 128);
        out.push_str(&self.head);
        let range = format!(
            "time >= '{}' AND time < '{}'",
            rfc3339_nano(start),
            rfc3339_nano(stop)
        );
        match &self.condition {
            Some((kw, cond)) => {
                out.push_str(&format!(" {kw} {cond} AND {range}"));
            }
            None => {
                out.push_str(" WHERE ");
                out.push_str(&range);
            }
        }
        if !self.dimensions.is_empty() {
            let dims: Vec<String> = self
                .dimensions
                .iter()
                .map(|d| match d {
                    Dimension::Time { every, offset } => {
                        let offset = if self.align_group && *every > 0 {
                            // Go's `%` on durations: truncated, like Rust's.
                            start % every
                        } else {
                            *offset
                        };
                        format!(
                            "time({}, {})",
                            format_duration(*every),
                            format_duration(offset)
                        )
                    }
                    Dimension::Tag(t) => quote_ident(t),
                    Dimension::Star => "*".into(),
                })
                .collect();
            out.push_str(" GROUP BY ");
            out.push_str(&dims.join(", "));
        }
        if let Some(f) = &self.fill {
            out.push(' ');
            out.push_str(f);
        }
        if !self.tail.is_empty() {
            out.push(' ');
            out.push_str(&self.tail);
        }
        out
    }

    /// The `.groupBy(time(d))` interval, if any.
    pub fn group_by_time(&self) -> Option<i64> {
        self.group_by_time
    }

    /// The database of a qualified `FROM` (`"db"."rp"."m"`, `db.rp.m`, `db..m`); `None` when
    /// the first source is unqualified or a subquery.
    pub fn database(&self) -> Option<String> {
        self.sources
            .first()
            .map(|(db, _)| db.clone())
            .filter(|db| !db.is_empty())
    }

    /// The database and retention policy of each source of `FROM` (empty strings where the
    /// source does not name them: `cpu` is `("", "")`, `db..cpu` is `("db", "")`), as
    /// Kapacitor checks them against a batch task's dbrps. A subquery gives none.
    pub fn sources(&self) -> &[(String, String)] {
        &self.sources
    }
}

/// What the statement is made of.
struct Parts {
    head: String,
    condition: Option<(String, String)>,
    fill: Option<String>,
    tail: String,
    sources: Vec<(String, String)>,
}

struct Parser<'t, 'a> {
    text: &'a str,
    toks: &'t [Tok<'a>],
    /// Byte offset of each token, plus the end of the text.
    offsets: &'t [usize],
}

impl Parser<'_, '_> {
    fn err_at(&self, tok: usize, what: &str) -> String {
        format!(
            "failed to parse InfluxQL query: {what} at {}",
            position(self.text, self.offsets[tok])
        )
    }

    /// The next significant token at or after `i`, before `end`.
    fn next_sig(&self, i: usize, end: usize) -> Option<usize> {
        (i..end).find(|&j| !self.toks[j].is_trivia())
    }

    /// The text of tokens `r`, comments replaced by a space, trimmed.
    fn piece(&self, r: std::ops::Range<usize>) -> String {
        let mut s = String::new();
        for t in &self.toks[r] {
            match t {
                Tok::Comment(_) => s.push(' '),
                t => s.push_str(t.text()),
            }
        }
        s.trim().to_string()
    }

    fn describe(&self, i: usize) -> String {
        format!("`{}`", self.toks[i].text())
    }

    fn statement(&self, r: std::ops::Range<usize>) -> Result<Parts, String> {
        let end = r.end;
        let Some(select) = self.next_sig(r.start, end) else {
            return Err("query must be a single select statement, got 0 statements".into());
        };
        if !self.toks[select].is_keyword("SELECT") {
            return Err(format!(
                "query is not a select statement: it starts with {} at {}",
                self.describe(select),
                position(self.text, self.offsets[select])
            ));
        }
        // Depth-0 clause keywords, with parentheses checked.
        let mut depth = 0usize;
        let mut open = Vec::new();
        let mut from = None;
        let mut clauses: Vec<(Clause, usize)> = Vec::new();
        for i in select + 1..end {
            let t = &self.toks[i];
            match t {
                Tok::Op("(") => {
                    depth += 1;
                    open.push(i);
                    continue;
                }
                Tok::Op(")") => {
                    if depth == 0 {
                        return Err(self.err_at(i, "unbalanced `)`"));
                    }
                    depth -= 1;
                    open.pop();
                    continue;
                }
                _ if depth > 0 || t.is_trivia() => continue,
                _ => {}
            }
            if from.is_none() {
                if t.is_keyword("FROM") {
                    from = Some(i);
                } else if [
                    "WHERE", "GROUP", "ORDER", "LIMIT", "OFFSET", "SLIMIT", "SOFFSET",
                ]
                .iter()
                .any(|k| t.is_keyword(k))
                {
                    return Err(self.err_at(i, &format!("found {}, expected FROM", t.text())));
                }
                continue;
            }
            let followed_by_paren = || {
                self.next_sig(i + 1, end)
                    .is_some_and(|j| self.toks[j] == Tok::Op("("))
            };
            let clause = if t.is_keyword("WHERE") {
                Clause::Where
            } else if t.is_keyword("GROUP") {
                Clause::GroupBy
            } else if t.is_keyword("fill") && followed_by_paren() {
                Clause::Fill
            } else if t.is_keyword("ORDER") {
                Clause::OrderBy
            } else if t.is_keyword("LIMIT") {
                Clause::Limit
            } else if t.is_keyword("OFFSET") {
                Clause::Offset
            } else if t.is_keyword("SLIMIT") {
                Clause::SLimit
            } else if t.is_keyword("SOFFSET") {
                Clause::SOffset
            } else if t.is_keyword("tz") && followed_by_paren() {
                Clause::Tz
            } else {
                continue;
            };
            if let Some(&(last, _)) = clauses.last()
                && last >= clause
            {
                let what = if last == clause {
                    format!("{} given twice", clause.name())
                } else {
                    format!("{} must come before {}", clause.name(), last.name())
                };
                return Err(self.err_at(i, &what));
            }
            clauses.push((clause, i));
        }
        if let Some(&i) = open.last() {
            return Err(self.err_at(i, "unbalanced `(`"));
        }
        let Some(from) = from else {
            return Err(format!(
                "failed to parse InfluxQL query: found end of query, expected FROM at {}",
                position(self.text, self.offsets[end])
            ));
        };
        if self.next_sig(select + 1, from).is_none() {
            return Err(self.err_at(from, "expected a field before FROM"));
        }
        let sources_end = clauses.first().map_or(end, |c| c.1);
        if self.next_sig(from + 1, sources_end).is_none() {
            return Err(self.err_at(sources_end.min(end), "expected a source after FROM"));
        }
        let head = self.piece(r.start..sources_end);
        let sources = self.sources(from + 1, sources_end);

        let mut condition = None;
        let mut fill = None;
        let mut tail_start = None;
        for (k, &(clause, i)) in clauses.iter().enumerate() {
            let next = clauses.get(k + 1).map_or(end, |c| c.1);
            let body = i + 1..next;
            match clause {
                Clause::Where => {
                    let cond = self.piece(body);
                    if cond.is_empty() {
                        return Err(self.err_at(i, "empty WHERE condition"));
                    }
                    condition = Some((self.toks[i].text().to_string(), cond));
                }
                Clause::GroupBy | Clause::OrderBy => {
                    let by = self.next_sig(i + 1, next);
                    if !by.is_some_and(|b| self.toks[b].is_keyword("BY")) {
                        return Err(self.err_at(by.unwrap_or(i), "expected BY"));
                    }
                    let by = by.unwrap_or(i);
                    if self.next_sig(by + 1, next).is_none() {
                        return Err(self.err_at(by, &format!("nothing after {}", clause.name())));
                    }
                }
                Clause::Fill | Clause::Tz => {
                    // `fill` `(` ... `)` and nothing else.
                    let last = (i + 1..next).rev().find(|&j| !self.toks[j].is_trivia());
                    if !last.is_some_and(|j| self.toks[j] == Tok::Op(")")) {
                        return Err(self.err_at(
                            last.unwrap_or(i),
                            &format!("unexpected text after {}", clause.name()),
                        ));
                    }
                    if clause == Clause::Fill {
                        fill = Some(self.piece(i..next));
                    }
                }
                Clause::Limit | Clause::Offset | Clause::SLimit | Clause::SOffset => {
                    let n = self.next_sig(i + 1, next);
                    let ok = n.is_some_and(|n| {
                        matches!(self.toks[n], Tok::Number(s) if s.bytes().all(|b| b.is_ascii_digit()))
                            && self.next_sig(n + 1, next).is_none()
                    });
                    if !ok {
                        return Err(self.err_at(
                            n.unwrap_or(i),
                            &format!("expected an integer after {}", clause.name()),
                        ));
                    }
                }
            }
            if clause >= Clause::OrderBy && tail_start.is_none() {
                tail_start = Some(i);
            }
        }
        let tail = tail_start.map_or_else(String::new, |t| self.piece(t..end));
        Ok(Parts {
            head,
            condition,
            fill,
            tail,
            sources,
        })
    }

    /// The database and retention policy of each source in tokens `from..end`: sources
    /// separated by commas, segments by dots outside quotes; `db.rp.m` names both, `rp.m`
    /// the retention policy. A subquery gives no sources.
    fn sources(&self, from: usize, end: usize) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut segments: Vec<String> = vec![String::new()];
        let mut started = false;
        let mut done = false;
        let close = |segments: &mut Vec<String>, out: &mut Vec<(String, String)>| {
            let named = std::mem::replace(segments, vec![String::new()]);
            out.push(match named.as_slice() {
                [db, rp, _] => (db.clone(), rp.clone()),
                [rp, _] => (String::new(), rp.clone()),
                _ => (String::new(), String::new()),
            });
        };
        for t in &self.toks[from..end] {
            match t {
                Tok::Space(_) | Tok::Comment(_) if !started => continue,
                Tok::Op(",") => {
                    close(&mut segments, &mut out);
                    started = false;
                    done = false;
                    continue;
                }
                _ if done => {}
                Tok::Space(_) | Tok::Comment(_) => done = true,
                Tok::Op("(") => return Vec::new(),
                Tok::Op(".") => segments.push(String::new()),
                Tok::Ident(s) => {
                    let mut parts = s.split('.');
                    if let (Some(first), Some(last)) = (parts.next(), segments.last_mut()) {
                        last.push_str(first);
                    }
                    segments.extend(parts.map(str::to_string));
                }
                Tok::QuotedIdent(s) => {
                    if let Some(last) = segments.last_mut() {
                        last.push_str(&unquote_ident(s));
                    }
                }
                Tok::Regex(s) => {
                    if let Some(last) = segments.last_mut() {
                        last.push_str(s);
                    }
                }
                _ => done = true,
            }
            started = true;
        }
        if started {
            close(&mut segments, &mut out);
        }
        out
    }
}

/// The name inside a double-quoted InfluxQL identifier (`\"`, `\\` and `\n` unescaped).
fn unquote_ident(s: &str) -> String {
    let inner = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(n) => out.push(n),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_700_000_000_000_000_000; // 2023-11-14T22:13:20Z
    const E: i64 = S + 60_000_000_000;
    const RANGE: &str = "time >= '2023-11-14T22:13:20Z' AND time < '2023-11-14T22:14:20Z'";
    const SEC: i64 = 1_000_000_000;

    fn spec(q: &str) -> QuerySpec {
        QuerySpec {
            query: q.into(),
            ..QuerySpec::default()
        }
    }

    fn rewrite(q: &str, dims: Vec<Dimension>, fill: Option<Fill>) -> String {
        let s = QuerySpec {
            dimensions: dims,
            fill,
            ..spec(q)
        };
        match BatchQuery::new(&s) {
            Ok(b) => b.text(S, E),
            Err(e) => panic!("{q}: {e}"),
        }
    }

    fn error(q: &str) -> String {
        match BatchQuery::new(&spec(q)) {
            Ok(b) => panic!("{q} accepted: {b:?}"),
            Err(e) => e,
        }
    }

    fn time(every: i64, offset: i64) -> Dimension {
        Dimension::Time { every, offset }
    }

    fn tag(t: &str) -> Dimension {
        Dimension::Tag(t.into())
    }

    #[test]
    fn no_where_gets_the_range_only() {
        assert_eq!(
            rewrite("SELECT value FROM cpu", vec![], None),
            format!("SELECT value FROM cpu WHERE {RANGE}")
        );
        assert_eq!(
            rewrite("  select value from cpu ;  ", vec![], None),
            format!("select value from cpu WHERE {RANGE}")
        );
    }

    #[test]
    fn condition_is_anded_without_parentheses() {
        assert_eq!(
            rewrite("SELECT v FROM m WHERE host = 'a'", vec![], None),
            format!("SELECT v FROM m WHERE host = 'a' AND {RANGE}")
        );
        // Kapacitor prints `C AND (range)` without parentheses: precedence then binds the
        // range to the last OR branch only. Matched on purpose.
        assert_eq!(
            rewrite("SELECT v FROM m WHERE a = 1 OR b = 2", vec![], None),
            format!("SELECT v FROM m WHERE a = 1 OR b = 2 AND {RANGE}")
        );
        // Parentheses the user wrote survive.
        assert_eq!(
            rewrite("SELECT v FROM m where (a = 1 OR b = 2)", vec![], None),
            format!("SELECT v FROM m where (a = 1 OR b = 2) AND {RANGE}")
        );
    }

    #[test]
    fn group_by_is_replaced_by_dimensions() {
        assert_eq!(
            rewrite(
                "SELECT mean(v) FROM m WHERE x = 1 GROUP BY time(5m), host",
                vec![time(10 * SEC, 0), tag("host")],
                None
            ),
            format!("SELECT mean(v) FROM m WHERE x = 1 AND {RANGE} GROUP BY time(10s, 0s), host")
        );
        assert_eq!(
            rewrite("SELECT mean(v) FROM m GROUP BY time(5m)", vec![], None),
            format!("SELECT mean(v) FROM m WHERE {RANGE}")
        );
        assert_eq!(
            rewrite(
                "SELECT mean(v) FROM m",
                vec![tag("cpu"), time(90 * SEC, 1_500_000_000), Dimension::Star],
                None
            ),
            format!("SELECT mean(v) FROM m WHERE {RANGE} GROUP BY cpu, time(90s, 1500ms), *")
        );
    }

    #[test]
    fn tags_are_quoted_only_when_needed() {
        let q = rewrite(
            "SELECT v FROM m",
            vec![
                tag("host"),
                tag("rack id"),
                tag("select"),
                tag("Host_2"),
                tag("2x"),
                tag("a\"b\\c"),
                tag("dc-1"),
            ],
            None,
        );
        assert!(
            q.ends_with(r#"GROUP BY host, "rack id", "select", Host_2, "2x", "a\"b\\c", "dc-1""#),
            "{q}"
        );
    }

    #[test]
    fn align_group_offsets_by_the_start() {
        let s = QuerySpec {
            dimensions: vec![time(60 * SEC, 5 * SEC)],
            align_group: true,
            ..spec("SELECT v FROM m")
        };
        let b = BatchQuery::new(&s).unwrap();
        let start = 10 * 60 * SEC + 25 * SEC;
        assert!(
            b.text(start, start + 60 * SEC)
                .ends_with("GROUP BY time(1m, 25s)")
        );
        assert!(b.text(0, 60 * SEC).ends_with("GROUP BY time(1m, 0s)"));
        assert!(
            b.text(3 * SEC + 500_000_000, 60 * SEC)
                .ends_with("GROUP BY time(1m, 3500ms)")
        );
        let s = QuerySpec {
            align_group: false,
            ..s
        };
        let b = BatchQuery::new(&s).unwrap();
        assert!(b.text(start, start + 1).ends_with("GROUP BY time(1m, 5s)"));
        assert_eq!(b.group_by_time(), Some(60 * SEC));
        assert_eq!(
            BatchQuery::new(&spec("SELECT v FROM m"))
                .unwrap()
                .group_by_time(),
            None
        );
    }

    #[test]
    fn fill_kept_or_replaced() {
        assert_eq!(
            rewrite(
                "SELECT mean(v) FROM m GROUP BY time(1m) fill(none)",
                vec![],
                None
            ),
            format!("SELECT mean(v) FROM m WHERE {RANGE} fill(none)")
        );
        assert_eq!(
            rewrite(
                "SELECT mean(v) FROM m GROUP BY time(1m) FILL( none )",
                vec![time(60 * SEC, 0)],
                Some(Fill::Previous)
            ),
            format!("SELECT mean(v) FROM m WHERE {RANGE} GROUP BY time(1m, 0s) fill(previous)")
        );
        for (f, text) in [
            (Fill::Null, "fill(null)"),
            (Fill::None, "fill(none)"),
            (Fill::Linear, "fill(linear)"),
            (Fill::Int(-3), "fill(-3)"),
            (Fill::Float(1.5), "fill(1.5)"),
            (Fill::Float(2.0), "fill(2.0)"),
        ] {
            let q = rewrite("SELECT mean(v) FROM m", vec![time(SEC, 0)], Some(f));
            assert!(q.ends_with(&format!("GROUP BY time(1s, 0s) {text}")), "{q}");
        }
    }

    #[test]
    fn trailing_clauses_stay_after_group_by() {
        assert_eq!(
            rewrite(
                "SELECT v FROM m WHERE a = 'x' GROUP BY host fill(0) ORDER BY time DESC LIMIT 10 OFFSET 2 SLIMIT 3 SOFFSET 1 tz('Europe/Paris');",
                vec![tag("dc")],
                None
            ),
            format!(
                "SELECT v FROM m WHERE a = 'x' AND {RANGE} GROUP BY dc fill(0) ORDER BY time DESC LIMIT 10 OFFSET 2 SLIMIT 3 SOFFSET 1 tz('Europe/Paris')"
            )
        );
        assert_eq!(
            rewrite("SELECT v FROM m LIMIT 10", vec![], Some(Fill::None)),
            format!("SELECT v FROM m WHERE {RANGE} fill(none) LIMIT 10")
        );
    }

    #[test]
    fn keywords_in_strings_regexes_and_identifiers_are_text() {
        assert_eq!(
            rewrite(
                "SELECT v FROM m WHERE host =~ /group by|limit 3/ AND msg = 'where group by fill(none) limit 1;' AND \"GROUP\" = 'x'",
                vec![],
                None
            ),
            format!(
                "SELECT v FROM m WHERE host =~ /group by|limit 3/ AND msg = 'where group by fill(none) limit 1;' AND \"GROUP\" = 'x' AND {RANGE}"
            )
        );
        assert_eq!(
            rewrite(
                "SELECT \"from\", \"limit\" FROM \"my db\".\"rp\".\"where\" WHERE t = 'it\\'s' GROUP BY \"x y\"",
                vec![],
                None
            ),
            format!(
                "SELECT \"from\", \"limit\" FROM \"my db\".\"rp\".\"where\" WHERE t = 'it\\'s' AND {RANGE}"
            )
        );
        // Regex sources and dimensions.
        assert_eq!(
            rewrite("SELECT v FROM db.rp./cpu.*/ GROUP BY /h.*/", vec![], None),
            format!("SELECT v FROM db.rp./cpu.*/ WHERE {RANGE}")
        );
    }

    #[test]
    fn subqueries_keep_their_clauses() {
        assert_eq!(
            rewrite(
                "SELECT max(m) FROM (SELECT mean(v) AS m FROM cpu WHERE a = 1 GROUP BY time(1m) LIMIT 5) WHERE m > 1",
                vec![],
                None
            ),
            format!(
                "SELECT max(m) FROM (SELECT mean(v) AS m FROM cpu WHERE a = 1 GROUP BY time(1m) LIMIT 5) WHERE m > 1 AND {RANGE}"
            )
        );
    }

    #[test]
    fn multi_line_text_and_comments() {
        let q = "\n\t\tSELECT mean(\"value\")\n\t\tFROM \"telegraf\".\"default\".cpu_usage_idle\n\t\tWHERE \"host\" = 'serverA' -- only A\n";
        assert_eq!(
            rewrite(q, vec![time(2 * SEC, SEC), tag("cpu")], None),
            format!(
                "SELECT mean(\"value\")\n\t\tFROM \"telegraf\".\"default\".cpu_usage_idle WHERE \"host\" = 'serverA' AND {RANGE} GROUP BY time(2s, 1s), cpu"
            )
        );
        assert_eq!(
            rewrite("SELECT v /* all */ FROM m /* here */", vec![], None),
            format!("SELECT v   FROM m WHERE {RANGE}")
        );
    }

    #[test]
    fn times_are_rfc3339_nano() {
        assert_eq!(rfc3339_nano(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_nano(1_500_000_000), "1970-01-01T00:00:01.5Z");
        assert_eq!(rfc3339_nano(123), "1970-01-01T00:00:00.000000123Z");
        assert_eq!(rfc3339_nano(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(rfc3339_nano(S + 10_000_000), "2023-11-14T22:13:20.01Z");
        let b = BatchQuery::new(&spec("SELECT v FROM m")).unwrap();
        assert_eq!(
            b.text(1_500, 2_000_000_000),
            "SELECT v FROM m WHERE time >= '1970-01-01T00:00:00.0000015Z' AND time < '1970-01-01T00:00:02Z'"
        );
    }

    #[test]
    fn database_of_qualified_sources() {
        let db = |q: &str| BatchQuery::new(&spec(q)).unwrap().database();
        assert_eq!(
            db("SELECT v FROM \"telegraf\".\"autogen\".\"cpu\"").as_deref(),
            Some("telegraf")
        );
        assert_eq!(
            db("SELECT v FROM telegraf.autogen.cpu").as_deref(),
            Some("telegraf")
        );
        assert_eq!(
            db("SELECT v FROM telegraf..cpu").as_deref(),
            Some("telegraf")
        );
        assert_eq!(
            db("SELECT v FROM \"tele\\\"graf\"..cpu").as_deref(),
            Some("tele\"graf")
        );
        assert_eq!(
            db("SELECT v FROM \"my db\".rp.cpu, other.rp.m").as_deref(),
            Some("my db")
        );
        assert_eq!(db("SELECT v FROM db.\"rp\"./c.*/").as_deref(), Some("db"));
        assert_eq!(db("SELECT v FROM cpu"), None);
        assert_eq!(db("SELECT v FROM autogen.cpu"), None);
        assert_eq!(db("SELECT v FROM (SELECT v FROM a.b.c)"), None);
    }

    #[test]
    fn every_source_names_its_database_and_retention_policy() {
        let sources = |q: &str| BatchQuery::new(&spec(q)).unwrap().sources().to_vec();
        let pair = |db: &str, rp: &str| (db.to_string(), rp.to_string());
        assert_eq!(
            sources("SELECT v FROM \"my db\".rp.cpu, other.\"r p\".m /* c */, plain"),
            [pair("my db", "rp"), pair("other", "r p"), pair("", "")]
        );
        assert_eq!(
            sources("SELECT v FROM telegraf..cpu,autogen.mem"),
            [pair("telegraf", ""), pair("", "autogen")]
        );
        assert_eq!(
            sources("SELECT v FROM db.rp./c.*/ WHERE x = 'a.b.c'"),
            [pair("db", "rp")]
        );
        assert!(sources("SELECT v FROM (SELECT v FROM a.b.c)").is_empty());
    }

    #[test]
    fn errors() {
        let cases = [
            ("", "got 0 statements"),
            ("  ;  ", "got 0 statements"),
            ("SELECT v FROM m; SELECT w FROM n", "got 2 statements"),
            ("SHOW DATABASES", "not a select statement"),
            ("DELETE FROM m", "not a select statement"),
            ("SELECT 1", "expected FROM at column 9"),
            (
                "SELECT v WHERE a = 1",
                "found WHERE, expected FROM at column 10",
            ),
            ("SELECT FROM m", "expected a field before FROM at column 8"),
            ("SELECT v FROM", "expected a source after FROM"),
            (
                "SELECT v FROM m WHERE",
                "empty WHERE condition at column 17",
            ),
            (
                "SELECT v FROM m WHERE a = 'x",
                "unterminated '…' starting at column 27",
            ),
            (
                "SELECT v FROM m WHERE a = 1)",
                "unbalanced `)` at column 28",
            ),
            ("SELECT mean(v FROM m", "unbalanced `(` at column 12"),
            ("SELECT v FROM m WHERE a # 1", "unexpected `#` at column 25"),
            ("SELECT v FROM m GROUP host", "expected BY at column 23"),
            ("SELECT v FROM m GROUP BY", "nothing after GROUP BY"),
            (
                "SELECT v FROM m LIMIT 1 WHERE a = 1",
                "WHERE must come before LIMIT",
            ),
            (
                "SELECT v FROM m fill(0) GROUP BY host",
                "GROUP BY must come before fill()",
            ),
            ("SELECT v FROM m LIMIT 1 LIMIT 2", "LIMIT given twice"),
            ("SELECT v FROM m LIMIT x", "expected an integer after LIMIT"),
            ("SELECT v FROM m fill(0) x", "unexpected text after fill()"),
            ("SELECT v FROM m ORDER time", "expected BY"),
            (
                "SELECT v\nFROM m\nWHERE a = 'x",
                "starting at line 3, column 11",
            ),
        ];
        for (q, want) in cases {
            let e = error(q);
            assert!(e.contains(want), "{q:?}: {e}");
        }
        let two = QuerySpec {
            dimensions: vec![time(SEC, 0), tag("a"), time(2 * SEC, 0)],
            ..spec("SELECT v FROM m")
        };
        assert_eq!(
            BatchQuery::new(&two).unwrap_err(),
            "groupBy cannot have more than one time dimension"
        );
    }

    #[test]
    fn quote_ident_cases() {
        for (i, want) in [
            ("host", "host"),
            ("_h1", "_h1"),
            ("", "\"\""),
            ("limit", "\"limit\""),
            ("Time", "Time"),
            ("fill", "fill"),
            ("a.b", "\"a.b\""),
            ("é", "\"é\""),
            ("line\nbreak", "\"line\\nbreak\""),
        ] {
            assert_eq!(quote_ident(i), want, "{i:?}");
        }
    }

    #[test]
    fn tokenizer_never_panics_on_odd_text() {
        for s in [
            "SELECT \"",
            "SELECT '",
            "/",
            "/*",
            "--",
            "SELECT µ",
            "SELECT 1µ",
            "é/é/",
            "SELECT\u{0}",
            "FROM /",
            ")))",
            "((((",
        ] {
            let _ = BatchQuery::new(&spec(s));
        }
    }

    /// Every batch script of Kapacitor's test corpus passes the definition-time checks and
    /// rewrites to a query with the range.
    #[test]
    fn corpus_batch_queries_are_accepted() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/kapacitor/cases");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut checked = 0;
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let Some(script) = text
                .split_once("\"script\": ")
                .and_then(|(_, rest)| {
                    serde_json::Deserializer::from_str(rest)
                        .into_iter::<String>()
                        .next()
                })
                .and_then(Result::ok)
            else {
                continue;
            };
            if !script.contains("|query(") {
                continue;
            }
            let compiled = crate::compile_source(&script, &crate::CompileOptions::default())
                .unwrap_or_else(|d| panic!("{:?}: {d:#?}", entry.file_name()));
            for n in &compiled.pipeline.nodes {
                if let crate::plan::NodeSpec::Query(q) = &n.spec {
                    let text = BatchQuery::new(q).unwrap().text(S, E);
                    assert!(text.contains(RANGE), "{text}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 30, "only {checked} corpus queries");
    }

    /// Bad query text, two time dimensions and bad cron expressions are rejected when the
    /// script is compiled, at the `query(...)` call; no schedule at all is still accepted.
    #[test]
    fn compile_rejects_bad_batch_queries_at_the_query_call() {
        let compile = |src: &str| crate::compile_source(src, &crate::CompileOptions::default());
        let cases = [
            (
                "query('SELECT v FROM m; SELECT w FROM n')\n        .every(10s)",
                "query must be a single select statement, got 2 statements",
            ),
            (
                "query('SHOW DATABASES')\n        .every(10s)",
                "query is not a select statement",
            ),
            (
                "query('SELECT v FROM m WHERE a = \\'x')\n        .every(10s)",
                "unterminated '…' starting at column 27",
            ),
            (
                "query('SELECT v FROM m')\n        .every(10s)\n        .groupBy(time(1s), time(2s))",
                "groupBy cannot have more than one time dimension",
            ),
            (
                "query('SELECT v FROM m')\n        .cron('61 * * * *')",
                "invalid cron expression '61 * * * *'",
            ),
            (
                "query('SELECT v FROM m')\n        .cron('* * *')",
                "invalid cron expression '* * *': expected 5, 6 or 7 fields, got 3",
            ),
        ];
        for (query, want) in cases {
            let src = format!("// batch\nbatch\n    |{query}\n    |httpOut('x')\n");
            let diags = compile(&src).map(|_| ()).unwrap_err();
            assert_eq!(diags.len(), 1, "{src}: {diags:#?}");
            let d = &diags[0];
            assert!(d.message.contains(want), "{src}: {}", d.message);
            assert!(
                d.message.starts_with("invalid `query` node `query1`: "),
                "{}",
                d.message
            );
            assert_eq!((d.span.start.line, d.span.start.column), (3, 6), "{src}");
        }
        for ok in [
            "batch|query('SELECT v FROM m')|httpOut('x')",
            "batch|query('SELECT v FROM m').cron('@daily')|httpOut('x')",
            "batch|query('SELECT v FROM m').cron('0 */5 * * * * *')|httpOut('x')",
            "batch|query('SELECT v FROM m').every(1m).cron('')|httpOut('x')",
            "var q string\nbatch|query(q).every(1m)|httpOut('x')",
        ] {
            let opts = crate::CompileOptions {
                template: true,
                ..crate::CompileOptions::default()
            };
            if let Err(d) = crate::compile_source(ok, &opts) {
                panic!("{ok}: {d:#?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(
            q in "(SELECT|FROM|WHERE|GROUP|BY|fill|tz|LIMIT|ORDER|[ ;,()'\"/*.=~<>-]|[a-z0-9µé]{1,3}| ){0,24}",
            start in proptest::num::i64::ANY,
        ) {
            if let Ok(b) = BatchQuery::new(&spec(&q)) {
                let _ = b.text(start, start.saturating_add(1));
                let _ = b.database();
            }
        }
    }
}
