//! Transforms and flow control: `where`, `eval`, `groupBy`, `window`, `barrier`,
//! `sample`, `shift`, `default`, `delete`, `flatten`, `combine`, `join`, `union`,
//! `changeDetect`, `stateDuration`, `stateCount`, `derivative`, `sideload`, `trickle`,
//! `log`, `stats`, the internal `noop` and the `@udf` placeholder.

use super::{
    QUIET, dimensions, dur, lambda, lambdas, node_args, ok, scalar, set_kv, string, strings,
    validate_dimensions,
};
use crate::plan::{
    BarrierSpec, ChangeDetectSpec, CombineSpec, DefaultSpec, DeleteSpec, DerivativeSpec, EvalSpec,
    Fill, FlattenSpec, GroupBySpec, JoinSpec, LogSpec, NoOpSpec, NodeSpec, SampleSpec, ShiftSpec,
    SideloadSpec, StateCountSpec, StateDurationSpec, StatsSpec, TrickleSpec, UdfSpec, UnionSpec,
    WhereSpec, WindowSpec,
};
use crate::registry::{ArgKind, NodeDef, Param, Params, PropDef, Provides, Special, Wants};
use crate::value::Value;

pub(super) const WHERE: NodeDef = NodeDef {
    name: "where",
    desc: "where",
    doc: "Keeps only the points (or batch points) for which the lambda is true.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!(["lambda" Lambda] []),
    props: &[QUIET],
    build: |a| {
        Ok(NodeSpec::Where(WhereSpec {
            lambda: lambda(a, 0)?,
            quiet: false,
        }))
    },
    validate: ok,
    special: Special::None,
};

pub(super) const EVAL: NodeDef = NodeDef {
    name: "eval",
    desc: "eval",
    doc: "Evaluates lambdas in order and stores the results as fields (or tags); later \
          lambdas may use earlier results.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!(["lambda" Lambda] [] "lambda" Lambda),
    props: &[
        prop!(
            "as",
            "Names of the results, one per lambda (required).",
            params!(["name" String] [] "name" String),
            Eval,
            |s, a| {
                s.as_ = strings(a, 0)?;
            }
        ),
        strs_prop!(
            "tags",
            "Results to store as tags instead of fields (must be strings).",
            "name",
            Eval,
            tags
        ),
        prop!(
            "keep",
            "Keep existing fields: all of them, or only the listed ones.",
            params!([] [] "field" String),
            Eval,
            |s, a| {
                s.keep = true;
                s.keep_list = strings(a, 0)?;
            }
        ),
        QUIET,
    ],
    build: |a| {
        Ok(NodeSpec::Eval(EvalSpec {
            lambdas: lambdas(a, 0)?,
            ..EvalSpec::default()
        }))
    },
    validate: |spec| {
        let NodeSpec::Eval(s) = spec else {
            return Ok(());
        };
        if s.as_.len() != s.lambdas.len() {
            return Err("must provide one name per expression via the 'As' property".into());
        }
        for (i, n) in s.as_.iter().enumerate() {
            if s.as_[..i].contains(n) {
                return Err(format!("duplicate name {n:?} in the 'As' property"));
            }
        }
        for t in &s.tags {
            if !s.as_.contains(t) {
                return Err(format!(
                    "tag {t:?} is not one of the names of the 'As' property"
                ));
            }
        }
        Ok(())
    },
    special: Special::None,
};

pub(super) const GROUP_BY: NodeDef = NodeDef {
    name: "groupBy",
    desc: "groupby",
    doc: "Regroups the data by the given tags (or `*` for all tags).",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!([] [] "tag" StringOrStar),
    props: &[
        flag_prop!(
            "byMeasurement",
            "Include the measurement in the group.",
            GroupBy,
            by_measurement
        ),
        strs_prop!(
            "exclude",
            "Tags to leave out of `*`.",
            "tag",
            GroupBy,
            exclude
        ),
        QUIET,
    ],
    build: |a| {
        Ok(NodeSpec::GroupBy(GroupBySpec {
            dimensions: dimensions(a, 0)?,
            ..GroupBySpec::default()
        }))
    },
    validate: |spec| match spec {
        NodeSpec::GroupBy(s) => validate_dimensions(&s.dimensions, &s.exclude),
        _ => Ok(()),
    },
    special: Special::None,
};

