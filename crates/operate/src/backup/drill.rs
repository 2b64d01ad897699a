//! `homelab backup drill`: proves that the latest snapshot of a service
//! comes back whole. Restores it into scratch space, checks every file
//! against the manifest, restores every dump into a throwaway PostgreSQL
//! and compares row counts, times the whole recovery, records the result
//! where `status` finds it, and removes everything it made.

use super::manifest::{self, Manifest};
use super::postgres::{self, Throwaway};
use super::progress::Progress;
use super::restic::{Restic, Snapshot};
use super::scratch::Scratch;
use super::{Context, Result, fail, io, within};
use compile::plan::{Repository, ServicePlan};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The result of one drill, kept at `<state>/drills/<service>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillRecord {
    pub service: String,
    pub repository: String,
    pub snapshot: Option<String>,
    /// When the drill ran (RFC 3339).
    pub at: String,
    pub passed: bool,
    /// Restore, verification and database restore, end to end.
    pub recovery_seconds: f64,
    pub files: usize,
    pub bytes: u64,
    pub tables: usize,
    /// Every difference found; empty when it passed.
    pub problems: Vec<String>,
}

pub(crate) fn record_path(ctx: &Context, service: &str) -> PathBuf {
    ctx.record_file("drills", service)
}

/// The last drill that passed, kept beside the last one (which may have
/// failed): alerts want both the last result and the last success.
pub(crate) fn passed_record_path(ctx: &Context, service: &str) -> PathBuf {
    ctx.record_file("drills", &format!("{service}.passed"))
}

pub(crate) fn last_record(ctx: &Context, service: &str) -> Option<DrillRecord> {
    read_record(&record_path(ctx, service))
}

pub(crate) fn last_passed(ctx: &Context, service: &str) -> Option<DrillRecord> {
    read_record(&passed_record_path(ctx, service))
}

fn read_record(path: &Path) -> Option<DrillRecord> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Drills one service from one repository, records and returns the result.
/// A service whose restore was cut short is not drilled: its live data is
/// half old, half restored until `homelab restore` puts it right.
pub fn drill(
    ctx: &Context,
    service: &ServicePlan,
    repo: &Repository,
    progress: &Progress,
) -> Result<DrillRecord> {
    super::restore::refuse_pending(ctx, service, "drill")?;
    let started = Instant::now();
    let at = super::now().to_string();
    let mut record = DrillRecord {
        service: service.name.clone(),
        repository: repo.name.clone(),
        snapshot: None,
        at,
        passed: false,
        recovery_seconds: 0.0,
        files: 0,
        bytes: 0,
        tables: 0,
        problems: Vec::new(),
    };
    let outcome = Scratch::make(ctx, service)
        .and_then(|scratch| attempt(ctx, service, repo, &scratch, &mut record, progress));
    // Recovery ends when the data is back and checked; clearing the
    // scratch space after (when `Scratch` drops) is housekeeping.
    record.recovery_seconds = started.elapsed().as_secs_f64();
    if let Err(e) = outcome {
        record.problems.insert(0, e.to_string());
    }
    record.passed = record.problems.is_empty();
    save(ctx, &record)?;
    Ok(record)
}

fn attempt(
    ctx: &Context,
    service: &ServicePlan,
    repo: &Repository,
    scratch: &Scratch,
    record: &mut DrillRecord,
    progress: &Progress,
) -> Result<()> {
    let restic = Restic::new(ctx, repo);
    let snapshot = latest(&restic, &service.name)?;
    record.snapshot = Some(snapshot.id.clone());
    let prefix = prefix_of(&snapshot, &service.dump_dir)?;
    progress.step(format!(
        "{}: restoring {} from {}",
        service.name,
        snapshot.short(),
        repo.name
    ));
    let files = &scratch.files;
    let needed = std::cell::Cell::new(0);
    let room = || {
        needed.set(restic.restore_size(&snapshot.id)?);
        enough_room(files, &snapshot, needed.get())
    };
    // Progress is what the scratch file system lost in free space: one
    // system call, however many files restic writes.
    let free_before = free_bytes(files).unwrap_or(0);
    let bar = std::cell::OnceCell::new();
    let restored = restic.restore_watched(
        &snapshot.id,
        files,
        &snapshot_paths(service, &prefix),
        room,
        || {
            let bar = bar.get_or_init(|| progress.bytes(needed.get()));
            let free = free_bytes(files).unwrap_or(free_before);
            bar.set(free_before.saturating_sub(free));
        },
    );
    if let Some(bar) = bar.get() {
        bar.finish();
    }
    restored?;
    progress.step(format!("{}: verifying the restored copy", service.name));
    let restored = within(files, &prefix)?;
    let dumps = within(&restored, &service.dump_dir)?;
    let manifest = manifest::read(&dumps.join(manifest::FILE_NAME), service)?;
    let found = restored_files(service, |p| within(&restored, p))?;
    record.files = found.len();
    record.bytes = found.iter().map(|f| f.size).sum();
    record
        .problems
        .extend(manifest::verify(&manifest.files, &found));
    let restored = Restored {
        dir: &restored,
        dumps: manifest::scan(&dumps, &service.dump_dir)?,
    };
    verify_dumps(
        ctx, service, &manifest, &restored, scratch, record, progress,
    )
}

/// What a drill or a restore takes from a snapshot: the service's
/// backed-up paths and its dump folder, below the folder the snapshot
/// read them under (restic `--include` patterns).
pub(crate) fn snapshot_paths(service: &ServicePlan, prefix: &str) -> Vec<String> {
    service
        .paths
        .iter()
        .filter(|p| p.backed_up)
        .map(|p| p.path.as_str())
        .chain([service.dump_dir.as_str()])
        .map(|p| format!("{}{p}", prefix.trim_end_matches('/')))
        .collect()
}

/// Fails with a precise message when the snapshot does not fit.
fn enough_room(scratch: &Path, snapshot: &Snapshot, needed: u64) -> Result<()> {
    let free = free_bytes(scratch)?;
    if free < needed {
        return fail(format!(
            "scratch space too small at {}: snapshot {} needs {} bytes, {} are free; \
             free space there or mount a larger file system on it",
            scratch.display(),
            snapshot.short(),
            needed,
            free
        ));
    }
    Ok(())
}

/// The newest snapshot of the service in the repository.
pub fn latest(restic: &Restic, service: &str) -> Result<Snapshot> {
    let mut snapshots = restic.snapshots(service)?;
    snapshots.sort_by_key(|s| s.timestamp());
    snapshots.pop().map_or_else(
        || {
            fail(format!(
                "repository `{}` holds no snapshot of `{service}`; run `homelab backup run {service}`",
                restic.repo.name
            ))
        },
        Ok,
    )
}

/// The folder the snapshot's paths were read under: the snapshot path
/// that ends with the dump folder, minus that folder. It comes from the
/// repository, so it must be `/` or an absolute path of plain parts.
pub(crate) fn prefix_of(snapshot: &Snapshot, dump_dir: &str) -> Result<String> {
    let dump_dir = dump_dir.trim_end_matches('/');
    let Some(prefix) = snapshot.paths.iter().find_map(|p| p.strip_suffix(dump_dir)) else {
        return fail(format!(
            "snapshot {} was not made by `homelab backup run`: it holds no {dump_dir}",
            snapshot.short()
        ));
    };
    if prefix.is_empty() {
        return Ok("/".into());
    }
    if !compile::plan::is_normal_absolute(prefix) {
        return fail(format!(
            "snapshot {} names its files under `{}`, which is not a plain absolute path; \
             it is not used",
            snapshot.short(),
            prefix.escape_debug()
        ));
    }
    Ok(prefix.to_string())
}

/// Every restored file of the service's backed-up paths, by host path;
/// `locate` says where a host path's restored copy is.
pub(crate) fn restored_files(
    service: &ServicePlan,
    locate: impl Fn(&str) -> Result<PathBuf>,
) -> Result<Vec<manifest::FileEntry>> {
    let mut found = Vec::new();
    for p in service.paths.iter().filter(|p| p.backed_up) {
        found.extend(manifest::scan(&locate(&p.path)?, &p.path)?);
    }
    Ok(found)
}

/// Where the snapshot came back, and its dumps as they were hashed on
/// the way in.
struct Restored<'a> {
    dir: &'a Path,
    dumps: Vec<manifest::FileEntry>,
}

fn verify_dumps(
    ctx: &Context,
    service: &ServicePlan,
    manifest: &Manifest,
    restored: &Restored,
    scratch: &Scratch,
    record: &mut DrillRecord,
    progress: &Progress,
) -> Result<()> {
    if manifest.dumps.is_empty() {
        return Ok(());
    }
    progress.step(format!("{}: starting a throwaway PostgreSQL", service.name));
    let pg = Throwaway::start(ctx, &scratch.postgres(), &ctx.plan.drill.postgres_user)?;
    for dump in &manifest.dumps {
        let file = within(restored.dir, &dump.path)?;
        let bytes = io(
            format!("reading the restored dump {}", file.display()),
            std::fs::read(&file),
        )?;
        // Hashed on its way into scratch space.
        let hash = restored
            .dumps
            .iter()
            .find(|f| f.path == dump.path)
            .map_or_else(String::new, |f| f.sha256.clone());
        if hash != dump.sha256 {
            record.problems.push(format!(
                "{}: the dump differs from the manifest (sha256 {} restored, {} recorded)",
                dump.path,
                manifest::short_hash(&hash),
                manifest::short_hash(&dump.sha256)
            ));
            continue;
        }
        // The manifest was checked to name only the plan's own database.
        progress.step(format!("{}: pg_restore {}", service.name, dump.database));
        let owner = service
            .database
            .as_ref()
            .map_or(dump.database.as_str(), |d| d.user.as_str());
        pg.server.create_database(ctx, &dump.database, owner)?;
        postgres::check_dump(ctx, &pg.server.os_user, &dump.database, &bytes)?;
        pg.server.restore(ctx, &dump.database, &bytes)?;
        let counts = pg.server.row_counts(ctx, &dump.database)?;
        record.tables += counts.len();
        record
            .problems
            .extend(compare_rows(&dump.database, &dump.tables, &counts));
    }
    Ok(())
}

/// One line per table whose row count differs from the manifest.
pub(crate) fn compare_rows(
    database: &str,
    expected: &std::collections::BTreeMap<String, u64>,
    found: &std::collections::BTreeMap<String, u64>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, want) in expected {
        match found.get(table) {
            None => problems.push(format!("{database}.{table}: table missing after restore")),
            Some(got) if got != want => problems.push(format!(
                "{database}.{table}: {got} rows restored, the manifest says {want}"
            )),
            Some(_) => {}
        }
    }
    for table in found.keys().filter(|t| !expected.contains_key(*t)) {
        problems.push(format!(
            "{database}.{table}: restored but not in the manifest"
        ));
    }
    problems
}

/// Free bytes on the file system holding `dir`, for an unprivileged
/// user, as `df` counts them.
fn free_bytes(dir: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .or_else(|_| fail(format!("cannot measure free space at {}", dir.display())))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: a NUL-terminated path and a buffer of the right type; the
    // buffer is read only when the call succeeded.
    let stat = unsafe {
        if libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) != 0 {
            return io(
                format!("measuring free space at {}", dir.display()),
                Err(std::io::Error::last_os_error()),
            );
        }
        stat.assume_init()
    };
    Ok(stat.f_bavail * stat.f_frsize)
}

fn save(ctx: &Context, record: &DrillRecord) -> Result<()> {
    let path = record_path(ctx, &record.service);
    if let Some(dir) = path.parent() {
        io(
            "creating the drill record folder",
            std::fs::create_dir_all(dir),
        )?;
    }
    let text = serde_json::to_string_pretty(record).expect("plain data");
    io(
        format!("writing {}", path.display()),
        crate::fs_guard::write_file(&path, text.as_bytes()),
    )?;
    if record.passed {
        let passed = passed_record_path(ctx, &record.service);
        io(
            format!("writing {}", passed.display()),
            crate::fs_guard::write_file(&passed, text.as_bytes()),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn row_differences_are_named_by_table() {
        let expected = BTreeMap::from([("public.a".to_string(), 3), ("public.b".to_string(), 1)]);
        let found = BTreeMap::from([("public.a".to_string(), 2), ("public.c".to_string(), 0)]);
        assert_eq!(
            compare_rows("db", &expected, &found),
            [
                "db.public.a: 2 rows restored, the manifest says 3",
                "db.public.b: table missing after restore",
                "db.public.c: restored but not in the manifest",
            ]
        );
    }

    #[test]
    fn the_capture_prefix_is_read_off_the_dump_folder() {
        let snapshot = |paths: &[&str]| Snapshot {
            id: "0123456789".into(),
            short_id: None,
            time: "2026-01-01T00:00:00Z".into(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            tags: vec![],
        };
        let dumps = "/var/lib/homelab/dumps/app";
        let s = snapshot(&[
            "/run/homelab/capture/app/var/lib/app",
            "/run/homelab/capture/app/var/lib/homelab/dumps/app",
        ]);
        assert_eq!(
            prefix_of(&s, dumps).unwrap(),
            PathBuf::from("/run/homelab/capture/app")
        );
        assert_eq!(
            prefix_of(&snapshot(&[dumps]), dumps).unwrap(),
            PathBuf::from("/")
        );
        for climbing in ["/x/../../etc", "x", "/run//capture"] {
            let err = prefix_of(&snapshot(&[&format!("{climbing}{dumps}")]), dumps)
                .unwrap_err()
                .to_string();
            assert!(err.contains("is not a plain absolute path"), "{err}");
        }
        let err = prefix_of(&snapshot(&["/home"]), dumps)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "snapshot 01234567 was not made by `homelab backup run`: it holds no /var/lib/homelab/dumps/app"
        );
    }
}
