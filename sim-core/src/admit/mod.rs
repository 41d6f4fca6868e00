//! # Admission: the control plane's verdict on an input
//!
//! `simctl check` and `simctl run` never disagree about whether an input is valid, because
//! both ask [`admit`]. It builds the cluster exactly as a run does ([`cluster::build`],
//! the same code path, without traffic) and judges what the API server would have said:
//!
//! 1. **Load errors** (YAML, schema, defaults and validation, [`crate::manifest::load`])
//!    make the input invalid; nothing is built.
//! 2. **Refusals**: an error the control plane raises while it creates the objects in
//!    stream order (a nodePort or ClusterIP already allocated, a ClusterIP outside
//!    serviceCIDR, a full range, a healthCheckNodePort taken) makes the input invalid,
//!    unless an `expect: - diagnostic:` entry of the Scenario *claims* it (matches it by
//!    field, text and code). A claimed refusal is part of the exercise: the object is not
//!    created, as after a failed `kubectl apply`, and the run goes on; the exit status
//!    then follows the expectations.
//! 3. **References**: every name the Scenario uses (a traffic's `from`, an event's pod,
//!    node or workload, an expectation's traffic) must name something
//!    ([`references`]); a dangling one is an error at its line, with a did-you-mean.
//!
//! The cluster it built is handed to the engine ([`crate::engine::run_on`]), so a run
//! builds once.

pub mod references;

use crate::cluster::build::BuildOptions;
use crate::cluster::{self, Cluster};
use crate::diag::Diagnostic;
use crate::manifest::Loaded;
use crate::scenario::DiagnosticExpectation;

/// The verdict on one input.
#[derive(Clone, Debug)]
pub struct Admission {
    /// The cluster as built; `None` when the input has load errors (nothing is built).
    pub cluster: Option<Cluster>,
    /// The control plane's refusals (claimed ones marked as such), then dangling
    /// references: errors only. What the rest of the cluster reports (a pod the
    /// scheduler cannot place, ...) is the run's to tell; load diagnostics are not
    /// repeated here.
    pub diagnostics: Vec<Diagnostic>,
    /// Errors among `diagnostics` that an expectation claims.
    pub claimed: usize,
    /// No load error, no unclaimed refusal, no dangling reference.
    pub valid: bool,
}

/// Build the control plane for `loaded` and judge it (see the module docs).
pub fn admit(loaded: &Loaded, opts: &BuildOptions) -> Admission {
    if loaded.has_errors() {
        return Admission {
            cluster: None,
            diagnostics: Vec::new(),
            claimed: 0,
            valid: false,
        };
    }
    let mut cluster = cluster::build(loaded, opts);
    let claims: Vec<(usize, &DiagnosticExpectation)> = loaded
        .scenario
        .iter()
        .flat_map(|s| s.doc.spec.expect.iter().enumerate())
        .filter(|(_, x)| x.traffic.is_none())
        .filter_map(|(i, x)| Some((i, x.diagnostic.as_ref()?)))
        .collect();
    let mut valid = true;
    let mut claimed = 0;
    for d in cluster.diagnostics.iter_mut().filter(|d| d.is_error()) {
        match claims.iter().find(|(_, x)| claims_diagnostic(x, d)) {
            Some((i, _)) => {
                claimed += 1;
                d.help = Some(format!(
                    "claimed by spec.expect[{i}]: the object is not created, as after a failed `kubectl apply`, and the run goes on"
                ));
            }
            None => valid = false,
        }
    }
    let mut diagnostics: Vec<Diagnostic> = cluster
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    let dangling = references::check(loaded, &cluster);
    valid &= dangling.is_empty();
    diagnostics.extend(dangling);
    Admission {
        cluster: Some(cluster),
        diagnostics,
        claimed,
        valid,
    }
}

/// For commands that only need a yes or no: admit `loaded` and, when the input is
/// invalid, add what made it so to `loaded.diagnostics` (so `has_errors` says it). A
/// valid input's diagnostics are left alone: the run that follows reports them.
pub fn fold_into(loaded: &mut Loaded, opts: &BuildOptions) {
    let admission = admit(loaded, opts);
    if !admission.valid {
        loaded.diagnostics.extend(admission.diagnostics);
    }
}

