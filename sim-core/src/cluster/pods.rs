//! Pods: from Pod objects and from the workload controllers (Deployment -> ReplicaSet ->
//! pods, ReplicaSet, ReplicationController, StatefulSet, DaemonSet), scheduled, with an
//! address from their node's podCIDR.
//!
//! Names follow the controllers: a ReplicaSet's pods are `<rs>-<5 random chars>`
//! (`GenerateName`, `utilrand.String`), a Deployment's ReplicaSet is
//! `<deployment>-<pod-template-hash>` (`pkg/controller/deployment/sync.go`), a StatefulSet's
//! pods are `<name>-<ordinal>` (`pkg/controller/statefulset/stateful_set_utils.go`), a
//! DaemonSet's `<ds>-<5 random chars>`. The labels the controllers add are added too
//! (`pod-template-hash`, `controller-revision-hash`, `statefulset.kubernetes.io/pod-name`,
//! `apps.kubernetes.io/pod-index`, `pod-template-generation`); events use them to find a
//! pod's owner again (see [`owner_of`]).
//!
//! Addresses: host-local IPAM hands out the node's podCIDR from `.2` (`.1` is the
//! bridge), moving on from the last address handed out and skipping addresses in use,
//! as its round-robin allocation does. Host-network pods take their node's address.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::live;
use super::names;
use super::schedule;
use crate::cluster::listen;
use crate::cluster::{
    Cluster, DeclaredPort, NodeId, Origin, PodId, PodPhase, Readiness, SimContainer, SimPod,
};
use crate::diag::Diagnostic;
use crate::manifest::LoadedObject;
use crate::net::Protocol;
use crate::objects::Object;

/// The annotation that marks a pod not ready (SCENARIO.md section 3).
pub const READY_ANNOTATION: &str = "simctl/ready";

/// Most pods one workload may ask for ([`crate::limits::MAX_REPLICAS`]; the load refuses
/// larger asks, so the clamp below is never reached by valid input).
pub const MAX_REPLICAS: i32 = crate::limits::MAX_REPLICAS as i32;

/// Default `terminationGracePeriodSeconds`.
pub const DEFAULT_GRACE_S: i64 = 30;

/// Diagnostic codes of the control plane.
pub mod codes {
    /// No node can run the pod: it stays Pending (not simulated).
    pub const UNSCHEDULABLE: &str = "FailedScheduling";
    /// The node's podCIDR has no free address.
    pub const NO_POD_ADDRESS: &str = "FailedCreatePodSandBox";
    /// A workload asked for more replicas than simctl simulates.
    pub const TOO_MANY_REPLICAS: &str = "TooManyReplicas";
}

/// The kind of controller that owns a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerKind {
    /// A ReplicaSet (a Deployment's or a bare one) or a ReplicationController.
    ReplicaSet,
    StatefulSet,
    DaemonSet,
}

/// A pod's controller, as recovered from the pod (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub kind: OwnerKind,
    /// The ReplicaSet / ReplicationController / StatefulSet / DaemonSet name.
    pub name: String,
    /// The Deployment, for a Deployment's ReplicaSet.
    pub deployment: Option<String>,
}

/// The controller of a workload pod: the one the input's ownerReferences name
/// ([`super::live`]), else recovered from the names and labels a controller gives;
/// `None` for a pod made from a Pod object that no controller of the input owns.
pub fn owner_of(pod: &SimPod) -> Option<Owner> {
    if let Some(o) = &pod.owner {
        return Some(o.clone());
    }
    if pod.spec_path != "spec.template.spec" {
        return None;
    }
    let (base, _) = pod.name.rsplit_once('-')?;
    let kind = if pod
        .labels
        .get("statefulset.kubernetes.io/pod-name")
        .is_some_and(|n| *n == pod.name)
    {
        OwnerKind::StatefulSet
    } else if pod.labels.contains_key("pod-template-generation") {
        OwnerKind::DaemonSet
    } else {
        OwnerKind::ReplicaSet
    };
    let deployment = match (kind, pod.labels.get("pod-template-hash")) {
        (OwnerKind::ReplicaSet, Some(h)) => base
            .strip_suffix(h.as_str())
            .and_then(|d| d.strip_suffix('-'))
            .map(str::to_string),
        _ => None,
    };
    Some(Owner {
        kind,
        name: base.to_string(),
        deployment,
    })
}

