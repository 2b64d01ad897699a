//! Preseed: on a fresh host, before a service's first start, bring its
//! data back from the first repository that has it (the plan lists the
//! NAS before offsite), but only when its folders and database are empty.
//! Data that is present is never touched, so the unit that runs this can
//! stay in the boot order of every host forever.

use super::postgres::Server;
use super::progress::Progress;
use super::restic::Restic;
use super::restore::{Request, restore};
use super::{Context, Result};
use compile::plan::ServicePlan;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Restored from this repository's snapshot.
    Restored {
        repository: String,
        snapshot: String,
    },
    /// Left alone: the service already has data.
    Present { reason: String },
    /// No repository holds a snapshot: a service starting from scratch.
    Nothing { tried: Vec<String> },
}

pub fn preseed(ctx: &Context, service: &ServicePlan, progress: &Progress) -> Result<Outcome> {
    if let Some(reason) = present(ctx, service)? {
        return Ok(Outcome::Present { reason });
    }
    let mut tried = Vec::new();
    for repo in &service.repositories {
        let restic = Restic::new(ctx, repo);
        match restic.snapshots(&service.name) {
            Ok(list) if !list.is_empty() => {
                progress.step(format!("{}: preseeding from {}", service.name, repo.name));
                let request = Request {
                    from: Some(repo.name.clone()),
                    preseed: true,
                    ..Request::default()
                };
                let report = restore(ctx, service, &request, progress)?;
                return Ok(Outcome::Restored {
                    repository: repo.name.clone(),
                    snapshot: report.snapshot,
                });
            }
            Ok(_) => tried.push(format!("{}: no snapshot of `{}`", repo.name, service.name)),
            Err(e) => tried.push(format!("{}: {e}", repo.name)),
        }
    }
    Ok(Outcome::Nothing { tried })
}

/// Why the service counts as having data, if it does: a non-empty state
/// folder, or a database with a table.
pub(crate) fn present(ctx: &Context, service: &ServicePlan) -> Result<Option<String>> {
    for p in service.paths.iter().filter(|p| p.backed_up) {
        let dir = ctx.host_path(&p.path);
        let entries = std::fs::read_dir(&dir).map(|mut d| d.next().is_some());
        if entries.unwrap_or(false) {
            return Ok(Some(format!("{} is not empty", p.path)));
        }
    }
    if let Some(db) = &service.database {
        let server = Server {
            socket_dir: ctx.host_path(&db.socket_dir),
            port: 5432,
            os_user: ctx.plan.drill.postgres_user.clone(),
        };
        if !server.row_counts(ctx, &db.name)?.is_empty() {
            return Ok(Some(format!("database `{}` has tables", db.name)));
        }
    }
    Ok(None)
}
