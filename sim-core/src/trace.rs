//! What happened to each flow: outcomes, reasons and hops (SCENARIO.md sections 4 and 5).
//!
//! Facts, then words. A [`Hop`] is a typed record, as a Batfish trace step is: where the
//! packet is, the packet as it leaves, the rewrite done there ([`Nat`]: the tuple before
//! and after), and a [`Step`] saying what matched: a Service port and its entrance, the
//! endpoint chosen and how, kube-proxy's rule path by typed indexes
//! ([`crate::proxy::rules::Rule`]), a conntrack entry, a NetworkPolicy verdict with its
//! rules, a socket and what decided it, a DNS query and its answer. The object and field
//! that caused a hop ([`Hop::cause`]) follow from the step. No words are stored: the
//! sentences, the rule text (`iptables-save`, `ipvsadm`, `nft` syntax) and the chain
//! names are rendered from these records by [`crate::render`] only when a hop is printed,
//! for the terminal, the JSON and the browser alike. Explanations read the records.
//!
//! Adding a kind of hop is one [`Step`] variant (its facts, its [`Action`], its cause)
//! plus its template in [`crate::render::words`].

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::cluster::{ClientId, Cluster, NodeId, PodId, ProxyMode, ServiceId};
use crate::net::{Cidr, FiveTuple, SockAddr};
use crate::policy::{Direction, PolicyVerdict};
use crate::proxy::index::PortEntry;
use crate::proxy::rules::RulePath;
use crate::proxy::{Entrance, Pick};

/// What the client sees (SCENARIO.md section 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// The handshake completes / the datagram reaches a socket.
    Delivered,
    /// TCP RST or ICMP port unreachable at once.
    Refused,
    /// Silence until the client gives up.
    Timeout,
    /// ICMP host unreachable.
    Unreachable,
    /// The name does not resolve.
    Nxdomain,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Refused => "refused",
            Outcome::Timeout => "timeout",
            Outcome::Unreachable => "unreachable",
            Outcome::Nxdomain => "nxdomain",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "delivered" => Some(Outcome::Delivered),
            "refused" => Some(Outcome::Refused),
            "timeout" => Some(Outcome::Timeout),
            "unreachable" => Some(Outcome::Unreachable),
            "nxdomain" => Some(Outcome::Nxdomain),
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a flow failed: a stable CamelCase code. The outcome each implies is fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// kube-proxy REJECTs: the Service has no (ready) endpoints. -> refused
    NoEndpoints,
    /// The packet reached the pod but no socket listens on that port. -> refused
    NoListener,
    /// A socket listens on the port, bound to 127.0.0.1 only. -> refused
    BoundToLoopback,
    /// A NetworkPolicy drops it (ingress at the destination or egress at the source). -> timeout
    PolicyDenied,
    /// externalTrafficPolicy Local on a node with no local endpoint: DROP. -> timeout
    NoLocalEndpoint,
    /// internalTrafficPolicy Local with no endpoint on the client's node: DROP. -> timeout
    NoLocalInternalEndpoint,
    /// loadBalancerSourceRanges does not include the source. -> timeout
    SourceRangeDenied,
    /// The destination node (or the node the packet must cross) is down. -> timeout
    NodeDown,
    /// A link lost the packet. -> timeout
    PacketLost,
    /// No route to the destination address. -> unreachable
    NoRoute,
    /// The address is routed but nothing answers there (an unused ClusterIP port in
    /// iptables mode, an address no host has). -> timeout
    NoHost,
    /// A port of a Service address that the Service does not expose. -> refused (ipvs, nftables)
    NoServicePort,
    /// The name does not resolve. -> nxdomain
    NxDomain,
    /// The hop limit was reached (a routing loop). -> timeout
    HopLimit,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoEndpoints => "NoEndpoints",
            Reason::NoListener => "NoListener",
            Reason::BoundToLoopback => "BoundToLoopback",
            Reason::PolicyDenied => "PolicyDenied",
            Reason::NoLocalEndpoint => "NoLocalEndpoint",
            Reason::NoLocalInternalEndpoint => "NoLocalInternalEndpoint",
            Reason::SourceRangeDenied => "SourceRangeDenied",
            Reason::NodeDown => "NodeDown",
            Reason::PacketLost => "PacketLost",
            Reason::NoRoute => "NoRoute",
            Reason::NoHost => "NoHost",
            Reason::NoServicePort => "NoServicePort",
            Reason::NxDomain => "NxDomain",
            Reason::HopLimit => "HopLimit",
        }
    }

    /// The outcome the client sees for this reason.
    pub fn outcome(self) -> Outcome {
        match self {
            Reason::NoEndpoints
            | Reason::NoListener
            | Reason::BoundToLoopback
            | Reason::NoServicePort => Outcome::Refused,
            Reason::NoRoute => Outcome::Unreachable,
            Reason::NxDomain => Outcome::Nxdomain,
            Reason::PolicyDenied
            | Reason::NoLocalEndpoint
            | Reason::NoLocalInternalEndpoint
            | Reason::SourceRangeDenied
            | Reason::NodeDown
            | Reason::PacketLost
            | Reason::NoHost
            | Reason::HopLimit => Outcome::Timeout,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of an address rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NatKind {
    Dnat,
    Snat,
    Masquerade,
    /// conntrack's reverse translation of a reply: it undoes the rewrites the request got
    /// on this node (a DNAT is undone on the reply's source, a SNAT or masquerade on its
    /// destination).
    UnNat {
        dnat: bool,
        snat: bool,
    },
}

impl NatKind {
    /// `DNAT`, `SNAT`, `MASQUERADE`; `UNNAT` for a reply's reverse translation.
    pub fn as_str(self) -> &'static str {
        match self {
            NatKind::Dnat => "DNAT",
            NatKind::Snat => "SNAT",
            NatKind::Masquerade => "MASQUERADE",
            NatKind::UnNat { .. } => "UNNAT",
        }
    }
}

/// An address rewrite at a hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nat {
    pub kind: NatKind,
    pub before: FiveTuple,
    pub after: FiveTuple,
}

