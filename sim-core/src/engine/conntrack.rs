//! conntrack as Linux keeps it: each node remembers every connection it translated,
//! keyed by the connection's first packet as it arrived (the original tuple), with the
//! whole translation that packet got on that node: kube-proxy's DNAT and the source NAT
//! of POSTROUTING (kube-proxy's masquerade, the CNI's), i.e. the packet as it left, and
//! whether kube-proxy marked it for masquerade. A later packet of the connection skips the
//! nat table and gets the same translation again (`nf_nat_packet` in
//! net/netfilter/nf_nat_core.c applies the entry's NAT to every packet of it); its reply
//! is un-NATed by the reverse.
//!
//! An entry is made only for a packet that leaves the node (`nf_conntrack_confirm` at
//! POSTROUTING or INPUT): one that a policy, a REJECT or a DROP stops leaves none.
//!
//! TCP: every request is one connection that ends (a FIN after the exchange, or the RST of
//! a refusal). Its entry then lingers in TIME_WAIT or CLOSE, and a SYN that reuses its
//! tuple opens a NEW connection, evaluated afresh (net/netfilter/nf_conntrack_proto_tcp.c,
//! `nf_conntrack_tcp_packet`: "Attempt to reopen a closed/aborted connection. Delete this
//! connection and look up again."). A SYN on an entry still in SYN_SENT (the first SYN got
//! no answer) is a retransmission of it: same translation. UDP has no end: a datagram with
//! the tuple of a live entry gets its translation.

use std::collections::BTreeMap;

use crate::cluster::NodeId;
use crate::net::{FiveTuple, Protocol, SockAddr};

/// How long an entry lives after its last packet, in nanoseconds, by state
/// (nf_conntrack_proto_tcp.c `tcp_timeouts`, nf_conntrack_proto_udp.c `udp_timeouts`).
fn timeout_ns(protocol: Protocol, state: State) -> u64 {
    const S: u64 = 1_000_000_000;
    match (protocol, state) {
        (Protocol::Udp, _) => 30 * S,    // nf_conntrack_udp_timeout
        (_, State::Open) => 120 * S,     // nf_conntrack_tcp_timeout_syn_sent
        (_, State::TimeWait) => 120 * S, // nf_conntrack_tcp_timeout_time_wait
        (_, State::Closed) => 10 * S,    // nf_conntrack_tcp_timeout_close
    }
}

/// Where a tracked connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not ended: TCP in SYN_SENT (no answer came), or any UDP flow.
    Open,
    /// TCP, ended by FIN: TIME_WAIT.
    TimeWait,
    /// TCP, ended by RST: CLOSE.
    Closed,
}

/// One tracked connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The first packet as it left the node (DNAT and SNAT applied).
    pub translated: FiveTuple,
    /// kube-proxy marked the first packet for masquerade.
    pub masquerade: bool,
    pub state: State,
    pub expires_ns: u64,
}

/// All nodes' connection tables. Ordered maps: nothing here depends on hash order.
#[derive(Clone, Debug, Default)]
pub struct Conntrack {
    tables: BTreeMap<(NodeId, FiveTuple), Entry>,
}

/// More entries than this per run are not kept (the expired ones go first).
const MAX_ENTRIES: usize = crate::limits::MAX_CONNTRACK_ENTRIES;

impl Conntrack {
    /// The live entry a packet `original` (a TCP SYN, or a UDP datagram) arriving at
    /// `node` belongs to, refreshed. A TCP entry that ended is deleted instead and `None`
    /// returned: the SYN reopens the connection as NEW.
    pub fn lookup(&mut self, node: NodeId, original: &FiveTuple, now_ns: u64) -> Option<Entry> {
        let key = (node, *original);
        let e = self.tables.get_mut(&key)?;
        let reopened = original.protocol != Protocol::Udp && e.state != State::Open;
        if e.expires_ns <= now_ns || reopened {
            self.tables.remove(&key);
            return None;
        }
        e.expires_ns = now_ns.saturating_add(timeout_ns(original.protocol, e.state));
        Some(*e)
    }

    /// Confirm a new connection: `original` left `node` as `translated`.
    pub fn insert(
        &mut self,
        node: NodeId,
        original: FiveTuple,
        translated: FiveTuple,
        masquerade: bool,
        now_ns: u64,
    ) {
        if self.tables.len() >= MAX_ENTRIES {
            self.tables.retain(|_, e| e.expires_ns > now_ns);
            if self.tables.len() >= MAX_ENTRIES {
                return;
            }
        }
        self.tables.insert(
            (node, original),
            Entry {
                translated,
                masquerade,
                state: State::Open,
                expires_ns: now_ns.saturating_add(timeout_ns(original.protocol, State::Open)),
            },
        );
    }

