//! Check and render for each embedded example, against baselines measured
//! in the same run: parsing the same spec as plain TOML (`toml::Value`),
//! which any tool reading the file must do, and `nix-instantiate --parse`
//! of the generated tree (the cheapest thing Nix itself does with it).
//! Read the figures as ratios to those baselines.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::process::Command;

fn pipeline(c: &mut Criterion) {
    for name in homelab::examples::names() {
        let text = homelab::examples::get(name).unwrap();
        let mut group = c.benchmark_group(name);
        group.bench_function("baseline: toml parse", |b| {
            b.iter(|| black_box(text.parse::<toml::Table>().unwrap()))
        });
        group.bench_function("check", |b| {
            b.iter(|| black_box(homelab::compile(text).unwrap()))
        });
        group.bench_function("check + render + print", |b| {
            b.iter(|| {
                let (fleet, _) = homelab::compile(text).unwrap();
                let files = homelab::render::render(&fleet);
                black_box(files.iter().map(|f| f.text().len()).sum::<usize>())
            })
        });

        // The generated tree, parsed by Nix in one process.
        let dir = tempfile::tempdir().unwrap();
        let (fleet, _) = homelab::compile(text).unwrap();
        let mut paths = Vec::new();
        for file in homelab::render::render(&fleet) {
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
