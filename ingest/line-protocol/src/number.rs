//! Numeric field values and timestamps, with InfluxDB 1.x syntax.
//!
//! Floats: `-?digits[.digits][(e|E)[+|-]digits]`, where either the integer or the fraction part
//! may be empty but not both (`1.`, `.5`, `1e3`, `-1.5E-2`). `NaN`, `Inf` and a leading `+` are
//! rejected, as are values whose magnitude overflows `f64`. Integers: `-?digits i`, unsigned:
//! `digits u`, both range checked. Timestamps: `-?digits`, leading zeros allowed.

use crate::error::LineErrorKind;

/// Exact powers of ten for Clinger's fast path.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Largest mantissa that converts to `f64` exactly.
const MAX_EXACT_MANTISSA: u64 = 1 << 53;

/// Parses a float token (already cut at its delimiter).
#[inline]
pub(crate) fn parse_float(token: &str) -> Result<f64, LineErrorKind> {
    let t = token.as_bytes();
    let mut i = 0;
    let neg = t.first() == Some(&b'-');
    if neg {
        i = 1;
    }
    let mut mant: u64 = 0;
    let int_start = i;
    while i < t.len() && t[i].is_ascii_digit() {
        mant = mant.wrapping_mul(10).wrapping_add(u64::from(t[i] - b'0'));
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < t.len() && t[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < t.len() && t[i].is_ascii_digit() {
            mant = mant.wrapping_mul(10).wrapping_add(u64::from(t[i] - b'0'));
            i += 1;
        }
        frac_digits = i - frac_start;
    }
    if int_digits + frac_digits == 0 {
        return Err(LineErrorKind::InvalidFloat);
    }
    let mut exp: i64 = 0;
    if i < t.len() && (t[i] == b'e' || t[i] == b'E') {
        i += 1;
        let mut exp_neg = false;
        if i < t.len() && (t[i] == b'+' || t[i] == b'-') {
            exp_neg = t[i] == b'-';
            i += 1;
        }
        let exp_start = i;
        while i < t.len() && t[i].is_ascii_digit() {
            // Saturate: anything past a few hundred is already 0 or infinity.
            if exp < 1_000_000 {
                exp = exp * 10 + i64::from(t[i] - b'0');
            }
            i += 1;
        }
        if i == exp_start {
            return Err(LineErrorKind::InvalidFloat);
        }
        if exp_neg {
            exp = -exp;
        }
    }
    if i != t.len() {
        return Err(LineErrorKind::InvalidFloat);
    }

    // Clinger's fast path: an exact mantissa times or divided by an exact power of ten is a
    // single correctly rounded IEEE operation. At most 19 digits cannot overflow the u64.
    if int_digits + frac_digits <= 19 && mant <= MAX_EXACT_MANTISSA {
        // frac_digits <= 19 here, so the cast cannot wrap.
        let e = exp - frac_digits as i64;
        let m = mant as f64;
        let v = if e == 0 {
            Some(m)
        } else if (1..=22).contains(&e) {
            Some(m * POW10[e as usize])
        } else if (-22..0).contains(&e) {
            Some(m / POW10[(-e) as usize])
        } else {
            None
        };
        if let Some(v) = v {
            return Ok(if neg { -v } else { v });
        }
    }

    // The syntax check above admits only strings that the standard library parses the same way
    // (it also accepts `1.`, `.5` and `1.e5`), and it rounds correctly.
    match token.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(LineErrorKind::FloatOutOfRange),
        Err(_) => Err(LineErrorKind::InvalidFloat),
    }
}

/// Parses `-?digits` into the magnitude and sign; `None` when the syntax is wrong.
/// `Some((None, _))` means the magnitude does not fit a u64.
#[inline(always)]
fn parse_digits(t: &[u8], allow_neg: bool) -> Option<(Option<u64>, bool)> {
    let mut i = 0;
    let neg = allow_neg && t.first() == Some(&b'-');
    if neg {
        i = 1;
    }
    if i == t.len() {
        return None;
    }
    let mut v: Option<u64> = Some(0);
    while i < t.len() {
        let d = t[i].wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v
            .and_then(|v| v.checked_mul(10))
            .and_then(|v| v.checked_add(u64::from(d)));
        i += 1;
    }
    Some((v, neg))
}

#[inline(always)]
fn to_i64(mag: u64, neg: bool) -> Option<i64> {
    if neg {
        if mag <= 1 << 63 {
            Some(0i64.wrapping_sub_unsigned(mag))
        } else {
            None
        }
    } else {
        i64::try_from(mag).ok()
    }
}

/// Parses an integer token without its `i` suffix.
#[inline]
pub(crate) fn parse_integer(digits: &[u8]) -> Result<i64, LineErrorKind> {
    match parse_digits(digits, true) {
        None => Err(LineErrorKind::InvalidInteger),
        Some((Some(mag), neg)) => to_i64(mag, neg).ok_or(LineErrorKind::IntegerOutOfRange),
        Some((None, _)) => Err(LineErrorKind::IntegerOutOfRange),
    }
}

