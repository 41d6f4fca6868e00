//! Update validation: what the API server checks when an object that exists is applied
//! again (`kubectl apply` of a changed manifest is a patch, then an update).
//!
//! Each kind's strategy runs its `ValidateUpdate`, which checks the fields that may not
//! change and then validates the new object as on create:
//! - Service: `ValidateServiceUpdate` (`pkg/apis/core/validation/validation.go`):
//!   `validateUpgradeDowngradeClusterIPs` (a set ClusterIP `may not change once set`, the
//!   primary `can not be unset`), `validateUpgradeDowngradeIPFamilies`,
//!   `validateLoadBalancerClassField`, `validateServiceExternalTrafficFieldsUpdate` (the
//!   healthCheckNodePort of a Local LoadBalancer `field is immutable`), then
//!   `ValidateService`. Run it after [`crate::cluster::update`]'s `dropTypeDependentFields`.
//! - Pod: `ValidatePodUpdate`: only images, `activeDeadlineSeconds`, added tolerations and
//!   a negative `terminationGracePeriodSeconds` raised to 1 may change in the spec.
//! - Deployment, ReplicaSet, DaemonSet (apps/v1): the selector is immutable
//!   (`pkg/registry/apps/*/strategy.go` `ValidateUpdate`: `ValidateImmutableField`).
//! - StatefulSet: `ValidateStatefulSetUpdate`: only replicas, ordinals, template,
//!   updateStrategy, revisionHistoryLimit, persistentVolumeClaimRetentionPolicy and
//!   minReadySeconds may change.
//! - Other kinds: the create validation.

use k8s_openapi::api::core::v1::{PodSpec, Service, ServiceSpec};

use super::field::{BadValue, ErrorList, FieldError, Path};
use super::meta::go_string_slice;
use super::{Options, service, validate, workloads};
use crate::objects::Object;

/// apimachinery `FieldImmutableErrorMsg`.
pub const FIELD_IMMUTABLE: &str = "field is immutable";

/// `ValidatePodUpdate`'s refusal of a spec change.
pub const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// `ValidateStatefulSetUpdate`'s refusal of a spec change.
pub const STATEFULSET_UPDATE_FORBIDDEN: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

/// Validate `new` (defaulted) as an update of the stored `old`.
pub fn validate_update(new: &Object, old: &Object, opts: &Options) -> ErrorList {
    let mut errs = match (new, old) {
        (Object::Service(n), Object::Service(o)) => return validate_service_update(n, o, opts),
        (Object::Pod(n), Object::Pod(o)) => {
            let empty = PodSpec::default();
            validate_pod_spec_update(
                n.spec.as_ref().unwrap_or(&empty),
                o.spec.as_ref().unwrap_or(&empty),
            )
        }
        (Object::Deployment(n), Object::Deployment(o)) => immutable_selector(
            n.spec.as_ref().map(|s| &s.selector),
            o.spec.as_ref().map(|s| &s.selector),
        ),
        (Object::ReplicaSet(n), Object::ReplicaSet(o)) => immutable_selector(
            n.spec.as_ref().map(|s| &s.selector),
            o.spec.as_ref().map(|s| &s.selector),
        ),
        (Object::DaemonSet(n), Object::DaemonSet(o)) => immutable_selector(
            n.spec.as_ref().map(|s| &s.selector),
            o.spec.as_ref().map(|s| &s.selector),
        ),
        (Object::StatefulSet(n), Object::StatefulSet(o)) => {
            match (n.spec.as_ref(), o.spec.as_ref()) {
                (Some(ns), Some(os)) => validate_stateful_set_spec_update(ns, os),
                _ => ErrorList::new(),
            }
        }
        _ => ErrorList::new(),
    };
    errs.extend(validate(new, opts));
    errs
}

/// `ValidateImmutableField(new.Spec.Selector, old.Spec.Selector, spec.selector)`.
fn immutable_selector(
    new: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
    old: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
) -> ErrorList {
    if new == old {
        return ErrorList::new();
    }
    vec![FieldError::invalid(
        &Path::new("spec").child("selector"),
        workloads::go_label_selector(new),
        FIELD_IMMUTABLE,
    )]
}

