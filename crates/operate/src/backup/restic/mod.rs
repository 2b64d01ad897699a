//! One restic repository of the plan, driven through the runner with
//! `--json`. The password reaches restic only as a file path
//! (`RESTIC_PASSWORD_FILE`); backend credentials from the plan's
//! environment file go into restic's environment, never into a message.
//!
//! Exit codes (ENGINES.md): 0 ok, 3 snapshot made but some files were
//! unreadable, 10 repository missing, 11 lock failed, 12 wrong password,
//! 130 interrupted. restic before 0.17 says the same things with exit 1
//! and a message, so both are read.

mod fault;
mod watch;

pub use fault::Fault;

use super::{Context, Error, Result, fail, last_words};
use crate::runner::Cmd;
use compile::plan::{Repository, Retention};
use fault::{Named, Said};
use serde::Deserialize;
use std::path::Path;

/// A snapshot as `restic snapshots --json` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub short_id: Option<String>,
    pub time: String,
    pub paths: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Snapshot {
    pub(crate) fn timestamp(&self) -> Option<jiff::Timestamp> {
        self.time.parse().ok()
    }

    pub fn short(&self) -> &str {
        self.short_id.as_deref().unwrap_or(short_id(&self.id))
    }
}

/// The first eight characters of a snapshot id, as restic prints them.
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

pub struct Restic<'c, 'a> {
    ctx: &'c Context<'a>,
    pub repo: &'c Repository,
}

impl<'c, 'a> Restic<'c, 'a> {
    pub fn new(ctx: &'c Context<'a>, repo: &'c Repository) -> Self {
        Restic { ctx, repo }
    }

    /// The repository location: a local path is taken under the root.
    fn location(&self) -> String {
        if self.repo.url.starts_with('/') {
            self.ctx.host_path(&self.repo.url).display().to_string()
        } else {
            self.repo.url.clone()
        }
    }

