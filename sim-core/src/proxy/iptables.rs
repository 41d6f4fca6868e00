//! The iptables proxier: pkg/proxy/iptables/proxier.go (Kubernetes 1.34),
//! `syncProxyRules` and `writeServiceToEndpointRules`, walked for one new connection.
//!
//! The nat table decides first (PREROUTING / OUTPUT -> KUBE-SERVICES). A packet the
//! nat rules did not DNAT then meets the filter table: KUBE-SERVICES (FORWARD, OUTPUT)
//! rejects or drops ClusterIP traffic without endpoints, KUBE-EXTERNAL-SERVICES (INPUT,
//! FORWARD: never plain OUTPUT) does the same for external destinations, and
//! KUBE-PROXY-FIREWALL drops LB traffic the KUBE-FW chain did not let through. Rules are
//! printed as `iptables-save` prints them.

use rand::RngCore;

use crate::cluster::ProxyMode;
use crate::trace::{Reason, RuleStep};

use super::index::{Index, PortEntry};
use super::names::{iptables_probability_text, iptables_probability_u32};
use super::{
    Dynamic, Entrance, Packet, ProxyAction, ProxyDecision, affinity_key, dnat, ep_str, lookup, step,
};

const NAT: &str = "iptables nat";
const FILTER: &str = "iptables filter";
const MARK_MASQ: &str = "KUBE-MARK-MASQ";

fn nat(chain: &str, rule: String) -> RuleStep {
    step(NAT, chain, rule)
}

fn filter(chain: &str, rule: String) -> RuleStep {
    step(FILTER, chain, rule)
}

/// `-d IP/32 -p tcp -m comment --comment "C" -m tcp --dport P`
fn dst_match(e: &PortEntry, ip: std::net::Ipv4Addr, port: u16, comment: &str) -> String {
    let p = e.proto();
    format!("-d {ip}/32 -p {p} -m comment --comment \"{comment}\" -m {p} --dport {port}")
}

pub(crate) fn process(
    index: &Index,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rng: &mut dyn RngCore,
) -> ProxyDecision {
    let Some((e, entrance)) = lookup(index, pkt, ProxyMode::Iptables) else {
        // No rule of KUBE-SERVICES matches: an unknown port of a ClusterIP is routed
        // like any address (and nothing answers there).
        return ProxyDecision::not_matched();
    };
    let mut steps = Vec::new();
    let action = match entrance {
        Entrance::ClusterIp => cluster_ip(e, dynamic, pkt, rng, &mut steps),
        _ => external(e, entrance, dynamic, pkt, rng, &mut steps),
    };
    if action == ProxyAction::NotMatched {
        return ProxyDecision {
            service: None,
            action,
            steps,
        };
    }
    ProxyDecision {
        service: Some((e.svc, e.port_idx, entrance)),
        action,
        steps,
    }
}

