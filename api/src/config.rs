//! The `kapacitord` configuration, in Kapacitor's TOML shape (`etc/kapacitor/kapacitor.conf`,
//! `server/config.go`).
//!
//! [`load`] finds the file as Kapacitor does (`-config` path, then `KAPACITOR_CONFIG_PATH`, then
//! `~/.kapacitor/kapacitor.conf`, then `/etc/kapacitor/kapacitor.conf`, else the built-in demo
//! configuration under `~/.kapacitor`), parses it, and applies the environment overrides
//! `KAPACITOR_<SECTION>_<KEY>` (upper-case, `-` → `_`; array sections and array values are
//! indexed: `KAPACITOR_INFLUXDB_0_URLS_0`). [`Config::validate`] checks the result.
//!
//! Unknown keys are errors naming the key, its line and its section (with a "did you mean"),
//! because a misspelt key that is silently ignored is a classic source of "my setting does not
//! work". Kapacitor sections this daemon does not implement (discovery other than static,
//! file and Consul, `[tls]`, `[udf]`, …) are accepted, so a Kapacitor configuration file
//! loads unchanged, and refused when enabled.
//!
//! Durations are Go duration strings (`"10s"`, `"1m0s"`, `"1.5h"`), held as
//! [`std::time::Duration`] and printed back in Go's form.
//!
//! Paths left empty (`[replay] dir`, `[storage] boltdb`, `[task] dir`, `[load] dir`) live under
//! `data_dir`; use the accessors ([`Config::replay_dir`], [`Config::store_path`], …) rather
//! than the raw fields.
//!
//! # Examples
//!
//! ```
//! use kap_api::config::Config;
//!
//! let config = Config::parse("[http]\nbind-address = \":9093\"\n", "kapacitor.conf").unwrap();
//! assert_eq!(config.http_bind_addr().unwrap().port(), 9093);
//! assert!(Config::parse("[http]\nbind-adress = \":1\"\n", "kapacitor.conf")
//!     .unwrap_err()
//!     .to_string()
//!     .contains("kapacitor.conf:2: unknown key \"bind-adress\" in [http]"));
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue};

/// The environment variable naming the configuration file when no path is given.
pub const CONFIG_PATH_ENV: &str = "KAPACITOR_CONFIG_PATH";

/// The prefix of every environment override (`KAPACITOR_HTTP_BIND_ADDRESS`).
pub const ENV_PREFIX: &str = "KAPACITOR";

/// Kapacitor's default `data_dir` in its packaged configuration.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/kapacitor";

/// Everything that can go wrong while loading or validating a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a value has the wrong type.
    #[error("{origin}:{line}: {message}")]
    Parse {
        /// The file (or other origin) being parsed.
        origin: String,
        /// 1-based line of the error.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A key this configuration does not know.
    #[error("{origin}:{line}: unknown key \"{key}\" in {section}{}", hint(.suggestion))]
    UnknownKey {
        /// The file (or other origin) being parsed.
        origin: String,
        /// 1-based line of the key.
        line: usize,
        /// The key as written.
        key: String,
        /// Where it was found: `[http]`, `[[influxdb]]`, or `the top level`.
        section: String,
        /// The closest known key, when one is close enough.
        suggestion: Option<String>,
    },
    /// An environment override has a value of the wrong type.
    #[error("{var}: {message}")]
    Env {
        /// The environment variable.
        var: String,
        /// What is wrong with its value.
        message: String,
    },
    /// A Kapacitor section this daemon accepts but does not implement is enabled: what it
    /// would do would silently not happen.
    #[error(
        "{origin}:{line}: {section}.enabled: {what} is not supported by this daemon; set enabled = false"
    )]
    Unsupported {
        /// The file (or other origin) being parsed.
        origin: String,
        /// 1-based line of the `enabled` key.
        line: usize,
        /// The section, e.g. `graphite`.
        section: String,
        /// What the section does, e.g. `the Graphite input`.
        what: String,
    },
    /// A value parses but makes no sense (see [`Config::validate`]).
    #[error("invalid configuration: {key}: {message}")]
    Invalid {
        /// The offending key, e.g. `http.bind-address` or `influxdb[0].urls`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

fn hint(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean \"{s}\"?)"))
        .unwrap_or_default()
}

/// The whole daemon configuration. Field names follow Kapacitor's TOML keys (kebab-case, except
/// `data_dir`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Config {
    /// The name this host advertises (subscriptions, alert details). Default `localhost`.
    pub hostname: String,
    /// Where the daemon keeps its state. Default `/var/lib/kapacitor` (Kapacitor's packaged
    /// configuration); the demo configuration used when no file exists uses `~/.kapacitor`.
    #[serde(rename = "data_dir")]
    pub data_dir: PathBuf,
    /// Ignore configuration overrides stored through the API.
    pub skip_config_overrides: bool,
    /// Retention policy for writes that name none; empty means the database's default.
    pub default_retention_policy: String,
    /// `[http]`: the HTTP API.
    pub http: HttpConfig,
    /// `[replay]`: recordings.
    pub replay: ReplayConfig,
    /// `[batch]`: how batch queries are spread over time (ours, not Kapacitor's).
    pub batch: BatchConfig,
    /// `[engine]`: the dataflow engine (ours, not Kapacitor's).
    pub engine: EngineSettings,
    /// `[storage]`: the store file.
    pub storage: StorageConfig,
    /// `[task]`: task snapshots and the legacy task store.
    pub task: TaskConfig,
    /// `[load]`: tasks, templates and handlers loaded from files at startup.
    pub load: LoadConfig,
    /// `[alert]`: alert topics.
    pub alert: AlertConfig,
    /// `[logging]`: log destination and level.
    pub logging: LoggingConfig,
    /// `[deadman]`: the global deadman switch.
    pub deadman: DeadmanConfig,
    /// Alert handler kinds refused (the `-disable-handlers` flag; not a config key).
    #[serde(skip)]
    pub disabled_handlers: std::collections::BTreeSet<String>,
    /// Networks httpPost nodes and post handlers may not reach (the `-blacklist-cidrs`
    /// flag; not a config key).
    #[serde(skip)]
    pub blacklist_cidrs: Vec<crate::services::Cidr>,
    /// `[stats]`: internal statistics written to `_kapacitor`.
    pub stats: StatsConfig,
    /// `[[influxdb]]`: InfluxDB clusters to query and subscribe to.
    pub influxdb: Vec<InfluxDbConfig>,
    /// `[[udp]]`: line-protocol UDP listeners.
    pub udp: Vec<UdpConfig>,
    /// `[[httppost]]`: named endpoints of httpPost nodes and post alert handlers.
    pub httppost: Vec<HttpPostConfig>,
    /// `[collectd]`: the collectd input (binary protocol over UDP).
    pub collectd: CollectdConfig,
    /// `[udf]`: the user-defined functions tasks call as `@name()`.
    pub udf: UdfConfig,
    /// `[[graphite]]`: Graphite plaintext inputs.
    #[serde(deserialize_with = "crate::alert_handlers::one_or_many")]
    pub graphite: Vec<GraphiteConfig>,
    /// `[opentsdb]`: the OpenTSDB input (telnet and HTTP).
    pub opentsdb: OpenTsdbConfig,
    /// `[[scraper]]`: Prometheus targets scraped into the stream.
    pub scraper: Vec<ScraperConfig>,
    /// `[[static-discovery]]`: fixed target lists for scrapers.
    pub static_discovery: Vec<StaticDiscoveryConfig>,
    /// `[[file-discovery]]`: target lists read from files for scrapers.
    pub file_discovery: Vec<FileDiscoveryConfig>,
    /// `[[consul]]`: the services of a Consul catalog as targets for scrapers.
    pub consul: Vec<ConsulConfig>,
    /// `[[dns]]`: DNS records as targets for scrapers.
    pub dns: Vec<DnsConfig>,
    /// `[[marathon]]`: Marathon apps' tasks as targets for scrapers.
    pub marathon: Vec<MarathonConfig>,
    /// `[[triton]]`: Triton containers as targets for scrapers.
    pub triton: Vec<TritonConfig>,
    /// `[[azure]]`: Azure virtual machines as targets for scrapers.
    pub azure: Vec<AzureConfig>,
    /// `[[gce]]`: Google Compute Engine instances as targets for scrapers.
    pub gce: Vec<GceConfig>,
    /// `[[kubernetes]]` (or one `[kubernetes]`): clusters `k8sAutoscale` nodes scale.
    #[serde(deserialize_with = "crate::alert_handlers::one_or_many")]
    pub kubernetes: Vec<KubernetesConfig>,
    /// `[[swarm]]`: Docker Swarm clusters `swarmAutoscale` nodes scale.
    #[serde(deserialize_with = "crate::alert_handlers::one_or_many")]
    pub swarm: Vec<SwarmConfig>,
    /// `[[ec2]]`: AWS accounts whose auto scaling groups `ec2Autoscale` nodes scale.
    #[serde(deserialize_with = "crate::alert_handlers::one_or_many")]
    pub ec2: Vec<Ec2Config>,
    /// `[config-override]`: changes to the alert services' sections through the API.
    pub config_override: ConfigOverrideConfig,
    /// The alert services: `[[slack]]`, `[pagerduty2]`, `[smtp]`…
    #[serde(flatten)]
    pub services: crate::alert_handlers::ServiceConfigs,
}

/// `[config-override]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ConfigOverrideConfig {
    /// Whether `POST /kapacitor/v1/config/...` may change sections.
    pub enabled: bool,
}

impl Default for ConfigOverrideConfig {
    fn default() -> Self {
        ConfigOverrideConfig { enabled: true }
    }
}

/// One `[[httppost]]` endpoint: httpPost nodes (`.endpoint(name)`) and post alert handlers
/// (`.post().endpoint(name)`, topic handlers' `endpoint` option) post to its URL with its
/// headers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpPostConfig {
    /// The endpoint's name.
    pub endpoint: String,
    /// Where to post.
    pub url: String,
    /// Headers sent with every post.
    pub headers: BTreeMap<String, String>,
    /// HTTP basic authentication (`[httppost.basic-auth]`), when a username is set.
    pub basic_auth: BasicAuth,
    /// The body of post handlers' posts: a Go template over the alert data (`.ID`,
    /// `.Message`, `.Level`, `.Data.Series`…) instead of its JSON.
    pub alert_template: String,
    /// `alert-template` read from this file.
    pub alert_template_file: String,
    /// The body of httpPost nodes' posts: a Go template over the row (`.Name`, `.Tags`,
    /// `.Columns`, `.Values`) instead of its JSON.
    pub row_template: String,
    /// `row-template` read from this file.
    pub row_template_file: String,
}

impl Config {
    /// What alert handlers deliver with: `poster`, the `[[httppost]]` endpoints, the alert
    /// services' sections, and this daemon's URL (`http(s)://hostname:port`).
    pub fn handler_services(
        &self,
        poster: Arc<dyn kap_dataflow::ops::http_post::HttpPoster>,
    ) -> crate::alert_handlers::HandlerServices {
        let scheme = if self.http.https_enabled {
            "https"
        } else {
            "http"
        };
        let port = self
            .http
            .bind_address
            .rsplit_once(':')
            .map_or("9092", |(_, p)| p);
        crate::alert_handlers::HandlerServices::new(poster, self.httppost_endpoints())
            .with_configs(self.services.clone())
            .with_url(format!("{scheme}://{}:{port}", self.hostname))
    }

    /// The `[[httppost]]` endpoints by name, as httpPost nodes and post handlers use them.
    pub fn httppost_endpoints(
        &self,
    ) -> BTreeMap<String, kap_dataflow::ops::http_post::EndpointConfig> {
        httppost_endpoints(&self.httppost)
    }
}

/// The endpoints of `[[httppost]]` sections by name, as httpPost nodes and post handlers
/// use them.
pub fn httppost_endpoints(
    sections: &[HttpPostConfig],
) -> BTreeMap<String, kap_dataflow::ops::http_post::EndpointConfig> {
    sections
        .iter()
        .map(|e| (e.endpoint.clone(), e.endpoint_config()))
        .collect()
}

impl HttpPostConfig {
    /// The endpoint as httpPost nodes and post handlers use it: its URL, and its headers
    /// with `Authorization: Basic …` when a basic-auth username is set.
    pub fn endpoint_config(&self) -> kap_dataflow::ops::http_post::EndpointConfig {
        use base64::Engine as _;
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !self.basic_auth.username.is_empty() {
            let token = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                self.basic_auth.username, self.basic_auth.password
            ));
            headers.push(("Authorization".into(), format!("Basic {token}")));
        }
        // The templates were checked with the configuration ([`Config::validate`]).
        let template = |which| self.template(which).ok().flatten();
        kap_dataflow::ops::http_post::EndpointConfig {
            url: self.url.clone(),
            headers,
            row_template: template("row"),
            alert_template: template("alert"),
        }
    }

    /// The endpoint's `row` or `alert` body template, from its text or its file; `Err`
    /// names the key at fault and says why.
    pub fn template(
        &self,
        which: &str,
    ) -> Result<Option<kap_dataflow::template::Template>, (String, String)> {
        let (text, file) = match which {
            "row" => (&self.row_template, &self.row_template_file),
            _ => (&self.alert_template, &self.alert_template_file),
        };
        let (key, text) = match (text.is_empty(), file.is_empty()) {
            (true, true) => return Ok(None),
            (false, false) => {
                return Err((
                    format!("{which}-template-file"),
                    format!("set {which}-template or {which}-template-file, not both"),
                ));
            }
            (false, true) => (format!("{which}-template"), text.clone()),
            (true, false) => {
                let key = format!("{which}-template-file");
                let text = std::fs::read_to_string(file)
                    .map_err(|e| (key.clone(), format!("reading {file}: {e}")))?;
                (key, text)
            }
        };
        kap_dataflow::template::Template::parse(&key, &text)
            .map(Some)
            .map_err(|e| (key, e.to_string()))
    }
}

