//! Parses arbitrary bytes (as text when they are valid UTF-8) with every precision.
//!
//! Fails when the parser panics, when an error has a kind this target does not know (a new
//! generic error should be a finding, not a silent pass), when an error's position or
//! context is malformed, or when a line that parsed does not survive write-then-parse.

#![no_main]

use kap_line_protocol::{
    LineError, LineErrorKind, MAX_ERROR_CONTEXT_CHARS, Precision, parse_lines,
    parse_lines_with_precision,
};
use libfuzzer_sys::fuzz_target;

fn check_error(e: &LineError) {
    use LineErrorKind::*;
    match e.kind() {
        MissingMeasurement | MissingTagKey | MissingTagValue | InvalidTag | DuplicateTag
        | MissingFields | MissingFieldKey | InvalidField | MissingFieldValue
        | InvalidFieldValue | InvalidFloat | FloatOutOfRange | InvalidInteger
        | IntegerOutOfRange | InvalidUnsigned | UnsignedOutOfRange | InvalidBoolean
        | UnterminatedString | UnexpectedCharacter | InvalidTimestamp | TimestampOutOfRange
        | TrailingCharacters => {}
        other => panic!("unexpected error kind {other:?}: {e}"),
    }
    assert!(e.line() >= 1 && e.column() >= 1, "{e:?}");
    let shown = e.context().strip_suffix("...").unwrap_or(e.context());
    assert!(shown.chars().count() <= MAX_ERROR_CONTEXT_CHARS, "{e:?}");
    let _ = e.to_string();
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let precisions = [
        Precision::Nanoseconds,
        Precision::Microseconds,
        Precision::Milliseconds,
        Precision::Seconds,
        Precision::Minutes,
        Precision::Hours,
    ];
    let precision = precisions[data
        .first()
        .map_or(0, |b| usize::from(*b) % precisions.len())];
    for result in parse_lines_with_precision(body, precision) {
        match result {
            Ok(line) => {
                assert!(!line.fields.is_empty());
                let text = line.to_string();
                let again: Vec<_> = parse_lines(&text).collect();
                assert_eq!(again.len(), 1, "{text:?} -> {again:?}");
                assert_eq!(again[0].as_ref(), Ok(&line), "round trip of {text:?}");
            }
            Err(e) => check_error(&e),
        }
    }
});
