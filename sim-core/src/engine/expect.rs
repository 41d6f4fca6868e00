//! Expectations (`spec.expect`): did each flow end as the scenario says it must?

use std::collections::BTreeMap;

use crate::cluster::{Cluster, PodId};
use crate::diag::Diagnostic;
use crate::scenario::{Backends, Expectation, ScenarioDoc};
use crate::trace::{Backend, Flow, Outcome};

use super::RunResult;

/// The verdict on one expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectationResult {
    /// Index in `spec.expect`.
    pub index: usize,
    pub passed: bool,
    pub message: String,
}

/// Judge every expectation of `doc` against a run and the diagnostics of the input.
pub fn evaluate(
    doc: &ScenarioDoc,
    run: &RunResult,
    diagnostics: &[Diagnostic],
) -> Vec<ExpectationResult> {
    // Flows by traffic entry, and entries by name, once: linear in flows + expectations.
    let mut by_traffic: Vec<Vec<&Flow>> = vec![Vec::new(); run.traffic.len()];
    for f in &run.flows {
        if let Some(v) = by_traffic.get_mut(f.traffic) {
            v.push(f);
        }
    }
    let mut names = std::collections::BTreeMap::new();
    for (i, p) in run.traffic.iter().enumerate() {
        names.entry(p.name.as_str()).or_insert(i);
    }
    doc.spec
        .expect
        .iter()
        .enumerate()
        .map(|(index, x)| {
            let (passed, message) = match (&x.traffic, &x.diagnostic) {
                (Some(name), _) => match names.get(name.as_str()) {
                    Some(&t) => traffic(x, name, run, &by_traffic[t]),
                    None => (false, format!("{name}: no such traffic")),
                },
                (None, Some(d)) => {
                    let hit = diagnostics
                        .iter()
                        .chain(run.diagnostics.iter())
                        .find(|g| crate::admit::claims_diagnostic(d, g));
                    let what = describe_diag_expectation(d);
                    match hit {
                        Some(g) => (true, format!("diagnostic {what}: found \"{}\"", g.message)),
                        None => (false, format!("diagnostic {what}: no such diagnostic")),
                    }
                }
                (None, None) => (
                    false,
                    "expectation names neither traffic nor diagnostic".to_string(),
                ),
            };
            ExpectationResult {
                index,
                passed,
                message,
            }
        })
        .collect()
}

fn describe_diag_expectation(d: &crate::scenario::DiagnosticExpectation) -> String {
    let mut parts = Vec::new();
    if let Some(f) = &d.field {
        parts.push(format!("on {f}"));
    }
    if let Some(c) = &d.contains {
        parts.push(format!("containing \"{c}\""));
    }
    if let Some(c) = &d.code {
        parts.push(format!("with code {c}"));
    }
    parts.join(" ")
}

