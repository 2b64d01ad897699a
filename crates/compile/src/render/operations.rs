//! `hosts/<h>/operations.nix`: what runs on a host to keep its data safe,
//! all through the `homelab` binary (the package of the flake input of the
//! same name, whose NixOS module every host imports) reading
//! `/etc/homelab/plan.json`:
//! - `homelab-backup` (timer): `homelab backup run`, the only backup path,
//!   so every snapshot carries its manifest (database dumped first, files
//!   read from one ZFS snapshot, both at one moment);
//! - `homelab-drill` (timer): `homelab backup drill --all`, which proves
//!   the newest snapshots come back;
//! - `homelab-preseed-<service>` (before each service): restores a fresh
//!   host's empty data before the service's first start, never touching
//!   data that is there;
//! - `homelab-upgrade` (timer, with `[deploy] schedule`): `homelab
//!   upgrade`, which fetches the flake, builds this host's system,
//!   switches, gates it, and rolls back on failure.
//!
//! Units, schedules and paths are read from the host's plan, the same
//! value `plan.json` is written from, so the two cannot disagree.

use super::secrets::AGENIX_UNIT;
use super::secrets::age_secret;
use super::timers::{BACKUP_DELAY, DRILL_DELAY, UPGRADE_DELAY, timer};
use crate::fleet::{BACKUP_UNIT, DRILL_UNIT, Fleet, HostPlan, UPGRADE_UNIT, preseed_unit};
use crate::nix::{Attrs, Nix, set};
use crate::plan::{INSTALLED_PATH, Plan, ServicePlan};

/// The `homelab` package, as the flake input's NixOS module
/// (`homelab.nixosModules.default`, which every host imports) sets it.
pub(crate) const HOMELAB_PACKAGE: &str = "config.homelab.package";
/// restic's cache (`RESTIC_CACHE_DIR`), kept by systemd as the unit's
/// `CacheDirectory`: the home folder is read-only to the units.
pub(crate) const RESTIC_CACHE: &str = "homelab-restic";

/// The operations module of a host; none when nothing on it is backed up.
pub fn operations(fleet: &Fleet, host: &HostPlan) -> Option<Attrs> {
    let plan = crate::plan::plan(fleet, host);
    let backed_up: Vec<&ServicePlan> = plan
        .services
        .iter()
        .filter(|s| !s.repositories.is_empty())
        .collect();
    let mut m = Attrs::new();
    // The module of the `homelab` input puts the package on the PATH.
    if !backed_up.is_empty() || plan.upgrade.is_some() {
        secrets(&mut m, fleet, &plan);
    }
    if !backed_up.is_empty() {
        backup(&mut m, host, &plan, &backed_up);
        drill(&mut m, host, &plan);
        // Infrastructure state has no units to order before (see
        // `plan::build`): `homelab backup preseed` restores it by hand.
        for service in backed_up.iter().filter(|s| !s.units.is_empty()) {
            preseed(&mut m, host, &plan, service);
        }
    }
    upgrade(&mut m, &plan);
    super::nas::contribute(&mut m, fleet, host);
    super::heartbeats::contribute(&mut m, fleet, host);
    (!m.is_empty()).then_some(m)
}

fn backup(m: &mut Attrs, host: &HostPlan, plan: &Plan, services: &[&ServicePlan]) {
    let name = unit_name(BACKUP_UNIT);
    let mut unit = job(
        host,
        plan,
        "Back up this host's services: database dumps and files at one moment, with manifests",
        "backup run",
    );
    // A backup cut short by a switch would leave the service stopped
    // until the next run; let it finish.
    unit.insert("restartIfChanged".into(), Nix::Bool(false));
    set(m, &["systemd", "services", &name], Nix::Attrs(unit));
    // One timer for the host: every service has the fleet's schedule.
    let schedule = services[0].schedule.as_str();
    set(
        m,
        &["systemd", "timers", &name],
        timer("Back up this host's services", schedule, BACKUP_DELAY),
    );
}

fn drill(m: &mut Attrs, host: &HostPlan, plan: &Plan) {
    let name = unit_name(DRILL_UNIT);
    let mut unit = job(
        host,
        plan,
        "Restore drill: prove the newest snapshots come back whole, and time it",
        "backup drill --all",
    );
    unit.insert("restartIfChanged".into(), Nix::Bool(false));
    set(m, &["systemd", "services", &name], Nix::Attrs(unit));
    set(
        m,
        &["systemd", "timers", &name],
        timer(
            "Restore drill of this host's services",
            &plan.drill.schedule,
            DRILL_DELAY,
        ),
    );
}

