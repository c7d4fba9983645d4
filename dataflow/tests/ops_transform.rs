//! Per-node tests of the transform nodes: hand-made message sequences in, outputs and
//! stats checked against Kapacitor's semantics (`kapacitor-semantics.md` §1.1, §7–§10).

mod xform_common;

use kap_dataflow::point::{FieldValue, Msg, Sym};
use std::sync::atomic::Ordering;
use xform_common::*;

fn stream_node(chain: &str) -> Harness {
    Harness::new(
        &spec(&format!("stream\n    |from()\n    {chain}\n"), 2),
        1,
        false,
    )
}

fn batch_node(chain: &str) -> Harness {
    Harness::new(
        &spec(
            &format!(
                "batch\n    |query('SELECT v FROM db.rp.m')\n        .period(10s)\n        .every(10s)\n    {chain}\n"
            ),
            2,
        ),
        1,
        true,
    )
}

// ---------------------------------------------------------------------------------------
// from

#[test]
fn from_filters_aligns_and_regroups() {
    let mut h = Harness::new(
        &spec(
            "stream\n    |from()\n        .database('db')\n        .measurement('cpu')\n        .where(lambda: \"v\" > 1)\n        .groupBy('tb', 'ta')\n        .truncate(10s)\n",
            1,
        ),
        1,
        false,
    );
    let mk = |name: &str, v: f64, time: i64| {
        Msg::Point(pt(
            name,
            &[("ta", "1"), ("tb", "2"), ("x", "y")],
            &[("v", f(v))],
            time,
            &["x"],
        ))
    };
    assert!(
        h.send(0, mk("mem", 5.0, 0)).is_empty(),
        "measurement filter"
    );
    assert!(h.send(0, mk("cpu", 0.5, 0)).is_empty(), "where filter");
    let out = h.send(0, mk("cpu", 5.0, 17 * S));
    let p = points(&out)[0];
    assert_eq!(p.time, 10 * S);
    assert_eq!(p.group_string(), "ta=1,tb=2");
    assert_eq!(p.dims.tag_names, vec![Sym::new("ta"), Sym::new("tb")]);
    // Missing field: evaluation error, dropped silently.
    let out = h.send(0, Msg::Point(pt("cpu", &[], &[("w", f(1.0))], 0, &[])));
    assert!(out.is_empty());
    assert_eq!(h.stats.errors, 0);
    // Batches are an error.
    assert!(
        h.send(0, Msg::Batch(batch("cpu", &[], 0, vec![])))
            .is_empty()
    );
    assert_eq!(h.stats.errors, 1);
}

#[test]
fn from_group_by_star_and_measurement_and_round() {
    let mut h = Harness::new(
        &spec(
            "stream\n    |from()\n        .groupBy(*)\n        .groupByMeasurement()\n        .round(10s)\n",
            1,
        ),
        1,
        false,
    );
    let out = h.send(
        0,
        Msg::Point(pt(
            "cpu",
            &[("b", "2"), ("a", "1")],
            &[("v", f(1.0))],
            15 * S,
            &[],
        )),
    );
    let p = points(&out)[0];
    assert_eq!(p.time, 20 * S, "halfway rounds up");
    assert_eq!(p.group_string(), "cpu\na=1,b=2");
}

