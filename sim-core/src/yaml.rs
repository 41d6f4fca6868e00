//! YAML in: each document of a stream parsed by serde-saphyr into a spanned tree.
//!
//! Every node keeps the span it was written at, so a problem found anywhere later (an
//! unknown field, a validation error on `spec.ports[0].nodePort`) can point at its line.
//! Parsing runs under budgets ([`Limits`]): input size, nesting depth, node count and alias
//! expansion ("billion laughs") are bounded, so hostile input ends in a diagnostic, in
//! bounded time and memory, never a crash.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diag::codes;
use crate::limits;
use crate::source::{SourceId, Span};
use crate::validation::field::{Path, PathSegment};

/// Bounds on what one input file may cost ([`crate::limits`] gives the defaults and why).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_bytes: usize,
    /// Deepest nesting of collections.
    pub max_depth: usize,
    /// Most nodes (scalars, lists, maps) in one file, aliases expanded.
    pub max_nodes: usize,
    /// Most `---`-separated documents in one file.
    pub max_documents: usize,
    /// Most events that aliases may replay in one file.
    pub max_alias_replay_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: limits::MAX_FILE_BYTES,
            max_depth: limits::MAX_NESTING_DEPTH,
            max_nodes: limits::MAX_YAML_NODES_PER_FILE,
            max_documents: limits::MAX_DOCUMENTS_PER_FILE,
            max_alias_replay_events: limits::MAX_ALIAS_REPLAY_EVENTS,
        }
    }
}

/// A YAML value with the span it was written at.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

/// A key of a mapping, with its own span (unknown-field errors point at the key).
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

/// The YAML data model, as sigs.k8s.io/yaml sees it after resolving plain scalars.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX` that fits `u64` (Go's YAML decoder keeps it exact).
    Uint(u64),
    /// A number with a fraction or exponent, or an integer too large for `u64`.
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

impl Value {
    /// The JSON type name used in messages (`string`, `integer`, `object`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::Uint(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "array",
            Value::Map(_) => "object",
        }
    }
}

impl Node {
    /// The value of `key` in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry of `key` in a mapping node (with the key's span).
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// A string scalar's text.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The span that a diagnostic about the field at `path` should point at, and whether
    /// the path was found whole. For a mapping entry that is the value when it is a scalar
    /// (the caret goes under `80`), else the key; for a list item, the item. A path that
    /// does not exist (a missing required field) resolves to its deepest existing ancestor.
    pub fn locate(&self, path: &str) -> (Span, bool) {
        let mut node = self;
        // The span of the node reached so far, as a diagnostic should show it.
        let mut shown = self.span;
        for seg in Path::segments(path) {
            let next = match (seg, &node.value) {
                (PathSegment::Field(name) | PathSegment::Subscript(name), Value::Map(entries)) => {
                    entries.iter().find(|e| e.key == name).map(|e| {
                        let show = match e.value.value {
                            Value::Map(_) | Value::Seq(_) | Value::Null => e.key_span,
                            _ => e.value.span,
                        };
                        (&e.value, show)
                    })
                }
                (PathSegment::Subscript(i), Value::Seq(items)) => i
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|n| (n, n.span)),
                _ => None,
            };
            match next {
                Some((n, show)) => {
                    node = n;
                    shown = show;
                }
                None => return (shown, false),
            }
        }
        (shown, true)
    }
}

/// A document that is not YAML, or exceeds a limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// `YamlSyntax`, `InputTooLarge` or `LimitExceeded`.
    pub code: &'static str,
    pub message: String,
    /// How to stay under a limit that was reached.
    pub help: Option<String>,
    pub span: Span,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}",
            self.span.line, self.span.column, self.message
        )
    }
}

