//! Updates: an `apply` event that names an object the cluster already has.
//!
//! `kubectl apply` of a changed manifest is a three-way merge patch (the live object, the
//! manifest last applied, the new one), then an update through the API server's update
//! path: the strategy's `PrepareForUpdate`, `ValidateUpdate`
//! ([`crate::validation::update`]), then for a Service `allocateUpdate`. For a Service:
//! - [`merge_service`]: what the patch keeps. A field the new manifest writes is the new
//!   value; a field it leaves out that the last applied manifest wrote is deleted; a
//!   field neither writes (a ClusterIP, nodePort or healthCheckNodePort the API server
//!   allocated) keeps its live value.
//! - [`drop_type_dependent_fields`]: `dropTypeDependentFields` in
//!   `pkg/registry/core/service/strategy.go`: switching to a type that no longer uses a
//!   field wipes it when the user did not also change it, so a NodePort Service applied
//!   again as `type: ClusterIP` that still carries its nodePort or
//!   externalTrafficPolicy is accepted and its nodePort released.
//! - the allocation is redone without the old Service's reservations (what
//!   `allocateUpdate` releases and keeps comes to the same): a retained or re-requested
//!   value is reserved again, an unset one allocated.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{SimService, TargetPort};
use crate::manifest::LoadedObject;
use crate::net::Protocol;
use crate::yaml::{Node, Value};

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// The Service as the API server stores it: the manifest last applied (defaulted), with
/// what was allocated written in; synthesized from the simulation for simctl's own.
pub fn stored_service(sim: &SimService) -> Service {
    let mut svc = match &sim.applied {
        Some(o) => match &o.object {
            crate::objects::Object::Service(s) => (**s).clone(),
            _ => Service::default(),
        },
        None => synthesized(sim),
    };
    let spec = svc.spec.get_or_insert_with(Default::default);
    if let Some(ip) = sim.cluster_ip {
        spec.cluster_ip = Some(ip.to_string());
        spec.cluster_ips = Some(vec![ip.to_string()]);
    }
    for (p, sp) in spec.ports.iter_mut().flatten().zip(&sim.ports) {
        p.node_port = sp.node_port.map(i32::from);
    }
    spec.health_check_node_port = sim.health_check_node_port.map(i32::from);
    svc
}

