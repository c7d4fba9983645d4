//! InfluxQL function nodes (semantics §3): aggregates, selectors, batch-emitting functions,
//! transformations, stream bucketing and the empty-batch rule. Values are those of
//! Kapacitor's `TestStream_InfluxQL_Float` (host serverA, first window).

mod ops_common;

use kap_dataflow::point::{FieldValue, Msg, Sym};
use ops_common::*;

const VALUES: [f64; 10] = [98.0, 91.0, 95.0, 93.0, 92.0, 95.0, 92.0, 96.0, 93.0, 95.0];

fn windowed(call: &str) -> Node {
    node(&format!(
        "stream\n    |from()\n        .measurement('m')\n        .groupBy('host')\n    |window()\n        .period(10s)\n        .every(10s)\n    |{call}\n"
    ))
}

fn raw(call: &str) -> Node {
    node(&format!(
        "stream\n    |from()\n        .measurement('m')\n        .groupBy('host')\n    |{call}\n"
    ))
}

/// The float window: points at 1..=10 s, batch time 11 s.
fn float_batch() -> Msg {
    let pts: Vec<(i64, FieldValue)> = VALUES
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64 + 1, fl(*v)))
        .collect();
    batch("serverA", 11, &pts)
}

fn int_batch() -> Msg {
    let pts: Vec<(i64, FieldValue)> = VALUES
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64 + 1, int(*v as i64)))
        .collect();
    batch("serverA", 11, &pts)
}

/// Runs `call` on the float window; the single output point as (time s, value of `as`).
fn one(call: &str, as_: &str, b: Msg) -> (i64, FieldValue) {
    let mut n = windowed(call);
    let out = n.push(b);
    assert_eq!(out.len(), 1, "{call}: {out:?}");
    let Msg::Point(p) = &out[0] else {
        panic!("{call}: not a point: {out:?}")
    };
    (p.time / S, p.field(as_).cloned().unwrap())
}

#[test]
fn aggregates_over_a_batch() {
    let cases: &[(&str, &str, FieldValue)] = &[
        ("sum('value')", "sum", fl(940.0)),
        ("count('value')", "count", int(10)),
        ("mean('value')", "mean", fl(94.0)),
        ("median('value')", "median", fl(94.0)),
        ("mode('value')", "mode", fl(95.0)),
        ("spread('value')", "spread", fl(7.0)),
        ("stddev('value')", "stddev", fl(2.160246899469287)),
    ];
    for (call, as_, want) in cases {
        assert_eq!(one(call, as_, float_batch()), (11, want.clone()), "{call}");
    }
}

#[test]
fn integer_aggregates_keep_or_change_type() {
    let cases: &[(&str, &str, FieldValue)] = &[
        ("sum('value')", "sum", int(940)),
        ("count('value')", "count", int(10)),
        ("mean('value')", "mean", fl(94.0)),
        ("median('value')", "median", fl(94.0)),
        ("mode('value')", "mode", int(95)),
        ("spread('value')", "spread", int(7)),
        ("min('value')", "min", int(91)),
        ("max('value')", "max", int(98)),
        ("percentile('value', 50.0)", "percentile", int(93)),
    ];
    for (call, as_, want) in cases {
        assert_eq!(one(call, as_, int_batch()), (11, want.clone()), "{call}");
    }
}

#[test]
fn aggregate_output_carries_only_group_tags_and_the_as_field() {
    let mut n = windowed("mean('value')\n        .as('m')");
    let out = n.push(float_batch());
    let Msg::Point(p) = &out[0] else { panic!() };
    assert_eq!(p.tags, tags(&[("host", "serverA")]));
    assert_eq!(p.fields, fields(&[("m", fl(94.0))]));
    assert_eq!(p.name.as_str(), "m");
    assert_eq!(p.dims, dims(&["host"]));
}

#[test]
fn selectors_carry_the_selected_point_and_use_point_times() {
    let cases: &[(&str, &str, i64, FieldValue)] = &[
        ("first('value')", "first", 1, fl(98.0)),
        ("last('value')", "last", 10, fl(95.0)),
        ("min('value')", "min", 2, fl(91.0)),
        ("max('value')", "max", 1, fl(98.0)),
        ("percentile('value', 50.0)", "percentile", 9, fl(93.0)),
    ];
    for (call, as_, t, want) in cases {
        assert_eq!(one(call, as_, float_batch()), (11, want.clone()), "{call}");
        let timed = format!("{call}\n        .usePointTimes()");
        assert_eq!(
            one(&timed, as_, float_batch()),
            (*t, want.clone()),
            "{timed}"
        );
    }
    // All tags of the selected point; the field renamed to `as`.
    let mut n = windowed("max('value')");
    let out = n.push(float_batch());
    let Msg::Point(p) = &out[0] else { panic!() };
    assert_eq!(p.tags, tags(&[("host", "serverA"), ("type", "idle")]));
    assert_eq!(p.fields, fields(&[("max", fl(98.0))]));
    let mut n = windowed("max('value')\n        .as('value')");
    let Msg::Point(p) = &n.push(float_batch())[0] else {
        panic!()
    };
    assert_eq!(p.fields, fields(&[("value", fl(98.0))]));
}

