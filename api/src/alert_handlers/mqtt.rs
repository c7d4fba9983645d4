//! `.mqtt(topic)` / `mqtt`: the alert message published to an MQTT broker, as Kapacitor's
//! `services/mqtt`: one `[[mqtt]]` section per broker, one lasting connection each (made on
//! the first alert, reconnected by its own thread). A `ssl://` (or `tls://`, `tcps://`,
//! `mqtts://`) URL reaches the broker over TLS, with `ssl-ca`, `ssl-cert`/`ssl-key` and
//! `insecure-skip-verify`.

use super::{Failure, invalid, not_enabled};
use kap_dataflow::alert::AlertEvent;
use kap_dsl::plan::MqttHandler;
use rumqttc::{Client, MqttOptions, QoS, TlsConfiguration, Transport};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
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
    /// `tcp://host:port`, or `ssl://host:port` for TLS.
    pub url: String,
    /// PEM certificates to trust instead of the usual roots (TLS).
    pub ssl_ca: String,
    /// PEM client certificate chain (TLS).
    pub ssl_cert: String,
    /// Its PEM private key.
    pub ssl_key: String,
    /// Accept any broker certificate (TLS).
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

/// Where a broker URL points: host, port, and whether over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Address {
    host: String,
    port: u16,
    tls: bool,
}

/// The [`Address`] of `tcp://host[:port]` (1883) or `ssl://host[:port]` (8883; also
/// `tls://`, `tcps://`, `mqtts://`).
fn address(url: &str) -> Result<Address, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} is not a tcp:// or ssl:// URL"))?;
    let (tls, default_port) = match scheme {
        "tcp" | "mqtt" => (false, 1883),
        "ssl" | "tls" | "tcps" | "mqtts" => (true, 8883),
        other => {
            return Err(format!(
                "{url:?}: unknown scheme {other:?} (tcp:// or ssl://)"
            ));
        }
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (
            h.to_string(),
            p.parse().map_err(|_| format!("{url:?}: bad port {p:?}"))?,
        ),
        None => (rest.to_string(), default_port),
    };
    if host.is_empty() {
        return Err(format!("{url:?} names no host"));
    }
    Ok(Address { host, port, tls })
}

impl MqttConfig {
    /// The TLS configuration of a TLS broker; `Err` names the key that does not do.
    fn tls(&self) -> Result<Arc<tokio_rustls::rustls::ClientConfig>, (String, String)> {
        super::tls::client_config(self.tls_keys())
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

/// Checks the brokers: their URLs, their TLS files, and their names.
pub(super) fn validate(configs: &[MqttConfig]) -> Result<(), (String, String)> {
    for (i, c) in configs.iter().enumerate().filter(|(_, c)| c.enabled) {
        let section = format!("mqtt[{i}]");
        match address(&c.url) {
            Err(e) => return invalid(&section, "url", &e),
            Ok(a) if a.tls => {
                if let Err((key, why)) = c.tls() {
                    return invalid(&section, &key, &why);
                }
            }
            Ok(_) => {}
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
        // Keyed by what the connection is made from (all of the section): a broker changed
        // through `/config` gets a new connection.
        let key = serde_json::to_string(c).unwrap_or_default();
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
    let a = address(&c.url).map_err(|e| format!("mqtt: {e}"))?;
    let id = if c.client_id.is_empty() {
        format!("kapacitor-{}", c.name)
    } else {
        c.client_id.clone()
    };
    let mut opts = MqttOptions::new(id, a.host, a.port);
    opts.set_keep_alive(Duration::from_secs(30));
    if a.tls {
        let tls = c
            .tls()
            .map_err(|(key, why)| format!("mqtt: {key}: {why}"))?;
        opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
    }
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
        let at = |host: &str, port, tls| {
            Ok(Address {
                host: host.into(),
                port,
                tls,
            })
        };
        assert_eq!(address("tcp://h:1884"), at("h", 1884, false));
        assert_eq!(address("tcp://h"), at("h", 1883, false));
        assert_eq!(address("ssl://h"), at("h", 8883, true));
        assert_eq!(address("tls://h:9000/"), at("h", 9000, true));
        assert!(address("ws://h").unwrap_err().contains("unknown scheme"));
        assert!(address("tcp://h:x").is_err());
        assert!(address("h:1883").is_err());
    }
}
