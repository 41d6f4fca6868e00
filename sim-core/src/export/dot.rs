//! The topology as Graphviz DOT: clients and the network outside, each node as a cluster
//! holding its pods, each Service as a dashed box with edges to its endpoints, and the
//! links of the topology graph ([`crate::engine::topology`]).
//!
//! Deterministic: everything is written in arena order (nodes, pods, Services as the
//! input gave them), so the same input gives the same bytes. Render with
//! `dot -Tsvg topology.dot > topology.svg`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::cluster::{Cluster, Origin, ServiceType, TargetPort};
use crate::engine::topology::Topology;
use crate::trace::Place;

/// The DOT document of the cluster as built.
pub fn topology(cluster: &Cluster) -> String {
    let topo = Topology::new(cluster);
    let mut out = String::new();
    let _ = writeln!(out, "digraph simctl {{");
    let _ = writeln!(
        out,
        "  graph [rankdir=LR, compound=true, fontname=\"Helvetica\", label={}, labelloc=t];",
        quote(&format!(
            "kube-proxy {}; clusterCIDR {}; serviceCIDR {}",
            cluster.config.proxy.mode.as_str(),
            cluster.config.cluster_cidr,
            cluster.config.service_cidr
        ))
    );
    let _ = writeln!(out, "  node [fontname=\"Helvetica\", fontsize=10];");
    let _ = writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=9];");
    let _ = writeln!(out);

    let lb_used = cluster
        .services
        .iter()
        .any(|s| s.alive && !s.lb_ips.is_empty());
    let externals = external_addresses(cluster);
    let shown = |p: &Place| match p {
        Place::LoadBalancer => lb_used,
        Place::External => !externals.is_empty(),
        Place::Pod(i) => cluster.pods.get(*i).is_some_and(|p| p.alive()),
        _ => true,
    };

    // Outside the cluster.
    let _ = writeln!(out, "  // outside the cluster");
    let _ = writeln!(
        out,
        "  {} [label=\"the network\", shape=ellipse, style=dashed];",
        id(cluster, Place::Internet)
    );
    if lb_used {
        let ips: Vec<String> = cluster
            .services
            .iter()
            .filter(|s| s.alive)
            .flat_map(|s| s.lb_ips.iter().map(ToString::to_string))
            .collect();
        let _ = writeln!(
            out,
            "  {} [label={}, shape=trapezium];",
            id(cluster, Place::LoadBalancer),
            quote(&format!("load balancer\n{}", ips.join("\n")))
        );
    }
    if !externals.is_empty() {
        let _ = writeln!(
            out,
            "  {} [label={}, shape=box, style=dashed];",
            id(cluster, Place::External),
            quote(&format!(
                "hosts outside the cluster\n{}",
                externals.join("\n")
            ))
        );
    }
    for (i, c) in cluster.clients.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {} [label={}, shape=box];",
            id(cluster, Place::Client(i)),
            quote(&format!("{}\n{}", c.name, c.ip))
        );
    }

    // Nodes, with their pods.
    for (n, node) in cluster.nodes.iter().enumerate() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  subgraph {} {{",
            quote(&format!("cluster_node_{}", node.name))
        );
        let mut label = format!("{}\n{}", node.name, node.ip);
        for extra in &node.extra_ips {
            let _ = write!(label, ", {extra}");
        }
        let _ = write!(label, "\npods {}", node.pod_cidr);
        if !node.up {
            label.push_str("\n(down)");
        }
        let _ = writeln!(out, "    label={};", quote(&label));
        let _ = writeln!(
            out,
            "    style={};",
            if node.up {
                "rounded"
            } else {
                "\"rounded,filled\", fillcolor=gray90"
            }
        );
        let _ = writeln!(
            out,
            "    {} [label={}, shape=box3d];",
            id(cluster, Place::Node(n)),
            quote(&format!(
                "{}\nkube-proxy ({})",
                node.name,
                cluster.config.proxy.mode.as_str()
            ))
        );
        for (p, pod) in cluster.pods.iter().enumerate() {
            if pod.node != n || !pod.alive() {
                continue;
            }
            let mut label = if pod.namespace == "default" {
                pod.name.clone()
            } else {
                format!("{}/{}", pod.namespace, pod.name)
            };
            let _ = write!(label, "\n{}", pod.ip);
            if pod.host_network {
                label.push_str(" (hostNetwork)");
            }
            let style = match (pod.ready, pod.origin == Origin::Default) {
                (false, _) => "\"rounded,dotted\"",
                (true, true) => "\"rounded,filled\", fillcolor=gray95",
                (true, false) => "rounded",
            };
            let _ = writeln!(
                out,
                "    {} [label={}, shape=box, style={style}];",
                id(cluster, Place::Pod(p)),
                quote(&label)
            );
        }
        let _ = writeln!(out, "  }}");
    }

    // Links of the topology graph, in insertion order.
    let _ = writeln!(out);
    let _ = writeln!(out, "  // links");
    for e in topo.graph.edge_indices() {
        let Some((a, b)) = topo.graph.edge_endpoints(e) else {
            continue;
        };
        let (Some(&pa), Some(&pb)) = (topo.graph.node_weight(a), topo.graph.node_weight(b)) else {
            continue;
        };
        if !shown(&pa) || !shown(&pb) {
            continue;
        }
        let _ = writeln!(
            out,
            "  {} -> {} [dir=none, color=gray50];",
            id(cluster, pa),
            id(cluster, pb)
        );
    }

    // Services, virtual, with edges to their endpoints.
    let _ = writeln!(out);
    let _ = writeln!(out, "  // Services and their endpoints");
    for (si, s) in cluster.services.iter().enumerate() {
        if !s.alive || s.origin == Origin::Default {
            continue;
        }
        let sid = quote(&format!("svc:{}/{}", s.namespace, s.name));
        let mut label = format!("Service {}/{}\n{}", s.namespace, s.name, s.type_.as_str());
        match (s.type_, s.cluster_ip) {
            (ServiceType::ExternalName, _) => {
                let _ = write!(
                    label,
                    " -> {}",
                    s.external_name.as_deref().unwrap_or_default()
                );
            }
            (_, Some(ip)) => {
                let _ = write!(label, " {ip}");
            }
            (_, None) => label.push_str(" (headless)"),
        }
        for p in &s.ports {
            let target = match &p.target {
                TargetPort::Number(n) => n.to_string(),
                TargetPort::Name(n) => n.clone(),
            };
            let _ = write!(label, "\n{}/{} -> {target}", p.port, p.protocol);
            if let Some(np) = p.node_port {
                let _ = write!(label, ", nodePort {np}");
            }
        }
        for ip in s.lb_ips.iter().chain(&s.external_ips) {
            let _ = write!(label, "\n{ip}");
        }
        let _ = writeln!(
            out,
            "  {sid} [label={}, shape=box, style=\"dashed,rounded\"];",
            quote(&label)
        );
        // One edge per endpoint address, labelled with its ports.
        let mut eps: BTreeMap<(Option<usize>, std::net::Ipv4Addr), (Vec<String>, bool)> =
            BTreeMap::new();
        for pi in 0..s.ports.len() {
            for e in cluster.endpoints(si, pi) {
                let entry = eps.entry((e.pod, e.ip)).or_insert((Vec::new(), true));
                let port = e.port.to_string();
                if !entry.0.contains(&port) {
                    entry.0.push(port);
                }
                entry.1 &= e.ready;
            }
        }
        for ((pod, ip), (ports, ready)) in eps {
            let to = match pod {
                Some(p) => id(cluster, Place::Pod(p)),
                None => id(cluster, Place::External),
            };
            let label = match pod {
                Some(_) => ports.join(","),
                None => format!("{ip}:{}", ports.join(",")),
            };
            let _ = writeln!(
                out,
                "  {sid} -> {to} [style={}, label={}];",
                if ready { "dashed" } else { "dotted" },
                quote(&label)
            );
        }
    }
    let _ = writeln!(out, "}}");
    out
}

