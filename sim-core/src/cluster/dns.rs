//! Cluster DNS, as CoreDNS's kubernetes plugin answers and a pod's resolver asks.
//!
//! A pod's search path and ndots come from its resolv.conf ([`super::resolv`]; with
//! dnsPolicy ClusterFirst `search <ns>.svc.<domain> svc.<domain> <domain>` and
//! `options ndots:5`): a name with fewer than ndots dots is tried with each search suffix
//! first, then as is; a name with ndots or more, or ending in a dot, as is first. A
//! candidate answered NXDOMAIN or empty (NODATA) moves on to the next, as glibc's
//! `res_search` does.
//!
//! Records (the Kubernetes DNS specification, CoreDNS `plugin/kubernetes`):
//! - `<svc>.<ns>.svc.<domain>`: A = the ClusterIP; for a headless Service, one A per
//!   ready endpoint address (NXDOMAIN when there is none); ExternalName: a CNAME to its
//!   `externalName`, followed here when the target is a cluster name or a name the
//!   simulated world knows (a client's `dnsNames`, a node's name).
//! - `<hostname>.<svc>.<ns>.svc.<domain>` (a pod with that hostname and `subdomain: svc`,
//!   as StatefulSet pods have) and `<a-b-c-d>.<svc>.<ns>.svc.<domain>`, for headless
//!   Services' endpoints.
//! - `_<port>._<proto>.<svc>.<ns>.svc.<domain>`: SRV `0 <100/n> <port> <target>`, the
//!   target the Service's name (or each endpoint's name for a headless Service).
//! - `<a-b-c-d>.<ns>.pod.<domain>`: A = that address (`pods insecure`, kubeadm's
//!   Corefile).
//!
//! Names outside the cluster domain go upstream (`forward . /etc/resolv.conf`): there
//! the simulated world knows clients' `dnsNames` and node names. A client or a node
//! (an [`Asker::Outside`]) knows only those.

use std::net::Ipv4Addr;

use super::{Cluster, PodId, ServiceId, ServiceType};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryType {
    A,
    Srv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rcode {
    NoError,
    NxDomain,
}

/// Who asks: a pod uses the cluster DNS with its search path; a client or a node knows
/// only clients' dnsNames and node names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asker {
    Pod(PodId),
    Outside,
}

/// One answer record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsAnswer {
    pub name: String,
    /// `A`, `CNAME`, `SRV`.
    pub rtype: &'static str,
    /// The address, the target name, or `priority weight port target` for SRV.
    pub data: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsResult {
    /// The name as asked.
    pub query: String,
    pub qtype: QueryType,
    pub rcode: Rcode,
    pub answers: Vec<DnsAnswer>,
    /// The fully qualified names tried, in order (search path expansion).
    pub tried: Vec<String>,
    /// The addresses the name finally resolves to (after CNAMEs), in answer order.
    pub addresses: Vec<Ipv4Addr>,
}

/// Longest CNAME chain followed.
const MAX_CNAME_DEPTH: usize = 8;
/// Longest name looked at (RFC 1035).
const MAX_NAME_LEN: usize = 253;

/// The answer to one fully qualified name.
#[derive(Default)]
struct Lookup {
    /// The name exists (NOERROR), possibly with no record of the type asked (NODATA).
    exists: bool,
    answers: Vec<DnsAnswer>,
    addresses: Vec<Ipv4Addr>,
}

impl Lookup {
    fn nx() -> Lookup {
        Lookup::default()
    }
    fn nodata() -> Lookup {
        Lookup {
            exists: true,
            ..Default::default()
        }
    }
    fn a(name: &str, ips: impl IntoIterator<Item = Ipv4Addr>) -> Lookup {
        let mut l = Lookup::nodata();
        for ip in ips {
            l.answers.push(DnsAnswer {
                name: name.to_string(),
                rtype: "A",
                data: ip.to_string(),
            });
            l.addresses.push(ip);
        }
        l
    }
    fn found(&self) -> bool {
        self.exists && !self.answers.is_empty()
    }
}

