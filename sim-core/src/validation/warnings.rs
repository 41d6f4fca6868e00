//! The API server's warnings: what `kubectl apply` prints as `Warning: ...` for an object
//! it accepts (Kubernetes 1.34).
//!
//! - Pods and pod templates: `pkg/api/pod/warnings.go` (`warningsForPodSpecAndMeta`):
//!   deprecated node labels in nodeSelector, node affinity and topology spread
//!   constraints (`pkg/api/node/util.go`), a topology spread constraint or pod
//!   (anti-)affinity term without a labelSelector, deprecated annotations, deprecated and
//!   removed volume plugins, duplicate hostAliases IPs and imagePullSecrets, an empty
//!   imagePullSecret name, fractional memory, seccomp and AppArmor annotations without
//!   their fields, an env var that hides a previous one, a port declared twice across
//!   the pod's containers (duplicate, overlapping, ambiguous), `hostIP` without
//!   `hostPort`, a negative `terminationGracePeriodSeconds`.
//! - Services: `pkg/api/service/warnings.go` (`GetWarningsForService`): the deprecated
//!   topology-aware-hints annotation, IPs and CIDRs in non-standard forms
//!   (apimachinery's `GetWarningsForIP` / `GetWarningsForCIDR`), fields a headless or
//!   ExternalName Service ignores, `externalName` on another type. (The warnings that
//!   `spec.externalIPs` and `trafficDistribution: PreferClose` are deprecated came in
//!   1.35 and 1.36: not here.)
//! - Endpoints: `v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1
//!   EndpointSlice` (kubectl prints it once per run), and its addresses' IP forms.
//! - NetworkPolicy: `ipBlock` CIDRs in non-standard forms
//!   (`pkg/api/networkpolicy/warnings.go`).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use k8s_openapi::api::core::v1::{Container, ContainerPort, PodSpec, Service};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::field::{Path, go_quote};
use super::names;
use crate::objects::Object;

/// One warning: the text kubectl prints after `Warning: `, and the field it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub field: Option<String>,
    pub message: String,
}

impl Warning {
    fn at(path: &Path, message: String) -> Warning {
        Warning {
            field: Some(path.to_string()),
            message,
        }
    }
}

/// The message of the v1 Endpoints API deprecation (Kubernetes 1.33+).
pub const ENDPOINTS_DEPRECATED: &str =
    "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice";

/// The warnings the API server returns for creating `object` (defaulted, valid).
pub fn warnings(object: &Object) -> Vec<Warning> {
    match object {
        Object::Pod(p) => p
            .spec
            .as_ref()
            .map(|s| pod_spec(None, s, &p.metadata))
            .unwrap_or_default(),
        Object::Deployment(d) => d
            .spec
            .as_ref()
            .map(|s| template(&s.template))
            .unwrap_or_default(),
        Object::StatefulSet(d) => d
            .spec
            .as_ref()
            .map(|s| template(&s.template))
            .unwrap_or_default(),
        Object::DaemonSet(d) => d
            .spec
            .as_ref()
            .map(|s| template(&s.template))
            .unwrap_or_default(),
        Object::ReplicaSet(r) => r
            .spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .map(template)
            .unwrap_or_default(),
        Object::ReplicationController(r) => r
            .spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .map(template)
            .unwrap_or_default(),
        Object::Service(s) => service(s),
        Object::Endpoints(e) => endpoints(e),
        Object::NetworkPolicy(n) => network_policy(n),
        _ => Vec::new(),
    }
}

fn template(t: &k8s_openapi::api::core::v1::PodTemplateSpec) -> Vec<Warning> {
    let meta = t.metadata.clone().unwrap_or_default();
    match &t.spec {
        Some(spec) => pod_spec(Some(Path::new("spec").child("template")), spec, &meta),
        None => Vec::new(),
    }
}

