//! The stateless builtins (Kapacitor's `tick/stateful/functions.go`), resolved to function
//! pointers at compile time. Each checks its argument types at run time (references have
//! no static type) and never panics.

use super::TimeZone;
use super::error::EvalError;
use super::value::Value;
use crate::gofmt::format_float_f;
use crate::point::Str;
use chrono::{DateTime, Datelike, FixedOffset, Local, NaiveDateTime, Timelike};

/// What a builtin may read besides its arguments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env {
    pub(crate) tz: TimeZone,
}

/// A stateless builtin.
pub(crate) type PureFn = fn(&[Value], &Env) -> Result<Value, EvalError>;

/// The error for arguments no signature of `func` accepts.
pub(crate) fn bad_args(func: &'static str, args: &[Value]) -> EvalError {
    let got: Vec<&str> = args.iter().map(Value::type_name).collect();
    let want = kap_dsl::registry::functions::function(func)
        .map(|d| d.signature())
        .unwrap_or_default();
    EvalError::func(
        func,
        format!(
            "invalid argument types ({}), expected {want}",
            got.join(", ")
        ),
    )
}

fn s(v: impl Into<Str>) -> Value {
    Value::String(v.into())
}

macro_rules! math1 {
    ($name:literal, $f:expr) => {
        (|a: &[Value], _: &Env| match a {
            [Value::Float(x)] => Ok(Value::Float(($f)(*x))),
            _ => Err(bad_args($name, a)),
        }) as PureFn
    };
}

macro_rules! math2 {
    ($name:literal, $f:expr) => {
        (|a: &[Value], _: &Env| match a {
            [Value::Float(x), Value::Float(y)] => Ok(Value::Float(($f)(*x, *y))),
            _ => Err(bad_args($name, a)),
        }) as PureFn
    };
}

macro_rules! str_bool {
    ($name:literal, $f:expr) => {
        (|a: &[Value], _: &Env| match a {
            [Value::String(x), Value::String(y)] => Ok(Value::Bool(($f)(&**x, &**y))),
            _ => Err(bad_args($name, a)),
        }) as PureFn
    };
}

macro_rules! str_int {
    ($name:literal, $f:expr) => {
        (|a: &[Value], _: &Env| match a {
            [Value::String(x), Value::String(y)] => Ok(Value::Int(($f)(&**x, &**y))),
            _ => Err(bad_args($name, a)),
        }) as PureFn
    };
}

macro_rules! str_str {
    ($name:literal, $f:expr) => {
        (|a: &[Value], _: &Env| match a {
            [Value::String(x), Value::String(y)] => Ok(($f)(x, &**y)),
            _ => Err(bad_args($name, a)),
        }) as PureFn
    };
}

macro_rules! time_int {
    ($name:literal, $f:expr) => {
        (|a: &[Value], env: &Env| match a {
            [Value::Time(t)] => Ok(Value::Int(($f)(civil(*t, env.tz)))),
            _ => Err(bad_args($name, a)),
        }) as PureFn
    };
}

