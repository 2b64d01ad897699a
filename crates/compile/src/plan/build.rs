//! The plan of a host, read off the fleet: the same model the Nix is
//! rendered from, so the operating commands and the generated system
//! cannot disagree about paths, datasets, repositories or secrets.

use super::model::*;
use crate::fleet::{DataDir, Fleet, HostPlan, Instance};
use crate::spec::DataClass;

/// Where homelab keeps its own state on a host.
pub const STATE_DIR: &str = "/var/lib/homelab";
/// PostgreSQL's socket folder on NixOS.
pub const PG_SOCKET_DIR: &str = "/run/postgresql";
/// The restic job and repository name of the offsite copy.
pub const OFFSITE: &str = "offsite";
/// What the offsite repository keeps (the restic job's `pruneOpts`).
pub const OFFSITE_RETENTION: Retention = Retention {
    daily: 7,
    weekly: 5,
    monthly: 12,
    yearly: 3,
};
/// Drills run weekly unless the spec says otherwise.
pub const DRILL_SCHEDULE: &str = "weekly";
/// A data class's policy: no passing drill in this many days falls short.
pub const DRILL_MAX_AGE_DAYS: u32 = 30;

/// The plan of one host.
pub fn plan(fleet: &Fleet, host: &HostPlan) -> Plan {
    Plan {
        version: PLAN_VERSION,
        host: host.name().to_string(),
        state_dir: STATE_DIR.into(),
        drill: DrillSettings {
            schedule: DRILL_SCHEDULE.into(),
            max_age_days: DRILL_MAX_AGE_DAYS,
            scratch_dir: format!("{STATE_DIR}/drill"),
            postgres_user: "postgres".into(),
        },
        services: fleet
            .instances_on(host.name())
            .filter(|i| !i.data.is_empty() || i.database.is_some())
            .map(|i| service(fleet, i))
            .collect(),
        status_page: None,
        metrics_dir: fleet.metrics_dir(host.name()).map(str::to_string),
    }
}

fn service(fleet: &Fleet, i: &Instance) -> ServicePlan {
    let class = i
        .data
        .iter()
        .map(|d| d.class)
        .min()
        .unwrap_or(DataClass::Critical);
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
        repositories: repositories(fleet, class),
        health: match (&i.entry.health, i.local_endpoint()) {
            (Some(path), Some(endpoint)) => Some(HealthProbe {
                url: format!("{endpoint}{path}"),
                status: 200,
                timeout_seconds: 120,
            }),
            _ => None,
        },
        schedule: fleet
            .backup
            .as_ref()
            .map_or_else(|| "daily".into(), |b| b.schedule.value.clone()),
        max_age_hours: max_age_hours(class),
    }
}

/// The units to stop around a capture: the catalog's list, or the unit
/// named after the module (as the renderer names them), as `.service`.
fn units(i: &Instance) -> Vec<String> {
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

fn repositories(fleet: &Fleet, class: DataClass) -> Vec<Repository> {
    let Some(b) = &fleet.backup else {
        return Vec::new();
    };
    if class == DataClass::Disposable {
        return Vec::new();
    }
    vec![Repository {
        name: OFFSITE.into(),
        url: b.repository.value.clone(),
        password_secret: b.password_secret.value.clone(),
        environment_secret: b.environment_secret.as_ref().map(|e| e.value.clone()),
        offsite: true,
        keep: Some(OFFSITE_RETENTION),
    }]
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
