//! Kapacitor's recording formats, read and written byte-compatibly.
//!
//! - **`.srpl`** (stream recordings): gzip (or plain) text of repeated three-line records:
//!   database, retention policy, one line-protocol point. Kapacitor writes nanosecond
//!   timestamps; its test recordings use seconds, so the reader takes a [`Precision`].
//! - **`.brpl`** (batch recordings): a ZIP archive with one entry per batch source (`0`,
//!   `1`, …), each a stream of JSON batches `{name, tmax, group, byname, tags, points: [{fields,
//!   tags, time}]}`. A plain JSON stream (one source) is accepted too.
//!
//! The records here are neutral, owned data; the engine turns them into its own points.

use crate::line_protocol::{
    FieldValue, LineError, ParsedLine, Precision, parse_lines_with_precision,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Seek, Write};

/// Why a recording cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordingError {
    /// The underlying reader or writer failed.
    #[error("recording i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A stream recording ended in the middle of a record.
    #[error(
        "stream recording: record {record} is incomplete (expected database, retention policy and point lines)"
    )]
    Truncated {
        /// 1-based record number.
        record: usize,
    },
    /// A point line of a stream recording does not parse.
    #[error("stream recording: record {record}: {source}")]
    BadPoint {
        /// 1-based record number.
        record: usize,
        /// The line-protocol error.
        source: LineError,
    },
    /// A point line of a stream recording is empty.
    #[error("stream recording: record {record}: no point")]
    NoPoint {
        /// 1-based record number.
        record: usize,
    },
    /// A batch recording holds invalid JSON or an invalid batch.
    #[error("batch recording{}: batch {batch}: {message}", source_label(.source_index))]
    BadBatch {
        /// ZIP entry (batch source) index, when the recording is an archive.
        source_index: Option<usize>,
        /// 1-based batch number within the source.
        batch: usize,
        /// What is wrong.
        message: String,
    },
    /// The ZIP archive is unreadable or has unexpected entries.
    #[error("batch recording archive: {0}")]
    Archive(String),
}

fn source_label(i: &Option<usize>) -> String {
    i.map(|i| format!(" source {i}")).unwrap_or_default()
}

/// One record of a stream recording.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    /// Database.
    pub db: String,
    /// Retention policy.
    pub rp: String,
    /// The point (owned).
    pub point: ParsedLine<'static>,
}

/// True when `bytes` start with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Reads a whole `.srpl` recording (gzip or plain) from memory.
pub fn read_srpl(bytes: &[u8], precision: Precision) -> Result<Vec<StreamRecord>, RecordingError> {
    let mut out = Vec::new();
    for_each_srpl(bytes, precision, |r| {
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}

/// Streams the records of a `.srpl` recording (gzip or plain) to `f`, in file order,
/// without holding the whole file in memory.
pub fn for_each_srpl(
    bytes: &[u8],
    precision: Precision,
    mut f: impl FnMut(StreamRecord) -> Result<(), RecordingError>,
) -> Result<(), RecordingError> {
    let reader: Box<dyn Read + '_> = if is_gzip(bytes) {
        Box::new(flate2::read::MultiGzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    let mut lines = BufReader::new(reader);
    let mut record = 0;
    let mut buf = [String::new(), String::new(), String::new()];
    loop {
        record += 1;
        let mut got = 0;
        for line in buf.iter_mut() {
            line.clear();
            if lines.read_line(line)? == 0 {
                break;
            }
            trim_newline(line);
            got += 1;
        }
        match got {
            0 => return Ok(()),
            3 => {}
            _ => return Err(RecordingError::Truncated { record }),
        }
        let [db, rp, line] = &buf;
        let parsed = parse_lines_with_precision(line, precision)
            .next()
            .ok_or(RecordingError::NoPoint { record })?
            .map_err(|source| RecordingError::BadPoint { record, source })?;
        f(StreamRecord {
            db: db.clone(),
            rp: rp.clone(),
            point: parsed.into_owned(),
        })?;
    }
}

fn trim_newline(s: &mut String) {
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
}

/// Writes a `.srpl` recording: gzip, nanosecond timestamps, as Kapacitor does.
#[derive(Debug)]
pub struct SrplWriter<W: Write> {
    gz: flate2::write::GzEncoder<W>,
    line: String,
}

impl<W: Write> SrplWriter<W> {
    /// A writer over `inner`.
    pub fn new(inner: W) -> SrplWriter<W> {
        SrplWriter {
            gz: flate2::write::GzEncoder::new(inner, flate2::Compression::default()),
            line: String::new(),
        }
    }

    /// Appends one record. The point must carry a timestamp (nanoseconds).
    pub fn write(
        &mut self,
        db: &str,
        rp: &str,
        point: &ParsedLine<'_>,
    ) -> Result<(), RecordingError> {
        self.line.clear();
        self.line.push_str(db);
        self.line.push('\n');
        self.line.push_str(rp);
        self.line.push('\n');
        point.write_to(&mut self.line);
        self.line.push('\n');
        self.gz.write_all(self.line.as_bytes())?;
        Ok(())
    }

    /// Finishes the gzip stream and returns the inner writer.
    pub fn finish(self) -> Result<W, RecordingError> {
        Ok(self.gz.finish()?)
    }
}

/// A field value of a recorded batch point. Kapacitor decodes batch recordings with plain
/// JSON decoding, so every number is a float.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RecordedValue {
    /// A number.
    Float(f64),
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
}

/// One point of a recorded batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedPoint {
    /// Fields (a recorded point may have none).
    #[serde(default)]
    pub fields: BTreeMap<String, RecordedValue>,
    /// Tags; when absent or empty the point carries the batch tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Time, nanoseconds since the Unix epoch.
    #[serde(with = "rfc3339")]
    pub time: i64,
}

/// One recorded batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedBatch {
    /// Measurement (batch name).
    pub name: String,
    /// Batch time; `None` when the recording has none (Go's zero time).
    #[serde(default, with = "opt_rfc3339", skip_serializing_if = "Option::is_none")]
    pub tmax: Option<i64>,
    /// Group id as Kapacitor wrote it (ignored when reading).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Whether the group includes the measurement.
    #[serde(default)]
    pub byname: bool,
    /// Group tags (the batch is grouped by all of them).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Points in order.
    #[serde(default)]
    pub points: Vec<RecordedPoint>,
}

