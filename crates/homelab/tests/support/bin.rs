//! The `homelab` binary as a user runs it, and the keys tests encrypt to.

use std::path::Path;
use std::process::Command;

/// Runs `homelab` with `args` in `dir`; returns exit code, stdout, stderr.
#[allow(dead_code)] // not every test binary runs the CLI
pub fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("homelab runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Makes an ed25519 key pair `dir/name` with the real `ssh-keygen`;
/// returns the public key line.
#[allow(dead_code)] // not every test binary makes keys
pub fn keygen(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs (Debian openssh-client)");
    assert!(ok.success());
    std::fs::read_to_string(path.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string()
}
