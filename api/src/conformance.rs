//! `kapacitord conformance DIR`: runs Kapacitor's own integration-test cases (a corpus of
//! script + recorded data + expected httpOut output, see the corpus README) through the
//! engine, exactly as the Go harness replays them, and compares the results with the
//! README's rules.

use crate::alert_handlers::{HandlerDispatcher, HandlerServices};
use anyhow::{Context, Result, bail};
use kap_dataflow::alert::{ALERTS_SERVICE, AlertService};
use kap_dataflow::exec::TaskExec;
use kap_dataflow::node::Services;
use kap_dataflow::ops::http_out::HttpOutRegistry;
use kap_dataflow::point::{Batch, Point};
use kap_dataflow::runtime::{Engine, EngineConfig, Feed};
use kap_dsl::eval::CompileOptions;
use kap_dsl::plan::{Pipeline, TaskType};
use kap_ingest::line_protocol::Precision;
use kap_ingest::recording::{self, RecordedBatch};
use serde_json::Value as Json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// 1971-01-01T00:00:00Z, the replay clock's zero ("so that we don't get true negatives on
/// Epoch 0 collisions").
const CLOCK_ZERO: i64 = 31_536_000_000_000_000;
/// The year the corpus was extracted in: `now()` cases expect it, and it is replaced by the
/// current year before comparing.
const EXTRACTION_YEAR: f64 = 2026.0;
/// Capabilities this runner provides (a case needing anything else is skipped).
const SUPPORTED: &[&str] = &[
    "http_sink",
    "wall_clock_now",
    "wall_clock_timers",
    // The `tm_init` hooks below: a named httppost endpoint (`tm_init.httppost_endpoints`,
    // see `services::with_http_post`) and the sideload service (`__DATA_DIR__`).
    "tm_init",
    "httppost_endpoint_config",
    "sideload",
    // A mock Kubernetes API, Docker API and AWS Auto Scaling API on 127.0.0.1
    // (`orchestrator`).
    "k8s_mock",
    "swarm_mock",
    "ec2_mock",
    // The Go harness's in-process UDF `customFunc` (`CustomFunc`).
    "udf",
];

/// Outcome of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Output matched.
    Passed,
    /// Output differed or the case could not run; a short explanation, and the whole
    /// result the engine produced when there was one.
    Failed(String, Option<Json>),
    /// Not run (marked skip, or needs a capability the runner lacks).
    Skipped(String),
}

/// Totals of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Cases that passed.
    pub passed: Vec<String>,
    /// Failing cases with their reason.
    pub failed: Vec<(String, String)>,
    /// Skipped cases with the reason.
    pub skipped: Vec<(String, String)>,
}

impl Summary {
    /// The closing line: `N passed, M failed, K skipped`.
    pub fn line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed.len(),
            self.failed.len(),
            self.skipped.len()
        )
    }
}

/// Runs every case of `dir/cases` (optionally only names containing `filter`), printing a
/// line per failing case and the summary line.
/// Runs every case; `workers: None` uses the single-threaded reference executor instead of
/// the timely engine.
pub fn run(
    dir: &Path,
    workers: Option<usize>,
    filter: Option<&str>,
    verbose: bool,
    out: &mut dyn Write,
) -> Result<Summary> {
    let sink = HttpSink::start().context("starting the local HTTP sink")?;
    let handlers = Arc::new(AlertService(Arc::new(HandlerDispatcher::start(
        5000,
        Arc::new(HandlerServices::unconfigured()),
    ))));
    let engine = match workers {
        Some(workers) => Some(
            Engine::start(EngineConfig {
                workers,
                ..EngineConfig::default()
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        ),
        None => None,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("cases"))
        .with_context(|| format!("reading {}", dir.join("cases").display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut summary = Summary::default();
    for f in files {
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        let case: Json =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", f.display()))?;
        let name = case["name"].as_str().unwrap_or("?").to_string();
        if filter.is_some_and(|flt| !name.contains(flt)) {
            continue;
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_case(dir, &case, &sink, engine.as_ref(), &handlers)
        }))
        .unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Outcome::Failed(format!("panic: {msg}"), None)
        });
        match outcome {
            Outcome::Passed => {
                if verbose {
                    writeln!(out, "ok   {name}")?;
                }
                summary.passed.push(name);
            }
            Outcome::Failed(why, got) => {
                writeln!(out, "FAIL {name}: {why}")?;
                if verbose && let Some(got) = got {
                    writeln!(out, "     got: {got}")?;
                }
                summary.failed.push((name, why));
            }
            Outcome::Skipped(why) => {
                if verbose {
                    writeln!(out, "skip {name}: {why}")?;
                }
                summary.skipped.push((name, why));
            }
        }
    }
    writeln!(out, "{}", summary.line())?;
    Ok(summary)
}

