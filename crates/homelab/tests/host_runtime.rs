//! What a NixOS host needs at run time, beyond evaluating: each test reads
//! the generated Nix of an example that exercises one mechanism and pins
//! what the module sources require (systemd's 0700 on /var/lib/private,
//! syncoid's sandbox and ZFS permissions, sanoid's schedule, restic's lock,
//! one canonical name per service, secrets through agenix options).

use compile::render::{File, render};

#[path = "support/examples.rs"]
mod examples;
use examples::{example, text};

fn all_examples() -> Vec<(&'static str, Vec<File>)> {
    compile::examples::names()
        .into_iter()
        .map(|n| (n, example(n).1))
        .collect()
}

#[test]
fn dynamic_user_state_below_a_private_root_of_0700() {
    let (_, files) = example("family");
    let gatus = text(&files, "hosts/server/services/gatus.nix");
    assert!(gatus.contains("mountpoint = \"/var/lib/private/gatus\";"));
    let infra = text(&files, "hosts/server/infrastructure.nix");
    assert!(
        infra.contains(
            "\"10-homelab-private\".\"/var/lib/private\".d = {\n        group = \"root\";\n        mode = \"0700\";\n        user = \"root\";"
        ),
        "{infra}"
    );
    // Only hosts that mount something there get the rule.
    let nas = text(&files, "hosts/nas/infrastructure.nix");
    assert!(!nas.contains("/var/lib/private"));
}

#[test]
fn replica_host_knows_each_source_host_key() {
    let (_, files) = example("family");
    let nas = text(&files, "hosts/nas/infrastructure.nix");
    assert!(
        nas.contains(
            "    server = {\n      hostNames = [ \"192.168.1.10\" ];\n      publicKey = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEfkeW02ImCSAPVDb6ACvBwXZECChj52b0zVXkDjmWnJ\";\n    };"
        ),
        "{nas}"
    );
    // The key is read by root for systemd's LoadCredential; no owner that
    // the DynamicUser service would not have.
    let key = nas.split("replication-ssh-key = {").nth(1).unwrap();
    let key = key.split('}').next().unwrap();
    assert!(!key.contains("owner"), "{key}");
}

#[test]
fn replica_may_receive_with_canmount_off() {
    let (_, files) = example("family");
    let nas = text(&files, "hosts/nas/infrastructure.nix");
    assert!(nas.contains("recvOptions = \"u o canmount=off\";"));
    let allow = nas
        .split("localTargetAllow = [")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .expect("localTargetAllow is set");
    // The module's default, plus the permission `-o canmount=off` needs.
    for perm in [
        "change-key",
        "compression",
        "create",
        "destroy",
        "mount",
        "mountpoint",
        "receive",
        "rollback",
        "canmount",
    ] {
        assert!(allow.contains(&format!("\"{perm}\"")), "{perm}: {allow}");
    }
}

#[test]
fn replica_scripts_quote_dataset_names_in_nix() {
    let (_, files) = example("family");
    let server = text(&files, "hosts/server/infrastructure.nix");
    assert!(server.contains(
        "zfs allow -u syncoid hold,send ${lib.escapeShellArg \"tank/vaultwarden/data\"}\n"
    ));
    let nas = text(&files, "hosts/nas/infrastructure.nix");
    assert!(nas.contains("zfs list -H ${lib.escapeShellArg \"vault/replicas/server\"}"));
}

#[test]
fn frequent_snapshots_get_a_sanoid_run_every_15_minutes() {
    let (_, files) = example("nuc");
    let infra = text(&files, "hosts/nuc-server/infrastructure.nix");
    assert!(infra.contains("frequently = 4;"));
    assert!(infra.contains("interval = \"*:0/15\";"), "{infra}");
    // The NAS only prunes received replicas: sanoid's default schedule.
    let (_, files) = example("family");
    let nas = text(&files, "hosts/nas/infrastructure.nix");
    let sanoid = nas.split("sanoid = {").nth(1).unwrap();
    let sanoid = sanoid.split("\n    };\n").next().unwrap();
    assert!(!sanoid.contains("interval"), "{sanoid}");
}

#[test]
fn every_host_backs_up_to_a_repository_path_of_its_own() {
    // Two hosts never share a repository, so their prunes never meet on
    // one lock: offsite at `<repository>/<host>`, on the NAS `/<host>/`.
    let (_, files) = example("family");
    for host in ["server", "hub"] {
        let plan: compile::plan::Plan =
            serde_json::from_str(&text(&files, &format!("hosts/{host}/plan.json"))).unwrap();
        for s in &plan.services {
            let urls: Vec<&str> = s.repositories.iter().map(|r| r.url.as_str()).collect();
            if urls.is_empty() {
                continue;
            }
            assert_eq!(
                urls,
                [
                    format!("rest:http://192.168.1.20:8000/{host}/"),
                    format!("s3:https://s3.example.org/family-backups/{host}"),
                ],
                "{host}/{}",
                s.name
            );
        }
    }
}

