//! `.pushover()` / `pushover`: Pushover's message API (a form post), as Kapacitor's
//! `services/pushover`.

use super::{Failure, HandlerServices, invalid, not_enabled, pick, require_url};
use kap_dataflow::alert::{AlertEvent, Level};
use kap_dsl::plan::PushoverHandler;
use serde::{Deserialize, Serialize};

/// `[pushover]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct PushoverConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The application's API token.
    pub token: String,
    /// The user (or group) key when the handler gives none.
    pub user_key: String,
    /// The messages API URL.
    pub url: String,
}

impl Default for PushoverConfig {
    fn default() -> Self {
        PushoverConfig {
            enabled: false,
            token: String::new(),
            user_key: String::new(),
            url: "https://api.pushover.net/1/messages.json".into(),
        }
    }
}

impl PushoverConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "pushover", "url", &self.url)?;
        if self.enabled && self.token.is_empty() {
            return invalid("pushover", "token", "must be set when enabled");
        }
        Ok(())
    }

    /// The form: priority 1 for CRITICAL, 0 for WARNING, -1 for INFO, -2 for OK, and the
    /// handler's optional fields, keys sorted (Go's `url.Values.Encode`).
    pub(super) fn form(&self, h: &PushoverHandler, event: &AlertEvent) -> String {
        let priority = match event.level {
            Level::Critical => "1",
            Level::Warning => "0",
            Level::Info => "-1",
            Level::Ok => "-2",
        };
        let user = pick(&h.user_key, &self.user_key);
        let timestamp = event.time.div_euclid(1_000_000_000).to_string();
        let mut pairs: Vec<(&str, &str)> = vec![
            ("token", &self.token),
            ("user", user),
            ("message", &event.message),
            ("priority", priority),
            ("timestamp", &timestamp),
        ];
        for (k, v) in [
            ("device", &h.device),
            ("title", &h.title),
            ("url", &h.url),
            ("url_title", &h.url_title),
            ("sound", &h.sound),
        ] {
            if !v.is_empty() {
                pairs.push((k, v));
            }
        }
        pairs.sort_by_key(|(k, _)| *k);
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", kap_dataflow::gofmt::query_escape(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &PushoverHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("pushover").into());
        }
        let headers = [(
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        )];
        services
            .post("pushover", &self.url, &headers, self.form(h, event))
            .map(drop)
    }
}
