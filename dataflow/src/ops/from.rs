//! `stream|from()`: filters the stream by database, retention policy, measurement and a
//! `where` predicate, aligns times and replaces the dimensions (`kapacitor-semantics.md`
//! §1.1). Also home of the Go time helpers shared by the transform nodes.

use crate::lambda::{CompiledLambda, LambdaState};
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{Dimensions, Msg, Point, Sym};
use crate::scope::PointScope;
use kap_dsl::plan::{Dimension, FromSpec};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// Go's zero time (January 1, year 1, UTC) in ns relative to the Unix epoch.
const GO_ZERO_NS: i128 = -62_135_596_800 * 1_000_000_000;

/// Go's `time.Truncate(d)`: rounds down to a multiple of `d` since Go's zero time (year 1).
/// `d <= 0` leaves `t` unchanged.
pub(crate) fn go_truncate(t: i64, d: i64) -> i64 {
    if d <= 0 {
        return t;
    }
    let r = (i128::from(t) - GO_ZERO_NS).rem_euclid(i128::from(d));
    (i128::from(t) - r) as i64
}

/// Go's `time.Round(d)`: rounds to the nearest multiple of `d` since Go's zero time;
/// halfway values round up. `d <= 0` leaves `t` unchanged.
pub(crate) fn go_round(t: i64, d: i64) -> i64 {
    if d <= 0 {
        return t;
    }
    let d128 = i128::from(d);
    let r = (i128::from(t) - GO_ZERO_NS).rem_euclid(d128);
    let v = if r + r < d128 {
        i128::from(t) - r
    } else {
        i128::from(t) + (d128 - r)
    };
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The task's injected wall clock as the clock lambdas read with `now()`.
#[derive(Debug)]
struct ServiceClock(std::sync::Arc<dyn crate::node::Clock>);

impl crate::lambda::Clock for ServiceClock {
    fn now_ns(&self) -> i64 {
        self.0.now()
    }
}

/// Compiles a lambda for a node (local time zone, `now()` reading the injected
/// [`Services`](crate::node::Services) clock), mapping errors to [`BuildError::Invalid`].
pub(crate) fn compile(
    info: &BuildInfo,
    expr: &kap_dsl::expr::Expr,
) -> Result<CompiledLambda, BuildError> {
    let opts = crate::lambda::CompileOptions {
        clock: std::sync::Arc::new(ServiceClock(std::sync::Arc::clone(&info.services.clock))),
        ..crate::lambda::CompileOptions::default()
    };
    CompiledLambda::compile_with(expr, &opts).map_err(|e| BuildError::invalid(info, e.to_string()))
}

/// Makes node-specific counters visible (at 0) like Kapacitor's stats registered at node
/// start, so they show in `kapacitor show`/DOT before anything was counted.
pub(crate) fn seed_stats(ctx: &mut Ctx<'_>, names: &[&'static str]) {
    for n in names {
        ctx.stats.counters.entry(n).or_insert(0);
    }
}

/// A map that remembers insertion order (group creation order), for per-group state whose
/// iteration order is observable. Lookups, inserts and removals are logarithmic.
#[derive(Debug, Clone)]
pub(crate) struct Ordered<K, V> {
    index: HashMap<K, u64>,
    items: BTreeMap<u64, (K, V)>,
    next: u64,
}

impl<K: Hash + Eq + Copy, V> Default for Ordered<K, V> {
    fn default() -> Self {
        Ordered {
            index: HashMap::new(),
            items: BTreeMap::new(),
            next: 0,
        }
    }
}

impl<K: Hash + Eq + Copy, V> Ordered<K, V> {
    /// The value of `k`, created with `f` if absent.
    pub(crate) fn entry(&mut self, k: K, f: impl FnOnce() -> V) -> &mut V {
        let next = &mut self.next;
        let seq = *self.index.entry(k).or_insert_with(|| {
            *next += 1;
            *next - 1
        });
        &mut self.items.entry(seq).or_insert_with(|| (k, f())).1
    }

