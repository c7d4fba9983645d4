//! Each running task's throughput, Kapacitor's `throughput` of the task stats and of the
//! DOT graph (`graph [throughput="12.00 points/s"]`): what the task's source emitted over
//! the last second (points out of `stream0`, batches out of the query nodes), sampled every
//! second by a background thread, as Kapacitor's `calcThroughput` does.

use kap_dataflow::runtime::Engine;
use kap_dsl::plan::{NodeSpec, Pipeline};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How often the counts are sampled.
const PERIOD: Duration = Duration::from_secs(1);

/// The throughput of every running task.
#[derive(Debug, Default)]
pub struct Throughput {
    tasks: Mutex<HashMap<String, Meter>>,
}

/// One task's source nodes and its last sample.
#[derive(Debug)]
struct Meter {
    /// Names of the nodes whose outgoing messages are the task's input.
    sources: Vec<String>,
    last: Option<(Instant, u64)>,
    per_sec: f64,
}

impl Throughput {
    /// Starts the sampler; it stops once the engine or this value is gone.
    pub fn start(engine: Weak<Engine>) -> Arc<Throughput> {
        let t = Arc::new(Throughput::default());
        let weak = Arc::downgrade(&t);
        let spawned = std::thread::Builder::new()
            .name("task-throughput".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(PERIOD);
                    let (Some(t), Some(e)) = (weak.upgrade(), engine.upgrade()) else {
                        return;
                    };
                    t.sample(Instant::now(), |id, sources| source_count(&e, id, sources));
                }
            });
        if let Err(e) = spawned {
            tracing::error!("starting the task throughput sampler: {e}");
        }
        t
    }

    fn meters(&self) -> std::sync::MutexGuard<'_, HashMap<String, Meter>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Measures task `id`, running `plan`, from now on.
    pub fn add(&self, id: &str, plan: &Pipeline) {
        let batch = plan
            .nodes
            .iter()
            .any(|n| matches!(n.spec, NodeSpec::Query(_)));
        let sources = plan
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| {
                if batch {
                    matches!(n.spec, NodeSpec::Query(_))
                } else {
                    *i == 0
                }
            })
            .map(|(_, n)| n.name.clone())
            .collect();
        self.meters().insert(
            id.to_string(),
            Meter {
                sources,
                last: None,
                per_sec: 0.0,
            },
        );
    }

    /// Stops measuring task `id`.
    pub fn remove(&self, id: &str) {
        self.meters().remove(id);
    }

    /// Task `id`'s throughput per second (0 for a task not measured).
    pub fn get(&self, id: &str) -> f64 {
        self.meters().get(id).map_or(0.0, |m| m.per_sec)
    }

    /// Takes a sample of every task at `now`; `count` gives the messages its sources have
    /// emitted so far (`None` when the task is gone from the engine).
    fn sample(&self, now: Instant, count: impl Fn(&str, &[String]) -> Option<u64>) {
        let ids: Vec<(String, Vec<String>)> = self
            .meters()
            .iter()
            .map(|(id, m)| (id.clone(), m.sources.clone()))
            .collect();
        for (id, sources) in ids {
            let Some(n) = count(&id, &sources) else {
                continue;
            };
            if let Some(m) = self.meters().get_mut(&id) {
                if let Some((at, before)) = m.last {
                    let secs = now.saturating_duration_since(at).as_secs_f64();
                    if secs > 0.0 {
                        m.per_sec = n.saturating_sub(before) as f64 / secs;
                    }
                }
                m.last = Some((now, n));
            }
        }
    }
}

/// Messages out of the `sources` nodes of task `id` so far.
fn source_count(engine: &Engine, id: &str, sources: &[String]) -> Option<u64> {
    let stats = engine.stats(id)?;
    Some(
        stats
            .edges
            .iter()
            .filter(|((parent, _), _)| sources.contains(parent))
            .map(|(_, n)| *n)
            .sum(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_the_last_period_s_count_over_its_length() {
        let t = Throughput::default();
        let plan = kap_dsl::compile_source(
            "stream\n    |from()\n        .measurement('cpu')\n    |httpOut('x')\n",
            &Default::default(),
        )
        .unwrap()
        .pipeline;
        t.add("t", &plan);
        assert_eq!(t.meters()["t"].sources, vec!["stream0".to_string()]);
        let start = Instant::now();
        t.sample(start, |_, _| Some(100));
        assert_eq!(t.get("t"), 0.0, "one sample is no rate yet");
        t.sample(start + Duration::from_secs(2), |_, _| Some(130));
        assert_eq!(t.get("t"), 15.0);
        t.sample(start + Duration::from_secs(3), |_, _| Some(130));
        assert_eq!(t.get("t"), 0.0, "nothing in the last second");
        t.remove("t");
        assert_eq!(t.get("t"), 0.0);
        assert_eq!(t.get("other"), 0.0);
    }

    #[test]
    fn a_batch_task_s_sources_are_its_queries() {
        let t = Throughput::default();
        let plan = kap_dsl::compile_source(
            "batch\n    |query('SELECT mean(v) FROM \"db\".\"rp\".\"m\"')\n        .period(1m)\n        .every(1m)\n    |httpOut('x')\n",
            &Default::default(),
        )
        .unwrap()
        .pipeline;
        t.add("b", &plan);
        assert_eq!(t.meters()["b"].sources, vec!["query1".to_string()]);
    }
}