#[test]
fn min_max_ties_take_the_earliest_first_last_ties_the_largest() {
    let b = batch(
        "a",
        20,
        &[(1, fl(5.0)), (2, fl(5.0)), (2, fl(7.0)), (3, fl(1.0))],
    );
    assert_eq!(
        one("max('value').usePointTimes()", "max", b.clone()),
        (2, fl(7.0))
    );
    let b2 = batch("a", 20, &[(1, fl(5.0)), (2, fl(5.0))]);
    assert_eq!(
        one("max('value').usePointTimes()", "max", b2.clone()),
        (1, fl(5.0))
    );
    assert_eq!(one("min('value').usePointTimes()", "min", b2), (1, fl(5.0)));
    let b3 = batch("a", 20, &[(3, fl(1.0)), (3, fl(4.0)), (3, fl(2.0))]);
    assert_eq!(
        one("first('value').usePointTimes()", "first", b3.clone()),
        (3, fl(4.0))
    );
    assert_eq!(
        one("last('value').usePointTimes()", "last", b3),
        (3, fl(4.0))
    );
}

#[test]
fn percentile_out_of_range_emits_nothing() {
    let mut n = windowed("percentile('value', 1.0)");
    assert!(n.push(float_batch()).is_empty());
    assert_eq!(
        one("percentile('value', 100.0)", "percentile", float_batch()).1,
        fl(98.0)
    );
}

#[test]
fn sum_with_point_times_is_epoch_zero() {
    assert_eq!(
        one("sum('value').usePointTimes()", "sum", float_batch()),
        (0, fl(940.0))
    );
    // Reducers without a point time use the batch time.
    assert_eq!(
        one("mean('value').usePointTimes()", "mean", float_batch()).0,
        11
    );
}

#[test]
fn empty_batches_only_count_and_sum_emit_zero() {
    assert_eq!(
        one("count('value')", "count", batch("a", 5, &[])),
        (5, int(0))
    );
    assert_eq!(one("sum('value')", "sum", batch("a", 5, &[])), (5, fl(0.0)));
    for call in [
        "mean('value')",
        "max('value')",
        "distinct('value')",
        "top(2, 'value')",
    ] {
        let mut n = windowed(call);
        assert!(n.push(batch("a", 5, &[])).is_empty(), "{call}");
    }
}

#[test]
fn distinct_keeps_first_occurrence_order_in_a_batch() {
    let mut n = windowed("distinct('value')");
    let out = n.push(float_batch());
    let Msg::Batch(b) = &out[0] else { panic!() };
    assert_eq!(b.tmax, 11 * S);
    let vals: Vec<FieldValue> = b.points.iter().map(|p| p.fields[0].1.clone()).collect();
    assert_eq!(vals, [98.0, 91.0, 95.0, 93.0, 92.0, 96.0].map(fl).to_vec());
    assert!(b.points.iter().all(|p| p.time == 11 * S));
}

#[test]
fn top_and_bottom_order_and_times() {
    let mut n = windowed("top(2, 'value')");
    let Msg::Batch(b) = &n.push(float_batch())[0] else {
        panic!()
    };
    let got: Vec<(i64, FieldValue)> = b
        .points
        .iter()
        .map(|p| (p.time / S, p.fields[0].1.clone()))
        .collect();
    assert_eq!(got, vec![(11, fl(98.0)), (11, fl(96.0))]);
    assert_eq!(
        b.points[0].tags,
        tags(&[("host", "serverA"), ("type", "idle")])
    );
    assert_eq!(b.points[0].fields[0].0, Sym::new("top"));

    let mut n = windowed("bottom(3, 'value')\n        .usePointTimes()");
    let Msg::Batch(b) = &n.push(float_batch())[0] else {
        panic!()
    };
    let got: Vec<(i64, FieldValue)> = b
        .points
        .iter()
        .map(|p| (p.time / S, p.fields[0].1.clone()))
        .collect();
    assert_eq!(got, vec![(2, fl(91.0)), (5, fl(92.0)), (7, fl(92.0))]);
    assert_eq!(b.tmax, 11 * S);
}

