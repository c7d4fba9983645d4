//! Autoscale nodes: `k8sAutoscale`, `swarmAutoscale`, `ec2Autoscale`.

use super::QUIET;
use super::lambda;
use crate::plan::{Ec2AutoscaleSpec, K8sAutoscaleSpec, NodeSpec, SwarmAutoscaleSpec};
use crate::registry::{ArgKind, NodeDef, Param, Params, PropDef, Provides, Special, Wants};

/// Exactly one of a name and a name tag.
fn check_name(name: &str, name_tag: &str, what: &str) -> Result<(), String> {
    if name.is_empty() == name_tag.is_empty() {
        return Err(format!("must specify exactly one of {what} or {what}Tag"));
    }
    Ok(())
}

/// Kapacitor's shared autoscale checks.
fn check_common(min: i64, replicas: bool) -> Result<(), String> {
    if min < 1 {
        return Err(format!("min must be >= 1, got {min}"));
    }
    if !replicas {
        return Err("must provide a replicas lambda expression".into());
    }
    Ok(())
}

pub(super) const K8S: NodeDef = NodeDef {
    name: "k8sAutoscale",
    desc: "k8s_autoscale",
    doc: "Sets the replica count of Kubernetes deployments, replica sets or replication \
          controllers from a lambda; emits a point per scaling event.",
    wants: Wants::Any,
    provides: Provides::Stream,
    params: Params::NONE,
    props: &[
        str_prop!(
            "cluster",
            "Configured Kubernetes cluster id.",
            K8sAutoscale,
            cluster
        ),
        str_prop!(
            "namespace",
            "Namespace of the resource.",
            K8sAutoscale,
            namespace
        ),
        str_prop!(
            "kind",
            "Resource kind: deployments (default), replicasets or replicationcontrollers.",
            K8sAutoscale,
            kind
        ),
        str_prop!(
            "resourceName",
            "Name of the resource to scale.",
            K8sAutoscale,
            resource_name
        ),
        str_prop!(
            "resourceNameTag",
            "Tag holding the name of the resource to scale.",
            K8sAutoscale,
            resource_name_tag
        ),
        str_prop!(
            "currentField",
            "Field receiving the current replica count.",
            K8sAutoscale,
            current_field
        ),
        int_prop!(
            "max",
            "Maximum replicas (0 = unbounded).",
            K8sAutoscale,
            max
        ),
        int_prop!("min", "Minimum replicas (default 1).", K8sAutoscale, min),
        prop!(
            "replicas",
            "Desired replica count (int lambda).",
            params!(["lambda" Lambda] []),
            K8sAutoscale,
            |s, a| {
                s.replicas = Some(lambda(a, 0)?);
            }
        ),
        dur_prop!(
            "increaseCooldown",
            "Minimum time between increases.",
            K8sAutoscale,
            increase_cooldown
        ),
        dur_prop!(
            "decreaseCooldown",
            "Minimum time between decreases.",
            K8sAutoscale,
            decrease_cooldown
        ),
        str_prop!(
            "namespaceTag",
            "Output tag for the namespace (default `namespace`).",
            K8sAutoscale,
            namespace_tag
        ),
        str_prop!(
            "kindTag",
            "Output tag for the kind (default `kind`).",
            K8sAutoscale,
            kind_tag
        ),
        str_prop!(
            "resourceTag",
            "Output tag for the resource (default `resource`).",
            K8sAutoscale,
            resource_tag
        ),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::K8sAutoscale(K8sAutoscaleSpec::default())),
    validate: |spec| {
        let NodeSpec::K8sAutoscale(s) = spec else {
            return Ok(());
        };
        if s.resource_name.is_empty() == s.resource_name_tag.is_empty() {
            return Err("must specify exactly one of ResourceName or ResourceNameTag".into());
        }
        if !matches!(
            s.kind.as_str(),
            "deployments" | "replicasets" | "replicationcontrollers"
        ) {
            return Err(format!(
                "invalid Kind {:?}, must be one of deployments, replicasets or replicationcontrollers",
                s.kind
            ));
        }
        check_common(s.min, s.replicas.is_some())
    },
    special: Special::None,
};

