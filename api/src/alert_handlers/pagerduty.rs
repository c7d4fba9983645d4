//! `.pagerDuty()` / `pagerduty` (Events API v1) and `.pagerDuty2()` / `pagerduty2` (Events
//! API v2), as Kapacitor's `services/pagerduty` and `services/pagerduty2`.

use super::{Failure, HandlerServices, event_data, go_json, not_enabled, pick, require_url};
use kap_dataflow::alert::{AlertEvent, Level};
use kap_dataflow::gofmt;
use kap_dsl::plan::{PagerDuty2Handler, PagerDutyHandler};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// `[pagerduty]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The Events API v1 URL.
    pub url: String,
    /// Service key when the handler gives none.
    pub service_key: String,
    /// Send every alert, not only those with `.pagerDuty()`.
    pub global: bool,
}

impl Default for PagerDutyConfig {
    fn default() -> Self {
        PagerDutyConfig {
            enabled: false,
            url: "https://events.pagerduty.com/generic/2010-04-15/create_event.json".into(),
            service_key: String::new(),
            global: false,
        }
    }
}

impl PagerDutyConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "pagerduty", "url", &self.url)?;
        Ok(())
    }

    /// The v1 event: `trigger` for WARNING and CRITICAL, `resolve` for OK; INFO is refused,
    /// as Kapacitor refuses it.
    pub(super) fn body(
        &self,
        services: &HandlerServices,
        h: &PagerDutyHandler,
        event: &AlertEvent,
    ) -> Result<serde_json::Value, String> {
        let event_type = match event.level {
            Level::Warning | Level::Critical => "trigger",
            Level::Ok => "resolve",
            Level::Info => return Err("pagerduty: unsupported alert level INFO".into()),
        };
        let key = pick(&h.service_key, &self.service_key);
        Ok(json!({
            "service_key": key,
            "event_type": event_type,
            "description": event.message,
            "client": "kapacitor",
            "client_url": services.kapacitor_url,
            "incident_key": event.id,
            "details": event.details,
        }))
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &PagerDutyHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("pagerduty").into());
        }
        let body = go_json(&self.body(services, h, event)?);
        services.post("pagerduty", &self.url, &[], body).map(drop)
    }
}

/// `[pagerduty2]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct PagerDuty2Config {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The Events API v2 URL.
    pub url: String,
    /// Routing (integration) key when the handler gives none.
    pub routing_key: String,
    /// Send every alert, not only those with `.pagerDuty2()`.
    pub global: bool,
}

impl Default for PagerDuty2Config {
    fn default() -> Self {
        PagerDuty2Config {
            enabled: false,
            url: "https://events.pagerduty.com/v2/enqueue".into(),
            routing_key: String::new(),
            global: false,
        }
    }
}

/// The most characters PagerDuty takes in a summary.
const SUMMARY_MAX: usize = 1024;

impl PagerDuty2Config {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "pagerduty2", "url", &self.url)?;
        Ok(())
    }

    /// The v2 event: `trigger` (or `resolve` for OK), deduplicated by the alert id, with
    /// the level as severity, the `host` tag as source and the event's data as details.
    pub(super) fn body(
        &self,
        services: &HandlerServices,
        h: &PagerDuty2Handler,
        event: &AlertEvent,
    ) -> Result<serde_json::Value, String> {
        let (action, severity) = match event.level {
            Level::Ok => ("resolve", "info"),
            Level::Info => ("trigger", "info"),
            Level::Warning => ("trigger", "warning"),
            Level::Critical => ("trigger", "critical"),
        };
        let key = pick(&h.routing_key, &self.routing_key);
        let source = kap_dataflow::point::get(&event.tags, kap_dataflow::point::Sym::new("host"))
            .map_or("unknown", |s| s.as_str());
        let summary: String = event.message.chars().take(SUMMARY_MAX).collect();
        let mut body = json!({
            "routing_key": key,
            "event_action": action,
            "dedup_key": event.id,
            "payload": {
                "summary": summary,
                "source": source,
                "severity": severity,
                "timestamp": gofmt::format_time_rfc3339nano(event.time),
                "class": event.task,
                "custom_details": {"result": event_data(event)?},
            },
            "client": "kapacitor",
            "client_url": services.kapacitor_url,
        });
        if !h.links.is_empty() {
            body["links"] = h
                .links
                .iter()
                .map(|l| {
                    if l.text.is_empty() {
                        json!({"href": l.href})
                    } else {
                        json!({"href": l.href, "text": l.text})
                    }
                })
                .collect();
        }
        Ok(body)
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &PagerDuty2Handler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("pagerduty2").into());
        }
        let body = go_json(&self.body(services, h, event)?);
        services.post("pagerduty2", &self.url, &[], body).map(drop)
    }
}
