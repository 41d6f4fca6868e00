//! `simctl graph --dot FILE...`: the topology as Graphviz DOT (see
//! [`sim_core::export::dot`]).

use std::io::{self, Read, Write};

use clap::Args;
use sim_core::diag::{self, Diagnostic, Severity};

use super::{EXIT_INVALID, EXIT_OK, Inputs, ProxyModeArg, summary};

#[derive(Args, Debug)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    pub(crate) inputs: Inputs,
    /// Graphviz DOT (the only format, and the default).
    #[arg(long)]
    dot: bool,
    /// The RNG seed (pod names, addresses), over the Scenario's `seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// kube-proxy's mode, over `cluster.kubeProxy.mode`.
    #[arg(long, value_enum)]
    proxy_mode: Option<ProxyModeArg>,
}

pub(crate) fn graph_cmd(
    args: &GraphArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<i32> {
    let _ = args.dot;
    let (sources, loaded) = super::load_admitted(
        &args.inputs,
        stdin,
        args.seed,
        args.proxy_mode.map(ProxyModeArg::mode),
    )?;
    if loaded.has_errors() {
        // The picture goes to stdout; the problems to stderr, so a pipe into `dot`
        // does not get them.
        let shown: Vec<Diagnostic> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .cloned()
            .collect();
        err.write_all(diag::render(&shown, &sources, false).as_bytes())?;
        writeln!(err, "{}", summary(&sources, &loaded))?;
        writeln!(err, "the input is invalid: nothing was drawn")?;
        return Ok(EXIT_INVALID);
    }
    let cluster = sim_core::cluster::build(
        &loaded,
        &sim_core::cluster::build::BuildOptions {
            seed: args.seed,
            proxy_mode: args.proxy_mode.map(ProxyModeArg::mode),
        },
    );
    out.write_all(sim_core::export::dot::topology(&cluster).as_bytes())?;
    Ok(EXIT_OK)
}
