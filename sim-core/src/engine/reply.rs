//! The answer's way back: the SYN-ACK (or the RST / ICMP port unreachable) retraces
//! the request's path, and conntrack un-NATs it on each node that translated the
//! request.

use smallvec::SmallVec;

use crate::net::Protocol;
use crate::trace::{ConntrackEntry, Hop, Nat, NatKind, Outcome, Place, Step};

use super::{End, Engine, Walk};

impl Engine {
    /// The answer (SYN-ACK, or RST / ICMP) travels back; conntrack un-NATs it on the
    /// nodes that translated the request.
    pub(super) fn reply(&mut self, w: &mut Walk, end: &End) {
        let mut t = w.t_ns;
        let mut reply = w.tuple.reversed();
        let refused = end.outcome == Outcome::Refused;
        let last = w.path.last().copied().unwrap_or(Place::Internet);
        if end.outcome == Outcome::Delivered && w.tuple.protocol == Protocol::Udp {
            return; // A datagram needs no answer to count as delivered.
        }
        w.hops
            .push(hop(t, last, reply, None, Step::Reply { refused }));
        // Back along the way the request came, over the same links: each node that
        // translated the request un-NATs the reply (conntrack); the others forward it.
        let mut prev = last;
        let middle = w.path.len().saturating_sub(1);
        for &place in w.path.get(1..middle).unwrap_or(&[]).iter().rev() {
            t = t.saturating_add(self.topology.latency_ns(prev, place, &self.cluster));
            prev = place;
            if place == Place::Internet {
                continue; // The outside network is not a hop of the request either.
            }
            let entries: SmallVec<[ConntrackEntry; 2]> = w
                .nat_nodes
                .iter()
                .rev()
                .filter(|(n, _)| place == Place::Node(*n))
                .map(|(_, e)| *e)
                .collect();
            if entries.is_empty() {
                w.hops.push(hop(t, place, reply, None, Step::ForwardReply));
                continue;
            }
            let before = reply;
            for e in &entries {
                // The reply of `translated` becomes the reply of `original`.
                if reply.src == e.translated.dst {
                    reply.src = e.original.dst;
                }
                if reply.dst == e.translated.src {
                    reply.dst = e.original.src;
                }
            }
            let nat = Nat {
                kind: NatKind::UnNat {
                    dnat: before.src != reply.src,
                    snat: before.dst != reply.dst,
                },
                before,
                after: reply,
            };
            w.hops
                .push(hop(t, place, reply, Some(nat), Step::UnNat { entries }));
        }
        let first = w.path.first().copied().unwrap_or(Place::Internet);
        t = t.saturating_add(self.topology.latency_ns(prev, first, &self.cluster));
        reply.dst = w.original.src;
        reply.src = w.original.dst;
        let sender = w.sender;
        let step = if refused {
            Step::Refused { sender }
        } else {
            Step::Complete { sender }
        };
        w.hops.push(hop(t, first, reply, None, step));
        w.t_ns = t;
    }
}

fn hop(
    at_ns: u64,
    place: Place,
    packet: crate::net::FiveTuple,
    nat: Option<Nat>,
    step: Step,
) -> Hop {
    Hop {
        at_ns,
        place,
        packet: Some(packet),
        nat,
        step,
    }
}
