//! Check and render for each embedded example, against a baseline measured
//! in the same run: parsing the same spec as plain TOML (`toml::Value`),
//! which any tool reading the file must do. Read the figures as ratios to
//! that baseline.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

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
        group.finish();
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
