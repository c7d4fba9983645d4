//! Go `text/template` (and `html/template` in HTML text context) for Kapacitor's templates:
//! alert `.id()`, `.message()`, `.details()`, and the sideload / httpPost templates.
//!
//! A [`Template`] is parsed once and executed many times against a [`Data`] value:
//!
//! ```
//! use kap_dataflow::template::{Data, Template};
//!
//! let t = Template::parse("id", "{{ .Name }}:{{ .Group }}").unwrap();
//! let data = Data::structure([("Name", Data::str("cpu")), ("Group", Data::str("nil"))]);
//! assert_eq!(t.execute(&data).unwrap(), "cpu:nil");
//! ```
//!
//! # What is supported
//! Text, `{{ pipeline }}`, comments, trim markers `{{-` / `-}}`, `if` / `else if` / `else`,
//! `range` (lists, maps in key order, integers; `$i, $v :=`; `else`; `break` / `continue`),
//! `with` (and `else with`), variables (`$x := …`, `$x = …`, `$`), pipelines, parenthesised
//! pipelines, field chains, string / raw-string / character / number / `true` / `false` /
//! `nil` literals, and the built-in functions `and or not len index slice print printf
//! println html js urlquery eq ne lt le gt ge`. [`Funcs::kapacitor`] adds `json` and
//! `jsonCompact`; callers register more through [`Funcs`]. Not supported: `define`,
//! `template`, `block` (a parse error), `call`, methods.
//!
//! Missing map keys are nil and print as `<no value>` (Go's `missingkey=default`); a missing
//! struct field is an execution error. In [`Mode::Html`] every printed pipeline value is
//! escaped the way `html/template` escapes element content (`& < > " ' +`, NUL → U+FFFD) and
//! nil prints nothing; literal template text is left as is (HTML comments in it are not
//! stripped, unlike Go).
//!
//! Execution never panics and terminates: nesting is limited to [`MAX_NESTING`] at parse time
//! and Go templates have no unbounded loops.
//!
//! # Why not the `gtmpl` crate
//! `gtmpl` 0.7.1 was evaluated first. It parses the deadman template and `%0.3f` correctly,
//! but fails essential points: maps print as Rust `Debug` (`{"a": String("x")}`) in hash
//! order instead of Go's sorted `map[a:x]`; `%03d` pads with spaces; `%q` does not quote;
//! `{{ 1e21 }}` evaluates to 18446744073709551615; there is no `html` function and no HTML
//! escaping mode; `$x = v` assignment is a parse error; errors have no columns; and its value
//! type has no time or duration kinds. Hence this hand-written lexer, parser and executor.

mod data;
mod exec;
mod funcs;
mod parse;
mod printf;

use std::fmt;
use std::sync::Arc;

pub use data::Data;
pub use funcs::{FuncImpl, Funcs};
pub use printf::{sprint, sprintf, sprintln};

/// Maximum nesting depth of control structures and parenthesised pipelines.
pub const MAX_NESTING: usize = parse::MAX_DEPTH;

/// The default alert id template.
pub const DEFAULT_ID_TEMPLATE: &str = "{{ .Name }}:{{ .Group }}";
/// The default alert message template.
pub const DEFAULT_MESSAGE_TEMPLATE: &str = "{{ .ID }} is {{ .Level }}";
/// The default alert details template (rendered in [`Mode::Html`]).
pub const DEFAULT_DETAILS_TEMPLATE: &str = "{{ json . }}";

/// How printed pipeline values are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// `text/template`: no escaping.
    #[default]
    Text,
    /// `html/template` in HTML text context: printed values are HTML-escaped.
    Html,
}

/// Whether an error arose while parsing or while executing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The template text is malformed.
    Parse,
    /// Execution against a value failed.
    Exec,
}

/// A parse or execution error with its position in the template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Parse or execution.
    pub kind: ErrorKind,
    /// The template's name.
    pub name: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// For execution errors, the failing command's text (Go's `at <...>`).
    pub context: String,
    /// The message, in Go's words where Go has one.
    pub message: String,
}

impl TemplateError {
    fn locate(text: &str, pos: usize) -> (usize, usize, usize) {
        let pos = pos.min(text.len());
        let before = text.get(..pos).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col_chars = before[line_start..].chars().count() + 1;
        (line, col_chars, pos - line_start)
    }

    pub(crate) fn parse(name: &str, text: &str, pos: usize, message: String) -> Self {
        let (line, column, _) = Self::locate(text, pos);
        Self {
            kind: ErrorKind::Parse,
            name: name.to_owned(),
            line,
            column,
            context: String::new(),
            message,
        }
    }

    pub(crate) fn exec(name: &str, text: &str, pos: usize, ctx: &str, message: String) -> Self {
        let (line, column, _) = Self::locate(text, pos);
        Self {
            kind: ErrorKind::Exec,
            name: name.to_owned(),
            line,
            column,
            context: ctx.to_owned(),
            message,
        }
    }
}

impl fmt::Display for TemplateError {
    /// Go's forms: `template: NAME:LINE: MSG` for parse errors and
    /// `template: NAME:LINE:COL: executing "NAME" at <CTX>: MSG` for execution errors (Go
    /// prints a 0-based byte column there; this prints the 1-based character column − 1).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Parse => {
                write!(f, "template: {}:{}: {}", self.name, self.line, self.message)
            }
            ErrorKind::Exec => write!(
                f,
                "template: {}:{}:{}: executing {:?} at <{}>: {}",
                self.name,
                self.line,
                self.column - 1,
                self.name,
                self.context,
                self.message
            ),
        }
    }
}

impl std::error::Error for TemplateError {}

/// A parsed template, reusable and cheap to clone.
#[derive(Debug, Clone)]
pub struct Template {
    name: Arc<str>,
    text: Arc<str>,
    mode: Mode,
    funcs: Funcs,
    root: Arc<[parse::Node]>,
}

impl Template {
    /// Parses a `text/template` with [`Funcs::kapacitor`] available.
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        Self::parse_with(name, text, Mode::Text, Funcs::kapacitor())
    }

    /// Parses an `html/template` (values HTML-escaped) with [`Funcs::kapacitor`] available;
    /// what Kapacitor uses for alert details.
    pub fn parse_html(name: &str, text: &str) -> Result<Template, TemplateError> {
        Self::parse_with(name, text, Mode::Html, Funcs::kapacitor())
    }

    /// Parses with an explicit escaping mode and function set.
    pub fn parse_with(
        name: &str,
        text: &str,
        mode: Mode,
        funcs: Funcs,
    ) -> Result<Template, TemplateError> {
        let root = parse::parse(name, text, &funcs)?;
        Ok(Template {
            name: name.into(),
            text: text.into(),
            mode,
            funcs,
            root: root.into(),
        })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The template's source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The escaping mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Executes the template with `data` as `.` and `$`.
    pub fn execute(&self, data: &Data) -> Result<String, TemplateError> {
        exec::Exec::run(self, data)
    }
}
