//! Every limit simctl has, in one place, each with its reason.
//!
//! A limit is either Kubernetes' own published envelope, which simctl must at least reach
//! ("Considerations for large clusters", kubernetes.io/docs/setup/best-practices/cluster-large:
//! at most 5,000 nodes, 150,000 pods, 110 pods per node), or a bound on what one input
//! may cost where Kubernetes has none (a parser's depth, a fix search's candidates).
//! Reaching a limit is an error diagnostic with code [`LIMIT_EXCEEDED`] (or
//! `InputTooLarge` for a file's bytes) that names the limit and how to stay under it:
//! never a silently smaller cluster, never a parser's internal message. The table
//! [`ALL`] is what `docs/robustness.md` lists; a test keeps the two in step.

use crate::diag::Diagnostic;

/// The code of every diagnostic that reports a limit reached.
pub const LIMIT_EXCEEDED: &str = "LimitExceeded";

// --- one input file -------------------------------------------------------------------

/// Bytes per input file. The API server refuses one request body over 3 MiB
/// (`MaxRequestBodyBytes`), but a file holds many objects (`kubectl apply -f` sends them
/// one by one): 16 MiB holds a 10,000-Service cluster's manifests.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// YAML documents (`---`-separated) per file: the 5,000 Nodes, 10,000 Services and
/// 10,000 workloads of Kubernetes' envelope fit in one file.
pub const MAX_DOCUMENTS_PER_FILE: usize = 50_000;
/// YAML nodes (scalars, lists, maps; aliases expanded) per file: about 60 bytes of YAML
/// each at most, so a full-size file fits.
pub const MAX_YAML_NODES_PER_FILE: usize = 4_000_000;
/// Nesting of lists and maps. A Pod template nests about 12 levels deep; the parser and
/// the strict field walk recurse once per level.
pub const MAX_NESTING_DEPTH: usize = 64;
/// Events aliases (`*ref`) may replay per file: a "billion laughs" stops here.
pub const MAX_ALIAS_REPLAY_EVENTS: usize = 100_000;
/// `kind: List` inside `kind: List`, at most this deep.
pub const MAX_LIST_DEPTH: usize = 8;

// --- the cluster ----------------------------------------------------------------------

/// Nodes per cluster: Kubernetes' envelope.
pub const MAX_NODES: usize = 5_000;
/// Pods per cluster (workloads' replicas, DaemonSets' pods and Pod objects): Kubernetes'
/// envelope.
pub const MAX_PODS: usize = 150_000;
/// Replicas one workload may ask for (`spec.replicas`, a `scale` event): Kubernetes'
/// envelope of 5,000 endpoints behind one Service.
pub const MAX_REPLICAS: usize = 5_000;

// --- a run ----------------------------------------------------------------------------

/// Requests (connections or datagrams) per run, all traffic entries together.
pub const MAX_REQUESTS: u64 = 1_000_000;
/// Places one packet crosses: a routing loop ends here (`HopLimit`).
pub const MAX_HOPS: usize = 64;
/// Conntrack entries kept per run. kube-proxy sizes a node's table at 32,768 per core
/// and at least 131,072 (`--conntrack-max-per-core`, `--conntrack-min`); every request of
/// a run fits with room to spare (a request makes at most a few entries).
pub const MAX_CONNTRACK_ENTRIES: usize = 1 << 20;
/// Flows of a run that keep every hop (`--trace full`); later flows keep their outcome,
/// reason and backend, as `--trace summary` keeps them, and the run says so.
pub const MAX_TRACED_FLOWS: usize = 10_000;
/// Full stories kept per traffic entry, outcome and reason (`--trace full`).
pub const MAX_TRACES_PER_STORY: usize = 100;

// --- explain, reach -------------------------------------------------------------------

