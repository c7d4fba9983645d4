//! The alert node: level determination, state, suppression rules, augmentation, templates
//! and event JSON (`kapacitor-semantics.md` §4).

use kap_dataflow::alert::{
    AlertEvent, AlertService, AlertServiceInfo, AlertSink, EventState, InhibitorRegistry, Level,
    TopicStore,
};
use kap_dataflow::node::{BuildInfo, Ctx, NodeStats, Processor, Services};
use kap_dataflow::ops;
use kap_dataflow::plan::{NodeSpec, TaskType};
use kap_dataflow::point::{
    Barrier, Batch, BatchPoint, Dimensions, FieldValue, GroupId, Msg, Point, Sym,
};
use std::sync::{Arc, Mutex};

const S: i64 = 1_000_000_000;

#[derive(Debug, Default)]
struct Sink(Mutex<Vec<AlertEvent>>);

impl AlertSink for Sink {
    fn publish(&self, event: AlertEvent) {
        self.0.lock().unwrap().push(event);
    }
}

impl Sink {
    fn take(&self) -> Vec<AlertEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// One alert node under test.
struct Harness {
    node: Box<dyn Processor>,
    services: Services,
    sink: Arc<Sink>,
    stats: NodeStats,
    name: String,
}

impl Harness {
    /// Builds the alert of `stream|from()...|alert()<chain>.topic('test')`, so that every
    /// event is collected.
    fn new(chain: &str) -> Harness {
        Harness::with_services(
            &format!("{chain}.topic('test')"),
            false,
            Services::default(),
        )
    }

    fn with_services(chain: &str, batch: bool, services: Services) -> Harness {
        let script = if batch {
            format!(
                "batch\n    |query('SELECT mean(value) FROM db.rp.cpu')\n        .period(10s)\n        .every(10s)\n    |alert(){chain}\n"
            )
        } else {
            format!("stream\n    |from()\n        .measurement('cpu')\n    |alert(){chain}\n")
        };
        let compiled = kap_dsl::compile_source(&script, &Default::default())
            .unwrap_or_else(|d| panic!("{script}: {d:?}"));
        let node = compiled
            .pipeline
            .nodes
            .iter()
            .find(|n| matches!(n.spec, NodeSpec::Alert(_)))
            .expect("an alert node")
            .clone();
        let sink = Arc::new(Sink::default());
        let services = services.with(
            "alerts",
            Arc::new(AlertService(Arc::clone(&sink) as Arc<dyn AlertSink>)),
        );
        let info = BuildInfo {
            task: "t".into(),
            node: node.name.clone(),
            node_id: node.id,
            inputs: 1,
            task_type: if batch {
                TaskType::Batch
            } else {
                TaskType::Stream
            },
            batch_input: batch,
            services: services.clone(),
        };
        Harness {
            node: ops::build(&node.spec, &info).expect("alert builds"),
            services,
            sink,
            stats: NodeStats::default(),
            name: node.name,
        }
    }

    fn send(&mut self, msg: Msg) -> Vec<Msg> {
        let mut out = Vec::new();
        let mut ctx = Ctx {
            task: "t",
            node: &self.name,
            services: &self.services,
            stats: &mut self.stats,
        };
        self.node.process(0, msg, &mut ctx, &mut out);
        out
    }

    /// Sends points with these values (times 0s, 1s, ...) and returns, per point, the
    /// level of the event it produced (`None` = no event).
    fn levels(&mut self, values: &[f64]) -> Vec<Option<Level>> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                self.send(Msg::Point(point(i as i64 * S, *v, "serverA")));
                let evs = self.sink.take();
                assert!(evs.len() <= 1);
                evs.first().map(|e| e.level)
            })
            .collect()
    }

    fn counter(&self, name: &str) -> i64 {
        self.stats.counters.get(name).copied().unwrap_or(0)
    }
}

fn point(t: i64, value: f64, host: &str) -> Point {
    let mut p = Point {
        name: Sym::new("cpu"),
        db: Sym::new("db"),
        rp: Sym::new("rp"),
        tags: kap_dataflow::point::list![(Sym::new("host"), Sym::new(host))],
        fields: kap_dataflow::point::list![(Sym::new("value"), FieldValue::Float(value))],
        time: t,
        dims: Dimensions::new(false, vec![Sym::new("host")]),
        group: GroupId::default(),
    };
    p.regroup();
    p
}

