//! UDP listeners of line protocol into one database and retention policy, as Kapacitor's UDP
//! service: the `[[udp]]` sections, and the destinations of `udp` InfluxDB subscriptions
//! (one listener per subscribed database and retention policy, `subscriptions.rs`).
//!
//! Each listener has two threads: one receives datagrams into a queue of `buffer` of them
//! (waiting when it is full, as Kapacitor's does), the other parses and writes them. Each
//! datagram is parsed on its own; bad lines are counted and logged with their line number,
//! good ones are written.

use super::runtime::Runtime;
use super::write;
use crate::config::UdpConfig;
use anyhow::Context as _;
use kap_ingest::line_protocol::Precision;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Largest datagram accepted (the UDP maximum).
const MAX_DATAGRAM: usize = 64 * 1024;

/// How long a receiving thread waits for a datagram before it looks whether to stop.
const STOP_POLL: Duration = Duration::from_millis(100);

/// What a listener does with a datagram: `(bytes, database, retention policy)`.
type Write = dyn Fn(&[u8], &str, &str) + Send + Sync;

/// Where a listener's datagrams go.
#[derive(Clone)]
pub(crate) struct UdpSink(Arc<Write>);

impl UdpSink {
    pub(crate) fn new(f: impl Fn(&[u8], &str, &str) + Send + Sync + 'static) -> UdpSink {
        UdpSink(Arc::new(f))
    }

    /// The sink that writes datagrams to `runtime`, as `/write` would (nanosecond times).
    pub(crate) fn runtime(runtime: Arc<Runtime>) -> UdpSink {
        UdpSink::new(move |body, db, rp| handle(&runtime, &String::from_utf8_lossy(body), db, rp))
    }
}

impl std::fmt::Debug for UdpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UdpSink")
    }
}

/// A blocking UDP socket bound to `address` (`host:port`, Go's `:port` for every
/// interface), its receive buffer `read_buffer` bytes when not 0 (`read-buffer`; the kernel
/// may double it, or cap it at `net.core.rmem_max`).
fn bind(address: &str, read_buffer: u64) -> anyhow::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let addr = crate::config::bind_addr(address).map_err(anyhow::Error::msg)?;
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if read_buffer > 0 {
        socket
            .set_recv_buffer_size(usize::try_from(read_buffer).unwrap_or(usize::MAX))
            .context("read-buffer")?;
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// A running UDP listener; dropping it stops it (within [`STOP_POLL`]) and frees its port.
#[derive(Debug)]
pub(crate) struct UdpListener {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl UdpListener {
    /// Listens on `address` (`host:port`; port 0 picks a free one) for line protocol into
    /// `db`.`rp`, handing each datagram to `sink`; at most `buffer` datagrams wait.
    pub(crate) fn start(
        address: &str,
        read_buffer: u64,
        buffer: u64,
        (db, rp): (&str, &str),
        sink: UdpSink,
    ) -> anyhow::Result<UdpListener> {
        let sock = bind(address, read_buffer)?;
        sock.set_read_timeout(Some(STOP_POLL))?;
        let addr = sock.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let queue = usize::try_from(buffer).unwrap_or(usize::MAX).max(1);
        let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(queue);
        let receiving = Arc::clone(&stop);
        let receiver = std::thread::Builder::new()
            .name(format!("udp-recv-{}", addr.port()))
            .spawn(move || {
                let mut buf = vec![0u8; MAX_DATAGRAM];
                while !receiving.load(Ordering::Relaxed) {
                    match sock.recv_from(&mut buf) {
                        Ok((n, _)) => {
                            if tx.send(buf[..n].to_vec()).is_err() {
                                return;
                            }
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(e) => tracing::warn!(%addr, "UDP receive: {e}"),
                    }
                }
            })?;
        let (db, rp) = (db.to_string(), rp.to_string());
        let writer = std::thread::Builder::new()
            .name(format!("udp-write-{}", addr.port()))
            .spawn(move || {
                for datagram in rx {
                    (sink.0)(&datagram, &db, &rp);
                }
            });
        let writer = match writer {
            Ok(w) => w,
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                let _ = receiver.join();
                return Err(e.into());
            }
        };
        Ok(UdpListener {
            addr,
            stop,
            threads: vec![receiver, writer],
        })
    }

    /// The address it is bound to.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for UdpListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // The receiver stops within STOP_POLL; the writer once the queue is drained.
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Starts every enabled `[[udp]]` listener, serving until `stop` fires. Returns the bound
/// addresses (in config order) once all are bound.
pub async fn start(
    configs: &[UdpConfig],
    default_rp: &str,
    runtime: Arc<Runtime>,
    stop: &tokio::sync::broadcast::Sender<()>,
) -> anyhow::Result<Vec<SocketAddr>> {
    let mut listeners = Vec::new();
    for (i, c) in configs.iter().enumerate().filter(|(_, c)| c.enabled) {
        let rp = crate::config::input_rp(&c.retention_policy, default_rp);
        let listener = UdpListener::start(
            &c.bind_address,
            c.read_buffer,
            c.buffer,
            (&c.database, rp),
            UdpSink::runtime(Arc::clone(&runtime)),
        )
        .with_context(|| format!("[[udp]] #{i}: listening on {}", c.bind_address))?;
        tracing::info!(addr = %listener.addr(), db = %c.database, "listening for line protocol over UDP");
        listeners.push(listener);
    }
    let addrs = listeners.iter().map(UdpListener::addr).collect();
    stop_on(listeners, stop);
    Ok(addrs)
}

/// Stops `listeners` when `stop` fires (of `[[udp]]`, `[[graphite]]`, `[collectd]`).
pub(crate) fn stop_on(listeners: Vec<UdpListener>, stop: &tokio::sync::broadcast::Sender<()>) {
    if listeners.is_empty() {
        return;
    }
    let mut rx = stop.subscribe();
    tokio::spawn(async move {
        let _ = rx.recv().await;
        // Stopping joins the listeners' threads: off the async threads.
        let _ = tokio::task::spawn_blocking(move || drop(listeners)).await;
    });
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
    rt.write_logged("UDP", parsed.points);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_buffer_sizes_the_socket() {
        let sock = bind("127.0.0.1:0", 65_536).unwrap();
        let size = socket2::SockRef::from(&sock).recv_buffer_size().unwrap();
        assert!(size >= 65_536, "{size}");
        assert!(bind("127.0.0.1:x", 0).is_err());
        // Go's `:port`: every interface.
        let any = bind(":0", 0).unwrap().local_addr().unwrap();
        assert!(any.ip().is_unspecified(), "{any}");
    }
}