/// Runs one case.
pub fn run_case(
    dir: &Path,
    case: &Json,
    sink: &HttpSink,
    engine: Option<&Engine>,
    handlers: &Arc<AlertService>,
) -> Outcome {
    let requires: Vec<&str> = case["requires"]
        .as_array()
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    // A case marked skip needs setup the Go harness did in code: it runs when this runner
    // provides all of that setup (the README: "a complete runner supports the httppost
    // endpoint and sideload cases too"), and is skipped otherwise. The one setup no
    // capability names is the status each POST gets: a script with `.codeField()` outputs
    // it (the README's exception), and this runner's sink always answers 200.
    let answers_matter = case["script"]
        .as_str()
        .is_some_and(|s| s.contains(".codeField("));
    let provided =
        !requires.is_empty() && requires.iter().all(|r| SUPPORTED.contains(r)) && !answers_matter;
    if case["skip"].as_bool() == Some(true) && !provided {
        return Outcome::Skipped(
            case["skip_reason"]
                .as_str()
                .unwrap_or("marked skip")
                .to_string(),
        );
    }
    if let Some(r) = requires.iter().find(|r| !SUPPORTED.contains(r)) {
        return Outcome::Skipped(format!("needs `{r}`"));
    }
    match execute(dir, case, sink, engine, handlers) {
        Ok(got) => {
            let mut expected = case["expected"].clone();
            if requires.contains(&"wall_clock_now") {
                replace_year(&mut expected);
            }
            let ignore_order = case["ignore_order"].as_bool().unwrap_or(false);
            match compare(&expected, &got, ignore_order) {
                Ok(()) => Outcome::Passed,
                Err(diff) => Outcome::Failed(diff, Some(got)),
            }
        }
        Err(e) => Outcome::Failed(format!("{e:#}"), None),
    }
}

