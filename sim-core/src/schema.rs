//! Strict field checking, as `kubectl apply --validate=strict` does it.
//!
//! k8s-openapi's `Deserialize` impls ignore unknown fields, so the spanned YAML tree is
//! walked against the JSON Schema that k8s-openapi derives for each type (its `schemars`
//! feature: the real OpenAPI schema, not a hand-kept list). The walk reports
//! - a field the schema does not have, with the nearest real field as a did-you-mean;
//! - a value of the wrong JSON type, in the words of the API server's JSON decoder
//!   (`json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32`).

use serde_json::Value as Json;

use crate::diag::{Diagnostic, codes};
use crate::source::Span;
use crate::validation::field::Path;
use crate::yaml::{Node, Value};

/// A JSON Schema with its `$defs`, as schemars produces it.
#[derive(Clone, Debug)]
pub struct Schema {
    root: Json,
}

impl Schema {
    /// The schema of a type that derives (or k8s-openapi implements) `JsonSchema`.
    pub fn of<T: schemars::JsonSchema>() -> Schema {
        let root = schemars::generate::SchemaSettings::draft2020_12()
            .into_generator()
            .into_root_schema_for::<T>();
        Schema {
            root: root.to_value(),
        }
    }

    fn resolve<'a>(&'a self, mut schema: &'a Json) -> (&'a Json, Option<&'a str>) {
        let mut def_name = None;
        // Bounded: a $ref chain longer than this is a schema bug, not input.
        for _ in 0..16 {
            match schema.get("$ref").and_then(Json::as_str) {
                Some(r) => {
                    let name = r.rsplit('/').next().unwrap_or(r);
                    def_name = Some(name);
                    match self.root.get("$defs").and_then(|d| d.get(name)) {
                        Some(s) => schema = s,
                        None => return (schema, def_name),
                    }
                }
                None => break,
            }
        }
        (schema, def_name)
    }
}

/// Walk `node` against `schema`, appending a diagnostic per unknown field or wrong type.
/// `header` is prefixed to messages (`The Pod "web" is invalid: `); `decode_header` is the
/// decoder's (`Pod in version "v1" cannot be handled as a Pod: `).
pub fn check(
    node: &Node,
    schema: &Schema,
    header: &str,
    decode_header: &str,
    out: &mut Vec<Diagnostic>,
) {
    let w = Walker {
        schema,
        header,
        decode_header,
    };
    let root = Path::new("");
    let site = Site {
        parent_go_type: None,
        json_path: "",
        path: &root,
        key_span: None,
    };
    w.walk(node, &schema.root, &site, out, 0);
}

/// Where in the document the walk is.
#[derive(Clone, Copy)]
struct Site<'p> {
    /// The Go struct holding this field (`ServicePort`), for decoder-style messages.
    parent_go_type: Option<&'p str>,
    /// The JSON path without indexes (`spec.ports.port`), as encoding/json reports it.
    json_path: &'p str,
    /// The field path (`spec.ports[0].port`).
    path: &'p Path,
    /// The span of the key this value sits under, if any.
    key_span: Option<Span>,
}

struct Walker<'a> {
    schema: &'a Schema,
    header: &'a str,
    decode_header: &'a str,
}

/// Nesting beyond this is not checked further (the YAML budget already bounds depth).
const MAX_DEPTH: usize = 128;

