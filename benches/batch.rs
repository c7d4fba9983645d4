//! `batch::query_result`: the engine's time to process one batch query's result against
//! InfluxDB's own time to answer that query, measured in the same run.
//!
//! A private `influxd` (Debian's `influxdb` 1.6 package, started on free ports by
//! `kap_influxdb::testing::Influxd`) holds 10k series (`cpu,host=host-NNNNN value=…`) with
//! one point per series per minute over 10 minutes. The query a batch task with
//! `.groupBy(time(1m), 'host')` sends for that range answers 100k rows (10k series × 10
//! buckets):
//!
//! - `influxdb_answer`: the HTTP request until InfluxDB's whole answer has been received
//!   (nothing parsed).
//! - `engine_process`: everything kapacitord does with that answer: decode the JSON
//!   into one batch per series (`decode_batches`, two threads for a big answer), feed them as one epoch into the task
//!   `batch|query(...)|alert().crit(lambda: "mean" > 90)` and wait until the dataflow has
//!   processed every batch (the dataflow is installed before the clock starts and drained
//!   inside the timed part). Every run checks the alert count against the data.
//!
//! Target: `engine_process` ≤ 5% of `influxdb_answer`.
//!
//! Run: `cargo bench -p kap-benches --bench batch` (needs `influxd`; `./.ci/run` installs
//! Debian's `influxdb` package).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kap_api::daemon::batch::decode_batches;
use kap_dataflow::alert::{ALERTS_SERVICE, AlertEvent, AlertService, AlertSink, Level};
use kap_dataflow::node::Services;
use kap_dataflow::runtime::{Engine, EngineConfig, Feed};
use kap_dsl::plan::NodeSpec;
use kap_dsl::query::BatchQuery;
use kap_influxdb::testing::Influxd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// kapacitord's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SERIES: usize = 10_000;
const BUCKETS: i64 = 10;
const MINUTE: i64 = 60_000_000_000;
/// 2026-01-01T00:00:00Z: the data's first bucket.
const T0: i64 = 1_767_225_600_000_000_000;

const SCRIPT: &str = "batch|query('SELECT mean(value) FROM \"bench\".\"autogen\".\"cpu\"').period(10m).every(10m).groupBy(time(1m), 'host')|alert().crit(lambda: \"mean\" > 90.0).topic('bench')";

/// Counts the critical alert events.
#[derive(Debug, Default)]
struct CritCount(AtomicUsize);

impl AlertSink for CritCount {
    fn publish(&self, event: AlertEvent) {
        if event.level == Level::Critical {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The value of series `s` in bucket `b`: hosts whose number ends in 7 run hot in the last
/// bucket, so the alert fires for a tenth of the series.
fn value(s: usize, b: i64) -> f64 {
    if s % 10 == 7 && b == BUCKETS - 1 {
        95.0
    } else {
        (s % 50) as f64 + b as f64
    }
}

fn load(influxd: &Influxd) {
    influxd.create_database("bench");
    let mut lines = String::new();
    for s in 0..SERIES {
        for b in 0..BUCKETS {
            lines.push_str(&format!(
                "cpu,host=host-{s:05} value={} {}\n",
                value(s, b),
                T0 + b * MINUTE
            ));
        }
        if lines.len() > 1 << 20 {
            influxd.write_lines("bench", &lines);
            lines.clear();
        }
    }
    influxd.write_lines("bench", &lines);
}

/// The form body of the task's query for the data's range.
fn form(query: &str) -> String {
    let mut out = String::from("epoch=ns&q=");
    for b in query.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// InfluxDB's whole answer to the query, as bytes.
fn answer(agent: &ureq::Agent, url: &str, body: &str) -> Vec<u8> {
    let resp = agent
        .post(format!("{url}/query"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(body.as_bytes())
        .expect("query");
    resp.into_body()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .expect("answer")
}

/// Decodes, converts and runs the answer through the installed dataflow `id`; returns the
/// time it took.
fn process(engine: &Engine, id: &str, node: usize, bytes: &[u8], stop: i64) -> (Duration, usize) {
    let start = Instant::now();
    let batches = decode_batches(bytes, false, true, stop).expect("decode");

    let rows: usize = batches.iter().map(|b| b.points.len()).sum();
    engine.feed_batches(id, node, batches).expect("feed");
    engine
        .close_and_wait(id, Duration::from_secs(600))
        .expect("drain");
    (start.elapsed(), rows)
}

fn bench(c: &mut Criterion) {
    let influxd = Influxd::start();
    load(&influxd);
    let plan = kap_dsl::compile_source(SCRIPT, &Default::default())
        .expect("script")
        .pipeline;
    let (node, spec) = plan
        .nodes
        .iter()
        .find_map(|n| match &n.spec {
            NodeSpec::Query(q) => Some((n.id, q.clone())),
            _ => None,
        })
        .expect("query node");
    let stop = T0 + BUCKETS * MINUTE;
    let text = BatchQuery::new(&spec).expect("query").text(T0, stop);
    let body = form(&text);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = influxd.url();
    let sample = answer(&agent, &url, &body);
    let engine = Engine::start(EngineConfig::default()).expect("engine");
    let hot = SERIES / 10;

    let mut g = c.benchmark_group("batch::query_result");
    g.throughput(Throughput::Elements(SERIES as u64 * BUCKETS as u64));
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("influxdb_answer", "100k_rows"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let bytes = answer(&agent, &url, &body);
                total += start.elapsed();
                assert_eq!(bytes.len(), sample.len());
            }
            total
        })
    });
    let mut run = 0usize;
    g.bench_function(
        BenchmarkId::new("engine_process", format!("{}_workers", engine.workers())),
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    run += 1;
                    let id = format!("bench-{run}");
                    let count = Arc::new(CritCount::default());
                    let sink: Arc<dyn AlertSink> = Arc::<CritCount>::clone(&count);
                    let services =
                        Services::default().with(ALERTS_SERVICE, Arc::new(AlertService(sink)));
                    engine
                        .install(&id, &plan, services, Feed::Direct)
                        .expect("install");
                    let (took, rows) = process(&engine, &id, node, &sample, stop);
                    total += took;
                    assert_eq!(rows, SERIES * BUCKETS as usize);
                    assert_eq!(count.0.load(Ordering::Relaxed), hot);
                }
                total
            })
        },
    );
    g.finish();
    engine.shutdown();
}

criterion_group!(benches, bench);
criterion_main!(benches);
