//! # The documents simctl prints, built once for every shell
//!
//! `simctl check --output json`, `simctl run --output json` (SCENARIO.md section 5) and the
//! browser sandbox (sim-web) all build their JSON here, so the command line and the page
//! print the same bytes for the same input and seed: a run is a pure function of (input
//! text, seed), whatever the target.
//!
//! ```
//! use sim_core::{engine::RunOptions, manifest, output};
//! let text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n";
//! let (sources, loaded) = manifest::load_str("svc.yaml", text, &Default::default());
//! let sim = output::simulate(&loaded, &RunOptions::default(), false);
//! assert_eq!(sim.verdict(), output::Verdict::Passed);
//! let doc = output::pretty(&sim.to_json(&sources, &loaded));
//! assert!(doc.starts_with("{\n  \"seed\": ") && doc.ends_with("}\n"));
//! ```

use serde_json::{Value, json};

use crate::admit;
use crate::cluster::build::BuildOptions;
use crate::diag::{Diagnostic, Severity};
use crate::engine::expect::{self, ExpectationResult};
use crate::engine::report::Report;
use crate::engine::{self, RunOptions, RunResult};
use crate::manifest::Loaded;
use crate::source::Sources;

/// How a run ended, for an exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid, and every expectation held.
    Passed,
    /// Valid, and at least one expectation failed.
    ExpectationFailed,
    /// The input is invalid: nothing was simulated.
    Invalid,
}

/// A finished `simctl run`: what was simulated and what is shown.
pub struct Simulation {
    /// `None` when the input was invalid (nothing simulated).
    pub run: Option<RunResult>,
    pub expectations: Vec<ExpectationResult>,
    /// Load then run diagnostics, in order, less those `errors_only` dropped.
    pub diagnostics: Vec<Diagnostic>,
}

/// Keep a diagnostic when showing everything, or when it is an error.
fn shown(diags: &[Diagnostic], errors_only: bool) -> Vec<Diagnostic> {
    diags
        .iter()
        .filter(|d| !errors_only || d.severity == Severity::Error)
        .cloned()
        .collect()
}

/// Simulate `loaded` unless it is invalid ([`admit`]: load errors, control-plane refusals
/// no expectation claims, dangling references), and evaluate the Scenario's
/// expectations. `errors_only` is `--quiet`: notes and warnings are not shown.
pub fn simulate(loaded: &Loaded, opts: &RunOptions, errors_only: bool) -> Simulation {
    let admission = admit::admit(loaded, &engine::build_options(opts));
    let cluster = match admission.cluster {
        Some(c) if admission.valid => c,
        _ => {
            let mut all = loaded.diagnostics.clone();
            all.extend(admission.diagnostics);
            return Simulation {
                run: None,
                expectations: Vec::new(),
                diagnostics: shown(&all, errors_only),
            };
        }
    };
    let run = engine::run_on(loaded, cluster, opts);
    let expectations = match &loaded.scenario {
        Some(s) => expect::evaluate(&s.doc, &run, &loaded.diagnostics),
        None => Vec::new(),
    };
    let mut all = loaded.diagnostics.clone();
    all.extend(run.diagnostics.iter().cloned());
    Simulation {
        run: Some(run),
        expectations,
        diagnostics: shown(&all, errors_only),
    }
}

impl Simulation {
    pub fn verdict(&self) -> Verdict {
        if self.run.is_none() {
            Verdict::Invalid
        } else if self.expectations.iter().all(|e| e.passed) {
            Verdict::Passed
        } else {
            Verdict::ExpectationFailed
        }
    }

    /// The report of the run (its story, its JSON); `None` when nothing was simulated.
    pub fn report<'a>(&'a self, sources: &'a Sources, loaded: &'a Loaded) -> Option<Report<'a>> {
        Some(Report {
            sources,
            loaded,
            run: self.run.as_ref()?,
            expectations: &self.expectations,
            diagnostics: &self.diagnostics,
        })
    }

    /// The document of `simctl run --output json`.
    pub fn to_json(&self, sources: &Sources, loaded: &Loaded) -> Value {
        match self.report(sources, loaded) {
            Some(r) => r.to_json(),
            None => json!({
                "diagnostics": self.diagnostics.iter().map(|d| d.to_json(sources)).collect::<Vec<_>>(),
                "services": [],
                "flows": [],
                "expectations": [],
            }),
        }
    }
}

/// The document of `simctl run --output json` for `loaded`.
pub fn run_json(sources: &Sources, loaded: &Loaded, opts: &RunOptions, errors_only: bool) -> Value {
    simulate(loaded, opts, errors_only).to_json(sources, loaded)
}

/// What `simctl check` reports: the load's diagnostics and the control plane's (the
/// cluster built as a run builds it, without traffic), and whether the input is valid.
pub struct Checked {
    pub diagnostics: Vec<Diagnostic>,
    /// Errors an `expect: - diagnostic:` entry claims (they do not make it invalid).
    pub claimed: usize,
    pub valid: bool,
}

/// Check `loaded` as `simctl run` would before simulating ([`admit`]), with the
/// Scenario's own seed.
pub fn check(loaded: &Loaded) -> Checked {
    let admission = admit::admit(loaded, &BuildOptions::default());
    let mut diagnostics = loaded.diagnostics.clone();
    diagnostics.extend(admission.diagnostics);
    Checked {
        diagnostics,
        claimed: admission.claimed,
        valid: admission.valid,
    }
}

/// The document of `simctl check --output json`: `{valid, diagnostics, objects, scenario}`.
pub fn check_json(sources: &Sources, loaded: &Loaded, errors_only: bool) -> Value {
    check_json_of(sources, loaded, &check(loaded), errors_only)
}

/// [`check_json`] of an input already checked.
pub fn check_json_of(
    sources: &Sources,
    loaded: &Loaded,
    checked: &Checked,
    errors_only: bool,
) -> Value {
    let objects: Vec<Value> = loaded
        .objects
        .iter()
        .map(|o| {
            json!({
                "apiVersion": o.api_version,
                "kind": o.object.kind(),
                "namespace": o.object.namespace(),
                "name": o.object.name(),
                "file": sources.name(o.node.span.source),
                "line": o.node.span.line,
            })
        })
        .collect();
    json!({
        "valid": checked.valid,
        "diagnostics": shown(&checked.diagnostics, errors_only).iter().map(|d| d.to_json(sources)).collect::<Vec<_>>(),
        "objects": objects,
        "scenario": loaded.scenario.as_ref().map(|s| s.doc.metadata.name.clone()),
    })
}

/// A document as simctl prints it: indented by two spaces, with a closing newline.
pub fn pretty(doc: &Value) -> String {
    // Serializing a `Value` to a String cannot fail (keys are strings, no I/O).
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_default();
    s.push('\n');
    s
}
