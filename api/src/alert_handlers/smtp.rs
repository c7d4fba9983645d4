//! `.email()` / `smtp`: alert mail, as Kapacitor's `services/smtp`: the message as subject,
//! the details (HTML) as body. Port 465 speaks TLS from the start; other ports upgrade with
//! STARTTLS when the server offers it.

use super::{Failure, invalid, not_enabled};
use kap_dataflow::alert::AlertEvent;
use kap_dsl::plan::EmailHandler;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[smtp]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SmtpConfig {
    /// Whether mail may be sent.
    pub enabled: bool,
    /// The SMTP server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// User name to log in with (none: no login).
    pub username: String,
    /// Password to log in with.
    pub password: String,
    /// Skip the server certificate's check.
    pub no_verify: bool,
    /// Mail every alert, not only those with `.email()`.
    pub global: bool,
    /// With `global`: only state changes.
    pub state_changes_only: bool,
    /// Sender address.
    pub from: String,
    /// Recipients when the handler gives none.
    pub to: Vec<String>,
    /// How long an idle connection is kept.
    #[serde(with = "crate::config::go_duration_serde")]
    pub idle_timeout: Duration,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            enabled: false,
            host: "localhost".into(),
            port: 25,
            username: String::new(),
            password: String::new(),
            no_verify: false,
            global: false,
            state_changes_only: false,
            from: String::new(),
            to: Vec::new(),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

impl SmtpConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        if !self.enabled {
            return Ok(());
        }
        if self.host.is_empty() {
            return invalid("smtp", "host", "must be set when enabled");
        }
        if self.port == 0 {
            return invalid("smtp", "port", "must be set when enabled");
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return invalid("smtp", "from", "must be a mail address when enabled");
        }
        Ok(())
    }

    /// The mail of an event, to the handler's recipients (or the configured ones).
    pub(super) fn message(&self, h: &EmailHandler, event: &AlertEvent) -> Result<Message, String> {
        let to = if h.to.is_empty() { &self.to } else { &h.to };
        if to.is_empty() {
            return Err("smtp: no recipients (set [smtp] to or .email(...))".into());
        }
        let mut b = Message::builder()
            .from(
                self.from
                    .parse()
                    .map_err(|e| format!("smtp: from {:?}: {e}", self.from))?,
            )
            .subject(event.message.clone())
            .header(ContentType::TEXT_HTML);
        for t in to {
            b = b.to(t.parse().map_err(|e| format!("smtp: to {t:?}: {e}"))?);
        }
        b.body(event.details.clone())
            .map_err(|e| format!("smtp: building the mail: {e}"))
    }

    pub(super) fn send(&self, h: &EmailHandler, event: &AlertEvent) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("smtp").into());
        }
        let mail = self.message(h, event)?;
        let tls = TlsParameters::builder(self.host.clone())
            .dangerous_accept_invalid_certs(self.no_verify)
            .build()
            .map_err(|e| format!("smtp: TLS settings: {e}"))?;
        let mut t = SmtpTransport::builder_dangerous(&self.host)
            .port(self.port)
            .timeout(Some(super::DEFAULT_TIMEOUT))
            .tls(if self.port == 465 {
                Tls::Wrapper(tls)
            } else {
                Tls::Opportunistic(tls)
            });
        if !self.username.is_empty() {
            t = t.credentials(Credentials::new(
                self.username.clone(),
                self.password.clone(),
            ));
        }
        t.build().send(&mail).map(drop).map_err(|e| Failure {
            // A server's permanent refusal (5xx) is for good; the rest may pass.
            transient: !e.is_permanent(),
            message: format!("smtp: sending to {}:{}: {e}", self.host, self.port),
        })
    }
}
