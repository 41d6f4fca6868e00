//! A packet's walk from its sender, place by place, until a socket accepts it or
//! something refuses, drops or loses it; then the answer's way back ([`super::reply`]).

use std::net::Ipv4Addr;

use rand::Rng;

use crate::cluster::NodeId;
use crate::cluster::endpoints::GivenHost;
use crate::net::FiveTuple;
use crate::trace::{
    Backend, Hop, NoRouteHint, Outcome, Place, RawArrival, Reason, SenderRef, Socket, Step,
};

use super::traffic::Sender;
use super::{End, Engine, MAX_HOPS, Walk, hash_tuple};

/// How a packet arrives at a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arrival {
    /// From the wire (another node, a client, a load balancer).
    Wire,
    /// From one of the node's pods (or a raw pod address on it).
    LocalPod(Option<crate::cluster::PodId>),
    /// From the node itself (a host process).
    Host,
}

impl Engine {
    /// Walk one packet from `first` until it is delivered, refused or lost.
    pub(super) fn walk(
        &mut self,
        sender: Sender,
        first: Place,
        tuple: FiveTuple,
        t0: u64,
        hops: &mut Vec<Hop>,
        masqueraded: &mut bool,
    ) -> End {
        let sender_ref = match sender {
            Sender::Raw { ip, node } => SenderRef::Raw {
                ip,
                node,
                arrival: match self.raw_arrival(ip, node) {
                    Arrival::Host => RawArrival::Host,
                    Arrival::LocalPod(_) => RawArrival::Pod,
                    Arrival::Wire => RawArrival::Wire,
                },
            },
            _ => SenderRef::Place(first),
        };
        let mut w = Walk {
            tuple,
            original: tuple,
            t_ns: t0,
            hops: Vec::new(),
            masqueraded: false,
            path: Vec::new(),
            sender_pod: match sender {
                Sender::Pod(p) => Some(p),
                Sender::Raw { ip, .. } => self.cluster.pod_by_ip(ip),
                _ => None,
            },
            nat_nodes: Vec::new(),
            opened: Vec::new(),
            sender: sender_ref,
        };
        w.note(first, Step::Send { sender: sender_ref });
        let mut place = first;
        let mut arrival = match sender {
            Sender::Node(_) => Arrival::Host,
            Sender::Raw { ip, node } => self.raw_arrival(ip, node),
            _ => Arrival::Wire,
        };
        let mut end = None;
        for _ in 0..MAX_HOPS {
            w.path.push(place);
            let next = match place {
                Place::Client(c) if w.path.len() > 1 => Err(self.deliver_to_client(c, &mut w)),
                Place::Client(_) => Ok((Place::Internet, Arrival::Wire)),
                // 127.0.0.0/8 never leaves the pod's network namespace: every container
                // of the pod shares its loopback.
                Place::Pod(p)
                    if w.path.len() == 1
                        && w.tuple.dst.ip.is_loopback()
                        && !self.cluster.pods[p].host_network =>
                {
                    Err(self.at_pod(p, &mut w))
                }
                Place::Pod(p) if w.path.len() == 1 => {
                    // Leaving the sending pod: to its node, over its veth; a hostNetwork
                    // pod has none, it sends as a process of the node.
                    let pod = &self.cluster.pods[p];
                    let how = if pod.host_network {
                        Arrival::Host
                    } else {
                        Arrival::LocalPod(Some(p))
                    };
                    Ok((Place::Node(pod.node), how))
                }
                Place::Internet => self.internet(&mut w),
                Place::LoadBalancer => self.load_balancer(&mut w),
                Place::Node(n) => self.node(n, arrival, &mut w),
                Place::Pod(p) => Err(self.at_pod(p, &mut w)),
                Place::External => Err(self.deliver_to_given_host(&mut w)),
            };
            match next {
                Ok((to, how)) => {
                    if let Some(lost) = self.cross_link(place, to, &mut w) {
                        end = Some(lost);
                        break;
                    }
                    place = to;
                    arrival = how;
                }
                Err(e) => {
                    end = Some(e);
                    break;
                }
            }
        }
        let end = end.unwrap_or_else(|| {
            w.note(place, Step::HopLimit);
            End::failed(Outcome::Timeout, Reason::HopLimit)
        });
        if matches!(end.outcome, Outcome::Delivered | Outcome::Refused) {
            self.reply(&mut w, &end);
        }
        // The request is over: a TCP connection that was answered ends (FIN after the
        // exchange, or the RST of a refusal), and its entries go to TIME_WAIT or CLOSE, so
        // a SYN reusing the tuple opens a new connection. One that got no answer stays in
        // SYN_SENT.
        if matches!(end.outcome, Outcome::Delivered | Outcome::Refused) {
            let reset = end.outcome == Outcome::Refused;
            for (node, entry) in &w.nat_nodes {
                self.conntrack.end(*node, &entry.original, reset, w.t_ns);
            }
        }
        for (node, ep) in &w.opened {
            self.proxy.connection_closed(*node, *ep);
        }
        *masqueraded = w.masqueraded;
        hops.extend(w.hops);
        end
    }

    /// How a raw `{ip, node}` packet enters its node (SCENARIO.md section 2).
    pub(super) fn raw_arrival(&self, ip: Ipv4Addr, node: NodeId) -> Arrival {
        let n = &self.cluster.nodes[node];
        if ip.is_loopback() || n.addresses().any(|a| a == ip) {
            Arrival::Host
        } else if self.cluster.config.cluster_cidr.contains(ip) {
            Arrival::LocalPod(self.cluster.pod_by_ip(ip))
        } else {
            Arrival::Wire
        }
    }

