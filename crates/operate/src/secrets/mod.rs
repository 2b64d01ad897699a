//! `homelab secrets`: the agenix files next to the flake, made and kept
//! right without agenix by hand.
//!
//! Every secret the fleet uses is one `secrets/<name>.age` file in agenix
//! format, encrypted with the `age` library to the admin keys and the SSH
//! host keys of the hosts that decrypt it, so agenix on the host (and
//! `agenix -e` on the admin's machine) read the same files. This module
//! knows which files the fleet needs ([`wanted`]), what state each is in
//! ([`status`]), how to encrypt, decrypt and rekey them ([`age_file`],
//! [`identity`]), how to make the machine-made ones ([`generate`]), how to
//! let a person edit one without leaving it on disk ([`edit`]), and how to
//! record a host's key in the spec ([`host_key`], [`spec_edit`]).
//!
//! No function here prints, logs or returns a secret value inside an
//! error: values travel only as [`Plaintext`], which is wiped on drop.

pub mod age_file;
pub mod edit;
pub mod generate;
pub mod host_key;
pub mod identity;
pub mod prompt;
pub mod spec_edit;
pub mod status;
pub mod store;
pub mod wanted;

pub use age_file::Plaintext;
pub use identity::Identity;
pub use status::{State, Status};
pub use store::Store;
pub use wanted::Wanted;

use std::path::PathBuf;

/// Why a secrets operation could not be done. Messages name files and
/// keys, never a value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no identity to decrypt with: tried {tried}; pass --identity FILE or set HOMELAB_IDENTITY to an SSH ed25519 private key or an age identity file"
    )]
    NoIdentity { tried: String },
    #[error("{} is not a usable identity: {reason}", path.display())]
    BadIdentity { path: PathBuf, reason: String },
    #[error(
        "{file} is not encrypted to the identity {} ({fingerprint}); decrypt with a key it was encrypted to (--identity FILE), or re-create it with `homelab secrets set`",
        identity.display()
    )]
    WrongIdentity {
        file: String,
        identity: PathBuf,
        fingerprint: String,
    },
    #[error("{file} is not an age-encrypted file")]
    NotAge { file: String },
    #[error("{file} cannot be decrypted: {reason}")]
    Corrupt { file: String, reason: String },
    #[error("`{key}` is not a recipient homelab can encrypt to: {reason}")]
    BadRecipient { key: String, reason: String },
    #[error("secret `{name}` has no recipients: add `admin_keys` to [homelab]")]
    NoRecipients { name: String },
    #[error("{0}")]
    Refused(String),
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}
