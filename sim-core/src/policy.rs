//! NetworkPolicy (networking.k8s.io/v1), enforced at the pod with Kubernetes' semantics.
//!
//! Read off the API's field docs (`pkg/apis/networking/types.go` in
//! kubernetes/kubernetes) and the concept page
//! (`content/en/docs/concepts/services-networking/network-policies.md` in
//! kubernetes/website):
//!
//! - **Isolation.** A pod is isolated for a direction when a live policy of its
//!   namespace selects it (`spec.podSelector`; `{}` selects every pod) and lists that
//!   direction in `spec.policyTypes`. The loader applied the API server's default: a
//!   policy without policyTypes is `Ingress`, plus `Egress` when it has egress rules (so
//!   a policy written with only egress rules isolates ingress too). A pod that is not
//!   isolated accepts (sends) everything.
//! - **Additive.** An isolated pod allows a connection iff some rule of some selecting
//!   policy allows it; policies never conflict and order does not matter.
//! - **A rule** allows traffic matching both its peers (`from`/`to`) and its `ports`;
//!   an empty or missing list matches all.
//! - **Peers.** `podSelector` alone: pods of the *policy's* namespace. `namespaceSelector`
//!   alone: every pod of the matching namespaces. Both in one peer: pods matching the pod
//!   selector *within* namespaces matching the namespace selector (AND; two separate
//!   peers are OR). `ipBlock`: the peer address inside `cidr` and in no `except` CIDR.
//!   ipBlock looks at the address as the packet carries it when the policy sees it,
//!   which may be a node's address after kube-proxy masqueraded the connection ("it is
//!   not defined whether this happens before or after NetworkPolicy processing"; simctl
//!   applies policies at the pod, after NAT).
//! - **Ports.** `protocol` (TCP by default), `port` a number (with `endPort`, a range)
//!   or a name. A named port resolves for ingress against the ports of the pod the
//!   policy protects (the destination) and for egress against the peer pod's; a name
//!   that does not resolve, or a named egress port towards a non-pod, matches nothing.
//! - **Exceptions** (the concept page: "a pod cannot block access to itself"; "traffic
//!   to and from the node where a Pod is running is always allowed"): a connection
//!   between a pod and itself, or between a pod and an address of its own node, is
//!   allowed whatever the policies say.
//! - **hostNetwork pods** are neither protected nor selected: the concept page leaves
//!   their behaviour to the plugin, and simctl takes the common reading that their
//!   traffic is the node's. A host-network pod given as `pod` is never isolated; as a
//!   peer, only its address (the node's) is matched, by ipBlock.
//! - **Replies.** Policies judge new connections. The reply packets of an allowed
//!   connection are allowed without a check: the data plane keeps them in conntrack.
//!   A connection between two pods needs the source's egress *and* the destination's
//!   ingress to allow it: the data plane calls [`check`] once per direction.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::cluster::{Cluster, PodId, PolicyId, SimPod};
use crate::net::{Cidr, Protocol};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    /// `ingress` / `egress`, as the spec's field names.
    pub fn field(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    /// `Ingress` / `Egress`, as policyTypes spell them.
    pub fn policy_type(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }
}

/// The other end of the connection: its address, and the pod when it is one.
///
/// `ip` is the address as the policy sees it (after any NAT on the way); `pod` is the
/// pod that owns that address, `None` when the address is not a pod's (a client, a
/// node, a masqueraded connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    pub ip: Ipv4Addr,
    pub pod: Option<PodId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVerdict {
    pub allowed: bool,
    /// Policies that select the pod for this direction (it is isolated when non-empty).
    pub isolating: Vec<PolicyId>,
    /// Policies with a rule that allowed the connection (index of policy, index of rule).
    pub allowed_by: Vec<(PolicyId, usize)>,
    /// Why the connection is allowed whatever the policies say, when it is.
    pub exemption: Option<Exemption>,
}

/// Connections no NetworkPolicy can block (the concept page, "a pod cannot block access
/// to itself"; "traffic to and from the node where a Pod is running is always allowed").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exemption {
    /// Between a pod and itself.
    SamePod,
    /// Between a pod and an address of its own node.
    OwnNode,
}

impl Exemption {
    pub fn describe(self) -> &'static str {
        match self {
            Exemption::SamePod => "a pod cannot block traffic with itself",
            Exemption::OwnNode => "traffic between a pod and its own node is always allowed",
        }
    }
}

