//! The system a host runs now: where its system profile points. The
//! deploy comes back to it when the new one fails.

use super::host::{Host, is_system_path};
use super::{Result, fail};
use crate::runner::Cmd;

/// The system profile every NixOS deployer switches.
pub const PROFILE: &str = "/nix/var/nix/profiles/system";

pub fn current(host: &Host) -> Result<String> {
    current_at(host, PROFILE)
}

/// Where `profile` points (a profile under `--root` for the host's own
/// upgrade run on a scratch tree).
pub fn current_at(host: &Host, profile: &str) -> Result<String> {
    let out = host.ok(
        "reading the current system",
        &Cmd::new("readlink").args(["-f", profile]),
    )?;
    let path = out.trim();
    if !is_system_path(path) {
        return fail(format!(
            "{}: the system profile points at `{}`, not a system in the store",
            host.name,
            path.escape_debug()
        ));
    }
    Ok(path.to_string())
}
