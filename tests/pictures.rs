//! `simctl reach`, `lint`, `graph --dot`, `run --mermaid` and `run --pcap` end to end,
//! over the fixtures in `tests/pictures/`.
//!
//! The capture test reads the pcap with `tshark`, as a user would. It fails (it does not
//! skip) when tshark is missing: `scripts/test-all.sh` installs it.

use serde_json::Value;
use simctl_e2e::{root, simctl};

fn fixture(name: &str) -> String {
    root()
        .join("tests/pictures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn json(args: &[&str]) -> Value {
    let out = simctl(args, b"");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// The cell (`ok`, `refused:NoEndpoints`, ...) of `reach -o json` for a source and an
/// entrance; `None` where the cell does not apply.
fn cell(doc: &Value, source: &str, entrance: &str) -> Option<String> {
    doc["cells"]
        .as_array()?
        .iter()
        .find(|c| c["source"] == source && c["entrance"] == entrance)
        .and_then(|c| c["cell"].as_str().map(str::to_string))
}

#[test]
fn reach_cells_delivered_no_endpoints_and_policy_denied() {
    let f = fixture("reach.yaml");
    let doc = json(&["reach", "-o", "json", &f]);
    assert_eq!(cell(&doc, "pod/client", "web:80").as_deref(), Some("ok"));
    assert_eq!(
        cell(&doc, "pod/other", "web:80").as_deref(),
        Some("timeout:PolicyDenied")
    );
    assert_eq!(
        cell(&doc, "pod/client", "empty:80").as_deref(),
        Some("refused:NoEndpoints")
    );
    // The web pod runs on node-1: through node-1 the client's connection is masqueraded
    // to the node's own bridge address, which policies always allow; through node-2 it
    // arrives from node-2's address, which the policy does not allow.
    assert_eq!(
        cell(&doc, "laptop", "web:30080@node-1").as_deref(),
        Some("ok")
    );
    assert_eq!(
        cell(&doc, "laptop", "web:30080@node-2").as_deref(),
        Some("timeout:PolicyDenied")
    );
    // A ClusterIP is no entrance for a client outside the cluster.
    assert_eq!(cell(&doc, "laptop", "web:80"), None);
    // Every source against every entrance, but clients against ClusterIPs.
    let sources = doc["sources"].as_array().map_or(0, Vec::len);
    let entrances = doc["entrances"].as_array().map_or(0, Vec::len);
    assert_eq!((sources, entrances), (4, 4));
    assert_eq!(doc["cells"].as_array().map_or(0, Vec::len), 4 * 4 - 2);
    let denied = doc["cells"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["cell"] == "timeout:PolicyDenied"))
        .expect("a denied cell");
    assert!(
        denied["why"]
            .as_str()
            .is_some_and(|w| w.contains("web-from-client") && w.contains("reach.yaml:48")),
        "{denied}"
    );
}

#[test]
fn reach_text_is_a_stable_table() {
    let f = fixture("reach.yaml");
    let a = simctl(&["reach", &f], b"");
    let b = simctl(&["reach", &f], b"");
    assert_eq!(a.code, 0, "{}", a.stdout);
    assert_eq!(a.stdout, b.stdout);
    let row = a
        .stdout
        .lines()
        .find(|l| l.starts_with("pod/other "))
        .expect("a row for pod/other");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "pod/other",
            "refused:NoEndpoints",
            "timeout:PolicyDenied",
            "ok",
            "timeout:PolicyDenied"
        ]
    );
    assert!(
        a.stdout.contains("6 of 14 reach their Service"),
        "{}",
        a.stdout
    );
    assert!(
        a.stdout
            .contains("refused:NoEndpoints at empty:80 (from pod/client and 2 more: 3 cells)"),
        "{}",
        a.stdout
    );
}

