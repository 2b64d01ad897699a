//! The embedded examples reproduce the homelabs they were written from:
//! frame1 serves the services of its "Enabled Services" table on the same
//! ports and URLs; nuc has the datasets, quotas and access matrix of its
//! architecture document (sections 3.2, 3.4, 5.2, 5.3, 7.1); family makes
//! 3-2-1 whole with a NAS that pulls every critical dataset.

use compile::render::render;
use compile::show;
use compile::spec::Size;

#[path = "support/examples.rs"]
mod examples;
use examples::{example, text};

#[test]
fn frame1_serves_the_enabled_services_table() {
    let (fleet, files) = example("frame1");
    // (service, port, URL) from the table; the proxy routes each name to
    // the service on localhost.
    let table = [
        ("homepage", 3000, Some("https://local.kaifer.dev")),
        ("grafana", 3001, Some("https://grafana.local.kaifer.dev")),
        (
            "victoriametrics",
            8428,
            Some("https://metrics.local.kaifer.dev"),
        ),
        ("loki", 3100, Some("https://logs.local.kaifer.dev")),
        ("alloy", 12345, None),
    ];
    for (name, port, url) in table {
        let i = fleet
            .instances
            .iter()
            .find(|i| i.name.value == name)
            .unwrap();
        assert_eq!(i.port, Some(port), "{name}");
        assert_eq!(i.url().as_deref(), url, "{name}");
        let file = text(&files, &format!("hosts/frame1/services/{name}.nix"));
        if let Some(url) = url {
            let host = url.trim_start_matches("https://");
            assert!(
                file.contains(&format!("caddy.virtualHosts.\"{host}\"")),
                "{name}: no route for {host}"
            );
            assert!(
                file.contains(&format!("reverse_proxy 127.0.0.1:{port}")),
                "{name}: route not to {port}"
            );
        }
    }
    let infra = text(&files, "hosts/frame1/infrastructure.nix");
    assert!(
        infra.contains("domain = \"*.local.kaifer.dev\";"),
        "one wildcard certificate"
    );
    assert!(
        infra.contains("dnsProvider = \"cloudflare\";"),
        "DNS-01 through Cloudflare"
    );
    assert!(infra.contains("tailscale = {"), "Tailscale");
    let core = text(&files, "hosts/frame1/core.nix");
    assert!(
        core.contains("PasswordAuthentication = false;"),
        "SSH with keys only"
    );
    let grafana = text(&files, "hosts/frame1/services/grafana.nix");
    assert!(
        grafana.contains("url = \"http://127.0.0.1:8428\";"),
        "Grafana reads VictoriaMetrics"
    );
    let alloy = text(&files, "hosts/frame1/services/alloy.nix");
    assert!(
        alloy.contains("http://127.0.0.1:3100/loki/api/v1/push"),
        "Alloy pushes to Loki"
    );
}

#[test]
fn nuc_has_the_access_matrix_of_section_3_2() {
    let (fleet, files) = example("nuc");
    let matrix = show::exposure(&fleet).json();
    // Tier-1: LAN ✅, Tailscale ✅, Cloudflare Tunnel ✅ (public names of 3.4).
    for (service, public) in [
        ("immich", "photos.example.org"),
        ("nextcloud", "files.example.org"),
        ("vaultwarden", "passwords.example.org"),
        ("jellyfin", "watch.example.org"),
    ] {
        let row = matrix
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"] == service)
            .unwrap();
        assert_eq!(
            (
                row["lan"].as_bool(),
                row["tailnet"].as_bool(),
                row["tunnel"].as_bool()
            ),
            (Some(true), Some(true), Some(true)),
            "{service}"
        );
        assert_eq!(row["public_url"], format!("https://{public}"));
        let file = text(&files, &format!("hosts/nuc-server/services/{service}.nix"));
        assert!(
            file.contains(&format!("ingress.\"{public}\"")),
            "{service}: tunnel ingress"
        );
    }
    // 7.1: the ports, bound to localhost; Jellyfin keeps its bind address
    // in its own network.xml (every interface), the firewall closes it.
    let ports = show::ports(&fleet).json();
    for (service, port, bind) in [
        ("immich", 2283, "127.0.0.1"),
        ("nextcloud", 8080, "127.0.0.1"),
        ("vaultwarden", 8000, "127.0.0.1"),
        ("jellyfin", 8096, "0.0.0.0"),
    ] {
        let row = ports
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"] == service && r["port"] == port);
        assert!(
            row.is_some_and(|r| r["bind"] == bind),
            "{service} on {port}"
        );
    }
    // 3.5: no port open to the internet but SSH and the proxy.
    let infra = text(&files, "hosts/nuc-server/infrastructure.nix");
    assert!(infra.contains("allowedTCPPorts = [ 80 443 ];"));
}