/// syncProxyRules, "Capture the clusterIP" and "Set up internal traffic handling".
fn cluster_ip(
    e: &PortEntry,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rng: &mut dyn RngCore,
    steps: &mut Vec<RuleStep>,
) -> ProxyAction {
    let node = pkt.input.node;
    let port = e.port;
    if !e.has_internal(node) {
        // No nat rule: the filter table's KUBE-SERVICES (FORWARD / OUTPUT) decides.
        let (comment, target, action) = if !e.has_any {
            (
                format!("{} has no endpoints", e.name_string),
                "REJECT --reject-with icmp-port-unreachable",
                ProxyAction::Reject(Reason::NoEndpoints),
            )
        } else {
            (
                format!("{} has no local endpoints", e.name_string),
                "DROP",
                ProxyAction::Drop(Reason::NoLocalInternalEndpoint),
            )
        };
        steps.push(filter(
            "KUBE-SERVICES",
            format!("{} -j {target}", dst_match(e, e.cluster_ip, port, &comment)),
        ));
        return action;
    }
    let chain = if e.itp_local { &e.ipt.svl } else { &e.ipt.svc };
    let comment = format!("{} cluster IP", e.name_string);
    steps.push(nat(
        "KUBE-SERVICES",
        format!("{} -j {chain}", dst_match(e, e.cluster_ip, port, &comment)),
    ));
    // masqueradeAll, else off-cluster traffic to the VIP when detect-local is
    // implemented; with detectLocalMode None nothing is marked here.
    let mut masq = false;
    if pkt.cluster.config.proxy.masquerade_all {
        masq = true;
        steps.push(nat(
            chain,
            format!(
                "{} -j {MARK_MASQ}",
                dst_match(e, e.cluster_ip, port, &comment)
            ),
        ));
    } else if pkt.is_not_local() {
        masq = true;
        let cidr = pkt.local_cidr().map(|c| c.to_string()).unwrap_or_default();
        steps.push(nat(
            chain,
            format!(
                "! -s {cidr} {} -j {MARK_MASQ}",
                dst_match(e, e.cluster_ip, port, &comment)
            ),
        ));
    }
    let cands = e.internal(node);
    to_endpoint(e, chain, cands, masq, dynamic, pkt, rng, steps)
}

