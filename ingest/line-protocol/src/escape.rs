//! Byte classes, scanning of escaped names and the InfluxDB 1.x escaping rules.
//!
//! The rules (InfluxDB 1.x `pkg/escape` and `models/points.go`):
//!
//! | element                  | escaped characters |
//! |--------------------------|--------------------|
//! | measurement              | `,` and space      |
//! | tag key, tag value, field key | `,`, `=` and space |
//! | string field value       | `"` and `\`        |
//!
//! A backslash before any other character is an ordinary character, so `a\b` is the three
//! characters `a`, `\`, `b`, and `a\\,b` is `a\,b` (a literal backslash, then an escaped comma).
//! A consequence, shared with InfluxDB, is that a name cannot end with a backslash: the parser
//! never produces one, and the writer cannot express one.

use std::borrow::Cow;

/// Stops the scan of a measurement: `,` ` ` `\` `\n`.
pub(crate) const MEAS_STOP: u8 = 1;
/// Stops the scan of a tag key, tag value or field key: `,` `=` ` ` `\` `\n`.
pub(crate) const KEY_STOP: u8 = 2;
/// Ends an unquoted field value or a timestamp: `,` ` ` `\t` `\r` `\n`.
pub(crate) const VALUE_END: u8 = 4;
/// Characters the measurement writer must escape: `,` and space.
const MEAS_ESC: u8 = 8;
/// Characters the tag/field-key writer must escape: `,`, `=` and space.
const KEY_ESC: u8 = 16;
/// Stops the scan of a quoted string: `"` and `\`.
pub(crate) const STR_STOP: u8 = 32;

const fn build_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    t[b',' as usize] = MEAS_STOP | KEY_STOP | VALUE_END | MEAS_ESC | KEY_ESC;
    t[b' ' as usize] = MEAS_STOP | KEY_STOP | VALUE_END | MEAS_ESC | KEY_ESC;
    t[b'=' as usize] = KEY_STOP | KEY_ESC;
    t[b'\\' as usize] = MEAS_STOP | KEY_STOP | STR_STOP;
    t[b'\n' as usize] = MEAS_STOP | KEY_STOP | VALUE_END;
    t[b'\t' as usize] = VALUE_END;
    t[b'\r' as usize] = VALUE_END;
    t[b'"' as usize] = STR_STOP;
    t
}

/// The bytes that end a measurement scan (see [`MEAS_STOP`]).
const MEAS_STOP_BYTES: &[u8] = b",\\ \n";
/// The bytes that end a key or tag value scan (see [`KEY_STOP`]).
const KEY_STOP_BYTES: &[u8] = b",= \\\n";

/// The bytes that end an unquoted field value (see [`VALUE_END`]).
pub(crate) const VALUE_END_BYTES: &[u8] = b", \t\r\n";
/// The bytes that stop the scan of a quoted string (see [`STR_STOP`]).
pub(crate) const STR_STOP_BYTES: &[u8] = b"\"\\";

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Position of the first byte of `b[i..]` that is one of `set`, or `b.len()`.
///
/// Eight bytes at a time (SWAR): `x ^ splat(c)` has a zero byte where `x` holds `c`, and
/// `(v - LO) & !v & HI` flags the lowest zero byte exactly (borrows only corrupt the flags of
/// higher bytes), so the trailing zero count finds the first match. Names and values are
/// mostly 4 to 20 bytes, so this saves most of the per-byte branches.
#[inline(always)]
pub(crate) fn find_any(b: &[u8], mut i: usize, set: &[u8]) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let mut hits = 0;
        for &c in set {
            let v = x ^ (LO * u64::from(c));
            hits |= v.wrapping_sub(LO) & !v & HI;
        }
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !set.contains(&b[i]) {
        i += 1;
    }
    i
}

/// One byte of flags per input byte; a lookup is cheaper than a chain of comparisons.
pub(crate) static CLASS: [u8; 256] = build_classes();

#[inline(always)]
pub(crate) fn class(b: u8) -> u8 {
    CLASS[b as usize]
}

/// Which escaping rule a name follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    /// Measurement: `,` and space are escaped.
    Measurement,
    /// Tag key, tag value, field key: `,`, `=` and space are escaped.
    Key,
}

impl NameKind {
    #[inline(always)]
    fn stop_mask(self) -> u8 {
        match self {
            NameKind::Measurement => MEAS_STOP,
            NameKind::Key => KEY_STOP,
        }
    }

    #[inline(always)]
    fn escape_mask(self) -> u8 {
        match self {
            NameKind::Measurement => MEAS_ESC,
            NameKind::Key => KEY_ESC,
        }
    }

    /// Whether `\` followed by `b` is an escape sequence for this kind of name.
    #[inline(always)]
    fn is_escapable(self, b: u8) -> bool {
        class(b) & self.escape_mask() != 0
    }
}