fn batch(tmax: i64, points: &[(i64, f64)]) -> Batch {
    let mut b = Batch {
        name: Sym::new("cpu"),
        tmax,
        tags: kap_dataflow::point::list![(Sym::new("cpu"), Sym::new("cpu1"))],
        dims: Dimensions::new(false, vec![Sym::new("cpu")]),
        group: GroupId::default(),
        points: points
            .iter()
            .map(|(t, v)| BatchPoint {
                time: *t,
                fields: kap_dataflow::point::list![(Sym::new("mean"), FieldValue::Float(*v))],
                tags: kap_dataflow::point::list![(Sym::new("cpu"), Sym::new("cpu1"))],
            })
            .collect(),
    };
    b.regroup();
    b
}

use Level::{Critical as C, Info as I, Ok as O, Warning as W};

#[test]
fn default_templates_and_event_json() {
    let mut h = Harness::with_services(
        ".crit(lambda: \"value\" > 90).log('/tmp/alert.log')",
        false,
        Services::default(),
    );
    let out = h.send(Msg::Point(point(10 * S, 95.0, "serverA")));
    assert_eq!(out.len(), 1);
    let ev = h.sink.take().pop().expect("one event");
    assert_eq!(ev.id, "cpu:host=serverA");
    assert_eq!(ev.message, "cpu:host=serverA is CRITICAL");
    let json = "{\"Name\":\"cpu\",\"TaskName\":\"t\",\"Group\":\"host=serverA\",\"Tags\":{\"host\":\"serverA\"},\"ServerInfo\":{\"Hostname\":\"\",\"ClusterID\":\"\",\"ServerID\":\"\"},\"ID\":\"cpu:host=serverA\",\"Fields\":{\"value\":95},\"Level\":\"CRITICAL\",\"Time\":\"1970-01-01T00:00:10Z\",\"Duration\":0,\"Message\":\"cpu:host=serverA is CRITICAL\"}\n";
    assert_eq!(ev.details, json.replace('"', "&#34;"));
    assert_eq!(ev.group_id, "host=serverA");
    assert_eq!(ev.previous_level, O);
    assert!(ev.recoverable);
    // Inline handlers publish to the anonymous topic.
    assert_eq!(ev.topic, "main:t:alert2");
    assert_eq!(ev.handlers.len(), 1);
    assert_eq!(
        ev.to_json().unwrap(),
        format!(
            "{{\"id\":\"cpu:host=serverA\",\"message\":\"cpu:host=serverA is CRITICAL\",\"details\":{},\"time\":\"1970-01-01T00:00:10Z\",\"duration\":0,\"level\":\"CRITICAL\",\"data\":{{\"series\":[{{\"name\":\"cpu\",\"tags\":{{\"host\":\"serverA\"}},\"columns\":[\"time\",\"value\"],\"values\":[[\"1970-01-01T00:00:10Z\",95]]}}]}},\"previousLevel\":\"OK\",\"recoverable\":true}}",
            serde_json::to_string(&json.replace('"', "&#34;"))
                .unwrap()
                .replace('&', "\\u0026")
        )
    );
    assert!(ev.to_json_line().unwrap().ends_with("}\n"));
    assert_eq!(h.counter("alerts_triggered"), 1);
    assert_eq!(h.counter("crits_triggered"), 1);
}

#[test]
fn nil_group_and_server_info() {
    let services = Services::default().with(
        "server_info",
        Arc::new(AlertServiceInfo {
            hostname: "h".into(),
            cluster_id: "c".into(),
            server_id: "s".into(),
        }),
    );
    let mut h = Harness::with_services(
        ".id('{{ .Group }}|{{ .ServerInfo.Hostname }}{{ .ServerInfo.ClusterID }}{{ .ServerInfo.ServerID }}|{{ .TaskName }}').message('{{ .Level }} {{ .Time }} {{ .Duration }} {{ index .Fields \"value\" }} {{ .Tags.host }}').details('<{{ .Message }}>').topic('ops').crit(lambda: TRUE)",
        false,
        services,
    );
    let mut p = point(90 * S, 1.5, "a&b");
    p.dims = Dimensions::default();
    p.regroup();
    h.send(Msg::Point(p.clone()));
    p.time = 180 * S;
    h.send(Msg::Point(p));
    let evs = h.sink.take();
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[1].id, "nil|hcs|t");
    assert_eq!(evs[1].topic, "ops");
    assert_eq!(evs[1].group_id, "");
    assert_eq!(
        evs[1].message,
        "CRITICAL 1970-01-01 00:03:00 +0000 UTC 1m30s 1.5 a&b"
    );
    assert_eq!(
        evs[1].details,
        "<CRITICAL 1970-01-01 00:03:00 &#43;0000 UTC 1m30s 1.5 a&amp;b>"
    );
    assert_eq!(evs[1].duration, 90 * S);
    assert_eq!(evs[1].previous_level, C);
}

