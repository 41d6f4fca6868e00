//! The page's documents: everything one edit of the editor needs, in one JSON document
//! ([`sandbox_json`]), and the proven fixes of one failed flow, on demand ([`fixes_json`]).
//!
//! Both reuse what the command line runs: the load of `simctl check`, the simulation and
//! document of `simctl run --output json` ([`output::simulate`]), the advice of
//! `simctl lint` ([`lint::lint`]), and the explanations and fix search of
//! `simctl explain` ([`explain::explain`], [`fix::proven_fixes`], default limits). What is
//! new here is the topology as places and links for the page to draw, whose place ids are
//! the very strings the run's hops name ([`place_name`]).
//!
//! Nothing here panics on any input: an invalid text gives `valid: false`, `run: null`
//! and empty lists.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sim_core::cluster::{
    Bind, Cluster, ListenSource, Origin, PodId, Readiness, ServiceType, SimPod, TargetPort,
};
use sim_core::engine::report::Report;
use sim_core::engine::topology::Topology;
use sim_core::engine::{self, RunOptions, RunResult, place_name};
use sim_core::explain::{self, edit, fix};
use sim_core::lint;
use sim_core::net::Protocol;
use sim_core::output;
use sim_core::trace::Place;

use crate::{load, parse_mode};

/// The page's document for one text: `{version, valid, scenario, check, run, lint, story,
/// topology, explanations}` (see the crate's documentation). Errs only on a `proxy_mode` that is not
/// a mode.
pub fn sandbox_json(
    name: &str,
    text: &str,
    seed: Option<u64>,
    proxy_mode: Option<&str>,
) -> Result<String, String> {
    let opts = RunOptions {
        seed,
        proxy_mode: parse_mode(proxy_mode)?,
        ..RunOptions::default()
    };
    let (sources, loaded) = load(name, text);
    let check = output::check_json(&sources, &loaded, false);
    let sim = output::simulate(&loaded, &opts, false);
    // The same value `output::run_json` gives: it is `simulate(..).to_json(..)`.
    let run_doc = sim.to_json(&sources, &loaded);
    let report = sim.report(&sources, &loaded);
    // What the page shows above the editor (a lesson's title and description).
    let scenario = loaded.scenario.as_ref().map_or(Value::Null, |s| {
        json!({
            "name": s.doc.metadata.name,
            "title": s.doc.spec.title,
            "description": s.doc.spec.description,
            "seed": s.doc.spec.seed,
        })
    });
    let doc = match &report {
        None => json!({
            "version": env!("CARGO_PKG_VERSION"),
            "valid": false,
            "scenario": scenario,
            "check": check,
            "run": Value::Null,
            "lint": [],
            "story": "",
            "topology": {"places": [], "links": []},
            "explanations": [],
        }),
        Some(report) => {
            // As `simctl lint` finds them; the loader's own diagnostics are in `check`.
            let found = lint::lint(&loaded, &lint::LintOptions::default());
            json!({
                "version": env!("CARGO_PKG_VERSION"),
                "valid": true,
                "scenario": scenario,
                "check": check,
                "run": run_doc,
                "lint": found.diagnostics.iter().map(|d| d.to_json(&sources)).collect::<Vec<_>>(),
                "story": report.story(),
                "topology": topology_json(report.run),
                "explanations": explanations_json(report),
            })
        }
    };
    Ok(output::pretty(&doc))
}

