//! The ipvs proxier: pkg/proxy/ipvs/proxier.go (Kubernetes 1.34), `syncProxyRules`,
//! `syncService`, `syncEndpoint` and `writeIptablesRules`, with the kernel's schedulers
//! (net/netfilter/ipvs/ip_vs_rr.c, ip_vs_lc.c, ip_vs_sh.c).
//!
//! Every ClusterIP, externalIP and LB IP is bound to the dummy interface `kube-ipvs0`,
//! so it is a local address of every node: a port no virtual server serves is REJECTed
//! by KUBE-IPVS-FILTER. A virtual server's real servers are the Cluster endpoints, or
//! the node's Local ones when the traffic policy for that kind of address is Local;
//! when the node has no local endpoint, syncEndpoint falls back to the Cluster ones
//! (kubernetes#97081) without SNAT, so the node's pods and the host get through while
//! other sources never see a usable reply (reported as a DROP with `NoLocalEndpoint` /
//! `NoLocalInternalEndpoint`). A virtual server without real servers answers ICMP port
//! unreachable (ip_vs_leave): a REJECT with `NoEndpoints`; a persistent one
//! (sessionAffinity ClientIP) drops the packet instead (ip_vs_sched_persist). Masquerade comes
//! from iptables rules matching ipsets: KUBE-CLUSTER-IP, KUBE-EXTERNAL-IP,
//! KUBE-LOAD-BALANCER, KUBE-NODE-PORT-*, and KUBE-LOOP-BACK for hairpin.

use std::sync::Arc;

use rand::RngCore;

use crate::cluster::{IpvsScheduler, ProxyMode};
use crate::net::SockAddr;
use crate::trace::Reason;

use super::index::{Index, PortEntry};
use super::rules::{Ipvs, NoRealServers, Rule, RulePath};
use super::{
    Dynamic, Entrance, Packet, Pick, ProxyAction, ProxyDecision, VirtualServer, affinity_key, dnat,
    ep_u32, lookup,
};

fn push(rules: &mut RulePath, r: Ipvs) {
    rules.push(Rule::Ipvs(r));
}

pub(crate) fn process(
    index: &Index,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rng: &mut dyn RngCore,
) -> ProxyDecision {
    let _ = rng; // ipvs schedulers are deterministic
    let t = pkt.input.tuple;
    let Some((e, entrance)) = lookup(index, pkt, ProxyMode::Ipvs) else {
        // A kube-ipvs0 address on a port no virtual server has: KUBE-IPVS-FILTER.
        if index.ipvs_bound.contains_key(&t.dst.ip) {
            return ProxyDecision::bare(
                ProxyAction::Reject(Reason::NoServicePort),
                Rule::Ipvs(Ipvs::FilterNoPort),
            );
        }
        return ProxyDecision::not_matched();
    };
    let mut rules = RulePath::new();
    let masq = mark(e, entrance, pkt, &mut rules);
    let action = match masq {
        Ok(masq) => virtual_server(e, entrance, masq, dynamic, pkt, &mut rules),
        Err(drop) => drop,
    };
    ProxyDecision::on(e, entrance, action, rules)
}

/// The iptables rules ipvs mode writes around its ipsets: whether the packet is marked
/// for masquerade, or `Err` when the load balancer's source-range firewall drops it.
fn mark(
    e: &PortEntry,
    entrance: Entrance,
    pkt: &Packet<'_>,
    rules: &mut RulePath,
) -> Result<bool, ProxyAction> {
    let cfg = &pkt.cluster.config.proxy;
    let mut masq = false;
    match entrance {
        Entrance::ClusterIp => {
            if cfg.masquerade_all {
                masq = true;
                push(rules, Ipvs::MasqueradeAll);
            } else if let Some(cidr) = pkt.local_cidr() {
                // The host's own connections to a VIP come from the VIP (it is local on
                // kube-ipvs0), never from the pod range.
                if pkt.input.from_host || !cidr.contains(pkt.src()) {
                    masq = true;
                    push(rules, Ipvs::MasqueradeNotLocal { cidr });
                }
            } else if pkt.input.from_host {
                // detectLocalMode None: only node-originated traffic (source = a VIP).
                masq = true;
                push(rules, Ipvs::MasqueradeHost);
            }
        }
        Entrance::ExternalIp => {
            if e.etp_local {
                push(rules, Ipvs::ExternalIpLocal);
            } else {
                masq = true;
                push(rules, Ipvs::ExternalIpMasquerade);
            }
        }
        Entrance::LoadBalancer => {
            if !e.source_ranges.is_empty() {
                let src = pkt.src();
                let allow_from_node = e.source_ranges.iter().any(|c| c.contains(pkt.node.ip));
                let allowed = e.source_ranges.iter().any(|c| c.contains(src))
                    || (allow_from_node && e.lb_ips.contains(&src));
                if allowed {
                    push(rules, Ipvs::FirewallReturn);
                } else {
                    push(rules, Ipvs::FirewallJump);
                    push(rules, Ipvs::SourceRangesDrop);
                    return Err(ProxyAction::Drop(Reason::SourceRangeDenied));
                }
            }
            push(rules, Ipvs::LoadBalancerPortal);
            if e.etp_local {
                push(rules, Ipvs::LoadBalancerLocal);
            } else {
                masq = true;
                push(rules, Ipvs::LoadBalancerMasquerade);
            }
        }
        _ => {
            push(rules, Ipvs::NodePortJump);
            if e.etp_local {
                push(rules, Ipvs::NodePortLocal);
            } else {
                masq = true;
                push(rules, Ipvs::NodePortMasquerade);
            }
        }
    }
    Ok(masq)
}

