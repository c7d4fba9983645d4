//! Join and union tests (`kapacitor-semantics.md` §5, §6): hand-made message sequences
//! per input, and whole scripts through the executor.

mod xform_common;

use kap_dataflow::exec::TaskExec;
use kap_dataflow::node::Services;
use kap_dataflow::point::{FieldValue, Msg, Sym};
use std::sync::Arc;
use xform_common::*;

const JOIN2: &str = "var a = stream\n    |from()\n        .measurement('a')\nvar b = stream\n    |from()\n        .measurement('b')\n";

fn join_node(props: &str) -> Harness {
    let script = format!("{JOIN2}a\n    |join(b)\n        .as('A', 'B')\n{props}\n");
    let p = plan(&script);
    let id = p
        .nodes
        .iter()
        .position(|n| n.spec.kind() == "join")
        .unwrap();
    Harness::new(&p.nodes[id].spec, 2, false)
}

fn union_node(props: &str) -> Harness {
    let script = format!("{JOIN2}a\n    |union(b)\n{props}\n");
    let p = plan(&script);
    let id = p
        .nodes
        .iter()
        .position(|n| n.spec.kind() == "union")
        .unwrap();
    Harness::new(&p.nodes[id].spec, 2, false)
}

fn a(v: f64, t: i64) -> Msg {
    Msg::Point(pt("a", &[("host", "h")], &[("v", f(v))], t, &[]))
}

fn b(v: f64, t: i64) -> Msg {
    Msg::Point(pt("b", &[("host", "h")], &[("w", f(v))], t, &[]))
}

#[test]
fn join_points_on_equal_time() {
    let mut h = join_node("");
    assert!(h.send(0, a(1.0, 10 * S)).is_empty());
    let out = h.send(1, b(2.0, 10 * S));
    let p = points(&out)[0];
    assert_eq!(p.name, Sym::new("a"), "name of the lowest-index input");
    assert_eq!(p.fields, fields(&[("A.v", f(1.0)), ("B.w", f(2.0))]));
    assert_eq!(p.time, 10 * S);
    assert!(p.tags.is_empty(), "only group tags");
    assert!(h.done().is_empty());
}

#[test]
fn join_tolerance_rounds_times() {
    let mut h =
        join_node("        .tolerance(1s)\n        .streamName('j')\n        .delimiter('_')");
    assert!(h.send(0, a(1.0, 10 * S + 400_000_000)).is_empty());
    let out = h.send(1, b(2.0, 9 * S + 600_000_000));
    let p = points(&out)[0];
    assert_eq!(p.time, 10 * S);
    assert_eq!(p.name, Sym::new("j"));
    assert_eq!(field_names(p), vec!["A_v", "B_w"]);
}

#[test]
fn join_fill_none_drops_incomplete_sets() {
    let mut h = join_node("");
    assert!(h.send(0, a(1.0, S)).is_empty());
    assert!(h.send(0, a(2.0, 2 * S)).is_empty());
    let out = h.send(1, b(3.0, 2 * S));
    let ps = points(&out);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].time, 2 * S);
}

#[test]
fn join_fill_null_and_number() {
    let mut h = join_node("        .fill('null')");
    h.send(0, a(1.0, S));
    h.send(0, a(2.0, 2 * S));
    let out = h.send(1, b(3.0, 2 * S));
    let ps = points(&out);
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0].time, S);
    // Fill names come from the first present input's fields.
    assert_eq!(
        ps[0].fields,
        fields(&[("A.v", f(1.0)), ("B.v", FieldValue::Null)])
    );
    assert_eq!(ps[1].fields, fields(&[("A.v", f(2.0)), ("B.w", f(3.0))]));

    let mut h = join_node("        .fill(0.5)");
    h.send(1, b(3.0, S));
    h.send(1, b(4.0, 2 * S));
    let out = h.send(0, a(1.0, 2 * S));
    let ps = points(&out);
    assert_eq!(ps[0].fields, fields(&[("A.w", f(0.5)), ("B.w", f(3.0))]));
    assert_eq!(ps[0].name, Sym::new("b"));
}

