//! Scenario events as verbs on the cluster; the controllers' reactions are applied at
//! once (a ReplicaSet replaces a deleted pod in the same instant), and endpoints follow
//! from the state because they are computed from it.
//!
//! A pod's controller is recovered from the pod itself (its name and the labels the
//! controllers add, see [`owner_of`]); a replacement is made like its siblings (same
//! labels, annotations, containers).
//!
//! Simplifications, each a choice between fidelity and a model small enough to explain:
//! - `nodeDown` makes the node's pods not ready at once; a real node controller waits for
//!   `node-monitor-grace-period` (50 s in 1.34) before marking the node NotReady and its
//!   pods not ready, and evicts them only after the 300 s `unreachable` toleration, which
//!   scenarios (seconds long) never reach: pods are not rescheduled.
//! - `nodeUp` recomputes readiness from the pods' definitions; a `setReady` made before
//!   the node went down is forgotten.
//! - A deleted StatefulSet pod is recreated (same name) at once, while the old one is
//!   still Terminating; the real controller waits until the old one is gone.
//! - Replacements and scale-ups are placed by spread over ready nodes without the
//!   template's nodeSelector/affinity (the pod state does not keep them); DaemonSet
//!   replacements stay on their node.
//! - A Deployment whose template changes is rolled out at once (old pods Terminating, new
//!   pods Running), not in maxSurge/maxUnavailable steps.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;

use super::build::{add_given_endpoints, namespace_labels, policy};
use super::pods::{self, MAX_REPLICAS, NewPod, OwnerKind, owner_of};
use super::services::{self, Allocators};
use super::{Cluster, Origin, PodId, PodPhase, Readiness};
use crate::diag::Diagnostic;
use crate::manifest::{LoadOptions, LoadedObject, load_str};
use crate::objects::Object;

/// `5s`, `1.5s`, `250ms`: virtual time as a Go duration.
pub fn fmt_duration(ns: u64) -> String {
    let units = [(1_000_000_000u64, "s"), (1_000_000, "ms"), (1_000, "us")];
    for (scale, unit) in units {
        if ns >= scale || scale == 1_000 {
            if ns.is_multiple_of(scale) {
                return format!("{}{unit}", ns / scale);
            }
            if ns >= scale {
                let whole = ns / scale;
                let frac = format!("{:0width$}", ns % scale, width = scale.ilog10() as usize);
                return format!("{whole}.{}{unit}", frac.trim_end_matches('0'));
            }
        }
    }
    format!("{ns}ns")
}

impl Cluster {
    fn live_pod(&self, namespace: &str, name: &str) -> Result<PodId, String> {
        self.pod_by_name(namespace, name)
            .ok_or_else(|| format!("pods {name:?} not found in namespace {namespace:?}"))
    }

    /// Start a pod's graceful deletion (immediate with a zero grace period).
    fn terminate(&mut self, id: PodId, now_ns: u64) {
        let Some(p) = self.pods.get_mut(id) else {
            return;
        };
        if p.terminating() || !p.alive() {
            return;
        }
        p.phase = if p.termination_grace_ns == 0 {
            PodPhase::Gone
        } else {
            PodPhase::Terminating {
                since_ns: now_ns,
                until_ns: now_ns.saturating_add(p.termination_grace_ns),
            }
        };
    }

    /// A new pod like `template` (its controller's), named by the controller's rule.
    fn replace_like(&mut self, template: PodId, same_node: bool) -> Option<PodId> {
        let t = self.pods.get(template)?.clone();
        let owner = owner_of(&t)?;
        let name = match owner.kind {
            OwnerKind::StatefulSet => t.name.clone(),
            _ => pods::fresh_name(self, &t.namespace, &owner.name),
        };
        let new = NewPod::like(&t, name);
        let placed = if same_node {
            pods::place(self, new, t.node)
        } else {
            // The controller schedules the replacement from its template (nodeSelector,
            // nodeName), not from the pod it replaces.
            let spec = self.template_spec(&t.namespace, &owner).unwrap_or_default();
            pods::schedule_and_place(self, new, &spec, None)
        };
        match placed {
            Ok(id) => Some(id),
            Err(d) => {
                self.diagnostics.push(*d);
                None
            }
        }
    }

    /// The pod template of the workload that owns pods of `owner`, as loaded or applied.
    fn template_spec(&self, namespace: &str, owner: &pods::Owner) -> Option<PodSpec> {
        use crate::objects::Object;
        self.workloads.iter().rev().find_map(|(_, w)| {
            if w.object.namespace() != Some(namespace) {
                return None;
            }
            let name = w.object.name();
            match &w.object {
                Object::Deployment(d) if owner.deployment.as_deref() == Some(name) => {
                    d.spec.as_ref()?.template.spec.clone()
                }
                Object::ReplicaSet(r) if owner.name == name => {
                    r.spec.as_ref()?.template.as_ref()?.spec.clone()
                }
                Object::ReplicationController(r) if owner.name == name => {
                    r.spec.as_ref()?.template.as_ref()?.spec.clone()
                }
                Object::StatefulSet(st) if owner.name == name => {
                    st.spec.as_ref()?.template.spec.clone()
                }
                _ => None,
            }
        })
    }

    /// Delete a pod: Terminating for its grace period, then gone. Its workload replaces it.
    pub fn delete_pod(&mut self, namespace: &str, name: &str, now_ns: u64) -> Result<(), String> {
        let id = self.live_pod(namespace, name)?;
        if self.pods[id].terminating() {
            return Ok(()); // Already being deleted: `kubectl delete` just waits.
        }
        self.terminate(id, now_ns);
        if let Some(owner) = owner_of(&self.pods[id]) {
            self.replace_like(id, owner.kind == OwnerKind::DaemonSet);
        }
        Ok(())
    }