#[test]
fn top_with_a_tag_takes_the_best_point_per_tag_value() {
    let mut n = node(
        "stream\n    |from()\n        .measurement('m')\n    |window()\n        .period(10s)\n        .every(10s)\n    |top(2, 'value', 'player')\n",
    );
    let mut b = batch("a", 10, &[]);
    if let Msg::Batch(b) = &mut b {
        for (t, player, v) in [
            (0, "p1", 10.0),
            (1, "p1", 9.0),
            (2, "p2", 8.0),
            (3, "p3", 7.0),
        ] {
            b.points.push(kap_dataflow::point::BatchPoint {
                time: t * S,
                fields: fields(&[("value", fl(v))]),
                tags: tags(&[("host", "a"), ("player", player)]),
            });
        }
    }
    let out = n.push(b);
    let Msg::Batch(b) = &out[0] else { panic!() };
    let got: Vec<(Option<Sym>, FieldValue)> = b
        .points
        .iter()
        .map(|p| {
            (
                kap_dataflow::point::get(&p.tags, Sym::new("player")).copied(),
                p.fields[0].1.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Some(Sym::new("p1")), fl(10.0)),
            (Some(Sym::new("p2")), fl(8.0))
        ]
    );
}

#[test]
fn wrong_kind_is_an_error_and_emits_nothing() {
    let mut n = windowed("mean('value')");
    let out = n.push(batch("a", 5, &[(1, FieldValue::String("x".into()))]));
    assert!(out.is_empty());
    assert_eq!(n.stats.errors, 1);
    // A later point of another type than the first is skipped.
    let mut n = windowed("sum('value')");
    let out = n.push(batch("a", 5, &[(1, int(2)), (2, fl(3.5)), (3, int(4))]));
    assert_eq!(out.len(), 1);
    let Msg::Point(p) = &out[0] else { panic!() };
    assert_eq!(p.field("sum"), Some(&int(6)));
    assert_eq!(n.stats.errors, 1);
}

#[test]
fn string_and_bool_reducers() {
    let b = batch(
        "a",
        5,
        &[
            (1, FieldValue::Bool(false)),
            (2, FieldValue::Bool(true)),
            (3, FieldValue::Bool(false)),
        ],
    );
    assert_eq!(one("count('value')", "count", b.clone()), (5, int(3)));
    assert_eq!(
        one("last('value')", "last", b.clone()),
        (5, FieldValue::Bool(false))
    );
    let mut n = windowed("distinct('value')");
    let Msg::Batch(out) = &n.push(b)[0] else {
        panic!()
    };
    assert_eq!(out.points.len(), 2);
}

#[test]
fn raw_stream_buckets_by_equal_time_and_never_flushes_the_last() {
    let mut n = raw("sum('value')");
    let mut out = Vec::new();
    out.extend(n.push(ph("a", fl(1.0), 1)));
    out.extend(n.push(ph("a", fl(2.0), 1)));
    out.extend(n.push(ph("b", fl(5.0), 1)));
    out.extend(n.push(barrier(Some("a"), 9)));
    out.extend(n.push(ph("a", fl(4.0), 2)));
    out.extend(n.push(ph("a", fl(8.0), 3)));
    let sums: Vec<(i64, FieldValue)> = point_values(&out, "sum");
    assert_eq!(sums, vec![(S, fl(3.0)), (2 * S, fl(4.0))]);
    assert!(matches!(out[0], Msg::Barrier(_)));
}

#[test]
fn raw_stream_batch_output_function() {
    let mut n = raw("top(1, 'value')");
    n.push(ph("a", fl(1.0), 1));
    n.push(ph("a", fl(2.0), 1));
    let out = n.push(ph("a", fl(3.0), 2));
    assert_eq!(batch_times(&out), vec![(1, vec![1])]);
}

#[test]
fn stream_transformations() {
    let feed = |call: &str, vals: &[(i64, FieldValue)]| {
        let mut n = raw(call);
        let out = n.push_all(vals.iter().map(|(t, v)| ph("a", v.clone(), *t)));
        let as_ = call.split('(').next().unwrap().to_string();
        point_values(&out, &as_)
            .into_iter()
            .map(|(t, v)| (t / S, v))
            .collect::<Vec<_>>()
    };
    let ints = [(0, int(1)), (1, int(4)), (2, int(9)), (3, int(16))];
    assert_eq!(
        feed("difference('value')", &ints),
        vec![(1, int(3)), (2, int(5)), (3, int(7))]
    );
    assert_eq!(
        feed("cumulativeSum('value')", &ints),
        vec![(0, int(1)), (1, int(5)), (2, int(14)), (3, int(30))]
    );
    assert_eq!(
        feed("movingAverage('value', 2)", &ints),
        vec![(1, fl(2.5)), (2, fl(6.5)), (3, fl(12.5))]
    );
    assert_eq!(
        feed("elapsed('value', 1ms)", &ints),
        vec![(1, int(1000)), (2, int(1000)), (3, int(1000))]
    );
    // difference keeps the first point of equal times.
    let dup = [(0, fl(1.0)), (1, fl(3.0)), (1, fl(10.0)), (2, fl(4.0))];
    assert_eq!(
        feed("difference('value')", &dup),
        vec![(1, fl(2.0)), (2, fl(1.0))]
    );
}