/// May a new connection pass `pod` in `direction` with `peer` on `port`/`protocol`?
/// For ingress `pod` is the destination and `port` its port; for egress `pod` is the
/// source and `port` the destination port (named ports resolve on the peer pod).
///
/// Allocates nothing when the pod is not isolated (the common case).
pub fn check(
    cluster: &Cluster,
    pod: PodId,
    direction: Direction,
    peer: Peer,
    port: u16,
    protocol: Protocol,
) -> PolicyVerdict {
    let open = PolicyVerdict {
        allowed: true,
        isolating: Vec::new(),
        allowed_by: Vec::new(),
        exemption: None,
    };
    let Some(target) = cluster.pods.get(pod) else {
        return open;
    };
    if target.host_network {
        return open;
    }
    let mut isolating = Vec::new();
    for (id, policy) in cluster.policies.iter().enumerate() {
        if policy.alive
            && policy.namespace == target.namespace
            && applies(&policy.spec, direction)
            && selector_matches(policy.spec.pod_selector.as_ref(), |k| {
                target.labels.get(k).map(String::as_str)
            })
        {
            isolating.push(id);
        }
    }
    if isolating.is_empty() {
        return open;
    }
    let mut allowed_by = Vec::new();
    for &id in &isolating {
        let policy = &cluster.policies[id];
        let ctx = RuleCtx {
            cluster,
            policy_namespace: &policy.namespace,
            target,
            direction,
            peer,
            port,
            protocol,
        };
        match direction {
            Direction::Ingress => {
                for (i, rule) in policy.spec.ingress.iter().flatten().enumerate() {
                    if ctx.rule_allows(rule.from.as_deref(), rule.ports.as_deref()) {
                        allowed_by.push((id, i));
                    }
                }
            }
            Direction::Egress => {
                for (i, rule) in policy.spec.egress.iter().flatten().enumerate() {
                    if ctx.rule_allows(rule.to.as_deref(), rule.ports.as_deref()) {
                        allowed_by.push((id, i));
                    }
                }
            }
        }
    }
    let exemption = exemption(cluster, pod, target, peer);
    let allowed = !allowed_by.is_empty() || exemption.is_some();
    PolicyVerdict {
        allowed,
        isolating,
        allowed_by,
        exemption,
    }
}

/// Why a connection is allowed whatever the policies say, if it is.
fn exemption(cluster: &Cluster, pod: PodId, target: &SimPod, peer: Peer) -> Option<Exemption> {
    if peer.pod == Some(pod) || peer.ip == target.ip {
        return Some(Exemption::SamePod);
    }
    let peer_is_pod = peer
        .pod
        .and_then(|p| cluster.pods.get(p))
        .is_some_and(|p| !p.host_network);
    if !peer_is_pod
        && cluster
            .nodes
            .get(target.node)
            // The bridge's address (the podCIDR's first) is the node's too: kube-proxy
            // masquerades to it for traffic it sends to a local pod.
            .is_some_and(|n| {
                n.addresses().any(|a| a == peer.ip) || n.pod_cidr.nth(1) == Some(peer.ip)
            })
    {
        return Some(Exemption::OwnNode);
    }
    None
}

/// Whether the policy has `direction` in its policyTypes (with the API server's
/// default when the field is somehow missing).
fn applies(spec: &NetworkPolicySpec, direction: Direction) -> bool {
    match spec.policy_types.as_deref() {
        Some(types) if !types.is_empty() => types.iter().any(|t| t == direction.policy_type()),
        _ => match direction {
            Direction::Ingress => true,
            Direction::Egress => spec.egress.as_ref().is_some_and(|e| !e.is_empty()),
        },
    }
}

