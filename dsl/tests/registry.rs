//! Registry tests: consistency of every node and property definition, Kapacitor defaults
//! and validation rules, the lambda function table, the corpus scripts' node and property
//! names, and freshness of the generated `dsl/NODES.md`.

use kap_dsl::ast::{ChainOp, Expr as AstExpr, ExprKind, Stmt};
use kap_dsl::expr::Expr;
use kap_dsl::plan::*;
use kap_dsl::registry::functions::{self, CallCheckError, FuncType};
use kap_dsl::registry::{
    self, ArgKind, EdgeType, NODES, NodeDef, Params, PropDef, Provides, Special, Wants,
};
use kap_dsl::value::Value;
use std::collections::{HashMap, HashSet};

const SEC: i64 = 1_000_000_000;

fn sample(kind: ArgKind) -> Value {
    match kind {
        ArgKind::Int => Value::Int(2),
        ArgKind::Float => Value::Float(0.5),
        ArgKind::Bool => Value::Bool(true),
        ArgKind::String => Value::String("/x".into()),
        ArgKind::Duration => Value::Duration(SEC),
        ArgKind::Regex => Value::Regex("x".into()),
        ArgKind::Lambda => Value::Lambda(Expr::Bool(true)),
        ArgKind::StringOrStar | ArgKind::Dimension => Value::String("host".into()),
        ArgKind::IntOrDuration => Value::Int(2),
        ArgKind::Scalar => Value::Int(1),
        ArgKind::Node => Value::Node(1),
    }
}

/// Sample arguments: the required ones, plus one of each optional and variadic.
fn samples(p: &Params, full: bool) -> Vec<Value> {
    let mut v: Vec<Value> = p.required.iter().map(|p| sample(p.kind)).collect();
    if full {
        v.extend(p.optional.iter().map(|p| sample(p.kind)));
        v.extend(p.variadic.iter().map(|p| sample(p.kind)));
    }
    v
}

fn def(name: &str) -> &'static NodeDef {
    registry::node(name).unwrap_or_else(|| panic!("no node {name}"))
}

fn build(name: &str, args: &[Value]) -> NodeSpec {
    (def(name).build)(args).unwrap_or_else(|e| panic!("{name} build: {e}"))
}

fn apply(spec: &mut NodeSpec, node: &str, prop: &str, args: &[Value]) -> Result<(), String> {
    let p = def(node)
        .prop(prop)
        .unwrap_or_else(|| panic!("no prop {node}.{prop}"));
    (p.apply)(spec, args)
}

fn set(spec: &mut NodeSpec, node: &str, prop: &str, args: &[Value]) {
    apply(spec, node, prop, args).unwrap_or_else(|e| panic!("{node}.{prop}: {e}"));
}

fn validate(spec: &NodeSpec) -> Result<(), String> {
    (def(spec.kind()).validate)(spec)
}

fn s(x: &str) -> Value {
    Value::String(x.into())
}

fn lam() -> Value {
    Value::Lambda(Expr::Bool(true))
}

// ------------------------------------------------------------------------------------------
// Consistency

#[test]
fn names_are_unique_and_descs_set() {
    let mut names = HashSet::new();
    for n in NODES {
        assert!(names.insert(n.name), "duplicate node {}", n.name);
        assert!(!n.desc.is_empty(), "{} has no desc", n.name);
        assert!(!n.doc.is_empty(), "{} has no doc", n.name);
        let mut props = HashSet::new();
        for p in n.props {
            assert!(props.insert(p.name), "duplicate prop {}.{}", n.name, p.name);
            assert!(!p.doc.is_empty(), "{}.{} has no doc", n.name, p.name);
            if let Some(hp) = p.opens {
                let mut hnames = HashSet::new();
                for h in hp {
                    assert!(
                        hnames.insert(h.name),
                        "duplicate handler prop {}.{}.{}",
                        n.name,
                        p.name,
                        h.name
                    );
                    assert!(h.opens.is_none());
                }
            }
        }
        assert!(n.prop("quiet").is_some(), "{} lacks .quiet()", n.name);
    }
}

