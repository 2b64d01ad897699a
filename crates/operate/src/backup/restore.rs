//! `homelab restore`: puts a snapshot in place without ever destroying the
//! data it replaces.
//!
//! Order: restore into staging and verify it against the manifest first
//! (nothing live is touched yet); stop the units; write a journal; move
//! each live folder aside (a rename, kept as `<path>.before-restore-<t>`)
//! and the staged copy in; dump the live database aside and load the
//! snapshot's dump; verify; start; probe health. Any failure puts the old
//! folders and database back and starts the service again. A process
//! killed half way leaves the journal: the next `restore` (or
//! [`recover`]) puts the old data back before doing anything else.
//!
//! Plain folders are moved aside by rename. A path that is its own ZFS
//! dataset is a mount point and cannot be renamed: it is kept as a ZFS
//! snapshot instead, emptied and filled with the restored copy; a failure
//! rolls the dataset back to that snapshot (`zfs rollback -r`), and the
//! snapshot is destroyed only once the restore stands.

use super::drill::{latest, prefix_of, restored_files, snapshot_paths};
use super::manifest::{self, Manifest};
use super::postgres::Server;
use super::progress::Progress;
use super::restic::{Restic, Snapshot};
use super::{Context, Result, fail, io, within};
use crate::runner::Cmd;
use compile::plan::{Repository, ServicePlan, StatePath};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which snapshot to restore.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// A snapshot id or its prefix.
    pub snapshot: Option<String>,
    /// The newest snapshot taken at or before this time.
    pub at: Option<jiff::Timestamp>,
    /// The repository by name (default: the plan's first).
    pub from: Option<String>,
    /// A first-boot restore ([`super::preseed`]): the service has never
    /// run, so its units are neither stopped, started nor probed.
    pub preseed: bool,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub service: String,
    pub repository: String,
    pub snapshot: String,
    /// When the snapshot was taken (RFC 3339): the age of the data.
    pub snapshot_time: String,
    pub files: usize,
    /// Where the data it replaced was kept.
    pub kept: Vec<String>,
    pub(crate) recovered_interrupted: bool,
}

/// The record of a restore under way: enough to undo it after a crash.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Journal {
    service: String,
    /// (live path, where the old data was moved) on the host, under root.
    moves: Vec<(PathBuf, PathBuf)>,
    /// The live database's dump taken before loading the snapshot's.
    database_before: Option<(String, PathBuf)>,
    /// Paths that are their own dataset: a mount point cannot be renamed
    /// aside, so a ZFS snapshot is the copy put back by rollback.
    #[serde(default)]
    zfs: Vec<ZfsAside>,
}

/// A dataset's state before the restore, kept as a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ZfsAside {
    /// The mount point, under root.
    live: PathBuf,
    /// `pool/dataset@homelab-restore-<time>`.
    snapshot: String,
}

fn work_dir(ctx: &Context, service: &str) -> PathBuf {
    ctx.state_dir().join("restore").join(service)
}

fn journal_path(ctx: &Context, service: &str) -> PathBuf {
    work_dir(ctx, service).join("journal.json")
}

