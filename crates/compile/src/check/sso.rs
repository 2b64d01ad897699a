//! Single sign-on: `[access.sso]` names a provider the fleet runs, its
//! groups have members, and a service's `groups` name groups that exist.
//! A gate that names nobody, or a provider that is not there, would lock
//! the family out of services they expect to reach.

use crate::catalog::Auth;
use crate::diagnostic::{Diagnostic, did_you_mean, name_list};
use crate::fleet::{Fleet, PROVISIONED_PROVIDERS, ProviderKind, gated};
use crate::spec::Exposure;

/// What a catalog entry provides when it can be the fleet's OIDC provider.
pub(crate) const OIDC_PROVIDER: &str = "oidc-provider";

/// `provider` names a placed service instance that is an OIDC provider.
pub(crate) fn provider_placed(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let Some(sso) = &fleet.access.sso else {
        return;
    };
    let wanted = &sso.provider.value;
    let providers: Vec<&str> = fleet
        .instances
        .iter()
        .filter(|i| i.entry.provides.iter().any(|p| p == OIDC_PROVIDER))
        .map(|i| i.name.value.as_str())
        .collect();
    if providers.contains(&wanted.as_str()) {
        return;
    }
    let placed = fleet.instances.iter().find(|i| &i.name.value == wanted);
    let (note, help) = match (placed, did_you_mean(wanted, providers.iter().copied())) {
        (Some(i), _) => (
            format!("{} cannot sign people in for other services", i.entry.title),
            "name a Pocket ID or Keycloak instance of this spec".to_string(),
        ),
        (None, Some(m)) => (
            "no service of this name".to_string(),
            format!("did you mean `{m}`?"),
        ),
        (None, None) if providers.is_empty() => (
            "no service of this name".to_string(),
            format!("add `[services.{wanted}]` (`pocket-id` or `keycloak`) to run the provider"),
        ),
        (None, None) => (
            "no service of this name".to_string(),
            format!("the OIDC providers of this spec: {}", name_list(&providers)),
        ),
    };
    out.push(
        Diagnostic::error(
            "sso-provider-missing",
            format!("single sign-on names `{wanted}`, which is not an OIDC provider of the fleet"),
        )
        .at(sso.provider.span.clone(), note)
        .help(help),
    );
}

/// Every group has at least one member.
pub(crate) fn groups_have_members(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let Some(sso) = &fleet.access.sso else {
        return;
    };
    for g in sso.groups.iter().filter(|g| g.members.is_empty()) {
        out.push(
            Diagnostic::error(
                "sso-empty-group",
                format!("group `{}` has no members", g.name.value),
            )
            .at(g.span.clone(), "nobody could sign in to its services")
            .also(g.name.span.clone(), "the group")
            .help(format!(
                "list the user names: `{} = [\"alice\"]`, or remove the group",
                g.name.value
            )),
        );
    }
}

/// A service's `groups` need `[access.sso]` and name its groups.
pub(crate) fn service_groups_exist(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in fleet.instances.iter().filter(|i| !i.groups.is_empty()) {
        let Some(sso) = &fleet.access.sso else {
            out.push(
                Diagnostic::error(
                    "sso-missing",
                    format!("`{}` admits groups, but the fleet has no single sign-on", i.name.value),
                )
                .at(i.groups[0].span.clone(), "groups are `[access.sso]` groups")
                .help("add `[access.sso]` with `provider = \"pocket-id\"` and `[access.sso.groups]`, or remove `groups`")
                .about(&i.name.value),
            );
            continue;
        };
        let known: Vec<&str> = sso.groups.iter().map(|g| g.name.value.as_str()).collect();
        for g in i
            .groups
            .iter()
            .filter(|g| !known.contains(&g.value.as_str()))
        {
            let help = match did_you_mean(&g.value, known.iter().copied()) {
                Some(m) => format!("did you mean `{m}`?"),
                None => format!("add `{} = [\"alice\"]` to `[access.sso.groups]`", g.value),
            };
            out.push(
                Diagnostic::error(
                    "sso-unknown-group",
                    format!(
                        "`{}` admits group `{}`, which is not defined",
                        i.name.value, g.value
                    ),
                )
                .at(g.span.clone(), "not in `[access.sso.groups]`")
                .help(help)
                .about(&i.name.value),
            );
        }
    }
}

/// What the flake cannot enforce is said, so nobody takes `groups` for a
/// gate: a provider no client can reach, a service that admits groups but
/// has neither an OIDC login nor a place behind the gateway, and an OIDC
/// client of Keycloak, which lets every user of the realm sign in.
pub(crate) fn groups_not_enforced(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let Some(sso) = &fleet.access.sso else {
        return;
    };
    let provider = fleet
        .instances
        .iter()
        .find(|i| i.name.value == sso.provider.value);
    if let Some(p) = provider.filter(|p| {
        p.entry.provides.iter().any(|r| r == OIDC_PROVIDER)
            && !PROVISIONED_PROVIDERS.contains(&p.entry.name.as_str())
    }) {
        out.push(
            Diagnostic::warning(
                "sso-not-enforced",
                format!("the flake does not register clients with {}", p.entry.title),
            )
            .at(
                sso.provider.span.clone(),
                "no service signs in through this provider yet",
            )
            .help("use `pocket-id` or `keycloak` as the provider"),
        );
        return;
    }
    if let Some(p) = provider.filter(|p| p.url().is_none()) {
        out.push(
            Diagnostic::warning(
                "sso-not-enforced",
                format!(
                    "{} has no web address: no service can sign in through it",
                    p.entry.title
                ),
            )
            .at(p.exposure.span.clone(), "only reachable on its own host")
            .help("give the provider `exposure = \"lan\"` (its default) or wider")
            .about(&p.name.value),
        );
        return;
    }
    let keycloak = fleet
        .sso
        .as_ref()
        .is_some_and(|p| p.kind == ProviderKind::Keycloak);
    for i in &fleet.instances {
        let Some(first) = i.groups.first() else {
            continue;
        };
        let (note, help) = match (&i.entry.oidc, gated(i)) {
            (None, false) => (
                format!("{} keeps its own login", i.entry.title),
                if i.entry.forward_auth.is_some() {
                    "the gateway guards internal names only: keep the service off the internet, or remove `groups`"
                } else {
                    "remove `groups`: the service can sit neither behind OIDC nor behind the gateway"
                },
            ),
            (Some(_), _) if keycloak => (
                "Keycloak lets every user of the realm sign in; the token's `groups` claim lists theirs".to_string(),
                "let the service map the `groups` claim to its roles, or remove `groups`",
            ),
            _ => continue,
        };
        out.push(
            Diagnostic::warning(
                "sso-not-enforced",
                format!("`{}` does not enforce its `groups`", i.name.value),
            )
            .at(first.span.clone(), note)
            .help(help)
            .about(&i.name.value),
        );
    }
}

