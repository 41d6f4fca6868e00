//! kube-proxy, in iptables, ipvs and nftables modes, as Kubernetes 1.34 programs them.
//!
//! # Design
//!
//! kube-proxy turns Services and EndpointSlices into kernel rules; the kernel then
//! decides per new connection. simctl keeps the same split:
//!
//! - [`ProxyState::sync`] is kube-proxy's `syncProxyRules`: it reads the cluster into an
//!   [`index::Index`] — one [`index::PortEntry`] per Service port kube-proxy proxies
//!   (ShouldSkipService drops ExternalName, headless and ClusterIP-less Services), its
//!   endpoints sorted as kube-proxy sorts them (the string `ip:port`, from
//!   `endpointslicecache.go`), split by `CategorizeEndpoints` into the Cluster set and a
//!   Local set per node, its chain names precomputed, and maps from
//!   `(address, port, protocol)` and `(nodePort, protocol)` to the entry. The endpoint
//!   source is a parameter: `sync` asks [`Cluster::endpoints`], [`ProxyState::sync_with`]
//!   takes any function (tests feed endpoints directly).
//! - [`ProxyState::process`] is the kernel meeting one new connection (a packet whose
//!   conntrack entry does not exist yet; replies and later packets are the engine's
//!   conntrack). It dispatches on `cluster.config.proxy.mode` to [`iptables`], [`ipvs`]
//!   or [`nftables`], each of which walks the rules the real proxier wrote for that
//!   entry, records each rule that matched as a typed [`rules::Rule`] (the renderer
//!   prints it in the tool's own syntax: `iptables-save`, `ipvsadm -Ln`,
//!   `nft list ruleset`), and returns the verdict. Nothing is formatted per packet:
//!   what rules print (chain-name hashes, `statistic` probabilities) is computed once
//!   per Service port at the sync.
//! - The mutable part — what the kernel remembers between connections — is
//!   [`Dynamic`]: ClientIP affinity (iptables `recent` lists, nftables affinity sets,
//!   ipvs persistence templates), ipvs round-robin positions and connection counts. It
//!   is keyed per node, as every node's kernel keeps its own.
//!
//! Randomness comes only from the `rng` passed to `process`, drawn as the kernel draws:
//! iptables one `u32` per `statistic` rule tried, nftables one `u32` per `numgen`.
//!
//! Which packets are "local" (detect-local): ClusterCIDR = source inside clusterCIDR,
//! NodeCIDR = source inside this node's podCIDR, None = never; decided from the
//! packet's source address as the real `-s`/`ip saddr` match does (so a pod on another
//! node is "local" under ClusterCIDR, as it is in a real cluster). `from_host` stands
//! for `-m addrtype --src-type LOCAL` / `fib saddr type local` and for the OUTPUT hook.

pub mod index;
pub mod iptables;
pub mod ipvs;
pub mod names;
pub mod nftables;
pub mod rules;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::cluster::{
    Cluster, DetectLocal, NodeId, NodePortAddresses, PodId, ProxyMode, ServiceId, SimEndpoint,
    SimNode,
};
use crate::net::{Cidr, FiveTuple, Protocol, SockAddr};
use crate::trace::Reason;

use index::{Index, PortEntry};
use rules::{Ipt, Rule, RulePath};

/// How the packet met the Service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entrance {
    ClusterIp,
    NodePort,
    ExternalIp,
    LoadBalancer,
    /// The healthCheckNodePort of an externalTrafficPolicy Local Service.
    HealthCheck,
}

/// A packet entering a node's netfilter hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyInput {
    pub node: NodeId,
    pub tuple: FiveTuple,
    /// True when a process of the node itself sent it (OUTPUT), false when it arrived
    /// from a pod or from the wire (PREROUTING).
    pub from_host: bool,
    /// The local pod it came from, if any.
    pub from_pod: Option<PodId>,
    pub now_ns: u64,
}

