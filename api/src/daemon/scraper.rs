//! The Prometheus scraper (`[[scraper]]`), with its target discoverers `[[static-discovery]]`,
//! `[[file-discovery]]`, `[[azure]]`, `[[consul]]`, `[[dns]]`, `[[ec2]]`, `[[gce]]`, `[[kubernetes]]`,
//! `[[marathon]]` and `[[triton]]`, as Kapacitor's scraper service runs Prometheus' scrape
//! loop.
//!
//! Each enabled scraper has a thread that, every `scrape-interval`, asks its discoverer for
//! the targets, scrapes them all at once (a thread each, `scrape-timeout` each) and writes
//! the samples to the stream as Kapacitor's scraper does (`services/scraper/service.go`
//! `Append`): one point per sample, measurement the scraper's `name` (the job), the
//! sample's labels as tags with `__name__` (the metric) and the target's labels (`job`,
//! `instance`, the discoverer's labels), field `value`, time the sample's own or the
//! scrape's start (in milliseconds). A scraped label that a target label also sets is kept as `exported_<name>`
//! (Prometheus' `honor_labels: false`). Samples that are NaN or infinite are dropped, as in
//! Kapacitor. Blacklisted instances are not scraped.
//!
//! After each scrape of a target, Prometheus' report samples follow with the target's
//! labels: `up` (1, or 0 when the scrape failed), `scrape_duration_seconds`,
//! `scrape_samples_scraped` and `scrape_samples_post_metric_relabeling`. A scrape fails
//! when the target cannot be reached in time, answers anything but 200, or sends an
//! exposition with a bad line (Prometheus refuses it whole); the failure is logged with the
//! target, and for a bad line its line and column.

use super::runtime::Runtime;
use crate::alert_handlers::tls::{TlsKeys, post_tls, ureq_tls};
use crate::config::{
    ConsulConfig, DnsConfig, Ec2Config, FileDiscoveryConfig, KubernetesConfig, MarathonConfig,
    ScraperConfig, ScraperSections, StaticDiscoveryConfig, TritonConfig,
};
use anyhow::Context as _;
use kap_dataflow::point::{FieldValue, Point, Sym, Tags};
use kap_ingest::prometheus;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a waiting scraper looks whether to stop.
const STOP_POLL: Duration = Duration::from_millis(100);
/// The most targets of one scraper scraped at once.
const MAX_PARALLEL: usize = 64;
/// The largest exposition read from a target.
const MAX_BODY: u64 = 64 << 20;

/// A target: its `host:port` and the labels its discoverer gives it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Target {
    pub(crate) address: String,
    pub(crate) labels: BTreeMap<String, String>,
}

/// One group of a `file_sd` file.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Where a scraper's targets come from.
#[derive(Debug)]
pub(crate) enum Discoverer {
    /// `[[static-discovery]]`.
    Static(StaticDiscoveryConfig),
    /// `[[file-discovery]]`, with the targets each file gave when last read.
    File {
        config: FileDiscoveryConfig,
        read: Option<Instant>,
        files: BTreeMap<PathBuf, Vec<Target>>,
    },
    /// `[[consul]]`, with its client and the targets the catalog last gave.
    Consul {
        config: Box<ConsulConfig>,
        agent: ureq::Agent,
        last: Vec<Target>,
    },
    /// `[[dns]]`, with its resolver, when it last looked the names up and the targets each
    /// name gave.
    Dns {
        config: Box<DnsConfig>,
        resolver: Box<Dns>,
        read: Option<Instant>,
        names: BTreeMap<String, Vec<Target>>,
    },
    /// `[[marathon]]`, with its client, when it was last asked and the targets it gave.
    Marathon {
        config: Box<MarathonConfig>,
        agent: ureq::Agent,
        read: Option<Instant>,
        last: Vec<Target>,
    },
    /// `[[triton]]`, with its client, when it was last asked and the targets it gave.
    Triton {
        config: Box<TritonConfig>,
        agent: ureq::Agent,
        read: Option<Instant>,
        last: Vec<Target>,
    },
    /// `[[kubernetes]]`, with its client, its `resource` and the targets it last gave.
    Kubernetes {
        config: Box<KubernetesConfig>,
        cluster: Box<super::autoscale::Cluster>,
        role: super::kubernetes_sd::Role,
        last: Vec<Target>,
    },
    /// `[[azure]]`, with its client, when it was last asked and the targets it gave.
    Azure {
        azure: Box<super::azure_sd::Azure>,
        read: Option<Instant>,
        last: Vec<Target>,
    },
    /// `[[gce]]`, with its client, when it was last asked and the targets it gave.
    Gce {
        gce: Box<super::gce_sd::Gce>,
        read: Option<Instant>,
        last: Vec<Target>,
    },
    /// `[[ec2]]`, with its EC2 API, when it was last asked and the targets it gave.
    Ec2 {
        config: Box<Ec2Config>,
        api: Box<super::aws::Ec2>,
        read: Option<Instant>,
        last: Vec<Target>,
    },
}

