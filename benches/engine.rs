//! `dataflow::pipeline`: stream → from → window(10s) → mean → alert, end to end through the
//! timely engine with 1 and 2 workers, against a bare single-threaded `HashMap`
//! implementation of the same computation measured in the same run (the baseline).
//!
//! Data: 10k series (`cpu,host=host-NNNNN value=…`), one point per series per second for 30
//! seconds (300k points), grouped by host; a 10 s tumbling window per host, its mean, and an
//! alert when the mean drops below 10.
//!
//! The engine's input is built before each timed run (`Vec<Point>` chunks of 4096, as a
//! `/write` body would arrive); the engine consumes (and frees) it. Both sides count the
//! critical alerts, and every run checks the engine found as many as the baseline; before
//! timing, both also run with a threshold that fires often (mean < 40) and must agree.
//!
//! The machine's speed drifts by up to twice over minutes (shared hosts), and criterion
//! measures the baseline and each engine setting minutes apart. So the bench ends with a
//! paired measurement: rounds of baseline, engine with 1 worker and engine with 2 workers
//! back to back, each round's shares computed within the round, and the median printed
//! (`paired: ...`), then the same from each column's fastest rounds (its tenth percentile:
//! what the machine gives when it is quiet). Each round also times the same computation by
//! two hand-written threads without the engine, the two ways two workers can share it:
//! `ideal_split` splits the chunks between the threads by host (keeping each host's points
//! in order) and each folds its share; `ideal_shared` moves nothing, both threads read
//! every point and fold the hosts of their half. They show what sharing this input between
//! two cores costs at the least, with nothing of an engine: on the 2-core machine this was
//! written on, splitting mostly stays under half of the baseline per core and sharing comes
//! to about half (reading a point to learn its host costs about as much as the baseline's
//! whole work on it), the target for the engine.
//!
//! Last, `memory: ...` says how much faster two cores of the machine read memory than one,
//! and `cores: ...` how much more of the baseline's computation two cores do than one, each
//! over its own copy of the input (and of a loop touching no memory): the ceiling of any
//! two-thread program over this input, the engine's or hand-written.
//!
//! `dataflow::pipeline_live` feeds the same pipeline as `/write` does (`Engine::write`, a
//! task subscribed to the points' database), with a threshold that fires often.
//!
//! Run: `cargo bench -p kap-benches --bench engine`.

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group};
use kap_dataflow::alert::{ALERTS_SERVICE, AlertEvent, AlertService, AlertSink, Level};
use kap_dataflow::node::Services;
use kap_dataflow::point::{FieldValue, Point, Sym};
use kap_dataflow::runtime::{Engine, EngineConfig, Feed};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The daemon's allocator (kapacitord uses it); it serves the baseline too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SERIES: usize = 10_000;
const SECONDS: i64 = 30;
const CHUNK: usize = 4096;

fn script(threshold: f64) -> String {
    format!(
        "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)|mean('value')|alert().crit(lambda: \"mean\" < {threshold:.1}).topic('bench')"
    )
}

/// Counts the critical alert events the engine publishes.
#[derive(Debug, Default)]
struct CritCount(AtomicUsize);

