//! One test per kind of change, and the order of a plan. Each compares two
//! small specs built on `fleet::testing::BASE` (hosts `server`, with pool
//! `tank`, and `nas`).

use super::*;
use crate::fleet::resolve;
use crate::fleet::testing::{BASE, spec};

fn fleet(more: &str) -> Fleet {
    let (_, spec) = spec(more);
    resolve(&spec).unwrap_or_else(|d| panic!("the test spec resolves: {d:?}"))
}

/// `severity host: text` of every change from `old` to `new`, in order.
fn plan(old: &str, new: &str) -> Vec<String> {
    lines(&diff(&fleet(old), &fleet(new)))
}

fn lines(changes: &Changes) -> Vec<String> {
    changes
        .list()
        .iter()
        .map(|c| {
            format!(
                "{} {}: {}",
                c.severity.as_str(),
                c.host.as_deref().unwrap_or("-"),
                c.text
            )
        })
        .collect()
}

/// The one change of `kind`, failing when there is none or several.
fn only(changes: &[String], needle: &str) -> String {
    let found: Vec<&String> = changes.iter().filter(|l| l.contains(needle)).collect();
    assert_eq!(found.len(), 1, "one `{needle}` in {changes:#?}");
    found[0].clone()
}

const PROXY: &str =
    "\n[access.proxy]\ndns_provider = \"cloudflare\"\ncredentials_secret = \"acme-dns\"\n";
const TUNNEL: &str = "\n[access.tunnel]\nid = \"6ff42ae2-765d-4adf-8112-31c55c1551ef\"\ncredentials_secret = \"tunnel-credentials\"\n";
const BACKUP: &str = "\n[backup]\nrepository = \"s3:https://s3.example.org/home\"\npassword_secret = \"restic-password\"\n";

#[test]
fn the_same_fleet_has_no_changes() {
    let s = "[services.gatus]\nhost = \"server\"\n";
    assert!(diff(&fleet(s), &fleet(s)).is_empty());
}

#[test]
fn services_added_removed_and_moved() {
    // Gatus keeps data (a dataset on tank); a service added on an
    // installed host with a pool needs its dataset made by hand.
    let added = plan("", "[services.gatus]\nhost = \"server\"\n");
    assert_eq!(
        only(&added, "gatus: added"),
        "change server: gatus: added (lan: https://gatus.home.example.org)"
    );
    assert_eq!(
        only(&added, "new dataset"),
        "disruptive server: gatus: new dataset tank/gatus/data (disko creates datasets only at install: create it on the running host before deploying)"
    );

    let removed = plan("[services.gatus]\nhost = \"server\"\n", "");
    assert_eq!(
        only(&removed, "gatus: removed"),
        "risk server: gatus: removed (its data stays on server, no longer snapshotted or backed up)"
    );
    // Without data worth keeping, a removal is a plain change.
    let removed = plan("[services.homepage]\nhost = \"server\"\n", "");
    assert_eq!(
        only(&removed, "homepage: removed"),
        "change server: homepage: removed"
    );

    let moved = plan(
        "[services.gatus]\nhost = \"server\"\n",
        "[services.gatus]\nhost = \"nas\"\n",
    );
    assert_eq!(
        only(&moved, "moved from"),
        "risk nas: gatus: moved from server to nas (its data does not move: it stays on server; restore it here from a backup)"
    );
    // The host it leaves hears of it too.
    assert_eq!(
        only(&moved, "moved to"),
        "change server: gatus: moved to nas (it stops here; its data stays)"
    );
}

#[test]
fn a_public_service_added_is_a_risk() {
    let new = format!("[services.gatus]\nhost = \"server\"\nexposure = \"public\"\n{TUNNEL}");
    let added = plan(TUNNEL, &new);
    assert_eq!(
        only(&added, "gatus: added"),
        "risk server: gatus: added, public (reachable from the internet through the tunnel: https://gatus.example.org)"
    );
}

#[test]
fn exposure_widened_is_a_risk_and_narrowed_a_change() {
    let lan = format!("[services.gatus]\nhost = \"server\"\nexposure = \"lan\"\n{TUNNEL}");
    let public = lan.replace("\"lan\"", "\"public\"");
    let widened = plan(&lan, &public);
    assert_eq!(
        only(&widened, "exposure"),
        "risk server: gatus: exposure lan → public (now reachable from the internet through the tunnel)"
    );
    let narrowed = plan(&public, &lan.replace("\"lan\"", "\"host\""));
    assert_eq!(
        only(&narrowed, "exposure"),
        "change server: gatus: exposure public → host (no longer reachable from the internet, the tailnet or the LAN)"
    );
}

