//! The clusters autoscale nodes scale: `[[kubernetes]]` (the scale subresource of
//! deployments, replica sets and replication controllers), `[[swarm]]` (Docker's service
//! API) and `[[ec2]]` (the Auto Scaling API, [`super::aws`]), as Kapacitor's k8s, swarm and
//! ec2 services reach them.
//!
//! Each cluster tries its servers in order until one answers. Kubernetes takes a bearer
//! `token` and a `ca-path`, or with `in-cluster` the pod's service account (its token and
//! CA under `/var/run/secrets/kubernetes.io/serviceaccount`, the API server from
//! `KUBERNETES_SERVICE_HOST`/`_PORT`); Swarm takes the TLS keys of its section.

use super::aws::AutoScaling;
use crate::alert_handlers::tls::TlsKeys;
use crate::config::{Ec2Config, KubernetesConfig, SwarmConfig};
use crate::services::percent_encode;
use kap_dataflow::ops::autoscale::{Orchestrator, Resource, Scaler};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How long one request to a cluster may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from a cluster.
const MAX_BODY: u64 = 16 << 20;
/// Where a pod finds its service account.
const SERVICE_ACCOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The clients of the enabled clusters, replaced whole when `/config` changes their
/// sections (a request under way finishes with the clients it started with).
#[derive(Debug, Default)]
pub struct Orchestrators(RwLock<Arc<Clients>>);

/// The enabled clusters, by id.
#[derive(Debug, Default)]
pub struct Clients {
    k8s: BTreeMap<String, Cluster>,
    swarm: BTreeMap<String, Cluster>,
    ec2: BTreeMap<String, AutoScaling>,
}

/// One cluster's HTTP side.
#[derive(Debug)]
pub(crate) struct Cluster {
    servers: Vec<String>,
    /// `Authorization` header.
    auth: Option<String>,
    agent: ureq::Agent,
    breaker: Breaker,
}

/// First wait of a [`Breaker`] after a cluster could not be reached.
const FIRST_WAIT: Duration = Duration::from_secs(5);
/// Longest wait of a [`Breaker`].
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// Keeps a cluster that cannot be reached from holding up the worker at every point that
/// needs it (a node asks its cluster while it handles the point): after a request finds
/// no server, requests fail at once for a while (5 s, doubling up to a minute while it
/// stays unreachable), saying why. An answer of any status closes it again.
#[derive(Debug, Default)]
pub(crate) struct Breaker(std::sync::Mutex<Option<Tripped>>);

#[derive(Debug)]
struct Tripped {
    until: std::time::Instant,
    wait: Duration,
    why: String,
}

impl Breaker {
    /// `Err` while the cluster is left alone after a failure.
    pub(crate) fn check(&self) -> Result<(), String> {
        let t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match t.as_ref() {
            Some(t) if std::time::Instant::now() < t.until => {
                let left = t.until.saturating_duration_since(std::time::Instant::now());
                Err(format!(
                    "not asking the cluster again for {}s after: {}",
                    left.as_secs().max(1),
                    t.why
                ))
            }
            _ => Ok(()),
        }
    }

    /// A request reached a server.
    pub(crate) fn succeeded(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// A request reached no server, for `why`.
    pub(crate) fn failed(&self, why: &str) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let wait = t
            .as_ref()
            .map_or(FIRST_WAIT, |t| (t.wait * 2).min(LONGEST_WAIT));
        tracing::warn!(
            "{why}; not asking that cluster again for {}s",
            wait.as_secs()
        );
        *t = Some(Tripped {
            until: std::time::Instant::now() + wait,
            wait,
            why: why.to_string(),
        });
    }
}

impl Orchestrators {
    /// The clients of the enabled sections; `Err` as [`Clients::new`].
    pub fn new(
        kubernetes: &[KubernetesConfig],
        swarm: &[SwarmConfig],
        ec2: &[Ec2Config],
    ) -> Result<Orchestrators, String> {
        Clients::new(kubernetes, swarm, ec2).map(|c| Orchestrators(RwLock::new(Arc::new(c))))
    }

