//! The corpus of bad specs in `tests/bad-specs/`: each file says, in its
//! first lines, which diagnostics it must produce and where:
//!
//! ```toml
//! # expect: port-clash 17:8
//! # expect: no-replica 12:11 warning
//! # absent: missing-dependency
//! ```
//!
//! Every expected code must appear at exactly that line:column (1-based,
//! counting the comment lines) with that severity (error unless said), and
//! the spec must not compile when an error is expected; an `absent` code
//! must not appear at all (a follow-on error that would only repeat the
//! real one). No file may panic.

use compile::diagnostic::{Severity, line_col};
use std::path::Path;

struct Expect {
    code: String,
    line: usize,
    column: usize,
    severity: Severity,
}

fn expectations(text: &str, file: &str) -> Vec<Expect> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect:"))
        .map(|rest| {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            let (line, column) = parts
                .get(1)
                .and_then(|p| p.split_once(':'))
                .unwrap_or_else(|| panic!("{file}: `# expect: CODE LINE:COL [warning]`"));
            Expect {
                code: parts[0].to_string(),
                line: line.parse().unwrap(),
                column: column.parse().unwrap(),
                severity: match parts.get(2) {
                    Some(&"warning") => Severity::Warning,
                    Some(&"silenced") => Severity::Silenced,
                    _ => Severity::Error,
                },
            }
        })
        .collect()
}

#[test]
fn every_bad_spec_reports_what_it_must() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-specs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
    {
        count += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let expected = expectations(&text, &name);
        assert!(!expected.is_empty(), "{name} has no `# expect:` line");
        let result = std::panic::catch_unwind(|| compile::compile(&text));
        let Ok(result) = result else {
            failures.push(format!("{name}: panicked"));
            continue;
        };
        let diags = match result {
            Ok((_, warnings)) => {
                if expected.iter().any(|e| e.severity == Severity::Error) {
                    failures.push(format!("{name}: compiled, but an error was expected"));
                }
                warnings
            }
            Err(diags) => diags,
        };
        let found: Vec<(String, usize, usize, Severity)> = diags
            .iter()
            .map(|d| {
                let (l, c) = d
                    .primary
                    .as_ref()
                    .map_or((0, 0), |p| line_col(&text, p.span.start));
                (d.code.to_string(), l, c, d.severity)
            })
            .collect();
        for code in text.lines().filter_map(|l| l.strip_prefix("# absent:")) {
            if found.iter().any(|f| f.0 == code.trim()) {
                failures.push(format!(
                    "{name}: `{}` must not be reported: {found:?}",
                    code.trim()
                ));
            }
        }
        for e in &expected {
            if !found
                .iter()
                .any(|f| f.0 == e.code && f.1 == e.line && f.2 == e.column && f.3 == e.severity)
            {
                failures.push(format!(
                    "{name}: expected {:?} `{}` at {}:{}, found {:?}",
                    e.severity, e.code, e.line, e.column, found
                ));
            }
        }
    }
    assert!(
        count >= 40,
        "the corpus has {count} specs; it needs at least 40"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
