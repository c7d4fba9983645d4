//! derivative, stateDuration, stateCount and changeDetect (semantics §8, §9).

mod ops_common;

use kap_dataflow::point::{FieldValue, Msg};
use ops_common::*;

fn stream(call: &str) -> Node {
    node(&format!(
        "stream\n    |from()\n        .measurement('m')\n        .groupBy('host')\n    |{call}\n"
    ))
}

fn batch_node(call: &str) -> Node {
    node(&format!(
        "batch\n    |query('SELECT value FROM db.rp.m')\n        .period(10s)\n        .every(10s)\n    |{call}\n"
    ))
}

fn values(out: &[Msg], f: &str) -> Vec<(i64, FieldValue)> {
    point_values(out, f)
        .into_iter()
        .map(|(t, v)| (t / S, v))
        .collect()
}

fn batch_values(out: &[Msg], f: &str) -> Vec<(i64, FieldValue)> {
    let Msg::Batch(b) = &out[0] else {
        panic!("{out:?}")
    };
    b.points
        .iter()
        .map(|p| {
            let v = kap_dataflow::point::get(&p.fields, kap_dataflow::point::Sym::new(f));
            (p.time / S, v.cloned().unwrap_or(FieldValue::Null))
        })
        .collect()
}

#[test]
fn derivative_defaults_overwrite_the_field_as_float_per_second() {
    let mut n = stream("derivative('value')");
    let out = n.push_all([
        ph("a", int(10), 0),
        ph("b", fl(100.0), 0),
        ph("a", int(14), 2),
        ph("a", int(8), 5),
        ph("b", fl(90.0), 10),
    ]);
    assert_eq!(
        values(&out, "value"),
        vec![(2, fl(2.0)), (5, fl(-2.0)), (10, fl(-1.0))]
    );
    let Msg::Point(p) = &out[0] else { panic!() };
    assert_eq!(p.tags, tags(&[("host", "a")]));
}

#[test]
fn derivative_unit_as_and_non_negative() {
    let mut n = stream(
        "derivative('value')\n        .unit(1m)\n        .as('rate')\n        .nonNegative()",
    );
    let out = n.push_all([
        ph("a", fl(0.0), 0),
        ph("a", fl(30.0), 30),
        ph("a", fl(10.0), 60),
        ph("a", fl(40.0), 90),
    ]);
    // 30 → 60/min; the drop to 10 is stored but not emitted; 10 → 40 in 30s = 60/min.
    assert_eq!(values(&out, "rate"), vec![(30, fl(60.0)), (90, fl(60.0))]);
    let Msg::Point(p) = &out[0] else { panic!() };
    assert_eq!(p.field("value"), Some(&fl(30.0)));
}

#[test]
fn derivative_zero_elapsed_and_bad_types() {
    let mut n = stream("derivative('value')");
    let out = n.push_all([
        ph("a", fl(1.0), 1),
        ph("a", fl(5.0), 1),
        ph("a", FieldValue::String("x".into()), 2),
        ph("a", fl(7.0), 3),
    ]);
    // The equal-time point replaces the previous one; the string is an error and not stored.
    assert_eq!(values(&out, "value"), vec![(3, fl(1.0))]);
    assert_eq!(n.stats.errors, 1);
}

#[test]
fn derivative_resets_per_batch() {
    let mut n = batch_node("derivative('value')");
    let b = batch("a", 10, &[(0, fl(1.0)), (2, fl(5.0)), (4, fl(6.0))]);
    for _ in 0..2 {
        let out = n.push(b.clone());
        assert_eq!(
            batch_values(&out, "value"),
            vec![(2, fl(2.0)), (4, fl(0.5))]
        );
    }
    // Batch groups count in the working cardinality until deleted.
    assert_eq!(n.cardinality(), 1);
    let Msg::Batch(bb) = &b else { panic!() };
    n.push(Msg::DeleteGroup(bb.group_info()));
    assert_eq!(n.cardinality(), 0);
}