/// `[httppost.basic-auth]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpConfig {
    /// `host:port` to listen on. Default `127.0.0.1:9092`: unlike Kapacitor's `:9092` (all
    /// interfaces), on purpose, so a fresh install is not reachable from the network. An empty
    /// host (`:9092`) means all interfaces.
    pub bind_address: String,
    /// Require authentication.
    pub auth_enabled: bool,
    /// Log every HTTP request.
    pub log_enabled: bool,
    /// Log the body of every write.
    pub write_tracing: bool,
    /// Serve Go's profiler endpoints under `/kapacitor/v1/debug/pprof/` (a CPU profile
    /// `go tool pprof` reads, the command line).
    pub pprof_enabled: bool,
    /// Serve HTTPS instead of HTTP.
    pub https_enabled: bool,
    /// The certificate (and key, when `https-private-key` is empty) for HTTPS.
    pub https_certificate: String,
    /// The private key for HTTPS, when not in the certificate file.
    pub https_private_key: String,
    /// Shared secret for JWT authentication.
    pub shared_secret: String,
    /// How long to wait for in-flight requests on shutdown.
    #[serde(with = "go_duration_serde")]
    pub shutdown_timeout: Duration,
    /// Also listen on this Unix socket (ours); empty means off.
    pub unix_socket: PathBuf,
    /// Largest accepted request body in bytes; larger bodies get `413`. `0` means no limit.
    pub max_body_size: u64,
}

/// `[replay]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ReplayConfig {
    /// Where recordings (`<id>.srpl`, `<id>.brpl`) live; empty means `<data_dir>/replay`.
    pub dir: PathBuf,
}

/// `[batch]`: ours, for setups where many batch tasks would all query InfluxDB at the
/// same instant (kapacitor#712, #1023). Both settings are off by default, which is
/// Kapacitor's behaviour.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct BatchConfig {
    /// Each query node's runs are delayed by a fixed share (from a hash of task and node)
    /// of this duration; the queried time ranges stay those of the schedule. `0s`: off.
    #[serde(with = "go_duration_serde")]
    pub query_spread: Duration,
    /// At most this many batch queries run at once; `0`: no limit.
    pub max_concurrent_queries: usize,
}

/// `[engine]`: ours. The engine runs every task's dataflow on this many worker threads,
/// each group's state on one of them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct EngineSettings {
    /// Worker threads; `0`: one per available core. In a cluster, every process must have
    /// the same number.
    pub workers: usize,
    /// `host:port` of every kapacitord of a multi-process cluster, in process order (this
    /// one's among them, at `cluster-process`); empty: this process alone. A task defined
    /// and enabled on one process runs on the workers of all, each group's state on one
    /// worker of one process, and points written to any process reach it.
    pub cluster_addresses: Vec<String>,
    /// This process's index in `cluster-addresses`.
    pub cluster_process: usize,
    /// A node of a task (live or batch, not a replay) that keeps state per group forgets a
    /// group once it has had no data of it for this long (wall-clock time), as
    /// `barrier().idle(d).delete(TRUE)` would there, but emitting nothing. `0s` (the
    /// default): groups are kept as long as the task runs, as in Kapacitor.
    #[serde(with = "go_duration_serde")]
    pub group_expiry: Duration,
}

/// The most engine workers `[engine] workers` accepts.
pub const MAX_ENGINE_WORKERS: usize = 1024;

impl EngineSettings {
    /// The worker count to start the engine with (`0` resolved to the available cores).
    pub fn worker_count(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.workers
        }
    }
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct StorageConfig {
    /// The store file; empty means `<data_dir>/kapacitor.db`.
    pub boltdb: PathBuf,
}

/// `[task]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TaskConfig {
    /// The legacy task directory; empty means `<data_dir>/tasks`.
    pub dir: PathBuf,
    /// How often task snapshots are taken. Default `1m0s`.
    #[serde(with = "go_duration_serde")]
    pub snapshot_interval: Duration,
}

/// `[load]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct LoadConfig {
    /// Load `tasks/`, `templates/` and `handlers/` from `dir` at startup (and on SIGHUP).
    pub enabled: bool,
    /// The directory to load from; empty means `<data_dir>/load`.
    pub dir: PathBuf,
}

/// `[alert]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct AlertConfig {
    /// Persist topic state and events across restarts. Default `true`.
    pub persist_topics: bool,
    /// Events buffered per topic handler. Default `5000`.
    pub topic_buffer_length: u64,
    /// Times a handler run that failed for a reason that may pass (no answer, 5xx, 429) is
    /// tried again. Default `3`; `0` never. (Not in Kapacitor, which never retries.)
    pub delivery_retries: u32,
    /// Wait before the first retry, doubling with each (up to a minute). Default `1s`.
    #[serde(with = "go_duration_serde")]
    pub delivery_retry_interval: Duration,
}

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct LoggingConfig {
    /// `STDERR`, `STDOUT` or a file path. Default `STDERR`.
    pub file: String,
    /// `DEBUG`, `INFO`, `WARN`, `ERROR` or `OFF` (any case). Default `INFO`.
    pub level: String,
}

/// `[deadman]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct DeadmanConfig {
    /// How often throughput is checked. Default `10s`.
    #[serde(with = "go_duration_serde")]
    pub interval: Duration,
    /// Alert when points per interval are at or below this.
    pub threshold: f64,
    /// Alert id template; `NODE_NAME` is replaced by the watched node.
    pub id: String,
    /// Alert message template; `INTERVAL` is replaced by the interval.
    pub message: String,
    /// Add a deadman switch to every task.
    pub global: bool,
}

/// `[stats]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct StatsConfig {
    /// Write internal statistics. Default `true`.
    pub enabled: bool,
    /// How often. Default `10s`.
    #[serde(with = "go_duration_serde")]
    pub stats_interval: Duration,
    /// Into this database. Default `_kapacitor`.
    pub database: String,
    /// And retention policy. Default `autogen`.
    pub retention_policy: String,
    /// Fraction of points whose processing time is sampled. Default `0.1`.
    pub timing_sample_rate: f64,
    /// Moving-average window of the timing samples. Default `1000`.
    pub timing_movavg_size: u64,
}

/// The cluster of `sections` tasks use when they name none: the enabled one marked
/// `default`, or the only enabled one.
pub fn default_influxdb(sections: &[InfluxDbConfig]) -> Option<&InfluxDbConfig> {
    let enabled: Vec<_> = sections.iter().filter(|c| c.enabled).collect();
    enabled
        .iter()
        .find(|c| c.default)
        .or_else(|| {
            if enabled.len() == 1 {
                enabled.first()
            } else {
                None
            }
        })
        .copied()
}

/// Checks `[[influxdb]]` sections as the configuration file's are (unique names, URLs,
/// enumerations, one default); `Err` has the key and what is wrong with it.
pub fn validate_influxdb(sections: &[InfluxDbConfig]) -> Result<(), (String, String)> {
    let invalid = |key: String, message: String| Err((key, message));
    let mut names = std::collections::BTreeSet::new();
    for (i, c) in sections.iter().enumerate() {
        let key = |k: &str| format!("influxdb[{i}].{k}");
        if c.name.is_empty() {
            return invalid(key("name"), "must not be empty".into());
        }
        if !names.insert(c.name.as_str()) {
            return invalid(key("name"), format!("duplicate name \"{}\"", c.name));
        }
        if !c.enabled {
            continue;
        }
        if c.urls.is_empty() {
            return invalid(key("urls"), "must list at least one URL".into());
        }
        for url in &c.urls {
            if !is_http_url(url) {
                return invalid(
                    key("urls"),
                    format!("invalid URL \"{url}\": want http://host:port or https://…"),
                );
            }
        }
        if !["http", "https", "udp"].contains(&c.subscription_protocol.as_str()) {
            return invalid(
                key("subscription-protocol"),
                format!(
                    "invalid protocol \"{}\" (want http, https or udp)",
                    c.subscription_protocol
                ),
            );
        }
        if !["cluster", "server"].contains(&c.subscription_mode.as_str()) {
            return invalid(
                key("subscription-mode"),
                format!(
                    "invalid mode \"{}\" (want cluster or server)",
                    c.subscription_mode
                ),
            );
        }
    }
    let enabled: Vec<_> = sections.iter().filter(|c| c.enabled).collect();
    let defaults: Vec<_> = enabled.iter().filter(|c| c.default).collect();
    if defaults.len() > 1 {
        let names: Vec<_> = defaults.iter().map(|c| c.name.as_str()).collect();
        return invalid(
            "influxdb".into(),
            format!(
                "more than one InfluxDB cluster is marked default: {}",
                names.join(", ")
            ),
        );
    }
    if enabled.len() > 1 && defaults.is_empty() {
        return invalid(
            "influxdb".into(),
            "at least one of the enabled InfluxDB clusters must be marked as default".into(),
        );
    }
    Ok(())
}

/// Checks `[[httppost]]` sections as the configuration file's are (names, URLs,
/// templates); `Err` has the key and what is wrong with it.
pub fn validate_httppost(sections: &[HttpPostConfig]) -> Result<(), (String, String)> {
    let invalid = |key: String, message: String| Err((key, message));
    let mut endpoints = std::collections::BTreeSet::new();
    for (i, e) in sections.iter().enumerate() {
        let key = |k: &str| format!("httppost[{i}].{k}");
        if e.endpoint.is_empty() {
            return invalid(key("endpoint"), "must not be empty".into());
        }
        if !endpoints.insert(e.endpoint.as_str()) {
            return invalid(
                key("endpoint"),
                format!("duplicate endpoint \"{}\"", e.endpoint),
            );
        }
        if !is_http_url(&e.url) {
            return invalid(
                key("url"),
                format!("invalid URL \"{}\": want http://… or https://…", e.url),
            );
        }
        for which in ["row", "alert"] {
            if let Err((k, message)) = e.template(which) {
                return invalid(key(&k), message);
            }
        }
    }
    Ok(())
}

/// The `resource`s of a `[[kubernetes]]` that a scraper can discover targets of.
const KUBERNETES_RESOURCES: &[&str] = &["node", "pod", "service", "endpoints", "endpoint"];

/// Discoverer services Kapacitor has that no scraper here can use.
const UNSUPPORTED_DISCOVERERS: &[&str] = &["nerve", "serverset"];

/// The scraper sections of a configuration: `[[scraper]]`, `[[static-discovery]]`,
/// `[[file-discovery]]` (the file's, or as overridden through the API).
#[derive(Debug, Clone, Copy)]
pub struct ScraperSections<'a> {
    /// `[[scraper]]`.
    pub scraper: &'a [ScraperConfig],
    /// `[[static-discovery]]`.
    pub static_discovery: &'a [StaticDiscoveryConfig],
    /// `[[file-discovery]]`.
    pub file_discovery: &'a [FileDiscoveryConfig],
    /// `[[consul]]`.
    pub consul: &'a [ConsulConfig],
    /// `[[dns]]`.
    pub dns: &'a [DnsConfig],
    /// `[[marathon]]`.
    pub marathon: &'a [MarathonConfig],
    /// `[[triton]]`.
    pub triton: &'a [TritonConfig],
    /// `[[azure]]`.
    pub azure: &'a [AzureConfig],
    /// `[[gce]]`.
    pub gce: &'a [GceConfig],
    /// `[[ec2]]` (EC2 discovery).
    pub ec2: &'a [Ec2Config],
    /// `[[kubernetes]]` (Kubernetes discovery).
    pub kubernetes: &'a [KubernetesConfig],
}

impl Config {
    /// The scraper sections of the file.
    pub fn scraper_sections(&self) -> ScraperSections<'_> {
        ScraperSections {
            scraper: &self.scraper,
            static_discovery: &self.static_discovery,
            file_discovery: &self.file_discovery,
            consul: &self.consul,
            dns: &self.dns,
            marathon: &self.marathon,
            triton: &self.triton,
            azure: &self.azure,
            gce: &self.gce,
            ec2: &self.ec2,
            kubernetes: &self.kubernetes,
        }
    }
}

