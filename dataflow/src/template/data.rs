//! The value a template executes against, printed and JSON-encoded the way Go does.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::gofmt;

/// A value as Go templates see it (what Kapacitor passes as `.`).
///
/// The variants stand for the Go types Kapacitor's template data uses; their printing (`%v`)
/// and JSON encoding follow Go's rules for those types.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Data {
    /// A nil `interface{}`. Printed by a pipeline as `<no value>` (text mode) or nothing (HTML
    /// mode); inside a composite or by `print` as `<nil>`; JSON `null`.
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// `int64`.
    Int(i64),
    /// `float64` (printed with `%v` = `strconv.FormatFloat(f, 'g', -1, 64)`).
    Float(f64),
    /// `string`.
    String(String),
    /// `time.Time` in UTC, nanoseconds since the Unix epoch ([`gofmt::GO_ZERO_TIME_NS`] = Go's
    /// zero time). Printed as `2006-01-02 15:04:05.999999999 +0000 UTC`; JSON RFC3339Nano.
    Time(i64),
    /// `time.Duration` in nanoseconds. Printed as Go's duration string (`1m30s`); JSON an
    /// integer; compares as an integer.
    Duration(i64),
    /// `map[string]interface{}`: a missing key yields nil (printed `<no value>`). Printed
    /// and encoded in sorted key order, like Go.
    Map(BTreeMap<String, Data>),
    /// `map[string]string` (e.g. Kapacitor's `.Tags`): a missing key yields `""`.
    StringMap(BTreeMap<String, String>),
    /// A Go struct: fields in declaration order (JSON keeps that order); a missing field is an
    /// execution error. Field names are mostly literals, borrowed rather than allocated.
    Struct(Vec<(Cow<'static, str>, Data)>),
    /// `[]interface{}`.
    List(Vec<Data>),
}

/// A field's value as Kapacitor's template data holds it (`.Fields`).
impl From<&crate::point::FieldValue> for Data {
    fn from(v: &crate::point::FieldValue) -> Data {
        use crate::point::FieldValue;
        match v {
            FieldValue::Float(f) => Data::Float(*f),
            FieldValue::Int(i) => Data::Int(*i),
            FieldValue::String(s) => Data::String(s.to_string()),
            FieldValue::Bool(b) => Data::Bool(*b),
            FieldValue::Null => Data::Nil,
        }
    }
}

impl Data {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Self {
        Data::String(s.into())
    }

    /// A struct value from `(field, value)` pairs.
    pub fn structure<K: Into<Cow<'static, str>>>(
        fields: impl IntoIterator<Item = (K, Data)>,
    ) -> Self {
        Data::Struct(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A map value from `(key, value)` pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Data)>) -> Self {
        Data::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Go's type name of the value, as used in error texts and `%!verb(type=value)`.
    pub fn go_type(&self) -> &'static str {
        match self {
            Data::Nil => "<nil>",
            Data::Bool(_) => "bool",
            Data::Int(_) => "int64",
            Data::Float(_) => "float64",
            Data::String(_) => "string",
            Data::Time(_) => "time.Time",
            Data::Duration(_) => "time.Duration",
            Data::Map(_) => "map[string]interface {}",
            Data::StringMap(_) => "map[string]string",
            Data::Struct(_) => "struct",
            Data::List(_) => "[]interface {}",
        }
    }

    /// Go template truth (`if`, `with`, `and`, `or`, `not`): false, 0, nil, and empty
    /// strings, maps and lists are false; structs and times are true.
    pub fn is_true(&self) -> bool {
        match self {
            Data::Nil => false,
            Data::Bool(b) => *b,
            Data::Int(i) | Data::Duration(i) => *i != 0,
            Data::Float(f) => *f != 0.0,
            Data::String(s) => !s.is_empty(),
            Data::Time(_) | Data::Struct(_) => true,
            Data::Map(m) => !m.is_empty(),
            Data::StringMap(m) => !m.is_empty(),
            Data::List(l) => !l.is_empty(),
        }
    }

    /// Go's `fmt.Sprint(v)` / `%v` rendering (`map[a:1 b:2]`, `[1 2]`, `{x y}`, `<nil>`).
    pub fn to_go_string(&self) -> String {
        let mut out = String::new();
        self.write_go(&mut out);
        out
    }

    /// Appends Go's `%v` rendering to `out`.
    pub fn write_go(&self, out: &mut String) {
        match self {
            Data::Nil => out.push_str("<nil>"),
            Data::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Data::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Data::Float(f) => out.push_str(&gofmt::format_float_g(*f)),
            Data::String(s) => out.push_str(s),
            Data::Time(t) => out.push_str(&gofmt::format_time_go_default(*t)),
            Data::Duration(d) => out.push_str(&gofmt::format_duration_go(*d)),
            Data::Map(m) => write_seq(out, "map[", ']', m.iter(), |out, (k, v)| {
                out.push_str(k);
                out.push(':');
                v.write_go(out);
            }),
            Data::StringMap(m) => write_seq(out, "map[", ']', m.iter(), |out, (k, v)| {
                out.push_str(k);
                out.push(':');
                out.push_str(v);
            }),
            Data::Struct(fields) => {
                write_seq(out, "{", '}', fields.iter(), |out, (_, v)| v.write_go(out))
            }
            Data::List(items) => write_seq(out, "[", ']', items.iter(), |out, v| v.write_go(out)),
        }
    }

    /// Go `json.Marshal` (compact, HTML-escaped strings, sorted map keys, struct fields in
    /// order, times as RFC3339Nano, durations as integer nanoseconds). Fails like Go on NaN
    /// and infinities: `json: unsupported value: NaN`.
    pub fn to_json(&self) -> Result<String, String> {
        let mut out = String::new();
        self.write_json(&mut out)?;
        Ok(out)
    }

    /// Appends the Go `json.Marshal` encoding to `out` (see [`Data::to_json`]).
    pub fn write_json(&self, out: &mut String) -> Result<(), String> {
        self.write_json_as(out, false)
    }

    /// [`Data::write_json`] as Go's `html/template` prints that JSON in text (what
    /// `{{ json . }}` renders in an HTML template), in one pass: `"` as `&#34;`, `'` as
    /// `&#39;`, `+` as `&#43;` ([`gofmt::write_json_string_html`]). On an error `out` holds
    /// a part of the encoding.
    pub fn write_json_html(&self, out: &mut String) -> Result<(), String> {
        self.write_json_as(out, true)
    }

    fn write_json_as(&self, out: &mut String, html: bool) -> Result<(), String> {
        let string = |out: &mut String, s: &str| {
            if html {
                gofmt::write_json_string_html(out, s);
            } else {
                gofmt::write_json_string(out, s);
            }
        };
        match self {
            Data::Nil => out.push_str("null"),
            Data::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Data::Int(i) | Data::Duration(i) => {
                let _ = write!(out, "{i}");
            }
            Data::Float(f) => match gofmt::format_float_json(*f) {
                // An exponent's sign is the only `+` a number has.
                Some(s) if html && s.contains('+') => out.push_str(&s.replace('+', "&#43;")),
                Some(s) => out.push_str(&s),
                None => {
                    return Err(format!(
                        "json: unsupported value: {}",
                        gofmt::format_float_g(*f)
                    ));
                }
            },
            Data::String(s) => string(out, s),
            Data::Time(t) => string(out, &gofmt::format_time_rfc3339nano(*t)),
            Data::Map(m) => write_json_seq(out, '{', '}', m.iter(), |out, (k, v)| {
                string(out, k);
                out.push(':');
                v.write_json_as(out, html)
            })?,
            Data::StringMap(m) => write_json_seq(out, '{', '}', m.iter(), |out, (k, v)| {
                string(out, k);
                out.push(':');
                string(out, v);
                Ok::<(), String>(())
            })?,
            Data::Struct(fields) => write_json_seq(out, '{', '}', fields.iter(), |out, (k, v)| {
                string(out, k);
                out.push(':');
                v.write_json_as(out, html)
            })?,
            Data::List(items) => write_json_seq(out, '[', ']', items.iter(), |out, v| {
                v.write_json_as(out, html)
            })?,
        }
        Ok(())
    }
}

