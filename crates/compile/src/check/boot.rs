//! Rules that keep every host installable: a host whose flake has no root
//! file system fails NixOS's own assertion on the user's machine, so the
//! spec must name the disk it boots from.

use crate::diagnostic::Diagnostic;
use crate::fleet::Fleet;
use crate::spec::Sp;

/// Every host has `[hosts.<name>.boot]` with its boot disk.
pub(crate) fn host_has_boot_disk(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for host in fleet.hosts.iter().filter(|h| h.spec.boot.is_none()) {
        let name = host.name();
        out.push(
            Diagnostic::error(
                "missing-boot-disk",
                format!("host `{name}` has no boot disk"),
            )
            .at(
                host.spec.name.span.clone(),
                "without one its flake has no root file system and cannot build",
            )
            .help(format!(
                "add `[hosts.{name}.boot]` with `disk = \"/dev/disk/by-id/…\"` (`ls -l /dev/disk/by-id` on the machine lists them); the disk is erased at install"
            )),
        );
    }
}

/// No disk of a host is named twice: by its boot disk or mirror, or its
/// pools. disko would partition one disk for two purposes, each layout
/// erasing the other (or refuse a mirror of a disk with itself). A name
/// and a partition of it (`…-part2`, `/dev/sda1`, `/dev/nvme0n1p1`) are
/// one disk too. Two names for one disk (`/dev/sda` and its by-id link)
/// cannot be told apart here; `homelab install` lists the target's disks.
pub(crate) fn disks_distinct(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for host in &fleet.hosts {
        let boot = host.spec.boot.iter().flat_map(|b| &b.disks);
        let mirrored = host.spec.boot.as_ref().is_some_and(|b| b.mirrored());
        let boot_what = if mirrored {
            "the boot mirror"
        } else {
            "the boot disk"
        };
        let named: Vec<(&Sp<String>, String)> = boot
            .map(|d| (d, boot_what.to_string()))
            .chain(host.spec.pools.iter().flat_map(|p| {
                p.disks
                    .iter()
                    .map(move |d| (d, format!("pool `{}`", p.name.value)))
            }))
            .collect();
        for (n, (disk, what)) in named.iter().enumerate() {
            let earlier = named[..n]
                .iter()
                .find(|(other, _)| same_disk(&other.value, &disk.value));
            let Some((other, other_what)) = earlier else {
                continue;
            };
            let message = if other.value == disk.value {
                format!("`{}` is named twice on `{}`", disk.value, host.name())
            } else {
                format!(
                    "`{}` and `{}` are one disk of `{}`",
                    other.value,
                    disk.value,
                    host.name()
                )
            };
            out.push(
                Diagnostic::error("duplicate-disk", message)
                    .at(disk.span.clone(), format!("for {what}"))
                    .also(other.span.clone(), format!("already for {other_what}"))
                    .help("give each purpose its own whole disk (`ls -l /dev/disk/by-id/` on the machine lists them)"),
            );
        }
    }
}

/// Whether two device paths name one disk: the same path, or a whole disk
/// and one of its partitions.
fn same_disk(a: &str, b: &str) -> bool {
    a == b || partition_of(a, b) || partition_of(b, a)
}

/// `part` is a partition of `disk`: by-id's `-part<N>`, a `p<N>` after a
/// name ending in a digit (`nvme0n1p1`, `mmcblk0p1`), or `<N>` after one
/// ending in a letter (`sda1`).
fn partition_of(part: &str, disk: &str) -> bool {
    let Some(rest) = part.strip_prefix(disk) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(n) = rest.strip_prefix("-part") {
        return digits(n);
    }
    match disk.bytes().last() {
        Some(c) if c.is_ascii_digit() => rest.strip_prefix('p').is_some_and(digits),
        Some(c) if c.is_ascii_alphabetic() => digits(rest),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::same_disk;

    #[test]
    fn a_disk_and_its_partitions_are_one_disk() {
        let id = "/dev/disk/by-id/nvme-Samsung_SSD_980_S1";
        assert!(same_disk(id, id));
        assert!(same_disk(id, &format!("{id}-part2")));
        assert!(same_disk("/dev/sda1", "/dev/sda"));
        assert!(same_disk("/dev/nvme0n1", "/dev/nvme0n1p3"));
        assert!(!same_disk("/dev/sda", "/dev/sdb"));
        assert!(!same_disk("/dev/sda", "/dev/sdaa"));
        assert!(!same_disk("/dev/nvme0n1", "/dev/nvme0n12"));
        assert!(!same_disk(id, &format!("{id}0")));
        assert!(!same_disk(&format!("{id}-A"), &format!("{id}-B")));
    }
}
