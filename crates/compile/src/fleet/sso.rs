//! Single sign-on wiring: every service of the fleet that speaks OpenID
//! Connect becomes a client of the provider `[access.sso]` names, with a
//! machine-made client secret that both ends read from agenix. The client
//! side is the catalog's `[oidc]` settings; services without a login of
//! their own sit behind the proxy's sign-in gateway (`sso_gateway.rs`).
//! The provider side is a plan of clients and groups that `render` turns
//! into a provisioning unit against the provider's API.

use super::sso_gateway;
use crate::catalog::{self, Alphabet, Generator, Placeholders};
use crate::fleet::{Instance, Secret};
use crate::nix::{Nix, merge_into, set};
use crate::spec::Spec;
use std::collections::BTreeMap;

/// Providers whose clients and groups the flake provisions.
pub(crate) const PROVISIONED_PROVIDERS: [&str; 2] = ["pocket-id", "keycloak"];

/// The client id Keycloak's bootstrap admin service account gets; the
/// provisioning unit signs in with it.
pub(crate) const KEYCLOAK_ADMIN_CLIENT: &str = "homelab-provision";

/// Which provider's API and URL layout the fleet uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    PocketId,
    Keycloak,
}

impl ProviderKind {
    fn of(entry: &str) -> Option<ProviderKind> {
        match entry {
            "pocket-id" => Some(ProviderKind::PocketId),
            "keycloak" => Some(ProviderKind::Keycloak),
            _ => None,
        }
    }

    /// The issuer below the provider's URL: Pocket ID issues at its root,
    /// Keycloak per realm.
    pub fn issuer(self, url: &str, realm: &str) -> String {
        match self {
            ProviderKind::PocketId => url.to_string(),
            ProviderKind::Keycloak => format!("{url}/realms/{realm}"),
        }
    }

    /// The endpoints its discovery document names.
    pub fn endpoints(self, issuer: &str) -> [(&'static str, String); 4] {
        let (auth, token, userinfo) = match self {
            ProviderKind::PocketId => ("/authorize", "/api/oidc/token", "/api/oidc/userinfo"),
            ProviderKind::Keycloak => (
                "/protocol/openid-connect/auth",
                "/protocol/openid-connect/token",
                "/protocol/openid-connect/userinfo",
            ),
        };
        [
            ("oidc-issuer", issuer.to_string()),
            ("oidc-auth-url", format!("{issuer}{auth}")),
            ("oidc-token-url", format!("{issuer}{token}")),
            ("oidc-userinfo-url", format!("{issuer}{userinfo}")),
        ]
    }

    /// Scopes a client asks for to get the `groups` claim: Pocket ID adds
    /// it for the `groups` scope; the Keycloak clients carry a mapper that
    /// always adds it, and an unknown scope would be refused.
    pub(crate) fn scopes(self) -> &'static str {
        match self {
            ProviderKind::PocketId => "openid email profile groups",
            ProviderKind::Keycloak => "openid email profile",
        }
    }
}

/// What the provider must know: its clients and the groups with members.
#[derive(Debug, Clone)]
pub struct SsoPlan {
    /// The provider instance.
    pub provider: String,
    pub kind: ProviderKind,
    pub host: String,
    /// Issuer URL: `https://id.home.example.org`, or Keycloak's
    /// `https://auth.home.example.org/realms/<homelab name>`.
    pub issuer: String,
    /// Keycloak's realm for the fleet (the homelab's name).
    pub realm: String,
    /// Agenix secret the provisioning unit signs in with: Pocket ID's
    /// static API key, Keycloak's bootstrap admin client secret.
    pub admin_secret: String,
    pub clients: Vec<OidcClient>,
    /// Group name and members' user names.
    pub groups: Vec<(String, Vec<String>)>,
    /// The proxy's sign-in gateway, when some service sits behind it.
    pub gateway: Option<sso_gateway::Gateway>,
}

#[derive(Debug, Clone)]
pub struct OidcClient {
    /// The client id: the instance name.
    pub id: String,
    pub title: String,
    pub host: String,
    pub redirects: Vec<String>,
    /// Agenix secret with the client secret.
    pub secret: String,
    /// Groups let in; none lets every user of the provider in.
    pub groups: Vec<String>,
    /// Text before the value in the secret's file (`OIDC_CLIENT_SECRET=`).
    pub(crate) secret_prefix: String,
    pub pkce: bool,
}