/// The proven fixes of request `index` (0-based) of traffic entry `traffic`, as
/// `simctl explain` searches them (at most 64 candidates simulated, 3 fixes kept):
/// `[{description, diff, edit: {startLine, removeLines, lines}, text}]`, where `text` is
/// the whole input with the edit applied. `[]` for an invalid input, an unknown entry or
/// request, or a request that was delivered. Errs only on a `proxy_mode` that is not a
/// mode.
///
/// A leading byte-order mark is dropped before anything (as `simctl` does), so
/// `startLine` and `text` are those of the text without it; the page never sends one.
pub fn fixes_json(
    name: &str,
    text: &str,
    seed: Option<u64>,
    proxy_mode: Option<&str>,
    traffic: &str,
    index: u32,
) -> Result<String, String> {
    let opts = RunOptions {
        seed,
        proxy_mode: parse_mode(proxy_mode)?,
        // As `simctl explain` runs: every hop of every flow.
        trace: engine::TraceLevel::Full,
    };
    let (sources, loaded) = load(name, text);
    if loaded.has_errors() {
        return Ok(output::pretty(&json!([])));
    }
    let result = engine::run(&loaded, &opts);
    let report = Report {
        sources: &sources,
        loaded: &loaded,
        run: &result,
        expectations: &[],
        diagnostics: &[],
    };
    let flow = result.flows.iter().find(|f| {
        f.index == index
            && result.traffic.get(f.traffic).map(|t| t.name.as_str()) == Some(traffic)
            && f.outcome != sim_core::trace::Outcome::Delivered
            && f.reason.is_some()
            && !f.hops.is_empty()
    });
    let fixes = match flow {
        Some(f) => fix::proven_fixes(&report, &opts, f, fix::Limits::default()),
        None => Vec::new(),
    };
    let items: Vec<Value> = fixes
        .iter()
        .filter_map(|f| {
            let before = sources.get(f.edit.source)?;
            let after = edit::apply(&before.text, &f.edit)?;
            Some(json!({
                "description": f.description,
                "diff": f.diff,
                "edit": {
                    "startLine": f.edit.start,
                    "removeLines": f.edit.old_len,
                    "lines": f.edit.lines,
                },
                "text": after,
            }))
        })
        .collect();
    Ok(output::pretty(&Value::Array(items)))
}

/// The explanation of the first failed flow of each traffic entry, as `simctl explain
/// --output json` gives it (less the fixes, searched on demand), with the cause's `file`
/// and `line` apart.
fn explanations_json(report: &Report) -> Vec<Value> {
    explain::failed_flows(report.run)
        .into_iter()
        .filter_map(|f| explain::explain(report, f))
        .map(|x| {
            let at = x.cause.as_ref().and_then(|c| c.at.as_deref());
            let (file, line) = match at.and_then(split_at) {
                Some((file, line)) => (Value::from(file), Value::from(line)),
                None => (Value::Null, Value::Null),
            };
            let mut v = x.to_json();
            if let Some(m) = v.as_object_mut() {
                m.insert("file".into(), file);
                m.insert("line".into(), line);
            }
            v
        })
        .collect()
}

/// `file:line` apart (a file name may hold colons: the line is after the last).
fn split_at(at: &str) -> Option<(&str, u32)> {
    let (file, line) = at.rsplit_once(':')?;
    Some((file, line.parse().ok()?))
}

/// One place of the picture.
struct PlaceDoc {
    id: String,
    kind: &'static str,
    label: String,
    parent: Option<String>,
    ip: Option<String>,
    up: bool,
    detail: Vec<String>,
}

impl PlaceDoc {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "parent": self.parent,
            "ip": self.ip,
            "up": self.up,
            "detail": self.detail,
        })
    }
}

