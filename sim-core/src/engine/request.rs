//! One request of a traffic entry: who sends, the name lookup a connection needs, and
//! the packet's walk.

use std::net::Ipv4Addr;

use crate::cluster::dns::{Asker, DnsResult, QueryType, Rcode, Server};
use crate::cluster::resolv::Nameserver;
use crate::net::{FiveTuple, Protocol, SockAddr};
use crate::trace::{Backend, Flow, Hop, Outcome, Place, Reason, Step};

use super::traffic::{self, Sender, Target, TrafficPlan};
use super::{End, Engine};

/// glibc's RES_TIMEOUT: how long the resolver waits for a nameserver before the next.
const RES_TIMEOUT_NS: u64 = 5_000_000_000;

const UNSPECIFIED: SockAddr = SockAddr {
    ip: Ipv4Addr::UNSPECIFIED,
    port: 0,
};

impl Engine {
    /// One request of a traffic entry: resolve, then walk the packet.
    pub(super) fn request(&mut self, plan_index: usize, plan: &TrafficPlan, index: u32) -> Flow {
        let start = self.now_ns;
        let mut flow = Flow {
            traffic: plan_index,
            index,
            tuple: FiveTuple {
                protocol: plan.protocol,
                src: UNSPECIFIED,
                dst: UNSPECIFIED,
            },
            outcome: Outcome::Timeout,
            reason: None,
            backend: None,
            source_seen: None,
            masqueraded: false,
            hops: Vec::new(),
            dns: None,
            started_ns: start,
            ended_ns: start,
            lookup_hops: 0,
        };
        let sender = match traffic::resolve_sender(&self.cluster, &plan.from) {
            Ok(s) => s,
            Err(why) => {
                flow.outcome = Outcome::Unreachable;
                flow.reason = Some(Reason::NoRoute);
                flow.hops.push(Hop {
                    at_ns: self.now_ns,
                    place: Place::Internet,
                    packet: None,
                    nat: None,
                    step: Step::NoSender(why),
                });
                return flow;
            }
        };
        let (src_ip, first_place) = self.sender_address(sender);
        match &plan.to {
            Target::Resolve { name, srv } => {
                let qtype = if *srv { QueryType::Srv } else { QueryType::A };
                let port = match plan.source_port {
                    Some(port) => port,
                    None => self.query_port(sender, start),
                };
                flow.tuple.src = SockAddr { ip: src_ip, port };
                match self.name_lookup(sender, name, qtype, port, start, &mut flow.hops) {
                    Ok((result, _)) => {
                        flow.outcome = if result.rcode == Rcode::NoError {
                            Outcome::Delivered
                        } else {
                            Outcome::Nxdomain
                        };
                        flow.reason = (result.rcode == Rcode::NxDomain).then_some(Reason::NxDomain);
                        flow.dns = Some(result);
                    }
                    Err(end) => {
                        flow.outcome = end.outcome;
                        flow.reason = end.reason;
                    }
                }
            }
            Target::Connect { host, port } => {
                let mut t_connect = start;
                let dst_ip = match host.parse::<Ipv4Addr>() {
                    Ok(ip) => Some(ip),
                    Err(_) => {
                        let port = self.query_port(sender, start);
                        let hops = &mut flow.hops;
                        match self.name_lookup(sender, host, QueryType::A, port, start, hops) {
                            Ok((result, answered_ns)) => {
                                t_connect = answered_ns;
                                flow.lookup_hops = flow.hops.len();
                                let ip = result.addresses.first().copied();
                                flow.dns = Some(result);
                                ip
                            }
                            Err(end) => {
                                flow.outcome = end.outcome;
                                flow.reason = end.reason;
                                flow.ended_ns = flow.hops.last().map_or(start, |h| h.at_ns);
                                return flow;
                            }
                        }
                    }
                };
                let Some(dst_ip) = dst_ip else {
                    // The lookup is the whole story.
                    flow.lookup_hops = 0;
                    flow.outcome = Outcome::Nxdomain;
                    flow.reason = Some(Reason::NxDomain);
                    flow.ended_ns = flow.hops.last().map_or(start, |h| h.at_ns);
                    return flow;
                };
                // A pod talking to 127.0.0.1 sends from 127.0.0.1: loopback stays in
                // its network namespace.
                let src_ip = if dst_ip.is_loopback() && matches!(sender, Sender::Pod(_)) {
                    Ipv4Addr::LOCALHOST
                } else {
                    src_ip
                };
                let dst = SockAddr {
                    ip: dst_ip,
                    port: *port,
                };
                let src_port = match plan.source_port {
                    Some(port) => port,
                    None => {
                        let kernel = self.kernel(sender);
                        self.ports
                            .pick(kernel, plan.protocol, src_ip, dst, t_connect)
                    }
                };
                flow.tuple = FiveTuple {
                    protocol: plan.protocol,
                    src: SockAddr {
                        ip: src_ip,
                        port: src_port,
                    },
                    dst,
                };
                let end = self.walk(
                    sender,
                    first_place,
                    flow.tuple,
                    t_connect,
                    &mut flow.hops,
                    &mut flow.masqueraded,
                );
                flow.outcome = end.outcome;
                flow.reason = end.reason;
                flow.backend = end.backend;
                flow.source_seen = end.source_seen;
                // An answered connection is closed by the client, which then holds its
                // 4-tuple in TIME_WAIT: no new connection gets that port meanwhile.
                if end.outcome == Outcome::Delivered {
                    let closed = flow.hops.last().map_or(t_connect, |h| h.at_ns);
                    self.ports.hold(flow.tuple, closed);
                }
            }
        }
        flow.ended_ns = flow.hops.last().map_or(start, |h| h.at_ns);
        flow
    }