/// Reads a `.brpl` recording from memory: a ZIP archive (one source per entry, in entry
/// index order) or a plain JSON stream (one source). Empty batches are kept; Kapacitor's
/// replay drops them, which is the caller's rule to apply.
pub fn read_brpl(bytes: &[u8]) -> Result<Vec<Vec<RecordedBatch>>, RecordingError> {
    if bytes.starts_with(b"PK") {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| RecordingError::Archive(e.to_string()))?;
        let mut sources: Vec<(usize, Vec<RecordedBatch>)> = Vec::new();
        for i in 0..archive.len() {
            let mut entry = archive
                .by_index(i)
                .map_err(|e| RecordingError::Archive(e.to_string()))?;
            let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
            let index: usize = name.parse().map_err(|_| {
                RecordingError::Archive(format!(
                    "unexpected entry `{name}` (entries are named 0, 1, ...)"
                ))
            })?;
            let mut text = Vec::new();
            entry.read_to_end(&mut text)?;
            sources.push((index, read_batch_stream(&text, Some(index))?));
        }
        sources.sort_by_key(|(i, _)| *i);
        return Ok(sources.into_iter().map(|(_, b)| b).collect());
    }
    Ok(vec![read_batch_stream(bytes, None)?])
}

/// Reads a stream of JSON batches (one after another, usually one per line).
pub fn read_batch_stream(
    bytes: &[u8],
    source_index: Option<usize>,
) -> Result<Vec<RecordedBatch>, RecordingError> {
    let mut out = Vec::new();
    for (i, item) in serde_json::Deserializer::from_slice(bytes)
        .into_iter::<RecordedBatch>()
        .enumerate()
    {
        let batch = item.map_err(|e| RecordingError::BadBatch {
            source_index,
            batch: i + 1,
            message: e.to_string(),
        })?;
        out.push(batch);
    }
    Ok(out)
}

/// Writes a `.brpl` recording: a ZIP archive with one entry per batch source.
pub fn write_brpl<W: Write + Seek>(
    out: W,
    sources: &[Vec<RecordedBatch>],
) -> Result<W, RecordingError> {
    let mut zip = zip::ZipWriter::new(out);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (i, batches) in sources.iter().enumerate() {
        zip.start_file(i.to_string(), opts)
            .map_err(|e| RecordingError::Archive(e.to_string()))?;
        for b in batches {
            let json = serde_json::to_vec(b).map_err(|e| RecordingError::Archive(e.to_string()))?;
            zip.write_all(&json)?;
            zip.write_all(b"\n")?;
        }
    }
    zip.finish()
        .map_err(|e| RecordingError::Archive(e.to_string()))
}

/// Converts a parsed field value to a recorded (JSON) one, as Kapacitor's JSON encoding
/// of batch points does (integers become JSON numbers, read back as floats).
pub fn recorded_value(v: &FieldValue<'_>) -> RecordedValue {
    match v {
        FieldValue::Float(f) => RecordedValue::Float(*f),
        FieldValue::Integer(i) => RecordedValue::Float(*i as f64),
        FieldValue::UInteger(u) => RecordedValue::Float(*u as f64),
        FieldValue::String(s) => RecordedValue::String(s.to_string()),
        FieldValue::Boolean(b) => RecordedValue::Bool(*b),
    }
}