#[test]
fn losing_the_sign_in_gateway_is_a_risk() {
    let sso = format!(
        "[services.pocket-id]\nhost = \"server\"\n[services.homepage]\nhost = \"server\"\ngroups = [\"admin\"]\n{PROXY}\n[access.sso]\nprovider = \"pocket-id\"\n\n[access.sso.groups]\nadmin = [\"jan\"]\nfamily = [\"eva\"]\n"
    );
    let family = sso.replace("groups = [\"admin\"]", "groups = [\"admin\", \"family\"]");
    assert_eq!(
        only(&plan(&sso, &family), "sign-in"),
        "risk server: homepage: sign-in gateway: admin → gateway: admin, family (more groups get through the gateway)"
    );
    let anyone = sso.replace("groups = [\"admin\"]\n", "");
    assert_eq!(
        only(&plan(&sso, &anyone), "sign-in"),
        "risk server: homepage: sign-in gateway: admin → gateway (any signed-in user gets through the gateway)"
    );
    assert_eq!(
        only(&plan(&anyone, &sso), "sign-in"),
        "change server: homepage: sign-in gateway → gateway: admin"
    );
    // A host-only exposure has no name to guard.
    let ungated = sso.replace("groups = [\"admin\"]\n", "exposure = \"host\"\n");
    let lost = plan(&sso, &ungated);
    assert_eq!(
        only(&lost, "sign-in"),
        "risk server: homepage: sign-in gateway: admin → none (the sign-in gateway no longer guards it)"
    );
}

#[test]
fn ports_change() {
    let changes = plan(
        "[services.gatus]\nhost = \"server\"\n",
        "[services.gatus]\nhost = \"server\"\nport = 8081\n",
    );
    assert_eq!(changes, ["change server: gatus: port 8080 → 8081"]);
}

#[test]
fn quotas_and_record_sizes_change() {
    let old = "[services.gatus]\nhost = \"server\"\n[services.gatus.data.data]\nquota = \"10G\"\n";
    let new = "[services.gatus]\nhost = \"server\"\n[services.gatus.data.data]\nquota = \"20G\"\nrecordsize = \"1M\"\n";
    assert_eq!(
        plan(old, new),
        [
            "change server: gatus: `data` quota 10G → 20G",
            "change server: gatus: `data` recordsize 128K → 1M (applies to files written from now on)",
        ]
    );
}

#[test]
fn a_removed_pool_removes_datasets() {
    let old = "[services.gatus]\nhost = \"server\"\n";
    let (_, spec_old) = spec(old);
    let text = BASE.replace(
        "[hosts.server.pools.tank]\nmode = \"mirror\"\ndisks = [\"/dev/disk/by-id/ata-A\", \"/dev/disk/by-id/ata-B\"]\nsize = \"4T\"\n",
        "",
    );
    let spec_new = crate::spec::parse(&format!("{text}{old}")).unwrap();
    let changes = lines(&diff(
        &resolve(&spec_old).unwrap(),
        &resolve(&spec_new).unwrap(),
    ));
    assert_eq!(
        only(&changes, "loses its dataset"),
        "risk server: gatus: `data` loses its dataset tank/gatus/data (no longer mounted at /var/lib/private/gatus; the service starts on an empty folder)"
    );
    assert_eq!(
        only(&changes, "pool `tank` removed"),
        "disruptive server: pool `tank` removed (its datasets are no longer mounted; the disks keep their data)"
    );
    assert_eq!(
        only(&changes, "snapshotted"),
        "risk server: gatus: `data` no longer snapshotted"
    );
    // The pool's only user was ZFS itself.
    assert_eq!(only(&changes, "zfs"), "change server: no longer runs zfs");
}

