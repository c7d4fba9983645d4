//! Compile-time and evaluation errors of lambda expressions.

use std::fmt;
use std::sync::Arc;

/// Why an [`Expr`](kap_dsl::expr::Expr) cannot be compiled into a
/// [`CompiledLambda`](super::CompiledLambda).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// The function is not a lambda builtin.
    #[error("undefined function {0}()")]
    UnknownFunction(String),
    /// The function exists but not with this many arguments (message from the registry,
    /// e.g. ``"`sigma()` takes 1 argument, got 2"``).
    #[error("{0}")]
    ArgCount(String),
    /// A regex literal does not compile.
    #[error("invalid regex /{pattern}/: {message}")]
    InvalidRegex {
        /// The regex source.
        pattern: String,
        /// The regex engine's explanation.
        message: String,
    },
    /// A bare identifier other than the alert levels `OK`, `INFO`, `WARNING`, `CRITICAL`.
    #[error(
        "undefined identifier {0}: only OK, INFO, WARNING and CRITICAL can be used in a lambda"
    )]
    UnknownIdentifier(String),
    /// `*` used as a value.
    #[error("`*` cannot be used in a lambda expression")]
    Star,
}

/// Which operand of a binary operator an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The left operand.
    Left,
    /// The right operand.
    Right,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Left => "left",
            Side::Right => "right",
        })
    }
}

/// Why evaluating a lambda for one point failed. Kapacitor logs these and treats the
/// point as not matching (where: dropped; alert: level not reached).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A missing reference used as an operand: `left reference value "x" is missing value`.
    #[error("{side} reference value \"{name}\" is missing value")]
    MissingOperand {
        /// Left or right operand.
        side: Side,
        /// The reference.
        name: Arc<str>,
    },
    /// A missing reference passed to a function (other than `isPresent`).
    #[error("argument {index} of {func}(): reference value \"{name}\" is missing value")]
    MissingArgument {
        /// The function.
        func: &'static str,
        /// 1-based argument position.
        index: usize,
        /// The reference.
        name: Arc<str>,
    },
    /// A missing reference as the operand of a unary operator or as the whole lambda.
    #[error("reference value \"{name}\" is missing value")]
    MissingValue {
        /// The reference.
        name: Arc<str>,
    },
    /// The point has both a field and a tag with the referenced name.
    #[error("cannot have field and tags with same name \"{name}\"")]
    FieldTagConflict {
        /// The ambiguous name.
        name: Arc<str>,
    },
    /// The operand types of a binary operator differ in a way the operator does not allow
    /// (`int + float`, `string < int`...).
    #[error(
        "mismatched type to binary operator. got {left} {op} {right}. see bool(), int(), float(), string(), duration()"
    )]
    MismatchedTypes {
        /// Left operand type.
        left: &'static str,
        /// The operator as written.
        op: &'static str,
        /// Right operand type.
        right: &'static str,
    },
    /// The operator does not apply to this type (`bool < bool`, `float % float`...).
    #[error("invalid binary operator {op} for type {ty}")]
    InvalidOperator {
        /// The operator as written.
        op: &'static str,
        /// The operand type.
        ty: &'static str,
    },
    /// The unary operator does not apply to this type.
    #[error("invalid unary operator {op} for type {ty}")]
    InvalidUnary {
        /// `-` or `!`.
        op: &'static str,
        /// The operand type.
        ty: &'static str,
    },
    /// Integer (or duration) division or remainder by zero. Kapacitor's task panics here;
    /// we report an error for the point instead.
    #[error("integer divide by zero")]
    DivideByZero,
    /// A predicate (where, alert levels, `AND`/`OR` operands, `if` condition) did not
    /// produce a boolean.
    #[error("expression returned unexpected type {ty}, expected boolean")]
    NotBool {
        /// The type returned.
        ty: &'static str,
    },
    /// A builtin function rejected its arguments.
    #[error("{func}(): {message}")]
    Function {
        /// The function.
        func: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A handler-only function (`changed()`, `level()`...) evaluated without an alert
    /// context.
    #[error("{func}() can only be used in alert handler match expressions")]
    NoAlertContext {
        /// The function.
        func: &'static str,
    },
}

impl EvalError {
    /// A [`EvalError::Function`] error.
    pub(crate) fn func(func: &'static str, message: impl Into<String>) -> EvalError {
        EvalError::Function {
            func,
            message: message.into(),
        }
    }
}
