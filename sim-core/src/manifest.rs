//! Manifests in: from YAML streams to defaulted, validated objects and the Scenario.
//!
//! [`load`] is the one entrance. Per file: parse the stream ([`crate::yaml`]); per
//! document: expand `kind: List`, resolve apiVersion and kind (a removed API is an error
//! as kubectl's `no matches for kind`, a kind simctl does not simulate is a note), check
//! fields strictly against the real schema ([`crate::schema`]), deserialize into
//! k8s-openapi types, apply the API server's defaults ([`crate::defaults`]) and its
//! validation ([`crate::validation`]). Every problem becomes a [`Diagnostic`] with the
//! file, line and column of the field at fault.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    Endpoints, Namespace, Node as K8sNode, Pod, ReplicationController, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;

use crate::diag::{Diagnostic, codes};
use crate::objects::Object;
use crate::scenario::{self, ScenarioDoc};
use crate::schema::{self, Schema};
use crate::source::{SourceId, Sources, Span};
use crate::validation::{self, FieldError};
use crate::yaml::{self, Limits, Node, Value};

/// How to load.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    pub limits: Limits,
    /// Overrides the Scenario's `serviceNodePortRange` (for tests and `--node-port-range`).
    pub node_port_range: Option<(u16, u16)>,
    /// Default the objects but leave their validation to the caller: an `apply` event
    /// validates an object that exists as an update, not as a create
    /// ([`crate::validation::update`]).
    pub defer_validation: bool,
    /// `-n/--namespace`: objects of namespaced kinds that name no namespace go there, and
    /// one that names another is refused, as `kubectl apply -n` does.
    pub namespace: Option<String>,
}

/// A simulated object with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedObject {
    /// Defaulted and validated.
    pub object: Object,
    pub api_version: String,
    /// The document as written, with spans: later stages point at fields through it.
    pub node: Node,
}

impl LoadedObject {
    /// The span of a field of this object (`spec.ports[0].targetPort`), or of its nearest
    /// written ancestor.
    pub fn locate(&self, field: &str) -> Span {
        self.node.locate(field).0
    }
}

/// The Scenario document with its spans.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedScenario {
    pub doc: ScenarioDoc,
    pub node: Node,
}

/// Everything [`load`] found.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Valid objects, in input order (a rejected object is left out, as the API server
    /// would not have stored it).
    pub objects: Vec<LoadedObject>,
    pub scenario: Option<LoadedScenario>,
    pub diagnostics: Vec<Diagnostic>,
    /// The `-n/--namespace` the input was loaded with ([`LoadOptions::namespace`]), so
    /// what re-loads an edited copy (the fix search) loads it the same way.
    pub namespace: Option<String>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        crate::diag::has_errors(&self.diagnostics)
    }
}