/// A pod about to be created: everything but its node and address.
#[derive(Clone, Debug)]
pub struct NewPod {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub containers: Vec<SimContainer>,
    pub host_network: bool,
    pub dns: crate::cluster::resolv::PodDns,
    pub termination_grace_ns: u64,
    pub origin: Origin,
    pub spec_path: String,
    pub hostname: Option<String>,
    pub subdomain: Option<String>,
    /// The address the pod already has (a Pod's `status.podIP`), kept when it lies in
    /// its node's podCIDR and no other pod has it.
    pub ip: Option<Ipv4Addr>,
    /// A Pod object's spec (see [`SimPod::applied_spec`]).
    pub applied_spec: Option<std::sync::Arc<PodSpec>>,
    /// See [`SimPod::owner`].
    pub owner: Option<Owner>,
    /// See [`SimPod::status_ready`].
    pub status_ready: Option<(bool, String)>,
}

impl NewPod {
    /// From a pod's metadata and spec (a Pod object's, or a workload's template).
    pub fn from_spec(
        namespace: &str,
        name: String,
        meta: Option<&ObjectMeta>,
        spec: &PodSpec,
        origin: Origin,
        spec_path: &str,
    ) -> NewPod {
        let labels = meta.and_then(|m| m.labels.clone()).unwrap_or_default();
        let annotations = meta.and_then(|m| m.annotations.clone()).unwrap_or_default();
        let mut containers = containers_of(spec, &annotations);
        let host_network = spec.host_network.unwrap_or(false);
        if host_network {
            // The Pod a controller creates from a template gets `defaultHostNetworkPorts`
            // (pkg/apis/core/v1/defaults.go SetDefaults_Pod): with hostNetwork, a port's
            // hostPort is its containerPort. Templates themselves are no longer defaulted.
            for p in containers.iter_mut().flat_map(|c| c.ports.iter_mut()) {
                p.host_port.get_or_insert(p.port);
            }
        }
        let grace_s = spec
            .termination_grace_period_seconds
            .unwrap_or(DEFAULT_GRACE_S)
            .max(0);
        NewPod {
            namespace: namespace.to_string(),
            name,
            labels,
            annotations,
            containers,
            host_network,
            dns: crate::cluster::resolv::PodDns::from_spec(spec),
            termination_grace_ns: u64::try_from(grace_s)
                .unwrap_or(0)
                .saturating_mul(1_000_000_000),
            origin,
            spec_path: spec_path.to_string(),
            hostname: spec.hostname.clone().filter(|h| !h.is_empty()),
            subdomain: spec.subdomain.clone().filter(|s| !s.is_empty()),
            ip: None,
            applied_spec: None,
            owner: None,
            status_ready: None,
        }
    }

    /// A new pod like `pod` (its controller's template), named `name`.
    pub fn like(pod: &SimPod, name: String) -> NewPod {
        NewPod {
            namespace: pod.namespace.clone(),
            name,
            labels: pod.labels.clone(),
            annotations: pod.annotations.clone(),
            containers: pod.containers.clone(),
            host_network: pod.host_network,
            dns: pod.dns.clone(),
            termination_grace_ns: pod.termination_grace_ns,
            origin: pod.origin,
            spec_path: pod.spec_path.clone(),
            hostname: pod.hostname.clone(),
            subdomain: pod.subdomain.clone(),
            ip: None,
            applied_spec: None,
            owner: pod.owner.clone(),
            status_ready: None,
        }
    }
}

/// The containers of a pod spec, with what they really listen on: `containers` first
/// (so that index 0 stays the first of them), then the native sidecars
/// (`initContainers` with `restartPolicy: Always`, KEP-753), which share the pod's
/// network namespace like any container. Plain init containers have exited before the
/// pod runs: they listen on nothing and are left out.
pub fn containers_of(spec: &PodSpec, annotations: &BTreeMap<String, String>) -> Vec<SimContainer> {
    let main = spec
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| sim_container(c, annotations, i, format!("containers[{i}]"), false));
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .filter(|(_, c)| c.restart_policy.as_deref() == Some("Always"))
        .map(|(i, c)| {
            // `simctl/listen` alone means container 0; a sidecar needs its own key.
            sim_container(
                c,
                annotations,
                usize::MAX,
                format!("initContainers[{i}]"),
                true,
            )
        });
    let mut out: Vec<SimContainer> = main.chain(sidecars).collect();
    bind_in_start_order(&mut out);
    out
}

