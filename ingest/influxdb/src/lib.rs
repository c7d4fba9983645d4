//! `kap-influxdb`: a blocking InfluxDB 1.x HTTP client (`/ping`, `/query`, `/write`).
//!
//! One [`Client`] per `[[influxdb]]` cluster. It holds the cluster's URLs and tries them in
//! order, starting from the last one that answered, failing over on transport errors,
//! timeouts and 5xx answers ([`Error::is_retryable`]). Credentials go as basic auth.
//!
//! [`Client::query`] always returns the shape of a non-chunked answer: a chunked answer (a
//! stream of JSON objects) is merged, rows of a series split over chunks concatenated. A
//! failed statement is an [`Error::Query`] naming the server and the query, never a half
//! result.
//!
//! With the `testing` feature, `testing::Influxd` runs a private `influxd` on free ports.
//!
//! ```no_run
//! use kap_influxdb::{Client, ClientConfig, Query};
//!
//! let client = Client::new(ClientConfig {
//!     urls: vec!["http://127.0.0.1:8086".into()],
//!     ..ClientConfig::default()
//! })?;
//! let answer = client.query(&Query::new("SHOW DATABASES"))?;
//! for row in &answer.results[0].series[0].values {
//!     println!("{}", row[0].as_str().unwrap_or_default());
//! }
//! # Ok::<_, kap_influxdb::Error>(())
//! ```

// A library reports through `tracing` or its services: a print here is a leftover.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod encode;
mod error;
mod response;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use encode::{quote_ident, quote_string};
pub use error::Error;

/// What a custom answer decoder ([`Client::query_with`]) found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// A statement failed (its `error`, or the answer's top-level `error`).
    Statement(String),
    /// The answer is not what InfluxDB sends.
    Malformed(String),
}
pub use response::{Cell, Response, Series, StatementResult};

use error::{truncate, truncate_query};
use response::Chunk;
use std::io::{BufReader, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Error bodies echoed in messages are cut to this many characters.
const MAX_ERROR_BODY_CHARS: usize = 1000;

/// How to reach one InfluxDB cluster.
#[derive(Clone, Default, PartialEq)]
pub struct ClientConfig {
    /// The cluster's name (`[[influxdb]] name`), used in configuration errors.
    pub name: String,
    /// Servers, `http://host:port` or `https://host:port`, tried in order.
    pub urls: Vec<String>,
    /// Basic-auth user; empty means no authentication.
    pub username: String,
    /// Basic-auth password.
    pub password: String,
    /// InfluxDB's `[http] shared-secret`: when set, requests carry a JWT signed with it
    /// (`Authorization: Bearer …`, claims `username` and a one-minute `exp`) instead of
    /// basic authentication, as Kapacitor's `http-shared-secret`.
    pub shared_secret: String,
    /// Whole-request timeout (connect to last byte); `Duration::ZERO` means none.
    pub timeout: Duration,
    /// Gzip write bodies (`Content-Encoding: gzip`).
    pub gzip: bool,
    /// HTTPS settings.
    pub tls: TlsOptions,
}

/// HTTPS settings of a cluster (`ssl-ca`, `ssl-cert`, `ssl-key`, `insecure-skip-verify`),
/// as PEM text already read.
#[derive(Clone, Default, PartialEq)]
pub struct TlsOptions {
    /// Certificates to trust instead of the usual roots.
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate chain and its private key, for servers that ask for one.
    pub client_pem: Option<(Vec<u8>, Vec<u8>)>,
    /// Skip the server certificate's check.
    pub insecure_skip_verify: bool,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca_pem", &self.ca_pem.is_some())
            .field("client_pem", &self.client_pem.is_some())
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .finish()
    }
}