/// Checks the enabled `[[scraper]]`s and the discoverers they name: `Err((key, message))`.
pub fn validate_scrapers(config: ScraperSections<'_>) -> Result<(), (String, String)> {
    let invalid = |key: String, message: String| Err((key, message));
    check_ids(
        "static-discovery",
        config
            .static_discovery
            .iter()
            .map(|d| (d.enabled, d.id.as_str())),
    )?;
    check_ids(
        "file-discovery",
        config
            .file_discovery
            .iter()
            .map(|d| (d.enabled, d.id.as_str())),
    )?;
    check_ids(
        "consul",
        config.consul.iter().map(|d| (d.enabled, d.id.as_str())),
    )?;
    for (i, d) in config.consul.iter().enumerate().filter(|(_, d)| d.enabled) {
        let key = |k: &str| format!("consul[{i}].{k}");
        if !is_target(&d.address) {
            return invalid(
                key("address"),
                format!("invalid address \"{}\": want host:port", d.address),
            );
        }
        if !["http", "https"].contains(&d.scheme.as_str()) {
            return invalid(
                key("scheme"),
                format!("invalid scheme \"{}\" (want http or https)", d.scheme),
            );
        }
        if !d.ssl_server_name.is_empty() {
            return invalid(
                key("ssl-server-name"),
                "is not supported: certificates are verified against the agent's host".into(),
            );
        }
    }
    check_ids("dns", config.dns.iter().map(|d| (d.enabled, d.id.as_str())))?;
    for (i, d) in config.dns.iter().enumerate().filter(|(_, d)| d.enabled) {
        let key = |k: &str| format!("dns[{i}].{k}");
        if d.record_names.is_empty() {
            return invalid(key("record-names"), "must list at least one name".into());
        }
        match d.kind.to_ascii_uppercase().as_str() {
            "SRV" => {}
            "A" | "AAAA" if d.port == 0 => {
                return invalid(
                    key("port"),
                    format!("a port is required for records of type {}", d.kind),
                );
            }
            "A" | "AAAA" => {}
            _ => {
                return invalid(
                    key("type"),
                    format!("invalid records type \"{}\" (want SRV, A or AAAA)", d.kind),
                );
            }
        }
        if d.refresh_interval.is_zero() {
            return invalid(key("refresh-interval"), "must be positive".into());
        }
        if let Some(n) = d.nameservers.iter().find(|n| nameserver(n).is_none()) {
            return invalid(
                key("nameservers"),
                format!("invalid name server \"{n}\": want an IP address, with a port or not"),
            );
        }
    }
    check_ids(
        "marathon",
        config.marathon.iter().map(|d| (d.enabled, d.id.as_str())),
    )?;
    for (i, d) in config
        .marathon
        .iter()
        .enumerate()
        .filter(|(_, d)| d.enabled)
    {
        let key = |k: &str| format!("marathon[{i}].{k}");
        if d.servers.is_empty() {
            return invalid(key("servers"), "must list at least one server".into());
        }
        if let Some(u) = d.servers.iter().find(|u| !is_http_url(u)) {
            return invalid(
                key("servers"),
                format!("invalid URL \"{u}\": want http://… or https://…"),
            );
        }
        if d.timeout.is_zero() {
            return invalid(key("timeout"), "must be positive".into());
        }
        if d.refresh_interval.is_zero() {
            return invalid(key("refresh-interval"), "must be positive".into());
        }
        if !d.ssl_server_name.is_empty() {
            return invalid(
                key("ssl-server-name"),
                "is not supported: certificates are verified against the server's host".into(),
            );
        }
    }
    check_ids(
        "azure",
        config.azure.iter().map(|d| (d.enabled, d.id.as_str())),
    )?;
    for (i, d) in config.azure.iter().enumerate().filter(|(_, d)| d.enabled) {
        let key = |k: &str| format!("azure[{i}].{k}");
        for (k, v) in [
            ("subscription-id", &d.subscription_id),
            ("tenant-id", &d.tenant_id),
            ("client-id", &d.client_id),
            ("client-secret", &d.client_secret),
        ] {
            if v.is_empty() {
                return invalid(key(k), "must not be empty".into());
            }
        }
        if d.refresh_interval.is_zero() {
            return invalid(key("refresh-interval"), "must be positive".into());
        }
        for (k, v) in [
            ("active-directory-endpoint", &d.active_directory_endpoint),
            ("resource-manager-endpoint", &d.resource_manager_endpoint),
        ] {
            if !is_http_url(v) {
                return invalid(
                    key(k),
                    format!("invalid URL \"{v}\": want http://… or https://…"),
                );
            }
        }
    }
    check_ids("gce", config.gce.iter().map(|d| (d.enabled, d.id.as_str())))?;
    for (i, d) in config.gce.iter().enumerate().filter(|(_, d)| d.enabled) {
        let key = |k: &str| format!("gce[{i}].{k}");
        if d.project.is_empty() {
            return invalid(key("project"), "must not be empty".into());
        }
        if d.zone.is_empty() {
            return invalid(key("zone"), "must not be empty".into());
        }
        if d.refresh_interval.is_zero() {
            return invalid(key("refresh-interval"), "must be positive".into());
        }
        if !is_http_url(&d.endpoint) {
            return invalid(
                key("endpoint"),
                format!("invalid URL \"{}\": want http://… or https://…", d.endpoint),
            );
        }
    }
    check_ids(
        "triton",
        config.triton.iter().map(|d| (d.enabled, d.id.as_str())),
    )?;
    for (i, d) in config.triton.iter().enumerate().filter(|(_, d)| d.enabled) {
        let key = |k: &str| format!("triton[{i}].{k}");
        if d.endpoint.is_empty() {
            return invalid(key("endpoint"), "must not be empty".into());
        }
        if d.dns_suffix.is_empty() {
            return invalid(key("dns-suffix"), "must not be empty".into());
        }
        if d.port == 0 {
            return invalid(key("port"), "must be positive".into());
        }
        if d.version == 0 {
            return invalid(key("version"), "must be positive".into());
        }
        if d.refresh_interval.is_zero() {
            return invalid(key("refresh-interval"), "must be positive".into());
        }
        if !d.ssl_server_name.is_empty() {
            return invalid(
                key("ssl-server-name"),
                "is not supported: certificates are verified against the endpoint".into(),
            );
        }
    }
    for (i, d) in config.static_discovery.iter().enumerate() {
        let key = |k: &str| format!("static-discovery[{i}].{k}");
        if !d.enabled {
            continue;
        }
        if let Some(t) = d.targets.iter().find(|t| !is_target(t)) {
            return invalid(
                key("targets"),
                format!("invalid target \"{t}\": want host:port"),
            );
        }
    }
    for (i, d) in config.file_discovery.iter().enumerate() {
        let key = |k: &str| format!("file-discovery[{i}].{k}");
        if !d.enabled {
            continue;
        }
        if d.files.is_empty() {
            return invalid(key("files"), "must list at least one file".into());
        }
        if let Some(f) = d
            .files
            .iter()
            .find(|f| ![".json", ".yml", ".yaml"].iter().any(|x| f.ends_with(x)))
        {
            return invalid(
                key("files"),
                format!("\"{f}\": only .json, .yml and .yaml files are read"),
            );
        }
        if d.refresh_interval.is_zero() {
            return invalid(key("refresh-interval"), "must be positive".into());
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, c) in config.scraper.iter().enumerate() {
        let key = |k: &str| format!("scraper[{i}].{k}");
        if !c.enabled {
            continue;
        }
        if c.name.is_empty() {
            return invalid(key("name"), "must not be empty".into());
        }
        if !names.insert(c.name.as_str()) {
            return invalid(key("name"), format!("duplicate name \"{}\"", c.name));
        }
        if c.kind != "prometheus" {
            return invalid(
                key("type"),
                format!("unknown scraper type \"{}\" (want prometheus)", c.kind),
            );
        }
        if c.db.is_empty() {
            return invalid(key("db"), "must not be empty".into());
        }
        if !["http", "https"].contains(&c.scheme.as_str()) {
            return invalid(
                key("scheme"),
                format!("invalid scheme \"{}\" (want http or https)", c.scheme),
            );
        }
        if !c.metrics_path.starts_with('/') {
            return invalid(key("metrics-path"), "must start with '/'".into());
        }
        if c.scrape_interval.is_zero() {
            return invalid(key("scrape-interval"), "must be positive".into());
        }
        if c.scrape_timeout.is_zero() || c.scrape_timeout > c.scrape_interval {
            return invalid(
                key("scrape-timeout"),
                "must be positive and at most scrape-interval".into(),
            );
        }
        if !c.ssl_server_name.is_empty() {
            return invalid(
                key("ssl-server-name"),
                "is not supported: certificates are verified against the target's host".into(),
            );
        }
        if !c.username.is_empty() && !c.bearer_token.is_empty() {
            return invalid(
                key("bearer-token"),
                "cannot be used with username (basic authentication)".into(),
            );
        }
        // Whether a discoverer section has an enabled element with the scraper's id.
        macro_rules! named {
            ($list:expr) => {
                $list.iter().any(|d| d.enabled && d.id == c.discoverer_id)
            };
        }
        let found = match c.discoverer_service.as_str() {
            "static-discovery" => named!(config.static_discovery),
            "file-discovery" => named!(config.file_discovery),
            "consul" => named!(config.consul),
            "dns" => named!(config.dns),
            "marathon" => named!(config.marathon),
            "triton" => named!(config.triton),
            "azure" => named!(config.azure),
            "gce" => named!(config.gce),
            "ec2" => named!(config.ec2),
            "kubernetes" => match config
                .kubernetes
                .iter()
                .find(|d| d.enabled && d.id == c.discoverer_id)
            {
                Some(k) if !KUBERNETES_RESOURCES.contains(&k.resource.as_str()) => {
                    return invalid(
                        key("discoverer-id"),
                        format!(
                            "[[kubernetes]] \"{}\" has resource \"{}\": want node, pod, \
                             service or endpoints to discover targets",
                            k.id, k.resource
                        ),
                    );
                }
                found => found.is_some(),
            },
            other if UNSUPPORTED_DISCOVERERS.contains(&other) => {
                return invalid(
                    key("discoverer-service"),
                    format!(
                        "\"{other}\" discovery is not supported (static-discovery, \
                         file-discovery, azure, consul, dns, ec2, gce, kubernetes, \
                         marathon and triton are)"
                    ),
                );
            }
            other => {
                return invalid(
                    key("discoverer-service"),
                    format!(
                        "unknown discoverer service \"{other}\" (want static-discovery, \
                         file-discovery, azure, consul, dns, ec2, gce, kubernetes, \
                         marathon or triton)"
                    ),
                );
            }
        };
        if !found {
            return invalid(
                key("discoverer-id"),
                format!(
                    "no enabled [[{}]] has id \"{}\"",
                    c.discoverer_service, c.discoverer_id
                ),
            );
        }
    }
    Ok(())
}

/// Checks the ids of a discoverer section's enabled elements (`(enabled, id)` each): set,
/// and unique.
fn check_ids<'a>(
    section: &str,
    elements: impl Iterator<Item = (bool, &'a str)>,
) -> Result<(), (String, String)> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, (enabled, id)) in elements.enumerate() {
        let key = || format!("{section}[{i}].id");
        if !enabled {
            continue;
        }
        if id.is_empty() {
            return Err((key(), "must not be empty".into()));
        }
        if !seen.insert(id) {
            return Err((key(), format!("duplicate id \"{id}\"")));
        }
    }
    Ok(())
}

/// Whether `t` reads as `host:port`.
fn is_target(t: &str) -> bool {
    t.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

/// One `[[influxdb]]` cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct InfluxDbConfig {
    /// Use this cluster. Default `true`.
    pub enabled: bool,
    /// The cluster tasks use when they name none.
    pub default: bool,
    /// Unique name. Default `default`.
    pub name: String,
    /// Endpoints (`http(s)://host:port`). Default `["http://localhost:8086"]`.
    pub urls: Vec<String>,
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password.
    pub password: String,
    /// InfluxDB 2.x token.
    pub token: String,
    /// Shared secret for JWT authentication to InfluxDB.
    pub http_shared_secret: String,
    /// CA file for HTTPS.
    pub ssl_ca: String,
    /// Client certificate for HTTPS.
    pub ssl_cert: String,
    /// Client key for HTTPS.
    pub ssl_key: String,
    /// Skip TLS verification.
    pub insecure_skip_verify: bool,
    /// Request timeout; `0s` means none.
    #[serde(with = "go_duration_serde")]
    pub timeout: Duration,
    /// Do not create subscriptions (push-only setups).
    pub disable_subscriptions: bool,
    /// `http`, `https` or `udp`. Default `http`.
    pub subscription_protocol: String,
    /// `cluster` or `server`. Default `cluster`.
    pub subscription_mode: String,
    /// Path prefix InfluxDB posts subscription data to.
    pub subscription_path: String,
    /// Host name InfluxDB uses to reach us; empty means `hostname`.
    pub kapacitor_hostname: String,
    /// Port InfluxDB uses to reach us; `0` means our HTTP port.
    pub http_port: u16,
    /// Host the listeners of `udp` subscriptions bind to (a free port each); empty means
    /// every interface.
    pub udp_bind: String,
    /// Datagrams a `udp` subscription listener queues before it stops reading. Default
    /// `1000`.
    pub udp_buffer: u64,
    /// UDP socket read buffer (bytes); `0` means the OS default.
    pub udp_read_buffer: u64,
    /// How long to wait for the cluster at startup. Default `5m0s`.
    #[serde(with = "go_duration_serde")]
    pub startup_timeout: Duration,
    /// How often subscriptions are reconciled. Default `1m0s`.
    #[serde(with = "go_duration_serde")]
    pub subscriptions_sync_interval: Duration,
    /// Write compression (`gzip` or empty).
    pub compression: String,
    /// Only these `db = [rp, …]` are subscribed to; empty means all.
    pub subscriptions: BTreeMap<String, Vec<String>>,
    /// These `db = [rp, …]` are never subscribed to. Default `_kapacitor = ["autogen"]`.
    pub excluded_subscriptions: BTreeMap<String, Vec<String>>,
}

