//! The rules of a hop in the real tools' syntax: kube-proxy's rules as `iptables-save`,
//! `ipvsadm -Ln` and `nft list ruleset` print them, and the conntrack, policy and
//! socket steps in the same three columns (table, chain, rule).
//!
//! Rendered from the typed records ([`crate::proxy::rules::Rule`]) with the Service
//! port's entry as kube-proxy synced it (chain names, endpoints), the packet as
//! kube-proxy saw it and the cluster's kube-proxy configuration.

use crate::cluster::{Cluster, IpvsScheduler, NodeId, NodePortAddresses, ProxyMode};
use crate::net::FiveTuple;
use crate::proxy::index::PortEntry;
use crate::proxy::names::iptables_probability_text;
use crate::proxy::rules::Nft;
use crate::proxy::rules::{
    Candidates, Ipt, Ipvs, NftChain, NftVerdict, NoRealServers, PolicyChain, Rule,
};
use crate::trace::{ConntrackEntry, Hop, KubeProxy, Masquerader, Place, Socket, Step};

use super::words::{allowed_by, isolating, listen_source_words};
use super::{View, describe};

/// One rule that matched, as the real data plane would list it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleStep {
    /// `iptables nat`, `ipvs`, `nftables kube-proxy`, `NetworkPolicy`, `socket`, ...
    pub table: String,
    /// `KUBE-SERVICES`, `KUBE-SVC-XGLOHA7QRQ3V22RZ`, `service-ULMVA6XW-default/web/tcp/`...
    pub chain: String,
    /// The rule in the real tool's syntax, or a sentence for non-rule steps.
    pub rule: String,
}

fn step(table: &str, chain: &str, rule: String) -> RuleStep {
    RuleStep {
        table: table.to_string(),
        chain: chain.to_string(),
        rule,
    }
}

const IPT_NAT: &str = "iptables nat";
const IPT_FILTER: &str = "iptables filter";
const IPVS: &str = "ipvs";
const NFT: &str = "nftables kube-proxy";
const MARK_MASQ: &str = "KUBE-MARK-MASQ";
const NFT_MARK_MASQ: &str = "mark-for-masquerade";

/// The rules of `hop`, in the order they matched.
pub fn rules(v: &View, hop: &Hop) -> Vec<RuleStep> {
    let c = v.cluster;
    let node = match hop.place {
        Place::Node(n) => Some(n),
        _ => None,
    };
    let Some(t) = hop.packet else {
        return Vec::new();
    };
    match &hop.step {
        Step::ServiceDnat { proxy, .. } => {
            let seen = hop.nat.map_or(t, |n| n.before);
            kube_proxy(c, proxy, node, &seen)
        }
        Step::ProxyReject { proxy, .. }
        | Step::ProxyDrop { proxy, .. }
        | Step::HealthCheck { proxy, .. } => kube_proxy(c, proxy, node, &t),
        Step::ConntrackHit { entry } => vec![step(
            "conntrack",
            "",
            format!(
                "existing connection {} -> {}",
                describe(&entry.original),
                entry.translated.dst
            ),
        )],
        Step::Masquerade {
            by: Masquerader::Conntrack,
        } => {
            let before = hop.nat.map_or(t, |n| n.before);
            vec![step(
                "conntrack",
                "",
                format!(
                    "existing connection {}: source -> {}",
                    describe(&before),
                    t.src
                ),
            )]
        }
        Step::Masquerade { by } => vec![masquerade_rule(*by)],
        Step::HostPortDnat {
            pod,
            container,
            port,
            masquerade,
        } => {
            let seen = hop.nat.map_or(t, |n| n.before);
            host_port_rules(c, (*pod, *container, *port), *masquerade, &seen)
        }
        Step::Policy(p) => {
            let dir = p.direction.field();
            let rule = if !p.verdict.allowed {
                format!(
                    "selected by {}; no rule allows {}",
                    isolating(v, p),
                    describe(&t)
                )
            } else if p.verdict.allowed_by.is_empty()
                && let Some(why) = p.verdict.exemption
            {
                format!("allowed: {}", why.describe())
            } else {
                format!("allowed by {}", allowed_by(v, p))
            };
            vec![step("NetworkPolicy", dir, rule)]
        }
        Step::Accept(Socket::Container { pod, container }) => {
            let Some(k) = c.pods.get(*pod).and_then(|p| p.containers.get(*container)) else {
                return Vec::new();
            };
            vec![step(
                "socket",
                &k.name,
                format!(
                    "listening on {}/{} ({})",
                    t.dst.port,
                    t.protocol,
                    listen_source_words(&k.listen.source)
                ),
            )]
        }
        Step::Accept(Socket::ApiServer) => vec![step(
            "socket",
            "kube-apiserver",
            format!("listening on {}/{}", t.dst.port, t.protocol),
        )],
        Step::UnNat { entries } => entries.iter().map(conntrack_reply).collect(),
        _ => Vec::new(),
    }
}

