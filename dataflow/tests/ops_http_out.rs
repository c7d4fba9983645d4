//! httpOut slots and the Result JSON it serves, checked against Kapacitor's integration
//! corpus (`dsl/tests/corpus/kapacitor`, from Kapacitor, MIT licence).

use kap_dataflow::exec::TaskExec;
use kap_dataflow::node::{BuildInfo, Ctx, NodeStats, Processor, Services};
use kap_dataflow::ops::{self, http_out::HttpOutRegistry};
use kap_dataflow::plan::{HttpOutSpec, NodeSpec, TaskType};
use kap_dataflow::point::{
    Barrier, Batch, BatchPoint, Dimensions, FieldValue, GroupId, Msg, Point, Sym,
};
use std::sync::Arc;

const S: i64 = 1_000_000_000;
/// 1971-01-01T00:00:00Z, the corpus' data epoch.
const Y1971: i64 = 31_536_000 * S;

fn corpus_expected(case: &str) -> (String, serde_json::Value) {
    let path = format!(
        "{}/../dsl/tests/corpus/kapacitor/cases/{case}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    (
        v["script"].as_str().unwrap().to_string(),
        v["expected"].clone(),
    )
}

fn http_out(registry: &Arc<HttpOutRegistry>, endpoint: &str) -> Box<dyn Processor> {
    let info = BuildInfo {
        task: "task".into(),
        node: "http_out1".into(),
        node_id: 1,
        inputs: 1,
        task_type: TaskType::Stream,
        batch_input: false,
        services: Services::default().with("http_out", Arc::clone(registry)),
    };
    let spec = NodeSpec::HttpOut(HttpOutSpec {
        endpoint: endpoint.into(),
        quiet: false,
    });
    ops::build(&spec, &info).unwrap()
}

fn send(node: &mut Box<dyn Processor>, msg: Msg) -> Vec<Msg> {
    let services = Services::default();
    let mut stats = NodeStats::default();
    let mut ctx = Ctx {
        task: "task",
        node: "http_out1",
        services: &services,
        stats: &mut stats,
    };
    let mut out = Vec::new();
    node.process(0, msg, &mut ctx, &mut out);
    out
}

fn point(host: &str, t: i64, v: i64) -> Point {
    let mut p = Point {
        name: Sym::new("cpu"),
        db: Sym::new("db"),
        rp: Sym::new("rp"),
        tags: kap_dataflow::point::list![(Sym::new("host"), Sym::new(host))],
        fields: kap_dataflow::point::list![(Sym::new("v"), FieldValue::Int(v))],
        time: t,
        dims: Dimensions::new(false, vec![Sym::new("host")]),
        group: GroupId::default(),
    };
    p.regroup();
    p
}

#[test]
fn slots_in_group_creation_order() {
    let reg = Arc::new(HttpOutRegistry::default());
    let mut n = http_out(&reg, "out");
    assert_eq!(
        reg.json("task", "out").unwrap().unwrap(),
        r#"{"series":null}"#
    );
    assert!(reg.json("task", "other").is_none());
    let b = point("b", 0, 1);
    // A barrier creates an empty slot, and is forwarded.
    let barrier = Msg::Barrier(Barrier {
        group: b.group_info(),
        time: 0,
    });
    assert_eq!(send(&mut n, barrier.clone()), vec![barrier]);
    let out = send(&mut n, Msg::Point(point("a", S, 1)));
    assert_eq!(out, vec![Msg::Point(point("a", S, 1))]);
    assert_eq!(
        reg.json("task", "out").unwrap().unwrap(),
        r#"{"series":[null,{"name":"cpu","tags":{"host":"a"},"columns":["time","v"],"values":[["1970-01-01T00:00:01Z",1]]}]}"#
    );
    // Replacement keeps the slot's position.
    send(&mut n, Msg::Point(point("b", 2 * S, 2)));
    send(&mut n, Msg::Point(point("a", 3 * S, 3)));
    assert_eq!(
        reg.json("task", "out").unwrap().unwrap(),
        r#"{"series":[{"name":"cpu","tags":{"host":"b"},"columns":["time","v"],"values":[["1970-01-01T00:00:02Z",2]]},{"name":"cpu","tags":{"host":"a"},"columns":["time","v"],"values":[["1970-01-01T00:00:03Z",3]]}]}"#
    );
    assert_eq!(n.cardinality(), 2);
    // Delete removes the slot; later slots shift.
    send(&mut n, Msg::DeleteGroup(b.group_info()));
    assert_eq!(
        reg.json("task", "out").unwrap().unwrap(),
        r#"{"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","v"],"values":[["1970-01-01T00:00:03Z",3]]}]}"#
    );
    send(&mut n, Msg::DeleteGroup(point("a", 0, 0).group_info()));
    assert_eq!(
        reg.json("task", "out").unwrap().unwrap(),
        r#"{"series":[]}"#
    );
    // A re-created group goes last.
    send(&mut n, Msg::Point(point("b", 4 * S, 4)));
    assert_eq!(reg.result("task", "out").unwrap().series.unwrap().len(), 1);
    assert_eq!(reg.endpoints("task"), vec!["out"]);
    reg.remove_task("task");
    assert!(reg.json("task", "out").is_none());
}

