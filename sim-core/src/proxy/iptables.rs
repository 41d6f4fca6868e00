//! The iptables proxier: pkg/proxy/iptables/proxier.go (Kubernetes 1.34),
//! `syncProxyRules` and `writeServiceToEndpointRules`, walked for one new connection.
//!
//! The nat table decides first (PREROUTING / OUTPUT -> KUBE-SERVICES). A packet the
//! nat rules did not DNAT then meets the filter table: KUBE-SERVICES (FORWARD, OUTPUT)
//! rejects or drops ClusterIP traffic without endpoints, KUBE-EXTERNAL-SERVICES (INPUT,
//! FORWARD: never plain OUTPUT) does the same for external destinations, and
//! KUBE-PROXY-FIREWALL drops LB traffic the KUBE-FW chain did not let through. Rules are
//! printed as `iptables-save` prints them.

use std::sync::Arc;

use rand::RngCore;

use crate::cluster::ProxyMode;
use crate::trace::Reason;

use super::index::{Index, PortEntry};
use super::rules::{Ipt, PolicyChain, Rule, RulePath};
use super::{
    Dynamic, Entrance, Packet, Pick, ProxyAction, ProxyDecision, affinity_key, dnat, ep_u32, lookup,
};

fn push(rules: &mut RulePath, r: Ipt) {
    rules.push(Rule::Iptables(r));
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
    let mut rules = RulePath::new();
    let mut walk = Chains {
        index,
        e,
        dynamic,
        pkt,
        rng,
        rules: &mut rules,
    };
    let action = match entrance {
        Entrance::ClusterIp => walk.cluster_ip(),
        _ => walk.external(entrance),
    };
    if action == ProxyAction::NotMatched {
        return ProxyDecision {
            service: None,
            entry: None,
            action,
            rules,
        };
    }
    ProxyDecision::on(e, entrance, action, rules)
}

/// One packet's walk through the chains of one Service port.
struct Chains<'a, 'p> {
    index: &'a Index,
    e: &'a Arc<PortEntry>,
    dynamic: &'a mut Dynamic,
    pkt: &'a Packet<'p>,
    rng: &'a mut dyn RngCore,
    rules: &'a mut RulePath,
}

impl Chains<'_, '_> {
    fn push(&mut self, r: Ipt) {
        push(self.rules, r);
    }

    /// syncProxyRules, "Capture the clusterIP" and "Set up internal traffic handling".
    fn cluster_ip(&mut self) -> ProxyAction {
        let e = Arc::clone(self.e);
        let node = self.pkt.input.node;
        if !e.has_internal(node) {
            // No nat rule: the filter table's KUBE-SERVICES (FORWARD / OUTPUT) decides.
            let local = e.has_any;
            self.push(Ipt::ServicesNoEndpoints { local });
            return if local {
                ProxyAction::Drop(Reason::NoLocalInternalEndpoint)
            } else {
                ProxyAction::Reject(Reason::NoEndpoints)
            };
        }
        let chain = if e.itp_local {
            PolicyChain::Local
        } else {
            PolicyChain::Cluster
        };
        self.push(Ipt::ServicesClusterIp { chain });
        // masqueradeAll, else off-cluster traffic to the VIP when detect-local is
        // implemented; with detectLocalMode None nothing is marked here.
        let mut masq = false;
        if self.pkt.cluster.config.proxy.masquerade_all {
            masq = true;
            self.push(Ipt::MasqueradeAll { chain });
        } else if self.pkt.is_not_local()
            && let Some(cidr) = self.pkt.local_cidr()
        {
            masq = true;
            self.push(Ipt::MasqueradeNotLocal { chain, cidr });
        }
        self.endpoint_rules(chain, e.internal(node), masq)
    }