/// Parses an RFC 3339 time (optional fraction, `Z` or offset) to nanoseconds since the
/// Unix epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    t.timestamp_nanos_opt()
}

/// Formats nanoseconds as RFC 3339 in UTC with the fraction trimmed (Go's RFC3339Nano).
pub fn format_time(ns: i64) -> String {
    let t = chrono::DateTime::from_timestamp_nanos(ns);
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = ns.rem_euclid(1_000_000_000);
    if frac != 0 {
        let digits = format!(".{frac:09}");
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(ns: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_time(*ns))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_time(&s)
            .ok_or_else(|| D::Error::custom(format!("invalid time `{s}` (want RFC 3339)")))
    }
}

mod opt_rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(ns: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match ns {
            Some(ns) => s.serialize_str(&super::format_time(*ns)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        match s {
            None => Ok(None),
            // Go's zero time means "no time".
            Some(s) if s.starts_with("0001-01-01T00:00:00") => Ok(None),
            Some(s) => super::parse_time(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("invalid time `{s}` (want RFC 3339)"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srpl_plain_and_gzip_round_trip() {
        let text = "dbname\nrpname\ncpu,host=a value=1 0000000001\r\ndb2\nrp2\nmem free=5i 2";
        let recs = read_srpl(text.as_bytes(), Precision::Seconds).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(
            (recs[0].db.as_str(), recs[0].rp.as_str()),
            ("dbname", "rpname")
        );
        assert_eq!(recs[0].point.timestamp, Some(1_000_000_000));
        assert_eq!(recs[1].point.timestamp, Some(2_000_000_000));

        let mut w = SrplWriter::new(Vec::new());
        for r in &recs {
            w.write(&r.db, &r.rp, &r.point).unwrap();
        }
        let gz = w.finish().unwrap();
        assert!(is_gzip(&gz));
        let back = read_srpl(&gz, Precision::Nanoseconds).unwrap();
        assert_eq!(back, recs);
    }

    #[test]
    fn srpl_errors_name_the_record() {
        let e = read_srpl(b"db\nrp\ncpu value=1 1\ndb\n", Precision::Seconds).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stream recording: record 2 is incomplete (expected database, retention policy and point lines)"
        );
        let e = read_srpl(b"db\nrp\ncpu value=x 1\n", Precision::Seconds).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("stream recording: record 1: line 1, column"),
            "{e}"
        );
    }

    #[test]
    fn brpl_plain_stream_and_zip_round_trip() {
        let text = r#"{"name":"cpu","tmax":"2015-10-30T00:00:10Z","tags":{"cpu":"cpu0"},"points":[{"fields":{"mean":83.5},"tags":{"cpu":"cpu0"},"time":"2015-10-30T17:14:12Z"},{"fields":{},"time":"2015-10-30T17:14:14.5Z"}]}
{"name":"cpu","tags":{},"points":[]}"#;
        let sources = read_brpl(text.as_bytes()).unwrap();
        assert_eq!(sources.len(), 1);
        let b = &sources[0];
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].tmax, parse_time("2015-10-30T00:00:10Z"));
        assert_eq!(b[0].points[0].fields["mean"], RecordedValue::Float(83.5));
        assert!(b[0].points[1].tags.is_empty());
        assert_eq!(format_time(b[0].points[1].time), "2015-10-30T17:14:14.5Z");
        assert_eq!(b[1].tmax, None);

        let zip = write_brpl(
            std::io::Cursor::new(Vec::new()),
            &[b.clone(), vec![b[0].clone()]],
        )
        .unwrap()
        .into_inner();
        let back = read_brpl(&zip).unwrap();
        assert_eq!(back, vec![b.clone(), vec![b[0].clone()]]);
    }

    #[test]
    fn brpl_errors_name_the_batch() {
        let e = read_brpl(b"{\"name\":\"a\",\"points\":[]}\n{\"name\":").unwrap_err();
        assert!(
            e.to_string().starts_with("batch recording: batch 2: "),
            "{e}"
        );
        let e = read_brpl(br#"{"name":"a","points":[{"time":"yesterday"}]}"#).unwrap_err();
        assert!(e.to_string().contains("invalid time `yesterday`"), "{e}");
    }

    #[test]
    fn times_format_like_go_rfc3339nano() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_time(31_536_000_000_000_000 + 2_500_000_000),
            "1971-01-01T00:00:02.5Z"
        );
        assert_eq!(format_time(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(
            parse_time("2015-10-30T17:14:12+01:00"),
            Some(1_446_221_652_000_000_000)
        );
    }
}
