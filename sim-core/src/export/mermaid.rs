//! Flows as Mermaid sequence diagrams (`simctl run --mermaid`).
//!
//! One diagram per traffic entry, of its first flow: the sender, the nodes the packet
//! crosses, kube-proxy on those nodes (where it translates, rejects or drops), and the
//! pod. A packet entering netfilter goes node -> kube-proxy@node; address rewrites (DNAT,
//! MASQUERADE, conntrack's reverse translation) are notes over kube-proxy; verdicts
//! (delivered, refused, dropped) are notes over where they happen. Replies are dashed.
//!
//! The output is Markdown: a heading per traffic entry and a fenced `mermaid` block, as
//! GitHub, GitLab and most wikis render.

use std::fmt::Write as _;

use crate::cluster::Cluster;
use crate::engine::RunResult;
use crate::engine::traffic::{Target, TrafficPlan};
use crate::net::{FiveTuple, Protocol};
use crate::render::{View, place_name};
use crate::trace::{Action, Flow, Hop, NatKind, Outcome, Place, Step};

/// Every traffic entry's first flow, as Markdown with a Mermaid block each.
pub fn sequences(run: &RunResult) -> String {
    let mut out = String::new();
    for (t, plan) in run.traffic.iter().enumerate() {
        let Some(flow) = run.flows.iter().find(|f| f.traffic == t) else {
            continue;
        };
        if flow.hops.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "### {}", plan.name);
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", headline(plan, flow));
        let _ = writeln!(out);
        let _ = writeln!(out, "```mermaid");
        out.push_str(&sequence(&View::of(run), flow));
        let _ = writeln!(out, "```");
    }
    out
}

fn headline(plan: &TrafficPlan, flow: &Flow) -> String {
    let from = match &plan.from {
        crate::scenario::From::Name(n) => n.clone(),
        crate::scenario::From::Address { ip, node } => format!("{ip} on {node}"),
    };
    let to = match &plan.to {
        Target::Connect { host, port } => format!("{host}:{port} ({})", plan.protocol),
        Target::Resolve { name, .. } => format!("resolve {name}"),
    };
    let outcome = match flow.reason {
        Some(r) => format!("{} ({r})", flow.outcome),
        None => flow.outcome.to_string(),
    };
    format!("{from} -> {to}: {outcome}")
}

/// Who a hop happens at, as a participant: kube-proxy's work on a node is its own
/// participant, `kube-proxy@node-1`.
fn participant(cluster: &Cluster, h: &Hop) -> (String, Option<String>) {
    let place = place_name(cluster, h.place);
    match h.place {
        Place::Node(_) => {
            let netfilter = match h.action() {
                Action::Dnat
                | Action::Masquerade
                | Action::Reject
                | Action::UnNat
                | Action::HealthCheck => true,
                // kube-proxy's drops; a node that is down or has no such pod is the node.
                Action::Drop => matches!(h.step, Step::ProxyDrop { .. }),
                _ => false,
            };
            if netfilter {
                (format!("kube-proxy@{place}"), Some(place))
            } else {
                (place, None)
            }
        }
        _ => (place, None),
    }
}

