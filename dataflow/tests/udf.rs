//! UDF nodes in the engine, with an in-process agent: one agent per task node whatever the
//! worker count, answers taken as they come and, at the end of the input, until the agent
//! is done.

use kap_dataflow::alert::{ALERTS_SERVICE, AlertEvent, AlertService, AlertSink};
use kap_dataflow::node::Services;
use kap_dataflow::ops::udf::{Received, UDF_SERVICE, UdfAgent, UdfService, UdfStarter};
use kap_dataflow::point::{FieldValue, Msg, Point, Sym};
use kap_dataflow::runtime::{Engine, EngineConfig, Feed};
use kap_dsl::registry::EdgeType;
use kap_dsl::value::{Value, ValueType};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An agent that keeps every point and, once its input is closed, sends each back with
/// its `value` times the `factor` option.
struct Holding {
    factor: f64,
    held: Vec<Point>,
    out: VecDeque<Msg>,
    closed: bool,
}

impl UdfAgent for Holding {
    fn send(&mut self, msg: &Msg) -> Result<(), String> {
        if let Msg::Point(p) = msg {
            self.held.push(p.clone());
        }
        Ok(())
    }

    fn recv(&mut self, _: Duration) -> Received {
        match self.out.pop_front() {
            Some(m) => Received::Msg(m),
            None if self.closed => Received::Ended(None),
            None => Received::Nothing,
        }
    }

    fn close(&mut self) {
        self.closed = true;
        for mut p in self.held.drain(..) {
            if let Some(FieldValue::Float(v)) = p.fields.get_mut(0).map(|f| &mut f.1) {
                *v *= self.factor;
            }
            self.out.push_back(Msg::Point(p));
        }
    }
}

#[derive(Debug, Default)]
struct Agents {
    started: AtomicUsize,
}

impl UdfService for Agents {
    fn start(
        &self,
        udf: &str,
        _: &str,
        node: &str,
        options: &[(String, Vec<Value>)],
        _: kap_dataflow::ops::udf::Wake,
    ) -> Result<Box<dyn UdfAgent>, String> {
        assert_eq!((udf, node), ("hold", "hold2"));
        self.started.fetch_add(1, Ordering::Relaxed);
        let factor = match options {
            [(k, v)] if k == "factor" => match v[..] {
                [Value::Float(f)] => f,
                _ => return Err("factor takes a float".into()),
            },
            _ => 1.0,
        };
        Ok(Box::new(Holding {
            factor,
            held: Vec::new(),
            out: VecDeque::new(),
            closed: false,
        }))
    }

    fn timeout(&self, _: &str) -> Duration {
        Duration::from_secs(5)
    }
}

#[derive(Debug, Default)]
struct Events(Mutex<Vec<(String, f64)>>);

impl AlertSink for Events {
    fn publish(&self, e: AlertEvent) {
        use kap_dataflow::result::Cell;
        let row = e
            .data
            .series
            .as_ref()
            .and_then(|s| s[0].clone())
            .expect("a row");
        let col = row
            .columns
            .iter()
            .position(|c| c == "value")
            .expect("value");
        let v = match &row.values[0][col] {
            Cell::Field(FieldValue::Float(v)) => *v,
            _ => f64::NAN,
        };
        self.0.lock().unwrap().push((e.id, v));
    }
}

/// Compiles `script` knowing the stream UDF `udf` and its options.
fn compile_with_udf(
    udf: &str,
    options: &[(&str, ValueType)],
    script: &str,
) -> kap_dsl::plan::Pipeline {
    let info = kap_dsl::UdfInfo {
        wants: EdgeType::Stream,
        provides: EdgeType::Stream,
        options: options
            .iter()
            .map(|(k, t)| (k.to_string(), vec![*t]))
            .collect(),
    };
    let opts = kap_dsl::CompileOptions {
        udfs: [(udf.to_string(), info)].into(),
        ..Default::default()
    };
    kap_dsl::compile_source(script, &opts)
        .expect("compiles")
        .pipeline
}

fn run(workers: usize) -> (Vec<(String, f64)>, usize) {
    let plan = compile_with_udf(
        "hold",
        &[("factor", ValueType::Float)],
        "stream|from().measurement('cpu').groupBy('host')@hold().factor(10.0)|alert().id('{{ index .Tags \"host\" }}').info(lambda: TRUE).topic('t')",
    );
    let engine = Engine::start(EngineConfig {
        workers,
        ..Default::default()
    })
    .unwrap();
    let agents = Arc::new(Agents::default());
    let events = Arc::new(Events::default());
    let services = Services::default()
        .with(
            ALERTS_SERVICE,
            Arc::new(AlertService(Arc::clone(&events) as Arc<dyn AlertSink>)),
        )
        .with(
            UDF_SERVICE,
            Arc::new(UdfStarter(Arc::clone(&agents) as Arc<dyn UdfService>)),
        );
    engine.install("t", &plan, services, Feed::Direct).unwrap();
    let points: Vec<Point> = (0..6)
        .map(|i| {
            Point::new(
                "cpu",
                vec![(Sym::new("host"), Sym::new(&format!("h{}", i % 3)))],
                vec![(Sym::new("value"), FieldValue::Float(i as f64))],
                i * 1_000_000_000,
            )
            .in_db("db", "rp")
        })
        .collect();
    for c in points.chunks(2) {
        engine.feed_points("t", c.to_vec()).unwrap();
    }
    engine.close_and_wait("t", Duration::from_secs(30)).unwrap();
    engine.shutdown();
    let got = std::mem::take(&mut *events.0.lock().unwrap());
    (got, agents.started.load(Ordering::Relaxed))
}

