//! Backups you can trust: `backup run` captures each service's database
//! and files at one point in time and sends them to every repository with a
//! manifest; `drill` proves a snapshot comes back whole into scratch space
//! and a throwaway PostgreSQL; `status` holds every service against its
//! data-class policy; `restore` puts a snapshot in place without ever
//! destroying the data it replaces.
//!
//! Everything reads the host plan and drives the real tools (restic,
//! pg_dump, pg_restore, psql, systemctl, zfs) through a [`Runner`]. All
//! absolute paths of the plan are taken under a root folder, as
//! `nixos-install --root` does, so tests run the same code on a scratch tree.

pub mod capture;
pub mod drill;
pub mod manifest;
pub mod postgres;
pub mod preseed;
pub mod progress;
pub mod recover;
pub mod report;
pub mod restic;
pub mod restore;
pub mod run;
mod scratch;
pub mod status;

use crate::runner::{Cmd, Runner};
use compile::plan::{Plan, ServicePlan};
use std::path::{Component, Path, PathBuf};

/// Why a backup command stopped. Every message names the service, the
/// repository or the file, and what differed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Failed(String),
    /// restic failed on a repository, for the reason `fault` names.
    #[error("{message}")]
    Repository {
        fault: restic::Fault,
        message: String,
    },
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

pub fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(Error::Failed(message.into()))
}

/// Adds what was being done to an I/O error.
pub fn io<T>(context: impl Into<String>, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|source| Error::Io {
        context: context.into(),
        source,
    })
}

/// What every backup command works with: the plan, the root its paths are
/// taken under, and where commands run.
pub struct Context<'a> {
    pub plan: &'a Plan,
    pub root: PathBuf,
    pub runner: &'a dyn Runner,
}

impl Context<'_> {
    /// A plan path under the root: `/var/lib/x` → `<root>/var/lib/x`.
    pub(crate) fn host_path(&self, path: &str) -> PathBuf {
        under(&self.root, path)
    }

    /// The plan's services named, or all of them when none is.
    pub fn services(&self, names: &[String]) -> Result<Vec<&ServicePlan>> {
        if names.is_empty() {
            return Ok(self.plan.services.iter().collect());
        }
        names
            .iter()
            .map(|n| {
                self.plan
                    .services
                    .iter()
                    .find(|s| &s.name == n)
                    .map_or_else(
                        || {
                            let known: Vec<&str> =
                                self.plan.services.iter().map(|s| s.name.as_str()).collect();
                            fail(format!(
                                "no service `{n}` in the plan of host `{}`; services: {}",
                                self.plan.host,
                                known.join(", ")
                            ))
                        },
                        Ok,
                    )
            })
            .collect()
    }

    /// Runs a command; a command that could not start is an error, its
    /// exit status is the caller's to judge.
    pub fn exec(&self, cmd: &Cmd) -> Result<std::process::Output> {
        self.runner.run(cmd).map_err(|source| Error::Spawn {
            program: cmd.program.clone(),
            source,
        })
    }

    /// Runs a command that must succeed; on failure the message says what
    /// was being done and the tool's last words.
    pub(crate) fn exec_ok(&self, what: &str, cmd: &Cmd) -> Result<std::process::Output> {
        let out = self.exec(cmd)?;
        if out.status.success() {
            return Ok(out);
        }
        fail(format!(
            "{what} failed ({}): {}",
            status_text(&out.status),
            last_words(&out.stderr)
        ))
    }

    /// Makes the state folder private to root (mode 0700): it holds
    /// database dumps, records and restore journals. An existing folder
    /// with a wider mode is narrowed.
    pub fn prepare(&self) -> Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let dir = self.state_dir();
        io(
            format!("creating {}", dir.display()),
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir),
        )?;
        io(
            format!("making {} private", dir.display()),
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)),
        )
    }

    /// Where homelab keeps its state on this host.
    pub fn state_dir(&self) -> PathBuf {
        self.host_path(&self.plan.state_dir)
    }

    /// A JSON record in the state folder: `<state>/<kind>/<name>.json`.
    pub(crate) fn record_file(&self, kind: &str, name: &str) -> PathBuf {
        self.state_dir().join(kind).join(format!("{name}.json"))
    }

    /// Stops or starts the service's units.
    pub fn units(&self, service: &ServicePlan, verb: &str) -> Result<()> {
        if service.units.is_empty() {
            return Ok(());
        }
        let cmd = Cmd::new("systemctl").arg(verb).args(service.units.clone());
        self.exec_ok(&format!("systemctl {verb} for `{}`", service.name), &cmd)?;
        Ok(())
    }
}