    pub fn set_ready(
        &mut self,
        namespace: &str,
        pod: &str,
        ready: bool,
        now_ns: u64,
    ) -> Result<(), String> {
        let id = self.live_pod(namespace, pod)?;
        let node_up = self.nodes.get(self.pods[id].node).is_some_and(|n| n.up);
        let p = &mut self.pods[id];
        p.readiness = Readiness::SetByEvent {
            ready,
            at_ns: now_ns,
        };
        // A down node's kubelet reports nothing: the pod stays not ready.
        p.ready = ready && node_up;
        Ok(())
    }

    pub fn node_down(&mut self, node: &str, _now_ns: u64) -> Result<(), String> {
        let id = self
            .node_by_name(node)
            .ok_or_else(|| format!("nodes {node:?} not found"))?;
        self.nodes[id].up = false;
        for p in self.pods.iter_mut().filter(|p| p.alive() && p.node == id) {
            p.ready = false;
            p.readiness = Readiness::NodeDown;
        }
        Ok(())
    }

    pub fn node_up(&mut self, node: &str, _now_ns: u64) -> Result<(), String> {
        let id = self
            .node_by_name(node)
            .ok_or_else(|| format!("nodes {node:?} not found"))?;
        self.nodes[id].up = true;
        for p in self.pods.iter_mut().filter(|p| p.alive() && p.node == id) {
            if p.readiness == Readiness::NodeDown {
                p.readiness = pods::base_readiness(p);
                p.ready = p.readiness == Readiness::Ready;
            }
        }
        Ok(())
    }

