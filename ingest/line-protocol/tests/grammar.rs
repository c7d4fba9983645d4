//! One table per grammar rule: escaping of each element, each field type, precision,
//! whitespace, comments, CRLF, UTF-8, duplicates, tag order, and errors with exact positions.

use std::borrow::Cow;

use kap_line_protocol::{
    FieldValue, LineError, LineErrorKind, ParsedLine, Precision, parse_lines,
    parse_lines_with_precision,
};

/// Parses a body that must hold exactly one good line.
fn one(input: &str) -> ParsedLine<'_> {
    let mut results: Vec<_> = parse_lines(input).collect();
    assert_eq!(results.len(), 1, "{input:?}: {results:?}");
    match results.remove(0) {
        Ok(line) => line,
        Err(e) => panic!("{input:?}: {e}"),
    }
}

/// Parses a body that must hold exactly one bad line.
fn one_err(input: &str) -> LineError {
    let mut results: Vec<_> = parse_lines(input).collect();
    assert_eq!(results.len(), 1, "{input:?}: {results:?}");
    match results.remove(0) {
        Ok(line) => panic!("{input:?} parsed as {line:?}"),
        Err(e) => e,
    }
}

fn float(line: &ParsedLine<'_>, key: &str) -> f64 {
    match line.field(key) {
        Some(FieldValue::Float(v)) => *v,
        other => panic!("field {key}: {other:?}"),
    }
}