fn conntrack_reply(e: &ConntrackEntry) -> RuleStep {
    step(
        "conntrack",
        "",
        format!("reply of {}", describe(&e.original)),
    )
}

/// The masquerade rule, as each mode (or the CNI) writes it.
fn masquerade_rule(by: Masquerader) -> RuleStep {
    match by {
        Masquerader::KubeProxy(ProxyMode::Nftables) => step(
            "nftables ip kube-proxy",
            "masquerading",
            "meta mark & 0x00004000 != 0 masquerade fully-random".into(),
        ),
        // ipvs mode marks and masquerades with the same iptables chains.
        Masquerader::KubeProxy(ProxyMode::Iptables | ProxyMode::Ipvs) => step(
            IPT_NAT,
            "KUBE-POSTROUTING",
            "-m mark --mark 0x4000/0x4000 -j MASQUERADE --random-fully".into(),
        ),
        Masquerader::Portmap => step(
            IPT_NAT,
            "CNI-HOSTPORT-MASQ",
            "-m mark --mark 0x2000/0x2000 -j MASQUERADE".into(),
        ),
        Masquerader::Cni(cidr) => step(
            "CNI nat",
            "POSTROUTING",
            format!("-s {cidr} ! -d {cidr} -j MASQUERADE"),
        ),
        Masquerader::Conntrack => step("conntrack", "", "existing connection".into()),
    }
}

/// The portmap plugin's rules that matched (plugins/meta/portmap/portmap.go): the jump
/// for local destinations, the per-pod chain's entry for the port, its masquerade mark
/// when the source is the pod's subnet or localhost, and the DNAT. The per-pod chain's
/// real suffix hashes the network name and the container ID; simctl's hashes the pod.
fn host_port_rules(
    c: &Cluster,
    (pod, container, port): (usize, usize, usize),
    masquerade: bool,
    seen: &FiveTuple,
) -> Vec<RuleStep> {
    let (Some(p), Some(d)) = (
        c.pods.get(pod),
        c.pods
            .get(pod)
            .and_then(|p| p.containers.get(container)?.ports.get(port)),
    ) else {
        return Vec::new();
    };
    let hash = |salt: &str| {
        crate::cluster::names::fnv32a(format!("{salt}{}/{}", p.namespace, p.name).as_bytes())
    };
    let hex = format!("{:08x}{:08x}{:08x}", hash("a"), hash("b"), hash("c"));
    let chain = format!("CNI-DN-{}", &hex[..21]);
    let proto = seen.protocol.lower();
    let own = c
        .nodes
        .get(p.node)
        .is_some_and(|n| n.addresses().any(|a| a == seen.src.ip));
    let entry = if seen.src.ip.is_loopback() || own {
        "OUTPUT"
    } else {
        "PREROUTING"
    };
    let mut base = format!("-p {proto} --dport {}", seen.dst.port);
    if let Some(ip) = d.host_ip {
        base.push_str(&format!(" -d {ip}/32"));
    }
    let mut out = vec![
        step(
            IPT_NAT,
            entry,
            "-m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT".into(),
        ),
        step(
            IPT_NAT,
            "CNI-HOSTPORT-DNAT",
            format!(
                "-p {proto} -m multiport --destination-ports {} -j {chain}",
                seen.dst.port
            ),
        ),
    ];
    if masquerade {
        let src = if seen.src.ip.is_loopback() {
            "127.0.0.1/32".to_string()
        } else {
            c.nodes
                .get(p.node)
                .map_or_else(String::new, |n| n.pod_cidr.to_string())
        };
        out.push(step(
            IPT_NAT,
            &chain,
            format!("{base} -s {src} -j CNI-HOSTPORT-SETMARK"),
        ));
    }
    out.push(step(
        IPT_NAT,
        &chain,
        format!("{base} -j DNAT --to-destination {}:{}", p.ip, d.port),
    ));
    out
}