/// One `[[udp]]` listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct UdpConfig {
    /// Run this listener.
    pub enabled: bool,
    /// `host:port` to listen on.
    pub bind_address: String,
    /// Database the points are written to.
    pub database: String,
    /// Retention policy the points are written to.
    pub retention_policy: String,
    /// Datagrams queued before the listener stops reading. Default `1000`.
    pub buffer: u64,
    /// Socket read buffer (bytes); `0` means the OS default.
    pub read_buffer: u64,
}

/// The retention policy an input writes to: its own `rp`, else `default-retention-policy`,
/// else `autogen`.
pub fn input_rp<'a>(rp: &'a str, default_rp: &'a str) -> &'a str {
    if !rp.is_empty() {
        rp
    } else if !default_rp.is_empty() {
        default_rp
    } else {
        "autogen"
    }
}

/// `[udf]`: the user-defined functions, each `[udf.functions.<name>]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct UdfConfig {
    /// The functions by the name tasks call them with (`@name()`).
    pub functions: std::collections::BTreeMap<String, UdfFunctionConfig>,
}

/// `[udf.functions.<name>]`: how to reach a UDF's agent: a program Kapacitor starts for
/// each task node (`prog`, `args`, `env`), or a unix socket it connects to (`socket`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct UdfFunctionConfig {
    /// The agent's program.
    pub prog: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its environment (added to the daemon's).
    pub env: std::collections::BTreeMap<String, String>,
    /// The unix socket of an agent server (instead of `prog`).
    pub socket: String,
    /// How long the agent may take to answer info, init and keepalive requests, and to
    /// finish once its input ends. Default `10s`.
    #[serde(with = "go_duration_serde")]
    pub timeout: Duration,
}

impl Default for UdfFunctionConfig {
    fn default() -> Self {
        UdfFunctionConfig {
            prog: String::new(),
            args: Vec::new(),
            env: std::collections::BTreeMap::new(),
            socket: String::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// `[collectd]`: collectd's binary network protocol over UDP, as InfluxDB's collectd
/// service that Kapacitor runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct CollectdConfig {
    /// Run the listener.
    pub enabled: bool,
    /// `host:port` to listen on. Default `:25826`.
    pub bind_address: String,
    /// Database the points are written to. Default `collectd`.
    pub database: String,
    /// Retention policy the points are written to; empty: the default one.
    pub retention_policy: String,
    /// InfluxDB's batching (each packet's points are written at once here).
    pub batch_size: u64,
    /// Packets queued before the listener stops reading (with `batch-size`, as InfluxDB
    /// bounds what waits). Default `10`.
    pub batch_pending: u64,
    /// InfluxDB's batching.
    #[serde(with = "go_duration_serde")]
    pub batch_timeout: Duration,
    /// UDP socket read buffer (bytes); `0` means the OS default.
    pub read_buffer: u64,
    /// collectd's `types.db` (a file, or a directory of them): the names of each type's
    /// values. Default `/usr/share/collectd/types.db`.
    pub typesdb: String,
    /// The least security values must come with: `none` (plaintext is read), `sign`
    /// (signed or encrypted packets) or `encrypt` (encrypted ones).
    pub security_level: String,
    /// collectd's auth file (`user: password` lines) that checks signatures and decrypts,
    /// read at start when `security-level` is not `none`.
    pub auth_file: String,
    /// `split`: a point per value (`<plugin>_<name>`, field `value`); `join`: one point per
    /// value list (`<plugin>`, a field per value).
    pub parse_multivalue_plugin: String,
}

impl Default for CollectdConfig {
    fn default() -> Self {
        CollectdConfig {
            enabled: false,
            bind_address: ":25826".into(),
            database: "collectd".into(),
            retention_policy: String::new(),
            batch_size: 5000,
            batch_pending: 10,
            batch_timeout: Duration::from_secs(10),
            read_buffer: 0,
            typesdb: "/usr/share/collectd/types.db".into(),
            security_level: "none".into(),
            auth_file: "/etc/collectd/auth_file".into(),
            parse_multivalue_plugin: "split".into(),
        }
    }
}

/// Checks an input's listening address and database (`section` prefixes the keys):
/// `Err((key, message))`.
fn check_input(section: &str, bind_address: &str, database: &str) -> Result<(), (String, String)> {
    bind_addr(bind_address).map_err(|message| (format!("{section}.bind-address"), message))?;
    if database.is_empty() {
        return Err((format!("{section}.database"), "must not be empty".into()));
    }
    Ok(())
}

/// InfluxDB's write consistency levels (`consistency-level` of the inputs).
const CONSISTENCY_LEVELS: &[&str] = &["any", "one", "quorum", "all"];

/// One `[[graphite]]`: Graphite's plaintext protocol over TCP or UDP, as InfluxDB's Graphite
/// service that Kapacitor runs (templates, default tags, separator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct GraphiteConfig {
    /// Run this listener.
    pub enabled: bool,
    /// `host:port` to listen on. Default `:2003`.
    pub bind_address: String,
    /// Database the points are written to. Default `graphite`.
    pub database: String,
    /// Retention policy the points are written to; empty: the default one.
    pub retention_policy: String,
    /// `tcp` or `udp`. Default `tcp`.
    pub protocol: String,
    /// A connection's points are written once this many wait. Default `5000`.
    pub batch_size: u64,
    /// Batches that may wait (InfluxDB's; writes here wait for the engine instead).
    pub batch_pending: u64,
    /// ... or once the oldest has waited this long. Default `1s`.
    #[serde(with = "go_duration_serde")]
    pub batch_timeout: Duration,
    /// InfluxDB's write consistency (`any`, `one`, `quorum`, `all`).
    pub consistency_level: String,
    /// `[filter] template [tags]` each.
    pub templates: Vec<String>,
    /// `key=value` tags added to every point that has no such tag.
    pub tags: Vec<String>,
    /// What joins the parts a template puts together. Default `.`.
    pub separator: String,
    /// UDP socket read buffer (bytes); `0` means the OS default.
    pub udp_read_buffer: u64,
}

impl Default for GraphiteConfig {
    fn default() -> Self {
        GraphiteConfig {
            enabled: false,
            bind_address: ":2003".into(),
            database: "graphite".into(),
            retention_policy: String::new(),
            protocol: "tcp".into(),
            batch_size: 5000,
            batch_pending: 10,
            batch_timeout: Duration::from_secs(1),
            consistency_level: "one".into(),
            templates: Vec::new(),
            tags: Vec::new(),
            separator: ".".into(),
            udp_read_buffer: 0,
        }
    }
}

/// `[opentsdb]`: OpenTSDB's telnet `put` lines and `POST /api/put` on one port, as InfluxDB's
/// OpenTSDB service that Kapacitor runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct OpenTsdbConfig {
    /// Run the listener.
    pub enabled: bool,
    /// `host:port` to listen on. Default `:4242`.
    pub bind_address: String,
    /// Database the points are written to. Default `opentsdb`.
    pub database: String,
    /// Retention policy the points are written to; empty: the default one.
    pub retention_policy: String,
    /// InfluxDB's write consistency (`any`, `one`, `quorum`, `all`); a single Kapacitor
    /// has nothing to make consistent.
    pub consistency_level: String,
    /// Serve TLS with `certificate`.
    pub tls_enabled: bool,
    /// PEM file with the certificate and its private key.
    pub certificate: String,
    /// A connection's points are written once this many wait. Default `1000`.
    pub batch_size: u64,
    /// Batches that may wait (InfluxDB's; writes here wait for the engine instead).
    pub batch_pending: u64,
    /// ... or once the oldest has waited this long. Default `1s`.
    #[serde(with = "go_duration_serde")]
    pub batch_timeout: Duration,
    /// Log each bad line. Default `true`.
    pub log_point_errors: bool,
}

impl Default for OpenTsdbConfig {
    fn default() -> Self {
        OpenTsdbConfig {
            enabled: false,
            bind_address: ":4242".into(),
            database: "opentsdb".into(),
            retention_policy: String::new(),
            consistency_level: "one".into(),
            tls_enabled: false,
            certificate: "/etc/ssl/influxdb.pem".into(),
            batch_size: 1000,
            batch_pending: 5,
            batch_timeout: Duration::from_secs(1),
            log_point_errors: true,
        }
    }
}

/// One `[[scraper]]`: the targets of a discoverer (`discoverer-service` and
/// `discoverer-id`), scraped every `scrape-interval` for Prometheus metrics that enter the
/// stream in `db`.`rp`, as Kapacitor's scraper writes them: measurement `name`, the
/// samples' labels (with `__name__`, `job` and `instance`) as tags, field `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ScraperConfig {
    /// Run this scraper.
    pub enabled: bool,
    /// The job name: the measurement of the points.
    pub name: String,
    /// The discoverer's service: `static-discovery`, `file-discovery`, `azure`, `consul`,
    /// `dns`, `ec2`, `gce`, `kubernetes`, `marathon` or `triton`.
    pub discoverer_service: String,
    /// The discoverer's `id`.
    pub discoverer_id: String,
    /// Database the points are written to.
    pub db: String,
    /// Retention policy the points are written to.
    pub rp: String,
    /// Scraper type; only `prometheus`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Path of the metrics on each target. Default `/metrics`.
    pub metrics_path: String,
    /// How often each target is scraped. Default `1m0s`.
    #[serde(with = "go_duration_serde")]
    pub scrape_interval: Duration,
    /// How long a scrape may take. Default `10s`.
    #[serde(with = "go_duration_serde")]
    pub scrape_timeout: Duration,
    /// Basic authentication user.
    pub username: String,
    /// Basic authentication password.
    pub password: String,
    /// Sent as `Authorization: Bearer …` (instead of basic authentication).
    pub bearer_token: String,
    /// HTTPS: certificates to trust instead of the usual roots.
    pub ssl_ca: String,
    /// HTTPS: a client certificate.
    pub ssl_cert: String,
    /// HTTPS: its key.
    pub ssl_key: String,
    /// HTTPS: the name to verify certificates against; only empty (the target's host).
    pub ssl_server_name: String,
    /// HTTPS: accept any certificate.
    pub insecure_skip_verify: bool,
    /// Instances (`host:port`) not scraped.
    pub blacklist: Vec<String>,
}

impl Default for ScraperConfig {
    fn default() -> Self {
        ScraperConfig {
            enabled: false,
            name: String::new(),
            discoverer_service: String::new(),
            discoverer_id: String::new(),
            db: String::new(),
            rp: String::new(),
            kind: "prometheus".into(),
            scheme: "http".into(),
            metrics_path: "/metrics".into(),
            scrape_interval: Duration::from_secs(60),
            scrape_timeout: Duration::from_secs(10),
            username: String::new(),
            password: String::new(),
            bearer_token: String::new(),
            ssl_ca: String::new(),
            ssl_cert: String::new(),
            ssl_key: String::new(),
            ssl_server_name: String::new(),
            insecure_skip_verify: false,
            blacklist: Vec::new(),
        }
    }
}

/// One `[[static-discovery]]`: targets (`host:port`) with labels added to their samples.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct StaticDiscoveryConfig {
    /// Whether scrapers may use it.
    pub enabled: bool,
    /// What a scraper's `discoverer-id` names.
    pub id: String,
    /// `host:port` of each target.
    pub targets: Vec<String>,
    /// Labels of every target.
    pub labels: BTreeMap<String, String>,
}

/// One `[[file-discovery]]`: targets read from files in Prometheus' `file_sd` form (a JSON
/// or YAML list of `{"targets": […], "labels": {…}}`), read again every `refresh-interval`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileDiscoveryConfig {
    /// Whether scrapers may use it.
    pub enabled: bool,
    /// What a scraper's `discoverer-id` names.
    pub id: String,
    /// Files or glob patterns (`.json`, `.yml`, `.yaml`).
    pub files: Vec<String>,
    /// How often the files are read again. Default `5m0s`.
    #[serde(with = "go_duration_serde")]
    pub refresh_interval: Duration,
}

/// One `[[kubernetes]]`: a Kubernetes cluster whose deployments, replica sets and
/// replication controllers `k8sAutoscale` nodes scale (`.cluster()` names its `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct KubernetesConfig {
    /// Whether tasks may use it.
    pub enabled: bool,
    /// What `.cluster()` names.
    pub id: String,
    /// Run inside the cluster: the API server, token and CA of the pod's service account.
    pub in_cluster: bool,
    /// API server URLs (`http://localhost:8001` through `kubectl proxy`), tried in order.
    pub api_servers: Vec<String>,
    /// Bearer token.
    pub token: String,
    /// CA certificate (PEM) of the API servers.
    pub ca_path: String,
    /// The namespace Kubernetes discovery looks in (scrapers); empty: every namespace.
    pub namespace: String,
    /// What Kubernetes discovery finds targets of (scrapers): `node`, `pod`, `service` or
    /// `endpoints`.
    pub resource: String,
}

