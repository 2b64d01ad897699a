//! `homelab show TABLE`: a table computed from the spec.

use crate::cli::Format;
use crate::print;
use crate::source::Source;
use std::process::ExitCode;

pub fn run(src: &Source, table: &str, json: bool) -> ExitCode {
    // The tables need only a resolved fleet: with policy errors they still
    // print, so the table can show what the errors are about.
    let analysis = src.analyze();
    if !json || analysis.fleet.is_none() || analysis.has_errors() {
        print::diagnostics(src, &analysis.diagnostics, Format::Human);
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
