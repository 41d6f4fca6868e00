//! Live state: objects as `kubectl get -o yaml|json` prints them from a running cluster are
//! the cluster as it stands, not intents to replay (SCENARIO.md section 3, "Live state").
//!
//! - **Ownership.** A Pod whose controller ownerReference names a ReplicaSet,
//!   ReplicationController, StatefulSet or DaemonSet of the input *is* one of that
//!   controller's pods, and a ReplicaSet whose controller is a Deployment of the input is
//!   that Deployment's: controllers make only the pods they lack. The rules are
//!   `ClaimObject` of `pkg/controller/controller_ref_manager.go`: an object whose
//!   controllerRef has another UID belongs to someone else; an orphan (no controllerRef)
//!   whose labels match the controller's selector, and which is not being deleted, is
//!   adopted (a StatefulSet adopts only pods named after it, `isMemberOf` in
//!   `pkg/controller/statefulset/stateful_set_utils.go`). Active pods count towards the
//!   replicas (`FilterActivePods`: not Succeeded or Failed, no deletionTimestamp).
//! - **Status.** A Pod's `status.phase` and its `Ready` condition ([`PodStatus`]).
//! - **Ranges.** The Services' ClusterIPs and the nodes' podCIDRs tell the serviceCIDR and
//!   the clusterCIDR when the Scenario does not ([`infer_ranges`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

use super::pods::{Owner, OwnerKind};
use super::{Config, Origin};
use crate::diag::Diagnostic;
use crate::manifest::{Loaded, LoadedObject};
use crate::net::Cidr;
use crate::objects::Object;

/// Diagnostic codes of this module.
pub mod codes {
    /// A range the Scenario leaves unset, taken from the live objects.
    pub const INFERRED_RANGE: &str = "InferredRange";
    /// A Pod of the input that does not run (Pending, Succeeded, Failed).
    pub const POD_NOT_RUNNING: &str = "PodNotRunning";
}

/// A controller of the input: (namespace, kind, name).
pub type Key = (String, &'static str, String);

/// A pod a controller already has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub name: String,
    /// `spec.nodeName`.
    pub node: Option<String>,
}

/// Who owns what among the input's objects.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Claims {
    /// A Pod object (by its origin) -> its controller.
    pods: BTreeMap<Origin, Owner>,
    /// Each controller's active pods.
    by_controller: BTreeMap<Key, Vec<Claimed>>,
    /// ReplicaSets (namespace, name) whose controller is a Deployment of the input -> it.
    rs_deployment: BTreeMap<(String, String), String>,
}

impl Claims {
    /// The controller of the Pod object from `origin`, when one of the input claims it.
    pub fn owner_of_pod(&self, origin: Origin) -> Option<&Owner> {
        self.pods.get(&origin)
    }