#[test]
fn a_public_service_has_one_canonical_name() {
    let (_, files) = example("nuc");
    let nextcloud = text(&files, "hosts/nuc-server/services/nextcloud.nix");
    // The tunnel's name is the canonical one; the LAN name is trusted too.
    assert!(nextcloud.contains("hostName = \"files.example.org\";"));
    assert!(nextcloud.contains("trusted_domains = [ \"files.home.example.org\" ];"));
    assert!(nextcloud.contains("ingress.\"files.example.org\""));
    // Vaultwarden takes one DOMAIN: the LAN name redirects to it.
    let vault = text(&files, "hosts/nuc-server/services/vaultwarden.nix");
    assert!(vault.contains("DOMAIN = \"https://passwords.example.org\";"));
    assert!(vault.contains("redir https://passwords.example.org{uri} permanent"));
    assert!(!vault.contains("reverse_proxy"));
    // A service that does not care about its name is proxied on both.
    let jellyfin = text(&files, "hosts/nuc-server/services/jellyfin.nix");
    assert!(jellyfin.contains("reverse_proxy 127.0.0.1:8096"));
}

#[test]
fn secrets_in_text_are_agenix_paths_never_spelled_out() {
    let (_, files) = example("frame1");
    let grafana = text(&files, "hosts/frame1/services/grafana.nix");
    assert!(grafana.contains(
        "admin_password = \"$__file{${config.age.secrets.grafana-admin-password.path}}\";"
    ));
    for (name, files) in all_examples() {
        for f in &files {
            assert!(!f.text().contains("/run/agenix"), "{name}: {}", f.path);
        }
    }
}

#[test]
fn homepage_lists_each_group_once() {
    let (_, files) = example("family");
    let homepage = text(&files, "hosts/server/services/homepage.nix");
    for group in ["Apps", "Media", "Monitoring"] {
        assert_eq!(
            homepage
                .matches(&format!("          {group} = [\n"))
                .count(),
            1,
            "{group}:\n{homepage}"
        );
    }
    // The VM test names every unit it waits for, the dashboard's too.
    let elsewhere = |f: &&compile::render::File| {
        !f.path.ends_with("homepage.nix") && !f.path.ends_with("vm-test.nix")
    };
    for f in files.iter().filter(elsewhere) {
        assert!(!f.text().contains("homepage-dashboard"), "{}", f.path);
    }
}

#[test]
fn no_tmpfiles_rule_repeats_the_modules_own() {
    let (_, files) = example("family");
    // radarr creates its dataDir 0700 itself, nextcloud its home 0750.
    for svc in ["radarr", "nextcloud"] {
        let nix = text(&files, &format!("hosts/server/services/{svc}.nix"));
        assert!(!nix.contains("tmpfiles"), "{svc}:\n{nix}");
    }
    // sonarr has no rule of its own at the pinned nixpkgs: its dataset
    // gets one, owned by sonarr.
    let sonarr = text(&files, "hosts/server/services/sonarr.nix");
    assert!(
        sonarr.contains("\"/var/lib/sonarr/.config/NzbDrone\".d"),
        "{sonarr}"
    );
    assert!(sonarr.contains("user = \"sonarr\""), "{sonarr}");
    // jellyfin creates dataDir and cacheDir; the metadata dataset below
    // dataDir is the tool's own and keeps its rule.
    let jellyfin = text(&files, "hosts/server/services/jellyfin.nix");
    assert!(jellyfin.contains("\"/var/lib/jellyfin/metadata\".d"));
    assert!(!jellyfin.contains("\"/var/lib/jellyfin\".d"));
    assert!(!jellyfin.contains("\"/var/cache/jellyfin\".d"));
}

#[test]
fn an_idle_replica_asks_for_no_key() {
    // The replica host is the only host: it has nothing to pull.
    let text = include_str!("bad-specs/replica-on-itself.toml");
    let (fleet, warnings) = compile::compile(text).expect("only warnings");
    assert!(warnings.iter().any(|d| d.code == "idle-replica"));
    assert!(!fleet.secrets.contains_key("replication-ssh-key"));
    for f in render(&fleet) {
        assert!(!f.text().contains("syncoid"), "{}", f.path);
    }
}

/// The nuc example with its host fixed at an installed release.
fn nuc_installed_at(release: &str) -> Vec<File> {
    let spec = compile::examples::get("nuc").unwrap().replace(
        "[hosts.nuc-server.boot]",
        &format!("state_version = \"{release}\"\n\n[hosts.nuc-server.boot]"),
    );
    let (fleet, _) = compile::compile(&spec).expect("the nuc example compiles");
    render(&fleet)
}

#[test]
fn state_directories_follow_the_release_a_host_was_installed_with() {
    // Seerr moved its state at 26.05, Vaultwarden at 24.11; the dataset
    // must be where the module puts the directory on that host.
    for (release, seerr, vaultwarden) in [
        ("26.11", "/var/lib/private/seerr", "/var/lib/vaultwarden"),
        (
            "24.11",
            "/var/lib/private/jellyseerr",
            "/var/lib/vaultwarden",
        ),
        (
            "24.05",
            "/var/lib/private/jellyseerr",
            "/var/lib/bitwarden_rs",
        ),
    ] {
        let files = nuc_installed_at(release);
        let requests = text(&files, "hosts/nuc-server/services/jellyseerr.nix");
        assert!(
            requests.contains(&format!("mountpoint = \"{seerr}\";")),
            "{release}:\n{requests}"
        );
        // The module under its current name, not the renamed alias.
        assert!(
            requests.contains("    seerr = {\n      enable = true;"),
            "{requests}"
        );
        let vault = text(&files, "hosts/nuc-server/services/vaultwarden.nix");
        assert!(
            vault.contains(&format!("mountpoint = \"{vaultwarden}\";")),
            "{release}:\n{vault}"
        );
        assert!(
            vault.contains(&format!("DATA_FOLDER = \"{vaultwarden}\";")),
            "{release}:\n{vault}"
        );
    }
}
