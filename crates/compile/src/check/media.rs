//! The media stack: request UIs need their *arr apps, *arr apps need a
//! download client and an indexer manager, the torrent client runs only
//! inside the VPN, and downloads and the library share one file system so
//! imports are hardlinks, not copies.

use crate::catalog::{self, Entry};
use crate::diagnostic::{Diagnostic, name_list};
use crate::fleet::Fleet;
use crate::spec::Sp;

/// Every role a service needs is filled by some service of the fleet.
pub(crate) fn roles_filled(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        for role in &i.entry.needs {
            let filled = fleet
                .instances
                .iter()
                .any(|o| o.entry.provides.contains(role));
            if filled {
                continue;
            }
            out.push(missing_role(&i.name, i.entry, role));
        }
    }
}

/// `missing-dependency` for a role (`mqtt-broker`) nothing in the spec
/// provides, naming the entries that would. Resolution raises it before a
/// template of the service (`@hostport:mosquitto@`) could fail on it.
pub(crate) fn missing_role(name: &Sp<String>, entry: &Entry, role: &str) -> Diagnostic {
    let candidates: Vec<&str> = catalog::service_names()
        .into_iter()
        .filter(|n| catalog::get(n).is_some_and(|e| e.provides.iter().any(|r| r == role)))
        .collect();
    Diagnostic::error(
        "missing-dependency",
        format!(
            "`{}` needs a {}, which the spec does not have",
            name.value,
            role.replace('-', " ")
        ),
    )
    .at(
        name.span.clone(),
        format!(
            "{} cannot work without a {}",
            entry.title,
            role.replace('-', " ")
        ),
    )
    .help(match candidates.as_slice() {
        [one] => format!("add `[services.{one}]`"),
        many => format!(
            "add one of {}",
            name_list(many).replacen(" and ", " or ", 1)
        ),
    })
    .about(&name.value)
}

/// A service that must not reach the internet but through the VPN has a
/// VPN to be confined to.
pub(crate) fn vpn_confined(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    if fleet.access.vpn.is_some() {
        return;
    }
    for i in fleet.instances.iter().filter(|i| i.confined()) {
        out.push(
            Diagnostic::error(
                "vpn-required",
                format!("`{}` may only run inside the VPN", i.name.value),
            )
            .at(
                i.name.span.clone(),
                format!("{} would reach peers from the home address", i.entry.title),
            )
            .help("add `[access.vpn]` with `wireguard_secret`, your VPN provider's wg-quick file as a secret; the client then runs in a namespace whose only way out is the tunnel (or, to run it outside the VPN, say so: `vpn = false` with `vpn_reason = \"…\"`)")
            .about(&i.name.value),
        );
    }
}

/// A torrent client the spec runs outside the VPN (`vpn = false`): a
/// choice with a reason, said again on every check, since every peer sees
/// the home address.
pub(crate) fn vpn_off(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        let Some(off) = &i.vpn_off else { continue };
        out.push(
            Diagnostic::warning(
                "vpn-off",
                format!(
                    "`{}` runs outside the VPN: its peers see the home address",
                    i.name.value
                ),
            )
            .at(off.at.clone(), format!("{} is not confined", i.entry.title))
            .also(off.reason.span.clone(), "the reason given")
            .help(
                "to confine it again, remove `vpn = false` and `vpn_reason` and add `[access.vpn]`",
            )
            .about(&i.name.value),
        );
    }
}

/// Downloads and the library are one tree on one host: an import across
/// machines is a copy over the network, never a hardlink.
pub(crate) fn media_together(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let media: Vec<_> = fleet.instances.iter().filter(|i| i.entry.media).collect();
    let Some(first) = media.first() else { return };
    for i in media.iter().filter(|i| i.host != first.host) {
        out.push(
            Diagnostic::error(
                "media-split",
                format!(
                    "`{}` and `{}` share the media tree but run on different hosts",
                    i.name.value, first.name.value
                ),
            )
            .at(
                i.host_span.clone(),
                format!("on `{}`, away from the downloads and library", i.host),
            )
            .also(first.host_span.clone(), format!("`{}` is on `{}`", first.name.value, first.host))
            .help(format!(
                "run every service of the media stack on `{}`, so that imports are hardlinks within one dataset",
                first.host
            ))
            .about(&i.name.value),
        );
    }
}

/// `unused-media-quota`: `[media.quotas]` needs the media tree on a ZFS
/// pool, where project quotas exist.
pub(crate) fn media_quotas_apply(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for q in fleet.media_quotas.iter().filter(|q| q.dataset.is_none()) {
        let why = match &q.host {
            None => "no service of the spec works in the media tree".to_string(),
            Some(h) => format!("the media tree on `{h}` is not on a ZFS pool"),
        };
        out.push(
            Diagnostic::warning(
                "unused-media-quota",
                format!("the quota of `{}` caps nothing: {why}", q.dir.value),
            )
            .at(q.dir.span.clone(), "no project quota can be set")
            .help("place the media services on a host with a pool, or remove the quota"),
        );
    }
}
