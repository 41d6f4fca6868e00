//! The browser sandbox in a real browser: `simctl serve` (in this process) serves the built
//! page (`sim-web/www/`, from `scripts/build-web.sh`), and `sim-web/app/tests/browser.mjs`
//! drives Debian's Chromium through playwright-core over it. One Node.js run does every
//! browser test in order (one browser on a 2-core machine); each `#[test]` here asserts its
//! own entry of that run's report, so a failure names the test that failed.
//!
//! Needs what `scripts/test-all.sh` installs: the built page, Node.js with the page's npm
//! packages (`npm ci` in `sim-web/app`), and `/usr/bin/chromium` (apt-get). Without them
//! these tests FAIL, saying what is missing: a browser test skipped would pass silently.
//!
//! Screenshots of every state go to `target/screenshots/`, with `report.json` (including
//! the edit-to-redraw timings per lesson that BENCHMARKS.md quotes).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{OnceLock, mpsc};

use serde_json::Value;
use simctl_e2e::root;

/// A `Write` that hands each write to a channel: how the server thread tells its URL.
struct Lines(mpsc::Sender<String>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = self.0.send(String::from_utf8_lossy(buf).into_owned());
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// `simctl serve sim-web/www --port 0` on a thread of this process; its URL.
fn serve() -> String {
    let site = root().join("sim-web/www");
    assert!(
        site.join("index.html").is_file(),
        "{} is not built: run `bash scripts/build-web.sh` first (scripts/test-all.sh does)",
        site.display()
    );
    let (tx, rx) = mpsc::channel();
    let dir = site.to_string_lossy().into_owned();
    std::thread::spawn(move || {
        let mut out = Lines(tx);
        let mut err = io::sink();
        let env = sim_cli::Env {
            no_color: true,
            ..sim_cli::Env::default()
        };
        let args = ["simctl", "serve", dir.as_str(), "--port", "0"];
        sim_cli::run(args.to_vec(), &mut io::empty(), &mut out, &mut err, &env)
    });
    let mut said = String::new();
    while let Ok(s) = rx.recv_timeout(std::time::Duration::from_secs(10)) {
        said.push_str(&s);
        if said.contains('\n') {
            break;
        }
    }
    let url = said
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("simctl serve did not say its URL: {said:?}"));
    url.to_string()
}

/// The report of the one browser run, made on first use.
fn report() -> &'static Value {
    static REPORT: OnceLock<Value> = OnceLock::new();
    REPORT.get_or_init(|| {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            std::path::Path::new(&chromium).is_file(),
            "{chromium} is missing: `apt-get install chromium` (scripts/test-all.sh does)"
        );
        let app = root().join("sim-web/app");
        assert!(
            app.join("node_modules/playwright-core").is_dir(),
            "playwright-core is not installed: `npm ci` in sim-web/app (scripts/build-web.sh does)"
        );
        let url = serve();
        let shots = target_dir().join("screenshots");
        let out = Command::new("node")
            .arg(app.join("tests/browser.mjs"))
            .arg(&url)
            .arg(&shots)
            .env("CHROMIUM", &chromium)
            .output()
            .expect("run node (Node.js 20 or later is needed)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|e| {
            panic!(
                "browser.mjs printed no report ({e}); exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    })
}

fn passed(name: &str) {
    let r = &report()[name];
    assert!(
        r["ok"] == Value::Bool(true),
        "browser test {name} failed: {}\n(screenshot: target/screenshots/failed-{name}.png)",
        r["error"].as_str().unwrap_or("it did not run")
    );
}

#[test]
fn misconfigured_fails_steps_through_hops_and_is_fixed_in_the_editor() {
    passed("misconfigured");
}

#[test]
fn a_proven_fix_applies_with_one_click() {
    passed("apply_fix");
}

#[test]
fn a_lesson_passes_its_check_and_an_exercise_says_what_still_fails() {
    passed("lesson");
}

#[test]
fn challenge_mode_asks_before_each_hop_and_judges_the_answer() {
    passed("challenge");
}

#[test]
fn a_share_link_carries_the_scenario_seed_and_mode() {
    passed("share");
}

#[test]
fn html_in_a_scenario_is_shown_as_text() {
    passed("xss");
}

#[test]
fn the_page_is_keyboard_usable() {
    passed("keyboard");
}

#[test]
fn the_page_fits_a_phone_width_screen() {
    passed("phone");
}

#[test]
fn edit_to_redraw_is_timed_for_every_lesson() {
    passed("timings");
    let timings = report()["lessonTimings"].as_array().expect("timings");
    assert!(timings.len() >= 14, "{timings:?}");
    for t in timings {
        let total = t["totalMs"].as_f64().expect("totalMs");
        // A sanity bound, not a benchmark: a redraw that never came would be infinite.
        assert!(total.is_finite() && total > 0.0, "{t}");
    }
}
