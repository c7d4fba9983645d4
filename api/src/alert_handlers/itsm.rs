//! Event-management services: `.bigPanda()`, `.serviceNow()` and `.zenoss()` (and their
//! topic-handler kinds), as Kapacitor's `services/{bigpanda,servicenow,zenoss}`.

use super::{
    Failure, HandlerServices, event_data, go_json, not_enabled, pick, render, require_url,
    template_data, value_json,
};
use base64::Engine as _;
use kap_dataflow::alert::{AlertEvent, Level};
use kap_dsl::plan::{BigPandaHandler, ServiceNowHandler, ZenossHandler};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// An `Authorization: Basic …` header, when a user name is set.
pub(super) fn basic_auth(username: &str, password: &str) -> Vec<(String, String)> {
    if username.is_empty() {
        return Vec::new();
    }
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    vec![("Authorization".to_string(), format!("Basic {token}"))]
}

/// `[bigpanda]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct BigPandaConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The alerts API URL.
    pub url: String,
    /// The organization's API token (`Authorization: Bearer …`).
    pub token: String,
    /// The integration's app key when the handler gives none.
    pub app_key: String,
    /// Accept any server certificate.
    pub insecure_skip_verify: bool,
    /// Send every alert, not only those with `.bigPanda()`.
    pub global: bool,
    /// With `global`: only state changes.
    pub state_changes_only: bool,
}

impl Default for BigPandaConfig {
    fn default() -> Self {
        BigPandaConfig {
            enabled: false,
            url: "https://api.bigpanda.io/data/v2/alerts".into(),
            token: String::new(),
            app_key: String::new(),
            insecure_skip_verify: false,
            global: false,
            state_changes_only: false,
        }
    }
}

impl BigPandaConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "bigpanda", "url", &self.url)?;
        Ok(())
    }

    /// The alert: status by level (INFO and OK are `ok`), the alert id as check, the
    /// event's tags and the handler's attributes as properties.
    pub(super) fn body(&self, h: &BigPandaHandler, event: &AlertEvent) -> Result<Value, String> {
        let status = match event.level {
            Level::Critical => "critical",
            Level::Warning => "warning",
            Level::Info | Level::Ok => "ok",
        };
        let host = kap_dataflow::point::get(&event.tags, kap_dataflow::point::Sym::new("host"))
            .map_or("", |s| s.as_str());
        let mut body = Map::new();
        for (k, v) in &event.tags {
            body.insert(k.as_str().to_string(), json!(v.as_str()));
        }
        for (k, v) in &h.attributes {
            body.insert(k.clone(), value_json(v));
        }
        for (k, v) in [
            ("app_key", json!(pick(&h.app_key, &self.app_key))),
            ("status", json!(status)),
            ("host", json!(pick(&h.host, host))),
            ("timestamp", json!(event.time.div_euclid(1_000_000_000))),
            ("check", json!(event.id)),
            ("description", json!(event.message)),
            ("details", json!(event.details)),
            ("task", json!(format!("{}:{}", event.task, event.name))),
        ] {
            body.insert(k.to_string(), v);
        }
        if !h.primary_property.is_empty() {
            body.insert("primary_property".into(), json!(h.primary_property));
        }
        if !h.secondary_property.is_empty() {
            body.insert("secondary_property".into(), json!(h.secondary_property));
        }
        Ok(Value::Object(body))
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &BigPandaHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("bigpanda").into());
        }
        let auth = [(
            "Authorization".to_string(),
            format!("Bearer {}", self.token),
        )];
        let body = go_json(&self.body(h, event)?);
        let tls = super::tls::TlsKeys::insecure(self.insecure_skip_verify);
        services
            .post_secured("bigpanda", &self.url, &auth, body, tls)
            .map(drop)
    }
}

/// `[servicenow]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServiceNowConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The event API URL.
    pub url: String,
    /// Source when the handler gives none.
    pub source: String,
    /// User name for basic authentication.
    pub username: String,
    /// Password for basic authentication.
    pub password: String,
    /// Send every alert, not only those with `.serviceNow()`.
    pub global: bool,
    /// With `global`: only state changes.
    pub state_changes_only: bool,
}

impl Default for ServiceNowConfig {
    fn default() -> Self {
        ServiceNowConfig {
            enabled: false,
            url: "https://instance.service-now.com/api/global/em/jsonv2".into(),
            source: "Kapacitor".into(),
            username: String::new(),
            password: String::new(),
            global: false,
            state_changes_only: false,
        }
    }
}

