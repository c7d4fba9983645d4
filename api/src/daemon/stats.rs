//! Kapacitor's internal statistics, in Kapacitor's shapes: each a named set of tags and
//! values (`ingress` per database, retention policy and measurement; `kapacitor`; `nodes`
//! and `edges` per running task). `/debug/vars` serves them under `kapacitor` as
//! `{name, tags, values}` objects, which Telegraf's `inputs.kapacitor` and `kapacitor stats
//! ingress` read; with `[stats] enabled` they also enter the stream every `stats-interval`
//! as points of `[stats] database`/`retention-policy` (`_kapacitor.autogen`), so tasks can
//! watch the daemon itself, as Kapacitor's stats service does.

use super::Daemon;
use kap_dataflow::point::{FieldValue, Point, Sym};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

/// One statistic: its name (the measurement of its points), tags and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    /// `ingress`, `kapacitor`, `nodes`, `edges`, `write`.
    pub name: &'static str,
    /// Its tags, with the daemon's `host`, `cluster_id` and `server_id`.
    pub tags: BTreeMap<String, String>,
    /// Its values (integers).
    pub values: BTreeMap<String, i64>,
}

impl Stat {
    fn new(d: &Daemon, name: &'static str, tags: &[(&str, &str)]) -> Stat {
        let mut all: BTreeMap<String, String> = [
            ("host", d.config.hostname.as_str()),
            ("cluster_id", d.ids.cluster.as_str()),
            ("server_id", d.ids.server.as_str()),
        ]
        .iter()
        .chain(tags)
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
        all.retain(|_, v| !v.is_empty());
        Stat {
            name,
            tags: all,
            values: BTreeMap::new(),
        }
    }

    fn with(mut self, key: &str, value: i64) -> Stat {
        self.values.insert(key.to_string(), value);
        self
    }

    /// A key naming it among the others (`ingress:database=…,measurement=…`).
    fn key(&self) -> String {
        let tags: Vec<String> = self
            .tags
            .iter()
            .filter(|(k, _)| !["host", "cluster_id", "server_id"].contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("{}:{}", self.name, tags.join(","))
    }

    /// `{name, tags, values}`, as `/debug/vars` shows it.
    fn json(&self) -> Value {
        json!({"name": self.name, "tags": self.tags, "values": self.values})
    }

    /// The statistic as a point of `db`.`rp` at `time`.
    fn point(&self, db: &str, rp: &str, time: i64) -> Point {
        let tags: Vec<(Sym, Sym)> = self
            .tags
            .iter()
            .map(|(k, v)| (Sym::new(k), Sym::new(v)))
            .collect();
        let fields: Vec<(Sym, FieldValue)> = self
            .values
            .iter()
            .map(|(k, v)| (Sym::new(k), FieldValue::Int(*v)))
            .collect();
        Point::new(self.name, tags, fields, time).in_db(db, rp)
    }
}

/// A node's kind from its name (`window2` → `window`).
fn kind_of(node: &str) -> &str {
    node.trim_end_matches(|c: char| c.is_ascii_digit())
}

/// Every statistic now.
pub fn collect(d: &Daemon) -> Vec<Stat> {
    let mut out = Vec::new();
    let (tasks, enabled) = d.tasks.counts();
    let subscriptions = d
        .subscriptions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map_or(0, |s| s.count());
    out.push(
        Stat::new(d, "kapacitor", &[])
            .with("num_tasks", tasks as i64)
            .with("num_enabled_tasks", enabled as i64)
            .with("num_subscriptions", subscriptions as i64),
    );
    for ((db, rp, m), n) in d.runtime.ingest.received() {
        out.push(
            Stat::new(
                d,
                "ingress",
                &[
                    ("database", db.as_str()),
                    ("retention_policy", rp.as_str()),
                    ("measurement", m.as_str()),
                    ("task_master", "main"),
                ],
            )
            .with("points_received", i64::try_from(n).unwrap_or(i64::MAX)),
        );
    }
    let i = &d.runtime.ingest;
    let count = |c: &std::sync::atomic::AtomicU64| {
        i64::try_from(c.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(i64::MAX)
    };
    out.push(
        Stat::new(d, "write", &[])
            .with("points_received", count(&i.points_received))
            .with("points_rejected", count(&i.points_rejected))
            .with("writes_refused", count(&i.writes_refused))
            .with("write_requests", count(&i.write_requests)),
    );
    for (task, kind) in d.tasks.executing() {
        let st = d.runtime.task_stats(&task);
        for (node, values) in &st.node_stats {
            let mut stat = Stat::new(
                d,
                "nodes",
                &[
                    ("task", task.as_str()),
                    ("node", node.as_str()),
                    ("type", kind.as_str()),
                    ("kind", kind_of(node)),
                ],
            );
            for (k, v) in values.as_object().into_iter().flatten() {
                if let Some(v) = v.as_i64() {
                    stat = stat.with(k, v);
                }
            }
            out.push(stat);
        }
        for ((parent, child), n) in d.runtime.edge_stats(&task) {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            out.push(
                Stat::new(
                    d,
                    "edges",
                    &[
                        ("task", task.as_str()),
                        ("parent", parent.as_str()),
                        ("child", child.as_str()),
                        ("type", kind.as_str()),
                    ],
                )
                .with("collected", n)
                .with("emitted", n),
            );
        }
    }
    out
}

/// The `kapacitor` object of `/debug/vars`: every statistic by its key.
pub fn vars(d: &Daemon) -> Value {
    let all: Map<String, Value> = collect(d).iter().map(|s| (s.key(), s.json())).collect();
    Value::Object(all)
}

/// With `[stats] enabled`, writes the statistics into the stream every `stats-interval`
/// until the daemon is dropped.
pub fn start(daemon: &Arc<Daemon>) {
    let c = &daemon.config.stats;
    if !c.enabled || c.stats_interval.is_zero() {
        return;
    }
    let (interval, db, rp) = (
        c.stats_interval,
        c.database.clone(),
        c.retention_policy.clone(),
    );
    let weak: Weak<Daemon> = Arc::downgrade(daemon);
    let spawned = std::thread::Builder::new()
        .name("stats".into())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                let Some(d) = weak.upgrade() else {
                    return;
                };
                let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
                let points: Vec<Point> =
                    collect(&d).iter().map(|s| s.point(&db, &rp, now)).collect();
                if let Err(e) = d.runtime.write(points) {
                    tracing::warn!("writing internal statistics: {e}");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("starting the statistics thread: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_keys() {
        assert_eq!(kind_of("window2"), "window");
        assert_eq!(kind_of("stream0"), "stream");
        assert_eq!(kind_of("alert"), "alert");
    }
}