/// `pkg/api/node/util.go` `deprecatedNodeLabels`.
fn deprecated_node_label(key: &str) -> Option<&'static str> {
    Some(match key {
        "beta.kubernetes.io/arch" => r#"deprecated since v1.14; use "kubernetes.io/arch" instead"#,
        "beta.kubernetes.io/os" => r#"deprecated since v1.14; use "kubernetes.io/os" instead"#,
        "failure-domain.beta.kubernetes.io/region" => {
            r#"deprecated since v1.17; use "topology.kubernetes.io/region" instead"#
        }
        "failure-domain.beta.kubernetes.io/zone" => {
            r#"deprecated since v1.17; use "topology.kubernetes.io/zone" instead"#
        }
        "beta.kubernetes.io/instance-type" => {
            r#"deprecated since v1.17; use "node.kubernetes.io/instance-type" instead"#
        }
        "app.kubernetes.io/created-by" => "deprecated since v1.9",
        "scheduler.alpha.kubernetes.io/preferAvoidPods" => {
            "deprecated since v1.22; use Taints and Tolerations instead"
        }
        "node-role.kubernetes.io/master" => {
            r#"use "node-role.kubernetes.io/control-plane" instead"#
        }
        _ => return None,
    })
}

/// `warningsForPodSpecAndMeta`; `prefix` is `spec.template` for a template (the
/// Go fieldPath), `None` for a Pod.
fn pod_spec(prefix: Option<Path>, spec: &PodSpec, meta: &ObjectMeta) -> Vec<Warning> {
    let root = |first: &str| match &prefix {
        Some(p) => p.child(first),
        None => Path::new(first),
    };
    let spec_path = root("spec");
    let mut out = Vec::new();

    for k in spec.node_selector.iter().flatten().map(|(k, _)| k) {
        if let Some(msg) = deprecated_node_label(k) {
            let p = spec_path.child("nodeSelector").key(k);
            out.push(Warning::at(&p, format!("{p}: {msg}")));
        }
    }
    if let Some(na) = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
    {
        let terms_path = spec_path
            .child("affinity")
            .child("nodeAffinity")
            .child("requiredDuringSchedulingIgnoredDuringExecution")
            .child("nodeSelectorTerms");
        for (i, term) in na
            .required_during_scheduling_ignored_during_execution
            .iter()
            .flat_map(|r| r.node_selector_terms.iter())
            .enumerate()
        {
            node_selector_term(term, &terms_path.index(i), &mut out);
        }
        let preferred = spec_path
            .child("affinity")
            .child("nodeAffinity")
            .child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, t) in na
            .preferred_during_scheduling_ignored_during_execution
            .iter()
            .flatten()
            .enumerate()
        {
            node_selector_term(
                &t.preference,
                &preferred.index(i).child("preference"),
                &mut out,
            );
        }
    }
    for (i, t) in spec
        .topology_spread_constraints
        .iter()
        .flatten()
        .enumerate()
    {
        let p = spec_path.child("topologySpreadConstraints").index(i);
        if let Some(msg) = deprecated_node_label(&t.topology_key) {
            let kp = p.child("topologyKey");
            out.push(Warning::at(
                &kp,
                format!("{kp}: {} is {msg}", t.topology_key),
            ));
        }
        if t.label_selector.is_none() {
            let lp = p.child("labelSelector");
            out.push(Warning::at(
                &lp,
                format!("{lp}: a null labelSelector results in matching no pod"),
            ));
        }
    }

    let annotations = meta.annotations.clone().unwrap_or_default();
    for (key, msg) in [
        (
            "scheduler.alpha.kubernetes.io/critical-pod",
            r#"non-functional in v1.16+; use the "priorityClassName" field instead"#,
        ),
        (
            "security.alpha.kubernetes.io/sysctls",
            r#"non-functional in v1.11+; use the "sysctls" field instead"#,
        ),
        (
            "security.alpha.kubernetes.io/unsafe-sysctls",
            r#"non-functional in v1.11+; use the "sysctls" field instead"#,
        ),
    ] {
        if annotations.contains_key(key) {
            let p = root("metadata").child("annotations").key(key);
            out.push(Warning::at(&p, format!("{p}: {msg}")));
        }
    }

    volumes(spec, &spec_path, &mut out);
    duplicates(spec, &spec_path, &mut out);

    let sc = spec.security_context.as_ref();
    if sc.and_then(|s| s.seccomp_profile.as_ref()).is_none()
        && annotations.contains_key("seccomp.security.alpha.kubernetes.io/pod")
    {
        let p = root("metadata")
            .child("annotations")
            .key("seccomp.security.alpha.kubernetes.io/pod");
        out.push(Warning::at(
            &p,
            format!(r#"{p}: non-functional in v1.27+; use the "seccompProfile" field instead"#),
        ));
    }
    let pod_apparmor = sc.and_then(|s| s.app_armor_profile.as_ref()).is_some();

    let containers = all_containers(spec, &spec_path);
    for (c, p) in &containers {
        let csc = c.security_context.as_ref();
        let seccomp_key = format!("container.seccomp.security.alpha.kubernetes.io/{}", c.name);
        if csc.and_then(|s| s.seccomp_profile.as_ref()).is_none()
            && annotations.contains_key(&seccomp_key)
        {
            let ap = root("metadata").child("annotations").key(&seccomp_key);
            out.push(Warning::at(
                &ap,
                format!(
                    r#"{ap}: non-functional in v1.27+; use the "seccompProfile" field instead"#
                ),
            ));
        }
        // A Pod's AppArmor annotations are answered by applyAppArmorVersionSkew, not here.
        let apparmor_key = format!("container.apparmor.security.beta.kubernetes.io/{}", c.name);
        if prefix.is_some()
            && !pod_apparmor
            && csc.and_then(|s| s.app_armor_profile.as_ref()).is_none()
            && annotations.contains_key(&apparmor_key)
        {
            let ap = root("metadata").child("annotations").key(&apparmor_key);
            out.push(Warning::at(
                &ap,
                format!(r#"{ap}: deprecated since v1.30; use the "appArmorProfile" field instead"#),
            ));
        }
        fractional_memory(c, p, &mut out);
        hidden_env(c, p, &mut out);
    }
    ports(&containers, &mut out);

    if spec.termination_grace_period_seconds.is_some_and(|g| g < 0) {
        let p = spec_path.child("terminationGracePeriodSeconds");
        out.push(Warning::at(
            &p,
            format!("{p}: must be >= 0; negative values are invalid and will be treated as 1"),
        ));
    }
    if let Some(a) = &spec.affinity {
        for (kind, terms) in [
            (
                "podAffinity",
                a.pod_affinity.as_ref().map(|p| {
                    (
                        &p.required_during_scheduling_ignored_during_execution,
                        &p.preferred_during_scheduling_ignored_during_execution,
                    )
                }),
            ),
            (
                "podAntiAffinity",
                a.pod_anti_affinity.as_ref().map(|p| {
                    (
                        &p.required_during_scheduling_ignored_during_execution,
                        &p.preferred_during_scheduling_ignored_during_execution,
                    )
                }),
            ),
        ] {
            let Some((required, preferred)) = terms else {
                continue;
            };
            let base = spec_path.child("affinity").child(kind);
            for (i, t) in required.iter().flatten().enumerate() {
                if t.label_selector.is_none() {
                    let p = base
                        .child("requiredDuringSchedulingIgnoredDuringExecution")
                        .index(i)
                        .child("labelSelector");
                    out.push(Warning::at(
                        &p,
                        format!("{p}: a null labelSelector results in matching no pod"),
                    ));
                }
            }
            for (i, t) in preferred.iter().flatten().enumerate() {
                if t.pod_affinity_term.label_selector.is_none() {
                    let p = base
                        .child("preferredDuringSchedulingIgnoredDuringExecution")
                        .index(i)
                        .child("podAffinityTerm")
                        .child("labelSelector");
                    out.push(Warning::at(
                        &p,
                        format!("{p}: a null labelSelector results in matching no pod"),
                    ));
                }
            }
        }
    }
    out
}

fn node_selector_term(
    term: &k8s_openapi::api::core::v1::NodeSelectorTerm,
    path: &Path,
    out: &mut Vec<Warning>,
) {
    for (i, e) in term.match_expressions.iter().flatten().enumerate() {
        if let Some(msg) = deprecated_node_label(&e.key) {
            let p = path.child("matchExpressions").index(i).child("key");
            out.push(Warning::at(&p, format!("{p}: {} is {msg}", e.key)));
        }
    }
}

/// `pods.VisitContainersWithPath`: init containers, then containers (ephemeral ones are
/// not in a created pod).
fn all_containers<'a>(spec: &'a PodSpec, spec_path: &Path) -> Vec<(&'a Container, Path)> {
    let mut v: Vec<(&Container, Path)> = spec
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| (c, spec_path.child("initContainers").index(i)))
        .collect();
    v.extend(
        spec.containers
            .iter()
            .enumerate()
            .map(|(i, c)| (c, spec_path.child("containers").index(i))),
    );
    v
}

