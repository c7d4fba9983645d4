//! Delivering a chunk of messages a node at a time down a chain
//! (`TaskExec::deliver_chunk`) must give what delivering them one at a time gives: the same
//! alert events in the same order, the same node counters (errors, cardinality) and the
//! same edge counts. Chunks of random sizes, over data with several groups, late points,
//! missing and mistyped fields. In a stage of a multi-stage plan, what the chain sends to
//! the next stage must come out in the same order, from the same messages.

mod ops_common;

use kap_dataflow::alert::{ALERTS_SERVICE, AlertEvent, AlertService, AlertSink};
use kap_dataflow::exec::{ChunkExit, EXEC_NS, EXEC_SAMPLES, TaskExec};
use kap_dataflow::node::Services;
use kap_dataflow::point::{FieldValue, Msg, Point, Sym};
use ops_common::Rng;
use std::sync::{Arc, Mutex};

/// Records every event published.
#[derive(Debug, Default)]
struct Events(Mutex<Vec<String>>);

impl AlertSink for Events {
    fn publish(&self, e: AlertEvent) {
        self.0.lock().unwrap().push(format!(
            "{} {} {:?} {} {} {}",
            e.topic, e.id, e.level, e.time, e.duration, e.message
        ));
    }
}

fn exec(script: &str) -> (TaskExec, Arc<Events>) {
    exec_stage(script, None)
}

/// The executor of the whole plan, or of stage `stage` of its multi-worker split.
fn exec_stage(script: &str, stage: Option<usize>) -> (TaskExec, Arc<Events>) {
    let plan = kap_dsl::compile_source(script, &Default::default())
        .unwrap_or_else(|d| panic!("{script}: {d:?}"))
        .pipeline;
    let events = Arc::new(Events::default());
    let sink: Arc<dyn AlertSink> = Arc::<Events>::clone(&events);
    let services = Services::default().with(ALERTS_SERVICE, Arc::new(AlertService(sink)));
    let exec = match stage {
        None => TaskExec::new("chunks", &plan, services),
        Some(k) => {
            let stage_of = Arc::new(kap_dataflow::runtime::stages(&plan).stage_of);
            TaskExec::new_segment("chunks", &plan, services, stage_of, k)
        }
    };
    (exec.unwrap(), events)
}

fn points(seed: u64, n: usize) -> Vec<Point> {
    let mut rng = Rng(seed);
    let mut t: i64 = 1_700_000_000_000_000_000;
    (0..n)
        .map(|_| {
            // Mostly forward in time, sometimes late.
            t += (rng.below(4_000) as i64 - 500) * 1_000_000;
            let host = format!("h{}", rng.below(5));
            let measurement = if rng.below(10) == 0 { "mem" } else { "cpu" };
            let value = match rng.below(12) {
                0 => None,
                1 => Some(FieldValue::Int(rng.below(100) as i64)),
                2 => Some(FieldValue::String("x".into())),
                _ => Some(FieldValue::Float(rng.below(10_000) as f64 / 100.0)),
            };
            let fields = value
                .map(|v| vec![(Sym::new("value"), v)])
                .unwrap_or_default();
            Point::new(
                measurement,
                vec![(Sym::new("host"), Sym::new(&host))],
                fields,
                t,
            )
        })
        .collect()
}

/// Node counters without the sampled timings (which differ from run to run).
fn counters(e: &TaskExec) -> String {
    let mut stats = e.node_stats();
    for m in stats.values_mut() {
        m.remove(EXEC_NS);
        m.remove(EXEC_SAMPLES);
    }
    format!("{stats:?} {:?}", e.edge_stats())
}

const SCRIPTS: &[&str] = &[
    // A folded window.
    "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)|mean('value')|alert().crit(lambda: \"mean\" > 50.0).warn(lambda: \"mean\" > 30.0).topic('t')",
    // A buffering window and a selector.
    "stream|from().groupBy('host')|window().period(20s).every(5s)|max('value')|alert().info(lambda: \"max\" > 10.0).stateChangesOnly().topic('t')",
    // Point by point: where, eval, derivative, state nodes.
    "stream|from().measurement('cpu').groupBy('host').where(lambda: \"value\" > 5.0)|eval(lambda: \"value\" * 2.0).as('v2')|derivative('v2').as('d')|stateCount(lambda: \"d\" > 0.0)|alert().warn(lambda: \"state_count\" > 1).details('{{ index .Fields \"d\" }}').topic('t')",
    // A count window, and an alert on every point.
    "stream|from().groupBy('host')|window().periodCount(3).everyCount(2)|percentile('value', 50.0)|alert().crit(lambda: TRUE).topic('t')",
];