    /// The value of `k`.
    pub(crate) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let seq = self.index.get(k)?;
        self.items.get_mut(seq).map(|(_, v)| v)
    }

    /// Removes `k`, keeping the order of the others.
    pub(crate) fn remove(&mut self, k: &K) -> Option<V> {
        let seq = self.index.remove(k)?;
        self.items.remove(&seq).map(|(_, v)| v)
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Entries in insertion order.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.items.values_mut().map(|(k, v)| (&*k, v))
    }

    /// Removes and returns every entry in insertion order.
    pub(crate) fn drain(&mut self) -> Vec<(K, V)> {
        self.index.clear();
        std::mem::take(&mut self.items).into_values().collect()
    }
}

/// The group-by tag list of `dims` for a point's tags: sorted given tags minus `exclude`,
/// or every tag key for `*`.
pub(crate) struct DimSpec {
    star: bool,
    /// Without `*`: the dimensions, without and with the measurement.
    fixed: [Dimensions; 2],
    exclude: Vec<Sym>,
}

impl std::fmt::Debug for DimSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DimSpec")
            .field("star", &self.star)
            .field("names", &self.fixed[0].tag_names)
            .finish()
    }
}

impl DimSpec {
    pub(crate) fn new(dims: &[Dimension], exclude: &[String]) -> DimSpec {
        let star = dims.iter().any(|d| matches!(d, Dimension::Star));
        let exclude: Vec<Sym> = exclude.iter().map(|s| Sym::new(s)).collect();
        let mut names: Vec<Sym> = dims
            .iter()
            .filter_map(|d| match d {
                Dimension::Tag(t) => Some(Sym::new(t)),
                _ => None,
            })
            .filter(|s| !exclude.contains(s))
            .collect();
        names.sort();
        names.dedup();
        DimSpec {
            star,
            fixed: [false, true].map(|by_name| Dimensions::of(by_name, &names)),
            exclude,
        }
    }

    /// The dimensions of a point with these (sorted) tag keys (no allocation unless `*`).
    #[inline]
    pub(crate) fn dims<'a>(
        &self,
        by_name: bool,
        keys: impl Iterator<Item = &'a Sym> + Clone,
    ) -> Dimensions {
        if self.star {
            Dimensions::of_keys(by_name, keys.filter(|k| !self.exclude.contains(k)).copied())
        } else {
            self.fixed[usize::from(by_name)]
        }
    }
}

/// The `from` processor.
pub(crate) struct From {
    names: Names,
    where_: Option<(CompiledLambda, LambdaState)>,
    grouping: FromGrouping,
    truncate: i64,
    round: i64,
    quiet: bool,
}

impl std::fmt::Debug for From {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("From")
            .field("measurement", &self.names.measurement)
            .finish()
    }
}

/// The database, retention policy and measurement a `from` keeps (each, when set).
#[derive(Debug, Clone, Copy)]
struct Names {
    database: Option<Sym>,
    rp: Option<Sym>,
    measurement: Option<Sym>,
}

impl Names {
    #[inline(always)]
    /// Whether `p` is of these names.
    fn keeps(&self, p: &Point) -> bool {
        self.database.is_none_or(|d| d == p.db)
            && self.rp.is_none_or(|r| r == p.rp)
            && self.measurement.is_none_or(|m| m == p.name)
    }
}

/// How a `from` groups the points it keeps. Ingest groups a direct feed's points the same
/// way when they all pass through one `from` first (`runtime`), and partitions them by that
/// group, so the nodes after the `from` find each group on its worker without an exchange.
#[derive(Debug)]
pub(crate) struct FromGrouping {
    dims: DimSpec,
    by_name: bool,
}

impl FromGrouping {
    pub(crate) fn new(spec: &FromSpec) -> FromGrouping {
        FromGrouping {
            dims: DimSpec::new(&spec.dimensions, &[]),
            by_name: spec.group_by_measurement,
        }
    }