fn volumes(spec: &PodSpec, spec_path: &Path, out: &mut Vec<Warning>) {
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let base = spec_path.child("volumes").index(i);
        let mut warn = |field: &str, msg: &str| {
            let p = base.child(field);
            out.push(Warning::at(&p, format!("{p}: {msg}")));
        };
        if v.photon_persistent_disk.is_some() {
            warn(
                "photonPersistentDisk",
                "deprecated in v1.11, non-functional in v1.16+",
            );
        }
        if v.git_repo.is_some() {
            warn("gitRepo", "deprecated in v1.11");
        }
        if v.scale_io.is_some() {
            warn("scaleIO", "deprecated in v1.16, non-functional in v1.22+");
        }
        if v.flocker.is_some() {
            warn("flocker", "deprecated in v1.22, non-functional in v1.25+");
        }
        if v.storageos.is_some() {
            warn("storageOS", "deprecated in v1.22, non-functional in v1.25+");
        }
        if v.quobyte.is_some() {
            warn("quobyte", "deprecated in v1.22, non-functional in v1.25+");
        }
        if v.glusterfs.is_some() {
            warn("glusterfs", "deprecated in v1.25, non-functional in v1.26+");
        }
        if v.cephfs.is_some() {
            warn("cephfs", "deprecated in v1.28, non-functional in v1.31+");
        }
        if v.rbd.is_some() {
            warn("rbd", "deprecated in v1.28, non-functional in v1.31+");
        }
    }
}

