//! `|httpPost([url])`: posts every point or batch as `{"series":[row]}` JSON
//! (`kapacitor-semantics.md` §10) through an injected [`HttpPoster`], then forwards it
//! (with `.codeField(name)` set to the response status, 0 on a transport error).
//!
//! The daemon registers an [`HttpPostService`] under the service name `"http_post"`;
//! `.endpoint(name)` resolves through its [`HttpPostService::endpoints`].

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{FieldValue, Msg, Sym, set};
use crate::result::{ResultSet, Row, batch_row, point_row};
use crate::template::Template;
use kap_dsl::plan::HttpPostSpec;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};

/// The service name the [`HttpPostService`] is looked up under.
pub const SERVICE_NAME: &str = "http_post";

/// Performs HTTP POSTs. Implementations block for the request (httpPost is synchronous in
/// Kapacitor too).
pub trait HttpPoster: Send + Sync + fmt::Debug {
    /// POSTs `body` to `url` with `headers`; `Ok((status, response body))`, or `Err` on a
    /// transport error. `timeout_ns` of `None` means no timeout.
    fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: String,
        timeout_ns: Option<i64>,
    ) -> Result<(u16, String), String>;

    /// [`HttpPoster::post`] with HTTPS settings of its own (an alert service's `ssl-ca`,
    /// `ssl-cert`/`ssl-key`, `insecure-skip-verify`). A client without HTTPS settings
    /// refuses the post rather than ignore them.
    fn post_tls(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: String,
        timeout_ns: Option<i64>,
        tls: &PostTls,
    ) -> Result<(u16, String), String> {
        let _ = (url, headers, body, timeout_ns, tls);
        Err("this HTTP client takes no TLS settings".into())
    }
}

/// HTTPS settings of a post, as PEM text already read.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct PostTls {
    /// Certificates to trust instead of the usual roots.
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate chain and its private key.
    pub client_pem: Option<(Vec<u8>, Vec<u8>)>,
    /// Accept any server certificate.
    pub insecure_skip_verify: bool,
}

impl fmt::Debug for PostTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostTls")
            .field("ca_pem", &self.ca_pem.is_some())
            .field("client_pem", &self.client_pem.is_some())
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .finish()
    }
}

/// A configured `[[httppost]]` endpoint.
#[derive(Debug, Clone, Default)]
pub struct EndpointConfig {
    /// Target URL.
    pub url: String,
    /// Headers sent with every request (before the node's own `.header()`s).
    pub headers: Vec<(String, String)>,
    /// `row-template`: the body httpPost nodes send, over the row (`.Name`, `.Tags`,
    /// `.Columns`, `.Values`), instead of the row's JSON.
    pub row_template: Option<Template>,
    /// `alert-template`: the body post handlers send, over the alert data, instead of its
    /// JSON.
    pub alert_template: Option<Template>,
}

/// The `[[httppost]]` endpoints by name. Cheap to clone: every clone (the httpPost nodes',
/// the post handlers') sees the endpoints [`Endpoints::set`] puts in place of the others.
#[derive(Debug, Clone, Default)]
pub struct Endpoints(Arc<RwLock<Arc<BTreeMap<String, EndpointConfig>>>>);

impl Endpoints {
    /// These endpoints.
    pub fn new(endpoints: BTreeMap<String, EndpointConfig>) -> Endpoints {
        Endpoints(Arc::new(RwLock::new(Arc::new(endpoints))))
    }

    /// The endpoint named `name`, as it is now.
    pub fn get(&self, name: &str) -> Option<EndpointConfig> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Puts `endpoints` in place of the endpoints.
    pub fn set(&self, endpoints: BTreeMap<String, EndpointConfig>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(endpoints);
    }

    /// Adds (or replaces) the endpoint `name`.
    pub fn insert(&self, name: &str, config: EndpointConfig) {
        let mut all = self.0.write().unwrap_or_else(|e| e.into_inner());
        Arc::make_mut(&mut all).insert(name.to_string(), config);
    }
}

/// The HTTP client and configured endpoints httpPost nodes use.
#[derive(Debug, Clone)]
pub struct HttpPostService {
    /// The client.
    pub poster: Arc<dyn HttpPoster>,
    /// `[[httppost]]` endpoints by name.
    pub endpoints: Endpoints,
}

impl HttpPostService {
    /// A service without configured endpoints.
    pub fn new(poster: Arc<dyn HttpPoster>) -> HttpPostService {
        HttpPostService {
            poster,
            endpoints: Endpoints::default(),
        }
    }

    /// Adds a named endpoint.
    pub fn with_endpoint(self, name: &str, config: EndpointConfig) -> HttpPostService {
        self.endpoints.insert(name, config);
        self
    }
}