/// Ingest groups a point by its series (every tag); `from` keeps that group when its own
/// grouping is the same and regroups otherwise: either way the group it emits is the one
/// hashing its dimensions gives, whatever grouping the point arrived with.
#[test]
fn from_groups_alike_whether_a_point_arrives_grouped_by_its_series_or_not() {
    use kap_dataflow::point::{Dimensions, group_of, group_of_all};
    let grouping = [
        "",
        ".groupBy('host')",
        ".groupBy('dc')",
        ".groupBy('dc', 'host')",
        ".groupBy(*)",
        ".groupBy(*).groupByMeasurement()",
    ];
    for g in grouping {
        for tag_pairs in [&[("host", "h1")][..], &[("dc", "east"), ("host", "h1")]] {
            let mut h = Harness::new(&spec(&format!("stream\n    |from(){g}\n"), 1), 1, false);
            let plain = pt("cpu", tag_pairs, &[("v", f(1.0))], S, &[]);
            let mut series = plain.clone();
            series.dims = Dimensions::of_series(&series.tags);
            series.group = group_of_all(&series.tags);
            assert_eq!(
                series.group,
                group_of(series.name, &series.tags, &series.dims)
            );
            let a = h.send(0, Msg::Point(plain));
            let b = h.send(0, Msg::Point(series));
            let (a, b) = (points(&a)[0], points(&b)[0]);
            assert_eq!(a.dims, b.dims, "{g} {tag_pairs:?}");
            assert_eq!(a.group, b.group, "{g} {tag_pairs:?}");
            assert_eq!(
                a.group,
                group_of(a.name, &a.tags, &a.dims),
                "{g} {tag_pairs:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// where

#[test]
fn where_state_is_per_group_and_never_reset() {
    let mut h = stream_node("|where(lambda: count() > 1)");
    let a = |t| Msg::Point(pt("m", &[("host", "a")], &[("v", f(1.0))], t, &["host"]));
    let b = |t| Msg::Point(pt("m", &[("host", "b")], &[("v", f(1.0))], t, &["host"]));
    assert!(h.send(0, a(1)).is_empty());
    assert!(h.send(0, b(1)).is_empty());
    assert_eq!(h.send(0, a(2)).len(), 1);
    assert_eq!(h.send(0, b(2)).len(), 1);
    assert_eq!(h.p.cardinality(), 2);
}

#[test]
fn where_filters_batch_points_and_passes_empty_batches() {
    let mut h = batch_node("|where(lambda: \"v\" > 1)");
    let out = h.send(
        0,
        Msg::Batch(batch(
            "m",
            &[],
            10 * S,
            vec![
                bp(&[], &[("v", f(0.0))], S),
                bp(&[], &[("v", f(2.0))], 2 * S),
            ],
        )),
    );
    let b = batches(&out)[0];
    assert_eq!(b.points.len(), 1);
    assert_eq!(b.points[0].time, 2 * S);
    let out = h.send(
        0,
        Msg::Batch(batch("m", &[], 20 * S, vec![bp(&[], &[("v", f(0.0))], S)])),
    );
    assert!(batches(&out)[0].points.is_empty());
}

// ---------------------------------------------------------------------------------------
// eval

#[test]
fn eval_default_output_is_only_the_as_fields_and_later_see_earlier() {
    let mut h =
        stream_node("|eval(lambda: \"v\" * 2.0, lambda: \"a\" + 1.0)\n        .as('a', 'b')");
    let out = h.send(
        0,
        Msg::Point(pt(
            "m",
            &[("host", "x")],
            &[("v", f(3.0)), ("w", i(1))],
            0,
            &[],
        )),
    );
    let p = points(&out)[0];
    assert_eq!(p.fields, fields(&[("a", f(6.0)), ("b", f(7.0))]));
    assert_eq!(p.tags, tags(&[("host", "x")]));
}

#[test]
fn eval_keep_all_and_keep_list() {
    let mut h = stream_node("|eval(lambda: \"v\" * 2.0)\n        .as('a')\n        .keep()");
    let out = h.send(
        0,
        Msg::Point(pt("m", &[], &[("v", f(3.0)), ("w", i(1))], 0, &[])),
    );
    assert_eq!(
        points(&out)[0].fields,
        fields(&[("a", f(6.0)), ("v", f(3.0)), ("w", i(1))])
    );

    let mut h =
        stream_node("|eval(lambda: \"v\" * 2.0)\n        .as('a')\n        .keep('w', 'a')");
    let out = h.send(
        0,
        Msg::Point(pt("m", &[], &[("v", f(3.0)), ("w", i(1))], 0, &[])),
    );
    assert_eq!(
        points(&out)[0].fields,
        fields(&[("a", f(6.0)), ("w", i(1))])
    );

    let mut h = stream_node("|eval(lambda: \"v\" * 2.0)\n        .as('a')\n        .keep('nope')");
    let out = h.send(0, Msg::Point(pt("m", &[], &[("v", f(3.0))], 0, &[])));
    assert!(out.is_empty());
    assert_eq!(h.counter("eval_errors"), 1);
}

#[test]
fn eval_tags_become_tags_and_regroup() {
    let mut h = stream_node(
        "|eval(lambda: 'new', lambda: \"v\" + 1.0)\n        .as('host', 'x')\n        .tags('host')",
    );
    let out = h.send(
        0,
        Msg::Point(pt("m", &[("host", "old")], &[("v", f(1.0))], 0, &["host"])),
    );
    let p = points(&out)[0];
    assert_eq!(p.tags, tags(&[("host", "new")]));
    assert_eq!(p.fields, fields(&[("x", f(2.0))]));
    assert_eq!(p.group_string(), "host=new");
}

#[test]
fn eval_errors_drop_and_count_even_when_quiet() {
    let mut h = stream_node(
        "|eval(lambda: \"v\" + 1)\n        .as('x')\n        .tags('x')\n        .quiet()",
    );
    // Tag result not a string.
    assert!(
        h.send(0, Msg::Point(pt("m", &[], &[("v", i(1))], 0, &[])))
            .is_empty()
    );
    // Missing reference.
    assert!(h.send(0, Msg::Point(pt("m", &[], &[], 0, &[]))).is_empty());
    assert_eq!(h.counter("eval_errors"), 2);
    assert_eq!(h.stats.errors, 2);
    assert!(
        h.lines.0.lock().unwrap().is_empty(),
        "quiet: nothing logged"
    );
}

#[test]
fn eval_batch_per_point() {
    let mut h = batch_node("|eval(lambda: \"v\" * 10.0)\n        .as('x')");
    let out = h.send(
        0,
        Msg::Batch(batch(
            "m",
            &[],
            10 * S,
            vec![
                bp(&[], &[("v", f(1.0))], S),
                bp(&[], &[("w", f(2.0))], 2 * S),
            ],
        )),
    );
    let b = batches(&out)[0];
    assert_eq!(b.points.len(), 1, "the failing point is dropped");
    assert_eq!(b.points[0].fields, fields(&[("x", f(10.0))]));
}

// ---------------------------------------------------------------------------------------
// groupBy

#[test]
fn group_by_stream_sets_sorted_dims_and_keeps_tags() {
    let mut h = stream_node("|groupBy('z', 'a')\n        .byMeasurement()");
    let out = h.send(
        0,
        Msg::Point(pt(
            "m",
            &[("a", "1"), ("z", "2"), ("q", "3")],
            &[("v", f(1.0))],
            0,
            &[],
        )),
    );
    let p = points(&out)[0];
    assert_eq!(p.group_string(), "m\na=1,z=2");
    assert_eq!(p.tags.len(), 3);

    let mut h = stream_node("|groupBy(*)\n        .exclude('q')");
    let out = h.send(
        0,
        Msg::Point(pt(
            "m",
            &[("a", "1"), ("z", "2"), ("q", "3")],
            &[("v", f(1.0))],
            0,
            &[],
        )),
    );
    assert_eq!(points(&out)[0].group_string(), "a=1,z=2");
}

#[test]
fn group_by_batch_splits_and_emits_on_a_new_time() {
    let mut h = batch_node("|groupBy('host')");
    let first = batch(
        "m",
        &[],
        10 * S,
        vec![
            bp(&[("host", "b"), ("cpu", "0")], &[("v", f(1.0))], 3 * S),
            bp(&[("host", "a")], &[("v", f(2.0))], 2 * S),
            bp(&[("host", "b"), ("cpu", "1")], &[("v", f(3.0))], S),
        ],
    );
    assert!(h.send(0, Msg::Batch(first)).is_empty(), "buffered");
    // A barrier at the same time does not emit; it is forwarded.
    let g = nil_group();
    let out = h.send(
        0,
        Msg::Barrier(kap_dataflow::point::Barrier {
            group: g.clone(),
            time: 10 * S,
        }),
    );
    assert_eq!(out.len(), 1);
    assert!(matches!(out[0], Msg::Barrier(_)));
    // Same time again: still buffered (joins the same groups).
    assert!(
        h.send(
            0,
            Msg::Batch(batch(
                "m",
                &[],
                10 * S,
                vec![bp(&[("host", "a")], &[("v", f(4.0))], S)]
            ))
        )
        .is_empty()
    );
    let out = h.send(
        0,
        Msg::Batch(batch(
            "m",
            &[],
            20 * S,
            vec![bp(&[("host", "a")], &[("v", f(5.0))], 11 * S)],
        )),
    );
    let bs = batches(&out);
    assert_eq!(bs.len(), 2);
    assert_eq!(bs[0].tags, tags(&[("host", "b")]), "first-seen order");
    assert_eq!(bs[0].tmax, 10 * S);
    assert_eq!(bs[0].group_string(), "host=b");
    let times: Vec<i64> = bs[0].points.iter().map(|p| p.time).collect();
    assert_eq!(times, vec![S, 3 * S], "sorted by time");
    assert_eq!(
        bs[0].points[0].tags,
        tags(&[("host", "b"), ("cpu", "1")]),
        "point tags unchanged"
    );
    assert_eq!(bs[1].tags, tags(&[("host", "a")]));
    assert_eq!(bs[1].points.len(), 2);
    // Pending groups are not emitted at end of input.
    assert!(h.done().is_empty());
}

// ---------------------------------------------------------------------------------------
// default / delete

#[test]
fn default_sets_missing_null_and_empty_and_counts() {
    let mut h = stream_node(
        "|default()\n        .field('v', 1.0)\n        .field('w', 2)\n        .tag('host', 'h0')",
    );
    let mut p = pt(
        "m",
        &[("host", "")],
        &[("w", FieldValue::Null)],
        0,
        &["host"],
    );
    p.regroup();
    let out = h.send(0, Msg::Point(p));
    let p = points(&out)[0];
    assert_eq!(p.fields, fields(&[("v", f(1.0)), ("w", i(2))]));
    assert_eq!(p.tags, tags(&[("host", "h0")]));
    assert_eq!(p.group_string(), "host=h0");
    let out = h.send(
        0,
        Msg::Point(pt(
            "m",
            &[("host", "x")],
            &[("v", f(9.0)), ("w", i(9))],
            0,
            &[],
        )),
    );
    assert_eq!(
        points(&out)[0].fields,
        fields(&[("v", f(9.0)), ("w", i(9))])
    );
    assert_eq!(h.counter("fields_defaulted"), 2);
    assert_eq!(h.counter("tags_defaulted"), 1);
}

#[test]
fn default_batch_tags_become_dimensions() {
    let mut h = batch_node("|default()\n        .tag('dc', 'east')");
    let out = h.send(
        0,
        Msg::Batch(batch(
            "m",
            &[("host", "a")],
            0,
            vec![bp(&[("host", "a")], &[("v", f(1.0))], 0)],
        )),
    );
    let b = batches(&out)[0];
    assert_eq!(b.tags, tags(&[("dc", "east"), ("host", "a")]));
    assert_eq!(b.group_string(), "dc=east,host=a");
    assert_eq!(b.points[0].tags, tags(&[("dc", "east"), ("host", "a")]));
    assert_eq!(h.counter("tags_defaulted"), 2);
}

#[test]
fn delete_removes_fields_tags_and_dimensions() {
    let mut h = stream_node("|delete()\n        .field('v')\n        .tag('host')");
    let out = h.send(
        0,
        Msg::Point(pt(
            "m",
            &[("host", "a"), ("dc", "e")],
            &[("v", f(1.0)), ("w", f(2.0))],
            0,
            &["dc", "host"],
        )),
    );
    let p = points(&out)[0];
    assert_eq!(p.fields, fields(&[("w", f(2.0))]));
    assert_eq!(p.tags, tags(&[("dc", "e")]));
    assert_eq!(p.group_string(), "dc=e");
    assert_eq!(h.counter("fields_deleted"), 1);
    assert_eq!(h.counter("tags_deleted"), 1);

    let mut h = batch_node("|delete()\n        .tag('host')");
    let out = h.send(
        0,
        Msg::Batch(batch(
            "m",
            &[("host", "a"), ("dc", "e")],
            0,
            vec![bp(&[("host", "a")], &[("v", f(1.0))], 0)],
        )),
    );
    let b = batches(&out)[0];
    assert_eq!(b.group_string(), "dc=e");
    assert!(b.points[0].tags.is_empty());
    assert_eq!(h.counter("tags_deleted"), 2);
}

// ---------------------------------------------------------------------------------------
// shift / sample / log / trickle

#[test]
fn shift_points_and_batches() {
    let mut h = stream_node("|shift(-5s)");
    let out = h.send(0, Msg::Point(pt("m", &[], &[("v", f(1.0))], 10 * S, &[])));
    assert_eq!(points(&out)[0].time, 5 * S);
    let mut h = batch_node("|shift(1s)");
    let out = h.send(
        0,
        Msg::Batch(batch(
            "m",
            &[],
            10 * S,
            vec![bp(&[], &[("v", f(1.0))], 3 * S)],
        )),
    );
    let b = batches(&out)[0];
    assert_eq!((b.tmax, b.points[0].time), (11 * S, 4 * S));
}

#[test]
fn sample_by_count_per_group_and_by_duration() {
    let mut h = stream_node("|sample(2)");
    let a = |t| Msg::Point(pt("m", &[("host", "a")], &[("v", f(1.0))], t, &["host"]));
    let b = |t| Msg::Point(pt("m", &[("host", "b")], &[("v", f(1.0))], t, &["host"]));
    let kept: Vec<usize> = [a(1), b(1), a(2), b(2), a(3)]
        .into_iter()
        .map(|m| h.send(0, m).len())
        .collect();
    assert_eq!(kept, vec![1, 1, 0, 0, 1]);

    let mut h = stream_node("|sample(10s)");
    let kept: Vec<usize> = [0, 5 * S, 10 * S, 11 * S]
        .into_iter()
        .map(|t| h.send(0, a(t)).len())
        .collect();
    assert_eq!(kept, vec![1, 0, 1, 0]);

    let mut h = batch_node("|sample(2)");
    let mk = || {
        Msg::Batch(batch(
            "m",
            &[],
            0,
            (0..3).map(|t| bp(&[], &[("v", f(1.0))], t)).collect(),
        ))
    };
    for _ in 0..2 {
        let out = h.send(0, mk());
        let times: Vec<i64> = batches(&out)[0].points.iter().map(|p| p.time).collect();
        assert_eq!(times, vec![0, 2], "counter reset every batch");
    }
}

#[test]
fn log_writes_logfmt_and_forwards() {
    let mut h = stream_node("|log()\n        .level('WARN')\n        .prefix('P')");
    let out = h.send(
        0,
        Msg::Point(pt(
            "cpu",
            &[("host", "a b")],
            &[("v", f(1.5))],
            0,
            &["host"],
        )),
    );
    assert_eq!(out.len(), 1);
    let lines = h.lines.0.lock().unwrap().clone();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].0, "WARN");
    assert_eq!(
        lines[0].1,
        "msg=point task=t node=n1 prefix=P name=cpu db=db rp=rp group=\"host=a b\" dimension=host tag_host=\"a b\" field_v=1.5 time=1970-01-01T00:00:00Z"
    );
    let mut h = batch_node("|log()");
    h.send(
        0,
        Msg::Batch(batch("m", &[], 0, vec![bp(&[], &[("v", i(1))], 0)])),
    );
    let lines = h.lines.0.lock().unwrap().clone();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].1.starts_with("msg=\"begin batch\""));
    assert!(lines[1].1.contains("field_v=1 "));
    assert!(lines[2].1.starts_with("msg=\"end batch\""));
}

