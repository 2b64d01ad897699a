//! What `homelab` says about itself: the catalog (`homelab catalog`), the
//! shell completions and the manual page, made from the command line's
//! own definition, as the repository flake installs them.

use std::process::Command;

#[path = "support/bin.rs"]
mod bin;
use bin::run_in as run;

fn here() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn the_catalog_lists_every_entry_and_shows_one() {
    let dir = here();
    let (code, stdout, _) = run(dir.path(), &["catalog"]);
    assert_eq!(code, 0);
    for entry in compile::catalog::catalog().values() {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("{} ", entry.name))
                    && l.contains(&entry.description)),
            "{} missing from\n{stdout}",
            entry.name
        );
    }
    let (code, stdout, _) = run(dir.path(), &["catalog", "immich"]);
    assert_eq!(code, 0);
    for says in [
        "immich (Immich): ",
        "module           services.immich",
        "port             2283",
        "health           /api/server/ping",
        "/var/lib/immich/library critical (library)",
        "depends on       postgresql",
    ] {
        assert!(stdout.contains(says), "{says:?} in\n{stdout}");
    }
    let (code, stdout, _) = run(dir.path(), &["catalog", "grafana", "--json"]);
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(j["module"], "services.grafana");
    assert!(j["data"][0]["class"].is_string(), "{j}");
    let (code, _, stderr) = run(dir.path(), &["catalog", "grafna"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean `grafana`?"), "{stderr}");
}

#[test]
fn completions_are_made_for_each_shell_and_bash_reads_its_own() {
    let dir = here();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, stdout, stderr) = run(dir.path(), &["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        for word in ["homelab", "build", "secrets", "add-host", "catalog"] {
            assert!(stdout.contains(word), "{shell}: no {word}");
        }
    }
    let (_, script, _) = run(dir.path(), &["completions", "bash"]);
    let file = dir.path().join("homelab.bash");
    std::fs::write(&file, script).unwrap();
    let parsed = Command::new("bash").arg("-n").arg(&file).status().unwrap();
    assert!(parsed.success(), "bash reads the script");
}

#[test]
fn the_manual_page_is_roff_with_every_command() {
    let dir = here();
    let (code, page, _) = run(dir.path(), &["man"]);
    assert_eq!(code, 0);
    assert!(page.contains(".TH homelab 1"), "{page}");
    for command in [
        "init", "check", "build", "show", "report", "catalog", "secrets", "backup",
    ] {
        assert!(
            page.contains(&format!("homelab\\-{command}"))
                || page.contains(&format!("\\fB{command}\\fR")),
            "the page names `{command}`"
        );
    }
    // The repository flake installs both from the binary it built.
    let flake = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flake.nix"),
    )
    .unwrap();
    assert!(
        flake.contains("installShellCompletion --cmd homelab"),
        "{flake}"
    );
    assert!(
        flake.contains("$out/bin/homelab man > homelab.1"),
        "{flake}"
    );
}
