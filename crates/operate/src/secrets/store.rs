//! The folder of `.age` files next to the flake (`<flake>/secrets`), as
//! agenix expects it: one `<name>.age` per secret beside `secrets.nix`.
//! Writes are atomic (temporary file, then rename), so a failure never
//! leaves half a file.

use super::Error;
use std::path::{Path, PathBuf};

/// The subfolder for SSH host keys made before a host is installed.
pub(crate) const HOST_KEYS: &str = "host-keys";

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

    /// The file's bytes, or `None` when there is no file.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        let path = self.path(name);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Io {
                action: "read",
                path,
                source: e,
            }),
        }
    }

    /// Writes an encrypted file atomically, creating the folder if needed.
    pub fn write(&self, name: &str, ciphertext: &[u8]) -> Result<(), Error> {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
        }
        crate::fs_guard::write_file(&path, ciphertext).map_err(Error::io("write", &path))
    }
}
