//! Single sign-on in the examples: every OIDC client is wired into both
//! sides (its module and the provider's provisioning plan), and every
//! service without a login of its own sits behind the proxy's sign-in
//! gateway — oauth2-proxy on the front proxy's host, asked by Caddy's
//! `forward_auth` about each request, with the service's groups as
//! `allowed_groups`. A service the gateway cannot guard is reported.

#[path = "support/examples.rs"]
mod examples;
#[path = "support/sso_server.rs"]
#[macro_use]
mod sso_server;

use examples::{example, text};

/// The provisioning plan in the provider's file, parsed.
fn plan(files: &[compile::render::File], path: &str) -> serde_json::Value {
    let file = text(files, path);
    let start = file.find("PLAN = pkgs.writeText").expect("a plan");
    let line = &file[start..file[start..].find('\n').unwrap() + start];
    // `pkgs.writeText "name" "<json, Nix-quoted>";`
    let quoted = line.rsplit_once(" \"").unwrap().1.trim_end_matches("\";");
    let json = quoted.replace("\\\"", "\"").replace("\\\\", "\\");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn client<'a>(plan: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    plan["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no client {id} in {plan}"))
}

#[test]
fn forge_wires_its_oidc_clients_into_both_sides() {
    let (_, files) = example("forge");
    let plan = plan(&files, "hosts/forge/services/pocket-id.nix");
    for (id, module, redirect) in [
        (
            "grafana",
            "grafana",
            "https://grafana.home.example.org/login/generic_oauth",
        ),
        ("mealie", "mealie", "https://mealie.home.example.org/login"),
        (
            "open-webui",
            "open-webui",
            "https://chat.home.example.org/oauth/oidc/callback",
        ),
    ] {
        assert_eq!(
            client(&plan, id)["redirects"],
            serde_json::json!([redirect])
        );
        let nix = text(&files, &format!("hosts/forge/services/{module}.nix"));
        assert!(
            nix.contains(&format!("{id}-oidc-client-secret")),
            "{id} reads its client secret"
        );
        assert!(
            nix.contains("https://id.home.example.org"),
            "{id} knows the issuer"
        );
    }
}

#[test]
fn nuc_makes_immich_a_client_of_keycloak() {
    let (_, files) = example("nuc");
    let plan = plan(&files, "hosts/nuc-server/services/keycloak.nix");
    assert_eq!(
        client(&plan, "immich")["redirects"],
        serde_json::json!([
            "https://photos.example.org/auth/login",
            "https://photos.example.org/user-settings",
            "app.immich:///oauth-callback"
        ])
    );
    let immich = text(&files, "hosts/nuc-server/services/immich.nix");
    for expected in [
        "clientSecret._secret = config.age.secrets.immich-oidc-client-secret.path;",
        "issuerUrl = \"https://auth.example.org/realms/nuc/.well-known/openid-configuration\";",
        "clientId = \"immich\";",
    ] {
        assert!(immich.contains(expected), "{expected} in\n{immich}");
    }
    let keycloak = text(&files, "hosts/nuc-server/services/keycloak.nix");
    assert!(
        keycloak.contains("\"client-immich:${config.age.secrets.immich-oidc-client-secret.path}\"")
    );
}

