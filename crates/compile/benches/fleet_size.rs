//! Check + render for synthetic fleets of 1, 10 and 50 hosts, to show how
//! the time grows with the fleet: it must grow linearly (the time per
//! service stays flat). The first host runs 40 catalog entries; each other
//! host runs every entry that may live beside another host's services (not
//! in the shared media tree, not confined to the VPN, reachable over the
//! LAN), each once, as a NixOS module runs once per host. Every host's
//! services are wired to the first host's proxy, status page and metrics
//! store. Parsing the same
//! spec as plain TOML is the baseline measured in the same run.

// Tests and benches may touch the world; the library may not (clippy.toml).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use compile::catalog::{self, Kind};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::fmt::Write;
use std::hint::black_box;

const SERVICES_PER_HOST: usize = 40;

/// Entries whose state needs nothing the synthetic hosts lack.
fn placeable() -> Vec<&'static catalog::Entry> {
    catalog::catalog()
        .values()
        .filter(|e| e.kind == Kind::Service && e.name != "enclosed")
        .take(SERVICES_PER_HOST)
        .collect()
}

/// Entries that may run on any host of a fleet. The dashboard is not one
/// of them: a fleet has one, which lists every service of the fleet, so a
/// dashboard per host would make the output itself hosts × services.
fn anywhere() -> Vec<&'static catalog::Entry> {
    placeable()
        .into_iter()
        .filter(|e| !e.media && !e.vpn && !compile::fleet::loopback_only(e))
        .filter(|e| e.name != "homepage")
        .collect()
}

/// How many services a fleet of `hosts` hosts runs.
fn services(hosts: usize) -> usize {
    SERVICES_PER_HOST + (hosts - 1) * anywhere().len()
}

fn spec(hosts: usize) -> String {
    let mut s = String::from(
        r#"[homelab]
name = "bench"
domain = "example.org"
internal_domain = "home.example.org"
timezone = "Europe/Berlin"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA9HtfSX7uI4Gb2QOHhXAybBI9NGYE8PMycgZyWlBlf1 admin@laptop"]

[access.proxy]
dns_provider = "cloudflare"
credentials_secret = "dns"

[access.vpn]
wireguard_secret = "vpn"

[backup]
repository = "s3:https://s3.example.org/bench"
password_secret = "restic-password"
"#,
    );
    let first = placeable();
    let rest = anywhere();
    for h in 0..hosts {
        let role = if h == 0 { "main" } else { "nas" };
        write!(
            s,
            r#"
[hosts.h{h}]
role = "{role}"
address = "10.0.{}.{}"
ram_gb = 1024
cpu = "intel"
hardware = ["gpu-intel", "coral-usb", "zigbee-usb", "zwave-usb"]
devices = {{ zigbee-usb = "/dev/serial/by-id/usb-zigbee", zwave-usb = "/dev/serial/by-id/usb-zwave" }}
boot = {{ disk = "/dev/disk/by-id/nvme-h{h}" }}
pools.tank = {{ mode = "mirror", disks = ["/dev/disk/by-id/ata-h{h}-a", "/dev/disk/by-id/ata-h{h}-b"], size = "100T" }}
"#,
            h / 250,
            h % 250 + 1
        )
        .unwrap();
        let entries = if h == 0 { &first } else { &rest };
        for (k, entry) in entries.iter().enumerate() {
            let name = format!("{}-h{h}-{k}", entry.name);
            write!(
                s,
                "\n[services.{name}]\nservice = \"{}\"\nhost = \"h{h}\"\nsubdomain = \"{name}\"\n",
                entry.name
            )
            .unwrap();
        }
    }
    s
}

fn check_and_render(text: &str) -> usize {
    let (fleet, _) = compile::compile(text)
        .map_err(|d| d.into_iter().map(|d| d.message).collect::<Vec<_>>())
        .expect("the synthetic fleet checks clean");
    let files = compile::render::render(&fleet);
    files.iter().map(|f| f.text().len()).sum()
}

fn fleet_size(c: &mut Criterion) {
    let mut group = c.benchmark_group("check + render");
    group.sample_size(10);
    for hosts in [1, 10, 50] {
        let text = spec(hosts);
        // Fails loudly if the synthetic fleet stops checking clean.
        check_and_render(&text);
        group.throughput(Throughput::Elements(services(hosts) as u64));
        group.bench_with_input(
            BenchmarkId::new(format!("hosts ({} services)", services(hosts)), hosts),
            &text,
            |b, t| b.iter(|| black_box(check_and_render(t))),
        );
        // The baseline: parsing the same text as plain TOML.
        group.bench_with_input(
            BenchmarkId::new("baseline: toml parse", hosts),
            &text,
            |b, t| b.iter(|| black_box(t.parse::<toml::Table>().unwrap())),
        );
    }
    group.finish();
}

criterion_group!(benches, fleet_size);
criterion_main!(benches);
