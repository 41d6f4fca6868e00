//! Advice from good practice: `simctl lint`.
//!
//! Lint findings are not errors: the input is valid and simulates. Each is a
//! [`Diagnostic`] with a stable code ([`CODES`]), a one-line why, the object's field with
//! its place in the input, and a help line with the fix. Severity is `warning` for what
//! is likely to hurt (a Service open to anyone, a lost source address) and `note` for
//! habits worth having.
//!
//! Silencing, from narrowest to widest:
//! - the annotation `simctl/lint-ignore: "UnnamedPort,PodWithoutPolicy"` on an object
//!   (for a workload, on the workload or on its pod template) silences those codes for
//!   that object (`all` silences every code);
//! - the same annotation on the Scenario document silences them for the whole input;
//! - [`LintOptions::allow`] (`simctl lint --allow CODE`) likewise.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cluster::build::BuildOptions;
use crate::cluster::{
    self, Cluster, NodePortAddresses, Origin, PodId, ServiceId, ServiceType, TargetPort,
};
use crate::diag::{Diagnostic, Severity};
use crate::manifest::{Loaded, LoadedObject};
use crate::objects::Object;
use crate::policy::{self, Direction, Peer};

/// The annotation that silences lint codes on an object or on the Scenario.
pub const IGNORE_ANNOTATION: &str = "simctl/lint-ignore";

/// A Service annotation saying its backends need the client's source address (for
/// logging, allow-lists, rate limits): `simctl/needs-source-ip: "true"`.
pub const SOURCE_IP_ANNOTATION: &str = "simctl/needs-source-ip";

/// Every lint code, its severity and what it means.
pub const CODES: &[(&str, Severity, &str)] = &[
    (
        "NodePortOnEveryNode",
        Severity::Note,
        "a NodePort opens on every node, whether or not a pod of the Service runs there",
    ),
    (
        "UnnamedPort",
        Severity::Note,
        "a Service port without a name",
    ),
    (
        "NumericTargetPortWhereNamed",
        Severity::Note,
        "a targetPort given by number where the pods name that port",
    ),
    (
        "NodePortWithoutPolicy",
        Severity::Warning,
        "a Service reachable from outside whose pods no NetworkPolicy protects",
    ),
    (
        "PodWithoutPolicy",
        Severity::Note,
        "pods that no NetworkPolicy selects for ingress accept connections from anywhere",
    ),
    (
        "ClusterPolicyLosesSourceIP",
        Severity::Warning,
        "externalTrafficPolicy Cluster hides the client's address where the input says it matters",
    ),
    (
        "SelectorMatchesNoPod",
        Severity::Warning,
        "a Service selector that matches no pod: the Service has no endpoints",
    ),
    (
        "NoReadinessProbe",
        Severity::Note,
        "a container behind a Service without a readinessProbe gets traffic before it is ready",
    ),
    (
        "ContainerPortMyth",
        Severity::Warning,
        "a Service sends to a containerPort the image does not listen on: containerPort opens nothing",
    ),
    (
        "ExternalIPsInUse",
        Severity::Warning,
        "spec.externalIPs lets a Service capture traffic to any address (CVE-2020-8554)",
    ),
];

/// What to leave out.
#[derive(Clone, Debug, Default)]
pub struct LintOptions {
    /// Codes not to report (`--allow`).
    pub allow: BTreeSet<String>,
}

/// The findings.
#[derive(Clone, Debug, Default)]
pub struct Lint {
    /// In input order (file, then position), then by code.
    pub diagnostics: Vec<Diagnostic>,
    /// Findings left out by an annotation or `--allow`.
    pub silenced: usize,
}

/// The severity of a code (`note` for one not in [`CODES`]).
pub fn severity(code: &str) -> Severity {
    CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map_or(Severity::Note, |(_, s, _)| *s)
}

/// Lint the loaded input, against the cluster it builds (before any Scenario event).
pub fn lint(loaded: &Loaded, opts: &LintOptions) -> Lint {
    let cluster = cluster::build(loaded, &BuildOptions::default());
    let mut l = Linter {
        loaded,
        cluster: &cluster,
        opts,
        global: loaded
            .scenario
            .as_ref()
            .map(|s| parse_ignore(s.doc.metadata.annotations.get(IGNORE_ANNOTATION)))
            .unwrap_or_default(),
        out: Lint::default(),
    };
    l.services();
    l.workloads();
    let mut out = l.out;
    out.diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.span.map(|s| (s.source.0, s.offset));
        // Spanned findings first, in input order.
        (key(a).is_none(), key(a), &a.code).cmp(&(key(b).is_none(), key(b), &b.code))
    });
    out
}