/// Replays the case's data through its task and returns the httpOut JSON.
fn execute(
    dir: &Path,
    case: &Json,
    sink: &HttpSink,
    engine: Option<&Engine>,
    handlers: &Arc<AlertService>,
) -> Result<Json> {
    let kind = match case["kind"].as_str() {
        Some("batch") => TaskType::Batch,
        _ => TaskType::Stream,
    };
    let task = case["task_name"]
        .as_str()
        .context("case has no task_name")?;
    let endpoint = case["http_out"].as_str().context("case has no http_out")?;
    let data_dir = dir.join("data");
    let abs_data = std::fs::canonicalize(&data_dir).unwrap_or(data_dir.clone());
    let script = case["script"]
        .as_str()
        .context("case has no script")?
        .replace("__HTTP_SINK_URL__", &sink.url)
        .replace("__DATA_DIR__", &abs_data.to_string_lossy());
    let needs = |what: &str| {
        case["requires"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == what))
    };
    let opts = CompileOptions {
        task_type: Some(kind),
        udfs: if needs("udf") {
            [(CUSTOM_FUNC.to_string(), CustomFunc::info())].into()
        } else {
            Default::default()
        },
        ..CompileOptions::default()
    };
    let compiled = kap_dsl::compile_source(&script, &opts).map_err(|d| {
        anyhow::anyhow!(
            "script does not compile: {}",
            d.iter()
                .map(|d| d.one_line())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let plan = compiled.pipeline;
    let registry = Arc::new(HttpOutRegistry::default());
    let services = Services::default()
        .with("http_out", Arc::clone(&registry))
        .with(ALERTS_SERVICE, Arc::clone(handlers));
    let mut services = crate::services::with_http_post(services, case, &sink.url);
    if needs("udf") {
        services = services.with(
            kap_dataflow::ops::udf::UDF_SERVICE,
            Arc::new(kap_dataflow::ops::udf::UdfStarter(Arc::new(CustomFunc))),
        );
    }
    if needs("k8s_mock") || needs("swarm_mock") || needs("ec2_mock") {
        services = services.with(
            kap_dataflow::ops::autoscale::AUTOSCALE_SERVICE,
            autoscale_service(orchestrator_url()?)?,
        );
    }
    let files: Vec<&str> = case["data"]
        .as_array()
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    if engine.is_none() {
        // The single-threaded reference executor (`--direct`): same processors, no timely.
        let mut exec = TaskExec::new(task, &plan, services).map_err(|e| anyhow::anyhow!("{e}"))?;
        match kind {
            TaskType::Stream => {
                let file = files.first().context("stream case without data")?;
                let bytes = std::fs::read(data_dir.join(file))
                    .with_context(|| format!("reading {file}"))?;
                for p in replay_stream(&plan, &bytes)? {
                    exec.push_point(p);
                }
            }
            TaskType::Batch => {
                for (i, b) in replay_batches(&read_batch_files(&data_dir, &files)?) {
                    exec.push_batch(i, b);
                }
            }
        }
        exec.finish();
        return read_http_out(&registry, task, endpoint);
    }
    let engine = engine.context("no engine")?;
    engine
        .install(task, &plan, services, Feed::Direct)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let fed = (|| -> Result<()> {
        match kind {
            TaskType::Stream => {
                let file = files.first().context("stream case without data")?;
                let bytes = std::fs::read(data_dir.join(file))
                    .with_context(|| format!("reading {file}"))?;
                for chunk in replay_stream(&plan, &bytes)?.chunks(REPLAY_CHUNK) {
                    engine
                        .feed_points(task, chunk.to_vec())
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                }
            }
            TaskType::Batch => {
                let sources = read_batch_files(&data_dir, &files)?;
                // Recording `i` feeds the `i`-th query node in Kapacitor's walk order.
                let queries = crate::daemon::batch::query_nodes(&plan);
                for (i, b) in replay_batches(&sources) {
                    if let Some(&q) = queries.get(i) {
                        engine
                            .feed_batches(task, q, vec![b])
                            .map_err(|e| anyhow::anyhow!("{e}"))?;
                    }
                }
            }
        }
        Ok(())
    })();
    let closed = engine.close_and_wait(task, std::time::Duration::from_secs(60));
    fed?;
    closed.map_err(|e| anyhow::anyhow!("{e}"))?;
    read_http_out(&registry, task, endpoint)
}

fn read_batch_files(data_dir: &Path, files: &[&str]) -> Result<Vec<Vec<RecordedBatch>>> {
    let mut sources = Vec::new();
    for file in files {
        let bytes =
            std::fs::read(data_dir.join(file)).with_context(|| format!("reading {file}"))?;
        let mut batches = recording::read_brpl(&bytes)?;
        sources.push(batches.drain(..).next().unwrap_or_default());
    }
    Ok(sources)
}

fn read_http_out(registry: &HttpOutRegistry, task: &str, endpoint: &str) -> Result<Json> {
    let json = registry
        .json(task, endpoint)
        .unwrap_or_else(|| Ok("{\"series\":null}".to_string()))
        .map_err(|e| anyhow::anyhow!("httpOut cannot be rendered: {e}"))?;
    serde_json::from_str(&json).with_context(|| format!("httpOut returned invalid JSON: {json}"))
}

/// Points per epoch when replaying a stream recording.
const REPLAY_CHUNK: usize = 256;

/// Stream replay: times rebased on the first record, kept in file order when db/rp and
/// measurement match the task (the task master's routing rule).
fn replay_stream(plan: &Pipeline, bytes: &[u8]) -> Result<Vec<Point>> {
    let records = recording::read_srpl(bytes, Precision::Seconds)?;
    let origin = records.first().and_then(|r| r.point.timestamp).unwrap_or(0);
    let measurements = crate::daemon::tasks::measurements(plan);
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        if r.db != "dbname" || r.rp != "rpname" {
            continue;
        }
        let name = r.point.measurement.as_ref();
        if let Some(ms) = &measurements
            && !ms.iter().any(|m| m == name)
        {
            continue;
        }
        let time = CLOCK_ZERO + (r.point.timestamp.unwrap_or(origin) - origin);
        out.push(point_from_line(&r.db, &r.rp, &r.point, time));
    }
    Ok(out)
}

pub use crate::daemon::write::point_from_line;

/// Batch replay as a daemon replay does it, on the corpus clock: `(file index, batch)`.
fn replay_batches(sources: &[Vec<RecordedBatch>]) -> Vec<(usize, Batch)> {
    crate::daemon::batch::replay_order(sources, false, CLOCK_ZERO)
}

fn replace_year(v: &mut Json) {
    let year = current_year() as f64;
    match v {
        Json::Number(n) if n.as_f64() == Some(EXTRACTION_YEAR) => {
            *v = Json::from(year as i64);
        }
        Json::Array(a) => a.iter_mut().for_each(replace_year),
        Json::Object(o) => o.values_mut().for_each(replace_year),
        _ => {}
    }
}

fn current_year() -> i32 {
    use chrono::Datelike;
    chrono::Local::now().year()
}

/// Compares an expected httpOut result with what the engine produced (corpus README rules).
pub fn compare(expected: &Json, got: &Json, ignore_order: bool) -> std::result::Result<(), String> {
    let series = |v: &Json| -> std::result::Result<Vec<Json>, String> {
        match &v["series"] {
            Json::Null => Ok(Vec::new()),
            Json::Array(a) => Ok(a.clone()),
            other => Err(format!("`series` is not a list: {other}")),
        }
    };
    if expected.get("error") != got.get("error") {
        return Err(format!(
            "error differs: expected {:?}, got {:?}",
            expected.get("error"),
            got.get("error")
        ));
    }
    let (exp, got_s) = (series(expected)?, series(got)?);
    if got_s.iter().any(Json::is_null) {
        return Err("a group slot is null (no row was ever stored for it)".into());
    }
    if exp.len() != got_s.len() {
        return Err(format!(
            "{} series expected, got {}: {}",
            exp.len(),
            got_s.len(),
            short(got)
        ));
    }
    if !ignore_order {
        for (i, (e, g)) in exp.iter().zip(&got_s).enumerate() {
            compare_row(e, g).map_err(|d| format!("series {i}: {d}"))?;
        }
        return Ok(());
    }
    let mut used = vec![false; got_s.len()];
    for e in &exp {
        let found = got_s
            .iter()
            .enumerate()
            .find(|(j, g)| !used[*j] && e["name"] == g["name"] && tags_of(e) == tags_of(g));
        let Some((j, g)) = found else {
            return Err(format!(
                "no series named {} with tags {} in {}",
                e["name"],
                tags_of(e),
                short(got)
            ));
        };
        used[j] = true;
        compare_row(e, g).map_err(|d| format!("series {} {}: {d}", e["name"], tags_of(e)))?;
    }
    Ok(())
}

fn tags_of(row: &Json) -> Json {
    match &row["tags"] {
        Json::Null => Json::Object(Default::default()),
        t => t.clone(),
    }
}

fn compare_row(e: &Json, g: &Json) -> std::result::Result<(), String> {
    if e["name"] != g["name"] {
        return Err(format!("name: expected {}, got {}", e["name"], g["name"]));
    }
    if tags_of(e) != tags_of(g) {
        return Err(format!("tags: expected {}, got {}", tags_of(e), tags_of(g)));
    }
    if e["columns"] != g["columns"] {
        return Err(format!(
            "columns: expected {}, got {}",
            e["columns"], g["columns"]
        ));
    }
    let rows = |v: &Json| v["values"].as_array().cloned().unwrap_or_default();
    let (er, gr) = (rows(e), rows(g));
    if er.len() != gr.len() {
        return Err(format!(
            "{} rows expected, got {}: {}",
            er.len(),
            gr.len(),
            short(&g["values"])
        ));
    }
    let time_first = e["columns"].get(0).and_then(Json::as_str) == Some("time");
    for (i, (a, b)) in er.iter().zip(&gr).enumerate() {
        let (a, b) = (
            a.as_array().cloned().unwrap_or_default(),
            b.as_array().cloned().unwrap_or_default(),
        );
        if a.len() != b.len() {
            return Err(format!(
                "row {i}: expected {} values, got {}",
                a.len(),
                b.len()
            ));
        }
        for (k, (x, y)) in a.iter().zip(&b).enumerate() {
            if !value_eq(x, y, time_first && k == 0) {
                return Err(format!(
                    "row {i} column {k}: expected {x}, got {y} (row {})",
                    Json::Array(b.clone())
                ));
            }
        }
    }
    Ok(())
}

fn value_eq(x: &Json, y: &Json, is_time: bool) -> bool {
    match (x, y) {
        (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
        (Json::String(a), Json::String(b)) if is_time => {
            match (recording::parse_time(a), recording::parse_time(b)) {
                (Some(p), Some(q)) => p == q,
                _ => a == b,
            }
        }
        _ => x == y,
    }
}

fn short(v: &Json) -> String {
    let s = v.to_string();
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s
    }
}

/// A local HTTP server on 127.0.0.1 that accepts every request with `200 OK` (the target of
/// `httpPost` and `alert().post()` in the corpus scripts).
#[derive(Debug)]
pub struct HttpSink {
    /// `http://127.0.0.1:<port>`
    pub url: String,
}

impl HttpSink {
    /// Binds an ephemeral port and serves on a background thread.
    pub fn start() -> std::io::Result<HttpSink> {
        Ok(HttpSink {
            url: serve("conformance-http-sink", |_, _, _| (200, String::new()))?,
        })
    }
}

/// A handler of a test server: method, path and body to status and answer.
type Handler = fn(&str, &str, &str) -> (u16, String);

/// Serves HTTP/1.1 on an ephemeral port of 127.0.0.1 on background threads, each request
/// answered by `handler`; returns the server's URL.
fn serve(name: &str, handler: Handler) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let _ = serve_one(stream, handler);
                });
            }
        })?;
    Ok(url)
}

