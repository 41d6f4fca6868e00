//! The Scenario's references, checked before anything runs.
//!
//! A traffic entry's `from`, an event's pod, node, workload or object and an
//! expectation's `traffic` are names; a name that matches nothing would otherwise fail
//! silently at run time, as a flow that cannot be sent ("unreachable", with an
//! explanation about the wrong thing) or an event that does nothing. Each is checked here
//! against the cluster as built, plus what the Scenario's `apply` events will create,
//! and a dangling one is an error at its line, with the closest existing name.
//!
//! A name is checked the way the run resolves it ([`crate::engine::traffic`]): a `from`
//! is a client, then a node, then a pod (`name`, `namespace/name`, `pod/...`; a
//! workload's name stands for its first pod); an event's pod is a pod's exact name. A
//! `from` that two of these answer to is an error too: the run would silently take the
//! client.
//!
//! Pods that events make later (a scale-up, a replacement) get names nobody can know in
//! advance; a name of that shape for a workload of the input (`web-7d4b9c6f5-x2k9q`,
//! `web-3` for a StatefulSet) is taken on trust.

use std::collections::{BTreeMap, BTreeSet};

use crate::cluster::Cluster;
use crate::diag::Diagnostic;
use crate::engine::traffic::workload_prefix_matches;
use crate::manifest::{LoadOptions, Loaded, LoadedObject, load_str};
use crate::objects::Object;
use crate::scenario::{From, ScenarioSpec};
use crate::schema::did_you_mean;
use crate::validation::field::{BadValue, ErrorType, FieldError, Path, go_quote};
use crate::yaml::Node;

/// Workload kinds an event's `scale` may name.
const SCALABLE: [&str; 4] = [
    "Deployment",
    "ReplicaSet",
    "ReplicationController",
    "StatefulSet",
];

/// Every dangling reference of the Scenario in `loaded`, resolved against `cluster`.
pub fn check(loaded: &Loaded, cluster: &Cluster) -> Vec<Diagnostic> {
    let Some(scenario) = &loaded.scenario else {
        return Vec::new();
    };
    let spec = &scenario.doc.spec;
    let names = Names::of(loaded, cluster, spec);
    let mut out = Checker {
        names: &names,
        node: &scenario.node,
        header: format!(
            "The Scenario {} is invalid: ",
            go_quote(&scenario.doc.metadata.name)
        ),
        out: Vec::new(),
    };
    out.traffic(spec);
    out.events(spec);
    out.expectations(spec);
    out.out
}

/// What the Scenario may name: the cluster as built and what its `apply` events add.
struct Names {
    clients: Vec<String>,
    nodes: Vec<String>,
    /// (namespace, name) of every pod.
    pods: BTreeSet<(String, String)>,
    /// (namespace, name) -> kind, of every workload.
    workloads: BTreeMap<(String, String), &'static str>,
    /// (kind, namespace, name) of every object an event may delete.
    objects: BTreeSet<(&'static str, String, String)>,
}

impl Names {
    fn of(loaded: &Loaded, cluster: &Cluster, spec: &ScenarioSpec) -> Names {
        let mut names = Names {
            clients: cluster.clients.iter().map(|c| c.name.clone()).collect(),
            nodes: cluster.nodes.iter().map(|n| n.name.clone()).collect(),
            pods: cluster
                .pods
                .iter()
                .filter(|p| p.alive())
                .map(|p| (p.namespace.clone(), p.name.clone()))
                .collect(),
            workloads: BTreeMap::new(),
            objects: BTreeSet::new(),
        };
        for s in cluster.services.iter().filter(|s| s.alive) {
            names
                .objects
                .insert(("Service", s.namespace.clone(), s.name.clone()));
        }
        for o in &loaded.objects {
            names.add(o);
        }
        // What `apply` events create; their own errors are theirs to report at run time.
        let opts = LoadOptions {
            node_port_range: Some(cluster.config.node_port_range),
            defer_validation: true,
            namespace: cluster.config.namespace.clone(),
            ..Default::default()
        };
        for text in spec.events.iter().filter_map(|e| e.apply.as_deref()) {
            let (_, applied) = load_str("apply", text, &opts);
            for o in &applied.objects {
                names.add(o);
            }
        }
        names
    }