#[test]
fn determine_level_with_resets() {
    let mut h = Harness::new(
        ".info(lambda: \"value\" > 40).infoReset(lambda: \"value\" < 10)\
         .warn(lambda: \"value\" > 60).warnReset(lambda: \"value\" < 20)\
         .crit(lambda: \"value\" > 80).critReset(lambda: \"value\" < 30)",
    );
    let got = h.levels(&[
        45.0, 30.0, 9.0, 65.0, 50.0, 15.0, 85.0, 70.0, 31.0, 29.0, 5.0,
    ]);
    assert_eq!(
        got,
        vec![
            Some(I), // 45 > 40
            Some(I), // stays INFO: reset (<10) false
            Some(O), // reset true, nothing matches: recovery
            Some(W), // 65 > 60
            Some(W), // stays: warnReset false
            Some(O), // reset true; 15 matches nothing
            Some(C), // 85
            Some(C), // critReset false
            Some(C), // 31: critReset false
            Some(O), // 29: reset true, nothing above 40
            None,    // OK, unchanged
        ]
    );
}

#[test]
fn reset_falls_to_lower_level() {
    let mut h = Harness::new(
        ".warn(lambda: \"value\" > 60).crit(lambda: \"value\" > 80).critReset(lambda: \"value\" < 70)",
    );
    // 90 CRIT; 75 stays CRIT (reset false); 65 reset true → WARNING; 50 OK (no warnReset).
    assert_eq!(
        h.levels(&[90.0, 75.0, 65.0, 50.0]),
        vec![Some(C), Some(C), Some(W), Some(O)]
    );
    assert_eq!(h.counter("alerts_triggered"), 4);
    assert_eq!(h.counter("oks_triggered"), 1);
    assert_eq!(h.counter("warns_triggered"), 1);
}

#[test]
fn lambda_errors_count_as_false() {
    let mut h = Harness::new(".warn(lambda: \"value\" > 60).crit(lambda: \"missing\" > 1)");
    assert_eq!(h.levels(&[70.0]), vec![Some(W)]);
    assert_eq!(h.stats.errors, 0);
}

#[test]
fn state_changes_only() {
    let mut h = Harness::new(".crit(lambda: \"value\" > 90).stateChangesOnly()");
    assert_eq!(
        h.levels(&[95.0, 96.0, 97.0, 10.0, 11.0, 99.0]),
        vec![Some(C), None, None, Some(O), None, Some(C)]
    );
}

#[test]
fn state_changes_only_with_max_interval() {
    let mut h = Harness::new(".crit(lambda: \"value\" > 90).stateChangesOnly(3s)");
    // times 0..6s: events at 0 (change), 3 (3s since last), 6.
    assert_eq!(
        h.levels(&[95.0, 95.0, 95.0, 95.0, 95.0, 95.0, 95.0]),
        vec![Some(C), None, None, Some(C), None, None, Some(C)]
    );
}

#[test]
fn no_recoveries_and_forwarding() {
    let mut h = Harness::new(".crit(lambda: \"value\" > 90).noRecoveries()");
    assert!(!h.send(Msg::Point(point(0, 95.0, "a"))).is_empty());
    let ev = h.sink.take().pop().unwrap();
    assert!(!ev.recoverable);
    // Recovery: no event and nothing forwarded.
    assert!(h.send(Msg::Point(point(S, 5.0, "a"))).is_empty());
    assert!(h.sink.take().is_empty());
    // OK again: nothing.
    assert!(h.send(Msg::Point(point(2 * S, 5.0, "a"))).is_empty());
    // Back to CRIT: firstTriggered reset, duration 0.
    h.send(Msg::Point(point(3 * S, 95.0, "a")));
    assert_eq!(h.sink.take().pop().unwrap().duration, 0);
}

