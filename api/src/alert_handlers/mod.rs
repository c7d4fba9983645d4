//! Alert handlers: the ones written inline in TICKscript (`.log(path)`, `.post(url)`,
//! `.slack()`…) and the topic handlers of the API run through [`run_handler`], with the
//! service sections of the configuration ([`HandlerServices`]: `[[slack]]`, `[pagerduty2]`…).
//!
//! The engine's alert nodes publish events to an [`AlertSink`] and never wait: this
//! dispatcher queues each event in a bounded channel (like Kapacitor's per-handler buffers)
//! and a background thread performs the I/O, each handler with its own timeout. A full queue
//! drops the event for the handlers and counts it (Kapacitor logs and drops too).

mod alerta;
mod chat;
mod itsm;
mod kafka;
mod mqtt;
mod opsgenie;
pub mod options;
pub mod overrides;
mod pagerduty;
mod pushover;
mod sensu;
pub mod service_tests;
mod slack;
mod smtp;
mod snmptrap;
pub(crate) mod tls;
mod victorops;

#[cfg(test)]
mod tests;

pub use alerta::AlertaConfig;
pub use chat::{DiscordConfig, HipChatConfig, TalkConfig, TeamsConfig, TelegramConfig};
pub use itsm::{BigPandaConfig, ServiceNowConfig, ZenossConfig, ZenossSeverities};
pub use kafka::KafkaConfig;
pub use mqtt::MqttConfig;
pub use opsgenie::{OpsGenie2Config, OpsGenieConfig};
pub use pagerduty::{PagerDuty2Config, PagerDutyConfig};
pub use pushover::PushoverConfig;
pub use sensu::SensuConfig;
pub use slack::SlackConfig;
pub use smtp::SmtpConfig;
pub use snmptrap::SnmpTrapConfig;
pub use victorops::VictorOpsConfig;

use crate::config::is_http_url;
use kap_dataflow::alert::{AlertEvent, AlertSink};
use kap_dataflow::ops::http_post::{EndpointConfig, HttpPoster, PostTls};
use kap_dataflow::template::{Data, Template};
use kap_dsl::plan::HandlerSpec;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default timeout of handlers without one of their own.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Counters of the dispatcher.
#[derive(Debug, Default)]
pub struct HandlerStats {
    /// Events handed to handlers.
    pub handled: AtomicU64,
    /// Handler runs that failed (I/O error, timeout, non-2xx answer).
    pub errors: AtomicU64,
    /// Events dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Handler runs tried again after a failure that may pass.
    pub retried: AtomicU64,
}

/// Queues alert events and runs their inline handlers on a background thread, without
/// retries (the conformance runner; the daemon delivers through its alert center).
#[derive(Debug)]
pub struct HandlerDispatcher {
    queue: crossbeam_channel::Sender<AlertEvent>,
    /// Counters.
    pub stats: Arc<HandlerStats>,
    /// Last error per handler kind (for logs and tests).
    pub last_error: Arc<Mutex<Option<String>>>,
}

impl HandlerDispatcher {
    /// Starts the dispatcher thread; `capacity` events may wait.
    pub fn start(capacity: usize, services: Arc<HandlerServices>) -> HandlerDispatcher {
        let (tx, rx) = crossbeam_channel::bounded::<AlertEvent>(capacity.max(1));
        let stats = Arc::new(HandlerStats::default());
        let last_error = Arc::new(Mutex::new(None));
        let (s, e) = (Arc::clone(&stats), Arc::clone(&last_error));
        let _ = std::thread::Builder::new()
            .name("alert-handlers".into())
            .spawn(move || {
                for event in rx {
                    for h in &event.handlers {
                        s.handled.fetch_add(1, Ordering::Relaxed);
                        if let Err(err) = run_handler(h, &event, &services) {
                            s.errors.fetch_add(1, Ordering::Relaxed);
                            *e.lock().unwrap_or_else(|p| p.into_inner()) = Some(err.message);
                        }
                    }
                }
            });
        HandlerDispatcher {
            queue: tx,
            stats,
            last_error,
        }
    }
}

