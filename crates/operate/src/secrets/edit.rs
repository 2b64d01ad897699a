//! Editing a secret in the user's `$EDITOR` without leaving it on disk.
//!
//! The value goes into a 0600 file inside a private 0700 folder (on
//! `/dev/shm` when there is one, so it never reaches a disk), the editor
//! runs on it, and the whole folder — with any swap or backup file the
//! editor left beside it — is removed whatever happens: the editor
//! succeeding, failing or being killed. While the editor runs, SIGINT,
//! SIGTERM, SIGHUP and SIGQUIT sent to homelab are held back (the editor
//! gets its own), so a Ctrl-C cannot skip the clean-up.

use super::Error;
use super::age_file::Plaintext;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};
use zeroize::Zeroizing;

/// What came out of an editing session.
pub enum Outcome {
    /// Saved with the same content (or not saved): nothing to write.
    Unchanged,
    Changed(Plaintext),
}

/// Where the private folder goes: RAM-backed `/dev/shm` when writable.
fn private_base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let writable = tempfile::Builder::new()
        .prefix(".homelab-probe-")
        .tempfile_in(shm)
        .is_ok();
    if shm.is_dir() && writable {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Runs `editor` on `current` (empty for a new secret) and returns what
/// the user saved. `label` names the file in the editor's title.
pub fn edit_value(label: &str, current: &[u8], editor: &str) -> Result<Outcome, Error> {
    let base = private_base();
    let dir = tempfile::Builder::new()
        .prefix("homelab-secret-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(&base)
        .map_err(Error::io("create a private folder in", &base))?;
    let path = dir.path().join(label);
    let result = run_session(&path, current, editor);
    // Overwrite before unlinking (best effort on disks; /dev/shm is RAM).
    if let Ok(len) = std::fs::metadata(&path).map(|m| m.len()) {
        let _ = std::fs::write(&path, vec![0u8; len as usize]);
    }
    let removed = dir.close();
    let saved = result?;
    removed.map_err(Error::io("remove the private folder", &base))?;
    if *saved == current {
        Ok(Outcome::Unchanged)
    } else {
        Ok(Outcome::Changed(saved))
    }
}

fn run_session(path: &Path, current: &[u8], editor: &str) -> Result<Plaintext, Error> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(Error::io("create", path))?;
    file.write_all(current).map_err(Error::io("write", path))?;
    drop(file);
    let status = with_signals_held(|| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("homelab-edit")
            .arg(path)
            .status()
    });
    let (status, signal) = status;
    let status =
        status.map_err(|e| Error::Refused(format!("cannot start the editor `{editor}`: {e}")))?;
    if signal != 0 {
        return Err(Error::Refused(format!(
            "interrupted by signal {signal}; nothing was changed"
        )));
    }
    if !status.success() {
        return Err(Error::Refused(format!(
            "the editor `{editor}` {}; nothing was changed",
            describe(status)
        )));
    }
    let saved = Zeroizing::new(std::fs::read(path).map_err(Error::io("read", path))?);
    Ok(saved)
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "failed".into(),
    }
}

/// The last signal held back while the editor ran (0: none).
static HELD: AtomicI32 = AtomicI32::new(0);

extern "C" fn hold(sig: libc::c_int) {
    HELD.store(sig, Ordering::SeqCst);
}

const HELD_SIGNALS: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Runs `f` with the terminating signals caught (handlers, not ignored,
/// so the editor started inside still gets the default behaviour), then
/// restores the previous handlers. Returns `f`'s result and the signal
/// that arrived meanwhile, if any.
fn with_signals_held<T>(f: impl FnOnce() -> T) -> (T, i32) {
    HELD.store(0, Ordering::SeqCst);
    let handler = hold as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: `hold` only stores into an atomic, which is async-signal
    // safe; the previous handlers are put back below.
    let previous: Vec<libc::sighandler_t> = HELD_SIGNALS
        .iter()
        .map(|s| unsafe { libc::signal(*s, handler) })
        .collect();
    let out = f();
    for (s, old) in HELD_SIGNALS.iter().zip(previous) {
        // SAFETY: restores the handler that was installed before.
        unsafe {
            libc::signal(*s, old);
        }
    }
    (out, HELD.load(Ordering::SeqCst))
}
