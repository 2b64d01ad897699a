//! The generated flake, for every embedded example: the real Nix parser
//! accepts every file, two builds give byte-identical trees, and every
//! option path assigned exists in the NixOS option index.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::nixos_options::Index;

fn build(example: &str, out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(["build", "--example", example, "--out"])
        .arg(out)
        .output()
        .expect("homelab runs");
    assert!(
        status.status.success(),
        "build --example {example} failed:\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn examples() -> Vec<&'static str> {
    let names = compile::examples::names();
    assert!(
        names.contains(&"frame1") && names.contains(&"nuc"),
        "examples: {names:?}"
    );
    names
}

#[test]
fn every_generated_file_parses_with_nix() {
    for example in examples() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("flake");
        build(example, &out);
        let files = tree(&out);
        assert!(files.contains_key(Path::new("flake.nix")));
        for path in files
            .keys()
            .filter(|p| p.extension().is_some_and(|e| e == "nix"))
        {
            let result = Command::new("nix-instantiate")
                .arg("--parse")
                .arg(out.join(path))
                .output()
                .expect("nix-instantiate runs (install Debian's nix-bin)");
            assert!(
                result.status.success(),
                "{example}: {} does not parse:\n{}",
                path.display(),
                String::from_utf8_lossy(&result.stderr)
            );
        }
    }
}

#[test]
fn building_twice_gives_identical_trees() {
    for example in examples() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        build(example, &a);
        build(example, &b);
        build(example, &b); // a rebuild over an existing tree changes nothing
        assert_eq!(tree(&a), tree(&b), "{example}: builds differ");
    }
}

#[test]
fn every_assigned_option_exists_in_the_index() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("nixos-options");
    assert!(dir.is_dir(), "the option index is at {}", dir.display());
    let index = Index::load(&[dir.as_path()]);
    let mut unknown = Vec::new();
    for example in examples() {
        let text = compile::examples::get(example).unwrap();
        let (fleet, _) = compile::compile(text).expect("example compiles");
        for file in compile::render::render(&fleet) {
            if let Some(body) = file.module_body() {
                for path in index.unknown_paths(body) {
                    unknown.push(format!("{example}: {}: {path}", file.path));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "option paths missing from the index:\n{}",
        unknown.join("\n")
    );
}