#[test]
fn durations_and_recovery() {
    let mut h = Harness::new(".warn(lambda: \"value\" > 50).crit(lambda: \"value\" > 90)");
    h.send(Msg::Point(point(10 * S, 60.0, "a")));
    h.send(Msg::Point(point(12 * S, 95.0, "a")));
    h.send(Msg::Point(point(15 * S, 10.0, "a")));
    let evs = h.sink.take();
    let d: Vec<(Level, i64, Level)> = evs
        .iter()
        .map(|e| (e.level, e.duration, e.previous_level))
        .collect();
    assert_eq!(d, vec![(W, 0, O), (C, 2 * S, W), (O, 5 * S, C)]);
}

#[test]
fn flapping_suppresses() {
    let mut h = Harness::new(".crit(lambda: \"value\" > 90).flapping(0.1, 0.2)");
    let mut values = vec![95.0, 5.0, 95.0, 5.0, 95.0, 5.0, 95.0, 5.0];
    values.extend([5.0; 25]);
    values.push(95.0);
    let got = h.levels(&values);
    // Weighted change shares: .081 .04 .14 .157 .255 (> .2: flapping) … down to .085 (< .1).
    let mut want = vec![Some(C), Some(O), Some(C), Some(O)];
    want.extend([None; 29]);
    want.push(Some(C));
    assert_eq!(got, want);
}

#[test]
fn groups_have_their_own_state_and_shared_lambdas() {
    let mut h = Harness::new(".crit(lambda: count() > 2)");
    // count() is shared by all groups: the third point overall is CRITICAL.
    h.send(Msg::Point(point(0, 1.0, "a")));
    h.send(Msg::Point(point(0, 1.0, "b")));
    h.send(Msg::Point(point(S, 1.0, "a")));
    let evs = h.sink.take();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].id, "cpu:host=a");
    assert_eq!(h.node.cardinality(), 2);
    let g = point(0, 1.0, "a").group_info();
    let out = h.send(Msg::DeleteGroup(g.clone()));
    assert_eq!(out, vec![Msg::DeleteGroup(g)]);
    assert_eq!(h.node.cardinality(), 1);
}

#[test]
fn level_and_id_augmentation_on_points() {
    let mut h = Harness::new(
        ".crit(lambda: \"value\" > 90).levelTag('level').idTag('id').levelField('lf').messageField('msg').idField('idf').durationField('dur')",
    );
    let p = point(0, 95.0, "a");
    let out = h.send(Msg::Point(p.clone()));
    let Msg::Point(q) = &out[0] else { panic!() };
    assert_eq!(q.tag("level"), Some(Sym::new("CRITICAL")));
    assert_eq!(q.tag("id"), Some(Sym::new("cpu:host=a")));
    assert_eq!(q.field("lf"), Some(&FieldValue::String("CRITICAL".into())));
    assert_eq!(
        q.field("msg"),
        Some(&FieldValue::String("cpu:host=a is CRITICAL".into()))
    );
    assert_eq!(
        q.field("idf"),
        Some(&FieldValue::String("cpu:host=a".into()))
    );
    assert_eq!(q.field("dur"), Some(&FieldValue::Int(0)));
    // Dimensions unchanged, so the group id is unchanged too.
    assert_eq!(q.dims, p.dims);
    assert_eq!(q.group, p.group);
    // The event data is the original point.
    let ev = h.sink.take().pop().unwrap();
    assert_eq!(
        ev.data.series.as_ref().unwrap()[0]
            .as_ref()
            .unwrap()
            .columns,
        vec!["time", "value"]
    );
}

