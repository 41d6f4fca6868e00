//! kube-proxy behaviour, per mode, written from the Kubernetes sources (see the module
//! docs of each mode for the Go functions). Clusters are built by hand and endpoints
//! fed through `sync_with`, independent of the EndpointSlice controller.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::cluster::{
    Cluster, Config, DetectLocal, IpvsScheduler, LoadBalancerMode, NodePortAddresses, Origin,
    ProxyConfig, ProxyMode, ServiceType, SimNode, SimService, SimServicePort, TargetPort,
};
use crate::net::{Cidr, FiveTuple, Protocol, SockAddr};

const MODES: [ProxyMode; 3] = [ProxyMode::Iptables, ProxyMode::Ipvs, ProxyMode::Nftables];

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
}

fn cidr(s: &str) -> Cidr {
    Cidr::parse(s).unwrap_or(Cidr::new(Ipv4Addr::UNSPECIFIED, 0))
}

fn node(name: &str, addr: &str, pod_cidr: &str) -> SimNode {
    SimNode {
        name: name.into(),
        ip: ip(addr),
        extra_ips: Vec::new(),
        labels: BTreeMap::new(),
        pod_cidr: cidr(pod_cidr),
        up: true,
        origin: Origin::Default,
    }
}

fn service(name: &str, cluster_ip: Option<&str>, type_: ServiceType) -> SimService {
    SimService {
        namespace: "default".into(),
        name: name.into(),
        origin: Origin::Object(0),
        type_,
        cluster_ip: cluster_ip.map(ip),
        external_ips: Vec::new(),
        lb_ips: Vec::new(),
        lb_source_ranges: Vec::new(),
        ports: vec![SimServicePort {
            name: "http".into(),
            protocol: Protocol::Tcp,
            port: 80,
            target: TargetPort::Number(8080),
            node_port: (type_ != ServiceType::ClusterIp).then_some(30080),
        }],
        selector: Some(BTreeMap::new()),
        external_traffic_local: false,
        internal_traffic_local: false,
        affinity_timeout_s: None,
        health_check_node_port: None,
        publish_not_ready: false,
        external_name: None,
        alive: true,
        applied: None,
    }
}

fn ep(addr: &str, node: Option<NodeId>) -> SimEndpoint {
    SimEndpoint {
        pod: None,
        ip: ip(addr),
        port: 8080,
        node,
        ready: true,
        serving: true,
        terminating: false,
    }
}

/// The three endpoints of `default/web`: one on node-1, two on node-2 (listed out of
/// kube-proxy's order on purpose).
fn web_endpoints() -> Vec<SimEndpoint> {
    vec![
        ep("10.244.2.7", Some(1)),
        ep("10.244.1.5", Some(0)),
        ep("10.244.2.10", Some(1)),
    ]
}

const CLIENT: &str = "203.0.113.10";
const POD_1: &str = "10.244.1.20"; // a client pod on node-1
const NODE_1: &str = "172.18.0.2";
const NODE_2: &str = "172.18.0.3";
const CIP: &str = "10.96.12.34";

/// A hand-built cluster, a ProxyState and the endpoints fed to it.
struct World {
    cluster: Cluster,
    state: ProxyState,
    endpoints: BTreeMap<(ServiceId, usize), Vec<SimEndpoint>>,
    rng: ChaCha8Rng,
    now_ns: u64,
}

impl World {
    fn new(mode: ProxyMode) -> World {
        let cluster = Cluster {
            config: Config {
                seed: 0,
                cluster_cidr: cidr("10.244.0.0/16"),
                service_cidr: cidr("10.96.0.0/12"),
                node_port_range: (30000, 32767),
                cluster_domain: "cluster.local".into(),
                load_balancer: LoadBalancerMode::None,
                proxy: ProxyConfig {
                    mode,
                    ipvs_scheduler: IpvsScheduler::Rr,
                    node_port_addresses: NodePortAddresses::All,
                    detect_local: DetectLocal::ClusterCidr,
                    localhost_node_ports: true,
                    masquerade_all: false,
                },
                latency_ns: 100_000,
                loss: 0.0,
                namespace: None,
            },
            nodes: vec![
                node("node-1", NODE_1, "10.244.1.0/24"),
                node("node-2", NODE_2, "10.244.2.0/24"),
            ],
            clients: Vec::new(),
            namespaces: BTreeMap::new(),
            pods: Vec::new(),
            services: Vec::new(),
            policies: Vec::new(),
            given_endpoints: Vec::new(),
            reserved: Default::default(),
            workloads: Vec::new(),
            diagnostics: Vec::new(),
        };
        World {
            cluster,
            state: ProxyState::default(),
            endpoints: BTreeMap::new(),
            rng: ChaCha8Rng::seed_from_u64(7),
            now_ns: 1_000_000_000,
        }
    }