/// A label selector against labels given by `get`. `None` and `{}` match everything;
/// an unknown operator matches nothing (validation rejects it first).
pub fn selector_matches<'a>(
    selector: Option<&LabelSelector>,
    get: impl Fn(&str) -> Option<&'a str>,
) -> bool {
    let Some(sel) = selector else {
        return true;
    };
    for (k, v) in sel.match_labels.iter().flatten() {
        if get(k) != Some(v.as_str()) {
            return false;
        }
    }
    for req in sel.match_expressions.iter().flatten() {
        let value = get(&req.key);
        let values = req.values.as_deref().unwrap_or(&[]);
        let ok = match req.operator.as_str() {
            "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
            "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// What a rule is judged against.
struct RuleCtx<'a> {
    cluster: &'a Cluster,
    policy_namespace: &'a str,
    /// The pod the policy selected.
    target: &'a SimPod,
    direction: Direction,
    peer: Peer,
    port: u16,
    protocol: Protocol,
}

impl RuleCtx<'_> {
    fn rule_allows(
        &self,
        peers: Option<&[NetworkPolicyPeer]>,
        ports: Option<&[NetworkPolicyPort]>,
    ) -> bool {
        let peer_ok = match peers {
            None | Some([]) => true,
            Some(list) => list.iter().any(|p| self.peer_matches(p)),
        };
        peer_ok
            && match ports {
                None | Some([]) => true,
                Some(list) => list.iter().any(|p| self.port_matches(p)),
            }
    }

    /// The peer pod, when it is one simctl can select (not host-network).
    fn peer_pod(&self) -> Option<&SimPod> {
        self.peer
            .pod
            .and_then(|p| self.cluster.pods.get(p))
            .filter(|p| !p.host_network)
    }

    fn peer_matches(&self, p: &NetworkPolicyPeer) -> bool {
        if let Some(block) = &p.ip_block {
            return ip_block_matches(block, self.peer.ip);
        }
        if p.pod_selector.is_none() && p.namespace_selector.is_none() {
            // Not a valid peer (validation requires one field): matches nothing.
            return false;
        }
        let Some(pod) = self.peer_pod() else {
            return false;
        };
        let namespace_ok = match &p.namespace_selector {
            None => pod.namespace == self.policy_namespace,
            Some(sel) => {
                let labels = self.cluster.namespaces.get(&pod.namespace);
                selector_matches(Some(sel), |k| namespace_label(labels, &pod.namespace, k))
            }
        };
        namespace_ok
            && match &p.pod_selector {
                None => true,
                Some(sel) => selector_matches(Some(sel), |k| pod.labels.get(k).map(String::as_str)),
            }
    }

    fn port_matches(&self, p: &NetworkPolicyPort) -> bool {
        let protocol = p
            .protocol
            .as_deref()
            .map_or(Some(Protocol::Tcp), Protocol::parse);
        if protocol != Some(self.protocol) {
            return false;
        }
        match &p.port {
            None => true,
            Some(IntOrString::Int(n)) => {
                let port = i32::from(self.port);
                match p.end_port {
                    Some(end) => *n <= port && port <= end,
                    None => *n == port,
                }
            }
            Some(IntOrString::String(name)) => {
                let owner = match self.direction {
                    Direction::Ingress => Some(self.target),
                    Direction::Egress => self.peer_pod(),
                };
                owner.is_some_and(|pod| {
                    pod.containers.iter().flat_map(|c| &c.ports).any(|d| {
                        d.name.as_deref() == Some(name.as_str())
                            && d.protocol == self.protocol
                            && d.port == self.port
                    })
                })
            }
        }
    }
}

/// A namespace's label; a namespace simctl has no labels for still carries the name
/// label the API server adds to every namespace.
fn namespace_label<'a>(
    labels: Option<&'a BTreeMap<String, String>>,
    name: &'a str,
    key: &str,
) -> Option<&'a str> {
    match labels {
        Some(l) => l.get(key).map(String::as_str),
        None => (key == "kubernetes.io/metadata.name").then_some(name),
    }
}

/// `cidr` contains `ip` and no `except` does. An IPv6 or malformed block matches
/// nothing (validation rejects malformed ones; simctl's addresses are IPv4).
fn ip_block_matches(block: &IPBlock, ip: Ipv4Addr) -> bool {
    let Some(cidr) = Cidr::parse(&block.cidr) else {
        return false;
    };
    cidr.contains(ip)
        && !block
            .except
            .iter()
            .flatten()
            .filter_map(|e| Cidr::parse(e))
            .any(|e| e.contains(ip))
}

/// The field path of a rule, for pointing at the YAML: `spec.ingress[0]`.
pub fn rule_path(direction: Direction, rule: usize) -> String {
    format!("spec.{}[{rule}]", direction.field())
}

impl PolicyVerdict {
    /// One line for a trace: `allowed by allow-frontend ingress[0]`, or
    /// `denied: pod shop/db is selected by default-deny (ingress), and no rule allows
    /// 10.244.1.5 to port 80/TCP`. Arguments are those given to [`check`].
    pub fn describe(
        &self,
        cluster: &Cluster,
        pod: PodId,
        direction: Direction,
        peer: Peer,
        port: u16,
        protocol: Protocol,
    ) -> String {
        let policy_name = |id: PolicyId| {
            cluster
                .policies
                .get(id)
                .map_or("?", |p| p.name.as_str())
                .to_string()
        };
        let pod_name = cluster.pods.get(pod).map_or_else(
            || "?".to_string(),
            |p| format!("{}/{}", p.namespace, p.name),
        );
        if self.isolating.is_empty() {
            return format!(
                "allowed: no NetworkPolicy selects pod {pod_name} for {}",
                direction.field()
            );
        }
        if !self.allowed_by.is_empty() {
            let by: Vec<String> = self
                .allowed_by
                .iter()
                .map(|&(id, rule)| format!("{} {}[{rule}]", policy_name(id), direction.field()))
                .collect();
            return format!("allowed by {}", by.join(", "));
        }
        if let (true, Some(why)) = (self.allowed, self.exemption) {
            return format!("allowed: {}", why.describe());
        }
        let names: Vec<String> = self.isolating.iter().map(|&id| policy_name(id)).collect();
        let what = match direction {
            Direction::Ingress => format!("{} to port {port}/{protocol}", peer.ip),
            Direction::Egress => format!("it to {}:{port}/{protocol}", peer.ip),
        };
        format!(
            "denied: pod {pod_name} is selected by {} ({}), and no rule allows {what}",
            names.join(", "),
            direction.field()
        )
    }
}

#[cfg(test)]
mod tests;
