//! Printing for every command: diagnostics (human or JSON), counts, and
//! the plain `error:` line of a command that could not run.

use crate::cli::Format;
use crate::source::Source;
use compile::diagnostic::{Diagnostic, Severity, SourceFile, render_human, render_json};
use std::io::IsTerminal;
use std::process::ExitCode;

/// Whether to colour what goes to `stream`: never when `NO_COLOR` is set
/// (no-color.org), always when `CLICOLOR_FORCE` is set to anything but
/// `0` (for a pager, or a test), else when `stream` is a terminal.
pub fn color(stream: &impl IsTerminal) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("NO_COLOR") {
        return false;
    }
    if set("CLICOLOR_FORCE") && std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
        return true;
    }
    stream.is_terminal()
}

/// Prints `error: …` and returns exit status 2: the command could not run.
pub fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

pub fn diagnostics(src: &Source, diags: &[Diagnostic], format: Format) {
    let file = SourceFile {
        name: &src.name,
        text: &src.text,
    };
    match format {
        Format::Json => println!("{}", render_json(diags, &file)),
        Format::Human if !diags.is_empty() => {
            eprint!("{}", render_human(diags, &file, color(&std::io::stderr())));
            let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
            eprintln!(
                "{}: {}",
                src.name,
                counts(
                    count(Severity::Error),
                    count(Severity::Warning),
                    count(Severity::Silenced)
                )
            );
        }
        Format::Human => {}
    }
}

fn counts(errors: usize, warnings: usize, silenced: usize) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let mut out = format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    if silenced > 0 {
        out.push_str(&format!(", {silenced} silenced"));
    }
    out
}

/// `1 error, 2 warnings` for the counts of `diags`.
pub fn summary(diags: &[Diagnostic]) -> String {
    let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
    counts(
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Silenced),
    )
}

/// Prints a value as pretty JSON on stdout: the `--json` form of every
/// command.
pub fn json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("command output is plain data")
    );
}

/// Colour for a terminal that wants it: stdout is a terminal and
/// `NO_COLOR` is unset. Plain text in a pipe.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    on: bool,
}

impl Paint {
    pub fn stdout() -> Paint {
        Paint {
            on: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn good(self, text: &str) -> String {
        self.wrap("32", text)
    }

    pub fn bad(self, text: &str) -> String {
        self.wrap("1;31", text)
    }

    pub fn warn(self, text: &str) -> String {
        self.wrap("33", text)
    }

    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    /// Whether escapes are written (a terminal).
    pub fn on(self) -> bool {
        self.on
    }
}

/// Rows as aligned columns, two spaces apart; `style` colours a cell after
/// it is padded, so colour never shifts the columns.
pub fn columns(rows: &[Vec<String>], style: impl Fn(usize, usize, &str) -> String) -> Vec<String> {
    let widths: Vec<usize> = (0..rows.iter().map(Vec::len).max().unwrap_or(0))
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |v| v.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .enumerate()
        .map(|(r, row)| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, v)| {
                    let padded = if c + 1 == row.len() {
                        v.clone()
                    } else {
                        format!("{v:<w$}", w = widths[c])
                    };
                    style(r, c, &padded)
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

/// The spec compiled, or its diagnostics printed and exit status 2: a
/// command that acts on the homelab cannot run on a spec with errors.
pub fn fleet(src: &Source) -> Result<compile::fleet::Fleet, ExitCode> {
    match compile::compile(&src.text) {
        Ok((fleet, _warnings)) => Ok(fleet),
        Err(diags) => {
            diagnostics(src, &diags, Format::Human);
            eprintln!(
                "error: {} has errors; fix them first (`homelab check`)",
                src.name
            );
            Err(ExitCode::from(2))
        }
    }
}
