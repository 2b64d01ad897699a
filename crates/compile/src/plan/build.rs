//! The plan of a host, read off the fleet: the same model the Nix is
//! rendered from, so the operating commands and the generated system
//! cannot disagree about paths, datasets, repositories or secrets.

use super::model::*;
use crate::fleet::{DataDir, Fleet, HEARTBEAT_TOKEN_SECRET, HostPlan, Instance, policy};
use crate::spec::DataClass;

/// Where homelab keeps its own state on a host.
pub(crate) const STATE_DIR: &str = "/var/lib/homelab";
/// Where drills restore, beside the state folder rather than in it: the
/// state folder holds database dumps and is private to root, while the
/// drill's throwaway PostgreSQL runs as its own user and must reach its
/// data folder below this one.
pub(crate) const SCRATCH_DIR: &str = "/var/lib/homelab-drill";
/// PostgreSQL's socket folder on NixOS.
pub(crate) const PG_SOCKET_DIR: &str = "/run/postgresql";
/// The repository name of the offsite copy.
pub(crate) const OFFSITE: &str = "offsite";
/// The repository name of the copy on the replica host (the NAS).
pub const NAS: &str = "nas";
/// What the offsite repository keeps (the restic job's `pruneOpts`).
pub const OFFSITE_RETENTION: Retention = Retention {
    daily: 7,
    weekly: 5,
    monthly: 12,
    yearly: 3,
};
/// Drills run weekly unless the spec says otherwise.
pub(crate) const DRILL_SCHEDULE: &str = "weekly";
/// A data class's policy: no passing drill in this many days falls short.
pub(crate) const DRILL_MAX_AGE_DAYS: u32 = 30;

/// The plan of one host.
pub fn plan(fleet: &Fleet, host: &HostPlan) -> Plan {
    Plan {
        version: PLAN_VERSION,
        host: host.name().to_string(),
        state_dir: STATE_DIR.into(),
        drill: DrillSettings {
            schedule: DRILL_SCHEDULE.into(),
            max_age_days: DRILL_MAX_AGE_DAYS,
            scratch_dir: SCRATCH_DIR.into(),
            postgres_user: "postgres".into(),
            data_check: DataCheck::default(),
        },
        services: fleet
            .instances_on(host.name())
            .filter(|i| !i.data.is_empty() || i.database.is_some())
            .map(|i| service(fleet, host, i))
            .chain(infrastructure(fleet, host))
            .chain(plain(fleet, host))
            .collect(),
        status_page: status_page(fleet, host),
        metrics_dir: fleet.metrics_dir(host.name()).map(str::to_string),
        upgrade: upgrade(fleet, host),
    }
}

/// The host's scheduled upgrade, when the spec asks for one: every
/// service's units and health probe make its gate.
fn upgrade(fleet: &Fleet, host: &HostPlan) -> Option<UpgradePlan> {
    let d = &fleet.deploy;
    let (schedule, source) = (d.schedule.as_ref()?, d.source.as_ref()?);
    let gate = d.gate_of(&host.spec);
    Some(UpgradePlan {
        source: source.clone(),
        schedule: schedule.clone(),
        attribute: upgrade_attribute(host.name()),
        gate: GatePlan {
            window_ms: gate.window_ms,
            interval_ms: gate.interval_ms,
            passes: gate.passes,
        },
        checks: fleet
            .instances_on(host.name())
            .map(|i| UpgradeCheck {
                service: i.name.value.clone(),
                units: units(i),
                health: health(i),
            })
            .collect(),
    })
}

/// The flake attribute of a host's system.
pub fn upgrade_attribute(host: &str) -> String {
    format!("nixosConfigurations.{host}.config.system.build.toplevel")
}

/// How the host reaches the service's health endpoint itself.
fn health(i: &Instance) -> Option<HealthProbe> {
    match (&i.entry.health, i.local_endpoint()) {
        (Some(path), Some(endpoint)) => Some(HealthProbe {
            url: format!("{endpoint}{path}"),
            status: 200,
            timeout_seconds: 120,
        }),
        _ => None,
    }
}

fn service(fleet: &Fleet, host: &HostPlan, i: &Instance) -> ServicePlan {
    let class = i.data_class();
    ServicePlan {
        name: i.name.value.clone(),
        entry: i.entry.name.clone(),
        units: units(i),
        class,
        paths: i.data.iter().map(state_path).collect(),
        database: i.database.as_ref().map(|db| DatabasePlan {
            name: db.clone(),
            user: db.clone(),
            socket_dir: PG_SOCKET_DIR.into(),
        }),
        dump_dir: format!("{STATE_DIR}/dumps/{}", i.name.value),
        repositories: repositories(fleet, host, class),
        health: health(i),
        schedule: schedule(fleet),
        max_age_hours: max_age_hours(class),
    }
}

fn schedule(fleet: &Fleet) -> String {
    fleet
        .backup
        .as_ref()
        .map_or_else(|| "daily".into(), |b| b.schedule.value.clone())
}

