//! `simctl`, the command line over sim-core.
//!
//! A thin shell: it reads files (or stdin), hands their text to [`sim_core`], and prints
//! what comes back. Everything is behind [`run`] so that tests drive the real command
//! in-process, with their own stdin, stdout and environment.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use sim_core::cluster::ProxyMode;
use sim_core::diag::{self, Diagnostic, Severity};
use sim_core::engine;
use sim_core::manifest::{self, LoadOptions, Loaded};
use sim_core::output::{self, Verdict};
use sim_core::source::Sources;

use input::Inputs;

mod explain_cmd;
mod graph_cmd;
mod input;
mod lint_cmd;
mod reach_cmd;
mod serve_cmd;
mod test_cmd;

/// Exit code: the input is valid (and, for `run`, every expectation held).
pub const EXIT_OK: i32 = 0;
/// Exit code: an expectation failed.
pub const EXIT_EXPECTATION_FAILED: i32 = 1;
/// Exit code: the input is invalid, or the command line is, or the results could not be
/// written.
pub const EXIT_INVALID: i32 = 2;
/// Exit code: standard output was closed before the results were all written.
pub const EXIT_BROKEN_PIPE: i32 = 141;

#[derive(Parser, Debug)]
#[command(
    name = "simctl",
    version,
    about = "Simulate Kubernetes Service networking from real manifests, and explain every packet.",
    long_about = None,
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate manifests as the API server would (strict fields, defaults, validation).
    ///
    /// Exit status: 0 when valid, 2 when any error was found.
    Check(CheckArgs),
    /// Validate, simulate, and tell the story of every flow.
    ///
    /// Exit status: 0 when valid and every expectation holds, 1 when an expectation
    /// fails, 2 when the input is invalid (nothing is simulated).
    Run(RunArgs),
    /// Who can reach what: every client and pod against every Service entrance.
    Reach(reach_cmd::ReachArgs),
    /// Advice from good practice (exit 0: advice is not an error).
    Lint(lint_cmd::LintArgs),
    /// The topology as a picture (Graphviz DOT).
    Graph(graph_cmd::GraphArgs),
    /// Run every scenario file that has expectations, one verdict line per expectation.
    ///
    /// Exit status: 0 when every expectation holds, 1 when one fails, 2 when any input
    /// is invalid.
    Test(test_cmd::TestArgs),
    /// Explain each failed traffic entry: what happened, at which hop, the field and
    /// line that caused it, and the one-field edits proven by simulation to fix it.
    ///
    /// Exit status: 0 when the input is valid, 2 when it is not.
    Explain(explain_cmd::ExplainArgs),
    /// Serve the browser sandbox (sim-web/www, built by scripts/build-web.sh) on loopback.
    Serve(serve_cmd::ServeArgs),
}