fn parse_ignore(value: Option<&String>) -> BTreeSet<String> {
    value
        .map(|v| {
            v.split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

struct Linter<'a> {
    loaded: &'a Loaded,
    cluster: &'a Cluster,
    opts: &'a LintOptions,
    global: BTreeSet<String>,
    out: Lint,
}

impl Linter<'_> {
    fn services(&mut self) {
        let c = self.cluster;
        for (si, svc) in c.services.iter().enumerate() {
            let Origin::Object(index) = svc.origin else {
                continue;
            };
            if !svc.alive {
                continue;
            }
            let Some(obj) = self.loaded.objects.get(index) else {
                continue;
            };
            let name = &svc.name;
            let pods: Vec<PodId> = c.selected_pods(si);
            let external = matches!(svc.type_, ServiceType::NodePort | ServiceType::LoadBalancer);

            // ExternalIPsInUse
            if !svc.external_ips.is_empty() {
                let ips: Vec<String> = svc.external_ips.iter().map(ToString::to_string).collect();
                self.report_with(
                    index,
                    "ExternalIPsInUse",
                    "spec.externalIPs",
                    format!(
                        "Service {name} claims externalIPs {}: any Service may claim any address this way, which is why clusters usually forbid the field (CVE-2020-8554)",
                        ips.join(", ")
                    ),
                    "use a LoadBalancer Service (or an Ingress/Gateway) for an outside address; if you keep externalIPs, restrict who may set them with an admission policy".into(), &[]);
            }

            // SelectorMatchesNoPod
            if let Some(sel) = &svc.selector
                && !sel.is_empty()
                && pods.is_empty()
            {
                let s: Vec<String> = sel.iter().map(|(k, v)| format!("{k}={v}")).collect();
                self.report_with(
                    index,
                    "SelectorMatchesNoPod",
                    "spec.selector",
                    format!(
                        "the selector {} of Service {name} matches no pod in namespace {}: the Service has no endpoints and connections to it are refused",
                        s.join(","),
                        svc.namespace
                    ),
                    "make the selector match the labels of the pod template (`kubectl get pods --show-labels`)".into(), &[]);
            }

            // NodePortOnEveryNode, NodePortWithoutPolicy
            if external && let Some(pi) = svc.ports.iter().position(|p| p.node_port.is_some()) {
                let np = svc.ports[pi].node_port.unwrap_or_default();
                let nodes: Vec<String> = c
                    .nodes
                    .iter()
                    .map(|n| format!("{} {}", n.name, n.ip))
                    .collect();
                let every_address = c.config.proxy.node_port_addresses == NodePortAddresses::All;
                let field = format!("spec.ports[{pi}].nodePort");
                let with_pods: BTreeSet<usize> = pods
                    .iter()
                    .filter_map(|&p| c.pods.get(p).map(|p| p.node))
                    .collect();
                let without = c.nodes.len().saturating_sub(with_pods.len());
                self.report_with(
                    index,
                    "NodePortOnEveryNode",
                    &field,
                    format!(
                        "Service {name} opens NodePort {np} on every node ({}){}, {}",
                        nodes.join(", "),
                        if every_address { " and on every address of each" } else { "" },
                        if without > 0 {
                            format!("{without} of them running no pod of it")
                        } else {
                            "whether or not a pod of it runs there".into()
                        }
                    ),
                    "publish it through a LoadBalancer, an Ingress or a Gateway instead, or limit where NodePorts answer (kube-proxy --nodeport-addresses, a firewall)".into(), &[]);
                let open: Vec<PodId> = pods
                    .iter()
                    .copied()
                    .filter(|&p| c.pods.get(p).is_some_and(|x| !x.host_network))
                    .filter(|&p| !isolated(c, p))
                    .collect();
                if !open.is_empty() {
                    let sel = svc
                        .selector
                        .iter()
                        .flatten()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",");
                    self.report_with(
                        index,
                        "NodePortWithoutPolicy",
                        "spec.type",
                        format!(
                            "Service {name} (type {}) is open to the outside, and no NetworkPolicy selects {} of its {} pod{}: whoever reaches a node reaches them",
                            svc.type_.as_str(),
                            open.len(),
                            pods.len(),
                            if pods.len() == 1 { "" } else { "s" }
                        ),
                        format!(
                            "add a NetworkPolicy in namespace {} with podSelector {sel} that allows ingress only from the sources that need it",
                            svc.namespace
                        ), &[]);
                }
            }

            // ClusterPolicyLosesSourceIP
            if (external || !svc.external_ips.is_empty())
                && !svc.external_traffic_local
                && let Some(why) = self.source_ip_matters(si, obj)
            {
                self.report_with(
                    index,
                    "ClusterPolicyLosesSourceIP",
                    "spec.externalTrafficPolicy",
                    format!(
                        "Service {name} has externalTrafficPolicy: Cluster, so its pods see a node's address instead of the client's, but {why}"
                    ),
                    "set externalTrafficPolicy: Local: the node then keeps the client's address and sends only to its own pods (a node without one drops the traffic; a load balancer's health checks steer around it)".into(), &[]);
            }

            // ContainerPortMyth
            for (pi, sp) in svc.ports.iter().enumerate() {
                if let Some((message, help)) = container_port_myth(c, name, sp, &pods) {
                    self.report_with(
                        index,
                        "ContainerPortMyth",
                        &format!("spec.ports[{pi}].targetPort"),
                        message,
                        help,
                        &[],
                    );
                }
            }

            // UnnamedPort
            for (pi, p) in svc.ports.iter().enumerate() {
                if p.name.is_empty() {
                    self.report_with(
                        index,
                        "UnnamedPort",
                        &format!("spec.ports[{pi}]"),
                        format!("port {} of Service {name} has no name", p.port),
                        "name it (`name: http`): a second port will need names anyway, and a name tells NetworkPolicies, meshes and readers what it carries".into(), &[]);
                }
            }

            // NumericTargetPortWhereNamed
            for (pi, p) in svc.ports.iter().enumerate() {
                let TargetPort::Number(n) = p.target else {
                    continue;
                };
                let mut names: BTreeSet<String> = BTreeSet::new();
                let mut unnamed = false;
                for &pod in &pods {
                    let Some(pod) = c.pods.get(pod) else { continue };
                    for dp in pod.containers.iter().flat_map(|k| k.ports.iter()) {
                        if dp.port == n && dp.protocol == p.protocol {
                            match &dp.name {
                                Some(nm) if !nm.is_empty() => {
                                    names.insert(nm.clone());
                                }
                                _ => unnamed = true,
                            }
                        }
                    }
                }
                if names.len() == 1
                    && !unnamed
                    && let Some(port_name) = names.into_iter().next()
                {
                    let field = format!("spec.ports[{pi}].targetPort");
                    let written = obj.node.locate(&field).1;
                    let message = format!(
                        "Service {name} sends to targetPort {n} by number, but its pods name that port `{port_name}`"
                    );
                    let help = format!(
                        "use `targetPort: {port_name}`: the Service then follows the pods if the port number changes"
                    );
                    if let Some(d) = self.report_with(
                        index,
                        "NumericTargetPortWhereNamed",
                        &field,
                        message,
                        help,
                        &[],
                    ) && written
                    {
                        d.suggestion = Some(port_name);
                    }
                }
            }
        }
    }

    /// Why the input says the source address of traffic to Service `si` matters, if it does.
    fn source_ip_matters(&self, si: ServiceId, obj: &LoadedObject) -> Option<String> {
        let c = self.cluster;
        let svc = c.services.get(si)?;
        if obj
            .object
            .meta()
            .annotations
            .as_ref()
            .and_then(|a| a.get(SOURCE_IP_ANNOTATION))
            .is_some_and(|v| v == "true")
        {
            return Some(format!(
                "its annotation {SOURCE_IP_ANNOTATION} says the backends need it"
            ));
        }
        let scenario = self.loaded.scenario.as_ref()?;
        let spec = &scenario.doc.spec;
        for (ei, x) in spec.expect.iter().enumerate() {
            let Some(want) = &x.source_ip else { continue };
            let wants_client =
                want == "client" || c.clients.iter().any(|k| k.ip.to_string() == *want);
            if !wants_client {
                continue;
            }
            let Some(t) = spec
                .traffic
                .iter()
                .find(|t| Some(&t.name) == x.traffic.as_ref())
            else {
                continue;
            };
            let Some((host, port)) = t.to.as_deref().and_then(crate::scenario::split_host_port)
            else {
                continue;
            };
            let ip = host
                .parse::<std::net::Ipv4Addr>()
                .ok()
                .or_else(|| c.node_by_name(host).map(|n| c.nodes[n].ip));
            let Some(ip) = ip else { continue };
            let proto = t
                .protocol
                .as_deref()
                .and_then(crate::net::Protocol::parse)
                .unwrap_or_default();
            let via_node_port = c.node_by_ip(ip).is_some()
                && svc
                    .ports
                    .iter()
                    .any(|p| p.node_port == Some(port) && p.protocol == proto);
            let via_address = (svc.lb_ips.contains(&ip) || svc.external_ips.contains(&ip))
                && svc
                    .ports
                    .iter()
                    .any(|p| p.port == port && p.protocol == proto);
            if via_node_port || via_address {
                let field = format!("spec.expect[{ei}].sourceIP");
                let span = scenario.node.locate(&field).0;
                let _ = span;
                return Some(format!(
                    "the Scenario expects traffic {} to arrive with the client's address ({field}: {want})",
                    t.name
                ));
            }
        }
        None
    }

    /// PodWithoutPolicy and NoReadinessProbe, once per object that makes pods.
    fn workloads(&mut self) {
        let c = self.cluster;
        let mut by_origin: BTreeMap<usize, Vec<PodId>> = BTreeMap::new();
        for (pi, p) in c.pods.iter().enumerate() {
            if let Origin::Object(i) | Origin::Workload(i) = p.origin
                && p.alive()
            {
                by_origin.entry(i).or_default().push(pi);
            }
        }
        let behind_service: BTreeSet<PodId> = c
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| s.alive)
            .flat_map(|(si, _)| c.selected_pods(si))
            .collect();
        for (index, pods) in by_origin {
            let Some(obj) = self.loaded.objects.get(index) else {
                continue;
            };
            let Some((spec, spec_path, template_meta)) = pod_template(&obj.object) else {
                continue;
            };
            let kind = obj.object.kind();
            let name = obj.object.name().to_string();
            let ns = obj.object.namespace().unwrap_or("default").to_string();
            let extra: Vec<&ObjectMeta> = template_meta.into_iter().collect();
            let labels_field = if spec_path == "spec" {
                "metadata.labels".to_string()
            } else {
                "spec.template.metadata.labels".to_string()
            };
            let open = pods
                .iter()
                .any(|&p| c.pods.get(p).is_some_and(|x| !x.host_network) && !isolated(c, p));
            if open {
                let ns_has_policy = c.policies.iter().any(|p| p.alive && p.namespace == ns);
                let message = format!(
                    "the pods of {kind} {name} accept connections from anywhere: no NetworkPolicy selects them for ingress{}",
                    if ns_has_policy {
                        String::new()
                    } else {
                        format!(" (namespace {ns} has none)")
                    }
                );
                let help = format!(
                    "add a default-deny policy to namespace {ns} (podSelector: {{}}, policyTypes: [Ingress]) and a policy per app that allows what it needs"
                );
                self.report_with(
                    index,
                    "PodWithoutPolicy",
                    &labels_field,
                    message,
                    help,
                    &extra,
                );
            }
            if pods.iter().any(|p| behind_service.contains(p)) {
                for (ci, k) in spec.containers.iter().enumerate() {
                    if k.readiness_probe.is_none() {
                        let message = format!(
                            "container {} of {kind} {name} is behind a Service but has no readinessProbe: it gets connections as soon as it starts, before the app listens",
                            k.name
                        );
                        self.report_with(
                            index,
                            "NoReadinessProbe",
                            &format!("{spec_path}.containers[{ci}]"),
                            message,
                            "add a readinessProbe (tcpSocket or httpGet on the port the app serves) so the pod joins the Service's endpoints only when it answers".into(),
                            &extra,
                        );
                    }
                }
            }
        }
    }

    /// Report with the object's and `extra` metadata's ignore annotations.
    fn report_with(
        &mut self,
        index: usize,
        code: &str,
        field: &str,
        message: String,
        help: String,
        extra: &[&ObjectMeta],
    ) -> Option<&mut Diagnostic> {
        let obj = self.loaded.objects.get(index)?;
        let mut ignored = parse_ignore(
            obj.object
                .meta()
                .annotations
                .as_ref()
                .and_then(|a| a.get(IGNORE_ANNOTATION)),
        );
        for m in extra {
            ignored.extend(parse_ignore(
                m.annotations
                    .as_ref()
                    .and_then(|a| a.get(IGNORE_ANNOTATION)),
            ));
        }
        ignored.extend(self.global.iter().cloned());
        if self.opts.allow.contains(code)
            || ignored.contains(code)
            || ignored.contains("all")
            || ignored.contains("*")
        {
            self.out.silenced += 1;
            return None;
        }
        self.out.diagnostics.push(
            Diagnostic::new(severity(code), code, message)
                .at(obj.locate(field))
                .field(field)
                .help(help),
        );
        self.out.diagnostics.last_mut()
    }
}

