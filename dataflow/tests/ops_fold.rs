//! A tumbling window folded into its `count`/`sum`/`mean`/`spread`/`first`/`last`/`min`/
//! `max` child (`ops::build_fused`) must
//! behave exactly like the two nodes built apart: same outputs in the same order, same
//! batches emitted by the window (times and groups), same errors, same cardinalities. The
//! data mixes groups, late and out-of-order points, missing fields, ints, floats and
//! strings, barriers and group deletions.

mod ops_common;

use kap_dataflow::exec::edge_types;
use kap_dataflow::node::{BuildInfo, Ctx, NodeStats, Processor, Services};
use kap_dataflow::ops;
use kap_dataflow::point::{FieldValue, GroupInfo, Msg};
use kap_dsl::registry::EdgeType;
use ops_common::*;

/// The window (second to last node) and its child (last node) of `script`.
fn infos(script: &str) -> (kap_dsl::plan::Pipeline, BuildInfo, BuildInfo) {
    let plan = kap_dsl::compile_source(script, &Default::default())
        .unwrap_or_else(|d| panic!("{script}: {d:?}"))
        .pipeline;
    let edges = edge_types(&plan);
    let info = |id: usize| BuildInfo {
        task: "test".into(),
        node: plan.nodes[id].name.clone(),
        node_id: id,
        inputs: 1,
        task_type: plan.task_type,
        batch_input: plan
            .parents(id)
            .next()
            .is_some_and(|p| edges[p] == EdgeType::Batch),
        services: Services::default(),
    };
    let n = plan.nodes.len();
    let (w, c) = (info(n - 2), info(n - 1));
    (plan, w, c)
}

struct Pair {
    window: Box<dyn Processor>,
    child: Box<dyn Processor>,
    window_stats: NodeStats,
    child_stats: NodeStats,
    services: Services,
}

impl Pair {
    fn new(script: &str, fused: bool) -> Option<Pair> {
        let (plan, wi, ci) = infos(script);
        let n = plan.nodes.len();
        let (ws, cs) = (&plan.nodes[n - 2].spec, &plan.nodes[n - 1].spec);
        let (window, child) = if fused {
            ops::build_fused((ws, &wi), (cs, &ci)).expect("build")?
        } else {
            (
                ops::build(ws, &wi).expect("window"),
                ops::build(cs, &ci).expect("child"),
            )
        };
        Some(Pair {
            window,
            child,
            window_stats: NodeStats::default(),
            child_stats: NodeStats::default(),
            services: Services::default(),
        })
    }

    /// Pushes one message through both nodes: the window's batches (time, group, number)
    /// and the child's outputs.
    fn push(&mut self, msg: Msg, batches: &mut Vec<(i64, u64)>, outs: &mut Vec<Msg>) {
        let mut mid = Vec::new();
        let mut ctx = Ctx {
            task: "test",
            node: "window",
            services: &self.services,
            stats: &mut self.window_stats,
        };
        self.window.process(0, msg, &mut ctx, &mut mid);
        for m in mid {
            if let Msg::Batch(b) = &m {
                batches.push((b.tmax, b.group.0));
            }
            let mut ctx = Ctx {
                task: "test",
                node: "child",
                services: &self.services,
                stats: &mut self.child_stats,
            };
            self.child.process(0, m, &mut ctx, outs);
        }
    }
}

