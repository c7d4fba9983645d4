//! HTTPS for the API (`[http] https-enabled`): the certificate chain and key come from PEM
//! files (`https-certificate`, and `https-private-key`, or the certificate file itself when
//! that is empty, as in Kapacitor). Handshakes run on their own tasks, so a slow client
//! never holds up the others; a failed one is logged at debug level and dropped.

use anyhow::Context;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;

/// The TLS acceptor for `cert` (PEM, the chain) and `key` (PEM; empty: read from `cert`).
///
/// # Errors
/// A file that cannot be read, holds no certificate or no private key, or a key that does
/// not match: each names the file and the config key.
pub fn acceptor(cert: &str, key: &str) -> anyhow::Result<TlsAcceptor> {
    pem_acceptor(
        cert,
        key,
        "[http] https-certificate",
        "[http] https-private-key",
    )
}

/// [`acceptor`], naming the files' config keys `cert_key` and `key_key` in errors.
pub fn pem_acceptor(
    cert: &str,
    key: &str,
    cert_key: &str,
    key_key: &str,
) -> anyhow::Result<TlsAcceptor> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("{cert_key} {cert}: reading it"))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{cert_key} {cert}: not valid PEM"))?;
    if certs.is_empty() {
        anyhow::bail!("{cert_key} {cert}: no CERTIFICATE block in it");
    }
    let (key_path, key_name) = if key.is_empty() {
        (cert, cert_key)
    } else {
        (key, key_key)
    };
    let key = PrivateKeyDer::from_pem_file(key_path)
        .with_context(|| format!("{key_name} {key_path}: no private key read from it"))?;
    // The process's crypto provider: *ring*, the only one built in.
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| {
            format!("{cert_key} {cert}: the certificate and key do not go together")
        })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A TCP listener whose connections are TLS streams once their handshake is done.
#[derive(Debug)]
pub struct TlsListener {
    local: SocketAddr,
    ready: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

/// Handshakes that may be done and not yet served.
const READY_BACKLOG: usize = 64;

impl TlsListener {
    /// Accepts on `tcp`, handshaking each connection on its own task.
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, ready) = tokio::sync::mpsc::channel(READY_BACKLOG);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, then go on.
                        tracing::warn!("accepting an HTTPS connection: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match acceptor.accept(stream).await {
                        Ok(tls) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Err(e) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                    }
                });
            }
        });
        Ok(TlsListener { local, ready })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accepting task never stops while the listener lives.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