/// `10-244-1-5` -> 10.244.1.5.
fn dashed_ip(label: &str) -> Option<Ipv4Addr> {
    label.replace('-', ".").parse().ok()
}

fn dashed(ip: Ipv4Addr) -> String {
    ip.to_string().replace('.', "-")
}

fn srv(name: &str, n: usize, port: u16, target: &str) -> DnsAnswer {
    let weight = 100 / n.max(1);
    DnsAnswer {
        name: name.to_string(),
        rtype: "SRV",
        data: format!("0 {weight} {port} {target}"),
    }
}

/// Who answers the queries: CoreDNS (the cluster zone, the rest forwarded upstream) or
/// a resolver outside the cluster (clients' dnsNames and node names only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    Cluster,
    Upstream,
}

impl Cluster {
    /// Resolve `name` as `asker` would: a pod with its resolv.conf's search path and
    /// ndots through the cluster DNS, anyone else by what the outside world knows. (Which
    /// nameserver answers a pod is the engine's walk to decide; see [`Self::resolve_with`].)
    pub fn resolve(&self, name: &str, asker: Asker, qtype: QueryType) -> DnsResult {
        let (conf, server) = match asker {
            Asker::Pod(id) => (self.resolv_conf(id), Server::Cluster),
            Asker::Outside => (super::resolv::ResolvConf::outside(), Server::Upstream),
        };
        self.resolve_with(name, &conf.search, conf.ndots, server, qtype)
    }

    /// Resolve `name` as glibc's `res_search` does with this search path and ndots,
    /// `server` answering each candidate: a name with at least `ndots` dots (or ending
    /// in a dot) is tried as is first; otherwise each search suffix, then the name as is.
    /// NXDOMAIN and NODATA move on to the next candidate.
    pub fn resolve_with(
        &self,
        name: &str,
        search: &[String],
        ndots: usize,
        server: Server,
        qtype: QueryType,
    ) -> DnsResult {
        let mut result = DnsResult {
            query: name.to_string(),
            qtype,
            rcode: Rcode::NxDomain,
            answers: Vec::new(),
            tried: Vec::new(),
            addresses: Vec::new(),
        };
        let lower = name.trim().to_ascii_lowercase();
        let absolute = lower.ends_with('.');
        let base = lower.trim_end_matches('.');
        if base.is_empty() || base.len() > MAX_NAME_LEN {
            return result;
        }
        let expanded = search.iter().map(|s| format!("{base}.{s}"));
        let candidates: Vec<String> = if absolute {
            vec![base.to_string()]
        } else if base.matches('.').count() >= ndots {
            std::iter::once(base.to_string()).chain(expanded).collect()
        } else {
            expanded.chain(std::iter::once(base.to_string())).collect()
        };
        let mut nodata = false;
        for fqdn in candidates {
            if result.tried.contains(&fqdn) {
                continue;
            }
            result.tried.push(fqdn.clone());
            let l = match server {
                Server::Cluster => self.lookup(&fqdn, qtype, 0),
                Server::Upstream => self.lookup_outside(&fqdn, qtype),
            };
            if l.found() {
                // A CNAME whose target does not resolve: the answer keeps the CNAME and
                // the rcode is the target's.
                result.rcode = if l.exists {
                    Rcode::NoError
                } else {
                    Rcode::NxDomain
                };
                result.answers = l.answers;
                result.addresses = l.addresses;
                return result;
            }
            if l.exists {
                nodata = true;
            } else if !l.answers.is_empty() {
                // A CNAME to nowhere: NXDOMAIN, with the CNAME shown.
                result.answers = l.answers;
                return result;
            }
        }
        if nodata {
            result.rcode = Rcode::NoError;
        }
        result
    }