/// Resolves a stateless builtin (everything but `isPresent`, `now`, the stateful and the
/// handler-only functions, which the compiler handles itself).
pub(crate) fn pure(name: &str) -> Option<(&'static str, PureFn)> {
    let f: (&'static str, PureFn) = match name {
        // Conversion
        "bool" => ("bool", to_bool),
        "int" => ("int", to_int),
        "float" => ("float", to_float),
        "string" => ("string", to_string),
        "duration" => ("duration", to_duration),
        "if" => ("if", if_fn),
        // Math
        "abs" => ("abs", math1!("abs", f64::abs)),
        "acos" => ("acos", math1!("acos", f64::acos)),
        "acosh" => ("acosh", math1!("acosh", f64::acosh)),
        "asin" => ("asin", math1!("asin", f64::asin)),
        "asinh" => ("asinh", math1!("asinh", f64::asinh)),
        "atan" => ("atan", math1!("atan", f64::atan)),
        "atan2" => ("atan2", math2!("atan2", f64::atan2)),
        "atanh" => ("atanh", math1!("atanh", f64::atanh)),
        "cbrt" => ("cbrt", math1!("cbrt", f64::cbrt)),
        "ceil" => ("ceil", math1!("ceil", f64::ceil)),
        "cos" => ("cos", math1!("cos", f64::cos)),
        "cosh" => ("cosh", math1!("cosh", f64::cosh)),
        "erf" => ("erf", math1!("erf", libm::erf)),
        "erfc" => ("erfc", math1!("erfc", libm::erfc)),
        "exp" => ("exp", math1!("exp", f64::exp)),
        "exp2" => ("exp2", math1!("exp2", f64::exp2)),
        "expm1" => ("expm1", math1!("expm1", f64::exp_m1)),
        "floor" => ("floor", math1!("floor", f64::floor)),
        "gamma" => ("gamma", math1!("gamma", libm::tgamma)),
        "hypot" => ("hypot", math2!("hypot", f64::hypot)),
        "j0" => ("j0", math1!("j0", libm::j0)),
        "j1" => ("j1", math1!("j1", libm::j1)),
        "jn" => ("jn", jn),
        "log" => ("log", math1!("log", f64::ln)),
        "log10" => ("log10", math1!("log10", f64::log10)),
        "log1p" => ("log1p", math1!("log1p", f64::ln_1p)),
        "log2" => ("log2", math1!("log2", f64::log2)),
        "logb" => ("logb", math1!("logb", go_logb)),
        "max" => ("max", math2!("max", go_max)),
        "min" => ("min", math2!("min", go_min)),
        "mod" => ("mod", math2!("mod", |x: f64, y: f64| x % y)),
        "pow" => ("pow", math2!("pow", f64::powf)),
        "pow10" => ("pow10", pow10),
        "sin" => ("sin", math1!("sin", f64::sin)),
        "sinh" => ("sinh", math1!("sinh", f64::sinh)),
        "sqrt" => ("sqrt", math1!("sqrt", f64::sqrt)),
        "tan" => ("tan", math1!("tan", f64::tan)),
        "tanh" => ("tanh", math1!("tanh", f64::tanh)),
        "trunc" => ("trunc", math1!("trunc", f64::trunc)),
        "y0" => ("y0", math1!("y0", libm::y0)),
        "y1" => ("y1", math1!("y1", libm::y1)),
        "yn" => ("yn", yn),
        // Strings
        "strContains" => ("strContains", str_bool!("strContains", str::contains)),
        "strContainsAny" => (
            "strContainsAny",
            str_bool!("strContainsAny", |s: &str, chars: &str| s
                .contains(|c| chars.contains(c))),
        ),
        "strCount" => (
            "strCount",
            str_int!("strCount", |s: &str, sub: &str| len_i64(
                if sub.is_empty() {
                    s.chars().count() + 1
                } else {
                    s.matches(sub).count()
                }
            )),
        ),
        "strHasPrefix" => ("strHasPrefix", str_bool!("strHasPrefix", str::starts_with)),
        "strHasSuffix" => ("strHasSuffix", str_bool!("strHasSuffix", str::ends_with)),
        "strIndex" => (
            "strIndex",
            str_int!("strIndex", |s: &str, sub: &str| index(s.find(sub))),
        ),
        "strIndexAny" => (
            "strIndexAny",
            str_int!("strIndexAny", |s: &str, chars: &str| index(
                s.find(|c| chars.contains(c))
            )),
        ),
        "strLastIndex" => (
            "strLastIndex",
            str_int!("strLastIndex", |s: &str, sub: &str| index(s.rfind(sub))),
        ),
        "strLastIndexAny" => (
            "strLastIndexAny",
            str_int!("strLastIndexAny", |s: &str, chars: &str| index(
                s.rfind(|c| chars.contains(c))
            )),
        ),
        "strLength" => ("strLength", str_length),
        "strReplace" => ("strReplace", str_replace),
        "strSubstring" => ("strSubstring", str_substring),
        "strToLower" => ("strToLower", str_to_lower),
        "strToUpper" => ("strToUpper", str_to_upper),
        "strTrim" => (
            "strTrim",
            str_str!("strTrim", |s: &Str, cut: &str| keep_or(
                s,
                s.trim_matches(|c| cut.contains(c))
            )),
        ),
        "strTrimLeft" => (
            "strTrimLeft",
            str_str!("strTrimLeft", |s: &Str, cut: &str| keep_or(
                s,
                s.trim_start_matches(|c| cut.contains(c))
            )),
        ),
        "strTrimRight" => (
            "strTrimRight",
            str_str!("strTrimRight", |s: &Str, cut: &str| keep_or(
                s,
                s.trim_end_matches(|c| cut.contains(c))
            )),
        ),
        "strTrimPrefix" => (
            "strTrimPrefix",
            str_str!("strTrimPrefix", |s: &Str, p: &str| keep_or(
                s,
                s.strip_prefix(p).unwrap_or(s)
            )),
        ),
        "strTrimSuffix" => (
            "strTrimSuffix",
            str_str!("strTrimSuffix", |s: &Str, p: &str| keep_or(
                s,
                s.strip_suffix(p).unwrap_or(s)
            )),
        ),
        "strTrimSpace" => ("strTrimSpace", str_trim_space),
        "regexReplace" => ("regexReplace", regex_replace),
        // Time
        "unixNano" => ("unixNano", unix_nano),
        "minute" => (
            "minute",
            time_int!("minute", |t: NaiveDateTime| i64::from(t.minute())),
        ),
        "hour" => (
            "hour",
            time_int!("hour", |t: NaiveDateTime| i64::from(t.hour())),
        ),
        "weekday" => (
            "weekday",
            time_int!("weekday", |t: NaiveDateTime| i64::from(
                t.weekday().num_days_from_sunday()
            )),
        ),
        "day" => (
            "day",
            time_int!("day", |t: NaiveDateTime| i64::from(t.day())),
        ),
        "month" => (
            "month",
            time_int!("month", |t: NaiveDateTime| i64::from(t.month())),
        ),
        "year" => (
            "year",
            time_int!("year", |t: NaiveDateTime| i64::from(t.year())),
        ),
        // Formatting
        "humanBytes" => ("humanBytes", human_bytes_fn),
        _ => return None,
    };
    Some(f)
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn index(i: Option<usize>) -> i64 {
    i.map_or(-1, len_i64)
}

/// The string `sub` of `orig` as a value, reusing `orig`'s allocation when unchanged.
fn keep_or(orig: &Str, sub: &str) -> Value {
    if sub.len() == orig.len() {
        Value::String(Str::clone(orig))
    } else {
        s(sub)
    }
}

// ---------------------------------------------------------------------------------------
// Conversion

fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn to_bool(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::Bool(b)] => Ok(Value::Bool(*b)),
        [Value::Int(0)] => Ok(Value::Bool(false)),
        [Value::Int(1)] => Ok(Value::Bool(true)),
        [Value::Float(f)] if *f == 0.0 => Ok(Value::Bool(false)),
        [Value::Float(f)] if *f == 1.0 => Ok(Value::Bool(true)),
        [v @ (Value::Int(_) | Value::Float(_))] => Err(EvalError::func(
            "bool",
            format!(
                "cannot convert {} {v} to boolean, must be 0 or 1",
                v.type_name()
            ),
        )),
        [Value::String(s)] => parse_go_bool(s).map(Value::Bool).ok_or_else(|| {
            EvalError::func(
                "bool",
                format!("strconv.ParseBool: parsing {s:?}: invalid syntax"),
            )
        }),
        _ => Err(bad_args("bool", a)),
    }
}