#[test]
fn every_node_builds_and_every_prop_applies() {
    for n in NODES {
        for full in [false, true] {
            let args = samples(&n.params, full);
            let mut spec = (n.build)(&args).unwrap_or_else(|e| panic!("{} build: {e}", n.name));
            match n.name {
                "deadman" => assert_eq!(spec.kind(), "alert"),
                _ => assert_eq!(spec.kind(), n.name),
            }
            match n.name {
                "deadman" => {}
                "@udf" => assert_eq!(spec.desc(), "/x"),
                _ => assert_eq!(spec.desc(), n.desc, "{}", n.name),
            }
            for p in n.props {
                let pargs = samples(&p.params, full);
                (p.apply)(&mut spec, &pargs)
                    .unwrap_or_else(|e| panic!("{}.{}: {e}", n.name, p.name));
                for h in p.opens.unwrap_or(&[]) {
                    let hargs = samples(&h.params, full);
                    (h.apply)(&mut spec, &hargs)
                        .unwrap_or_else(|e| panic!("{}.{}.{}: {e}", n.name, p.name, h.name));
                }
            }
            assert!(
                spec.quiet() || matches!(spec, NodeSpec::Stream | NodeSpec::Batch),
                "{}",
                n.name
            );
            // Plans are serde round-trippable.
            let json = serde_json::to_string(&spec).expect("serialize");
            let back: NodeSpec = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, spec, "{}", n.name);
            // Validation never panics.
            let _ = (n.validate)(&spec);
        }
    }
}

#[test]
fn props_reject_other_node_kinds() {
    let mut spec = build("window", &[]);
    let err = apply(&mut spec, "alert", "crit", &[lam()]).unwrap_err();
    assert!(err.contains("window"), "{err}");
    // A handler property without its handler.
    let post = def("alert")
        .prop("post")
        .and_then(|p| p.opens)
        .expect("post opens");
    let mut alert = build("alert", &[]);
    assert!((post[0].apply)(&mut alert, &[s("x")]).is_err());
}

#[test]
fn edges_follow_kapacitor() {
    let e = |n: &str| (def(n).wants, def(n).provides);
    assert_eq!(e("stream"), (Wants::Root, Provides::Stream));
    assert_eq!(e("batch"), (Wants::Root, Provides::Batch));
    assert_eq!(e("from"), (Wants::Stream, Provides::Stream));
    assert_eq!(e("query"), (Wants::Batch, Provides::Batch));
    assert_eq!(e("queryFlux"), (Wants::Batch, Provides::Batch));
    assert_eq!(e("window"), (Wants::Stream, Provides::Batch));
    assert_eq!(e("trickle"), (Wants::Batch, Provides::Stream));
    assert_eq!(e("combine"), (Wants::Any, Provides::Stream));
    assert_eq!(e("stats"), (Wants::Any, Provides::Stream));
    assert_eq!(e("influxDBOut").1, Provides::None);
    assert_eq!(e("kapacitorLoopback").1, Provides::None);
    for n in [
        "alert",
        "httpOut",
        "httpPost",
        "join",
        "union",
        "where",
        "eval",
        "log",
        "difference",
        "cumulativeSum",
        "movingAverage",
        "elapsed",
    ] {
        assert_eq!(e(n), (Wants::Any, Provides::Same), "{n}");
    }
    for n in [
        "count",
        "mean",
        "median",
        "mode",
        "spread",
        "sum",
        "first",
        "last",
        "min",
        "max",
        "stddev",
        "percentile",
    ] {
        assert_eq!(e(n).1, Provides::Stream, "{n}");
    }
    for n in [
        "distinct",
        "top",
        "bottom",
        "holtWinters",
        "holtWintersWithFit",
    ] {
        assert_eq!(e(n).1, Provides::Batch, "{n}");
    }
    for n in ["k8sAutoscale", "swarmAutoscale", "ec2Autoscale"] {
        assert_eq!(e(n).1, Provides::Stream, "{n}");
    }
    assert_eq!(def("window").output(EdgeType::Stream), EdgeType::Batch);
    assert_eq!(def("join").special, Special::MultiParent);
    assert_eq!(def("union").special, Special::MultiParent);
    assert_eq!(def("stats").special, Special::Stats);
    assert_eq!(def("deadman").special, Special::Deadman);
    assert!(registry::can_chain(def("stream"), def("from")));
    assert!(!registry::can_chain(def("stream"), def("where")));
    assert!(!registry::can_chain(def("from"), def("from")));
    assert!(registry::can_chain(def("batch"), def("queryFlux")));
    assert!(!registry::can_chain(def("batch"), def("window")));
    assert!(registry::can_chain(def("influxDBOut"), def("stats")));
    assert!(registry::can_chain(def("window"), def("mean")));
    // noop is internal: not chainable, not suggested.
    assert!(!registry::node_names().any(|n| n == "noop"));
    assert!(registry::node("noop").is_some());
}

