//! Kapacitor's live log stream, `GET /kapacitor/v1preview/logs` (what `kapacitor watch` and
//! `kapacitor logs` read).
//!
//! Every log event the daemon writes also goes through [`HubLayer`], which offers it to the
//! open sessions as a list of key/value pairs: `ts`, `lvl`, then the event's own. A task's
//! log lines (the `|log()` node, node errors) are logfmt already (`msg=point task=t
//! node=log2 …`): their pairs are read from the line. A session is the query of its
//! request: each `key=value` must be a pair of the line, and `lvl=info+` keeps that level
//! and above (`lvl=error` only that level). A session gets logfmt lines, or JSON objects
//! when its request says `Content-Type: application/json`. A session that cannot keep up
//! loses lines rather than slowing the daemon; one whose client has gone is dropped.
//! Events below the daemon's log level are not written, so not streamed either.

use axum::body::{Body, Bytes};
use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context as LayerContext;

/// Lines a session may have waiting before it loses new ones.
const SESSION_BUFFER: usize = 4096;

/// The open log sessions.
#[derive(Debug)]
struct LogHub {
    sessions: Mutex<Vec<Session>>,
    /// `sessions.len()`, read without the lock on every event.
    open: AtomicUsize,
}

static HUB: LogHub = LogHub {
    sessions: Mutex::new(Vec::new()),
    open: AtomicUsize::new(0),
};

/// One `GET /logs` request.
#[derive(Debug)]
struct Session {
    /// Pairs a line must have (`lvl` apart).
    filters: Vec<(String, String)>,
    level: Option<LevelFilter>,
    json: bool,
    tx: tokio::sync::mpsc::Sender<String>,
}

/// A `lvl` filter: one level, or (`info+`) it and the levels above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LevelFilter {
    rank: u8,
    and_above: bool,
}

/// Kapacitor's level names, by rank.
const LEVELS: [&str; 4] = ["debug", "info", "warn", "error"];

fn rank(level: &str) -> Option<u8> {
    let level = level.to_ascii_lowercase();
    let level = if level == "warning" { "warn" } else { &level };
    LEVELS.iter().position(|l| *l == level).map(|r| r as u8)
}

impl LevelFilter {
    fn parse(text: &str) -> Option<LevelFilter> {
        let (name, and_above) = match text.strip_suffix('+') {
            Some(n) => (n, true),
            None => (text, false),
        };
        Some(LevelFilter {
            rank: rank(name)?,
            and_above,
        })
    }

    fn keeps(&self, level: &str) -> bool {
        rank(level).is_some_and(|r| {
            if self.and_above {
                r >= self.rank
            } else {
                r == self.rank
            }
        })
    }
}

impl Session {
    fn keeps(&self, pairs: &[(String, String)]) -> bool {
        let level = pairs
            .iter()
            .find(|(k, _)| k == "lvl")
            .map_or("", |(_, v)| v.as_str());
        self.level.is_none_or(|l| l.keeps(level))
            && self
                .filters
                .iter()
                .all(|(k, v)| pairs.iter().any(|(pk, pv)| pk == k && pv == v))
    }
}

impl LogHub {
    /// Offers a line to every session that keeps it; forgets sessions whose client left.
    fn offer(&self, pairs: &[(String, String)]) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|s| {
            if !s.keeps(pairs) {
                return !s.tx.is_closed();
            }
            let line = if s.json {
                json_line(pairs)
            } else {
                logfmt_line(pairs)
            };
            !matches!(
                s.tx.try_send(line),
                Err(tokio::sync::mpsc::error::TrySendError::Closed(_))
            )
        });
        self.open.store(sessions.len(), Ordering::Relaxed);
    }

    fn open(&self, session: Session) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.push(session);
        self.open.store(sessions.len(), Ordering::Relaxed);
    }
}

/// A logfmt value: bare when it can be, else quoted with `"` and `\` escaped.
fn logfmt_value(v: &str) -> String {
    if !v.is_empty()
        && !v
            .chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c.is_control())
    {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn logfmt_line(pairs: &[(String, String)]) -> String {
    let mut line = String::new();
    for (k, v) in pairs {
        if !line.is_empty() {
            line.push(' ');
        }
        let _ = write!(line, "{k}={}", logfmt_value(v));
    }
    line.push('\n');
    line
}

/// A JSON object of the pairs, in their order.
fn json_line(pairs: &[(String, String)]) -> String {
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut line = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let _ = write!(line, "{}:{}", quote(k), quote(v));
    }
    line.push_str("}\n");
    line
}

/// The pairs of a logfmt line (`k=v`, `k="quoted \" value"`); text that is not a pair is
/// skipped.
fn parse_logfmt(line: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ' ' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() && chars.peek().is_none() {
            return pairs;
        }
        if chars.peek() != Some(&'=') {
            // A bare word: not a pair.
            if chars.peek().is_none() {
                return pairs;
            }
            continue;
        }
        chars.next();
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some('t') => value.push('\t'),
                        Some(other) => value.push(other),
                        None => break,
                    },
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        if !key.is_empty() {
            pairs.push((key, value));
        }
    }
}

