//! The generated files of two builds, side by side: which differ, and
//! their unified diff (`homelab plan --diff`). Only the files the tool
//! rewrites on every build are compared; the ones it writes once and
//! leaves to the owner (`hardware.nix`, `extra.nix`) never change on a
//! deploy. Texts are compared without the header `operate` writes above
//! them (it holds a hash of the body, so it differs whenever the body does).

use crate::render::{File, Owner};
use codespan_reporting::term::termcolor::{Buffer, Color, ColorSpec, WriteColor};
use similar::TextDiff;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    Added,
    Removed,
    Changed,
}

/// One generated file that differs, with both texts (empty for a side
/// that does not have it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileChange {
    pub path: String,
    pub status: FileStatus,
    #[serde(skip)]
    pub(crate) old: String,
    #[serde(skip)]
    pub(crate) new: String,
}

/// The generated files that differ from `old` to `new`: in the order of
/// `new`, then the files only `old` has.
pub fn files(old: &[File], new: &[File]) -> Vec<FileChange> {
    let tool = |f: &&File| f.owner == Owner::Tool;
    let mut out = Vec::new();
    for f in new.iter().filter(tool) {
        let text = f.text();
        match old.iter().filter(tool).find(|o| o.path == f.path) {
            None => out.push(FileChange {
                path: f.path.clone(),
                status: FileStatus::Added,
                old: String::new(),
                new: text,
            }),
            Some(o) => {
                let before = o.text();
                if before != text {
                    out.push(FileChange {
                        path: f.path.clone(),
                        status: FileStatus::Changed,
                        old: before,
                        new: text,
                    });
                }
            }
        }
    }
    for o in old.iter().filter(tool) {
        if !new.iter().filter(tool).any(|f| f.path == o.path) {
            out.push(FileChange {
                path: o.path.clone(),
                status: FileStatus::Removed,
                old: o.text(),
                new: String::new(),
            });
        }
    }
    out
}

/// The unified diff of every changed file (three lines of context),
/// `a/` the old build and `b/` the new; an added or removed file is
/// diffed against `/dev/null`, as git does. With `color`, removed lines
/// are red, added lines green and hunk headers cyan.
pub fn unified(changes: &[FileChange], color: bool) -> String {
    let mut text = String::new();
    for c in changes {
        let (a, b) = match c.status {
            FileStatus::Added => ("/dev/null".to_string(), format!("b/{}", c.path)),
            FileStatus::Removed => (format!("a/{}", c.path), "/dev/null".to_string()),
            FileStatus::Changed => (format!("a/{}", c.path), format!("b/{}", c.path)),
        };
        let diff = TextDiff::from_lines(c.old.as_str(), c.new.as_str());
        text.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&a, &b)
                .missing_newline_hint(true)
                .to_string(),
        );
    }
    if !color {
        return crate::diagnostic::printable(&text);
    }
    let mut out = Buffer::ansi();
    for line in text.lines() {
        let mut spec = ColorSpec::new();
        if line.starts_with("+++") || line.starts_with("---") {
            spec.set_bold(true);
        } else if line.starts_with('+') {
            spec.set_fg(Some(Color::Green));
        } else if line.starts_with('-') {
            spec.set_fg(Some(Color::Red));
        } else if line.starts_with("@@") {
            spec.set_fg(Some(Color::Cyan));
        }
        let line = crate::diagnostic::printable(line);
        if spec.is_none() {
            writeln!(out, "{line}").expect("a memory buffer");
        } else {
            out.set_color(&spec).expect("a memory buffer");
            write!(out, "{line}").expect("a memory buffer");
            out.reset().expect("a memory buffer");
            writeln!(out).expect("a memory buffer");
        }
    }
    String::from_utf8_lossy(out.as_slice()).into_owned()
}