fn duplicates(spec: &PodSpec, spec_path: &Path, out: &mut Vec<Warning>) {
    let aliases = spec.host_aliases.as_deref().unwrap_or(&[]);
    if aliases.len() > 1 {
        let mut seen = BTreeSet::new();
        for (i, a) in aliases.iter().enumerate() {
            if !seen.insert(a.ip.as_str()) {
                let p = spec_path.child("hostAliases").index(i).child("ip");
                out.push(Warning::at(
                    &p,
                    format!("{p}: duplicate ip {}", go_quote(&a.ip)),
                ));
            }
        }
    }
    let secrets = spec.image_pull_secrets.as_deref().unwrap_or(&[]);
    if secrets.len() > 1 {
        let mut seen = BTreeSet::new();
        for (i, s) in secrets.iter().enumerate() {
            if !seen.insert(s.name.as_str()) {
                let p = spec_path.child("imagePullSecrets").index(i).child("name");
                out.push(Warning::at(
                    &p,
                    format!("{p}: duplicate name {}", go_quote(&s.name)),
                ));
            }
        }
    }
    for (i, s) in secrets.iter().enumerate() {
        if s.name.is_empty() {
            let p = spec_path.child("imagePullSecrets").index(i).child("name");
            out.push(Warning::at(&p, format!("{p}: invalid empty name \"\"")));
        }
    }
}

