//! The nftables proxier: pkg/proxy/nftables/proxier.go (Kubernetes 1.34),
//! `setupNFTables`, `syncProxyRules` and `writeServiceToEndpointRules`, walked for one
//! new connection in table `ip kube-proxy`.
//!
//! Hook order: `filter-prerouting-pre-dnat` / `filter-output-pre-dnat` jump to
//! `firewall-check` (loadBalancerSourceRanges, before anything else); `nat-prerouting` /
//! `nat-output` jump to `services` (`@service-ips`, then `@service-nodeports`); a packet
//! not DNATed then meets `service-endpoints-check` (`@no-endpoint-services`: reject or
//! drop), `nodeport-endpoints-check` (`@no-endpoint-nodeports`) and `cluster-ips-check`
//! (any other port of a ClusterIP is rejected, an unallocated address of the service
//! CIDR dropped).

use rand::RngCore;

use crate::cluster::{NodePortAddresses, ProxyMode};
use crate::net::SockAddr;
use crate::trace::{Reason, RuleStep};

use super::index::{Index, PortEntry};
use super::{
    Dynamic, Entrance, Packet, ProxyAction, ProxyDecision, affinity_key, dnat, ep_str, lookup, step,
};

const TABLE: &str = "nftables kube-proxy";
const MARK_MASQ: &str = "mark-for-masquerade";

fn rule(chain: &str, r: String) -> RuleStep {
    step(TABLE, chain, r)
}

/// A map element that matched, shown as `nft list map` prints it.
fn element(map: &str, r: String) -> RuleStep {
    step(TABLE, &format!("@{map}"), r)
}

pub(crate) fn process(
    index: &Index,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rng: &mut dyn RngCore,
) -> ProxyDecision {
    let t = pkt.input.tuple;
    let Some((e, entrance)) = lookup(index, pkt, ProxyMode::Nftables) else {
        return cluster_ips_check(index, pkt);
    };
    let mut steps = Vec::new();
    let p = e.proto();
    let key = format!("{} . {p} . {}", t.dst.ip, t.dst.port);

    // firewall-check: usesFWChain does not depend on endpoints here.
    if entrance == Entrance::LoadBalancer && !e.source_ranges.is_empty() {
        let src = pkt.src();
        let allow_from_node = e.source_ranges.iter().any(|c| c.contains(pkt.node.ip));
        let allowed = e.source_ranges.iter().any(|c| c.contains(src))
            || (allow_from_node && e.lb_ips.contains(&src));
        if !allowed {
            let fw = format!("firewall-{}", e.nft_base);
            let mut sources: Vec<String> = e.source_ranges.iter().map(|c| c.to_string()).collect();
            if allow_from_node {
                sources.extend(e.lb_ips.iter().map(|ip| ip.to_string()));
            }
            steps.push(rule(
                "firewall-check",
                "ip daddr . meta l4proto . th dport vmap @firewall-ips".into(),
            ));
            steps.push(element("firewall-ips", format!("{key} : goto {fw}")));
            steps.push(rule(
                &fw,
                format!("ip saddr != {{ {} }} drop", sources.join(", ")),
            ));
            return ProxyDecision {
                service: Some((e.svc, e.port_idx, entrance)),
                action: ProxyAction::Drop(Reason::SourceRangeDenied),
                steps,
            };
        }
    }

    let action = match entrance {
        Entrance::ClusterIp => cluster_ip(e, &key, dynamic, pkt, rng, &mut steps),
        _ => external(e, entrance, &key, dynamic, pkt, rng, &mut steps),
    };
    ProxyDecision {
        service: Some((e.svc, e.port_idx, entrance)),
        action,
        steps,
    }
}

/// `cluster-ips-check`, reached by packets the `services` chain did not DNAT.
fn cluster_ips_check(index: &Index, pkt: &Packet<'_>) -> ProxyDecision {
    let dst = pkt.dst();
    if index.cluster_ips.contains_key(&dst) {
        return ProxyDecision {
            service: None,
            action: ProxyAction::Reject(Reason::NoServicePort),
            steps: vec![rule(
                "cluster-ips-check",
                "ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\""
                    .into(),
            )],
        };
    }
    let service_cidr = pkt.cluster.config.service_cidr;
    if service_cidr.contains(dst) {
        return ProxyDecision {
            service: None,
            action: ProxyAction::Drop(Reason::NoHost),
            steps: vec![rule(
                "cluster-ips-check",
                format!(
                    "ip daddr {{ {service_cidr} }} drop comment \"Drop traffic to unallocated ClusterIPs\""
                ),
            )],
        };
    }
    ProxyDecision::not_matched()
}