#[test]
fn batch_transformations_reset_per_batch() {
    let mut n = node(
        "batch\n    |query('SELECT value FROM db.rp.m')\n        .period(10s)\n        .every(10s)\n    |movingAverage('value', 2)\n",
    );
    let b = batch(
        "a",
        10,
        &[(0, fl(1000.0)), (2, fl(1005.0)), (4, fl(1008.0))],
    );
    let out = n.push(b.clone());
    let out2 = n.push(b);
    for o in [out, out2] {
        let Msg::Batch(ob) = &o[0] else { panic!() };
        let got: Vec<(i64, FieldValue)> = ob
            .points
            .iter()
            .map(|p| (p.time / S, p.fields[0].1.clone()))
            .collect();
        assert_eq!(got, vec![(2, fl(1002.5)), (4, fl(1006.5))]);
        assert_eq!(ob.tmax, 10 * S);
        assert_eq!(ob.points[0].tags, tags(&[("host", "a")]));
    }
}

#[test]
fn holt_winters_with_fit_matches_kapacitor() {
    let vals = [1000, 1001, 1002, 1003, 1004, 1006, 1007, 1007, 1008, 1009];
    let pts: Vec<(i64, FieldValue)> = vals
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64 + 1, fl(*v as f64)))
        .collect();
    let mut n = windowed("holtWintersWithFit('value', 3, 0, 1s)");
    let out = n.push(batch("serverA", 11, &pts));
    let Msg::Batch(b) = &out[0] else {
        panic!("{out:?}")
    };
    let got: Vec<f64> = b
        .points
        .iter()
        .map(|p| p.fields[0].1.as_f64().unwrap())
        .collect();
    let want = [
        1000.0,
        1000.7349380776699,
        1001.8935462884633,
        1003.1750039651934,
        1004.4245269000132,
        1005.5685498251902,
        1006.5782508658309,
        1007.4488388165385,
        1008.1877681696025,
        1008.8080773333872,
        1009.324690106368,
        1009.7524349889708,
        1010.105056042826,
    ];
    assert_eq!(got, want);
    assert_eq!(b.points[0].time, S);
    assert_eq!(b.points[12].time, 13 * S);
    assert_eq!(b.tmax, 13 * S);
    // Forecast only: the 3 points after the data.
    let mut n = windowed("holtWinters('value', 3, 0, 1s)");
    let Msg::Batch(b) = &n.push(batch("serverA", 11, &pts))[0] else {
        panic!()
    };
    let got: Vec<f64> = b
        .points
        .iter()
        .map(|p| p.fields[0].1.as_f64().unwrap())
        .collect();
    assert_eq!(got, want[10..]);
}

#[test]
fn holt_winters_seasonal_forecasts_h_points() {
    let pts: Vec<(i64, FieldValue)> = (0..12)
        .map(|i| (i, fl(if i % 2 == 0 { 10.0 } else { 20.0 } + i as f64)))
        .collect();
    let mut n = windowed("holtWinters('value', 4, 2, 1s)");
    let Msg::Batch(b) = &n.push(batch("a", 12, &pts))[0] else {
        panic!()
    };
    let times: Vec<i64> = b.points.iter().map(|p| p.time / S).collect();
    assert_eq!(times, vec![12, 13, 14, 15]);
    assert!(
        b.points
            .iter()
            .all(|p| p.fields[0].1.as_f64().unwrap().is_finite())
    );
    // Too few points for the season: nothing.
    let mut n = windowed("holtWinters('value', 4, 5, 1s)");
    assert!(n.push(batch("a", 12, &pts[..3])).is_empty());
}

#[test]
fn raw_stream_bucket_whose_first_point_lacks_the_field() {
    let mut n = raw("max('value')");
    let missing = Msg::Point(point(&[("host", "a")], &["host"], &[("other", fl(1.0))], S));
    let mut out = n.push(missing);
    out.extend(n.push(ph("a", fl(7.0), 1)));
    out.extend(n.push(ph("a", fl(9.0), 2)));
    assert_eq!(n.stats.errors, 1);
    assert_eq!(point_values(&out, "max"), vec![(S, fl(7.0))]);
}