impl AlertSink for HandlerDispatcher {
    fn publish(&self, event: AlertEvent) {
        if event.handlers.is_empty() {
            return;
        }
        if self.queue.try_send(event).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Why a handler did not deliver an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong, naming the handler's service.
    pub message: String,
    /// Whether trying again later may deliver it: the service could not be reached or
    /// did not answer in time, or it answered 5xx or 429. A refusal (another 4xx, a
    /// configuration error, a bad template) is for good.
    pub transient: bool,
}

impl Failure {
    /// A failure that may pass.
    pub fn transient(message: String) -> Failure {
        Failure {
            message,
            transient: true,
        }
    }

    /// The failure of an HTTP answer with `status`: transient for 5xx and 429.
    fn of_status(status: u16, message: String) -> Failure {
        Failure {
            message,
            transient: status >= 500 || status == 429,
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure {
            message,
            transient: false,
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::from(message.to_string())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Runs one handler for one event.
pub fn run_handler(
    h: &HandlerSpec,
    event: &AlertEvent,
    services: &HandlerServices,
) -> Result<(), Failure> {
    let poster = services.poster.as_ref();
    let c = services.configs();
    match h {
        HandlerSpec::Log(l) => {
            let mut opts = std::fs::OpenOptions::new();
            opts.create(true).append(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(u32::try_from(l.mode).unwrap_or(0o600));
            }
            let mut f = opts
                .open(&l.file_path)
                .map_err(|e| format!("log handler: open {}: {e}", l.file_path))?;
            f.write_all(event.to_json_line()?.as_bytes())
                .map_err(|e| format!("log handler: write {}: {e}", l.file_path).into())
        }
        HandlerSpec::Post(p) if p.url.is_empty() && !p.endpoint.is_empty() => {
            // A named `[[httppost]]` endpoint: its URL, its headers before the handler's own,
            // and its `alert-template` as the body when it has one.
            let e = services.endpoints.get(&p.endpoint).ok_or_else(|| {
                format!(
                    "post handler: no [[httppost]] endpoint {:?} configured",
                    p.endpoint
                )
            })?;
            let mut p = p.clone();
            p.url = e.url.clone();
            p.headers = e.headers.iter().cloned().chain(p.headers).collect();
            let body = match &e.alert_template {
                Some(t) => t
                    .execute(&alert_data(event))
                    .map_err(|err| format!("post handler: alert template: {err}"))?,
                None => event.to_json_line()?,
            };
            post(&p, body, poster)
        }
        HandlerSpec::Post(p) => {
            if p.url.is_empty() {
                return Err("post handler: no url and no endpoint".into());
            }
            post(p, event.to_json_line()?, poster)
        }
        HandlerSpec::Tcp(t) => {
            tcp_send("tcp handler", &t.address, event.to_json_line()?.as_bytes())
        }
        HandlerSpec::Exec(x) => {
            let (prog, args) = x.command.split_first().ok_or("exec handler: no program")?;
            let mut child = Command::new(prog)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("exec handler: start {prog}: {e}"))?;
            if let Some(mut stdin) = child.stdin.take() {
                stdin
                    .write_all(event.to_json_line()?.as_bytes())
                    .map_err(|e| format!("exec handler: write to {prog}: {e}"))?;
            }
            let deadline = Instant::now() + DEFAULT_TIMEOUT;
            loop {
                match child.try_wait().map_err(|e| e.to_string())? {
                    Some(status) if status.success() => return Ok(()),
                    Some(status) => {
                        return Err(format!("exec handler: {prog} exited with {status}").into());
                    }
                    None if Instant::now() > deadline => {
                        let _ = child.kill();
                        return Err(format!(
                            "exec handler: {prog} timed out after {DEFAULT_TIMEOUT:?}"
                        )
                        .into());
                    }
                    None => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }
        HandlerSpec::Slack(h) => slack::send(&c.slack, services, h, event),
        HandlerSpec::PagerDuty(h) => c.pagerduty.send(services, h, event),
        HandlerSpec::PagerDuty2(h) => c.pagerduty2.send(services, h, event),
        HandlerSpec::VictorOps(h) => c.victorops.send(services, h, event),
        HandlerSpec::OpsGenie(h) => c.opsgenie.send(services, h, event),
        HandlerSpec::OpsGenie2(h) => c.opsgenie2.send(services, h, event),
        HandlerSpec::Teams(h) => c.teams.send(services, h, event),
        HandlerSpec::Discord(h) => chat::send_discord(&c.discord, services, h, event),
        HandlerSpec::Telegram(h) => c.telegram.send(services, h, event),
        HandlerSpec::HipChat(h) => c.hipchat.send(services, h, event),
        HandlerSpec::Talk(_) => c.talk.send(services, event),
        HandlerSpec::Pushover(h) => c.pushover.send(services, h, event),
        HandlerSpec::Sensu(h) => c.sensu.send(h, event),
        HandlerSpec::Alerta(h) => c.alerta.send(services, h, event),
        HandlerSpec::Email(h) => c.smtp.send(h, event),
        HandlerSpec::BigPanda(h) => c.bigpanda.send(services, h, event),
        HandlerSpec::ServiceNow(h) => c.servicenow.send(services, h, event),
        HandlerSpec::Zenoss(h) => c.zenoss.send(services, h, event),
        HandlerSpec::Mqtt(h) => services.mqtt_clients.send(&c.mqtt, h, event),
        HandlerSpec::SnmpTrap(h) => c.snmptrap.send(h, event),
        HandlerSpec::Kafka(h) => services.kafka_clients.send(&c.kafka, h, event),
    }
}

/// A post handler's POST of `body`, with its timeout; a non-2xx answer is an error (with
/// the answer's body under `.captureResponse()`).
fn post(
    p: &kap_dsl::plan::PostHandler,
    body: String,
    poster: &dyn HttpPoster,
) -> Result<(), Failure> {
    let timeout = if p.timeout > 0 {
        p.timeout
    } else {
        DEFAULT_TIMEOUT.as_nanos() as i64
    };
    let (status, answer) = poster
        .post(&p.url, &p.headers, body, Some(timeout))
        .map_err(Failure::transient)?;
    if (200..300).contains(&status) {
        Ok(())
    } else if p.capture_response {
        Err(Failure::of_status(
            status,
            format!("post handler: {} answered {status}: {answer}", p.url),
        ))
    } else {
        Err(Failure::of_status(
            status,
            format!("post handler: {} answered {status}", p.url),
        ))
    }
}

/// The alert data templates read (Kapacitor's `AlertData`): `ID`, `Message`, `Details`,
/// `Time`, `Duration`, `Level`, `Data` (`.Data.Series`), `PreviousLevel`, `Recoverable`.
fn alert_data(event: &AlertEvent) -> Data {
    Data::structure([
        ("ID", Data::str(event.id.as_str())),
        ("Message", Data::str(event.message.as_str())),
        ("Details", Data::str(event.details.as_str())),
        ("Time", Data::Time(event.time)),
        ("Duration", Data::Duration(event.duration)),
        ("Level", Data::str(event.level.as_str())),
        ("Data", event.data.template_data()),
        ("PreviousLevel", Data::str(event.previous_level.as_str())),
        ("Recoverable", Data::Bool(event.recoverable)),
    ])
}

/// What handlers deliver with: the HTTP client (with its blacklist), the `[[httppost]]`
/// endpoints, this daemon's URL, and the configuration of every alert service.
#[derive(Debug, Clone)]
pub struct HandlerServices {
    poster: Arc<dyn HttpPoster>,
    endpoints: kap_dataflow::ops::http_post::Endpoints,
    /// This daemon's URL (`http://hostname:port`), sent as PagerDuty's `client_url`.
    kapacitor_url: String,
    /// The MQTT brokers' connections, made on first use.
    mqtt_clients: Arc<mqtt::MqttClients>,
    /// The Kafka clusters' clients, made on first use.
    kafka_clients: Arc<kafka::KafkaClients>,
    /// The configured services: the configuration file's sections, with the overrides
    /// made through the API (swapped whole, so a handler run sees one state).
    configs: Arc<std::sync::RwLock<Arc<ServiceConfigs>>>,
    /// The HTTPS settings of the sections' TLS keys, their PEM files read once (as
    /// Kapacitor reads them when a section is configured), until the sections change.
    post_tls: Arc<Mutex<HashMap<TlsKeysOwned, Option<PostTls>>>>,
}

/// A section's TLS keys, owned: `ssl-ca`, `ssl-cert`, `ssl-key`, `insecure-skip-verify`.
type TlsKeysOwned = (String, String, String, bool);

impl HandlerServices {
    /// Services delivering through `poster`, with no service configured but the
    /// `[[httppost]]` endpoints given.
    pub fn new(
        poster: Arc<dyn HttpPoster>,
        endpoints: BTreeMap<String, EndpointConfig>,
    ) -> HandlerServices {
        HandlerServices {
            poster,
            endpoints: kap_dataflow::ops::http_post::Endpoints::new(endpoints),
            kapacitor_url: "http://localhost:9092".into(),
            mqtt_clients: Arc::default(),
            kafka_clients: Arc::default(),
            configs: Arc::default(),
            post_tls: Arc::default(),
        }
    }

    /// Services posting with a plain client: no blacklist, no endpoint, no service
    /// configured (tests, the conformance runner).
    pub fn unconfigured() -> HandlerServices {
        HandlerServices::new(
            Arc::new(crate::services::UreqPoster::default()),
            BTreeMap::new(),
        )
    }

    /// With these service configurations.
    pub fn with_configs(self, configs: ServiceConfigs) -> HandlerServices {
        self.set_configs(configs);
        self
    }

    /// With `endpoints` (shared with the httpPost nodes, so a change reaches both).
    pub fn with_endpoints(mut self, endpoints: kap_dataflow::ops::http_post::Endpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// The services' configurations now.
    pub fn configs(&self) -> Arc<ServiceConfigs> {
        Arc::clone(&self.configs.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Replaces the services' configurations (an override through the API).
    pub fn set_configs(&self, configs: ServiceConfigs) {
        *self.configs.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(configs);
        // Files named again are read again (a certificate replaced, then re-applied).
        self.post_tls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// With this daemon's URL.
    pub fn with_url(mut self, url: String) -> HandlerServices {
        self.kapacitor_url = url;
        self
    }

    /// The HTTPS settings of `keys` ([`tls::post_tls`]), read on first use and kept; a file
    /// that does not do is read again next time.
    fn tls_of(&self, keys: tls::TlsKeys<'_>) -> Result<Option<PostTls>, (String, String)> {
        let owned: TlsKeysOwned = (
            keys.ca.to_string(),
            keys.cert.to_string(),
            keys.key.to_string(),
            keys.insecure,
        );
        let mut cache = self.post_tls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tls) = cache.get(&owned) {
            return Ok(tls.clone());
        }
        let tls = tls::post_tls(keys)?;
        cache.insert(owned, tls.clone());
        Ok(tls)
    }

    /// POSTs `body` to `url` and checks for a 2xx answer; `service` names it in errors.
    fn post(
        &self,
        service: &str,
        url: &str,
        headers: &[(String, String)],
        body: String,
    ) -> Result<String, Failure> {
        self.post_secured(service, url, headers, body, tls::TlsKeys::insecure(false))
    }

    /// [`HandlerServices::post`] with the HTTPS settings of the section's TLS keys (none when
    /// no key is set: the usual roots).
    fn post_secured(
        &self,
        service: &str,
        url: &str,
        headers: &[(String, String)],
        body: String,
        keys: tls::TlsKeys<'_>,
    ) -> Result<String, Failure> {
        let tls = self
            .tls_of(keys)
            .map_err(|(key, why)| format!("{service}: {key}: {why}"))?;
        let timeout = Some(DEFAULT_TIMEOUT.as_nanos() as i64);
        let sent = match &tls {
            Some(tls) => self.poster.post_tls(url, headers, body, timeout, tls),
            None => self.poster.post(url, headers, body, timeout),
        };
        let (status, answer) = sent.map_err(|e| Failure::transient(format!("{service}: {e}")))?;
        if (200..300).contains(&status) {
            Ok(answer)
        } else {
            Err(Failure::of_status(
                status,
                format!("{service}: {url} answered {status}: {}", answer.trim()),
            ))
        }
    }
}

/// The alert services' sections of the configuration (Kapacitor's names and defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceConfigs {
    /// `[[slack]]` (or one `[slack]`): workspaces.
    #[serde(deserialize_with = "one_or_many")]
    pub slack: Vec<SlackConfig>,
    /// `[pagerduty]`: Events API v1.
    pub pagerduty: PagerDutyConfig,
    /// `[pagerduty2]`: Events API v2.
    pub pagerduty2: PagerDuty2Config,
    /// `[victorops]`.
    pub victorops: VictorOpsConfig,
    /// `[opsgenie]`: API v1.
    pub opsgenie: OpsGenieConfig,
    /// `[opsgenie2]`: API v2.
    pub opsgenie2: OpsGenie2Config,
    /// `[teams]`.
    pub teams: TeamsConfig,
    /// `[[discord]]` (or one `[discord]`): workspaces.
    #[serde(deserialize_with = "one_or_many")]
    pub discord: Vec<DiscordConfig>,
    /// `[telegram]`.
    pub telegram: TelegramConfig,
    /// `[hipchat]`.
    pub hipchat: HipChatConfig,
    /// `[talk]`.
    pub talk: TalkConfig,
    /// `[pushover]`.
    pub pushover: PushoverConfig,
    /// `[sensu]`.
    pub sensu: SensuConfig,
    /// `[alerta]`.
    pub alerta: AlertaConfig,
    /// `[smtp]`.
    pub smtp: SmtpConfig,
    /// `[bigpanda]`.
    pub bigpanda: BigPandaConfig,
    /// `[servicenow]`.
    pub servicenow: ServiceNowConfig,
    /// `[zenoss]`.
    pub zenoss: ZenossConfig,
    /// `[[mqtt]]` (or one `[mqtt]`): brokers.
    #[serde(deserialize_with = "one_or_many")]
    pub mqtt: Vec<MqttConfig>,
    /// `[snmptrap]`.
    pub snmptrap: SnmpTrapConfig,
    /// `[[kafka]]` (or one `[kafka]`): clusters.
    #[serde(deserialize_with = "one_or_many")]
    pub kafka: Vec<KafkaConfig>,
}

impl ServiceConfigs {
    /// Checks every enabled service, naming the section and key at fault.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let tls = |section: String, enabled: bool, keys: tls::TlsKeys<'_>| match enabled {
            true => tls::post_tls(keys)
                .map(drop)
                .or_else(|(key, why)| invalid(&section, &key, &why)),
            false => Ok(()),
        };
        for (i, c) in self.slack.iter().enumerate() {
            require_url(c.enabled, &format!("slack[{i}]"), "url", &c.url)?;
            tls(format!("slack[{i}]"), c.enabled, c.tls_keys())?;
        }
        validate_named(&self.slack)?;
        for (i, c) in self.discord.iter().enumerate() {
            require_url(c.enabled, &format!("discord[{i}]"), "url", &c.url)?;
            tls(format!("discord[{i}]"), c.enabled, c.tls_keys())?;
        }
        validate_named(&self.discord)?;
        mqtt::validate(&self.mqtt)?;
        kafka::validate(&self.kafka)?;
        self.pagerduty.validate()?;
        self.pagerduty2.validate()?;
        self.victorops.validate()?;
        self.opsgenie.validate()?;
        self.opsgenie2.validate()?;
        self.teams.validate()?;
        self.telegram.validate()?;
        self.hipchat.validate()?;
        self.talk.validate()?;
        self.pushover.validate()?;
        self.sensu.validate()?;
        self.alerta.validate()?;
        self.bigpanda.validate()?;
        self.servicenow.validate()?;
        self.zenoss.validate()?;
        self.snmptrap.validate()?;
        self.smtp.validate()
    }

    /// The services configured `global = true`, as the handlers an alert gets when it has
    /// none of that kind (Kapacitor attaches them to every alert node), and whether a global
    /// one also asks for `state-changes-only` (which then applies to the whole alert).
    pub fn globals(&self) -> Vec<(HandlerSpec, bool)> {
        use HandlerSpec as H;
        let slack = default_of(&self.slack);
        let discord = default_of(&self.discord);
        // (enabled, global, state-changes-only, handler) of each service that has `global`.
        let services = [
            (
                slack.is_some_and(|c| c.enabled),
                slack.is_some_and(|c| c.global),
                slack.is_some_and(|c| c.state_changes_only),
                H::Slack(Default::default()),
            ),
            (
                discord.is_some_and(|c| c.enabled),
                discord.is_some_and(|c| c.global),
                discord.is_some_and(|c| c.state_changes_only),
                H::Discord(Default::default()),
            ),
            (
                self.pagerduty.enabled,
                self.pagerduty.global,
                false,
                H::PagerDuty(Default::default()),
            ),
            (
                self.pagerduty2.enabled,
                self.pagerduty2.global,
                false,
                H::PagerDuty2(Default::default()),
            ),
            (
                self.victorops.enabled,
                self.victorops.global,
                false,
                H::VictorOps(Default::default()),
            ),
            (
                self.opsgenie.enabled,
                self.opsgenie.global,
                false,
                H::OpsGenie(Default::default()),
            ),
            (
                self.opsgenie2.enabled,
                self.opsgenie2.global,
                false,
                H::OpsGenie2(Default::default()),
            ),
            (
                self.teams.enabled,
                self.teams.global,
                self.teams.state_changes_only,
                H::Teams(Default::default()),
            ),
            (
                self.telegram.enabled,
                self.telegram.global,
                self.telegram.state_changes_only,
                H::Telegram(Default::default()),
            ),
            (
                self.hipchat.enabled,
                self.hipchat.global,
                self.hipchat.state_changes_only,
                H::HipChat(Default::default()),
            ),
            (
                self.smtp.enabled,
                self.smtp.global,
                self.smtp.state_changes_only,
                H::Email(Default::default()),
            ),
            (
                self.bigpanda.enabled,
                self.bigpanda.global,
                self.bigpanda.state_changes_only,
                H::BigPanda(Default::default()),
            ),
            (
                self.servicenow.enabled,
                self.servicenow.global,
                self.servicenow.state_changes_only,
                H::ServiceNow(Default::default()),
            ),
            (
                self.zenoss.enabled,
                self.zenoss.global,
                self.zenoss.state_changes_only,
                H::Zenoss(Default::default()),
            ),
        ];
        services
            .into_iter()
            .filter(|(enabled, global, _, _)| *enabled && *global)
            .map(|(_, _, state_changes_only, h)| (h, state_changes_only))
            .collect()
    }
}

/// A section written once (`[slack]`) or as an array (`[[slack]]`); errors inside are the
/// section's own (the key and its line), not a failed guess between the two forms.
pub(crate) fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Visitor<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a table or an array of tables")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Vec<T>, A::Error> {
            Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Vec<T>, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|t| vec![t])
        }
    }
    d.deserialize_any(Visitor(std::marker::PhantomData))
}

/// Go's `json.Marshal` of a JSON value: serde_json's text with `<`, `>`, `&`, U+2028 and
/// U+2029 escaped as Go escapes them (they only occur inside strings).
fn go_json(v: &serde_json::Value) -> String {
    let text = serde_json::to_string(v).expect("a JSON value serializes");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// The template data of an event, for the services whose options are templates:
/// `ID`, `Name`, `TaskName`, `Group`, `Tags`, `Fields`, `Level`, `Message`, `Details`.
fn template_data(event: &AlertEvent) -> Data {
    let tags = event
        .tags
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
        .collect();
    let fields = event
        .fields
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), Data::from(v)))
        .collect();
    Data::structure([
        ("ID", Data::str(event.id.as_str())),
        ("Name", Data::str(event.name.as_str())),
        ("TaskName", Data::str(event.task.as_str())),
        ("Group", Data::str(event.group_id.as_str())),
        ("Tags", Data::StringMap(tags)),
        ("Fields", Data::Map(fields)),
        ("Level", Data::str(event.level.as_str())),
        ("Message", Data::str(event.message.as_str())),
        ("Details", Data::str(event.details.as_str())),
    ])
}

