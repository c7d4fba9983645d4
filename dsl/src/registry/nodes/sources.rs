//! Sources: `stream`, `batch`, `from`, `query`, `queryFlux`.

use super::{QUIET, dimensions, ok, string, validate_dimensions};
use crate::plan::{Dimension, Fill, FromSpec, NodeSpec, QueryFluxSpec, QuerySpec};
use crate::query::BatchQuery;
use crate::registry::{ArgKind, NodeDef, Param, Params, PropDef, Provides, Special, Wants};
use crate::schedule::CronSchedule;
use crate::value::Value;

pub(super) const STREAM: NodeDef = NodeDef {
    name: "stream",
    desc: "stream",
    doc: "All points written to Kapacitor for the task's databases and retention policies.",
    wants: Wants::Root,
    provides: Provides::Stream,
    params: Params::NONE,
    props: &[QUIET],
    build: |_| Ok(NodeSpec::Stream),
    validate: ok,
    special: Special::None,
};

pub(super) const BATCH: NodeDef = NodeDef {
    name: "batch",
    desc: "batch",
    doc: "Container for the scheduled queries of a batch task.",
    wants: Wants::Root,
    provides: Provides::Batch,
    params: Params::NONE,
    props: &[QUIET],
    build: |_| Ok(NodeSpec::Batch),
    validate: ok,
    special: Special::None,
};

pub(super) const FROM: NodeDef = NodeDef {
    name: "from",
    desc: "from",
    doc: "Selects a subset of the stream (database, retention policy, measurement, where) \
          and sets its grouping.",
    wants: Wants::Stream,
    provides: Provides::Stream,
    params: Params::NONE,
    props: &[
        str_prop!(
            "database",
            "Only points of this database (empty = any).",
            From,
            database
        ),
        str_prop!(
            "retentionPolicy",
            "Only points of this retention policy (empty = any).",
            From,
            retention_policy
        ),
        str_prop!(
            "measurement",
            "Only points of this measurement (empty = any).",
            From,
            measurement
        ),
        prop!(
            "where",
            "Only points for which the lambda is true; repeated calls are ANDed.",
            params!(["lambda" Lambda] []),
            From,
            |s, a| {
                let e = super::lambda(a, 0)?;
                s.where_ = Some(match s.where_.take() {
                    Some(prev) => super::and(prev, e),
                    None => e,
                });
            }
        ),
        prop!(
            "groupBy",
            "Group by these tags, or `*` for all tags.",
            params!([] [] "tag" StringOrStar),
            From,
            |s, a| {
                s.dimensions = dimensions(a, 0)?;
            }
        ),
        flag_prop!(
            "groupByMeasurement",
            "Include the measurement in the group.",
            From,
            group_by_measurement
        ),
        dur_prop!(
            "truncate",
            "Truncate point times to a multiple of this duration.",
            From,
            truncate
        ),
        dur_prop!(
            "round",
            "Round point times to a multiple of this duration.",
            From,
            round
        ),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::From(FromSpec::default())),
    validate: |spec| match spec {
        NodeSpec::From(s) => validate_dimensions(&s.dimensions, &[]),
        _ => Ok(()),
    },
    special: Special::None,
};

/// Parses a fill argument: `null`, `none`, `previous`/`linear` (queries only) or a number.
pub(super) fn fill(v: Option<&Value>, query: bool) -> Result<Fill, String> {
    match v {
        Some(Value::String(s)) => match s.as_str() {
            "null" => Ok(Fill::Null),
            "none" => Ok(Fill::None),
            "previous" if query => Ok(Fill::Previous),
            "linear" if query => Ok(Fill::Linear),
            _ => Err(format!("unexpected fill option {s}")),
        },
        Some(Value::Int(i)) => Ok(Fill::Int(*i)),
        Some(Value::Float(f)) => Ok(Fill::Float(*f)),
        Some(v) => Err(format!("unexpected fill type {}", v.value_type())),
        None => Err("missing fill argument".into()),
    }
}

/// Why a query node with this schedule cannot run (`None` when it can): exactly one of
/// `every` and `cron` is needed.
pub fn query_schedule_error(every: i64, cron: &str) -> Option<String> {
    if every == 0 && cron.is_empty() {
        return Some("must set one of 'every' or 'cron' properties".into());
    }
    validate_schedule(every, cron).err()
}

fn validate_schedule(every: i64, cron: &str) -> Result<(), String> {
    if every != 0 && !cron.is_empty() {
        return Err("must not set both 'every' and 'cron' properties".into());
    }
    // Neither is accepted at definition (Kapacitor stores such a task; the API corpus'
    // TestServer_DynamicStreamTask defines `batch|query(...)` without a schedule): the
    // scheduler refuses to start it (`query_schedule_error`).
    if every < 0 {
        return Err("every must be positive".into());
    }
    // A cron expression is checked when the script is compiled (empty means none).
    if !cron.is_empty() {
        CronSchedule::parse(cron)?;
    }
    Ok(())
}