    /// External destinations: externalIPs, LB IPs (through KUBE-FW-* with source ranges),
    /// NodePorts (KUBE-NODEPORTS), all into KUBE-EXT-*.
    fn external(&mut self, entrance: Entrance) -> ProxyAction {
        let e = Arc::clone(self.e);
        let node = self.pkt.input.node;
        if e.has_any {
            match entrance {
                Entrance::ExternalIp => self.push(Ipt::ServicesExternalIp),
                Entrance::LoadBalancer => {
                    let firewall = !e.source_ranges.is_empty();
                    self.push(Ipt::ServicesLoadBalancer { firewall });
                    if firewall && let Some(drop) = self.firewall() {
                        return drop;
                    }
                }
                _ => {
                    self.push(Ipt::ServicesNodePorts);
                    self.push(Ipt::NodePort);
                }
            }
            // KUBE-EXT-*.
            if !e.etp_local {
                self.push(Ipt::ExternalMasquerade);
                self.push(Ipt::ExternalToService);
                return self.endpoint_rules(PolicyChain::Cluster, &e.cluster, true);
            }
            if self.pkt.is_local()
                && let Some(cidr) = self.pkt.local_cidr()
            {
                self.push(Ipt::ExternalPodShortCircuit { cidr });
                return self.endpoint_rules(PolicyChain::Cluster, &e.cluster, false);
            }
            if self.pkt.input.from_host {
                self.push(Ipt::ExternalLocalMasquerade);
                self.push(Ipt::ExternalLocalToService);
                return self.endpoint_rules(PolicyChain::Cluster, &e.cluster, true);
            }
            if e.has_external(node) {
                self.push(Ipt::ExternalToLocal);
                return self.endpoint_rules(PolicyChain::Local, e.local(node), false);
            }
            // Falls off the end of KUBE-EXT-*: not DNATed; the filter table drops it below.
        }
        // Not DNATed. KUBE-EXTERNAL-SERVICES hangs off INPUT and FORWARD only: a host's own
        // packet to a non-local external address never meets it.
        if self.pkt.input.from_host && !self.pkt.dst_is_node_local() {
            self.rules.clear();
            return ProxyAction::NotMatched;
        }
        let local = e.has_any;
        self.push(Ipt::ExternalServicesNoEndpoints {
            local,
            node_port: entrance == Entrance::NodePort,
        });
        if local {
            ProxyAction::Drop(Reason::NoLocalEndpoint)
        } else {
            ProxyAction::Reject(Reason::NoEndpoints)
        }
    }

    /// KUBE-FW-*: the source must be in loadBalancerSourceRanges; `Some(drop)` when it
    /// is not.
    fn firewall(&mut self) -> Option<ProxyAction> {
        let e = Arc::clone(self.e);
        // The node may reach its own VIP with the VIP as source (allowFromNode).
        let allow_from_node = e.source_ranges.iter().any(|c| c.contains(self.pkt.node.ip));
        let src = self.pkt.src();
        match e.source_ranges.iter().find(|c| c.contains(src)) {
            Some(&cidr) => self.push(Ipt::FirewallAllowRange { cidr }),
            None if allow_from_node && e.lb_ips.contains(&src) => {
                self.push(Ipt::FirewallAllowNode);
            }
            None => {
                self.push(Ipt::FirewallOther);
                self.push(Ipt::ProxyFirewallDrop);
                return Some(ProxyAction::Drop(Reason::SourceRangeDenied));
            }
        }
        None
    }

    /// writeServiceToEndpointRules for `chain` (KUBE-SVC-* or KUBE-SVL-*) over `cands`,
    /// then the chosen KUBE-SEP-* chain.
    fn endpoint_rules(
        &mut self,
        chain: PolicyChain,
        cands: &[usize],
        mut masq: bool,
    ) -> ProxyAction {
        let e = Arc::clone(self.e);
        let n = cands.len();
        if n == 0 {
            // Not reachable: kube-proxy only jumps to a policy chain it filled.
            return ProxyAction::Reject(Reason::NoEndpoints);
        }
        let key = affinity_key(self.pkt, &e, None);
        let now = self.pkt.input.now_ns;
        // First the `recent --rcheck` rules, one per endpoint, in endpoint order.
        let sticky = e
            .affinity_timeout_s
            .and_then(|t| Some((self.dynamic.sticky(&key, &e, cands, now, t)?, t)));
        let (chosen, pick) = match sticky {
            Some((pos, seconds)) => {
                let i = cands[pos];
                self.push(Ipt::RecentCheck {
                    chain,
                    ep: ep_u32(i),
                    seconds,
                });
                (i, Pick::Affinity)
            }
            None => {
                // Then `-m statistic --mode random --probability 1/(n-k)` for each but
                // the last: xt_statistic draws a u32 per rule and matches when
                // (r & 0x7FFFFFFF) < p * 2^31.
                let mut pick = n - 1;
                for k in 0..n - 1 {
                    let r = self.rng.next_u32() & 0x7FFF_FFFF;
                    if r < self.index.statistic_u32(n - k) {
                        pick = k;
                        break;
                    }
                }
                let i = cands[pick];
                self.push(Ipt::Statistic {
                    chain,
                    ep: ep_u32(i),
                    remaining: (pick < n - 1).then(|| ep_u32(n - pick)),
                });
                (i, Pick::Random)
            }
        };
        let ep = &e.endpoints[chosen];
        // Hairpin: a pod reaching itself through its Service is SNATed.
        if self.pkt.src() == ep.ip {
            masq = true;
            self.push(Ipt::Hairpin { ep: ep_u32(chosen) });
        }
        let recent = e.affinity_timeout_s.is_some();
        if recent {
            let to = crate::net::SockAddr {
                ip: ep.ip,
                port: ep.port,
            };
            self.dynamic.remember(key, to, now);
        }
        self.push(Ipt::Dnat {
            ep: ep_u32(chosen),
            recent,
        });
        dnat(&e, chosen, masq, pick)
    }
}
