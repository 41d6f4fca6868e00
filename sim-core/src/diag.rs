//! Diagnostics: every problem simctl finds, with a stable code, the field path and the
//! place in the input, rendered as a source snippet with a caret (as rustc does).

use std::fmt;

use annotate_snippets::{AnnotationKind, Group, Level, Patch, Renderer, Snippet};
use serde::Serialize;

use crate::limits;
use crate::source::{Sources, Span};

/// How bad a diagnostic is. Any `Error` makes the input invalid (exit code 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// Stable diagnostic codes. Field validation errors use apimachinery's cause types
/// (`FieldValueInvalid`, ...); the rest are simctl's own.
pub mod codes {
    /// Not YAML, or a limit of [`crate::yaml::Limits`] was reached.
    pub const YAML_SYNTAX: &str = "YamlSyntax";
    pub const INPUT_TOO_LARGE: &str = "InputTooLarge";
    /// A file with no document in it.
    pub const EMPTY_INPUT: &str = "EmptyInput";
    /// A document that is a list or a scalar instead of an object.
    pub const NOT_AN_OBJECT: &str = "NotAnObject";
    pub const MISSING_KIND: &str = "MissingKind";
    pub const MISSING_API_VERSION: &str = "MissingApiVersion";
    /// `no matches for kind "X" in version "Y"`: removed or unknown built-in API.
    pub const NO_KIND_MATCH: &str = "NoKindMatch";
    /// A field the schema does not have (`kubectl apply --validate=strict`).
    pub const UNKNOWN_FIELD: &str = "UnknownField";
    /// A field appears twice in one mapping.
    pub const DUPLICATE_FIELD: &str = "DuplicateField";
    /// A value of the wrong JSON type (`port: "eighty"`).
    pub const INVALID_TYPE: &str = "InvalidType";
    /// A kind simctl accepts but does not simulate.
    pub const NOT_SIMULATED: &str = "NotSimulated";
    /// More than one Scenario document.
    pub const DUPLICATE_SCENARIO: &str = "DuplicateScenario";
    /// Two objects with the same kind, namespace and name.
    pub const ALREADY_EXISTS: &str = "AlreadyExists";
    /// A warning the API server returns with an accepted object (`Warning: ...`).
    pub const API_WARNING: &str = "APIServerWarning";
    /// A file that could not be read (I/O, not UTF-8): raised by the shells.
    pub const UNREADABLE: &str = "Unreadable";
    /// An object whose namespace differs from `-n/--namespace` (kubectl refuses it).
    pub const NAMESPACE_MISMATCH: &str = "NamespaceMismatch";
    /// An object in a namespace the input never creates (`namespaces "X" not found`).
    pub const NAMESPACE_NOT_FOUND: &str = "NamespaceNotFound";
}

