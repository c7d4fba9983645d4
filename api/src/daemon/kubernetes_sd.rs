//! Kubernetes discovery for scrapers: the targets of a `[[kubernetes]]` cluster's nodes,
//! pods, services or endpoints (its `resource`, in its `namespace` or all), as Prometheus'
//! Kubernetes discovery makes them (`discovery/kubernetes`, roles `node`, `pod`,
//! `service` and `endpoints`), read with a list request at each scrape.
//!
//! Only a target's address (and for nodes its `instance`, the node's name) reaches the
//! points: the `__meta_kubernetes_*` labels are kept for what they say, and dropped as
//! Prometheus drops them without relabeling.

use super::autoscale::Cluster;
use super::scraper::{Target, join_host_port, label_name};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// What a `[[kubernetes]]`'s `resource` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Node,
    Pod,
    Service,
    Endpoints,
}

impl Role {
    /// The role `resource` names (`endpoint` too, for `endpoints`); `None` for others.
    pub(crate) fn of(resource: &str) -> Option<Role> {
        Some(match resource {
            "node" => Role::Node,
            "pod" => Role::Pod,
            "service" => Role::Service,
            "endpoints" | "endpoint" => Role::Endpoints,
            _ => return None,
        })
    }

    fn kind(self) -> &'static str {
        match self {
            Role::Node => "nodes",
            Role::Pod => "pods",
            Role::Service => "services",
            Role::Endpoints => "endpoints",
        }
    }
}