#[test]
fn trickle_turns_batches_into_points() {
    let mut h = batch_node("|trickle()");
    let out = h.send(
        0,
        Msg::Batch(batch(
            "m",
            &[("host", "a")],
            10 * S,
            vec![
                bp(&[("host", "a"), ("x", "1")], &[("v", f(1.0))], S),
                bp(&[("host", "a")], &[("v", f(2.0))], 2 * S),
            ],
        )),
    );
    let ps = points(&out);
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0].name, Sym::new("m"));
    assert_eq!(ps[0].tags, tags(&[("host", "a"), ("x", "1")]));
    assert_eq!(ps[0].group_string(), "host=a");
    assert_eq!(ps[1].time, 2 * S);
}

// ---------------------------------------------------------------------------------------
// flatten / combine

#[test]
fn flatten_stream_with_tolerance() {
    let mut h = stream_node("|flatten()\n        .on('host', 'cpu')\n        .tolerance(1s)");
    let mk = |host: &str, cpu: &str, v: f64, t: i64| {
        Msg::Point(pt(
            "m",
            &[("host", host), ("cpu", cpu), ("dc", "e")],
            &[("v", f(v))],
            t,
            &["dc"],
        ))
    };
    assert!(h.send(0, mk("a", "0", 1.0, 10 * S)).is_empty());
    assert!(h.send(0, mk("b", "1", 2.0, 10 * S + S / 4)).is_empty());
    let out = h.send(0, mk("a", "0", 3.0, 12 * S));
    let p = points(&out)[0];
    assert_eq!(p.time, 10 * S);
    assert_eq!(p.fields, fields(&[("a.0.v", f(1.0)), ("b.1.v", f(2.0))]));
    assert_eq!(p.tags, tags(&[("dc", "e")]));
    // End of input: the pending set is lost.
    assert!(h.done().is_empty());
}

