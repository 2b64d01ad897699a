//! The README's tour is true: its spec is what `homelab init` writes and
//! checks as the tour says, and the error it shows for a typo is exactly
//! what `homelab check` prints. (`docs.rs` runs its commands.)

use std::path::Path;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap()
}

/// The body of the first fenced block of `lang` after `marker`.
fn block_after(text: &str, marker: &str, lang: &str) -> String {
    let from = text
        .find(marker)
        .unwrap_or_else(|| panic!("README has `{marker}`"));
    let fence = format!("```{lang}\n");
    let start = from + text[from..].find(&fence).unwrap() + fence.len();
    let end = start + text[start..].find("```\n").unwrap();
    text[start..end].to_string()
}

/// Runs `homelab check` on `spec` in a fresh folder: code, stdout, stderr.
fn check(spec: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("homelab.toml"), spec).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .arg("check")
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_tour_spec_is_what_init_writes_and_checks() {
    let spec = block_after(&readme(), "**1. Start a spec.**", "toml");
    assert_eq!(spec, compile::examples::STARTER, "README shows the starter");
    let (code, stdout, stderr) = check(&spec);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "homelab.toml: ok — 1 host(s), 4 service(s)\n");
    // The example key and disks are placeholders; the one design finding
    // is the vault on one machine.
    let codes: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("warning[")?.split(']').next())
        .collect();
    assert_eq!(
        codes,
        [
            "placeholder",
            "placeholder",
            "placeholder",
            "placeholder",
            "no-replica"
        ],
        "{stderr}"
    );
    assert!(!stderr.contains("error["), "{stderr}");
    assert!(readme().contains("`homelab.toml: ok — 1 host(s), 4 service(s)`"));
}

#[test]
fn the_tour_error_is_what_check_prints_for_the_typo() {
    let text = readme();
    let spec = block_after(&text, "**1. Start a spec.**", "toml");
    let shown = block_after(&text, "**2. Check it.**", "text");
    let shown = shown
        .strip_prefix("$ homelab check\n")
        .expect("the sample starts with the command");
    let typo = spec.replacen("[services.vaultwarden]", "[services.vaultwarde]", 1);
    assert_ne!(typo, spec, "the tour spec has `[services.vaultwarden]`");
    let (code, stdout, stderr) = check(&typo);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(stderr, shown);
}

#[test]
fn the_tour_says_how_to_install_the_binary() {
    let text = readme();
    assert!(text.contains("cargo install --path crates/homelab --locked"));
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/homelab/Cargo.toml")
        .canonicalize()
        .unwrap();
    assert!(
        std::fs::read_to_string(manifest)
            .unwrap()
            .contains("name = \"homelab\"")
    );
}
