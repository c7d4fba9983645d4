//! `dataflow::pipeline`: stream → from → window(10s) → mean → alert, end to end through the
//! timely engine with 1 and 2 workers, against a bare single-threaded `HashMap`
//! implementation of the same computation measured in the same run (the baseline).
//!
//! Data: 10k series (`cpu,host=host-NNNNN value=…`), one point per series per second for 30
//! seconds (300k points), grouped by host; a 10 s tumbling window per host, its mean, and an
//! alert when the mean drops below 10.
//!
//! Run: `cargo bench -p kap-benches --bench engine`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kap_dataflow::node::Services;
use kap_dataflow::point::{FieldValue, Point, Sym};
use kap_dataflow::runtime::{Engine, EngineConfig, Feed};
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

const SERIES: usize = 10_000;
const SECONDS: i64 = 30;
const SCRIPT: &str = "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)|mean('value')|alert().crit(lambda: \"mean\" < 10.0)";

fn points() -> Vec<Point> {
    let mut out = Vec::with_capacity(SERIES * SECONDS as usize);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let hosts: Vec<Sym> = (0..SERIES)
        .map(|i| Sym::new(&format!("host-{i:05}")))
        .collect();
    for t in 0..SECONDS {
        for h in &hosts {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let tags = vec![(Sym::new("host"), *h)];
            let fields = vec![(
                Sym::new("value"),
                FieldValue::Float((x % 10_000) as f64 / 100.0),
            )];
            let p = Point::new(
                "cpu",
                tags,
                fields,
                1_700_000_000_000_000_000 + t * 1_000_000_000,
            )
            .in_db("telegraf", "autogen");
            out.push(p);
        }
    }
    out
}

/// The same computation without the engine: per host, a 10 s window emitting when a later
/// point arrives (Kapacitor's rule), its mean, and the alert condition.
fn baseline(points: &[Point]) -> usize {
    struct W {
        next_emit: i64,
        sum: f64,
        n: u64,
    }
    let host = Sym::new("host");
    let value = Sym::new("value");
    let mut windows: HashMap<Sym, W> = HashMap::with_capacity(SERIES);
    let mut alerts = 0;
    for p in points {
        let h = kap_dataflow::point::get(&p.tags, host)
            .copied()
            .unwrap_or_else(Sym::empty);
        let v = kap_dataflow::point::get(&p.fields, value)
            .and_then(FieldValue::as_f64)
            .unwrap_or(0.0);
        let w = windows.entry(h).or_insert(W {
            next_emit: p.time + 10_000_000_000,
            sum: 0.0,
            n: 0,
        });
        if p.time >= w.next_emit {
            if w.n > 0 && w.sum / (w.n as f64) < 10.0 {
                alerts += 1;
            }
            w.sum = 0.0;
            w.n = 0;
            w.next_emit = p.time + 10_000_000_000;
        }
        w.sum += v;
        w.n += 1;
    }
    alerts
}

fn run_engine(engine: &Engine, plan: &kap_dsl::plan::Pipeline, points: &[Point], run: usize) {
    let id = format!("bench-{run}");
    engine
        .install(&id, plan, Services::default(), Feed::Direct)
        .expect("install");
    for chunk in points.chunks(4096) {
        engine.feed_points(&id, chunk.to_vec()).expect("feed");
    }
    engine
        .close_and_wait(&id, Duration::from_secs(600))
        .expect("drain");
}

fn bench(c: &mut Criterion) {
    let points = points();
    let plan = kap_dsl::compile_source(SCRIPT, &Default::default())
        .expect("script")
        .pipeline;
    let mut g = c.benchmark_group("dataflow::pipeline");
    g.throughput(Throughput::Elements(points.len() as u64));
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("baseline_hashmap", "1_thread"), |b| {
        b.iter(|| black_box(baseline(&points)))
    });
    for workers in [1usize, 2] {
        let engine = Engine::start(EngineConfig {
            workers,
            ..EngineConfig::default()
        })
        .expect("engine");
        let mut run = 0;
        g.bench_function(
            BenchmarkId::new("engine", format!("{workers}_workers")),
            |b| {
                b.iter(|| {
                    run += 1;
                    run_engine(&engine, &plan, &points, run)
                })
            },
        );
        engine.shutdown();
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
