//! TLS of a service section with Kapacitor's TLS keys (`ssl-ca`, `ssl-cert`, `ssl-key`,
//! `insecure-skip-verify`): a rustls client configuration for brokers (MQTT, Kafka), or the
//! HTTPS settings of a service's posts (Slack, Discord, Alerta, BigPanda). Both are read from
//! the section's PEM files when the section is checked, so a file that does not do stops
//! the daemon (or refuses a `/config` change) naming its key.

use kap_dataflow::ops::http_post::PostTls;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::sync::Arc;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// A section's TLS keys.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TlsKeys<'a> {
    /// `ssl-ca`: certificates to trust instead of the usual roots.
    pub(crate) ca: &'a str,
    /// `ssl-cert`: a client certificate chain, for brokers that ask for one.
    pub(crate) cert: &'a str,
    /// `ssl-key`: its private key.
    pub(crate) key: &'a str,
    /// `insecure-skip-verify`: accept any server certificate.
    pub(crate) insecure: bool,
}

impl TlsKeys<'_> {
    /// Only `insecure-skip-verify` (the sections that have no other TLS key: Alerta,
    /// BigPanda; `false`: the usual roots and no client certificate).
    pub(crate) fn insecure(insecure: bool) -> TlsKeys<'static> {
        TlsKeys {
            ca: "",
            cert: "",
            key: "",
            insecure,
        }
    }
}

/// Gives each section with all of Kapacitor's TLS keys (`ssl_ca`, `ssl_cert`, `ssl_key`,
/// `insecure_skip_verify`) its `tls_keys()`.
macro_rules! tls_sections {
    ($($section:ty),*) => {$(
        impl $section {
            /// The section's TLS keys.
            pub(crate) fn tls_keys(&self) -> TlsKeys<'_> {
                TlsKeys {
                    ca: &self.ssl_ca,
                    cert: &self.ssl_cert,
                    key: &self.ssl_key,
                    insecure: self.insecure_skip_verify,
                }
            }
        }
    )*};
}

tls_sections!(
    super::SlackConfig,
    super::DiscordConfig,
    super::MqttConfig,
    super::KafkaConfig,
    crate::config::ScraperConfig,
    crate::config::ConsulConfig,
    crate::config::SwarmConfig,
    crate::config::MarathonConfig,
    crate::config::TritonConfig
);

/// ureq's TLS configuration of a post's (or a scrape's) HTTPS settings.
pub(crate) fn ureq_tls(tls: &PostTls) -> Result<ureq::tls::TlsConfig, String> {
    kap_influxdb::TlsOptions {
        ca_pem: tls.ca_pem.clone(),
        client_pem: tls.client_pem.clone(),
        insecure_skip_verify: tls.insecure_skip_verify,
    }
    .ureq()
}

/// The client configuration of `keys`; `Err` names the key whose file does not do.
pub(super) fn client_config(keys: TlsKeys<'_>) -> Result<Arc<ClientConfig>, (String, String)> {
    let bad = |key: &str, why: String| (key.to_string(), why);
    let mut roots = RootCertStore::empty();
    if keys.ca.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    } else {
        for cert in read_certs(keys.ca).map_err(|e| bad("ssl-ca", e))? {
            roots
                .add(cert)
                .map_err(|e| bad("ssl-ca", format!("{}: {e}", keys.ca)))?;
        }
    }
    // The process's crypto provider: *ring*, the only one built in.
    let builder = ClientConfig::builder().with_root_certificates(roots);
    let mut config = match (keys.cert.is_empty(), keys.key.is_empty()) {
        (true, true) => builder.with_no_client_auth(),
        (false, false) => {
            let chain = read_certs(keys.cert).map_err(|e| bad("ssl-cert", e))?;
            let key = PrivateKeyDer::from_pem_file(keys.key)
                .map_err(|e| bad("ssl-key", format!("{}: no private key read: {e}", keys.key)))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad("ssl-key", format!("{}: {e}", keys.key)))?
        }
        (false, true) => return Err(bad("ssl-key", "must be set with ssl-cert".into())),
        (true, false) => return Err(bad("ssl-cert", "must be set with ssl-key".into())),
    };
    if keys.insecure {
        let provider = Arc::clone(config.crypto_provider());
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(AnyServer(provider)));
    }
    Ok(Arc::new(config))
}

/// The HTTPS settings of `keys` for a service's posts; `None` when none is set (the usual
/// roots, no client certificate). `Err` names the key whose file does not do.
pub(crate) fn post_tls(keys: TlsKeys<'_>) -> Result<Option<PostTls>, (String, String)> {
    if keys.ca.is_empty() && keys.cert.is_empty() && keys.key.is_empty() && !keys.insecure {
        return Ok(None);
    }
    let read = |key: &str, path: &str| {
        std::fs::read(path).map_err(|e| (key.to_string(), format!("{path}: {e}")))
    };
    let ca_pem = if keys.ca.is_empty() {
        None
    } else {
        read_certs(keys.ca).map_err(|e| ("ssl-ca".to_string(), e))?;
        Some(read("ssl-ca", keys.ca)?)
    };
    let client_pem = match (keys.cert.is_empty(), keys.key.is_empty()) {
        (true, true) => None,
        (false, false) => {
            read_certs(keys.cert).map_err(|e| ("ssl-cert".to_string(), e))?;
            PrivateKeyDer::from_pem_file(keys.key).map_err(|e| {
                (
                    "ssl-key".to_string(),
                    format!("{}: no private key read: {e}", keys.key),
                )
            })?;
            Some((read("ssl-cert", keys.cert)?, read("ssl-key", keys.key)?))
        }
        (false, true) => return Err(("ssl-key".into(), "must be set with ssl-cert".into())),
        (true, false) => return Err(("ssl-cert".into(), "must be set with ssl-key".into())),
    };
    Ok(Some(PostTls {
        ca_pem,
        client_pem,
        insecure_skip_verify: keys.insecure,
    }))
}

/// The certificates of a PEM file (at least one).
fn read_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{path}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{path}: not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{path}: no CERTIFICATE block in it"));
    }
    Ok(certs)
}

/// `insecure-skip-verify`: any certificate is taken, the handshake's signatures still
/// checked.
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, tokio_rustls::rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        tokio_rustls::rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        tokio_rustls::rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
