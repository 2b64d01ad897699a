//! The manifest recorded with every snapshot: each file's path, size and
//! SHA-256, and each database dump's hash with the row count of every
//! table. It travels inside the snapshot (in the service's dump folder),
//! so a drill or a restore can tell exactly what should have come back.

use super::{Result, fail, io};
use compile::plan::{ServicePlan, is_normal_absolute};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The file name of the manifest inside the dump folder.
pub(crate) const FILE_NAME: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub service: String,
    pub host: String,
    /// When the capture was taken (RFC 3339).
    pub captured: String,
    /// Every file, by its host path.
    pub files: Vec<FileEntry>,
    pub dumps: Vec<DumpEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpEntry {
    pub database: String,
    /// The dump's host path (`pg_dump -Fc` format).
    pub path: String,
    pub sha256: String,
    /// `schema.table` → rows, counted in the same transaction snapshot the
    /// dump was taken from (the service is stopped).
    pub tables: BTreeMap<String, u64>,
}

/// SHA-256 of a file, read in large blocks.
pub(crate) fn hash_file(path: &Path) -> std::io::Result<String> {
    hash_with(path, &mut vec![0u8; BLOCK])
}

/// Read size for hashing; one buffer per thread, reused for every file
/// (a fresh buffer per file costs more than hashing a small one).
const BLOCK: usize = 1 << 20;