    /// `default/web` (ClusterIP 10.96.12.34, port http 80 -> 8080) of `type_`, with
    /// the three endpoints.
    fn web(mode: ProxyMode, type_: ServiceType) -> World {
        let mut w = World::new(mode);
        w.add(service("web", Some(CIP), type_), web_endpoints());
        w
    }

    fn add(&mut self, svc: SimService, endpoints: Vec<SimEndpoint>) -> ServiceId {
        let id = self.cluster.services.len();
        self.cluster.services.push(svc);
        self.endpoints.insert((id, 0), endpoints);
        self.sync();
        id
    }

    fn svc(&mut self) -> &mut SimService {
        let last = self.cluster.services.len() - 1;
        &mut self.cluster.services[last]
    }

    fn sync(&mut self) {
        let eps = &self.endpoints;
        self.state.sync_with(&self.cluster, |svc, port| {
            eps.get(&(svc, port)).cloned().unwrap_or_default()
        });
    }

    fn proxy(&mut self) -> &mut ProxyConfig {
        &mut self.cluster.config.proxy
    }

    /// A new TCP connection from `src` to `dst:port`, seen on `node`: the decision and
    /// its rules as the renderer prints them.
    fn send(&mut self, node: NodeId, src: &str, dst: &str, port: u16, from_host: bool) -> Decided {
        self.now_ns += 1_000_000;
        let input = ProxyInput {
            node,
            tuple: FiveTuple {
                protocol: Protocol::Tcp,
                src: SockAddr {
                    ip: ip(src),
                    port: 40000,
                },
                dst: SockAddr { ip: ip(dst), port },
            },
            from_host,
            from_pod: None,
            now_ns: self.now_ns,
        };
        let d = self.state.process(&self.cluster, &input, &mut self.rng);
        let kp = crate::trace::KubeProxy {
            mode: self.cluster.config.proxy.mode,
            service: d.service,
            entry: d.entry.clone(),
            rules: d.rules.clone(),
        };
        let steps = crate::render::rules::kube_proxy(&self.cluster, &kp, Some(node), &input.tuple);
        Decided {
            service: d.service,
            action: d.action,
            steps,
        }
    }
}

/// A decision with its rules rendered.
#[derive(Debug, PartialEq)]
struct Decided {
    service: Option<(ServiceId, usize, Entrance)>,
    action: ProxyAction,
    steps: Vec<crate::render::RuleStep>,
}

fn dnat_to(d: &Decided) -> Option<(Ipv4Addr, bool)> {
    match &d.action {
        ProxyAction::Dnat { to, masquerade, .. } => Some((to.ip, *masquerade)),
        _ => None,
    }
}

fn chains(d: &Decided) -> Vec<&str> {
    d.steps.iter().map(|s| s.chain.as_str()).collect()
}

// ---------------------------------------------------------------- the index

#[test]
fn endpoints_are_ordered_as_kube_proxy_sorts_them() {
    // endpointslicecache.go sorts by the string "ip:port": 10.244.2.10 before 10.244.2.7.
    let w = World::web(ProxyMode::Iptables, ServiceType::ClusterIp);
    let order: Vec<String> = w.state.index().entries[0]
        .endpoints
        .iter()
        .map(|e| e.ip.to_string())
        .collect();
    assert_eq!(order, ["10.244.1.5", "10.244.2.10", "10.244.2.7"]);
}

#[test]
fn services_kube_proxy_skips_are_not_indexed() {
    let mut w = World::new(ProxyMode::Iptables);
    w.add(
        service("headless", None, ServiceType::ClusterIp),
        web_endpoints(),
    );
    let mut ext = service("ext", None, ServiceType::ExternalName);
    ext.external_name = Some("db.example.com".into());
    w.add(ext, Vec::new());
    assert!(w.state.index().entries.is_empty());
    let mut gone = service("gone", Some(CIP), ServiceType::ClusterIp);
    gone.alive = false;
    w.add(gone, web_endpoints());
    assert!(w.state.index().entries.is_empty());
    assert_eq!(
        w.send(0, POD_1, CIP, 80, false).action,
        ProxyAction::NotMatched
    );
}

// ---------------------------------------------------------------- iptables rules

