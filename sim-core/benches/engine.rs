//! How fast simctl loads manifests and simulates flows. Numbers go in BENCHMARKS.md.
//!
//! `cargo bench -p sim-core --bench engine`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sim_core::cluster::ProxyMode;
use sim_core::engine::{self, RunOptions, TraceLevel};
use sim_core::manifest::{LoadOptions, load_str};

const MISCONFIGURED: &str = include_str!("../../scenarios/misconfigured.yaml");

/// A Deployment of `replicas` nginx pods behind a ClusterIP Service, and `requests`
/// requests from a client pod.
fn workload(replicas: u32, requests: u32) -> String {
    format!(
        "apiVersion: simctl/v1alpha1\nkind: Scenario\nmetadata: {{name: bench}}\nspec:\n  traffic:\n    - {{name: load, from: pod/client, to: \"10.96.100.100:80\", requests: {requests}, interval: 1us}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers: [{{name: nginx, image: nginx}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec:\n  clusterIP: 10.96.100.100\n  selector: {{app: web}}\n  ports: [{{port: 80}}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: client}}\nspec:\n  containers: [{{name: sh, image: busybox}}]\n"
    )
}

fn bench_load(c: &mut Criterion) {
    let mut g = c.benchmark_group("load");
    g.throughput(Throughput::Bytes(MISCONFIGURED.len() as u64));
    g.bench_function("misconfigured.yaml", |b| {
        b.iter(|| load_str("misconfigured.yaml", MISCONFIGURED, &LoadOptions::default()))
    });
    g.finish();
}

/// `requests` requests of `text`'s traffic, in every mode and with each of `traces`.
fn bench_modes(c: &mut Criterion, group: &str, text: &str, requests: u32, traces: &[TraceLevel]) {
    let (_, loaded) = load_str("bench.yaml", text, &LoadOptions::default());
    assert!(!loaded.has_errors());
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(u64::from(requests)));
    g.sample_size(10);
    for mode in [ProxyMode::Iptables, ProxyMode::Ipvs, ProxyMode::Nftables] {
        for &trace in traces {
            let id = BenchmarkId::new(mode.as_str(), format!("{trace:?}").to_lowercase());
            g.bench_with_input(id, &(mode, trace), |b, &(mode, trace)| {
                b.iter(|| {
                    engine::run(
                        &loaded,
                        &RunOptions {
                            seed: Some(1),
                            proxy_mode: Some(mode),
                            trace,
                        },
                    )
                })
            });
        }
    }
    g.finish();
}

fn bench_flows(c: &mut Criterion) {
    const REQUESTS: u32 = 10_000;
    let traces = [TraceLevel::Full, TraceLevel::Summary];
    bench_modes(c, "flows", &workload(3, REQUESTS), REQUESTS, &traces);
}

/// 100 nodes, two Deployments of 500 nginx pods behind one ClusterIP Service (1,000
/// endpoints), and `requests` fresh connections from a client pod: issue 13's
/// throughput case (every DNAT hop's rule path names one of 1,000 endpoints).
fn wide(requests: u32) -> String {
    let mut s = String::from(
        "apiVersion: simctl/v1alpha1\nkind: Scenario\nmetadata: {name: wide}\nspec:\n  cluster:\n    nodes:\n",
    );
    for i in 1..=100 {
        s.push_str(&format!("      - {{name: node-{i}}}\n"));
    }
    s.push_str(&format!(
        "  traffic:\n    - {{name: load, from: pod/client, to: \"10.96.100.100:80\", requests: {requests}, interval: 1us}}\n"
    ));
    for half in ["a", "b"] {
        s.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web-{half}}}\nspec:\n  replicas: 500\n  selector: {{matchLabels: {{app: web, half: {half}}}}}\n  template:\n    metadata: {{labels: {{app: web, half: {half}}}}}\n    spec:\n      containers: [{{name: nginx, image: nginx}}]\n"
        ));
    }
    s.push_str("---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  clusterIP: 10.96.100.100\n  selector: {app: web}\n  ports: [{port: 80}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: client}\nspec:\n  containers: [{name: sh, image: busybox}]\n");
    s
}

fn bench_wide(c: &mut Criterion) {
    const REQUESTS: u32 = 2_000;
    let traces = [TraceLevel::Summary];
    bench_modes(
        c,
        "flows-1000-endpoints",
        &wide(REQUESTS),
        REQUESTS,
        &traces,
    );
}

fn bench_build(c: &mut Criterion) {
    let mut g = c.benchmark_group("build");
    g.sample_size(10);
    for replicas in [10u32, 1_000] {
        let text = workload(replicas, 1);
        let (_, loaded) = load_str("bench.yaml", &text, &LoadOptions::default());
        g.bench_with_input(BenchmarkId::new("pods", replicas), &loaded, |b, loaded| {
            b.iter(|| engine::run(loaded, &RunOptions::default()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_load, bench_flows, bench_wide, bench_build);
criterion_main!(benches);
