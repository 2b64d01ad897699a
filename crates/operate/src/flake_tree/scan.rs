//! What the output folder holds before a build: every entry by relative
//! path, without following a symlink, and the text of generated files only.

use super::{WriteError, guard, io_err};
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
    /// A generated file and its text.
    Generated(String),
    /// Anything else (user files, secrets, `flake.lock`, `.git`): copied.
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

    fn kind(&self, rel: &Path) -> Option<&Kind> {
        self.index.get(rel).map(|&i| &self.entries[i].1)
    }

    pub(crate) fn generated_text(&self, rel: &Path) -> Option<&String> {
        match self.kind(rel)? {
            Kind::Generated(text) => Some(text),
            _ => None,
        }
    }

    pub fn generated(&self) -> impl Iterator<Item = (&PathBuf, &String)> {
        self.entries.iter().filter_map(|(p, k)| match k {
            Kind::Generated(text) => Some((p, text)),
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

/// Everything under `out` (nothing when it does not exist).
pub fn scan(out: &Path) -> Result<Existing, WriteError> {
    let mut existing = Existing {
        entries: Vec::new(),
        index: HashMap::new(),
        root_mode: None,
    };
    match fs::symlink_metadata(out) {
        Ok(m) if m.is_dir() => {
            existing.root_mode = Some(m.permissions().mode() & 0o7777);
            walk(out, Path::new(""), false, &mut existing.entries)?;
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
        // `file_type` does not follow a symlink.
        let kind = entry.file_type().map_err(io_err(&path))?;
        if kind.is_symlink() {
            found.push((rel, Kind::Symlink));
        } else if kind.is_dir() {
            let mode = entry
                .metadata()
                .map_err(io_err(&path))?
                .permissions()
                .mode()
                & 0o7777;
            found.push((rel.clone(), Kind::Dir { mode }));
            walk(root, &rel, in_git || name == ".git", found)?;
        } else if !in_git && kind.is_file() {
            match guard::read_if_generated(&path).map_err(io_err(&path))? {
                Some(text) => found.push((rel, Kind::Generated(text))),
                None => found.push((rel, Kind::Kept)),
            }
        } else {
            found.push((rel, Kind::Kept));
        }
    }
    Ok(())
}