#[test]
fn iptables_steps_read_like_iptables_save() {
    let mut w = World::web(ProxyMode::Iptables, ServiceType::ClusterIp);
    w.add(
        service("only", Some("10.96.0.50"), ServiceType::ClusterIp),
        vec![ep("10.244.1.5", Some(0))],
    );
    let d = w.send(0, POD_1, "10.96.0.50", 80, false);
    let svc = names::IptablesChains::new("default/only:http", "tcp").svc;
    let sep = names::iptables_sep_chain("default/only:http", "tcp", "10.244.1.5:8080");
    let rules: Vec<(&str, &str, &str)> = d
        .steps
        .iter()
        .map(|s| (s.table.as_str(), s.chain.as_str(), s.rule.as_str()))
        .collect();
    assert_eq!(
        rules,
        vec![
            (
                "iptables nat",
                "KUBE-SERVICES",
                format!("-d 10.96.0.50/32 -p tcp -m comment --comment \"default/only:http cluster IP\" -m tcp --dport 80 -j {svc}").as_str()
            ),
            (
                "iptables nat",
                svc.as_str(),
                format!("-m comment --comment \"default/only:http -> 10.244.1.5:8080\" -j {sep}").as_str()
            ),
            (
                "iptables nat",
                sep.as_str(),
                "-p tcp -m comment --comment \"default/only:http\" -m tcp -j DNAT --to-destination 10.244.1.5:8080"
            ),
        ]
    );
    assert_eq!(d.service, Some((1, 0, Entrance::ClusterIp)));
    // default/web:http over tcp hashes to this chain (computed by hand from
    // servicePortPolicyClusterChain: base32(sha256("default/web:httptcp"))[:16]).
    assert_eq!(
        w.state.index().entries[0].ipt.svc,
        "KUBE-SVC-CDGGSHYLG3RE2FKL"
    );
}

#[test]
fn iptables_statistic_rules_are_uniform() {
    let mut w = World::web(ProxyMode::Iptables, ServiceType::ClusterIp);
    let mut count: BTreeMap<Ipv4Addr, u32> = BTreeMap::new();
    for _ in 0..30_000 {
        let d = w.send(0, POD_1, CIP, 80, false);
        let (to, masq) = dnat_to(&d).expect("dnat");
        assert!(!masq, "pod traffic to a ClusterIP keeps its source");
        *count.entry(to).or_default() += 1;
    }
    assert_eq!(count.len(), 3);
    for (ep, n) in count {
        let share = f64::from(n) / 30_000.0;
        assert!((share - 1.0 / 3.0).abs() < 0.02, "{ep}: {share}");
    }
    // The first rule carries 1/3, the second 1/2, the last none.
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        let d = w.send(0, POD_1, CIP, 80, false);
        seen.insert(d.steps[1].rule.clone());
    }
    let probs: BTreeSet<bool> = seen
        .iter()
        .map(|r| {
            r.contains("--probability 0.33333333349") || r.contains("--probability 0.50000000000")
        })
        .collect();
    assert_eq!(
        probs.len(),
        2,
        "statistic rules and the final catch-all: {seen:?}"
    );
}

#[test]
fn nftables_numgen_is_uniform_and_named_as_upstream() {
    let mut w = World::web(ProxyMode::Nftables, ServiceType::ClusterIp);
    let mut count: BTreeMap<Ipv4Addr, u32> = BTreeMap::new();
    for _ in 0..30_000 {
        let d = w.send(0, POD_1, CIP, 80, false);
        *count.entry(dnat_to(&d).expect("dnat").0).or_default() += 1;
    }
    for (ep, n) in count {
        let share = f64::from(n) / 30_000.0;
        assert!((share - 1.0 / 3.0).abs() < 0.02, "{ep}: {share}");
    }
    let d = w.send(0, POD_1, CIP, 80, false);
    let base = names::nft_service_base("default", "web", "tcp", "http");
    assert_eq!(d.steps[0].chain, "services");
    assert_eq!(
        d.steps[1].rule,
        format!("10.96.12.34 . tcp . 80 : goto service-{base}")
    );
    assert_eq!(d.steps[2].chain, format!("service-{base}"));
    assert!(
        d.steps[2]
            .rule
            .starts_with("numgen random mod 3 vmap { 0 : goto endpoint-")
    );
    assert!(
        d.steps[3]
            .rule
            .starts_with("meta l4proto tcp dnat to 10.244.")
    );
}

#[test]
fn ipvs_rr_is_exact_round_robin_per_virtual_server() {
    let mut w = World::web(ProxyMode::Ipvs, ServiceType::NodePort);
    let seq: Vec<Ipv4Addr> = (0..6)
        .map(|_| dnat_to(&w.send(0, POD_1, CIP, 80, false)).expect("dnat").0)
        .collect();
    let order = [ip("10.244.1.5"), ip("10.244.2.10"), ip("10.244.2.7")];
    assert_eq!(seq, [order, order].concat());
    // The NodePort virtual server of node-1 has its own position; node-2 too.
    let np = dnat_to(&w.send(0, CLIENT, NODE_1, 30080, false))
        .expect("dnat")
        .0;
    assert_eq!(np, order[0]);
    let np2 = dnat_to(&w.send(1, CLIENT, NODE_2, 30080, false))
        .expect("dnat")
        .0;
    assert_eq!(np2, order[0]);
    let d = w.send(0, POD_1, CIP, 80, false);
    assert_eq!(d.steps.last().map(|s| s.table.as_str()), Some("ipvs"));
    assert_eq!(
        d.steps.last().map(|s| s.chain.as_str()),
        Some("TCP  10.96.12.34:80 rr")
    );
    assert!(
        d.steps
            .last()
            .is_some_and(|s| s.rule.starts_with("-> 10.244.1.5:8080  Masq  1  "))
    );
}