/// How kube-proxy (the kernel, following its rules) chose the endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pick {
    /// At random: iptables `statistic`, nftables `numgen random`.
    Random,
    /// sessionAffinity ClientIP: the endpoint the client used last (iptables `recent`,
    /// an nftables affinity set, an ipvs persistence template).
    Affinity,
    /// ipvs `rr`.
    RoundRobin,
    /// ipvs `lc`.
    LeastConnection,
    /// ipvs `sh`.
    SourceHash,
}

impl Pick {
    pub fn as_str(self) -> &'static str {
        match self {
            Pick::Random => "random",
            Pick::Affinity => "affinity",
            Pick::RoundRobin => "roundRobin",
            Pick::LeastConnection => "leastConnection",
            Pick::SourceHash => "sourceHash",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyAction {
    /// Not a Service address: route it as it is.
    NotMatched,
    /// DNAT to endpoint `index` of the entry; `masquerade` when kube-proxy marks it for
    /// SNAT.
    Dnat {
        endpoint: SimEndpoint,
        index: usize,
        to: SockAddr,
        masquerade: bool,
        pick: Pick,
    },
    /// REJECT: TCP RST / ICMP port unreachable.
    Reject(Reason),
    /// DROP.
    Drop(Reason),
    /// kube-proxy's health-check server answers (200 or 503).
    HealthCheck {
        healthy: bool,
        local_endpoints: usize,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProxyDecision {
    /// The Service port matched, and how.
    pub service: Option<(ServiceId, usize, Entrance)>,
    /// kube-proxy's view of that Service port (shared with the index).
    pub entry: Option<Arc<PortEntry>>,
    pub action: ProxyAction,
    /// The rules that matched, in order.
    pub rules: RulePath,
}

impl ProxyDecision {
    fn not_matched() -> ProxyDecision {
        ProxyDecision {
            service: None,
            entry: None,
            action: ProxyAction::NotMatched,
            rules: RulePath::new(),
        }
    }

    /// A verdict on the Service port `e` met through `entrance`.
    pub(crate) fn on(
        e: &Arc<PortEntry>,
        entrance: Entrance,
        action: ProxyAction,
        rules: RulePath,
    ) -> ProxyDecision {
        ProxyDecision {
            service: Some((e.svc, e.port_idx, entrance)),
            entry: Some(Arc::clone(e)),
            action,
            rules,
        }
    }

    /// A verdict on a Service address without the port (no entry).
    pub(crate) fn bare(action: ProxyAction, rule: Rule) -> ProxyDecision {
        let mut rules = RulePath::new();
        rules.push(rule);
        ProxyDecision {
            service: None,
            entry: None,
            action,
            rules,
        }
    }
}

/// An ipvs virtual server: address, port, protocol.
pub type VirtualServer = (Ipv4Addr, u16, Protocol);

/// Whose affinity a record is: per node (each kernel has its own), per Service port,
/// per ipvs virtual server in ipvs mode (persistence is per virtual service), per client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AffinityKey {
    pub node: NodeId,
    pub svc: ServiceId,
    pub port_idx: usize,
    pub vs: Option<VirtualServer>,
    pub client: Ipv4Addr,
}

/// The endpoint a client sticks to and when it last opened a connection through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sticky {
    pub endpoint: SockAddr,
    pub last_ns: u64,
}

/// What the kernels remember between connections.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dynamic {
    pub affinity: BTreeMap<AffinityKey, Sticky>,
    /// ipvs rr: the position of the next real server, per node and virtual server.
    pub rr_next: BTreeMap<(NodeId, VirtualServer), usize>,
    /// ipvs: open connections per node and real server (lc's ActiveConn).
    pub active: BTreeMap<(NodeId, SockAddr), u32>,
}

impl Dynamic {
    /// The position in `cands` of the endpoint `key` sticks to, if the record is
    /// younger than `timeout_s` and the endpoint is still a candidate (iptables
    /// `-m recent --rcheck --seconds T --reap`, an nftables set element with timeout T,
    /// an ipvs persistence template).
    fn sticky(
        &mut self,
        key: &AffinityKey,
        entry: &PortEntry,
        cands: &[usize],
        now_ns: u64,
        timeout_s: u32,
    ) -> Option<usize> {
        let rec = self.affinity.get(key)?;
        let timeout_ns = u64::from(timeout_s).saturating_mul(1_000_000_000);
        if now_ns.saturating_sub(rec.last_ns) > timeout_ns {
            self.affinity.remove(key);
            return None;
        }
        cands.iter().position(|&i| {
            entry
                .endpoints
                .get(i)
                .is_some_and(|ep| ep.ip == rec.endpoint.ip && ep.port == rec.endpoint.port)
        })
    }

