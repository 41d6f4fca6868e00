use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::json;

use super::*;
use crate::cluster::{
    Config, DeclaredPort, Listen, ListenSource, LoadBalancerMode, Origin, PodPhase, ProxyConfig,
    Readiness, SimContainer, SimNode, SimPolicy,
};
use crate::manifest::{LoadOptions, load_str};
use crate::net::Cidr;
use crate::objects::Object;

/// A small cluster: two nodes, namespaces `default`, `kube-system`, `shop`
/// (`team: shop`), `other` (`team: other`), no pods yet.
fn cluster() -> Cluster {
    let cidr = |s: &str| Cidr::parse(s).expect("cidr");
    let node = |i: u8| SimNode {
        name: format!("node-{i}"),
        ip: Ipv4Addr::new(172, 18, 0, 1 + i),
        extra_ips: Vec::new(),
        labels: BTreeMap::new(),
        pod_cidr: cidr(&format!("10.244.{i}.0/24")),
        up: true,
        origin: Origin::Default,
    };
    let mut namespaces = BTreeMap::new();
    for (ns, extra) in [
        ("default", None),
        ("kube-system", None),
        ("shop", Some(("team", "shop"))),
        ("other", Some(("team", "other"))),
    ] {
        let mut labels = BTreeMap::new();
        labels.insert("kubernetes.io/metadata.name".to_string(), ns.to_string());
        if let Some((k, v)) = extra {
            labels.insert(k.to_string(), v.to_string());
        }
        namespaces.insert(ns.to_string(), labels);
    }
    Cluster {
        config: Config {
            seed: 0,
            cluster_cidr: cidr("10.244.0.0/16"),
            service_cidr: cidr("10.96.0.0/12"),
            node_port_range: (30000, 32767),
            cluster_domain: "cluster.local".to_string(),
            load_balancer: LoadBalancerMode::None,
            proxy: ProxyConfig {
                mode: Default::default(),
                ipvs_scheduler: Default::default(),
                node_port_addresses: Default::default(),
                detect_local: Default::default(),
                localhost_node_ports: true,
                masquerade_all: false,
            },
            latency_ns: 100_000,
            loss: 0.0,
            namespace: None,
        },
        nodes: vec![node(1), node(2)],
        clients: Vec::new(),
        namespaces,
        pods: Vec::new(),
        services: Vec::new(),
        policies: Vec::new(),
        given_endpoints: Vec::new(),
        reserved: Default::default(),
        workloads: Vec::new(),
        diagnostics: Vec::new(),
    }
}

/// Add a pod `ns/name` with `labels` ("k=v,k2=v2"), on node-1, with declared ports
/// (name, port, protocol).
fn pod(
    c: &mut Cluster,
    ns: &str,
    name: &str,
    labels: &str,
    ports: &[(&str, u16, Protocol)],
) -> PodId {
    let id = c.pods.len();
    let labels: BTreeMap<String, String> = labels
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ip = Ipv4Addr::new(10, 244, 1, 10 + u8::try_from(id).expect("few pods"));
    c.pods.push(SimPod {
        namespace: ns.to_string(),
        name: name.to_string(),
        labels,
        annotations: BTreeMap::new(),
        node: 0,
        ip,
        host_network: false,
        dns: Default::default(),
        containers: vec![SimContainer {
            name: "main".to_string(),
            image: "example/app".to_string(),
            ports: ports
                .iter()
                .map(|(n, port, protocol)| DeclaredPort {
                    name: (!n.is_empty()).then(|| n.to_string()),
                    port: *port,
                    protocol: *protocol,
                    host_port: None,
                    host_ip: None,
                })
                .collect(),
            listen: Listen {
                sockets: Vec::new(),
                source: ListenSource::Assumed,
                assumed: Vec::new(),
            },
            readiness_port: None,
            readiness_unresolved: None,
            startup: None,
            field: "containers[0]".to_string(),
            sidecar: false,
            crash: None,
        }],
        ready: true,
        readiness: Readiness::Ready,
        phase: PodPhase::Running,
        termination_grace_ns: 30_000_000_000,
        origin: Origin::Default,
        spec_path: "spec".to_string(),
        owner: None,
        status_ready: None,
        hostname: None,
        subdomain: None,
        applied_spec: None,
    });
    id
}

