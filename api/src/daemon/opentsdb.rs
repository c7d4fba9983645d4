//! The OpenTSDB input (`[opentsdb]`), as InfluxDB's OpenTSDB service that Kapacitor runs:
//! one port (TCP, or TLS with `tls-enabled`) that speaks both of OpenTSDB's protocols. A
//! connection whose first line is an HTTP request line is HTTP (`POST /api/put` with one
//! JSON point or an array, gzip allowed, answered 204; `/api/metadata/put` is accepted and
//! ignored); any other is telnet (`put <metric> <time> <value> <tags>` lines; `version`
//! answers `InfluxDB TSDB proxy`).
//!
//! Points go to the stream in `database`.`retention-policy` in batches: a connection's
//! points are written when `batch-size` of them wait, when the oldest has waited
//! `batch-timeout`, and when it closes. A bad telnet line is dropped (logged with its line
//! number when `log-point-errors` is on) and the others are kept; a body that is not JSON
//! gets a 400, and its points without metric are dropped.

use super::lines::{self, Batching, Line};
use super::runtime::Runtime;
use crate::config::OpenTsdbConfig;
use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use kap_dataflow::point::{FieldValue, Point, Sym, Tags};
use kap_ingest::opentsdb::{self, Put, Telnet};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;

/// The longest first line read to tell HTTP from telnet.
const MAX_FIRST_LINE: usize = 8 * 1024;
/// HTTP connections accepted and not yet served.
const HTTP_BACKLOG: usize = 64;
/// The largest `/api/put` body.
const MAX_BODY: usize = 64 << 20;

