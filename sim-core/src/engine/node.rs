//! A node's netfilter and routing, in the kernel's order: PREROUTING (conntrack, then
//! kube-proxy's DNAT), the sending pod's egress policy, the routing decision, then
//! POSTROUTING (kube-proxy's masquerade, the CNI's masquerade of traffic leaving the
//! cluster network), and conntrack's confirmation of the connection as it leaves. A
//! packet of a connection conntrack knows skips the rules and gets the entry's DNAT and
//! SNAT again ([`super::conntrack`]).

use crate::cluster::endpoints::GivenHost;
use crate::cluster::{Bind, ListenSource, NodeId};
use crate::net::{FiveTuple, Protocol};
use crate::policy::Direction;
use crate::proxy::{ProxyAction, ProxyDecision, ProxyInput};
use crate::trace::{
    Backend, ConntrackEntry, KubeProxy, Masquerader, NatKind, NoSocket, Outcome, Place, Reason,
    Socket, Step,
};

use super::conntrack;
use super::walk::Arrival;
use super::{End, Engine, Walk};

/// Where a packet's translation on a node comes from.
#[derive(Clone, Copy, Debug)]
enum Translation {
    /// A new connection: the nat table's rules (kube-proxy's DNAT in PREROUTING, and
    /// `masquerade`: who marked the packet for masquerade in POSTROUTING, kube-proxy or
    /// portmap for a hostPort).
    Rules { masquerade: Option<Masquerader> },
    /// A packet of a connection conntrack knows: the entry's translation, both halves.
    Tracked(conntrack::Entry),
}

impl Engine {
    /// A node's netfilter and routing.
    pub(super) fn node(
        &mut self,
        n: NodeId,
        arrival: Arrival,
        w: &mut Walk,
    ) -> Result<(Place, Arrival), End> {
        if !self.cluster.nodes[n].up {
            w.note(Place::Node(n), Step::NodeDown);
            return Err(End::failed(Outcome::Timeout, Reason::NodeDown));
        }
        let arrived = w.tuple;
        let translation = self.prerouting(n, arrival, w)?;
        // Egress NetworkPolicy of the sending pod, against the translated destination.
        if let (Arrival::LocalPod(Some(p)), Some(sp)) = (arrival, w.sender_pod)
            && p == sp
            && let Some(end) = self.policy_hop(p, Direction::Egress, w)
        {
            return Err(end);
        }
        let next = match self.route(n, w) {
            Ok(next) => next,
            Err(end) => {
                // Delivered to (or refused by) the node itself: INPUT confirms it too.
                self.confirm(n, arrived, translation, w);
                return Err(end);
            }
        };
        self.postrouting(n, next.0, translation, w);
        self.confirm(n, arrived, translation, w);
        w.note(Place::Node(n), Step::Route { to: next.0 });
        Ok(next)
    }

    /// conntrack, then kube-proxy, then portmap (hostPorts): the translation the packet
    /// gets here, or how kube-proxy ended the packet.
    fn prerouting(
        &mut self,
        n: NodeId,
        arrival: Arrival,
        w: &mut Walk,
    ) -> Result<Translation, End> {
        // conntrack: a packet of a known connection gets its translation again.
        let before = w.tuple;
        if let Some(entry) = self.conntrack.lookup(n, &w.tuple, w.t_ns) {
            w.masqueraded |= entry.masquerade;
            if entry.translated.dst != before.dst {
                w.tuple.dst = entry.translated.dst;
                let record = ConntrackEntry {
                    original: before,
                    translated: entry.translated,
                };
                w.rewrite(
                    Place::Node(n),
                    Step::ConntrackHit { entry: record },
                    NatKind::Dnat,
                    before,
                );
            }
            return Ok(Translation::Tracked(entry));
        }
        let input = ProxyInput {
            node: n,
            tuple: w.tuple,
            from_host: arrival == Arrival::Host,
            from_pod: match arrival {
                Arrival::LocalPod(p) => p,
                _ => None,
            },
            now_ns: w.t_ns,
        };
        let decision = self.proxy.process(&self.cluster, &input, &mut self.rng);
        if decision.action == ProxyAction::NotMatched
            && let Some(marked) = self.portmap(n, arrival, w)
        {
            let masquerade = Some(Masquerader::Portmap).filter(|_| marked);
            return Ok(Translation::Rules { masquerade });
        }
        let mode = self.cluster.config.proxy.mode;
        let marked = self.kube_proxy(n, decision, w)?;
        let masquerade = Some(Masquerader::KubeProxy(mode)).filter(|_| marked);
        Ok(Translation::Rules { masquerade })
    }

    /// conntrack confirms the connection as the packet leaves the node: its whole
    /// translation here (`arrived` -> the packet now), for the packets after it and for
    /// the reply. Untranslated connections need no entry here: nothing to redo or undo.
    fn confirm(&mut self, n: NodeId, arrived: FiveTuple, translation: Translation, w: &mut Walk) {
        if w.tuple == arrived {
            return;
        }
        w.nat_nodes.push((
            n,
            ConntrackEntry {
                original: arrived,
                translated: w.tuple,
            },
        ));
        if let Translation::Rules { masquerade } = translation {
            self.conntrack
                .insert(n, arrived, w.tuple, masquerade.is_some(), w.t_ns);
        }
    }