    /// Groups `p` as the `from` will (which then keeps the group).
    #[inline]
    pub(crate) fn group(&self, p: &mut Point) {
        let dims = self.dims.dims(self.by_name, p.tags.iter().map(|(k, _)| k));
        group_as(p, dims);
    }
}

/// Groups `p` by `dims`. A point's group always matches its dimensions: one already
/// grouped this way (ingest groups a point by its series) keeps its group unhashed.
#[inline(always)]
fn group_as(p: &mut Point, dims: Dimensions) {
    if dims != p.dims {
        p.dims = dims;
        p.regroup();
    }
}

fn opt_sym(s: &str) -> Option<Sym> {
    (!s.is_empty()).then(|| Sym::new(s))
}

/// Builds a `from` node.
pub(crate) fn build(spec: &FromSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(new(spec, info)?))
}

fn new(spec: &FromSpec, info: &BuildInfo) -> Result<From, BuildError> {
    let where_ = match &spec.where_ {
        Some(e) => {
            let l = compile(info, e)?;
            let s = l.new_state();
            Some((l, s))
        }
        None => None,
    };
    Ok(From {
        names: Names {
            database: opt_sym(&spec.database),
            rp: opt_sym(&spec.retention_policy),
            measurement: opt_sym(&spec.measurement),
        },
        where_,
        grouping: FromGrouping::new(spec),
        truncate: spec.truncate,
        round: spec.round,
        quiet: spec.quiet,
    })
}

impl From {
    #[inline]
    fn accept(&mut self, p: &Point) -> bool {
        if !self.names.keeps(p) {
            return false;
        }
        if let Some((l, s)) = &mut self.where_ {
            // An evaluation error drops the point silently.
            return l
                .eval_bool(s, &PointScope::new(&p.fields, &p.tags, p.time))
                .unwrap_or(false);
        }
        true
    }

    /// [`Processor::process_in_place`], inlined into [`Processor::process_in_place_run`].
    #[inline(always)]
    fn one(&mut self, msg: &mut Msg, ctx: &mut Ctx<'_>) -> bool {
        match msg {
            Msg::Point(p) => {
                if !self.accept(p) {
                    return false;
                }
                if self.truncate > 0 {
                    p.time = go_truncate(p.time, self.truncate);
                }
                if self.round > 0 {
                    p.time = go_round(p.time, self.round);
                }
                self.grouping.group(p);
                true
            }
            Msg::Batch(_) => {
                ctx.error(self.quiet, "from does not support batch data");
                false
            }
            _ => true,
        }
    }
}

impl Processor for From {
    fn process(&mut self, input: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        super::process_by_in_place(self, input, msg, ctx, out);
    }

    fn in_place(&self) -> bool {
        true
    }

    fn process_in_place(&mut self, _: usize, msg: &mut Msg, ctx: &mut Ctx<'_>) -> bool {
        self.one(msg, ctx)
    }

