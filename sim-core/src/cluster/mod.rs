//! The simulated cluster: what the control plane makes of the loaded objects.
//!
//! [`build`] turns [`crate::manifest::Loaded`] into a [`Cluster`]: nodes, pods (from Pods
//! and workloads, scheduled, with IPs from their node's podCIDR), Services (ClusterIPs,
//! NodePorts, health-check ports, load-balancer addresses), endpoints, DNS and policies.
//! Everything lives in arenas (`Vec`s addressed by the `*Id` indexes); nothing is
//! removed from an arena during a run (a deleted pod is marked, not dropped), so an id
//! stays valid for the whole run and traces can name it.
//!
//! Events of a scenario (`deletePod`, `scale`, ...) are verbs on [`Cluster`] (see
//! [`events`]); the controllers' reactions (endpoints leave, new pods join) follow from
//! the state, because endpoints are computed from it on demand.

pub mod alloc;
pub mod build;
pub mod dns;
pub mod endpoints;
pub mod events;
pub mod listen;
pub mod live;
pub mod names;
pub mod pods;
pub mod resolv;
pub mod schedule;
pub mod services;
pub mod update;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use k8s_openapi::api::networking::v1::NetworkPolicySpec;

use crate::diag::Diagnostic;
use crate::net::{Cidr, Protocol};

pub use build::build;

pub type NodeId = usize;
pub type PodId = usize;
pub type ServiceId = usize;
pub type ClientId = usize;
pub type PolicyId = usize;

/// Where a simulated thing came from, so traces can point at its YAML.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// simctl's own default (the default nodes, the default client, CoreDNS).
    Default,
    /// The Scenario document (its nodes and clients).
    Scenario,
    /// The object at this index of `Loaded::objects` (a Pod, a Service, a Node...).
    Object(usize),
    /// A pod made by the workload object at this index of `Loaded::objects`.
    Workload(usize),
    /// An object applied by the scenario event at this index of `spec.events`.
    Event(usize),
}

/// kube-proxy's mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ProxyMode {
    #[default]
    Iptables,
    Ipvs,
    Nftables,
}

impl ProxyMode {
    pub fn parse(s: &str) -> Option<ProxyMode> {
        match s {
            "iptables" => Some(ProxyMode::Iptables),
            "ipvs" => Some(ProxyMode::Ipvs),
            "nftables" => Some(ProxyMode::Nftables),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyMode::Iptables => "iptables",
            ProxyMode::Ipvs => "ipvs",
            ProxyMode::Nftables => "nftables",
        }
    }
}

/// The IPVS scheduler (ipvs mode only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum IpvsScheduler {
    /// Round robin.
    #[default]
    Rr,
    /// Least connections.
    Lc,
    /// Source hashing.
    Sh,
}

/// Where NodePorts are answered.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum NodePortAddresses {
    /// Every local address (iptables and ipvs default).
    #[default]
    All,
    /// The node's primary InternalIP (nftables default, or `primary`).
    Primary,
    /// Local addresses inside these prefixes.
    Cidrs(Vec<Cidr>),
}

/// How kube-proxy tells traffic from local pods from other traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DetectLocal {
    #[default]
    ClusterCidr,
    NodeCidr,
    None,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProxyConfig {
    pub mode: ProxyMode,
    pub ipvs_scheduler: IpvsScheduler,
    pub node_port_addresses: NodePortAddresses,
    pub detect_local: DetectLocal,
    /// iptables mode: NodePorts also answer on 127.0.0.1 (`route_localnet`).
    pub localhost_node_ports: bool,
    pub masquerade_all: bool,
}

/// What `cluster.loadBalancer` says about LoadBalancer Services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LoadBalancerMode {
    /// Bare metal: LoadBalancer Services stay `<pending>`.
    #[default]
    None,
    /// A cloud: each gets an address from 198.51.100.0/24, in input order.
    Cloud,
}