/// The simulated kinds: (apiVersion, kind).
pub const SIMULATED: &[(&str, &str)] = &[
    ("v1", "Namespace"),
    ("v1", "Node"),
    ("v1", "Pod"),
    ("v1", "Service"),
    ("v1", "Endpoints"),
    ("v1", "ReplicationController"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
];

/// Built-in group versions Kubernetes 1.34 serves, with their kinds.
const SERVED: &[(&str, &[&str])] = &[
    (
        "v1",
        &[
            "Binding",
            "ComponentStatus",
            "ConfigMap",
            "Endpoints",
            "Event",
            "LimitRange",
            "Namespace",
            "Node",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "Pod",
            "PodTemplate",
            "ReplicationController",
            "ResourceQuota",
            "Secret",
            "Service",
            "ServiceAccount",
        ],
    ),
    (
        "apps/v1",
        &[
            "ControllerRevision",
            "DaemonSet",
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
        ],
    ),
    ("batch/v1", &["CronJob", "Job"]),
    ("autoscaling/v1", &["HorizontalPodAutoscaler"]),
    ("autoscaling/v2", &["HorizontalPodAutoscaler"]),
    (
        "networking.k8s.io/v1",
        &[
            "IPAddress",
            "Ingress",
            "IngressClass",
            "NetworkPolicy",
            "ServiceCIDR",
        ],
    ),
    ("policy/v1", &["Eviction", "PodDisruptionBudget"]),
    (
        "rbac.authorization.k8s.io/v1",
        &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
    ),
    ("discovery.k8s.io/v1", &["EndpointSlice"]),
    (
        "storage.k8s.io/v1",
        &[
            "CSIDriver",
            "CSINode",
            "CSIStorageCapacity",
            "StorageClass",
            "VolumeAttachment",
            "VolumeAttributesClass",
        ],
    ),
    ("scheduling.k8s.io/v1", &["PriorityClass"]),
    ("coordination.k8s.io/v1", &["Lease"]),
    ("node.k8s.io/v1", &["RuntimeClass"]),
    ("certificates.k8s.io/v1", &["CertificateSigningRequest"]),
    ("events.k8s.io/v1", &["Event"]),
    ("apiextensions.k8s.io/v1", &["CustomResourceDefinition"]),
    (
        "admissionregistration.k8s.io/v1",
        &[
            "MutatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingWebhookConfiguration",
        ],
    ),
    ("apiregistration.k8s.io/v1", &["APIService"]),
    (
        "flowcontrol.apiserver.k8s.io/v1",
        &["FlowSchema", "PriorityLevelConfiguration"],
    ),
    (
        "resource.k8s.io/v1",
        &[
            "DeviceClass",
            "ResourceClaim",
            "ResourceClaimTemplate",
            "ResourceSlice",
        ],
    ),
];

/// Removed built-in APIs: (apiVersion, kind, removed in, replacement).
/// From the Kubernetes deprecated API migration guide
/// (kubernetes/website content/en/docs/reference/using-api/deprecation-guide.md).
const REMOVED: &[(&str, &str, &str, &str)] = &[
    ("extensions/v1beta1", "Deployment", "1.16", "apps/v1"),
    ("extensions/v1beta1", "DaemonSet", "1.16", "apps/v1"),
    ("extensions/v1beta1", "ReplicaSet", "1.16", "apps/v1"),
    (
        "extensions/v1beta1",
        "NetworkPolicy",
        "1.16",
        "networking.k8s.io/v1",
    ),
    ("extensions/v1beta1", "PodSecurityPolicy", "1.16", ""),
    (
        "extensions/v1beta1",
        "Ingress",
        "1.22",
        "networking.k8s.io/v1",
    ),
    ("apps/v1beta1", "Deployment", "1.16", "apps/v1"),
    ("apps/v1beta1", "StatefulSet", "1.16", "apps/v1"),
    ("apps/v1beta1", "ReplicaSet", "1.16", "apps/v1"),
    ("apps/v1beta1", "ControllerRevision", "1.16", "apps/v1"),
    ("apps/v1beta2", "Deployment", "1.16", "apps/v1"),
    ("apps/v1beta2", "StatefulSet", "1.16", "apps/v1"),
    ("apps/v1beta2", "DaemonSet", "1.16", "apps/v1"),
    ("apps/v1beta2", "ReplicaSet", "1.16", "apps/v1"),
    ("apps/v1beta2", "ControllerRevision", "1.16", "apps/v1"),
    (
        "networking.k8s.io/v1beta1",
        "Ingress",
        "1.22",
        "networking.k8s.io/v1",
    ),
    (
        "networking.k8s.io/v1beta1",
        "IngressClass",
        "1.22",
        "networking.k8s.io/v1",
    ),
    (
        "rbac.authorization.k8s.io/v1beta1",
        "Role",
        "1.22",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "rbac.authorization.k8s.io/v1beta1",
        "ClusterRole",
        "1.22",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "rbac.authorization.k8s.io/v1beta1",
        "RoleBinding",
        "1.22",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "rbac.authorization.k8s.io/v1beta1",
        "ClusterRoleBinding",
        "1.22",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "apiextensions.k8s.io/v1beta1",
        "CustomResourceDefinition",
        "1.22",
        "apiextensions.k8s.io/v1",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
        "1.22",
        "admissionregistration.k8s.io/v1",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration",
        "1.22",
        "admissionregistration.k8s.io/v1",
    ),
    (
        "scheduling.k8s.io/v1beta1",
        "PriorityClass",
        "1.22",
        "scheduling.k8s.io/v1",
    ),
    (
        "storage.k8s.io/v1beta1",
        "StorageClass",
        "1.22",
        "storage.k8s.io/v1",
    ),
    (
        "storage.k8s.io/v1beta1",
        "CSIDriver",
        "1.22",
        "storage.k8s.io/v1",
    ),
    (
        "storage.k8s.io/v1beta1",
        "CSINode",
        "1.22",
        "storage.k8s.io/v1",
    ),
    (
        "storage.k8s.io/v1beta1",
        "VolumeAttachment",
        "1.22",
        "storage.k8s.io/v1",
    ),
    (
        "storage.k8s.io/v1beta1",
        "CSIStorageCapacity",
        "1.27",
        "storage.k8s.io/v1",
    ),
    (
        "certificates.k8s.io/v1beta1",
        "CertificateSigningRequest",
        "1.22",
        "certificates.k8s.io/v1",
    ),
    (
        "coordination.k8s.io/v1beta1",
        "Lease",
        "1.22",
        "coordination.k8s.io/v1",
    ),
    (
        "apiregistration.k8s.io/v1beta1",
        "APIService",
        "1.22",
        "apiregistration.k8s.io/v1",
    ),
    ("batch/v1beta1", "CronJob", "1.25", "batch/v1"),
    ("batch/v2alpha1", "CronJob", "1.21", "batch/v1"),
    ("policy/v1beta1", "PodDisruptionBudget", "1.25", "policy/v1"),
    ("policy/v1beta1", "PodSecurityPolicy", "1.25", ""),
    (
        "autoscaling/v2beta1",
        "HorizontalPodAutoscaler",
        "1.25",
        "autoscaling/v2",
    ),
    (
        "autoscaling/v2beta2",
        "HorizontalPodAutoscaler",
        "1.26",
        "autoscaling/v2",
    ),
    (
        "discovery.k8s.io/v1beta1",
        "EndpointSlice",
        "1.25",
        "discovery.k8s.io/v1",
    ),
    ("events.k8s.io/v1beta1", "Event", "1.25", "events.k8s.io/v1"),
    (
        "node.k8s.io/v1beta1",
        "RuntimeClass",
        "1.25",
        "node.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "FlowSchema",
        "1.26",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "PriorityLevelConfiguration",
        "1.26",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "FlowSchema",
        "1.29",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "PriorityLevelConfiguration",
        "1.29",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "FlowSchema",
        "1.32",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "PriorityLevelConfiguration",
        "1.32",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
];

fn group_of(api_version: &str) -> &str {
    match api_version.split_once('/') {
        Some((g, _)) => g,
        None => "",
    }
}

/// The JSON Schemas of the simulated kinds and the Scenario.
///
/// Each is a pure function of a Rust type, so it is built once per process on first use
/// and then only read: a constant computed late, not state (nothing a run does changes
/// it, and output cannot depend on when it was built). Building the Pod schema costs
/// about a millisecond; re-loads (the fix search, an editor re-checking as you type) pay
/// it once.
fn schema_of(kind: &str) -> &'static Schema {
    use std::sync::OnceLock;
    macro_rules! once {
        ($t:ty) => {{
            static SCHEMA: OnceLock<Schema> = OnceLock::new();
            SCHEMA.get_or_init(Schema::of::<$t>)
        }};
    }
    match kind {
        "Namespace" => once!(Namespace),
        "Node" => once!(K8sNode),
        "Pod" => once!(Pod),
        "Service" => once!(Service),
        "Endpoints" => once!(Endpoints),
        "ReplicationController" => once!(ReplicationController),
        "Deployment" => once!(Deployment),
        "ReplicaSet" => once!(ReplicaSet),
        "StatefulSet" => once!(StatefulSet),
        "DaemonSet" => once!(DaemonSet),
        "EndpointSlice" => once!(EndpointSlice),
        "NetworkPolicy" => once!(NetworkPolicy),
        _ => once!(ScenarioDoc),
    }
}

/// Load every file of `sources` as one stream.
pub fn load(sources: &Sources, opts: &LoadOptions) -> Loaded {
    let mut loader = Loader {
        opts,
        out: Loaded::default(),
        noted: BTreeSet::new(),
        warned: BTreeSet::new(),
    };
    let mut docs = Vec::new();
    for (id, file) in sources.iter() {
        match yaml::parse_stream(&file.text, id, &opts.limits) {
            Ok(d) if d.is_empty() => loader.out.diagnostics.push(
                Diagnostic::error(
                    codes::EMPTY_INPUT,
                    format!("{}: no objects in this input", file.name),
                )
                .at(Span::file_start(id))
                .help("a manifest needs at least one document with `apiVersion` and `kind`"),
            ),
            Ok(d) => docs.extend(d),
            Err(e) => {
                let mut d = Diagnostic::error(e.code, e.message).at(e.span);
                if let Some(h) = e.help {
                    d = d.help(h);
                }
                loader.out.diagnostics.push(d);
            }
        }
    }
    // The Scenario first: its cluster settings (node port range) shape validation.
    let (scenario_docs, object_docs): (Vec<Node>, Vec<Node>) =
        docs.into_iter().partition(is_scenario);
    for doc in scenario_docs {
        loader.scenario(doc);
    }
    for doc in object_docs {
        loader.document(doc, 0);
    }
    loader.check_duplicates();
    if !opts.defer_validation {
        loader.check_namespaces();
    }
    loader.out.namespace = opts.namespace.clone();
    let over = crate::limits::check_cluster(&loader.out);
    loader.out.diagnostics.extend(over);
    loader.out
}

/// Load one YAML text (an editor buffer, a test).
pub fn load_str(name: &str, text: &str, opts: &LoadOptions) -> (Sources, Loaded) {
    let mut sources = Sources::new();
    sources.add(name, text);
    let loaded = load(&sources, opts);
    (sources, loaded)
}

fn is_scenario(doc: &Node) -> bool {
    doc.get("kind").and_then(Node::as_str) == Some(scenario::KIND)
        && doc
            .get("apiVersion")
            .and_then(Node::as_str)
            .is_some_and(|v| v.starts_with("simctl/"))
}

struct Loader<'a> {
    opts: &'a LoadOptions,
    out: Loaded,
    /// (apiVersion, kind) already reported as not simulated.
    noted: BTreeSet<(String, String)>,
    /// API server warnings already shown: kubectl prints each text once per run
    /// (its warning handler deduplicates).
    warned: BTreeSet<String>,
}

