//! `homelab backup run`: per service, stop its units, dump its database,
//! freeze its files, let it run again (when the freeze allows), write the
//! manifest, and back up dumps and files to every repository, tagged with
//! the service's name.

use super::capture::{self, Capture};
use super::manifest::{self, DumpEntry, Manifest};
use super::postgres::Server;
use super::progress::Progress;
use super::restic::Restic;
use super::{Context, Result, io};
use compile::plan::{Repository, ServicePlan};
use compile::spec::DataClass;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What one service's backup made.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub service: String,
    /// One entry per repository of the plan, in its order.
    pub repositories: Vec<RepositoryOutcome>,
    pub files: usize,
    pub bytes: u64,
    pub dumps: usize,
}

impl Outcome {
    /// Every repository holds a new snapshot.
    pub fn backed_up(&self) -> bool {
        self.repositories.iter().all(|r| r.snapshot.is_some())
    }

    /// Every problem, one line each: failed backups, then failed retention.
    pub fn problems(&self) -> Vec<String> {
        let failed = self.repositories.iter().filter_map(|r| r.error.clone());
        let retention = self
            .repositories
            .iter()
            .filter_map(|r| r.retention_error.clone());
        failed.chain(retention).collect()
    }
}

/// One repository's part of a backup.
#[derive(Debug, Clone, Serialize)]
pub struct RepositoryOutcome {
    pub repository: String,
    /// The snapshot made; none when the backup to it failed.
    pub snapshot: Option<String>,
    /// The repository did not exist and was created.
    pub created: bool,
    /// Snapshots removed by the repository's retention (none: no policy
    /// or the backup failed).
    pub forgotten: Option<usize>,
    pub error: Option<String>,
    /// Retention failed after a good backup: the snapshot stands.
    pub retention_error: Option<String>,
}

pub fn run(ctx: &Context, service: &ServicePlan, progress: &Progress) -> Result<Outcome> {
    super::restore::refuse_pending(ctx, service, "backup")?;
    if service.class == DataClass::Disposable {
        return super::fail(format!(
            "`{}` is disposable: by its class it is re-created, never backed up",
            service.name
        ));
    }
    if service.repositories.is_empty() {
        return super::fail(format!(
            "`{}` has no repository in the plan: add [backup] to the spec",
            service.name
        ));
    }
    let mut capture = capture::for_service(ctx, service);
    if !service.units.is_empty() {
        progress.step(format!(
            "{}: stopping {}",
            service.name,
            service.units.join(" ")
        ));
    }
    ctx.units(service, "stop")?;
    let frozen = freeze(ctx, service, capture.as_mut(), progress);
    // With a frozen copy the service runs again at once; otherwise it
    // stays stopped until restic has read the live tree.
    let early = frozen.is_err() || capture.frees_the_service();
    let started = if early {
        ctx.units(service, "start")
    } else {
        Ok(())
    };
    let result = match (frozen, started) {
        (Ok((prefix, manifest)), Ok(())) => send(ctx, service, &prefix, &manifest, progress),
        (Err(e), _) | (Ok(_), Err(e)) => Err(e),
    };
    let released = capture.release(ctx);
    let restarted = if early {
        Ok(())
    } else {
        ctx.units(service, "start")
    };
    let outcome = result?;
    released?;
    restarted?;
    Ok(outcome)
}

/// Dump, freeze, and write the manifest of what was frozen.
fn freeze(
    ctx: &Context,
    service: &ServicePlan,
    capture: &mut dyn Capture,
    progress: &Progress,
) -> Result<(PathBuf, Manifest)> {
    let dump_dir = ctx.host_path(&service.dump_dir);
    io(
        "creating the dump folder",
        std::fs::create_dir_all(&dump_dir),
    )?;
    let mut dumps = Vec::new();
    if let Some(db) = &service.database {
        progress.step(format!("{}: pg_dump {}", service.name, db.name));
        let server = Server {
            socket_dir: ctx.host_path(&db.socket_dir),
            port: 5432,
            os_user: ctx.plan.drill.postgres_user.clone(),
        };
        let tables = server.row_counts(ctx, &db.name)?;
        let bytes = server.dump(ctx, &db.name)?;
        let file = dump_dir.join(format!("{}.dump", db.name));
        io(
            format!("writing {}", file.display()),
            crate::fs_guard::write_file(&file, &bytes),
        )?;
        dumps.push(DumpEntry {
            database: db.name.clone(),
            path: format!(
                "{}/{}.dump",
                service.dump_dir.trim_end_matches('/'),
                db.name
            ),
            sha256: manifest::hash_file(&file).map_err(|e| super::Error::Io {
                context: "hashing the dump".into(),
                source: e,
            })?,
            tables,
        });
    }
    progress.step(format!("{}: capturing files", service.name));
    let prefix = capture.freeze(ctx, service)?;
    let mut files = Vec::new();
    for p in service.paths.iter().filter(|p| p.backed_up) {
        files.extend(manifest::scan(&super::under(&prefix, &p.path), &p.path)?);
    }
    let manifest = Manifest {
        service: service.name.clone(),
        host: ctx.plan.host.clone(),
        captured: super::now().to_string(),
        files,
        dumps,
    };
    manifest::write(&manifest, &dump_dir.join(manifest::FILE_NAME))?;
    Ok((prefix, manifest))
}

/// Backs the frozen tree up to every repository.
fn send(
    ctx: &Context,
    service: &ServicePlan,
    prefix: &Path,
    manifest: &Manifest,
    progress: &Progress,
) -> Result<Outcome> {
    let mut paths: Vec<String> = service
        .paths
        .iter()
        .filter(|p| p.backed_up)
        .map(|p| super::under(prefix, &p.path))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    paths.push(
        super::under(prefix, &service.dump_dir)
            .display()
            .to_string(),
    );
    let repositories = service
        .repositories
        .iter()
        .map(|repo| send_to(ctx, service, repo, &paths, progress))
        .collect();
    Ok(Outcome {
        service: service.name.clone(),
        repositories,
        files: manifest.files.len(),
        bytes: manifest.files.iter().map(|f| f.size).sum(),
        dumps: manifest.dumps.len(),
    })
}

/// Backs up to one repository, creating it on first use, then applies its
/// retention. A failure here does not stop the other repositories.
fn send_to(
    ctx: &Context,
    service: &ServicePlan,
    repo: &Repository,
    paths: &[String],
    progress: &Progress,
) -> RepositoryOutcome {
    let restic = Restic::new(ctx, repo);
    let mut out = RepositoryOutcome {
        repository: repo.name.clone(),
        snapshot: None,
        created: false,
        forgotten: None,
        error: None,
        retention_error: None,
    };
    progress.step(format!("{}: restic backup to {}", service.name, repo.name));
    let made = restic.ensure_initialized().and_then(|created| {
        out.created = created;
        if created {
            progress.line(format!(
                "{}: created repository `{}` (it did not exist yet)",
                service.name, repo.name
            ));
        }
        restic.backup(&ctx.plan.host, &service.name, paths)
    });
    let id = match made {
        Ok(id) => id,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    progress.line(format!(
        "{}: snapshot {} in {}",
        service.name,
        super::restic::short_id(&id),
        repo.name
    ));
    out.snapshot = Some(id);
    if let Some(keep) = &repo.keep {
        progress.step(format!("{}: retention in {}", service.name, repo.name));
        match restic.forget(&ctx.plan.host, &service.name, keep) {
            Ok(n) => out.forgotten = Some(n),
            Err(e) => out.retention_error = Some(e.to_string()),
        }
    }
    out
}
