//! The HTTP routes (Kapacitor's paths and JSON shapes under `/kapacitor/v1`).

use super::tasks::ViewOptions;
use super::{ApiError, Daemon, write};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kap_api_types::{CreateTask, CreateTemplate};
use kap_ingest::line_protocol::Precision;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

type St = State<Arc<Daemon>>;

/// The whole API.
pub fn router(daemon: Arc<Daemon>) -> Router {
    let log_enabled = daemon.config.http.log_enabled;
    let v1 = Router::new()
        .route("/ping", get(ping).head(ping))
        .route("/write", post(write_points))
        .route("/tasks", get(list_tasks).post(create_task))
        .route(
            "/tasks/{id}",
            get(get_task).patch(update_task).delete(delete_task),
        )
        .route("/tasks/{id}/{*endpoint}", get(http_out))
        .route("/templates", get(list_templates).post(create_template))
        .route(
            "/templates/{id}",
            get(get_template)
                .patch(update_template)
                .delete(delete_template),
        )
        .nest("/alerts", super::alerts::routes())
        .route("/debug/vars", get(debug_vars))
        .route("/subscriptions", post(sync_subscriptions))
        .route("/sideload/reload", post(reload_sideload))
        .merge(super::config_api::routes())
        .route("/service-tests", get(list_service_tests))
        .route(
            "/service-tests/{name}",
            get(get_service_test).post(run_service_test),
        )
        .route("/loglevel", post(log_level))
        .route("/storage/backup", get(backup))
        .route("/metrics", get(metrics))
        .merge(super::replay::routes());
    // Go's profiler endpoints exist only when asked for, as in Kapacitor.
    let v1 = if daemon.config.http.pprof_enabled {
        v1.merge(super::pprof::routes())
    } else {
        v1
    };
    Router::new()
        .nest("/kapacitor/v1", v1)
        .route("/kapacitor/v1preview/logs", get(super::logs::stream))
        .route("/write", post(write_points))
        .route("/ping", get(ping).head(ping))
        .fallback(not_found)
        .layer(axum::middleware::map_response(version_header))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                log_request(log_enabled, req, next)
            },
        ))
        .with_state(daemon)
}

/// Gives each request Kapacitor's `Request-Id` header and, with `[http] log-enabled`,
/// logs it as Kapacitor does (`msg="http request"` with method, uri, protocol, status,
/// referer, user agent, request id and duration).
async fn log_request(
    enabled: bool,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let id = super::tasks::new_id();
    let (method, uri, version) = (req.method().clone(), req.uri().clone(), req.version());
    let (referer, agent) = {
        let header = |name: axum::http::header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string()
        };
        (
            header(axum::http::header::REFERER),
            header(axum::http::header::USER_AGENT),
        )
    };
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("Request-Id", v);
    }
    if enabled {
        tracing::info!(
            target: "kapacitor::http",
            service = "http",
            method = %method,
            uri = %uri,
            protocol = ?version,
            status = resp.status().as_u16(),
            referer = %referer,
            user_agent = %agent,
            request_id = %id,
            duration = ?started.elapsed(),
            "http request"
        );
    }
    resp
}

async fn version_header(mut r: Response) -> Response {
    r.headers_mut().insert(
        "X-Kapacitor-Version",
        HeaderValue::from_static(crate::VERSION),
    );
    r
}

async fn not_found() -> ApiError {
    ApiError::not_found("not found".into())
}

async fn ping() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Query parameters, keeping repeated keys (`fields=a&fields=b`).
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Every key and value, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            raw.unwrap_or("")
                .split('&')
                .filter(|s| !s.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (percent_decode(k), percent_decode(v))
                })
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// An integer parameter, with a clear 400 when it is not one.
    pub fn int(&self, key: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                ApiError::bad_request(format!("invalid {key} parameter {v:?}: want an integer"))
            }),
        }
    }

    fn view(&self) -> ViewOptions {
        ViewOptions {
            raw_script: self.get("script-format") == Some("raw"),
            dot_labels: self.get("dot-view") == Some("labels"),
        }
    }
}

/// Decodes `%XX` and `+` in a query component.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON request body, or a 400 saying where it is invalid (serde_json's message ends
/// with the line and column).
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// Runs `f` on tokio's blocking pool (engine and store work).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("handler failed: {e}")))?
}

/// `offset` and `limit` (default 100; 0 or less: all) of a list.
pub(crate) fn page<T>(items: Vec<T>, q: &Query) -> Result<Vec<T>, ApiError> {
    let offset = q.int("offset", 0)?.max(0) as usize;
    let limit = q.int("limit", 100)?;
    let limit = if limit <= 0 {
        usize::MAX
    } else {
        limit as usize
    };
    Ok(items.into_iter().skip(offset).take(limit).collect())
}

