//! `|k8sAutoscale()`, `|swarmAutoscale()` and `|ec2Autoscale()`: set the replica count of a
//! Kubernetes resource, a Docker Swarm service or an AWS auto scaling group from a lambda,
//! through the [`Scaler`] registered under [`AUTOSCALE_SERVICE`] (the daemon's clients of
//! its `[[kubernetes]]`, `[[swarm]]` and `[[ec2]]` clusters).
//!
//! As Kapacitor's `AutoscaleNode`: the first point of a resource asks the cluster for its
//! current replicas; each point evaluates `.replicas()` (with the current count in
//! `.currentField()` if set), bounds it by `.max()` (when not 0) and `.min()`, and when the
//! count changes and the resource is out of its `.increaseCooldown()` /
//! `.decreaseCooldown()` (data time), sets it on the cluster and emits a point with fields
//! `old` and `new` and the resource's tags. A change within a cooldown is dropped (counted
//! as `cooldown_drops`) and not remembered.
//!
//! The cluster is asked synchronously, as Kapacitor does: each decision needs the outcome
//! of the last. The node's stage gathers to one worker, so one node sees every resource.

use crate::lambda::{CompiledLambda, LambdaState, Value};
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{Dimensions, FieldValue, Fields, Msg, Point, Sym, Tags, set};
use crate::scope::PointScope;
use kap_dsl::expr::Expr;
use kap_dsl::plan::{Ec2AutoscaleSpec, K8sAutoscaleSpec, NodeSpec, SwarmAutoscaleSpec};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Name of the [`Autoscale`] service.
pub const AUTOSCALE_SERVICE: &str = "autoscale";

/// A resource whose replicas a node sets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A Kubernetes deployment, replica set or replication controller.
    K8s {
        /// `.cluster()` (the `[[kubernetes]]` id).
        cluster: String,
        /// Namespace (`default` unless `.namespace()` says).
        namespace: String,
        /// `deployments`, `replicasets` or `replicationcontrollers`.
        kind: String,
        /// Name.
        name: String,
    },
    /// A Docker Swarm service.
    Swarm {
        /// `.cluster()` (the `[[swarm]]` id).
        cluster: String,
        /// Service name or id.
        service: String,
    },
    /// An AWS auto scaling group.
    Ec2 {
        /// `.cluster()` (the `[[ec2]]` id).
        cluster: String,
        /// Group name.
        group: String,
    },
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::K8s {
                namespace,
                kind,
                name,
                ..
            } => write!(f, "{namespace}/{kind}/{name}"),
            Resource::Swarm { service, .. } => f.write_str(service),
            Resource::Ec2 { group, .. } => f.write_str(group),
        }
    }
}

/// Which orchestrator a node scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orchestrator {
    /// Kubernetes (`[[kubernetes]]`).
    K8s,
    /// Docker Swarm (`[[swarm]]`).
    Swarm,
    /// AWS EC2 auto scaling (`[[ec2]]`).
    Ec2,
}

/// Reads and sets replica counts on the daemon's clusters.
pub trait Scaler: Send + Sync + fmt::Debug {
    /// Whether cluster `cluster` of `kind` can be used; `Err` says why not (Kapacitor's
    /// text), and the task does not start.
    fn check(&self, kind: Orchestrator, cluster: &str) -> Result<(), String>;
    /// The current replica count of `resource`.
    fn replicas(&self, resource: &Resource) -> Result<i64, String>;
    /// Sets the replica count of `resource`.
    fn set_replicas(&self, resource: &Resource, replicas: i64) -> Result<(), String>;
}

/// The autoscale service, registered under [`AUTOSCALE_SERVICE`].
#[derive(Debug, Clone)]
pub struct Autoscale(pub Arc<dyn Scaler>);

/// How a node names its resources and tags its events.
#[derive(Debug, Clone)]
enum Target {
    K8s {
        cluster: String,
        namespace: String,
        kind: String,
        name: String,
        name_tag: String,
        namespace_tag: Sym,
        kind_tag: Sym,
        resource_tag: Sym,
    },
    Swarm {
        cluster: String,
        name: String,
        name_tag: String,
        output_tag: Sym,
    },
    Ec2 {
        cluster: String,
        name: String,
        name_tag: String,
        output_tag: Sym,
    },
}

