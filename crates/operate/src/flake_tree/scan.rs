//! What the output folder holds before a build: every entry by relative
//! path and type, without following a symlink, and for generated files
//! whether they are intact. No file is held in memory; anything but a
//! regular file, a folder or a symlink stops the build before any of it
//! is opened.

use super::{WriteError, guard, io_err};
use crate::fs_guard::Type;
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// One entry of the output folder.
pub enum Kind {
    /// A folder, with its permission bits.
    Dir { mode: u32 },
    /// A symlink: kept as a link, never read or written through.
    Symlink,
    /// A generated file, and whether its body still matches its header.
    Generated { intact: bool },
    /// Any other regular file (user files, secrets, `flake.lock`, `.git`):
    /// copied.
    Kept,
}

pub(crate) struct Existing {
    /// Entries in walk order: a folder before what it holds.
    pub entries: Vec<(PathBuf, Kind)>,
    index: HashMap<PathBuf, usize>,
    /// Mode of the output folder itself, when it exists.
    pub(crate) root_mode: Option<u32>,
}

impl Existing {
    pub fn contains(&self, rel: &Path) -> bool {
        self.index.contains_key(rel)
    }

    pub(crate) fn kind(&self, rel: &Path) -> Option<&Kind> {
        self.index.get(rel).map(|&i| &self.entries[i].1)
    }

    /// Every generated file, and whether it is intact.
    pub fn generated(&self) -> impl Iterator<Item = (&PathBuf, bool)> {
        self.entries.iter().filter_map(|(p, k)| match k {
            Kind::Generated { intact } => Some((p, *intact)),
            _ => None,
        })
    }

    /// Whether writing `rel` would go through a symlink: one of its folders
    /// is a link, or it is one itself (which a user-owned file may be: the
    /// user's file is then the link, and it is kept).
    pub(crate) fn through_link(&self, rel: &Path, user_owned: bool) -> bool {
        let is_link = |p: &Path| matches!(self.kind(p), Some(Kind::Symlink));
        rel.ancestors()
            .skip(1)
            .any(|a| !a.as_os_str().is_empty() && is_link(a))
            || (!user_owned && is_link(rel))
    }
}

/// Everything under `out` (nothing when it does not exist). A FIFO,
/// socket or device anywhere in it is refused, all of them named at once.
pub fn scan(out: &Path) -> Result<Existing, WriteError> {
    let mut existing = Existing {
        entries: Vec::new(),
        index: HashMap::new(),
        root_mode: None,
    };
    match fs::symlink_metadata(out) {
        Ok(m) if m.is_dir() => {
            existing.root_mode = Some(m.permissions().mode() & 0o7777);
            let mut special = Vec::new();
            walk(
                out,
                Path::new(""),
                false,
                &mut existing.entries,
                &mut special,
            )?;
            if !special.is_empty() {
                return Err(WriteError::Special(special));
            }
        }
        Ok(_) => {
            return Err(io_err(out)(std::io::Error::other(
                "exists and is not a folder",
            )));
        }
        Err(_) => {}
    }
    existing.index = existing
        .entries
        .iter()
        .enumerate()
        .map(|(i, (p, _))| (p.clone(), i))
        .collect();
    Ok(existing)
}

fn walk(
    root: &Path,
    rel: &Path,
    in_git: bool,
    found: &mut Vec<(PathBuf, Kind)>,
    special: &mut Vec<(PathBuf, &'static str)>,
) -> Result<(), WriteError> {
    let dir = root.join(rel);
    let mut names: Vec<_> = fs::read_dir(&dir)
        .map_err(io_err(&dir))?
        .collect::<Result<_, _>>()
        .map_err(io_err(&dir))?;
    names.sort_by_key(fs::DirEntry::file_name);
    for entry in names {
        let name = entry.file_name();
        let rel = rel.join(&name);
        let path = entry.path();
        // `file_type` does not follow a symlink, and opens nothing.
        match Type::of(entry.file_type().map_err(io_err(&path))?) {
            Type::Symlink => found.push((rel, Kind::Symlink)),
            Type::Dir => {
                let mode = entry
                    .metadata()
                    .map_err(io_err(&path))?
                    .permissions()
                    .mode()
                    & 0o7777;
                found.push((rel.clone(), Kind::Dir { mode }));
                walk(root, &rel, in_git || name == ".git", found, special)?;
            }
            Type::File if in_git => found.push((rel, Kind::Kept)),
            Type::File => match guard::generated(&path).map_err(io_err(&path))? {
                Some(intact) => found.push((rel, Kind::Generated { intact })),
                None => found.push((rel, Kind::Kept)),
            },
            Type::Special(what) => special.push((path, what)),
        }
    }
    Ok(())
}