/// Whether an `expect: - diagnostic:` entry matches `d`: every part it gives (field,
/// text contained in the message, code) must match.
pub fn claims_diagnostic(x: &DiagnosticExpectation, d: &Diagnostic) -> bool {
    x.field
        .as_ref()
        .is_none_or(|f| d.field.as_deref() == Some(f.as_str()))
        && x.contains
            .as_ref()
            .is_none_or(|c| d.message.contains(c.as_str()))
        && x.code.as_ref().is_none_or(|c| &d.code == c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LoadOptions, load_str};

    fn admit_str(yaml: &str) -> Admission {
        let (_, loaded) = load_str("t.yaml", yaml, &LoadOptions::default());
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        admit(&loaded, &BuildOptions::default())
    }

    fn errors(a: &Admission) -> Vec<&str> {
        a.diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.as_str())
            .collect()
    }

    const TWO: &str = "apiVersion: v1
kind: Service
metadata: {name: a}
spec: {type: NodePort, selector: {app: a}, ports: [{port: 53, protocol: TCP, nodePort: 30053}]}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {type: NodePort, selector: {app: b}, ports: [{port: 53, protocol: UDP, nodePort: 30053}]}
";

    /// NodePorts are allocated by number, whatever the protocol (portallocator): the same
    /// nodePort for TCP in one Service and UDP in another is refused, and that refusal
    /// makes the input invalid.
    #[test]
    fn a_refusal_makes_the_input_invalid() {
        let a = admit_str(TWO);
        assert!(!a.valid);
        assert_eq!(a.claimed, 0);
        assert_eq!(
            errors(&a),
            [
                "The Service \"b\" is invalid: spec.ports[0].nodePort: Invalid value: 30053: provided port is already allocated"
            ]
        );
        let c = a.cluster.expect("built");
        assert!(c.service_by_name("default", "b").is_none());
    }

    /// An `expect: - diagnostic:` entry that matches the refusal claims it: the input is
    /// valid, the object is not created, and the diagnostic says who claimed it.
    #[test]
    fn a_claimed_refusal_is_part_of_the_exercise() {
        let scenario = "apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: s}
spec:
  expect:
    - diagnostic: {contains: not in the valid range}
    - diagnostic: {field: \"spec.ports[0].nodePort\", contains: already allocated}
---
";
        let a = admit_str(&format!("{scenario}{TWO}"));
        assert!(a.valid, "{:#?}", a.diagnostics);
        assert_eq!(a.claimed, 1);
        let d = a.diagnostics.iter().find(|d| d.is_error()).expect("error");
        assert!(
            d.help
                .as_deref()
                .is_some_and(|h| h.starts_with("claimed by spec.expect[1]")),
            "{d:?}"
        );
        // A claim naming another field does not match.
        let other = scenario.replace("spec.ports[0].nodePort", "spec.clusterIP");
        assert!(!admit_str(&format!("{other}{TWO}")).valid);
    }

    /// The refusals of `allocateCreate` the issue lists, each an error: a ClusterIP taken
    /// or outside serviceCIDR, a healthCheckNodePort taken, a full range.
    #[test]
    fn every_refusal_of_the_allocators_is_an_error() {
        let a = admit_str(
            "apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: s}
spec: {cluster: {serviceNodePortRange: 30000-30002, loadBalancer: cloud}}
---
apiVersion: v1
kind: Service
metadata: {name: dns-clash}
spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: away}
spec: {clusterIP: 10.200.0.1, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec: {type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: 30001, ports: [{port: 80, nodePort: 30000}]}
---
apiVersion: v1
kind: Service
metadata: {name: lb2}
spec: {type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: 30001, ports: [{port: 80, nodePort: 30002}]}
---
apiVersion: v1
kind: Service
metadata: {name: full}
spec: {type: NodePort, ports: [{name: a, port: 80}, {name: b, port: 81}, {name: c, port: 82}]}
",
        );
        assert!(!a.valid);
        let e = errors(&a);
        assert_eq!(e.len(), 4, "{e:#?}");
        assert!(
            e[0].ends_with("failed to allocate IP 10.96.0.10: provided IP is already allocated")
        );
        assert!(e[1].ends_with("failed to allocate IP 10.200.0.1: the provided network does not match the current range"));
        assert_eq!(
            e[2],
            "Internal error occurred: failed to allocate requested HealthCheck NodePort 30001: provided port is already allocated"
        );
        assert_eq!(
            e[3],
            "Internal error occurred: failed to allocate a nodePort: range is full"
        );
    }

    #[test]
    fn load_errors_build_nothing() {
        let (_, loaded) = load_str(
            "t.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 0}]}\n",
            &LoadOptions::default(),
        );
        let a = admit(&loaded, &BuildOptions::default());
        assert!(!a.valid && a.cluster.is_none() && a.diagnostics.is_empty());
    }
}
