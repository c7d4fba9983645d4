//! `[[udp]]` listeners: line protocol over UDP into a fixed database and retention policy,
//! as Kapacitor's UDP service. Each datagram is parsed on its own; bad lines are counted and
//! logged with their line number, good ones are written.

use super::runtime::Runtime;
use super::write;
use crate::config::UdpConfig;
use anyhow::Context as _;
use kap_ingest::line_protocol::Precision;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Largest datagram accepted (the UDP maximum).
const MAX_DATAGRAM: usize = 64 * 1024;

/// A UDP socket bound to `address`, its receive buffer `read_buffer` bytes when not 0
/// (`[[udp]] read-buffer`; the kernel may double it, or cap it at `net.core.rmem_max`).
fn bind(address: &str, read_buffer: u64) -> anyhow::Result<tokio::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::net::ToSocketAddrs;
    let addr = address
        .to_socket_addrs()?
        .next()
        .with_context(|| format!("{address} resolves to nothing"))?;
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if read_buffer > 0 {
        socket
            .set_recv_buffer_size(usize::try_from(read_buffer).unwrap_or(usize::MAX))
            .context("read-buffer")?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(tokio::net::UdpSocket::from_std(socket.into())?)
}

/// Binds every enabled `[[udp]]` listener and serves it until `stop` fires. Returns the bound
/// addresses (in config order) once all are bound.
pub async fn start(
    configs: &[UdpConfig],
    default_rp: &str,
    runtime: Arc<Runtime>,
    stop: &tokio::sync::broadcast::Sender<()>,
) -> anyhow::Result<Vec<std::net::SocketAddr>> {
    let mut addrs = Vec::new();
    for (i, c) in configs.iter().enumerate().filter(|(_, c)| c.enabled) {
        let sock = bind(&c.bind_address, c.read_buffer)
            .with_context(|| format!("[[udp]] #{i}: listening on {}", c.bind_address))?;
        let addr = sock.local_addr()?;
        tracing::info!(%addr, db = %c.database, "listening for line protocol over UDP");
        addrs.push(addr);
        let db = c.database.clone();
        let rp = if c.retention_policy.is_empty() {
            if default_rp.is_empty() {
                "autogen".to_string()
            } else {
                default_rp.to_string()
            }
        } else {
            c.retention_policy.clone()
        };
        let runtime = Arc::clone(&runtime);
        let mut rx = stop.subscribe();
        tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                let n = tokio::select! {
                    r = sock.recv_from(&mut buf) => match r {
                        Ok((n, _)) => n,
                        Err(e) => {
                            tracing::warn!(%addr, "UDP receive: {e}");
                            continue;
                        }
                    },
                    _ = rx.recv() => return,
                };
                let body = String::from_utf8_lossy(&buf[..n]).into_owned();
                let (db, rp, rt) = (db.clone(), rp.clone(), Arc::clone(&runtime));
                // Parsing and the engine's backpressure wait stay off the async threads.
                let _ = tokio::task::spawn_blocking(move || handle(&rt, &body, &db, &rp)).await;
            }
        });
    }
    Ok(addrs)
}

fn handle(rt: &Runtime, body: &str, db: &str, rp: &str) {
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let parsed = write::parse_body(body, db, rp, Precision::Nanoseconds, now);
    if !parsed.errors.is_empty() {
        rt.ingest
            .points_rejected
            .fetch_add(parsed.errors.len() as u64, Ordering::Relaxed);
        tracing::warn!(
            db,
            "UDP datagram: {}",
            write::lines_error(&parsed.errors, parsed.points.len())
        );
    }
    if let Err(e) = rt.write(parsed.points) {
        tracing::warn!(db, "UDP write refused: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_buffer_sizes_the_socket() {
        let sock = bind("127.0.0.1:0", 65_536).unwrap();
        let size = socket2::SockRef::from(&sock).recv_buffer_size().unwrap();
        assert!(size >= 65_536, "{size}");
        assert!(bind("127.0.0.1:x", 0).is_err());
    }
}
