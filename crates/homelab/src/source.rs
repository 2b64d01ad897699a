//! The spec a command works on: a file next to its flake, or an example
//! built into the binary.

use crate::cli::Input;
use crate::print::fail;
use compile::check::placeholders;
use compile::diagnostic::Diagnostic;
use compile::examples;
use compile::fleet::Fleet;
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

/// The spec through the pipeline, for a command that reads it (`check`,
/// `show`, `report`) or writes from it (`build`, `secrets`). A built-in
/// example is a demonstration: its keys are its own, not placeholders of
/// the user's spec, so `placeholder` is not raised for it.
impl Source {
    fn is_example(&self) -> bool {
        self.path.is_none()
    }

    fn keep(&self, diags: &mut Vec<Diagnostic>) {
        if self.is_example() {
            diags.retain(|d| d.code != placeholders::CODE);
        }
    }

    pub fn analyze(&self) -> compile::Analysis {
        let mut analysis = compile::analyze(&self.text);
        self.keep(&mut analysis.diagnostics);
        analysis
    }

    pub fn compile(&self) -> Compiled {
        let mut compiled = compile::compile(&self.text);
        match &mut compiled {
            Ok((_, diags)) | Err(diags) => self.keep(diags),
        }
        compiled
    }

    /// As [`Source::compile`], with placeholders as errors.
    pub fn compile_to_write(&self) -> Compiled {
        if self.is_example() {
            return self.compile();
        }
        compile::compile_to_write(&self.text)
    }
}

type Compiled = Result<(Fleet, Vec<Diagnostic>), Vec<Diagnostic>>;
