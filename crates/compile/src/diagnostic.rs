//! One diagnostic type for every stage, and its two renderers.
//!
//! Every problem the tool finds in a spec (a TOML syntax error, an unknown
//! key, a port clash) becomes a [`Diagnostic`] with a stable code, a span
//! into the spec, optional secondary spans ("first used here"), and a help
//! line saying what to do. The human renderer draws the source line with a
//! caret; the JSON renderer gives the same facts to scripts.
//!
//! A few problems are about files other than the spec (a generated file
//! edited by hand): those diagnostics have no position and name the files
//! instead. Every list of diagnostics is put in one order by [`sort`].

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term;
use serde::Serialize;
use std::ops::Range;

pub mod rules;

/// A byte range in the spec source.
pub(crate) type Span = Range<usize>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// A finding the spec silenced, with its reason; listed, never fatal.
    Silenced,
}

/// A span with a short note, shown under the source line.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub span: Span,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Stable, documented identifier, e.g. `unknown-key`.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub primary: Option<Label>,
    pub(crate) secondary: Vec<Label>,
    pub help: Option<String>,
    /// The service instance a policy finding is about, so the spec can
    /// silence the rule for that service.
    pub subject: Option<String>,
    /// Files other than the spec the diagnostic is about, such as generated
    /// files edited by hand; a diagnostic about them has no position.
    pub files: Vec<String>,
}

impl Diagnostic {
    /// An error with a code from [`rules::RULES`].
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        debug_assert_registered(code, Severity::Error);
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            help: None,
            subject: None,
            files: Vec::new(),
        }
    }

    /// A warning with a code from [`rules::RULES`].
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        debug_assert_registered(code, Severity::Warning);
        Diagnostic {
            code,
            severity: Severity::Warning,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            help: None,
            subject: None,
            files: Vec::new(),
        }
    }

    pub fn at(mut self, span: Span, note: impl Into<String>) -> Self {
        self.primary = Some(Label {
            span,
            note: note.into(),
        });
        self
    }

    pub fn also(mut self, span: Span, note: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            note: note.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn about(mut self, instance: &str) -> Self {
        self.subject = Some(instance.to_string());
        self
    }

    /// Names a file outside the spec the diagnostic is about.
    pub fn file(mut self, path: impl Into<String>) -> Self {
        self.files.push(path.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The one order of diagnostics, wherever they come from: by position in
/// the spec, errors before warnings at one place, and those about no place
/// in the spec (files written by `build`) last. The sort is stable: at one
/// place and severity, stages keep the order they found things in.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by_key(|d| {
        (
            d.primary.is_none(),
            d.primary.as_ref().map(|p| p.span.start),
            d.severity,
        )
    });
}

/// Adds `more` to `diags`, keeping the order of [`sort`].
pub fn merge(diags: &mut Vec<Diagnostic>, more: Vec<Diagnostic>) {
    diags.extend(more);
    sort(diags);
}

/// A code must be in the table, at the severity it is raised with: the
/// table is what documents it. Checked in debug builds, which every test
/// and the fuzzer run.
fn debug_assert_registered(code: &str, severity: Severity) {
    debug_assert!(
        rules::lookup(code).is_some_and(|r| r.level.allows(severity)),
        "diagnostic code `{code}` is not in diagnostic::rules::RULES as {severity:?}"
    );
}

