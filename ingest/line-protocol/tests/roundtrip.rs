//! Property tests: parse(write(x)) == x over lines full of characters that need escaping, and
//! the parser never panics and keeps good lines around bad ones.

use std::borrow::Cow;

use kap_line_protocol::{
    FieldValue, LineError, MAX_ERROR_CONTEXT_CHARS, ParsedLine, Precision, parse_lines,
    parse_lines_with_precision,
};
use proptest::prelude::*;

/// Characters that stress the escaping rules, plus some ordinary and multi-byte ones.
const NASTY: &[char] = &[
    'a', 'b', 'z', 'A', '0', '9', '.', '-', 'i', 'u', 't', 'e', ',', '=', ' ', '\\', '"', '\t',
    '#', '\r', '\'', '\0', 'é', '☃', '🦀',
];

fn nasty_string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(NASTY), 1..max).prop_map(|v| v.into_iter().collect())
}

/// A name the line protocol can express: not empty, no newline, not ending with `\`.
fn name() -> impl Strategy<Value = String> {
    nasty_string(10).prop_map(|mut s| {
        if s.ends_with('\\') {
            s.push('x');
        }
        s
    })
}

/// A measurement additionally cannot start like a comment or with leading whitespace that
/// the parser skips.
fn measurement() -> impl Strategy<Value = String> {
    name().prop_map(|s| {
        if s.starts_with(['#', '\t']) {
            format!("m{s}")
        } else {
            s
        }
    })
}

fn field_value() -> impl Strategy<Value = FieldValue<'static>> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(FieldValue::Float),
        (-1e6f64..1e6).prop_map(FieldValue::Float),
        any::<i64>().prop_map(FieldValue::Integer),
        any::<u64>().prop_map(FieldValue::UInteger),
        any::<bool>().prop_map(FieldValue::Boolean),
        prop::collection::vec(prop_oneof![prop::sample::select(NASTY), Just('\n')], 0..12)
            .prop_map(|v| FieldValue::String(Cow::Owned(v.into_iter().collect()))),
    ]
}

/// A line in the parser's normal form: tags sorted and unique, field keys unique.
fn line() -> impl Strategy<Value = ParsedLine<'static>> {
    (
        measurement(),
        prop::collection::vec((name(), name()), 0..5),
        prop::collection::vec((name(), field_value()), 1..5),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(m, tags, fields, timestamp)| {
            let mut line = ParsedLine::new(m);
            for (k, v) in tags {
                if line.tag(&k).is_none() {
                    line.tags.push((k.into(), v.into()));
                    line.tags.sort_by(|a, b| a.0.cmp(&b.0));
                }
            }
            for (i, (mut k, v)) in fields.into_iter().enumerate() {
                // Blanks after the measurement are skipped, so the first key cannot start
                // with a tab (there is no escape for it, in InfluxDB either).
                if i == 0 && k.starts_with('\t') {
                    k.insert(0, 'k');
                }
                if line.field(&k).is_none() {
                    line.fields.push((k.into(), v));
                }
            }
            line.timestamp = timestamp;
            line
        })
}

fn check_error(e: &LineError) {
    assert!(e.line() >= 1 && e.column() >= 1, "{e:?}");
    let shown = e.context().strip_suffix("...").unwrap_or(e.context());
    assert!(shown.chars().count() <= MAX_ERROR_CONTEXT_CHARS, "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("line {}, column {}: ", e.line(), e.column())),
        "{msg}"
    );
}

/// Every line that parses writes back to text that parses to the same line.
fn check_round_trip(line: &ParsedLine<'_>) {
    let text = line.to_string();
    let again: Vec<_> = parse_lines(&text).collect();
    assert_eq!(again.len(), 1, "{text:?} -> {again:?}");
    assert_eq!(again[0].as_ref(), Ok(line), "{text:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn write_then_parse_is_identity(line in line()) {
        let text = line.to_string();
        let parsed: Vec<_> = parse_lines(&text).collect();
        prop_assert_eq!(parsed.len(), 1, "{:?}", text);
        prop_assert_eq!(parsed[0].as_ref(), Ok(&line), "{:?}", text);
    }

    #[test]
    fn bodies_of_written_lines_parse_back(
        lines in prop::collection::vec(line(), 1..8),
        crlf in any::<bool>(),
        trailing_newline in any::<bool>(),
    ) {
        let sep = if crlf { "\r\n" } else { "\n" };
        let mut body = lines.iter().map(ToString::to_string).collect::<Vec<_>>().join(sep);
        if trailing_newline {
            body.push_str(sep);
        }
        let parsed: Vec<_> = parse_lines(&body).collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(format!("{e} in {body:?}")))?;
        prop_assert_eq!(parsed, lines);
    }

    #[test]
    fn precision_scales_timestamps(ts in -9_223_372_036i64..=9_223_372_036, v in any::<i64>()) {
        let body = format!("m v={v}i {ts}");
        let line = parse_lines_with_precision(&body, Precision::Seconds).next().unwrap().unwrap();
        prop_assert_eq!(line.timestamp, Some(ts * 1_000_000_000));
        prop_assert_eq!(line.fields[0].1.clone(), FieldValue::Integer(v));
    }

    #[test]
    fn arbitrary_input_never_panics_and_good_lines_round_trip(
        body in prop::collection::vec(
            prop_oneof![
                4 => prop::sample::select(NASTY),
                1 => Just('\n'),
                1 => Just('1'),
            ],
            0..80,
        ).prop_map(|v| v.into_iter().collect::<String>())
    ) {
        for result in parse_lines(&body) {
            match result {
                Ok(line) => check_round_trip(&line),
                Err(e) => check_error(&e),
            }
        }
    }

    #[test]
    fn arbitrary_unicode_never_panics(body in any::<String>()) {
        for result in parse_lines_with_precision(&body, Precision::Hours) {
            match result {
                Ok(line) => {
                    prop_assert!(!line.fields.is_empty());
                }
                Err(e) => check_error(&e),
            }
        }
    }

    #[test]
    fn bad_lines_leave_good_lines_intact(
        items in prop::collection::vec(
            prop_oneof![
                line().prop_map(Ok),
                // Starts with `,` (no measurement); no quote or backslash, so no line
                // scanner heuristics can make it swallow the next line.
                prop::collection::vec(prop::sample::select(&NASTY[..15]), 0..10)
                    .prop_map(|v| Err(format!(",{}", v.into_iter().collect::<String>()))),
            ],
            1..10,
        )
    ) {
        let body = items
            .iter()
            .map(|item| match item {
                Ok(line) => line.to_string(),
                Err(garbage) => garbage.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let results: Vec<_> = parse_lines(&body).collect();
        prop_assert_eq!(results.len(), items.len(), "{:?}", body);
        let mut line_no = 1;
        for (item, result) in items.iter().zip(&results) {
            match (item, result) {
                (Ok(want), Ok(got)) => prop_assert_eq!(got, want),
                (Err(_), Err(e)) => prop_assert_eq!(e.line(), line_no, "{}", e),
                _ => prop_assert!(false, "{item:?} gave {result:?} in {body:?}"),
            }
            let text = match item {
                Ok(line) => line.to_string(),
                Err(garbage) => garbage.clone(),
            };
            line_no += 1 + text.matches('\n').count();
        }
    }
}
