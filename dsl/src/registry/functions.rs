//! The lambda builtin functions (Kapacitor's `tick/stateful/functions.go`): names,
//! overloaded signatures, result types, and whether they are stateful or only valid in
//! alert-handler `match` expressions.
//!
//! The checker uses this table for "unknown lambda function" (with did-you-mean),
//! argument counts and static argument types. Kapacitor is strict: math functions take
//! floats only (`sqrt(1)` is an error, `sqrt(1.0)` is not).

use crate::lambda::{CallError, StaticType};
use std::fmt::Write as _;

/// A type in a function signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FuncType {
    /// Boolean.
    Bool,
    /// 64-bit integer.
    Int,
    /// 64-bit float.
    Float,
    /// String.
    String,
    /// Duration.
    Duration,
    /// Regex.
    Regex,
    /// Time (`"time"`, `now()`).
    Time,
    /// Any type (e.g. `isPresent("ref")`).
    Any,
    /// A type variable: every `Same` parameter of a signature has the same type, and a
    /// `Same` result is that type (`if(cond, a, b)`).
    Same,
}

impl FuncType {
    /// Name used in docs and messages.
    pub fn name(self) -> &'static str {
        match self {
            FuncType::Bool => "bool",
            FuncType::Int => "int",
            FuncType::Float => "float",
            FuncType::String => "string",
            FuncType::Duration => "duration",
            FuncType::Regex => "regex",
            FuncType::Time => "time",
            FuncType::Any => "any",
            FuncType::Same => "T",
        }
    }

    /// Whether an argument of known type `t` fits this parameter type (ignoring the
    /// consistency of `Same`).
    fn accepts(self, t: FuncType) -> bool {
        matches!(self, FuncType::Any | FuncType::Same) || self == t
    }
}

/// One signature of a (possibly overloaded) function.
#[derive(Debug, Clone, Copy)]
pub struct FuncSig {
    /// Parameter types, in order.
    pub params: &'static [FuncType],
    /// Result type.
    pub returns: FuncType,
}

impl FuncSig {
    /// `(float, float) float`.
    pub fn text(&self) -> String {
        let ps: Vec<&str> = self.params.iter().map(|p| p.name()).collect();
        format!("({}) {}", ps.join(", "), self.returns.name())
    }
}

/// A lambda builtin function.
#[derive(Debug, Clone, Copy)]
pub struct FuncDef {
    /// Name as called in lambdas.
    pub name: &'static str,
    /// Accepted signatures (more than one when overloaded, e.g. `int(x)`).
    pub sigs: &'static [FuncSig],
    /// Keeps state across points (per group): `sigma`, `count`, `spread`, `rand`.
    pub stateful: bool,
    /// Only valid in alert-handler `match` expressions (`changed()`, `level()`...).
    pub handler_only: bool,
    /// One-line description.
    pub doc: &'static str,
}

/// Why a call does not type-check (see [`FuncDef::check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallCheckError {
    /// No signature takes this many arguments (message).
    ArgCount(String),
    /// Argument `i` (0-based) has a type no signature accepts (message).
    ArgType(usize, String),
}

impl FuncDef {
    /// The result type when it does not depend on the arguments (`None` for `if()`).
    pub fn returns(&self) -> Option<FuncType> {
        let first = self.sigs.first()?.returns;
        (first != FuncType::Same && self.sigs.iter().all(|s| s.returns == first)).then_some(first)
    }

    /// Minimum number of arguments.
    pub fn min_args(&self) -> usize {
        self.sigs.iter().map(|s| s.params.len()).min().unwrap_or(0)
    }

    /// Maximum number of arguments.
    pub fn max_args(&self) -> usize {
        self.sigs.iter().map(|s| s.params.len()).max().unwrap_or(0)
    }

    /// Signatures as text, e.g. `int(bool) int | int(float) int`.
    pub fn signature(&self) -> String {
        let parts: Vec<String> = self
            .sigs
            .iter()
            .map(|s| format!("{}{}", self.name, s.text()))
            .collect();
        parts.join(" | ")
    }