pub fn restore(
    ctx: &Context,
    service: &ServicePlan,
    request: &Request,
    progress: &Progress,
) -> Result<Report> {
    let recovered = recover(ctx, service, progress)?;
    let repo = repository(service, request.from.as_deref())?;
    let restic = Restic::new(ctx, repo);
    let snapshot = choose(&restic, &service.name, request)?;
    let prefix = prefix_of(&snapshot, &service.dump_dir)?;
    let work = work_dir(ctx, &service.name);
    let staging = work.join("staging");
    if staging.exists() {
        io("clearing old staging", std::fs::remove_dir_all(&staging))?;
    }
    io("creating staging", std::fs::create_dir_all(&staging))?;
    progress.step(format!(
        "{}: restoring {} from {}",
        service.name,
        snapshot.short(),
        repo.name
    ));
    // Only the plan's paths, from where the snapshot read them.
    restic.restore(&snapshot.id, &staging, &snapshot_paths(service, &prefix))?;
    let staged = within(&staging, &prefix)?;
    let manifest = manifest::read(
        &within(&staged, &service.dump_dir)?.join(manifest::FILE_NAME),
        service,
    )?;
    progress.step(format!("{}: verifying the restored copy", service.name));
    let problems = manifest::verify(
        &manifest.files,
        &restored_files(service, |p| within(&staged, p))?,
    );
    if !problems.is_empty() {
        let _ = std::fs::remove_dir_all(&staging);
        return fail(format!(
            "snapshot {} does not match its manifest; live data left untouched:\n  {}",
            snapshot.short(),
            problems.join("\n  ")
        ));
    }
    progress.step(format!(
        "{}: stopping {}",
        service.name,
        service.units.join(" ")
    ));
    if !request.preseed {
        ctx.units(service, "stop")?;
    }
    let stamp = super::now().as_second();
    let mut journal = Journal {
        service: service.name.clone(),
        ..Journal::default()
    };
    let swapped = swap_in(
        ctx,
        service,
        &manifest,
        &staged,
        stamp,
        &mut journal,
        progress,
    )
    .and_then(|()| {
        let live = restored_files(service, |p| Ok(ctx.host_path(p)))?;
        let problems = manifest::verify(&manifest.files, &live);
        if problems.is_empty() {
            Ok(())
        } else {
            fail(format!(
                "the restored data does not match the manifest:\n  {}",
                problems.join("\n  ")
            ))
        }
    })
    .and_then(|()| {
        if request.preseed {
            return Ok(());
        }
        ctx.units(service, "start")
            .and_then(|()| probe(service, progress))
    });
    let _ = std::fs::remove_dir_all(&staging);
    if let Err(e) = swapped {
        progress.line(format!(
            "{}: restore failed, putting the old data back",
            service.name
        ));
        if !request.preseed {
            let _ = ctx.units(service, "stop");
        }
        let undone = undo(ctx, service, &journal);
        let started = if request.preseed {
            Ok(())
        } else {
            ctx.units(service, "start")
        };
        let _ = std::fs::remove_file(journal_path(ctx, &service.name));
        return match (undone, started) {
            (Ok(()), Ok(())) => fail(format!(
                "{e}\nthe previous data of `{}` is back in place",
                service.name
            )),
            (Err(u), _) | (_, Err(u)) => {
                fail(format!("{e}\nputting the old data back also failed: {u}"))
            }
        };
    }
    release_datasets(ctx, &journal, progress);
    let _ = std::fs::remove_file(journal_path(ctx, &service.name));
    let report = Report {
        service: service.name.clone(),
        repository: repo.name.clone(),
        snapshot: snapshot.id,
        snapshot_time: snapshot.time,
        files: manifest.files.len(),
        kept: journal
            .moves
            .iter()
            .map(|(_, aside)| aside.display().to_string())
            .collect(),
        recovered_interrupted: recovered,
    };
    remember(ctx, &report, progress);
    Ok(report)
}

/// What the last restore of a service brought back, kept at
/// `<state>/restored/<service>.json`: `homelab recover` reports from it
/// what the first boot's preseed restored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Restored {
    pub repository: String,
    pub snapshot: String,
    pub snapshot_time: String,
    /// When it was restored (RFC 3339).
    pub at: String,
}

fn remember(ctx: &Context, r: &Report, progress: &Progress) {
    let record = Restored {
        repository: r.repository.clone(),
        snapshot: r.snapshot.clone(),
        snapshot_time: r.snapshot_time.clone(),
        at: super::now().to_string(),
    };
    let path = ctx.record_file("restored", &r.service);
    let text = serde_json::to_string_pretty(&record).expect("plain data");
    let kept = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| crate::fs_guard::write_file(&path, text.as_bytes()));
    if let Err(e) = kept {
        progress.line(format!(
            "warning: {}: what was restored was not recorded: {e}",
            r.service
        ));
    }
}

/// The last restore of `service` recorded on this host.
pub fn last_restored(ctx: &Context, service: &str) -> Option<Restored> {
    let text = std::fs::read_to_string(ctx.record_file("restored", service)).ok()?;
    serde_json::from_str(&text).ok()
}

fn repository<'s>(service: &'s ServicePlan, from: Option<&str>) -> Result<&'s Repository> {
    let names: Vec<&str> = service
        .repositories
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    match from {
        None => service.repositories.first().map_or_else(
            || fail(format!("`{}` has no repository in the plan", service.name)),
            Ok,
        ),
        Some(n) => service
            .repositories
            .iter()
            .find(|r| r.name == n)
            .map_or_else(
                || {
                    fail(format!(
                        "`{}` has no repository `{n}`; it has: {}",
                        service.name,
                        names.join(", ")
                    ))
                },
                Ok,
            ),
    }
}

