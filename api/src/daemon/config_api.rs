//! `/kapacitor/v1/config`: the overridable sections as they run (the configuration file's
//! values with the overrides made here), changed at runtime and kept across restarts, as
//! Kapacitor's config-override service (`[config-override] enabled`;
//! `skip-config-overrides` ignores the stored overrides at start). The sections are the
//! alert services', `[[influxdb]]`, `[[httppost]]` and the scraper's (`[[scraper]]`,
//! `[[static-discovery]]`, `[[file-discovery]]`, `[[consul]]`, `[[dns]]`, `[[marathon]]`, `[[triton]]`, `[[azure]]`, `[[gce]]`) and the autoscale clusters'
//! (`[[kubernetes]]`, `[[swarm]]`, `[[ec2]]`): a cluster changed here is queried and
//! written to with its new settings at once, by the batch tasks and `influxDBOut`s already
//! running, an endpoint by the httpPost nodes and post handlers, the scrapers restart
//! with their new sections, and autoscale nodes reach their clusters with the new ones.

use super::autoscale::{Clients, Orchestrators};
use super::http::blocking;
use super::influxdb::Clusters;
use super::scraper::ScraperService;
use super::{ApiError, Daemon};
use crate::alert_handlers::overrides::{self, Section};
use crate::alert_handlers::{HandlerServices, ServiceConfigs};
use crate::config::{
    AzureConfig, ConsulConfig, DnsConfig, Ec2Config, FileDiscoveryConfig, GceConfig,
    HttpPostConfig, InfluxDbConfig, KubernetesConfig, MarathonConfig, ScraperConfig,
    ScraperSections, StaticDiscoveryConfig, SwarmConfig, TritonConfig,
};
use crate::store::{ConfigOverrideRecord, Store};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use kap_dataflow::ops::http_post::Endpoints;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex, RwLock};

/// Base path of the configuration API.
const CONFIG_PATH: &str = "/kapacitor/v1/config";

/// `[[influxdb]]` in the API: elements named by `name`, credentials redacted.
const INFLUXDB: Section = Section {
    name: "influxdb",
    key: Some("name"),
    // In the order of Kapacitor's `influxdb.Config` fields, as its API lists them.
    redacted: &["password", "token", "http-shared-secret"],
};

/// `[[httppost]]` in the API: elements named by `endpoint`, basic authentication redacted.
const HTTPPOST: Section = Section {
    name: "httppost",
    key: Some("endpoint"),
    redacted: &["basic-auth"],
};

/// `[[scraper]]` in the API: elements named by `name`, credentials redacted.
const SCRAPER: Section = Section {
    name: "scraper",
    key: Some("name"),
    redacted: &["password", "bearer-token"],
};

/// `[[static-discovery]]` in the API: elements named by `id`.
const STATIC_DISCOVERY: Section = Section {
    name: "static-discovery",
    key: Some("id"),
    redacted: &[],
};

/// `[[file-discovery]]` in the API: elements named by `id`.
const FILE_DISCOVERY: Section = Section {
    name: "file-discovery",
    key: Some("id"),
    redacted: &[],
};

/// `[[consul]]` in the API: elements named by `id`, credentials redacted.
const CONSUL: Section = Section {
    name: "consul",
    key: Some("id"),
    redacted: &["token", "password"],
};

/// `[[dns]]` in the API: elements named by `id`.
const DNS: Section = Section {
    name: "dns",
    key: Some("id"),
    redacted: &[],
};

/// `[[marathon]]` in the API: elements named by `id`, the bearer token redacted.
const MARATHON: Section = Section {
    name: "marathon",
    key: Some("id"),
    redacted: &["bearer-token"],
};

/// `[[triton]]` in the API: elements named by `id`.
const TRITON: Section = Section {
    name: "triton",
    key: Some("id"),
    redacted: &[],
};

/// `[[azure]]` in the API: elements named by `id`, the client secret redacted.
const AZURE: Section = Section {
    name: "azure",
    key: Some("id"),
    redacted: &["client-secret"],
};