#[test]
fn nan_is_an_error_and_batches_replace() {
    let reg = Arc::new(HttpOutRegistry::default());
    let mut n = http_out(&reg, "out");
    let mut p = point("a", 0, 0);
    p.fields = kap_dataflow::point::list![(Sym::new("v"), FieldValue::Float(f64::NAN))];
    send(&mut n, Msg::Point(p));
    assert_eq!(
        reg.json("task", "out").unwrap().unwrap_err(),
        "json: unsupported value: NaN"
    );
    // An (empty) batch of the same group replaces the row: name and tags only.
    let mut b = Batch {
        name: Sym::new("cpu"),
        tmax: 0,
        tags: kap_dataflow::point::list![(Sym::new("host"), Sym::new("a"))],
        dims: Dimensions::new(false, vec![Sym::new("host")]),
        group: GroupId::default(),
        points: vec![],
    };
    b.regroup();
    send(&mut n, Msg::Batch(b));
    assert_eq!(
        reg.json("task", "out").unwrap().unwrap(),
        r#"{"series":[{"name":"cpu","tags":{"host":"a"}}]}"#
    );
}

#[test]
fn corpus_http_out_pass_through_row() {
    let (_, expected) = corpus_expected("TestStream_HttpOutPassThrough");
    let reg = Arc::new(HttpOutRegistry::default());
    let mut n = http_out(&reg, "TestStream_SimpleMR");
    let mut p = Point {
        name: Sym::new("cpu"),
        db: Sym::new("db"),
        rp: Sym::new("rp"),
        tags: kap_dataflow::point::list![],
        fields: kap_dataflow::point::list![(Sym::new("count"), FieldValue::Int(10))],
        time: Y1971 + 10 * S,
        dims: Dimensions::default(),
        group: GroupId::default(),
    };
    p.regroup();
    send(&mut n, Msg::Point(p));
    let json = reg.json("task", "TestStream_SimpleMR").unwrap().unwrap();
    let got: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(got, expected);
}

/// The mean values of group `cpu=cpu1` in the window 20s–28s of `TestBatch_SimpleMR`.
const MEANS: [f64; 5] = [
    96.49999999996908,
    93.46464646468584,
    95.00950095007724,
    92.99999999998636,
    90.99999999998545,
];

fn cpu1_batch() -> Batch {
    let cpu = vec![(Sym::new("cpu"), Sym::new("cpu1"))];
    let mut b = Batch {
        name: Sym::new("cpu_usage_idle"),
        tmax: Y1971 + 30 * S,
        tags: cpu.clone().into(),
        dims: Dimensions::new(false, vec![Sym::new("cpu")]),
        group: GroupId::default(),
        points: MEANS
            .iter()
            .enumerate()
            .map(|(i, m)| BatchPoint {
                time: Y1971 + (20 + 2 * i as i64) * S,
                fields: kap_dataflow::point::list![(Sym::new("mean"), FieldValue::Float(*m))],
                tags: cpu.clone().into(),
            })
            .collect(),
    };
    b.regroup();
    b
}

/// Runs a corpus batch script on the cpu1 batch through `alert | httpOut`.
fn run_batch_case(case: &str) {
    let (script, expected) = corpus_expected(case);
    let compiled = kap_dsl::compile_source(&script, &Default::default()).unwrap();
    let reg = Arc::new(HttpOutRegistry::default());
    let services = Services::default().with("http_out", Arc::clone(&reg));
    let mut task = TaskExec::new("TestBatch_SimpleMR", &compiled.pipeline, services).unwrap();
    task.push_batch(0, cpu1_batch());
    let json = reg
        .json("TestBatch_SimpleMR", "TestBatch_SimpleMR")
        .unwrap()
        .unwrap();
    let got: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(got, expected, "{case}");
}

#[test]
fn corpus_batch_alert_level_and_id_fields() {
    run_batch_case("TestBatch_AlertLevelField");
}

#[test]
fn corpus_batch_alert_message_field() {
    run_batch_case("TestBatch_AlertMessage");
}

#[test]
fn corpus_batch_alert_all() {
    run_batch_case("TestBatch_AlertAll.02");
}

mod http_post {
    use super::*;
    use kap_dataflow::ops::http_post::{EndpointConfig, HttpPostService, HttpPoster};
    use kap_dataflow::plan::HttpPostSpec;
    use std::sync::Mutex;

    type Call = (String, Vec<(String, String)>, String, Option<i64>);

    #[derive(Debug)]
    struct Mock {
        calls: Mutex<Vec<Call>>,
        reply: Result<(u16, String), String>,
    }

    impl HttpPoster for Mock {
        fn post(
            &self,
            url: &str,
            headers: &[(String, String)],
            body: String,
            timeout_ns: Option<i64>,
        ) -> Result<(u16, String), String> {
            self.calls
                .lock()
                .unwrap()
                .push((url.into(), headers.to_vec(), body, timeout_ns));
            self.reply.clone()
        }
    }

