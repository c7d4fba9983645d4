//! `memory`: what the engine keeps per buffered point and per group, counted by the
//! allocator (live heap bytes, not RSS), through the live path `/write` uses
//! (`Engine::write_timeout` to tasks subscribed to the points' database).
//!
//! - **Buffered points**, in the shape of Kapacitor issue #1586 (4,024 series, a 30-minute
//!   window, a point a minute; Kapacitor was reported to hold ~9.6 KB per buffered point):
//!   Telegraf `cpu` points (tags `host` and `cpu`, ten float fields), 29 minutes of them, so
//!   every window is full and none has emitted. The window's child is an `httpOut`, so the
//!   window keeps the points themselves.
//! - **Groups**: 100,000 series, a point each, through `window → mean`: a tumbling window
//!   whose only child is a reducer folds each point into a partial instead of keeping it, so
//!   what remains is the cost of a group.
//!
//! The baseline, measured in the same run by the same allocator: the same points kept by a
//! bare Rust program in the least memory that still holds them (a `HashMap` from series to
//! a `Vec` of `(time, [f64; 10])`). Each figure is also compared with the points' size as
//! line protocol, what the user sent. What the engine still holds once the task is removed
//! is printed too, and checked: removing a task gives its memory back, but for the
//! engine's pool of emptied parcels kept for reuse (bounded, about 5 MB per worker). Names
//! stay interned by design (their number bounded by the distinct names); they are interned
//! before counting starts.
//!
//! Run: `cargo bench -p kap-benches --bench memory` (`cargo test --benches` runs it with
//! fewer series).

use kap_dataflow::node::Services;
use kap_dataflow::point::{FieldValue, Point, Sym};
use kap_dataflow::runtime::{Engine, EngineConfig, Feed};
use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The daemon's allocator (kapacitord uses it), wrapped to count live bytes.
#[global_allocator]
static ALLOC: cap::Cap<mimalloc::MiMalloc> = cap::Cap::new(mimalloc::MiMalloc, usize::MAX);

/// Telegraf's `cpu` fields.
const FIELDS: [&str; 10] = [
    "usage_guest",
    "usage_guest_nice",
    "usage_idle",
    "usage_iowait",
    "usage_irq",
    "usage_nice",
    "usage_softirq",
    "usage_steal",
    "usage_system",
    "usage_user",
];

const T0: i64 = 1_700_000_000_000_000_000;
const MINUTE: i64 = 60_000_000_000;

/// Live heap bytes.
fn live() -> i64 {
    ALLOC.allocated() as i64
}

/// The series' tags (`host`, `cpu`), interned before anything is measured.
fn series(n: usize) -> Vec<(Sym, Sym)> {
    (0..n)
        .map(|i| {
            (
                Sym::new(&format!("server-{:05}", i / 4)),
                Sym::new(&format!("cpu{}", i % 4)),
            )
        })
        .collect()
}

/// Minute `m`'s point of every series.
fn minute(series: &[(Sym, Sym)], m: i64) -> Vec<Point> {
    let (host, cpu) = (Sym::new("host"), Sym::new("cpu"));
    series
        .iter()
        .enumerate()
        .map(|(i, &(h, c))| {
            let fields: Vec<(Sym, FieldValue)> = FIELDS
                .iter()
                .enumerate()
                .map(|(k, f)| {
                    let v = ((i as i64 * 31 + m * 7 + k as i64) % 1000) as f64 / 10.0;
                    (Sym::new(f), FieldValue::Float(v))
                })
                .collect();
            Point::new("cpu", vec![(host, h), (cpu, c)], fields, T0 + m * MINUTE)
                .in_db("telegraf", "autogen")
        })
        .collect()
}

/// The size of `points` as line protocol, as the daemon writes them out (nanosecond
/// timestamps): what a client sends for them.
fn line_protocol_bytes(points: &[Point]) -> usize {
    let mut line = String::new();
    points
        .iter()
        .map(|p| {
            line.clear();
            kap_api::daemon::write::line_of(p).write_to(&mut line);
            line.len() + 1
        })
        .sum()
}

/// The least a bare program keeps of these points: per series, time and values.
type Bare = HashMap<(Sym, Sym), Vec<(i64, [f64; 10])>>;

fn bare_add(bare: &mut Bare, points: &[Point]) {
    for p in points {
        let key = (p.tags[0].1, p.tags[1].1);
        let mut values = [0.0; 10];
        for (v, (_, f)) in values.iter_mut().zip(&p.fields) {
            *v = f.as_f64().unwrap_or(0.0);
        }
        bare.entry(key).or_default().push((p.time, values));
    }
}

