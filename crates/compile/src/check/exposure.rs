//! Exposure policy: private by default, public by exception.

use crate::catalog::{Audience, Auth};
use crate::diagnostic::Diagnostic;
use crate::fleet::Fleet;
use crate::spec::Exposure;

/// Admin tools (metrics, databases, the *arr apps, torrent UIs) are never
/// on the internet; a status page's page is (`[public_page]`), without
/// the rest of it.
pub(crate) fn admin_never_public(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in fleet
        .instances
        .iter()
        .filter(|i| i.entry.public_page.is_none())
    {
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
/// proxy's forward-auth; a page meant for anyone (`[public_page]`) need not.
pub(crate) fn public_needs_auth(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in fleet
        .instances
        .iter()
        .filter(|i| i.entry.public_page.is_none())
    {
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

/// The checks of a public status page, as the spec adds them by hand
/// (`[services.gatus.nixos] settings.endpoints`): the renderer redacts
/// what its own checks show on the internet (addresses, ports, URLs,
/// errors), but not these, nor their names.
const HAND_CHECKS: [&str; 3] = ["endpoints", "external-endpoints", "suites"];

/// A public page shows only what the renderer redacted: checks added by
/// hand would put their URLs and errors on the internet.
pub(crate) fn public_page_shows_no_internals(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let public = |i: &&crate::fleet::Instance| {
        i.entry.public_page.is_some() && i.exposure.value == Exposure::Public
    };
    for i in fleet.instances.iter().filter(public) {
        let mut seen = Vec::new();
        for leaf in &i.passthrough {
            let Some((key, span)) = hand_checks(&leaf.parts) else {
                continue;
            };
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            out.push(
                Diagnostic::error(
                    "public-page-internals",
                    format!(
                        "`{}` is public, and `settings.{key}` would show its own checks there",
                        i.name.value
                    ),
                )
                .at(span.clone(), "checks the page shows as written, with their URLs and errors")
                .also(i.exposure.span.clone(), "the page is public")
                .help("remove them (every service of the spec is checked already), or keep the page off the internet; checks of your own go into `hosts/<host>/extra.nix`, with Gatus' `ui.hide-*` settings"),
            );
        }
    }
}

/// `settings.<one of HAND_CHECKS>` at the start of a pass-through key.
fn hand_checks(
    parts: &[(String, crate::diagnostic::Span)],
) -> Option<(&str, &crate::diagnostic::Span)> {
    match parts {
        [(settings, _), (key, span), ..] if settings == "settings" => {
            HAND_CHECKS.iter().find(|k| *k == key).map(|k| (*k, span))
        }
        _ => None,
    }
}