/// `[[gce]]` in the API: elements named by `id`.
const GCE: Section = Section {
    name: "gce",
    key: Some("id"),
    redacted: &[],
};

/// `[[kubernetes]]` in the API: elements named by `id`, the token redacted.
const KUBERNETES: Section = Section {
    name: "kubernetes",
    key: Some("id"),
    redacted: &["token"],
};

/// `[[swarm]]` in the API: elements named by `id`.
const SWARM: Section = Section {
    name: "swarm",
    key: Some("id"),
    redacted: &[],
};

/// `[[ec2]]` in the API: elements named by `id`, the secret key redacted.
const EC2: Section = Section {
    name: "ec2",
    key: Some("id"),
    redacted: &["secret-key"],
};

/// The section named `name`.
fn section_named(name: &str) -> Option<&'static Section> {
    match name {
        "influxdb" => Some(&INFLUXDB),
        "httppost" => Some(&HTTPPOST),
        "scraper" => Some(&SCRAPER),
        "static-discovery" => Some(&STATIC_DISCOVERY),
        "file-discovery" => Some(&FILE_DISCOVERY),
        "consul" => Some(&CONSUL),
        "dns" => Some(&DNS),
        "marathon" => Some(&MARATHON),
        "triton" => Some(&TRITON),
        "azure" => Some(&AZURE),
        "gce" => Some(&GCE),
        "kubernetes" => Some(&KUBERNETES),
        "swarm" => Some(&SWARM),
        "ec2" => Some(&EC2),
        _ => overrides::section(name),
    }
}

/// Every section, sorted by name.
fn sections() -> Vec<&'static Section> {
    let mut all: Vec<&'static Section> = overrides::SECTIONS.iter().collect();
    all.extend([
        &INFLUXDB,
        &HTTPPOST,
        &SCRAPER,
        &STATIC_DISCOVERY,
        &FILE_DISCOVERY,
        &CONSUL,
        &DNS,
        &MARATHON,
        &TRITON,
        &KUBERNETES,
        &SWARM,
        &EC2,
    ]);
    all.sort_by_key(|s| s.name);
    all
}

/// A new element of a list section, with its defaults.
fn element_default(section: &str) -> Value {
    let value = match section {
        "influxdb" => serde_json::to_value(InfluxDbConfig::default()),
        "httppost" => serde_json::to_value(HttpPostConfig::default()),
        "scraper" => serde_json::to_value(ScraperConfig::default()),
        "static-discovery" => serde_json::to_value(StaticDiscoveryConfig::default()),
        "file-discovery" => serde_json::to_value(FileDiscoveryConfig::default()),
        "consul" => serde_json::to_value(ConsulConfig::default()),
        "dns" => serde_json::to_value(DnsConfig::default()),
        "marathon" => serde_json::to_value(MarathonConfig::default()),
        "triton" => serde_json::to_value(TritonConfig::default()),
        "azure" => serde_json::to_value(AzureConfig::default()),
        "gce" => serde_json::to_value(GceConfig::default()),
        "kubernetes" => serde_json::to_value(KubernetesConfig::default()),
        "swarm" => serde_json::to_value(SwarmConfig::default()),
        "ec2" => serde_json::to_value(Ec2Config::default()),
        _ => return overrides::element_default(section),
    };
    value.expect("configurations serialize")
}

