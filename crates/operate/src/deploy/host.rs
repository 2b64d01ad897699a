//! How a step reaches a host: a runner (SSH from the admin machine, or
//! local on the host itself) and whether commands need `sudo -n` (the
//! administrator logs in; the system profile and `systemd-run` are
//! root's).

use super::{Error, Result, fail};
use crate::runner::{Cmd, Runner};
use std::process::Output;

pub struct Host<'a> {
    pub name: String,
    pub runner: &'a dyn Runner,
    /// True when the runner is root already (no `sudo`).
    pub root: bool,
}

impl Host<'_> {
    /// `program args` as root.
    pub fn root_cmd(&self, program: &str) -> Cmd {
        Cmd::as_root(self.root, program)
    }

    /// Runs a command; an error only when it could not start.
    pub fn run(&self, cmd: &Cmd) -> Result<Output> {
        self.runner.run(cmd).map_err(|e| {
            Error(format!(
                "{}: cannot run {}: {e}",
                self.name,
                cmd.shell_line()
            ))
        })
    }

    /// Runs a command that must succeed; on failure, what it said.
    pub fn ok(&self, what: &str, cmd: &Cmd) -> Result<String> {
        let out = self.run(cmd)?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        fail(format!(
            "{}: {what} failed ({}): {}",
            self.name,
            match out.status.code() {
                Some(255) => "the SSH connection failed".to_string(),
                Some(c) => format!("exit {c}"),
                None => "killed".into(),
            },
            crate::backup::last_words(&out.stderr)
        ))
    }
}

/// A system's store path, as a host reports it: `/nix/store/<hash>-<name>`
/// of plain characters. What a host says is untrusted; this is what may
/// become an argument.
pub fn is_system_path(p: &str) -> bool {
    p.strip_prefix("/nix/store/").is_some_and(|rest| {
        let (hash, name) = rest.split_once('-').unwrap_or(("", ""));
        hash.len() == 32
            && hash
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-._?=".contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_store_paths_of_plain_characters_are_systems() {
        assert!(is_system_path(
            "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-server-25.11"
        ));
        for bad in [
            "/nix/store/short-x",
            "/etc/passwd",
            "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-x y",
            "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-a/../../etc",
            "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-",
            "-rf",
        ] {
            assert!(!is_system_path(bad), "{bad}");
        }
    }
}