/// The kubelet starts native sidecars first, in order, then the containers in order
/// (`pkg/kubelet/kuberuntime`, `computeInitContainerActions` then the containers): each
/// binds its sockets in one network namespace. A container whose socket overlaps one
/// already bound (same port and protocol; `0.0.0.0` overlaps every address) fails with
/// `address already in use`, exits, and crash-loops. Only sockets simctl knows (an
/// annotation, the image table) are compared: a declared port is documentation and
/// proves no clash.
fn bind_in_start_order(containers: &mut [SimContainer]) {
    let mut order: Vec<usize> = (0..containers.len())
        .filter(|&i| containers[i].sidecar)
        .collect();
    order.extend((0..containers.len()).filter(|&i| !containers[i].sidecar));
    let mut bound: Vec<(crate::cluster::Socket, usize)> = Vec::new();
    for i in order {
        let known: Vec<crate::cluster::Socket> = containers[i]
            .listen
            .sockets
            .iter()
            .filter(|s| !containers[i].listen.assumed.contains(s))
            .copied()
            .collect();
        let clash = known.iter().find_map(|s| {
            bound
                .iter()
                .find(|(b, _)| overlaps(b, s))
                .map(|(_, holder)| (*s, *holder))
        });
        match clash {
            Some((s, holder)) => {
                containers[i].crash = Some(crate::cluster::CrashLoop {
                    port: s.port,
                    protocol: s.protocol,
                    holder: containers[holder].name.clone(),
                });
            }
            None => bound.extend(known.into_iter().map(|s| (s, i))),
        }
    }
}

/// Two binds that the kernel refuses side by side (without SO_REUSEPORT).
fn overlaps(a: &crate::cluster::Socket, b: &crate::cluster::Socket) -> bool {
    use crate::cluster::Bind;
    a.port == b.port
        && a.protocol == b.protocol
        && match (a.bind, b.bind) {
            (Bind::Any, _) | (_, Bind::Any) => true,
            (x, y) => x == y,
        }
}

fn sim_container(
    c: &k8s_openapi::api::core::v1::Container,
    annotations: &BTreeMap<String, String>,
    index: usize,
    field: String,
    sidecar: bool,
) -> SimContainer {
    SimContainer {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        ports: c
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                Some(DeclaredPort {
                    name: p.name.clone().filter(|n| !n.is_empty()),
                    port: u16::try_from(p.container_port).ok()?,
                    protocol: p
                        .protocol
                        .as_deref()
                        .and_then(Protocol::parse)
                        .unwrap_or_default(),
                    host_port: p
                        .host_port
                        .and_then(|h| u16::try_from(h).ok())
                        .filter(|h| *h > 0),
                    host_ip: p
                        .host_ip
                        .as_deref()
                        .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
                        .filter(|ip| !ip.is_unspecified()),
                })
            })
            .collect(),
        listen: listen::listen(c, annotations, index),
        readiness_port: listen::readiness_port(c),
        readiness_unresolved: listen::readiness_unresolved(c),
        startup: listen::startup_target(c),
        field,
        sidecar,
        crash: None,
    }
}

/// Whether a probe of `podIP:port` finds a socket: the kubelet probes the pod's address,
/// so any running container of the pod may answer (one network namespace).
fn probe_answered(pod: &SimPod, port: u16) -> bool {
    pod.containers
        .iter()
        .any(|k| k.crash.is_none() && k.listen.accepts(pod.ip, port, Protocol::Tcp, false))
}