/// External destinations: externalIPs, LB IPs (through KUBE-FW-* with source ranges),
/// NodePorts (KUBE-NODEPORTS), all into KUBE-EXT-*.
fn external(
    e: &PortEntry,
    entrance: Entrance,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rng: &mut dyn RngCore,
    steps: &mut Vec<RuleStep>,
) -> ProxyAction {
    let node = pkt.input.node;
    let dst = pkt.dst();
    let p = e.proto();
    if e.has_any {
        match entrance {
            Entrance::ExternalIp => steps.push(nat(
                "KUBE-SERVICES",
                format!(
                    "{} -j {}",
                    dst_match(e, dst, e.port, &format!("{} external IP", e.name_string)),
                    e.ipt.ext
                ),
            )),
            Entrance::LoadBalancer => {
                let uses_fw = !e.source_ranges.is_empty();
                let target = if uses_fw { &e.ipt.fw } else { &e.ipt.ext };
                let comment = format!("{} loadbalancer IP", e.name_string);
                steps.push(nat(
                    "KUBE-SERVICES",
                    format!("{} -j {target}", dst_match(e, dst, e.port, &comment)),
                ));
                if uses_fw {
                    // The node may reach its own VIP with the VIP as source
                    // (allowFromNode).
                    let allow_from_node = e.source_ranges.iter().any(|c| c.contains(pkt.node.ip));
                    let src = pkt.src();
                    let by_range = e.source_ranges.iter().find(|c| c.contains(src));
                    let rule = match by_range {
                        Some(c) => Some(format!(
                            "-s {c} -m comment --comment \"{comment}\" -j {}",
                            e.ipt.ext
                        )),
                        None if allow_from_node && e.lb_ips.contains(&src) => Some(format!(
                            "-s {src}/32 -m comment --comment \"{comment}\" -j {}",
                            e.ipt.ext
                        )),
                        None => None,
                    };
                    match rule {
                        Some(r) => steps.push(nat(&e.ipt.fw, r)),
                        None => {
                            steps.push(nat(
                                &e.ipt.fw,
                                format!(
                                    "-m comment --comment \"other traffic to {} will be dropped by KUBE-PROXY-FIREWALL\"",
                                    e.name_string
                                ),
                            ));
                            steps.push(filter(
                                "KUBE-PROXY-FIREWALL",
                                format!(
                                    "{} -j DROP",
                                    dst_match(
                                        e,
                                        dst,
                                        e.port,
                                        &format!(
                                            "{} traffic not accepted by {}",
                                            e.name_string, e.ipt.fw
                                        )
                                    )
                                ),
                            ));
                            return ProxyAction::Drop(Reason::SourceRangeDenied);
                        }
                    }
                }
            }
            _ => {
                steps.push(nat("KUBE-SERVICES", nodeports_jump(pkt)));
                let np = e.node_port.unwrap_or(0);
                steps.push(nat(
                    "KUBE-NODEPORTS",
                    format!(
                        "-p {p} -m comment --comment \"{}\" -m {p} --dport {np} -j {}",
                        e.name_string, e.ipt.ext
                    ),
                ));
            }
        }
        // KUBE-EXT-*.
        let ext = &e.ipt.ext;
        if !e.etp_local {
            steps.push(nat(
                ext,
                format!(
                    "-m comment --comment \"masquerade traffic for {} external destinations\" -j {MARK_MASQ}",
                    e.name_string
                ),
            ));
            steps.push(nat(ext, format!("-j {}", e.ipt.svc)));
            return to_endpoint(e, &e.ipt.svc, &e.cluster, true, dynamic, pkt, rng, steps);
        }
        if pkt.is_local() {
            let cidr = pkt.local_cidr().map(|c| c.to_string()).unwrap_or_default();
            steps.push(nat(
                ext,
                format!(
                    "-s {cidr} -m comment --comment \"pod traffic for {} external destinations\" -j {}",
                    e.name_string, e.ipt.svc
                ),
            ));
            return to_endpoint(e, &e.ipt.svc, &e.cluster, false, dynamic, pkt, rng, steps);
        }
        if pkt.input.from_host {
            steps.push(nat(
                ext,
                format!(
                    "-m comment --comment \"masquerade LOCAL traffic for {} external destinations\" -m addrtype --src-type LOCAL -j {MARK_MASQ}",
                    e.name_string
                ),
            ));
            steps.push(nat(
                ext,
                format!(
                    "-m comment --comment \"route LOCAL traffic for {} external destinations\" -m addrtype --src-type LOCAL -j {}",
                    e.name_string, e.ipt.svc
                ),
            ));
            return to_endpoint(e, &e.ipt.svc, &e.cluster, true, dynamic, pkt, rng, steps);
        }
        if e.has_external(node) {
            steps.push(nat(ext, format!("-j {}", e.ipt.svl)));
            return to_endpoint(
                e,
                &e.ipt.svl,
                e.local(node),
                false,
                dynamic,
                pkt,
                rng,
                steps,
            );
        }
        // Falls off the end of KUBE-EXT-*: not DNATed; the filter table drops it below.
    }
    // Not DNATed. KUBE-EXTERNAL-SERVICES hangs off INPUT and FORWARD only: a host's own
    // packet to a non-local external address never meets it.
    if pkt.input.from_host && !pkt.dst_is_node_local() {
        steps.clear();
        return ProxyAction::NotMatched;
    }
    let (comment, target, action) = if !e.has_any {
        (
            format!("{} has no endpoints", e.name_string),
            "REJECT --reject-with icmp-port-unreachable",
            ProxyAction::Reject(Reason::NoEndpoints),
        )
    } else {
        (
            format!("{} has no local endpoints", e.name_string),
            "DROP",
            ProxyAction::Drop(Reason::NoLocalEndpoint),
        )
    };
    let rule = match entrance {
        Entrance::NodePort => format!(
            "-p {p} -m comment --comment \"{comment}\" -m addrtype --dst-type LOCAL -m {p} --dport {} -j {target}",
            e.node_port.unwrap_or(0)
        ),
        _ => format!("{} -j {target}", dst_match(e, dst, e.port, &comment)),
    };
    steps.push(filter("KUBE-EXTERNAL-SERVICES", rule));
    action
}