pub(super) const WINDOW: NodeDef = NodeDef {
    name: "window",
    desc: "window",
    doc: "Buffers points over a moving time (or count) range and emits them as batches.",
    wants: Wants::Stream,
    provides: Provides::Batch,
    params: Params::NONE,
    props: &[
        prop!(
            "period",
            "Window length.",
            params!(["period" Duration] []),
            Window,
            |s, a| {
                s.period = Some(dur(a, 0)?);
            }
        ),
        prop!(
            "every",
            "How often to emit the window (0 = on every point).",
            params!(["every" Duration] []),
            Window,
            |s, a| {
                s.every = Some(dur(a, 0)?);
            }
        ),
        flag_prop!(
            "align",
            "Align window edges to multiples of `every`.",
            Window,
            align
        ),
        flag_prop!(
            "fillPeriod",
            "Wait for a full period before the first emit.",
            Window,
            fill_period
        ),
        int_prop!(
            "periodCount",
            "Window length in points (count window).",
            Window,
            period_count
        ),
        int_prop!(
            "everyCount",
            "Emit every n points (count window).",
            Window,
            every_count
        ),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::Window(WindowSpec::default())),
    validate: |spec| {
        let NodeSpec::Window(s) = spec else {
            return Ok(());
        };
        let time = s.period.is_some() || s.every.is_some();
        let count = s.period_count != 0 || s.every_count != 0;
        if time && count {
            return Err("can only use one window type: time-based or count-based".into());
        }
        if s.period.is_some_and(|p| p < 0) {
            return Err("period must be zero or positive".into());
        }
        if s.every.is_some_and(|e| e < 0) {
            return Err("every must be zero or positive".into());
        }
        if count {
            if s.period_count < 0 {
                return Err("periodCount must be zero or positive".into());
            }
            if s.every_count <= 0 {
                return Err("everyCount must be greater than zero".into());
            }
            if s.align {
                return Err("align cannot be used with count windows".into());
            }
        }
        Ok(())
    },
    special: Special::None,
};

pub(super) const BARRIER: NodeDef = NodeDef {
    name: "barrier",
    desc: "barrier",
    doc: "Emits barriers by wall-clock time (after idleness or periodically) so that \
          downstream nodes flush; drops data older than the last barrier.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: Params::NONE,
    props: &[
        dur_prop!(
            "idle",
            "Emit a barrier after this long without data for the group.",
            Barrier,
            idle
        ),
        dur_prop!("period", "Emit a barrier every period.", Barrier, period),
        prop!(
            "delete",
            "Also emit a group delete, so that downstream nodes forget the group.",
            params!(["delete" Bool] []),
            Barrier,
            |s, a| {
                s.delete = super::boolean(a, 0)?;
            }
        ),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::Barrier(BarrierSpec::default())),
    validate: |spec| {
        let NodeSpec::Barrier(s) = spec else {
            return Ok(());
        };
        if s.idle != 0 && s.period != 0 {
            return Err("cannot specify both idle and period".into());
        }
        if s.idle == 0 && s.period == 0 {
            return Err("must specify either idle or period".into());
        }
        if s.idle < 0 {
            return Err("idle must be positive".into());
        }
        if s.period < 0 {
            return Err("period must be positive".into());
        }
        Ok(())
    },
    special: Special::None,
};

pub(super) const SAMPLE: NodeDef = NodeDef {
    name: "sample",
    desc: "sample",
    doc: "Keeps every n-th point or batch, or one per duration.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!(["rate" IntOrDuration] []),
    props: &[QUIET],
    build: |a| {
        let spec = match a.first() {
            Some(Value::Int(n)) => SampleSpec {
                count: *n,
                ..SampleSpec::default()
            },
            Some(Value::Duration(d)) => SampleSpec {
                duration: *d,
                ..SampleSpec::default()
            },
            _ => return Err("sample rate must be an int or a duration".into()),
        };
        Ok(NodeSpec::Sample(spec))
    },
    validate: |spec| {
        let NodeSpec::Sample(s) = spec else {
            return Ok(());
        };
        if s.count <= 0 && s.duration <= 0 {
            return Err("sample rate must be greater than zero".into());
        }
        Ok(())
    },
    special: Special::None,
};

