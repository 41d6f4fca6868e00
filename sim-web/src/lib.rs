//! # sim-web: simctl in the browser
//!
//! sim-core through wasm-bindgen: the page (`sim-web/www/`) hands the text of its editor to
//! these functions and gets back the very JSON documents `simctl check --output json` and
//! `simctl run --output json` print, byte for byte (both are built by
//! [`sim_core::output`]). A run is a pure function of (text, seed), on every target;
//! `tests/wasm.rs` holds the two to that over every scenario of the repository.
//!
//! The JavaScript API (`sim-web/www/pkg/sim_web.js` after `scripts/build-web.sh`):
//!
//! - `check(name, text)` -> `{valid, diagnostics, objects, scenario}` as JSON text;
//! - `run(name, text, seed?, proxyMode?)` -> the run document as JSON text. `seed` is a
//!   non-negative integer (number, BigInt or decimal string; `undefined`, `null` or `""`
//!   keep the Scenario's); `proxyMode` is `"iptables"`, `"ipvs"` or `"nftables"`
//!   (`undefined`, `null` or `""` keep the Scenario's). A bad seed or mode throws an
//!   `Error`; an invalid scenario does not throw: its diagnostics are in the document.
//! - `sandbox(name, text, seed?, proxyMode?)` -> the page's document for one edit, as JSON
//!   text: `{version, valid, check, run, lint, story, topology, explanations}`, where
//!   `check` and `run` are the two documents above (`run` is `null` for an invalid input),
//!   `lint` the findings of `simctl lint` (as its JSON lists them), `story` the text of
//!   `simctl run`, `topology` `{places: [{id, kind, label, parent, ip, up, detail}],
//!   links: [{from, to, kind}]}` (a place's `id` is the `place` the run's hops name), and
//!   `explanations` those of `simctl explain --output json` (without fixes), each with the
//!   cause's `file` and `line`. Seed and mode as for `run`. See [`sandbox_json`].
//! - `fixes(name, text, seed, proxyMode, traffic, index)` -> the proven fixes of request
//!   `index` (0-based) of traffic entry `traffic`, as `simctl explain` searches them:
//!   `[{description, diff, edit: {startLine, removeLines, lines}, text}]`, `text` being the
//!   whole input with the fix applied; `[]` when there is nothing to fix. `seed` and
//!   `proxyMode` may be `undefined`. See [`fixes_json`].
//! - `version()` -> simctl's version.
//!
//! `name` plays the part of the file name (diagnostics say `name:line:column`). A leading
//! byte-order mark is dropped, as the command line drops it (the page never sends one;
//! line numbers are those of the text without it).
//!
//! On wasm32, a panic (a bug: none is expected on any input) is written to
//! `console.error` with its message (`console_error_panic_hook`, set when the module
//! starts).
//!
//! The wasm-bindgen wrappers are thin; the functions they wrap ([`check_json`],
//! [`run_json`], [`sandbox_json`], [`fixes_json`]) are plain Rust, tested natively.

use sim_core::cluster::ProxyMode;
use sim_core::engine::RunOptions;
use sim_core::manifest::{self, LoadOptions};
use sim_core::output;
use sim_core::source::Sources;
use wasm_bindgen::prelude::*;

mod sandbox;
pub use sandbox::{fixes_json, sandbox_json};

/// Load one text as simctl loads one file: a leading byte-order mark is dropped, so that
/// columns match what the command line reports.
fn load(name: &str, text: &str) -> (Sources, manifest::Loaded) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    manifest::load_str(name, text, &LoadOptions::default())
}

/// `simctl check --output json` over one text named `name`.
pub fn check_json(name: &str, text: &str) -> String {
    let (sources, loaded) = load(name, text);
    output::pretty(&output::check_json(&sources, &loaded, false))
}

/// `simctl run --output json [--seed S] [--proxy-mode M]` over one text named `name`.
/// Errs only on a `proxy_mode` that is not a mode.
pub fn run_json(
    name: &str,
    text: &str,
    seed: Option<u64>,
    proxy_mode: Option<&str>,
) -> Result<String, String> {
    let proxy_mode = parse_mode(proxy_mode)?;
    let (sources, loaded) = load(name, text);
    let opts = RunOptions {
        seed,
        proxy_mode,
        ..RunOptions::default()
    };
    Ok(output::pretty(&output::run_json(
        &sources, &loaded, &opts, false,
    )))
}

/// A `proxyMode` argument: empty or absent keeps the Scenario's.
fn parse_mode(proxy_mode: Option<&str>) -> Result<Option<ProxyMode>, String> {
    match proxy_mode.filter(|m| !m.is_empty()) {
        None => Ok(None),
        Some(m) => ProxyMode::parse(m).map(Some).ok_or_else(|| {
            format!("proxyMode {m:?} is not one of \"iptables\", \"ipvs\", \"nftables\"")
        }),
    }
}

/// A seed written as text: digits only, as `--seed` takes it; empty means none.
pub fn parse_seed(s: &str) -> Result<Option<u64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<u64>()
        .map(Some)
        .map_err(|_| format!("seed {s:?} is not an integer from 0 to {}", u64::MAX))
}

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn seed_from_js(seed: &JsValue) -> Result<Option<u64>, String> {
    if seed.is_undefined() || seed.is_null() {
        return Ok(None);
    }
    if let Some(s) = seed.as_string() {
        return parse_seed(&s);
    }
    if let Some(f) = seed.as_f64() {
        return if f.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&f) {
            Ok(Some(f as u64))
        } else {
            Err(format!(
                "seed {f} is not an integer from 0 to {MAX_SAFE_INTEGER} (pass a BigInt or a string for larger seeds)"
            ))
        };
    }
    if seed.is_bigint() {
        return u64::try_from(seed.clone())
            .map(Some)
            .map_err(|_| format!("seed is not an integer from 0 to {}", u64::MAX));
    }
    Err("seed must be a number, a BigInt or a string of digits".to_string())
}

