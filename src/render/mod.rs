//! Stage 5: render. Fleet → Nix values → files of the generated flake.

pub mod nix;
