//! Values produced by evaluating a script's non-lambda expressions: what property
//! methods and chaining methods receive as arguments.

use crate::expr::{Expr, format_duration, format_float};
use crate::span::Span;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Index of a node in the pipeline being built.
pub type NodeId = usize;

/// The type of a [`Value`], as named in diagnostics and template var declarations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// 64-bit integer.
    Int,
    /// 64-bit float.
    Float,
    /// `TRUE`/`FALSE`.
    Bool,
    /// `'string'`.
    String,
    /// `10s`.
    Duration,
    /// `/regex/`.
    Regex,
    /// `lambda: expr`.
    Lambda,
    /// `['a', 'b']`.
    List,
    /// `*`.
    Star,
    /// `time(10s)` group-by dimension (only inside `query().groupBy()`).
    #[serde(rename = "time_dimension")]
    TimeDimension,
    /// A pipeline node.
    Node,
}

impl ValueType {
    /// The name used in messages and in template var JSON (`"int"`, `"duration"`...).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::String => "string",
            ValueType::Duration => "duration",
            ValueType::Regex => "regex",
            ValueType::Lambda => "lambda",
            ValueType::List => "list",
            ValueType::Star => "star",
            ValueType::TimeDimension => "time dimension",
            ValueType::Node => "node",
        }
    }

    /// Parses a template var type name (`var x duration`).
    pub fn from_decl(name: &str) -> Option<ValueType> {
        Some(match name {
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "string" => ValueType::String,
            "duration" => ValueType::Duration,
            "regex" => ValueType::Regex,
            "lambda" => ValueType::Lambda,
            "list" => ValueType::List,
            "star" => ValueType::Star,
            _ => return None,
        })
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An evaluated script value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// Integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// String.
    String(String),
    /// Duration in nanoseconds.
    Duration(i64),
    /// Regex source (Go RE2 syntax).
    Regex(String),
    /// A lambda expression (vars already substituted).
    Lambda(Expr),
    /// A list of values (strings, stars, or anything spread as varargs).
    List(Vec<Value>),
    /// `*`.
    Star,
    /// `time(d)` dimension for `query().groupBy()`, with optional offset, in ns.
    TimeDimension {
        /// Bucket length.
        every: i64,
        /// Offset (0 when not given).
        offset: i64,
    },
    /// A pipeline node.
    Node(NodeId),
}

impl Value {
    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Int(_) => ValueType::Int,
            Value::Float(_) => ValueType::Float,
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::Duration(_) => ValueType::Duration,
            Value::Regex(_) => ValueType::Regex,
            Value::Lambda(_) => ValueType::Lambda,
            Value::List(_) => ValueType::List,
            Value::Star => ValueType::Star,
            Value::TimeDimension { .. } => ValueType::TimeDimension,
            Value::Node(_) => ValueType::Node,
        }
    }

    /// The string inside a `String` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Integer value.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Float value (ints are converted, as Kapacitor does for float parameters).
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// Bool value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Duration in ns.
    pub fn as_duration(&self) -> Option<i64> {
        match self {
            Value::Duration(d) => Some(*d),
            _ => None,
        }
    }

    /// Lambda expression.
    pub fn as_lambda(&self) -> Option<&Expr> {
        match self {
            Value::Lambda(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    /// TICKscript literal text of the value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&format_float(*x)),
            Value::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Value::String(s) => write!(f, "{}", Expr::Str(s.clone())),
            Value::Duration(d) => f.write_str(&format_duration(*d)),
            Value::Regex(r) => write!(f, "{}", Expr::Regex(r.clone())),
            Value::Lambda(e) => write!(f, "lambda: {e}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Star => f.write_str("*"),
            Value::TimeDimension { every, offset } => {
                if *offset == 0 {
                    write!(f, "time({})", format_duration(*every))
                } else {
                    write!(
                        f,
                        "time({}, {})",
                        format_duration(*every),
                        format_duration(*offset)
                    )
                }
            }
            Value::Node(id) => write!(f, "<node {id}>"),
        }
    }
}

/// A value together with the span of the argument expression that produced it, so
/// registry checks can point at the offending argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// The evaluated value.
    pub value: Value,
    /// Where the argument was written.
    pub span: Span,
}