/// Runs `script` as a live task over `minutes` minutes of points of `n` series; returns the
/// bytes the engine holds once every point is in (task included), the bytes it holds once
/// the task is removed (both against what it held before the install), the bare
/// baseline's bytes for the same points, and their size as line protocol.
///
/// Each run is made twice and the first discarded: it brings the engine's pools (emptied
/// parcels, lane buffers) near their steady size for this shape of write, so what the
/// engine holds after the removal is mostly what the removed task left.
fn measure(engine: &Engine, script: &str, n: usize, minutes: i64) -> (i64, i64, i64, usize) {
    run(engine, script, n, minutes);
    run(engine, script, n, minutes)
}

/// One run of [`measure`].
fn run(engine: &Engine, script: &str, n: usize, minutes: i64) -> (i64, i64, i64, usize) {
    let series = series(n);
    let plan = kap_dsl::compile_source(script, &Default::default())
        .expect("script")
        .pipeline;
    let feed = Feed::Live {
        dbrps: vec![kap_dsl::plan::DbRp {
            db: "telegraf".into(),
            rp: "autogen".into(),
        }],
        measurements: None,
    };
    // Field names and the first chunk's allocations are warmed before the count starts.
    drop(minute(&series, 0));
    engine.quiesce(Duration::from_secs(5));
    let before = live();
    engine
        .install("memory", &plan, Services::default(), feed)
        .expect("install");
    let mut lp = 0;
    for m in 0..minutes {
        let points = minute(&series, m);
        lp += line_protocol_bytes(&points);
        engine
            .write_timeout(points, Duration::from_secs(60))
            .expect("write");
    }
    let want = (n as i64 * minutes) as u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let seen: u64 = engine
            .stats("memory")
            .expect("installed")
            .edges
            .iter()
            .filter(|((parent, _), _)| parent.starts_with("from"))
            .map(|(_, n)| *n)
            .sum();
        if seen >= want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the task saw {seen} of {want} points"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    engine.quiesce(Duration::from_secs(5));
    let held = live() - before;
    engine.remove("memory").expect("remove");
    engine.quiesce(Duration::from_secs(5));
    let left = live() - before;
    // Removing a task gives back what it held; what may stay is the engine's pool of
    // emptied parcels kept for reuse, bounded at about 5 MB per worker.
    let pools = engine.workers() as i64 * (6 << 20);
    assert!(
        left < pools,
        "the engine holds {left} B more than before the task was installed"
    );

    let before = live();
    let mut bare = Bare::with_capacity(n);
    for m in 0..minutes {
        bare_add(&mut bare, &minute(&series, m));
    }
    let bare_bytes = live() - before;
    black_box(&bare);
    (held, left, bare_bytes, lp)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it as a test: smaller then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (buffered_series, group_series) = if quick {
        (400, 10_000)
    } else {
        (4_024, 100_000)
    };
    for workers in [1usize, 2] {
        let engine = Engine::start(EngineConfig {
            workers,
            ..EngineConfig::default()
        })
        .expect("engine");
        let minutes = 29;
        let (held, left, bare, lp) = measure(
            &engine,
            "stream|from().measurement('cpu').groupBy('host', 'cpu')\
             |window().period(30m).every(30m)|httpOut('w')",
            buffered_series,
            minutes,
        );
        let points = (buffered_series as i64 * minutes) as f64;
        println!(
            "memory::buffered ({workers} worker(s), {buffered_series} series, {} points in \
             30m windows): engine {:.0} B/point, bare baseline {:.0} B/point (engine/baseline \
             {:.2}), line protocol {:.0} B/point (engine/line protocol {:.2}); held after \
             removal {} B",
            points as i64,
            held as f64 / points,
            bare as f64 / points,
            held as f64 / bare as f64,
            lp as f64 / points,
            held as f64 / lp as f64,
            left,
        );

        let (held, left, bare, lp) = measure(
            &engine,
            "stream|from().measurement('cpu').groupBy('host', 'cpu')\
             |window().period(1m).every(1m)|mean('usage_idle')|httpOut('m')",
            group_series,
            1,
        );
        let groups = group_series as f64;
        println!(
            "memory::groups ({workers} worker(s), {group_series} groups, window → mean): \
             engine {:.0} B/group (bare baseline keeping the point {:.0} B, line protocol \
             {:.0} B); held after removal {} B",
            held as f64 / groups,
            bare as f64 / groups,
            lp as f64 / groups,
            left,
        );
        engine.shutdown();
    }
}
