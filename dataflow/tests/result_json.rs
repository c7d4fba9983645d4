//! `models.Result` JSON, byte for byte as Go's `json.Marshal` writes it
//! (`kapacitor-semantics.md` §0.4–§0.6).

use kap_dataflow::point::{
    Batch, BatchPoint, Dimensions, FieldValue, GroupId, Point, Sym, normalize,
};
use kap_dataflow::result::{Cell, ResultSet, Row, batch_row, point_row};

fn s(x: &str) -> Sym {
    Sym::new(x)
}

fn point(fields: kap_dataflow::point::Fields, tags: kap_dataflow::point::Tags, time: i64) -> Point {
    let mut fields = fields;
    normalize(&mut fields);
    let mut tags = tags;
    normalize(&mut tags);
    let mut p = Point {
        name: s("m"),
        db: s("db"),
        rp: s("rp"),
        tags,
        fields,
        time,
        dims: Dimensions::default(),
        group: GroupId::default(),
    };
    p.regroup();
    p
}

#[test]
fn point_rows_number_forms() {
    let p = point(
        vec![
            (s("f_int"), FieldValue::Int(-42)),
            (s("f_whole"), FieldValue::Float(5.0)),
            (s("f_small"), FieldValue::Float(1e-7)),
            (s("f_big"), FieldValue::Float(1e21)),
            (s("f_frac"), FieldValue::Float(0.1)),
            (s("f_bool"), FieldValue::Bool(true)),
            (s("f_str"), FieldValue::String("<a & b>".into())),
            (s("f_null"), FieldValue::Null),
        ]
        .into(),
        vec![(s("z"), s("1")), (s("a"), s("2"))].into(),
        1_451_606_400_123_400_000,
    );
    assert_eq!(
        ResultSet::single(point_row(&p)).to_json().unwrap(),
        concat!(
            r#"{"series":[{"name":"m","tags":{"a":"2","z":"1"},"#,
            r#""columns":["time","f_big","f_bool","f_frac","f_int","f_null","f_small","f_str","f_whole"],"#,
            r#""values":[["2016-01-01T00:00:00.1234Z",1e+21,true,0.1,-42,null,1e-7,"\u003ca \u0026 b\u003e",5]]}]}"#
        )
    );
}

#[test]
fn point_without_tags_or_fields() {
    let p = point(vec![].into(), vec![].into(), 0);
    assert_eq!(
        point_row(&p).to_json().unwrap(),
        r#"{"name":"m","columns":["time"],"values":[["1970-01-01T00:00:00Z"]]}"#
    );
}

#[test]
fn batch_columns_from_first_point() {
    let mut b = Batch {
        name: s("m"),
        tmax: 10,
        tags: vec![(s("host"), s("h"))].into(),
        dims: Dimensions::new(false, vec![s("host")]),
        group: GroupId::default(),
        points: vec![
            BatchPoint {
                time: 1_000_000_000,
                fields: vec![(s("value"), FieldValue::Int(1))].into(),
                tags: vec![(s("cpu"), s("c0")), (s("host"), s("h"))].into(),
            },
            // `extra` only appears later: dropped. `cpu` missing: null.
            BatchPoint {
                time: 2_000_000_000,
                fields: vec![
                    (s("extra"), FieldValue::Int(9)),
                    (s("value"), FieldValue::Float(2.5)),
                ]
                .into(),
                tags: vec![(s("host"), s("h"))].into(),
            },
        ],
    };
    b.regroup();
    assert_eq!(
        ResultSet::single(batch_row(&b)).to_json().unwrap(),
        r#"{"series":[{"name":"m","tags":{"host":"h"},"columns":["time","cpu","value"],"values":[["1970-01-01T00:00:01Z","c0",1],["1970-01-01T00:00:02Z",null,2.5]]}]}"#
    );
}

#[test]
fn infinities_are_errors() {
    let row = Row {
        name: "m".into(),
        columns: vec!["time".into(), "v".into()],
        values: vec![vec![
            Cell::Time(0),
            Cell::Field(FieldValue::Float(f64::INFINITY)),
        ]],
        ..Row::default()
    };
    assert_eq!(
        ResultSet::single(row).to_json().unwrap_err(),
        "json: unsupported value: +Inf"
    );
}

#[test]
fn series_null_and_null_slots() {
    assert_eq!(
        ResultSet::default().to_json().unwrap(),
        r#"{"series":null}"#
    );
    let r = ResultSet {
        series: Some(vec![None, None]),
    };
    assert_eq!(r.to_json().unwrap(), r#"{"series":[null,null]}"#);
}

#[test]
fn matches_corpus_values() {
    // TestBatch_Delete_GroupBy's expected httpOut body, rebuilt from a point.
    let p = {
        let mut p = point(
            vec![(s("sum"), FieldValue::Float(50.0))].into(),
            vec![].into(),
            0,
        );
        p.name = s("cpu_usage_idle");
        p.time = 31_536_018 * 1_000_000_000;
        p
    };
    let got: serde_json::Value =
        serde_json::from_str(&ResultSet::single(point_row(&p)).to_json().unwrap()).unwrap();
    let path = format!(
        "{}/../dsl/tests/corpus/kapacitor/cases/TestBatch_Delete_GroupBy.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(got, case["expected"]);
}
