//! Autoscale nodes against an in-memory cluster: Kapacitor's `AutoscaleNode` decisions
//! (first count read from the cluster, bounds, cooldowns in data time, `currentField`), the
//! event points and tags, counters and errors.

mod ops_common;

use kap_dataflow::node::Services;
use kap_dataflow::ops::autoscale::{AUTOSCALE_SERVICE, Autoscale, Orchestrator, Resource, Scaler};
use kap_dataflow::point::{FieldValue, Msg};
use ops_common::{S, int, point, try_node_with};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A cluster whose resources start with the replicas in `start`; records every call.
#[derive(Debug, Default)]
struct Cluster {
    start: HashMap<String, i64>,
    calls: Mutex<Vec<String>>,
}

impl Scaler for Cluster {
    fn check(&self, kind: Orchestrator, cluster: &str) -> Result<(), String> {
        match (kind, cluster) {
            (_, "") => Ok(()),
            _ => Err(format!("unknown cluster {cluster:?}")),
        }
    }

    fn replicas(&self, r: &Resource) -> Result<i64, String> {
        self.calls.lock().unwrap().push(format!("get {r}"));
        let name = r.to_string();
        let name = name.rsplit('/').next().unwrap_or_default();
        self.start
            .get(name)
            .copied()
            .ok_or_else(|| format!("no resource {name}"))
    }

    fn set_replicas(&self, r: &Resource, n: i64) -> Result<(), String> {
        self.calls.lock().unwrap().push(format!("set {r} {n}"));
        Ok(())
    }
}

fn cluster() -> Arc<Cluster> {
    Arc::new(Cluster {
        start: [("a".to_string(), 2), ("b".to_string(), 5)].into(),
        ..Default::default()
    })
}

fn services(c: &Arc<Cluster>) -> Services {
    Services::default().with(
        AUTOSCALE_SERVICE,
        Arc::new(Autoscale(Arc::clone(c) as Arc<dyn Scaler>)),
    )
}

fn want(svc: &str, t_s: i64) -> Msg {
    Msg::Point(point(
        &[("svc", svc)],
        &["svc"],
        &[("want", int(0))],
        t_s * S,
    ))
}

fn at(svc: &str, want_n: i64, t_s: i64) -> Msg {
    Msg::Point(point(
        &[("svc", svc)],
        &["svc"],
        &[("want", int(want_n))],
        t_s * S,
    ))
}

/// An event: time (s), old, new, and its tags.
type Event = (i64, i64, i64, Vec<(String, String)>);

/// Each event emitted.
fn events(out: &[Msg]) -> Vec<Event> {
    out.iter()
        .map(|m| match m {
            Msg::Point(p) => {
                let f = |k: &str| match kap_dataflow::point::get(
                    &p.fields,
                    kap_dataflow::point::Sym::new(k),
                ) {
                    Some(FieldValue::Int(i)) => *i,
                    other => panic!("{k}: {other:?}"),
                };
                assert_eq!(p.fields.len(), 2, "only old and new");
                let tags = p
                    .tags
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
                    .collect();
                (p.time / S, f("old"), f("new"), tags)
            }
            other => panic!("not a point: {other:?}"),
        })
        .collect()
}

#[test]
fn k8s_events_carry_the_resource_tags_and_bounds_apply() {
    let c = cluster();
    let mut n = try_node_with(
        "stream|from().groupBy('svc')|k8sAutoscale().resourceNameTag('svc').replicas(lambda: \"want\").min(2).max(8)",
        services(&c),
    )
    .unwrap();
    let out = n.push_all([at("a", 2, 1), at("a", 20, 2), at("a", 0, 3), at("b", 5, 3)]);
    let tags = |name: &str| {
        vec![
            ("kind".to_string(), "deployments".to_string()),
            ("namespace".into(), "default".into()),
            ("resource".into(), name.into()),
            ("svc".into(), name.into()),
        ]
    };
    // 2 → 2: nothing; 20 is bounded to 8; 0 to 2; b asks for what it has.
    assert_eq!(
        events(&out),
        vec![(2, 2, 8, tags("a")), (3, 8, 2, tags("a"))]
    );
    assert_eq!(
        *c.calls.lock().unwrap(),
        [
            "get default/deployments/a",
            "set default/deployments/a 8",
            "set default/deployments/a 2",
            "get default/deployments/b",
        ]
    );
    assert_eq!(n.stats.counters.get("increase_events"), Some(&1));
    assert_eq!(n.stats.counters.get("decrease_events"), Some(&1));
    assert_eq!(n.cardinality(), 2);
}

#[test]
fn a_change_within_its_cooldown_is_dropped_and_not_remembered() {
    let c = cluster();
    let mut n = try_node_with(
        "stream|from().groupBy('svc')|swarmAutoscale().serviceNameTag('svc').outputServiceNameTag('service').replicas(lambda: \"want\").increaseCooldown(10s).decreaseCooldown(5s)",
        services(&c),
    )
    .unwrap();
    let out = n.push_all([
        at("a", 3, 0),  // 2 → 3 applied
        at("a", 4, 5),  // increase within 10 s: dropped, still 3
        at("a", 1, 6),  // decrease (3 → 1): its own cooldown is free
        at("a", 2, 8),  // increase again, still within 10 s of the first
        at("a", 4, 10), // 1 → 4, 10 s after the last increase
        at("a", 3, 10), // decrease 4 s after the last one (6 s), within 5 s: dropped
    ]);
    let tags = vec![
        ("service".to_string(), "a".to_string()),
        ("svc".into(), "a".into()),
    ];
    assert_eq!(
        events(&out),
        vec![
            (0, 2, 3, tags.clone()),
            (6, 3, 1, tags.clone()),
            (10, 1, 4, tags)
        ]
    );
    assert_eq!(n.stats.counters.get("cooldown_drops"), Some(&3));
}

#[test]
fn current_field_holds_the_count_the_lambda_sees() {
    let c = cluster();
    let mut n = try_node_with(
        "stream|from().groupBy('svc')|k8sAutoscale().resourceName('b').currentField('replicas').replicas(lambda: \"replicas\" + 1)",
        services(&c),
    )
    .unwrap();
    let out = n.push_all([want("x", 1), want("y", 2)]);
    let got: Vec<(i64, i64)> = events(&out).into_iter().map(|e| (e.1, e.2)).collect();
    assert_eq!(got, [(5, 6), (6, 7)]);
}

#[test]
fn errors_are_counted_and_drop_the_point() {
    let c = cluster();
    // No tag to name the resource; a float from the lambda; a resource the cluster lacks.
    let mut n = try_node_with(
        "stream|from()|k8sAutoscale().resourceNameTag('svc').replicas(lambda: float(\"want\")).quiet()",
        services(&c),
    )
    .unwrap();
    let no_tag = Msg::Point(point(&[], &[], &[("want", int(3))], S));
    assert!(
        n.push_all([no_tag, at("a", 3, 2), at("zzz", 3, 3)])
            .is_empty()
    );
    assert_eq!(n.stats.errors, 3);
    // A cluster the service does not know fails the build (the task does not start).
    let err = try_node_with(
        "stream|from()|k8sAutoscale().cluster('other').resourceName('a').replicas(lambda: 1)",
        services(&c),
    )
    .err()
    .expect("refused");
    assert!(
        err.contains(
            "cannot use the k8sAutoscale node, could not create kubernetes client: unknown cluster \"other\""
        ),
        "{err}"
    );
}