/// (code, object name in the message) of every finding of `lint -o json`.
fn lint_codes(args: &[&str]) -> (Vec<(String, String)>, u64) {
    let doc = json(args);
    let found = doc["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_string(),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (found, doc["silenced"].as_u64().unwrap_or(0))
}

#[test]
fn lint_reports_each_code_with_its_place() {
    let f = fixture("lint.yaml");
    let (found, silenced) = lint_codes(&["lint", "-o", "json", &f]);
    let codes: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
    for code in [
        "NodePortOnEveryNode",
        "UnnamedPort",
        "NumericTargetPortWhereNamed",
        "NodePortWithoutPolicy",
        "PodWithoutPolicy",
        "ClusterPolicyLosesSourceIP",
        "SelectorMatchesNoPod",
        "NoReadinessProbe",
        "ExternalIPsInUse",
    ] {
        assert_eq!(
            codes.iter().filter(|c| **c == code).count(),
            1,
            "{code} once in {codes:?}"
        );
    }
    // The `quiet` Deployment and Service silence theirs.
    assert!(found.iter().all(|(_, m)| !m.contains("quiet")), "{found:?}");
    assert_eq!(silenced, 3);

    let text = simctl(&["lint", &f], b"");
    assert_eq!(text.code, 0, "advice is not an error:\n{}", text.stdout);
    // The advice, like every diagnostic, on stderr; the tally on stdout.
    assert!(
        text.stderr.contains(
            "note[NumericTargetPortWhereNamed]: Service web sends to targetPort 8080 by number, but its pods name that port `http`"
        ),
        "{}",
        text.stderr
    );
    assert!(text.stderr.contains("--> "), "{}", text.stderr);
    assert!(text.stderr.contains("lint.yaml:37:19"), "{}", text.stderr);
    assert!(
        text.stdout
            .contains("lint: 4 warnings, 5 notes (3 silenced)"),
        "{}",
        text.stdout
    );
}

#[test]
fn lint_allow_silences_codes() {
    let f = fixture("lint.yaml");
    let (found, silenced) = lint_codes(&[
        "lint",
        "-o",
        "json",
        "--allow",
        "UnnamedPort,NodePortOnEveryNode",
        "--allow",
        "PodWithoutPolicy",
        &f,
    ]);
    assert!(
        found.iter().all(|(c, _)| c != "UnnamedPort"
            && c != "NodePortOnEveryNode"
            && c != "PodWithoutPolicy"),
        "{found:?}"
    );
    assert!(found.iter().any(|(c, _)| c == "ExternalIPsInUse"));
    assert_eq!(silenced, 3 + 3);
}

#[test]
fn lint_of_invalid_input_exits_2() {
    let out = simctl(
        &["lint", "-"],
        b"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 0}]}\n",
    );
    assert_eq!(out.code, 2, "{}", out.stdout);
}

#[test]
fn dot_is_structured_complete_and_byte_stable() {
    let f = fixture("reach.yaml");
    let a = simctl(&["graph", "--dot", &f], b"");
    let b = simctl(&["graph", "--dot", &f], b"");
    assert_eq!(a.code, 0, "{}{}", a.stdout, a.stderr);
    assert_eq!(a.stdout, b.stdout, "byte-stable");
    let dot = &a.stdout;
    assert!(dot.starts_with("digraph simctl {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");
    // Balanced braces and quotes, outside and inside strings.
    let mut depth: i64 = 0;
    let mut in_str = false;
    let mut escaped = false;
    for ch in dot.chars() {
        if in_str {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_str = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                assert!(depth >= 0, "unbalanced:\n{dot}");
            }
            _ => {}
        }
    }
    assert_eq!((depth, in_str), (0, false), "{dot}");
    // Every pod (the user's and CoreDNS) is a node of the graph, in its node's cluster.
    for pod in ["default/web", "default/client", "default/other"] {
        assert!(
            dot.contains(&format!("\"pod:{pod}\" [label=")),
            "{pod}:\n{dot}"
        );
    }
    assert!(dot.contains("\"pod:kube-system/coredns-"), "{dot}");
    assert_eq!(dot.matches("subgraph \"cluster_node_").count(), 2, "{dot}");
    assert!(dot.contains("\"client:laptop\""), "{dot}");
    // Services point at their endpoints.
    assert!(
        dot.contains("\"svc:default/web\" -> \"pod:default/web\""),
        "{dot}"
    );
    assert!(!dot.contains("\"svc:default/empty\" ->"), "{dot}");
}

#[test]
fn mermaid_has_participants_and_the_dnat_note() {
    let f = root()
        .join("tests/scenarios/nodeport-cluster.yaml")
        .to_string_lossy()
        .into_owned();
    let out = simctl(&["run", "--mermaid", &f], b"");
    assert_eq!(out.code, 0, "{}", out.stdout);
    let s = &out.stdout;
    assert_eq!(s.matches("```mermaid\nsequenceDiagram\n").count(), 2, "{s}");
    for p in [
        "participant p0 as laptop",
        "as node-1",
        "as kube-proxy@node-1",
        "as pod/web-",
    ] {
        assert!(s.contains(p), "{p}:\n{s}");
    }
    assert!(
        s.contains(": DNAT dst 172.18.0.2:30080 → 10.244."),
        "the DNAT note:\n{s}"
    );
    assert!(
        s.contains("Note over") && s.contains("MASQUERADE src 203.0.113.10:"),
        "{s}"
    );
    assert!(s.contains("->>") && s.contains("-->>"), "{s}");
    assert!(
        !s.contains("via-node-1: laptop -> node-1:30080 (TCP): delivered 40/40"),
        "no story"
    );
}

/// `tshark -r FILE -T fields -e ip.src -e ip.dst -e tcp.flags`, one line per packet.
fn tshark_fields(path: &std::path::Path) -> Vec<String> {
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "tcp.flags"])
        .output()
        .unwrap_or_else(|e| {
            panic!("tshark could not run ({e}): install it (scripts/test-all.sh does: apt-get install tshark)")
        });
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn pcap_reads_back_in_tshark_with_the_handshakes_and_nat() {
    let f = fixture("capture.yaml");
    let path = std::env::temp_dir().join(format!("simctl-pictures-{}.pcap", std::process::id()));
    let p = path.to_string_lossy().into_owned();
    let out = simctl(&["run", "--pcap", &p, &f], b"");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let lines = tshark_fields(&path);
    let first = std::fs::read(&path).unwrap_or_default();
    let again = simctl(&["run", "--pcap", &p, &f], b"");
    assert_eq!(again.code, 0);
    let second = std::fs::read(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    assert_eq!(first, second, "same run, same capture");
    // Delivered through node-1's NodePort: the SYN as the laptop sent it, the SYN after
    // DNAT and masquerade on the veth to the pod, the pod's SYN-ACK, and the SYN-ACK
    // after conntrack put the NodePort address back. Then the refused connection: the
    // SYN to node-2 and kube-proxy's RST-ACK.
    let web = "10.244.0.3"; // the only pod: first address of node-1's podCIDR after CoreDNS
    let bridge = "10.244.0.1";
    let expected = vec![
        "203.0.113.10\t172.18.0.2\t0x0002".to_string(),
        format!("{bridge}\t{web}\t0x0002"),
        format!("{web}\t{bridge}\t0x0012"),
        "172.18.0.2\t203.0.113.10\t0x0012".to_string(),
        "203.0.113.10\t172.18.0.3\t0x0002".to_string(),
        "172.18.0.3\t203.0.113.10\t0x0014".to_string(),
    ];
    assert_eq!(lines, expected);
}