impl Discoverer {
    /// The discoverer `scraper` names (its config was validated: it exists and is enabled).
    pub(crate) fn of(
        scraper: &ScraperConfig,
        sections: ScraperSections<'_>,
    ) -> anyhow::Result<Option<Discoverer>> {
        // The enabled element of a discoverer section with the scraper's id, and its index.
        macro_rules! named {
            ($list:expr) => {
                $list
                    .iter()
                    .enumerate()
                    .find(|(_, d)| d.enabled && d.id == scraper.discoverer_id)
            };
        }
        let found = match scraper.discoverer_service.as_str() {
            "static-discovery" => {
                named!(sections.static_discovery).map(|(_, d)| Discoverer::Static(d.clone()))
            }
            "file-discovery" => named!(sections.file_discovery).map(|(_, d)| Discoverer::File {
                config: d.clone(),
                read: None,
                files: BTreeMap::new(),
            }),
            "consul" => match named!(sections.consul) {
                None => None,
                Some((_, c)) => Some(Discoverer::Consul {
                    config: Box::new(c.clone()),
                    agent: agent(CONSUL_TIMEOUT, c.tls_keys())
                        .with_context(|| format!("[[consul]] {}", c.id))?,
                    last: Vec::new(),
                }),
            },
            "dns" => match named!(sections.dns) {
                None => None,
                Some((_, c)) => Some(Discoverer::Dns {
                    config: Box::new(c.clone()),
                    resolver: Box::new(Dns::new(c).with_context(|| format!("[[dns]] {}", c.id))?),
                    read: None,
                    names: BTreeMap::new(),
                }),
            },
            "marathon" => match named!(sections.marathon) {
                None => None,
                Some((_, c)) => Some(Discoverer::Marathon {
                    config: Box::new(c.clone()),
                    agent: agent(c.timeout, c.tls_keys())
                        .with_context(|| format!("[[marathon]] {}", c.id))?,
                    read: None,
                    last: Vec::new(),
                }),
            },
            "triton" => match named!(sections.triton) {
                None => None,
                Some((_, c)) => Some(Discoverer::Triton {
                    config: Box::new(c.clone()),
                    agent: agent(TRITON_TIMEOUT, c.tls_keys())
                        .with_context(|| format!("[[triton]] {}", c.id))?,
                    read: None,
                    last: Vec::new(),
                }),
            },
            "kubernetes" => match named!(sections.kubernetes) {
                None => None,
                Some((i, c)) => Some(Discoverer::Kubernetes {
                    config: Box::new(c.clone()),
                    cluster: Box::new(
                        super::autoscale::Cluster::kubernetes(i, c).map_err(anyhow::Error::msg)?,
                    ),
                    role: super::kubernetes_sd::Role::of(&c.resource).ok_or_else(|| {
                        anyhow::anyhow!(
                            "kubernetes[{i}].resource: unknown resource {:?}",
                            c.resource
                        )
                    })?,
                    last: Vec::new(),
                }),
            },
            "azure" => match named!(sections.azure) {
                None => None,
                Some((_, c)) => Some(Discoverer::Azure {
                    azure: Box::new(
                        super::azure_sd::Azure::new(c)
                            .with_context(|| format!("[[azure]] {}", c.id))?,
                    ),
                    read: None,
                    last: Vec::new(),
                }),
            },
            "gce" => match named!(sections.gce) {
                None => None,
                Some((_, c)) => Some(Discoverer::Gce {
                    gce: Box::new(
                        super::gce_sd::Gce::new(c).with_context(|| format!("[[gce]] {}", c.id))?,
                    ),
                    read: None,
                    last: Vec::new(),
                }),
            },
            "ec2" => match named!(sections.ec2) {
                None => None,
                Some((_, c)) => Some(Discoverer::Ec2 {
                    config: Box::new(c.clone()),
                    api: Box::new(
                        super::aws::Ec2::new(c, EC2_TIMEOUT)
                            .map_err(|e| anyhow::anyhow!("[[ec2]] {}: {e}", c.id))?,
                    ),
                    read: None,
                    last: Vec::new(),
                }),
            },
            _ => None,
        };
        Ok(found)
    }

    /// The current targets, their addresses completed with `scheme`'s port where they have
    /// none ([`with_default_port`]), without duplicates, in a stable order.
    pub(crate) fn targets(&mut self, scheme: &str) -> Vec<Target> {
        let all: BTreeSet<Target> = match self {
            Discoverer::Static(c) => c
                .targets
                .iter()
                .map(|t| Target {
                    address: t.clone(),
                    labels: c.labels.clone(),
                })
                .collect(),
            Discoverer::File {
                config,
                read,
                files,
            } => {
                if read.is_none_or(|r| r.elapsed() >= config.refresh_interval) {
                    *read = Some(Instant::now());
                    refresh(config, files);
                }
                files.values().flatten().cloned().collect()
            }
            Discoverer::Consul {
                config,
                agent,
                last,
            } => {
                match consul_targets(config, agent) {
                    Ok(targets) => *last = targets,
                    Err(e) => tracing::warn!(id = %config.id, "consul discovery: {e}"),
                }
                last.iter().cloned().collect()
            }
            Discoverer::Dns {
                config,
                resolver,
                read,
                names,
            } => {
                if read.is_none_or(|r| r.elapsed() >= config.refresh_interval) {
                    *read = Some(Instant::now());
                    for name in &config.record_names {
                        match resolver.targets(name) {
                            Ok(targets) => {
                                names.insert(name.clone(), targets);
                            }
                            Err(e) => tracing::warn!(id = %config.id, "dns discovery: {e}"),
                        }
                    }
                }
                names.values().flatten().cloned().collect()
            }
            Discoverer::Marathon {
                config,
                agent,
                read,
                last,
            } => ask_every(
                read,
                config.refresh_interval,
                last,
                "marathon",
                &config.id,
                || marathon_targets(config, agent),
            ),
            Discoverer::Triton {
                config,
                agent,
                read,
                last,
            } => ask_every(
                read,
                config.refresh_interval,
                last,
                "triton",
                &config.id,
                || triton_targets(config, agent),
            ),
            Discoverer::Kubernetes {
                config,
                cluster,
                role,
                last,
            } => {
                match super::kubernetes_sd::targets(cluster, *role, &config.namespace) {
                    Ok(targets) => *last = targets,
                    Err(e) => tracing::warn!(id = %config.id, "kubernetes discovery: {e}"),
                }
                last.iter().cloned().collect()
            }
            Discoverer::Azure { azure, read, last } => {
                let (every, id) = (azure.refresh_interval(), azure.id().to_string());
                ask_every(read, every, last, "azure", &id, || azure.targets())
            }
            Discoverer::Gce { gce, read, last } => {
                let (every, id) = (gce.refresh_interval(), gce.id().to_string());
                ask_every(read, every, last, "gce", &id, || gce.targets())
            }
            Discoverer::Ec2 {
                config,
                api,
                read,
                last,
            } => ask_every(
                read,
                config.refresh_interval,
                last,
                "ec2",
                &config.id,
                || api.instances().map(|i| ec2_targets(i, config.port)),
            ),
        };
        let complete: BTreeSet<Target> = all
            .into_iter()
            .map(|t| Target {
                address: with_default_port(&t.address, scheme),
                ..t
            })
            .collect();
        complete.into_iter().collect()
    }
}

