//! `.mqtt(topic)` / `mqtt`: the alert message published to an MQTT broker, as Kapacitor's
//! `services/mqtt`: one `[[mqtt]]` section per broker, one lasting connection each (made on
//! the first alert, reconnected by its own thread).

use super::{Failure, invalid, not_enabled};
use kap_dataflow::alert::AlertEvent;
use kap_dsl::plan::MqttHandler;
use rumqttc::{Client, MqttOptions, QoS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// One `[[mqtt]]` broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct MqttConfig {
    /// Whether alerts may be published to it.
    pub enabled: bool,
    /// Its name, which handlers give with `.brokerName()`.
    pub name: String,
    /// The broker handlers use when they name none.
    pub default: bool,
    /// `tcp://host:port`.
    pub url: String,
    /// TLS settings Kapacitor accepts (TLS brokers are refused at start).
    pub ssl_ca: String,
    /// Client certificate.
    pub ssl_cert: String,
    /// Client key.
    pub ssl_key: String,
    /// Skip certificate checks.
    pub insecure_skip_verify: bool,
    /// Client id (default `kapacitor-<name>`).
    pub client_id: String,
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            enabled: false,
            name: String::new(),
            default: false,
            url: "tcp://localhost:1883".into(),
            ssl_ca: String::new(),
            ssl_cert: String::new(),
            ssl_key: String::new(),
            insecure_skip_verify: false,
            client_id: String::new(),
            username: String::new(),
            password: String::new(),
        }
    }
}

/// `host` and `port` of a `tcp://host:port` URL (port 1883 when absent).
fn host_port(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("tcp://")
        .or_else(|| url.strip_prefix("mqtt://"))
        .ok_or_else(|| format!("{url:?} is not a tcp:// URL (TLS brokers are not supported)"))?;
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((h, p)) => p
            .parse()
            .map(|p| (h.to_string(), p))
            .map_err(|_| format!("{url:?}: bad port {p:?}")),
        None if !rest.is_empty() => Ok((rest.to_string(), 1883)),
        None => Err(format!("{url:?} names no host")),
    }
}

impl super::Named for MqttConfig {
    const SECTION: &'static str = "mqtt";
    const WHAT: &'static str = "broker";
    const KEY: &'static str = "name";

    fn name(&self) -> &str {
        &self.name
    }

    fn is_default(&self) -> bool {
        self.default
    }
}

/// Checks the brokers: a `tcp://` URL, and their names.
pub(super) fn validate(configs: &[MqttConfig]) -> Result<(), (String, String)> {
    for (i, c) in configs.iter().enumerate() {
        if c.enabled
            && let Err(e) = host_port(&c.url)
        {
            return invalid(&format!("mqtt[{i}]"), "url", &e);
        }
    }
    super::validate_named(configs)
}

/// The brokers' connections, by broker (name, URL, client id and user).
#[derive(Default)]
pub(super) struct MqttClients(Mutex<BTreeMap<String, Client>>);

impl std::fmt::Debug for MqttClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MqttClients")
    }
}

/// Messages waiting for a broker's connection before publishing blocks.
const QUEUE: usize = 1000;

impl MqttClients {
    /// Publishes the event's message to the handler's topic on its broker.
    pub(super) fn send(
        &self,
        configs: &[MqttConfig],
        h: &MqttHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        let c = super::pick_named(configs, &h.broker_name)?;
        if !c.enabled {
            return Err(not_enabled("mqtt").into());
        }
        if h.topic.is_empty() {
            return Err("mqtt: no topic".into());
        }
        let qos = match h.qos {
            0 => QoS::AtMostOnce,
            1 => QoS::AtLeastOnce,
            2 => QoS::ExactlyOnce,
            q => return Err(format!("mqtt: QoS {q} is not 0, 1 or 2").into()),
        };
        let mut clients = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Keyed by what the connection is made from: a broker changed through `/config`
        // gets a new connection.
        let key = format!("{}\0{}\0{}\0{}", c.name, c.url, c.client_id, c.username);
        let client = match clients.get(&key) {
            Some(client) => client.clone(),
            None => {
                let client = connect(c)?;
                clients.insert(key, client.clone());
                client
            }
        };
        drop(clients);
        client
            .try_publish(
                h.topic.as_str(),
                qos,
                h.retained,
                event.message.clone().into_bytes(),
            )
            .map_err(|e| {
                Failure::transient(format!(
                    "mqtt: publishing to {:?} on {}: {e}",
                    h.topic, c.url
                ))
            })
    }
}

/// A client of broker `c`, its connection driven (and re-made) by a thread of its own.
fn connect(c: &MqttConfig) -> Result<Client, String> {
    let (host, port) = host_port(&c.url).map_err(|e| format!("mqtt: {e}"))?;
    let id = if c.client_id.is_empty() {
        format!("kapacitor-{}", c.name)
    } else {
        c.client_id.clone()
    };
    let mut opts = MqttOptions::new(id, host, port);
    opts.set_keep_alive(Duration::from_secs(30));
    if !c.username.is_empty() {
        opts.set_credentials(c.username.clone(), c.password.clone());
    }
    let (client, mut connection) = Client::new(opts, QUEUE);
    let url = c.url.clone();
    std::thread::Builder::new()
        .name(format!("mqtt-{}", c.name))
        .spawn(move || {
            for event in connection.iter() {
                if let Err(e) = event {
                    tracing::warn!(broker = %url, "mqtt: {e}; reconnecting");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        })
        .map_err(|e| format!("mqtt: starting the connection thread: {e}"))?;
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        assert_eq!(host_port("tcp://h:1884"), Ok(("h".into(), 1884)));
        assert_eq!(host_port("tcp://h"), Ok(("h".into(), 1883)));
        assert!(host_port("ssl://h:8883").unwrap_err().contains("TLS"));
        assert!(host_port("tcp://h:x").is_err());
    }
}
