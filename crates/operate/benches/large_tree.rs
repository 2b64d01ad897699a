//! A 10,000-service homelab: writing its flake into an empty folder against
//! rebuilding it over the existing tree (the rebuild must stay linear: it
//! re-hashes every generated file and matches each new file to the old
//! one), and the HTML report of it. Read the rebuild as a ratio to the
//! fresh build of the same run; the report as an absolute figure (the
//! `homelab report` command is exactly `analyze` + `report::html` + one
//! file write).
//!
//! The fleet: 2,000 hosts with 5 services each (one instance of a module
//! per host, as the policy requires), every name unique.

// Benches may touch the world; the library may not (clippy.toml).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use operate::flake_tree::{Options, write_tree};
use std::fmt::Write;
use std::hint::black_box;
use std::time::Duration;

const HOSTS: usize = 2000;
const SERVICES: [&str; 5] = [
    "vaultwarden",
    "gatus",
    "homepage",
    "victoriametrics",
    "loki",
];

fn spec() -> String {
    let mut s = String::from(
        r#"[homelab]
name = "large"
domain = "example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNF3rLRYwxKY2JtiZlfIldH8PfARHeERfE8pjOcr+cq admin@laptop"]

[access.proxy]
dns_provider = "cloudflare"
credentials_secret = "cloudflare-dns-token"

[backup]
repository = "s3:https://s3.example.org/large"
password_secret = "restic-password"
"#,
    );
    for h in 0..HOSTS {
        let _ = write!(
            s,
            "\n[hosts.h{h}]\naddress = \"10.{}.{}.{}\"\nram_gb = 64\n",
            h / 65536,
            (h / 256) % 256,
            h % 256
        );
        for svc in SERVICES {
            let _ = write!(
                s,
                "\n[services.{svc}-{h}]\nservice = \"{svc}\"\nhost = \"h{h}\"\nsubdomain = \"{svc}-{h}\"\n"
            );
        }
    }
    s
}

fn large_tree(c: &mut Criterion) {
    let text = spec();
    let analysis = compile::analyze(&text);
    let fleet = analysis.fleet.as_ref().expect("the large spec resolves");
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(
        errors.is_empty(),
        "the large spec is valid: {:?}",
        errors.first()
    );
    assert_eq!(fleet.instances.len(), HOSTS * SERVICES.len());
    let files = compile::render::render(fleet);

    let mut group = c.benchmark_group("10k services");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.warm_up_time(Duration::from_secs(1));
    group.bench_function("build into an empty folder", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let out = dir.path().join("flake");
                black_box(write_tree(&out, &files, "homelab.toml", Options::default()).unwrap());
                dir
            },
            BatchSize::PerIteration,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flake");
    write_tree(&out, &files, "homelab.toml", Options::default()).unwrap();
    group.bench_function("rebuild over the existing tree", |b| {
        b.iter(|| {
            let s = write_tree(&out, &files, "homelab.toml", Options::default()).unwrap();
            assert_eq!(
                s.unchanged.len(),
                files
                    .iter()
                    .filter(|f| f.owner == compile::render::Owner::Tool)
                    .count()
            );
            black_box(s)
        })
    });
    group.bench_function("report (analyze + html)", |b| {
        b.iter(|| {
            let a = compile::analyze(&text);
            black_box(
                compile::report::html(a.fleet.as_ref(), &a.diagnostics, &text, "homelab.toml")
                    .len(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, large_tree);
criterion_main!(benches);