impl TlsOptions {
    /// ureq's TLS configuration; `Err` says what does not parse.
    pub fn ureq(&self) -> Result<ureq::tls::TlsConfig, String> {
        use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
        let mut b = TlsConfig::builder().disable_verification(self.insecure_skip_verify);
        if let Some(pem) = &self.ca_pem {
            let certs = certificates(pem).map_err(|e| format!("ssl-ca: {e}"))?;
            b = b.root_certs(RootCerts::new_with_certs(&certs));
        }
        if let Some((cert, key)) = &self.client_pem {
            let chain = certificates(cert).map_err(|e| format!("ssl-cert: {e}"))?;
            let key = PrivateKey::from_pem(key).map_err(|e| format!("ssl-key: {e}"))?;
            b = b.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
        fn certificates(pem: &[u8]) -> Result<Vec<Certificate<'static>>, String> {
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e.to_string())),
                })
                .collect::<Result<_, _>>()?;
            if certs.is_empty() {
                return Err("no PEM certificate in it".into());
            }
            Ok(certs)
        }
        Ok(b.build())
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("name", &self.name)
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("timeout", &self.timeout)
            .field("gzip", &self.gzip)
            .finish()
    }
}

/// A query: InfluxQL text and the parameters of `/query`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// InfluxQL, one or more statements separated by `;`.
    pub command: String,
    /// `db`: the database unqualified measurements refer to; empty for none.
    pub database: String,
    /// `rp`: the retention policy; empty for the database's default.
    pub retention_policy: String,
    /// `epoch`: `ns`, `u`, `ms`, `s`, `m` or `h` for integer times; `None` for RFC 3339 strings.
    pub epoch: Option<String>,
    /// Ask for a chunked answer (merged by [`Client::query`]).
    pub chunked: bool,
    /// Rows per chunk; `0` means InfluxDB's default (10000).
    pub chunk_size: usize,
}

impl Query {
    /// A query with no database, RFC 3339 times, not chunked.
    pub fn new(command: impl Into<String>) -> Query {
        Query {
            command: command.into(),
            ..Query::default()
        }
    }

    /// The same query against `database`.
    pub fn on(mut self, database: impl Into<String>) -> Query {
        self.database = database.into();
        self
    }
}

/// Where and how to write line protocol.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WriteRequest {
    /// `db`: the database (required by InfluxDB).
    pub database: String,
    /// `rp`: the retention policy; empty for the database's default.
    pub retention_policy: String,
    /// `precision` of the timestamps: `n`/`ns`, `u`, `ms`, `s`, `m`, `h`; empty means ns.
    pub precision: String,
    /// `consistency` (InfluxDB Enterprise): `any`, `one`, `quorum`, `all`; empty for none.
    pub consistency: String,
}

/// A blocking InfluxDB 1.x client for one cluster. Cheap to clone (shared state): every
/// clone sees a [`Client::update`] of its configuration, so what holds a client (a running
/// batch task, an `influxDBOut`) follows a cluster changed at runtime, as Kapacitor's do.
#[derive(Clone)]
pub struct Client {
    conn: Arc<std::sync::RwLock<Conn>>,
}

