//! `simctl run` end to end: behaviour scenarios with their expectations, in every
//! kube-proxy mode; the shipped misconfigured scenario; determinism; the JSON contract.

use proptest::prelude::*;
use serde_json::Value;
use simctl_e2e::{root, simctl, yaml_files};

const MODES: [&str; 3] = ["iptables", "ipvs", "nftables"];

/// Modes a scenario file runs in: `# modes: ipvs nftables`, else all three.
fn modes_of(text: &str) -> Vec<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("# modes: "))
        .map(|m| m.split_whitespace().map(str::to_string).collect())
        .unwrap_or_else(|| MODES.iter().map(|m| m.to_string()).collect())
}

#[test]
fn behaviour_scenarios_meet_their_expectations_in_every_mode() {
    let files = yaml_files(&root().join("tests/scenarios"));
    assert!(files.len() >= 7, "found {} scenarios", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        for mode in modes_of(&text) {
            let p = f.to_string_lossy();
            let out = simctl(&["run", "--proxy-mode", &mode, &p], b"");
            if out.code != 0 {
                failures.push(format!(
                    "{} ({mode}): exit {}\n{}{}",
                    f.display(),
                    out.code,
                    out.stdout,
                    out.stderr
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn misconfigured_tells_which_flows_fail_why_and_the_line_to_fix() {
    let path = root().join("scenarios/misconfigured.yaml");
    let out = simctl(&["run", &path.to_string_lossy()], b"");
    assert_eq!(out.code, 1, "expectations must fail:\n{}", out.stdout);
    let s = &out.stdout;
    assert!(
        s.contains("laptop-to-web: laptop -> node-1:30080 (TCP): refused (NoListener) 10/10"),
        "{s}"
    );
    assert!(
        s.contains("does not listen on 8080; it listens on 80"),
        "{s}"
    );
    assert!(s.contains("spec.ports[0].targetPort at "), "{s}");
    assert!(
        s.contains("misconfigured.yaml:74): set targetPort to 80, where the app listens"),
        "{s}"
    );
    assert!(
        s.contains("laptop-to-api: laptop -> node-2:30081 (TCP): refused (NoEndpoints) 1/1"),
        "{s}"
    );
    assert!(
        s.contains("the selector app=api of Service api (")
            && s.contains("misconfigured.yaml:106) matches no pod; pods have app=api-server"),
        "{s}"
    );
    assert!(
        s.contains("FAIL laptop-to-web: expected delivered, got 10 of 10 refused (NoListener)"),
        "{s}"
    );
}

#[test]
fn same_seed_same_bytes_and_another_seed_another_sequence() {
    let mut files = yaml_files(&root().join("scenarios"));
    files.extend(yaml_files(&root().join("tests/scenarios")));
    for f in &files {
        let p = f.to_string_lossy();
        let a = simctl(&["run", "-o", "json", &p], b"");
        let b = simctl(&["run", "-o", "json", &p], b"");
        assert_eq!(a.stdout, b.stdout, "{p}: two runs differ");
        let ta = simctl(&["run", &p], b"");
        let tb = simctl(&["run", &p], b"");
        assert_eq!(ta.stdout, tb.stdout, "{p}: two text runs differ");
    }
    let p = root().join("tests/scenarios/nodeport-cluster.yaml");
    let p = p.to_string_lossy();
    let backends = |seed: &str| -> Vec<String> {
        let out = simctl(&["run", "-o", "json", "--seed", seed, &p], b"");
        let json: Value = serde_json::from_str(&out.stdout).expect("json");
        json["flows"]
            .as_array()
            .expect("flows")
            .iter()
            .map(|f| f["backend"]["pod"].to_string())
            .collect()
    };
    assert_eq!(backends("7"), backends("7"));
    assert_ne!(
        backends("7"),
        backends("8"),
        "another seed must change the backend sequence"
    );
}

#[test]
fn json_output_has_the_contract_fields() {
    let p = root().join("tests/scenarios/nodeport-cluster.yaml");
    let out = simctl(&["run", "-o", "json", &p.to_string_lossy()], b"");
    assert_eq!(out.code, 0, "{}", out.stdout);
    let j: Value = serde_json::from_str(&out.stdout).expect("json");
    let svc = j["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["name"] == "web")
        .expect("web")
        .clone();
    for k in [
        "namespace",
        "name",
        "type",
        "clusterIP",
        "externalIPs",
        "loadBalancerIPs",
        "healthCheckNodePort",
        "ports",
    ] {
        assert!(svc.get(k).is_some(), "services[].{k} missing: {svc}");
    }
    assert_eq!(svc["type"], "NodePort");
    let port = &svc["ports"][0];
    assert_eq!(port["nodePort"], 30080);
    assert_eq!(port["targetPort"], 8080);
    assert_eq!(port["endpoints"].as_array().map(Vec::len), Some(3));
    for k in [
        "pod",
        "ip",
        "port",
        "node",
        "ready",
        "serving",
        "terminating",
    ] {
        assert!(
            port["endpoints"][0].get(k).is_some(),
            "endpoint.{k} missing"
        );
    }
    let flow = &j["flows"][0];
    for k in [
        "traffic",
        "index",
        "protocol",
        "src",
        "dst",
        "outcome",
        "reason",
        "backend",
        "sourceIPSeen",
        "masqueraded",
        "hops",
    ] {
        assert!(flow.get(k).is_some(), "flows[].{k} missing: {flow}");
    }
    assert_eq!(flow["outcome"], "delivered");
    assert_eq!(flow["masqueraded"], true);
    assert_eq!(flow["dst"]["port"], 30080);
    for k in ["pod", "ip", "port", "node", "process"] {
        assert!(flow["backend"].get(k).is_some(), "backend.{k} missing");
    }
    let dnat = flow["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .find(|h| h["action"] == "dnat")
        .expect("a DNAT hop");
    assert_eq!(dnat["nat"]["kind"], "DNAT");
    assert!(
        dnat["nat"]["after"]["dst"]
            .as_str()
            .is_some_and(|d| d.ends_with(":8080")),
        "{dnat}"
    );
    assert!(dnat["at"].is_u64());
    assert!(
        j["expectations"]
            .as_array()
            .is_some_and(|e| e.iter().all(|e| e["passed"] == true))
    );
}

#[test]
fn without_a_scenario_run_probes_every_service_port() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\nspec: {containers: [{name: nginx, image: nginx}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{port: 80}]\n";
    let out = simctl(&["run", "-o", "json", "-"], text.as_bytes());
    assert_eq!(out.code, 0, "{}", out.stdout);
    let j: Value = serde_json::from_str(&out.stdout).expect("json");
    let names: Vec<String> = j["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| f["traffic"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.contains("default/web:80 (ClusterIP)")),
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| n.contains("NodePort")).count(),
        2,
        "{names:?}"
    );
    assert!(
        j["flows"]
            .as_array()
            .expect("flows")
            .iter()
            .all(|f| f["outcome"] == "delivered")
    );
}

#[test]
fn invalid_input_is_not_simulated() {
    let out = simctl(&["run", "-"], b"apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 80}]}\n");
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("nothing was simulated"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("error[FieldValueInvalid]"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("error["), "{}", out.stdout);
}

/// Two Services asking for one nodePort, the second refused by the API server, and a
/// client that tries both.
const REFUSED: &str = "apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: refused}
spec:
  traffic:
    - {name: to-a, from: pod/client, to: \"a:80\"}
    - {name: to-b, from: pod/client, to: \"b:80\"}
  expect:
    - {traffic: to-a, outcome: delivered}
    - {traffic: to-b, outcome: nxdomain}
CLAIM
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec: {containers: [{name: nginx, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec: {containers: [{name: sh, image: busybox}]}
---
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}
";

/// The control plane's refusals are errors (issue 9 item 5): `check` reports them at
/// their line and `run` simulates nothing, unless an expectation claims the error; then
/// the refused object does not exist and the run goes on.
#[test]
fn a_refusal_is_invalid_unless_an_expectation_claims_it() {
    let unclaimed = REFUSED.replace("CLAIM\n", "");
    let check = simctl(&["check", "-"], unclaimed.as_bytes());
    assert_eq!(check.code, 2, "{}", check.stdout);
    assert!(
        check.stderr.contains("error[FieldValueInvalid]: The Service \"b\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated\n  --> <stdin>:30:75"),
        "{}",
        check.stdout
    );
    let run = simctl(&["run", "-o", "json", "-"], unclaimed.as_bytes());
    assert_eq!(run.code, 2, "{}", run.stdout);
    let j: Value = serde_json::from_str(&run.stdout).expect("json");
    assert!(j["flows"].as_array().is_some_and(Vec::is_empty), "{j}");
    assert!(
        j["diagnostics"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("already allocated")),
        "{j}"
    );

    let claimed = REFUSED.replace(
        "CLAIM",
        "    - diagnostic: {field: \"spec.ports[0].nodePort\", contains: already allocated}",
    );
    let check = simctl(&["check", "-"], claimed.as_bytes());
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert!(
        check.stderr.contains("help: claimed by spec.expect[2]"),
        "{}",
        check.stderr
    );
    assert!(
        check
            .stdout
            .contains("1 error, 0 warnings, 0 notes (1 claimed by the Scenario's expectations)"),
        "{}",
        check.stdout
    );
    let run = simctl(&["run", "-"], claimed.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("PASS to-b: nxdomain (1/1)"),
        "{}",
        run.stdout
    );
    // The exit status follows the expectations.
    let wrong = claimed.replace(
        "{traffic: to-b, outcome: nxdomain}",
        "{traffic: to-b, outcome: delivered}",
    );
    assert_eq!(simctl(&["run", "-"], wrong.as_bytes()).code, 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Whatever is sent wherever, every request ends in exactly one outcome, and a failed
    /// one carries a reason whose outcome it is.
    #[test]
    fn every_packet_gets_exactly_one_verdict(
        port in prop::sample::select(vec![80u16, 443, 8080, 30080, 30081, 53, 9]),
        host in prop::sample::select(vec!["web", "api", "10.96.0.10", "172.18.0.2", "172.18.0.3", "203.0.113.10", "10.244.0.77", "8.8.8.8", "nope", "kube-dns.kube-system"]),
        from in prop::sample::select(vec!["laptop", "node-1", "pod/client", "pod/web"]),
        udp in any::<bool>(),
        mode in prop::sample::select(vec!["iptables", "ipvs", "nftables"]),
    ) {
        let scenario = format!(
            "apiVersion: simctl/v1alpha1\nkind: Scenario\nmetadata: {{name: p}}\nspec:\n  clients: [{{name: laptop, ip: 203.0.113.10}}]\n  traffic:\n    - {{name: t, from: {from}, to: \"{host}:{port}\", protocol: {}, requests: 3}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: web, labels: {{app: web}}}}\nspec: {{containers: [{{name: nginx, image: nginx}}]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: client}}\nspec: {{containers: [{{name: sh, image: busybox}}]}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec: {{type: NodePort, selector: {{app: web}}, ports: [{{port: 80, nodePort: 30080}}]}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: api}}\nspec: {{type: NodePort, selector: {{app: api}}, ports: [{{port: 80, nodePort: 30081}}]}}\n",
            if udp { "UDP" } else { "TCP" }
        );
        let out = simctl(&["run", "-o", "json", "--proxy-mode", mode, "-"], scenario.as_bytes());
        prop_assert_eq!(out.code, 0, "{}", out.stdout);
        let j: Value = serde_json::from_str(&out.stdout).expect("json");
        let flows = j["flows"].as_array().expect("flows");
        prop_assert_eq!(flows.len(), 3);
        for f in flows {
            let outcome = f["outcome"].as_str().unwrap_or("");
            prop_assert!(["delivered", "refused", "timeout", "unreachable", "nxdomain"].contains(&outcome), "{}", f);
            match outcome {
                "delivered" => prop_assert!(f["reason"].is_null(), "{}", f),
                _ => prop_assert!(f["reason"].is_string(), "{}", f),
            }
            let terminal = f["hops"].as_array().map(|h| h.iter().filter(|h| ["deliver", "refuse", "reject", "drop", "lost", "unreachable", "policy-drop", "health-check", "complete"].contains(&h["action"].as_str().unwrap_or(""))).count()).unwrap_or(0);
            prop_assert!(terminal >= 1 || outcome == "nxdomain", "{}", f);
        }
    }
}

/// Corpus apps whose Services really do send where nothing listens (a real cluster
/// refuses them too), with why.
const CORPUS_REALLY_BROKEN: &[(&str, &str)] = &[(
    "argocd-example-apps/sync-waves",
    "Service backend targets 8080 on stock nginx, which serves 80",
)];

#[test]
fn corpus_apps_simulate_without_a_false_nothing_listening() {
    let dir = simctl_e2e::corpus_dir();
    let files = yaml_files(&dir);
    assert!(files.len() >= 150, "corpus missing at {}", dir.display());
    // Each folder is one app (or one chapter): simulate its files together.
    let mut by_dir: std::collections::BTreeMap<std::path::PathBuf, Vec<String>> =
        Default::default();
    for f in &files {
        by_dir
            .entry(f.parent().map(|p| p.to_path_buf()).unwrap_or_default())
            .or_default()
            .push(f.to_string_lossy().into_owned());
    }
    let mut failures = Vec::new();
    let mut simulated = 0;
    for (d, files) in &by_dir {
        let rel = d
            .strip_prefix(&dir)
            .unwrap_or(d)
            .to_string_lossy()
            .replace('\\', "/");
        let mut args = vec!["run", "-o", "json"];
        args.extend(files.iter().map(String::as_str));
        let out = simctl(&args, b"");
        if out.code == 2 {
            continue; // A folder holding a file Kubernetes rejects: nothing is simulated.
        }
        assert!(out.code == 0, "{rel}: exit {}", out.code);
        simulated += 1;
        let j: Value = serde_json::from_str(&out.stdout).expect("json");
        for f in j["flows"].as_array().expect("flows") {
            let reason = f["reason"].as_str().unwrap_or("");
            if (reason == "NoListener" || reason == "BoundToLoopback")
                && !CORPUS_REALLY_BROKEN.iter().any(|(d, _)| rel.ends_with(d))
            {
                failures.push(format!("{rel}: {} -> {}", f["traffic"], reason));
            }
        }
    }
    assert!(simulated >= 20, "only {simulated} corpus folders simulated");
    assert!(
        failures.is_empty(),
        "false 'nothing listening':\n{}",
        failures.join("\n")
    );
}

#[test]
fn dns_answers_headless_statefulset_and_srv() {
    let p = root().join("tests/scenarios/dns.yaml");
    let out = simctl(&["run", "-o", "json", &p.to_string_lossy()], b"");
    assert_eq!(out.code, 0, "{}", out.stdout);
    let j: Value = serde_json::from_str(&out.stdout).expect("json");
    let flow = |name: &str| {
        j["flows"]
            .as_array()
            .expect("flows")
            .iter()
            .find(|f| f["traffic"] == name)
            .expect(name)
            .clone()
    };
    let answers = |name: &str| -> Vec<(String, String)> {
        flow(name)["dns"]["answers"]
            .as_array()
            .expect("answers")
            .iter()
            .map(|a| {
                (
                    a["type"].as_str().unwrap_or("").to_string(),
                    a["data"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let headless = answers("headless");
    assert_eq!(headless.len(), 3, "{headless:?}");
    assert!(
        headless
            .iter()
            .all(|(t, ip)| t == "A" && ip.starts_with("10.244.")),
        "{headless:?}"
    );
    let one = answers("pod-name");
    assert_eq!(one.len(), 1);
    assert!(
        headless.contains(&one[0]),
        "db-1.db must be one of the headless answers"
    );
    let srv = answers("srv");
    assert_eq!(srv.len(), 3, "{srv:?}");
    assert!(
        srv.iter().all(|(t, d)| t == "SRV"
            && d.contains(" 5432 db-")
            && d.ends_with(".db.default.svc.cluster.local")),
        "{srv:?}"
    );
    assert_eq!(flow("other-namespace")["dns"]["rcode"], "NXDOMAIN");
    let tried = flow("other-namespace");
    assert!(
        tried["hops"]
            .as_array()
            .expect("hops")
            .iter()
            .any(|h| h["detail"]
                .as_str()
                .is_some_and(|d| d.contains("db.shop.svc.cluster.local"))),
        "the search path is shown: {tried}"
    );
}

/// A StatefulSet pod's name does not resolve while the pod is not ready, and `explain`
/// says so (the EndpointSlice controller and CoreDNS), with publishNotReadyAddresses as
/// the way out.
#[test]
fn explain_names_the_not_ready_pod_behind_an_nxdomain() {
    let p = root().join("tests/scenarios/statefulset-not-ready-dns.yaml");
    let out = simctl(&["explain", &p.to_string_lossy()], b"");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("pod web-0 has the name web-0.web but is not ready (the startupProbe of postgres probes port 5433, where nothing listens)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("set publishNotReadyAddresses: true on Service web"),
        "{}",
        out.stdout
    );
}