/// The scheduled upgrade: a oneshot unit and its timer. It switches the
/// system itself, so a switch must never restart it (`restartIfChanged`
/// off; the switch runs in a transient unit of its own anyway). Nix
/// fetches the flake (git for `git+…` sources); systemd's tools and the
/// core utilities are on every unit's path.
fn upgrade(m: &mut Attrs, plan: &Plan) {
    let Some(u) = &plan.upgrade else { return };
    let name = unit_name(UPGRADE_UNIT);
    let mut unit = Attrs::new();
    unit.insert(
        "description".into(),
        Nix::str(
            "Upgrade this host from its flake: fetch, build, switch, gate, roll back on failure",
        ),
    );
    unit.insert("wants".into(), Nix::strs(["network-online.target"]));
    unit.insert(
        "after".into(),
        Nix::strs(["network-online.target", AGENIX_UNIT]),
    );
    let mut path = vec![Nix::raw("config.nix.package"), Nix::raw("pkgs.git")];
    if plan
        .status_page
        .as_ref()
        .is_some_and(|p| p.url.starts_with("https://"))
    {
        path.push(Nix::raw("pkgs.curl"));
    }
    unit.insert("path".into(), Nix::List(path));
    unit.insert("restartIfChanged".into(), Nix::Bool(false));
    let mut service = Attrs::new();
    service.insert("Type".into(), Nix::str("oneshot"));
    service.insert("ExecStart".into(), exec("upgrade", None));
    unit.insert("serviceConfig".into(), Nix::Attrs(service));
    set(m, &["systemd", "services", &name], Nix::Attrs(unit));
    set(
        m,
        &["systemd", "timers", &name],
        timer("Scheduled upgrade of this host", &u.schedule, UPGRADE_DELAY),
    );
}

/// A oneshot unit that runs `homelab <command> --plan <plan>`.
fn job(host: &HostPlan, plan: &Plan, description: &str, command: &str) -> Attrs {
    let mut unit = Attrs::new();
    unit.insert("description".into(), Nix::str(description));
    let mut after = vec!["network-online.target", AGENIX_UNIT];
    if host.runs("postgresql") {
        // pg_dump and the preseed's emptiness check need the databases.
        after.push("postgresql.target");
    }
    unit.insert("wants".into(), Nix::strs(["network-online.target"]));
    unit.insert("after".into(), Nix::strs(after));
    unit.insert("path".into(), tools(host, plan));
    set(
        &mut unit,
        &["environment", "RESTIC_CACHE_DIR"],
        format!("/var/cache/{RESTIC_CACHE}"),
    );
    let mut service = hardening();
    service.insert("Type".into(), Nix::str("oneshot"));
    service.insert("ExecStart".into(), exec(command, None));
    service.insert("CacheDirectory".into(), Nix::str(RESTIC_CACHE));
    // Backups and drills yield to the services on disk and CPU.
    service.insert("Nice".into(), Nix::Int(10));
    service.insert("IOSchedulingClass".into(), Nix::str("idle"));
    unit.insert("serviceConfig".into(), Nix::Attrs(service));
    unit
}

/// `${homelab}/bin/homelab <command> [service] --plan /etc/homelab/plan.json`.
fn exec(command: &str, service: Option<&str>) -> Nix {
    let service = service.map(|s| format!(" {s}")).unwrap_or_default();
    Nix::Interp(vec![
        Nix::raw(HOMELAB_PACKAGE),
        Nix::str(format!(
            "/bin/homelab {command}{service} --plan {INSTALLED_PATH}"
        )),
    ])
}

