//! `POST /write` (InfluxDB 1.x semantics): `db` required, `rp` defaulting from the config,
//! `precision`, gzip bodies, 204 on success. A body with bad lines gets 400 naming each bad
//! line while its good lines are accepted (partial write); a busy engine gets 503.

use super::ApiError;
use axum::http::StatusCode;
use kap_dataflow::point::{FieldValue, Fields, Point, Str, Sym, Tags};
use kap_ingest::line_protocol::{self, ParsedLine, Precision, parse_lines_with_precision};
use std::borrow::Cow;
use std::io::Read;

/// At most this many bad lines are listed in an error (the count is always given).
const MAX_LISTED: usize = 20;

/// A line-protocol point as an engine point (in the nil group).
pub fn point_from_line(
    db: &str,
    rp: &str,
    line: &line_protocol::ParsedLine<'_>,
    time: i64,
) -> Point {
    let tags: Tags = line
        .tags
        .iter()
        .map(|(k, v)| (Sym::new(k), Sym::new(v)))
        .collect();
    let fields: Fields = line
        .fields
        .iter()
        .map(|(k, v)| {
            let v = match v {
                line_protocol::FieldValue::Float(f) => FieldValue::Float(*f),
                line_protocol::FieldValue::Integer(i) => FieldValue::Int(*i),
                line_protocol::FieldValue::UInteger(u) => FieldValue::Int(*u as i64),
                line_protocol::FieldValue::String(s) => FieldValue::String(Str::from(s.as_ref())),
                line_protocol::FieldValue::Boolean(b) => FieldValue::Bool(*b),
            };
            (Sym::new(k), v)
        })
        .collect();
    Point::new(&line.measurement, tags, fields, time).in_db(db, rp)
}

/// What a parsed body holds.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Good points.
    pub points: Vec<Point>,
    /// Bad lines, as `line N, column C: reason (near "...")`.
    pub errors: Vec<String>,
}

/// Parses a `/write` body.
pub fn parse_body(body: &str, db: &str, rp: &str, precision: Precision, now: i64) -> Parsed {
    let mut out = Parsed::default();
    // A missing timestamp is the server's time, truncated to the precision (as InfluxDB).
    let m = precision.multiplier();
    let now = now - now.rem_euclid(m);
    for line in parse_lines_with_precision(body, precision) {
        match line {
            Ok(l) => {
                let t = l.timestamp.unwrap_or(now);
                out.points.push(point_from_line(db, rp, &l, t));
            }
            Err(e) => out.errors.push(e.to_string()),
        }
    }
    out
}

/// Decodes the body (gzip when `Content-Encoding: gzip`), enforcing `max` bytes (0: none).
pub fn decode_body(bytes: &[u8], gzip: bool, max: u64) -> Result<String, ApiError> {
    let too_big = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body too large: the limit is {max} bytes ([http] max-body-size)"),
        )
    };
    if max > 0 && bytes.len() as u64 > max {
        return Err(too_big());
    }
    let raw = if gzip {
        let mut out = Vec::new();
        let limit = if max > 0 { max + 1 } else { u64::MAX };
        flate2::read::MultiGzDecoder::new(bytes)
            .take(limit)
            .read_to_end(&mut out)
            .map_err(|e| ApiError::bad_request(format!("invalid gzip body: {e}")))?;
        if max > 0 && out.len() as u64 > max {
            return Err(too_big());
        }
        out
    } else {
        bytes.to_vec()
    };
    String::from_utf8(raw).map_err(|e| {
        ApiError::bad_request(format!(
            "body is not valid UTF-8 at byte {}",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The 400 text for bad lines, InfluxDB style (`partial write: ...`) when some were good.
pub fn lines_error(errors: &[String], accepted: usize) -> String {
    let mut msg = if accepted > 0 {
        format!(
            "partial write: {} bad line(s) rejected, {accepted} point(s) accepted: ",
            errors.len()
        )
    } else {
        format!("unable to parse {} line(s): ", errors.len())
    };
    msg.push_str(
        &errors
            .iter()
            .take(MAX_LISTED)
            .cloned()
            .collect::<Vec<_>>()
            .join("; "),
    );
    if errors.len() > MAX_LISTED {
        msg.push_str(&format!("; and {} more", errors.len() - MAX_LISTED));
    }
    msg
}

/// An engine point as a line-protocol line (`Null` fields are left out).
pub fn line_of(p: &Point) -> ParsedLine<'static> {
    ParsedLine {
        measurement: Cow::Borrowed(p.name.as_str()),
        tags: p
            .tags
            .iter()
            .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
            .collect(),
        fields: p
            .fields
            .iter()
            .filter_map(|(k, v)| {
                let v = match v {
                    FieldValue::Float(f) => line_protocol::FieldValue::Float(*f),
                    FieldValue::Int(i) => line_protocol::FieldValue::Integer(*i),
                    FieldValue::String(s) => {
                        line_protocol::FieldValue::String(Cow::Owned(s.to_string()))
                    }
                    FieldValue::Bool(b) => line_protocol::FieldValue::Boolean(*b),
                    _ => return None,
                };
                Some((Cow::Borrowed(k.as_str()), v))
            })
            .collect(),
        timestamp: Some(p.time),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lines_survive_bad_ones() {
        let body = "cpu value=1 1\ncpu value= 2\ncpu value=3 3\nmem,host=a x=1i\n";
        let p = parse_body(body, "db", "rp", Precision::Seconds, 5_500_000_000);
        assert_eq!(p.points.len(), 3);
        assert_eq!(p.points[1].time, 3_000_000_000);
        assert_eq!(
            p.points[2].time, 5_000_000_000,
            "no timestamp: now, truncated"
        );
        assert_eq!(p.errors.len(), 1);
        assert!(p.errors[0].starts_with("line 2, column"), "{}", p.errors[0]);
        let msg = lines_error(&p.errors, 3);
        assert!(
            msg.starts_with("partial write: 1 bad line(s) rejected, 3 point(s) accepted: line 2")
        );
    }

    #[test]
    fn body_limits_and_gzip() {
        assert_eq!(
            decode_body(b"0123456789", false, 5).unwrap_err().status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"cpu value=1").unwrap();
        let bytes = gz.finish().unwrap();
        assert_eq!(decode_body(&bytes, true, 0).unwrap(), "cpu value=1");
    }

    #[test]
    fn line_of_round_trips_through_the_parser() {
        let line = "m,host=a x=1.5,n=3i,s=\"q\",b=true 42";
        let parsed = line_protocol::parse_lines_with_precision(line, Precision::Nanoseconds)
            .next()
            .and_then(Result::ok)
            .expect("parses");
        let p = point_from_line("db", "rp", &parsed, 42);
        let back = line_of(&p);
        let mut text = String::new();
        back.write_to(&mut text);
        let again = line_protocol::parse_lines_with_precision(&text, Precision::Nanoseconds)
            .next()
            .and_then(Result::ok)
            .expect("re-parses");
        assert_eq!(again.measurement, "m");
        assert_eq!(again.timestamp, Some(42));
        assert_eq!(again.fields.len(), 4);
        assert_eq!(again.tags.len(), 1);
    }
}
