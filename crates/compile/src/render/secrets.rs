//! `secrets/secrets.nix`: who can decrypt each agenix secret — the admin
//! keys and the hosts that use it. The `.age` files are the user's.

use super::File;
use crate::fleet::Fleet;
use crate::nix::{Attrs, Nix, set};

pub fn recipients(fleet: &Fleet) -> File {
    let admin: Vec<String> = fleet
        .homelab
        .admin_keys
        .iter()
        .map(|k| k.value.clone())
        .collect();
    let mut m = Attrs::new();
    for secret in fleet.secrets.values() {
        let mut keys = admin.clone();
        for host in &secret.hosts {
            let key = fleet
                .hosts
                .iter()
                .find(|h| h.name() == host)
                .and_then(|h| h.spec.host_key.as_ref());
            if let Some(k) = key
                && !keys.contains(&k.value)
            {
                keys.push(k.value.clone());
            }
        }
        set(
            &mut m,
            &[&format!("{}.age", secret.name), "publicKeys"],
            Nix::strs(keys),
        );
    }
    let mut file = File::tool("secrets/secrets.nix", Nix::Attrs(m));
    file.comment = Some(
        "agenix recipients: encrypt each secret with `agenix -e <name>.age` in this folder.".into(),
    );
    file
}