#[test]
fn join_flushes_remaining_sets_at_end_of_input() {
    let mut h = join_node("        .fill(0)");
    h.send(0, a(1.0, S));
    h.send(0, a(2.0, 2 * S));
    let out = h.done();
    let ps = points(&out);
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0].time, S);
    assert_eq!(ps[0].fields, fields(&[("A.v", f(1.0)), ("B.v", i(0))]));
    assert_eq!(ps[1].time, 2 * S);
}

#[test]
fn join_second_message_of_same_input_and_time_opens_a_new_set() {
    let mut h = join_node("");
    h.send(0, a(1.0, S));
    h.send(0, a(2.0, S));
    let out = h.send(1, b(3.0, S));
    let ps = points(&out);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].field("A.v"), Some(&f(1.0)));
    let out = h.send(1, b(4.0, S));
    assert_eq!(points(&out)[0].field("A.v"), Some(&f(2.0)));
}

#[test]
fn join_groups_separately() {
    let mut h = join_node("");
    let ag = |host: &str, t| Msg::Point(pt("a", &[("host", host)], &[("v", f(1.0))], t, &["host"]));
    let bg = |host: &str, t| Msg::Point(pt("b", &[("host", host)], &[("w", f(2.0))], t, &["host"]));
    h.send(0, ag("x", S));
    h.send(0, ag("y", S));
    let out = h.send(1, bg("y", S));
    let p = points(&out)[0];
    assert_eq!(p.tags, tags(&[("host", "y")]));
    assert_eq!(p.group_string(), "host=y");
    assert_eq!(h.p.cardinality(), 2);
}

#[test]
fn join_on_matches_specific_with_less_specific() {
    // Input 0 grouped by host,cpu (specific); input 1 grouped by host (match).
    let mut h = join_node("        .on('host')");
    let spec = |cpu: &str, t| {
        Msg::Point(pt(
            "a",
            &[("host", "h"), ("cpu", cpu)],
            &[("v", f(1.0))],
            t,
            &["cpu", "host"],
        ))
    };
    let total = |t| Msg::Point(pt("b", &[("host", "h")], &[("w", f(9.0))], t, &["host"]));
    assert!(h.send(0, spec("0", S)).is_empty());
    assert!(h.send(0, spec("1", S)).is_empty());
    let out = h.send(1, total(S));
    let ps = points(&out);
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0].group_string(), "cpu=0,host=h");
    assert_eq!(ps[0].fields, fields(&[("A.v", f(1.0)), ("B.w", f(9.0))]));
    assert_eq!(ps[1].group_string(), "cpu=1,host=h");
    // A later specific point matches a buffered match point directly.
    let out = h.send(1, total(2 * S));
    assert!(out.is_empty());
    let out = h.send(0, spec("0", 2 * S));
    let ps = points(&out);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].time, 2 * S);
}

#[test]
fn join_barrier_updates_head_and_is_forwarded() {
    let mut h = join_node("        .fill('null')");
    let first = pt("a", &[("host", "h")], &[("v", f(1.0))], S, &[]);
    h.send(0, Msg::Point(first.clone()));
    // Input 1 never sends data, only a barrier past the set: the set is emitted filled.
    h.send(0, a(2.0, 3 * S));
    let out = h.send(1, barrier(&first, 2 * S));
    assert_eq!(out.len(), 2);
    assert_eq!(points(&out[..1])[0].time, S);
    assert!(matches!(out[1], Msg::Barrier(_)));
}

