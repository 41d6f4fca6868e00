//! conntrack: each node remembers the translation of a connection, so later packets of
//! it (a fixed source port reused) get the same endpoint, and replies are un-NATed.

use std::collections::BTreeMap;

use crate::cluster::NodeId;
use crate::net::{FiveTuple, Protocol, SockAddr};

/// How long an entry lives after its last packet, in nanoseconds: TCP's TIME_WAIT-ish
/// close timeout (`nf_conntrack_tcp_timeout_time_wait`, 120 s) and UDP's
/// `nf_conntrack_udp_timeout` (30 s).
fn timeout_ns(protocol: Protocol) -> u64 {
    match protocol {
        Protocol::Udp => 30_000_000_000,
        _ => 120_000_000_000,
    }
}

/// One tracked connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The packet after translation.
    pub translated: FiveTuple,
    pub masquerade: bool,
    pub expires_ns: u64,
}

/// All nodes' connection tables. Ordered maps: nothing here depends on hash order.
#[derive(Clone, Debug, Default)]
pub struct Conntrack {
    tables: BTreeMap<(NodeId, FiveTuple), Entry>,
}

/// More entries than this per run are not kept (the oldest-expiring go first).
const MAX_ENTRIES: usize = crate::limits::MAX_CONNTRACK_ENTRIES;

impl Conntrack {
    /// The live entry for `original` on `node`, refreshed.
    pub fn lookup(&mut self, node: NodeId, original: &FiveTuple, now_ns: u64) -> Option<Entry> {
        let key = (node, *original);
        match self.tables.get_mut(&key) {
            Some(e) if e.expires_ns > now_ns => {
                e.expires_ns = now_ns.saturating_add(timeout_ns(original.protocol));
                Some(*e)
            }
            Some(_) => {
                self.tables.remove(&key);
                None
            }
            None => None,
        }
    }

    pub fn insert(
        &mut self,
        node: NodeId,
        original: FiveTuple,
        translated: FiveTuple,
        masquerade: bool,
        now_ns: u64,
        protocol: Protocol,
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
                expires_ns: now_ns.saturating_add(timeout_ns(protocol)),
            },
        );
    }

    /// The endpoint a tracked connection was sent to.
    pub fn endpoint_of(&self, node: NodeId, original: &FiveTuple) -> Option<SockAddr> {
        self.tables
            .get(&(node, *original))
            .map(|e| e.translated.dst)
    }
}
