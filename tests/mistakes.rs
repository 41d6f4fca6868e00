//! The catalogue of real mistakes (`scenarios/mistakes/`): each scenario's failure
//! expectations hold, its reason code shows, `simctl explain` names the right field and
//! line, and the top proven fix, applied to the text, makes the flow delivered.

use serde_json::Value;
use simctl_e2e::{root, simctl, yaml_files};

/// (file, reason code or "", text the explanation must contain, whether a proven fix
/// must exist).
const TABLE: &[(&str, &str, &str, bool)] = &[
    (
        "01-bound-to-loopback.yaml",
        "BoundToLoopback",
        "annotations.simctl/listen (scenarios/mistakes/01-bound-to-loopback.yaml:33)",
        true,
    ),
    (
        "02-containerport-is-not-the-port.yaml",
        "NoListener",
        "spec.ports[0].targetPort (scenarios/mistakes/02-containerport-is-not-the-port.yaml:49)",
        true,
    ),
    (
        "03-named-targetport-missing.yaml",
        "NoEndpoints",
        "spec.ports[0].targetPort (scenarios/mistakes/03-named-targetport-missing.yaml:48)",
        true,
    ),
    ("04-label-collision.yaml", "", "", false),
    (
        "05-udp-vs-tcp.yaml",
        "NoHost",
        "port 53 is exposed for TCP only; the request is UDP",
        true,
    ),
    (
        "06-readiness-wrong-port.yaml",
        "NoEndpoints",
        "readinessProbe (scenarios/mistakes/06-readiness-wrong-port.yaml:35)",
        true,
    ),
    (
        "07-etp-local-no-pod.yaml",
        "NoLocalEndpoint",
        "spec.externalTrafficPolicy (scenarios/mistakes/07-etp-local-no-pod.yaml:50)",
        true,
    ),
    (
        "08-default-deny-blocks-dns.yaml",
        "PolicyDenied",
        "no egress rule allows to pod kube-system/coredns",
        true,
    ),
    (
        "09-netpol-and-vs-or.yaml",
        "PolicyDenied",
        "(both must match: AND)",
        true,
    ),
    (
        "10-wrong-namespace-dns.yaml",
        "NxDomain",
        "Service api exists in namespace production, not in prod",
        true,
    ),
    (
        "11-hostport-vs-nodeport.yaml",
        "NoListener",
        "spec.traffic[0].to (scenarios/mistakes/11-hostport-vs-nodeport.yaml:16)",
        true,
    ),
    (
        "12-selector-typo.yaml",
        "NoEndpoints",
        "spec.selector (scenarios/mistakes/12-selector-typo.yaml:40)",
        true,
    ),
    (
        "13-port-targetport-swapped.yaml",
        "NoHost",
        "80 is the targetPort of port 8080",
        true,
    ),
    (
        "14-nodeport-out-of-range.yaml",
        "NxDomain",
        "provided port is not in the valid range",
        true,
    ),
    (
        "15-loadbalancer-pending.yaml",
        "NoRoute",
        "is <pending>",
        true,
    ),
    ("16-no-session-affinity.yaml", "", "", false),
    (
        "17-single-replica-terminating.yaml",
        "NoEndpoints",
        "spec.selector (scenarios/mistakes/17-single-replica-terminating.yaml:41)",
        false,
    ),
    (
        "18-ipblock-vs-masquerade.yaml",
        "PolicyDenied",
        "the address of node-2 (the source was masqueraded",
        true,
    ),
    (
        "19-egress-service-port.yaml",
        "PolicyDenied",
        "egress[0] allows pods app=api in its namespace on 80/TCP",
        true,
    ),
    (
        "20-headless-expecting-clusterip.yaml",
        "NoListener",
        "connect to port 5432, where postgres listens",
        true,
    ),
    (
        "21-externalname-short-name.yaml",
        "NxDomain",
        "spec.externalName (scenarios/mistakes/21-externalname-short-name.yaml:31)",
        true,
    ),
    (
        "22-internal-traffic-local.yaml",
        "NoLocalInternalEndpoint",
        "spec.internalTrafficPolicy (scenarios/mistakes/22-internal-traffic-local.yaml:43)",
        true,
    ),
    (
        "23-lb-source-ranges.yaml",
        "SourceRangeDenied",
        "spec.loadBalancerSourceRanges (scenarios/mistakes/23-lb-source-ranges.yaml:45)",
        true,
    ),
    (
        "24-two-services-one-nodeport.yaml",
        "NxDomain",
        "provided port is already allocated",
        true,
    ),
    (
        "25-endpointslice-port-name.yaml",
        "NoEndpoints",
        "none is named \"postgres\"",
        true,
    ),
    (
        "26-clusterip-from-outside.yaml",
        "NoRoute",
        "is in serviceCIDR",
        true,
    ),
    (
        "27-hostport-on-one-node.yaml",
        "NoListener",
        "hostPort 8080 is open only on the node of the pod that asks for it: pod app on node-1",
        true,
    ),
];

