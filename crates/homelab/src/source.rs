//! The spec a command works on: a file next to its flake, or an example
//! built into the binary.

use crate::cli::Input;
use crate::print::fail;
use compile::examples;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A spec to work on: its display name, text, path and folder (no path
/// nor folder for a built-in example).
pub struct Source {
    pub name: String,
    pub text: String,
    pub path: Option<PathBuf>,
    pub dir: Option<PathBuf>,
}

pub fn load(input: &Input) -> Result<Source, ExitCode> {
    if let Some(name) = &input.example {
        let Some(text) = examples::get(name) else {
            return Err(fail(format_args!(
                "there is no example `{name}`; examples: {}",
                examples::names().join(", ")
            )));
        };
        return Ok(Source {
            name: format!("examples/{name}/homelab.toml"),
            text: text.to_string(),
            path: None,
            dir: None,
        });
    }
    let path = &input.spec;
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Source {
            name: path.display().to_string(),
            text,
            path: Some(path.clone()),
            dir: Some(
                path.parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            ),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(fail(format_args!(
            "{} not found; run `homelab init` to create one, or try `--example frame1`",
            path.display()
        ))),
        Err(e) => Err(fail(format_args!("cannot read {}: {e}", path.display()))),
    }
}

/// The flake folder next to a spec file (none for a built-in example).
pub fn default_flake(src: &Source) -> Option<PathBuf> {
    src.dir.as_ref().map(|d| d.join("flake"))
}
