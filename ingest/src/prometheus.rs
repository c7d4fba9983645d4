//! The Prometheus text exposition format (version 0.0.4), as the scraper reads it from a
//! target's `/metrics`: one [`Sample`] per sample line.
//!
//! The grammar is the one of Prometheus' own parser (`expfmt.TextParser`):
//!
//! ```text
//! line    = blank* ( comment | sample )? blank* "\n"
//! comment = "#" ( blank+ ( "HELP" blank+ name ( blank+ docstring )?
//!                        | "TYPE" blank+ name blank+ type
//!                        | any text ) )?
//! sample  = name blank* ( "{" blank* ( label blank* ( "," blank* label blank* )* ","? blank* )? "}" )?
//!           blank+ value ( blank+ timestamp )?
//! label   = label-name blank* "=" blank* "\"" escaped-text "\""
//! name    = [a-zA-Z_:][a-zA-Z0-9_:]*        label-name = [a-zA-Z_][a-zA-Z0-9_]*
//! value   = a Go float: digits, exponent, "NaN", "+Inf", "-Inf"
//! timestamp = integer milliseconds since the Unix epoch
//! ```
//!
//! As in Prometheus, an exposition with any bad line is refused whole (a scrape of it fails):
//! [`parse`] returns the first error with its line and column. Label values unescape `\\`,
//! `\"` and `\n`; a sample may not repeat a label name; a metric's `TYPE` must come once,
//! before its samples, and name a known type; `HELP` comes at most once per metric.

use std::collections::HashSet;
use std::fmt;

/// One sample of an exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (with its `_bucket`, `_sum`, `_count` suffix for histograms and
    /// summaries, as the line has it).
    pub name: String,
    /// Labels in the order the line gives them.
    pub labels: Vec<(String, String)>,
    /// The value (`NaN` and infinities included).
    pub value: f64,
    /// The line's own timestamp (ms since the Unix epoch), if it has one.
    pub timestamp_ms: Option<i64>,
}

/// Why an exposition was refused: the first bad line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// The metric types a `TYPE` line may name.
const TYPES: &[&str] = &["counter", "gauge", "histogram", "summary", "untyped"];

/// Parses an exposition (see the module docs).
pub fn parse(text: &str) -> Result<Vec<Sample>, ParseError> {
    let mut samples = Vec::new();
    let mut typed: HashSet<String> = HashSet::new();
    let mut helped: HashSet<String> = HashSet::new();
    // Metric families (base names) that have had samples: a later TYPE for one is refused.
    let mut sampled: HashSet<String> = HashSet::new();
    for (i, raw) in text.split('\n').enumerate() {
        let mut line = Line {
            text: raw.strip_suffix('\r').unwrap_or(raw),
            pos: 0,
            number: i + 1,
        };
        line.skip_blanks();
        match line.peek() {
            None => continue,
            Some('#') => {
                line.pos += 1;
                line.comment(&mut typed, &mut helped, &sampled)?;
            }
            Some(_) => {
                let sample = line.sample()?;
                sampled.insert(family(&sample.name, &typed).to_string());
                samples.push(sample);
            }
        }
    }
    Ok(samples)
}

/// The family a sample's name belongs to: a histogram's or summary's `_bucket`, `_sum` and
/// `_count` samples belong to the typed base name.
fn family<'a>(name: &'a str, typed: &HashSet<String>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && typed.contains(base)
        {
            return base;
        }
    }
    name
}

/// One line being read.
struct Line<'a> {
    text: &'a str,
    /// Byte offset of the next character.
    pos: usize,
    number: usize,
}

