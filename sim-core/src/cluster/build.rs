//! From loaded objects to a cluster: the control plane's work at start-up.
//!
//! In order:
//! 1. [`Config`] from the Scenario, with SCENARIO.md section 2's defaults.
//! 2. Nodes: the Scenario's, merged with Node objects of the stream (same name: one
//!    node); none at all gives `node-1` and `node-2`. Addresses `172.18.0.(2+i)` unless
//!    given; podCIDRs carved from clusterCIDR as kube-controller-manager's node IPAM
//!    range allocator does (`pkg/controller/nodeipam/ipam/cidrset/cidr_set.go`:
//!    `--node-cidr-mask-size` 24, given podCIDRs occupied first, then `AllocateNext`
//!    scanning from the first /24): node-1 gets 10.244.0.0/24, node-2 10.244.1.0/24, as
//!    in a kind or kubeadm cluster. Nodes get the labels the kubelet sets
//!    (`kubernetes.io/hostname`, `kubernetes.io/os: linux`, `kubernetes.io/arch: amd64`).
//! 3. Clients and namespaces.
//! 4. Services: the cluster's own (`default/kubernetes` at the first ClusterIP,
//!    `kube-system/kube-dns` at the tenth) unless the input defines them, then the
//!    input's, allocated as [`services`] explains.
//! 5. Pods: CoreDNS first (it runs before anything is applied), then Pod objects and
//!    workloads in input order ([`pods`]).
//! 6. Endpoints given by EndpointSlice and Endpoints objects, and NetworkPolicies.

use super::{live, names, pods, services};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::PodSpec;

use super::{
    Bind, Cluster, Config, DeclaredPort, DetectLocal, GivenEndpoints, IpvsScheduler, Listen,
    ListenSource, LoadBalancerMode, NodePortAddresses, Origin, ProxyConfig, ProxyMode, ServiceType,
    SimClient, SimContainer, SimNode, SimPolicy, SimService, SimServicePort, Socket, TargetPort,
};
use crate::manifest::{Loaded, LoadedObject};
use crate::net::{Cidr, Protocol};
use crate::objects::Object;
use crate::scenario::{self, ScenarioSpec};

/// Overrides from the command line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildOptions {
    /// `--seed`, over the Scenario's `seed`.
    pub seed: Option<u64>,
    /// `--proxy-mode`, over `cluster.kubeProxy.mode`.
    pub proxy_mode: Option<super::ProxyMode>,
}

pub const DEFAULT_CLUSTER_CIDR: &str = "10.244.0.0/16";
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
pub const DEFAULT_NODE_PORT_RANGE: (u16, u16) = (30000, 32767);
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";
pub const DEFAULT_LATENCY_NS: u64 = 100_000;
/// kube-controller-manager's `--node-cidr-mask-size` for IPv4.
pub const NODE_CIDR_MASK: u8 = 24;
/// Most nodes simctl simulates ([`crate::limits::MAX_NODES`]).
pub const MAX_NODES: usize = crate::limits::MAX_NODES;
/// The CoreDNS image of Kubernetes 1.34's kubeadm.
pub const COREDNS_IMAGE: &str = "registry.k8s.io/coredns/coredns:v1.12.1";
/// The API server's secure port, behind `default/kubernetes`.
pub const API_SERVER_PORT: u16 = 6443;

/// Diagnostic codes of this module.
pub mod codes {
    /// Two hosts claim one address (two Pods' `status.podIP`, ...).
    pub const DUPLICATE_ADDRESS: &str = "DuplicateAddress";
    /// More nodes than simulated, or no podCIDR left for a node.
    pub const NODE_LIMIT: &str = "NodeLimit";
}

/// Build the cluster the loaded objects describe. Control-plane problems (two Services
/// asking for one nodePort, ...) are in `Cluster::diagnostics`.
pub fn build(loaded: &Loaded, opts: &BuildOptions) -> Cluster {
    let spec = loaded.scenario.as_ref().map(|s| &s.doc.spec);
    let mut diagnostics = Vec::new();
    let mut config = config(spec, opts);
    live::infer_ranges(&mut config, loaded, &mut diagnostics);
    let mut cluster = Cluster {
        config,
        nodes: Vec::new(),
        clients: Vec::new(),
        namespaces: BTreeMap::new(),
        pods: Vec::new(),
        services: Vec::new(),
        policies: Vec::new(),
        given_endpoints: Vec::new(),
        reserved: Default::default(),
        workloads: Vec::new(),
        diagnostics,
    };
    cluster.config.namespace = loaded.namespace.clone();
    build_nodes(&mut cluster, spec, loaded);
    cluster.clients = clients(spec);
    // The taken set first, then every allocation: no pod (CoreDNS's included) is given
    // an address the input already names.
    cluster.reserved = taken_addresses(&cluster, loaded);
    let objects: Vec<(&LoadedObject, Origin)> = loaded
        .objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o, Origin::Object(i)))
        .collect();
    add_namespaces(&mut cluster, &objects);

    // Services: the cluster's own first (they exist before anything is applied).
    let defines = |ns: &str, name: &str| {
        loaded.objects.iter().any(|o| {
            matches!(o.object, Object::Service(_))
                && o.object.namespace() == Some(ns)
                && o.object.name() == name
        })
    };
    let mut alloc =
        services::Allocators::new(cluster.config.service_cidr, cluster.config.node_port_range);
    if !defines("default", "kubernetes") {
        add_kubernetes_service(&mut cluster, &mut alloc);
    }
    let default_dns = !defines("kube-system", "kube-dns");
    if default_dns {
        add_kube_dns_service(&mut cluster, &mut alloc);
    }
    let mut diags = Vec::new();
    services::create_services(&mut cluster, &objects, &mut alloc, &mut diags);
    cluster.diagnostics.extend(diags);

    if default_dns {
        add_coredns_pods(&mut cluster);
    }
    let claims = live::claims_of(&objects);
    for (obj, origin) in &objects {
        pods::create_claimed(&mut cluster, obj, *origin, &claims);
    }
    for (obj, origin) in &objects {
        add_given_endpoints(&mut cluster, obj, *origin);
        if let Some(p) = policy(obj, *origin) {
            cluster.policies.push(p);
        }
    }
    cluster
}

/// Every address the input names: the nodes' and clients' addresses, the addresses of
/// EndpointSlice and Endpoints objects (pasted `kubectl get endpointslices -o yaml`
/// names pods that may not be in the input), Pods' `status.podIP`/`podIPs`, and the
/// traffic sources `from: {ip: ...}` of the Scenario.
pub fn taken_addresses(cluster: &Cluster, loaded: &Loaded) -> std::collections::BTreeSet<Ipv4Addr> {
    let mut taken: std::collections::BTreeSet<Ipv4Addr> =
        cluster.nodes.iter().flat_map(|n| n.addresses()).collect();
    taken.extend(cluster.clients.iter().map(|c| c.ip));
    for o in &loaded.objects {
        taken.extend(object_addresses(&o.object));
    }
    for t in loaded
        .scenario
        .iter()
        .flat_map(|s| s.doc.spec.traffic.iter())
    {
        if let scenario::From::Address { ip, .. } = &t.from
            && let Ok(ip) = ip.parse()
        {
            taken.insert(ip);
        }
    }
    taken
}

/// The IPv4 addresses an object names as hosts: its endpoints, or a Pod's own.
pub fn object_addresses(object: &Object) -> Vec<Ipv4Addr> {
    let parse = |s: &str| s.parse::<Ipv4Addr>().ok();
    match object {
        Object::EndpointSlice(es) => es
            .endpoints
            .iter()
            .flat_map(|e| e.addresses.iter())
            .filter_map(|a| parse(a))
            .collect(),
        Object::Endpoints(ep) => ep
            .subsets
            .iter()
            .flatten()
            .flat_map(|s| {
                s.addresses
                    .iter()
                    .flatten()
                    .chain(s.not_ready_addresses.iter().flatten())
            })
            .filter_map(|a| parse(&a.ip))
            .collect(),
        Object::Pod(p) => pods::status_ips(p),
        _ => Vec::new(),
    }
}

