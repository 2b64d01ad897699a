//! `homelab build`: check, then write the flake tree atomically.

use crate::cli::Format;
use crate::commands::check::with_file_checks;
use crate::print::{self, fail};
use crate::source::{Source, default_flake};
use compile::diagnostic::{self, Diagnostic};
use compile::render;
use operate::flake_tree as output;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(src: &Source, out: Option<PathBuf>, force: bool, format: Format) -> ExitCode {
    let out = out.unwrap_or_else(|| default_flake(src).unwrap_or_else(|| PathBuf::from("flake")));
    let (fleet, mut diags) = match with_file_checks(compile::compile(&src.text), Some(&out)) {
        Ok(ok) => ok,
        Err(diags) => return refuse(src, &diags, format),
    };
    let files = render::render(&fleet);
    let spec_name = Path::new(&src.name)
        .file_name()
        .map_or("homelab.toml".into(), |n| n.to_string_lossy().into_owned());
    // The warnings are printed with the outcome of the write, so that a
    // refusal is counted and listed with them.
    match output::write_tree(&out, &files, &spec_name, force) {
        Ok(s) => {
            print::diagnostics(src, &diags, format);
            let summary = format!(
                "wrote {}: {} created, {} updated, {} unchanged, {} removed",
                out.display(),
                s.created.len(),
                s.updated.len(),
                s.unchanged.len(),
                s.removed.len()
            );
            if format == Format::Json {
                eprintln!("{summary}");
            } else {
                println!("{summary}");
            }
            ExitCode::SUCCESS
        }
        Err(output::WriteError::Edited(paths)) => {
            diagnostic::merge(&mut diags, vec![output::edited_by_hand(&paths)]);
            refuse(src, &diags, format)
        }
        Err(e) => {
            print::diagnostics(src, &diags, format);
            fail(e)
        }
    }
}

/// Prints why nothing was written; exit status 1.
fn refuse(src: &Source, diags: &[Diagnostic], format: Format) -> ExitCode {
    print::diagnostics(src, diags, format);
    eprintln!("nothing was written");
    ExitCode::from(1)
}