/// Reads the files of a file discoverer again. A file that cannot be read or parsed keeps
/// the targets it gave before (logged); a file no pattern matches any more gives none.
fn refresh(config: &FileDiscoveryConfig, files: &mut BTreeMap<PathBuf, Vec<Target>>) {
    let mut seen = BTreeSet::new();
    for read in read_files(config) {
        match read {
            Ok((path, Ok(targets))) => {
                seen.insert(path.clone());
                files.insert(path, targets);
            }
            Ok((path, Err(e))) => {
                tracing::warn!(id = %config.id, "file-discovery {}: {e}", path.display());
                seen.insert(path);
            }
            Err(e) => tracing::warn!(id = %config.id, "file-discovery {e}"),
        }
    }
    files.retain(|path, _| seen.contains(path));
}

/// One file a file discoverer's pattern matched, read (its path and its targets or why it
/// does not read), or a pattern that does not parse.
type FileRead = Result<(PathBuf, anyhow::Result<Vec<Target>>), String>;

/// Every file the patterns of a file discoverer match, read.
fn read_files(config: &FileDiscoveryConfig) -> Vec<FileRead> {
    let mut out = Vec::new();
    for pattern in &config.files {
        match glob::glob(pattern) {
            Ok(paths) => out.extend(paths.flatten().map(|path| {
                let targets = read_file(&path);
                Ok((path, targets))
            })),
            Err(e) => out.push(Err(format!("pattern {pattern:?}: {e}"))),
        }
    }
    out
}

/// The targets of one `file_sd` file (JSON, or YAML by its extension).
pub(crate) fn read_file(path: &std::path::Path) -> anyhow::Result<Vec<Target>> {
    let text = std::fs::read_to_string(path)?;
    let groups: Vec<TargetGroup> = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text)?
    } else {
        serde_yaml_ng::from_str(&text)?
    };
    let mut out = Vec::new();
    for g in groups {
        for t in g.targets {
            out.push(Target {
                address: t,
                labels: g.labels.clone(),
            });
        }
    }
    Ok(out)
}

/// How long a request to a Consul agent may take.
const CONSUL_TIMEOUT: Duration = Duration::from_secs(10);

/// A node of `/v1/catalog/service/<name>`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CatalogNode {
    #[serde(default)]
    address: String,
    #[serde(default)]
    service_address: String,
    #[serde(default)]
    service_port: u16,
}

/// The targets of a Consul catalog: every instance of the watched services (all when
/// `services` is empty), at its service address (else its node's) and port, as
/// Prometheus' consul discovery finds them.
fn consul_targets(config: &ConsulConfig, agent: &ureq::Agent) -> Result<Vec<Target>, String> {
    let base = format!("{}://{}/v1/catalog", config.scheme, config.address);
    let get = |path: &str| -> Result<String, String> {
        let mut url = format!("{base}{path}");
        if !config.datacenter.is_empty() {
            url.push_str(&format!("?dc={}", config.datacenter));
        }
        let mut req = agent.get(&url);
        if !config.token.is_empty() {
            req = req.header("X-Consul-Token", config.token.as_str());
        }
        if !config.username.is_empty() {
            req = req.header(
                "Authorization",
                basic_auth(&config.username, &config.password),
            );
        }
        let mut resp = req.call().map_err(|e| format!("GET {url}: {e}"))?;
        if resp.status() != 200 {
            return Err(format!("GET {url}: HTTP status {}", resp.status()));
        }
        resp.body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| format!("GET {url}: {e}"))
    };
    let services: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&get("/services")?).map_err(|e| format!("the services: {e}"))?;
    let mut out = Vec::new();
    for name in services.keys() {
        if !config.services.is_empty() && !config.services.contains(name) {
            continue;
        }
        let nodes: Vec<CatalogNode> = serde_json::from_str(&get(&format!("/service/{name}"))?)
            .map_err(|e| format!("service {name}: {e}"))?;
        for n in nodes {
            let host = if n.service_address.is_empty() {
                n.address
            } else {
                n.service_address
            };
            out.push(Target {
                address: join_host_port(&host, n.service_port),
                labels: BTreeMap::new(),
            });
        }
    }
    Ok(out)
}

/// The targets of a discoverer asked again every `every`: when that has passed since `read`
/// (or it never was), `ask`'s targets replace `last`; a failure is logged (discoverer
/// `kind` of id `id`) and keeps them.
fn ask_every(
    read: &mut Option<Instant>,
    every: Duration,
    last: &mut Vec<Target>,
    kind: &str,
    id: &str,
    ask: impl FnOnce() -> Result<Vec<Target>, String>,
) -> BTreeSet<Target> {
    if read.is_none_or(|r| r.elapsed() >= every) {
        *read = Some(Instant::now());
        match ask() {
            Ok(targets) => *last = targets,
            Err(e) => tracing::warn!(%id, "{kind} discovery: {e}"),
        }
    }
    last.iter().cloned().collect()
}

/// A service test of an HTTP discoverer `d`: its targets asked for once (`targets`) with
/// a client of `timeout` and `keys`.
fn ask_once<T>(
    d: &T,
    timeout: Duration,
    keys: TlsKeys<'_>,
    targets: impl FnOnce(&T, &ureq::Agent) -> Result<Vec<Target>, String>,
) -> Result<(), String> {
    let agent = agent(timeout, keys).map_err(|e| format!("{e:#}"))?;
    targets(d, &agent).map(drop)
}

