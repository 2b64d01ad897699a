//! Single sign-on in the spec: `[access.sso]` names the fleet's provider
//! and its groups, services admit groups. A spec that does this right
//! checks clean with either provider; each way to get it wrong is a
//! diagnostic of its own (the bad-spec corpus pins their positions).

const BASE: &str = r#"[homelab]
name = "home"
domain = "example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEBTIGiXnUDiGk9cY1PIrmdVLGAqMXOkUmnI4w2GTgRN me@laptop"]

[hosts.server]
address = "192.168.1.10"
ram_gb = 32

[hosts.server.boot]
disk = "/dev/disk/by-id/nvme-server"

[hosts.server.pools.tank]
mode = "mirror"
disks = ["/dev/disk/by-id/ata-A", "/dev/disk/by-id/ata-B"]
size = "4T"

[access.proxy]
dns_provider = "cloudflare"
credentials_secret = "acme-dns"

[backup]
repository = "s3:https://s3.example.org/home"
password_secret = "restic-password"

[services.immich]
groups = ["family"]

[services.grafana]
groups = ["admin"]

[services.victoriametrics]
"#;

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
        let sso_codes: Vec<&str> = warnings
            .iter()
            .map(|d| d.code)
            .filter(|c| c.starts_with("sso-"))
            .collect();
        assert_eq!(
            sso_codes,
            ["sso-not-enforced"],
            "the only finding says groups gate nothing yet"
        );
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