    /// Replaces the clients.
    pub fn set(&self, clients: Clients) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(clients);
    }

    fn clients(&self) -> Arc<Clients> {
        Arc::clone(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The service test of `service` (one of [`SERVICE_TESTS`]) with option `id`, as
    /// Kapacitor's: the cluster's client, then a request that needs no resource (the
    /// Kubernetes and Docker API versions, EC2's groups).
    pub(crate) fn service_test(
        &self,
        service: &str,
        given: &serde_json::Map<String, Json>,
    ) -> Result<(), String> {
        let id = match given.get("id") {
            None | Some(Json::Null) => "",
            Some(Json::String(s)) => s.as_str(),
            Some(v) => return Err(format!("option \"id\": expected a string, got {v}")),
        };
        let clients = self.clients();
        let client = |e: String| format!("failed to get client: {e}");
        match service {
            "kubernetes" => pick(&clients.k8s, "kubernetes", id)
                .map_err(client)?
                .json("GET", "/version", None)
                .map(drop)
                .map_err(|e| format!("failed to query server versions: {e}")),
            "swarm" => pick(&clients.swarm, "swarm", id)
                .map_err(client)?
                .json("GET", "/version", None)
                .map(drop)
                .map_err(|e| format!("failed to query server version: {e}")),
            _ => pick(&clients.ec2, "ec2", id)
                .map_err(client)?
                .groups_reachable()
                .map_err(|e| format!("failed to query autoscaling groups: {e}")),
        }
    }
}

impl Clients {
    /// Clients of the enabled sections; `Err` names the key that does not do (a CA file that
    /// cannot be read, an in-cluster daemon outside a cluster, EC2 without credentials).
    pub fn new(
        kubernetes: &[KubernetesConfig],
        swarm: &[SwarmConfig],
        ec2: &[Ec2Config],
    ) -> Result<Clients, String> {
        let mut out = Clients::default();
        for (i, k) in kubernetes.iter().enumerate().filter(|(_, k)| k.enabled) {
            out.k8s.insert(k.id.clone(), Cluster::kubernetes(i, k)?);
        }
        for (i, s) in swarm.iter().enumerate().filter(|(_, s)| s.enabled) {
            let agent = super::scraper::agent(TIMEOUT, s.tls_keys())
                .map_err(|e| format!("swarm[{i}]: {e:#}"))?;
            out.swarm.insert(
                s.id.clone(),
                Cluster {
                    servers: trimmed(&s.servers),
                    auth: None,
                    agent,
                    breaker: Breaker::default(),
                },
            );
        }
        for (i, e) in ec2.iter().enumerate().filter(|(_, e)| e.enabled) {
            let api = AutoScaling::new(e, TIMEOUT).map_err(|why| format!("ec2[{i}]: {why}"))?;
            out.ec2.insert(e.id.clone(), api);
        }
        Ok(out)
    }

    fn cluster(&self, kind: Orchestrator, id: &str) -> Result<&Cluster, String> {
        match kind {
            Orchestrator::K8s => pick(&self.k8s, "kubernetes", id),
            Orchestrator::Swarm => pick(&self.swarm, "swarm", id),
            Orchestrator::Ec2 => Err("EC2 is reached through its Auto Scaling API".into()),
        }
    }
}

/// Cluster `id` of `clusters` (of section `name`); `.cluster()` left out picks the only
/// cluster there is.
fn pick<'a, T>(clusters: &'a BTreeMap<String, T>, name: &str, id: &str) -> Result<&'a T, String> {
    if let Some(c) = clusters.get(id) {
        return Ok(c);
    }
    if id.is_empty() && clusters.len() == 1 {
        return Ok(clusters.values().next().expect("one cluster"));
    }
    Err(format!("unknown {name} cluster {id:?}, cannot get client"))
}

/// The services whose test reaches an autoscale cluster, with option `id`.
pub(crate) const SERVICE_TESTS: &[&str] = &["ec2", "kubernetes", "swarm"];

fn trimmed(servers: &[String]) -> Vec<String> {
    servers
        .iter()
        .map(|s| s.trim_end_matches('/').to_string())
        .collect()
}