/// GETs `url` with `agent` (and `auth`, an `Authorization` header); the body as JSON.
pub(crate) fn get_json(
    agent: &ureq::Agent,
    url: &str,
    auth: Option<&str>,
) -> Result<serde_json::Value, String> {
    let mut req = agent.get(url);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let mut resp = req.call().map_err(|e| format!("GET {url}: {e}"))?;
    if resp.status() != 200 {
        return Err(format!("GET {url}: HTTP status {}", resp.status()));
    }
    let text = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| format!("GET {url}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("GET {url}: {e}"))
}

/// A JSON string's text ("" for anything else).
fn json_text(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The targets of a Marathon, as Prometheus' Marathon discovery finds them: each task of
/// each app at its host and each of its ports (tasks without ports have none), from the
/// first of `servers` that answers `/v2/apps/?embed=apps.tasks`.
fn marathon_targets(config: &MarathonConfig, agent: &ureq::Agent) -> Result<Vec<Target>, String> {
    let auth = (!config.bearer_token.is_empty()).then(|| format!("Bearer {}", config.bearer_token));
    let mut failed = Vec::new();
    let mut apps = None;
    for server in &config.servers {
        let url = format!("{}/v2/apps/?embed=apps.tasks", server.trim_end_matches('/'));
        match get_json(agent, &url, auth.as_deref()) {
            Ok(v) => {
                apps = Some(v);
                break;
            }
            Err(e) => failed.push(e),
        }
    }
    let apps = apps.ok_or_else(|| failed.join("; "))?;
    let mut out = Vec::new();
    for app in apps["apps"].as_array().into_iter().flatten() {
        let mut base = BTreeMap::new();
        base.insert("__meta_marathon_app".to_string(), json_text(&app["id"]));
        base.insert(
            "__meta_marathon_image".to_string(),
            json_text(&app["container"]["docker"]["image"]),
        );
        for (k, v) in app["labels"].as_object().into_iter().flatten() {
            base.insert(
                format!("__meta_marathon_app_label_{}", label_name(k)),
                json_text(v),
            );
        }
        for task in app["tasks"].as_array().into_iter().flatten() {
            let host = json_text(&task["host"]);
            let ports = task["ports"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            for (i, port) in ports.iter().enumerate() {
                let Some(port) = port.as_u64().and_then(|p| u16::try_from(p).ok()) else {
                    continue;
                };
                let mut labels = base.clone();
                labels.insert("__meta_marathon_task".into(), json_text(&task["id"]));
                labels.insert("__meta_marathon_port_index".into(), i.to_string());
                out.push(Target {
                    address: join_host_port(&host, port),
                    labels,
                });
            }
        }
    }
    Ok(out)
}

/// How long a request to a Triton discovery endpoint may take.
const TRITON_TIMEOUT: Duration = Duration::from_secs(10);

/// The targets of a Triton, as Prometheus' Triton discovery finds them: each container of
/// `https://<endpoint>:<port>/v<version>/discover` at `<vm_uuid>.<dns-suffix>:<port>`.
fn triton_targets(config: &TritonConfig, agent: &ureq::Agent) -> Result<Vec<Target>, String> {
    let url = format!(
        "https://{}/v{}/discover",
        join_host_port(&config.endpoint, config.port),
        config.version
    );
    let found = get_json(agent, &url, None)?;
    Ok(found["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let uuid = json_text(&c["vm_uuid"]);
            let labels = [
                ("machine_id", "vm_uuid"),
                ("machine_alias", "vm_alias"),
                ("machine_brand", "vm_brand"),
                ("machine_image", "vm_image_uuid"),
                ("server_id", "server_uuid"),
            ]
            .into_iter()
            .map(|(label, key)| (format!("__meta_triton_{label}"), json_text(&c[key])))
            .collect();
            Target {
                address: format!("{uuid}.{}:{}", config.dns_suffix, config.port),
                labels,
            }
        })
        .collect())
}

/// How long one DNS lookup may take.
const DNS_TIMEOUT: Duration = Duration::from_secs(10);

/// A `[[dns]]`'s resolver: its name servers (else the system's), on a runtime of its own
/// (the scraper's thread waits for each lookup).
pub(crate) struct Dns {
    kind: hickory_resolver::proto::rr::RecordType,
    port: u16,
    resolver: hickory_resolver::TokioResolver,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns")
            .field("kind", &self.kind)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Dns {
    /// The resolver of `config` (checked: its type and name servers are valid).
    pub(crate) fn new(config: &DnsConfig) -> anyhow::Result<Dns> {
        use hickory_resolver::config::{NameServerConfig, ResolverConfig};
        use hickory_resolver::net::runtime::TokioRuntimeProvider;
        use hickory_resolver::proto::rr::RecordType;
        let kind = match config.kind.to_ascii_uppercase().as_str() {
            "A" => RecordType::A,
            "AAAA" => RecordType::AAAA,
            _ => RecordType::SRV,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let provider = TokioRuntimeProvider::default();
        let mut builder = if config.nameservers.is_empty() {
            hickory_resolver::Resolver::builder(provider)
                .context("reading the system's resolver configuration")?
        } else {
            let servers = config
                .nameservers
                .iter()
                .filter_map(|n| crate::config::nameserver(n))
                .map(|addr| {
                    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                    for c in &mut server.connections {
                        c.port = addr.port();
                    }
                    server
                })
                .collect();
            hickory_resolver::Resolver::builder_with_config(
                ResolverConfig::from_name_servers(servers),
                provider,
            )
        };
        let options = builder.options_mut();
        options.timeout = DNS_TIMEOUT;
        // Asked again at each refresh, as Prometheus does (no cache between refreshes).
        options.cache_size = 0;
        let resolver = {
            let _in = runtime.enter();
            builder.build()?
        };
        Ok(Dns {
            kind,
            port: config.port,
            resolver,
            runtime,
        })
    }

    /// The targets of `name`, as Prometheus' DNS discovery makes them: an SRV record's
    /// target (without its final dot) and port, an A or AAAA record's address at the
    /// section's port; other records (a CNAME on the way) are passed over.
    pub(crate) fn targets(&self, name: &str) -> Result<Vec<Target>, String> {
        use hickory_resolver::proto::rr::RData;
        let lookup = self
            .runtime
            .block_on(self.resolver.lookup(name, self.kind))
            .map_err(|e| format!("{name}: {e}"))?;
        let labels: BTreeMap<String, String> =
            [("__meta_dns_name".to_string(), name.to_string())].into();
        Ok(lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::SRV(srv) => Some(join_host_port(
                    srv.target.to_utf8().trim_end_matches('.'),
                    srv.port,
                )),
                RData::A(a) if self.kind == hickory_resolver::proto::rr::RecordType::A => {
                    Some(join_host_port(&a.0.to_string(), self.port))
                }
                RData::AAAA(a) if self.kind == hickory_resolver::proto::rr::RecordType::AAAA => {
                    Some(join_host_port(&a.0.to_string(), self.port))
                }
                _ => None,
            })
            .map(|address| Target {
                address,
                labels: labels.clone(),
            })
            .collect())
    }
}

/// A label name made of what Prometheus allows (`[a-zA-Z0-9_]`; others become `_`), as
/// its discoverers make label names of tag and label keys.
pub(crate) fn label_name(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `address` with the scheme's port (80, 443) when it has none, as Prometheus completes a
/// target's address (a Kubernetes pod's container without ports gives the pod's address
/// alone).
fn with_default_port(address: &str, scheme: &str) -> String {
    let bracketed = address.starts_with('[') && address.ends_with(']');
    if !bracketed && address.contains(':') {
        return address.to_string();
    }
    let port = if scheme == "https" { 443 } else { 80 };
    format!("{address}:{port}")
}

/// Go's `net.JoinHostPort`: IPv6 hosts in brackets.
pub(crate) fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// How long a request to the EC2 API may take.
const EC2_TIMEOUT: Duration = Duration::from_secs(10);

/// The targets of EC2 discovery, as Prometheus' finds them: every instance with a private
/// address, at that address and `port`, with its `__meta_ec2_*` labels.
fn ec2_targets(instances: Vec<super::aws::Instance>, port: u16) -> Vec<Target> {
    instances
        .into_iter()
        .filter_map(|i| {
            Some(Target {
                address: join_host_port(&i.private_ip?, port),
                labels: i.labels,
            })
        })
        .collect()
}

/// An `Authorization` header of basic authentication.
fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {creds}")
}

/// An HTTP agent with this timeout and HTTPS settings (their PEM files read and checked
/// now, as the alert services' are; `Err` names the key whose file does not do).
pub(crate) fn agent(timeout: Duration, keys: TlsKeys<'_>) -> anyhow::Result<ureq::Agent> {
    let mut builder = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(concat!("Kapacitor/", env!("CARGO_PKG_VERSION")));
    if let Some(tls) = post_tls(keys).map_err(|(key, why)| anyhow::anyhow!("{key} {why}"))? {
        builder = builder.tls_config(ureq_tls(&tls).map_err(anyhow::Error::msg)?);
    }
    Ok(builder.build().into())
}

/// One scraper's HTTP side.
#[derive(Debug)]
struct Client {
    agent: ureq::Agent,
    config: ScraperConfig,
}

impl Client {
    fn new(config: &ScraperConfig) -> anyhow::Result<Client> {
        Ok(Client {
            agent: agent(config.scrape_timeout, config.tls_keys())?,
            config: config.clone(),
        })
    }

    /// Scrapes `target` once: its samples, or why the scrape failed.
    fn fetch(&self, target: &Target) -> Result<Vec<prometheus::Sample>, String> {
        let c = &self.config;
        let url = format!("{}://{}{}", c.scheme, target.address, c.metrics_path);
        let mut req = self
            .agent
            .get(&url)
            .header("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", c.scrape_timeout.as_secs_f64()),
            );
        if !c.username.is_empty() {
            req = req.header("Authorization", basic_auth(&c.username, &c.password));
        } else if !c.bearer_token.is_empty() {
            req = req.header("Authorization", format!("Bearer {}", c.bearer_token));
        }
        let mut resp = req.call().map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status();
        if status != 200 {
            return Err(format!("GET {url}: server returned HTTP status {status}"));
        }
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| format!("GET {url}: reading the body: {e}"))?;
        prometheus::parse(&text).map_err(|e| format!("GET {url}: {e}"))
    }
}

