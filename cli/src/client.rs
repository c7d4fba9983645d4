//! The HTTP client of the daemon's `/kapacitor/v1` API: JSON in and out, Kapacitor's error
//! bodies turned into one-line [`Failure`]s, connection problems into exit code 4.
//!
//! `http://` URLs go through `ureq`; `unix:///path/to.sock` through [`crate::unix_http`].

use crate::exit;
use kap_api_types::{BASE, DiagnosticDto};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::time::Duration;

/// A failed command: the exit code and the one-line message printed as `kapacitor: <msg>`,
/// plus detail lines (script diagnostics).
#[derive(Debug)]
pub struct Failure {
    /// Exit code (see [`crate::exit`]).
    pub code: u8,
    /// One-line message, without the `kapacitor: ` prefix.
    pub message: String,
    /// Extra lines printed below the message.
    pub details: Vec<String>,
}

impl Failure {
    /// A command error (exit 3).
    pub fn command(message: impl Into<String>) -> Failure {
        Failure {
            code: exit::COMMAND,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// A sub-command usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: exit::SUB_USAGE,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Prefixes the message with what was being done (`define task "cpu": ...`). Connection
    /// failures are left as they are: they name the daemon, which says it all.
    pub fn context(mut self, what: impl std::fmt::Display) -> Failure {
        if self.code != exit::CONNECT {
            self.message = format!("{what}: {}", self.message);
        }
        self
    }

    /// Prints the failure on stderr and returns its exit code.
    pub fn report(&self) -> u8 {
        eprintln!("kapacitor: {}", self.message);
        for d in &self.details {
            eprintln!("  {d}");
        }
        self.code
    }
}

/// Adds [`Failure::context`] to a result.
pub trait Context<T> {
    /// See [`Failure::context`].
    fn context(self, what: impl std::fmt::Display) -> Result<T, Failure>;
}

impl<T> Context<T> for Result<T, Failure> {
    fn context(self, what: impl std::fmt::Display) -> Result<T, Failure> {
        self.map_err(|f| f.context(what))
    }
}

/// A raw response: status and body.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// True for 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[derive(Debug)]
enum Transport {
    Http { base: String, agent: ureq::Agent },
    Unix { socket: PathBuf },
}

/// A connection to one daemon.
#[derive(Debug)]
pub struct Client {
    url: String,
    hint: &'static str,
    skip_verify: bool,
    transport: Transport,
}

/// Extracts `{"error": ..., "diagnostics": [...]}` from an error response.
#[derive(Debug, serde::Deserialize)]
struct ErrorFields {
    #[serde(default)]
    error: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    diagnostics: Vec<DiagnosticDto>,
}

impl Client {
    /// A client for `url` (`http://host:port`, `https://host:port`,
    /// `unix:///path/to.sock`). `hint` ends connection errors, e.g. `set -url or
    /// KAPACITOR_URL`. `skip_verify` accepts any server certificate (`-skipVerify`).
    pub fn new(url: &str, hint: &'static str, skip_verify: bool) -> Result<Client, Failure> {
        let url = url.trim().trim_end_matches('/').to_string();
        let transport = if let Some(path) = url.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(Failure {
                    code: exit::USAGE,
                    message: format!("invalid URL {url:?}: expected unix:///path/to.sock"),
                    details: Vec::new(),
                });
            }
            Transport::Unix {
                socket: PathBuf::from(path),
            }
        } else if url.starts_with("http://") || url.starts_with("https://") {
            let tls = ureq::tls::TlsConfig::builder()
                .disable_verification(skip_verify)
                .build();
            let config = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_connect(Some(Duration::from_secs(10)))
                .tls_config(tls)
                .build();
            Transport::Http {
                base: url.clone(),
                agent: config.into(),
            }
        } else {
            return Err(Failure {
                code: exit::USAGE,
                message: format!(
                    "invalid URL {url:?}: expected http://host:port, https://host:port or unix:///path/to.sock"
                ),
                details: Vec::new(),
            });
        };
        Ok(Client {
            url,
            hint,
            skip_verify,
            transport,
        })
    }

    /// The daemon URL, as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether any certificate of an https URL is accepted.
    pub fn skip_verify(&self) -> bool {
        self.skip_verify
    }

