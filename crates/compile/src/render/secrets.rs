//! Secrets in the flake: `secrets/secrets.nix` says who can decrypt each
//! agenix secret (the admin keys and the hosts that use it), and each host
//! declares the secrets it reads with the owner, group and mode of the
//! decrypted file. The `.age` files are made by `homelab secrets`; no value
//! ever reaches a generated file.

use super::File;
use crate::fleet::Fleet;
use crate::nix::{Attrs, Nix, set};

/// The unit agenix decrypts secrets in when NixOS creates users with
/// systemd-sysusers or userborn (`agenix-install-secrets.service`, wanted
/// by sysinit.target). Otherwise agenix decrypts in the activation script,
/// before any unit starts, and ordering after a unit that does not exist
/// is a no-op in systemd: the `after` is right in both modes.
pub(crate) const AGENIX_UNIT: &str = "agenix-install-secrets.service";

/// The header of `secrets/secrets.nix`.
const RECIPIENTS_COMMENT: &str =
    "agenix recipients of each secret: the admin keys and the hosts that decrypt it.
Create and rekey the files with `homelab secrets` (or `agenix -e <name>.age` here).";

pub fn recipients(fleet: &Fleet) -> File {
    let mut m = Attrs::new();
    for secret in fleet.secrets.values() {
        set(
            &mut m,
            &[&format!("{}.age", secret.name), "publicKeys"],
            Nix::strs(recipient_keys(fleet, &secret.name)),
        );
    }
    let mut file = File::tool("secrets/secrets.nix", Nix::Attrs(m));
    file.comment = Some(RECIPIENTS_COMMENT.into());
    file
}

/// The public keys a secret is encrypted to.
pub(crate) fn recipient_keys(fleet: &Fleet, name: &str) -> Vec<String> {
    fleet
        .secret_readers(name)
        .into_iter()
        .map(|r| r.key)
        .collect()
}

/// Declares `age.secrets.<name>` (file, owner, group, mode) and orders the
/// units that read it after agenix. `depth` is how many folders below the
/// flake root the declaring file sits.
pub fn declare(m: &mut Attrs, fleet: &Fleet, name: &str, depth: usize) {
    declare_file(m, fleet, name, depth);
    let Some(secret) = fleet.secrets.get(name) else {
        return;
    };
    for unit in &secret.units {
        let service = unit.strip_suffix(".service").unwrap_or(unit);
        if !orders_after_agenix(m, service) {
            set(
                m,
                &["systemd", "services", service, "after"],
                Nix::strs([AGENIX_UNIT]),
            );
        }
    }
}

/// Declares `age.secrets.<name>` alone, for a reader that is none of the
/// secret's usual units and orders itself after agenix (the NAS, which
/// reads the backup password to prune).
pub(crate) fn declare_file(m: &mut Attrs, fleet: &Fleet, name: &str, depth: usize) {
    let folder = match depth {
        0 => "./secrets".to_string(),
        _ => format!("{}secrets", "../".repeat(depth)),
    };
    // `<folder> + "/<name>.age"`: a path, whatever the name holds.
    let file = Nix::Concat(vec![Nix::Path(folder), Nix::str(format!("/{name}.age"))]);
    set(m, &["age", "secrets", name, "file"], file);
    let Some(secret) = fleet.secrets.get(name) else {
        return;
    };
    if let Some(owner) = &secret.owner {
        set(m, &["age", "secrets", name, "owner"], owner.as_str());
    }
    if let Some(group) = &secret.group {
        set(m, &["age", "secrets", name, "group"], group.as_str());
    }
    set(m, &["age", "secrets", name, "mode"], secret.mode.as_str());
}

/// Whether this file already orders `service` after agenix (two secrets
/// of one service must not repeat the entry).
fn orders_after_agenix(m: &Attrs, service: &str) -> bool {
    let mut node = m;
    for key in ["systemd", "services", service] {
        match node.get(key) {
            Some(Nix::Attrs(inner)) => node = inner,
            _ => return false,
        }
    }
    matches!(node.get("after"), Some(Nix::List(l)) if l.contains(&Nix::str(AGENIX_UNIT)))
}

/// Declares an agenix secret; `depth` is how many folders below the flake
/// root the declaring file sits.
pub(crate) fn age_secret(m: &mut Attrs, fleet: &Fleet, name: &str, depth: usize) {
    declare(m, fleet, name, depth);
}

/// `config.age.secrets."name".path`, the decrypted file at run time.
pub(crate) fn secret_path(name: &str) -> Nix {
    Nix::age_secret_path(name)
}

/// `name:path` for `LoadCredential=`: the agenix file of `secret`, handed
/// to the unit as its credential `name`.
pub(crate) fn load_credential(name: &str, secret: &str) -> Nix {
    Nix::Interp(vec![Nix::str(format!("{name}:")), secret_path(secret)])
}
