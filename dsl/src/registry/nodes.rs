//! Every node kind: the [`NODES`] table, assembled from one module per node family.
//!
//! Each definition gives the chaining method's parameters, the node's properties (each
//! with an `apply` writing into the typed [`NodeSpec`]), a `build` from the chaining
//! arguments and a `validate` mirroring Kapacitor's `validate()`.

use super::{NodeDef, Params, PropDef};
use crate::expr::{BinaryOp, Expr};
use crate::plan::{Dimension, NodeSpec};
use crate::value::Value;

/// `params!([required...] [optional...] variadic?)`, each parameter written
/// `"name" Kind`.
macro_rules! params {
    ([$($n:literal $k:ident),*] [$($on:literal $ok:ident),*] $($vn:literal $vk:ident)?) => {
        Params {
            required: &[$(Param { name: $n, kind: ArgKind::$k }),*],
            optional: &[$(Param { name: $on, kind: ArgKind::$ok }),*],
            variadic: params!(@var $($vn $vk)?),
        }
    };
    (@var) => { None };
    (@var $vn:literal $vk:ident) => { Some(Param { name: $vn, kind: ArgKind::$vk }) };
}

/// A property of the node variant `$V`: `prop!("name", "doc", params, V, |spec, args| {...})`.
macro_rules! prop {
    ($name:literal, $doc:literal, $params:expr, $V:ident, |$s:ident, $a:ident| $body:block) => {
        PropDef {
            name: $name,
            doc: $doc,
            params: $params,
            apply: |spec, $a| {
                let _ = &$a;
                let NodeSpec::$V($s) = spec else {
                    return Err(crate::registry::nodes::wrong_node($name, spec));
                };
                $body
                Ok(())
            },
            opens: None,
        }
    };
}

/// A property taking one string: `str_prop!("name", "doc", V, field)`.
macro_rules! str_prop {
    ($name:literal, $doc:literal, $V:ident, $field:ident) => {
        prop!($name, $doc, params!([$name String] []), $V, |s, a| {
            s.$field = crate::registry::nodes::string(a, 0)?;
        })
    };
}

/// A property taking one duration: `dur_prop!("name", "doc", V, field)`.
macro_rules! dur_prop {
    ($name:literal, $doc:literal, $V:ident, $field:ident) => {
        prop!($name, $doc, params!([$name Duration] []), $V, |s, a| {
            s.$field = crate::registry::nodes::dur(a, 0)?;
        })
    };
}

/// A property taking one int: `int_prop!("name", "doc", V, field)`.
macro_rules! int_prop {
    ($name:literal, $doc:literal, $V:ident, $field:ident) => {
        prop!($name, $doc, params!([$name Int] []), $V, |s, a| {
            s.$field = crate::registry::nodes::int(a, 0)?;
        })
    };
}

/// A flag property without arguments: `flag_prop!("name", "doc", V, field)`.
macro_rules! flag_prop {
    ($name:literal, $doc:literal, $V:ident, $field:ident) => {
        prop!($name, $doc, Params::NONE, $V, |s, a| {
            s.$field = true;
        })
    };
}

/// A property replacing a list of strings: `strs_prop!("name", "doc", "param", V, field)`.
macro_rules! strs_prop {
    ($name:literal, $doc:literal, $p:literal, $V:ident, $field:ident) => {
        prop!($name, $doc, params!([] [] $p String), $V, |s, a| {
            s.$field = crate::registry::nodes::strings(a, 0)?;
        })
    };
}

/// A `(key, value)` property on a string map: `kv_prop!("name", "doc", V, field)`.
macro_rules! kv_prop {
    ($name:literal, $doc:literal, $V:ident, $field:ident) => {
        prop!($name, $doc, params!(["name" String, "value" String] []), $V, |s, a| {
            crate::registry::nodes::set_kv(
                &mut s.$field,
                crate::registry::nodes::string(a, 0)?,
                crate::registry::nodes::string(a, 1)?,
            );
        })
    };
}

mod alert;
mod autoscale;
mod influxql;
mod outputs;
mod sources;
pub use sources::query_schedule_error;
mod transforms;

/// `.quiet()`: accepted by every node.
pub(crate) const QUIET: PropDef = PropDef {
    name: "quiet",
    doc: "Suppress error logging for this node.",
    params: Params::NONE,
    apply: |spec, _| {
        if let Some(q) = spec.quiet_mut() {
            *q = true;
        }
        Ok(())
    },
    opens: None,
};

