//! `simctl test PATH...`: run every scenario file that has expectations, each on its own,
//! print one verdict line per expectation and a `N passed, N failed` summary, and
//! optionally write JUnit XML for CI.
//!
//! Loading and judging are `simctl run`'s own ([`super::load`], [`super::simulate`]):
//! a verdict here is the verdict `simctl run FILE` gives.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use clap::Args;
use sim_core::diag::{self, Diagnostic, Severity};
use sim_core::engine;
use sim_core::manifest::Loaded;
use sim_core::scenario::Expectation;
use sim_core::source::Sources;

use super::{EXIT_EXPECTATION_FAILED, EXIT_INVALID, EXIT_OK, Inputs, ProxyModeArg};

#[derive(Args, Debug)]
pub(crate) struct TestArgs {
    /// Scenario files or directories: each file is one scenario; files without
    /// expectations are skipped.
    #[command(flatten)]
    pub(crate) inputs: Inputs,
    /// Also write a JUnit XML report here (one testsuite per scenario file, one
    /// testcase per expectation).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// The RNG seed, over each Scenario's `seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// kube-proxy's mode, over each Scenario's `cluster.kubeProxy.mode`.
    #[arg(long, value_enum)]
    proxy_mode: Option<ProxyModeArg>,
}

/// One expectation's verdict.
struct Case {
    name: String,
    passed: bool,
    message: String,
    /// Why the first request that ended otherwise ended as it did (failures only).
    why: Option<String>,
}

/// What became of one input file.
enum Verdict {
    /// Invalid input: nothing simulated. The error diagnostics, rendered.
    Invalid { first: String, detail: String },
    /// No Scenario, or a Scenario without `expect`.
    Skipped,
    Judged {
        name: String,
        title: Option<String>,
        description: Option<String>,
        cases: Vec<Case>,
    },
}

struct FileResult {
    file: String,
    verdict: Verdict,
}

pub(crate) fn test(
    args: &TestArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
    env: &super::Env,
) -> io::Result<i32> {
    let _ = env;
    let mut expand_diags = Vec::new();
    let files = super::input::expand(
        &args.inputs.paths(),
        args.inputs.recursive,
        &mut expand_diags,
    )?;
    let mut results = Vec::new();
    // A directory with no YAML in it is a mistake in the command line: say so as an
    // invalid input, not as "0 tests".
    for d in &expand_diags {
        results.push(FileResult {
            file: d
                .message
                .strip_prefix("cannot read ")
                .and_then(|m| m.split_once(": "))
                .map_or(d.message.clone(), |(f, _)| f.to_string()),
            verdict: Verdict::Invalid {
                first: d.message.clone(),
                detail: d.message.clone(),
            },
        });
    }
    let opts = engine::RunOptions {
        seed: args.seed,
        proxy_mode: args.proxy_mode.map(ProxyModeArg::mode),
        trace: engine::TraceLevel::Summary,
    };
    for file in &files {
        let one = Inputs {
            ordered: vec![match file {
                super::input::Item::Stdin => PathBuf::from("-"),
                super::input::Item::File(p) => p.clone(),
            }],
            ..args.inputs.clone()
        };
        let (sources, loaded) = super::load_admitted(&one, stdin, opts.seed, opts.proxy_mode)?;
        let name = match sources.iter().next() {
            Some((id, _)) => sources.name(id).to_string(),
            None => one.ordered[0].display().to_string(),
        };
        let verdict = judge(&sources, &loaded, &opts);
        results.push(FileResult {
            file: name,
            verdict,
        });
    }

    let (mut passed, mut failed, mut invalid, mut judged) = (0usize, 0usize, 0usize, 0usize);
    for r in &results {
        match &r.verdict {
            Verdict::Invalid { first, detail } => {
                invalid += 1;
                failed += 1;
                err.write_all(detail.as_bytes())?;
                writeln!(out, "ERROR {} {first}", r.file)?;
            }
            Verdict::Skipped => writeln!(out, "SKIP {} (no expectations)", r.file)?,
            Verdict::Judged { cases, .. } => {
                judged += 1;
                for c in cases {
                    if c.passed {
                        passed += 1;
                    } else {
                        failed += 1;
                    }
                    writeln!(
                        out,
                        "{} {} {}",
                        if c.passed { "PASS" } else { "FAIL" },
                        r.file,
                        c.message
                    )?;
                    if let Some(why) = &c.why {
                        writeln!(out, "     why: {why}")?;
                    }
                }
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&results)).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
        })?;
    }
    if invalid > 0 {
        return Ok(EXIT_INVALID);
    }
    if judged == 0 {
        return Err(io::Error::other(
            "no scenario with expectations found: nothing was tested",
        ));
    }
    Ok(if failed == 0 {
        EXIT_OK
    } else {
        EXIT_EXPECTATION_FAILED
    })
}