/// What kube-proxy matched, rule by rule. `seen` is the packet as kube-proxy saw it
/// (before its DNAT), `node` the node it ran on.
pub fn kube_proxy(
    cluster: &Cluster,
    kp: &KubeProxy,
    node: Option<NodeId>,
    seen: &FiveTuple,
) -> Vec<RuleStep> {
    let ctx = Ctx {
        cluster,
        kp,
        e: kp.entry.as_deref(),
        node,
        t: *seen,
    };
    kp.rules.iter().filter_map(|r| ctx.render(r)).collect()
}

struct Ctx<'a> {
    cluster: &'a Cluster,
    kp: &'a KubeProxy,
    e: Option<&'a PortEntry>,
    node: Option<NodeId>,
    t: FiveTuple,
}

impl Ctx<'_> {
    fn render(&self, r: &Rule) -> Option<RuleStep> {
        match r {
            Rule::Iptables(r) => self.iptables(r),
            Rule::Ipvs(r) => self.ipvs(r),
            Rule::Nftables(r) => self.nftables(r),
            Rule::HealthServer {
                healthy,
                local_endpoints,
            } => {
                let svc = self
                    .kp
                    .service
                    .and_then(|(s, _, _)| self.cluster.services.get(s))?;
                Some(step(
                    "kube-proxy",
                    &format!("healthCheckNodePort {}", self.t.dst.port),
                    format!(
                        "GET /healthz -> {} {{\"service\": {{\"namespace\": \"{}\", \"name\": \"{}\"}}, \"localEndpoints\": {}, \"serviceProxyHealthy\": true}}",
                        if *healthy {
                            "200 OK"
                        } else {
                            "503 Service Unavailable"
                        },
                        svc.namespace,
                        svc.name,
                        local_endpoints
                    ),
                ))
            }
        }
    }

    /// `ip:port` of endpoint `i`.
    fn ep_str(e: &PortEntry, i: u32) -> String {
        e.endpoints
            .get(i as usize)
            .map(|ep| format!("{}:{}", ep.ip, ep.port))
            .unwrap_or_default()
    }

    // --- iptables ----------------------------------------------------------------

    fn iptables(&self, r: &Ipt) -> Option<RuleStep> {
        let e = self.e?;
        let n = &e.name_string;
        let p = e.proto();
        let dst = self.t.dst.ip;
        let policy = |c: &PolicyChain| match c {
            PolicyChain::Cluster => e.ipt.svc.as_str(),
            PolicyChain::Local => e.ipt.svl.as_str(),
        };
        let sep = |i: &u32| e.sep.get(*i as usize).map_or("", String::as_str);
        // `-d IP/32 -p tcp -m comment --comment "C" -m tcp --dport P`
        let dst_match = |ip: std::net::Ipv4Addr, comment: &str| {
            format!(
                "-d {ip}/32 -p {p} -m comment --comment \"{comment}\" -m {p} --dport {}",
                e.port
            )
        };
        let cluster_ip = format!("{n} cluster IP");
        let no_endpoints = |local: bool| {
            if local {
                (format!("{n} has no local endpoints"), "DROP")
            } else {
                (
                    format!("{n} has no endpoints"),
                    "REJECT --reject-with icmp-port-unreachable",
                )
            }
        };
        Some(match r {
            Ipt::ServicesNoEndpoints { local } => {
                let (comment, target) = no_endpoints(*local);
                step(
                    IPT_FILTER,
                    "KUBE-SERVICES",
                    format!("{} -j {target}", dst_match(e.cluster_ip, &comment)),
                )
            }
            Ipt::ServicesClusterIp { chain } => step(
                IPT_NAT,
                "KUBE-SERVICES",
                format!(
                    "{} -j {}",
                    dst_match(e.cluster_ip, &cluster_ip),
                    policy(chain)
                ),
            ),
            Ipt::MasqueradeAll { chain } => step(
                IPT_NAT,
                policy(chain),
                format!("{} -j {MARK_MASQ}", dst_match(e.cluster_ip, &cluster_ip)),
            ),
            Ipt::MasqueradeNotLocal { chain, cidr } => step(
                IPT_NAT,
                policy(chain),
                format!(
                    "! -s {cidr} {} -j {MARK_MASQ}",
                    dst_match(e.cluster_ip, &cluster_ip)
                ),
            ),
            Ipt::ServicesExternalIp => step(
                IPT_NAT,
                "KUBE-SERVICES",
                format!(
                    "{} -j {}",
                    dst_match(dst, &format!("{n} external IP")),
                    e.ipt.ext
                ),
            ),
            Ipt::ServicesLoadBalancer { firewall } => step(
                IPT_NAT,
                "KUBE-SERVICES",
                format!(
                    "{} -j {}",
                    dst_match(dst, &format!("{n} loadbalancer IP")),
                    if *firewall { &e.ipt.fw } else { &e.ipt.ext }
                ),
            ),
            Ipt::FirewallAllowRange { cidr } => step(
                IPT_NAT,
                &e.ipt.fw,
                format!(
                    "-s {cidr} -m comment --comment \"{n} loadbalancer IP\" -j {}",
                    e.ipt.ext
                ),
            ),
            Ipt::FirewallAllowNode => step(
                IPT_NAT,
                &e.ipt.fw,
                format!(
                    "-s {}/32 -m comment --comment \"{n} loadbalancer IP\" -j {}",
                    self.t.src.ip, e.ipt.ext
                ),
            ),
            Ipt::FirewallOther => step(
                IPT_NAT,
                &e.ipt.fw,
                format!(
                    "-m comment --comment \"other traffic to {n} will be dropped by KUBE-PROXY-FIREWALL\""
                ),
            ),
            Ipt::ProxyFirewallDrop => step(
                IPT_FILTER,
                "KUBE-PROXY-FIREWALL",
                format!(
                    "{} -j DROP",
                    dst_match(dst, &format!("{n} traffic not accepted by {}", e.ipt.fw))
                ),
            ),
            Ipt::ServicesNodePorts => step(IPT_NAT, "KUBE-SERVICES", self.nodeports_jump()),
            Ipt::NodePort => step(
                IPT_NAT,
                "KUBE-NODEPORTS",
                format!(
                    "-p {p} -m comment --comment \"{n}\" -m {p} --dport {} -j {}",
                    e.node_port.unwrap_or(0),
                    e.ipt.ext
                ),
            ),
            Ipt::ExternalMasquerade => step(
                IPT_NAT,
                &e.ipt.ext,
                format!(
                    "-m comment --comment \"masquerade traffic for {n} external destinations\" -j {MARK_MASQ}"
                ),
            ),
            Ipt::ExternalToService => step(IPT_NAT, &e.ipt.ext, format!("-j {}", e.ipt.svc)),
            Ipt::ExternalPodShortCircuit { cidr } => step(
                IPT_NAT,
                &e.ipt.ext,
                format!(
                    "-s {cidr} -m comment --comment \"pod traffic for {n} external destinations\" -j {}",
                    e.ipt.svc
                ),
            ),
            Ipt::ExternalLocalMasquerade => step(
                IPT_NAT,
                &e.ipt.ext,
                format!(
                    "-m comment --comment \"masquerade LOCAL traffic for {n} external destinations\" -m addrtype --src-type LOCAL -j {MARK_MASQ}"
                ),
            ),
            Ipt::ExternalLocalToService => step(
                IPT_NAT,
                &e.ipt.ext,
                format!(
                    "-m comment --comment \"route LOCAL traffic for {n} external destinations\" -m addrtype --src-type LOCAL -j {}",
                    e.ipt.svc
                ),
            ),
            Ipt::ExternalToLocal => step(IPT_NAT, &e.ipt.ext, format!("-j {}", e.ipt.svl)),
            Ipt::ExternalServicesNoEndpoints { local, node_port } => {
                let (comment, target) = no_endpoints(*local);
                let rule = if *node_port {
                    format!(
                        "-p {p} -m comment --comment \"{comment}\" -m addrtype --dst-type LOCAL -m {p} --dport {} -j {target}",
                        e.node_port.unwrap_or(0)
                    )
                } else {
                    format!("{} -j {target}", dst_match(dst, &comment))
                };
                step(IPT_FILTER, "KUBE-EXTERNAL-SERVICES", rule)
            }
            Ipt::RecentCheck { chain, ep, seconds } => {
                let sep = sep(ep);
                step(
                    IPT_NAT,
                    policy(chain),
                    format!(
                        "-m comment --comment \"{n} -> {}\" -m recent --rcheck --seconds {seconds} --reap --name {sep} --mask 255.255.255.255 --rsource -j {sep}",
                        Self::ep_str(e, *ep)
                    ),
                )
            }
            Ipt::Statistic {
                chain,
                ep,
                remaining,
            } => {
                let stat = remaining
                    .map(|k| {
                        format!(
                            " -m statistic --mode random --probability {}",
                            iptables_probability_text(k as usize)
                        )
                    })
                    .unwrap_or_default();
                step(
                    IPT_NAT,
                    policy(chain),
                    format!(
                        "-m comment --comment \"{n} -> {}\"{stat} -j {}",
                        Self::ep_str(e, *ep),
                        sep(ep)
                    ),
                )
            }
            Ipt::Hairpin { ep } => step(
                IPT_NAT,
                sep(ep),
                format!(
                    "-s {}/32 -m comment --comment \"{n}\" -j {MARK_MASQ}",
                    e.endpoints.get(*ep as usize).map(|x| x.ip)?
                ),
            ),
            Ipt::Dnat { ep, recent } => {
                let sep = sep(ep);
                let recent = if *recent {
                    format!(" -m recent --set --name {sep} --mask 255.255.255.255 --rsource")
                } else {
                    String::new()
                };
                step(
                    IPT_NAT,
                    sep,
                    format!(
                        "-p {p} -m comment --comment \"{n}\"{recent} -m {p} -j DNAT --to-destination {}",
                        Self::ep_str(e, *ep)
                    ),
                )
            }
            Ipt::HealthCheckAccept => step(
                IPT_FILTER,
                "KUBE-NODEPORTS",
                format!(
                    "-p tcp -m comment --comment \"{n} health check node port\" -m tcp --dport {} -j ACCEPT",
                    self.t.dst.port
                ),
            ),
        })
    }

    /// The last rule of KUBE-SERVICES (syncProxyRules, "Finally, tail-call to the
    /// nodePorts chain").
    fn nodeports_jump(&self) -> String {
        let comment = "-m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\"";
        let cfg = &self.cluster.config.proxy;
        if match_all(&cfg.node_port_addresses) {
            let no_localhost = if cfg.localhost_node_ports {
                ""
            } else {
                "! -d 127.0.0.0/8 "
            };
            format!("{no_localhost}{comment} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")
        } else {
            format!("-d {}/32 {comment} -j KUBE-NODEPORTS", self.t.dst.ip)
        }
    }

    // --- ipvs --------------------------------------------------------------------

    fn ipvs(&self, r: &Ipvs) -> Option<RuleStep> {
        if let Ipvs::FilterNoPort = r {
            return Some(step(
                IPT_FILTER,
                "KUBE-IPVS-FILTER",
                "-m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT --reject-with icmp-port-unreachable".into(),
            ));
        }
        let e = self.e?;
        let t = self.t;
        let p = e.proto();
        let up = e.protocol.as_str();
        let cluster_ip =
            "-m comment --comment \"Kubernetes service cluster ip + port for masquerade purpose\"";
        let sched = match self.cluster.config.proxy.ipvs_scheduler {
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
            t.protocol.as_str(),
            t.dst.ip,
            t.dst.port
        );
        let n = &e.name_string;
        Some(match r {
            Ipvs::FilterNoPort => return None,
            Ipvs::MasqueradeAll => step(
                IPT_NAT,
                "KUBE-SERVICES",
                format!("{cluster_ip} -m set --match-set KUBE-CLUSTER-IP dst,dst -j {MARK_MASQ}"),
            ),
            Ipvs::MasqueradeNotLocal { cidr } => step(
                IPT_NAT,
                "KUBE-SERVICES",
                format!(
                    "! -s {cidr} {cluster_ip} -m set --match-set KUBE-CLUSTER-IP dst,dst -j {MARK_MASQ}"
                ),
            ),
            Ipvs::MasqueradeHost => step(
                IPT_NAT,
                "KUBE-SERVICES",
                format!("{cluster_ip} -m set --match-set KUBE-CLUSTER-IP src,dst -j {MARK_MASQ}"),
            ),
            Ipvs::ExternalIpLocal => step(
                IPT_NAT,
                "KUBE-SERVICES",
                "-m comment --comment \"Kubernetes service external ip + port with externalTrafficPolicy=local\" -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -m addrtype --dst-type LOCAL -j ACCEPT".into(),
            ),
            Ipvs::ExternalIpMasquerade => step(
                IPT_NAT,
                "KUBE-SERVICES",
                format!(
                    "-m comment --comment \"Kubernetes service external ip + port for masquerade and filter purpose\" -m set --match-set KUBE-EXTERNAL-IP dst,dst -j {MARK_MASQ}"
                ),
            ),
            Ipvs::FirewallReturn => step(
                IPT_FILTER,
                "KUBE-PROXY-FIREWALL",
                "-m comment --comment \"Kubernetes service load balancer ip + port + source cidr for packet filter purpose\" -m set --match-set KUBE-LOAD-BALANCER-SOURCE-CIDR dst,dst,src -j RETURN".into(),
            ),
            Ipvs::FirewallJump => step(
                IPT_FILTER,
                "KUBE-PROXY-FIREWALL",
                "-m comment --comment \"Kubernetes service load balancer ip + port for load balancer with sourceRange\" -m set --match-set KUBE-LOAD-BALANCER-FW dst,dst -j KUBE-SOURCE-RANGES-FIREWALL".into(),
            ),
            Ipvs::SourceRangesDrop => {
                step(IPT_FILTER, "KUBE-SOURCE-RANGES-FIREWALL", "-j DROP".into())
            }
            Ipvs::LoadBalancerPortal => step(
                IPT_NAT,
                "KUBE-SERVICES",
                "-m comment --comment \"Kubernetes service lb portal\" -m set --match-set KUBE-LOAD-BALANCER dst,dst -j KUBE-LOAD-BALANCER".into(),
            ),
            Ipvs::LoadBalancerLocal => step(
                IPT_NAT,
                "KUBE-LOAD-BALANCER",
                "-m comment --comment \"Kubernetes service load balancer ip + port with externalTrafficPolicy=local\" -m set --match-set KUBE-LOAD-BALANCER-LOCAL dst,dst -j RETURN".into(),
            ),
            Ipvs::LoadBalancerMasquerade => {
                step(IPT_NAT, "KUBE-LOAD-BALANCER", format!("-j {MARK_MASQ}"))
            }
            Ipvs::NodePortJump => step(
                IPT_NAT,
                "KUBE-SERVICES",
                "-m addrtype --dst-type LOCAL -j KUBE-NODE-PORT".into(),
            ),
            Ipvs::NodePortLocal => step(
                IPT_NAT,
                "KUBE-NODE-PORT",
                format!(
                    "-p {p} -m comment --comment \"Kubernetes nodeport {up} port with externalTrafficPolicy=local\" -m set --match-set KUBE-NODE-PORT-LOCAL-{up} dst -j RETURN"
                ),
            ),
            Ipvs::NodePortMasquerade => step(
                IPT_NAT,
                "KUBE-NODE-PORT",
                format!(
                    "-p {p} -m comment --comment \"Kubernetes nodeport {up} port for masquerade purpose\" -m set --match-set KUBE-NODE-PORT-{up} dst -j {MARK_MASQ}"
                ),
            ),
            Ipvs::NoRealServers { why, persistent } => {
                let why = match why {
                    NoRealServers::NoEndpoints => format!("{n}: no endpoints"),
                    NoRealServers::InternalLocal => format!(
                        "{n}: internalTrafficPolicy Local and no endpoint on this node"
                    ),
                    NoRealServers::ExternalLocal => format!(
                        "{n}: externalTrafficPolicy Local and no endpoint on this node"
                    ),
                };
                let rule = if *persistent {
                    format!(
                        "(no real servers: {why}; persistent service: ip_vs_sched_persist finds no destination, packet dropped)"
                    )
                } else {
                    format!("(no real servers: {why}; ip_vs_leave sends ICMP port unreachable)")
                };
                step(IPVS, &vs_line, rule)
            }
            Ipvs::RealServer { ep, active } => step(
                IPVS,
                &vs_line,
                format!("-> {}  Masq  1  {active}  0", Self::ep_str(e, *ep)),
            ),
            Ipvs::Hairpin => step(
                IPT_NAT,
                "KUBE-POSTROUTING",
                "-m comment --comment \"Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose\" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE".into(),
            ),
            Ipvs::FallbackDiscarded { ep } => step(
                IPVS,
                &vs_line,
                format!(
                    "(no local endpoint: {} is on another node and the packet keeps source {}; its reply leaves that node with the pod's address, not {}:{}, and the client discards it)",
                    Self::ep_str(e, *ep),
                    t.src.ip,
                    t.dst.ip,
                    t.dst.port
                ),
            ),
        })
    }

    // --- nftables ----------------------------------------------------------------

    fn nftables(&self, r: &Nft) -> Option<RuleStep> {
        match r {
            Nft::ClusterIpsReject => {
                return Some(step(
                    NFT,
                    "cluster-ips-check",
                    "ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"".into(),
                ));
            }
            Nft::ClusterIpsDropUnallocated => {
                return Some(step(
                    NFT,
                    "cluster-ips-check",
                    format!(
                        "ip daddr {{ {} }} drop comment \"Drop traffic to unallocated ClusterIPs\"",
                        self.cluster.config.service_cidr
                    ),
                ));
            }
            _ => {}
        }
        let e = self.e?;
        let t = self.t;
        let p = e.proto();
        let n = &e.name_string;
        let key = format!("{} . {p} . {}", t.dst.ip, t.dst.port);
        let np_key = format!("{p} . {}", e.node_port.unwrap_or(0));
        let chain = |c: &NftChain| match c {
            NftChain::Service => format!("service-{}", e.nft_base),
            NftChain::Local => format!("local-{}", e.nft_base),
            NftChain::External => format!("external-{}", e.nft_base),
        };
        let ext = chain(&NftChain::External);
        let svc = chain(&NftChain::Service);
        let epb = |i: &u32| e.nft_ep_base.get(*i as usize).map_or("", String::as_str);
        let verdict = |v: &NftVerdict| match v {
            NftVerdict::Reject => "goto reject-chain",
            NftVerdict::Drop => "drop",
        };
        let all = match_all(&self.cluster.config.proxy.node_port_addresses);
        Some(match r {
            Nft::ClusterIpsReject | Nft::ClusterIpsDropUnallocated => return None,
            Nft::FirewallCheck => step(
                NFT,
                "firewall-check",
                "ip daddr . meta l4proto . th dport vmap @firewall-ips".into(),
            ),
            Nft::FirewallIpsElement => step(
                NFT,
                "@firewall-ips",
                format!("{key} : goto firewall-{}", e.nft_base),
            ),
            Nft::FirewallDrop { allow_from_node } => {
                let mut sources: Vec<String> =
                    e.source_ranges.iter().map(ToString::to_string).collect();
                if *allow_from_node {
                    sources.extend(e.lb_ips.iter().map(ToString::to_string));
                }
                step(
                    NFT,
                    &format!("firewall-{}", e.nft_base),
                    format!("ip saddr != {{ {} }} drop", sources.join(", ")),
                )
            }
            Nft::EndpointsCheck => step(
                NFT,
                "service-endpoints-check",
                "ip daddr . meta l4proto . th dport vmap @no-endpoint-services".into(),
            ),
            Nft::NoEndpointServicesElement { verdict: v } => step(
                NFT,
                "@no-endpoint-services",
                format!("{key} comment \"{n}\" : {}", verdict(v)),
            ),
            Nft::RejectChain => step(NFT, "reject-chain", "reject".into()),
            Nft::Services => step(
                NFT,
                "services",
                "ip daddr . meta l4proto . th dport vmap @service-ips".into(),
            ),
            Nft::ServiceIpsElement { to } => step(
                NFT,
                "@service-ips",
                format!("{key} : goto {}", chain(to)),
            ),
            Nft::MasqueradeAll { chain: c } => step(
                NFT,
                &chain(c),
                format!(
                    "ip daddr {} {p} dport {} jump {NFT_MARK_MASQ}",
                    e.cluster_ip, e.port
                ),
            ),
            Nft::MasqueradeNotLocal { chain: c, cidr } => step(
                NFT,
                &chain(c),
                format!(
                    "ip daddr {} {p} dport {} ip saddr != {cidr} jump {NFT_MARK_MASQ}",
                    e.cluster_ip, e.port
                ),
            ),
            Nft::ServicesNodePorts => step(
                NFT,
                "services",
                if all {
                    "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports"
                } else {
                    "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports"
                }
                .into(),
            ),
            Nft::ServiceNodePortsElement => step(
                NFT,
                "@service-nodeports",
                format!("{np_key} : goto {ext}"),
            ),
            Nft::ExternalMasquerade => step(NFT, &ext, format!("jump {NFT_MARK_MASQ}")),
            Nft::ExternalToService => step(NFT, &ext, format!("goto {svc}")),
            Nft::ExternalPodShortCircuit { cidr } => step(
                NFT,
                &ext,
                format!("ip saddr {cidr} goto {svc} comment \"short-circuit pod traffic\""),
            ),
            Nft::ExternalLocalMasquerade => step(
                NFT,
                &ext,
                format!(
                    "fib saddr type local jump {NFT_MARK_MASQ} comment \"masquerade local traffic\""
                ),
            ),
            Nft::ExternalLocalToService => step(
                NFT,
                &ext,
                format!("fib saddr type local goto {svc} comment \"short-circuit local traffic\""),
            ),
            Nft::ExternalToLocal => step(
                NFT,
                &ext,
                format!("goto {}", chain(&NftChain::Local)),
            ),
            Nft::NodePortEndpointsCheck => step(
                NFT,
                "nodeport-endpoints-check",
                if all {
                    "fib daddr type local meta l4proto . th dport vmap @no-endpoint-nodeports"
                } else {
                    "ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports"
                }
                .into(),
            ),
            Nft::NoEndpointNodePortsElement { verdict: v } => step(
                NFT,
                "@no-endpoint-nodeports",
                format!("{np_key} comment \"{n}\" : {}", verdict(v)),
            ),
            Nft::AffinityGoto { chain: c, ep } => step(
                NFT,
                &chain(c),
                format!("ip saddr @affinity-{} goto endpoint-{}", epb(ep), epb(ep)),
            ),
            Nft::Numgen {
                chain: c,
                candidates,
                pick,
            } => {
                let cands: &[usize] = match candidates {
                    Candidates::Cluster => &e.cluster,
                    Candidates::Local => self.node.map_or(&[][..], |n| e.local(n)),
                };
                let elements: Vec<String> = cands
                    .iter()
                    .enumerate()
                    .map(|(k, &i)| {
                        format!(
                            "{k} : goto endpoint-{}",
                            e.nft_ep_base.get(i).map_or("", String::as_str)
                        )
                    })
                    .collect();
                let _ = pick;
                step(
                    NFT,
                    &chain(c),
                    format!(
                        "numgen random mod {} vmap {{ {} }}",
                        cands.len(),
                        elements.join(", ")
                    ),
                )
            }
            Nft::EndpointMasquerade { ep } => step(
                NFT,
                &format!("endpoint-{}", epb(ep)),
                format!(
                    "ip saddr {} jump {NFT_MARK_MASQ}",
                    e.endpoints.get(*ep as usize).map(|x| x.ip)?
                ),
            ),
            Nft::AffinityUpdate { ep } => step(
                NFT,
                &format!("endpoint-{}", epb(ep)),
                format!("update @affinity-{} {{ ip saddr }}", epb(ep)),
            ),
            Nft::Dnat { ep } => step(
                NFT,
                &format!("endpoint-{}", epb(ep)),
                format!("meta l4proto {p} dnat to {}", Self::ep_str(e, *ep)),
            ),
        })
    }
}

/// nodePortAddresses matching every local address.
fn match_all(a: &NodePortAddresses) -> bool {
    match a {
        NodePortAddresses::All => true,
        NodePortAddresses::Primary => false,
        NodePortAddresses::Cidrs(c) => c.iter().any(|c| c.len == 0),
    }
}
