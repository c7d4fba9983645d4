//! `.victorOps()` / `victorops`: VictorOps' REST integration, as Kapacitor's
//! `services/victorops`.

use super::{Failure, HandlerServices, event_data, go_json, not_enabled, pick, require_url};
use kap_dataflow::alert::{AlertEvent, Level};
use kap_dsl::plan::VictorOpsHandler;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// `[victorops]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct VictorOpsConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The REST integration's API key.
    pub api_key: String,
    /// Routing key when the handler gives none.
    pub routing_key: String,
    /// The REST integration's URL (the API key and routing key are appended).
    pub url: String,
    /// Send the event's data as JSON rather than as a string of JSON.
    pub json_data: bool,
    /// Send every alert, not only those with `.victorOps()`.
    pub global: bool,
}

impl Default for VictorOpsConfig {
    fn default() -> Self {
        VictorOpsConfig {
            enabled: false,
            api_key: String::new(),
            routing_key: String::new(),
            url: "https://alert.victorops.com/integrations/generic/20131114/alert".into(),
            json_data: false,
            global: false,
        }
    }
}

impl VictorOpsConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "victorops", "url", &self.url)?;
        Ok(())
    }

    /// Where the event goes: `url/api-key/routing-key`.
    pub(super) fn target(&self, h: &VictorOpsHandler) -> String {
        let key = pick(&h.routing_key, &self.routing_key);
        format!(
            "{}/{}/{}",
            self.url.trim_end_matches('/'),
            self.api_key,
            key
        )
    }

    /// The event: the level as message type (OK is `RECOVERY`), the alert id as entity.
    pub(super) fn body(&self, event: &AlertEvent) -> Result<serde_json::Value, String> {
        let message_type = match event.level {
            Level::Ok => "RECOVERY",
            level => level.as_str(),
        };
        let data = event_data(event)?;
        Ok(json!({
            "message_type": message_type,
            "entity_id": event.id,
            "state_message": event.message,
            "timestamp": event.time.div_euclid(1_000_000_000),
            "monitoring_tool": "kapacitor",
            "data": if self.json_data { data } else { json!(go_json(&data)) },
        }))
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &VictorOpsHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("victorops").into());
        }
        let body = go_json(&self.body(event)?) + "\n";
        services
            .post("victorops", &self.target(h), &[], body)
            .map(drop)
    }
}