    /// Look a name up as `sender` would. A pod asking for a DNS name sends real queries
    /// to the nameservers of its resolv.conf ([`crate::cluster::resolv`]), in order: a
    /// UDP packet that crosses kube-proxy, NetworkPolicy and the server's sockets like any
    /// other packet, so a default-deny egress policy that forgets port 53 breaks name
    /// resolution, and a nameserver no simulated host answers times out (the resolver
    /// then tries the next). The node's resolver (dnsPolicy Default) is asked without a
    /// packet of the cluster's. Node names and `pod/...` references need no query.
    /// Returns the answer and when it arrives, or how the queries failed.
    fn name_lookup(
        &mut self,
        sender: Sender,
        name: &str,
        qtype: QueryType,
        query_port: u16,
        t0: u64,
        hops: &mut Vec<Hop>,
    ) -> Result<(DnsResult, u64), End> {
        let pod = match sender {
            Sender::Pod(p) => Some(p),
            _ => None,
        };
        let needs_query = self.cluster.node_by_name(name).is_none() && !name.starts_with("pod/");
        let (Some(p), true) = (pod, needs_query) else {
            let result = match qtype {
                QueryType::A => self.lookup(name, sender),
                QueryType::Srv => self.cluster.resolve(name, Asker::Outside, qtype),
            };
            let (_, place) = self.sender_address(sender);
            // The sender answers from what it knows: no packet is sent.
            hops.push(Hop {
                at_ns: t0,
                place,
                packet: None,
                nat: None,
                step: Step::Lookup,
            });
            return Ok((result, t0));
        };
        let conf = self.cluster.resolv_conf(p);
        let mut t = t0;
        let mut failed = End::failed(Outcome::Timeout, Reason::NoHost);
        let count = conf.nameservers.len();
        for (i, ns) in conf.nameservers.iter().enumerate() {
            let last = i + 1 == count;
            let server = match *ns {
                Nameserver::Node => {
                    hops.push(Hop {
                        at_ns: t,
                        place: Place::Pod(p),
                        packet: None,
                        nat: None,
                        step: Step::NodeResolver {
                            node: self.cluster.pods[p].node,
                        },
                    });
                    Ok((Server::Upstream, t))
                }
                Nameserver::Ip(ip) => self.dns_query(p, ip, query_port, t, last, hops),
            };
            match server {
                Ok((server, answered)) => {
                    let result =
                        self.cluster
                            .resolve_with(name, &conf.search, conf.ndots, server, qtype);
                    return Ok((result, answered));
                }
                Err((end, until)) => {
                    // A timeout costs the resolver its wait (glibc: 5 s) before the next
                    // nameserver; a refusal moves on at once.
                    t = if end.outcome == Outcome::Timeout {
                        until.saturating_add(RES_TIMEOUT_NS)
                    } else {
                        until
                    };
                    failed = end;
                }
            }
        }
        Err(failed)
    }