/// One problem, note or advice about the input.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable CamelCase code, e.g. `FieldValueInvalid`, `UnknownField`.
    pub code: String,
    /// The whole message, as kubectl would print it where kubectl has one.
    pub message: String,
    /// The field path (`spec.ports[0].nodePort`), when the problem is in a field.
    pub field: Option<String>,
    /// Where in the input; `None` for problems with no place (a missing file).
    pub span: Option<Span>,
    /// A short label under the caret.
    pub label: Option<String>,
    /// How to fix it, in a sentence.
    pub help: Option<String>,
    /// A concrete replacement for the spanned text (did-you-mean), shown as a patch.
    pub suggestion: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code: code.to_string(),
            message: limits::cap_message(message.into()),
            field: None,
            span: None,
            label: None,
            help: None,
            suggestion: None,
        }
    }
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }
    pub fn warning(code: &str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }
    pub fn note(code: &str, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, code, message)
    }
    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(limits::cap_message(label.into()));
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(limits::cap_message(help.into()));
        self
    }
    pub fn suggest(mut self, replacement: impl Into<String>) -> Self {
        self.suggestion = Some(replacement.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The JSON form of SCENARIO.md section 5 (`severity`, `code`, `message`, `field`,
    /// `file`, `line`, `column`), plus `help` when there is one.
    pub fn to_json(&self, sources: &Sources) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("severity".into(), self.severity.to_string().into());
        m.insert("code".into(), self.code.clone().into());
        m.insert("message".into(), self.message.clone().into());
        m.insert(
            "field".into(),
            self.field
                .clone()
                .map_or(serde_json::Value::Null, Into::into),
        );
        match self.span {
            Some(sp) => {
                m.insert("file".into(), sources.name(sp.source).into());
                m.insert("line".into(), sp.line.into());
                m.insert("column".into(), sp.column.into());
            }
            None => {
                m.insert("file".into(), serde_json::Value::Null);
                m.insert("line".into(), serde_json::Value::Null);
                m.insert("column".into(), serde_json::Value::Null);
            }
        }
        if let Some(h) = &self.help {
            m.insert("help".into(), h.clone().into());
        }
        if let Some(s) = &self.suggestion {
            m.insert("suggestion".into(), s.clone().into());
        }
        serde_json::Value::Object(m)
    }
}

/// Whether any diagnostic is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

/// Render diagnostics for a terminal: a header line, the source snippet with a caret,
/// and the help. `color` adds ANSI styles (the CLI turns it off for `NO_COLOR` or a pipe).
///
/// Each snippet is cut from its file first ([`excerpt`]): the lines the span covers, or,
/// when those are longer than [`limits::MAX_SNIPPET_LINE_CHARS`] allows, a window of one
/// line around the caret. So rendering costs the diagnostics' count times a bounded
/// excerpt, never times the file's or the line's length.
pub fn render(diags: &[Diagnostic], sources: &Sources, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diags {
        let file = d
            .span
            .and_then(|sp| sources.get(sp.source).map(|f| (sp, f)));
        match file {
            Some((sp, f)) => {
                let ex = excerpt(&f.text, sp);
                let text = renderer.render(&report(d, Some((&ex, f.name.as_str()))));
                match ex.cropped {
                    // The renderer would count the column from the window's start.
                    true => out.push_str(&with_header(&text, &f.name, sp)),
                    false => out.push_str(&text),
                }
            }
            None => out.push_str(&renderer.render(&report(d, None))),
        }
        out.push_str("\n\n");
    }
    out
}

fn level(sev: Severity) -> Level<'static> {
    match sev {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Note => Level::NOTE,
    }
}

/// The part of a file a snippet shows, and where the span lies in it.
#[derive(Debug, PartialEq, Eq)]
struct Excerpt<'t> {
    text: std::borrow::Cow<'t, str>,
    /// The 1-based line the excerpt starts at.
    line: usize,
    /// The span, as byte offsets into `text` (at least one character).
    start: usize,
    end: usize,
    /// A window of one long line: `...` marks the cuts, and the header's column is not
    /// the window's.
    cropped: bool,
}

/// Bytes of whole lines shown under one diagnostic, at most.
const MAX_EXCERPT_BYTES: usize = 16 * 1024;