/// Parse a whole YAML stream (`---`-separated documents) of one file.
///
/// Empty documents (a bare `---`, comments only) are dropped, as kubectl drops them.
pub fn parse_stream(text: &str, source: SourceId, limits: &Limits) -> Result<Vec<Node>, YamlError> {
    if text.len() > limits.max_file_bytes {
        return Err(YamlError {
            code: codes::INPUT_TOO_LARGE,
            message: format!(
                "this file is larger than simctl's limit of {} ({} bytes) per file",
                mib(limits.max_file_bytes),
                limits::grouped(limits.max_file_bytes as u64)
            ),
            help: Some(
                "split the input into several files: each file gets the whole limit (the API server itself takes at most 3 MiB per object)"
                    .into(),
            ),
            span: Span::file_start(source),
        });
    }
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = limits.max_depth;
    // The parser's own cap on `[`/`{` nesting, so flow and block nesting stop alike.
    budget.flow_nesting_limit = limits.max_depth;
    budget.max_nodes = limits.max_nodes;
    budget.max_documents = limits.max_documents;
    // Every node is at most three events (start, end, and a key): the node limit decides.
    budget.max_events = limits.max_nodes.saturating_mul(3);
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = limits.max_alias_replay_events;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits = alias_limits;
    options.with_snippet = false;

    let docs: Vec<Option<Spanned<RawValue>>> =
        serde_saphyr::from_multiple_with_options(text, options).map_err(|e| {
            let span = e
                .location()
                .map(|l| span_of(text, source, &l))
                .unwrap_or_else(|| Span::file_start(source));
            match limit_reached(&e, limits) {
                Some((message, help)) => YamlError {
                    code: limits::LIMIT_EXCEEDED,
                    message,
                    help: Some(help.into()),
                    span,
                },
                None => YamlError {
                    code: codes::YAML_SYNTAX,
                    message: clean_message(&e.to_string()),
                    help: None,
                    span,
                },
            }
        })?;
    Ok(docs
        .into_iter()
        .flatten()
        .filter(|d| !matches!(d.value, RawValue::Null))
        .map(|d| convert(d, text, source))
        .collect())
}

/// `16 MiB`, `512 KiB`.
fn mib(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// A budget serde-saphyr enforced, in simctl's words: which limit, and how to stay under
/// it. `None` for a syntax error.
fn limit_reached(e: &serde_saphyr::Error, limits: &Limits) -> Option<(String, &'static str)> {
    use serde_saphyr::budget::BudgetBreach as B;
    let mut e = e;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = e
    {
        e = error;
    }
    let n = |v: usize| limits::grouped(v as u64);
    const SPLIT: &str = "split the input into several files: each file gets the whole limit";
    const ALIASES: &str =
        "write the repeated values out instead of expanding aliases (`*name`) of aliases";
    let depth = || {
        (
            format!(
                "lists and maps nested deeper than simctl's limit of {} levels",
                limits.max_depth
            ),
            "Kubernetes manifests nest about 12 levels deep: look for unclosed `[` or `{`, or flatten the structure",
        )
    };
    match e {
        // The parser's nesting cap (granit-parser's `RecursionLimitExceeded`), reached
        // while it scans ahead of the budget's count.
        serde_saphyr::Error::ExternalMessage { msg, .. } if msg == "recursion limit exceeded" => {
            Some(depth())
        }
        serde_saphyr::Error::Budget { breach, .. } => Some(match breach {
            B::Depth { .. } => depth(),
            B::Documents { .. } => (
                format!(
                    "more YAML documents in this file than simctl's limit of {} per file",
                    n(limits.max_documents)
                ),
                SPLIT,
            ),
            B::Nodes { .. } | B::Events { .. } => (
                format!(
                    "more YAML values in this file than simctl's limit of {} per file (aliases expanded)",
                    n(limits.max_nodes)
                ),
                SPLIT,
            ),
            B::ScalarBytes { .. } => (
                "the strings of this file add up to more than 64 MiB, aliases expanded".to_string(),
                ALIASES,
            ),
            _ => (
                "aliases in this file expand to more than simctl reads (an alias bomb?)"
                    .to_string(),
                ALIASES,
            ),
        }),
        serde_saphyr::Error::AliasReplayLimitExceeded { .. }
        | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
        | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
        | serde_saphyr::Error::AliasReplayCounterOverflow { .. } => Some((
            format!(
                "aliases in this file replay more values than simctl's limit of {} per file",
                n(limits.max_alias_replay_events)
            ),
            ALIASES,
        )),
        _ => None,
    }
}

/// serde-saphyr's message without its own `line X column Y:` prefix (spans carry that).
fn clean_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    if let Some(rest) = first.strip_prefix("line ")
        && let Some(idx) = rest.find(": ")
        && rest[..idx].contains("column")
    {
        return rest[idx + 2..].to_string();
    }
    if let Some(idx) = first.rfind(" at line ")
        && first[idx..].contains(", column ")
    {
        return first[..idx].to_string();
    }
    first.to_string()
}

