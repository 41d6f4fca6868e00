//! kube-proxy's view of the Services, rebuilt at each sync: one [`PortEntry`] per
//! Service port kube-proxy proxies, its endpoints in kube-proxy's order and split as
//! `CategorizeEndpoints` splits them, and maps for O(1) lookup of a packet's
//! destination.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::cluster::{Cluster, NodeId, ServiceId, ServiceType, SimEndpoint};
use crate::net::{Cidr, Protocol};

use super::Entrance;
use super::names::{self, IptablesChains};

/// One Service port, as kube-proxy's `servicePortInfo` holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct PortEntry {
    pub svc: ServiceId,
    pub port_idx: usize,
    pub namespace: String,
    pub name: String,
    pub port_name: String,
    /// `ns/name:port` (proxy.ServicePortName.String()).
    pub name_string: String,
    pub protocol: Protocol,
    pub cluster_ip: Ipv4Addr,
    pub port: u16,
    pub node_port: Option<u16>,
    pub external_ips: Vec<Ipv4Addr>,
    pub lb_ips: Vec<Ipv4Addr>,
    pub source_ranges: Vec<Cidr>,
    /// pkg/proxy/serviceport.go ExternalPolicyLocal: false unless externally accessible.
    pub etp_local: bool,
    /// InternalPolicyLocal.
    pub itp_local: bool,
    /// ExternallyAccessible: a NodePort, an LB VIP or an externalIP.
    pub externally_accessible: bool,
    /// sessionAffinity ClientIP: StickyMaxAgeSeconds.
    pub affinity_timeout_s: Option<u32>,
    /// Every endpoint, sorted as pkg/proxy/endpointslicecache.go
    /// endpointsMapFromEndpointInfo sorts them (`byEndpoint`: the string `ip:port`).
    pub endpoints: Vec<SimEndpoint>,
    /// CategorizeEndpoints' clusterEndpoints (indexes into `endpoints`).
    pub cluster: Vec<usize>,
    /// CategorizeEndpoints' localEndpoints, per node (indexes into `endpoints`).
    pub local_by_node: Vec<Vec<usize>>,
    /// CategorizeEndpoints' hasAnyEndpoints (the same on every node: simctl has no
    /// topology hints).
    pub has_any: bool,
    pub ipt: IptablesChains,
    /// `KUBE-SEP-*` per endpoint.
    pub sep: Vec<String>,
    /// nftables `HASH-ns/name/proto/port`.
    pub nft_base: String,
    /// nftables `HASH-ns/name/proto/port__ip/port` per endpoint.
    pub nft_ep_base: Vec<String>,
}

impl PortEntry {
    pub fn proto(&self) -> &'static str {
        self.protocol.lower()
    }

    /// UsesClusterEndpoints (pkg/proxy/serviceport.go).
    pub fn uses_cluster_endpoints(&self) -> bool {
        !self.itp_local || self.externally_accessible
    }

    /// UsesLocalEndpoints (pkg/proxy/serviceport.go).
    pub fn uses_local_endpoints(&self) -> bool {
        self.itp_local || (self.etp_local && self.externally_accessible)
    }

    pub fn local(&self, node: NodeId) -> &[usize] {
        self.local_by_node.get(node).map_or(&[], Vec::as_slice)
    }

    /// `hasInternalEndpoints` of syncProxyRules.
    pub fn has_internal(&self, node: NodeId) -> bool {
        self.has_any && (!self.itp_local || !self.local(node).is_empty())
    }

    /// `hasExternalEndpoints` of syncProxyRules.
    pub fn has_external(&self, node: NodeId) -> bool {
        self.has_any && (!self.etp_local || !self.local(node).is_empty())
    }

    /// The endpoints ClusterIP traffic uses on `node` (internalPolicyChain).
    pub fn internal(&self, node: NodeId) -> &[usize] {
        if self.itp_local {
            self.local(node)
        } else {
            &self.cluster
        }
    }

    /// The endpoints external traffic uses on `node` (externalPolicyChain).
    pub fn external(&self, node: NodeId) -> &[usize] {
        if self.etp_local {
            self.local(node)
        } else {
            &self.cluster
        }
    }
}

/// The health-check server's view of one Service with a healthCheckNodePort.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthEntry {
    pub svc: ServiceId,
    /// EndpointsMap.LocalReadyEndpoints: local ready endpoints summed over the ports.
    pub local_ready_by_node: Vec<usize>,
}

