//! The timely runtime: tasks installed and removed while data flows, and replays isolated
//! from live tasks.

mod xform_common;

use kap_dataflow::node::Services;
use kap_dataflow::ops::http_out::HttpOutRegistry;
use kap_dataflow::point::{FieldValue, Point, Sym};
use kap_dataflow::runtime::{Engine, EngineConfig, Feed};
use kap_dsl::plan::{DbRp, Pipeline};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xform_common::TestClock;

fn plan(script: &str) -> Pipeline {
    kap_dsl::compile_source(script, &Default::default())
        .expect("script compiles")
        .pipeline
}

fn point(host: &str, value: f64, t: i64) -> Point {
    let tags = vec![(Sym::new("host"), Sym::new(host))];
    let fields = vec![(Sym::new("value"), FieldValue::Float(value))];
    Point::new("cpu", tags, fields, t * 1_000_000_000).in_db("db", "rp")
}

fn live() -> Feed {
    Feed::Live {
        dbrps: vec![DbRp {
            db: "db".into(),
            rp: "rp".into(),
        }],
        measurements: Some(vec!["cpu".into()]),
    }
}

/// An engine with `workers` workers, the rest of its configuration the default.
fn start(workers: usize) -> Engine {
    Engine::start(EngineConfig {
        workers,
        ..Default::default()
    })
    .unwrap()
}

/// What httpOut `ep` of `task` shows now (empty when nothing yet).
fn json_now(reg: &HttpOutRegistry, task: &str, ep: &str) -> String {
    reg.json(task, ep).and_then(Result::ok).unwrap_or_default()
}