    /// Checks a call with the given argument types (`None` = not known statically) and
    /// returns the result type (`None` = not known statically).
    pub fn check(&self, args: &[Option<FuncType>]) -> Result<Option<FuncType>, CallCheckError> {
        let arity: Vec<&FuncSig> = self
            .sigs
            .iter()
            .filter(|s| s.params.len() == args.len())
            .collect();
        if arity.is_empty() {
            return Err(CallCheckError::ArgCount(self.count_message(args.len())));
        }
        let fits = |s: &FuncSig| -> Option<Option<FuncType>> {
            let mut same: Option<FuncType> = None;
            for (p, a) in s.params.iter().zip(args) {
                let Some(t) = a else { continue };
                if !p.accepts(*t) {
                    return None;
                }
                if *p == FuncType::Same {
                    match same {
                        Some(prev) if prev != *t => return None,
                        _ => same = Some(*t),
                    }
                }
            }
            Some(if s.returns == FuncType::Same {
                same
            } else {
                Some(s.returns)
            })
        };
        let results: Vec<Option<FuncType>> = arity.iter().filter_map(|s| fits(s)).collect();
        if let Some(first) = results.first() {
            return Ok(if results.iter().all(|r| r == first) {
                *first
            } else {
                None
            });
        }
        // Blame the first argument that no signature of this arity accepts, else the
        // first known argument (a `Same` mismatch).
        let n = self.name;
        for (i, a) in args.iter().enumerate() {
            let Some(t) = a else { continue };
            if !arity.iter().any(|s| s.params[i].accepts(*t)) {
                let mut want: Vec<&str> = Vec::new();
                for s in &arity {
                    let w = s.params[i].name();
                    if !want.contains(&w) {
                        want.push(w);
                    }
                }
                return Err(CallCheckError::ArgType(
                    i,
                    format!(
                        "argument {} of `{n}()` must be {}, got {}",
                        i + 1,
                        or_list(&want),
                        t.name()
                    ),
                ));
            }
        }
        let i = args.iter().rposition(Option::is_some).unwrap_or(0);
        Err(CallCheckError::ArgType(
            i,
            format!(
                "the arguments of `{n}()` must have the same type, see {}",
                self.signature()
            ),
        ))
    }

    fn count_message(&self, got: usize) -> String {
        let mut counts: Vec<usize> = self.sigs.iter().map(|s| s.params.len()).collect();
        counts.sort_unstable();
        counts.dedup();
        let words: Vec<String> = counts.iter().map(usize::to_string).collect();
        let plural = if counts == [1] {
            "argument"
        } else {
            "arguments"
        };
        format!(
            "`{}()` takes {} {plural}, got {got}",
            self.name,
            or_list(&words)
        )
    }
}

fn or_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [a] => a.as_ref().to_string(),
        [rest @ .., last] => {
            let head: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} or {}", head.join(", "), last.as_ref())
        }
    }
}

use FuncType::{Any, Bool, Duration as Dur, Float, Int, Regex, Same, String as Str, Time};

const fn sig(params: &'static [FuncType], returns: FuncType) -> FuncSig {
    FuncSig { params, returns }
}

const F_F: &[FuncSig] = &[sig(&[Float], Float)];
const FF_F: &[FuncSig] = &[sig(&[Float, Float], Float)];
const IF_F: &[FuncSig] = &[sig(&[Int, Float], Float)];
const S_S: &[FuncSig] = &[sig(&[Str], Str)];
const SS_S: &[FuncSig] = &[sig(&[Str, Str], Str)];
const SS_B: &[FuncSig] = &[sig(&[Str, Str], Bool)];
const SS_I: &[FuncSig] = &[sig(&[Str, Str], Int)];
const T_I: &[FuncSig] = &[sig(&[Time], Int)];