pub(super) const SHIFT: NodeDef = NodeDef {
    name: "shift",
    desc: "shift",
    doc: "Shifts point and batch times by a duration (may be negative).",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!(["shift" Duration] []),
    props: &[QUIET],
    build: |a| {
        Ok(NodeSpec::Shift(ShiftSpec {
            shift: dur(a, 0)?,
            quiet: false,
        }))
    },
    validate: |spec| match spec {
        NodeSpec::Shift(s) if s.shift == 0 => {
            Err("invalid shift value: must be non zero duration".into())
        }
        _ => Ok(()),
    },
    special: Special::None,
};

pub(super) const DEFAULT: NodeDef = NodeDef {
    name: "default",
    desc: "default",
    doc: "Sets fields and tags that are missing (or empty).",
    wants: Wants::Any,
    provides: Provides::Same,
    params: Params::NONE,
    props: &[
        prop!(
            "field",
            "Default value of a field.",
            params!(["name" String, "value" Scalar] []),
            Default,
            |s, a| {
                set_kv(&mut s.fields, string(a, 0)?, scalar(a, 1)?);
            }
        ),
        kv_prop!("tag", "Default value of a tag.", Default, tags),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::Default(DefaultSpec::default())),
    validate: |spec| {
        let NodeSpec::Default(s) = spec else {
            return Ok(());
        };
        for (name, _) in &s.fields {
            if s.tags.iter().any(|(t, _)| t == name) {
                return Err(format!("cannot use name {name} as both field and tag"));
            }
        }
        Ok(())
    },
    special: Special::None,
};

pub(super) const DELETE: NodeDef = NodeDef {
    name: "delete",
    desc: "delete",
    doc: "Removes fields and tags.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: Params::NONE,
    props: &[
        prop!(
            "field",
            "Field to delete (repeatable).",
            params!(["name" String] []),
            Delete,
            |s, a| {
                s.fields.push(string(a, 0)?);
            }
        ),
        prop!(
            "tag",
            "Tag to delete (repeatable).",
            params!(["name" String] []),
            Delete,
            |s, a| {
                s.tags.push(string(a, 0)?);
            }
        ),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::Delete(DeleteSpec::default())),
    validate: ok,
    special: Special::None,
};

pub(super) const FLATTEN: NodeDef = NodeDef {
    name: "flatten",
    desc: "flatten",
    doc: "Merges points of equal time (within tolerance) across groups into one point \
          whose fields are prefixed with the `.on()` tag values.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: Params::NONE,
    props: &[
        strs_prop!(
            "on",
            "Tags whose values prefix the field names.",
            "tag",
            Flatten,
            on
        ),
        str_prop!(
            "delimiter",
            "Separator between prefix parts (default `.`).",
            Flatten,
            delimiter
        ),
        dur_prop!(
            "tolerance",
            "Times are rounded to multiples of this.",
            Flatten,
            tolerance
        ),
        prop!(
            "dropOriginalFieldName",
            "Leave the original field name out of the new field names.",
            params!([] ["drop" Bool]),
            Flatten,
            |s, a| {
                s.drop_original_field_name = match a.first() {
                    Some(_) => super::boolean(a, 0)?,
                    None => true,
                };
            }
        ),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::Flatten(FlattenSpec::default())),
    validate: |spec| {
        let NodeSpec::Flatten(s) = spec else {
            return Ok(());
        };
        if s.tolerance < 0 {
            return Err("tolerance must be positive".into());
        }
        Ok(())
    },
    special: Special::None,
};

