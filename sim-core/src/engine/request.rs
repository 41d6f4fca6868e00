//! One request of a traffic entry: who sends, the name lookup a connection needs, and
//! the packet's walk.

use std::net::Ipv4Addr;

use rand::Rng;

use crate::cluster::dns::{Asker, DnsResult, QueryType, Rcode};
use crate::net::{FiveTuple, Protocol, SockAddr};
use crate::trace::{Flow, Hop, Outcome, Place, Reason, Step};

use super::traffic::{self, Sender, Target, TrafficPlan};
use super::{EPHEMERAL_PORTS, End, Engine};

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
        let src_port = plan
            .source_port
            .unwrap_or_else(|| self.rng.random_range(EPHEMERAL_PORTS));
        match &plan.to {
            Target::Resolve { name, srv } => {
                let qtype = if *srv { QueryType::Srv } else { QueryType::A };
                flow.tuple.src = SockAddr {
                    ip: src_ip,
                    port: src_port,
                };
                match self.name_lookup(sender, name, qtype, start, &mut flow.hops) {
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
                        match self.name_lookup(sender, host, QueryType::A, start, &mut flow.hops) {
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
                flow.tuple = FiveTuple {
                    protocol: plan.protocol,
                    src: SockAddr {
                        ip: src_ip,
                        port: src_port,
                    },
                    dst: SockAddr {
                        ip: dst_ip,
                        port: *port,
                    },
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
            }
        }
        flow.ended_ns = flow.hops.last().map_or(start, |h| h.at_ns);
        flow
    }

    /// Look a name up as `sender` would. A pod asking for a DNS name sends a real query:
    /// a UDP packet to its nameserver (the `kube-system/kube-dns` ClusterIP) that crosses
    /// kube-proxy, NetworkPolicy and the CoreDNS pods' sockets like any other packet, so
    /// a default-deny egress policy that forgets port 53 breaks name resolution. Node
    /// names and `pod/...` references need no query. Returns the answer and when it
    /// arrives, or how the query failed.
    fn name_lookup(
        &mut self,
        sender: Sender,
        name: &str,
        qtype: QueryType,
        t0: u64,
        hops: &mut Vec<Hop>,
    ) -> Result<(DnsResult, u64), End> {
        let pod = match sender {
            Sender::Pod(p) => Some(p),
            _ => None,
        };
        let dns_service = self.cluster.service_by_name("kube-system", "kube-dns");
        let nameserver = dns_service.and_then(|s| self.cluster.services[s].cluster_ip);
        let needs_query = self.cluster.node_by_name(name).is_none() && !name.starts_with("pod/");
        let (Some(p), Some(ns_ip), true) = (pod, nameserver, needs_query) else {
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
        let query = FiveTuple {
            protocol: Protocol::Udp,
            src: SockAddr {
                ip: self.cluster.pods[p].ip,
                port: self.rng.random_range(EPHEMERAL_PORTS),
            },
            dst: SockAddr {
                ip: ns_ip,
                port: 53,
            },
        };
        let mut masq = false;
        let mut query_hops = Vec::new();
        let end = self.walk(sender, Place::Pod(p), query, t0, &mut query_hops, &mut masq);
        if let Some(first) = query_hops.first_mut() {
            first.step = Step::DnsQuery { server: query.dst };
        }
        let sent_until = query_hops.last().map_or(t0, |h| h.at_ns);
        hops.extend(query_hops);
        if end.outcome != Outcome::Delivered {
            hops.push(Hop {
                at_ns: sent_until,
                place: Place::Pod(p),
                packet: Some(query),
                nat: None,
                step: Step::DnsUnanswered {
                    outcome: end.outcome,
                    reason: end.reason,
                },
            });
            return Err(End {
                backend: None,
                source_seen: None,
                ..end
            });
        }
        let result = self.cluster.resolve(name, Asker::Pod(p), qtype);
        // The answer travels back over the same links, in the same time.
        let answered = sent_until.saturating_add(sent_until.saturating_sub(t0));
        hops.push(Hop {
            at_ns: answered,
            place: Place::Pod(p),
            packet: Some(query.reversed()),
            nat: None,
            step: Step::DnsAnswer,
        });
        Ok((result, answered))
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
