//! One restic repository of the plan, driven through the runner with
//! `--json`. The password reaches restic only as a file path
//! (`RESTIC_PASSWORD_FILE`); backend credentials from the plan's
//! environment file go into restic's environment, never into a message.
//!
//! Exit codes (ENGINES.md): 0 ok, 3 snapshot made but some files were
//! unreadable, 10 repository missing, 11 lock failed, 12 wrong password,
//! 130 interrupted. restic before 0.17 says the same things with exit 1
//! and a message, so both are read.

use super::{Context, Error, Result, fail, last_words};
use crate::runner::Cmd;
use compile::plan::{Repository, Retention};
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
        let cmd = self.cmd(args)?;
        let out = self.ctx.exec(&cmd)?;
        if out.status.success() {
            return Ok(out.stdout);
        }
        fail(self.explain(what, out.status.code(), &out.stderr))
    }

    fn explain(&self, what: &str, code: Option<i32>, stderr: &[u8]) -> String {
        let text = String::from_utf8_lossy(stderr);
        let name = &self.repo.name;
        let cause = if code == Some(12) || text.contains("wrong password") {
            format!(
                "wrong password for repository `{name}`: the key in {} does not open it",
                secret_file(&self.repo.password_secret)
            )
        } else if is_missing(code, stderr) {
            format!("repository `{name}` does not exist at {}", self.location())
        } else if code == Some(11) || text.contains("unable to create lock") {
            format!(
                "repository `{name}` is locked by another process (`restic unlock` removes a stale lock): {}",
                last_words(stderr)
            )
        } else if text.contains("unable to start the sftp session")
            || text.contains("subprocess ssh")
            || (text.contains("ssh") && text.contains("Connection refused"))
        {
            format!(
                "repository `{name}` is unreachable: the SFTP host refused or dropped the connection ({})",
                last_words(stderr)
            )
        } else if text.contains("ciphertext verification failed")
            || text.contains("checksum mismatch")
            || text.contains("invalid data returned")
            || text.contains("hash does not match")
        {
            format!(
                "repository `{name}` is damaged: a pack file fails its checksum                  (`restic check --read-data` lists the damage; restore from another repository): {}",
                last_words(stderr)
            )
        } else if text.contains("no space left on device") {
            format!("no space left on device: {}", last_words(stderr))
        } else {
            format!("repository `{name}`: {}", last_words(stderr))
        };
        format!("{what}: {cause}")
    }

    /// Snapshots of one service (tagged with its name), oldest first.
    pub fn snapshots(&self, service: &str) -> Result<Vec<Snapshot>> {
        let out = self.run(
            &format!("listing snapshots of `{service}`"),
            ["snapshots", "--json", "--tag", service],
        )?;
        serde_json::from_slice(&out).or_else(|e| {
            fail(format!(
                "repository `{}`: unreadable snapshot list: {e}",
                self.repo.name
            ))
        })
    }

    /// Creates the repository when there is none yet (`restic init`);
    /// true when it did. Only a repository that is missing is created: a
    /// wrong password, a host that does not answer or a lock stay errors
    /// (creating a second repository beside one that merely did not open
    /// would split the backups).
    pub(crate) fn ensure_initialized(&self) -> Result<bool> {
        let cmd = self.cmd(["cat", "config"])?;
        let out = self.ctx.exec(&cmd)?;
        if out.status.success() {
            return Ok(false);
        }
        if !is_missing(out.status.code(), &out.stderr) {
            return fail(self.explain("opening the repository", out.status.code(), &out.stderr));
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
        let cmd = self.cmd(args)?;
        let out = self.ctx.exec(&cmd)?;
        let what = format!("backing up `{tag}` to `{}`", self.repo.name);
        match out.status.code() {
            Some(0) => {}
            // A snapshot was made but some file could not be read: it is
            // not a whole copy of the service.
            Some(3) => {
                return fail(format!(
                    "{what}: some files could not be read, the snapshot is incomplete: {}",
                    last_words(&out.stderr)
                ));
            }
            code => return fail(self.explain(&what, code, &out.stderr)),
        }
        summary_snapshot_id(&out.stdout).map_or_else(
            || fail(format!("{what}: restic printed no snapshot id")),
            Ok,
        )
    }

    /// Restores the `paths` of a snapshot (and what is below them) into
    /// `target`.
    pub fn restore(&self, snapshot: &str, target: &Path, paths: &[String]) -> Result<()> {
        let mut args = vec![
            "restore".to_string(),
            snapshot.to_string(),
            "--target".into(),
            target.display().to_string(),
        ];
        for p in paths {
            args.extend(["--include".to_string(), p.clone()]);
        }
        self.run(
            &format!("restoring snapshot {snapshot} from `{}`", self.repo.name),
            args,
        )?;
        Ok(())
    }

    /// Streams the whole snapshot as a tar archive (`restic dump --archive
    /// tar <snapshot> /`) into `consume`, which reads it as it arrives.
    /// A failure of restic wins over the consumer's: a damaged pack or a
    /// lost connection cuts the stream short, and restic says why.
    ///
    /// `gate` runs once restic has started and before anything is read, so
    /// a check (free space) overlaps restic opening the repository; when
    /// it fails, restic is stopped and nothing is written.
    pub(crate) fn dump_tar<T, E: std::fmt::Display>(
        &self,
        snapshot: &str,
        gate: impl FnOnce() -> Result<()>,
        consume: impl FnOnce(&mut dyn std::io::Read) -> std::result::Result<T, E>,
    ) -> Result<T> {
        let what = format!("restoring snapshot {snapshot} from `{}`", self.repo.name);
        let cmd = self.cmd(["dump", "--archive", "tar", snapshot, "/"])?;
        let mut child = self.ctx.runner.spawn(&cmd).map_err(|source| Error::Spawn {
            program: cmd.program.clone(),
            source,
        })?;
        if let Err(e) = gate() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        let mut stderr = child.stderr.take().expect("stderr is piped");
        // Drained on its own thread so a talkative restic never blocks.
        let said = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stderr, &mut text);
            text
        });
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let consumed = consume(&mut stdout);
        if consumed.is_ok() {
            // A tar reader stops at the end-of-archive blocks; restic may
            // still be writing padding, and dies of SIGPIPE if cut off.
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        }
        // Closing the pipe ends a restic still writing (the consumer gave up).
        drop(stdout);
        let status = child.wait();
        let stderr = said.join().unwrap_or_default();
        let code = match status {
            Ok(s) if s.success() => None,
            Ok(s) => Some(s.code()),
            Err(e) => return fail(format!("{what}: waiting for restic: {e}")),
        };
        match (consumed, code) {
            (Ok(v), None) => Ok(v),
            // restic stopped because the consumer stopped reading: a
            // broken pipe, or SIGPIPE (no exit code).
            (Err(e), Some(code)) if code.is_none() || broken_pipe(&stderr) => {
                fail(format!("{what}: {e}"))
            }
            (Err(e), None) => fail(format!("{what}: {e}")),
            (_, Some(code)) => fail(self.explain(&what, code, &stderr)),
        }
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

    /// `restic check`: the repository's structure is sound.
    pub fn check(&self) -> Result<()> {
        self.run("checking the repository", ["check"])?;
        Ok(())
    }
}

/// True when restic says there is no repository at the location (and
/// not that it could not reach or open one).
fn is_missing(code: Option<i32>, stderr: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stderr);
    code == Some(10)
        || text.contains("Is there a repository at the following location")
        || text.contains("repository does not exist")
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

/// True when restic only complains that its output pipe was closed.
fn broken_pipe(stderr: &[u8]) -> bool {
    String::from_utf8_lossy(stderr).contains("broken pipe")
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