pub(super) const COMBINE: NodeDef = NodeDef {
    name: "combine",
    desc: "combine",
    doc: "Emits every combination of points of the same time whose i-th element matches \
          the i-th lambda; fields and tags are prefixed with the `.as()` names.",
    wants: Wants::Any,
    provides: Provides::Stream,
    params: params!(["lambda" Lambda] [] "lambda" Lambda),
    props: &[
        prop!(
            "as",
            "Prefix of each combination element, one per lambda (required).",
            params!(["name" String] [] "name" String),
            Combine,
            |s, a| {
                s.as_ = strings(a, 0)?;
            }
        ),
        str_prop!(
            "delimiter",
            "Separator between prefix and name (default `.`).",
            Combine,
            delimiter
        ),
        dur_prop!(
            "tolerance",
            "Times are rounded to multiples of this.",
            Combine,
            tolerance
        ),
        int_prop!(
            "max",
            "Maximum number of combinations (default 1,000,000).",
            Combine,
            max
        ),
        QUIET,
    ],
    build: |a| {
        Ok(NodeSpec::Combine(CombineSpec {
            lambdas: lambdas(a, 0)?,
            ..CombineSpec::default()
        }))
    },
    validate: |spec| {
        let NodeSpec::Combine(s) = spec else {
            return Ok(());
        };
        if s.as_.len() != s.lambdas.len() {
            return Err(format!(
                "combine requires one name per expression, got {} names and {} expressions",
                s.as_.len(),
                s.lambdas.len()
            ));
        }
        for (i, n) in s.as_.iter().enumerate() {
            if s.as_[..i].contains(n) {
                return Err(format!("duplicate name {n:?}"));
            }
            if !s.delimiter.is_empty() && n.contains(&s.delimiter) {
                return Err(format!(
                    "name {n:?} contains the delimiter {:?}",
                    s.delimiter
                ));
            }
        }
        if s.tolerance < 0 {
            return Err("tolerance must be positive".into());
        }
        if s.max <= 0 {
            return Err("max must be greater than zero".into());
        }
        Ok(())
    },
    special: Special::None,
};

pub(super) const JOIN: NodeDef = NodeDef {
    name: "join",
    desc: "join",
    doc: "Joins the parent with other nodes on time (and group); fields are prefixed with \
          the `.as()` names.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!([] [] "other" Node),
    props: &[
        prop!(
            "as",
            "Prefix of each input's fields, one per input in order (required).",
            params!(["name" String] [] "name" String),
            Join,
            |s, a| {
                s.as_ = strings(a, 0)?;
            }
        ),
        strs_prop!(
            "on",
            "Join on a subset of the group's tags (one-to-many).",
            "tag",
            Join,
            on
        ),
        str_prop!(
            "delimiter",
            "Separator between prefix and field name (default `.`).",
            Join,
            delimiter
        ),
        dur_prop!(
            "tolerance",
            "Times are rounded to multiples of this before matching.",
            Join,
            tolerance
        ),
        prop!(
            "fill",
            "Missing inputs: 'none' (default, drop), 'null' or a number.",
            params!(["value" Scalar] []),
            Join,
            |s, a| {
                s.fill = super::sources::fill(a.first(), false)?;
            }
        ),
        str_prop!("streamName", "Name of the joined data.", Join, stream_name),
        prop!(
            "deleteAll",
            "On a group delete, drop the state of all groups.",
            params!(["deleteAll" Bool] []),
            Join,
            |s, a| {
                s.delete_all = super::boolean(a, 0)?;
            }
        ),
        QUIET,
    ],
    build: |a| {
        Ok(NodeSpec::Join(JoinSpec {
            inputs: 1 + node_args(a),
            ..JoinSpec::default()
        }))
    },
    validate: |spec| {
        let NodeSpec::Join(s) = spec else {
            return Ok(());
        };
        if s.as_.is_empty() {
            return Err(
                "a call to join.As() is required to specify the output stream prefixes.".into(),
            );
        }
        if s.as_.len() != s.inputs {
            return Err(format!(
                "number of prefixes specified by 'as' property ({}) must match number of joined nodes ({})",
                s.as_.len(),
                s.inputs
            ));
        }
        for (i, n) in s.as_.iter().enumerate() {
            if n.is_empty() {
                return Err(
                    "must provide a prefix name for the join node, see .As() property method"
                        .into(),
                );
            }
            if !s.delimiter.is_empty() && n.contains(&s.delimiter) {
                return Err(format!(
                    "cannot use name {n} as field prefix, it contains the delimiter {:?}",
                    s.delimiter
                ));
            }
            if s.as_[..i].contains(n) {
                return Err(format!(
                    "cannot use the same prefix name {n:?}, see .As() property method"
                ));
            }
        }
        if matches!(s.fill, Fill::Previous | Fill::Linear) {
            return Err("fill must be 'none', 'null' or a number".into());
        }
        if s.tolerance < 0 {
            return Err("tolerance must be positive".into());
        }
        Ok(())
    },
    special: Special::MultiParent,
};

