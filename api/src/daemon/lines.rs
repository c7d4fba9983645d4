//! Line-oriented TCP inputs (OpenTSDB telnet, Graphite): a connection's lines read one by
//! one, its points written in batches: when `batch_size` of them wait, when the oldest has
//! waited `batch_timeout`, and when the connection closes.

use kap_dataflow::point::Point;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What a line gives.
#[derive(Debug)]
pub(crate) enum Line {
    /// A point to write.
    Point(Point),
    /// An answer to send back.
    Reply(&'static [u8]),
    /// Nothing (a blank or bad line; the handler counted and logged it).
    Skip,
}

/// How a connection's points are batched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batching {
    pub(crate) size: usize,
    pub(crate) timeout: Duration,
}

/// Serves `stream` until it closes: each line (without its line break) and its 1-based
/// number go to `handle` (`None` for a line that is not UTF-8), the points to `write`.
pub(crate) async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    batching: Batching,
    mut handle: impl FnMut(Option<&str>, usize) -> Line,
    write: impl Fn(Vec<Point>),
) -> io::Result<()> {
    let mut lines = BufReader::new(stream);
    let mut batch: Vec<Point> = Vec::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut number = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = match deadline {
            Some(d) => match tokio::time::timeout_at(d, lines.read_until(b'\n', &mut line)).await {
                Ok(r) => r,
                Err(_) => {
                    // The batch has waited long enough. What the interrupted read got is
                    // in `line` already (`read_until` appends as it reads); it goes on.
                    write(std::mem::take(&mut batch));
                    deadline = None;
                    lines.read_until(b'\n', &mut line).await
                }
            },
            None => lines.read_until(b'\n', &mut line).await,
        };
        match read {
            Ok(0) if line.is_empty() => break,
            Ok(_) => {}
            Err(e) => {
                write(batch);
                return Err(e);
            }
        }
        number += 1;
        let text = std::str::from_utf8(&line)
            .ok()
            .map(|l| l.trim_end_matches(['\r', '\n']));
        match handle(text, number) {
            Line::Point(p) => {
                batch.push(p);
                if batch.len() >= batching.size {
                    write(std::mem::take(&mut batch));
                    deadline = None;
                } else if deadline.is_none() {
                    deadline = Some(tokio::time::Instant::now() + batching.timeout);
                }
            }
            Line::Reply(answer) => {
                let out = lines.get_mut();
                out.write_all(answer).await?;
                out.flush().await?;
            }
            Line::Skip => {}
        }
    }
    write(batch);
    Ok(())
}

/// Accepts `listener`'s connections until `stop` fires, handing each to `serve` (which
/// spawns what serves it). `what` names the input in the log.
pub(crate) async fn accept(
    listener: TcpListener,
    what: &'static str,
    mut stop: tokio::sync::broadcast::Receiver<()>,
    mut serve: impl FnMut(TcpStream, SocketAddr),
) {
    loop {
        tokio::select! {
            _ = stop.recv() => return,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => serve(tcp, peer),
                Err(e) => {
                    // Out of file descriptors and the like: back off, then go on.
                    tracing::warn!("accepting a {what} connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}
