//! Line protocol parse throughput: `kap_line_protocol` against the `influxdb-line-protocol`
//! crate (InfluxDB IOx's nom parser) on the same Telegraf-like body, in the same run.
//!
//! Two groups measure the same work: `ingest::line_protocol::parse` reports bytes per second,
//! `ingest::line_protocol::parse_lines` lines per second. Both parsers must touch every parsed
//! line (measurement, tag count, every float field, timestamp), so nothing is optimized away.
//! Ours reuses one `ParsedLine` across the body (`Lines::next_into`), which is how the ingest
//! path calls it.
//!
//! Run it with:
//!
//! ```text
//! cargo bench -p kap-benches --bench line_protocol -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! CI only compiles it (`cargo bench --no-run`): 2 shared cores make numbers noisy.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kap_benches::CpuScenario;

/// Parses `body` with our parser and folds every line into a checksum.
fn ours(body: &str) -> f64 {
    let mut acc = 0.0;
    let mut lines = kap_line_protocol::parse_lines(body);
    let mut line = kap_line_protocol::ParsedLine::default();
    while let Some(result) = lines.next_into(&mut line) {
        if result.is_err() {
            acc -= 1.0;
            continue;
        }
        acc += (line.measurement.len() + line.tags.len()) as f64;
        for (_, v) in &line.fields {
            if let kap_line_protocol::FieldValue::Float(f) = v {
                acc += f;
            }
        }
        acc += line.timestamp.unwrap_or(0) as f64;
    }
    acc
}

/// The same fold with the `influxdb-line-protocol` crate.
fn baseline(body: &str) -> f64 {
    let mut acc = 0.0;
    for result in influxdb_line_protocol::parse_lines(body) {
        let Ok(line) = result else {
            acc -= 1.0;
            continue;
        };
        let tags = line.series.tag_set.as_ref().map_or(0, |t| t.len());
        acc += (line.series.measurement.len() + tags) as f64;
        for (_, v) in &line.field_set {
            if let influxdb_line_protocol::FieldValue::F64(f) = v {
                acc += f;
            }
        }
        acc += line.timestamp.unwrap_or(0) as f64;
    }
    acc
}

fn parse(c: &mut Criterion) {
    let scenario = CpuScenario::TELEGRAF_10K;
    let body = scenario.generate();
    // Both parsers must agree before their speed means anything.
    assert_eq!(
        ours(&body),
        baseline(&body),
        "parsers disagree on the benchmark body"
    );

    for (group, throughput) in [
        (
            "ingest::line_protocol::parse",
            Throughput::Bytes(body.len() as u64),
        ),
        (
            "ingest::line_protocol::parse_lines",
            Throughput::Elements(scenario.lines() as u64),
        ),
    ] {
        let mut g = c.benchmark_group(group);
        g.throughput(throughput);
        g.bench_function(BenchmarkId::new("kap_line_protocol", scenario), |b| {
            b.iter(|| ours(black_box(&body)))
        });
        g.bench_function(BenchmarkId::new("influxdb_line_protocol", scenario), |b| {
            b.iter(|| baseline(black_box(&body)))
        });
        g.finish();
    }
}

criterion_group!(benches, parse);
criterion_main!(benches);
