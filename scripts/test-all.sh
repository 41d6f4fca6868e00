#!/usr/bin/env bash
# Every test simctl has, on a fresh machine: installs what the tests need, then runs them.
# README.md gives this command; .ci/run calls it, so CI proves what a newcomer runs.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: rustfmt, clippy, the wasm32 target"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add wasm32-unknown-unknown

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "sim-core and sim-web build for wasm32-unknown-unknown"
cargo build --locked -p sim-core -p sim-web --target wasm32-unknown-unknown

step "test tools: tshark (tests/pictures.rs reads simctl's pcap captures with it)"
if ! command -v tshark >/dev/null; then
    # tshark asks whether non-root users may capture: answer no, without a prompt.
    if command -v debconf-set-selections >/dev/null; then
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    fi
    command -v tshark >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark)
fi

# --- Browser sandbox (issue 5) ----------------------------------------------------------
# scripts/build-web.sh builds sim-web's wasm module for the page and for Node.js
# (target/wasm-node/, which tests/wasm.rs checks against the native simctl), installing
# wasm-bindgen-cli on first use (~3-5 minutes), Node.js if missing, and the page's npm
# packages (npm ci); then builds the page into sim-web/www/. tests/browser.rs drives it in
# Debian's Chromium through playwright-core.
step "browser sandbox: the wasm module and the page (scripts/build-web.sh)"
bash scripts/build-web.sh
step "browser tests: Debian's chromium"
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
    else
        echo "tests/browser.rs needs Debian's chromium (apt-get install chromium)" >&2
        exit 1
    fi
fi
# --- end of the browser sandbox ---------------------------------------------------------

step "tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line over every test binary (cargo prints one `test result:` per binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) g += $i } }
     END { printf "\n%d passed, %d failed, %d skipped\n", p, f, g; if (p == 0) exit 1 }' "$log"