/// What one configuration of a client connects with (replaced whole by an update, so a
/// request runs with one configuration).
#[derive(Clone)]
struct Conn {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    /// `http://host:port` without a trailing `/`.
    urls: Vec<String>,
    agent: ureq::Agent,
    /// `Basic …` when a username is set (and no shared secret).
    authorization: Option<String>,
    /// Index into `urls` of the last server that answered.
    current: AtomicUsize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let conn = self.conn();
        f.debug_struct("Client")
            .field("config", &conn.inner.config)
            .field("current", &conn.inner.current.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// What a request does, for error messages.
enum Op<'a> {
    Ping,
    Query(&'a str),
    Write(&'a WriteRequest),
}

impl Op<'_> {
    fn describe(&self) -> String {
        match self {
            Op::Ping => "ping".into(),
            Op::Query(q) => format!("query `{}`", truncate_query(q)),
            Op::Write(w) if w.retention_policy.is_empty() => {
                format!("write to database `{}`", w.database)
            }
            Op::Write(w) => format!(
                "write to database `{}` retention policy `{}`",
                w.database, w.retention_policy
            ),
        }
    }
}

impl Client {
    /// A client for `config`. Fails when there is no URL or one is not `http://…` or
    /// `https://…` (the error names it). No request is made.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        Ok(Client {
            conn: Arc::new(std::sync::RwLock::new(Conn::new(config)?)),
        })
    }

    /// Replaces the configuration of this client and of all its clones; requests under way
    /// finish with the one they started with. On error nothing changes.
    pub fn update(&self, config: ClientConfig) -> Result<(), Error> {
        let conn = Conn::new(config)?;
        *self.conn.write().unwrap_or_else(|e| e.into_inner()) = conn;
        Ok(())
    }

    fn conn(&self) -> Conn {
        self.conn.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The cluster's name.
    pub fn name(&self) -> String {
        self.conn().inner.config.name.clone()
    }

    /// The configuration the client runs with.
    pub fn config(&self) -> ClientConfig {
        self.conn().inner.config.clone()
    }

    /// `GET /ping`: the server's version (`X-Influxdb-Version`; empty when not sent).
    pub fn ping(&self) -> Result<String, Error> {
        self.conn().ping()
    }

    /// `POST /query` with a form body. The answer has one result per statement, chunks
    /// merged; a failed statement is an [`Error::Query`].
    pub fn query(&self, q: &Query) -> Result<Response, Error> {
        self.conn().query(q)
    }

    /// `POST /query` (never chunked) with the answer decoded by `decode` from its bytes:
    /// for callers that turn big answers straight into their own structures. What
    /// `decode` reports becomes an [`Error::Query`] (a failed statement) or an
    /// [`Error::Body`] (a malformed answer) naming the server and the query.
    pub fn query_with<T>(
        &self,
        q: &Query,
        decode: impl Fn(&[u8]) -> Result<T, AnswerError>,
    ) -> Result<T, Error> {
        self.conn().query_with(q, decode)
    }

    /// `POST /write` of a line-protocol `body` (gzipped when the config says so). InfluxDB's
    /// `partial write` and `unable to parse` answers are [`Error::Http`] with status 400.
    pub fn write(&self, w: &WriteRequest, body: &[u8]) -> Result<(), Error> {
        self.conn().write(w, body)
    }
}

impl Conn {
    fn new(config: ClientConfig) -> Result<Conn, Error> {
        let bad = |message: String| Error::Config {
            name: config.name.clone(),
            message,
        };
        if config.urls.is_empty() {
            return Err(bad("no URLs configured".into()));
        }
        let mut urls = Vec::with_capacity(config.urls.len());
        for url in &config.urls {
            let trimmed = url.trim().trim_end_matches('/');
            let rest = trimmed
                .strip_prefix("http://")
                .or_else(|| trimmed.strip_prefix("https://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
                    urls.push(trimmed.to_string());
                }
                _ => {
                    return Err(bad(format!(
                        "invalid URL `{url}`: want http://host:port or https://host:port"
                    )));
                }
            }
        }
        let timeout = (!config.timeout.is_zero()).then_some(config.timeout);
        let tls = config.tls.ureq().map_err(bad)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            .timeout_global(timeout)
            .user_agent("kapacitor-rs")
            .build()
            .into();
        let authorization =
            (!config.username.is_empty() && config.shared_secret.is_empty()).then(|| {
                let pair = format!("{}:{}", config.username, config.password);
                format!("Basic {}", encode::base64(pair.as_bytes()))
            });
        Ok(Conn {
            inner: Arc::new(Inner {
                config,
                urls,
                agent,
                authorization,
                current: AtomicUsize::new(0),
            }),
        })
    }

    /// The `Authorization` header of a request: basic authentication, or a fresh JWT
    /// signed with the shared secret.
    fn authorization(&self) -> Option<String> {
        let c = &self.inner.config;
        if c.shared_secret.is_empty() {
            return self.inner.authorization.clone();
        }
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            + 60;
        Some(format!(
            "Bearer {}",
            encode::jwt_hs256(c.shared_secret.as_bytes(), &c.username, exp)
        ))
    }

