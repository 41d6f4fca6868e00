//! hostPort, as the portmap CNI plugin does it (containernetworking/plugins
//! `plugins/meta/portmap/portmap.go`): on the pod's node only, PREROUTING and OUTPUT
//! jump to CNI-HOSTPORT-DNAT for destinations of type LOCAL (every address of the node,
//! 127.0.0.1 from the node itself), and the pod's CNI-DN- chain DNATs
//! `hostPort`/protocol (to `hostIP` only, when it is set) to `podIP:containerPort`.
//! Before the DNAT, traffic from the pod's own subnet (hairpin) and from 127.0.0.1 is
//! marked for CNI-HOSTPORT-MASQ; anything else keeps its source address.
//!
//! The jump to CNI-HOSTPORT-DNAT is appended to PREROUTING, kube-proxy's KUBE-SERVICES
//! is inserted first: a NodePort on the same port wins, so this runs only for packets
//! kube-proxy did not match. hostNetwork pods get no portmap rules (no CNI runs for
//! them): their ports are the node's sockets ([`super::node`]).

use crate::cluster::{NodeId, PodId};
use crate::net::SockAddr;
use crate::trace::{NatKind, Place, Step};

use super::walk::Arrival;
use super::{Engine, Walk};

impl Engine {
    /// portmap's DNAT on node `n`; `Some(masquerade)` when a hostPort matched (the node
    /// confirms the connection in conntrack as the packet leaves).
    pub(super) fn portmap(&mut self, n: NodeId, arrival: Arrival, w: &mut Walk) -> Option<bool> {
        let dst = w.tuple.dst.ip;
        let node = &self.cluster.nodes[n];
        // `-m addrtype --dst-type LOCAL`: loopback only on OUTPUT (the node itself).
        let local =
            node.addresses().any(|a| a == dst) || (dst.is_loopback() && arrival == Arrival::Host);
        if !local {
            return None;
        }
        let (pod, container, port) = self.host_port_owner(n, w)?;
        let p = &self.cluster.pods[pod];
        let to = SockAddr {
            ip: p.ip,
            port: p.containers[container].ports[port].port,
        };
        // The hairpin rule's `-s` is the pod's address with its network's mask: the
        // node's podCIDR, as host-local IPAM hands it out.
        let src = w.tuple.src.ip;
        let masquerade = src.is_loopback() || node.pod_cidr.contains(src);
        let before = w.tuple;
        w.tuple.dst = to;
        w.masqueraded |= masquerade;
        w.rewrite(
            Place::Node(n),
            Step::HostPortDnat {
                pod,
                container,
                port,
                masquerade,
            },
            NatKind::Dnat,
            before,
        );
        Some(masquerade)
    }

    /// The pod on `n` whose declared hostPort the packet is for: (pod, container, port
    /// index). A pod holds its ports until it is gone (its sandbox lives while it
    /// terminates).
    fn host_port_owner(&self, n: NodeId, w: &Walk) -> Option<(PodId, usize, usize)> {
        let (dst, port, proto) = (w.tuple.dst.ip, w.tuple.dst.port, w.tuple.protocol);
        self.cluster
            .pods
            .iter()
            .enumerate()
            .filter(|(_, p)| p.alive() && !p.host_network && p.node == n)
            .find_map(|(id, p)| {
                p.containers.iter().enumerate().find_map(|(ci, c)| {
                    c.ports
                        .iter()
                        .position(|d| {
                            d.host_port == Some(port)
                                && d.protocol == proto
                                && d.host_ip.is_none_or(|ip| ip == dst)
                        })
                        .map(|pi| (id, ci, pi))
                })
            })
    }
}
