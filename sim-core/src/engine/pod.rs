//! At a pod: NetworkPolicy (ingress here, egress as the packet leaves its sender), then
//! the socket that accepts it, or the refusal.

use crate::cluster::{Bind, PodId};
use crate::policy::{self, Direction, Peer};
use crate::trace::{Backend, NoSocket, Outcome, Place, PolicyRecord, Reason, Socket, Step};

use super::{End, Engine, Walk};

impl Engine {
    /// NetworkPolicy for `pod` in `direction` on the packet as it is now (the peer is its
    /// source for ingress, its destination for egress): record the verdict as a hop;
    /// `Some(end)` when it drops the packet.
    pub(super) fn policy_hop(&self, pod: PodId, direction: Direction, w: &mut Walk) -> Option<End> {
        let peer_ip = match direction {
            Direction::Ingress => w.tuple.src.ip,
            Direction::Egress => w.tuple.dst.ip,
        };
        let peer = Peer {
            ip: peer_ip,
            pod: self.cluster.pod_by_ip(peer_ip),
        };
        let verdict = policy::check(
            &self.cluster,
            pod,
            direction,
            peer,
            w.tuple.dst.port,
            w.tuple.protocol,
        );
        if verdict.isolating.is_empty() {
            return None;
        }
        let allowed = verdict.allowed;
        let record = PolicyRecord {
            pod,
            direction,
            peer,
            verdict,
        };
        w.note(Place::Pod(pod), Step::Policy(Box::new(record)));
        (!allowed).then(|| End::failed(Outcome::Timeout, Reason::PolicyDenied))
    }

    /// The packet reaches a pod: ingress policy, then a socket.
    pub(super) fn at_pod(&mut self, p: PodId, w: &mut Walk) -> End {
        let pod = &self.cluster.pods[p];
        let from_inside =
            w.sender_pod == Some(p) && (w.tuple.src.ip == pod.ip || w.tuple.src.ip.is_loopback());
        // NetworkPolicy filters what crosses the pod's interface; loopback never does.
        if !(from_inside && w.tuple.dst.ip.is_loopback())
            && let Some(end) = self.policy_hop(p, Direction::Ingress, w)
        {
            return end;
        }
        let pod = &self.cluster.pods[p];
        let (dst, port, proto) = (w.tuple.dst.ip, w.tuple.dst.port, w.tuple.protocol);
        // A container that crash-loops (its port was taken) has no socket open.
        let accepting = pod
            .containers
            .iter()
            .position(|c| c.crash.is_none() && c.listen.accepts(dst, port, proto, from_inside));
        let backend = Some(Backend::Pod { pod: p, port });
        let source_seen = Some(w.tuple.src.ip);
        if let Some(container) = accepting {
            w.note(
                Place::Pod(p),
                Step::Accept(Socket::Container { pod: p, container }),
            );
            return End {
                outcome: Outcome::Delivered,
                reason: None,
                backend,
                source_seen,
            };
        }
        let loopback = pod.containers.iter().any(|c| {
            c.listen
                .sockets
                .iter()
                .any(|s| s.port == port && s.protocol == proto && s.bind == Bind::Loopback)
        });
        w.note(
            Place::Pod(p),
            Step::Refuse(NoSocket::Pod { pod: p, loopback }),
        );
        End {
            outcome: Outcome::Refused,
            reason: Some(if loopback {
                Reason::BoundToLoopback
            } else {
                Reason::NoListener
            }),
            backend,
            source_seen,
        }
    }
}