/// `check(name, text)`: the JSON of `simctl check --output json`.
#[wasm_bindgen(js_name = check)]
pub fn check(name: &str, text: &str) -> String {
    check_json(name, text)
}

/// `run(name, text, seed?, proxyMode?)`: the JSON of `simctl run --output json`.
#[wasm_bindgen(js_name = run)]
pub fn run(
    name: &str,
    text: &str,
    #[wasm_bindgen(unchecked_optional_param_type = "number | bigint | string | null")]
    seed: JsValue,
    #[wasm_bindgen(js_name = proxyMode, unchecked_optional_param_type = "string | null")]
    proxy_mode: Option<String>,
) -> Result<String, JsError> {
    let seed = seed_from_js(&seed).map_err(|e| JsError::new(&e))?;
    run_json(name, text, seed, proxy_mode.as_deref()).map_err(|e| JsError::new(&e))
}

/// `sandbox(name, text, seed?, proxyMode?)`: the page's document for one edit (see
/// [`sandbox_json`]).
#[wasm_bindgen(js_name = sandbox)]
pub fn sandbox(
    name: &str,
    text: &str,
    #[wasm_bindgen(unchecked_optional_param_type = "number | bigint | string | null")]
    seed: JsValue,
    #[wasm_bindgen(js_name = proxyMode, unchecked_optional_param_type = "string | null")]
    proxy_mode: Option<String>,
) -> Result<String, JsError> {
    let seed = seed_from_js(&seed).map_err(|e| JsError::new(&e))?;
    sandbox_json(name, text, seed, proxy_mode.as_deref()).map_err(|e| JsError::new(&e))
}

/// `fixes(name, text, seed, proxyMode, traffic, index)`: the proven fixes of one failed
/// request (see [`fixes_json`]).
#[wasm_bindgen(js_name = fixes)]
pub fn fixes(
    name: &str,
    text: &str,
    #[wasm_bindgen(unchecked_param_type = "number | bigint | string | null | undefined")]
    seed: JsValue,
    #[wasm_bindgen(js_name = proxyMode, unchecked_param_type = "string | null | undefined")]
    proxy_mode: Option<String>,
    traffic: &str,
    index: u32,
) -> Result<String, JsError> {
    let seed = seed_from_js(&seed).map_err(|e| JsError::new(&e))?;
    fixes_json(name, text, seed, proxy_mode.as_deref(), traffic, index)
        .map_err(|e| JsError::new(&e))
}

/// Run when the module is instantiated: a panic (a bug: none is expected on any input) is
/// reported by `console.error` with its message, not as a bare `unreachable`. wasm-bindgen
/// also exports it as `start()`; calling it again does nothing.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// `version()`: the version of simctl this module was built from.
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[cfg(test)]
mod tests {
    const SVC: &str =
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n";

    #[test]
    fn check_reports_the_unknown_field_as_json() {
        let out = super::check_json(
            "svc.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80, protcol: TCP}]}\n",
        );
        assert!(out.ends_with("}\n"));
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["valid"], false);
        assert_eq!(v["diagnostics"][0]["field"], "spec.ports[0].protcol");
        assert_eq!(v["diagnostics"][0]["file"], "svc.yaml");
    }

    #[test]
    fn check_lists_the_objects() {
        let v: serde_json::Value =
            serde_json::from_str(&super::check_json("svc.yaml", SVC)).expect("json");
        assert_eq!(v["valid"], true);
        assert_eq!(v["objects"][0]["kind"], "Service");
        assert_eq!(v["objects"][0]["name"], "web");
    }

    #[test]
    fn run_takes_the_seed_and_the_mode() {
        let out = super::run_json("svc.yaml", SVC, Some(7), Some("ipvs")).expect("run");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["seed"], 7);
        assert_eq!(v["proxyMode"], "ipvs");
        // Same input, same seed: same bytes.
        assert_eq!(
            out,
            super::run_json("svc.yaml", SVC, Some(7), Some("ipvs")).expect("run")
        );
    }

    #[test]
    fn run_rejects_an_unknown_mode() {
        let err = super::run_json("svc.yaml", SVC, None, Some("userspace")).expect_err("mode");
        assert!(err.contains("userspace"), "{err}");
        assert!(super::run_json("svc.yaml", SVC, None, Some("")).is_ok());
    }

    #[test]
    fn a_byte_order_mark_is_dropped_as_the_command_line_does() {
        let with = super::check_json("svc.yaml", &format!("\u{feff}{SVC}"));
        assert_eq!(with, super::check_json("svc.yaml", SVC));
    }

    #[test]
    fn seeds_are_digits() {
        assert_eq!(super::parse_seed(""), Ok(None));
        assert_eq!(super::parse_seed(" 42 "), Ok(Some(42)));
        assert_eq!(
            super::parse_seed("18446744073709551615"),
            Ok(Some(u64::MAX))
        );
        assert!(super::parse_seed("-1").is_err());
        assert!(super::parse_seed("1e3").is_err());
    }
}