/// The last rule of KUBE-SERVICES (syncProxyRules, "Finally, tail-call to the
/// nodePorts chain").
fn nodeports_jump(pkt: &Packet<'_>) -> String {
    use crate::cluster::NodePortAddresses;
    let comment = "-m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\"";
    let cfg = &pkt.cluster.config.proxy;
    let match_all = match &cfg.node_port_addresses {
        NodePortAddresses::All => true,
        NodePortAddresses::Primary => false,
        NodePortAddresses::Cidrs(c) => c.iter().any(|c| c.len == 0),
    };
    if match_all {
        let no_localhost = if cfg.localhost_node_ports {
            ""
        } else {
            "! -d 127.0.0.0/8 "
        };
        format!("{no_localhost}{comment} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")
    } else {
        format!("-d {}/32 {comment} -j KUBE-NODEPORTS", pkt.dst())
    }
}

/// writeServiceToEndpointRules for `chain` (KUBE-SVC-* or KUBE-SVL-*) over `cands`,
/// then the chosen KUBE-SEP-* chain.
#[allow(clippy::too_many_arguments)]
fn to_endpoint(
    e: &PortEntry,
    chain: &str,
    cands: &[usize],
    mut masq: bool,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rng: &mut dyn RngCore,
    steps: &mut Vec<RuleStep>,
) -> ProxyAction {
    let n = cands.len();
    if n == 0 {
        // Not reachable: kube-proxy only jumps to a policy chain it filled.
        return ProxyAction::Reject(Reason::NoEndpoints);
    }
    let key = affinity_key(pkt, e, None);
    let mut chosen = None;
    // First the `recent --rcheck` rules, one per endpoint, in endpoint order.
    if let Some(t) = e.affinity_timeout_s
        && let Some(pos) = dynamic.sticky(&key, e, cands, pkt.input.now_ns, t)
    {
        let i = cands[pos];
        let sep = &e.sep[i];
        steps.push(nat(
            chain,
            format!(
                "-m comment --comment \"{} -> {}\" -m recent --rcheck --seconds {t} --reap --name {sep} --mask 255.255.255.255 --rsource -j {sep}",
                e.name_string,
                ep_str(e, i)
            ),
        ));
        chosen = Some(i);
    }
    // Then `-m statistic --mode random --probability 1/(n-k)` for each but the last:
    // xt_statistic draws a u32 per rule and matches when (r & 0x7FFFFFFF) < p * 2^31.
    let chosen = match chosen {
        Some(i) => i,
        None => {
            let mut pick = n - 1;
            for k in 0..n - 1 {
                let r = rng.next_u32() & 0x7FFF_FFFF;
                if r < iptables_probability_u32(n - k) {
                    pick = k;
                    break;
                }
            }
            let i = cands[pick];
            let stat = if pick < n - 1 {
                format!(
                    " -m statistic --mode random --probability {}",
                    iptables_probability_text(n - pick)
                )
            } else {
                String::new()
            };
            steps.push(nat(
                chain,
                format!(
                    "-m comment --comment \"{} -> {}\"{stat} -j {}",
                    e.name_string,
                    ep_str(e, i),
                    e.sep[i]
                ),
            ));
            i
        }
    };
    let sep = &e.sep[chosen];
    let ep = &e.endpoints[chosen];
    // Hairpin: a pod reaching itself through its Service is SNATed.
    if pkt.src() == ep.ip {
        masq = true;
        steps.push(nat(
            sep,
            format!(
                "-s {}/32 -m comment --comment \"{}\" -j {MARK_MASQ}",
                ep.ip, e.name_string
            ),
        ));
    }
    let p = e.proto();
    let recent = if e.affinity_timeout_s.is_some() {
        dynamic.remember(
            key,
            crate::net::SockAddr {
                ip: ep.ip,
                port: ep.port,
            },
            pkt.input.now_ns,
        );
        format!(" -m recent --set --name {sep} --mask 255.255.255.255 --rsource")
    } else {
        String::new()
    };
    steps.push(nat(
        sep,
        format!(
            "-p {p} -m comment --comment \"{}\"{recent} -m {p} -j DNAT --to-destination {}",
            e.name_string,
            ep_str(e, chosen)
        ),
    ));
    dnat(e, chosen, masq)
}