/// What `/config` shows and changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Overridable {
    /// The alert services' sections.
    #[serde(flatten)]
    pub services: ServiceConfigs,
    /// The `[[influxdb]]` clusters.
    pub influxdb: Vec<InfluxDbConfig>,
    /// The `[[httppost]]` endpoints.
    pub httppost: Vec<HttpPostConfig>,
    /// The `[[scraper]]`s.
    pub scraper: Vec<ScraperConfig>,
    /// The `[[static-discovery]]`s.
    #[serde(rename = "static-discovery")]
    pub static_discovery: Vec<StaticDiscoveryConfig>,
    /// The `[[file-discovery]]`s.
    #[serde(rename = "file-discovery")]
    pub file_discovery: Vec<FileDiscoveryConfig>,
    /// The `[[consul]]` discoverers.
    pub consul: Vec<ConsulConfig>,
    /// The `[[dns]]` discoverers.
    pub dns: Vec<DnsConfig>,
    /// The `[[marathon]]` discoverers.
    pub marathon: Vec<MarathonConfig>,
    /// The `[[triton]]` discoverers.
    pub triton: Vec<TritonConfig>,
    /// The `[[azure]]` discoverers.
    pub azure: Vec<AzureConfig>,
    /// The `[[gce]]` discoverers.
    pub gce: Vec<GceConfig>,
    /// The `[[kubernetes]]` clusters of autoscale nodes.
    pub kubernetes: Vec<KubernetesConfig>,
    /// The `[[swarm]]` clusters of autoscale nodes.
    pub swarm: Vec<SwarmConfig>,
    /// The `[[ec2]]` accounts of autoscale nodes.
    pub ec2: Vec<Ec2Config>,
}

impl Overridable {
    fn scraper_sections(&self) -> ScraperSections<'_> {
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

    /// Whether the scraper sections of `self` and `other` differ (`[[ec2]]` and
    /// `[[kubernetes]]` serve discovery too).
    fn scrapers_differ(&self, other: &Overridable) -> bool {
        self.scraper != other.scraper
            || self.static_discovery != other.static_discovery
            || self.file_discovery != other.file_discovery
            || self.consul != other.consul
            || self.dns != other.dns
            || self.marathon != other.marathon
            || self.triton != other.triton
            || self.azure != other.azure
            || self.gce != other.gce
            || self.ec2 != other.ec2
            || self.kubernetes != other.kubernetes
    }

    /// Whether the autoscale sections of `self` and `other` differ.
    fn orchestrators_differ(&self, other: &Overridable) -> bool {
        self.kubernetes != other.kubernetes || self.swarm != other.swarm || self.ec2 != other.ec2
    }

    /// Clients of the autoscale sections.
    fn orchestrators(&self) -> Result<Clients, String> {
        Clients::new(&self.kubernetes, &self.swarm, &self.ec2)
    }

    /// `self` with `records` applied in order, checked as the configuration file is.
    fn apply(&self, records: &[ConfigOverrideRecord]) -> Result<Overridable, String> {
        let mut all = serde_json::to_value(self).expect("configurations serialize");
        overrides::apply_json(&mut all, records, section_named, element_default)?;
        let out: Overridable =
            serde_json::from_value(all).map_err(|e| format!("invalid option: {e}"))?;
        out.services
            .validate()
            .and_then(|()| crate::config::validate_influxdb(&out.influxdb))
            .and_then(|()| crate::config::validate_httppost(&out.httppost))
            .and_then(|()| crate::config::validate_scrapers(out.scraper_sections()))
            .and_then(|()| {
                crate::config::validate_orchestrators(&out.kubernetes, &out.swarm, &out.ec2)
            })
            .map_err(|(key, message)| format!("{key}: {message}"))?;
        Ok(out)
    }
}

/// The overrides of the overridable sections, and what they apply to.
#[derive(Debug)]
pub struct ConfigOverrides {
    store: Store,
    /// The configuration file's sections.
    base: Overridable,
    /// The sections as they run.
    current: RwLock<Overridable>,
    services: Arc<HandlerServices>,
    clusters: Clusters,
    endpoints: Endpoints,
    scrapers: Arc<ScraperService>,
    orchestrators: Arc<Orchestrators>,
    /// `[config-override] enabled`.
    enabled: bool,
    /// Serializes changes.
    write: Mutex<()>,
}

/// What the overridable sections configure.
#[derive(Debug)]
pub struct Configured {
    /// The alert services.
    pub services: Arc<HandlerServices>,
    /// The `[[influxdb]]` clients.
    pub clusters: Clusters,
    /// The `[[httppost]]` endpoints.
    pub endpoints: Endpoints,
    /// The scrapers.
    pub scrapers: Arc<ScraperService>,
    /// The clusters of autoscale nodes.
    pub orchestrators: Arc<Orchestrators>,
}