/// Addresses of given endpoints that no pod or node has (hosts outside the cluster),
/// sorted; the browser's topology draws the same ones.
pub fn external_addresses(cluster: &Cluster) -> Vec<String> {
    let mut out: Vec<String> = cluster
        .given_endpoints
        .iter()
        .flat_map(|g| g.addresses.iter().map(|a| a.0))
        .filter(|ip| cluster.pod_by_ip(*ip).is_none() && cluster.node_by_ip(*ip).is_none())
        .map(|ip| ip.to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The DOT id of a place (quoted).
fn id(cluster: &Cluster, place: Place) -> String {
    let s = match place {
        Place::Client(c) => format!(
            "client:{}",
            cluster.clients.get(c).map_or("?", |c| c.name.as_str())
        ),
        Place::Internet => "network".into(),
        Place::LoadBalancer => "loadbalancer".into(),
        Place::External => "external".into(),
        Place::Node(n) => format!(
            "node:{}",
            cluster.nodes.get(n).map_or("?", |n| n.name.as_str())
        ),
        Place::Pod(p) => match cluster.pods.get(p) {
            Some(p) => format!("pod:{}/{}", p.namespace, p.name),
            None => format!("pod:{p}"),
        },
    };
    quote(&s)
}

/// A DOT string: quoted, with quotes and backslashes escaped and newlines as `\n`.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