/// The host's own state that goes offsite (the tailnet identity, the
/// proxy's certificates), one entry per infrastructure part. Its units
/// are never stopped for a backup or a drill: the state is small and
/// rarely written, and stopping the proxy or the tailnet would cut the
/// way in. PostgreSQL's files are left out: its databases travel as
/// their services' dumps. Named `<part>-<host>` (`tailscale-server`):
/// every host has its own, and names are unique in the fleet, as the
/// status page's heartbeat keys need.
fn infrastructure(fleet: &Fleet, host: &HostPlan) -> Vec<ServicePlan> {
    let mut out: Vec<ServicePlan> = Vec::new();
    for (entry, dir) in host.data.iter().filter(|(_, d)| d.goes_offsite()) {
        let name = format!("{}-{}", entry.name, host.name());
        if let Some(s) = out.iter_mut().find(|s| s.name == name) {
            s.paths.push(state_path(dir));
            s.class = s.class.min(dir.class);
            continue;
        }
        out.push(ServicePlan {
            dump_dir: format!("{STATE_DIR}/dumps/{name}"),
            name,
            entry: entry.name.clone(),
            units: Vec::new(),
            class: dir.class,
            paths: vec![state_path(dir)],
            database: None,
            repositories: Vec::new(),
            health: None,
            schedule: schedule(fleet),
            max_age_hours: 0,
        });
    }
    for s in &mut out {
        s.repositories = repositories(fleet, host, s.class);
        s.max_age_hours = max_age_hours(s.class);
    }
    out
}

/// The entry a plain dataset's plan names: no catalog entry owns it.
pub const PLAIN_ENTRY: &str = "dataset";

/// The host's plain datasets (`[hosts.<h>.data.<name>]`), one entry each
/// under the dataset's name: no units to stop (nothing the flake runs
/// writes there), no database. A disposable one is listed with no
/// repository: the plan says what it is, and `backup run` passes it by.
fn plain(fleet: &Fleet, host: &HostPlan) -> Vec<ServicePlan> {
    host.plain_data
        .iter()
        .map(|p| ServicePlan {
            name: p.name.value.clone(),
            entry: PLAIN_ENTRY.into(),
            units: Vec::new(),
            class: p.dir.class,
            paths: vec![state_path(&p.dir)],
            database: None,
            dump_dir: format!("{STATE_DIR}/dumps/{}", p.name.value),
            repositories: repositories(fleet, host, p.dir.class),
            health: None,
            schedule: schedule(fleet),
            max_age_hours: max_age_hours(p.dir.class),
        })
        .collect()
}

/// The units to stop around a capture: the catalog's list, or the unit
/// named after the module (as the renderer names them), as `.service`.
pub(crate) fn units(i: &Instance) -> Vec<String> {
    let module = i.entry.module.rsplit('.').next().unwrap_or_default();
    let named = if module.is_empty() {
        i.entry.name.as_str()
    } else {
        module
    };
    let units: Vec<&str> = if i.entry.units.is_empty() {
        vec![named]
    } else {
        i.entry.units.iter().map(String::as_str).collect()
    };
    units
        .into_iter()
        .map(|u| {
            if u.contains('.') {
                u.to_string()
            } else {
                format!("{u}.service")
            }
        })
        .collect()
}

fn state_path(d: &DataDir) -> StatePath {
    StatePath {
        name: d.state.clone(),
        path: d.path.clone(),
        class: d.class,
        dataset: d.dataset.as_ref().map(|(pool, ds)| format!("{pool}/{ds}")),
        backed_up: d.goes_offsite(),
    }
}

/// The NAS first (nearer, so preseed and drills restore from it), then
/// offsite. Each host has a repository of its own in both.
fn repositories(fleet: &Fleet, host: &HostPlan, class: DataClass) -> Vec<Repository> {
    let Some(b) = &fleet.backup else {
        return Vec::new();
    };
    if class == DataClass::Disposable {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(nas) = fleet.nas_repository(host.name()) {
        // Append-only: the NAS prunes it itself (see `render::nas`).
        out.push(Repository {
            name: NAS.into(),
            url: nas.url,
            password_secret: b.password_secret.value.clone(),
            environment_secret: Some(nas.login_secret),
            offsite: false,
            keep: None,
        });
    }
    out.push(Repository {
        name: OFFSITE.into(),
        url: policy::host_repository(&b.repository.value, host.name()),
        password_secret: b.password_secret.value.clone(),
        environment_secret: b.environment_secret.as_ref().map(|e| e.value.clone()),
        // A folder on the host, or a server of the fleet, is not offsite.
        offsite: fleet.has_offsite(),
        keep: Some(OFFSITE_RETENTION),
    });
    out
}

/// Where the host's backups and drills report: Gatus itself on its own
/// host, its internal name from the others (the one address every host
/// already reaches it at; a public page's tunnel does not pass pushes);
/// none without Gatus, or when nothing on the host is backed up.
fn status_page(fleet: &Fleet, host: &HostPlan) -> Option<StatusPage> {
    let upgrades = fleet.deploy.schedule.is_some() && fleet.deploy.source.is_some();
    if !fleet.backs_up(host.name()) && !upgrades {
        return None;
    }
    let gatus = fleet.instances.iter().find(|i| i.entry.name == "gatus")?;
    let url = if gatus.host == host.name() {
        gatus.local_endpoint()?
    } else {
        format!("https://{}", gatus.fqdn.as_ref()?.value)
    };
    Some(StatusPage {
        url,
        token_secret: HEARTBEAT_TOKEN_SECRET.into(),
        public: gatus.public_fqdn.is_some(),
    })
}

/// How old the newest snapshot may be: a day's schedule plus slack for
/// the timer's randomized delay and a slow upload.
pub fn max_age_hours(class: DataClass) -> u32 {
    match class {
        DataClass::Critical => 26,
        DataClass::Standard => 50,
        DataClass::Disposable => 0,
    }
}