/// The containerPort myth on one Service port: its targetPort is a port a container of
/// the selected pods declares, that the container's image (simctl's table) does not
/// listen on, and that no other container of the pod serves. The words and the fix,
/// for the first such pod.
fn container_port_myth(
    c: &Cluster,
    service: &str,
    sp: &cluster::SimServicePort,
    pods: &[PodId],
) -> Option<(String, String)> {
    for &pid in pods {
        let pod = c.pods.get(pid)?;
        fn declared<'k>(
            k: &'k cluster::SimContainer,
            sp: &cluster::SimServicePort,
        ) -> Option<&'k cluster::DeclaredPort> {
            k.ports.iter().find(|d| {
                d.protocol == sp.protocol
                    && match &sp.target {
                        TargetPort::Number(n) => d.port == *n,
                        TargetPort::Name(n) => d.name.as_deref() == Some(n.as_str()),
                    }
            })
        }
        let Some((k, d)) = pod
            .containers
            .iter()
            .find_map(|k| declared(k, sp).map(|d| (k, d)))
        else {
            continue;
        };
        let cluster::ListenSource::Image { image, .. } = &k.listen.source else {
            continue;
        };
        let served = pod.containers.iter().any(|q| {
            q.crash.is_none()
                && q.listen
                    .sockets
                    .iter()
                    .any(|s| s.port == d.port && s.protocol == d.protocol)
        });
        if served {
            continue;
        }
        let listens: Vec<String> = k
            .listen
            .sockets
            .iter()
            .filter(|s| s.protocol == sp.protocol && s.bind != cluster::Bind::Loopback)
            .map(|s| s.port.to_string())
            .collect();
        let message = format!(
            "Service {service} sends to port {} of pod {}, which container {} declares as containerPort, but {image} listens on {}: a containerPort is documentation and opens nothing, so connections are refused",
            d.port,
            pod.name,
            k.name,
            if listens.is_empty() {
                "nothing".to_string()
            } else {
                listens.join(", ")
            }
        );
        let help = match listens.first() {
            Some(p) => format!(
                "set targetPort to {p} (and containerPort to match), or configure the image to listen on {} (its config file, flags or variables)",
                d.port
            ),
            None => format!(
                "make the container serve {} (its config file, flags or variables)",
                d.port
            ),
        };
        return Some((message, help));
    }
    None
}

