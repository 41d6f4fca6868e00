//! A run for people (the story of each flow) and for programs (SCENARIO.md section 5).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::cluster::{Cluster, Origin, TargetPort};
use crate::diag::Diagnostic;
use crate::manifest::Loaded;
use crate::render::{self, View};
use crate::source::Sources;
use crate::trace::{Action, Backend, Cause, Flow, Outcome, Reason};

use super::RunResult;
use super::expect::{ExpectationResult, backend_name};

/// Everything a report needs.
pub struct Report<'a> {
    pub sources: &'a Sources,
    pub loaded: &'a Loaded,
    pub run: &'a RunResult,
    pub expectations: &'a [ExpectationResult],
    /// Load and run diagnostics, in order.
    pub diagnostics: &'a [Diagnostic],
}

impl Report<'_> {
    /// `file:line` of a field of an object, when the object came from the input.
    pub fn locate(&self, origin: Origin, field: &str) -> Option<String> {
        let index = match origin {
            Origin::Object(i) | Origin::Workload(i) => i,
            _ => return None,
        };
        let o = self.loaded.objects.get(index)?;
        let span = o.locate(field);
        Some(format!("{}:{}", self.sources.name(span.source), span.line))
    }

    fn cause_at(&self, cause: &Cause) -> Option<String> {
        self.locate(cause.origin, &cause.field)
    }

    /// What rendering reads for this run.
    pub fn view(&self) -> View<'_> {
        View::of(self.run)
    }

    /// The JSON document of SCENARIO.md section 5.
    pub fn to_json(&self) -> Value {
        let c = &self.run.cluster;
        json!({
            "seed": self.run.seed,
            "proxyMode": c.config.proxy.mode.as_str(),
            "diagnostics": self.diagnostics.iter().map(|d| d.to_json(self.sources)).collect::<Vec<_>>(),
            "services": services_json(c),
            "flows": self.run.flows.iter().map(|f| self.flow_json(f)).collect::<Vec<_>>(),
            "expectations": self.expectations.iter().map(|e| json!({"passed": e.passed, "message": e.message})).collect::<Vec<_>>(),
        })
    }

    fn flow_json(&self, f: &Flow) -> Value {
        let c = &self.run.cluster;
        let name = self
            .run
            .traffic
            .get(f.traffic)
            .map_or("", |t| t.name.as_str());
        json!({
            "traffic": name,
            "index": f.index,
            "protocol": f.tuple.protocol.as_str(),
            "src": {"ip": f.tuple.src.ip.to_string(), "port": f.tuple.src.port},
            "dst": {"ip": f.tuple.dst.ip.to_string(), "port": f.tuple.dst.port},
            "outcome": f.outcome.as_str(),
            "reason": f.reason.map(|r| r.as_str()),
            "backend": f.backend.as_ref().map(|b| backend_json(c, b)),
            "sourceIPSeen": f.source_seen.map(|ip| ip.to_string()),
            "masqueraded": f.masqueraded,
            "hops": f.hops.iter().map(|h| {
                let at = h.cause(c).and_then(|cause| self.cause_at(&cause));
                render::json::hop(&self.view(), f, h, at)
            }).collect::<Vec<_>>(),
            "dns": f.dns.as_ref().map(|d| json!({
                "query": d.query,
                "type": match d.qtype { crate::cluster::dns::QueryType::A => "A", crate::cluster::dns::QueryType::Srv => "SRV" },
                "rcode": match d.rcode { crate::cluster::dns::Rcode::NoError => "NOERROR", crate::cluster::dns::Rcode::NxDomain => "NXDOMAIN" },
                "answers": d.answers.iter().map(|a| json!({"name": a.name, "type": a.rtype, "data": a.data})).collect::<Vec<_>>(),
            })),
        })
    }

    /// The story of the run, for a terminal.
    pub fn story(&self) -> String {
        let mut out = String::new();
        let c = &self.run.cluster;
        let _ = writeln!(
            out,
            "cluster: {} node{}, {} pod{}, {} Service{}; kube-proxy {}; seed {}",
            c.nodes.len(),
            plural(c.nodes.len()),
            c.pods.iter().filter(|p| p.alive()).count(),
            plural(c.pods.iter().filter(|p| p.alive()).count()),
            c.services.iter().filter(|s| s.alive).count(),
            plural(c.services.iter().filter(|s| s.alive).count()),
            c.config.proxy.mode.as_str(),
            self.run.seed
        );
        // Flows by traffic entry, once (not one pass over every flow per entry).
        let mut by_traffic: Vec<Vec<&Flow>> = vec![Vec::new(); self.run.traffic.len()];
        for f in &self.run.flows {
            if let Some(v) = by_traffic.get_mut(f.traffic) {
                v.push(f);
            }
        }
        for (plan, flows) in self.run.traffic.iter().zip(by_traffic) {
            let Some(first) = flows.first() else { continue };
            let _ = writeln!(out);
            let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
            for f in &flows {
                let k = match f.reason {
                    Some(r) => format!("{} ({r})", f.outcome),
                    None => f.outcome.to_string(),
                };
                *outcomes.entry(k).or_default() += 1;
            }
            let summary: Vec<String> = outcomes
                .iter()
                .map(|(k, n)| format!("{k} {n}/{}", flows.len()))
                .collect();
            let target = match &plan.to {
                super::traffic::Target::Connect { host, port } => {
                    format!("{host}:{port} ({})", plan.protocol)
                }
                super::traffic::Target::Resolve { name, .. } => format!("resolve {name}"),
            };
            let from = match &plan.from {
                crate::scenario::From::Name(n) => n.clone(),
                crate::scenario::From::Address { ip, node } => format!("{ip} on {node}"),
            };
            let _ = writeln!(
                out,
                "{}: {from} -> {target}: {}",
                plan.name,
                summary.join(", ")
            );
            // The first request in full; then the first that ended differently.
            self.write_hops(&mut out, first);
            if let Some(other) = flows
                .iter()
                .find(|f| f.outcome != first.outcome || f.reason != first.reason)
            {
                let _ = writeln!(out, "  request {} ended differently:", other.index + 1);
                self.write_hops(&mut out, other);
            }
            if flows.len() > 1 {
                let mut by: BTreeMap<String, usize> = BTreeMap::new();
                for f in flows.iter().filter(|f| f.outcome == Outcome::Delivered) {
                    if let Some(b) = &f.backend {
                        *by.entry(backend_name(c, b)).or_default() += 1;
                    }
                }
                if !by.is_empty() {
                    let total: usize = by.values().sum();
                    let parts: Vec<String> = by
                        .iter()
                        .map(|(b, n)| format!("{b} {n} ({:.0}%)", 100.0 * *n as f64 / total as f64))
                        .collect();
                    let _ = writeln!(out, "  backends: {}", parts.join(", "));
                }
            }
            if let Some(why) = self.why(first) {
                let _ = writeln!(out, "  why: {why}");
            }
        }
        if !self.expectations.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "expectations:");
            for e in self.expectations {
                let _ = writeln!(
                    out,
                    "  {} {}",
                    if e.passed { "PASS" } else { "FAIL" },
                    e.message
                );
            }
        }
        out
    }

    fn write_hops(&self, out: &mut String, f: &Flow) {
        render::text::write_hops(out, &self.view(), f, &|cause| self.cause_at(cause));
    }

    /// The short explanation of a failed flow: what failed and the line to fix.
    pub fn why(&self, f: &Flow) -> Option<String> {
        let reason = f.reason?;
        let c = &self.run.cluster;
        let svc_port = f.story_hops().iter().find_map(|h| h.step.service_port());
        match reason {
            Reason::NoListener | Reason::BoundToLoopback => {
                let Some(Backend::Pod { pod, port }) = &f.backend else {
                    return crate::explain::explain(self, f).map(|x| x.summary);
                };
                let pod = c.pods.get(*pod)?;
                let listening: Vec<String> = pod
                    .containers
                    .iter()
                    .flat_map(|k| k.listen.sockets.iter().map(|s| s.port.to_string()))
                    .collect();
                let mut s = if reason == Reason::BoundToLoopback {
                    format!("{} listens on {port} only on 127.0.0.1", pod.name)
                } else {
                    format!(
                        "{} does not listen on {port}; it listens on {}",
                        pod.name,
                        if listening.is_empty() {
                            "nothing".into()
                        } else {
                            listening.join(", ")
                        }
                    )
                };
                if let Some((svc, port_index)) = svc_port {
                    let svc = c.services.get(svc)?;
                    let sp = svc.ports.get(port_index)?;
                    let target = match &sp.target {
                        TargetPort::Number(n) => n.to_string(),
                        TargetPort::Name(n) => n.clone(),
                    };
                    let field = format!("spec.ports[{port_index}].targetPort");
                    let at = self.locate(svc.origin, &field).unwrap_or_default();
                    let _ = write!(
                        s,
                        "; Service {} sends to targetPort {target} ({field} at {at})",
                        svc.name
                    );
                    if let Some(p) = listening.first()
                        && reason == Reason::NoListener
                    {
                        let _ = write!(s, ": set targetPort to {p}, where the app listens");
                    }
                }
                Some(s)
            }
            Reason::NoEndpoints => {
                let hop = f
                    .story_hops()
                    .iter()
                    .find(|h| h.action() == Action::Reject)?;
                let svc = c.services.get(hop.step.service_port()?.0)?;
                let Some(selector) = &svc.selector else {
                    return crate::explain::explain(self, f).map(|x| x.summary);
                };
                let sel: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let at = self.locate(svc.origin, "spec.selector").unwrap_or_default();
                let matching = c
                    .pods
                    .iter()
                    .filter(|p| {
                        p.alive()
                            && p.namespace == svc.namespace
                            && selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
                    })
                    .count();
                if matching > 0 {
                    if let Some(x) = crate::explain::explain(self, f) {
                        return Some(x.summary);
                    }
                    return Some(format!(
                        "the selector {} of Service {} matches {matching} pod{}, none ready ({at})",
                        sel.join(","),
                        svc.name,
                        plural(matching)
                    ));
                }
                let mut s = format!(
                    "the selector {} of Service {} ({at}) matches no pod",
                    sel.join(","),
                    svc.name
                );
                // A near miss: pods in the namespace whose labels differ in one value.
                let mut near: Vec<String> = Vec::new();
                for p in c
                    .pods
                    .iter()
                    .filter(|p| p.alive() && p.namespace == svc.namespace)
                {
                    for (k, v) in selector {
                        // A near miss: the same key with a value like the wanted one
                        // (`api` and `api-server`), not another app's (`web`).
                        if let Some(have) = p.labels.get(k)
                            && have != v
                            && (have.contains(v.as_str())
                                || v.contains(have.as_str())
                                || strsim::jaro_winkler(have, v) >= 0.8)
                            && selector
                                .iter()
                                .filter(|(k2, _)| *k2 != k)
                                .all(|(k2, v2)| p.labels.get(k2) == Some(v2))
                        {
                            near.push(format!("{k}={have}"));
                        }
                    }
                }
                near.sort();
                near.dedup();
                if !near.is_empty() {
                    let _ = write!(s, "; pods have {}", near.join(", "));
                }
                Some(s)
            }
            Reason::PolicyDenied => {
                let hop = f
                    .story_hops()
                    .iter()
                    .find(|h| h.action() == Action::PolicyDrop)?;
                let at = hop
                    .cause(c)
                    .and_then(|cause| self.cause_at(&cause))
                    .unwrap_or_default();
                Some(format!("{} ({at})", self.view().detail(f, hop)))
            }
            Reason::NxDomain => f
                .story_hops()
                .iter()
                .find(|h| h.action() == Action::Resolve)
                .map(|h| self.view().detail(f, h)),
            _ => crate::explain::explain(self, f).map(|x| x.summary),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn backend_json(c: &Cluster, b: &Backend) -> Value {
    match b {
        Backend::Pod { pod, port } => {
            let p = c.pods.get(*pod);
            json!({
                "pod": p.map(|p| if p.namespace == "default" { p.name.clone() } else { format!("{}/{}", p.namespace, p.name) }),
                "ip": p.map(|p| p.ip.to_string()),
                "port": port,
                "node": p.and_then(|p| c.nodes.get(p.node)).map(|n| n.name.clone()),
                "process": p.and_then(|p| p.containers.first()).map(|k| k.name.clone()),
            })
        }
        Backend::KubeProxy { node, port } => {
            let n = c.nodes.get(*node);
            json!({"pod": null, "ip": n.map(|n| n.ip.to_string()), "port": port, "node": n.map(|n| n.name.clone()), "process": "kube-proxy"})
        }
        Backend::External { ip, port, node } => {
            let n = node.and_then(|n| c.nodes.get(n)).map(|n| n.name.clone());
            json!({"pod": null, "ip": ip.to_string(), "port": port, "node": n, "process": null})
        }
        Backend::Client { client, port } => {
            let k = c.clients.get(*client);
            json!({"pod": null, "ip": k.map(|k| k.ip.to_string()), "port": port, "node": null, "process": k.map(|k| k.name.clone())})
        }
        Backend::Node { node, port } => {
            let n = c.nodes.get(*node);
            json!({"pod": null, "ip": n.map(|n| n.ip.to_string()), "port": port, "node": n.map(|n| n.name.clone()), "process": null})
        }
    }
}

/// `services[]` as they stand at the end of the run.
pub fn services_json(c: &Cluster) -> Vec<Value> {
    c.services
        .iter()
        .enumerate()
        .filter(|(_, s)| s.alive)
        .map(|(i, s)| {
            json!({
                "namespace": s.namespace,
                "name": s.name,
                "type": s.type_.as_str(),
                "clusterIP": match (s.type_, s.cluster_ip) {
                    (crate::cluster::ServiceType::ExternalName, _) => Value::Null,
                    (_, Some(ip)) => Value::from(ip.to_string()),
                    (_, None) => Value::from("None"),
                },
                "externalIPs": s.external_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "loadBalancerIPs": s.lb_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "healthCheckNodePort": s.health_check_node_port,
                "ports": s.ports.iter().enumerate().map(|(pi, p)| json!({
                    "name": p.name,
                    "protocol": p.protocol.as_str(),
                    "port": p.port,
                    "targetPort": match &p.target { TargetPort::Number(n) => Value::from(*n), TargetPort::Name(n) => Value::from(n.clone()) },
                    "nodePort": p.node_port,
                    "endpoints": c.endpoints(i, pi).iter().map(|e| json!({
                        "pod": e.pod.and_then(|p| c.pods.get(p)).map(|p| p.name.clone()),
                        "ip": e.ip.to_string(),
                        "port": e.port,
                        "node": e.node.and_then(|n| c.nodes.get(n)).map(|n| n.name.clone()),
                        "ready": e.ready,
                        "serving": e.serving,
                        "terminating": e.terminating,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}