/// The index kube-proxy's sync produces.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Index {
    /// One per Service port, shared with the hops that matched it (a sync builds new
    /// entries; a hop keeps the one it met).
    pub entries: Vec<Arc<PortEntry>>,
    /// iptables' `statistic` threshold for "1 of `remaining`", indexed by `remaining`
    /// (1 up to the largest endpoint set): computed once per sync, not per packet.
    pub statistic: Vec<u32>,
    /// (ClusterIP | externalIP | LB IP, port, protocol) -> entry.
    pub vips: BTreeMap<(Ipv4Addr, u16, Protocol), (usize, Entrance)>,
    /// (nodePort, protocol) -> entry.
    pub node_ports: BTreeMap<(u16, Protocol), usize>,
    /// healthCheckNodePort -> Service.
    pub health: BTreeMap<u16, HealthEntry>,
    /// Every ClusterIP kube-proxy serves (nftables `cluster-ips`, ipvs KUBE-CLUSTER-IP).
    pub cluster_ips: BTreeMap<Ipv4Addr, ServiceId>,
    /// Addresses ipvs binds to `kube-ipvs0`: ClusterIPs, externalIPs, LB IPs.
    pub ipvs_bound: BTreeMap<Ipv4Addr, ServiceId>,
}

fn endpoint_key(ep: &SimEndpoint) -> String {
    format!("{}:{}", ep.ip, ep.port)
}

/// pkg/proxy/topology.go CategorizeEndpoints, for one node, without topology hints
/// (canUseTopology is false: SimEndpoint carries none). Returns (local, has_any_local_part).
fn categorize_local(endpoints: &[SimEndpoint], node: NodeId) -> Vec<usize> {
    let is_local = |ep: &SimEndpoint| ep.node == Some(node);
    let has_local_ready = endpoints.iter().any(|ep| ep.ready && is_local(ep));
    if has_local_ready {
        return (0..endpoints.len())
            .filter(|&i| endpoints[i].ready && is_local(&endpoints[i]))
            .collect();
    }
    (0..endpoints.len())
        .filter(|&i| {
            let ep = &endpoints[i];
            !ep.ready && is_local(ep) && ep.serving && ep.terminating
        })
        .collect()
}

impl Index {
    /// The `statistic` threshold for "1 of `remaining`" (as xt_statistic compares it).
    pub fn statistic_u32(&self, remaining: usize) -> u32 {
        self.statistic
            .get(remaining)
            .copied()
            .unwrap_or_else(|| names::iptables_probability_u32(remaining))
    }