/// `ValidateStatefulSetUpdate`: the spec with the mutable fields copied from the new one
/// must equal the old spec.
fn validate_stateful_set_spec_update(
    new: &k8s_openapi::api::apps::v1::StatefulSetSpec,
    old: &k8s_openapi::api::apps::v1::StatefulSetSpec,
) -> ErrorList {
    let mut restored = old.clone();
    restored.replicas = new.replicas;
    restored.ordinals = new.ordinals.clone();
    restored.template = new.template.clone();
    restored.update_strategy = new.update_strategy.clone();
    restored.revision_history_limit = new.revision_history_limit;
    restored.persistent_volume_claim_retention_policy =
        new.persistent_volume_claim_retention_policy.clone();
    restored.min_ready_seconds = new.min_ready_seconds;
    if &restored == new {
        return ErrorList::new();
    }
    vec![FieldError::forbidden(
        &Path::new("spec"),
        STATEFULSET_UPDATE_FORBIDDEN,
    )]
}

/// `ValidatePodUpdate`'s spec rule: the old spec with the mutable fields taken from the
/// new one must equal the new spec. (The API server appends a diff of the two specs to
/// the message; simctl names the first field that differs in [`pod_spec_difference`].)
pub fn validate_pod_spec_update(new: &PodSpec, old: &PodSpec) -> ErrorList {
    if pod_spec_difference(new, old).is_none() {
        return ErrorList::new();
    }
    vec![FieldError::forbidden(
        &Path::new("spec"),
        POD_UPDATE_FORBIDDEN,
    )]
}

/// The first spec field an update of a pod may not change but does, if any.
pub fn pod_spec_difference(new: &PodSpec, old: &PodSpec) -> Option<String> {
    let mut mutated = old.clone();
    // The images may change, container by container (same count: that is checked next).
    if new.containers.len() == old.containers.len() {
        for (m, n) in mutated.containers.iter_mut().zip(&new.containers) {
            m.image = n.image.clone();
        }
    }
    if let (Some(m), Some(n)) = (
        mutated.init_containers.as_mut(),
        new.init_containers.as_ref(),
    ) && m.len() == n.len()
    {
        for (m, n) in m.iter_mut().zip(n) {
            m.image = n.image.clone();
        }
    }
    mutated.active_deadline_seconds = new.active_deadline_seconds;
    // Tolerations may only be added to.
    let old_tol = old.tolerations.clone().unwrap_or_default();
    let new_tol = new.tolerations.clone().unwrap_or_default();
    if old_tol.iter().all(|t| new_tol.contains(t)) {
        mutated.tolerations = new.tolerations.clone();
    }
    // A negative grace period may become 1.
    if old.termination_grace_period_seconds.is_some_and(|g| g < 0)
        && new.termination_grace_period_seconds == Some(1)
    {
        mutated.termination_grace_period_seconds = Some(1);
    }
    // What the scheduler set is kept by the patch when the manifest does not say.
    if new.node_name.is_none() {
        mutated.node_name = None;
    }
    if &mutated == new {
        return None;
    }
    let json = |s: &PodSpec| serde_json::to_value(s).unwrap_or_default();
    let (a, b) = (json(&mutated), json(new));
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return Some("spec".into());
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .find(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("spec.{k}"))
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

fn cluster_ips(spec: &ServiceSpec) -> Vec<String> {
    match (&spec.cluster_ips, &spec.cluster_ip) {
        (Some(ips), _) if !ips.is_empty() => ips.clone(),
        (_, Some(ip)) if !ip.is_empty() => vec![ip.clone()],
        _ => Vec::new(),
    }
}

fn is_headless(spec: &ServiceSpec) -> bool {
    matches!(cluster_ips(spec).as_slice(), [only] if only == "None")
}

fn needs_health_check(spec: &ServiceSpec) -> bool {
    s(&spec.type_) == "LoadBalancer" && s(&spec.external_traffic_policy) == "Local"
}

/// `ValidateServiceUpdate`.
pub fn validate_service_update(new: &Service, old: &Service, opts: &Options) -> ErrorList {
    let empty = ServiceSpec::default();
    let (n, o) = (
        new.spec.as_ref().unwrap_or(&empty),
        old.spec.as_ref().unwrap_or(&empty),
    );
    let mut errs = ErrorList::new();
    errs.extend(upgrade_downgrade_cluster_ips(n, o));
    errs.extend(upgrade_downgrade_ip_families(n, o));
    // validateLoadBalancerClassField(old, new): may not change between two LoadBalancers.
    if s(&n.type_) == "LoadBalancer"
        && s(&o.type_) == "LoadBalancer"
        && n.load_balancer_class != o.load_balancer_class
    {
        errs.push(FieldError::invalid(
            &Path::new("spec").child("loadBalancerClass"),
            n.load_balancer_class
                .as_deref()
                .map_or(BadValue::Null, |c| BadValue::Str(c.to_string())),
            "may not change once set",
        ));
    }
    // validateServiceExternalTrafficFieldsUpdate.
    if needs_health_check(o)
        && needs_health_check(n)
        && n.health_check_node_port != o.health_check_node_port
    {
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("healthCheckNodePort"),
            FIELD_IMMUTABLE,
        ));
    }
    errs.extend(service::validate_service(new, opts));
    errs
}