    /// Whether a pod answers DNS for the cluster zone: a pod of the `kube-system/kube-dns`
    /// Service (CoreDNS, as kubeadm deploys it) or one running a CoreDNS image. Any other
    /// DNS server is taken to know only the outside world.
    pub fn serves_cluster_zone(&self, pod: PodId) -> bool {
        let Some(p) = self.pods.get(pod) else {
            return false;
        };
        let kube_dns = self
            .service_by_name("kube-system", "kube-dns")
            .and_then(|s| self.services[s].selector.as_ref())
            .is_some_and(|sel| {
                p.namespace == "kube-system" && super::endpoints::selector_matches(sel, &p.labels)
            });
        kube_dns || p.containers.iter().any(|c| c.image.contains("coredns"))
    }

    /// A fully qualified name, as CoreDNS (cluster zone) or upstream answers it.
    fn lookup(&self, fqdn: &str, qtype: QueryType, depth: usize) -> Lookup {
        let d = &self.config.cluster_domain;
        let Some(rest) = fqdn.strip_suffix(d.as_str()).and_then(|r| {
            if r.is_empty() {
                Some(r)
            } else {
                r.strip_suffix('.')
            }
        }) else {
            return self.lookup_outside(fqdn, qtype);
        };
        let labels: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('.').collect()
        };
        match labels.as_slice() {
            [] | ["svc"] | ["pod"] => Lookup::nodata(),
            [ns, "svc"] | [ns, "pod"] if self.namespaces.contains_key(*ns) => Lookup::nodata(),
            [svc, ns, "svc"] => match self.service_by_name(ns, svc) {
                Some(id) => self.service_records(id, fqdn, qtype, depth),
                None => Lookup::nx(),
            },
            [host, svc, ns, "svc"] => match self.service_by_name(ns, svc) {
                Some(id) if self.is_headless(id) => {
                    let ips: Vec<Ipv4Addr> = self
                        .headless_addresses(id)
                        .into_iter()
                        .filter(|(ip, pod)| self.endpoint_label(*ip, *pod, svc) == *host)
                        .map(|(ip, _)| ip)
                        .collect();
                    match (ips.is_empty(), qtype) {
                        (true, _) => Lookup::nx(),
                        (false, QueryType::A) => Lookup::a(fqdn, ips),
                        (false, QueryType::Srv) => Lookup::nodata(),
                    }
                }
                _ => Lookup::nx(),
            },
            [port, proto, svc, ns, "svc"] if port.starts_with('_') && proto.starts_with('_') => {
                match self.service_by_name(ns, svc) {
                    Some(id) => self.srv_records(id, fqdn, &port[1..], &proto[1..], qtype),
                    None => Lookup::nx(),
                }
            }
            [ip, _ns, "pod"] => match (dashed_ip(ip), qtype) {
                (Some(ip), QueryType::A) => Lookup::a(fqdn, [ip]),
                (Some(_), QueryType::Srv) => Lookup::nodata(),
                (None, _) => Lookup::nx(),
            },
            _ => Lookup::nx(),
        }
    }

    /// What the world outside the cluster resolves: clients' dnsNames, node names.
    fn lookup_outside(&self, name: &str, qtype: QueryType) -> Lookup {
        let ip = self
            .clients
            .iter()
            .find(|c| c.dns_names.iter().any(|n| n == name))
            .map(|c| c.ip)
            .or_else(|| {
                self.nodes
                    .iter()
                    .find(|n| n.name.eq_ignore_ascii_case(name))
                    .map(|n| n.ip)
            });
        match (ip, qtype) {
            (Some(ip), QueryType::A) => Lookup::a(name, [ip]),
            (Some(_), QueryType::Srv) => Lookup::nodata(),
            (None, _) => Lookup::nx(),
        }
    }

    fn is_headless(&self, id: ServiceId) -> bool {
        let s = &self.services[id];
        s.cluster_ip.is_none() && s.type_ != ServiceType::ExternalName
    }

    /// The first label of an endpoint's name: the pod's hostname when its subdomain is
    /// the Service (`ShouldSetHostname`), else the dashed address.
    fn endpoint_label(&self, ip: Ipv4Addr, pod: Option<PodId>, svc: &str) -> String {
        pod.and_then(|p| self.pods.get(p))
            .filter(|p| p.subdomain.as_deref() == Some(svc))
            .and_then(|p| p.hostname.clone())
            .unwrap_or_else(|| dashed(ip))
    }

    fn service_records(&self, id: ServiceId, fqdn: &str, qtype: QueryType, depth: usize) -> Lookup {
        let s = &self.services[id];
        if let Some(target) = &s.external_name {
            let target = target.trim_end_matches('.').to_ascii_lowercase();
            let mut l = Lookup::nodata();
            l.answers.push(DnsAnswer {
                name: fqdn.to_string(),
                rtype: "CNAME",
                data: target.clone(),
            });
            if depth < MAX_CNAME_DEPTH {
                let next = self.lookup(&target, qtype, depth + 1);
                l.exists = next.exists;
                l.answers.extend(next.answers);
                l.addresses.extend(next.addresses);
            }
            return l;
        }
        match (s.cluster_ip, qtype) {
            (Some(ip), QueryType::A) => Lookup::a(fqdn, [ip]),
            (Some(_), QueryType::Srv) => {
                let named: Vec<_> = s.ports.iter().filter(|p| !p.name.is_empty()).collect();
                let mut l = Lookup::nodata();
                for p in &named {
                    l.answers.push(srv(fqdn, named.len(), p.port, fqdn));
                }
                l
            }
            (None, _) => {
                let addrs = self.headless_addresses(id);
                if addrs.is_empty() {
                    return Lookup::nx();
                }
                match qtype {
                    QueryType::A => Lookup::a(fqdn, addrs.into_iter().map(|(ip, _)| ip)),
                    QueryType::Srv => {
                        let mut l = Lookup::nodata();
                        let mut records = Vec::new();
                        for (pi, _) in s
                            .ports
                            .iter()
                            .enumerate()
                            .filter(|(_, p)| !p.name.is_empty())
                        {
                            for e in self.endpoints(id, pi).iter().filter(|e| e.ready) {
                                let label = self.endpoint_label(e.ip, e.pod, &s.name);
                                records.push((e.port, format!("{label}.{fqdn}")));
                            }
                        }
                        for (port, target) in &records {
                            l.answers.push(srv(fqdn, records.len(), *port, target));
                        }
                        l
                    }
                }
            }
        }
    }

    fn srv_records(
        &self,
        id: ServiceId,
        fqdn: &str,
        port: &str,
        proto: &str,
        qtype: QueryType,
    ) -> Lookup {
        let s = &self.services[id];
        let Some((pi, sp)) = s
            .ports
            .iter()
            .enumerate()
            .find(|(_, p)| !p.name.is_empty() && p.name == port && p.protocol.lower() == proto)
        else {
            return Lookup::nx();
        };
        if qtype != QueryType::Srv {
            return Lookup::nodata();
        }
        let svc_fqdn = fqdn.splitn(3, '.').nth(2).unwrap_or(fqdn).to_string();
        let mut l = Lookup::nodata();
        match s.cluster_ip {
            Some(_) => l.answers.push(srv(fqdn, 1, sp.port, &svc_fqdn)),
            None if s.external_name.is_some() => return Lookup::nx(),
            None => {
                let eps: Vec<_> = self
                    .endpoints(id, pi)
                    .into_iter()
                    .filter(|e| e.ready)
                    .collect();
                if eps.is_empty() {
                    return Lookup::nx();
                }
                for e in &eps {
                    let label = self.endpoint_label(e.ip, e.pod, &s.name);
                    l.answers
                        .push(srv(fqdn, eps.len(), e.port, &format!("{label}.{svc_fqdn}")));
                }
            }
        }
        l
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::testutil::*;
    use super::*;

    const WORLD: &str = "
apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: dns}
spec:
  clients: [{name: laptop, ip: 203.0.113.10, dnsNames: [db.example.com]}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: pg, image: postgres, ports: [{name: pg, containerPort: 5432}]}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.80
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: shop}
spec: {type: ExternalName, externalName: db.example.com}
---
apiVersion: v1
kind: Service
metadata: {name: alias, namespace: shop}
spec: {type: ExternalName, externalName: web.shop.svc.cluster.local}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: default}
spec: {containers: [{name: c, image: busybox}]}
";

    fn asker(c: &Cluster, ns: &str, name: &str) -> Asker {
        Asker::Pod(c.pod_by_name(ns, name).expect("pod"))
    }

    #[test]
    fn search_path() {
        let c = cluster(WORLD);
        let me = asker(&c, "shop", "client");
        for name in [
            "web",
            "web.shop",
            "web.shop.svc",
            "web.shop.svc.cluster.local",
            "web.shop.svc.cluster.local.",
        ] {
            let r = c.resolve(name, me, QueryType::A);
            assert_eq!(r.rcode, Rcode::NoError, "{name}: {r:?}");
            assert_eq!(r.addresses, vec![Ipv4Addr::new(10, 96, 0, 80)], "{name}");
        }
        let r = c.resolve("web", me, QueryType::A);
        assert_eq!(r.tried, vec!["web.shop.svc.cluster.local".to_string()]);
        assert_eq!(r.answers[0].rtype, "A");
        let r = c.resolve("web.shop", me, QueryType::A);
        assert_eq!(
            r.tried,
            vec![
                "web.shop.shop.svc.cluster.local".to_string(),
                "web.shop.svc.cluster.local".to_string()
            ]
        );
        // From another namespace the short name is not found; the search list, then the
        // name itself, are all tried.
        let r = c.resolve("web", asker(&c, "default", "other"), QueryType::A);
        assert_eq!(r.rcode, Rcode::NxDomain);
        assert_eq!(
            r.tried,
            vec![
                "web.default.svc.cluster.local".to_string(),
                "web.svc.cluster.local".to_string(),
                "web.cluster.local".to_string(),
                "web".to_string(),
            ]
        );
        // Five dots or more: the name as is first.
        let r = c.resolve("a.b.c.d.e.f", me, QueryType::A);
        assert_eq!(r.tried[0], "a.b.c.d.e.f");
        // The wrong namespace.
        let r = c.resolve("web.shoop", me, QueryType::A);
        assert_eq!(r.rcode, Rcode::NxDomain);
        assert!(r.addresses.is_empty());
    }

    #[test]
    fn headless_and_statefulset_names() {
        let c = cluster(WORLD);
        let me = asker(&c, "shop", "client");
        let r = c.resolve("db", me, QueryType::A);
        let pods: Vec<Ipv4Addr> = ["db-0", "db-1"]
            .iter()
            .map(|n| c.pods[c.pod_by_name("shop", n).expect("pod")].ip)
            .collect();
        let mut want = pods.clone();
        want.sort();
        assert_eq!(r.addresses, want);
        let r = c.resolve("db-1.db", me, QueryType::A);
        assert_eq!(r.addresses, vec![pods[1]]);
        assert_eq!(
            r.tried.last().map(String::as_str),
            Some("db-1.db.shop.svc.cluster.local")
        );
        let r = c.resolve("db-9.db", me, QueryType::A);
        assert_eq!(r.rcode, Rcode::NxDomain);
    }

    #[test]
    fn headless_without_ready_endpoints_is_nxdomain() {
        let mut c = cluster(WORLD);
        c.set_ready("shop", "db-0", false, 0).expect("set");
        c.set_ready("shop", "db-1", false, 0).expect("set");
        let r = c.resolve("db.shop", asker(&c, "shop", "client"), QueryType::A);
        assert_eq!(r.rcode, Rcode::NxDomain);
    }

    #[test]
    fn external_name_cname() {
        let c = cluster(WORLD);
        let me = asker(&c, "shop", "client");
        let r = c.resolve("legacy", me, QueryType::A);
        assert_eq!(r.rcode, Rcode::NoError);
        assert_eq!(r.answers[0].rtype, "CNAME");
        assert_eq!(r.answers[0].name, "legacy.shop.svc.cluster.local");
        assert_eq!(r.answers[0].data, "db.example.com");
        assert_eq!(r.addresses, vec![Ipv4Addr::new(203, 0, 113, 10)]);
        let r = c.resolve("alias", me, QueryType::A);
        assert_eq!(r.addresses, vec![Ipv4Addr::new(10, 96, 0, 80)]);
        assert_eq!(r.answers.len(), 2);
    }

    #[test]
    fn srv_records() {
        let c = cluster(WORLD);
        let me = asker(&c, "shop", "client");
        let r = c.resolve("_http._tcp.web", me, QueryType::Srv);
        assert_eq!(r.rcode, Rcode::NoError);
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].name, "_http._tcp.web.shop.svc.cluster.local");
        assert_eq!(r.answers[0].data, "0 100 80 web.shop.svc.cluster.local");
        let r = c.resolve("_pg._tcp.db.shop.svc.cluster.local", me, QueryType::Srv);
        let data: Vec<&str> = r.answers.iter().map(|a| a.data.as_str()).collect();
        assert_eq!(
            data,
            [
                "0 50 5432 db-0.db.shop.svc.cluster.local",
                "0 50 5432 db-1.db.shop.svc.cluster.local"
            ]
        );
        let r = c.resolve("_http._udp.web", me, QueryType::Srv);
        assert_eq!(r.rcode, Rcode::NxDomain);
    }

    #[test]
    fn outside_knows_only_clients_and_nodes() {
        let c = cluster(WORLD);
        let r = c.resolve("web.shop.svc.cluster.local", Asker::Outside, QueryType::A);
        assert_eq!(r.rcode, Rcode::NxDomain);
        assert_eq!(r.tried, vec!["web.shop.svc.cluster.local".to_string()]);
        let r = c.resolve("db.example.com", Asker::Outside, QueryType::A);
        assert_eq!(r.addresses, vec![Ipv4Addr::new(203, 0, 113, 10)]);
        let r = c.resolve("node-2", Asker::Outside, QueryType::A);
        assert_eq!(r.addresses, vec![Ipv4Addr::new(172, 18, 0, 3)]);
        // Pods reach the outside world's names upstream.
        let r = c.resolve("db.example.com", asker(&c, "shop", "client"), QueryType::A);
        assert_eq!(r.addresses, vec![Ipv4Addr::new(203, 0, 113, 10)]);
        assert_eq!(r.tried.len(), 4);
        assert_eq!(
            c.resolve("", Asker::Outside, QueryType::A).rcode,
            Rcode::NxDomain
        );
    }

    #[test]
    fn pod_records_and_kube_dns() {
        let c = cluster(WORLD);
        let me = asker(&c, "shop", "client");
        let r = c.resolve("10-244-1-7.shop.pod.cluster.local", me, QueryType::A);
        assert_eq!(r.addresses, vec![Ipv4Addr::new(10, 244, 1, 7)]);
        let r = c.resolve("kube-dns.kube-system", me, QueryType::A);
        assert_eq!(r.addresses, vec![Ipv4Addr::new(10, 96, 0, 10)]);
        let r = c.resolve("kubernetes.default", me, QueryType::A);
        assert_eq!(r.addresses, vec![Ipv4Addr::new(10, 96, 0, 1)]);
    }
}