#[test]
fn a_weaker_data_class_loses_snapshots_and_the_offsite_copy() {
    let old = format!("[services.gatus]\nhost = \"server\"\n{BACKUP}");
    let new = format!(
        "[services.gatus]\nhost = \"server\"\n[services.gatus.data.data]\nclass = \"disposable\"\n{BACKUP}"
    );
    assert_eq!(
        plan(&old, &new)[..3],
        [
            "risk server: gatus: `data` data class standard → disposable",
            "risk server: gatus: `data` no longer snapshotted",
            "risk server: gatus: `data` no longer copied offsite",
        ]
    );
    // The other way round, each is a plain change.
    assert_eq!(
        plan(&new, &old)[..3],
        [
            "change server: gatus: `data` data class disposable → standard",
            "change server: gatus: `data` now snapshotted",
            "change server: gatus: `data` now copied offsite",
        ]
    );
}

#[test]
fn the_offsite_backup_and_the_replica_removed() {
    let replica = "\n[hosts.nas.pools.vault]\nmode = \"single\"\ndisks = [\"/dev/disk/by-id/ata-C\"]\nsize = \"8T\"\n";
    let with_replica = format!(
        "{replica}[services.vaultwarden]\nhost = \"server\"\n{BACKUP}replica = \"nas\"\nreplica_key_secret = \"replication-key\"\nreplica_public_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII65ANq94G89AIZbW5FfU6va1Rc8N90YjcxZQAuKG2TX syncoid@nas\"\n"
    );
    let without = format!("{replica}[services.vaultwarden]\nhost = \"server\"\n");
    let changes = plan(&with_replica, &without);
    assert_eq!(
        changes[..2],
        [
            "risk -: offsite backup removed: nothing is copied to s3:https://s3.example.org/home any more",
            "risk -: replica on nas removed: critical datasets lose their second copy",
        ]
    );
    // A directory that stops being critical loses its replica.
    let standard = with_replica.replace(
        "[services.vaultwarden]\nhost = \"server\"\n",
        "[services.vaultwarden]\nhost = \"server\"\n[services.vaultwarden.data.data]\nclass = \"standard\"\n",
    );
    let changes = plan(&with_replica, &standard);
    assert_eq!(
        only(&changes, "replicated"),
        "risk server: vaultwarden: `data` no longer replicated to nas"
    );
}

#[test]
fn secrets_and_who_decrypts_them() {
    let old = "[services.vaultwarden]\nhost = \"server\"\n";
    let new = "[services.vaultwarden]\nhost = \"nas\"\n";
    let changes = plan(old, new);
    let secret = |l: &&String| l.contains("secret `vaultwarden-admin-token`");
    let found: Vec<&String> = changes.iter().filter(secret).collect();
    assert_eq!(
        found,
        [
            "change nas: secret `vaultwarden-admin-token` now decrypted here (re-encrypt it: `homelab secrets rekey`)",
            "change server: secret `vaultwarden-admin-token` no longer decrypted here (re-encrypt it: `homelab secrets rekey`)",
        ],
        "{changes:#?}"
    );
    let added = plan("", old);
    assert!(
        added.contains(&"change server: secret `vaultwarden-admin-token` added, decrypted here (make it: `homelab secrets set vaultwarden-admin-token` or `homelab secrets generate`)".to_string()),
        "{added:#?}"
    );
    let removed = plan(old, "");
    assert!(
        removed.contains(
            &"change server: secret `vaultwarden-admin-token` removed (no longer decrypted here)"
                .to_string()
        ),
        "{removed:#?}"
    );
}

