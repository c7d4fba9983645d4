//! The plan the evaluator builds: seed-form equivalence, node naming, deadman expansion,
//! DOT text, template vars.

use kap_dsl::eval::{CompileOptions, compile};
use kap_dsl::plan::{NodeSpec, TaskType};
use kap_dsl::value::{Value, ValueType};
use kap_dsl::{compile_source, dot};

fn plan(src: &str) -> kap_dsl::plan::Pipeline {
    match compile_source(src, &CompileOptions::default()) {
        Ok(c) => c.pipeline,
        Err(d) => panic!("{}", kap_dsl::diagnostic::render_all(&d, "t.tick", src)),
    }
}

fn names(p: &kap_dsl::plan::Pipeline) -> Vec<&str> {
    p.nodes.iter().map(|n| n.name.as_str()).collect()
}

#[test]
fn seed_form_lowers_to_the_same_plan_as_its_tickscript() {
    let seed = plan("alert(avg(window(value, 10)), <, 30)");
    let tick = plan(
        "stream|from()|window().periodCount(10).everyCount(1)|mean('value')|alert().crit(lambda: \"mean\" < 30)",
    );
    assert_eq!(seed, tick);
    assert_eq!(
        names(&seed),
        ["stream0", "from1", "window2", "mean3", "alert4"]
    );
    // And the same as serialised plans, byte for byte.
    assert_eq!(
        serde_json::to_string(&seed).unwrap(),
        serde_json::to_string(&tick).unwrap()
    );
}

#[test]
fn seed_forms_with_other_operators_and_windows() {
    let a = plan("alert(max(window(usage, 5m)), >=, 90.5)");
    let b = plan(
        "stream|from()|window().period(5m).every(0s)|max('usage')|alert().crit(lambda: \"max\" >= 90.5)",
    );
    assert_eq!(a, b);
}

#[test]
fn node_names_follow_kapacitor_descriptions() {
    let p = plan(
        "stream|from().measurement('cpu')|groupBy('host')|stateCount(lambda: \"v\" > 1)|httpOut('x')|influxDBOut().database('db')",
    );
    assert_eq!(
        names(&p),
        [
            "stream0",
            "from1",
            "groupby2",
            "state_count3",
            "http_out4",
            "influxdb_out5"
        ]
    );
    let b = plan(
        "batch|query('SELECT mean(v) FROM cpu').period(1m).every(1m)|httpPost('http://127.0.0.1:1')",
    );
    assert_eq!(b.task_type, TaskType::Batch);
    assert_eq!(names(&b), ["batch0", "query1", "http_post2"]);
}

#[test]
fn dot_of_a_disabled_task_matches_kapacitor() {
    let p = plan("stream\n    |from()\n        .measurement('test')\n");
    assert_eq!(
        dot::render(&p, "testTaskID"),
        "digraph testTaskID {\nstream0 -> from1;\n}"
    );
}

#[test]
fn dot_follows_kapacitors_topological_walk() {
    let p = plan(
        "var cpu = stream|from().measurement('cpu')\nvar mem = stream|from().measurement('mem')\ncpu|join(mem).as('c', 'm')|httpOut('x')\ncpu|httpOut('y')",
    );
    assert_eq!(
        dot::render(&p, "t"),
        "digraph t {\nstream0 -> from1;\nstream0 -> from2;\nfrom2 -> join3;\nfrom1 -> join3;\nfrom1 -> http_out5;\njoin3 -> http_out4;\n}"
    );
}

#[test]
fn deadman_expands_to_stats_derivative_alert_with_noop() {
    let p = plan("stream|from().measurement('cpu')|deadman(1.0, 1m)");
    assert_eq!(
        names(&p),
        [
            "stream0",
            "from1",
            "stats2",
            "derivative3",
            "alert4",
            "noop5"
        ]
    );
    let NodeSpec::Stats(s) = &p.nodes[2].spec else {
        panic!("stats")
    };
    assert_eq!((s.source, s.interval), (1, 60_000_000_000));
    let NodeSpec::Alert(a) = &p.nodes[4].spec else {
        panic!("alert")
    };
    assert_eq!(
        a.crit.as_ref().map(|e| e.to_string()).as_deref(),
        Some("\"emitted\" <= 1.0")
    );
    assert_eq!(
        a.id.as_deref(),
        Some("node 'from1' in task '{{ .TaskName }}'")
    );
    assert!(
        a.message
            .as_deref()
            .is_some_and(|m| m.ends_with("points/1m0s.")),
        "{:?}",
        a.message
    );
    assert_eq!(
        dot::render(&p, "t"),
        "digraph t {\nstream0 -> from1;\nfrom1 -> noop5;\nstats2 -> derivative3;\nderivative3 -> alert4;\n}"
    );
}

