//! The parsed form of one line: [`ParsedLine`] and [`FieldValue`].

use std::borrow::Cow;

/// One point of line protocol, borrowing from the body it was parsed from.
///
/// Every name and string is [`Cow::Borrowed`] unless an escape sequence forced an unescaped
/// owned copy. Tags are sorted by key (as InfluxDB sorts them) and unique; field keys are unique
/// (when a key repeats, the last value wins, at the position of the first occurrence).
/// Timestamps are nanoseconds since the Unix epoch, already scaled by the body's precision.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedLine<'a> {
    /// Measurement name.
    pub measurement: Cow<'a, str>,
    /// Tag key/value pairs, sorted by key.
    pub tags: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Field key/value pairs, in input order, at least one after a successful parse.
    pub fields: Vec<(Cow<'a, str>, FieldValue<'a>)>,
    /// Timestamp in nanoseconds, if the line had one.
    pub timestamp: Option<i64>,
}

/// The value of a field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// A float: `1`, `1.5`, `-1.5E-2`. Always finite.
    Float(f64),
    /// A signed integer: `42i`.
    Integer(i64),
    /// An unsigned integer: `42u`.
    UInteger(u64),
    /// A string: `"text"`, unescaped.
    String(Cow<'a, str>),
    /// A boolean: `t`, `true`, `F`, `FALSE`, …
    Boolean(bool),
}

impl<'a> ParsedLine<'a> {
    /// A line with this measurement and no tags, fields or timestamp.
    pub fn new(measurement: impl Into<Cow<'a, str>>) -> Self {
        ParsedLine {
            measurement: measurement.into(),
            tags: Vec::new(),
            fields: Vec::new(),
            timestamp: None,
        }
    }

    /// The value of tag `key`, if present (binary search: tags are sorted).
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
            .map(|i| self.tags[i].1.as_ref())
    }

    /// The value of field `key`, if present.
    pub fn field(&self, key: &str) -> Option<&FieldValue<'a>> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Empties the line but keeps the capacity of its vectors, for
    /// [`Lines::next_into`](crate::Lines::next_into).
    pub fn clear(&mut self) {
        self.measurement = Cow::Borrowed("");
        self.tags.clear();
        self.fields.clear();
        self.timestamp = None;
    }

    /// Copies every borrowed string, detaching the line from the body.
    pub fn into_owned(self) -> ParsedLine<'static> {
        ParsedLine {
            measurement: Cow::Owned(self.measurement.into_owned()),
            tags: self
                .tags
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
            fields: self
                .fields
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                .collect(),
            timestamp: self.timestamp,
        }
    }
}

impl FieldValue<'_> {
    /// Copies a borrowed string value.
    pub fn into_owned(self) -> FieldValue<'static> {
        match self {
            FieldValue::Float(v) => FieldValue::Float(v),
            FieldValue::Integer(v) => FieldValue::Integer(v),
            FieldValue::UInteger(v) => FieldValue::UInteger(v),
            FieldValue::String(v) => FieldValue::String(Cow::Owned(v.into_owned())),
            FieldValue::Boolean(v) => FieldValue::Boolean(v),
        }
    }
}
