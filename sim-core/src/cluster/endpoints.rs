//! Endpoints of a Service port, as the EndpointSlice controller would list them, computed
//! from the current state (so deleting a pod, a readiness change or a node going down
//! shows at once).
//!
//! Go: `pkg/controller/endpointslice/reconciler.go` and
//! `staging/src/k8s.io/endpointslice/utils.go` (`podToEndpoint`):
//! - pods selected by the Service's selector in its namespace, with an address, not
//!   terminal; terminating pods stay (`ShouldPodBeInEndpoints(pod, true)`);
//! - `serving` = the pod's Ready condition, `terminating` = deletion started,
//!   `ready` = `publishNotReadyAddresses || (serving && !terminating)`;
//! - a named targetPort is resolved per pod by `podutil.FindPort` (the first container
//!   port with that name *and* the Service port's protocol); a pod without it gets no
//!   endpoint for that port.
//!
//! Services without a selector take their endpoints from EndpointSlice and Endpoints
//! objects ([`super::GivenEndpoints`]), matched on the port name and protocol, as kube-proxy
//! matches slices to Service ports. An address that is no simulated pod's has
//! `pod: None` (a host outside the simulation). Their conditions are the slice's, read
//! as kube-proxy reads them ([`super::build::read_conditions`]); `publishNotReadyAddresses`
//! does not touch them: it is the EndpointSlice controller's rule for the slices it
//! writes, and no controller writes a selectorless Service's slices.
//!
//! Order: by address, then port (stable whatever the order pods were created in).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::{
    Cluster, NodeId, PodId, ServiceId, ServiceType, SimEndpoint, SimPod, SimServicePort, TargetPort,
};

/// Where a host that given endpoints name (and no simulated pod has) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GivenHost {
    /// In the pod network of a node: reached through that node.
    OnNode(NodeId),
    /// Off the cluster: reached over the outside network.
    Outside,
}

