//! `|window()`: emit times and contents (semantics §2).

mod ops_common;

use kap_dataflow::point::Msg;
use ops_common::*;

const HEAD: &str = "stream\n    |from()\n        .measurement('m')\n    |window()";

fn win(props: &str) -> Node {
    node(&format!("{HEAD}{props}\n"))
}

fn run(props: &str, times: &[i64]) -> Vec<(i64, Vec<i64>)> {
    let mut n = win(props);
    let out = n.push_all(times.iter().map(|t| pv(*t as f64, *t)));
    batch_times(&out)
}

#[test]
fn default_window_emits_from_first_point_and_excludes_the_trigger() {
    let times: Vec<i64> = (0..=25).collect();
    assert_eq!(
        run(".period(10s).every(10s)", &times),
        vec![(10, (0..10).collect()), (20, (10..20).collect())]
    );
}

#[test]
fn next_emit_follows_the_triggering_point_so_gaps_skip_windows() {
    // At 23 the window of 10 emits [0, 5]; the next emit is 23 + 10 = 33.
    assert_eq!(
        run(".period(10s).every(10s)", &[0, 5, 23, 24, 32, 33]),
        vec![(10, vec![0, 5]), (33, vec![23, 24, 32])]
    );
}

#[test]
fn period_longer_than_every_overlaps() {
    let times: Vec<i64> = (0..=20).collect();
    assert_eq!(
        run(".period(10s).every(5s)", &times),
        vec![
            (5, (0..5).collect()),
            (10, (0..10).collect()),
            (15, (5..15).collect()),
            (20, (10..20).collect())
        ]
    );
}

#[test]
fn align_truncates_emit_times() {
    assert_eq!(
        run(".period(10s).every(10s).align()", &[3, 9, 10, 15, 21]),
        vec![(10, vec![3, 9]), (20, vec![10, 15])]
    );
}

#[test]
fn fill_period_waits_for_a_full_period() {
    let times: Vec<i64> = (0..=15).collect();
    assert_eq!(
        run(".period(10s).every(5s).fillPeriod()", &times),
        vec![(10, (0..10).collect()), (15, (5..15).collect())]
    );
}

#[test]
fn fill_period_and_align() {
    // t0 = 3: x = trunc(13, 5) = 10 <= 13, so the first emit is 15 (window [5, 15)).
    assert_eq!(
        run(
            ".period(10s).every(5s).fillPeriod().align()",
            &[3, 10, 14, 15, 16]
        ),
        vec![(15, vec![10, 14])]
    );
}

#[test]
fn every_zero_emits_on_every_point_right_closed() {
    assert_eq!(
        run(".period(3s).every(0s)", &[0, 1, 2, 3, 4]),
        vec![
            (0, vec![0]),
            (1, vec![0, 1]),
            (2, vec![0, 1, 2]),
            (3, vec![1, 2, 3]),
            (4, vec![2, 3, 4])
        ]
    );
}

#[test]
fn every_zero_with_fill_period() {
    assert_eq!(
        run(".period(3s).every(0s).fillPeriod()", &[0, 1, 2, 3, 4]),
        vec![(3, vec![1, 2, 3]), (4, vec![2, 3, 4])]
    );
}

#[test]
fn purge_only_from_the_front_keeps_out_of_order_points() {
    // 1 arrives after 12: at 31 the purge bound is 12; the buffer is [0, 12, 1, 15, 20]
    // and only 0 (before the first kept point) is purged, so 1 stays.
    assert_eq!(
        run(".period(10s).every(10s)", &[0, 12, 1, 15, 20, 31]),
        vec![(10, vec![0]), (22, vec![12, 1, 15, 20])]
    );
}

#[test]
fn barrier_acts_as_a_point_time_and_is_not_forwarded() {
    let mut n = win(".period(10s).every(10s)");
    let mut out = n.push_all((0..6).map(|t| pv(1.0, t)));
    let b = n.push(barrier(None, 12));
    assert_eq!(batch_times(&b), vec![(10, (0..6).collect())]);
    assert!(!b.iter().any(|m| matches!(m, Msg::Barrier(_))));
    // Next emit is 22: a point at 21 does not emit, 22 does (with only 21).
    out.extend(n.push(pv(1.0, 21)));
    assert!(batch_times(&out).is_empty());
    assert_eq!(batch_times(&n.push(pv(1.0, 22))), vec![(22, vec![21])]);
}

