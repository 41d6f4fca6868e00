//! Services: from the object to [`SimService`], with the allocations the API server makes
//! on create (`allocateCreate` in `pkg/registry/core/service/storage/alloc.go`):
//! ClusterIPs, NodePorts (`initNodePorts`), the health-check NodePort of an
//! externalTrafficPolicy Local LoadBalancer (`allocHealthCheckNodePort`), and the
//! load-balancer address a cloud controller would give.
//!
//! Order: stream order is apply order. `kubectl apply -f` sends the objects one by one,
//! in the order of the stream, and the API server allocates each Service whole before
//! the next arrives: its ClusterIP (requested or the next free one), then its ports in
//! order (a requested nodePort is reserved, an unset one takes `AllocateNext` there and
//! then), then its healthCheckNodePort. An automatic NodePort an earlier Service took
//! therefore makes a later Service's request for that port fail with `provided port is
//! already allocated`; the static band of the range (below `dynamic_start`, which
//! automatic allocation tries last) is what keeps that rare. A refused Service releases
//! what it had reserved (the transaction's revert) and is not created.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::alloc::{IpAllocator, PortAllocator, RANGE_FULL};
use super::names;
use crate::cluster::{
    Cluster, LoadBalancerMode, Origin, ServiceId, ServiceType, SimService, SimServicePort,
    TargetPort,
};
use crate::diag::{Diagnostic, Severity};
use crate::manifest::LoadedObject;
use crate::net::{Cidr, Protocol};
use crate::objects::Object;
use crate::validation::field::{BadValue, FieldError, Path, go_quote};
use crate::validation::meta::go_string_slice;

/// Diagnostic codes of this module.
pub mod codes {
    /// A Service written for a dual-stack or IPv6 cluster (simctl's is IPv4 only).
    pub const SINGLE_STACK: &str = "SingleStackCluster";
}

/// Where a cloud's load balancers get their addresses (SCENARIO.md section 2).
pub const CLOUD_LB_POOL: &str = "198.51.100.0/24";

/// Default `sessionAffinityConfig.clientIP.timeoutSeconds` (3 hours).
pub const DEFAULT_AFFINITY_TIMEOUT_S: u32 = 10800;

/// The allocators, holding what the live Services use.
#[derive(Clone, Debug)]
pub struct Allocators {
    pub ips: IpAllocator,
    pub ports: PortAllocator,
}

impl Allocators {
    pub fn new(service_cidr: Cidr, node_port_range: (u16, u16)) -> Allocators {
        Allocators {
            ips: IpAllocator::new(service_cidr),
            ports: PortAllocator::new(node_port_range),
        }
    }

    /// The allocators of the cluster's live Services, except `except`.
    pub fn from_cluster(cluster: &Cluster, except: Option<ServiceId>) -> Allocators {
        let mut a = Allocators::new(cluster.config.service_cidr, cluster.config.node_port_range);
        for (id, s) in cluster.services.iter().enumerate() {
            if !s.alive || Some(id) == except {
                continue;
            }
            if let Some(ip) = s.cluster_ip {
                let _ = a.ips.allocate(ip);
            }
            for p in &s.ports {
                if let Some(np) = p.node_port {
                    let _ = a.ports.allocate(np);
                }
            }
            if let Some(hc) = s.health_check_node_port {
                let _ = a.ports.allocate(hc);
            }
        }
        a
    }
}