fn choose(restic: &Restic, service: &str, request: &Request) -> Result<Snapshot> {
    if let Some(id) = &request.snapshot {
        let list = restic.snapshots(service)?;
        let hits: Vec<Snapshot> = list
            .into_iter()
            .filter(|s| s.id.starts_with(id.as_str()))
            .collect();
        return match hits.len() {
            1 => Ok(hits.into_iter().next().expect("one")),
            0 => fail(format!(
                "no snapshot `{id}` of `{service}` in `{}`",
                restic.repo.name
            )),
            _ => fail(format!(
                "`{id}` matches {} snapshots: give more of the id",
                hits.len()
            )),
        };
    }
    if let Some(at) = request.at {
        let mut list: Vec<Snapshot> = restic
            .snapshots(service)?
            .into_iter()
            .filter(|s| s.timestamp().is_some_and(|t| t <= at))
            .collect();
        list.sort_by_key(|s| s.timestamp());
        return list.pop().map_or_else(
            || fail(format!("no snapshot of `{service}` at or before {at}")),
            Ok,
        );
    }
    latest(restic, service)
}

/// Moves live folders aside, the staged ones in, and loads the database.
fn swap_in(
    ctx: &Context,
    service: &ServicePlan,
    manifest: &Manifest,
    staged: &Path,
    stamp: i64,
    journal: &mut Journal,
    progress: &Progress,
) -> Result<()> {
    let (datasets, folders): (Vec<&StatePath>, Vec<&StatePath>) = service
        .paths
        .iter()
        .filter(|p| p.backed_up)
        .partition(|p| p.dataset.is_some());
    let moves: Vec<(PathBuf, PathBuf)> = folders
        .iter()
        .map(|p| {
            let live = ctx.host_path(&p.path);
            let mut aside = live.clone().into_os_string();
            aside.push(format!(".before-restore-{stamp}"));
            (live, PathBuf::from(aside))
        })
        .collect();
    journal.moves = moves.clone();
    if let Some(db) = &service.database {
        journal.database_before = Some((
            db.name.clone(),
            work_dir(ctx, &service.name).join(format!("before-{stamp}.dump")),
        ));
    }
    // The journal is on disk before the first move: a crash after this
    // point is undone by the next run.
    save_journal(ctx, journal)?;
    progress.step(format!("{}: moving the current data aside", service.name));
    for p in &datasets {
        swap_dataset(ctx, p, staged, stamp, journal)?;
    }
    for ((live, aside), p) in moves.iter().zip(&folders) {
        if live.exists() {
            io(
                format!("moving {} aside", live.display()),
                std::fs::rename(live, aside),
            )?;
        }
        let source = within(staged, &p.path)?;
        if source.exists() {
            if let Some(parent) = live.parent() {
                io(
                    "creating the parent folder",
                    std::fs::create_dir_all(parent),
                )?;
            }
            io(
                format!("moving the restored {} in place", p.path),
                std::fs::rename(&source, live),
            )?;
        } else {
            io("creating an empty folder", std::fs::create_dir_all(live))?;
        }
    }
    if let (Some(db), Some(dump)) = (&service.database, manifest.dumps.first()) {
        progress.step(format!("{}: loading database {}", service.name, db.name));
        let server = live_server(ctx, &db.socket_dir);
        let before = server.dump(ctx, &db.name)?;
        let (_, path) = journal.database_before.clone().expect("set above");
        io(
            "keeping the current database",
            crate::fs_guard::write_file(&path, &before),
        )?;
        let bytes = io(
            "reading the restored dump",
            std::fs::read(within(staged, &dump.path)?),
        )?;
        server.restore(ctx, &db.name, &bytes)?;
        let counts = server.row_counts(ctx, &db.name)?;
        let problems = super::drill::compare_rows(&db.name, &dump.tables, &counts);
        if !problems.is_empty() {
            return fail(format!(
                "the restored database differs:\n  {}",
                problems.join("\n  ")
            ));
        }
    }
    Ok(())
}

fn live_server(ctx: &Context, socket_dir: &str) -> Server {
    Server {
        socket_dir: ctx.host_path(socket_dir),
        port: 5432,
        os_user: ctx.plan.drill.postgres_user.clone(),
    }
}

