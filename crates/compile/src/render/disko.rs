//! `disko.nix`: the host's disks for a fresh install (nixos-anywhere) — the
//! boot disk with its root file system, and the pools services put their
//! datasets on. Dataset entries come from the
//! service files.

use crate::fleet::HostPlan;
use crate::nix::{Attrs, Nix, set};
use crate::spec::{Boot, RootFs};

pub fn disko(host: &HostPlan) -> Attrs {
    let mut m = Attrs::new();
    if let Some(boot) = &host.spec.boot {
        boot_disk(&mut m, boot);
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

/// The root pool of a ZFS boot disk. Data pools are separate, so a
/// replaced data disk never touches what the host boots from.
pub(crate) const ROOT_POOL: &str = "rpool";

/// The boot disk: a GPT disk with an EFI system partition at `/boot`
/// (the boot loader keeps every generation's kernel there, hence 1G), an
/// optional swap partition, and the root: ext4, or a ZFS pool of its own.
/// A mirror repeats the layout on each disk (ESPs at `/boot`, `/boot-2`…,
/// see `esp_mount`) with the root pool mirrored across them.
fn boot_disk(m: &mut Attrs, boot: &Boot) {
    for (n, device) in boot.disks.iter().enumerate() {
        let disk = one_boot_disk(boot, &device.value, &esp_mount(n));
        set(
            m,
            &["disko", "devices", "disk", &boot_disk_name(n)],
            Nix::Attrs(disk),
        );
    }
    if boot.fs.value == RootFs::Zfs {
        root_pool(m, boot.mirrored());
    }
}

/// disko's name of the `n`th boot disk: `boot`, then `boot-2`, `boot-3`;
/// its partitions' labels (`disk-<name>-ESP`) follow, so each is unique.
fn boot_disk_name(n: usize) -> String {
    match n {
        0 => "boot".to_string(),
        n => format!("boot-{}", n + 1),
    }
}

/// Where the `n`th boot disk's EFI system partition is mounted: `/boot`,
/// then `/boot-2`, `/boot-3` (GRUB mirrors the boot files to each).
pub(crate) fn esp_mount(n: usize) -> String {
    match n {
        0 => "/boot".to_string(),
        n => format!("/boot-{}", n + 1),
    }
}

fn one_boot_disk(boot: &Boot, device: &str, esp_at: &str) -> Attrs {
    let mut disk = Attrs::new();
    set(&mut disk, &["type"], "disk");
    set(&mut disk, &["device"], device);
    set(&mut disk, &["content", "type"], "gpt");
    let mut parts = Attrs::new();
    parts.insert("ESP".into(), Nix::Attrs(esp(esp_at, boot.mirrored())));
    if let Some(swap) = &boot.swap {
        let mut p = Attrs::new();
        set(&mut p, &["size"], swap.value.zfs());
        set(&mut p, &["content", "type"], "swap");
        if boot.mirrored() {
            set(&mut p, &["content", "mountOptions"], Nix::strs(["nofail"]));
        }
        parts.insert("swap".into(), Nix::Attrs(p));
    }
    let mut root = Attrs::new();
    set(&mut root, &["size"], "100%");
    match boot.fs.value {
        RootFs::Ext4 => {
            set(&mut root, &["content", "type"], "filesystem");
            set(&mut root, &["content", "format"], "ext4");
            set(&mut root, &["content", "mountpoint"], "/");
        }
        RootFs::Zfs => {
            set(&mut root, &["content", "type"], "zfs");
            set(&mut root, &["content", "pool"], ROOT_POOL);
        }
    }
    parts.insert("root".into(), Nix::Attrs(root));
    set(&mut disk, &["content", "partitions"], Nix::Attrs(parts));
    disk
}

/// The EFI system partition, readable by root only (the loader's random
/// seed lives there). On a mirror each disk's is `nofail`, as is its swap:
/// a dead disk's partitions are waited for, then left out, and the host
/// boots from the other disk instead of stopping in emergency mode.
fn esp(mountpoint: &str, mirrored: bool) -> Attrs {
    let mut esp = Attrs::new();
    set(&mut esp, &["size"], "1G");
    set(&mut esp, &["type"], "EF00");
    set(&mut esp, &["content", "type"], "filesystem");
    set(&mut esp, &["content", "format"], "vfat");
    set(&mut esp, &["content", "mountpoint"], mountpoint);
    let options: &[&str] = if mirrored {
        &["umask=0077", "nofail"]
    } else {
        &["umask=0077"]
    };
    set(
        &mut esp,
        &["content", "mountOptions"],
        Nix::strs(options.iter().copied()),
    );
    esp
}

/// `rpool` with `/` and `/nix` as legacy-mounted datasets (NixOS mounts
/// them from `fileSystems`, which disko derives from `mountpoint`); a
/// mirror across the boot disks' root partitions when there are several.
fn root_pool(m: &mut Attrs, mirrored: bool) {
    let mut pool = Attrs::new();
    set(&mut pool, &["type"], "zpool");
    if mirrored {
        set(&mut pool, &["mode"], "mirror");
    }
    set(&mut pool, &["options", "ashift"], "12");
    let mut fs = Attrs::new();
    for (k, v) in [
        ("compression", "zstd"),
        ("mountpoint", "none"),
        ("atime", "off"),
        ("xattr", "sa"),
        ("acltype", "posixacl"),
    ] {
        fs.insert(k.into(), Nix::str(v));
    }
    pool.insert("rootFsOptions".into(), Nix::Attrs(fs));
    for (name, mountpoint) in [("root", "/"), ("nix", "/nix")] {
        let mut ds = Attrs::new();
        set(&mut ds, &["type"], "zfs_fs");
        set(&mut ds, &["mountpoint"], mountpoint);
        set(&mut ds, &["options", "mountpoint"], "legacy");
        set(&mut pool, &["datasets", name], Nix::Attrs(ds));
    }
    set(
        m,
        &["disko", "devices", "zpool", ROOT_POOL],
        Nix::Attrs(pool),
    );
}
