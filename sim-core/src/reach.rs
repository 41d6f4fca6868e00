//! Who can reach what: the all-pairs reachability matrix behind `simctl reach`.
//!
//! Rows are the senders (every client, then every live pod of the user's, by namespace
//! and name), columns the entrances of every Service port (its ClusterIP; its NodePort
//! on every node; every LoadBalancer address; every externalIP). Each applicable cell is
//! one simulated request ([`crate::engine::run_plans`]), so a cell says exactly what a
//! `simctl run` of that one connection would: the outcome, the reason, and why.
//!
//! A ClusterIP exists only inside the cluster, so clients get no cell for it. The cluster
//! is the one the input builds, before any Scenario event. One request per cell means a
//! Service whose endpoints differ (one listens, one does not) shows the endpoint the seeded
//! RNG picked; `simctl run` with `requests:` shows the spread.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use serde_json::{Value, json};

use crate::cluster::{Cluster, Origin, ServiceType};
use crate::engine::report::Report;
use crate::engine::traffic::{Target, TrafficPlan};
use crate::engine::{self, RunOptions, RunResult, expect::backend_name};
use crate::manifest::Loaded;
use crate::net::Protocol;
use crate::scenario::From;
use crate::source::Sources;
use crate::trace::{Flow, Outcome, Reason};

/// Who sends: a row of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// `laptop`, `pod/web-6d8c5-abcde`, `pod/shop/api-0`.
    pub name: String,
    pub kind: SourceKind,
    pub ip: Ipv4Addr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Client,
    Pod,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Client => "client",
            SourceKind::Pod => "pod",
        }
    }
}

/// How a Service port is entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntranceKind {
    ClusterIp,
    NodePort { node: String },
    LoadBalancer,
    ExternalIp,
}

impl EntranceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EntranceKind::ClusterIp => "ClusterIP",
            EntranceKind::NodePort { .. } => "NodePort",
            EntranceKind::LoadBalancer => "LoadBalancer",
            EntranceKind::ExternalIp => "externalIP",
        }
    }
}

/// A column of the matrix: one address and port that leads to one Service port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entrance {
    /// The column header: `web:80`, `web:30080@node-1`, `shop/db:5432@lb:198.51.100.1`.
    pub label: String,
    pub namespace: String,
    pub service: String,
    /// The Service port (`spec.ports[].port`) and its protocol.
    pub port: u16,
    pub protocol: Protocol,
    pub kind: EntranceKind,
    /// Where a sender connects.
    pub ip: Ipv4Addr,
    pub dst_port: u16,
}

/// One cell: a sender against an entrance.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub source: usize,
    pub entrance: usize,
    /// The flow of the run that answers this cell; `None` when the cell does not apply
    /// (a client and a ClusterIP).
    pub flow: Option<usize>,
}

/// The matrix and the run that filled it.
#[derive(Clone, Debug)]
pub struct Matrix {
    pub sources: Vec<Source>,
    pub entrances: Vec<Entrance>,
    /// Row-major: `cells[source * entrances.len() + entrance]`.
    pub cells: Vec<Cell>,
    pub run: RunResult,
}

/// Build the cluster and send one request per applicable cell.
pub fn matrix(loaded: &Loaded, opts: &RunOptions) -> Matrix {
    let mut sources = Vec::new();
    let mut entrances = Vec::new();
    let mut cells = Vec::new();
    let mut over = None;
    let mut run = engine::run_plans(loaded, opts, |cluster| {
        sources = senders(cluster);
        entrances = entrances_of(cluster);
        let mut plans = Vec::new();
        let count = sources.len().saturating_mul(entrances.len());
        if count > crate::limits::MAX_REACH_CELLS {
            over = Some(count);
            return plans;
        }
        for (si, s) in sources.iter().enumerate() {
            for (ei, e) in entrances.iter().enumerate() {
                let applies = !(s.kind == SourceKind::Client && e.kind == EntranceKind::ClusterIp);
                let flow = applies.then(|| {
                    plans.push(TrafficPlan {
                        name: format!("{} -> {}", s.name, e.label),
                        from: From::Name(s.name.clone()),
                        to: Target::Connect {
                            host: e.ip.to_string(),
                            port: e.dst_port,
                        },
                        protocol: e.protocol,
                        requests: 1,
                        interval_ns: 1_000_000,
                        start_ns: 0,
                        source_port: None,
                        generated: true,
                    });
                    plans.len() - 1
                });
                cells.push(Cell {
                    source: si,
                    entrance: ei,
                    flow,
                });
            }
        }
        plans
    });
    // One request per plan: the flow of plan i is the one whose `traffic` is i.
    let by_plan: BTreeMap<usize, usize> = run
        .flows
        .iter()
        .enumerate()
        .map(|(i, f)| (f.traffic, i))
        .collect();
    for c in &mut cells {
        c.flow = c.flow.and_then(|p| by_plan.get(&p).copied());
    }
    if let Some(count) = over {
        run.diagnostics.push(crate::limits::exceeded(
            format!(
                "{} senders x {} Service entrances make {} cells",
                crate::limits::grouped(sources.len() as u64),
                crate::limits::grouped(entrances.len() as u64),
                crate::limits::grouped(count as u64)
            ),
            crate::limits::MAX_REACH_CELLS as u64,
            "cells",
            "each cell is one simulated request: check a part of the input (a namespace's manifests), or ask `simctl run` about the connections you care about",
        ));
    }
    Matrix {
        sources,
        entrances,
        cells,
        run,
    }
}