/// One `[[swarm]]`: a Docker Swarm cluster whose services `swarmAutoscale` nodes scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SwarmConfig {
    /// Whether tasks may use it.
    pub enabled: bool,
    /// What `.cluster()` names.
    pub id: String,
    /// Docker API URLs of the swarm's managers, tried in order.
    pub servers: Vec<String>,
    /// HTTPS: certificates to trust instead of the usual roots.
    pub ssl_ca: String,
    /// HTTPS: a client certificate.
    pub ssl_cert: String,
    /// HTTPS: its key.
    pub ssl_key: String,
    /// HTTPS: accept any certificate.
    pub insecure_skip_verify: bool,
}

/// One `[[ec2]]`: an AWS account and region whose auto scaling groups `ec2Autoscale` nodes
/// scale, and whose instances scrapers naming it (`discoverer-service = "ec2"`) scrape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Ec2Config {
    /// Whether tasks may use it.
    pub enabled: bool,
    /// What `.cluster()` names.
    pub id: String,
    /// AWS region (`us-east-1`).
    pub region: String,
    /// Access key; empty: `AWS_ACCESS_KEY_ID`, else the shared credentials file.
    pub access_key: String,
    /// Secret key (with `access-key`).
    pub secret_key: String,
    /// Profile of the shared credentials file (`~/.aws/credentials`); empty: `AWS_PROFILE`,
    /// else `default`.
    pub profile: String,
    /// How often EC2 discovery asks for the instances again (scrapers).
    #[serde(with = "go_duration_serde")]
    pub refresh_interval: Duration,
    /// The port EC2 discovery's targets are scraped at (scrapers).
    pub port: u16,
    /// Ours: the URL of every AWS API the section uses (an AWS-compatible endpoint); empty:
    /// AWS's, `https://autoscaling.<region>.amazonaws.com` and
    /// `https://ec2.<region>.amazonaws.com`.
    pub endpoint: String,
}

impl Default for Ec2Config {
    fn default() -> Self {
        Ec2Config {
            enabled: false,
            id: String::new(),
            region: "us-east-1".into(),
            access_key: String::new(),
            secret_key: String::new(),
            profile: String::new(),
            refresh_interval: Duration::from_secs(60),
            port: 80,
            endpoint: String::new(),
        }
    }
}

/// Checks the enabled `[[kubernetes]]`, `[[swarm]]` and `[[ec2]]` clusters as Kapacitor does.
pub fn validate_orchestrators(
    kubernetes: &[KubernetesConfig],
    swarm: &[SwarmConfig],
    ec2: &[Ec2Config],
) -> Result<(), (String, String)> {
    let unique = |section: &str, ids: Vec<(bool, &str)>| {
        let mut seen = std::collections::BTreeSet::new();
        for (i, (enabled, id)) in ids.into_iter().enumerate() {
            if enabled && !seen.insert(id) {
                return Err((
                    format!("{section}[{i}].id"),
                    format!("duplicate id \"{id}\""),
                ));
            }
        }
        Ok(())
    };
    unique(
        "kubernetes",
        kubernetes
            .iter()
            .map(|k| (k.enabled, k.id.as_str()))
            .collect(),
    )?;
    for (i, k) in kubernetes.iter().enumerate().filter(|(_, k)| k.enabled) {
        let key = |k: &str| format!("kubernetes[{i}].{k}");
        if k.in_cluster && (!k.api_servers.is_empty() || !k.token.is_empty()) {
            return Err((
                key("in-cluster"),
                "in-cluster specified, cannot specify api-servers or token".into(),
            ));
        }
        if !k.in_cluster && k.api_servers.is_empty() {
            return Err((
                key("api-servers"),
                "no api-servers specified, must provide at least one server URL".into(),
            ));
        }
        if let Some(bad) = k.api_servers.iter().find(|u| !is_http_url(u)) {
            return Err((
                key("api-servers"),
                format!("invalid URL \"{bad}\": want http://… or https://…"),
            ));
        }
        if !["", "node", "pod", "service", "endpoints"].contains(&k.resource.as_str()) {
            return Err((
                key("resource"),
                format!(
                    "unsupported resource \"{}\" (want node, pod, service or endpoints)",
                    k.resource
                ),
            ));
        }
    }
    check_ids("swarm", swarm.iter().map(|s| (s.enabled, s.id.as_str())))?;
    for (i, s) in swarm.iter().enumerate().filter(|(_, s)| s.enabled) {
        let key = format!("swarm[{i}].servers");
        if s.servers.is_empty() {
            return Err((
                key,
                "must specify at least one docker swarm server URL".into(),
            ));
        }
        if let Some(bad) = s.servers.iter().find(|u| !is_http_url(u)) {
            return Err((
                key,
                format!("invalid URL \"{bad}\": want http://… or https://…"),
            ));
        }
    }
    check_ids("ec2", ec2.iter().map(|e| (e.enabled, e.id.as_str())))?;
    for (i, e) in ec2.iter().enumerate().filter(|(_, e)| e.enabled) {
        let key = |k: &str| format!("ec2[{i}].{k}");
        if e.region.is_empty() {
            return Err((key("region"), "must not be empty".into()));
        }
        if e.access_key.is_empty() != e.secret_key.is_empty() {
            return Err((
                key("secret-key"),
                "access-key and secret-key go together".into(),
            ));
        }
        if !e.endpoint.is_empty() && !is_http_url(&e.endpoint) {
            return Err((
                key("endpoint"),
                format!("invalid URL \"{}\": want http://… or https://…", e.endpoint),
            ));
        }
    }
    Ok(())
}

/// One `[[consul]]`: the instances of a Consul catalog's services (`services`, or all),
/// read again at each scrape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ConsulConfig {
    /// Whether scrapers may use it.
    pub enabled: bool,
    /// What a scraper's `discoverer-id` names.
    pub id: String,
    /// `host:port` of the Consul agent. Default `127.0.0.1:8500`.
    pub address: String,
    /// ACL token (`X-Consul-Token`).
    pub token: String,
    /// The datacenter asked; empty: the agent's.
    pub datacenter: String,
    /// Joins a service's tags in Prometheus' `__meta_consul_tags`, which does not reach the
    /// points; kept for Kapacitor's files.
    pub tag_separator: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Basic authentication user.
    pub username: String,
    /// Basic authentication password.
    pub password: String,
    /// HTTPS: certificates to trust instead of the usual roots.
    pub ssl_ca: String,
    /// HTTPS: a client certificate.
    pub ssl_cert: String,
    /// HTTPS: its key.
    pub ssl_key: String,
    /// HTTPS: the name to verify certificates against; only empty (the agent's host).
    pub ssl_server_name: String,
    /// HTTPS: accept any certificate.
    pub insecure_skip_verify: bool,
    /// The services whose instances are targets; empty: every service.
    pub services: Vec<String>,
}

impl Default for ConsulConfig {
    fn default() -> Self {
        ConsulConfig {
            enabled: false,
            id: String::new(),
            address: "127.0.0.1:8500".into(),
            token: String::new(),
            datacenter: String::new(),
            tag_separator: ",".into(),
            scheme: "http".into(),
            username: String::new(),
            password: String::new(),
            ssl_ca: String::new(),
            ssl_cert: String::new(),
            ssl_key: String::new(),
            ssl_server_name: String::new(),
            insecure_skip_verify: false,
            services: Vec::new(),
        }
    }
}

/// One `[[dns]]`: the targets of DNS records, as Prometheus' DNS discovery finds them:
/// each SRV record's target and port, or each A or AAAA record's address at `port`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct DnsConfig {
    /// Whether scrapers may use it.
    pub enabled: bool,
    /// What a scraper's `discoverer-id` names.
    pub id: String,
    /// The names looked up.
    pub record_names: Vec<String>,
    /// The port of A and AAAA records' targets.
    pub port: u16,
    /// `SRV` (the default), `A` or `AAAA`.
    #[serde(rename = "type")]
    pub kind: String,
    /// How often the names are looked up again.
    #[serde(with = "go_duration_serde")]
    pub refresh_interval: Duration,
    /// Ours: the name servers asked (`IP` or `IP:port`); empty: the system's
    /// (`/etc/resolv.conf`, with its search domains).
    pub nameservers: Vec<String>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            enabled: false,
            id: String::new(),
            record_names: Vec::new(),
            port: 0,
            kind: "SRV".into(),
            refresh_interval: Duration::from_secs(30),
            nameservers: Vec::new(),
        }
    }
}

/// One `[[marathon]]`: the tasks of a Marathon's apps, each at its host and each of its
/// ports, as Prometheus' Marathon discovery finds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct MarathonConfig {
    /// Whether scrapers may use it.
    pub enabled: bool,
    /// What a scraper's `discoverer-id` names.
    pub id: String,
    /// Marathon's URLs, tried in order.
    pub servers: Vec<String>,
    /// How long a request may take.
    #[serde(with = "go_duration_serde")]
    pub timeout: Duration,
    /// How often the apps are asked for again.
    #[serde(with = "go_duration_serde")]
    pub refresh_interval: Duration,
    /// Bearer token (DC/OS).
    pub bearer_token: String,
    /// HTTPS: certificates to trust instead of the usual roots.
    pub ssl_ca: String,
    /// HTTPS: a client certificate.
    pub ssl_cert: String,
    /// HTTPS: its key.
    pub ssl_key: String,
    /// HTTPS: the name to verify certificates against; only empty (the server's host).
    pub ssl_server_name: String,
    /// HTTPS: accept any certificate.
    pub insecure_skip_verify: bool,
}

impl Default for MarathonConfig {
    fn default() -> Self {
        MarathonConfig {
            enabled: false,
            id: String::new(),
            servers: Vec::new(),
            timeout: Duration::from_secs(30),
            refresh_interval: Duration::from_secs(30),
            bearer_token: String::new(),
            ssl_ca: String::new(),
            ssl_cert: String::new(),
            ssl_key: String::new(),
            ssl_server_name: String::new(),
            insecure_skip_verify: false,
        }
    }
}

/// One `[[triton]]`: the containers of a Triton's discovery endpoint, each at
/// `<vm_uuid>.<dns-suffix>:<port>`, as Prometheus' Triton discovery finds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TritonConfig {
    /// Whether scrapers may use it.
    pub enabled: bool,
    /// What a scraper's `discoverer-id` names.
    pub id: String,
    /// The Triton account (kept for Kapacitor's files; the endpoint does not need it).
    pub account: String,
    /// The DNS suffix of the targets' names.
    pub dns_suffix: String,
    /// Host of the discovery endpoint (`https://<endpoint>:<port>/v<version>/discover`).
    pub endpoint: String,
    /// The endpoint's port, and the targets'.
    pub port: u16,
    /// How often the containers are asked for again.
    #[serde(with = "go_duration_serde")]
    pub refresh_interval: Duration,
    /// The discovery API's version.
    pub version: u32,
    /// Certificates to trust instead of the usual roots.
    pub ssl_ca: String,
    /// A client certificate.
    pub ssl_cert: String,
    /// Its key.
    pub ssl_key: String,
    /// The name to verify certificates against; only empty (the endpoint).
    pub ssl_server_name: String,
    /// Accept any certificate.
    pub insecure_skip_verify: bool,
}

impl Default for TritonConfig {
    fn default() -> Self {
        TritonConfig {
            enabled: false,
            id: String::new(),
            account: String::new(),
            dns_suffix: String::new(),
            endpoint: String::new(),
            port: 9163,
            refresh_interval: Duration::from_secs(60),
            version: 1,
            ssl_ca: String::new(),
            ssl_cert: String::new(),
            ssl_key: String::new(),
            ssl_server_name: String::new(),
            insecure_skip_verify: false,
        }
    }
}

/// One `[[azure]]`: the virtual machines of an Azure subscription, each at the private IP
/// address of its primary network interface and `port`, as Prometheus' Azure discovery
/// finds them (a service principal's client credentials, Azure Resource Manager's API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct AzureConfig {
    /// Whether scrapers may use it.
    pub enabled: bool,
    /// What a scraper's `discoverer-id` names.
    pub id: String,
    /// The port the machines are scraped at.
    pub port: u16,
    /// The subscription whose machines are listed.
    pub subscription_id: String,
    /// The service principal's Azure Active Directory tenant.
    pub tenant_id: String,
    /// The service principal's application (client) id.
    pub client_id: String,
    /// The service principal's secret.
    pub client_secret: String,
    /// How often the machines are listed again.
    #[serde(with = "go_duration_serde")]
    pub refresh_interval: Duration,
    /// Ours: Azure Active Directory's URL, where tokens are asked for (another cloud's,
    /// or a server speaking its API).
    pub active_directory_endpoint: String,
    /// Ours: Azure Resource Manager's URL, whose API lists the machines.
    pub resource_manager_endpoint: String,
}

impl Default for AzureConfig {
    fn default() -> Self {
        AzureConfig {
            enabled: false,
            id: "default".into(),
            port: 80,
            subscription_id: String::new(),
            tenant_id: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            refresh_interval: Duration::from_secs(300),
            active_directory_endpoint: "https://login.microsoftonline.com".into(),
            resource_manager_endpoint: "https://management.azure.com".into(),
        }
    }
}