/// Add a policy from its spec, defaulted as the API server does.
fn policy(c: &mut Cluster, ns: &str, name: &str, spec: serde_json::Value) -> PolicyId {
    let mut np: NetworkPolicy = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }))
    .expect("policy json");
    crate::defaults::pod::default_network_policy(&mut np);
    c.policies.push(SimPolicy {
        namespace: ns.to_string(),
        name: name.to_string(),
        origin: Origin::Default,
        spec: np.spec.expect("spec"),
        alive: true,
    });
    c.policies.len() - 1
}

fn from_pod(c: &Cluster, p: PodId) -> Peer {
    Peer {
        ip: c.pods[p].ip,
        pod: Some(p),
    }
}

fn from_ip(ip: [u8; 4]) -> Peer {
    Peer {
        ip: Ipv4Addr::from(ip),
        pod: None,
    }
}

const TCP: Protocol = Protocol::Tcp;
const UDP: Protocol = Protocol::Udp;

fn ingress(c: &Cluster, to: PodId, from: Peer, port: u16) -> PolicyVerdict {
    check(c, to, Direction::Ingress, from, port, TCP)
}

#[test]
fn not_isolated_allows_everything() {
    let mut c = cluster();
    let web = pod(&mut c, "default", "web", "app=web", &[]);
    let client = pod(&mut c, "default", "client", "app=client", &[]);
    let v = ingress(&c, web, from_pod(&c, client), 80);
    assert_eq!(
        v,
        PolicyVerdict {
            allowed: true,
            isolating: vec![],
            allowed_by: vec![],
            exemption: None,
        }
    );
    assert_eq!(
        v.describe(&c, web, Direction::Ingress, from_pod(&c, client), 80, TCP),
        "allowed: no NetworkPolicy selects pod default/web for ingress"
    );
}

#[test]
fn default_deny_ingress() {
    let mut c = cluster();
    let web = pod(&mut c, "default", "web", "app=web", &[]);
    let client = pod(&mut c, "default", "client", "app=client", &[]);
    let deny = policy(
        &mut c,
        "default",
        "default-deny",
        json!({"podSelector": {}}),
    );
    let peer = from_pod(&c, client);
    let v = ingress(&c, web, peer, 80);
    assert!(!v.allowed);
    assert_eq!(v.isolating, [deny]);
    assert_eq!(
        v.describe(&c, web, Direction::Ingress, peer, 80, TCP),
        format!(
            "denied: pod default/web is selected by default-deny (ingress), and no rule allows {} to port 80/TCP",
            c.pods[client].ip
        )
    );
    // Egress is not isolated by it.
    assert!(check(&c, client, Direction::Egress, from_pod(&c, web), 80, TCP).allowed);
    assert!(
        check(&c, client, Direction::Egress, from_pod(&c, web), 80, TCP)
            .isolating
            .is_empty()
    );
    // A deleted policy no longer applies.
    c.policies[deny].alive = false;
    assert!(ingress(&c, web, peer, 80).allowed);
}

#[test]
fn allow_from_pod_selector() {
    let mut c = cluster();
    let db = pod(&mut c, "default", "db", "app=db", &[]);
    let fe = pod(&mut c, "default", "fe", "app=frontend", &[]);
    let other = pod(&mut c, "default", "x", "app=other", &[]);
    let elsewhere = pod(&mut c, "other", "fe2", "app=frontend", &[]);
    policy(
        &mut c,
        "default",
        "default-deny",
        json!({"podSelector": {}}),
    );
    let allow = policy(
        &mut c,
        "default",
        "allow-frontend",
        json!({
            "podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {"app": "nothing"}}}]},
                {"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}]}
            ]
        }),
    );
    let v = ingress(&c, db, from_pod(&c, fe), 5432);
    assert!(v.allowed);
    assert_eq!(v.isolating, [0, allow]);
    assert_eq!(v.allowed_by, [(allow, 1)]);
    assert_eq!(
        v.describe(&c, db, Direction::Ingress, from_pod(&c, fe), 5432, TCP),
        "allowed by allow-frontend ingress[1]"
    );
    assert!(!ingress(&c, db, from_pod(&c, other), 5432).allowed);
    // podSelector alone means the policy's namespace.
    assert!(!ingress(&c, db, from_pod(&c, elsewhere), 5432).allowed);
    // A pod selector never matches a non-pod address.
    assert!(!ingress(&c, db, from_ip([203, 0, 113, 10]), 5432).allowed);
    // Order of policies does not matter.
    c.policies.reverse();
    assert!(ingress(&c, db, from_pod(&c, fe), 5432).allowed);
}