impl<'a> Line<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.number,
            column: self.text[..self.pos].chars().count() + 1,
            message: message.into(),
        }
    }

    /// Skips spaces and tabs; returns whether there were any.
    fn skip_blanks(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// A run of non-blank characters.
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|c| c != ' ' && c != '\t') {
            self.pos += self.peek().map_or(0, char::len_utf8);
        }
        &self.text[start..self.pos]
    }

    /// A metric name, or an error naming what stands in its place.
    fn name(&mut self, label: bool) -> Result<&'a str, ParseError> {
        let start = self.pos;
        let first = |c: char| c.is_ascii_alphabetic() || c == '_' || (!label && c == ':');
        let next = |c: char| c.is_ascii_alphanumeric() || c == '_' || (!label && c == ':');
        match self.peek() {
            Some(c) if first(c) => self.pos += 1,
            Some(c) => {
                let what = if label { "label name" } else { "metric name" };
                return Err(self.error(format!("invalid {what} starting with {c:?}")));
            }
            None => {
                let what = if label {
                    "a label name"
                } else {
                    "a metric name"
                };
                return Err(self.error(format!("expected {what}, found the end of the line")));
            }
        }
        while self.peek().is_some_and(next) {
            self.pos += 1;
        }
        Ok(&self.text[start..self.pos])
    }

    /// The rest of a line after `#`.
    fn comment(
        &mut self,
        typed: &mut HashSet<String>,
        helped: &mut HashSet<String>,
        sampled: &HashSet<String>,
    ) -> Result<(), ParseError> {
        if !self.skip_blanks() {
            return Ok(()); // `#text`: a plain comment
        }
        let keyword = self.token();
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(());
        }
        if !self.skip_blanks() {
            return Err(self.error(format!("expected a metric name after {keyword}")));
        }
        let name = self.name(false)?;
        if self.peek().is_some_and(|c| c != ' ' && c != '\t') {
            return Err(self.error(format!("invalid character in metric name {name:?}")));
        }
        if keyword == "HELP" {
            if !helped.insert(name.to_string()) {
                return Err(self.error(format!("second HELP line for metric name {name:?}")));
            }
            return Ok(()); // the docstring is free text
        }
        if !self.skip_blanks() {
            return Err(self.error(format!("expected a type after TYPE {name}")));
        }
        let at = self.pos;
        let kind = self.token();
        if !TYPES.contains(&kind) {
            self.pos = at;
            return Err(self.error(format!(
                "unknown metric type {kind:?} (want counter, gauge, histogram, summary or untyped)"
            )));
        }
        self.skip_blanks();
        if self.peek().is_some() {
            return Err(self.error("unexpected text after the metric type"));
        }
        if sampled.contains(name) || !typed.insert(name.to_string()) {
            return Err(self.error(format!(
                "second TYPE line for metric name {name:?}, or TYPE reported after samples"
            )));
        }
        Ok(())
    }

    fn sample(&mut self) -> Result<Sample, ParseError> {
        let name = self.name(false)?.to_string();
        if self.peek().is_some_and(|c| !matches!(c, ' ' | '\t' | '{')) {
            return Err(self.error(format!("invalid character in metric name {name:?}")));
        }
        self.skip_blanks();
        let mut labels: Vec<(String, String)> = Vec::new();
        if self.peek() == Some('{') {
            self.pos += 1;
            loop {
                self.skip_blanks();
                if self.peek() == Some('}') {
                    self.pos += 1;
                    break;
                }
                let at = self.pos;
                let label = self.name(true)?;
                if label == "__name__" {
                    self.pos = at;
                    return Err(self.error("label name \"__name__\" is reserved"));
                }
                if labels.iter().any(|(k, _)| k == label) {
                    self.pos = at;
                    return Err(self.error(format!("duplicate label name {label:?}")));
                }
                self.skip_blanks();
                if self.peek() != Some('=') {
                    return Err(self.error(format!("expected '=' after label name {label:?}")));
                }
                self.pos += 1;
                self.skip_blanks();
                let value = self.quoted()?;
                labels.push((label.to_string(), value));
                self.skip_blanks();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some('}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error("expected ',' or '}' after a label")),
                }
            }
            self.skip_blanks();
        }
        let at = self.pos;
        let token = self.token();
        if token.is_empty() {
            return Err(self.error(format!("expected a value for metric {name:?}")));
        }
        let value = go_float(token).ok_or_else(|| {
            self.pos = at;
            self.error(format!("invalid value {token:?}"))
        })?;
        let mut timestamp_ms = None;
        if self.skip_blanks() && self.peek().is_some() {
            let at = self.pos;
            let token = self.token();
            timestamp_ms = Some(token.parse::<i64>().map_err(|_| {
                self.pos = at;
                self.error(format!(
                    "invalid timestamp {token:?} (want integer milliseconds)"
                ))
            })?);
            self.skip_blanks();
        }
        if self.peek().is_some() {
            return Err(self.error(format!(
                "unexpected text after the sample: {:?}",
                self.rest()
            )));
        }
        Ok(Sample {
            name,
            labels,
            value,
            timestamp_ms,
        })
    }

    /// A `"…"` label value, unescaped.
    fn quoted(&mut self) -> Result<String, ParseError> {
        if self.peek() != Some('"') {
            return Err(self.error("expected '\"' to start a label value"));
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("unterminated label value"));
            };
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.error("unterminated label value"));
                    };
                    match e {
                        '\\' => out.push('\\'),
                        '"' => out.push('"'),
                        'n' => out.push('\n'),
                        _ => {
                            self.pos -= 1; // at the backslash
                            return Err(self.error(format!("invalid escape sequence \\{e}")));
                        }
                    }
                    self.pos += e.len_utf8();
                }
                c => out.push(c),
            }
        }
    }
}