fn serve_one(stream: std::net::TcpStream, handler: Handler) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut len = 0usize;
        let mut request = String::new();
        if reader.read_line(&mut request)? == 0 {
            return Ok(());
        }
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        let mut parts = request.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let (status, answer) = handler(method, path, &String::from_utf8_lossy(&body));
        let mut w = &stream;
        write!(
            w,
            "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\n\r\n{answer}",
            if status == 200 { "OK" } else { "Not Found" },
            answer.len()
        )?;
    }
}

/// The Kubernetes, Docker Swarm and AWS Auto Scaling APIs as the Go harness's mocks answer
/// them (`k8s_mock`, `swarm_mock`, `ec2_mock`): resource `serviceA` has 1 replica,
/// `serviceB` 10, any other none; updates are accepted and change nothing.
fn orchestrator(method: &str, path: &str, body: &str) -> (u16, String) {
    let replicas = |name: &str| match name {
        "serviceA" => 1,
        "serviceB" => 10,
        _ => 0,
    };
    // AWS's query protocol: the action and its parameters are the form body.
    if method == "POST" && path == "/" {
        let param = |k: &str| {
            body.split('&')
                .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
                .unwrap_or("")
        };
        let xmlns = "xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"";
        return match param("Action") {
            "DescribeAutoScalingGroups" => {
                let name = param("AutoScalingGroupNames.member.1");
                (
                    200,
                    format!(
                        "<DescribeAutoScalingGroupsResponse {xmlns}><DescribeAutoScalingGroupsResult><AutoScalingGroups><member><AutoScalingGroupName>{name}</AutoScalingGroupName><DesiredCapacity>{}</DesiredCapacity></member></AutoScalingGroups></DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>",
                        replicas(name)
                    ),
                )
            }
            "SetDesiredCapacity" => (
                200,
                format!("<SetDesiredCapacityResponse {xmlns}></SetDesiredCapacityResponse>"),
            ),
            other => (
                400,
                format!(
                    "<ErrorResponse><Error><Code>InvalidAction</Code><Message>{other}</Message></Error></ErrorResponse>"
                ),
            ),
        };
    }
    let segments: Vec<&str> = path.split('?').next().unwrap_or("").split('/').collect();
    match (method, segments.as_slice()) {
        // `/apis/apps/v1/namespaces/<ns>/<kind>/<name>/scale` (or `/api/v1/…`).
        ("GET", [.., "namespaces", ns, _, name, "scale"]) => (
            200,
            serde_json::json!({
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"replicas": replicas(name)},
                "status": {"replicas": replicas(name)},
            })
            .to_string(),
        ),
        ("PUT", [.., "namespaces", _, _, _, "scale"]) => (200, "{}".into()),
        ("GET", ["", "services", name]) => (
            200,
            serde_json::json!({
                "ID": name,
                "Version": {"Index": 1},
                "Spec": {"Name": name, "Mode": {"Replicated": {"Replicas": replicas(name)}}},
            })
            .to_string(),
        ),
        ("POST", ["", "services", _, "update"]) => (200, "{\"Warnings\":null}".into()),
        _ => (404, "{\"message\":\"not found\"}".into()),
    }
}

