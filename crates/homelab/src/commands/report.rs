//! `homelab report`: one self-contained HTML page about the homelab.

use crate::commands::show::exit_status;
use crate::print::{fail, summary};
use crate::source::{Source, default_flake};
use operate::flake_tree as output;
use std::path::Path;
use std::process::ExitCode;

pub fn run(src: &Source, out: &Path) -> ExitCode {
    let mut analysis = compile::analyze(&src.text);
    if let (Some(fleet), Some(flake)) = (&analysis.fleet, default_flake(src).filter(|f| f.is_dir()))
    {
        let found = operate::secret_files::check(fleet, &flake);
        analysis.add(found);
    }
    let page = compile::report::html(
        analysis.fleet.as_ref(),
        &analysis.diagnostics,
        &src.text,
        &src.name,
    );
    if let Err(e) = operate::fs_guard::write_file(out, page.as_bytes()) {
        return fail(format_args!("cannot write {}: {e}", out.display()));
    }
    println!(
        "wrote {} ({})",
        out.display(),
        summary(&analysis.diagnostics)
    );
    exit_status(&analysis)
}
