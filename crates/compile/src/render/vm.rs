//! The VM of a host: `hosts/<h>/vm.nix`, the changes that let the host's
//! own configuration boot in QEMU with no disks, secrets, certificates,
//! tailnet or devices of the real machine. The NixOS test in `checks`
//! (`vm-test.nix`) and `nixos-rebuild build-vm` (`virtualisation.vmVariant`,
//! set in `default.nix`) both import it, so what the check boots is what a
//! user starts by hand. `docs/testing.md` says what each change replaces
//! and why.
//!
//! Facts read (nixpkgs): `nixos/modules/virtualisation/qemu-vm.nix` gives
//! `fileSystems` and `swapDevices` `mkVMOverride` values when
//! `useDefaultFilesystems` is on (its default), so disko's file systems are
//! replaced by one root image without a word here; the pools are not, as
//! `boot.zfs.extraPools` imports them by name. `security/acme/default.nix`
//! makes `acme-<cert>.service` write a self-signed certificate that the
//! proxy starts with, and only `acme-order-renew-<cert>.service` talks to
//! the CA.

use crate::fleet::{Fleet, HostPlan, Instance, Secret};
use crate::nix::{Attrs, Nix, set};

/// The throwaway stand-in secrets' derivation, relative to `vm.nix`.
pub(crate) const SECRETS_FILE: &str = "vm-secrets.nix";
/// The CA address in the VM: a closed port, so `acme-order-renew-*`
/// fails at once (the self-signed certificate stays) and the stand-in DNS
/// token is never sent to the real CA from a `build-vm` with internet.
pub(crate) const ACME_SERVER: &str = "https://127.0.0.1:1/directory";
/// Memory of the VM besides the catalog estimates: the kernel, systemd,
/// journald and the test backdoor.
const BASE_MEMORY_MB: u64 = 1024;
/// The root image holds every state directory (no pools in the VM).
const DISK_MB: i64 = 16 * 1024;
const CORES: i64 = 2;
/// Infrastructure that needs accounts and the internet, off in the VM.
const OFF_IN_VM: [(&str, &str); 2] = [
    ("tailscale", "services.tailscale.enable"),
    ("cloudflared", "services.cloudflared.enable"),
];

/// Why a service is not started in the VM, if it is not: a device its
/// catalog entry needs (`hardware`) cannot be plugged into the VM.
pub(crate) fn not_started(i: &Instance) -> Option<String> {
    i.entry
        .hardware
        .first()
        .map(|kind| format!("needs its {kind} device, which the VM does not have"))
}

/// The body of `hosts/<h>/vm.nix`.
pub fn module(fleet: &Fleet, host: &HostPlan) -> Attrs {
    let mut m = Attrs::new();
    stand_in_secrets(&mut m, fleet, host);
    if !host.spec.pools.is_empty() {
        set(
            &mut m,
            &["boot", "zfs", "extraPools"],
            force(Nix::List(vec![])),
        );
    }
    if host
        .spec
        .address
        .value
        .parse::<core::net::Ipv4Addr>()
        .is_ok()
    {
        // Services that peers reach bind the host's LAN address; the VM
        // has it on loopback, so they start and answer as on the machine.
        let mut address = Attrs::new();
        address.insert("address".into(), Nix::str(&host.spec.address.value));
        address.insert("prefixLength".into(), Nix::Int(32));
        set(
            &mut m,
            &["networking", "interfaces", "lo", "ipv4", "addresses"],
            Nix::List(vec![Nix::Attrs(address)]),
        );
    }
    let tags_vlans = fleet
        .segments
        .iter()
        .any(|s| s.member(host.name()).is_some_and(|m| m.parent.is_some()));
    if tags_vlans {
        // The VM has no LAN port to tag a VLAN on: its `-netdev` unit
        // would hold up network.target until the missing device times out.
        // The addresses' units wait for their interface outside the boot.
        set(
            &mut m,
            &["networking", "vlans"],
            force(Nix::Attrs(Attrs::new())),
        );
    }
    if host.runs("caddy") {
        set(
            &mut m,
            &["security", "acme", "defaults", "server"],
            ACME_SERVER,
        );
    }
    for (infra, option) in OFF_IN_VM {
        if host.runs(infra) {
            let path: Vec<&str> = option.split('.').collect();
            set(&mut m, &path, force(Nix::Bool(false)));
        }
    }
    for i in fleet.instances_on(host.name()) {
        devices_absent(&mut m, host, i);
    }
    let memory = memory_mb(fleet, host);
    set(&mut m, &["virtualisation", "memorySize"], Nix::Int(memory));
    set(&mut m, &["virtualisation", "diskSize"], Nix::Int(DISK_MB));
    set(&mut m, &["virtualisation", "cores"], Nix::Int(CORES));
    m
}

