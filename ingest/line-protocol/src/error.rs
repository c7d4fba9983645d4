//! Errors: one [`LineError`] per rejected line, carrying where and why.

use std::fmt;

/// At most this many characters of the input are echoed in an error (style rule 13), so a
/// huge bad line never floods a log.
pub const MAX_ERROR_CONTEXT_CHARS: usize = 12;

/// Why a line was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LineErrorKind {
    /// The line starts with `,` (no measurement name).
    MissingMeasurement,
    /// A `,` in the tag section is not followed by a tag key.
    MissingTagKey,
    /// A tag key is followed by `=` and then nothing.
    MissingTagValue,
    /// A tag is not `key=value`, or a tag value holds an unescaped `=`.
    InvalidTag,
    /// The same tag key appears twice.
    DuplicateTag,
    /// The line has no field section.
    MissingFields,
    /// A field starts with `=` or the field section ends with `,`.
    MissingFieldKey,
    /// A field key is not followed by `=`.
    InvalidField,
    /// A field key is followed by `=` and then nothing.
    MissingFieldValue,
    /// An unquoted field value is not a number or a boolean.
    InvalidFieldValue,
    /// A field value that looks like a float is malformed.
    InvalidFloat,
    /// A float field value is too large for `f64`.
    FloatOutOfRange,
    /// A field value with the `i` suffix is malformed.
    InvalidInteger,
    /// An `i` field value does not fit `i64`.
    IntegerOutOfRange,
    /// A field value with the `u` suffix is malformed.
    InvalidUnsigned,
    /// A `u` field value does not fit `u64`.
    UnsignedOutOfRange,
    /// A field value starting with `t` or `f` is not one of the accepted boolean spellings.
    InvalidBoolean,
    /// A string field value has no closing `"`.
    UnterminatedString,
    /// A field value is followed by something other than `,`, whitespace or the line end.
    UnexpectedCharacter,
    /// The timestamp is not an integer.
    InvalidTimestamp,
    /// The timestamp, scaled to nanoseconds, does not fit `i64`.
    TimestampOutOfRange,
    /// Something other than whitespace follows the timestamp.
    TrailingCharacters,
}

impl LineErrorKind {
    /// A short lowercase description, as used in [`LineError`]'s `Display`.
    pub fn as_str(self) -> &'static str {
        match self {
            LineErrorKind::MissingMeasurement => "missing measurement",
            LineErrorKind::MissingTagKey => "missing tag key",
            LineErrorKind::MissingTagValue => "missing tag value",
            LineErrorKind::InvalidTag => "invalid tag format (want `key=value`)",
            LineErrorKind::DuplicateTag => "duplicate tag key",
            LineErrorKind::MissingFields => "missing fields",
            LineErrorKind::MissingFieldKey => "missing field key",
            LineErrorKind::InvalidField => "invalid field format (want `key=value`)",
            LineErrorKind::MissingFieldValue => "missing field value",
            LineErrorKind::InvalidFieldValue => "invalid field value",
            LineErrorKind::InvalidFloat => "invalid float field value",
            LineErrorKind::FloatOutOfRange => "float field value out of range",
            LineErrorKind::InvalidInteger => "invalid integer field value",
            LineErrorKind::IntegerOutOfRange => "integer field value out of range",
            LineErrorKind::InvalidUnsigned => "invalid unsigned integer field value",
            LineErrorKind::UnsignedOutOfRange => "unsigned integer field value out of range",
            LineErrorKind::InvalidBoolean => "invalid boolean field value",
            LineErrorKind::UnterminatedString => "unterminated string field value",
            LineErrorKind::UnexpectedCharacter => "unexpected character after field value",
            LineErrorKind::InvalidTimestamp => "invalid timestamp",
            LineErrorKind::TimestampOutOfRange => "timestamp out of range",
            LineErrorKind::TrailingCharacters => "unexpected characters after timestamp",
        }
    }
}

impl fmt::Display for LineErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected line: its 1-based line number, 1-based column (in characters), the reason, and
/// a few characters of the input from the column on.
///
/// Displays as `line 3, column 12: invalid integer field value (near "12x 16000000...")`.
/// The context is at most [`MAX_ERROR_CONTEXT_CHARS`] characters of the offending physical line,
/// followed by `...` when cut; it is omitted when the error sits at the end of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) kind: LineErrorKind,
    pub(crate) context: String,
}

