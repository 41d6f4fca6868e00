//! Field paths and field errors, as apimachinery has them.
//!
//! Mirrors `staging/src/k8s.io/apimachinery/pkg/util/validation/field/{path,errors}.go`
//! in kubernetes/kubernetes so that a message reads exactly as `kubectl` prints it:
//! `spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. ...`.

use std::fmt;

/// A field path: `spec.ports[0].nodePort`, `metadata.labels[app]`.
///
/// Built like apimachinery's `field.Path`: `Path::new("spec").child("ports").index(0)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path(String);

impl Path {
    /// A root path element (`spec`, `metadata`).
    pub fn new(root: &str) -> Path {
        Path(root.to_string())
    }

    /// `self.name`
    pub fn child(&self, name: &str) -> Path {
        if self.0.is_empty() {
            return Path(name.to_string());
        }
        Path(format!("{}.{}", self.0, name))
    }

    /// `self[i]`
    pub fn index(&self, i: usize) -> Path {
        Path(format!("{}[{}]", self.0, i))
    }

    /// `self[key]` (a map key, printed without quotes as apimachinery does).
    pub fn key(&self, key: &str) -> Path {
        Path(format!("{}[{}]", self.0, key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments of a path string: names, `[n]` indexes and `[key]` keys.
    /// `spec.ports[0].name` -> `["spec", "ports", "[0]", "name"]`.
    pub fn segments(path: &str) -> Vec<PathSegment<'_>> {
        let mut out = Vec::new();
        let bytes = path.as_bytes();
        let mut i = 0;
        let mut start = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'.' => {
                    if i > start {
                        out.push(PathSegment::Field(&path[start..i]));
                    }
                    i += 1;
                    start = i;
                }
                b'[' => {
                    if i > start {
                        out.push(PathSegment::Field(&path[start..i]));
                    }
                    let close = path[i..].find(']').map(|c| i + c).unwrap_or(path.len());
                    out.push(PathSegment::Subscript(&path[i + 1..close]));
                    i = close + 1;
                    start = i;
                }
                _ => i += 1,
            }
        }
        if start < path.len() {
            out.push(PathSegment::Field(&path[start..]));
        }
        out
    }
}

/// One step of a [`Path`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathSegment<'a> {
    /// `.name`
    Field(&'a str),
    /// `[0]` or `[key]`: an index into a list or a key into a map.
    Subscript(&'a str),
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// apimachinery's `field.ErrorType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    NotFound,
    Required,
    Duplicate,
    Invalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
    TypeInvalid,
}

impl ErrorType {
    /// The canonical text (`ErrorType.String()`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::NotFound => "Not found",
            ErrorType::Required => "Required value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Internal => "Internal error",
            ErrorType::TypeInvalid => "Invalid value",
        }
    }

    /// The machine-readable name (`FieldValueInvalid`, ...), used as part of diagnostic codes.
    pub fn reason(self) -> &'static str {
        match self {
            ErrorType::NotFound => "FieldValueNotFound",
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::Internal => "InternalError",
            ErrorType::TypeInvalid => "FieldValueTypeInvalid",
        }
    }
}

/// The offending value, printed as Go's `ErrorBody` prints it.
#[derive(Clone, Debug, PartialEq)]
pub enum BadValue {
    /// Printed with `%v`: `80`.
    Int(i64),
    /// Printed with `%v`: `true`.
    Bool(bool),
    /// Printed with `%q`: `"web"`.
    Str(String),
    /// Printed verbatim: already formatted the way Go would (`%#v` of a struct, a Stringer).
    Raw(String),
    /// Go's `null` (a nil pointer).
    Null,
    /// No value is printed (Required, Forbidden, TooLong, ...).
    Omit,
}

impl From<i64> for BadValue {
    fn from(v: i64) -> Self {
        BadValue::Int(v)
    }
}
impl From<i32> for BadValue {
    fn from(v: i32) -> Self {
        BadValue::Int(v.into())
    }
}
impl From<&str> for BadValue {
    fn from(v: &str) -> Self {
        BadValue::Str(v.to_string())
    }
}
impl From<String> for BadValue {
    fn from(v: String) -> Self {
        BadValue::Str(v)
    }
}
impl From<&String> for BadValue {
    fn from(v: &String) -> Self {
        BadValue::Str(v.clone())
    }
}
impl From<bool> for BadValue {
    fn from(v: bool) -> Self {
        BadValue::Bool(v)
    }
}

/// Go's `strconv.Quote` / `%q` for the strings that occur in manifests.
///
/// A value longer than [`crate::limits::MAX_QUOTED_CHARS`] is quoted up to there and its
/// length given after (`"vvvv..."... (3,145,728 bytes)`): a message echoes what it is
/// about, not a 3 MB label value whole.
pub fn go_quote(s: &str) -> String {
    let (shown, cut) = crate::limits::truncate_chars(s, crate::limits::MAX_QUOTED_CHARS);
    let mut out = quote_all(shown);
    if cut {
        out.insert_str(out.len() - 1, "...");
        out.push_str(&format!(
            "... ({} bytes)",
            crate::limits::grouped(s.len() as u64)
        ));
    }
    out
}

fn quote_all(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadValue::Int(v) => write!(f, "{v}"),
            BadValue::Bool(v) => write!(f, "{v}"),
            BadValue::Str(s) => f.write_str(&go_quote(s)),
            BadValue::Raw(s) => f.write_str(s),
            BadValue::Null => f.write_str("null"),
            BadValue::Omit => Ok(()),
        }
    }
}