    /// What a failed HTTP(S) request means: the daemon could not be reached (exit 4),
    /// including a TLS handshake that failed, or the request itself failed (exit 3).
    fn request_failure(&self, method: &str, uri: &str, e: ureq::Error) -> Failure {
        let tls_hint = if self.skip_verify {
            ""
        } else {
            " (a self-signed certificate needs -skipVerify)"
        };
        match e {
            ureq::Error::Io(io) if is_connect_error(&io) => self.connect_failure(&io_cause(&io)),
            ureq::Error::Io(io)
                if io
                    .get_ref()
                    .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
            {
                self.connect_failure(&format!("TLS: {io}{tls_hint}"))
            }
            ureq::Error::HostNotFound => self.connect_failure("host not found"),
            ureq::Error::ConnectionFailed => self.connect_failure("connection failed"),
            ureq::Error::Timeout(t) => self.connect_failure(&format!("timeout ({t})")),
            ureq::Error::Rustls(e) => self.connect_failure(&format!("TLS: {e}{tls_hint}")),
            ureq::Error::Tls(e) => self.connect_failure(&format!("TLS: {e}")),
            other => Failure::command(format!("{method} {uri}: {other}")),
        }
    }

    fn connect_failure(&self, cause: &str) -> Failure {
        Failure {
            code: exit::CONNECT,
            message: format!(
                "cannot reach kapacitord at {}: {cause} (is it running? {})",
                self.url, self.hint
            ),
            details: Vec::new(),
        }
    }

    /// Sends one request. `path` is relative to `/kapacitor/v1` (e.g. `/tasks?pattern=x`);
    /// a path already starting with `/kapacitor/` (a `link.href`) is used as is.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> Result<Response, Failure> {
        let full = full_path(path);
        match &self.transport {
            Transport::Unix { socket } => {
                crate::unix_http::request(socket, method, &full, body.as_deref(), content_type)
                    .map_err(|e| {
                        let cause = io_cause(&e);
                        if is_connect_error(&e) {
                            self.connect_failure(&cause)
                        } else {
                            Failure::command(format!("{method} {full}: {cause}"))
                        }
                    })
            }
            Transport::Http { base, agent } => {
                let uri = format!("{base}{full}");
                let builder = ureq::http::Request::builder().method(method).uri(&uri);
                let result = match body {
                    Some(b) => builder
                        .header("Content-Type", content_type)
                        .body(b)
                        .map_err(|e| Failure::command(format!("{method} {uri}: {e}")))
                        .map(|req| agent.run(req))?,
                    None => builder
                        .body(())
                        .map_err(|e| Failure::command(format!("{method} {uri}: {e}")))
                        .map(|req| agent.run(req))?,
                };
                let mut resp = result.map_err(|e| self.request_failure(method, &uri, e))?;
                let status = resp.status().as_u16();
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(u64::MAX)
                    .read_to_vec()
                    .map_err(|e| {
                        Failure::command(format!("{method} {uri}: reading the response: {e}"))
                    })?;
                Ok(Response { status, body })
            }
        }
    }

    /// `GET`s `path` and hands the response body to `sink` as it arrives, until the daemon
    /// ends it (a log stream never does: the user interrupts). A non-2xx answer becomes a
    /// [`Failure`].
    pub fn stream(
        &self,
        path: &str,
        sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<(), Failure> {
        let full = full_path(path);
        let fail = |e: std::io::Error| Failure::command(format!("GET {full}: {}", io_cause(&e)));
        let resp = match &self.transport {
            Transport::Unix { socket } => {
                crate::unix_http::stream(socket, &full, sink).map_err(|e| {
                    if is_connect_error(&e) {
                        self.connect_failure(&io_cause(&e))
                    } else {
                        fail(e)
                    }
                })?
            }
            Transport::Http { base, agent } => {
                let uri = format!("{base}{full}");
                let resp = agent
                    .get(&uri)
                    .call()
                    .map_err(|e| self.request_failure("GET", &uri, e))?;
                let status = resp.status().as_u16();
                let mut reader = resp.into_body().into_reader();
                if !(200..300).contains(&status) {
                    let mut body = Vec::new();
                    std::io::Read::read_to_end(&mut reader, &mut body).map_err(fail)?;
                    Response { status, body }
                } else {
                    let mut buf = vec![0u8; 8192];
                    loop {
                        let n = std::io::Read::read(&mut reader, &mut buf).map_err(fail)?;
                        if n == 0 {
                            break;
                        }
                        sink(&buf[..n]).map_err(fail)?;
                    }
                    return Ok(());
                }
            }
        };
        if resp.ok() {
            Ok(())
        } else {
            Err(api_failure(&resp))
        }
    }

    /// Sends a request with an optional JSON body; a non-2xx answer becomes a [`Failure`].
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<Response, Failure> {
        let bytes = match body {
            Some(b) => Some(
                serde_json::to_vec(b).map_err(|e| Failure::command(format!("encoding: {e}")))?,
            ),
            None => None,
        };
        let resp = self.raw(method, path, bytes, "application/json")?;
        if resp.ok() {
            Ok(resp)
        } else {
            Err(api_failure(&resp))
        }
    }

    /// `GET` and decode JSON.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Failure> {
        let resp = self.call("GET", path, None::<&()>)?;
        decode(&resp)
    }

    /// `GET`, answering `None` on 404.
    pub fn get_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Failure> {
        let resp = self.raw("GET", path, None, "")?;
        if resp.status == 404 {
            return Ok(None);
        }
        if !resp.ok() {
            return Err(api_failure(&resp));
        }
        decode(&resp).map(Some)
    }

    /// Sends a JSON body and decodes the JSON answer.
    pub fn send<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, Failure> {
        let resp = self.call(method, path, Some(body))?;
        decode(&resp)
    }

    /// Sends a request without a body and decodes the JSON answer.
    pub fn send_empty_json<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
    ) -> Result<T, Failure> {
        let resp = self.call(method, path, None::<&()>)?;
        decode(&resp)
    }

    /// Sends a JSON body (or none) and ignores the answer's body.
    pub fn send_empty(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<(), Failure> {
        self.call(method, path, body).map(|_| ())
    }
}