/// A connection's stream: TCP, or TLS over it.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A stream whose first bytes, already read, are read again first.
struct Prefixed {
    prefix: Vec<u8>,
    at: usize,
    inner: Box<dyn Stream>,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.at < self.prefix.len() {
            let n = (self.prefix.len() - self.at).min(buf.remaining());
            let at = self.at;
            buf.put_slice(&self.prefix[at..at + n]);
            self.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Hands the HTTP connections to axum.
struct HttpConnections {
    local: SocketAddr,
    ready: tokio::sync::mpsc::Receiver<(Prefixed, SocketAddr)>,
}

impl axum::serve::Listener for HttpConnections {
    type Io = Prefixed;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// What the handlers share.
struct Input {
    runtime: Arc<Runtime>,
    db: String,
    rp: String,
    batch_size: usize,
    batch_timeout: Duration,
    log_point_errors: bool,
}

impl Input {
    fn point(&self, p: Put) -> Point {
        let tags: Tags = p
            .tags
            .iter()
            .map(|(k, v)| (Sym::new(k), Sym::new(v)))
            .collect();
        let fields = vec![(Sym::new("value"), FieldValue::Float(p.value))];
        Point::new(&p.metric, tags, fields, p.time_ns).in_db(&self.db, &self.rp)
    }

    /// Writes `points`; the engine may wait for room, so this runs off the async threads'
    /// turn (`block_in_place`).
    fn write(&self, points: Vec<Point>) {
        tokio::task::block_in_place(|| self.runtime.write_logged("OpenTSDB", points));
    }

    fn rejected(&self, n: u64) {
        self.runtime
            .ingest
            .points_rejected
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Starts the `[opentsdb]` listener when enabled, serving until `stop` fires; returns the
/// address it is bound to.
pub async fn start(
    config: &OpenTsdbConfig,
    default_rp: &str,
    runtime: Arc<Runtime>,
    stop: &tokio::sync::broadcast::Sender<()>,
) -> anyhow::Result<Option<SocketAddr>> {
    if !config.enabled {
        return Ok(None);
    }
    let tls = if config.tls_enabled {
        Some(super::tls::pem_acceptor(
            &config.certificate,
            "",
            "[opentsdb] certificate",
            "[opentsdb] certificate",
        )?)
    } else {
        None
    };
    let addr = crate::config::bind_addr(&config.bind_address).map_err(anyhow::Error::msg)?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("[opentsdb] listening on {}", config.bind_address))?;
    let local = listener.local_addr()?;
    let rp = crate::config::input_rp(&config.retention_policy, default_rp).to_string();
    let input = Arc::new(Input {
        runtime,
        db: config.database.clone(),
        rp,
        batch_size: config.batch_size.max(1) as usize,
        batch_timeout: config.batch_timeout,
        log_point_errors: config.log_point_errors,
    });
    let (http_tx, ready) = tokio::sync::mpsc::channel(HTTP_BACKLOG);
    let app = Router::new()
        .route("/api/put", any(put))
        .route("/api/metadata/put", any(metadata_put))
        .with_state(Arc::clone(&input));
    let mut rx = stop.subscribe();
    let served =
        axum::serve(HttpConnections { local, ready }, app).with_graceful_shutdown(async move {
            let _ = rx.recv().await;
        });
    tokio::spawn(async move { served.await });
    let serve = move |tcp: tokio::net::TcpStream, peer: SocketAddr| {
        let (input, http_tx, tls) = (Arc::clone(&input), http_tx.clone(), tls.clone());
        tokio::spawn(async move {
            let stream: Box<dyn Stream> = match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(s) => Box::new(s),
                    Err(e) => {
                        tracing::debug!(%peer, "OpenTSDB TLS handshake failed: {e}");
                        return;
                    }
                },
                None => Box::new(tcp),
            };
            if let Err(e) = handle(stream, peer, &input, &http_tx).await {
                tracing::debug!(%peer, "OpenTSDB connection: {e}");
            }
        });
    };
    tokio::spawn(lines::accept(listener, "OpenTSDB", stop.subscribe(), serve));
    tracing::info!(addr = %local, db = %config.database, tls = config.tls_enabled, "listening for OpenTSDB");
    Ok(Some(local))
}

/// Whether `line` is an HTTP request line (`METHOD target HTTP/x.y`).
fn is_http_request_line(line: &[u8]) -> bool {
    let line = String::from_utf8_lossy(line);
    let words: Vec<&str> = line.trim_end().split(' ').collect();
    matches!(words.as_slice(), [method, target, version]
        if !method.is_empty()
            && method.bytes().all(|b| b.is_ascii_uppercase())
            && !target.is_empty()
            && version.starts_with("HTTP/"))
}

/// Reads a connection's first line, then serves it as HTTP or telnet.
async fn handle(
    mut stream: Box<dyn Stream>,
    peer: SocketAddr,
    input: &Input,
    http: &tokio::sync::mpsc::Sender<(Prefixed, SocketAddr)>,
) -> io::Result<()> {
    use tokio::io::AsyncReadExt;
    let mut prefix = Vec::new();
    let mut chunk = [0u8; 1024];
    while !prefix.contains(&b'\n') && prefix.len() < MAX_FIRST_LINE {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        prefix.extend_from_slice(&chunk[..n]);
    }
    let first = prefix.split(|b| *b == b'\n').next().unwrap_or_default();
    let stream = Prefixed {
        prefix: prefix.clone(),
        at: 0,
        inner: stream,
    };
    if is_http_request_line(first) {
        let _ = http.send((stream, peer)).await;
        return Ok(());
    }
    telnet(stream, peer, input).await
}

/// Serves a telnet connection: `put` lines written in batches, `version` answered.
async fn telnet(stream: Prefixed, peer: SocketAddr, input: &Input) -> io::Result<()> {
    let batching = Batching {
        size: input.batch_size,
        timeout: input.batch_timeout,
    };
    let handle = |line: Option<&str>, number: usize| {
        let parsed = match line {
            Some(l) => opentsdb::parse_telnet(l),
            None => Err("not UTF-8".to_string()),
        };
        match parsed {
            Ok(Telnet::Put(p, skipped)) => {
                if !skipped.is_empty() && input.log_point_errors {
                    tracing::warn!(%peer, "OpenTSDB line {number}: malformed tags skipped: {}", skipped.join(" "));
                }
                Line::Point(input.point(p))
            }
            Ok(Telnet::Version) => Line::Reply(opentsdb::VERSION_ANSWER.as_bytes()),
            Ok(Telnet::Blank) => Line::Skip,
            Err(e) => {
                input.rejected(1);
                if input.log_point_errors {
                    tracing::warn!(%peer, "OpenTSDB line {number}: {e}");
                }
                Line::Skip
            }
        }
    };
    lines::serve(stream, batching, handle, |points| input.write(points)).await
}

/// `POST /api/put`: one JSON point or an array; 204 once written.
async fn put(
    State(input): State<Arc<Input>>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    if method != axum::http::Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, String::new());
    }
    let gzip = headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let body = if gzip {
        use std::io::Read;
        let mut out = Vec::new();
        let read = flate2::read::GzDecoder::new(&body[..])
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut out);
        match read {
            Ok(n) if n <= MAX_BODY => out,
            Ok(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "body too large".into()),
            Err(e) => return (StatusCode::BAD_REQUEST, format!("gzip: {e}")),
        }
    } else {
        body.to_vec()
    };
    let parsed = match opentsdb::parse_json(&body) {
        Ok(p) => p,
        Err(e) => return (StatusCode::BAD_REQUEST, e),
    };
    let mut points = Vec::with_capacity(parsed.len());
    for p in parsed {
        match p {
            Ok(p) => points.push(input.point(p)),
            Err(e) => {
                input.rejected(1);
                if input.log_point_errors {
                    tracing::warn!("OpenTSDB /api/put: dropping a point: {e}");
                }
            }
        }
    }
    input.write(points);
    (StatusCode::NO_CONTENT, String::new())
}

/// `/api/metadata/put`: accepted and ignored, as InfluxDB does.
async fn metadata_put() -> StatusCode {
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_request_lines_are_told_from_telnet() {
        assert!(is_http_request_line(b"POST /api/put HTTP/1.1\r"));
        assert!(is_http_request_line(b"GET / HTTP/1.0"));
        assert!(!is_http_request_line(b"put sys.cpu 1356998400 1 host=a"));
        assert!(!is_http_request_line(b"version"));
        assert!(!is_http_request_line(b"PUT /x HTTP"));
        assert!(!is_http_request_line(b""));
    }
}
