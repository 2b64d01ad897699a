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
    let (fleet, mut warnings) = match with_file_checks(src.compile_to_write(), Some(&out)) {
        Ok(ok) => ok,
        Err(diags) => return refuse(src, &diags, format),
    };
    let files = render::render(&fleet);
    let spec_name = Path::new(&src.name)
        .file_name()
        .map_or("homelab.toml".into(), |n| n.to_string_lossy().into_owned());
    let options = output::Options {
        force,
        spec_dir: src.dir.as_deref(),
    };
    let write = output::write_tree(&out, &files, &spec_name, options);
    // A refusal to overwrite hand edits is a diagnostic, listed and counted
    // with the warnings; the other outcomes print them first.
    if !matches!(&write, Err(output::WriteError::Edited(_))) {
        print::diagnostics(src, &warnings, format);
    }
    match write {
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
            diagnostic::merge(&mut warnings, vec![output::edited_by_hand(&paths)]);
            refuse(src, &warnings, format)
        }
        Err(output::WriteError::Symlinks(paths)) => {
            eprintln!("error: paths the build writes are symlinks or lie below one:");
            for p in &paths {
                eprintln!("  {}", p.display());
            }
            eprintln!(
                "help: homelab never writes through a symlink; replace the link with the real folder or file, then build again"
            );
            eprintln!("nothing was written");
            ExitCode::from(1)
        }
        Err(output::WriteError::Special(found)) => {
            eprintln!("error: the output folder holds files homelab does not read or copy:");
            for (p, what) in &found {
                eprintln!("  {}: {what}", p.display());
            }
            eprintln!(
                "help: only regular files, folders and symlinks belong in the flake folder; move these out of it, then build again"
            );
            eprintln!("nothing was written");
            ExitCode::from(1)
        }
        Err(e @ output::WriteError::NotOurs(_)) => {
            eprintln!("error: {e}");
            eprintln!(
                "help: choose an empty or new folder with `--out`, or run `homelab build --force` to take this one over (files homelab does not generate are kept)"
            );
            eprintln!("nothing was written");
            ExitCode::from(1)
        }
        Err(e @ output::WriteError::Refused { .. }) => {
            eprintln!("error: {e}");
            eprintln!("nothing was written");
            ExitCode::from(1)
        }
        Err(e) => fail(e),
    }
}

/// Prints why nothing was written; exit status 1.
fn refuse(src: &Source, diags: &[Diagnostic], format: Format) -> ExitCode {
    print::diagnostics(src, diags, format);
    eprintln!("nothing was written");
    ExitCode::from(1)
}
