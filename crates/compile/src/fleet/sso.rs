//! Single sign-on wiring: every service of the fleet that speaks OpenID
//! Connect becomes a client of the provider `[access.sso]` names, with a
//! machine-made client secret that both ends read from agenix. The client
//! side is the catalog's `[oidc]` settings; the provider side is a plan of
//! clients and groups that `render` turns into a provisioning unit.

use crate::catalog::{self, Alphabet, Generator, Placeholders};
use crate::fleet::{Instance, Secret};
use crate::nix::{Nix, merge_into, set};
use crate::spec::Spec;
use std::collections::BTreeMap;

/// Providers whose clients and groups the flake provisions (through the
/// provider's API, with a static API key).
pub const PROVISIONED_PROVIDERS: [&str; 1] = ["pocket-id"];

/// What the provider must know: its clients and the groups with members.
#[derive(Debug, Clone)]
pub struct SsoPlan {
    /// The provider instance.
    pub provider: String,
    pub host: String,
    /// Issuer URL, `https://id.home.example.org`.
    pub issuer: String,
    /// Agenix secret with the provider's static API key.
    pub api_key_secret: String,
    pub clients: Vec<OidcClient>,
    /// Group name and members' user names.
    pub groups: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone)]
pub struct OidcClient {
    /// The client id: the instance name.
    pub id: String,
    pub title: String,
    pub host: String,
    pub redirect: String,
    /// Agenix secret with the client secret.
    pub secret: String,
    /// Groups let in; none lets every user of the provider in.
    pub groups: Vec<String>,
    /// Text before the value in the secret's file (`OIDC_CLIENT_SECRET=`).
    pub secret_prefix: String,
    pub pkce: bool,
}

/// Makes each OIDC-speaking instance a client of the provider and returns
/// the provider's plan; nothing when the provider is not one the flake
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
    if !PROVISIONED_PROVIDERS.contains(&instances[p].entry.name.as_str()) {
        return None;
    }
    let issuer = instances[p].url()?;
    let provider_host = instances[p].host.clone();
    let api_key_secret = format!("{}-api-key", instances[p].name.value);
    provider_settings(&mut instances[p], &api_key_secret, secrets);

    let mut clients = Vec::new();
    for i in instances.iter_mut() {
        let (Some(oidc), Some(url)) = (&i.entry.oidc, i.url()) else {
            continue;
        };
        let secret = format!("{}-oidc-client-secret", i.name.value);
        let mut ph = Placeholders::default();
        ph.secrets
            .insert("oidc-client-secret".into(), secret.clone());
        for (k, v) in endpoints(&issuer) {
            ph.simple.insert(k, v);
        }
        ph.simple.insert("oidc-client-id", i.name.value.clone());
        ph.simple.insert("oidc-provider-title", provider_title(sso));
        // `every_oidc_block_expands` proves this cannot fail.
        let Ok(settings) = catalog::expand(&oidc.nixos, &ph) else {
            continue;
        };
        for (k, v) in settings {
            merge_into(&mut i.nixos, &k, v);
        }
        i.secrets
            .insert("oidc-client-secret".into(), secret.clone());
        let units = service_units(i.entry);
        add(
            secrets,
            &secret,
            i,
            units,
            &provider_host,
            oidc.secret_template.clone(),
        );
        clients.push(OidcClient {
            id: i.name.value.clone(),
            title: i.entry.title.clone(),
            host: i.host.clone(),
            redirect: format!("{url}{}", oidc.redirect_path),
            secret,
            groups: i.groups.iter().map(|g| g.value.clone()).collect(),
            secret_prefix: secret_prefix(oidc.secret_template.as_deref()),
            pkce: oidc.pkce,
        });
    }
    Some(SsoPlan {
        provider: sso.provider.value.clone(),
        host: provider_host,
        issuer,
        api_key_secret,
        clients,
        groups: sso
            .groups
            .iter()
            .map(|g| {
                let members = g.members.iter().map(|m| m.value.clone()).collect();
                (g.name.value.clone(), members)
            })
            .collect(),
    })
}

/// The login button's label: the provider's title.
fn provider_title(sso: &crate::spec::Sso) -> String {
    catalog::get(&sso.provider.value).map_or_else(|| "Single sign-on".into(), |e| e.title.clone())
}

/// Pocket ID's endpoints below its URL (`/.well-known/openid-configuration`
/// of v2 names them).
pub fn endpoints(issuer: &str) -> [(&'static str, String); 4] {
    [
        ("oidc-issuer", issuer.to_string()),
        ("oidc-auth-url", format!("{issuer}/authorize")),
        ("oidc-token-url", format!("{issuer}/api/oidc/token")),
        ("oidc-userinfo-url", format!("{issuer}/api/oidc/userinfo")),
    ]
}

/// Pocket ID accepts the static API key the provisioning unit uses
/// (`STATIC_API_KEY`, read from a file through its `_FILE` form).
fn provider_settings(p: &mut Instance, api_key: &str, secrets: &mut BTreeMap<String, Secret>) {
    set(
        &mut p.nixos,
        &["services", "pocket-id", "settings", "STATIC_API_KEY_FILE"],
        Nix::raw(format!(
            "config.age.secrets.{}.path",
            crate::nix::attr_name(api_key)
        )),
    );
    p.secrets.insert("api-key".into(), api_key.to_string());
    secrets.insert(
        api_key.to_string(),
        Secret {
            name: api_key.to_string(),
            description: "Static API key the flake provisions Pocket ID's clients and groups with"
                .into(),
            owner: p.entry.user.clone(),
            group: None,
            mode: catalog::default_mode(),
            hosts: vec![p.host.clone()],
            used_by: vec![p.name.value.clone()],
            units: vec!["pocket-id.service".into()],
            generator: Some(random(None)),
            span: p.name.span.clone(),
        },
    );
}

fn add(
    secrets: &mut BTreeMap<String, Secret>,
    name: &str,
    client: &Instance,
    units: Vec<String>,
    provider_host: &str,
    template: Option<String>,
) {
    let mut hosts = vec![client.host.clone()];
    if provider_host != client.host {
        hosts.push(provider_host.to_string());
    }
    secrets.insert(
        name.to_string(),
        Secret {
            name: name.to_string(),
            description: format!(
                "OIDC client secret of `{}`, shared with the provider",
                client.name.value
            ),
            owner: client.entry.user.clone(),
            group: None,
            mode: catalog::default_mode(),
            hosts,
            used_by: vec![client.name.value.clone(), "[access.sso]".into()],
            units,
            generator: Some(random(template)),
            span: client.name.span.clone(),
        },
    );
}

/// Printable ASCII of at least 16 characters, as Pocket ID wants.
fn random(template: Option<String>) -> Generator {
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
pub fn secret_prefix(template: Option<&str>) -> String {
    template
        .and_then(|t| t.split_once("@value@"))
        .map_or_else(String::new, |(before, _)| before.to_string())
}