// ---- tasks ----

async fn list_tasks(State(d): St, RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(q.as_deref());
    let offset = q.int("offset", 0)?.max(0) as usize;
    let limit = q.int("limit", 100)?;
    let fields = q.all("fields");
    let pattern = q.get("pattern").unwrap_or("").to_string();
    let tasks = d.tasks.list(&pattern, q.view());
    let tasks: Vec<Value> = tasks
        .into_iter()
        .skip(offset)
        .take(if limit <= 0 {
            usize::MAX
        } else {
            limit as usize
        })
        .map(|t| select_fields(serde_json::to_value(t).unwrap_or_default(), &fields))
        .collect();
    Ok(Json(json!({ "tasks": tasks })))
}

/// Keeps only the requested fields (plus `link` and `id`), as Kapacitor's `fields=`.
fn select_fields(v: Value, fields: &[&str]) -> Value {
    if fields.is_empty() {
        return v;
    }
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| k == "link" || k == "id" || fields.contains(&k.as_str()))
                .collect(),
        ),
        other => other,
    }
}

async fn create_task(State(d): St, body: Bytes) -> Result<Response, ApiError> {
    let opts: CreateTask = json_body(&body)?;
    let t = blocking(move || d.tasks.create(opts)).await?;
    Ok(Json(t).into_response())
}

async fn update_task(
    State(d): St,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let opts: CreateTask = json_body(&body)?;
    let t = blocking(move || d.tasks.update(&id, opts)).await?;
    Ok(Json(t).into_response())
}