    fn remember(&mut self, key: AffinityKey, endpoint: SockAddr, now_ns: u64) {
        self.affinity.insert(
            key,
            Sticky {
                endpoint,
                last_ns: now_ns,
            },
        );
    }
}

/// kube-proxy's state on every node: the Service index and what the modes remember
/// (affinity, round-robin positions, connection counts).
#[derive(Clone, Debug, Default)]
pub struct ProxyState {
    index: Index,
    dynamic: Dynamic,
}

/// One packet and where it is: shared by the three modes.
pub(crate) struct Packet<'a> {
    pub cluster: &'a Cluster,
    pub input: &'a ProxyInput,
    pub node: &'a SimNode,
}

impl Packet<'_> {
    pub fn src(&self) -> Ipv4Addr {
        self.input.tuple.src.ip
    }
    pub fn dst(&self) -> Ipv4Addr {
        self.input.tuple.dst.ip
    }

    /// The prefix detect-local matches (`-s` / `ip saddr`), or `None` when
    /// detectLocalMode is None (pkg/proxy/util/localdetector.go IsImplemented false).
    pub fn local_cidr(&self) -> Option<Cidr> {
        match self.cluster.config.proxy.detect_local {
            DetectLocal::ClusterCidr => Some(self.cluster.config.cluster_cidr),
            DetectLocal::NodeCidr => Some(self.node.pod_cidr),
            DetectLocal::None => None,
        }
    }

    /// `IfLocal()` matched the packet (false when not implemented).
    pub fn is_local(&self) -> bool {
        self.local_cidr().is_some_and(|c| c.contains(self.src()))
    }

    /// `IfNotLocal()` matched the packet (false when not implemented).
    pub fn is_not_local(&self) -> bool {
        self.local_cidr().is_some_and(|c| !c.contains(self.src()))
    }

    /// The destination is an address of this node (`--dst-type LOCAL`, loopback incl.).
    pub fn dst_is_node_local(&self) -> bool {
        let dst = self.dst();
        dst.is_loopback() || self.node.addresses().any(|a| a == dst)
    }

    /// Whether NodePorts answer on the destination address on this node.
    /// pkg/proxy/util/nodeport_addresses.go (MatchAll, GetNodeIPs) and, per mode, the
    /// KUBE-SERVICES `--dst-type LOCAL` rule (iptables: plus 127.0.0.1 when
    /// localhostNodePorts, from the host only), ipvs NodePort virtual servers on each
    /// node IP, nftables `fib daddr type local ip daddr != 127.0.0.0/8` / `@nodeport-ips`.
    pub fn nodeport_address(&self, mode: ProxyMode) -> bool {
        let dst = self.dst();
        let cfg = &self.cluster.config.proxy;
        let cidrs: &[Cidr] = match &cfg.node_port_addresses {
            NodePortAddresses::Cidrs(c) => c,
            _ => &[],
        };
        let match_all = match &cfg.node_port_addresses {
            NodePortAddresses::All => true,
            NodePortAddresses::Primary => false,
            NodePortAddresses::Cidrs(c) => c.iter().any(|c| c.len == 0),
        };
        if dst.is_loopback() {
            // Loopback never leaves a pod's own namespace: only the host reaches the
            // node's 127.0.0.1. Only the iptables proxier serves NodePorts there.
            let loopback_allowed = match_all || cidrs.iter().any(|c| c.contains(dst));
            return mode == ProxyMode::Iptables
                && self.input.from_host
                && cfg.localhost_node_ports
                && loopback_allowed;
        }
        match &cfg.node_port_addresses {
            NodePortAddresses::Primary => dst == self.node.ip,
            _ if match_all => self.node.addresses().any(|a| a == dst),
            _ => self.node.addresses().any(|a| a == dst) && cidrs.iter().any(|c| c.contains(dst)),
        }
    }
}

