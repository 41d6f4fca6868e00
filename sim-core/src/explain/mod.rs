//! Why a flow failed, computed from its hop records and the cluster, and what would fix
//! it, proven by simulation.
//!
//! [`explain`] reads a failed [`Flow`]'s hops: the decisive hop (the reject, the drop,
//! the refusal, the lookup), the object and field the hop's [`crate::trace::Cause`]
//! names, and the cluster around it (which pods a selector nearly matches, which ports a
//! container really listens on, which nodes have endpoints, which Service names exist).
//! It never restates what the engine wrote beside the flow: everything comes from the
//! records. [`fix`] then proposes one-field edits of the input text, re-loads and
//! re-simulates each, and keeps those that make the flow `delivered` without breaking
//! a flow that was.

pub mod edit;
pub mod fix;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::cluster::{Cluster, Origin, PodId, Readiness, TargetPort};
use crate::engine::report::Report;
use crate::engine::traffic::Target;
use crate::engine::{fmt_ns, place_name};
use crate::trace::{Action, Backend, Flow, Outcome, Place, PolicyRecord, Reason};

/// An object's field and where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// `Service default/web`, `Scenario traffic[0]`.
    pub object: String,
    /// `spec.ports[0].targetPort`.
    pub field: String,
    /// `file:line`, when the object came from the input.
    pub at: Option<String>,
}

impl Located {
    pub fn render(&self) -> String {
        match &self.at {
            Some(at) => format!("{} {} ({at})", self.object, self.field),
            None => format!("{} {}", self.object, self.field),
        }
    }
}

/// The explanation of one failed flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The traffic entry's name.
    pub traffic: String,
    /// The request (0-based).
    pub index: u32,
    pub outcome: Outcome,
    pub reason: Reason,
    /// Index of the decisive hop in the flow's hops.
    pub hop: Option<usize>,
    /// `+310us at pod/web-1: refuse`.
    pub hop_label: String,
    /// What happened there (the hop's own record).
    pub what: String,
    /// The field that caused it.
    pub cause: Option<Located>,
    /// The fix as a concrete edit, in words.
    pub fix: String,
    /// Near misses: what almost matched.
    pub near_misses: Vec<String>,
    /// One line, for `simctl run`'s `why:`.
    pub summary: String,
}

impl Explanation {
    /// The long form, for `simctl explain`.
    pub fn long(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} (request {}): {} ({})",
            self.traffic,
            self.index + 1,
            self.outcome,
            self.reason
        );
        let _ = writeln!(s, "  what happened: {}", self.what);
        if !self.hop_label.is_empty() {
            let _ = writeln!(s, "  where: {}", self.hop_label);
        }
        if let Some(c) = &self.cause {
            let _ = writeln!(s, "  caused by: {}", c.render());
        }
        for n in &self.near_misses {
            let _ = writeln!(s, "  near miss: {n}");
        }
        if !self.fix.is_empty() {
            let _ = writeln!(s, "  fix: {}", self.fix);
        }
        s
    }

    pub fn to_json(&self) -> Value {
        json!({
            "traffic": self.traffic,
            "index": self.index,
            "outcome": self.outcome.as_str(),
            "reason": self.reason.as_str(),
            "hop": self.hop,
            "where": self.hop_label,
            "what": self.what,
            "cause": self.cause.as_ref().map(|c| json!({"object": c.object, "field": c.field, "at": c.at})),
            "nearMisses": self.near_misses,
            "fix": self.fix,
            "summary": self.summary,
        })
    }
}

/// The first failed flow of each traffic entry, in traffic order.
pub fn failed_flows(run: &crate::engine::RunResult) -> Vec<&Flow> {
    let mut seen = BTreeSet::new();
    run.flows
        .iter()
        .filter(|f| f.outcome != Outcome::Delivered && f.reason.is_some() && !f.hops.is_empty())
        .filter(|f| seen.insert(f.traffic))
        .collect()
}

/// Explain one failed flow; `None` for a delivered one.
pub fn explain(report: &Report, f: &Flow) -> Option<Explanation> {
    let reason = f.reason?;
    let c = &report.run.cluster;
    let traffic = report
        .run
        .traffic
        .get(f.traffic)
        .map_or_else(String::new, |t| t.name.clone());
    let mut x = Explanation {
        traffic,
        index: f.index,
        outcome: f.outcome,
        reason,
        hop: None,
        hop_label: String::new(),
        what: String::new(),
        cause: None,
        fix: String::new(),
        near_misses: Vec::new(),
        summary: String::new(),
    };
    let decisive = decisive_hop(f, reason);
    if let Some(i) = decisive
        && let Some(h) = f.story_hops().get(i)
    {
        // Hop numbers count every hop of the flow, the name lookup's too.
        x.hop = Some(f.lookup_hops + i);
        x.hop_label = format!(
            "hop {} of {}, +{} at {}: {}",
            f.lookup_hops + i + 1,
            f.hops.len(),
            fmt_ns(h.at_ns.saturating_sub(f.started_ns)),
            place_name(c, h.place),
            h.action().as_str()
        );
        x.what = report.view().detail(f, h);
        if let Some(cause) = h.cause(c) {
            x.cause = Some(locate(report, cause.origin, &cause.field));
        }
    }
    let unanswered = f
        .hops
        .last()
        .is_some_and(|h| matches!(h.step, crate::trace::Step::DnsUnanswered { .. }));
    match reason {
        _ if unanswered && reason == Reason::NoHost => dns_unanswered(report, f, &mut x),
        Reason::NoListener | Reason::BoundToLoopback => no_listener(report, f, &mut x),
        Reason::NoEndpoints => no_endpoints(report, f, &mut x),
        Reason::PolicyDenied => policy_denied(report, f, &mut x),
        Reason::NxDomain => nxdomain(report, f, &mut x),
        Reason::NoLocalEndpoint | Reason::NoLocalInternalEndpoint => no_local(report, f, &mut x),
        Reason::SourceRangeDenied => source_range(report, f, &mut x),
        Reason::NoServicePort | Reason::NoHost => no_service_port(report, f, &mut x),
        Reason::NoRoute => no_route(report, f, &mut x),
        Reason::NodeDown => {
            x.fix = "bring the node back (a nodeUp event) or send to a node that is up".into();
        }
        Reason::PacketLost => {
            x.fix =
                "the network lost it (spec.cluster.network.loss): retry, or lower the loss".into();
        }
        Reason::HopLimit => {
            x.fix = "the packet loops between nodes: look at the routes of the hops above".into();
        }
    }
    if x.summary.is_empty() {
        x.summary = match reason {
            Reason::NoListener | Reason::BoundToLoopback
                if matches!(f.backend, Some(Backend::Pod { .. })) =>
            {
                report.why(f).unwrap_or_else(|| x.what.clone())
            }
            Reason::NoEndpoints | Reason::NxDomain => {
                report.why(f).unwrap_or_else(|| x.what.clone())
            }
            _ => short_form(&x),
        };
    }
    if x.what.is_empty() {
        x.what.clone_from(&x.summary);
    }
    Some(x)
}

