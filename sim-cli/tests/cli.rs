//! The real `simctl` process: exit codes, which stream gets what, kubectl's input habits,
//! colour from the environment, write errors. Each test runs the binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const SVC: &str =
    "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n";
const BAD: &str =
    "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 0}]}\n";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Run simctl with `args`, `stdin`, and the environment cleared of colour settings but
/// for `env`.
fn simctl_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_simctl"));
    cmd.args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn simctl");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn simctl(args: &[&str], stdin: &[u8]) -> Out {
    simctl_env(args, stdin, &[("NO_COLOR", "1")])
}

/// A fresh directory under the system's temporary one, removed on drop.
struct Temp(PathBuf);

impl Temp {
    fn new(tag: &str) -> Temp {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "simctl-cli-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("mkdir");
        Temp(dir)
    }

    fn write(&self, rel: &str, text: &str) -> String {
        let p = self.0.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    }

    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

#[test]
fn valid_input_exits_0_with_the_tally_on_stdout() {
    let o = simctl(&["check", "-"], SVC.as_bytes());
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(
        o.stdout,
        "checked 1 file: 1 valid object (1 Service); 0 errors, 0 warnings, 0 notes\n"
    );
    assert_eq!(o.stderr, "");
}

#[test]
fn hostile_inputs_exit_2_without_panicking() {
    let deep = format!("a: {}\n", "[".repeat(50_000));
    let mut block = String::from("a:\n");
    for i in 0..500 {
        block.push_str(&" ".repeat(2 + 2 * i));
        block.push_str("b:\n");
    }
    for input in [
        deep.as_bytes(),
        block.as_bytes(),
        b"\xff\xfe\x00",
        b"- [",
        b"",
    ] {
        let o = simctl(&["check", "-"], input);
        assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
        assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
        assert!(o.stderr.contains("error["), "{}", o.stderr);
        assert!(!o.stdout.contains("error["), "{}", o.stdout);
    }
}

#[test]
fn diagnostics_go_to_stderr_and_results_to_stdout_on_every_command() {
    let t = Temp::new("streams");
    let bad = t.write("bad.yaml", BAD);
    for cmd in ["check", "run", "reach", "lint", "graph", "explain", "test"] {
        let o = simctl(&[cmd, &bad], b"");
        assert_eq!(o.code, 2, "{cmd}: {}{}", o.stdout, o.stderr);
        assert!(
            o.stderr.contains("spec.ports[0].port: Invalid value: 0"),
            "{cmd}: {}",
            o.stderr
        );
        if cmd == "test" {
            // A grading verdict names the first error on its line; the snippet is on stderr.
            assert!(o.stdout.starts_with("ERROR "), "{}", o.stdout);
            assert!(o.stderr.contains("--> "), "{}", o.stderr);
        } else {
            assert!(
                !o.stdout.contains("Invalid value"),
                "{cmd} printed a diagnostic on stdout: {}",
                o.stdout
            );
        }
    }
    // A valid run: the story on stdout, the notes about the input on stderr.
    let ok = t.write(
        "ok.yaml",
        &format!("{SVC}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n"),
    );
    let o = simctl(&["run", &ok], b"");
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.starts_with("cluster: "), "{}", o.stdout);
    assert!(o.stderr.contains("note[NotSimulated]"), "{}", o.stderr);
    assert!(!o.stdout.contains("NotSimulated"), "{}", o.stdout);
}

#[test]
fn usage_errors_exit_2_on_stderr_and_help_exits_0_on_stdout() {
    let o = simctl(&["check"], b"");
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("required"), "{}", o.stderr);
    assert_eq!(o.stdout, "");
    let o = simctl(&["--help"], b"");
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("Usage: simctl"), "{}", o.stdout);
}

#[test]
fn filename_flags_mix_with_files_in_command_line_order() {
    let t = Temp::new("order");
    let a = t.write(
        "a.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: NodePort, ports: [{port: 80}]}\n",
    );
    let b = t.write(
        "b.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {type: NodePort, ports: [{port: 80}]}\n",
    );
    let order = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["check", "-o", "json"];
        full.extend_from_slice(args);
        let o = simctl(&full, b"");
        assert_eq!(o.code, 0, "{}", o.stderr);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
        v["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .map(|o| o["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(order(&["-f", &b, &a]), ["b", "a"]);
    assert_eq!(order(&[&a, "-f", &b]), ["a", "b"]);
    assert_eq!(order(&["--filename", &b, "--filename", &a]), ["b", "a"]);
    assert_eq!(order(&[&format!("--filename={a}"), "-f", &b]), ["a", "b"]);
}

#[test]
fn directories_read_json_and_yaml_and_recurse_only_with_r() {
    let t = Temp::new("dirs");
    t.write("web.yaml", SVC);
    t.write(
        "api.json",
        r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"}, "spec": {"ports": [{"port": 8080}]}}"#,
    );
    t.write("README.md", "not a manifest\n");
    t.write(
        "sub/db.yml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {ports: [{port: 5432}]}\n",
    );
    let o = simctl(&["check", &t.path()], b"");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.starts_with("checked 2 files: 2 valid objects"),
        "{}",
        o.stdout
    );
    let o = simctl(&["check", "-R", &t.path()], b"");
    assert!(
        o.stdout.starts_with("checked 3 files: 3 valid objects"),
        "{}",
        o.stdout
    );
    // Only subdirectories: said plainly, with the flag that reads them.
    let only = Temp::new("only-sub");
    only.write("deep/web.yaml", SVC);
    let o = simctl(&["check", &only.path()], b"");
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("no *.yaml, *.yml or *.json files in this directory"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("-R/--recursive"), "{}", o.stderr);
}