    fn add(&mut self, o: &LoadedObject) {
        let kind = o.object.kind();
        let ns = o.object.namespace().unwrap_or("default").to_string();
        let name = o.object.name().to_string();
        match &o.object {
            Object::Pod(_) => {
                self.pods.insert((ns.clone(), name.clone()));
            }
            Object::Deployment(_)
            | Object::ReplicaSet(_)
            | Object::ReplicationController(_)
            | Object::StatefulSet(_)
            | Object::DaemonSet(_) => {
                self.workloads.insert((ns.clone(), name.clone()), kind);
            }
            Object::EndpointSlice(es) => {
                // `delete` finds given endpoints by their Service's name.
                if let Some(svc) = es
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("kubernetes.io/service-name"))
                {
                    self.objects
                        .insert(("EndpointSlice", ns.clone(), svc.clone()));
                }
            }
            _ => {}
        }
        if let Some(k) = crate::cluster::events::canonical_kind(kind) {
            self.objects.insert((k, ns, name));
        }
    }

    /// Whether a pod of this exact name exists or may come to exist (module docs).
    fn pod_may_exist(&self, ns: &str, name: &str) -> bool {
        self.pods.contains(&(ns.to_string(), name.to_string()))
            || self
                .workloads
                .keys()
                .any(|(wns, w)| wns == ns && workload_prefix_matches(name, w))
    }

    /// The pods and workloads of a namespace, for a did-you-mean.
    fn pod_names(&self, ns: &str, with_workloads: bool) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .pods
            .iter()
            .filter(|(pns, _)| pns == ns)
            .map(|(_, n)| n.as_str())
            .collect();
        if with_workloads {
            v.extend(
                self.workloads
                    .keys()
                    .filter(|(wns, _)| wns == ns)
                    .map(|(_, n)| n.as_str()),
            );
        }
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// `ns/name` or `name` (namespace `default`), as events and `from` write pods.
fn split_ns(s: &str) -> (&str, &str) {
    s.split_once('/').unwrap_or(("default", s))
}

struct Checker<'a> {
    names: &'a Names,
    /// The Scenario document, for the spans.
    node: &'a Node,
    header: String,
    out: Vec<Diagnostic>,
}