#[test]
fn state_duration_and_count() {
    let mut n = stream("stateDuration(lambda: \"value\" > 10)");
    let out = n.push_all([
        ph("a", fl(11.0), 0),
        ph("a", fl(12.0), 30),
        ph("a", fl(1.0), 45),
        ph("a", fl(20.0), 50),
        ph("a", fl(21.0), 60),
    ]);
    assert_eq!(
        values(&out, "state_duration"),
        vec![
            (0, fl(0.0)),
            (30, fl(30.0)),
            (45, fl(-1.0)),
            (50, fl(0.0)),
            (60, fl(10.0))
        ]
    );
    let mut n =
        stream("stateDuration(lambda: \"value\" > 10)\n        .unit(1m)\n        .as('d')");
    let out = n.push_all([ph("a", fl(11.0), 0), ph("a", fl(12.0), 30)]);
    assert_eq!(values(&out, "d"), vec![(0, fl(0.0)), (30, fl(0.5))]);

    let mut n = stream("stateCount(lambda: \"value\" > 10)");
    let out = n.push_all([
        ph("a", fl(11.0), 0),
        ph("b", fl(11.0), 0),
        ph("a", fl(12.0), 1),
        ph("a", fl(1.0), 2),
        ph("a", fl(20.0), 3),
    ]);
    assert_eq!(
        values(&out, "state_count"),
        vec![
            (0, int(1)),
            (0, int(1)),
            (1, int(2)),
            (2, int(-1)),
            (3, int(1))
        ]
    );
}

#[test]
fn state_lambda_errors_drop_the_point() {
    let mut n = stream("stateCount(lambda: \"missing\" > 10)");
    assert!(n.push(ph("a", fl(11.0), 0)).is_empty());
    assert_eq!(n.stats.errors, 1);
}

#[test]
fn state_count_resets_per_batch() {
    let mut n = batch_node("stateCount(lambda: \"value\" > 10)");
    let b = batch("a", 10, &[(0, fl(11.0)), (2, fl(15.0))]);
    for _ in 0..2 {
        let out = n.push(b.clone());
        assert_eq!(
            batch_values(&out, "state_count"),
            vec![(0, int(1)), (2, int(2))]
        );
    }
}

#[test]
fn change_detect_compares_with_the_last_emitted_point() {
    let mut n = stream("changeDetect('value')");
    let out = n.push_all([
        ph("a", int(1), 0),
        ph("a", int(1), 1),
        ph("a", fl(1.0), 2),
        ph("b", fl(1.0), 2),
        ph("a", fl(1.0), 3),
        ph("a", int(2), 4),
    ]);
    assert_eq!(
        values(&out, "value"),
        vec![(0, int(1)), (2, fl(1.0)), (2, fl(1.0)), (4, int(2))]
    );
    // A point without the field is not compared (not emitted).
    let Msg::Point(mut p) = ph("a", int(2), 5) else {
        panic!()
    };
    p.fields.clear();
    assert!(n.push(Msg::Point(p)).is_empty());
}

#[test]
fn change_detect_resets_per_batch() {
    let mut n = batch_node("changeDetect('value')");
    let b = batch(
        "a",
        10,
        &[(0, int(1)), (1, int(1)), (2, int(3)), (3, int(3))],
    );
    for _ in 0..2 {
        let out = n.push(b.clone());
        assert_eq!(batch_values(&out, "value"), vec![(0, int(1)), (2, int(3))]);
    }
}

#[test]
fn delete_group_is_forwarded() {
    for call in [
        "derivative('value')",
        "changeDetect('value')",
        "stateCount(lambda: \"value\" > 1)",
    ] {
        let mut n = stream(call);
        n.push(ph("a", fl(1.0), 0));
        let Msg::Point(p) = ph("a", fl(1.0), 0) else {
            panic!()
        };
        let out = n.push(Msg::DeleteGroup(p.group_info()));
        assert!(matches!(out[..], [Msg::DeleteGroup(_)]), "{call}");
        assert_eq!(n.cardinality(), 0, "{call}");
        let out = n.push(barrier(Some("a"), 3));
        assert!(matches!(out[..], [Msg::Barrier(_)]), "{call}");
    }
}