/// With single sign-on, a service with a web address and no login of its
/// own is either behind the gateway or said to be open to everyone on
/// the networks its exposure allows.
pub fn ungated(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    if fleet.sso.is_none() {
        return;
    }
    for i in &fleet.instances {
        if i.entry.auth != Auth::None || i.entry.oidc.is_some() || gated(i) || i.url().is_none() {
            continue;
        }
        // A public page is for anyone by the spec's own choice.
        if i.entry.public_page.is_some() && i.public_fqdn.is_some() {
            continue;
        }
        let why = if i.entry.forward_auth.is_some() {
            "the gateway guards internal names only, and this one is public"
        } else {
            "its catalog entry cannot sit behind the gateway"
        };
        out.push(
            Diagnostic::warning(
                "sso-ungated",
                format!(
                    "`{}` has no login, and single sign-on does not guard it",
                    i.name.value
                ),
            )
            .at(i.exposure.span.clone(), why)
            .help(format!(
                "anyone on the networks its exposure allows reaches it: narrow `exposure`, or say why that is right: `[services.{}.silence]` `sso-ungated = \"…\"`",
                i.name.value
            ))
            .about(&i.name.value),
        );
    }
}

/// Signing in sends the browser to the provider: a client reached from
/// farther away than the provider (a public Immich, a LAN-only Keycloak)
/// sends whoever signs in from there to a page that answers 403. The
/// flake would be broken for them, so it is not built: the fix (widen the
/// provider, with its reason, or narrow the client) is a decision about
/// exposure, which the spec writes down rather than the renderer.
pub(crate) fn provider_reachable(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let Some(plan) = &fleet.sso else { return };
    let Some(provider) = fleet
        .instances
        .iter()
        .find(|i| i.name.value == plan.provider)
    else {
        return;
    };
    let gated = plan
        .gateway
        .iter()
        .flat_map(|g| &g.routes)
        .map(|r| r.instance.as_str());
    let clients: Vec<&str> = plan
        .clients
        .iter()
        .map(|c| c.id.as_str())
        .chain(gated)
        .collect();
    for i in fleet
        .instances
        .iter()
        .filter(|i| clients.contains(&i.name.value.as_str()))
    {
        if i.exposure.value <= provider.exposure.value {
            continue;
        }
        let wider = Exposure::NAMES[i.exposure.value as usize];
        out.push(
            Diagnostic::error(
                "sso-provider-unreachable",
                format!(
                    "`{}` is reached from farther away than {} can sign people in",
                    i.name.value, provider.entry.title
                ),
            )
            .at(
                i.exposure.span.clone(),
                format!("`{wider}`: its sign-in goes to the provider"),
            )
            .also(
                provider.name.span.clone(),
                format!(
                    "the provider: `{}`",
                    Exposure::NAMES[provider.exposure.value as usize]
                ),
            )
            .help(format!(
                "give `{}` `exposure = \"{wider}\"` (with its reason), or narrow `{}`",
                provider.name.value, i.name.value
            ))
            .about(&i.name.value),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Severity;

    /// The nuc example as the seed's access matrix first had it: Immich
    /// public, Keycloak at its default (`lan`).
    fn nuc_with_a_lan_keycloak() -> String {
        let nuc = crate::examples::get("nuc").unwrap();
        let line = nuc
            .lines()
            .find(|l| l.starts_with("keycloak = "))
            .expect("nuc places Keycloak on one line");
        nuc.replace(line, "keycloak = {}")
    }

    #[test]
    fn a_client_reached_from_farther_than_its_provider_stops_the_build() {
        let text = nuc_with_a_lan_keycloak();
        let diags = crate::compile(&text).expect_err("a sign-in that cannot succeed is an error");
        let found: Vec<(Option<&str>, Severity)> = diags
            .iter()
            .filter(|d| d.code == "sso-provider-unreachable")
            .map(|d| (d.subject.as_deref(), d.severity))
            .collect();
        // Immich is public; Sonarr, Radarr and Prowlarr sign in through the
        // gateway from the admin devices on the tailnet, which a LAN
        // provider does not reach either.
        let gated_admins = ["sonarr", "radarr", "prowlarr"].map(|s| (Some(s), Severity::Error));
        assert_eq!(found[0], (Some("immich"), Severity::Error));
        assert_eq!(found[1..], gated_admins);
        // The provider as far as its widest client: nothing to say.
        let (_, warnings) =
            crate::compile(crate::examples::get("nuc").unwrap()).expect("the nuc example compiles");
        assert!(
            warnings
                .iter()
                .all(|d| d.code != "sso-provider-unreachable")
        );
    }
}