    /// `restic <args>` with the repository, password file and backend
    /// environment set; a missing password or environment file stops here.
    pub fn cmd<I, S>(&self, args: I) -> Result<Cmd>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let password = self.ctx.host_path(&secret_file(&self.repo.password_secret));
        if !password.is_file() {
            return fail(format!(
                "repository `{}`: the password file {} is missing; the secret must be \
                 decrypted there (agenix) before restic can open the repository",
                self.repo.name,
                password.display()
            ));
        }
        let mut cmd = Cmd::new("restic")
            .env("RESTIC_REPOSITORY", self.location())
            .env("RESTIC_PASSWORD_FILE", password.display().to_string())
            .env(
                "RESTIC_CACHE_DIR",
                self.ctx
                    .state_dir()
                    .join("restic-cache")
                    .display()
                    .to_string(),
            );
        if let Some(secret) = &self.repo.environment_secret {
            let file = self.ctx.host_path(&secret_file(secret));
            for (k, v) in read_environment(&file, &self.repo.name)? {
                cmd = cmd.env(k, v);
            }
        }
        Ok(cmd.args(args))
    }

    /// Runs restic; a failure becomes a message that says which
    /// repository and why, in the user's words.
    pub fn run<I, S>(&self, what: &str, args: I) -> Result<Vec<u8>>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ran = self.exec(&self.cmd(args)?)?;
        if ran.status.success() && ran.gave_up.is_none() {
            return Ok(ran.stdout);
        }
        Err(self.explain(what, &ran.said()))
    }

    /// Runs restic to its end, its standard error watched so that hopeless
    /// retries stop it ([`watch`]).
    fn exec(&self, cmd: &Cmd) -> Result<Ran> {
        let spawn_err = |source| Error::Spawn {
            program: cmd.program.clone(),
            source,
        };
        let mut child = self.ctx.runner.spawn(cmd).map_err(spawn_err)?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let watcher = watch::watch(stderr, child.id());
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut out = Vec::new();
        let read = std::io::Read::read_to_end(&mut stdout, &mut out);
        let status = child.wait().map_err(spawn_err)?;
        let (stderr, gave_up) = watcher.join().unwrap_or_default();
        read.map_err(spawn_err)?;
        Ok(Ran {
            status,
            stdout: out,
            stderr,
            gave_up,
        })
    }

    /// The error for what restic said, naming this repository.
    fn explain(&self, what: &str, said: &Said) -> Error {
        let fault = fault::classify(said);
        let location = self.location();
        let password_file = secret_file(&self.repo.password_secret);
        let named = Named {
            name: &self.repo.name,
            location: &location,
            password_file: &password_file,
        };
        Error::Repository {
            fault,
            message: format!("{what}: {}", fault::message(fault, &named, said)),
        }
    }

    /// Snapshots of one service (tagged with its name), oldest first.
    pub fn snapshots(&self, service: &str) -> Result<Vec<Snapshot>> {
        let out = self.run(
            &format!("listing snapshots of `{service}`"),
            ["snapshots", "--json", "--no-lock", "--tag", service],
        )?;
        let list: Vec<Snapshot> = serde_json::from_slice(&out).or_else(|e| {
            fail(format!(
                "repository `{}`: unreadable snapshot list: {e}",
                self.repo.name
            ))
        })?;
        if let Some(bad) = list.iter().find(|s| !is_id(&s.id)) {
            return fail(format!(
                "repository `{}` lists a snapshot whose id `{}` is not a restic id",
                self.repo.name,
                bad.id.escape_debug()
            ));
        }
        Ok(list)
    }

    /// Creates the repository when there is none yet (`restic init`);
    /// true when it did. Only a repository that is missing is created: a
    /// wrong password, a host that does not answer or a lock stay errors
    /// (creating a second repository beside one that merely did not open
    /// would split the backups).
    pub(crate) fn ensure_initialized(&self) -> Result<bool> {
        let ran = self.exec(&self.cmd(["cat", "config"])?)?;
        if ran.status.success() {
            return Ok(false);
        }
        if !fault::is_missing(ran.status.code(), &ran.stderr) {
            return Err(self.explain("opening the repository", &ran.said()));
        }
        self.run("creating the repository", ["init"])?;
        Ok(true)
    }

    /// Applies a retention policy to one service's snapshots from this
    /// host (`restic forget --prune`), grouped by host and tag so that a
    /// change of the service's paths does not start a second history.
    /// Returns how many snapshots were removed.
    pub fn forget(&self, host: &str, tag: &str, keep: &Retention) -> Result<usize> {
        let mut args: Vec<String> = ["forget", "--prune", "--json", "--host", host, "--tag", tag]
            .map(String::from)
            .to_vec();
        args.extend(["--group-by".into(), "host,tags".into()]);
        args.extend(
            keep.restic_flags()
                .iter()
                .flat_map(|f| f.split_whitespace().map(String::from).collect::<Vec<_>>()),
        );
        let out = self.run(
            &format!("applying retention to `{tag}` in `{}`", self.repo.name),
            args,
        )?;
        Ok(removed_count(&out))
    }

    /// `restic backup` of `paths`, tagged; returns the snapshot id.
    pub fn backup(&self, host: &str, tag: &str, paths: &[String]) -> Result<String> {
        let mut args = vec![
            "backup".to_string(),
            "--json".into(),
            "--host".into(),
            host.into(),
            "--tag".into(),
            tag.into(),
        ];
        args.extend(paths.iter().cloned());
        let out = self.exec(&self.cmd(args)?)?;
        let what = format!("backing up `{tag}` to `{}`", self.repo.name);
        match out.status.code() {
            Some(0) if out.gave_up.is_none() => {}
            // A snapshot was made but some file could not be read: it is
            // not a whole copy of the service.
            Some(3) => {
                return fail(format!(
                    "{what}: some files could not be read, the snapshot is incomplete: {}",
                    last_words(&out.stderr)
                ));
            }
            _ => return Err(self.explain(&what, &out.said())),
        }
        summary_snapshot_id(&out.stdout).map_or_else(
            || fail(format!("{what}: restic printed no snapshot id")),
            Ok,
        )
    }

    /// Restores the `paths` of a snapshot (and what is below them) into
    /// `target`, with restic's own restore, which reads packs in parallel.
    pub fn restore(&self, snapshot: &str, target: &Path, paths: &[String]) -> Result<()> {
        self.restore_watched(snapshot, target, paths, || Ok(()), || {})
    }

    /// [`Restic::restore`], with a `gate` that runs once restic has
    /// started (a free-space check overlaps restic opening the
    /// repository; when it fails, restic is stopped), and `tick` called
    /// about five times a second while restic works (progress).
    pub(crate) fn restore_watched(
        &self,
        snapshot: &str,
        target: &Path,
        paths: &[String],
        gate: impl FnOnce() -> Result<()>,
        mut tick: impl FnMut(),
    ) -> Result<()> {
        let what = format!("restoring snapshot {snapshot} from `{}`", self.repo.name);
        let mut args = vec![
            "restore".to_string(),
            snapshot.to_string(),
            "--target".into(),
            target.display().to_string(),
        ];
        for p in paths {
            args.extend(["--include".to_string(), p.clone()]);
        }
        let cmd = self.cmd(args)?;
        let mut child = self.ctx.runner.spawn(&cmd).map_err(|source| Error::Spawn {
            program: cmd.program.clone(),
            source,
        })?;
        let watcher = watch::watch(child.stderr.take().expect("stderr is piped"), child.id());
        let mut stdout = child.stdout.take().expect("stdout is piped");
        // Drained on its own thread so a talkative restic never blocks.
        let drained = std::thread::spawn(move || {
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        if let Err(e) = gate() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        // Waited for on a thread, so the end is seen at once and `tick`
        // still runs while restic works.
        let (done, ended) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(child.wait());
        });
        let status = loop {
            match ended.recv_timeout(std::time::Duration::from_millis(200)) {
                Ok(Ok(status)) => break status,
                Ok(Err(e)) => return fail(format!("{what}: waiting for restic: {e}")),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => tick(),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return fail(format!("{what}: restic was lost"));
                }
            }
        };
        let _ = drained.join();
        let (stderr, gave_up) = watcher.join().unwrap_or_default();
        if status.success() && gave_up.is_none() {
            return Ok(());
        }
        Err(self.explain(
            &what,
            &Said {
                code: status.code(),
                stderr: &stderr,
                gave_up: gave_up.as_ref(),
            },
        ))
    }

    /// The restore size of a snapshot, in bytes.
    pub(crate) fn restore_size(&self, snapshot: &str) -> Result<u64> {
        let out = self.run(
            "measuring the snapshot",
            ["stats", "--json", "--mode", "restore-size", snapshot],
        )?;
        #[derive(Deserialize)]
        struct Stats {
            total_size: u64,
        }
        serde_json::from_slice::<Stats>(&out)
            .map(|s| s.total_size)
            .or_else(|e| fail(format!("unreadable restic stats: {e}")))
    }

    /// `restic check`: the repository's structure is sound (every pack
    /// the index names is there). Takes no lock, so a stale lock does not
    /// hide the answer (it is reported by itself, [`Restic::locks`]).
    pub fn check(&self) -> Result<()> {
        self.checked("checking the repository", &[])
    }

    /// `restic check --read-data-subset`: a sample of the packs is read
    /// back and verified, which is the only way to find a damaged one.
    pub fn check_data(&self, subset: &str) -> Result<()> {
        self.checked(
            &format!("reading back {subset} of the repository's data"),
            &[format!("--read-data-subset={subset}")],
        )
    }

    fn checked(&self, what: &str, extra: &[String]) -> Result<()> {
        let mut args = vec!["check".to_string(), "--no-lock".into()];
        args.extend_from_slice(extra);
        let ran = self.exec(&self.cmd(args)?)?;
        // An empty repository has no data to read back.
        let empty = String::from_utf8_lossy(&ran.stderr).contains("repository having size 0");
        if (ran.status.success() || empty) && ran.gave_up.is_none() {
            return Ok(());
        }
        // A check that ran and failed found damage, whatever words it used.
        let said = ran.said();
        match self.explain(what, &said) {
            Error::Repository {
                fault: Fault::Failed,
                ..
            } => Err(Error::Repository {
                fault: Fault::Damaged,
                message: format!(
                    "{what}: repository `{}` is damaged: {} (restore from another repository)",
                    self.repo.name,
                    damage(&ran.stderr)
                ),
            }),
            e => Err(e),
        }
    }

    /// The locks held on the repository, each as restic describes it.
    pub fn locks(&self) -> Result<Vec<Lock>> {
        let ids = self.run("listing locks", ["list", "locks", "--no-lock"])?;
        let mut locks = Vec::new();
        for id in String::from_utf8_lossy(&ids).lines().map(str::trim) {
            if !is_id(id) {
                continue;
            }
            // A lock removed since it was listed is no lock.
            let Ok(text) = self.run("reading a lock", ["cat", "lock", id, "--no-lock"]) else {
                continue;
            };
            if let Ok(lock) = serde_json::from_slice::<Lock>(&text) {
                locks.push(lock);
            }
        }
        Ok(locks)
    }
}

