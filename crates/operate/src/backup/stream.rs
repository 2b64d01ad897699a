//! A snapshot restored and checked in one pass: `restic dump --archive
//! tar <snapshot> /` is read as it arrives, every file is written into
//! scratch space and hashed from the same buffer on its way to disk.
//!
//! Restoring with `restic restore` and then reading every file back to
//! hash it costs a second pass over the data, and on a busy disk that
//! pass is most of a drill's time. Here verification costs the hash
//! alone.
//!
//! The archive is untrusted input: a repository is shared, restored on
//! other machines and may be tampered with, and the drill runs as root. So
//! an entry's name must be relative and plain (no `/` in front, no `..`);
//! symbolic links are *recorded* (their target text is what the manifest
//! holds) but never created, so no later entry can be written through one,
//! whatever it points at; a hard link may only name a file extracted
//! before it, and is recorded as that file; no entry may lie below a link;
//! and every file is created new (`O_CREAT|O_EXCL|O_NOFOLLOW`). Devices,
//! pipes and sockets are skipped. So nothing is written outside the
//! scratch folder and nothing is opened through a link.

use super::manifest::{self, FileEntry};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// What went wrong while extracting: reading the archive (the stream from
/// restic broke or is not a tar) or writing into scratch space.
#[derive(Debug)]
pub enum ExtractError {
    Read(io::Error),
    Write { path: PathBuf, source: io::Error },
    Unsafe(String),
}

impl std::fmt::Display for ExtractError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExtractError::Read(e) => write!(f, "reading the restored archive: {e}"),
            ExtractError::Write { path, source } => {
                write!(f, "writing {} into scratch space: {source}", path.display())
            }
            ExtractError::Unsafe(p) => {
                write!(
                    f,
                    "the archive holds `{p}`, a path that is absolute, climbs out \
                     of the scratch folder or lies below a link; nothing of it is used"
                )
            }
        }
    }
}

/// Every file and link the archive held, by its archive path with a
/// leading `/` (the path restic backed it up from): size and hash as the
/// manifest records them.
pub type Extracted = BTreeMap<String, FileEntry>;

/// Extracts the tar stream `archive` below `dest`, hashing each file as it
/// is written. `progress` is called with the bytes written so far.
pub fn extract(
    archive: impl Read,
    dest: &Path,
    mut progress: impl FnMut(u64),
) -> Result<Extracted, ExtractError> {
    let mut archive = tar::Archive::new(io::BufReader::with_capacity(BLOCK, archive));
    let mut out = Extracted::new();
    // Entries that are links (symbolic, or hard links to one): nothing may
    // lie below them.
    let mut links = HashSet::new();
    let mut buf = vec![0u8; BLOCK];
    let mut written = 0u64;
    for entry in archive.entries().map_err(ExtractError::Read)? {
        let mut entry = entry.map_err(ExtractError::Read)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let relative = safe_relative(&name, &links)?;
        let target = dest.join(&relative);
        let host = format!("/{}", relative.display());
        let kind = entry.header().entry_type();
        let write_err = |source| ExtractError::Write {
            path: target.clone(),
            source,
        };
        if kind.is_dir() {
            fs::create_dir_all(&target).map_err(write_err)?;
        } else if kind.is_symlink() {
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            links.insert(relative);
            out.insert(host.clone(), link_entry(host, &link));
        } else if kind.is_hard_link() {
            let first = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            let original = safe_relative(&first, &links)
                .ok()
                .and_then(|r| out.get(&format!("/{}", r.display())))
                .cloned()
                .ok_or_else(|| ExtractError::Unsafe(name.clone()))?;
            out.insert(
                host.clone(),
                FileEntry {
                    path: host,
                    ..original
                },
            );
        } else if kind.is_file() {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(write_err)?;
            }
            let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
            let (size, sha256) = copy_hashing(&mut entry, &target, mode, &mut buf, |n| {
                written += n;
                progress(written);
            })?;
            out.insert(
                host.clone(),
                FileEntry {
                    path: host,
                    size,
                    sha256,
                },
            );
        }
        // Devices, fifos and sockets carry no data and are not in manifests.
    }
    Ok(out)
}

/// Read size, as for hashing files on disk.
const BLOCK: usize = 1 << 20;

fn link_entry(path: String, target: &str) -> FileEntry {
    FileEntry {
        path,
        size: target.len() as u64,
        sha256: format!("link:{target}"),
    }
}

/// Writes one file from the archive, hashing the same bytes.
fn copy_hashing(
    entry: &mut impl Read,
    target: &Path,
    mode: u32,
    buf: &mut [u8],
    mut wrote: impl FnMut(u64),
) -> Result<(u64, String), ExtractError> {
    let write_err = |source| ExtractError::Write {
        path: target.to_path_buf(),
        source,
    };
    // A fresh file, never through a link the archive planted.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(target)
        .map_err(write_err)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        let n = entry.read(buf).map_err(ExtractError::Read)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(write_err)?;
        size += n as u64;
        wrote(n as u64);
    }
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(write_err)?;
    Ok((size, manifest::hex(&hasher.finalize())))
}

/// The archive path as a relative path below the scratch folder: plain
/// parts only (restic writes names without a leading `/`), and not below
/// a link recorded before.
fn safe_relative(name: &str, links: &HashSet<PathBuf>) -> Result<PathBuf, ExtractError> {
    let unsafe_name = || ExtractError::Unsafe(name.escape_debug().to_string());
    let mut relative = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => {
                if links.contains(&relative) && !relative.as_os_str().is_empty() {
                    return Err(unsafe_name());
                }
                relative.push(part);
            }
            Component::CurDir => {}
            Component::RootDir | Component::ParentDir | Component::Prefix(_) => {
                return Err(unsafe_name());
            }
        }
    }
    if relative.as_os_str().is_empty() || links.contains(&relative) {
        return Err(unsafe_name());
    }
    Ok(relative)
}

/// The extracted files of the backed-up paths, keyed by host path: the
/// archive holds them below `prefix` (where the capture was read).
pub fn host_files(extracted: &Extracted, prefix: &Path, host_paths: &[&str]) -> Vec<FileEntry> {
    let mut found = Vec::new();
    for host_dir in host_paths {
        let host_dir = host_dir.trim_end_matches('/');
        let archived = format!(
            "{}{host_dir}/",
            prefix.display().to_string().trim_end_matches('/')
        );
        for (path, entry) in extracted.range(archived.clone()..) {
            let Some(rest) = path.strip_prefix(&archived) else {
                break;
            };
            found.push(FileEntry {
                path: format!("{host_dir}/{rest}"),
                ..entry.clone()
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

#[cfg(test)]
mod tests;