/// A stored object for a Service simctl made itself (`default/kubernetes`, `kube-dns`).
fn synthesized(sim: &SimService) -> Service {
    let type_ = sim.type_.as_str().to_string();
    Service {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(sim.name.clone()),
            namespace: Some(sim.namespace.clone()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            type_: Some(type_),
            selector: sim.selector.clone(),
            session_affinity: Some("None".into()),
            internal_traffic_policy: Some("Cluster".into()),
            ip_families: Some(vec!["IPv4".into()]),
            ip_family_policy: Some("SingleStack".into()),
            ports: Some(
                sim.ports
                    .iter()
                    .map(|p| ServicePort {
                        name: Some(p.name.clone()).filter(|n| !n.is_empty()),
                        port: i32::from(p.port),
                        protocol: Some(p.protocol.as_str().to_string()),
                        target_port: Some(match &p.target {
                            TargetPort::Number(n) => IntOrString::Int(i32::from(*n)),
                            TargetPort::Name(n) => IntOrString::String(n.clone()),
                        }),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        status: None,
    }
}

/// Which of the allocatable fields a manifest writes.
#[derive(Debug, Default)]
struct Written {
    cluster_ip: bool,
    /// (port, protocol) of the ports that write a nodePort.
    node_ports: Vec<(i32, Protocol)>,
    health_check_node_port: bool,
}

fn written(node: &Node) -> Written {
    let Some(spec) = node.get("spec") else {
        return Written::default();
    };
    let mut w = Written {
        cluster_ip: spec.get("clusterIP").is_some() || spec.get("clusterIPs").is_some(),
        health_check_node_port: spec.get("healthCheckNodePort").is_some(),
        node_ports: Vec::new(),
    };
    if let Some(Value::Seq(ports)) = spec.get("ports").map(|p| &p.value) {
        for p in ports.iter().filter(|p| p.get("nodePort").is_some()) {
            let port = match p.get("port").map(|n| &n.value) {
                Some(Value::Int(n)) => i32::try_from(*n).unwrap_or(0),
                _ => 0,
            };
            let proto = p
                .get("protocol")
                .and_then(Node::as_str)
                .and_then(Protocol::parse)
                .unwrap_or_default();
            w.node_ports.push((port, proto));
        }
    }
    w
}

fn protocol_of(p: &ServicePort) -> Protocol {
    p.protocol
        .as_deref()
        .and_then(Protocol::parse)
        .unwrap_or_default()
}

/// What `kubectl apply`'s patch makes of `new` (written as `new_node`) over the stored
/// `old`, whose last applied manifest is `old_applied` (see the module docs).
pub fn merge_service(
    new: &mut Service,
    new_node: &Node,
    old: &Service,
    old_applied: Option<&LoadedObject>,
) {
    let now = written(new_node);
    let before = old_applied.map(|o| written(&o.node)).unwrap_or_default();
    let empty = ServiceSpec::default();
    let o = old.spec.as_ref().unwrap_or(&empty);
    let n = new.spec.get_or_insert_with(Default::default);
    if !now.cluster_ip && !before.cluster_ip {
        n.cluster_ip = o.cluster_ip.clone();
        n.cluster_ips = o.cluster_ips.clone();
    }
    for p in n.ports.iter_mut().flatten() {
        let key = (p.port, protocol_of(p));
        if now.node_ports.contains(&key) || before.node_ports.contains(&key) {
            continue;
        }
        if let Some(np) = o
            .ports
            .iter()
            .flatten()
            .find(|q| (q.port, protocol_of(q)) == key)
            .and_then(|q| q.node_port)
        {
            p.node_port = Some(np);
        }
    }
    if !now.health_check_node_port && !before.health_check_node_port {
        n.health_check_node_port = o.health_check_node_port;
    }
}

fn needs_node_port(spec: &ServiceSpec) -> bool {
    matches!(s(&spec.type_), "NodePort" | "LoadBalancer")
}

fn needs_hc_node_port(spec: &ServiceSpec) -> bool {
    s(&spec.type_) == "LoadBalancer" && s(&spec.external_traffic_policy) == "Local"
}

/// `dropTypeDependentFields(newSvc, oldSvc)` (strategy.go): wipe what the new type does
/// not use, where the user did not change it.
pub fn drop_type_dependent_fields(n: &mut ServiceSpec, o: &ServiceSpec) {
    let needs_cluster_ip = |spec: &ServiceSpec| s(&spec.type_) != "ExternalName";
    if needs_cluster_ip(o) && !needs_cluster_ip(n) {
        if n.cluster_ip == o.cluster_ip && n.cluster_ips == o.cluster_ips {
            n.cluster_ip = None;
            n.cluster_ips = None;
        }
        if n.ip_families == o.ip_families {
            n.ip_families = None;
        }
        if n.ip_family_policy == o.ip_family_policy {
            n.ip_family_policy = None;
        }
    }
    // sameNodePorts: the user may add, remove or modify ports, as long as they add no
    // net-new nodePort.
    let node_ports = |spec: &ServiceSpec| -> Vec<i32> {
        spec.ports
            .iter()
            .flatten()
            .filter_map(|p| p.node_port.filter(|np| *np != 0))
            .collect()
    };
    let (new_nps, old_nps) = (node_ports(n), node_ports(o));
    if needs_node_port(o) && !needs_node_port(n) && new_nps.iter().all(|p| old_nps.contains(p)) {
        for p in n.ports.iter_mut().flatten() {
            p.node_port = None;
        }
    }
    if needs_hc_node_port(o)
        && !needs_hc_node_port(n)
        && n.health_check_node_port == o.health_check_node_port
    {
        n.health_check_node_port = None;
    }
    if s(&o.type_) == "LoadBalancer" && s(&n.type_) != "LoadBalancer" {
        if n.allocate_load_balancer_node_ports.is_some()
            && n.allocate_load_balancer_node_ports == o.allocate_load_balancer_node_ports
        {
            n.allocate_load_balancer_node_ports = None;
        }
        if n.load_balancer_class == o.load_balancer_class {
            n.load_balancer_class = None;
        }
    }
    if needs_node_port(o)
        && !needs_node_port(n)
        && n.external_traffic_policy == o.external_traffic_policy
    {
        n.external_traffic_policy = None;
    }
}
