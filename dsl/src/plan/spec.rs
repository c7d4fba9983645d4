//! Typed node specs: one [`NodeSpec`] variant per TICKscript node, each holding every
//! property of the node with Kapacitor's defaults.
//!
//! Conventions (they mirror Kapacitor's Go pipeline structs):
//! * durations are `i64` nanoseconds, `0` meaning "not set" unless the field is an
//!   `Option`;
//! * strings default to `""` ("not set") unless Kapacitor has another default;
//! * lambdas are [`Expr`]s, free-typed property values are [`Value`]s;
//! * Go maps become `Vec<(key, value)>` in the order the keys were first set (setting a
//!   key again replaces its value in place), so plans are deterministic;
//! * every spec has `quiet` (`.quiet()`: suppress error logging for the node), except the
//!   roots `stream` and `batch`, which accept `.quiet()` and ignore it.

use crate::expr::Expr;
use crate::value::Value;
use serde::{Deserialize, Serialize};

/// One nanosecond-based second, for defaults.
const SECOND: i64 = 1_000_000_000;

/// What a node does, with every property it was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(
    clippy::large_enum_variant,
    reason = "plans are built once per task; unboxed specs keep pattern matching simple"
)]
pub enum NodeSpec {
    /// `stream`: the root of a stream task.
    Stream,
    /// `batch`: the root of a batch task.
    Batch,
    /// `stream|from()`.
    From(FromSpec),
    /// `batch|query('SELECT ...')`.
    Query(QuerySpec),
    /// `batch|queryFlux('...')`.
    QueryFlux(QueryFluxSpec),
    /// `|where(lambda)`.
    Where(WhereSpec),
    /// `|eval(lambdas...)`.
    Eval(EvalSpec),
    /// `|groupBy(dims...)`.
    GroupBy(GroupBySpec),
    /// `|window()`.
    Window(WindowSpec),
    /// `|barrier()`.
    Barrier(BarrierSpec),
    /// `|sample(n or d)`.
    Sample(SampleSpec),
    /// `|shift(d)`.
    Shift(ShiftSpec),
    /// `|default()`.
    Default(DefaultSpec),
    /// `|delete()`.
    Delete(DeleteSpec),
    /// `|flatten()`.
    Flatten(FlattenSpec),
    /// `|combine(lambdas...)`.
    Combine(CombineSpec),
    /// `|join(nodes...)`.
    Join(JoinSpec),
    /// `|union(nodes...)`.
    Union(UnionSpec),
    /// `|changeDetect(fields...)`.
    ChangeDetect(ChangeDetectSpec),
    /// `|stateDuration(lambda)`.
    StateDuration(StateDurationSpec),
    /// `|stateCount(lambda)`.
    StateCount(StateCountSpec),
    /// `|derivative(field)`.
    Derivative(DerivativeSpec),
    /// `|sideload()`.
    Sideload(SideloadSpec),
    /// `|trickle()`.
    Trickle(TrickleSpec),
    /// `|log()`.
    Log(LogSpec),
    /// `|stats(interval)`: a source fed by another node's statistics.
    Stats(StatsSpec),
    /// The hidden `noop` child Kapacitor appends to a stats source without children.
    NoOp(NoOpSpec),
    /// `|httpOut(endpoint)`.
    HttpOut(HttpOutSpec),
    /// `|httpPost([url])`.
    HttpPost(HttpPostSpec),
    /// `|influxDBOut()`.
    InfluxDbOut(InfluxDbOutSpec),
    /// `|kapacitorLoopback()`.
    KapacitorLoopback(KapacitorLoopbackSpec),
    /// `|alert()` (also what `|deadman()` expands to).
    Alert(AlertSpec),
    /// `|k8sAutoscale()`.
    K8sAutoscale(K8sAutoscaleSpec),
    /// `|swarmAutoscale()`.
    SwarmAutoscale(SwarmAutoscaleSpec),
    /// `|ec2Autoscale()`.
    Ec2Autoscale(Ec2AutoscaleSpec),
    /// Any InfluxQL function node (`|mean('f')`, `|top(3, 'f')`...).
    InfluxQL(InfluxQLSpec),
    /// `@name()`: a user-defined function.
    Udf(UdfSpec),
}