/// Renders option `what` of `service`, `text` (or `default` when empty), as a Go template
/// over `data`.
fn render(
    service: &str,
    what: &str,
    text: &str,
    default: &str,
    data: &Data,
) -> Result<String, String> {
    let text = if text.is_empty() { default } else { text };
    Template::parse(what, text)
        .and_then(|t| t.execute(data))
        .map_err(|e| format!("{service}: {what} template: {e}"))
}

/// The handler's own value, or its service section's when the handler leaves it empty.
fn pick<'a>(own: &'a str, default: &'a str) -> &'a str {
    if own.is_empty() { default } else { own }
}

/// [`pick`] for lists (teams, recipients, Sensu handlers).
fn pick_list<'a, T>(own: &'a [T], default: &'a [T]) -> &'a [T] {
    if own.is_empty() { default } else { own }
}

/// A TICKscript value (handler metadata, attributes) as JSON.
fn value_json(v: &kap_dsl::value::Value) -> serde_json::Value {
    use kap_dsl::value::Value;
    match v {
        Value::Int(i) | Value::Duration(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Value::from(*f),
        Value::Bool(b) => serde_json::Value::from(*b),
        Value::String(s) | Value::Regex(s) => serde_json::Value::from(s.as_str()),
        Value::List(items) => items.iter().map(value_json).collect(),
        other => serde_json::Value::from(format!("{other:?}")),
    }
}

/// The event's data (`{"series":[…]}`) as a JSON value.
fn event_data(event: &AlertEvent) -> Result<serde_json::Value, String> {
    let text = event.data.to_json()?;
    serde_json::from_str(&text).map_err(|e| format!("the event's data as JSON: {e}"))
}

/// A `(section, key)` error of a service's configuration.
fn invalid(section: &str, key: &str, message: &str) -> Result<(), (String, String)> {
    Err((format!("{section}.{key}"), message.to_string()))
}

/// An element of a list section that handlers pick by name: a Slack or Discord workspace,
/// an MQTT broker.
trait Named {
    /// The section (`slack`).
    const SECTION: &'static str;
    /// What an element is (`workspace`).
    const WHAT: &'static str;
    /// The option naming it (`workspace`, `name`).
    const KEY: &'static str;
    /// Its name.
    fn name(&self) -> &str;
    /// Whether handlers that name none use it.
    fn is_default(&self) -> bool;
}

/// The element used when a handler names none: the default one, or the only one.
fn default_of<T: Named>(configs: &[T]) -> Option<&T> {
    configs
        .iter()
        .find(|c| c.is_default())
        .or_else(|| (configs.len() == 1).then(|| &configs[0]))
}

/// The element named `name`, or the default one when `name` is empty.
fn pick_named<'a, T: Named>(configs: &'a [T], name: &str) -> Result<&'a T, String> {
    let (section, what) = (T::SECTION, T::WHAT);
    if name.is_empty() {
        return default_of(configs)
            .ok_or_else(|| format!("no default [[{section}]] {what} is configured"));
    }
    configs
        .iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| format!("no [[{section}]] {what} {name:?} is configured"))
}