async fn delete_task(State(d): St, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    blocking(move || d.tasks.delete(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_task(
    State(d): St,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let view = q.view();
    let mut task = d.tasks.get(&id, view)?;
    // `replay-id`: the statistics and DOT of that replay of the task, as it ended.
    if let Some(replay) = q.get("replay-id").filter(|r| !r.is_empty()) {
        let (of, stats, dot) = d.replays.replay_stats(replay, view.dot_labels)?;
        if of != id {
            return Err(ApiError::bad_request(format!(
                "replay {replay:?} replayed into task {of:?}, not {id:?}"
            )));
        }
        task.stats = serde_json::from_value(stats).unwrap_or_default();
        task.dot = dot;
    }
    Ok(Json(task).into_response())
}

async fn http_out(
    State(d): St,
    Path((id, endpoint)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    // Existence first, so a missing task and a missing endpoint read differently.
    d.tasks.get(&id, ViewOptions::default())?;
    match d.runtime.http_out.json(&id, &endpoint) {
        Some(Ok(body)) => Ok((
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()),
        Some(Err(e)) => Err(ApiError::internal(e)),
        None => Err(ApiError::not_found(format!(
            "task {id} has no httpOut endpoint {endpoint:?}, or it is not executing"
        ))),
    }
}

// ---- templates ----

async fn list_templates(State(d): St, RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(q.as_deref());
    let offset = q.int("offset", 0)?.max(0) as usize;
    let limit = q.int("limit", 100)?;
    let fields = q.all("fields");
    let pattern = q.get("pattern").unwrap_or("").to_string();
    let templates: Vec<Value> = d
        .tasks
        .list_templates(&pattern, q.view())
        .into_iter()
        .skip(offset)
        .take(if limit <= 0 {
            usize::MAX
        } else {
            limit as usize
        })
        .map(|t| select_fields(serde_json::to_value(t).unwrap_or_default(), &fields))
        .collect();
    Ok(Json(json!({ "templates": templates })))
}

async fn create_template(State(d): St, body: Bytes) -> Result<Response, ApiError> {
    let opts: CreateTemplate = json_body(&body)?;
    let t = blocking(move || d.tasks.create_template(opts)).await?;
    Ok(Json(t).into_response())
}

async fn update_template(
    State(d): St,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let opts: CreateTemplate = json_body(&body)?;
    let t = blocking(move || d.tasks.update_template(&id, opts)).await?;
    Ok(Json(t).into_response())
}

async fn delete_template(State(d): St, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    blocking(move || d.tasks.delete_template(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_template(
    State(d): St,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    Ok(Json(d.tasks.get_template(&id, q.view())?).into_response())
}

// ---- write ----

async fn write_points(
    State(d): St,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    d.runtime
        .ingest
        .write_requests
        .fetch_add(1, Ordering::Relaxed);
    let db = q.get("db").unwrap_or("").to_string();
    if db.is_empty() {
        return Err(ApiError::bad_request("database is required".into()));
    }
    let rp = match q.get("rp") {
        Some(rp) if !rp.is_empty() => rp.to_string(),
        _ if !d.config.default_retention_policy.is_empty() => {
            d.config.default_retention_policy.clone()
        }
        _ => "autogen".to_string(),
    };
    let precision: Precision = match q.get("precision") {
        None | Some("") => Precision::Nanoseconds,
        Some(p) => p
            .parse()
            .map_err(|e| ApiError::bad_request(format!("{e}")))?,
    };
    let gzip = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let max = d.config.http.max_body_size;
    let d2 = Arc::clone(&d);
    let tracing_writes = d.config.http.write_tracing;
    blocking(move || {
        let text = write::decode_body(&body, gzip, max)?;
        if tracing_writes {
            // `[http] write-tracing`: Kapacitor's detailed write log.
            tracing::info!(
                target: "kapacitor::http",
                service = "http",
                db = %db,
                rp = %rp,
                body = %text,
                "write body received by handler"
            );
        }
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
        let parsed = write::parse_body(&text, &db, &rp, precision, now);
        let accepted = parsed.points.len();
        d2.runtime
            .ingest
            .points_rejected
            .fetch_add(parsed.errors.len() as u64, Ordering::Relaxed);
        d2.runtime.write(parsed.points).map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("write refused, retry later: {e}"),
            )
        })?;
        if parsed.errors.is_empty() {
            Ok(StatusCode::NO_CONTENT.into_response())
        } else {
            Err(ApiError::bad_request(write::lines_error(
                &parsed.errors,
                accepted,
            )))
        }
    })
    .await
}

// ---- debug ----

async fn log_level(body: Bytes) -> Result<StatusCode, ApiError> {
    #[derive(serde::Deserialize)]
    struct Level {
        level: String,
    }
    let l: Level = json_body(&body)?;
    super::set_log_level(&l.level).map_err(ApiError::bad_request)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn backup(State(d): St) -> Result<Response, ApiError> {
    let bytes = blocking(move || {
        let dir = d
            .config
            .data_dir
            .join(format!(".backup-{}", super::tasks::new_id()));
        let path = dir.join("kapacitor.db");
        let result = d
            .store
            .backup_to(&path)
            .map_err(ApiError::internal)
            .and_then(|()| std::fs::read(&path).map_err(ApiError::internal));
        let _ = std::fs::remove_dir_all(&dir);
        result
    })
    .await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/octet-stream"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"kapacitor.db\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /subscriptions`: re-links the InfluxDB subscriptions now.
/// `POST /sideload/reload`: sideload nodes read their files again.
/// Base path of the service tests.
const SERVICE_TESTS_PATH: &str = "/kapacitor/v1/service-tests";

/// One service test: its link, name and default options.
fn service_test_json(name: &str, options: serde_json::Map<String, Value>) -> Value {
    json!({
        "link": {"rel": "self", "href": format!("{SERVICE_TESTS_PATH}/{name}")},
        "name": name,
        "options": options,
    })
}

/// The services that have a test: the alert services, `httppost`, `influxdb`, the scraper
/// and the discoverers, sorted.
fn service_test_names() -> Vec<&'static str> {
    let mut names = crate::alert_handlers::service_tests::names();
    names.push("influxdb");
    names.extend(super::scraper::SERVICE_TESTS);
    names.extend(super::autoscale::SERVICE_TESTS);
    names.sort_unstable();
    names
}

/// Service `name`'s test options with their defaults; `None` for a service without a test.
fn service_test_options(d: &Daemon, name: &str) -> Option<serde_json::Map<String, Value>> {
    if name == "influxdb" {
        // Kapacitor's `testOptions{Cluster}`; empty tests the default cluster.
        let mut o = serde_json::Map::new();
        o.insert("cluster".into(), json!(""));
        return Some(o);
    }
    if super::scraper::SERVICE_TESTS.contains(&name)
        || super::autoscale::SERVICE_TESTS.contains(&name)
    {
        return Some(super::scraper::service_test_options(name));
    }
    crate::alert_handlers::service_tests::default_options(d.alerts.services(), name)
}

/// Runs service `name`'s test; `None` for a service without a test.
fn service_test_run(
    d: &Daemon,
    name: &str,
    options: &serde_json::Map<String, Value>,
) -> Option<Result<(), String>> {
    if name == "influxdb" {
        // Kapacitor pings the cluster.
        let cluster = options.get("cluster").and_then(Value::as_str).unwrap_or("");
        let clusters = d.runtime.batch.clusters();
        return Some(match clusters.client(cluster) {
            Ok(client) => client.ping().map(|_| ()).map_err(|e| e.to_string()),
            Err(_) => Err(format!(
                "cluster {cluster:?} is not enabled or does not exist"
            )),
        });
    }
    if super::scraper::SERVICE_TESTS.contains(&name) {
        return Some(d.overrides.scraper_test(name, options));
    }
    if super::autoscale::SERVICE_TESTS.contains(&name) {
        return Some(d.runtime.orchestrators.service_test(name, options));
    }
    crate::alert_handlers::service_tests::run(d.alerts.services(), name, options)
}

/// `GET /service-tests[?pattern=]`: the services that have a test, with their options.
async fn list_service_tests(
    State(d): St,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(raw.as_deref());
    let pattern = q.get("pattern").unwrap_or("");
    let pat = glob::Pattern::new(pattern)
        .map_err(|e| ApiError::bad_request(format!("invalid pattern {pattern:?}: {e}")))?;
    let services: Vec<Value> = service_test_names()
        .into_iter()
        .filter(|n| pattern.is_empty() || pat.matches(n))
        .filter_map(|n| service_test_options(&d, n).map(|o| service_test_json(n, o)))
        .collect();
    Ok(Json(json!({
        "link": {"rel": "self", "href": SERVICE_TESTS_PATH},
        "services": services,
    })))
}

fn unknown_service(name: &str) -> ApiError {
    ApiError::not_found(format!("service {name:?} not found"))
}

/// `GET /service-tests/<name>`: one service's test options.
async fn get_service_test(State(d): St, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    service_test_options(&d, &name)
        .map(|o| Json(service_test_json(&name, o)))
        .ok_or_else(|| unknown_service(&name))
}

/// `POST /service-tests/<name>` with options over the defaults: runs the test and answers
/// `{"success", "message"}` (200 either way, as Kapacitor does).
async fn run_service_test(
    State(d): St,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let options: serde_json::Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Map::new()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("failed to decode JSON body: {e}")))?
    };
    blocking(move || {
        let outcome =
            service_test_run(&d, &name, &options).ok_or_else(|| unknown_service(&name))?;
        Ok(Json(match outcome {
            Ok(()) => json!({"success": true, "message": ""}),
            Err(e) => json!({"success": false, "message": e}),
        }))
    })
    .await
}

async fn reload_sideload(State(d): St) -> StatusCode {
    d.runtime.sideload.reload();
    StatusCode::NO_CONTENT
}

async fn sync_subscriptions(State(d): St) -> Result<StatusCode, ApiError> {
    blocking(move || {
        match d
            .subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some(s) => s
                .sync_now()
                .map(|_| StatusCode::NO_CONTENT)
                .map_err(ApiError::internal_msg),
            None => Ok(StatusCode::NO_CONTENT),
        }
    })
    .await
}

async fn debug_vars(State(d): St) -> Json<Value> {
    let (tasks, enabled) = d.tasks.counts();
    Json(json!({
        "cluster_id": d.ids.cluster,
        "server_id": d.ids.server,
        "host": d.config.hostname,
        "product": "kapacitor",
        "version": crate::VERSION,
        "num_tasks": tasks,
        "num_enabled_tasks": enabled,
        "num_subscriptions": d
            .subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(0, |s| s.count()),
        "uptime": d.runtime.uptime().as_secs(),
        // Kapacitor's `{name, tags, values}` objects (Telegraf's `inputs.kapacitor`).
        "kapacitor": super::stats::vars(&d),
    }))
}

async fn metrics(State(d): St) -> Response {
    let (tasks, enabled) = d.tasks.counts();
    let i = &d.runtime.ingest;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, v: u64| {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
        ));
    };
    metric("kapacitor_tasks", "gauge", "Defined tasks.", tasks as u64);
    metric(
        "kapacitor_enabled_tasks",
        "gauge",
        "Enabled tasks.",
        enabled as u64,
    );
    metric(
        "kapacitor_points_received_total",
        "counter",
        "Points accepted by /write.",
        i.points_received.load(Ordering::Relaxed),
    );
    metric(
        "kapacitor_points_rejected_total",
        "counter",
        "Malformed lines rejected by /write.",
        i.points_rejected.load(Ordering::Relaxed),
    );
    metric(
        "kapacitor_writes_refused_total",
        "counter",
        "Writes refused with 503 because the engine was busy.",
        i.writes_refused.load(Ordering::Relaxed),
    );
    metric(
        "kapacitor_uptime_seconds",
        "gauge",
        "Seconds since start.",
        d.runtime.uptime().as_secs(),
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keeps_repeats_and_decodes() {
        let q = Query::parse(Some("fields=type&fields=status&pattern=a%2A&x=b+c"));
        assert_eq!(q.all("fields"), vec!["type", "status"]);
        assert_eq!(q.get("pattern"), Some("a*"));
        assert_eq!(q.get("x"), Some("b c"));
        assert_eq!(percent_decode("t%C3%A1sk"), "tásk");
    }
}