/// One field-level validation error (apimachinery's `field.Error`).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    pub kind: ErrorType,
    /// The field path, `spec.ports[0].nodePort`.
    pub field: String,
    pub value: BadValue,
    pub detail: String,
}

impl FieldError {
    pub fn invalid(path: &Path, value: impl Into<BadValue>, detail: impl Into<String>) -> Self {
        FieldError {
            kind: ErrorType::Invalid,
            field: path.to_string(),
            value: value.into(),
            detail: detail.into(),
        }
    }
    pub fn required(path: &Path, detail: impl Into<String>) -> Self {
        FieldError {
            kind: ErrorType::Required,
            field: path.to_string(),
            value: BadValue::Omit,
            detail: detail.into(),
        }
    }
    pub fn forbidden(path: &Path, detail: impl Into<String>) -> Self {
        FieldError {
            kind: ErrorType::Forbidden,
            field: path.to_string(),
            value: BadValue::Omit,
            detail: detail.into(),
        }
    }
    pub fn duplicate(path: &Path, value: impl Into<BadValue>) -> Self {
        FieldError {
            kind: ErrorType::Duplicate,
            field: path.to_string(),
            value: value.into(),
            detail: String::new(),
        }
    }
    pub fn not_found(path: &Path, value: impl Into<BadValue>) -> Self {
        FieldError {
            kind: ErrorType::NotFound,
            field: path.to_string(),
            value: value.into(),
            detail: String::new(),
        }
    }
    /// `Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`.
    pub fn not_supported(path: &Path, value: impl Into<BadValue>, valid: &[&str]) -> Self {
        let detail = if valid.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid.iter().map(|v| go_quote(v)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        FieldError {
            kind: ErrorType::NotSupported,
            field: path.to_string(),
            value: value.into(),
            detail,
        }
    }
    /// `Too long: must have at most N bytes`.
    pub fn too_long(path: &Path, max_length: usize) -> Self {
        FieldError {
            kind: ErrorType::TooLong,
            field: path.to_string(),
            value: BadValue::Omit,
            detail: format!("must have at most {max_length} bytes"),
        }
    }
    /// `Too many: 3: must have at most 2 items`.
    pub fn too_many(path: &Path, actual: usize, max: usize) -> Self {
        FieldError {
            kind: ErrorType::TooMany,
            field: path.to_string(),
            value: BadValue::Int(actual as i64),
            detail: format!("must have at most {max} items"),
        }
    }
    pub fn type_invalid(
        path: &Path,
        value: impl Into<BadValue>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            kind: ErrorType::TypeInvalid,
            field: path.to_string(),
            value: value.into(),
            detail: detail.into(),
        }
    }

    /// The message without the field name (`ErrorBody()`).
    pub fn body(&self) -> String {
        let mut s = match (self.kind, &self.value) {
            (
                ErrorType::Required
                | ErrorType::Forbidden
                | ErrorType::TooLong
                | ErrorType::Internal,
                _,
            )
            | (_, BadValue::Omit) => self.kind.as_str().to_string(),
            (kind, value) => format!("{}: {}", kind.as_str(), value),
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// A list of field errors (`field.ErrorList`).
pub type ErrorList = Vec<FieldError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_apimachinery() {
        let p = Path::new("spec").child("ports").index(0).child("nodePort");
        let e = FieldError::invalid(
            &p,
            80,
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
        );
        assert_eq!(
            e.to_string(),
            "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"
        );
        let e = FieldError::required(&Path::new("spec").child("ports").index(1).child("name"), "");
        assert_eq!(e.to_string(), "spec.ports[1].name: Required value");
        let e = FieldError::not_supported(
            &Path::new("spec").child("ports").index(0).child("protocol"),
            "HTTP",
            &["SCTP", "TCP", "UDP"],
        );
        assert_eq!(
            e.to_string(),
            r#"spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP""#
        );
        let e = FieldError::duplicate(
            &Path::new("spec").child("ports").index(1).child("name"),
            "http",
        );
        assert_eq!(
            e.to_string(),
            r#"spec.ports[1].name: Duplicate value: "http""#
        );
    }

    #[test]
    fn long_values_are_quoted_in_part() {
        let v = "v".repeat(3_000_000);
        let q = go_quote(&v);
        assert_eq!(
            q,
            format!(
                "\"{}...\"... (3,000,000 bytes)",
                "v".repeat(crate::limits::MAX_QUOTED_CHARS)
            )
        );
        let exact = "é".repeat(crate::limits::MAX_QUOTED_CHARS);
        assert_eq!(go_quote(&exact), format!("\"{exact}\""));
    }

    #[test]
    fn path_segments_round_trip() {
        let p = Path::new("metadata")
            .child("labels")
            .key("app.kubernetes.io/name");
        assert_eq!(p.as_str(), "metadata.labels[app.kubernetes.io/name]");
        assert_eq!(
            Path::segments(p.as_str()),
            vec![
                PathSegment::Field("metadata"),
                PathSegment::Field("labels"),
                PathSegment::Subscript("app.kubernetes.io/name")
            ]
        );
        assert_eq!(
            Path::segments("spec.ports[0].name"),
            vec![
                PathSegment::Field("spec"),
                PathSegment::Field("ports"),
                PathSegment::Subscript("0"),
                PathSegment::Field("name")
            ]
        );
    }
}