#[derive(Debug)]
struct HttpPost {
    service: Option<Arc<HttpPostService>>,
    /// The endpoint posted to (`.endpoint(name)`): read at each post, so a change of its
    /// configuration applies at once; while it exists, its URL, headers and template
    /// replace the ones below, which are those it had when the task started.
    endpoint: Option<String>,
    url: String,
    /// The endpoint's `row-template`.
    row_template: Option<Template>,
    headers: Vec<(String, String)>,
    /// The node's own `.header()`s (after the endpoint's).
    own_headers: Vec<(String, String)>,
    code_field: Option<Sym>,
    capture: bool,
    timeout: Option<i64>,
    quiet: bool,
}

/// Builds an httpPost node.
pub(crate) fn build(
    spec: &HttpPostSpec,
    info: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    let service = info.services.get::<HttpPostService>(SERVICE_NAME);
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    let mut row_template = None;
    let url = if let Some(u) = spec.urls.first() {
        u.clone()
    } else if let Some(name) = spec.endpoints.first() {
        match service.as_ref().map(|s| s.endpoints.get(name)) {
            Some(Some(e)) => {
                headers.extend(e.headers.iter().cloned());
                row_template = e.row_template.clone();
                e.url.clone()
            }
            Some(None) => {
                return Err(BuildError::invalid(
                    info,
                    format!("endpoint '{name}' does not exist"),
                ));
            }
            None => String::new(),
        }
    } else {
        return Err(BuildError::invalid(
            info,
            "httpPost needs a URL or an endpoint",
        ));
    };
    headers.extend(spec.headers.iter().cloned());
    let endpoint = spec
        .urls
        .is_empty()
        .then(|| spec.endpoints.first().cloned())
        .flatten();
    Ok(Box::new(HttpPost {
        service,
        endpoint,
        url,
        row_template,
        headers,
        own_headers: spec.headers.clone(),
        code_field: (!spec.code_field.is_empty()).then(|| Sym::new(&spec.code_field)),
        capture: spec.capture_response,
        timeout: (spec.timeout > 0).then_some(spec.timeout),
        quiet: spec.quiet,
    }))
}

impl HttpPost {
    /// Posts one row; the status code (0 on failure).
    fn post(&self, row: Row, ctx: &mut Ctx<'_>) -> Option<u16> {
        let Some(service) = &self.service else {
            ctx.error(self.quiet, "no HTTP post service is configured");
            return None;
        };
        let current = self
            .endpoint
            .as_ref()
            .and_then(|e| service.endpoints.get(e));
        let (url, headers, row_template) = match &current {
            Some(e) => {
                let mut headers =
                    vec![("Content-Type".to_string(), "application/json".to_string())];
                headers.extend(e.headers.iter().cloned());
                headers.extend(self.own_headers.iter().cloned());
                (e.url.as_str(), headers, e.row_template.as_ref())
            }
            None => (
                self.url.as_str(),
                self.headers.clone(),
                self.row_template.as_ref(),
            ),
        };
        let body = match row_template {
            Some(t) => match t.execute(&row.template_data()) {
                Ok(b) => b,
                Err(e) => {
                    ctx.error(self.quiet, &format!("failed to execute row template: {e}"));
                    return None;
                }
            },
            // json.Encoder terminates the document with a newline.
            None => match ResultSet::single(row).to_json() {
                Ok(b) => b + "\n",
                Err(e) => {
                    ctx.error(self.quiet, &format!("failed to marshal row: {e}"));
                    return None;
                }
            },
        };
        match service.poster.post(url, &headers, body, self.timeout) {
            Ok((code, resp)) => {
                if code / 100 != 2 && !self.quiet {
                    let err = if self.capture {
                        resp
                    } else {
                        "unknown error, use .captureResponse() to capture the HTTP response"
                            .to_string()
                    };
                    ctx.services.log.log(
                        "ERROR",
                        &format!(
                            "task={} node={} msg=\"POST returned non 2xx status code\" code={code} err={err:?}",
                            ctx.task, ctx.node
                        ),
                    );
                }
                Some(code)
            }
            Err(e) => {
                if !self.quiet {
                    ctx.services.log.log(
                        "ERROR",
                        &format!(
                            "task={} node={} msg=\"failed to POST data\" err={e:?}",
                            ctx.task, ctx.node
                        ),
                    );
                }
                Some(0)
            }
        }
    }
}

impl Processor for HttpPost {
    fn process(&mut self, _: usize, mut msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match &mut msg {
            Msg::Point(p) => {
                if let Some(code) = self.post(point_row(p), ctx)
                    && let Some(f) = self.code_field
                {
                    set(&mut p.fields, f, FieldValue::Int(i64::from(code)));
                }
            }
            Msg::Batch(b) => {
                if let Some(code) = self.post(batch_row(b), ctx)
                    && let Some(f) = self.code_field
                {
                    for p in &mut b.points {
                        set(&mut p.fields, f, FieldValue::Int(i64::from(code)));
                    }
                }
            }
            Msg::Barrier(_) | Msg::DeleteGroup(_) => {}
        }
        out.push(msg);
    }
}