impl Walker<'_> {
    fn walk(
        &self,
        node: &Node,
        schema: &Json,
        site: &Site<'_>,
        out: &mut Vec<Diagnostic>,
        depth: usize,
    ) {
        let Site {
            parent_go_type,
            json_path,
            path,
            ..
        } = *site;
        if depth > MAX_DEPTH {
            return;
        }
        let (schema, def_name) = self.schema.resolve(schema);
        if matches!(node.value, Value::Null) {
            return; // JSON null leaves a Go field at its zero value.
        }
        let go_struct = def_name.map(|d| d.rsplit('.').next().unwrap_or(d));
        if def_name.is_some_and(|d| d.ends_with("IntOrString"))
            || schema
                .get("x-kubernetes-int-or-string")
                .and_then(Json::as_bool)
                == Some(true)
        {
            if !matches!(node.value, Value::Int(_) | Value::Str(_)) {
                self.type_error(node, site, "intstr.IntOrString", out);
            }
            return;
        }
        if def_name.is_some_and(|d| d.ends_with("resource.Quantity")) {
            if !matches!(
                node.value,
                Value::Int(_) | Value::Uint(_) | Value::Float(_) | Value::Str(_)
            ) {
                self.type_error(node, site, "resource.Quantity", out);
            }
            return;
        }
        // anyOf / oneOf (untagged enums in simctl's own types): take the first branch the
        // value's type fits; report a type error when none does.
        if let Some(branches) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Json::as_array)
        {
            for b in branches {
                let (bs, _) = self.schema.resolve(b);
                if type_fits(bs, &node.value) {
                    self.walk(node, b, site, out, depth + 1);
                    return;
                }
            }
            self.type_error(node, site, "value", out);
            return;
        }
        let ty = schema_type(schema);
        match ty {
            Some("object") => {
                let Value::Map(entries) = &node.value else {
                    let go = go_struct
                        .map(|s| format!("v1.{s}"))
                        .unwrap_or_else(|| "map[string]string".into());
                    self.type_error(node, site, &go, out);
                    return;
                };
                let props = schema.get("properties").and_then(Json::as_object);
                let additional = schema.get("additionalProperties").filter(|a| a.is_object());
                for e in entries {
                    let child_path = if path.as_str().is_empty() {
                        Path::new(&e.key)
                    } else {
                        path.child(&e.key)
                    };
                    let child_json = if json_path.is_empty() {
                        e.key.clone()
                    } else {
                        format!("{json_path}.{}", e.key)
                    };
                    if let Some(p) = props.and_then(|p| p.get(&e.key)) {
                        let child = Site {
                            parent_go_type: go_struct.or(parent_go_type),
                            json_path: &child_json,
                            path: &child_path,
                            key_span: Some(e.key_span),
                        };
                        self.walk(&e.value, p, &child, out, depth + 1);
                    } else if let Some(a) = additional {
                        let map_path = if path.as_str().is_empty() {
                            Path::new(&e.key)
                        } else {
                            path.key(&e.key)
                        };
                        let child = Site {
                            parent_go_type: go_struct.or(parent_go_type),
                            json_path,
                            path: &map_path,
                            key_span: Some(e.key_span),
                        };
                        self.walk(&e.value, a, &child, out, depth + 1);
                    } else if props.is_some()
                        || schema.get("additionalProperties") == Some(&Json::Bool(false))
                    {
                        let known: Vec<&str> = props
                            .map(|p| p.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        let required: Vec<&str> = schema
                            .get("required")
                            .and_then(Json::as_array)
                            .map(|r| r.iter().filter_map(Json::as_str).collect())
                            .unwrap_or_default();
                        let present: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
                        let mut d = Diagnostic::error(
                            codes::UNKNOWN_FIELD,
                            format!("{}{}: unknown field", self.header, child_path),
                        )
                        .at(e.key_span)
                        .field(child_path.to_string())
                        .label("unknown field");
                        if let Some(s) = did_you_mean(&e.key, &known, &required, &present) {
                            d = d.help(format!("did you mean `{s}`?")).suggest(s);
                        } else if !known.is_empty() {
                            d = d.help(format!("known fields here: {}", known.join(", ")));
                        }
                        out.push(d);
                    }
                }
            }
            Some("array") => {
                let Value::Seq(items) = &node.value else {
                    let item = schema.get("items").map(|i| self.schema.resolve(i).1);
                    let go = match item {
                        Some(Some(d)) => format!("[]v1.{}", d.rsplit('.').next().unwrap_or(d)),
                        _ => "[]string".to_string(),
                    };
                    self.type_error(node, site, &go, out);
                    return;
                };
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        let item_path = path.index(i);
                        let child = Site {
                            parent_go_type,
                            json_path,
                            path: &item_path,
                            key_span: None,
                        };
                        self.walk(item, item_schema, &child, out, depth + 1);
                    }
                }
            }
            Some(t @ ("string" | "boolean" | "number")) => {
                let (fits, go) = match t {
                    "string" => (matches!(node.value, Value::Str(_)), "string"),
                    "boolean" => (matches!(node.value, Value::Bool(_)), "bool"),
                    _ => (
                        matches!(node.value, Value::Int(_) | Value::Uint(_) | Value::Float(_)),
                        "float64",
                    ),
                };
                if !fits {
                    self.type_error(node, site, go, out);
                }
            }
            Some("integer") => {
                let format = schema
                    .get("format")
                    .and_then(Json::as_str)
                    .unwrap_or("int64");
                let go = match format {
                    "int32" => "int32",
                    "uint8" => "uint8",
                    "uint16" => "uint16",
                    "uint32" => "uint32",
                    "uint64" | "uint" => "uint64",
                    _ => "int64",
                };
                let fits = match &node.value {
                    Value::Int(i) => match go {
                        "int32" => i32::try_from(*i).is_ok(),
                        "uint8" => u8::try_from(*i).is_ok(),
                        "uint16" => u16::try_from(*i).is_ok(),
                        "uint32" => u32::try_from(*i).is_ok(),
                        "uint64" => *i >= 0,
                        _ => true,
                    },
                    Value::Uint(_) => go == "uint64",
                    _ => false,
                };
                if !fits {
                    self.type_error(node, site, go, out);
                }
            }
            _ => {}
        }
    }

    /// The API server's JSON decoder error (encoding/json's `UnmarshalTypeError`).
    fn type_error(&self, node: &Node, site: &Site<'_>, go_type: &str, out: &mut Vec<Diagnostic>) {
        let Site {
            parent_go_type,
            json_path,
            path,
            key_span,
        } = *site;
        // A mapping or list is pointed at by its key, as the fixture convention has it.
        let span = match (&node.value, key_span) {
            (Value::Map(_) | Value::Seq(_), Some(k)) => k,
            _ => node.span,
        };
        let what = match &node.value {
            Value::Str(_) => "string".to_string(),
            Value::Int(i) => format!("number {i}"),
            Value::Uint(u) => format!("number {u}"),
            Value::Float(f) => format!("number {}", crate::yaml::go_float(*f)),
            Value::Bool(_) => "bool".to_string(),
            Value::Seq(_) => "array".to_string(),
            Value::Map(_) => "object".to_string(),
            Value::Null => "null".to_string(),
        };
        let field = match parent_go_type {
            Some(s) => format!("Go struct field {s}.{json_path}"),
            None => format!("Go value {json_path}"),
        };
        let found = match &node.value {
            Value::Str(s) => format!("found the string {}", crate::validation::field::go_quote(s)),
            v => format!("found {}", v.type_name()),
        };
        out.push(
            Diagnostic::error(
                codes::INVALID_TYPE,
                format!(
                    "{}json: cannot unmarshal {what} into {field} of type {go_type}",
                    self.decode_header
                ),
            )
            .at(span)
            .field(path.to_string())
            .label(format!("expected {}, {found}", expected_words(go_type))),
        );
    }
}

