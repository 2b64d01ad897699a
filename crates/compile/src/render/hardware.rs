//! `hardware.nix`: what the spec knows about the machine, written once as a
//! starting point the user owns. At install, nixos-anywhere's
//! `--generate-hardware-config` replaces it with what the machine reports
//! (kernel modules for the initrd, CPU, firmware); the file systems stay in
//! `disko.nix`, which is why that scan runs with `--no-filesystems`.

use super::{File, Owner};
use crate::fleet::HostPlan;
use crate::nix::{Attrs, Nix, set};
use crate::spec::Cpu;

pub fn hardware(host: &HostPlan) -> File {
    let mut m = Attrs::new();
    // Firmware for common network and storage chips; NixOS's own hardware
    // scan turns it on the same way (installer/scan/not-detected.nix).
    set(
        &mut m,
        &["hardware", "enableRedistributableFirmware"],
        Nix::raw("lib.mkDefault true"),
    );
    if let Some(cpu) = &host.spec.cpu {
        let vendor = match cpu.value {
            Cpu::Intel => "intel",
            Cpu::Amd => "amd",
        };
        set(
            &mut m,
            &["hardware", "cpu", vendor, "updateMicrocode"],
            Nix::raw("lib.mkDefault config.hardware.enableRedistributableFirmware"),
        );
    }
    let name = host.name();
    File {
        path: format!("hosts/{name}/hardware.nix"),
        owner: Owner::User,
        value: Nix::module(m),
        comment: Some(format!(
            "Hardware of {name}. This file is yours: homelab created it once and never rewrites it.\n\
             \n\
             Fill in what the machine reports, at install with nixos-anywhere\n\
             `--generate-hardware-config nixos-generate-config hosts/{name}/hardware.nix`,\n\
             or on the running machine with `nixos-generate-config --show-hardware-config --no-filesystems`\n\
             (its `boot.initrd.availableKernelModules` are the drivers the initrd needs to find the boot disk).\n\
             Keep `--no-filesystems`: the disks are declared in disko.nix. The platform\n\
             (`nixpkgs.hostPlatform`, from the spec's `system`) is set in core.nix."
        )),
    }
}
