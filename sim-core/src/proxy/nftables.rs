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

use std::sync::Arc;

use rand::RngCore;

use crate::cluster::ProxyMode;
use crate::net::SockAddr;
use crate::trace::Reason;

use super::index::{Index, PortEntry};
use super::rules::{Candidates, Nft, NftChain, NftVerdict, Rule, RulePath};
use super::{
    Dynamic, Entrance, Packet, Pick, ProxyAction, ProxyDecision, affinity_key, dnat, ep_u32, lookup,
};

fn push(rules: &mut RulePath, r: Nft) {
    rules.push(Rule::Nftables(r));
}

pub(crate) fn process(
    index: &Index,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rng: &mut dyn RngCore,
) -> ProxyDecision {
    let Some((e, entrance)) = lookup(index, pkt, ProxyMode::Nftables) else {
        return cluster_ips_check(index, pkt);
    };
    let mut rules = RulePath::new();

    // firewall-check: usesFWChain does not depend on endpoints here.
    if entrance == Entrance::LoadBalancer && !e.source_ranges.is_empty() {
        let src = pkt.src();
        let allow_from_node = e.source_ranges.iter().any(|c| c.contains(pkt.node.ip));
        let allowed = e.source_ranges.iter().any(|c| c.contains(src))
            || (allow_from_node && e.lb_ips.contains(&src));
        if !allowed {
            push(&mut rules, Nft::FirewallCheck);
            push(&mut rules, Nft::FirewallIpsElement);
            push(&mut rules, Nft::FirewallDrop { allow_from_node });
            return ProxyDecision::on(
                e,
                entrance,
                ProxyAction::Drop(Reason::SourceRangeDenied),
                rules,
            );
        }
    }

    let action = match entrance {
        Entrance::ClusterIp => cluster_ip(e, dynamic, pkt, rng, &mut rules),
        _ => external(e, entrance, dynamic, pkt, rng, &mut rules),
    };
    ProxyDecision::on(e, entrance, action, rules)
}

/// `cluster-ips-check`, reached by packets the `services` chain did not DNAT.
fn cluster_ips_check(index: &Index, pkt: &Packet<'_>) -> ProxyDecision {
    let dst = pkt.dst();
    if index.cluster_ips.contains_key(&dst) {
        return ProxyDecision::bare(
            ProxyAction::Reject(Reason::NoServicePort),
            Rule::Nftables(Nft::ClusterIpsReject),
        );
    }
    if pkt.cluster.config.service_cidr.contains(dst) {
        return ProxyDecision::bare(
            ProxyAction::Drop(Reason::NoHost),
            Rule::Nftables(Nft::ClusterIpsDropUnallocated),
        );
    }
    ProxyDecision::not_matched()
}

fn no_endpoint_verdict(e: &PortEntry, external: bool) -> (NftVerdict, ProxyAction) {
    if !e.has_any {
        (NftVerdict::Reject, ProxyAction::Reject(Reason::NoEndpoints))
    } else if external {
        (NftVerdict::Drop, ProxyAction::Drop(Reason::NoLocalEndpoint))
    } else {
        (
            NftVerdict::Drop,
            ProxyAction::Drop(Reason::NoLocalInternalEndpoint),
        )
    }
}

fn cluster_ip(
    e: &Arc<PortEntry>,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rng: &mut dyn RngCore,
    rules: &mut RulePath,
) -> ProxyAction {
    let node = pkt.input.node;
    if !e.has_internal(node) {
        let (verdict, action) = no_endpoint_verdict(e, false);
        push(rules, Nft::EndpointsCheck);
        push(rules, Nft::NoEndpointServicesElement { verdict });
        if verdict == NftVerdict::Reject {
            push(rules, Nft::RejectChain);
        }
        return action;
    }
    let chain = if e.itp_local {
        NftChain::Local
    } else {
        NftChain::Service
    };
    push(rules, Nft::Services);
    push(rules, Nft::ServiceIpsElement { to: chain });
    let mut masq = false;
    if pkt.cluster.config.proxy.masquerade_all {
        masq = true;
        push(rules, Nft::MasqueradeAll { chain });
    } else if pkt.is_not_local()
        && let Some(cidr) = pkt.local_cidr()
    {
        masq = true;
        push(rules, Nft::MasqueradeNotLocal { chain, cidr });
    }
    let cands = if e.itp_local {
        Candidates::Local
    } else {
        Candidates::Cluster
    };
    to_endpoint(e, chain, cands, masq, dynamic, pkt, rng, rules)
}