#[cfg(unix)]
#[test]
fn a_directory_with_links_to_itself_is_read_once() {
    // Issue 15: two links to itself expanded into 131,071 copies of one file.
    let t = Temp::new("symlink-loop");
    t.write("web.yaml", SVC);
    std::os::unix::fs::symlink(&t.0, t.0.join("again")).expect("ln");
    std::os::unix::fs::symlink(&t.0, t.0.join("more")).expect("ln");
    let o = simctl(&["check", "-R", &t.path()], b"");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.starts_with("checked 1 file: 1 valid object"),
        "{}",
        o.stdout
    );
    assert!(o.stderr.contains("note[AlreadyRead]"), "{}", o.stderr);
}

#[test]
fn stdin_once_and_urls_refused() {
    let o = simctl(&["run", "-", "-f", "-"], SVC.as_bytes());
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("standard input cannot be used for multiple arguments"),
        "{}",
        o.stderr
    );
    for url in ["https://example.com/web.yaml", "http://raw.example/x.yaml"] {
        let o = simctl(&["check", "-f", url], b"");
        assert_eq!(o.code, 2);
        assert!(o.stderr.contains("URLs are not read"), "{}", o.stderr);
        assert_eq!(o.stdout, "");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_an_error_not_success() {
    // Issue 15: `check` to /dev/full exited 0 having written nothing.
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full")
    };
    let t = Temp::new("full");
    let ok = t.write("web.yaml", SVC);
    for args in [
        vec!["check", ok.as_str()],
        vec!["check", "-o", "json", ok.as_str()],
        vec!["run", ok.as_str()],
        vec!["lint", ok.as_str()],
        vec!["graph", ok.as_str()],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_simctl"))
            .args(&args)
            .stdout(full())
            .stderr(Stdio::piped())
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("cannot write the results to standard output: No space left on device"),
            "{args:?}: {err}"
        );
    }
    // A file the user asked for, on a full disk, says which.
    let o = simctl(&["run", "--pcap", "/dev/full", &ok], b"");
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("/dev/full: No space left"),
        "{}",
        o.stderr
    );
}

#[test]
fn colour_follows_no_color_clicolor_force_and_term_dumb() {
    let has_escape = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["check"];
        args.extend_from_slice(extra);
        args.push("-");
        let o = simctl_env(&args, BAD.as_bytes(), env);
        assert_eq!(o.code, 2);
        o.stderr.contains('\u{1b}')
    };
    // Not a terminal: no colour unless forced.
    assert!(!has_escape(&[], &[]));
    assert!(has_escape(&[("CLICOLOR_FORCE", "1")], &[]));
    assert!(!has_escape(
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
        &[]
    ));
    assert!(has_escape(&[], &["--color", "always"]));
    assert!(has_escape(&[("NO_COLOR", "1")], &["--color", "always"]));
    assert!(!has_escape(
        &[("CLICOLOR_FORCE", "1")],
        &["--color", "never"]
    ));
}

#[test]
fn the_shipped_example_runs_from_the_readme() {
    let f = root().join("scenarios/misconfigured.yaml");
    let o = simctl(&["run", &f.display().to_string()], b"");
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stdout
            .contains("laptop-to-web: laptop -> node-1:30080 (TCP): refused (NoListener)"),
        "{}",
        o.stdout
    );
}

/// Run simctl on a terminal (util-linux's `script` gives it a pty) and say whether its
/// output carried colour.
#[cfg(target_os = "linux")]
fn colour_on_a_terminal(env: &[(&str, &str)]) -> bool {
    let cmd = format!(
        "{} check /nonexistent/simctl.yaml",
        env!("CARGO_BIN_EXE_simctl")
    );
    let mut c = Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c
        .output()
        .expect("util-linux `script` (Debian's bsdutils, an essential package)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("error[Unreadable]"), "{text}");
    text.contains('\u{1b}')
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_colour_is_on_unless_term_is_dumb_or_no_color() {
    assert!(colour_on_a_terminal(&[("TERM", "xterm-256color")]));
    assert!(!colour_on_a_terminal(&[("TERM", "dumb")]));
    assert!(!colour_on_a_terminal(&[
        ("TERM", "xterm-256color"),
        ("NO_COLOR", "1")
    ]));
    assert!(!colour_on_a_terminal(&[
        ("TERM", "xterm-256color"),
        ("CLICOLOR", "0")
    ]));
}
