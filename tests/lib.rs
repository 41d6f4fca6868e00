//! Helpers for simctl's end-to-end tests: run the real `simctl` command in-process over
//! files, and read the expectations written in fixture headers.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `../shared/corpus` beside the checkout (150 real manifests).
pub fn corpus_dir() -> PathBuf {
    root().join("../shared/corpus")
}

/// The result of one `simctl` invocation.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `simctl ARGS...` in-process with `stdin` as standard input, colour off.
pub fn simctl(args: &[&str], stdin: &[u8]) -> Outcome {
    // As the binary does: the parser needs more stack than a test thread's 2 MiB at the
    // nesting limit in unoptimised builds.
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .stack_size(64 * 1024 * 1024)
            .spawn_scoped(s, || simctl_here(args, stdin))
            .expect("spawn simctl thread");
        match worker.join() {
            Ok(o) => o,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

fn simctl_here(args: &[&str], stdin: &[u8]) -> Outcome {
    let mut full = vec!["simctl"];
    full.extend_from_slice(args);
    let mut input = stdin;
    let mut out = Vec::new();
    let mut err = Vec::new();
    let env = sim_cli::Env {
        no_color: true,
        ..sim_cli::Env::default()
    };
    let code = sim_cli::run(full, &mut input, &mut out, &mut err, &env);
    Outcome {
        code,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// Every `*.yaml` file under `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// One expected error diagnostic of a fixture: `# expect: <line> <message>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub line: u32,
    pub message: String,
}

/// The `# expect:` header lines of a fixture, in order.
pub fn expectations(text: &str) -> Vec<Expected> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .filter_map(|rest| {
            let (line, message) = rest.split_once(' ')?;
            Some(Expected {
                line: line.parse().ok()?,
                message: message.to_string(),
            })
        })
        .collect()
}