impl ConfigOverrides {
    /// Applies the stored overrides over `base` to what they configure (unless `skip`: then
    /// they stay stored, unused). Overrides that no longer apply (the file changed under
    /// them, a scraper's TLS file is gone) are logged and left out.
    ///
    /// # Errors
    /// The store cannot be read, or the file's own `[[influxdb]]` clusters or scrapers
    /// cannot be made.
    pub fn open(
        store: Store,
        base: Overridable,
        configured: Configured,
        enabled: bool,
        skip: bool,
    ) -> anyhow::Result<ConfigOverrides> {
        let Configured {
            services,
            clusters,
            endpoints,
            scrapers,
            orchestrators,
        } = configured;
        let mut current = base.clone();
        if !skip {
            let records = store.list::<ConfigOverrideRecord>()?;
            match base
                .apply(&records)
                .and_then(|c| Clusters::check(&c.influxdb).map(|()| c))
            {
                Ok(c) => current = c,
                Err(e) => tracing::error!("not applying the stored configuration overrides: {e}"),
            }
        }
        let prepared = match scrapers.prepare(current.scraper_sections()) {
            Ok(p) => p,
            Err(e) if current.scrapers_differ(&base) => {
                tracing::error!("not applying the stored scraper overrides: {e:#}");
                current.scraper = base.scraper.clone();
                current.static_discovery = base.static_discovery.clone();
                current.file_discovery = base.file_discovery.clone();
                current.consul = base.consul.clone();
                current.dns = base.dns.clone();
                current.marathon = base.marathon.clone();
                current.triton = base.triton.clone();
                current.azure = base.azure.clone();
                current.gce = base.gce.clone();
                current.ec2 = base.ec2.clone();
                current.kubernetes = base.kubernetes.clone();
                scrapers.prepare(current.scraper_sections())?
            }
            Err(e) => return Err(e),
        };
        match current.orchestrators() {
            Ok(c) => orchestrators.set(c),
            Err(e) => {
                tracing::error!("not applying the stored autoscale overrides: {e}");
                current.kubernetes = base.kubernetes.clone();
                current.swarm = base.swarm.clone();
                current.ec2 = base.ec2.clone();
            }
        }
        clusters
            .reconfigure(&current.influxdb)
            .map_err(|e| anyhow::anyhow!(e))?;
        services.set_configs(current.services.clone());
        endpoints.set(crate::config::httppost_endpoints(&current.httppost));
        scrapers.set(prepared);
        Ok(ConfigOverrides {
            store,
            base,
            current: RwLock::new(current),
            services,
            clusters,
            endpoints,
            scrapers,
            orchestrators,
            enabled,
            write: Mutex::new(()),
        })
    }

    /// Runs the service test of `service`, one of the scraper's side
    /// (the scraper and the discoverers), over the sections as they run.
    pub fn scraper_test(&self, service: &str, given: &Map<String, Value>) -> Result<(), String> {
        // A copy: the test waits on the network, changes must not.
        let current = self
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        super::scraper::service_test(current.scraper_sections(), service, given)
    }

    /// The sections as they run, as JSON by section name.
    fn current(&self) -> Value {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        serde_json::to_value(&*current).expect("configurations serialize")
    }

    fn element_json(s: &Section, name: &str, options: Map<String, Value>) -> Value {
        let redacted = (!s.redacted.is_empty()).then_some(s.redacted);
        json!({
            "link": {"rel": "self", "href": format!("{CONFIG_PATH}/{}/{name}", s.name)},
            "options": options,
            "redacted": redacted,
        })
    }