    /// Pods (any phase) of a Deployment, a ReplicaSet/ReplicationController or a
    /// StatefulSet named `name`, oldest first.
    fn workload_pods(&self, namespace: &str, name: &str, kind: Option<&str>) -> Vec<PodId> {
        self.pods
            .iter()
            .enumerate()
            .filter(|(_, p)| p.namespace == namespace)
            .filter(|(_, p)| {
                owner_of(p).is_some_and(|o| match kind {
                    Some("Deployment") => o.deployment.as_deref() == Some(name),
                    Some("ReplicaSet") | Some("ReplicationController") => {
                        o.kind == OwnerKind::ReplicaSet && o.name == name
                    }
                    Some("StatefulSet") => o.kind == OwnerKind::StatefulSet && o.name == name,
                    Some("DaemonSet") => o.kind == OwnerKind::DaemonSet && o.name == name,
                    _ => o.deployment.as_deref() == Some(name) || o.name == name,
                })
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Scale a workload (a Deployment; a ReplicaSet, ReplicationController or StatefulSet
    /// of that name otherwise). New pods get new names; scaling down deletes not-ready
    /// pods first, then the newest (the ReplicaSet controller's `ActivePods` ranking,
    /// reduced to what the simulation knows); a StatefulSet loses its highest ordinals.
    pub fn scale(
        &mut self,
        namespace: &str,
        deployment: &str,
        replicas: i32,
        now_ns: u64,
    ) -> Result<(), String> {
        if replicas < 0 {
            return Err(format!("replicas must be at least 0, not {replicas}"));
        }
        let want = usize::try_from(replicas.min(MAX_REPLICAS)).unwrap_or(0);
        let mut all = self.workload_pods(namespace, deployment, Some("Deployment"));
        if all.is_empty() {
            all = self.workload_pods(namespace, deployment, None);
        }
        if all.is_empty() {
            return self.scale_from_template(namespace, deployment, want);
        }
        // The newest pod stands for the current template (the newest ReplicaSet).
        let Some(&template) = all.last() else {
            return Err(format!(
                "deployments.apps {deployment:?} not found in namespace {namespace:?} (or it never had a pod to take the template from)"
            ));
        };
        let current_rs = owner_of(&self.pods[template]).map(|o| o.name);
        let active: Vec<PodId> = all
            .iter()
            .copied()
            .filter(|&i| {
                let p = &self.pods[i];
                p.alive() && !p.terminating()
            })
            .collect();
        let stateful =
            owner_of(&self.pods[template]).is_some_and(|o| o.kind == OwnerKind::StatefulSet);
        if stateful {
            return self.scale_stateful(namespace, template, &active, want, now_ns);
        }
        if active.len() < want {
            for _ in active.len()..want {
                self.replace_like(template, false);
            }
        } else {
            let mut victims = active.clone();
            // Not ready first, then pods of older ReplicaSets, then newest first.
            victims.sort_by_key(|&i| {
                let p = &self.pods[i];
                let old_rs = owner_of(p).map(|o| o.name) != current_rs;
                (p.ready, !old_rs, std::cmp::Reverse(i))
            });
            for &v in victims.iter().take(active.len() - want) {
                self.terminate(v, now_ns);
            }
        }
        Ok(())
    }

    /// Scale a workload that has no pod (it was created with zero replicas): make its
    /// pods from the template it was loaded with.
    fn scale_from_template(
        &mut self,
        namespace: &str,
        name: &str,
        want: usize,
    ) -> Result<(), String> {
        let found = self.workloads.iter().rev().find(|(_, w)| {
            w.object.namespace() == Some(namespace)
                && w.object.name() == name
                && matches!(
                    w.object.kind(),
                    "Deployment" | "ReplicaSet" | "ReplicationController" | "StatefulSet"
                )
        });
        let Some((origin, obj)) = found.cloned() else {
            return Err(format!(
                "deployments.apps {name:?} not found in namespace {namespace:?}"
            ));
        };
        let mut obj = obj;
        let replicas = Some(i32::try_from(want).unwrap_or(i32::MAX));
        match &mut obj.object {
            crate::objects::Object::Deployment(d) => {
                if let Some(s) = d.spec.as_mut() {
                    s.replicas = replicas;
                }
            }
            crate::objects::Object::ReplicaSet(r) => {
                if let Some(s) = r.spec.as_mut() {
                    s.replicas = replicas;
                }
            }
            crate::objects::Object::ReplicationController(r) => {
                if let Some(s) = r.spec.as_mut() {
                    s.replicas = replicas;
                }
            }
            crate::objects::Object::StatefulSet(s) => {
                if let Some(s) = s.spec.as_mut() {
                    s.replicas = replicas;
                }
            }
            _ => {}
        }
        pods::create_from_object(self, &obj, origin);
        Ok(())
    }

    fn scale_stateful(
        &mut self,
        namespace: &str,
        template: PodId,
        active: &[PodId],
        want: usize,
        now_ns: u64,
    ) -> Result<(), String> {
        let set = owner_of(&self.pods[template])
            .map(|o| o.name)
            .unwrap_or_default();
        for &i in active {
            let ordinal = self.pods[i]
                .name
                .rsplit_once('-')
                .and_then(|(_, o)| o.parse::<usize>().ok());
            if ordinal.is_some_and(|o| o >= want) {
                self.terminate(i, now_ns);
            }
        }
        let t = self.pods[template].clone();
        for ordinal in 0..want {
            let name = format!("{set}-{ordinal}");
            if self
                .pod_by_name(namespace, &name)
                .is_some_and(|i| !self.pods[i].terminating())
            {
                continue;
            }
            let mut new = NewPod::like(&t, name.clone());
            new.hostname = Some(name.clone());
            new.labels
                .insert("statefulset.kubernetes.io/pod-name".into(), name);
            new.labels
                .insert("apps.kubernetes.io/pod-index".into(), ordinal.to_string());
            if let Err(d) = pods::schedule_and_place(self, new, &PodSpec::default(), None) {
                self.diagnostics.push(*d);
            }
        }
        Ok(())
    }

    /// Apply a manifest text; rejected objects come back as diagnostics and change nothing.
    ///
    /// Objects are taken one by one, as `kubectl apply` does: a valid one is applied even
    /// when another of the same text is rejected. An object the cluster has is updated
    /// ([`super::update`], [`crate::validation::update`]); another is created, validated as
    /// on create. The diagnostics' messages start with the event and its time; their
    /// spans would point into the applied text, not into the scenario's files, so they
    /// are dropped and the line and column go to the label.
    pub fn apply(&mut self, text: &str, event_index: usize, now_ns: u64) -> Vec<Diagnostic> {
        let source_name = format!("spec.events[{event_index}].apply");
        let opts = LoadOptions {
            node_port_range: Some(self.config.node_port_range),
            defer_validation: true,
            namespace: self.config.namespace.clone(),
            ..Default::default()
        };
        let (_sources, loaded) = load_str(&source_name, text, &opts);
        let mut diags = loaded.diagnostics.clone();
        if let Some(s) = &loaded.scenario {
            diags.push(
                Diagnostic::error(
                    "NotApplicable",
                    "a Scenario document cannot be applied by an event",
                )
                .at(s.node.span),
            );
        }
        let origin = Origin::Event(event_index);
        for obj in &loaded.objects {
            if matches!(obj.object, Object::Service(_)) {
                // Validated inside, after the merge and the strategy's drop.
                self.apply_service(obj, origin, &mut diags);
                continue;
            }
            let errs = match self.stored(obj) {
                Some(old) => crate::validation::update::validate_update(
                    &obj.object,
                    &old,
                    &self.validation_options(),
                ),
                None => crate::validation::validate(&obj.object, &self.validation_options()),
            };
            if !errs.is_empty() {
                diags.extend(field_errors(obj, errs));
                continue;
            }
            diags.extend(api_warnings(obj));
            super::build::add_namespaces(self, &[(obj, origin)]);
            self.apply_object(obj, origin, now_ns, &mut diags);
        }
        diags
            .into_iter()
            .map(|d| relocate(d, &source_name, now_ns))
            .collect()
    }

    fn apply_object(
        &mut self,
        obj: &LoadedObject,
        origin: Origin,
        now_ns: u64,
        diags: &mut Vec<Diagnostic>,
    ) {
        let ns = obj.object.namespace().unwrap_or("default").to_string();
        let name = obj.object.name().to_string();
        match &obj.object {
            Object::Namespace(n) => {
                let mut labels = n.metadata.labels.clone().unwrap_or_default();
                labels.extend(namespace_labels(&name));
                self.namespaces.insert(name, labels);
            }
            Object::Node(_) => diags.push(
                Diagnostic::warning(
                    "NotSimulated",
                    format!("Node {name:?} applied by an event: nodes are fixed at the start of a run; it is ignored"),
                )
                .at(obj.node.span),
            ),
            Object::Service(_) => self.apply_service(obj, origin, diags),
            Object::Pod(p) => match self.pod_by_name(&ns, &name) {
                Some(id) if !self.pods[id].terminating() => {
                    // Validated as an update: only images (and labels, annotations)
                    // changed, so the containers are the same but for what runs.
                    let spec = p.spec.clone().unwrap_or_default();
                    let annotations = p.metadata.annotations.clone().unwrap_or_default();
                    let pod = &mut self.pods[id];
                    pod.labels = p.metadata.labels.clone().unwrap_or_default();
                    pod.containers = pods::containers_of(&spec, &annotations);
                    pod.annotations = annotations;
                    pod.origin = origin;
                    if pod.applied_spec.is_some() {
                        pod.applied_spec = Some(std::sync::Arc::new(spec));
                    }
                    if !matches!(pod.readiness, Readiness::SetByEvent { .. } | Readiness::NodeDown) {
                        pod.readiness = pods::base_readiness(pod);
                        pod.ready = pod.readiness == Readiness::Ready;
                    }
                }
                _ => {
                    pods::create_from_object(self, obj, origin);
                }
            },
            Object::Deployment(_) | Object::StatefulSet(_) | Object::DaemonSet(_)
            | Object::ReplicaSet(_) | Object::ReplicationController(_) => {
                self.apply_workload(obj, origin, now_ns);
            }
            Object::EndpointSlice(_) | Object::Endpoints(_) => {
                let service = match &obj.object {
                    Object::EndpointSlice(es) => es
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("kubernetes.io/service-name"))
                        .cloned()
                        .unwrap_or_default(),
                    _ => name.clone(),
                };
                // The applied object replaces what was given for that Service.
                self.given_endpoints
                    .retain(|g| !(g.namespace == ns && g.service == service && g.origin != Origin::Default));
                add_given_endpoints(self, obj, origin);
            }
            Object::NetworkPolicy(_) => {
                if let Some(p) = policy(obj, origin) {
                    match self
                        .policies
                        .iter()
                        .position(|q| q.alive && q.namespace == ns && q.name == name)
                    {
                        Some(i) => self.policies[i] = p,
                        None => self.policies.push(p),
                    }
                }
            }
        }
    }

    fn validation_options(&self) -> crate::validation::Options {
        crate::validation::Options {
            node_port_range: self.config.node_port_range,
        }
    }

    /// The object the cluster stores under `obj`'s kind, namespace and name, for update
    /// validation: a Pod object's spec, a workload as applied. (A Service is looked up in
    /// [`Cluster::apply_service`]; other kinds have no immutable field simctl models.)
    fn stored(&self, obj: &LoadedObject) -> Option<Object> {
        let ns = obj.object.namespace().unwrap_or("default");
        let name = obj.object.name();
        match &obj.object {
            Object::Pod(_) => {
                let pod = &self.pods[self.pod_by_name(ns, name)?];
                let spec = pod.applied_spec.as_ref()?;
                Some(Object::Pod(Box::new(k8s_openapi::api::core::v1::Pod {
                    spec: Some((**spec).clone()),
                    ..Default::default()
                })))
            }
            Object::Deployment(_)
            | Object::ReplicaSet(_)
            | Object::ReplicationController(_)
            | Object::StatefulSet(_)
            | Object::DaemonSet(_) => {
                let kind = obj.object.kind();
                self.workloads
                    .iter()
                    .rev()
                    .find(|(_, w)| {
                        w.object.kind() == kind
                            && w.object.namespace() == Some(ns)
                            && w.object.name() == name
                    })
                    .map(|(_, w)| w.object.clone())
            }
            _ => None,
        }
    }

    /// A Service applied: created, or updated through the API server's update path (the
    /// patch's merge, `dropTypeDependentFields`, `ValidateServiceUpdate`, allocation
    /// without the old reservations; see [`super::update`]).
    fn apply_service(&mut self, obj: &LoadedObject, origin: Origin, diags: &mut Vec<Diagnostic>) {
        let ns = obj.object.namespace().unwrap_or("default").to_string();
        let existing = self.service_by_name(&ns, obj.object.name());
        let mut obj = obj.clone();
        let LoadedObject { object, node, .. } = &mut obj;
        let Object::Service(new) = object else {
            return;
        };
        let errs = match existing {
            Some(id) => {
                let old_sim = &self.services[id];
                let old = super::update::stored_service(old_sim);
                super::update::merge_service(new, node, &old, old_sim.applied.as_deref());
                if let (Some(n), Some(o)) = (new.spec.as_mut(), old.spec.as_ref()) {
                    super::update::drop_type_dependent_fields(n, o);
                }
                // A load balancer keeps the address its controller gave it.
                let still_lb =
                    new.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer");
                if still_lb
                    && old_sim.type_ == super::ServiceType::LoadBalancer
                    && !old_sim.lb_ips.is_empty()
                    && new.status.is_none()
                {
                    new.status = Some(load_balancer_status(&old_sim.lb_ips));
                }
                crate::validation::update::validate_service_update(
                    new,
                    &old,
                    &self.validation_options(),
                )
            }
            None => crate::validation::validate(object, &self.validation_options()),
        };
        if !errs.is_empty() {
            diags.extend(field_errors(&obj, errs));
            return;
        }
        diags.extend(api_warnings(&obj));
        super::build::add_namespaces(self, &[(&obj, origin)]);
        let mut alloc = Allocators::from_cluster(self, existing);
        services::create_services(self, &[(&obj, origin)], &mut alloc, diags);
    }

    /// A workload applied: new, scaled (same template), or rolled out (new template).
    fn apply_workload(&mut self, obj: &LoadedObject, origin: Origin, now_ns: u64) {
        let ns = obj.object.namespace().unwrap_or("default").to_string();
        let name = obj.object.name().to_string();
        let kind = obj.object.kind();
        let active: Vec<PodId> = self
            .workload_pods(&ns, &name, Some(kind))
            .into_iter()
            .filter(|&i| !self.pods[i].terminating() && self.pods[i].alive())
            .collect();
        if active.is_empty() {
            pods::create_from_object(self, obj, origin);
            return;
        }
        let (template_hash, replicas) = match &obj.object {
            Object::Deployment(d) => (
                d.spec.as_ref().map(|s| pods::hash_of(&s.template)),
                d.spec.as_ref().and_then(|s| s.replicas),
            ),
            Object::StatefulSet(s) => (
                s.spec.as_ref().map(|s| pods::hash_of(&s.template)),
                s.spec.as_ref().and_then(|s| s.replicas),
            ),
            Object::DaemonSet(d) => (d.spec.as_ref().map(|s| pods::hash_of(&s.template)), None),
            // A ReplicaSet does not update its existing pods when its template changes.
            Object::ReplicaSet(r) => (None, r.spec.as_ref().and_then(|s| s.replicas)),
            Object::ReplicationController(r) => (None, r.spec.as_ref().and_then(|s| s.replicas)),
            _ => (None, None),
        };
        let current_hash = active.last().and_then(|&i| {
            let p = &self.pods[i];
            p.labels.get("pod-template-hash").cloned().or_else(|| {
                p.labels
                    .get("controller-revision-hash")
                    .map(|h| h.rsplit('-').next().unwrap_or(h).to_string())
            })
        });
        let same_template = template_hash.is_none() || template_hash == current_hash;
        if same_template {
            if let Some(r) = replicas {
                let _ = self.scale(&ns, &name, r.max(0), now_ns);
            }
            return;
        }
        for i in active {
            self.terminate(i, now_ns);
        }
        pods::create_from_object(self, obj, origin);
    }

    /// Delete an object by kind and name (`kubectl delete <kind> <name>`).
    pub fn delete(
        &mut self,
        kind: &str,
        namespace: &str,
        name: &str,
        now_ns: u64,
    ) -> Result<(), String> {
        let not_found =
            |what: &str| format!("{what} {name:?} not found in namespace {namespace:?}");
        match canonical_kind(kind) {
            Some("Pod") => self.delete_pod(namespace, name, now_ns),
            Some("Service") => {
                let id = self
                    .service_by_name(namespace, name)
                    .ok_or_else(|| not_found("services"))?;
                self.services[id].alive = false;
                Ok(())
            }
            Some("NetworkPolicy") => {
                let p = self
                    .policies
                    .iter_mut()
                    .find(|p| p.alive && p.namespace == namespace && p.name == name)
                    .ok_or_else(|| not_found("networkpolicies.networking.k8s.io"))?;
                p.alive = false;
                Ok(())
            }
            Some(
                k @ ("Deployment"
                | "ReplicaSet"
                | "ReplicationController"
                | "StatefulSet"
                | "DaemonSet"),
            ) => {
                let all = self.workload_pods(namespace, name, Some(k));
                if all.is_empty() {
                    return Err(not_found(&k.to_ascii_lowercase()));
                }
                for i in all {
                    self.terminate(i, now_ns);
                }
                // Gone from the store: applying it again creates it.
                self.workloads.retain(|(_, w)| {
                    !(w.object.kind() == k
                        && w.object.namespace() == Some(namespace)
                        && w.object.name() == name)
                });
                Ok(())
            }
            Some("Endpoints" | "EndpointSlice") => {
                let before = self.given_endpoints.len();
                self.given_endpoints
                    .retain(|g| !(g.namespace == namespace && g.service == name));
                if self.given_endpoints.len() == before {
                    return Err(not_found("endpoints"));
                }
                Ok(())
            }
            Some("Namespace") => {
                let ns = name;
                if self.namespaces.remove(ns).is_none() {
                    return Err(format!("namespaces {ns:?} not found"));
                }
                for s in self.services.iter_mut().filter(|s| s.namespace == ns) {
                    s.alive = false;
                }
                for p in self.policies.iter_mut().filter(|p| p.namespace == ns) {
                    p.alive = false;
                }
                self.given_endpoints.retain(|g| g.namespace != ns);
                let ids: Vec<PodId> = (0..self.pods.len())
                    .filter(|&i| self.pods[i].namespace == ns)
                    .collect();
                for i in ids {
                    self.terminate(i, now_ns);
                }
                Ok(())
            }
            _ => Err(format!("deleting a {kind} is not simulated")),
        }
    }

    /// Move time on: terminating pods whose grace period has passed are gone.
    ///
    /// Returns whether a pod went away (its endpoints with it), so that the data plane
    /// can resync as kube-proxy does when an EndpointSlice changes.
    pub fn advance(&mut self, now_ns: u64) -> bool {
        let mut changed = false;
        for p in &mut self.pods {
            if let PodPhase::Terminating { until_ns, .. } = p.phase
                && until_ns <= now_ns
            {
                p.phase = PodPhase::Gone;
                changed = true;
            }
        }
        changed
    }
}

/// The kinds a `delete` event can remove.
pub const DELETABLE: [&str; 10] = [
    "Pod",
    "Service",
    "NetworkPolicy",
    "Deployment",
    "ReplicaSet",
    "ReplicationController",
    "StatefulSet",
    "DaemonSet",
    "Endpoints",
    "EndpointSlice",
];

/// `svc`, `services`, `Service` -> `Service` (a `delete` event's kind, as kubectl takes
/// it; `Namespace` too).
pub fn canonical_kind(kind: &str) -> Option<&'static str> {
    let table: BTreeMap<&str, &'static str> = BTreeMap::from([
        ("pod", "Pod"),
        ("pods", "Pod"),
        ("po", "Pod"),
        ("service", "Service"),
        ("services", "Service"),
        ("svc", "Service"),
        ("networkpolicy", "NetworkPolicy"),
        ("networkpolicies", "NetworkPolicy"),
        ("netpol", "NetworkPolicy"),
        ("deployment", "Deployment"),
        ("deployments", "Deployment"),
        ("deploy", "Deployment"),
        ("replicaset", "ReplicaSet"),
        ("replicasets", "ReplicaSet"),
        ("rs", "ReplicaSet"),
        ("replicationcontroller", "ReplicationController"),
        ("replicationcontrollers", "ReplicationController"),
        ("rc", "ReplicationController"),
        ("statefulset", "StatefulSet"),
        ("statefulsets", "StatefulSet"),
        ("sts", "StatefulSet"),
        ("daemonset", "DaemonSet"),
        ("daemonsets", "DaemonSet"),
        ("ds", "DaemonSet"),
        ("endpoints", "Endpoints"),
        ("ep", "Endpoints"),
        ("endpointslice", "EndpointSlice"),
        ("endpointslices", "EndpointSlice"),
        ("namespace", "Namespace"),
        ("namespaces", "Namespace"),
        ("ns", "Namespace"),
    ]);
    table.get(kind.to_ascii_lowercase().as_str()).copied()
}

