//! OpenTSDB's input formats, as InfluxDB's (and so Kapacitor's) OpenTSDB service reads them:
//! telnet `put` lines and the JSON body of `POST /api/put`.
//!
//! A point is the metric as measurement, its tags, and the value as field `value` (a float).
//! A telnet time has 10 digits (seconds) or 13 (milliseconds); a JSON time below 10^10 is in
//! seconds, else in milliseconds. A malformed tag (`k=v` with both sides set) is skipped and
//! the point kept, as InfluxDB does; any other fault refuses the line, or the JSON point.

use serde::Deserialize;

/// One OpenTSDB data point.
#[derive(Debug, Clone, PartialEq)]
pub struct Put {
    /// The metric: the point's measurement.
    pub metric: String,
    /// Nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The value (field `value`).
    pub value: f64,
    /// Tags, as given.
    pub tags: Vec<(String, String)>,
}

/// What a telnet line asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Telnet {
    /// `put metric time value tags…`; with the tags skipped as malformed.
    Put(Put, Vec<String>),
    /// `version`: the server answers with its name.
    Version,
    /// Nothing (a blank line).
    Blank,
}

/// What the telnet `version` command answers (InfluxDB's words).
pub const VERSION_ANSWER: &str = "InfluxDB TSDB proxy";

/// Reads one telnet line (without its line break).
pub fn parse_telnet(line: &str) -> Result<Telnet, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [] => return Ok(Telnet::Blank),
        ["version"] => return Ok(Telnet::Version),
        _ => {}
    }
    if words.len() < 4 || words[0] != "put" {
        return Err("malformed line: want `put <metric> <time> <value> [<tagk>=<tagv>…]`".into());
    }
    let (metric, time, value) = (words[1], words[2], words[3]);
    let t: i64 = time
        .parse()
        .map_err(|_| format!("malformed time {time:?}"))?;
    let time_ns = match time.len() {
        10 => t.checked_mul(1_000_000_000),
        13 => t.checked_mul(1_000_000),
        _ => return Err(format!("time {time:?} must be 10 or 13 digits")),
    }
    .ok_or_else(|| format!("malformed time {time:?}"))?;
    let value: f64 = value
        .parse()
        .map_err(|_| format!("bad float value {value:?}"))?;
    let mut tags = Vec::new();
    let mut skipped = Vec::new();
    for tag in &words[4..] {
        match tag.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.is_empty() => {
                tags.push((k.to_string(), v.to_string()));
            }
            _ => skipped.push((*tag).to_string()),
        }
    }
    Ok(Telnet::Put(
        Put {
            metric: metric.to_string(),
            time_ns,
            value,
            tags,
        },
        skipped,
    ))
}

/// A point of `POST /api/put`.
#[derive(Debug, Deserialize)]
struct JsonPoint {
    metric: String,
    timestamp: i64,
    value: f64,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
}

/// Reads the body of `POST /api/put`: one point or an array of them. `Err` when the body
/// is not that JSON (the whole request is refused); otherwise each point, or why it is
/// dropped (no metric).
pub fn parse_json(body: &[u8]) -> Result<Vec<Result<Put, String>>, String> {
    let array = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'[');
    let points: Vec<JsonPoint> = if array {
        serde_json::from_slice(body).map_err(|e| format!("json array decode error: {e}"))?
    } else {
        vec![serde_json::from_slice(body).map_err(|e| format!("json object decode error: {e}"))?]
    };
    Ok(points
        .into_iter()
        .map(|p| {
            if p.metric.is_empty() {
                return Err("a point without metric".to_string());
            }
            let time_ns = if p.timestamp < 10_000_000_000 {
                p.timestamp.checked_mul(1_000_000_000)
            } else {
                p.timestamp.checked_mul(1_000_000)
            }
            .ok_or_else(|| format!("timestamp {} out of range", p.timestamp))?;
            Ok(Put {
                metric: p.metric,
                time_ns,
                value: p.value,
                tags: p.tags.into_iter().collect(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(line: &str) -> (Put, Vec<String>) {
        match parse_telnet(line).unwrap() {
            Telnet::Put(p, skipped) => (p, skipped),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn telnet_puts_read_as_influxdb_reads_them() {
        let (p, skipped) = put("put sys.cpu.user 1356998400 42.5 host=webserver01 cpu=0");
        assert_eq!(p.metric, "sys.cpu.user");
        assert_eq!(p.time_ns, 1_356_998_400_000_000_000);
        assert_eq!(p.value, 42.5);
        assert_eq!(
            p.tags,
            [("host", "webserver01"), ("cpu", "0")].map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(skipped.is_empty());
        let (p, skipped) = put("  put m 1356998400123 -1 bad= =x ok=1 novalue\t");
        assert_eq!(p.time_ns, 1_356_998_400_123_000_000);
        assert_eq!(p.tags, vec![("ok".to_string(), "1".to_string())]);
        assert_eq!(skipped, ["bad=", "=x", "novalue"]);
        assert_eq!(parse_telnet("version").unwrap(), Telnet::Version);
        assert_eq!(parse_telnet("   ").unwrap(), Telnet::Blank);
    }

    #[test]
    fn bad_telnet_lines_say_why() {
        for (line, why) in [
            ("put m 1356998400", "malformed line"),
            ("get m 1356998400 1", "malformed line"),
            ("put m 13569984x0 1", "malformed time \"13569984x0\""),
            ("put m 135699840 1", "must be 10 or 13 digits"),
            ("put m 1356998400 one", "bad float value \"one\""),
        ] {
            let e = parse_telnet(line).unwrap_err();
            assert!(e.contains(why), "{line}: {e}");
        }
    }

    #[test]
    fn json_bodies_hold_one_point_or_many() {
        let one =
            parse_json(br#"{"metric":"m","timestamp":1356998400,"value":1,"tags":{"a":"b"}}"#)
                .unwrap();
        assert_eq!(
            one,
            vec![Ok(Put {
                metric: "m".into(),
                time_ns: 1_356_998_400_000_000_000,
                value: 1.0,
                tags: vec![("a".into(), "b".into())],
            })]
        );
        let many = parse_json(
            br#" [{"metric":"m","timestamp":1356998400123,"value":2.5},
                 {"metric":"","timestamp":1,"value":1}]"#,
        )
        .unwrap();
        assert_eq!(many[0].as_ref().unwrap().time_ns, 1_356_998_400_123_000_000);
        assert!(many[0].as_ref().unwrap().tags.is_empty());
        assert_eq!(many[1], Err("a point without metric".to_string()));
        let e = parse_json(br#"[{"metric":"m"}]"#).unwrap_err();
        assert!(
            e.starts_with("json array decode error: missing field `timestamp`"),
            "{e}"
        );
        assert!(
            parse_json(b"nope")
                .unwrap_err()
                .starts_with("json object decode error")
        );
    }
}
