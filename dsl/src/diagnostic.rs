//! Diagnostics: every problem the front end finds, with a stable code, a span, a label,
//! notes and an optional "did you mean" help, rendered with a caret under the source.
//!
//! Codes are listed in [`codes`] and never change meaning.

use crate::span::Span;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The script is rejected.
    Error,
    /// The script is accepted, but something looks wrong.
    Warning,
}

/// One problem found in a script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code, e.g. `E0203` (see [`codes`]).
    pub code: &'static str,
    /// One-line message, lowercase, no final period; names in backticks.
    pub message: String,
    /// Where the problem is.
    pub span: Span,
    /// Short text printed after the caret, if any.
    pub label: Option<String>,
    /// Extra notes printed as `= note: ...`.
    pub notes: Vec<String>,
    /// A suggestion printed as `= help: ...` (e.g. "did you mean `measurement`?").
    pub help: Option<String>,
}

impl Diagnostic {
    /// A new error diagnostic.
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: None,
            notes: Vec::new(),
            help: None,
        }
    }

    /// A new warning diagnostic.
    pub fn warning(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, span)
        }
    }

    /// Sets the caret label.
    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Sets the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders this diagnostic against its source, e.g.
    ///
    /// ```text
    /// error[E0203]: unknown property `.crit2` on `alert`
    ///   --> cpu.tick:7:6
    ///    |
    ///  7 |     .crit2(lambda: "usage_idle" < 10)
    ///    |      ^^^^^ not a property of `alert`
    ///    |
    ///    = help: did you mean `.crit`?
    /// ```
    pub fn render(&self, file: &str, src: &str) -> String {
        let mut out = String::new();
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{sev}[{}]: {}", self.code, self.message);
        // A span without position (line 0) is shown at the start of the source.
        let line_no = self.span.start.line.max(1);
        let start_col = self.span.start.column.max(1);
        let width = line_no.to_string().len();
        let pad = " ".repeat(width);
        let _ = writeln!(out, "{pad}--> {file}:{line_no}:{start_col}");
        let _ = writeln!(out, "{pad} |");
        let line_text = src
            .lines()
            .nth(line_no.saturating_sub(1) as usize)
            .unwrap_or("");
        // Tabs are shown as 4 spaces so the caret stays aligned.
        let shown: String = line_text.replace('\t', "    ");
        let _ = writeln!(out, "{line_no} | {}", shown.trim_end());
        let prefix: String = line_text.chars().take(start_col as usize - 1).collect();
        let caret_col = prefix.replace('\t', "    ").chars().count();
        let caret_len = if self.span.end.line == self.span.start.line {
            (self.span.end.column.saturating_sub(start_col) as usize).max(1)
        } else {
            line_text
                .chars()
                .count()
                .saturating_sub(start_col as usize - 1)
                .max(1)
        };
        let _ = write!(
            out,
            "{pad} | {}{}",
            " ".repeat(caret_col),
            "^".repeat(caret_len)
        );
        if let Some(label) = &self.label {
            let _ = write!(out, " {label}");
        }
        out.push('\n');
        if !self.notes.is_empty() || self.help.is_some() {
            let _ = writeln!(out, "{pad} |");
        }
        for note in &self.notes {
            let _ = writeln!(out, "{pad} = note: {note}");
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out
    }

    /// Kapacitor-style one-line form: `line 3 char 5: message`.
    pub fn one_line(&self) -> String {
        let mut s = format!(
            "line {} char {}: {}",
            self.span.start.line, self.span.start.column, self.message
        );
        if let Some(help) = &self.help {
            s.push_str(" (");
            s.push_str(help);
            s.push(')');
        }
        s
    }
}

