//! The rules kube-proxy programs, as typed records: which rule of which chain a packet
//! matched, by what the rule is, with indexes into the Service port's [`PortEntry`]
//! for the endpoints. The proxiers ([`super::iptables`], [`super::ipvs`],
//! [`super::nftables`]) push one [`Rule`] per rule that matched; the words
//! (`iptables-save`, `ipvsadm -Ln`, `nft list ruleset` syntax, the chain names) are
//! rendered from them by [`crate::render::rules`] only when a hop is printed.
//!
//! A rule carries only what the entry and the packet do not: the chain names, the
//! endpoints and the Service's name come from the entry (kube-proxy's view at its last
//! sync), the addresses and ports from the packet as kube-proxy saw it, the mode's
//! settings (nodePortAddresses, the ipvs scheduler) from the cluster's configuration.
//!
//! [`PortEntry`]: super::index::PortEntry

use smallvec::SmallVec;

use crate::net::Cidr;

/// The rules that matched one packet, in order. Eight fit without allocating: the
/// longest path (a LoadBalancer through its firewall chain, with affinity and hairpin)
/// has seven.
pub type RulePath = SmallVec<[Rule; 8]>;

/// One rule that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Iptables(Ipt),
    Ipvs(Ipvs),
    Nftables(Nft),
    /// kube-proxy's health-check server (pkg/proxy/healthcheck/service_health.go)
    /// answered `GET /healthz`: not a kernel rule, shown as one.
    HealthServer {
        healthy: bool,
        local_endpoints: u32,
    },
}

/// Which of a Service port's endpoint chains (`KUBE-SVC-*` for the Cluster policy,
/// `KUBE-SVL-*` for the Local one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyChain {
    Cluster,
    Local,
}

/// iptables rules (pkg/proxy/iptables/proxier.go). `ep` indexes the entry's endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipt {
    /// filter KUBE-SERVICES: a ClusterIP without endpoints (REJECT), or without local
    /// ones under internalTrafficPolicy Local (`local`: DROP).
    ServicesNoEndpoints { local: bool },
    /// nat KUBE-SERVICES: the ClusterIP, to the policy chain.
    ServicesClusterIp { chain: PolicyChain },
    /// The policy chain marks every packet (masqueradeAll).
    MasqueradeAll { chain: PolicyChain },
    /// The policy chain marks packets from outside `cidr` (detect-local).
    MasqueradeNotLocal { chain: PolicyChain, cidr: Cidr },
    /// nat KUBE-SERVICES: an externalIP, to KUBE-EXT-*.
    ServicesExternalIp,
    /// nat KUBE-SERVICES: a load-balancer IP, to KUBE-FW-* (`firewall`, when
    /// loadBalancerSourceRanges are set) or KUBE-EXT-*.
    ServicesLoadBalancer { firewall: bool },
    /// KUBE-FW-*: a source inside one of loadBalancerSourceRanges.
    FirewallAllowRange { cidr: Cidr },
    /// KUBE-FW-*: the node reaching its own VIP with the VIP as source.
    FirewallAllowNode,
    /// KUBE-FW-*: the comment rule before other traffic falls through.
    FirewallOther,
    /// filter KUBE-PROXY-FIREWALL: traffic KUBE-FW-* did not accept is dropped.
    ProxyFirewallDrop,
    /// nat KUBE-SERVICES: the last rule, to KUBE-NODEPORTS.
    ServicesNodePorts,
    /// nat KUBE-NODEPORTS: the nodePort, to KUBE-EXT-*.
    NodePort,
    /// KUBE-EXT-*: masquerade (externalTrafficPolicy Cluster).
    ExternalMasquerade,
    /// KUBE-EXT-*: to KUBE-SVC-* (externalTrafficPolicy Cluster).
    ExternalToService,
    /// KUBE-EXT-*: pod traffic short-circuits to KUBE-SVC-* (detect-local `cidr`).
    ExternalPodShortCircuit { cidr: Cidr },
    /// KUBE-EXT-*: the node's own traffic is masqueraded...
    ExternalLocalMasquerade,
    /// ...and goes to KUBE-SVC-*.
    ExternalLocalToService,
    /// KUBE-EXT-*: to KUBE-SVL-* (externalTrafficPolicy Local).
    ExternalToLocal,
    /// filter KUBE-EXTERNAL-SERVICES: an external destination without endpoints
    /// (REJECT), or without local ones (`local`: DROP); `node_port`: matched by the
    /// nodePort rather than by the address.
    ExternalServicesNoEndpoints { local: bool, node_port: bool },
    /// The policy chain's `-m recent --rcheck` rule of endpoint `ep` (sessionAffinity).
    RecentCheck {
        chain: PolicyChain,
        ep: u32,
        seconds: u32,
    },
    /// The policy chain's rule of endpoint `ep`: `-m statistic --probability 1/remaining`,
    /// or the last rule (no statistic) when `remaining` is `None`.
    Statistic {
        chain: PolicyChain,
        ep: u32,
        remaining: Option<u32>,
    },
    /// KUBE-SEP-*: a pod reaching itself through its Service is marked (hairpin).
    Hairpin { ep: u32 },
    /// KUBE-SEP-*: the DNAT (`recent`: with `-m recent --set`, for affinity).
    Dnat { ep: u32, recent: bool },
    /// filter KUBE-NODEPORTS: the healthCheckNodePort is accepted.
    HealthCheckAccept,
}

/// Why an ipvs virtual server has no real servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoRealServers {
    NoEndpoints,
    InternalLocal,
    ExternalLocal,
}

