//! Kapacitor's `models.Result` / `models.Row` and their Go `json.Marshal` encoding: what
//! httpOut serves, what httpPost posts and what alert events carry as `data`
//! (`kapacitor-semantics.md` §0.4–§0.6).
//!
//! ```
//! use kap_dataflow::point::{Dimensions, FieldValue, Point, Sym, list};
//! use kap_dataflow::result::{ResultSet, point_row};
//!
//! let mut p = Point {
//!     name: Sym::new("cpu"),
//!     db: Sym::new("db"),
//!     rp: Sym::new("rp"),
//!     tags: list![(Sym::new("host"), Sym::new("a"))],
//!     fields: list![(Sym::new("value"), FieldValue::Float(1.5))],
//!     time: 10_000_000_000,
//!     dims: Dimensions::default(),
//!     group: Default::default(),
//! };
//! p.regroup();
//! let json = ResultSet::single(point_row(&p)).to_json().unwrap();
//! assert_eq!(
//!     json,
//!     r#"{"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","value"],"values":[["1970-01-01T00:00:10Z",1.5]]}]}"#
//! );
//! ```

use crate::gofmt;
use crate::point::{Batch, FieldValue, Point, Sym, Tags, get};
use crate::template::Data;
use std::fmt::Write as _;

/// One value of a row: a time (the `time` column), a field value, or a tag value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Cell {
    /// A time, ns since the Unix epoch (JSON: RFC3339Nano string).
    Time(i64),
    /// A field value ([`FieldValue::Null`] is JSON `null`).
    Field(FieldValue),
    /// A tag value (JSON string).
    Tag(Sym),
}

/// Kapacitor's `models.Row`.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Row {
    /// Measurement (omitted from JSON when empty).
    pub name: String,
    /// Tags, sorted by key (omitted when empty).
    pub tags: Tags,
    /// Column names (omitted when empty).
    pub columns: Vec<String>,
    /// One list of cells per point (omitted when empty).
    pub values: Vec<Vec<Cell>>,
}

/// Kapacitor's `models.Result`: a list of row slots (a slot may be `null`).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ResultSet {
    /// The rows; `None` encodes as `"series":null`.
    pub series: Option<Vec<Option<Row>>>,
}

/// The row of a stream point (`ToRow`): all point tags; columns `time` then the sorted
/// field names; one value row.
impl Row {
    /// The row as Kapacitor's templates see a `models.Row`: `Name`, `Tags` (a string map),
    /// `Columns`, `Values` (times as `time.Time`).
    pub fn template_data(&self) -> Data {
        let tags = self
            .tags
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
            .collect();
        let cell = |c: &Cell| match c {
            Cell::Time(t) => Data::Time(*t),
            Cell::Field(v) => Data::from(v),
            Cell::Tag(s) => Data::str(s.as_str()),
        };
        Data::structure([
            ("Name", Data::str(self.name.as_str())),
            ("Tags", Data::StringMap(tags)),
            (
                "Columns",
                Data::List(self.columns.iter().map(|c| Data::str(c.as_str())).collect()),
            ),
            (
                "Values",
                Data::List(
                    self.values
                        .iter()
                        .map(|r| Data::List(r.iter().map(cell).collect()))
                        .collect(),
                ),
            ),
        ])
    }
}

impl ResultSet {
    /// The result as Kapacitor's templates see a `models.Result`: `Series` (its rows).
    pub fn template_data(&self) -> Data {
        let rows = self
            .series
            .iter()
            .flatten()
            .map(|r| r.as_ref().map_or(Data::Nil, Row::template_data))
            .collect();
        Data::structure([("Series", Data::List(rows))])
    }
}

pub fn point_row(p: &Point) -> Row {
    let mut columns = Vec::with_capacity(p.fields.len() + 1);
    columns.push("time".to_string());
    let mut values = Vec::with_capacity(p.fields.len() + 1);
    values.push(Cell::Time(p.time));
    // Fields are kept sorted by key.
    for (k, v) in &p.fields {
        columns.push(k.as_str().to_string());
        values.push(Cell::Field(v.clone()));
    }
    Row {
        name: p.name.as_str().to_string(),
        tags: p.tags.clone(),
        columns,
        values: vec![values],
    }
}

