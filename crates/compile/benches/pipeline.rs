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

        // The generated tree, parsed by Nix in one process.
        let dir = tempfile::tempdir().unwrap();
        let (fleet, _) = compile::compile(text).unwrap();
        let mut paths = Vec::new();
        for file in compile::render::render(&fleet) {
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

criterion_group!(benches, pipeline);
criterion_main!(benches);