impl ProxyState {
    pub fn new(cluster: &Cluster) -> ProxyState {
        let mut s = ProxyState::default();
        s.sync(cluster);
        s
    }

    /// Re-read the cluster after a change (kube-proxy's sync).
    pub fn sync(&mut self, cluster: &Cluster) {
        self.sync_with(cluster, |svc, port| cluster.endpoints(svc, port));
    }

    /// [`ProxyState::sync`] with endpoints from `endpoints_of(service, port index)`
    /// instead of [`Cluster::endpoints`]. What the kernels remember (affinity, rr
    /// positions, connection counts) survives a sync, as it does in a real node.
    pub fn sync_with<F>(&mut self, cluster: &Cluster, mut endpoints_of: F)
    where
        F: FnMut(ServiceId, usize) -> Vec<SimEndpoint>,
    {
        self.index = Index::build(cluster, &mut endpoints_of);
    }

    /// The index built by the last sync.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// What the kernels remember (affinity records, rr positions, connection counts).
    pub fn dynamic(&self) -> &Dynamic {
        &self.dynamic
    }

    /// The Service owning `ip` as its ClusterIP, externalIP or LB IP, if any: for
    /// explaining a packet to a Service address on a port the Service does not expose.
    pub fn service_at(&self, ip: Ipv4Addr) -> Option<ServiceId> {
        self.index.ipvs_bound.get(&ip).copied()
    }

    /// A connection that was DNATed to `endpoint` has closed (ipvs lc counts).
    pub fn connection_closed(&mut self, node: NodeId, endpoint: SockAddr) {
        if let Some(n) = self.dynamic.active.get_mut(&(node, endpoint)) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.dynamic.active.remove(&(node, endpoint));
            }
        }
    }

    pub fn process(
        &mut self,
        cluster: &Cluster,
        input: &ProxyInput,
        rng: &mut dyn rand::RngCore,
    ) -> ProxyDecision {
        let Some(node) = cluster.nodes.get(input.node) else {
            return ProxyDecision::not_matched();
        };
        let pkt = Packet {
            cluster,
            input,
            node,
        };
        let mode = cluster.config.proxy.mode;
        let decision = match mode {
            ProxyMode::Iptables => iptables::process(&self.index, &mut self.dynamic, &pkt, rng),
            ProxyMode::Ipvs => ipvs::process(&self.index, &mut self.dynamic, &pkt, rng),
            ProxyMode::Nftables => nftables::process(&self.index, &mut self.dynamic, &pkt, rng),
        };
        if decision.action != ProxyAction::NotMatched {
            return decision;
        }
        health_check(&self.index, &pkt, mode).unwrap_or(decision)
    }
}