#[test]
fn match_expressions() {
    let mut c = cluster();
    let db = pod(&mut c, "default", "db", "app=db,tier=data", &[]);
    let a = pod(&mut c, "default", "a", "role=client,env=prod", &[]);
    let b = pod(&mut c, "default", "b", "role=client,env=dev", &[]);
    let d = pod(&mut c, "default", "d", "role=client,debug=1", &[]);
    policy(
        &mut c,
        "default",
        "exprs",
        json!({
            "podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["data", "cache"]}]},
            "ingress": [{"from": [{"podSelector": {"matchExpressions": [
                {"key": "role", "operator": "Exists"},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "debug", "operator": "DoesNotExist"}
            ]}}]}]
        }),
    );
    assert!(ingress(&c, db, from_pod(&c, a), 1).allowed);
    assert!(!ingress(&c, db, from_pod(&c, b), 1).allowed);
    assert!(!ingress(&c, db, from_pod(&c, d), 1).allowed);
}

#[test]
fn namespace_and_pod_selector_in_one_peer_vs_two_peers() {
    let and_spec = json!({
        "podSelector": {"matchLabels": {"app": "db"}},
        "ingress": [{"from": [{
            "namespaceSelector": {"matchLabels": {"team": "shop"}},
            "podSelector": {"matchLabels": {"role": "client"}}
        }]}]
    });
    let or_spec = json!({
        "podSelector": {"matchLabels": {"app": "db"}},
        "ingress": [{"from": [
            {"namespaceSelector": {"matchLabels": {"team": "shop"}}},
            {"podSelector": {"matchLabels": {"role": "client"}}}
        ]}]
    });
    for (spec, shop_client, shop_other, local_client, other_client) in [
        (and_spec, true, false, false, false),
        (or_spec, true, true, true, false),
    ] {
        let mut c = cluster();
        let db = pod(&mut c, "default", "db", "app=db", &[]);
        let sc = pod(&mut c, "shop", "sc", "role=client", &[]);
        let so = pod(&mut c, "shop", "so", "role=batch", &[]);
        let lc = pod(&mut c, "default", "lc", "role=client", &[]);
        let oc = pod(&mut c, "other", "oc", "role=client", &[]);
        policy(&mut c, "default", "p", spec.clone());
        assert_eq!(
            ingress(&c, db, from_pod(&c, sc), 80).allowed,
            shop_client,
            "{spec}"
        );
        assert_eq!(
            ingress(&c, db, from_pod(&c, so), 80).allowed,
            shop_other,
            "{spec}"
        );
        assert_eq!(
            ingress(&c, db, from_pod(&c, lc), 80).allowed,
            local_client,
            "{spec}"
        );
        assert_eq!(
            ingress(&c, db, from_pod(&c, oc), 80).allowed,
            other_client,
            "{spec}"
        );
    }
}

#[test]
fn namespace_selector_by_name_label() {
    let mut c = cluster();
    let db = pod(&mut c, "default", "db", "app=db", &[]);
    // A namespace simctl has no labels for still has its name label.
    let x = pod(&mut c, "unlisted", "x", "a=b", &[]);
    policy(
        &mut c,
        "default",
        "p",
        json!({
            "podSelector": {},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "unlisted"}}}]}]
        }),
    );
    assert!(ingress(&c, db, from_pod(&c, x), 80).allowed);
    // `namespaceSelector: {}`: every pod of every namespace, but no outside address.
    let mut c = cluster();
    let db = pod(&mut c, "default", "db", "app=db", &[]);
    let oc = pod(&mut c, "other", "oc", "", &[]);
    policy(
        &mut c,
        "default",
        "p",
        json!({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]}),
    );
    assert!(ingress(&c, db, from_pod(&c, oc), 80).allowed);
    assert!(!ingress(&c, db, from_ip([203, 0, 113, 10]), 80).allowed);
}

