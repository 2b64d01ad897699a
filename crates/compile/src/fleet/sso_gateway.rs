//! The sign-in gateway: services without a login of their own (catalog
//! `[forward_auth]`) are reached through the front proxy, which asks
//! oauth2-proxy about every request (Caddy `forward_auth`) before passing
//! it on. oauth2-proxy is one more OIDC client of the fleet's provider,
//! with a callback on each gated name, and one cookie for the internal
//! domain, so one sign-in covers every gated service. Who gets through
//! is the service's `groups` (any signed-in user when it names none).
//!
//! A public service is not gated: its tunnel reaches it without the
//! proxy, so it keeps its own login (`public-without-auth` refuses one
//! that has none).

use super::sso::{Context, OidcClient};
use crate::catalog::{self, Alphabet, Generator, Placeholders};
use crate::fleet::{Instance, Secret};
use crate::nix::merge_into;
use crate::spec::Spec;
use std::collections::BTreeMap;

/// The gateway's client id at the provider and its unit.
pub(crate) const GATEWAY: &str = "oauth2-proxy";
/// The gateway's paths on every gated name (its `proxyPrefix`).
pub(crate) const GATEWAY_PREFIX: &str = "/oauth2";

/// The gateway on the front proxy's host and the names it guards.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub host: String,
    pub issuer: String,
    pub(crate) scopes: String,
    /// Agenix secrets: the client secret (shared with the provider) and
    /// the cookie secret.
    pub client_secret: String,
    pub(crate) cookie_secret: String,
    /// `.home.example.org`: the session cookie covers every gated name.
    pub(crate) cookie_domain: String,
    pub routes: Vec<GatedRoute>,
}

/// One gated name and the groups it lets in (none: any signed-in user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatedRoute {
    pub instance: String,
    pub fqdn: String,
    pub groups: Vec<String>,
}

impl Gateway {
    /// The route of `instance`, if the gateway guards it.
    pub fn route(&self, instance: &str) -> Option<&GatedRoute> {
        self.routes.iter().find(|r| r.instance == instance)
    }
}

/// Whether the gateway guards `i`: it asks for it, has an internal name
/// and no public one.
pub fn gated(i: &Instance) -> bool {
    i.entry.forward_auth.is_some()
        && i.entry.oidc.is_none()
        && i.fqdn.is_some()
        && i.public_fqdn.is_none()
}

/// Puts the gated instances behind the gateway (with the settings they
/// need there) and returns it with its client; nothing without a proxy
/// or a gated instance.
pub fn wire(
    spec: &Spec,
    cx: &Context,
    instances: &mut [Instance],
    secrets: &mut BTreeMap<String, Secret>,
) -> Option<(Gateway, OidcClient)> {
    spec.access.proxy.as_ref()?;
    let host = super::wiring::front_proxy(&spec.hosts)?.name.value.clone();
    let mut routes = Vec::new();
    for i in instances.iter_mut().filter(|i| gated(i)) {
        let Some(fa) = &i.entry.forward_auth else {
            continue;
        };
        // Plain settings without placeholders; the catalog test expands them.
        if let Ok(settings) = catalog::expand(&fa.nixos, &Placeholders::default()) {
            for (k, v) in settings {
                merge_into(&mut i.nixos, &k, v);
            }
        }
        routes.push(GatedRoute {
            instance: i.name.value.clone(),
            fqdn: i.fqdn.as_ref().map(|f| f.value.clone())?,
            groups: i.groups.iter().map(|g| g.value.clone()).collect(),
        });
    }
    if routes.is_empty() {
        return None;
    }
    // Declared where the proxy runs; the span is the first gated service.
    let span = instances
        .iter()
        .find(|i| gated(i))
        .map(|i| i.name.span.clone())?;
    let client_secret = format!("{GATEWAY}-client-secret");
    let cookie_secret = format!("{GATEWAY}-cookie-secret");
    let mut hosts = vec![host.clone()];
    if cx.provider_host != host {
        hosts.push(cx.provider_host.to_string());
    }
    let made = [
        (
            &client_secret,
            "OIDC client secret of the sign-in gateway, shared with the provider",
            48,
            hosts,
        ),
        // An AES-256 key, as oauth2-proxy wants its cookie secret (16, 24
        // or 32 bytes).
        (
            &cookie_secret,
            "Key the sign-in gateway encrypts its session cookies with",
            32,
            vec![host.clone()],
        ),
    ];
    for (name, description, length, hosts) in made {
        secrets.insert(
            name.clone(),
            Secret {
                name: name.clone(),
                description: description.into(),
                // Read by systemd for the unit's credentials.
                owner: None,
                group: None,
                mode: catalog::default_mode(),
                hosts,
                used_by: vec!["[access.sso]".into()],
                units: vec![format!("{GATEWAY}.service")],
                generator: Some(Generator::Random {
                    length,
                    alphabet: Alphabet::Alphanumeric,
                    template: None,
                }),
                span: span.clone(),
            },
        );
    }
    let client = OidcClient {
        id: GATEWAY.into(),
        title: "Sign-in gateway".into(),
        host: host.clone(),
        redirects: routes
            .iter()
            .map(|r| format!("https://{}{GATEWAY_PREFIX}/callback", r.fqdn))
            .collect(),
        secret: client_secret.clone(),
        groups: Vec::new(),
        secret_prefix: String::new(),
        pkce: true,
    };
    let gateway = Gateway {
        host,
        issuer: cx.issuer.to_string(),
        scopes: cx.kind.scopes().to_string(),
        client_secret,
        cookie_secret,
        cookie_domain: format!(".{}", spec.homelab.internal_domain.value),
        routes,
    };
    Some((gateway, client))
}
