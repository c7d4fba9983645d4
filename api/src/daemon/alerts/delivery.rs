//! The delivery threads of handler runs, and the retries of failed ones.
//!
//! A handler's runs all go to one thread (by a hash of its topic and id), so its events
//! keep their order, and a slow or hung service (up to its timeout) holds up only the
//! handlers that share its thread. A run that fails for a reason that may pass (the
//! service could not be reached or did not answer in time, or answered 5xx or 429) is tried
//! again after a wait that doubles from `[alert] delivery-retry-interval`, up to
//! `delivery-retries` times. While a handler waits, its later events wait behind the
//! retried one, so they still arrive in order; the other handlers of the thread go on.
//! After the last retry, or on a failure that is for good, the failure is counted and
//! logged and the handler's next event goes.

use crate::alert_handlers::{Failure, HandlerServices, HandlerStats, run_handler};
use kap_dataflow::alert::AlertEvent;
use kap_dsl::plan::HandlerSpec as PlanHandler;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Threads delivering events to handlers.
pub(super) const DELIVERY_SHARDS: usize = 4;

/// The longest wait between two tries of a run.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// How failed runs are tried again (`[alert] delivery-retries`, `delivery-retry-interval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries after the first; `0` never tries again.
    pub retries: u32,
    /// The wait before the first retry; it doubles with each (up to a minute).
    pub interval: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            interval: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `n + 1`.
    fn wait(&self, n: u32) -> Duration {
        self.interval
            .saturating_mul(1 << n.min(16))
            .min(MAX_RETRY_WAIT.max(self.interval))
    }
}

/// One handler run waiting for its delivery thread.
pub(super) struct Delivery {
    pub(super) spec: Arc<PlanHandler>,
    pub(super) event: Arc<AlertEvent>,
    /// Names the handler in errors (`handler h of kind slack`).
    pub(super) what: String,
    /// The handler's key (a hash of its topic and id): its runs keep their order.
    pub(super) key: u64,
}

/// A handler waiting to try a run again, with the runs behind it.
struct Backlog {
    due: Instant,
    /// Retries made of the front run.
    retries: u32,
    runs: VecDeque<Delivery>,
}

/// What a delivery thread shares with the alert center.
pub(super) struct Shared {
    pub(super) services: Arc<HandlerServices>,
    pub(super) stats: Arc<HandlerStats>,
    pub(super) last_error: Arc<Mutex<Option<String>>>,
    pub(super) policy: RetryPolicy,
    /// Runs one handler may have waiting behind a retry before the oldest are dropped.
    pub(super) buffer: usize,
}

/// Starts delivery thread `n`; it ends when `rx`'s senders are dropped.
pub(super) fn spawn(n: usize, rx: crossbeam_channel::Receiver<Delivery>, shared: Shared) {
    std::thread::Builder::new()
        .name(format!("alert-delivery-{n}"))
        .spawn(move || {
            Thread {
                shared,
                waiting: HashMap::new(),
            }
            .run(&rx);
        })
        .expect("spawning an alert delivery thread");
}

struct Thread {
    shared: Shared,
    /// Handlers waiting to try again, by key.
    waiting: HashMap<u64, Backlog>,
}

impl Thread {
    fn run(mut self, rx: &crossbeam_channel::Receiver<Delivery>) {
        use crossbeam_channel::RecvTimeoutError;
        loop {
            let next = self.waiting.values().map(|b| b.due).min();
            let got = match next {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(due) => rx.recv_timeout(due.saturating_duration_since(Instant::now())),
            };
            match got {
                Ok(d) => self.take(d),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.retry_due();
        }
        let left: usize = self.waiting.values().map(|b| b.runs.len()).sum();
        if left > 0 {
            tracing::warn!("alert delivery stopped with {left} handler runs waiting to retry");
        }
    }

    /// A new run: behind its handler's retry, or now.
    fn take(&mut self, d: Delivery) {
        if let Some(b) = self.waiting.get_mut(&d.key) {
            if b.runs.len() >= self.shared.buffer.max(2) {
                // Keep the run being retried (the front); drop the oldest behind it.
                if let Some(old) = b.runs.remove(1) {
                    self.shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    self.shared.error(format!(
                        "{}: too many events waiting for a retry, event {} dropped",
                        old.what, old.event.id
                    ));
                }
            }
            b.runs.push_back(d);
            return;
        }
        let key = d.key;
        self.drain(key, VecDeque::from([d]), 0);
    }

    /// Runs a handler's runs in order, the front one retried `retries` times already,
    /// until they are done or one must wait to be tried again.
    fn drain(&mut self, key: u64, mut runs: VecDeque<Delivery>, mut retries: u32) {
        while let Some(d) = runs.pop_front() {
            match run_handler(&d.spec, &d.event, &self.shared.services) {
                Ok(()) => retries = 0,
                Err(f) if f.transient && retries < self.shared.policy.retries => {
                    let wait = self.shared.policy.wait(retries);
                    self.shared.stats.retried.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        "{}: {f}; trying again in {wait:?} (retry {} of {})",
                        d.what,
                        retries + 1,
                        self.shared.policy.retries
                    );
                    runs.push_front(d);
                    self.waiting.insert(
                        key,
                        Backlog {
                            due: Instant::now() + wait,
                            retries: retries + 1,
                            runs,
                        },
                    );
                    return;
                }
                Err(f) => {
                    self.failed(&d, &f, retries);
                    retries = 0;
                }
            }
        }
    }

    fn retry_due(&mut self) {
        let now = Instant::now();
        let due: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, b)| b.due <= now)
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            if let Some(b) = self.waiting.remove(&key) {
                self.drain(key, b.runs, b.retries);
            }
        }
    }

    fn failed(&self, d: &Delivery, f: &Failure, retries: u32) {
        let msg = if retries > 0 {
            format!("{}: {f} (gave up after {retries} retries)", d.what)
        } else {
            format!("{}: {f}", d.what)
        };
        self.shared.stats.errors.fetch_add(1, Ordering::Relaxed);
        self.shared.error(msg);
    }
}

impl Shared {
    fn error(&self, msg: String) {
        tracing::error!("{msg}");
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_a_minute() {
        let p = RetryPolicy {
            retries: 10,
            interval: Duration::from_millis(500),
        };
        let waits: Vec<u64> = (0..9).map(|n| p.wait(n).as_millis() as u64).collect();
        assert_eq!(
            waits,
            [500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]
        );
        let long = RetryPolicy {
            retries: 1,
            interval: Duration::from_secs(120),
        };
        assert_eq!(long.wait(3), Duration::from_secs(120));
    }
}
