//! `homelab`: one `homelab.toml` becomes a checked, complete NixOS flake.
//!
//! The pipeline, one folder per stage: [`spec`] (parse) → [`catalog`]
//! (what each service needs) → [`fleet`] (the resolved model) → [`check`]
//! (policy) → [`render`] (Nix) → [`output`] (atomic writes).

pub mod catalog;
pub mod diagnostic;
pub mod render;
pub mod spec;

/// The NixOS release the generated flake pins, and that the option index
/// in `nixos-options/` describes.
pub const NIXPKGS_RELEASE: &str = "nixos-25.05";