fn hash_with(path: &Path, buf: &mut [u8]) -> std::io::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    // Never through a link: the walk records links, it does not follow them.
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let mut hasher = Sha256::new();
    loop {
        let n = file.read(buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every regular file below `dir` as a manifest entry; `dir` sits at
/// `host_dir` on the host, which is the path recorded. A symlink is
/// recorded by its target text. Files are hashed on every core: on a
/// drill, hashing is the whole cost of verification.
pub fn scan(dir: &Path, host_dir: &str) -> Result<Vec<FileEntry>> {
    let mut out = Vec::new();
    let mut to_hash = Vec::new();
    if dir.exists() {
        walk(dir, dir, host_dir, &mut out, &mut to_hash)?;
    }
    hash_all(&mut out, &to_hash)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk(
    base: &Path,
    dir: &Path,
    host_dir: &str,
    out: &mut Vec<FileEntry>,
    to_hash: &mut Vec<(usize, PathBuf)>,
) -> Result<()> {
    let entries = io(format!("reading {}", dir.display()), fs::read_dir(dir))?;
    for entry in entries {
        let entry = io(format!("reading {}", dir.display()), entry)?;
        let path = entry.path();
        let kind = io(format!("reading {}", path.display()), entry.file_type())?;
        let rel = path.strip_prefix(base).expect("below base");
        let host = format!("{}/{}", host_dir.trim_end_matches('/'), rel.display());
        if kind.is_dir() {
            walk(base, &path, host_dir, out, to_hash)?;
        } else if kind.is_symlink() {
            let target = io("reading a link", fs::read_link(&path))?;
            let text = target.display().to_string();
            out.push(FileEntry {
                path: host,
                size: text.len() as u64,
                sha256: format!("link:{text}"),
            });
        } else if kind.is_file() {
            let size = io("reading a size", entry.metadata())?.len();
            to_hash.push((out.len(), path));
            out.push(FileEntry {
                path: host,
                size,
                sha256: String::new(),
            });
        }
    }
    Ok(())
}

/// Hashes `to_hash` (index into `out`, file) on all cores.
fn hash_all(out: &mut [FileEntry], to_hash: &[(usize, PathBuf)]) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let results: Vec<Vec<(usize, std::io::Result<String>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    let mut buf = vec![0u8; BLOCK];
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((slot, path)) = to_hash.get(i) else {
                            break;
                        };
                        mine.push((*slot, hash_with(path, &mut buf)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a hashing thread does not panic"))
            .collect()
    });
    for (slot, hash) in results.into_iter().flatten() {
        out[slot].sha256 = io(format!("hashing {}", out[slot].path), hash)?;
    }
    Ok(())
}

/// Compares a restored tree with the manifest. `locate` maps a host path
/// to where the restored copy is. Returns one line per difference.
pub fn verify(expected: &[FileEntry], found: &[FileEntry]) -> Vec<String> {
    let by_path: BTreeMap<&str, &FileEntry> = found.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut problems = Vec::new();
    for e in expected {
        match by_path.get(e.path.as_str()) {
            None => problems.push(format!("{}: missing from the restored copy", e.path)),
            Some(f) if f.size != e.size => problems.push(format!(
                "{}: {} bytes restored, the manifest says {}",
                e.path, f.size, e.size
            )),
            Some(f) if f.sha256 != e.sha256 => problems.push(format!(
                "{}: content differs from the manifest (sha256 {} restored, {} recorded)",
                e.path,
                short_hash(&f.sha256),
                short_hash(&e.sha256)
            )),
            Some(_) => {}
        }
    }
    let recorded: std::collections::BTreeSet<&str> =
        expected.iter().map(|e| e.path.as_str()).collect();
    for f in found {
        if !recorded.contains(f.path.as_str()) {
            problems.push(format!("{}: restored but not in the manifest", f.path));
        }
    }
    problems
}

/// The first 12 characters of a hash for a message, never cut inside a
/// character (a forged `link:` entry may hold any text).
pub(crate) fn short_hash(hash: &str) -> String {
    hash.chars()
        .take(12)
        .collect::<String>()
        .escape_debug()
        .to_string()
}

pub fn write(manifest: &Manifest, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(manifest).expect("plain data");
    io(
        format!("writing {}", path.display()),
        crate::fs_guard::write_file(path, text.as_bytes()),
    )
}

/// A manifest larger than this is not one `backup run` wrote: tens of
/// thousands of files take a few megabytes.
const MAX_BYTES: u64 = 256 << 20;

/// Reads the manifest a snapshot carries and checks it against the plan.
/// The manifest came back from a repository, which is shared, restored on
/// other machines and may be tampered with: it may only *describe* the
/// service's own files and dump, never point elsewhere.
pub fn read(path: &Path, service: &ServicePlan) -> Result<Manifest> {
    let unreadable = |e: &dyn std::fmt::Display| {
        fail(format!(
            "the snapshot holds no readable manifest at {}: {e}",
            path.display()
        ))
    };
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return unreadable(&e),
    };
    let mut text = String::new();
    if let Err(e) = file.take(MAX_BYTES + 1).read_to_string(&mut text) {
        return unreadable(&e);
    }
    if text.len() as u64 > MAX_BYTES {
        return fail(format!(
            "the manifest {} is larger than {} MiB: not one homelab wrote",
            path.display(),
            MAX_BYTES >> 20
        ));
    }
    parse(&text, service)
        .or_else(|e| fail(format!("the manifest {} is damaged: {e}", path.display())))
}

/// Parses a manifest and checks every field against the service's plan.
pub fn parse(text: &str, service: &ServicePlan) -> std::result::Result<Manifest, String> {
    let m: Manifest = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if m.service != service.name {
        return Err(format!(
            "it describes `{}`, not `{}`",
            m.service.escape_debug(),
            service.name
        ));
    }
    if m.captured.parse::<jiff::Timestamp>().is_err() {
        return Err(format!("`{}` is not a time", m.captured.escape_debug()));
    }
    let roots: Vec<&str> = service
        .paths
        .iter()
        .filter(|p| p.backed_up)
        .map(|p| p.path.as_str())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for f in &m.files {
        let inside = is_normal_absolute(&f.path)
            && roots.iter().any(|r| {
                f.path
                    .strip_prefix(r)
                    .is_some_and(|rest| rest.starts_with('/'))
            });
        if !inside {
            return Err(format!(
                "it lists `{}`, outside the service's paths",
                f.path.escape_debug()
            ));
        }
        if !seen.insert(f.path.as_str()) {
            return Err(format!("it lists `{}` twice", f.path.escape_debug()));
        }
        if !is_sha256(&f.sha256) && !is_link(&f.sha256) {
            return Err(format!("`{}` has no SHA-256 hash", f.path.escape_debug()));
        }
    }
    dumps(&m, service)?;
    Ok(m)
}

/// A dump may only be the plan's database, at the plan's dump path: its
/// name is where the drill and the restore load it.
fn dumps(m: &Manifest, service: &ServicePlan) -> std::result::Result<(), String> {
    for d in &m.dumps {
        let Some(db) = service.database.as_ref().filter(|db| db.name == d.database) else {
            return Err(format!(
                "it holds a dump of `{}`, a database the plan does not give `{}`",
                d.database.escape_debug(),
                service.name
            ));
        };
        let path = format!(
            "{}/{}.dump",
            service.dump_dir.trim_end_matches('/'),
            db.name
        );
        if d.path != path {
            return Err(format!(
                "the dump of `{}` is at `{}`, not {path}",
                db.name,
                d.path.escape_debug()
            ));
        }
        if !is_sha256(&d.sha256) {
            return Err(format!("the dump of `{}` has no SHA-256 hash", db.name));
        }
        if d.tables
            .keys()
            .any(|t| t.len() > 1024 || t.chars().any(char::is_control))
        {
            return Err(format!("the dump of `{}` names a table oddly", db.name));
        }
    }
    if m.dumps.len() > 1 {
        return Err("it holds more than one dump".into());
    }
    Ok(())
}

/// 64 lowercase hexadecimal digits.
pub(crate) fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A symlink recorded by its target text (see [`scan`]).
fn is_link(s: &str) -> bool {
    s.strip_prefix("link:")
        .is_some_and(|t| !t.is_empty() && t.len() <= 4096 && !t.contains('\0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64, sha: &str) -> FileEntry {
        FileEntry {
            path: path.into(),
            size,
            sha256: sha.into(),
        }
    }

    #[test]
    fn verify_names_missing_resized_changed_and_extra_files() {
        let expected = [
            entry("/d/same", 1, "aa"),
            entry("/d/gone", 1, "bb"),
            entry("/d/grown", 1, "cc"),
            entry("/d/changed", 1, "dd"),
        ];
        let found = [
            entry("/d/same", 1, "aa"),
            entry("/d/grown", 2, "cc"),
            entry("/d/changed", 1, "ee"),
            entry("/d/extra", 1, "ff"),
        ];
        assert_eq!(
            verify(&expected, &found),
            [
                "/d/gone: missing from the restored copy",
                "/d/grown: 2 bytes restored, the manifest says 1",
                "/d/changed: content differs from the manifest (sha256 ee restored, dd recorded)",
                "/d/extra: restored but not in the manifest",
            ]
        );
        assert!(verify(&expected, &expected).is_empty());
    }

    #[test]
    fn differences_in_link_text_are_named_whatever_its_characters() {
        let expected = [entry("/d/l", 1, "link:ééééééééé")];
        let found = [entry("/d/l", 1, "link:üüüüüüüü")];
        assert_eq!(
            verify(&expected, &found),
            [
                "/d/l: content differs from the manifest (sha256 link:üüüüüüü restored, link:ééééééé recorded)"
            ]
        );
    }

    #[test]
    fn scan_records_host_paths_sizes_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/x"), b"abc").unwrap();
        std::os::unix::fs::symlink("b/x", dir.path().join("a/link")).unwrap();
        let files = scan(dir.path(), "/var/lib/s").unwrap();
        assert_eq!(
            files,
            [
                entry(
                    "/var/lib/s/a/b/x",
                    3,
                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
                ),
                entry("/var/lib/s/a/link", 3, "link:b/x"),
            ]
        );
    }
}
