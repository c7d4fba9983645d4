//! Alert handlers written inline in TICKscript: `.log(path)`, `.post(url)`, `.tcp(addr)` and
//! `.exec(prog, args...)`.
//!
//! The engine's alert nodes publish events to an [`AlertSink`] and never wait: this
//! dispatcher queues each event in a bounded channel (like Kapacitor's per-handler buffers)
//! and a background thread performs the I/O, each handler with its own timeout. A full queue
//! drops the event for the handlers and counts it (Kapacitor logs and drops too).

use kap_dataflow::alert::{AlertEvent, AlertSink};
use kap_dataflow::ops::http_post::HttpPoster;
use kap_dsl::plan::HandlerSpec;
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
}

/// Queues alert events and runs their inline handlers on a background thread.
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
    pub fn start(capacity: usize, poster: Arc<dyn HttpPoster>) -> HandlerDispatcher {
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
                        if let Err(err) = run_handler(h, &event, poster.as_ref()) {
                            s.errors.fetch_add(1, Ordering::Relaxed);
                            *e.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
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

/// Runs one handler for one event.
pub fn run_handler(
    h: &HandlerSpec,
    event: &AlertEvent,
    poster: &dyn HttpPoster,
) -> Result<(), String> {
    let line = event.to_json_line()?;
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
            f.write_all(line.as_bytes())
                .map_err(|e| format!("log handler: write {}: {e}", l.file_path))
        }
        HandlerSpec::Post(p) => {
            if p.url.is_empty() {
                return Err(
                    "post handler: no url (named endpoints need the daemon's [[httppost]] config)"
                        .into(),
                );
            }
            let timeout = if p.timeout > 0 {
                p.timeout
            } else {
                DEFAULT_TIMEOUT.as_nanos() as i64
            };
            let (status, body) = poster.post(&p.url, &p.headers, line, Some(timeout))?;
            if (200..300).contains(&status) {
                Ok(())
            } else if p.capture_response {
                Err(format!("post handler: {} answered {status}: {body}", p.url))
            } else {
                Err(format!("post handler: {} answered {status}", p.url))
            }
        }
        HandlerSpec::Tcp(t) => {
            let addr = t
                .address
                .to_socket_addrs()
                .map_err(|e| format!("tcp handler: resolve {}: {e}", t.address))?
                .next()
                .ok_or_else(|| format!("tcp handler: {} resolves to nothing", t.address))?;
            let mut s = TcpStream::connect_timeout(&addr, DEFAULT_TIMEOUT)
                .map_err(|e| format!("tcp handler: connect {}: {e}", t.address))?;
            s.set_write_timeout(Some(DEFAULT_TIMEOUT))
                .map_err(|e| e.to_string())?;
            s.write_all(line.as_bytes())
                .map_err(|e| format!("tcp handler: write {}: {e}", t.address))
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
                    .write_all(line.as_bytes())
                    .map_err(|e| format!("exec handler: write to {prog}: {e}"))?;
            }
            let deadline = Instant::now() + DEFAULT_TIMEOUT;
            loop {
                match child.try_wait().map_err(|e| e.to_string())? {
                    Some(status) if status.success() => return Ok(()),
                    Some(status) => {
                        return Err(format!("exec handler: {prog} exited with {status}"));
                    }
                    None if Instant::now() > deadline => {
                        let _ = child.kill();
                        return Err(format!(
                            "exec handler: {prog} timed out after {DEFAULT_TIMEOUT:?}"
                        ));
                    }
                    None => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }
        other => Err(format!(
            "the `{}` handler is not supported yet",
            other.kind()
        )),
    }
}
