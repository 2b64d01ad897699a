//! Rules that keep the administrator able to reach the machines.

use crate::diagnostic::Diagnostic;
use crate::fleet::Fleet;

/// The generated hosts allow SSH with keys only and have no passwords
/// (`users.mutableUsers = false`): without an admin key nobody could log
/// in or deploy.
pub(crate) fn admin_can_log_in(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    if fleet.homelab.admin_keys.is_empty() {
        out.push(
            Diagnostic::error("no-admin-key", "no SSH key can log in to the hosts")
                .at(fleet.homelab.name.span.clone(), "this homelab has no `admin_keys`")
                .help("add `admin_keys = [\"ssh-ed25519 AAAA… you@laptop\"]` to `[homelab]` (the line from ~/.ssh/id_ed25519.pub)"),
        );
    }
}