impl Loader<'_> {
    fn validation_options(&self) -> validation::Options {
        let range = self.opts.node_port_range.or_else(|| {
            self.out
                .scenario
                .as_ref()
                .and_then(|s| s.doc.spec.cluster.service_node_port_range.as_deref())
                .and_then(scenario::parse_port_range)
        });
        validation::Options {
            node_port_range: range.unwrap_or((30000, 32767)),
        }
    }

    fn scenario(&mut self, doc: Node) {
        let name = doc
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Node::as_str)
            .unwrap_or("");
        let header = format!(
            "The Scenario {} is invalid: ",
            crate::validation::field::go_quote(name)
        );
        if let Some(first) = &self.out.scenario {
            let line = first.node.span.line;
            self.out.diagnostics.push(
                Diagnostic::error(
                    codes::DUPLICATE_SCENARIO,
                    "more than one Scenario document in the input",
                )
                .at(doc.span)
                .help(format!(
                    "a run has one Scenario; the first starts at line {line}"
                )),
            );
            return;
        }
        let api_version = doc.get("apiVersion").and_then(Node::as_str).unwrap_or("");
        if api_version != scenario::API_VERSION {
            let span = doc
                .entry("apiVersion")
                .map(|e| e.value.span)
                .unwrap_or(doc.span);
            self.out.diagnostics.push(
                Diagnostic::error(
                    codes::NO_KIND_MATCH,
                    format!("no matches for kind \"Scenario\" in version \"{api_version}\""),
                )
                .at(span)
                .field("apiVersion")
                .help(format!(
                    "simctl reads `apiVersion: {}`",
                    scenario::API_VERSION
                ))
                .suggest(scenario::API_VERSION),
            );
            return;
        }
        let before = self.out.diagnostics.len();
        let decode_header = "Scenario in version \"v1alpha1\" cannot be handled as a Scenario: ";
        schema::check(
            &doc,
            schema_of("Scenario"),
            &header,
            decode_header,
            &mut self.out.diagnostics,
        );
        if self.out.diagnostics.len() > before {
            return;
        }
        let parsed: ScenarioDoc = match serde_json::from_value(yaml::to_json(&doc)) {
            Ok(p) => p,
            Err(e) => {
                self.out.diagnostics.push(
                    Diagnostic::error(codes::INVALID_TYPE, format!("{decode_header}{e}"))
                        .at(doc.span),
                );
                return;
            }
        };
        let errors = scenario::validate(&parsed);
        self.push_field_errors(&header, &doc, errors);
        self.out.scenario = Some(LoadedScenario {
            doc: parsed,
            node: doc,
        });
    }

    fn document(&mut self, doc: Node, list_depth: usize) {
        if !matches!(doc.value, Value::Map(_)) {
            let what = match doc.value {
                Value::Seq(_) => "a list",
                _ => "a scalar",
            };
            self.out.diagnostics.push(
                Diagnostic::error(codes::NOT_AN_OBJECT, format!("this document is {what}, not a Kubernetes object"))
                    .at(doc.span)
                    .help("each YAML document must be a mapping with `apiVersion`, `kind` and `metadata`; to give several objects, separate them with `---` or use `kind: List`"),
            );
            return;
        }
        let api_version = doc
            .get("apiVersion")
            .and_then(Node::as_str)
            .map(str::to_string);
        let kind = doc.get("kind").and_then(Node::as_str).map(str::to_string);
        let (api_version, kind) = match (api_version, kind) {
            (_, None) => {
                let span = doc.entry("kind").map(|e| e.value.span).unwrap_or(doc.span);
                self.out.diagnostics.push(
                    Diagnostic::error(codes::MISSING_KIND, "Object 'Kind' is missing")
                        .at(span)
                        .field("kind")
                        .help("add a top-level `kind:` (Service, Deployment, Pod, ...)"),
                );
                return;
            }
            (None, Some(kind)) => {
                let span = doc
                    .entry("apiVersion")
                    .map(|e| e.value.span)
                    .unwrap_or(doc.span);
                let hint = SIMULATED
                    .iter()
                    .find(|(_, k)| *k == kind)
                    .map(|(v, _)| format!("add `apiVersion: {v}`"))
                    .unwrap_or_else(|| "add a top-level `apiVersion:`".to_string());
                self.out.diagnostics.push(
                    Diagnostic::error(codes::MISSING_API_VERSION, "Object 'apiVersion' is missing")
                        .at(span)
                        .field("apiVersion")
                        .help(hint),
                );
                return;
            }
            (Some(v), Some(k)) => (v, k),
        };
        if kind == "List" || (kind.ends_with("List") && doc.get("items").is_some()) {
            self.list(doc, list_depth);
            return;
        }
        if let Some((_, k)) = SIMULATED
            .iter()
            .find(|(v, k)| *v == api_version && *k == kind)
        {
            self.object(doc, k, api_version);
            return;
        }
        self.unsimulated(&doc, &api_version, &kind);
    }

    fn list(&mut self, doc: Node, list_depth: usize) {
        if list_depth >= crate::limits::MAX_LIST_DEPTH {
            let max = crate::limits::MAX_LIST_DEPTH as u64;
            self.out.diagnostics.push(
                crate::limits::exceeded(
                    format!("a `kind: List` nested {} deep", max + 1),
                    max,
                    "nested Lists",
                    "put the items of the inner Lists into one List, or give them as `---`-separated documents",
                )
                .at(doc.span),
            );
            return;
        }
        let Value::Map(entries) = doc.value else {
            return;
        };
        for e in entries {
            if e.key != "items" {
                continue;
            }
            match e.value.value {
                Value::Seq(items) => {
                    for item in items {
                        if is_scenario(&item) {
                            self.scenario(item);
                        } else {
                            self.document(item, list_depth + 1);
                        }
                    }
                }
                Value::Null => {}
                _ => self.out.diagnostics.push(
                    Diagnostic::error(codes::INVALID_TYPE, "List.items must be a list of objects")
                        .at(e.value.span)
                        .field("items"),
                ),
            }
        }
    }

    fn unsimulated(&mut self, doc: &Node, api_version: &str, kind: &str) {
        let span = doc
            .entry("apiVersion")
            .map(|e| e.value.span)
            .unwrap_or(doc.span);
        if let Some((_, _, removed, replacement)) = REMOVED
            .iter()
            .find(|(v, k, _, _)| *v == api_version && *k == kind)
        {
            let help = if replacement.is_empty() {
                format!(
                    "{api_version} {kind} was removed in Kubernetes {removed} with no replacement"
                )
            } else {
                format!(
                    "{api_version} was removed in Kubernetes {removed}: use `apiVersion: {replacement}`"
                )
            };
            let mut d = Diagnostic::error(
                codes::NO_KIND_MATCH,
                format!("no matches for kind \"{kind}\" in version \"{api_version}\""),
            )
            .at(span)
            .field("apiVersion")
            .help(help);
            if !replacement.is_empty() {
                d = d.suggest(*replacement);
            }
            self.out.diagnostics.push(d);
            return;
        }
        let group = group_of(api_version);
        let group_served: Vec<&(&str, &[&str])> = SERVED
            .iter()
            .filter(|(v, _)| group_of(v) == group)
            .collect();
        let served_here = group_served.iter().find(|(v, _)| *v == api_version);
        let kind_known = served_here.is_some_and(|(_, kinds)| kinds.contains(&kind));
        if !group_served.is_empty() && !kind_known {
            // A built-in group: the API server would answer `no matches for kind`.
            let mut d = Diagnostic::error(
                codes::NO_KIND_MATCH,
                format!("no matches for kind \"{kind}\" in version \"{api_version}\""),
            );
            if let Some((v, _)) = group_served
                .iter()
                .copied()
                .chain(SERVED.iter())
                .find(|(_, kinds)| kinds.contains(&kind))
            {
                d = d
                    .at(span)
                    .field("apiVersion")
                    .help(format!("{kind} is served as `apiVersion: {v}`"))
                    .suggest(*v);
            } else {
                let kinds: Vec<&str> = served_here.map(|(_, k)| k.to_vec()).unwrap_or_default();
                let kspan = doc.entry("kind").map(|e| e.value.span).unwrap_or(doc.span);
                d = d.at(kspan).field("kind");
                if let Some(s) = schema::did_you_mean(kind, &kinds, &[], &[]) {
                    d = d.help(format!("did you mean `{s}`?")).suggest(s);
                }
            }
            self.out.diagnostics.push(d);
            return;
        }
        if self
            .noted
            .insert((api_version.to_string(), kind.to_string()))
        {
            let why = if kind == "Ingress" || group == "gateway.networking.k8s.io" {
                "Ingress and the Gateway API are not simulated yet"
            } else if group_served.is_empty() {
                "a custom resource or an API simctl does not model"
            } else {
                "it does not change how Service traffic flows"
            };
            self.out.diagnostics.push(
                Diagnostic::note(
                    codes::NOT_SIMULATED,
                    format!(
                        "{kind} ({api_version}) is not simulated: objects of this kind are ignored"
                    ),
                )
                .at(doc.entry("kind").map(|e| e.value.span).unwrap_or(doc.span))
                .field("kind")
                .help(why),
            );
        }
    }

    fn object(&mut self, doc: Node, kind: &'static str, api_version: String) {
        let name = doc
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_string();
        let header = format!(
            "The {kind} {} is invalid: ",
            crate::validation::field::go_quote(&name)
        );
        let version = api_version.rsplit('/').next().unwrap_or(&api_version);
        let decode_header =
            format!("{kind} in version \"{version}\" cannot be handled as a {kind}: ");
        let before = self.out.diagnostics.len();
        schema::check(
            &doc,
            schema_of(kind),
            &header,
            &decode_header,
            &mut self.out.diagnostics,
        );
        if self.out.diagnostics.len() > before {
            return; // The API server rejects at decoding: no defaults, no validation.
        }
        let json = yaml::to_json(&doc);
        let typed = match kind {
            "Namespace" => serde_json::from_value(json).map(|o| Object::Namespace(Box::new(o))),
            "Node" => serde_json::from_value(json).map(|o| Object::Node(Box::new(o))),
            "Pod" => serde_json::from_value(json).map(|o| Object::Pod(Box::new(o))),
            "Service" => serde_json::from_value(json).map(|o| Object::Service(Box::new(o))),
            "Endpoints" => serde_json::from_value(json).map(|o| Object::Endpoints(Box::new(o))),
            "ReplicationController" => {
                serde_json::from_value(json).map(|o| Object::ReplicationController(Box::new(o)))
            }
            "Deployment" => serde_json::from_value(json).map(|o| Object::Deployment(Box::new(o))),
            "ReplicaSet" => serde_json::from_value(json).map(|o| Object::ReplicaSet(Box::new(o))),
            "StatefulSet" => serde_json::from_value(json).map(|o| Object::StatefulSet(Box::new(o))),
            "DaemonSet" => serde_json::from_value(json).map(|o| Object::DaemonSet(Box::new(o))),
            "EndpointSlice" => {
                serde_json::from_value(json).map(|o| Object::EndpointSlice(Box::new(o)))
            }
            _ => serde_json::from_value(json).map(|o| Object::NetworkPolicy(Box::new(o))),
        };
        let mut object = match typed {
            Ok(o) => o,
            Err(e) => {
                self.out.diagnostics.push(
                    Diagnostic::error(codes::INVALID_TYPE, format!("{decode_header}{e}"))
                        .at(doc.span),
                );
                return;
            }
        };
        if !self.namespace_from_flag(&mut object, &doc) {
            return;
        }
        crate::defaults::apply(&mut object);
        let errors = if self.opts.defer_validation {
            Vec::new()
        } else {
            validation::validate(&object, &self.validation_options())
        };
        let invalid = !errors.is_empty();
        self.push_field_errors(&header, &doc, errors);
        if !invalid && !self.opts.defer_validation {
            // The API server warns only about objects it accepts (BeforeCreate).
            for w in validation::warnings::warnings(&object) {
                if self.warned.insert(w.message.clone()) {
                    self.out.diagnostics.push(warning_diagnostic(&doc, w));
                }
            }
        }
        if !invalid {
            self.out.objects.push(LoadedObject {
                object,
                api_version,
                node: doc,
            });
        }
    }

    /// `kubectl apply -n NS`: a namespaced object without a namespace gets NS; one with
    /// another namespace is refused before it is sent (kubectl's
    /// `cli-runtime/pkg/resource/visitor.go`, `RequireNamespace`). Cluster-scoped kinds
    /// ignore the flag. False when the object is refused.
    fn namespace_from_flag(&mut self, object: &mut Object, doc: &Node) -> bool {
        let Some(flag) = self.opts.namespace.as_deref().filter(|n| !n.is_empty()) else {
            return true;
        };
        if !object.namespaced() {
            return true;
        }
        let meta = object.meta_mut();
        match meta.namespace.as_deref().filter(|n| !n.is_empty()) {
            None => {
                meta.namespace = Some(flag.to_string());
                true
            }
            Some(ns) if ns == flag => true,
            Some(ns) => {
                let ns = ns.to_string();
                self.out.diagnostics.push(
                    Diagnostic::error(
                        codes::NAMESPACE_MISMATCH,
                        namespace_mismatch_message(&ns, flag),
                    )
                    .at(doc.locate("metadata.namespace").0)
                    .field("metadata.namespace")
                    .help(format!(
                        "drop `-n {flag}`, or remove `namespace: {ns}` from the object so that -n decides"
                    )),
                );
                false
            }
        }
    }

    /// An object in a namespace the input never creates: the API server answers
    /// `namespaces "X" not found` (the NamespaceLifecycle admission plugin,
    /// `plugin/pkg/admission/namespace/lifecycle`). simctl warns once per namespace, at
    /// its first object, and creates it so that the rest still runs.
    fn check_namespaces(&mut self) {
        let mut known: BTreeSet<String> =
            BUILTIN_NAMESPACES.iter().map(|n| n.to_string()).collect();
        for o in &self.out.objects {
            // An object read from a cluster (`kubectl get -o yaml`: uid, resourceVersion,
            // creationTimestamp) shows that its namespace exists there.
            let meta = o.object.meta();
            let live = meta.uid.is_some()
                || meta.resource_version.is_some()
                || meta.creation_timestamp.is_some();
            if let Object::Namespace(_) = o.object {
                known.insert(o.object.name().to_string());
            } else if live && let Some(ns) = o.object.namespace() {
                known.insert(ns.to_string());
            }
        }
        let mut warned = BTreeSet::new();
        for o in &self.out.objects {
            let Some(ns) = o.object.namespace().filter(|_| o.object.namespaced()) else {
                continue;
            };
            if known.contains(ns) || !warned.insert(ns.to_string()) {
                continue;
            }
            let (span, written) = o.node.locate("metadata.namespace");
            let mut d = Diagnostic::warning(
                codes::NAMESPACE_NOT_FOUND,
                format!("namespaces {} not found", crate::validation::field::go_quote(ns)),
            )
            .at(if written { span } else { o.node.span })
            .help(format!(
                "the API server refuses objects in a namespace that does not exist; add a Namespace {ns} (`kubectl create namespace {ns}`) before them. simctl creates it so that the rest still runs"
            ));
            if written {
                d = d.field("metadata.namespace");
            }
            self.out.diagnostics.push(d);
        }
    }

    fn push_field_errors(&mut self, header: &str, doc: &Node, errors: Vec<FieldError>) {
        for e in errors {
            let (span, _) = doc.locate(&e.field);
            self.out.diagnostics.push(
                Diagnostic::error(e.kind.reason(), format!("{header}{e}"))
                    .at(span)
                    .field(e.field.clone())
                    .label(e.body()),
            );
        }
    }

    /// Two objects of one kind, namespace and name: `kubectl apply` keeps the later one.
    fn check_duplicates(&mut self) {
        let mut seen: BTreeMap<(&str, String, String), usize> = BTreeMap::new();
        let mut drop = BTreeSet::new();
        for (i, o) in self.out.objects.iter().enumerate() {
            let key = (
                o.object.kind(),
                o.object.namespace().unwrap_or("").to_string(),
                o.object.name().to_string(),
            );
            if let Some(prev) = seen.insert(key, i) {
                drop.insert(prev);
                let first_line = self.out.objects[prev].node.span.line;
                self.out.diagnostics.push(
                    Diagnostic::warning(
                        codes::ALREADY_EXISTS,
                        format!(
                            "{} {} is defined twice; the later definition wins, as with `kubectl apply`",
                            o.object.kind(),
                            crate::validation::field::go_quote(o.object.name())
                        ),
                    )
                    .at(o.node.span)
                    .help(format!("the first definition starts at line {first_line}")),
                );
            }
        }
        if !drop.is_empty() {
            let mut i = 0;
            self.out.objects.retain(|_| {
                let keep = !drop.contains(&i);
                i += 1;
                keep
            });
        }
    }
}