fn to_int(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::Bool(b)] => Ok(Value::Int(i64::from(*b))),
        [Value::Int(i)] => Ok(Value::Int(*i)),
        // Go truncates; out-of-range values and NaN (platform-defined in Go) saturate / 0.
        [Value::Float(f)] => Ok(Value::Int(*f as i64)),
        [Value::Duration(d)] => Ok(Value::Int(*d)),
        [Value::String(s)] => parse_go_int(s).map(Value::Int),
        _ => Err(bad_args("int", a)),
    }
}

/// Go's `strconv.ParseInt(s, 10, 64)`, with its error texts.
fn parse_go_int(s: &str) -> Result<i64, EvalError> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EvalError::func(
            "int",
            format!("strconv.ParseInt: parsing {s:?}: invalid syntax"),
        ));
    }
    s.parse::<i64>().map_err(|_| {
        EvalError::func(
            "int",
            format!("strconv.ParseInt: parsing {s:?}: value out of range"),
        )
    })
}

fn to_float(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::Bool(b)] => Ok(Value::Float(if *b { 1.0 } else { 0.0 })),
        [Value::Int(i)] => Ok(Value::Float(*i as f64)),
        [Value::Float(f)] => Ok(Value::Float(*f)),
        [Value::String(s)] => parse_go_float(s).map(Value::Float),
        _ => Err(bad_args("float", a)),
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input (`inf`, `infinity` and `nan` in any
/// case; out-of-range values are an error).
fn parse_go_float(s: &str) -> Result<f64, EvalError> {
    let err =
        |why: &str| EvalError::func("float", format!("strconv.ParseFloat: parsing {s:?}: {why}"));
    // Rust accepts a few spellings Go does not ("+infinity" is fine in both); reject
    // whitespace and the empty string explicitly.
    if s.is_empty() || s.trim() != s {
        return Err(err("invalid syntax"));
    }
    let f: f64 = s.parse().map_err(|_| err("invalid syntax"))?;
    if f.is_infinite() {
        let unsigned = s.trim_start_matches(['+', '-']).to_ascii_lowercase();
        if unsigned != "inf" && unsigned != "infinity" {
            return Err(err("value out of range"));
        }
    }
    Ok(f)
}

fn to_string(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::Bool(b)] => Ok(s(if *b { "true" } else { "false" })),
        [Value::Int(i)] => Ok(s(i.to_string())),
        [Value::Float(f)] => Ok(s(format_float_f(*f, None))),
        [Value::String(x)] => Ok(Value::String(Str::clone(x))),
        [Value::Duration(d)] => Ok(s(format_influxql_duration(*d))),
        _ => Err(bad_args("string", a)),
    }
}

