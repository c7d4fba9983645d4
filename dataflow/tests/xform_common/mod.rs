//! Helpers shared by the `ops_transform` and `ops_join` tests: compile a script to get a
//! node spec, build its processor and drive it with hand-made messages.
#![allow(dead_code)]

use kap_dataflow::node::{
    BuildInfo, Clock, Ctx, LogSink, NodeStats, PointsWriter, Processor, Services, WriteTarget,
};
use kap_dataflow::ops;
use kap_dataflow::plan::{NodeSpec, Pipeline, TaskType};
use kap_dataflow::point::{
    Barrier, Batch, BatchPoint, Dimensions, FieldValue, GroupInfo, Msg, Point, Sym, normalize,
};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) const S: i64 = 1_000_000_000;

/// Compiles a TICKscript.
pub(crate) fn plan(script: &str) -> Pipeline {
    kap_dsl::compile_source(script, &Default::default())
        .unwrap_or_else(|d| panic!("{script}: {d:?}"))
        .pipeline
}

/// The spec of node `id` of a script.
pub(crate) fn spec(script: &str, id: usize) -> NodeSpec {
    plan(script).nodes[id].spec.clone()
}

/// A clock the test moves.
#[derive(Debug, Default)]
pub(crate) struct TestClock(pub(crate) AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A log sink that records lines.
#[derive(Debug, Default)]
pub(crate) struct Lines(pub(crate) Mutex<Vec<(String, String)>>);

impl LogSink for Lines {
    fn log(&self, level: &str, line: &str) {
        self.0
            .lock()
            .unwrap()
            .push((level.to_string(), line.to_string()));
    }
}

/// Recorded writes: (cluster, db, rp, points).
pub(crate) type Write = (Option<String>, String, String, Vec<Point>);

/// A writer that records writes (and fails when `fail` is set).
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    pub(crate) writes: Mutex<Vec<Write>>,
    pub(crate) fail: std::sync::atomic::AtomicBool,
}

impl PointsWriter for Recorder {
    fn write(&self, target: &WriteTarget<'_>, points: Vec<Point>) -> Result<(), String> {
        if self.fail.load(Ordering::SeqCst) {
            return Err("boom".into());
        }
        target.counters.wrote(points.len());
        self.writes.lock().unwrap().push((
            target.cluster.map(str::to_string),
            target.database.to_string(),
            target.retention_policy.to_string(),
            points,
        ));
        Ok(())
    }
}

/// A processor with its stats and services.
pub(crate) struct Harness {
    pub(crate) p: Box<dyn Processor>,
    pub(crate) stats: NodeStats,
    pub(crate) services: Services,
    pub(crate) clock: Arc<TestClock>,
    pub(crate) lines: Arc<Lines>,
    pub(crate) writer: Arc<Recorder>,
}

impl Harness {
    pub(crate) fn new(spec: &NodeSpec, inputs: usize, batch: bool) -> Harness {
        Harness::try_new(spec, inputs, batch).unwrap_or_else(|e| panic!("{e}"))
    }

    pub(crate) fn try_new(
        spec: &NodeSpec,
        inputs: usize,
        batch: bool,
    ) -> Result<Harness, kap_dataflow::node::BuildError> {
        Harness::with_services(spec, inputs, batch, |s| s)
    }

    /// Like [`Harness::try_new`], with extra services added by `extra`.
    pub(crate) fn with_services(
        spec: &NodeSpec,
        inputs: usize,
        batch: bool,
        extra: impl FnOnce(Services) -> Services,
    ) -> Result<Harness, kap_dataflow::node::BuildError> {
        let clock = Arc::new(TestClock::default());
        let lines = Arc::new(Lines::default());
        let writer = Arc::new(Recorder::default());
        let services = Services {
            clock: Arc::<TestClock>::clone(&clock),
            log: Arc::<Lines>::clone(&lines),
            points: Arc::<Recorder>::clone(&writer),
            ..Services::default()
        };
        let services = extra(services);
        let info = BuildInfo {
            task: "t".into(),
            node: "n1".into(),
            node_id: 1,
            inputs,
            task_type: if batch {
                TaskType::Batch
            } else {
                TaskType::Stream
            },
            batch_input: batch,
            services: services.clone(),
        };
        Ok(Harness {
            p: ops::build(spec, &info)?,
            stats: NodeStats::default(),
            services,
            clock,
            lines,
            writer,
        })
    }