#[test]
fn ipvs_lc_picks_the_least_loaded() {
    let mut w = World::web(ProxyMode::Ipvs, ServiceType::ClusterIp);
    w.proxy().ipvs_scheduler = IpvsScheduler::Lc;
    let order = [ip("10.244.1.5"), ip("10.244.2.10"), ip("10.244.2.7")];
    let first: Vec<Ipv4Addr> = (0..3)
        .map(|_| dnat_to(&w.send(0, POD_1, CIP, 80, false)).expect("dnat").0)
        .collect();
    assert_eq!(first, order, "ties go to the first real server");
    // Close both connections to the second endpoint's... one of them: it is the least.
    w.state.connection_closed(
        0,
        SockAddr {
            ip: order[1],
            port: 8080,
        },
    );
    assert_eq!(
        dnat_to(&w.send(0, POD_1, CIP, 80, false)).expect("dnat").0,
        order[1]
    );
    w.state.connection_closed(
        0,
        SockAddr {
            ip: order[2],
            port: 8080,
        },
    );
    assert_eq!(
        dnat_to(&w.send(0, POD_1, CIP, 80, false)).expect("dnat").0,
        order[2]
    );
    // Counts are per node.
    assert_eq!(
        dnat_to(&w.send(1, "10.244.2.20", CIP, 80, false))
            .expect("dnat")
            .0,
        order[0]
    );
}

#[test]
fn ipvs_sh_is_stable_per_source() {
    let mut w = World::web(ProxyMode::Ipvs, ServiceType::ClusterIp);
    w.proxy().ipvs_scheduler = IpvsScheduler::Sh;
    let mut all = BTreeSet::new();
    for last in 1..=40u8 {
        let src = format!("10.244.1.{last}");
        let a = dnat_to(&w.send(0, &src, CIP, 80, false)).expect("dnat").0;
        for _ in 0..5 {
            assert_eq!(
                dnat_to(&w.send(0, &src, CIP, 80, false)).expect("dnat").0,
                a
            );
        }
        assert_eq!(
            a,
            w.state.index().entries[0].endpoints[ipvs::sh_bucket(ip(&src), 3)].ip
        );
        all.insert(a);
    }
    assert_eq!(all.len(), 3, "sources spread over every real server");
}

#[test]
fn session_affinity_sticks_per_client_until_timeout() {
    for mode in MODES {
        let mut w = World::web(mode, ServiceType::ClusterIp);
        w.svc().affinity_timeout_s = Some(10);
        w.sync();
        let mut per_client = BTreeSet::new();
        for last in 1..=30u8 {
            let src = format!("10.244.1.{last}");
            let first = dnat_to(&w.send(0, &src, CIP, 80, false)).expect("dnat").0;
            for _ in 0..10 {
                assert_eq!(
                    dnat_to(&w.send(0, &src, CIP, 80, false)).expect("dnat").0,
                    first,
                    "{mode:?}"
                );
            }
            per_client.insert(first);
        }
        assert!(per_client.len() > 1, "{mode:?}: other clients go elsewhere");
        // Within the timeout the record is refreshed by every connection; after
        // `timeout` seconds of silence it is gone and the choice is made afresh.
        let mut after_expiry = BTreeSet::new();
        for _ in 0..30 {
            w.now_ns += 9_000_000_000;
            let a = dnat_to(&w.send(0, POD_1, CIP, 80, false)).expect("dnat").0;
            w.now_ns += 9_000_000_000;
            assert_eq!(
                dnat_to(&w.send(0, POD_1, CIP, 80, false)).expect("dnat").0,
                a
            );
            w.now_ns += 11_000_000_000;
            after_expiry.insert(dnat_to(&w.send(0, POD_1, CIP, 80, false)).expect("dnat").0);
        }
        assert!(
            after_expiry.len() > 1,
            "{mode:?}: expired affinity re-chooses"
        );
    }
    // The rules that say so.
    let mut w = World::web(ProxyMode::Iptables, ServiceType::ClusterIp);
    w.svc().affinity_timeout_s = Some(10800);
    w.sync();
    w.send(0, POD_1, CIP, 80, false);
    let d = w.send(0, POD_1, CIP, 80, false);
    assert!(
        d.steps[1]
            .rule
            .contains("-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-")
    );
    assert!(d.steps[2].rule.contains("-m recent --set --name KUBE-SEP-"));
    let mut w = World::web(ProxyMode::Ipvs, ServiceType::ClusterIp);
    w.svc().affinity_timeout_s = Some(10800);
    w.sync();
    let d = w.send(0, POD_1, CIP, 80, false);
    assert_eq!(d.steps[0].chain, "TCP  10.96.12.34:80 rr persistent 10800");
}