/// Readiness as the pod's own definition makes it (SCENARIO.md section 3): the annotation,
/// a container that crash-loops, probes that cannot succeed (a startupProbe or
/// readinessProbe on a port no container of the pod listens on, or naming a port the
/// container does not declare), else Ready.
pub fn base_readiness(pod: &SimPod) -> Readiness {
    if pod
        .annotations
        .get(READY_ANNOTATION)
        .is_some_and(|v| v.eq_ignore_ascii_case("false"))
    {
        return Readiness::AnnotatedNotReady;
    }
    // A live pod's Ready condition is what the kubelet saw: it decides.
    match &pod.status_ready {
        Some((true, _)) => return Readiness::Ready,
        Some((false, reason)) => {
            return Readiness::StatusNotReady {
                reason: reason.clone(),
            };
        }
        None => {}
    }
    for c in &pod.containers {
        if let Some(crash) = &c.crash {
            return Readiness::CrashLoop {
                container: c.name.clone(),
                port: crash.port,
                holder: crash.holder.clone(),
            };
        }
    }
    // The startupProbe runs first; readiness is probed only once it has succeeded
    // (pkg/kubelet/prober/worker.go).
    for c in &pod.containers {
        match &c.startup {
            Some(Err(name)) => {
                return Readiness::ProbePortUnknown {
                    container: c.name.clone(),
                    probe: "startupProbe",
                    name: name.clone(),
                };
            }
            Some(Ok(port)) if !probe_answered(pod, *port) => {
                return Readiness::StartupProbeFails {
                    container: c.name.clone(),
                    port: *port,
                };
            }
            _ => {}
        }
    }
    for c in &pod.containers {
        if let Some(name) = &c.readiness_unresolved {
            return Readiness::ProbePortUnknown {
                container: c.name.clone(),
                probe: "readinessProbe",
                name: name.clone(),
            };
        }
        if let Some(port) = c.readiness_port
            && !probe_answered(pod, port)
        {
            return Readiness::ProbeFails {
                container: c.name.clone(),
                port,
            };
        }
    }
    Readiness::Ready
}