impl NodeSpec {
    /// The registry name of the node kind: the chaining method name (`window`,
    /// `httpOut`, `mean`...), `stream`/`batch` for roots, `noop` for the internal noop
    /// node and `@udf` for UDFs.
    pub fn kind(&self) -> &'static str {
        match self {
            NodeSpec::Stream => "stream",
            NodeSpec::Batch => "batch",
            NodeSpec::From(_) => "from",
            NodeSpec::Query(_) => "query",
            NodeSpec::QueryFlux(_) => "queryFlux",
            NodeSpec::Where(_) => "where",
            NodeSpec::Eval(_) => "eval",
            NodeSpec::GroupBy(_) => "groupBy",
            NodeSpec::Window(_) => "window",
            NodeSpec::Barrier(_) => "barrier",
            NodeSpec::Sample(_) => "sample",
            NodeSpec::Shift(_) => "shift",
            NodeSpec::Default(_) => "default",
            NodeSpec::Delete(_) => "delete",
            NodeSpec::Flatten(_) => "flatten",
            NodeSpec::Combine(_) => "combine",
            NodeSpec::Join(_) => "join",
            NodeSpec::Union(_) => "union",
            NodeSpec::ChangeDetect(_) => "changeDetect",
            NodeSpec::StateDuration(_) => "stateDuration",
            NodeSpec::StateCount(_) => "stateCount",
            NodeSpec::Derivative(_) => "derivative",
            NodeSpec::Sideload(_) => "sideload",
            NodeSpec::Trickle(_) => "trickle",
            NodeSpec::Log(_) => "log",
            NodeSpec::Stats(_) => "stats",
            NodeSpec::NoOp(_) => "noop",
            NodeSpec::HttpOut(_) => "httpOut",
            NodeSpec::HttpPost(_) => "httpPost",
            NodeSpec::InfluxDbOut(_) => "influxDBOut",
            NodeSpec::KapacitorLoopback(_) => "kapacitorLoopback",
            NodeSpec::Alert(_) => "alert",
            NodeSpec::K8sAutoscale(_) => "k8sAutoscale",
            NodeSpec::SwarmAutoscale(_) => "swarmAutoscale",
            NodeSpec::Ec2Autoscale(_) => "ec2Autoscale",
            NodeSpec::InfluxQL(s) => s.func.name(),
            NodeSpec::Udf(_) => "@udf",
        }
    }

    /// Kapacitor's node description (the prefix of its name in DOT and stats:
    /// `window2`, `http_out5`, `movingAverage3`); for a UDF, the UDF's name.
    pub fn desc(&self) -> &str {
        match self {
            NodeSpec::QueryFlux(_) => "query_flux",
            NodeSpec::GroupBy(_) => "groupby",
            NodeSpec::StateDuration(_) => "state_duration",
            NodeSpec::StateCount(_) => "state_count",
            NodeSpec::HttpOut(_) => "http_out",
            NodeSpec::HttpPost(_) => "http_post",
            NodeSpec::InfluxDbOut(_) => "influxdb_out",
            NodeSpec::KapacitorLoopback(_) => "kapacitor_loopback",
            NodeSpec::K8sAutoscale(_) => "k8s_autoscale",
            NodeSpec::SwarmAutoscale(_) => "swarm_autoscale",
            NodeSpec::Ec2Autoscale(_) => "ec2_autoscale",
            NodeSpec::Udf(u) => &u.name,
            other => other.kind(),
        }
    }

    /// Whether `.quiet()` was set (always false for the roots).
    pub fn quiet(&self) -> bool {
        match self {
            NodeSpec::Stream | NodeSpec::Batch => false,
            NodeSpec::From(s) => s.quiet,
            NodeSpec::Query(s) => s.quiet,
            NodeSpec::QueryFlux(s) => s.quiet,
            NodeSpec::Where(s) => s.quiet,
            NodeSpec::Eval(s) => s.quiet,
            NodeSpec::GroupBy(s) => s.quiet,
            NodeSpec::Window(s) => s.quiet,
            NodeSpec::Barrier(s) => s.quiet,
            NodeSpec::Sample(s) => s.quiet,
            NodeSpec::Shift(s) => s.quiet,
            NodeSpec::Default(s) => s.quiet,
            NodeSpec::Delete(s) => s.quiet,
            NodeSpec::Flatten(s) => s.quiet,
            NodeSpec::Combine(s) => s.quiet,
            NodeSpec::Join(s) => s.quiet,
            NodeSpec::Union(s) => s.quiet,
            NodeSpec::ChangeDetect(s) => s.quiet,
            NodeSpec::StateDuration(s) => s.quiet,
            NodeSpec::StateCount(s) => s.quiet,
            NodeSpec::Derivative(s) => s.quiet,
            NodeSpec::Sideload(s) => s.quiet,
            NodeSpec::Trickle(s) => s.quiet,
            NodeSpec::Log(s) => s.quiet,
            NodeSpec::Stats(s) => s.quiet,
            NodeSpec::NoOp(s) => s.quiet,
            NodeSpec::HttpOut(s) => s.quiet,
            NodeSpec::HttpPost(s) => s.quiet,
            NodeSpec::InfluxDbOut(s) => s.quiet,
            NodeSpec::KapacitorLoopback(s) => s.quiet,
            NodeSpec::Alert(s) => s.quiet,
            NodeSpec::K8sAutoscale(s) => s.quiet,
            NodeSpec::SwarmAutoscale(s) => s.quiet,
            NodeSpec::Ec2Autoscale(s) => s.quiet,
            NodeSpec::InfluxQL(s) => s.quiet,
            NodeSpec::Udf(s) => s.quiet,
        }
    }

    /// The `quiet` flag to set for `.quiet()`; `None` for the roots (which ignore it).
    pub fn quiet_mut(&mut self) -> Option<&mut bool> {
        Some(match self {
            NodeSpec::Stream | NodeSpec::Batch => return None,
            NodeSpec::From(s) => &mut s.quiet,
            NodeSpec::Query(s) => &mut s.quiet,
            NodeSpec::QueryFlux(s) => &mut s.quiet,
            NodeSpec::Where(s) => &mut s.quiet,
            NodeSpec::Eval(s) => &mut s.quiet,
            NodeSpec::GroupBy(s) => &mut s.quiet,
            NodeSpec::Window(s) => &mut s.quiet,
            NodeSpec::Barrier(s) => &mut s.quiet,
            NodeSpec::Sample(s) => &mut s.quiet,
            NodeSpec::Shift(s) => &mut s.quiet,
            NodeSpec::Default(s) => &mut s.quiet,
            NodeSpec::Delete(s) => &mut s.quiet,
            NodeSpec::Flatten(s) => &mut s.quiet,
            NodeSpec::Combine(s) => &mut s.quiet,
            NodeSpec::Join(s) => &mut s.quiet,
            NodeSpec::Union(s) => &mut s.quiet,
            NodeSpec::ChangeDetect(s) => &mut s.quiet,
            NodeSpec::StateDuration(s) => &mut s.quiet,
            NodeSpec::StateCount(s) => &mut s.quiet,
            NodeSpec::Derivative(s) => &mut s.quiet,
            NodeSpec::Sideload(s) => &mut s.quiet,
            NodeSpec::Trickle(s) => &mut s.quiet,
            NodeSpec::Log(s) => &mut s.quiet,
            NodeSpec::Stats(s) => &mut s.quiet,
            NodeSpec::NoOp(s) => &mut s.quiet,
            NodeSpec::HttpOut(s) => &mut s.quiet,
            NodeSpec::HttpPost(s) => &mut s.quiet,
            NodeSpec::InfluxDbOut(s) => &mut s.quiet,
            NodeSpec::KapacitorLoopback(s) => &mut s.quiet,
            NodeSpec::Alert(s) => &mut s.quiet,
            NodeSpec::K8sAutoscale(s) => &mut s.quiet,
            NodeSpec::SwarmAutoscale(s) => &mut s.quiet,
            NodeSpec::Ec2Autoscale(s) => &mut s.quiet,
            NodeSpec::InfluxQL(s) => &mut s.quiet,
            NodeSpec::Udf(s) => &mut s.quiet,
        })
    }
}

// ------------------------------------------------------------------------------------------
// Shared value types

/// A group-by dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dimension {
    /// A tag name.
    Tag(String),
    /// `*`: every tag.
    Star,
    /// `time(every[, offset])` (only in `query().groupBy()`), in ns.
    Time {
        /// Bucket length.
        every: i64,
        /// Offset (0 when not given).
        offset: i64,
    },
}

/// A fill option (`query().fill()`, `join().fill()`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Fill {
    /// `'null'`: fill with nulls.
    Null,
    /// `'none'`: no fill (drop).
    None,
    /// `'previous'` (query only).
    Previous,
    /// `'linear'` (query only).
    Linear,
    /// An integer value.
    Int(i64),
    /// A float value.
    Float(f64),
}

// ------------------------------------------------------------------------------------------
// Sources

