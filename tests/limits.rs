//! Every limit of `sim_core::limits`, reached: an error diagnostic that names the limit
//! and how to stay under it, exit 2, never a smaller cluster or a parser's message. And
//! just under each limit, the input is accepted (the limit is where the table says).

use sim_core::limits;
use simctl_e2e::{Outcome, simctl};

/// What the command printed: diagnostics (stderr), then results (stdout).
fn all(o: &Outcome) -> String {
    format!("{}{}", o.stderr, o.stdout)
}

fn scenario(spec: &str) -> String {
    format!(
        "apiVersion: simctl/v1alpha1\nkind: Scenario\nmetadata: {{name: limits}}\nspec:\n{spec}"
    )
}

/// `check` refuses `input` with exit 2 and says `phrase`; `run` refuses it too.
fn refused(input: &str, phrase: &str) -> String {
    let out = simctl(&["check", "-"], input.as_bytes());
    assert_eq!(out.code, 2, "{}", head(&all(&out)));
    assert!(
        all(&out).contains(phrase),
        "want {phrase:?} in:\n{}",
        head(&all(&out))
    );
    assert!(
        !all(&out).contains("budget breached"),
        "{}",
        head(&all(&out))
    );
    let run = simctl(&["run", "-"], input.as_bytes());
    assert_eq!(run.code, 2, "{}", head(&all(&run)));
    all(&out)
}

fn accepted(input: &str) {
    let out = simctl(&["check", "-"], input.as_bytes());
    assert_eq!(out.code, 0, "{}", head(&all(&out)));
}

fn head(s: &str) -> String {
    s.chars().take(2_000).collect()
}

fn nodes(n: usize, cidr: Option<&str>) -> String {
    let mut s = String::from("  cluster:\n");
    if let Some(c) = cidr {
        s.push_str(&format!("    clusterCIDR: {c}\n"));
    }
    s.push_str("    nodes:\n");
    for i in 0..n {
        s.push_str(&format!("      - {{name: node-{i}}}\n"));
    }
    scenario(&s)
}

#[test]
fn the_documented_table_lists_every_limit_with_its_value() {
    let doc = std::fs::read_to_string(simctl_e2e::root().join("docs/robustness.md"))
        .expect("docs/robustness.md");
    for l in limits::ALL {
        let row = format!("| {} | {} |", l.what, limits::grouped(l.value));
        assert!(
            doc.contains(&row),
            "docs/robustness.md lacks the row {row:?}"
        );
    }
}

#[test]
fn documents_per_file() {
    // Empty documents count as documents (and cost little to parse).
    let mut text = String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
    text.push_str(&"---\n".repeat(limits::MAX_DOCUMENTS_PER_FILE + 1));
    let out = refused(
        &text,
        "error[LimitExceeded]: more YAML documents in this file than simctl's limit of 50,000 per file",
    );
    assert!(
        out.contains("split the input into several files"),
        "{}",
        head(&out)
    );
}

#[test]
fn list_nesting() {
    let mut text = String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: inner}\n");
    for _ in 0..=limits::MAX_LIST_DEPTH {
        let indented: String = text.lines().map(|l| format!("    {l}\n")).collect();
        text = format!("apiVersion: v1\nkind: List\nitems:\n  -\n{indented}");
    }
    refused(
        &text,
        "error[LimitExceeded]: a `kind: List` nested 9 deep: more than simctl's limit of 8 nested Lists",
    );
}

#[test]
fn nodes_per_cluster() {
    let out = refused(
        &nodes(limits::MAX_NODES + 1, Some("10.128.0.0/9")),
        "spec.cluster.nodes: Too many: 5001: must have at most 5000 items: simctl's limit of nodes per cluster",
    );
    assert!(out.contains("error[FieldValueTooMany]"), "{}", head(&out));
    // Node objects count with the Scenario's nodes.
    let mut text = nodes(limits::MAX_NODES, Some("10.128.0.0/9"));
    text.push_str("---\napiVersion: v1\nkind: Node\nmetadata: {name: one-more}\n");
    refused(
        &text,
        "error[LimitExceeded]: 5,001 nodes: more than simctl's limit of 5,000 nodes per cluster",
    );
}

#[test]
fn a_cluster_of_5000_nodes_is_accepted_with_a_large_enough_cluster_cidr() {
    accepted(&nodes(limits::MAX_NODES, Some("10.128.0.0/9")));
}