/// The Scenario's settings with defaults (SCENARIO.md section 2).
pub fn config(spec: Option<&ScenarioSpec>, opts: &BuildOptions) -> Config {
    let c = spec.map(|s| &s.cluster);
    let kp = c.map(|c| &c.kube_proxy);
    let cidr = |v: Option<&String>, d: &str| {
        v.and_then(|s| Cidr::parse(s))
            .or_else(|| Cidr::parse(d))
            .unwrap_or(Cidr::new(Ipv4Addr::UNSPECIFIED, 0))
    };
    let mode = opts
        .proxy_mode
        .or_else(|| {
            kp.and_then(|k| k.mode.as_deref())
                .and_then(ProxyMode::parse)
        })
        .unwrap_or_default();
    let npa: Vec<&String> = kp
        .and_then(|k| k.node_port_addresses.as_ref())
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let node_port_addresses = if npa.is_empty() {
        // kube-proxy's defaults: every local address in iptables and ipvs modes, the
        // node's primary address in nftables mode.
        if mode == ProxyMode::Nftables {
            NodePortAddresses::Primary
        } else {
            NodePortAddresses::All
        }
    } else if npa.iter().any(|s| s.eq_ignore_ascii_case("primary")) {
        NodePortAddresses::Primary
    } else {
        NodePortAddresses::Cidrs(npa.iter().filter_map(|s| Cidr::parse(s)).collect())
    };
    Config {
        seed: opts.seed.or(spec.and_then(|s| s.seed)).unwrap_or(0),
        cluster_cidr: cidr(
            c.and_then(|c| c.cluster_cidr.as_ref()),
            DEFAULT_CLUSTER_CIDR,
        ),
        service_cidr: cidr(
            c.and_then(|c| c.service_cidr.as_ref()),
            DEFAULT_SERVICE_CIDR,
        ),
        node_port_range: c
            .and_then(|c| c.service_node_port_range.as_deref())
            .and_then(scenario::parse_port_range)
            .unwrap_or(DEFAULT_NODE_PORT_RANGE),
        cluster_domain: c
            .and_then(|c| c.cluster_domain.clone())
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| DEFAULT_CLUSTER_DOMAIN.to_string()),
        load_balancer: match c.and_then(|c| c.load_balancer.as_deref()) {
            Some("cloud") => LoadBalancerMode::Cloud,
            _ => LoadBalancerMode::None,
        },
        proxy: ProxyConfig {
            mode,
            ipvs_scheduler: match kp.and_then(|k| k.ipvs_scheduler.as_deref()) {
                Some("lc") => IpvsScheduler::Lc,
                Some("sh") => IpvsScheduler::Sh,
                _ => IpvsScheduler::Rr,
            },
            node_port_addresses,
            detect_local: match kp.and_then(|k| k.detect_local_mode.as_deref()) {
                Some("NodeCIDR") => DetectLocal::NodeCidr,
                Some("None") => DetectLocal::None,
                _ => DetectLocal::ClusterCidr,
            },
            localhost_node_ports: kp.and_then(|k| k.localhost_node_ports).unwrap_or(true),
            masquerade_all: kp.and_then(|k| k.masquerade_all).unwrap_or(false),
        },
        latency_ns: c
            .and_then(|c| c.network.latency.as_deref())
            .and_then(|l| scenario::parse_duration_ns(l).ok())
            .unwrap_or(DEFAULT_LATENCY_NS),
        loss: c
            .and_then(|c| c.network.loss)
            .filter(|l| (0.0..=1.0).contains(l))
            .unwrap_or(0.0),
        namespace: None,
    }
}

/// A node as the inputs describe it, before defaults.
struct NodeDraft {
    name: String,
    ip: Option<Ipv4Addr>,
    extra_ips: Vec<Ipv4Addr>,
    labels: BTreeMap<String, String>,
    pod_cidr: Option<Cidr>,
    origin: Origin,
}

fn build_nodes(cluster: &mut Cluster, spec: Option<&ScenarioSpec>, loaded: &Loaded) {
    let mut drafts: Vec<NodeDraft> = Vec::new();
    for n in spec
        .and_then(|s| s.cluster.nodes.as_ref())
        .into_iter()
        .flatten()
    {
        drafts.push(NodeDraft {
            name: n.name.clone(),
            ip: n.ip.as_deref().and_then(|ip| ip.parse().ok()),
            extra_ips: n
                .extra_ips
                .iter()
                .filter_map(|ip| ip.parse().ok())
                .collect(),
            labels: n.labels.clone(),
            pod_cidr: n.pod_cidr.as_deref().and_then(Cidr::parse),
            origin: Origin::Scenario,
        });
    }
    for (i, o) in loaded.objects.iter().enumerate() {
        let Object::Node(node) = &o.object else {
            continue;
        };
        let name = o.object.name().to_string();
        let ip = node
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_ref())
            .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
            .and_then(|a| a.address.parse().ok());
        let pod_cidr = node
            .spec
            .as_ref()
            .and_then(|s| s.pod_cidr.as_deref())
            .and_then(Cidr::parse);
        let labels = node.metadata.labels.clone().unwrap_or_default();
        match drafts.iter_mut().find(|d| d.name == name) {
            // The Scenario's settings win; the object fills in what it leaves out.
            Some(d) => {
                d.ip = d.ip.or(ip);
                d.pod_cidr = d.pod_cidr.or(pod_cidr);
                for (k, v) in labels {
                    d.labels.entry(k).or_insert(v);
                }
            }
            None => drafts.push(NodeDraft {
                name,
                ip,
                extra_ips: Vec::new(),
                labels,
                pod_cidr,
                origin: Origin::Object(i),
            }),
        }
    }
    if drafts.is_empty() {
        for name in ["node-1", "node-2"] {
            drafts.push(NodeDraft {
                name: name.to_string(),
                ip: None,
                extra_ips: Vec::new(),
                labels: BTreeMap::new(),
                pod_cidr: None,
                origin: Origin::Default,
            });
        }
    }
    // `limits::check_cluster` refused more nodes than simulated at load.
    debug_assert!(drafts.len() <= MAX_NODES, "{} nodes", drafts.len());

    // Addresses: given ones first, then 172.18.0.(2+i), skipping any taken.
    let mut taken: Vec<Ipv4Addr> = drafts
        .iter()
        .flat_map(|d| d.ip.into_iter().chain(d.extra_ips.iter().copied()))
        .collect();
    let ips: Vec<Ipv4Addr> = drafts
        .iter()
        .enumerate()
        .map(|(i, d)| {
            d.ip.unwrap_or_else(|| {
                let base = u32::from(Ipv4Addr::new(172, 18, 0, 2));
                let mut n = base.saturating_add(u32::try_from(i).unwrap_or(0));
                while taken.contains(&Ipv4Addr::from(n)) {
                    n = n.saturating_add(1);
                }
                let ip = Ipv4Addr::from(n);
                taken.push(ip);
                ip
            })
        })
        .collect();

    let cidrs = carve_pod_cidrs(cluster.config.cluster_cidr, &drafts);
    for ((d, ip), pod_cidr) in drafts.into_iter().zip(ips).zip(cidrs) {
        let mut labels = d.labels;
        // What the kubelet labels its node with.
        for (k, v) in [
            ("kubernetes.io/hostname", d.name.as_str()),
            ("kubernetes.io/os", "linux"),
            ("kubernetes.io/arch", "amd64"),
            ("beta.kubernetes.io/os", "linux"),
            ("beta.kubernetes.io/arch", "amd64"),
        ] {
            labels.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
        cluster.nodes.push(SimNode {
            name: d.name,
            ip,
            extra_ips: d.extra_ips,
            labels,
            pod_cidr,
            up: true,
            origin: d.origin,
        });
    }
}

