//! Determinism across targets: sim-web's WebAssembly module, run by Node.js, prints the very
//! bytes the native `simctl` prints, for every scenario of the repository.
//!
//! The module is built by `scripts/build-web.sh` (into `target/wasm-node/`), which
//! `scripts/test-all.sh` runs before the tests. Without it these tests FAIL, saying so:
//! a skipped determinism check would pass silently.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use simctl_e2e::{root, simctl, yaml_files};

/// The Node.js build of sim-web, where scripts/build-web.sh puts it.
fn node_module() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    };
    let module = target.join("wasm-node").join("sim_web.js");
    assert!(
        module.is_file(),
        "{} is missing: run `bash scripts/build-web.sh` first (scripts/test-all.sh does)",
        module.display()
    );
    module
}

/// Runs each job `{fn: "run"|"check"|"sandbox"|"fixes", name, path?|text?, seed?, mode?,
/// traffic?, index?}` through the wasm
/// module in one Node.js process; returns the strings it printed (or `{"error": ...}`).
const RUNNER: &str = r#"
const fs = require('fs');
const sim = require(process.argv[1]);
const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const out = jobs.map((j) => {
  const text = j.path !== undefined ? fs.readFileSync(j.path, 'utf8') : j.text;
  try {
    switch (j.fn) {
      case 'check': return sim.check(j.name, text);
      case 'sandbox': return sim.sandbox(j.name, text, j.seed, j.mode);
      case 'fixes': return sim.fixes(j.name, text, j.seed, j.mode, j.traffic, j.index);
      default: return sim.run(j.name, text, j.seed, j.mode);
    }
  } catch (e) {
    return { error: String(e && e.message || e) };
  }
});
process.stdout.write(JSON.stringify(out));
"#;