/// Name of the Go harness's test UDF.
const CUSTOM_FUNC: &str = "customFunc";

/// The Go harness's test UDF (`tm_init.udf_service`): it wants and provides a stream, takes
/// options `opt1` (a string) and `opt2` (bool, int, float, string, duration), and answers
/// each point with the same point carrying only the field `customField` = 42.0.
#[derive(Debug)]
struct CustomFunc;

impl CustomFunc {
    fn info() -> kap_dsl::UdfInfo {
        use kap_dsl::registry::EdgeType;
        use kap_dsl::value::ValueType;
        kap_dsl::UdfInfo {
            wants: EdgeType::Stream,
            provides: EdgeType::Stream,
            options: [
                ("opt1".to_string(), vec![ValueType::String]),
                (
                    "opt2".to_string(),
                    vec![
                        ValueType::Bool,
                        ValueType::Int,
                        ValueType::Float,
                        ValueType::String,
                        ValueType::Duration,
                    ],
                ),
            ]
            .into(),
        }
    }
}

/// A running [`CustomFunc`].
#[derive(Debug, Default)]
struct CustomFuncAgent {
    answers: std::collections::VecDeque<kap_dataflow::point::Msg>,
    closed: bool,
}

impl kap_dataflow::ops::udf::UdfService for CustomFunc {
    fn start(
        &self,
        udf: &str,
        _: &str,
        _: &str,
        _: &[(String, Vec<kap_dsl::value::Value>)],
        _: kap_dataflow::ops::udf::Wake,
    ) -> std::result::Result<Box<dyn kap_dataflow::ops::udf::UdfAgent>, String> {
        if udf != CUSTOM_FUNC {
            return Err(format!("no UDF {udf}"));
        }
        Ok(Box::new(CustomFuncAgent::default()))
    }

