//! What the writer refuses before it touches anything, and the stages a
//! killed build left behind.
//!
//! The output folder is replaced as a whole, so pointing it at the wrong
//! place would be costly: `/` or a home folder would be read and copied into
//! a stage, a folder holding the spec would copy itself into its own stage.
//! A folder homelab did not create is only taken over when asked.

use super::{HASH, MARK, WriteError, short_hash};
use crate::fs_guard::{self, Type};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};

/// Name prefix of stage folders; the builder's process id follows, so a
/// later build can tell a stage whose builder is gone.
pub const STAGE_PREFIX: &str = ".homelab-build-";

/// Refuses an output folder that would swallow the spec or the system,
/// that is reached through a symlink, or that is not a folder at all.
pub(crate) fn refuse_dangerous(out: &Path, spec_dir: Option<&Path>) -> Result<PathBuf, WriteError> {
    let refuse = |why: &str| WriteError::Refused {
        path: out.to_path_buf(),
        why: why.to_string(),
    };
    match fs_guard::type_of(out) {
        Ok(Some(Type::Symlink)) => {
            return Err(refuse(
                "it is a symlink; homelab replaces the folder and never writes through a link, so name the real folder",
            ));
        }
        Ok(Some(t @ (Type::File | Type::Special(_)))) => {
            return Err(refuse(&format!(
                "it is {}, not a folder; name a new or empty folder, or the flake folder",
                t.name()
            )));
        }
        _ => {}
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
/// has a generated file at its top level (`flake.nix` first), or holds
/// only what `homelab secrets` writes before the first build (see
/// [`only_secrets`]). Only the first bytes of top-level files are read,
/// and at most [`OWNED_LOOKS`] of them, so pointing `--out` at a huge
/// folder costs nothing.
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
    let mut names = Vec::new();
    for entry in entries.take(OWNED_LOOKS) {
        empty = false;
        let entry = entry.map_err(io)?;
        if entry.file_type().is_ok_and(|t| t.is_file())
            && starts_with_mark(&entry.path()).unwrap_or(false)
        {
            return Ok(true);
        }
        names.push(entry.file_name());
    }
    if names.len() == 1 && names[0] == "secrets" {
        return only_secrets(&out.join("secrets")).map_err(io);
    }
    Ok(empty)
}

/// Whether `dir` holds only what `homelab secrets` writes before the first
/// build: `<name>.age` files and a `host-keys/` folder of `<host>.age`
/// files, all of them regular files (a link is not followed). The guides
/// make the host key and the secrets first, so the first build finds the
/// folder they made; anything else in it is someone else's.
fn only_secrets(dir: &Path) -> io::Result<bool> {
    let is_age = |entry: &fs::DirEntry| {
        entry.file_type().is_ok_and(|t| t.is_file())
            && Path::new(&entry.file_name())
                .extension()
                .is_some_and(|e| e == "age")
    };
    if !fs::symlink_metadata(dir)?.is_dir() {
        return Ok(false);
    }
    for entry in fs::read_dir(dir)?.take(OWNED_LOOKS) {
        let entry = entry?;
        if entry.file_name() == "host-keys" && entry.file_type()?.is_dir() {
            for key in fs::read_dir(entry.path())?.take(OWNED_LOOKS) {
                if !is_age(&key?) {
                    return Ok(false);
                }
            }
        } else if !is_age(&entry) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// How many top-level entries [`owned`] looks at.
const OWNED_LOOKS: usize = 1000;

/// Whether a file begins with the generated header (reads its first bytes).
pub(crate) fn starts_with_mark(path: &Path) -> io::Result<bool> {
    let mut file = fs_guard::open_file(path)?;
    Ok(fs_guard::read_head(&mut file, MARK.len() as u64)? == MARK.as_bytes())
}

/// The most a generated file may hold: far above anything homelab writes
/// (a few kilobytes a file). A file that begins with the header and is
/// larger was not written by homelab, so it counts as edited by hand,
/// and is not read beyond its header.
pub(crate) const MAX_GENERATED: u64 = 16 << 20;

/// Whether the regular file at `path` is generated and, if so, whether
/// its body still matches the hash in its header: `None` for a file that
/// does not begin with the header (only its first bytes are read),
/// `Some(false)` for one edited by hand, larger than [`MAX_GENERATED`] or
/// with a broken header. The body is hashed as it is read, never held.
pub(crate) fn generated(path: &Path) -> io::Result<Option<bool>> {
    let mut file = fs_guard::open_file(path)?;
    if fs_guard::read_head(&mut file, MARK.len() as u64)? != MARK.as_bytes() {
        return Ok(None);
    }
    if file.metadata()?.len() > MAX_GENERATED {
        return Ok(Some(false));
    }
    // The file may grow after its size was read: the reader stops at the
    // bound whatever happens.
    let mut reader = io::BufReader::new(file.take(MAX_GENERATED));
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Ok(Some(false));
    }
    line.clear();
    reader.read_until(b'\n', &mut line)?;
    let Some(stored) = line
        .strip_prefix(HASH.as_bytes())
        .and_then(|l| l.strip_suffix(b"\n"))
    else {
        return Ok(Some(false));
    };
    let mut body = Sha256::new();
    io::copy(&mut reader, &mut body)?;
    Ok(Some(stored == short_hash(&body.finalize()).as_bytes()))
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