impl LineError {
    /// 1-based line number in the body (every `\n` starts a new line, including one inside a
    /// quoted string).
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column, counted in characters (not bytes) from the start of the line.
    pub fn column(&self) -> usize {
        self.column
    }

    /// Why the line was rejected.
    pub fn kind(&self) -> LineErrorKind {
        self.kind
    }

    /// The truncated input shown after `near`, possibly empty.
    pub fn context(&self) -> &str {
        &self.context
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.kind
        )?;
        if !self.context.is_empty() {
            // Debug formatting quotes the text and escapes control characters.
            write!(f, " (near {:?})", self.context)?;
        }
        Ok(())
    }
}

impl std::error::Error for LineError {}

/// Turns byte positions into 1-based line and column numbers, remembering the last answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Locator {
    /// A byte position whose line number is known (always the start of a line or 0).
    pos: usize,
    /// 1-based line number of `pos`.
    line: usize,
}

impl Locator {
    pub(crate) fn new() -> Self {
        Locator { pos: 0, line: 1 }
    }

    /// Error for `kind` at byte `pos`. Positions usually increase from call to call, so counting
    /// newlines from the previous error keeps the total work linear in the body size.
    pub(crate) fn error(&mut self, src: &str, pos: usize, kind: LineErrorKind) -> LineError {
        let b = src.as_bytes();
        let pos = floor_char_boundary(src, pos.min(b.len()));
        let line_start = b[..pos]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1);
        let line = if line_start >= self.pos {
            self.line + count_newlines(&b[self.pos..line_start])
        } else {
            self.line - count_newlines(&b[line_start..self.pos])
        };
        self.pos = line_start;
        self.line = line;
        let column = src[line_start..pos].chars().count() + 1;
        LineError {
            line,
            column,
            kind,
            context: context_at(src, pos),
        }
    }
}

fn count_newlines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Up to [`MAX_ERROR_CONTEXT_CHARS`] characters of the rest of the physical line at `pos`.
fn context_at(src: &str, pos: usize) -> String {
    let rest = &src[pos..];
    let rest = &rest[..rest.find('\n').unwrap_or(rest.len())];
    let rest = rest.strip_suffix('\r').unwrap_or(rest);
    match rest.char_indices().nth(MAX_ERROR_CONTEXT_CHARS) {
        Some((cut, _)) => format!("{}...", &rest[..cut]),
        None => rest.to_owned(),
    }
}

/// The precision name given to [`Precision::from_str`](crate::Precision) is not one InfluxDB
/// accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsePrecisionError {
    pub(crate) input: String,
}

impl fmt::Display for ParsePrecisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.input.chars().take(MAX_ERROR_CONTEXT_CHARS).collect();
        let more = if self.input.chars().count() > MAX_ERROR_CONTEXT_CHARS {
            "..."
        } else {
            ""
        };
        write!(
            f,
            "invalid precision `{shown}{more}` (use n, u, ms, s, m or h)"
        )
    }
}

impl std::error::Error for ParsePrecisionError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_truncated_to_the_line() {
        assert_eq!(context_at("abc\r\ndef", 0), "abc");
        assert_eq!(context_at("0123456789abcdefgh", 2), "23456789abcd...");
        assert_eq!(context_at("ééééééééééééé", 0), "éééééééééééé...");
        assert_eq!(context_at("x\n", 1), "");
    }

    #[test]
    fn locator_counts_lines_and_characters() {
        let src = "a\nbé c\n\nd";
        let mut loc = Locator::new();
        let e = loc.error(src, 6, LineErrorKind::MissingFields);
        assert_eq!((e.line, e.column), (2, 4));
        let e = loc.error(src, 9, LineErrorKind::MissingFields);
        assert_eq!((e.line, e.column), (4, 1));
        let e = loc.error(src, 0, LineErrorKind::MissingFields);
        assert_eq!((e.line, e.column), (1, 1));
        assert_eq!(
            e.to_string(),
            "line 1, column 1: missing fields (near \"a\")"
        );
    }
}
