//! What the status page's host adds for others: the alerts of a check,
//! and the environment files Gatus reads the `${VAR}`s of its settings
//! from (secrets that never reach the Nix store).

use super::secrets::secret_path;
use crate::fleet::Fleet;
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

/// The `alerts` of every status check when the spec has `[alerts]`.
pub(crate) fn check_alerts(fleet: &Fleet) -> Option<Nix> {
    fleet.alerts.as_ref()?;
    let mut alert = Attrs::new();
    alert.insert("type".into(), Nix::str("email"));
    Some(Nix::list([Nix::Attrs(alert)]))
}
