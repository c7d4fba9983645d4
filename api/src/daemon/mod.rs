//! `kapacitord`: the HTTP API over the engine, with persistence.
//!
//! ```text
//!  HTTP (axum, TCP + unix socket)        ── http.rs ──┐
//!    /write ─ line protocol ─▶ Runtime::write ─▶ Engine (timely workers)
//!    /tasks, /templates ─────▶ TaskManager ─▶ Store (redb) + Runtime::start_task
//! ```
//!
//! Handlers never run engine work on the async threads: task changes, which wait for every
//! worker to install a dataflow, run on tokio's blocking pool.

pub mod alerts;
pub mod autoscale;
pub mod aws;
mod azure_sd;
pub mod batch;
pub mod collectd;
pub mod config_api;
pub mod demo;
mod gce_sd;
pub mod graphite;
pub mod http;
pub mod influxdb;
mod kubernetes_sd;
mod lines;
pub mod logs;
pub mod opentsdb;
mod pprof;
pub mod replay;
pub mod runtime;
pub mod scraper;
pub mod stats;
pub(crate) mod subscriptions;
pub mod tasks;
pub mod throughput;
pub mod tls;
mod token;
pub mod udf;
pub mod udp;
pub mod vars;
pub mod write;

use crate::config::Config;
use crate::services::UreqPoster;
use crate::store::Store;
use anyhow::Context as _;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kap_api_types::ErrorBody;
use kap_dataflow::alert::{AlertService, TopicStore};
use kap_dataflow::runtime::{Engine, EngineConfig};
use std::net::SocketAddr;
use std::sync::Arc;

/// An API error: status, Kapacitor's text, and script diagnostics when there are any.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Error text.
    pub message: String,
    /// Diagnostics of a rejected script.
    pub diagnostics: Vec<kap_api_types::DiagnosticDto>,
}

