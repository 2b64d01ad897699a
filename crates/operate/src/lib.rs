//! The half of `homelab` that touches the world.
//!
//! [`compile`] turns spec text into values and never reads a file, starts a
//! process or opens a socket; everything that does lives here: writing the
//! flake tree atomically ([`flake_tree`]), reading the encrypted secret
//! files next to it ([`secret_files`]), reading a spec as a git commit has
//! it ([`git`]), and running real tools on a host,
//! locally or over SSH ([`runner`]); backups, drills and restores that
//! prove a service's data comes back ([`backup`]). A file in a folder the
//! user also writes to is read, copied or replaced through [`fs_guard`],
//! which looks at what the path is before it opens it.

pub mod backup;
pub mod deploy;
pub mod flake_tree;
pub mod fs_guard;
pub mod git;
pub mod install;
pub mod probe;
pub mod runner;
pub mod secret_files;
pub mod secrets;