    /// Record kube-proxy's verdict as a hop.
    fn kube_proxy(
        &mut self,
        n: NodeId,
        decision: ProxyDecision,
        w: &mut Walk,
    ) -> Result<bool, End> {
        let before = w.tuple;
        let place = Place::Node(n);
        let proxy = Box::new(KubeProxy {
            mode: self.cluster.config.proxy.mode,
            service: decision.service,
            entry: decision.entry,
            rules: decision.rules,
        });
        match decision.action {
            ProxyAction::NotMatched => Ok(false),
            ProxyAction::Dnat {
                index,
                to,
                masquerade,
                pick,
                ..
            } => {
                w.tuple.dst = to;
                w.masqueraded |= masquerade;
                let step = Step::ServiceDnat {
                    proxy,
                    endpoint: index,
                    pick,
                    masquerade,
                };
                w.rewrite(place, step, NatKind::Dnat, before);
                w.opened.push((n, to));
                Ok(masquerade)
            }
            ProxyAction::Reject(reason) => {
                w.note(place, Step::ProxyReject { proxy, reason });
                Err(End::because(reason))
            }
            ProxyAction::Drop(reason) => {
                w.note(place, Step::ProxyDrop { proxy, reason });
                // A drop is silence, whatever the reason (ipvs drops a Service
                // with affinity and no endpoints where iptables rejects).
                Err(End::failed(Outcome::Timeout, reason))
            }
            ProxyAction::HealthCheck {
                healthy,
                local_endpoints,
            } => {
                w.note(
                    place,
                    Step::HealthCheck {
                        proxy,
                        healthy,
                        local_endpoints,
                    },
                );
                Err(End {
                    outcome: Outcome::Delivered,
                    reason: None,
                    backend: Some(Backend::KubeProxy {
                        node: n,
                        port: w.tuple.dst.port,
                    }),
                    source_seen: Some(w.tuple.src.ip),
                })
            }
        }
    }

    /// The routing decision: the next place, or how the packet ends on this node.
    fn route(&mut self, n: NodeId, w: &mut Walk) -> Result<(Place, Arrival), End> {
        let dst = w.tuple.dst.ip;
        if let Some(p) = self.cluster.pod_by_ip(dst) {
            let pod_node = self.cluster.pods[p].node;
            return Ok(if pod_node == n {
                (Place::Pod(p), Arrival::Wire)
            } else {
                (Place::Node(pod_node), Arrival::Wire)
            });
        }
        if let Some(owner) = self.cluster.node_by_ip(dst) {
            if owner == n {
                return Err(self.host_socket(n, w));
            }
            return Ok((Place::Node(owner), Arrival::Wire));
        }
        if dst.is_loopback() {
            return Err(self.host_socket(n, w));
        }
        // A host the given endpoints name: a real host wherever its address lies, reached
        // through the node it is on (its nodeName, else the podCIDR holding it).
        if let Some(GivenHost::OnNode(owner)) = self.cluster.given_host(dst) {
            return Ok(if owner == n {
                (Place::External, Arrival::Wire)
            } else {
                (Place::Node(owner), Arrival::Wire)
            });
        }
        if let Some(owner) = self.cluster.node_for_pod_ip(dst) {
            if owner == n {
                w.note(Place::Node(n), Step::NoPodAt);
                return Err(End::failed(Outcome::Timeout, Reason::NoHost));
            }
            return Ok((Place::Node(owner), Arrival::Wire));
        }
        if self.cluster.config.service_cidr.contains(dst) {
            w.note(Place::Node(n), Step::NoServiceRule);
            return Err(End::failed(Outcome::Timeout, Reason::NoHost));
        }
        Ok((Place::Internet, Arrival::Wire))
    }

