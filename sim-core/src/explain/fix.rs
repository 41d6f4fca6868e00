//! What would fix a failed flow, proven: one-field edits of the input text, each
//! re-loaded and re-simulated, kept when the flow is then `delivered` and no flow that
//! was delivered stops being so.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::cluster::{Cluster, Origin, PodId, Readiness, TargetPort};
use crate::engine::report::Report;
use crate::engine::traffic::{Sender, Target};
use crate::engine::{RunOptions, RunResult, TraceLevel};
use crate::manifest::{self, LoadOptions, Loaded};
use crate::source::{SourceId, Sources};
use crate::trace::{Backend, Flow, Outcome, Reason};
use crate::yaml::{Node, Value as Y};

use super::edit::{self, LineEdit, find, insert_after, replace_bytes, replace_scalar};

/// An edit to try, with what it does in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub description: String,
    pub edit: LineEdit,
}

/// A proven fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub description: String,
    /// The file it edits.
    pub file: String,
    pub edit: LineEdit,
    /// A unified diff of the edit.
    pub diff: String,
}

impl Fix {
    pub fn changed_lines(&self) -> usize {
        self.edit.changed_lines()
    }

    pub fn to_json(&self) -> Value {
        json!({
            "description": self.description,
            "file": self.file,
            "line": self.edit.start,
            "removedLines": self.edit.old_len,
            "addedLines": self.edit.lines.len(),
            "diff": self.diff,
        })
    }
}

/// Bounds of the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Candidates simulated per flow, at most.
    pub max_candidates: usize,
    /// Proven fixes kept per flow.
    pub max_fixes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_candidates: crate::limits::MAX_FIX_CANDIDATES,
            max_fixes: crate::limits::MAX_FIXES,
        }
    }
}

/// Labels the controllers add; never a selector's business.
pub fn is_generated_label(k: &str) -> bool {
    matches!(
        k,
        "pod-template-hash"
            | "controller-revision-hash"
            | "statefulset.kubernetes.io/pod-name"
            | "apps.kubernetes.io/pod-index"
            | "pod-template-generation"
    )
}

/// Two names a typo apart (one or two letters), or one a dash-suffixed form of the
/// other (`api`, `api-server`).
pub fn similar(a: &str, b: &str) -> bool {
    if a == b || a.is_empty() || b.is_empty() {
        return false;
    }
    let longest = a.len().max(b.len());
    strsim::damerau_levenshtein(a, b) <= if longest <= 4 { 1 } else { 2 }
        || a.starts_with(&format!("{b}-"))
        || b.starts_with(&format!("{a}-"))
}

/// The proven fixes of a failed flow, smallest first.
pub fn proven_fixes(report: &Report, opts: &RunOptions, f: &Flow, limits: Limits) -> Vec<Fix> {
    let cands = candidates(report, f);
    prove(report.sources, report.run, opts, f.traffic, cands, limits)
}

/// Simulate each candidate (smallest first, at most `limits.max_candidates`) and keep
/// those that deliver every request of traffic `traffic` without breaking another
/// entry that delivered every request.
pub fn prove(
    sources: &Sources,
    run: &RunResult,
    opts: &RunOptions,
    traffic: usize,
    mut cands: Vec<Candidate>,
    limits: Limits,
) -> Vec<Fix> {
    let Some(target) = run.traffic.get(traffic).map(|t| t.name.clone()) else {
        return Vec::new();
    };
    let before = all_delivered(run);
    // Smallest edits first; ties keep the order of generation (most likely first).
    cands.sort_by_key(|c| c.edit.changed_lines());
    let mut seen: BTreeSet<(SourceId, usize, usize, Vec<String>)> = BTreeSet::new();
    let mut out = Vec::new();
    let opts = RunOptions {
        trace: TraceLevel::Summary,
        ..opts.clone()
    };
    for cand in cands
        .into_iter()
        .filter(|c| {
            seen.insert((
                c.edit.source,
                c.edit.start,
                c.edit.old_len,
                c.edit.lines.clone(),
            ))
        })
        .take(limits.max_candidates)
    {
        if out.len() >= limits.max_fixes {
            break;
        }
        let Some(new_sources) = with_edit(sources, &cand.edit) else {
            continue;
        };
        let loaded = manifest::load(
            &new_sources,
            &LoadOptions {
                namespace: run.cluster.config.namespace.clone(),
                ..LoadOptions::default()
            },
        );
        if loaded.has_errors() {
            continue;
        }
        let result = crate::engine::run(&loaded, &opts);
        let after = all_delivered(&result);
        if after.get(&target) != Some(&true) {
            continue;
        }
        if before
            .iter()
            .any(|(name, ok)| *ok && after.get(name) == Some(&false))
        {
            continue;
        }
        let file = sources.name(cand.edit.source).to_string();
        let text = sources
            .get(cand.edit.source)
            .map(|f| f.text.as_str())
            .unwrap_or("");
        out.push(Fix {
            description: cand.description,
            diff: edit::unified_diff(&file, text, &cand.edit),
            file,
            edit: cand.edit,
        });
    }
    out
}

/// The sources with one edit applied.
pub fn with_edit(sources: &Sources, e: &LineEdit) -> Option<Sources> {
    let mut out = Sources::new();
    for (id, f) in sources.iter() {
        if id == e.source {
            out.add(f.name.clone(), edit::apply(&f.text, e)?);
        } else {
            out.add(f.name.clone(), f.text.clone());
        }
    }
    Some(out)
}

/// Per traffic name: did every request end delivered?
fn all_delivered(run: &RunResult) -> BTreeMap<String, bool> {
    let mut m: BTreeMap<String, bool> = BTreeMap::new();
    for f in &run.flows {
        if let Some(t) = run.traffic.get(f.traffic) {
            let e = m.entry(t.name.clone()).or_insert(true);
            *e &= f.outcome == Outcome::Delivered;
        }
    }
    m
}