impl Cluster {
    /// The client of `[[kubernetes]]` number `i`, `k`: its API servers, token and CA, or with
    /// `in-cluster` the pod's service account's. `Err` names the key that does not do.
    pub(crate) fn kubernetes(i: usize, k: &KubernetesConfig) -> Result<Cluster, String> {
        let key = |k: &str| format!("kubernetes[{i}].{k}");
        let (servers, token, ca) = if k.in_cluster {
            let host = std::env::var("KUBERNETES_SERVICE_HOST").map_err(|_| {
                format!(
                    "{}: KUBERNETES_SERVICE_HOST is not set: not inside a cluster",
                    key("in-cluster")
                )
            })?;
            let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
            let token = std::fs::read_to_string(format!("{SERVICE_ACCOUNT}/token"))
                .map_err(|e| format!("{}: the service account's token: {e}", key("in-cluster")))?;
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host
            };
            (
                vec![format!("https://{host}:{port}")],
                token.trim().to_string(),
                format!("{SERVICE_ACCOUNT}/ca.crt"),
            )
        } else {
            (k.api_servers.clone(), k.token.clone(), k.ca_path.clone())
        };
        let keys = TlsKeys {
            ca: &ca,
            cert: "",
            key: "",
            insecure: false,
        };
        let agent = super::scraper::agent(TIMEOUT, keys).map_err(|e| {
            format!(
                "{}: {e:#}",
                key(if k.in_cluster {
                    "in-cluster"
                } else {
                    "ca-path"
                })
            )
        })?;
        Ok(Cluster {
            servers: trimmed(&servers),
            auth: (!token.is_empty()).then(|| format!("Bearer {token}")),
            agent,
            breaker: Breaker::default(),
        })
    }

    /// Sends a request to each server in turn until one answers; returns the first answer's
    /// status and body (a server that cannot be reached is skipped).
    fn call(&self, method: &str, path: &str, body: Option<&Json>) -> Result<(u16, String), String> {
        self.breaker.check()?;
        let mut last = String::from("no servers");
        for server in &self.servers {
            let url = format!("{server}{path}");
            let mut req = ureq::http::Request::builder().method(method).uri(&url);
            if let Some(a) = &self.auth {
                req = req.header("Authorization", a.as_str());
            }
            let sent = match body {
                Some(b) => {
                    let req = req
                        .header("Content-Type", "application/json")
                        .body(b.to_string())
                        .map_err(|e| format!("{method} {url}: {e}"))?;
                    self.agent.run(req)
                }
                None => {
                    let req = req.body(()).map_err(|e| format!("{method} {url}: {e}"))?;
                    self.agent.run(req)
                }
            };
            match sent {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let text = resp
                        .body_mut()
                        .with_config()
                        .limit(MAX_BODY)
                        .read_to_string()
                        .map_err(|e| format!("{method} {url}: {e}"))?;
                    self.breaker.succeeded();
                    return Ok((status, text));
                }
                Err(e) => last = format!("{method} {url}: {e}"),
            }
        }
        self.breaker.failed(&last);
        Err(last)
    }

    /// A JSON answer with status 2xx; else the server's message.
    pub(crate) fn json(
        &self,
        method: &str,
        path: &str,
        body: Option<&Json>,
    ) -> Result<Json, String> {
        let (status, text) = self.call(method, path, body)?;
        if !(200..300).contains(&status) {
            // Kubernetes answers a `Status` object, Docker `{"message": …}`.
            let why = serde_json::from_str::<Json>(&text)
                .ok()
                .and_then(|j| j["message"].as_str().map(str::to_string))
                .unwrap_or(text);
            return Err(format!("{method} {path}: HTTP status {status}: {why}"));
        }
        if text.trim().is_empty() {
            return Ok(Json::Null);
        }
        serde_json::from_str(&text).map_err(|e| format!("{method} {path}: {e}"))
    }
}