#[test]
fn groups_are_independent_and_batches_carry_group_tags() {
    let mut n = node(
        "stream\n    |from()\n        .measurement('m')\n        .groupBy('host')\n    |window()\n        .period(10s)\n        .every(10s)\n",
    );
    let mut out = Vec::new();
    out.extend(n.push(ph("a", fl(1.0), 0)));
    out.extend(n.push(ph("b", fl(2.0), 5)));
    out.extend(n.push(ph("a", fl(3.0), 10)));
    out.extend(n.push(ph("b", fl(4.0), 14)));
    out.extend(n.push(ph("b", fl(5.0), 15)));
    assert_eq!(batch_times(&out), vec![(10, vec![0]), (15, vec![5, 14])]);
    let Msg::Batch(b) = &out[1] else { panic!() };
    assert_eq!(b.tags, tags(&[("host", "b")]));
    assert_eq!(b.name.as_str(), "m");
    assert_eq!(b.points[0].tags, tags(&[("host", "b")]));
    assert_eq!(n.cardinality(), 2);
}

#[test]
fn delete_group_drops_state_and_is_forwarded() {
    let mut n = win(".period(10s).every(10s)");
    n.push_all((0..5).map(|t| pv(1.0, t)));
    let Msg::Point(p) = pv(1.0, 0) else { panic!() };
    let out = n.push(Msg::DeleteGroup(p.group_info()));
    assert!(matches!(out[..], [Msg::DeleteGroup(_)]));
    assert_eq!(n.cardinality(), 0);
    // A fresh window starts at the next point.
    assert!(n.push(pv(1.0, 12)).is_empty());
    assert_eq!(batch_times(&n.push(pv(1.0, 22))), vec![(22, vec![12])]);
}

#[test]
fn end_of_input_emits_nothing() {
    let mut n = win(".period(10s).every(10s)");
    n.push_all((0..5).map(|t| pv(1.0, t)));
    // No `done` flush: a processor's default done emits nothing.
    assert_eq!(n.cardinality(), 1);
}

#[test]
fn count_windows() {
    let times: Vec<i64> = (1..=6).collect();
    assert_eq!(
        run(".periodCount(3).everyCount(2)", &times),
        vec![(2, vec![1, 2]), (4, vec![2, 3, 4]), (6, vec![4, 5, 6])]
    );
    assert_eq!(
        run(".periodCount(3).everyCount(2).fillPeriod()", &times),
        vec![(3, vec![1, 2, 3]), (5, vec![3, 4, 5])]
    );
    assert_eq!(
        run(".periodCount(2).everyCount(1)", &[1, 2, 3]),
        vec![(1, vec![1]), (2, vec![1, 2]), (3, vec![2, 3])]
    );
}

#[test]
fn count_windows_forward_barriers() {
    let mut n = win(".periodCount(2).everyCount(2)");
    let out = n.push(barrier(None, 5));
    assert!(matches!(out[..], [Msg::Barrier(_)]));
}

#[test]
fn period_shorter_than_every_leaves_gaps() {
    let times: Vec<i64> = (0..=20).collect();
    assert_eq!(
        run(".period(5s).every(10s)", &times),
        vec![(10, (5..10).collect()), (20, (15..20).collect())]
    );
}

#[test]
fn emitted_points_keep_all_tags_and_fields() {
    let mut n = win(".period(10s).every(10s)");
    let p = point(
        &[("host", "a"), ("dc", "x")],
        &[],
        &[("value", fl(1.5)), ("n", int(3))],
        0,
    );
    n.push(Msg::Point(p.clone()));
    let out = n.push(pv(2.0, 10));
    let Msg::Batch(b) = &out[0] else { panic!() };
    assert_eq!(b.points[0].tags, p.tags);
    assert_eq!(b.points[0].fields, p.fields);
    assert!(b.tags.is_empty());
}