pub(super) const UNION: NodeDef = NodeDef {
    name: "union",
    desc: "union",
    doc: "Merges the parent with other nodes, in time order.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!([] [] "other" Node),
    props: &[
        str_prop!("rename", "New name of the merged data.", Union, rename),
        QUIET,
    ],
    build: |a| {
        Ok(NodeSpec::Union(UnionSpec {
            inputs: 1 + node_args(a),
            ..UnionSpec::default()
        }))
    },
    validate: ok,
    special: Special::MultiParent,
};

pub(super) const CHANGE_DETECT: NodeDef = NodeDef {
    name: "changeDetect",
    desc: "changeDetect",
    doc: "Emits a point only when one of the fields differs from the last emitted point.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!(["field" String] [] "field" String),
    props: &[QUIET],
    build: |a| {
        Ok(NodeSpec::ChangeDetect(ChangeDetectSpec {
            fields: strings(a, 0)?,
            quiet: false,
        }))
    },
    validate: |spec| match spec {
        NodeSpec::ChangeDetect(s) if s.fields.is_empty() => {
            Err("must specify at least one field".into())
        }
        _ => Ok(()),
    },
    special: Special::None,
};

pub(super) const STATE_DURATION: NodeDef = NodeDef {
    name: "stateDuration",
    desc: "state_duration",
    doc: "Adds a field with the time spent in the state where the lambda is true \
          (-1 when false).",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!(["lambda" Lambda] []),
    props: &[
        str_prop!(
            "as",
            "Name of the result field (default `state_duration`).",
            StateDuration,
            as_
        ),
        dur_prop!(
            "unit",
            "Unit of the result (default 1s).",
            StateDuration,
            unit
        ),
        QUIET,
    ],
    build: |a| {
        Ok(NodeSpec::StateDuration(StateDurationSpec::new(lambda(
            a, 0,
        )?)))
    },
    validate: |spec| match spec {
        NodeSpec::StateDuration(s) if s.unit <= 0 => Err("unit must be greater than zero".into()),
        _ => Ok(()),
    },
    special: Special::None,
};

pub(super) const STATE_COUNT: NodeDef = NodeDef {
    name: "stateCount",
    desc: "state_count",
    doc: "Adds a field with the number of consecutive points where the lambda is true \
          (-1 when false).",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!(["lambda" Lambda] []),
    props: &[
        str_prop!(
            "as",
            "Name of the result field (default `state_count`).",
            StateCount,
            as_
        ),
        QUIET,
    ],
    build: |a| Ok(NodeSpec::StateCount(StateCountSpec::new(lambda(a, 0)?))),
    validate: ok,
    special: Special::None,
};

pub(super) const DERIVATIVE: NodeDef = NodeDef {
    name: "derivative",
    desc: "derivative",
    doc: "Rate of change of a field between consecutive points, per unit.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!(["field" String] []),
    props: &[
        str_prop!(
            "as",
            "Name of the result field (default: the field itself).",
            Derivative,
            as_
        ),
        dur_prop!(
            "unit",
            "Time unit of the rate (default 1s).",
            Derivative,
            unit
        ),
        flag_prop!(
            "nonNegative",
            "Drop negative rates.",
            Derivative,
            non_negative
        ),
        QUIET,
    ],
    build: |a| Ok(NodeSpec::Derivative(DerivativeSpec::new(&string(a, 0)?))),
    validate: |spec| match spec {
        NodeSpec::Derivative(s) if s.unit <= 0 => Err("unit must be greater than zero".into()),
        _ => Ok(()),
    },
    special: Special::None,
};