// ---------------------------------------------------------------- masquerade

#[test]
fn cluster_ip_masquerade_follows_detect_local() {
    for mode in MODES {
        let mut w = World::web(mode, ServiceType::ClusterIp);
        // A pod: local, not masqueraded.
        assert_eq!(
            dnat_to(&w.send(0, POD_1, CIP, 80, false)).map(|x| x.1),
            Some(false),
            "{mode:?}"
        );
        // Off-cluster source routed to the VIP: masqueraded.
        assert_eq!(
            dnat_to(&w.send(0, CLIENT, CIP, 80, false)).map(|x| x.1),
            Some(true),
            "{mode:?}"
        );
        // The node itself (source = its IP, outside the clusterCIDR): masqueraded.
        assert_eq!(
            dnat_to(&w.send(0, NODE_1, CIP, 80, true)).map(|x| x.1),
            Some(true),
            "{mode:?}"
        );
        // NodeCIDR: a pod of another node is not local here.
        w.proxy().detect_local = DetectLocal::NodeCidr;
        assert_eq!(
            dnat_to(&w.send(0, "10.244.2.20", CIP, 80, false)).map(|x| x.1),
            Some(true),
            "{mode:?}"
        );
        assert_eq!(
            dnat_to(&w.send(0, POD_1, CIP, 80, false)).map(|x| x.1),
            Some(false),
            "{mode:?}"
        );
        // None: iptables and nftables write no masquerade rule for ClusterIPs; ipvs
        // still masquerades the node's own connections (their source is a VIP).
        w.proxy().detect_local = DetectLocal::None;
        assert_eq!(
            dnat_to(&w.send(0, CLIENT, CIP, 80, false)).map(|x| x.1),
            Some(false),
            "{mode:?}"
        );
        assert_eq!(
            dnat_to(&w.send(0, NODE_1, CIP, 80, true)).map(|x| x.1),
            Some(mode == ProxyMode::Ipvs),
            "{mode:?}"
        );
        // masqueradeAll: everything.
        w.proxy().masquerade_all = true;
        assert_eq!(
            dnat_to(&w.send(0, POD_1, CIP, 80, false)).map(|x| x.1),
            Some(true),
            "{mode:?}"
        );
    }
}

#[test]
fn hairpin_is_masqueraded() {
    for mode in MODES {
        let mut w = World::new(mode);
        w.add(
            service("self", Some(CIP), ServiceType::ClusterIp),
            vec![ep("10.244.1.5", Some(0))],
        );
        let d = w.send(0, "10.244.1.5", CIP, 80, false);
        assert_eq!(dnat_to(&d), Some((ip("10.244.1.5"), true)), "{mode:?}");
    }
}

#[test]
fn external_traffic_policy_cluster_masquerades() {
    for mode in MODES {
        let mut w = World::web(mode, ServiceType::NodePort);
        let d = w.send(0, CLIENT, NODE_1, 30080, false);
        assert_eq!(d.service, Some((0, 0, Entrance::NodePort)), "{mode:?}");
        assert_eq!(dnat_to(&d).map(|x| x.1), Some(true), "{mode:?}");
        // Any address of the node answers by default; another node's address not here.
        w.cluster.nodes[0].extra_ips.push(ip("192.168.1.2"));
        assert!(
            dnat_to(&w.send(0, CLIENT, "192.168.1.2", 30080, false)).is_some(),
            "{mode:?}"
        );
        assert_eq!(
            w.send(0, CLIENT, NODE_2, 30080, false).action,
            ProxyAction::NotMatched
        );
    }
}

