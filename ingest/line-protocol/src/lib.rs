//! `kap-line-protocol`: a zero-copy parser and a writer for InfluxDB 1.x line protocol.
//!
//! ```text
//! measurement[,tag_key=tag_value...] field_key=field_value[,field_key=field_value...] [timestamp]
//! ```
//!
//! It is the crate behind `kap_ingest::line_protocol`. It depends on no other workspace crate
//! (and on nothing outside `std`), so it can be fuzzed (`fuzz/`) and published alone. It does
//! not know about databases, retention policies or points of the engine: callers turn a
//! [`ParsedLine`] into whatever they need.
//!
//! # Examples
//!
//! ```
//! use std::borrow::Cow;
//! use kap_line_protocol::{parse_lines, parse_lines_with_precision, FieldValue, Precision};
//!
//! let body = "# a comment\n\
//!             cpu,region=us\\ west,host=a usage=0.5,n=3i,ok=t,msg=\"hi \\\"there\\\"\" 1700000000\r\n\
//!             cpu,host=b usage=oops 1700000001\n\
//!             \n\
//!             mem free=12u\n";
//! let precision: Precision = "s".parse().unwrap();
//! let results: Vec<_> = parse_lines_with_precision(body, precision).collect();
//! assert_eq!(results.len(), 3);
//!
//! let cpu = results[0].as_ref().unwrap();
//! assert_eq!(cpu.measurement, "cpu");
//! // Tags come back sorted by key; an escape forces an owned, unescaped copy.
//! assert_eq!(cpu.tags[0], (Cow::Borrowed("host"), Cow::Borrowed("a")));
//! assert_eq!(cpu.tag("region"), Some("us west"));
//! assert!(matches!(cpu.tags[1].1, Cow::Owned(_)));
//! assert_eq!(cpu.field("usage"), Some(&FieldValue::Float(0.5)));
//! assert_eq!(cpu.field("n"), Some(&FieldValue::Integer(3)));
//! assert_eq!(cpu.field("ok"), Some(&FieldValue::Boolean(true)));
//! assert_eq!(cpu.field("msg"), Some(&FieldValue::String("hi \"there\"".into())));
//! assert_eq!(cpu.timestamp, Some(1_700_000_000_000_000_000));
//!
//! // A bad line is reported with its 1-based line and column; the next lines still parse.
//! let err = results[1].as_ref().unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     r#"line 3, column 18: invalid field value (near "oops 1700000...")"#
//! );
//! assert_eq!(results[2].as_ref().unwrap().field("free"), Some(&FieldValue::UInteger(12)));
//!
//! // Writing gives canonical line protocol that parses back to the same line.
//! let text = cpu.to_string();
//! assert_eq!(
//!     text,
//!     r#"cpu,host=a,region=us\ west usage=0.5,n=3i,ok=true,msg="hi \"there\"" 1700000000000000000"#
//! );
//! assert_eq!(parse_lines(&text).next().unwrap().as_ref(), Ok(cpu));
//! ```
//!
//! # Grammar
//!
//! The rules are InfluxDB 1.x's (`models/points.go`), which Kapacitor uses:
//!
//! - **Escapes.** In a measurement, `\,` and `\ ` stand for `,` and space. In tag keys, tag
//!   values and field keys, `\,`, `\=` and `\ ` do. A backslash before any other character is
//!   an ordinary character. String field values are double-quoted, with `\"` and `\\`.
//! - **Field values.** Floats (`1`, `1.5`, `.5`, `1e3`, `-1.5E-2`; no `NaN`/`Inf`, no leading
//!   `+`, and values that overflow `f64` are errors), integers `42i`, unsigned integers `42u`,
//!   strings, and booleans `t`/`T`/`true`/`True`/`TRUE`, `f`/`F`/`false`/`False`/`FALSE`.
//!   At least one field is required. When a field key repeats, the last value wins.
//! - **Tags** are returned sorted by key (as InfluxDB sorts them); a repeated tag key is an
//!   error (as in InfluxDB).
//! - **Timestamp**: an optional integer, possibly negative, leading zeros allowed, in the
//!   [`Precision`] given (default nanoseconds), always returned as `i64` nanoseconds.
//! - **Whitespace.** A space, then any run of spaces and tabs, separates the sections
//!   (Kapacitor recordings contain `value=39   0000000001`). Leading and trailing spaces and
//!   tabs are ignored, lines may end in `\r\n`, blank lines and lines starting with `#` are
//!   skipped. A tab inside a name is part of the name, as in InfluxDB.
//! - **Lines.** A `\n` inside a quoted string value does not end the line. After a bad line,
//!   parsing resumes where InfluxDB 1.x's line scanner would start the next line.
//! - **Text** is UTF-8 anywhere; columns in errors count characters, not bytes.
//!
//! Deliberate differences from InfluxDB 1.x: a backslash followed by a newline does not
//! continue a name onto the next line (it is an error here), and a tab may end a field value
//! or a timestamp.
//!
//! # Design
//!
//! The parser makes one pass over the bytes, with a 256-entry class table deciding where each
//! name or value ends, so it needs no separate line-splitting pass. Names borrow from the body
//! unless they contain an escape. Floats take Clinger's exact fast path when the digits allow
//! it and the standard library's correctly rounded parser otherwise. [`Lines::next_into`]
//! lets a caller reuse one [`ParsedLine`] for a whole body, so a steady-state loop allocates
//! only for escaped names.

// A library reports through `tracing` or its services: a print here is a leftover.
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![warn(missing_docs)]

mod error;
mod escape;
mod line;
mod number;
mod parse;
mod precision;
mod write;

pub use error::{LineError, LineErrorKind, MAX_ERROR_CONTEXT_CHARS, ParsePrecisionError};
pub use line::{FieldValue, ParsedLine};
pub use parse::{Lines, parse_lines, parse_lines_with_precision};
pub use precision::Precision;
