//! The Graphite inputs (`[[graphite]]`), as InfluxDB's Graphite service that Kapacitor
//! runs: plaintext lines `<path> <value> [<timestamp>]` over TCP (each connection's points
//! written in batches of `batch-size`, or after `batch-timeout`) or UDP (each datagram's
//! points written at once), turned into points by the section's templates
//! ([`kap_ingest::graphite`]). A bad line is dropped, counted and logged with its line
//! number; a NaN or infinite value is dropped silently, as InfluxDB does.

use super::lines::{self, Batching, Line};
use super::runtime::Runtime;
use super::udp::{UdpListener, UdpSink};
use crate::config::GraphiteConfig;
use anyhow::Context as _;
use kap_dataflow::point::{FieldValue, Point, Sym, Tags};
use kap_ingest::graphite::{Parsed, Parser};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// One listener's way from lines to the engine.
struct Input {
    parser: Parser,
    runtime: Arc<Runtime>,
    db: String,
    rp: String,
}

impl Input {
    /// The point of one line, or `None` (logged and counted when bad).
    fn point(&self, line: Option<&str>, number: usize, from: &str) -> Option<Point> {
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
        let parsed = match line {
            Some(l) => self.parser.parse(l, now),
            None => Err("not UTF-8".to_string()),
        };
        match parsed {
            Ok(Parsed::Point {
                measurement,
                tags,
                field,
                value,
                time_ns,
            }) => {
                let tags: Tags = tags
                    .iter()
                    .map(|(k, v)| (Sym::new(k), Sym::new(v)))
                    .collect();
                let fields = vec![(Sym::new(&field), FieldValue::Float(value))];
                Some(Point::new(&measurement, tags, fields, time_ns).in_db(&self.db, &self.rp))
            }
            Ok(Parsed::Unsupported | Parsed::Blank) => None,
            Err(e) => {
                self.runtime
                    .ingest
                    .points_rejected
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%from, db = %self.db, "Graphite line {number}: {e}");
                None
            }
        }
    }

    fn write(&self, points: Vec<Point>) {
        self.runtime.write_logged("Graphite", points);
    }
}

/// Starts every enabled `[[graphite]]` (validated), serving until `stop` fires; returns
/// the bound addresses in config order.
pub async fn start(
    configs: &[GraphiteConfig],
    default_rp: &str,
    runtime: Arc<Runtime>,
    stop: &tokio::sync::broadcast::Sender<()>,
) -> anyhow::Result<Vec<SocketAddr>> {
    let mut addrs = Vec::new();
    let mut udp = Vec::new();
    for (i, c) in configs.iter().enumerate().filter(|(_, c)| c.enabled) {
        let parser = Parser::new(&c.templates, &c.tags, &c.separator)
            .map_err(|e| anyhow::anyhow!("[[graphite]] #{i}: {e}"))?;
        let rp = crate::config::input_rp(&c.retention_policy, default_rp).to_string();
        let input = Arc::new(Input {
            parser,
            runtime: Arc::clone(&runtime),
            db: c.database.clone(),
            rp: rp.clone(),
        });
        let context = || format!("[[graphite]] #{i}: listening on {}", c.bind_address);
        if c.protocol == "udp" {
            let sink = {
                let input = Arc::clone(&input);
                UdpSink::new(move |datagram, _, _| {
                    let points = String::from_utf8_lossy(datagram)
                        .split('\n')
                        .enumerate()
                        .filter_map(|(n, l)| input.point(Some(l), n + 1, "udp"))
                        .collect();
                    input.write(points);
                })
            };
            let listener = UdpListener::start(
                &c.bind_address,
                c.udp_read_buffer,
                c.batch_pending.max(1) * 100,
                (&c.database, &rp),
                sink,
            )
            .with_context(context)?;
            addrs.push(listener.addr());
            udp.push(listener);
        } else {
            let addr = crate::config::bind_addr(&c.bind_address).map_err(anyhow::Error::msg)?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(context)?;
            addrs.push(listener.local_addr()?);
            let batching = Batching {
                size: usize::try_from(c.batch_size).unwrap_or(usize::MAX).max(1),
                timeout: c.batch_timeout,
            };
            let serve = move |tcp, peer| serve(tcp, peer, &input, batching);
            tokio::spawn(lines::accept(listener, "Graphite", stop.subscribe(), serve));
        }
        tracing::info!(addr = %addrs[addrs.len() - 1], protocol = %c.protocol, db = %c.database, "listening for Graphite");
    }
    super::udp::stop_on(udp, stop);
    Ok(addrs)
}

/// Serves one TCP connection on its own task.
fn serve(tcp: tokio::net::TcpStream, peer: SocketAddr, input: &Arc<Input>, batching: Batching) {
    let input = Arc::clone(input);
    tokio::spawn(async move {
        let from = peer.to_string();
        let handle = |line: Option<&str>, number: usize| match input.point(line, number, &from) {
            Some(p) => Line::Point(p),
            None => Line::Skip,
        };
        // The engine may wait for room: off the async threads' turn.
        let write = |points| tokio::task::block_in_place(|| input.write(points));
        if let Err(e) = lines::serve(tcp, batching, handle, write).await {
            tracing::debug!(%peer, "Graphite connection: {e}");
        }
    });
}
