//! A deterministic scheduler: `nodeName`, then `nodeSelector` and required node
//! affinity, then free host ports (the NodePorts filter), then spread (the ready node
//! with the fewest live pods, ties by node order).
//!
//! The real kube-scheduler scores nodes with many plugins and picks among equal scores at
//! random; simctl keeps the filters that decide *whether* a pod can run somewhere
//! (`NodeName`, `NodeAffinity` with `nodeSelector`, `NodePorts`, `NodeUnschedulable`-like
//! readiness) and
//! replaces scoring by a spread with a fixed tie-break, so a scenario's placement is
//! predictable. Taints are not modelled (a [`SimNode`] has none).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm, PodSpec};

use crate::cluster::{Cluster, NodeId, PodId, SimContainer, SimNode};
use crate::net::Protocol;

/// Why a pod does not run: it stays Pending (no node passes the scheduler's filters) or,
/// with `nodeName` set, the kubelet of that node rejects it at admission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoNode {
    /// The scheduler's `FailedScheduling` message; `ports`: the NodePorts filter was
    /// among the reasons.
    Pending { message: String, ports: bool },
    /// The kubelet refused the pod (it is `Failed`); `ports`: for its host ports.
    Rejected { message: String, ports: bool },
}

impl NoNode {
    pub fn message(&self) -> &str {
        match self {
            NoNode::Pending { message, .. } | NoNode::Rejected { message, .. } => message,
        }
    }
    pub fn ports(&self) -> bool {
        match self {
            NoNode::Pending { ports, .. } | NoNode::Rejected { ports, .. } => *ports,
        }
    }
}

/// The NodePorts filter's reason (pkg/scheduler/framework/plugins/nodeports/node_ports.go).
pub const PORTS_REASON: &str = "node(s) didn't have free ports for the requested pod ports";
const AFFINITY_REASON: &str = "node(s) didn't match Pod's node affinity/selector";
const UNREACHABLE_REASON: &str = "node(s) had untolerated taint {node.kubernetes.io/unreachable: }";

/// A host port a pod asks for, as the scheduler keys it (`HostPortInfo`): an empty
/// hostIP is `0.0.0.0`, which conflicts with every address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostPort {
    pub ip: Option<Ipv4Addr>,
    pub protocol: Protocol,
    pub port: u16,
    /// Where it is declared: (container index, port index).
    pub at: (usize, usize),
}

impl HostPort {
    /// `HostPortInfo.CheckConflict`: same protocol and port, and the same address or
    /// either one the wildcard.
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip.is_none() || other.ip.is_none() || self.ip == other.ip)
    }
}

/// The host ports of a pod's containers (`GetHostPorts`: ports with a hostPort; for a
/// hostNetwork pod every declared port has one, its containerPort, by defaulting).
pub fn host_ports(containers: &[SimContainer]) -> Vec<HostPort> {
    containers
        .iter()
        .enumerate()
        .flat_map(|(ci, c)| {
            c.ports.iter().enumerate().filter_map(move |(pi, p)| {
                Some(HostPort {
                    ip: p.host_ip,
                    protocol: p.protocol,
                    port: p.host_port?,
                    at: (ci, pi),
                })
            })
        })
        .collect()
}

/// The first of `want` that a live pod on `node` already holds (a Terminating pod
/// holds its ports until it is gone), with the pod.
pub fn port_taken(cluster: &Cluster, node: NodeId, want: &[HostPort]) -> Option<(HostPort, PodId)> {
    cluster
        .pods
        .iter()
        .enumerate()
        .filter(|(_, p)| p.alive() && p.node == node)
        .find_map(|(id, p)| {
            let used = host_ports(&p.containers);
            want.iter()
                .find(|w| used.iter().any(|u| u.conflicts(w)))
                .map(|w| (*w, id))
        })
}