/// `path` under `/kapacitor/v1`, or as is when it already starts with `/kapacitor/` (a
/// `link.href`).
fn full_path(path: &str) -> String {
    if path.starts_with("/kapacitor/") {
        path.to_string()
    } else {
        format!("{BASE}{path}")
    }
}

/// Decodes a JSON body.
pub fn decode<T: DeserializeOwned>(resp: &Response) -> Result<T, Failure> {
    serde_json::from_slice(&resp.body).map_err(|e| {
        Failure::command(format!(
            "unexpected answer from kapacitord (HTTP {}): {e}: {}",
            resp.status,
            snippet(&resp.body)
        ))
    })
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    let mut out: String = s.chars().take(200).collect();
    if s.chars().count() > 200 {
        out.push('…');
    }
    out.replace('\n', " ")
}

/// Turns an error response into a failure: Kapacitor's `error` text, one diagnostic as
/// `(line L, column C)`, several as detail lines.
pub fn api_failure(resp: &Response) -> Failure {
    let parsed: Option<ErrorFields> = serde_json::from_slice(&resp.body).ok();
    let Some(fields) = parsed.filter(|f| !f.error.is_empty() || !f.message.is_empty()) else {
        let body = snippet(&resp.body);
        return Failure::command(if body.is_empty() {
            format!("HTTP {}", resp.status)
        } else {
            format!("HTTP {}: {body}", resp.status)
        });
    };
    let mut message = if fields.error.is_empty() {
        fields.message
    } else {
        fields.error
    };
    let message_trim = message.trim_end().to_string();
    message = message_trim;
    let mut details = Vec::new();
    match fields.diagnostics.as_slice() {
        [] => {}
        [d] => {
            if !message.contains(&format!("line {}", d.line)) {
                message = format!("{message} (line {}, column {})", d.line, d.column);
            }
        }
        many => {
            for d in many {
                details.push(format!(
                    "line {}, column {}: {} [{}]",
                    d.line, d.column, d.message, d.code
                ));
            }
        }
    }
    if resp.status == 404 && message.is_empty() {
        message = "not found".into();
    }
    Failure {
        code: exit::COMMAND,
        message,
        details,
    }
}

fn is_connect_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | NotFound
            | PermissionDenied
            | TimedOut
            | AddrNotAvailable
            | HostUnreachable
            | NetworkUnreachable
            | NotConnected
    )
}

fn io_cause(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        ConnectionReset => "connection reset".into(),
        NotFound => "no such socket".into(),
        PermissionDenied => "permission denied".into(),
        TimedOut => "timed out".into(),
        HostUnreachable => "host unreachable".into(),
        NetworkUnreachable => "network unreachable".into(),
        _ => e.to_string(),
    }
}

/// Percent-encodes a query-string value (`url.QueryEscape` style: space as `+`).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-encodes one path segment (an id).
pub fn path_escape(s: &str) -> String {
    query_escape(s).replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_one_line() {
        let resp = Response {
            status: 400,
            body: br#"{"error":"invalid TICKscript: bad","message":"invalid TICKscript: bad","diagnostics":[{"code":"E1","message":"bad","line":3,"column":10}]}"#.to_vec(),
        };
        let f = api_failure(&resp).context("define task \"cpu\"");
        assert_eq!(
            f.message,
            "define task \"cpu\": invalid TICKscript: bad (line 3, column 10)"
        );
        assert_eq!(f.code, exit::COMMAND);
        let resp = Response {
            status: 500,
            body: b"oops\n".to_vec(),
        };
        assert_eq!(api_failure(&resp).message, "HTTP 500: oops");
    }

    #[test]
    fn escapes() {
        assert_eq!(query_escape("cpu*"), "cpu%2A");
        assert_eq!(query_escape("a b"), "a+b");
        assert_eq!(path_escape("a b"), "a%20b");
    }
}