#[test]
fn forge_guards_every_service_without_a_login_with_its_groups() {
    let (fleet, files) = example("forge");
    let gateway = fleet.sso.as_ref().unwrap().gateway.as_ref().unwrap();
    assert_eq!(gateway.host, "forge");
    let mut guarded: Vec<(&str, Vec<&str>)> = gateway
        .routes
        .iter()
        .map(|r| {
            (
                r.instance.as_str(),
                r.groups.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    guarded.sort();
    assert_eq!(
        guarded,
        [
            ("alertmanager", vec![]),
            ("cooklang", vec![]),
            ("esphome", vec!["admin"]),
            ("loki", vec![]),
            ("prometheus", vec![]),
            ("prowlarr", vec!["admin"]),
            ("radarr", vec!["media"]),
            ("sonarr", vec!["media"]),
            ("tdarr", vec!["media"]),
            ("zigbee2mqtt", vec!["admin"]),
        ]
    );
    for route in &gateway.routes {
        let nix = text(
            &files,
            &format!("hosts/forge/services/{}.nix", route.instance),
        );
        let auth = match route.groups.as_slice() {
            [] => "uri /oauth2/auth\\n".to_string(),
            groups => format!("uri /oauth2/auth?allowed_groups={}\\n", groups.join(",")),
        };
        for expected in [
            "route {\\n  respond @outside",
            "reverse_proxy /oauth2/* 127.0.0.1:4180",
            "forward_auth 127.0.0.1:4180",
            &auth,
            "redir * /oauth2/sign_in?rd={scheme}://{host}{uri} 302",
        ] {
            assert!(
                nix.contains(expected),
                "{}: {expected} in\n{nix}",
                route.instance
            );
        }
    }
    // The *arr apps hand their login to the proxy.
    let sonarr = text(&files, "hosts/forge/services/sonarr.nix");
    assert!(sonarr.contains("auth.method = \"External\";"), "{sonarr}");
    // Services with their own login or OIDC keep a plain route.
    let grafana = text(&files, "hosts/forge/services/grafana.nix");
    assert!(!grafana.contains("forward_auth"));

    let plan = plan(&files, "hosts/forge/services/pocket-id.nix");
    let gateway_client = client(&plan, "oauth2-proxy");
    let callbacks: Vec<String> = gateway
        .routes
        .iter()
        .map(|r| format!("https://{}/oauth2/callback", r.fqdn))
        .collect();
    assert_eq!(gateway_client["redirects"], serde_json::json!(callbacks));
    assert_eq!(
        gateway_client["groups"],
        serde_json::json!([]),
        "groups gate per route"
    );
}

#[test]
fn the_gateway_runs_on_the_front_proxy_against_the_fleets_provider() {
    for (name, host, issuer, scope) in [
        (
            "forge",
            "forge",
            "https://id.home.example.org",
            "openid email profile groups",
        ),
        (
            "nuc",
            "nuc-server",
            "https://auth.example.org/realms/nuc",
            "openid email profile",
        ),
    ] {
        let (_, files) = example(name);
        let nix = text(&files, &format!("hosts/{host}/infrastructure.nix"));
        for expected in [
            "clientID = \"oauth2-proxy\";".to_string(),
            "clientSecretFile = config.age.secrets.oauth2-proxy-client-secret.path;".into(),
            "secretFile = config.age.secrets.oauth2-proxy-cookie-secret.path;".into(),
            "domain = \".home.example.org\";".into(),
            format!("oidcIssuerUrl = \"{issuer}\";"),
            format!("scope = \"{scope}\";"),
            "provider = \"oidc\";".into(),
            "reverseProxy = true;".into(),
            "httpAddress = \"http://127.0.0.1:4180\";".into(),
            "whitelist-domain = [ \".home.example.org\" ];".into(),
        ] {
            assert!(nix.contains(&expected), "{name}: {expected}");
        }
        // Neither secret is stored beside the settings.
        assert!(!nix.contains("cookie.secret ="), "{name}");
        assert!(!nix.contains("clientSecret ="), "{name}");
    }
    // Keycloak also knows the gateway as a client.
    let (_, files) = example("nuc");
    let plan = plan(&files, "hosts/nuc-server/services/keycloak.nix");
    assert_eq!(
        client(&plan, "oauth2-proxy")["redirects"],
        serde_json::json!([
            "https://sonarr.home.example.org/oauth2/callback",
            "https://radarr.home.example.org/oauth2/callback",
            "https://prowlarr.home.example.org/oauth2/callback"
        ])
    );
}

const BASE: &str = concat!(
    sso_server_spec!(),
    r#"
[services.pocket-id]

[access.sso]
provider = "pocket-id"

[access.sso.groups]
admin = ["jan"]
"#
);

fn warnings(text: &str) -> Vec<(String, Option<String>)> {
    let (_, warnings) = compile::compile(text).expect("the spec checks");
    warnings
        .into_iter()
        .filter(|d| d.code.starts_with("sso-"))
        .filter(|d| d.severity != compile::diagnostic::Severity::Silenced)
        .map(|d| (d.code.to_string(), d.subject))
        .collect()
}

#[test]
fn a_service_without_a_login_that_the_gateway_cannot_guard_is_reported() {
    // Microbin shares pastes by link: its entry has no `[forward_auth]`.
    let found = warnings(&format!("{BASE}\n[services.microbin]\n"));
    assert_eq!(
        found,
        [("sso-ungated".to_string(), Some("microbin".to_string()))]
    );
    let silenced = format!(
        "{BASE}\n[services.microbin.silence]\nsso-ungated = \"pastes are shared by link\"\n"
    );
    assert_eq!(warnings(&silenced), []);
    // Without single sign-on there is nothing to guard with.
    let plain = BASE
        .split("[services.pocket-id]")
        .next()
        .unwrap()
        .to_string();
    let (_, w) = compile::compile(&format!("{plain}\n[services.microbin]\n")).unwrap();
    assert!(w.iter().all(|d| d.code != "sso-ungated"));
    // Homepage can sit behind the gateway, and does.
    assert_eq!(warnings(&format!("{BASE}\n[services.homepage]\n")), []);
}

#[test]
fn groups_on_a_service_the_gateway_cannot_reach_are_reported() {
    // Jellyfin keeps its own login and speaks no OIDC here.
    let text = format!("{BASE}\n[services.jellyfin]\ngroups = [\"admin\"]\n");
    assert_eq!(
        warnings(&text),
        [("sso-not-enforced".to_string(), Some("jellyfin".to_string()))]
    );
}

#[test]
fn a_client_reached_from_farther_than_its_provider_is_refused() {
    // nuc: Immich is public, so its provider is public too; with
    // Keycloak at its default (LAN only) the build stops.
    let nuc = compile::examples::get("nuc").unwrap();
    assert!(
        warnings_of(nuc)
            .iter()
            .all(|c| c != "sso-provider-unreachable")
    );
    let keycloak = nuc.lines().find(|l| l.starts_with("keycloak = ")).unwrap();
    let lan_only = nuc.replace(keycloak, "keycloak = {}");
    let errors = compile::compile(&lan_only).expect_err("Keycloak answers 403 outside the LAN");
    let found: Vec<Option<&str>> = errors
        .iter()
        .filter(|d| d.code == "sso-provider-unreachable")
        .map(|d| d.subject.as_deref())
        .collect();
    // Immich is public; Sonarr, Radarr and Prowlarr sign in through the
    // gateway from the admin devices on the tailnet, which a LAN-only
    // provider refuses too.
    assert_eq!(
        found,
        [
            Some("immich"),
            Some("sonarr"),
            Some("radarr"),
            Some("prowlarr")
        ]
    );
    // The provider on the same networks as its clients: nothing to say.
    let text = format!("{BASE}\n[services.grafana]\n[services.victoriametrics]\n");
    assert!(
        warnings_of(&text)
            .iter()
            .all(|c| c != "sso-provider-unreachable")
    );
    // A tailnet client of a LAN provider, behind OIDC or the gateway.
    for client in ["grafana", "homepage"] {
        let wide = format!(
            "{BASE}\n[services.victoriametrics]\n[services.{client}]\nexposure = \"tailnet\"\nexposure_reason = \"away from home\"\n\n[access.tailscale]\nauth_key_secret = \"tailscale-authkey\"\n"
        );
        let errors = compile::compile(&wide).expect_err("the provider is LAN-only");
        assert!(
            errors
                .iter()
                .any(|d| d.code == "sso-provider-unreachable"
                    && d.subject.as_deref() == Some(client)),
            "{client}: {errors:?}"
        );
    }
}

fn warnings_of(text: &str) -> Vec<String> {
    let (_, warnings) = compile::compile(text).expect("the spec checks");
    warnings.iter().map(|d| d.code.to_string()).collect()
}

#[test]
fn the_access_matrix_says_how_each_service_signs_people_in() {
    let (fleet, _) = example("forge");
    let rows = compile::show::exposure(&fleet).json();
    let sign_in = |service: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"] == service)
            .unwrap_or_else(|| panic!("no row {service}"))["sign-in"]
            .clone()
    };
    assert_eq!(sign_in("grafana"), "oidc");
    assert_eq!(sign_in("sonarr"), "gateway: media");
    assert_eq!(sign_in("cooklang"), "gateway");
    assert_eq!(sign_in("plex"), "own");
    assert_eq!(sign_in("alloy"), "none");
}