#[test]
fn pod_cidrs_run_out_as_the_node_ipam_controller_says() {
    // A /16 holds 256 podCIDRs of /24: node-256 (the 257th) gets none.
    let out = refused(
        &nodes(257, None),
        "error[CIDRNotAvailable]: node \"node-256\": failed to allocate cidr from cluster cidr at idx:0: CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range",
    );
    assert!(
        out.contains("clusterCIDR 10.244.0.0/16 holds 256 podCIDRs of /24, one per node, and 257 nodes need one: give spec.cluster.clusterCIDR a /15 or shorter prefix"),
        "{}",
        head(&out)
    );
    accepted(&nodes(256, None));
    accepted(&nodes(500, Some("10.0.0.0/15")));
}

fn deployment(name: &str, replicas: usize) -> String {
    format!(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec: {{containers: [{{name: c, image: nginx}}]}}\n"
    )
}

#[test]
fn replicas_per_workload() {
    let out = refused(
        &deployment("web", limits::MAX_REPLICAS + 1),
        "error[LimitExceeded]: Deployment \"web\" asks for 5,001 replicas: more than simctl's limit of 5,000 replicas per workload",
    );
    assert!(
        out.contains("replicas: 5001"),
        "points at the field: {}",
        head(&out)
    );
    let event = scenario("  events:\n    - {at: 1s, scale: {deployment: web, replicas: 5001}}\n");
    refused(
        &event,
        "spec.events[0].scale.replicas: Invalid value: 5001: must be no more than 5000: simctl's limit of replicas per workload",
    );
}

#[test]
fn pods_per_cluster() {
    // 31 workloads of 5,000 replicas: the 31st takes the cluster over 150,000 pods.
    let mut text = nodes(2, None);
    for i in 0..31 {
        text.push_str(&deployment(&format!("w{i}"), limits::MAX_REPLICAS));
    }
    refused(
        &text,
        "error[LimitExceeded]: with Deployment \"w30\", the cluster has more than 150,000 pods: more than simctl's limit of 150,000 pods per cluster",
    );
}

fn traffic(entries: &[u64]) -> String {
    let mut s = String::from("  traffic:\n");
    for (i, n) in entries.iter().enumerate() {
        s.push_str(&format!(
            "    - {{name: t{i}, from: client, to: node-1:30080, requests: {n}}}\n"
        ));
    }
    scenario(&s)
}

#[test]
fn requests_per_run() {
    refused(
        &traffic(&[limits::MAX_REQUESTS + 1]),
        "spec.traffic[0].requests: Invalid value: 1000001: must be no more than 1000000: simctl's limit of requests per run",
    );
    // Together: the entry that crosses the limit is named.
    refused(
        &traffic(&[600_000, 600_000]),
        "spec.traffic[1].requests: Invalid value: 600000: the traffic entries ask for more than 1000000 requests in all",
    );
    // Not capped in silence, and 2^63 is printed as written (not 9223372036854776000).
    refused(
        &traffic(&[9_223_372_036_854_775_807]),
        "Invalid value: 9223372036854775807: must be no more than 1000000",
    );
    let out = refused(
        &traffic(&[9_223_372_036_854_775_808]),
        "Invalid value: 9223372036854775808: must be no more than 1000000",
    );
    assert!(!out.contains("9223372036854776000"), "{}", head(&out));
}

#[test]
fn reach_cells() {
    // 330 clients x (1 Service x 303 NodePort entrances on 303 nodes) > 100,000 cells.
    let mut spec = String::from("  cluster:\n    clusterCIDR: 10.0.0.0/12\n    nodes:\n");
    for i in 0..303 {
        spec.push_str(&format!("      - {{name: n{i}}}\n"));
    }
    spec.push_str("  clients:\n");
    for i in 0..330 {
        spec.push_str(&format!(
            "    - {{name: c{i}, ip: 198.18.{}.{}}}\n",
            i / 200,
            1 + i % 200
        ));
    }
    let mut text = scenario(&spec);
    text.push_str("---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}\n");
    let out = simctl(&["reach", "-"], text.as_bytes());
    assert_eq!(out.code, 2, "{}", head(&all(&out)));
    assert!(
        all(&out).contains("error[LimitExceeded]: 330 senders x 304 Service entrances make 100,320 cells: more than simctl's limit of 100,000 cells"),
        "{}",
        head(&all(&out))
    );
}