#[test]
fn one_agent_per_node_and_its_last_answers_come_at_the_end_of_the_input() {
    let want: Vec<(String, f64)> = (0..6)
        .map(|i| (format!("h{}", i % 3), i as f64 * 10.0))
        .collect();
    for workers in [1, 2] {
        let (mut got, started) = run(workers);
        // The answers come in the agent's order; alerts of different groups may interleave.
        got.sort_by(|a, b| a.1.total_cmp(&b.1));
        assert_eq!(got, want, "{workers} worker(s), {started} agent(s)");
        assert_eq!(started, 1, "{workers} worker(s)");
    }
}

/// An agent that answers each point with itself, one step late: an answer is ready once a
/// `recv` found nothing after the point was sent. So the node takes the answer to a
/// point when it hands over the next one, and the last answer of a write on its timer,
/// in the same turn of its stage as the write.
#[derive(Default)]
struct Lagging {
    ready: VecDeque<Msg>,
    pending: Option<Msg>,
}

impl UdfAgent for Lagging {
    fn send(&mut self, msg: &Msg) -> Result<(), String> {
        self.ready.extend(self.pending.take());
        self.pending = Some(msg.clone());
        Ok(())
    }

    fn recv(&mut self, _: Duration) -> Received {
        match self.ready.pop_front() {
            Some(m) => Received::Msg(m),
            None => {
                self.ready.extend(self.pending.take());
                Received::Nothing
            }
        }
    }

    fn close(&mut self) {}
}

#[derive(Debug)]
struct LaggingAgents;

impl UdfService for LaggingAgents {
    fn start(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: &[(String, Vec<Value>)],
        _: kap_dataflow::ops::udf::Wake,
    ) -> Result<Box<dyn UdfAgent>, String> {
        Ok(Box::<Lagging>::default())
    }

    fn timeout(&self, _: &str) -> Duration {
        Duration::from_secs(5)
    }
}

/// What a UDF node's timer takes from its agent goes on after what the node emitted while
/// handling the write before it: a later stage never sees it first (an httpOut showed the
/// answer to a write's second point as the last one, the third's having overtaken it).
#[test]
fn answers_taken_on_the_timer_follow_those_taken_with_the_data() {
    use kap_dataflow::ops::http_out::HttpOutRegistry;
    use kap_dsl::plan::DbRp;
    let plan = compile_with_udf(
        "lag",
        &[],
        "stream|from().measurement('cpu').groupBy('host')@lag()|httpOut('out')",
    );
    for workers in [1, 2] {
        // A short heartbeat: many rounds, quickly (the overtaking needed the worker
        // without the data to be a step behind, which only some rounds see).
        let engine = Engine::start(EngineConfig {
            workers,
            heartbeat: Duration::from_millis(5),
            ..Default::default()
        })
        .unwrap();
        let reg = Arc::new(HttpOutRegistry::default());
        let services = Services::default()
            .with("http_out", Arc::clone(&reg))
            .with(UDF_SERVICE, Arc::new(UdfStarter(Arc::new(LaggingAgents))));
        let feed = Feed::Live {
            dbrps: vec![DbRp {
                db: "db".into(),
                rp: "rp".into(),
            }],
            measurements: Some(vec!["cpu".into()]),
        };
        engine.install("t", &plan, services, feed).unwrap();
        for round in 0..100i64 {
            let points: Vec<Point> = (1..=3)
                .map(|i| {
                    let t = round * 10 + i;
                    Point::new(
                        "cpu",
                        vec![(Sym::new("host"), Sym::new("a"))],
                        vec![(Sym::new("value"), FieldValue::Float(t as f64))],
                        t * 1_000_000_000,
                    )
                    .in_db("db", "rp")
                })
                .collect();
            engine.write(points).unwrap();
            let t = round * 10 + 3;
            let want = format!(
                "\"values\":[[\"1970-01-01T00:{:02}:{:02}Z\",{t}]]",
                t / 60,
                t % 60
            );
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let mut json = String::new();
            while std::time::Instant::now() < deadline {
                json = reg
                    .json("t", "out")
                    .and_then(Result::ok)
                    .unwrap_or_default();
                if json.contains(&want) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            // The last answer stays the last row (nothing older overtakes it later).
            std::thread::sleep(Duration::from_millis(20));
            let json_later = reg
                .json("t", "out")
                .and_then(Result::ok)
                .unwrap_or_default();
            assert!(
                json.contains(&want) && json_later.contains(&want),
                "{workers} worker(s), round {round}: want {want} in {json} and then in {json_later}"
            );
        }
        engine.shutdown();
    }
}
