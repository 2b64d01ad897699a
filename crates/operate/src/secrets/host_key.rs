//! A host's SSH ed25519 public key, the recipient agenix decrypts with on
//! the host: read from a `.pub` file, asked of the running host with
//! `ssh-keyscan`, or made before the host is installed — then the private
//! half is kept encrypted to the admin keys in `secrets/host-keys/`, for
//! the installer to place at `/etc/ssh/ssh_host_ed25519_key`.

use super::store::HOST_KEYS;
use super::{Error, Store, age_file, generate};
use crate::runner::{Cmd, Runner};
use compile::spec::parse_ssh_key;
use std::path::Path;

/// The key line `ssh-ed25519 AAAA…` (comment dropped), if `line` is a
/// well-formed ed25519 public key.
fn ed25519(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let kind = words.next()?;
    let blob = words.next()?;
    let key = format!("{kind} {blob}");
    (kind == "ssh-ed25519" && parse_ssh_key(&key).is_some()).then_some(key)
}

/// The public key in a `.pub` file.
pub fn from_file(path: &Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
    text.lines().find_map(ed25519).ok_or_else(|| {
        Error::Refused(format!(
            "{} holds no ssh-ed25519 public key (a host's is /etc/ssh/ssh_host_ed25519_key.pub)",
            path.display()
        ))
    })
}

/// Asks the running host for its ed25519 host key with `ssh-keyscan`.
/// Trust on first use: the caller shows the key so the user can compare
/// it with the host's console.
pub fn scan(runner: &dyn Runner, address: &str, port: Option<u16>) -> Result<String, Error> {
    let mut cmd = Cmd::new("ssh-keyscan").args(["-T", "10", "-t", "ed25519"]);
    if let Some(p) = port {
        cmd = cmd.args(["-p".to_string(), p.to_string()]);
    }
    let cmd = cmd.arg(address);
    let out = runner
        .run(&cmd)
        .map_err(|e| Error::Refused(format!("cannot run ssh-keyscan (OpenSSH client): {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| ed25519(l.split_once(' ').map_or("", |(_, rest)| rest)))
        .ok_or_else(|| {
            Error::Refused(format!(
                "{address} did not answer with an ed25519 host key ({}); is sshd running there? Or give the key with --key FILE",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        })
}

/// The secret holding the private half of a key made before install:
/// `host-keys/<host>`.
pub fn key_name(host: &str) -> String {
    format!("{HOST_KEYS}/{host}")
}

/// Makes the host's key pair now; the private half is encrypted to the
/// admin keys as `secrets/host-keys/<host>.age`. Refuses to replace a key
/// made before (the host may already be installed with it).
pub fn generate_for(
    store: &Store,
    runner: &dyn Runner,
    host: &str,
    admin_keys: &[String],
) -> Result<String, Error> {
    let name = key_name(host);
    if store.read(&name)?.is_some() {
        return Err(Error::Refused(format!(
            "{} already exists: the host's key was made before; record it with --key, or delete the file to make a new one",
            Store::shown(&name)
        )));
    }
    let (private, public) = generate::ssh_key_pair(runner, &format!("root@{host}"))?;
    let ciphertext = age_file::encrypt(&name, admin_keys, &private)?;
    store.write(&name, &ciphertext)?;
    ed25519(&public).ok_or_else(|| Error::Refused("ssh-keygen wrote no ed25519 key".into()))
}