/// The short form: what happened, the field at fault and the fix, on one line.
fn short_form(x: &Explanation) -> String {
    let mut s = x.what.clone();
    if let Some(c) = &x.cause {
        let _ = write!(s, " ({})", c.render());
    }
    if !x.fix.is_empty() {
        let _ = write!(s, ": {}", x.fix);
    }
    s
}

fn decisive_hop(f: &Flow, reason: Reason) -> Option<usize> {
    let want: &[Action] = match reason {
        Reason::NoEndpoints => &[Action::Reject, Action::Drop],
        Reason::NoListener | Reason::BoundToLoopback => &[Action::Refuse],
        Reason::PolicyDenied => &[Action::PolicyDrop],
        Reason::NxDomain => &[Action::Resolve],
        Reason::NoRoute => &[Action::Unreachable, Action::Drop],
        Reason::NoServicePort => &[Action::Reject, Action::Drop],
        Reason::PacketLost => &[Action::Lost],
        _ => &[Action::Drop, Action::Reject],
    };
    let hops = f.story_hops();
    hops.iter()
        .position(|h| want.contains(&h.action()))
        // Else the last hop: where the story stopped.
        .or_else(|| hops.len().checked_sub(1))
}

/// `Kind ns/name` and `file:line` of a field of an object.
pub fn locate(report: &Report, origin: Origin, field: &str) -> Located {
    let object = match origin {
        Origin::Object(i) | Origin::Workload(i) => report
            .loaded
            .objects
            .get(i)
            .map(|o| {
                format!(
                    "{} {}{}",
                    o.object.kind(),
                    o.object
                        .namespace()
                        .map(|n| format!("{n}/"))
                        .unwrap_or_default(),
                    o.object.name()
                )
            })
            .unwrap_or_default(),
        Origin::Scenario => "Scenario".into(),
        Origin::Event(i) => format!("the object applied by spec.events[{i}]"),
        Origin::Default => "simctl's default".into(),
    };
    Located {
        object,
        field: field.to_string(),
        at: report.locate(origin, field),
    }
}

/// `file:line` of a field of the Scenario document.
pub fn locate_scenario(report: &Report, field: &str) -> Located {
    let at = report.loaded.scenario.as_ref().map(|s| {
        let (span, _) = s.node.locate(field);
        format!("{}:{}", report.sources.name(span.source), span.line)
    });
    Located {
        object: "Scenario".into(),
        field: field.to_string(),
        at,
    }
}

/// The ports a pod's containers accept on from outside the pod, as `80/TCP`.
pub fn listening(c: &Cluster, pod: PodId) -> Vec<(String, u16, crate::net::Protocol)> {
    let Some(p) = c.pods.get(pod) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for k in p.containers.iter().filter(|k| k.crash.is_none()) {
        for s in &k.listen.sockets {
            if s.bind != crate::cluster::Bind::Loopback {
                out.push((k.name.clone(), s.port, s.protocol));
            }
        }
    }
    out
}

/// Where container `name` sits in the pod spec (`containers[0]`, `initContainers[1]`).
fn field_of(p: &crate::cluster::SimPod, name: &str) -> String {
    p.containers
        .iter()
        .find(|k| k.name == name)
        .map_or_else(|| "containers[0]".to_string(), |k| k.field.clone())
}

/// The Service and port index (into `spec.ports`) kube-proxy matched on the flow's way.
pub(crate) fn service_of_flow(c: &Cluster, f: &Flow) -> Option<(usize, usize)> {
    f.story_hops()
        .iter()
        .find_map(|h| h.step.service_port())
        .filter(|&(s, _)| s < c.services.len())
}

pub(crate) fn metadata_path(spec_path: &str) -> String {
    match spec_path.strip_suffix("spec") {
        Some(prefix) => format!("{prefix}metadata"),
        None => "metadata".into(),
    }
}

