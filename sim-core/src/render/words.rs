//! The sentence of each hop, rendered from its [`Step`]: one template per kind of step.
//!
//! A sentence has an optional `lead`, the name of the place it happens at (`node-1`,
//! the pod's name), and a `body`. The JSON's `detail` is `lead: body`; the terminal's
//! hop table, which prints the place in its own column, shows the body alone when the
//! lead repeats the place.

use crate::cluster::ListenSource;
use crate::cluster::dns::{DnsResult, QueryType, Rcode};
use crate::engine::traffic::Target;
use crate::net::{FiveTuple, Protocol, SockAddr};
use crate::scenario::From;
use crate::trace::{
    Flow, Hop, Masquerader, NatKind, NoRouteHint, NoSender, NoSocket, Place, PolicyRecord,
    RawArrival, Reason, SenderRef, Socket, Step,
};

use super::{View, describe, place_name, reject_words};

/// A hop's sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Words {
    /// The name of the place the sentence is about, when it starts with one.
    pub lead: Option<String>,
    pub body: String,
}

impl Words {
    fn plain(body: String) -> Words {
        Words { lead: None, body }
    }

    fn at(lead: String, body: String) -> Words {
        Words {
            lead: Some(lead),
            body,
        }
    }

    /// The whole sentence: `node-1: kube-proxy ...`.
    pub fn detail(&self) -> String {
        match &self.lead {
            Some(lead) => format!("{lead}: {}", self.body),
            None => self.body.clone(),
        }
    }
}