/// The cluster at the end of the run as places and links, in arena order. The choices
/// are those of the DOT picture (`sim_core::export::dot`): the load balancer only when a
/// Service has a load-balancer address, the external hosts only when given endpoints name
/// addresses outside the cluster, live pods, Services less simctl's own; and, so that
/// every hop can be drawn, any place a hop visits (a pod deleted during the run too).
fn topology_json(run: &RunResult) -> Value {
    let c = &run.cluster;
    let visited: BTreeSet<Place> = run
        .flows
        .iter()
        .flat_map(|f| f.hops.iter().map(|h| h.place))
        .collect();
    let lb_ips: Vec<(String, String)> = c
        .services
        .iter()
        .filter(|s| s.alive)
        .flat_map(|s| {
            s.lb_ips
                .iter()
                .map(move |ip| (service_name(&s.namespace, &s.name), ip.to_string()))
        })
        .collect();
    let externals = sim_core::export::dot::external_addresses(c);
    let shown = |p: &Place| match p {
        Place::LoadBalancer => !lb_ips.is_empty() || visited.contains(p),
        Place::External => !externals.is_empty() || visited.contains(p),
        Place::Pod(i) => {
            c.pods.get(*i).is_some_and(|p| p.alive()) || visited.contains(&Place::Pod(*i))
        }
        _ => true,
    };

    let mut places: Vec<PlaceDoc> = Vec::new();
    let id = |p: Place| place_name(c, p);
    places.push(PlaceDoc {
        id: id(Place::Internet),
        kind: "internet",
        label: "the network".into(),
        parent: None,
        ip: None,
        up: true,
        detail: vec!["the network outside the cluster".into()],
    });
    if shown(&Place::LoadBalancer) {
        let mut label = String::from("load balancer");
        for (_, ip) in &lb_ips {
            label.push('\n');
            label.push_str(ip);
        }
        places.push(PlaceDoc {
            id: id(Place::LoadBalancer),
            kind: "loadbalancer",
            label,
            parent: None,
            ip: lb_ips.first().map(|(_, ip)| ip.clone()),
            up: true,
            detail: lb_ips
                .iter()
                .map(|(svc, ip)| format!("{ip} for Service {svc}"))
                .collect(),
        });
    }
    if shown(&Place::External) {
        let mut label = String::from("hosts outside the cluster");
        for ip in &externals {
            label.push('\n');
            label.push_str(ip);
        }
        places.push(PlaceDoc {
            id: id(Place::External),
            kind: "external",
            label,
            parent: None,
            ip: None,
            up: true,
            detail: externals
                .iter()
                .map(|ip| format!("{ip} (an endpoint given by EndpointSlice or Endpoints)"))
                .collect(),
        });
    }
    for (i, k) in c.clients.iter().enumerate() {
        places.push(PlaceDoc {
            id: id(Place::Client(i)),
            kind: "client",
            label: format!("{}\n{}", k.name, k.ip),
            parent: None,
            ip: Some(k.ip.to_string()),
            up: true,
            detail: vec![format!("IP {}", k.ip), "a host outside the cluster".into()],
        });
    }
    for (n, node) in c.nodes.iter().enumerate() {
        let mut ips = node.ip.to_string();
        for extra in &node.extra_ips {
            ips.push_str(&format!(", {extra}"));
        }
        let mut detail = vec![
            format!("IP {ips}"),
            format!("podCIDR {}", node.pod_cidr),
            format!("kube-proxy ({})", c.config.proxy.mode.as_str()),
        ];
        if !node.up {
            detail.push("down".into());
        }
        places.push(PlaceDoc {
            id: id(Place::Node(n)),
            kind: "node",
            label: format!("{}\n{}", node.name, node.ip),
            parent: None,
            ip: Some(node.ip.to_string()),
            up: node.up,
            detail,
        });
    }
    for (p, pod) in c.pods.iter().enumerate() {
        if !shown(&Place::Pod(p)) {
            continue;
        }
        places.push(pod_place(c, p, pod));
    }
    let ids: BTreeSet<String> = places.iter().map(|p| p.id.clone()).collect();

    // The links of the topology graph, in insertion order.
    let mut links: Vec<Value> = Vec::new();
    let topo = Topology::new(c);
    let link = |a: Place, b: Place| {
        let kind = if matches!(a, Place::Pod(_)) || matches!(b, Place::Pod(_)) {
            "veth"
        } else {
            "network"
        };
        json!({"from": id(a), "to": id(b), "kind": kind})
    };
    for e in topo.graph.edge_indices() {
        let Some((a, b)) = topo.graph.edge_endpoints(e) else {
            continue;
        };
        let (Some(&pa), Some(&pb)) = (topo.graph.node_weight(a), topo.graph.node_weight(b)) else {
            continue;
        };
        if shown(&pa) && shown(&pb) {
            links.push(link(pa, pb));
        }
    }
    // Pods no longer alive (so not in the graph) that a hop visited: their veth still.
    for (p, pod) in c.pods.iter().enumerate() {
        if !pod.alive() && shown(&Place::Pod(p)) && pod.node < c.nodes.len() {
            links.push(link(Place::Pod(p), Place::Node(pod.node)));
        }
    }

    // Services, with a link to each endpoint (once per address).
    for (si, s) in c.services.iter().enumerate() {
        if !s.alive || s.origin == Origin::Default {
            continue;
        }
        let sid = format!("svc/{}/{}", s.namespace, s.name);
        let mut targets: BTreeMap<(Option<PodId>, std::net::Ipv4Addr), bool> = BTreeMap::new();
        for pi in 0..s.ports.len() {
            for e in c.endpoints(si, pi) {
                *targets.entry((e.pod, e.ip)).or_insert(true) &= e.ready;
            }
        }
        let ready = targets.values().filter(|r| **r).count();
        let mut detail = vec![s.type_.as_str().to_string()];
        let ip_text = match (s.type_, s.cluster_ip) {
            (ServiceType::ExternalName, _) => {
                let to = s.external_name.clone().unwrap_or_default();
                detail.push(format!("externalName {to}"));
                to
            }
            (_, Some(ip)) => {
                detail.push(format!("clusterIP {ip}"));
                ip.to_string()
            }
            (_, None) => {
                detail.push("clusterIP None (headless)".into());
                "None".into()
            }
        };
        for p in &s.ports {
            let target = match &p.target {
                TargetPort::Number(n) => n.to_string(),
                TargetPort::Name(n) => n.clone(),
            };
            let mut line = p.port.to_string();
            if p.protocol != Protocol::Tcp {
                line.push_str(&format!("/{}", p.protocol.as_str()));
            }
            line.push_str(&format!(" -> targetPort {target}"));
            if let Some(np) = p.node_port {
                line.push_str(&format!(" (nodePort {np})"));
            }
            detail.push(line);
        }
        for ip in &s.external_ips {
            detail.push(format!("externalIP {ip}"));
        }
        for ip in &s.lb_ips {
            detail.push(format!("load balancer {ip}"));
        }
        match &s.selector {
            Some(sel) if !sel.is_empty() => {
                let kv: Vec<String> = sel.iter().map(|(k, v)| format!("{k}={v}")).collect();
                detail.push(format!("selector {}", kv.join(",")));
            }
            _ => detail.push("no selector (endpoints given by EndpointSlice or Endpoints)".into()),
        }
        if s.type_ != ServiceType::ExternalName {
            detail.push(format!(
                "{} endpoint{}, {ready} ready",
                targets.len(),
                if targets.len() == 1 { "" } else { "s" }
            ));
        }
        places.push(PlaceDoc {
            id: sid.clone(),
            kind: "service",
            label: format!("{}\n{ip_text}", s.name),
            parent: None,
            ip: s.cluster_ip.map(|ip| ip.to_string()),
            up: true,
            detail,
        });
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for (pod, ip) in targets.keys() {
            let to = match pod {
                Some(p) => id(Place::Pod(*p)),
                None => match c.nodes.iter().position(|n| n.addresses().any(|a| a == *ip)) {
                    Some(n) => id(Place::Node(n)),
                    None => id(Place::External),
                },
            };
            if ids.contains(&to) && seen.insert(to.clone()) {
                links.push(json!({"from": sid, "to": to, "kind": "endpoint"}));
            }
        }
    }
    json!({
        "places": places.iter().map(PlaceDoc::to_json).collect::<Vec<_>>(),
        "links": links,
    })
}

