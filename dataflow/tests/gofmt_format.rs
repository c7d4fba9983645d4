//! Go formatting tables; expected values are what Go 1.22 prints.

use kap_dataflow::gofmt::*;

#[test]
fn float_json() {
    let cases: &[(f64, &str)] = &[
        (0.0, "0"),
        (-0.0, "-0"),
        (5.0, "5"),
        (-5.0, "-5"),
        (0.1, "0.1"),
        (96.49999999996908, "96.49999999996908"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e21, "1.5e+21"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (1.2345e-100, "1.2345e-100"),
        (123456789.0, "123456789"),
        (0.000123, "0.000123"),
        (f64::MAX, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (2.5, "2.5"),
    ];
    for (f, want) in cases {
        assert_eq!(format_float_json(*f).as_deref(), Some(*want), "{f:e}");
    }
    assert_eq!(format_float_json(f64::NAN), None);
    assert_eq!(format_float_json(f64::INFINITY), None);
    assert_eq!(format_float_json(f64::NEG_INFINITY), None);
}

#[test]
fn float_g() {
    let cases: &[(f64, &str)] = &[
        (0.0, "0"),
        (1.0, "1"),
        (0.5, "0.5"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (123456789.0, "1.23456789e+08"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e21, "1e+21"),
        (1e-7, "1e-07"),
        (-2.5, "-2.5"),
        (96.49999999996908, "96.49999999996908"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
    ];
    for (f, want) in cases {
        assert_eq!(format_float_g(*f), *want, "{f:e}");
    }
}

#[test]
fn float_f_and_e() {
    assert_eq!(format_float_f(5.0, None), "5");
    assert_eq!(format_float_f(0.1, None), "0.1");
    assert_eq!(format_float_f(1e21, None), "1000000000000000000000");
    assert_eq!(format_float_f(1e-7, None), "0.0000001");
    assert_eq!(format_float_f(1.23456, Some(3)), "1.235");
    assert_eq!(format_float_f(0.125, Some(2)), "0.12");
    assert_eq!(format_float_f(2.5, Some(0)), "2");
    assert_eq!(format_float_f(-1.0, Some(2)), "-1.00");
    assert_eq!(format_float_e(1e21, None), "1e+21");
    assert_eq!(format_float_e(1.5e-7, None), "1.5e-07");
    assert_eq!(format_float_e(1.0, Some(6)), "1.000000e+00");
    assert_eq!(format_float_e(123456.0, Some(2)), "1.23e+05");
    assert_eq!(format_float_e(0.0, None), "0e+00");
    assert_eq!(format_float_e(1e100, None), "1e+100");
}

#[test]
fn time_rfc3339nano() {
    assert_eq!(format_time_rfc3339nano(0), "1970-01-01T00:00:00Z");
    assert_eq!(
        format_time_rfc3339nano(1_451_606_400_000_000_000),
        "2016-01-01T00:00:00Z"
    );
    assert_eq!(
        format_time_rfc3339nano(1_451_606_400_500_000_000),
        "2016-01-01T00:00:00.5Z"
    );
    assert_eq!(
        format_time_rfc3339nano(1_451_606_400_000_000_001),
        "2016-01-01T00:00:00.000000001Z"
    );
    assert_eq!(
        format_time_rfc3339nano(-1),
        "1969-12-31T23:59:59.999999999Z"
    );
    assert_eq!(
        format_time_rfc3339nano(31_536_020_000_000_000),
        "1971-01-01T00:00:20Z"
    );
    assert_eq!(
        format_time_rfc3339nano(i64::MIN + 1),
        "1677-09-21T00:12:43.145224193Z"
    );
    assert_eq!(
        format_time_rfc3339nano(i64::MAX),
        "2262-04-11T23:47:16.854775807Z"
    );
    assert_eq!(
        format_time_rfc3339nano(GO_ZERO_TIME_NS),
        "0001-01-01T00:00:00Z"
    );
    assert_eq!(
        format_time_rfc3339nano(951_782_400_000_000_000),
        "2000-02-29T00:00:00Z"
    );
}

#[test]
fn time_go_default() {
    assert_eq!(format_time_go_default(0), "1970-01-01 00:00:00 +0000 UTC");
    assert_eq!(
        format_time_go_default(1_451_606_400_250_000_000),
        "2016-01-01 00:00:00.25 +0000 UTC"
    );
    assert_eq!(
        format_time_go_default(GO_ZERO_TIME_NS),
        "0001-01-01 00:00:00 +0000 UTC"
    );
}

#[test]
fn duration() {
    let s = 1_000_000_000i64;
    let cases: &[(i64, &str)] = &[
        (0, "0s"),
        (1, "1ns"),
        (999, "999ns"),
        (1_000, "1µs"),
        (1_500, "1.5µs"),
        (500_000_000, "500ms"),
        (1_500_000, "1.5ms"),
        (s, "1s"),
        (s + s / 2, "1.5s"),
        (90 * s, "1m30s"),
        (60 * s, "1m0s"),
        (3600 * s, "1h0m0s"),
        (3661 * s, "1h1m1s"),
        (-2 * s, "-2s"),
        (-1_500, "-1.5µs"),
        (10 * s + 1, "10.000000001s"),
        (i64::MAX, "2562047h47m16.854775807s"),
        (i64::MIN, "-2562047h47m16.854775808s"),
    ];
    for (d, want) in cases {
        assert_eq!(format_duration_go(*d), *want, "{d}");
    }
}

#[test]
fn json_string() {
    let cases: &[(&str, &str)] = &[
        ("abc", r#""abc""#),
        ("a\"b\\c", r#""a\"b\\c""#),
        ("<a>&", r#""\u003ca\u003e\u0026""#),
        ("\n\r\t", r#""\n\r\t""#),
        ("\u{1}\u{1f}", r#""\u0001\u001f""#),
        ("\u{8}\u{c}", r#""\b\f""#),
        ("\u{2028}\u{2029}", r#""\u2028\u2029""#),
        ("héllo ✓ \u{7f}", "\"héllo ✓ \u{7f}\""),
        ("", r#""""#),
    ];
    for (s, want) in cases {
        let mut out = String::new();
        write_json_string(&mut out, s);
        assert_eq!(out, *want);
    }
}

#[test]
fn rfc3339_parse() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        parse_rfc3339("2016-01-01T00:00:00.5Z"),
        Some(1_451_606_400_500_000_000)
    );
    assert_eq!(
        parse_rfc3339("2016-01-01T01:00:00+01:00"),
        Some(1_451_606_400_000_000_000)
    );
    assert_eq!(
        parse_rfc3339("2015-12-31T19:00:00.000000001-05:00"),
        Some(1_451_606_400_000_000_001)
    );
    assert_eq!(parse_rfc3339("1969-12-31T23:59:59.999999999Z"), Some(-1));
    for bad in [
        "",
        "2016-01-01",
        "2016-01-01T00:00:00",
        "2016-13-01T00:00:00Z",
        "2016-02-30T00:00:00Z",
        "2016-01-01T24:00:00Z",
        "2016-01-01T00:00:00.Z",
        "2016-01-01T00:00:00.1234567890Z",
        "2016-01-01T00:00:00+0100",
        "2016-01-01T00:00:00Zjunk",
        "0001-01-01T00:00:00Z",
        "2016-01-01T00:00:00ü",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad}");
    }
    // Round trip.
    for ns in [0, 1, -1, 1_451_606_400_123_456_789, 31_536_020_000_000_000] {
        assert_eq!(parse_rfc3339(&format_time_rfc3339nano(ns)), Some(ns));
    }
}

#[test]
fn go_quote() {
    assert_eq!(quote_go("hi"), r#""hi""#);
    assert_eq!(quote_go("a\"b\n\t\\"), r#""a\"b\n\t\\""#);
    assert_eq!(quote_go("\u{1}é"), r#""\x01é""#);
}

/// Go's JSON string escaping, one character at a time (what `write_json_string` copies in
/// runs).
fn json_string_reference(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn json_strings_escape_as_go_does_character_by_character() {
    let alphabet: Vec<char> =
        "ab \"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}<>&é€😀\u{2028}\u{2029}\u{2027}\u{e2}\0"
            .chars()
            .collect();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut cases: Vec<String> = vec![String::new(), "plain".into(), "\u{2028}".into()];
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 12) as usize;
        let s: String = (0..len)
            .map(|k| alphabet[((x >> (k * 5)) % alphabet.len() as u64) as usize])
            .collect();
        cases.push(s);
    }
    for s in cases {
        let mut got = String::new();
        write_json_string(&mut got, &s);
        assert_eq!(got, json_string_reference(&s), "{s:?}");
    }
}