/// Generate the one-field edits a learner could make, most likely first.
pub fn candidates(report: &Report, f: &Flow) -> Vec<Candidate> {
    let mut g = Gen {
        report,
        out: Vec::new(),
    };
    let Some(reason) = f.reason else {
        return Vec::new();
    };
    match reason {
        Reason::NoListener | Reason::BoundToLoopback => g.no_listener(f, reason),
        Reason::NoEndpoints => g.no_endpoints(f),
        Reason::PolicyDenied => g.policy(f),
        Reason::NxDomain => g.nxdomain(f),
        Reason::NoLocalEndpoint => {
            if let Some((s, _)) = g.service_of(f) {
                g.set_service_field(
                    s,
                    "spec.externalTrafficPolicy",
                    "Cluster",
                    "externalTrafficPolicy: Cluster",
                );
            }
            g.send_to_nodes_with_endpoints(f);
        }
        Reason::NoLocalInternalEndpoint => {
            if let Some((s, _)) = g.service_of(f) {
                g.set_service_field(
                    s,
                    "spec.internalTrafficPolicy",
                    "Cluster",
                    "internalTrafficPolicy: Cluster",
                );
            }
        }
        Reason::SourceRangeDenied => g.source_range(f),
        Reason::NoServicePort | Reason::NoHost => g.service_port(f),
        Reason::NoRoute => g.no_route(f),
        Reason::NodeDown | Reason::PacketLost | Reason::HopLimit => {}
    }
    g.node_port_range();
    g.out
}

struct Gen<'a> {
    report: &'a Report<'a>,
    out: Vec<Candidate>,
}