impl Target {
    fn orchestrator(&self) -> (Orchestrator, &str, &'static str) {
        match self {
            Target::K8s { cluster, .. } => (Orchestrator::K8s, cluster, "k8sAutoscale"),
            Target::Swarm { cluster, .. } => (Orchestrator::Swarm, cluster, "swarmAutoscale"),
            Target::Ec2 { cluster, .. } => (Orchestrator::Ec2, cluster, "ec2Autoscale"),
        }
    }

    /// Kapacitor's `ResourceIDFromTags`.
    fn resource(&self, tags: &Tags) -> Result<Resource, String> {
        let name = |fixed: &str, tag: &str, what: &str, both: &str| {
            let name = if !fixed.is_empty() {
                fixed.to_string()
            } else if !tag.is_empty() {
                crate::point::get(tags, Sym::new(tag))
                    .map(|v| v.as_str().to_string())
                    .unwrap_or_default()
            } else {
                return Err(format!("expected one of {both} to be set"));
            };
            if name.is_empty() {
                return Err(format!("could not determine the name of the {what}"));
            }
            Ok(name)
        };
        Ok(match self {
            Target::K8s {
                cluster,
                namespace,
                kind,
                name: fixed,
                name_tag,
                ..
            } => Resource::K8s {
                cluster: cluster.clone(),
                namespace: if namespace.is_empty() {
                    "default".into()
                } else {
                    namespace.clone()
                },
                kind: kind.clone(),
                name: name(
                    fixed,
                    name_tag,
                    "resource",
                    "ResourceName or ResourceNameTag",
                )?,
            },
            Target::Swarm {
                cluster,
                name: fixed,
                name_tag,
                ..
            } => Resource::Swarm {
                cluster: cluster.clone(),
                service: name(
                    fixed,
                    name_tag,
                    "docker swarm service",
                    "serviceName or serviceNameTag",
                )?,
            },
            Target::Ec2 {
                cluster,
                name: fixed,
                name_tag,
                ..
            } => Resource::Ec2 {
                cluster: cluster.clone(),
                group: name(
                    fixed,
                    name_tag,
                    "AWS autoscaling group",
                    "GroupName or GroupNameTag",
                )?,
            },
        })
    }

    /// Kapacitor's `SetResourceIDOnTags`.
    fn tag(&self, resource: &Resource, tags: &mut Tags) {
        let mut put = |tag: Sym, value: &str| {
            if !tag.as_str().is_empty() {
                set(tags, tag, Sym::new(value));
            }
        };
        match (self, resource) {
            (
                Target::K8s {
                    namespace_tag,
                    kind_tag,
                    resource_tag,
                    ..
                },
                Resource::K8s {
                    namespace,
                    kind,
                    name,
                    ..
                },
            ) => {
                put(*namespace_tag, namespace);
                put(*kind_tag, kind);
                put(*resource_tag, name);
            }
            (Target::Swarm { output_tag, .. }, Resource::Swarm { service, .. }) => {
                put(*output_tag, service);
            }
            (Target::Ec2 { output_tag, .. }, Resource::Ec2 { group, .. }) => {
                put(*output_tag, group);
            }
            _ => {}
        }
    }
}

/// The settings all three nodes share.
struct Common<'a> {
    current_field: &'a str,
    min: i64,
    max: i64,
    replicas: &'a Option<Expr>,
    increase_cooldown: i64,
    decrease_cooldown: i64,
    quiet: bool,
}