/// Whether a quantity is a whole number of bytes (`MilliValue() % 1000 == 0`).
fn fractional(q: &Quantity) -> bool {
    let s = q.0.trim();
    // Integer forms (`128Mi`, `1G`, `1e3`, `500`) are whole; a `m` suffix or a decimal
    // point that does not scale to a whole number is not.
    if let Some(milli) = s.strip_suffix('m') {
        return milli.parse::<i64>().map_or(true, |n| n % 1000 != 0);
    }
    match s.split_once('.') {
        None => false,
        Some((_, rest)) => {
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            let suffix = &rest[digits.len()..];
            let scale_digits: u32 = match suffix {
                "" => 0,
                "k" | "K" => 3,
                "M" => 6,
                "G" => 9,
                "T" => 12,
                "P" => 15,
                "E" => 18,
                "Ki" => 10,
                "Mi" => 20,
                "Gi" => 30,
                "Ti" => 40,
                "Pi" => 50,
                "Ei" => 60,
                _ => return false,
            };
            let frac: u64 = digits.trim_end_matches('0').parse().unwrap_or(0);
            if frac == 0 {
                return false;
            }
            let places = u32::try_from(digits.trim_end_matches('0').len()).unwrap_or(0);
            if suffix.ends_with('i') {
                // frac / 10^places * 2^scale must be whole.
                let num = u128::from(frac) << scale_digits;
                !num.is_multiple_of(10u128.pow(places))
            } else {
                places > scale_digits
            }
        }
    }
}

fn fractional_memory(c: &Container, p: &Path, out: &mut Vec<Warning>) {
    let Some(r) = &c.resources else {
        return;
    };
    for (which, list) in [("limits", &r.limits), ("requests", &r.requests)] {
        for name in ["memory", "ephemeral-storage"] {
            if let Some(q) = list.as_ref().and_then(|l| l.get(name))
                && fractional(q)
            {
                let fp = p.child("resources").child(which).key(name);
                out.push(Warning::at(
                    &fp,
                    format!(
                        "{fp}: fractional byte value {} is invalid, must be an integer",
                        go_quote(&q.0)
                    ),
                ));
            }
        }
    }
}

/// A later env var of the same name hides the earlier one (and `kubectl apply` may drop
/// one of them).
fn hidden_env(c: &Container, p: &Path, out: &mut Vec<Warning>) {
    let env = c.env.as_deref().unwrap_or(&[]);
    if env.len() < 2 {
        return;
    }
    let mut seen = BTreeSet::new();
    for (i, e) in env.iter().enumerate() {
        if !seen.insert(e.name.as_str()) {
            let r = format!("$({})", e.name);
            let value = e.value.as_deref().unwrap_or("");
            let bad = e.value_from.is_some() || value == r || !value.contains(&r);
            if bad {
                let ep = p.child("env").index(i);
                out.push(Warning::at(
                    &ep,
                    format!(
                        "{ep}: hides previous definition of {}, which may be dropped when using apply",
                        go_quote(&e.name)
                    ),
                ));
            }
        }
    }
}

/// Go's `%+v` of a `core.ContainerPort`.
fn go_port(p: &ContainerPort) -> String {
    format!(
        "{{Name:{} HostPort:{} ContainerPort:{} Protocol:{} HostIP:{}}}",
        p.name.as_deref().unwrap_or(""),
        p.host_port.unwrap_or(0),
        p.container_port,
        p.protocol.as_deref().unwrap_or("TCP"),
        p.host_ip.as_deref().unwrap_or("")
    )
}

/// Ports across all the pod's containers: one `containerPort/protocol` declared twice.
fn ports(containers: &[(&Container, Path)], out: &mut Vec<Warning>) {
    let mut all: Vec<(String, Path, &ContainerPort)> = Vec::new();
    for (c, cp) in containers {
        for (i, port) in c.ports.iter().flatten().enumerate() {
            let pp = cp.child("ports").index(i);
            let host_ip = port.host_ip.as_deref().unwrap_or("");
            let host_port = port.host_port.unwrap_or(0);
            if !host_ip.is_empty() && host_port == 0 {
                out.push(Warning::at(
                    &pp,
                    format!("{pp}: hostIP set without hostPort: {}", go_port(port)),
                ));
            }
            let key = format!(
                "{}/{}",
                port.container_port,
                port.protocol.as_deref().unwrap_or("TCP")
            );
            for (k, other_path, other) in &all {
                if *k != key {
                    continue;
                }
                let (oip, ohp) = (
                    other.host_ip.as_deref().unwrap_or(""),
                    other.host_port.unwrap_or(0),
                );
                let what = if host_ip == oip && host_port == ohp {
                    Some("duplicate")
                } else if host_port == 0 || ohp == 0 {
                    Some("overlapping")
                } else if host_port == ohp && (host_ip.is_empty() != oip.is_empty()) {
                    Some("dangerously ambiguous")
                } else {
                    None
                };
                if let Some(what) = what {
                    out.push(Warning::at(
                        &pp,
                        format!("{pp}: {what} port definition with {other_path}"),
                    ));
                }
            }
            all.push((key, pp, port));
        }
    }
}