/// The API server's `The Pod "x" is invalid: ...` diagnostics for `errs` of `obj`.
fn field_errors(obj: &LoadedObject, errs: crate::validation::ErrorList) -> Vec<Diagnostic> {
    let header = format!(
        "The {} {} is invalid: ",
        obj.object.kind(),
        crate::validation::field::go_quote(obj.object.name())
    );
    errs.into_iter()
        .map(|e| {
            Diagnostic::error(e.kind.reason(), format!("{header}{e}"))
                .at(obj.locate(&e.field))
                .field(e.field.clone())
                .label(e.body())
        })
        .collect()
}

/// The API server's warnings for an object it accepts.
fn api_warnings(obj: &LoadedObject) -> Vec<Diagnostic> {
    crate::validation::warnings::warnings(&obj.object)
        .into_iter()
        .map(|w| crate::manifest::warning_diagnostic(&obj.node, w))
        .collect()
}

/// `status.loadBalancer.ingress` of these addresses.
fn load_balancer_status(ips: &[std::net::Ipv4Addr]) -> k8s_openapi::api::core::v1::ServiceStatus {
    use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, ServiceStatus};
    ServiceStatus {
        load_balancer: Some(LoadBalancerStatus {
            ingress: Some(
                ips.iter()
                    .map(|ip| LoadBalancerIngress {
                        ip: Some(ip.to_string()),
                        ..Default::default()
                    })
                    .collect(),
            ),
        }),
        ..Default::default()
    }
}