/// Builds an autoscale node (`spec` is one of the three kinds).
pub(crate) fn build(spec: &NodeSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    let (target, common) = match spec {
        NodeSpec::K8sAutoscale(s) => k8s(s),
        NodeSpec::SwarmAutoscale(s) => swarm(s),
        NodeSpec::Ec2Autoscale(s) => ec2(s),
        other => {
            return Err(BuildError::invalid(
                info,
                format!("{} is not an autoscale node", other.kind()),
            ));
        }
    };
    let Some(expr) = common.replicas else {
        return Err(BuildError::invalid(
            info,
            "must provide a replicas lambda expression",
        ));
    };
    let lambda =
        CompiledLambda::compile(expr).map_err(|e| BuildError::invalid(info, e.to_string()))?;
    let service = info.services.get::<Autoscale>(AUTOSCALE_SERVICE);
    if let Some(service) = &service {
        let (kind, cluster, node) = target.orchestrator();
        let client = match kind {
            Orchestrator::K8s => "kubernetes",
            Orchestrator::Swarm => "swarm",
            Orchestrator::Ec2 => "ec2",
        };
        service.0.check(kind, cluster).map_err(|e| {
            BuildError::invalid(
                info,
                format!("cannot use the {node} node, could not create {client} client: {e}"),
            )
        })?;
    }
    Ok(Box::new(AutoscaleNode {
        target,
        lambda,
        state: None,
        current_field: (!common.current_field.is_empty()).then(|| Sym::new(common.current_field)),
        min: common.min,
        max: common.max,
        increase_cooldown: common.increase_cooldown,
        decrease_cooldown: common.decrease_cooldown,
        quiet: common.quiet,
        service,
        resources: HashMap::new(),
    }))
}

/// The [`Common`] settings of an autoscale spec (the three specs share these fields).
macro_rules! common {
    ($s:expr) => {
        Common {
            current_field: &$s.current_field,
            min: $s.min,
            max: $s.max,
            replicas: &$s.replicas,
            increase_cooldown: $s.increase_cooldown,
            decrease_cooldown: $s.decrease_cooldown,
            quiet: $s.quiet,
        }
    };
}

fn k8s(s: &K8sAutoscaleSpec) -> (Target, Common<'_>) {
    (
        Target::K8s {
            cluster: s.cluster.clone(),
            namespace: s.namespace.clone(),
            kind: s.kind.clone(),
            name: s.resource_name.clone(),
            name_tag: s.resource_name_tag.clone(),
            namespace_tag: Sym::new(&s.namespace_tag),
            kind_tag: Sym::new(&s.kind_tag),
            resource_tag: Sym::new(&s.resource_tag),
        },
        common!(s),
    )
}

fn swarm(s: &SwarmAutoscaleSpec) -> (Target, Common<'_>) {
    (
        Target::Swarm {
            cluster: s.cluster.clone(),
            name: s.service_name.clone(),
            name_tag: s.service_name_tag.clone(),
            output_tag: Sym::new(&s.output_service_name_tag),
        },
        common!(s),
    )
}

fn ec2(s: &Ec2AutoscaleSpec) -> (Target, Common<'_>) {
    (
        Target::Ec2 {
            cluster: s.cluster.clone(),
            name: s.group_name.clone(),
            name_tag: s.group_name_tag.clone(),
            output_tag: Sym::new(&s.output_group_name_tag),
        },
        common!(s),
    )
}

/// What the node knows of a resource.
#[derive(Debug, Clone, Copy)]
struct ResourceState {
    /// Replicas as last set (or read).
    current: i64,
    /// Data time of the last increase / decrease applied.
    last_increase: Option<i64>,
    last_decrease: Option<i64>,
}

struct AutoscaleNode {
    target: Target,
    lambda: CompiledLambda,
    /// The lambda's state (its stateful functions count across all points, as the one
    /// expression of Kapacitor's node does).
    state: Option<LambdaState>,
    current_field: Option<Sym>,
    min: i64,
    max: i64,
    increase_cooldown: i64,
    decrease_cooldown: i64,
    quiet: bool,
    service: Option<Arc<Autoscale>>,
    resources: HashMap<Resource, ResourceState>,
}

/// A point's parts the node reads.
struct Seen<'a> {
    name: Sym,
    dims: Dimensions,
    fields: &'a Fields,
    tags: &'a Tags,
    time: i64,
}

