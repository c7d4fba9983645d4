//! Chat services: `.teams()`, `.discord()`, `.telegram()`, `.hipChat()` and `.talk()` (and
//! their topic-handler kinds), as Kapacitor's `services/{teams,discord,telegram,hipchat,talk}`.

use super::{Failure, HandlerServices, go_json, invalid, not_enabled, pick, require_url};
use kap_dataflow::alert::{AlertEvent, Level};
use kap_dataflow::gofmt;
use kap_dsl::plan::{DiscordHandler, HipChatHandler, TeamsHandler, TelegramHandler};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// `[teams]`: Microsoft Teams incoming webhooks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TeamsConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The channel's webhook URL when the handler gives none.
    pub channel_url: String,
    /// Send every alert, not only those with `.teams()`.
    pub global: bool,
    /// With `global`: only state changes.
    pub state_changes_only: bool,
}

impl TeamsConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        // A channel URL may be left to each handler.
        let set = !self.channel_url.is_empty();
        require_url(
            self.enabled && set,
            "teams",
            "channel-url",
            &self.channel_url,
        )
    }

    /// A message card colored by level.
    pub(super) fn body(event: &AlertEvent) -> serde_json::Value {
        let color = match event.level {
            Level::Critical => "CC4A31",
            Level::Warning => "EDB747",
            Level::Info => "0078D7",
            Level::Ok => "4F9C35",
        };
        json!({
            "@type": "MessageCard",
            "@context": "http://schema.org/extensions",
            "themeColor": color,
            "summary": event.id,
            "title": format!("{}: {}", event.level, event.id),
            "text": event.message,
        })
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &TeamsHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("teams").into());
        }
        let url = pick(&h.channel_url, &self.channel_url);
        if url.is_empty() {
            return Err("teams: no channel URL (set [teams] channel-url or .channelURL())".into());
        }
        services
            .post("teams", url, &[], go_json(&Self::body(event)))
            .map(drop)
    }
}

/// One `[[discord]]` workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct DiscordConfig {
    /// Whether alerts may be sent to it.
    pub enabled: bool,
    /// The workspace handlers use when they name none.
    pub default: bool,
    /// Its name, which handlers give with `.workspace()`.
    pub workspace: String,
    /// The webhook URL.
    pub url: String,
    /// Add the event's time to the embed.
    pub timestamp: bool,
    /// User name shown (default `Kapacitor`).
    pub username: String,
    /// Avatar shown.
    pub avatar_url: String,
    /// Title of the embed.
    pub embed_title: String,
    /// Send every alert here, not only those with `.discord()`.
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

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            enabled: false,
            default: false,
            workspace: String::new(),
            url: String::new(),
            timestamp: false,
            username: "Kapacitor".into(),
            avatar_url: String::new(),
            embed_title: String::new(),
            global: false,
            state_changes_only: false,
            ssl_ca: String::new(),
            ssl_cert: String::new(),
            ssl_key: String::new(),
            insecure_skip_verify: false,
        }
    }
}

impl super::Named for DiscordConfig {
    const SECTION: &'static str = "discord";
    const WHAT: &'static str = "workspace";
    const KEY: &'static str = "workspace";

    fn name(&self) -> &str {
        &self.workspace
    }

    fn is_default(&self) -> bool {
        self.default
    }
}

/// The webhook message: one embed colored by level.
pub(super) fn discord_body(
    c: &DiscordConfig,
    h: &DiscordHandler,
    event: &AlertEvent,
) -> serde_json::Value {
    let color = match event.level {
        Level::Critical => 0xF95F53,
        Level::Warning => 0xEFB73E,
        Level::Info => 0x00B2FF,
        Level::Ok => 0x6CC644,
    };
    let mut embed = json!({
        "color": color,
        "title": pick(&h.embed_title, &c.embed_title),
        "description": event.message,
    });
    if c.timestamp {
        embed["timestamp"] = json!(gofmt::format_time_rfc3339nano(event.time));
    }
    json!({
        "username": pick(&h.username, &c.username),
        "avatar_url": pick(&h.avatar_url, &c.avatar_url),
        "embeds": [embed],
    })
}

/// Posts the event to the handler's Discord workspace.
pub(super) fn send_discord(
    configs: &[DiscordConfig],
    services: &HandlerServices,
    h: &DiscordHandler,
    event: &AlertEvent,
) -> Result<(), Failure> {
    let c = super::pick_named(configs, &h.workspace)?;
    if !c.enabled {
        return Err(not_enabled("discord").into());
    }
    services
        .post_secured(
            "discord",
            &c.url,
            &[],
            go_json(&discord_body(c, h, event)),
            c.tls_keys(),
        )
        .map(drop)
}