/// Suggests the closest of `candidates` to `word`, if any is close enough
/// to be a plausible typo.
pub(crate) fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Formats a list of names for a message: `a`, `b` and `c`.
pub(crate) fn name_list<S: AsRef<str>>(names: &[S]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{}`", n.as_ref())).collect();
    match quoted.len() {
        0 => "nothing".to_string(),
        1 => quoted[0].clone(),
        n => format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// The spec source a diagnostic points into.
pub struct SourceFile<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// Renders diagnostics the way a compiler does, with the source line and a
/// caret under the offending span.
///
/// Control characters from the spec (ESC, BEL, NUL…) are never printed as
/// they are: a terminal would act on them. In messages they appear as
/// escapes (`\u{1b}`), in the quoted source line as `?` (one per byte, so
/// the caret stays under the right column).
pub fn render_human(diags: &[Diagnostic], source: &SourceFile, color: bool) -> String {
    let text = inert_source(source.text);
    let file = SimpleFile::new(printable(source.name), text.as_str());
    let config = term::Config::default();
    let mut buffer = if color {
        term::termcolor::Buffer::ansi()
    } else {
        term::termcolor::Buffer::no_color()
    };
    for diag in diags {
        let severity = match diag.severity {
            Severity::Error => cs::Severity::Error,
            Severity::Warning => cs::Severity::Warning,
            Severity::Silenced => cs::Severity::Note,
        };
        let mut labels = Vec::new();
        if let Some(p) = &diag.primary {
            labels.push(
                cs::Label::primary((), clamp(&p.span, source.text))
                    .with_message(printable(&p.note)),
            );
        }
        for s in &diag.secondary {
            labels.push(
                cs::Label::secondary((), clamp(&s.span, source.text))
                    .with_message(printable(&s.note)),
            );
        }
        let notes = diag
            .files
            .iter()
            .map(|f| printable(f))
            .chain(
                diag.help
                    .iter()
                    .map(|help| format!("help: {}", printable(help))),
            )
            .collect();
        let out = cs::Diagnostic::new(severity)
            .with_code(diag.code)
            .with_message(printable(&diag.message))
            .with_labels(labels)
            .with_notes(notes);
        term::emit_to_write_style(&mut buffer, &config, &file, &out)
            .expect("writing to a memory buffer cannot fail");
    }
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

/// Text with every control character but newline and tab written as an
/// escape, safe to print to a terminal.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The source with each control character (but line breaks and tab)
/// replaced by `?` per byte, so every span still points at the same place.
fn inert_source(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

fn clamp(span: &Span, text: &str) -> Span {
    let end = span.end.min(text.len());
    span.start.min(end)..end
}

/// 1-based line and column of a byte offset (columns count characters).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_col(offset)
}

/// Where each line of a text starts, so that positions of many
/// diagnostics cost a binary search each rather than a scan of the text.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// 1-based line and column of a byte offset (columns count characters).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let line = self.starts.partition_point(|&s| s <= offset);
        let line_start = self.starts[line - 1];
        let column = self.text[line_start..offset].chars().count() + 1;
        (line, column)
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[derive(Serialize)]
struct JsonPosition {
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

#[derive(Serialize)]
struct JsonLabel {
    #[serde(flatten)]
    position: JsonPosition,
    note: String,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: Severity,
    message: &'a str,
    file: &'a str,
    #[serde(flatten)]
    position: Option<JsonPosition>,
    note: Option<&'a str>,
    related: Vec<JsonLabel>,
    help: Option<&'a str>,
    /// Files other than `file` the diagnostic is about (then it has no
    /// position); absent when there are none.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    files: &'a [String],
}

fn position(lines: &LineIndex, span: &Span) -> JsonPosition {
    let (line, column) = lines.line_col(span.start);
    let (end_line, end_column) = lines.line_col(span.end);
    JsonPosition {
        line,
        column,
        end_line,
        end_column,
    }
}

/// Renders diagnostics as a JSON array, one object per diagnostic.
pub fn render_json(diags: &[Diagnostic], source: &SourceFile) -> String {
    let lines = LineIndex::new(source.text);
    let items: Vec<JsonDiagnostic> = diags
        .iter()
        .map(|d| JsonDiagnostic {
            code: d.code,
            severity: d.severity,
            message: &d.message,
            file: source.name,
            position: d.primary.as_ref().map(|p| position(&lines, &p.span)),
            note: d.primary.as_ref().map(|p| p.note.as_str()),
            related: d
                .secondary
                .iter()
                .map(|s| JsonLabel {
                    position: position(&lines, &s.span),
                    note: s.note.clone(),
                })
                .collect(),
            help: d.help.as_deref(),
            files: &d.files,
        })
        .collect();
    serde_json::to_string_pretty(&items).expect("diagnostics always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_the_spec_never_reach_the_terminal() {
        let text = "name = \"a\u{1b}[2J\u{7}b\" # \u{1b}]0;owned\u{7}\n";
        let d = Diagnostic::error("invalid-name", "`a\u{1b}[2J\u{7}\u{0}b` is bad")
            .at(7..16, "here\u{1b}")
            .help("fix\u{9b}31m it");
        let out = render_human(
            &[d],
            &SourceFile {
                name: "homelab.toml",
                text,
            },
            false,
        );
        for c in ['\u{1b}', '\u{7}', '\u{0}', '\u{9b}'] {
            assert!(!out.contains(c), "{c:?} printed raw:\n{out}");
        }
        assert!(out.contains("`a\\u{1b}[2J\\u{7}\\u{0}b` is bad"), "{out}");
        assert!(out.contains("fix\\u{9b}31m it"), "{out}");
        assert!(out.contains("?[2J?b"), "{out}");
    }

    #[test]
    fn line_col_counts_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 9), (2, 3));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "is not in diagnostic::rules::RULES")]
    fn a_code_outside_the_table_is_a_defect() {
        let _ = Diagnostic::error("no-such-code", "never raised");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "is not in diagnostic::rules::RULES as Error")]
    fn a_code_is_raised_at_its_level() {
        let _ = Diagnostic::error("no-replica", "a warning by its table row");
    }

    fn at(code: &'static str, start: usize) -> Diagnostic {
        Diagnostic::warning(code, code).at(start..start + 1, "here")
    }

    #[test]
    fn one_order_position_then_severity_then_no_position() {
        let mut diags = vec![
            Diagnostic::error("edited-by-hand", "files").file("a.nix"),
            at("no-replica", 9),
            Diagnostic::error("port-clash", "b").at(9..10, "here"),
            at("no-snapshots", 2),
            at("recordsize", 9),
        ];
        sort(&mut diags);
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [
                "no-snapshots",
                "port-clash",
                "no-replica",
                "recordsize",
                "edited-by-hand"
            ]
        );
    }

    #[test]
    fn a_diagnostic_about_files_names_them_in_both_renderings() {
        let d = Diagnostic::error("edited-by-hand", "generated files were edited by hand")
            .file("flake/flake.nix")
            .help("build again");
        let source = SourceFile {
            name: "homelab.toml",
            text: "",
        };
        assert_eq!(
            render_human(std::slice::from_ref(&d), &source, false),
            "error[edited-by-hand]: generated files were edited by hand\n = flake/flake.nix\n = help: build again\n\n"
        );
        let json: serde_json::Value = serde_json::from_str(&render_json(&[d], &source)).unwrap();
        assert_eq!(json[0]["files"], serde_json::json!(["flake/flake.nix"]));
        assert_eq!(json[0]["file"], "homelab.toml");
        assert!(json[0].get("line").is_none());
    }

    #[test]
    fn suggestion_needs_similarity() {
        assert_eq!(
            did_you_mean("grafanna", ["grafana", "loki"]),
            Some("grafana")
        );
        assert_eq!(did_you_mean("zzz", ["grafana", "loki"]), None);
    }
}