/// One `[[gce]]`: the instances of a Google Compute Engine zone, each at the address of
/// its first network interface and `port`, as Prometheus' GCE discovery finds them (with
/// Google's application default credentials).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct GceConfig {
    /// Whether scrapers may use it.
    pub enabled: bool,
    /// What a scraper's `discoverer-id` names.
    pub id: String,
    /// The project whose instances are listed.
    pub project: String,
    /// Their zone.
    pub zone: String,
    /// A Compute Engine filter of the instances (`status = RUNNING`).
    pub filter: String,
    /// How often the instances are listed again.
    #[serde(with = "go_duration_serde")]
    pub refresh_interval: Duration,
    /// The port the instances are scraped at.
    pub port: u16,
    /// What `__meta_gce_tags` joins the network tags with.
    pub tag_separator: String,
    /// Ours: the Compute Engine API's URL (a server speaking it).
    pub endpoint: String,
}

impl Default for GceConfig {
    fn default() -> Self {
        GceConfig {
            enabled: false,
            id: "default".into(),
            project: String::new(),
            zone: String::new(),
            filter: String::new(),
            refresh_interval: Duration::from_secs(60),
            port: 80,
            tag_separator: ",".into(),
            endpoint: "https://compute.googleapis.com/compute/v1".into(),
        }
    }
}

/// A `[[dns]]` name server: `IP` (port 53) or `IP:port` (`[IPv6]:port`).
pub fn nameserver(text: &str) -> Option<std::net::SocketAddr> {
    text.parse::<std::net::SocketAddr>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| std::net::SocketAddr::new(ip, 53))
    })
}

impl Default for FileDiscoveryConfig {
    fn default() -> Self {
        FileDiscoveryConfig {
            enabled: false,
            id: String::new(),
            files: Vec::new(),
            refresh_interval: Duration::from_secs(5 * 60),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hostname: "localhost".into(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            skip_config_overrides: false,
            default_retention_policy: String::new(),
            http: HttpConfig::default(),
            replay: ReplayConfig::default(),
            batch: BatchConfig::default(),
            engine: EngineSettings::default(),
            storage: StorageConfig::default(),
            task: TaskConfig::default(),
            load: LoadConfig::default(),
            alert: AlertConfig::default(),
            logging: LoggingConfig::default(),
            deadman: DeadmanConfig::default(),
            stats: StatsConfig::default(),
            influxdb: vec![InfluxDbConfig::default()],
            udp: Vec::new(),
            collectd: CollectdConfig::default(),
            udf: UdfConfig::default(),
            graphite: Vec::new(),
            opentsdb: OpenTsdbConfig::default(),
            scraper: Vec::new(),
            static_discovery: Vec::new(),
            file_discovery: Vec::new(),
            consul: Vec::new(),
            dns: Vec::new(),
            marathon: Vec::new(),
            triton: Vec::new(),
            azure: Vec::new(),
            gce: Vec::new(),
            kubernetes: Vec::new(),
            swarm: Vec::new(),
            ec2: Vec::new(),
            httppost: Vec::new(),
            config_override: ConfigOverrideConfig::default(),
            services: Default::default(),
            disabled_handlers: Default::default(),
            blacklist_cidrs: Vec::new(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind_address: "127.0.0.1:9092".into(),
            auth_enabled: false,
            log_enabled: true,
            write_tracing: false,
            pprof_enabled: false,
            https_enabled: false,
            https_certificate: "/etc/ssl/kapacitor.pem".into(),
            https_private_key: String::new(),
            shared_secret: String::new(),
            shutdown_timeout: Duration::from_secs(10),
            unix_socket: PathBuf::new(),
            // InfluxDB's `[http] max-body-size` default.
            max_body_size: 25_000_000,
        }
    }
}

impl Default for TaskConfig {
    fn default() -> Self {
        TaskConfig {
            dir: PathBuf::new(),
            snapshot_interval: Duration::from_secs(60),
        }
    }
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            persist_topics: true,
            topic_buffer_length: 5000,
            delivery_retries: 3,
            delivery_retry_interval: Duration::from_secs(1),
        }
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            file: "STDERR".into(),
            level: "INFO".into(),
        }
    }
}

impl Default for DeadmanConfig {
    fn default() -> Self {
        DeadmanConfig {
            interval: Duration::from_secs(10),
            threshold: 0.0,
            id: "node 'NODE_NAME' in task '{{ .TaskName }}'".into(),
            message: "{{ .ID }} is {{ if eq .Level \"OK\" }}alive{{ else }}dead{{ end }}: \
                      {{ index .Fields \"emitted\" | printf \"%0.3f\" }} points/INTERVAL."
                .into(),
            global: false,
        }
    }
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            enabled: true,
            stats_interval: Duration::from_secs(10),
            database: "_kapacitor".into(),
            retention_policy: "autogen".into(),
            timing_sample_rate: 0.1,
            timing_movavg_size: 1000,
        }
    }
}

impl Default for InfluxDbConfig {
    fn default() -> Self {
        InfluxDbConfig {
            enabled: true,
            default: false,
            name: "default".into(),
            urls: vec!["http://localhost:8086".into()],
            username: String::new(),
            password: String::new(),
            token: String::new(),
            http_shared_secret: String::new(),
            ssl_ca: String::new(),
            ssl_cert: String::new(),
            ssl_key: String::new(),
            insecure_skip_verify: false,
            timeout: Duration::ZERO,
            disable_subscriptions: false,
            subscription_protocol: "http".into(),
            subscription_mode: "cluster".into(),
            subscription_path: String::new(),
            kapacitor_hostname: String::new(),
            http_port: 0,
            udp_bind: String::new(),
            udp_buffer: 1000,
            udp_read_buffer: 0,
            startup_timeout: Duration::from_secs(5 * 60),
            subscriptions_sync_interval: Duration::from_secs(60),
            compression: "gzip".into(),
            subscriptions: BTreeMap::new(),
            excluded_subscriptions: BTreeMap::from([(
                "_kapacitor".to_string(),
                vec!["autogen".to_string()],
            )]),
        }
    }
}

impl Default for UdpConfig {
    fn default() -> Self {
        UdpConfig {
            enabled: false,
            bind_address: String::new(),
            database: String::new(),
            retention_policy: String::new(),
            buffer: 1000,
            read_buffer: 0,
        }
    }
}

/// Kapacitor sections this daemon accepts (so Kapacitor's files load) but does not interpret.
const IGNORED_SECTIONS: &[&str] = &[
    "auth",
    // Kapacitor's sample file has `[static.labels]` under its `[[static-discovery]]` (meant
    // as that section's labels, a table Kapacitor ignores as well).
    "static",
    "fluxtask",
    "nerve",
    "reporting",
    "serverset",
    "sideload",
    "tls",
];

/// What the sections of [`IGNORED_SECTIONS`] that have an `enabled` key do: enabling one
/// is refused, as its inputs, discovery or checks would silently not happen. (`[reporting]`,
/// Kapacitor's usage report to InfluxData, is not sent, on purpose.)
const UNSUPPORTED_WHEN_ENABLED: &[(&str, &str)] = &[
    ("auth", "authentication"),
    ("fluxtask", "Flux tasks"),
    ("nerve", "Nerve discovery"),
    ("serverset", "Serverset discovery"),
];

