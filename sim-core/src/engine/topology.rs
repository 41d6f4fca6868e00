//! The topology as a petgraph graph: clients, the outside network, the load balancer,
//! nodes and pods, with a link (latency) between each pair that can exchange packets.
//!
//! Routing decisions are made by address (as hosts do); the graph supplies each link's
//! latency and is what `simctl graph` and the browser draw.

use std::collections::BTreeMap;

use petgraph::stable_graph::{NodeIndex, StableUnGraph};

use crate::cluster::Cluster;
use crate::trace::Place;

/// A link between two places.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub latency_ns: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Topology {
    pub graph: StableUnGraph<Place, Link>,
    index: BTreeMap<Place, NodeIndex>,
}

impl Topology {
    pub fn new(cluster: &Cluster) -> Topology {
        let mut t = Topology::default();
        let latency_ns = cluster.config.latency_ns;
        let internet = t.add(Place::Internet);
        let lb = t.add(Place::LoadBalancer);
        let external = t.add(Place::External);
        t.graph.add_edge(lb, internet, Link { latency_ns });
        t.graph.add_edge(external, internet, Link { latency_ns });
        for c in 0..cluster.clients.len() {
            let ci = t.add(Place::Client(c));
            t.graph.add_edge(ci, internet, Link { latency_ns });
        }
        let nodes: Vec<NodeIndex> = (0..cluster.nodes.len())
            .map(|n| t.add(Place::Node(n)))
            .collect();
        for (i, &a) in nodes.iter().enumerate() {
            t.graph.add_edge(a, internet, Link { latency_ns });
            t.graph.add_edge(a, lb, Link { latency_ns });
            for &b in &nodes[i + 1..] {
                t.graph.add_edge(a, b, Link { latency_ns });
            }
        }
        for (p, pod) in cluster.pods.iter().enumerate() {
            if !pod.alive() {
                continue;
            }
            let pi = t.add(Place::Pod(p));
            if let Some(&ni) = nodes.get(pod.node) {
                // A veth pair: a tenth of a network link's latency.
                t.graph.add_edge(
                    pi,
                    ni,
                    Link {
                        latency_ns: latency_ns / 10,
                    },
                );
            }
        }
        t
    }

    fn add(&mut self, place: Place) -> NodeIndex {
        let i = self.graph.add_node(place);
        self.index.insert(place, i);
        i
    }

    /// The latency of the link between two places (the network's default when the graph
    /// has no direct link, which the engine never asks for).
    pub fn latency_ns(&self, from: Place, to: Place, cluster: &Cluster) -> u64 {
        if from == to {
            return 0; // Loopback inside a pod: no link is crossed.
        }
        match (self.index.get(&from), self.index.get(&to)) {
            (Some(&a), Some(&b)) => self
                .graph
                .find_edge(a, b)
                .and_then(|e| self.graph.edge_weight(e))
                .map_or(cluster.config.latency_ns, |l| l.latency_ns),
            _ => cluster.config.latency_ns,
        }
    }
}
