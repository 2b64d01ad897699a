//! The table of diagnostic codes, the sources that raise them and the
//! pages that document them must agree: a code missing from `docs/`, a
//! documented code nothing raises, or a code raised but not in the table
//! fails here.

// Tests read the repository; the library may not (clippy.toml).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use compile::diagnostic::rules::{Level, RULES, Rule, lookup};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn doc(page: &str) -> String {
    std::fs::read_to_string(repo().join("docs").join(page))
        .unwrap_or_else(|e| panic!("docs/{page}: {e}"))
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces
/// become hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The text of the section a `page#anchor` names: from its heading to the
/// next heading of the same or a higher level.
fn section(text: &str, anchor: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with('#') && slug(l) == anchor)?;
    let level = lines[start].chars().take_while(|c| *c == '#').count();
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with('#') && l.chars().take_while(|c| *c == '#').count() <= level)
        .map_or(lines.len(), |n| start + 1 + n);
    Some(lines[start..end].join("\n"))
}

/// The words between backticks in `text`.
fn ticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

#[test]
fn every_code_is_documented_where_the_table_says() {
    let mut missing = Vec::new();
    for r in RULES {
        let (page, anchor) = r.doc.split_once('#').expect("doc is page#anchor");
        match section(&doc(page), anchor) {
            Some(text) if ticked(&text).contains(&r.code) => {}
            Some(_) => missing.push(format!("`{}` is not named in docs/{}", r.code, r.doc)),
            None => missing.push(format!("docs/{} has no such heading (`{}`)", r.doc, r.code)),
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// The codes a page documents: in `rules.md` the headings of rules, in
/// `diagnostics.md` the first column of its tables.
fn documented() -> BTreeSet<String> {
    let rules = doc("rules.md");
    let headings = rules.lines().filter(|l| l.starts_with("### "));
    let diagnostics = doc("diagnostics.md");
    let rows = diagnostics
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next());
    headings
        .flat_map(|h| {
            ticked(h)
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .chain(rows.map(str::to_string))
        .collect()
}

#[test]
fn every_documented_code_is_in_the_table() {
    let unknown: Vec<String> = documented()
        .into_iter()
        .filter(|c| lookup(c).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "documented, but no diagnostic has the code: {unknown:?}"
    );
}

/// The severity and silenceability a `rules.md` heading states for a
/// code: the words after it, up to the next code.
fn stated(heading: &str, code: &str) -> (bool, bool, bool) {
    let after = heading.split(&format!("`{code}`")).nth(1).unwrap_or("");
    let words = after.split('`').next().unwrap_or("");
    (
        words.contains("error"),
        words.contains("warning"),
        words.contains("silenceable"),
    )
}

#[test]
fn rule_headings_state_the_level_and_silencing_of_the_table() {
    let rules = doc("rules.md");
    let mut wrong = Vec::new();
    for heading in rules.lines().filter(|l| l.starts_with("### ")) {
        for code in ticked(heading) {
            let Some(r) = lookup(code) else { continue };
            let level = match r.level {
                Level::Error => (true, false),
                Level::Warning => (false, true),
                Level::ErrorOrWarning => (true, true),
            };
            let (error, warning, silenceable) = stated(heading, code);
            if (error, warning) != level || silenceable != r.silenceable {
                wrong.push(format!("{heading:?} disagrees with {r:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The library and binary sources of the workspace, without the table
/// itself and without unit tests (which raise made-up codes on purpose).
fn workspace_sources() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for krate in ["compile", "operate", "homelab"] {
        sources(&repo().join("crates").join(krate).join("src"), &mut files);
    }
    files
        .into_iter()
        .filter(|p| !p.ends_with("diagnostic/rules.rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let library = text.split("#[cfg(test)]").next().unwrap_or("");
            (p, library.to_string())
        })
        .collect()
}

#[test]
fn every_code_in_the_table_is_raised_somewhere() {
    let sources = workspace_sources();
    let unused: Vec<&Rule> = RULES
        .iter()
        .filter(|r| {
            let literal = format!("\"{}\"", r.code);
            !sources.iter().any(|(_, text)| text.contains(&literal))
        })
        .collect();
    assert!(
        unused.is_empty(),
        "in the table, but no source raises them: {unused:?}"
    );
}

/// The string literals passed first to `Diagnostic::error(` or
/// `Diagnostic::warning(`.
fn raised_codes(text: &str) -> Vec<&str> {
    let mut codes = Vec::new();
    for ctor in ["Diagnostic::error(", "Diagnostic::warning("] {
        for (at, _) in text.match_indices(ctor) {
            let rest = text[at + ctor.len()..].trim_start();
            if let Some(literal) = rest.strip_prefix('"') {
                codes.push(literal.split('"').next().unwrap_or(""));
            }
        }
    }
    codes
}

#[test]
fn every_code_raised_is_in_the_table() {
    let mut unknown = Vec::new();
    let mut seen = 0;
    for (path, text) in workspace_sources() {
        for code in raised_codes(&text) {
            seen += 1;
            if lookup(code).is_none() {
                unknown.push(format!("{}: `{code}`", path.display()));
            }
        }
    }
    assert!(seen > 40, "found only {seen} diagnostics in the sources");
    assert!(unknown.is_empty(), "not in the table: {unknown:?}");
}

#[test]
fn the_scanners_see_what_they_look_for() {
    assert_eq!(
        raised_codes("Diagnostic::error(\n  \"port-clash\", x); Diagnostic::warning(code, y)"),
        ["port-clash"]
    );
    assert_eq!(
        slug("### `ram-high` — warning, `ram-over` — error"),
        "ram-high--warning-ram-over--error"
    );
    assert_eq!(
        stated("### `ram-high` — warning, `ram-over` — error", "ram-over"),
        (true, false, false)
    );
}