/// A diagnostic of an applied text, rewritten for the scenario: the event and its time
/// first, the place in the applied text in the label (its span belongs to the applied
/// text's own sources, not the scenario's).
fn relocate(mut d: Diagnostic, source_name: &str, now_ns: u64) -> Diagnostic {
    d.message = format!("{source_name} at {}: {}", fmt_duration(now_ns), d.message);
    if let Some(span) = d.span.take() {
        let place = format!(
            "line {} column {} of the applied manifest",
            span.line, span.column
        );
        d.label = Some(match d.label.take() {
            Some(l) => format!("{l} ({place})"),
            None => place,
        });
    }
    d
}

#[cfg(test)]
mod tests {
    use super::super::build::testutil::*;
    use super::*;
    use crate::cluster::Origin;

    const WEB: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 10
      containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http, nodePort: 30080}]
";

    fn web_pods(c: &Cluster) -> Vec<PodId> {
        (0..c.pods.len())
            .filter(|&i| c.pods[i].alive() && c.pods[i].name.starts_with("web-"))
            .collect()
    }

    fn running(c: &Cluster) -> usize {
        web_pods(c)
            .iter()
            .filter(|&&i| !c.pods[i].terminating())
            .count()
    }

    #[test]
    fn durations() {
        assert_eq!(fmt_duration(5_000_000_000), "5s");
        assert_eq!(fmt_duration(1_500_000_000), "1.5s");
        assert_eq!(fmt_duration(250_000_000), "250ms");
        assert_eq!(fmt_duration(100_000), "100us");
        assert_eq!(fmt_duration(0), "0us");
        assert_eq!(fmt_duration(7), "7ns");
    }

    #[test]
    fn a_replacement_is_scheduled_by_the_template_not_by_spread() {
        let yaml = WEB.replace(
            "      terminationGracePeriodSeconds: 10\n",
            "      terminationGracePeriodSeconds: 10\n      nodeSelector: {kubernetes.io/hostname: node-2}\n",
        );
        let mut c = cluster(&yaml);
        let node_2 = c.node_by_name("node-2").expect("node-2");
        assert!(web_pods(&c).iter().all(|&p| c.pods[p].node == node_2));
        for _ in 0..3 {
            let victim = web_pods(&c)
                .into_iter()
                .find(|&p| !c.pods[p].terminating())
                .expect("a running pod");
            let name = c.pods[victim].name.clone();
            c.delete_pod("default", &name, 1_000_000_000)
                .expect("delete");
        }
        // Spread alone would have put replacements on the emptier node-1.
        assert!(
            web_pods(&c).iter().all(|&p| c.pods[p].node == node_2),
            "replacements left node-2"
        );
    }

    #[test]
    fn delete_pod_terminates_and_is_replaced() {
        let mut c = cluster(WEB);
        let before = web_pods(&c);
        let victim = before[0];
        let name = c.pods[victim].name.clone();
        c.delete_pod("default", &name, 1_000_000_000)
            .expect("delete");
        assert_eq!(
            c.pods[victim].phase,
            PodPhase::Terminating {
                since_ns: 1_000_000_000,
                until_ns: 11_000_000_000
            }
        );
        assert_eq!(running(&c), 2);
        let new = *web_pods(&c).last().expect("replacement");
        assert_ne!(c.pods[new].name, name);
        assert_ne!(c.pods[new].ip, c.pods[victim].ip);
        assert_eq!(
            c.pods[new].labels.get("pod-template-hash"),
            c.pods[victim].labels.get("pod-template-hash")
        );
        // The replacement's name is stable for the seed.
        let mut again = cluster(WEB);
        again
            .delete_pod("default", &name, 1_000_000_000)
            .expect("delete");
        let again_new = *web_pods(&again).last().expect("replacement");
        assert_eq!(again.pods[again_new].name, c.pods[new].name);
        // Deleting it again is a no-op; after the grace period it is gone.
        c.delete_pod("default", &name, 2_000_000_000)
            .expect("no-op");
        c.advance(11_000_000_000);
        assert_eq!(c.pods[victim].phase, PodPhase::Gone);
        assert!(c.delete_pod("default", &name, 12_000_000_000).is_err());
        assert!(c.delete_pod("default", "nope", 0).is_err());
    }

    #[test]
    fn coredns_pods_are_replaced_too() {
        let mut c = cluster(WEB);
        let dns = c
            .pods
            .iter()
            .position(|p| p.name.starts_with("coredns-"))
            .expect("coredns");
        let name = c.pods[dns].name.clone();
        c.delete_pod("kube-system", &name, 0).expect("delete");
        let live = c
            .pods
            .iter()
            .filter(|p| p.alive() && !p.terminating() && p.name.starts_with("coredns-"))
            .count();
        assert_eq!(live, 2);
    }

    #[test]
    fn scale_up_and_down() {
        let mut c = cluster(WEB);
        let first = web_pods(&c);
        c.scale("default", "web", 5, 0).expect("up");
        assert_eq!(running(&c), 5);
        let mut names: Vec<String> = web_pods(&c)
            .iter()
            .map(|&i| c.pods[i].name.clone())
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 5);
        // Spread: 2 CoreDNS + 5 web pods over two nodes.
        let on = |n| c.pods.iter().filter(|p| p.alive() && p.node == n).count();
        assert!(on(0).abs_diff(on(1)) <= 1);
        c.scale("default", "web", 1, 1_000).expect("down");
        assert_eq!(running(&c), 1);
        // The newest went first: the oldest original pod is the one left.
        let left: Vec<PodId> = web_pods(&c)
            .into_iter()
            .filter(|&i| !c.pods[i].terminating())
            .collect();
        assert_eq!(left, vec![first[0]]);
        c.scale("default", "web", 0, 2_000).expect("zero");
        assert_eq!(running(&c), 0);
        c.advance(100_000_000_000);
        c.scale("default", "web", 2, 200_000_000_000).expect("back");
        assert_eq!(running(&c), 2);
        assert!(c.scale("default", "nope", 2, 0).is_err());
        assert!(c.scale("default", "web", -1, 0).is_err());
    }

    #[test]
    fn scale_down_prefers_not_ready() {
        let mut c = cluster(WEB);
        let pods = web_pods(&c);
        let newest = *pods.last().expect("pod");
        let oldest = pods[0];
        let name = c.pods[oldest].name.clone();
        c.set_ready("default", &name, false, 0).expect("set");
        c.scale("default", "web", 1, 0).expect("down");
        assert!(c.pods[oldest].terminating());
        assert!(!c.pods[newest].terminating());
    }

    #[test]
    fn apply_rejected_changes_nothing() {
        let mut c = cluster(WEB);
        let before = c.clone();
        let diags = c.apply(
            "apiVersion: v1\nkind: Service\nmetadata: {name: other}\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{port: 81, nodePort: 30080}]\n",
            3,
            5_000_000_000,
        );
        assert_eq!(c, before);
        assert_eq!(diags.len(), 1);
        let d = &diags[0];
        assert_eq!(
            d.message,
            "spec.events[3].apply at 5s: The Service \"other\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
        );
        assert_eq!(d.field.as_deref(), Some("spec.ports[0].nodePort"));
        assert!(d.span.is_none());
        assert!(d.label.as_deref().is_some_and(|l| l.contains("line 7")));
        // Invalid YAML and invalid objects too.
        let diags = c.apply("kind: [", 4, 0);
        assert!(
            !diags.is_empty()
                && diags
                    .iter()
                    .all(|d| d.message.starts_with("spec.events[4].apply at 0us: "))
        );
        let diags = c.apply(
            "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 0}]}\n",
            5,
            0,
        );
        assert!(diags.iter().any(|d| d.is_error()));
        assert_eq!(c, before);
    }

    #[test]
    fn apply_adds_and_replaces() {
        let mut c = cluster(WEB);
        let web = c.service_by_name("default", "web").expect("web");
        let ip = c.services[web].cluster_ip;
        // Re-applying the Service with another targetPort keeps its ClusterIP (the API
        // server allocated it); its nodePort, which the last manifest wrote and this one
        // leaves out, is deleted by kubectl apply's three-way merge and allocated anew.
        let diags = c.apply(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: api}\nspec: {selector: {app: api}, ports: [{port: 80}]}\n",
            0,
            0,
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(c.service_by_name("default", "web"), Some(web));
        let s = &c.services[web];
        assert_eq!(s.cluster_ip, ip);
        let reallocated = s.ports[0].node_port.expect("nodePort");
        assert_ne!(reallocated, 30080);
        assert_eq!(s.origin, Origin::Event(0));
        // Applied again as is, the allocated nodePort (written by neither) is kept.
        let diags = c.apply(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8081}]\n",
            0,
            0,
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(c.services[web].ports[0].node_port, Some(reallocated));
        let api = c.service_by_name("default", "api").expect("api");
        assert_eq!(c.services[api].origin, Origin::Event(0));
        assert_ne!(c.services[api].cluster_ip, ip);
        // Changing the ClusterIP is refused.
        let diags = c.apply(
            "apiVersion: v1\nkind: Service\nmetadata: {name: api}\nspec: {clusterIP: 10.96.0.99, selector: {app: api}, ports: [{port: 80}]}\n",
            1,
            0,
        );
        assert!(
            diags[0].message.ends_with("may not change once set"),
            "{}",
            diags[0].message
        );
        // A new Deployment, and a changed template rolls the old one out.
        let diags = c.apply(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web, v: '2'}}\n    spec: {containers: [{name: web, image: nginx:2}]}\n",
            2,
            1_000,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let live: Vec<PodId> = web_pods(&c)
            .into_iter()
            .filter(|&i| !c.pods[i].terminating())
            .collect();
        assert_eq!(live.len(), 3);
        assert!(
            live.iter()
                .all(|&i| c.pods[i].labels.get("v").map(String::as_str) == Some("2"))
        );
        assert!(live.iter().all(|&i| c.pods[i].origin == Origin::Event(2)));
        assert_eq!(web_pods(&c).len(), 5);
    }

    const LOCAL: &str = "apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80, targetPort: http, nodePort: 30080}]
