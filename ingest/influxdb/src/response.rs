//! The JSON answer of `/query`, and the merging of chunked answers.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The answer to a query: one result per statement, in order.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub struct Response {
    /// One entry per statement.
    #[serde(default)]
    pub results: Vec<StatementResult>,
}

/// The result of one statement.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub struct StatementResult {
    /// The statement's 0-based position in the query.
    #[serde(default)]
    pub statement_id: usize,
    /// The series it returned (none for most non-`SELECT`/`SHOW` statements).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<Series>,
    /// The statement's error. [`Client::query`](crate::Client::query) turns one into
    /// [`Error::Query`](crate::Error::Query), so its answers always have `None` here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One series of a result: a name, the group's tags and a table.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub struct Series {
    /// The measurement (or `databases`, … for `SHOW` statements).
    #[serde(default)]
    pub name: String,
    /// The `GROUP BY` tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Column names; `time` first for `SELECT`s.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Rows, one value per column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Vec<Cell>>,
    /// More rows of this series follow in the next chunk (chunked answers only; always
    /// `false` after [`Client::query`](crate::Client::query) merged the chunks).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

impl Series {
    /// The position of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// One value of a result row, decoded straight from the JSON answer (a batch query answers
/// hundreds of thousands of them: numbers stay unboxed, integers exact).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    /// `null`.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits `i64` (times with `epoch`, counts).
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string (times without `epoch`, string fields, names).
    String(Box<str>),
    /// An array or object (`SHOW SUBSCRIPTIONS` destinations).
    Json(Box<serde_json::Value>),
}

