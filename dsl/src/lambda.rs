//! Static type checking of lambda expressions.
//!
//! A reference (`"field"`) has no type until a point arrives, so only what is known when
//! the script is defined is checked: literals, vars, and function results. Where both
//! operands of an operator have known types, Kapacitor's operator table applies (e.g.
//! `int + float` is an error, as is comparing a string with a number).

use crate::expr::{BinaryOp, Expr, UnaryOp};
use crate::registry::functions::{self, FuncDef};
use crate::value::ValueType;

/// The type of a lambda sub-expression, as far as it is known statically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaticType {
    /// Not known until run time (references, `if()` with unknown branches...).
    Unknown,
    /// 64-bit integer.
    Int,
    /// 64-bit float.
    Float,
    /// Boolean.
    Bool,
    /// String.
    String,
    /// Duration.
    Duration,
    /// Regex.
    Regex,
    /// Time (`"time"`, `now()`).
    Time,
}

impl StaticType {
    /// Name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            StaticType::Unknown => "unknown",
            StaticType::Int => "int",
            StaticType::Float => "float",
            StaticType::Bool => "bool",
            StaticType::String => "string",
            StaticType::Duration => "duration",
            StaticType::Regex => "regex",
            StaticType::Time => "time",
        }
    }

    /// The static type of a template var of type `t`.
    pub fn from_value_type(t: ValueType) -> StaticType {
        match t {
            ValueType::Int => StaticType::Int,
            ValueType::Float => StaticType::Float,
            ValueType::Bool => StaticType::Bool,
            ValueType::String => StaticType::String,
            ValueType::Duration => StaticType::Duration,
            ValueType::Regex => StaticType::Regex,
            _ => StaticType::Unknown,
        }
    }
}

/// A static type error with an optional fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeError {
    /// The message.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// Why a function call does not check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No such function.
    Unknown,
    /// Wrong number of arguments (message).
    ArgCount(String),
    /// Argument `i` has a wrong type (message).
    ArgType(usize, String),
}

/// `a bool`, `an int`.
fn a(t: StaticType) -> String {
    let n = t.name();
    if n.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {n}")
    } else {
        format!("a {n}")
    }
}

/// The type of a unary operation.
pub fn unary_type(op: UnaryOp, t: StaticType) -> Result<StaticType, String> {
    use StaticType as S;
    match (op, t) {
        (_, S::Unknown) => Ok(S::Unknown),
        (UnaryOp::Neg, S::Int | S::Float | S::Duration) => Ok(t),
        (UnaryOp::Not, S::Bool) => Ok(S::Bool),
        (UnaryOp::Neg, _) => Err(format!(
            "invalid unary `-` on {}: only ints, floats and durations can be negated",
            a(t)
        )),
        (UnaryOp::Not, _) => Err(format!(
            "invalid unary `!` on {}: only bools can be negated",
            a(t)
        )),
    }
}

