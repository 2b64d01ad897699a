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