/// Clients in the Scenario's order, then live pods of the user's (not simctl's own
/// CoreDNS, not `kube-system`) by namespace and name.
fn senders(cluster: &Cluster) -> Vec<Source> {
    let mut out: Vec<Source> = cluster
        .clients
        .iter()
        .map(|c| Source {
            name: c.name.clone(),
            kind: SourceKind::Client,
            ip: c.ip,
        })
        .collect();
    let mut pods: Vec<&crate::cluster::SimPod> = cluster
        .pods
        .iter()
        .filter(|p| p.alive() && p.origin != Origin::Default && p.namespace != "kube-system")
        .collect();
    pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out.extend(pods.into_iter().map(|p| Source {
        name: format!("pod/{}/{}", p.namespace, p.name),
        kind: SourceKind::Pod,
        ip: p.ip,
    }));
    // `pod/default/x` reads better as `pod/x`; the engine takes both.
    for s in &mut out {
        if let Some(rest) = s.name.strip_prefix("pod/default/") {
            s.name = format!("pod/{rest}");
        }
    }
    out
}

/// Every entrance of every live user Service, by namespace and name, then port, then
/// ClusterIP, NodePort per node, LoadBalancer addresses, externalIPs.
fn entrances_of(cluster: &Cluster) -> Vec<Entrance> {
    let mut services: Vec<&crate::cluster::SimService> = cluster
        .services
        .iter()
        .filter(|s| s.alive && s.origin != Origin::Default && s.type_ != ServiceType::ExternalName)
        .collect();
    services.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let mut out = Vec::new();
    for s in services {
        let svc = if s.namespace == "default" {
            s.name.clone()
        } else {
            format!("{}/{}", s.namespace, s.name)
        };
        for p in &s.ports {
            let proto = if p.protocol == Protocol::Tcp {
                String::new()
            } else {
                format!("/{}", p.protocol.lower())
            };
            let mut push = |label: String, kind: EntranceKind, ip: Ipv4Addr, dst_port: u16| {
                out.push(Entrance {
                    label,
                    namespace: s.namespace.clone(),
                    service: s.name.clone(),
                    port: p.port,
                    protocol: p.protocol,
                    kind,
                    ip,
                    dst_port,
                });
            };
            if let Some(ip) = s.cluster_ip {
                push(
                    format!("{svc}:{}{proto}", p.port),
                    EntranceKind::ClusterIp,
                    ip,
                    p.port,
                );
            }
            if let Some(np) = p.node_port {
                for n in &cluster.nodes {
                    push(
                        format!("{svc}:{np}{proto}@{}", n.name),
                        EntranceKind::NodePort {
                            node: n.name.clone(),
                        },
                        n.ip,
                        np,
                    );
                }
            }
            for lb in &s.lb_ips {
                push(
                    format!("{svc}:{}{proto}@lb:{lb}", p.port),
                    EntranceKind::LoadBalancer,
                    *lb,
                    p.port,
                );
            }
            for ext in &s.external_ips {
                push(
                    format!("{svc}:{}{proto}@ext:{ext}", p.port),
                    EntranceKind::ExternalIp,
                    *ext,
                    p.port,
                );
            }
        }
    }
    out
}

impl Matrix {
    /// The cell of a source and an entrance.
    pub fn cell(&self, source: usize, entrance: usize) -> Option<&Cell> {
        self.cells.get(
            source
                .checked_mul(self.entrances.len())?
                .checked_add(entrance)?,
        )
    }

    /// The flow that answers a cell.
    pub fn flow(&self, cell: &Cell) -> Option<&Flow> {
        cell.flow.and_then(|f| self.run.flows.get(f))
    }

