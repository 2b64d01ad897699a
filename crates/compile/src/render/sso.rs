//! The provider side of single sign-on: a oneshot unit next to the
//! provider that makes its groups, members and OIDC clients match the spec
//! through its API, every time the plan changes. Pocket ID is reached with
//! its static API key; Keycloak with the bootstrap admin service account
//! it creates with its master realm. The unit is idempotent (it looks up
//! before it creates, and sets each client's secret to the machine-made
//! one), reads the admin secret and the client secrets as systemd
//! credentials, and takes the plan (names and URLs, no secret) from a
//! store file that `jq` reads, so no spec value is ever spliced into
//! shell code.

use super::secrets::load_credential;
use crate::fleet::{Fleet, Instance, KEYCLOAK_ADMIN_CLIENT, ProviderKind, SsoPlan};
use crate::nix::{Attrs, Nix, set};

const POCKET_ID_SCRIPT: &str = include_str!("pocket-id-provision.sh");
const KEYCLOAK_SCRIPT: &str = include_str!("keycloak-provision.sh");

/// The provisioning unit of a provider.
pub(crate) fn unit_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::PocketId => "pocket-id-provision",
        ProviderKind::Keycloak => "keycloak-provision",
    }
}

/// Adds the provisioning unit to the provider instance's file.
pub fn provision(m: &mut Attrs, fleet: &Fleet, i: &Instance) {
    let Some(plan) = fleet.sso.as_ref().filter(|p| p.provider == i.name.value) else {
        return;
    };
    let Some(endpoint) = i.local_endpoint() else {
        return;
    };
    let mut env = Attrs::new();
    let (provider_unit, description, script) = match plan.kind {
        ProviderKind::PocketId => {
            env.insert("POCKET_ID_API".into(), Nix::str(format!("{endpoint}/api")));
            (
                "pocket-id.service",
                "Pocket ID: groups, members and OIDC clients of the spec",
                POCKET_ID_SCRIPT,
            )
        }
        ProviderKind::Keycloak => {
            env.insert("KEYCLOAK_URL".into(), Nix::str(endpoint));
            env.insert("REALM".into(), Nix::str(&plan.realm));
            env.insert("ADMIN_CLIENT_ID".into(), Nix::str(KEYCLOAK_ADMIN_CLIENT));
            (
                "keycloak.service",
                "Keycloak: the realm's groups, members and OIDC clients of the spec",
                KEYCLOAK_SCRIPT,
            )
        }
    };
    env.insert("PLAN".into(), plan_file(plan));
    let name = unit_name(plan.kind);
    let unit = ["systemd", "services", name];
    let at = |key: &'static str| [unit[0], unit[1], unit[2], key];
    set(m, &at("description"), description);
    set(m, &at("after"), Nix::strs([provider_unit]));
    set(m, &at("requires"), Nix::strs([provider_unit]));
    set(m, &at("wantedBy"), Nix::strs(["multi-user.target"]));
    set(
        m,
        &at("path"),
        Nix::list([Nix::raw("pkgs.curl"), Nix::raw("pkgs.jq")]),
    );
    set(m, &at("environment"), Nix::Attrs(env));
    let mut credentials = vec![load_credential("admin", &plan.admin_secret)];
    for c in &plan.clients {
        credentials.push(load_credential(&format!("client-{}", c.id), &c.secret));
        // On another host than the client the file is only read by systemd
        // for the credential: root-owned, as agenix makes it without owner.
        if c.host != plan.host {
            let file = Nix::raw(format!(
                "../../secrets + {}",
                crate::nix::quote(&format!("/{}.age", c.secret))
            ));
            set(m, &["age", "secrets", &c.secret, "file"], file);
        }
    }
    let mut service = Attrs::new();
    service.insert("Type".into(), Nix::str("oneshot"));
    // Active after a run, so a changed plan restarts it on switch.
    service.insert("RemainAfterExit".into(), Nix::Bool(true));
    service.insert("DynamicUser".into(), Nix::Bool(true));
    service.insert("PrivateTmp".into(), Nix::Bool(true));
    service.insert("UMask".into(), Nix::str("0077"));
    service.insert("LoadCredential".into(), Nix::list(credentials));
    set(m, &at("serviceConfig"), Nix::Attrs(service));
    set(m, &at("script"), Nix::str(script));
}

/// The plan as JSON in the store: group and client names, members, URLs.
fn plan_file(plan: &SsoPlan) -> Nix {
    let groups: Vec<_> = plan
        .groups
        .iter()
        .map(|(name, members)| serde_json::json!({ "name": name, "members": members }))
        .collect();
    let clients: Vec<_> = plan
        .clients
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id,
                "name": c.title,
                "redirects": c.redirects,
                "groups": c.groups,
                "pkce": c.pkce,
                "secretPrefix": c.secret_prefix,
            })
        })
        .collect();
    let json = serde_json::json!({ "groups": groups, "clients": clients }).to_string();
    Nix::call(
        "pkgs.writeText",
        vec![
            Nix::str(format!("{}.json", unit_name(plan.kind))),
            Nix::str(json),
        ],
    )
}
