//! Admin devices: an `admins` service is reached on the tailnet from the
//! devices `[access.tailscale] admins` lists, so it needs at least one.

use crate::diagnostic::Diagnostic;
use crate::fleet::Fleet;
use crate::spec::Exposure;

/// A service whose exposure is `admins` in a spec whose tailnet lists no
/// admin device: only the LAN would reach it (`missing-access` covers a
/// spec without `[access.tailscale]`).
pub(crate) fn admins_have_devices(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let Some(tailscale) = &fleet.access.tailscale else {
        return;
    };
    if !tailscale.admins.is_empty() {
        return;
    }
    for i in &fleet.instances {
        if i.exposure.value != Exposure::Admins {
            continue;
        }
        out.push(
            Diagnostic::error(
                "no-admin-devices",
                format!(
                    "`{}` is `admins` but no admin device is declared",
                    i.name.value
                ),
            )
            .at(
                i.exposure.span.clone(),
                "reached on the tailnet from the admin devices only",
            )
            .also(tailscale.span.clone(), "the tailnet lists no `admins`")
            .help(
                "add your devices to `[access.tailscale]`: `admins = { laptop = \"100.x.y.z\" }` \
                 (`tailscale ip -4` on each), or use `exposure = \"lan\"`",
            )
            .about(&i.name.value),
        );
    }
}