/// `stream|from()`: selects and regroups a subset of the stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FromSpec {
    /// `.database(name)`; empty = any.
    pub database: String,
    /// `.retentionPolicy(name)`; empty = any.
    pub retention_policy: String,
    /// `.measurement(name)`; empty = any.
    pub measurement: String,
    /// `.where(lambda)`; repeated calls are ANDed together.
    pub where_: Option<Expr>,
    /// `.groupBy(tags... or *)`.
    pub dimensions: Vec<Dimension>,
    /// `.groupByMeasurement()`.
    pub group_by_measurement: bool,
    /// `.truncate(d)`: truncate point times to a multiple of `d` (0 = off).
    pub truncate: i64,
    /// `.round(d)`: round point times to a multiple of `d` (0 = off).
    pub round: i64,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `batch|query('SELECT ...')`: a scheduled InfluxQL query.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct QuerySpec {
    /// The query text (without time condition or GROUP BY).
    pub query: String,
    /// `.period(d)`: length of the queried time range.
    pub period: i64,
    /// `.every(d)`: how often to run the query.
    pub every: i64,
    /// `.align()`: align run times to `every`.
    pub align: bool,
    /// `.cron('...')`: alternative schedule.
    pub cron: String,
    /// `.offset(d)`: how far back the queried range ends.
    pub offset: i64,
    /// `.alignGroup()`: align the GROUP BY time offset to the range start.
    pub align_group: bool,
    /// `.groupBy(time(d), tags... or *)`.
    pub dimensions: Vec<Dimension>,
    /// `.groupByMeasurement()`.
    pub group_by_measurement: bool,
    /// `.fill(...)`; `None` keeps the query's own FILL.
    pub fill: Option<Fill>,
    /// `.cluster(name)`: the InfluxDB cluster to query (empty = default).
    pub cluster: String,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `batch|queryFlux('...')`: a scheduled Flux query.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct QueryFluxSpec {
    /// The Flux query text.
    pub query: String,
    /// `.period(d)`.
    pub period: i64,
    /// `.every(d)`.
    pub every: i64,
    /// `.align()`.
    pub align: bool,
    /// `.cron('...')`.
    pub cron: String,
    /// `.offset(d)`.
    pub offset: i64,
    /// `.cluster(name)`.
    pub cluster: String,
    /// `.org(name)`.
    pub org: String,
    /// `.orgID(id)`.
    pub org_id: String,
    /// `.quiet()`.
    pub quiet: bool,
}

// ------------------------------------------------------------------------------------------
// Transforms

/// `|where(lambda)`: drops points for which the predicate is not true.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhereSpec {
    /// The predicate.
    pub lambda: Expr,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|eval(lambdas...)`: computes new fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EvalSpec {
    /// The expressions, evaluated in order.
    pub lambdas: Vec<Expr>,
    /// `.as(names...)`: one result name per expression.
    pub as_: Vec<String>,
    /// `.tags(names...)`: results stored as tags instead of fields.
    pub tags: Vec<String>,
    /// `.keep(...)` was called: keep existing fields.
    pub keep: bool,
    /// `.keep(names...)`: the fields to keep (empty with `keep` = all).
    pub keep_list: Vec<String>,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|groupBy(dims...)`: regroups the data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GroupBySpec {
    /// The tags (or `*`) to group by.
    pub dimensions: Vec<Dimension>,
    /// `.byMeasurement()`.
    pub by_measurement: bool,
    /// `.exclude(tags...)` (with `*`).
    pub exclude: Vec<String>,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|window()`: buffers points and emits batches.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WindowSpec {
    /// `.period(d)`: window length.
    pub period: Option<i64>,
    /// `.every(d)`: emit interval (0 = on every point).
    pub every: Option<i64>,
    /// `.align()`: align window edges to `every`.
    pub align: bool,
    /// `.fillPeriod()`: wait for a full period before the first emit.
    pub fill_period: bool,
    /// `.periodCount(n)`: count window length (0 = time window).
    pub period_count: i64,
    /// `.everyCount(n)`: emit every n points (0 = time window).
    pub every_count: i64,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|barrier()`: emits barriers by wall-clock time.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BarrierSpec {
    /// `.idle(d)`: emit a barrier after `d` without data.
    pub idle: i64,
    /// `.period(d)`: emit a barrier every `d`.
    pub period: i64,
    /// `.delete(bool)`: also emit a group delete.
    pub delete: bool,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|sample(n or d)`: keeps one point in `n`, or one per `d`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SampleSpec {
    /// Keep every n-th point (0 when sampling by duration).
    pub count: i64,
    /// Keep points whose time is a multiple of this (0 when sampling by count).
    pub duration: i64,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|shift(d)`: shifts times.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ShiftSpec {
    /// The shift, may be negative.
    pub shift: i64,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|default()`: sets missing fields and tags.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DefaultSpec {
    /// `.field(name, value)`.
    pub fields: Vec<(String, Value)>,
    /// `.tag(name, value)`.
    pub tags: Vec<(String, String)>,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|delete()`: removes fields and tags.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeleteSpec {
    /// `.field(name)`.
    pub fields: Vec<String>,
    /// `.tag(name)`.
    pub tags: Vec<String>,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|flatten()`: merges points of equal time across groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlattenSpec {
    /// `.on(dims...)`.
    pub on: Vec<String>,
    /// `.delimiter(s)` (default `.`).
    pub delimiter: String,
    /// `.tolerance(d)`.
    pub tolerance: i64,
    /// `.dropOriginalFieldName([bool])`.
    pub drop_original_field_name: bool,
    /// `.quiet()`.
    pub quiet: bool,
}

impl Default for FlattenSpec {
    fn default() -> Self {
        FlattenSpec {
            on: Vec::new(),
            delimiter: ".".into(),
            tolerance: 0,
            drop_original_field_name: false,
            quiet: false,
        }
    }
}

/// `|combine(lambdas...)`: combinations of points of equal time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CombineSpec {
    /// One matcher per combination element.
    pub lambdas: Vec<Expr>,
    /// `.as(names...)`: one prefix per lambda.
    pub as_: Vec<String>,
    /// `.delimiter(s)` (default `.`).
    pub delimiter: String,
    /// `.tolerance(d)`.
    pub tolerance: i64,
    /// `.max(n)`: maximum number of combinations (Kapacitor's runtime default, 1e6).
    pub max: i64,
    /// `.quiet()`.
    pub quiet: bool,
}

impl Default for CombineSpec {
    fn default() -> Self {
        CombineSpec {
            lambdas: Vec::new(),
            as_: Vec::new(),
            delimiter: ".".into(),
            tolerance: 0,
            max: 1_000_000,
            quiet: false,
        }
    }
}

/// `|join(nodes...)`: joins the parent with other nodes on time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinSpec {
    /// Number of inputs (the parent plus the node arguments).
    pub inputs: usize,
    /// `.as(names...)`: one prefix per input.
    pub as_: Vec<String>,
    /// `.on(dims...)`.
    pub on: Vec<String>,
    /// `.delimiter(s)` (default `.`).
    pub delimiter: String,
    /// `.tolerance(d)`.
    pub tolerance: i64,
    /// `.fill(...)`: `None` (default), `Null` or a number.
    pub fill: Fill,
    /// `.streamName(name)`.
    pub stream_name: String,
    /// `.deleteAll(bool)`.
    pub delete_all: bool,
    /// `.quiet()`.
    pub quiet: bool,
}

impl Default for JoinSpec {
    fn default() -> Self {
        JoinSpec {
            inputs: 1,
            as_: Vec::new(),
            on: Vec::new(),
            delimiter: ".".into(),
            tolerance: 0,
            fill: Fill::None,
            stream_name: String::new(),
            delete_all: false,
            quiet: false,
        }
    }
}

/// `|union(nodes...)`: merges the parent with other nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnionSpec {
    /// Number of inputs (the parent plus the node arguments).
    pub inputs: usize,
    /// `.rename(name)`.
    pub rename: String,
    /// `.quiet()`.
    pub quiet: bool,
}

impl Default for UnionSpec {
    fn default() -> Self {
        UnionSpec {
            inputs: 1,
            rename: String::new(),
            quiet: false,
        }
    }
}

/// `|changeDetect(fields...)`: emits only when a field changes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChangeDetectSpec {
    /// The watched fields.
    pub fields: Vec<String>,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|stateDuration(lambda)`: duration of consecutive true states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateDurationSpec {
    /// The state predicate.
    pub lambda: Expr,
    /// `.as(name)` (default `state_duration`).
    pub as_: String,
    /// `.unit(d)` (default 1s).
    pub unit: i64,
    /// `.quiet()`.
    pub quiet: bool,
}

impl StateDurationSpec {
    /// A spec with Kapacitor's defaults.
    pub fn new(lambda: Expr) -> Self {
        StateDurationSpec {
            lambda,
            as_: "state_duration".into(),
            unit: SECOND,
            quiet: false,
        }
    }
}

/// `|stateCount(lambda)`: count of consecutive true states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateCountSpec {
    /// The state predicate.
    pub lambda: Expr,
    /// `.as(name)` (default `state_count`).
    pub as_: String,
    /// `.quiet()`.
    pub quiet: bool,
}

impl StateCountSpec {
    /// A spec with Kapacitor's defaults.
    pub fn new(lambda: Expr) -> Self {
        StateCountSpec {
            lambda,
            as_: "state_count".into(),
            quiet: false,
        }
    }
}

/// `|derivative(field)`: rate of change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DerivativeSpec {
    /// The field.
    pub field: String,
    /// `.as(name)` (default: the field name).
    pub as_: String,
    /// `.unit(d)` (default 1s).
    pub unit: i64,
    /// `.nonNegative()`.
    pub non_negative: bool,
    /// `.quiet()`.
    pub quiet: bool,
}

impl DerivativeSpec {
    /// A spec with Kapacitor's defaults.
    pub fn new(field: &str) -> Self {
        DerivativeSpec {
            field: field.into(),
            as_: field.into(),
            unit: SECOND,
            non_negative: false,
            quiet: false,
        }
    }
}

/// `|sideload()`: enriches points from external hierarchical data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SideloadSpec {
    /// `.source(uri)`.
    pub source: String,
    /// `.order(templates...)`.
    pub order: Vec<String>,
    /// `.field(name, default)`.
    pub fields: Vec<(String, Value)>,
    /// `.tag(name, default)`.
    pub tags: Vec<(String, String)>,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|trickle()`: batches to points.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TrickleSpec {
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|log()`: logs data passing through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogSpec {
    /// `.level(l)`: `DEBUG`, `INFO` (default), `WARN` or `ERROR`.
    pub level: String,
    /// `.prefix(s)`.
    pub prefix: String,
    /// `.quiet()`.
    pub quiet: bool,
}

impl Default for LogSpec {
    fn default() -> Self {
        LogSpec {
            level: "INFO".into(),
            prefix: String::new(),
            quiet: false,
        }
    }
}

/// `|stats(interval)`: emits another node's statistics.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StatsSpec {
    /// Id of the node whose stats are emitted (set by the evaluator).
    pub source: usize,
    /// Emit interval (wall clock).
    pub interval: i64,
    /// `.align()`: round emit times to the interval.
    pub align: bool,
    /// `.quiet()`.
    pub quiet: bool,
}

/// The hidden `noop` node.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NoOpSpec {
    /// `.quiet()` (never set by scripts).
    pub quiet: bool,
}

// ------------------------------------------------------------------------------------------
// Outputs

/// `|httpOut(endpoint)`: caches the latest data per group for the HTTP API.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HttpOutSpec {
    /// The endpoint name.
    pub endpoint: String,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|httpPost([url])`: posts data as JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HttpPostSpec {
    /// URLs given as chaining arguments (at most one is valid).
    pub urls: Vec<String>,
    /// `.endpoint(name)`: `[[httppost]]` endpoints (at most one is valid).
    pub endpoints: Vec<String>,
    /// `.header(name, value)`.
    pub headers: Vec<(String, String)>,
    /// `.captureResponse()`.
    pub capture_response: bool,
    /// `.codeField(name)`: field receiving the HTTP status code.
    pub code_field: String,
    /// `.timeout(d)` (0 = none).
    pub timeout: i64,
    /// `.quiet()`.
    pub quiet: bool,
}

/// `|influxDBOut()`: writes to InfluxDB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfluxDbOutSpec {
    /// `.cluster(name)`.
    pub cluster: String,
    /// `.database(name)`.
    pub database: String,
    /// `.retentionPolicy(name)`.
    pub retention_policy: String,
    /// `.measurement(name)`.
    pub measurement: String,
    /// `.writeConsistency(level)`.
    pub write_consistency: String,
    /// `.precision(p)`.
    pub precision: String,
    /// `.buffer(n)` (default 1000).
    pub buffer: i64,
    /// `.flushInterval(d)` (default 10s).
    pub flush_interval: i64,
    /// `.tag(name, value)`.
    pub tags: Vec<(String, String)>,
    /// `.create()`: create the database and retention policy.
    pub create: bool,
    /// `.quiet()`.
    pub quiet: bool,
}

impl Default for InfluxDbOutSpec {
    fn default() -> Self {
        InfluxDbOutSpec {
            cluster: String::new(),
            database: String::new(),
            retention_policy: String::new(),
            measurement: String::new(),
            write_consistency: String::new(),
            precision: String::new(),
            buffer: 1000,
            flush_interval: 10 * SECOND,
            tags: Vec::new(),
            create: false,
            quiet: false,
        }
    }
}

/// `|kapacitorLoopback()`: writes back into Kapacitor's stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KapacitorLoopbackSpec {
    /// `.database(name)` (required).
    pub database: String,
    /// `.retentionPolicy(name)` (required).
    pub retention_policy: String,
    /// `.measurement(name)`.
    pub measurement: String,
    /// `.tag(name, value)`.
    pub tags: Vec<(String, String)>,
    /// `.quiet()`.
    pub quiet: bool,
}

// ------------------------------------------------------------------------------------------
// Alert

/// `.flapping(low, high)` thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Flapping {
    /// Stop flapping below this.
    pub low: f64,
    /// Start flapping above this.
    pub high: f64,
}

/// `.inhibit(category, tags...)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inhibitor {
    /// The inhibited category.
    pub category: String,
    /// Tags whose values must be equal.
    pub equal_tags: Vec<String>,
}

/// `|alert()`: evaluates alert levels and sends events to handlers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertSpec {
    /// `.topic(name)` (empty = the anonymous task topic).
    pub topic: String,
    /// `.id(template)`; `None` = `{{ .Name }}:{{ .Group }}`.
    pub id: Option<String>,
    /// `.message(template)`; `None` = `{{ .ID }} is {{ .Level }}`.
    pub message: Option<String>,
    /// `.details(template)`; `None` = `{{ json . }}`.
    pub details: Option<String>,
    /// `.info(lambda)`.
    pub info: Option<Expr>,
    /// `.warn(lambda)`.
    pub warn: Option<Expr>,
    /// `.crit(lambda)`.
    pub crit: Option<Expr>,
    /// `.infoReset(lambda)`.
    pub info_reset: Option<Expr>,
    /// `.warnReset(lambda)`.
    pub warn_reset: Option<Expr>,
    /// `.critReset(lambda)`.
    pub crit_reset: Option<Expr>,
    /// `.stateChangesOnly([maxInterval])`.
    pub state_changes_only: bool,
    /// The max interval of `.stateChangesOnly(d)` (0 = none).
    pub state_changes_only_max_interval: i64,
    /// `.flapping(low, high)`.
    pub flapping: Option<Flapping>,
    /// `.history(n)` (default 21; values below 2 act as 2).
    pub history: i64,
    /// `.noRecoveries()`.
    pub no_recoveries: bool,
    /// `.all()`.
    pub all: bool,
    /// `.levelTag(name)`.
    pub level_tag: String,
    /// `.levelField(name)`.
    pub level_field: String,
    /// `.messageField(name)`.
    pub message_field: String,
    /// `.durationField(name)`.
    pub duration_field: String,
    /// `.idTag(name)`.
    pub id_tag: String,
    /// `.idField(name)`.
    pub id_field: String,
    /// `.category(name)`.
    pub category: String,
    /// `.inhibit(category, tags...)`.
    pub inhibitors: Vec<Inhibitor>,
    /// `.quiet()`.
    pub quiet: bool,
    /// Inline handlers, in script order.
    pub handlers: Vec<HandlerSpec>,
}