/// One-field edits simulated per failed flow by `explain` (each is a whole re-run).
pub const MAX_FIX_CANDIDATES: usize = 64;
/// Proven fixes shown per failed flow.
pub const MAX_FIXES: usize = 3;
/// Cells of `simctl reach`'s matrix (senders x entrances), each one simulated request.
pub const MAX_REACH_CELLS: usize = 100_000;

// --- what is echoed -------------------------------------------------------------------

/// Characters of a user's value quoted in a message (`Invalid value: "..."`); a longer
/// value is cut and its length given.
pub const MAX_QUOTED_CHARS: usize = 256;
/// Characters of one diagnostic's message, help or label.
pub const MAX_MESSAGE_CHARS: usize = 4_096;
/// Characters of a source line shown under a diagnostic; a longer line is shown around
/// the caret.
pub const MAX_SNIPPET_LINE_CHARS: usize = 240;

// At least Kubernetes' envelope, checked when simctl is compiled: 5,000 nodes, 150,000
// pods, 5,000 endpoints behind one Service; every request of a run fits in conntrack; a
// file at least as large as the API server's largest request.
const _: () = {
    assert!(MAX_NODES >= 5_000);
    assert!(MAX_PODS >= 150_000);
    assert!(MAX_REPLICAS >= 5_000);
    assert!(MAX_CONNTRACK_ENTRIES as u64 >= MAX_REQUESTS);
    assert!(MAX_FILE_BYTES >= 3 * 1024 * 1024);
};

/// One limit, as the documentation lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// What is counted, as a sentence names it: "nodes per cluster".
    pub what: &'static str,
    pub value: u64,
    /// Where it comes from.
    pub reason: &'static str,
}

/// Every limit, in the order `docs/robustness.md` lists them.
pub const ALL: &[Limit] = &[
    Limit {
        what: "bytes per file",
        value: MAX_FILE_BYTES as u64,
        reason: "the API server takes 3 MiB per object; a file holds a large cluster's manifests",
    },
    Limit {
        what: "YAML documents per file",
        value: MAX_DOCUMENTS_PER_FILE as u64,
        reason: "Kubernetes' envelope (5,000 Nodes, 10,000 Services, their workloads) in one file",
    },
    Limit {
        what: "YAML nodes per file",
        value: MAX_YAML_NODES_PER_FILE as u64,
        reason: "a full-size file's values, aliases expanded",
    },
    Limit {
        what: "nesting depth",
        value: MAX_NESTING_DEPTH as u64,
        reason: "the parser recurses per level; manifests nest about 12 deep",
    },
    Limit {
        what: "alias-replayed events per file",
        value: MAX_ALIAS_REPLAY_EVENTS as u64,
        reason: "stops alias bombs (\"billion laughs\")",
    },
    Limit {
        what: "List nesting",
        value: MAX_LIST_DEPTH as u64,
        reason: "kubectl output nests one List; deeper nesting is a mistake",
    },
    Limit {
        what: "nodes per cluster",
        value: MAX_NODES as u64,
        reason: "Kubernetes' envelope",
    },
    Limit {
        what: "pods per cluster",
        value: MAX_PODS as u64,
        reason: "Kubernetes' envelope",
    },
    Limit {
        what: "replicas per workload",
        value: MAX_REPLICAS as u64,
        reason: "Kubernetes' envelope of endpoints per Service",
    },
    Limit {
        what: "requests per run",
        value: MAX_REQUESTS,
        reason: "bounds a run's time and memory",
    },
    Limit {
        what: "hops per packet",
        value: MAX_HOPS as u64,
        reason: "a routing loop ends here",
    },
    Limit {
        what: "conntrack entries per run",
        value: MAX_CONNTRACK_ENTRIES as u64,
        reason: "above kube-proxy's table size; every request of a run fits",
    },
    Limit {
        what: "flows with every hop kept",
        value: MAX_TRACED_FLOWS as u64,
        reason: "bounds a run's memory; later flows keep their outcome",
    },
    Limit {
        what: "full stories per traffic entry and outcome",
        value: MAX_TRACES_PER_STORY as u64,
        reason: "bounds a run's memory; later flows keep their outcome",
    },
    Limit {
        what: "fix candidates per failed flow",
        value: MAX_FIX_CANDIDATES as u64,
        reason: "each candidate is a whole re-run",
    },
    Limit {
        what: "proven fixes per failed flow",
        value: MAX_FIXES as u64,
        reason: "the smallest few are the useful ones",
    },
    Limit {
        what: "reach matrix cells",
        value: MAX_REACH_CELLS as u64,
        reason: "each cell is one simulated request",
    },
    Limit {
        what: "characters of a quoted value",
        value: MAX_QUOTED_CHARS as u64,
        reason: "a 3 MB value is not echoed whole",
    },
    Limit {
        what: "characters of a diagnostic's message",
        value: MAX_MESSAGE_CHARS as u64,
        reason: "output stays proportional to the problems, not to the input",
    },
    Limit {
        what: "characters of a source line shown",
        value: MAX_SNIPPET_LINE_CHARS as u64,
        reason: "a long line is shown around its caret",
    },
];