#[test]
fn flatten_batch_and_drop_original_name() {
    let mut h = batch_node(
        "|flatten()\n        .on('host')\n        .delimiter('_')\n        .dropOriginalFieldName()",
    );
    let out = h.send(
        0,
        Msg::Batch(batch(
            "m",
            &[],
            10 * S,
            vec![
                bp(&[("host", "a")], &[("v", f(1.0))], S),
                bp(&[("host", "b")], &[("v", f(2.0))], S),
                bp(&[("host", "a")], &[("v", f(3.0))], 2 * S),
            ],
        )),
    );
    let b = batches(&out)[0];
    assert_eq!(b.points.len(), 2);
    assert_eq!(b.points[0].fields, fields(&[("a", f(1.0)), ("b", f(2.0))]));
    assert_eq!(b.points[1].fields, fields(&[("a", f(3.0))]));
}

#[test]
fn combine_pairs_points_of_equal_time() {
    let mut h = stream_node(
        "|combine(lambda: \"host\" == 'a', lambda: TRUE)\n        .as('first', 'other')",
    );
    let mk =
        |host: &str, v: f64, t: i64| Msg::Point(pt("m", &[("host", host)], &[("v", f(v))], t, &[]));
    assert!(h.send(0, mk("b", 2.0, S)).is_empty());
    assert!(h.send(0, mk("a", 1.0, S)).is_empty());
    assert!(h.send(0, mk("c", 3.0, S)).is_empty());
    let out = h.send(0, mk("a", 9.0, 2 * S));
    let ps = points(&out);
    // Combinations in index order: (b,a) -> first=a other=b; (b,c) no 'a'; (a,c).
    assert_eq!(ps.len(), 2);
    assert_eq!(
        ps[0].fields,
        fields(&[("first.v", f(1.0)), ("other.v", f(2.0))])
    );
    assert_eq!(
        ps[0].tags,
        tags(&[("first.host", "a"), ("other.host", "b")])
    );
    assert_eq!(
        ps[1].fields,
        fields(&[("first.v", f(1.0)), ("other.v", f(3.0))])
    );
    assert_eq!(ps[0].time, S);
}

