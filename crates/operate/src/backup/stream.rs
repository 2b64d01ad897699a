//! A snapshot restored and checked in one pass: `restic dump --archive
//! tar <snapshot> /` is read as it arrives, every file is written into
//! scratch space and hashed from the same buffer on its way to disk.
//!
//! Restoring with `restic restore` and then reading every file back to
//! hash it costs a second pass over the data, and on a busy disk that
//! pass is most of a drill's time. Here verification costs the hash
//! alone. The archive is untrusted input: a path that leaves the scratch
//! folder (`..`, through a link the archive made) stops the extraction.

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
pub(crate) enum ExtractError {
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
                    "the archive holds `{p}`, a path outside the scratch folder"
                )
            }
        }
    }
}

/// Every file and link the archive held, by its archive path with a
/// leading `/` (the path restic backed it up from): size and hash as the
/// manifest records them.
pub(crate) type Extracted = BTreeMap<String, FileEntry>;

/// Extracts the tar stream `archive` below `dest`, hashing each file as it
/// is written. `progress` is called with the bytes written so far.
pub(crate) fn extract(
    archive: impl Read,
    dest: &Path,
    mut progress: impl FnMut(u64),
) -> Result<Extracted, ExtractError> {
    let mut archive = tar::Archive::new(io::BufReader::with_capacity(BLOCK, archive));
    let mut out = Extracted::new();
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
            continue;
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(write_err)?;
        }
        if kind.is_symlink() {
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            std::os::unix::fs::symlink(&link, &target).map_err(write_err)?;
            links.insert(relative);
            out.insert(host.clone(), link_entry(host, &link));
        } else if kind.is_hard_link() {
            let first = entry
                .link_name_bytes()
                .map(|l| format!("/{}", String::from_utf8_lossy(&l).trim_start_matches('/')))
                .unwrap_or_default();
            let Some(original) = out.get(&first).cloned() else {
                return Err(ExtractError::Unsafe(name));
            };
            let from = dest.join(safe_relative(&first, &links)?);
            fs::hard_link(from, &target).map_err(write_err)?;
            out.insert(
                host.clone(),
                FileEntry {
                    path: host,
                    ..original
                },
            );
        } else if kind.is_file() {
            let mode = entry.header().mode().unwrap_or(0o644) & 0o7777;
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

/// The archive path as a relative path below the scratch folder; refuses
/// `..`, and any path through a symlink extracted before.
fn safe_relative(name: &str, links: &HashSet<PathBuf>) -> Result<PathBuf, ExtractError> {
    let mut relative = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => {
                if links.contains(&relative) && !relative.as_os_str().is_empty() {
                    return Err(ExtractError::Unsafe(name.to_string()));
                }
                relative.push(part);
            }
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(ExtractError::Unsafe(name.to_string()));
            }
        }
    }
    if relative.as_os_str().is_empty() {
        return Err(ExtractError::Unsafe(name.to_string()));
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
mod tests {
    use super::*;

    fn archive(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o640);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    }

    fn link(b: &mut tar::Builder<Vec<u8>>, path: &str, target: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, path, target).unwrap();
    }

    #[test]
    fn files_are_written_and_hashed_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!("cap/var/lib/app/{}/x", "d".repeat(150));
        let tar = archive(|b| {
            file(b, "cap/var/lib/app/a", b"abc");
            file(b, &long, b"");
            link(b, "cap/var/lib/app/l", "a");
        });
        let mut seen = 0;
        let got = extract(&tar[..], dir.path(), |n| seen = n).unwrap();
        assert_eq!(seen, 3);
        assert_eq!(
            std::fs::read(dir.path().join("cap/var/lib/app/a")).unwrap(),
            b"abc"
        );
        let mode = std::fs::metadata(dir.path().join("cap/var/lib/app/a"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
        let files = host_files(&got, Path::new("/cap"), &["/var/lib/app"]);
        let on_disk = manifest::scan(&dir.path().join("cap/var/lib/app"), "/var/lib/app").unwrap();
        assert_eq!(files, on_disk, "the same entries a scan of the disk finds");
        assert_eq!(files.len(), 3);
        assert!(host_files(&got, Path::new("/cap"), &["/var/lib/ap"]).is_empty());
    }

    #[test]
    fn paths_that_leave_the_scratch_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A link to the outside, then a file written "through" it.
        let mut raw = archive(|b| link(b, "x/out", "/etc"));
        let through = archive(|b| file(b, "x/out/passwd", b"owned"));
        raw.truncate(raw.len() - 1024); // drop the end-of-archive blocks
        raw.extend(through);
        let err = extract(&raw[..], dir.path(), |_| {}).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the archive holds `x/out/passwd`, a path outside the scratch folder"
        );
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        let mut raw = h.as_bytes().to_vec();
        raw.extend([b'x'; 512]);
        raw.extend([0u8; 1024]);
        let err = extract(&raw[..], dir.path(), |_| {}).unwrap_err();
        assert!(matches!(err, ExtractError::Unsafe(_)), "{err}");
        assert!(!dir.path().parent().unwrap().join("escape").exists());
    }

    #[test]
    fn a_truncated_stream_is_a_read_error() {
        let dir = tempfile::tempdir().unwrap();
        let tar = archive(|b| file(b, "a", &[1u8; 5000]));
        let err = extract(&tar[..2000], dir.path(), |_| {}).unwrap_err();
        assert!(matches!(err, ExtractError::Read(_)), "{err}");
    }
}