impl AlertSpec {
    /// Kapacitor's default id template.
    pub const DEFAULT_ID: &'static str = "{{ .Name }}:{{ .Group }}";
    /// Kapacitor's default message template.
    pub const DEFAULT_MESSAGE: &'static str = "{{ .ID }} is {{ .Level }}";
    /// Kapacitor's default details template.
    pub const DEFAULT_DETAILS: &'static str = "{{ json . }}";

    /// The id template in effect.
    pub fn id_template(&self) -> &str {
        self.id.as_deref().unwrap_or(Self::DEFAULT_ID)
    }

    /// The message template in effect.
    pub fn message_template(&self) -> &str {
        self.message.as_deref().unwrap_or(Self::DEFAULT_MESSAGE)
    }

    /// The details template in effect.
    pub fn details_template(&self) -> &str {
        self.details.as_deref().unwrap_or(Self::DEFAULT_DETAILS)
    }
}

impl Default for AlertSpec {
    fn default() -> Self {
        AlertSpec {
            topic: String::new(),
            id: None,
            message: None,
            details: None,
            info: None,
            warn: None,
            crit: None,
            info_reset: None,
            warn_reset: None,
            crit_reset: None,
            state_changes_only: false,
            state_changes_only_max_interval: 0,
            flapping: None,
            history: 21,
            no_recoveries: false,
            all: false,
            level_tag: String::new(),
            level_field: String::new(),
            message_field: String::new(),
            duration_field: String::new(),
            id_tag: String::new(),
            id_field: String::new(),
            category: String::new(),
            inhibitors: Vec::new(),
            quiet: false,
            handlers: Vec::new(),
        }
    }
}