/// The row of a batch: batch (group) tags; columns `time` + the first point's fields and
/// its tags that are not group tags (all but `time` sorted); per point and column the field
/// value, else the tag value, else `null`. An empty batch gives only name and tags.
pub fn batch_row(b: &Batch) -> Row {
    let mut row = Row {
        name: b.name.as_str().to_string(),
        tags: b.tags.clone(),
        columns: Vec::new(),
        values: Vec::new(),
    };
    let Some(first) = b.points.first() else {
        return row;
    };
    let mut cols: Vec<Sym> = first.fields.iter().map(|(k, _)| *k).collect();
    for (k, _) in &first.tags {
        if get(&b.tags, *k).is_none() {
            cols.push(*k);
        }
    }
    cols.sort();
    row.columns.reserve(cols.len() + 1);
    row.columns.push("time".to_string());
    row.columns
        .extend(cols.iter().map(|c| c.as_str().to_string()));
    row.values = b
        .points
        .iter()
        .map(|p| {
            let mut vals = Vec::with_capacity(cols.len() + 1);
            vals.push(Cell::Time(p.time));
            for c in &cols {
                vals.push(if let Some(v) = get(&p.fields, *c) {
                    Cell::Field(v.clone())
                } else if let Some(t) = get(&p.tags, *c) {
                    Cell::Tag(*t)
                } else {
                    Cell::Field(FieldValue::Null)
                });
            }
            vals
        })
        .collect();
    row
}

fn unsupported(f: f64) -> String {
    format!("json: unsupported value: {}", gofmt::format_float_g(f))
}

impl Cell {
    /// Appends the Go JSON encoding of the cell.
    pub fn write_json(&self, out: &mut String) -> Result<(), String> {
        match self {
            Cell::Time(t) => gofmt::write_json_string(out, &gofmt::format_time_rfc3339nano(*t)),
            Cell::Tag(s) => gofmt::write_json_string(out, s.as_str()),
            Cell::Field(v) => write_field_json(out, v)?,
        }
        Ok(())
    }
}

/// Appends the Go JSON encoding of a field value (NaN and infinities are errors).
pub fn write_field_json(out: &mut String, v: &FieldValue) -> Result<(), String> {
    match v {
        FieldValue::Float(f) => match gofmt::format_float_json(*f) {
            Some(s) => out.push_str(&s),
            None => return Err(unsupported(*f)),
        },
        FieldValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        FieldValue::String(s) => gofmt::write_json_string(out, s),
        FieldValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        FieldValue::Null => out.push_str("null"),
    }
    Ok(())
}

impl Row {
    /// Appends Go's `json.Marshal` of the row (`name`, `tags`, `columns`, `values`, each
    /// omitted when empty).
    pub fn write_json(&self, out: &mut String) -> Result<(), String> {
        out.push('{');
        let mut first = true;
        let mut key = |out: &mut String, k: &str| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push('"');
            out.push_str(k);
            out.push_str("\":");
        };
        if !self.name.is_empty() {
            key(out, "name");
            gofmt::write_json_string(out, &self.name);
        }
        if !self.tags.is_empty() {
            key(out, "tags");
            out.push('{');
            for (i, (k, v)) in self.tags.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                gofmt::write_json_string(out, k.as_str());
                out.push(':');
                gofmt::write_json_string(out, v.as_str());
            }
            out.push('}');
        }
        if !self.columns.is_empty() {
            key(out, "columns");
            out.push('[');
            for (i, c) in self.columns.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                gofmt::write_json_string(out, c);
            }
            out.push(']');
        }
        if !self.values.is_empty() {
            key(out, "values");
            out.push('[');
            for (i, vals) in self.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('[');
                for (j, v) in vals.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    v.write_json(out)?;
                }
                out.push(']');
            }
            out.push(']');
        }
        out.push('}');
        Ok(())
    }

    /// Go's `json.Marshal` of the row.
    pub fn to_json(&self) -> Result<String, String> {
        let mut out = String::new();
        self.write_json(&mut out)?;
        Ok(out)
    }
}