/// Where a hop happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    Client(crate::cluster::ClientId),
    /// The outside network between clients, load balancers and nodes.
    Internet,
    /// A cloud load balancer in front of the nodes.
    LoadBalancer,
    Node(crate::cluster::NodeId),
    Pod(crate::cluster::PodId),
    /// A host the simulation has no object for that accepts connections: an address a
    /// Service's given endpoints (EndpointSlice, Endpoints) name and no pod has.
    External,
}

/// What happened at a hop, in one word (the JSON's `action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// The sender emits the packet.
    Send,
    /// A DNS lookup before the connection.
    Resolve,
    /// Handed to the next place over a link.
    Forward,
    /// kube-proxy translated the destination.
    Dnat,
    /// kube-proxy masqueraded the source.
    Masquerade,
    /// conntrack translated a reply back.
    UnNat,
    /// A NetworkPolicy let it through.
    PolicyAllow,
    /// A NetworkPolicy dropped it.
    PolicyDrop,
    /// kube-proxy rejected it (REJECT).
    Reject,
    /// Dropped (kube-proxy DROP, node down, no host, hop limit).
    Drop,
    /// A link lost it.
    Lost,
    /// A socket accepted it.
    Deliver,
    /// The destination answered with a TCP RST / ICMP port unreachable.
    Refuse,
    /// The destination answered (SYN-ACK) and the reply travels back.
    Reply,
    /// The reply reached the client: the handshake completed.
    Complete,
    /// No route: ICMP host unreachable.
    Unreachable,
    /// kube-proxy's health-check server answered.
    HealthCheck,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Send => "send",
            Action::Resolve => "resolve",
            Action::Forward => "forward",
            Action::Dnat => "dnat",
            Action::Masquerade => "masquerade",
            Action::UnNat => "un-nat",
            Action::PolicyAllow => "policy-allow",
            Action::PolicyDrop => "policy-drop",
            Action::Reject => "reject",
            Action::Drop => "drop",
            Action::Lost => "lost",
            Action::Deliver => "deliver",
            Action::Refuse => "refuse",
            Action::Reply => "reply",
            Action::Complete => "complete",
            Action::Unreachable => "unreachable",
            Action::HealthCheck => "health-check",
        }
    }
}