impl AutoscaleNode {
    /// Kapacitor's `handlePoint`: the event's point, if the replicas changed.
    fn handle(&mut self, p: Seen<'_>) -> Result<Option<Event>, Skip> {
        let Some(service) = self.service.clone() else {
            let (_, _, node) = self.target.orchestrator();
            return Err(Skip::Error(format!(
                "{node}: no autoscale service to reach the cluster"
            )));
        };
        let resource = self.target.resource(p.tags).map_err(Skip::Error)?;
        let mut state = match self.resources.get(&resource) {
            Some(s) => *s,
            None => {
                let current = service.0.replicas(&resource).map_err(Skip::Error)?;
                let s = ResourceState {
                    current,
                    last_increase: None,
                    last_decrease: None,
                };
                self.resources.insert(resource.clone(), s);
                s
            }
        };
        let want = self.eval(state.current, &p).map_err(Skip::Error)?;
        let old = state.current;
        let mut new = want;
        if self.max > 0 && new > self.max {
            new = self.max;
        }
        if new < self.min {
            new = self.min;
        }
        if new == old {
            return Ok(None);
        }
        state.current = new;
        let hot = |last: Option<i64>, cooldown: i64| last.is_some_and(|l| p.time < l + cooldown);
        let increase = new > old;
        if increase {
            if hot(state.last_increase, self.increase_cooldown) {
                return Err(Skip::Cooldown);
            }
            state.last_increase = Some(p.time);
        } else {
            if hot(state.last_decrease, self.decrease_cooldown) {
                return Err(Skip::Cooldown);
            }
            state.last_decrease = Some(p.time);
        }
        service.0.set_replicas(&resource, new).map_err(|e| {
            Skip::Error(format!(
                "failed to apply scaling event: failed to set new replica count for {:?}: {e}",
                resource.to_string()
            ))
        })?;
        self.resources.insert(resource.clone(), state);
        let mut tags = p.tags.clone();
        self.target.tag(&resource, &mut tags);
        let mut fields = Fields::default();
        set(&mut fields, Sym::new("new"), FieldValue::Int(new));
        set(&mut fields, Sym::new("old"), FieldValue::Int(old));
        let mut out = Point::new(p.name.as_str(), tags, fields, p.time);
        out.dims = p.dims;
        out.regroup();
        Ok(Some(Event {
            point: out,
            increase,
        }))
    }

    /// The replicas lambda for a point, with the current count in `.currentField()`.
    fn eval(&mut self, current: i64, p: &Seen<'_>) -> Result<i64, String> {
        let state = self.state.get_or_insert_with(|| self.lambda.new_state());
        let v = match self.current_field {
            Some(field) => {
                let mut fields = p.fields.clone();
                set(&mut fields, field, FieldValue::Int(current));
                let scope = PointScope::new(&fields, p.tags, p.time);
                self.lambda.eval(state, &scope)
            }
            None => self
                .lambda
                .eval(state, &PointScope::new(p.fields, p.tags, p.time)),
        }
        .map_err(|e| e.to_string())?;
        match v {
            Value::Int(i) => Ok(i),
            other => Err(format!(
                "expression returned unexpected type {}",
                other.type_name()
            )),
        }
    }

    fn point(&mut self, p: Seen<'_>, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match self.handle(p) {
            Ok(Some(event)) => {
                let counter = if event.increase {
                    "increase_events"
                } else {
                    "decrease_events"
                };
                ctx.stats.add(counter, 1);
                out.push(Msg::Point(event.point));
            }
            Ok(None) => {}
            Err(Skip::Cooldown) => ctx.stats.add("cooldown_drops", 1),
            Err(Skip::Error(e)) => ctx.error(self.quiet, &e),
        }
    }
}

/// A change of replicas applied: the point the node emits.
struct Event {
    point: Point,
    increase: bool,
}

/// Why a point gave no event although its replicas changed.
enum Skip {
    /// The resource is within its cooldown.
    Cooldown,
    /// An error (logged and counted).
    Error(String),
}

impl Processor for AutoscaleNode {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Point(p) => self.point(
                Seen {
                    name: p.name,
                    dims: p.dims,
                    fields: &p.fields,
                    tags: &p.tags,
                    time: p.time,
                },
                ctx,
                out,
            ),
            Msg::Batch(b) => {
                for bp in &b.points {
                    self.point(
                        Seen {
                            name: b.name,
                            dims: b.dims,
                            fields: &bp.fields,
                            tags: &bp.tags,
                            time: bp.time,
                        },
                        ctx,
                        out,
                    );
                }
            }
            other => out.push(other),
        }
    }

    fn cardinality(&self) -> usize {
        self.resources.len()
    }
}