/// The whole lines `sp` covers when they are short enough, else a window around the
/// caret on its first line. Scans at most [`MAX_EXCERPT_BYTES`] either side of the span.
fn excerpt(text: &str, sp: Span) -> Excerpt<'_> {
    let start = floor_char_boundary(text, sp.offset.min(text.len()));
    // Point at at least one character so the caret shows.
    let end = floor_char_boundary(text, (start + sp.len.max(1)).min(text.len())).max(start);
    let line = sp.line.max(1) as usize;
    let back = floor_char_boundary(text, start.saturating_sub(MAX_EXCERPT_BYTES));
    let line_start = text[back..start].rfind('\n').map(|i| back + i + 1);
    let ahead = floor_char_boundary(text, end.saturating_add(MAX_EXCERPT_BYTES).min(text.len()));
    let line_end = match text[end..ahead].find('\n') {
        Some(i) => Some(end + i),
        None if ahead == text.len() => Some(text.len()),
        None => None,
    };
    let line_start = line_start.or((back == 0).then_some(0));
    if let (Some(a), Some(b)) = (line_start, line_end)
        && b - a <= MAX_EXCERPT_BYTES
        && text[a..b].split('\n').all(|l| {
            l.len() <= limits::MAX_SNIPPET_LINE_CHARS
                || l.chars().count() <= limits::MAX_SNIPPET_LINE_CHARS
        })
    {
        return Excerpt {
            text: std::borrow::Cow::Borrowed(&text[a..b]),
            line,
            start: start - a,
            end: end - a,
            cropped: false,
        };
    }
    // A window of the caret's line: a third before the caret, the rest after.
    let before = limits::MAX_SNIPPET_LINE_CHARS / 3;
    let after = limits::MAX_SNIPPET_LINE_CHARS - before;
    let floor = line_start.unwrap_or(back);
    let mut w_start = start;
    for (n, (i, c)) in text[floor..start].char_indices().rev().enumerate() {
        if n >= before || c == '\n' {
            break;
        }
        w_start = floor + i;
    }
    let line_stop = text[start..ahead].find('\n').map_or(ahead, |i| start + i);
    let w_end = match text[start..line_stop].char_indices().nth(after) {
        Some((i, _)) => start + i,
        None => line_stop,
    };
    let left = if w_start > floor || line_start.is_none() {
        "..."
    } else {
        ""
    };
    let right = if w_end < line_stop || line_end.is_none() && w_end == ahead {
        "..."
    } else {
        ""
    };
    let window = format!("{left}{}{right}", &text[w_start..w_end]);
    let a = start - w_start + left.len();
    let b = (end.min(w_end) - w_start + left.len()).max(a);
    let b = if b == a {
        // Still one character under the caret (or the `...` after it).
        window[a..].chars().next().map_or(a, |c| a + c.len_utf8())
    } else {
        b
    };
    Excerpt {
        text: std::borrow::Cow::Owned(window),
        line,
        start: a,
        end: b,
        cropped: true,
    }
}

/// A rendering without a path, given the ` --> file:line:column` header the renderer
/// would have printed (its arrow indented as wide as the line number).
fn with_header(rendered: &str, name: &str, sp: Span) -> String {
    let digits = sp.line.max(1).to_string().len();
    let header = format!("{:digits$}--> {name}:{}:{}", "", sp.line, sp.column);
    let mut out = String::with_capacity(rendered.len() + header.len() + 1);
    let mut placed = false;
    for (i, l) in rendered.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // The header goes before the first gutter line, as in a rendering with a path.
        if !placed && i > 0 && l.trim_start().starts_with('|') {
            out.push_str(&header);
            out.push('\n');
            placed = true;
        }
        out.push_str(l);
    }
    out
}

