//! `disko.nix`: the host's disks for a fresh install (nixos-anywhere) and
//! the pools services put their datasets on. Dataset entries come from the
//! service files.

use crate::fleet::HostPlan;
use crate::nix::{Attrs, Nix, set};

pub fn disko(host: &HostPlan) -> Attrs {
    let mut m = Attrs::new();
    if let Some(disk) = &host.spec.boot_disk {
        boot_disk(&mut m, &disk.value);
    }
    for pool in &host.spec.pools {
        let name = pool.name.value.as_str();
        for (n, disk) in pool.disks.iter().enumerate() {
            let key = format!("{name}-{n}");
            let d = ["disko", "devices", "disk", key.as_str()];
            set(&mut m, &[d[0], d[1], d[2], d[3], "type"], "disk");
            set(
                &mut m,
                &[d[0], d[1], d[2], d[3], "device"],
                disk.value.as_str(),
            );
            set(&mut m, &[d[0], d[1], d[2], d[3], "content", "type"], "gpt");
            let part = [d[0], d[1], d[2], d[3], "content", "partitions", "zfs"];
            set(
                &mut m,
                &[
                    part[0], part[1], part[2], part[3], part[4], part[5], part[6], "size",
                ],
                "100%",
            );
            set(
                &mut m,
                &[
                    part[0], part[1], part[2], part[3], part[4], part[5], part[6], "content",
                    "type",
                ],
                "zfs",
            );
            set(
                &mut m,
                &[
                    part[0], part[1], part[2], part[3], part[4], part[5], part[6], "content",
                    "pool",
                ],
                name,
            );
        }
        let z = ["disko", "devices", "zpool", name];
        set(&mut m, &[z[0], z[1], z[2], z[3], "type"], "zpool");
        // disko spells a single-disk (striped) vdev as the empty mode.
        let mode = if pool.mode.value == "single" {
            ""
        } else {
            pool.mode.value.as_str()
        };
        set(&mut m, &[z[0], z[1], z[2], z[3], "mode"], mode);
        set(&mut m, &[z[0], z[1], z[2], z[3], "options", "ashift"], "12");
        let mut fs = Attrs::new();
        for (k, v) in [
            ("compression", pool.compression.value.as_str()),
            ("mountpoint", "none"),
            ("atime", "off"),
            ("xattr", "sa"),
            ("acltype", "posixacl"),
        ] {
            fs.insert(k.into(), Nix::str(v));
        }
        set(
            &mut m,
            &[z[0], z[1], z[2], z[3], "rootFsOptions"],
            Nix::Attrs(fs),
        );
    }
    m
}

/// A GPT disk with an EFI system partition and an ext4 root.
fn boot_disk(m: &mut Attrs, device: &str) {
    let d = ["disko", "devices", "disk", "boot"];
    set(m, &[d[0], d[1], d[2], d[3], "type"], "disk");
    set(m, &[d[0], d[1], d[2], d[3], "device"], device);
    set(m, &[d[0], d[1], d[2], d[3], "content", "type"], "gpt");
    let mut esp = Attrs::new();
    set(&mut esp, &["size"], "1G");
    set(&mut esp, &["type"], "EF00");
    set(&mut esp, &["content", "type"], "filesystem");
    set(&mut esp, &["content", "format"], "vfat");
    set(&mut esp, &["content", "mountpoint"], "/boot");
    set(
        &mut esp,
        &["content", "mountOptions"],
        Nix::strs(["umask=0077"]),
    );
    let mut root = Attrs::new();
    set(&mut root, &["size"], "100%");
    set(&mut root, &["content", "type"], "filesystem");
    set(&mut root, &["content", "format"], "ext4");
    set(&mut root, &["content", "mountpoint"], "/");
    let mut parts = Attrs::new();
    parts.insert("ESP".into(), Nix::Attrs(esp));
    parts.insert("root".into(), Nix::Attrs(root));
    set(
        m,
        &[d[0], d[1], d[2], d[3], "content", "partitions"],
        Nix::Attrs(parts),
    );
}