    fn ping(&self) -> Result<String, Error> {
        self.with_failover(|base| {
            let op = Op::Ping;
            let mut req = self.inner.agent.get(format!("{base}/ping"));
            if let Some(auth) = self.authorization() {
                req = req.header("Authorization", auth);
            }
            let resp = req.call().map_err(|e| self.transport(base, &op, e))?;
            let resp = self.check_status(base, &op, resp)?;
            Ok(resp
                .headers()
                .get("X-Influxdb-Version")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string())
        })
    }

    fn query(&self, q: &Query) -> Result<Response, Error> {
        self.post_query(q, |base, resp| self.read_answer(base, &q.command, resp))
    }

    fn query_with<T>(
        &self,
        q: &Query,
        decode: impl Fn(&[u8]) -> Result<T, AnswerError>,
    ) -> Result<T, Error> {
        let q = Query {
            chunked: false,
            ..q.clone()
        };
        self.post_query(&q, |base, resp| {
            let op = Op::Query(&q.command);
            let bytes = resp
                .into_body()
                .with_config()
                .limit(u64::MAX)
                .read_to_vec()
                .map_err(|e| self.transport(base, &op, e))?;
            decode(&bytes).map_err(|e| match e {
                AnswerError::Statement(message) => Error::Query {
                    url: base.to_string(),
                    query: truncate_query(&q.command),
                    statement_id: None,
                    message,
                },
                AnswerError::Malformed(message) => Error::Body {
                    url: base.to_string(),
                    op: op.describe(),
                    message,
                },
            })
        })
    }

