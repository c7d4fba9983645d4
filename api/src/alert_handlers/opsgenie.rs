//! `.opsGenie()` / `opsgenie` (API v1) and `.opsGenie2()` / `opsgenie2` (Alert API v2), as
//! Kapacitor's `services/opsgenie` and `services/opsgenie2`.

use super::{
    Failure, HandlerServices, event_data, go_json, invalid, not_enabled, pick, pick_list,
    require_url,
};
use kap_dataflow::alert::{AlertEvent, Level};
use kap_dsl::plan::{OpsGenie2Handler, OpsGenieHandler};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The most characters OpsGenie keeps of a message.
const MESSAGE_MAX: usize = 130;

/// `[opsgenie]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct OpsGenieConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The API key.
    pub api_key: String,
    /// Teams when the handler gives none.
    pub teams: Vec<String>,
    /// Recipients when the handler gives none.
    pub recipients: Vec<String>,
    /// Where alerts are created.
    pub url: String,
    /// Where recoveries close them.
    pub recovery_url: String,
    /// Send every alert, not only those with `.opsGenie()`.
    pub global: bool,
}

impl Default for OpsGenieConfig {
    fn default() -> Self {
        OpsGenieConfig {
            enabled: false,
            api_key: String::new(),
            teams: Vec::new(),
            recipients: Vec::new(),
            url: "https://api.opsgenie.com/v1/json/alert".into(),
            recovery_url: "https://api.opsgenie.com/v1/json/alert/note".into(),
            global: false,
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

impl OpsGenieConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "opsgenie", "url", &self.url)?;
        require_url(self.enabled, "opsgenie", "recovery-url", &self.recovery_url)
    }

    /// The v1 alert (or, for OK, a note on the alert with the same alias), and its URL.
    pub(super) fn request(
        &self,
        h: &OpsGenieHandler,
        event: &AlertEvent,
    ) -> Result<(String, serde_json::Value), String> {
        let mut body = json!({
            "apiKey": self.api_key,
            "alias": event.id,
            "entity": event.id,
            "message": truncate(&event.message, MESSAGE_MAX),
            "description": go_json(&event_data(event)?),
            "source": "kapacitor",
            "details": {"Level": event.level.as_str(), "Monitoring Tool": "Kapacitor"},
        });
        let teams = pick_list(&h.teams, &self.teams);
        if !teams.is_empty() {
            body["teams"] = json!(teams);
        }
        let recipients = pick_list(&h.recipients, &self.recipients);
        if !recipients.is_empty() {
            body["recipients"] = json!(recipients);
        }
        if event.level == Level::Ok {
            body["note"] = json!(event.message);
            return Ok((self.recovery_url.clone(), body));
        }
        Ok((self.url.clone(), body))
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &OpsGenieHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("opsgenie").into());
        }
        let (url, body) = self.request(h, event)?;
        services
            .post("opsgenie", &url, &[], go_json(&body))
            .map(drop)
    }
}

/// `[opsgenie2]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct OpsGenie2Config {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The API key (`Authorization: GenieKey …`).
    pub api_key: String,
    /// Teams when the handler gives none.
    pub teams: Vec<String>,
    /// Users when the handler gives none.
    pub recipients: Vec<String>,
    /// The Alert API URL.
    pub url: String,
    /// What an OK event does: `notes` (add a note) or `close`.
    #[serde(rename = "recovery_action")]
    pub recovery_action: String,
    /// Send every alert, not only those with `.opsGenie2()`.
    pub global: bool,
    /// Send the event's details as the alert's details.
    pub details: bool,
}

impl Default for OpsGenie2Config {
    fn default() -> Self {
        OpsGenie2Config {
            enabled: false,
            api_key: String::new(),
            teams: Vec::new(),
            recipients: Vec::new(),
            url: "https://api.opsgenie.com/v2/alerts".into(),
            recovery_action: "notes".into(),
            global: false,
            details: false,
        }
    }
}

impl OpsGenie2Config {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "opsgenie2", "url", &self.url)?;
        if !matches!(self.recovery_action.as_str(), "notes" | "close") {
            return invalid(
                "opsgenie2",
                "recovery_action",
                "must be \"notes\" or \"close\"",
            );
        }
        Ok(())
    }

    /// The request for an event: a new alert (priority P1 for CRITICAL, P3 for WARNING, P5
    /// for INFO) aliased by the alert id; for OK, a note on that alert or its closing.
    pub(super) fn request(
        &self,
        h: &OpsGenie2Handler,
        event: &AlertEvent,
    ) -> Result<(String, serde_json::Value), String> {
        let base = self.url.trim_end_matches('/');
        let alias = alias(&event.id);
        if event.level == Level::Ok {
            let action = pick(&h.recovery_action, &self.recovery_action);
            let action = if action == "close" { "close" } else { "notes" };
            let url = format!(
                "{base}/{}/{action}?identifierType=alias",
                crate::services::percent_encode(&alias)
            );
            let body = json!({"source": "kapacitor", "user": "kapacitor", "note": event.message});
            return Ok((url, body));
        }
        let priority = match event.level {
            Level::Critical => "P1",
            Level::Warning => "P3",
            _ => "P5",
        };
        let mut responders: Vec<serde_json::Value> = pick_list(&h.teams, &self.teams)
            .iter()
            .map(|t| json!({"type": "team", "name": t}))
            .collect();
        responders.extend(
            pick_list(&h.recipients, &self.recipients)
                .iter()
                .map(|u| json!({"type": "user", "username": u})),
        );
        let mut details = json!({
            "Level": event.level.as_str(),
            "Monitoring Tool": "Kapacitor",
            "Kapacitor Task Name": event.task,
        });
        if self.details && !event.details.is_empty() {
            details["Details"] = json!(event.details);
        }
        let body = json!({
            "message": truncate(&event.message, MESSAGE_MAX),
            "alias": alias,
            "entity": event.id,
            "description": go_json(&event_data(event)?),
            "source": "kapacitor",
            "priority": priority,
            "responders": responders,
            "details": details,
        });
        Ok((base.to_string(), body))
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &OpsGenie2Handler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("opsgenie2").into());
        }
        let (url, body) = self.request(h, event)?;
        let auth = [(
            "Authorization".to_string(),
            format!("GenieKey {}", self.api_key),
        )];
        services
            .post("opsgenie2", &url, &auth, go_json(&body))
            .map(drop)
    }
}

/// OpsGenie's alias (at most 512 characters): the alert id.
fn alias(id: &str) -> String {
    id.chars().take(512).collect()
}