/// Replaces a dataset's contents with the staged copy: a ZFS snapshot
/// first (the copy a failure rolls back to), then the mount point is
/// emptied and the staged files are copied in (staging is on another
/// file system, so they cannot be renamed in).
fn swap_dataset(
    ctx: &Context,
    p: &StatePath,
    staged: &Path,
    stamp: i64,
    journal: &mut Journal,
) -> Result<()> {
    let dataset = p.dataset.as_deref().expect("a dataset path");
    let live = ctx.host_path(&p.path);
    let snapshot = format!("{dataset}@homelab-restore-{stamp}");
    ctx.exec_ok(
        &format!("zfs snapshot of {dataset} before the restore"),
        &Cmd::new("zfs").args(["snapshot", &snapshot]),
    )?;
    // On disk before the first file is removed: a crash from here on is
    // rolled back by the next run.
    journal.zfs.push(ZfsAside {
        live: live.clone(),
        snapshot,
    });
    save_journal(ctx, journal)?;
    empty_folder(&live)?;
    let source = within(staged, &p.path)?;
    if source.exists() {
        ctx.exec_ok(
            &format!("copying the restored {} in place", p.path),
            &Cmd::new("cp").args([
                "-a".to_string(),
                "--".into(),
                format!("{}/.", source.display()),
                live.display().to_string(),
            ]),
        )?;
    }
    Ok(())
}

/// Removes everything inside `dir`, keeping `dir` (a mount point).
fn empty_folder(dir: &Path) -> Result<()> {
    let entries = io(format!("reading {}", dir.display()), std::fs::read_dir(dir))?;
    for entry in entries {
        let path = io(format!("reading {}", dir.display()), entry)?.path();
        let removed = if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        io(format!("emptying {}", dir.display()), removed)?;
    }
    Ok(())
}

/// Drops the snapshots kept for the datasets once the restore stands.
fn release_datasets(ctx: &Context, journal: &Journal, progress: &Progress) {
    for z in &journal.zfs {
        let destroyed = ctx.exec_ok(
            "zfs destroy of the pre-restore snapshot",
            &Cmd::new("zfs").args(["destroy", &z.snapshot]),
        );
        if let Err(e) = destroyed {
            progress.line(format!("warning: {e}; remove {} by hand", z.snapshot));
        }
    }
}

/// Puts back what the journal moved: the old folders and database.
fn undo(ctx: &Context, service: &ServicePlan, journal: &Journal) -> Result<()> {
    for z in &journal.zfs {
        let rollback = Cmd::new("zfs").args(["rollback", "-r", &z.snapshot]);
        let out = ctx.exec(&rollback)?;
        if !out.status.success() {
            // Rolled back and destroyed by an undo that was itself cut
            // short: nothing left to do for this dataset.
            if String::from_utf8_lossy(&out.stderr).contains("does not exist") {
                continue;
            }
            return fail(format!(
                "zfs rollback of {} to {} failed: {}",
                z.live.display(),
                z.snapshot,
                super::last_words(&out.stderr)
            ));
        }
        ctx.exec_ok(
            "zfs destroy of the pre-restore snapshot",
            &Cmd::new("zfs").args(["destroy", &z.snapshot]),
        )?;
    }
    for (live, aside) in &journal.moves {
        if !aside.exists() {
            continue;
        }
        if live.exists() {
            io(
                format!("removing the restored {}", live.display()),
                std::fs::remove_dir_all(live),
            )?;
        }
        io(
            format!("putting {} back", live.display()),
            std::fs::rename(aside, live),
        )?;
    }
    if let (Some(db), Some((_, path))) = (&service.database, &journal.database_before)
        && path.exists()
    {
        let bytes = io("reading the kept database", std::fs::read(path))?;
        live_server(ctx, &db.socket_dir).restore(ctx, &db.name, &bytes)?;
    }
    Ok(())
}

