//! The half of `homelab` that touches the world.
//!
//! [`compile`] turns spec text into values and never reads a file, starts a
//! process or opens a socket; everything that does lives here: writing the
//! flake tree atomically ([`flake_tree`]), reading the encrypted secret
//! files next to it ([`secret_files`]), and running real tools on a host,
//! locally or over SSH ([`runner`]).

pub mod flake_tree;
pub mod runner;
pub mod secret_files;
pub mod secrets;