fn spec_of(svc: &Service) -> ServiceSpec {
    svc.spec.clone().unwrap_or_default()
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// `shouldAllocateNodePorts`: NodePort always, LoadBalancer unless
/// `allocateLoadBalancerNodePorts: false`.
fn should_allocate_node_ports(spec: &ServiceSpec) -> bool {
    match s(&spec.type_) {
        "NodePort" => true,
        "LoadBalancer" => spec.allocate_load_balancer_node_ports.unwrap_or(true),
        _ => false,
    }
}

/// `apiservice.NeedsHealthCheck`.
pub fn needs_health_check(spec: &ServiceSpec) -> bool {
    s(&spec.type_) == "LoadBalancer" && s(&spec.external_traffic_policy) == "Local"
}

/// The Service as the data plane sees it, before allocation.
pub fn sim_service(svc: &Service, origin: Origin) -> SimService {
    let spec = spec_of(svc);
    let type_ = match s(&spec.type_) {
        "NodePort" => ServiceType::NodePort,
        "LoadBalancer" => ServiceType::LoadBalancer,
        "ExternalName" => ServiceType::ExternalName,
        _ => ServiceType::ClusterIp,
    };
    let ports = spec
        .ports
        .iter()
        .flatten()
        .map(|p| {
            let port = u16::try_from(p.port).unwrap_or(0);
            SimServicePort {
                name: p.name.clone().unwrap_or_default(),
                protocol: p
                    .protocol
                    .as_deref()
                    .and_then(Protocol::parse)
                    .unwrap_or_default(),
                port,
                target: match &p.target_port {
                    Some(IntOrString::Int(n)) => {
                        TargetPort::Number(u16::try_from(*n).unwrap_or(port))
                    }
                    Some(IntOrString::String(name)) => TargetPort::Name(name.clone()),
                    None => TargetPort::Number(port),
                },
                node_port: None,
            }
        })
        .collect();
    // An empty selector is no selector: the API server stores objects as protobuf, where
    // an empty map reads back as nil, and the EndpointSlice controller skips nil.
    let selector = spec.selector.clone().filter(|m| !m.is_empty());
    let affinity_timeout_s = (s(&spec.session_affinity) == "ClientIP").then(|| {
        spec.session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or(DEFAULT_AFFINITY_TIMEOUT_S)
    });
    let lb_ips = if type_ == ServiceType::LoadBalancer {
        given_ingress(svc)
    } else {
        Vec::new()
    };
    SimService {
        namespace: svc
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        name: svc.metadata.name.clone().unwrap_or_default(),
        origin,
        type_,
        cluster_ip: None,
        external_ips: spec
            .external_ips
            .iter()
            .flatten()
            .filter_map(|ip| ip.parse().ok())
            .collect(),
        lb_ips,
        lb_source_ranges: spec
            .load_balancer_source_ranges
            .iter()
            .flatten()
            .filter_map(|c| Cidr::parse(c))
            .collect(),
        ports,
        selector,
        external_traffic_local: s(&spec.external_traffic_policy) == "Local",
        internal_traffic_local: s(&spec.internal_traffic_policy) == "Local",
        affinity_timeout_s,
        health_check_node_port: None,
        publish_not_ready: spec.publish_not_ready_addresses.unwrap_or(false),
        external_name: (type_ == ServiceType::ExternalName)
            .then(|| spec.external_name.clone())
            .flatten(),
        alive: true,
        applied: None,
    }
}

/// `status.loadBalancer.ingress[*].ip` as given (IPv4 only).
fn given_ingress(svc: &Service) -> Vec<Ipv4Addr> {
    svc.status
        .as_ref()
        .and_then(|st| st.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.as_deref().and_then(|ip| ip.parse().ok()))
        .collect()
}

/// One Service in the middle of allocation.
struct Pending<'a> {
    obj: &'a LoadedObject,
    spec: ServiceSpec,
    sim: SimService,
    /// Reserved so far (released if the Service is refused).
    ips: Vec<Ipv4Addr>,
    ports: Vec<u16>,
    /// What simctl simulates differently from the input, said once the Service exists.
    notes: Vec<Diagnostic>,
}