/// The cluster's settings, the Scenario's with defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub seed: u64,
    pub cluster_cidr: Cidr,
    pub service_cidr: Cidr,
    pub node_port_range: (u16, u16),
    pub cluster_domain: String,
    pub load_balancer: LoadBalancerMode,
    pub proxy: ProxyConfig,
    /// Per link, in nanoseconds of virtual time.
    pub latency_ns: u64,
    /// Probability that a link loses a packet.
    pub loss: f64,
    /// `-n/--namespace`: where objects that name no namespace go, for what is loaded
    /// later (`apply` events, the fix search's re-loads) as for the input.
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimNode {
    pub name: String,
    /// The InternalIP.
    pub ip: Ipv4Addr,
    pub extra_ips: Vec<Ipv4Addr>,
    pub labels: BTreeMap<String, String>,
    pub pod_cidr: Cidr,
    /// False after a `nodeDown` event.
    pub up: bool,
    pub origin: Origin,
}

impl SimNode {
    /// Every address of the node, InternalIP first.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        std::iter::once(self.ip).chain(self.extra_ips.iter().copied())
    }
}

/// A host outside the cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct SimClient {
    pub name: String,
    pub ip: Ipv4Addr,
    pub dns_names: Vec<String>,
    pub origin: Origin,
}

/// What a listening socket is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bind {
    /// `0.0.0.0`: every address of the pod.
    Any,
    /// `127.0.0.1`: only from inside the pod.
    Loopback,
    /// One address.
    Ip(Ipv4Addr),
}

/// A listening socket of a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Socket {
    pub bind: Bind,
    pub port: u16,
    pub protocol: Protocol,
}

/// What decided a container's sockets (SCENARIO.md section 3), for the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenSource {
    /// The pod annotation `simctl/listen`.
    Annotation,
    /// simctl's table of well-known images; `detail` says what was read
    /// (`nginx listens on 80`, `-listen=:5678 from args`).
    Image { image: String, detail: String },
    /// The declared containerPorts and the ports its probes name.
    Declared,
    /// Nothing known: assumed to accept on any port traffic reaches it on.
    Assumed,
}

/// What a container listens on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    pub sockets: Vec<Socket>,
    pub source: ListenSource,
    /// The sockets among `sockets` taken on trust rather than known: declared ports
    /// (of an image simctl does not know, or trusted on evidence of a changed
    /// configuration). Two containers clashing on such a port are not called broken.
    pub assumed: Vec<Socket>,
}

impl Listen {
    /// Whether a connection to `port`/`protocol` on `dst` reaches a socket; `from_inside`
    /// is true for traffic from the pod itself (loopback binds accept only that).
    pub fn accepts(&self, dst: Ipv4Addr, port: u16, protocol: Protocol, from_inside: bool) -> bool {
        if self.source == ListenSource::Assumed {
            return true;
        }
        self.sockets.iter().any(|s| {
            s.port == port
                && s.protocol == protocol
                && match s.bind {
                    Bind::Any => true,
                    Bind::Loopback => from_inside,
                    Bind::Ip(ip) => ip == dst,
                }
        })
    }
}

/// A port a container declares (`containerPort`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredPort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
    pub host_port: Option<u16>,
    /// `hostIP`: the node address the hostPort is bound to (`None`: every address).
    pub host_ip: Option<Ipv4Addr>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimContainer {
    pub name: String,
    pub image: String,
    pub ports: Vec<DeclaredPort>,
    pub listen: Listen,
    /// The readinessProbe's port, when it has a TCP or HTTP one (resolved to a number).
    pub readiness_port: Option<u16>,
    /// A readinessProbe port name that none of the container's ports has: the kubelet's
    /// probe errors (`pkg/probe/util.go`, `findPortByName`), so it never succeeds.
    pub readiness_unresolved: Option<String>,
    /// What the startupProbe checks: `Ok(port)`, or `Err(name)` for a port name the
    /// container does not declare. Until it succeeds no other probe runs, so a pod whose
    /// startupProbe never succeeds is never Ready (the kubelet restarts the container).
    pub startup: Option<Result<u16, String>>,
    /// Where it sits in the pod spec: `containers[0]`, or `initContainers[1]` for a
    /// native sidecar.
    pub field: String,
    /// A native sidecar: an init container with `restartPolicy: Always`, started before
    /// the containers and running beside them.
    pub sidecar: bool,
    /// Set when the container cannot run: the port it binds is taken by another
    /// container of the pod (one network namespace), so it exits and the kubelet
    /// restarts it (CrashLoopBackOff).
    pub crash: Option<CrashLoop>,
}

/// Why a container crash-loops: `bind: address already in use`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashLoop {
    pub port: u16,
    pub protocol: Protocol,
    /// The container that holds the port (it started first).
    pub holder: String,
}

