//! InfluxQL function nodes (`|mean('f')`, `|top(3, 'f')`...): one definition per
//! function, all building an [`InfluxQLSpec`].

use super::{QUIET, dur, float, int, string, strings};
use crate::plan::{InfluxQLFunc as F, InfluxQLSpec, NodeSpec};
use crate::registry::{ArgKind, NodeDef, Param, Params, PropDef, Provides, Special, Wants};
use crate::value::Value;

const PROPS: &[PropDef] = &[
    str_prop!(
        "as",
        "Name of the result field (default: the function name).",
        InfluxQL,
        as_
    ),
    flag_prop!(
        "usePointTimes",
        "Use the time of the selected point instead of the batch time.",
        InfluxQL,
        use_point_times
    ),
    QUIET,
];

fn simple(f: F, a: &[Value]) -> Result<NodeSpec, String> {
    Ok(NodeSpec::InfluxQL(InfluxQLSpec::new(f, &string(a, 0)?)))
}

fn top_bottom(f: F, a: &[Value]) -> Result<NodeSpec, String> {
    let mut s = InfluxQLSpec::new(f, &string(a, 1)?);
    s.n = int(a, 0)?;
    s.fields_and_tags = strings(a, 2)?;
    Ok(NodeSpec::InfluxQL(s))
}

fn holt_winters(f: F, a: &[Value]) -> Result<NodeSpec, String> {
    let mut s = InfluxQLSpec::new(f, &string(a, 0)?);
    s.h = int(a, 1)?;
    s.m = int(a, 2)?;
    s.interval = dur(a, 3)?;
    Ok(NodeSpec::InfluxQL(s))
}

fn validate(spec: &NodeSpec) -> Result<(), String> {
    let NodeSpec::InfluxQL(s) = spec else {
        return Ok(());
    };
    let name = s.func.name();
    match s.func {
        F::Top | F::Bottom if s.n < 1 => Err(format!("{name} n must be at least 1, got {}", s.n)),
        F::MovingAverage if s.window < 1 => Err(format!(
            "movingAverage window must be greater than zero, got {}",
            s.window
        )),
        F::Elapsed if s.unit <= 0 => Err("elapsed unit must be greater than zero".into()),
        F::HoltWinters | F::HoltWintersWithFit if s.h < 1 => {
            Err(format!("{name} h must be greater than zero, got {}", s.h))
        }
        F::HoltWinters | F::HoltWintersWithFit if s.m < 0 => {
            Err(format!("{name} m must not be negative, got {}", s.m))
        }
        F::HoltWinters | F::HoltWintersWithFit if s.interval < 0 => {
            Err(format!("{name} interval must not be negative"))
        }
        _ => Ok(()),
    }
}

/// `def!(NAME, "name", "doc", provides, params, build)`.
macro_rules! def {
    ($c:ident, $name:literal, $doc:literal, $prov:ident, $params:expr, $build:expr) => {
        pub(super) const $c: NodeDef = NodeDef {
            name: $name,
            desc: $name,
            doc: $doc,
            wants: Wants::Any,
            provides: Provides::$prov,
            params: $params,
            props: PROPS,
            build: $build,
            validate,
            special: Special::None,
        };
    };
}

const FIELD: Params = params!(["field" String] []);