fn span_of(text: &str, source: SourceId, loc: &serde_saphyr::Location) -> Span {
    let line = u32::try_from(loc.line()).unwrap_or(u32::MAX).max(1);
    let column = u32::try_from(loc.column()).unwrap_or(u32::MAX).max(1);
    let sp = loc.span();
    let (offset, len) = match (sp.byte_offset(), sp.byte_len()) {
        (Some(o), Some(l)) => (o as usize, l as usize),
        _ => (crate::source::offset_of(text, line, column).unwrap_or(0), 0),
    };
    let offset = offset.min(text.len());
    let len = len.min(text.len() - offset);
    Span {
        source,
        offset,
        len,
        line,
        column,
    }
}

fn convert(raw: Spanned<RawValue>, text: &str, source: SourceId) -> Node {
    let span = span_of(text, source, &raw.referenced);
    let value = match raw.value {
        RawValue::Null => Value::Null,
        RawValue::Bool(b) => Value::Bool(b),
        RawValue::Int(i) => Value::Int(i),
        RawValue::Uint(u) => Value::Uint(u),
        RawValue::Float(f) => Value::Float(f),
        RawValue::Str(s) => Value::Str(s),
        RawValue::Seq(items) => Value::Seq(
            items
                .into_iter()
                .map(|n| convert(n, text, source))
                .collect(),
        ),
        RawValue::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| Entry {
                    key_span: span_of(text, source, &k.referenced),
                    key: k.value.0,
                    value: convert(v, text, source),
                })
                .collect(),
        ),
    };
    Node { value, span }
}

/// The tree as serde-saphyr hands it over, before spans are made ours.
enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<RawValue>>),
    Map(Vec<(Spanned<KeyText>, Spanned<RawValue>)>),
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawValue, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_none<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(b))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }
    fn visit_i128<E>(self, v: i128) -> Result<RawValue, E> {
        Ok(integer(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawValue, E> {
        Ok(integer(i128::from(v)))
    }
    fn visit_u128<E>(self, v: u128) -> Result<RawValue, E> {
        Ok(i128::try_from(v).map_or(RawValue::Float(v as f64), integer))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<RawValue, E> {
        Ok(RawValue::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(RawValue::Map(entries))
    }
}

/// An integer as Go's YAML decoder keeps it: `int64`, else `uint64`, else `float64`.
fn integer(v: i128) -> RawValue {
    if let Ok(i) = i64::try_from(v) {
        RawValue::Int(i)
    } else if let Ok(u) = u64::try_from(v) {
        RawValue::Uint(u)
    } else {
        RawValue::Float(v as f64)
    }
}

/// A float as Go's `encoding/json` writes it (and so as the API server's messages quote
/// it): shortest digits, in exponent form below 1e-6 and from 1e21 (`1e+23`, `1e-7`).
pub fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust writes `1e23` and `1.5e-7`; Go writes `1e+23` and `1.5e-7`.
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        }
    } else {
        format!("{f}")
    }
}

/// A mapping key as text: `80:` and `true:` keys become "80" and "true", as
/// sigs.k8s.io/yaml turns them into JSON object keys.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KeyText, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_unit<E>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".into()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<KeyText, E> {
                Ok(KeyText(v))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

/// The tree as JSON, for typed deserialization into k8s-openapi structs.
pub fn to_json(node: &Node) -> serde_json::Value {
    match &node.value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Uint(u) => serde_json::Value::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::Str(s) => serde_json::Value::String(s.clone()),
        Value::Seq(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|e| (e.key.clone(), to_json(&e.value)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Node> {
        parse_stream(text, SourceId(0), &Limits::default()).expect("parses")
    }

    #[test]
    fn keeps_spans_and_types() {
        let docs = parse("a: 1\nb: \"80\"\nc:\n  - x: true\n---\n---\nd: null\n");
        assert_eq!(docs.len(), 2);
        let a = docs[0].get("a").expect("a");
        assert_eq!(a.value, Value::Int(1));
        assert_eq!((a.span.line, a.span.column), (1, 4));
        assert_eq!(docs[0].get("b").and_then(Node::as_str), Some("80"));
        let (span, found) = docs[0].locate("c[0].x");
        assert!(found);
        assert_eq!((span.line, span.column), (4, 8));
        let (span, found) = docs[0].locate("c[0].missing");
        assert!(!found);
        assert_eq!(span.line, 4);
        assert_eq!(docs[1].get("d").map(|n| &n.value), Some(&Value::Null));
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_stream("a: [1, 2\nb: c\n", SourceId(0), &Limits::default()).unwrap_err();
        assert_eq!(err.span.line, 2);
        assert!(!err.message.contains("line 2"), "{}", err.message);
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse_stream(&text, SourceId(0), &Limits::default()).is_err());
    }
}
