//! Check and render for each embedded example, against baselines measured
//! in the same run: parsing the same spec as plain TOML (`toml::Value`),
//! which any tool reading the file must do, and `nix-instantiate --parse`
//! of the generated tree (the cheapest thing Nix itself does with it).
//! Read the figures as ratios to those baselines.

// Tests and benches may touch the world; the library may not (clippy.toml).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::process::Command;

fn pipeline(c: &mut Criterion) {
    for name in compile::examples::names() {
        let text = compile::examples::get(name).unwrap();
        let mut group = c.benchmark_group(name);
        group.bench_function("baseline: toml parse", |b| {
            b.iter(|| black_box(text.parse::<toml::Table>().unwrap()))
        });
        group.bench_function("check", |b| {
            b.iter(|| black_box(compile::compile(text).unwrap()))
        });
        group.bench_function("check + render + print", |b| {
            b.iter(|| {
                let (fleet, _) = compile::compile(text).unwrap();
                let files = compile::render::render(&fleet);
                black_box(files.iter().map(|f| f.text().len()).sum::<usize>())
            })
        });
        // What single sign-on costs: the same spec without `[access.sso]`.
        if let Some(plain) = without_sso(text) {
            group.bench_function("baseline: check + render + print without SSO", |b| {
                b.iter(|| {
                    let (fleet, _) = compile::compile(&plain).unwrap();
                    let files = compile::render::render(&fleet);
                    black_box(files.iter().map(|f| f.text().len()).sum::<usize>())
                })
            });
        }

        // The generated tree, parsed by Nix in one process.
        let dir = tempfile::tempdir().unwrap();
        let (fleet, _) = compile::compile(text).unwrap();
        let mut paths = Vec::new();
        // Only the Nix files: the host plans (JSON) and alert rules (YAML)
        // are read by other programs.
        for file in compile::render::render(&fleet)
            .into_iter()
            .filter(|f| f.path.ends_with(".nix"))
        {
            let path = dir.path().join(file.path.replace('/', "_"));
            std::fs::write(&path, file.text()).unwrap();
            paths.push(path);
        }
        if Command::new("nix-instantiate")
            .arg("--version")
            .output()
            .is_ok()
        {
            group.sample_size(20);
            group.bench_function("baseline: nix-instantiate --parse of the tree", |b| {
                b.iter(|| {
                    let out = Command::new("nix-instantiate")
                        .arg("--parse")
                        .args(&paths)
                        .output()
                        .unwrap();
                    assert!(out.status.success());
                })
            });
        }
        group.finish();
    }
}

/// The spec without its `[access.sso]` table and the services' `groups`
/// (the examples write both inline), if it has single sign-on.
fn without_sso(text: &str) -> Option<String> {
    if !text.contains("[access.sso]") {
        return None;
    }
    let mut out = String::new();
    let mut in_sso = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_sso = line.starts_with("[access.sso]");
        }
        if in_sso {
            continue;
        }
        let line = match line.find("groups = [") {
            Some(at) => {
                let start = if line[..at].ends_with(", ") {
                    at - 2
                } else {
                    at
                };
                let end = at + line[at..].find(']').map_or(0, |e| e + 1);
                format!("{}{}", &line[..start], &line[end..])
            }
            None => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    Some(out)
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