/// A service that needs a device is built but not started; Frigate's
/// Coral detector becomes its CPU detector, so Frigate still starts.
fn devices_absent(m: &mut Attrs, host: &HostPlan, i: &Instance) {
    if not_started(i).is_some() {
        for unit in i.units() {
            set(
                m,
                &["systemd", "services", unit, "wantedBy"],
                force(Nix::List(vec![])),
            );
        }
    }
    if i.entry.name == "frigate" && host.spec.devices_of("coral").next().is_some() {
        let mut cpu = Attrs::new();
        set(&mut cpu, &["cpu", "type"], "cpu");
        set(
            m,
            &["services", "frigate", "settings", "detectors"],
            force(Nix::Attrs(cpu)),
        );
    }
}

/// The catalog estimates of the host plus the base, in whole GiB.
pub(crate) fn memory_mb(fleet: &Fleet, host: &HostPlan) -> i64 {
    let (services, infra) = fleet.ram_estimate_mb(host);
    let total = services + infra + BASE_MEMORY_MB;
    total.div_ceil(1024) as i64 * 1024
}

fn force(value: Nix) -> Nix {
    Nix::call("lib.mkForce", vec![value])
}

/// The secrets the host decrypts, by name.
pub fn host_secrets<'f>(fleet: &'f Fleet, host: &HostPlan) -> Vec<&'f Secret> {
    fleet
        .secrets
        .values()
        .filter(|s| s.hosts.iter().any(|h| h == host.name()))
        .collect()
}

/// agenix decrypts stand-ins with a throwaway identity: both come from
/// `vm-secrets.nix`, so no real secret and no host key is in the VM.
fn stand_in_secrets(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    let secrets = host_secrets(fleet, host);
    if secrets.is_empty() {
        return;
    }
    set(
        m,
        &["age", "identityPaths"],
        force(Nix::List(vec![stand_in_path("identity")])),
    );
    for s in secrets {
        set(
            m,
            &["age", "secrets", &s.name, "file"],
            force(stand_in_path(&format!("{}.age", s.name))),
        );
    }
}

/// The name `vm.nix` gives the stand-in secrets, built once.
const STAND_INS: &str = "standIns";

/// What `vm.nix` names before its body, when the host has secrets:
/// `standIns = pkgs.callPackage ./vm-secrets.nix { };`.
pub(crate) fn bindings(fleet: &Fleet, host: &HostPlan) -> Vec<(String, Nix)> {
    if host_secrets(fleet, host).is_empty() {
        return Vec::new();
    }
    let build = Nix::call(
        "pkgs.callPackage",
        vec![
            Nix::Path(format!("./{SECRETS_FILE}")),
            Nix::Attrs(Attrs::new()),
        ],
    );
    vec![(STAND_INS.to_string(), build)]
}

/// `"${standIns}/<file>"`.
fn stand_in_path(file: &str) -> Nix {
    Nix::Interp(vec![
        Nix::select(STAND_INS, Vec::<String>::new()),
        Nix::str(format!("/{file}")),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet() -> Fleet {
        crate::compile(crate::examples::get("family").unwrap())
            .unwrap()
            .0
    }

    #[test]
    fn the_vm_has_the_memory_of_its_services_in_whole_gib() {
        let fleet = fleet();
        for host in &fleet.hosts {
            let mb = memory_mb(&fleet, host);
            assert_eq!(mb % 1024, 0);
            assert!(mb >= 2048, "{}: {mb}", host.name());
        }
    }
}
