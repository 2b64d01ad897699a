//! restic's standard error, read while it runs, so that its retries are
//! bounded.
//!
//! restic retries a failed read of the repository with growing pauses:
//! 0.14 tries a missing pack five times over about 45 seconds before it
//! gives up, and prints each retry. A pack that is not there will not
//! appear by waiting, so a retry of a read that found nothing stops restic
//! at once; any other retry (a network hiccup) is allowed
//! [`MAX_RETRIES`] times. What made us stop is kept, to say it in the
//! owner's words instead of restic's.

use std::io::{BufRead, BufReader, Read};
use std::thread::JoinHandle;

/// Retries of a read error that may pass (a dropped connection) before
/// restic is stopped.
pub(crate) const MAX_RETRIES: usize = 2;

/// Why restic was stopped while it retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GaveUp {
    /// The pack or file restic could not read (`data/e760bb3435`).
    pub what: Option<String>,
    /// restic's last error, without its retry chatter.
    pub error: String,
    /// True when the thing read does not exist.
    pub missing: bool,
    pub retries: usize,
}

/// What restic printed on standard error, and why it was stopped, if it
/// was.
pub(crate) type Watched = (Vec<u8>, Option<GaveUp>);

/// Reads `stderr` to its end on a thread; stops process `pid` (restic, or
/// the ssh that runs it) when its retries are hopeless or too many.
pub(crate) fn watch(stderr: impl Read + Send + 'static, pid: u32) -> JoinHandle<Watched> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        let mut retries = 0;
        let mut gave_up = None;
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            text.extend_from_slice(&line);
            if gave_up.is_none()
                && let Some(retry) = retry(&String::from_utf8_lossy(&line))
            {
                retries += 1;
                if retry.missing || retries > MAX_RETRIES {
                    stop(pid);
                    gave_up = Some(GaveUp { retries, ..retry });
                }
            }
            line.clear();
        }
        (text, gave_up)
    })
}

/// A retry line: `Load(<data/e760bb3435>, 44, 0) returned error, retrying
/// after 3.2s: open …: no such file or directory`.
fn retry(line: &str) -> Option<GaveUp> {
    let (head, rest) = line.split_once(" returned error, retrying after ")?;
    let error = rest.split_once(": ").map_or(rest, |(_, e)| e).trim();
    let what = head
        .split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .map(|(w, _)| w.to_string());
    Some(GaveUp {
        what,
        error: error.to_string(),
        missing: is_not_found(error),
        retries: 0,
    })
}

/// The ways backends say a file is not there.
pub(crate) fn is_not_found(error: &str) -> bool {
    let e = error.to_lowercase();
    [
        "no such file or directory",
        "not found",
        "does not exist",
        "nosuchkey",
        " 404",
    ]
    .iter()
    .any(|m| e.contains(m))
}

/// SIGTERM: restic removes its lock on the way out, so stopping it leaves
/// no stale lock behind.
fn stop(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) with a pid of our own child and a valid signal.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_lines_are_read() {
        let r = retry(
            "Load(<data/e760bb3435>, 44, 0) returned error, retrying after 3.221479586s: \
             open /r/data/e7/e760: no such file or directory\n",
        )
        .unwrap();
        assert_eq!(r.what.as_deref(), Some("data/e760bb3435"));
        assert_eq!(r.error, "open /r/data/e7/e760: no such file or directory");
        assert!(r.missing);
        let r = retry(
            "Load(<data/ab>, 0, 0) returned error, retrying after 1s: read tcp: connection reset by peer",
        )
        .unwrap();
        assert!(!r.missing);
        assert!(retry("repository 1234 opened").is_none());
    }

    #[test]
    fn a_missing_pack_stops_the_process_at_its_first_retry() {
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "echo 'Load(<data/aa>, 1, 0) returned error, retrying after 3s: open x: no such file or directory' >&2; \
                 exec sleep 30",
            ])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let watcher = watch(child.stderr.take().unwrap(), child.id());
        let status = child.wait().unwrap();
        let (text, gave_up) = watcher.join().unwrap();
        assert!(!status.success(), "stopped, not finished");
        assert!(String::from_utf8_lossy(&text).contains("retrying"));
        let g = gave_up.unwrap();
        assert_eq!((g.retries, g.missing), (1, true));
    }
}