/// `1,048,576`: numbers in limit messages, grouped as people read them.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The error for a limit reached: `{what}: more than simctl's limit of {max} {unit}`,
/// with how to stay under it as help.
pub fn exceeded(what: impl Into<String>, max: u64, unit: &str, avoid: &str) -> Diagnostic {
    Diagnostic::error(
        LIMIT_EXCEEDED,
        format!(
            "{}: more than simctl's limit of {} {unit}",
            what.into(),
            grouped(max)
        ),
    )
    .help(avoid)
}

/// `s` cut to at most `max` characters (on a character boundary), and whether it was cut.
pub fn truncate_chars(s: &str, max: usize) -> (&str, bool) {
    match s.char_indices().nth(max) {
        Some((i, _)) => (&s[..i], true),
        None => (s, false),
    }
}

/// A message, help or label capped at [`MAX_MESSAGE_CHARS`]: the cut is marked with the
/// number of bytes left out.
pub fn cap_message(s: String) -> String {
    match truncate_chars(&s, MAX_MESSAGE_CHARS) {
        (_, false) => s,
        (head, true) => format!(
            "{head}... ({} more bytes not shown)",
            grouped((s.len() - head.len()) as u64)
        ),
    }
}

/// Limits that need the whole input: nodes (the Scenario's and Node objects together),
/// the podCIDRs clusterCIDR holds for them, replicas per workload and pods per cluster.
/// Called once by [`crate::manifest::load`], before anything is built, so a cluster
/// over a limit is refused whole rather than built smaller.
pub fn check_cluster(loaded: &crate::manifest::Loaded) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let nodes = cluster_nodes(loaded);
    let scenario_nodes = loaded
        .scenario
        .as_ref()
        .and_then(|s| s.doc.spec.cluster.nodes.as_ref())
        .map_or(0, Vec::len);
    if scenario_nodes > MAX_NODES {
        // The Scenario's validation has said so (`spec.cluster.nodes: Too many`).
    } else if nodes.len() > MAX_NODES
        && let Some(first_over) = nodes.get(MAX_NODES)
    {
        out.push(
            exceeded(
                format!("{} nodes", grouped(nodes.len() as u64)),
                MAX_NODES as u64,
                "nodes per cluster",
                "5,000 nodes is also Kubernetes' own envelope; a few nodes show every rule a Service's traffic follows",
            )
            .at(first_over.span),
        );
    } else if let Some(d) = pod_cidrs_left(loaded, &nodes) {
        out.push(d);
    }
    let node_count = nodes.len().max(1);
    let present: std::collections::BTreeSet<(&str, Option<&str>, &str)> = loaded
        .objects
        .iter()
        .map(|o| (o.object.kind(), o.object.namespace(), o.object.name()))
        .collect();
    let mut pods: usize = 0;
    let mut reported_total = false;
    for o in &loaded.objects {
        let (count, replicas) = pods_of(&present, &o.object, node_count);
        if let Some(n) = replicas
            && n > MAX_REPLICAS
        {
            out.push(
                exceeded(
                    format!(
                        "{} {} asks for {} replicas",
                        o.object.kind(),
                        crate::validation::field::go_quote(o.object.name()),
                        grouped(n as u64)
                    ),
                    MAX_REPLICAS as u64,
                    "replicas per workload",
                    "simulate a few replicas: every rule kube-proxy applies shows with three",
                )
                .at(o.locate("spec.replicas"))
                .field("spec.replicas"),
            );
        }
        pods = pods.saturating_add(count);
        if pods > MAX_PODS && !reported_total {
            reported_total = true;
            out.push(
                exceeded(
                    format!(
                        "with {} {}, the cluster has more than {} pods",
                        o.object.kind(),
                        crate::validation::field::go_quote(o.object.name()),
                        grouped(MAX_PODS as u64)
                    ),
                    MAX_PODS as u64,
                    "pods per cluster",
                    "150,000 pods is also Kubernetes' own envelope; lower the workloads' replicas",
                )
                .at(o.node.span),
            );
        }
    }
    out
}