fn wasm(jobs: &[Value]) -> Vec<Value> {
    let module = node_module();
    let jobs_file = std::env::temp_dir().join(format!(
        "simctl-wasm-jobs-{}-{:?}.json",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&jobs_file, serde_json::to_vec(jobs).expect("jobs")).expect("write jobs");
    let out = Command::new("node")
        .arg("-e")
        .arg(RUNNER)
        .arg(&module)
        .arg(&jobs_file)
        .output();
    let _ = std::fs::remove_file(&jobs_file);
    let out = out.unwrap_or_else(|e| panic!("cannot run node (install Node.js 18+): {e}"));
    assert!(
        out.status.success(),
        "node failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("node's JSON");
    assert_eq!(results.len(), jobs.len());
    results
}

fn scenarios() -> Vec<PathBuf> {
    let mut files = yaml_files(&root().join("scenarios"));
    files.extend(yaml_files(&root().join("tests/scenarios")));
    assert!(files.len() >= 10, "found {} scenarios", files.len());
    files
}

fn name(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Compare, and on a difference say where the two first part.
fn same_bytes(what: &str, native: &str, wasm: &Value, failures: &mut Vec<String>) {
    let Some(wasm) = wasm.as_str() else {
        failures.push(format!("{what}: the wasm module threw {wasm}"));
        return;
    };
    if native != wasm {
        let at = native
            .bytes()
            .zip(wasm.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(native.len().min(wasm.len()));
        let line = native[..at].matches('\n').count() + 1;
        failures.push(format!(
            "{what}: differs from line {line}:\n  native: {:?}\n  wasm:   {:?}",
            native[at..].lines().next().unwrap_or(""),
            wasm[at..].lines().next().unwrap_or("")
        ));
    }
}

fn verdict(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{}\n(if sim-core changed since, target/wasm-node is stale: run scripts/build-web.sh)",
        failures.join("\n")
    );
}

#[test]
fn every_scenario_runs_to_the_same_bytes_in_wasm_and_natively() {
    // The Scenario's own seed and mode, and overrides (the largest seed: u64 all the way).
    let variants: [(Option<&str>, Option<&str>); 3] = [
        (None, None),
        (Some("18446744073709551615"), Some("ipvs")),
        (Some("7"), Some("nftables")),
    ];
    let files = scenarios();
    let mut jobs = Vec::new();
    for f in &files {
        for (seed, mode) in variants {
            jobs.push(
                json!({"fn": "run", "name": name(f), "path": name(f), "seed": seed, "mode": mode}),
            );
        }
    }
    let results = wasm(&jobs);
    let mut failures = Vec::new();
    let mut i = 0;
    for f in &files {
        for (seed, mode) in variants {
            let p = name(f);
            let mut args = vec!["run", "-o", "json", p.as_str()];
            if let Some(s) = seed {
                args.extend(["--seed", s]);
            }
            if let Some(m) = mode {
                args.extend(["--proxy-mode", m]);
            }
            let native = simctl(&args, b"");
            assert!(native.stdout.starts_with('{'), "{p}: {}", native.stderr);
            same_bytes(&args.join(" "), &native.stdout, &results[i], &mut failures);
            i += 1;
        }
    }
    verdict(&failures);
}

#[test]
fn check_reports_the_node_port_range_error_as_the_command_line_does() {
    let path = root().join("tests/fixtures/invalid/svc-nodeport-out-of-range.yaml");
    let p = name(&path);
    let results = wasm(&[json!({"fn": "check", "name": p, "path": p})]);
    let native = simctl(&["check", "-o", "json", &p], b"");
    let mut failures = Vec::new();
    same_bytes("check", &native.stdout, &results[0], &mut failures);
    verdict(&failures);
    let doc: Value = serde_json::from_str(results[0].as_str().expect("a string")).expect("JSON");
    assert_eq!(doc["valid"], false);
    let range = doc["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["field"] == "spec.ports[0].nodePort")
        .unwrap_or_else(|| panic!("no nodePort diagnostic in {doc}"));
    assert_eq!(range["severity"], "error");
    assert!(
        range["message"]
            .as_str()
            .is_some_and(|m| m.contains("80") && m.contains("range")),
        "{range}"
    );
}

#[test]
fn every_fixture_checks_to_the_same_bytes_in_wasm_and_natively() {
    let mut files = yaml_files(&root().join("tests/fixtures/valid"));
    files.extend(yaml_files(&root().join("tests/fixtures/invalid")));
    let jobs: Vec<Value> = files
        .iter()
        .map(|f| json!({"fn": "check", "name": name(f), "path": name(f)}))
        .collect();
    let results = wasm(&jobs);
    let mut failures = Vec::new();
    for (f, wasm) in files.iter().zip(&results) {
        let p = name(f);
        let native = simctl(&["check", "-o", "json", &p], b"");
        same_bytes(&format!("check {p}"), &native.stdout, wasm, &mut failures);
    }
    verdict(&failures);
}

/// The parser's budgets hold in wasm too, where the stack is small (deep nesting must end
/// in the same diagnostic, not a trap).
#[test]
fn hostile_input_gets_the_same_diagnostics_in_wasm() {
    let mut deep_block =
        String::from("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  labels:\n");
    for i in 0..2_000 {
        deep_block.push_str(&" ".repeat(4 + 2 * i));
        deep_block.push_str(&format!("k{i}:\n"));
    }
    let mut laughs = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a0: &a0 \"lol\"\n",
    );
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        laughs.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    let nest = |depth: usize| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: x}}\nspec: {}{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    let inputs = [
        nest(100_000),
        nest(63),
        deep_block,
        laughs,
        "---\n".repeat(200_000),
    ];
    let mut jobs = Vec::new();
    for text in &inputs {
        jobs.push(json!({"fn": "check", "name": "<stdin>", "text": text}));
        jobs.push(json!({"fn": "run", "name": "<stdin>", "text": text}));
    }
    let results = wasm(&jobs);
    let mut failures = Vec::new();
    for (i, text) in inputs.iter().enumerate() {
        let check = simctl(&["check", "-o", "json", "-"], text.as_bytes());
        same_bytes(
            &format!("check input {i}"),
            &check.stdout,
            &results[2 * i],
            &mut failures,
        );
        let run = simctl(&["run", "-o", "json", "-"], text.as_bytes());
        same_bytes(
            &format!("run input {i}"),
            &run.stdout,
            &results[2 * i + 1],
            &mut failures,
        );
    }
    verdict(&failures);
}

/// The page's document (`sandbox`) and fix search (`fixes`) are the native ones, byte for
/// byte; and the document's `run` is what `simctl run --output json` prints.
#[test]
fn the_sandbox_document_and_its_fixes_are_the_native_ones() {
    let path = root().join("scenarios/misconfigured.yaml");
    let p = name(&path);
    let text = std::fs::read_to_string(&path).expect("read");
    let jobs = [
        json!({"fn": "sandbox", "name": p, "path": p}),
        json!({"fn": "sandbox", "name": p, "path": p, "seed": "18446744073709551615", "mode": "nftables"}),
        json!({"fn": "fixes", "name": p, "path": p, "traffic": "laptop-to-web", "index": 0}),
        json!({"fn": "fixes", "name": p, "path": p, "seed": 7, "mode": "ipvs", "traffic": "laptop-to-api", "index": 0}),
        json!({"fn": "sandbox", "name": "<stdin>", "text": "kind: Service\n["}),
    ];
    let results = wasm(&jobs);
    let native = [
        sim_web::sandbox_json(&p, &text, None, None),
        sim_web::sandbox_json(&p, &text, Some(u64::MAX), Some("nftables")),
        sim_web::fixes_json(&p, &text, None, None, "laptop-to-web", 0),
        sim_web::fixes_json(&p, &text, Some(7), Some("ipvs"), "laptop-to-api", 0),
        sim_web::sandbox_json("<stdin>", "kind: Service\n[", None, None),
    ];
    let mut failures = Vec::new();
    for (i, (n, w)) in native.iter().zip(&results).enumerate() {
        let n = n.as_ref().expect("native");
        same_bytes(&format!("job {i} {}", jobs[i]), n, w, &mut failures);
    }
    verdict(&failures);

    let doc: Value = serde_json::from_str(results[0].as_str().expect("a string")).expect("JSON");
    let run = simctl(&["run", "-o", "json", &p], b"");
    let run: Value = serde_json::from_str(&run.stdout).expect("simctl's JSON");
    assert_eq!(doc["run"], run);
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["explanations"].as_array().map(Vec::len), Some(2));
    let fixes: Value = serde_json::from_str(results[2].as_str().expect("a string")).expect("JSON");
    assert!(
        fixes[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("targetPort: 80 ")),
        "{fixes}"
    );
    let invalid: Value =
        serde_json::from_str(results[4].as_str().expect("a string")).expect("JSON");
    assert_eq!(invalid["valid"], false);
    assert_eq!(invalid["run"], Value::Null);
}
