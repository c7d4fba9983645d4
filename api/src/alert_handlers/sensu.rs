//! `.sensu()` / `sensu`: a check result sent to a Sensu client socket over TCP, as
//! Kapacitor's `services/sensu`.

use super::{Failure, go_json, invalid, not_enabled, pick, pick_list, tcp_send, value_json};
use kap_dataflow::alert::{AlertEvent, Level};
use kap_dsl::plan::SensuHandler;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// `[sensu]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SensuConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The Sensu client's `host:port`.
    pub addr: String,
    /// Source when the handler gives none.
    pub source: String,
    /// Sensu handlers when the handler gives none.
    pub handlers: Vec<String>,
}

impl Default for SensuConfig {
    fn default() -> Self {
        SensuConfig {
            enabled: false,
            addr: String::new(),
            source: "Kapacitor".into(),
            handlers: Vec::new(),
        }
    }
}

/// Whether `name` is a valid Sensu check name (`^[\w.-]+$`).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-')
}

impl SensuConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        if self.enabled && self.addr.is_empty() {
            return invalid("sensu", "addr", "must be set when enabled");
        }
        Ok(())
    }

    /// The check result: the alert id as name, the message as output, and the level as
    /// status (0 OK and INFO, 1 WARNING, 2 CRITICAL); metadata keys are added at the top.
    pub(super) fn body(
        &self,
        h: &SensuHandler,
        event: &AlertEvent,
    ) -> Result<serde_json::Value, String> {
        if !valid_name(&event.id) {
            return Err(format!(
                "sensu: invalid name {:?}: it must match [\\w.-]+",
                event.id
            ));
        }
        let status = match event.level {
            Level::Ok | Level::Info => 0,
            Level::Warning => 1,
            Level::Critical => 2,
        };
        let mut body = json!({
            "name": event.id,
            "source": pick(&h.source, &self.source),
            "output": event.message,
            "status": status,
        });
        let handlers = pick_list(&h.handlers, &self.handlers);
        if !handlers.is_empty() {
            body["handlers"] = json!(handlers);
        }
        for (k, v) in &h.metadata {
            body[k.as_str()] = value_json(v);
        }
        Ok(body)
    }

    pub(super) fn send(&self, h: &SensuHandler, event: &AlertEvent) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("sensu").into());
        }
        let line = go_json(&self.body(h, event)?) + "\n";
        tcp_send("sensu", &self.addr, line.as_bytes())
    }
}