impl ApiError {
    /// 400.
    pub fn bad_request(message: String) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    /// 404.
    pub fn not_found(message: String) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    /// 500 with a message.
    pub fn internal_msg(message: String) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
    /// 500 from an error value.
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::internal_msg(e.to_string())
    }
    /// Any status.
    pub fn new(status: StatusCode, message: String) -> ApiError {
        ApiError {
            status,
            message,
            diagnostics: Vec::new(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.message.clone(),
            message: self.message,
            diagnostics: self.diagnostics,
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// Everything the HTTP handlers share.
#[derive(Debug)]
pub struct Daemon {
    /// The configuration it runs with.
    pub config: Config,
    /// Metadata store.
    pub store: Store,
    /// Engine-facing state.
    pub runtime: Arc<runtime::Runtime>,
    /// Tasks and templates.
    pub tasks: tasks::TaskManager,
    /// Alert topics, their handlers and persisted states.
    pub alerts: Arc<alerts::AlertCenter>,
    /// Recordings and replays.
    pub replays: replay::ReplayService,
    /// Addresses the `[[udp]]` listeners are bound to (once serving).
    pub udp_addrs: std::sync::Mutex<Vec<SocketAddr>>,
    /// This installation's ids (`<data_dir>/cluster.id`, `server.id`), kept across restarts.
    pub ids: Ids,
    /// InfluxDB subscriptions, started once HTTP is served (their destination is our port,
    /// kept in `http_port`), and started again when `/config` changes the clusters.
    pub(crate) subscriptions: std::sync::Mutex<Option<subscriptions::Subscriptions>>,
    /// The HTTP port we serve on (once serving).
    http_port: std::sync::OnceLock<u16>,
    /// The overridable sections (alert services, `[[influxdb]]`, `[[httppost]]`, the
    /// scraper's) as changed through `/config`.
    pub overrides: config_api::ConfigOverrides,
    /// The Prometheus scrapers.
    pub scrapers: Arc<scraper::ScraperService>,
}

/// Kapacitor's cluster and server ids: random once, then read back from `data_dir`.
#[derive(Debug, Clone)]
pub struct Ids {
    /// `cluster.id`: names our InfluxDB subscriptions (`kapacitor-<cluster id>`).
    pub cluster: String,
    /// `server.id`.
    pub server: String,
}

impl Ids {
    fn load(data_dir: &std::path::Path) -> anyhow::Result<Ids> {
        let one = |name: &str| -> anyhow::Result<String> {
            let path = data_dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                _ => {
                    let id = tasks::new_id();
                    std::fs::write(&path, &id)
                        .with_context(|| format!("writing {}", path.display()))?;
                    Ok(id)
                }
            }
        };
        Ok(Ids {
            cluster: one("cluster.id")?,
            server: one("server.id")?,
        })
    }

    /// Starts the subscriptions of `config`'s clusters, pointing at `port`.
    fn subscribe(
        &self,
        config: &Config,
        runtime: &Arc<runtime::Runtime>,
        port: u16,
    ) -> subscriptions::Subscriptions {
        let clusters = runtime
            .batch
            .clusters()
            .all()
            .into_iter()
            .map(|(client, mut c)| {
                if c.kapacitor_hostname.is_empty() {
                    c.kapacitor_hostname = config.hostname.clone();
                }
                (client, c)
            })
            .collect();
        subscriptions::Subscriptions::start(
            clusters,
            (self.cluster.clone(), self.server.clone()),
            port,
            udp::UdpSink::runtime(Arc::clone(runtime)),
        )
    }
}

impl Daemon {
    /// Starts the InfluxDB subscriptions of the clusters as they are now, in place of the
    /// running ones (nothing before HTTP is served).
    pub(crate) fn resubscribe(&self) {
        let Some(port) = self.http_port.get() else {
            return;
        };
        let subs = self.ids.subscribe(&self.config, &self.runtime, *port);
        // The old ones stop when dropped (a sync in flight finishes on its own).
        *self.subscriptions.lock().unwrap_or_else(|e| e.into_inner()) = Some(subs);
    }

    /// Opens the store, starts the engine and brings back every enabled task.
    pub fn open(config: Config) -> anyhow::Result<Arc<Daemon>> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data_dir {}", config.data_dir.display()))?;
        std::fs::create_dir_all(config.replay_dir())
            .with_context(|| format!("creating [replay] dir {}", config.replay_dir().display()))?;
        let store = Store::open(&config.store_path())
            .with_context(|| format!("opening the store {}", config.store_path().display()))?;
        let workers = config.engine.worker_count();
        // In a cluster, the tasks other processes define run here too, with this process's
        // services (set once the runtime has them, before any task is installed here).
        let remote_services: Arc<std::sync::OnceLock<kap_dataflow::node::Services>> =
            Arc::default();
        let cluster = (!config.engine.cluster_addresses.is_empty()).then(|| {
            let slot = Arc::clone(&remote_services);
            kap_dataflow::runtime::ClusterConfig {
                process: config.engine.cluster_process,
                addresses: config.engine.cluster_addresses.clone(),
                services: Some(Arc::new(move |_task: &str| {
                    // Another process may install a task while this one is still starting.
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                    while slot.get().is_none() && std::time::Instant::now() < deadline {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    slot.get().cloned().unwrap_or_default()
                })),
            }
        });
        if let Some(c) = &cluster {
            tracing::info!(process = c.process, addresses = ?c.addresses, "joining the engine's cluster");
        }
        let engine = Arc::new(
            Engine::start(EngineConfig {
                workers,
                cluster,
                ..EngineConfig::default()
            })
            .map_err(|e| anyhow::anyhow!("starting the engine: {e}"))?,
        );
        tracing::info!(workers, "engine started");
        // One HTTP client for httpPost nodes and post handlers, live and replayed; it refuses
        // the networks of `-blacklist-cidrs`.
        let poster: Arc<dyn kap_dataflow::ops::http_post::HttpPoster> =
            Arc::new(UreqPoster::with_blacklist(config.blacklist_cidrs.clone()));
        // One set of `[[httppost]]` endpoints for httpPost nodes and post handlers.
        let endpoints = kap_dataflow::ops::http_post::Endpoints::new(config.httppost_endpoints());
        let handler_services = Arc::new(
            config
                .handler_services(Arc::clone(&poster))
                .with_endpoints(endpoints.clone()),
        );
        // The file's own clusters must be usable (their URLs, their PEM files).
        influxdb::Clusters::check(&config.influxdb).map_err(|e| anyhow::anyhow!(e))?;
        let clusters = influxdb::Clusters::default();
        let scrapers = Arc::new(scraper::ScraperService::new(
            &config.default_retention_policy,
        ));
        let orchestrators = Arc::new(
            autoscale::Orchestrators::new(&config.kubernetes, &config.swarm, &config.ec2)
                .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?,
        );
        let overrides = config_api::ConfigOverrides::open(
            store.clone(),
            config_api::Overridable {
                services: config.services.clone(),
                influxdb: config.influxdb.clone(),
                httppost: config.httppost.clone(),
                scraper: config.scraper.clone(),
                static_discovery: config.static_discovery.clone(),
                file_discovery: config.file_discovery.clone(),
                consul: config.consul.clone(),
                dns: config.dns.clone(),
                marathon: config.marathon.clone(),
                triton: config.triton.clone(),
                azure: config.azure.clone(),
                gce: config.gce.clone(),
                kubernetes: config.kubernetes.clone(),
                swarm: config.swarm.clone(),
                ec2: config.ec2.clone(),
            },
            config_api::Configured {
                services: Arc::clone(&handler_services),
                clusters: clusters.clone(),
                endpoints: endpoints.clone(),
                scrapers: Arc::clone(&scrapers),
                orchestrators: Arc::clone(&orchestrators),
            },
            config.config_override.enabled,
            config.skip_config_overrides,
        )
        .context("loading configuration overrides")?;
        let topics = Arc::new(TopicStore::default());
        let center = Arc::new(
            alerts::AlertCenter::open(
                store.clone(),
                Arc::clone(&topics),
                Arc::clone(&handler_services),
                alerts::AlertOptions {
                    buffer: usize::try_from(config.alert.topic_buffer_length).unwrap_or(5000),
                    persist_topics: config.alert.persist_topics,
                    disabled_handlers: config.disabled_handlers.clone(),
                    retry: alerts::RetryPolicy {
                        retries: config.alert.delivery_retries,
                        interval: config.alert.delivery_retry_interval,
                    },
                },
            )
            .context("loading alert topics and handlers")?,
        );
        let alerts = Arc::new(AlertService(Arc::clone(&center) as _));
        let ids = Ids::load(&config.data_dir)?;
        // Every UDF's agent tells what it takes before a script may call it.
        let udfs = Arc::new(
            udf::UdfFunctions::load(&config.udf)?
                .with_snapshots(store.clone(), config.task.snapshot_interval),
        );
        let runtime = Arc::new(
            runtime::Runtime::new(
                engine,
                topics,
                alerts,
                kap_dataflow::alert::AlertServiceInfo {
                    hostname: config.hostname.clone(),
                    cluster_id: ids.cluster.clone(),
                    server_id: ids.server.clone(),
                },
                clusters,
                &config.batch,
                kap_dataflow::ops::http_post::HttpPostService { poster, endpoints },
            )
            .with_udfs(
                Arc::clone(&udfs) as _,
                Arc::new(udfs.without_snapshots()) as _,
            )
            .with_autoscale(orchestrators)
            .with_group_expiry(config.engine.group_expiry),
        );
        let _ = remote_services.set(runtime.live_services());
        let tasks = tasks::TaskManager::load(
            store.clone(),
            Arc::clone(&runtime),
            Arc::clone(&center),
            tasks::CompileBase {
                deadman: config.deadman_options(),
                udfs: udfs.infos(),
            },
        )
        .map_err(|e| anyhow::anyhow!("loading tasks: {}", e.message))?;
        let replays = replay::ReplayService::open(
            store.clone(),
            Arc::clone(&runtime),
            &config,
            Arc::new(center.inline_handlers()),
        )
        .map_err(|e| anyhow::anyhow!("loading recordings and replays: {}", e.message))?;
        Ok(Arc::new(Daemon {
            config,
            store,
            runtime,
            tasks,
            replays,
            alerts: center,
            udp_addrs: std::sync::Mutex::new(Vec::new()),
            ids,
            subscriptions: std::sync::Mutex::new(None),
            http_port: std::sync::OnceLock::new(),
            overrides,
            scrapers,
        }))
    }
}

/// A daemon serving HTTP, as started by [`serve`].
#[derive(Debug)]
pub struct Serving {
    /// The TCP address it listens on.
    pub addr: SocketAddr,
    /// The daemon.
    pub daemon: Arc<Daemon>,
}

/// Runs the daemon until SIGINT/SIGTERM (or `shutdown` resolves), serving HTTP on the
/// configured TCP address and unix socket. `ready` gets the bound address.
pub async fn serve(
    config: Config,
    ready: impl FnOnce(&Serving),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let bind = config
        .http_bind_addr()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let unix = config.unix_socket().map(|p| p.to_path_buf());
    // A bad certificate stops the daemon before it opens anything.
    let tls = if config.http.https_enabled {
        Some(tls::acceptor(
            &config.http.https_certificate,
            &config.http.https_private_key,
        )?)
    } else {
        None
    };
    let daemon = tokio::task::spawn_blocking(move || Daemon::open(config)).await??;
    let app = http::router(Arc::clone(&daemon));
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("listening on {bind} ([http] bind-address)"))?;
    let addr = listener.local_addr()?;
    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let udp_addrs = udp::start(
        &daemon.config.udp,
        &daemon.config.default_retention_policy,
        Arc::clone(&daemon.runtime),
        &stop_tx,
    )
    .await?;
    *daemon.udp_addrs.lock().unwrap_or_else(|e| e.into_inner()) = udp_addrs;
    collectd::start(
        &daemon.config.collectd,
        &daemon.config.default_retention_policy,
        Arc::clone(&daemon.runtime),
        &stop_tx,
    )
    .await?;
    graphite::start(
        &daemon.config.graphite,
        &daemon.config.default_retention_policy,
        Arc::clone(&daemon.runtime),
        &stop_tx,
    )
    .await?;
    opentsdb::start(
        &daemon.config.opentsdb,
        &daemon.config.default_retention_policy,
        Arc::clone(&daemon.runtime),
        &stop_tx,
    )
    .await?;
    daemon.scrapers.start(&daemon.runtime);
    {
        let (daemon, mut rx) = (Arc::clone(&daemon), stop_tx.subscribe());
        tokio::spawn(async move {
            let _ = rx.recv().await;
            // Stopping joins the scrapers' threads: off the async threads.
            let _ = tokio::task::spawn_blocking(move || daemon.scrapers.stop()).await;
        });
    }
    let _ = daemon.http_port.set(addr.port());
    daemon.resubscribe();
    stats::start(&daemon);
    let serving = Serving {
        addr,
        daemon: Arc::clone(&daemon),
    };
    ready(&serving);
    tracing::info!(%addr, https = tls.is_some(), "listening for HTTP requests");
    let mut tasks = Vec::new();
    if let Some(path) = unix {
        let _ = std::fs::remove_file(&path);
        let ul = tokio::net::UnixListener::bind(&path)
            .with_context(|| format!("listening on unix socket {}", path.display()))?;
        tracing::info!(path = %path.display(), "listening on unix socket");
        let app = app.clone();
        let mut rx = stop_tx.subscribe();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(ul, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.recv().await;
                })
                .await;
        }));
    }
    let mut rx = stop_tx.subscribe();
    let stopped = async move {
        let _ = rx.recv().await;
    };
    let tcp = match tls {
        Some(acceptor) => {
            let listener = tls::TlsListener::new(listener, acceptor)?;
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await
            })
        }
        None => tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
        }),
    };
    tokio::select! {
        _ = shutdown => {}
        _ = signal() => {}
    }
    tracing::info!("shutting down");
    let _ = stop_tx.send(());
    // Requests in flight finish, accepted writes reach their tasks, and the alert states
    // they cause are saved; all within `[http] shutdown-timeout`.
    let timeout = daemon.config.http.shutdown_timeout;
    let d = Arc::clone(&daemon);
    let drained = tokio::time::timeout(timeout, async move {
        let _ = tcp.await;
        let _ = tokio::task::spawn_blocking(move || {
            d.runtime.batch.shutdown();
            d.runtime.engine.quiesce(std::time::Duration::from_secs(5));
            d.runtime.writer.shutdown(std::time::Duration::from_secs(5));
            d.alerts.flush();
        })
        .await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "shutdown did not finish within [http] shutdown-timeout ({timeout:?}): stopping anyway"
        );
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `kapacitord run`: loads the configuration, sets up logging and the pid file, and serves
/// until a signal. Errors are one line with their cause chain; exit status 1.
pub fn run_main(args: crate::cli::RunArgs) -> std::process::ExitCode {
    match run_daemon(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kapacitord: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// The async runtime of the HTTP side: few threads (the engine's workers have their own).
fn http_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("kapacitord-http")
        .build()
        .context("starting the HTTP runtime")
}

fn run_daemon(args: crate::cli::RunArgs) -> anyhow::Result<()> {
    let env = |k: &str| std::env::var(k).ok();
    let mut config = crate::config::load(args.config.as_deref(), &env)?;
    if let Some(h) = args.hostname {
        config.hostname = h;
    }
    if let Some(f) = args.log_file {
        config.logging.file = f.to_string_lossy().into_owned();
    }
    if let Some(l) = args.log_level {
        config.logging.level = l;
    }
    for c in args.blacklist_cidrs {
        if c.trim().is_empty() {
            continue;
        }
        config.blacklist_cidrs.push(
            c.parse()
                .map_err(|e| anyhow::anyhow!("-blacklist-cidrs: {e}"))?,
        );
    }
    for kind in args.disable_handlers {
        let kind = kind.trim();
        if kind.is_empty() {
            continue;
        }
        if !alerts::is_handler_kind(kind) {
            anyhow::bail!(
                "-disable-handlers: unknown handler kind {kind:?} (known: {})",
                alerts::handler_kinds().join(", ")
            );
        }
        config.disabled_handlers.insert(kind.to_string());
    }
    config.validate()?;
    init_logging(&config)?;
    let pidfile = args.pidfile.clone();
    if let Some(p) = &pidfile {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .with_context(|| format!("writing pid file {}", p.display()))?;
    }
    let result = http_runtime()?.block_on(serve(
        config,
        |s| tracing::info!(addr = %s.addr, "kapacitord ready"),
        std::future::pending(),
    ));
    if let Some(p) = &pidfile {
        let _ = std::fs::remove_file(p);
    }
    result
}

/// Changes the log level at run time (`POST /kapacitor/v1/loglevel`); set by logging setup.
static SET_LEVEL: std::sync::OnceLock<LevelSetter> = std::sync::OnceLock::new();

type LevelSetter = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// Sets the daemon's log level (`debug`, `info`, `warn`, `error`, `off`).
pub fn set_log_level(level: &str) -> Result<(), String> {
    let l = level.to_ascii_lowercase();
    if !["debug", "info", "warn", "error", "off"].contains(&l.as_str()) {
        return Err(format!(
            "invalid log level {level:?}: want debug, info, warn, error or off"
        ));
    }
    match SET_LEVEL.get() {
        Some(set) => set(&l),
        None => Err("logging is not set up".into()),
    }
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{EnvFilter, reload};
    let level = match config.logging.level.to_ascii_uppercase().as_str() {
        "DEBUG" => "debug",
        "WARN" => "warn",
        "ERROR" => "error",
        "OFF" => "off",
        _ => "info",
    };
    let filter = |level: &str| EnvFilter::new(format!("{level},redb=warn"));
    let initial = EnvFilter::try_from_env("KAPACITOR_LOG").unwrap_or_else(|_| filter(level));
    let (filter_layer, handle) = reload::Layer::new(initial);
    let file = config.logging.file.as_str();
    // Colors only on a terminal: a journal, a container log or a redirected file gets
    // plain lines.
    use std::io::IsTerminal;
    let (writer, ansi) = match file.to_ascii_uppercase().as_str() {
        "" | "STDERR" => (
            BoxMakeWriter::new(std::io::stderr),
            std::io::stderr().is_terminal(),
        ),
        "STDOUT" => (
            BoxMakeWriter::new(std::io::stdout),
            std::io::stdout().is_terminal(),
        ),
        _ => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .with_context(|| format!("opening log file {file}"))?;
            (BoxMakeWriter::new(std::sync::Mutex::new(f)), false)
        }
    };
    tracing_subscriber::registry()
        .with(filter_layer)
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .with_writer(writer),
        )
        .with(logs::HubLayer)
        .try_init()
        .map_err(|e| anyhow::anyhow!("setting up logging: {e}"))?;
    let _ = SET_LEVEL.set(Box::new(move |l| {
        handle
            .reload(filter(l))
            .map_err(|e| format!("changing the log level: {e}"))
    }));
    Ok(())
}

/// `kapacitord demo`: see [`demo`].
pub fn demo_main(port: u16) -> std::process::ExitCode {
    let run = || -> anyhow::Result<()> {
        let config = demo::config(port);
        init_logging(&config)?;
        let dir = config.data_dir.clone();
        let result = http_runtime()?.block_on(serve(
            config,
            |s| {
                if let Err(e) = demo::start(&s.daemon) {
                    tracing::error!("{e:#}");
                    return;
                }
                println!(
                    "kapacitord demo on http://{addr} (data in {dir})\n\
                     task `cpu_idle` is enabled and fed a point per host every second;\n\
                     its alerts (JSON) print below within the first minute. Meanwhile try:\n  \
                     cargo run -q -p kap-cli --bin kapacitor -- -url http://{addr} show cpu_idle\n  \
                     curl -s http://{addr}/kapacitor/v1/tasks/cpu_idle\n\
                     Ctrl-C stops it.",
                    addr = s.addr,
                    dir = dir.display()
                );
            },
            std::future::pending(),
        ));
        let _ = std::fs::remove_dir_all(&dir);
        result
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kapacitord: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