/// apimachinery `GetWarningsForIP`.
pub fn ip_warnings(path: &Path, value: &str) -> Vec<Warning> {
    let Some(ip) = names::parse_ip_sloppy(value) else {
        return Vec::new();
    };
    let strict: Option<IpAddr> = value.parse().ok();
    let mapped = matches!(strict, Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some());
    if strict.is_none() || mapped {
        let canonical = match (ip, mapped) {
            (IpAddr::V6(v6), true) => v6
                .to_ipv4_mapped()
                .map_or_else(|| ip.to_string(), |v4: Ipv4Addr| v4.to_string()),
            _ => ip.to_string(),
        };
        return vec![Warning::at(
            path,
            format!(
                "{path}: non-standard IP address {} will be considered invalid in a future Kubernetes release: use {}",
                go_quote(value),
                go_quote(&canonical)
            ),
        )];
    }
    if let Some(IpAddr::V6(v6)) = strict
        && v6.to_string() != value
    {
        return vec![Warning::at(
            path,
            format!(
                "{path}: IPv6 address {} should be in RFC 5952 canonical format ({})",
                go_quote(value),
                go_quote(&v6.to_string())
            ),
        )];
    }
    Vec::new()
}

/// apimachinery `GetWarningsForCIDR` (IPv4; an IPv6 CIDR only for bits past the prefix).
pub fn cidr_warnings(path: &Path, value: &str) -> Vec<Warning> {
    let Some((ip, len)) = names::parse_cidr_sloppy(value) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let IpAddr::V4(v4) = ip {
        let bits = u32::from(v4);
        let mask = if len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(len.min(32)))
        };
        let network = Ipv4Addr::from(bits & mask);
        if network != v4 {
            out.push(Warning::at(
                path,
                format!(
                    "{path}: CIDR value {} is ambiguous in this context (should be {} or {})",
                    go_quote(value),
                    go_quote(&format!("{network}/{len}")),
                    go_quote(&format!("{v4}/32"))
                ),
            ));
        }
        let strict_ok = value.split_once('/').is_some_and(|(a, l)| {
            a.parse::<Ipv4Addr>().is_ok() && !(l.len() > 1 && l.starts_with('0'))
        });
        if !strict_ok {
            out.push(Warning::at(
                path,
                format!(
                    "{path}: non-standard CIDR value {} will be considered invalid in a future Kubernetes release: use {}",
                    go_quote(value),
                    go_quote(&format!("{network}/{len}"))
                ),
            ));
        }
    }
    out
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// `GetWarningsForService` (1.34).
fn service(svc: &Service) -> Vec<Warning> {
    let mut out = Vec::new();
    let key = "service.kubernetes.io/topology-aware-hints";
    if svc
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(key))
    {
        out.push(Warning::at(
            &Path::new("metadata").child("annotations").key(key),
            format!("annotation {key} is deprecated, please use service.kubernetes.io/topology-mode instead"),
        ));
    }
    let Some(spec) = &svc.spec else {
        return out;
    };
    let spec_path = Path::new("spec");
    let ips = spec.cluster_ips.clone().unwrap_or_default();
    let ip_set = ips.first().is_some_and(|ip| ip != "None" && !ip.is_empty());
    if ip_set {
        for (i, ip) in ips.iter().enumerate() {
            out.extend(ip_warnings(&spec_path.child("clusterIPs").index(i), ip));
        }
    }
    let headless = s(&spec.type_) == "ClusterIP" && s(&spec.cluster_ip) == "None";
    if headless {
        if !s(&spec.load_balancer_ip).is_empty() {
            out.push(Warning::at(
                &spec_path.child("loadBalancerIP"),
                "spec.loadBalancerIP is ignored for headless services".into(),
            ));
        }
        if spec.external_ips.as_ref().is_some_and(|v| !v.is_empty()) {
            out.push(Warning::at(
                &spec_path.child("externalIPs"),
                "spec.externalIPs is ignored for headless services".into(),
            ));
        }
        if s(&spec.session_affinity) != "None" {
            out.push(Warning::at(
                &spec_path.child("sessionAffinity"),
                "spec.SessionAffinity is ignored for headless services".into(),
            ));
        }
    }
    for (i, ip) in spec.external_ips.iter().flatten().enumerate() {
        out.extend(ip_warnings(&spec_path.child("externalIPs").index(i), ip));
    }
    if !s(&spec.load_balancer_ip).is_empty() {
        out.extend(ip_warnings(
            &spec_path.child("loadBalancerIP"),
            s(&spec.load_balancer_ip),
        ));
    }
    for (i, c) in spec
        .load_balancer_source_ranges
        .iter()
        .flatten()
        .enumerate()
    {
        out.extend(cidr_warnings(
            &spec_path.child("loadBalancerSourceRanges").index(i),
            c,
        ));
    }
    if s(&spec.type_) == "ExternalName" && spec.external_ips.as_ref().is_some_and(|v| !v.is_empty())
    {
        out.push(Warning::at(
            &spec_path.child("externalIPs"),
            "spec.externalIPs is ignored when spec.type is \"ExternalName\"".into(),
        ));
    }
    if s(&spec.type_) != "ExternalName" && !s(&spec.external_name).is_empty() {
        out.push(Warning::at(
            &spec_path.child("externalName"),
            "spec.externalName is ignored when spec.type is not \"ExternalName\"".into(),
        ));
    }
    out
}