#[test]
fn batch_highest_point_and_all() {
    let mut h = Harness::with_services(
        ".crit(lambda: \"mean\" > 92).levelTag('level').levelField('level_f').topic('x')",
        true,
        Services::default(),
    );
    // Empty batch: nothing, history untouched.
    assert!(h.send(Msg::Batch(batch(10 * S, &[]))).is_empty());
    let out = h.send(Msg::Batch(batch(
        30 * S,
        &[
            (20 * S, 91.0),
            (22 * S, 93.0),
            (24 * S, 95.0),
            (26 * S, 10.0),
        ],
    )));
    let ev = h.sink.take().pop().expect("event");
    assert_eq!(ev.level, C);
    assert_eq!(
        ev.time,
        22 * S,
        "time of the first point at the highest level"
    );
    assert_eq!(ev.fields[..], [(Sym::new("mean"), FieldValue::Float(93.0))]);
    assert_eq!(ev.tags[..], [(Sym::new("cpu"), Sym::new("cpu1"))]);
    let Msg::Batch(b) = &out[0] else { panic!() };
    assert_eq!(
        b.tags[..],
        [
            (Sym::new("cpu"), Sym::new("cpu1")),
            (Sym::new("level"), Sym::new("CRITICAL"))
        ]
    );
    assert_eq!(b.dims.tag_names, vec![Sym::new("cpu"), Sym::new("level")]);
    assert_eq!(b.group_string(), "cpu=cpu1,level=CRITICAL");
    for p in &b.points {
        assert_eq!(
            p.fields[0],
            (Sym::new("level_f"), FieldValue::String("CRITICAL".into()))
        );
        assert_eq!(p.tags[1], (Sym::new("level"), Sym::new("CRITICAL")));
    }
    // Recovery: event time is the batch time.
    h.send(Msg::Batch(batch(40 * S, &[(32 * S, 1.0)])));
    let ev = h.sink.take().pop().expect("recovery");
    assert_eq!((ev.level, ev.time, ev.duration), (O, 40 * S, 18 * S));

    let mut h = Harness::with_services(
        ".all().crit(lambda: \"mean\" > 92).topic('x')",
        true,
        Services::default(),
    );
    h.send(Msg::Batch(batch(30 * S, &[(20 * S, 93.0), (22 * S, 91.0)])));
    assert!(h.sink.take().is_empty(), "not all points are critical");
    h.send(Msg::Batch(batch(40 * S, &[(32 * S, 93.0), (34 * S, 99.0)])));
    let ev = h.sink.take().pop().expect("all critical");
    assert_eq!((ev.level, ev.time), (C, 40 * S));
    assert_eq!(ev.fields[..], [(Sym::new("mean"), FieldValue::Float(93.0))]);
}

#[test]
fn topics_previous_level_and_restore() {
    let topics = Arc::new(TopicStore::default());
    topics.restore(
        "ops",
        "cpu:host=a",
        EventState {
            level: Level::Warning,
            message: String::new(),
            details: String::new(),
            time: 5 * S,
            duration: 0,
        },
    );
    let services = Services::default().with("topics", Arc::clone(&topics));
    let mut h = Harness::with_services(
        ".topic('ops').warn(lambda: \"value\" > 50)",
        false,
        services,
    );
    // The restored group starts at WARNING (first triggered at 5s): an OK point recovers.
    h.send(Msg::Point(point(20 * S, 1.0, "a")));
    let ev = h.sink.take().pop().expect("recovery");
    assert_eq!((ev.level, ev.previous_level, ev.duration), (O, W, 15 * S));
    assert_eq!(topics.event_state("ops", "cpu:host=a").unwrap().level, O);
    assert_eq!(topics.collected("ops"), 1);
}

#[test]
fn inhibition() {
    let registry = Arc::new(InhibitorRegistry::default());
    let services = Services::default().with("inhibitors", Arc::clone(&registry));
    let mut inhibiting = Harness::with_services(
        ".topic('a').crit(lambda: \"value\" > 90).inhibit('disk', 'host')",
        false,
        services.clone(),
    );
    let mut inhibited = Harness::with_services(
        ".topic('b').category('disk').crit(lambda: \"value\" > 90)",
        false,
        services,
    );
    inhibiting.send(Msg::Point(point(0, 95.0, "a")));
    assert_eq!(inhibiting.sink.take().len(), 1);
    // Same host: inhibited (still forwarded).
    assert_eq!(inhibited.send(Msg::Point(point(S, 95.0, "a"))).len(), 1);
    assert!(inhibited.sink.take().is_empty());
    assert_eq!(inhibited.counter("alerts_inhibited"), 1);
    // Other host: not inhibited.
    inhibited.send(Msg::Point(point(S, 95.0, "b")));
    assert_eq!(inhibited.sink.take().len(), 1);
    // The inhibiting alert recovers: no more inhibition.
    inhibiting.send(Msg::Point(point(2 * S, 5.0, "a")));
    inhibited.send(Msg::Point(point(3 * S, 96.0, "a")));
    assert_eq!(inhibited.sink.take().len(), 1);
}