/// A plan path taken under `root`, part by part: `/var/lib/x` becomes
/// `<root>/var/lib/x`. Only plain parts are joined, so no value climbs out
/// of `root`; plan paths have no other kind (`compile::plan::load` refuses
/// them), and paths read from a snapshot go through [`within`] instead.
pub fn under(root: &Path, path: &str) -> PathBuf {
    let mut out = root.to_path_buf();
    for part in Path::new(path).components() {
        if let Component::Normal(p) = part {
            out.push(p);
        }
    }
    out
}

/// An untrusted path (read from a snapshot) below `base`, which homelab
/// made: refused unless it is made of plain parts, and unless every part
/// that exists below `base` is a real folder, not a link, so nothing is
/// reached through a link the snapshot planted.
pub(crate) fn within(base: &Path, path: &str) -> Result<PathBuf> {
    let refuse = |why: &str| {
        fail(format!(
            "the snapshot names `{}`, {why}; it is not used",
            path.escape_debug()
        ))
    };
    let mut out = base.to_path_buf();
    let parts: Vec<Component> = Path::new(path).components().collect();
    if path.is_empty() || path.chars().any(char::is_control) {
        return refuse("not a plain path");
    }
    for (i, part) in parts.iter().enumerate() {
        match part {
            Component::RootDir if i == 0 => continue,
            Component::Normal(p) => out.push(p),
            _ => return refuse("a path that climbs or is not plain"),
        }
        match std::fs::symlink_metadata(&out) {
            Ok(m) if m.file_type().is_symlink() => {
                return refuse("a path through a link");
            }
            Ok(m) if !m.is_dir() && i + 1 < parts.len() => {
                return refuse("a path through a file");
            }
            _ => {}
        }
    }
    Ok(out)
}

pub(crate) fn status_text(status: &std::process::ExitStatus) -> String {
    match status.code() {
        Some(c) => format!("exit {c}"),
        None => "killed by a signal".into(),
    }
}

/// The last non-empty lines a tool printed on stderr, for messages.
pub fn last_words(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    if tail.is_empty() {
        "no message".into()
    } else {
        tail.join(" / ")
    }
}

/// Seconds since the Unix epoch, now.
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A base folder with a link to its parent, a link to `/`, a file and
    /// a real folder: every way a snapshot could lead a path out.
    fn base() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("base/real/deeper")).unwrap();
        std::fs::write(dir.path().join("base/file"), b"x").unwrap();
        std::os::unix::fs::symlink("..", dir.path().join("base/up")).unwrap();
        std::os::unix::fs::symlink("/", dir.path().join("base/real/root")).unwrap();
        dir
    }

    #[test]
    fn within_refuses_climbing_links_and_files_on_the_way() {
        let dir = base();
        let base = dir.path().join("base");
        assert_eq!(
            within(&base, "/real/deeper/x").unwrap(),
            base.join("real/deeper/x")
        );
        for bad in [
            "/up/x",
            "/real/root/etc",
            "/../x",
            "/real/../up",
            "/file/x",
            "",
            "/a\nb",
        ] {
            assert!(within(&base, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn under_joins_only_plain_parts() {
        let root = Path::new("/r");
        assert_eq!(under(root, "/var/lib/x"), Path::new("/r/var/lib/x"));
        assert_eq!(under(root, "/../../etc"), Path::new("/r/etc"));
        assert_eq!(under(root, "./a/./b"), Path::new("/r/a/b"));
    }

    fn hostile_path() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                Just("..".to_string()),
                Just(".".to_string()),
                Just(String::new()),
                Just("up".to_string()),
                Just("real".to_string()),
                Just("root".to_string()),
                Just("file".to_string()),
                Just("deeper".to_string()),
                "[a-z]{1,3}",
            ],
            0..6,
        )
        .prop_map(|parts| format!("/{}", parts.join("/")))
    }

    proptest! {
        /// Whatever a snapshot names, `within` gives a path below the base
        /// that reaches nothing through a link, or refuses.
        #[test]
        fn within_never_leaves_its_base(path in hostile_path()) {
            let dir = base();
            let base = dir.path().join("base");
            if let Ok(p) = within(&base, &path) {
                prop_assert!(p.starts_with(&base), "{}", p.display());
                let mut at = base.clone();
                for part in p.strip_prefix(&base).unwrap().components() {
                    at.push(part);
                    let link = std::fs::symlink_metadata(&at)
                        .is_ok_and(|m| m.file_type().is_symlink());
                    prop_assert!(!link, "{} goes through a link", p.display());
                }
                prop_assert!(!p.components().any(|c| c == Component::ParentDir));
            }
        }
    }
}