/// The sentence of `hop` of `flow`.
pub fn words(v: &View, flow: &Flow, hop: &Hop) -> Words {
    let c = v.cluster;
    let node_name = || match hop.place {
        Place::Node(n) => c
            .nodes
            .get(n)
            .map_or_else(|| "node".into(), |n| n.name.clone()),
        other => place_name(c, other),
    };
    let pod_name = |p: usize| {
        c.pods
            .get(p)
            .map_or_else(|| "pod".into(), |p| p.name.clone())
    };
    // Only a lookup the sender answers itself and a sender that names nothing carry no
    // packet, and their sentences read none.
    let t = hop.packet.unwrap_or(NO_PACKET);
    match &hop.step {
        Step::Send { sender } => Words::plain(format!(
            "{} sends {}",
            sender_name(v, *sender),
            describe(&t)
        )),
        Step::DnsQuery { server } => Words::plain(format!(
            "{} asks {} for {}",
            place_name(c, hop.place),
            match nameserver_words(v, server.ip).as_str() {
                "kube-dns" => format!("kube-dns {server}"),
                _ => format!("nameserver {server}"),
            },
            queried_name(v, flow)
        )),
        Step::DnsUnanswered {
            outcome,
            reason,
            last,
        } => {
            let nobody = if *reason == Some(Reason::NoHost)
                && !c.config.cluster_cidr.contains(t.dst.ip)
                && !c.config.service_cidr.contains(t.dst.ip)
            {
                format!(
                    "; no simulated host has {}: simctl's world is the cluster, its nodes and clients, so nothing answers there and the resolver waits in vain",
                    t.dst.ip
                )
            } else {
                String::new()
            };
            Words::plain(format!(
                "the DNS query for {} to {} got no answer ({}{}){nobody}: {}",
                queried_name(v, flow),
                t.dst.ip,
                outcome,
                reason.map(|r| format!(", {r}")).unwrap_or_default(),
                if *last {
                    "the name cannot be resolved, so no connection is attempted"
                } else {
                    "the resolver tries its next nameserver"
                }
            ))
        }
        Step::NodeResolver { node } => Words::plain(format!(
            "{} asks the resolver of its node {} (dnsPolicy {}: the node's resolv.conf), which knows node names and clients' dnsNames, not cluster names: {}",
            place_name(c, hop.place),
            c.nodes.get(*node).map_or("?", |n| n.name.as_str()),
            match hop.place {
                Place::Pod(p) => c.pods.get(p).map_or("Default", |p| {
                    if p.host_network
                        && p.dns.policy == crate::cluster::resolv::DnsPolicy::ClusterFirst
                    {
                        "ClusterFirst on a hostNetwork pod falls back to Default"
                    } else {
                        p.dns.policy.as_str()
                    }
                }),
                _ => "Default",
            },
            answer_words(v, flow)
        )),
        Step::DnsAnswer => Words::plain(format!(
            "{} answers: {}",
            nameserver_words(v, t.src.ip),
            answer_words(v, flow)
        )),
        Step::Lookup => Words::plain(answer_words(v, flow)),
        Step::NoSender(why) => {
            Words::plain(format!("cannot send: {}", sender_missing(v, flow, *why)))
        }
        Step::Lost { from } => Words::plain(format!(
            "the link {} -> {} lost the packet",
            place_name(c, *from),
            place_name(c, hop.place)
        )),
        Step::Route {
            to: Place::External,
        } => Words::plain(format!(
            "{} routes it to {}, the host the given endpoints name",
            node_name(),
            t.dst.ip
        )),
        Step::Route { to } => Words::plain(format!(
            "{} routes it to {}",
            node_name(),
            place_name(c, *to)
        )),
        Step::LoadBalance {
            node,
            health_checked,
        } => Words::plain(format!(
            "the load balancer for {} sends it to {}{}",
            t.dst.ip,
            c.nodes.get(*node).map_or("a node", |n| n.name.as_str()),
            if *health_checked {
                " (a node whose health check passes: externalTrafficPolicy Local)"
            } else {
                ""
            }
        )),
        Step::NoHealthyNode => {
            Words::plain("the load balancer has no healthy node to send to".into())
        }
        Step::NoRoute { hint } => Words::plain(format!(
            "no host has {}: ICMP host unreachable{}",
            t.dst.ip,
            match hint {
                NoRouteHint::ClusterIp =>
                    " (a ClusterIP exists only inside the cluster, on its nodes)",
                NoRouteHint::PodAddress => " (pod addresses are reachable only inside the cluster)",
                NoRouteHint::PendingLoadBalancer =>
                    " (the LoadBalancer Services here are <pending>: with cluster.loadBalancer none, as on bare metal, nothing hands out their addresses; use their NodePorts)",
                NoRouteHint::Nothing => "",
            }
        )),
        Step::NodeDown => Words::plain(format!("{} is down: nothing answers", node_name())),
        Step::NoPodAt => Words::at(node_name(), format!("no pod has {}", t.dst.ip)),
        Step::NoServiceRule => Words::at(
            node_name(),
            format!(
                "no kube-proxy rule matches {}:{} ({}); the address belongs to no host, so the packet goes nowhere",
                t.dst.ip, t.dst.port, t.protocol
            ),
        ),
        Step::HopLimit => Words::plain(format!(
            "hop limit of {} reached: the packet is going in circles",
            crate::engine::MAX_HOPS
        )),
        Step::ServiceDnat {
            proxy, endpoint, ..
        } => {
            let ep = proxy
                .entry
                .as_ref()
                .and_then(|e| e.endpoints.get(*endpoint));
            let to = hop.nat.map_or(t.dst, |n| n.after.dst);
            let who = ep
                .and_then(|ep| ep.pod)
                .map_or_else(|| to.ip.to_string(), pod_name);
            Words::at(
                node_name(),
                format!(
                    "kube-proxy ({}) matches Service {} and picks endpoint {who} {to}",
                    proxy.mode.as_str(),
                    service_name(v, proxy.service.map(|s| s.0))
                ),
            )
        }
        Step::ConntrackHit { .. } => Words::at(
            node_name(),
            "conntrack already knows this connection; same translation as before".into(),
        ),
        Step::HostPortDnat {
            pod, masquerade, ..
        } => {
            let before = hop.nat.map_or(t.dst, |n| n.before.dst);
            let to = hop.nat.map_or(t.dst, |n| n.after.dst);
            Words::at(
                node_name(),
                format!(
                    "portmap (the CNI's hostPort rule on the pod's node) DNATs {}/{} to pod {} {to}{}",
                    before.port,
                    t.protocol,
                    pod_name(*pod),
                    if *masquerade {
                        " and marks it for masquerade (hairpin or localhost)"
                    } else {
                        "; the source is kept"
                    }
                ),
            )
        }
        Step::ProxyReject { proxy, reason } => Words::at(
            node_name(),
            format!(
                "kube-proxy rejects it ({}){}",
                reject_words(t.protocol),
                match reason {
                    Reason::NoEndpoints => format!(
                        ": Service {} has no ready endpoints",
                        service_name(v, proxy.service.map(|s| s.0))
                    ),
                    Reason::NoServicePort => format!(
                        ": {} is a Service address, but no Service exposes port {}",
                        t.dst.ip, t.dst.port
                    ),
                    _ => String::new(),
                }
            ),
        ),
        Step::ProxyDrop { reason, .. } => Words::at(
            node_name(),
            format!("kube-proxy drops it ({})", drop_words(*reason)),
        ),
        Step::HealthCheck {
            healthy,
            local_endpoints,
            ..
        } => Words::at(
            node_name(),
            format!(
                "kube-proxy's health check answers {} ({local_endpoints} local endpoint{})",
                if *healthy {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                },
                if *local_endpoints == 1 { "" } else { "s" }
            ),
        ),
        Step::Masquerade { by } => {
            let to = t.src.ip;
            let node = node_name();
            match by {
                Masquerader::KubeProxy(_) => Words::at(
                    node.clone(),
                    format!(
                        "masquerade: the source becomes {to}, so the reply comes back through {node}"
                    ),
                ),
                Masquerader::Portmap => Words::at(
                    node,
                    format!("portmap masquerades the hostPort connection: the source becomes {to}"),
                ),
                Masquerader::Cni(_) => Words::at(
                    node,
                    format!(
                        "the packet leaves the cluster network, so the CNI masquerades it: the source becomes {to}"
                    ),
                ),
                Masquerader::Conntrack => Words::at(
                    node.clone(),
                    format!(
                        "conntrack gives it the connection's source NAT again: the source becomes {to}, so the reply comes back through {node}"
                    ),
                ),
            }
        }
        Step::Policy(p) => policy_words(v, p, &t),
        Step::Accept(socket) => accept_words(v, hop, *socket, &t),
        Step::Refuse(NoSocket::Pod { pod, loopback }) => {
            let (port, proto) = (t.dst.port, t.protocol);
            let body = if *loopback {
                format!(
                    "a socket listens on {port}/{proto} but is bound to 127.0.0.1: only the pod itself can connect; {}",
                    reject_words(proto)
                )
            } else {
                let listening: Vec<String> = c
                    .pods
                    .get(*pod)
                    .into_iter()
                    .flat_map(|p| p.containers.iter())
                    .flat_map(|k| k.listen.sockets.iter())
                    .map(|s| format!("{}/{}", s.port, s.protocol))
                    .collect();
                format!(
                    "nothing listens on {port}/{proto} (it listens on {}): {}",
                    if listening.is_empty() {
                        "nothing".to_string()
                    } else {
                        listening.join(", ")
                    },
                    reject_words(proto)
                )
            };
            Words::at(pod_name(*pod), body)
        }
        Step::Refuse(NoSocket::Node) => {
            // A hostPort opens the port on the pod's own node only.
            let elsewhere: Vec<String> = c
                .pods
                .iter()
                .filter(|p| p.alive() && !p.host_network && Place::Node(p.node) != hop.place)
                .filter(|p| {
                    p.containers
                        .iter()
                        .flat_map(|k| k.ports.iter())
                        .any(|d| d.host_port == Some(t.dst.port) && d.protocol == t.protocol)
                })
                .map(|p| {
                    let node = c.nodes.get(p.node).map_or("?", |n| n.name.as_str());
                    format!("pod {} on {node}", p.name)
                })
                .collect();
            let hint = if elsewhere.is_empty() {
                String::new()
            } else {
                format!(
                    " (hostPort {} is open only on the node of the pod that asks for it: {})",
                    t.dst.port,
                    elsewhere.join(", ")
                )
            };
            Words::at(
                node_name(),
                format!(
                    "nothing on the node listens on {}/{} and it is no NodePort{hint}: {}",
                    t.dst.port,
                    t.protocol,
                    reject_words(t.protocol)
                ),
            )
        }
        Step::Reply { refused } => Words::plain(format!(
            "{} answers {} {}",
            place_name(c, hop.place),
            if *refused {
                reject_words(t.protocol)
            } else {
                "SYN-ACK"
            },
            describe(&t)
        )),
        Step::ForwardReply => {
            Words::plain(format!("{} forwards the reply", place_name(c, hop.place)))
        }
        Step::UnNat { .. } => {
            let mut changes = Vec::new();
            if let Some(n) = hop.nat {
                if n.before.src != n.after.src {
                    changes.push(format!("source {} -> {}", n.before.src, n.after.src));
                }
                if n.before.dst != n.after.dst {
                    changes.push(format!("destination {} -> {}", n.before.dst, n.after.dst));
                }
            }
            Words::at(
                node_name(),
                format!("conntrack un-NATs the reply: {}", changes.join(", ")),
            )
        }
        Step::Complete { sender } => Words::plain(format!(
            "{} gets the SYN-ACK from {}: connected",
            sender_name(v, *sender),
            t.src
        )),
        Step::Refused { sender } => Words::plain(format!(
            "{} gets {}: connection refused",
            sender_name(v, *sender),
            reject_words(t.protocol)
        )),
    }
}

