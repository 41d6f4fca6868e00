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

use rand::RngCore;

use crate::cluster::{IpvsScheduler, ProxyMode};
use crate::net::{Protocol, SockAddr};
use crate::trace::{Reason, RuleStep};

use super::index::{Index, PortEntry};
use super::{
    Dynamic, Entrance, Packet, ProxyAction, ProxyDecision, VirtualServer, affinity_key, dnat,
    ep_str, lookup, step,
};

const NAT: &str = "iptables nat";
const FILTER: &str = "iptables filter";
const IPVS: &str = "ipvs";
const MARK_MASQ: &str = "KUBE-MARK-MASQ";

fn proto_upper(p: Protocol) -> &'static str {
    p.as_str()
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
        if let Some(&svc) = index.ipvs_bound.get(&t.dst.ip) {
            let _ = svc;
            return ProxyDecision {
                service: None,
                action: ProxyAction::Reject(Reason::NoServicePort),
                steps: vec![step(
                    FILTER,
                    "KUBE-IPVS-FILTER",
                    "-m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT --reject-with icmp-port-unreachable".into(),
                )],
            };
        }
        return ProxyDecision::not_matched();
    };
    let mut steps = Vec::new();
    let action = virtual_server(e, entrance, dynamic, pkt, &mut steps);
    ProxyDecision {
        service: Some((e.svc, e.port_idx, entrance)),
        action,
        steps,
    }
}

