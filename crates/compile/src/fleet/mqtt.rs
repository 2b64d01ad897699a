//! Logins at the MQTT broker. A catalog entry with a secret slot named
//! [`LOGIN_SLOT`] logs in to the fleet's broker as a user named after the
//! entry (`zigbee2mqtt`); the broker, wherever it runs, gets that user with
//! the same machine-made password file, so neither side is written by hand
//! and the two never disagree.

use super::model::{Instance, Secret};
use crate::nix::{Attrs, Nix};
use std::collections::BTreeMap;

/// The slot holding an entry's password at the broker.
pub(crate) const LOGIN_SLOT: &str = "mqtt-password";
/// What a broker provides, in the catalog's `provides`.
const BROKER: &str = "mqtt-broker";

/// Adds every client's login to the broker's first listener and lets the
/// broker's host decrypt the password (the module hands the file to the
/// broker as a systemd credential, so root reading it is enough).
pub(crate) fn logins(instances: &mut [Instance], secrets: &mut BTreeMap<String, Secret>) {
    let clients: Vec<(String, String, String)> = instances
        .iter()
        .filter_map(|i| {
            let secret = i.secrets.get(LOGIN_SLOT)?;
            Some((i.entry.name.clone(), i.host.clone(), secret.clone()))
        })
        .collect();
    let Some(broker) = instances
        .iter_mut()
        .find(|i| i.entry.provides.iter().any(|p| p == BROKER))
    else {
        return;
    };
    for (user, host, secret) in clients {
        let mut login = Attrs::new();
        login.insert(
            "passwordFile".into(),
            Nix::raw(format!(
                "config.age.secrets.{}.path",
                crate::nix::attr_name(&secret)
            )),
        );
        login.insert("acl".into(), Nix::strs(["readwrite #"]));
        if let Some(users) = first_listener_users(&mut broker.nixos) {
            users.insert(user.clone(), Nix::Attrs(login));
        }
        if let Some(s) = secrets.get_mut(&secret) {
            if !s.hosts.contains(&broker.host) {
                s.hosts.push(broker.host.clone());
            }
            if !s.units.iter().any(|u| u == "mosquitto.service") {
                s.units.push("mosquitto.service".into());
            }
            s.used_by.push(broker.name.value.clone());
        }
        // On the client's own host the client's file declares it.
        if host != broker.host {
            broker.secrets.insert(format!("login-{user}"), secret);
        }
    }
}

/// `services.mosquitto.listeners` element 0's `users`, created if absent.
fn first_listener_users(nixos: &mut Attrs) -> Option<&mut Attrs> {
    let Nix::Attrs(services) = nixos.get_mut("services")? else {
        return None;
    };
    let Nix::Attrs(mosquitto) = services.get_mut("mosquitto")? else {
        return None;
    };
    let Nix::List(listeners) = mosquitto.get_mut("listeners")? else {
        return None;
    };
    let Nix::Attrs(first) = listeners.first_mut()? else {
        return None;
    };
    let users = first
        .entry("users".to_string())
        .or_insert_with(|| Nix::Attrs(Attrs::new()));
    match users {
        Nix::Attrs(u) => Some(u),
        _ => None,
    }
}