/// The sequence diagram of one flow (without the Markdown fence).
pub fn sequence(v: &View, flow: &Flow) -> String {
    let cluster = v.cluster;
    let mut names: Vec<String> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let intern = |names: &mut Vec<String>, n: &str| -> usize {
        match names.iter().position(|x| x == n) {
            Some(i) => i,
            None => {
                names.push(n.to_string());
                names.len() - 1
            }
        }
    };
    let refused = flow.outcome == Outcome::Refused;
    let mut cur: Option<usize> = None;
    let mut last: Option<FiveTuple> = None;
    let mut replying = false;
    for h in &flow.hops {
        if h.action() == Action::Reply {
            replying = true;
        }
        let (who, host) = participant(cluster, h);
        // A node comes before its kube-proxy.
        if let Some(node) = &host {
            intern(&mut names, node);
        }
        let me = intern(&mut names, &who);
        let arrow = if replying { "-->>" } else { "->>" };
        if let (Some(c), Some(t)) = (cur, last)
            && c != me
        {
            let words = packet_words(&t, replying, refused);
            // Into netfilter: over the wire to the node first, unless already there.
            match host {
                Some(node) => {
                    let n = intern(&mut names, &node);
                    if c != n {
                        lines.push(format!("    p{c}{arrow}p{n}: {words}"));
                    }
                    let hook = if replying { "conntrack" } else { "netfilter" };
                    lines.push(format!("    p{n}{arrow}p{me}: {hook}"));
                }
                None => lines.push(format!("    p{c}{arrow}p{me}: {words}")),
            }
        }
        if let Some(note) = note(v, flow, h, replying) {
            lines.push(format!("    Note over p{me}: {}", clean(&note)));
        }
        if h.action() == Action::Unreachable
            && let Some(t) = h.packet
        {
            let sender = intern(&mut names, &place_name(cluster, flow_first_place(flow)));
            lines.push(format!(
                "    p{me}-->>p{sender}: ICMP host unreachable for {}",
                t.dst.ip
            ));
        }
        cur = Some(me);
        last = h.packet.or(last);
    }
    let mut out = String::from("sequenceDiagram\n");
    for (i, n) in names.iter().enumerate() {
        let _ = writeln!(out, "    participant p{i} as {}", clean(n));
    }
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    out
}

fn flow_first_place(flow: &Flow) -> Place {
    flow.hops.first().map_or(Place::Internet, |h| h.place)
}

/// `SYN 203.0.113.10:51251 → 172.18.0.2:30080`.
fn packet_words(t: &FiveTuple, replying: bool, refused: bool) -> String {
    let kind = match (t.protocol, replying, refused) {
        (Protocol::Tcp, false, _) => "SYN",
        (Protocol::Tcp, true, false) => "SYN-ACK",
        (Protocol::Tcp, true, true) => "RST",
        (Protocol::Udp, false, _) => "UDP",
        (Protocol::Udp, true, false) => "UDP reply",
        (Protocol::Udp, true, true) => "ICMP port unreachable",
        (Protocol::Sctp, false, _) => "INIT",
        (Protocol::Sctp, true, false) => "INIT-ACK",
        (Protocol::Sctp, true, true) => "ABORT",
    };
    format!("{kind} {} → {}", t.src, t.dst)
}

/// The note a hop deserves: rewrites and verdicts.
fn note(v: &View, flow: &Flow, h: &Hop, replying: bool) -> Option<String> {
    if let Some(nat) = &h.nat {
        let (b, a) = (nat.before, nat.after);
        let kind = match nat.kind {
            NatKind::UnNat { .. } => "conntrack un-NAT",
            NatKind::Dnat => "DNAT",
            NatKind::Snat => "SNAT",
            NatKind::Masquerade => "MASQUERADE",
        };
        let change = if b.src == a.src {
            format!("dst {} → {}", b.dst, a.dst)
        } else if b.dst == a.dst {
            format!("src {} → {}", b.src, a.src)
        } else {
            format!("{} → {} becomes {} → {}", b.src, b.dst, a.src, a.dst)
        };
        return Some(format!("{kind} {change}"));
    }
    // The sentence without its leading place: the note is over the place already.
    let detail = v.words(flow, h).body;
    match h.action() {
        Action::Resolve
        | Action::Reject
        | Action::Drop
        | Action::Lost
        | Action::PolicyDrop
        | Action::PolicyAllow
        | Action::Deliver
        | Action::Unreachable
        | Action::HealthCheck => Some(detail),
        Action::Refuse if !replying => Some(detail),
        Action::Refuse => Some("connection refused".into()),
        Action::Complete => Some("connected".into()),
        _ => None,
    }
}

/// Mermaid text: no `;` (a statement separator), no `#` (an entity), no newlines.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ';' => ',',
            '#' => ' ',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect()
}