/// `[deadman] global`: every task gets a deadman on its source, after the script's own
/// nodes (which keep their names); `[deadman] id` and `message` replace Kapacitor's.
#[test]
fn global_deadman_watches_the_source_with_the_configured_texts() {
    let opts = CompileOptions {
        deadman: kap_dsl::DeadmanOptions {
            id: "dead NODE_NAME".into(),
            message: "{{ .ID }} quiet for INTERVAL".into(),
            global: Some((2.0, 10_000_000_000)),
        },
        ..CompileOptions::default()
    };
    let p = compile_source("stream|from().measurement('cpu')|httpOut('x')", &opts)
        .unwrap()
        .pipeline;
    assert_eq!(
        names(&p),
        [
            "stream0",
            "from1",
            "http_out2",
            "stats3",
            "derivative4",
            "alert5"
        ]
    );
    let NodeSpec::Stats(s) = &p.nodes[3].spec else {
        panic!("stats")
    };
    assert_eq!((s.source, s.interval), (0, 10_000_000_000));
    let NodeSpec::Alert(a) = &p.nodes[5].spec else {
        panic!("alert")
    };
    assert_eq!(a.id.as_deref(), Some("dead stream0"));
    assert_eq!(a.message.as_deref(), Some("{{ .ID }} quiet for 10s"));
    assert_eq!(
        a.crit.as_ref().map(|e| e.to_string()).as_deref(),
        Some("\"emitted\" <= 2.0")
    );
}

#[test]
fn vars_are_substituted_into_lambdas_and_properties() {
    let p = plan(
        "var t = 90\nvar d = 5m * 2\nvar cond = lambda: \"host\" == 'a'\nstream|from().where(cond)|window().period(d).every(d)|max('v')|alert().crit(lambda: \"max\" > t)",
    );
    let NodeSpec::Window(w) = &p.nodes[2].spec else {
        panic!("window")
    };
    assert_eq!(w.period, Some(600_000_000_000));
    let NodeSpec::Alert(a) = &p.nodes[4].spec else {
        panic!("alert")
    };
    assert_eq!(a.crit.as_ref().unwrap().to_string(), "\"max\" > 90");
}

#[test]
fn template_vars_are_reported_and_required_outside_template_mode() {
    let src = "// The window\nvar window duration\nvar field = 'value'\nstream|from()|window().period(window).every(window)|mean(field)";
    let t = compile(
        src,
        &CompileOptions {
            template: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(t.vars.len(), 2);
    assert_eq!(
        (t.vars[0].name.as_str(), t.vars[0].ty, &t.vars[0].value),
        ("window", ValueType::Duration, &None)
    );
    assert_eq!(t.vars[0].description, "The window");
    let err = compile(src, &CompileOptions::default()).unwrap_err();
    assert_eq!(err[0].message, "missing value for var \"window\".");
    let mut opts = CompileOptions::default();
    opts.vars
        .insert("window".into(), Value::Duration(10_000_000_000));
    opts.vars
        .insert("field".into(), Value::String("usage".into()));
    let c = compile(src, &opts).unwrap();
    let NodeSpec::InfluxQL(q) = &c.pipeline.nodes[3].spec else {
        panic!("mean")
    };
    assert_eq!(q.field, "usage");
    opts.vars
        .insert("window".into(), Value::String("10s".into()));
    let err = compile(src, &opts).unwrap_err();
    assert!(
        err[0]
            .message
            .contains("invalid type supplied for var `window`"),
        "{}",
        err[0].message
    );
}

#[test]
fn dbrp_statements_and_type_inference() {
    let c = compile_source(
        "dbrp \"telegraf\".\"autogen\"\ndbrp \"db\".\"rp\"\nbatch|query('SELECT * FROM cpu').every(1m)|httpOut('x')",
        &CompileOptions::default(),
    )
    .unwrap();
    assert_eq!(c.pipeline.task_type, TaskType::Batch);
    assert_eq!(c.pipeline.dbrps.len(), 2);
    assert_eq!(c.pipeline.dbrps[0].db, "telegraf");
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let src =
        "stream\n    |from()\n        .measurment('cpu')\n    |windw()\n\nvar x = 1\nvar x = 2\n";
    let err = compile_source(src, &CompileOptions::default()).unwrap_err();
    let codes: Vec<&str> = err.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["E0203", "E0201", "E0301"], "{err:#?}");
}

#[test]
fn plans_round_trip_through_serde() {
    let p = plan(
        "stream|from().groupBy(*)|window().period(10s).every(5s).align()|percentile('v', 90.0)|alert().warn(lambda: \"percentile\" > 1).post('http://x').header('a', 'b').log('/tmp/a.log')|httpOut('x')",
    );
    let json = serde_json::to_string(&p).unwrap();
    let back: kap_dsl::plan::Pipeline = serde_json::from_str(&json).unwrap();
    assert_eq!(p, back);
}