/// The YAML behind a hop: which object and field made it happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    pub origin: crate::cluster::Origin,
    /// The field path inside that object (`spec.ports[0].targetPort`).
    pub field: String,
}

/// Who sent a flow, as its story names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderRef {
    /// A client, a node or a pod: named as the place.
    Place(Place),
    /// A raw `{ip, node}` packet, by how it enters the node (SCENARIO.md section 2).
    Raw {
        ip: Ipv4Addr,
        node: NodeId,
        arrival: RawArrival,
    },
}

/// How a raw `{ip, node}` packet enters its node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawArrival {
    /// The address is the node's own (or loopback): a host process sends it.
    Host,
    /// The address is in clusterCIDR: a pod of the node sends it.
    Pod,
    /// Anything else: it arrives from the wire.
    Wire,
}

/// Why a traffic entry's `from` names no sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoSender {
    /// `from: {ip: ...}` is not an IPv4 address.
    NotAnAddress,
    /// `from: {node: ...}` names no node.
    NoNode,
    /// `from: pod/...` names no pod.
    NoPod,
    /// A name that is no client, node or pod.
    Unknown,
}

/// Why an address has no route (ICMP host unreachable), for the words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoRouteHint {
    /// The address is in serviceCIDR: a ClusterIP exists only on the nodes.
    ClusterIp,
    /// The address is in clusterCIDR: pod addresses are not routed from outside.
    PodAddress,
    /// LoadBalancer Services here are `<pending>` (no load-balancer controller).
    PendingLoadBalancer,
    /// Nothing more to say.
    Nothing,
}

/// What kube-proxy did with a packet: the Service port it matched (and how the packet
/// met it), the rules that matched in order, as typed records of the real proxier's
/// rules. `entry` is kube-proxy's view of that Service port as of its last sync, shared
/// with its index (an `Arc`: no copy per packet), so the rules print with the chain
/// names and endpoints that were programmed when the packet passed.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeProxy {
    pub mode: ProxyMode,
    /// The Service, its port (index into `spec.ports`) and the entrance.
    pub service: Option<(ServiceId, usize, Entrance)>,
    pub entry: Option<Arc<PortEntry>>,
    pub rules: RulePath,
}

/// A conntrack entry: a connection's first packet as it arrived and as it left the
/// node (destination and source rewrites both applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConntrackEntry {
    pub original: FiveTuple,
    pub translated: FiveTuple,
}

/// Who rewrote the source to the node's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Masquerader {
    /// kube-proxy's KUBE-MARK-MASQ mark, applied at POSTROUTING.
    KubeProxy(ProxyMode),
    /// The CNI's rule for pod traffic leaving the cluster network (`cidr`: clusterCIDR).
    Cni(Cidr),
    /// conntrack: a packet of a known connection gets the source NAT its first packet got.
    Conntrack,
    /// The portmap CNI plugin's CNI-HOSTPORT-MASQ: hairpin (from the pod's own subnet)
    /// and localhost traffic to a hostPort.
    Portmap,
}

/// A NetworkPolicy verdict at a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRecord {
    pub pod: PodId,
    pub direction: Direction,
    /// The other end, as the policy saw it: the source for ingress, the destination
    /// for egress.
    pub peer: crate::policy::Peer,
    pub verdict: PolicyVerdict,
}

