//! `homelab build`: check, then write the flake tree atomically.

use crate::cli::Format;
use crate::commands::check::with_file_checks;
use crate::print::{self, fail};
use crate::source::{Source, default_flake};
use compile::render;
use operate::flake_tree as output;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(src: &Source, out: Option<PathBuf>, force: bool, format: Format) -> ExitCode {
    let out = out.unwrap_or_else(|| default_flake(src).unwrap_or_else(|| PathBuf::from("flake")));
    let (fleet, warnings) = match with_file_checks(compile::compile(&src.text), Some(&out)) {
        Ok(ok) => ok,
        Err(diags) => {
            print::diagnostics(src, &diags, format);
            eprintln!("nothing was written");
            return ExitCode::from(1);
        }
    };
    print::diagnostics(src, &warnings, format);
    let files = render::render(&fleet);
    let spec_name = Path::new(&src.name)
        .file_name()
        .map_or("homelab.toml".into(), |n| n.to_string_lossy().into_owned());
    match output::write_tree(&out, &files, &spec_name, force) {
        Ok(s) => {
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
            eprintln!("error: generated files were edited by hand:");
            for p in &paths {
                eprintln!("  {}", p.display());
            }
            eprintln!(
                "help: move your changes into the spec (or hosts/<host>/extra.nix), then build again;"
            );
            eprintln!("      or run `homelab build --force` to overwrite them");
            eprintln!("nothing was written");
            ExitCode::from(1)
        }
        Err(e) => fail(e),
    }
}