";

    fn messages(diags: &[Diagnostic]) -> Vec<String> {
        diags
            .iter()
            .map(|d| {
                d.message
                    .split_once(": ")
                    .map_or(d.message.clone(), |(_, m)| m.to_string())
            })
            .collect()
    }

    /// `dropTypeDependentFields` (pkg/registry/core/service/strategy.go): a NodePort
    /// Service applied again as ClusterIP that still carries its nodePort and
    /// externalTrafficPolicy is accepted, and its nodePort is released for another.
    #[test]
    fn an_update_to_clusterip_drops_what_the_type_no_longer_uses() {
        let mut c = cluster(WEB);
        assert!(c.apply(LOCAL, 0, 0).is_empty());
        let web = c.service_by_name("default", "web").expect("web");
        assert!(c.services[web].external_traffic_local);
        let diags = c.apply(&LOCAL.replace("type: NodePort", "type: ClusterIP"), 1, 0);
        assert!(diags.is_empty(), "{diags:?}");
        let s = &c.services[web];
        assert_eq!(s.type_, crate::cluster::ServiceType::ClusterIp);
        assert_eq!(s.ports[0].node_port, None);
        assert!(!s.external_traffic_local);
        // Port 30080 is free again.
        let diags = c.apply(
            "apiVersion: v1\nkind: Service\nmetadata: {name: next}\nspec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}\n",
            2,
            0,
        );
        assert!(diags.is_empty(), "{diags:?}");
        // Created so, it is refused as on create: the drop applies to updates only.
        let mut fresh = cluster(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx}]}\n",
        );
        let diags = fresh.apply(&LOCAL.replace("type: NodePort", "type: ClusterIP"), 0, 0);
        assert_eq!(
            messages(&diags),
            [
                "The Service \"web\" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
                "The Service \"web\" is invalid: spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for externally-accessible services",
            ]
        );
    }

    /// The immutable fields of `ValidateServiceUpdate`, with their messages.
    #[test]
    fn service_update_refuses_changes_to_what_is_set() {
        let mut c = cluster(WEB);
        let ip = c.services[c.service_by_name("default", "web").expect("web")]
            .cluster_ip
            .expect("ip");
        let other = if ip == std::net::Ipv4Addr::new(10, 96, 0, 99) {
            "10.96.0.98"
        } else {
            "10.96.0.99"
        };
        let diags = c.apply(
            &format!("apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec:\n  type: NodePort\n  clusterIP: {other}\n  selector: {{app: web}}\n  ports: [{{port: 80, targetPort: http, nodePort: 30080}}]\n"),
            0,
            0,
        );
        assert_eq!(
            messages(&diags),
            [format!(
                "The Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value: []string{{\"{other}\"}}: may not change once set"
            )]
        );
        assert_eq!(diags[0].field.as_deref(), Some("spec.clusterIPs[0]"));
        // A Local LoadBalancer's healthCheckNodePort is immutable.
        let lb = "apiVersion: v1\nkind: Service\nmetadata: {name: lb}\nspec: {type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: 30999, selector: {app: web}, ports: [{port: 80}]}\n";
        assert!(c.apply(lb, 1, 0).is_empty());
        let diags = c.apply(&lb.replace("30999", "30998"), 2, 0);
        assert_eq!(
            messages(&diags),
            [
                "The Service \"lb\" is invalid: spec.healthCheckNodePort: Forbidden: field is immutable"
            ]
        );
    }

    /// `ValidatePodUpdate`: only images (and metadata) may change; the apps/v1 strategies
    /// keep selectors immutable; a StatefulSet's spec outside its mutable fields is too.
    #[test]
    fn pod_and_workload_updates_keep_their_immutable_fields() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: one, labels: {app: one}}\nspec: {containers: [{name: c, image: nginx:1.26, ports: [{containerPort: 80}]}]}\n";
        let mut c = cluster(&format!("{WEB}---\n{pod}"));
        let diags = c.apply(
            &pod.replace("containerPort: 80", "containerPort: 8080"),
            0,
            0,
        );
        assert_eq!(messages(&diags).len(), 1);
        assert!(
            messages(&diags)[0].starts_with("The Pod \"one\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"),
            "{diags:?}"
        );
        let one = c.pod_by_name("default", "one").expect("one");
        assert_eq!(c.pods[one].containers[0].ports[0].port, 80);
        // A new image and new labels are an update the API server takes.
        let diags = c.apply(
            &pod.replace("nginx:1.26", "nginx:1.27")
                .replace("app: one", "app: uno"),
            1,
            0,
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(c.pods[one].containers[0].image, "nginx:1.27");
        assert_eq!(
            c.pods[one].labels.get("app").map(String::as_str),
            Some("uno")
        );

        let deploy = WEB.split("---").next().expect("deployment");
        let diags = c.apply(
            &deploy
                .replace(
                    "matchLabels: {app: web}",
                    "matchLabels: {app: web, tier: front}",
                )
                .replace("labels: {app: web}", "labels: {app: web, tier: front}"),
            2,
            0,
        );
        assert_eq!(
            messages(&diags),
            [
                "The Deployment \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"tier\":\"front\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
            ]
        );

        let sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  serviceName: db\n  replicas: 1\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: c, image: postgres}]}\n";
        assert!(c.apply(sts, 3, 0).is_empty());
        assert!(
            c.apply(&sts.replace("replicas: 1", "replicas: 2"), 4, 0)
                .is_empty()
        );
        let diags = c.apply(
            &sts.replace("serviceName: db", "serviceName: database"),
            5,
            0,
        );
        assert_eq!(
            messages(&diags),
            [
                "The StatefulSet \"db\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
            ]
        );
    }

    #[test]
    fn delete_objects() {
        let mut c = cluster(WEB);
        c.delete("Service", "default", "web", 0).expect("svc");
        assert!(c.service_by_name("default", "web").is_none());
        // Its nodePort is free again.
        let diags = c.apply(
            "apiVersion: v1\nkind: Service\nmetadata: {name: again}\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{port: 80, nodePort: 30080}]\n",
            0,
            0,
        );
        assert!(diags.is_empty(), "{diags:?}");
        c.delete("deployment", "default", "web", 0).expect("deploy");
        assert_eq!(running(&c), 0);
        assert!(c.delete("Service", "default", "web", 0).is_err());
        assert!(c.delete("ConfigMap", "default", "x", 0).is_err());
    }

    #[test]
    fn statefulset_pod_comes_back_with_its_name() {
        let mut c = cluster(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  serviceName: db\n  replicas: 2\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: c, image: postgres}]}\n",
        );
        c.delete_pod("default", "db-1", 0).expect("delete");
        let live = c
            .pods
            .iter()
            .filter(|p| p.alive() && !p.terminating() && p.name == "db-1")
            .count();
        assert_eq!(live, 1);
        c.scale("default", "db", 1, 0).expect("scale");
        assert!(
            c.pods
                .iter()
                .filter(|p| p.name == "db-1")
                .all(|p| p.terminating() || !p.alive())
        );
    }
}