/// The prefix length of the podCIDRs carved from `cluster_cidr` for `nodes` nodes:
/// `--node-cidr-mask-size` (24), or for a clusterCIDR smaller than a /24, as fine a split
/// as the node count needs. (`limits::check_cluster` refuses more nodes than it holds.)
pub fn pod_cidr_mask(cluster_cidr: Cidr, nodes: usize) -> u8 {
    let bits = usize::BITS - nodes.saturating_sub(1).leading_zeros();
    if cluster_cidr.len <= NODE_CIDR_MASK {
        NODE_CIDR_MASK
    } else {
        (cluster_cidr
            .len
            .saturating_add(u8::try_from(bits).unwrap_or(8)))
        .min(30)
    }
}

/// podCIDRs as the range allocator gives them: given ones occupied, the others
/// allocated from the first free /24 of clusterCIDR on (`CidrSet.AllocateNext`).
fn carve_pod_cidrs(cluster_cidr: Cidr, drafts: &[NodeDraft]) -> Vec<Cidr> {
    let mask = pod_cidr_mask(cluster_cidr, drafts.len());
    let given: Vec<Cidr> = drafts.iter().filter_map(|d| d.pod_cidr).collect();
    let mut next = 0u64;
    drafts
        .iter()
        .map(|d| {
            if let Some(c) = d.pod_cidr {
                return c;
            }
            while let Some(c) = cluster_cidr.subnet(mask, next) {
                next += 1;
                if !given.iter().any(|g| g.covers(&c) || c.covers(g)) {
                    return c;
                }
            }
            // Exhausted: share the last block rather than fail (reported by pods that
            // then find no address).
            cluster_cidr
        })
        .collect()
}

fn clients(spec: Option<&ScenarioSpec>) -> Vec<SimClient> {
    match spec.and_then(|s| s.clients.as_ref()) {
        None => vec![SimClient {
            name: "client".into(),
            ip: Ipv4Addr::new(203, 0, 113, 10),
            dns_names: Vec::new(),
            origin: Origin::Default,
        }],
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, c)| SimClient {
                name: c.name.clone(),
                ip: c
                    .ip
                    .as_deref()
                    .and_then(|ip| ip.parse().ok())
                    .unwrap_or_else(|| {
                        Ipv4Addr::from(
                            u32::from(Ipv4Addr::new(203, 0, 113, 10))
                                .saturating_add(u32::try_from(i).unwrap_or(0)),
                        )
                    }),
                dns_names: c
                    .dns_names
                    .iter()
                    .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
                    .collect(),
                origin: Origin::Scenario,
            })
            .collect(),
    }
}

/// The namespace labels the API server sets.
pub fn namespace_labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("kubernetes.io/metadata.name".to_string(), name.to_string())])
}

/// Namespaces: those of a kubeadm cluster, every namespace an object names, Namespace
/// objects (with their labels).
pub fn add_namespaces(cluster: &mut Cluster, objects: &[(&LoadedObject, Origin)]) {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        cluster
            .namespaces
            .entry(ns.to_string())
            .or_insert_with(|| namespace_labels(ns));
    }
    for (o, _) in objects {
        if let Object::Namespace(n) = &o.object {
            let name = o.object.name().to_string();
            let mut labels = n.metadata.labels.clone().unwrap_or_default();
            labels.extend(namespace_labels(&name));
            cluster.namespaces.insert(name, labels);
        } else if let Some(ns) = o.object.namespace() {
            cluster
                .namespaces
                .entry(ns.to_string())
                .or_insert_with(|| namespace_labels(ns));
        }
    }
}

