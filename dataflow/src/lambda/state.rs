//! State of the stateful functions `sigma`, `count`, `spread` and `rand`.

use super::error::EvalError;
use super::value::Value;
use std::sync::atomic::{AtomicU64, Ordering};

/// A stateful builtin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatefulFn {
    Sigma,
    Count,
    Spread,
    Rand,
}

impl StatefulFn {
    pub(crate) fn from_name(name: &str) -> Option<StatefulFn> {
        Some(match name {
            "sigma" => StatefulFn::Sigma,
            "count" => StatefulFn::Count,
            "spread" => StatefulFn::Spread,
            "rand" => StatefulFn::Rand,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            StatefulFn::Sigma => "sigma",
            StatefulFn::Count => "count",
            StatefulFn::Spread => "spread",
            StatefulFn::Rand => "rand",
        }
    }
}

/// The state of one stateful function of one lambda instance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Slot {
    /// Welford's running mean and sum of squared differences.
    Sigma { n: i64, mean: f64, m2: f64 },
    /// Calls so far.
    Count(i64),
    /// Smallest and largest value so far.
    Spread { min: f64, max: f64 },
    /// splitmix64 state.
    Rand(u64),
}

/// The per-instance state of a [`CompiledLambda`](super::CompiledLambda)'s stateful
/// functions. Create it with [`CompiledLambda::new_state`](super::CompiledLambda::new_state);
/// the engine keeps one per group where Kapacitor creates one expression instance per
/// group (where, eval, combine, stateDuration/stateCount), and a single one for from and
/// alert expressions. A lambda without stateful functions has an empty state, which costs
/// nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LambdaState {
    pub(crate) slots: Vec<Slot>,
}

impl LambdaState {
    pub(crate) fn new(kinds: &[StatefulFn], rand_seed: u64) -> LambdaState {
        let slots = kinds
            .iter()
            .map(|k| match k {
                StatefulFn::Sigma => Slot::Sigma {
                    n: 0,
                    mean: 0.0,
                    m2: 0.0,
                },
                StatefulFn::Count => Slot::Count(0),
                StatefulFn::Spread => Slot::Spread {
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                },
                StatefulFn::Rand => Slot::Rand(rand_seed),
            })
            .collect();
        LambdaState { slots }
    }
}

/// A seed for a new state when none is configured: the clock mixed with a process-wide
/// counter, so states created at the same instant still differ.
pub(crate) fn fresh_seed(now_ns: i64) -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut s = (now_ns as u64) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    splitmix64(&mut s)
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Slot {
    /// Calls the stateful function owning this slot with already-evaluated arguments.
    pub(crate) fn call(&mut self, f: StatefulFn, args: &[Value]) -> Result<Value, EvalError> {
        let name = f.name();
        match (self, args) {
            (Slot::Sigma { n, mean, m2 }, [Value::Float(x)]) => {
                let x = *x;
                *n += 1;
                let delta = x - *mean;
                *mean += delta / *n as f64;
                *m2 += delta * (x - *mean);
                if *n < 2 {
                    return Ok(Value::Float(0.0));
                }
                let variance = *m2 / (*n - 1) as f64;
                if variance == 0.0 {
                    return Ok(Value::Float(0.0));
                }
                Ok(Value::Float((x - *mean).abs() / variance.sqrt()))
            }
            (Slot::Count(c), []) => {
                *c = c.wrapping_add(1);
                Ok(Value::Int(*c))
            }
            (Slot::Spread { min, max }, [Value::Float(x)]) => {
                if *x < *min {
                    *min = *x;
                }
                if *x > *max {
                    *max = *x;
                }
                Ok(Value::Float(*max - *min))
            }
            (Slot::Rand(s), []) => Ok(Value::Int((splitmix64(s) >> 1) as i64)),
            (Slot::Rand(s), [Value::Int(bound)]) => {
                let bound = *bound;
                if bound <= 0 {
                    return Err(EvalError::func(
                        name,
                        format!("invalid argument {bound}, must be positive"),
                    ));
                }
                // Rejection sampling over 63-bit values for an unbiased result.
                let bound = bound as u64;
                let limit = (1u64 << 63) - ((1u64 << 63) % bound);
                loop {
                    let v = splitmix64(s) >> 1;
                    if v < limit {
                        return Ok(Value::Int((v % bound) as i64));
                    }
                }
            }
            (_, args) => Err(super::functions::bad_args(name, args)),
        }
    }
}