impl ResultSet {
    /// A result with one row.
    pub fn single(row: Row) -> ResultSet {
        ResultSet {
            series: Some(vec![Some(row)]),
        }
    }

    /// Appends Go's `json.Marshal` of the result: `{"series":[...]}` (`null` when there
    /// is no series list; a `null` slot stays `null`).
    pub fn write_json(&self, out: &mut String) -> Result<(), String> {
        out.push_str("{\"series\":");
        match &self.series {
            None => out.push_str("null"),
            Some(rows) => {
                out.push('[');
                for (i, r) in rows.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    match r {
                        Some(r) => r.write_json(out)?,
                        None => out.push_str("null"),
                    }
                }
                out.push(']');
            }
        }
        out.push('}');
        Ok(())
    }

    /// Go's `json.Marshal` of the result; `Err` (Go's error text) when a value cannot be
    /// encoded (NaN, ±Inf).
    pub fn to_json(&self) -> Result<String, String> {
        let mut out = String::new();
        self.write_json(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::{BatchPoint, Dimensions, GroupId};

    fn s(x: &str) -> Sym {
        Sym::new(x)
    }

    fn batch(points: Vec<BatchPoint>) -> Batch {
        let mut b = Batch {
            name: s("cpu"),
            tmax: 0,
            tags: crate::point::list![(s("host"), s("a"))],
            dims: Dimensions::new(false, vec![s("host")]),
            group: GroupId::default(),
            points,
        };
        b.regroup();
        b
    }

    #[test]
    fn empty_results() {
        assert_eq!(
            ResultSet::default().to_json().unwrap(),
            r#"{"series":null}"#
        );
        let r = ResultSet {
            series: Some(vec![]),
        };
        assert_eq!(r.to_json().unwrap(), r#"{"series":[]}"#);
        let r = ResultSet {
            series: Some(vec![None, Some(Row::default())]),
        };
        assert_eq!(r.to_json().unwrap(), r#"{"series":[null,{}]}"#);
    }

    #[test]
    fn batch_rows() {
        let b = batch(vec![
            BatchPoint {
                time: 1_500_000_000,
                fields: crate::point::list![
                    (s("value"), FieldValue::Float(5.0)),
                    (s("b"), FieldValue::Int(-3)),
                ],
                tags: crate::point::list![(s("cpu"), s("c0")), (s("host"), s("a"))],
            },
            BatchPoint {
                time: 2_000_000_000,
                fields: crate::point::list![(s("value"), FieldValue::Float(1e21))],
                tags: crate::point::list![(s("host"), s("a"))],
            },
        ]);
        // Fields are sorted lists: normalise the test input.
        let mut b = b;
        for p in &mut b.points {
            crate::point::normalize(&mut p.fields);
        }
        let json = ResultSet::single(batch_row(&b)).to_json().unwrap();
        assert_eq!(
            json,
            r#"{"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","b","cpu","value"],"values":[["1970-01-01T00:00:01.5Z",-3,"c0",5],["1970-01-01T00:00:02Z",null,null,1e+21]]}]}"#
        );
        let empty = batch(vec![]);
        assert_eq!(
            ResultSet::single(batch_row(&empty)).to_json().unwrap(),
            r#"{"series":[{"name":"cpu","tags":{"host":"a"}}]}"#
        );
    }

    #[test]
    fn strings_escaped_and_nan_rejected() {
        let row = Row {
            name: "a<b>&".into(),
            tags: crate::point::list![],
            columns: vec!["time".into(), "s".into()],
            values: vec![vec![
                Cell::Time(0),
                Cell::Field(FieldValue::String("x\"\n".into())),
            ]],
        };
        assert_eq!(
            row.to_json().unwrap(),
            r#"{"name":"a\u003cb\u003e\u0026","columns":["time","s"],"values":[["1970-01-01T00:00:00Z","x\"\n"]]}"#
        );
        let row = Row {
            values: vec![vec![Cell::Field(FieldValue::Float(f64::NAN))]],
            ..Row::default()
        };
        assert_eq!(
            ResultSet::single(row).to_json().unwrap_err(),
            "json: unsupported value: NaN"
        );
    }
}