/// `[telegram]`: the Bot API's `sendMessage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TelegramConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The Bot API URL; the token and `/sendMessage` are appended.
    pub url: String,
    /// The bot's token.
    pub token: String,
    /// Chat when the handler gives none.
    pub chat_id: String,
    /// `Markdown` or `HTML`, or empty for plain text.
    pub parse_mode: String,
    /// Do not preview links.
    pub disable_web_page_preview: bool,
    /// Send silently.
    pub disable_notification: bool,
    /// Send every alert, not only those with `.telegram()`.
    pub global: bool,
    /// With `global`: only state changes.
    pub state_changes_only: bool,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            enabled: false,
            url: "https://api.telegram.org/bot".into(),
            token: String::new(),
            chat_id: String::new(),
            parse_mode: String::new(),
            disable_web_page_preview: false,
            disable_notification: false,
            global: false,
            state_changes_only: false,
        }
    }
}

/// Telegram's parse modes, as Kapacitor accepts them (any case).
fn parse_mode(mode: &str) -> Result<Option<&'static str>, String> {
    match mode.to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "markdown" => Ok(Some("Markdown")),
        "html" => Ok(Some("HTML")),
        _ => Err(format!(
            "telegram: parse mode {mode:?} is not Markdown or HTML"
        )),
    }
}

impl TelegramConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "telegram", "url", &self.url)?;
        if self.enabled && self.token.is_empty() {
            return invalid("telegram", "token", "must be set when enabled");
        }
        if let Err(e) = parse_mode(&self.parse_mode) {
            return invalid("telegram", "parse-mode", &e);
        }
        Ok(())
    }

    /// The `sendMessage` request.
    pub(super) fn body(
        &self,
        h: &TelegramHandler,
        event: &AlertEvent,
    ) -> Result<serde_json::Value, String> {
        let mut body = json!({
            "chat_id": pick(&h.chat_id, &self.chat_id),
            "text": event.message,
        });
        if let Some(mode) = parse_mode(pick(&h.parse_mode, &self.parse_mode))? {
            body["parse_mode"] = json!(mode);
        }
        if h.disable_web_page_preview || self.disable_web_page_preview {
            body["disable_web_page_preview"] = json!(true);
        }
        if h.disable_notification || self.disable_notification {
            body["disable_notification"] = json!(true);
        }
        Ok(body)
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &TelegramHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("telegram").into());
        }
        let url = format!("{}{}/sendMessage", self.url, self.token);
        let body = go_json(&self.body(h, event)?);
        services.post("telegram", &url, &[], body).map(drop)
    }
}

/// `[hipchat]`: room notifications (API v2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct HipChatConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The rooms API URL, e.g. `https://subdomain.hipchat.com/v2/room`.
    pub url: String,
    /// Room when the handler gives none.
    pub room: String,
    /// Token when the handler gives none.
    pub token: String,
    /// Send every alert, not only those with `.hipChat()`.
    pub global: bool,
    /// With `global`: only state changes.
    pub state_changes_only: bool,
}

impl Default for HipChatConfig {
    fn default() -> Self {
        HipChatConfig {
            enabled: false,
            url: "https://subdomain.hipchat.com/v2/room".into(),
            room: String::new(),
            token: String::new(),
            global: false,
            state_changes_only: false,
        }
    }
}

impl HipChatConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "hipchat", "url", &self.url)?;
        Ok(())
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        h: &HipChatHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("hipchat").into());
        }
        let color = match event.level {
            Level::Critical => "red",
            Level::Warning => "yellow",
            Level::Info => "gray",
            Level::Ok => "green",
        };
        let url = format!(
            "{}/{}/notification?auth_token={}",
            self.url.trim_end_matches('/'),
            pick(&h.room, &self.room),
            pick(&h.token, &self.token)
        );
        let body = json!({"message": event.message, "color": color, "notify": true});
        services
            .post("hipchat", &url, &[], go_json(&body))
            .map(drop)
    }
}

/// `[talk]`: Talk's incoming webhooks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TalkConfig {
    /// Whether alerts may be sent.
    pub enabled: bool,
    /// The webhook URL.
    pub url: String,
    /// The author shown.
    pub author_name: String,
}

impl TalkConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        require_url(self.enabled, "talk", "url", &self.url)?;
        Ok(())
    }

    pub(super) fn send(
        &self,
        services: &HandlerServices,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("talk").into());
        }
        let body =
            json!({"title": event.id, "text": event.message, "authorName": self.author_name});
        services
            .post("talk", &self.url, &[], go_json(&body))
            .map(drop)
    }
}