impl From<bool> for Data {
    fn from(v: bool) -> Self {
        Data::Bool(v)
    }
}

impl From<i64> for Data {
    fn from(v: i64) -> Self {
        Data::Int(v)
    }
}

impl From<f64> for Data {
    fn from(v: f64) -> Self {
        Data::Float(v)
    }
}

impl From<&str> for Data {
    fn from(v: &str) -> Self {
        Data::String(v.to_owned())
    }
}

impl From<String> for Data {
    fn from(v: String) -> Self {
        Data::String(v)
    }
}

impl From<Vec<Data>> for Data {
    fn from(v: Vec<Data>) -> Self {
        Data::List(v)
    }
}

impl From<BTreeMap<String, Data>> for Data {
    fn from(v: BTreeMap<String, Data>) -> Self {
        Data::Map(v)
    }
}

impl From<BTreeMap<String, String>> for Data {
    fn from(v: BTreeMap<String, String>) -> Self {
        Data::StringMap(v)
    }
}

/// Writes `open`, the items separated by single spaces, then `close` (Go's `%v` of maps,
/// structs and slices).
fn write_seq<T>(
    out: &mut String,
    open: &str,
    close: char,
    items: impl Iterator<Item = T>,
    mut item: impl FnMut(&mut String, T),
) {
    out.push_str(open);
    for (i, x) in items.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        item(out, x);
    }
    out.push(close);
}

/// Writes `open`, the items separated by `,`, then `close` (JSON objects and arrays).
fn write_json_seq<T, E>(
    out: &mut String,
    open: char,
    close: char,
    items: impl Iterator<Item = T>,
    mut item: impl FnMut(&mut String, T) -> Result<(), E>,
) -> Result<(), E> {
    out.push(open);
    for (i, x) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, x)?;
    }
    out.push(close);
    Ok(())
}