/// A node of the cluster to be: its name, where it is written and its given podCIDR.
struct NodeEntry<'a> {
    name: &'a str,
    span: crate::source::Span,
    pod_cidr: Option<crate::net::Cidr>,
}

/// The Scenario's nodes, then Node objects of other names (the build merges by name);
/// none at all means simctl's two.
fn cluster_nodes(loaded: &crate::manifest::Loaded) -> Vec<NodeEntry<'_>> {
    use std::collections::BTreeMap;
    let mut out: Vec<NodeEntry<'_>> = Vec::new();
    // Name -> index in `out`.
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    if let Some(s) = &loaded.scenario {
        for (i, n) in s.doc.spec.cluster.nodes.iter().flatten().enumerate() {
            if !seen.contains_key(n.name.as_str()) {
                seen.insert(n.name.as_str(), out.len());
                out.push(NodeEntry {
                    name: &n.name,
                    span: s.node.locate(&format!("spec.cluster.nodes[{i}]")).0,
                    pod_cidr: n.pod_cidr.as_deref().and_then(crate::net::Cidr::parse),
                });
            }
        }
    }
    for o in &loaded.objects {
        if let crate::objects::Object::Node(node) = &o.object {
            let given = node
                .spec
                .as_ref()
                .and_then(|s| s.pod_cidr.as_deref())
                .and_then(crate::net::Cidr::parse);
            match seen.get(o.object.name()) {
                Some(&i) => {
                    if let Some(e) = out.get_mut(i) {
                        e.pod_cidr = e.pod_cidr.or(given);
                    }
                }
                None => {
                    seen.insert(o.object.name(), out.len());
                    out.push(NodeEntry {
                        name: o.object.name(),
                        span: o.node.span,
                        pod_cidr: given,
                    });
                }
            }
        }
    }
    out
}

