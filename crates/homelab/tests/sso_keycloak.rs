//! Keycloak as the fleet's provider: its OIDC clients point at the
//! fleet's realm, Keycloak makes the provisioning unit's admin service
//! account on first start (the secret through the module's `_secret`,
//! never in the store), and the unit makes the realm, groups, members and
//! clients match the spec, with the `groups` claim mapped into the
//! tokens. The script runs with the real bash, curl and jq against a
//! stand-in of Keycloak's admin API (`support/keycloak.rs`): Keycloak
//! itself does not run here.

#[path = "support/keycloak.rs"]
mod keycloak;

#[path = "support/modules.rs"]
mod modules;
use compile::nix::{Nix, print};
use modules::{at, module};
use std::process::Command;

#[path = "support/sso_server.rs"]
#[macro_use]
mod sso_server;

const SPEC: &str = concat!(
    sso_server_spec!(),
    r#"
[services.keycloak]
[services.grafana]
[services.mealie]
[services.victoriametrics]
groups = ["admin"]

[access.sso]
provider = "keycloak"

[access.sso.groups]
admin = ["jan"]
family = ["jan", "eva"]
"#
);

#[test]
fn clients_use_the_fleets_realm_and_the_admin_secret_stays_out_of_the_store() {
    let (fleet, _) = compile::compile(SPEC).expect("the spec checks");
    let files = compile::render::render(&fleet);
    let grafana = print(at(
        &module(&files, "hosts/server/services/grafana.nix"),
        &["services", "grafana", "settings", "auth.generic_oauth"],
    ));
    for expected in [
        "auth_url = \"https://auth.home.example.org/realms/home/protocol/openid-connect/auth\"",
        "token_url = \"https://auth.home.example.org/realms/home/protocol/openid-connect/token\"",
        "api_url = \"https://auth.home.example.org/realms/home/protocol/openid-connect/userinfo\"",
    ] {
        assert!(grafana.contains(expected), "{expected} in {grafana}");
    }
    let mealie = print(at(
        &module(&files, "hosts/server/services/mealie.nix"),
        &["services", "mealie", "settings", "OIDC_CONFIGURATION_URL"],
    ));
    assert_eq!(
        mealie,
        "\"https://auth.home.example.org/realms/home/.well-known/openid-configuration\"\n"
    );

    let provider = module(&files, "hosts/server/services/keycloak.nix");
    let settings = ["services", "keycloak", "settings"];
    assert_eq!(
        at(
            &provider,
            &[
                settings[0],
                settings[1],
                settings[2],
                "bootstrap-admin-client-id"
            ]
        ),
        &Nix::str("homelab-provision")
    );
    assert_eq!(
        print(at(
            &provider,
            &[
                settings[0],
                settings[1],
                settings[2],
                "bootstrap-admin-client-secret"
            ]
        )),
        "{\n  _secret = config.age.secrets.keycloak-admin-client-secret.path;\n}\n"
    );
    let unit = print(at(
        &provider,
        &["systemd", "services", "keycloak-provision"],
    ));
    for expected in [
        "\"admin:${config.age.secrets.keycloak-admin-client-secret.path}\"",
        "\"client-grafana:${config.age.secrets.grafana-oidc-client-secret.path}\"",
        "\"client-oauth2-proxy:${config.age.secrets.oauth2-proxy-client-secret.path}\"",
        "KEYCLOAK_URL = \"http://127.0.0.1:8180\"",
        "REALM = \"home\"",
        "after = [ \"keycloak.service\" ]",
    ] {
        assert!(unit.contains(expected), "{expected} in {unit}");
    }
    let secret = &fleet.secrets["keycloak-admin-client-secret"];
    assert!(secret.generator.is_some(), "machine-made");
    assert_eq!(secret.owner, None, "read by systemd for the credential");

    let text = files
        .iter()
        .find(|f| f.path == "hosts/server/services/keycloak.nix")
        .unwrap()
        .text();
    let out = Command::new("nix-instantiate")
        .args(["--parse", "-E"])
        .arg(&text)
        .output()
        .expect("nix-instantiate runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The unit's script and plan, as the flake writes them.
fn script_and_plan() -> (String, String) {
    let (fleet, _) = compile::compile(SPEC).unwrap();
    let files = compile::render::render(&fleet);
    let provider = module(&files, "hosts/server/services/keycloak.nix");
    let unit = ["systemd", "services", "keycloak-provision"];
    let Nix::Str(script) = at(&provider, &[unit[0], unit[1], unit[2], "script"]) else {
        panic!("the script is a plain string");
    };
    let Nix::Call { args, .. } = at(
        &provider,
        &[unit[0], unit[1], unit[2], "environment", "PLAN"],
    ) else {
        panic!("the plan is a store file");
    };
    let Nix::Str(plan) = &args[1] else {
        panic!("plan text")
    };
    (script.clone(), plan.clone())
}

/// Runs the script with the unit's environment and credentials: the admin
/// secret, and `<id>-<secret>` for each client after its prefix.
fn run(script: &str, plan: &str, port: u16, admin_secret: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("admin"), format!("{admin_secret}\n")).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(plan).unwrap();
    for c in parsed["clients"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let prefix = c["secretPrefix"].as_str().unwrap();
        std::fs::write(
            creds.join(format!("client-{id}")),
            format!("{prefix}{id}-secret-0123456789abcdef\n"),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("plan.json"), plan).unwrap();
    std::fs::write(dir.path().join("script.sh"), script).unwrap();
    Command::new("bash")
        .arg(dir.path().join("script.sh"))
        .env("CREDENTIALS_DIRECTORY", &creds)
        .env("PLAN", dir.path().join("plan.json"))
        .env("KEYCLOAK_URL", format!("http://127.0.0.1:{port}"))
        .env("REALM", "home")
        .env("ADMIN_CLIENT_ID", "homelab-provision")
        .env("TMPDIR", dir.path())
        .output()
        .expect("bash runs")
}

/// Each user with the ids of the groups they are in.
fn members(s: &keycloak::State) -> Vec<(&str, &serde_json::Value)> {
    s.users
        .iter()
        .map(|u| (u["username"].as_str().unwrap(), &u["groups"]))
        .collect()
}

fn creates(s: &keycloak::State) -> usize {
    s.changes.iter().filter(|c| c.starts_with("POST")).count()
}

#[test]
fn provisioning_makes_the_realm_once_and_keeps_it_matching() {
    let (script, plan) = script_and_plan();
    let kc = keycloak::Keycloak::start("homelab-provision", "the-admin-secret-0123456789");

    let out = run(&script, &plan, kc.port, "the-admin-secret-0123456789");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = {
        let s = kc.state.lock().unwrap();
        assert_eq!(s.realms, ["home"]);
        let groups: Vec<&str> = s
            .groups
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(groups, ["admin", "family"]);
        assert_eq!(
            members(&s),
            [
                ("jan", &serde_json::json!(["g0", "g1"])),
                ("eva", &serde_json::json!(["g1"]))
            ]
        );
        let ids: Vec<&str> = s
            .clients
            .iter()
            .map(|c| c["clientId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["grafana", "mealie", "oauth2-proxy"]);
        let grafana = &s.clients[0];
        assert_eq!(
            grafana["secret"], "grafana-secret-0123456789abcdef",
            "no newline"
        );
        assert_eq!(
            grafana["redirectUris"],
            serde_json::json!(["https://grafana.home.example.org/login/generic_oauth"])
        );
        assert_eq!(grafana["publicClient"], false);
        assert_eq!(grafana["attributes"]["pkce.code.challenge.method"], "S256");
        let mealie = &s.clients[1];
        assert_eq!(
            mealie["secret"], "mealie-secret-0123456789abcdef",
            "the bare value, without `OIDC_CLIENT_SECRET=`"
        );
        assert_eq!(
            mealie["attributes"],
            serde_json::json!({}),
            "Mealie sends no PKCE"
        );
        let gateway = &s.clients[2];
        assert_eq!(
            gateway["redirectUris"],
            serde_json::json!(["https://metrics.home.example.org/oauth2/callback"])
        );
        for c in &s.clients {
            let mappers = c["mappers"].as_array().unwrap();
            assert_eq!(mappers.len(), 1, "{}", c["clientId"]);
            assert_eq!(mappers[0]["protocolMapper"], "oidc-group-membership-mapper");
            assert_eq!(mappers[0]["config"]["claim.name"], "groups");
            assert_eq!(mappers[0]["config"]["id.token.claim"], "true");
        }
        creates(&s)
    };
    assert_eq!(
        first,
        1 + 2 + 2 + 3 + 3,
        "realm, groups, users, clients, mappers"
    );

    let again = run(&script, &plan, kc.port, "the-admin-secret-0123456789");
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let s = kc.state.lock().unwrap();
    assert_eq!(
        creates(&s),
        first,
        "a second run creates nothing: {:?}",
        s.changes
    );
    assert_eq!(s.clients.len(), 3);
    let updates = s
        .changes
        .iter()
        .filter(|c| c.starts_with("PUT") && c.contains("/clients/"))
        .count();
    assert_eq!(updates, 3, "each client is brought back to the spec");
    drop(s);

    let refused = run(&script, &plan, kc.port, "a-wrong-secret-00000000000");
    assert!(
        !refused.status.success(),
        "a refused admin secret fails the unit"
    );
}

#[test]
fn a_member_taken_out_of_a_group_in_the_spec_loses_it() {
    let (script, plan) = script_and_plan();
    let kc = keycloak::Keycloak::start("homelab-provision", "the-admin-secret-0123456789");
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(run(&script, &plan, kc.port, "the-admin-secret-0123456789"));
    // eva leaves `family` in the spec; jan stays in both groups.
    let mut fewer: serde_json::Value = serde_json::from_str(&plan).unwrap();
    for g in fewer["groups"].as_array_mut().unwrap() {
        g["members"].as_array_mut().unwrap().retain(|m| m != "eva");
    }
    ok(run(
        &script,
        &fewer.to_string(),
        kc.port,
        "the-admin-secret-0123456789",
    ));
    let s = kc.state.lock().unwrap();
    assert_eq!(
        members(&s),
        [
            ("jan", &serde_json::json!(["g0", "g1"])),
            ("eva", &serde_json::json!([]))
        ],
        "eva's account stays, her group is gone"
    );
    let left: Vec<&String> = s
        .changes
        .iter()
        .filter(|c| c.starts_with("DELETE"))
        .collect();
    assert_eq!(left, ["DELETE /admin/realms/home/users/u1/groups/g1"]);
}