fn traffic(x: &Expectation, name: &str, run: &RunResult, flows: &[&Flow]) -> (bool, String) {
    if flows.is_empty() {
        return (false, format!("{name}: no request was sent"));
    }
    let n = flows.len();
    let mut failures = Vec::new();
    if let Some(want) = x.outcome.as_deref().and_then(Outcome::parse) {
        let wrong: Vec<&&Flow> = flows.iter().filter(|f| f.outcome != want).collect();
        if let Some(first) = wrong.first() {
            let mut by: BTreeMap<String, usize> = BTreeMap::new();
            for f in &wrong {
                let k = match f.reason {
                    Some(r) => format!("{} ({r})", f.outcome),
                    None => f.outcome.to_string(),
                };
                *by.entry(k).or_default() += 1;
            }
            let got: Vec<String> = by.iter().map(|(k, c)| format!("{c} of {n} {k}")).collect();
            let _ = first;
            failures.push(format!("expected {want}, got {}", got.join(", ")));
        }
    }
    if let Some(want) = &x.reason {
        let wrong = flows
            .iter()
            .filter(|f| f.reason.map(|r| r.as_str()) != Some(want.as_str()))
            .count();
        if wrong > 0 {
            failures.push(format!(
                "expected reason {want} in every request, {wrong} of {n} differ"
            ));
        }
    }
    let delivered: Vec<&&Flow> = flows
        .iter()
        .filter(|f| f.outcome == Outcome::Delivered)
        .collect();
    if let Some(b) = &x.backends {
        let allowed = allowed_backends(&run.cluster, b);
        let outside: Vec<String> = delivered
            .iter()
            .filter_map(|f| f.backend.as_ref())
            .filter(|b| !allowed.matches(&run.cluster, b))
            .map(|b| backend_name(&run.cluster, b))
            .collect();
        if !outside.is_empty() {
            failures.push(format!(
                "reached backends outside {}: {}",
                describe_backends(b),
                dedup(outside).join(", ")
            ));
        }
        if delivered.is_empty() && x.outcome.is_none() {
            failures.push(format!(
                "no request reached any backend ({})",
                describe_backends(b)
            ));
        }
    }
    if let Some(port) = x.port {
        let wrong: Vec<u16> = delivered
            .iter()
            .filter_map(|f| backend_port(f.backend.as_ref()?))
            .filter(|p| *p != port)
            .collect();
        if !wrong.is_empty() {
            failures.push(format!(
                "expected container port {port}, reached {}",
                dedup(wrong.iter().map(|p| p.to_string()).collect()).join(", ")
            ));
        }
        if delivered.is_empty() && x.outcome.as_deref() != Some("delivered") {
            failures.push(format!(
                "expected container port {port}, but no request was delivered"
            ));
        }
    }
    if let Some(want) = &x.source_ip {
        for f in &delivered {
            let Some(seen) = f.source_seen else { continue };
            let ok =
                match want.as_str() {
                    "client" => seen == f.tuple.src.ip,
                    "node" => run.cluster.nodes.iter().any(|n| {
                        n.addresses().any(|a| a == seen) || n.pod_cidr.nth(1) == Some(seen)
                    }),
                    ip => ip.parse::<std::net::Ipv4Addr>().ok() == Some(seen),
                };
            if !ok {
                failures.push(format!(
                    "expected the backend to see source {want}, it saw {seen}"
                ));
                break;
            }
        }
    }
    if let Some(min) = x.min_share {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for f in &delivered {
            if let Some(b) = &f.backend {
                *counts.entry(backend_name(&run.cluster, b)).or_default() += 1;
            }
        }
        if let Some(Backends::Selector { .. } | Backends::List(_)) = &x.backends {
            let allowed = allowed_backends(
                &run.cluster,
                x.backends.as_ref().unwrap_or(&Backends::List(Vec::new())),
            );
            for name in allowed.names(&run.cluster) {
                counts.entry(name).or_default();
            }
        }
        let total = delivered.len().max(1) as f64;
        let low: Vec<String> = counts
            .iter()
            .filter(|(_, c)| (**c as f64) / total < min)
            .map(|(b, c)| format!("{b} got {:.1}%", 100.0 * *c as f64 / total))
            .collect();
        if !low.is_empty() {
            failures.push(format!(
                "each backend should get at least {:.1}%: {}",
                100.0 * min,
                low.join(", ")
            ));
        }
    }
    if failures.is_empty() {
        let summary = match x.outcome.as_deref() {
            Some(o) => format!("{o} ({n}/{n})"),
            None => format!("{n} request{} as expected", if n == 1 { "" } else { "s" }),
        };
        (true, format!("{name}: {summary}"))
    } else {
        (false, format!("{name}: {}", failures.join("; ")))
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

fn backend_port(b: &Backend) -> Option<u16> {
    match b {
        Backend::Pod { port, .. }
        | Backend::KubeProxy { port, .. }
        | Backend::External { port, .. }
        | Backend::Client { port, .. }
        | Backend::Node { port, .. } => Some(*port),
    }
}

/// A backend as people name it: a pod's name, else `ip:port`.
pub fn backend_name(cluster: &Cluster, b: &Backend) -> String {
    match b {
        Backend::Pod { pod, .. } => cluster
            .pods
            .get(*pod)
            .map_or_else(String::new, |p| p.name.clone()),
        Backend::KubeProxy { node, .. } => format!(
            "kube-proxy@{}",
            cluster.nodes.get(*node).map_or("", |n| n.name.as_str())
        ),
        Backend::External { ip, port, .. } => format!("{ip}:{port}"),
        Backend::Client { client, .. } => cluster
            .clients
            .get(*client)
            .map_or_else(String::new, |c| c.name.clone()),
        Backend::Node { node, .. } => cluster
            .nodes
            .get(*node)
            .map_or_else(String::new, |n| n.name.clone()),
    }
}

fn describe_backends(b: &Backends) -> String {
    match b {
        Backends::Selector { selector } => format!("selector {selector}"),
        Backends::List(l) => l.join(", "),
    }
}

/// The backends an expectation allows.
struct Allowed {
    pods: Vec<PodId>,
    addrs: Vec<String>,
}

impl Allowed {
    fn matches(&self, cluster: &Cluster, b: &Backend) -> bool {
        match b {
            Backend::Pod { pod, port } => {
                self.pods.contains(pod)
                    || cluster
                        .pods
                        .get(*pod)
                        .is_some_and(|p| self.addrs.contains(&format!("{}:{port}", p.ip)))
            }
            Backend::External { ip, port, .. } => self.addrs.contains(&format!("{ip}:{port}")),
            _ => false,
        }
    }
    fn names(&self, cluster: &Cluster) -> Vec<String> {
        let mut v: Vec<String> = self
            .pods
            .iter()
            .filter_map(|p| cluster.pods.get(*p).map(|p| p.name.clone()))
            .collect();
        v.extend(self.addrs.iter().cloned());
        v
    }
}

fn allowed_backends(cluster: &Cluster, b: &Backends) -> Allowed {
    match b {
        Backends::Selector { selector } => {
            let pairs: Vec<(&str, &str)> = selector
                .split(',')
                .filter_map(|kv| kv.trim().split_once('='))
                .map(|(k, v)| (k.trim(), v.trim()))
                .collect();
            let pods = (0..cluster.pods.len())
                .filter(|&p| {
                    let pod = &cluster.pods[p];
                    pod.alive()
                        && pairs
                            .iter()
                            .all(|(k, v)| pod.labels.get(*k).map(String::as_str) == Some(*v))
                })
                .collect();
            Allowed {
                pods,
                addrs: Vec::new(),
            }
        }
        Backends::List(items) => {
            let mut pods = Vec::new();
            let mut addrs = Vec::new();
            for item in items {
                if item.contains(':') {
                    addrs.push(item.clone());
                } else {
                    let (ns, name) = super::split_ns(item);
                    match cluster.pod_by_name(ns, name) {
                        Some(p) => pods.push(p),
                        // A workload name stands for all its pods.
                        None => pods.extend((0..cluster.pods.len()).filter(|&q| {
                            let pod = &cluster.pods[q];
                            pod.alive()
                                && pod.namespace == ns
                                && super::traffic::workload_prefix_matches(&pod.name, name)
                        })),
                    }
                }
            }
            Allowed { pods, addrs }
        }
    }
}