    fn build(
        spec: HttpPostSpec,
        reply: Result<(u16, String), String>,
        with_service: bool,
    ) -> (Result<Box<dyn Processor>, String>, Arc<Mock>) {
        let mock = Arc::new(Mock {
            calls: Mutex::new(vec![]),
            reply,
        });
        let mut services = Services::default();
        if with_service {
            let svc = HttpPostService::new(Arc::clone(&mock) as Arc<dyn HttpPoster>).with_endpoint(
                "ep",
                EndpointConfig {
                    url: "http://ep/".into(),
                    headers: vec![("Auth".into(), "x".into())],
                    ..EndpointConfig::default()
                },
            );
            services = services.with("http_post", Arc::new(svc));
        }
        let info = BuildInfo {
            task: "task".into(),
            node: "http_post1".into(),
            node_id: 1,
            inputs: 1,
            task_type: TaskType::Stream,
            batch_input: false,
            services,
        };
        (
            ops::build(&NodeSpec::HttpPost(spec), &info).map_err(|e| e.to_string()),
            mock,
        )
    }

    #[test]
    fn posts_rows_and_sets_code_field() {
        let spec = HttpPostSpec {
            urls: vec!["http://sink/".into()],
            headers: vec![("X-A".into(), "1".into())],
            code_field: "code".into(),
            timeout: 5 * S,
            ..HttpPostSpec::default()
        };
        let (node, mock) = build(spec, Ok((204, String::new())), true);
        let mut node = node.unwrap();
        let out = send(&mut node, Msg::Point(point("a", S, 1)));
        let Msg::Point(p) = &out[0] else { panic!() };
        assert_eq!(p.field("code"), Some(&FieldValue::Int(204)));
        let calls = mock.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].0, "http://sink/");
        assert_eq!(
            calls[0].1,
            vec![
                ("Content-Type".to_string(), "application/json".to_string()),
                ("X-A".to_string(), "1".to_string())
            ]
        );
        assert_eq!(
            calls[0].2,
            "{\"series\":[{\"name\":\"cpu\",\"tags\":{\"host\":\"a\"},\"columns\":[\"time\",\"v\"],\"values\":[[\"1970-01-01T00:00:01Z\",1]]}]}\n"
        );
        assert_eq!(calls[0].3, Some(5 * S));
    }

    #[test]
    fn endpoints_and_transport_errors() {
        let spec = HttpPostSpec {
            endpoints: vec!["ep".into()],
            code_field: "code".into(),
            ..HttpPostSpec::default()
        };
        let (node, mock) = build(spec.clone(), Err("refused".into()), true);
        let mut node = node.unwrap();
        let out = send(&mut node, Msg::Point(point("a", S, 1)));
        let Msg::Point(p) = &out[0] else { panic!() };
        assert_eq!(p.field("code"), Some(&FieldValue::Int(0)));
        assert_eq!(mock.calls.lock().unwrap()[0].0, "http://ep/");
        assert_eq!(mock.calls.lock().unwrap()[0].1[1].0, "Auth");

        let bad = HttpPostSpec {
            endpoints: vec!["nope".into()],
            ..HttpPostSpec::default()
        };
        assert!(build(bad, Ok((200, String::new())), true).0.is_err());

        // No service: forwarded unchanged, an error counted.
        let (node, _) = build(spec, Ok((200, String::new())), false);
        let mut node = node.unwrap();
        let services = Services::default();
        let mut stats = NodeStats::default();
        let mut ctx = Ctx {
            task: "task",
            node: "http_post1",
            services: &services,
            stats: &mut stats,
        };
        let mut out = Vec::new();
        node.process(0, Msg::Point(point("a", S, 1)), &mut ctx, &mut out);
        assert_eq!(out, vec![Msg::Point(point("a", S, 1))]);
        assert_eq!(stats.errors, 1);
    }
}

#[test]
fn endpoints_outlive_their_nodes_until_replaced() {
    let reg = Arc::new(HttpOutRegistry::default());
    let mut a = http_out(&reg, "out");
    let b = http_out(&reg, "out");
    send(&mut a, Msg::Point(point("a", 0, 1)));
    // Two workers' nodes: their slots are concatenated (the idle one has none).
    assert_eq!(reg.result("task", "out").unwrap().series.unwrap().len(), 1);
    drop(b);
    assert_eq!(reg.result("task", "out").unwrap().series.unwrap().len(), 1);
    // The dataflow is gone: the last result is still served.
    drop(a);
    assert_eq!(reg.result("task", "out").unwrap().series.unwrap().len(), 1);
    // A new node (task re-enabled) replaces the dead ones.
    let _c = http_out(&reg, "out");
    assert_eq!(
        reg.json("task", "out").unwrap().unwrap(),
        r#"{"series":null}"#
    );
    reg.remove_task("task");
    assert!(reg.json("task", "out").is_none());
    assert!(reg.endpoints("task").is_empty());
}