/// Whether some live NetworkPolicy selects the pod for ingress.
fn isolated(c: &Cluster, pod: PodId) -> bool {
    let probe = Peer {
        ip: std::net::Ipv4Addr::new(192, 0, 2, 1),
        pod: None,
    };
    !policy::check(
        c,
        pod,
        Direction::Ingress,
        probe,
        1,
        crate::net::Protocol::Tcp,
    )
    .isolating
    .is_empty()
}

fn tmpl(
    t: &k8s_openapi::api::core::v1::PodTemplateSpec,
) -> Option<(&PodSpec, Option<&ObjectMeta>)> {
    t.spec.as_ref().map(|s| (s, t.metadata.as_ref()))
}

/// The pod spec an object makes pods from, its field path, and the template's metadata.
fn pod_template(o: &Object) -> Option<(&PodSpec, &'static str, Option<&ObjectMeta>)> {
    let (spec, meta) = match o {
        Object::Pod(p) => return p.spec.as_ref().map(|s| (s, "spec", None)),
        Object::Deployment(d) => tmpl(&d.spec.as_ref()?.template)?,
        Object::ReplicaSet(r) => tmpl(r.spec.as_ref()?.template.as_ref()?)?,
        Object::ReplicationController(r) => tmpl(r.spec.as_ref()?.template.as_ref()?)?,
        Object::StatefulSet(s) => tmpl(&s.spec.as_ref()?.template)?,
        Object::DaemonSet(d) => tmpl(&d.spec.as_ref()?.template)?,
        _ => return None,
    };
    Some((spec, "spec.template.spec", meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LoadOptions, load_str};

    const SVC: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80}]
