//! The revisions the generated flake pins, held in one place:
//! `nixos-options/release.json`, beside the option facts that were read at
//! those revisions. Pinning every input to a commit makes two builds weeks
//! apart deploy the same system, and keeps the generated options inside what
//! the index knows.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const RELEASE_JSON: &str = include_str!("../../../nixos-options/release.json");

#[derive(Debug, Deserialize)]
pub struct Release {
    pub nixpkgs: Nixpkgs,
    /// The other flake inputs by input name (`agenix`, `disko`, …).
    pub inputs: BTreeMap<String, Input>,
}

#[derive(Debug, Deserialize)]
pub struct Nixpkgs {
    /// The nixpkgs commit (40 hex digits).
    pub pin: String,
    /// The branch the commit was taken from.
    pub branch: String,
    /// The NixOS release number of that commit (`lib/.version`), which is
    /// also the `system.stateVersion` of a host installed from it.
    pub version: String,
}

#[derive(Debug, Deserialize)]
pub struct Input {
    /// `owner/name` on GitHub.
    pub repo: String,
    pub commit: String,
}

/// The pinned revisions. The file is part of the build, so a malformed one
/// is a bug caught by the tests, not a user error.
pub fn release() -> &'static Release {
    static RELEASE: OnceLock<Release> = OnceLock::new();
    RELEASE.get_or_init(|| {
        serde_json::from_str(RELEASE_JSON).expect("nixos-options/release.json is well-formed")
    })
}

impl Release {
    /// The flake URL of an input pinned to its commit.
    pub(crate) fn input_url(&self, name: &str) -> Option<String> {
        self.inputs
            .get(name)
            .map(|i| format!("github:{}/{}", i.repo, i.commit))
    }

    pub(crate) fn nixpkgs_url(&self) -> String {
        format!("github:NixOS/nixpkgs/{}", self.nixpkgs.pin)
    }
}

/// The `system.stateVersion` of a host: the release it was installed with
/// when the spec fixes one, the pinned release otherwise.
pub(crate) fn state_version(fixed: Option<&str>) -> &str {
    fixed.unwrap_or(&release().nixpkgs.version)
}

/// Whether `s` is a NixOS release number (`25.11`, `24.05`).
pub(crate) fn is_release_number(s: &str) -> bool {
    let Some((year, month)) = s.split_once('.') else {
        return false;
    };
    year.len() == 2 && year.bytes().all(|b| b.is_ascii_digit()) && matches!(month, "05" | "11")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_commit(s: &str) -> bool {
        s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
    }

    #[test]
    fn every_revision_is_a_commit() {
        let r = release();
        assert!(is_commit(&r.nixpkgs.pin), "nixpkgs pin {}", r.nixpkgs.pin);
        assert!(
            is_release_number(&r.nixpkgs.version),
            "{}",
            r.nixpkgs.version
        );
        for name in ["agenix", "disko", "deploy-rs", "vpn-confinement"] {
            let input = &r.inputs[name];
            assert!(is_commit(&input.commit), "{name}: {}", input.commit);
            assert!(input.repo.contains('/'), "{name}: {}", input.repo);
        }
    }

    #[test]
    fn release_numbers() {
        assert!(is_release_number("25.11"));
        assert!(is_release_number("24.05"));
        assert!(!is_release_number("25.10"));
        assert!(!is_release_number("2025.11"));
        assert!(!is_release_number("25"));
    }
}