/// The targets of `role` in `cluster` (in `namespace`, or all; nodes have none).
pub(crate) fn targets(
    cluster: &Cluster,
    role: Role,
    namespace: &str,
) -> Result<Vec<Target>, String> {
    let path = if namespace.is_empty() || role == Role::Node {
        format!("/api/v1/{}", role.kind())
    } else {
        format!(
            "/api/v1/namespaces/{}/{}",
            crate::services::percent_encode(namespace),
            role.kind()
        )
    };
    let list = cluster.json("GET", &path, None)?;
    let items = list["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut out = Vec::new();
    for item in items {
        match role {
            Role::Node => out.extend(node(item)),
            Role::Pod => out.extend(pod(item)),
            Role::Service => out.extend(service(item)),
            Role::Endpoints => out.extend(endpoints(item)),
        }
    }
    Ok(out)
}

/// A port number of the API's JSON.
fn port(v: &Json) -> Option<u16> {
    v.as_u64().and_then(|n| u16::try_from(n).ok())
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The labels every target of an object of `kind` has: its namespace, and its name,
/// labels and annotations under `__meta_kubernetes_<kind>_`.
fn object_labels(item: &Json, kind: &str) -> BTreeMap<String, String> {
    let meta = &item["metadata"];
    let mut labels = BTreeMap::new();
    if let Some(ns) = meta["namespace"].as_str() {
        labels.insert("__meta_kubernetes_namespace".into(), ns.into());
    }
    labels.insert(
        format!("__meta_kubernetes_{kind}_name"),
        text(&meta["name"]),
    );
    for (what, key) in [("label", "labels"), ("annotation", "annotations")] {
        if let Some(map) = meta[key].as_object() {
            for (k, v) in map {
                labels.insert(
                    format!("__meta_kubernetes_{kind}_{what}_{}", label_name(k)),
                    text(v),
                );
            }
        }
    }
    labels
}

/// A node: its first address by Prometheus' order of address types, at the kubelet's
/// port; `instance` is the node's name.
fn node(item: &Json) -> Option<Target> {
    let mut labels = object_labels(item, "node");
    let addresses = item["status"]["addresses"].as_array()?;
    for a in addresses {
        labels.insert(
            format!("__meta_kubernetes_node_address_{}", text(&a["type"])),
            text(&a["address"]),
        );
    }
    let address = [
        "InternalIP",
        "InternalDNS",
        "ExternalIP",
        "ExternalDNS",
        "LegacyHostIP",
        "Hostname",
    ]
    .iter()
    .find_map(|t| {
        addresses
            .iter()
            .find(|a| a["type"] == *t)
            .map(|a| text(&a["address"]))
    })?;
    let kubelet = port(&item["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]);
    labels.insert("instance".into(), text(&item["metadata"]["name"]));
    Some(Target {
        address: join_host_port(&address, kubelet.unwrap_or(0)),
        labels,
    })
}

/// A pod with an address: one target per declared port of each container, at the pod's
/// address; a container without ports gives one at the address alone (the scheme's port).
fn pod(item: &Json) -> Vec<Target> {
    let ip = text(&item["status"]["podIP"]);
    if ip.is_empty() {
        return Vec::new();
    }
    let mut base = object_labels(item, "pod");
    for (label, value) in [
        ("pod_ip", &item["status"]["podIP"]),
        ("pod_host_ip", &item["status"]["hostIP"]),
        ("pod_phase", &item["status"]["phase"]),
        ("pod_node_name", &item["spec"]["nodeName"]),
        ("pod_uid", &item["metadata"]["uid"]),
    ] {
        base.insert(format!("__meta_kubernetes_{label}"), text(value));
    }
    let mut out = Vec::new();
    for c in item["spec"]["containers"].as_array().into_iter().flatten() {
        let mut labels = base.clone();
        labels.insert(
            "__meta_kubernetes_pod_container_name".into(),
            text(&c["name"]),
        );
        let ports = c["ports"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        if ports.is_empty() {
            out.push(Target {
                address: ip.clone(),
                labels,
            });
            continue;
        }
        for p in ports {
            let Some(number) = port(&p["containerPort"]) else {
                continue;
            };
            let mut labels = labels.clone();
            labels.insert(
                "__meta_kubernetes_pod_container_port_name".into(),
                text(&p["name"]),
            );
            labels.insert(
                "__meta_kubernetes_pod_container_port_number".into(),
                number.to_string(),
            );
            labels.insert(
                "__meta_kubernetes_pod_container_port_protocol".into(),
                text(&p["protocol"]),
            );
            out.push(Target {
                address: join_host_port(&ip, number),
                labels,
            });
        }
    }
    out
}

/// A service: one target per port, at the service's DNS name
/// (`<name>.<namespace>.svc:<port>`).
fn service(item: &Json) -> Vec<Target> {
    let labels = object_labels(item, "service");
    let name = text(&item["metadata"]["name"]);
    let namespace = text(&item["metadata"]["namespace"]);
    item["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = port(&p["port"])?;
            let mut labels = labels.clone();
            labels.insert(
                "__meta_kubernetes_service_port_name".into(),
                text(&p["name"]),
            );
            labels.insert(
                "__meta_kubernetes_service_port_protocol".into(),
                text(&p["protocol"]),
            );
            Some(Target {
                address: join_host_port(&format!("{name}.{namespace}.svc"), port),
                labels,
            })
        })
        .collect()
}

/// An endpoints object: each address of each subset (ready or not) at each of the
/// subset's ports.
fn endpoints(item: &Json) -> Vec<Target> {
    let base = object_labels(item, "endpoints");
    let mut out = Vec::new();
    for subset in item["subsets"].as_array().into_iter().flatten() {
        for p in subset["ports"].as_array().into_iter().flatten() {
            let Some(number) = port(&p["port"]) else {
                continue;
            };
            for (key, ready) in [("addresses", "true"), ("notReadyAddresses", "false")] {
                for a in subset[key].as_array().into_iter().flatten() {
                    let mut labels = base.clone();
                    for (label, value) in [
                        ("endpoint_ready", ready.to_string()),
                        ("endpoint_port_name", text(&p["name"])),
                        ("endpoint_port_protocol", text(&p["protocol"])),
                        ("endpoint_node_name", text(&a["nodeName"])),
                        ("endpoint_hostname", text(&a["hostname"])),
                        (
                            "endpoint_address_target_kind",
                            text(&a["targetRef"]["kind"]),
                        ),
                        (
                            "endpoint_address_target_name",
                            text(&a["targetRef"]["name"]),
                        ),
                    ] {
                        if !value.is_empty() {
                            labels.insert(format!("__meta_kubernetes_{label}"), value);
                        }
                    }
                    out.push(Target {
                        address: join_host_port(&text(&a["ip"]), number),
                        labels,
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn addresses(targets: &[Target]) -> Vec<&str> {
        targets.iter().map(|t| t.address.as_str()).collect()
    }

    #[test]
    fn targets_of_each_role_are_prometheus_s() {
        let n = node(&json!({
            "metadata": {"name": "n1", "labels": {"kubernetes.io/os": "linux"}},
            "status": {"addresses": [
                {"type": "Hostname", "address": "n1"},
                {"type": "InternalIP", "address": "10.0.0.1"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}
        }))
        .unwrap();
        assert_eq!(n.address, "10.0.0.1:10250");
        assert_eq!(n.labels["instance"], "n1");
        assert_eq!(
            n.labels["__meta_kubernetes_node_label_kubernetes_io_os"],
            "linux"
        );
        let pods = pod(&json!({
            "metadata": {"name": "web-1", "namespace": "prod"},
            "spec": {"nodeName": "n1", "containers": [
                {"name": "app", "ports": [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"},
                                          {"containerPort": 8080}]},
                {"name": "sidecar"}]},
            "status": {"podIP": "10.1.0.7", "phase": "Running"}
        }));
        assert_eq!(
            addresses(&pods),
            ["10.1.0.7:9100", "10.1.0.7:8080", "10.1.0.7"]
        );
        assert_eq!(
            pods[0].labels["__meta_kubernetes_pod_container_port_name"],
            "metrics"
        );
        assert_eq!(
            pods[2].labels["__meta_kubernetes_pod_container_name"],
            "sidecar"
        );
        assert!(pod(&json!({"metadata": {"name": "pending"}, "status": {}})).is_empty());
        let svc = service(&json!({
            "metadata": {"name": "api", "namespace": "prod"},
            "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}
        }));
        assert_eq!(addresses(&svc), ["api.prod.svc:80"]);
        let eps = endpoints(&json!({
            "metadata": {"name": "api", "namespace": "prod"},
            "subsets": [{"addresses": [{"ip": "10.1.0.7", "targetRef": {"kind": "Pod", "name": "web-1"}}],
                         "notReadyAddresses": [{"ip": "10.1.0.8"}],
                         "ports": [{"name": "http", "port": 8080}]}]
        }));
        assert_eq!(addresses(&eps), ["10.1.0.7:8080", "10.1.0.8:8080"]);
        assert_eq!(eps[1].labels["__meta_kubernetes_endpoint_ready"], "false");
        assert_eq!(
            eps[0].labels["__meta_kubernetes_endpoint_address_target_name"],
            "web-1"
        );
    }
}
