//! Kapacitor's operator table (`tick/stateful/evaluation_funcs.go`) on runtime values.
//! `AND`/`OR` short-circuit and missing operands are handled by the caller.

use super::error::EvalError;
use super::value::Value;
use kap_dsl::expr::{BinaryOp, UnaryOp};
use std::cmp::Ordering;

fn mismatched(op: BinaryOp, l: &Value, r: &Value) -> EvalError {
    if std::mem::discriminant(l) == std::mem::discriminant(r) {
        EvalError::InvalidOperator {
            op: op.as_str(),
            ty: l.type_name(),
        }
    } else {
        EvalError::MismatchedTypes {
            left: l.type_name(),
            op: op.as_str(),
            right: r.type_name(),
        }
    }
}

/// `-x` and `!x`.
pub(crate) fn unary(op: UnaryOp, v: Value) -> Result<Value, EvalError> {
    match (op, v) {
        (UnaryOp::Neg, Value::Int(i)) => Ok(Value::Int(i.wrapping_neg())),
        (UnaryOp::Neg, Value::Float(f)) => Ok(Value::Float(-f)),
        (UnaryOp::Neg, Value::Duration(d)) => Ok(Value::Duration(d.wrapping_neg())),
        (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
        (op, v) => Err(EvalError::InvalidUnary {
            op: match op {
                UnaryOp::Neg => "-",
                UnaryOp::Not => "!",
            },
            ty: v.type_name(),
        }),
    }
}

/// Every binary operator but `AND`/`OR` (which the evaluator short-circuits; given here
/// two bools they are evaluated eagerly, for constant folding).
pub(crate) fn binary(op: BinaryOp, l: &Value, r: &Value) -> Result<Value, EvalError> {
    use BinaryOp::*;
    match op {
        And | Or => match (l, r) {
            (Value::Bool(a), Value::Bool(b)) => {
                Ok(Value::Bool(if op == And { *a && *b } else { *a || *b }))
            }
            _ => Err(mismatched(op, l, r)),
        },
        Eq | NotEq | Less | LessEq | Greater | GreaterEq => compare(op, l, r).map(Value::Bool),
        RegexMatch | RegexNotMatch => match (l, r) {
            (Value::String(s), Value::Regex(re)) => {
                Ok(Value::Bool(re.is_match(s) == (op == RegexMatch)))
            }
            _ => Err(mismatched(op, l, r)),
        },
        Add | Sub | Mul | Div | Mod => arithmetic(op, l, r),
    }
}

fn compare(op: BinaryOp, l: &Value, r: &Value) -> Result<bool, EvalError> {
    use BinaryOp::*;
    if let Some(ord) = number_order(l, r) {
        return Ok(ordered(op, ord));
    }
    let ord: Option<Ordering> = match (l, r) {
        // Go compares strings byte-wise, as does `str`'s `Ord`.
        (Value::String(a), Value::String(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (Value::Duration(a), Value::Duration(b)) | (Value::Time(a), Value::Time(b)) => {
            Some(a.cmp(b))
        }
        (Value::Bool(a), Value::Bool(b)) if matches!(op, Eq | NotEq) => Some(a.cmp(b)),
        _ => return Err(mismatched(op, l, r)),
    };
    Ok(ordered(op, ord))
}

/// `compare` of two numbers (ints or floats): what [`binary`] gives for a comparison
/// operator `op`, without its dispatch.
#[inline]
pub(crate) fn compare_numbers(op: BinaryOp, l: &Value, r: &Value) -> bool {
    ordered(op, number_order(l, r).flatten())
}

/// The order of two numbers, ints or floats (`Some(None)` when a NaN is involved); `None`
/// when either is not a number.
#[inline]
fn number_order(l: &Value, r: &Value) -> Option<Option<Ordering>> {
    Some(match (l, r) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
        (Value::Int(a), Value::Float(b)) => (*a as f64).partial_cmp(b),
        (Value::Float(a), Value::Int(b)) => a.partial_cmp(&(*b as f64)),
        _ => return None,
    })
}

/// Whether `ord` satisfies comparison `op`. An unordered pair (a NaN) is unequal to
/// everything, as in Go.
fn ordered(op: BinaryOp, ord: Option<Ordering>) -> bool {
    use BinaryOp::*;
    match op {
        Eq => ord == Some(Ordering::Equal),
        NotEq => ord != Some(Ordering::Equal),
        Less => ord == Some(Ordering::Less),
        LessEq => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        Greater => ord == Some(Ordering::Greater),
        GreaterEq => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        _ => false,
    }
}

/// [`binary`] of a string `l` (a tag's value, not yet a [`Value`]) and `r`, when it is a
/// comparison with a string or a regex match: what `binary` gives, without making the
/// string. `None` for every other case.
pub(crate) fn str_binary(op: BinaryOp, l: &str, r: &Value) -> Option<bool> {
    use BinaryOp::*;
    match (op, r) {
        (Eq | NotEq | Less | LessEq | Greater | GreaterEq, Value::String(b)) => {
            Some(ordered(op, Some(l.as_bytes().cmp(b.as_bytes()))))
        }
        (RegexMatch | RegexNotMatch, Value::Regex(re)) => {
            Some(re.is_match(l) == (op == RegexMatch))
        }
        _ => None,
    }
}

/// Go's `time.Duration(f)` for a float: truncation, saturating where Go's result is
/// platform-defined.
fn float_to_duration(f: f64) -> i64 {
    f as i64
}

fn arithmetic(op: BinaryOp, l: &Value, r: &Value) -> Result<Value, EvalError> {
    use BinaryOp::*;
    use Value::{Duration as D, Float as F, Int as I};
    Ok(match (op, l, r) {
        (Add, I(a), I(b)) => I(a.wrapping_add(*b)),
        (Sub, I(a), I(b)) => I(a.wrapping_sub(*b)),
        (Mul, I(a), I(b)) => I(a.wrapping_mul(*b)),
        (Div, I(a), I(b)) => I(checked_div(*a, *b)?),
        (Mod, I(a), I(b)) => {
            if *b == 0 {
                return Err(EvalError::DivideByZero);
            }
            I(a.wrapping_rem(*b))
        }
        (Add, F(a), F(b)) => F(a + b),
        (Sub, F(a), F(b)) => F(a - b),
        (Mul, F(a), F(b)) => F(a * b),
        (Div, F(a), F(b)) => F(a / b),
        (Add, Value::String(a), Value::String(b)) => {
            let mut s = String::with_capacity(a.len() + b.len());
            s.push_str(a);
            s.push_str(b);
            Value::String(crate::point::Str::from(s))
        }
        (Add, D(a), D(b)) => D(a.wrapping_add(*b)),
        (Sub, D(a), D(b)) => D(a.wrapping_sub(*b)),
        (Mul, D(d), I(n)) | (Mul, I(n), D(d)) => D(d.wrapping_mul(*n)),
        (Mul, D(d), F(f)) | (Mul, F(f), D(d)) => D(float_to_duration(*d as f64 * f)),
        (Div, D(d), I(n)) => D(checked_div(*d, *n)?),
        (Div, D(d), F(f)) => D(float_to_duration(*d as f64 / f)),
        (Div, D(a), D(b)) => I(checked_div(*a, *b)?),
        _ => return Err(mismatched(op, l, r)),
    })
}

/// Go's truncating integer division; `MIN / -1` wraps as in Go; `/ 0` is an error.
fn checked_div(a: i64, b: i64) -> Result<i64, EvalError> {
    if b == 0 {
        Err(EvalError::DivideByZero)
    } else {
        Ok(a.wrapping_div(b))
    }
}