/// All node kinds: roots first, then chaining methods. `noop` is internal (it has
/// `Wants::Root` so that it cannot be chained and is never suggested) and `@udf` is the
/// placeholder for every `@name()` UDF call.
pub static NODES: &[NodeDef] = &[
    sources::STREAM,
    sources::BATCH,
    sources::FROM,
    sources::QUERY,
    sources::QUERY_FLUX,
    transforms::WHERE,
    transforms::EVAL,
    transforms::GROUP_BY,
    transforms::WINDOW,
    transforms::BARRIER,
    transforms::SAMPLE,
    transforms::SHIFT,
    transforms::DEFAULT,
    transforms::DELETE,
    transforms::FLATTEN,
    transforms::COMBINE,
    transforms::JOIN,
    transforms::UNION,
    transforms::CHANGE_DETECT,
    transforms::STATE_DURATION,
    transforms::STATE_COUNT,
    transforms::DERIVATIVE,
    transforms::SIDELOAD,
    transforms::TRICKLE,
    transforms::LOG,
    transforms::STATS,
    transforms::NOOP,
    transforms::UDF,
    outputs::HTTP_OUT,
    outputs::HTTP_POST,
    outputs::INFLUXDB_OUT,
    outputs::KAPACITOR_LOOPBACK,
    alert::ALERT,
    alert::DEADMAN,
    autoscale::K8S,
    autoscale::SWARM,
    autoscale::EC2,
    influxql::COUNT,
    influxql::DISTINCT,
    influxql::MEAN,
    influxql::MEDIAN,
    influxql::MODE,
    influxql::SPREAD,
    influxql::SUM,
    influxql::FIRST,
    influxql::LAST,
    influxql::MIN,
    influxql::MAX,
    influxql::STDDEV,
    influxql::PERCENTILE,
    influxql::TOP,
    influxql::BOTTOM,
    influxql::ELAPSED,
    influxql::DIFFERENCE,
    influxql::MOVING_AVERAGE,
    influxql::CUMULATIVE_SUM,
    influxql::HOLT_WINTERS,
    influxql::HOLT_WINTERS_WITH_FIT,
];

/// Kapacitor's structural chaining rules, beyond edge types: `stream` only chains
/// `from()`, `batch` only chains `query()`/`queryFlux()`, and those three only follow
/// their root; `stats()` and `deadman()` follow any node (even one without output).
/// Edge types are checked separately ([`NodeDef::accepts`]).
pub fn can_chain(parent: &NodeDef, child: &NodeDef) -> bool {
    if matches!(child.name, "stats" | "deadman") {
        return true;
    }
    match (parent.name, child.name) {
        ("stream", c) => c == "from",
        ("batch", c) => c == "query" || c == "queryFlux",
        (_, "from" | "query" | "queryFlux") => false,
        _ => true,
    }
}

/// Records a UDF option call (`@name().opt(values...)`) on a UDF spec. UDF options are
/// declared by the UDF itself, so the registry cannot list them; the evaluator calls
/// this for any property of an `@udf` node other than `.quiet()`.
pub fn apply_udf_option(spec: &mut NodeSpec, name: &str, args: &[Value]) -> Result<(), String> {
    let NodeSpec::Udf(u) = spec else {
        return Err(format!(
            "`.{name}()` is a UDF option but the node is not a UDF"
        ));
    };
    u.options.push((name.to_string(), args.to_vec()));
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Helpers shared by the node modules. Arguments are type-checked by the evaluator before
// `build`/`apply` run, so the errors below only guard against misuse; they never panic.

pub(crate) fn wrong_node(prop: &str, spec: &NodeSpec) -> String {
    format!(
        "property `.{prop}()` does not apply to a `{}` node",
        spec.kind()
    )
}

/// Always-valid validator.
pub(crate) fn ok(_: &NodeSpec) -> Result<(), String> {
    Ok(())
}

fn arg(a: &[Value], i: usize) -> Result<&Value, String> {
    a.get(i)
        .ok_or_else(|| format!("missing argument {}", i + 1))
}

fn bad(i: usize, want: &str, v: &Value) -> String {
    format!(
        "argument {} must be a {want}, got {}",
        i + 1,
        v.value_type()
    )
}

pub(crate) fn string(a: &[Value], i: usize) -> Result<String, String> {
    let v = arg(a, i)?;
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| bad(i, "string", v))
}

