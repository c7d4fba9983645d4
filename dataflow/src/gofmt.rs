//! Go-compatible formatting of numbers, times, durations and JSON strings.
//!
//! Kapacitor is written in Go, and several Go standard-library renderings leak into its
//! observable output: `encoding/json` floats and strings in HTTP bodies and alert JSON,
//! `strconv.FormatFloat` in `%v`/`fmt.Sprint` (alert templates), `time.Time.String()` and
//! `time.Duration.String()` in alert messages. Each function here mirrors one of them byte
//! for byte (see `kapacitor-semantics.md` §0.4).
//!
//! Times are `i64` nanoseconds since the Unix epoch, UTC. Go's zero `time.Time` (year 1) lies
//! outside that range; [`GO_ZERO_TIME_NS`] (`i64::MIN`) stands for it and renders as
//! `0001-01-01T00:00:00Z`.
//!
//! Two Go details that differ from older descriptions: `encoding/json` shortens a two-digit
//! negative exponent (`1e-7`, not `1e-07`; `strconv` itself keeps `1e-07`), and since Go 1.22
//! it escapes backspace and form feed as `\b` and `\f`.

use std::fmt::Write as _;

/// Stands for Go's zero `time.Time` (`0001-01-01T00:00:00Z`), which `i64` nanoseconds since
/// the Unix epoch cannot represent.
pub const GO_ZERO_TIME_NS: i64 = i64::MIN;

/// Seconds from 0001-01-01 to 1970-01-01 (Go's zero time to the Unix epoch).
const ZERO_TIME_UNIX_SECS: i64 = -62_135_596_800;

/// Decimal digits of a finite, non-negative float: `digits` without leading/trailing zeros
/// (empty for zero) and `dp`, the position of the decimal point relative to the digits
/// (value = 0.digits × 10^dp), as Go's `strconv` decimal representation.
#[derive(Debug)]
struct Digits {
    digits: Vec<u8>,
    dp: i32,
}

/// Parses Rust's `{:e}` rendering (`1.5e-7`, `0e0`) into [`Digits`].
fn digits_from_exp(s: &str) -> Digits {
    let s = s.trim_start_matches('-');
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return Digits { digits, dp: 0 };
    }
    Digits {
        digits,
        dp: exp + 1,
    }
}

/// Shortest round-trip digits.
fn shortest_digits(f: f64) -> Digits {
    digits_from_exp(&format!("{:e}", f.abs()))
}

/// Digits rounded (half to even, like Go) to `n >= 1` significant digits, trailing zeros trimmed.
fn sig_digits(f: f64, n: usize) -> Digits {
    digits_from_exp(&format!("{:.*e}", n.saturating_sub(1), f.abs()))
}

/// Go's `fmtE`: `d.ddde±XX` with `prec` fraction digits (`None` = all digits).
fn fmt_e(out: &mut String, neg: bool, d: &Digits, prec: Option<usize>, upper: bool) {
    if neg {
        out.push('-');
    }
    let first = d.digits.first().copied().unwrap_or(b'0');
    out.push(first as char);
    let prec = prec.unwrap_or(d.digits.len().saturating_sub(1));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(d.digits.get(i).copied().unwrap_or(b'0') as char);
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    let exp = if d.digits.is_empty() { 0 } else { d.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.unsigned_abs();
    if exp < 10 {
        out.push('0');
    }
    let _ = write!(out, "{exp}");
}

/// Go's `fmtF`: integer part then `prec` fraction digits.
fn fmt_f(out: &mut String, neg: bool, d: &Digits, prec: usize) {
    if neg {
        out.push('-');
    }
    if d.dp > 0 {
        let dp = d.dp as usize;
        for i in 0..dp {
            out.push(d.digits.get(i).copied().unwrap_or(b'0') as char);
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = i64::from(d.dp) + i as i64 - 1;
            let c = if j < 0 {
                b'0'
            } else {
                d.digits.get(j as usize).copied().unwrap_or(b'0')
            };
            out.push(c as char);
        }
    }
}

fn non_finite(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".to_owned())
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned())
    } else {
        None
    }
}

/// Go `encoding/json` rendering of a `float64`; `None` for NaN and ±Inf (which Go refuses to
/// encode: `json: unsupported value: NaN`).
///
/// Shortest round-trip digits, exponent form only when `|x| < 1e-6` or `|x| >= 1e21`
/// (`1e+21`, `1e-7`), integral values without `.0`.
pub fn format_float_json(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let abs = f.abs();
    let d = shortest_digits(f);
    let neg = f.is_sign_negative();
    let mut out = String::new();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        fmt_e(&mut out, neg, &d, None, false);
        // encoding/json cleans up `e-09` to `e-9`.
        let n = out.len();
        let b = out.as_bytes();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            out.remove(n - 2);
        }
    } else {
        let prec = (d.digits.len() as i64 - i64::from(d.dp)).max(0) as usize;
        fmt_f(&mut out, neg, &d, prec);
    }
    Some(out)
}