    /// The cell as the table shows it: `ok`, `refused:NoEndpoints`, `timeout:PolicyDenied`,
    /// `-` where it does not apply.
    pub fn cell_text(&self, cell: &Cell) -> String {
        match self.flow(cell) {
            None => "-".into(),
            Some(f) => cell_word(f.outcome, f.reason),
        }
    }

    /// The cell at (`source` name, `entrance` label), as the table shows it.
    pub fn lookup(&self, source: &str, entrance: &str) -> Option<String> {
        let s = self.sources.iter().position(|s| s.name == source)?;
        let e = self.entrances.iter().position(|e| e.label == entrance)?;
        self.cell(s, e).map(|c| self.cell_text(c))
    }

    /// The table for a terminal: the entrances, the matrix, then each distinct failure
    /// with its explanation.
    pub fn to_text(&self, sources: &Sources, loaded: &Loaded) -> String {
        let report = Report {
            sources,
            loaded,
            run: &self.run,
            expectations: &[],
            diagnostics: &[],
        };
        let c = &self.run.cluster;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "reach: {} source{} x {} entrance{}; kube-proxy {}, seed {}",
            self.sources.len(),
            plural(self.sources.len()),
            self.entrances.len(),
            plural(self.entrances.len()),
            c.config.proxy.mode.as_str(),
            self.run.seed
        );
        if self.entrances.is_empty() || self.sources.is_empty() {
            let _ = writeln!(
                out,
                "nothing to probe: {}",
                if self.entrances.is_empty() {
                    "no Service has an entrance"
                } else {
                    "no client and no pod to send from"
                }
            );
            return out;
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "entrances:");
        let lw = self
            .entrances
            .iter()
            .map(|e| e.label.len())
            .max()
            .unwrap_or(0);
        for e in &self.entrances {
            let at = match &e.kind {
                EntranceKind::NodePort { node } => format!("on {node} {}:{}", e.ip, e.dst_port),
                _ => format!("{}:{}", e.ip, e.dst_port),
            };
            let _ = writeln!(
                out,
                "  {}  Service {}/{} port {}/{}, {} {at}",
                crate::text::pad_right(&e.label, lw),
                e.namespace,
                e.service,
                e.port,
                e.protocol,
                e.kind.as_str()
            );
        }
        let _ = writeln!(out);
        // Column widths: the header or the widest cell.
        let texts: Vec<String> = self.cells.iter().map(|c| self.cell_text(c)).collect();
        let rw = self
            .sources
            .iter()
            .map(|s| s.name.len())
            .chain(std::iter::once("source".len()))
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = self
            .entrances
            .iter()
            .enumerate()
            .map(|(ei, e)| {
                (0..self.sources.len())
                    .filter_map(|si| texts.get(si * self.entrances.len() + ei))
                    .map(String::len)
                    .chain(std::iter::once(e.label.len()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut header = crate::text::pad_right("source", rw);
        for (e, w) in self.entrances.iter().zip(&widths) {
            header.push_str("  ");
            crate::text::push_padded(&mut header, &e.label, *w);
        }
        let _ = writeln!(out, "{}", header.trim_end());
        for (si, s) in self.sources.iter().enumerate() {
            let mut line = crate::text::pad_right(&s.name, rw);
            for (ei, w) in widths.iter().enumerate() {
                let t = texts
                    .get(si * self.entrances.len() + ei)
                    .map_or("-", String::as_str);
                line.push_str("  ");
                crate::text::push_padded(&mut line, t, *w);
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        // Distinct failures: per entrance and outcome, the senders and the first one's
        // explanation; then entrances with the same outcome and explanation merged.
        let mut per_entrance: BTreeMap<(usize, String), (Vec<usize>, String)> = BTreeMap::new();
        for cell in &self.cells {
            let Some(f) = self.flow(cell) else { continue };
            if f.outcome == Outcome::Delivered {
                continue;
            }
            let e = per_entrance
                .entry((cell.entrance, cell_word(f.outcome, f.reason)))
                .or_insert_with(|| (Vec::new(), report.why(f).unwrap_or_default()));
            e.0.push(cell.source);
        }
        let mut failures: BTreeMap<(String, String), FailureGroup> = BTreeMap::new();
        for ((ei, word), (srcs, why)) in per_entrance {
            let e = failures.entry((word, why)).or_default();
            e.0.push(ei);
            e.2 += srcs.len();
            for s in srcs {
                if !e.1.contains(&s) {
                    e.1.push(s);
                }
            }
        }
        let ok = self
            .cells
            .iter()
            .filter_map(|c| self.flow(c))
            .filter(|f| f.outcome == Outcome::Delivered)
            .count();
        let total = self.cells.iter().filter(|c| c.flow.is_some()).count();
        let _ = writeln!(out);
        let _ = writeln!(out, "{ok} of {total} reach their Service");
        if !failures.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "failures:");
            for ((word, why), (ents, srcs, n)) in &failures {
                let mut ents = ents.clone();
                ents.sort_unstable();
                let ents: Vec<&str> = ents
                    .iter()
                    .filter_map(|e| self.entrances.get(*e))
                    .map(|e| e.label.as_str())
                    .collect();
                let first = srcs
                    .first()
                    .and_then(|s| self.sources.get(*s))
                    .map_or("", |s| s.name.as_str());
                let from = match srcs.len() {
                    0 | 1 => first.to_string(),
                    k => format!("{first} and {} more", k - 1),
                };
                let _ = writeln!(
                    out,
                    "  {word} at {} (from {from}: {n} cell{})",
                    ents.join(", "),
                    plural(*n)
                );
                if !why.is_empty() {
                    let _ = writeln!(out, "    why: {why}");
                }
            }
        }
        out
    }

    /// `simctl reach -o json`.
    pub fn to_json(&self, sources: &Sources, loaded: &Loaded) -> Value {
        let report = Report {
            sources,
            loaded,
            run: &self.run,
            expectations: &[],
            diagnostics: &[],
        };
        let c = &self.run.cluster;
        json!({
            "seed": self.run.seed,
            "proxyMode": c.config.proxy.mode.as_str(),
            "sources": self.sources.iter().map(|s| json!({
                "name": s.name,
                "kind": s.kind.as_str(),
                "ip": s.ip.to_string(),
            })).collect::<Vec<_>>(),
            "entrances": self.entrances.iter().map(|e| json!({
                "label": e.label,
                "namespace": e.namespace,
                "service": e.service,
                "port": e.port,
                "protocol": e.protocol.as_str(),
                "kind": e.kind.as_str(),
                "node": match &e.kind { EntranceKind::NodePort { node } => Value::from(node.clone()), _ => Value::Null },
                "address": format!("{}:{}", e.ip, e.dst_port),
            })).collect::<Vec<_>>(),
            "cells": self.cells.iter().filter_map(|cell| {
                let f = self.flow(cell)?;
                Some(json!({
                    "source": self.sources.get(cell.source).map(|s| s.name.clone()),
                    "entrance": self.entrances.get(cell.entrance).map(|e| e.label.clone()),
                    "outcome": f.outcome.as_str(),
                    "reason": f.reason.map(Reason::as_str),
                    "cell": cell_word(f.outcome, f.reason),
                    "backend": f.backend.as_ref().map(|b| backend_name(c, b)),
                    "why": report.why(f),
                }))
            }).collect::<Vec<_>>(),
        })
    }
}

/// Entrances, senders and the number of cells of one kind of failure.
type FailureGroup = (Vec<usize>, Vec<usize>, usize);

fn cell_word(outcome: Outcome, reason: Option<Reason>) -> String {
    match (outcome, reason) {
        (Outcome::Delivered, _) => "ok".into(),
        (o, Some(r)) => format!("{o}:{r}"),
        (o, None) => o.to_string(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LoadOptions, load_str};

    const YAML: &str = r#"
apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: reach}
spec:
  clients: [{name: laptop, ip: 203.0.113.10}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers: [{name: web, image: nginx}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  selector: {app: nothing}
  ports: [{port: 80}]
"#;

    #[test]
    fn cells_say_what_one_request_does() {
        let (_sources, loaded) = load_str("r.yaml", YAML, &LoadOptions::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let m = matrix(&loaded, &RunOptions::default());
        let labels: Vec<&str> = m.entrances.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(
            labels,
            ["empty:80", "web:80", "web:30080@node-1", "web:30080@node-2"]
        );
        assert_eq!(
            m.lookup("laptop", "web:30080@node-2").as_deref(),
            Some("ok")
        );
        assert_eq!(m.lookup("laptop", "web:80").as_deref(), Some("-"));
        assert_eq!(m.lookup("pod/web", "web:80").as_deref(), Some("ok"));
        assert_eq!(
            m.lookup("pod/web", "empty:80").as_deref(),
            Some("refused:NoEndpoints")
        );
    }

    #[test]
    fn same_input_same_table() {
        let (sources, loaded) = load_str("r.yaml", YAML, &LoadOptions::default());
        let a = matrix(&loaded, &RunOptions::default()).to_text(&sources, &loaded);
        let b = matrix(&loaded, &RunOptions::default()).to_text(&sources, &loaded);
        assert_eq!(a, b);
        assert!(a.contains("failures:"), "{a}");
    }
}