#[test]
fn external_traffic_policy_local() {
    for mode in MODES {
        let mut w = World::web(mode, ServiceType::NodePort);
        w.svc().external_traffic_local = true;
        w.svc().health_check_node_port = Some(32000);
        w.sync();
        // node-1 has 10.244.1.5: always it, source kept.
        for _ in 0..20 {
            let d = w.send(0, CLIENT, NODE_1, 30080, false);
            assert_eq!(dnat_to(&d), Some((ip("10.244.1.5"), false)), "{mode:?}");
        }
        // Move the endpoint away: node-1 has none.
        w.endpoints.insert((0, 0), vec![ep("10.244.2.7", Some(1))]);
        w.sync();
        let d = w.send(0, CLIENT, NODE_1, 30080, false);
        // iptables/nftables: DROP. ipvs: the real servers fall back to the Cluster
        // endpoints without SNAT, and the reply never reaches the client un-NATed.
        assert_eq!(
            d.action,
            ProxyAction::Drop(Reason::NoLocalEndpoint),
            "{mode:?}"
        );
        // Pods (detect-local) and the host reach the Cluster endpoints; the host is
        // masqueraded in iptables and nftables ("masquerade LOCAL traffic"), not by
        // ipvs's KUBE-NODE-PORT-LOCAL RETURN.
        let from_pod = w.send(0, POD_1, NODE_1, 30080, false);
        let from_host = w.send(0, NODE_1, NODE_1, 30080, true);
        assert_eq!(
            dnat_to(&from_pod),
            Some((ip("10.244.2.7"), false)),
            "{mode:?}"
        );
        assert_eq!(
            dnat_to(&from_host),
            Some((ip("10.244.2.7"), mode != ProxyMode::Ipvs)),
            "{mode:?}"
        );
        // A pod of another node is "local" under ClusterCIDR for iptables/nftables;
        // for ipvs its reply would bypass this node.
        let other = w.send(0, "10.244.2.20", NODE_1, 30080, false);
        if mode == ProxyMode::Ipvs {
            assert_eq!(other.action, ProxyAction::Drop(Reason::NoLocalEndpoint));
        } else {
            assert_eq!(dnat_to(&other), Some((ip("10.244.2.7"), false)), "{mode:?}");
        }
        // The ClusterIP is unaffected.
        assert_eq!(
            dnat_to(&w.send(0, POD_1, CIP, 80, false)).map(|x| x.0),
            Some(ip("10.244.2.7"))
        );
    }
}

#[test]
fn iptables_ext_chain_rules_for_local_policy() {
    let mut w = World::web(ProxyMode::Iptables, ServiceType::NodePort);
    w.svc().external_traffic_local = true;
    w.sync();
    let c = w.state.index().entries[0].ipt.clone();
    let d = w.send(0, CLIENT, NODE_1, 30080, false);
    assert_eq!(
        chains(&d),
        [
            "KUBE-SERVICES",
            "KUBE-NODEPORTS",
            c.ext.as_str(),
            c.svl.as_str(),
            w.state.index().entries[0].sep[0].as_str()
        ]
    );
    assert_eq!(
        d.steps[0].rule,
        "-m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"
    );
    assert_eq!(
        d.steps[1].rule,
        format!(
            "-p tcp -m comment --comment \"default/web:http\" -m tcp --dport 30080 -j {}",
            c.ext
        )
    );
    let d = w.send(1, POD_1, NODE_2, 30080, false);
    assert_eq!(
        d.steps[2].rule,
        format!(
            "-s 10.244.0.0/16 -m comment --comment \"pod traffic for default/web:http external destinations\" -j {}",
            c.svc
        )
    );
}

#[test]
fn internal_traffic_policy_local() {
    for mode in MODES {
        let mut w = World::web(mode, ServiceType::ClusterIp);
        w.svc().internal_traffic_local = true;
        w.sync();
        for _ in 0..10 {
            assert_eq!(
                dnat_to(&w.send(0, POD_1, CIP, 80, false)).map(|x| x.0),
                Some(ip("10.244.1.5"))
            );
        }
        w.endpoints.insert((0, 0), vec![ep("10.244.2.7", Some(1))]);
        w.sync();
        let d = w.send(0, POD_1, CIP, 80, false);
        match mode {
            ProxyMode::Ipvs => assert_eq!(d.action, ProxyAction::Reject(Reason::NoEndpoints)),
            _ => assert_eq!(
                d.action,
                ProxyAction::Drop(Reason::NoLocalInternalEndpoint),
                "{mode:?}"
            ),
        }
        assert_eq!(
            dnat_to(&w.send(1, "10.244.2.20", CIP, 80, false)).map(|x| x.0),
            Some(ip("10.244.2.7"))
        );
    }
}

// ---------------------------------------------------------------- REJECT / DROP

#[test]
fn no_endpoints_rejects_in_every_mode() {
    for mode in MODES {
        let mut w = World::new(mode);
        w.add(service("web", Some(CIP), ServiceType::NodePort), Vec::new());
        let d = w.send(0, POD_1, CIP, 80, false);
        assert_eq!(
            d.action,
            ProxyAction::Reject(Reason::NoEndpoints),
            "{mode:?}"
        );
        assert_eq!(d.service, Some((0, 0, Entrance::ClusterIp)));
        let d = w.send(0, CLIENT, NODE_1, 30080, false);
        assert_eq!(
            d.action,
            ProxyAction::Reject(Reason::NoEndpoints),
            "{mode:?}"
        );
        // Endpoints that are neither ready nor serving-and-terminating count as none.
        let mut e = ep("10.244.1.5", Some(0));
        e.ready = false;
        e.serving = false;
        w.endpoints.insert((0, 0), vec![e]);
        w.sync();
        assert_eq!(
            w.send(0, POD_1, CIP, 80, false).action,
            ProxyAction::Reject(Reason::NoEndpoints)
        );
    }
    let mut w = World::new(ProxyMode::Iptables);
    w.add(
        service("web", Some(CIP), ServiceType::ClusterIp),
        Vec::new(),
    );
    let d = w.send(0, POD_1, CIP, 80, false);
    assert_eq!(d.steps[0].table, "iptables filter");
    assert_eq!(
        d.steps[0].rule,
        "-d 10.96.12.34/32 -p tcp -m comment --comment \"default/web:http has no endpoints\" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable"
    );
}