/// The points of one scrape of `target` (`samples`, or the failure's report samples only),
/// as Kapacitor writes them (see the module docs). `start_ms` is when it began.
pub(crate) fn points(
    config: &ScraperConfig,
    rp: &str,
    target: &Target,
    scraped: &Result<Vec<prometheus::Sample>, String>,
    start_ms: i64,
    duration: Duration,
) -> Vec<Point> {
    // The target's labels: the discoverer's, without Prometheus' internal `__` ones,
    // `instance` (the address unless the discoverer set one) and `job`, the scraper's name,
    // which is also the measurement.
    let mut base: BTreeMap<&str, &str> = target
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with("__"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    base.entry("instance").or_insert(target.address.as_str());
    base.insert("job", config.name.as_str());
    let point = |name: &str, labels: &[(String, String)], value: f64, ms: i64| -> Point {
        let mut tags: Tags = Tags::default();
        for (k, v) in labels {
            let key = if base.contains_key(k.as_str()) {
                Sym::new(&format!("exported_{k}"))
            } else {
                Sym::new(k)
            };
            tags.push((key, Sym::new(v)));
        }
        for (k, v) in &base {
            tags.push((Sym::new(k), Sym::new(v)));
        }
        tags.push((Sym::new("__name__"), Sym::new(name)));
        let fields = vec![(Sym::new("value"), FieldValue::Float(value))];
        Point::new(&config.name, tags, fields, ms.saturating_mul(1_000_000)).in_db(&config.db, rp)
    };
    let mut out = Vec::new();
    let n = match scraped {
        Ok(samples) => {
            for s in samples.iter().filter(|s| s.value.is_finite()) {
                out.push(point(
                    &s.name,
                    &s.labels,
                    s.value,
                    s.timestamp_ms.unwrap_or(start_ms),
                ));
            }
            samples.len()
        }
        Err(_) => 0,
    };
    let up = if scraped.is_ok() { 1.0 } else { 0.0 };
    for (name, value) in [
        ("up", up),
        ("scrape_duration_seconds", duration.as_secs_f64()),
        ("scrape_samples_scraped", n as f64),
        ("scrape_samples_post_metric_relabeling", n as f64),
    ] {
        out.push(point(name, &[], value, start_ms));
    }
    out
}

/// A running scraper; dropping it stops it (within [`STOP_POLL`], or when its scrapes in
/// flight end).
#[derive(Debug)]
struct Scraper {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Scrapes every `config.scrape_interval` until `stop`; points go to `write`.
fn run(
    config: ScraperConfig,
    rp: String,
    client: Client,
    mut discoverer: Discoverer,
    write: Arc<dyn Fn(Vec<Point>) + Send + Sync>,
    stop: Arc<AtomicBool>,
) {
    let blacklist: BTreeSet<String> = config.blacklist.iter().cloned().collect();
    // Targets whose last scrape failed: a failure is logged as a warning when a target goes
    // down, its repeats at debug level, and its recovery once.
    let mut down: BTreeSet<String> = BTreeSet::new();
    while !stop.load(Ordering::Relaxed) {
        let began = Instant::now();
        let start_ms = chrono::Utc::now().timestamp_millis();
        let targets: Vec<Target> = discoverer
            .targets(&config.scheme)
            .into_iter()
            .filter(|t| {
                let instance = t.labels.get("instance").unwrap_or(&t.address);
                !blacklist.contains(instance)
            })
            .collect();
        let mut scraped: Vec<(Vec<Point>, Option<String>)> = Vec::with_capacity(targets.len());
        for batch in targets.chunks(MAX_PARALLEL) {
            scraped.extend(scrape_all(&client, &rp, batch, start_ms));
        }
        let mut points = Vec::new();
        for (t, (pts, failed)) in targets.iter().zip(scraped) {
            let name = &config.name;
            match failed {
                Some(e) if down.insert(t.address.clone()) => {
                    tracing::warn!(scraper = %name, "scrape failed: {e}");
                }
                Some(e) => tracing::debug!(scraper = %name, "scrape failed: {e}"),
                None if down.remove(&t.address) => {
                    tracing::info!(scraper = %name, target = %t.address, "target is up again");
                }
                None => {}
            }
            points.extend(pts);
        }
        // Targets no longer discovered are forgotten.
        down.retain(|a| targets.iter().any(|t| &t.address == a));
        write(points);
        let next = began + config.scrape_interval;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= next {
                break;
            }
            std::thread::sleep((next - now).min(STOP_POLL));
        }
    }
}

/// Scrapes `targets` at once, a thread each: each one's points and failure.
fn scrape_all(
    client: &Client,
    rp: &str,
    targets: &[Target],
    start_ms: i64,
) -> Vec<(Vec<Point>, Option<String>)> {
    std::thread::scope(|s| {
        let scrapes: Vec<_> = targets
            .iter()
            .map(|t| {
                s.spawn(move || {
                    let t0 = Instant::now();
                    let scraped = client.fetch(t);
                    let pts = points(&client.config, rp, t, &scraped, start_ms, t0.elapsed());
                    (pts, scraped.err())
                })
            })
            .collect();
        scrapes
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// A scraper ready to run: its section, retention policy, client and discoverer.
#[derive(Debug)]
pub struct Prepared {
    config: ScraperConfig,
    rp: String,
    client: Client,
    discoverer: Discoverer,
}

/// Prepares every enabled scraper of `sections` (validated); `Err` names the scraper and
/// what does not do (a TLS file that cannot be read). `default_rp` is the retention policy
/// of scrapers that name none (else `autogen`).
fn prepare(sections: ScraperSections<'_>, default_rp: &str) -> anyhow::Result<Vec<Prepared>> {
    let mut out = Vec::new();
    for (i, c) in sections
        .scraper
        .iter()
        .enumerate()
        .filter(|(_, c)| c.enabled)
    {
        let client = Client::new(c).with_context(|| format!("[[scraper]] #{i} ({})", c.name))?;
        let discoverer = Discoverer::of(c, sections)
            .with_context(|| format!("[[scraper]] #{i} ({})", c.name))?
            .with_context(|| format!("[[scraper]] #{i} ({}): no discoverer", c.name))?;
        let rp = crate::config::input_rp(&c.rp, default_rp).to_string();
        out.push(Prepared {
            config: c.clone(),
            rp,
            client,
            discoverer,
        });
    }
    Ok(out)
}

/// The scrapers: prepared while the daemon opens, running once it serves, and replaced
/// whole when their sections change through `/kapacitor/v1/config`.
#[derive(Debug, Default)]
pub struct ScraperService {
    /// Retention policy of scrapers that name none (`default-retention-policy`).
    default_rp: String,
    state: Mutex<ServiceState>,
}

#[derive(Debug, Default)]
struct ServiceState {
    /// Where the points go, once started (and until stopped).
    runtime: Option<Arc<Runtime>>,
    /// Scrapers waiting for the start.
    pending: Vec<Prepared>,
    running: Vec<Scraper>,
}

impl ScraperService {
    /// No scrapers yet; `default_rp` is the retention policy of those that name none (else
    /// `autogen`).
    pub fn new(default_rp: &str) -> ScraperService {
        ScraperService {
            default_rp: default_rp.to_string(),
            state: Mutex::default(),
        }
    }

    /// Prepares every enabled scraper of `sections` (validated) to be [`set`](Self::set);
    /// `Err` names the scraper and what does not do (a TLS file that cannot be read).
    pub fn prepare(&self, sections: ScraperSections<'_>) -> anyhow::Result<Vec<Prepared>> {
        prepare(sections, &self.default_rp)
    }

    /// Runs `prepared` instead of the scrapers before: at once if started, else at start.
    pub fn set(&self, prepared: Vec<Prepared>) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Stopping joins the old scrapers' threads (at most a poll or a scrape's timeout).
        st.running.clear();
        match st.runtime.clone() {
            Some(rt) => st.running = prepared.into_iter().map(|p| launch(p, &rt)).collect(),
            None => st.pending = prepared,
        }
    }

    /// Starts the scrapers, writing to `runtime`.
    pub fn start(&self, runtime: &Arc<Runtime>) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.runtime = Some(Arc::clone(runtime));
        let pending = std::mem::take(&mut st.pending);
        st.running = pending.into_iter().map(|p| launch(p, runtime)).collect();
    }

    /// Stops every scraper (the daemon stops).
    pub fn stop(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.runtime = None;
        st.running.clear();
    }
}

/// Starts `p`'s thread.
fn launch(p: Prepared, runtime: &Arc<Runtime>) -> Scraper {
    let Prepared {
        config,
        rp,
        client,
        discoverer,
    } = p;
    let rt = Arc::clone(runtime);
    let input = format!("scraper {}:", config.name);
    let write: Arc<dyn Fn(Vec<Point>) + Send + Sync> =
        Arc::new(move |points| rt.write_logged(&input, points));
    tracing::info!(scraper = %config.name, discoverer = %config.discoverer_service, id = %config.discoverer_id, "scraping");
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name(format!("scraper-{}", config.name))
            .spawn(move || run(config, rp, client, discoverer, write, stop))
            .map_err(|e| tracing::error!("starting a scraper thread: {e}"))
            .ok()
    };
    Scraper { stop, thread }
}