impl<'a> Gen<'a> {
    fn cluster(&self) -> &'a Cluster {
        &self.report.run.cluster
    }

    fn node_of(&self, origin: Origin) -> Option<&'a Node> {
        match origin {
            Origin::Object(i) | Origin::Workload(i) => {
                self.report.loaded.objects.get(i).map(|o| &o.node)
            }
            _ => None,
        }
    }

    fn text(&self, source: SourceId) -> &'a str {
        self.report
            .sources
            .get(source)
            .map_or("", |f| f.text.as_str())
    }

    fn push(&mut self, description: String, edit: Option<LineEdit>) {
        if let Some(edit) = edit {
            self.out.push(Candidate { description, edit });
        }
    }

    fn service_of(&self, f: &Flow) -> Option<(usize, usize)> {
        super::service_of_flow(self.cluster(), f)
    }

    /// Set a scalar field of an object, or add it under its parent mapping.
    fn set_field(&mut self, origin: Origin, path: &str, value: &str, string: bool, what: String) {
        let Some(root) = self.node_of(origin) else {
            return;
        };
        let e = match find(root, path) {
            Some((n, _)) if !matches!(n.value, Y::Map(_) | Y::Seq(_)) => {
                replace_scalar(self.report.sources, n, value, string)
            }
            Some(_) => None,
            None => {
                let (parent, key) = match path.rsplit_once('.') {
                    Some((p, k)) => (p, k),
                    None => return,
                };
                find(root, parent).and_then(|(pn, _)| self.add_key(pn, key, value, string))
            }
        };
        self.push(what, e);
    }

    /// Add `key: value` to a mapping node (block or flow style).
    fn add_key(&self, map: &Node, key: &str, value: &str, string: bool) -> Option<LineEdit> {
        let Y::Map(entries) = &map.value else {
            return None;
        };
        let first = entries.first()?;
        let source = map.span.source;
        let text = self.text(source);
        let v = edit::yaml_scalar(
            value,
            (string && value.parse::<f64>().is_ok()).then_some('"'),
        );
        // Flow style: `{port: 80}` -> append `, key: value` after the last value.
        let flow = text
            .get(map.span.offset..)
            .and_then(|r| r.chars().next())
            .is_some_and(|c| c == '{');
        if flow {
            let last = entries.last()?;
            let (_, end) = edit::scalar_range(text, last.value.span)?;
            return replace_bytes(source, text, end, end, &format!(", {key}: {v}"));
        }
        let indent = " ".repeat(first.key_span.column.saturating_sub(1) as usize);
        let after = edit::last_line(map) as usize;
        Some(insert_after(
            source,
            after,
            vec![format!("{indent}{key}: {v}")],
        ))
    }

    fn set_service_field(&mut self, s: usize, path: &str, value: &str, what: &str) {
        let Some(svc) = self.cluster().services.get(s) else {
            return;
        };
        let origin = svc.origin;
        let desc = format!("Service {}: set {what}", svc.name);
        self.set_field(origin, path, value, false, desc);
    }

    fn set_target_port(&mut self, s: usize, pi: usize, value: &str, string: bool) {
        let Some(svc) = self.cluster().services.get(s) else {
            return;
        };
        let desc = format!(
            "Service {}: set spec.ports[{pi}].targetPort to {value}",
            svc.name
        );
        let origin = svc.origin;
        let Some(root) = self.node_of(origin) else {
            return;
        };
        let e = match find(root, &format!("spec.ports[{pi}].targetPort")) {
            Some((n, _)) => replace_scalar(self.report.sources, n, value, string),
            None => find(root, &format!("spec.ports[{pi}]"))
                .and_then(|(n, _)| self.add_key(n, "targetPort", value, string)),
        };
        self.push(desc, e);
    }

    // --- reasons ---

    fn no_listener(&mut self, f: &Flow, reason: Reason) {
        let c = self.cluster();
        let Some(Backend::Pod { pod, port }) = f.backend.clone() else {
            // Refused at a node: connect to a NodePort instead.
            self.send_to_node_ports(f);
            return;
        };
        let svc = self.service_of(f);
        let listens = super::listening(c, pod);
        let proto = f.tuple.protocol;
        if reason == Reason::BoundToLoopback {
            self.unbind_loopback(pod);
        }
        if let Some((s, pi)) = svc {
            let mut ports: Vec<u16> = listens
                .iter()
                .filter(|(_, _, p)| *p == proto)
                .map(|(_, p, _)| *p)
                .collect();
            ports.dedup();
            for lp in ports {
                self.set_target_port(s, pi, &lp.to_string(), false);
            }
            // The selector picks pods that do not listen there (a label collision):
            // narrow it, or point it at the pods that do.
            self.selector_candidates(s, pi, true);
        }
        if svc.is_none() {
            let host = self
                .scenario_to(f)
                .and_then(|(_, _, v)| v.rsplit_once(':').map(|(h, _)| h.to_string()));
            if let Some(host) = host {
                for (_, lp, pr) in listens.iter().filter(|(_, _, pr)| *pr == proto) {
                    let _ = pr;
                    self.set_to(f, &format!("{host}:{lp}"));
                }
            }
        }
        self.container_port(pod, port);
    }

    /// The annotation or flag that binds 127.0.0.1, rewritten to bind every address.
    fn unbind_loopback(&mut self, pod: PodId) {
        let Some(p) = self.cluster().pods.get(pod).cloned() else {
            return;
        };
        let meta = super::metadata_path(&p.spec_path);
        for (key, value) in &p.annotations {
            if !key.starts_with(crate::cluster::listen::ANNOTATION) {
                continue;
            }
            let fixed = value.replace("127.0.0.1:", "").replace("localhost:", "");
            if fixed != *value {
                let path = format!("{meta}.annotations[{key}]");
                self.set_field(
                    p.origin,
                    &path,
                    &fixed,
                    true,
                    format!(
                        "pod {}: listen on every address ({key}: \"{fixed}\")",
                        p.name
                    ),
                );
            }
        }
        let Some(root) = self.node_of(p.origin) else {
            return;
        };
        let mut edits = Vec::new();
        for ci in 0..p.containers.len() {
            for field in ["args", "command"] {
                if let Some((n, _)) = find(
                    root,
                    &format!("{}.{}.{field}", p.spec_path, p.containers[ci].field),
                ) && let Y::Seq(items) = &n.value
                {
                    for item in items {
                        if let Some(s) = item.as_str()
                            && (s.contains("127.0.0.1") || s.contains("localhost"))
                        {
                            let fixed = s
                                .replace("127.0.0.1", "0.0.0.0")
                                .replace("localhost", "0.0.0.0");
                            edits.push((
                                format!(
                                    "container {}: bind 0.0.0.0 ({fixed})",
                                    p.containers[ci].name
                                ),
                                replace_scalar(self.report.sources, item, &fixed, true),
                            ));
                        }
                    }
                }
            }
        }
        for (d, e) in edits {
            self.push(d, e);
        }
    }

    /// A declared containerPort, when the declaration is what decides the sockets.
    fn container_port(&mut self, pod: PodId, port: u16) {
        let Some(p) = self.cluster().pods.get(pod).cloned() else {
            return;
        };
        for k in &p.containers {
            if k.listen.source != crate::cluster::ListenSource::Declared {
                continue;
            }
            for (di, d) in k.ports.iter().enumerate() {
                if d.port != port {
                    self.set_field(
                        p.origin,
                        &format!("{}.{}.ports[{di}].containerPort", p.spec_path, k.field),
                        &port.to_string(),
                        false,
                        format!("container {}: containerPort {port}", k.name),
                    );
                }
            }
        }
    }

    /// Selector edits: a value or a whole label changed to one the pods have; with
    /// `narrow`, also a label added (to drop another app's pods).
    fn selector_candidates(&mut self, s: usize, _pi: usize, narrow: bool) {
        let c = self.cluster();
        let Some(svc) = c.services.get(s).cloned() else {
            return;
        };
        let Some(selector) = svc.selector.clone() else {
            return;
        };
        let Some(root) = self.node_of(svc.origin) else {
            return;
        };
        let Some((sel_node, _)) = find(root, "spec.selector") else {
            return;
        };
        let Y::Map(entries) = &sel_node.value else {
            return;
        };
        // Labels of the namespace's pods, each pair once, in a stable order.
        let mut pairs: BTreeSet<(String, String)> = BTreeSet::new();
        for p in c
            .pods
            .iter()
            .filter(|p| p.alive() && p.namespace == svc.namespace)
        {
            for (k, v) in &p.labels {
                if !is_generated_label(k) {
                    pairs.insert((k.clone(), v.clone()));
                }
            }
        }
        let sources = self.report.sources;
        let mut found: Vec<(usize, Candidate)> = Vec::new();
        for e in entries {
            let Some(current) = selector.get(&e.key) else {
                continue;
            };
            // The same key, another value; most similar first.
            for (k, v) in pairs.iter().filter(|(k, v)| *k == e.key && v != current) {
                let score = strsim::levenshtein(v, current);
                if let Some(ed) = replace_scalar(sources, &e.value, v, true) {
                    found.push((
                        score,
                        Candidate {
                            description: format!("Service {}: selector {k}={v}", svc.name),
                            edit: ed,
                        },
                    ));
                }
            }
            // Another key.
            let text = self.text(e.key_span.source);
            if let Some((_, vend)) = edit::scalar_range(text, e.value.span) {
                for (k, v) in pairs
                    .iter()
                    .filter(|(k, _)| *k != e.key && !selector.contains_key(k))
                {
                    let new = format!(
                        "{}: {}",
                        edit::yaml_scalar(k, None),
                        edit::yaml_scalar(v, None)
                    );
                    if let Some(ed) =
                        replace_bytes(e.key_span.source, text, e.key_span.offset, vend, &new)
                    {
                        found.push((
                            100,
                            Candidate {
                                description: format!(
                                    "Service {}: selector {k}={v} instead of {}={current}",
                                    svc.name, e.key
                                ),
                                edit: ed,
                            },
                        ));
                    }
                }
            }
        }
        if narrow {
            for (k, v) in pairs.iter().filter(|(k, _)| !selector.contains_key(k)) {
                if let Some(ed) = self.add_key(sel_node, k, v, true) {
                    found.push((
                        50,
                        Candidate {
                            description: format!(
                                "Service {}: add {k}={v} to the selector",
                                svc.name
                            ),
                            edit: ed,
                        },
                    ));
                }
            }
        }
        found.sort_by_key(|(s, _)| *s);
        self.out.extend(found.into_iter().map(|(_, c)| c));
    }

    fn no_endpoints(&mut self, f: &Flow) {
        let Some((s, pi)) = self.service_of(f) else {
            return;
        };
        let c = self.cluster();
        let Some(svc) = c.services.get(s).cloned() else {
            return;
        };
        let Some(selector) = svc.selector.clone() else {
            self.given_port_names(s, pi);
            return;
        };
        let matching: Vec<PodId> = (0..c.pods.len())
            .filter(|&i| {
                let p = &c.pods[i];
                p.alive()
                    && p.namespace == svc.namespace
                    && selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
            })
            .collect();
        if matching.is_empty() {
            self.selector_candidates(s, pi, false);
            self.more_replicas(&svc.namespace, &selector);
            return;
        }
        // Named targetPort: names and numbers the pods really have.
        if let Some(TargetPort::Name(_)) = svc.ports.get(pi).map(|p| &p.target) {
            let mut names = BTreeSet::new();
            let mut numbers = BTreeSet::new();
            for &p in &matching {
                for k in &c.pods[p].containers {
                    for d in &k.ports {
                        if let Some(n) = &d.name {
                            names.insert(n.clone());
                        }
                    }
                }
                for (_, lp, _) in super::listening(c, p) {
                    numbers.insert(lp);
                }
            }
            for n in names {
                self.set_target_port(s, pi, &n, true);
            }
            for n in numbers {
                self.set_target_port(s, pi, &n.to_string(), false);
            }
        }
        // Readiness probes aimed at the wrong port.
        let mut probes = Vec::new();
        for &p in &matching {
            let pod = &c.pods[p];
            if let Readiness::ProbeFails { container, .. } = &pod.readiness {
                let ci = pod
                    .containers
                    .iter()
                    .find(|k| &k.name == container)
                    .map_or_else(|| "containers[0]".to_string(), |k| k.field.clone());
                for (_, lp, _) in super::listening(c, p) {
                    probes.push((
                        pod.origin,
                        pod.spec_path.clone(),
                        ci.clone(),
                        lp,
                        container.clone(),
                    ));
                }
            }
        }
        probes.sort();
        probes.dedup();
        for (origin, spec_path, ci, lp, container) in probes {
            let Some(root) = self.node_of(origin) else {
                continue;
            };
            for kind in ["tcpSocket", "httpGet", "grpc"] {
                let path = format!("{spec_path}.{ci}.readinessProbe.{kind}.port");
                if let Some((n, _)) = find(root, &path) {
                    let e = replace_scalar(self.report.sources, n, &lp.to_string(), false);
                    self.push(
                        format!("container {container}: readinessProbe {kind}.port {lp}"),
                        e,
                    );
                }
            }
        }
    }

    /// A workload whose pods the selector would match, but none is left (deleted,
    /// drained): one replica more survives the loss of one.
    fn more_replicas(&mut self, namespace: &str, selector: &BTreeMap<String, String>) {
        let mut edits = Vec::new();
        for (i, o) in self.report.loaded.objects.iter().enumerate() {
            let kind = o.object.kind();
            if !matches!(
                kind,
                "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController"
            ) || o.object.namespace().unwrap_or("default") != namespace
            {
                continue;
            }
            let Some((labels, _)) = find(&o.node, "spec.template.metadata.labels") else {
                continue;
            };
            let matches = selector
                .iter()
                .all(|(k, v)| labels.get(k).and_then(Node::as_str) == Some(v.as_str()));
            if !matches {
                continue;
            }
            let now = find(&o.node, "spec.replicas")
                .and_then(|(n, _)| match n.value {
                    Y::Int(v) => Some(v),
                    _ => None,
                })
                .unwrap_or(1);
            edits.push((Origin::Object(i), now + 1, o.object.name().to_string()));
        }
        for (origin, n, name) in edits {
            self.set_field(
                origin,
                "spec.replicas",
                &n.to_string(),
                false,
                format!("{name}: replicas {n}"),
            );
        }
    }

    /// Selector-less Service: the given endpoints' port names vs the Service's.
    fn given_port_names(&mut self, s: usize, pi: usize) {
        let c = self.cluster();
        let Some(svc) = c.services.get(s).cloned() else {
            return;
        };
        let Some(sp) = svc.ports.get(pi).cloned() else {
            return;
        };
        let given: Vec<crate::cluster::GivenEndpoints> = c
            .given_endpoints
            .iter()
            .filter(|g| g.namespace == svc.namespace && g.service == svc.name)
            .cloned()
            .collect();
        for g in given {
            let Some(root) = self.node_of(g.origin) else {
                continue;
            };
            let base = if root.get("subsets").is_some() {
                "subsets[0].ports"
            } else {
                "ports"
            };
            for (j, (name, _, _)) in g.ports.iter().enumerate() {
                if *name == sp.name {
                    continue;
                }
                let path = format!("{base}[{j}].name");
                let e = match find(root, &path) {
                    Some((n, _)) => replace_scalar(self.report.sources, n, &sp.name, true),
                    None => find(root, &format!("{base}[{j}]"))
                        .and_then(|(n, _)| self.add_key(n, "name", &sp.name, true)),
                };
                self.push(format!("endpoints port {j}: name \"{}\"", sp.name), e);
                if !name.is_empty() {
                    self.set_field(
                        svc.origin,
                        &format!("spec.ports[{pi}].name"),
                        name,
                        true,
                        format!("Service {}: port name \"{name}\"", svc.name),
                    );
                }
            }
        }
    }

    fn policy(&mut self, f: &Flow) {
        let c = self.cluster();
        let Some(drop) = super::PolicyDrop::of(f) else {
            return;
        };
        let super::PolicyDrop {
            pod,
            ingress,
            dir,
            peer_ip,
            port,
            proto,
            ..
        } = drop;
        let Some(p) = c.pods.get(pod).cloned() else {
            return;
        };
        let peer_pod = c.pod_by_ip(peer_ip).map(|q| c.pods[q].clone());
        let peer_yaml = match &peer_pod {
            Some(q) => {
                let labels = flow_labels(&q.labels);
                if q.namespace == p.namespace {
                    format!("{{podSelector: {{matchLabels: {labels}}}}}")
                } else {
                    format!(
                        "{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {}}}}}, podSelector: {{matchLabels: {labels}}}}}",
                        q.namespace
                    )
                }
            }
            None => format!("{{ipBlock: {{cidr: {peer_ip}/32}}}}"),
        };
        let isolating: Vec<crate::cluster::SimPolicy> = c
            .policies
            .iter()
            .enumerate()
            .filter(|(id, pol)| drop.by(*id, pol))
            .map(|(_, pol)| pol.clone())
            .collect();
        let peers_key = if ingress { "from" } else { "to" };
        for pol in &isolating {
            let Some(root) = self.node_of(pol.origin) else {
                continue;
            };
            let Some((rules, _)) = find(root, &format!("spec.{dir}")) else {
                continue;
            };
            let Y::Seq(rules) = &rules.value else {
                continue;
            };
            let mut edits = Vec::new();
            for (ri, rule) in rules.iter().enumerate() {
                // A rule's port that is the Service's port where the pod's is meant.
                if let Some(ports) = rule.get("ports")
                    && let Y::Seq(ports) = &ports.value
                {
                    for (k, pn) in ports.iter().enumerate() {
                        if let Some(n) = pn.get("port")
                            && !matches!(&n.value, Y::Int(v) if *v == i64::from(port))
                        {
                            edits.push((
                                format!(
                                    "NetworkPolicy {}: {dir}[{ri}].ports[{k}].port {port}",
                                    pol.name
                                ),
                                replace_scalar(self.report.sources, n, &port.to_string(), false),
                            ));
                        }
                    }
                }
                // Another peer in the rule.
                if let Some(peers) = rule.get(peers_key)
                    && let Y::Seq(items) = &peers.value
                    && let Some(first) = items.first()
                {
                    let text = self.text(peers.span.source);
                    let line_text = text
                        .lines()
                        .nth(first.span.line.saturating_sub(1) as usize)
                        .unwrap_or("");
                    let ws: String = line_text.chars().take_while(|c| *c == ' ').collect();
                    if edit::is_flow_seq(text, peers) || !line_text[ws.len()..].starts_with('-') {
                        continue;
                    }
                    let after = edit::last_line(peers) as usize;
                    edits.push((
                        format!(
                            "NetworkPolicy {}: add a peer to {dir}[{ri}].{peers_key}",
                            pol.name
                        ),
                        Some(insert_after(
                            peers.span.source,
                            after,
                            vec![format!("{ws}- {peer_yaml}")],
                        )),
                    ));
                }
            }
            for (d, e) in edits {
                self.push(d, e);
            }
        }
        // A new policy that allows exactly this connection.
        let source = isolating
            .first()
            .and_then(|pol| self.node_of(pol.origin))
            .map(|n| n.span.source)
            .or_else(|| self.node_of(p.origin).map(|n| n.span.source))
            .unwrap_or_default();
        let text = self.text(source);
        let selected = flow_labels(&p.labels);
        let peer_name = peer_pod.as_ref().map_or_else(
            || peer_ip.to_string().replace('.', "-"),
            |q| short_name(&q.labels, &q.name),
        );
        let name: String = format!(
            "allow-{}-{dir}-{}",
            short_name(&p.labels, &p.name),
            peer_name
        )
        .chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string();
        let policy_type = if ingress { "Ingress" } else { "Egress" };
        let mut lines = vec![
            "---".to_string(),
            "apiVersion: networking.k8s.io/v1".into(),
            "kind: NetworkPolicy".into(),
            "metadata:".into(),
            format!("  name: {name}"),
            format!("  namespace: {}", p.namespace),
            "spec:".into(),
            format!("  podSelector: {{matchLabels: {selected}}}"),
            format!("  policyTypes: [{policy_type}]"),
            format!("  {dir}:"),
            format!("    - {peers_key}:"),
            format!("        - {peer_yaml}"),
            format!("      ports: [{{port: {port}, protocol: {proto}}}]"),
        ];
        if text.is_empty() {
            lines.remove(0);
        }
        let after = edit::line_count(text);
        self.push(
            format!("a new NetworkPolicy {name} allowing this {dir}"),
            Some(insert_after(source, after, lines)),
        );
    }

    fn scenario_to(&self, f: &Flow) -> Option<(&'a Node, String, String)> {
        let plan = self.report.run.traffic.get(f.traffic)?;
        if plan.generated {
            return None;
        }
        let s = self.report.loaded.scenario.as_ref()?;
        let (field, value) = match &plan.to {
            Target::Connect { .. } => ("to", s.doc.spec.traffic.get(f.traffic)?.to.clone()?),
            Target::Resolve { .. } => (
                "resolve",
                s.doc.spec.traffic.get(f.traffic)?.resolve.clone()?,
            ),
        };
        let (n, _) = find(&s.node, &format!("spec.traffic[{}].{field}", f.traffic))?;
        Some((n, field.to_string(), value))
    }

    fn set_to(&mut self, f: &Flow, new: &str) {
        if let Some((n, field, old)) = self.scenario_to(f)
            && old != new
        {
            let e = replace_scalar(self.report.sources, n, new, true);
            self.push(
                format!(
                    "traffic {}: {field}: {new}",
                    self.report.run.traffic[f.traffic].name
                ),
                e,
            );
        }
    }

    fn nxdomain(&mut self, f: &Flow) {
        let Some((_, _, value)) = self.scenario_to(f) else {
            return;
        };
        let (host, port) = match value.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), format!(":{p}")),
            _ => (value.clone(), String::new()),
        };
        let labels: Vec<&str> = host.split('.').collect();
        let first = labels.first().copied().unwrap_or("").to_string();
        let rest: Vec<&str> = labels.iter().skip(1).copied().collect();
        let services: Vec<(String, String, Origin)> = self
            .cluster()
            .services
            .iter()
            .filter(|s| s.alive)
            .map(|s| (s.namespace.clone(), s.name.clone(), s.origin))
            .collect();
        for (ns, name, _) in &services {
            if *name == first {
                // The right name in another namespace.
                let new = if rest.is_empty() {
                    format!("{name}.{ns}")
                } else {
                    let mut r = rest.clone();
                    r[0] = ns;
                    format!("{name}.{}", r.join("."))
                };
                self.set_to(f, &format!("{new}{port}"));
            }
        }
        let domain = self.cluster().config.cluster_domain.clone();
        let externals: Vec<(Origin, String)> = self
            .cluster()
            .services
            .iter()
            .filter(|s| s.alive && s.name == first)
            .filter_map(|s| s.external_name.clone().map(|t| (s.origin, t)))
            .collect();
        for (origin, target) in externals {
            let t = target.split('.').next().unwrap_or("").to_string();
            for (ns, name, _) in &services {
                if *name == t || similar(name, &t) {
                    let fqdn = format!("{name}.{ns}.svc.{domain}");
                    if fqdn != target {
                        self.set_field(
                            origin,
                            "spec.externalName",
                            &fqdn,
                            true,
                            format!("Service {first}: externalName {fqdn}"),
                        );
                    }
                }
            }
        }
        for (ns, name, origin) in &services {
            if similar(name, &first) {
                let mut r = vec![name.as_str()];
                r.extend(rest.iter().copied());
                self.set_to(f, &format!("{}{port}", r.join(".")));
                if rest.is_empty() || rest.first() == Some(&ns.as_str()) {
                    self.set_field(
                        *origin,
                        "metadata.name",
                        &first,
                        true,
                        format!("Service {name}: rename it {first}"),
                    );
                }
            }
        }
    }

    fn send_to_nodes_with_endpoints(&mut self, f: &Flow) {
        let Some((s, pi)) = self.service_of(f) else {
            return;
        };
        let Some((_, _, value)) = self.scenario_to(f) else {
            return;
        };
        let Some((_, port)) = value.rsplit_once(':') else {
            return;
        };
        let c = self.cluster();
        let nodes: BTreeSet<String> = c
            .endpoints(s, pi)
            .iter()
            .filter(|e| e.ready)
            .filter_map(|e| e.node.and_then(|n| c.nodes.get(n)).map(|n| n.name.clone()))
            .collect();
        for n in nodes {
            self.set_to(f, &format!("{n}:{port}"));
        }
    }

    /// Refused by a node: the traffic meant a NodePort.
    fn send_to_node_ports(&mut self, f: &Flow) {
        let Some((_, _, value)) = self.scenario_to(f) else {
            return;
        };
        let Some((host, _)) = value.rsplit_once(':') else {
            return;
        };
        let ports: BTreeSet<u16> = self
            .cluster()
            .services
            .iter()
            .filter(|s| s.alive)
            .flat_map(|s| s.ports.iter().filter_map(|p| p.node_port))
            .collect();
        for p in ports {
            self.set_to(f, &format!("{host}:{p}"));
        }
    }

    fn source_range(&mut self, f: &Flow) {
        let Some((s, _)) = self.service_of(f) else {
            return;
        };
        let Some(svc) = self.cluster().services.get(s).cloned() else {
            return;
        };
        let Some(root) = self.node_of(svc.origin) else {
            return;
        };
        let Some((seq, _)) = find(root, "spec.loadBalancerSourceRanges") else {
            return;
        };
        let Y::Seq(items) = &seq.value else { return };
        let Some(last) = items.last() else { return };
        let text = self.text(seq.span.source);
        let cidr = format!("{}/32", f.tuple.src.ip);
        let e = if edit::is_flow_seq(text, seq) {
            edit::scalar_range(text, last.span).and_then(|(_, end)| {
                replace_bytes(seq.span.source, text, end, end, &format!(", {cidr}"))
            })
        } else {
            let line = text
                .lines()
                .nth(last.span.line.saturating_sub(1) as usize)
                .unwrap_or("");
            let ws: String = line.chars().take_while(|c| *c == ' ').collect();
            Some(insert_after(
                seq.span.source,
                edit::last_line(seq) as usize,
                vec![format!("{ws}- {cidr}")],
            ))
        };
        self.push(
            format!(
                "Service {}: allow {cidr} in loadBalancerSourceRanges",
                svc.name
            ),
            e,
        );
    }

    /// A Service address on a port (or protocol) it does not expose.
    fn service_port(&mut self, f: &Flow) {
        let dst = f.tuple.dst;
        let proto = f.tuple.protocol;
        let Some(s) = self.cluster().services.iter().position(|s| {
            s.alive
                && (s.cluster_ip == Some(dst.ip)
                    || s.external_ips.contains(&dst.ip)
                    || s.lb_ips.contains(&dst.ip))
        }) else {
            return;
        };
        let svc = self.cluster().services[s].clone();
        for (i, p) in svc.ports.iter().enumerate() {
            if p.port == dst.port && p.protocol != proto {
                self.set_field(
                    svc.origin,
                    &format!("spec.ports[{i}].protocol"),
                    proto.as_str(),
                    false,
                    format!("Service {}: port {} protocol {proto}", svc.name, p.port),
                );
            }
        }
        // port and targetPort swapped: swap them back, one edit over both lines.
        for (i, p) in svc.ports.iter().enumerate() {
            if p.protocol == proto
                && p.port != dst.port
                && p.target == TargetPort::Number(dst.port)
                && let Some(root) = self.node_of(svc.origin)
                && let Some((pn, _)) = find(root, &format!("spec.ports[{i}].port"))
                && let Some((tn, _)) = find(root, &format!("spec.ports[{i}].targetPort"))
                && pn.span.source == tn.span.source
            {
                let text = self.text(pn.span.source);
                if let (Some(a), Some(b)) = (
                    edit::scalar_range(text, pn.span),
                    edit::scalar_range(text, tn.span),
                ) {
                    let (first, second, fv, sv) = if a.0 < b.0 {
                        (a, b, dst.port.to_string(), p.port.to_string())
                    } else {
                        (b, a, p.port.to_string(), dst.port.to_string())
                    };
                    let middle = &text[first.1..second.0];
                    let e = replace_bytes(
                        pn.span.source,
                        text,
                        first.0,
                        second.1,
                        &format!("{fv}{middle}{sv}"),
                    );
                    self.push(
                        format!(
                            "Service {}: swap port and targetPort (port {}, targetPort {})",
                            svc.name, dst.port, p.port
                        ),
                        e,
                    );
                }
            }
        }
        for (i, p) in svc.ports.iter().enumerate() {
            if p.port != dst.port && p.protocol == proto {
                self.set_field(
                    svc.origin,
                    &format!("spec.ports[{i}].port"),
                    &dst.port.to_string(),
                    false,
                    format!("Service {}: spec.ports[{i}].port {}", svc.name, dst.port),
                );
            }
        }
        if let Some((_, _, value)) = self.scenario_to(f)
            && let Some((host, _)) = value.rsplit_once(':')
        {
            let host = host.to_string();
            for p in svc.ports.iter().filter(|p| p.protocol == proto) {
                self.set_to(f, &format!("{host}:{}", p.port));
            }
        }
    }

    fn no_route(&mut self, f: &Flow) {
        let c = self.cluster();
        let pending = c.services.iter().any(|s| {
            s.alive && s.type_ == crate::cluster::ServiceType::LoadBalancer && s.lb_ips.is_empty()
        });
        if pending && let Some(s) = self.report.loaded.scenario.as_ref() {
            let node = &s.node;
            let e = match find(node, "spec.cluster.loadBalancer") {
                Some((n, _)) => replace_scalar(self.report.sources, n, "cloud", false),
                None => match find(node, "spec.cluster") {
                    Some((n, _)) if matches!(n.value, Y::Map(_)) => {
                        self.add_key(n, "loadBalancer", "cloud", false)
                    }
                    _ => find(node, "spec").and_then(|(n, _)| {
                        self.add_key(n, "cluster", "{loadBalancer: cloud}", false)
                            .map(|mut e| {
                                for l in &mut e.lines {
                                    *l = l.replace(
                                        "\"{loadBalancer: cloud}\"",
                                        "{loadBalancer: cloud}",
                                    );
                                }
                                e
                            })
                    }),
                },
            };
            self.push("Scenario: spec.cluster.loadBalancer: cloud (a load-balancer controller, as MetalLB)".into(), e);
        }
        // From outside to a ClusterIP or a pending address: a NodePort.
        if let Ok(Sender::Client(_)) =
            crate::engine::traffic::resolve_sender(c, &self.report.run.traffic[f.traffic].from)
        {
            let targets: Vec<String> = c
                .services
                .iter()
                .filter(|s| {
                    s.alive
                        && (s.cluster_ip == Some(f.tuple.dst.ip)
                            || (pending && s.type_ == crate::cluster::ServiceType::LoadBalancer))
                })
                .flat_map(|s| s.ports.iter().filter_map(|p| p.node_port))
                .filter_map(|np| c.nodes.first().map(|n| format!("{}:{np}", n.name)))
                .collect();
            for t in targets {
                self.set_to(f, &t);
            }
        }
    }

    /// A nodePort outside the range, written anywhere in the input (an `apply` event's
    /// manifest included): moved into the range.
    fn node_port_range(&mut self) {
        let c = self.cluster();
        let (lo, hi) = c.config.node_port_range;
        let used: BTreeSet<u16> = c
            .services
            .iter()
            .flat_map(|s| s.ports.iter().filter_map(|p| p.node_port))
            .collect();
        let diags: Vec<&str> = self
            .report
            .run
            .diagnostics
            .iter()
            .chain(self.report.loaded.diagnostics.iter())
            .map(|d| d.message.as_str())
            .collect();
        let out_of_range = diags.iter().any(|m| m.contains("valid range"));
        let taken = diags.iter().any(|m| m.contains("already allocated"));
        if !out_of_range && !taken {
            return;
        }
        let mut written: BTreeSet<u32> = BTreeSet::new();
        let mut edits = Vec::new();
        for (id, file) in self.report.sources.iter() {
            let mut offset = 0;
            for line in file.text.split_inclusive('\n') {
                let trimmed = line.trim_start();
                if let Some(rest) = trimmed.strip_prefix("nodePort:") {
                    let v = rest.split('#').next().unwrap_or("").trim();
                    let again = v.parse::<u32>().is_ok_and(|n| !written.insert(n));
                    if let Ok(n) = v.parse::<u32>()
                        && ((out_of_range && (n < u32::from(lo) || n > u32::from(hi)))
                            || (taken && again))
                        && let Some(free) = (lo..=hi).find(|p| !used.contains(p))
                    {
                        let start = offset + line.find(v).unwrap_or(0);
                        edits.push((
                            format!("nodePort {free} (free, inside {lo}-{hi}) instead of {n}"),
                            replace_bytes(
                                id,
                                &file.text,
                                start,
                                start + v.len(),
                                &free.to_string(),
                            ),
                        ));
                    }
                }
                offset += line.len();
            }
        }
        for (d, e) in edits {
            self.push(d, e);
        }
    }
}