fn to_duration(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::Duration(d)] => Ok(Value::Duration(*d)),
        [Value::String(x)] => parse_influxql_duration(x)
            .map(Value::Duration)
            .map_err(|m| EvalError::func("duration", m)),
        [Value::Int(n), Value::Duration(unit)] => Ok(Value::Duration(n.wrapping_mul(*unit))),
        [Value::Float(f), Value::Duration(unit)] => Ok(Value::Duration((f * *unit as f64) as i64)),
        _ => Err(bad_args("duration", a)),
    }
}

/// Formats a duration as InfluxQL does (`influxql.FormatDuration`): the largest unit
/// that divides it exactly, `w d h m s ms u`, else `ns`; `0s` for zero.
pub fn format_influxql_duration(ns: i64) -> String {
    kap_dsl::expr::format_duration(ns)
}

/// Parses an InfluxQL duration literal (`influxql.ParseDuration`): an optional `-`, then
/// one or more `<digits><unit>` with units `ns u µ ms s m h d w` (`1h30m`).
pub fn parse_influxql_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("invalid duration {s:?}");
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 2 {
        return Err(invalid());
    }
    let mut i = 0;
    let negative = chars[0] == '-';
    if negative {
        i += 1;
    }
    let mut total: i64 = 0;
    let mut overflow = false;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i >= chars.len() || i == start {
            return Err(invalid());
        }
        let digits: String = chars[start..i].iter().collect();
        let n: i64 = digits.parse().map_err(|_| invalid())?;
        let (unit, width): (i64, usize) = match chars[i] {
            'n' if chars.get(i + 1) == Some(&'s') => (1, 2),
            'u' | 'µ' => (1_000, 1),
            'm' if chars.get(i + 1) == Some(&'s') => (1_000_000, 2),
            'm' => (60_000_000_000, 1),
            's' => (1_000_000_000, 1),
            'h' => (3_600_000_000_000, 1),
            'd' => (86_400_000_000_000, 1),
            'w' => (604_800_000_000_000, 1),
            _ => return Err(invalid()),
        };
        match n.checked_mul(unit).and_then(|v| total.checked_add(v)) {
            Some(t) => total = t,
            None => overflow = true,
        }
        i += width;
    }
    if overflow {
        return Err(format!(
            "overflowed duration {s}: choose a smaller duration or INF"
        ));
    }
    Ok(if negative { -total } else { total })
}