#[test]
fn measurement_escaping() {
    let cases: &[(&str, &str)] = &[
        ("cpu v=1", "cpu"),
        (r"cpu\,x v=1", "cpu,x"),
        (r"cpu\ x v=1", "cpu x"),
        (r"\ cpu v=1", " cpu"),
        (r"cpu\=x v=1", r"cpu\=x"),
        ("c=pu v=1", "c=pu"),
        (r"cpu\x v=1", r"cpu\x"),
        (r"cpu\\x v=1", r"cpu\\x"),
        (r"cpu\\,x v=1", r"cpu\,x"),
        (r#"c"p"u v=1"#, r#"c"p"u"#),
        ("cpu\tx v=1", "cpu\tx"),
        ("c#pu v=1", "c#pu"),
        ("温度 v=1", "温度"),
    ];
    for &(input, want) in cases {
        assert_eq!(one(input).measurement, want, "{input:?}");
    }
}

#[test]
fn tag_escaping() {
    let cases: &[(&str, &str, &str)] = &[
        ("cpu,host=a v=1", "host", "a"),
        (r"cpu,ho\ st=a v=1", "ho st", "a"),
        (r"cpu,ho\,st=a v=1", "ho,st", "a"),
        (r"cpu,ho\=st=a v=1", "ho=st", "a"),
        (r"cpu,ho\st=a v=1", r"ho\st", "a"),
        (r"cpu,h=a\ b v=1", "h", "a b"),
        (r"cpu,h=a\,b v=1", "h", "a,b"),
        (r"cpu,h=a\=b v=1", "h", "a=b"),
        (r"cpu,h=a\b v=1", "h", r"a\b"),
        (r"cpu,h=a\\b v=1", "h", r"a\\b"),
        (r"cpu,h=a\\,b v=1", "h", r"a\,b"),
        (r#"cpu,h="a" v=1"#, "h", r#""a""#),
        ("cpu,城市=北京 v=1", "城市", "北京"),
    ];
    for &(input, key, value) in cases {
        let line = one(input);
        assert_eq!(line.tags.len(), 1, "{input:?}");
        assert_eq!(
            (line.tags[0].0.as_ref(), line.tags[0].1.as_ref()),
            (key, value),
            "{input:?}"
        );
    }
}

#[test]
fn field_key_escaping() {
    let cases: &[(&str, &str)] = &[
        ("cpu value=1", "value"),
        (r"cpu va\ lue=1", "va lue"),
        (r"cpu va\,lue=1", "va,lue"),
        (r"cpu va\=lue=1", "va=lue"),
        (r"cpu va\lue=1", r"va\lue"),
        (r#"cpu va"lue=1"#, r#"va"lue"#),
        ("cpu 値=1", "値"),
    ];
    for &(input, want) in cases {
        let line = one(input);
        assert_eq!(line.fields[0].0, want, "{input:?}");
    }
}

#[test]
fn names_borrow_unless_escaped() {
    let line = one(r"cpu,host=a,re\ gion=b v=1,w\,x=2");
    assert!(matches!(line.measurement, Cow::Borrowed(_)));
    assert!(matches!(line.tags[0].0, Cow::Borrowed(_)));
    assert!(matches!(line.tags[1].0, Cow::Owned(_)));
    assert!(matches!(line.fields[0].0, Cow::Borrowed(_)));
    assert!(matches!(line.fields[1].0, Cow::Owned(_)));
    // A literal backslash needs no copy.
    assert!(matches!(one(r"c\pu v=1").measurement, Cow::Borrowed(_)));
    let line = one(r#"cpu s="plain",t="esc\"aped""#);
    assert!(matches!(
        line.fields[0].1,
        FieldValue::String(Cow::Borrowed("plain"))
    ));
    assert!(matches!(
        line.fields[1].1,
        FieldValue::String(Cow::Owned(_))
    ));
}

#[test]
fn string_field_values() {
    let cases: &[(&str, &str)] = &[
        (r#"cpu s="hello""#, "hello"),
        (r#"cpu s="""#, ""),
        (r#"cpu s="a\"b""#, r#"a"b"#),
        (r#"cpu s="a\\b""#, r"a\b"),
        (r#"cpu s="a\\""#, r"a\"),
        (r#"cpu s="a\b""#, r"a\b"),
        (r#"cpu s="a\\\"b""#, r#"a\"b"#),
        (r#"cpu s="a,b c=d""#, "a,b c=d"),
        ("cpu s=\"two\nlines\"", "two\nlines"),
        ("cpu s=\"tab\there\"", "tab\there"),
        (r#"cpu s="é ☃ 🦀""#, "é ☃ 🦀"),
        (r##"cpu s="# not a comment""##, "# not a comment"),
    ];
    for &(input, want) in cases {
        let line = one(input);
        assert_eq!(
            line.fields[0].1,
            FieldValue::String(want.into()),
            "{input:?}"
        );
    }
}

#[test]
fn float_field_values() {
    let cases: &[(&str, f64)] = &[
        ("1", 1.0),
        ("-1", -1.0),
        ("1.5", 1.5),
        ("-1.5", -1.5),
        ("1.", 1.0),
        (".5", 0.5),
        ("-.5", -0.5),
        ("1e3", 1e3),
        ("1E3", 1e3),
        ("1e+3", 1e3),
        ("1e-3", 1e-3),
        ("-1.5E-2", -0.015),
        ("0000039", 39.0),
        ("0.1", 0.1),
        ("97.23618090452261", 97.23618090452261),
        ("1.7976931348623157e308", f64::MAX),
        ("5e-324", 5e-324),
        ("1e-400", 0.0),
    ];
    for &(value, want) in cases {
        let input = format!("cpu v={value}");
        let got = float(&one(&input), "v");
        assert_eq!(got.to_bits(), want.to_bits(), "{input:?}");
    }
}

#[test]
fn integer_and_unsigned_field_values() {
    let cases: &[(&str, FieldValue<'static>)] = &[
        ("1i", FieldValue::Integer(1)),
        ("-1i", FieldValue::Integer(-1)),
        ("0i", FieldValue::Integer(0)),
        ("007i", FieldValue::Integer(7)),
        ("9223372036854775807i", FieldValue::Integer(i64::MAX)),
        ("-9223372036854775808i", FieldValue::Integer(i64::MIN)),
        ("0u", FieldValue::UInteger(0)),
        ("42u", FieldValue::UInteger(42)),
        ("18446744073709551615u", FieldValue::UInteger(u64::MAX)),
    ];
    for (value, want) in cases {
        let input = format!("cpu v={value}");
        assert_eq!(one(&input).fields[0].1, *want, "{input:?}");
    }
}

#[test]
fn boolean_field_values() {
    for (value, want) in [
        ("t", true),
        ("T", true),
        ("true", true),
        ("True", true),
        ("TRUE", true),
        ("f", false),
        ("F", false),
        ("false", false),
        ("False", false),
        ("FALSE", false),
    ] {
        let input = format!("cpu v={value},w=1 5");
        let line = one(&input);
        assert_eq!(line.fields[0].1, FieldValue::Boolean(want), "{input:?}");
        assert_eq!(line.timestamp, Some(5));
    }
    for value in ["tRUE", "yes", "tru", "falsey", "TRUe"] {
        let input = format!("cpu v={value}");
        let kind = one_err(&input).kind();
        assert!(
            matches!(
                kind,
                LineErrorKind::InvalidBoolean | LineErrorKind::InvalidFieldValue
            ),
            "{input:?}: {kind:?}"
        );
    }
}

#[test]
fn mixed_fields_keep_input_order() {
    let line = one(r#"cpu f=1.5,i=2i,u=3u,s="x",b=t 10"#);
    let got: Vec<_> = line
        .fields
        .iter()
        .map(|(k, v)| (k.as_ref(), v.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("f", FieldValue::Float(1.5)),
            ("i", FieldValue::Integer(2)),
            ("u", FieldValue::UInteger(3)),
            ("s", FieldValue::String("x".into())),
            ("b", FieldValue::Boolean(true)),
        ]
    );
}

#[test]
fn timestamps_and_precision() {
    let cases: &[(&str, Precision, Option<i64>)] = &[
        ("cpu v=1", Precision::Nanoseconds, None),
        ("cpu v=1 2", Precision::Nanoseconds, Some(2)),
        ("cpu v=1 2", Precision::Microseconds, Some(2_000)),
        ("cpu v=1 2", Precision::Milliseconds, Some(2_000_000)),
        ("cpu v=1 2", Precision::Seconds, Some(2_000_000_000)),
        ("cpu v=1 2", Precision::Minutes, Some(120_000_000_000)),
        ("cpu v=1 2", Precision::Hours, Some(7_200_000_000_000)),
        ("cpu v=1 -2", Precision::Seconds, Some(-2_000_000_000)),
        (
            "cpu v=1 0000000001",
            Precision::Seconds,
            Some(1_000_000_000),
        ),
        ("cpu v=1 -0", Precision::Nanoseconds, Some(0)),
        (
            "cpu v=1 9223372036854775807",
            Precision::Nanoseconds,
            Some(i64::MAX),
        ),
        (
            "cpu v=1 -9223372036854775808",
            Precision::Nanoseconds,
            Some(i64::MIN),
        ),
        (
            "cpu v=1 9223372036",
            Precision::Seconds,
            Some(9_223_372_036_000_000_000),
        ),
    ];
    for &(input, precision, want) in cases {
        let mut results: Vec<_> = parse_lines_with_precision(input, precision).collect();
        let line = results
            .remove(0)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(line.timestamp, want, "{input:?} {precision}");
    }
    let overflow: &[(&str, Precision)] = &[
        ("cpu v=1 9223372037", Precision::Seconds),
        ("cpu v=1 2562048", Precision::Hours),
        ("cpu v=1 -9223372036854776", Precision::Milliseconds),
        ("cpu v=1 9223372036854775808", Precision::Nanoseconds),
    ];
    for &(input, precision) in overflow {
        let err = parse_lines_with_precision(input, precision)
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), LineErrorKind::TimestampOutOfRange, "{input:?}");
        assert_eq!(err.column(), 9, "{input:?}");
    }
    for p in ["n", "ns", "u", "ms", "s", "m", "h"] {
        assert!(p.parse::<Precision>().is_ok(), "{p}");
    }
    assert!("us".parse::<Precision>().is_err());
}

#[test]
fn whitespace_between_sections() {
    let cases: &[&str] = &[
        "cpu v=39   0000000001",
        "cpu v=39\t0000000001",
        "cpu  \t v=39 \t 0000000001",
        "   cpu v=39 0000000001",
        "\tcpu v=39 0000000001   ",
        "cpu v=39 0000000001\t\r\n",
    ];
    for &input in cases {
        let line = parse_lines_with_precision(input, Precision::Seconds)
            .next()
            .unwrap()
            .unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(
            (float(&line, "v"), line.timestamp),
            (39.0, Some(1_000_000_000)),
            "{input:?}"
        );
    }
    let line = one("cpu v=1   ");
    assert_eq!(line.timestamp, None);
}

#[test]
fn comments_and_blank_lines_are_skipped() {
    let body = "# header\n\ncpu v=1\n   \n\t# indented comment\n\r\n  \t \r\ncpu v=2\n#last";
    let lines: Vec<_> = parse_lines(body).map(Result::unwrap).collect();
    assert_eq!(
        lines.iter().map(|l| float(l, "v")).collect::<Vec<_>>(),
        vec![1.0, 2.0]
    );
    assert_eq!(parse_lines("").count(), 0);
    assert_eq!(parse_lines("\n\n# x\n").count(), 0);
    // Errors after skipped lines still count them.
    let err = parse_lines("# c\n\ncpu v=x\n").next().unwrap().unwrap_err();
    assert_eq!((err.line(), err.column()), (3, 7));
}

#[test]
fn crlf_line_endings() {
    let body = "cpu v=1 1\r\ncpu,h=a v=2\r\ncpu s=\"x\"\r\ncpu v=4";
    let lines: Vec<_> = parse_lines(body).map(Result::unwrap).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0].timestamp, Some(1));
    assert_eq!(lines[1].tag("h"), Some("a"));
    assert_eq!(lines[2].fields[0].1, FieldValue::String("x".into()));
    let err = parse_lines("cpu v=1\r\ncpu v=1x\r\n")
        .nth(1)
        .unwrap()
        .unwrap_err();
    assert_eq!((err.line(), err.column(), err.context()), (2, 7, "1x"));
    // A lone CR is not a line ending.
    assert_eq!(
        one_err("cpu v=1\rcpu v=2").kind(),
        LineErrorKind::UnexpectedCharacter
    );
    // A final CR is.
    assert_eq!(one("cpu v=1\r").fields.len(), 1);
}

#[test]
fn utf8_anywhere() {
    let line = one("温度,城市=北京,🦀=✓ 値=1.5,ñ=\"ü\" 7");
    assert_eq!(line.measurement, "温度");
    assert_eq!(line.tag("城市"), Some("北京"));
    assert_eq!(line.tag("🦀"), Some("✓"));
    assert_eq!(line.field("ñ"), Some(&FieldValue::String("ü".into())));
    // Columns count characters, not bytes.
    let err = one_err("温度,城市=北京 値=x");
    assert_eq!(
        (err.column(), err.kind()),
        (12, LineErrorKind::InvalidFieldValue)
    );
}

#[test]
fn duplicate_fields_last_wins() {
    let line = one("cpu a=1,b=2,a=3");
    let got: Vec<_> = line
        .fields
        .iter()
        .map(|(k, v)| (k.as_ref(), v.clone()))
        .collect();
    assert_eq!(
        got,
        vec![("a", FieldValue::Float(3.0)), ("b", FieldValue::Float(2.0))]
    );
    let line = one(r#"cpu a=1,a="s",a=t"#);
    assert_eq!(
        line.fields,
        vec![(Cow::Borrowed("a"), FieldValue::Boolean(true))]
    );
    // Escaped and plain spellings of the same key are the same key.
    let line = one(r"cpu a\ b=1,a\ b=2");
    assert_eq!(
        line.fields,
        vec![(Cow::Borrowed("a b"), FieldValue::Float(2.0))]
    );
    // Many fields take the sort-based path.
    let body: String = std::iter::once("cpu ".to_owned())
        .chain((0..40).map(|i| format!("f{}={i},", i % 20)))
        .collect::<String>()
        .trim_end_matches(',')
        .to_owned();
    let line = one(&body);
    assert_eq!(line.fields.len(), 20);
    for i in 0..20 {
        assert_eq!(line.fields[i].0, format!("f{i}"));
        assert_eq!(line.fields[i].1, FieldValue::Float((i + 20) as f64));
    }
}

#[test]
fn tags_are_sorted_and_unique() {
    let line = one("cpu,z=1,a=2,m=3 v=1");
    let keys: Vec<_> = line.tags.iter().map(|(k, _)| k.as_ref()).collect();
    assert_eq!(keys, vec!["a", "m", "z"]);
    assert_eq!(line.tag("m"), Some("3"));
    assert_eq!(line.tag("q"), None);
    // Sorted by the unescaped key, byte-wise.
    let line = one(r"cpu,b=1,a\ z=2,B=3,é=4 v=1");
    let keys: Vec<_> = line.tags.iter().map(|(k, _)| k.as_ref()).collect();
    assert_eq!(keys, vec!["B", "a z", "b", "é"]);

    let err = one_err("cpu,a=1,b=2,a=3 v=1");
    assert_eq!(
        (err.kind(), err.column()),
        (LineErrorKind::DuplicateTag, 13)
    );
    let err = one_err(r"cpu,a\ b=1,a\ b=2 v=1");
    assert_eq!(
        (err.kind(), err.column()),
        (LineErrorKind::DuplicateTag, 12)
    );
}

#[test]
fn errors_report_line_column_and_reason() {
    use LineErrorKind::*;
    // (body, line, column, kind)
    let cases: &[(&str, usize, usize, LineErrorKind)] = &[
        (",t=1 v=1", 1, 1, MissingMeasurement),
        ("cpu", 1, 4, MissingFields),
        ("cpu ", 1, 5, MissingFields),
        ("cpu,h=a", 1, 8, MissingFields),
        ("cpu,h=a  \n", 1, 10, MissingFields),
        ("cpu,=a v=1", 1, 5, MissingTagKey),
        ("cpu, v=1", 1, 5, MissingTagKey),
        ("cpu,h v=1", 1, 6, InvalidTag),
        ("cpu,h= v=1", 1, 7, MissingTagValue),
        ("cpu,h=a=b v=1", 1, 8, InvalidTag),
        ("cpu v", 1, 6, InvalidField),
        ("cpu v v=1", 1, 6, InvalidField),
        ("cpu =1", 1, 5, MissingFieldKey),
        ("cpu v=1,", 1, 9, MissingFieldKey),
        ("cpu v=1, w=2", 1, 9, MissingFieldKey),
        ("cpu v=", 1, 7, MissingFieldValue),
        ("cpu v=,w=1", 1, 7, MissingFieldValue),
        ("cpu v= 1", 1, 7, MissingFieldValue),
        ("cpu v=abc", 1, 7, InvalidFieldValue),
        ("cpu v=+1", 1, 7, InvalidFieldValue),
        ("cpu v=NaN", 1, 7, InvalidFieldValue),
        ("cpu v=1.2.3", 1, 7, InvalidFloat),
        ("cpu v=1e", 1, 7, InvalidFloat),
        ("cpu v=-", 1, 7, InvalidFloat),
        ("cpu v=1x", 1, 7, InvalidFloat),
        ("cpu v=1e400", 1, 7, FloatOutOfRange),
        ("cpu v=1.5i", 1, 7, InvalidInteger),
        ("cpu v=1i2", 1, 7, InvalidFloat),
        ("cpu v=i", 1, 7, InvalidFieldValue),
        ("cpu v=-i", 1, 7, InvalidInteger),
        ("cpu v=9223372036854775808i", 1, 7, IntegerOutOfRange),
        ("cpu v=-1u", 1, 7, InvalidUnsigned),
        ("cpu v=1.0u", 1, 7, InvalidUnsigned),
        ("cpu v=18446744073709551616u", 1, 7, UnsignedOutOfRange),
        ("cpu v=tr", 1, 7, InvalidBoolean),
        ("cpu v=\"abc", 1, 7, UnterminatedString),
        ("cpu v=\"abc\\\"", 1, 7, UnterminatedString),
        ("cpu v=\"abc\"x", 1, 12, UnexpectedCharacter),
        ("cpu v=1 12x", 1, 9, InvalidTimestamp),
        ("cpu v=1 +12", 1, 9, InvalidTimestamp),
        ("cpu v=1 1.5", 1, 9, InvalidTimestamp),
        ("cpu v=1 -", 1, 9, InvalidTimestamp),
        ("cpu v=1 12 13", 1, 12, TrailingCharacters),
        ("cpu v=1\n\ncpu v=2,w=x 1", 3, 11, InvalidFieldValue),
        ("cpu s=\"a\nb\" 1\ncpu v=y", 3, 7, InvalidFieldValue),
        ("éé v=1\néé,ü=x v=1i2", 2, 10, InvalidFloat),
    ];
    for &(body, line, column, kind) in cases {
        let errors: Vec<_> = parse_lines(body).filter_map(Result::err).collect();
        assert_eq!(errors.len(), 1, "{body:?}: {errors:?}");
        let e = &errors[0];
        assert_eq!(
            (e.line(), e.column(), e.kind()),
            (line, column, kind),
            "{body:?}: {e}"
        );
    }
}

#[test]
fn error_display_is_short_and_truncated() {
    let body = "cpu v=1\ncpu v=2\ncpu,h=a v=12x 1600000000000000000\n";
    let err = parse_lines(body).nth(2).unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"line 3, column 11: invalid float field value (near "12x 16000000...")"#
    );
    let err = one_err("cpu");
    assert_eq!(err.to_string(), "line 1, column 4: missing fields");
    // Control characters are escaped, and a huge line is not echoed.
    let huge = format!("cpu v=\u{1}{}", "x".repeat(100_000));
    let msg = one_err(&huge).to_string();
    assert!(msg.len() < 100, "{msg}");
    assert!(msg.contains(r#"near "\u{1}xxxxxxxxxxx...""#), "{msg}");
    // Messages are lowercase and have no trailing period.
    assert!(!msg.ends_with('.') || msg.ends_with("...\")"));
}

#[test]
fn bad_lines_do_not_hide_good_ones() {
    let body = "cpu v=1 1\n\
                cpu v=oops 2\n\
                ,bad v=1\n\
                cpu v=3 3\n\
                cpu s=\"unterminated 4\n";
    let results: Vec<_> = parse_lines(body).collect();
    let good: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let bad: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(
        good.iter().map(|l| l.timestamp).collect::<Vec<_>>(),
        vec![Some(1), Some(3)]
    );
    assert_eq!(
        bad.iter().map(|e| e.line()).collect::<Vec<_>>(),
        vec![2, 3, 5]
    );
}

#[test]
fn resumes_like_influxdb_after_a_bad_line_with_a_multiline_string() {
    // InfluxDB's line scanner treats the quoted newline as part of line 1, so the error
    // swallows both physical lines and parsing resumes on line 3.
    let body = "cpu v=x,s=\"a\nb\"\ncpu v=2\n";
    let results: Vec<_> = parse_lines(body).collect();
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0].as_ref().unwrap_err().line(), 1);
    assert_eq!(float(results[1].as_ref().unwrap(), "v"), 2.0);
}

#[test]
fn next_into_reuses_the_line() {
    let mut lines = parse_lines("a,t=1 v=1 1\nb v=x\nc w=2i\n");
    let mut line = ParsedLine::default();
    assert_eq!(lines.next_into(&mut line), Some(Ok(())));
    assert_eq!((line.measurement.as_ref(), line.tags.len()), ("a", 1));
    assert!(matches!(lines.next_into(&mut line), Some(Err(_))));
    assert_eq!(line, ParsedLine::default());
    assert_eq!(lines.next_into(&mut line), Some(Ok(())));
    assert_eq!(line.measurement, "c");
    assert!(line.tags.is_empty());
    assert_eq!(line.timestamp, None);
    assert_eq!(lines.next_into(&mut line), None);
    assert_eq!(lines.next_into(&mut line), None);
}

#[test]
fn writer_produces_canonical_text() {
    let cases: &[(&str, &str)] = &[
        ("cpu v=1", "cpu v=1"),
        (
            "cpu,b=2,a=1 v=1.50,w=2i,x=3u,y=T,z=\"q\\\"\" 00012",
            r#"cpu,a=1,b=2 v=1.5,w=2i,x=3u,y=true,z="q\"" 12"#,
        ),
        (
            r"c\ p\,u,k\=1=v\ 1 f\,1=1e3",
            r"c\ p\,u,k\=1=v\ 1 f\,1=1000",
        ),
        (r"c\=pu v=1", r"c\=pu v=1"),
        (r"cpu,t=a\\,b v=1", r"cpu,t=a\\,b v=1"),
        ("cpu v=-0", "cpu v=-0"),
        ("cpu   v=1\t-5", "cpu v=1 -5"),
    ];
    for &(input, want) in cases {
        let line = one(input);
        assert_eq!(line.to_string(), want, "{input:?}");
        let mut s = String::from(">");
        line.write_to(&mut s);
        assert_eq!(s[1..], *want);
        assert_eq!(one(want), line, "{want:?} does not read back");
    }
}

#[test]
fn owned_lines_outlive_the_body() {
    let owned = {
        let body = String::from("cpu,h=a v=\"s\" 1");
        parse_lines(&body).next().unwrap().unwrap().into_owned()
    };
    assert_eq!(owned.tag("h"), Some("a"));
    assert_eq!(owned.field("v"), Some(&FieldValue::String("s".into())));
    let mut built = ParsedLine::new("cpu");
    built.fields.push(("v".into(), FieldValue::Integer(1)));
    assert_eq!(built.to_string(), "cpu v=1i");
}
