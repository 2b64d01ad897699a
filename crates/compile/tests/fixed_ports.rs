//! Every fixed port a host of the fleet listens on is declared in
//! `src/fleet/ports.rs`, the one list `port-clash` and `homelab show ports`
//! read. A port constant anywhere else in the library must be a port no
//! host listens on, and is named here with the reason.

// Tests and benches may touch the world; the library may not (clippy.toml).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::{Path, PathBuf};

/// Port constants outside `fleet/ports.rs`, and why no host listens there.
const NOT_LISTENED_ON: &[(&str, &str)] = &[
    // The NFS port of an `[external]` server, which the status page checks.
    ("NFS_PORT", "src/render/wiring.rs"),
    // The mail relay's submission port, a default of `[alerts.smtp]`.
    ("SUBMISSION_PORT", "src/spec/alerts.rs"),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `(name, file)` of every `const …PORT…: u16` in the library.
fn port_constants() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file.strip_prefix(root).unwrap().display().to_string();
        for line in text.lines() {
            let Some(rest) = line.trim().split("const ").nth(1) else {
                continue;
            };
            if let Some((name, ty)) = rest.split_once(':')
                && ty.trim_start().starts_with("u16")
                && name.contains("PORT")
            {
                out.push((name.trim().to_string(), rel.clone()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn fixed_ports_are_declared_in_one_place() {
    let stray: Vec<String> = port_constants()
        .into_iter()
        .filter(|(name, file)| {
            file != "src/fleet/ports.rs"
                && !NOT_LISTENED_ON.iter().any(|(n, f)| n == name && f == file)
        })
        .map(|(name, file)| format!("{name} in {file}"))
        .collect();
    assert!(
        stray.is_empty(),
        "a fixed port outside src/fleet/ports.rs: declare it there and list it in \
         Fleet::infrastructure_ports, or name it in NOT_LISTENED_ON with why no host \
         listens on it:\n{}",
        stray.join("\n")
    );
}

#[test]
fn the_scan_sees_the_declared_ports() {
    let found = port_constants();
    for name in ["GATEWAY_PORT", "VMALERT_PORT", "REST_SERVER_PORT"] {
        assert!(
            found
                .iter()
                .any(|(n, f)| n == name && f == "src/fleet/ports.rs"),
            "{name}: {found:?}"
        );
    }
    for (name, file) in NOT_LISTENED_ON {
        assert!(
            found.iter().any(|(n, f)| n == name && f == file),
            "{name} is no longer in {file}: drop it from NOT_LISTENED_ON"
        );
    }
}