/// Refuses an ignored section (one table or several) that has `enabled = true`, when it
/// is one of [`UNSUPPORTED_WHEN_ENABLED`].
fn refuse_enabled(
    text: &str,
    origin: &str,
    name: &str,
    value: &DeValue<'_>,
) -> Result<(), ConfigError> {
    let Some((_, what)) = UNSUPPORTED_WHEN_ENABLED.iter().find(|(n, _)| *n == name) else {
        return Ok(());
    };
    let tables: Vec<&DeTable<'_>> = match value {
        DeValue::Table(t) => vec![t],
        DeValue::Array(items) => items
            .iter()
            .filter_map(|i| match i.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for t in tables {
        for (k, v) in t {
            if k.get_ref() == "enabled" && matches!(v.get_ref(), DeValue::Boolean(true)) {
                return Err(ConfigError::Unsupported {
                    origin: origin.into(),
                    line: line_of(text, k.span().start),
                    section: name.into(),
                    what: (*what).into(),
                });
            }
        }
    }
    Ok(())
}

/// Keys whose value is a free-form `db = [rp, …]` table.
const FREE_FORM_TABLES: &[&str] = &[
    "subscriptions",
    "excluded-subscriptions",
    "headers",
    "labels",
    // `[udf.functions.<name>]` (each checked by its own type) and their `env`.
    "functions",
    "env",
];

/// Keys holding Go durations, so environment overrides can be checked as such.
const DURATION_KEYS: &[&str] = &[
    "shutdown-timeout",
    "snapshot-interval",
    "interval",
    "stats-interval",
    "timeout",
    "startup-timeout",
    "subscriptions-sync-interval",
    "query-spread",
    "scrape-interval",
    "scrape-timeout",
    "refresh-interval",
    "batch-timeout",
];

/// The default element of an array-of-tables section, for schema checks and env overrides.
/// Whether `url` is `http://…` or `https://…` with something after the scheme.
pub(crate) fn is_http_url(url: &str) -> bool {
    url.strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .is_some_and(|rest| !rest.is_empty())
}

fn array_element_default(section: &str) -> Option<toml::Table> {
    match section {
        "influxdb" => Some(to_table(&InfluxDbConfig::default())),
        "udp" => Some(to_table(&UdpConfig::default())),
        "slack" => Some(to_table(&crate::alert_handlers::SlackConfig::default())),
        "discord" => Some(to_table(&crate::alert_handlers::DiscordConfig::default())),
        "mqtt" => Some(to_table(&crate::alert_handlers::MqttConfig::default())),
        "kafka" => Some(to_table(&crate::alert_handlers::KafkaConfig::default())),
        "httppost" => Some(to_table(&HttpPostConfig::default())),
        "scraper" => Some(to_table(&ScraperConfig::default())),
        "graphite" => Some(to_table(&GraphiteConfig::default())),
        "static-discovery" => Some(to_table(&StaticDiscoveryConfig::default())),
        "file-discovery" => Some(to_table(&FileDiscoveryConfig::default())),
        "consul" => Some(to_table(&ConsulConfig::default())),
        "dns" => Some(to_table(&DnsConfig::default())),
        "marathon" => Some(to_table(&MarathonConfig::default())),
        "triton" => Some(to_table(&TritonConfig::default())),
        "azure" => Some(to_table(&AzureConfig::default())),
        "gce" => Some(to_table(&GceConfig::default())),
        "kubernetes" => Some(to_table(&KubernetesConfig::default())),
        "swarm" => Some(to_table(&SwarmConfig::default())),
        "ec2" => Some(to_table(&Ec2Config::default())),
        _ => None,
    }
}

fn to_table<T: Serialize>(value: &T) -> toml::Table {
    toml::Table::try_from(value).expect("configuration types serialize to a TOML table")
}

impl Config {
    /// The demo configuration Kapacitor runs with when no file is found: Kapacitor's defaults
    /// with `data_dir` under `$HOME/.kapacitor` (or [`DEFAULT_DATA_DIR`] without `HOME`).
    pub fn demo(env: &dyn Fn(&str) -> Option<String>) -> Config {
        let mut config = Config::default();
        if let Some(home) = env("HOME").filter(|h| !h.is_empty()) {
            config.data_dir = Path::new(&home).join(".kapacitor");
        }
        config
    }

    /// Parses a configuration file's text over the defaults. `origin` names the file in
    /// errors (`origin:line: …`). Environment overrides are not applied (see [`load`]).
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let doc = DeTable::parse(text).map_err(|e| parse_error(text, origin, &e, None))?;
        check_keys(text, origin, doc.get_ref())?;
        // The services' sections are flattened into `Config`, where serde loses the span
        // of an error inside them: read them alone first, so such an error names its line.
        toml::from_str::<crate::alert_handlers::ServiceConfigs>(text)
            .map_err(|e| parse_error(text, origin, &e, Some(&doc)))?;
        toml::from_str::<Config>(text).map_err(|e| parse_error(text, origin, &e, Some(&doc)))
    }

    /// The configuration as TOML, as `kapacitord config` prints it. Paths left empty are
    /// printed as they resolve under `data_dir`, so the output is explicit.
    pub fn to_toml(&self) -> String {
        let mut effective = self.clone();
        effective.replay.dir = self.replay_dir();
        effective.storage.boltdb = self.store_path();
        effective.task.dir = self.task_dir();
        effective.load.dir = self.load_dir();
        toml::to_string(&effective).expect("configuration types serialize to TOML")
    }

    /// `[replay] dir`, or `<data_dir>/replay` when empty.
    pub fn replay_dir(&self) -> PathBuf {
        self.under_data_dir(&self.replay.dir, "replay")
    }

    /// `[storage] boltdb`, or `<data_dir>/kapacitor.db` when empty.
    pub fn store_path(&self) -> PathBuf {
        self.under_data_dir(&self.storage.boltdb, "kapacitor.db")
    }

    /// `[task] dir`, or `<data_dir>/tasks` when empty.
    pub fn task_dir(&self) -> PathBuf {
        self.under_data_dir(&self.task.dir, "tasks")
    }

    /// `[load] dir`, or `<data_dir>/load` when empty.
    pub fn load_dir(&self) -> PathBuf {
        self.under_data_dir(&self.load.dir, "load")
    }

    fn under_data_dir(&self, path: &Path, default: &str) -> PathBuf {
        if path.as_os_str().is_empty() {
            self.data_dir.join(default)
        } else {
            path.to_path_buf()
        }
    }

    /// `[http] bind-address` as a socket address; an empty host (`:9092`) means all interfaces
    /// (`0.0.0.0`), and a host name is resolved.
    pub fn http_bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        bind_addr(&self.http.bind_address).map_err(|message| ConfigError::Invalid {
            key: "http.bind-address".into(),
            message,
        })
    }

    /// `[http] unix-socket`, when set.
    pub fn unix_socket(&self) -> Option<&Path> {
        Some(self.http.unix_socket.as_path()).filter(|p| !p.as_os_str().is_empty())
    }

    /// `[deadman]` as task compilation takes it.
    pub fn deadman_options(&self) -> kap_dsl::DeadmanOptions {
        let d = &self.deadman;
        kap_dsl::DeadmanOptions {
            id: d.id.clone(),
            message: d.message.clone(),
            global: d.global.then(|| {
                (
                    d.threshold,
                    i64::try_from(d.interval.as_nanos()).unwrap_or(i64::MAX),
                )
            }),
        }
    }

    /// The `[[influxdb]]` cluster tasks use when they name none: the one marked `default`, or
    /// the only enabled one.
    pub fn default_influxdb(&self) -> Option<&InfluxDbConfig> {
        default_influxdb(&self.influxdb)
    }

    /// Checks what parsing cannot: addresses, enumerations, required values and cross-section
    /// rules (one default InfluxDB cluster, unique names).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| Err(ConfigError::Invalid { key, message });
        if let Err((key, message)) = self.services.validate() {
            return invalid(key, message);
        }
        if self.hostname.is_empty() {
            return invalid("hostname".into(), "must not be empty".into());
        }
        if self.http.auth_enabled {
            return invalid(
                "http.auth-enabled".into(),
                "authentication is not supported by this daemon, and the API must not run open when it was asked for: set it to false and keep the API private (bind-address on 127.0.0.1, or the unix socket)".into(),
            );
        }
        if self.data_dir.as_os_str().is_empty() {
            return invalid("data_dir".into(), "must not be empty".into());
        }
        self.http_bind_addr()?;
        if self.http.https_enabled && self.http.https_certificate.is_empty() {
            return invalid(
                "http.https-certificate".into(),
                "must be set when https-enabled is true".into(),
            );
        }
        if !["DEBUG", "INFO", "WARN", "ERROR", "OFF"]
            .contains(&self.logging.level.to_ascii_uppercase().as_str())
        {
            return invalid(
                "logging.level".into(),
                format!(
                    "unknown level \"{}\" (want DEBUG, INFO, WARN, ERROR or OFF)",
                    self.logging.level
                ),
            );
        }
        if !self.engine.cluster_addresses.is_empty() {
            let n = self.engine.cluster_addresses.len();
            if self.engine.cluster_process >= n {
                return invalid(
                    "engine.cluster-process".into(),
                    format!(
                        "{} is not the index of one of the {n} cluster-addresses",
                        self.engine.cluster_process
                    ),
                );
            }
            if let Some((i, a)) = self
                .engine
                .cluster_addresses
                .iter()
                .enumerate()
                .find(|(_, a)| {
                    a.rsplit_once(':')
                        .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
                })
            {
                return invalid(
                    format!("engine.cluster-addresses[{i}]"),
                    format!("{a:?} is not host:port"),
                );
            }
        }
        if self.engine.workers > MAX_ENGINE_WORKERS {
            return invalid(
                "engine.workers".into(),
                format!(
                    "{} is too many (at most {MAX_ENGINE_WORKERS}; 0 means one per core)",
                    self.engine.workers
                ),
            );
        }
        if self.stats.enabled && self.stats.stats_interval.is_zero() {
            return invalid("stats.stats-interval".into(), "must be positive".into());
        }
        if self.deadman.interval.is_zero() {
            return invalid("deadman.interval".into(), "must be positive".into());
        }
        if let Err((key, message)) = validate_httppost(&self.httppost) {
            return invalid(key, message);
        }
        if let Err((key, message)) = validate_influxdb(&self.influxdb) {
            return invalid(key, message);
        }
        if let Err((key, message)) = validate_scrapers(self.scraper_sections()) {
            return invalid(key, message);
        }
        if let Err((key, message)) =
            validate_orchestrators(&self.kubernetes, &self.swarm, &self.ec2)
        {
            return invalid(key, message);
        }
        for (i, g) in self.graphite.iter().enumerate() {
            let key = |k: &str| format!("graphite[{i}].{k}");
            if !g.enabled {
                continue;
            }
            if let Err((key, message)) =
                check_input(&format!("graphite[{i}]"), &g.bind_address, &g.database)
            {
                return invalid(key, message);
            }
            if !["tcp", "udp"].contains(&g.protocol.as_str()) {
                return invalid(
                    key("protocol"),
                    format!("unknown protocol \"{}\" (want tcp or udp)", g.protocol),
                );
            }
            if !CONSISTENCY_LEVELS.contains(&g.consistency_level.as_str()) {
                return invalid(
                    key("consistency-level"),
                    format!(
                        "unknown level \"{}\" (want any, one, quorum or all)",
                        g.consistency_level
                    ),
                );
            }
            if g.batch_size == 0 || g.batch_timeout.is_zero() {
                return invalid(
                    key("batch-size"),
                    "batch-size and batch-timeout must be positive".into(),
                );
            }
            if let Err(message) =
                kap_ingest::graphite::Parser::new(&g.templates, &g.tags, &g.separator)
            {
                return invalid(key("templates"), message);
            }
        }
        for (name, f) in &self.udf.functions {
            let key = |k: &str| format!("udf.functions.{name}.{k}");
            match (f.prog.is_empty(), f.socket.is_empty()) {
                (true, true) => {
                    return invalid(key("prog"), "a UDF needs prog or socket".into());
                }
                (false, false) => {
                    return invalid(
                        key("socket"),
                        "a UDF has either prog or socket, not both".into(),
                    );
                }
                _ => {}
            }
            if f.timeout.is_zero() {
                return invalid(key("timeout"), "must be greater than 0".into());
            }
        }
        if self.collectd.enabled {
            let c = &self.collectd;
            if let Err((key, message)) = check_input("collectd", &c.bind_address, &c.database) {
                return invalid(key, message);
            }
            if let Err(message) = c
                .security_level
                .parse::<kap_ingest::collectd::SecurityLevel>()
            {
                return invalid("collectd.security-level".into(), message);
            }
            if !["split", "join"].contains(&c.parse_multivalue_plugin.as_str()) {
                return invalid(
                    "collectd.parse-multivalue-plugin".into(),
                    format!(
                        "unknown mode \"{}\" (want split or join)",
                        c.parse_multivalue_plugin
                    ),
                );
            }
        }
        if self.opentsdb.enabled {
            let o = &self.opentsdb;
            if let Err((key, message)) = check_input("opentsdb", &o.bind_address, &o.database) {
                return invalid(key, message);
            }
            if !CONSISTENCY_LEVELS.contains(&o.consistency_level.as_str()) {
                return invalid(
                    "opentsdb.consistency-level".into(),
                    format!(
                        "unknown level \"{}\" (want any, one, quorum or all)",
                        o.consistency_level
                    ),
                );
            }
            if o.batch_size == 0 {
                return invalid("opentsdb.batch-size".into(), "must be positive".into());
            }
            if o.batch_timeout.is_zero() {
                return invalid("opentsdb.batch-timeout".into(), "must be positive".into());
            }
        }
        for (i, u) in self.udp.iter().enumerate() {
            if !u.enabled {
                continue;
            }
            if let Err((key, message)) =
                check_input(&format!("udp[{i}]"), &u.bind_address, &u.database)
            {
                return invalid(key, message);
            }
        }
        Ok(())
    }

    /// Applies the `KAPACITOR_<SECTION>_<KEY>` environment overrides, as [`load`] does.
    ///
    /// Every key is overridable, upper-cased with `-` → `_` (`KAPACITOR_HTTP_BIND_ADDRESS`,
    /// `KAPACITOR_DATA_DIR`). Array sections are indexed (`KAPACITOR_INFLUXDB_0_ENABLED`); an
    /// index one past the end adds an element with defaults. Array values take either a
    /// comma-separated list (`KAPACITOR_INFLUXDB_0_URLS=a,b`) or indexed elements
    /// (`KAPACITOR_INFLUXDB_0_URLS_0`). The free-form `subscriptions` tables are not overridable.
    pub fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let mut table = to_table(self);
        override_table(&mut table, ENV_PREFIX, true, env)?;
        *self = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Env {
                var: format!("{ENV_PREFIX}_*"),
                message: e.message().to_string(),
            })?;
        Ok(())
    }
}

/// The configuration file to read when none is given, as Kapacitor looks for it:
/// `KAPACITOR_CONFIG_PATH`, then `$HOME/.kapacitor/kapacitor.conf`, then
/// `/etc/kapacitor/kapacitor.conf` (the latter two only if they exist).
pub fn default_config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(path) = env(CONFIG_PATH_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let home = env("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| Path::new(&h).join(".kapacitor/kapacitor.conf"));
    home.into_iter()
        .chain([PathBuf::from("/etc/kapacitor/kapacitor.conf")])
        .find(|p| p.is_file())
}

/// Loads the daemon configuration: the file at `path` (or [`default_config_path`]; without
/// any, [`Config::demo`]), then the environment overrides ([`Config::apply_env`]). `env` reads
/// an environment variable (`&|k| std::env::var(k).ok()` in the daemon). The result is not
/// validated: call [`Config::validate`].
pub fn load(
    path: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let path = path
        .map(Path::to_path_buf)
        .or_else(|| default_config_path(env));
    let mut config = match path {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            Config::parse(&text, &path.display().to_string())?
        }
        None => Config::demo(env),
    };
    config.apply_env(env)?;
    Ok(config)
}

// ---------------------------------------------------------------------------------------------
// Parsing with line numbers.

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A path segment inside the document, for naming sections in errors.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index,
}

fn section_name(path: &[Seg]) -> String {
    if path.is_empty() {
        return "the top level".into();
    }
    let is_array_element = matches!(path.last(), Some(Seg::Index));
    let name: Vec<&str> = path
        .iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index => None,
        })
        .collect();
    if is_array_element {
        format!("[[{}]]", name.join("."))
    } else {
        format!("[{}]", name.join("."))
    }
}

/// Rejects keys the schema (the serialized defaults) does not know.
fn check_keys(text: &str, origin: &str, doc: &DeTable<'_>) -> Result<(), ConfigError> {
    let schema = to_table(&Config::default());
    for (key, value) in doc {
        let name: &str = key.get_ref();
        if IGNORED_SECTIONS.contains(&name) {
            refuse_enabled(text, origin, name, value.get_ref())?;
            continue;
        }
        let path = vec![Seg::Key(name.to_string())];
        match (schema.get(name), value.get_ref()) {
            (None, _) => {
                let known = schema
                    .keys()
                    .map(String::as_str)
                    .chain(IGNORED_SECTIONS.iter().copied());
                return Err(unknown_key(
                    text,
                    origin,
                    key.span().start,
                    name,
                    &[],
                    known,
                ));
            }
            (Some(toml::Value::Table(section)), DeValue::Table(t)) => {
                check_table(text, origin, section, t, &path)?;
            }
            // A section Kapacitor takes once or as an array (`[slack]`, `[[slack]]`).
            (Some(toml::Value::Array(_)), DeValue::Table(t)) => {
                if let Some(element) = array_element_default(name) {
                    check_table(text, origin, &element, t, &path)?;
                }
            }
            (Some(toml::Value::Array(_)), DeValue::Array(items)) => {
                if let Some(element) = array_element_default(name) {
                    let mut path = path;
                    path.push(Seg::Index);
                    for item in items.iter() {
                        if let DeValue::Table(t) = item.get_ref() {
                            check_table(text, origin, &element, t, &path)?;
                        }
                    }
                }
            }
            _ => {} // type mismatches are reported by serde with their line
        }
    }
    Ok(())
}