    pub(crate) fn send(&mut self, input: usize, msg: Msg) -> Vec<Msg> {
        let mut out = Vec::new();
        let mut ctx = Ctx {
            task: "t",
            node: "n1",
            services: &self.services,
            stats: &mut self.stats,
        };
        self.p.process(input, msg, &mut ctx, &mut out);
        out
    }

    pub(crate) fn done(&mut self) -> Vec<Msg> {
        let mut out = Vec::new();
        let mut ctx = Ctx {
            task: "t",
            node: "n1",
            services: &self.services,
            stats: &mut self.stats,
        };
        self.p.done(&mut ctx, &mut out);
        out
    }

    pub(crate) fn counter(&self, name: &str) -> i64 {
        self.stats.counters.get(name).copied().unwrap_or(0)
    }
}

pub(crate) fn f(x: f64) -> FieldValue {
    FieldValue::Float(x)
}

pub(crate) fn i(x: i64) -> FieldValue {
    FieldValue::Int(x)
}

pub(crate) fn s(x: &str) -> FieldValue {
    FieldValue::String(x.into())
}

pub(crate) fn tags(t: &[(&str, &str)]) -> kap_dataflow::point::Tags {
    let mut v: kap_dataflow::point::Tags =
        t.iter().map(|(k, v)| (Sym::new(k), Sym::new(v))).collect();
    normalize(&mut v);
    v
}

pub(crate) fn fields(fs: &[(&str, FieldValue)]) -> kap_dataflow::point::Fields {
    let mut v: kap_dataflow::point::Fields =
        fs.iter().map(|(k, v)| (Sym::new(k), v.clone())).collect();
    normalize(&mut v);
    v
}

pub(crate) fn dims(names: &[&str]) -> Dimensions {
    Dimensions::new(false, names.iter().map(|n| Sym::new(n)).collect())
}

/// A point of measurement `name` grouped by `group`.
pub(crate) fn pt(
    name: &str,
    t: &[(&str, &str)],
    fs: &[(&str, FieldValue)],
    time: i64,
    group: &[&str],
) -> Point {
    let mut p = Point {
        name: Sym::new(name),
        db: Sym::new("db"),
        rp: Sym::new("rp"),
        tags: tags(t),
        fields: fields(fs),
        time,
        dims: dims(group),
        group: Default::default(),
    };
    p.regroup();
    p
}

pub(crate) fn bp(t: &[(&str, &str)], fs: &[(&str, FieldValue)], time: i64) -> BatchPoint {
    BatchPoint {
        time,
        fields: fields(fs),
        tags: tags(t),
    }
}

/// A batch whose tags (and dimensions) are `t`.
pub(crate) fn batch(name: &str, t: &[(&str, &str)], tmax: i64, points: Vec<BatchPoint>) -> Batch {
    let mut b = Batch {
        name: Sym::new(name),
        tmax,
        tags: Default::default(),
        dims: Dimensions::default(),
        group: Default::default(),
        points,
    };
    b.set_tags(tags(t));
    b
}

pub(crate) fn barrier(p: &Point, time: i64) -> Msg {
    Msg::Barrier(Barrier {
        group: p.group_info(),
        time,
    })
}

pub(crate) fn nil_group() -> GroupInfo {
    GroupInfo::new(Sym::new("m"), Default::default(), Dimensions::default())
}

pub(crate) fn points(msgs: &[Msg]) -> Vec<&Point> {
    msgs.iter()
        .map(|m| match m {
            Msg::Point(p) => p,
            other => panic!("expected a point, got {other:?}"),
        })
        .collect()
}

pub(crate) fn batches(msgs: &[Msg]) -> Vec<&Batch> {
    msgs.iter()
        .map(|m| match m {
            Msg::Batch(b) => b,
            other => panic!("expected a batch, got {other:?}"),
        })
        .collect()
}

pub(crate) fn field_names(p: &Point) -> Vec<&'static str> {
    p.fields.iter().map(|(k, _)| k.as_str()).collect()
}