/// What `homelab` runs: restic; ZFS for the capture snapshot; mount and
/// runuser (util-linux); the host's own PostgreSQL for pg_dump and the
/// drill's throwaway server (the same major version as the dumps);
/// ssh for SFTP repositories; curl for an `https://` status page.
fn tools(host: &HostPlan, plan: &Plan) -> Nix {
    let mut tools = vec![Nix::raw("pkgs.restic"), Nix::raw("pkgs.util-linux")];
    if host.runs("zfs") {
        tools.push(Nix::raw("config.boot.zfs.package"));
    }
    if host.runs("postgresql") {
        tools.push(Nix::raw("config.services.postgresql.package"));
    }
    let sftp = plan
        .services
        .iter()
        .flat_map(|s| &s.repositories)
        .any(|r| r.url.starts_with("sftp:"));
    if sftp {
        tools.push(Nix::raw("pkgs.openssh"));
    }
    // Results reach an `https://` status page through curl.
    let https_status_page = plan
        .status_page
        .as_ref()
        .is_some_and(|p| p.url.starts_with("https://"));
    if https_status_page {
        tools.push(Nix::raw("pkgs.curl"));
    }
    Nix::List(tools)
}

/// Sandboxing that leaves what the jobs need: stopping and starting
/// units, ZFS snapshots and mounts (made in the unit's own mount
/// namespace, which restic, a child, shares), writing state below
/// /var/lib, restoring files with whatever mode bits they were saved with
/// (so no `RestrictSUIDSGID`).
fn hardening() -> Attrs {
    let mut s = Attrs::new();
    for key in [
        "PrivateTmp",
        "ProtectKernelTunables",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "ProtectClock",
        "ProtectHostname",
        "RestrictRealtime",
        "LockPersonality",
    ] {
        s.insert(key.into(), Nix::Bool(true));
    }
    s.insert("ProtectHome".into(), Nix::str("read-only"));
    s
}

/// Before the service's units: restore its data from the first
/// repository that has it, when its folders and database are empty.
/// `homelab backup preseed` exits 0 when it restored, found data present
/// (checked before any repository is contacted) or found no snapshot
/// anywhere (offline, or a new service), so the service starts in each
/// case; it exits non-zero only when a restore failed half way, and
/// then holds the service back rather than let it start on empty data
/// that would be taken for present data next time.
fn preseed(m: &mut Attrs, host: &HostPlan, plan: &Plan, service: &ServicePlan) {
    let name = preseed_unit(&service.name);
    let mut unit = Attrs::new();
    unit.insert(
        "description".into(),
        Nix::str(format!(
            "Restore {}'s data on a fresh host before its first start",
            service.name
        )),
    );
    unit.insert("before".into(), Nix::strs(service.units.clone()));
    unit.insert("requiredBy".into(), Nix::strs(service.units.clone()));
    let mut after = vec!["network-online.target", AGENIX_UNIT];
    if host.runs("zfs") {
        after.push("zfs-mount.service");
    }
    if service.database.is_some() {
        after.push("postgresql.target");
    }
    unit.insert("wants".into(), Nix::strs(["network-online.target"]));
    unit.insert("after".into(), Nix::strs(after));
    let paths: Vec<&str> = service
        .paths
        .iter()
        .filter(|p| p.backed_up)
        .map(|p| p.path.as_str())
        .collect();
    if !paths.is_empty() {
        set(
            &mut unit,
            &["unitConfig", "RequiresMountsFor"],
            Nix::strs(paths),
        );
    }
    unit.insert("path".into(), tools(host, plan));
    unit.insert("restartIfChanged".into(), Nix::Bool(false));
    let mut config = hardening();
    config.insert("Type".into(), Nix::str("oneshot"));
    // Ran once per boot: the service's restarts do not run it again.
    config.insert("RemainAfterExit".into(), Nix::Bool(true));
    config.insert(
        "ExecStart".into(),
        exec("backup preseed", Some(&service.name)),
    );
    unit.insert("serviceConfig".into(), Nix::Attrs(config));
    set(m, &["systemd", "services", &name], Nix::Attrs(unit));
}

/// The repositories' secrets, decrypted where the plan expects them
/// (`/run/agenix/<name>`, agenix's default).
fn secrets(m: &mut Attrs, fleet: &Fleet, plan: &Plan) {
    let mut names: Vec<&str> = Vec::new();
    for r in plan.services.iter().flat_map(|s| &s.repositories) {
        names.push(&r.password_secret);
        names.extend(r.environment_secret.as_deref());
    }
    names.extend(plan.status_page.as_ref().map(|p| p.token_secret.as_str()));
    names.sort_unstable();
    names.dedup();
    for name in names {
        age_secret(m, fleet, name, 2);
    }
}

/// `homelab-backup.service` → `homelab-backup`.
fn unit_name(unit: &str) -> String {
    unit.trim_end_matches(".service").to_string()
}