/// Checks a list section's names: with several elements, each named and distinct, and at
/// most one the default.
fn validate_named<T: Named>(configs: &[T]) -> Result<(), (String, String)> {
    let (section, key) = (T::SECTION, T::KEY);
    let mut names = std::collections::BTreeSet::new();
    for (i, c) in configs.iter().enumerate() {
        let at = format!("{section}[{i}]");
        if configs.len() > 1 && c.name().is_empty() {
            let why = format!("must be set when there are several [[{section}]] sections");
            return invalid(&at, key, &why);
        }
        if !names.insert(c.name()) {
            return invalid(
                &at,
                key,
                &format!("is used by another [[{section}]] section"),
            );
        }
    }
    if configs.iter().filter(|c| c.is_default()).count() > 1 {
        let why = format!("only one [[{section}]] section may be the default");
        return invalid(section, "default", &why);
    }
    Ok(())
}

/// An enabled service's `key` must be an http(s) URL.
fn require_url(enabled: bool, section: &str, key: &str, url: &str) -> Result<(), (String, String)> {
    if enabled && !is_http_url(url) {
        return invalid(section, key, "must be an http(s) URL when enabled");
    }
    Ok(())
}

/// Sends `bytes` over a new TCP connection to `address` (`service` names it in errors).
fn tcp_send(service: &str, address: &str, bytes: &[u8]) -> Result<(), Failure> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        Failure::transient(format!("{service}: {what} {address}: {e}"))
    };
    let addr = address
        .to_socket_addrs()
        .map_err(|e| failed("resolve", &e))?
        .next()
        .ok_or_else(|| Failure::transient(format!("{service}: {address} resolves to nothing")))?;
    let mut s =
        TcpStream::connect_timeout(&addr, DEFAULT_TIMEOUT).map_err(|e| failed("connect", &e))?;
    s.set_write_timeout(Some(DEFAULT_TIMEOUT))
        .map_err(|e| failed("write to", &e))?;
    s.write_all(bytes).map_err(|e| failed("write", &e))
}

/// The error of an option that is not among `known`.
fn unknown_option<'a>(place: &str, key: &str, known: impl Iterator<Item = &'a str>) -> String {
    let mut known: Vec<&str> = known.collect();
    known.sort_unstable();
    format!(
        "{place}unknown option {key:?} (options: {})",
        known.join(", ")
    )
}

/// The error of a service that is not enabled.
fn not_enabled(section: &str) -> String {
    format!("the [{section}] service is not enabled")
}
