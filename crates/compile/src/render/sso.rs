//! The provider side of single sign-on: a oneshot unit next to Pocket ID
//! that makes its groups, members and OIDC clients match the spec through
//! its API, every time the plan changes. It is idempotent (it looks up
//! before it creates, and sets each client's secret to the machine-made
//! one), reads the API key and the client secrets as systemd credentials,
//! and takes the plan (names and URLs, no secret) from a store file that
//! `jq` reads, so no spec value is ever spliced into shell code.

use super::infrastructure::secret_path;
use crate::fleet::{Fleet, Instance, SsoPlan};
use crate::nix::{Attrs, Nix, set};

/// The provisioning unit's name.
pub const UNIT: &str = "pocket-id-provision";

const SCRIPT: &str = include_str!("pocket-id-provision.sh");

/// Adds the provisioning unit to the provider instance's file.
pub fn provision(m: &mut Attrs, fleet: &Fleet, i: &Instance) {
    let Some(plan) = fleet.sso.as_ref().filter(|p| p.provider == i.name.value) else {
        return;
    };
    let Some(endpoint) = i.local_endpoint() else {
        return;
    };
    let unit = ["systemd", "services", UNIT];
    let at = |key: &'static str| [unit[0], unit[1], unit[2], key];
    set(
        m,
        &at("description"),
        "Pocket ID: groups, members and OIDC clients of the spec",
    );
    set(m, &at("after"), Nix::strs(["pocket-id.service"]));
    set(m, &at("requires"), Nix::strs(["pocket-id.service"]));
    set(m, &at("wantedBy"), Nix::strs(["multi-user.target"]));
    set(
        m,
        &at("path"),
        Nix::list([Nix::raw("pkgs.curl"), Nix::raw("pkgs.jq")]),
    );
    let mut env = Attrs::new();
    env.insert("POCKET_ID_API".into(), Nix::str(format!("{endpoint}/api")));
    env.insert("PLAN".into(), plan_file(plan));
    set(m, &at("environment"), Nix::Attrs(env));
    let mut credentials = vec![credential("api-key", &plan.api_key_secret)];
    for c in &plan.clients {
        credentials.push(credential(&format!("client-{}", c.id), &c.secret));
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
    set(m, &at("script"), Nix::str(SCRIPT));
}

/// `name:path` for `LoadCredential=`.
fn credential(name: &str, secret: &str) -> Nix {
    Nix::Interp(vec![Nix::str(format!("{name}:")), secret_path(secret)])
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
                "callbackURLs": [c.redirect],
                "groups": c.groups,
                "pkce": c.pkce,
                "secretPrefix": c.secret_prefix,
            })
        })
        .collect();
    let json = serde_json::json!({ "groups": groups, "clients": clients }).to_string();
    Nix::call(
        "pkgs.writeText",
        vec![Nix::str("pocket-id-provision.json"), Nix::str(json)],
    )
}
