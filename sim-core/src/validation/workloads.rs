//! Workload validation: Deployment, ReplicaSet, StatefulSet, DaemonSet
//! (kubernetes/kubernetes `pkg/apis/apps/validation/validation.go`) and
//! ReplicationController (`pkg/apis/core/validation/validation.go`), Kubernetes 1.34.
//!
//! Values that Go prints with `%#v` (label maps, selectors, strategies, int-or-strings)
//! are rendered the way fmt renders the *internal* Go types, so that a message reads
//! as kubectl shows it: `map[string]string{"app":"web"}`,
//! `intstr.IntOrString{Type:1, IntVal:0, StrVal:"25"}`.
//!
//! k8s-openapi types `spec.selector` as a plain (non-optional) LabelSelector, so a
//! missing selector and `selector: {}` read the same: both are treated as missing
//! (Go: `Required value`), while `selector: {matchLabels: {}}` is the empty selector.

use std::collections::BTreeMap;

use super::field::go_quote;
use super::meta;
use super::names;
use super::pod::{
    go_string_map, validate_nonnegative, validate_pod_template_spec,
    validate_pod_template_spec_with_volumes,
};
use super::{BadValue, ErrorList, FieldError, Options, Path};
use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec, DeploymentStrategy, ReplicaSet,
    ReplicaSetSpec, StatefulSet, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

// ---------------------------------------------------------------------------------------
// Label selectors as the apiserver evaluates them (apimachinery `labels` package).

/// What `metav1.LabelSelectorAsSelector` returns.
enum Selector {
    /// A nil selector: `labels.Nothing()`, matches nothing and is not "empty".
    Nothing,
    /// No requirements: `labels.Everything()`, matches everything and is "empty".
    Everything,
    Requirements(Vec<Requirement>),
}

struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Equals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// The selector a spec's `selector` field stands for: the default (both parts absent)
/// is how k8s-openapi reads a missing selector.
fn given(sel: &LabelSelector) -> Option<&LabelSelector> {
    if sel.match_labels.is_none() && sel.match_expressions.is_none() {
        None
    } else {
        Some(sel)
    }
}

/// `labels.NewRequirement`'s checks: operator/value count, key and values syntax.
fn new_requirement(key: &str, op: Op, values: Vec<String>) -> Option<Requirement> {
    match op {
        Op::In | Op::NotIn if values.is_empty() => return None,
        Op::Equals if values.len() != 1 => return None,
        Op::Exists | Op::DoesNotExist if !values.is_empty() => return None,
        _ => {}
    }
    if !names::is_qualified_name(key).is_empty() {
        return None;
    }
    if values
        .iter()
        .any(|v| !names::is_valid_label_value(v).is_empty())
    {
        return None;
    }
    Some(Requirement {
        key: key.to_string(),
        op,
        values,
    })
}

/// `metav1.LabelSelectorAsSelector`; `None` is the error case.
fn label_selector_as_selector(sel: Option<&LabelSelector>) -> Option<Selector> {
    let Some(sel) = sel else {
        return Some(Selector::Nothing);
    };
    let labels = sel.match_labels.as_ref();
    let exprs = sel.match_expressions.as_deref().unwrap_or(&[]);
    if labels.is_none_or(BTreeMap::is_empty) && exprs.is_empty() {
        return Some(Selector::Everything);
    }
    let mut reqs = Vec::new();
    for (k, v) in labels.into_iter().flatten() {
        reqs.push(new_requirement(k, Op::Equals, vec![v.clone()])?);
    }
    for e in exprs {
        let op = match e.operator.as_str() {
            "In" => Op::In,
            "NotIn" => Op::NotIn,
            "Exists" => Op::Exists,
            "DoesNotExist" => Op::DoesNotExist,
            _ => return None,
        };
        reqs.push(new_requirement(
            &e.key,
            op,
            e.values.clone().unwrap_or_default(),
        )?);
    }
    Some(Selector::Requirements(reqs))
}

impl Selector {
    fn is_empty(&self) -> bool {
        matches!(self, Selector::Everything)
    }

    fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k));
        match self {
            Selector::Nothing => false,
            Selector::Everything => true,
            Selector::Requirements(reqs) => reqs.iter().all(|r| match r.op {
                Op::Equals | Op::In => get(&r.key).is_some_and(|v| r.values.contains(v)),
                Op::NotIn => get(&r.key).is_none_or(|v| !r.values.contains(v)),
                Op::Exists => get(&r.key).is_some(),
                Op::DoesNotExist => get(&r.key).is_none(),
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Go `%#v` renderings of the values these validators report.

fn go_string_slice(values: Option<&Vec<String>>) -> String {
    match values {
        None => "[]string(nil)".to_string(),
        Some(v) => {
            let items: Vec<String> = v.iter().map(|s| go_quote(s)).collect();
            format!("[]string{{{}}}", items.join(", "))
        }
    }
}

/// `%#v` of a `metav1.LabelSelector` (ErrorBody dereferences the pointer first).
pub(crate) fn go_label_selector(sel: Option<&LabelSelector>) -> BadValue {
    let Some(sel) = sel else {
        return BadValue::Null;
    };
    let exprs = match &sel.match_expressions {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(list) => {
            let items: Vec<String> = list
                .iter()
                .map(|r| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        go_quote(&r.key),
                        go_quote(&r.operator),
                        go_string_slice(r.values.as_ref())
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
    };
    BadValue::Raw(format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{}}}",
        go_string_map(sel.match_labels.as_ref()),
        exprs
    ))
}

/// `%#v` of an `intstr.IntOrString` (its String() has a pointer receiver, so the plain
/// value is printed as a struct). A nil pointer field is Go's zero value after
/// conversion to the internal type.
fn go_int_or_string(v: Option<&IntOrString>) -> String {
    match v {
        None | Some(IntOrString::Int(0)) => {
            "intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}".to_string()
        }
        Some(IntOrString::Int(n)) => {
            format!("intstr.IntOrString{{Type:0, IntVal:{n}, StrVal:\"\"}}")
        }
        Some(IntOrString::String(s)) => {
            format!(
                "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
                go_quote(s)
            )
        }
    }
}

/// How Go prints a non-nil pointer inside `%#v`: the address, which simctl cannot know.
fn go_pointer(type_name: &str, is_nil: bool) -> String {
    if is_nil {
        format!("(*{type_name})(nil)")
    } else {
        format!("(*{type_name})(0xc000000000)")
    }
}

// ---------------------------------------------------------------------------------------
// Int-or-percent fields (apps validation).

/// `IsValidPercent` (apimachinery): `^[0-9]+%$`.
fn is_valid_percent(s: &str) -> Vec<String> {
    let digits = s.strip_suffix('%').unwrap_or("");
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    vec![names::regex_error(
        "a valid percent string must be a numeric string followed by an ending '%'",
        "[0-9]+%",
        &["1%", "93%"],
    )]
}

/// `intstr.IntOrString.IntValue`: a string reads as its integer, 0 when it is not one.
fn int_value(v: &IntOrString) -> i64 {
    match v {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(s) => s.parse::<i32>().map(i64::from).unwrap_or(0),
    }
}

/// `getPercentValue`.
fn percent_value(v: &IntOrString) -> Option<i64> {
    match v {
        IntOrString::String(s) if is_valid_percent(s).is_empty() => {
            s.trim_end_matches('%').parse::<i64>().ok().or(Some(0))
        }
        _ => None,
    }
}

/// `getIntOrPercentValue`.
fn int_or_percent_value(v: Option<&IntOrString>) -> i64 {
    match v {
        None => 0,
        Some(v) => percent_value(v).unwrap_or_else(|| int_value(v)),
    }
}

/// `ValidatePositiveIntOrPercent`.
fn validate_positive_int_or_percent(v: Option<&IntOrString>, path: &Path) -> ErrorList {
    match v {
        Some(IntOrString::String(s)) => is_valid_percent(s)
            .into_iter()
            .map(|msg| FieldError::invalid(path, BadValue::Raw(go_int_or_string(v)), msg))
            .collect(),
        Some(n @ IntOrString::Int(_)) => validate_nonnegative(int_value(n), path),
        None => Vec::new(),
    }
}

/// `IsNotMoreThan100Percent`.
fn is_not_more_than_100_percent(v: Option<&IntOrString>, path: &Path) -> ErrorList {
    match v.and_then(percent_value) {
        Some(p) if p > 100 => vec![FieldError::invalid(
            path,
            BadValue::Raw(go_int_or_string(v)),
            "must not be greater than 100%",
        )],
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Shared pieces.

fn template_labels(t: &PodTemplateSpec) -> Option<&BTreeMap<String, String>> {
    t.metadata.as_ref().and_then(|m| m.labels.as_ref())
}

fn template_spec(t: &PodTemplateSpec) -> std::borrow::Cow<'_, PodSpec> {
    match &t.spec {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(PodSpec::default()),
    }
}

/// `field.Invalid(<path>.metadata.labels, template.Labels, "`selector` does not match
/// template `labels`")`.
fn selector_mismatch(t: &PodTemplateSpec, path: &Path) -> FieldError {
    FieldError::invalid(
        &path.child("metadata").child("labels"),
        BadValue::Raw(go_string_map(template_labels(t))),
        "`selector` does not match template `labels`",
    )
}

/// The restartPolicy and activeDeadlineSeconds checks every controller applies to its
/// template (`kind` names the controller in the Forbidden message).
fn template_policy_checks(t: &PodTemplateSpec, path: &Path, kind: &str) -> ErrorList {
    let mut errs = Vec::new();
    let spec = template_spec(t);
    let rp = spec.restart_policy.as_deref().unwrap_or("");
    if rp != "Always" {
        errs.push(FieldError::not_supported(
            &path.child("spec").child("restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if spec.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            &path.child("spec").child("activeDeadlineSeconds"),
            format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
    errs
}

/// The `selector` checks of Deployment, ReplicaSet and StatefulSet: required, valid,
/// not empty (`kind` is the word in Go's message, "deployment" for ReplicaSets too).
fn validate_required_selector(sel: Option<&LabelSelector>, path: &Path, kind: &str) -> ErrorList {
    let mut errs = Vec::new();
    match sel {
        None => errs.push(FieldError::required(path, "")),
        Some(s) => {
            errs.extend(meta::validate_label_selector(
                Some(s),
                meta::LabelSelectorValidationOptions::default(),
                path,
            ));
            let n = s.match_labels.as_ref().map_or(0, BTreeMap::len)
                + s.match_expressions.as_ref().map_or(0, Vec::len);
            if n == 0 {
                errs.push(FieldError::invalid(
                    path,
                    go_label_selector(Some(s)),
                    format!("empty selector is invalid for {kind}"),
                ));
            }
        }
    }
    errs
}

/// `ValidatePodTemplateSpecForReplicaSet` (apps validation.go).
fn validate_template_for_replica_set(
    t: &PodTemplateSpec,
    selector: &Selector,
    path: &Path,
) -> ErrorList {
    let mut errs = Vec::new();
    if !selector.is_empty() && !selector.matches(template_labels(t)) {
        errs.push(selector_mismatch(t, path));
    }
    errs.extend(validate_pod_template_spec(t, path));
    errs.extend(template_policy_checks(t, path, "ReplicaSet"));
    errs
}

fn object_meta(m: &ObjectMeta, name_fn: super::meta::ValidateNameFunc) -> ErrorList {
    meta::validate_object_meta(m, true, name_fn, &Path::new("metadata"))
}

// ---------------------------------------------------------------------------------------
// Deployment.

/// `ValidateDeploymentStrategy` (apps validation.go), with `ValidateRollingUpdateDeployment`.
fn validate_deployment_strategy(s: Option<&DeploymentStrategy>, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let default = DeploymentStrategy::default();
    let s = s.unwrap_or(&default);
    match s.type_.as_deref().unwrap_or("") {
        "Recreate" => {
            if s.rolling_update.is_some() {
                errs.push(FieldError::forbidden(
                    &path.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match &s.rolling_update {
            None => errs.push(FieldError::required(
                &path.child("rollingUpdate"),
                "this should be defaulted and never be nil",
            )),
            Some(ru) => {
                let p = path.child("rollingUpdate");
                let mu = ru.max_unavailable.as_ref();
                let ms = ru.max_surge.as_ref();
                errs.extend(validate_positive_int_or_percent(
                    mu,
                    &p.child("maxUnavailable"),
                ));
                errs.extend(validate_positive_int_or_percent(ms, &p.child("maxSurge")));
                if int_or_percent_value(mu) == 0 && int_or_percent_value(ms) == 0 {
                    errs.push(FieldError::invalid(
                        &p.child("maxUnavailable"),
                        BadValue::Raw(go_int_or_string(mu)),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                errs.extend(is_not_more_than_100_percent(mu, &p.child("maxUnavailable")));
            }
        },
        other => errs.push(FieldError::not_supported(
            path,
            BadValue::Raw(format!(
                "apps.DeploymentStrategy{{Type:{}, RollingUpdate:{}}}",
                go_quote(other),
                go_pointer("apps.RollingUpdateDeployment", s.rolling_update.is_none())
            )),
            &["Recreate", "RollingUpdate"],
        )),
    }
    errs
}

/// `ValidateDeploymentSpec` (apps validation.go).
pub fn validate_deployment_spec(spec: &DeploymentSpec, path: &Path) -> ErrorList {
    let mut errs = validate_nonnegative(spec.replicas.unwrap_or(0).into(), &path.child("replicas"));
    let sel = given(&spec.selector);
    errs.extend(validate_required_selector(
        sel,
        &path.child("selector"),
        "deployment",
    ));
    match label_selector_as_selector(sel) {
        None => errs.push(FieldError::invalid(
            &path.child("selector"),
            go_label_selector(sel),
            "invalid label selector",
        )),
        Some(selector) => errs.extend(validate_template_for_replica_set(
            &spec.template,
            &selector,
            &path.child("template"),
        )),
    }
    errs.extend(validate_deployment_strategy(
        spec.strategy.as_ref(),
        &path.child("strategy"),
    ));
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    errs.extend(validate_nonnegative(
        min_ready.into(),
        &path.child("minReadySeconds"),
    ));
    if let Some(rhl) = spec.revision_history_limit {
        errs.extend(validate_nonnegative(
            rhl.into(),
            &path.child("revisionHistoryLimit"),
        ));
    }
    if let Some(pds) = spec.progress_deadline_seconds {
        errs.extend(validate_nonnegative(
            pds.into(),
            &path.child("progressDeadlineSeconds"),
        ));
        if pds <= min_ready {
            errs.push(FieldError::invalid(
                &path.child("progressDeadlineSeconds"),
                pds,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

/// `ValidateDeployment` (apps validation.go).
pub fn validate_deployment(o: &Deployment, _opts: &Options) -> ErrorList {
    let mut errs = object_meta(&o.metadata, super::meta::name_is_dns_subdomain);
    let default = DeploymentSpec::default();
    errs.extend(validate_deployment_spec(
        o.spec.as_ref().unwrap_or(&default),
        &Path::new("spec"),
    ));
    errs
}

// ---------------------------------------------------------------------------------------
// ReplicaSet.

/// `ValidateReplicaSetSpec` (apps validation.go).
pub fn validate_replica_set_spec(spec: &ReplicaSetSpec, path: &Path) -> ErrorList {
    let mut errs = validate_nonnegative(spec.replicas.unwrap_or(0).into(), &path.child("replicas"));
    errs.extend(validate_nonnegative(
        spec.min_ready_seconds.unwrap_or(0).into(),
        &path.child("minReadySeconds"),
    ));
    let sel = given(&spec.selector);
    // Go's message says "deployment" for ReplicaSets too.
    errs.extend(validate_required_selector(
        sel,
        &path.child("selector"),
        "deployment",
    ));
    match label_selector_as_selector(sel) {
        None => errs.push(FieldError::invalid(
            &path.child("selector"),
            go_label_selector(sel),
            "invalid label selector",
        )),
        Some(selector) => match &spec.template {
            None => errs.push(FieldError::required(&path.child("template"), "")),
            Some(t) => {
                errs.extend(validate_template_for_replica_set(
                    t,
                    &selector,
                    &path.child("template"),
                ));
            }
        },
    }
    errs
}

/// `ValidateReplicaSet` (apps validation.go).
pub fn validate_replica_set(o: &ReplicaSet, _opts: &Options) -> ErrorList {
    let mut errs = object_meta(&o.metadata, super::meta::name_is_dns_subdomain);
    let default = ReplicaSetSpec::default();
    errs.extend(validate_replica_set_spec(
        o.spec.as_ref().unwrap_or(&default),
        &Path::new("spec"),
    ));
    errs
}

// ---------------------------------------------------------------------------------------
// StatefulSet.

/// `ValidateStatefulSetSpec` (apps validation.go). Since 1.34 (kubernetes#131790) the
/// template is validated as a pod template on create, with one volume per
/// volumeClaimTemplate added for the mounts to refer to.
pub fn validate_stateful_set_spec(spec: &StatefulSetSpec, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    match spec.pod_management_policy.as_deref().unwrap_or("") {
        "" => errs.push(FieldError::required(&path.child("podManagementPolicy"), "")),
        "OrderedReady" | "Parallel" => {}
        other => errs.push(FieldError::invalid(
            &path.child("podManagementPolicy"),
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    let us = spec.update_strategy.clone().unwrap_or_default();
    let us_path = path.child("updateStrategy");
    match us.type_.as_deref().unwrap_or("") {
        "" => errs.push(FieldError::required(&us_path, "")),
        "OnDelete" => {
            if let Some(ru) = &us.rolling_update {
                errs.push(FieldError::invalid(
                    &us_path.child("rollingUpdate"),
                    BadValue::Raw(format!(
                        "apps.RollingUpdateStatefulSetStrategy{{Partition:{}, MaxUnavailable:{}}}",
                        ru.partition.unwrap_or(0),
                        go_pointer("intstr.IntOrString", ru.max_unavailable.is_none())
                    )),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = &us.rolling_update {
                let p = us_path.child("rollingUpdate");
                errs.extend(validate_nonnegative(
                    ru.partition.unwrap_or(0).into(),
                    &p.child("partition"),
                ));
                if let Some(mu) = ru.max_unavailable.as_ref() {
                    let mp = p.child("maxUnavailable");
                    errs.extend(validate_positive_int_or_percent(Some(mu), &mp));
                    if int_or_percent_value(Some(mu)) == 0 {
                        errs.push(FieldError::invalid(
                            &mp,
                            BadValue::Raw(go_int_or_string(Some(mu))),
                            "cannot be 0",
                        ));
                    }
                    errs.extend(is_not_more_than_100_percent(Some(mu), &mp));
                }
            }
        }
        other => errs.push(FieldError::invalid(
            &us_path,
            BadValue::Raw(format!(
                "apps.StatefulSetUpdateStrategy{{Type:{}, RollingUpdate:{}}}",
                go_quote(other),
                go_pointer(
                    "apps.RollingUpdateStatefulSetStrategy",
                    us.rolling_update.is_none()
                )
            )),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    if let Some(policy) = &spec.persistent_volume_claim_retention_policy {
        let p = path.child("persistentVolumeClaimRetentionPolicy");
        for (value, name) in [
            (policy.when_deleted.as_deref(), "whenDeleted"),
            (policy.when_scaled.as_deref(), "whenScaled"),
        ] {
            let v = value.unwrap_or("");
            if v != "Retain" && v != "Delete" {
                errs.push(FieldError::not_supported(
                    &p.child(name),
                    v,
                    &["Retain", "Delete"],
                ));
            }
        }
    }
    errs.extend(validate_nonnegative(
        spec.replicas.unwrap_or(0).into(),
        &path.child("replicas"),
    ));
    errs.extend(validate_nonnegative(
        spec.min_ready_seconds.unwrap_or(0).into(),
        &path.child("minReadySeconds"),
    ));
    if let Some(ord) = &spec.ordinals {
        // Go builds this path with Child("ordinals.start").
        errs.extend(validate_nonnegative(
            ord.start.unwrap_or(0).into(),
            &path.child("ordinals.start"),
        ));
    }
    let sel = given(&spec.selector);
    errs.extend(validate_required_selector(
        sel,
        &path.child("selector"),
        "statefulset",
    ));
    let tpath = path.child("template");
    match label_selector_as_selector(sel) {
        None => errs.push(FieldError::invalid(
            &path.child("selector"),
            go_label_selector(sel),
            "",
        )),
        Some(selector) => {
            if !selector.is_empty() && !selector.matches(template_labels(&spec.template)) {
                errs.push(selector_mismatch(&spec.template, &tpath));
            }
            let claims: Vec<&str> = spec
                .volume_claim_templates
                .iter()
                .flatten()
                .filter_map(|c| c.metadata.name.as_deref())
                .collect();
            errs.extend(validate_pod_template_spec_with_volumes(
                &spec.template,
                &tpath,
                &claims,
            ));
        }
    }
    errs.extend(template_policy_checks(
        &spec.template,
        &tpath,
        "StatefulSet",
    ));
    errs
}

/// `ValidateStatefulSet` (apps validation.go): the name must be a DNS label.
pub fn validate_stateful_set(o: &StatefulSet, _opts: &Options) -> ErrorList {
    let mut errs = object_meta(&o.metadata, super::meta::name_is_dns_label);
    let default = StatefulSetSpec::default();
    errs.extend(validate_stateful_set_spec(
        o.spec.as_ref().unwrap_or(&default),
        &Path::new("spec"),
    ));
    errs
}

// ---------------------------------------------------------------------------------------
// DaemonSet.

/// `ValidateDaemonSetSpec` (apps validation.go), with `ValidateDaemonSetUpdateStrategy`
/// and `ValidateRollingUpdateDaemonSet`.
pub fn validate_daemon_set_spec(spec: &DaemonSetSpec, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let sel = given(&spec.selector);
    errs.extend(meta::validate_label_selector(
        sel,
        meta::LabelSelectorValidationOptions::default(),
        &path.child("selector"),
    ));
    let tpath = path.child("template");
    if let Some(selector) = label_selector_as_selector(sel)
        && !selector.matches(template_labels(&spec.template))
    {
        errs.push(selector_mismatch(&spec.template, &tpath));
    }
    if let Some(s) = sel {
        let n = s.match_labels.as_ref().map_or(0, BTreeMap::len)
            + s.match_expressions.as_ref().map_or(0, Vec::len);
        if n == 0 {
            errs.push(FieldError::invalid(
                &path.child("selector"),
                go_label_selector(Some(s)),
                "empty selector is invalid for daemonset",
            ));
        }
    }
    errs.extend(validate_pod_template_spec(&spec.template, &tpath));
    errs.extend(template_policy_checks(&spec.template, &tpath, "DaemonSet"));
    errs.extend(validate_nonnegative(
        spec.min_ready_seconds.unwrap_or(0).into(),
        &path.child("minReadySeconds"),
    ));
    let us = spec.update_strategy.clone().unwrap_or_default();
    let us_path = path.child("updateStrategy");
    match us.type_.as_deref().unwrap_or("") {
        "OnDelete" => {}
        "RollingUpdate" => match &us.rolling_update {
            None => errs.push(FieldError::required(&us_path.child("rollingUpdate"), "")),
            Some(ru) => {
                let p = us_path.child("rollingUpdate");
                let mu = ru.max_unavailable.as_ref();
                let ms = ru.max_surge.as_ref();
                errs.extend(validate_positive_int_or_percent(
                    mu,
                    &p.child("maxUnavailable"),
                ));
                errs.extend(validate_positive_int_or_percent(ms, &p.child("maxSurge")));
                errs.extend(is_not_more_than_100_percent(mu, &p.child("maxUnavailable")));
                errs.extend(is_not_more_than_100_percent(ms, &p.child("maxSurge")));
                let has_unavailable = int_or_percent_value(mu) != 0;
                let has_surge = int_or_percent_value(ms) != 0;
                if has_unavailable && has_surge {
                    errs.push(FieldError::invalid(
                        &p.child("maxSurge"),
                        BadValue::Raw(go_int_or_string(ms)),
                        "may not be set when maxUnavailable is non-zero",
                    ));
                } else if !has_unavailable && !has_surge {
                    errs.push(FieldError::required(
                        &p.child("maxUnavailable"),
                        "cannot be 0 when maxSurge is 0",
                    ));
                }
            }
        },
        other => errs.push(FieldError::not_supported(
            &us_path,
            BadValue::Raw(format!(
                "apps.DaemonSetUpdateStrategy{{Type:{}, RollingUpdate:{}}}",
                go_quote(other),
                go_pointer("apps.RollingUpdateDaemonSet", us.rolling_update.is_none())
            )),
            &["RollingUpdate", "OnDelete"],
        )),
    }
    if let Some(rhl) = spec.revision_history_limit {
        errs.extend(validate_nonnegative(
            rhl.into(),
            &path.child("revisionHistoryLimit"),
        ));
    }
    errs
}

/// `ValidateDaemonSet` (apps validation.go).
pub fn validate_daemon_set(o: &DaemonSet, _opts: &Options) -> ErrorList {
    let mut errs = object_meta(&o.metadata, super::meta::name_is_dns_subdomain);
    let default = DaemonSetSpec::default();
    errs.extend(validate_daemon_set_spec(
        o.spec.as_ref().unwrap_or(&default),
        &Path::new("spec"),
    ));
    errs
}

// ---------------------------------------------------------------------------------------
// ReplicationController.

/// `ValidateReplicationController` / `ValidateReplicationControllerSpec` /
/// `ValidatePodTemplateSpecForRC` (core validation.go). The selector is a plain map,
/// matched exactly (`labels.Set(selector).AsSelector()`).
pub fn validate_replication_controller(o: &ReplicationController, _opts: &Options) -> ErrorList {
    let mut errs = object_meta(&o.metadata, super::meta::name_is_dns_subdomain);
    let path = Path::new("spec");
    let default = Default::default();
    let spec = o.spec.as_ref().unwrap_or(&default);
    errs.extend(validate_nonnegative(
        spec.min_ready_seconds.unwrap_or(0).into(),
        &path.child("minReadySeconds"),
    ));
    let selector = spec.selector.as_ref().filter(|s| !s.is_empty());
    if selector.is_none() {
        errs.push(FieldError::required(&path.child("selector"), ""));
    }
    errs.extend(validate_nonnegative(
        spec.replicas.unwrap_or(0).into(),
        &path.child("replicas"),
    ));
    let tpath = path.child("template");
    match &spec.template {
        None => errs.push(FieldError::required(&tpath, "")),
        Some(t) => {
            if let Some(sel) = selector {
                let labels = template_labels(t);
                let matches = sel
                    .iter()
                    .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
                if !matches {
                    errs.push(selector_mismatch(t, &tpath));
                }
            }
            errs.extend(validate_pod_template_spec(t, &tpath));
            errs.extend(template_policy_checks(t, &tpath, "ReplicationController"));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::pod as defaults;
    use serde_json::json;

    fn msgs(errs: ErrorList) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    fn deployment(v: serde_json::Value) -> Vec<String> {
        let mut d: Deployment = serde_json::from_value(v).unwrap();
        d.metadata.namespace = Some("default".into());
        defaults::default_deployment(&mut d);
        msgs(validate_deployment(&d, &Options::default()))
    }

    fn template(labels: serde_json::Value) -> serde_json::Value {
        json!({"metadata": {"labels": labels},
               "spec": {"containers": [{"name": "web", "image": "nginx"}]}})
    }

    #[test]
    fn valid_deployment() {
        let errs = deployment(json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": template(json!({"app": "web", "tier": "fe"}))}
        }));
        assert_eq!(errs, Vec::<String>::new());
    }

    #[test]
    fn selector_mismatch_message() {
        let errs = deployment(json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": template(json!({"tier": "fe", "app": "api"}))}
        }));
        assert_eq!(
            errs,
            vec![
                r#"spec.template.metadata.labels: Invalid value: map[string]string{"app":"api", "tier":"fe"}: `selector` does not match template `labels`"#
            ]
        );
    }

    #[test]
    fn missing_selector_reports_both_errors() {
        let errs = deployment(json!({
            "metadata": {"name": "web"},
            "spec": {"template": template(json!({"app": "web"}))}
        }));
        assert_eq!(
            errs,
            vec![
                "spec.selector: Required value".to_string(),
                r#"spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`"#.to_string(),
            ]
        );
    }

    #[test]
    fn empty_selector_and_strategy() {
        let errs = deployment(json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {}},
                     "strategy": {"type": "BlueGreen"},
                     "replicas": -1,
                     "template": template(json!({"app": "web"}))}
        }));
        assert_eq!(
            errs,
            vec![
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
                r#"spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", "RollingUpdate""#,
            ]
        );
    }

    #[test]
    fn rolling_update_values() {
        let errs = deployment(json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "150%"}},
                     "template": template(json!({"app": "web"}))}
        }));
        assert_eq!(
            errs,
            vec![
                r#"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%"#
            ]
        );
        let errs = deployment(json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}},
                     "template": template(json!({"app": "web"}))}
        }));
        assert_eq!(
            errs,
            vec![
                r#"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"0%"}: may not be 0 when `maxSurge` is 0"#
            ]
        );
    }

    #[test]
    fn template_container_errors_have_template_paths() {
        let errs = deployment(json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "web", "ports": [{"containerPort": 70000}]}]}}}
        }));
        assert_eq!(
            errs,
            vec![
                "spec.template.spec.containers[0].image: Required value",
                "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                r#"spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always""#,
            ]
        );
    }

    #[test]
    fn stateful_set_and_daemon_set() {
        let mut s: StatefulSet = serde_json::from_value(json!({
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "db"}},
                     "serviceName": "db",
                     "podManagementPolicy": "Sequential",
                     "template": template(json!({"app": "db"}))}
        }))
        .unwrap();
        defaults::default_stateful_set(&mut s);
        assert_eq!(
            msgs(validate_stateful_set(&s, &Options::default())),
            vec![
                r#"spec.podManagementPolicy: Invalid value: "Sequential": must be 'OrderedReady' or 'Parallel'"#
            ]
        );

        let mut d: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": "agent", "namespace": "default"},
            "spec": {"template": template(json!({"app": "agent"}))}
        }))
        .unwrap();
        defaults::default_daemon_set(&mut d);
        assert_eq!(
            msgs(validate_daemon_set(&d, &Options::default())),
            vec![
                r#"spec.template.metadata.labels: Invalid value: map[string]string{"app":"agent"}: `selector` does not match template `labels`"#
            ]
        );
    }

    #[test]
    fn replication_controller() {
        let mut rc: ReplicationController = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "template": template(json!({"app": "other"}))}
        }))
        .unwrap();
        defaults::default_replication_controller(&mut rc);
        assert_eq!(
            msgs(validate_replication_controller(&rc, &Options::default())),
            vec![
                r#"spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`"#
            ]
        );
        let mut rc: ReplicationController = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"template": template(json!({"app": "web"}))}
        }))
        .unwrap();
        defaults::default_replication_controller(&mut rc);
        assert!(validate_replication_controller(&rc, &Options::default()).is_empty());
    }
}