    /// The TCP connection `original` through `node` ended: by FIN after an answer
    /// (`reset` false), or by the RST of a refusal.
    pub fn end(&mut self, node: NodeId, original: &FiveTuple, reset: bool, now_ns: u64) {
        if original.protocol == Protocol::Udp {
            return;
        }
        if let Some(e) = self.tables.get_mut(&(node, *original)) {
            e.state = if reset {
                State::Closed
            } else {
                State::TimeWait
            };
            e.expires_ns = now_ns.saturating_add(timeout_ns(original.protocol, e.state));
        }
    }

    /// The endpoint a tracked connection was sent to.
    pub fn endpoint_of(&self, node: NodeId, original: &FiveTuple) -> Option<SockAddr> {
        self.tables
            .get(&(node, *original))
            .map(|e| e.translated.dst)
    }

    /// kube-proxy's conntrack cleanup after a sync (pkg/proxy/conntrack/cleanup.go,
    /// `CleanStaleEntries`): the UDP entries `stale` picks, by the original tuple and the
    /// reply's source (the endpoint's address), are deleted, so the next datagram is
    /// load-balanced afresh instead of following a translation to a gone endpoint.
    pub fn clean_udp(&mut self, stale: impl Fn(&FiveTuple, std::net::Ipv4Addr) -> bool) {
        self.tables.retain(|(_, original), e| {
            original.protocol != Protocol::Udp || !stale(original, e.translated.dst.ip)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn tuple(protocol: Protocol, sport: u16) -> FiveTuple {
        FiveTuple {
            protocol,
            src: SockAddr {
                ip: Ipv4Addr::new(203, 0, 113, 10),
                port: sport,
            },
            dst: SockAddr {
                ip: Ipv4Addr::new(172, 18, 0, 2),
                port: 30080,
            },
        }
    }

    fn translated(t: FiveTuple) -> FiveTuple {
        FiveTuple {
            src: SockAddr {
                ip: Ipv4Addr::new(172, 18, 0, 2),
                port: t.src.port,
            },
            dst: SockAddr {
                ip: Ipv4Addr::new(10, 244, 1, 3),
                port: 8080,
            },
            ..t
        }
    }

    #[test]
    fn an_entry_keeps_the_whole_translation_until_the_connection_ends() {
        let mut ct = Conntrack::default();
        let t = tuple(Protocol::Tcp, 40000);
        ct.insert(0, t, translated(t), true, 0);
        // A SYN retransmitted while the first got no answer: the same translation.
        let e = ct.lookup(0, &t, 1_000).expect("SYN_SENT entry");
        assert_eq!(e.translated, translated(t));
        assert!(e.masquerade);
        assert_eq!(ct.lookup(1, &t, 1_000), None, "another node's table");
    }

    #[test]
    fn a_syn_on_an_ended_tcp_connection_reopens_it() {
        for reset in [false, true] {
            let mut ct = Conntrack::default();
            let t = tuple(Protocol::Tcp, 40000);
            ct.insert(0, t, translated(t), true, 0);
            ct.end(0, &t, reset, 10);
            assert_eq!(ct.lookup(0, &t, 20), None, "reset {reset}");
            // The entry was deleted: the new connection is confirmed afresh.
            assert_eq!(ct.endpoint_of(0, &t), None);
        }
    }

    #[test]
    fn udp_follows_its_entry_until_it_expires() {
        let mut ct = Conntrack::default();
        let t = tuple(Protocol::Udp, 40000);
        ct.insert(0, t, translated(t), false, 0);
        ct.end(0, &t, false, 0);
        assert!(ct.lookup(0, &t, 29_000_000_000).is_some());
        // Refreshed at 29 s: alive until 59 s.
        assert!(ct.lookup(0, &t, 58_000_000_000).is_some());
        assert_eq!(ct.lookup(0, &t, 89_000_000_000), None);
    }

    #[test]
    fn stale_udp_translations_are_cleaned() {
        let mut ct = Conntrack::default();
        let u = tuple(Protocol::Udp, 40000);
        let t = tuple(Protocol::Tcp, 40000);
        ct.insert(0, u, translated(u), false, 0);
        ct.insert(0, t, translated(t), false, 0);
        ct.clean_udp(|_, _| true);
        assert_eq!(ct.endpoint_of(0, &u), None);
        assert!(ct.endpoint_of(0, &t).is_some(), "TCP entries stay");
    }
}