fn check_table(
    text: &str,
    origin: &str,
    schema: &toml::Table,
    table: &DeTable<'_>,
    path: &[Seg],
) -> Result<(), ConfigError> {
    for (key, value) in table {
        let name: &str = key.get_ref();
        match (schema.get(name), value.get_ref()) {
            (None, _) => {
                let known = schema.keys().map(String::as_str);
                return Err(unknown_key(
                    text,
                    origin,
                    key.span().start,
                    name,
                    path,
                    known,
                ));
            }
            (Some(toml::Value::Table(sub)), DeValue::Table(t))
                if !FREE_FORM_TABLES.contains(&name) =>
            {
                let mut path = path.to_vec();
                path.push(Seg::Key(name.to_string()));
                check_table(text, origin, sub, t, &path)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn unknown_key<'a>(
    text: &str,
    origin: &str,
    offset: usize,
    key: &str,
    path: &[Seg],
    known: impl Iterator<Item = &'a str>,
) -> ConfigError {
    let suggestion = known
        .map(|k| (edit_distance(key, k), k))
        .filter(|&(d, k)| d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k.to_string());
    ConfigError::UnknownKey {
        origin: origin.into(),
        line: line_of(text, offset),
        key: key.into(),
        section: section_name(path),
        suggestion,
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Turns a TOML or serde error into `origin:line: message`, naming the key when the error's
/// span falls on one.
fn parse_error(
    text: &str,
    origin: &str,
    error: &toml::de::Error,
    doc: Option<&toml::Spanned<DeTable<'_>>>,
) -> ConfigError {
    let span = error.span();
    let line = span.as_ref().map_or(1, |s| line_of(text, s.start));
    let mut message = error.message().trim().to_string();
    if let (Some(span), Some(doc)) = (span, doc) {
        let mut path = Vec::new();
        if let Some(key) = find_key(doc.get_ref(), &span, &mut path) {
            message = format!(
                "invalid value for \"{key}\" in {}: {message}",
                section_name(&path)
            );
        }
    }
    ConfigError::Parse {
        origin: origin.into(),
        line,
        message,
    }
}

/// The innermost key whose key or value span contains `span`, with the path of its table.
/// Tables are searched whole: a `[section]` value's span covers only its header.
fn find_key(
    table: &DeTable<'_>,
    span: &std::ops::Range<usize>,
    path: &mut Vec<Seg>,
) -> Option<String> {
    let contains =
        |s: std::ops::Range<usize>| s.start <= span.start && span.end <= s.end.max(s.start + 1);
    for (key, value) in table {
        let name = key.get_ref().to_string();
        let mut inner = path.clone();
        inner.push(Seg::Key(name.clone()));
        match value.get_ref() {
            DeValue::Table(t) => {
                if let Some(found) = find_key(t, span, &mut inner) {
                    *path = inner;
                    return Some(found);
                }
            }
            DeValue::Array(items) => {
                inner.push(Seg::Index);
                for item in items.iter() {
                    if let DeValue::Table(t) = item.get_ref() {
                        let mut element = inner.clone();
                        if let Some(found) = find_key(t, span, &mut element) {
                            *path = element;
                            return Some(found);
                        }
                    }
                }
            }
            _ => {}
        }
        if contains(key.span()) || contains(value.span()) {
            return Some(name);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Environment overrides.

fn env_name(prefix: &str, key: &str) -> String {
    format!("{prefix}_{}", key.to_ascii_uppercase().replace('-', "_"))
}

fn override_table(
    table: &mut toml::Table,
    prefix: &str,
    top_level: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for (key, value) in table.iter_mut() {
        let var = env_name(prefix, key);
        match value {
            toml::Value::Table(t) => {
                if !FREE_FORM_TABLES.contains(&key.as_str()) {
                    override_table(t, &var, false, env)?;
                }
            }
            toml::Value::Array(items) => {
                let element = top_level.then(|| array_element_default(key)).flatten();
                match element {
                    Some(element) => override_sections(items, &element, &var, env)?,
                    None => override_list(items, &var, env),
                }
            }
            scalar => {
                if let Some(text) = env(&var) {
                    *scalar = scalar_from_env(scalar, key, &text).map_err(|message| {
                        ConfigError::Env {
                            var: var.clone(),
                            message,
                        }
                    })?;
                }
            }
        }
    }
    Ok(())
}

/// `KAPACITOR_INFLUXDB_<i>_…`: each existing element, then new ones while variables exist.
fn override_sections(
    items: &mut Vec<toml::Value>,
    element: &toml::Table,
    var: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for i in 0.. {
        let prefix = format!("{var}_{i}");
        if i >= items.len() {
            if !any_env(element, &prefix, env) {
                break;
            }
            items.push(toml::Value::Table(element.clone()));
        }
        if let toml::Value::Table(t) = &mut items[i] {
            override_table(t, &prefix, false, env)?;
        }
    }
    Ok(())
}

/// `KAPACITOR_…_URLS=a,b` replaces the list; `KAPACITOR_…_URLS_<j>` sets (or appends) one.
fn override_list(items: &mut Vec<toml::Value>, var: &str, env: &dyn Fn(&str) -> Option<String>) {
    if let Some(text) = env(var) {
        *items = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| toml::Value::String(s.to_string()))
            .collect();
    }
    for j in 0.. {
        match env(&format!("{var}_{j}")) {
            Some(text) if j < items.len() => items[j] = toml::Value::String(text),
            Some(text) if j == items.len() => items.push(toml::Value::String(text)),
            _ if j < items.len() => {}
            _ => break,
        }
    }
}

fn any_env(table: &toml::Table, prefix: &str, env: &dyn Fn(&str) -> Option<String>) -> bool {
    table.iter().any(|(key, value)| {
        let var = env_name(prefix, key);
        match value {
            toml::Value::Table(t) => {
                !FREE_FORM_TABLES.contains(&key.as_str()) && any_env(t, &var, env)
            }
            toml::Value::Array(_) => env(&var).is_some() || env(&format!("{var}_0")).is_some(),
            _ => env(&var).is_some(),
        }
    })
}

fn scalar_from_env(current: &toml::Value, key: &str, text: &str) -> Result<toml::Value, String> {
    Ok(match current {
        toml::Value::Boolean(_) => toml::Value::Boolean(parse_go_bool(text)?),
        toml::Value::Integer(_) => toml::Value::Integer(
            text.trim()
                .parse()
                .map_err(|_| format!("invalid integer \"{text}\""))?,
        ),
        toml::Value::Float(_) => toml::Value::Float(
            text.trim()
                .parse()
                .map_err(|_| format!("invalid number \"{text}\""))?,
        ),
        _ => {
            if DURATION_KEYS.contains(&key) {
                parse_go_duration(text)?;
            }
            toml::Value::String(text.to_string())
        }
    })
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("invalid boolean \"{text}\"")),
    }
}

// ---------------------------------------------------------------------------------------------
// Addresses and durations.

/// Resolves `host:port` (`:port` = all interfaces; `[v6]:port`; a host name is looked up).
pub(crate) fn bind_addr(text: &str) -> Result<SocketAddr, String> {
    let bad = |why: &str| format!("invalid address \"{text}\": {why}");
    let (host, port) = text.rsplit_once(':').ok_or_else(|| bad("want host:port"))?;
    let port: u16 = port.parse().map_err(|_| bad("invalid port"))?;
    if host.is_empty() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if host.contains(':') || host.contains('[') {
        return Err(bad("invalid host"));
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|e| bad(&e.to_string()))?
        .next()
        .ok_or_else(|| bad("host has no address"))
}

/// Parses a Go duration string (`time.ParseDuration`: `"10s"`, `"1m30s"`, `"1.5h"`, `"300ms"`,
/// `"0"`); an empty string is zero, as Kapacitor's `toml.Duration` reads it. Negative
/// durations are rejected.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration \"{text}\"");
    let s = text.strip_prefix('+').unwrap_or(text);
    if s.is_empty() || s == "0" {
        return if text.is_empty() || s == "0" {
            Ok(Duration::ZERO)
        } else {
            Err(bad())
        };
    }
    if let Some(magnitude) = s.strip_prefix('-') {
        return match parse_go_duration(magnitude) {
            Ok(d) if d.is_zero() && !magnitude.is_empty() => Ok(d),
            Ok(_) => Err(format!("invalid duration \"{text}\": must not be negative")),
            Err(_) => Err(bad()),
        };
    }
    let mut rest = s;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(bad());
        }
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("invalid duration \"{text}\": missing unit")),
            _ => {
                return Err(format!(
                    "invalid duration \"{text}\": unknown unit \"{unit}\""
                ));
            }
        };
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let mut frac_ns: u128 = 0;
        let mut denom: u128 = 1;
        for c in frac.chars().take(30) {
            frac_ns = frac_ns * 10 + u128::from(c.to_digit(10).ok_or_else(bad)?);
            denom *= 10;
        }
        total = whole
            .checked_mul(scale)
            .and_then(|w| w.checked_add(frac_ns * scale / denom))
            .and_then(|v| total.checked_add(v))
            .filter(|&v| v <= i64::MAX as u128)
            .ok_or_else(|| format!("invalid duration \"{text}\": out of range"))?;
        rest = tail;
    }
    Ok(Duration::from_nanos(total as u64))
}

/// Prints a duration as Go's `time.Duration.String()` does (`10s`, `1m0s`, `1.5s`).
pub fn format_go_duration(duration: Duration) -> String {
    let ns = i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX);
    kap_dsl::eval::go_duration(ns)
}

/// Serde adaptor: a [`Duration`] as a Go duration string.
pub(crate) mod go_duration_serde {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_go_duration(*d))
    }

    /// Reads a string, or an integer as its decimal text (as Go's TOML decoder hands integers
    /// to `toml.Duration`: Kapacitor's own `kapacitor.conf` says `timeout = 0`).
    struct Text;

    impl serde::de::Visitor<'_> for Text {
        type Value = String;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a duration string such as \"10s\"")
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = d.deserialize_any(Text)?;
        super::parse_go_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        let ok = [
            ("10s", Duration::from_secs(10)),
            ("1m0s", Duration::from_secs(60)),
            ("1m30s", Duration::from_secs(90)),
            ("1.5h", Duration::from_secs(5400)),
            ("300ms", Duration::from_millis(300)),
            ("2h45m", Duration::from_secs(2 * 3600 + 45 * 60)),
            ("1us", Duration::from_micros(1)),
            ("1µs", Duration::from_micros(1)),
            ("5ns", Duration::from_nanos(5)),
            (".5s", Duration::from_millis(500)),
            ("0", Duration::ZERO),
            ("", Duration::ZERO),
            ("+3s", Duration::from_secs(3)),
            ("-0s", Duration::ZERO),
        ];
        for (text, want) in ok {
            assert_eq!(parse_go_duration(text), Ok(want), "{text}");
        }
        for bad in [
            "10",
            "s",
            "-",
            "--1s",
            "1x",
            "-1s",
            "1..2s",
            ".s",
            "1s2",
            "9999999999h",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn go_durations_print() {
        for (d, want) in [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_secs(300), "5m0s"),
            (Duration::from_millis(1500), "1.5s"),
        ] {
            assert_eq!(format_go_duration(d), want);
            assert_eq!(parse_go_duration(want), Ok(d));
        }
    }

    #[test]
    fn engine_workers_come_from_the_file_or_the_environment_and_are_bounded() {
        let c = Config::parse("[engine]\nworkers = 3\n", "test").unwrap();
        assert_eq!(c.engine.worker_count(), 3);
        let mut c = Config::default();
        assert!(c.engine.worker_count() >= 1, "0 means one per core");
        c.apply_env(&|k| (k == "KAPACITOR_ENGINE_WORKERS").then(|| "2".to_string()))
            .unwrap();
        assert_eq!(c.engine.workers, 2);
        c.engine.workers = MAX_ENGINE_WORKERS + 1;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("engine.workers"), "{err}");
        assert!(Config::parse("[engine]\nworkerz = 3\n", "test").is_err());
        let c = Config::parse(
            "[engine]\ncluster-addresses = [\"a:2101\", \"b:2101\"]\ncluster-process = 1\n",
            "test",
        )
        .unwrap();
        assert_eq!(c.engine.cluster_addresses, ["a:2101", "b:2101"]);
        assert_eq!(c.engine.cluster_process, 1);
        let err = Config::parse(
            "[engine]\ncluster-addresses = [\"a:2101\"]\ncluster-process = 1\n",
            "test",
        )
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("engine.cluster-process"), "{err}");
        let err = Config::parse(
            "[engine]\ncluster-addresses = [\"a:2101\", \"b\"]\n",
            "test",
        )
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("engine.cluster-addresses[1]"), "{err}");
    }

    #[test]
    fn bind_addresses() {
        assert_eq!(
            bind_addr(":9092"),
            Ok("0.0.0.0:9092".parse::<SocketAddr>().unwrap())
        );
        assert_eq!(bind_addr("[::1]:80"), Ok("[::1]:80".parse().unwrap()));
        assert!(bind_addr("localhost:9092").is_ok());
        assert!(bind_addr("9092").is_err());
        assert!(bind_addr("127.0.0.1:99999").is_err());
    }

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("bind-adress", "bind-address"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn service_sections_are_one_table_or_many_and_errors_name_their_line() {
        let c = Config::parse("[slack]\nenabled = true\nurl = \"http://x\"\n", "f").unwrap();
        assert_eq!(c.services.slack.len(), 1);
        assert_eq!(c.services.slack[0].username, "kapacitor");
        let c = Config::parse(
            "[[slack]]\nworkspace = \"a\"\n[[slack]]\nworkspace = \"b\"\n[pagerduty2]\nrouting-key = \"k\"\n",
            "f",
        )
        .unwrap();
        assert_eq!(c.services.slack.len(), 2);
        assert_eq!(c.services.pagerduty2.routing_key, "k");
        assert_eq!(
            c.services.pagerduty2.url,
            "https://events.pagerduty.com/v2/enqueue"
        );
        let e = Config::parse("[slack]\nchanel = \"#x\"\n", "f").unwrap_err();
        assert!(
            e.to_string()
                .contains("f:2: unknown key \"chanel\" in [slack]"),
            "{e}"
        );
        let e = Config::parse("\n[smtp]\nport = \"x\"\n", "f").unwrap_err();
        assert!(
            e.to_string().starts_with("f:3: invalid value for \"port\""),
            "{e}"
        );
        // Environment overrides reach them too, indexed for the arrays.
        let mut c = Config::default();
        let env = |k: &str| match k {
            "KAPACITOR_SLACK_0_URL" => Some("http://env".to_string()),
            "KAPACITOR_SMTP_PORT" => Some("2525".to_string()),
            _ => None,
        };
        c.apply_env(&env).unwrap();
        assert_eq!(c.services.slack[0].url, "http://env");
        assert_eq!(c.services.smtp.port, 2525);
    }
}
