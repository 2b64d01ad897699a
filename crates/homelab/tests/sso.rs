//! Single sign-on in the spec: `[access.sso]` names the fleet's provider
//! and its groups, services admit groups. A spec that does this right
//! checks clean with either provider; each way to get it wrong is a
//! diagnostic of its own (the bad-spec corpus pins their positions).

#[path = "support/sso_server.rs"]
#[macro_use]
mod sso_server;

const BASE: &str = concat!(
    sso_server_spec!(),
    r#"
[services.immich]
groups = ["family"]

[services.grafana]
groups = ["admin"]

[services.victoriametrics]
"#
);

fn spec(provider: &str, sso: &str) -> String {
    format!("{BASE}\n[services.{provider}]\n\n[access.sso]\n{sso}")
}

const GROUPS: &str = r#"provider = "PROVIDER"

[access.sso.groups]
admin = ["jan"]
family = ["jan", "eva"]
media = ["jan", "eva", "kids"]
"#;

fn codes(text: &str) -> Vec<String> {
    compile::analyze(text)
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.to_string())
        .collect()
}

#[test]
fn either_provider_checks_clean_and_the_fleet_keeps_groups() {
    for provider in ["pocket-id", "keycloak"] {
        let text = spec(provider, &GROUPS.replace("PROVIDER", provider));
        let (fleet, warnings) = compile::compile(&text).unwrap_or_else(|d| {
            panic!(
                "{provider}: {:?}",
                d.iter().map(|d| d.code).collect::<Vec<_>>()
            )
        });
        let sso = fleet.access.sso.as_ref().expect("[access.sso] is kept");
        assert_eq!(sso.provider.value, provider);
        let groups: Vec<(&str, usize)> = sso
            .groups
            .iter()
            .map(|g| (g.name.value.as_str(), g.members.len()))
            .collect();
        assert_eq!(groups, [("admin", 1), ("family", 2), ("media", 3)]);
        let immich = fleet
            .instances
            .iter()
            .find(|i| i.name.value == "immich")
            .unwrap();
        assert_eq!(immich.groups.len(), 1);
        assert_eq!(immich.groups[0].value, "family");
        // Keycloak lets every user of the realm into its OIDC clients
        // (Immich, Grafana); Pocket ID restricts each client to its
        // groups, and VictoriaMetrics sits behind the gateway.
        let unenforced: Vec<Option<&str>> = warnings
            .iter()
            .filter(|d| d.code.starts_with("sso-"))
            .map(|d| {
                assert_eq!(d.code, "sso-not-enforced");
                d.subject.as_deref()
            })
            .collect();
        let expected: &[&str] = match provider {
            "keycloak" => &["immich", "grafana"],
            _ => &[],
        };
        let expected: Vec<Option<&str>> = expected.iter().map(|s| Some(*s)).collect();
        assert_eq!(unenforced, expected, "{provider}");
    }
}

#[test]
fn each_mistake_has_its_code() {
    let ok = GROUPS.replace("PROVIDER", "pocket-id");
    let cases = [
        (
            spec("pocket-id", &ok.replace("\"pocket-id\"", "\"keycloak\"")),
            "sso-provider-missing",
        ),
        (
            spec("pocket-id", &ok.replace("\"pocket-id\"", "\"immich\"")),
            "sso-provider-missing",
        ),
        (
            spec("pocket-id", &ok.replace("admin = [\"jan\"]", "admin = []")),
            "sso-empty-group",
        ),
        (
            spec("pocket-id", &ok.replace("family =", "friends =")),
            "sso-unknown-group",
        ),
        (format!("{BASE}\n[services.pocket-id]\n"), "sso-missing"),
        (
            spec("pocket-id", &ok.replace("[\"jan\"]", "[1]")),
            "wrong-type",
        ),
        (
            spec("pocket-id", &ok.replace("media =", "Media =")),
            "invalid-name",
        ),
        (
            spec("pocket-id", "[access.sso.groups]\nadmin = [\"jan\"]\n"),
            "missing-key",
        ),
    ];
    for (text, code) in cases {
        let found = codes(&text);
        assert!(
            found.iter().any(|c| c == code),
            "expected {code}, got {found:?}"
        );
    }
}

