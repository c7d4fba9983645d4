//! `.alerta()` / `alerta`: Alerta's `/alert` API, as Kapacitor's `services/alerta`, with its
//! templated resource, event, environment, group, value and origin.

use super::{
    Failure, HandlerServices, go_json, not_enabled, pick, render, require_url, template_data,
    value_json,
};
use kap_dataflow::alert::{AlertEvent, Level};
use kap_dsl::plan::AlertaHandler;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// `[alerta]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct AlertaConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// Alerta's API URL.
    pub url: String,
    /// Accept any server certificate.
    pub insecure_skip_verify: bool,
    /// API token when the handler gives none.
    pub token: String,
    /// Authorization scheme before the token.
    pub token_prefix: String,
    /// Environment when the handler gives none.
    pub environment: String,
    /// Origin when the handler gives none.
    pub origin: String,
    /// Alert timeout in Alerta (0: Alerta's default).
    #[serde(with = "crate::config::go_duration_serde")]
    pub timeout: std::time::Duration,
}

impl Default for AlertaConfig {
    fn default() -> Self {
        AlertaConfig {
            enabled: false,
            url: String::new(),
            insecure_skip_verify: false,
            token: String::new(),
            token_prefix: "Bearer".into(),
            environment: String::new(),
            origin: "kapacitor".into(),
            timeout: std::time::Duration::ZERO,
        }
    }
}

impl AlertaConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "alerta", "url", &self.url)?;
        Ok(())
    }

    /// The alert Alerta receives.
    pub(super) fn body(
        &self,
        h: &AlertaHandler,
        event: &AlertEvent,
    ) -> Result<serde_json::Value, String> {
        let d = template_data(event);
        let severity = match event.level {
            Level::Ok => "ok",
            Level::Info => "informational",
            Level::Warning => "warning",
            Level::Critical => "critical",
        };
        let timeout = if h.timeout > 0 {
            h.timeout / 1_000_000_000
        } else {
            self.timeout.as_secs() as i64
        };
        let tags: Vec<String> = event
            .tags
            .iter()
            .map(|(k, v)| format!("{}={}", k.as_str(), v.as_str()))
            .collect();
        let mut attributes = serde_json::Map::new();
        for (k, v) in &h.attributes {
            attributes.insert(k.clone(), value_json(v));
        }
        let mut body = json!({
            "resource": render("alerta", "resource", &h.resource, "{{ .Name }}", &d)?,
            "event": render("alerta", "event", &h.event, "{{ .ID }}", &d)?,
            "environment": render("alerta", "environment", &h.environment, &self.environment, &d)?,
            "group": render("alerta", "group", &h.group, "{{ .Group }}", &d)?,
            "value": render("alerta", "value", &h.value, "", &d)?,
            "origin": render("alerta", "origin", &h.origin, &self.origin, &d)?,
            "severity": severity,
            "text": event.message,
            "service": if h.services.is_empty() { vec![event.name.clone()] } else { h.services.clone() },
            "correlate": h.correlated,
            "tags": tags,
            "attributes": attributes,
            "rawData": go_json(&super::event_data(event)?),
        });
        if timeout > 0 {
            body["timeout"] = json!(timeout);
        }
        Ok(body)
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &AlertaHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("alerta").into());
        }
        let token = pick(&h.token, &self.token);
        let mut headers = Vec::new();
        if !token.is_empty() {
            headers.push((
                "Authorization".to_string(),
                format!("{} {token}", pick(&h.token_prefix, &self.token_prefix)),
            ));
        }
        let url = format!("{}/alert", self.url.trim_end_matches('/'));
        let body = go_json(&self.body(h, event)?);
        let tls = super::tls::TlsKeys::insecure(self.insecure_skip_verify);
        services
            .post_secured("alerta", &url, &headers, body, tls)
            .map(drop)
    }
}