/// An inline alert handler (`.post()`, `.slack()`...), with its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HandlerSpec {
    /// `.post([url])`.
    Post(PostHandler),
    /// `.tcp(address)`.
    Tcp(TcpHandler),
    /// `.email([to...])`.
    Email(EmailHandler),
    /// `.exec(prog, args...)`.
    Exec(ExecHandler),
    /// `.log(path)`.
    Log(LogHandler),
    /// `.victorOps()`.
    VictorOps(VictorOpsHandler),
    /// `.pagerDuty()`.
    PagerDuty(PagerDutyHandler),
    /// `.pagerDuty2()`.
    PagerDuty2(PagerDuty2Handler),
    /// `.pushover()`.
    Pushover(PushoverHandler),
    /// `.sensu()`.
    Sensu(SensuHandler),
    /// `.slack()`.
    Slack(SlackHandler),
    /// `.discord()`.
    Discord(DiscordHandler),
    /// `.bigPanda()`.
    BigPanda(BigPandaHandler),
    /// `.telegram()`.
    Telegram(TelegramHandler),
    /// `.hipChat()`.
    HipChat(HipChatHandler),
    /// `.alerta()`.
    Alerta(AlertaHandler),
    /// `.opsGenie()`.
    OpsGenie(OpsGenieHandler),
    /// `.opsGenie2()`.
    OpsGenie2(OpsGenie2Handler),
    /// `.talk()`.
    Talk(TalkHandler),
    /// `.mqtt(topic)`.
    Mqtt(MqttHandler),
    /// `.snmpTrap(oid)`.
    SnmpTrap(SnmpTrapHandler),
    /// `.kafka()`.
    Kafka(KafkaHandler),
    /// `.teams()`.
    Teams(TeamsHandler),
    /// `.serviceNow()`.
    ServiceNow(ServiceNowHandler),
    /// `.zenoss()`.
    Zenoss(ZenossHandler),
}

impl HandlerSpec {
    /// The handler kind as used by topic handlers in the API (`post`, `smtp`,
    /// `pagerduty2`...).
    pub fn kind(&self) -> &'static str {
        match self {
            HandlerSpec::Post(_) => "post",
            HandlerSpec::Tcp(_) => "tcp",
            HandlerSpec::Email(_) => "smtp",
            HandlerSpec::Exec(_) => "exec",
            HandlerSpec::Log(_) => "log",
            HandlerSpec::VictorOps(_) => "victorops",
            HandlerSpec::PagerDuty(_) => "pagerduty",
            HandlerSpec::PagerDuty2(_) => "pagerduty2",
            HandlerSpec::Pushover(_) => "pushover",
            HandlerSpec::Sensu(_) => "sensu",
            HandlerSpec::Slack(_) => "slack",
            HandlerSpec::Discord(_) => "discord",
            HandlerSpec::BigPanda(_) => "bigpanda",
            HandlerSpec::Telegram(_) => "telegram",
            HandlerSpec::HipChat(_) => "hipchat",
            HandlerSpec::Alerta(_) => "alerta",
            HandlerSpec::OpsGenie(_) => "opsgenie",
            HandlerSpec::OpsGenie2(_) => "opsgenie2",
            HandlerSpec::Talk(_) => "talk",
            HandlerSpec::Mqtt(_) => "mqtt",
            HandlerSpec::SnmpTrap(_) => "snmptrap",
            HandlerSpec::Kafka(_) => "kafka",
            HandlerSpec::Teams(_) => "teams",
            HandlerSpec::ServiceNow(_) => "servicenow",
            HandlerSpec::Zenoss(_) => "zenoss",
        }
    }

    /// The TICKscript property method that adds this handler (`post`, `email`...).
    pub fn method(&self) -> &'static str {
        match self {
            HandlerSpec::Post(_) => "post",
            HandlerSpec::Tcp(_) => "tcp",
            HandlerSpec::Email(_) => "email",
            HandlerSpec::Exec(_) => "exec",
            HandlerSpec::Log(_) => "log",
            HandlerSpec::VictorOps(_) => "victorOps",
            HandlerSpec::PagerDuty(_) => "pagerDuty",
            HandlerSpec::PagerDuty2(_) => "pagerDuty2",
            HandlerSpec::Pushover(_) => "pushover",
            HandlerSpec::Sensu(_) => "sensu",
            HandlerSpec::Slack(_) => "slack",
            HandlerSpec::Discord(_) => "discord",
            HandlerSpec::BigPanda(_) => "bigPanda",
            HandlerSpec::Telegram(_) => "telegram",
            HandlerSpec::HipChat(_) => "hipChat",
            HandlerSpec::Alerta(_) => "alerta",
            HandlerSpec::OpsGenie(_) => "opsGenie",
            HandlerSpec::OpsGenie2(_) => "opsGenie2",
            HandlerSpec::Talk(_) => "talk",
            HandlerSpec::Mqtt(_) => "mqtt",
            HandlerSpec::SnmpTrap(_) => "snmpTrap",
            HandlerSpec::Kafka(_) => "kafka",
            HandlerSpec::Teams(_) => "teams",
            HandlerSpec::ServiceNow(_) => "serviceNow",
            HandlerSpec::Zenoss(_) => "zenoss",
        }
    }
}