/// The virtual server and its real servers (syncEndpoint: onlyNodeLocalEndpoints for
/// Local policies), and the kernel's scheduler.
fn virtual_server(
    e: &Arc<PortEntry>,
    entrance: Entrance,
    mut masq: bool,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rules: &mut RulePath,
) -> ProxyAction {
    let node = pkt.input.node;
    let t = pkt.input.tuple;
    let cfg = &pkt.cluster.config.proxy;
    let vs: VirtualServer = (t.dst.ip, t.dst.port, t.protocol);
    let local_policy = match entrance {
        Entrance::ClusterIp => e.itp_local,
        _ => e.etp_local,
    };
    // syncEndpoint: with onlyNodeLocalEndpoints and no local endpoint, the real
    // servers are the Cluster endpoints (kubernetes#97081: "Allow access from local
    // PODs even if no local endpoints exist").
    let fallback = local_policy && e.local(node).is_empty();
    let cands: &[usize] = if !e.has_any {
        &[]
    } else if local_policy && !fallback {
        e.local(node)
    } else {
        &e.cluster
    };
    if cands.is_empty() {
        let why = if !e.has_any {
            NoRealServers::NoEndpoints
        } else if entrance == Entrance::ClusterIp {
            NoRealServers::InternalLocal
        } else {
            NoRealServers::ExternalLocal
        };
        // ip_vs_schedule finds no destination. A plain virtual server then calls
        // ip_vs_leave (ICMP port unreachable, NF_DROP); a persistent one
        // (sessionAffinity ClientIP) fails in ip_vs_sched_persist with
        // `ignored = -1`, which tcp_conn_schedule turns into a silent NF_DROP.
        let persistent = e.affinity_timeout_s.is_some();
        push(rules, Ipvs::NoRealServers { why, persistent });
        if persistent {
            return ProxyAction::Drop(match why {
                NoRealServers::NoEndpoints => Reason::NoEndpoints,
                NoRealServers::InternalLocal => Reason::NoLocalInternalEndpoint,
                NoRealServers::ExternalLocal => Reason::NoLocalEndpoint,
            });
        }
        return ProxyAction::Reject(Reason::NoEndpoints);
    }

    let key = affinity_key(pkt, e, Some(vs));
    let sticky = e
        .affinity_timeout_s
        .and_then(|t| dynamic.sticky(&key, e, cands, pkt.input.now_ns, t));
    let (pos, pick) = match sticky {
        Some(pos) => (pos, Pick::Affinity),
        None => match cfg.ipvs_scheduler {
            IpvsScheduler::Rr => {
                // ip_vs_rr_schedule: the next destination after the last one used,
                // starting at the head of the list.
                let next = dynamic.rr_next.entry((node, vs)).or_insert(0);
                let pos = *next % cands.len();
                *next = pos + 1;
                (pos, Pick::RoundRobin)
            }
            IpvsScheduler::Lc => (
                least_connection(e, cands, dynamic, node),
                Pick::LeastConnection,
            ),
            IpvsScheduler::Sh => (sh_bucket(pkt.src(), cands.len()), Pick::SourceHash),
        },
    };
    let chosen = cands[pos];
    let ep = &e.endpoints[chosen];
    let addr = SockAddr {
        ip: ep.ip,
        port: ep.port,
    };
    if e.affinity_timeout_s.is_some() {
        dynamic.remember(key, addr, pkt.input.now_ns);
    }
    let active = dynamic.active.entry((node, addr)).or_insert(0);
    *active = active.saturating_add(1);
    push(
        rules,
        Ipvs::RealServer {
            ep: ep_u32(chosen),
            active: *active,
        },
    );
    if pkt.src() == ep.ip {
        masq = true;
        push(rules, Ipvs::Hairpin);
    }
    // The fallback's price, as the comment in syncEndpoint says: "Traffic from an
    // external source will be routed but the reply will have the POD address and will
    // be discarded." Without SNAT the remote endpoint answers straight to the source;
    // only a source on this node (its pods, the host) sees the reply come back through
    // this node's conntrack.
    let source_on_node = pkt.input.from_host || pkt.node.pod_cidr.contains(pkt.src());
    if fallback && !masq && !source_on_node {
        push(rules, Ipvs::FallbackDiscarded { ep: ep_u32(chosen) });
        // No connection the engine will ever close: do not leave it in lc's counts.
        if let Some(n) = dynamic.active.get_mut(&(node, addr)) {
            *n = n.saturating_sub(1);
        }
        return ProxyAction::Drop(if entrance == Entrance::ClusterIp {
            Reason::NoLocalInternalEndpoint
        } else {
            Reason::NoLocalEndpoint
        });
    }
    dnat(e, chosen, masq, pick)
}

/// ip_vs_lc_schedule: least (activeconns << 8) + inactconns, first wins ties.
fn least_connection(
    e: &PortEntry,
    cands: &[usize],
    dynamic: &Dynamic,
    node: crate::cluster::NodeId,
) -> usize {
    let mut best = 0;
    let mut best_load = u32::MAX;
    for (pos, &i) in cands.iter().enumerate() {
        let ep = &e.endpoints[i];
        let addr = SockAddr {
            ip: ep.ip,
            port: ep.port,
        };
        let load = dynamic.active.get(&(node, addr)).copied().unwrap_or(0);
        if load < best_load {
            best = pos;
            best_load = load;
        }
    }
    best
}

/// ip_vs_sh.c: bucket `hash_32(ntohl(addr), 8)` of a 256-bucket table whose bucket `i`
/// holds destination `i mod n` (every weight 1).
pub fn sh_bucket(src: std::net::Ipv4Addr, n: usize) -> usize {
    const GOLDEN_RATIO_32: u32 = 0x61C8_8647;
    let bucket = (u32::from(src).wrapping_mul(GOLDEN_RATIO_32) >> 24) as usize;
    bucket % n.max(1)
}
