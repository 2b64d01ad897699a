//! What the status page's host adds for others: the alerts of a check,
//! what a check shows on a public page, and the environment files Gatus
//! reads the `${VAR}`s of its settings from (secrets that never reach the
//! Nix store).

use super::secrets::secret_path;
use crate::fleet::Fleet;
use crate::fleet::channels::status_alert_types;
use crate::nix::{Attrs, Nix, set};

/// Adds an agenix secret to Gatus' environment files, where it reads the
/// `${VAR}`s of its settings from; a list, so each contribution adds one.
pub(crate) fn environment_file(m: &mut Attrs, secret: &str) {
    set(
        m,
        &[
            "systemd",
            "services",
            "gatus",
            "serviceConfig",
            "EnvironmentFile",
        ],
        Nix::list([secret_path(secret)]),
    );
}

/// The `alerts` of every status check: one per provider of the channels
/// of the `status` route (none without `[alerts]`).
pub(crate) fn check_alerts(fleet: &Fleet) -> Option<Nix> {
    let types = status_alert_types(fleet);
    if types.is_empty() {
        return None;
    }
    Some(Nix::list(types.into_iter().map(|t| {
        let mut alert = Attrs::new();
        alert.insert("type".into(), Nix::str(t));
        Nix::Attrs(alert)
    })))
}

/// Whether the status page is on the internet (`exposure = "public"`).
pub(crate) fn public(fleet: &Fleet) -> bool {
    fleet
        .instances
        .iter()
        .any(|i| i.entry.name == "gatus" && i.public_fqdn.is_some())
}

/// The `ui` of every status check on a public page: its name, group and
/// state only. Gatus then keeps no hostname or port in a result, takes
/// the URL, hostname and port out of error texts, and drops the errors
/// and the conditions' results (config/endpoint/endpoint.go, v5.34.0),
/// so the internet never sees an address, a port or a path of the LAN.
pub(crate) fn check_ui(fleet: &Fleet) -> Option<Nix> {
    if !public(fleet) {
        return None;
    }
    let mut ui = Attrs::new();
    for hide in [
        "hide-hostname",
        "hide-url",
        "hide-port",
        "hide-conditions",
        "hide-errors",
    ] {
        ui.insert(hide.into(), Nix::Bool(true));
    }
    Some(Nix::Attrs(ui))
}