    /// POSTROUTING: for a new connection, kube-proxy's masquerade (to the address of the
    /// interface the packet leaves by), then the CNI's for pod traffic leaving the
    /// cluster network; for a tracked one, the entry's source NAT (the nat table sees
    /// only a connection's first packet).
    fn postrouting(&mut self, n: NodeId, next: Place, translation: Translation, w: &mut Walk) {
        let masquerade = match translation {
            Translation::Rules { masquerade } => masquerade,
            Translation::Tracked(entry) => {
                if entry.translated.src != w.tuple.src {
                    let before = w.tuple;
                    w.tuple.src = entry.translated.src;
                    let step = Step::Masquerade {
                        by: Masquerader::Conntrack,
                    };
                    w.rewrite(Place::Node(n), step, NatKind::Masquerade, before);
                }
                return;
            }
        };
        if let Some(by) = masquerade {
            let before = w.tuple;
            let node = &self.cluster.nodes[n];
            let bridge = node.pod_cidr.nth(1).unwrap_or(node.ip);
            w.tuple.src.ip = match next {
                // To a local pod: out of the bridge, whose address is the podCIDR's first.
                // So is a given endpoint's host in the node's pod network.
                Place::Pod(_) => bridge,
                Place::External if node.pod_cidr.contains(w.tuple.dst.ip) => bridge,
                _ => node.ip,
            };
            w.rewrite(
                Place::Node(n),
                Step::Masquerade { by },
                NatKind::Masquerade,
                before,
            );
        }
        // Pod traffic leaving the cluster network: the CNI (or ip-masq-agent) masquerades
        // it to the node's address, since nothing outside routes pod addresses back.
        let cidr = self.cluster.config.cluster_cidr;
        if next == Place::Internet
            && cidr.contains(w.tuple.src.ip)
            && !cidr.contains(w.tuple.dst.ip)
        {
            let before = w.tuple;
            w.tuple.src.ip = self.cluster.nodes[n].ip;
            w.rewrite(
                Place::Node(n),
                Step::Masquerade {
                    by: Masquerader::Cni(cidr),
                },
                NatKind::Masquerade,
                before,
            );
        }
    }

    /// A packet for the node's own address on a port that no Service owns.
    fn host_socket(&mut self, n: NodeId, w: &mut Walk) -> End {
        // The control plane: the API server listens on 6443 of the first node, which the
        // `default/kubernetes` Service points at.
        if n == 0 && w.tuple.dst.port == 6443 && w.tuple.protocol == Protocol::Tcp {
            w.note(Place::Node(n), Step::Accept(Socket::ApiServer));
            return End {
                outcome: Outcome::Delivered,
                reason: None,
                backend: Some(Backend::Node {
                    node: n,
                    port: 6443,
                }),
                source_seen: Some(w.tuple.src.ip),
            };
        }
        if let Some(end) = self.host_network_socket(n, w) {
            return end;
        }
        w.note(Place::Node(n), Step::Refuse(NoSocket::Node));
        End::failed(Outcome::Refused, Reason::NoListener)
    }

    /// The sockets of the node's hostNetwork pods: they listen in the node's own network
    /// namespace, on its addresses (and its loopback), as their containers would in a
    /// pod of their own. A container whose sockets simctl only assumes claims no port of
    /// the node, except those a Service sends to it on (its endpoints' ports), so an
    /// unknown image never answers for the whole node.
    fn host_network_socket(&mut self, n: NodeId, w: &mut Walk) -> Option<End> {
        let (dst, port, proto) = (w.tuple.dst.ip, w.tuple.dst.port, w.tuple.protocol);
        let from_inside = dst.is_loopback();
        let c = &self.cluster;
        let on_host = |p: &crate::cluster::SimPod| p.alive() && p.host_network && p.node == n;
        let known = c
            .pods
            .iter()
            .enumerate()
            .filter(|(_, p)| on_host(p))
            .find_map(|(id, p)| {
                p.containers
                    .iter()
                    .position(|k| {
                        k.listen.source != ListenSource::Assumed
                            && k.listen.accepts(dst, port, proto, from_inside)
                    })
                    .map(|k| (id, k))
            });
        let assumed = || {
            (0..c.services.len())
                .filter(|&s| c.services[s].alive)
                .flat_map(|s| (0..c.services[s].ports.len()).map(move |i| (s, i)))
                .flat_map(|(s, i)| c.endpoints(s, i))
                .filter(|e| e.ip == dst && e.port == port)
                .filter_map(|e| e.pod)
                .filter(|&p| on_host(&c.pods[p]))
                .find_map(|p| {
                    c.pods[p]
                        .containers
                        .iter()
                        .position(|k| k.listen.source == ListenSource::Assumed)
                        .map(|k| (p, k))
                })
        };
        let source_seen = Some(w.tuple.src.ip);
        if let Some((pod, container)) = known.or_else(assumed) {
            w.note(
                Place::Node(n),
                Step::Accept(Socket::Container { pod, container }),
            );
            return Some(End {
                outcome: Outcome::Delivered,
                reason: None,
                backend: Some(Backend::Pod { pod, port }),
                source_seen,
            });
        }
        // A hostNetwork pod's socket bound to 127.0.0.1 only.
        let loopback =
            c.pods
                .iter()
                .enumerate()
                .filter(|(_, p)| on_host(p))
                .find(|(_, p)| {
                    p.containers.iter().any(|k| {
                        k.listen.sockets.iter().any(|s| {
                            s.port == port && s.protocol == proto && s.bind == Bind::Loopback
                        })
                    })
                });
        let (pod, _) = loopback?;
        w.note(
            Place::Node(n),
            Step::Refuse(NoSocket::Pod {
                pod,
                loopback: true,
            }),
        );
        Some(End {
            outcome: Outcome::Refused,
            reason: Some(Reason::BoundToLoopback),
            backend: Some(Backend::Pod { pod, port }),
            source_seen,
        })
    }
}