fn default_service(
    namespace: &str,
    name: &str,
    cluster_ip: Option<Ipv4Addr>,
    ports: Vec<SimServicePort>,
    selector: Option<BTreeMap<String, String>>,
) -> SimService {
    SimService {
        namespace: namespace.into(),
        name: name.into(),
        origin: Origin::Default,
        type_: ServiceType::ClusterIp,
        cluster_ip,
        external_ips: Vec::new(),
        lb_ips: Vec::new(),
        lb_source_ranges: Vec::new(),
        ports,
        selector,
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

fn port(name: &str, protocol: Protocol, port: u16, target: u16) -> SimServicePort {
    SimServicePort {
        name: name.into(),
        protocol,
        port,
        target: TargetPort::Number(target),
        node_port: None,
    }
}

/// The `n`th address of the Service CIDR, reserved; any free one if that is impossible.
fn reserve_nth(
    cluster: &Cluster,
    alloc: &mut services::Allocators,
    n: u64,
    who: &str,
) -> Option<Ipv4Addr> {
    if let Some(ip) = cluster.config.service_cidr.nth(n)
        && alloc.ips.allocate(ip).is_ok()
    {
        return Some(ip);
    }
    let mut rng = names::rng_for(cluster.config.seed, &["cluster-ip", who]);
    alloc.ips.allocate_next(&mut rng)
}

/// `default/kubernetes`: the API server, at the first ClusterIP, port 443 to 6443 on the
/// first node (where a kubeadm control plane runs).
fn add_kubernetes_service(cluster: &mut Cluster, alloc: &mut services::Allocators) {
    let ip = reserve_nth(cluster, alloc, 1, "default/kubernetes");
    cluster.services.push(default_service(
        "default",
        "kubernetes",
        ip,
        vec![port("https", Protocol::Tcp, 443, API_SERVER_PORT)],
        None,
    ));
    if let Some(node) = cluster.nodes.first() {
        cluster.given_endpoints.push(GivenEndpoints {
            namespace: "default".into(),
            service: "kubernetes".into(),
            origin: Origin::Default,
            ports: vec![("https".into(), API_SERVER_PORT, Protocol::Tcp)],
            addresses: vec![(node.ip, true, true, false, Some(node.name.clone()))],
        });
    }
}

/// `kube-system/kube-dns`, as kubeadm creates it, at the tenth address of serviceCIDR.
fn add_kube_dns_service(cluster: &mut Cluster, alloc: &mut services::Allocators) {
    let ip = reserve_nth(cluster, alloc, 10, "kube-system/kube-dns");
    cluster.services.push(default_service(
        "kube-system",
        "kube-dns",
        ip,
        vec![
            port("dns", Protocol::Udp, 53, 53),
            port("dns-tcp", Protocol::Tcp, 53, 53),
            port("metrics", Protocol::Tcp, 9153, 9153),
        ],
        Some(BTreeMap::from([("k8s-app".into(), "kube-dns".into())])),
    ));
}

/// CoreDNS's pods: kubeadm's `coredns` Deployment, two replicas, spread over the nodes.
fn add_coredns_pods(cluster: &mut Cluster) {
    let hash = names::template_hash(COREDNS_IMAGE);
    let rs = format!("coredns-{hash}");
    let socket = |port, protocol| Socket {
        bind: Bind::Any,
        port,
        protocol,
    };
    let container = SimContainer {
        name: "coredns".into(),
        image: COREDNS_IMAGE.into(),
        ports: vec![
            DeclaredPort {
                name: Some("dns".into()),
                port: 53,
                protocol: Protocol::Udp,
                host_port: None,
                host_ip: None,
            },
            DeclaredPort {
                name: Some("dns-tcp".into()),
                port: 53,
                protocol: Protocol::Tcp,
                host_port: None,
                host_ip: None,
            },
            DeclaredPort {
                name: Some("metrics".into()),
                port: 9153,
                protocol: Protocol::Tcp,
                host_port: None,
                host_ip: None,
            },
        ],
        listen: Listen {
            sockets: vec![
                socket(53, Protocol::Udp),
                socket(53, Protocol::Tcp),
                socket(9153, Protocol::Tcp),
                socket(8080, Protocol::Tcp),
                socket(8181, Protocol::Tcp),
            ],
            source: ListenSource::Image {
                image: COREDNS_IMAGE.into(),
                detail: "kubeadm's Corefile: dns on 53/udp and 53/tcp, prometheus on 9153, health on 8080, ready on 8181".into(),
            },
            assumed: Vec::new(),
        },
        readiness_port: Some(8181),
        readiness_unresolved: None,
        startup: None,
        field: "containers[0]".into(),
        sidecar: false,
        crash: None,
    };
    // kubeadm's CoreDNS Deployment selects Linux nodes.
    let spec = PodSpec {
        node_selector: Some(BTreeMap::from([(
            "kubernetes.io/os".to_string(),
            "linux".to_string(),
        )])),
        ..Default::default()
    };
    for _ in 0..2 {
        let name = pods::fresh_name(cluster, "kube-system", &rs);
        let new = pods::NewPod {
            namespace: "kube-system".into(),
            name,
            labels: BTreeMap::from([
                ("k8s-app".to_string(), "kube-dns".to_string()),
                ("pod-template-hash".to_string(), hash.clone()),
            ]),
            annotations: BTreeMap::new(),
            containers: vec![container.clone()],
            host_network: false,
            // kubeadm's CoreDNS runs with dnsPolicy Default: it forwards to the node's
            // resolver.
            dns: crate::cluster::resolv::PodDns {
                policy: crate::cluster::resolv::DnsPolicy::Default,
                ..Default::default()
            },
            termination_grace_ns: 30_000_000_000,
            origin: Origin::Default,
            // A Deployment's pod: its controller replaces it when deleted.
            spec_path: "spec.template.spec".into(),
            hostname: None,
            subdomain: None,
            ip: None,
            applied_spec: None,
            owner: None,
            status_ready: None,
        };
        if let Err(d) = pods::schedule_and_place(cluster, new, &spec, None) {
            cluster.diagnostics.push(*d);
        }
    }
}

/// EndpointSlice and Endpoints objects, as given endpoints of their Service. Their
/// addresses join the taken set (an `apply` event may bring new ones).
pub fn add_given_endpoints(cluster: &mut Cluster, obj: &LoadedObject, origin: Origin) {
    cluster.reserved.extend(object_addresses(&obj.object));
    let ns = obj.object.namespace().unwrap_or("default").to_string();
    match &obj.object {
        Object::EndpointSlice(es) => {
            if es.address_type != "IPv4" {
                return;
            }
            let Some(service) = es
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/service-name"))
            else {
                return;
            };
            let ports = es
                .ports
                .iter()
                .flatten()
                .filter_map(|p| {
                    Some((
                        p.name.clone().unwrap_or_default(),
                        u16::try_from(p.port?).ok()?,
                        p.protocol
                            .as_deref()
                            .and_then(Protocol::parse)
                            .unwrap_or_default(),
                    ))
                })
                .collect();
            let mut addresses = Vec::new();
            for e in &es.endpoints {
                let (ready, serving, terminating) = slice_conditions(e.conditions.as_ref());
                for a in &e.addresses {
                    if let Ok(ip) = a.parse::<Ipv4Addr>() {
                        addresses.push((ip, ready, serving, terminating, e.node_name.clone()));
                    }
                }
            }
            cluster.given_endpoints.push(GivenEndpoints {
                namespace: ns,
                service: service.clone(),
                origin,
                ports,
                addresses,
            });
        }
        Object::Endpoints(ep) => {
            let service = obj.object.name().to_string();
            for subset in ep.subsets.iter().flatten() {
                let ports = subset
                    .ports
                    .iter()
                    .flatten()
                    .filter_map(|p| {
                        Some((
                            p.name.clone().unwrap_or_default(),
                            u16::try_from(p.port).ok()?,
                            p.protocol
                                .as_deref()
                                .and_then(Protocol::parse)
                                .unwrap_or_default(),
                        ))
                    })
                    .collect();
                let mut addresses = Vec::new();
                // The EndpointSlice mirroring controller copies an Endpoints object into
                // slices setting only `ready` (`addressToEndpoint` in
                // pkg/controller/endpointslicemirroring/utils.go): kube-proxy then reads a
                // not-ready address as serving and not terminating, which is no endpoint
                // it sends to, not even as a fallback.
                for (list, ready) in [
                    (&subset.addresses, true),
                    (&subset.not_ready_addresses, false),
                ] {
                    for a in list.iter().flatten() {
                        if let Ok(ip) = a.ip.parse::<Ipv4Addr>() {
                            let (ready, serving, terminating) =
                                read_conditions(Some(ready), None, None);
                            addresses.push((ip, ready, serving, terminating, a.node_name.clone()));
                        }
                    }
                }
                cluster.given_endpoints.push(GivenEndpoints {
                    namespace: ns.clone(),
                    service: service.clone(),
                    origin,
                    ports,
                    addresses,
                });
            }
        }
        _ => {}
    }
}

/// An EndpointSlice endpoint's conditions as kube-proxy reads them: (ready, serving,
/// terminating).
fn slice_conditions(
    c: Option<&k8s_openapi::api::discovery::v1::EndpointConditions>,
) -> (bool, bool, bool) {
    read_conditions(
        c.and_then(|c| c.ready),
        c.and_then(|c| c.serving),
        c.and_then(|c| c.terminating),
    )
}

/// `pkg/proxy/endpointslicecache.go` (`addEndpoints`): a nil `ready` is ready, a nil
/// `serving` is serving, a nil `terminating` is not terminating, as the discovery/v1 API
/// documents ("a nil value should be interpreted as true" for the first two). `serving`
/// does not follow `ready`: an endpoint written `{ready: false, terminating: true}` is
/// serving and terminating, the fallback kube-proxy uses when no endpoint is ready
/// (`CategorizeEndpoints` in pkg/proxy/topology.go).
pub fn read_conditions(
    ready: Option<bool>,
    serving: Option<bool>,
    terminating: Option<bool>,
) -> (bool, bool, bool) {
    (
        ready.unwrap_or(true),
        serving.unwrap_or(true),
        terminating.unwrap_or(false),
    )
}

/// A NetworkPolicy object as a [`SimPolicy`].
pub fn policy(obj: &LoadedObject, origin: Origin) -> Option<SimPolicy> {
    let Object::NetworkPolicy(np) = &obj.object else {
        return None;
    };
    Some(SimPolicy {
        namespace: obj.object.namespace().unwrap_or("default").to_string(),
        name: obj.object.name().to_string(),
        origin,
        spec: np.spec.clone().unwrap_or_default(),
        alive: true,
    })
}

/// Helpers for the control plane's tests.
#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use crate::manifest::{LoadOptions, load_str};

    pub fn load(yaml: &str) -> Loaded {
        let (_, loaded) = load_str("t.yaml", yaml, &LoadOptions::default());
        assert!(
            !loaded.has_errors(),
            "input rejected: {:#?}",
            loaded.diagnostics
        );
        loaded
    }

    pub fn cluster(yaml: &str) -> Cluster {
        build(&load(yaml), &BuildOptions::default())
    }

    pub fn cluster_seed(yaml: &str, seed: u64) -> Cluster {
        build(
            &load(yaml),
            &BuildOptions {
                seed: Some(seed),
                proxy_mode: None,
            },
        )
    }

    /// Live pod names of a namespace, sorted.
    pub fn pod_names(c: &Cluster, ns: &str) -> Vec<String> {
        let mut v: Vec<String> = c
            .pods
            .iter()
            .filter(|p| p.alive() && p.namespace == ns)
            .map(|p| p.name.clone())
            .collect();
        v.sort();
        v
    }

    pub fn svc<'a>(c: &'a Cluster, ns: &str, name: &str) -> &'a SimService {
        let id = c.service_by_name(ns, name).expect("service");
        &c.services[id]
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use crate::cluster::Readiness;
    use proptest::prelude::*;

    const WEB: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
";

    #[test]
    fn default_config() {
        let c = cluster("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
        let cfg = &c.config;
        assert_eq!(cfg.seed, 0);
        assert_eq!(cfg.cluster_cidr.to_string(), "10.244.0.0/16");
        assert_eq!(cfg.service_cidr.to_string(), "10.96.0.0/12");
        assert_eq!(cfg.node_port_range, (30000, 32767));
        assert_eq!(cfg.cluster_domain, "cluster.local");
        assert_eq!(cfg.load_balancer, LoadBalancerMode::None);
        assert_eq!(cfg.proxy.mode, ProxyMode::Iptables);
        assert_eq!(cfg.proxy.ipvs_scheduler, IpvsScheduler::Rr);
        assert_eq!(cfg.proxy.node_port_addresses, NodePortAddresses::All);
        assert_eq!(cfg.proxy.detect_local, DetectLocal::ClusterCidr);
        assert!(cfg.proxy.localhost_node_ports);
        assert!(!cfg.proxy.masquerade_all);
        assert_eq!(cfg.latency_ns, 100_000);
        assert_eq!(cfg.loss, 0.0);
        assert_eq!(c.clients.len(), 1);
        assert_eq!(c.clients[0].name, "client");
        assert_eq!(c.clients[0].ip, Ipv4Addr::new(203, 0, 113, 10));
        for ns in ["default", "kube-system", "shop"] {
            assert_eq!(
                c.namespaces[ns]
                    .get("kubernetes.io/metadata.name")
                    .map(String::as_str),
                Some(ns)
            );
        }
        // nftables defaults nodePortAddresses to the primary address.
        let loaded = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
        let c = build(
            &loaded,
            &BuildOptions {
                seed: Some(7),
                proxy_mode: Some(ProxyMode::Nftables),
            },
        );
        assert_eq!(c.config.seed, 7);
        assert_eq!(
            c.config.proxy.node_port_addresses,
            NodePortAddresses::Primary
        );
    }

    #[test]
    fn scenario_overrides_config() {
        let c = cluster(
            "
apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: s}
spec:
  seed: 3
  cluster:
    clusterCIDR: 10.100.0.0/16
    serviceCIDR: 10.0.0.0/16
    serviceNodePortRange: 31000-31999
    loadBalancer: cloud
    kubeProxy: {mode: ipvs, ipvsScheduler: sh, nodePortAddresses: [172.18.0.0/24]}
    network: {latency: 2ms, loss: 0.1}
  clients: [{name: laptop, ip: 198.18.0.5, dnsNames: [db.example.com]}]
",
        );
        assert_eq!(c.config.seed, 3);
        assert_eq!(c.config.node_port_range, (31000, 31999));
        assert_eq!(c.config.proxy.mode, ProxyMode::Ipvs);
        assert_eq!(c.config.proxy.ipvs_scheduler, IpvsScheduler::Sh);
        assert_eq!(
            c.config.proxy.node_port_addresses,
            NodePortAddresses::Cidrs(vec![Cidr::parse("172.18.0.0/24").expect("cidr")])
        );
        assert_eq!(c.config.latency_ns, 2_000_000);
        assert_eq!(c.clients[0].dns_names, vec!["db.example.com".to_string()]);
        assert_eq!(c.nodes[0].pod_cidr.to_string(), "10.100.0.0/24");
        // kube-dns at the tenth address of this serviceCIDR.
        assert_eq!(
            svc(&c, "kube-system", "kube-dns").cluster_ip,
            Some(Ipv4Addr::new(10, 0, 0, 10))
        );
    }

    #[test]
    fn node_defaults() {
        let c = cluster("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
        let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["node-1", "node-2"]);
        assert_eq!(c.nodes[0].ip, Ipv4Addr::new(172, 18, 0, 2));
        assert_eq!(c.nodes[1].ip, Ipv4Addr::new(172, 18, 0, 3));
        assert_eq!(c.nodes[0].pod_cidr.to_string(), "10.244.0.0/24");
        assert_eq!(c.nodes[1].pod_cidr.to_string(), "10.244.1.0/24");
        assert!(c.nodes.iter().all(|n| n.up));
        assert_eq!(
            c.nodes[1]
                .labels
                .get("kubernetes.io/hostname")
                .map(String::as_str),
            Some("node-2")
        );
        assert_eq!(c.nodes[0].origin, Origin::Default);
    }

    #[test]
    fn scenario_nodes_and_node_objects_merge() {
        let c = cluster(
            "
apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: s}
spec:
  cluster:
    nodes:
    - {name: a, podCIDR: 10.244.0.0/24, labels: {zone: x}}
    - {name: b, ip: 172.18.0.2}
---
apiVersion: v1
kind: Node
metadata: {name: c, labels: {disk: ssd}}
spec: {podCIDR: 10.244.7.0/24}
status: {addresses: [{type: InternalIP, address: 172.18.0.9}]}
---
apiVersion: v1
kind: Node
metadata: {name: a, labels: {disk: hdd}}
",
        );
        let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        // a: the default address, skipping b's explicit 172.18.0.2.
        assert_eq!(c.nodes[0].ip, Ipv4Addr::new(172, 18, 0, 3));
        assert_eq!(c.nodes[1].ip, Ipv4Addr::new(172, 18, 0, 2));
        assert_eq!(c.nodes[2].ip, Ipv4Addr::new(172, 18, 0, 9));
        assert_eq!(
            c.nodes[0].labels.get("disk").map(String::as_str),
            Some("hdd")
        );
        assert_eq!(c.nodes[0].labels.get("zone").map(String::as_str), Some("x"));
        // b gets the first /24 not given to a or c.
        assert_eq!(c.nodes[1].pod_cidr.to_string(), "10.244.1.0/24");
        assert_eq!(c.nodes[2].pod_cidr.to_string(), "10.244.7.0/24");
        assert_eq!(c.nodes[2].origin, Origin::Object(0));
    }

    #[test]
    fn pod_names_stable_for_a_seed() {
        let a = pod_names(&cluster_seed(WEB, 1), "shop");
        let b = pod_names(&cluster_seed(WEB, 1), "shop");
        let other = pod_names(&cluster_seed(WEB, 2), "shop");
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
        assert_ne!(a, other);
        let hash = names::template_hash("x").len();
        assert!(hash >= 1);
        for n in &a {
            let (rs, suffix) = n.rsplit_once('-').expect("suffix");
            assert_eq!(suffix.len(), 5);
            assert!(rs.starts_with("web-"));
            assert!(suffix.bytes().all(|b| names::ALPHANUMS.contains(&b)));
        }
        // The ReplicaSet name (and so the hash) does not depend on the seed.
        let rs = |v: &[String]| v[0].rsplit_once('-').map(|(r, _)| r.to_string());
        assert_eq!(rs(&a), rs(&other));
        // pod-template-hash is the ReplicaSet suffix.
        let c = cluster(WEB);
        let p = c.pods.iter().find(|p| p.namespace == "shop").expect("pod");
        let h = p.labels.get("pod-template-hash").expect("hash");
        assert!(p.name.starts_with(&format!("web-{h}-")));
    }

    #[test]
    fn scheduling_spreads_and_ips_count_from_2() {
        let c = cluster(WEB);
        // CoreDNS first: one pod per node, taking .2 of each podCIDR.
        let dns: Vec<_> = c
            .pods
            .iter()
            .filter(|p| p.namespace == "kube-system")
            .collect();
        assert_eq!(dns.len(), 2);
        assert_eq!(dns[0].node, 0);
        assert_eq!(dns[1].node, 1);
        assert_eq!(dns[0].ip, Ipv4Addr::new(10, 244, 0, 2));
        assert_eq!(dns[1].ip, Ipv4Addr::new(10, 244, 1, 2));
        assert!(dns.iter().all(|p| p.name.starts_with("coredns-")));
        let web: Vec<_> = c.pods.iter().filter(|p| p.namespace == "shop").collect();
        let placed: Vec<(usize, Ipv4Addr)> = web.iter().map(|p| (p.node, p.ip)).collect();
        assert_eq!(
            placed,
            [
                (0, Ipv4Addr::new(10, 244, 0, 3)),
                (1, Ipv4Addr::new(10, 244, 1, 3)),
                (0, Ipv4Addr::new(10, 244, 0, 4)),
            ]
        );
        assert!(
            web.iter()
                .all(|p| p.ready && p.readiness == Readiness::Ready)
        );
        assert!(web.iter().all(|p| p.termination_grace_ns == 30_000_000_000));
        assert!(web.iter().all(|p| p.origin == Origin::Workload(0)));
    }

    #[test]
    fn node_name_selector_and_unschedulable() {
        let c = cluster(
            "
apiVersion: v1
kind: Pod
metadata: {name: pinned}
spec:
  nodeName: node-2
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: picky}
spec:
  nodeSelector: {kubernetes.io/hostname: node-2}
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: stuck}
spec:
  nodeSelector: {gpu: 'true'}
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: host, annotations: {simctl/ready: 'false'}}
spec:
  hostNetwork: true
  containers: [{name: c, image: busybox}]