/// The socket that accepted a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Socket {
    /// A container of a pod (what decided its sockets: the container's
    /// [`crate::cluster::ListenSource`]).
    Container { pod: PodId, container: usize },
    /// kube-apiserver on the first node (the `default/kubernetes` Service's endpoint).
    ApiServer,
    /// A client: simctl assumes hosts outside the cluster accept.
    Client(ClientId),
    /// A host at an address the given endpoints name and no pod has.
    Given,
}

/// Where nothing accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoSocket {
    /// The pod has no socket on the port (`loopback`: one, bound to 127.0.0.1 only).
    Pod { pod: PodId, loopback: bool },
    /// The node's address, on a port no process of the node and no NodePort has.
    Node,
}

/// What matched at a hop: the typed facts the words are rendered from.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// The sender emits the packet.
    Send { sender: SenderRef },
    /// A pod's DNS query to its nameserver leaves the pod.
    DnsQuery { server: SockAddr },
    /// A lookup the sender answers from its own knowledge (node names, `pod/...`,
    /// clients' dnsNames): no packet is sent. The answer is the flow's `dns`.
    Lookup,
    /// The node's resolver answered (dnsPolicy Default, or ClusterFirst on a
    /// hostNetwork pod): it knows node names and clients' dnsNames, not cluster names.
    /// No packet of the cluster's. The answer is the flow's `dns`.
    NodeResolver { node: NodeId },
    /// The nameserver's answer reached the pod. The answer is the flow's `dns`.
    DnsAnswer,
    /// The query got no answer; `last`: no nameserver is left to try, the name cannot
    /// be resolved.
    DnsUnanswered {
        outcome: Outcome,
        reason: Option<Reason>,
        last: bool,
    },
    /// The traffic entry's `from` names no sender.
    NoSender(NoSender),
    /// A link lost the packet (the hop is at the far end).
    Lost { from: Place },
    /// A node routes the packet to the next place.
    Route { to: Place },
    /// The cloud load balancer hands the packet to a node (`health_checked`: only nodes
    /// whose kube-proxy health check passes, externalTrafficPolicy Local).
    LoadBalance { node: NodeId, health_checked: bool },
    /// The load balancer has no node to send to.
    NoHealthyNode,
    /// No host has the address: ICMP host unreachable.
    NoRoute { hint: NoRouteHint },
    /// The node is down.
    NodeDown,
    /// An address of this node's podCIDR that no pod and no given endpoint has.
    NoPodAt,
    /// An address of the service CIDR that no kube-proxy rule matches.
    NoServiceRule,
    /// The hop limit was reached.
    HopLimit,
    /// kube-proxy DNATed the packet to endpoint `endpoint` of the entry, chosen by
    /// `pick`; `masquerade`: it marked the packet for masquerade.
    ServiceDnat {
        proxy: Box<KubeProxy>,
        endpoint: usize,
        pick: Pick,
        masquerade: bool,
    },
    /// conntrack knew the connection: the same translation as its first packet.
    ConntrackHit { entry: ConntrackEntry },
    /// The portmap CNI plugin DNATed `nodeIP:hostPort` to the pod's containerPort
    /// (`port`: index into the container's ports); `masquerade`: it marked the packet for
    /// masquerade (hairpin or localhost).
    HostPortDnat {
        pod: PodId,
        container: usize,
        port: usize,
        masquerade: bool,
    },
    /// kube-proxy rejected the packet.
    ProxyReject {
        proxy: Box<KubeProxy>,
        reason: Reason,
    },
    /// kube-proxy dropped the packet.
    ProxyDrop {
        proxy: Box<KubeProxy>,
        reason: Reason,
    },
    /// kube-proxy's health-check server answered.
    HealthCheck {
        proxy: Box<KubeProxy>,
        healthy: bool,
        local_endpoints: usize,
    },
    /// The source was rewritten to the node's address (the new source is `nat.after`).
    Masquerade { by: Masquerader },
    /// A NetworkPolicy verdict.
    Policy(Box<PolicyRecord>),
    /// A socket accepted the connection.
    Accept(Socket),
    /// Nothing accepted: TCP RST / ICMP port unreachable.
    Refuse(NoSocket),
    /// The destination answers (SYN-ACK, or the rejection when `refused`).
    Reply { refused: bool },
    /// A place on the way back forwards the reply.
    ForwardReply,
    /// conntrack un-NATs the reply: the connection's entries on this node, newest first.
    UnNat {
        entries: SmallVec<[ConntrackEntry; 2]>,
    },
    /// The reply reached the sender: connected.
    Complete { sender: SenderRef },
    /// The rejection reached the sender: connection refused.
    Refused { sender: SenderRef },
}