#[test]
fn unknown_port_of_a_cluster_ip_per_mode() {
    for mode in MODES {
        let mut w = World::web(mode, ServiceType::ClusterIp);
        let d = w.send(0, POD_1, CIP, 81, false);
        let want = match mode {
            ProxyMode::Iptables => ProxyAction::NotMatched,
            _ => ProxyAction::Reject(Reason::NoServicePort),
        };
        assert_eq!(d.action, want, "{mode:?}");
        assert_eq!(w.state.service_at(ip(CIP)), Some(0));
        // An address of the service CIDR no Service has: nftables drops it.
        let d = w.send(0, POD_1, "10.96.99.99", 80, false);
        let want = match mode {
            ProxyMode::Nftables => ProxyAction::Drop(Reason::NoHost),
            _ => ProxyAction::NotMatched,
        };
        assert_eq!(d.action, want, "{mode:?}");
        assert_eq!(
            w.send(0, POD_1, "8.8.8.8", 53, false).action,
            ProxyAction::NotMatched
        );
    }
}

#[test]
fn load_balancer_source_ranges() {
    for mode in MODES {
        let mut w = World::web(mode, ServiceType::LoadBalancer);
        w.svc().lb_ips = vec![ip("198.51.100.1")];
        w.svc().lb_source_ranges = vec![cidr("203.0.113.0/24")];
        w.sync();
        let d = w.send(0, CLIENT, "198.51.100.1", 80, false);
        assert_eq!(d.service, Some((0, 0, Entrance::LoadBalancer)));
        assert_eq!(dnat_to(&d).map(|x| x.1), Some(true), "{mode:?}");
        let d = w.send(0, "192.0.2.9", "198.51.100.1", 80, false);
        assert_eq!(
            d.action,
            ProxyAction::Drop(Reason::SourceRangeDenied),
            "{mode:?}"
        );
        // NodePorts are not subject to loadBalancerSourceRanges.
        assert!(dnat_to(&w.send(0, "192.0.2.9", NODE_1, 30080, false)).is_some());
    }
}

#[test]
fn external_ips_are_external_destinations() {
    for mode in MODES {
        let mut w = World::web(mode, ServiceType::ClusterIp);
        w.svc().external_ips = vec![ip("192.0.2.50")];
        w.sync();
        let d = w.send(0, CLIENT, "192.0.2.50", 80, false);
        assert_eq!(d.service, Some((0, 0, Entrance::ExternalIp)));
        assert_eq!(dnat_to(&d).map(|x| x.1), Some(true), "{mode:?}");
    }
}

// ---------------------------------------------------------------- endpoints

#[test]
fn terminating_endpoints_are_a_fallback() {
    for mode in MODES {
        let mut w = World::new(mode);
        let mut term = ep("10.244.1.5", Some(0));
        term.ready = false;
        term.terminating = true;
        let mut dead = ep("10.244.1.6", Some(0));
        dead.ready = false;
        dead.serving = false;
        dead.terminating = true;
        w.add(
            service("web", Some(CIP), ServiceType::ClusterIp),
            vec![term.clone(), dead],
        );
        for _ in 0..10 {
            assert_eq!(
                dnat_to(&w.send(0, POD_1, CIP, 80, false)).map(|x| x.0),
                Some(ip("10.244.1.5"))
            );
        }
        // A ready endpoint anywhere wins over serving-terminating ones.
        w.endpoints
            .insert((0, 0), vec![term, ep("10.244.2.7", Some(1))]);
        w.sync();
        for _ in 0..10 {
            assert_eq!(
                dnat_to(&w.send(0, POD_1, CIP, 80, false)).map(|x| x.0),
                Some(ip("10.244.2.7"))
            );
        }
    }
}

// ---------------------------------------------------------------- NodePort addresses

#[test]
fn localhost_node_ports_only_in_iptables_and_only_from_the_host() {
    for mode in MODES {
        let mut w = World::web(mode, ServiceType::NodePort);
        let d = w.send(0, "127.0.0.1", "127.0.0.1", 30080, true);
        assert_eq!(
            dnat_to(&d).is_some(),
            mode == ProxyMode::Iptables,
            "{mode:?}"
        );
        w.proxy().localhost_node_ports = false;
        assert_eq!(
            w.send(0, "127.0.0.1", "127.0.0.1", 30080, true).action,
            ProxyAction::NotMatched
        );
    }
    let mut w = World::web(ProxyMode::Iptables, ServiceType::NodePort);
    assert_eq!(
        w.send(0, "127.0.0.1", "127.0.0.1", 30080, false).action,
        ProxyAction::NotMatched
    );
}