#[test]
fn ip_block_with_except() {
    let mut c = cluster();
    let db = pod(&mut c, "default", "db", "app=db", &[]);
    policy(
        &mut c,
        "default",
        "cidr",
        json!({
            "podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [{"from": [{"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}}]}]
        }),
    );
    assert!(ingress(&c, db, from_ip([172, 17, 0, 9]), 6379).allowed);
    assert!(ingress(&c, db, from_ip([172, 17, 2, 9]), 6379).allowed);
    assert!(!ingress(&c, db, from_ip([172, 17, 1, 9]), 6379).allowed);
    assert!(!ingress(&c, db, from_ip([172, 18, 0, 9]), 6379).allowed);
    // A masqueraded connection is judged on the address it carries: another node's.
    assert!(!ingress(&c, db, from_ip([172, 18, 0, 3]), 6379).allowed);
}

#[test]
fn ip_block_matches_pod_addresses_too() {
    let mut c = cluster();
    let db = pod(&mut c, "default", "db", "app=db", &[]);
    let x = pod(&mut c, "default", "x", "", &[]);
    policy(
        &mut c,
        "default",
        "cidr",
        json!({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/16"}}]}]}),
    );
    assert!(ingress(&c, db, from_pod(&c, x), 80).allowed);
}

#[test]
fn named_ports() {
    let mut c = cluster();
    let web = pod(
        &mut c,
        "default",
        "web",
        "app=web",
        &[("http", 8080, TCP), ("dns", 53, UDP)],
    );
    let client = pod(&mut c, "default", "client", "app=client", &[]);
    policy(
        &mut c,
        "default",
        "named",
        json!({
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"ports": [{"port": "http"}, {"port": "dns", "protocol": "UDP"}, {"port": "nope"}]}]
        }),
    );
    let peer = from_pod(&c, client);
    assert!(ingress(&c, web, peer, 8080).allowed);
    assert!(!ingress(&c, web, peer, 80).allowed);
    assert!(check(&c, web, Direction::Ingress, peer, 53, UDP).allowed);
    // The name resolves with its protocol: `http` is TCP.
    assert!(!check(&c, web, Direction::Ingress, peer, 8080, UDP).allowed);

    // Egress: resolved against the peer pod's ports.
    let mut c = cluster();
    let web = pod(&mut c, "default", "web", "app=web", &[("http", 8080, TCP)]);
    let other = pod(
        &mut c,
        "default",
        "other",
        "app=other",
        &[("http", 9090, TCP)],
    );
    let client = pod(
        &mut c,
        "default",
        "client",
        "app=client",
        &[("http", 7070, TCP)],
    );
    policy(
        &mut c,
        "default",
        "egress-named",
        json!({
            "podSelector": {"matchLabels": {"app": "client"}},
            "policyTypes": ["Egress"],
            "egress": [{"ports": [{"port": "http"}]}]
        }),
    );
    let eg =
        |c: &Cluster, to: Peer, port| check(c, client, Direction::Egress, to, port, TCP).allowed;
    assert!(eg(&c, from_pod(&c, web), 8080));
    assert!(eg(&c, from_pod(&c, other), 9090));
    assert!(!eg(&c, from_pod(&c, web), 9090));
    // Not the client's own `http` port, and nothing for a non-pod.
    assert!(!eg(&c, from_pod(&c, web), 7070));
    assert!(!eg(&c, from_ip([203, 0, 113, 10]), 8080));
}