impl Step {
    /// The one-word action of the step.
    pub fn action(&self) -> Action {
        match self {
            Step::Send { .. } | Step::DnsQuery { .. } => Action::Send,
            Step::Lookup
            | Step::NodeResolver { .. }
            | Step::DnsAnswer
            | Step::DnsUnanswered { .. } => Action::Resolve,
            Step::Lost { .. } => Action::Lost,
            Step::Route { .. } | Step::LoadBalance { .. } | Step::ForwardReply => Action::Forward,
            Step::NoSender(_)
            | Step::NoHealthyNode
            | Step::NodeDown
            | Step::NoPodAt
            | Step::NoServiceRule
            | Step::HopLimit
            | Step::ProxyDrop { .. } => Action::Drop,
            Step::NoRoute { .. } => Action::Unreachable,
            Step::ServiceDnat { .. } | Step::ConntrackHit { .. } | Step::HostPortDnat { .. } => {
                Action::Dnat
            }
            Step::ProxyReject { .. } => Action::Reject,
            Step::HealthCheck { .. } => Action::HealthCheck,
            Step::Masquerade { .. } => Action::Masquerade,
            Step::Policy(p) if p.verdict.allowed => Action::PolicyAllow,
            Step::Policy(_) => Action::PolicyDrop,
            Step::Accept(_) => Action::Deliver,
            Step::Refuse(_) | Step::Refused { .. } => Action::Refuse,
            Step::Reply { .. } => Action::Reply,
            Step::UnNat { .. } => Action::UnNat,
            Step::Complete { .. } => Action::Complete,
        }
    }

    /// kube-proxy's record, for the steps kube-proxy decided.
    pub fn kube_proxy(&self) -> Option<&KubeProxy> {
        match self {
            Step::ServiceDnat { proxy, .. }
            | Step::ProxyReject { proxy, .. }
            | Step::ProxyDrop { proxy, .. }
            | Step::HealthCheck { proxy, .. } => Some(proxy),
            _ => None,
        }
    }

    /// The Service and port index (into `spec.ports`) kube-proxy matched here.
    pub fn service_port(&self) -> Option<(ServiceId, usize)> {
        self.kube_proxy()
            .and_then(|k| k.service)
            .map(|(s, p, _)| (s, p))
    }

    /// The NetworkPolicy verdict recorded here.
    pub fn policy(&self) -> Option<&PolicyRecord> {
        match self {
            Step::Policy(p) => Some(p),
            _ => None,
        }
    }
}

/// One step of a packet's path.
#[derive(Clone, Debug, PartialEq)]
pub struct Hop {
    /// Virtual time, nanoseconds since the start of the run.
    pub at_ns: u64,
    pub place: Place,
    /// The packet as it leaves this hop; `None` for a step that sends no packet (a
    /// lookup the sender answers itself, a sender that names nothing).
    pub packet: Option<FiveTuple>,
    pub nat: Option<Nat>,
    /// What matched.
    pub step: Step,
}

impl Hop {
    pub fn action(&self) -> Action {
        self.step.action()
    }

