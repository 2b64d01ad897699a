//! Exposure policy: private by default, public by exception.

use crate::catalog::{Audience, Auth};
use crate::diagnostic::Diagnostic;
use crate::fleet::Fleet;
use crate::spec::Exposure;

/// Admin tools (metrics, databases, the *arr apps, torrent UIs) are never
/// on the internet.
pub(crate) fn admin_never_public(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        if i.entry.audience == Audience::Admin && i.exposure.value == Exposure::Public {
            out.push(
                Diagnostic::error(
                    "admin-public",
                    format!("`{}` is an admin tool and cannot be public", i.name.value),
                )
                .at(
                    i.exposure.span.clone(),
                    "admin tools stay on the LAN or the tailnet",
                )
                .help("use `exposure = \"admins\"` and reach it from your admin devices over Tailscale")
                .about(&i.name.value),
            );
        }
    }
}

/// A public service must ask who is there: its own login, OIDC or the
/// proxy's forward-auth.
pub(crate) fn public_needs_auth(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        if i.exposure.value == Exposure::Public && i.entry.auth == Auth::None {
            out.push(
                Diagnostic::error(
                    "public-without-auth",
                    format!("`{}` has no login and cannot be public", i.name.value),
                )
                .at(
                    i.exposure.span.clone(),
                    format!("{} lets anyone in", i.entry.title),
                )
                .help("keep it on the tailnet, or put it behind single sign-on")
                .about(&i.name.value),
            );
        }
    }
}

/// Widening exposure beyond the catalog default is a decision worth
/// writing down.
pub(crate) fn widening_needs_reason(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        if i.exposure.value > i.entry.default_exposure && i.exposure_reason.is_none() {
            out.push(
                Diagnostic::error(
                    "exposure-without-reason",
                    format!(
                        "`{}` is `{}`, wider than its default `{}`, without a reason",
                        i.name.value,
                        i.exposure.value.as_str(),
                        i.entry.default_exposure.as_str()
                    ),
                )
                .at(i.exposure.span.clone(), "widened here")
                .help("say why next to it, e.g. `exposure_reason = \"the family uses it away from home\"`")
                .about(&i.name.value),
            );
        }
    }
}