#[test]
fn end_port_ranges_and_protocols() {
    let mut c = cluster();
    let web = pod(&mut c, "default", "web", "app=web", &[]);
    let peer = from_ip([203, 0, 113, 10]);
    policy(
        &mut c,
        "default",
        "range",
        json!({
            "podSelector": {},
            "ingress": [{"ports": [
                {"port": 32000, "endPort": 32768},
                {"protocol": "UDP"},
                {"protocol": "SCTP", "port": 9}
            ]}]
        }),
    );
    assert!(ingress(&c, web, peer, 32000).allowed);
    assert!(ingress(&c, web, peer, 32500).allowed);
    assert!(ingress(&c, web, peer, 32768).allowed);
    assert!(!ingress(&c, web, peer, 32769).allowed);
    assert!(!ingress(&c, web, peer, 31999).allowed);
    // Any UDP port; SCTP only 9.
    assert!(check(&c, web, Direction::Ingress, peer, 1234, UDP).allowed);
    assert!(check(&c, web, Direction::Ingress, peer, 9, Protocol::Sctp).allowed);
    assert!(!check(&c, web, Direction::Ingress, peer, 10, Protocol::Sctp).allowed);
}

#[test]
fn egress_deny_blocks_and_dns_can_be_allowed() {
    let mut c = cluster();
    let app = pod(&mut c, "default", "app", "app=web", &[]);
    let api = pod(&mut c, "default", "api", "app=api", &[]);
    let dns = pod(
        &mut c,
        "kube-system",
        "coredns-1",
        "k8s-app=kube-dns",
        &[("dns", 53, UDP), ("dns-tcp", 53, TCP)],
    );
    let deny = policy(
        &mut c,
        "default",
        "default-deny-egress",
        json!({"podSelector": {}, "policyTypes": ["Egress"]}),
    );
    let eg = |c: &Cluster, to: Peer, port, proto| check(c, app, Direction::Egress, to, port, proto);
    let v = eg(&c, from_pod(&c, api), 80, TCP);
    assert!(!v.allowed);
    assert_eq!(v.isolating, [deny]);
    assert_eq!(
        v.describe(&c, app, Direction::Egress, from_pod(&c, api), 80, TCP),
        format!(
            "denied: pod default/app is selected by default-deny-egress (egress), and no rule allows it to {}:80/TCP",
            c.pods[api].ip
        )
    );
    // DNS is blocked too, until allowed.
    assert!(!eg(&c, from_pod(&c, dns), 53, UDP).allowed);
    // Ingress is not isolated by an Egress-only policy.
    assert!(ingress(&c, app, from_pod(&c, api), 80).allowed);

    let allow_dns = policy(
        &mut c,
        "default",
        "allow-dns",
        json!({
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [{
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}
                }],
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
            }]
        }),
    );
    let v = eg(&c, from_pod(&c, dns), 53, UDP);
    assert!(v.allowed);
    assert_eq!(v.allowed_by, [(allow_dns, 0)]);
    assert!(eg(&c, from_pod(&c, dns), 53, TCP).allowed);
    assert!(!eg(&c, from_pod(&c, dns), 9153, TCP).allowed);
    assert!(!eg(&c, from_pod(&c, api), 53, UDP).allowed);
}

#[test]
fn policies_in_another_namespace_do_not_apply() {
    let mut c = cluster();
    let web = pod(&mut c, "default", "web", "app=web", &[]);
    let peer = from_ip([203, 0, 113, 10]);
    policy(&mut c, "shop", "default-deny", json!({"podSelector": {}}));
    let v = ingress(&c, web, peer, 80);
    assert!(v.allowed && v.isolating.is_empty());
}

#[test]
fn egress_only_policy_types_does_not_isolate_ingress() {
    let mut c = cluster();
    let web = pod(&mut c, "default", "web", "app=web", &[]);
    let peer = from_ip([203, 0, 113, 10]);
    policy(
        &mut c,
        "default",
        "egress-only",
        json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}),
    );
    assert!(ingress(&c, web, peer, 80).isolating.is_empty());
    assert!(!check(&c, web, Direction::Egress, peer, 80, TCP).allowed);
    assert!(check(&c, web, Direction::Egress, peer, 53, UDP).allowed);
}