impl Pending<'_> {
    /// Undo what was reserved: the Go transaction's `Revert`.
    fn release(&mut self, alloc: &mut Allocators) {
        for ip in self.ips.drain(..) {
            alloc.ips.release(ip);
        }
        for p in self.ports.drain(..) {
            alloc.ports.release(p);
        }
    }

    /// `The Service "b" is invalid: <field>: <body>`, at the field.
    fn invalid(&self, err: FieldError) -> Box<Diagnostic> {
        // `spec.clusterIPs` is what the API server names; users mostly write `clusterIP`.
        let (mut span, exact) = self.obj.node.locate(&err.field);
        if !exact && err.field.starts_with("spec.clusterIPs") {
            span = self.obj.locate("spec.clusterIP");
        }
        Box::new(
            Diagnostic::error(
                err.kind.reason(),
                format!("The Service {} is invalid: {err}", go_quote(&self.sim.name)),
            )
            .at(span)
            .field(err.field.clone())
            .label(err.body()),
        )
    }

    /// `Internal error occurred: <msg>` (what the API server returns when an automatic
    /// allocation fails), pointing at `field`.
    fn internal(&self, field: &str, msg: String) -> Box<Diagnostic> {
        Box::new(
            Diagnostic::new(
                Severity::Error,
                "InternalError",
                format!("Internal error occurred: {msg}"),
            )
            .at(self.obj.locate(field))
            .field(field)
            .label(msg)
            .help(format!(
                "the Service {} was not created",
                go_quote(&self.sim.name)
            )),
        )
    }

    fn cluster_ips(&self) -> Vec<String> {
        match (&self.spec.cluster_ips, &self.spec.cluster_ip) {
            (Some(ips), _) if !ips.is_empty() => ips.clone(),
            (_, Some(ip)) if !ip.is_empty() => vec![ip.clone()],
            _ => Vec::new(),
        }
    }

    fn cluster_ips_field(&self) -> Path {
        Path::new("spec").child("clusterIPs")
    }

    /// `allocateCreate`: ClusterIPs, then NodePorts, then the health-check NodePort, each
    /// requested value reserved and each unset one allocated at its turn. `Err` refuses
    /// the Service (the caller releases what was reserved).
    fn allocate(&mut self, alloc: &mut Allocators, seed: u64) -> Result<(), Box<Diagnostic>> {
        let type_ = s(&self.spec.type_).to_string();
        if type_ != "ExternalName" {
            self.single_stack()?;
            self.alloc_cluster_ip(alloc, seed)?;
        }
        let mut rng = names::rng_for(seed, &["node-port", &self.sim.namespace, &self.sim.name]);
        if type_ == "NodePort" || type_ == "LoadBalancer" {
            self.init_node_ports(alloc, &mut rng)?;
        }
        if needs_health_check(&self.spec) {
            self.alloc_health_check_node_port(alloc, &mut rng)?;
        }
        Ok(())
    }

    /// `allocClusterIPs`: the requested address, or the next free one; none for a
    /// headless Service.
    fn alloc_cluster_ip(
        &mut self,
        alloc: &mut Allocators,
        seed: u64,
    ) -> Result<(), Box<Diagnostic>> {
        let ips = self.cluster_ips();
        match ips.first() {
            Some(first) if first == "None" => Ok(()),
            Some(first) => {
                // Validation has checked the syntax; IPv6 is left out by single_stack.
                let ip: Ipv4Addr = first.parse().map_err(|_| {
                    self.invalid(FieldError::invalid(
                        &self.cluster_ips_field().index(0),
                        first.as_str(),
                        "must be a valid IP address",
                    ))
                })?;
                if let Err(e) = alloc.ips.allocate(ip) {
                    return Err(self.invalid(FieldError::invalid(
                        &self.cluster_ips_field(),
                        BadValue::Raw(go_string_slice(&ips)),
                        format!("failed to allocate IP {first}: {e}"),
                    )));
                }
                self.ips.push(ip);
                self.sim.cluster_ip = Some(ip);
                Ok(())
            }
            None => {
                let mut rng =
                    names::rng_for(seed, &["cluster-ip", &self.sim.namespace, &self.sim.name]);
                match alloc.ips.allocate_next(&mut rng) {
                    Some(ip) => {
                        self.ips.push(ip);
                        self.sim.cluster_ip = Some(ip);
                        Ok(())
                    }
                    None => Err(self.internal(
                        "spec",
                        format!("failed to allocate a serviceIP: {RANGE_FULL}"),
                    )),
                }
            }
        }
    }

    /// The IP families, on the IPv4 single-stack cluster simctl simulates.
    ///
    /// A real single-stack cluster refuses a Service written for a dual-stack one
    /// (`initIPFamilyFields` in alloc.go: `this cluster is not configured for dual-stack
    /// services`, `IPv6 is not configured on this cluster`). simctl cannot be configured
    /// dual-stack, so that refusal would blame the input for simctl's own limit: such a
    /// Service is simulated with its IPv4 family alone, and a note says so. A Service
    /// with no IPv4 family at all cannot be simulated: it is left out, with a warning.
    fn single_stack(&mut self) -> Result<(), Box<Diagnostic>> {
        let ips = self.cluster_ips();
        if ips.first().is_some_and(|ip| ip == "None") {
            return Ok(());
        }
        let families: Vec<String> = self.spec.ip_families.clone().unwrap_or_default();
        let v4_ips: Vec<String> = ips.iter().filter(|ip| !ip.contains(':')).cloned().collect();
        let has_v6 = ips.iter().any(|ip| ip.contains(':')) || families.iter().any(|f| f != "IPv4");
        let require = s(&self.spec.ip_family_policy) == "RequireDualStack";
        if !has_v6 && !require {
            return Ok(());
        }
        let no_v4 = (!families.is_empty() && !families.iter().any(|f| f == "IPv4"))
            || (!ips.is_empty() && v4_ips.is_empty());
        let field = if ips.iter().any(|ip| ip.contains(':')) {
            "spec.clusterIPs"
        } else if families.iter().any(|f| f != "IPv4") {
            "spec.ipFamilies"
        } else {
            "spec.ipFamilyPolicy"
        };
        let name = go_quote(&self.sim.name);
        if no_v4 {
            return Err(Box::new(
                Diagnostic::warning(
                    codes::SINGLE_STACK,
                    format!(
                        "Service {name} is IPv6 only; simctl simulates an IPv4 single-stack cluster, so it is left out"
                    ),
                )
                .at(self.obj.locate(field))
                .field(field)
                .help("simctl's cluster has no IPv6; give the Service an IPv4 family to simulate it"),
            ));
        }
        self.notes.push(
            Diagnostic::note(
                codes::SINGLE_STACK,
                format!(
                    "Service {name} is written for a dual-stack cluster; simctl simulates an IPv4 single-stack cluster, so only its IPv4 family is simulated"
                ),
            )
            .at(self.obj.locate(field))
            .field(field)
            .help("a real single-stack cluster refuses it (`this cluster is not configured for dual-stack services`); on a dual-stack cluster it also gets an IPv6 ClusterIP, which simctl does not model"),
        );
        self.spec.cluster_ip = v4_ips.first().cloned();
        self.spec.cluster_ips = (!v4_ips.is_empty()).then(|| v4_ips.clone());
        self.spec.ip_families = Some(vec!["IPv4".to_string()]);
        self.spec.ip_family_policy = Some("SingleStack".to_string());
        Ok(())
    }

    /// `initNodePorts`, port by port: the first port of each port number reserves the
    /// nodePort any port of that number asks for (`findRequestedNodePort`), or takes the
    /// next free one at once; a later port of that number shares it unless it asks for a
    /// different one (so one nodePort serves 53/TCP and 53/UDP).
    fn init_node_ports(
        &mut self,
        alloc: &mut Allocators,
        rng: &mut impl rand::Rng,
    ) -> Result<(), Box<Diagnostic>> {
        let should = should_allocate_node_ports(&self.spec);
        let spec_ports = self.spec.ports.clone().unwrap_or_default();
        let mut by_port: BTreeMap<i32, i32> = BTreeMap::new();
        for (i, p) in spec_ports.iter().enumerate() {
            let asked = p.node_port.unwrap_or(0);
            if asked == 0 && !should {
                // Don't allocate new ports, but do respect specific requests.
                continue;
            }
            let field = Path::new("spec").child("ports").index(i).child("nodePort");
            match by_port.get(&p.port).copied() {
                None => {
                    let requested = spec_ports
                        .iter()
                        .find(|q| q.port == p.port && q.node_port.unwrap_or(0) != 0)
                        .and_then(|q| q.node_port)
                        .unwrap_or(0);
                    let np = if requested != 0 {
                        self.take_port(alloc, requested, &field)?;
                        requested
                    } else {
                        match alloc.ports.allocate_next(rng) {
                            Some(np) => {
                                self.ports.push(np);
                                i32::from(np)
                            }
                            None => {
                                return Err(self.internal(
                                    field.as_str(),
                                    format!("failed to allocate a nodePort: {RANGE_FULL}"),
                                ));
                            }
                        }
                    };
                    self.set_node_port(i, np);
                    by_port.insert(p.port, np);
                }
                Some(np) if asked != np => {
                    if asked == 0 {
                        self.set_node_port(i, np);
                    } else {
                        self.take_port(alloc, asked, &field)?;
                        self.set_node_port(i, asked);
                    }
                }
                Some(_) => self.set_node_port(i, asked),
            }
        }
        Ok(())
    }

    /// `allocHealthCheckNodePort`: the requested port, or the next free one.
    fn alloc_health_check_node_port(
        &mut self,
        alloc: &mut Allocators,
        rng: &mut impl rand::Rng,
    ) -> Result<(), Box<Diagnostic>> {
        match self.spec.health_check_node_port.filter(|p| *p != 0) {
            Some(hc) => {
                let port = u16::try_from(hc).unwrap_or(0);
                match alloc.ports.allocate(port) {
                    Ok(()) => {
                        self.ports.push(port);
                        self.sim.health_check_node_port = Some(port);
                        Ok(())
                    }
                    Err(e) => Err(self.internal(
                        "spec.healthCheckNodePort",
                        format!("failed to allocate requested HealthCheck NodePort {hc}: {e}"),
                    )),
                }
            }
            None => match alloc.ports.allocate_next(rng) {
                Some(hc) => {
                    self.ports.push(hc);
                    self.sim.health_check_node_port = Some(hc);
                    Ok(())
                }
                None => Err(self.internal(
                    "spec.externalTrafficPolicy",
                    format!("failed to allocate a HealthCheck NodePort 0: {RANGE_FULL}"),
                )),
            },
        }
    }

    fn take_port(
        &mut self,
        alloc: &mut Allocators,
        port: i32,
        field: &Path,
    ) -> Result<(), Box<Diagnostic>> {
        let p = u16::try_from(port).unwrap_or(0);
        match alloc.ports.allocate(p) {
            Ok(()) => {
                self.ports.push(p);
                Ok(())
            }
            Err(e) => Err(self.invalid(FieldError::invalid(field, port, e.to_string()))),
        }
    }

    fn set_node_port(&mut self, i: usize, port: i32) {
        if let Some(sp) = self.sim.ports.get_mut(i) {
            sp.node_port = u16::try_from(port).ok();
        }
    }

    /// What a cloud controller does once the Service exists: an address for a
    /// LoadBalancer Service that has none.
    fn assign_load_balancer(&mut self, lb_mode: LoadBalancerMode, lb_taken: &mut Vec<Ipv4Addr>) {
        if self.sim.type_ == ServiceType::LoadBalancer
            && self.sim.lb_ips.is_empty()
            && lb_mode == LoadBalancerMode::Cloud
            && let Some(ip) = next_lb_ip(lb_taken)
        {
            lb_taken.push(ip);
            self.sim.lb_ips.push(ip);
        }
    }
}