#[test]
fn combine_max_is_an_error() {
    let mut h =
        stream_node("|combine(lambda: TRUE, lambda: TRUE)\n        .as('a', 'b')\n        .max(2)");
    let mk = |v: f64, t: i64| Msg::Point(pt("m", &[], &[("v", f(v))], t, &[]));
    for v in 0..3 {
        h.send(0, mk(f64::from(v), S));
    }
    assert!(h.send(0, mk(0.0, 2 * S)).is_empty());
    assert_eq!(h.stats.errors, 1);
}

// ---------------------------------------------------------------------------------------
// barrier

#[test]
fn barrier_idle_emits_after_wall_clock_idleness_and_deletes() {
    let mut h = stream_node("|barrier()\n        .idle(5s)\n        .delete(TRUE)");
    h.clock.0.store(100 * S, Ordering::SeqCst);
    let a = pt("m", &[("host", "a")], &[("v", f(1.0))], 10 * S, &["host"]);
    assert_eq!(h.send(0, Msg::Point(a.clone())).len(), 1);
    // Older data is dropped.
    let mut old = a.clone();
    old.time = 9 * S;
    assert!(h.send(0, Msg::Point(old)).is_empty());
    h.clock.0.store(106 * S, Ordering::SeqCst);
    let b = pt("m", &[("host", "b")], &[("v", f(1.0))], 50 * S, &["host"]);
    let out = h.send(0, Msg::Point(b));
    assert_eq!(out.len(), 3);
    match &out[0] {
        Msg::Barrier(x) => {
            assert_eq!(x.time, 15 * S);
            assert_eq!(x.group.id, a.group);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(out[1], Msg::DeleteGroup(_)));
    assert!(matches!(out[2], Msg::Point(_)));
    assert_eq!(h.p.cardinality(), 1);
}

#[test]
fn barrier_period_emits_now() {
    let mut h = stream_node("|barrier()\n        .period(10s)");
    h.clock.0.store(1000 * S, Ordering::SeqCst);
    let a = pt("m", &[], &[("v", f(1.0))], 10 * S, &[]);
    assert_eq!(h.send(0, Msg::Point(a.clone())).len(), 1);
    h.clock.0.store(1011 * S, Ordering::SeqCst);
    let mut late = a.clone();
    late.time = 20 * S;
    let out = h.send(0, Msg::Point(late));
    match &out[0] {
        Msg::Barrier(x) => assert_eq!(x.time, 1011 * S),
        other => panic!("{other:?}"),
    }
    assert_eq!(out.len(), 1, "data older than the barrier is dropped");
}

// ---------------------------------------------------------------------------------------
// sideload

#[test]
fn sideload_reads_yaml_and_json_in_order() {
    let dir = std::env::temp_dir().join(format!("kap-sideload-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("host")).unwrap();
    std::fs::write(dir.join("host/a.yml"), "cpu_threshold: 80\nowner: alice\n").unwrap();
    std::fs::write(
        dir.join("default.json"),
        r#"{"cpu_threshold": 90.5, "team": "ops", "owner": "root"}"#,
    )
    .unwrap();
    let script = format!(
        "stream\n    |from()\n    |sideload()\n        .source('file://{}')\n        .order('host/{{{{.host}}}}.yml', 'default.json')\n        .field('cpu_threshold', 0.0)\n        .field('missing', 7)\n        .tag('owner', 'nobody')\n        .tag('team', 'none')\n",
        dir.display()
    );
    let mut h = Harness::new(&spec(&script, 2), 1, false);
    let out = h.send(
        0,
        Msg::Point(pt("m", &[("host", "a")], &[("v", f(1.0))], 0, &[])),
    );
    let p = points(&out)[0];
    assert_eq!(
        p.fields,
        fields(&[("cpu_threshold", f(80.0)), ("missing", i(7)), ("v", f(1.0))])
    );
    assert_eq!(
        p.tags,
        tags(&[("host", "a"), ("owner", "alice"), ("team", "ops")])
    );
    let out = h.send(0, Msg::Point(pt("m", &[("host", "zz")], &[], 0, &[])));
    let p = points(&out)[0];
    assert_eq!(p.field("cpu_threshold"), Some(&f(90.5)));
    assert_eq!(p.tag("owner"), Some(Sym::new("root")));
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------------------------------
// outputs

#[test]
fn influxdb_out_buffers_writes_and_flushes_on_done() {
    let mut h = stream_node(
        "|influxDBOut()\n        .database('out')\n        .retentionPolicy('autogen')\n        .measurement('renamed')\n        .tag('k', 'v')\n        .buffer(2)",
    );
    let mk = |t| Msg::Point(pt("m", &[("host", "a")], &[("v", f(1.0))], t, &[]));
    assert!(h.send(0, mk(1)).is_empty());
    assert!(h.writer.writes.lock().unwrap().is_empty());
    h.send(0, mk(2));
    h.send(0, mk(3));
    {
        let w = h.writer.writes.lock().unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!((w[0].1.as_str(), w[0].2.as_str()), ("out", "autogen"));
        assert_eq!(w[0].3.len(), 2);
        assert_eq!(w[0].3[0].name, Sym::new("renamed"));
        assert_eq!(w[0].3[0].tags, tags(&[("host", "a"), ("k", "v")]));
    }
    assert!(h.done().is_empty());
    assert_eq!(h.writer.writes.lock().unwrap().len(), 2);
    assert_eq!(h.counter("points_written"), 3);
    h.writer.fail.store(true, Ordering::SeqCst);
    h.send(0, mk(4));
    h.send(0, mk(5));
    assert_eq!(h.counter("write_errors"), 1);
}

#[test]
fn influxdb_out_batches_take_batch_name_and_tags() {
    let mut h = batch_node("|influxDBOut()\n        .database('out')\n        .buffer(10)");
    h.send(
        0,
        Msg::Batch(batch(
            "m",
            &[("host", "a")],
            10 * S,
            vec![bp(&[("x", "1")], &[("v", f(1.0))], S)],
        )),
    );
    h.done();
    let w = h.writer.writes.lock().unwrap();
    assert_eq!(w[0].3[0].name, Sym::new("m"));
    assert_eq!(w[0].3[0].tags, tags(&[("host", "a"), ("x", "1")]));
    assert_eq!(w[0].3[0].time, S);
}

#[test]
fn loopback_writes_each_point() {
    let mut h = stream_node(
        "|kapacitorLoopback()\n        .database('db2')\n        .retentionPolicy('rp2')\n        .measurement('mm')\n        .tag('k', 'v')",
    );
    assert!(
        h.send(0, Msg::Point(pt("m", &[], &[("v", f(1.0))], 1, &[])))
            .is_empty()
    );
    let w = h.writer.writes.lock().unwrap();
    assert_eq!(w[0].0, None);
    assert_eq!((w[0].1.as_str(), w[0].2.as_str()), ("db2", "rp2"));
    assert_eq!(w[0].3[0].name, Sym::new("mm"));
    assert_eq!(w[0].3[0].tags, tags(&[("k", "v")]));
    drop(w);
    assert_eq!(h.counter("points_written"), 1);
}

// ---------------------------------------------------------------------------------------
// Whole scripts through the executor

#[test]
fn script_from_eval_where_into_influxdb_out() {
    use kap_dataflow::exec::TaskExec;
    use kap_dataflow::node::Services;
    use std::sync::Arc;
    let script = "stream\n    |from()\n        .measurement('cpu')\n        .groupBy('host')\n    |eval(lambda: \"v\" * 2.0)\n        .as('d')\n    |where(lambda: \"d\" > 2.0)\n    |influxDBOut()\n        .database('out')\n";
    let writer = Arc::new(Recorder::default());
    let services = Services {
        points: Arc::<Recorder>::clone(&writer),
        ..Services::default()
    };
    let mut exec = TaskExec::new("t", &plan(script), services).unwrap();
    for (v, t) in [(1.0, 1), (2.0, 2), (3.0, 3)] {
        exec.push_point(pt("cpu", &[("host", "a")], &[("v", f(v))], t, &[]));
    }
    exec.push_point(pt("mem", &[("host", "a")], &[("v", f(9.0))], 4, &[]));
    exec.finish();
    let w = writer.writes.lock().unwrap();
    let got: Vec<(i64, FieldValue)> = w
        .iter()
        .flat_map(|x| x.3.iter())
        .map(|p| (p.time, p.fields[0].1.clone()))
        .collect();
    assert_eq!(got, vec![(2, f(4.0)), (3, f(6.0))]);
}

// ---------------------------------------------------------------------------------------
// stats, more batch cases

#[test]
fn stats_emits_the_fed_group_stats_on_ticks() {
    use kap_dataflow::ops::stats::{GroupStats, STATS_FEEDS, StatsFeeds};
    use std::sync::Arc;
    let p = plan(
        "var f = stream\n    |from()\n        .measurement('m')\nf\n    |stats(10s)\n        .align()\nf\n    |log()\n",
    );
    let id = p
        .nodes
        .iter()
        .position(|n| n.spec.kind() == "stats")
        .unwrap();
    let feeds = Arc::new(StatsFeeds::default());
    let mut h = Harness::with_services(&p.nodes[id].spec, 1, false, |s| {
        s.with(STATS_FEEDS, Arc::clone(&feeds))
    })
    .unwrap();
    let feed = feeds.feed("t", 1);
    feed.add(
        "host=a",
        &tags(&[("host", "a")]),
        &dims(&["host"]),
        "emitted",
        3,
    );
    feed.set_group("", GroupStats::default());
    // Not due yet (the harness clock started at 0: first tick at 10s).
    h.clock.0.store(9 * S, Ordering::SeqCst);
    assert!(h.send(0, Msg::Point(pt("x", &[], &[], 0, &[]))).is_empty());
    h.clock.0.store(10 * S + 3, Ordering::SeqCst);
    let out = h.send(0, Msg::Point(pt("x", &[], &[], 0, &[])));
    let ps = points(&out);
    assert_eq!(ps.len(), 2, "one point per group, in group id order");
    assert_eq!(ps[0].name, Sym::new("stats"));
    assert_eq!(ps[0].time, 10 * S, ".align() rounds to the interval");
    assert!(ps[0].fields.is_empty());
    assert_eq!(ps[1].group_string(), "host=a");
    assert_eq!(ps[1].fields, fields(&[("emitted", i(3))]));
    // Next tick at 20s.
    h.clock.0.store(19 * S, Ordering::SeqCst);
    assert!(h.send(0, Msg::Point(pt("x", &[], &[], 0, &[]))).is_empty());
}

#[test]
fn combine_batch_outputs_points_per_time() {
    let mut h = batch_node(
        "|combine(lambda: \"host\" == 'a', lambda: \"host\" == 'b')\n        .as('x', 'y')\n        .delimiter('_')",
    );
    let out = h.send(
        0,
        Msg::Batch(batch(
            "m",
            &[],
            10 * S,
            vec![
                bp(&[("host", "b")], &[("v", f(2.0))], S),
                bp(&[("host", "a")], &[("v", f(1.0))], S),
                bp(&[("host", "a")], &[("v", f(3.0))], 2 * S),
                bp(&[("host", "b")], &[("v", f(4.0))], 2 * S),
            ],
        )),
    );
    let ps = points(&out);
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0].fields, fields(&[("x_v", f(1.0)), ("y_v", f(2.0))]));
    assert_eq!((ps[0].time, ps[1].time), (S, 2 * S));
    assert_eq!(ps[1].fields, fields(&[("x_v", f(3.0)), ("y_v", f(4.0))]));
}

#[test]
fn group_by_batch_barrier_with_new_time_emits_before_forwarding() {
    let mut h = batch_node("|groupBy(*)");
    h.send(
        0,
        Msg::Batch(batch(
            "m",
            &[],
            10 * S,
            vec![bp(&[("host", "a")], &[("v", f(1.0))], S)],
        )),
    );
    let out = h.send(
        0,
        Msg::Barrier(kap_dataflow::point::Barrier {
            group: nil_group(),
            time: 20 * S,
        }),
    );
    assert_eq!(out.len(), 2);
    assert!(matches!(&out[0], Msg::Batch(b) if b.group_string() == "host=a"));
    assert!(matches!(out[1], Msg::Barrier(_)));
}

#[test]
fn script_from_group_by_into_http_out() {
    use kap_dataflow::exec::TaskExec;
    use kap_dataflow::node::Services;
    use kap_dataflow::ops::http_out::HttpOutRegistry;
    use std::sync::Arc;
    let reg = Arc::new(HttpOutRegistry::default());
    let services = Services::default().with("http_out", Arc::clone(&reg));
    let script = "stream|from().measurement('cpu').groupBy('host')|httpOut('last')";
    let mut exec = TaskExec::new("t", &plan(script), services).unwrap();
    exec.push_point(pt("cpu", &[("host", "h1")], &[("value", f(1.0))], S, &[]));
    let json = reg.json("t", "last").unwrap().unwrap();
    assert!(json.contains("\"host\":\"h1\""), "{json}");
}

#[test]
fn node_counters_show_at_zero_like_kapacitor() {
    let mut h = stream_node("|default()\n        .field('v', 1.0)");
    h.send(0, Msg::Point(pt("m", &[], &[("v", f(2.0))], 0, &[])));
    assert_eq!(h.stats.counters.get("fields_defaulted"), Some(&0));
    assert_eq!(h.stats.counters.get("tags_defaulted"), Some(&0));
    let mut h =
        stream_node("|kapacitorLoopback()\n        .database('d')\n        .retentionPolicy('r')");
    h.writer.fail.store(true, Ordering::SeqCst);
    h.send(0, Msg::Point(pt("m", &[], &[("v", f(2.0))], 0, &[])));
    let names: Vec<&str> = h.stats.counters.keys().copied().collect();
    assert_eq!(names, vec!["points_written"]);
    assert_eq!(h.stats.errors, 1);
}

#[test]
fn influxdb_out_flushes_after_the_flush_interval() {
    let mut h =
        stream_node("|influxDBOut()\n        .database('out')\n        .flushInterval(10s)");
    let mk = |t| Msg::Point(pt("m", &[], &[("v", f(1.0))], t, &[]));
    h.send(0, mk(1));
    h.clock.0.store(5 * S, Ordering::SeqCst);
    h.send(0, mk(2));
    assert!(h.writer.writes.lock().unwrap().is_empty());
    h.clock.0.store(10 * S, Ordering::SeqCst);
    h.send(0, mk(3));
    let w = h.writer.writes.lock().unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0].3.len(),
        2,
        "the point that triggered the check is buffered after the flush"
    );
}

