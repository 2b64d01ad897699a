//! What the writer refuses before it touches anything, and the stages a
//! killed build left behind.
//!
//! The output folder is replaced as a whole, so pointing it at the wrong
//! place would be costly: `/` or a home folder would be read and copied into
//! a stage, a folder holding the spec would copy itself into its own stage.
//! A folder homelab did not create is only taken over when asked.

use super::{MARK, WriteError};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Name prefix of stage folders; the builder's process id follows, so a
/// later build can tell a stage whose builder is gone.
pub const STAGE_PREFIX: &str = ".homelab-build-";

/// Refuses an output folder that would swallow the spec or the system, or
/// that is reached through a symlink.
pub(crate) fn refuse_dangerous(out: &Path, spec_dir: Option<&Path>) -> Result<PathBuf, WriteError> {
    let refuse = |why: &str| WriteError::Refused {
        path: out.to_path_buf(),
        why: why.to_string(),
    };
    if fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(refuse(
            "it is a symlink; homelab replaces the folder and never writes through a link, so name the real folder",
        ));
    }
    let absolute = absolute(out).map_err(|e| WriteError::Io {
        path: out.to_path_buf(),
        source: e,
    })?;
    if absolute.parent().is_none() {
        return Err(refuse("it is the root folder"));
    }
    // A spec given as a bare file name has the empty path as its folder.
    let spec_dir = spec_dir.map(|d| {
        if d.as_os_str().is_empty() {
            Path::new(".")
        } else {
            d
        }
    });
    if let Some(spec) = spec_dir
        && let Ok(spec) = absolute_dir(spec)
        && spec.starts_with(&absolute)
    {
        return Err(refuse(
            "it holds the spec; the flake goes into a folder of its own, such as `flake` next to the spec",
        ));
    }
    Ok(absolute)
}

/// `path` made absolute, with `.` and `..` and symlinks of the existing
/// part resolved, so `.` and `sub/..` are seen for what they are.
fn absolute(path: &Path) -> io::Result<PathBuf> {
    let path = std::path::absolute(path)?;
    let name = path.file_name().map(ToOwned::to_owned);
    match (path.parent(), name) {
        (Some(parent), Some(name)) => Ok(absolute_dir(parent)?.join(name)),
        _ => absolute_dir(&path),
    }
}

/// A folder's canonical path; a folder that does not exist yet is
/// resolved through its nearest existing ancestor.
fn absolute_dir(dir: &Path) -> io::Result<PathBuf> {
    let dir = std::path::absolute(dir)?;
    let mut missing = Vec::new();
    let mut cur = dir.as_path();
    loop {
        match cur.canonicalize() {
            Ok(real) => return Ok(missing.iter().rev().fold(real, |p, m| p.join(m))),
            Err(_) => match (cur.parent(), cur.file_name()) {
                (Some(parent), Some(name)) => {
                    missing.push(name.to_owned());
                    cur = parent;
                }
                _ => return Ok(dir),
            },
        }
    }
}

/// True when homelab may write into `out`: it does not exist, is empty,
/// or has a generated file at its top level (`flake.nix` first). Only the
/// first bytes of top-level files are read, and at most [`OWNED_LOOKS`]
/// of them, so pointing `--out` at a huge folder costs nothing.
pub fn owned(out: &Path) -> Result<bool, WriteError> {
    let io = |e| WriteError::Io {
        path: out.to_path_buf(),
        source: e,
    };
    let entries = match fs::read_dir(out) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(io(e)),
    };
    let flake = out.join("flake.nix");
    match fs::symlink_metadata(&flake) {
        Ok(m) if m.is_file() => return starts_with_mark(&flake).map_err(io),
        // A linked flake.nix is refused with its own, clearer error.
        Ok(m) if m.file_type().is_symlink() => return Ok(true),
        _ => {}
    }
    let mut empty = true;
    for entry in entries.take(OWNED_LOOKS) {
        empty = false;
        let entry = entry.map_err(io)?;
        if entry.file_type().is_ok_and(|t| t.is_file())
            && starts_with_mark(&entry.path()).unwrap_or(false)
        {
            return Ok(true);
        }
    }
    Ok(empty)
}

/// How many top-level entries [`owned`] looks at.
const OWNED_LOOKS: usize = 1000;

/// Whether a file begins with the generated header (reads its first bytes).
pub(crate) fn starts_with_mark(path: &Path) -> io::Result<bool> {
    Ok(read_if_generated(path)?.is_some())
}

/// The whole text of a file that begins with the generated header, read
/// through one open; `None` (after reading only the first bytes) for any
/// other file, so a large file of the user's is never read.
pub(crate) fn read_if_generated(path: &Path) -> io::Result<Option<String>> {
    let mut head = vec![0; MARK.len()];
    let mut file = fs::File::open(path)?;
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..])? {
            0 => break,
            n => read += n,
        }
    }
    if read < head.len() || head != MARK.as_bytes() {
        return Ok(None);
    }
    file.read_to_end(&mut head)?;
    String::from_utf8(head).map(Some).map_err(io::Error::other)
}

/// Removes stages in `parent` whose builder is no longer running: a build
/// killed between staging and swapping leaves one behind.
pub(crate) fn clean_stale_stages(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(STAGE_PREFIX)) else {
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && !builder_alive(rest) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// A stage is named `<prefix><pid>-<random>`: its builder is alive while
/// that process exists. Names without a pid (or without /proc to ask)
/// count as alive, so a running build is never pulled from under itself;
/// so do this process's own stages (another thread may be building).
fn builder_alive(rest: &str) -> bool {
    let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
        return true;
    };
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}