impl Checker<'_> {
    /// An error at `path`, with a did-you-mean when `suggestion` is some.
    fn push(&mut self, err: FieldError, help: String, suggestion: Option<String>) {
        let (span, _) = self.node.locate(&err.field);
        let mut d = Diagnostic::error(err.kind.reason(), format!("{}{err}", self.header))
            .at(span)
            .field(err.field.clone())
            .label(err.body())
            .help(help);
        if let Some(s) = suggestion {
            d = d.suggest(s);
        }
        self.out.push(d);
    }

    fn not_found(&mut self, path: &Path, value: &str, detail: String, candidates: &[&str]) {
        let err = FieldError {
            kind: ErrorType::NotFound,
            field: path.to_string(),
            value: BadValue::Str(value.to_string()),
            detail,
        };
        match did_you_mean(value, candidates, &[], &[]) {
            Some(s) => self.push(err, format!("did you mean `{s}`?"), Some(s.to_string())),
            None if candidates.is_empty() => self.push(
                err,
                "the input defines nothing this could name".into(),
                None,
            ),
            None => {
                let mut shown: Vec<&str> = candidates.iter().take(8).copied().collect();
                if candidates.len() > shown.len() {
                    shown.push("...");
                }
                self.push(err, format!("known: {}", shown.join(", ")), None)
            }
        }
    }

    fn traffic(&mut self, spec: &ScenarioSpec) {
        for (i, t) in spec.traffic.iter().enumerate() {
            let path = Path::new("spec").child("traffic").index(i).child("from");
            match &t.from {
                From::Address { node, .. } => self.node_ref(&path.child("node"), node),
                From::Name(name) => self.sender(&path, name),
            }
        }
    }

    /// A `from:` name, resolved as `engine::traffic::resolve_sender` resolves it.
    fn sender(&mut self, path: &Path, name: &str) {
        let names = self.names;
        if let Some(rest) = name.strip_prefix("pod/") {
            let (ns, pod) = split_ns(rest);
            if !self.pod_or_workload(ns, pod) {
                let candidates: Vec<String> = names
                    .pod_names(ns, true)
                    .into_iter()
                    .map(|p| qualified("pod/", ns, p))
                    .collect();
                let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
                self.not_found(
                    path,
                    name,
                    format!("no pod {} in namespace {}", go_quote(pod), go_quote(ns)),
                    &refs,
                );
            }
            return;
        }
        let client = names.clients.iter().any(|c| c == name);
        let node = names.nodes.iter().any(|n| n == name);
        let (ns, pod_name) = split_ns(name);
        let pod = self.pod_or_workload(ns, pod_name);
        let answers: Vec<String> = [
            client.then(|| format!("the client {}", go_quote(name))),
            node.then(|| format!("the node {}", go_quote(name))),
            pod.then(|| format!("the pod {ns}/{pod_name}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        match answers.len() {
            0 => {
                let mut candidates: Vec<String> = names.clients.clone();
                candidates.extend(names.nodes.iter().cloned());
                candidates.extend(
                    names
                        .pod_names(ns, true)
                        .into_iter()
                        .map(|p| qualified("", ns, p)),
                );
                let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
                self.not_found(
                    path,
                    name,
                    "no client, node or pod has this name".into(),
                    &refs,
                );
            }
            1 => {}
            _ => {
                let (help, suggestion) = if pod {
                    (
                        format!(
                            "write `pod/{name}` for the pod, or give the {} another name",
                            if client { "client" } else { "node" }
                        ),
                        Some(format!("pod/{name}")),
                    )
                } else {
                    ("give the client another name".to_string(), None)
                };
                let err = FieldError::invalid(
                    path,
                    name,
                    format!(
                        "names both {}; the run would send from the first",
                        answers.join(" and ")
                    ),
                );
                self.push(err, help, suggestion);
            }
        }
    }

    /// A pod by exact name, or a workload whose name stands for its first pod.
    fn pod_or_workload(&self, ns: &str, name: &str) -> bool {
        self.names.pod_may_exist(ns, name)
            || self
                .names
                .workloads
                .contains_key(&(ns.to_string(), name.to_string()))
    }

    fn node_ref(&mut self, path: &Path, node: &str) {
        if !self.names.nodes.iter().any(|n| n == node) {
            let candidates: Vec<&str> = self.names.nodes.iter().map(String::as_str).collect();
            self.not_found(path, node, "no node has this name".into(), &candidates);
        }
    }

    /// An event's pod: an exact pod name (`delete_pod` and `set_ready` take no workload).
    fn pod_ref(&mut self, path: &Path, pod: &str) {
        let (ns, name) = split_ns(pod);
        if !self.names.pod_may_exist(ns, name) {
            let candidates: Vec<String> = self
                .names
                .pod_names(ns, false)
                .into_iter()
                .map(|p| qualified("", ns, p))
                .collect();
            let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
            self.not_found(
                path,
                pod,
                format!("no pod {} in namespace {}", go_quote(name), go_quote(ns)),
                &refs,
            );
        }
    }

    fn events(&mut self, spec: &ScenarioSpec) {
        for (i, e) in spec.events.iter().enumerate() {
            let path = Path::new("spec").child("events").index(i);
            if let Some(p) = &e.delete_pod {
                self.pod_ref(&path.child("deletePod"), p);
            }
            if let Some(s) = &e.set_ready {
                self.pod_ref(&path.child("setReady").child("pod"), &s.pod);
            }
            for (verb, node) in [("nodeDown", &e.node_down), ("nodeUp", &e.node_up)] {
                if let Some(n) = node {
                    self.node_ref(&path.child(verb), n);
                }
            }
            if let Some(s) = &e.scale {
                self.scale_ref(&path.child("scale").child("deployment"), s);
            }
            if let Some(d) = &e.delete {
                self.delete_ref(&path.child("delete"), d);
            }
        }
    }

    fn scale_ref(&mut self, path: &Path, s: &crate::scenario::Scale) {
        let ns = s.namespace.as_deref().unwrap_or("default");
        let key = (ns.to_string(), s.deployment.clone());
        if self
            .names
            .workloads
            .get(&key)
            .is_some_and(|k| SCALABLE.contains(k))
        {
            return;
        }
        let candidates: Vec<&str> = self
            .names
            .workloads
            .iter()
            .filter(|((wns, _), k)| wns == ns && SCALABLE.contains(k))
            .map(|((_, n), _)| n.as_str())
            .collect();
        let detail = match self.names.workloads.get(&key) {
            Some(kind) => format!(
                "{kind} {} has no replicas to scale",
                go_quote(&s.deployment)
            ),
            None => format!(
                "no Deployment, ReplicaSet, ReplicationController or StatefulSet {} in namespace {}",
                go_quote(&s.deployment),
                go_quote(ns)
            ),
        };
        self.not_found(path, &s.deployment, detail, &candidates);
    }

    fn delete_ref(&mut self, path: &Path, d: &crate::scenario::DeleteRef) {
        let Some(kind) = crate::cluster::events::canonical_kind(&d.kind) else {
            // A kind simctl does not simulate is a no-op the run notes; a misspelt
            // simulated kind is an error here.
            let kinds: Vec<&str> = crate::cluster::events::DELETABLE.to_vec();
            if let Some(s) = did_you_mean(&d.kind, &kinds, &[], &[]) {
                let err = FieldError::not_supported(&path.child("kind"), d.kind.as_str(), &kinds);
                self.push(err, format!("did you mean `{s}`?"), Some(s.to_string()));
            }
            return;
        };
        let ns = if kind == "Namespace" {
            ""
        } else {
            d.namespace.as_deref().unwrap_or("default")
        };
        let exists = if kind == "Namespace" {
            self.names
                .objects
                .iter()
                .any(|(k, _, n)| *k == "Namespace" && *n == d.name)
                || self.names.objects.iter().any(|(_, ons, _)| *ons == d.name)
                || ["default", "kube-system", "kube-public", "kube-node-lease"]
                    .contains(&d.name.as_str())
        } else if kind == "Pod" {
            self.names.pod_may_exist(ns, &d.name)
        } else {
            self.names
                .objects
                .contains(&(kind, ns.to_string(), d.name.clone()))
                || (kind == "Endpoints"
                    && self.names.objects.contains(&(
                        "EndpointSlice",
                        ns.to_string(),
                        d.name.clone(),
                    )))
        };
        if !exists {
            let candidates: Vec<&str> = self
                .names
                .objects
                .iter()
                .filter(|(k, ons, _)| *k == kind && (kind == "Namespace" || ons == ns))
                .map(|(_, _, n)| n.as_str())
                .collect();
            self.not_found(
                &path.child("name"),
                &d.name,
                format!("no {kind} of this name in namespace {}", go_quote(ns)),
                &candidates,
            );
        }
    }

    fn expectations(&mut self, spec: &ScenarioSpec) {
        let traffic: Vec<&str> = spec.traffic.iter().map(|t| t.name.as_str()).collect();
        for (i, x) in spec.expect.iter().enumerate() {
            if let Some(name) = &x.traffic
                && !traffic.contains(&name.as_str())
            {
                let path = Path::new("spec").child("expect").index(i).child("traffic");
                self.not_found(
                    &path,
                    name,
                    "no traffic entry has this name".into(),
                    &traffic,
                );
            }
        }
    }
}

/// A pod as a `from` or an event writes it: `name` in `default`, else `ns/name`.
fn qualified(prefix: &str, ns: &str, name: &str) -> String {
    if ns == "default" {
        format!("{prefix}{name}")
    } else {
        format!("{prefix}{ns}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use crate::admit::admit;
    use crate::cluster::build::BuildOptions;
    use crate::diag::Diagnostic;
    use crate::manifest::{LoadOptions, load_str};

    const OBJECTS: &str = "---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend}
spec:
  replicas: 2
  selector: {matchLabels: {app: frontend}}
  template:
    metadata: {labels: {app: frontend}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec: {containers: [{name: shell, image: busybox}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: frontend}, ports: [{port: 80}]}
";

    fn refs(spec: &str) -> Vec<Diagnostic> {
        let text = format!(
            "apiVersion: simctl/v1alpha1\nkind: Scenario\nmetadata: {{name: s}}\nspec:\n{spec}{OBJECTS}"
        );
        let (_, loaded) = load_str("t.yaml", &text, &LoadOptions::default());
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        admit(&loaded, &BuildOptions::default()).diagnostics
    }

    fn one(spec: &str) -> Diagnostic {
        let d = refs(spec);
        assert_eq!(d.len(), 1, "{d:#?}");
        d.into_iter().next().expect("one")
    }

    #[test]
    fn a_from_naming_nothing_is_an_error_with_a_did_you_mean() {
        let d = one("  traffic:\n    - {name: t, from: frontnd, to: \"web:80\"}\n");
        assert_eq!(
            d.message,
            "The Scenario \"s\" is invalid: spec.traffic[0].from: Not found: \"frontnd\": no client, node or pod has this name"
        );
        assert_eq!(d.code, "FieldValueNotFound");
        assert_eq!(d.field.as_deref(), Some("spec.traffic[0].from"));
        assert_eq!(d.span.map(|s| (s.line, s.column)), Some((6, 23)));
        assert_eq!(d.suggestion.as_deref(), Some("frontend"));
        let d = one("  traffic:\n    - {name: t, from: pod/clinet, to: \"web:80\"}\n");
        assert_eq!(d.suggestion.as_deref(), Some("pod/client"));
        let d = one(
            "  traffic:\n    - {name: t, from: {ip: 10.244.0.9, node: node-3}, to: \"web:80\"}\n",
        );
        assert_eq!(d.field.as_deref(), Some("spec.traffic[0].from.node"));
        assert!(matches!(d.suggestion.as_deref(), Some("node-1" | "node-2")));
    }

    #[test]
    fn a_from_naming_a_client_and_a_pod_asks_which() {
        // The default client is `client`, and so is the pod.
        let d = one("  traffic:\n    - {name: t, from: client, to: \"web:80\"}\n");
        assert_eq!(
            d.message,
            "The Scenario \"s\" is invalid: spec.traffic[0].from: Invalid value: \"client\": names both the client \"client\" and the pod default/client; the run would send from the first"
        );
        assert_eq!(d.suggestion.as_deref(), Some("pod/client"));
        assert!(
            d.help
                .as_deref()
                .is_some_and(|h| h.contains("another name"))
        );
        // Written as a pod, or with a client of another name, it is fine.
        assert!(refs("  traffic:\n    - {name: t, from: pod/client, to: \"web:80\"}\n").is_empty());
        assert!(refs("  clients: [{name: laptop}]\n  traffic:\n    - {name: t, from: client, to: \"web:80\"}\n    - {name: u, from: laptop, to: \"web:80\"}\n    - {name: v, from: frontend, to: \"web:80\"}\n").is_empty());
    }

    #[test]
    fn events_name_pods_nodes_and_workloads_that_exist() {
        let d = refs(
            "  events:
    - {at: 1s, deletePod: clinet}
    - {at: 1s, setReady: {pod: client, ready: false}}
    - {at: 1s, nodeDown: node-9}
    - {at: 1s, scale: {deployment: frontnd, replicas: 3}}
    - {at: 1s, scale: {deployment: frontend, replicas: 3}}
    - {at: 1s, delete: {kind: Service, name: webs}}
    - {at: 1s, delete: {kind: Servcie, name: web}}
    - {at: 1s, delete: {kind: ConfigMap, name: settings}}
",
        );
        let got: Vec<(&str, Option<&str>)> = d
            .iter()
            .map(|d| (d.field.as_deref().unwrap_or(""), d.suggestion.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("spec.events[0].deletePod", Some("client")),
                ("spec.events[2].nodeDown", Some("node-1")),
                ("spec.events[3].scale.deployment", Some("frontend")),
                ("spec.events[5].delete.name", Some("web")),
                ("spec.events[6].delete.kind", Some("Service")),
            ]
        );
        // A pod an event applies, and a pod name of a workload's shape, are taken.
        assert!(
            refs(
                "  events:
    - at: 1s
      apply: |
        apiVersion: v1
        kind: Pod
        metadata: {name: late}
        spec: {containers: [{name: c, image: busybox}]}
    - {at: 2s, deletePod: late}
    - {at: 2s, deletePod: frontend-5d8f9c7b6-x2k9q}
"
            )
            .is_empty()
        );
    }

    #[test]
    fn an_expectation_naming_no_traffic_suggests_one() {
        let d = one(
            "  traffic:\n    - {name: laptop-to-web, from: pod/client, to: \"web:80\"}\n  expect:\n    - {traffic: laptop-to-wbe, outcome: delivered}\n",
        );
        assert_eq!(
            d.message,
            "The Scenario \"s\" is invalid: spec.expect[0].traffic: Not found: \"laptop-to-wbe\": no traffic entry has this name"
        );
        assert_eq!(d.suggestion.as_deref(), Some("laptop-to-web"));
    }
}
