//! `daemon`: the cost of defining and enabling a task, and of writing a point, with 10 and
//! with 1,000 defined tasks — both must stay flat (the "1,000 defined tasks").
//!
//! The daemon runs in-process (`Daemon::open`: store, engine, task manager; no HTTP, whose
//! cost does not depend on the number of tasks). Every background task reads its own
//! measurement (`m0`, `m1`, …), so a written point matches exactly one task whatever the
//! number of tasks: the write cost measures matching, not work done by the tasks.
//!
//! Run: `cargo bench -p kap-benches --bench daemon`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kap_api::config::Config;
use kap_api::daemon::Daemon;
use kap_api_types::{CreateTask, DbRp};
use kap_dataflow::point::{FieldValue, Point, Sym};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn task(id: &str, measurement: &str) -> CreateTask {
    CreateTask {
        id: id.to_string(),
        kind: "stream".into(),
        dbrps: vec![DbRp {
            db: "db".into(),
            rp: "rp".into(),
        }],
        script: format!(
            "stream\n    |from()\n        .measurement('{measurement}')\n    |window()\n        .period(10s)\n        .every(10s)\n    |count('value')\n    |httpOut('count')\n"
        ),
        status: "enabled".into(),
        ..CreateTask::default()
    }
}

fn daemon(name: &str, tasks: usize) -> Arc<Daemon> {
    let dir = std::env::temp_dir().join(format!("kap-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = Config {
        data_dir: dir,
        ..Config::default()
    };
    let d = Daemon::open(config).expect("open daemon");
    for i in 0..tasks {
        d.tasks
            .create(task(&format!("t{i}"), &format!("m{i}")))
            .expect("define task");
    }
    d
}

fn points(n: usize, t0: i64) -> Vec<Point> {
    (0..n)
        .map(|i| {
            Point::new(
                "m0",
                vec![(Sym::new("host"), Sym::new(&format!("h{}", i % 100)))],
                vec![(Sym::new("value"), FieldValue::Float(i as f64))],
                t0 + i as i64,
            )
            .in_db("db", "rp")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut define = c.benchmark_group("define_enable");
    define
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    let mut write = Vec::new();
    for n in [10usize, 1000] {
        let d = daemon(&format!("n{n}"), n);
        define.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let id = format!("extra{i}");
                    let start = Instant::now();
                    d.tasks.create(task(&id, "extra")).expect("define");
                    total += start.elapsed();
                    d.tasks.delete(&id).expect("delete");
                }
                total
            })
        });
        write.push((n, d));
    }
    define.finish();
    let mut group = c.benchmark_group("write_per_point");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    const BATCH: usize = 5_000;
    group.throughput(Throughput::Elements(BATCH as u64));
    for (n, d) in &write {
        let mut t0 = 0i64;
        group.bench_with_input(BenchmarkId::from_parameter(n), n, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let batch = points(BATCH, t0);
                    t0 += BATCH as i64;
                    let start = Instant::now();
                    d.runtime.write(batch).expect("write");
                    total += start.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