#[path = "support/pocket_id.rs"]
mod pocket_id;

#[path = "support/modules.rs"]
mod modules;
use compile::nix::{Nix, print};
use modules::{at, module};
use std::process::Command;

/// Pocket ID on `server`, Grafana (an OIDC client) on `media`.
fn two_hosts() -> String {
    let text = spec("pocket-id", &GROUPS.replace("PROVIDER", "pocket-id"));
    let text = text.replace(
        "[services.grafana]\n",
        "[services.grafana]\nhost = \"media\"\n",
    );
    let text = text.replace(
        "[services.victoriametrics]\n",
        "[services.victoriametrics]\nhost = \"media\"\n",
    );
    let text = text.replace("[services.immich]\ngroups = [\"family\"]\n", "");
    let text = text.replace(
        "[services.pocket-id]\n",
        "[services.pocket-id]\nhost = \"server\"\n\n[services.mealie]\nhost = \"server\"\ngroups = [\"family\"]\n",
    );
    text.replace(
        "[access.proxy]",
        "[hosts.media]\naddress = \"192.168.1.11\"\nram_gb = 16\n\n[hosts.media.boot]\ndisk = \"/dev/disk/by-id/nvme-media\"\n\n[access.proxy]",
    )
}

#[test]
fn the_flake_makes_grafana_a_client_and_provisions_it() {
    let (fleet, _) = compile::compile(&two_hosts()).expect("the spec checks");
    let files = compile::render::render(&fleet);

    let grafana = module(&files, "hosts/media/services/grafana.nix");
    let oauth = at(
        &grafana,
        &["services", "grafana", "settings", "auth.generic_oauth"],
    );
    let text = print(oauth);
    for expected in [
        "client_id = \"grafana\"",
        "client_secret = \"$__file{${config.age.secrets.grafana-oidc-client-secret.path}}\"",
        "auth_url = \"https://id.home.example.org/authorize\"",
        "token_url = \"https://id.home.example.org/api/oidc/token\"",
        "api_url = \"https://id.home.example.org/api/oidc/userinfo\"",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    assert_eq!(
        at(
            &grafana,
            &["age", "secrets", "grafana-oidc-client-secret", "owner"]
        ),
        &Nix::str("grafana")
    );

    let provider = module(&files, "hosts/server/services/pocket-id.nix");
    assert_eq!(
        print(at(
            &provider,
            &["services", "pocket-id", "settings", "STATIC_API_KEY_FILE"]
        )),
        "config.age.secrets.pocket-id-api-key.path\n"
    );
    // The client secret is decrypted on the provider's host too, without
    // an owner that only exists on Grafana's host.
    let copy = at(&provider, &["age", "secrets", "grafana-oidc-client-secret"]);
    let copy = print(copy);
    assert!(!copy.contains("owner"), "{copy}");
    let unit = at(&provider, &["systemd", "services", "pocket-id-provision"]);
    let unit = print(unit);
    for expected in [
        "\"admin:${config.age.secrets.pocket-id-api-key.path}\"",
        "\"client-grafana:${config.age.secrets.grafana-oidc-client-secret.path}\"",
        "https://grafana.home.example.org/login/generic_oauth",
        "POCKET_ID_API = \"http://127.0.0.1:1411/api\"",
        "after = [ \"pocket-id.service\" ]",
    ] {
        assert!(unit.contains(expected), "{expected} in {unit}");
    }

    // Both files are Nix the real parser accepts.
    for path in [
        "hosts/media/services/grafana.nix",
        "hosts/server/services/pocket-id.nix",
    ] {
        let f = files.iter().find(|f| f.path == path).unwrap();
        let out = Command::new("nix-instantiate")
            .args(["--parse", "-E"])
            .arg(print(&f.value))
            .output()
            .expect("nix-instantiate runs");
        assert!(
            out.status.success(),
            "{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // One machine-made secret, readable by both hosts.
    let secret = &fleet.secrets["grafana-oidc-client-secret"];
    assert!(secret.generator.is_some());
    assert_eq!(secret.hosts, ["media", "server"]);
    let recipients = files
        .iter()
        .find(|f| f.path == "secrets/secrets.nix")
        .map(|f| print(&f.value))
        .unwrap();
    assert!(recipients.contains("grafana-oidc-client-secret.age"));
    assert!(recipients.contains("pocket-id-api-key.age"));
}

/// The unit's script and plan, as the flake writes them.
fn script_and_plan() -> (String, String) {
    let (fleet, _) = compile::compile(&two_hosts()).unwrap();
    let files = compile::render::render(&fleet);
    let provider = module(&files, "hosts/server/services/pocket-id.nix");
    let unit = ["systemd", "services", "pocket-id-provision"];
    let Nix::Str(script) = at(&provider, &[unit[0], unit[1], unit[2], "script"]) else {
        panic!("the script is a plain string");
    };
    let Nix::Call { func, args } = at(
        &provider,
        &[unit[0], unit[1], unit[2], "environment", "PLAN"],
    ) else {
        panic!("the plan is a store file");
    };
    assert_eq!(func, "pkgs.writeText");
    let Nix::Str(plan) = &args[1] else {
        panic!("plan text")
    };
    // Names, URLs and flags only: no secret goes into the store.
    let parsed: serde_json::Value = serde_json::from_str(plan).unwrap();
    for client in parsed["clients"].as_array().unwrap() {
        let keys: Vec<&String> = client.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["groups", "id", "name", "pkce", "redirects", "secretPrefix"]
        );
    }
    (script.clone(), plan.clone())
}

/// The credentials the unit would get: the admin secret, and each
/// client's secret file (`<id>-<secret>` after the client's prefix: the
/// bare value for Grafana, an environment file line for Mealie).
fn credentials(
    dir: &std::path::Path,
    plan: &str,
    key: &str,
    client_secret: &str,
) -> std::path::PathBuf {
    let creds = dir.join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("admin"), format!("{key}\n")).unwrap();
    let plan: serde_json::Value = serde_json::from_str(plan).unwrap();
    for c in plan["clients"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let prefix = c["secretPrefix"].as_str().unwrap();
        std::fs::write(
            creds.join(format!("client-{id}")),
            format!("{prefix}{id}-{client_secret}\n"),
        )
        .unwrap();
    }
    creds
}

/// Runs a provisioning script with the real bash, curl and jq.
fn run_script(
    script: &str,
    plan: &str,
    env: &[(&str, String)],
    key: &str,
    client_secret: &str,
) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let creds = credentials(dir.path(), plan, key, client_secret);
    std::fs::write(dir.path().join("plan.json"), plan).unwrap();
    std::fs::write(dir.path().join("script.sh"), script).unwrap();
    Command::new("bash")
        .arg(dir.path().join("script.sh"))
        .env("CREDENTIALS_DIRECTORY", &creds)
        .env("PLAN", dir.path().join("plan.json"))
        .env("TMPDIR", dir.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("bash runs")
}

fn run(script: &str, plan: &str, api: u16, key: &str, client_secret: &str) -> std::process::Output {
    let env = [("POCKET_ID_API", format!("http://127.0.0.1:{api}/api"))];
    run_script(script, plan, &env, key, client_secret)
}

/// The provisioning script, run by the real bash with the real curl and
/// jq against a stand-in of Pocket ID's API: the first run makes groups,
/// members and the client with its secret; a second run creates nothing;
/// a wrong API key fails the unit.
#[test]
fn provisioning_is_idempotent_and_sets_the_shared_secret() {
    let (script, plan) = script_and_plan();
    let api = pocket_id::PocketId::start("the-static-api-key");
    let secret = "a-machine-made-client-secret-0123456789";

    let out = run(&script, &plan, api.port, "the-static-api-key", secret);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (creates, clients) = {
        let s = api.state.lock().unwrap();
        let names: Vec<&str> = s
            .groups
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["admin", "family", "media"]);
        let users: Vec<&str> = s
            .users
            .iter()
            .map(|u| u["username"].as_str().unwrap())
            .collect();
        assert_eq!(users, ["jan", "eva", "kids"]);
        assert_eq!(s.groups[2]["users"], serde_json::json!(["u0", "u1", "u2"]));
        let client = &s.clients[0];
        assert_eq!(client["id"], "grafana");
        assert_eq!(
            client["callbackURLs"],
            serde_json::json!(["https://grafana.home.example.org/login/generic_oauth"])
        );
        assert_eq!(
            client["secret"],
            format!("grafana-{secret}"),
            "the secret without its newline"
        );
        assert_eq!(client["isGroupRestricted"], true);
        assert_eq!(client["allowedUserGroups"], serde_json::json!(["g0"]));
        assert_eq!(client["pkceEnabled"], true, "Grafana sends PKCE");
        let mealie = &s.clients[1];
        assert_eq!(mealie["id"], "mealie");
        assert_eq!(
            mealie["secret"],
            format!("mealie-{secret}"),
            "the bare value, without `OIDC_CLIENT_SECRET=`"
        );
        assert_eq!(mealie["pkceEnabled"], false);
        assert_eq!(mealie["allowedUserGroups"], serde_json::json!(["g1"]));
        // The gateway lets every user in; each guarded route checks groups.
        let gateway = &s.clients[2];
        assert_eq!(gateway["id"], "oauth2-proxy");
        assert_eq!(gateway["isGroupRestricted"], false);
        assert_eq!(
            gateway["callbackURLs"],
            serde_json::json!(["https://metrics.home.example.org/oauth2/callback"])
        );
        assert_eq!(gateway["secret"], format!("oauth2-proxy-{secret}"));
        let creates = s
            .changes
            .iter()
            .filter(|c| c.starts_with("POST") && !c.ends_with("/secret"))
            .count();
        (creates, s.clients.len())
    };
    assert_eq!(
        creates,
        3 + 3 + 3,
        "three groups, three users, three clients (with the gateway)"
    );

    let again = run(&script, &plan, api.port, "the-static-api-key", secret);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let s = api.state.lock().unwrap();
    let creates_after = s
        .changes
        .iter()
        .filter(|c| c.starts_with("POST") && !c.ends_with("/secret"))
        .count();
    assert_eq!(
        creates_after, creates,
        "a second run creates nothing: {:?}",
        s.changes
    );
    assert_eq!(s.clients.len(), clients);
    drop(s);

    let refused = run(&script, &plan, api.port, "a-wrong-key-0000000", secret);
    assert!(!refused.status.success(), "a refused key fails the unit");
}

/// A provider only its own host reaches wires nothing, and says so.
#[test]
fn a_provider_without_an_address_is_reported_and_wires_nothing() {
    let text = spec("pocket-id", &GROUPS.replace("PROVIDER", "pocket-id")).replace(
        "[services.pocket-id]\n",
        "[services.pocket-id]\nexposure = \"host\"\n",
    );
    let (fleet, warnings) = compile::compile(&text).unwrap();
    assert!(fleet.sso.is_none());
    let grafana = fleet
        .instances
        .iter()
        .find(|i| i.name.value == "grafana")
        .unwrap();
    assert!(!grafana.secrets.contains_key("oidc-client-secret"));
    let about: Vec<Option<&str>> = warnings
        .iter()
        .filter(|d| d.code == "sso-not-enforced")
        .map(|d| d.subject.as_deref())
        .collect();
    assert_eq!(about, [Some("pocket-id")]);
}