/// A random message stream over three groups, time in ms steps with jitter back in time.
fn messages(seed: u64, n: usize) -> Vec<Msg> {
    let mut rng = Rng(seed | 1);
    let mut t: i64 = 1_000 * S;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        // Some points share their time with the previous one: selectors meet time ties.
        if rng.below(4) != 0 {
            t += (rng.below(1500) as i64) * 1_000_000;
        }
        let host = ["a", "b", "c"][rng.below(3) as usize];
        let late = if rng.below(10) == 0 {
            (rng.below(25_000) as i64) * 1_000_000
        } else {
            0
        };
        let time = t - late;
        let roll = rng.below(100);
        let msg = match roll {
            0..=1 => barrier(Some(host), time / S),
            2 => Msg::DeleteGroup(GroupInfo::new(
                kap_dataflow::point::Sym::new("m"),
                tags(&[("host", host)]),
                dims(&["host"]),
            )),
            _ => {
                let value = match rng.below(40) {
                    0 => None,
                    1 => Some(FieldValue::String("x".into())),
                    2..=4 => Some(int(rng.below(100) as i64 - 50)),
                    // Few distinct values: selectors meet ties.
                    5..=14 => Some(fl((rng.below(8) as f64) / 2.0)),
                    _ => Some(fl((rng.below(10_000) as f64) / 7.0 - 300.0)),
                };
                // `n` tells apart the points a selector may pick.
                let n = int(out.len() as i64);
                let fields: Vec<(&str, FieldValue)> = match value {
                    Some(v) => vec![("value", v), ("n", n)],
                    None => vec![("n", n)],
                };
                Msg::Point(point(&[("host", host)], &["host"], &fields, time))
            }
        };
        out.push(msg);
    }
    out
}

#[test]
fn folded_windows_match_the_nodes_built_apart() {
    let windows = [
        ".period(10s).every(10s)",
        ".period(10s).every(10s).align()",
        ".period(10s).every(10s).fillPeriod()",
        ".period(10s).every(10s).align().fillPeriod()",
        ".period(3s).every(3s)",
        ".periodCount(3).everyCount(3)",
        ".everyCount(2)",
        ".periodCount(4).everyCount(4).fillPeriod()",
    ];
    let mut folded_runs = 0;
    for w in windows {
        for f in [
            "mean('value')",
            "sum('value')",
            "count('value')",
            "spread('value')",
            "first('value')",
            "last('value')",
            "min('value')",
            "max('value').as('top')",
            "min('value').usePointTimes()",
            "first('value').usePointTimes().as('f')",
        ] {
            let script = format!(
                "stream\n    |from()\n        .measurement('m')\n        .groupBy('host')\n    |window(){w}\n    |{f}\n"
            );
            let mut apart = Pair::new(&script, false).expect("apart");
            let mut fused =
                Pair::new(&script, true).unwrap_or_else(|| panic!("{script}: not fused"));
            for seed in 1..=20u64 {
                let msgs = messages(seed * 7919, 600);
                let (mut b1, mut o1, mut b2, mut o2) = (vec![], vec![], vec![], vec![]);
                for m in msgs {
                    apart.push(m.clone(), &mut b1, &mut o1);
                    fused.push(m, &mut b2, &mut o2);
                }
                assert_eq!(b1, b2, "{script} seed {seed}: window batches differ");
                assert_eq!(o1, o2, "{script} seed {seed}: outputs differ");
                assert_eq!(
                    apart.child_stats, fused.child_stats,
                    "{script} seed {seed}: child errors differ"
                );
                assert_eq!(apart.window_stats, fused.window_stats);
                assert_eq!(apart.window.cardinality(), fused.window.cardinality());
                assert_eq!(apart.child.cardinality(), fused.child.cardinality());
                assert!(!o1.is_empty(), "{script}: the data must produce outputs");
            }
            assert!(
                apart.child_stats.errors > 0,
                "{script}: the data must produce errors"
            );
            folded_runs += 1;
        }
    }
    assert_eq!(folded_runs, windows.len() * 10);
}

#[test]
fn only_tumbling_windows_before_one_value_functions_are_folded() {
    let head = "stream\n    |from()\n        .measurement('m')\n        .groupBy('host')\n";
    for tail in [
        "|window().period(10s).every(5s)|mean('value')",
        "|window().period(10s).every(20s)|mean('value')",
        "|window().periodCount(4).everyCount(2)|count('value')",
        "|window().period(10s).every(10s)|percentile('value', 90.0)",
        "|window().period(10s).every(10s)|top(2, 'value')",
        "|window().period(10s).every(10s)|median('value')",
        "|window().period(10s).every(10s)|difference('value')",
    ] {
        let script = format!("{head}    {tail}\n");
        assert!(Pair::new(&script, true).is_none(), "{script}: folded");
    }
}
