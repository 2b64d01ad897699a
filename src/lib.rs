//! `homelab`: one `homelab.toml` becomes a checked, complete NixOS flake.
//!
//! The pipeline, one folder per stage: [`spec`] (parse) → [`catalog`]
//! (what each service needs) → [`fleet`] (the resolved model) → [`check`]
//! (policy) → [`render`] (Nix) → [`output`] (atomic writes).

pub mod catalog;
pub mod check;
pub mod diagnostic;
pub mod fleet;
pub mod output;
pub mod render;
pub mod show;
pub mod spec;

/// The NixOS release the generated flake pins, and that the option index
/// in `nixos-options/` describes.
pub const NIXPKGS_RELEASE: &str = "nixos-25.05";

pub mod examples;

use diagnostic::Diagnostic;

/// The front half of the pipeline: parse, resolve, check. Returns the fleet
/// and its warnings, or every diagnostic when there is an error.
pub fn compile(text: &str) -> Result<(fleet::Fleet, Vec<Diagnostic>), Vec<Diagnostic>> {
    let by_position = |mut d: Vec<Diagnostic>| {
        d.sort_by_key(|d| d.primary.as_ref().map(|p| p.span.start));
        d
    };
    let spec = spec::parse(text).map_err(by_position)?;
    let fleet = fleet::resolve(&spec).map_err(by_position)?;
    let diags = check::check(&fleet);
    if diags.iter().any(Diagnostic::is_error) {
        Err(diags)
    } else {
        Ok((fleet, diags))
    }
}