#[test]
fn join_batches_point_by_point() {
    let script = "var a = batch\n    |query('SELECT v FROM db.rp.a')\n        .period(10s)\n        .every(10s)\nvar b = batch\n    |query('SELECT w FROM db.rp.b')\n        .period(10s)\n        .every(10s)\na\n    |join(b)\n        .as('A', 'B')\n        .fill('null')\n";
    let p = plan(script);
    let id = p
        .nodes
        .iter()
        .position(|n| n.spec.kind() == "join")
        .unwrap();
    let mut h = Harness::new(&p.nodes[id].spec, 2, true);
    let ba = batch(
        "a",
        &[("host", "h")],
        10 * S,
        vec![
            bp(&[("host", "h")], &[("v", f(1.0))], S),
            bp(&[("host", "h")], &[("v", f(2.0))], 2 * S),
        ],
    );
    let bb = batch(
        "b",
        &[("host", "h")],
        10 * S,
        vec![
            bp(&[("host", "h")], &[("w", f(5.0))], 2 * S),
            bp(&[("host", "h")], &[("w", f(6.0))], 3 * S),
        ],
    );
    assert!(h.send(0, Msg::Batch(ba)).is_empty());
    let out = h.send(1, Msg::Batch(bb));
    let bs = batches(&out);
    assert_eq!(bs.len(), 1);
    let j = bs[0];
    assert_eq!(j.name, Sym::new("a"));
    assert_eq!(j.tmax, 10 * S);
    assert_eq!(j.tags, tags(&[("host", "h")]));
    let rows: Vec<(i64, Vec<&str>)> = j
        .points
        .iter()
        .map(|p| (p.time, p.fields.iter().map(|(k, _)| k.as_str()).collect()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (S, vec!["A.v", "B.v"]),
            (2 * S, vec!["A.v", "B.w"]),
            (3 * S, vec!["A.v", "B.w"])
        ]
    );
    assert_eq!(j.points[0].fields[1].1, FieldValue::Null);
    assert_eq!(j.points[2].fields[0].1, FieldValue::Null);
    assert_eq!(j.points[2].tags, tags(&[("host", "h")]));
}

#[test]
fn join_script_through_the_executor() {
    let script = format!(
        "{JOIN2}a\n    |join(b)\n        .as('A', 'B')\n        .tolerance(1s)\n    |eval(lambda: \"A.v\" + \"B.w\")\n        .as('sum')\n    |influxDBOut()\n        .database('out')\n"
    );
    let writer = Arc::new(Recorder::default());
    let services = Services {
        points: Arc::<Recorder>::clone(&writer),
        ..Services::default()
    };
    let mut exec = TaskExec::new("t", &plan(&script), services).unwrap();
    exec.push_point(pt("a", &[], &[("v", f(1.0))], 10 * S, &[]));
    exec.push_point(pt("b", &[], &[("w", f(2.0))], 10 * S + 200_000_000, &[]));
    exec.push_point(pt("a", &[], &[("v", f(3.0))], 20 * S, &[]));
    exec.finish();
    let w = writer.writes.lock().unwrap();
    let got: Vec<(i64, Option<FieldValue>)> = w
        .iter()
        .flat_map(|x| x.3.iter())
        .map(|p| (p.time, p.field("sum").cloned()))
        .collect();
    // The incomplete set at 20s is flushed at end of input but dropped (fill none).
    assert_eq!(got, vec![(10 * S, Some(f(3.0)))]);
}

// ---------------------------------------------------------------------------------------
// union

#[test]
fn union_releases_by_low_marks() {
    let mut h = union_node("        .rename('u')");
    assert!(h.send(0, a(1.0, S)).is_empty(), "input 1 has not reported");
    assert!(h.send(0, a(3.0, 3 * S)).is_empty());
    let out = h.send(1, b(2.0, 2 * S));
    let ps = points(&out);
    let times: Vec<i64> = ps.iter().map(|p| p.time).collect();
    assert_eq!(times, vec![S, 2 * S]);
    assert!(ps.iter().all(|p| p.name == Sym::new("u")));
    let out = h.send(1, b(4.0, 4 * S));
    assert_eq!(
        points(&out).iter().map(|p| p.time).collect::<Vec<_>>(),
        vec![3 * S]
    );
    // End of input: drain input by input.
    let out = h.send(0, a(9.0, 9 * S));
    assert_eq!(
        points(&out).iter().map(|p| p.time).collect::<Vec<_>>(),
        vec![4 * S]
    );
    // Out of order within an input: queue order is kept.
    h.send(0, a(10.0, 10 * S));
    h.send(0, a(5.0, 5 * S));
    // End of input drains every queue, input by input, in queue order.
    let out = h.done();
    assert_eq!(
        points(&out).iter().map(|p| p.time).collect::<Vec<_>>(),
        vec![9 * S, 10 * S, 5 * S]
    );
}