#[test]
fn rules_with_empty_lists_match_all() {
    let mut c = cluster();
    let web = pod(&mut c, "default", "web", "app=web", &[]);
    let peer = from_ip([203, 0, 113, 10]);
    policy(
        &mut c,
        "default",
        "allow-all",
        json!({"podSelector": {}, "ingress": [{"from": [], "ports": []}]}),
    );
    let v = ingress(&c, web, peer, 12345);
    assert!(v.allowed);
    assert_eq!(v.allowed_by, [(0, 0)]);
    // `ingress: []` with Ingress in policyTypes: deny all.
    let mut c = cluster();
    let web = pod(&mut c, "default", "web", "app=web", &[]);
    policy(
        &mut c,
        "default",
        "deny",
        json!({"podSelector": {}, "ingress": [], "policyTypes": ["Ingress"]}),
    );
    assert!(!ingress(&c, web, peer, 80).allowed);
}

#[test]
fn own_node_and_self_are_always_allowed() {
    let mut c = cluster();
    let web = pod(&mut c, "default", "web", "app=web", &[]);
    policy(
        &mut c,
        "default",
        "deny-all",
        json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
    );
    // The kubelet's probes come from the pod's node (node-1, 172.18.0.2).
    let node1 = from_ip([172, 18, 0, 2]);
    let v = ingress(&c, web, node1, 80);
    assert!(v.allowed);
    assert!(v.allowed_by.is_empty());
    assert_eq!(
        v.describe(&c, web, Direction::Ingress, node1, 80, TCP),
        "allowed: traffic between a pod and its own node is always allowed"
    );
    assert!(check(&c, web, Direction::Egress, node1, 10250, TCP).allowed);
    // Another node is not exempt.
    assert!(!ingress(&c, web, from_ip([172, 18, 0, 3]), 80).allowed);
    // A pod reaching itself (through its Service, say).
    assert!(ingress(&c, web, from_pod(&c, web), 80).allowed);
}

#[test]
fn host_network_pods_are_not_selected() {
    let mut c = cluster();
    let web = pod(&mut c, "default", "web", "app=web", &[]);
    let agent = pod(&mut c, "default", "agent", "app=agent", &[]);
    c.pods[agent].host_network = true;
    c.pods[agent].node = 1;
    c.pods[agent].ip = Ipv4Addr::new(172, 18, 0, 3);
    policy(
        &mut c,
        "default",
        "allow-agent",
        json!({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "agent"}}}]}]}),
    );
    // The agent's traffic is node-2's: the pod selector does not match it.
    assert!(!ingress(&c, web, from_pod(&c, agent), 80).allowed);
    // A host-network pod is never isolated.
    policy(&mut c, "default", "deny", json!({"podSelector": {}}));
    assert!(ingress(&c, agent, from_ip([203, 0, 113, 10]), 80).allowed);
}

#[test]
fn corpus_egress_policy_without_policy_types_isolates_ingress_too() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/kubernetes-in-action/Chapter13/network-policy-egress.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the corpus file {} is missing: {e}", path.display()));
    let (_, loaded) = load_str("network-policy-egress.yaml", &text, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let np = loaded
        .objects
        .iter()
        .find_map(|o| match &o.object {
            Object::NetworkPolicy(np) => Some(np.clone()),
            _ => None,
        })
        .expect("a NetworkPolicy");
    let spec = np.spec.clone().expect("spec");
    assert_eq!(
        spec.policy_types.as_deref(),
        Some(&["Ingress".to_string(), "Egress".to_string()][..])
    );
    let mut c = cluster();
    let webserver = pod(&mut c, "default", "webserver", "app=webserver", &[]);
    let database = pod(&mut c, "default", "database", "app=database", &[]);
    let other = pod(&mut c, "default", "other", "app=other", &[]);
    c.policies.push(SimPolicy {
        namespace: "default".to_string(),
        name: "egress-net-policy".to_string(),
        origin: Origin::Object(0),
        spec,
        alive: true,
    });
    // Egress: only to the database on 5432/TCP.
    let eg = |to: Peer, port| check(&c, webserver, Direction::Egress, to, port, TCP).allowed;
    assert!(eg(from_pod(&c, database), 5432));
    assert!(!eg(from_pod(&c, database), 80));
    assert!(!eg(from_pod(&c, other), 5432));
    // The surprise: no ingress rules and Ingress in the defaulted policyTypes, so the
    // webserver accepts nothing (but from its own node).
    let v = ingress(&c, webserver, from_pod(&c, other), 80);
    assert!(!v.allowed);
    assert_eq!(v.isolating, [0]);
}

