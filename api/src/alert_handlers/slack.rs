//! `.slack()` and the `slack` topic handler: Slack's incoming webhooks (or `chat.postMessage`
//! with a token), one `[[slack]]` section per workspace, as Kapacitor's `services/slack`.

use super::{Failure, HandlerServices, go_json, not_enabled, pick};
use kap_dataflow::alert::{AlertEvent, Level};
use kap_dsl::plan::SlackHandler;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One `[[slack]]` workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SlackConfig {
    /// Whether alerts may be sent to it.
    pub enabled: bool,
    /// The workspace handlers use when they name none.
    pub default: bool,
    /// Its name, which handlers give with `.workspace()`.
    pub workspace: String,
    /// The incoming webhook URL (or `https://slack.com/api/chat.postMessage` with a token).
    pub url: String,
    /// A bot token, sent as `Authorization: Bearer …` when set.
    pub token: String,
    /// Channel when the handler gives none.
    pub channel: String,
    /// User name shown (default `kapacitor`).
    pub username: String,
    /// Emoji shown as the icon, e.g. `:ghost:`.
    pub icon_emoji: String,
    /// Send every alert here, not only those with `.slack()`.
    pub global: bool,
    /// With `global`: only state changes.
    pub state_changes_only: bool,
    /// PEM certificates to trust instead of the usual roots.
    pub ssl_ca: String,
    /// PEM client certificate chain.
    pub ssl_cert: String,
    /// Its PEM private key.
    pub ssl_key: String,
    /// Accept any server certificate.
    pub insecure_skip_verify: bool,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            enabled: false,
            default: false,
            workspace: String::new(),
            url: String::new(),
            token: String::new(),
            channel: String::new(),
            username: "kapacitor".into(),
            icon_emoji: String::new(),
            global: false,
            state_changes_only: false,
            ssl_ca: String::new(),
            ssl_cert: String::new(),
            ssl_key: String::new(),
            insecure_skip_verify: false,
        }
    }
}

impl super::Named for SlackConfig {
    const SECTION: &'static str = "slack";
    const WHAT: &'static str = "workspace";
    const KEY: &'static str = "workspace";

    fn name(&self) -> &str {
        &self.workspace
    }

    fn is_default(&self) -> bool {
        self.default
    }
}

/// The message Kapacitor posts: one attachment colored by level, `text` empty.
pub(super) fn body(
    c: &SlackConfig,
    h: &SlackHandler,
    message: &str,
    level: Level,
) -> serde_json::Value {
    let color = match level {
        Level::Warning => "warning",
        Level::Critical => "danger",
        _ => "good",
    };
    json!({
        "as_user": false,
        "channel": pick(&h.channel, &c.channel),
        "text": "",
        "attachments": [{
            "fallback": message,
            "color": color,
            "text": message,
            "mrkdwn_in": ["text"],
        }],
        "username": pick(&h.username, &c.username),
        "icon_emoji": pick(&h.icon_emoji, &c.icon_emoji),
    })
}

/// Posts the event's message to the handler's workspace.
pub(super) fn send(
    configs: &[SlackConfig],
    services: &HandlerServices,
    h: &SlackHandler,
    event: &AlertEvent,
) -> Result<(), Failure> {
    let c = super::pick_named(configs, &h.workspace)?;
    if !c.enabled {
        return Err(not_enabled("slack").into());
    }
    let mut headers = Vec::new();
    if !c.token.is_empty() {
        headers.push(("Authorization".to_string(), format!("Bearer {}", c.token)));
    }
    let text = go_json(&body(c, h, &event.message, event.level));
    let answer = services.post_secured("slack", &c.url, &headers, text, c.tls_keys())?;
    // chat.postMessage answers 200 with `{"ok":false,"error":…}` on failure.
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&answer)
        && v["ok"] == false
    {
        return Err(format!(
            "slack: {}",
            v["error"].as_str().unwrap_or("request refused")
        )
        .into());
    }
    Ok(())
}