#[test]
fn descs_follow_kapacitor() {
    for (n, d) in [
        ("groupBy", "groupby"),
        ("queryFlux", "query_flux"),
        ("stateDuration", "state_duration"),
        ("stateCount", "state_count"),
        ("httpOut", "http_out"),
        ("httpPost", "http_post"),
        ("influxDBOut", "influxdb_out"),
        ("kapacitorLoopback", "kapacitor_loopback"),
        ("k8sAutoscale", "k8s_autoscale"),
        ("swarmAutoscale", "swarm_autoscale"),
        ("ec2Autoscale", "ec2_autoscale"),
        ("changeDetect", "changeDetect"),
        ("movingAverage", "movingAverage"),
        ("holtWintersWithFit", "holtWintersWithFit"),
    ] {
        assert_eq!(def(n).desc, d);
    }
    for f in InfluxQLFunc::ALL {
        assert_eq!(def(f.name()).desc, f.name());
    }
}

#[test]
fn signatures_follow_kapacitor() {
    let sig = |n: &str| def(n).params.signature();
    assert_eq!(sig("groupBy"), "(tag string or *...)");
    assert_eq!(sig("top"), "(n int, field string, fieldOrTag string...)");
    assert_eq!(
        sig("holtWinters"),
        "(field string, h int, m int, interval duration)"
    );
    assert_eq!(
        sig("deadman"),
        "(threshold float, interval duration, lambda lambda...)"
    );
    assert_eq!(sig("sample"), "(rate int or duration)");
    assert_eq!(sig("httpPost"), "(url string...)");
    let alert = def("alert");
    let p = |n: &str| alert.prop(n).expect(n).params.signature();
    assert_eq!(p("stateChangesOnly"), "([maxInterval duration])");
    assert_eq!(p("flapping"), "(low float, high float)");
    assert_eq!(p("inhibit"), "(category string, tag string...)");
    assert_eq!(p("exec"), "(program string, arg string...)");
    assert_eq!(p("post"), "([url string])");
    assert_eq!(
        def("query")
            .prop("groupBy")
            .expect("groupBy")
            .params
            .signature(),
        "(dimension string, * or time()...)"
    );
    let pushover = alert
        .prop("pushover")
        .and_then(|p| p.opens)
        .expect("pushover");
    assert!(
        pushover.iter().any(|p| p.name == "uRL") && pushover.iter().any(|p| p.name == "uRLTitle")
    );
}

// ------------------------------------------------------------------------------------------
// Defaults

#[test]
fn defaults_are_kapacitors() {
    let NodeSpec::Alert(a) = build("alert", &[]) else {
        panic!()
    };
    assert_eq!(a.history, 21);
    assert_eq!(a.id_template(), "{{ .Name }}:{{ .Group }}");
    assert_eq!(a.message_template(), "{{ .ID }} is {{ .Level }}");
    assert_eq!(a.details_template(), "{{ json . }}");
    let NodeSpec::InfluxDbOut(o) = build("influxDBOut", &[]) else {
        panic!()
    };
    assert_eq!((o.buffer, o.flush_interval), (1000, 10 * SEC));
    let NodeSpec::Log(l) = build("log", &[]) else {
        panic!()
    };
    assert_eq!(l.level, "INFO");
    let NodeSpec::Derivative(d) = build("derivative", &[s("value")]) else {
        panic!()
    };
    assert_eq!(
        (d.as_.as_str(), d.unit, d.non_negative),
        ("value", SEC, false)
    );
    let NodeSpec::StateDuration(sd) = build("stateDuration", &[lam()]) else {
        panic!()
    };
    assert_eq!((sd.as_.as_str(), sd.unit), ("state_duration", SEC));
    let NodeSpec::StateCount(sc) = build("stateCount", &[lam()]) else {
        panic!()
    };
    assert_eq!(sc.as_, "state_count");
    let NodeSpec::Join(j) = build("join", &[Value::Node(3), Value::Node(4)]) else {
        panic!()
    };
    assert_eq!(
        (j.inputs, j.delimiter.as_str(), &j.fill),
        (3, ".", &Fill::None)
    );
    let NodeSpec::Combine(c) = build("combine", &[lam(), lam()]) else {
        panic!()
    };
    assert_eq!((c.delimiter.as_str(), c.max), (".", 1_000_000));
    let NodeSpec::Flatten(f) = build("flatten", &[]) else {
        panic!()
    };
    assert_eq!(f.delimiter, ".");
    let NodeSpec::Window(w) = build("window", &[]) else {
        panic!()
    };
    assert_eq!(w, WindowSpec::default());
    assert_eq!((w.period, w.every), (None, None));
    let NodeSpec::K8sAutoscale(k) = build("k8sAutoscale", &[]) else {
        panic!()
    };
    assert_eq!((k.kind.as_str(), k.min, k.max), ("deployments", 1, 0));
    assert_eq!(
        (
            k.namespace_tag.as_str(),
            k.kind_tag.as_str(),
            k.resource_tag.as_str()
        ),
        ("namespace", "kind", "resource")
    );
    let NodeSpec::InfluxQL(m) = build("mean", &[s("usage")]) else {
        panic!()
    };
    assert_eq!(
        (m.func, m.field.as_str(), m.as_.as_str(), m.use_point_times),
        (InfluxQLFunc::Mean, "usage", "mean", false)
    );
    let NodeSpec::InfluxQL(t) = build("top", &[Value::Int(3), s("f"), s("host"), s("cpu")]) else {
        panic!()
    };
    assert_eq!(
        (t.n, t.fields_and_tags.clone()),
        (3, vec!["host".to_string(), "cpu".to_string()])
    );
    let NodeSpec::Sample(sm) = build("sample", &[Value::Duration(3 * SEC)]) else {
        panic!()
    };
    assert_eq!((sm.count, sm.duration), (0, 3 * SEC));
}

