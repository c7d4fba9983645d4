//! The runtime lambda evaluator: Kapacitor's `tick/stateful` package.
//!
//! A lambda ([`kap_dsl::expr::Expr`]) is compiled **once** per task into a
//! [`CompiledLambda`]: a tree of evaluation nodes with builtins resolved to function
//! pointers, regex literals compiled, and constant sub-expressions folded. Evaluating it
//! for a point walks that tree against a [`Scope`] (the point's fields, tags and time) and
//! a [`LambdaState`] (the state of the stateful functions `sigma`, `count`, `spread` and
//! `rand`; the engine keeps one per group where Kapacitor does).
//!
//! The rules are Kapacitor 1.8's (`kapacitor-semantics.md` §11):
//!
//! * arithmetic only on equal types (`int + float` is an error; Go's truncating integer
//!   division; `%` on ints only), durations scale by ints and floats;
//! * comparisons allow mixed int/float; strings compare byte-wise; bools only `==`/`!=`;
//! * `AND`/`OR` short-circuit: the right side is not evaluated at all, so its stateful
//!   functions are not called and its missing references are not errors;
//! * a missing reference used by an operator or a function is an error naming the
//!   reference (`left reference value "x" is missing value`), except in `isPresent("x")`;
//! * integer division by zero is an error (Kapacitor panics).
//!
//! Deliberate choices where Kapacitor is ambiguous or crashes are listed on the items they
//! concern: [`CompiledLambda`] (state sharing, `if()`), [`Scope`] (`"time"`),
//! [`CompileOptions`] (time zone, clock, `rand()` seeding).

mod compile;
mod error;
mod functions;
mod ops;
mod scope;
mod state;
mod value;

#[cfg(test)]
mod tests;

pub use compile::CompiledLambda;
pub use error::{CompileError, EvalError, Side};
pub use functions::{format_influxql_duration, human_bytes, parse_influxql_duration};
pub use scope::{AlertContext, Lookup, MapScope, Scope};
pub use state::LambdaState;
pub use value::Value;

use std::fmt;
use std::sync::Arc;

/// Kapacitor's alert levels as the ints `level()` returns and the identifiers `OK`, `INFO`,
/// `WARNING`, `CRITICAL` stand for in handler `match` expressions.
pub mod levels {
    /// `OK`
    pub const OK: i64 = 0;
    /// `INFO`
    pub const INFO: i64 = 1;
    /// `WARNING`
    pub const WARNING: i64 = 2;
    /// `CRITICAL`
    pub const CRITICAL: i64 = 3;

    /// The level an identifier stands for.
    pub fn from_ident(name: &str) -> Option<i64> {
        Some(match name {
            "OK" => OK,
            "INFO" => INFO,
            "WARNING" => WARNING,
            "CRITICAL" => CRITICAL,
            _ => return None,
        })
    }
}

/// The wall clock `now()` reads.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time in nanoseconds since the Unix epoch.
    fn now_ns(&self) -> i64;
}

/// The system wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> i64 {
        use std::time::{SystemTime, UNIX_EPOCH};
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
        }
    }
}

/// A clock stopped at a fixed time (tests, replays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_ns(&self) -> i64 {
        self.0
    }
}

/// The time zone the time functions (`minute()`, `hour()`, `weekday()`, `day()`,
/// `month()`, `year()`) read times in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeZone {
    /// The server's local zone (`TZ`, else `/etc/localtime`), as Kapacitor does
    /// (`time.Local`).
    #[default]
    Local,
    /// UTC.
    Utc,
    /// A fixed offset east of UTC, in seconds (out-of-range offsets mean UTC).
    FixedOffset(i32),
}

/// How lambdas are compiled: the environment they read besides the point.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Zone of the time functions; default [`TimeZone::Local`].
    pub time_zone: TimeZone,
    /// The clock `now()` reads; default [`SystemClock`].
    pub clock: Arc<dyn Clock>,
    /// Seed of `rand()`. `None` (the default) seeds every [`LambdaState`] differently,
    /// from the clock and a process-wide counter; `Some(seed)` gives every state the same
    /// reproducible sequence.
    pub rand_seed: Option<u64>,
}

impl Default for CompileOptions {
    fn default() -> CompileOptions {
        CompileOptions {
            time_zone: TimeZone::Local,
            clock: Arc::new(SystemClock),
            rand_seed: None,
        }
    }
}