#[test]
fn disks_boot_and_identity_are_disruptive() {
    let base = BASE;
    let old = format!("{base}\n[hosts.server.boot]\ndisk = \"/dev/disk/by-id/nvme-A\"\n");
    let edits = [
        (
            ("address = \"192.168.1.10\"", "address = \"192.168.1.11\""),
            "disruptive server: address 192.168.1.10 → 192.168.1.11 (deploys go to the new address; the hosts that reach its services are told the new one)",
        ),
        (
            ("mode = \"mirror\"", "mode = \"raidz1\""),
            "disruptive server: pool `tank`: mode mirror → raidz1 (disko applies it only when the host is installed again, erasing the pool's disks)",
        ),
        (
            (
                "\"/dev/disk/by-id/ata-B\"]",
                "\"/dev/disk/by-id/ata-B\", \"/dev/disk/by-id/ata-C\"]",
            ),
            "disruptive server: pool `tank`: disks added /dev/disk/by-id/ata-C (disko applies it only when the host is installed again, erasing the pool's disks)",
        ),
        (
            (
                "disk = \"/dev/disk/by-id/nvme-A\"",
                "disk = \"/dev/disk/by-id/nvme-B\"",
            ),
            "disruptive server: boot disk /dev/disk/by-id/nvme-A → /dev/disk/by-id/nvme-B (disko applies it only when the host is installed again, erasing the disk)",
        ),
        (
            (
                "disk = \"/dev/disk/by-id/nvme-A\"",
                "disk = \"/dev/disk/by-id/nvme-A\"\nfs = \"zfs\"",
            ),
            "disruptive server: boot fs ext4 → zfs (disko applies it only when the host is installed again, erasing the disk)",
        ),
        (
            ("ram_gb = 16", "ram_gb = 16\nstate_version = \"24.05\""),
            "state_version",
        ),
    ];
    for ((from, to), want) in edits {
        let new = old.replacen(from, to, 1);
        assert_ne!(new, old, "{from}");
        let changes = lines(&diff(
            &resolve(&crate::spec::parse(&old).unwrap()).unwrap(),
            &resolve(&crate::spec::parse(&new).unwrap()).unwrap(),
        ));
        let line = only(&changes, want.split(" (").next().unwrap_or(want));
        assert!(line.starts_with("disruptive server: "), "{line}");
        if want.contains(' ') {
            assert_eq!(line, want);
        }
    }
    // The homelab's name is in every host id.
    let renamed = old.replacen("name = \"home\"", "name = \"house\"", 1);
    let changes = lines(&diff(
        &resolve(&crate::spec::parse(&old).unwrap()).unwrap(),
        &resolve(&crate::spec::parse(&renamed).unwrap()).unwrap(),
    ));
    let ids: Vec<&String> = changes.iter().filter(|l| l.contains("host id")).collect();
    assert_eq!(ids.len(), 2, "{changes:#?}");
    assert!(ids.iter().all(|l| l.starts_with("disruptive ")));
}

#[test]
fn hosts_added_and_removed() {
    let base = BASE;
    let three = format!("{base}\n[hosts.hub]\naddress = \"192.168.1.30\"\nram_gb = 8\n");
    let changes = lines(&diff(
        &resolve(&crate::spec::parse(base).unwrap()).unwrap(),
        &resolve(&crate::spec::parse(&three).unwrap()).unwrap(),
    ));
    assert_eq!(
        changes,
        ["change hub: host added (install it: docs/install.md)"]
    );
    let changes = lines(&diff(
        &resolve(&crate::spec::parse(&three).unwrap()).unwrap(),
        &resolve(&crate::spec::parse(base).unwrap()).unwrap(),
    ));
    assert_eq!(
        changes,
        [
            "disruptive hub: host removed from the spec (the machine keeps its last deployment and gets no more updates)"
        ]
    );
}

#[test]
fn pass_through_settings_are_named() {
    let old = "[services.gatus]\nhost = \"server\"\n[services.gatus.nixos]\nsettings.users.allow_sign_up = false\n";
    let new = "[services.gatus]\nhost = \"server\"\n[services.gatus.nixos]\nsettings.users.allow_sign_up = true\nsettings.analytics.reporting_enabled = false\n";
    assert_eq!(
        plan(old, new),
        [
            "change server: gatus: nixos setting `settings.analytics.reporting_enabled` = false added",
            "change server: gatus: nixos setting `settings.users.allow_sign_up` false → true",
        ]
    );
}

#[test]
fn risky_changes_come_first_then_disruptive_then_the_rest() {
    let old = format!(
        "{BASE}[services.gatus]\nhost = \"server\"\n[services.homepage]\nhost = \"server\"\n{TUNNEL}"
    );
    let new = old
        .replace(
            "[services.homepage]\n",
            "[services.homepage]\nport = 3002\n",
        )
        .replace("address = \"192.168.1.10\"", "address = \"192.168.1.11\"")
        .replace(
            "[services.gatus]\n",
            "[services.gatus]\nexposure = \"public\"\n",
        );
    let resolved = |t: &str| resolve(&crate::spec::parse(t).unwrap()).unwrap();
    let changes = diff(&resolved(&old), &resolved(&new));
    let severities: Vec<Severity> = changes.list().iter().map(|c| c.severity).collect();
    assert_eq!(
        severities.first(),
        Some(&Severity::Risk),
        "{:#?}",
        changes.list()
    );
    assert!(severities.contains(&Severity::Disruptive));
    assert_eq!(severities.last(), Some(&Severity::Change));
    let mut sorted = severities.clone();
    sorted.sort();
    assert_eq!(severities, sorted);
    // Found in another order: the port before the exposure, the address
    // before both.
    let text = changes.text(false);
    let body: Vec<&str> = text.lines().skip(1).take(3).collect();
    assert_eq!(
        body,
        [
            "  risk        gatus: exposure lan → public (now reachable from the internet through the tunnel)",
            "  disruptive  address 192.168.1.10 → 192.168.1.11 (deploys go to the new address; the hosts that reach its services are told the new one)",
            "  change      now runs cloudflared",
        ],
        "{text}"
    );
}