/// `.post([url])`: HTTP POST of the alert JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PostHandler {
    /// The URL given as argument (empty when `.endpoint()` is used).
    pub url: String,
    /// `.endpoint(name)`: a `[[httppost]]` endpoint.
    pub endpoint: String,
    /// `.header(name, value)`.
    pub headers: Vec<(String, String)>,
    /// `.captureResponse()`.
    pub capture_response: bool,
    /// `.timeout(d)` (0 = none).
    pub timeout: i64,
    /// `.skipSSLVerification()`.
    pub skip_ssl_verification: bool,
}

/// `.tcp(address)`: JSON line over TCP.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TcpHandler {
    /// `host:port`.
    pub address: String,
}

/// `.email([to...])`: SMTP.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EmailHandler {
    /// Recipients (arguments and `.to(...)`).
    pub to: Vec<String>,
    /// `.toTemplates(...)`: recipient templates.
    pub to_templates: Vec<String>,
}

/// `.exec(prog, args...)`: runs a command with the alert JSON on stdin.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ExecHandler {
    /// Program followed by its arguments.
    pub command: Vec<String>,
}

/// `.log(path)`: appends the alert JSON to a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogHandler {
    /// Absolute file path.
    pub file_path: String,
    /// `.mode(m)`: file mode (default `0600`).
    pub mode: i64,
}

impl Default for LogHandler {
    fn default() -> Self {
        LogHandler {
            file_path: String::new(),
            mode: 0o600,
        }
    }
}

/// `.victorOps()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VictorOpsHandler {
    /// `.routingKey(key)`.
    pub routing_key: String,
}

/// `.pagerDuty()` (Events API v1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PagerDutyHandler {
    /// `.serviceKey(key)`.
    pub service_key: String,
}

/// A `.link(href[, text])` of `.pagerDuty2()`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Link {
    /// URL.
    pub href: String,
    /// Text (empty when not given).
    pub text: String,
}

/// `.pagerDuty2()` (Events API v2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PagerDuty2Handler {
    /// `.routingKey(key)`.
    pub routing_key: String,
    /// `.link(href[, text])`.
    pub links: Vec<Link>,
}

/// `.pushover()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PushoverHandler {
    /// `.userKey(key)`.
    pub user_key: String,
    /// `.device(name)`.
    pub device: String,
    /// `.title(text)`.
    pub title: String,
    /// `.uRL(url)`.
    pub url: String,
    /// `.uRLTitle(text)`.
    pub url_title: String,
    /// `.sound(name)`.
    pub sound: String,
}

/// `.sensu()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SensuHandler {
    /// `.source(name)`.
    pub source: String,
    /// `.handlers(names...)`.
    pub handlers: Vec<String>,
    /// `.metadata(key, value)`.
    pub metadata: Vec<(String, Value)>,
}

/// `.slack()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SlackHandler {
    /// `.workspace(name)`.
    pub workspace: String,
    /// `.channel(name)`.
    pub channel: String,
    /// `.username(name)`.
    pub username: String,
    /// `.iconEmoji(emoji)`.
    pub icon_emoji: String,
}

/// `.discord()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DiscordHandler {
    /// `.workspace(name)`.
    pub workspace: String,
    /// `.username(name)`.
    pub username: String,
    /// `.avatarURL(url)`.
    pub avatar_url: String,
    /// `.embedTitle(text)`.
    pub embed_title: String,
}

/// `.bigPanda()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BigPandaHandler {
    /// `.appKey(key)`.
    pub app_key: String,
    /// `.host(name)`.
    pub host: String,
    /// `.primaryProperty(name)`.
    pub primary_property: String,
    /// `.secondaryProperty(name)`.
    pub secondary_property: String,
    /// `.attribute(key, value)`.
    pub attributes: Vec<(String, Value)>,
}

/// `.telegram()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TelegramHandler {
    /// `.chatId(id)`.
    pub chat_id: String,
    /// `.parseMode(mode)`: `Markdown` or `HTML`.
    pub parse_mode: String,
    /// `.disableWebPagePreview()`.
    pub disable_web_page_preview: bool,
    /// `.disableNotification()`.
    pub disable_notification: bool,
}

/// `.hipChat()` (legacy).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HipChatHandler {
    /// `.room(name)`.
    pub room: String,
    /// `.token(token)`.
    pub token: String,
}

/// `.alerta()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AlertaHandler {
    /// `.token(token)`.
    pub token: String,
    /// `.tokenPrefix(prefix)`: the authorization scheme before the token (the `[alerta]`
    /// section's when empty).
    #[serde(default)]
    pub token_prefix: String,
    /// `.resource(template)`.
    pub resource: String,
    /// `.event(template)`.
    pub event: String,
    /// `.environment(template)`.
    pub environment: String,
    /// `.group(template)`.
    pub group: String,
    /// `.value(template)`.
    pub value: String,
    /// `.origin(name)`.
    pub origin: String,
    /// `.services(names...)`.
    pub services: Vec<String>,
    /// `.correlated(names...)`.
    pub correlated: Vec<String>,
    /// `.attribute(key, value)`.
    pub attributes: Vec<(String, Value)>,
    /// `.timeout(d)`.
    pub timeout: i64,
}

/// `.opsGenie()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OpsGenieHandler {
    /// `.teams(names...)`.
    pub teams: Vec<String>,
    /// `.recipients(names...)`.
    pub recipients: Vec<String>,
}

/// `.opsGenie2()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OpsGenie2Handler {
    /// `.teams(names...)`.
    pub teams: Vec<String>,
    /// `.recipients(names...)`.
    pub recipients: Vec<String>,
    /// `.recoveryAction(action)`.
    pub recovery_action: String,
}

/// `.talk()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TalkHandler {}