/// Go `strconv.FormatFloat(f, 'g', -1, 64)`: what `%v` and `fmt.Sprint` print for a float
/// (`1`, `0.5`, `1e+06`, `1.23456789e+08`, `1e-05`, `NaN`, `+Inf`).
pub fn format_float_g(f: f64) -> String {
    format_float_g_prec(f, None, false)
}

/// Go `strconv.FormatFloat(f, 'g', prec, 64)` (`None` = shortest), optionally upper-case.
pub(crate) fn format_float_g_prec(f: f64, prec: Option<usize>, upper: bool) -> String {
    if let Some(s) = non_finite(f) {
        return s;
    }
    let neg = f.is_sign_negative();
    let (d, mut p, eprec) = match prec {
        None => {
            let d = shortest_digits(f);
            let p = d.digits.len();
            (d, p, 6)
        }
        Some(p) => {
            let p = p.max(1);
            let d = sig_digits(f, p);
            let nd = d.digits.len();
            let mut eprec = p;
            if eprec > nd && nd as i64 >= i64::from(d.dp) {
                eprec = nd;
            }
            (d, p, eprec)
        }
    };
    let nd = d.digits.len();
    let exp = if nd == 0 { 0 } else { i64::from(d.dp) - 1 };
    let mut out = String::new();
    if exp < -4 || exp >= eprec as i64 {
        if p > nd {
            p = nd;
        }
        fmt_e(&mut out, neg, &d, Some(p.saturating_sub(1)), upper);
    } else {
        if p as i64 > i64::from(d.dp) {
            p = nd;
        }
        let prec = (p as i64 - i64::from(d.dp)).max(0) as usize;
        fmt_f(&mut out, neg, &d, prec);
    }
    out
}

/// Go `strconv.FormatFloat(f, 'f', prec, 64)`: `None` = shortest round-trip digits
/// (`5`, `0.1`, `1000000000000000000000`), `Some(p)` = exactly `p` fraction digits,
/// rounded half to even like Go.
pub fn format_float_f(f: f64, prec: Option<usize>) -> String {
    if let Some(s) = non_finite(f) {
        return s;
    }
    match prec {
        Some(p) => format!("{:.*}", p, f),
        None => {
            let d = shortest_digits(f);
            let prec = (d.digits.len() as i64 - i64::from(d.dp)).max(0) as usize;
            let mut out = String::new();
            fmt_f(&mut out, f.is_sign_negative(), &d, prec);
            out
        }
    }
}

/// Go `strconv.FormatFloat(f, 'e', prec, 64)`: `None` = shortest (`1e+21`, `1.5e-07`),
/// `Some(p)` = `p` fraction digits (`%e` uses 6: `1.000000e+00`).
pub fn format_float_e(f: f64, prec: Option<usize>) -> String {
    format_float_e_case(f, prec, false)
}

pub(crate) fn format_float_e_case(f: f64, prec: Option<usize>, upper: bool) -> String {
    if let Some(s) = non_finite(f) {
        return s;
    }
    let d = match prec {
        None => shortest_digits(f),
        Some(p) => sig_digits(f, p + 1),
    };
    let mut out = String::new();
    fmt_e(&mut out, f.is_sign_negative(), &d, prec, upper);
    out
}

/// Civil date from days since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Splits a time into (seconds since epoch, nanoseconds), mapping [`GO_ZERO_TIME_NS`].
fn split_time(ns: i64) -> (i64, u32) {
    if ns == GO_ZERO_TIME_NS {
        return (ZERO_TIME_UNIX_SECS, 0);
    }
    (
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000) as u32,
    )
}

