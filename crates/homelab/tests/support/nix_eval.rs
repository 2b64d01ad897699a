//! The real Nix evaluator on an expression (`nix-instantiate --eval
//! --strict --json`), for tests that read what generated Nix means.

use std::process::Command;

/// What `expr` evaluates to, read from Nix's JSON; the test fails,
/// showing the expression and Nix's words, when Nix rejects it.
pub fn eval_json<T: serde::de::DeserializeOwned>(expr: &str) -> T {
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", expr])
        .output()
        .expect("nix-instantiate runs (install Debian's nix-bin)");
    assert!(
        out.status.success(),
        "nix rejected:\n{expr}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("nix prints JSON")
}