/// A float as Go's `strconv.ParseFloat` reads one: decimal or exponent forms, and
/// `NaN`, `Inf`, `+Inf`, `-Inf`, `Infinity` in any case.
fn go_float(s: &str) -> Option<f64> {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'+') => (1.0, &s[1..]),
        Some(b'-') => (-1.0, &s[1..]),
        _ => (1.0, s),
    };
    let lower = body.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        "nan" if sign > 0.0 && !s.starts_with('+') => return Some(f64::NAN),
        _ => {}
    }
    // Rust reads "inf"/"nan" itself too; those were handled above (Go takes no sign on NaN).
    if lower.contains("inf") || lower.contains("nan") {
        return None;
    }
    s.parse::<f64>().ok()
}

impl fmt::Display for Sample {
    /// The sample as an exposition line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.labels.is_empty() {
            f.write_str("{")?;
            for (i, (k, v)) in self.labels.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                write!(f, "{k}=\"{v}\"")?;
            }
            f.write_str("}")?;
        }
        write!(f, " {}", self.value)?;
        if let Some(t) = self.timestamp_ms {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Sample {
        let mut s = parse(text).unwrap();
        assert_eq!(s.len(), 1, "{s:?}");
        s.remove(0)
    }

    #[test]
    fn reads_a_typical_exposition() {
        let text = "# HELP go_goroutines Number of goroutines that currently exist.\n\
                    # TYPE go_goroutines gauge\n\
                    go_goroutines 42\n\
                    # TYPE http_requests_total counter\n\
                    http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
                    http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n\
                    \n\
                    # A plain comment\n\
                    # TYPE rpc_duration_seconds histogram\n\
                    rpc_duration_seconds_bucket{le=\"0.05\"} 24054\n\
                    rpc_duration_seconds_bucket{le=\"+Inf\"} 144320\n\
                    rpc_duration_seconds_sum 53423\n\
                    rpc_duration_seconds_count 144320\n";
        let s = parse(text).unwrap();
        assert_eq!(s.len(), 7);
        assert_eq!(s[0].name, "go_goroutines");
        assert_eq!(s[0].value, 42.0);
        assert_eq!(s[0].timestamp_ms, None);
        assert_eq!(
            s[1].labels,
            vec![
                ("method".to_string(), "post".to_string()),
                ("code".to_string(), "200".to_string())
            ]
        );
        assert_eq!(s[1].timestamp_ms, Some(1_395_066_363_000));
        assert_eq!(s[2].value, 3.0);
        assert_eq!(s[4].labels[0].1, "+Inf");
        assert_eq!(s[6].name, "rpc_duration_seconds_count");
    }

    #[test]
    fn label_values_unescape_and_special_values_read() {
        let s = one("m{path=\"C:\\\\dir\",q=\"say \\\"hi\\\"\",nl=\"a\\nb\",} NaN\n");
        assert_eq!(s.labels[0].1, "C:\\dir");
        assert_eq!(s.labels[1].1, "say \"hi\"");
        assert_eq!(s.labels[2].1, "a\nb");
        assert!(s.value.is_nan());
        assert_eq!(one("m +Inf").value, f64::INFINITY);
        assert_eq!(one("m -Inf").value, f64::NEG_INFINITY);
        assert_eq!(one("m 1.5e3").value, 1500.0);
        assert_eq!(one("m{} -0.25 -5").timestamp_ms, Some(-5));
        assert_eq!(one("  m:sub_1 { a = \"x\" } 7 \r").value, 7.0);
        // The line's text round-trips.
        assert_eq!(one("m{a=\"q\\\"\"} 2 3").to_string(), "m{a=\"q\\\"\"} 2 3");
    }

    #[test]
    fn a_bad_line_refuses_the_exposition_naming_where() {
        let cases = [
            (
                "m 1\nm{a=\"1\" 2\n",
                2,
                9,
                "expected ',' or '}' after a label",
            ),
            ("m{a=\"1\",a=\"2\"} 1", 1, 9, "duplicate label name \"a\""),
            (
                "m{__name__=\"x\"} 1",
                1,
                3,
                "label name \"__name__\" is reserved",
            ),
            ("m abc", 1, 3, "invalid value \"abc\""),
            (
                "m 1 2.5",
                1,
                5,
                "invalid timestamp \"2.5\" (want integer milliseconds)",
            ),
            ("m 1 2 3", 1, 7, "unexpected text after the sample: \"3\""),
            ("9m 1", 1, 1, "invalid metric name starting with '9'"),
            ("m{a=x} 1", 1, 5, "expected '\"' to start a label value"),
            ("m{a=\"x} 1", 1, 10, "unterminated label value"),
            ("m{a=\"\\t\"} 1", 1, 6, "invalid escape sequence \\t"),
            ("m", 1, 2, "expected a value for metric \"m\""),
            ("m-x 1", 1, 2, "invalid character in metric name \"m\""),
            (
                "# TYPE m gauges",
                1,
                10,
                "unknown metric type \"gauges\" (want counter, gauge, histogram, summary or untyped)",
            ),
            (
                "# TYPE m gauge\n# TYPE m counter",
                2,
                17,
                "second TYPE line for metric name \"m\", or TYPE reported after samples",
            ),
            (
                "m 1\n# TYPE m gauge",
                2,
                15,
                "second TYPE line for metric name \"m\", or TYPE reported after samples",
            ),
            (
                "# HELP m a\n# HELP m b",
                2,
                9,
                "second HELP line for metric name \"m\"",
            ),
            ("m -NaN", 1, 3, "invalid value \"-NaN\""),
        ];
        for (text, line, column, message) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(
                (e.line, e.column, e.message.as_str()),
                (line, column, message),
                "{text:?}"
            );
        }
        assert_eq!(
            parse("m 1\nm{a=\"1\" 2\n").unwrap_err().to_string(),
            "line 2, column 9: expected ',' or '}' after a label"
        );
    }

    #[test]
    fn histogram_samples_before_a_later_type_of_another_family_are_fine() {
        let text = "# TYPE a histogram\na_bucket{le=\"1\"} 1\na_sum 1\na_count 1\n\
                    # TYPE a_sum_total counter\na_sum_total 3\n#comment without blank\n";
        assert_eq!(parse(text).unwrap().len(), 4);
    }
}
