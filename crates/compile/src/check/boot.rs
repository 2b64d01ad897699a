//! Rules that keep every host installable: a host whose flake has no root
//! file system fails NixOS's own assertion on the user's machine, so the
//! spec must name the disk it boots from.

use crate::diagnostic::Diagnostic;
use crate::fleet::Fleet;

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