fn if_fn(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::Bool(c), x, y] => {
            if std::mem::discriminant(x) != std::mem::discriminant(y) {
                return Err(EvalError::func(
                    "if",
                    format!(
                        "different return types are not supported - second argument is {} and third argument is {}",
                        x.type_name(),
                        y.type_name()
                    ),
                ));
            }
            Ok(if *c { x.clone() } else { y.clone() })
        }
        [c, _, _] => Err(EvalError::func(
            "if",
            format!(
                "first argument must be a condition with type of boolean - got {}",
                c.type_name()
            ),
        )),
        _ => Err(bad_args("if", a)),
    }
}

// ---------------------------------------------------------------------------------------
// Math (Go's `math` package semantics where they differ from Rust's std)

/// Go's `math.Max`: NaN if either is NaN, `+0` beats `-0`.
fn go_max(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() { y } else { x }
    } else if x > y {
        x
    } else {
        y
    }
}

/// Go's `math.Min`: NaN if either is NaN, `-0` beats `+0`.
fn go_min(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() { x } else { y }
    } else if x < y {
        x
    } else {
        y
    }
}

/// Go's `math.Logb`: the binary exponent; `-Inf` for 0, `+Inf` for ±Inf.
fn go_logb(x: f64) -> f64 {
    if x == 0.0 {
        f64::NEG_INFINITY
    } else if x.is_infinite() {
        f64::INFINITY
    } else if x.is_nan() {
        x
    } else {
        f64::from(libm::ilogb(x))
    }
}

/// Go's `math.Pow10(n)`, correctly rounded: 0 below 1e-323, +Inf above 1e308.
fn pow10(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::Int(n)] => Ok(Value::Float(if *n < -323 {
            0.0
        } else if *n > 308 {
            f64::INFINITY
        } else {
            format!("1e{n}").parse().unwrap_or(f64::NAN)
        })),
        _ => Err(bad_args("pow10", a)),
    }
}

fn bessel_order(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(if n < 0 { i32::MIN + 1 } else { i32::MAX })
}

fn jn(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::Int(n), Value::Float(x)] => Ok(Value::Float(libm::jn(bessel_order(*n), *x))),
        _ => Err(bad_args("jn", a)),
    }
}

fn yn(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::Int(n), Value::Float(x)] => Ok(Value::Float(libm::yn(bessel_order(*n), *x))),
        _ => Err(bad_args("yn", a)),
    }
}

// ---------------------------------------------------------------------------------------
// Strings

fn str_length(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::String(x)] => Ok(Value::Int(len_i64(x.len()))),
        _ => Err(bad_args("strLength", a)),
    }
}

fn str_to_lower(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::String(x)] => Ok(s(x.to_lowercase())),
        _ => Err(bad_args("strToLower", a)),
    }
}

fn str_to_upper(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::String(x)] => Ok(s(x.to_uppercase())),
        _ => Err(bad_args("strToUpper", a)),
    }
}

fn str_trim_space(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        // Rust's `trim` uses Unicode White_Space, as Go's `unicode.IsSpace` does.
        [Value::String(x)] => Ok(keep_or(x, x.trim())),
        _ => Err(bad_args("strTrimSpace", a)),
    }
}