fn path(file: &str) -> String {
    root()
        .join("scenarios/mistakes")
        .join(file)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn the_table_covers_every_mistake_and_there_are_at_least_25() {
    let files: Vec<String> = yaml_files(&root().join("scenarios/mistakes"))
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert!(files.len() >= 25, "{} mistakes", files.len());
    let listed: Vec<&str> = TABLE.iter().map(|t| t.0).collect();
    assert_eq!(files, listed);
}

#[test]
fn every_mistake_meets_its_failure_expectations_and_shows_its_reason() {
    let mut failures = Vec::new();
    for (file, reason, _, _) in TABLE {
        let text = std::fs::read_to_string(path(file)).unwrap_or_default();
        assert!(text.starts_with("# Mistake: "), "{file}: comment header");
        let out = simctl(&["run", &path(file)], b"");
        if out.code != 0 {
            failures.push(format!("{file}: exit {}\n{}", out.code, out.stdout));
        }
        if !reason.is_empty() && !out.stdout.contains(&format!("({reason})")) {
            failures.push(format!("{file}: no ({reason}) in\n{}", out.stdout));
        }
        if !reason.is_empty() && !out.stdout.contains("  why: ") {
            failures.push(format!("{file}: no why line"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn explain_names_the_field_and_line_and_its_top_fix_delivers() {
    let mut failures = Vec::new();
    for (file, reason, needle, has_fix) in TABLE {
        if reason.is_empty() {
            let out = simctl(&["explain", &path(file)], b"");
            assert!(
                out.stdout.contains("nothing to explain"),
                "{file}: {}",
                out.stdout
            );
            continue;
        }
        let out = simctl(&["explain", &path(file)], b"");
        assert_eq!(out.code, 0, "{file}: {}{}", out.stdout, out.stderr);
        // Paths as given are absolute here: compare them relative to the checkout.
        let shown = out.stdout.replace(&format!("{}/", root().display()), "");
        if !shown.contains(needle) {
            failures.push(format!(
                "{file}: explanation lacks {needle:?}:\n{}",
                out.stdout
            ));
        }
        let json = simctl(&["explain", "-o", "json", &path(file)], b"");
        let doc: Value = serde_json::from_str(&json.stdout).expect("json");
        let x = &doc["explanations"][0];
        assert_eq!(x["reason"], *reason, "{file}");
        let fixes = x["fixes"].as_array().cloned().unwrap_or_default();
        if !has_fix {
            assert!(fixes.is_empty(), "{file}: unexpected fix {fixes:?}");
            continue;
        }
        let Some(top) = fixes.first() else {
            failures.push(format!("{file}: no proven fix:\n{}", out.stdout));
            continue;
        };
        let diff = top["diff"].as_str().unwrap_or("");
        assert!(
            diff.starts_with("--- a/") && diff.contains("\n+++ b/") && diff.contains("\n@@ -"),
            "{file}: {diff}"
        );
        // Apply the fix to the text and run again: the flow is delivered.
        let text = std::fs::read_to_string(path(file)).unwrap_or_default();
        let fixed = apply(&text, top);
        let traffic = x["traffic"].as_str().unwrap_or("");
        let run = simctl(&["run", "-o", "json", "-"], fixed.as_bytes());
        let doc: Value = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
        let flows: Vec<&Value> = doc["flows"]
            .as_array()
            .map(|a| a.iter().filter(|f| f["traffic"] == traffic).collect())
            .unwrap_or_default();
        if flows.is_empty() || flows.iter().any(|f| f["outcome"] != "delivered") {
            failures.push(format!(
                "{file}: top fix does not deliver {traffic}:\n{diff}\n{}",
                run.stdout
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Apply a fix from its JSON: `line`, `removedLines` and the `+` lines of its diff.
fn apply(text: &str, fix: &Value) -> String {
    let line = fix["line"].as_u64().unwrap_or(1) as usize;
    let removed = fix["removedLines"].as_u64().unwrap_or(0) as usize;
    let added: Vec<&str> = fix["diff"]
        .as_str()
        .unwrap_or("")
        .lines()
        .skip(3)
        .filter_map(|l| l.strip_prefix('+'))
        .collect();
    let mut lines: Vec<&str> = text.lines().collect();
    let at = (line - 1).min(lines.len());
    let end = (at + removed).min(lines.len());
    lines.splice(at..end, added);
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

#[test]
fn explain_filters_by_traffic_and_rejects_unknown_names() {
    let p = root().join("scenarios/misconfigured.yaml");
    let p = p.to_string_lossy();
    let out = simctl(&["explain", "--traffic", "laptop-to-api", &p], b"");
    assert_eq!(out.code, 0);
    assert!(
        out.stdout
            .contains("laptop-to-api (request 1): refused (NoEndpoints)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("laptop-to-web"), "{}", out.stdout);
    assert!(
        out.stdout.contains("+    app: api-server"),
        "{}",
        out.stdout
    );
    let out = simctl(&["explain", "--traffic", "nope", &p], b"");
    assert_eq!(out.code, 2);
    let out = simctl(&["explain", &p], b"");
    assert!(
        out.stdout
            .contains("fix: set targetPort to 80, where nginx listens"),
        "{}",
        out.stdout
    );
}