impl Command {
    /// The input arguments of a command that reads manifests.
    fn inputs_mut(&mut self) -> Option<&mut Inputs> {
        match self {
            Command::Check(a) => Some(&mut a.inputs),
            Command::Run(a) => Some(&mut a.inputs),
            Command::Reach(a) => Some(&mut a.inputs),
            Command::Lint(a) => Some(&mut a.inputs),
            Command::Graph(a) => Some(&mut a.inputs),
            Command::Test(a) => Some(&mut a.inputs),
            Command::Explain(a) => Some(&mut a.inputs),
            Command::Serve(_) => None,
        }
    }
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// The RNG seed, over the Scenario's `seed` (same seed, same bytes out).
    #[arg(long)]
    seed: Option<u64>,
    /// kube-proxy's mode, over `cluster.kubeProxy.mode`.
    #[arg(long, value_enum)]
    proxy_mode: Option<ProxyModeArg>,
    /// Keep every hop of every flow (full), or one full story per traffic entry and
    /// outcome (summary: for many requests).
    #[arg(long, value_enum, default_value_t = TraceArg::Full)]
    trace: TraceArg,
    /// Print each traffic entry's first flow as a Mermaid sequence diagram (Markdown)
    /// instead of the story.
    #[arg(long)]
    mermaid: bool,
    /// Write every flow's packets to FILE as a pcap capture (tshark, Wireshark).
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TraceArg {
    Full,
    Summary,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ProxyModeArg {
    Iptables,
    Ipvs,
    Nftables,
}

impl ProxyModeArg {
    fn mode(self) -> ProxyMode {
        match self {
            ProxyModeArg::Iptables => ProxyMode::Iptables,
            ProxyModeArg::Ipvs => ProxyMode::Ipvs,
            ProxyModeArg::Nftables => ProxyMode::Nftables,
        }
    }
}

#[derive(Args, Debug)]
struct CheckArgs {
    #[command(flatten)]
    inputs: Inputs,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct Common {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Colour: auto follows the terminal and NO_COLOR.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Print errors only (no notes, no warnings).
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// What the command sees of its process: the colour settings of its environment and
/// whether its streams are terminals.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// `NO_COLOR` set to a non-empty value (https://no-color.org): no colour, whatever else.
    pub no_color: bool,
    /// `CLICOLOR_FORCE` set and not `0` (https://bixense.com/clicolors): colour even when
    /// not writing to a terminal.
    pub clicolor_force: bool,
    /// `CLICOLOR=0`: no colour.
    pub clicolor_off: bool,
    /// `TERM=dumb` (or no `TERM`): the terminal shows no colour.
    pub term_dumb: bool,
    pub stdout_is_terminal: bool,
    pub stderr_is_terminal: bool,
}

impl Env {
    /// The real process environment (read through anstyle-query, as clap's own colour is).
    pub fn from_process() -> Env {
        Env {
            no_color: anstyle_query::no_color(),
            clicolor_force: anstyle_query::clicolor_force(),
            clicolor_off: anstyle_query::clicolor() == Some(false),
            term_dumb: !anstyle_query::term_supports_color(),
            stdout_is_terminal: io::stdout().is_terminal(),
            stderr_is_terminal: io::stderr().is_terminal(),
        }
    }

    /// Whether `--color auto` colours a stream: NO_COLOR wins, then CLICOLOR_FORCE, then
    /// CLICOLOR=0 and TERM=dumb, then whether the stream is a terminal (anstream's order).
    fn auto_color(&self, terminal: bool) -> bool {
        if self.no_color {
            false
        } else if self.clicolor_force {
            true
        } else {
            terminal && !self.clicolor_off && !self.term_dumb
        }
    }
}

/// Run `simctl` with `args` (the first is the program name). Returns the exit code.
///
/// Results go to `out`, diagnostics and errors to `err`. `out` is flushed before
/// returning: an error writing the results (a full disk) is reported on `err` with exit
/// status 2; a closed pipe (`simctl run x | head`) is not reported, the reader left.
pub fn run<I, T>(
    args: I,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
    env: &Env,
) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut out = Results {
        inner: out,
        failed: false,
    };
    let out: &mut Results = &mut out;
    let mut cli = match parse(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_INVALID
            } else {
                EXIT_OK
            };
            let text = e.render().to_string();
            let sink: &mut dyn Write = if e.use_stderr() { err } else { out };
            let _ = sink.write_all(text.as_bytes());
            return finish(Ok(code), out, err);
        }
    };
    let result = match &mut cli.command {
        Command::Check(args) => check(args, stdin, out, err, env),
        Command::Run(args) => run_cmd(args, stdin, out, err, env),
        Command::Reach(args) => reach_cmd::reach_cmd(args, stdin, out, err, env),
        Command::Lint(args) => lint_cmd::lint_cmd(args, stdin, out, err, env),
        Command::Graph(args) => graph_cmd::graph_cmd(args, stdin, out, err),
        Command::Test(args) => test_cmd::test(args, stdin, out, err, env),
        Command::Explain(args) => explain_cmd::run(args, stdin, out, err, env),
        Command::Serve(args) => serve_cmd::serve(args, out, err),
    };
    finish(result, out, err)
}

/// Parse the command line, then put the input paths in command-line order.
fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let Some((_, sub)) = matches.subcommand()
        && let Some(inputs) = cli.command.inputs_mut()
    {
        inputs.order(sub);
    }
    Ok(cli)
}

/// Standard output, remembering whether a write to it failed (to say so).
struct Results<'a> {
    inner: &'a mut dyn Write,
    failed: bool,
}

impl Write for Results<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.failed |= r.is_err();
        r
    }
    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.failed |= r.is_err();
        r
    }
}

/// Flush the results and turn a write error into a message and exit status 2.
fn finish(result: io::Result<i32>, out: &mut Results, err: &mut dyn Write) -> i32 {
    let result = result.and_then(|code| match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(code),
        flushed => flushed.map(|()| code),
    });
    match result {
        Ok(code) => code,
        // The reader left before the end (`| head`): as a shell reports a process that
        // SIGPIPE ended, 128 + 13.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => EXIT_BROKEN_PIPE,
        Err(e) if out.failed => {
            let _ = writeln!(
                err,
                "simctl: cannot write the results to standard output: {e}"
            );
            let _ = err.flush();
            EXIT_INVALID
        }
        Err(e) => {
            let _ = writeln!(err, "simctl: {e}");
            let _ = err.flush();
            EXIT_INVALID
        }
    }
}

/// Whether diagnostics (on stderr) are coloured.
fn color(common: &Common, env: &Env) -> bool {
    match common.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => env.auto_color(env.stderr_is_terminal),
    }
}

/// Read the inputs and load them as one stream.
fn load(inputs: &Inputs, stdin: &mut dyn Read) -> io::Result<(Sources, Loaded)> {
    let opts = LoadOptions {
        namespace: inputs.namespace.clone(),
        ..LoadOptions::default()
    };
    let read = input::read(
        &inputs.paths(),
        inputs.recursive,
        stdin,
        opts.limits.max_file_bytes,
    )?;
    let mut read_diags = read.diagnostics;
    let mut loaded = manifest::load(&read.sources, &opts);
    read_diags.append(&mut loaded.diagnostics);
    loaded.diagnostics = read_diags;
    Ok((read.sources, loaded))
}

