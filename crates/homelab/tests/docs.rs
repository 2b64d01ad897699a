//! The guides run as printed: the shell blocks of README.md's tour,
//! docs/secrets.md's first setup and docs/install.md's steps 1–3, each
//! guide from a fresh home folder with an SSH key made by `ssh-keygen`,
//! with this `homelab` on the PATH. Nothing touches the real home.
//!
//! What runs is marked in the Markdown, invisible on the rendered page:
//!
//! - `<!-- doc-test -->` right before a ```` ```sh ```` block: each of its
//!   lines, as printed;
//! - `<!-- doc-test stands for WHAT: COMMAND -->`: a step the guide asks
//!   of the reader that is not a command (editing the disks into the
//!   spec, a token only the reader has), done by COMMAND in its place.
//!
//! A guide runs as one `bash -e` script, so a `cd` carries on and the
//! first command that fails stops it, named.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The marked commands of `text`, in order, from `from` up to `to` (a
/// heading or other line of the guide; `None`: the end).
fn commands(text: &str, from: &str, to: Option<&str>) -> Vec<String> {
    let start = text.find(from).unwrap_or_else(|| panic!("no `{from}`"));
    let end = to.map_or(text.len(), |t| {
        start + text[start..].find(t).unwrap_or_else(|| panic!("no `{t}`"))
    });
    let mut out = Vec::new();
    let mut lines = text[start..end].lines();
    while let Some(line) = lines.next() {
        let Some(marker) = line.trim().strip_prefix("<!-- doc-test") else {
            continue;
        };
        let marker = marker
            .strip_suffix("-->")
            .expect("a marker is one line")
            .trim();
        if let Some(stand_in) = marker.strip_prefix("stands for ") {
            let (_, command) = stand_in
                .split_once(": ")
                .expect("`stands for WHAT: COMMAND`");
            out.push(command.to_string());
            continue;
        }
        assert!(marker.is_empty(), "unknown marker `{line}`");
        assert_eq!(
            lines.next(),
            Some("```sh"),
            "a doc-test marker precedes a sh block"
        );
        for command in lines.by_ref().take_while(|l| *l != "```") {
            out.push(command.to_string());
        }
    }
    assert!(!out.is_empty(), "`{from}` has runnable commands");
    out
}

/// Runs `commands` as one script in a fresh home with an SSH key.
fn run_guide(name: &str, commands: &[String]) {
    let home = tempfile::tempdir().unwrap();
    let ssh = home.path().join(".ssh");
    std::fs::create_dir(&ssh).unwrap();
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f"])
        .arg(ssh.join("id_ed25519"))
        .status()
        .expect("ssh-keygen runs (Debian openssh-client)");
    assert!(made.success());
    let tmp = home.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_homelab")).parent().unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    // Each command is echoed before it runs, so a failure names it.
    let script: String = std::iter::once("set -e".to_string())
        .chain(
            commands
                .iter()
                .map(|c| format!("printf '%s\\n' {} >&2\n{c}", shell_quote(&format!("$ {c}")))),
        )
        .collect::<Vec<_>>()
        .join("\n");
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(home.path())
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", path)
        .env("TMPDIR", &tmp)
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: a command failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

#[test]
fn the_readme_tour_runs_as_printed() {
    let text = read("README.md");
    let commands = commands(
        &text,
        "## A five-minute tour",
        Some("**8. Prove the backups.**"),
    );
    assert!(commands.iter().any(|c| c.starts_with("homelab build")));
    run_guide("README.md", &commands);
}

#[test]
fn the_first_setup_of_the_secrets_runs_as_printed() {
    let text = read("docs/secrets.md");
    let commands = commands(&text, "## First setup", Some("## Adding a host"));
    run_guide("docs/secrets.md", &commands);
}

#[test]
fn install_steps_one_to_three_run_as_printed() {
    let text = read("docs/install.md");
    let commands = commands(
        &text,
        "# From a generated flake",
        Some("## 4. Create the secrets"),
    );
    assert!(commands.iter().any(|c| c.starts_with("age -d")));
    run_guide("docs/install.md", &commands);
}

#[test]
fn a_marker_takes_only_its_block() {
    let text = "intro\n```sh\nnot this\n```\n<!-- doc-test -->\n```sh\na\nb # c\n```\n\
                <!-- doc-test stands for a token: printf x > f -->\n```sh\nnor this\n```\n";
    assert_eq!(
        commands(text, "intro", None),
        ["a", "b # c", "printf x > f"]
    );
}
