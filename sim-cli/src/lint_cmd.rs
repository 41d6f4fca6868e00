//! `simctl lint FILE...`: advice from good practice (see [`sim_core::lint`]).

use std::io::{self, Read, Write};

use clap::Args;
use sim_core::diag::{self, Diagnostic, Severity};
use sim_core::lint;

use super::{Common, EXIT_INVALID, EXIT_OK, Inputs, Output, color, summary};

#[derive(Args, Debug)]
pub(crate) struct LintArgs {
    #[command(flatten)]
    pub(crate) inputs: Inputs,
    /// Do not report this code (repeat it, or give a comma-separated list).
    #[arg(long, value_name = "CODE", value_delimiter = ',')]
    allow: Vec<String>,
    #[command(flatten)]
    common: Common,
}

pub(crate) fn lint_cmd(
    args: &LintArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
    env: &super::Env,
) -> io::Result<i32> {
    let (sources, loaded) = super::load_admitted(&args.inputs, stdin, None, None)?;
    let keep = |d: &&Diagnostic| !args.common.quiet || d.severity == Severity::Error;
    if loaded.has_errors() {
        let shown: Vec<Diagnostic> = loaded.diagnostics.iter().filter(keep).cloned().collect();
        match args.common.output {
            Output::Json => {
                let doc = serde_json::json!({
                    "diagnostics": shown.iter().map(|d| d.to_json(&sources)).collect::<Vec<_>>(),
                    "silenced": 0,
                });
                serde_json::to_writer_pretty(&mut *out, &doc)?;
                writeln!(out)?;
            }
            Output::Text => {
                err.write_all(diag::render(&shown, &sources, color(&args.common, env)).as_bytes())?;
                writeln!(out, "{}", summary(&sources, &loaded))?;
                writeln!(
                    err,
                    "the input is invalid: fix the errors before asking for advice"
                )?;
            }
        }
        return Ok(EXIT_INVALID);
    }
    let unknown: Vec<&String> = args
        .allow
        .iter()
        .filter(|a| !lint::CODES.iter().any(|(c, _, _)| c == a))
        .collect();
    let opts = lint::LintOptions {
        allow: args.allow.iter().cloned().collect(),
    };
    let found = lint::lint(&loaded, &opts);
    // The loader's own warnings and notes first, then the advice.
    let mut shown: Vec<Diagnostic> = loaded.diagnostics.iter().filter(keep).cloned().collect();
    shown.extend(found.diagnostics.iter().filter(keep).cloned());
    match args.common.output {
        Output::Json => {
            let doc = serde_json::json!({
                "diagnostics": shown.iter().map(|d| d.to_json(&sources)).collect::<Vec<_>>(),
                "silenced": found.silenced,
                "unknownAllow": unknown,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        Output::Text => {
            err.write_all(diag::render(&shown, &sources, color(&args.common, env)).as_bytes())?;
            for u in &unknown {
                writeln!(
                    err,
                    "note: --allow {u}: no lint has this code (codes: {})",
                    lint::CODES
                        .iter()
                        .map(|(c, _, _)| *c)
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
            }
            let count = |s: Severity| found.diagnostics.iter().filter(|d| d.severity == s).count();
            let (w, n) = (count(Severity::Warning), count(Severity::Note));
            writeln!(
                out,
                "lint: {w} warning{}, {n} note{}{}",
                if w == 1 { "" } else { "s" },
                if n == 1 { "" } else { "s" },
                if found.silenced > 0 {
                    format!(" ({} silenced)", found.silenced)
                } else {
                    String::new()
                }
            )?;
        }
    }
    Ok(EXIT_OK)
}