fn judge(sources: &Sources, loaded: &Loaded, opts: &engine::RunOptions) -> Verdict {
    if loaded.has_errors() {
        let errors: Vec<Diagnostic> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .cloned()
            .collect();
        let first = errors.first().map_or_else(String::new, |d| {
            let at = d
                .span
                .map(|s| format!("{}:{}: ", s.line, s.column))
                .unwrap_or_default();
            format!("{at}{}", d.message)
        });
        return Verdict::Invalid {
            first,
            detail: diag::render(&errors, sources, false),
        };
    }
    let Some(scenario) = loaded
        .scenario
        .as_ref()
        .filter(|s| !s.doc.spec.expect.is_empty())
    else {
        return Verdict::Skipped;
    };
    let sim = sim_core::output::simulate(loaded, opts, true);
    let (Some(result), expectations) = (&sim.run, &sim.expectations) else {
        return Verdict::Skipped; // Unreachable: invalid input returned above.
    };
    let report = engine::report::Report {
        sources,
        loaded,
        run: result,
        expectations,
        diagnostics: &[],
    };
    let spec = &scenario.doc.spec;
    let cases = expectations
        .iter()
        .map(|e| {
            let x = spec.expect.get(e.index);
            let why = if e.passed {
                None
            } else {
                x.and_then(|x| first_why(x, result, &report))
            };
            Case {
                name: x.map_or_else(|| format!("expect[{}]", e.index), case_name),
                passed: e.passed,
                message: e.message.clone(),
                why,
            }
        })
        .collect();
    Verdict::Judged {
        name: scenario.doc.metadata.name.clone(),
        title: spec.title.clone(),
        description: spec.description.clone(),
        cases,
    }
}

/// A testcase's name: the traffic it judges, or the diagnostic it looks for.
fn case_name(x: &Expectation) -> String {
    if let Some(t) = &x.traffic {
        return t.clone();
    }
    let Some(d) = &x.diagnostic else {
        return "expectation".to_string();
    };
    let what = [&d.field, &d.code, &d.contains]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    format!("diagnostic {what}").trim_end().to_string()
}

/// The explanation of the first failed request of the expectation's traffic.
fn first_why(
    x: &Expectation,
    result: &engine::RunResult,
    report: &engine::report::Report<'_>,
) -> Option<String> {
    let t = result
        .traffic
        .iter()
        .position(|p| Some(&p.name) == x.traffic.as_ref())?;
    result
        .flows
        .iter()
        .filter(|f| f.traffic == t && f.reason.is_some())
        .find_map(|f| report.why(f))
}

/// The JUnit XML report: `<testsuites>`, one `<testsuite>` per judged or invalid file.
fn junit(results: &[FileResult]) -> String {
    let mut total = (0usize, 0usize, 0usize);
    let mut body = String::new();
    for r in results {
        let file = esc(&r.file);
        match &r.verdict {
            Verdict::Skipped => {}
            Verdict::Invalid { first, detail } => {
                total.0 += 1;
                total.2 += 1;
                let _ = writeln!(
                    body,
                    "  <testsuite name=\"{file}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">"
                );
                let _ = writeln!(
                    body,
                    "    <testcase name=\"load\" classname=\"{file}\">\n      <error message=\"{}\" type=\"InvalidInput\">{}</error>\n    </testcase>",
                    esc(first),
                    esc(detail)
                );
                let _ = writeln!(body, "  </testsuite>");
            }
            Verdict::Judged {
                name,
                title,
                description,
                cases,
            } => {
                let failures = cases.iter().filter(|c| !c.passed).count();
                total.0 += cases.len();
                total.1 += failures;
                let _ = writeln!(
                    body,
                    "  <testsuite name=\"{file}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
                    cases.len()
                );
                let _ = writeln!(body, "    <properties>");
                let _ = writeln!(
                    body,
                    "      <property name=\"scenario\" value=\"{}\"/>",
                    esc(name)
                );
                if let Some(t) = title {
                    let _ = writeln!(
                        body,
                        "      <property name=\"title\" value=\"{}\"/>",
                        esc(t)
                    );
                }
                if let Some(d) = description {
                    let _ = writeln!(
                        body,
                        "      <property name=\"description\" value=\"{}\"/>",
                        esc(d)
                    );
                }
                let _ = writeln!(body, "    </properties>");
                let class = esc(name);
                for c in cases {
                    let n = esc(&c.name);
                    if c.passed {
                        let _ = writeln!(
                            body,
                            "    <testcase name=\"{n}\" classname=\"{class}\" file=\"{file}\"/>"
                        );
                    } else {
                        let mut text = c.message.clone();
                        if let Some(why) = &c.why {
                            text.push_str("\nwhy: ");
                            text.push_str(why);
                        }
                        let _ = writeln!(
                            body,
                            "    <testcase name=\"{n}\" classname=\"{class}\" file=\"{file}\">\n      <failure message=\"{}\" type=\"ExpectationFailed\">{}</failure>\n    </testcase>",
                            esc(&c.message),
                            esc(&text)
                        );
                    }
                }
                let _ = writeln!(body, "  </testsuite>");
            }
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"simctl test\" tests=\"{}\" failures=\"{}\" errors=\"{}\">\n{body}</testsuites>\n",
        total.0, total.1, total.2
    )
}

/// Escape text for XML content and attribute values alike. Line breaks and tabs become
/// character references, so attribute values keep them; characters XML 1.0 cannot
/// carry at all become U+FFFD.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            esc("<script>alert(\"x\" & 'y')</script>\n\u{1}"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &apos;y&apos;)&lt;/script&gt;&#10;\u{FFFD}"
        );
    }
}