    fn timeout(&self, _: &str) -> std::time::Duration {
        std::time::Duration::from_secs(10)
    }
}

impl kap_dataflow::ops::udf::UdfAgent for CustomFuncAgent {
    fn send(&mut self, msg: &kap_dataflow::point::Msg) -> std::result::Result<(), String> {
        use kap_dataflow::point::{FieldValue, Msg, Sym};
        if let Msg::Point(p) = msg {
            let mut p = p.clone();
            p.fields = vec![(Sym::new("customField"), FieldValue::Float(42.0))].into();
            self.answers.push_back(Msg::Point(p));
        }
        Ok(())
    }

    fn recv(&mut self, _: std::time::Duration) -> kap_dataflow::ops::udf::Received {
        use kap_dataflow::ops::udf::Received;
        match self.answers.pop_front() {
            Some(m) => Received::Msg(m),
            None if self.closed => Received::Ended(None),
            None => Received::Nothing,
        }
    }

    fn close(&mut self) {
        self.closed = true;
    }
}

/// The runner's mock orchestrator: its URL, served from the first case that needs it.
fn orchestrator_url() -> Result<&'static str> {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(u) = URL.get() {
        return Ok(u);
    }
    let url = serve("conformance-orchestrator", orchestrator)?;
    Ok(URL.get_or_init(|| url))
}

/// The autoscale service of a case: clusters `""` of Kubernetes, Swarm and EC2 on the
/// runner's mock orchestrator.
fn autoscale_service(url: &str) -> Result<Arc<kap_dataflow::ops::autoscale::Autoscale>> {
    let k8s = crate::config::KubernetesConfig {
        enabled: true,
        api_servers: vec![url.to_string()],
        ..Default::default()
    };
    let swarm = crate::config::SwarmConfig {
        enabled: true,
        servers: vec![url.to_string()],
        ..Default::default()
    };
    let ec2 = crate::config::Ec2Config {
        enabled: true,
        access_key: "conformance".into(),
        secret_key: "conformance".into(),
        endpoint: url.to_string(),
        ..Default::default()
    };
    let clusters = crate::daemon::autoscale::Orchestrators::new(&[k8s], &[swarm], &[ec2])
        .map_err(anyhow::Error::msg)?;
    Ok(Arc::new(kap_dataflow::ops::autoscale::Autoscale(Arc::new(
        clusters,
    ))))
}

/// Checks that `dir` looks like a corpus directory.
pub fn check_dir(dir: &Path) -> Result<()> {
    if !dir.join("cases").is_dir() || !dir.join("data").is_dir() {
        bail!(
            "{} is not a conformance corpus: it needs cases/ and data/",
            dir.display()
        );
    }
    Ok(())
}