/// The type of `l op r` per Kapacitor's operator table.
pub fn binary_type(op: BinaryOp, l: StaticType, r: StaticType) -> Result<StaticType, TypeError> {
    use BinaryOp::*;
    use StaticType as S;
    let numeric = |t: StaticType| matches!(t, S::Int | S::Float);
    // With an unknown side only the result type can be told, when the operator fixes it.
    if l == S::Unknown || r == S::Unknown {
        let known = if l == S::Unknown { r } else { l };
        if op.is_logical() && known != S::Unknown && known != S::Bool {
            return Err(TypeError {
                message: format!("`{}` needs bool operands, got {}", op.as_str(), a(known)),
                help: Some(
                    "compare values first, e.g. `\"value\" > 10 AND \"host\" == 'a'`".into(),
                ),
            });
        }
        if matches!(op, RegexMatch | RegexNotMatch) && r != S::Unknown && r != S::Regex {
            return Err(TypeError {
                message: format!(
                    "the right side of `{}` must be a regex, got {}",
                    op.as_str(),
                    a(r)
                ),
                help: Some("write a regex literal such as `/^web-\\d+$/`".into()),
            });
        }
        return Ok(if op.is_comparison() || op.is_logical() {
            S::Bool
        } else if matches!(op, Div) && l == S::Duration && r == S::Duration {
            S::Int
        } else {
            S::Unknown
        });
    }
    let mixed_help = || {
        Some(
            "convert one side with `float()` or `int()`, e.g. `float(\"count\") * 1.5`".to_string(),
        )
    };
    let result = match op {
        And | Or => (l == S::Bool && r == S::Bool).then_some(S::Bool),
        Eq | NotEq => (l == r && l != S::Regex || numeric(l) && numeric(r)).then_some(S::Bool),
        Less | LessEq | Greater | GreaterEq => (l == r
            && matches!(l, S::Int | S::Float | S::String | S::Duration | S::Time)
            || numeric(l) && numeric(r))
        .then_some(S::Bool),
        RegexMatch | RegexNotMatch => (l == S::String && r == S::Regex).then_some(S::Bool),
        Add => (l == r && matches!(l, S::Int | S::Float | S::String | S::Duration)).then_some(l),
        Sub => (l == r && matches!(l, S::Int | S::Float | S::Duration)).then_some(l),
        Mul => match (l, r) {
            (S::Int, S::Int) | (S::Float, S::Float) => Some(l),
            (S::Duration, S::Int | S::Float) | (S::Int | S::Float, S::Duration) => {
                Some(S::Duration)
            }
            _ => None,
        },
        Div => match (l, r) {
            (S::Int, S::Int) | (S::Float, S::Float) => Some(l),
            (S::Duration, S::Int | S::Float) => Some(S::Duration),
            (S::Duration, S::Duration) => Some(S::Int),
            _ => None,
        },
        Mod => (l == S::Int && r == S::Int).then_some(S::Int),
    };
    result.ok_or_else(|| {
        let message = format!(
            "mismatched types for `{}`: {} {} {}",
            op.as_str(),
            l.name(),
            op.as_str(),
            r.name()
        );
        let help = if numeric(l) && numeric(r) && op.is_arithmetic() {
            mixed_help()
        } else if op.is_comparison()
            && (numeric(l) && r == S::String || l == S::String && numeric(r))
        {
            Some(
                "strings compare only with strings: quote the number or convert with `string()`"
                    .into(),
            )
        } else if op.is_logical() {
            Some("`AND` and `OR` combine conditions (bools)".into())
        } else if matches!(op, RegexMatch | RegexNotMatch) {
            Some("`=~` matches a string against a regex literal such as `/^web/`".into())
        } else {
            None
        };
        TypeError { message, help }
    })
}

/// The static type of an already-built plan expression (used for lambda vars inlined
/// into another lambda).
pub fn static_type(e: &Expr) -> StaticType {
    use StaticType as S;
    match e {
        Expr::Int(_) => S::Int,
        Expr::Float(_) => S::Float,
        Expr::Bool(_) => S::Bool,
        Expr::Str(_) => S::String,
        Expr::Duration(_) => S::Duration,
        Expr::Regex(_) => S::Regex,
        Expr::Ref(r) if r == "time" => S::Time,
        Expr::Ref(_) | Expr::Ident(_) | Expr::Star => S::Unknown,
        Expr::Unary(op, x) => unary_type(*op, static_type(x)).unwrap_or(S::Unknown),
        Expr::Binary(op, l, r) => {
            binary_type(*op, static_type(l), static_type(r)).unwrap_or(S::Unknown)
        }
        Expr::Call(name, args) => {
            let types: Vec<StaticType> = args.iter().map(static_type).collect();
            call_type(name, &types).unwrap_or(S::Unknown)
        }
    }
}

/// Checks a call of a lambda function and returns its result type.
pub fn call_type(name: &str, args: &[StaticType]) -> Result<StaticType, CallError> {
    let def: &FuncDef = functions::function(name).ok_or(CallError::Unknown)?;
    functions::check_call(def, args)
}