const NO_PACKET: FiveTuple = FiveTuple {
    protocol: Protocol::Tcp,
    src: SockAddr {
        ip: std::net::Ipv4Addr::UNSPECIFIED,
        port: 0,
    },
    dst: SockAddr {
        ip: std::net::Ipv4Addr::UNSPECIFIED,
        port: 0,
    },
};

/// The name the flow's traffic entry looks up.
fn queried_name<'a>(v: &View<'a>, flow: &Flow) -> &'a str {
    match v.plan(flow).map(|p| &p.to) {
        Some(Target::Connect { host, .. }) => host,
        Some(Target::Resolve { name, .. }) => name,
        None => "the name",
    }
}

/// The flow's DNS answer in words.
/// `kube-dns` for the cluster DNS address, else `nameserver <ip>`.
fn nameserver_words(v: &View, ip: std::net::Ipv4Addr) -> String {
    if v.cluster.cluster_dns() == Some(ip) {
        "kube-dns".into()
    } else {
        format!("nameserver {ip}")
    }
}

fn answer_words(v: &View, flow: &Flow) -> String {
    match &flow.dns {
        Some(r) => dns_words(r),
        None => format!("the answer for {} was not kept", queried_name(v, flow)),
    }
}

/// What a name resolves to: `web resolves to 10.96.0.20`, NXDOMAIN and what was tried.
pub fn dns_words(r: &DnsResult) -> String {
    match r.rcode {
        // An SRV answer carries targets, not addresses: show its records.
        Rcode::NoError if r.qtype == QueryType::Srv => {
            let srv: Vec<&str> = r
                .answers
                .iter()
                .filter(|a| a.rtype == "SRV")
                .map(|a| a.data.as_str())
                .collect();
            if srv.is_empty() {
                format!("{} has no SRV record (NODATA)", r.query)
            } else {
                format!("{} resolves to SRV {}", r.query, srv.join(", "))
            }
        }
        Rcode::NoError => format!(
            "{} resolves to {}",
            r.query,
            r.addresses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Rcode::NxDomain => {
            if r.tried.is_empty() {
                format!("{} does not resolve (NXDOMAIN)", r.query)
            } else {
                format!(
                    "{} does not resolve (NXDOMAIN); tried {}",
                    r.query,
                    r.tried.join(", ")
                )
            }
        }
    }
}

/// Why the traffic entry's `from` names no sender.
fn sender_missing(v: &View, flow: &Flow, why: NoSender) -> String {
    let Some(from) = v.plan(flow).map(|p| &p.from) else {
        return "the traffic entry names no sender".into();
    };
    match (why, from) {
        (NoSender::NotAnAddress, From::Address { ip, .. }) => {
            format!("{ip} is not an IPv4 address")
        }
        (NoSender::NoNode, From::Address { node, .. }) => format!("no node named {node}"),
        (NoSender::NoPod, From::Name(name)) => {
            format!("no pod {}", name.strip_prefix("pod/").unwrap_or(name))
        }
        (NoSender::Unknown, From::Name(name)) => {
            format!("`{name}` is not a client, a node or a pod of this cluster")
        }
        (_, From::Name(name)) => format!("`{name}` names no sender"),
        (_, From::Address { ip, node }) => format!("{ip} on {node} names no sender"),
    }
}

/// The sender as its story names it.
pub fn sender_name(v: &View, sender: SenderRef) -> String {
    let c = v.cluster;
    match sender {
        SenderRef::Place(p) => place_name(c, p),
        SenderRef::Raw { ip, node, arrival } => {
            let node_name = c.nodes.get(node).map_or("node", |n| n.name.as_str());
            match arrival {
                RawArrival::Host => format!("{node_name} (as {ip})"),
                RawArrival::Pod => format!("a pod at {ip} on {node_name}"),
                RawArrival::Wire => format!("{ip} (arriving at {node_name})"),
            }
        }
    }
}

/// `namespace/name` of a Service.
fn service_name(v: &View, svc: Option<usize>) -> String {
    svc.and_then(|s| v.cluster.services.get(s))
        .map(|s| format!("{}/{}", s.namespace, s.name))
        .unwrap_or_default()
}

/// Why kube-proxy dropped a packet.
pub fn drop_words(reason: Reason) -> &'static str {
    match reason {
        Reason::NoLocalEndpoint => {
            "externalTrafficPolicy: Local, and this node has no ready endpoint of the Service"
        }
        Reason::NoLocalInternalEndpoint => {
            "internalTrafficPolicy: Local, and this node has no endpoint of the Service"
        }
        Reason::SourceRangeDenied => "the source is outside loadBalancerSourceRanges",
        _ => "DROP",
    }
}