/// A lock as `restic cat lock` prints it.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Lock {
    pub time: String,
    pub exclusive: bool,
    pub hostname: String,
    pub pid: u32,
}

impl Lock {
    /// restic's own rule: a lock is stale when it is older than 30
    /// minutes, or when it was taken on this machine by a process that is
    /// gone.
    pub fn is_stale(&self, now: jiff::Timestamp, this_host: &str) -> bool {
        let old = self
            .time
            .parse::<jiff::Timestamp>()
            .is_ok_and(|t| now.as_second() - t.as_second() > 30 * 60);
        let gone = self.hostname == this_host
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists();
        old || gone
    }
}

/// The lines of a failed check that say what is wrong, without progress.
fn damage(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('[') && !l.starts_with("Fatal:"))
        .filter(|l| !l.starts_with("check ") && !l.starts_with("read "))
        .filter(|l| !l.contains("load indexes") && !l.contains("snapshots"))
        .collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    if tail.is_empty() {
        last_words(stderr)
    } else {
        tail.join(" / ")
    }
}

/// A restic id: 64 lowercase hexadecimal digits. Ids come back from the
/// repository and go into restic's arguments, so anything else (a word
/// starting with `-`) is never passed on.
pub(crate) fn is_id(s: &str) -> bool {
    crate::backup::manifest::is_sha256(s)
}