/// The services of the scraper's side that Kapacitor has a service test for: the scraper
/// (options `{"name": ""}`) and every discoverer kind (options `{"id": ""}`), including
/// the ones this daemon does not run (nerve, serverset: their sections cannot be enabled,
/// so a test of one finds no discoverer). `ec2` and `kubernetes`, discoverers and autoscale clusters both,
/// are tested as clusters (`autoscale::SERVICE_TESTS`): a request that needs no resource.
pub(crate) const SERVICE_TESTS: &[&str] = &[
    "azure",
    "consul",
    "dns",
    "file-discovery",
    "gce",
    "marathon",
    "nerve",
    "scraper",
    "serverset",
    "static-discovery",
    "triton",
];

/// The test options of `service` (one of [`SERVICE_TESTS`]), with their defaults.
pub(crate) fn service_test_options(service: &str) -> serde_json::Map<String, serde_json::Value> {
    let key = if service == "scraper" { "name" } else { "id" };
    [(key.to_string(), serde_json::Value::from(""))]
        .into_iter()
        .collect()
}

/// Runs the service test of `service` (one of [`SERVICE_TESTS`]) over the sections as they
/// run, with `given` over the default options: a discoverer's test finds it by `id` and
/// asks it for its targets once (a file discoverer reads its files, Consul's its catalog,
/// DNS's looks its names up);
/// the scraper's finds it by `name`, asks its discoverer and scrapes each target once.
/// `Err` says what failed.
pub(crate) fn service_test(
    sections: ScraperSections<'_>,
    service: &str,
    given: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), String> {
    let key = if service == "scraper" { "name" } else { "id" };
    let wanted = match given.get(key) {
        None | Some(serde_json::Value::Null) => "",
        Some(serde_json::Value::String(s)) => s.as_str(),
        Some(v) => return Err(format!("option {key:?}: expected a string, got {v}")),
    };
    let found = |enabled: bool| {
        if enabled {
            Ok(())
        } else {
            Err(format!("{service} {wanted:?} is not enabled"))
        }
    };
    let not_found = || Err(format!("discoverer {wanted:?} is not found"));
    match service {
        "scraper" => {
            let Some(c) = sections.scraper.iter().find(|c| c.name == wanted) else {
                return Err(format!("scraper {wanted:?} is not found"));
            };
            found(c.enabled)?;
            let mut discoverer = Discoverer::of(c, sections)
                .map_err(|e| format!("{e:#}"))?
                .ok_or_else(|| {
                    format!(
                        "its discoverer {} {:?} is not found or not enabled",
                        c.discoverer_service, c.discoverer_id
                    )
                })?;
            let client = Client::new(c).map_err(|e| format!("{e:#}"))?;
            let targets = discoverer.targets(&c.scheme);
            let failed: Vec<String> = std::thread::scope(|s| {
                let scrapes: Vec<_> = targets
                    .iter()
                    .take(MAX_PARALLEL)
                    .map(|t| s.spawn(|| client.fetch(t).err()))
                    .collect();
                scrapes
                    .into_iter()
                    .filter_map(|h| h.join().unwrap_or_else(|_| Some("panicked".into())))
                    .collect()
            });
            if failed.is_empty() {
                Ok(())
            } else {
                Err(failed.join("; "))
            }
        }
        "static-discovery" => match sections.static_discovery.iter().find(|d| d.id == wanted) {
            Some(d) => found(d.enabled),
            None => not_found(),
        },
        "file-discovery" => match sections.file_discovery.iter().find(|d| d.id == wanted) {
            Some(d) => {
                found(d.enabled)?;
                let failed: Vec<String> = read_files(d)
                    .into_iter()
                    .filter_map(|read| match read {
                        Ok((_, Ok(_))) => None,
                        Ok((path, Err(e))) => Some(format!("{}: {e}", path.display())),
                        Err(e) => Some(e),
                    })
                    .collect();
                if failed.is_empty() {
                    Ok(())
                } else {
                    Err(failed.join("; "))
                }
            }
            None => not_found(),
        },
        "consul" => match sections.consul.iter().find(|d| d.id == wanted) {
            Some(d) => found(d.enabled)
                .and_then(|()| ask_once(d, CONSUL_TIMEOUT, d.tls_keys(), consul_targets)),
            None => not_found(),
        },
        "marathon" => match sections.marathon.iter().find(|d| d.id == wanted) {
            Some(d) => found(d.enabled)
                .and_then(|()| ask_once(d, d.timeout, d.tls_keys(), marathon_targets)),
            None => not_found(),
        },
        "azure" => match sections.azure.iter().find(|d| d.id == wanted) {
            Some(d) => found(d.enabled).and_then(|()| {
                let mut azure = super::azure_sd::Azure::new(d).map_err(|e| format!("{e:#}"))?;
                azure.targets().map(drop)
            }),
            None => not_found(),
        },
        "gce" => match sections.gce.iter().find(|d| d.id == wanted) {
            Some(d) => found(d.enabled).and_then(|()| {
                let mut gce = super::gce_sd::Gce::new(d).map_err(|e| format!("{e:#}"))?;
                gce.targets().map(drop)
            }),
            None => not_found(),
        },
        "triton" => match sections.triton.iter().find(|d| d.id == wanted) {
            Some(d) => found(d.enabled)
                .and_then(|()| ask_once(d, TRITON_TIMEOUT, d.tls_keys(), triton_targets)),
            None => not_found(),
        },
        "dns" => match sections.dns.iter().find(|d| d.id == wanted) {
            Some(d) => {
                found(d.enabled)?;
                let dns = Dns::new(d).map_err(|e| format!("{e:#}"))?;
                let failed: Vec<String> = d
                    .record_names
                    .iter()
                    .filter_map(|n| dns.targets(n).err())
                    .collect();
                if failed.is_empty() {
                    Ok(())
                } else {
                    Err(failed.join("; "))
                }
            }
            None => not_found(),
        },
        _ => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scraper() -> ScraperConfig {
        ScraperConfig {
            enabled: true,
            name: "myscraper".into(),
            db: "prometheus_raw".into(),
            rp: "autogen".into(),
            ..ScraperConfig::default()
        }
    }

    fn tags(p: &Point) -> Vec<(String, String)> {
        p.tags
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
            .collect()
    }

    #[test]
    fn samples_become_points_of_the_job_with_target_labels() {
        let target = Target {
            address: "10.0.0.1:9100".into(),
            labels: [("region".to_string(), "eu".to_string())].into(),
        };
        let samples = prometheus::parse(
            "# TYPE http_requests_total counter\n\
             http_requests_total{code=\"200\",instance=\"other\",job=\"j\"} 7\n\
             temp 21.5 1700000000123\n\
             broken NaN\n",
        )
        .map_err(|e| e.to_string());
        let pts = points(
            &scraper(),
            "autogen",
            &target,
            &samples,
            1_700_000_000_999,
            Duration::from_millis(5),
        );
        assert_eq!(pts.len(), 2 + 4);
        let p = &pts[0];
        assert_eq!(p.name.as_str(), "myscraper");
        assert_eq!(
            (p.db.as_str(), p.rp.as_str()),
            ("prometheus_raw", "autogen")
        );
        assert_eq!(p.time, 1_700_000_000_999_000_000);
        assert_eq!(
            tags(p),
            [
                ("__name__", "http_requests_total"),
                ("code", "200"),
                ("exported_instance", "other"),
                ("exported_job", "j"),
                ("instance", "10.0.0.1:9100"),
                ("job", "myscraper"),
                ("region", "eu"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert_eq!(
            kap_dataflow::point::get(&p.fields, Sym::new("value")),
            Some(&FieldValue::Float(7.0))
        );
        assert_eq!(pts[1].time, 1_700_000_000_123_000_000);
        let report: Vec<(String, f64)> = pts[2..]
            .iter()
            .map(|p| {
                let name = kap_dataflow::point::get(&p.tags, Sym::new("__name__")).unwrap();
                let v = kap_dataflow::point::get(&p.fields, Sym::new("value"))
                    .and_then(FieldValue::as_f64)
                    .unwrap();
                (name.as_str().to_string(), v)
            })
            .collect();
        assert_eq!(
            report,
            [
                ("up", 1.0),
                ("scrape_duration_seconds", 0.005),
                ("scrape_samples_scraped", 3.0),
                ("scrape_samples_post_metric_relabeling", 3.0)
            ]
            .map(|(k, v)| (k.to_string(), v))
        );
        assert_eq!(
            tags(&pts[2]),
            [
                ("__name__", "up"),
                ("instance", "10.0.0.1:9100"),
                ("job", "myscraper"),
                ("region", "eu")
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn a_failed_scrape_reports_up_zero_only() {
        let target = Target {
            address: "127.0.0.1:1".into(),
            labels: BTreeMap::new(),
        };
        let pts = points(
            &scraper(),
            "autogen",
            &target,
            &Err("refused".into()),
            0,
            Duration::ZERO,
        );
        assert_eq!(pts.len(), 4);
        assert_eq!(
            kap_dataflow::point::get(&pts[0].fields, Sym::new("value")),
            Some(&FieldValue::Float(0.0))
        );
    }

    #[test]
    fn file_discovery_reads_json_and_yaml_and_keeps_a_bad_files_last_targets() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("a.json");
        let yaml = dir.path().join("b.yml");
        std::fs::write(
            &json,
            r#"[{"targets": ["h1:9100", "h2:9100"], "labels": {"env": "prod"}}]"#,
        )
        .unwrap();
        std::fs::write(&yaml, "- targets: ['h3:9100']\n").unwrap();
        let mut d = Discoverer::File {
            config: FileDiscoveryConfig {
                enabled: true,
                id: "f".into(),
                files: vec![
                    format!("{}/*.json", dir.path().display()),
                    yaml.display().to_string(),
                ],
                refresh_interval: Duration::ZERO,
            },
            read: None,
            files: BTreeMap::new(),
        };
        let addrs = |d: &mut Discoverer| -> Vec<String> {
            d.targets("http").into_iter().map(|t| t.address).collect()
        };
        assert_eq!(addrs(&mut d), ["h1:9100", "h2:9100", "h3:9100"]);
        assert_eq!(d.targets("http")[0].labels["env"], "prod");
        std::fs::write(&json, "not json").unwrap();
        assert_eq!(addrs(&mut d), ["h1:9100", "h2:9100", "h3:9100"]);
        std::fs::remove_file(&json).unwrap();
        assert_eq!(addrs(&mut d), ["h3:9100"]);
    }
}
