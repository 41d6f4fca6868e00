//! Live state in (issue 10 item 1): `kubectl get all,endpointslices,nodes -A -o yaml` from a
//! running cluster is the cluster as it stands. Over every dump of `scenarios/live/`: the
//! endpoints simctl computes are the dump's own EndpointSlices (the pods that are there,
//! count, addresses and readiness), no controller adds a pod, the input is valid with no
//! warning, and a pod reaches `kubernetes.default:443`.

use std::collections::BTreeSet;

use serde_json::Value;
use sim_core::manifest::{LoadOptions, load_str};
use sim_core::objects::Object;
use simctl_e2e::{root, simctl, yaml_files};

fn dumps() -> Vec<std::path::PathBuf> {
    let files = yaml_files(&root().join("scenarios/live"));
    assert!(files.len() >= 2, "found {} dumps", files.len());
    files
}

/// (namespace/service, address, ready) of every endpoint the dump's EndpointSlices list,
/// for the Services with a selector (those whose slices a controller writes).
fn dumped_endpoints(text: &str) -> (BTreeSet<(String, String, bool)>, usize) {
    let (_, loaded) = load_str("dump.yaml", text, &LoadOptions::default());
    let selector_services: BTreeSet<(String, String)> = loaded
        .objects
        .iter()
        .filter_map(|o| match &o.object {
            Object::Service(s) if s.spec.as_ref().and_then(|s| s.selector.as_ref()).is_some() => {
                Some((
                    o.object.namespace().unwrap_or("default").to_string(),
                    o.object.name().to_string(),
                ))
            }
            _ => None,
        })
        .collect();
    let mut out = BTreeSet::new();
    for o in &loaded.objects {
        let Object::EndpointSlice(es) = &o.object else {
            continue;
        };
        let ns = o.object.namespace().unwrap_or("default").to_string();
        let svc =
            es.metadata.labels.as_ref().expect("labels")["kubernetes.io/service-name"].clone();
        if !selector_services.contains(&(ns.clone(), svc.clone())) {
            continue;
        }
        for e in &es.endpoints {
            let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            for a in &e.addresses {
                out.insert((format!("{ns}/{svc}"), a.clone(), ready));
            }
        }
    }
    let pods = loaded
        .objects
        .iter()
        .filter(|o| matches!(o.object, Object::Pod(_)))
        .count();
    (out, pods)
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn a_dump_is_the_cluster_as_it_stands() {
    for f in dumps() {
        let p = f.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&f).expect("read");
        let (want, dumped_pods) = dumped_endpoints(&text);
        assert!(
            want.len() >= 5,
            "{p}: only {} endpoints in the dump",
            want.len()
        );

        let out = simctl(&["run", "-o", "json", "--trace", "summary", &p], b"");
        assert_eq!(out.code, 0, "{p}: {}{}", out.stdout, out.stderr);
        let doc = json(&out.stdout);
        // Valid, and no false alarm: no error, no warning.
        let loud: Vec<&Value> = doc["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter(|d| d["severity"] != "note")
            .collect();
        assert!(loud.is_empty(), "{p}: {loud:#?}");

        let mut got = BTreeSet::new();
        for s in doc["services"].as_array().expect("services") {
            let key = format!(
                "{}/{}",
                s["namespace"].as_str().unwrap_or(""),
                s["name"].as_str().unwrap_or("")
            );
            for port in s["ports"].as_array().expect("ports") {
                for e in port["endpoints"].as_array().expect("endpoints") {
                    got.insert((
                        key.clone(),
                        e["ip"].as_str().unwrap_or("").to_string(),
                        e["ready"].as_bool().unwrap_or(false),
                    ));
                }
            }
        }
        let got: BTreeSet<_> = got
            .into_iter()
            .filter(|(svc, _, _)| want.iter().any(|(w, _, _)| w == svc))
            .collect();
        assert_eq!(got, want, "{p}: the endpoints are not the dump's");

        // Every flow of the reachability probe is delivered, and no pod was added: the
        // cluster line counts the dump's running pods.
        for flow in doc["flows"].as_array().expect("flows") {
            assert_eq!(flow["outcome"], "delivered", "{p}: {flow:#}");
        }
        let text_out = simctl(&["run", "--trace", "summary", &p], b"");
        let first = text_out.stdout.lines().next().unwrap_or("").to_string();
        let not_running = doc["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter(|d| d["code"] == "PodNotRunning")
            .count();
        assert!(
            first.contains(&format!("{} pods", dumped_pods - not_running)),
            "{p}: {first}"
        );
    }
}

#[test]
fn a_pod_of_the_dump_reaches_the_api_server_by_name() {
    for f in dumps() {
        let p = f.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&f).expect("read");
        let (want, _) = dumped_endpoints(&text);
        // Any pod that is an endpoint of a Service of the user's (not kube-system).
        let (_, ip, _) = want
            .iter()
            .find(|(svc, _, ready)| *ready && svc.starts_with("default/"))
            .expect("a ready pod in default");
        let scenario = format!(
            "apiVersion: simctl/v1alpha1\nkind: Scenario\nmetadata: {{name: live}}\nspec:\n  traffic:\n  - {{name: api, from: pod/default/{pod}, to: \"kubernetes.default:443\"}}\n  expect:\n  - {{traffic: api, outcome: delivered}}\n",
            pod = pod_of(&text, ip),
        );
        let out = simctl(&["run", "-o", "json", &p, "-"], scenario.as_bytes());
        assert_eq!(out.code, 0, "{p}: {}{}", out.stdout, out.stderr);
        let doc = json(&out.stdout);
        let flow = &doc["flows"][0];
        assert_eq!(flow["outcome"], "delivered", "{p}: {flow:#}");
        assert_eq!(
            flow["dst"]["ip"],
            cluster_ip(&text, "kubernetes"),
            "{p}: {flow:#}"
        );
    }
}

/// The name of the dump's pod with address `ip` (its `status.podIP`).
fn pod_of(text: &str, ip: &str) -> String {
    let (_, loaded) = load_str("dump.yaml", text, &LoadOptions::default());
    loaded
        .objects
        .iter()
        .find_map(|o| match &o.object {
            Object::Pod(p) if p.status.as_ref().and_then(|s| s.pod_ip.as_deref()) == Some(ip) => {
                Some(o.object.name().to_string())
            }
            _ => None,
        })
        .expect("the pod")
}

/// The dump's ClusterIP of Service `default/name`.
fn cluster_ip(text: &str, name: &str) -> String {
    let (_, loaded) = load_str("dump.yaml", text, &LoadOptions::default());
    loaded
        .objects
        .iter()
        .find_map(|o| match &o.object {
            Object::Service(s) if o.object.name() == name => s.spec.as_ref()?.cluster_ip.clone(),
            _ => None,
        })
        .expect("the Service")
}