/// `.mqtt(topic)`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MqttHandler {
    /// The MQTT topic.
    pub topic: String,
    /// `.brokerName(name)`.
    pub broker_name: String,
    /// `.qos(level)`.
    pub qos: i64,
    /// `.retained()`.
    pub retained: bool,
}

/// A `.data(oid, type, value)` item of `.snmpTrap()`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SnmpData {
    /// OID.
    pub oid: String,
    /// net-snmp type letter (`i`, `s`, `c`...).
    pub type_: String,
    /// Value template.
    pub value: String,
}

/// `.snmpTrap(oid)`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SnmpTrapHandler {
    /// The trap OID.
    pub trap_oid: String,
    /// `.data(oid, type, value)` items.
    pub data: Vec<SnmpData>,
}

/// `.kafka()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KafkaHandler {
    /// `.cluster(name)`.
    pub cluster: String,
    /// `.kafkaTopic(name)`.
    pub kafka_topic: String,
    /// `.template(text)`.
    pub template: String,
    /// `.disablePartitionById()`.
    pub disable_partition_by_id: bool,
    /// `.partitionHashAlgorithm(name)`.
    pub partition_hash_algorithm: String,
}

/// `.teams()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TeamsHandler {
    /// `.channelURL(url)`.
    pub channel_url: String,
}

/// `.serviceNow()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServiceNowHandler {
    /// `.uRL(url)`.
    pub url: String,
    /// `.username(name)`.
    pub username: String,
    /// `.password(secret)`.
    pub password: String,
    /// `.source(name)`.
    pub source: String,
    /// `.node(template)`.
    pub node: String,
    /// `.type(template)`.
    pub type_: String,
    /// `.resource(template)`.
    pub resource: String,
    /// `.metricName(template)`.
    pub metric_name: String,
    /// `.messageKey(template)`.
    pub message_key: String,
    /// `.additionalInfo(key, value)`.
    pub additional_info: Vec<(String, Value)>,
}

/// `.zenoss()`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ZenossHandler {
    /// `.uRL(url)`.
    pub url: String,
    /// `.username(name)`.
    pub username: String,
    /// `.password(secret)`.
    pub password: String,
    /// `.action(name)`.
    pub action: String,
    /// `.method(name)`.
    pub method: String,
    /// `.type(name)`.
    pub type_: String,
    /// `.tid(n)`.
    pub tid: i64,
    /// `.collector(name)`.
    pub collector: String,
    /// `.summary(template)`.
    pub summary: String,
    /// `.device(template)`.
    pub device: String,
    /// `.component(template)`.
    pub component: String,
    /// `.eventClassKey(template)`.
    pub event_class_key: String,
    /// `.eventClass(template)`.
    pub event_class: String,
    /// `.message(template)`.
    pub message: String,
    /// `.customField(key, value)`.
    pub custom_fields: Vec<(String, Value)>,
}

// ------------------------------------------------------------------------------------------
// Autoscale

/// `|k8sAutoscale()`: scales Kubernetes resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct K8sAutoscaleSpec {
    /// `.cluster(id)`.
    pub cluster: String,
    /// `.namespace(name)`.
    pub namespace: String,
    /// `.kind(k)`: `deployments` (default), `replicasets` or `replicationcontrollers`.
    pub kind: String,
    /// `.resourceName(name)`.
    pub resource_name: String,
    /// `.resourceNameTag(tag)`.
    pub resource_name_tag: String,
    /// `.currentField(name)`.
    pub current_field: String,
    /// `.max(n)` (0 = unbounded).
    pub max: i64,
    /// `.min(n)` (default 1).
    pub min: i64,
    /// `.replicas(lambda)`.
    pub replicas: Option<Expr>,
    /// `.increaseCooldown(d)`.
    pub increase_cooldown: i64,
    /// `.decreaseCooldown(d)`.
    pub decrease_cooldown: i64,
    /// `.namespaceTag(tag)` (default `namespace`).
    pub namespace_tag: String,
    /// `.kindTag(tag)` (default `kind`).
    pub kind_tag: String,
    /// `.resourceTag(tag)` (default `resource`).
    pub resource_tag: String,
    /// `.quiet()`.
    pub quiet: bool,
}

impl Default for K8sAutoscaleSpec {
    fn default() -> Self {
        K8sAutoscaleSpec {
            cluster: String::new(),
            namespace: String::new(),
            kind: "deployments".into(),
            resource_name: String::new(),
            resource_name_tag: String::new(),
            current_field: String::new(),
            max: 0,
            min: 1,
            replicas: None,
            increase_cooldown: 0,
            decrease_cooldown: 0,
            namespace_tag: "namespace".into(),
            kind_tag: "kind".into(),
            resource_tag: "resource".into(),
            quiet: false,
        }
    }
}

/// `|swarmAutoscale()`: scales Docker Swarm services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwarmAutoscaleSpec {
    /// `.cluster(id)`.
    pub cluster: String,
    /// `.serviceName(name)`.
    pub service_name: String,
    /// `.serviceNameTag(tag)`.
    pub service_name_tag: String,
    /// `.outputServiceNameTag(tag)`.
    pub output_service_name_tag: String,
    /// `.currentField(name)`.
    pub current_field: String,
    /// `.max(n)` (0 = unbounded).
    pub max: i64,
    /// `.min(n)` (default 1).
    pub min: i64,
    /// `.replicas(lambda)`.
    pub replicas: Option<Expr>,
    /// `.increaseCooldown(d)`.
    pub increase_cooldown: i64,
    /// `.decreaseCooldown(d)`.
    pub decrease_cooldown: i64,
    /// `.quiet()`.
    pub quiet: bool,
}

impl Default for SwarmAutoscaleSpec {
    fn default() -> Self {
        SwarmAutoscaleSpec {
            cluster: String::new(),
            service_name: String::new(),
            service_name_tag: String::new(),
            output_service_name_tag: String::new(),
            current_field: String::new(),
            max: 0,
            min: 1,
            replicas: None,
            increase_cooldown: 0,
            decrease_cooldown: 0,
            quiet: false,
        }
    }
}

/// `|ec2Autoscale()`: scales AWS auto scaling groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ec2AutoscaleSpec {
    /// `.cluster(id)`.
    pub cluster: String,
    /// `.groupName(name)`.
    pub group_name: String,
    /// `.groupNameTag(tag)`.
    pub group_name_tag: String,
    /// `.outputGroupNameTag(tag)`.
    pub output_group_name_tag: String,
    /// `.currentField(name)`.
    pub current_field: String,
    /// `.max(n)` (0 = unbounded).
    pub max: i64,
    /// `.min(n)` (default 1).
    pub min: i64,
    /// `.replicas(lambda)`.
    pub replicas: Option<Expr>,
    /// `.increaseCooldown(d)`.
    pub increase_cooldown: i64,
    /// `.decreaseCooldown(d)`.
    pub decrease_cooldown: i64,
    /// `.quiet()`.
    pub quiet: bool,
}