/// Makes each OIDC-speaking instance a client of the provider, puts the
/// services without a login behind the gateway, and returns the
/// provider's plan; nothing when the provider is not one the flake
/// provisions or has no URL (check reports the spec's mistakes).
pub fn wire(
    spec: &Spec,
    instances: &mut [Instance],
    secrets: &mut BTreeMap<String, Secret>,
) -> Option<SsoPlan> {
    let sso = spec.access.sso.as_ref()?;
    let p = instances
        .iter()
        .position(|i| i.name.value == sso.provider.value)?;
    let kind = ProviderKind::of(&instances[p].entry.name)?;
    let realm = spec.homelab.name.value.clone();
    let issuer = kind.issuer(&instances[p].url()?, &realm);
    let provider_host = instances[p].host.clone();
    let admin_secret = provider_settings(&mut instances[p], kind, secrets);

    let context = Context {
        kind,
        issuer: &issuer,
        title: provider_title(sso),
        provider_host: &provider_host,
    };
    let mut clients = Vec::new();
    for i in instances.iter_mut() {
        if let Some(c) = client(&context, i, secrets) {
            clients.push(c);
        }
    }
    let gateway = sso_gateway::wire(spec, &context, instances, secrets);
    if let Some((_, client)) = &gateway {
        clients.push(client.clone());
    }
    Some(SsoPlan {
        provider: sso.provider.value.clone(),
        kind,
        host: provider_host,
        issuer,
        realm,
        admin_secret,
        clients,
        groups: sso
            .groups
            .iter()
            .map(|g| {
                let members = g.members.iter().map(|m| m.value.clone()).collect();
                (g.name.value.clone(), members)
            })
            .collect(),
        gateway: gateway.map(|(g, _)| g),
    })
}

impl SsoPlan {
    /// How people sign in to `i`: `oidc`, `gateway` (with the groups it
    /// lets in), or `own`/`none` from the catalog when single sign-on
    /// does not reach it.
    pub fn sign_in(&self, i: &Instance) -> String {
        if self.clients.iter().any(|c| c.id == i.name.value) {
            return "oidc".into();
        }
        match self.gateway.as_ref().and_then(|g| g.route(&i.name.value)) {
            Some(r) if r.groups.is_empty() => "gateway".into(),
            Some(r) => format!("gateway: {}", r.groups.join(", ")),
            None => own_sign_in(i).into(),
        }
    }
}

/// The service's own way, without single sign-on.
pub(crate) fn own_sign_in(i: &Instance) -> &'static str {
    match i.entry.auth {
        catalog::Auth::None => "none",
        _ => "own",
    }
}

/// What every client of the provider is told.
pub struct Context<'a> {
    pub kind: ProviderKind,
    pub issuer: &'a str,
    pub title: String,
    pub(crate) provider_host: &'a str,
}

/// Wires one instance's `[oidc]` settings, when it has them and a URL.
fn client(
    cx: &Context,
    i: &mut Instance,
    secrets: &mut BTreeMap<String, Secret>,
) -> Option<OidcClient> {
    let (Some(oidc), Some(url)) = (&i.entry.oidc, i.url()) else {
        return None;
    };
    let secret = format!("{}-oidc-client-secret", i.name.value);
    let mut ph = Placeholders::default();
    ph.secrets
        .insert("oidc-client-secret".into(), secret.clone());
    for (k, v) in cx.kind.endpoints(cx.issuer) {
        ph.simple.insert(k, v);
    }
    ph.simple.insert("oidc-client-id", i.name.value.clone());
    ph.simple.insert("oidc-provider-title", cx.title.clone());
    ph.simple
        .insert("oidc-scopes", cx.kind.scopes().to_string());
    ph.simple.insert("url", url.clone());
    // `every_oidc_block_expands` proves this cannot fail.
    let settings = catalog::expand(&oidc.nixos, &ph).ok()?;
    for (k, v) in settings {
        merge_into(&mut i.nixos, &k, v);
    }
    i.secrets
        .insert("oidc-client-secret".into(), secret.clone());
    let shared = SharedSecret {
        name: &secret,
        owner: i.entry.user.clone(),
        units: service_units(i.entry),
        template: oidc.secret_template.clone(),
    };
    add_shared(secrets, &shared, i, cx.provider_host);
    Some(OidcClient {
        id: i.name.value.clone(),
        title: i.entry.title.clone(),
        host: i.host.clone(),
        redirects: std::iter::once(&oidc.redirect_path)
            .chain(&oidc.extra_redirects)
            .map(|r| match r.starts_with('/') {
                true => format!("{url}{r}"),
                false => r.clone(),
            })
            .collect(),
        secret,
        groups: i.groups.iter().map(|g| g.value.clone()).collect(),
        secret_prefix: secret_prefix(oidc.secret_template.as_deref()),
        pkce: oidc.pkce,
    })
}