/// [`load`], then the control plane's verdict ([`sim_core::admit`]): when it refuses the
/// input (a refusal no expectation claims, a dangling reference), the reasons join the
/// diagnostics, so every command agrees with `check` and `run` about validity.
fn load_admitted(
    inputs: &Inputs,
    stdin: &mut dyn Read,
    seed: Option<u64>,
    proxy_mode: Option<ProxyMode>,
) -> io::Result<(Sources, Loaded)> {
    let (sources, mut loaded) = load(inputs, stdin)?;
    sim_core::admit::fold_into(
        &mut loaded,
        &sim_core::cluster::build::BuildOptions { seed, proxy_mode },
    );
    Ok((sources, loaded))
}

fn check(
    args: &CheckArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
    env: &Env,
) -> io::Result<i32> {
    let (sources, loaded) = load(&args.inputs, stdin)?;
    // The control plane is built as `run` builds it, so check and run agree on validity.
    let checked = output::check(&loaded);
    let shown: Vec<Diagnostic> = checked
        .diagnostics
        .iter()
        .filter(|d| !args.common.quiet || d.severity == Severity::Error)
        .cloned()
        .collect();
    let code = if checked.valid { EXIT_OK } else { EXIT_INVALID };
    match args.common.output {
        Output::Json => {
            let doc = output::check_json_of(&sources, &loaded, &checked, args.common.quiet);
            out.write_all(output::pretty(&doc).as_bytes())?;
        }
        Output::Text => {
            err.write_all(diag::render(&shown, &sources, color(&args.common, env)).as_bytes())?;
            let mut line = summary_of(&sources, &loaded, &checked.diagnostics);
            if checked.claimed > 0 {
                line.push_str(&format!(
                    " ({} claimed by the Scenario's expectations)",
                    checked.claimed
                ));
            }
            writeln!(out, "{line}")?;
        }
    }
    Ok(code)
}

/// `checked 2 files: 5 objects (1 Deployment, 1 Service, ...); 1 error, 0 warnings`.
fn summary(sources: &Sources, loaded: &Loaded) -> String {
    summary_of(sources, loaded, &loaded.diagnostics)
}

/// [`summary`], counting `diagnostics`.
fn summary_of(sources: &Sources, loaded: &Loaded, diagnostics: &[Diagnostic]) -> String {
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for o in &loaded.objects {
        *kinds.entry(o.object.kind()).or_default() += 1;
    }
    let count = |s: Severity| diagnostics.iter().filter(|d| d.severity == s).count();
    let plural = |n: usize, w: &str| {
        if n == 1 {
            format!("{n} {w}")
        } else {
            format!("{n} {w}s")
        }
    };
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let objects = if kinds.is_empty() {
        "no valid objects".to_string()
    } else {
        format!(
            "{} ({})",
            plural(loaded.objects.len(), "valid object"),
            kinds.join(", ")
        )
    };
    let scenario = loaded
        .scenario
        .as_ref()
        .map(|_| ", 1 Scenario")
        .unwrap_or("");
    format!(
        "checked {}: {objects}{scenario}; {}, {}, {}",
        plural(sources.len(), "file"),
        plural(count(Severity::Error), "error"),
        plural(count(Severity::Warning), "warning"),
        plural(count(Severity::Note), "note"),
    )
}

fn run_cmd(
    args: &RunArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
    env: &Env,
) -> io::Result<i32> {
    let (sources, loaded) = load(&args.inputs, stdin)?;
    let opts = engine::RunOptions {
        seed: args.seed,
        proxy_mode: args.proxy_mode.map(ProxyModeArg::mode),
        trace: match args.trace {
            TraceArg::Full => engine::TraceLevel::Full,
            TraceArg::Summary => engine::TraceLevel::Summary,
        },
    };
    let sim = output::simulate(&loaded, &opts, args.common.quiet);
    if let (Some(path), Some(run)) = (&args.pcap, &sim.run) {
        write_file(path, &sim_core::export::pcap::capture(run))?;
    }
    match args.common.output {
        Output::Json => {
            out.write_all(output::pretty(&sim.to_json(&sources, &loaded)).as_bytes())?
        }
        Output::Text => {
            let color = color(&args.common, env);
            err.write_all(diag::render(&sim.diagnostics, &sources, color).as_bytes())?;
            match (sim.report(&sources, &loaded), &sim.run) {
                (Some(_), Some(run)) if args.mermaid => {
                    out.write_all(sim_core::export::mermaid::sequences(run).as_bytes())?
                }
                (Some(report), _) => out.write_all(report.story().as_bytes())?,
                (None, _) => {
                    writeln!(out, "{}", summary_of(&sources, &loaded, &sim.diagnostics))?;
                    writeln!(err, "the input is invalid: nothing was simulated")?;
                }
            }
        }
    }
    Ok(match sim.verdict() {
        Verdict::Passed => EXIT_OK,
        Verdict::ExpectationFailed => EXIT_EXPECTATION_FAILED,
        Verdict::Invalid => EXIT_INVALID,
    })
}

/// Write a file the user asked for (a capture, a report), naming it in the error.
fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    std::fs::write(path, bytes)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}