pub(super) const QUERY: NodeDef = NodeDef {
    name: "query",
    desc: "query",
    doc: "A scheduled InfluxQL query; the time range and GROUP BY are added by Kapacitor.",
    wants: Wants::Batch,
    provides: Provides::Batch,
    params: params!(["query" String] []),
    props: &[
        dur_prop!("period", "Length of the queried time range.", Query, period),
        dur_prop!("every", "How often to run the query.", Query, every),
        flag_prop!(
            "align",
            "Align run times to multiples of `every`.",
            Query,
            align
        ),
        str_prop!(
            "cron",
            "Run on a cron schedule instead of `every`.",
            Query,
            cron
        ),
        dur_prop!(
            "offset",
            "How far in the past the queried range ends.",
            Query,
            offset
        ),
        flag_prop!(
            "alignGroup",
            "Align the GROUP BY time offset to the start of the range.",
            Query,
            align_group
        ),
        prop!(
            "groupBy",
            "GROUP BY dimensions: `time(d[, offset])`, tags or `*`.",
            params!([] [] "dimension" Dimension),
            Query,
            |s, a| {
                s.dimensions = dimensions(a, 0)?;
            }
        ),
        flag_prop!(
            "groupByMeasurement",
            "Include the measurement in the group.",
            Query,
            group_by_measurement
        ),
        prop!(
            "fill",
            "FILL option: 'null', 'none', 'previous', 'linear' or a number.",
            params!(["value" Scalar] []),
            Query,
            |s, a| {
                s.fill = Some(fill(a.first(), true)?);
            }
        ),
        str_prop!(
            "cluster",
            "The InfluxDB cluster to query (default: the default one).",
            Query,
            cluster
        ),
        QUIET,
    ],
    build: |a| {
        Ok(NodeSpec::Query(QuerySpec {
            query: string(a, 0)?,
            ..QuerySpec::default()
        }))
    },
    validate: |spec| {
        let NodeSpec::Query(s) = spec else {
            return Ok(());
        };
        validate_schedule(s.every, &s.cron)?;
        if s.period < 0 {
            return Err("period must be positive".into());
        }
        let times = s
            .dimensions
            .iter()
            .filter(|d| matches!(d, Dimension::Time { .. }))
            .count();
        if times > 1 {
            return Err("groupBy cannot have more than one time dimension".into());
        }
        for d in &s.dimensions {
            match d {
                Dimension::Tag(t) if t.is_empty() => {
                    return Err("dimensions must not be empty strings".into());
                }
                Dimension::Time { every, .. } if *every <= 0 => {
                    return Err("group by time interval must be positive".into());
                }
                _ => {}
            }
        }
        // Exactly one SELECT, checked once here as Kapacitor does when it creates the task.
        BatchQuery::new(s)?;
        Ok(())
    },
    special: Special::None,
};

pub(super) const QUERY_FLUX: NodeDef = NodeDef {
    name: "queryFlux",
    desc: "query_flux",
    doc: "A scheduled Flux query.",
    wants: Wants::Batch,
    provides: Provides::Batch,
    params: params!(["query" String] []),
    props: &[
        dur_prop!(
            "period",
            "Length of the queried time range.",
            QueryFlux,
            period
        ),
        dur_prop!("every", "How often to run the query.", QueryFlux, every),
        flag_prop!(
            "align",
            "Align run times to multiples of `every`.",
            QueryFlux,
            align
        ),
        str_prop!(
            "cron",
            "Run on a cron schedule instead of `every`.",
            QueryFlux,
            cron
        ),
        dur_prop!(
            "offset",
            "How far in the past the queried range ends.",
            QueryFlux,
            offset
        ),
        str_prop!(
            "cluster",
            "The InfluxDB cluster to query.",
            QueryFlux,
            cluster
        ),
        str_prop!("org", "The InfluxDB organization name.", QueryFlux, org),
        str_prop!("orgID", "The InfluxDB organization id.", QueryFlux, org_id),
        QUIET,
    ],
    build: |a| {
        Ok(NodeSpec::QueryFlux(QueryFluxSpec {
            query: string(a, 0)?,
            ..QueryFluxSpec::default()
        }))
    },
    validate: |spec| {
        let NodeSpec::QueryFlux(s) = spec else {
            return Ok(());
        };
        validate_schedule(s.every, &s.cron)?;
        if s.period < 0 {
            return Err("period must be positive".into());
        }
        Ok(())
    },
    special: Special::None,
};