fn no_endpoint_verdict(e: &PortEntry, external: bool) -> (&'static str, ProxyAction) {
    if !e.has_any {
        (
            "goto reject-chain",
            ProxyAction::Reject(Reason::NoEndpoints),
        )
    } else if external {
        ("drop", ProxyAction::Drop(Reason::NoLocalEndpoint))
    } else {
        ("drop", ProxyAction::Drop(Reason::NoLocalInternalEndpoint))
    }
}

fn cluster_ip(
    e: &PortEntry,
    key: &str,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rng: &mut dyn RngCore,
    steps: &mut Vec<RuleStep>,
) -> ProxyAction {
    let node = pkt.input.node;
    if !e.has_internal(node) {
        let (verdict, action) = no_endpoint_verdict(e, false);
        steps.push(rule(
            "service-endpoints-check",
            "ip daddr . meta l4proto . th dport vmap @no-endpoint-services".into(),
        ));
        steps.push(element(
            "no-endpoint-services",
            format!("{key} comment \"{}\" : {verdict}", e.name_string),
        ));
        if verdict != "drop" {
            steps.push(rule("reject-chain", "reject".into()));
        }
        return action;
    }
    let chain = if e.itp_local {
        format!("local-{}", e.nft_base)
    } else {
        format!("service-{}", e.nft_base)
    };
    steps.push(rule(
        "services",
        "ip daddr . meta l4proto . th dport vmap @service-ips".into(),
    ));
    steps.push(element("service-ips", format!("{key} : goto {chain}")));
    let p = e.proto();
    let mut masq = false;
    if pkt.cluster.config.proxy.masquerade_all {
        masq = true;
        steps.push(rule(
            &chain,
            format!(
                "ip daddr {} {p} dport {} jump {MARK_MASQ}",
                e.cluster_ip, e.port
            ),
        ));
    } else if pkt.is_not_local() {
        masq = true;
        let cidr = pkt.local_cidr().map(|c| c.to_string()).unwrap_or_default();
        steps.push(rule(
            &chain,
            format!(
                "ip daddr {} {p} dport {} ip saddr != {cidr} jump {MARK_MASQ}",
                e.cluster_ip, e.port
            ),
        ));
    }
    to_endpoint(e, &chain, e.internal(node), masq, dynamic, pkt, rng, steps)
}