#[test]
fn node_port_addresses_narrow_where_node_ports_answer() {
    for mode in MODES {
        let mut w = World::web(mode, ServiceType::NodePort);
        w.cluster.nodes[0].extra_ips.push(ip("192.168.1.2"));
        w.proxy().node_port_addresses = NodePortAddresses::Primary;
        assert!(dnat_to(&w.send(0, CLIENT, NODE_1, 30080, false)).is_some());
        assert_eq!(
            w.send(0, CLIENT, "192.168.1.2", 30080, false).action,
            ProxyAction::NotMatched
        );
        w.proxy().node_port_addresses = NodePortAddresses::Cidrs(vec![cidr("192.168.0.0/16")]);
        assert!(dnat_to(&w.send(0, CLIENT, "192.168.1.2", 30080, false)).is_some());
        assert_eq!(
            w.send(0, CLIENT, NODE_1, 30080, false).action,
            ProxyAction::NotMatched
        );
    }
}

// ---------------------------------------------------------------- health checks

#[test]
fn health_check_node_port_answers_on_every_node() {
    for mode in MODES {
        let mut w = World::web(mode, ServiceType::LoadBalancer);
        w.svc().external_traffic_local = true;
        w.svc().health_check_node_port = Some(32000);
        w.sync();
        let d = w.send(0, CLIENT, NODE_1, 32000, false);
        assert_eq!(
            d.action,
            ProxyAction::HealthCheck {
                healthy: true,
                local_endpoints: 1
            }
        );
        assert_eq!(d.service, Some((0, 0, Entrance::HealthCheck)));
        let d = w.send(1, CLIENT, NODE_2, 32000, false);
        assert_eq!(
            d.action,
            ProxyAction::HealthCheck {
                healthy: true,
                local_endpoints: 2
            }
        );
        w.endpoints.insert((0, 0), vec![ep("10.244.2.7", Some(1))]);
        w.sync();
        let d = w.send(0, CLIENT, NODE_1, 32000, false);
        assert_eq!(
            d.action,
            ProxyAction::HealthCheck {
                healthy: false,
                local_endpoints: 0
            }
        );
        assert!(
            d.steps
                .last()
                .is_some_and(|s| s.rule.starts_with("GET /healthz -> 503"))
        );
        // nodePortAddresses narrows the listener.
        w.cluster.nodes[0].extra_ips.push(ip("192.168.1.2"));
        assert!(matches!(
            w.send(0, CLIENT, "192.168.1.2", 32000, false).action,
            ProxyAction::HealthCheck { .. }
        ));
        w.proxy().node_port_addresses = NodePortAddresses::Primary;
        assert_eq!(
            w.send(0, CLIENT, "192.168.1.2", 32000, false).action,
            ProxyAction::NotMatched
        );
    }
}

#[test]
fn same_seed_same_decisions() {
    let run = || {
        let mut w = World::web(ProxyMode::Iptables, ServiceType::NodePort);
        (0..50)
            .map(|i| {
                w.send(
                    i % 2,
                    CLIENT,
                    if i % 2 == 0 { NODE_1 } else { NODE_2 },
                    30080,
                    false,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn ipvs_empty_virtual_server_refuses_unless_persistent() {
    let mut w = World::new(ProxyMode::Ipvs);
    w.add(service("web", Some(CIP), ServiceType::NodePort), Vec::new());
    let d = w.send(0, CLIENT, NODE_1, 30080, false);
    assert_eq!(d.action, ProxyAction::Reject(Reason::NoEndpoints));
    assert_eq!(
        d.steps.last().map(|s| s.chain.as_str()),
        Some("TCP  172.18.0.2:30080 rr")
    );
    w.svc().affinity_timeout_s = Some(10800);
    w.sync();
    let d = w.send(0, CLIENT, NODE_1, 30080, false);
    assert_eq!(d.action, ProxyAction::Drop(Reason::NoEndpoints));
}

#[test]
fn ipvs_local_policies_fall_back_to_cluster_endpoints() {
    // internalTrafficPolicy Local on a NodePort Service: UsesClusterEndpoints, so the
    // ClusterIP virtual server of a node without local endpoints gets them all.
    let mut w = World::web(ProxyMode::Ipvs, ServiceType::NodePort);
    w.svc().internal_traffic_local = true;
    w.endpoints.insert((0, 0), vec![ep("10.244.2.7", Some(1))]);
    w.sync();
    assert_eq!(
        dnat_to(&w.send(0, POD_1, CIP, 80, false)),
        Some((ip("10.244.2.7"), false))
    );
    // An off-cluster source is masqueraded (KUBE-CLUSTER-IP), so its reply comes back.
    assert_eq!(
        dnat_to(&w.send(0, CLIENT, CIP, 80, false)),
        Some((ip("10.244.2.7"), true))
    );
}