/// Go's `strings.Replace(s, old, new, n)`: `n < 0` replaces all; an empty `old` matches
/// before every character and at the end.
fn str_replace(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [
            Value::String(x),
            Value::String(old),
            Value::String(new),
            Value::Int(n),
        ] => Ok(if *n == 0 {
            Value::String(Str::clone(x))
        } else if *n < 0 {
            s(x.replace(&**old, new))
        } else {
            s(x.replacen(&**old, new, usize::try_from(*n).unwrap_or(usize::MAX)))
        }),
        _ => Err(bad_args("strReplace", a)),
    }
}

/// `strSubstring(s, start, stop)`: bytes `start..stop` of `s` (Go's `s[start:stop]`); an
/// error when `start < 0`, `stop < start` or `stop > len(s)`. A cut inside a UTF-8
/// sequence (which Go would return as invalid bytes) yields U+FFFD.
fn str_substring(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::String(x), Value::Int(start), Value::Int(stop)] => {
            let len = len_i64(x.len());
            if *start < 0 || *start > len {
                return Err(EvalError::func(
                    "strSubstring",
                    format!("start index {start} out of range for string of length {len}"),
                ));
            }
            if *stop < *start || *stop > len {
                return Err(EvalError::func(
                    "strSubstring",
                    format!(
                        "stop index {stop} out of range for start index {start} and string of length {len}"
                    ),
                ));
            }
            // Both bounds are within 0..=len, so the casts and the slice are in range.
            let bytes = x.as_bytes();
            let sub = bytes.get(*start as usize..*stop as usize).unwrap_or(&[]);
            Ok(s(String::from_utf8_lossy(sub).as_ref()))
        }
        _ => Err(bad_args("strSubstring", a)),
    }
}

/// `regexReplace(regex, s, replacement)`: Go's `ReplaceAllString`, with `$1`, `${1}`,
/// `$name`, `${name}` and `$$` expansion (Rust's `regex` expands identically).
fn regex_replace(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::Regex(re), Value::String(x), Value::String(repl)] => {
            match re.replace_all(x, &**repl) {
                std::borrow::Cow::Borrowed(_) => Ok(Value::String(Str::clone(x))),
                std::borrow::Cow::Owned(o) => Ok(s(o)),
            }
        }
        _ => Err(bad_args("regexReplace", a)),
    }
}

// ---------------------------------------------------------------------------------------
// Time

/// The wall-clock date and time of `ns` (since the epoch) in zone `tz`.
fn civil(ns: i64, tz: TimeZone) -> NaiveDateTime {
    let utc = DateTime::from_timestamp_nanos(ns);
    match tz {
        TimeZone::Local => utc.with_timezone(&Local).naive_local(),
        TimeZone::Utc => utc.naive_utc(),
        TimeZone::FixedOffset(secs) => match FixedOffset::east_opt(secs) {
            Some(off) => utc.with_timezone(&off).naive_local(),
            None => utc.naive_utc(),
        },
    }
}

fn unix_nano(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        [Value::Time(t)] => Ok(Value::Int(*t)),
        _ => Err(bad_args("unixNano", a)),
    }
}

// ---------------------------------------------------------------------------------------
// Formatting

fn human_bytes_fn(a: &[Value], _: &Env) -> Result<Value, EvalError> {
    match a {
        // Go's `uint64(x)`: negative ints wrap; negative floats convert as on amd64
        // (through int64).
        [Value::Int(i)] => Ok(s(human_bytes(*i as u64))),
        [Value::Float(f)] => Ok(s(human_bytes(if *f < 0.0 {
            (*f as i64) as u64
        } else {
            *f as u64
        }))),
        _ => Err(bad_args("humanBytes", a)),
    }
}

/// go-humanize's `Bytes`: SI units (`B kB MB GB TB PB EB`), one decimal below 10
/// (`1.2 MB`), none from 10 (`83 MB`).
pub fn human_bytes(n: u64) -> String {
    const SIZES: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if n < 10 {
        return format!("{n} B");
    }
    let x = n as f64;
    let e = (x.ln() / 1000f64.ln()).floor();
    let suffix = SIZES[(e as usize).min(SIZES.len() - 1)];
    let val = (x / 1000f64.powf(e) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1} {suffix}")
    } else {
        format!("{val:.0} {suffix}")
    }
}
