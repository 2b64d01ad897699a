//! `homelab show TABLE`: a table computed from the spec, after the
//! spec's errors (its warnings are counted; `check` lists them).

use crate::cli::Format;
use crate::print;
use crate::source::Source;
use std::process::ExitCode;

pub fn run(src: &Source, table: &str, json: bool) -> ExitCode {
    // The tables need only a resolved fleet: with policy errors they still
    // print, so the table can show what the errors are about.
    // Only errors are printed in full (the table may be wrong where they
    // are); warnings are `check`'s to list, so `show` names how many there
    // are in one line instead of repeating them before every table.
    let analysis = src.analyze();
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    print::diagnostics(src, &errors, Format::Human);
    let warnings = analysis
        .diagnostics
        .iter()
        .filter(|d| d.severity == compile::diagnostic::Severity::Warning)
        .count();
    if warnings > 0 && !json {
        eprintln!(
            "{}: {warnings} warning{} (`homelab check` lists them)",
            src.name,
            if warnings == 1 { "" } else { "s" }
        );
    }
    let Some(fleet) = &analysis.fleet else {
        return ExitCode::from(1);
    };
    let table = compile::show::table(fleet, table).expect("clap allows only known tables");
    if json {
        print::json(&table.json());
    } else {
        print!("{}", table.text());
    }
    exit_status(&analysis)
}

pub fn exit_status(analysis: &compile::Analysis) -> ExitCode {
    if analysis.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