impl Default for Ec2AutoscaleSpec {
    fn default() -> Self {
        Ec2AutoscaleSpec {
            cluster: String::new(),
            group_name: String::new(),
            group_name_tag: String::new(),
            output_group_name_tag: String::new(),
            current_field: String::new(),
            max: 0,
            min: 1,
            replicas: None,
            increase_cooldown: 0,
            decrease_cooldown: 0,
            quiet: false,
        }
    }
}

// ------------------------------------------------------------------------------------------
// InfluxQL

/// The InfluxQL function of an [`InfluxQLSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InfluxQLFunc {
    /// `count(field)`: aggregate, int.
    Count,
    /// `distinct(field)`: batch of distinct values.
    Distinct,
    /// `mean(field)`.
    Mean,
    /// `median(field)`.
    Median,
    /// `mode(field)`.
    Mode,
    /// `spread(field)`.
    Spread,
    /// `sum(field)`.
    Sum,
    /// `first(field)`: selector.
    First,
    /// `last(field)`: selector.
    Last,
    /// `min(field)`: selector.
    Min,
    /// `max(field)`: selector.
    Max,
    /// `stddev(field)`.
    Stddev,
    /// `percentile(field, p)`: selector.
    Percentile,
    /// `top(n, field, fieldsAndTags...)`: batch selector.
    Top,
    /// `bottom(n, field, fieldsAndTags...)`: batch selector.
    Bottom,
    /// `elapsed(field, unit)`: transformation.
    Elapsed,
    /// `difference(field)`: transformation.
    Difference,
    /// `movingAverage(field, window)`: transformation.
    MovingAverage,
    /// `cumulativeSum(field)`: transformation.
    CumulativeSum,
    /// `holtWinters(field, h, m, interval)`: forecast.
    HoltWinters,
    /// `holtWintersWithFit(field, h, m, interval)`: forecast with fitted points.
    HoltWintersWithFit,
}

impl InfluxQLFunc {
    /// Every function, in registry order.
    pub const ALL: [InfluxQLFunc; 21] = [
        InfluxQLFunc::Count,
        InfluxQLFunc::Distinct,
        InfluxQLFunc::Mean,
        InfluxQLFunc::Median,
        InfluxQLFunc::Mode,
        InfluxQLFunc::Spread,
        InfluxQLFunc::Sum,
        InfluxQLFunc::First,
        InfluxQLFunc::Last,
        InfluxQLFunc::Min,
        InfluxQLFunc::Max,
        InfluxQLFunc::Stddev,
        InfluxQLFunc::Percentile,
        InfluxQLFunc::Top,
        InfluxQLFunc::Bottom,
        InfluxQLFunc::Elapsed,
        InfluxQLFunc::Difference,
        InfluxQLFunc::MovingAverage,
        InfluxQLFunc::CumulativeSum,
        InfluxQLFunc::HoltWinters,
        InfluxQLFunc::HoltWintersWithFit,
    ];

    /// The TICKscript method name (also the node description and the default `.as()`).
    pub fn name(self) -> &'static str {
        match self {
            InfluxQLFunc::Count => "count",
            InfluxQLFunc::Distinct => "distinct",
            InfluxQLFunc::Mean => "mean",
            InfluxQLFunc::Median => "median",
            InfluxQLFunc::Mode => "mode",
            InfluxQLFunc::Spread => "spread",
            InfluxQLFunc::Sum => "sum",
            InfluxQLFunc::First => "first",
            InfluxQLFunc::Last => "last",
            InfluxQLFunc::Min => "min",
            InfluxQLFunc::Max => "max",
            InfluxQLFunc::Stddev => "stddev",
            InfluxQLFunc::Percentile => "percentile",
            InfluxQLFunc::Top => "top",
            InfluxQLFunc::Bottom => "bottom",
            InfluxQLFunc::Elapsed => "elapsed",
            InfluxQLFunc::Difference => "difference",
            InfluxQLFunc::MovingAverage => "movingAverage",
            InfluxQLFunc::CumulativeSum => "cumulativeSum",
            InfluxQLFunc::HoltWinters => "holtWinters",
            InfluxQLFunc::HoltWintersWithFit => "holtWintersWithFit",
        }
    }

    /// Selectors output a selected point (`first`, `last`, `min`, `max`, `percentile`,
    /// `top`, `bottom`).
    pub fn is_selector(self) -> bool {
        use InfluxQLFunc::*;
        matches!(self, First | Last | Min | Max | Percentile | Top | Bottom)
    }

    /// Stream transformations keep the input edge type and emit per point
    /// (`difference`, `cumulativeSum`, `movingAverage`, `elapsed`).
    pub fn is_transformation(self) -> bool {
        use InfluxQLFunc::*;
        matches!(self, Elapsed | Difference | MovingAverage | CumulativeSum)
    }

    /// Functions emitting batches (`distinct`, `top`, `bottom`, `holtWinters*`).
    pub fn emits_batch(self) -> bool {
        use InfluxQLFunc::*;
        matches!(
            self,
            Distinct | Top | Bottom | HoltWinters | HoltWintersWithFit
        )
    }
}

/// An InfluxQL function node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfluxQLSpec {
    /// The function.
    pub func: InfluxQLFunc,
    /// The field it applies to.
    pub field: String,
    /// `.as(name)` (default: the function name).
    pub as_: String,
    /// `.usePointTimes()` (always in effect for transformations and holtWinters).
    pub use_point_times: bool,
    /// `top`/`bottom`: number of points.
    pub n: i64,
    /// `top`/`bottom`: extra fields and tags.
    pub fields_and_tags: Vec<String>,
    /// `percentile`: the percentile (0-100).
    pub p: f64,
    /// `movingAverage`: window size in points.
    pub window: i64,
    /// `elapsed`: unit.
    pub unit: i64,
    /// `holtWinters*`: number of predicted points.
    pub h: i64,
    /// `holtWinters*`: seasonality (0 = none).
    pub m: i64,
    /// `holtWinters*`: interval between points.
    pub interval: i64,
    /// `.quiet()`.
    pub quiet: bool,
}

impl InfluxQLSpec {
    /// A spec for `func(field)` with Kapacitor's defaults and no extra arguments.
    pub fn new(func: InfluxQLFunc, field: &str) -> Self {
        InfluxQLSpec {
            func,
            field: field.into(),
            as_: func.name().into(),
            use_point_times: false,
            n: 0,
            fields_and_tags: Vec::new(),
            p: 0.0,
            window: 0,
            unit: 0,
            h: 0,
            m: 0,
            interval: 0,
            quiet: false,
        }
    }
}

// ------------------------------------------------------------------------------------------
// UDF

/// `@name()`: a user-defined function; its options are free-form (declared by the UDF).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UdfSpec {
    /// The UDF name (also its node description).
    pub name: String,
    /// Option calls (`.opt(values...)`) in script order.
    pub options: Vec<(String, Vec<Value>)>,
    /// `.quiet()`.
    pub quiet: bool,
    /// What the UDF sends on, as its agent said ([`crate::UdfInfo`]); `None` when
    /// compiled without the daemon's UDFs (then as its input).
    pub provides: Option<crate::registry::EdgeType>,
}