#[test]
fn the_text_has_a_block_per_host_and_colours_the_risks() {
    let old = format!(
        "[services.gatus]\nhost = \"server\"\n[services.homepage]\nhost = \"nas\"\n{TUNNEL}"
    );
    let new = old
        .replace(
            "[services.gatus]\nhost = \"server\"\n",
            "[services.gatus]\nhost = \"server\"\nexposure = \"public\"\n",
        )
        .replace(
            "[services.homepage]\nhost = \"nas\"\n",
            "[services.homepage]\nhost = \"nas\"\nport = 3002\n",
        );
    let changes = diff(&fleet(&old), &fleet(&new));
    assert_eq!(
        changes.text(false),
        "server\n  risk        gatus: exposure lan → public (now reachable from the internet through the tunnel)\n  change      now runs cloudflared\n  change      secret `tunnel-credentials` added, decrypted here (make it: `homelab secrets set tunnel-credentials` or `homelab secrets generate`)\n\nnas\n  change      homepage: port 8083 → 3002\n"
    );
    assert_eq!(changes.summary(), "4 changes: 1 risky");
    let colored = changes.text(true);
    assert!(
        colored.contains("\u{1b}[0m\u{1b}[1m\u{1b}[31mrisk        gatus: exposure"),
        "{colored:?}"
    );
    assert!(!colored.contains("\u{1b}[31mchange"), "{colored:?}");
}

#[test]
fn from_nothing_everything_is_added() {
    let new = fleet("[services.gatus]\nhost = \"server\"\n");
    let all = lines(&added(&new));
    assert!(all.contains(&"change server: host added (install it: docs/install.md)".to_string()));
    assert!(all.contains(
        &"change server: gatus: added (lan: https://gatus.home.example.org)".to_string()
    ));
    // A new host gets its datasets at install: nothing to make by hand.
    assert!(!all.iter().any(|l| l.contains("new dataset")), "{all:#?}");
}

#[test]
fn generated_files_that_differ_are_diffed_and_explained() {
    let old = fleet("[services.gatus]\nhost = \"server\"\n");
    let new = fleet("[services.gatus]\nhost = \"server\"\nport = 8081\n");
    let (a, b) = (crate::render::render(&old), crate::render::render(&new));
    assert!(files(&a, &a).is_empty());
    let changed = files(&a, &b);
    let paths: Vec<&str> = changed.iter().map(|f| f.path.as_str()).collect();
    assert!(
        paths.contains(&"hosts/server/services/gatus.nix"),
        "{paths:?}"
    );
    assert!(changed.iter().all(|f| f.status == FileStatus::Changed));
    let text = unified(&changed, false);
    assert!(
        text.contains(
            "--- a/hosts/server/services/gatus.nix\n+++ b/hosts/server/services/gatus.nix\n@@ "
        ),
        "{text}"
    );
    assert!(
        text.contains("\n-") && text.contains("\n+") && text.contains("8081"),
        "{text}"
    );
    // A file only one side has is diffed against /dev/null.
    let gone = files(&a, &[]);
    assert!(gone.iter().all(|f| f.status == FileStatus::Removed));
    assert!(unified(&gone[..1], false).starts_with("--- a/flake.nix\n+++ /dev/null\n"));

    // A port is named, so the files need no explaining…
    let mut changes = diff(&old, &new);
    let before = changes.list().len();
    changes.explain_files(&changed);
    assert_eq!(changes.list().len(), before);
    // …but files that change with nothing named are listed.
    let mut none = Changes::default();
    none.explain_files(&changed);
    assert_eq!(
        none.list().len(),
        changed_blocks(&changed),
        "{:#?}",
        none.list()
    );
    assert!(
        none.list()
            .iter()
            .any(|c| c.host.as_deref() == Some("server") && c.text.contains("services/gatus.nix")),
        "{:#?}",
        none.list()
    );
}