/// Collects an event's message and fields.
#[derive(Default)]
struct Fields {
    message: String,
    pairs: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.pairs
                .push((field.name().to_string(), value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.pairs.push((field.name().to_string(), text));
        }
    }
}

/// The `tracing` layer that feeds the log sessions (installed with the daemon's logger).
#[derive(Debug, Clone, Copy, Default)]
pub struct HubLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for HubLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: LayerContext<'_, S>) {
        if HUB.open.load(Ordering::Relaxed) == 0 {
            return;
        }
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = match *meta.level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warn",
            tracing::Level::INFO => "info",
            _ => "debug",
        };
        let mut pairs = vec![
            (
                "ts".to_string(),
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ),
            ("lvl".to_string(), level.to_string()),
        ];
        if meta.target() == crate::daemon::runtime::TASK_LOG_TARGET {
            // A task's line is logfmt already: `msg=… task=… node=…`.
            pairs.extend(parse_logfmt(&fields.message));
        } else {
            pairs.push(("msg".to_string(), fields.message));
            pairs.push(("service".to_string(), service_of(meta.target())));
        }
        pairs.extend(fields.pairs);
        HUB.offer(&pairs);
    }
}

/// Kapacitor's `service` key for a log target: the daemon module that logged
/// (`kap_api::daemon::alerts` → `alerts`), else the crate.
fn service_of(target: &str) -> String {
    let mut parts = target.split("::");
    let krate = parts.next().unwrap_or(target);
    match (krate, parts.next(), parts.next()) {
        ("kap_api", Some("daemon"), Some(module)) => module.to_string(),
        (_, Some(module), _) if krate == "kap_api" => module.to_string(),
        _ => krate.to_string(),
    }
}

/// A session's lines as a response body stream.
struct Lines(tokio::sync::mpsc::Receiver<String>);

impl futures_core::Stream for Lines {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|l| l.map(|l| Ok(Bytes::from(l))))
    }
}

/// `GET /kapacitor/v1preview/logs?k=v…`: the daemon's log lines, as they are written, that
/// have every `k=v` pair of the query (`lvl=info+`: that level and above).
pub(super) async fn stream(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let q = super::http::Query::parse(q.as_deref());
    let mut filters = Vec::new();
    let mut level = None;
    for (k, v) in q.pairs() {
        if k == "lvl" {
            match LevelFilter::parse(v) {
                Some(l) => level = Some(l),
                None => {
                    return super::ApiError::bad_request(format!(
                        "invalid lvl {v:?}: want debug, info, warn or error, with an optional + for that level and above"
                    ))
                    .into_response();
                }
            }
        } else {
            filters.push((k.clone(), v.clone()));
        }
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let (tx, rx) = tokio::sync::mpsc::channel(SESSION_BUFFER);
    HUB.open(Session {
        filters,
        level,
        json,
        tx,
    });
    let mut resp = Body::from_stream(Lines(rx)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if json {
            "application/json"
        } else {
            "text/plain; charset=utf-8"
        }),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn logfmt_round_trips() {
        let line = r#"msg="begin batch" task=t node=log2 prefix= tag_host="a b" field_v=1.5 q="say \"hi\"""#;
        let p = parse_logfmt(line);
        assert_eq!(
            p,
            pairs(&[
                ("msg", "begin batch"),
                ("task", "t"),
                ("node", "log2"),
                ("prefix", ""),
                ("tag_host", "a b"),
                ("field_v", "1.5"),
                ("q", "say \"hi\""),
            ])
        );
        assert_eq!(parse_logfmt(&logfmt_line(&p)), p);
        assert_eq!(
            logfmt_line(&pairs(&[("a", "x=y"), ("b", "")])),
            "a=\"x=y\" b=\"\"\n"
        );
    }

    #[test]
    fn sessions_keep_the_lines_they_ask_for() {
        let (tx, _rx) = tokio::sync::mpsc::channel(1);
        let s = Session {
            filters: pairs(&[("task", "t")]),
            level: LevelFilter::parse("info+"),
            json: false,
            tx,
        };
        assert!(s.keeps(&pairs(&[("lvl", "info"), ("task", "t")])));
        assert!(s.keeps(&pairs(&[("lvl", "error"), ("task", "t"), ("node", "n")])));
        assert!(!s.keeps(&pairs(&[("lvl", "debug"), ("task", "t")])));
        assert!(!s.keeps(&pairs(&[("lvl", "info"), ("task", "u")])));
        assert!(!s.keeps(&pairs(&[("lvl", "info")])));
        let exact = LevelFilter::parse("warn").unwrap();
        assert!(exact.keeps("WARN") && !exact.keeps("error"));
        assert_eq!(LevelFilter::parse("loud"), None);
    }

    #[test]
    fn service_is_the_daemon_module() {
        assert_eq!(service_of("kap_api::daemon::alerts"), "alerts");
        assert_eq!(service_of("kap_api::alert_handlers"), "alert_handlers");
        assert_eq!(service_of("redb"), "redb");
    }

    #[test]
    fn json_lines_keep_the_pair_order() {
        assert_eq!(
            json_line(&pairs(&[("ts", "x"), ("lvl", "info"), ("msg", "m")])),
            "{\"ts\":\"x\",\"lvl\":\"info\",\"msg\":\"m\"}\n"
        );
    }
}