fn flow_labels(labels: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = labels
        .iter()
        .filter(|(k, _)| !is_generated_label(k))
        .map(|(k, v)| {
            format!(
                "{}: {}",
                edit::yaml_scalar(k, None),
                edit::yaml_scalar(v, None)
            )
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

fn short_name(labels: &BTreeMap<String, String>, name: &str) -> String {
    let s = labels
        .get("app")
        .or_else(|| labels.get("app.kubernetes.io/name"))
        .or_else(|| labels.get("k8s-app"))
        .cloned()
        .unwrap_or_else(|| name.to_string());
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Candidates that do nothing but load: used by tests of the search itself.
#[doc(hidden)]
pub fn load_with(sources: &Sources, e: &LineEdit) -> Option<Loaded> {
    let s = with_edit(sources, e)?;
    Some(manifest::load(&s, &LoadOptions::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::report::Report;

    const BROKEN: &str = "apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  traffic:
    - {name: c, from: pod/client, to: web:80}
    - {name: ok, from: pod/client, to: other:80}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec:
  containers: [{name: nginx, image: nginx:1.27}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: c, image: busybox, command: [sleep, '3600']}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector:
    app: webb
  ports:
    - port: 80
      targetPort: 8080
---
apiVersion: v1
kind: Service
metadata: {name: other}
spec:
  selector:
    app: web
  ports:
    - port: 80
";

    fn fixes_for(text: &str, traffic: &str) -> Vec<Fix> {
        let (sources, loaded) = manifest::load_str("t.yaml", text, &LoadOptions::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let opts = RunOptions::default();
        let run = crate::engine::run(&loaded, &opts);
        let report = Report {
            sources: &sources,
            loaded: &loaded,
            run: &run,
            expectations: &[],
            diagnostics: &[],
        };
        let t = run
            .traffic
            .iter()
            .position(|p| p.name == traffic)
            .unwrap_or(usize::MAX);
        let f = run
            .flows
            .iter()
            .find(|f| f.traffic == t && f.outcome != Outcome::Delivered)
            .cloned();
        match f {
            Some(f) => proven_fixes(&report, &opts, &f, Limits::default()),
            None => Vec::new(),
        }
    }

    #[test]
    fn a_selector_typo_is_fixed_by_one_line_and_proven() {
        // The selector first; once it matches, targetPort 8080 still fails: no single
        // edit fixes both, so none is proven.
        assert!(fixes_for(BROKEN, "c").is_empty());
        let one = BROKEN.replace("targetPort: 8080", "targetPort: 80");
        let fixes = fixes_for(&one, "c");
        let top = fixes.first().expect("a proven fix");
        assert_eq!(top.changed_lines(), 1);
        assert!(
            top.diff.contains("-    app: webb\n+    app: web\n"),
            "{}",
            top.diff
        );
        assert!(
            top.diff.starts_with("--- a/t.yaml\n+++ b/t.yaml\n@@ "),
            "{}",
            top.diff
        );
    }

    #[test]
    fn a_wrong_target_port_is_fixed_to_where_nginx_listens() {
        let one = BROKEN.replace("app: webb", "app: web");
        let fixes = fixes_for(&one, "c");
        let top = fixes.first().expect("a proven fix");
        assert!(
            top.diff
                .contains("-      targetPort: 8080\n+      targetPort: 80\n"),
            "{}",
            top.diff
        );
        // Applying it delivers.
        let (sources, _) = manifest::load_str("t.yaml", &one, &LoadOptions::default());
        let loaded = load_with(&sources, &top.edit).expect("applies");
        let run = crate::engine::run(&loaded, &RunOptions::default());
        assert!(run.flows.iter().all(|f| f.outcome == Outcome::Delivered));
    }

    #[test]
    fn a_fix_that_breaks_a_delivered_flow_is_not_kept() {
        // Renaming Service `web` to `wbe` would break traffic `ok`, which uses `web`.
        let t = BROKEN
            .replace("app: webb", "app: web")
            .replace("targetPort: 8080", "targetPort: 80")
            .replace("to: other:80", "to: web:80")
            .replace(
                "{name: c, from: pod/client, to: web:80}",
                "{name: c, from: pod/client, to: wbe:80}",
            );
        let fixes = fixes_for(&t, "c");
        assert!(!fixes.is_empty());
        assert!(
            fixes.iter().all(|f| !f.description.contains("rename")),
            "{fixes:?}"
        );
        assert!(fixes[0].diff.contains("to: web:80"), "{}", fixes[0].diff);
    }

    #[test]
    fn similar_names() {
        assert!(similar("web", "wbe"));
        assert!(similar("api", "api-server"));
        assert!(!similar("web", "db"));
        assert!(!similar("web", "web"));
    }
}

#[cfg(test)]
mod engine_regressions {
    use crate::engine::{RunOptions, run};
    use crate::manifest::{LoadOptions, load_str};
    use crate::trace::{Outcome, Reason};

    /// A deleted pod's grace period ends between two events: kube-proxy must resync
    /// (its endpoint leaves the slice) and REJECT, not keep a stale rule.
    #[test]
    fn a_pod_gone_after_its_grace_period_leaves_kube_proxy_rules() {
        let text = "apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  traffic:
    - {name: late, from: pod/client, to: web:80, start: 2s}
  events:
    - {at: 100ms, deletePod: web}
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: nginx, image: nginx:1.27}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: c, image: busybox, command: [sleep, '3600']}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
";
        let (_, loaded) = load_str("t.yaml", text, &LoadOptions::default());
        let r = run(&loaded, &RunOptions::default());
        let f = r.flows.first().expect("a flow");
        assert_eq!(f.outcome, Outcome::Refused);
        assert_eq!(f.reason, Some(Reason::NoEndpoints));
    }
}
