//! Words from facts: the one place where a hop's typed record ([`crate::trace::Hop`])
//! becomes text, for the terminal's story, the JSON of `simctl run -o json` and the
//! browser (which shows what that JSON carries).
//!
//! - [`words`]: the sentence of each kind of step (the JSON's `detail`);
//! - [`rules`]: the rules that matched, in `iptables-save`, `ipvsadm -Ln` and
//!   `nft list ruleset` syntax (the JSON's `rules`);
//! - [`json`]: a hop as JSON, its typed facts beside the words;
//! - [`text`]: a flow's hop table for the terminal.
//!
//! Nothing here decides anything: every function reads a record and the cluster it
//! names (by the ids the record holds) and prints it.

pub mod json;
pub mod rules;
pub mod text;
pub mod words;

use crate::cluster::Cluster;
use crate::engine::RunResult;
use crate::engine::traffic::TrafficPlan;
use crate::net::{FiveTuple, Protocol};
use crate::trace::{Flow, Hop, Place};

pub use rules::RuleStep;
pub use words::Words;

/// What rendering reads: the cluster the records' ids index, and the traffic entries
/// the flows belong to.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub cluster: &'a Cluster,
    pub traffic: &'a [TrafficPlan],
}

impl<'a> View<'a> {
    pub fn of(run: &'a RunResult) -> View<'a> {
        View {
            cluster: &run.cluster,
            traffic: &run.traffic,
        }
    }

    /// The traffic entry of `flow`.
    pub fn plan(&self, flow: &Flow) -> Option<&'a TrafficPlan> {
        self.traffic.get(flow.traffic)
    }

    /// The sentence of `hop`.
    pub fn words(&self, flow: &Flow, hop: &Hop) -> Words {
        words::words(self, flow, hop)
    }

    /// The whole sentence of `hop` (the JSON's `detail`).
    pub fn detail(&self, flow: &Flow, hop: &Hop) -> String {
        self.words(flow, hop).detail()
    }

    /// The rules of `hop`.
    pub fn rules(&self, hop: &Hop) -> Vec<RuleStep> {
        rules::rules(self, hop)
    }
}

/// A place as people name it: `laptop`, `node-1`, `pod/web-6d8c5-abcde`.
pub fn place_name(cluster: &Cluster, place: Place) -> String {
    match place {
        Place::Client(c) => cluster
            .clients
            .get(c)
            .map_or("client".into(), |c| c.name.clone()),
        Place::Internet => "the network".into(),
        Place::LoadBalancer => "the load balancer".into(),
        Place::Node(n) => cluster
            .nodes
            .get(n)
            .map_or("node".into(), |n| n.name.clone()),
        Place::Pod(p) => cluster.pods.get(p).map_or("pod".into(), |p| {
            if p.namespace == "default" {
                format!("pod/{}", p.name)
            } else {
                format!("pod/{}/{}", p.namespace, p.name)
            }
        }),
        Place::External => "an external host".into(),
    }
}

/// `10.244.1.5:41234 -> 10.96.0.10:80 (TCP)`.
pub fn describe(t: &FiveTuple) -> String {
    format!("{} -> {} ({})", t.src, t.dst, t.protocol)
}

/// What a rejected connection gets back.
pub fn reject_words(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "TCP RST",
        _ => "ICMP port unreachable",
    }
}