/// `validateUpgradeDowngradeClusterIPs`.
fn upgrade_downgrade_cluster_ips(n: &ServiceSpec, o: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    if s(&n.type_) == "ExternalName" || s(&o.type_) == "ExternalName" {
        return errs;
    }
    if is_headless(n) && is_headless(o) {
        return errs;
    }
    let (new_ips, old_ips) = (cluster_ips(n), cluster_ips(o));
    let path = Path::new("spec").child("clusterIPs");
    let value = || BadValue::Raw(go_string_slice(&new_ips));
    if old_ips.len() == new_ips.len() {
        for (i, ip) in old_ips.iter().enumerate() {
            if *ip != new_ips[i] {
                errs.push(FieldError::invalid(
                    &path.index(i),
                    value(),
                    "may not change once set",
                ));
            }
        }
    } else if old_ips.len() > new_ips.len() {
        if new_ips.is_empty() {
            errs.push(FieldError::invalid(
                &path.index(0),
                value(),
                "primary clusterIP can not be unset",
            ));
        }
        if !old_ips.is_empty() && !new_ips.is_empty() && new_ips[0] != old_ips[0] {
            errs.push(FieldError::invalid(
                &path.index(0),
                value(),
                "may not change once set",
            ));
        }
        if new_ips.len() == 1 && s(&n.ip_family_policy) != "SingleStack" {
            errs.push(FieldError::invalid(
                &Path::new("spec").child("ipFamilyPolicy"),
                n.ip_family_policy
                    .as_deref()
                    .map_or(BadValue::Null, |p| BadValue::Str(p.to_string())),
                "must be set to 'SingleStack' when releasing the secondary clusterIP",
            ));
        }
    } else if !old_ips.is_empty() && new_ips[0] != old_ips[0] {
        errs.push(FieldError::invalid(
            &path.index(0),
            value(),
            "may not change once set",
        ));
    }
    errs
}

/// `validateUpgradeDowngradeIPFamilies` (the cases a single-stack cluster can reach).
fn upgrade_downgrade_ip_families(n: &ServiceSpec, o: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    if s(&n.type_) == "ExternalName" || s(&o.type_) == "ExternalName" {
        return errs;
    }
    if is_headless(n) || is_headless(o) {
        return errs;
    }
    let (nf, of) = (
        n.ip_families.clone().unwrap_or_default(),
        o.ip_families.clone().unwrap_or_default(),
    );
    if nf.len() == of.len() && nf != of {
        errs.push(FieldError::invalid(
            &Path::new("spec").child("ipFamilies").index(0),
            BadValue::Raw(go_family_slice(&nf)),
            "may not change once set",
        ));
    }
    errs
}

/// `%#v` of a `[]core.IPFamily`.
fn go_family_slice(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|f| format!("{f:?}")).collect();
    format!("[]core.IPFamily{{{}}}", items.join(", "))
}