/// `def(name, sigs, doc)` for an ordinary function.
const fn def(name: &'static str, sigs: &'static [FuncSig], doc: &'static str) -> FuncDef {
    FuncDef {
        name,
        sigs,
        stateful: false,
        handler_only: false,
        doc,
    }
}

const fn stateful(name: &'static str, sigs: &'static [FuncSig], doc: &'static str) -> FuncDef {
    FuncDef {
        name,
        sigs,
        stateful: true,
        handler_only: false,
        doc,
    }
}

const fn handler(name: &'static str, sigs: &'static [FuncSig], doc: &'static str) -> FuncDef {
    FuncDef {
        name,
        sigs,
        stateful: false,
        handler_only: true,
        doc,
    }
}

/// Every lambda builtin, grouped as in Kapacitor's docs.
pub static FUNCTIONS: &[FuncDef] = &[
    // Conversion
    def(
        "bool",
        &[
            sig(&[Bool], Bool),
            sig(&[Int], Bool),
            sig(&[Float], Bool),
            sig(&[Str], Bool),
        ],
        "Converts to bool: strings as Go's ParseBool, numbers 0 and 1.",
    ),
    def(
        "int",
        &[
            sig(&[Bool], Int),
            sig(&[Int], Int),
            sig(&[Float], Int),
            sig(&[Str], Int),
            sig(&[Dur], Int),
        ],
        "Converts to int: floats are truncated, strings parsed, durations in ns.",
    ),
    def(
        "float",
        &[
            sig(&[Bool], Float),
            sig(&[Int], Float),
            sig(&[Float], Float),
            sig(&[Str], Float),
        ],
        "Converts to float.",
    ),
    def(
        "string",
        &[
            sig(&[Bool], Str),
            sig(&[Int], Str),
            sig(&[Float], Str),
            sig(&[Str], Str),
            sig(&[Dur], Str),
        ],
        "Converts to string.",
    ),
    def(
        "duration",
        &[
            sig(&[Dur], Dur),
            sig(&[Str], Dur),
            sig(&[Int, Dur], Dur),
            sig(&[Float, Dur], Dur),
        ],
        "Converts to a duration: `duration('5m')`, or a number times a unit `duration(5, 1m)`.",
    ),
    // Existence / control
    def(
        "isPresent",
        &[sig(&[Any], Bool)],
        "Whether the referenced field or tag is present.",
    ),
    def(
        "if",
        &[sig(&[Bool, Same, Same], Same)],
        "`if(cond, a, b)`: a when cond is true, else b (a and b of the same type).",
    ),
    // Math (float only, mirrors Go's math package)
    def("abs", F_F, "Absolute value."),
    def("acos", F_F, "Arccosine, in radians."),
    def("acosh", F_F, "Inverse hyperbolic cosine."),
    def("asin", F_F, "Arcsine, in radians."),
    def("asinh", F_F, "Inverse hyperbolic sine."),
    def("atan", F_F, "Arctangent, in radians."),
    def(
        "atan2",
        FF_F,
        "Arctangent of y/x, using the signs of both to pick the quadrant.",
    ),
    def("atanh", F_F, "Inverse hyperbolic tangent."),
    def("cbrt", F_F, "Cube root."),
    def(
        "ceil",
        F_F,
        "Least integer value greater than or equal to x.",
    ),
    def("cos", F_F, "Cosine of radians."),
    def("cosh", F_F, "Hyperbolic cosine."),
    def("erf", F_F, "Error function."),
    def("erfc", F_F, "Complementary error function."),
    def("exp", F_F, "e**x."),
    def("exp2", F_F, "2**x."),
    def("expm1", F_F, "e**x - 1, accurate near zero."),
    def(
        "floor",
        F_F,
        "Greatest integer value less than or equal to x.",
    ),
    def("gamma", F_F, "Gamma function."),
    def("hypot", FF_F, "Sqrt(p*p + q*q)."),
    def("j0", F_F, "Order-zero Bessel function of the first kind."),
    def("j1", F_F, "Order-one Bessel function of the first kind."),
    def("jn", IF_F, "Order-n Bessel function of the first kind."),
    def("log", F_F, "Natural logarithm."),
    def("log10", F_F, "Decimal logarithm."),
    def(
        "log1p",
        F_F,
        "Natural logarithm of 1 + x, accurate near zero.",
    ),
    def("log2", F_F, "Binary logarithm."),
    def("logb", F_F, "Binary exponent of x."),
    def("max", FF_F, "Larger of x and y."),
    def("min", FF_F, "Smaller of x and y."),
    def("mod", FF_F, "Floating-point remainder of x/y."),
    def("pow", FF_F, "x**y."),
    def("pow10", &[sig(&[Int], Float)], "10**n."),
    def("sin", F_F, "Sine of radians."),
    def("sinh", F_F, "Hyperbolic sine."),
    def("sqrt", F_F, "Square root."),
    def("tan", F_F, "Tangent of radians."),
    def("tanh", F_F, "Hyperbolic tangent."),
    def("trunc", F_F, "Integer value of x (toward zero)."),
    def("y0", F_F, "Order-zero Bessel function of the second kind."),
    def("y1", F_F, "Order-one Bessel function of the second kind."),
    def("yn", IF_F, "Order-n Bessel function of the second kind."),
    // Strings
    def("strContains", SS_B, "Whether s contains substr."),
    def(
        "strContainsAny",
        SS_B,
        "Whether s contains any of the characters.",
    ),
    def(
        "strCount",
        SS_I,
        "Number of non-overlapping occurrences of substr in s.",
    ),
    def("strHasPrefix", SS_B, "Whether s starts with prefix."),
    def("strHasSuffix", SS_B, "Whether s ends with suffix."),
    def(
        "strIndex",
        SS_I,
        "Index of the first occurrence of substr in s, or -1.",
    ),
    def(
        "strIndexAny",
        SS_I,
        "Index of the first of the characters in s, or -1.",
    ),
    def(
        "strLastIndex",
        SS_I,
        "Index of the last occurrence of substr in s, or -1.",
    ),
    def(
        "strLastIndexAny",
        SS_I,
        "Index of the last of the characters in s, or -1.",
    ),
    def("strLength", &[sig(&[Str], Int)], "Length of s in bytes."),
    def(
        "strReplace",
        &[sig(&[Str, Str, Str, Int], Str)],
        "`strReplace(s, old, new, n)`: replaces the first n occurrences (n < 0: all).",
    ),
    def(
        "strSubstring",
        &[sig(&[Str, Int, Int], Str)],
        "`strSubstring(s, start, stop)`: bytes start to stop (stop must be within s).",
    ),
    def("strToLower", S_S, "Lower-cased s."),
    def("strToUpper", S_S, "Upper-cased s."),
    def(
        "strTrim",
        SS_S,
        "s without leading and trailing characters of the cutset.",
    ),
    def(
        "strTrimLeft",
        SS_S,
        "s without leading characters of the cutset.",
    ),
    def("strTrimPrefix", SS_S, "s without the prefix."),
    def(
        "strTrimRight",
        SS_S,
        "s without trailing characters of the cutset.",
    ),
    def(
        "strTrimSpace",
        S_S,
        "s without leading and trailing white space.",
    ),
    def("strTrimSuffix", SS_S, "s without the suffix."),
    def(
        "regexReplace",
        &[sig(&[Regex, Str, Str], Str)],
        "`regexReplace(regex, s, replacement)`: replaces matches, expanding `$1` groups.",
    ),
    // Time
    def("unixNano", T_I, "Nanoseconds since the Unix epoch."),
    def("minute", T_I, "Minute of the hour, 0-59."),
    def("hour", T_I, "Hour of the day, 0-23."),
    def("weekday", T_I, "Day of the week, 0-6 (Sunday = 0)."),
    def("day", T_I, "Day of the month, 1-31."),
    def("month", T_I, "Month of the year, 1-12."),
    def("year", T_I, "Year."),
    def("now", &[sig(&[], Time)], "The current wall-clock time."),
    // Formatting
    def(
        "humanBytes",
        &[sig(&[Int], Str), sig(&[Float], Str)],
        "A byte count in human units, e.g. `1.2 MB`.",
    ),
    // Stateful
    stateful(
        "sigma",
        &[sig(&[Float], Float)],
        "Number of standard deviations x is from the running mean (per group).",
    ),
    stateful(
        "count",
        &[sig(&[], Int)],
        "Running count of calls: 1, 2, 3... (per group).",
    ),
    stateful(
        "spread",
        &[sig(&[Float], Float)],
        "Running max - min of x (per group).",
    ),
    stateful(
        "rand",
        &[sig(&[], Int), sig(&[Int], Int)],
        "A random int (below n when given).",
    ),
    // Alert handler `match` only
    handler(
        "changed",
        &[sig(&[], Bool)],
        "Whether the alert level changed with this event.",
    ),
    handler(
        "level",
        &[sig(&[], Int)],
        "The event level, to compare with OK, INFO, WARNING or CRITICAL.",
    ),
    handler(
        "name",
        &[sig(&[], Str)],
        "The measurement name of the event.",
    ),
    handler(
        "taskName",
        &[sig(&[], Str)],
        "The name of the task that sent the event.",
    ),
    handler(
        "alertDuration",
        &[sig(&[], Dur)],
        "How long the alert has been in a non-OK state.",
    ),
];