    fn post_query<T>(
        &self,
        q: &Query,
        read: impl Fn(&str, ureq::http::Response<ureq::Body>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut form = String::new();
        encode::push_pair(&mut form, "q", &q.command);
        if !q.database.is_empty() {
            encode::push_pair(&mut form, "db", &q.database);
        }
        if !q.retention_policy.is_empty() {
            encode::push_pair(&mut form, "rp", &q.retention_policy);
        }
        if let Some(epoch) = q.epoch.as_deref().filter(|e| !e.is_empty()) {
            encode::push_pair(&mut form, "epoch", epoch);
        }
        if q.chunked {
            encode::push_pair(&mut form, "chunked", "true");
            if q.chunk_size > 0 {
                encode::push_pair(&mut form, "chunk_size", &q.chunk_size.to_string());
            }
        }
        self.with_failover(|base| {
            let op = Op::Query(&q.command);
            let mut req = self
                .inner
                .agent
                .post(format!("{base}/query"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json");
            if let Some(auth) = self.authorization() {
                req = req.header("Authorization", auth);
            }
            let resp = req
                .send(form.as_bytes())
                .map_err(|e| self.transport(base, &op, e))?;
            let resp = self.check_status(base, &op, resp)?;
            read(base, resp)
        })
    }

    fn write(&self, w: &WriteRequest, body: &[u8]) -> Result<(), Error> {
        let mut params = String::new();
        encode::push_pair(&mut params, "db", &w.database);
        for (key, value) in [
            ("rp", &w.retention_policy),
            ("precision", &w.precision),
            ("consistency", &w.consistency),
        ] {
            if !value.is_empty() {
                encode::push_pair(&mut params, key, value);
            }
        }
        let compressed;
        let payload = if self.inner.config.gzip {
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4 + 64),
                flate2::Compression::fast(),
            );
            // Writing into a Vec cannot fail.
            let _ = enc.write_all(body);
            compressed = enc.finish().unwrap_or_default();
            compressed.as_slice()
        } else {
            body
        };
        self.with_failover(|base| {
            let op = Op::Write(w);
            let mut req = self
                .inner
                .agent
                .post(format!("{base}/write?{params}"))
                .header("Content-Type", "text/plain; charset=utf-8");
            if self.inner.config.gzip {
                req = req.header("Content-Encoding", "gzip");
            }
            if let Some(auth) = self.authorization() {
                req = req.header("Authorization", auth);
            }
            let resp = req
                .send(payload)
                .map_err(|e| self.transport(base, &op, e))?;
            self.check_status(base, &op, resp)?;
            Ok(())
        })
    }

    /// Runs `attempt` against each server in turn, starting from the last one that answered,
    /// until one succeeds or fails with an error that is not retryable. Returns the last error.
    fn with_failover<T>(
        &self,
        mut attempt: impl FnMut(&str) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let urls = &self.inner.urls;
        let start = self.inner.current.load(Ordering::Relaxed) % urls.len();
        let mut last = None;
        for i in 0..urls.len() {
            let index = (start + i) % urls.len();
            match attempt(&urls[index]) {
                Ok(v) => {
                    self.inner.current.store(index, Ordering::Relaxed);
                    return Ok(v);
                }
                Err(e) if e.is_retryable() => last = Some(e),
                Err(e) => {
                    // The server answered: it is up, keep using it.
                    self.inner.current.store(index, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Err(last.expect("at least one URL (checked by Client::new)"))
    }

    fn transport(&self, base: &str, op: &Op<'_>, e: ureq::Error) -> Error {
        match e {
            ureq::Error::Timeout(_) => Error::Timeout {
                url: base.to_string(),
                op: op.describe(),
                timeout: self.inner.config.timeout,
            },
            e => Error::Transport {
                url: base.to_string(),
                op: op.describe(),
                message: transport_message(&e),
            },
        }
    }

    /// Passes 2xx answers through; turns others into [`Error::Http`] with InfluxDB's
    /// `{"error": …}` text (or the body as text).
    fn check_status(
        &self,
        base: &str,
        op: &Op<'_>,
        mut resp: ureq::http::Response<ureq::Body>,
    ) -> Result<ureq::http::Response<ureq::Body>, Error> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .unwrap_or_default();
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            error: String,
        }
        let message = match serde_json::from_str::<ErrorBody>(&text) {
            Ok(b) => b.error,
            Err(_) if text.trim().is_empty() => {
                status.canonical_reason().unwrap_or("no body").to_string()
            }
            Err(_) => truncate(text.trim(), MAX_ERROR_BODY_CHARS),
        };
        Err(Error::Http {
            url: base.to_string(),
            op: op.describe(),
            status: status.as_u16(),
            message,
        })
    }

    /// Reads a `/query` answer: one JSON object, or one per chunk.
    fn read_answer(
        &self,
        base: &str,
        query: &str,
        resp: ureq::http::Response<ureq::Body>,
    ) -> Result<Response, Error> {
        let op = Op::Query(query);
        let reader = BufReader::new(resp.into_body().into_reader());
        let mut answer = Response::default();
        let mut chunks = 0usize;
        for chunk in serde_json::Deserializer::from_reader(reader).into_iter::<Chunk>() {
            let chunk = chunk.map_err(|e| {
                if e.is_io() {
                    // The connection broke (or timed out) mid-answer.
                    let timed_out = std::error::Error::source(&e)
                        .and_then(|s| s.downcast_ref::<std::io::Error>())
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
                    if timed_out && !self.inner.config.timeout.is_zero() {
                        return Error::Timeout {
                            url: base.to_string(),
                            op: op.describe(),
                            timeout: self.inner.config.timeout,
                        };
                    }
                    Error::Transport {
                        url: base.to_string(),
                        op: op.describe(),
                        message: format!("reading the answer: {e}"),
                    }
                } else {
                    Error::Body {
                        url: base.to_string(),
                        op: op.describe(),
                        message: e.to_string(),
                    }
                }
            })?;
            chunks += 1;
            if let Some(message) = chunk.error {
                return Err(Error::Query {
                    url: base.to_string(),
                    query: truncate_query(query),
                    statement_id: None,
                    message,
                });
            }
            answer.merge_chunk(chunk.results);
        }
        if chunks == 0 {
            return Err(Error::Body {
                url: base.to_string(),
                op: op.describe(),
                message: "empty answer".into(),
            });
        }
        if let Some(r) = answer.results.iter().find(|r| r.error.is_some()) {
            return Err(Error::Query {
                url: base.to_string(),
                query: truncate_query(query),
                statement_id: Some(r.statement_id),
                message: r.error.clone().unwrap_or_default(),
            });
        }
        answer.finish();
        Ok(answer)
    }
}

/// A transport error as text, with the underlying I/O cause when there is one.
fn transport_message(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => io.to_string(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