pub(crate) fn int(a: &[Value], i: usize) -> Result<i64, String> {
    let v = arg(a, i)?;
    v.as_int().ok_or_else(|| bad(i, "int", v))
}

pub(crate) fn float(a: &[Value], i: usize) -> Result<f64, String> {
    let v = arg(a, i)?;
    v.as_float().ok_or_else(|| bad(i, "float", v))
}

pub(crate) fn boolean(a: &[Value], i: usize) -> Result<bool, String> {
    let v = arg(a, i)?;
    v.as_bool().ok_or_else(|| bad(i, "bool", v))
}

pub(crate) fn dur(a: &[Value], i: usize) -> Result<i64, String> {
    let v = arg(a, i)?;
    v.as_duration().ok_or_else(|| bad(i, "duration", v))
}

pub(crate) fn lambda(a: &[Value], i: usize) -> Result<Expr, String> {
    let v = arg(a, i)?;
    v.as_lambda().cloned().ok_or_else(|| bad(i, "lambda", v))
}

/// A scalar (int, float, string or bool) argument.
pub(crate) fn scalar(a: &[Value], i: usize) -> Result<Value, String> {
    let v = arg(a, i)?;
    match v {
        Value::Int(_) | Value::Float(_) | Value::String(_) | Value::Bool(_) => Ok(v.clone()),
        _ => Err(bad(i, "int, float, string or bool", v)),
    }
}

/// The arguments from `from` on, with lists spread (as Kapacitor spreads a single list
/// argument into varargs).
fn spread(a: &[Value], from: usize) -> Vec<&Value> {
    let mut out = Vec::new();
    for v in a.iter().skip(from) {
        match v {
            Value::List(items) => out.extend(items.iter()),
            v => out.push(v),
        }
    }
    out
}

pub(crate) fn strings(a: &[Value], from: usize) -> Result<Vec<String>, String> {
    spread(a, from)
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(from + i, "string", v))
        })
        .collect()
}

pub(crate) fn lambdas(a: &[Value], from: usize) -> Result<Vec<Expr>, String> {
    spread(a, from)
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_lambda()
                .cloned()
                .ok_or_else(|| bad(from + i, "lambda", v))
        })
        .collect()
}

pub(crate) fn dimensions(a: &[Value], from: usize) -> Result<Vec<Dimension>, String> {
    spread(a, from)
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(Dimension::Tag(s.clone())),
            Value::Star => Ok(Dimension::Star),
            Value::TimeDimension { every, offset } => Ok(Dimension::Time {
                every: *every,
                offset: *offset,
            }),
            v => Err(bad(from + i, "string, * or time()", v)),
        })
        .collect()
}

/// Number of node arguments (for `join`/`union`).
pub(crate) fn node_args(a: &[Value]) -> usize {
    spread(a, 0)
        .into_iter()
        .filter(|v| matches!(v, Value::Node(_)))
        .count()
}

/// Sets `key` in a Go-map-like list, replacing an existing value in place.
pub(crate) fn set_kv<T>(v: &mut Vec<(String, T)>, key: String, value: T) {
    match v.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => v.push((key, value)),
    }
}

/// `a AND b`.
pub(crate) fn and(a: Expr, b: Expr) -> Expr {
    Expr::Binary(BinaryOp::And, Box::new(a), Box::new(b))
}

/// Kapacitor's `validateDimensions`: no empty names, `*` alone, `exclude` only with `*`.
pub(crate) fn validate_dimensions(dims: &[Dimension], exclude: &[String]) -> Result<(), String> {
    let mut star = false;
    for d in dims {
        match d {
            Dimension::Tag(t) if t.is_empty() => {
                return Err("dimensions must not be empty strings".into());
            }
            Dimension::Star => star = true,
            Dimension::Time { .. } => {
                return Err(
                    "cannot group by time here: time() is only valid in query().groupBy()".into(),
                );
            }
            Dimension::Tag(_) => {}
        }
    }
    if star && dims.len() > 1 {
        return Err("cannot group by both '*' and named dimensions.".into());
    }
    if !star && !exclude.is_empty() {
        return Err("exclude requires '*'".into());
    }
    Ok(())
}
