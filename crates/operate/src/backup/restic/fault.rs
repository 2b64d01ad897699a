//! What a failed restic run means, in the owner's terms: a wrong
//! password, a repository that does not exist, one locked by another
//! process, one that cannot be reached, one whose data is damaged or
//! missing, a full disk. Each is told apart, because each has its own
//! remedy, and `backup status` shows which.
//!
//! restic 0.17 and later say most of it with an exit code (ENGINES.md: 10
//! missing, 11 lock, 12 password); 0.14 exits 1 and says it in words, so
//! both are read.

use super::watch::GaveUp;
use crate::backup::last_words;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    WrongPassword,
    /// No repository at the location.
    Missing,
    /// Another process holds a lock (maybe a stale one).
    Locked,
    /// The backend did not answer or refused the connection.
    Unreachable,
    /// A pack fails its checksum or is missing: data is lost there.
    Damaged,
    NoSpace,
    /// Anything else restic said.
    Failed,
}

impl Fault {
    /// How `backup status` shows a repository in this state.
    pub fn state(self) -> &'static str {
        match self {
            Fault::WrongPassword => "wrong password",
            Fault::Missing => "missing",
            Fault::Locked => "locked",
            Fault::Unreachable => "unreachable",
            Fault::Damaged => "damaged",
            Fault::NoSpace => "disk full",
            Fault::Failed => "failed",
        }
    }
}

/// What restic left behind: its exit code, what it printed on standard
/// error, and why it was stopped while retrying.
pub(crate) struct Said<'a> {
    pub code: Option<i32>,
    pub stderr: &'a [u8],
    pub gave_up: Option<&'a GaveUp>,
}

/// Which fault restic's words describe.
pub(crate) fn classify(said: &Said) -> Fault {
    let text = String::from_utf8_lossy(said.stderr).to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if let Some(g) = said.gave_up {
        return if g.missing {
            Fault::Damaged
        } else {
            Fault::Unreachable
        };
    }
    if said.code == Some(12) || has(&["wrong password", "no key found"]) {
        Fault::WrongPassword
    } else if is_missing(said.code, said.stderr) {
        Fault::Missing
    } else if said.code == Some(11)
        || has(&["unable to create lock", "repository is already locked"])
    {
        Fault::Locked
    } else if unreachable(&text) {
        Fault::Unreachable
    } else if has(&[
        "ciphertext verification failed",
        "checksum mismatch",
        "invalid data returned",
        "hash does not match",
        "pack file cannot be listed",
        "not referenced in any index",
        "repository contains errors",
        "pack id does not match",
        "decrypting blob",
    ]) {
        Fault::Damaged
    } else if has(&["no space left on device"]) {
        Fault::NoSpace
    } else {
        Fault::Failed
    }
}

fn fails_checksum(stderr: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stderr).to_lowercase();
    [
        "ciphertext verification failed",
        "checksum",
        "hash does not match",
        "does not match",
    ]
    .iter()
    .any(|n| text.contains(n))
}

/// restic's words for a backend it could not reach (lowercased text). It
/// adds "Is there a repository at the following location?" to these too,
/// so they are read first: a host that does not answer is not a
/// repository that does not exist.
fn unreachable(text: &str) -> bool {
    [
        "unable to start the sftp session",
        "subprocess ssh",
        "connection refused",
        "no route to host",
        "i/o timeout",
        "network is unreachable",
        "no such host",
        "connection reset",
    ]
    .iter()
    .any(|n| text.contains(n))
}

/// True when restic says there is no repository at the location (and
/// not that it could not reach or open one).
pub(crate) fn is_missing(code: Option<i32>, stderr: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stderr);
    let said_missing = code == Some(10)
        || text.contains("Is there a repository at the following location")
        || text.contains("repository does not exist");
    said_missing && !unreachable(&text.to_lowercase())
}

/// Facts about the repository a message names.
pub(crate) struct Named<'a> {
    pub name: &'a str,
    pub location: &'a str,
    pub password_file: &'a str,
}

/// The message for a fault: what is wrong with which repository, and what
/// to do about it, then restic's last words when they add something.
pub(crate) fn message(fault: Fault, repo: &Named, said: &Said) -> String {
    let name = repo.name;
    let words = last_words(said.stderr);
    match (fault, said.gave_up) {
        (Fault::Damaged, Some(g)) => format!(
            "repository `{name}` is damaged: {} is missing (restic stopped at its first \
             retry; `restic check` lists the damage; restore from another repository)",
            g.what.as_deref().unwrap_or("a pack")
        ),
        (Fault::Unreachable, Some(g)) => format!(
            "repository `{name}` is unreachable: reading {} failed {} times ({})",
            g.what.as_deref().unwrap_or("it"),
            g.retries,
            g.error
        ),
        (Fault::WrongPassword, _) => format!(
            "wrong password for repository `{name}`: the key in {} does not open it",
            repo.password_file
        ),
        (Fault::Missing, _) => {
            format!("repository `{name}` does not exist at {}", repo.location)
        }
        (Fault::Locked, _) => format!(
            "repository `{name}` is locked by another process (`restic unlock` removes a \
             stale lock): {words}"
        ),
        (Fault::Unreachable, None) => format!(
            "repository `{name}` is unreachable: the host refused or dropped the connection \
             ({words})"
        ),
        (Fault::Damaged, None) => format!(
            "repository `{name}` is damaged: {} (`restic check --read-data` lists the \
             damage; restore from another repository): {words}",
            if fails_checksum(said.stderr) {
                "a pack file fails its checksum"
            } else {
                "a pack is missing or unreadable"
            }
        ),
        (Fault::NoSpace, _) => format!("no space left on device: {words}"),
        (Fault::Failed, _) => format!("repository `{name}`: {words}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(code: Option<i32>, stderr: &str) -> Fault {
        classify(&Said {
            code,
            stderr: stderr.as_bytes(),
            gave_up: None,
        })
    }

    /// restic 0.14's words, as it prints them.
    #[test]
    fn restic_words_are_told_apart() {
        assert_eq!(
            fault(Some(1), "Fatal: wrong password or no key found"),
            Fault::WrongPassword
        );
        assert_eq!(fault(Some(12), ""), Fault::WrongPassword);
        assert_eq!(
            fault(
                Some(1),
                "Fatal: unable to open config file: stat /r/config: no such file or directory\n\
                 Is there a repository at the following location?"
            ),
            Fault::Missing
        );
        assert_eq!(
            fault(
                Some(1),
                "unable to create lock in backend: repository is already locked by PID 12"
            ),
            Fault::Locked
        );
        assert_eq!(
            fault(
                Some(1),
                "Fatal: unable to start the sftp session, error: EOF"
            ),
            Fault::Unreachable
        );
        assert_eq!(
            fault(
                Some(1),
                "Pack ID does not match, want 0b1, got 77c\nFatal: repository contains errors"
            ),
            Fault::Damaged
        );
        assert_eq!(fault(Some(1), "Fatal: something new"), Fault::Failed);
        assert_eq!(
            fault(
                Some(1),
                "Fatal: unable to open config file: Head \"http://127.0.0.1:9/config\": dial tcp                  127.0.0.1:9: connect: connection refused\nIs there a repository at the following                  location?"
            ),
            Fault::Unreachable,
            "a host that does not answer is not a missing repository"
        );
        assert_eq!(
            fault(
                Some(1),
                "error for tree 4645312b:\n  ciphertext verification failed"
            ),
            Fault::Damaged
        );
        assert_eq!(
            fault(Some(1), "write x: no space left on device"),
            Fault::NoSpace
        );
    }
}