fn save_journal(ctx: &Context, journal: &Journal) -> Result<()> {
    let path = journal_path(ctx, &journal.service);
    if let Some(dir) = path.parent() {
        io("creating the restore folder", std::fs::create_dir_all(dir))?;
    }
    let text = serde_json::to_vec_pretty(journal).expect("plain data");
    io(
        "writing the restore journal",
        crate::fs_guard::write_file(&path, &text),
    )?;
    // The journal must outlive a crash: flush it and its folder.
    if let Ok(f) = std::fs::File::open(&path) {
        let _ = f.sync_all();
    }
    if let Some(dir) = path.parent().and_then(|d| std::fs::File::open(d).ok()) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The journal of a restore of `service` that was cut short, if any.
pub(crate) fn pending(ctx: &Context, service: &ServicePlan) -> Option<PathBuf> {
    let path = journal_path(ctx, &service.name);
    path.exists().then_some(path)
}

/// Refuses to `what` (back up, drill) a service whose restore was cut
/// short: its live data is half the snapshot's, half the old, and a backup
/// of it would be taken for the latest good state.
pub(crate) fn refuse_pending(ctx: &Context, service: &ServicePlan, what: &str) -> Result<()> {
    match pending(ctx, service) {
        None => Ok(()),
        Some(journal) => fail(format!(
            "a restore of `{}` was interrupted and its live data is mixed (journal {}); \
             no {what} until `homelab restore {}` puts it right",
            service.name,
            journal.display(),
            service.name
        )),
    }
}

/// Undoes a restore that was interrupted (killed, power lost): the data
/// it moved aside goes back, the service is started. True when there was
/// one to undo.
pub(crate) fn recover(ctx: &Context, service: &ServicePlan, progress: &Progress) -> Result<bool> {
    let path = journal_path(ctx, &service.name);
    let Ok(text) = std::fs::read(&path) else {
        return Ok(false);
    };
    let journal: Journal = serde_json::from_slice(&text).or_else(|e| {
        fail(format!(
            "the restore journal {} is damaged: {e}",
            path.display()
        ))
    })?;
    if let Err(e) = journal.check(ctx, service) {
        return fail(format!(
            "the restore journal {} does not match the plan of `{}` ({e}); \
             nothing was moved: look at it and remove it by hand",
            path.display(),
            service.name
        ));
    }
    progress.line(format!(
        "{}: an earlier restore was interrupted; putting the data it replaced back",
        service.name
    ));
    let _ = ctx.units(service, "stop");
    undo(ctx, service, &journal)?;
    io("removing the restore journal", std::fs::remove_file(&path))?;
    ctx.units(service, "start")?;
    Ok(true)
}

impl Journal {
    /// A journal read back from disk moves only what a restore of this
    /// service moves: each of its own folders and that folder's
    /// `.before-restore-<time>` copy, each of its own datasets and a
    /// `homelab-restore-<time>` snapshot of it, its database's dump in its
    /// work folder. Anything else is refused before anything moves.
    fn check(&self, ctx: &Context, service: &ServicePlan) -> std::result::Result<(), String> {
        let own = |dataset: bool| {
            service
                .paths
                .iter()
                .filter(move |p| p.backed_up && p.dataset.is_some() == dataset)
        };
        if self.service != service.name {
            return Err(format!(
                "it is the journal of `{}`",
                self.service.escape_debug()
            ));
        }
        for (live, aside) in &self.moves {
            let ok = own(false).any(|p| {
                let path = ctx.host_path(&p.path);
                *live == path && stamped(aside, &path, ".before-restore-")
            });
            if !ok {
                return Err(format!("it moves {}", live.display()));
            }
        }
        for z in &self.zfs {
            let ok = own(true).any(|p| {
                let dataset = p.dataset.as_deref().unwrap_or_default();
                z.live == ctx.host_path(&p.path)
                    && z.snapshot
                        .strip_prefix(&format!("{dataset}@homelab-restore-"))
                        .is_some_and(is_digits)
            });
            if !ok {
                return Err(format!("it rolls back {}", z.snapshot.escape_debug()));
            }
        }
        if let Some((name, dump)) = &self.database_before {
            let ok = service.database.as_ref().is_some_and(|db| &db.name == name)
                && dump.parent() == Some(work_dir(ctx, &service.name).as_path())
                && dump
                    .file_name()
                    .and_then(|f| f.to_str())
                    .and_then(|f| f.strip_prefix("before-")?.strip_suffix(".dump"))
                    .is_some_and(is_digits);
            if !ok {
                return Err(format!("it loads {}", dump.display()));
            }
        }
        Ok(())
    }
}

/// `aside` is `live` with `<mark><digits>` appended.
fn stamped(aside: &Path, live: &Path, mark: &str) -> bool {
    let (aside, live) = (aside.as_os_str().to_str(), live.as_os_str().to_str());
    match (aside, live) {
        (Some(a), Some(l)) => a
            .strip_prefix(l)
            .and_then(|rest| rest.strip_prefix(mark))
            .is_some_and(is_digits),
        _ => false,
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Waits for the service's health probe to answer as expected.
fn probe(service: &ServicePlan, progress: &Progress) -> Result<()> {
    let Some(p) = &service.health else {
        return Ok(());
    };
    progress.step(format!("{}: waiting for {}", service.name, p.url));
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_secs(u64::from(p.timeout_seconds));
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        match crate::probe::http_status(&p.url) {
            Ok(code) if code == p.status => return Ok(()),
            Ok(code) => last = format!("answered {code}, expected {}", p.status),
            Err(e) => last = e,
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    fail(format!(
        "`{}` is not healthy after the restore: {} {last}",
        service.name, p.url
    ))
}