    fn section_json(&self, s: &Section) -> Value {
        let elements: Vec<Value> = overrides::elements(&self.current(), s)
            .into_iter()
            .map(|(name, o)| Self::element_json(s, &name, o))
            .collect();
        json!({
            "link": {"rel": "self", "href": format!("{CONFIG_PATH}/{}", s.name)},
            "elements": elements,
        })
    }

    /// Every section.
    fn all(&self) -> Value {
        let sections: Map<String, Value> = sections()
            .into_iter()
            .map(|s| (s.name.to_string(), self.section_json(s)))
            .collect();
        json!({"link": {"rel": "self", "href": CONFIG_PATH}, "sections": sections})
    }

    fn section(name: &str) -> Result<&'static Section, ApiError> {
        section_named(name).ok_or_else(|| ApiError::not_found(format!("unknown section {name:?}")))
    }

    fn element(&self, s: &Section, element: &str) -> Result<Value, ApiError> {
        overrides::elements(&self.current(), s)
            .into_iter()
            .find(|(name, _)| name == element)
            .map(|(name, o)| Self::element_json(s, &name, o))
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "unknown element {element:?} of section {:?}",
                    s.name
                ))
            })
    }

    /// Applies one update of Kapacitor's shape to a section (and element).
    fn update(&self, s: &Section, element: Option<&str>, u: Update) -> Result<(), ApiError> {
        if !self.enabled {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "config overrides are disabled ([config-override] enabled = false)".into(),
            ));
        }
        let bad = ApiError::bad_request;
        let _write = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let mut records = self
            .store
            .list::<ConfigOverrideRecord>()
            .map_err(ApiError::internal)?;
        let mut changed: Vec<String> = Vec::new();
        let key_of = |section: &str, element: &str| format!("{section}\0{element}");
        let find = |records: &mut Vec<ConfigOverrideRecord>, element: &str| {
            let at = records
                .iter()
                .position(|r| r.section == s.name && r.element == element);
            match at {
                Some(i) => i,
                None => {
                    records.push(ConfigOverrideRecord {
                        section: s.name.to_string(),
                        element: element.to_string(),
                        options: Map::new(),
                        create: false,
                        delete: false,
                    });
                    records.len() - 1
                }
            }
        };
        let target = match (s.key, element) {
            (None, _) => Some(""),
            (Some(_), e) => e.filter(|e| !e.is_empty()),
        };
        if !u.set.is_empty() || !u.delete.is_empty() {
            let Some(el) = target else {
                return Err(bad(format!(
                    "section {:?} is a list: name the element to set or delete options of",
                    s.name
                )));
            };
            let i = find(&mut records, el);
            for k in &u.delete {
                records[i].options.remove(k);
            }
            records[i].options.extend(u.set.clone());
            changed.push(key_of(s.name, el));
        }
        if !u.add.is_empty() || !u.remove.is_empty() {
            let Some(key) = s.key.filter(|_| target.is_none()) else {
                return Err(bad(format!(
                    "add and remove are for the elements of a list section, at {CONFIG_PATH}/{}",
                    s.name
                )));
            };
            if !u.add.is_empty() {
                let name = u.add.get(key).and_then(Value::as_str).unwrap_or("");
                if name.is_empty() {
                    return Err(bad(format!(
                        "add: option {key:?} must name the new element"
                    )));
                }
                if overrides::elements(&self.current(), s)
                    .iter()
                    .any(|(n, _)| n == name)
                {
                    return Err(bad(format!("add: element {name:?} already exists")));
                }
                let i = find(&mut records, name);
                records[i] = ConfigOverrideRecord {
                    section: s.name.to_string(),
                    element: name.to_string(),
                    options: u.add.clone(),
                    create: true,
                    delete: false,
                };
                changed.push(key_of(s.name, name));
            }
            let present = overrides::elements(&self.current(), s);
            for name in &u.remove {
                if !present.iter().any(|(n, _)| n == name) {
                    return Err(bad(format!("remove: element {name:?} does not exist")));
                }
                let i = find(&mut records, name);
                if records[i].create {
                    records.remove(i);
                } else {
                    records[i].delete = true;
                    records[i].options.clear();
                }
                changed.push(key_of(s.name, name));
            }
        }
        // An override that sets nothing on an element of the file is no override.
        records.retain(|r| r.create || r.delete || !r.options.is_empty());
        let configs = self.base.apply(&records).map_err(&bad)?;
        Clusters::check(&configs.influxdb).map_err(&bad)?;
        // New scrapers are made (their TLS files read) before anything is stored.
        let scrapers = {
            let current = self.current.read().unwrap_or_else(|e| e.into_inner());
            configs.scrapers_differ(&current)
        }
        .then(|| self.scrapers.prepare(configs.scraper_sections()))
        .transpose()
        .map_err(|e| bad(format!("{e:#}")))?;
        let orchestrators = {
            let current = self.current.read().unwrap_or_else(|e| e.into_inner());
            configs.orchestrators_differ(&current)
        }
        .then(|| configs.orchestrators())
        .transpose()
        .map_err(&bad)?;
        self.store
            .transaction(|tx| {
                for k in &changed {
                    tx.delete::<ConfigOverrideRecord>(k)?;
                }
                for r in records
                    .iter()
                    .filter(|r| changed.contains(&key_of(&r.section, &r.element)))
                {
                    tx.put(r)?;
                }
                Ok::<_, crate::store::StoreError>(())
            })
            .map_err(ApiError::internal)?;
        self.clusters
            .reconfigure(&configs.influxdb)
            .map_err(ApiError::internal_msg)?;
        self.services.set_configs(configs.services.clone());
        self.endpoints
            .set(crate::config::httppost_endpoints(&configs.httppost));
        if let Some(prepared) = scrapers {
            self.scrapers.set(prepared);
        }
        if let Some(clients) = orchestrators {
            self.orchestrators.set(clients);
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = configs;
        Ok(())
    }
}

