//! `core.nix`: what every host has whatever it runs — identity, the admin
//! user, SSH hardening, the firewall, fail2ban, nix settings, boot.

use crate::fleet::{Fleet, HostPlan, TAILNET_RANGE};
use crate::nix::{Attrs, Nix, set};

/// One evaluation error naming every agenix file that is not in the flake
/// yet. agenix types `file` as a path and copies it to the store only when
/// the activation script is built, which NixOS does after checking
/// assertions; `builtins.pathExists` reads the file system without copying.
const SECRET_FILES_EXIST: &str = r#"let
  missing = builtins.filter (s: !builtins.pathExists s.file) (builtins.attrValues config.age.secrets);
in
[
  {
    assertion = missing == [ ];
    message = "secret files missing from the flake: "
      + builtins.concatStringsSep ", " (map (s: "secrets/${baseNameOf (toString s.file)}") missing)
      + ". Create each with `homelab secrets` (or `agenix -e <name>.age` in secrets/) and `git add` it (a flake sees only files git tracks).";
  }
]"#;

/// The host's `system.stateVersion`: the release it was installed with
/// when the spec says so, else the pinned release (a new install).
pub(crate) fn state_version(host: &HostPlan) -> String {
    let fixed = host.spec.state_version.as_ref().map(|v| v.value.as_str());
    crate::release::state_version(fixed).to_string()
}

/// Boot entries kept on the EFI system partition (1G holds this many
/// kernels and initrds).
const BOOT_ENTRIES: i64 = 20;

/// systemd-boot on the one EFI system partition; for a mirrored boot disk,
/// GRUB, the loader NixOS mirrors (`boot.loader.grub.mirroredBoots`): it
/// writes the boot files and itself to every disk's EFI system partition,
/// at the firmware's fallback path (`--removable`, `EFI/BOOT/BOOTX64.EFI`),
/// which any firmware boots from whichever disk is left, with no boot entry
/// in its memory to lose. systemd-boot installs to one partition only.
fn boot_loader(m: &mut Attrs, host: &HostPlan) {
    let mirror = host.spec.boot.as_ref().filter(|b| b.mirrored());
    let Some(boot) = mirror else {
        set(m, &["boot", "loader", "systemd-boot", "enable"], true);
        set(
            m,
            &["boot", "loader", "systemd-boot", "configurationLimit"],
            BOOT_ENTRIES,
        );
        set(m, &["boot", "loader", "efi", "canTouchEfiVariables"], true);
        return;
    };
    let grub = ["boot", "loader", "grub"];
    set(m, &[grub[0], grub[1], grub[2], "enable"], true);
    set(m, &[grub[0], grub[1], grub[2], "efiSupport"], true);
    // The removable path, and so no boot entries: grub.nix asserts that
    // efiInstallAsRemovable goes with canTouchEfiVariables = false.
    set(
        m,
        &[grub[0], grub[1], grub[2], "efiInstallAsRemovable"],
        true,
    );
    set(m, &["boot", "loader", "efi", "canTouchEfiVariables"], false);
    set(
        m,
        &[grub[0], grub[1], grub[2], "configurationLimit"],
        BOOT_ENTRIES,
    );
    // `nodev`: no BIOS boot code, the EFI install only (install-grub.pl
    // skips `nodev` when it writes boot sectors).
    let mirrors = (0..boot.disks.len()).map(|n| {
        let mut mirror = Attrs::new();
        mirror.insert("devices".into(), Nix::strs(["nodev"]));
        mirror.insert("path".into(), Nix::str(super::disko::esp_mount(n)));
        Nix::Attrs(mirror)
    });
    set(
        m,
        &[grub[0], grub[1], grub[2], "mirroredBoots"],
        Nix::list(mirrors),
    );
}

/// Address ranges never banned by fail2ban: loopback, the home network
/// ranges and the tailnet.
const TRUSTED_RANGES: [&str; 5] = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    TAILNET_RANGE,
];

pub fn core(fleet: &Fleet, host: &HostPlan) -> Attrs {
    let h = &fleet.homelab;
    let mut m = Attrs::new();
    set(&mut m, &["networking", "hostName"], host.name());
    set(&mut m, &["networking", "hostId"], host.host_id.as_str());
    set(
        &mut m,
        &["nixpkgs", "hostPlatform"],
        host.spec.system.value.as_str(),
    );
    set(&mut m, &["time", "timeZone"], h.timezone.value.as_str());
    set(&mut m, &["system", "stateVersion"], state_version(host));

    boot_loader(&mut m, host);

    set(
        &mut m,
        &["nix", "settings", "experimental-features"],
        Nix::strs(["nix-command", "flakes"]),
    );
    set(
        &mut m,
        &["nix", "settings", "trusted-users"],
        Nix::strs(["root", "@wheel"]),
    );
    // Printed at the module's top level, one indent deep.
    set(
        &mut m,
        &["assertions"],
        Nix::raw(SECRET_FILES_EXIST.replace('\n', "\n  ")),
    );

    set(&mut m, &["nix", "gc", "automatic"], true);
    set(&mut m, &["nix", "gc", "dates"], "weekly");
    set(&mut m, &["nix", "gc", "options"], "--delete-older-than 30d");

    // The admin logs in with keys only; deploy-rs connects as this user and
    // activates as root through sudo.
    let keys = Nix::strs(h.admin_keys.iter().map(|k| k.value.clone()));
    let admin = h.admin_user.value.as_str();
    set(&mut m, &["users", "mutableUsers"], false);
    set(&mut m, &["users", "users", admin, "isNormalUser"], true);
    set(
        &mut m,
        &["users", "users", admin, "extraGroups"],
        Nix::strs(["wheel"]),
    );
    set(
        &mut m,
        &["users", "users", admin, "openssh", "authorizedKeys", "keys"],
        keys,
    );
    set(&mut m, &["security", "sudo", "wheelNeedsPassword"], false);

    let ssh = ["services", "openssh"];
    set(&mut m, &[ssh[0], ssh[1], "enable"], true);
    set(&mut m, &[ssh[0], ssh[1], "openFirewall"], true);
    for (k, v) in [
        ("PasswordAuthentication", false),
        ("KbdInteractiveAuthentication", false),
    ] {
        set(&mut m, &[ssh[0], ssh[1], "settings", k], v);
    }
    set(
        &mut m,
        &[ssh[0], ssh[1], "settings", "PermitRootLogin"],
        "no",
    );

    set(&mut m, &["networking", "firewall", "enable"], true);
    set(&mut m, &["networking", "firewall", "allowPing"], true);
    set(
        &mut m,
        &["networking", "firewall", "logRefusedConnections"],
        true,
    );

    set(&mut m, &["services", "fail2ban", "enable"], true);
    set(&mut m, &["services", "fail2ban", "maxretry"], 5i64);
    set(&mut m, &["services", "fail2ban", "bantime"], "1h");
    set(
        &mut m,
        &["services", "fail2ban", "ignoreIP"],
        Nix::strs(TRUSTED_RANGES),
    );
    super::reach::proxy_from_tailnet(&mut m, fleet, host);
    m
}