impl ServiceNowConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "servicenow", "url", &self.url)?;
        Ok(())
    }

    /// One event record: severity 1 (CRITICAL), 3 (WARNING), 5 (INFO) or 0 (OK, clear);
    /// node, type, resource, metric name and message key are templates (the message key
    /// defaults to the alert id, which groups an alert's events).
    pub(super) fn body(&self, h: &ServiceNowHandler, event: &AlertEvent) -> Result<Value, String> {
        let d = template_data(event);
        let t =
            |what: &str, text: &str, default: &str| render("servicenow", what, text, default, &d);
        let severity = match event.level {
            Level::Critical => "1",
            Level::Warning => "3",
            Level::Info => "5",
            Level::Ok => "0",
        };
        let additional: BTreeMap<&str, Value> = h
            .additional_info
            .iter()
            .map(|(k, v)| (k.as_str(), value_json(v)))
            .collect();
        let time = chrono::DateTime::from_timestamp_nanos(event.time)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        Ok(json!({"records": [{
            "source": pick(&h.source, &self.source),
            "node": t("node", &h.node, "")?,
            "type": t("type", &h.type_, "")?,
            "resource": t("resource", &h.resource, "")?,
            "metric_name": t("metric_name", &h.metric_name, "")?,
            "message_key": t("message_key", &h.message_key, "{{.ID}}")?,
            "time_of_event": time,
            "severity": severity,
            "description": event.message,
            "additional_info": additional,
        }]}))
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &ServiceNowHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("servicenow").into());
        }
        let url = pick(&h.url, &self.url);
        let auth = basic_auth(
            pick(&h.username, &self.username),
            pick(&h.password, &self.password),
        );
        let body = go_json(&self.body(h, event)?);
        services.post("servicenow", url, &auth, body).map(drop)
    }
}

/// `[zenoss]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ZenossConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The JSON API router URL.
    pub url: String,
    /// User name for basic authentication.
    pub username: String,
    /// Password for basic authentication.
    pub password: String,
    /// Router action.
    pub action: String,
    /// Router method.
    pub method: String,
    /// Request type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Transaction id.
    pub tid: i64,
    /// Collector name.
    pub collector: String,
    /// Zenoss severity of each level.
    pub severity_map: ZenossSeverities,
    /// Send every alert, not only those with `.zenoss()`.
    pub global: bool,
    /// With `global`: only state changes.
    pub state_changes_only: bool,
}

/// `[zenoss.severity-map]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ZenossSeverities {
    /// For OK.
    pub ok: String,
    /// For INFO.
    pub info: String,
    /// For WARNING.
    pub warning: String,
    /// For CRITICAL.
    pub critical: String,
}

impl Default for ZenossSeverities {
    fn default() -> Self {
        ZenossSeverities {
            ok: "Clear".into(),
            info: "Info".into(),
            warning: "Warning".into(),
            critical: "Critical".into(),
        }
    }
}

impl Default for ZenossConfig {
    fn default() -> Self {
        ZenossConfig {
            enabled: false,
            url: "https://tenant.zenoss.io:8080/zport/dmd/evconsole_router".into(),
            username: String::new(),
            password: String::new(),
            action: "EventsRouter".into(),
            method: "add_event".into(),
            type_: "rpc".into(),
            tid: 1,
            collector: "Kapacitor".into(),
            severity_map: ZenossSeverities::default(),
            global: false,
            state_changes_only: false,
        }
    }
}

impl ZenossConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "zenoss", "url", &self.url)?;
        Ok(())
    }

    /// The router call adding one event; summary, device, component, event class (key) and
    /// message are templates.
    pub(super) fn body(&self, h: &ZenossHandler, event: &AlertEvent) -> Result<Value, String> {
        let d = template_data(event);
        let t = |what: &str, text: &str, default: &str| render("zenoss", what, text, default, &d);
        let m = &self.severity_map;
        let severity = match event.level {
            Level::Ok => &m.ok,
            Level::Info => &m.info,
            Level::Warning => &m.warning,
            Level::Critical => &m.critical,
        };
        let mut data = Map::new();
        for (k, v) in &h.custom_fields {
            data.insert(k.clone(), value_json(v));
        }
        for (k, v) in [
            ("summary", json!(t("summary", &h.summary, "{{.Message}}")?)),
            (
                "device",
                json!(t("device", &h.device, "{{index .Tags \"host\"}}")?),
            ),
            ("component", json!(t("component", &h.component, "")?)),
            ("severity", json!(severity)),
            (
                "evclasskey",
                json!(t("event-class-key", &h.event_class_key, "")?),
            ),
            ("evclass", json!(t("event-class", &h.event_class, "")?)),
            ("collector", json!(pick(&h.collector, &self.collector))),
            ("message", json!(t("message", &h.message, "{{.Details}}")?)),
            ("eventKey", json!(event.id)),
            ("data", event_data(event)?),
        ] {
            data.insert(k.to_string(), v);
        }
        Ok(json!({
            "action": pick(&h.action, &self.action),
            "method": pick(&h.method, &self.method),
            "data": [data],
            "type": pick(&h.type_, &self.type_),
            "tid": if h.tid > 0 { h.tid } else { self.tid },
        }))
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &ZenossHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("zenoss").into());
        }
        let url = pick(&h.url, &self.url);
        let auth = basic_auth(
            pick(&h.username, &self.username),
            pick(&h.password, &self.password),
        );
        let body = go_json(&self.body(h, event)?);
        services.post("zenoss", url, &auth, body).map(drop)
    }
}