pub(super) const SIDELOAD: NodeDef = NodeDef {
    name: "sideload",
    desc: "sideload",
    doc: "Adds fields and tags from hierarchical external data (files or HTTP), looked up \
          through the `.order()` templates.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: Params::NONE,
    props: &[
        str_prop!(
            "source",
            "URI of the data: file://, http(s):// or an httppost endpoint name.",
            Sideload,
            source
        ),
        strs_prop!(
            "order",
            "Path templates to look up, most specific first.",
            "template",
            Sideload,
            order
        ),
        prop!(
            "field",
            "Field to load, with its default value.",
            params!(["name" String, "default" Scalar] []),
            Sideload,
            |s, a| {
                set_kv(&mut s.fields, string(a, 0)?, scalar(a, 1)?);
            }
        ),
        kv_prop!(
            "tag",
            "Tag to load, with its default value.",
            Sideload,
            tags
        ),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::Sideload(SideloadSpec::default())),
    validate: ok,
    special: Special::None,
};

pub(super) const TRICKLE: NodeDef = NodeDef {
    name: "trickle",
    desc: "trickle",
    doc: "Converts batches into individual points.",
    wants: Wants::Batch,
    provides: Provides::Stream,
    params: Params::NONE,
    props: &[QUIET],
    build: |_| Ok(NodeSpec::Trickle(TrickleSpec::default())),
    validate: ok,
    special: Special::None,
};

pub(super) const LOG: NodeDef = NodeDef {
    name: "log",
    desc: "log",
    doc: "Logs every point or batch passing through.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: Params::NONE,
    props: &[
        str_prop!(
            "level",
            "Log level: DEBUG, INFO (default), WARN or ERROR.",
            Log,
            level
        ),
        str_prop!("prefix", "Prefix of the log lines.", Log, prefix),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::Log(LogSpec::default())),
    validate: |spec| {
        let NodeSpec::Log(s) = spec else {
            return Ok(());
        };
        match s.level.to_ascii_uppercase().as_str() {
            "DEBUG" | "INFO" | "WARN" | "ERROR" => Ok(()),
            _ => Err(format!("invalid log level {}", s.level)),
        }
    },
    special: Special::None,
};

pub(super) const STATS: NodeDef = NodeDef {
    name: "stats",
    desc: "stats",
    doc: "Emits the internal statistics of the node it is chained from, every interval \
          of wall-clock time.",
    wants: Wants::Any,
    provides: Provides::Stream,
    params: params!(["interval" Duration] []),
    props: &[
        flag_prop!("align", "Round emit times to the interval.", Stats, align),
        QUIET,
    ],
    build: |a| {
        Ok(NodeSpec::Stats(StatsSpec {
            interval: dur(a, 0)?,
            ..StatsSpec::default()
        }))
    },
    validate: |spec| match spec {
        NodeSpec::Stats(s) if s.interval <= 0 => {
            Err("stats interval must be greater than zero".into())
        }
        _ => Ok(()),
    },
    special: Special::Stats,
};

pub(super) const NOOP: NodeDef = NodeDef {
    name: "noop",
    desc: "noop",
    doc: "Internal: appended to a stats source without children. Cannot be chained.",
    // `Root` keeps it out of `node_names()` and makes `|noop()` an unknown node.
    wants: Wants::Root,
    provides: Provides::None,
    params: Params::NONE,
    props: &[QUIET],
    build: |_| Ok(NodeSpec::NoOp(NoOpSpec::default())),
    validate: ok,
    special: Special::None,
};

pub(super) const UDF: NodeDef = NodeDef {
    name: "@udf",
    desc: "udf",
    doc: "A user-defined function `@name()`. Built with the UDF name as first argument; its \
          options (`.opt(values...)`) are declared by the UDF and recorded with \
          `apply_udf_option`. The node's description is the UDF name.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!(["name" String] []),
    props: &[QUIET],
    build: |a| {
        Ok(NodeSpec::Udf(UdfSpec {
            name: string(a, 0)?,
            ..UdfSpec::default()
        }))
    },
    validate: ok,
    special: Special::None,
};