#[test]
fn props_write_the_spec() {
    // from: repeated where calls are ANDed; groupBy(*).
    let mut from = build("from", &[]);
    set(
        &mut from,
        "from",
        "where",
        &[Value::Lambda(Expr::Ref("a".into()))],
    );
    set(
        &mut from,
        "from",
        "where",
        &[Value::Lambda(Expr::Ref("b".into()))],
    );
    set(&mut from, "from", "groupBy", &[Value::Star]);
    let NodeSpec::From(f) = &from else { panic!() };
    assert_eq!(
        f.where_.as_ref().map(|e| e.to_string()).as_deref(),
        Some("\"a\" AND \"b\"")
    );
    assert_eq!(f.dimensions, vec![Dimension::Star]);
    // query groupBy with a time dimension and fill.
    let mut q = build("query", &[s("SELECT mean(v) FROM cpu")]);
    set(
        &mut q,
        "query",
        "groupBy",
        &[
            Value::TimeDimension {
                every: 60 * SEC,
                offset: 0,
            },
            s("host"),
        ],
    );
    set(&mut q, "query", "fill", &[s("previous")]);
    set(&mut q, "query", "every", &[Value::Duration(SEC)]);
    let NodeSpec::Query(qs) = &q else { panic!() };
    assert_eq!(
        qs.dimensions,
        vec![
            Dimension::Time {
                every: 60 * SEC,
                offset: 0
            },
            Dimension::Tag("host".into())
        ]
    );
    assert_eq!(qs.fill, Some(Fill::Previous));
    assert!(validate(&q).is_ok());
    assert!(apply(&mut q, "query", "fill", &[s("bogus")]).is_err());
    // alert handlers: each handler property edits the last handler.
    let mut a = build("alert", &[]);
    set(&mut a, "alert", "crit", &[lam()]);
    set(
        &mut a,
        "alert",
        "stateChangesOnly",
        &[Value::Duration(5 * SEC)],
    );
    set(&mut a, "alert", "post", &[s("http://x")]);
    let post = def("alert")
        .prop("post")
        .and_then(|p| p.opens)
        .expect("post");
    let header = post.iter().find(|p| p.name == "header").expect("header");
    (header.apply)(&mut a, &[s("k"), s("v")]).expect("header");
    (header.apply)(&mut a, &[s("k"), s("w")]).expect("header");
    set(&mut a, "alert", "email", &[s("a@b"), s("c@d")]);
    set(&mut a, "alert", "log", &[s("/tmp/a.log")]);
    set(&mut a, "alert", "inhibit", &[s("cat"), s("host")]);
    let NodeSpec::Alert(al) = &a else { panic!() };
    assert!(al.crit.is_some() && al.state_changes_only);
    assert_eq!(al.state_changes_only_max_interval, 5 * SEC);
    assert_eq!(al.handlers.len(), 3);
    let HandlerSpec::Post(p) = &al.handlers[0] else {
        panic!()
    };
    assert_eq!(
        (p.url.as_str(), p.headers.clone()),
        ("http://x", vec![("k".to_string(), "w".to_string())])
    );
    let HandlerSpec::Email(e) = &al.handlers[1] else {
        panic!()
    };
    assert_eq!(e.to, vec!["a@b".to_string(), "c@d".to_string()]);
    let HandlerSpec::Log(l) = &al.handlers[2] else {
        panic!()
    };
    assert_eq!(l.mode, 0o600);
    assert_eq!(al.handlers[1].kind(), "smtp");
    assert_eq!(
        al.inhibitors,
        vec![Inhibitor {
            category: "cat".into(),
            equal_tags: vec!["host".into()]
        }]
    );
    assert!(validate(&a).is_ok());
    // UDF options.
    let mut u = build("@udf", &[s("movingAvg")]);
    registry::apply_udf_option(&mut u, "field", &[s("value")]).expect("udf option");
    let NodeSpec::Udf(us) = &u else { panic!() };
    assert_eq!(us.options, vec![("field".to_string(), vec![s("value")])]);
    assert_eq!(u.desc(), "movingAvg");
    // .quiet() on every kind, ignored by roots.
    let mut st = build("stream", &[]);
    set(&mut st, "stream", "quiet", &[]);
    assert_eq!(st, NodeSpec::Stream);
}