    /// The object and field whose YAML made this hop happen: the Service port kube-proxy
    /// matched, the policy rule that allowed (or the policy that isolated), the container
    /// that accepted (or the pod's containers, none of which did).
    pub fn cause(&self, cluster: &Cluster) -> Option<Cause> {
        match &self.step {
            Step::ServiceDnat { .. }
            | Step::ProxyReject { .. }
            | Step::ProxyDrop { .. }
            | Step::HealthCheck { .. } => {
                let (s, p) = self.step.service_port()?;
                Some(Cause {
                    origin: cluster.services.get(s)?.origin,
                    field: format!("spec.ports[{p}]"),
                })
            }
            Step::Policy(p) => {
                let dir = p.direction.field();
                if p.verdict.allowed {
                    let &(id, rule) = p.verdict.allowed_by.first()?;
                    Some(Cause {
                        origin: cluster.policies.get(id)?.origin,
                        field: format!("spec.{dir}[{rule}]"),
                    })
                } else {
                    let &id = p.verdict.isolating.first()?;
                    Some(Cause {
                        origin: cluster.policies.get(id)?.origin,
                        field: format!("spec.{dir}"),
                    })
                }
            }
            Step::HostPortDnat {
                pod,
                container,
                port,
                ..
            } => {
                let p = cluster.pods.get(*pod)?;
                Some(Cause {
                    origin: p.origin,
                    field: format!(
                        "{}.containers[{container}].ports[{port}].hostPort",
                        p.spec_path
                    ),
                })
            }
            Step::Accept(Socket::Container { pod, container }) => {
                let p = cluster.pods.get(*pod)?;
                Some(Cause {
                    origin: p.origin,
                    field: format!(
                        "{}.{}",
                        p.spec_path,
                        p.containers
                            .get(*container)
                            .map_or("containers", |k| k.field.as_str())
                    ),
                })
            }
            Step::Refuse(NoSocket::Pod { pod, .. }) => {
                let p = cluster.pods.get(*pod)?;
                Some(Cause {
                    origin: p.origin,
                    field: format!("{}.containers", p.spec_path),
                })
            }
            _ => None,
        }
    }
}

/// Who answered a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Pod {
        pod: crate::cluster::PodId,
        port: u16,
    },
    /// kube-proxy itself (health-check node port).
    KubeProxy {
        node: crate::cluster::NodeId,
        port: u16,
    },
    /// A host outside the simulation (a given endpoint that is no pod); `node`: the node
    /// whose pod network it is in (its nodeName, or the podCIDR holding it), if any.
    External {
        ip: std::net::Ipv4Addr,
        port: u16,
        node: Option<crate::cluster::NodeId>,
    },
    /// A client (traffic between clients, or to a client's address).
    Client {
        client: crate::cluster::ClientId,
        port: u16,
    },
    /// A node's own process (traffic to a node address on a port that is no NodePort).
    Node {
        node: crate::cluster::NodeId,
        port: u16,
    },
}

/// One request of one traffic entry, from start to end.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// Index of the traffic entry in `spec.traffic` (or of the generated probe).
    pub traffic: usize,
    /// Which request of that entry (0-based).
    pub index: u32,
    /// The packet as the client sent it.
    pub tuple: FiveTuple,
    pub outcome: Outcome,
    pub reason: Option<Reason>,
    pub backend: Option<Backend>,
    /// The source address the backend saw.
    pub source_seen: Option<std::net::Ipv4Addr>,
    /// kube-proxy marked it for masquerade (even where the address did not change).
    pub masqueraded: bool,
    pub hops: Vec<Hop>,
    pub dns: Option<crate::cluster::dns::DnsResult>,
    pub started_ns: u64,
    pub ended_ns: u64,
    /// How many of the first `hops` are the name lookup (the DNS query and its answer)
    /// that preceded a connection; 0 when there was none or when the lookup itself failed
    /// (then the lookup is the whole story).
    pub lookup_hops: usize,
}

impl Flow {
    /// The hops of the connection itself, after any successful name lookup: what an
    /// explanation of the outcome looks at.
    pub fn story_hops(&self) -> &[Hop] {
        self.hops.get(self.lookup_hops..).unwrap_or(&self.hops)
    }
}
