//! `homelab`: one `homelab.toml` becomes a checked, complete NixOS flake.
//!
//! The pipeline, one folder per stage: [`spec`] (parse) → [`catalog`]
//! (what each service needs) → [`fleet`] (the resolved model) → [`check`]
//! (policy) → [`render`] (Nix); [`change`] compares two fleets for
//! `homelab plan`. Nothing here touches the world: the
//! `operate` crate writes the tree and runs tools on hosts.

pub mod catalog;
pub mod change;
pub mod check;
pub mod deploy;
pub mod diagnostic;
pub mod fleet;
pub mod nix;
pub mod plan;
pub mod probes;
pub mod release;
pub mod render;
pub mod report;
pub mod show;
pub mod spec;

pub mod examples;

use diagnostic::Diagnostic;

/// What the front half of the pipeline learned about a spec: the resolved
/// fleet when the spec parsed and resolved (policy errors leave it intact, so
/// tables and reports can show what the errors are about), and every
/// diagnostic in the order of [`diagnostic::sort`].
pub struct Analysis {
    pub fleet: Option<fleet::Fleet>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Adds findings of later checks (the files next to the spec), in order.
    pub fn add(&mut self, more: Vec<Diagnostic>) {
        diagnostic::merge(&mut self.diagnostics, more);
    }
}

/// Parse, resolve and check, keeping the fleet whatever the policy says.
pub fn analyze(text: &str) -> Analysis {
    let resolved = spec::parse(text).and_then(|spec| fleet::resolve(&spec));
    let (fleet, mut diagnostics) = match resolved {
        Ok(fleet) => {
            let found = check::check(&fleet);
            (Some(fleet), found)
        }
        Err(diags) => (None, diags),
    };
    diagnostic::sort(&mut diagnostics);
    Analysis { fleet, diagnostics }
}

/// The front half of the pipeline: parse, resolve, check. Returns the fleet
/// and its warnings, or every diagnostic when there is an error.
pub fn compile(text: &str) -> Result<(fleet::Fleet, Vec<Diagnostic>), Vec<Diagnostic>> {
    let Analysis { fleet, diagnostics } = analyze(text);
    match fleet {
        Some(fleet) if !diagnostics.iter().any(Diagnostic::is_error) => Ok((fleet, diagnostics)),
        _ => Err(diagnostics),
    }
}

/// [`compile`] for the commands that write from the spec — `build`,
/// `secrets` and the installer: a value the project ships as an example
/// (the starter's admin key, a `YOUR-…` disk) is an error there, where
/// `check`, `show` and `report` list it as a warning
/// ([`check::placeholders`]).
pub fn compile_to_write(text: &str) -> Result<(fleet::Fleet, Vec<Diagnostic>), Vec<Diagnostic>> {
    let Analysis {
        fleet,
        mut diagnostics,
    } = analyze(text);
    check::placeholders::as_errors(&mut diagnostics);
    diagnostic::sort(&mut diagnostics);
    match fleet {
        Some(fleet) if !diagnostics.iter().any(Diagnostic::is_error) => Ok((fleet, diagnostics)),
        _ => Err(diagnostics),
    }
}