/// Polls an httpOut endpoint until `pred` holds (or 10 s pass) and returns the last JSON.
fn wait_json(reg: &HttpOutRegistry, task: &str, ep: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let json = json_now(reg, task, ep);
        if pred(&json) || Instant::now() > deadline {
            return json;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

const LAST_PER_HOST: &str = "stream|from().measurement('cpu').groupBy('host')|httpOut('last')";

#[test]
fn a_live_write_is_processed_without_waiting_for_the_heartbeat() {
    // A worker can take a write's watermark before the worker its points went to has fed
    // them: it must still let the epoch pass, not hold it until the heartbeat (here never)
    // or the next write.
    for workers in [1, 2, 3] {
        let engine = Engine::start(EngineConfig {
            workers,
            heartbeat: Duration::from_secs(3600),
            ..Default::default()
        })
        .unwrap();
        let reg = Arc::new(HttpOutRegistry::default());
        let script = "stream|from().measurement('cpu')|httpOut('last')";
        let services = Services::default().with("http_out", Arc::clone(&reg));
        engine
            .install("t", &plan(script), services, live())
            .unwrap();
        for t in 0..40 {
            // Each write's series lands on some worker; the others only see its watermark.
            let host = format!("h{t}");
            engine.write(vec![point(&host, t as f64, t)]).unwrap();
            let want = format!("\"{host}\"");
            let json = wait_json(&reg, "t", "last", |j| j.contains(&want));
            assert!(json.contains(&want), "{workers} workers, write {t}: {json}");
        }
        engine.shutdown();
    }
}

#[test]
fn a_live_task_s_statistics_show_its_last_write_soon_after_it() {
    // Statistics are published at most every 100 ms while data flows; what was held back
    // is published once the stage wakes again, which must not wait for the 5 s sweep of
    // idle dataflows.
    for workers in [1, 2] {
        let engine = start(workers);
        let script =
            "stream|from().measurement('cpu')|where(lambda: \"value\" > 0.0)|httpOut('last')";
        let services = Services::default().with("http_out", Arc::new(HttpOutRegistry::default()));
        engine
            .install("t", &plan(script), services, live())
            .unwrap();
        let counted = |engine: &Engine| {
            engine
                .stats("t")
                .and_then(|s| {
                    s.edges
                        .get(&("where2".to_string(), "http_out3".to_string()))
                        .copied()
                })
                .unwrap_or(0)
        };
        let mut sent = 0;
        for round in 0..5 {
            // Writes close together (within the publishing interval), then silence.
            for t in 0..3 {
                engine.write(vec![point("h", 1.0, round * 10 + t)]).unwrap();
                sent += 1;
            }
            let start = Instant::now();
            while counted(&engine) < sent && start.elapsed() < Duration::from_secs(4) {
                std::thread::sleep(Duration::from_millis(10));
            }
            assert_eq!(counted(&engine), sent, "{workers} workers, round {round}");
        }
        engine.shutdown();
    }
}

#[test]
fn installing_and_removing_tasks_leaves_other_tasks_alone() {
    let engine = start(2);
    let reg_a = Arc::new(HttpOutRegistry::default());
    engine
        .install(
            "a",
            &plan(LAST_PER_HOST),
            Services::default().with("http_out", Arc::clone(&reg_a)),
            live(),
        )
        .unwrap();
    for t in 0..50 {
        engine
            .write(vec![point("h1", t as f64, t), point("h2", -(t as f64), t)])
            .unwrap();
        if t == 10 {
            let reg_b = Arc::new(HttpOutRegistry::default());
            let b = "stream|from().measurement('cpu')|where(lambda: \"value\" > 20.0)|httpOut('b')";
            engine
                .install(
                    "b",
                    &plan(b),
                    Services::default().with("http_out", reg_b),
                    live(),
                )
                .unwrap();
        }
        if t == 30 {
            engine.remove("b").unwrap();
        }
    }
    let json = wait_json(&reg_a, "a", "last", |j| {
        j.contains("[\"1970-01-01T00:00:49Z\",49]")
    });
    assert_eq!(
        json,
        "{\"series\":[{\"name\":\"cpu\",\"tags\":{\"host\":\"h1\"},\"columns\":[\"time\",\"value\"],\"values\":[[\"1970-01-01T00:00:49Z\",49]]},{\"name\":\"cpu\",\"tags\":{\"host\":\"h2\"},\"columns\":[\"time\",\"value\"],\"values\":[[\"1970-01-01T00:00:49Z\",-49]]}]}"
    );
    engine.shutdown();
}

#[test]
fn a_replay_leaves_the_live_task_untouched() {
    let engine = start(2);
    let live_reg = Arc::new(HttpOutRegistry::default());
    let p = plan(LAST_PER_HOST);
    engine
        .install(
            "t",
            &p,
            Services::default().with("http_out", Arc::clone(&live_reg)),
            live(),
        )
        .unwrap();
    engine.write(vec![point("h1", 1.0, 1)]).unwrap();
    let before = wait_json(&live_reg, "t", "last", |j| j.contains("\"h1\""));
    assert!(before.contains("[\"1970-01-01T00:00:01Z\",1]"), "{before}");

    // The replay runs the same plan as its own dataflow with its own outputs.
    let replay_reg = Arc::new(HttpOutRegistry::default());
    engine
        .install(
            "t#replay",
            &p,
            Services::default().with("http_out", Arc::clone(&replay_reg)),
            Feed::Direct,
        )
        .unwrap();
    engine
        .feed_points(
            "t#replay",
            vec![point("h1", 100.0, 100), point("h3", 300.0, 100)],
        )
        .unwrap();
    engine
        .close_and_wait("t#replay", Duration::from_secs(10))
        .unwrap();
    let replayed = replay_reg.json("t#replay", "last").unwrap().unwrap();
    assert!(
        replayed.contains("\"h3\"") && replayed.contains(",100]"),
        "{replayed}"
    );

    // Live data written during and after the replay only reaches the live task.
    engine.write(vec![point("h2", 2.0, 2)]).unwrap();
    let after = wait_json(&live_reg, "t", "last", |j| j.contains("\"h2\""));
    assert!(!after.contains("h3") && !after.contains(",100]"), "{after}");
    assert!(
        after.contains("[\"1970-01-01T00:00:01Z\",1]")
            && after.contains("[\"1970-01-01T00:00:02Z\",2]"),
        "{after}"
    );
    engine.shutdown();
}

#[test]
fn a_replay_leaves_the_live_alert_state_untouched() {
    use kap_dataflow::alert::{Level, TOPICS_SERVICE, TopicStore};
    let engine = start(2);
    let script = "stream|from().measurement('cpu').groupBy('host')|alert().topic('cpu').crit(lambda: \"value\" > 90.0)";
    let p = plan(script);
    let live_topics = Arc::new(TopicStore::default());
    engine
        .install(
            "t",
            &p,
            Services::default().with(TOPICS_SERVICE, Arc::clone(&live_topics)),
            live(),
        )
        .unwrap();
    engine.write(vec![point("h1", 95.0, 1)]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while live_topics.event_state("cpu", "cpu:host=h1").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let live_state = live_topics
        .event_state("cpu", "cpu:host=h1")
        .expect("live alert recorded");
    assert_eq!(live_state.level, Level::Critical);

    // The replay recovers h1 and raises h2 — in its own topic state only.
    let replay_topics = Arc::new(TopicStore::default());
    engine
        .install(
            "t#replay",
            &p,
            Services::default().with(TOPICS_SERVICE, Arc::clone(&replay_topics)),
            Feed::Direct,
        )
        .unwrap();
    engine
        .feed_points(
            "t#replay",
            vec![
                point("h1", 95.0, 10),
                point("h1", 1.0, 11),
                point("h2", 99.0, 11),
            ],
        )
        .unwrap();
    engine
        .close_and_wait("t#replay", Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        replay_topics
            .event_state("cpu", "cpu:host=h1")
            .map(|s| s.level),
        Some(Level::Ok)
    );
    assert_eq!(
        replay_topics
            .event_state("cpu", "cpu:host=h2")
            .map(|s| s.level),
        Some(Level::Critical)
    );
    assert_eq!(
        live_topics.event_state("cpu", "cpu:host=h1"),
        Some(live_state)
    );
    assert!(live_topics.event_state("cpu", "cpu:host=h2").is_none());
    engine.shutdown();
}

#[test]
fn barrier_idle_closes_windows_without_new_data() {
    let engine = start(2);
    let reg = Arc::new(HttpOutRegistry::default());
    let script = "stream|from().measurement('cpu').groupBy('host')|barrier().idle(300ms)|window().period(1s).every(1s)|count('value')|httpOut('c')";
    engine
        .install(
            "b",
            &plan(script),
            Services::default().with("http_out", Arc::clone(&reg)),
            live(),
        )
        .unwrap();
    let mut a = point("h1", 1.0, 0);
    let mut b = point("h1", 2.0, 0);
    a.time = 0;
    b.time = 900_000_000;
    engine.write(vec![a]).unwrap();
    engine.write(vec![b]).unwrap();
    // No later point arrives: only the wall-clock barrier (last data time + 300ms = 1.2s)
    // can close the first window [0s, 1s).
    let json = wait_json(&reg, "b", "c", |j| j.contains("\"count\""));
    assert!(json.contains("[\"1970-01-01T00:00:01Z\",2]"), "{json}");
    engine.shutdown();
}

#[test]
fn deadman_fires_when_data_stops() {
    // Whichever worker the series lands on: the stats node runs on worker 0 and must read
    // what `from` counts on every worker.
    for lane in 0..2 {
        deadman_fires_when_data_on_lane_stops(lane);
    }
}

fn deadman_fires_when_data_on_lane_stops(lane: u64) {
    use kap_dataflow::alert::{Level, TOPICS_SERVICE, TopicStore};
    let engine = start(2);
    let topics = Arc::new(TopicStore::default());
    let script = "stream|from().measurement('cpu')|deadman(0.0, 300ms).topic('dead')";
    engine
        .install(
            "d",
            &plan(script),
            Services::default().with(TOPICS_SERVICE, Arc::clone(&topics)),
            live(),
        )
        .unwrap();
    let host = (0..)
        .map(|i| format!("h{i}"))
        .find(|h| kap_dataflow::runtime::series_hash(&point(h, 0.0, 0)) % 2 == lane)
        .unwrap();
    for t in 0..15 {
        engine.write(vec![point(&host, 1.0, t)]).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    // Data stops: the emitted rate drops to 0 and the deadman goes CRITICAL.
    let id = "node 'from1' in task 'd'";
    let deadline = Instant::now() + Duration::from_secs(15);
    while topics.event_state("dead", id).map(|s| s.level) != Some(Level::Critical)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let state = topics
        .event_state("dead", id)
        .unwrap_or_else(|| panic!("no deadman event with the data on worker {lane}"));
    assert_eq!(state.level, Level::Critical, "{state:?}");
    assert!(
        state
            .message
            .starts_with("node 'from1' in task 'd' is dead: 0.000 points/300ms."),
        "{}",
        state.message
    );
    engine.shutdown();
}

/// The live feed of a task subscribed to `dbrps` (db, rp pairs) and `measurements`.
fn feed(dbrps: &[(&str, &str)], measurements: Option<&[&str]>) -> Feed {
    Feed::Live {
        dbrps: dbrps
            .iter()
            .map(|(db, rp)| DbRp {
                db: (*db).into(),
                rp: (*rp).into(),
            })
            .collect(),
        measurements: measurements.map(|ms| ms.iter().map(|m| (*m).into()).collect()),
    }
}

#[test]
fn live_points_reach_each_subscribed_task_once_among_many_others() {
    let engine = start(2);
    let reg = Arc::new(HttpOutRegistry::default());
    let services = || Services::default().with("http_out", Arc::clone(&reg));
    // Counts every point it receives (all in one window).
    let counting =
        plan("stream|from()|window().periodCount(1000).everyCount(1)|count('value')|httpOut('n')");
    // 1,000 tasks that never match: other databases, other measurements, or both.
    for i in 0..1000 {
        let f = match i % 4 {
            0 => feed(&[("other", "rp")], None),
            1 => feed(&[("db", "rp")], Some(&["mem"])),
            2 => feed(&[], Some(&["disk", "net"])),
            _ => feed(&[("db", "other"), ("x", "rp")], Some(&["cpu"])),
        };
        engine
            .install(&format!("other{i}"), &counting, services(), f)
            .unwrap();
    }
    // Tasks that match, through each kind of subscription (one with duplicated entries).
    let matching = [
        ("exact", feed(&[("db", "rp")], Some(&["cpu"]))),
        ("any_db", feed(&[], Some(&["mem", "cpu"]))),
        ("any_measurement", feed(&[("x", "y"), ("db", "rp")], None)),
        ("anything", feed(&[], None)),
        (
            "duplicated",
            feed(&[("db", "rp"), ("db", "rp")], Some(&["cpu", "cpu"])),
        ),
    ];
    for (name, f) in &matching {
        engine
            .install(name, &counting, services(), f.clone())
            .unwrap();
    }
    for t in 0..5 {
        engine.write(vec![point("h1", t as f64, t)]).unwrap();
    }
    for (name, _) in &matching {
        let json = wait_json(&reg, name, "n", |j| j.contains("00:00:04Z"));
        assert!(
            json.contains("[\"1970-01-01T00:00:04Z\",5]"),
            "{name} counted: {json}"
        );
    }
    for i in 0..1000 {
        let json = json_now(&reg, &format!("other{i}"), "n");
        assert!(!json.contains("values"), "other{i} got data: {json}");
    }
    engine.shutdown();
}

/// Writes whose points all go to one task (handed over whole), writes whose points go to
/// different tasks or to none (routed point by point), and writes no task wants: each task
/// gets its points, each once and in order, with one worker and with two.
#[test]
fn live_writes_reach_their_tasks_whole_or_point_by_point() {
    for workers in [1, 2] {
        let engine = start(workers);
        let reg = Arc::new(HttpOutRegistry::default());
        let services = || Services::default().with("http_out", Arc::clone(&reg));
        // The count and the sum of every point received, and the last value.
        let script = |m: &str| {
            plan(&format!(
                "stream|from().measurement('{m}')|window().periodCount(100000).everyCount(1)|eval(lambda: 1.0).as('one').keep()|sum('one')|httpOut('n')"
            ))
        };
        engine
            .install(
                "cpu",
                &script("cpu"),
                services(),
                feed(&[("db", "rp")], Some(&["cpu"])),
            )
            .unwrap();
        engine
            .install(
                "mem",
                &script("mem"),
                services(),
                feed(&[("db", "rp")], Some(&["mem"])),
            )
            .unwrap();
        let last = plan("stream|from().measurement('cpu')|httpOut('last')");
        engine
            .install(
                "last",
                &last,
                services(),
                feed(&[("db", "rp")], Some(&["cpu"])),
            )
            .unwrap();
        let of = |m: &str, host: &str, v: f64, t: i64| {
            let mut p = point(host, v, t);
            p.name = Sym::new(m);
            p.regroup();
            p
        };
        let mut t = 0;
        let mut tick = || {
            t += 1;
            t
        };
        let (mut cpu, mut mem) = (0, 0);
        // Only cpu: whole to the cpu tasks (two of them: point by point).
        let w: Vec<Point> = (0..500)
            .map(|i| of("cpu", &format!("h{i}"), 1.0, tick()))
            .collect();
        cpu += w.len();
        engine.write(w).unwrap();
        // Only mem: whole to the mem task.
        let w: Vec<Point> = (0..300)
            .map(|i| of("mem", &format!("h{i}"), 2.0, tick()))
            .collect();
        mem += w.len();
        engine.write(w).unwrap();
        // Mixed, with points no task wants.
        let mut w = Vec::new();
        for i in 0..600 {
            let m = ["cpu", "mem", "disk"][i % 3];
            w.push(of(m, &format!("h{i}"), 3.0, tick()));
        }
        cpu += 200;
        mem += 200;
        engine.write(w).unwrap();
        // Nobody's.
        engine
            .write(
                (0..50)
                    .map(|i| of("disk", &format!("h{i}"), 4.0, tick()))
                    .collect(),
            )
            .unwrap();
        // The last cpu point, alone.
        let last_t = tick();
        engine.write(vec![of("cpu", "z", 9.0, last_t)]).unwrap();
        cpu += 1;
        for (task, n) in [("cpu", cpu), ("mem", mem)] {
            let want = format!(",{n}]");
            let json = wait_json(&reg, task, "n", |j| j.contains(&want));
            assert!(
                json.contains(&want),
                "{workers} workers, {task} counted: {json}"
            );
        }
        let json = wait_json(&reg, "last", "last", |j| j.contains("9]"));
        assert!(json.contains("\"z\""), "{workers} workers: {json}");
        // Nothing more arrives.
        std::thread::sleep(Duration::from_millis(200));
        let json = json_now(&reg, "cpu", "n");
        assert!(json.contains(&format!(",{cpu}]")), "{json}");
        engine.shutdown();
    }
}

/// Writes from several threads at once (each grouped and partitioned on its own thread,
/// outside the ingest lock) all reach the task, each point once.
#[test]
fn concurrent_writes_each_reach_the_task_once() {
    for workers in [1, 2] {
        let engine = start(workers);
        let reg = Arc::new(HttpOutRegistry::default());
        engine
            .install(
                "all",
                &plan("stream|from().measurement('cpu')|httpOut('last')"),
                Services::default().with("http_out", Arc::clone(&reg)),
                feed(&[("db", "rp")], Some(&["cpu"])),
            )
            .unwrap();
        let (threads, writes, per) = (4, 50, 100);
        std::thread::scope(|s| {
            for k in 0..threads {
                let engine = &engine;
                s.spawn(move || {
                    for w in 0..writes {
                        let batch: Vec<Point> = (0..per)
                            .map(|i| point(&format!("t{k}-h{i}"), 1.0, (w * per + i) as i64))
                            .collect();
                        engine
                            .write_timeout(batch, Duration::from_secs(30))
                            .unwrap();
                    }
                });
            }
        });
        // The points the from node passed on, summed over workers.
        let passed = || {
            engine
                .stats("all")
                .map(|st| {
                    st.edges
                        .iter()
                        .filter(|((parent, _), _)| parent.starts_with("from"))
                        .map(|(_, n)| *n)
                        .sum::<u64>()
                })
                .unwrap_or(0)
        };
        let want = (threads * writes * per) as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        while passed() < want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(passed(), want, "{workers} workers");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(passed(), want, "{workers} workers, then");
        engine.shutdown();
    }
}

/// Kapacitor's internal statistics (`_kapacitor`) reach a task that names their database,
/// never one fed every database.
#[test]
fn internal_statistics_reach_only_tasks_that_name_their_database() {
    let engine = start(1);
    let reg = Arc::new(HttpOutRegistry::default());
    let counting =
        plan("stream|from()|window().periodCount(1000).everyCount(1)|count('value')|httpOut('n')");
    for (name, f) in [
        ("named", feed(&[("_kapacitor", "autogen")], None)),
        ("everything", feed(&[], None)),
    ] {
        engine
            .install(
                name,
                &counting,
                Services::default().with("http_out", Arc::clone(&reg)),
                f,
            )
            .unwrap();
    }
    let stat = |t: i64| {
        let fields = vec![(Sym::new("value"), FieldValue::Int(t))];
        Point::new("ingress", Vec::new(), fields, t * 1_000_000_000)
            .in_db(kap_dataflow::runtime::INTERNAL_DATABASE, "autogen")
    };
    engine.write(vec![stat(1), point("h1", 1.0, 2)]).unwrap();
    let named = wait_json(&reg, "named", "n", |j| j.contains("values"));
    assert!(named.contains(",1]"), "{named}");
    let everything = wait_json(&reg, "everything", "n", |j| j.contains("00:00:02Z"));
    assert!(
        everything.contains("[\"1970-01-01T00:00:02Z\",1]"),
        "only the cpu point: {everything}"
    );
    engine.shutdown();
}

#[test]
fn ingest_partitions_a_series_where_grouping_by_all_its_tags_sends_it() {
    use kap_dataflow::point::{Dimensions, group_of};
    use kap_dataflow::runtime::series_hash;
    let tags = vec![
        (Sym::new("dc"), Sym::new("east")),
        (Sym::new("host"), Sym::new("h1")),
    ];
    let p = Point::new("cpu", tags, vec![(Sym::new("v"), FieldValue::Int(1))], 0);
    let all = Dimensions::of(false, &[Sym::new("dc"), Sym::new("host")]);
    assert_eq!(series_hash(&p), group_of(p.name, &p.tags, &all).0);
    // Another measurement with the same tags: the same lane, as the same group.
    let q = Point::new("mem", p.tags.clone(), p.fields.clone(), 0);
    assert_eq!(series_hash(&p), series_hash(&q));
    // Grouping by fewer tags is another group (it may be exchanged).
    let host = Dimensions::of(false, &[Sym::new("host")]);
    assert_ne!(series_hash(&p), group_of(p.name, &p.tags, &host).0);
}

#[test]
fn series_hash_keeps_a_series_on_one_lane_and_spreads_series_evenly() {
    use kap_dataflow::runtime::series_hash;
    let a = point("host-1", 1.0, 1);
    let b = point("host-1", 2.0, 2);
    assert_eq!(series_hash(&a), series_hash(&b), "same series, same hash");
    for peers in [2u64, 3, 4] {
        let mut lanes = vec![0usize; peers as usize];
        for i in 0..3000 {
            lanes[(series_hash(&point(&format!("host-{i}"), 0.0, 0)) % peers) as usize] += 1;
        }
        let even = 3000 / peers as usize;
        for n in &lanes {
            assert!(n.abs_diff(even) < even / 5, "{peers} lanes: {lanes:?}");
        }
    }
}

/// Collects every alert event as `(id, level, time, message)`.
#[derive(Debug, Default)]
struct Events(std::sync::Mutex<Vec<(String, String, i64, String)>>);

impl kap_dataflow::alert::AlertSink for Events {
    fn publish(&self, e: kap_dataflow::alert::AlertEvent) {
        self.0
            .lock()
            .unwrap()
            .push((e.id, format!("{:?}", e.level), e.time, e.message));
    }
}

/// Runs `script` fed directly with `points` (in writes of `chunk`) on `workers` workers;
/// returns the alert events, sorted (workers publish concurrently).
fn direct_events(
    script: &str,
    points: &[Point],
    chunk: usize,
    workers: usize,
) -> Vec<(String, String, i64, String)> {
    use kap_dataflow::alert::{ALERTS_SERVICE, AlertService, AlertSink};
    let engine = start(workers);
    let events = Arc::new(Events::default());
    let sink: Arc<dyn AlertSink> = Arc::<Events>::clone(&events);
    let services = Services::default().with(ALERTS_SERVICE, Arc::new(AlertService(sink)));
    engine
        .install("t", &plan(script), services, Feed::Direct)
        .unwrap();
    for c in points.chunks(chunk) {
        engine.feed_points("t", c.to_vec()).unwrap();
    }
    engine.close_and_wait("t", Duration::from_secs(30)).unwrap();
    engine.shutdown();
    let mut got = std::mem::take(&mut *events.0.lock().unwrap());
    got.sort();
    got
}

#[test]
fn a_direct_feed_grouped_coarser_than_its_series_runs_alike_on_one_and_several_workers() {
    // Each host has two series (cpu=0, cpu=1) and, for some hosts, a third of another dc:
    // a group's points come from several series, so they must still meet, in order, on
    // one worker when ingest partitions by the `from`'s group instead of the series.
    let mut points = Vec::new();
    for t in 0..40i64 {
        for h in 0..24 {
            for cpu in 0..2 {
                let mut tags = vec![
                    (Sym::new("host"), Sym::new(&format!("h{h}"))),
                    (Sym::new("cpu"), Sym::new(&cpu.to_string())),
                ];
                if h % 3 == 0 && cpu == 1 {
                    tags.push((Sym::new("dc"), Sym::new("west")));
                }
                let v = ((t * 7 + h * 13 + cpu * 5) % 50) as f64;
                points.push(
                    Point::new(
                        if (t + h) % 11 == 0 { "mem" } else { "cpu" },
                        tags,
                        vec![(Sym::new("value"), FieldValue::Float(v))],
                        t * 1_000_000_000 + cpu * 1_000,
                    )
                    .in_db("db", "rp"),
                );
            }
        }
    }
    let scripts = [
        "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)\
         |mean('value')|alert().id('{{ .Group }}').message('{{ index .Fields \"mean\" }}')\
         .info(lambda: \"mean\" > 0.0).crit(lambda: \"mean\" > 25.0).topic('t')",
        "stream|from().groupBy('host').groupByMeasurement().where(lambda: \"value\" > 3.0)\
         |window().period(6s).every(3s)|max('value')|alert().id('{{ .Group }}')\
         .message('{{ index .Fields \"max\" }}').crit(lambda: \"max\" > 40.0).topic('t')",
        "stream|from().groupBy(*)|stateCount(lambda: \"value\" > 20.0)\
         |alert().id('{{ .Group }}').message('{{ index .Fields \"state_count\" }}')\
         .warn(lambda: \"state_count\" > 2).topic('t')",
        "stream|from().measurement('cpu')|groupBy('cpu')|window().periodCount(7).everyCount(7)\
         |sum('value')|alert().id('{{ .Group }}').message('{{ index .Fields \"sum\" }}')\
         .info(lambda: TRUE).topic('t')",
    ];
    for script in scripts {
        let one = direct_events(script, &points, 97, 1);
        assert!(one.len() > 20, "{script}: {} events", one.len());
        // Each write reaches one worker, in turn, which splits it among all of them.
        for (workers, chunk) in [(2, 97), (2, 2000), (3, 97)] {
            assert_eq!(
                direct_events(script, &points, chunk, workers),
                one,
                "{script}: {workers} workers, writes of {chunk}"
            );
        }
    }
}

/// Polls `task`'s statistics until `pred` holds for node `node`'s counters (or 10 s pass);
/// returns them.
fn wait_stats(
    engine: &Engine,
    task: &str,
    node: &str,
    pred: impl Fn(&std::collections::BTreeMap<String, i64>) -> bool,
) -> std::collections::BTreeMap<String, i64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let counters = engine
            .stats(task)
            .and_then(|s| s.nodes.get(node).cloned())
            .unwrap_or_default();
        if pred(&counters) || Instant::now() > deadline {
            return counters;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn group_expiry_forgets_the_state_of_idle_groups_only() {
    use kap_dataflow::ops::expiry::{GROUP_EXPIRY, GROUPS_EXPIRED, GroupExpiry};
    use std::sync::atomic::Ordering::SeqCst;
    const S: i64 = 1_000_000_000;
    for workers in [1, 2] {
        let engine = start(workers);
        let reg = Arc::new(HttpOutRegistry::default());
        let clock = Arc::new(TestClock::default());
        clock.0.store(1_000 * S, SeqCst);
        let services = Services {
            clock: Arc::clone(&clock) as _,
            ..Services::default()
        }
        .with("http_out", Arc::clone(&reg))
        .with(GROUP_EXPIRY, Arc::new(GroupExpiry(Duration::from_secs(1))));
        let counts = "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)|count('value')|httpOut('c')";
        for (id, script) in [("counts", counts), ("last", LAST_PER_HOST)] {
            engine
                .install(id, &plan(script), services.clone(), live())
                .unwrap();
        }
        // Both hosts have state; then only h2 sends, half a second later.
        for t in [0, 5] {
            engine
                .write(vec![point("h1", 1.0, t), point("h2", 1.0, t)])
                .unwrap();
        }
        let window = wait_stats(&engine, "counts", "window2", |c| {
            c.get("working_cardinality") == Some(&2)
        });
        assert_eq!(window.get("working_cardinality"), Some(&2), "{window:?}");
        let rows = |j: &str| (j.contains("\"h1\""), j.contains("\"h2\""));
        let json = wait_json(&reg, "last", "last", |j| rows(j) == (true, true));
        assert_eq!(rows(&json), (true, true), "{json}");
        clock.0.store(1_000 * S + S / 2, SeqCst);
        // The stages read the clock on their next tick (every 100 ms).
        std::thread::sleep(Duration::from_millis(300));
        engine.write(vec![point("h2", 1.0, 8)]).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        // h1 has been idle 1.2 s, h2 0.7 s: only h1 goes, from every node holding it.
        clock.0.store(1_000 * S + 1_200_000_000, SeqCst);
        let window = wait_stats(&engine, "counts", "window2", |c| {
            c.get("working_cardinality") == Some(&1)
        });
        assert_eq!(window.get("working_cardinality"), Some(&1), "{window:?}");
        assert_eq!(window.get(GROUPS_EXPIRED), Some(&1), "{window:?}");
        let json = wait_json(&reg, "last", "last", |j| rows(j) == (false, true));
        assert_eq!(rows(&json), (false, true), "{json}");
        // h2's window [0s, 10s) closes with its three points (at its end, 10s); h1's
        // partial window was forgotten, so its new point starts a window and nothing of h1
        // is emitted.
        engine
            .write(vec![point("h1", 1.0, 12), point("h2", 1.0, 12)])
            .unwrap();
        let json = wait_json(&reg, "counts", "c", |j| j.contains("\"count\""));
        assert!(json.contains("\"h2\""), "{json}");
        assert!(json.contains("[\"1970-01-01T00:00:10Z\",3]"), "{json}");
        // h1 is back: a new group everywhere.
        let window = wait_stats(&engine, "counts", "window2", |c| {
            c.get("working_cardinality") == Some(&2)
        });
        assert_eq!(window.get("working_cardinality"), Some(&2), "{window:?}");
        // Whatever h1's point made the window emit (nothing) has passed count and httpOut.
        std::thread::sleep(Duration::from_millis(300));
        let json = json_now(&reg, "counts", "c");
        assert!(!json.contains("\"h1\""), "{workers} workers: {json}");
        engine.shutdown();
    }
}

#[test]
fn without_group_expiry_idle_groups_are_kept() {
    // Kapacitor's behaviour, the default: the same data, no expiry, h1's window emits.
    let engine = start(2);
    let reg = Arc::new(HttpOutRegistry::default());
    let script = "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)|count('value')|httpOut('c')";
    engine
        .install(
            "counts",
            &plan(script),
            Services::default().with("http_out", Arc::clone(&reg)),
            live(),
        )
        .unwrap();
    for t in [0, 5] {
        engine
            .write(vec![point("h1", 1.0, t), point("h2", 1.0, t)])
            .unwrap();
    }
    engine.write(vec![point("h2", 1.0, 8)]).unwrap();
    engine
        .write(vec![point("h1", 1.0, 12), point("h2", 1.0, 12)])
        .unwrap();
    let json = wait_json(&reg, "counts", "c", |j| {
        j.contains("\"h1\"") && j.contains("\"h2\"")
    });
    assert!(json.contains("\"h1\"") && json.contains("\"h2\""), "{json}");
    engine.shutdown();
}

#[test]
fn an_expired_alert_group_takes_its_level_back_from_its_topic() {
    // As in Kapacitor, a new alert group restores its level from the topics: a host gone
    // quiet while critical, forgotten by group expiry, still recovers when it comes back.
    use kap_dataflow::alert::{ALERTS_SERVICE, AlertService, TOPICS_SERVICE, TopicStore};
    use kap_dataflow::ops::expiry::{GROUP_EXPIRY, GROUPS_EXPIRED, GroupExpiry};
    use std::sync::atomic::Ordering::SeqCst;
    const S: i64 = 1_000_000_000;
    let engine = start(2);
    let clock = Arc::new(TestClock::default());
    clock.0.store(1_000 * S, SeqCst);
    let events = Arc::new(Events::default());
    let services = Services {
        clock: Arc::clone(&clock) as _,
        ..Services::default()
    }
    .with(TOPICS_SERVICE, Arc::new(TopicStore::default()))
    .with(
        ALERTS_SERVICE,
        Arc::new(AlertService(Arc::clone(&events) as _)),
    )
    .with(GROUP_EXPIRY, Arc::new(GroupExpiry(Duration::from_secs(1))));
    let script = "stream|from().measurement('cpu').groupBy('host')|alert().topic('cpu').crit(lambda: \"value\" > 90.0).stateChangesOnly()";
    engine
        .install("t", &plan(script), services, live())
        .unwrap();
    let levels = || -> Vec<String> {
        let e = events.0.lock().unwrap();
        e.iter().map(|e| e.1.clone()).collect()
    };
    engine.write(vec![point("h1", 95.0, 1)]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while levels().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(levels(), ["Critical"]);
    clock.0.store(1_002 * S, SeqCst);
    let alert = wait_stats(&engine, "t", "alert2", |c| {
        c.get(GROUPS_EXPIRED) == Some(&1)
    });
    assert_eq!(alert.get("working_cardinality"), Some(&0), "{alert:?}");
    engine.write(vec![point("h1", 1.0, 5)]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while levels().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    // With `.stateChangesOnly()` an OK event is a change only from the restored level.
    assert_eq!(levels(), ["Critical", "Ok"]);
    engine.shutdown();
}
