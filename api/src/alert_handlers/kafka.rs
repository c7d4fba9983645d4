//! `.kafka()` / `kafka`: the alert (Kapacitor's alert JSON, or the handler's template) as a
//! record of a Kafka topic, as Kapacitor's `services/kafka`: one `[[kafka]]` section per
//! cluster, the alert id as key, and the partition picked by a hash of the id (crc32 by
//! default; murmur2 or fnv-1a) or in turn with `.disablePartitionById()`. Brokers are
//! reached over TLS with `use-ssl` (`ssl-ca`, `ssl-cert`/`ssl-key`, `insecure-skip-verify`)
//! and authenticate with SASL PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 when `sasl-username` is
//! set.

use super::{Failure, invalid, not_enabled};
use kap_dataflow::alert::AlertEvent;
use kap_dataflow::template::Template;
use kap_dsl::plan::KafkaHandler;
use rskafka::client::partition::{Compression, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder, Credentials, SaslConfig};
use rskafka::record::Record;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One `[[kafka]]` cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct KafkaConfig {
    /// Whether alerts may be written to it.
    pub enabled: bool,
    /// Its name, which handlers give with `.cluster()`.
    pub id: String,
    /// Bootstrap brokers, `host:port`.
    pub brokers: Vec<String>,
    /// How long one write may take.
    #[serde(with = "crate::config::go_duration_serde")]
    pub timeout: Duration,
    /// Kapacitor's batching settings (each alert is written as it comes).
    pub batch_size: i64,
    /// Kapacitor's batching settings (each alert is written as it comes).
    #[serde(with = "crate::config::go_duration_serde")]
    pub batch_timeout: Duration,
    /// TLS to the brokers.
    pub use_ssl: bool,
    /// PEM certificates to trust instead of the usual roots.
    pub ssl_ca: String,
    /// PEM client certificate chain, for brokers that ask for one.
    pub ssl_cert: String,
    /// Its PEM private key.
    pub ssl_key: String,
    /// Accept any broker certificate.
    pub insecure_skip_verify: bool,
    /// SASL authentication, when set.
    pub sasl_username: String,
    /// SASL password.
    pub sasl_password: String,
    /// `PLAIN` (the default), `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub sasl_mechanism: String,
    /// Kapacitor's SASL handshake version (`0` or `1`); the handshake is always v1 here.
    pub sasl_version: String,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            enabled: false,
            id: "default".into(),
            brokers: Vec::new(),
            timeout: Duration::from_secs(10),
            batch_size: 100,
            batch_timeout: Duration::from_secs(1),
            use_ssl: false,
            ssl_ca: String::new(),
            ssl_cert: String::new(),
            ssl_key: String::new(),
            insecure_skip_verify: false,
            sasl_username: String::new(),
            sasl_password: String::new(),
            sasl_mechanism: String::new(),
            sasl_version: String::new(),
        }
    }
}

impl KafkaConfig {
    /// The TLS configuration of `use-ssl`; `Err` names the key that does not do.
    fn tls(&self) -> Result<Option<Arc<tokio_rustls::rustls::ClientConfig>>, (String, String)> {
        if !self.use_ssl {
            return Ok(None);
        }
        super::tls::client_config(self.tls_keys()).map(Some)
    }

    /// The SASL configuration of `sasl-username`; `Err` names the key that does not do.
    fn sasl(&self) -> Result<Option<SaslConfig>, (String, String)> {
        if self.sasl_username.is_empty() {
            return Ok(None);
        }
        let credentials = Credentials::new(self.sasl_username.clone(), self.sasl_password.clone());
        Ok(Some(
            match self.sasl_mechanism.to_ascii_uppercase().as_str() {
                "" | "PLAIN" => SaslConfig::Plain(credentials),
                "SCRAM-SHA-256" => SaslConfig::ScramSha256(credentials),
                "SCRAM-SHA-512" => SaslConfig::ScramSha512(credentials),
                other => {
                    return Err((
                        "sasl-mechanism".into(),
                        format!(
                            "{other:?} is not supported (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"
                        ),
                    ));
                }
            },
        ))
    }
}

/// Checks the clusters: brokers, distinct ids, and their TLS files and SASL mechanism.
pub(super) fn validate(configs: &[KafkaConfig]) -> Result<(), (String, String)> {
    let mut ids = std::collections::BTreeSet::new();
    for (i, c) in configs.iter().enumerate() {
        let section = format!("kafka[{i}]");
        if !ids.insert(c.id.as_str()) {
            return invalid(&section, "id", "is used by another [[kafka]] section");
        }
        if !c.enabled {
            continue;
        }
        if c.brokers.is_empty() {
            return invalid(
                &section,
                "brokers",
                "must list at least one broker when enabled",
            );
        }
        if let Err((key, why)) = c.tls().and_then(|_| c.sasl()) {
            return invalid(&section, &key, &why);
        }
    }
    Ok(())
}

/// The partition of `key` among `n` partitions, as Kapacitor's balancers pick it.
pub(super) fn partition_of(algorithm: &str, key: &[u8], n: usize) -> Result<usize, String> {
    let n = n.max(1);
    Ok(match algorithm {
        "" | "crc32" => crc32fast::hash(key) as usize % n,
        "murmur2" => (murmur2(key) & 0x7fff_ffff) as usize % n,
        "fnv-1a" => fnv1a(key) as usize % n,
        other => {
            return Err(format!(
                "kafka: unknown partition hash algorithm {other:?} (crc32, murmur2 or fnv-1a)"
            ));
        }
    })
}

/// Kafka's murmur2 (the Java client's, seed `0x9747b28c`).
fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