pub(super) const SWARM: NodeDef = NodeDef {
    name: "swarmAutoscale",
    desc: "swarm_autoscale",
    doc: "Sets the replica count of Docker Swarm services from a lambda; emits a point per \
          scaling event.",
    wants: Wants::Any,
    provides: Provides::Stream,
    params: Params::NONE,
    props: &[
        str_prop!(
            "cluster",
            "Configured Swarm cluster id.",
            SwarmAutoscale,
            cluster
        ),
        str_prop!(
            "serviceName",
            "Name of the service to scale.",
            SwarmAutoscale,
            service_name
        ),
        str_prop!(
            "serviceNameTag",
            "Tag holding the name of the service to scale.",
            SwarmAutoscale,
            service_name_tag
        ),
        str_prop!(
            "outputServiceNameTag",
            "Output tag for the service name.",
            SwarmAutoscale,
            output_service_name_tag
        ),
        str_prop!(
            "currentField",
            "Field receiving the current replica count.",
            SwarmAutoscale,
            current_field
        ),
        int_prop!(
            "max",
            "Maximum replicas (0 = unbounded).",
            SwarmAutoscale,
            max
        ),
        int_prop!("min", "Minimum replicas (default 1).", SwarmAutoscale, min),
        prop!(
            "replicas",
            "Desired replica count (int lambda).",
            params!(["lambda" Lambda] []),
            SwarmAutoscale,
            |s, a| {
                s.replicas = Some(lambda(a, 0)?);
            }
        ),
        dur_prop!(
            "increaseCooldown",
            "Minimum time between increases.",
            SwarmAutoscale,
            increase_cooldown
        ),
        dur_prop!(
            "decreaseCooldown",
            "Minimum time between decreases.",
            SwarmAutoscale,
            decrease_cooldown
        ),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::SwarmAutoscale(SwarmAutoscaleSpec::default())),
    validate: |spec| {
        let NodeSpec::SwarmAutoscale(s) = spec else {
            return Ok(());
        };
        check_name(&s.service_name, &s.service_name_tag, "ServiceName")?;
        check_common(s.min, s.replicas.is_some())
    },
    special: Special::None,
};

pub(super) const EC2: NodeDef = NodeDef {
    name: "ec2Autoscale",
    desc: "ec2_autoscale",
    doc: "Sets the desired capacity of AWS auto scaling groups from a lambda; emits a point \
          per scaling event.",
    wants: Wants::Any,
    provides: Provides::Stream,
    params: Params::NONE,
    props: &[
        str_prop!(
            "cluster",
            "Configured EC2 cluster id.",
            Ec2Autoscale,
            cluster
        ),
        str_prop!(
            "groupName",
            "Name of the auto scaling group.",
            Ec2Autoscale,
            group_name
        ),
        str_prop!(
            "groupNameTag",
            "Tag holding the name of the auto scaling group.",
            Ec2Autoscale,
            group_name_tag
        ),
        str_prop!(
            "outputGroupNameTag",
            "Output tag for the group name.",
            Ec2Autoscale,
            output_group_name_tag
        ),
        str_prop!(
            "currentField",
            "Field receiving the current capacity.",
            Ec2Autoscale,
            current_field
        ),
        int_prop!(
            "max",
            "Maximum capacity (0 = unbounded).",
            Ec2Autoscale,
            max
        ),
        int_prop!("min", "Minimum capacity (default 1).", Ec2Autoscale, min),
        prop!(
            "replicas",
            "Desired capacity (int lambda).",
            params!(["lambda" Lambda] []),
            Ec2Autoscale,
            |s, a| {
                s.replicas = Some(lambda(a, 0)?);
            }
        ),
        dur_prop!(
            "increaseCooldown",
            "Minimum time between increases.",
            Ec2Autoscale,
            increase_cooldown
        ),
        dur_prop!(
            "decreaseCooldown",
            "Minimum time between decreases.",
            Ec2Autoscale,
            decrease_cooldown
        ),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::Ec2Autoscale(Ec2AutoscaleSpec::default())),
    validate: |spec| {
        let NodeSpec::Ec2Autoscale(s) = spec else {
            return Ok(());
        };
        check_name(&s.group_name, &s.group_name_tag, "GroupName")?;
        check_common(s.min, s.replicas.is_some())
    },
    special: Special::None,
};
