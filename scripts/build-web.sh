#!/usr/bin/env bash
# Build the browser sandbox:
#   1. sim-web for wasm32, through wasm-bindgen and wasm-opt, into
#        sim-web/app/src/pkg/  the page's ES module (--target web; gitignored)
#        target/wasm-node/     the same module for Node.js (--target nodejs), for tests/wasm.rs
#   2. the page (sim-web/app: TypeScript, Vite, CodeMirror 6, Cytoscape.js) into
#        sim-web/www/          static files (gitignored), served by `simctl serve` or any host
# On a fresh machine it installs what it needs: the wasm32 target, wasm-bindgen-cli at
# exactly the version of the wasm-bindgen crate in Cargo.lock (the two must match), binaryen
# (apt-get, for wasm-opt), Node.js
# (apt-get) and the page's npm packages at the versions package-lock.json pins (npm ci).
# Idempotent and quiet: prints little when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'build-web: %s\n' "$*"; }

want=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/^version = "|"$/, ""); print; exit }' Cargo.lock)
if [ -z "$want" ]; then
    say "no wasm-bindgen in Cargo.lock" >&2
    exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown >/dev/null
fi

bin="${CARGO_HOME:-$HOME/.cargo}/bin"
wasm_bindgen=$(command -v wasm-bindgen || echo "$bin/wasm-bindgen")
have=$("$wasm_bindgen" --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
    say "installing wasm-bindgen-cli $want${have:+ (found $have)}: about 3 minutes on 2 cores"
    cargo install wasm-bindgen-cli --version "$want" --locked --quiet
    wasm_bindgen="$bin/wasm-bindgen"
fi

cargo build --locked --quiet -p sim-web --target wasm32-unknown-unknown --profile wasm
wasm="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm/sim_web.wasm"

# wasm-opt (binaryen) shrinks the module first, then wasm-bindgen makes both outputs from
# it (optimising after wasm-bindgen breaks its externref table: binaryen 108 leaves the table
# unable to grow). Both targets get the same module; only their JavaScript glue differs, so
# tests/wasm.rs checks the very module the page ships. Each step runs only when its input
# changed.
if ! command -v wasm-opt >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing binaryen (wasm-opt) with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq binaryen >/dev/null) || true
fi
module="${wasm%.wasm}.opt.wasm"
if command -v wasm-opt >/dev/null; then
    if [ ! -e "$module" ] || [ "$wasm" -nt "$module" ]; then
        say "wasm-opt -Oz (about 30 seconds)"
        # The features rustc enables for wasm32-unknown-unknown by default.
        wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
            --enable-mutable-globals --enable-reference-types --enable-multivalue \
            "$wasm" -o "$module"
    fi
else
    say "no wasm-opt (apt-get install binaryen): the module stays unoptimised (~4.8 MB)"
    cp -p "$wasm" "$module"
fi
web=sim-web/app/src/pkg
node="${CARGO_TARGET_DIR:-target}/wasm-node"
for out in "$web:web" "$node:nodejs"; do
    dir=${out%:*} target=${out#*:}
    if [ ! -e "$dir/sim_web.js" ] || [ "$module" -nt "$dir/sim_web.js" ]; then
        # --out-name: the module is called sim_web whatever the optimised file's name.
        "$wasm_bindgen" --target "$target" --out-dir "$dir" --out-name sim_web "$module"
        touch "$dir/sim_web.js"
    fi
done

# The page.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing Node.js and npm (apt-get)"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null)
    else
        say "the page needs Node.js 20.19 or later and npm (apt-get install nodejs npm)" >&2
        exit 1
    fi
fi
# Vite 8 needs Node.js 20.19 or later (Debian 12's own nodejs package is 18): say so plainly.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
    say "Node.js $(node --version) is too old for the page's build (Vite 8): install Node.js 20.19 or later" >&2
    exit 1
fi
app=sim-web/app
if [ ! -d "$app/node_modules" ] || [ "$app/package-lock.json" -nt "$app/node_modules/.package-lock.json" ]; then
    say "installing the page's npm packages (npm ci)"
    (cd "$app" && npm ci --no-audit --no-fund --loglevel=error)
fi
# Rebuild when any input of the page is newer than its index.html.
stamp=sim-web/www/index.html
if [ ! -e "$stamp" ] || [ -n "$(find "$app/index.html" "$app/src" "$app/vite.config.ts" "$app/package-lock.json" scenarios -newer "$stamp" -print -quit)" ]; then
    (cd "$app" && npx --no-install tsc --noEmit && npx --no-install vite build --logLevel warn)
fi