fn report<'a>(d: &'a Diagnostic, snippet: Option<(&'a Excerpt<'a>, &'a str)>) -> Vec<Group<'a>> {
    let title = level(d.severity)
        .primary_title(d.message.as_str())
        .id(d.code.as_str());
    let mut groups = Vec::new();
    match snippet {
        Some((ex, name)) => {
            let label = d.label.as_deref().or(d.field.as_deref());
            let mut ann = AnnotationKind::Primary.span(ex.start..ex.end);
            if let Some(l) = label {
                ann = ann.label(l);
            }
            let path = (!ex.cropped).then_some(name);
            groups.push(
                title.element(
                    Snippet::source(ex.text.as_ref())
                        .line_start(ex.line)
                        .path(path)
                        .annotation(ann),
                ),
            );
            match (&d.suggestion, &d.help) {
                (Some(sugg), help) if !ex.cropped => {
                    let help = help.as_deref().unwrap_or("did you mean");
                    groups.push(
                        Level::HELP.secondary_title(help).element(
                            Snippet::source(ex.text.as_ref())
                                .line_start(ex.line)
                                .path(path)
                                .patch(Patch::new(ex.start..ex.end, sugg.as_str())),
                        ),
                    );
                }
                (_, Some(h)) => {
                    groups.push(Group::with_title(Level::HELP.secondary_title(h.as_str())));
                }
                (Some(sugg), None) => {
                    groups.push(Group::with_title(
                        Level::HELP.secondary_title(format!("did you mean `{sugg}`?")),
                    ));
                }
                (None, None) => {}
            }
        }
        None => {
            let mut g = Group::with_title(title);
            if let Some(h) = &d.help {
                g = g.element(Level::HELP.message(h.as_str()));
            }
            groups.push(g);
        }
    }
    groups
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceId;

    fn span(text: &str, offset: usize, len: usize) -> Span {
        let line = text[..offset].matches('\n').count() as u32 + 1;
        let col = text[..offset]
            .rsplit('\n')
            .next()
            .map_or(0, |l| l.chars().count()) as u32
            + 1;
        Span {
            source: SourceId(0),
            offset,
            len,
            line,
            column: col,
        }
    }

    #[test]
    fn short_lines_are_shown_whole() {
        let text = "a: 1\nkey: value\nc: 3\n";
        let ex = excerpt(text, span(text, 10, 5));
        assert_eq!(ex.text, "key: value");
        assert_eq!((ex.line, ex.start, ex.end, ex.cropped), (2, 5, 10, false));
    }

    #[test]
    fn a_long_line_is_shown_around_the_caret() {
        let text = format!("a: {}X{}\nb: 2\n", "x".repeat(3_000_000), "y".repeat(100));
        let at = 3 + 3_000_000;
        let ex = excerpt(&text, span(&text, at, 1));
        assert!(ex.cropped);
        assert!(
            ex.text.len() <= limits::MAX_SNIPPET_LINE_CHARS + 6,
            "{}",
            ex.text.len()
        );
        assert_eq!(&ex.text[ex.start..ex.end], "X");
        assert!(ex.text.starts_with("...x"));
        assert!(ex.text.ends_with('y'));
    }

    #[test]
    fn cropped_snippets_keep_the_real_line_and_column() {
        let text = format!("kind: Service\nmetadata:\n  name: {}\n", "n".repeat(10_000));
        let mut sources = Sources::new();
        sources.add("f.yaml", text.clone());
        let d = Diagnostic::error("X", "bad").at(span(&text, text.len() - 2, 1));
        let out = render(&[d], &sources, false);
        assert!(out.contains("\n --> f.yaml:3:10008\n"), "{out}");
        assert!(out.lines().all(|l| l.len() < 400), "{out}");
        // The same diagnostic as a whole rendering would have it, line number in the gutter.
        assert!(out.contains("3 | ..."), "{out}");
    }

    #[test]
    fn many_errors_on_one_huge_line_each_show_their_own_place() {
        // 4,000 errors on one 3.6 MB line (it took 153 s when every snippet held the line).
        let text = "v".repeat(3_600_000);
        let mut sources = Sources::new();
        sources.add("f.yaml", text.clone());
        let diags: Vec<Diagnostic> = (0..4_000)
            .map(|i| Diagnostic::error("X", "bad").at(span(&text, i * 900, 3)))
            .collect();
        let out = render(&diags, &sources, false);
        for i in [0, 1, 1234, 3999] {
            assert!(
                out.contains(&format!(" --> f.yaml:1:{}\n", i * 900 + 1)),
                "{i}"
            );
        }
        assert!(
            out.lines()
                .all(|l| l.len() <= limits::MAX_SNIPPET_LINE_CHARS + 16)
        );
    }
}