/// The next free address of [`CLOUD_LB_POOL`], from `.1`.
fn next_lb_ip(taken: &[Ipv4Addr]) -> Option<Ipv4Addr> {
    let pool = Cidr::parse(CLOUD_LB_POOL)?;
    (1..pool.size().saturating_sub(1))
        .filter_map(|i| pool.nth(i))
        .find(|ip| !taken.contains(ip))
}

/// Create the Services of `objs`, one by one in stream order (see the module docs); a
/// Service replacing a live one of the same namespace and name takes its slot (its id
/// stays). Refusals go to `diags`. Returns the ids of the Services added or replaced.
pub fn create_services(
    cluster: &mut Cluster,
    objs: &[(&LoadedObject, Origin)],
    alloc: &mut Allocators,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ServiceId> {
    // Load-balancer addresses a cloud controller already gave (status in the input) are
    // taken before any is handed out.
    let mut lb_taken: Vec<Ipv4Addr> = cluster
        .services
        .iter()
        .filter(|s| s.alive)
        .flat_map(|s| s.lb_ips.iter().copied())
        .chain(objs.iter().flat_map(|(obj, _)| match &obj.object {
            Object::Service(svc) if s(&spec_of(svc).type_) == "LoadBalancer" => given_ingress(svc),
            _ => Vec::new(),
        }))
        .collect();
    let (seed, lb_mode) = (cluster.config.seed, cluster.config.load_balancer);
    let mut ids = Vec::new();
    for (obj, origin) in objs {
        let Object::Service(svc) = &obj.object else {
            continue;
        };
        let mut sim = sim_service(svc, *origin);
        sim.applied = Some(Box::new((*obj).clone()));
        let mut p = Pending {
            obj,
            spec: spec_of(svc),
            sim,
            ips: Vec::new(),
            ports: Vec::new(),
            notes: Vec::new(),
        };
        let result = p.allocate(alloc, seed);
        diags.append(&mut p.notes);
        if let Err(d) = result {
            p.release(alloc);
            diags.push(*d);
            continue;
        }
        p.assign_load_balancer(lb_mode, &mut lb_taken);
        let id = match cluster.service_by_name(&p.sim.namespace, &p.sim.name) {
            Some(id) => {
                cluster.services[id] = p.sim;
                id
            }
            None => {
                cluster.services.push(p.sim);
                cluster.services.len() - 1
            }
        };
        ids.push(id);
    }
    ids
}