/// The scale subresource's path of a Kubernetes resource.
fn scale_path(namespace: &str, kind: &str, name: &str) -> Result<String, String> {
    let group = match kind {
        "deployments" | "replicasets" => "/apis/apps/v1",
        "replicationcontrollers" => "/api/v1",
        other => return Err(format!("unsupported kind {other:?}")),
    };
    Ok(format!(
        "{group}/namespaces/{}/{kind}/{}/scale",
        percent_encode(namespace),
        percent_encode(name)
    ))
}

/// Swarm service `name` as the cluster describes it.
fn swarm_service(c: &Cluster, name: &str) -> Result<Json, String> {
    c.json("GET", &format!("/services/{}", percent_encode(name)), None)
        .map_err(|e| format!("failed to get swarm service for {name:?}: {e}"))
}

/// The replicas a Swarm service's spec asks for.
fn swarm_replicas(service: &Json, name: &str) -> Result<i64, String> {
    service["Spec"]["Mode"]["Replicated"]["Replicas"]
        .as_i64()
        .ok_or_else(|| format!("docker swarm service {name:?} is not a replicated service"))
}

impl Scaler for Orchestrators {
    fn check(&self, kind: Orchestrator, cluster: &str) -> Result<(), String> {
        self.clients().check(kind, cluster)
    }

    fn replicas(&self, resource: &Resource) -> Result<i64, String> {
        self.clients().replicas(resource)
    }

    fn set_replicas(&self, resource: &Resource, replicas: i64) -> Result<(), String> {
        self.clients().set_replicas(resource, replicas)
    }
}

impl Clients {
    fn check(&self, kind: Orchestrator, cluster: &str) -> Result<(), String> {
        match kind {
            Orchestrator::Ec2 => pick(&self.ec2, "ec2", cluster).map(|_| ()),
            _ => self.cluster(kind, cluster).map(|_| ()),
        }
    }

    fn replicas(&self, resource: &Resource) -> Result<i64, String> {
        match resource {
            Resource::K8s {
                cluster,
                namespace,
                kind,
                name,
            } => {
                let c = self.cluster(Orchestrator::K8s, cluster)?;
                let scale = c.json("GET", &scale_path(namespace, kind, name)?, None)?;
                Ok(scale["spec"]["replicas"].as_i64().unwrap_or(0))
            }
            Resource::Swarm { cluster, service } => {
                let c = self.cluster(Orchestrator::Swarm, cluster)?;
                swarm_replicas(&swarm_service(c, service)?, service)
            }
            Resource::Ec2 { cluster, group } => pick(&self.ec2, "ec2", cluster)?
                .desired_capacity(group)
                .map_err(|e| format!("failed to get ec2 autoscaleGroup for {group:?}: {e}")),
        }
    }

    fn set_replicas(&self, resource: &Resource, replicas: i64) -> Result<(), String> {
        match resource {
            Resource::K8s {
                cluster,
                namespace,
                kind,
                name,
            } => {
                // As Kapacitor: the scale as it is now, with the new count.
                let c = self.cluster(Orchestrator::K8s, cluster)?;
                let path = scale_path(namespace, kind, name)?;
                let mut scale = c.json("GET", &path, None)?;
                if !scale.is_object() {
                    return Err(format!("GET {path}: not a scale object"));
                }
                scale["spec"]["replicas"] = Json::from(replicas);
                c.json("PUT", &path, Some(&scale)).map(|_| ())
            }
            Resource::Swarm { cluster, service } => {
                let c = self.cluster(Orchestrator::Swarm, cluster)?;
                let mut s = swarm_service(c, service)?;
                swarm_replicas(&s, service)?;
                let id = s["ID"].as_str().unwrap_or(service).to_string();
                let version = s["Version"]["Index"].as_u64().unwrap_or(0);
                let spec = &mut s["Spec"];
                spec["Mode"]["Replicated"]["Replicas"] = Json::from(replicas);
                c.json(
                    "POST",
                    &format!("/services/{}/update?version={version}", percent_encode(&id)),
                    Some(spec),
                )
                .map(|_| ())
            }
            Resource::Ec2 { cluster, group } => {
                pick(&self.ec2, "ec2", cluster)?.set_desired_capacity(group, replicas)
            }
        }
    }
}