/// Parses an unsigned token without its `u` suffix.
#[inline]
pub(crate) fn parse_unsigned(digits: &[u8]) -> Result<u64, LineErrorKind> {
    match parse_digits(digits, false) {
        None => Err(LineErrorKind::InvalidUnsigned),
        Some((Some(v), _)) => Ok(v),
        Some((None, _)) => Err(LineErrorKind::UnsignedOutOfRange),
    }
}

/// Parses a timestamp token and scales it to nanoseconds by `multiplier`.
#[inline]
pub(crate) fn parse_timestamp(t: &[u8], multiplier: i64) -> Result<i64, LineErrorKind> {
    match parse_digits(t, true) {
        None => Err(LineErrorKind::InvalidTimestamp),
        Some((Some(mag), neg)) => to_i64(mag, neg)
            .and_then(|v| v.checked_mul(multiplier))
            .ok_or(LineErrorKind::TimestampOutOfRange),
        Some((None, _)) => Err(LineErrorKind::TimestampOutOfRange),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        let ok: &[(&str, f64)] = &[
            ("1", 1.0),
            ("-1", -1.0),
            ("1.5", 1.5),
            ("1.", 1.0),
            (".5", 0.5),
            ("-.5", -0.5),
            ("1e3", 1000.0),
            ("1E3", 1000.0),
            ("1e+3", 1000.0),
            ("-1.5E-2", -0.015),
            ("1.e2", 100.0),
            ("0.1", 0.1),
            ("000123.4500", 123.45),
            ("12345678901234567890123", 12345678901234567890123.0),
            ("1e-400", 0.0),
            ("2.2250738585072014e-308", 2.2250738585072014e-308),
            ("1.7976931348623157e308", f64::MAX),
            ("9007199254740993", 9007199254740993.0),
            ("0.30000000000000004", 0.30000000000000004),
        ];
        for &(s, want) in ok {
            let got = parse_float(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(got.to_bits(), want.to_bits(), "{s}");
            assert_eq!(
                got.to_bits(),
                s.parse::<f64>().unwrap().to_bits(),
                "{s} vs std"
            );
        }
        assert!(parse_float("-0").unwrap().is_sign_negative());
        for s in [
            "", "-", ".", "-.", "e3", "1e", "1e+", "1.2.3", "+1", "NaN", "inf", "1x", "1e3.5",
            "--1", "1_0",
        ] {
            assert_eq!(parse_float(s), Err(LineErrorKind::InvalidFloat), "{s:?}");
        }
        assert_eq!(parse_float("1e400"), Err(LineErrorKind::FloatOutOfRange));
        assert_eq!(
            parse_float("-1e999999999999"),
            Err(LineErrorKind::FloatOutOfRange)
        );
    }

    #[test]
    fn integers() {
        assert_eq!(parse_integer(b"0"), Ok(0));
        assert_eq!(parse_integer(b"-0"), Ok(0));
        assert_eq!(parse_integer(b"00042"), Ok(42));
        assert_eq!(parse_integer(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_integer(b"-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(
            parse_integer(b"9223372036854775808"),
            Err(LineErrorKind::IntegerOutOfRange)
        );
        assert_eq!(
            parse_integer(b"-9223372036854775809"),
            Err(LineErrorKind::IntegerOutOfRange)
        );
        assert_eq!(
            parse_integer(b"99999999999999999999999"),
            Err(LineErrorKind::IntegerOutOfRange)
        );
        for s in ["", "-", "+1", "1.0", "1e3", "1x", " 1"] {
            assert_eq!(
                parse_integer(s.as_bytes()),
                Err(LineErrorKind::InvalidInteger),
                "{s:?}"
            );
        }
        assert_eq!(parse_unsigned(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_unsigned(b"18446744073709551616"),
            Err(LineErrorKind::UnsignedOutOfRange)
        );
        assert_eq!(parse_unsigned(b"-1"), Err(LineErrorKind::InvalidUnsigned));
        assert_eq!(parse_unsigned(b""), Err(LineErrorKind::InvalidUnsigned));
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            parse_timestamp(b"0000000001", 1_000_000_000),
            Ok(1_000_000_000)
        );
        assert_eq!(parse_timestamp(b"-5", 1), Ok(-5));
        assert_eq!(parse_timestamp(b"-9223372036854775808", 1), Ok(i64::MIN));
        assert_eq!(parse_timestamp(b"9223372036854775807", 1), Ok(i64::MAX));
        assert_eq!(
            parse_timestamp(b"9223372037", 1_000_000_000),
            Err(LineErrorKind::TimestampOutOfRange)
        );
        assert_eq!(
            parse_timestamp(b"9223372036854775808", 1),
            Err(LineErrorKind::TimestampOutOfRange)
        );
        assert_eq!(
            parse_timestamp(b"12a", 1),
            Err(LineErrorKind::InvalidTimestamp)
        );
        assert_eq!(
            parse_timestamp(b"-", 1),
            Err(LineErrorKind::InvalidTimestamp)
        );
    }
}