/// Scans a name starting at `i` up to the first unescaped delimiter of its kind (or the end).
///
/// Returns the end position and whether an escape sequence was seen (in which case the
/// value must be unescaped into an owned string).
#[inline(always)]
pub(crate) fn scan_name(b: &[u8], mut i: usize, kind: NameKind) -> (usize, bool) {
    let stop = kind.stop_mask();
    let mut escaped = false;
    loop {
        i = match kind {
            NameKind::Measurement => find_any(b, i, MEAS_STOP_BYTES),
            NameKind::Key => find_any(b, i, KEY_STOP_BYTES),
        };
        debug_assert!(i >= b.len() || class(b[i]) & stop != 0);
        if i < b.len() && b[i] == b'\\' {
            if i + 1 < b.len() && kind.is_escapable(b[i + 1]) {
                escaped = true;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        return (i, escaped);
    }
}

/// Returns `raw` with the escape sequences of `kind` resolved; borrows when `escaped` is false.
#[inline(always)]
pub(crate) fn unescape_name(raw: &str, escaped: bool, kind: NameKind) -> Cow<'_, str> {
    if !escaped {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(unescape_name_owned(raw, kind))
}

#[cold]
fn unescape_name_owned(raw: &str, kind: NameKind) -> String {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut last = 0;
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'\\' && kind.is_escapable(b[i + 1]) {
            // Both cut points sit next to ASCII bytes, so they are char boundaries.
            out.push_str(&raw[last..i]);
            last = i + 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    out.push_str(&raw[last..]);
    out
}

/// Returns the content of a quoted string (without quotes) with `\"` and `\\` resolved.
#[inline]
pub(crate) fn unescape_string(raw: &str, escaped: bool) -> Cow<'_, str> {
    if !escaped {
        return Cow::Borrowed(raw);
    }
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut last = 0;
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'\\' && (b[i + 1] == b'"' || b[i + 1] == b'\\') {
            out.push_str(&raw[last..i]);
            last = i + 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    out.push_str(&raw[last..]);
    Cow::Owned(out)
}

/// Writes `name` escaped according to `kind`.
pub(crate) fn write_name<W: std::fmt::Write>(
    w: &mut W,
    name: &str,
    kind: NameKind,
) -> std::fmt::Result {
    let mask = kind.escape_mask();
    let b = name.as_bytes();
    let mut last = 0;
    for (i, &c) in b.iter().enumerate() {
        if class(c) & mask != 0 {
            w.write_str(&name[last..i])?;
            w.write_char('\\')?;
            last = i;
        }
    }
    w.write_str(&name[last..])
}

/// Writes a string field value with its quotes, escaping `"` and `\`.
pub(crate) fn write_string_value<W: std::fmt::Write>(w: &mut W, value: &str) -> std::fmt::Result {
    w.write_char('"')?;
    let mut last = 0;
    for (i, &c) in value.as_bytes().iter().enumerate() {
        if c == b'"' || c == b'\\' {
            w.write_str(&value[last..i])?;
            w.write_char('\\')?;
            last = i;
        }
    }
    w.write_str(&value[last..])?;
    w.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_stops_at_unescaped_delimiters_only() {
        let cases: &[(&str, NameKind, usize, bool)] = &[
            ("cpu,host=a", NameKind::Measurement, 3, false),
            ("c\\,pu,x", NameKind::Measurement, 5, true),
            ("c\\ pu x", NameKind::Measurement, 5, true),
            ("c=pu x", NameKind::Measurement, 4, false),
            ("c\\=pu x", NameKind::Measurement, 5, false),
            ("k\\=ey=v", NameKind::Key, 5, true),
            ("k\\xey=v", NameKind::Key, 5, false),
            ("a\\\\,b", NameKind::Key, 5, true),
            ("abc\\", NameKind::Key, 4, false),
        ];
        for &(input, kind, end, escaped) in cases {
            assert_eq!(
                scan_name(input.as_bytes(), 0, kind),
                (end, escaped),
                "{input:?}"
            );
        }
    }

    #[test]
    fn unescape_resolves_only_the_escapable_characters() {
        let cases: &[(&str, NameKind, &str)] = &[
            ("c\\,p\\ u", NameKind::Measurement, "c,p u"),
            ("c\\=p", NameKind::Measurement, "c\\=p"),
            ("k\\=e\\,y\\ ", NameKind::Key, "k=e,y "),
            ("a\\\\,b", NameKind::Key, "a\\,b"),
            ("é\\ ü", NameKind::Key, "é ü"),
        ];
        for &(raw, kind, want) in cases {
            assert_eq!(unescape_name(raw, true, kind), want, "{raw:?}");
        }
        assert_eq!(unescape_string("a\\\"b\\\\c\\d", true), "a\"b\\c\\d");
    }

    #[test]
    fn writer_escapes() {
        let mut s = String::new();
        write_name(&mut s, "a, b=c", NameKind::Measurement).unwrap();
        assert_eq!(s, "a\\,\\ b=c");
        s.clear();
        write_name(&mut s, "a, b=c", NameKind::Key).unwrap();
        assert_eq!(s, "a\\,\\ b\\=c");
        s.clear();
        write_string_value(&mut s, "say \"hi\" \\o/").unwrap();
        assert_eq!(s, "\"say \\\"hi\\\" \\\\o/\"");
    }
}