fn changed_blocks(files: &[FileChange]) -> usize {
    let mut blocks: Vec<Option<&str>> = files
        .iter()
        .map(|f| {
            f.path
                .strip_prefix("hosts/")
                .and_then(|r| r.split_once('/'))
                .map(|(h, _)| h)
        })
        .collect();
    blocks.dedup();
    blocks.sort();
    blocks.dedup();
    blocks.len()
}

#[test]
fn files_of_other_hosts_follow_a_new_address() {
    // Homepage on the NAS is served by the front proxy on the server,
    // which routes to the NAS's address.
    let old_text = format!("{BASE}[services.homepage]\nhost = \"nas\"\n{PROXY}");
    let new_text = old_text.replace("address = \"192.168.1.20\"", "address = \"192.168.1.21\"");
    let resolved = |t: &str| resolve(&crate::spec::parse(t).unwrap()).unwrap();
    let (old, new) = (resolved(&old_text), resolved(&new_text));
    let mut changes = diff(&old, &new);
    changes.explain_files(&files(
        &crate::render::render(&old),
        &crate::render::render(&new),
    ));
    let all = lines(&changes);
    let server: Vec<&str> = all
        .iter()
        .filter(|l| l.contains(" server: "))
        .map(String::as_str)
        .collect();
    assert_eq!(
        server,
        ["change server: follows the new address (nas 192.168.1.20 → 192.168.1.21): wiring.nix"],
        "{:#?}",
        changes.list()
    );
}

#[test]
fn an_admin_key_added_is_a_way_in() {
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF0w8WNdzdhzbxPFZKKJsuDacooces0BzH1d5hBF929T eva@tablet";
    let with_eva = BASE.replacen("me@laptop\"]", &format!("me@laptop\", \"{key}\"]"), 1);
    assert_ne!(with_eva, BASE);
    let resolved = |t: &str| resolve(&crate::spec::parse(t).unwrap()).unwrap();
    assert_eq!(
        lines(&diff(&resolved(BASE), &resolved(&with_eva))),
        ["risk -: admin key added: `eva@tablet` (logs in to every host and decrypts every secret)"]
    );
    assert_eq!(
        lines(&diff(&resolved(&with_eva), &resolved(BASE))),
        [
            "change -: admin key removed: `eva@tablet` (re-encrypt the secrets: `homelab secrets rekey`)"
        ]
    );
    // On a first build the keys are the admin's own.
    let first = lines(&added(&resolved(BASE)));
    assert!(
        first.contains(&"change -: admin key added: `me@laptop` (logs in to every host and decrypts every secret)".to_string()),
        "{first:#?}"
    );
}

#[test]
fn names_roles_hardware_and_infrastructure() {
    let old = format!("{BASE}[services.gatus]\nhost = \"server\"\n{PROXY}");
    let new = old
        .replacen(
            "[services.gatus]\n",
            "[services.gatus]\nsubdomain = \"status\"\n",
            1,
        )
        .replacen(
            "[hosts.nas]\n",
            "[hosts.nas]\nrole = \"nas\"\nhardware = [\"gpu-intel\"]\n",
            1,
        );
    let resolved = |t: &str| resolve(&crate::spec::parse(t).unwrap()).unwrap();
    let changes = lines(&diff(&resolved(&old), &resolved(&new)));
    assert_eq!(
        changes,
        [
            "change nas: role main → nas",
            "change nas: hardware `gpu-intel` added",
            "change server: gatus: name gatus.home.example.org → status.home.example.org",
        ]
    );
    // The proxy runs while something is served on a name; what it keeps
    // (certificates, the ACME account) stays behind unprotected.
    let unserved = old.replacen(
        "[services.gatus]\n",
        "[services.gatus]\nexposure = \"host\"\n",
        1,
    );
    let changes = lines(&diff(&resolved(&old), &resolved(&unserved)));
    assert_eq!(
        changes[0],
        "risk server: no longer runs caddy (its data stays on disk, no longer snapshotted or backed up)"
    );
    // Infrastructure that starts is a plain change.
    let text = crate::fleet::testing::BASE.to_string();
    let tailnet = format!("{text}\n[access.tailscale]\nauth_key_secret = \"ts\"\n");
    let changes = lines(&diff(&resolved(&text), &resolved(&tailnet)));
    assert!(
        changes.contains(&"change server: now runs tailscale".to_string()),
        "{changes:#?}"
    );
}