"#;

    fn codes(yaml: &str, allow: &[&str]) -> (Vec<String>, usize) {
        let (_, loaded) = load_str("l.yaml", yaml, &LoadOptions::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let opts = LintOptions {
            allow: allow.iter().map(|s| s.to_string()).collect(),
        };
        let l = lint(&loaded, &opts);
        (
            l.diagnostics.into_iter().map(|d| d.code).collect(),
            l.silenced,
        )
    }

    /// Stock nginx declaring 8080 behind targetPort 8080: the containerPort myth. The same
    /// pod with its configuration mounted, or a targetPort of 80, is fine.
    #[test]
    fn the_container_port_myth() {
        let app = |extra: &str, target: &str| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, labels: {{app: web}}}}\nspec:\n  containers:\n    - {{name: web, image: nginx:1.27, ports: [{{name: http, containerPort: 8080}}]{extra}}}\n  volumes: [{{name: conf, configMap: {{name: conf}}}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec: {{selector: {{app: web}}, ports: [{{name: http, port: 80, targetPort: {target}}}]}}\n"
            )
        };
        let myth = |yaml: &str| codes(yaml, &[]).0.iter().any(|c| c == "ContainerPortMyth");
        assert!(myth(&app("", "8080")));
        assert!(
            myth(&app("", "http")),
            "a named targetPort is the same port"
        );
        assert!(!myth(&app(
            ", volumeMounts: [{name: conf, mountPath: /etc/nginx/conf.d}]",
            "8080"
        )));
        assert!(!myth(&app("", "80")));
        assert_eq!(severity("ContainerPortMyth"), Severity::Warning);
        let (_, loaded) = load_str("l.yaml", &app("", "8080"), &LoadOptions::default());
        let l = lint(&loaded, &LintOptions::default());
        let d = l
            .diagnostics
            .iter()
            .find(|d| d.code == "ContainerPortMyth")
            .expect("myth");
        assert_eq!(d.field.as_deref(), Some("spec.ports[0].targetPort"));
        assert!(
            d.message.contains("nginx:1.27 listens on 80"),
            "{}",
            d.message
        );
        assert!(
            d.help
                .as_deref()
                .unwrap_or("")
                .starts_with("set targetPort to 80")
        );
    }

    #[test]
    fn codes_in_input_order_with_severities() {
        let (found, silenced) = codes(SVC, &[]);
        assert_eq!(
            found,
            [
                "PodWithoutPolicy",
                "NoReadinessProbe",
                "NodePortWithoutPolicy",
                // Same place (`{port: 80}` writes neither field): by code.
                "NodePortOnEveryNode",
                "NumericTargetPortWhereNamed",
                "UnnamedPort",
            ]
        );
        assert_eq!(silenced, 0);
        assert_eq!(severity("NodePortWithoutPolicy"), Severity::Warning);
        assert_eq!(severity("UnnamedPort"), Severity::Note);
    }

    #[test]
    fn the_scenario_annotation_and_allow_silence() {
        let scenario = format!(
            "apiVersion: simctl/v1alpha1\nkind: Scenario\nmetadata:\n  name: s\n  annotations: {{simctl/lint-ignore: \"UnnamedPort NoReadinessProbe\"}}\n---{SVC}"
        );
        let (found, silenced) = codes(&scenario, &["PodWithoutPolicy"]);
        assert!(
            !found
                .iter()
                .any(|c| c == "UnnamedPort" || c == "NoReadinessProbe" || c == "PodWithoutPolicy")
        );
        assert_eq!(silenced, 3);
        let all = SVC.replace(
            "metadata: {name: web}\nspec:\n  type",
            "metadata: {name: web, annotations: {simctl/lint-ignore: all}}\nspec:\n  type",
        );
        let (found, _) = codes(&all, &[]);
        assert_eq!(found, ["PodWithoutPolicy", "NoReadinessProbe"]);
    }

    #[test]
    fn the_source_ip_annotation_asks_for_local() {
        let yaml = SVC.replace(
            "metadata: {name: web}",
            "metadata: {name: web, annotations: {simctl/needs-source-ip: \"true\"}}",
        );
        let (found, _) = codes(&yaml, &[]);
        assert!(
            found.iter().any(|c| c == "ClusterPolicyLosesSourceIP"),
            "{found:?}"
        );
        let local = yaml.replace(
            "type: NodePort",
            "type: NodePort\n  externalTrafficPolicy: Local",
        );
        let (found, _) = codes(&local, &[]);
        assert!(
            !found.iter().any(|c| c == "ClusterPolicyLosesSourceIP"),
            "{found:?}"
        );
    }
}
