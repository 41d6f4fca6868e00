//! `simctl reach FILE...`: who can reach what (see [`sim_core::reach`]).

use std::io::{self, Read, Write};

use clap::Args;
use sim_core::diag::{self, Diagnostic, Severity};
use sim_core::reach;

use super::{Common, EXIT_INVALID, EXIT_OK, Inputs, Output, ProxyModeArg, color, summary};

#[derive(Args, Debug)]
pub(crate) struct ReachArgs {
    #[command(flatten)]
    pub(crate) inputs: Inputs,
    /// The RNG seed, over the Scenario's `seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// kube-proxy's mode, over `cluster.kubeProxy.mode`.
    #[arg(long, value_enum)]
    proxy_mode: Option<ProxyModeArg>,
    #[command(flatten)]
    common: Common,
}

pub(crate) fn reach_cmd(
    args: &ReachArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
    env: &super::Env,
) -> io::Result<i32> {
    let (sources, loaded) = super::load_admitted(
        &args.inputs,
        stdin,
        args.seed,
        args.proxy_mode.map(ProxyModeArg::mode),
    )?;
    let shown: Vec<Diagnostic> = loaded
        .diagnostics
        .iter()
        .filter(|d| !args.common.quiet || d.severity == Severity::Error)
        .cloned()
        .collect();
    if loaded.has_errors() {
        match args.common.output {
            Output::Json => {
                let doc = serde_json::json!({
                    "diagnostics": shown.iter().map(|d| d.to_json(&sources)).collect::<Vec<_>>(),
                    "sources": [], "entrances": [], "cells": [],
                });
                serde_json::to_writer_pretty(&mut *out, &doc)?;
                writeln!(out)?;
            }
            Output::Text => {
                err.write_all(diag::render(&shown, &sources, color(&args.common, env)).as_bytes())?;
                writeln!(out, "{}", summary(&sources, &loaded))?;
                writeln!(err, "the input is invalid: nothing was simulated")?;
            }
        }
        return Ok(EXIT_INVALID);
    }
    let opts = sim_core::engine::RunOptions {
        seed: args.seed,
        proxy_mode: args.proxy_mode.map(ProxyModeArg::mode),
        trace: sim_core::engine::TraceLevel::Full,
    };
    let m = reach::matrix(&loaded, &opts);
    match args.common.output {
        Output::Json => {
            let mut doc = m.to_json(&sources, &loaded);
            if let Some(o) = doc.as_object_mut() {
                o.insert(
                    "diagnostics".into(),
                    shown
                        .iter()
                        .chain(m.run.diagnostics.iter())
                        .map(|d| d.to_json(&sources))
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        Output::Text => {
            let mut all = shown;
            all.extend(
                m.run
                    .diagnostics
                    .iter()
                    .filter(|d| !args.common.quiet || d.severity == Severity::Error)
                    .cloned(),
            );
            err.write_all(diag::render(&all, &sources, color(&args.common, env)).as_bytes())?;
            out.write_all(m.to_text(&sources, &loaded).as_bytes())?;
        }
    }
    // A matrix over simctl's limit of cells is refused whole.
    if m.run
        .diagnostics
        .iter()
        .any(|d| d.is_error() && d.code == sim_core::limits::LIMIT_EXCEEDED)
    {
        return Ok(EXIT_INVALID);
    }
    Ok(EXIT_OK)
}