#[allow(clippy::too_many_arguments)]
fn external(
    e: &PortEntry,
    entrance: Entrance,
    key: &str,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rng: &mut dyn RngCore,
    steps: &mut Vec<RuleStep>,
) -> ProxyAction {
    let node = pkt.input.node;
    let p = e.proto();
    let np_key = format!("{p} . {}", e.node_port.unwrap_or(0));
    let nodeport_rule = || {
        match &pkt.cluster.config.proxy.node_port_addresses {
        NodePortAddresses::All => "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports".to_string(),
        NodePortAddresses::Cidrs(c) if c.iter().any(|c| c.len == 0) => "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports".to_string(),
        _ => "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports".to_string(),
    }
    };
    let ext = format!("external-{}", e.nft_base);
    let svc_chain = format!("service-{}", e.nft_base);
    if e.has_any {
        if entrance == Entrance::NodePort {
            steps.push(rule("services", nodeport_rule()));
            steps.push(element(
                "service-nodeports",
                format!("{np_key} : goto {ext}"),
            ));
        } else {
            steps.push(rule(
                "services",
                "ip daddr . meta l4proto . th dport vmap @service-ips".into(),
            ));
            steps.push(element("service-ips", format!("{key} : goto {ext}")));
        }
        if !e.etp_local {
            steps.push(rule(&ext, format!("jump {MARK_MASQ}")));
            steps.push(rule(&ext, format!("goto {svc_chain}")));
            return to_endpoint(e, &svc_chain, &e.cluster, true, dynamic, pkt, rng, steps);
        }
        if pkt.is_local() {
            let cidr = pkt.local_cidr().map(|c| c.to_string()).unwrap_or_default();
            steps.push(rule(
                &ext,
                format!("ip saddr {cidr} goto {svc_chain} comment \"short-circuit pod traffic\""),
            ));
            return to_endpoint(e, &svc_chain, &e.cluster, false, dynamic, pkt, rng, steps);
        }
        if pkt.input.from_host {
            steps.push(rule(
                &ext,
                format!(
                    "fib saddr type local jump {MARK_MASQ} comment \"masquerade local traffic\""
                ),
            ));
            steps.push(rule(
                &ext,
                format!(
                    "fib saddr type local goto {svc_chain} comment \"short-circuit local traffic\""
                ),
            ));
            return to_endpoint(e, &svc_chain, &e.cluster, true, dynamic, pkt, rng, steps);
        }
        if e.has_external(node) {
            let local = format!("local-{}", e.nft_base);
            steps.push(rule(&ext, format!("goto {local}")));
            return to_endpoint(e, &local, e.local(node), false, dynamic, pkt, rng, steps);
        }
        // Falls off the end of external-*: not DNATed.
    }
    let (verdict, action) = no_endpoint_verdict(e, true);
    if entrance == Entrance::NodePort {
        let check = match &pkt.cluster.config.proxy.node_port_addresses {
            NodePortAddresses::All => {
                "fib daddr type local meta l4proto . th dport vmap @no-endpoint-nodeports"
            }
            NodePortAddresses::Cidrs(c) if c.iter().any(|c| c.len == 0) => {
                "fib daddr type local meta l4proto . th dport vmap @no-endpoint-nodeports"
            }
            _ => "ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports",
        };
        steps.push(rule("nodeport-endpoints-check", check.into()));
        steps.push(element(
            "no-endpoint-nodeports",
            format!("{np_key} comment \"{}\" : {verdict}", e.name_string),
        ));
    } else {
        steps.push(rule(
            "service-endpoints-check",
            "ip daddr . meta l4proto . th dport vmap @no-endpoint-services".into(),
        ));
        steps.push(element(
            "no-endpoint-services",
            format!("{key} comment \"{}\" : {verdict}", e.name_string),
        ));
    }
    if verdict != "drop" {
        steps.push(rule("reject-chain", "reject".into()));
    }
    action
}

/// writeServiceToEndpointRules: the affinity rules (`ip saddr @affinity-* goto
/// endpoint-*`), then `numgen random mod N vmap { ... }`; then the endpoint chain.
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
        return ProxyAction::Reject(Reason::NoEndpoints);
    }
    let key = affinity_key(pkt, e, None);
    let sticky = e
        .affinity_timeout_s
        .and_then(|t| dynamic.sticky(&key, e, cands, pkt.input.now_ns, t));
    let chosen = match sticky {
        Some(pos) => {
            let i = cands[pos];
            steps.push(rule(
                chain,
                format!(
                    "ip saddr @affinity-{} goto endpoint-{}",
                    e.nft_ep_base[i], e.nft_ep_base[i]
                ),
            ));
            i
        }
        None => {
            // nft_ng_random: reciprocal_scale(get_random_u32(), N).
            let r = rng.next_u32();
            let pos = ((u64::from(r) * n as u64) >> 32) as usize;
            let elements: Vec<String> = cands
                .iter()
                .enumerate()
                .map(|(k, &i)| format!("{k} : goto endpoint-{}", e.nft_ep_base[i]))
                .collect();
            steps.push(rule(
                chain,
                format!("numgen random mod {n} vmap {{ {} }}", elements.join(", ")),
            ));
            cands[pos.min(n - 1)]
        }
    };
    let ep = &e.endpoints[chosen];
    let ep_chain = format!("endpoint-{}", e.nft_ep_base[chosen]);
    if pkt.src() == ep.ip {
        masq = true;
        steps.push(rule(
            &ep_chain,
            format!("ip saddr {} jump {MARK_MASQ}", ep.ip),
        ));
    }
    if e.affinity_timeout_s.is_some() {
        dynamic.remember(
            key,
            SockAddr {
                ip: ep.ip,
                port: ep.port,
            },
            pkt.input.now_ns,
        );
        steps.push(rule(
            &ep_chain,
            format!("update @affinity-{} {{ ip saddr }}", e.nft_ep_base[chosen]),
        ));
    }
    steps.push(rule(
        &ep_chain,
        format!("meta l4proto {} dnat to {}", e.proto(), ep_str(e, chosen)),
    ));
    dnat(e, chosen, masq)
}