#[test]
fn plain_datasets_added_and_removed_say_how_they_are_protected() {
    let isos = "[hosts.server.data.isos]\npath = \"/srv/isos\"\nclass = \"disposable\"\n";
    let added = plan(BACKUP, &format!("{BACKUP}{isos}"));
    assert_eq!(
        only(&added, "isos"),
        "disruptive server: isos: new dataset tank/isos at /srv/isos (disposable, never backed up; disko creates datasets only at install: create it on the running host before deploying)"
    );
    let removed = plan(&format!("{BACKUP}{isos}"), BACKUP);
    assert_eq!(
        only(&removed, "isos"),
        "risk server: isos: dataset removed (its data stays in tank/isos, no longer snapshotted or backed up)"
    );
    // Its class changing is a change of the directory, as for a service.
    let kept = isos.replace("disposable", "standard");
    let classed = plan(&format!("{BACKUP}{isos}"), &format!("{BACKUP}{kept}"));
    assert!(
        classed
            .contains(&"change server: isos: `isos` data class disposable → standard".to_string()),
        "{classed:#?}"
    );
}

#[test]
fn a_schedule_that_keeps_fewer_snapshots_is_a_risk() {
    let gatus = "[services.gatus]\nhost = \"server\"\n";
    let fewer = format!("{gatus}[services.gatus.data.data]\nsnapshots = {{ hourly = 0 }}\n");
    assert_eq!(
        only(&plan(gatus, &fewer), "snapshots kept"),
        "risk server: gatus: `data` snapshots kept 24 hourly, 7 daily, 4 weekly, 6 monthly → 7 daily, 4 weekly, 6 monthly"
    );
    let more = format!("{gatus}[services.gatus.data.data]\nsnapshots = {{ yearly = 2 }}\n");
    assert_eq!(
        only(&plan(gatus, &more), "snapshots kept"),
        "change server: gatus: `data` snapshots kept 24 hourly, 7 daily, 4 weekly, 6 monthly → 24 hourly, 7 daily, 4 weekly, 6 monthly, 2 yearly"
    );
}

#[test]
fn admin_devices_and_the_admins_exposure() {
    let tailnet = "\n[access.tailscale]\nadmins = { laptop = \"100.87.12.34\" }\n";
    let admins = format!(
        "[services.gatus]\nhost = \"server\"\nexposure = \"admins\"\nexposure_reason = \"from away\"\n{PROXY}{tailnet}"
    );
    // A device added, or moved to another address, reaches the `admins`
    // services: a risk.
    let phone = admins.replace(
        "laptop = \"100.87.12.34\"",
        "laptop = \"100.87.12.34\", phone = \"100.99.56.78\"",
    );
    assert_eq!(
        plan(&admins, &phone),
        [
            "risk -: admin device added: `phone` at 100.99.56.78 (reaches the `admins` services from the tailnet)"
        ]
    );
    assert_eq!(
        plan(&phone, &admins),
        [
            "change -: admin device removed: `phone` at 100.99.56.78 (no longer reaches the `admins` services)"
        ]
    );
    // Narrowed from the whole tailnet to its admin devices, and on to the
    // LAN.
    let whole = admins.replace("\"admins\"", "\"tailnet\"");
    assert_eq!(
        only(&plan(&whole, &admins), "exposure"),
        "change server: gatus: exposure tailnet → admins (no longer reachable from the tailnet but its admin devices)"
    );
    assert_eq!(
        only(
            &plan(&admins, &admins.replace("\"admins\"", "\"lan\"")),
            "exposure"
        ),
        "change server: gatus: exposure admins → lan (no longer reachable from the admin devices on the tailnet)"
    );
    assert_eq!(
        only(&plan(&admins, &whole), "exposure"),
        "risk server: gatus: exposure admins → tailnet (now reachable from the tailnet)"
    );
}