/// Looks up a lambda builtin by name.
pub fn function(name: &str) -> Option<&'static FuncDef> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// Every lambda builtin name, for suggestions.
pub fn function_names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|f| f.name)
}

/// Markdown table of the lambda functions (part of `render_markdown`).
pub(crate) fn render_markdown(out: &mut String) {
    out.push_str("| Function | Signatures | Notes | Description |\n|---|---|---|---|\n");
    for f in FUNCTIONS {
        let sigs: Vec<String> = f
            .sigs
            .iter()
            .map(|s| format!("`{}{}`", f.name, s.text()))
            .collect();
        let note = match (f.stateful, f.handler_only) {
            (true, _) => "stateful",
            (_, true) => "handler `match` only",
            _ => "",
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {note} | {} |",
            f.name,
            sigs.join("<br>"),
            f.doc.replace('|', "\\|")
        );
    }
}

fn to_func_type(t: StaticType) -> Option<FuncType> {
    Some(match t {
        StaticType::Unknown => return None,
        StaticType::Int => FuncType::Int,
        StaticType::Float => FuncType::Float,
        StaticType::Bool => FuncType::Bool,
        StaticType::String => FuncType::String,
        StaticType::Duration => FuncType::Duration,
        StaticType::Regex => FuncType::Regex,
        StaticType::Time => FuncType::Time,
    })
}

fn to_static_type(t: Option<FuncType>) -> StaticType {
    match t {
        Some(FuncType::Int) => StaticType::Int,
        Some(FuncType::Float) => StaticType::Float,
        Some(FuncType::Bool) => StaticType::Bool,
        Some(FuncType::String) => StaticType::String,
        Some(FuncType::Duration) => StaticType::Duration,
        Some(FuncType::Regex) => StaticType::Regex,
        Some(FuncType::Time) => StaticType::Time,
        Some(FuncType::Any | FuncType::Same) | None => StaticType::Unknown,
    }
}

/// Checks a call of `def` with the checker's static argument types and returns the
/// static result type ([`FuncDef::check`] in the checker's terms).
pub fn check_call(def: &FuncDef, args: &[StaticType]) -> Result<StaticType, CallError> {
    let args: Vec<Option<FuncType>> = args.iter().map(|t| to_func_type(*t)).collect();
    match def.check(&args) {
        Ok(t) => Ok(to_static_type(t)),
        Err(CallCheckError::ArgCount(m)) => Err(CallError::ArgCount(m)),
        Err(CallCheckError::ArgType(i, m)) => Err(CallError::ArgType(i, m)),
    }
}