#[test]
fn union_equal_times_emit_input_zero_first_and_delete_passes() {
    let mut h = union_node("");
    assert!(h.send(1, b(1.0, S)).is_empty());
    let out = h.send(0, a(1.0, S));
    let names: Vec<&str> = points(&out).iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["a", "b"]);
    let out = h.send(1, Msg::DeleteGroup(nil_group()));
    assert!(matches!(out[..], [Msg::DeleteGroup(_)]));
}

#[test]
fn union_script_through_the_executor() {
    let script = format!(
        "{JOIN2}a\n    |union(b)\n        .rename('u')\n    |influxDBOut()\n        .database('out')\n        .buffer(1)\n"
    );
    let writer = Arc::new(Recorder::default());
    let services = Services {
        points: Arc::<Recorder>::clone(&writer),
        ..Services::default()
    };
    let mut exec = TaskExec::new("t", &plan(&script), services).unwrap();
    exec.push_point(pt("a", &[], &[("v", f(1.0))], 2 * S, &[]));
    exec.push_point(pt("b", &[], &[("w", f(2.0))], S, &[]));
    exec.push_point(pt("a", &[], &[("v", f(3.0))], 3 * S, &[]));
    exec.finish();
    let w = writer.writes.lock().unwrap();
    let got: Vec<(i64, &str)> = w
        .iter()
        .flat_map(|x| x.3.iter())
        .map(|p| (p.time, p.name.as_str()))
        .collect();
    assert_eq!(got, vec![(S, "u"), (2 * S, "u"), (3 * S, "u")]);
}

#[test]
fn join_on_releases_unmatched_specific_messages_below_the_low_mark() {
    let mut h = join_node("        .on('host')\n        .fill('null')");
    let spec = |t| {
        Msg::Point(pt(
            "a",
            &[("host", "h"), ("cpu", "0")],
            &[("v", f(1.0))],
            t,
            &["cpu", "host"],
        ))
    };
    let total = |t| Msg::Point(pt("b", &[("host", "h")], &[("w", f(9.0))], t, &["host"]));
    assert!(
        h.send(0, spec(S)).is_empty(),
        "cached until a match can arrive"
    );
    assert!(h.send(1, total(2 * S)).is_empty());
    // The low mark passes 1s: the 1s specific message goes to its group alone.
    assert!(h.send(0, spec(3 * S)).is_empty());
    assert_eq!(h.p.cardinality(), 1);
    // End of input flushes the group's sets (filled); cached messages are not flushed.
    let out = h.done();
    let ps = points(&out);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].time, S);
    assert_eq!(ps[0].group_string(), "cpu=0,host=h");
    assert_eq!(
        ps[0].fields,
        fields(&[("A.v", f(1.0)), ("B.v", FieldValue::Null)])
    );
}

#[test]
fn join_delete_group_drops_state_and_is_forwarded() {
    let mut h = join_node("        .fill('null')");
    let first = pt("a", &[], &[("v", f(1.0))], S, &[]);
    h.send(0, Msg::Point(first.clone()));
    let out = h.send(1, Msg::DeleteGroup(first.group_info()));
    assert!(matches!(out[..], [Msg::DeleteGroup(_)]));
    assert!(h.done().is_empty());
}