/// What one run of restic left.
struct Ran {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    gave_up: Option<watch::GaveUp>,
}

impl Ran {
    fn said(&self) -> Said<'_> {
        Said {
            code: self.status.code(),
            stderr: &self.stderr,
            gave_up: self.gave_up.as_ref(),
        }
    }
}

/// Snapshots `restic forget --json` removed: its output is one JSON
/// array of groups, each with a `remove` list (null when none), printed
/// before prune's plain-text report.
fn removed_count(stdout: &[u8]) -> usize {
    let text = String::from_utf8_lossy(stdout);
    let Some(json) = text.lines().find(|l| l.trim_start().starts_with('[')) else {
        return 0;
    };
    serde_json::from_str::<Vec<serde_json::Value>>(json).map_or(0, |groups| {
        groups
            .iter()
            .filter_map(|g| g["remove"].as_array())
            .map(Vec::len)
            .sum()
    })
}

/// Where agenix decrypts secrets on a host (its default `age.secretsDir`).
pub(crate) const AGENIX_DIR: &str = "/run/agenix";

/// The decrypted file of an agenix secret, as a host path.
pub(crate) fn secret_file(name: &str) -> String {
    format!("{AGENIX_DIR}/{name}")
}

fn summary_snapshot_id(stdout: &[u8]) -> Option<String> {
    String::from_utf8_lossy(stdout).lines().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        (v["message_type"] == "summary")
            .then(|| v["snapshot_id"].as_str().map(str::to_string))
            .flatten()
    })
}

/// `KEY=value` lines of an environment file (systemd's format, without
/// quoting rules beyond stripping one pair of quotes).
fn read_environment(path: &Path, repo: &str) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).or_else(|e| {
        fail(format!(
            "repository `{repo}`: cannot read the environment file {}: {e}",
            path.display()
        ))
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect())
}