impl AlertSink for CritCount {
    fn publish(&self, event: AlertEvent) {
        if event.level == Level::Critical {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

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

/// The baseline's state: per host, a 10 s window emitting when a later point arrives
/// (Kapacitor's rule), its mean, and the alert condition.
struct Windows {
    map: HashMap<Sym, W>,
    host: Sym,
    value: Sym,
    threshold: f64,
    alerts: usize,
}

struct W {
    next_emit: i64,
    sum: f64,
    n: u64,
}

impl Windows {
    fn new(threshold: f64) -> Windows {
        Windows {
            map: HashMap::with_capacity(SERIES),
            host: Sym::new("host"),
            value: Sym::new("value"),
            threshold,
            alerts: 0,
        }
    }

    /// The host of `p`.
    #[inline(always)]
    fn host(&self, p: &Point) -> Sym {
        kap_dataflow::point::get(&p.tags, self.host)
            .copied()
            .unwrap_or_else(Sym::empty)
    }

    /// Which of two threads folds `p` (by its host's hash).
    #[inline(always)]
    fn half(&self, p: &Point) -> usize {
        (self.host(p).content_hash() % 2) as usize
    }

    #[inline(always)]
    fn add(&mut self, p: &Point) {
        let h = self.host(p);
        let v = kap_dataflow::point::get(&p.fields, self.value)
            .and_then(FieldValue::as_f64)
            .unwrap_or(0.0);
        let w = self.map.entry(h).or_insert(W {
            next_emit: p.time + 10_000_000_000,
            sum: 0.0,
            n: 0,
        });
        if p.time >= w.next_emit {
            if w.n > 0 && w.sum / (w.n as f64) < self.threshold {
                self.alerts += 1;
            }
            w.sum = 0.0;
            w.n = 0;
            w.next_emit = p.time + 10_000_000_000;
        }
        w.sum += v;
        w.n += 1;
    }
}

/// The same computation without the engine, on one thread: the baseline.
fn baseline(points: &[Point], threshold: f64) -> usize {
    let mut windows = Windows::new(threshold);
    for p in points {
        windows.add(p);
    }
    windows.alerts
}

/// What splitting the input between two workers costs at the least: the same computation
/// by two hand-written threads, no engine. Chunk `i` is split by thread `i % 2`
/// (by the host's hash), which sends the other thread its share over a channel and folds
/// its own; each thread takes the chunks in order, so every host's points are folded in
/// time order, as Kapacitor's windows require. It consumes its input, as the engine does.
fn ideal_split(chunks: Vec<Vec<Point>>, threshold: f64) -> usize {
    let n = chunks.len();
    let mut own: [Vec<Vec<Point>>; 2] = [Vec::new(), Vec::new()];
    for (i, chunk) in chunks.into_iter().enumerate() {
        own[i % 2].push(chunk);
    }
    let (to_1, from_0) = std::sync::mpsc::channel::<Vec<Point>>();
    let (to_0, from_1) = std::sync::mpsc::channel::<Vec<Point>>();
    let work = move |me: usize,
                     mine: Vec<Vec<Point>>,
                     to: std::sync::mpsc::Sender<Vec<Point>>,
                     from: std::sync::mpsc::Receiver<Vec<Point>>| {
        let mut windows = Windows::new(threshold);
        let mut mine = mine.into_iter();
        for i in 0..n {
            if i % 2 == me {
                let chunk = mine.next().expect("own chunk");
                let mut local = Vec::with_capacity(chunk.len() / 2 + 64);
                let mut other = Vec::with_capacity(chunk.len() / 2 + 64);
                for p in chunk {
                    if windows.half(&p) == me {
                        local.push(p);
                    } else {
                        other.push(p);
                    }
                }
                to.send(other).expect("peer");
                for p in &local {
                    windows.add(p);
                }
            } else {
                for p in &from.recv().expect("peer") {
                    windows.add(p);
                }
            }
        }
        windows.alerts
    };
    let [own_0, own_1] = own;
    std::thread::scope(|s| {
        let zero = s.spawn(move || work(0, own_0, to_1, from_1));
        let one = s.spawn(move || work(1, own_1, to_0, from_0));
        zero.join().expect("thread 0") + one.join().expect("thread 1")
    })
}

/// The other way to share the work between two hand-written threads: nothing is split or
/// moved; both threads read every point and each folds the hosts of its hash half. It
/// drops its input once both are done.
fn ideal_shared(chunks: Vec<Vec<Point>>, threshold: f64) -> usize {
    let chunks = &chunks;
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..2usize)
            .map(|me| {
                s.spawn(move || {
                    let mut windows = Windows::new(threshold);
                    for p in chunks.iter().flatten() {
                        if windows.half(p) == me {
                            windows.add(p);
                        }
                    }
                    windows.alerts
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().expect("thread")).sum()
    })
}

/// Runs the pipeline through the engine on prebuilt chunks; returns the critical alerts.
fn run_engine(
    engine: &Engine,
    plan: &kap_dsl::plan::Pipeline,
    chunks: Vec<Vec<Point>>,
    run: usize,
) -> usize {
    let id = format!("bench-{run}");
    let (count, services) = counted();
    engine
        .install(&id, plan, services, Feed::Direct)
        .expect("install");
    for chunk in chunks {
        engine.feed_points(&id, chunk).expect("feed");
    }
    engine
        .close_and_wait(&id, Duration::from_secs(600))
        .expect("drain");
    count.0.load(Ordering::Relaxed)
}

/// A fresh count of critical alerts, and the services that publish alerts to it.
fn counted() -> (Arc<CritCount>, Services) {
    let count = Arc::new(CritCount::default());
    let sink: Arc<dyn AlertSink> = Arc::<CritCount>::clone(&count);
    let services = Services::default().with(ALERTS_SERVICE, Arc::new(AlertService(sink)));
    (count, services)
}

/// Benchmarks `run` (engine, input, run number → critical alerts) with 1 and 2 workers in
/// `g`: each iteration gets fresh chunks of `points` and must find `expected` alerts.
fn engines(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    points: &[Point],
    expected: usize,
    mut run: impl FnMut(&Engine, Vec<Vec<Point>>, usize) -> usize,
) {
    for workers in [1usize, 2] {
        let engine = Engine::start(EngineConfig {
            workers,
            ..EngineConfig::default()
        })
        .expect("engine");
        let mut n = 0;
        g.bench_function(
            BenchmarkId::new("engine", format!("{workers}_workers")),
            |b| {
                b.iter_batched(
                    || chunks(points),
                    |input| {
                        n += 1;
                        assert_eq!(run(&engine, input, n), expected);
                    },
                    BatchSize::PerIteration,
                )
            },
        );
        engine.shutdown();
    }
}

fn chunks(points: &[Point]) -> Vec<Vec<Point>> {
    points.chunks(CHUNK).map(<[Point]>::to_vec).collect()
}

fn compile(threshold: f64) -> kap_dsl::plan::Pipeline {
    kap_dsl::compile_source(&script(threshold), &Default::default())
        .expect("script")
        .pipeline
}

fn bench(c: &mut Criterion) {
    let points = points();
    let plan = compile(10.0);
    let expected = baseline(&points, 10.0);
    {
        // Both sides agree where alerts are frequent.
        let engine = Engine::start(EngineConfig {
            workers: 2,
            ..EngineConfig::default()
        })
        .expect("engine");
        let want = baseline(&points, 40.0);
        let got = run_engine(&engine, &compile(40.0), chunks(&points), 0);
        assert!(want > 0, "the check threshold must fire");
        assert_eq!(got, want, "engine and baseline disagree on alerts");
        engine.shutdown();
    }
    let mut g = c.benchmark_group("dataflow::pipeline");
    g.throughput(Throughput::Elements(points.len() as u64));
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("baseline_hashmap", "1_thread"), |b| {
        b.iter(|| assert_eq!(black_box(baseline(&points, 10.0)), expected))
    });
    engines(&mut g, &points, expected, |engine, input, run| {
        run_engine(engine, &plan, input, run)
    });
    g.finish();
}

/// Rounds of the paired measurement.
const PAIRED_ROUNDS: usize = 21;

/// Baseline, 1 worker, 2 workers and the two hand-written two-thread programs
/// ([`ideal_split`], [`ideal_shared`]) back to back, `PAIRED_ROUNDS` times; prints the
/// median time of each and the median of the shares computed within each round, then the
/// quiet rounds' figures: each column's tenth percentile, and the shares of those.
fn paired() {
    let points = points();
    let plan = compile(10.0);
    let expected = baseline(&points, 10.0);
    let engines: Vec<Engine> = [1usize, 2]
        .into_iter()
        .map(|workers| {
            Engine::start(EngineConfig {
                workers,
                ..EngineConfig::default()
            })
            .expect("engine")
        })
        .collect();
    let mut rows: Vec<[f64; 5]> = Vec::with_capacity(PAIRED_ROUNDS);
    for round in 0..PAIRED_ROUNDS {
        let mut row = [0.0; 5];
        let t = Instant::now();
        assert_eq!(black_box(baseline(&points, 10.0)), expected);
        row[0] = t.elapsed().as_secs_f64();
        for (k, engine) in engines.iter().enumerate() {
            let input = chunks(&points);
            let t = Instant::now();
            let got = run_engine(engine, &plan, input, 1_000 + round * 2 + k);
            row[k + 1] = t.elapsed().as_secs_f64();
            assert_eq!(got, expected);
        }
        let input = chunks(&points);
        let t = Instant::now();
        assert_eq!(black_box(ideal_split(input, 10.0)), expected);
        row[3] = t.elapsed().as_secs_f64();
        let input = chunks(&points);
        let t = Instant::now();
        assert_eq!(black_box(ideal_shared(input, 10.0)), expected);
        row[4] = t.elapsed().as_secs_f64();
        rows.push(row);
    }
    for engine in engines {
        engine.shutdown();
    }
    // The machine's slow phases (a vCPU slowed by its neighbours, a core left idle) hit
    // two-thread runs harder than the one-thread baseline. Each column's tenth percentile
    // is what the machine gives when it is quiet; both figures still move by about a tenth
    // between runs (five runs of one binary: 2 workers per core 21-26 % as medians, 25-31 %
    // in quiet rounds).
    let rank = |mut v: Vec<f64>, q: usize| {
        v.sort_by(f64::total_cmp);
        v[(v.len() - 1) * q / 100]
    };
    let col = |k: usize, q: usize| rank(rows.iter().map(|r| r[k]).collect(), q);
    // Share: the engine's points/s (per core with 2 workers) over the baseline's, per round.
    let shares =
        |k: usize, per: f64| -> Vec<f64> { rows.iter().map(|r| r[0] / (per * r[k])).collect() };
    let ms = |s: f64| s * 1e3;
    println!(
        "paired ({PAIRED_ROUNDS} rounds, medians): baseline {:.2} ms, engine 1 worker {:.2} ms \
         (share {:.1} %), engine 2 workers {:.2} ms (share per core {:.1} %); without the \
         engine, 2 hand-written threads splitting {:.2} ms (share per core {:.1} %), sharing \
         {:.2} ms (share per core {:.1} %)",
        ms(col(0, 50)),
        ms(col(1, 50)),
        100.0 * rank(shares(1, 1.0), 50),
        ms(col(2, 50)),
        100.0 * rank(shares(2, 2.0), 50),
        ms(col(3, 50)),
        100.0 * rank(shares(3, 2.0), 50),
        ms(col(4, 50)),
        100.0 * rank(shares(4, 2.0), 50),
    );
    let quiet = |k: usize, per: f64| 100.0 * col(0, 10) / (per * col(k, 10));
    println!(
        "paired, quiet rounds (10th percentile of each): baseline {:.2} ms, engine 1 worker \
         {:.2} ms (share {:.1} %), engine 2 workers {:.2} ms (share per core {:.1} %); \
         splitting {:.2} ms ({:.1} %), sharing {:.2} ms ({:.1} %)",
        ms(col(0, 10)),
        ms(col(1, 10)),
        quiet(1, 1.0),
        ms(col(2, 10)),
        quiet(2, 2.0),
        ms(col(3, 10)),
        quiet(3, 2.0),
        ms(col(4, 10)),
        quiet(4, 2.0),
    );
}

/// The live path, as `/write` uses it: the same pipeline fed through [`Engine::write`] to a
/// task subscribed to the points' database. A live task has no end of input, so each run
/// ends when its alerts are all out: the threshold fires often (mean < 40) and a last point
/// per series, 10 s later, closes every window of the data.
fn bench_live(c: &mut Criterion) {
    let mut points = points();
    let tail: Vec<Point> = points[points.len() - SERIES..]
        .iter()
        .map(|p| {
            let mut q = p.clone();
            q.time += 10_000_000_000;
            q
        })
        .collect();
    points.extend(tail);
    let plan = compile(40.0);
    let expected = baseline(&points, 40.0);
    assert!(expected > 0, "the live threshold must fire");
    let mut g = c.benchmark_group("dataflow::pipeline_live");
    g.throughput(Throughput::Elements(points.len() as u64));
    g.sample_size(10);
    engines(&mut g, &points, expected, |engine, input, run| {
        run_live(engine, &plan, input, run, expected)
    });
    g.finish();
}

/// Runs the pipeline as a live task until `expected` critical alerts are out.
fn run_live(
    engine: &Engine,
    plan: &kap_dsl::plan::Pipeline,
    chunks: Vec<Vec<Point>>,
    run: usize,
    expected: usize,
) -> usize {
    let id = format!("live-{run}");
    let (count, services) = counted();
    let feed = Feed::Live {
        dbrps: vec![kap_dsl::plan::DbRp {
            db: "telegraf".into(),
            rp: "autogen".into(),
        }],
        measurements: None,
    };
    engine.install(&id, plan, services, feed).expect("install");
    for chunk in chunks {
        engine
            .write_timeout(chunk, Duration::from_secs(60))
            .expect("write");
    }
    // Polled with short sleeps: a thread spinning on `yield_now` took a core's share from
    // the workers it waits for (on a 2-core machine, a third of the CPU).
    let deadline = Instant::now() + Duration::from_secs(600);
    while count.0.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(50));
    }
    engine.remove(&id).expect("remove");
    count.0.load(Ordering::Relaxed)
}