fn virtual_server(
    e: &PortEntry,
    entrance: Entrance,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    steps: &mut Vec<RuleStep>,
) -> ProxyAction {
    let node = pkt.input.node;
    let t = pkt.input.tuple;
    let cfg = &pkt.cluster.config.proxy;
    let p = e.proto();
    let mut masq = false;
    match entrance {
        Entrance::ClusterIp => {
            let comment = "-m comment --comment \"Kubernetes service cluster ip + port for masquerade purpose\"";
            if cfg.masquerade_all {
                masq = true;
                steps.push(step(
                    NAT,
                    "KUBE-SERVICES",
                    format!("{comment} -m set --match-set KUBE-CLUSTER-IP dst,dst -j {MARK_MASQ}"),
                ));
            } else if let Some(cidr) = pkt.local_cidr() {
                // The host's own connections to a VIP come from the VIP (it is local on
                // kube-ipvs0), never from the pod range.
                if pkt.input.from_host || !cidr.contains(pkt.src()) {
                    masq = true;
                    steps.push(step(
                        NAT,
                        "KUBE-SERVICES",
                        format!(
                            "! -s {cidr} {comment} -m set --match-set KUBE-CLUSTER-IP dst,dst -j {MARK_MASQ}"
                        ),
                    ));
                }
            } else if pkt.input.from_host {
                // detectLocalMode None: only node-originated traffic (source = a VIP).
                masq = true;
                steps.push(step(
                    NAT,
                    "KUBE-SERVICES",
                    format!("{comment} -m set --match-set KUBE-CLUSTER-IP src,dst -j {MARK_MASQ}"),
                ));
            }
        }
        Entrance::ExternalIp => {
            if e.etp_local {
                steps.push(step(
                    NAT,
                    "KUBE-SERVICES",
                    "-m comment --comment \"Kubernetes service external ip + port with externalTrafficPolicy=local\" -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -m addrtype --dst-type LOCAL -j ACCEPT".into(),
                ));
            } else {
                masq = true;
                steps.push(step(
                    NAT,
                    "KUBE-SERVICES",
                    format!(
                        "-m comment --comment \"Kubernetes service external ip + port for masquerade and filter purpose\" -m set --match-set KUBE-EXTERNAL-IP dst,dst -j {MARK_MASQ}"
                    ),
                ));
            }
        }
        Entrance::LoadBalancer => {
            if !e.source_ranges.is_empty() {
                let src = pkt.src();
                let allow_from_node = e.source_ranges.iter().any(|c| c.contains(pkt.node.ip));
                let allowed = e.source_ranges.iter().any(|c| c.contains(src))
                    || (allow_from_node && e.lb_ips.contains(&src));
                if allowed {
                    steps.push(step(
                        FILTER,
                        "KUBE-PROXY-FIREWALL",
                        "-m comment --comment \"Kubernetes service load balancer ip + port + source cidr for packet filter purpose\" -m set --match-set KUBE-LOAD-BALANCER-SOURCE-CIDR dst,dst,src -j RETURN".into(),
                    ));
                } else {
                    steps.push(step(
                        FILTER,
                        "KUBE-PROXY-FIREWALL",
                        "-m comment --comment \"Kubernetes service load balancer ip + port for load balancer with sourceRange\" -m set --match-set KUBE-LOAD-BALANCER-FW dst,dst -j KUBE-SOURCE-RANGES-FIREWALL".into(),
                    ));
                    steps.push(step(
                        FILTER,
                        "KUBE-SOURCE-RANGES-FIREWALL",
                        "-j DROP".into(),
                    ));
                    return ProxyAction::Drop(Reason::SourceRangeDenied);
                }
            }
            steps.push(step(
                NAT,
                "KUBE-SERVICES",
                "-m comment --comment \"Kubernetes service lb portal\" -m set --match-set KUBE-LOAD-BALANCER dst,dst -j KUBE-LOAD-BALANCER".into(),
            ));
            if e.etp_local {
                steps.push(step(
                    NAT,
                    "KUBE-LOAD-BALANCER",
                    "-m comment --comment \"Kubernetes service load balancer ip + port with externalTrafficPolicy=local\" -m set --match-set KUBE-LOAD-BALANCER-LOCAL dst,dst -j RETURN".into(),
                ));
            } else {
                masq = true;
                steps.push(step(NAT, "KUBE-LOAD-BALANCER", format!("-j {MARK_MASQ}")));
            }
        }
        _ => {
            steps.push(step(
                NAT,
                "KUBE-SERVICES",
                "-m addrtype --dst-type LOCAL -j KUBE-NODE-PORT".into(),
            ));
            let up = proto_upper(e.protocol);
            if e.etp_local {
                steps.push(step(
                    NAT,
                    "KUBE-NODE-PORT",
                    format!(
                        "-p {p} -m comment --comment \"Kubernetes nodeport {up} port with externalTrafficPolicy=local\" -m set --match-set KUBE-NODE-PORT-LOCAL-{up} dst -j RETURN"
                    ),
                ));
            } else {
                masq = true;
                steps.push(step(
                    NAT,
                    "KUBE-NODE-PORT",
                    format!(
                        "-p {p} -m comment --comment \"Kubernetes nodeport {up} port for masquerade purpose\" -m set --match-set KUBE-NODE-PORT-{up} dst -j {MARK_MASQ}"
                    ),
                ));
            }
        }
    }

    // The virtual server and its real servers (syncEndpoint: onlyNodeLocalEndpoints
    // for Local policies).
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
    let sched = match cfg.ipvs_scheduler {
        IpvsScheduler::Rr => "rr",
        IpvsScheduler::Lc => "lc",
        IpvsScheduler::Sh => "sh",
    };
    let persistent = e
        .affinity_timeout_s
        .map(|t| format!(" persistent {t}"))
        .unwrap_or_default();
    let vs_line = format!(
        "{}  {}:{} {sched}{persistent}",
        proto_upper(t.protocol),
        t.dst.ip,
        t.dst.port
    );
    if cands.is_empty() {
        let why = if !e.has_any {
            format!("{}: no endpoints", e.name_string)
        } else if entrance == Entrance::ClusterIp {
            format!(
                "{}: internalTrafficPolicy Local and no endpoint on this node",
                e.name_string
            )
        } else {
            format!(
                "{}: externalTrafficPolicy Local and no endpoint on this node",
                e.name_string
            )
        };
        // ip_vs_schedule finds no destination. A plain virtual server then calls
        // ip_vs_leave (ICMP port unreachable, NF_DROP); a persistent one
        // (sessionAffinity ClientIP) fails in ip_vs_sched_persist with
        // `ignored = -1`, which tcp_conn_schedule turns into a silent NF_DROP.
        if e.affinity_timeout_s.is_some() {
            steps.push(step(
                IPVS,
                &vs_line,
                format!(
                    "(no real servers: {why}; persistent service: ip_vs_sched_persist finds no destination, packet dropped)"
                ),
            ));
            let reason = if !e.has_any {
                Reason::NoEndpoints
            } else if entrance == Entrance::ClusterIp {
                Reason::NoLocalInternalEndpoint
            } else {
                Reason::NoLocalEndpoint
            };
            return ProxyAction::Drop(reason);
        }
        steps.push(step(
            IPVS,
            &vs_line,
            format!("(no real servers: {why}; ip_vs_leave sends ICMP port unreachable)"),
        ));
        return ProxyAction::Reject(Reason::NoEndpoints);
    }

    let key = affinity_key(pkt, e, Some(vs));
    let sticky = e
        .affinity_timeout_s
        .and_then(|t| dynamic.sticky(&key, e, cands, pkt.input.now_ns, t));
    let pos = match sticky {
        Some(pos) => pos,
        None => match cfg.ipvs_scheduler {
            IpvsScheduler::Rr => {
                // ip_vs_rr_schedule: the next destination after the last one used,
                // starting at the head of the list.
                let next = dynamic.rr_next.entry((node, vs)).or_insert(0);
                let pos = *next % cands.len();
                *next = pos + 1;
                pos
            }
            IpvsScheduler::Lc => {
                // ip_vs_lc_schedule: least (activeconns << 8) + inactconns, first wins
                // ties.
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
            IpvsScheduler::Sh => sh_bucket(pkt.src(), cands.len()),
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
    steps.push(step(
        IPVS,
        &vs_line,
        format!("-> {}  Masq  1  {}  0", ep_str(e, chosen), *active),
    ));
    if pkt.src() == ep.ip {
        masq = true;
        steps.push(step(
            NAT,
            "KUBE-POSTROUTING",
            "-m comment --comment \"Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose\" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE".into(),
        ));
    }
    // The fallback's price, as the comment in syncEndpoint says: "Traffic from an
    // external source will be routed but the reply will have the POD address and will
    // be discarded." Without SNAT the remote endpoint answers straight to the source;
    // only a source on this node (its pods, the host) sees the reply come back through
    // this node's conntrack.
    let source_on_node = pkt.input.from_host || pkt.node.pod_cidr.contains(pkt.src());
    if fallback && !masq && !source_on_node {
        steps.push(step(
            IPVS,
            &vs_line,
            format!(
                "(no local endpoint: {} is on another node and the packet keeps source {}; its reply leaves that node with the pod's address, not {}:{}, and the client discards it)",
                ep_str(e, chosen),
                pkt.src(),
                t.dst.ip,
                t.dst.port
            ),
        ));
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
    dnat(e, chosen, masq)
}

/// ip_vs_sh.c: bucket `hash_32(ntohl(addr), 8)` of a 256-bucket table whose bucket `i`
/// holds destination `i mod n` (every weight 1).
pub fn sh_bucket(src: std::net::Ipv4Addr, n: usize) -> usize {
    const GOLDEN_RATIO_32: u32 = 0x61C8_8647;
    let bucket = (u32::from(src).wrapping_mul(GOLDEN_RATIO_32) >> 24) as usize;
    bucket % n.max(1)
}
