//! `simctl explain FILE... [--traffic NAME] [-o json]`: the long explanation of each
//! failed traffic entry, with the one-field edits proven (by re-simulation) to fix it.

use std::io::{self, Read, Write};

use clap::Args;
use sim_core::cluster::ProxyMode;
use sim_core::diag::{self, Diagnostic, Severity};
use sim_core::engine;
use sim_core::explain::{self, fix};

use super::{Common, EXIT_INVALID, EXIT_OK, Env, Inputs, Output, ProxyModeArg, color};

#[derive(Args, Debug)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    pub(crate) inputs: Inputs,
    /// Explain only this traffic entry.
    #[arg(long, value_name = "NAME")]
    traffic: Option<String>,
    /// The RNG seed, over the Scenario's `seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// kube-proxy's mode, over `cluster.kubeProxy.mode`.
    #[arg(long, value_enum)]
    proxy_mode: Option<ProxyModeArg>,
    /// Candidate edits simulated per failed flow, at most.
    #[arg(long, default_value_t = 64)]
    max_candidates: usize,
    /// Proven fixes shown per failed flow, at most (0: do not search).
    #[arg(long, default_value_t = 3)]
    max_fixes: usize,
    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(
    args: &ExplainArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
    env: &Env,
) -> io::Result<i32> {
    let mode = args.proxy_mode.map(|m| match m {
        ProxyModeArg::Iptables => ProxyMode::Iptables,
        ProxyModeArg::Ipvs => ProxyMode::Ipvs,
        ProxyModeArg::Nftables => ProxyMode::Nftables,
    });
    let (sources, loaded) = super::load_admitted(&args.inputs, stdin, args.seed, mode)?;
    let keep = |d: &&Diagnostic| !args.common.quiet || d.severity == Severity::Error;
    if loaded.has_errors() {
        let shown: Vec<Diagnostic> = loaded.diagnostics.iter().filter(keep).cloned().collect();
        match args.common.output {
            Output::Json => {
                let doc = serde_json::json!({
                    "diagnostics": shown.iter().map(|d| d.to_json(&sources)).collect::<Vec<_>>(),
                    "explanations": [],
                });
                serde_json::to_writer_pretty(&mut *out, &doc)?;
                writeln!(out)?;
            }
            Output::Text => {
                err.write_all(diag::render(&shown, &sources, color(&args.common, env)).as_bytes())?;
                writeln!(err, "the input is invalid: nothing was simulated")?;
            }
        }
        return Ok(EXIT_INVALID);
    }
    let opts = engine::RunOptions {
        seed: args.seed,
        proxy_mode: mode,
        trace: engine::TraceLevel::Full,
    };
    let result = engine::run(&loaded, &opts);
    if let Some(name) = &args.traffic
        && !result.traffic.iter().any(|t| &t.name == name)
    {
        let names: Vec<&str> = result.traffic.iter().map(|t| t.name.as_str()).collect();
        writeln!(
            err,
            "simctl: no traffic entry is called {name:?}; there are: {}",
            names.join(", ")
        )?;
        return Ok(EXIT_INVALID);
    }
    let mut diagnostics = loaded.diagnostics.clone();
    diagnostics.extend(result.diagnostics.iter().cloned());
    let shown: Vec<Diagnostic> = diagnostics.iter().filter(keep).cloned().collect();
    let report = engine::report::Report {
        sources: &sources,
        loaded: &loaded,
        run: &result,
        expectations: &[],
        diagnostics: &shown,
    };
    let limits = fix::Limits {
        max_candidates: args.max_candidates,
        max_fixes: args.max_fixes,
    };
    let mut items = Vec::new();
    for f in explain::failed_flows(&result) {
        let name = result.traffic.get(f.traffic).map(|t| t.name.as_str());
        if args.traffic.as_deref().is_some_and(|t| Some(t) != name) {
            continue;
        }
        let Some(x) = explain::explain(&report, f) else {
            continue;
        };
        let fixes = if limits.max_fixes == 0 {
            Vec::new()
        } else {
            fix::proven_fixes(&report, &opts, f, limits)
        };
        items.push((x, fixes));
    }
    match args.common.output {
        Output::Json => {
            let doc = serde_json::json!({
                "diagnostics": shown.iter().map(|d| d.to_json(&sources)).collect::<Vec<_>>(),
                "explanations": items.iter().map(|(x, fixes)| {
                    let mut v = x.to_json();
                    if let Some(m) = v.as_object_mut() {
                        m.insert("fixes".into(), fixes.iter().map(fix::Fix::to_json).collect::<Vec<_>>().into());
                    }
                    v
                }).collect::<Vec<_>>(),
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        Output::Text => {
            err.write_all(diag::render(&shown, &sources, color(&args.common, env)).as_bytes())?;
            if items.is_empty() {
                writeln!(out, "every flow was delivered: nothing to explain")?;
            }
            for (i, (x, fixes)) in items.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                out.write_all(x.long().as_bytes())?;
                if limits.max_fixes == 0 {
                    continue;
                }
                if fixes.is_empty() {
                    writeln!(
                        out,
                        "  proven fixes: none (no single-field edit among those tried delivers it)"
                    )?;
                    continue;
                }
                writeln!(
                    out,
                    "  proven fixes (each re-simulated: the flow is delivered, nothing that was delivered breaks):"
                )?;
                for (n, f) in fixes.iter().enumerate() {
                    writeln!(
                        out,
                        "    {}. {} ({} line{} changed)",
                        n + 1,
                        f.description,
                        f.changed_lines(),
                        if f.changed_lines() == 1 { "" } else { "s" }
                    )?;
                    for l in f.diff.lines() {
                        writeln!(out, "       {l}")?;
                    }
                }
            }
        }
    }
    Ok(EXIT_OK)
}