/// Whether `labels` satisfy an equality-based selector.
pub fn selector_matches(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// `podutil.FindPort`: the container port a Service port sends to on this pod.
pub fn find_port(pod: &SimPod, sp: &SimServicePort) -> Option<u16> {
    match &sp.target {
        TargetPort::Number(n) => Some(*n),
        TargetPort::Name(name) => pod
            .containers
            .iter()
            .flat_map(|c| c.ports.iter())
            .find(|p| p.name.as_deref() == Some(name.as_str()) && p.protocol == sp.protocol)
            .map(|p| p.port),
    }
}

/// The conditions of a pod's endpoint: (ready, serving, terminating).
pub fn conditions(pod: &SimPod, publish_not_ready: bool) -> (bool, bool, bool) {
    let serving = pod.ready;
    let terminating = pod.terminating();
    (
        publish_not_ready || (serving && !terminating),
        serving,
        terminating,
    )
}

impl Cluster {
    /// The live pods a Service's selector picks (empty for a Service without selector).
    pub fn selected_pods(&self, svc: ServiceId) -> Vec<PodId> {
        let Some(s) = self.services.get(svc).filter(|s| s.alive) else {
            return Vec::new();
        };
        let Some(sel) = &s.selector else {
            return Vec::new();
        };
        self.pods
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.alive() && p.namespace == s.namespace && selector_matches(sel, &p.labels)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The endpoints of port `port` (index into `SimService::ports`) of Service `svc`.
    pub fn endpoints(&self, svc: ServiceId, port: usize) -> Vec<SimEndpoint> {
        let Some(s) = self.services.get(svc).filter(|s| s.alive) else {
            return Vec::new();
        };
        let Some(sp) = s.ports.get(port) else {
            return Vec::new();
        };
        if s.type_ == ServiceType::ExternalName {
            return Vec::new();
        }
        let mut out: Vec<SimEndpoint> = if s.selector.is_some() {
            self.selected_pods(svc)
                .into_iter()
                .filter_map(|id| {
                    let pod = &self.pods[id];
                    let target = find_port(pod, sp)?;
                    let (ready, serving, terminating) = conditions(pod, s.publish_not_ready);
                    Some(SimEndpoint {
                        pod: Some(id),
                        ip: pod.ip,
                        port: target,
                        node: Some(pod.node),
                        ready,
                        serving,
                        terminating,
                    })
                })
                .collect()
        } else {
            self.given_endpoints
                .iter()
                .filter(|g| g.namespace == s.namespace && g.service == s.name)
                .filter_map(|g| {
                    let (_, number, _) = g
                        .ports
                        .iter()
                        .find(|(name, _, proto)| *name == sp.name && *proto == sp.protocol)?;
                    Some((g, *number))
                })
                .flat_map(|(g, number)| {
                    g.addresses
                        .iter()
                        .map(move |(ip, ready, serving, terminating, node)| {
                            let pod = self.pod_by_ip(*ip);
                            SimEndpoint {
                                pod,
                                ip: *ip,
                                port: number,
                                node: pod
                                    .map(|p| self.pods[p].node)
                                    .or_else(|| node.as_deref().and_then(|n| self.node_by_name(n))),
                                ready: *ready,
                                serving: *serving,
                                terminating: *terminating,
                            }
                        })
                })
                .collect()
        };
        out.sort_by_key(|e| (e.ip, e.port));
        // The same address and port from two slices counts once (kube-proxy dedups).
        out.dedup_by_key(|e| (e.ip, e.port));
        out
    }

    /// Where the host at `ip` is, when `ip` is an address the given endpoints name and no
    /// simulated pod or node has: such a host accepts on the endpoint's port (SCENARIO.md
    /// section 3), wherever its address lies. It is on the node its `nodeName` names,
    /// else on the node whose podCIDR holds the address (a pod simctl was not shown, as
    /// pasted `kubectl get endpointslices -o yaml` names them), else off the cluster.
    /// `None` when no given endpoint names `ip` or a simulated pod or node has it.
    pub fn given_host(&self, ip: Ipv4Addr) -> Option<GivenHost> {
        let mut named = self
            .given_endpoints
            .iter()
            .flat_map(|g| g.addresses.iter())
            .filter(|a| a.0 == ip)
            .peekable();
        named.peek()?;
        if self.pod_by_ip(ip).is_some() || self.node_by_ip(ip).is_some() {
            return None;
        }
        let by_name = named
            .filter_map(|a| a.4.as_deref())
            .find_map(|n| self.node_by_name(n));
        Some(match by_name.or_else(|| self.node_for_pod_ip(ip)) {
            Some(n) => GivenHost::OnNode(n),
            None => GivenHost::Outside,
        })
    }

    /// The addresses DNS gives for a headless Service: every selected pod (or given
    /// address) whose endpoint is ready, whatever its ports (`publishNotReadyAddresses`
    /// makes all ready). Sorted, without duplicates.
    pub fn headless_addresses(&self, svc: ServiceId) -> Vec<(Ipv4Addr, Option<PodId>)> {
        let Some(s) = self.services.get(svc).filter(|s| s.alive) else {
            return Vec::new();
        };
        let mut out: Vec<(Ipv4Addr, Option<PodId>)> = if s.selector.is_some() {
            self.selected_pods(svc)
                .into_iter()
                .filter(|id| conditions(&self.pods[*id], s.publish_not_ready).0)
                .map(|id| (self.pods[id].ip, Some(id)))
                .collect()
        } else {
            self.given_endpoints
                .iter()
                .filter(|g| g.namespace == s.namespace && g.service == s.name)
                .flat_map(|g| g.addresses.iter())
                .filter(|a| a.1)
                .map(|a| (a.0, self.pod_by_ip(a.0)))
                .collect()
        };
        out.sort();
        out.dedup_by_key(|a| a.0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::testutil::*;
    use crate::cluster::PodPhase;

    const SHOP: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
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
kind: Pod
metadata: {name: odd, namespace: shop, labels: {app: web}}
spec:
  containers:
  - name: web
    image: nginx
    ports: [{name: www, containerPort: 9090}]
---
apiVersion: v1
kind: Pod
metadata: {name: sleepy, namespace: shop, labels: {app: web}, annotations: {simctl/ready: 'false'}}
spec:
  containers:
  - name: web
    image: nginx
    ports: [{name: http, containerPort: 8081}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
  - {name: named, port: 80, targetPort: http}
  - {name: numbered, port: 81, targetPort: 7000}
---
apiVersion: v1
kind: Service
metadata: {name: web-all, namespace: shop}
spec:
  selector: {app: web}
  publishNotReadyAddresses: true
  ports: [{port: 80, targetPort: http}]
";

    #[test]
    fn named_target_port_resolved_per_pod() {
        let c = cluster(SHOP);
        let id = c.service_by_name("shop", "web").expect("web");
        let eps = c.endpoints(id, 0);
        // `odd` has no port named http: no endpoint for it on this port.
        let odd = c.pod_by_name("shop", "odd").expect("odd");
        assert!(eps.iter().all(|e| e.pod != Some(odd)));
        assert_eq!(eps.len(), 3);
        let ports: Vec<u16> = eps.iter().map(|e| e.port).collect();
        assert!(ports.contains(&8081) && ports.iter().filter(|p| **p == 8080).count() == 2);
        // Sorted by address.
        assert!(eps.windows(2).all(|w| w[0].ip < w[1].ip));
        // A numbered targetPort applies to every pod, `odd` included.
        let numbered = c.endpoints(id, 1);
        assert_eq!(numbered.len(), 4);
        assert!(numbered.iter().all(|e| e.port == 7000));
        assert!(c.endpoints(id, 9).is_empty());
    }

    #[test]
    fn readiness_and_terminating_conditions() {
        let mut c = cluster(SHOP);
        let id = c.service_by_name("shop", "web").expect("web");
        let sleepy = c.pod_by_name("shop", "sleepy").expect("sleepy");
        let e = c
            .endpoints(id, 0)
            .into_iter()
            .find(|e| e.pod == Some(sleepy))
            .expect("ep");
        assert_eq!((e.ready, e.serving, e.terminating), (false, false, false));
        let web = c
            .endpoints(id, 0)
            .into_iter()
            .find(|e| e.pod != Some(sleepy))
            .expect("web ep");
        assert_eq!(
            (web.ready, web.serving, web.terminating),
            (true, true, false)
        );
        let pod = web.pod.expect("pod");
        let name = c.pods[pod].name.clone();
        c.delete_pod("shop", &name, 1_000).expect("delete");
        let e = c
            .endpoints(id, 0)
            .into_iter()
            .find(|e| e.pod == Some(pod))
            .expect("still there");
        assert_eq!((e.ready, e.serving, e.terminating), (false, true, true));
        c.advance(30_000_001_000);
        assert_eq!(c.pods[pod].phase, PodPhase::Gone);
        assert!(c.endpoints(id, 0).iter().all(|e| e.pod != Some(pod)));
    }

    #[test]
    fn publish_not_ready_addresses() {
        let mut c = cluster(SHOP);
        let id = c.service_by_name("shop", "web-all").expect("web-all");
        let eps = c.endpoints(id, 0);
        assert_eq!(eps.len(), 3);
        assert!(eps.iter().all(|e| e.ready));
        let sleepy = c.pod_by_name("shop", "sleepy").expect("sleepy");
        let e = eps
            .iter()
            .find(|e| e.pod == Some(sleepy))
            .expect("sleepy ep");
        assert!(!e.serving);
        c.delete_pod("shop", "sleepy", 0).expect("delete");
        let e = c
            .endpoints(id, 0)
            .into_iter()
            .find(|e| e.pod == Some(sleepy))
            .expect("ep");
        assert!(e.ready && e.terminating);
    }

    /// The cases of kube-proxy's `endpointslicecache_test.go` and the discovery/v1 API
    /// documentation: a nil condition is ready / serving / not terminating.
    #[test]
    fn given_slice_conditions_as_kube_proxy_reads_them() {
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
- addresses: [192.0.2.1]
- addresses: [192.0.2.2]
  conditions: {}
- addresses: [192.0.2.3]
  conditions: {ready: false, terminating: true}
- addresses: [192.0.2.4]
  conditions: {ready: false, serving: false, terminating: true}
- addresses: [192.0.2.5]
  conditions: {ready: false}
- addresses: [192.0.2.6]
  conditions: {serving: false}
---
apiVersion: v1
kind: Service
metadata: {name: old}
spec: {publishNotReadyAddresses: true, ports: [{port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: old}
subsets:
- addresses: [{ip: 192.0.2.20}]
  notReadyAddresses: [{ip: 192.0.2.21}]
  ports: [{port: 80}]
",
        );
        let id = c.service_by_name("default", "db").expect("db");
        let got: Vec<(u8, bool, bool, bool)> = c
            .endpoints(id, 0)
            .iter()
            .map(|e| (e.ip.octets()[3], e.ready, e.serving, e.terminating))
            .collect();
        assert_eq!(
            got,
            [
                (1, true, true, false),
                (2, true, true, false),
                // Serving unset is serving: the terminating fallback.
                (3, false, true, true),
                (4, false, false, true),
                (5, false, true, false),
                (6, true, false, false),
            ]
        );
        // Endpoints objects arrive mirrored (ready only); publishNotReadyAddresses is the
        // EndpointSlice controller's rule for pods, not a rewrite of given addresses.
        let id = c.service_by_name("default", "old").expect("old");
        let got: Vec<(u8, bool, bool, bool)> = c
            .endpoints(id, 0)
            .iter()
            .map(|e| (e.ip.octets()[3], e.ready, e.serving, e.terminating))
            .collect();
        assert_eq!(got, [(20, true, true, false), (21, false, true, false)]);
    }

    #[test]
    fn node_down_makes_endpoints_not_ready() {
        let mut c = cluster(SHOP);
        let id = c.service_by_name("shop", "web").expect("web");
        c.node_down("node-2", 0).expect("down");
        for e in c.endpoints(id, 0) {
            assert_eq!(
                e.ready,
                e.node != Some(1) && c.pods[e.pod.expect("pod")].ready
            );
        }
        c.node_up("node-2", 0).expect("up");
        let ready = c.endpoints(id, 0).iter().filter(|e| e.ready).count();
        assert_eq!(ready, 2);
        assert!(c.node_down("node-9", 0).is_err());
    }
}