    fn process_in_place_run(
        &mut self,
        _: usize,
        msgs: &mut [Msg],
        kept: &mut Vec<bool>,
        ctx: &mut Ctx<'_>,
    ) {
        // The common `from`: filters on names only, fixed dimensions. Its loop reads
        // nothing of `self` per point but what it compares.
        let FromGrouping { dims, by_name } = &self.grouping;
        if self.where_.is_none() && self.truncate == 0 && self.round == 0 && !dims.star {
            let (names, dims) = (self.names, dims.fixed[usize::from(*by_name)]);
            for m in msgs {
                let keep = match m {
                    Msg::Point(p) => {
                        let keep = names.keeps(p);
                        if keep {
                            group_as(p, dims);
                        }
                        keep
                    }
                    other => self.one(other, ctx),
                };
                kept.push(keep);
            }
            return;
        }
        for m in msgs {
            let keep = self.one(m, ctx);
            kept.push(keep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{NodeStats, Services};
    use crate::point::{FieldValue, list};

    /// The `from` node of `script`.
    fn from_of(script: &str) -> From {
        let plan = kap_dsl::compile_source(script, &Default::default())
            .unwrap()
            .pipeline;
        let kap_dsl::plan::NodeSpec::From(spec) = &plan.nodes[1].spec else {
            panic!("node 1 is not a from");
        };
        let info = BuildInfo {
            task: "t".into(),
            node: "from1".into(),
            node_id: 1,
            inputs: 1,
            task_type: plan.task_type,
            batch_input: false,
            services: Services::default(),
        };
        new(spec, &info).unwrap()
    }

    /// Points of two measurements and several series, and a batch `from` refuses.
    fn mixed() -> Vec<Msg> {
        let mut msgs: Vec<Msg> = (0..12i64)
            .map(|i| {
                let name = if i % 3 == 0 { "other" } else { "cpu" };
                let tags = list![
                    (Sym::new("host"), Sym::new(&format!("h{}", i % 2))),
                    (Sym::new("cpu"), Sym::new(&format!("c{}", i % 4)))
                ];
                let fields = list![(Sym::new("v"), FieldValue::Int(i))];
                let mut p = Point::new(name, tags, fields, i * 1_000_000_007);
                // As ingest groups it: by its series.
                p.dims = Dimensions::of_series(&p.tags);
                p.group = crate::point::group_of_all(&p.tags);
                Msg::Point(p)
            })
            .collect();
        let batch = crate::point::Batch {
            name: Sym::new("cpu"),
            tmax: 0,
            tags: Default::default(),
            dims: Dimensions::default(),
            group: Default::default(),
            points: Vec::new(),
        };
        msgs.insert(5, Msg::Batch(batch));
        msgs
    }

    /// A run handled at once keeps, changes and refuses what one message at a time does.
    #[test]
    fn a_run_is_handled_as_one_message_at_a_time() {
        for script in [
            "stream|from().measurement('cpu').groupBy('host')",
            "stream|from().measurement('cpu').groupBy('host', 'cpu')",
            "stream|from().groupBy(*)",
            "stream|from().measurement('cpu').truncate(1s).groupBy('host')",
            "stream|from().where(lambda: \"v\" > 3)",
        ] {
            let services = Services::default();
            let (mut one, mut run) = (from_of(script), from_of(script));
            let (mut one_stats, mut run_stats) = (NodeStats::default(), NodeStats::default());
            let mut one_msgs = mixed();
            let mut one_kept = Vec::new();
            for m in &mut one_msgs {
                let mut ctx = Ctx {
                    task: "t",
                    node: "from1",
                    services: &services,
                    stats: &mut one_stats,
                };
                one_kept.push(one.process_in_place(0, m, &mut ctx));
            }
            let mut run_msgs = mixed();
            let mut run_kept = Vec::new();
            let mut ctx = Ctx {
                task: "t",
                node: "from1",
                services: &services,
                stats: &mut run_stats,
            };
            run.process_in_place_run(0, &mut run_msgs, &mut run_kept, &mut ctx);
            assert_eq!(run_kept, one_kept, "{script}");
            assert_eq!(format!("{run_msgs:?}"), format!("{one_msgs:?}"), "{script}");
            assert_eq!(run_stats.errors, 1, "{script}");
            assert_eq!(one_stats.errors, 1, "{script}");
        }
    }

    #[test]
    fn go_time_rounding() {
        let s = 1_000_000_000;
        assert_eq!(go_truncate(15 * s, 10 * s), 10 * s);
        assert_eq!(go_round(15 * s, 10 * s), 20 * s);
        assert_eq!(go_round(14 * s, 10 * s), 10 * s);
        assert_eq!(go_truncate(-5 * s, 10 * s), -10 * s);
        // 7 days: relative to year 1 (a Monday), not to the epoch (a Thursday).
        let week = 7 * 86_400 * s;
        assert_eq!(go_truncate(0, week), -3 * 86_400 * s);
        assert_eq!(go_truncate(5, 0), 5);
    }
}