/// Why a pod is (not) ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// The annotation `simctl/ready: "false"`.
    AnnotatedNotReady,
    /// The readinessProbe aims at a port nothing listens on.
    ProbeFails {
        container: String,
        port: u16,
    },
    /// A probe (`readinessProbe` or `startupProbe`) names a port the container does not
    /// declare.
    ProbePortUnknown {
        container: String,
        probe: &'static str,
        name: String,
    },
    /// The startupProbe aims at a port nothing listens on: it never succeeds.
    StartupProbeFails {
        container: String,
        port: u16,
    },
    /// A container crash-loops: its port is taken by another container of the pod.
    CrashLoop {
        container: String,
        port: u16,
        holder: String,
    },
    /// A `setReady` event.
    SetByEvent {
        ready: bool,
        at_ns: u64,
    },
    /// Its node is down.
    NodeDown,
    /// A live Pod whose `Ready` condition is False in the input (the condition's message
    /// or reason): the kubelet said so ([`live`]).
    StatusNotReady {
        reason: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodPhase {
    Running,
    /// Deleted at `since_ns`; gone at `until_ns` (its grace period later).
    Terminating {
        since_ns: u64,
        until_ns: u64,
    },
    /// Gone: no endpoints, no address.
    Gone,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimPod {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub node: NodeId,
    pub ip: Ipv4Addr,
    pub host_network: bool,
    /// `dnsPolicy` and `dnsConfig` ([`resolv`]).
    pub dns: resolv::PodDns,
    pub containers: Vec<SimContainer>,
    pub ready: bool,
    pub readiness: Readiness,
    pub phase: PodPhase,
    pub termination_grace_ns: u64,
    pub origin: Origin,
    /// Where the pod spec sits in its origin object: `spec` for a Pod,
    /// `spec.template.spec` for a workload (for pointing at container fields).
    pub spec_path: String,
    /// The hostname / subdomain, for StatefulSet DNS (`web-0.web.ns.svc`).
    pub hostname: Option<String>,
    pub subdomain: Option<String>,
    /// The spec of a Pod object as last applied, for an update's validation (a pod's
    /// spec is mostly immutable); `None` for a controller's pods.
    pub applied_spec: Option<std::sync::Arc<k8s_openapi::api::core::v1::PodSpec>>,
    /// Its controller, when known from the input's ownerReferences ([`live`]); else
    /// [`pods::owner_of`] recovers it from the names and labels controllers give.
    pub owner: Option<pods::Owner>,
    /// A live Pod's `Ready` condition (ready, its reason), which decides its readiness.
    pub status_ready: Option<(bool, String)>,
}

impl SimPod {
    pub fn alive(&self) -> bool {
        self.phase != PodPhase::Gone
    }
    pub fn terminating(&self) -> bool {
        matches!(self.phase, PodPhase::Terminating { .. })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ServiceType {
    #[default]
    ClusterIp,
    NodePort,
    LoadBalancer,
    ExternalName,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIp => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
            ServiceType::ExternalName => "ExternalName",
        }
    }
}

/// A Service port's targetPort, after defaulting.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TargetPort {
    Number(u16),
    Name(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimServicePort {
    pub name: String,
    pub protocol: Protocol,
    pub port: u16,
    pub target: TargetPort,
    /// Allocated or given, for NodePort and LoadBalancer Services (unless
    /// allocateLoadBalancerNodePorts is false).
    pub node_port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimService {
    pub namespace: String,
    pub name: String,
    pub origin: Origin,
    pub type_: ServiceType,
    /// `None` for headless (`clusterIP: None`) and ExternalName Services.
    pub cluster_ip: Option<Ipv4Addr>,
    pub external_ips: Vec<Ipv4Addr>,
    /// status.loadBalancer.ingress, given or assigned (`cloud`); empty = `<pending>`.
    pub lb_ips: Vec<Ipv4Addr>,
    pub lb_source_ranges: Vec<Cidr>,
    pub ports: Vec<SimServicePort>,
    /// `None`: no selector (endpoints come from EndpointSlice/Endpoints objects).
    pub selector: Option<BTreeMap<String, String>>,
    pub external_traffic_local: bool,
    pub internal_traffic_local: bool,
    /// sessionAffinity ClientIP's timeout, in seconds.
    pub affinity_timeout_s: Option<u32>,
    pub health_check_node_port: Option<u16>,
    pub publish_not_ready: bool,
    pub external_name: Option<String>,
    /// False once deleted by an event.
    pub alive: bool,
    /// The manifest as last applied (defaulted, with its spans), for an update's
    /// three-way merge and validation ([`update`]); `None` for simctl's own Services.
    pub applied: Option<Box<crate::manifest::LoadedObject>>,
}

/// One endpoint of one Service port, as an EndpointSlice lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimEndpoint {
    /// The pod, when the address is a simulated pod's.
    pub pod: Option<PodId>,
    pub ip: Ipv4Addr,
    /// The port traffic is sent to (a named targetPort resolved for this pod).
    pub port: u16,
    pub node: Option<NodeId>,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
}

/// A NetworkPolicy, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct SimPolicy {
    pub namespace: String,
    pub name: String,
    pub origin: Origin,
    pub spec: NetworkPolicySpec,
    pub alive: bool,
}

/// Endpoints given by EndpointSlice or Endpoints objects (for Services without selectors).
#[derive(Clone, Debug, PartialEq)]
pub struct GivenEndpoints {
    pub namespace: String,
    /// The Service they belong to (`kubernetes.io/service-name`, or the Endpoints' name).
    pub service: String,
    pub origin: Origin,
    /// (port name, port, protocol) of each port listed.
    pub ports: Vec<(String, u16, Protocol)>,
    /// (address, ready, serving, terminating, nodeName).
    pub addresses: Vec<(Ipv4Addr, bool, bool, bool, Option<String>)>,
}

/// The whole simulated cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    pub config: Config,
    pub nodes: Vec<SimNode>,
    pub clients: Vec<SimClient>,
    /// Namespace name -> labels (with `kubernetes.io/metadata.name`, as the API server adds).
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    pub pods: Vec<SimPod>,
    pub services: Vec<SimService>,
    pub policies: Vec<SimPolicy>,
    pub given_endpoints: Vec<GivenEndpoints>,
    /// Addresses the input names, which no pod address allocation may hand out: given
    /// EndpointSlice and Endpoints addresses, Pods' `status.podIP`, traffic sources
    /// `from: {ip: ...}`, nodes' and clients' addresses ([`build::taken_addresses`]). A
    /// Pod whose own `status.podIP` it is keeps it.
    pub reserved: std::collections::BTreeSet<Ipv4Addr>,
    /// Every workload object (Deployment, ReplicaSet, StatefulSet, DaemonSet,
    /// ReplicationController) as loaded or applied, so its controller can make pods from
    /// its template later (a scale-up from zero replicas).
    pub workloads: Vec<(Origin, crate::manifest::LoadedObject)>,
    /// Problems the control plane found (allocation conflicts, ...).
    pub diagnostics: Vec<Diagnostic>,
}

impl Cluster {
    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// The live pod `namespace/name`.
    pub fn pod_by_name(&self, namespace: &str, name: &str) -> Option<PodId> {
        self.pods
            .iter()
            .position(|p| p.alive() && p.namespace == namespace && p.name == name)
    }

    /// The live pod with this IP (host-network pods excluded: they share the node's).
    pub fn pod_by_ip(&self, ip: Ipv4Addr) -> Option<PodId> {
        self.pods
            .iter()
            .position(|p| p.alive() && !p.host_network && p.ip == ip)
    }

    pub fn service_by_name(&self, namespace: &str, name: &str) -> Option<ServiceId> {
        self.services
            .iter()
            .position(|s| s.alive && s.namespace == namespace && s.name == name)
    }

    /// The node owning `ip` as one of its addresses.
    pub fn node_by_ip(&self, ip: Ipv4Addr) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|n| n.addresses().any(|a| a == ip))
    }

    /// The node whose podCIDR holds `ip`.
    pub fn node_for_pod_ip(&self, ip: Ipv4Addr) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.pod_cidr.contains(ip))
    }

    pub fn client_by_name(&self, name: &str) -> Option<ClientId> {
        self.clients.iter().position(|c| c.name == name)
    }

    pub fn client_by_ip(&self, ip: Ipv4Addr) -> Option<ClientId> {
        self.clients.iter().position(|c| c.ip == ip)
    }
}