#[test]
fn barrier_creates_group_and_is_forwarded() {
    let mut h = Harness::new(".crit(lambda: \"value\" > 90)");
    let g = point(0, 1.0, "a").group_info();
    let b = Msg::Barrier(Barrier { group: g, time: 0 });
    assert_eq!(h.send(b.clone()), vec![b]);
    assert_eq!(h.node.cardinality(), 1);
}

/// Runs a stream corpus case's alert on its data (the script's `from()` filter and
/// `groupBy('host')` applied by hand) into an httpOut node, and compares the endpoint.
fn run_stream_corpus_case(case: &str) {
    use kap_dataflow::ops::http_out::HttpOutRegistry;
    use kap_dataflow::plan::HttpOutSpec;
    let dir = format!(
        "{}/../dsl/tests/corpus/kapacitor",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(format!("{dir}/cases/{case}.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let script = v["script"]
        .as_str()
        .unwrap()
        .replace("__HTTP_SINK_URL__", "http://127.0.0.1:1");
    let compiled = kap_dsl::compile_source(&script, &Default::default()).unwrap();
    let alert = compiled
        .pipeline
        .nodes
        .iter()
        .find(|n| matches!(n.spec, NodeSpec::Alert(_)))
        .unwrap()
        .clone();
    let reg = Arc::new(HttpOutRegistry::default());
    let services = Services::default().with("http_out", Arc::clone(&reg));
    let info = BuildInfo {
        task: "task".into(),
        node: alert.name.clone(),
        node_id: alert.id,
        inputs: 1,
        task_type: TaskType::Stream,
        batch_input: false,
        services: services.clone(),
    };
    let mut node = ops::build(&alert.spec, &info).unwrap();
    let mut out_node = ops::build(
        &NodeSpec::HttpOut(HttpOutSpec {
            endpoint: "out".into(),
            quiet: false,
        }),
        &info,
    )
    .unwrap();
    let data =
        std::fs::read_to_string(format!("{dir}/data/{}", v["data"][0].as_str().unwrap())).unwrap();
    let mut stats = NodeStats::default();
    for line in data
        .lines()
        .filter(|l| l.starts_with("cpu,") && l.contains("host=serverA"))
    {
        // cpu,type=usage,host=serverA value=45.0 0000000001
        let mut parts = line.split_whitespace();
        let key = parts.next().unwrap();
        let value: f64 = parts.next().unwrap()["value=".len()..].parse().unwrap();
        let secs: i64 = parts.next().unwrap().parse().unwrap();
        let mut tags: kap_dataflow::point::Tags = key
            .split(',')
            .skip(1)
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (Sym::new(k), Sym::new(v))
            })
            .collect();
        kap_dataflow::point::normalize(&mut tags);
        let mut p = Point {
            name: Sym::new("cpu"),
            db: Sym::new("dbname"),
            rp: Sym::new("rpname"),
            tags,
            fields: kap_dataflow::point::list![(Sym::new("value"), FieldValue::Float(value))],
            // The replay puts the point of second n at 1971-01-01 + (n - 1) s.
            time: (31_536_000 + secs - 1) * S,
            dims: Dimensions::new(false, vec![Sym::new("host")]),
            group: GroupId::default(),
        };
        p.regroup();
        let mut ctx = Ctx {
            task: "task",
            node: "alert",
            services: &services,
            stats: &mut stats,
        };
        let mut out = Vec::new();
        node.process(0, Msg::Point(p), &mut ctx, &mut out);
        for m in out {
            let mut sink = Vec::new();
            out_node.process(0, m, &mut ctx, &mut sink);
        }
    }
    let got: serde_json::Value =
        serde_json::from_str(&reg.json("task", "out").unwrap().unwrap()).unwrap();
    assert_eq!(got, v["expected"], "{case}");
}

#[test]
fn corpus_stream_alert_duration() {
    run_stream_corpus_case("TestStream_AlertDuration");
}

#[test]
fn corpus_stream_alert_with_reset() {
    run_stream_corpus_case("TestStream_Alert_WithReset_0");
}