/// 32-bit FNV-1a.
fn fnv1a(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// The record's value: the handler's template, or Kapacitor's alert JSON.
pub(super) fn value(h: &KafkaHandler, event: &AlertEvent) -> Result<Vec<u8>, String> {
    if h.template.is_empty() {
        return event.to_json().map(String::into_bytes);
    }
    Template::parse("kafka", &h.template)
        .and_then(|t| t.execute(&super::alert_data(event)))
        .map(String::into_bytes)
        .map_err(|e| format!("kafka: template: {e}"))
}

/// The runtime the Kafka clients run on: made on first use, and never dropped (a runtime
/// must not be dropped on an async thread, which a daemon's shutdown may be).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("kafka")
            .enable_all()
            .build()
            .expect("a Tokio runtime for Kafka")
    })
}

/// A cluster's clients are keyed by its id and brokers: a cluster changed through `/config`
/// gets a new client.
fn cluster_key(c: &KafkaConfig) -> String {
    // All of it: a cluster changed in any way (brokers, TLS, SASL) gets a new client.
    serde_json::to_string(c).unwrap_or_default()
}

/// The clusters' clients, made on first use.
#[derive(Default)]
pub(super) struct KafkaClients {
    clients: Mutex<BTreeMap<String, Arc<Client>>>,
    /// Records written without a partition key, to spread them in turn.
    turn: AtomicUsize,
}

impl std::fmt::Debug for KafkaClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KafkaClients")
    }
}

impl KafkaClients {
    /// Writes the event to the handler's topic on its cluster, within the cluster's
    /// timeout.
    pub(super) fn send(
        &self,
        configs: &[KafkaConfig],
        h: &KafkaHandler,
        event: &AlertEvent,
    ) -> Result<(), Failure> {
        let cluster = if h.cluster.is_empty() {
            "default"
        } else {
            &h.cluster
        };
        let c = configs
            .iter()
            .find(|c| c.id == cluster)
            .ok_or_else(|| format!("no [[kafka]] cluster {cluster:?} is configured"))?;
        if !c.enabled {
            return Err(not_enabled("kafka").into());
        }
        if h.kafka_topic.is_empty() {
            return Err("kafka: no topic (.kafkaTopic())".into());
        }
        let record = Record {
            key: Some(event.id.clone().into_bytes()),
            value: Some(value(h, event)?),
            headers: BTreeMap::new(),
            timestamp: chrono::DateTime::from_timestamp_nanos(event.time),
        };
        let work = self.write(c, h, record);
        runtime()
            .block_on(async { tokio::time::timeout(c.timeout, work).await })
            .map_err(|_| {
                Failure::transient(format!(
                    "kafka: writing to {:?} timed out after {:?}",
                    h.kafka_topic, c.timeout
                ))
            })
            .and_then(|written| written)
    }

    /// Writes `record`; the brokers' failures may pass, a missing topic is for good.
    async fn write(
        &self,
        c: &KafkaConfig,
        h: &KafkaHandler,
        record: Record,
    ) -> Result<(), Failure> {
        let fail = |what: &str, e: rskafka::client::error::Error| {
            Failure::transient(format!("kafka: {what} ({}): {e}", c.brokers.join(",")))
        };
        let client = self.client(c).await.map_err(|e| fail("connecting", e))?;
        let partitions: Vec<i32> = client
            .list_topics()
            .await
            .map_err(|e| fail("listing topics", e))?
            .into_iter()
            .find(|t| t.name == h.kafka_topic)
            .map(|t| t.partitions.into_iter().collect())
            .unwrap_or_default();
        if partitions.is_empty() {
            return Err(format!("kafka: topic {:?} does not exist", h.kafka_topic).into());
        }
        let i = if h.disable_partition_by_id {
            self.turn.fetch_add(1, Ordering::Relaxed) % partitions.len()
        } else {
            let key = record.key.as_deref().unwrap_or_default();
            partition_of(&h.partition_hash_algorithm, key, partitions.len())?
        };
        let pc = client
            .partition_client(
                h.kafka_topic.clone(),
                partitions[i],
                UnknownTopicHandling::Error,
            )
            .await
            .map_err(|e| fail("finding the partition's leader", e))?;
        pc.produce(vec![record], Compression::NoCompression)
            .await
            .map(drop)
            .map_err(|e| fail("writing", e))
    }

    /// The client of cluster `c`, made on first use.
    async fn client(&self, c: &KafkaConfig) -> Result<Arc<Client>, rskafka::client::error::Error> {
        if let Some(client) = self
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&cluster_key(c))
        {
            return Ok(Arc::clone(client));
        }
        let mut builder = ClientBuilder::new(c.brokers.clone()).client_id("kapacitor");
        // Checked with the configuration: these read the same files again.
        if let Ok(Some(tls)) = c.tls() {
            builder = builder.tls_config(tls);
        }
        if let Ok(Some(sasl)) = c.sasl() {
            builder = builder.sasl_config(sasl);
        }
        let client = Arc::new(builder.build().await?);
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(cluster_key(c), Arc::clone(&client));
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_by_the_balancers_hashes() {
        // Kafka's own test vectors (UtilsTest.testMurmur2).
        assert_eq!(murmur2(b"21") as i32, -973_932_308);
        assert_eq!(murmur2(b"foobar") as i32, -790_332_482);
        assert_eq!(murmur2(b"abc") as i32, 479_470_107);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        assert_eq!(
            partition_of("crc32", b"cpu:nil", 7).unwrap(),
            crc32fast::hash(b"cpu:nil") as usize % 7
        );
        for alg in ["", "crc32", "murmur2", "fnv-1a"] {
            assert!(partition_of(alg, b"x", 3).unwrap() < 3);
        }
        assert!(partition_of("md5", b"x", 3).is_err());
    }
}