/// The namespaces every cluster has (kube-apiserver's system namespaces and `default`).
pub const BUILTIN_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// kubectl's refusal of an object whose namespace differs from `-n`.
pub fn namespace_mismatch_message(object_ns: &str, flag: &str) -> String {
    format!(
        "the namespace from the provided object {} does not match the namespace {}. You must pass '--namespace={object_ns}' to perform this operation.",
        crate::validation::field::go_quote(object_ns),
        crate::validation::field::go_quote(flag)
    )
}

/// An API server warning (`Warning: ...` in kubectl) as a diagnostic at its field.
pub fn warning_diagnostic(doc: &Node, w: validation::warnings::Warning) -> Diagnostic {
    let mut d = Diagnostic::warning(codes::API_WARNING, w.message);
    match w.field {
        Some(f) => {
            let (mut span, exact) = doc.locate(&f);
            // `spec.clusterIPs` is what the API server names; users mostly write `clusterIP`.
            if !exact && f.starts_with("spec.clusterIPs") {
                span = doc.locate("spec.clusterIP").0;
            }
            d = d.at(span).field(f);
        }
        None => d = d.at(doc.span),
    }
    d.help("the API server accepts the object and prints this as `Warning:`")
}

/// A file's worth of diagnostics (for shells that read files and hit I/O errors).
pub fn unreadable(source: Option<SourceId>, name: &str, why: &str) -> Diagnostic {
    let d = Diagnostic::error(codes::UNREADABLE, format!("cannot read {name}: {why}"));
    match source {
        Some(s) => d.at(Span::file_start(s)),
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Backends, EventAction, From};

    const FULL: &str = include_str!("../../tests/fixtures/valid/scenario-full.yaml");

    #[test]
    fn scenario_document_is_typed_field_by_field() {
        let (_, loaded) = load_str("full.yaml", FULL, &LoadOptions::default());
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        let s = &loaded.scenario.as_ref().expect("scenario").doc.spec;
        assert_eq!(s.title.as_deref(), Some("NodePort: from a laptop to a pod"));
        assert_eq!(s.seed, Some(1));
        let nodes = s.cluster.nodes.as_ref().expect("nodes");
        assert_eq!(nodes[1].extra_ips, vec!["10.0.0.3".to_string()]);
        assert_eq!(nodes[0].pod_cidr.as_deref(), Some("10.244.1.0/24"));
        assert_eq!(s.cluster.kube_proxy.mode.as_deref(), Some("iptables"));
        assert_eq!(s.cluster.kube_proxy.localhost_node_ports, Some(true));
        assert_eq!(s.cluster.network.latency.as_deref(), Some("100us"));
        assert_eq!(
            s.clients.as_ref().expect("clients")[0].dns_names,
            vec!["laptop.example".to_string()]
        );
        assert_eq!(s.traffic[0].source_port, Some(40000));
        assert_eq!(
            s.traffic[1].from,
            From::Address {
                ip: "10.0.0.2".into(),
                node: "node-1".into()
            }
        );
        assert_eq!(s.traffic[3].query_type.as_deref(), Some("SRV"));
        let actions: Vec<EventAction> = s.events.iter().filter_map(|e| e.action()).collect();
        assert_eq!(actions.len(), 7);
        assert!(matches!(&actions[5], EventAction::Apply(text) if text.contains("name: web-2")));
        assert_eq!(
            s.expect[0].backends,
            Some(Backends::Selector {
                selector: "app=web".into()
            })
        );
        assert_eq!(
            s.expect[1].backends,
            Some(Backends::List(vec![
                "web-0".into(),
                "10.244.1.5:8080".into()
            ]))
        );
        assert_eq!(
            s.expect[2]
                .diagnostic
                .as_ref()
                .and_then(|d| d.contains.as_deref()),
            Some("already allocated")
        );
        assert_eq!(loaded.objects.len(), 4);
        assert_eq!(loaded.objects[1].object.namespace(), Some("shop"));
    }

    #[test]
    fn locate_points_at_fields_of_loaded_objects() {
        let (_, loaded) = load_str("full.yaml", FULL, &LoadOptions::default());
        let svc = loaded
            .objects
            .iter()
            .find(|o| o.object.kind() == "Service")
            .expect("service");
        let span = svc.locate("spec.ports[0].targetPort");
        assert_eq!((span.line, span.column), (104, 19));
    }

    #[test]
    fn lists_and_removed_apis() {
        let text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Service\n    metadata: {name: a}\n    spec: {ports: [{port: 80}]}\n  - apiVersion: extensions/v1beta1\n    kind: Deployment\n    metadata: {name: b}\n";
        let (_, loaded) = load_str("list.yaml", text, &LoadOptions::default());
        assert_eq!(loaded.objects.len(), 1);
        let errors: Vec<&Diagnostic> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "no matches for kind \"Deployment\" in version \"extensions/v1beta1\""
        );
        assert_eq!(errors[0].suggestion.as_deref(), Some("apps/v1"));
        assert_eq!(errors[0].span.map(|s| s.line), Some(8));
    }

    #[test]
    fn namespaces_get_their_name_label() {
        let (_, loaded) = load_str(
            "ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
            &LoadOptions::default(),
        );
        let labels = loaded.objects[0]
            .object
            .meta()
            .labels
            .clone()
            .unwrap_or_default();
        assert_eq!(
            labels
                .get("kubernetes.io/metadata.name")
                .map(String::as_str),
            Some("shop")
        );
    }
}