/// ipvs mode: the iptables rules matching its ipsets and the virtual servers
/// (pkg/proxy/ipvs/proxier.go). `ep` indexes the entry's endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipvs {
    /// filter KUBE-IPVS-FILTER: a kube-ipvs0 address on a port no virtual server has.
    FilterNoPort,
    /// nat KUBE-SERVICES: every ClusterIP packet is marked (masqueradeAll).
    MasqueradeAll,
    /// nat KUBE-SERVICES: ClusterIP packets from outside `cidr` are marked.
    MasqueradeNotLocal { cidr: Cidr },
    /// nat KUBE-SERVICES: the node's own ClusterIP packets are marked (detect-local None).
    MasqueradeHost,
    /// nat KUBE-SERVICES: an externalIP with externalTrafficPolicy Local is accepted.
    ExternalIpLocal,
    /// nat KUBE-SERVICES: an externalIP is marked.
    ExternalIpMasquerade,
    /// filter KUBE-PROXY-FIREWALL: a source in loadBalancerSourceRanges returns.
    FirewallReturn,
    /// filter KUBE-PROXY-FIREWALL: other sources go to KUBE-SOURCE-RANGES-FIREWALL...
    FirewallJump,
    /// ...which drops them.
    SourceRangesDrop,
    /// nat KUBE-SERVICES: the load-balancer portal.
    LoadBalancerPortal,
    /// nat KUBE-LOAD-BALANCER: externalTrafficPolicy Local returns unmarked.
    LoadBalancerLocal,
    /// nat KUBE-LOAD-BALANCER: marked.
    LoadBalancerMasquerade,
    /// nat KUBE-SERVICES: to KUBE-NODE-PORT.
    NodePortJump,
    /// nat KUBE-NODE-PORT: externalTrafficPolicy Local returns unmarked.
    NodePortLocal,
    /// nat KUBE-NODE-PORT: marked.
    NodePortMasquerade,
    /// The virtual server has no real servers (`persistent`: sessionAffinity, which
    /// drops instead of answering ICMP).
    NoRealServers {
        why: NoRealServers,
        persistent: bool,
    },
    /// The real server the scheduler chose, with its active connections.
    RealServer { ep: u32, active: u32 },
    /// nat KUBE-POSTROUTING: hairpin masquerade (KUBE-LOOP-BACK).
    Hairpin,
    /// A Local policy's fallback to a remote endpoint without SNAT: its reply never
    /// reaches the client.
    FallbackDiscarded { ep: u32 },
}

/// An nftables Service port chain: `service-*`, `local-*` or `external-*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NftChain {
    Service,
    Local,
    External,
}

/// A no-endpoints map element's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NftVerdict {
    Reject,
    Drop,
}

/// Which endpoints a `numgen` map spreads over: the Cluster set or the node's Local set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Candidates {
    Cluster,
    Local,
}

/// nftables rules and map elements (pkg/proxy/nftables/proxier.go), table
/// `ip kube-proxy`. `ep` indexes the entry's endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nft {
    /// cluster-ips-check: another port of a ClusterIP is rejected.
    ClusterIpsReject,
    /// cluster-ips-check: an unallocated address of the service CIDR is dropped.
    ClusterIpsDropUnallocated,
    /// firewall-check: the `@firewall-ips` map...
    FirewallCheck,
    /// ...its element for the destination...
    FirewallIpsElement,
    /// ...and the firewall chain's drop (`allow_from_node`: the LB IPs are allowed
    /// sources too).
    FirewallDrop { allow_from_node: bool },
    /// service-endpoints-check: the `@no-endpoint-services` map...
    EndpointsCheck,
    /// ...its element.
    NoEndpointServicesElement { verdict: NftVerdict },
    /// reject-chain.
    RejectChain,
    /// services: the `@service-ips` map...
    Services,
    /// ...its element, to the Service port chain.
    ServiceIpsElement { to: NftChain },
    /// The chain marks every packet (masqueradeAll).
    MasqueradeAll { chain: NftChain },
    /// The chain marks packets from outside `cidr`.
    MasqueradeNotLocal { chain: NftChain, cidr: Cidr },
    /// services: the `@service-nodeports` map...
    ServicesNodePorts,
    /// ...its element.
    ServiceNodePortsElement,
    /// external-*: marked (externalTrafficPolicy Cluster)...
    ExternalMasquerade,
    /// ...then to service-*.
    ExternalToService,
    /// external-*: pod traffic short-circuits to service-* (detect-local `cidr`).
    ExternalPodShortCircuit { cidr: Cidr },
    /// external-*: the node's own traffic is marked...
    ExternalLocalMasquerade,
    /// ...and goes to service-*.
    ExternalLocalToService,
    /// external-*: to local-* (externalTrafficPolicy Local).
    ExternalToLocal,
    /// nodeport-endpoints-check: the `@no-endpoint-nodeports` map...
    NodePortEndpointsCheck,
    /// ...its element.
    NoEndpointNodePortsElement { verdict: NftVerdict },
    /// The chain's affinity rule for endpoint `ep` (sessionAffinity).
    AffinityGoto { chain: NftChain, ep: u32 },
    /// The chain's `numgen random mod N vmap` over `candidates`; element `pick` matched.
    Numgen {
        chain: NftChain,
        candidates: Candidates,
        pick: u32,
    },
    /// endpoint-*: a pod reaching itself is marked (hairpin).
    EndpointMasquerade { ep: u32 },
    /// endpoint-*: the affinity set is updated.
    AffinityUpdate { ep: u32 },
    /// endpoint-*: the DNAT.
    Dnat { ep: u32 },
}