    /// One DNS query from pod `p` to `ip`:53 and its answer: who answers it (CoreDNS
    /// with the cluster zone, or a DNS server that knows only the outside world) and
    /// when, or how it failed and when that was known.
    fn dns_query(
        &mut self,
        p: crate::cluster::PodId,
        ip: Ipv4Addr,
        query_port: u16,
        t0: u64,
        last: bool,
        hops: &mut Vec<Hop>,
    ) -> Result<(Server, u64), (End, u64)> {
        let query = FiveTuple {
            protocol: Protocol::Udp,
            src: SockAddr {
                ip: self.cluster.pods[p].ip,
                port: query_port,
            },
            dst: SockAddr { ip, port: 53 },
        };
        let mut masq = false;
        let mut query_hops = Vec::new();
        let end = self.walk(
            Sender::Pod(p),
            Place::Pod(p),
            query,
            t0,
            &mut query_hops,
            &mut masq,
        );
        if let Some(first) = query_hops.first_mut() {
            first.step = Step::DnsQuery { server: query.dst };
        }
        let sent_until = query_hops.last().map_or(t0, |h| h.at_ns);
        hops.extend(query_hops);
        if end.outcome != Outcome::Delivered {
            // Nothing routes the query anywhere that answers: the resolver hears nothing.
            let (outcome, reason) = if end.reason == Some(Reason::NoRoute) {
                (Outcome::Timeout, Some(Reason::NoHost))
            } else {
                (end.outcome, end.reason)
            };
            hops.push(Hop {
                at_ns: sent_until,
                place: Place::Pod(p),
                packet: Some(query),
                nat: None,
                step: Step::DnsUnanswered {
                    outcome,
                    reason,
                    last,
                },
            });
            let end = End {
                outcome,
                reason,
                backend: None,
                source_seen: None,
            };
            return Err((end, sent_until));
        }
        let server = match end.backend {
            Some(Backend::Pod { pod, .. }) if self.cluster.serves_cluster_zone(pod) => {
                Server::Cluster
            }
            _ => Server::Upstream,
        };
        // The answer travels back over the same links, in the same time.
        let answered = sent_until.saturating_add(sent_until.saturating_sub(t0));
        hops.push(Hop {
            at_ns: answered,
            place: Place::Pod(p),
            packet: Some(query.reversed()),
            nat: None,
            step: Step::DnsAnswer,
        });
        Ok((server, answered))
    }

    /// Resolve a host name as `sender` would: pods through the cluster DNS, others by
    /// node names and clients' dnsNames.
    fn lookup(&self, host: &str, sender: Sender) -> DnsResult {
        let asker = match sender {
            Sender::Pod(p) => Asker::Pod(p),
            _ => Asker::Outside,
        };
        let mut result = self.cluster.resolve(host, asker, QueryType::A);
        if result.addresses.is_empty() {
            if let Some(n) = self.cluster.node_by_name(host) {
                result.addresses.push(self.cluster.nodes[n].ip);
                result.rcode = Rcode::NoError;
            } else if let Some(rest) = host.strip_prefix("pod/")
                && let Some(p) = traffic::find_pod(&self.cluster, rest)
            {
                result.addresses.push(self.cluster.pods[p].ip);
                result.rcode = Rcode::NoError;
            }
        }
        result
    }

    /// The source port of a DNS query: the resolver's UDP socket's, drawn as Linux draws
    /// UDP ports ([`super::ports`]).
    fn query_port(&mut self, sender: Sender, t_ns: u64) -> u16 {
        let (ip, _) = self.sender_address(sender);
        let kernel = self.kernel(sender);
        let any = SockAddr {
            ip: Ipv4Addr::UNSPECIFIED,
            port: 53,
        };
        self.ports.pick(kernel, Protocol::Udp, ip, any, t_ns)
    }

    /// The kernel a sender's sockets live in (its ephemeral ports' state): a client's
    /// own, or the node's, which its pods share.
    fn kernel(&self, sender: Sender) -> u32 {
        match sender {
            Sender::Client(c) => 0x8000_0000 | c as u32,
            Sender::Node(n) | Sender::Raw { node: n, .. } => n as u32,
            Sender::Pod(p) => self.cluster.pods[p].node as u32,
        }
    }

    /// The sender's source address and the place its packet starts from.
    pub(super) fn sender_address(&self, sender: Sender) -> (Ipv4Addr, Place) {
        match sender {
            Sender::Client(c) => (self.cluster.clients[c].ip, Place::Client(c)),
            Sender::Node(n) => (self.cluster.nodes[n].ip, Place::Node(n)),
            Sender::Pod(p) => (self.cluster.pods[p].ip, Place::Pod(p)),
            Sender::Raw { ip, node } => (ip, Place::Node(node)),
        }
    }
}