/// A Pod's `status.podIP` and `status.podIPs` (IPv4).
pub fn status_ips(p: &k8s_openapi::api::core::v1::Pod) -> Vec<Ipv4Addr> {
    let Some(st) = p.status.as_ref() else {
        return Vec::new();
    };
    let mut v: Vec<Ipv4Addr> = st
        .pod_ip
        .iter()
        .chain(st.pod_ips.iter().flatten().map(|i| &i.ip))
        .filter_map(|s| s.parse().ok())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Whether a live pod (not on the host network) has `ip`.
fn ip_in_use(cluster: &Cluster, ip: Ipv4Addr) -> bool {
    cluster
        .pods
        .iter()
        .any(|p| p.alive() && !p.host_network && p.ip == ip)
}

/// The next free address of the node's podCIDR, after the last one handed out there:
/// free means no live pod has it and the input does not name it ([`Cluster::reserved`]).
pub fn next_pod_ip(cluster: &Cluster, node: NodeId) -> Option<Ipv4Addr> {
    let cidr = cluster.nodes.get(node)?.pod_cidr;
    let size = cidr.size();
    if size < 4 {
        return None;
    }
    // Usable: .2 .. broadcast-1.
    let (first, last) = (2u64, size - 2);
    if first > last {
        return None;
    }
    let in_use = |ip: Ipv4Addr| cluster.reserved.contains(&ip) || ip_in_use(cluster, ip);
    let last_given = cluster
        .pods
        .iter()
        .rev()
        .filter(|p| !p.host_network)
        .find_map(|p| cidr.offset_of(p.ip))
        .filter(|o| (first..=last).contains(o));
    let start = last_given.map_or(first, |o| if o >= last { first } else { o + 1 });
    let span = last - first + 1;
    (0..span)
        .map(|i| first + (start - first + i) % span)
        .filter_map(|o| cidr.nth(o))
        .find(|ip| !in_use(*ip))
}

/// An address of the node's podCIDR nobody has and the input does not name, from the
/// top down: where a probe standing for "a pod on this node" sends from.
pub fn unused_pod_address(cluster: &Cluster, node: NodeId) -> Option<Ipv4Addr> {
    let cidr = cluster.nodes.get(node)?.pod_cidr;
    let size = cidr.size();
    (2..size.saturating_sub(1))
        .rev()
        .filter_map(|o| cidr.nth(o))
        .find(|ip| !cluster.reserved.contains(ip) && !ip_in_use(cluster, *ip))
}

/// The pod's own address when it keeps it: a `status.podIP` in its node's podCIDR that
/// no live pod has.
fn own_address(cluster: &Cluster, new: &NewPod, node: NodeId) -> Option<Ipv4Addr> {
    let ip = new.ip?;
    let cidr = cluster.nodes.get(node)?.pod_cidr;
    (cidr.contains(ip) && !ip_in_use(cluster, ip)).then_some(ip)
}

/// Put a pod on `node`: address, readiness, into the arena.
pub fn place(cluster: &mut Cluster, new: NewPod, node: NodeId) -> Result<PodId, Box<Diagnostic>> {
    let ip = if new.host_network {
        cluster.nodes.get(node).map(|n| n.ip)
    } else {
        own_address(cluster, &new, node).or_else(|| next_pod_ip(cluster, node))
    };
    if let (Some(asked), Some(got)) = (new.ip.filter(|_| !new.host_network), ip)
        && asked != got
    {
        let why = if ip_in_use(cluster, asked) {
            "another pod already has it"
        } else {
            "it is outside the podCIDR of the node the pod runs on"
        };
        cluster.diagnostics.push(
            Diagnostic::warning(
                super::build::codes::DUPLICATE_ADDRESS,
                format!(
                    "pod {}/{} keeps not its status.podIP {asked}: {why}; it gets {got}",
                    new.namespace, new.name
                ),
            )
            .field("status.podIP"),
        );
    }
    let Some(ip) = ip else {
        let (node_name, cidr) = cluster
            .nodes
            .get(node)
            .map(|n| (n.name.clone(), n.pod_cidr.to_string()))
            .unwrap_or_default();
        return Err(Box::new(Diagnostic::warning(
            codes::NO_POD_ADDRESS,
            format!(
                "pod {}/{} cannot start on node {node_name}: no free address left in its podCIDR {cidr}",
                new.namespace, new.name
            ),
        )));
    };
    let node_up = cluster.nodes.get(node).is_some_and(|n| n.up);
    let mut pod = SimPod {
        namespace: new.namespace,
        name: new.name,
        labels: new.labels,
        annotations: new.annotations,
        node,
        ip,
        host_network: new.host_network,
        dns: new.dns,
        containers: new.containers,
        ready: false,
        readiness: Readiness::Ready,
        phase: PodPhase::Running,
        termination_grace_ns: new.termination_grace_ns,
        origin: new.origin,
        spec_path: new.spec_path,
        hostname: new.hostname,
        subdomain: new.subdomain,
        applied_spec: new.applied_spec,
        owner: new.owner,
        status_ready: new.status_ready,
    };
    pod.readiness = if node_up {
        base_readiness(&pod)
    } else {
        Readiness::NodeDown
    };
    pod.ready = pod.readiness == Readiness::Ready;
    cluster.pods.push(pod);
    Ok(cluster.pods.len() - 1)
}

/// Schedule and place a pod made from `spec`; a pod no node can take is reported and
/// left out (it would stay Pending: no address, no endpoints).
pub fn schedule_and_place(
    cluster: &mut Cluster,
    new: NewPod,
    spec: &PodSpec,
    obj: Option<&LoadedObject>,
) -> Result<PodId, Box<Diagnostic>> {
    let want = schedule::host_ports(&new.containers);
    let node = match schedule::choose_node(cluster, spec, &want) {
        Ok(n) => n,
        Err(why) => return Err(Box::new(no_node(cluster, &new, spec, &want, &why, obj))),
    };
    let mut d = place(cluster, new, node);
    if let (Err(diag), Some(o)) = (&mut d, obj) {
        diag.span = Some(o.node.span);
    }
    d
}

/// The diagnostic of a pod that does not run, at the field that decided it.
fn no_node(
    cluster: &Cluster,
    new: &NewPod,
    spec: &PodSpec,
    want: &[schedule::HostPort],
    why: &schedule::NoNode,
    obj: Option<&LoadedObject>,
) -> Diagnostic {
    let state = match why {
        schedule::NoNode::Pending { .. } => "stays Pending",
        schedule::NoNode::Rejected { .. } => "is rejected by the kubelet (Failed)",
    };
    let owner = match obj.map(|o| &o.object) {
        Some(Object::Pod(_)) | None => String::new(),
        Some(o) => format!("{} {}: ", o.kind(), o.name()),
    };
    let mut d = Diagnostic::warning(
        codes::UNSCHEDULABLE,
        format!(
            "{owner}pod {}/{} {state}: {}",
            new.namespace,
            new.name,
            why.message()
        ),
    );
    let field = if why.ports() {
        d = d.help("a hostPort (and every port of a hostNetwork pod) can be held by one pod per node: the others stay Pending and are no endpoints; expose the pods with a Service (a NodePort answers on every node) instead, or run no more replicas than nodes");
        // The first port that collided: its hostPort, or hostNetwork when defaulting
        // gave it (a hostNetwork pod's ports).
        let taken = |w: &&schedule::HostPort| {
            (0..cluster.nodes.len())
                .any(|n| schedule::port_taken(cluster, n, std::slice::from_ref(*w)).is_some())
        };
        let (ci, pi) = want
            .iter()
            .find(taken)
            .or(want.first())
            .map_or((0, 0), |w| w.at);
        let written = spec
            .containers
            .get(ci)
            .and_then(|c| c.ports.as_ref()?.get(pi))
            .is_some_and(|p| p.host_port.is_some_and(|h| h > 0));
        if written || !new.host_network {
            format!("{}.containers[{ci}].ports[{pi}].hostPort", new.spec_path)
        } else {
            format!("{}.hostNetwork", new.spec_path)
        }
    } else {
        d = d.help("a Pending pod has no address and is no endpoint; check nodeName, nodeSelector and affinity against the nodes' names and labels");
        if spec.node_name.is_some() {
            format!("{}.nodeName", new.spec_path)
        } else if spec.node_selector.is_some() {
            format!("{}.nodeSelector", new.spec_path)
        } else {
            format!("{}.affinity", new.spec_path)
        }
    };
    if let Some(o) = obj {
        d = d.at(o.locate(&field)).field(field);
    }
    d
}

/// How many pods this owner ever had in the arena (the index of its next name).
fn owner_pod_count(cluster: &Cluster, namespace: &str, owner: &str) -> u64 {
    cluster
        .pods
        .iter()
        .filter(|p| {
            p.namespace == namespace && p.name.rsplit_once('-').is_some_and(|(b, _)| b == owner)
        })
        .count() as u64
}

/// A fresh `<owner>-xxxxx` name, stable for the seed, unused by any live pod.
pub fn fresh_name(cluster: &Cluster, namespace: &str, owner: &str) -> String {
    let mut k = owner_pod_count(cluster, namespace, owner);
    for _ in 0..64 {
        let name = names::generated_pod_name(cluster.config.seed, namespace, owner, k);
        if cluster.pod_by_name(namespace, &name).is_none() {
            return name;
        }
        k += 1;
    }
    format!("{owner}-{k}")
}

fn template_parts(t: Option<&PodTemplateSpec>) -> (Option<&ObjectMeta>, PodSpec) {
    (
        t.and_then(|t| t.metadata.as_ref()),
        t.and_then(|t| t.spec.clone()).unwrap_or_default(),
    )
}

fn replicas(cluster: &mut Cluster, obj: &LoadedObject, asked: Option<i32>) -> usize {
    let n = asked.unwrap_or(1).max(0);
    if n > MAX_REPLICAS {
        cluster.diagnostics.push(
            Diagnostic::warning(
                codes::TOO_MANY_REPLICAS,
                format!(
                    "{} {} asks for {n} replicas; simctl simulates at most {MAX_REPLICAS}",
                    obj.object.kind(),
                    obj.object.name()
                ),
            )
            .at(obj.locate("spec.replicas"))
            .field("spec.replicas"),
        );
    }
    usize::try_from(n.min(MAX_REPLICAS)).unwrap_or(0)
}

/// The `pod-template-hash` of a template.
pub fn hash_of(template: &PodTemplateSpec) -> String {
    names::template_hash(&serde_json::to_string(template).unwrap_or_default())
}

/// Create the pods an object stands for (a Pod, or a workload's replicas); problems go
/// to `cluster.diagnostics`. Returns the pods made.
pub fn create_from_object(cluster: &mut Cluster, obj: &LoadedObject, origin: Origin) -> Vec<PodId> {
    create_claimed(cluster, obj, origin, &live::Claims::default())
}

/// [`create_from_object`], for objects of which `claims` says who owns what: a live Pod
/// joins its controller, and a controller makes only the pods it lacks ([`live`]).
pub fn create_claimed(
    cluster: &mut Cluster,
    obj: &LoadedObject,
    origin: Origin,
    claims: &live::Claims,
) -> Vec<PodId> {
    let ns = obj.object.namespace().unwrap_or("default").to_string();
    let name = obj.object.name().to_string();
    let workload_origin = match origin {
        Origin::Object(i) => Origin::Workload(i),
        o => o,
    };
    if !matches!(obj.object, Object::Pod(_)) {
        // Remember the workload (the latest definition wins) for later scale-ups.
        let kind = obj.object.kind();
        cluster.workloads.retain(|(_, w)| {
            !(w.object.kind() == kind
                && w.object.namespace() == obj.object.namespace()
                && w.object.name() == name)
        });
        cluster.workloads.push((origin, obj.clone()));
    }
    let mut made = Vec::new();
    let mut push = |cluster: &mut Cluster, r: Result<PodId, Box<Diagnostic>>| match r {
        Ok(id) => made.push(id),
        Err(d) => cluster.diagnostics.push(*d),
    };
    match &obj.object {
        Object::Pod(p) => {
            let status = live::pod_status(p);
            if let Some(d) = live::not_running_note(&ns, &name, &status) {
                cluster.diagnostics.push(d.at(obj.locate("status.phase")));
                return made;
            }
            let spec = p.spec.clone().unwrap_or_default();
            let mut new = NewPod::from_spec(&ns, name, Some(&p.metadata), &spec, origin, "spec");
            new.ip = status_ips(p).first().copied();
            new.applied_spec = Some(std::sync::Arc::new(spec.clone()));
            new.owner = claims.owner_of_pod(origin).cloned();
            if let live::PodStatus::Running { ready: Some(r) } = status {
                new.status_ready = Some(r);
            }
            let r = schedule_and_place(cluster, new, &spec, Some(obj));
            // Being deleted in the input: Terminating from the start, for what is left
            // of its grace period (all of it: the dump does not say how much went by).
            if let (Ok(id), Some(_)) = (&r, &p.metadata.deletion_timestamp)
                && let Some(pod) = cluster.pods.get_mut(*id)
            {
                let grace_ns = p
                    .metadata
                    .deletion_grace_period_seconds
                    .and_then(|s| u64::try_from(s).ok())
                    .map_or(pod.termination_grace_ns, |s| {
                        s.saturating_mul(1_000_000_000)
                    });
                pod.phase = if grace_ns == 0 {
                    PodPhase::Gone
                } else {
                    PodPhase::Terminating {
                        since_ns: 0,
                        until_ns: grace_ns,
                    }
                };
            }
            push(cluster, r);
        }
        Object::Deployment(d) => {
            let Some(dspec) = d.spec.as_ref() else {
                return made;
            };
            if claims.deployment_has_replica_set(&ns, &name) {
                return made; // Its ReplicaSets of the input make the pods.
            }
            let hash = hash_of(&dspec.template);
            let rs = format!("{name}-{hash}");
            let n = replicas(cluster, obj, dspec.replicas);
            let (meta, spec) = template_parts(Some(&dspec.template));
            for _ in 0..n {
                let pod_name = fresh_name(cluster, &ns, &rs);
                let mut new = NewPod::from_spec(
                    &ns,
                    pod_name,
                    meta,
                    &spec,
                    workload_origin,
                    "spec.template.spec",
                );
                new.labels.insert("pod-template-hash".into(), hash.clone());
                let r = schedule_and_place(cluster, new, &spec, Some(obj));
                push(cluster, r);
            }
        }
        // A bare ReplicaSet and a ReplicationController make their pods the same way.
        Object::ReplicaSet(_) | Object::ReplicationController(_) => {
            let (asked, template) = match &obj.object {
                Object::ReplicaSet(r) => match r.spec.as_ref() {
                    Some(s) => (s.replicas, s.template.as_ref()),
                    None => return made,
                },
                Object::ReplicationController(r) => match r.spec.as_ref() {
                    Some(s) => (s.replicas, s.template.as_ref()),
                    None => return made,
                },
                _ => return made,
            };
            let kind = obj.object.kind();
            let have = claims.claimed(&ns, kind, &name).len();
            let n = replicas(cluster, obj, asked).saturating_sub(have);
            let owner = Owner {
                kind: OwnerKind::ReplicaSet,
                name: name.clone(),
                deployment: claims.deployment_of(&ns, &name).map(str::to_string),
            };
            let (meta, spec) = template_parts(template);
            for _ in 0..n {
                let pod_name = fresh_name(cluster, &ns, &name);
                let mut new = NewPod::from_spec(
                    &ns,
                    pod_name,
                    meta,
                    &spec,
                    workload_origin,
                    "spec.template.spec",
                );
                new.owner = Some(owner.clone());
                let r = schedule_and_place(cluster, new, &spec, Some(obj));
                push(cluster, r);
            }
        }
        Object::StatefulSet(s) => {
            let Some(sspec) = s.spec.as_ref() else {
                return made;
            };
            let n = replicas(cluster, obj, sspec.replicas);
            let revision = format!("{name}-{}", hash_of(&sspec.template));
            let (meta, spec) = template_parts(Some(&sspec.template));
            let service = sspec.service_name.clone().filter(|s| !s.is_empty());
            let have: Vec<usize> = claims
                .claimed(&ns, "StatefulSet", &name)
                .iter()
                .filter_map(|c| live::ordinal_of(&c.name, &name))
                .collect();
            for i in (0..n).filter(|i| !have.contains(i)) {
                let pod_name = format!("{name}-{i}");
                let mut new = NewPod::from_spec(
                    &ns,
                    pod_name.clone(),
                    meta,
                    &spec,
                    workload_origin,
                    "spec.template.spec",
                );
                // stateful_set_utils.go: identity (hostname, subdomain) and labels.
                new.hostname = Some(pod_name.clone());
                new.subdomain = service.clone();
                new.labels
                    .insert("controller-revision-hash".into(), revision.clone());
                new.labels
                    .insert("statefulset.kubernetes.io/pod-name".into(), pod_name);
                new.labels
                    .insert("apps.kubernetes.io/pod-index".into(), i.to_string());
                let r = schedule_and_place(cluster, new, &spec, Some(obj));
                push(cluster, r);
            }
        }
        Object::DaemonSet(d) => {
            let Some(dspec) = d.spec.as_ref() else {
                return made;
            };
            let hash = hash_of(&dspec.template);
            let (meta, spec) = template_parts(Some(&dspec.template));
            // One pod per node that passes the pod's node selection; the DaemonSet
            // controller does not spread, it pins each pod to its node.
            let have: Vec<String> = claims
                .claimed(&ns, "DaemonSet", &name)
                .iter()
                .filter_map(|c| c.node.clone())
                .collect();
            for node in 0..cluster.nodes.len() {
                if !schedule::fits(&cluster.nodes[node], &spec)
                    || have.contains(&cluster.nodes[node].name)
                {
                    continue;
                }
                let pod_name = fresh_name(cluster, &ns, &name);
                let mut new = NewPod::from_spec(
                    &ns,
                    pod_name,
                    meta,
                    &spec,
                    workload_origin,
                    "spec.template.spec",
                );
                new.labels
                    .insert("controller-revision-hash".into(), hash.clone());
                new.labels
                    .insert("pod-template-generation".into(), "1".into());
                // The default scheduler binds the pod to its node, NodePorts included.
                let want = schedule::host_ports(&new.containers);
                if let Some(why) = schedule::daemon_misfit(cluster, node, &want) {
                    let d = no_node(cluster, &new, &spec, &want, &why, Some(obj));
                    cluster.diagnostics.push(d);
                    continue;
                }
                let r = place(cluster, new, node);
                push(cluster, r);
            }
        }
        _ => {}
    }
    made
}