/// Where a pod goes, or why nowhere. `want`: its host ports ([`host_ports`]).
///
/// Filters run in the default profile's order and a node's first failure is its
/// reason (TaintToleration, NodeAffinity, NodePorts); the message is the scheduler's
/// `FitError`: `0/N nodes are available: ` and the reasons counted, sorted as strings
/// (pkg/scheduler/framework/types.go).
pub fn choose_node(cluster: &Cluster, spec: &PodSpec, want: &[HostPort]) -> Result<NodeId, NoNode> {
    if let Some(name) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        // A pod with nodeName bypasses the scheduler; a missing node leaves it Pending.
        let Some(node) = cluster.node_by_name(name) else {
            return Err(NoNode::Pending {
                message: format!("its nodeName {name:?} names no node of the cluster"),
                ports: false,
            });
        };
        // The kubelet's admission runs the same NodePorts check
        // (pkg/kubelet/lifecycle/predicate.go, Reason NodePorts).
        if let Some((hp, holder)) = port_taken(cluster, node, want) {
            let h = &cluster.pods[holder];
            return Err(NoNode::Rejected {
                message: format!(
                    "Pod Predicate NodePorts failed: pod {}/{} on node {name} already has host port {}/{}",
                    h.namespace,
                    h.name,
                    hp.port,
                    hp.protocol.as_str()
                ),
                ports: true,
            });
        }
        return Ok(node);
    }
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    let mut best: Option<(usize, NodeId)> = None;
    for (id, node) in cluster.nodes.iter().enumerate() {
        let reason = if !node.up {
            Some(UNREACHABLE_REASON)
        } else if !fits(node, spec) {
            Some(AFFINITY_REASON)
        } else if port_taken(cluster, id, want).is_some() {
            Some(PORTS_REASON)
        } else {
            None
        };
        if let Some(r) = reason {
            *reasons.entry(r).or_default() += 1;
            continue;
        }
        let load = pods_on(cluster, id);
        if best.is_none_or(|(b, _)| load < b) {
            best = Some((load, id));
        }
    }
    if let Some((_, id)) = best {
        return Ok(id);
    }
    Err(NoNode::Pending {
        message: fit_error(cluster.nodes.len(), &reasons),
        ports: reasons.contains_key(PORTS_REASON),
    })
}

/// A DaemonSet's pod for `node`: the controller pins it there (node affinity on the
/// node's name), so every other node fails NodeAffinity; `None` when it fits.
pub fn daemon_misfit(cluster: &Cluster, node: NodeId, want: &[HostPort]) -> Option<NoNode> {
    port_taken(cluster, node, want)?;
    let mut reasons = BTreeMap::new();
    reasons.insert(PORTS_REASON, 1);
    let others = cluster.nodes.len().saturating_sub(1);
    if others > 0 {
        reasons.insert(AFFINITY_REASON, others);
    }
    Some(NoNode::Pending {
        message: fit_error(cluster.nodes.len(), &reasons),
        ports: true,
    })
}

/// `FitError.Error()`: the histogram of reasons, each `"<count> <reason>"`, sorted.
fn fit_error(nodes: usize, reasons: &BTreeMap<&str, usize>) -> String {
    let mut parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
    parts.sort();
    format!("0/{nodes} nodes are available: {}.", parts.join(", "))
}

/// Live pods on a node (host-network ones too: they count for the spread).
pub fn pods_on(cluster: &Cluster, node: NodeId) -> usize {
    cluster
        .pods
        .iter()
        .filter(|p| p.alive() && !p.terminating() && p.node == node)
        .count()
}

/// Whether the node passes `nodeSelector` and required node affinity.
pub fn fits(node: &SimNode, spec: &PodSpec) -> bool {
    let selector_ok = spec
        .node_selector
        .as_ref()
        .is_none_or(|sel| sel.iter().all(|(k, v)| node.labels.get(k) == Some(v)));
    let affinity_ok = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .is_none_or(|req| {
            // Terms are ORed; an empty term matches no node
            // (component-helpers/scheduling/corev1/nodeaffinity).
            req.node_selector_terms
                .iter()
                .any(|t| term_matches(t, &node.name, &node.labels))
        });
    selector_ok && affinity_ok
}

fn term_matches(term: &NodeSelectorTerm, name: &str, labels: &BTreeMap<String, String>) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            // Only `metadata.name` is a supported field.
            r.key == "metadata.name" && requirement_matches(r, Some(name))
        })
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    let num = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| values.iter().all(|x| x != v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => {
            matches!((value.and_then(num), values.first().and_then(|x| num(x))), (Some(v), Some(x)) if v > x)
        }
        "Lt" => {
            matches!((value.and_then(num), values.first().and_then(|x| num(x))), (Some(v), Some(x)) if v < x)
        }
        _ => false,
    }
}
