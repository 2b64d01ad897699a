//! The folder of `.age` files next to the flake (`<flake>/secrets`), as
//! agenix expects it: one `<name>.age` per secret beside `secrets.nix`.
//!
//! It is guarded as `homelab build` guards the flake folder, with the same
//! code ([`crate::fs_guard`]). Writes are atomic (a new temporary file,
//! then a rename), so a failure never leaves half a file; nothing is
//! written through a symlink — the flake folder, `secrets/`,
//! `secrets/host-keys/` or the `.age` file itself — nor over a folder,
//! FIFO, socket or device: [`Store::check_writable`] names such a path
//! before anything is written. Reads follow a symlinked `.age` file (the
//! user's to keep), but open only a regular file, without blocking, and
//! no larger than any secret file is.

use super::Error;
use crate::fs_guard::{self, AtLink, Type};
use std::path::{Path, PathBuf};

/// The subfolder for SSH host keys made before a host is installed.
pub(crate) const HOST_KEYS: &str = "host-keys";

/// The largest secret file read: far above any value agenix holds.
const MAX_FILE: u64 = 64 << 20;

pub struct Store {
    pub dir: PathBuf,
}

impl Store {
    /// The store of the flake at `flake`.
    pub fn of_flake(flake: &Path) -> Store {
        Store {
            dir: flake.join("secrets"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.age"))
    }

    /// How messages name the file: `secrets/<name>.age`.
    pub fn shown(name: &str) -> String {
        format!("secrets/{name}.age")
    }

    /// The folders a write of `name` goes through, outermost first: the
    /// flake folder, `secrets/`, and `host-keys/` for a host key.
    fn folders(&self, name: &str) -> Vec<PathBuf> {
        let flake = self
            .dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut folders = vec![flake.to_path_buf(), self.dir.clone()];
        let file = self.path(name);
        let inner: Vec<&Path> = file
            .ancestors()
            .skip(1)
            .take_while(|a| *a != self.dir)
            .collect();
        folders.extend(inner.into_iter().rev().map(Path::to_path_buf));
        folders
    }

    /// The file's bytes, or `None` when there is no file.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        let path = self.path(name);
        let read = fs_guard::open_file_or_link(&path)
            .and_then(|mut f| fs_guard::read_at_most(&mut f, MAX_FILE));
        match read {
            Ok(Some(bytes)) => Ok(Some(bytes)),
            Ok(None) => Err(Error::Refused(format!(
                "{} is larger than {} MiB, which no secret file is; remove it, then {}",
                Store::shown(name),
                MAX_FILE >> 20,
                again(name)
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => match fs_guard::not_a_file(&e) {
                Some(t) => Err(Error::Refused(format!(
                    "{} is {}, not a file; remove it, then {}",
                    Store::shown(name),
                    t.name(),
                    again(name)
                ))),
                None => Err(Error::Io {
                    action: "read",
                    path,
                    source: e,
                }),
            },
        }
    }

    /// Refuses, before anything is written, what [`Store::write`] would
    /// not write through or over: a folder on the way that is a symlink or
    /// not a folder, a `.age` file that is a symlink or not a regular file.
    pub fn check_writable(&self, name: &str) -> Result<(), Error> {
        for dir in self.folders(name) {
            match fs_guard::type_of(&dir).map_err(Error::io("inspect", &dir))? {
                None | Some(Type::Dir) => {}
                Some(Type::Symlink) => {
                    return Err(Error::Refused(format!(
                        "{} is a symlink; homelab never writes through a link (nor does `homelab build`): replace it with the real folder, or name the real flake folder with --flake; nothing was written",
                        dir.display()
                    )));
                }
                Some(t) => {
                    return Err(Error::Refused(format!(
                        "{} is {}, not a folder; nothing was written",
                        dir.display(),
                        t.name()
                    )));
                }
            }
        }
        let path = self.path(name);
        match fs_guard::type_of(&path).map_err(Error::io("inspect", &path))? {
            None | Some(Type::File) => Ok(()),
            Some(Type::Symlink) => Err(Error::Refused(format!(
                "{} is a symlink; homelab replaces a secret file and never writes through a link: put the file itself there (the link's target is left as it is); nothing was written",
                Store::shown(name)
            ))),
            Some(t) => Err(Error::Refused(format!(
                "{} is {}, not a file; remove it, then run the command again; nothing was written",
                Store::shown(name),
                t.name()
            ))),
        }
    }

    /// Writes an encrypted file atomically, creating the folders it needs
    /// (never through a link).
    pub fn write(&self, name: &str, ciphertext: &[u8]) -> Result<(), Error> {
        self.check_writable(name)?;
        let folders = self.folders(name);
        // The flake folder's own parents are the user's path: created as
        // `homelab build` creates them.
        std::fs::create_dir_all(&folders[0]).map_err(Error::io("create", &folders[0]))?;
        for dir in &folders[1..] {
            match std::fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("create", dir)(e)),
            }
        }
        // Again, now that the folders exist: nothing swapped in meanwhile.
        self.check_writable(name)?;
        let path = self.path(name);
        fs_guard::replace(&path, ciphertext, AtLink::Refuse).map_err(Error::io("write", &path))
    }
}

/// How to make the secret `name` again.
fn again(name: &str) -> String {
    if name.starts_with(HOST_KEYS) {
        "make the host key again with `homelab secrets add-host HOST --generate`".into()
    } else {
        format!(
            "make the secret again with `homelab secrets set {name}` (or `generate` for a machine-made one)"
        )
    }
}
