//! Regression tests for the findings of issue 15 (fuzzing and hand-made hostile files):
//! each once crashed simctl, cost time or memory out of proportion to its input, or said
//! nothing where it should have. Every command is driven in-process.

use simctl_e2e::{Outcome, simctl};

/// What the command printed: diagnostics (stderr), then results (stdout).
fn all(o: &Outcome) -> String {
    format!("{}{}", o.stderr, o.stdout)
}

fn scenario(spec: &str) -> String {
    format!("apiVersion: simctl/v1alpha1\nkind: Scenario\nmetadata: {{name: f}}\nspec:\n{spec}")
}

fn head(s: &str) -> String {
    s.chars().take(2_000).collect()
}

const COMMANDS: &[&[&str]] = &[
    &["check", "-"],
    &["run", "-"],
    &["run", "--trace", "summary", "-"],
    &["explain", "-"],
    &["reach", "-"],
    &["lint", "-"],
    &["graph", "-"],
];

/// Every command exits 2 on `input` (lint: its own code), without a panic.
fn every_command_refuses(input: &str) -> Vec<String> {
    let mut outs = Vec::new();
    for args in COMMANDS {
        let out = simctl(args, input.as_bytes());
        if args[0] != "lint" {
            assert_eq!(out.code, 2, "{args:?}: {}", head(&all(&out)));
        }
        outs.push(all(&out));
    }
    outs
}

#[test]
fn names_longer_than_a_format_width_are_refused_not_crashed_on() {
    // Once "Formatting argument out of range" in the story and the reach matrix.
    let long = "n".repeat(70_000);
    for spec in [
        format!("  cluster:\n    nodes: [{{name: {long}}}]\n"),
        format!("  clients: [{{name: {long}}}]\n"),
    ] {
        let outs = every_command_refuses(&scenario(&spec));
        let check = &outs[0];
        assert!(
            check.contains("name: Invalid value: \"nnnn")
                && check.contains("...\"... (70,000 bytes): must be no more than 253 characters"),
            "{}",
            head(check)
        );
        // The 70,000 characters are not echoed whole.
        assert!(check.len() < 8_000, "{} bytes", check.len());
    }
}

#[test]
fn node_and_client_names_follow_the_node_name_rule() {
    let out = simctl(
        &["check", "-"],
        scenario("  cluster:\n    nodes: [{name: Node_1}]\n  clients: [{name: my laptop}]\n")
            .as_bytes(),
    );
    assert_eq!(out.code, 2);
    assert!(
        all(&out).contains("spec.cluster.nodes[0].name: Invalid value: \"Node_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
        "{}",
        all(&out)
    );
    assert!(
        all(&out).contains("spec.clients[0].name: Invalid value: \"my laptop\""),
        "{}",
        all(&out)
    );
}

#[test]
fn many_named_nodes_are_checked_against_a_set() {
    // 65,536 nodes took 28 s in name checks that compared every pair (10,000 here, to
    // keep the test quick; the checks are linear).
    let mut spec = String::from("  cluster:\n    nodes:\n");
    for i in 0..10_000 {
        spec.push_str(&format!("      - {{name: n{i}}}\n"));
    }
    spec.push_str("      - {name: n7}\n");
    let out = simctl(&["check", "-"], scenario(&spec).as_bytes());
    assert_eq!(out.code, 2);
    assert!(
        all(&out).contains("spec.cluster.nodes[10000].name: Duplicate value: \"n7\""),
        "{}",
        head(&all(&out))
    );
    assert!(
        all(&out).contains("spec.cluster.nodes: Too many: 10001: must have at most 5000 items"),
        "{}",
        head(&all(&out))
    );
    assert!(all(&out).contains("2 errors"), "{}", head(&all(&out)));
}

#[test]
fn a_huge_label_value_is_quoted_in_part() {
    // A 3 MB label value was echoed whole, twice per diagnostic (12 MB of output).
    let text = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels:\n    a: {}\nspec: {{ports: [{{port: 80}}]}}\n",
        "v".repeat(3_000_000)
    );
    let out = simctl(&["check", "-"], text.as_bytes());
    assert_eq!(out.code, 2);
    assert!(
        all(&out).contains("...\"... (3,000,000 bytes): must be no more than 63 characters"),
        "{}",
        head(&all(&out))
    );
    assert!(all(&out).len() < 4_000, "{} bytes", all(&out).len());
}