// ------------------------------------------------------------------------------------------
// Validation

fn invalid(spec: &NodeSpec, needle: &str) {
    match validate(spec) {
        Ok(()) => panic!("{} should be invalid ({needle})", spec.kind()),
        Err(m) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
    }
}

#[test]
fn window_validation() {
    let mut w = build("window", &[]);
    set(&mut w, "window", "period", &[Value::Duration(10 * SEC)]);
    set(&mut w, "window", "every", &[Value::Duration(10 * SEC)]);
    assert!(validate(&w).is_ok());
    set(&mut w, "window", "periodCount", &[Value::Int(10)]);
    invalid(&w, "one window type");
    let mut c = build("window", &[]);
    set(&mut c, "window", "periodCount", &[Value::Int(10)]);
    invalid(&c, "everyCount");
    set(&mut c, "window", "everyCount", &[Value::Int(1)]);
    assert!(validate(&c).is_ok());
    set(&mut c, "window", "align", &[]);
    invalid(&c, "align");
}

#[test]
fn node_validation() {
    let mut e = build("eval", &[lam(), lam()]);
    set(&mut e, "eval", "as", &[s("a")]);
    invalid(&e, "one name per expression");
    set(&mut e, "eval", "as", &[s("a"), s("b")]);
    assert!(validate(&e).is_ok());
    set(&mut e, "eval", "tags", &[s("c")]);
    invalid(&e, "\"c\"");

    invalid(&build("shift", &[Value::Duration(0)]), "non zero");
    assert!(validate(&build("shift", &[Value::Duration(-SEC)])).is_ok());
    invalid(&build("sample", &[Value::Int(0)]), "greater than zero");

    let mut q = build("query", &[s("SELECT v FROM m")]);
    // No schedule is accepted at definition; the scheduler refuses to start it.
    assert!(validate(&q).is_ok());
    set(&mut q, "query", "every", &[Value::Duration(SEC)]);
    set(&mut q, "query", "cron", &[s("* * * * *")]);
    invalid(&q, "must not set both");
    let mut q = build("query", &[s("SELECT 1")]);
    set(&mut q, "query", "every", &[Value::Duration(SEC)]);
    let t = Value::TimeDimension {
        every: SEC,
        offset: 0,
    };
    set(&mut q, "query", "groupBy", &[t.clone(), t]);
    invalid(&q, "time dimension");

    let mut b = build("barrier", &[]);
    invalid(&b, "either idle or period");
    set(&mut b, "barrier", "idle", &[Value::Duration(SEC)]);
    assert!(validate(&b).is_ok());
    set(&mut b, "barrier", "period", &[Value::Duration(SEC)]);
    invalid(&b, "both");

    let mut j = build("join", &[Value::Node(1)]);
    invalid(&j, "join.As() is required");
    set(&mut j, "join", "as", &[s("a")]);
    invalid(&j, "must match number of joined nodes");
    set(&mut j, "join", "as", &[s("a"), s("a")]);
    invalid(&j, "same prefix");
    set(&mut j, "join", "as", &[s("a.x"), s("b")]);
    invalid(&j, "delimiter");
    set(&mut j, "join", "as", &[s("a"), s("b")]);
    assert!(validate(&j).is_ok());
    assert!(apply(&mut j, "join", "fill", &[s("previous")]).is_err());
    set(&mut j, "join", "fill", &[s("null")]);
    set(&mut j, "join", "fill", &[Value::Float(0.0)]);
    assert!(validate(&j).is_ok());

    let mut c = build("combine", &[lam(), lam()]);
    set(&mut c, "combine", "as", &[s("a")]);
    invalid(&c, "one name per expression");

    let mut g = build("groupBy", &[Value::Star, s("host")]);
    invalid(&g, "'*'");
    g = build("groupBy", &[s("host")]);
    set(&mut g, "groupBy", "exclude", &[s("cpu")]);
    invalid(&g, "exclude requires '*'");
    let mut from = build("from", &[]);
    set(&mut from, "from", "groupBy", &[Value::Star, s("x")]);
    invalid(&from, "'*'");

    invalid(&build("movingAverage", &[s("f"), Value::Int(0)]), "window");
    invalid(&build("top", &[Value::Int(0), s("f")]), "at least 1");
    invalid(
        &build(
            "holtWinters",
            &[s("f"), Value::Int(0), Value::Int(0), Value::Duration(SEC)],
        ),
        "h must",
    );
    invalid(&build("elapsed", &[s("f"), Value::Duration(0)]), "unit");
    assert!(validate(&build("percentile", &[s("f"), Value::Float(99.0)])).is_ok());

    let mut hp = build("httpPost", &[]);
    invalid(&hp, "must provide url or endpoint");
    set(&mut hp, "httpPost", "endpoint", &[s("e")]);
    set(&mut hp, "httpPost", "header", &[s("Authenticate"), s("x")]);
    invalid(&hp, "authenticate");
    invalid(&build("httpPost", &[s("a"), s("b")]), "0 or 1");

    let mut lb = build("kapacitorLoopback", &[]);
    invalid(&lb, "database");
    set(&mut lb, "kapacitorLoopback", "database", &[s("db")]);
    invalid(&lb, "retention policy");

    let mut lg = build("log", &[]);
    set(&mut lg, "log", "level", &[s("LOUD")]);
    invalid(&lg, "invalid log level");

    let mut k = build("k8sAutoscale", &[]);
    invalid(&k, "ResourceName");
    set(&mut k, "k8sAutoscale", "resourceName", &[s("web")]);
    invalid(&k, "replicas");
    set(&mut k, "k8sAutoscale", "replicas", &[lam()]);
    assert!(validate(&k).is_ok());
    set(&mut k, "k8sAutoscale", "kind", &[s("pods")]);
    invalid(&k, "invalid Kind");
    let mut sw = build("swarmAutoscale", &[]);
    set(&mut sw, "swarmAutoscale", "serviceNameTag", &[s("svc")]);
    set(&mut sw, "swarmAutoscale", "replicas", &[lam()]);
    assert!(validate(&sw).is_ok());
    set(&mut sw, "swarmAutoscale", "min", &[Value::Int(0)]);
    invalid(&sw, "min must be >= 1");
    invalid(&build("stats", &[Value::Duration(0)]), "interval");
}