    /// Latency and loss of the link between two places.
    fn cross_link(&mut self, from: Place, to: Place, w: &mut Walk) -> Option<End> {
        w.t_ns = w
            .t_ns
            .saturating_add(self.topology.latency_ns(from, to, &self.cluster));
        let loss = self.cluster.config.loss;
        if loss > 0.0 && self.rng.random::<f64>() < loss {
            w.note(to, Step::Lost { from });
            return Some(End::failed(Outcome::Timeout, Reason::PacketLost));
        }
        None
    }

    /// The outside network: clients, load-balancer addresses and node addresses.
    fn internet(&mut self, w: &mut Walk) -> Result<(Place, Arrival), End> {
        let dst = w.tuple.dst.ip;
        if let Some(c) = self.cluster.client_by_ip(dst) {
            return Ok((Place::Client(c), Arrival::Wire));
        }
        if let Some(n) = self.cluster.node_by_ip(dst) {
            return Ok((Place::Node(n), Arrival::Wire));
        }
        // externalIPs are routed to the cluster by the network's admin; simctl's network
        // sends them to the first node that is up (kube-proxy there takes them).
        if self
            .cluster
            .services
            .iter()
            .any(|s| s.alive && s.external_ips.contains(&dst))
            && let Some(n) = self.cluster.nodes.iter().position(|n| n.up)
        {
            return Ok((Place::Node(n), Arrival::Wire));
        }
        if self
            .cluster
            .services
            .iter()
            .any(|s| s.alive && s.lb_ips.contains(&dst))
        {
            return Ok((Place::LoadBalancer, Arrival::Wire));
        }
        if self.is_given_external(dst) {
            return Ok((Place::External, Arrival::Wire));
        }
        let c = &self.cluster;
        let hint = if c.config.service_cidr.contains(dst) {
            NoRouteHint::ClusterIp
        } else if c.config.cluster_cidr.contains(dst) {
            NoRouteHint::PodAddress
        } else if c.services.iter().any(|s| {
            s.alive && s.type_ == crate::cluster::ServiceType::LoadBalancer && s.lb_ips.is_empty()
        }) {
            NoRouteHint::PendingLoadBalancer
        } else {
            NoRouteHint::Nothing
        };
        w.note(Place::Internet, Step::NoRoute { hint });
        Err(End::because(Reason::NoRoute))
    }

    fn deliver_to_client(&mut self, c: usize, w: &mut Walk) -> End {
        w.note(Place::Client(c), Step::Accept(Socket::Client(c)));
        End {
            outcome: Outcome::Delivered,
            reason: None,
            backend: Some(Backend::Client {
                client: c,
                port: w.tuple.dst.port,
            }),
            source_seen: Some(w.tuple.src.ip),
        }
    }

    /// A host the given endpoints name accepts (SCENARIO.md section 3); `node`: the node
    /// whose network it is on, when the packet reached it from one.
    fn deliver_to_given_host(&mut self, w: &mut Walk) -> End {
        w.note(Place::External, Step::Accept(Socket::Given));
        let node = match w.path.iter().rev().nth(1) {
            Some(Place::Node(n)) => Some(*n),
            _ => None,
        };
        End {
            outcome: Outcome::Delivered,
            reason: None,
            backend: Some(Backend::External {
                ip: w.tuple.dst.ip,
                port: w.tuple.dst.port,
                node,
            }),
            source_seen: Some(w.tuple.src.ip),
        }
    }

    /// A host the given endpoints name off the cluster: the outside network reaches it
    /// (one in a node's pod network is reached through that node, not from outside).
    fn is_given_external(&self, ip: Ipv4Addr) -> bool {
        self.cluster.given_host(ip) == Some(GivenHost::Outside)
    }

    /// A cloud load balancer: it forwards the packet, unchanged, to a healthy node.
    fn load_balancer(&mut self, w: &mut Walk) -> Result<(Place, Arrival), End> {
        let dst = w.tuple.dst.ip;
        let svc = self
            .cluster
            .services
            .iter()
            .position(|s| s.alive && s.lb_ips.contains(&dst));
        let local = svc.is_some_and(|s| self.cluster.services[s].external_traffic_local);
        let candidates: Vec<NodeId> = (0..self.cluster.nodes.len())
            .filter(|&n| self.cluster.nodes[n].up)
            .filter(|&n| !local || svc.is_some_and(|s| self.has_local_ready_endpoint(s, n)))
            .collect();
        // The modulo in u64: `as usize` first would cut the hash to 32 bits in wasm32 and
        // pick another node than natively.
        let n = u64::try_from(candidates.len().max(1)).unwrap_or(1);
        let pick = usize::try_from(hash_tuple(&w.tuple) % n).unwrap_or(0);
        let Some(&node) = candidates.get(pick) else {
            w.note(Place::LoadBalancer, Step::NoHealthyNode);
            let reason = if local {
                Reason::NoLocalEndpoint
            } else {
                Reason::NodeDown
            };
            return Err(End::because(reason));
        };
        w.note(
            Place::LoadBalancer,
            Step::LoadBalance {
                node,
                health_checked: local,
            },
        );
        Ok((Place::Node(node), Arrival::Wire))
    }

    fn has_local_ready_endpoint(&self, svc: usize, node: NodeId) -> bool {
        (0..self.cluster.services[svc].ports.len()).any(|p| {
            self.cluster
                .endpoints(svc, p)
                .iter()
                .any(|e| e.ready && e.node == Some(node))
        })
    }
}
