//! The engine on small scenarios, in process, in every kube-proxy mode: given endpoints
//! as real hosts wherever their address lies (issue 9 item 1), conntrack and ephemeral
//! ports as Linux keeps and picks them (item 3).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use super::*;
use crate::manifest::{LoadOptions, load_str};
use crate::trace::Socket;

const MODES: [ProxyMode; 3] = [ProxyMode::Iptables, ProxyMode::Ipvs, ProxyMode::Nftables];

fn run_text(text: &str, mode: ProxyMode, seed: u64) -> RunResult {
    let (_sources, loaded) = load_str("t.yaml", text, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    run(
        &loaded,
        &RunOptions {
            seed: Some(seed),
            proxy_mode: Some(mode),
            trace: TraceLevel::Full,
        },
    )
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("ip")
}

/// A selectorless Service `db` whose EndpointSlice names 10.244.1.7 (in node-2's podCIDR)
/// with `nodeName` as given, and no Pod has that address.
fn given_db(node_name: Option<&str>) -> String {
    let node = node_name.map_or(String::new(), |n| format!("\n    nodeName: {n}"));
    format!(
        r#"
apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {{name: given}}
spec:
  traffic:
    - {{name: to-db, from: pod/client, to: "db:5432"}}
---
apiVersion: v1
kind: Service
metadata: {{name: db}}
spec:
  ports: [{{name: pg, port: 5432}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-abcde
  labels: {{kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{{name: pg, port: 5432, protocol: TCP}}]
endpoints:
  - addresses: [10.244.1.7]
    conditions: {{ready: true}}{node}
---
apiVersion: v1
kind: Pod
metadata: {{name: client}}
spec:
  nodeName: node-1
  containers: [{{name: shell, image: busybox, command: [sleep, "3600"]}}]
"#
    )
}

/// The connection's hops (after the DNS lookup).
fn connection(f: &Flow) -> &[Hop] {
    f.story_hops()
}

#[test]
fn a_given_endpoint_in_a_pod_network_is_a_host_on_its_node() {
    // nodeName node-2, no nodeName (node-2's podCIDR holds it), and a nodeName that
    // overrides the podCIDR.
    for (node_name, node) in [(Some("node-2"), 1), (None, 1), (Some("node-1"), 0)] {
        for mode in MODES {
            let r = run_text(&given_db(node_name), mode, 0);
            let c = &r.cluster;
            assert_eq!(c.pod_by_ip(ip("10.244.1.7")), None);
            assert!(
                c.reserved.contains(&ip("10.244.1.7")),
                "a given address stays taken"
            );
            assert!(
                c.pods.iter().all(|p| p.ip != ip("10.244.1.7")),
                "no pod was handed the given address"
            );
            let f = &r.flows[0];
            let at = format!("{mode:?} nodeName {node_name:?}");
            assert_eq!(f.outcome, Outcome::Delivered, "{at}: {:?}", f.reason);
            assert_eq!(
                f.backend,
                Some(Backend::External {
                    ip: ip("10.244.1.7"),
                    port: 5432,
                    node: Some(node),
                }),
                "{at}"
            );
            let hops = connection(f);
            // DNAT on node-1 to 10.244.1.7:5432, routed to the host's node, accepted there.
            let dnat = hops
                .iter()
                .find(|h| matches!(h.step, Step::ServiceDnat { .. }))
                .expect("kube-proxy DNAT");
            assert_eq!(dnat.place, Place::Node(0), "{at}");
            assert_eq!(
                dnat.nat.map(|n| n.after.dst.to_string()),
                Some("10.244.1.7:5432".into()),
                "{at}"
            );
            let routed = hops.iter().find(|h| {
                h.place == Place::Node(node)
                    && matches!(
                        h.step,
                        Step::Route {
                            to: Place::External
                        }
                    )
            });
            assert!(routed.is_some(), "{at}: routed to the host by its node");
            assert!(
                hops.iter()
                    .any(|h| h.place == Place::External && h.step == Step::Accept(Socket::Given)),
                "{at}"
            );
            assert!(
                !hops.iter().any(|h| h.step == Step::NoPodAt),
                "{at}: never 'no pod has'"
            );
            // The reply is un-NATed on node-1 and completes.
            assert!(
                hops.iter()
                    .any(|h| h.place == Place::Node(0) && matches!(h.step, Step::UnNat { .. })),
                "{at}"
            );
            assert!(matches!(
                hops.last().map(|h| &h.step),
                Some(Step::Complete { .. })
            ));
            assert_eq!(
                f.source_seen,
                Some(c.pods[c.pod_by_name("default", "client").unwrap()].ip)
            );
        }
    }
}

#[test]
fn a_given_endpoint_off_the_cluster_is_reached_over_the_network() {
    let text = given_db(None).replace("10.244.1.7", "192.0.2.10");
    for mode in MODES {
        let r = run_text(&text, mode, 0);
        let f = &r.flows[0];
        assert_eq!(f.outcome, Outcome::Delivered, "{mode:?}");
        assert_eq!(
            f.backend,
            Some(Backend::External {
                ip: ip("192.0.2.10"),
                port: 5432,
                node: None,
            })
        );
        // Pod traffic leaving the cluster network is masqueraded by the CNI on node-1:
        // one conntrack entry there holds the DNAT and that SNAT; the reply undoes both.
        let unnat = connection(f)
            .iter()
            .find(|h| matches!(h.step, Step::UnNat { .. }))
            .expect("un-NAT");
        assert_eq!(unnat.place, Place::Node(0));
        assert_eq!(
            unnat.nat.map(|n| n.kind),
            Some(NatKind::UnNat {
                dnat: true,
                snat: true
            })
        );
    }
}

/// Two nginx pods, one per node, behind NodePort 30080; `traffic` from the client.
fn nodeport(traffic: &str) -> String {
    format!(
        r#"
apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {{name: nodeport}}
spec:
  clients: [{{name: laptop, ip: 203.0.113.10}}]
  traffic:
{traffic}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports:
    - {{name: http, port: 80, nodePort: 30080, protocol: TCP}}
    - {{name: dns, port: 53, nodePort: 30053, protocol: UDP}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web-1, labels: {{app: web}}, annotations: {{simctl/listen: "80,53/udp"}}}}
spec:
  nodeName: node-1
  containers: [{{name: web, image: nginx}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: web-2, labels: {{app: web}}, annotations: {{simctl/listen: "80,53/udp"}}}}
spec:
  nodeName: node-2
  containers: [{{name: web, image: nginx}}]
"#
    )
}

fn backends(r: &RunResult) -> BTreeSet<String> {
    r.flows
        .iter()
        .filter_map(|f| match f.backend {
            Some(Backend::Pod { pod, .. }) => Some(r.cluster.pods[pod].name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_nodeport_request_is_masqueraded_and_both_endpoints_hit_for_every_seed() {
    let text = nodeport(
        "    - {name: laptop-to-web, from: laptop, to: \"node-1:30080\", requests: 48, interval: 1ms}",
    );
    for mode in MODES {
        for seed in 0..=20 {
            let r = run_text(&text, mode, seed);
            let at = format!("{mode:?} seed {seed}");
            assert_eq!(r.flows.len(), 48, "{at}");
            let ports: BTreeSet<u16> = r.flows.iter().map(|f| f.tuple.src.port).collect();
            assert_eq!(
                ports.len(),
                48,
                "{at}: a source port whose tuple is in use was reused"
            );
            for f in &r.flows {
                assert_eq!(f.outcome, Outcome::Delivered, "{at}: {:?}", f.reason);
                assert!(f.masqueraded, "{at}: request {} not masqueraded", f.index);
                assert_ne!(f.source_seen, Some(ip("203.0.113.10")), "{at}");
                assert!((32768..=60999).contains(&f.tuple.src.port));
            }
            assert_eq!(backends(&r).len(), 2, "{at}: {:?}", backends(&r));
        }
    }
}

#[test]
fn a_tcp_syn_on_a_closed_connections_tuple_is_a_new_connection() {
    // A fixed source port: every request is a new connection on the same 5-tuple. The
    // entry of the one before ended (TIME_WAIT), so each is load-balanced afresh and
    // masqueraded by kube-proxy's rules, never a conntrack hit.
    let text = nodeport(
        "    - {name: fixed, from: laptop, to: \"node-1:30080\", requests: 40, interval: 1ms, sourcePort: 40000}",
    );
    for mode in MODES {
        let r = run_text(&text, mode, 1);
        for f in &r.flows {
            assert_eq!(f.outcome, Outcome::Delivered, "{mode:?}");
            assert!(f.masqueraded);
            assert!(
                !f.hops
                    .iter()
                    .any(|h| matches!(h.step, Step::ConntrackHit { .. })),
                "{mode:?}: request {} hit a closed entry",
                f.index
            );
            assert!(
                f.hops
                    .iter()
                    .any(|h| matches!(h.step, Step::ServiceDnat { .. }))
            );
        }
        assert_eq!(backends(&r).len(), 2, "{mode:?}: each SYN evaluated afresh");
    }
}

#[test]
fn a_udp_flow_hitting_its_entry_gets_dnat_and_masquerade_again() {
    let text = nodeport(
        "    - {name: udp, from: laptop, to: \"node-1:30053\", protocol: UDP, requests: 10, interval: 1ms, sourcePort: 40000}",
    );
    for mode in MODES {
        let r = run_text(&text, mode, 0);
        let first = &r.flows[0];
        assert!(
            first
                .hops
                .iter()
                .any(|h| matches!(h.step, Step::ServiceDnat { .. }))
        );
        for f in &r.flows[1..] {
            let at = format!("{mode:?} datagram {}", f.index);
            assert_eq!(f.outcome, Outcome::Delivered, "{at}");
            assert_eq!(f.backend, first.backend, "{at}: the entry's endpoint");
            assert!(f.masqueraded, "{at}");
            assert_eq!(f.source_seen, first.source_seen, "{at}: the entry's SNAT");
            assert_ne!(f.source_seen, Some(ip("203.0.113.10")), "{at}");
            assert!(
                f.hops
                    .iter()
                    .any(|h| matches!(h.step, Step::ConntrackHit { .. })),
                "{at}"
            );
            assert!(
                f.hops.iter().any(|h| h.step
                    == Step::Masquerade {
                        by: crate::trace::Masquerader::Conntrack
                    }),
                "{at}"
            );
            assert!(
                !f.hops
                    .iter()
                    .any(|h| matches!(h.step, Step::ServiceDnat { .. })),
                "{at}: the rules are not walked again"
            );
        }
    }
}

#[test]
fn a_tracked_tcp_connection_that_got_no_answer_keeps_its_translation() {
    // Both pods on node-2, and a policy that drops every SYN at them (from node-1's
    // address, the masqueraded source): the first SYN's entry on node-1 stays in
    // SYN_SENT, and a SYN on the same tuple is a retransmission of it: same endpoint,
    // masqueraded again, its reply never comes.
    let text = format!(
        "{}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: deny}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress]\n",
        nodeport(
            "    - {name: fixed, from: laptop, to: \"node-1:30080\", requests: 6, interval: 1ms, sourcePort: 40000}"
        )
    )
    .replace("nodeName: node-1", "nodeName: node-2");
    for mode in MODES {
        let r = run_text(&text, mode, 0);
        let first = &r.flows[0];
        assert_eq!(first.outcome, Outcome::Timeout, "{mode:?}");
        let endpoint = |f: &Flow| {
            f.hops.iter().find_map(|h| {
                h.nat
                    .filter(|n| n.kind == NatKind::Dnat)
                    .map(|n| n.after.dst)
            })
        };
        for f in &r.flows[1..] {
            assert!(
                f.hops
                    .iter()
                    .any(|h| matches!(h.step, Step::ConntrackHit { .. })),
                "{mode:?}"
            );
            assert_eq!(endpoint(f), endpoint(first), "{mode:?}");
            assert!(f.masqueraded, "{mode:?}");
        }
    }
}

#[test]
fn stale_udp_entries_are_cleaned_when_their_endpoint_goes() {
    // Datagrams on one tuple follow their entry; once its endpoint's pod is gone
    // (deleted, grace period over), kube-proxy's cleanup deletes the entry and the next
    // datagram goes to the endpoint that is left.
    let text = nodeport(
        "    - {name: udp, from: laptop, to: \"node-1:30053\", protocol: UDP, requests: 4, interval: 2s, sourcePort: 40000}\n  events:\n    - {at: 1s, deletePod: web-1}\n    - {at: 1s, deletePod: web-2}\n    - {at: 1500ms, apply: \"{apiVersion: v1, kind: Pod, metadata: {name: web-3, labels: {app: web}, annotations: {simctl/listen: '80,53/udp'}}, spec: {nodeName: node-2, terminationGracePeriodSeconds: 0, containers: [{name: web, image: nginx}]}}\"}",
    )
    .replace("  nodeName: node-1\n", "  nodeName: node-1\n  terminationGracePeriodSeconds: 0\n")
    .replace("  nodeName: node-2\n  containers", "  nodeName: node-2\n  terminationGracePeriodSeconds: 0\n  containers");
    for mode in MODES {
        let r = run_text(&text, mode, 0);
        let names: Vec<String> = r
            .flows
            .iter()
            .map(|f| match f.backend {
                Some(Backend::Pod { pod, .. }) => r.cluster.pods[pod].name.clone(),
                _ => format!("{:?} {:?}", f.outcome, f.reason),
            })
            .collect();
        assert!(names[0].starts_with("web-"), "{mode:?}: {names:?}");
        // The pods went at 1 s with no endpoint left (nothing to clean then); web-3's
        // arrival at 1.5 s makes the entry to the gone address stale.
        assert_eq!(
            names[1..],
            ["web-3", "web-3", "web-3"],
            "{mode:?}: {names:?}"
        );
    }
}