#[test]
fn thousands_of_errors_on_one_long_line_render_in_proportion() {
    // 4,000 errors on a 3.6 MB line took 153 s (each snippet held the whole line).
    let mut text = String::from("apiVersion: v1\nkind: List\nitems: [");
    for i in 0..4_000 {
        text.push_str(&format!("{{apiVersion: v1, kind: Service, metadata: {{name: S{i}}}, spec: {{ports: [{{port: 80}}]}}, pad: {}}},", "x".repeat(850)));
    }
    text.push_str("]\n");
    assert!(text.len() > 3_500_000);
    let out = simctl(&["check", "-"], text.as_bytes());
    assert_eq!(out.code, 2);
    // One unknown field per object (the API server decodes no further).
    assert!(all(&out).contains("4000 errors"), "{}", &all(&out));
    assert!(all(&out).lines().all(|l| l.len() < 1_000));
}

#[test]
fn parser_budgets_are_named_as_limits() {
    let text = format!("a: {}{}\n", "[".repeat(70), "]".repeat(70));
    let out = simctl(&["check", "-"], text.as_bytes());
    assert_eq!(out.code, 2);
    assert!(!all(&out).contains("budget breached"), "{}", all(&out));
    assert!(
        all(&out).contains(
            "error[LimitExceeded]: lists and maps nested deeper than simctl's limit of 64 levels"
        ),
        "{}",
        all(&out)
    );
}

#[test]
fn overlapping_ranges_are_errors() {
    // Pods once got addresses inside the Service range, in silence.
    let out = simctl(
        &["run", "-"],
        scenario("  cluster:\n    clusterCIDR: 10.96.0.0/16\n").as_bytes(),
    );
    assert_eq!(out.code, 2, "{}", all(&out));
    assert!(all(&out).contains("spec.cluster.clusterCIDR: Invalid value: \"10.96.0.0/16\": overlaps serviceCIDR 10.96.0.0/12"), "{}", all(&out));
    let out = simctl(
        &["check", "-"],
        scenario("  cluster:\n    nodes: [{name: a, ip: 10.244.0.7}]\n").as_bytes(),
    );
    assert_eq!(out.code, 2);
    assert!(all(&out).contains("spec.cluster.nodes[0].ip: Invalid value: \"10.244.0.7\": is inside clusterCIDR 10.244.0.0/16"), "{}", all(&out));
}

#[test]
fn ipv6_ranges_are_refused_not_replaced_by_the_default() {
    let out = simctl(
        &["check", "-"],
        scenario("  cluster:\n    serviceCIDR: fd00::/108\n").as_bytes(),
    );
    assert_eq!(out.code, 2);
    assert!(
        all(&out).contains("must be an IPv4 CIDR: simctl simulates IPv4 single-stack clusters"),
        "{}",
        all(&out)
    );
}

#[test]
fn a_long_full_run_keeps_a_bounded_number_of_traces_and_says_so() {
    // One traffic entry of 1,000,000 requests kept every hop of every flow (6 GB).
    let text =
        scenario("  traffic:\n    - {name: t, from: client, to: node-1:31000, requests: 150}\n");
    let out = simctl(&["run", "-o", "json", "-"], text.as_bytes());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let flows = doc["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 150);
    let traced = flows
        .iter()
        .filter(|f| f["hops"].as_array().is_some_and(|h| !h.is_empty()))
        .count();
    assert_eq!(traced, sim_core::limits::MAX_TRACES_PER_STORY);
    let note = doc["diagnostics"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["code"] == "TracesLimited"))
        .expect("a TracesLimited note");
    assert_eq!(
        note["message"],
        "50 of 150 flows keep their outcome, reason and backend but not their hops: simctl keeps every hop of at most 100 flows per traffic entry and outcome, and 10,000 per run"
    );
}