def!(
    COUNT,
    "count",
    "Number of points (int).",
    Stream,
    FIELD,
    |a| simple(F::Count, a)
);
def!(
    DISTINCT,
    "distinct",
    "Batch of the distinct values, sorted.",
    Batch,
    FIELD,
    |a| simple(F::Distinct, a)
);
def!(
    MEAN,
    "mean",
    "Arithmetic mean (float).",
    Stream,
    FIELD,
    |a| simple(F::Mean, a)
);
def!(
    MEDIAN,
    "median",
    "Median value (float).",
    Stream,
    FIELD,
    |a| simple(F::Median, a)
);
def!(
    MODE,
    "mode",
    "Most frequent value (smallest on ties).",
    Stream,
    FIELD,
    |a| simple(F::Mode, a)
);
def!(
    SPREAD,
    "spread",
    "Difference between the largest and smallest values.",
    Stream,
    FIELD,
    |a| { simple(F::Spread, a) }
);
def!(SUM, "sum", "Sum of the values.", Stream, FIELD, |a| simple(
    F::Sum,
    a
));
def!(
    FIRST,
    "first",
    "Selects the earliest point.",
    Stream,
    FIELD,
    |a| simple(F::First, a)
);
def!(
    LAST,
    "last",
    "Selects the latest point.",
    Stream,
    FIELD,
    |a| simple(F::Last, a)
);
def!(
    MIN,
    "min",
    "Selects the point with the smallest value.",
    Stream,
    FIELD,
    |a| simple(F::Min, a)
);
def!(
    MAX,
    "max",
    "Selects the point with the largest value.",
    Stream,
    FIELD,
    |a| simple(F::Max, a)
);
def!(
    STDDEV,
    "stddev",
    "Sample standard deviation (float).",
    Stream,
    FIELD,
    |a| simple(F::Stddev, a)
);
def!(
    PERCENTILE,
    "percentile",
    "Selects the point at the p-th percentile (nearest rank, no interpolation).",
    Stream,
    params!(["field" String, "p" Float] []),
    |a| {
        let mut s = InfluxQLSpec::new(F::Percentile, &string(a, 0)?);
        s.p = float(a, 1)?;
        Ok(NodeSpec::InfluxQL(s))
    }
);
def!(
    TOP,
    "top",
    "Batch of the n points with the largest values, optionally distinct per extra fields/tags.",
    Batch,
    params!(["n" Int, "field" String] [] "fieldOrTag" String),
    |a| top_bottom(F::Top, a)
);
def!(
    BOTTOM,
    "bottom",
    "Batch of the n points with the smallest values, optionally distinct per extra fields/tags.",
    Batch,
    params!(["n" Int, "field" String] [] "fieldOrTag" String),
    |a| top_bottom(F::Bottom, a)
);
def!(
    ELAPSED,
    "elapsed",
    "Time elapsed between consecutive points, in units (int).",
    Same,
    params!(["field" String, "unit" Duration] []),
    |a| {
        let mut s = InfluxQLSpec::new(F::Elapsed, &string(a, 0)?);
        s.unit = dur(a, 1)?;
        Ok(NodeSpec::InfluxQL(s))
    }
);
def!(
    DIFFERENCE,
    "difference",
    "Difference between consecutive values.",
    Same,
    FIELD,
    |a| simple(F::Difference, a)
);
def!(
    MOVING_AVERAGE,
    "movingAverage",
    "Mean of the last `window` values (emits once the window is full).",
    Same,
    params!(["field" String, "window" Int] []),
    |a| {
        let mut s = InfluxQLSpec::new(F::MovingAverage, &string(a, 0)?);
        s.window = int(a, 1)?;
        Ok(NodeSpec::InfluxQL(s))
    }
);
def!(
    CUMULATIVE_SUM,
    "cumulativeSum",
    "Running sum of the values.",
    Same,
    FIELD,
    |a| simple(F::CumulativeSum, a)
);
def!(
    HOLT_WINTERS,
    "holtWinters",
    "Holt-Winters forecast of h points with seasonality m, spaced by interval.",
    Batch,
    params!(["field" String, "h" Int, "m" Int, "interval" Duration] []),
    |a| holt_winters(F::HoltWinters, a)
);
def!(
    HOLT_WINTERS_WITH_FIT,
    "holtWintersWithFit",
    "Holt-Winters forecast, preceded by the fitted values of the input points.",
    Batch,
    params!(["field" String, "h" Int, "m" Int, "interval" Duration] []),
    |a| holt_winters(F::HoltWintersWithFit, a)
);
