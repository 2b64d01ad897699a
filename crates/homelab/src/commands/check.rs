//! `homelab check`: the spec and the secret files next to it.

use crate::cli::Format;
use crate::print;
use crate::source::{Source, default_flake};
use compile::diagnostic::{self, Diagnostic};
use compile::fleet::Fleet;
use compile::spec::DataClass;
use std::path::Path;
use std::process::ExitCode;

/// The checks that read files next to the spec: the encrypted secrets of
/// the flake folder. Errors among them fail the command like spec errors.
pub fn with_file_checks(
    compiled: Result<(Fleet, Vec<Diagnostic>), Vec<Diagnostic>>,
    flake: Option<&Path>,
) -> Result<(Fleet, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (fleet, mut diags) = compiled?;
    if let Some(flake) = flake {
        diagnostic::merge(&mut diags, operate::secret_files::check(&fleet, flake));
    }
    if diags.iter().any(Diagnostic::is_error) {
        Err(diags)
    } else {
        Ok((fleet, diags))
    }
}

pub fn run(src: &Source, format: Format) -> ExitCode {
    // Before the first build there is no flake folder and nothing to read.
    let flake = default_flake(src).filter(|f| f.is_dir());
    match with_file_checks(src.compile(), flake.as_deref()) {
        Ok((fleet, warnings)) => {
            print::diagnostics(src, &warnings, format);
            if format == Format::Human {
                if let Some(note) = never_backed_up(&fleet) {
                    println!("{}: {note}", src.name);
                }
                println!(
                    "{}: ok — {} host(s), {} service(s)",
                    src.name,
                    fleet.hosts.len(),
                    fleet.instances.len()
                );
            }
            ExitCode::SUCCESS
        }
        Err(diags) => {
            print::diagnostics(src, &diags, format);
            ExitCode::from(1)
        }
    }
}

/// The plain datasets the spec declares disposable: never backed up. Said
/// here, and by `plan` when one is added, never by each backup run.
fn never_backed_up(fleet: &Fleet) -> Option<String> {
    let datasets: Vec<String> = fleet
        .hosts
        .iter()
        .flat_map(|h| {
            h.plain_data
                .iter()
                .filter(|p| p.dir.class == DataClass::Disposable)
                .map(move |p| format!("`{}` ({} on {})", p.name.value, p.dir.path, h.name()))
        })
        .collect();
    (!datasets.is_empty()).then(|| format!("disposable, never backed up: {}", datasets.join(", ")))
}