#[test]
fn alert_validation() {
    let mut a = build("alert", &[]);
    set(
        &mut a,
        "alert",
        "flapping",
        &[Value::Float(0.25), Value::Float(0.5)],
    );
    assert!(validate(&a).is_ok());
    set(
        &mut a,
        "alert",
        "flapping",
        &[Value::Float(0.25), Value::Int(50)],
    );
    invalid(
        &a,
        "alert flap thresholds are percentages and should be between 0 and 1",
    );

    let mut a = build("alert", &[]);
    set(&mut a, "alert", "log", &[s("relative.log")]);
    invalid(&a, "log path must be absolute");

    let mut a = build("alert", &[]);
    set(&mut a, "alert", "snmpTrap", &[s("1.1.1")]);
    invalid(&a, "at least one data item");
    let data = def("alert")
        .prop("snmpTrap")
        .and_then(|p| p.opens)
        .expect("snmp")[0];
    (data.apply)(&mut a, &[s("1.1.1.2"), s("z"), s("v")]).expect("data");
    invalid(&a, "unsupported data type");

    let mut a = build("alert", &[]);
    set(&mut a, "alert", "post", &[]);
    let post = def("alert")
        .prop("post")
        .and_then(|p| p.opens)
        .expect("post");
    let header = post.iter().find(|p| p.name == "header").expect("header");
    (header.apply)(&mut a, &[s("AUTHENTICATE"), s("x")]).expect("header");
    invalid(&a, "authenticate");

    let mut a = build("alert", &[]);
    set(&mut a, "alert", "telegram", &[]);
    let tg = def("alert")
        .prop("telegram")
        .and_then(|p| p.opens)
        .expect("telegram");
    let pm = tg
        .iter()
        .find(|p| p.name == "parseMode")
        .expect("parseMode");
    (pm.apply)(&mut a, &[s("Markdown")]).expect("parseMode");
    assert!(validate(&a).is_ok());
    (pm.apply)(&mut a, &[s("rtf")]).expect("parseMode");
    invalid(&a, "parseMode");

    // deadman builds the alert's crit expression.
    let NodeSpec::Alert(d) = build(
        "deadman",
        &[
            Value::Float(0.0),
            Value::Duration(10 * SEC),
            Value::Lambda(Expr::Ref("x".into())),
        ],
    ) else {
        panic!()
    };
    assert_eq!(
        d.crit.map(|e| e.to_string()).as_deref(),
        Some("\"emitted\" <= 0.0 AND \"x\"")
    );
}