impl Cell {
    /// The value as an integer (an integral float too).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            Cell::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i64),
            _ => None,
        }
    }

    /// The value as a float (any number).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value as a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Cell::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a JSON array.
    pub fn as_array(&self) -> Option<&Vec<serde_json::Value>> {
        match self {
            Cell::Json(v) => v.as_array(),
            _ => None,
        }
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }

    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Cell::Null => serde_json::Value::Null,
            Cell::Bool(b) => (*b).into(),
            Cell::Int(i) => (*i).into(),
            Cell::Float(f) => (*f).into(),
            Cell::String(s) => s.as_ref().into(),
            Cell::Json(v) => (**v).clone(),
        }
    }
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Null => s.serialize_unit(),
            Cell::Bool(b) => s.serialize_bool(*b),
            Cell::Int(i) => s.serialize_i64(*i),
            Cell::Float(f) => s.serialize_f64(*f),
            Cell::String(v) => s.serialize_str(v),
            Cell::Json(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cell, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Cell;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_none<E>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Cell, E> {
                Ok(Cell::Bool(b))
            }
            fn visit_i64<E>(self, i: i64) -> Result<Cell, E> {
                Ok(Cell::Int(i))
            }
            fn visit_u64<E>(self, u: u64) -> Result<Cell, E> {
                Ok(i64::try_from(u).map_or(Cell::Float(u as f64), Cell::Int))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Cell, E> {
                Ok(Cell::Float(f))
            }
            fn visit_str<E>(self, s: &str) -> Result<Cell, E> {
                Ok(Cell::String(s.into()))
            }
            fn visit_string<E>(self, s: String) -> Result<Cell, E> {
                Ok(Cell::String(s.into_boxed_str()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Cell, A::Error> {
                let v = serde_json::Value::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                Ok(Cell::Json(Box::new(v)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Cell, A::Error> {
                let v = serde_json::Value::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(Cell::Json(Box::new(v)))
            }
        }
        d.deserialize_any(V)
    }
}

/// One JSON object of an answer: the whole answer, or one chunk of a chunked one.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Chunk {
    #[serde(default)]
    pub(crate) results: Vec<StatementResult>,
    /// Set when the query failed as a whole (e.g. mid-stream in chunked mode).
    #[serde(default)]
    pub(crate) error: Option<String>,
}

impl Response {
    /// Appends one chunk: results continuing the last statement are merged into it, and the
    /// rows of a series continuing the last (partial) series of that statement are appended.
    pub(crate) fn merge_chunk(&mut self, results: Vec<StatementResult>) {
        for result in results {
            match self.results.last_mut() {
                Some(last) if last.statement_id == result.statement_id => {
                    if last.error.is_none() {
                        last.error = result.error;
                    }
                    for series in result.series {
                        match last.series.last_mut() {
                            Some(prev)
                                if prev.partial
                                    && prev.name == series.name
                                    && prev.tags == series.tags =>
                            {
                                prev.values.extend(series.values);
                                prev.partial = series.partial;
                                if prev.columns.is_empty() {
                                    prev.columns = series.columns;
                                }
                            }
                            _ => last.series.push(series),
                        }
                    }
                }
                _ => self.results.push(result),
            }
        }
    }

    /// Clears `partial` flags left over (a stream cut short is caught by the caller).
    pub(crate) fn finish(&mut self) {
        for r in &mut self.results {
            for s in &mut r.series {
                s.partial = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chunk(v: serde_json::Value) -> Vec<StatementResult> {
        serde_json::from_value::<Chunk>(v).unwrap().results
    }

    #[test]
    fn consecutive_partial_chunks_of_a_series_are_concatenated() {
        let mut r = Response::default();
        r.merge_chunk(chunk(json!({"results":[{"statement_id":0,"series":[
            {"name":"cpu","tags":{"host":"a"},"columns":["time","v"],"values":[[1,1],[2,2]],"partial":true}
        ],"partial":true}]})));
        r.merge_chunk(chunk(json!({"results":[{"statement_id":0,"series":[
            {"name":"cpu","tags":{"host":"a"},"columns":["time","v"],"values":[[3,3]]},
            {"name":"cpu","tags":{"host":"b"},"columns":["time","v"],"values":[[1,9]],"partial":true}
        ],"partial":true}]})));
        r.merge_chunk(chunk(json!({"results":[{"statement_id":0,"series":[
            {"name":"cpu","tags":{"host":"b"},"columns":["time","v"],"values":[[2,8]]}
        ]},{"statement_id":1,"series":[{"name":"mem","columns":["time","f"],"values":[[5,5]]}]}]})));
        r.finish();
        let want: Response = serde_json::from_value(json!({"results":[
            {"statement_id":0,"series":[
                {"name":"cpu","tags":{"host":"a"},"columns":["time","v"],"values":[[1,1],[2,2],[3,3]]},
                {"name":"cpu","tags":{"host":"b"},"columns":["time","v"],"values":[[1,9],[2,8]]}]},
            {"statement_id":1,"series":[{"name":"mem","columns":["time","f"],"values":[[5,5]]}]}
        ]}))
        .unwrap();
        assert_eq!(r, want);
    }

    #[test]
    fn a_finished_series_is_not_extended_by_a_new_one_with_the_same_key() {
        // Two statements' worth of rows that happen to share name and tags but are not
        // marked partial stay separate (as InfluxDB sent them).
        let mut r = Response::default();
        r.merge_chunk(chunk(json!({"results":[{"statement_id":0,"series":[
            {"name":"cpu","columns":["time"],"values":[[1]]}]}]})));
        r.merge_chunk(chunk(json!({"results":[{"statement_id":0,"series":[
            {"name":"cpu","columns":["time"],"values":[[2]]}]}]})));
        assert_eq!(r.results.len(), 1);
        assert_eq!(r.results[0].series.len(), 2);
    }

    #[test]
    fn an_error_in_a_later_chunk_is_kept() {
        let mut r = Response::default();
        r.merge_chunk(chunk(json!({"results":[{"statement_id":0,"series":[
            {"name":"cpu","columns":["time"],"values":[[1]],"partial":true}]}]})));
        r.merge_chunk(chunk(
            json!({"results":[{"statement_id":0,"error":"boom"}]}),
        ));
        assert_eq!(r.results[0].error.as_deref(), Some("boom"));
    }

    #[test]
    fn serializes_like_influxdb() {
        let r: Response = serde_json::from_str(
            r#"{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":[["db"]]}]},{"statement_id":1}]}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":[["db"]]}]},{"statement_id":1}]}"#
        );
        assert_eq!(r.results[0].series[0].column("name"), Some(0));
    }
}