/// Renders every diagnostic, separated by blank lines.
pub fn render_all(diags: &[Diagnostic], file: &str, src: &str) -> String {
    diags
        .iter()
        .map(|d| d.render(file, src))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Edit distance used for "did you mean" suggestions: optimal string alignment (Levenshtein
/// plus transposition of adjacent characters, so `form` is one edit from `from`).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// The closest candidate to `name`, if it is close enough to be a plausible typo
/// (case-insensitive match, or an edit distance of at most a third of the length, min 1).
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for cand in candidates {
        if cand.to_lowercase() == lower {
            return Some(cand);
        }
        let d = edit_distance(&lower, &cand.to_lowercase());
        let limit = (name.chars().count().max(cand.chars().count()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

/// Stable diagnostic codes. A code is never reused for a different meaning.
pub mod codes {
    /// Lexer: a character that starts no token.
    pub const UNEXPECTED_CHAR: &str = "E0001";
    /// Lexer: string, reference or regex not closed.
    pub const UNTERMINATED: &str = "E0002";
    /// Lexer: malformed number or duration literal.
    pub const BAD_NUMBER: &str = "E0003";
    /// Lexer: bad escape or otherwise malformed literal.
    pub const BAD_LITERAL: &str = "E0004";
    /// Parser: unexpected token.
    pub const UNEXPECTED_TOKEN: &str = "E0101";
    /// Parser: unexpected end of input.
    pub const UNEXPECTED_EOF: &str = "E0102";
    /// Parser: invalid statement.
    pub const BAD_STATEMENT: &str = "E0103";
    /// Seed form: malformed call.
    pub const BAD_SEED: &str = "E0104";
    /// Unknown chaining node (`|foo()`).
    pub const UNKNOWN_NODE: &str = "E0201";
    /// Unknown global function or identifier call.
    pub const UNKNOWN_FUNCTION: &str = "E0202";
    /// Unknown property (`.foo()`).
    pub const UNKNOWN_PROPERTY: &str = "E0203";
    /// `.` used where `|` is needed.
    pub const DOT_FOR_CHAIN: &str = "E0204";
    /// `|` used where `.` is needed.
    pub const PIPE_FOR_PROPERTY: &str = "E0205";
    /// Wrong number of arguments.
    pub const ARG_COUNT: &str = "E0206";
    /// Wrong argument type.
    pub const ARG_TYPE: &str = "E0207";
    /// Node used on an edge of the wrong type (batch-only in stream, and the reverse).
    pub const EDGE_TYPE: &str = "E0208";
    /// Chain or property on something that is not a node.
    pub const NOT_A_NODE: &str = "E0209";
    /// Invalid property value or combination (node validation).
    pub const INVALID_NODE: &str = "E0210";
    /// `@udf()` call of an unknown UDF.
    pub const UNKNOWN_UDF: &str = "E0211";
    /// Variable redefined.
    pub const REDEFINED_VAR: &str = "E0301";
    /// Variable used but never defined.
    pub const UNDEFINED_VAR: &str = "E0302";
    /// Template variable declared with an unknown type.
    pub const BAD_VAR_TYPE: &str = "E0303";
    /// Template variable without a value.
    pub const MISSING_VAR: &str = "E0304";
    /// Value given for a var has the wrong type.
    pub const VAR_TYPE_MISMATCH: &str = "E0305";
    /// Unknown lambda function.
    pub const UNKNOWN_LAMBDA_FUNCTION: &str = "E0401";
    /// Static type error in a lambda (e.g. int + float, string < number).
    pub const LAMBDA_TYPE: &str = "E0402";
    /// Wrong argument count for a lambda function.
    pub const LAMBDA_ARG_COUNT: &str = "E0403";
    /// Non-lambda expression evaluation error (e.g. `5m + 'a'`).
    pub const EVAL: &str = "E0404";
    /// The task does nothing.
    pub const EMPTY_PIPELINE: &str = "E0501";
    /// Script type (stream/batch) does not match the requested type.
    pub const TASK_TYPE: &str = "E0502";
    /// Both stream and batch used in one script.
    pub const MIXED_SOURCES: &str = "E0503";
    /// A `dbrp` statement problem.
    pub const BAD_DBRP: &str = "E0504";
    /// Pipeline cycle or other structural error.
    pub const STRUCTURE: &str = "E0505";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Pos;

    #[test]
    fn suggestions() {
        let props = [
            "measurement",
            "database",
            "retentionPolicy",
            "where",
            "groupBy",
        ];
        assert_eq!(suggest("measurment", props), Some("measurement"));
        assert_eq!(suggest("groupby", props), Some("groupBy"));
        assert_eq!(suggest("zzz", props), None);
        assert_eq!(suggest("form", ["from", "window"]), Some("from"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn render_caret() {
        let src = "stream\n    |from()\n        .measurment('cpu')\n";
        let start = Pos::at(src, src.find("measurment").unwrap());
        let end = Pos::at(src, start.offset + "measurment".len());
        let d = Diagnostic::error(
            codes::UNKNOWN_PROPERTY,
            "unknown property `.measurment` on `from`",
            Span::new(start, end),
        )
        .with_label("not a property of `from`")
        .with_help("did you mean `measurement`?");
        let r = d.render("t.tick", src);
        assert_eq!(
            r,
            "error[E0203]: unknown property `.measurment` on `from`\n --> t.tick:3:10\n  |\n3 |         .measurment('cpu')\n  |          ^^^^^^^^^^ not a property of `from`\n  |\n  = help: did you mean `measurement`?\n"
        );
    }
}