fn expected_words(go_type: &str) -> &'static str {
    match go_type {
        "string" => "a string",
        "bool" => "true or false",
        "intstr.IntOrString" => "a number or a name",
        "resource.Quantity" => "a quantity",
        t if t.starts_with("int") || t.starts_with("uint") => "an integer",
        t if t.starts_with("float") => "a number",
        t if t.starts_with("[]") => "a list",
        t if t.starts_with("map") || t.starts_with("v1.") => "a mapping",
        _ => "another type",
    }
}

fn schema_type(schema: &Json) -> Option<&str> {
    match schema.get("type") {
        Some(Json::String(s)) => Some(s.as_str()),
        // ["string", "null"] for an Option in simctl's own types.
        Some(Json::Array(types)) => types.iter().filter_map(Json::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

fn type_fits(schema: &Json, value: &Value) -> bool {
    matches!(
        (schema_type(schema), value),
        (None, _)
            | (_, Value::Null)
            | (Some("object"), Value::Map(_))
            | (Some("array"), Value::Seq(_))
            | (Some("string"), Value::Str(_))
            | (Some("boolean"), Value::Bool(_))
            | (Some("integer"), Value::Int(_) | Value::Uint(_))
            | (
                Some("number"),
                Value::Int(_) | Value::Uint(_) | Value::Float(_)
            )
    )
}

/// The field a learner most likely meant by `unknown`, if any is close enough.
///
/// In order: the same name in another case (`ContainerPort`); a required field that is
/// missing and contains the name or is contained in it (`Port` under a container port is
/// the missing `containerPort`); another missing field that does; then the closest
/// spelling by Jaro-Winkler similarity (`publishNotReadyEndpoints` ->
/// `publishNotReadyAddresses`).
pub fn did_you_mean<'a>(
    unknown: &str,
    known: &[&'a str],
    required: &[&str],
    present: &[&str],
) -> Option<&'a str> {
    let lower = unknown.to_ascii_lowercase();
    if lower.is_empty() {
        return None;
    }
    if let Some(k) = known.iter().find(|k| k.eq_ignore_ascii_case(unknown)) {
        return Some(k);
    }
    let missing = |k: &&&str| !present.contains(*k);
    let related = |k: &&&str| {
        let kl = k.to_ascii_lowercase();
        lower.len() >= 3 && (kl.contains(&lower) || lower.contains(&kl))
    };
    if let Some(k) = known
        .iter()
        .filter(missing)
        .filter(|k| required.contains(*k))
        .find(related)
    {
        return Some(k);
    }
    let mut related_missing: Vec<&&str> = known.iter().filter(missing).filter(related).collect();
    related_missing.sort_by_key(|k| (k.len(), **k));
    if let Some(k) = related_missing.first() {
        return Some(k);
    }
    let mut best: Option<(f64, &'a str)> = None;
    for k in known {
        let score = strsim::jaro_winkler(&lower, &k.to_ascii_lowercase());
        if score >= 0.82 && best.is_none_or(|(b, bk)| score > b || (score == b && *k < bk)) {
            best = Some((score, k));
        }
    }
    best.map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let port_fields = ["containerPort", "hostIP", "hostPort", "name", "protocol"];
        assert_eq!(
            did_you_mean("Port", &port_fields, &["containerPort"], &["Port"]),
            Some("containerPort")
        );
        assert_eq!(
            did_you_mean(
                "protcol",
                &port_fields,
                &["containerPort"],
                &["containerPort"]
            ),
            Some("protocol")
        );
        let spec = [
            "publishNotReadyAddresses",
            "ports",
            "selector",
            "type",
            "sessionAffinity",
        ];
        assert_eq!(
            did_you_mean("publishNotReadyEndpoints", &spec, &[], &[]),
            Some("publishNotReadyAddresses")
        );
        assert_eq!(
            did_you_mean("targetport", &["targetPort", "port"], &[], &[]),
            Some("targetPort")
        );
        assert_eq!(did_you_mean("zzzz", &spec, &[], &[]), None);
    }
}