#[test]
fn rule_paths() {
    assert_eq!(rule_path(Direction::Ingress, 0), "spec.ingress[0]");
    assert_eq!(rule_path(Direction::Egress, 2), "spec.egress[2]");
}

#[test]
fn unknown_pod_id_is_allowed() {
    let c = cluster();
    assert!(ingress(&c, 99, from_ip([1, 2, 3, 4]), 80).allowed);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn selector() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            Just(json!({})),
            Just(json!({"matchLabels": {"app": "a"}})),
            Just(json!({"matchLabels": {"app": "b"}})),
            Just(
                json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "b"]}]})
            ),
            Just(json!({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]})),
        ]
    }

    fn peer() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            selector().prop_map(|s| json!({"podSelector": s})),
            selector().prop_map(|s| json!({"namespaceSelector": s})),
            (selector(), selector())
                .prop_map(|(a, b)| json!({"podSelector": a, "namespaceSelector": b})),
            Just(json!({"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.1.0/28"]}})),
        ]
    }

    fn rule() -> impl Strategy<Value = serde_json::Value> {
        (
            proptest::option::of(proptest::collection::vec(peer(), 0..3)),
            proptest::option::of(proptest::collection::vec(
                prop_oneof![
                    Just(json!({"port": 80})),
                    Just(json!({"port": "http"})),
                    Just(json!({"port": 8000, "endPort": 9000})),
                    Just(json!({"protocol": "UDP"})),
                ],
                0..3,
            )),
        )
            .prop_map(|(peers, ports)| {
                let mut r = json!({});
                if let Some(p) = peers {
                    r["from"] = json!(p);
                }
                if let Some(p) = ports {
                    r["ports"] = json!(p);
                }
                r
            })
    }

    proptest! {
        /// Policies are additive: the verdict does not depend on their order, and
        /// adding a policy never turns an allowed connection of an isolated pod into a
        /// denied one.
        #[test]
        fn additive_and_order_independent(
            specs in proptest::collection::vec(
                (selector(), proptest::collection::vec(rule(), 0..3)), 1..4),
            extra in (selector(), proptest::collection::vec(rule(), 0..3)),
            port in prop_oneof![Just(80u16), Just(8080u16), Just(8500u16), Just(53u16)],
            udp in any::<bool>(),
            peer_is_pod in any::<bool>(),
        ) {
            let mut c = cluster();
            let target = pod(&mut c, "default", "t", "app=a", &[("http", 8080, TCP)]);
            let other = pod(&mut c, "shop", "o", "app=b", &[]);
            for (i, (sel, rules)) in specs.iter().enumerate() {
                policy(&mut c, "default", &format!("p{i}"), json!({"podSelector": sel, "ingress": rules}));
            }
            let protocol = if udp { UDP } else { TCP };
            let peer = if peer_is_pod { from_pod(&c, other) } else { from_ip([10, 244, 1, 3]) };
            let v = check(&c, target, Direction::Ingress, peer, port, protocol);
            let mut r = c.clone();
            r.policies.reverse();
            let w = check(&r, target, Direction::Ingress, peer, port, protocol);
            prop_assert_eq!(v.allowed, w.allowed);
            prop_assert_eq!(v.isolating.len(), w.isolating.len());
            let was_isolated = !v.isolating.is_empty();
            policy(&mut c, "default", "extra", json!({"podSelector": extra.0, "ingress": extra.1}));
            let x = check(&c, target, Direction::Ingress, peer, port, protocol);
            if was_isolated && v.allowed {
                prop_assert!(x.allowed);
            }
            let _ = x.describe(&c, target, Direction::Ingress, peer, port, protocol);
        }
    }
}