fn external(
    e: &Arc<PortEntry>,
    entrance: Entrance,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rng: &mut dyn RngCore,
    rules: &mut RulePath,
) -> ProxyAction {
    let node = pkt.input.node;
    if e.has_any {
        if entrance == Entrance::NodePort {
            push(rules, Nft::ServicesNodePorts);
            push(rules, Nft::ServiceNodePortsElement);
        } else {
            push(rules, Nft::Services);
            push(
                rules,
                Nft::ServiceIpsElement {
                    to: NftChain::External,
                },
            );
        }
        let cluster = Candidates::Cluster;
        if !e.etp_local {
            push(rules, Nft::ExternalMasquerade);
            push(rules, Nft::ExternalToService);
            return to_endpoint(
                e,
                NftChain::Service,
                cluster,
                true,
                dynamic,
                pkt,
                rng,
                rules,
            );
        }
        if pkt.is_local()
            && let Some(cidr) = pkt.local_cidr()
        {
            push(rules, Nft::ExternalPodShortCircuit { cidr });
            return to_endpoint(
                e,
                NftChain::Service,
                cluster,
                false,
                dynamic,
                pkt,
                rng,
                rules,
            );
        }
        if pkt.input.from_host {
            push(rules, Nft::ExternalLocalMasquerade);
            push(rules, Nft::ExternalLocalToService);
            return to_endpoint(
                e,
                NftChain::Service,
                cluster,
                true,
                dynamic,
                pkt,
                rng,
                rules,
            );
        }
        if e.has_external(node) {
            push(rules, Nft::ExternalToLocal);
            let local = Candidates::Local;
            return to_endpoint(e, NftChain::Local, local, false, dynamic, pkt, rng, rules);
        }
        // Falls off the end of external-*: not DNATed.
    }
    let (verdict, action) = no_endpoint_verdict(e, true);
    if entrance == Entrance::NodePort {
        push(rules, Nft::NodePortEndpointsCheck);
        push(rules, Nft::NoEndpointNodePortsElement { verdict });
    } else {
        push(rules, Nft::EndpointsCheck);
        push(rules, Nft::NoEndpointServicesElement { verdict });
    }
    if verdict == NftVerdict::Reject {
        push(rules, Nft::RejectChain);
    }
    action
}

/// writeServiceToEndpointRules: the affinity rules (`ip saddr @affinity-* goto
/// endpoint-*`), then `numgen random mod N vmap { ... }`; then the endpoint chain.
#[allow(clippy::too_many_arguments)]
fn to_endpoint(
    e: &Arc<PortEntry>,
    chain: NftChain,
    candidates: Candidates,
    mut masq: bool,
    dynamic: &mut Dynamic,
    pkt: &Packet<'_>,
    rng: &mut dyn RngCore,
    rules: &mut RulePath,
) -> ProxyAction {
    let cands = match candidates {
        Candidates::Cluster => &e.cluster[..],
        Candidates::Local => e.local(pkt.input.node),
    };
    let n = cands.len();
    if n == 0 {
        return ProxyAction::Reject(Reason::NoEndpoints);
    }
    let key = affinity_key(pkt, e, None);
    let sticky = e
        .affinity_timeout_s
        .and_then(|t| dynamic.sticky(&key, e, cands, pkt.input.now_ns, t));
    let (chosen, pick) = match sticky {
        Some(pos) => {
            let i = cands[pos];
            push(
                rules,
                Nft::AffinityGoto {
                    chain,
                    ep: ep_u32(i),
                },
            );
            (i, Pick::Affinity)
        }
        None => {
            // nft_ng_random: reciprocal_scale(get_random_u32(), N).
            let r = rng.next_u32();
            let pos = (((u64::from(r) * n as u64) >> 32) as usize).min(n - 1);
            push(
                rules,
                Nft::Numgen {
                    chain,
                    candidates,
                    pick: ep_u32(pos),
                },
            );
            (cands[pos], Pick::Random)
        }
    };
    let ep = &e.endpoints[chosen];
    if pkt.src() == ep.ip {
        masq = true;
        push(rules, Nft::EndpointMasquerade { ep: ep_u32(chosen) });
    }
    if e.affinity_timeout_s.is_some() {
        let to = SockAddr {
            ip: ep.ip,
            port: ep.port,
        };
        dynamic.remember(key, to, pkt.input.now_ns);
        push(rules, Nft::AffinityUpdate { ep: ep_u32(chosen) });
    }
    push(rules, Nft::Dnat { ep: ep_u32(chosen) });
    dnat(e, chosen, masq, pick)
}