/// How much faster two cores read memory than one, on this machine: a 64 MiB buffer summed
/// by one thread, then by two threads a half each, median of rounds. The engine's input
/// does not fit in the caches, so its two workers can go no faster, side by side, than
/// two cores reading together (one thread read at about 17 GB/s on the 2-core machine this
/// was written on; two, together, about 1.3 times that).
fn memory_scaling() {
    const WORDS: usize = 8 << 20;
    let data: Vec<u64> = (0..WORDS as u64).collect();
    let sum = |s: &[u64]| s.iter().fold(0u64, |a, &x| a.wrapping_add(x));
    let mut one = Vec::new();
    let mut two = Vec::new();
    for _ in 0..PAIRED_ROUNDS {
        let t = Instant::now();
        black_box(sum(&data));
        one.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let (a, b) = data.split_at(WORDS / 2);
        std::thread::scope(|s| {
            let x = s.spawn(|| sum(a));
            let y = s.spawn(|| sum(b));
            black_box(x.join().expect("reader") ^ y.join().expect("reader"));
        });
        two.push(t.elapsed().as_secs_f64());
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (one, two) = (median(one), median(two));
    let gbs = |secs: f64| (WORDS * 8) as f64 / secs / 1e9;
    println!(
        "memory: one core reads {:.1} GB/s, two cores together {:.1} GB/s ({:.2} times one)",
        gbs(one),
        gbs(two),
        one / two
    );
}

/// How much more of this computation two cores do than one, on this machine, with nothing
/// shared: the baseline alone, then two baselines side by side, each over its own copy of
/// the input (median of rounds); and the same for a loop that touches no memory. With no
/// engine and no split, the second core's gain over this input is at most what the side by
/// side run shows: the ceiling of any two-worker program's share per core is half of it.
fn core_scaling() {
    let points = points();
    let copy = points.clone();
    let expected = baseline(&points, 10.0);
    let spin = |n: u64| {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        x
    };
    const SPINS: u64 = 20_000_000;
    let mut rows: Vec<[f64; 4]> = Vec::with_capacity(PAIRED_ROUNDS);
    for _ in 0..PAIRED_ROUNDS {
        let mut row = [0.0; 4];
        let t = Instant::now();
        assert_eq!(black_box(baseline(&points, 10.0)), expected);
        row[0] = t.elapsed().as_secs_f64();
        let t = Instant::now();
        std::thread::scope(|s| {
            let a = s.spawn(|| baseline(&points, 10.0));
            let b = s.spawn(|| baseline(&copy, 10.0));
            assert_eq!(
                black_box(a.join().expect("a") + b.join().expect("b")),
                2 * expected
            );
        });
        row[1] = t.elapsed().as_secs_f64();
        let t = Instant::now();
        black_box(spin(black_box(SPINS)));
        row[2] = t.elapsed().as_secs_f64();
        let t = Instant::now();
        std::thread::scope(|s| {
            let a = s.spawn(|| spin(black_box(SPINS)));
            let b = s.spawn(|| spin(black_box(SPINS)));
            black_box(a.join().expect("a") ^ b.join().expect("b"));
        });
        row[3] = t.elapsed().as_secs_f64();
        rows.push(row);
    }
    let median = |k: usize| {
        let mut v: Vec<f64> = rows.iter().map(|r| r[k]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Twice the work in the side by side time: its throughput over one core's.
    let gain = |alone: usize, both: usize| 2.0 * median(alone) / median(both);
    println!(
        "cores: the baseline alone {:.2} ms, two side by side (each its own input) {:.2} ms: \
         two cores do {:.2} times what one does on this computation (so about {:.1} % \
         per core at most, for any two-worker program); a loop touching no memory: {:.2} \
         times",
        median(0) * 1e3,
        median(1) * 1e3,
        gain(0, 1),
        50.0 * gain(0, 1),
        gain(2, 3),
    );
}

criterion_group!(benches, bench, bench_live);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --benches` runs benches once as tests: no paired rounds then.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        paired();
        memory_scaling();
        core_scaling();
    }
}