/// kube-controller-manager's range allocator out of podCIDRs: the first node that gets
/// none is refused with the allocator's own message
/// (pkg/controller/nodeipam/ipam/range_allocator.go, cidrset/cidr_set.go), since a node
/// without a pod network runs no pods.
fn pod_cidrs_left(loaded: &crate::manifest::Loaded, nodes: &[NodeEntry<'_>]) -> Option<Diagnostic> {
    use crate::net::Cidr;
    let written = loaded
        .scenario
        .as_ref()
        .and_then(|s| s.doc.spec.cluster.cluster_cidr.as_deref());
    let cluster = Cidr::parse(written.unwrap_or(crate::cluster::build::DEFAULT_CLUSTER_CIDR))?;
    let count = nodes.len().max(2);
    let mask = crate::cluster::build::pod_cidr_mask(cluster, count);
    if mask < cluster.len || mask - cluster.len > 16 {
        return None; // Refused by the Scenario's own validation.
    }
    let blocks = 1u64 << (mask - cluster.len);
    // Blocks the given podCIDRs occupy, as index intervals, merged.
    let shift = 32 - u32::from(mask);
    let mut taken: Vec<(u64, u64)> = nodes
        .iter()
        .filter_map(|n| n.pod_cidr)
        .filter_map(|g| {
            if g.covers(&cluster) {
                return Some((0, blocks));
            }
            let start = cluster.offset_of(g.addr)? >> shift;
            let len = if g.len >= mask {
                1
            } else {
                1u64 << (mask - g.len)
            };
            Some((start, (start + len).min(blocks)))
        })
        .collect();
    taken.sort_unstable();
    let mut occupied = 0u64;
    let mut end = 0u64;
    for (a, b) in taken {
        let a = a.max(end);
        if b > a {
            occupied += b - a;
            end = b;
        }
    }
    let free = blocks.saturating_sub(occupied);
    let wanting: Vec<&NodeEntry<'_>> = nodes.iter().filter(|n| n.pod_cidr.is_none()).collect();
    let first_without = wanting.get(usize::try_from(free).unwrap_or(usize::MAX))?;
    let needed = nodes.len() as u64;
    let bits = 64 - needed.saturating_sub(1).leading_zeros();
    let wider = u32::from(mask).saturating_sub(bits);
    let mut d = Diagnostic::error(
        "CIDRNotAvailable",
        format!(
            "node {}: failed to allocate cidr from cluster cidr at idx:0: CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range",
            crate::validation::field::go_quote(first_without.name)
        ),
    )
    .help(format!(
        "clusterCIDR {cluster} holds {} podCIDRs of /{mask}, one per node, and {} nodes need one: give spec.cluster.clusterCIDR a /{wider} or shorter prefix",
        grouped(blocks),
        grouped(needed)
    ));
    if written.is_some() {
        d = d.field("spec.cluster.clusterCIDR");
    }
    Some(d.at(first_without.span))
}

/// How many pods an object brings (a Pod owned by a workload of the input is that
/// workload's, not one more), and the replicas it asks for.
fn pods_of(
    present: &std::collections::BTreeSet<(&str, Option<&str>, &str)>,
    object: &crate::objects::Object,
    nodes: usize,
) -> (usize, Option<usize>) {
    use crate::objects::Object;
    let owned = object
        .meta()
        .owner_references
        .iter()
        .flatten()
        .filter(|r| r.controller == Some(true))
        .any(|r| present.contains(&(r.kind.as_str(), object.namespace(), r.name.as_str())));
    if owned {
        return (0, None);
    }
    let replicas = |r: Option<i32>| usize::try_from(r.unwrap_or(1)).unwrap_or(0);
    let r = match object {
        Object::Pod(_) => return (1, None),
        Object::DaemonSet(_) => return (nodes, None),
        Object::Deployment(d) => replicas(d.spec.as_ref().and_then(|s| s.replicas)),
        Object::ReplicaSet(d) => replicas(d.spec.as_ref().and_then(|s| s.replicas)),
        Object::StatefulSet(d) => replicas(d.spec.as_ref().and_then(|s| s.replicas)),
        Object::ReplicationController(d) => replicas(d.spec.as_ref().and_then(|s| s.replicas)),
        _ => return (0, None),
    };
    (r, Some(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_048_576), "1,048,576");
    }

    #[test]
    fn messages_are_capped_on_char_boundaries() {
        let long = "é".repeat(MAX_MESSAGE_CHARS + 10);
        let capped = cap_message(long);
        assert!(
            capped.ends_with("... (20 more bytes not shown)"),
            "{capped}"
        );
        assert_eq!(cap_message("short".into()), "short");
        assert_eq!(truncate_chars("abc", 2), ("ab", true));
        assert_eq!(truncate_chars("abc", 3), ("abc", false));
    }
}