fn endpoints(e: &k8s_openapi::api::core::v1::Endpoints) -> Vec<Warning> {
    let mut out = vec![Warning {
        field: None,
        message: ENDPOINTS_DEPRECATED.to_string(),
    }];
    for (i, sub) in e.subsets.iter().flatten().enumerate() {
        let p = Path::new("subsets").index(i);
        for (list, field) in [
            (&sub.addresses, "addresses"),
            (&sub.not_ready_addresses, "notReadyAddresses"),
        ] {
            for (j, a) in list.iter().flatten().enumerate() {
                out.extend(ip_warnings(&p.child(field).index(j).child("ip"), &a.ip));
            }
        }
    }
    out
}

fn network_policy(n: &k8s_openapi::api::networking::v1::NetworkPolicy) -> Vec<Warning> {
    let mut out = Vec::new();
    let Some(spec) = &n.spec else {
        return out;
    };
    let spec_path = Path::new("spec");
    let mut peers = |peers: Option<&Vec<k8s_openapi::api::networking::v1::NetworkPolicyPeer>>,
                     base: Path| {
        for (i, peer) in peers.into_iter().flatten().enumerate() {
            if let Some(b) = &peer.ip_block {
                let bp = base.index(i).child("ipBlock");
                out.extend(cidr_warnings(&bp.child("cidr"), &b.cidr));
                for (k, e) in b.except.iter().flatten().enumerate() {
                    out.extend(cidr_warnings(&bp.child("except").index(k), e));
                }
            }
        }
    };
    for (i, r) in spec.ingress.iter().flatten().enumerate() {
        peers(
            r.from.as_ref(),
            spec_path.child("ingress").index(i).child("from"),
        );
    }
    for (i, r) in spec.egress.iter().flatten().enumerate() {
        peers(
            r.to.as_ref(),
            spec_path.child("egress").index(i).child("to"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::diag::codes::API_WARNING;
    use crate::manifest::{LoadOptions, load_str};

    /// (line, message) of the API server warnings for `yaml`.
    fn warned(yaml: &str) -> Vec<(u32, String)> {
        let (_, loaded) = load_str("t.yaml", yaml, &LoadOptions::default());
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        loaded
            .diagnostics
            .iter()
            .filter(|d| d.code == API_WARNING)
            .map(|d| (d.span.map_or(0, |s| s.line), d.message.clone()))
            .collect()
    }

    /// Cases of `pkg/api/service/warnings_test.go`.
    #[test]
    fn service_warnings() {
        let w = warned(
            "apiVersion: v1
kind: Service
metadata: {name: a, annotations: {service.kubernetes.io/topology-aware-hints: Auto}}
spec:
  clusterIP: 10.96.0.012
  externalName: db.example.com
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  clusterIP: None
  loadBalancerIP: 192.0.2.1
  sessionAffinity: ClientIP
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: c}
spec:
  type: LoadBalancer
  loadBalancerSourceRanges: [10.0.0.1/8]
  ports: [{port: 80}]
",
        );
        assert_eq!(
            w,
            [
                (3, "annotation service.kubernetes.io/topology-aware-hints is deprecated, please use service.kubernetes.io/topology-mode instead".to_string()),
                (5, "spec.clusterIPs[0]: non-standard IP address \"10.96.0.012\" will be considered invalid in a future Kubernetes release: use \"10.96.0.12\"".to_string()),
                (6, "spec.externalName is ignored when spec.type is not \"ExternalName\"".to_string()),
                (14, "spec.loadBalancerIP is ignored for headless services".to_string()),
                (15, "spec.SessionAffinity is ignored for headless services".to_string()),
                (23, "spec.loadBalancerSourceRanges[0]: CIDR value \"10.0.0.1/8\" is ambiguous in this context (should be \"10.0.0.0/8\" or \"10.0.0.1/32\")".to_string()),
            ]
        );
    }

    /// Cases of `pkg/api/pod/warnings_test.go`: deprecated node labels, ports declared
    /// twice across the pod's containers, hostIP without hostPort, an env var hiding
    /// another, a negative grace period; in a template the paths start at
    /// `spec.template`.
    #[test]
    fn pod_and_template_warnings() {
        let w = warned(
            "apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  terminationGracePeriodSeconds: -1
  nodeSelector: {beta.kubernetes.io/os: linux}
  containers:
  - name: a
    image: nginx
    ports: [{name: http, containerPort: 80}]
    env: [{name: X, value: one}, {name: X, value: two}]
  - name: b
    image: nginx
    ports:
    - {name: web, containerPort: 80}
    - {containerPort: 81, hostIP: 10.0.0.1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions: [{key: failure-domain.beta.kubernetes.io/zone, operator: In, values: [a]}]
      containers: [{name: c, image: nginx}]
",
        );
        let msgs: Vec<&str> = w.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "spec.nodeSelector[beta.kubernetes.io/os]: deprecated since v1.14; use \"kubernetes.io/os\" instead",
                "spec.containers[0].env[1]: hides previous definition of \"X\", which may be dropped when using apply",
                "spec.containers[1].ports[0]: duplicate port definition with spec.containers[0].ports[0]",
                "spec.containers[1].ports[1]: hostIP set without hostPort: {Name: HostPort:0 ContainerPort:81 Protocol:TCP HostIP:10.0.0.1}",
                "spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1",
                "spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key: failure-domain.beta.kubernetes.io/zone is deprecated since v1.17; use \"topology.kubernetes.io/zone\" instead",
            ]
        );
        let lines: Vec<u32> = w.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [6, 11, 15, 16, 5, 30]);
    }

    /// kubectl prints an identical warning once per run.
    #[test]
    fn endpoints_deprecation_once() {
        let ep = "apiVersion: v1\nkind: Endpoints\nmetadata: {name: NAME}\nsubsets: [{addresses: [{ip: 192.0.2.1}], ports: [{port: 80}]}]\n";
        let w = warned(&format!(
            "{}---\n{}",
            ep.replace("NAME", "a"),
            ep.replace("NAME", "b")
        ));
        assert_eq!(w, [(1, super::ENDPOINTS_DEPRECATED.to_string())]);
    }

    #[test]
    fn fractional_bytes() {
        use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
        for (q, frac) in [
            ("128Mi", false),
            ("1.5Gi", false),
            ("0.5", true),
            ("1500m", true),
            ("2000m", false),
            ("1.5", true),
            ("1.5k", false),
            ("1.0001k", true),
        ] {
            assert_eq!(super::fractional(&Quantity(q.into())), frac, "{q}");
        }
    }
}