    /// Build the index; `endpoints_of(svc, port_idx)` gives the endpoints of a port.
    pub fn build(
        cluster: &Cluster,
        endpoints_of: &mut dyn FnMut(ServiceId, usize) -> Vec<SimEndpoint>,
    ) -> Index {
        let node_count = cluster.nodes.len();
        let mut index = Index::default();
        for (svc_id, svc) in cluster.services.iter().enumerate() {
            // pkg/proxy/util/utils.go ShouldSkipService: no ClusterIP (headless,
            // ExternalName) means kube-proxy does nothing for the Service.
            let Some(cluster_ip) = svc.cluster_ip else {
                continue;
            };
            if !svc.alive || svc.type_ == ServiceType::ExternalName {
                continue;
            }
            index.cluster_ips.entry(cluster_ip).or_insert(svc_id);
            index.ipvs_bound.entry(cluster_ip).or_insert(svc_id);
            for ip in svc.external_ips.iter().chain(svc.lb_ips.iter()) {
                index.ipvs_bound.entry(*ip).or_insert(svc_id);
            }
            let lb = svc.type_ == ServiceType::LoadBalancer;
            // pkg/api/v1/service ExternallyAccessible decides whether ETP applies.
            let svc_ext_accessible = lb
                || svc.type_ == ServiceType::NodePort
                || (svc.type_ == ServiceType::ClusterIp && !svc.external_ips.is_empty());
            let mut local_ready = vec![0usize; node_count];
            for (port_idx, sp) in svc.ports.iter().enumerate() {
                let mut endpoints = endpoints_of(svc_id, port_idx);
                endpoints.sort_by_cached_key(endpoint_key);
                endpoints.dedup_by(|a, b| a.ip == b.ip && a.port == b.port);
                let lb_ips = if lb { svc.lb_ips.clone() } else { Vec::new() };
                let node_port = sp.node_port.filter(|_| {
                    matches!(svc.type_, ServiceType::NodePort | ServiceType::LoadBalancer)
                });
                let externally_accessible =
                    node_port.is_some() || !lb_ips.is_empty() || !svc.external_ips.is_empty();
                let name_string = names::service_port_name(&svc.namespace, &svc.name, &sp.name);
                let proto = sp.protocol.lower();
                let mut entry = PortEntry {
                    svc: svc_id,
                    port_idx,
                    namespace: svc.namespace.clone(),
                    name: svc.name.clone(),
                    port_name: sp.name.clone(),
                    ipt: IptablesChains::new(&name_string, proto),
                    sep: endpoints
                        .iter()
                        .map(|ep| names::iptables_sep_chain(&name_string, proto, &endpoint_key(ep)))
                        .collect(),
                    nft_base: names::nft_service_base(&svc.namespace, &svc.name, proto, &sp.name),
                    nft_ep_base: endpoints
                        .iter()
                        .map(|ep| {
                            names::nft_endpoint_base(
                                &svc.namespace,
                                &svc.name,
                                proto,
                                &sp.name,
                                ep.ip,
                                ep.port,
                            )
                        })
                        .collect(),
                    name_string,
                    protocol: sp.protocol,
                    cluster_ip,
                    port: sp.port,
                    node_port,
                    external_ips: svc.external_ips.clone(),
                    lb_ips,
                    source_ranges: svc.lb_source_ranges.clone(),
                    etp_local: svc.external_traffic_local && svc_ext_accessible,
                    itp_local: svc.internal_traffic_local,
                    externally_accessible,
                    affinity_timeout_s: svc.affinity_timeout_s,
                    endpoints,
                    cluster: Vec::new(),
                    local_by_node: Vec::new(),
                    has_any: false,
                };
                categorize(&mut entry, node_count);
                for (node, count) in local_ready.iter_mut().enumerate() {
                    *count += entry
                        .endpoints
                        .iter()
                        .filter(|ep| ep.ready && ep.node == Some(node))
                        .count();
                }
                let id = index.entries.len();
                index
                    .vips
                    .entry((cluster_ip, entry.port, entry.protocol))
                    .or_insert((id, Entrance::ClusterIp));
                if let Some(np) = entry.node_port {
                    index.node_ports.entry((np, entry.protocol)).or_insert(id);
                }
                index.entries.push(Arc::new(entry));
            }
            if let Some(hc) = svc
                .health_check_node_port
                .filter(|_| svc.external_traffic_local)
            {
                index.health.entry(hc).or_insert(HealthEntry {
                    svc: svc_id,
                    local_ready_by_node: local_ready,
                });
            }
        }
        let widest = index.entries.iter().map(|e| e.endpoints.len()).max();
        index.statistic = (0..=widest.unwrap_or(0))
            .map(names::iptables_probability_u32)
            .collect();
        // externalIPs and LB IPs after every ClusterIP, as KUBE-SERVICES would match a
        // ClusterIP rule of any Service first only by accident of order: an address is
        // one kind of thing in a sane cluster.
        for (id, e) in index.entries.iter().enumerate() {
            for ip in &e.external_ips {
                index
                    .vips
                    .entry((*ip, e.port, e.protocol))
                    .or_insert((id, Entrance::ExternalIp));
            }
            for ip in &e.lb_ips {
                index
                    .vips
                    .entry((*ip, e.port, e.protocol))
                    .or_insert((id, Entrance::LoadBalancer));
            }
        }
        index
    }
}

/// pkg/proxy/topology.go CategorizeEndpoints: ready endpoints, falling back to
/// serving+terminating ones when none is ready; the Local set per node likewise.
fn categorize(entry: &mut PortEntry, node_count: usize) {
    let eps = &entry.endpoints;
    let mut has_any = false;
    if entry.uses_cluster_endpoints() {
        let mut cluster: Vec<usize> = (0..eps.len()).filter(|&i| eps[i].ready).collect();
        if cluster.is_empty() {
            cluster = (0..eps.len())
                .filter(|&i| eps[i].serving && eps[i].terminating)
                .collect();
        }
        has_any = !cluster.is_empty();
        entry.cluster = cluster;
    }
    if entry.uses_local_endpoints() {
        if eps
            .iter()
            .any(|ep| ep.ready || (ep.serving && ep.terminating))
        {
            has_any = true;
        }
        entry.local_by_node = (0..node_count).map(|n| categorize_local(eps, n)).collect();
    } else {
        entry.local_by_node = vec![Vec::new(); node_count];
    }
    entry.has_any = has_any;
}
