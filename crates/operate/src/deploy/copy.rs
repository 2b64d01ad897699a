//! The new system: built where the spec says, and copied to the host.
//!
//! - built here (`build_on = "local"`): `nix build` of the host's system
//!   attribute, then `nix copy --to ssh-ng://…` of its closure;
//! - built by the host itself (`"target"`) or by another host (a remote
//!   builder, for an admin machine that cannot build the hosts' platform,
//!   such as a Mac): evaluated here, built in that host's store
//!   (`nix build --store ssh-ng://… --eval-store auto`), and copied from
//!   there when it is not the host's own.
//!
//! ssh options (port, configuration file) reach Nix's ssh through
//! `NIX_SSHOPTS`.

use super::host::is_system_path;
use super::{Result, fail};
use crate::runner::{Cmd, Runner};
use std::path::Path;

/// How Nix reaches a host's store over SSH.
#[derive(Debug, Clone)]
pub struct Store {
    pub user: String,
    pub address: String,
    pub port: u16,
    pub ssh_config: Option<std::path::PathBuf>,
}

impl Store {
    pub fn url(&self) -> String {
        format!("ssh-ng://{}@{}", self.user, self.address)
    }

    fn sshopts(&self) -> String {
        let mut opts = format!("-p {}", self.port);
        if let Some(c) = &self.ssh_config {
            opts.push_str(&format!(" -F {}", c.display()));
        }
        opts
    }
}

/// Builds `attribute` of the flake at `flake`, in `on`'s store (this
/// machine's when none); returns the system's store path.
pub fn build(
    local: &dyn Runner,
    flake: &Path,
    attribute: &str,
    on: Option<&Store>,
) -> Result<String> {
    let mut cmd = Cmd::new("nix").args([
        "--extra-experimental-features",
        "nix-command flakes",
        "build",
        "--no-link",
        "--print-out-paths",
    ]);
    if let Some(store) = on {
        cmd = cmd
            .args(["--eval-store", "auto", "--store", &store.url()])
            .env("NIX_SSHOPTS", store.sshopts());
    }
    // A path flake: in a git repository a `git+file` flake would not see
    // files not yet committed.
    let target = format!("path:{}#{attribute}", flake.display());
    let out = local
        .run(&cmd.arg(&target))
        .map_err(|e| super::Error(format!("cannot run nix: {e}")))?;
    if !out.status.success() {
        return fail(format!(
            "building {target} failed: {}",
            crate::backup::last_words(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(path) if is_system_path(path) => Ok(path.to_string()),
        _ => fail(format!("building {target} printed no system path")),
    }
}

/// Copies `system` and its closure to `to`, from this machine's store or
/// from another host's.
pub fn copy(local: &dyn Runner, system: &str, from: Option<&Store>, to: &Store) -> Result<()> {
    let mut cmd = Cmd::new("nix").args([
        "--extra-experimental-features",
        "nix-command flakes",
        "copy",
    ]);
    if let Some(from) = from {
        cmd = cmd.args(["--from", &from.url()]);
    }
    let cmd = cmd
        .args(["--to", &to.url(), system])
        .env("NIX_SSHOPTS", to.sshopts());
    let out = local
        .run(&cmd)
        .map_err(|e| super::Error(format!("cannot run nix: {e}")))?;
    if !out.status.success() {
        return fail(format!(
            "copying the system to {} failed: {}",
            to.address,
            crate::backup::last_words(&out.stderr)
        ));
    }
    Ok(())
}