/// Writes `YYYY-MM-DD`, `sep`, `hh:mm:ss` and the trimmed fraction (`.5`, nothing for zero).
fn write_date_time(out: &mut String, ns: i64, sep: char) {
    let (secs, nanos) = split_time(ns);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if y < 0 {
        let _ = write!(out, "-{:04}", -y);
    } else {
        let _ = write!(out, "{y:04}");
    }
    let _ = write!(
        out,
        "-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// Go `t.UTC().Format(time.RFC3339Nano)`: `2016-01-01T00:00:00Z`, `2016-01-01T00:00:00.5Z`.
pub fn format_time_rfc3339nano(ns: i64) -> String {
    let mut out = String::with_capacity(30);
    write_date_time(&mut out, ns, 'T');
    out.push('Z');
    out
}

/// Go `time.Time.String()` of a UTC time: `2016-01-01 00:00:00.5 +0000 UTC`.
pub fn format_time_go_default(ns: i64) -> String {
    let mut out = String::with_capacity(40);
    write_date_time(&mut out, ns, ' ');
    out.push_str(" +0000 UTC");
    out
}

/// Go `time.Duration.String()`: `0s`, `1.5s`, `1m30s`, `1h0m0s`, `500ms`, `1µs`, `-2s`.
pub fn format_duration_go(ns: i64) -> String {
    // One implementation for the whole workspace: the front end needs it too (deadman
    // messages), and it cannot depend on this crate.
    kap_dsl::eval::go_duration(ns)
}

/// Appends `s` as a JSON string literal the way Go's `json.Marshal` does (HTML escaping on):
/// `"`, `\` escaped with a backslash; `\n`, `\r`, `\t`, `\b`, `\f` short forms; other control
/// characters as `\u00XX`; `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026`; U+2028 and U+2029
/// as `\u2028`, `\u2029`.
pub fn write_json_string(out: &mut String, s: &str) {
    write_json_string_as(out, s, false);
}

/// [`write_json_string`] as Go's `html/template` prints it in text, in one pass: `"` as
/// `&#34;`, `'` as `&#39;`, `+` as `&#43;` (the JSON itself escapes `<`, `>`, `&` and every
/// control character, so nothing else needs it).
pub fn write_json_string_html(out: &mut String, s: &str) {
    write_json_string_as(out, s, true);
}

#[inline(always)]
fn write_json_string_as(out: &mut String, s: &str, html: bool) {
    let quote = if html { "&#34;" } else { "\"" };
    out.reserve(s.len() + 2);
    out.push_str(quote);
    // Runs of bytes that need no escape are copied whole: every escaped character but
    // U+2028 and U+2029 is ASCII, and those two are matched on their whole encoding, so
    // the runs end on character boundaries.
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (escaped, len): (Option<&str>, usize) = match b {
            b'"' => (Some(if html { "\\&#34;" } else { "\\\"" }), 1),
            b'\'' if html => (Some("&#39;"), 1),
            b'+' if html => (Some("&#43;"), 1),
            b'\\' => (Some("\\\\"), 1),
            b'\n' => (Some("\\n"), 1),
            b'\r' => (Some("\\r"), 1),
            b'\t' => (Some("\\t"), 1),
            0x08 => (Some("\\b"), 1),
            0x0c => (Some("\\f"), 1),
            b'<' | b'>' | b'&' | 0..0x20 => (None, 1),
            // U+2028 and U+2029: E2 80 A8 and E2 80 A9.
            0xe2 if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)) =>
            {
                (None, 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[start..i]);
        match escaped {
            Some(e) => out.push_str(e),
            None => {
                let c = s[i..i + len].chars().next().map_or(0, u32::from);
                let _ = write!(out, "\\u{c:04x}");
            }
        }
        i += len;
        start = i;
    }
    out.push_str(&s[start..]);
    out.push_str(quote);
}

/// Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Parses an RFC 3339 timestamp (`2016-01-01T00:00:00Z`, optional fraction of up to 9 digits,
/// `Z` or a `±hh:mm` offset) into nanoseconds since the Unix epoch, UTC. `None` if the text is
/// malformed or the time does not fit in `i64` nanoseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 20 {
        return None;
    }
    let year = num(0..4)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let month = num(5..7)? as u32;
    let day = num(8..10)? as u32;
    let hour = num(11..13)?;
    let min = num(14..16)?;
    let sec = num(17..19)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &s[start..i];
        if frac.is_empty() || frac.len() > 9 {
            return None;
        }
        nanos = frac.parse::<i64>().ok()? * 10_i64.pow(9 - frac.len() as u32);
    }
    let offset_secs = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go `strconv.Quote`: a double-quoted Go string literal with non-printable characters
/// escaped (`%q`).
pub fn quote_go(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_go_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go `strconv.QuoteRune`: `'x'` (`%q` of an integer).
pub(crate) fn quote_rune_go(c: char) -> String {
    let mut out = String::from("'");
    push_go_escaped(&mut out, c, '\'');
    out.push('\'');
    out
}

fn push_go_escaped(out: &mut String, c: char, quote: char) {
    match c {
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        '\\' => out.push_str("\\\\"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\u{fffd}' => out.push_str("\\ufffd"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if c.is_control() || is_go_nonprint(c) => {
            if (c as u32) < 0x10000 {
                let _ = write!(out, "\\u{:04x}", c as u32);
            } else {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
        c => out.push(c),
    }
}

/// A small approximation of Go's `!unicode.IsPrint` beyond control characters: format
/// characters and separators other than the ASCII space.
fn is_go_nonprint(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}'
            | '\u{a0}'
            | '\u{2000}'..='\u{200a}'
            | '\u{3000}'
    )
}