fn service_name(namespace: &str, name: &str) -> String {
    if namespace == "default" {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

fn pod_place(c: &Cluster, p: PodId, pod: &SimPod) -> PlaceDoc {
    let mut label = format!("{}\n{}", service_name(&pod.namespace, &pod.name), pod.ip);
    if pod.host_network {
        label.push_str(" (hostNetwork)");
    }
    let mut detail: Vec<String> = pod.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for k in &pod.containers {
        let sockets: Vec<String> = k
            .listen
            .sockets
            .iter()
            .map(|s| {
                let at = match s.bind {
                    Bind::Any => String::new(),
                    Bind::Loopback => "127.0.0.1:".into(),
                    Bind::Ip(ip) => format!("{ip}:"),
                };
                format!("{at}{}/{}", s.port, s.protocol.as_str())
            })
            .collect();
        let from = match &k.listen.source {
            ListenSource::Annotation => " (annotation simctl/listen)",
            ListenSource::Image { .. } => "",
            ListenSource::Declared => " (its containerPorts)",
            ListenSource::Assumed => "",
        };
        detail.push(match &k.listen.source {
            ListenSource::Assumed => {
                format!(
                    "{} ({}): what it listens on is unknown, assumed any port",
                    k.name, k.image
                )
            }
            _ if sockets.is_empty() => format!("{} listens on nothing{from}", k.name),
            _ => format!("{} listens on {}{from}", k.name, sockets.join(", ")),
        });
    }
    detail.push(match &pod.readiness {
        _ if pod.ready => "ready".to_string(),
        Readiness::Ready => "not ready".to_string(),
        Readiness::AnnotatedNotReady => "not ready (annotation simctl/ready: \"false\")".into(),
        Readiness::ProbeFails { container, port } => {
            format!("not ready: the readinessProbe of {container} aims at port {port}, where nothing listens")
        }
        Readiness::ProbePortUnknown {
            container,
            probe,
            name,
        } => format!(
            "never ready: the {probe} of {container} names port \"{name}\", which the container does not declare"
        ),
        Readiness::StartupProbeFails { container, port } => format!(
            "never ready: the startupProbe of {container} aims at port {port}, where nothing listens"
        ),
        Readiness::CrashLoop {
            container,
            port,
            holder,
        } => format!(
            "not ready: {container} crash-loops ({holder} already listens on port {port})"
        ),
        Readiness::SetByEvent { .. } => "not ready (set by an event)".into(),
        Readiness::NodeDown => "not ready: its node is down".into(),
        Readiness::StatusNotReady { reason } if reason.is_empty() => {
            "not ready: its status says so".into()
        }
        Readiness::StatusNotReady { reason } => format!("not ready: its status says so ({reason})"),
    });
    if pod.terminating() {
        detail.push("terminating".into());
    } else if !pod.alive() {
        detail.push("deleted during the run".into());
    }
    PlaceDoc {
        id: place_name(c, Place::Pod(p)),
        kind: "pod",
        label,
        parent: c.nodes.get(pod.node).map(|n| n.name.clone()),
        ip: Some(pod.ip.to_string()),
        up: pod.alive(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::{fixes_json, sandbox_json};

    const MISCONFIGURED: &str = include_str!("../../scenarios/misconfigured.yaml");
    const NAME: &str = "misconfigured.yaml";

    fn doc(text: &str) -> Value {
        let out = sandbox_json(NAME, text, None, None).expect("sandbox");
        assert!(out.ends_with("}\n"));
        serde_json::from_str(&out).expect("json")
    }

    fn strs(v: &Value) -> Vec<&str> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_str().expect("string"))
            .collect()
    }

    /// Every `place` of every hop, and both ends of every link, name a place.
    fn assert_drawable(what: &str, d: &Value) {
        let places = d["topology"]["places"].as_array().expect("places");
        let ids: std::collections::BTreeSet<&str> = places
            .iter()
            .map(|p| p["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids.len(), places.len(), "{what}: place ids are unique");
        for f in d["run"]["flows"].as_array().expect("flows") {
            for h in f["hops"].as_array().expect("hops") {
                let place = h["place"].as_str().expect("place");
                assert!(
                    ids.contains(place),
                    "{what}: hop place {place:?} is not a place"
                );
            }
        }
        for l in d["topology"]["links"].as_array().expect("links") {
            for end in ["from", "to"] {
                let id = l[end].as_str().expect("end");
                assert!(ids.contains(id), "{what}: link end {id:?} is not a place");
            }
        }
        for p in places {
            if let Some(parent) = p["parent"].as_str() {
                assert!(ids.contains(parent), "{what}: parent {parent:?}");
            }
        }
    }

    #[test]
    fn every_hop_is_at_a_place_of_the_topology() {
        let d = doc(MISCONFIGURED);
        assert_eq!(d["valid"], true);
        assert_drawable(NAME, &d);
        let places = d["topology"]["places"].as_array().expect("places");
        let find = |id: &str| places.iter().find(|p| p["id"] == id);
        assert_eq!(find("laptop").expect("laptop")["kind"], "client");
        assert_eq!(find("node-1").expect("node-1")["parent"], Value::Null);
        let web = find("svc/default/web").expect("the web Service");
        assert_eq!(web["kind"], "service");
        assert!(
            strs(&web["detail"]).contains(&"80 -> targetPort 8080 (nodePort 30080)"),
            "{web}"
        );
        // The default Services (kubernetes, kube-dns) are not drawn.
        assert!(find("svc/default/kubernetes").is_none());
        let pod = places
            .iter()
            .find(|p| {
                p["kind"] == "pod" && p["id"].as_str().is_some_and(|i| i.starts_with("pod/web-"))
            })
            .expect("a web pod");
        assert!(
            pod["parent"]
                .as_str()
                .is_some_and(|n| n.starts_with("node-"))
        );
        let detail = strs(&pod["detail"]);
        assert!(detail.contains(&"app=web"), "{detail:?}");
        assert!(detail.contains(&"nginx listens on 80/TCP"), "{detail:?}");
        // The web Service has an endpoint link to each of its two pods; api none.
        let links = d["topology"]["links"].as_array().expect("links");
        let endpoints = |svc: &str| {
            links
                .iter()
                .filter(|l| l["kind"] == "endpoint" && l["from"] == svc)
                .count()
        };
        assert_eq!(endpoints("svc/default/web"), 2);
        assert_eq!(endpoints("svc/default/api"), 0);
        assert!(
            links
                .iter()
                .any(|l| l["kind"] == "veth" && l["from"] == pod["id"])
        );
    }

    /// The sandbox over every file: never a panic, always JSON, and when valid, drawable.
    fn all_drawable(files: &[std::path::PathBuf]) -> usize {
        let mut valid = 0;
        for f in files {
            let text = std::fs::read_to_string(f).expect("read");
            let what = f.display().to_string();
            let d: Value =
                serde_json::from_str(&sandbox_json(&what, &text, None, None).expect("sandbox"))
                    .expect("json");
            if d["valid"] == true {
                assert_drawable(&what, &d);
                valid += 1;
            }
        }
        valid
    }

    #[test]
    fn every_scenario_of_the_repository_is_drawable() {
        let root = simctl_e2e::root();
        let mut files = simctl_e2e::yaml_files(&root.join("scenarios"));
        files.extend(simctl_e2e::yaml_files(&root.join("tests/scenarios")));
        // Lessons, exercises, solutions, mistakes, misconfigured, behaviour scenarios.
        assert!(files.len() >= 60, "found {} scenarios", files.len());
        assert!(all_drawable(&files) >= 50);
    }

    #[test]
    fn every_manifest_of_the_corpus_is_drawable() {
        let corpus = simctl_e2e::corpus_dir();
        let files = simctl_e2e::yaml_files(&corpus);
        assert!(
            files.len() >= 150,
            "{} holds {} manifests: the corpus beside the checkout is needed",
            corpus.display(),
            files.len()
        );
        // 143 of the 150 are valid (tests/check.rs says which 7 are not and why).
        assert!(all_drawable(&files) >= 143);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Whatever a learner types: one line of misconfigured.yaml replaced by arbitrary
        /// text gives a JSON document, never a panic.
        #[test]
        fn an_edited_line_never_breaks_the_sandbox(line in 0usize..120, text in ".{0,40}") {
            let mut lines: Vec<&str> = MISCONFIGURED.lines().collect();
            let at = line % lines.len();
            lines[at] = &text;
            let edited = lines.join("\n");
            let out = sandbox_json(NAME, &edited, None, None).expect("sandbox");
            let d: Value = serde_json::from_str(&out).expect("json");
            if d["valid"] == true {
                assert_drawable(NAME, &d);
            }
        }
    }

    #[test]
    fn the_members_are_the_documents_of_check_and_run() {
        let d = doc(MISCONFIGURED);
        let check: Value =
            serde_json::from_str(&crate::check_json(NAME, MISCONFIGURED)).expect("json");
        let run: Value =
            serde_json::from_str(&crate::run_json(NAME, MISCONFIGURED, None, None).expect("run"))
                .expect("json");
        assert_eq!(d["check"], check);
        assert_eq!(d["run"], run);
        assert_eq!(d["version"], env!("CARGO_PKG_VERSION"));
        let story = d["story"].as_str().expect("story");
        assert!(
            story.contains("laptop-to-web: laptop -> node-1:30080"),
            "{story}"
        );
        assert!(!story.contains('\u{1b}'), "no colour");
        let lint = d["lint"].as_array().expect("lint");
        assert!(
            lint.iter().any(|l| l["code"] == "SelectorMatchesNoPod"),
            "{lint:?}"
        );
    }

    /// The 1-based line of the first line of `text` holding `needle`.
    fn line_of(text: &str, needle: &str) -> u64 {
        text.lines()
            .position(|l| l.contains(needle))
            .expect("needle") as u64
            + 1
    }

    #[test]
    fn the_failing_flows_are_explained_at_their_lines() {
        let d = doc(MISCONFIGURED);
        let xs = d["explanations"].as_array().expect("explanations");
        assert_eq!(xs.len(), 2, "{xs:?}");
        let web = xs
            .iter()
            .find(|x| x["traffic"] == "laptop-to-web")
            .expect("web");
        assert_eq!(web["reason"], "NoListener");
        assert_eq!(web["cause"]["field"], "spec.ports[0].targetPort");
        assert_eq!(web["file"], NAME);
        assert_eq!(web["line"], line_of(MISCONFIGURED, "targetPort: 8080"));
        let api = xs
            .iter()
            .find(|x| x["traffic"] == "laptop-to-api")
            .expect("api");
        // spec.selector: the line above its `app: api`.
        assert_eq!(
            api["line"],
            line_of(MISCONFIGURED, "app: api           #") - 1
        );
    }

    fn outcomes(d: &Value, traffic: &str) -> Vec<String> {
        d["run"]["flows"]
            .as_array()
            .expect("flows")
            .iter()
            .filter(|f| f["traffic"] == traffic)
            .map(|f| f["outcome"].as_str().expect("outcome").to_string())
            .collect()
    }

    #[test]
    fn a_proven_fix_delivers_the_flow_when_applied() {
        let out = fixes_json(NAME, MISCONFIGURED, None, None, "laptop-to-web", 0).expect("fixes");
        let fixes: Value = serde_json::from_str(&out).expect("json");
        let fixes = fixes.as_array().expect("array");
        assert!(!fixes.is_empty());
        let fix = &fixes[0];
        let line = line_of(MISCONFIGURED, "targetPort: 8080");
        assert_eq!(fix["edit"]["startLine"], line);
        assert_eq!(fix["edit"]["removeLines"], 1);
        assert!(
            fix["diff"]
                .as_str()
                .is_some_and(|d| d.contains("+      targetPort: 80 "))
        );
        let text = fix["text"].as_str().expect("text");
        // The edit, applied by hand, gives the same text.
        let mut lines: Vec<&str> = MISCONFIGURED.lines().collect();
        let new: Vec<&str> = strs(&fix["edit"]["lines"]);
        lines.splice(line as usize - 1..line as usize, new);
        assert_eq!(text, format!("{}\n", lines.join("\n")));
        let before = doc(MISCONFIGURED);
        assert!(
            outcomes(&before, "laptop-to-web")
                .iter()
                .all(|o| o == "refused")
        );
        let after = doc(text);
        let web = outcomes(&after, "laptop-to-web");
        assert_eq!(web.len(), 10);
        assert!(web.iter().all(|o| o == "delivered"), "{web:?}");
        // One fix at a time: the other entry still fails, and is still explained.
        assert!(
            outcomes(&after, "laptop-to-api")
                .iter()
                .all(|o| o == "refused")
        );
        assert_eq!(after["explanations"].as_array().expect("x").len(), 1);
    }

    #[test]
    fn the_scenario_says_its_title_and_description_even_when_an_object_is_invalid() {
        let d = doc(MISCONFIGURED);
        assert_eq!(d["scenario"]["name"], "misconfigured");
        assert!(
            d["scenario"]["description"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
        let bad = "apiVersion: simctl/v1alpha1\nkind: Scenario\nmetadata: {name: demo}\nspec:\n  title: '<b>t</b>'\n---\napiVersion: v1\nkind: Service\nmetadata: {name: '<b>'}\nspec: {ports: [{port: 80}]}\n";
        let d = doc(bad);
        assert_eq!(d["valid"], false);
        assert_eq!(d["scenario"]["title"], "<b>t</b>");
        assert_eq!(doc("")["scenario"], Value::Null);
    }

    #[test]
    fn fixes_of_nothing_are_none() {
        let none = |traffic: &str, index: u32, text: &str| {
            let out = fixes_json(NAME, text, None, None, traffic, index).expect("fixes");
            assert_eq!(out, "[]\n", "{traffic} {index}");
        };
        none("no-such-entry", 0, MISCONFIGURED);
        none("laptop-to-api", 1, MISCONFIGURED);
        none("laptop-to-web", 0, ":");
        none("laptop-to-web", 0, "");
        let fixed = MISCONFIGURED.replace("targetPort: 8080", "targetPort: 80");
        none("laptop-to-web", 0, &fixed);
        assert!(
            fixes_json(
                NAME,
                MISCONFIGURED,
                None,
                Some("userspace"),
                "laptop-to-web",
                0
            )
            .is_err()
        );
    }

    #[test]
    fn the_same_input_gives_the_same_bytes() {
        let a = sandbox_json(NAME, MISCONFIGURED, Some(3), Some("ipvs")).expect("a");
        let b = sandbox_json(NAME, MISCONFIGURED, Some(3), Some("ipvs")).expect("b");
        assert_eq!(a, b);
        assert_ne!(
            a,
            sandbox_json(NAME, MISCONFIGURED, Some(4), Some("ipvs")).expect("c")
        );
        let f = |_| fixes_json(NAME, MISCONFIGURED, Some(3), None, "laptop-to-api", 0).expect("f");
        assert_eq!(f(1), f(2));
        assert!(sandbox_json(NAME, MISCONFIGURED, None, Some("userspace")).is_err());
    }

    #[test]
    fn invalid_input_is_no_panic_and_no_run() {
        let huge = "x".repeat(1 << 20);
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let inputs = [
            "",
            ":",
            "[",
            "kind: Service\n\u{0}garbage: [1, {\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 99999}]}\n",
            huge.as_str(),
            deep.as_str(),
        ];
        for text in inputs {
            let d = doc(text);
            let what = &text[..text.len().min(40)];
            assert_eq!(d["valid"], false, "{what:?}");
            assert_eq!(d["run"], Value::Null, "{what:?}");
            assert_eq!(d["lint"], serde_json::json!([]));
            assert_eq!(d["story"], "");
            assert_eq!(
                d["topology"],
                serde_json::json!({"places": [], "links": []})
            );
            assert_eq!(d["explanations"], serde_json::json!([]));
            assert!(
                !d["check"]["diagnostics"]
                    .as_array()
                    .expect("diagnostics")
                    .is_empty()
            );
        }
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let with = format!("\u{feff}{MISCONFIGURED}");
        assert_eq!(
            sandbox_json(NAME, &with, None, None),
            sandbox_json(NAME, MISCONFIGURED, None, None)
        );
        assert_eq!(
            fixes_json(NAME, &with, None, None, "laptop-to-web", 0),
            fixes_json(NAME, MISCONFIGURED, None, None, "laptop-to-web", 0)
        );
    }
}