#[test]
fn a_chain_delivered_in_chunks_acts_as_one_message_at_a_time() {
    for script in SCRIPTS {
        for seed in 1..=6u64 {
            let data = points(seed * 7919, 600);
            let (mut one, one_events) = exec(script);
            for p in data.clone() {
                one.push_point(p);
            }
            one.finish();

            let (mut chunked, chunk_events) = exec(script);
            assert!(chunked.chains(0), "{script}: the whole plan chains");
            let mut rng = Rng(seed);
            let mut rest = data.into_iter().map(Msg::Point).peekable();
            let mut run = Vec::new();
            while rest.peek().is_some() {
                let n = 1 + rng.below(40) as usize;
                run.extend(rest.by_ref().take(n));
                let mut exits = Vec::new();
                chunked.deliver_chunk(0, 0, &mut run, &mut exits);
                assert!(run.is_empty() && exits.is_empty());
            }
            chunked.finish();

            let (a, b) = (one_events.0.lock().unwrap(), chunk_events.0.lock().unwrap());
            assert!(!a.is_empty(), "{script}: the data must raise alerts");
            assert_eq!(*a, *b, "{script}, seed {seed}: events");
            assert_eq!(
                counters(&one),
                counters(&chunked),
                "{script}, seed {seed}: counters"
            );
        }
    }
}

#[test]
fn only_linear_chains_run_in_chunks() {
    // Two children: messages must reach them depth first.
    let (e, _) =
        exec("var s = stream|from().measurement('cpu')\ns|log()\ns|alert().crit(lambda: TRUE)");
    assert!(!e.chains(0));
    assert!(!e.chains(1), "from has two children");
    assert!(e.chains(2) && e.chains(3), "each leaf chains");
    // A node a `stats` node watches reports every emit: not chained, nor its parents.
    let (e, _) =
        exec("var s = stream|from().measurement('cpu')\ns|stats(10s)|alert().crit(lambda: TRUE)");
    assert!(!e.chains(0) && !e.chains(1));
}

#[test]
fn a_chain_ending_in_another_stage_sends_what_one_at_a_time_sends() {
    for script in SCRIPTS {
        // Stage 0 runs `stream` and `from` (and `where`): `from`'s child is in stage 1.
        let (mut one, _) = exec_stage(script, Some(0));
        let (mut chunked, _) = exec_stage(script, Some(0));
        assert!(chunked.chains(0), "{script}");
        let data = points(17, 500);
        // One at a time: each message's exits, numbered in emission order.
        let mut want = Vec::new();
        for (i, p) in data.clone().into_iter().enumerate() {
            one.push_point(p);
            for (k, (dest, input, m)) in one.take_exits().into_iter().enumerate() {
                want.push(format!("{i} {k} {dest} {input} {m:?}"));
            }
        }
        let mut got = Vec::new();
        let mut rng = Rng(3);
        let mut rest = data.into_iter().map(Msg::Point).peekable();
        let (mut run, mut exits) = (Vec::new(), Vec::<ChunkExit>::new());
        let mut base = 0;
        while rest.peek().is_some() {
            let n = 1 + rng.below(40) as usize;
            run.extend(rest.by_ref().take(n));
            let len = run.len();
            chunked.deliver_chunk(0, 0, &mut run, &mut exits);
            let mut last = None;
            let mut k = 0;
            for (origin, dest, input, m) in exits.drain(..) {
                k = if last == Some(origin) { k + 1 } else { 0 };
                last = Some(origin);
                let i = base + origin as usize;
                got.push(format!("{i} {k} {dest} {input} {m:?}"));
            }
            base += len;
        }
        assert!(!want.is_empty(), "{script}: stage 0 must send on");
        assert_eq!(want, got, "{script}");
        assert_eq!(counters(&one), counters(&chunked), "{script}");
    }
}