// ------------------------------------------------------------------------------------------
// Lambda functions

#[test]
fn function_table() {
    let names: Vec<&str> = functions::function_names().collect();
    let unique: HashSet<&&str> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "duplicate function names");
    for n in [
        "bool",
        "int",
        "float",
        "string",
        "duration",
        "isPresent",
        "if",
        "abs",
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atan2",
        "atanh",
        "cbrt",
        "ceil",
        "cos",
        "cosh",
        "erf",
        "erfc",
        "exp",
        "exp2",
        "expm1",
        "floor",
        "gamma",
        "hypot",
        "j0",
        "j1",
        "jn",
        "log",
        "log10",
        "log1p",
        "log2",
        "logb",
        "max",
        "min",
        "mod",
        "pow",
        "pow10",
        "sin",
        "sinh",
        "sqrt",
        "tan",
        "tanh",
        "trunc",
        "y0",
        "y1",
        "yn",
        "strContains",
        "strContainsAny",
        "strCount",
        "strHasPrefix",
        "strHasSuffix",
        "strIndex",
        "strIndexAny",
        "strLastIndex",
        "strLastIndexAny",
        "strLength",
        "strReplace",
        "strSubstring",
        "strToLower",
        "strToUpper",
        "strTrim",
        "strTrimLeft",
        "strTrimPrefix",
        "strTrimRight",
        "strTrimSpace",
        "strTrimSuffix",
        "regexReplace",
        "unixNano",
        "minute",
        "hour",
        "weekday",
        "day",
        "month",
        "year",
        "now",
        "humanBytes",
        "sigma",
        "count",
        "spread",
        "rand",
        "changed",
        "level",
        "name",
        "taskName",
        "alertDuration",
    ] {
        assert!(registry::function(n).is_some(), "missing {n}");
    }
    for f in functions::FUNCTIONS {
        assert!(!f.sigs.is_empty() && !f.doc.is_empty(), "{}", f.name);
    }
    assert!(registry::function("sigma").is_some_and(|f| f.stateful));
    assert!(registry::function("changed").is_some_and(|f| f.handler_only));
    assert_eq!(
        registry::function("sqrt").and_then(|f| f.returns()),
        Some(FuncType::Float)
    );
    assert_eq!(registry::function("if").and_then(|f| f.returns()), None);
}

#[test]
fn function_checks() {
    use FuncType::*;
    let f = |n: &str| registry::function(n).expect(n);
    // Math takes floats only.
    assert_eq!(f("sqrt").check(&[Some(Float)]), Ok(Some(Float)));
    assert!(
        matches!(f("sqrt").check(&[Some(Int)]), Err(CallCheckError::ArgType(0, m)) if m.contains("float"))
    );
    assert_eq!(f("sqrt").check(&[None]), Ok(Some(Float)));
    assert!(
        matches!(f("sqrt").check(&[]), Err(CallCheckError::ArgCount(m)) if m.contains("takes 1 argument"))
    );
    // Overloads.
    for t in [Bool, Int, Float, String, Duration] {
        assert_eq!(f("int").check(&[Some(t)]), Ok(Some(Int)));
    }
    assert!(f("int").check(&[Some(Time)]).is_err());
    assert_eq!(
        f("duration").check(&[Some(Int), Some(Duration)]),
        Ok(Some(Duration))
    );
    assert!(matches!(
        f("duration").check(&[Some(Int)]),
        Err(CallCheckError::ArgType(0, _))
    ));
    assert!(
        matches!(f("duration").check(&[]), Err(CallCheckError::ArgCount(m)) if m.contains("1 or 2"))
    );
    // if(): result follows the branches.
    assert_eq!(
        f("if").check(&[Some(Bool), Some(Int), Some(Int)]),
        Ok(Some(Int))
    );
    assert_eq!(
        f("if").check(&[Some(Bool), None, Some(String)]),
        Ok(Some(String))
    );
    assert_eq!(f("if").check(&[None, None, None]), Ok(None));
    assert!(
        f("if")
            .check(&[Some(Bool), Some(Int), Some(Float)])
            .is_err()
    );
    assert!(matches!(
        f("if").check(&[Some(Int), None, None]),
        Err(CallCheckError::ArgType(0, _))
    ));
    assert_eq!(f("humanBytes").check(&[Some(Int)]), Ok(Some(String)));
    assert_eq!(f("hour").check(&[Some(Time)]), Ok(Some(Int)));
    assert_eq!(f("rand").check(&[]), Ok(Some(Int)));
    assert_eq!(f("jn").check(&[Some(Int), Some(Float)]), Ok(Some(Float)));
    assert!(f("jn").check(&[Some(Float), Some(Float)]).is_err());
}