/// The login button's label: the provider's title.
fn provider_title(sso: &crate::spec::Sso) -> String {
    catalog::get(&sso.provider.value).map_or_else(|| "Single sign-on".into(), |e| e.title.clone())
}

/// Lets the provisioning unit in: Pocket ID accepts a static API key
/// (`STATIC_API_KEY`, read through its `_FILE` form); Keycloak creates a
/// bootstrap admin service account when it creates its master realm
/// (`bootstrap-admin-client-*`, the secret through the module's
/// `_secret`, substituted at start). Returns the secret's name.
fn provider_settings(
    p: &mut Instance,
    kind: ProviderKind,
    secrets: &mut BTreeMap<String, Secret>,
) -> String {
    let path = |name: &str| {
        Nix::raw(format!(
            "config.age.secrets.{}.path",
            crate::nix::attr_name(name)
        ))
    };
    let (name, description, owner, unit) = match kind {
        ProviderKind::PocketId => {
            let name = format!("{}-api-key", p.name.value);
            let settings = ["services", "pocket-id", "settings"];
            set(
                &mut p.nixos,
                &[settings[0], settings[1], settings[2], "STATIC_API_KEY_FILE"],
                path(&name),
            );
            p.secrets.insert("api-key".into(), name.clone());
            let d = "Static API key the flake provisions Pocket ID's clients and groups with";
            (name, d, p.entry.user.clone(), "pocket-id.service")
        }
        ProviderKind::Keycloak => {
            let name = format!("{}-admin-client-secret", p.name.value);
            let settings = ["services", "keycloak", "settings"];
            set(
                &mut p.nixos,
                &[
                    settings[0],
                    settings[1],
                    settings[2],
                    "bootstrap-admin-client-id",
                ],
                KEYCLOAK_ADMIN_CLIENT,
            );
            let mut secret = crate::nix::Attrs::new();
            secret.insert("_secret".into(), path(&name));
            set(
                &mut p.nixos,
                &[
                    settings[0],
                    settings[1],
                    settings[2],
                    "bootstrap-admin-client-secret",
                ],
                Nix::Attrs(secret),
            );
            p.secrets.insert("admin-client-secret".into(), name.clone());
            let d = "Secret of Keycloak's bootstrap admin service account, which provisions the realm's clients and groups";
            // Read by systemd for the unit's credentials: root's file.
            (name, d, None, "keycloak.service")
        }
    };
    secrets.insert(
        name.clone(),
        Secret {
            name: name.clone(),
            description: description.into(),
            owner,
            group: None,
            mode: catalog::default_mode(),
            hosts: vec![p.host.clone()],
            used_by: vec![p.name.value.clone()],
            units: vec![unit.into()],
            generator: Some(random(None)),
            span: p.name.span.clone(),
        },
    );
    name
}

/// A client secret both the client's and the provider's host read.
pub(crate) struct SharedSecret<'a> {
    pub name: &'a str,
    pub owner: Option<String>,
    pub units: Vec<String>,
    pub template: Option<String>,
}

pub(crate) fn add_shared(
    secrets: &mut BTreeMap<String, Secret>,
    s: &SharedSecret,
    client: &Instance,
    provider_host: &str,
) {
    let mut hosts = vec![client.host.clone()];
    if provider_host != client.host {
        hosts.push(provider_host.to_string());
    }
    secrets.insert(
        s.name.to_string(),
        Secret {
            name: s.name.to_string(),
            description: format!(
                "OIDC client secret of `{}`, shared with the provider",
                client.name.value
            ),
            owner: s.owner.clone(),
            group: None,
            mode: catalog::default_mode(),
            hosts,
            used_by: vec![client.name.value.clone(), "[access.sso]".into()],
            units: s.units.clone(),
            generator: Some(random(s.template.clone())),
            span: client.name.span.clone(),
        },
    );
}

/// Printable ASCII of at least 16 characters, as Pocket ID wants.
pub fn random(template: Option<String>) -> Generator {
    Generator::Random {
        length: 48,
        alphabet: Alphabet::Alphanumeric,
        template,
    }
}

/// The units that read the client secret: the entry's own, else the one
/// named after its module (`services.grafana` runs `grafana.service`).
fn service_units(entry: &catalog::Entry) -> Vec<String> {
    if entry.units.is_empty() {
        let last = entry.module.rsplit('.').next().unwrap_or(&entry.name);
        vec![format!("{last}.service")]
    } else {
        entry.units.iter().map(|u| format!("{u}.service")).collect()
    }
}

/// What comes before `@value@` in a secret template.
pub(crate) fn secret_prefix(template: Option<&str>) -> String {
    template
        .and_then(|t| t.split_once("@value@"))
        .map_or_else(String::new, |(before, _)| before.to_string())
}