",
        );
        let pod = |n: &str| c.pod_by_name("default", n).map(|i| &c.pods[i]);
        assert_eq!(pod("pinned").map(|p| p.node), Some(1));
        assert_eq!(pod("picky").map(|p| p.node), Some(1));
        assert!(pod("stuck").is_none());
        let d = c
            .diagnostics
            .iter()
            .find(|d| d.code == pods::codes::UNSCHEDULABLE)
            .expect("FailedScheduling");
        assert!(
            d.message.contains(
                "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector"
            ),
            "{}",
            d.message
        );
        assert_eq!(d.field.as_deref(), Some("spec.nodeSelector"));
        assert_eq!(d.span.map(|s| s.line), Some(20));
        let host = pod("host").expect("host");
        assert!(host.host_network);
        assert_eq!(host.ip, c.nodes[host.node].ip);
        assert!(!host.ready);
        assert_eq!(host.readiness, Readiness::AnnotatedNotReady);
    }

    #[test]
    fn statefulset_and_daemonset_pods() {
        let c = cluster(
            "
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: postgres}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: agent}]}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: old}
spec:
  replicas: 1
  selector: {app: old}
  template:
    metadata: {labels: {app: old}}
    spec: {containers: [{name: c, image: nginx}]}
",
        );
        let names = pod_names(&c, "default");
        assert!(names.contains(&"db-0".to_string()));
        assert!(names.contains(&"db-1".to_string()));
        let db0 = &c.pods[c.pod_by_name("default", "db-0").expect("db-0")];
        assert_eq!(db0.hostname.as_deref(), Some("db-0"));
        assert_eq!(db0.subdomain.as_deref(), Some("db"));
        let agents: Vec<_> = c
            .pods
            .iter()
            .filter(|p| p.name.starts_with("agent-"))
            .collect();
        assert_eq!(agents.len(), 2);
        assert_ne!(agents[0].node, agents[1].node);
        assert_eq!(names.iter().filter(|n| n.starts_with("old-")).count(), 1);
    }

    #[test]
    fn kube_dns_present() {
        let c = cluster(WEB);
        let dns = svc(&c, "kube-system", "kube-dns");
        assert_eq!(dns.cluster_ip, Some(Ipv4Addr::new(10, 96, 0, 10)));
        let ports: Vec<(&str, u16, Protocol)> = dns
            .ports
            .iter()
            .map(|p| (p.name.as_str(), p.port, p.protocol))
            .collect();
        assert_eq!(
            ports,
            [
                ("dns", 53, Protocol::Udp),
                ("dns-tcp", 53, Protocol::Tcp),
                ("metrics", 9153, Protocol::Tcp)
            ]
        );
        assert_eq!(dns.origin, Origin::Default);
        assert_eq!(
            svc(&c, "default", "kubernetes").cluster_ip,
            Some(Ipv4Addr::new(10, 96, 0, 1))
        );
        let id = c.service_by_name("kube-system", "kube-dns").expect("dns");
        assert_eq!(c.endpoints(id, 0).len(), 2);
        // The web Service got a dynamic address from the upper band.
        let web = svc(&c, "shop", "web").cluster_ip.expect("ip");
        assert!(web >= Ipv4Addr::new(10, 96, 1, 1) && web <= Ipv4Addr::new(10, 111, 255, 254));
    }

    #[test]
    fn user_kube_dns_replaces_the_default() {
        let c = cluster(
            "apiVersion: v1\nkind: Service\nmetadata: {name: kube-dns, namespace: kube-system}\nspec:\n  clusterIP: 10.96.0.53\n  selector: {app: mydns}\n  ports: [{port: 53, protocol: UDP}]\n",
        );
        assert_eq!(
            svc(&c, "kube-system", "kube-dns").cluster_ip,
            Some(Ipv4Addr::new(10, 96, 0, 53))
        );
        assert!(c.pods.iter().all(|p| !p.name.starts_with("coredns-")));
    }

    #[test]
    fn explicit_cluster_ip_honoured_and_conflicts_reported() {
        let c = cluster(
            "
apiVersion: v1
kind: Service
metadata: {name: auto}
spec: {selector: {app: a}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: fixed}
spec: {clusterIP: 10.96.0.50, selector: {app: a}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: clash}
spec: {clusterIP: 10.96.0.10, selector: {app: a}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: away}
spec: {clusterIP: 10.200.0.1, selector: {app: a}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec: {clusterIP: None, selector: {app: a}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: db.example.com}
",
        );
        assert_eq!(
            svc(&c, "default", "fixed").cluster_ip,
            Some(Ipv4Addr::new(10, 96, 0, 50))
        );
        assert!(svc(&c, "default", "auto").cluster_ip.is_some());
        assert_eq!(svc(&c, "default", "headless").cluster_ip, None);
        assert_eq!(svc(&c, "default", "ext").cluster_ip, None);
        assert_eq!(
            svc(&c, "default", "ext").external_name.as_deref(),
            Some("db.example.com")
        );
        assert!(c.service_by_name("default", "clash").is_none());
        assert!(c.service_by_name("default", "away").is_none());
        let msgs: Vec<&str> = c.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "The Service \"clash\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.96.0.10\"}: failed to allocate IP 10.96.0.10: provided IP is already allocated",
                "The Service \"away\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.200.0.1\"}: failed to allocate IP 10.200.0.1: the provided network does not match the current range",
            ]
        );
        assert_eq!(c.diagnostics[0].field.as_deref(), Some("spec.clusterIPs"));
        assert_eq!(
            c.diagnostics[0].span.map(|s| (s.line, s.column)),
            Some((15, 19))
        );
    }

    #[test]
    fn node_port_already_allocated() {
        let c = cluster(
            "apiVersion: v1
kind: Service
metadata: {name: a}
spec:
  type: NodePort
  selector: {app: a}
  ports: [{port: 80, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  type: NodePort
  selector: {app: b}
  ports:
  - port: 80
    nodePort: 30080
",
        );
        assert_eq!(svc(&c, "default", "a").ports[0].node_port, Some(30080));
        assert!(c.service_by_name("default", "b").is_none());
        assert_eq!(c.diagnostics.len(), 1);
        let d = &c.diagnostics[0];
        assert_eq!(
            d.message,
            "The Service \"b\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
        );
        assert_eq!(d.code, "FieldValueInvalid");
        assert_eq!(d.field.as_deref(), Some("spec.ports[0].nodePort"));
        let span = d.span.expect("span");
        assert_eq!((span.line, span.column), (17, 15));
    }

    #[test]
    fn node_ports_auto_shared_and_health_check() {
        let c = cluster(
            "
apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: s}
spec: {cluster: {loadBalancer: cloud}}
---
apiVersion: v1
kind: Service
metadata: {name: dns}
spec:
  type: NodePort
  selector: {app: dns}
  ports:
  - {name: udp, port: 53, protocol: UDP}
  - {name: tcp, port: 53, protocol: TCP}
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: lb2}
spec:
  type: LoadBalancer
  allocateLoadBalancerNodePorts: false
  selector: {app: web}
  ports: [{port: 80}]
status: {loadBalancer: {ingress: [{ip: 192.0.2.7}]}}
---
apiVersion: v1
kind: Service
metadata: {name: lb3}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
",
        );
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
        let dns = svc(&c, "default", "dns");
        let np = dns.ports[0].node_port.expect("nodePort");
        assert_eq!(dns.ports[1].node_port, Some(np));
        assert!(np >= 30086, "dynamic band first: {np}");
        let lb = svc(&c, "default", "lb");
        assert!(lb.external_traffic_local);
        let hc = lb.health_check_node_port.expect("hc");
        assert_ne!(Some(hc), lb.ports[0].node_port);
        assert_eq!(lb.lb_ips, vec![Ipv4Addr::new(198, 51, 100, 1)]);
        let lb2 = svc(&c, "default", "lb2");
        assert_eq!(lb2.ports[0].node_port, None);
        assert_eq!(lb2.lb_ips, vec![Ipv4Addr::new(192, 0, 2, 7)]);
        assert_eq!(
            svc(&c, "default", "lb3").lb_ips,
            vec![Ipv4Addr::new(198, 51, 100, 2)]
        );
    }

    #[test]
    fn pending_load_balancer_without_cloud() {
        let c = cluster(
            "apiVersion: v1\nkind: Service\nmetadata: {name: lb}\nspec:\n  type: LoadBalancer\n  selector: {app: web}\n  ports: [{port: 80}]\n",
        );
        let lb = svc(&c, "default", "lb");
        assert!(lb.lb_ips.is_empty());
        assert!(lb.ports[0].node_port.is_some());
        assert_eq!(lb.health_check_node_port, None);
    }

    #[test]
    fn full_node_port_range() {
        let c = cluster(
            "
apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: s}
spec: {cluster: {serviceNodePortRange: 30000-30001}}
---
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {type: NodePort, selector: {app: a}, ports: [{name: a, port: 80}, {name: b, port: 81}]}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {type: NodePort, selector: {app: a}, ports: [{port: 80}]}
",
        );
        assert!(c.service_by_name("default", "a").is_some());
        assert!(c.service_by_name("default", "b").is_none());
        let d = &c.diagnostics[0];
        assert_eq!(
            d.message,
            "Internal error occurred: failed to allocate a nodePort: range is full"
        );
        assert_eq!(d.code, "InternalError");
        assert_eq!(d.field.as_deref(), Some("spec.ports[0].nodePort"));
    }

    #[test]
    fn rejected_service_releases_what_it_reserved() {
        // c asks for 30001 (free) then 30000 (a's): rejected, so d may take 30001.
        let c = cluster(
            "
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {type: NodePort, selector: {app: a}, ports: [{port: 80, nodePort: 30000}]}
---
apiVersion: v1
kind: Service
metadata: {name: c}
spec: {type: NodePort, selector: {app: a}, ports: [{name: a, port: 80, nodePort: 30001}, {name: b, port: 81, nodePort: 30000}]}
---
apiVersion: v1
kind: Service
metadata: {name: d}
spec: {type: NodePort, selector: {app: a}, ports: [{port: 80, nodePort: 30001}]}
",
        );
        assert!(c.service_by_name("default", "c").is_none());
        assert_eq!(svc(&c, "default", "d").ports[0].node_port, Some(30001));
        assert_eq!(c.diagnostics.len(), 1);
        assert_eq!(
            c.diagnostics[0].field.as_deref(),
            Some("spec.ports[1].nodePort")
        );
    }

    /// Stream order is apply order (`allocateCreate` runs per request, in the order
    /// `kubectl apply -f` sends them): an automatic NodePort an earlier Service took makes
    /// a later request for it fail, not the reverse.
    #[test]
    fn an_earlier_automatic_node_port_wins_over_a_later_request() {
        let auto = "apiVersion: v1\nkind: Service\nmetadata: {name: auto}\nspec: {type: NodePort, selector: {app: a}, ports: [{port: 80}]}\n";
        let taken = svc(&cluster(auto), "default", "auto").ports[0]
            .node_port
            .expect("nodePort");
        let later = format!(
            "{auto}---\napiVersion: v1\nkind: Service\nmetadata: {{name: asks}}\nspec:\n  type: NodePort\n  selector: {{app: b}}\n  ports:\n  - port: 80\n    nodePort: {taken}\n"
        );
        let c = cluster(&later);
        assert_eq!(svc(&c, "default", "auto").ports[0].node_port, Some(taken));
        assert!(c.service_by_name("default", "asks").is_none());
        assert_eq!(c.diagnostics.len(), 1, "{:?}", c.diagnostics);
        assert_eq!(
            c.diagnostics[0].message,
            format!(
                "The Service \"asks\" is invalid: spec.ports[0].nodePort: Invalid value: {taken}: provided port is already allocated"
            )
        );
        assert_eq!(c.diagnostics[0].span.map(|s| s.line), Some(14));
        // The other way round, the request is served first and the automatic one picks
        // another port.
        let earlier = format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: asks}}\nspec: {{type: NodePort, selector: {{app: b}}, ports: [{{port: 80, nodePort: {taken}}}]}}\n---\n{auto}"
        );
        let c = cluster(&earlier);
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
        assert_eq!(svc(&c, "default", "asks").ports[0].node_port, Some(taken));
        assert_ne!(svc(&c, "default", "auto").ports[0].node_port, Some(taken));
    }

    /// Within one Service, `initNodePorts` goes port by port: an unset nodePort takes the
    /// next free port at its turn, before a later port's request is reserved.
    #[test]
    fn node_ports_of_one_service_in_port_order() {
        let c = cluster(
            "
apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: s}
spec: {cluster: {serviceNodePortRange: 30000-30000}}
---
apiVersion: v1
kind: Service
metadata: {name: two}
spec:
  type: NodePort
  selector: {app: a}
  ports:
  - {name: a, port: 80}
  - {name: b, port: 81, nodePort: 30000}
",
        );
        assert!(c.service_by_name("default", "two").is_none());
        let msgs: Vec<&str> = c.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "The Service \"two\" is invalid: spec.ports[1].nodePort: Invalid value: 30000: provided port is already allocated"
            ]
        );
    }

    #[test]
    fn given_endpoints_and_policies() {
        let c = cluster(
            "
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {ports: [{name: pg, port: 5432}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-1, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{name: pg, port: 5432}]
endpoints:
- addresses: [192.0.2.10]
- addresses: [192.0.2.11]
  conditions: {ready: false}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec: {podSelector: {}}
",
        );
        assert_eq!(c.policies.len(), 1);
        assert_eq!(c.policies[0].name, "deny");
        let id = c.service_by_name("default", "db").expect("db");
        let eps = c.endpoints(id, 0);
        assert_eq!(eps.len(), 2);
        assert_eq!(eps[0].ip, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(eps[0].pod, None);
        // `serving` unset is serving, whatever `ready` says (endpointslicecache.go).
        assert!(eps[0].ready && !eps[1].ready && eps[1].serving && !eps[1].terminating);
        assert_eq!(eps[1].port, 5432);
    }

    /// A Pod's `status.podIP` is kept; an address a given EndpointSlice names, or a
    /// traffic source names, is handed to no other pod (CoreDNS's included), and the
    /// reachability probe avoids them all.
    #[test]
    fn the_taken_set_comes_first() {
        let c = cluster(
            "
apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: s}
spec:
  traffic:
    - {name: raw, from: {ip: 10.244.1.3, node: node-2}, to: \"10.96.0.1:443\"}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-1, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{name: pg, port: 5432}]
endpoints:
- addresses: [10.244.0.2, 10.244.1.2]
  nodeName: node-1
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {ports: [{name: pg, port: 5432}]}
---
apiVersion: v1
kind: Pod
metadata: {name: dumped}
spec: {nodeName: node-1, containers: [{name: c, image: busybox}]}
status: {podIP: 10.244.0.4}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
",
        );
        let dumped = &c.pods[c.pod_by_name("default", "dumped").expect("dumped")];
        assert_eq!(dumped.ip, Ipv4Addr::new(10, 244, 0, 4));
        for p in c.pods.iter().filter(|p| p.name != "dumped") {
            assert!(
                ![
                    [10, 244, 0, 2],
                    [10, 244, 1, 2],
                    [10, 244, 1, 3],
                    [10, 244, 0, 4]
                ]
                .map(Ipv4Addr::from)
                .contains(&p.ip),
                "{} got {}",
                p.name,
                p.ip
            );
        }
        let dns: Vec<Ipv4Addr> = c
            .pods
            .iter()
            .filter(|p| p.name.starts_with("coredns-"))
            .map(|p| p.ip)
            .collect();
        assert_eq!(
            dns,
            [Ipv4Addr::new(10, 244, 0, 3), Ipv4Addr::new(10, 244, 1, 4)]
        );
        assert_eq!(
            pods::unused_pod_address(&c, 0),
            Some(Ipv4Addr::new(10, 244, 0, 254))
        );
    }

    /// A random Service for the property test: type, and per port an explicit nodePort
    /// or not; an explicit ClusterIP or not.
    fn arb_service() -> impl Strategy<Value = (bool, Option<u8>, Vec<Option<u16>>)> {
        (
            any::<bool>(),
            proptest::option::of(0u8..40),
            proptest::collection::vec(proptest::option::of(30000u16..30040), 1..4),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// No ClusterIP and no NodePort is ever handed out twice, whatever the mix of
        /// requested and automatic values (conflicts are rejected instead).
        #[test]
        fn allocations_are_unique(services in proptest::collection::vec(arb_service(), 1..12), seed in 0u64..4) {
            let mut yaml = String::from("apiVersion: simctl/v1alpha1\nkind: Scenario\nmetadata: {name: p}\nspec: {cluster: {serviceNodePortRange: 30000-30049, serviceCIDR: 10.96.0.0/26}}\n");
            for (i, (node_port, ip, ports)) in services.iter().enumerate() {
                yaml.push_str(&format!("---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}}}\nspec:\n  selector: {{app: x}}\n"));
                if *node_port {
                    yaml.push_str("  type: NodePort\n");
                }
                if let Some(ip) = ip {
                    yaml.push_str(&format!("  clusterIP: 10.96.0.{}\n", ip + 1));
                }
                yaml.push_str("  ports:\n");
                for (j, np) in ports.iter().enumerate() {
                    yaml.push_str(&format!("  - {{name: p{j}, port: {}", 80 + j));
                    if let (true, Some(np)) = (node_port, np) {
                        yaml.push_str(&format!(", nodePort: {np}"));
                    }
                    yaml.push_str("}\n");
                }
            }
            let (_, loaded) = crate::manifest::load_str("p.yaml", &yaml, &crate::manifest::LoadOptions::default());
            let c = build(&loaded, &BuildOptions { seed: Some(seed), proxy_mode: None });
            let mut ips = Vec::new();
            let mut node_ports = Vec::new();
            for s in c.services.iter().filter(|s| s.alive) {
                ips.extend(s.cluster_ip);
                let mut mine: Vec<u16> = s.ports.iter().filter_map(|p| p.node_port).collect();
                mine.sort();
                mine.dedup();
                node_ports.extend(mine);
                node_ports.extend(s.health_check_node_port);
            }
            let (n_ips, n_ports) = (ips.len(), node_ports.len());
            ips.sort();
            ips.dedup();
            node_ports.sort();
            node_ports.dedup();
            prop_assert_eq!(ips.len(), n_ips);
            prop_assert_eq!(node_ports.len(), n_ports);
            prop_assert!(node_ports.iter().all(|p| (30000..=30049).contains(p)));
            // Every Service is either there or explained.
            let missing = services.len() + 2 - c.services.len();
            let errors = c.diagnostics.iter().chain(&loaded.diagnostics).filter(|d| d.is_error()).count();
            prop_assert!(errors >= missing);
        }

        /// No address is owned twice (issue 9 item 2): whatever the input names (given
        /// endpoints, Pods' status.podIP, raw traffic sources) and however many pods
        /// workloads and CoreDNS add, every pod address is unique, and a pod has an
        /// address the input names only when it is that Pod's own status.podIP; the
        /// probe takes none of them.
        #[test]
        fn no_address_is_owned_twice(
            named in proptest::collection::vec((0u8..2, 2u8..12), 0..10),
            dumped in proptest::collection::vec((0u8..2, 2u8..12), 0..6),
            raw in proptest::option::of((0u8..2, 2u8..12)),
            replicas in 0u8..10,
            seed in 0u64..4,
        ) {
            let ip = |(n, h): (u8, u8)| format!("10.244.{n}.{h}");
            let mut yaml = String::from("apiVersion: simctl/v1alpha1\nkind: Scenario\nmetadata: {name: p}\nspec:\n  cluster: {clusterCIDR: 10.244.0.0/16}\n");
            if let Some(r) = raw {
                yaml.push_str(&format!("  traffic: [{{name: raw, from: {{ip: {}, node: node-1}}, to: \"10.96.0.1:443\"}}]\n", ip(r)));
            }
            yaml.push_str("---\napiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {ports: [{name: pg, port: 5432}]}\n");
            if !named.is_empty() {
                let list: Vec<String> = named.iter().map(|a| ip(*a)).collect();
                yaml.push_str(&format!("---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: db-1, labels: {{kubernetes.io/service-name: db}}}}\naddressType: IPv4\nports: [{{name: pg, port: 5432}}]\nendpoints: [{{addresses: [{}]}}]\n", list.join(", ")));
            }
            for (i, (n, h)) in dumped.iter().enumerate() {
                yaml.push_str(&format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: dumped-{i}}}\nspec: {{nodeName: node-{}, containers: [{{name: c, image: busybox}}]}}\nstatus: {{podIP: {}}}\n", n + 1, ip((*n, *h))));
            }
            yaml.push_str(&format!("---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec: {{containers: [{{name: web, image: nginx}}]}}\n"));
            let (_, loaded) = crate::manifest::load_str("p.yaml", &yaml, &crate::manifest::LoadOptions::default());
            prop_assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
            let c = build(&loaded, &BuildOptions { seed: Some(seed), proxy_mode: None });
            let named_set = taken_addresses(&c, &loaded);
            let live: Vec<&crate::cluster::SimPod> = c.pods.iter().filter(|p| p.alive() && !p.host_network).collect();
            let mut ips: Vec<Ipv4Addr> = live.iter().map(|p| p.ip).collect();
            ips.sort();
            let n = ips.len();
            ips.dedup();
            prop_assert_eq!(ips.len(), n, "a pod address handed out twice");
            for p in &live {
                if named_set.contains(&p.ip) {
                    let own = p.name.starts_with("dumped-")
                        && dumped.get(p.name.trim_start_matches("dumped-").parse::<usize>().unwrap_or(99)).map(|a| ip(*a)) == Some(p.ip.to_string());
                    prop_assert!(own, "{} took {}, which the input names", p.name, p.ip);
                }
            }
            if let Some(probe) = pods::unused_pod_address(&c, 0) {
                prop_assert!(!named_set.contains(&probe) && !ips.contains(&probe));
            }
        }
    }
}
