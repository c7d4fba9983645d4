//! Helpers shared by the `ops_*` integration tests: build one node of a real script and
//! push messages through it.
#![allow(dead_code)]

use kap_dataflow::exec::edge_types;
use kap_dataflow::node::{BuildInfo, Ctx, NodeStats, Processor, Services};
use kap_dataflow::ops;
use kap_dataflow::point::{
    Barrier, Batch, BatchPoint, Dimensions, FieldValue, Fields, GroupInfo, Msg, Point, Sym, Tags,
    normalize,
};
use kap_dsl::registry::EdgeType;

/// Seconds to ns.
pub(crate) const S: i64 = 1_000_000_000;

/// One node of a compiled script, run by hand.
pub(crate) struct Node {
    proc: Box<dyn Processor>,
    /// The node's counters.
    pub(crate) stats: NodeStats,
    services: Services,
}

/// Builds the **last** node of `script`.
pub(crate) fn node(script: &str) -> Node {
    try_node(script).unwrap_or_else(|e| panic!("{e}"))
}

/// Builds the last node of `script`, or the build error.
pub(crate) fn try_node(script: &str) -> Result<Node, String> {
    try_node_with(script, Services::default())
}

/// Builds the last node of `script` with these services, or the build error.
pub(crate) fn try_node_with(script: &str, services: Services) -> Result<Node, String> {
    let compiled = kap_dsl::compile_source(script, &Default::default())
        .unwrap_or_else(|d| panic!("{script}: {d:?}"));
    let plan = compiled.pipeline;
    let edges = edge_types(&plan);
    let id = plan.nodes.len() - 1;
    let parent = plan.parents(id).next();
    let info = BuildInfo {
        task: "test".into(),
        node: plan.nodes[id].name.clone(),
        node_id: id,
        inputs: 1,
        task_type: plan.task_type,
        batch_input: parent.is_some_and(|p| edges[p] == EdgeType::Batch),
        services: services.clone(),
    };
    let proc = ops::build(&plan.nodes[id].spec, &info).map_err(|e| e.to_string())?;
    Ok(Node {
        proc,
        stats: NodeStats::default(),
        services,
    })
}

impl Node {
    /// Pushes one message, returning what the node emits.
    pub(crate) fn push(&mut self, msg: Msg) -> Vec<Msg> {
        let mut out = Vec::new();
        let mut ctx = Ctx {
            task: "test",
            node: "n",
            services: &self.services,
            stats: &mut self.stats,
        };
        self.proc.process(0, msg, &mut ctx, &mut out);
        out
    }

    /// Pushes many messages, returning everything emitted.
    pub(crate) fn push_all(&mut self, msgs: impl IntoIterator<Item = Msg>) -> Vec<Msg> {
        msgs.into_iter().flat_map(|m| self.push(m)).collect()
    }

    /// Working cardinality.
    pub(crate) fn cardinality(&self) -> usize {
        self.proc.cardinality()
    }
}

/// Tags from pairs.
pub(crate) fn tags(pairs: &[(&str, &str)]) -> Tags {
    let mut t: Tags = pairs
        .iter()
        .map(|(k, v)| (Sym::new(k), Sym::new(v)))
        .collect();
    normalize(&mut t);
    t
}

/// Fields from pairs.
pub(crate) fn fields(pairs: &[(&str, FieldValue)]) -> Fields {
    let mut f: Fields = pairs
        .iter()
        .map(|(k, v)| (Sym::new(k), v.clone()))
        .collect();
    normalize(&mut f);
    f
}

/// Float value.
pub(crate) fn fl(x: f64) -> FieldValue {
    FieldValue::Float(x)
}

/// Int value.
pub(crate) fn int(x: i64) -> FieldValue {
    FieldValue::Int(x)
}

/// Dimensions grouped by `by` tags.
pub(crate) fn dims(by: &[&str]) -> Dimensions {
    let mut tag_names: Vec<Sym> = by.iter().map(|s| Sym::new(s)).collect();
    tag_names.sort();
    Dimensions::new(false, tag_names)
}

/// A point of measurement `m` grouped by `by`, at `t` ns.
pub(crate) fn point(
    tag_pairs: &[(&str, &str)],
    by: &[&str],
    field_pairs: &[(&str, FieldValue)],
    t: i64,
) -> Point {
    let mut p = Point {
        name: Sym::new("m"),
        db: Sym::new("db"),
        rp: Sym::new("rp"),
        tags: tags(tag_pairs),
        fields: fields(field_pairs),
        time: t,
        dims: dims(by),
        group: Default::default(),
    };
    p.regroup();
    p
}

/// A point `value=v` (float) of the nil group at `t` seconds.
pub(crate) fn pv(v: f64, t_s: i64) -> Msg {
    Msg::Point(point(&[], &[], &[("value", fl(v))], t_s * S))
}

/// A point `value=v` of group `host=h` at `t` seconds.
pub(crate) fn ph(h: &str, v: FieldValue, t_s: i64) -> Msg {
    Msg::Point(point(&[("host", h)], &["host"], &[("value", v)], t_s * S))
}

/// A batch of group `host=h` at `tmax` seconds with `value` points `(t_s, v)`.
pub(crate) fn batch(h: &str, tmax_s: i64, pts: &[(i64, FieldValue)]) -> Msg {
    let mut b = Batch {
        name: Sym::new("m"),
        tmax: tmax_s * S,
        tags: tags(&[("host", h)]),
        dims: dims(&["host"]),
        group: Default::default(),
        points: pts
            .iter()
            .map(|(t, v)| BatchPoint {
                time: t * S,
                fields: fields(&[("value", v.clone())]),
                tags: tags(&[("host", h), ("type", "idle")]),
            })
            .collect(),
    };
    b.regroup();
    Msg::Batch(b)
}

/// A barrier for the nil group (or a group by `host=h`) at `t` seconds.
pub(crate) fn barrier(h: Option<&str>, t_s: i64) -> Msg {
    let group = match h {
        Some(h) => GroupInfo::new(Sym::new("m"), tags(&[("host", h)]), dims(&["host"])),
        None => GroupInfo::new(Sym::new("m"), Tags::new(), Dimensions::default()),
    };
    Msg::Barrier(Barrier {
        group,
        time: t_s * S,
    })
}

/// The batches of `out` as `(tmax_s, [point time_s])`.
pub(crate) fn batch_times(out: &[Msg]) -> Vec<(i64, Vec<i64>)> {
    out.iter()
        .filter_map(|m| match m {
            Msg::Batch(b) => Some((b.tmax / S, b.points.iter().map(|p| p.time / S).collect())),
            _ => None,
        })
        .collect()
}

/// The points of `out` as `(time_ns, value of field f)`.
pub(crate) fn point_values(out: &[Msg], f: &str) -> Vec<(i64, FieldValue)> {
    out.iter()
        .filter_map(|m| match m {
            Msg::Point(p) => Some((p.time, p.field(f).cloned().unwrap_or(FieldValue::Null))),
            _ => None,
        })
        .collect()
}

/// xorshift64: deterministic random data without a dependency (seed must not be 0).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