/// Look the destination up: a Service VIP first (KUBE-SERVICES / `@service-ips` /
/// ipvs virtual servers), then the NodePorts (the last rule of KUBE-SERVICES). The Service
/// port it reaches, and how it entered.
pub(crate) fn lookup<'i>(
    index: &'i Index,
    pkt: &Packet<'_>,
    mode: ProxyMode,
) -> Option<(&'i Arc<PortEntry>, Entrance)> {
    let t = &pkt.input.tuple;
    let (id, entrance) = match index.vips.get(&(t.dst.ip, t.dst.port, t.protocol)) {
        Some(&hit) => hit,
        None => {
            let &id = index.node_ports.get(&(t.dst.port, t.protocol))?;
            if !pkt.nodeport_address(mode) {
                return None;
            }
            (id, Entrance::NodePort)
        }
    };
    Some((index.entries.get(id)?, entrance))
}

/// pkg/proxy/healthcheck/service_health.go: the server kube-proxy runs for each
/// healthCheckNodePort (newServiceHealthServer listens on 0.0.0.0 unless
/// nodePortAddresses narrows it; ServeHTTP answers 200 when localEndpoints > 0).
fn health_check(index: &Index, pkt: &Packet<'_>, mode: ProxyMode) -> Option<ProxyDecision> {
    let t = &pkt.input.tuple;
    if t.protocol != Protocol::Tcp {
        return None;
    }
    let h = index.health.get(&t.dst.port)?;
    let dst = t.dst.ip;
    let on_node = pkt.node.addresses().any(|a| a == dst);
    let listening = match &pkt.cluster.config.proxy.node_port_addresses {
        NodePortAddresses::All => on_node || (dst.is_loopback() && pkt.input.from_host),
        NodePortAddresses::Primary => dst == pkt.node.ip,
        NodePortAddresses::Cidrs(c) if c.iter().any(|c| c.len == 0) => {
            on_node || (dst.is_loopback() && pkt.input.from_host)
        }
        NodePortAddresses::Cidrs(c) => {
            (on_node || (dst.is_loopback() && pkt.input.from_host))
                && c.iter().any(|c| c.contains(dst))
        }
    };
    if !listening {
        return None;
    }
    pkt.cluster.services.get(h.svc)?;
    let count = h
        .local_ready_by_node
        .get(pkt.input.node)
        .copied()
        .unwrap_or(0);
    let healthy = count > 0;
    let mut rules = RulePath::new();
    // The filter rule names the Service's first port (its comment is the port name).
    let entry = index
        .entries
        .iter()
        .find(|e| e.svc == h.svc)
        .map(Arc::clone);
    if mode == ProxyMode::Iptables && entry.is_some() {
        rules.push(Rule::Iptables(Ipt::HealthCheckAccept));
    }
    rules.push(Rule::HealthServer {
        healthy,
        local_endpoints: u32::try_from(count).unwrap_or(u32::MAX),
    });
    Some(ProxyDecision {
        service: Some((h.svc, 0, Entrance::HealthCheck)),
        entry,
        action: ProxyAction::HealthCheck {
            healthy,
            local_endpoints: count,
        },
        rules,
    })
}

/// The DNAT verdict for endpoint `i` of `entry`, chosen by `pick`.
pub(crate) fn dnat(entry: &PortEntry, i: usize, masquerade: bool, pick: Pick) -> ProxyAction {
    match entry.endpoints.get(i) {
        Some(ep) => ProxyAction::Dnat {
            endpoint: ep.clone(),
            index: i,
            to: SockAddr {
                ip: ep.ip,
                port: ep.port,
            },
            masquerade,
            pick,
        },
        // Unreachable by construction (candidates index `endpoints`); a verdict
        // rather than a panic.
        None => ProxyAction::Reject(Reason::NoEndpoints),
    }
}

/// An endpoint index as the rules record it.
pub(crate) fn ep_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

pub(crate) fn affinity_key(
    pkt: &Packet<'_>,
    entry: &PortEntry,
    vs: Option<VirtualServer>,
) -> AffinityKey {
    AffinityKey {
        node: pkt.input.node,
        svc: entry.svc,
        port_idx: entry.port_idx,
        vs,
        client: pkt.src(),
    }
}
