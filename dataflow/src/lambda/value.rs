//! Runtime values of the lambda language.

use crate::point::Str;
use regex::Regex;
use std::fmt;
use std::sync::Arc;

/// A runtime value of a lambda expression (Kapacitor's `ast.ValueType`s that exist at run
/// time).
///
/// Cloning is cheap: strings and regexes are reference counted, everything else is
/// `Copy`-sized. Evaluating numeric and boolean expressions never allocates.
#[derive(Debug, Clone)]
pub enum Value {
    /// 64-bit signed integer.
    Int(i64),
    /// 64-bit float.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// String (field or tag values, literals, string function results).
    String(Str),
    /// Duration in nanoseconds.
    Duration(i64),
    /// A compiled regex (from a `/regex/` literal).
    Regex(Arc<Regex>),
    /// A point in time: nanoseconds since the Unix epoch (UTC). Time functions read it in
    /// the lambda's time zone (the server's local zone by default).
    Time(i64),
    /// The value of a reference that names neither a field nor a tag of the point.
    Missing,
}

impl Value {
    /// Kapacitor's name of the value's type, as used in error messages (`int`, `float`,
    /// `boolean`, `string`, `duration`, `regex`, `time`, `missing`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "boolean",
            Value::String(_) => "string",
            Value::Duration(_) => "duration",
            Value::Regex(_) => "regex",
            Value::Time(_) => "time",
            Value::Missing => "missing",
        }
    }

    /// A string value.
    pub fn string(s: &str) -> Value {
        Value::String(Str::from(s))
    }

    /// The bool, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The int, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The float, if this is one (ints are not converted).
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is [`Value::Missing`].
    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing)
    }
}

/// Equality is structural; floats compare with `==` (so `NaN != NaN`), regexes by their
/// source text.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Duration(a), Value::Duration(b)) => a == b,
            (Value::Regex(a), Value::Regex(b)) => a.as_str() == b.as_str(),
            (Value::Time(a), Value::Time(b)) => a == b,
            (Value::Missing, Value::Missing) => true,
            _ => false,
        }
    }
}

/// Displays the value as Kapacitor's `string()` would (floats as Go's `'f', -1`,
/// durations in InfluxQL form); times as nanoseconds, regexes as `/src/`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&crate::gofmt::format_float_f(*x, None)),
            Value::Bool(b) => write!(f, "{b}"),
            Value::String(s) => f.write_str(s),
            Value::Duration(d) => f.write_str(&kap_dsl::expr::format_duration(*d)),
            Value::Regex(r) => write!(f, "/{}/", r.as_str()),
            Value::Time(t) => write!(f, "{t}"),
            Value::Missing => f.write_str("<missing>"),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::string(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::String(Str::from(v))
    }
}

impl From<Str> for Value {
    fn from(v: Str) -> Value {
        Value::String(v)
    }
}