fn no_listener(report: &Report, f: &Flow, x: &mut Explanation) {
    let c = &report.run.cluster;
    let Some(Backend::Pod { pod, port }) = &f.backend else {
        // Refused by a node: nothing on it listens there and it is no NodePort.
        let port = f
            .story_hops()
            .iter()
            .find(|h| h.action() == Action::Refuse)
            .and_then(|h| h.packet)
            .map_or(f.tuple.dst.port, |t| t.dst.port);
        let mut node_ports: Vec<String> = Vec::new();
        for s in c.services.iter().filter(|s| s.alive) {
            for p in &s.ports {
                if let Some(np) = p.node_port {
                    node_ports.push(format!(
                        "{np} (Service {}/{} port {})",
                        s.namespace, s.name, p.port
                    ));
                }
            }
        }
        for p in c.pods.iter().filter(|p| p.alive()) {
            for k in &p.containers {
                if k.ports
                    .iter()
                    .any(|d| d.port == port && d.host_port.is_none())
                {
                    x.near_misses.push(format!(
                        "{port} is containerPort of pod {} (a port of the pod's own address, not of the node's: only a hostPort or a NodePort opens a node port)",
                        p.name
                    ));
                }
            }
        }
        if !node_ports.is_empty() {
            x.near_misses.push(format!(
                "the NodePorts open on every node: {}",
                node_ports.join(", ")
            ));
        }
        x.cause = report
            .run
            .traffic
            .get(f.traffic)
            .map(|_| locate_scenario(report, &format!("spec.traffic[{}].to", f.traffic)));
        x.fix = match node_ports.first() {
            Some(np) => format!("connect to a NodePort: {np}"),
            None => "expose the pods with a NodePort Service and connect to its nodePort".into(),
        };
        return;
    };
    let Some(p) = c.pods.get(*pod) else { return };
    let listens = listening(c, *pod);
    let svc = service_of_flow(c, f);
    let (cfield, container) = p
        .containers
        .first()
        .map_or(("containers[0]".to_string(), "the app".to_string()), |k| {
            (k.field.clone(), k.name.clone())
        });
    if x.reason == Reason::BoundToLoopback {
        // Where the 127.0.0.1 bind comes from: the annotation or a flag, of the container
        // (a sidecar, maybe) that binds the port on loopback.
        let Some(k) = p
            .containers
            .iter()
            .find(|k| {
                k.listen
                    .sockets
                    .iter()
                    .any(|s| s.port == *port && s.bind == crate::cluster::Bind::Loopback)
            })
            .or(p.containers.first())
        else {
            return;
        };
        let (cfield, container) = (k.field.clone(), k.name.clone());
        let meta = metadata_path(&p.spec_path);
        let (field, how) = match &k.listen.source {
            crate::cluster::ListenSource::Annotation => {
                let key = p
                    .annotations
                    .keys()
                    .find(|a| a.starts_with(crate::cluster::listen::ANNOTATION))
                    .cloned()
                    .unwrap_or_else(|| crate::cluster::listen::ANNOTATION.to_string());
                let value = p.annotations.get(&key).cloned().unwrap_or_default();
                (
                    format!("{meta}.annotations.{key}"),
                    format!("the annotation {key}: \"{value}\" binds it to 127.0.0.1"),
                )
            }
            crate::cluster::ListenSource::Image { detail, .. } => (
                format!("{}.{cfield}.args", p.spec_path),
                format!("{detail}: the process binds 127.0.0.1 (a --bind/--host/--listen flag)"),
            ),
            _ => (
                format!("{}.{cfield}", p.spec_path),
                "the process binds 127.0.0.1".to_string(),
            ),
        };
        x.near_misses.push(format!(
            "{container} does listen on {port}, but on 127.0.0.1 only: {how}; connections to the pod's address {} are refused",
            p.ip
        ));
        x.cause = Some(locate(report, p.origin, &field));
        x.fix = format!(
            "bind 0.0.0.0 instead of 127.0.0.1 ({} in {})",
            field,
            x.cause
                .as_ref()
                .and_then(|c| c.at.clone())
                .unwrap_or_default()
        );
        return;
    }
    let ports: Vec<u16> = listens
        .iter()
        .filter(|(_, _, pr)| *pr == f.tuple.protocol)
        .map(|(_, p, _)| *p)
        .collect();
    let other_proto: Vec<String> = listens
        .iter()
        .filter(|(_, lp, pr)| *lp == *port && *pr != f.tuple.protocol)
        .map(|(_, lp, pr)| format!("{lp}/{pr}"))
        .collect();
    if !other_proto.is_empty() {
        x.near_misses.push(format!(
            "{} listens on {} : the same port, another protocol",
            p.name,
            other_proto.join(", ")
        ));
    }
    if let Some((s, pi)) = svc
        && let Some(service) = c.services.get(s)
        && let Some(sp) = service.ports.get(pi)
    {
        let field = format!("spec.ports[{pi}].targetPort");
        x.cause = Some(locate(report, service.origin, &field));
        let target = match &sp.target {
            TargetPort::Number(n) => n.to_string(),
            TargetPort::Name(n) => format!("{n} (= {port} on this pod)"),
        };
        if let Some(first) = ports.first() {
            let holder = listens
                .iter()
                .find(|(_, lp, _)| lp == first)
                .map_or(container.clone(), |(k, _, _)| k.clone());
            x.near_misses.push(format!(
                "targetPort {target} is not a port {} listens on; it listens on {} (another port of the same container)",
                p.name,
                ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
            ));
            x.fix = format!("set targetPort to {first}, where {holder} listens");
        } else {
            x.fix = format!(
                "{} listens on nothing: make the app listen on {port}",
                p.name
            );
        }
        // A declared containerPort that is not what the process listens on.
        for k in &p.containers {
            for (di, d) in k.ports.iter().enumerate() {
                if d.port == *port && !ports.contains(&d.port) {
                    let at = locate(
                        report,
                        p.origin,
                        &format!("{}.{}.ports[{di}].containerPort", p.spec_path, k.field),
                    );
                    x.near_misses.push(format!(
                        "{} declares containerPort {port} ({}), but containerPort is documentation (the containerPort myth): declaring a port opens nothing, and the process listens on {}",
                        k.name,
                        at.at.unwrap_or_default(),
                        ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
    } else {
        x.cause = Some(locate(
            report,
            p.origin,
            &format!("{}.{cfield}", p.spec_path),
        ));
        x.fix = match ports.first() {
            Some(first) => format!("connect to port {first}, where {container} listens"),
            None => format!("{} listens on nothing", p.name),
        };
    }
}

fn no_endpoints(report: &Report, f: &Flow, x: &mut Explanation) {
    let c = &report.run.cluster;
    let Some((s, pi)) = service_of_flow(c, f) else {
        return;
    };
    let Some(svc) = c.services.get(s) else { return };
    let Some(selector) = &svc.selector else {
        // Endpoints given by hand: a port name that does not match.
        let sp_name = svc
            .ports
            .get(pi)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        x.cause = Some(locate(
            report,
            svc.origin,
            &format!("spec.ports[{pi}].name"),
        ));
        let given: Vec<&crate::cluster::GivenEndpoints> = c
            .given_endpoints
            .iter()
            .filter(|g| g.namespace == svc.namespace && g.service == svc.name)
            .collect();
        if given.is_empty() {
            x.fix = format!(
                "Service {} has no selector: give it a selector, or an EndpointSlice labelled kubernetes.io/service-name: {}",
                svc.name, svc.name
            );
            x.summary = format!(
                "Service {} has no selector and no endpoints were given for it",
                svc.name
            );
            return;
        }
        let given_summary = |x: &mut Explanation| {
            x.summary = short_form(x);
        };
        for g in &given {
            let names: Vec<String> = g
                .ports
                .iter()
                .map(|(n, p, pr)| {
                    format!(
                        "{}{p}/{pr}",
                        if n.is_empty() {
                            String::new()
                        } else {
                            format!("{n}=")
                        }
                    )
                })
                .collect();
            let at = report.locate(g.origin, "ports").unwrap_or_default();
            x.near_misses.push(format!(
                "the given endpoints ({at}) list port{} {}, and none is named \"{sp_name}\" as the Service port is",
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ));
            if let Some((n, _, _)) = g.ports.first() {
                x.fix = format!(
                    "name the EndpointSlice port \"{sp_name}\" (or the Service port \"{n}\"): endpoints belong to a Service port by name"
                );
            }
        }
        given_summary(x);
        return;
    };
    x.cause = Some(locate(report, svc.origin, "spec.selector"));
    let sel: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let matching: Vec<&crate::cluster::SimPod> = c
        .pods
        .iter()
        .filter(|p| {
            p.alive()
                && p.namespace == svc.namespace
                && selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
        })
        .collect();
    if !matching.is_empty() {
        // Matching pods, none ready (or none with the named port).
        for p in &matching {
            match &p.readiness {
                Readiness::ProbePortUnknown {
                    container,
                    probe,
                    name,
                } => {
                    let field = format!("{}.{}.{probe}", p.spec_path, field_of(p, container));
                    let at = locate(report, p.origin, &field);
                    x.near_misses.push(format!(
                        "pod {} is never ready: the {probe} of container {container} names port \"{name}\", which none of the container's ports is called, so the kubelet cannot resolve it and the probe fails every time",
                        p.name
                    ));
                    if x.fix.is_empty() {
                        x.cause = Some(at.clone());
                        x.fix = format!(
                            "name a containerPort of {container} \"{name}\", or give the probe's port by number ({})",
                            at.at.unwrap_or_default()
                        );
                    }
                }
                Readiness::CrashLoop {
                    container,
                    port,
                    holder,
                } => {
                    let field = format!("{}.{}", p.spec_path, field_of(p, container));
                    let at = locate(report, p.origin, &field);
                    x.near_misses.push(format!(
                        "pod {} is not ready: container {container} crash-loops, because {holder} already listens on port {port} and the containers of a pod share one network namespace (bind: address already in use)",
                        p.name
                    ));
                    if x.fix.is_empty() {
                        x.cause = Some(at.clone());
                        x.fix = format!(
                            "move {container} or {holder} to another port ({})",
                            at.at.unwrap_or_default()
                        );
                    }
                }
                Readiness::StartupProbeFails { container, port } => {
                    let field = format!("{}.{}.startupProbe", p.spec_path, field_of(p, container));
                    let at = locate(report, p.origin, &field);
                    x.near_misses.push(format!(
                        "pod {} is never ready: the startupProbe of container {container} probes port {port}, where nothing listens, so it never succeeds (the kubelet restarts the container and never runs the readinessProbe)",
                        p.name
                    ));
                    if x.fix.is_empty() {
                        x.cause = Some(at.clone());
                        x.fix = format!(
                            "point the startupProbe ({}) at a port the container listens on",
                            at.at.unwrap_or_default()
                        );
                    }
                }
                Readiness::ProbeFails { container, port } => {
                    let field =
                        format!("{}.{}.readinessProbe", p.spec_path, field_of(p, container));
                    let at = locate(report, p.origin, &field);
                    let listens: Vec<String> = listening(
                        c,
                        c.pods.iter().position(|q| std::ptr::eq(q, *p)).unwrap_or(0),
                    )
                    .iter()
                    .map(|(_, lp, pr)| format!("{lp}/{pr}"))
                    .collect();
                    x.near_misses.push(format!(
                        "pod {} is not ready: the readinessProbe of container {container} probes port {port}, where nothing listens (it listens on {})",
                        p.name,
                        if listens.is_empty() { "nothing".to_string() } else { listens.join(", ") }
                    ));
                    if x.fix.is_empty() {
                        x.cause = Some(at.clone());
                        x.fix = format!(
                            "point the readinessProbe ({}) at a port the container listens on{}",
                            at.at.unwrap_or_default(),
                            listens
                                .first()
                                .map(|l| format!(": {}", l.split('/').next().unwrap_or("")))
                                .unwrap_or_default()
                        );
                    }
                }
                Readiness::AnnotatedNotReady => x.near_misses.push(format!(
                    "pod {} is not ready (annotation simctl/ready: \"false\")",
                    p.name
                )),
                Readiness::SetByEvent {
                    ready: false,
                    at_ns,
                } => x.near_misses.push(format!(
                    "pod {} was set not ready at {}",
                    p.name,
                    fmt_ns(*at_ns)
                )),
                Readiness::NodeDown => x.near_misses.push(format!("pod {}'s node is down", p.name)),
                Readiness::StatusNotReady { reason } => x.near_misses.push(format!(
                    "pod {} is not ready in the input: its status says Ready is False{}",
                    p.name,
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!(" ({reason})")
                    }
                )),
                _ => {}
            }
            if p.terminating() {
                x.near_misses.push(format!(
                    "pod {} is terminating: its endpoint is no longer ready",
                    p.name
                ));
            }
        }
        if let Some(TargetPort::Name(n)) = svc.ports.get(pi).map(|p| &p.target)
            && matching.iter().all(|p| {
                p.containers.iter().all(|k| {
                    k.ports
                        .iter()
                        .all(|d| d.name.as_deref() != Some(n.as_str()))
                })
            })
        {
            let names: BTreeSet<String> = matching
                .iter()
                .flat_map(|p| {
                    p.containers
                        .iter()
                        .flat_map(|k| k.ports.iter().filter_map(|d| d.name.clone()))
                })
                .collect();
            x.cause = Some(locate(
                report,
                svc.origin,
                &format!("spec.ports[{pi}].targetPort"),
            ));
            x.near_misses.push(format!(
                "targetPort \"{n}\" names no containerPort of the selected pods; they name {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.into_iter().collect::<Vec<_>>().join(", ")
                }
            ));
            x.fix =
                "name the containerPort as the targetPort does, or set targetPort to the number"
                    .into();
        }
        if x.fix.is_empty() {
            x.fix = format!(
                "the selector {} matches {} pod(s), none ready: make them ready",
                sel.join(","),
                matching.len()
            );
        }
        // `why` delegates here when pods match: say which field, not just "none ready".
        x.summary = format!(
            "the selector {} of Service {} matches {} pod{}, but {}",
            sel.join(","),
            svc.name,
            matching.len(),
            if matching.len() == 1 { "" } else { "s" },
            x.near_misses
                .first()
                .cloned()
                .unwrap_or_else(|| "none is ready".into())
        );
        if let Some(c) = &x.cause {
            let _ = write!(x.summary, " ({})", c.render());
        }
        let _ = write!(x.summary, ": {}", x.fix);
        return;
    }
    // No pod matches: which one-label change would make it match?
    let mut near: Vec<String> = Vec::new();
    for p in c
        .pods
        .iter()
        .filter(|p| p.alive() && p.namespace == svc.namespace)
    {
        for (k, v) in selector {
            let others_match = selector
                .iter()
                .filter(|(k2, _)| *k2 != k)
                .all(|(k2, v2)| p.labels.get(k2) == Some(v2));
            if !others_match {
                continue;
            }
            // A near miss: the same key with a value like the wanted one (`api` and
            // `api-server`), not another app's (`web`).
            if let Some(have) = p.labels.get(k)
                && have != v
                && (have.contains(v.as_str())
                    || v.contains(have.as_str())
                    || strsim::jaro_winkler(have, v) >= 0.8)
            {
                near.push(format!("{k}={have}"));
            }
        }
    }
    near.sort();
    near.dedup();
    if !near.is_empty() {
        x.near_misses.push(format!(
            "the selector {} would match pods if one label changed: pods have {}",
            sel.join(","),
            near.join(", ")
        ));
    }
    let elsewhere: BTreeSet<String> = c
        .pods
        .iter()
        .filter(|p| {
            p.alive()
                && p.namespace != svc.namespace
                && selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
        })
        .map(|p| p.namespace.clone())
        .collect();
    if !elsewhere.is_empty() {
        x.near_misses.push(format!(
            "pods with {} exist in namespace {}, but a Service selects only in its own ({})",
            sel.join(","),
            elsewhere.into_iter().collect::<Vec<_>>().join(", "),
            svc.namespace
        ));
    }
    x.fix = match near.first() {
        Some(n) => format!(
            "the selector {} matches no pod; pods have {}: set the selector to {n}",
            sel.join(","),
            near.join(", ")
        ),
        None => format!(
            "the selector {} matches no pod: label the pods or change the selector",
            sel.join(",")
        ),
    };
}

/// What a flow's NetworkPolicy drop says, read off its `policy-drop` hop's record: the
/// pod whose policies dropped it, the direction, the peer's address, the port and
/// protocol. The explanation and the fix search both start from it.
pub(crate) struct PolicyDrop<'f> {
    pub record: &'f PolicyRecord,
    pub pod: PodId,
    pub ingress: bool,
    /// `"ingress"` or `"egress"`, as the policy's fields are called.
    pub dir: &'static str,
    pub peer_ip: std::net::Ipv4Addr,
    pub port: u16,
    pub proto: crate::net::Protocol,
}

impl<'f> PolicyDrop<'f> {
    pub fn of(f: &'f Flow) -> Option<PolicyDrop<'f>> {
        let hop = f
            .story_hops()
            .iter()
            .find(|h| h.action() == Action::PolicyDrop)?;
        let record = hop.step.policy()?;
        let packet = hop.packet?;
        let ingress = record.direction == crate::policy::Direction::Ingress;
        Some(PolicyDrop {
            record,
            pod: record.pod,
            ingress,
            dir: record.direction.field(),
            peer_ip: record.peer.ip,
            port: packet.dst.port,
            proto: packet.protocol,
        })
    }

    /// Whether policy `id` is one of the policies that isolate the pod (and so dropped
    /// the packet: none of their rules allowed it).
    pub fn by(&self, id: crate::cluster::PolicyId, pol: &crate::cluster::SimPolicy) -> bool {
        pol.alive && self.record.verdict.isolating.contains(&id)
    }
}

fn policy_denied(report: &Report, f: &Flow, x: &mut Explanation) {
    let c = &report.run.cluster;
    let Some(drop) = PolicyDrop::of(f) else {
        return;
    };
    let PolicyDrop {
        pod,
        ingress,
        dir,
        peer_ip,
        port,
        proto,
        ..
    } = drop;
    let peer = match c.pod_by_ip(peer_ip) {
        Some(q) => {
            let q = &c.pods[q];
            let labels: Vec<String> = q
                .labels
                .iter()
                .filter(|(k, _)| !fix::is_generated_label(k))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("pod {}/{} ({})", q.namespace, q.name, labels.join(","))
        }
        None => match c.node_by_ip(peer_ip) {
            Some(n) => format!(
                "{peer_ip}, the address of {} (the source was masqueraded to the node's address)",
                c.nodes[n].name
            ),
            None => format!("{peer_ip}"),
        },
    };
    let p = &c.pods[pod];
    let selecting: Vec<&crate::cluster::SimPolicy> = c
        .policies
        .iter()
        .enumerate()
        .filter(|(id, pol)| drop.by(*id, pol))
        .map(|(_, pol)| pol)
        .collect();
    for pol in &selecting {
        let rules = if ingress {
            pol.spec.ingress.as_ref().map(|r| {
                r.iter()
                    .map(|r| (r.from.clone(), r.ports.clone()))
                    .collect::<Vec<_>>()
            })
        } else {
            pol.spec.egress.as_ref().map(|r| {
                r.iter()
                    .map(|r| (r.to.clone(), r.ports.clone()))
                    .collect::<Vec<_>>()
            })
        }
        .unwrap_or_default();
        if rules.is_empty() {
            x.near_misses.push(format!(
                "NetworkPolicy {} selects {} for {dir} and has no {dir} rule: it denies all {dir}",
                pol.name, p.name
            ));
        }
        for (ri, (peers, ports)) in rules.iter().enumerate() {
            x.near_misses.push(format!(
                "NetworkPolicy {} {dir}[{ri}] allows {} on {}",
                pol.name,
                describe_peers(peers.as_deref()),
                describe_ports(ports.as_deref())
            ));
        }
    }
    let names: Vec<String> = selecting.iter().map(|p| p.name.clone()).collect();
    x.fix = format!(
        "add an {dir} rule to {} (or a new NetworkPolicy selecting {}) that allows {} {} port {port}/{proto}",
        if names.is_empty() {
            "the policy".to_string()
        } else {
            names.join(", ")
        },
        p.name,
        if ingress { "from" } else { "to" },
        peer
    );
    let missing = format!(
        "missing rule: no {dir} rule allows {} {peer} on {port}/{proto}",
        if ingress { "from" } else { "to" }
    );
    x.near_misses.insert(0, missing);
}

fn describe_selector(s: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector) -> String {
    let mut parts: Vec<String> = s
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in s.match_expressions.iter().flatten() {
        parts.push(format!(
            "{} {} ({})",
            e.key,
            e.operator,
            e.values.clone().unwrap_or_default().join(",")
        ));
    }
    if parts.is_empty() {
        "all".into()
    } else {
        parts.join(",")
    }
}

fn describe_peers(peers: Option<&[k8s_openapi::api::networking::v1::NetworkPolicyPeer]>) -> String {
    let Some(peers) = peers.filter(|p| !p.is_empty()) else {
        return "from/to anyone".into();
    };
    peers
        .iter()
        .map(|p| {
            if let Some(b) = &p.ip_block {
                return format!("ipBlock {}", b.cidr);
            }
            match (&p.namespace_selector, &p.pod_selector) {
                (Some(n), Some(s)) => format!(
                    "pods {} in namespaces {} (both must match: AND)",
                    describe_selector(s),
                    describe_selector(n)
                ),
                (Some(n), None) => format!("all pods in namespaces {}", describe_selector(n)),
                (None, Some(s)) => format!("pods {} in its namespace", describe_selector(s)),
                (None, None) => "nothing".into(),
            }
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn describe_ports(ports: Option<&[k8s_openapi::api::networking::v1::NetworkPolicyPort]>) -> String {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else {
        return "every port".into();
    };
    ports
        .iter()
        .map(|p| {
            let port = match &p.port {
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n)) => {
                    n.to_string()
                }
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s)) => {
                    s.clone()
                }
                None => "any port".into(),
            };
            format!("{port}/{}", p.protocol.as_deref().unwrap_or("TCP"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `web-0.web` for a pod that exists but is not ready: the EndpointSlice controller lists
/// it with `ready: false` and CoreDNS serves only ready endpoints' names, unless the
/// Service publishes not-ready addresses.
/// True when that is why.
fn not_ready_pod_name(report: &Report, labels: &[&str], own_ns: &str, x: &mut Explanation) -> bool {
    let c = &report.run.cluster;
    let (Some(host), Some(svc)) = (labels.first(), labels.get(1)) else {
        return false;
    };
    let ns = labels.get(2).copied().unwrap_or(own_ns);
    let Some(s) = c.service_by_name(ns, svc).and_then(|s| c.services.get(s)) else {
        return false;
    };
    if s.cluster_ip.is_some() || s.publish_not_ready {
        return false;
    }
    let Some(p) = c.pods.iter().find(|p| {
        p.alive()
            && !p.ready
            && p.namespace == ns
            && p.hostname.as_deref() == Some(*host)
            && p.subdomain.as_deref() == Some(*svc)
    }) else {
        return false;
    };
    x.near_misses.push(format!(
        "pod {} has the name {host}.{svc} but is not ready ({}): CoreDNS answers a pod's name only while its endpoint is ready",
        p.name,
        readiness_words(&p.readiness)
    ));
    x.cause = Some(locate(report, s.origin, "spec"));
    x.fix = format!(
        "make pod {} ready, or set publishNotReadyAddresses: true on Service {svc} (peers then find each other before they are ready)",
        p.name
    );
    true
}

/// Why a pod is not ready, in a few words.
fn readiness_words(r: &Readiness) -> String {
    match r {
        Readiness::Ready => "ready".into(),
        Readiness::AnnotatedNotReady => "annotation simctl/ready: \"false\"".into(),
        Readiness::ProbeFails { container, port } => {
            format!("the readinessProbe of {container} probes port {port}, where nothing listens")
        }
        Readiness::ProbePortUnknown {
            container,
            probe,
            name,
        } => format!("the {probe} of {container} names port \"{name}\", which it does not declare"),
        Readiness::StartupProbeFails { container, port } => {
            format!("the startupProbe of {container} probes port {port}, where nothing listens")
        }
        Readiness::CrashLoop {
            container,
            port,
            holder,
        } => format!("{container} crash-loops: {holder} already listens on port {port}"),
        Readiness::SetByEvent { .. } => "set not ready by an event".into(),
        Readiness::NodeDown => "its node is down".into(),
        Readiness::StatusNotReady { reason } if reason.is_empty() => {
            "its status says Ready is False".into()
        }
        Readiness::StatusNotReady { reason } => {
            format!("its status says Ready is False ({reason})")
        }
    }
}

fn nxdomain(report: &Report, f: &Flow, x: &mut Explanation) {
    let c = &report.run.cluster;
    let Some(plan) = report.run.traffic.get(f.traffic) else {
        return;
    };
    let (name, field) = match &plan.to {
        Target::Connect { host, .. } => (host.clone(), "to"),
        Target::Resolve { name, .. } => (name.clone(), "resolve"),
    };
    if !plan.generated {
        x.cause = Some(locate_scenario(
            report,
            &format!("spec.traffic[{}].{field}", f.traffic),
        ));
    }
    if let Some(d) = &f.dns {
        x.what = format!(
            "{name} does not resolve (NXDOMAIN); the resolver tried {}",
            d.tried.join(", ")
        );
    }
    let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
    let first = labels.first().copied().unwrap_or("");
    let asked_ns = labels.get(1).copied();
    let sender_pod = match crate::engine::traffic::resolve_sender(c, &plan.from) {
        Ok(crate::engine::traffic::Sender::Pod(p)) => Some(p),
        _ => None,
    };
    if sender_pod.is_none() {
        x.near_misses.push(
            "the sender is outside the cluster: it cannot resolve cluster.local names (only node names and clients' dnsNames)".into(),
        );
    }
    let own_ns = sender_pod
        .and_then(|p| c.pods.get(p))
        .map_or("default".to_string(), |p| p.namespace.clone());
    if not_ready_pod_name(report, &labels, &own_ns, x) {
        return;
    }
    let mut fixes = Vec::new();
    for s in c.services.iter().filter(|s| s.alive) {
        if s.name == first
            && let Some(target) = &s.external_name
            && asked_ns.is_none_or(|n| n == s.namespace)
        {
            x.cause = Some(locate(report, s.origin, "spec.externalName"));
            x.near_misses.push(format!(
                "Service {}/{} is ExternalName: a CNAME to \"{target}\", and that name does not resolve",
                s.namespace, s.name
            ));
            let t = target.split('.').next().unwrap_or("");
            for other in c.services.iter().filter(|o| {
                o.alive && o.external_name.is_none() && (o.name == t || fix::similar(&o.name, t))
            }) {
                fixes.push(format!(
                    "set externalName to {}.{}.svc.{} (a Service's full name)",
                    other.name, other.namespace, c.config.cluster_domain
                ));
            }
            continue;
        }
        if s.name == first {
            let wanted = asked_ns.unwrap_or(&own_ns);
            if s.namespace != wanted {
                x.near_misses.push(format!(
                    "Service {} exists in namespace {}, not in {wanted}",
                    s.name, s.namespace
                ));
                fixes.push(format!(
                    "write {}.{} (the Service's namespace)",
                    s.name, s.namespace
                ));
            }
        } else if fix::similar(&s.name, first) {
            let ns_ok = asked_ns.is_none_or(|n| n == s.namespace)
                && (asked_ns.is_some() || s.namespace == own_ns);
            x.near_misses.push(format!(
                "Service {}/{} differs from \"{first}\" by a letter or two",
                s.namespace, s.name
            ));
            if ns_ok {
                fixes.push(format!("write {} (the Service's name)", s.name));
            }
        }
    }
    let refused = format!("The Service \"{first}\" is invalid");
    for d in report
        .run
        .diagnostics
        .iter()
        .chain(report.loaded.diagnostics.iter())
    {
        if d.message.contains(&refused) {
            x.near_misses.push(format!(
                "a Service {first} was written, but the API server refused it: {}",
                d.message
            ));
            if let Some(field) = &d.field {
                fixes.insert(
                    0,
                    format!("fix {field} of Service {first} so that it is created"),
                );
            }
        }
    }
    x.fix = fixes.into_iter().next().unwrap_or_else(|| {
        format!("no Service is called {first}: create it, or use the name of one that exists")
    });
}

fn no_local(report: &Report, f: &Flow, x: &mut Explanation) {
    let c = &report.run.cluster;
    let Some((s, pi)) = service_of_flow(c, f) else {
        x.fix = "set externalTrafficPolicy: Cluster, or send to a node with an endpoint".into();
        return;
    };
    let svc = &c.services[s];
    let external = x.reason == Reason::NoLocalEndpoint;
    let field = if external {
        "spec.externalTrafficPolicy"
    } else {
        "spec.internalTrafficPolicy"
    };
    x.cause = Some(locate(report, svc.origin, field));
    let with: BTreeSet<String> = c
        .endpoints(s, pi)
        .iter()
        .filter(|e| e.ready)
        .filter_map(|e| e.node.and_then(|n| c.nodes.get(n)).map(|n| n.name.clone()))
        .collect();
    let here = f
        .story_hops()
        .iter()
        .rev()
        .find_map(|h| match h.place {
            Place::Node(n) => c.nodes.get(n).map(|n| n.name.clone()),
            _ => None,
        })
        .unwrap_or_default();
    x.near_misses.push(format!(
        "{here} has no ready endpoint of Service {}; {}",
        svc.name,
        if with.is_empty() {
            "no node has one".to_string()
        } else {
            format!(
                "the node{} with endpoints: {}",
                if with.len() == 1 { "" } else { "s" },
                with.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        }
    ));
    x.fix = if external {
        format!(
            "send to {} (a node with an endpoint), or set externalTrafficPolicy: Cluster (the pod then sees a node's address, not the client's)",
            with.iter()
                .next()
                .cloned()
                .unwrap_or_else(|| "a node with an endpoint".into())
        )
    } else {
        "set internalTrafficPolicy: Cluster, or run a pod of the Service on the client's node (a DaemonSet)".into()
    };
}

fn source_range(report: &Report, f: &Flow, x: &mut Explanation) {
    let c = &report.run.cluster;
    let Some((s, _)) = service_of_flow(c, f) else {
        return;
    };
    let svc = &c.services[s];
    x.cause = Some(locate(report, svc.origin, "spec.loadBalancerSourceRanges"));
    let ranges: Vec<String> = svc
        .lb_source_ranges
        .iter()
        .map(ToString::to_string)
        .collect();
    x.near_misses.push(format!(
        "loadBalancerSourceRanges {} does not include {}",
        ranges.join(", "),
        f.tuple.src.ip
    ));
    x.fix = format!("add {}/32 to loadBalancerSourceRanges", f.tuple.src.ip);
}

/// No nameserver of the pod's resolv.conf answered: the pod's dnsConfig (or dnsPolicy)
/// named servers that are not there.
fn dns_unanswered(report: &Report, f: &Flow, x: &mut Explanation) {
    let c = &report.run.cluster;
    let Some(p) = f.hops.first().and_then(|h| match h.place {
        crate::trace::Place::Pod(p) => c.pods.get(p),
        _ => None,
    }) else {
        return;
    };
    let field = if p.dns.nameservers.is_empty() {
        format!("{}.dnsPolicy", p.spec_path)
    } else {
        format!("{}.dnsConfig.nameservers", p.spec_path)
    };
    x.cause = Some(locate(report, p.origin, &field));
    x.fix = match c.cluster_dns() {
        Some(ip) => format!(
            "name a nameserver that answers: the cluster DNS is {ip} (dnsPolicy ClusterFirst, or {ip} in dnsConfig.nameservers)"
        ),
        None => "name a nameserver that answers".into(),
    };
}

fn no_service_port(report: &Report, f: &Flow, x: &mut Explanation) {
    let c = &report.run.cluster;
    let dst = f.tuple.dst;
    let Some((si, svc)) = c.services.iter().enumerate().find(|(_, s)| {
        s.alive
            && (s.cluster_ip == Some(dst.ip)
                || s.external_ips.contains(&dst.ip)
                || s.lb_ips.contains(&dst.ip))
    }) else {
        x.fix = format!("nothing answers at {}: check the address", dst.ip);
        return;
    };
    let _ = si;
    x.cause = Some(locate(report, svc.origin, "spec.ports"));
    let exposed: Vec<String> = svc
        .ports
        .iter()
        .map(|p| format!("{}/{}", p.port, p.protocol))
        .collect();
    x.what = format!(
        "{} is Service {}/{}, which exposes {}, not {}/{}",
        dst.ip,
        svc.namespace,
        svc.name,
        exposed.join(", "),
        dst.port,
        f.tuple.protocol
    );
    if let Some(same) = svc.ports.iter().find(|p| p.port == dst.port) {
        x.near_misses.push(format!(
            "port {} is exposed for {} only; the request is {}",
            same.port, same.protocol, f.tuple.protocol
        ));
        x.fix = format!(
            "set the port's protocol to {} (or add a second port {} with protocol {})",
            f.tuple.protocol, dst.port, f.tuple.protocol
        );
        return;
    }
    if let Some(p) = svc
        .ports
        .iter()
        .find(|p| matches!(p.target, TargetPort::Number(n) if n == dst.port))
    {
        x.near_misses.push(format!(
            "{} is the targetPort of port {} (port is what clients connect to; targetPort is the pod's port)",
            dst.port, p.port
        ));
    }
    x.fix = format!(
        "connect to port {} of the Service, or set its port to {}",
        svc.ports.first().map_or(0, |p| p.port),
        dst.port
    );
}

fn no_route(report: &Report, f: &Flow, x: &mut Explanation) {
    let c = &report.run.cluster;
    let dst = f.tuple.dst.ip;
    if c.config.service_cidr.contains(dst) {
        x.near_misses.push(format!(
            "{dst} is in serviceCIDR {}: a ClusterIP exists only inside the cluster",
            c.config.service_cidr
        ));
        x.fix = "from outside the cluster use a NodePort (node address:nodePort) or a LoadBalancer"
            .into();
        return;
    }
    let pending: Vec<&crate::cluster::SimService> = c
        .services
        .iter()
        .filter(|s| {
            s.alive && s.type_ == crate::cluster::ServiceType::LoadBalancer && s.lb_ips.is_empty()
        })
        .collect();
    for s in &pending {
        let np: Vec<String> = s
            .ports
            .iter()
            .filter_map(|p| p.node_port)
            .map(|n| n.to_string())
            .collect();
        x.near_misses.push(format!(
            "LoadBalancer Service {}/{} is <pending>: nothing assigns external addresses on bare metal (spec.cluster.loadBalancer: none); its NodePorts {} work",
            s.namespace,
            s.name,
            np.join(", ")
        ));
        x.cause = Some(locate(report, s.origin, "spec.type"));
    }
    x.fix = if pending.is_empty() {
        format!("no host has {dst}: check the address")
    } else {
        "install a load-balancer controller (MetalLB; in simctl spec.cluster.loadBalancer: cloud), or connect to a node's NodePort".into()
    };
}