    /// The active pods the controller `kind` `namespace/name` already has.
    pub fn claimed(&self, namespace: &str, kind: &'static str, name: &str) -> &[Claimed] {
        self.by_controller
            .get(&(namespace.to_string(), kind, name.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether the Deployment `namespace/name` has a ReplicaSet in the input (then that
    /// ReplicaSet makes the pods, and the Deployment makes none itself).
    pub fn deployment_has_replica_set(&self, namespace: &str, name: &str) -> bool {
        self.rs_deployment
            .iter()
            .any(|((ns, _), d)| ns == namespace && d == name)
    }

    /// The Deployment of the input that owns ReplicaSet `namespace/name`.
    pub fn deployment_of(&self, namespace: &str, rs: &str) -> Option<&str> {
        self.rs_deployment
            .get(&(namespace.to_string(), rs.to_string()))
            .map(String::as_str)
    }
}

/// The controller ownerReference (`controller: true`) of an object.
pub fn controller_ref(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
}

/// A controller object's kind for ownership, its API group and its selector.
fn controller_parts(o: &Object) -> Option<(&'static str, &'static str, Option<&LabelSelector>)> {
    match o {
        Object::ReplicaSet(r) => Some(("ReplicaSet", "apps", r.spec.as_ref().map(|s| &s.selector))),
        Object::StatefulSet(s) => {
            Some(("StatefulSet", "apps", s.spec.as_ref().map(|s| &s.selector)))
        }
        Object::DaemonSet(d) => Some(("DaemonSet", "apps", d.spec.as_ref().map(|s| &s.selector))),
        Object::Deployment(d) => Some(("Deployment", "apps", d.spec.as_ref().map(|s| &s.selector))),
        // An RC's selector is a plain map; it is matched below.
        Object::ReplicationController(_) => Some(("ReplicationController", "", None)),
        _ => None,
    }
}

/// `ClaimObject`: whether the controller `ctrl` (kind, group) claims an object with `meta`.
fn claims(
    ctrl: &LoadedObject,
    kind: &str,
    group: &str,
    matches_selector: bool,
    meta: &ObjectMeta,
) -> bool {
    if meta.namespace.as_deref().unwrap_or("default")
        != ctrl.object.namespace().unwrap_or("default")
    {
        return false;
    }
    match controller_ref(meta) {
        Some(r) => {
            let r_group = r.api_version.rsplit_once('/').map_or("", |(g, _)| g);
            let uid_ok = match (r.uid.as_str(), ctrl.object.meta().uid.as_deref()) {
                ("", _) | (_, None) => true,
                (a, Some(b)) => a == b,
            };
            r.kind == kind && r_group == group && r.name == ctrl.object.name() && uid_ok
        }
        // An orphan is adopted when it matches and neither side is being deleted.
        None => {
            matches_selector
                && meta.deletion_timestamp.is_none()
                && ctrl.object.meta().deletion_timestamp.is_none()
        }
    }
}

fn selector_matches(
    o: &Object,
    selector: Option<&LabelSelector>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    match o {
        Object::ReplicationController(rc) => rc
            .spec
            .as_ref()
            .and_then(|s| s.selector.as_ref())
            .or_else(|| {
                rc.spec
                    .as_ref()
                    .and_then(|s| s.template.as_ref())
                    .and_then(|t| t.metadata.as_ref())
                    .and_then(|m| m.labels.as_ref())
            })
            .is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| get(k) == Some(v))),
        // An empty selector selects nothing for a workload (validation refuses it).
        _ => selector.is_some_and(|s| {
            (s.match_labels.as_ref().is_some_and(|m| !m.is_empty())
                || s.match_expressions.as_ref().is_some_and(|e| !e.is_empty()))
                && crate::policy::selector_matches(Some(s), get)
        }),
    }
}

/// Whether a pod is active for its controller (`controller.IsPodActive`).
fn active(p: &Pod) -> bool {
    let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded" | "Failed")) && p.metadata.deletion_timestamp.is_none()
}

/// Who owns what: each Pod of the input to the first controller of the input that
/// claims it (in input order, as the first controller to sync would), each ReplicaSet to
/// the Deployment that claims it.
pub fn claims_of(objects: &[(&LoadedObject, Origin)]) -> Claims {
    let mut out = Claims::default();
    let controllers: Vec<&LoadedObject> = objects
        .iter()
        .map(|(o, _)| *o)
        .filter(|o| controller_parts(&o.object).is_some())
        .collect();
    for (obj, _) in objects {
        let Object::ReplicaSet(rs) = &obj.object else {
            continue;
        };
        let found = controllers.iter().find(|c| {
            matches!(c.object, Object::Deployment(_)) && {
                let sel = controller_parts(&c.object).and_then(|p| p.2);
                let m = selector_matches(&c.object, sel, rs.metadata.labels.as_ref());
                claims(c, "Deployment", "apps", m, &rs.metadata)
            }
        });
        if let Some(d) = found {
            out.rs_deployment.insert(
                (
                    obj.object.namespace().unwrap_or("default").to_string(),
                    obj.object.name().to_string(),
                ),
                d.object.name().to_string(),
            );
        }
    }
    for (obj, origin) in objects {
        let Object::Pod(p) = &obj.object else {
            continue;
        };
        let pod_name = obj.object.name();
        let found = controllers.iter().find_map(|c| {
            let (kind, group, sel) = controller_parts(&c.object)?;
            if kind == "Deployment" {
                return None; // A Deployment owns ReplicaSets, not pods.
            }
            let mut m = selector_matches(&c.object, sel, p.metadata.labels.as_ref());
            if kind == "StatefulSet" {
                // isMemberOf: the pod's name is `<set>-<ordinal>`.
                m &= ordinal_of(pod_name, c.object.name()).is_some();
            }
            claims(c, kind, group, m, &p.metadata).then_some((kind, *c))
        });
        let Some((kind, c)) = found else {
            continue;
        };
        let ns = c.object.namespace().unwrap_or("default").to_string();
        let name = c.object.name().to_string();
        let owner = Owner {
            kind: match kind {
                "StatefulSet" => OwnerKind::StatefulSet,
                "DaemonSet" => OwnerKind::DaemonSet,
                _ => OwnerKind::ReplicaSet,
            },
            deployment: out.deployment_of(&ns, &name).map(str::to_string),
            name: name.clone(),
        };
        out.pods.insert(*origin, owner);
        if active(p) {
            out.by_controller
                .entry((ns, kind, name))
                .or_default()
                .push(Claimed {
                    name: pod_name.to_string(),
                    node: p.spec.as_ref().and_then(|s| s.node_name.clone()),
                });
        }
    }
    out
}

/// The ordinal of a StatefulSet pod `<set>-<ordinal>` (`getParentNameAndOrdinal`).
pub fn ordinal_of(pod: &str, set: &str) -> Option<usize> {
    let rest = pod.strip_prefix(set)?.strip_prefix('-')?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// What a Pod's status says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodStatus {
    /// No status (a manifest, not a live object): simctl decides.
    Unknown,
    /// Running; `ready` is its Ready condition when it has one, with the condition's
    /// reason or message.
    Running { ready: Option<(bool, String)> },
    /// Pending: not started (no address), with the reason the status gives.
    Pending(String),
    /// Succeeded or Failed: done, no address, no endpoint.
    Terminal(String),
}

/// A Pod's `status.phase` and `Ready` condition, as the kubelet reported them.
pub fn pod_status(p: &Pod) -> PodStatus {
    let Some(st) = p.status.as_ref() else {
        return PodStatus::Unknown;
    };
    let cond = |t: &str| st.conditions.iter().flatten().find(|c| c.type_ == t);
    let why = |c: &k8s_openapi::api::core::v1::PodCondition| {
        c.message
            .clone()
            .filter(|m| !m.is_empty())
            .or_else(|| c.reason.clone())
            .unwrap_or_default()
    };
    match st.phase.as_deref() {
        Some(phase @ ("Succeeded" | "Failed")) => PodStatus::Terminal(phase.to_string()),
        Some("Pending") => {
            let waiting = st
                .container_statuses
                .iter()
                .flatten()
                .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone());
            let reason = cond("PodScheduled")
                .filter(|c| c.status == "False")
                .map(why)
                .or(waiting)
                .unwrap_or_default();
            PodStatus::Pending(reason)
        }
        None if st.conditions.is_none() && st.pod_ip.is_none() => PodStatus::Unknown,
        _ => PodStatus::Running {
            ready: cond("Ready").map(|c| (c.status == "True", why(c))),
        },
    }
}

/// The note for a Pod of the input that is not running: it is no endpoint and has no
/// address; its controller, if any, counts it and makes no replacement.
pub fn not_running_note(namespace: &str, name: &str, status: &PodStatus) -> Option<Diagnostic> {
    let (phase, why) = match status {
        PodStatus::Pending(why) => ("Pending", why.as_str()),
        PodStatus::Terminal(phase) => (phase.as_str(), ""),
        _ => return None,
    };
    let why = if why.is_empty() {
        String::new()
    } else {
        format!(" ({why})")
    };
    Some(
        Diagnostic::note(
            codes::POD_NOT_RUNNING,
            format!(
                "pod {namespace}/{name} is {phase} in the input{why}: it does not run, has no address and is no endpoint"
            ),
        )
        .field("status.phase"),
    )
}

/// The smallest prefix (not longer than `longest`, not shorter than `shortest`) holding
/// every address.
fn covering(addrs: &[Ipv4Addr], shortest: u8, longest: u8) -> Option<Cidr> {
    let first = u32::from(*addrs.first()?);
    let mut len = longest;
    for a in addrs {
        let diff = first ^ u32::from(*a);
        let common = u8::try_from(diff.leading_zeros()).unwrap_or(32);
        len = len.min(common);
    }
    if len < shortest {
        return None;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some(Cidr::new(Ipv4Addr::from(first & mask), len))
}

/// serviceCIDR and clusterCIDR from the live objects, when the Scenario sets neither and
/// the objects do not fit simctl's defaults: the Services' ClusterIPs (a GKE cluster's
/// 34.118.224.0/20) and the nodes' podCIDRs (its 10.52.0.0/14). Each inference is a note.
/// kube-apiserver takes no serviceCIDR wider than a /12 (`--service-cluster-ip-range`);
/// a range is widened to a /20 (ClusterIPs) or a /16 (podCIDRs) at least, so that new
/// Services and nodes find room in it as they would in the real one.
pub fn infer_ranges(config: &mut Config, loaded: &Loaded, diags: &mut Vec<Diagnostic>) {
    let cluster = loaded.scenario.as_ref().map(|s| &s.doc.spec.cluster);
    if cluster.is_none_or(|c| c.service_cidr.is_none()) {
        let ips: Vec<Ipv4Addr> = loaded
            .objects
            .iter()
            .filter_map(|o| match &o.object {
                Object::Service(s) => s.spec.as_ref(),
                _ => None,
            })
            .flat_map(|s| {
                s.cluster_ip
                    .iter()
                    .chain(s.cluster_ips.iter().flatten())
                    .filter_map(|ip| ip.parse::<Ipv4Addr>().ok())
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if ips.iter().any(|ip| !config.service_cidr.contains(*ip))
            && let Some(cidr) = covering(&ips, 12, 20)
            && !cidr.covers(&config.cluster_cidr)
            && !config.cluster_cidr.covers(&cidr)
        {
            diags.push(Diagnostic::note(
                codes::INFERRED_RANGE,
                format!(
                    "the Scenario sets no serviceCIDR and the Services' ClusterIPs ({}) lie outside simctl's default {}: serviceCIDR {cidr} is taken, the smallest range from a /20 up that holds them all (set spec.cluster.serviceCIDR to say otherwise)",
                    summary(&ips),
                    config.service_cidr
                ),
            ));
            config.service_cidr = cidr;
        }
    }
    if cluster.is_none_or(|c| c.cluster_cidr.is_none()) {
        let cidrs: Vec<Cidr> = loaded
            .objects
            .iter()
            .filter_map(|o| match &o.object {
                Object::Node(n) => n.spec.as_ref(),
                _ => None,
            })
            .flat_map(|s| s.pod_cidr.iter().chain(s.pod_cidrs.iter().flatten()))
            .filter_map(|c| Cidr::parse(c))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let addrs: Vec<Ipv4Addr> = cidrs.iter().map(|c| c.addr).collect();
        if cidrs.iter().any(|c| !config.cluster_cidr.covers(c))
            && let Some(cidr) = covering(&addrs, 8, 16)
            && cidrs.iter().all(|c| cidr.covers(c))
            && !cidr.covers(&config.service_cidr)
            && !config.service_cidr.covers(&cidr)
        {
            let list: Vec<String> = cidrs.iter().map(Cidr::to_string).collect();
            diags.push(Diagnostic::note(
                codes::INFERRED_RANGE,
                format!(
                    "the Scenario sets no clusterCIDR and the nodes' podCIDRs ({}) lie outside simctl's default {}: clusterCIDR {cidr} is taken, the smallest range from a /16 up that holds them all (set spec.cluster.clusterCIDR to say otherwise)",
                    list.join(", "),
                    config.cluster_cidr
                ),
            ));
            config.cluster_cidr = cidr;
        }
    }
}

/// The first and last of a sorted list of addresses, and how many.
fn summary(ips: &[Ipv4Addr]) -> String {
    match ips {
        [] => String::new(),
        [one] => one.to_string(),
        [a, b] => format!("{a} and {b}"),
        [first, .., last] => format!("{} addresses from {first} to {last}", ips.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Readiness;
    use crate::cluster::build::testutil::{cluster, pod_names};
    use crate::cluster::pods::owner_of;

    const RS: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, uid: d-1}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-7d4b9c
  uid: rs-1
  labels: {app: web, pod-template-hash: 7d4b9c}
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d-1, controller: true}]
spec:
  replicas: 3
  selector: {matchLabels: {app: web, pod-template-hash: 7d4b9c}}
  template:
    metadata: {labels: {app: web, pod-template-hash: 7d4b9c}}
    spec: {containers: [{name: web, image: nginx}]}
";

    fn pod(name: &str, owner: &str, extra: &str) -> String {
        format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels: {{app: web, pod-template-hash: 7d4b9c}}\n{owner}spec:\n  nodeName: node-1\n  containers: [{{name: web, image: nginx}}]\n{extra}"
        )
    }
    const OWNED: &str = "  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9c, uid: rs-1, controller: true}]\n";

    /// Deployment + ReplicaSet + two of its Pods: one pod more, not three times three.
    #[test]
    fn a_replica_set_makes_only_the_pods_it_lacks() {
        let text = format!(
            "{RS}{}{}",
            pod(
                "web-7d4b9c-aaaaa",
                OWNED,
                "status: {phase: Running, podIP: 10.244.0.7}\n"
            ),
            pod("web-7d4b9c-bbbbb", OWNED, "")
        );
        let c = cluster(&text);
        let web = pod_names(&c, "default");
        assert_eq!(web.len(), 3, "{web:?}");
        assert!(web.contains(&"web-7d4b9c-aaaaa".to_string()));
        assert!(web.iter().all(|n| n.starts_with("web-7d4b9c-")), "{web:?}");
        let id = c.pod_by_name("default", "web-7d4b9c-aaaaa").expect("pod");
        assert_eq!(c.pods[id].ip, Ipv4Addr::new(10, 244, 0, 7));
        let owner = owner_of(&c.pods[id]).expect("owned");
        assert_eq!(owner.name, "web-7d4b9c");
        assert_eq!(owner.deployment.as_deref(), Some("web"));
        // The one the ReplicaSet made is the Deployment's too (scale events find it).
        let made = web
            .iter()
            .find(|n| !n.ends_with("aaaaa") && !n.ends_with("bbbbb"));
        let made = c.pod_by_name("default", made.expect("made")).expect("made");
        assert_eq!(
            owner_of(&c.pods[made])
                .and_then(|o| o.deployment)
                .as_deref(),
            Some("web")
        );
    }

    /// controller_ref_manager.go: a controllerRef with another UID is someone else's pod;
    /// an orphan matching the selector is adopted; a pod being deleted is not counted.
    #[test]
    fn claims_follow_the_controller_ref_manager() {
        let other = "  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9c, uid: rs-OLD, controller: true}]\n";
        let text = format!(
            "{RS}{}{}{}",
            pod("stranger", other, ""),
            pod("orphan", "", ""),
            pod("going", OWNED, "").replace("  name: going\n", "  name: going\n  deletionTimestamp: \"2026-11-30T10:00:00Z\"\n  deletionGracePeriodSeconds: 20\n"),
        );
        let c = cluster(&text);
        let web = pod_names(&c, "default");
        // stranger + orphan (adopted) + going (terminating) + 2 new = 5 pods; the RS has
        // orphan and 2 new as its active 3.
        assert_eq!(web.len(), 5, "{web:?}");
        let get = |n: &str| &c.pods[c.pod_by_name("default", n).expect(n)];
        assert_eq!(owner_of(get("stranger")), None);
        assert_eq!(
            owner_of(get("orphan")).map(|o| o.name).as_deref(),
            Some("web-7d4b9c")
        );
        assert_eq!(
            get("going").phase,
            crate::cluster::PodPhase::Terminating {
                since_ns: 0,
                until_ns: 20_000_000_000
            }
        );
    }

    /// status.phase and the Ready condition are the kubelet's word.
    #[test]
    fn pod_status_is_honoured() {
        let ready = |s: &str| {
            format!(
                "status:\n  phase: Running\n  podIP: {s}\n  conditions: [{{type: Ready, status: \"False\", reason: ContainersNotReady, message: \"containers with unready status: [web]\"}}]\n"
            )
        };
        let text = format!(
            "{RS}{}{}{}",
            pod("notready", OWNED, &ready("10.244.0.9")),
            pod(
                "pending",
                OWNED,
                "status: {phase: Pending, conditions: [{type: PodScheduled, status: \"False\", reason: Unschedulable, message: \"0/2 nodes are available\"}]}\n"
            ),
            pod(
                "done",
                OWNED,
                "status: {phase: Succeeded, podIP: 10.244.0.10}\n"
            ),
        );
        let c = cluster(&text);
        let web = pod_names(&c, "default");
        // notready + 1 new (pending counts, done does not): 2 in the arena.
        assert_eq!(web.len(), 2, "{web:?}");
        assert!(c.pod_by_name("default", "pending").is_none());
        assert!(c.pod_by_name("default", "done").is_none());
        let p = &c.pods[c.pod_by_name("default", "notready").expect("notready")];
        assert!(!p.ready);
        assert_eq!(
            p.readiness,
            Readiness::StatusNotReady {
                reason: "containers with unready status: [web]".into()
            }
        );
        let notes: Vec<&str> = c
            .diagnostics
            .iter()
            .filter(|d| d.code == codes::POD_NOT_RUNNING)
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            notes,
            [
                "pod default/pending is Pending in the input (0/2 nodes are available): it does not run, has no address and is no endpoint",
                "pod default/done is Succeeded in the input: it does not run, has no address and is no endpoint"
            ]
        );
        // No endpoint for the pod that is not ready, and 10.244.0.10 is free again? No:
        // the input names it, so no new pod takes it.
        assert!(c.pods.iter().all(|p| p.ip != Ipv4Addr::new(10, 244, 0, 10)));
    }

    /// A StatefulSet adopts `<name>-<ordinal>` only; a DaemonSet makes pods for the nodes
    /// that lack one.
    #[test]
    fn stateful_and_daemon_sets_fill_the_gaps() {
        let text = "
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 3
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: redis}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, labels: {app: db}}
spec: {nodeName: node-2, containers: [{name: db, image: redis}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-extra, labels: {app: db}}
spec: {containers: [{name: db, image: redis}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: agent-x1
  namespace: kube-system
  labels: {app: agent}
  ownerReferences: [{apiVersion: apps/v1, kind: DaemonSet, name: agent, uid: u, controller: true}]
spec: {nodeName: node-1, containers: [{name: a, image: busybox}]}
";
        let c = cluster(text);
        assert_eq!(
            pod_names(&c, "default"),
            ["db-0", "db-1", "db-2", "db-extra"]
        );
        let agents: Vec<(String, usize)> = c
            .pods
            .iter()
            .filter(|p| p.name.starts_with("agent-"))
            .map(|p| (p.name.clone(), p.node))
            .collect();
        assert_eq!(agents.len(), 2, "{agents:?}");
        assert!(agents.contains(&("agent-x1".to_string(), 0)), "{agents:?}");
        assert!(
            agents.iter().any(|(n, node)| n != "agent-x1" && *node == 1),
            "{agents:?}"
        );
        let db1 = &c.pods[c.pod_by_name("default", "db-1").expect("db-1")];
        assert_eq!(owner_of(db1).map(|o| o.kind), Some(OwnerKind::StatefulSet));
    }

    #[test]
    fn ranges_come_from_the_live_objects() {
        let text = "
apiVersion: v1
kind: Service
metadata: {name: kubernetes}
spec: {clusterIP: 34.118.224.1, ports: [{name: https, port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: 34.118.239.51, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Node
metadata: {name: gke-a}
spec: {podCIDR: 10.52.0.0/24}
status: {addresses: [{type: InternalIP, address: 10.128.0.17}]}
---
apiVersion: v1
kind: Node
metadata: {name: gke-b}
spec: {podCIDR: 10.52.3.0/24}
status: {addresses: [{type: InternalIP, address: 10.128.0.18}]}
";
        let c = cluster(text);
        assert_eq!(c.config.service_cidr.to_string(), "34.118.224.0/20");
        assert_eq!(c.config.cluster_cidr.to_string(), "10.52.0.0/16");
        assert!(
            c.diagnostics.iter().all(|d| !d.is_error()),
            "{:?}",
            c.diagnostics
        );
        assert_eq!(
            c.diagnostics
                .iter()
                .filter(|d| d.code == codes::INFERRED_RANGE)
                .count(),
            2
        );
        // simctl's defaults fit a kind dump: nothing inferred.
        let c = cluster(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 10.96.47.211, selector: {app: web}, ports: [{port: 80}]}\n",
        );
        assert_eq!(c.config.service_cidr.to_string(), "10.96.0.0/12");
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
        assert_eq!(
            covering(&[Ipv4Addr::new(34, 118, 224, 1)], 12, 20)
                .map(|c| c.to_string())
                .as_deref(),
            Some("34.118.224.0/20")
        );
        assert_eq!(
            covering(
                &[Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(200, 0, 0, 1)],
                12,
                20
            ),
            None
        );
    }
}