#[test]
fn nuc_has_the_datasets_of_section_5() {
    let (fleet, files) = example("nuc");
    let storage = show::storage(&fleet).json();
    let rows = storage.as_array().unwrap();
    let quota = |dataset: &str| -> u64 {
        rows.iter()
            .find(|r| r["dataset"] == dataset)
            .unwrap_or_else(|| panic!("{dataset}"))["quota"]
            .as_u64()
            .unwrap()
    };
    let size = |s: &str| Size::parse(s).unwrap().0;
    // 5.2: per-dataset quotas and record sizes.
    assert_eq!(quota("storagepool/immich/library"), size("3T"));
    assert_eq!(quota("storagepool/immich/upload"), size("500G"));
    assert_eq!(quota("storagepool/immich/thumbs"), size("200G"));
    assert_eq!(quota("storagepool/immich/encoded-video"), size("200G"));
    assert_eq!(quota("storagepool/nextcloud/data"), size("2T"));
    assert_eq!(quota("storagepool/vaultwarden/data"), size("2G"));
    assert_eq!(quota("storagepool/jellyfin/cache"), size("100G"));
    // 5.3 sums 5.2 in decimal steps (3T + 500G + 200G + 200G + 50G database
    // = "3.95T"; 2T + 50G database + 5G config = "2.05T"). Here the two 50G
    // database datasets are one 100G PostgreSQL dataset shared by both, and
    // Nextcloud's config lives in its data dataset.
    let immich: u64 = ["library", "upload", "thumbs", "encoded-video"]
        .iter()
        .map(|d| quota(&format!("storagepool/immich/{d}")))
        .sum();
    assert_eq!(
        immich,
        size("3T") + size("500G") + size("200G") + size("200G")
    );
    assert_eq!(
        quota("storagepool/postgresql/data"),
        size("50G") + size("50G")
    );
    let tier1 = immich + quota("storagepool/nextcloud/data") + quota("storagepool/postgresql/data");
    let seed = [
        ("3T"),
        ("500G"),
        ("200G"),
        ("200G"),
        ("50G"),
        ("2T"),
        ("50G"),
    ];
    assert_eq!(tier1, seed.iter().map(|s| size(s)).sum::<u64>());

    let immich_nix = text(&files, "hosts/nuc-server/services/immich.nix");
    assert!(immich_nix.contains("\"immich/library\" = {\n      mountpoint = \"/var/lib/immich/library\";\n      options = {\n        quota = \"3T\";\n        recordsize = \"1M\";"), "{immich_nix}");
    let disko = text(&files, "hosts/nuc-server/disko.nix");
    assert!(
        disko.contains("compression = \"lz4\";"),
        "5.2: lz4 on the pool"
    );
    // 5.4: thumbnails and transcodes are not snapshotted; photos are,
    // daily, weekly and monthly only; uploads by the critical class.
    assert!(immich_nix.contains("\"storagepool/immich/library\" = {\n        frequently = 0;\n        hourly = 0;\n        use_template = [ \"critical\" ];"), "{immich_nix}");
    assert!(immich_nix.contains("\"storagepool/immich/upload\".use_template = [ \"critical\" ];"));
    assert!(!immich_nix.contains("storagepool/immich/thumbs\""));
    // 5.2: `backups/` (200G), a dataset no service owns, backed up.
    let backups = fleet.hosts[0]
        .plain_data
        .iter()
        .find(|p| p.name.value == "backups")
        .unwrap();
    assert_eq!(backups.dir.quota, compile::spec::Size::parse("200G"));
    assert_eq!(
        backups.dir.dataset,
        Some(("storagepool".to_string(), "backups".to_string()))
    );
}

#[test]
fn family_replicates_every_critical_dataset_to_the_nas() {
    let text_of = compile::examples::get("family").unwrap();
    let (fleet, warnings) = compile::compile(text_of).unwrap();
    let codes: Vec<&str> = warnings.iter().map(|d| d.code).collect();
    assert!(!codes.contains(&"no-replica"), "{codes:?}");
    assert!(!codes.contains(&"no-offsite"), "{codes:?}");

    // What must be pulled: every critical directory with a dataset on the
    // server, computed from the fleet, not listed by hand.
    let server = fleet.hosts.iter().find(|h| h.name() == "server").unwrap();
    let mut critical: Vec<String> = fleet
        .data_on(server)
        .into_iter()
        .filter(|(_, d)| d.class == compile::spec::DataClass::Critical)
        .map(|(_, d)| {
            let (pool, name) = d.dataset.clone().unwrap();
            format!("{pool}/{name}")
        })
        .collect();
    critical.sort();
    assert_eq!(
        critical,
        [
            "tank/immich/library",
            "tank/immich/profile",
            "tank/immich/upload",
            "tank/nextcloud/data",
            "tank/paperless/media",
            "tank/postgresql/data",
            "tank/vaultwarden/data",
        ]
    );

    let files = render(&fleet);
    let nas = text(&files, "hosts/nas/infrastructure.nix");
    let source = text(&files, "hosts/server/infrastructure.nix");
    for ds in &critical {
        let flat = ds.trim_start_matches("tank/").replace('/', "-");
        assert!(
            nas.contains(&format!("source = \"syncoid@192.168.1.10:{ds}\";")),
            "{ds} not pulled:\n{nas}"
        );
        assert!(nas.contains(&format!("target = \"vault/replicas/server/{flat}\";")));
        assert!(source.contains(&format!(
            "zfs allow -u syncoid hold,send ${{lib.escapeShellArg \"{ds}\"}}\n"
        )));
    }
    // Nothing else is pulled from the server, and nothing disposable.
    assert_eq!(
        nas.matches("source = \"syncoid@192.168.1.10:").count(),
        critical.len()
    );
    assert!(!nas.contains("immich/thumbs"));
    // The pulling key is decrypted on the NAS only; the server authorizes
    // its public half.
    assert!(nas.contains("sshKey = config.age.secrets.replication-ssh-key.path;"));
    assert!(!source.contains("replication-ssh-key"));
    assert!(source.contains("syncoid@nas\""));
    assert_eq!(
        fleet.secrets["replication-ssh-key"].hosts,
        ["nas".to_string()]
    );
    // The NAS runs no service of its own and pulls nothing from itself.
    assert!(!nas.contains("syncoid@192.168.1.20"));
}