/// A POST's body: Kapacitor's `ConfigUpdateAction`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Update {
    set: Map<String, Value>,
    delete: Vec<String>,
    add: Map<String, Value>,
    remove: Vec<String>,
}

type St = State<Arc<Daemon>>;

/// The routes of `/config` (merged into `/kapacitor/v1`).
pub fn routes() -> Router<Arc<Daemon>> {
    Router::new()
        .route("/config", get(get_all))
        .route("/config/{section}", get(get_section).post(post_section))
        .route("/config/{section}/", get(get_unnamed).post(post_unnamed))
        .route(
            "/config/{section}/{element}",
            get(get_element).post(post_element),
        )
}

async fn get_all(State(d): St) -> Json<Value> {
    Json(d.overrides.all())
}

async fn get_section(State(d): St, Path(section): Path<String>) -> Result<Json<Value>, ApiError> {
    let s = ConfigOverrides::section(&section)?;
    Ok(Json(d.overrides.section_json(s)))
}

async fn get_unnamed(State(d): St, Path(section): Path<String>) -> Result<Json<Value>, ApiError> {
    let s = ConfigOverrides::section(&section)?;
    d.overrides.element(s, "").map(Json)
}

async fn get_element(
    State(d): St,
    Path((section, element)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let s = ConfigOverrides::section(&section)?;
    d.overrides.element(s, &element).map(Json)
}

fn update_of(body: &Bytes) -> Result<Update, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid config update: {e}")))
}

async fn post(
    d: Arc<Daemon>,
    section: String,
    element: Option<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let s = ConfigOverrides::section(&section)?;
    let u = update_of(&body)?;
    blocking(move || {
        d.overrides.update(s, element.as_deref(), u)?;
        if s.name == INFLUXDB.name {
            // Kapacitor links the subscriptions again when the clusters change.
            d.resubscribe();
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

async fn post_section(
    State(d): St,
    Path(section): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    post(d, section, None, body).await
}

async fn post_unnamed(
    State(d): St,
    Path(section): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    post(d, section, Some(String::new()), body).await
}

async fn post_element(
    State(d): St,
    Path((section, element)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    post(d, section, Some(element), body).await
}
