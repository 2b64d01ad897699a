//! The admin's identity: the private key that decrypts secrets on the
//! admin's machine. Found at `--identity FILE`, else `$HOMELAB_IDENTITY`,
//! else `~/.ssh/id_ed25519`. An OpenSSH ed25519 key (passphrase-protected
//! ones ask for the passphrase on the terminal) or an age identity file
//! (`AGE-SECRET-KEY-1…` lines, as `age-keygen` writes).

use super::Error;
use age::secrecy::SecretString;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// The environment variable naming the identity file.
pub(crate) const ENV: &str = "HOMELAB_IDENTITY";

/// A loaded identity and the file it came from.
pub struct Identity {
    pub path: PathBuf,
    kind: &'static str,
    identities: Vec<Box<dyn age::Identity>>,
}

impl Identity {
    pub(crate) fn as_age(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.identities.iter().map(|i| i.as_ref())
    }

    /// What kind of key it is, for messages.
    pub fn describe(&self) -> String {
        self.kind.to_string()
    }
}

/// Where the identity is: the flag, the environment, or the usual SSH key.
/// Every place tried is named when none has a file.
pub fn locate(flag: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(path) = flag {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os(ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let default = std::env::var_os("HOME").map(|h| Path::new(&h).join(".ssh/id_ed25519"));
    match default {
        Some(path) if path.is_file() => Ok(path),
        Some(path) => Err(Error::NoIdentity {
            tried: format!("--identity, ${ENV}, {}", path.display()),
        }),
        None => Err(Error::NoIdentity {
            tried: format!("--identity, ${ENV} ($HOME is not set)"),
        }),
    }
}

/// Reads the identity at `path`.
pub fn load(path: &Path) -> Result<Identity, Error> {
    let text = std::fs::read(path).map_err(Error::io("read the identity", path))?;
    let text = zeroize::Zeroizing::new(text);
    let bad = |reason: &str| Error::BadIdentity {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if text.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----") {
        let key = age::ssh::Identity::from_buffer(
            BufReader::new(&text[..]),
            Some(path.display().to_string()),
        )
        .map_err(|_| bad("not a readable OpenSSH private key"))?;
        let kind = match &key {
            age::ssh::Identity::Unencrypted(_) => "SSH key",
            age::ssh::Identity::Encrypted(_) => "passphrase-protected SSH key",
            age::ssh::Identity::Unsupported(_) => {
                return Err(bad(
                    "this kind of SSH key cannot decrypt age files; use an ed25519 key",
                ));
            }
        };
        return Ok(Identity {
            path: path.to_path_buf(),
            kind,
            identities: vec![Box::new(key.with_callbacks(Terminal))],
        });
    }
    if text.starts_with(b"-----BEGIN") {
        return Err(bad(
            "only OpenSSH ed25519 keys and age identity files are supported",
        ));
    }
    let file = age::IdentityFile::from_buffer(BufReader::new(&text[..]))
        .map_err(|_| bad("neither an OpenSSH private key nor an age identity file"))?;
    let identities = file.into_identities().map_err(|e| bad(&e.to_string()))?;
    if identities.is_empty() {
        return Err(bad("the file holds no identity"));
    }
    Ok(Identity {
        path: path.to_path_buf(),
        kind: "age identity",
        identities,
    })
}

/// Asks for the passphrase of an encrypted SSH key on the terminal.
#[derive(Clone, Copy)]
struct Terminal;

impl age::Callbacks for Terminal {
    fn display_message(&self, message: &str) {
        eprintln!("{message}");
    }

    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }

    fn request_public_string(&self, _: &str) -> Option<String> {
        None
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        super::prompt::hidden(&format!("{description}: ")).map(SecretString::from)
    }
}