// ------------------------------------------------------------------------------------------
// Corpus: every chaining method and property used by Kapacitor's own test scripts exists,
// with an accepted number of arguments.

enum Cur {
    Node(&'static NodeDef, Option<&'static [PropDef]>),
    Other,
}

fn arity_ok(p: &Params, args: &[AstExpr]) -> bool {
    // A var may hold a list spread as varargs: only count literal arguments.
    if args.iter().any(|a| matches!(a.kind, ExprKind::Ident(_))) {
        return true;
    }
    args.len() >= p.min() && p.max().is_none_or(|m| args.len() <= m)
}

fn walk(e: &AstExpr, vars: &HashMap<String, &'static NodeDef>, errs: &mut Vec<String>) -> Cur {
    match &e.kind {
        ExprKind::Ident(n) if n == "stream" || n == "batch" => Cur::Node(def(n), None),
        ExprKind::Ident(n) => vars.get(n).map_or(Cur::Other, |d| Cur::Node(d, None)),
        ExprKind::Chain { left, op, call, .. } => {
            let cur = walk(left, vars, errs);
            for a in &call.args {
                walk(a, vars, errs);
            }
            let Cur::Node(d, handler) = cur else {
                return Cur::Other;
            };
            let name = call.name.name.as_str();
            match op {
                ChainOp::Pipe => match registry::node(name).filter(|n| n.wants != Wants::Root) {
                    Some(n) => {
                        if !arity_ok(&n.params, &call.args) {
                            errs.push(format!("|{name}: {} args", call.args.len()));
                        }
                        Cur::Node(n, None)
                    }
                    None => {
                        errs.push(format!("unknown node |{name}"));
                        Cur::Other
                    }
                },
                ChainOp::At => Cur::Node(def("@udf"), None),
                ChainOp::Dot if d.name == "@udf" => Cur::Node(d, None),
                ChainOp::Dot => {
                    let hp = handler.and_then(|h| h.iter().find(|p| p.name == name));
                    match hp.or_else(|| d.prop(name)) {
                        Some(p) => {
                            if !arity_ok(&p.params, &call.args) {
                                errs.push(format!("{}.{name}: {} args", d.name, call.args.len()));
                            }
                            Cur::Node(d, p.opens.or(if hp.is_some() { handler } else { None }))
                        }
                        None => {
                            errs.push(format!("unknown property {}.{name}", d.name));
                            Cur::Other
                        }
                    }
                }
            }
        }
        _ => Cur::Other,
    }
}

#[test]
fn corpus_scripts_use_known_nodes_and_properties() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/kapacitor/cases");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let Ok(case) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let Some(script) = case.get("script").and_then(|s| s.as_str()) else {
            continue;
        };
        let (prog, _) = kap_dsl::parse(script);
        let mut vars = HashMap::new();
        let mut errs = Vec::new();
        for st in &prog.stmts {
            match st {
                Stmt::Decl { name, value, .. } => {
                    if let Cur::Node(d, _) = walk(value, &vars, &mut errs) {
                        vars.insert(name.name.clone(), d);
                    }
                }
                Stmt::Expr { expr, .. } => {
                    walk(expr, &vars, &mut errs);
                }
                _ => {}
            }
        }
        checked += 1;
        if !errs.is_empty() {
            failures.push(format!("{}: {errs:?}", entry.file_name().to_string_lossy()));
        }
    }
    assert!(checked > 100, "only {checked} corpus scripts found");
    assert!(
        failures.is_empty(),
        "{checked} scripts, failures:\n{}",
        failures.join("\n")
    );
}

// ------------------------------------------------------------------------------------------
// Generated docs

#[test]
fn nodes_md_is_fresh() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("NODES.md");
    let text = registry::render_markdown();
    for n in NODES {
        assert!(text.contains(&format!("### `{}`", n.name)), "{}", n.name);
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &text).expect("write NODES.md");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "dsl/NODES.md is stale: regenerate it with `UPDATE_DOCS=1 cargo test -p kap-dsl --test registry`"
    );
}