/// `allow-web ingress[0], allow-dns ingress[1]`: the rules that allowed.
pub(crate) fn allowed_by(v: &View, p: &PolicyRecord) -> String {
    let dir = p.direction.field();
    p.verdict
        .allowed_by
        .iter()
        .map(|(id, r)| {
            let name = v.cluster.policies.get(*id).map_or("?", |p| p.name.as_str());
            format!("{name} {dir}[{r}]")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `default-deny, web-only`: the policies that isolate the pod.
pub(crate) fn isolating(v: &View, p: &PolicyRecord) -> String {
    p.verdict
        .isolating
        .iter()
        .map(|&id| v.cluster.policies.get(id).map_or("?", |p| p.name.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn policy_words(v: &View, p: &PolicyRecord, t: &FiveTuple) -> Words {
    let dir = p.direction.field();
    let pod = v
        .cluster
        .pods
        .get(p.pod)
        .map_or_else(|| "pod".into(), |p| p.name.clone());
    if p.verdict.allowed {
        let body = match (p.verdict.allowed_by.is_empty(), p.verdict.exemption) {
            (true, Some(why)) => format!("{dir} allowed: {}", why.describe()),
            _ => format!("{dir} allowed by {}", allowed_by(v, p)),
        };
        return Words::at(pod, body);
    }
    Words::at(
        pod,
        format!(
            "{dir} denied: the pod is selected by NetworkPolicy {} and no {dir} rule allows {}",
            isolating(v, p),
            describe(t)
        ),
    )
}

fn accept_words(v: &View, hop: &Hop, socket: Socket, t: &FiveTuple) -> Words {
    let c = v.cluster;
    let (port, proto) = (t.dst.port, t.protocol);
    match socket {
        Socket::Container { pod, container } => {
            let p = c.pods.get(pod);
            let name = p.map_or_else(|| "pod".into(), |p| p.name.clone());
            let k = p
                .and_then(|p| p.containers.get(container))
                .map_or("?", |k| k.name.as_str());
            let host = if p.is_some_and(|p| p.host_network) {
                " (hostNetwork: a socket of the node's own network namespace)"
            } else {
                ""
            };
            Words::at(
                name,
                format!("container {k} accepts on {port}/{proto}{host}"),
            )
        }
        Socket::ApiServer => Words::at(
            place_name(c, hop.place),
            format!("kube-apiserver accepts on {port}/{proto}"),
        ),
        Socket::Client(client) => Words::plain(format!(
            "{} accepts the connection (simctl assumes hosts outside the cluster do)",
            c.clients
                .get(client)
                .map_or("the client", |k| k.name.as_str())
        )),
        Socket::Given => Words::plain(format!(
            "{} accepts on {port}/{proto}: an address the Service's given endpoints name and no simulated pod has, taken to be a host that accepts (SCENARIO.md section 3)",
            t.dst.ip
        )),
    }
}

/// How a container's sockets were decided, for the socket rule.
pub(crate) fn listen_source_words(source: &ListenSource) -> String {
    match source {
        ListenSource::Annotation => "per its simctl/listen annotation".to_string(),
        ListenSource::Image { detail, .. } => detail.clone(),
        ListenSource::Declared => "it declares that port (containerPort or a probe)".to_string(),
        ListenSource::Assumed => "assumed: simctl does not know this image and the pod declares no port, so it is taken to accept on any port".to_string(),
    }
}

/// The rewrite line under a hop: `DNAT dst 10.96.0.10:80 -> 10.244.1.3:8080`.
pub fn nat_line(nat: &crate::trace::Nat) -> String {
    let (b, a) = (nat.before, nat.after);
    let change = if b.dst != a.dst && b.src == a.src {
        format!("dst {} -> {}", b.dst, a.dst)
    } else if b.src != a.src && b.dst == a.dst {
        format!("src {} -> {}", b.src, a.src)
    } else {
        format!("{} > {} -> {} > {}", b.src, b.dst, a.src, a.dst)
    };
    format!("{} {change}", nat_label(nat.kind))
}

/// The rewrite's label in the story.
pub fn nat_label(kind: NatKind) -> &'static str {
    match kind {
        NatKind::UnNat { .. } => "DNAT",
        other => other.as_str(),
    }
}
