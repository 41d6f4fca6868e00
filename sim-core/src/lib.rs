//! # sim-core: the simulated cluster, as a library
//!
//! simctl takes real Kubernetes manifests and answers "where does this packet go, and
//! why?". This crate is all of it but the shells (`sim-cli`, `sim-web`): it does no I/O,
//! reads no clock and holds no global state, so it builds for `wasm32-unknown-unknown`
//! and a run is a pure function of (input text, seed).
//!
//! The data's path through the crate:
//!
//! 1. **Source** ([`source`]): the files' text, with line/column lookup.
//! 2. **YAML** ([`yaml`]): each document parsed by serde-saphyr into a spanned tree
//!    ([`yaml::Node`]) under budgets (size, depth, alias expansion), so every field keeps
//!    its line and column.
//! 3. **Manifests** ([`manifest`]): documents split into objects (`kind: List` expanded),
//!    apiVersion/kind resolved (removed APIs rejected as kubectl does), strict field
//!    checking against k8s-openapi's schemas with a did-you-mean ([`schema`]), then typed
//!    into k8s-openapi structs ([`objects::Object`]) and the Scenario document
//!    ([`scenario`]).
//! 4. **Defaults** ([`defaults`]): what the API server fills in, applied once.
//! 5. **Validation** ([`validation`]): the API server's rules, messages and field paths.
//! 6. **Diagnostics** ([`diag`]): every problem with severity, stable code, field path,
//!    file:line:column, rendered as a source snippet with a caret.
//!
//! 7. **Admission** ([`admit`]): the control plane built as a run builds it, without
//!    traffic; its refusals (a nodePort already allocated, ...) and the Scenario's
//!    dangling references make the input invalid, so `check` and `run` agree.
//!
//! Every limit (file size, nodes, pods, requests, hops, ...) is in [`limits`], with its
//! reason; reaching one is an error diagnostic, never a silently smaller cluster.
//!
//! Later stages (control plane, data plane, engine, traces) consume only the output of
//! [`manifest::load`]: defaulted, validated objects that cannot be invalid.
//!
//! Then the simulation: the control plane ([`cluster`]), kube-proxy ([`proxy`]),
//! NetworkPolicy ([`policy`]) and the discrete-event engine ([`engine`]) that walks each
//! packet and records every hop as a typed record ([`trace`]: facts, no words). Words
//! come last: [`render`] turns records into sentences and rule text, once, for the
//! terminal, the JSON and the browser; [`explain`], [`lint`], [`reach`] and [`export`]
//! read the records.
//!
//! The shells print the documents [`output`] builds, so the command line and the browser
//! give the same bytes for the same input and seed.

pub mod admit;
pub mod cluster;
pub mod defaults;
pub mod diag;
pub mod engine;
pub mod explain;
pub mod export;
pub mod limits;
pub mod lint;
pub mod manifest;
pub mod net;
pub mod objects;
pub mod output;
pub mod policy;
pub mod proxy;
pub mod reach;
pub mod render;
pub mod scenario;
pub mod schema;
pub mod source;
pub mod text;
pub mod trace;
pub mod validation;
pub mod yaml;
