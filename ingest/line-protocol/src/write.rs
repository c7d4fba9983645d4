//! The writer: canonical line protocol from a [`ParsedLine`].

use std::fmt::{self, Write};

use crate::escape::{NameKind, write_name, write_string_value};
use crate::line::{FieldValue, ParsedLine};

impl ParsedLine<'_> {
    /// Appends the canonical line protocol form of this line to `out`, without a newline.
    ///
    /// Names are escaped, tags are written in their stored order, floats use the shortest
    /// decimal form that reads back to the same `f64` (as InfluxDB's `'f'` formatting does),
    /// and the timestamp, if any, is written in nanoseconds. Parsing the output with
    /// nanosecond precision gives back an equal line.
    ///
    /// Some values have no line protocol form, and the parser never produces them: an empty
    /// measurement, key or tag value, no fields, a name ending with `\` or containing a
    /// newline, a measurement starting with `#` or a tab, and non-finite floats. They are
    /// written as they are and do not round-trip.
    pub fn write_to(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = self.write_fmt_to(out);
    }

    fn write_fmt_to<W: Write>(&self, w: &mut W) -> fmt::Result {
        write_name(w, &self.measurement, NameKind::Measurement)?;
        for (k, v) in &self.tags {
            w.write_char(',')?;
            write_name(w, k, NameKind::Key)?;
            w.write_char('=')?;
            write_name(w, v, NameKind::Key)?;
        }
        for (i, (k, v)) in self.fields.iter().enumerate() {
            w.write_char(if i == 0 { ' ' } else { ',' })?;
            write_name(w, k, NameKind::Key)?;
            w.write_char('=')?;
            write!(w, "{v}")?;
        }
        if let Some(ts) = self.timestamp {
            write!(w, " {ts}")?;
        }
        Ok(())
    }
}

/// The same text as [`ParsedLine::write_to`].
impl fmt::Display for ParsedLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_fmt_to(f)
    }
}

/// The line protocol form of the value: `1.5`, `42i`, `42u`, `"text"` (quoted, escaped),
/// `true`/`false`.
impl fmt::Display for FieldValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Float(v) => write!(f, "{v}"),
            FieldValue::Integer(v) => write!(f, "{v}i"),
            FieldValue::UInteger(v) => write!(f, "{v}u"),
            FieldValue::String(s) => write_string_value(f, s),
            FieldValue::Boolean(v) => f.write_str(if *v { "true" } else { "false" }),
        }
    }
}