#[test]
fn lambdas_read_the_injected_clock() {
    let mut h = stream_node("|eval(lambda: unixNano(now()))\n        .as('now')");
    h.clock.0.store(42 * S, Ordering::SeqCst);
    let out = h.send(0, Msg::Point(pt("m", &[], &[], 0, &[])));
    assert_eq!(points(&out)[0].fields, fields(&[("now", i(42 * S))]));
}

#[test]
fn script_batch_trickle_into_window_keeps_batch_order() {
    use kap_dataflow::exec::TaskExec;
    use kap_dataflow::node::Services;
    use kap_dataflow::ops::http_out::HttpOutRegistry;
    use std::sync::Arc;
    let reg = Arc::new(HttpOutRegistry::default());
    let services = Services::default().with("http_out", Arc::clone(&reg));
    let script = "batch\n    |query('SELECT value FROM \"telegraf\".\"default\".\"cpu\"')\n        .period(4s)\n        .every(4s)\n        .groupBy('host')\n    |trickle()\n    |window()\n        .period(10s)\n    |httpOut('x')\n";
    let mut exec = TaskExec::new("t", &plan(script), services).unwrap();
    exec.push_batch(
        0,
        batch(
            "cpu_usage_idle",
            &[("cpu", "cpu-total")],
            13 * S,
            vec![
                bp(&[("cpu", "cpu-total")], &[("mean", f(90.0))], 12 * S),
                bp(&[("cpu", "cpu-total")], &[("mean", f(80.0))], 13 * S),
            ],
        ),
    );
    exec.push_batch(
        0,
        batch(
            "cpu_usage_idle",
            &[("cpu", "cpu0")],
            12 * S,
            vec![bp(&[("cpu", "cpu0")], &[("mean", f(83.0))], 12 * S)],
        ),
    );
    exec.finish();
    let json = reg.json("t", "x").unwrap().unwrap();
    let total = json.find("cpu-total").unwrap();
    let cpu0 = json.find("\"cpu0\"").unwrap();
    assert!(total < cpu0, "{json}");
}
