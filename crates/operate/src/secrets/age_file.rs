//! Encrypting and decrypting one agenix file with the `age` library: to
//! SSH ed25519 keys (what agenix decrypts with on the host) and native age
//! X25519 recipients; binary output as `agenix -e` writes, armored input
//! accepted as `age -a` writes it.

use super::Error;
use super::identity::Identity;
use std::io::{Read, Write};
use std::str::FromStr;
use zeroize::Zeroizing;

/// A secret value in memory, wiped when dropped.
pub type Plaintext = Zeroizing<Vec<u8>>;

/// One public key a file can be encrypted to, parsed.
fn recipient(key: &str) -> Result<Box<dyn age::Recipient + Send>, Error> {
    let bad = |reason: String| Error::BadRecipient {
        key: key.split_whitespace().take(2).collect::<Vec<_>>().join(" "),
        reason,
    };
    if key.starts_with("age1") {
        return age::x25519::Recipient::from_str(key.trim())
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|e| bad(e.to_string()));
    }
    match age::ssh::Recipient::from_str(key.trim()) {
        Ok(r) => Ok(Box::new(r)),
        Err(age::ssh::ParseRecipientKeyError::Unsupported(kind)) => Err(bad(format!(
            "{kind} keys are not supported; use ssh-ed25519"
        ))),
        Err(_) => Err(bad("not an SSH or age public key".into())),
    }
}

/// Encrypts `plaintext` to every key in `keys` (SSH public key lines or
/// `age1…` recipients), in agenix's binary format.
pub fn encrypt(name: &str, keys: &[String], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
    if keys.is_empty() {
        return Err(Error::NoRecipients { name: name.into() });
    }
    let recipients = keys
        .iter()
        .map(|k| recipient(k))
        .collect::<Result<Vec<_>, _>>()?;
    let encryptor = age::Encryptor::with_recipients(
        recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient),
    )
    .map_err(|e| Error::Refused(format!("cannot encrypt `{name}`: {e}")))?;
    let mut out = Vec::new();
    let written = encryptor.wrap_output(&mut out).and_then(|mut w| {
        w.write_all(plaintext)?;
        w.finish()
    });
    written.map_err(|e| Error::Refused(format!("cannot encrypt `{name}`: {e}")))?;
    Ok(out)
}

/// Decrypts the age file `bytes` (shown as `file` in messages) with
/// `identity`. A file not encrypted to it is one clear error, not a stack
/// of age errors.
pub fn decrypt(file: &str, bytes: &[u8], identity: &Identity) -> Result<Plaintext, Error> {
    if crate::secret_files::stanzas(bytes).is_none() {
        return Err(Error::NotAge { file: file.into() });
    }
    let reader = age::armor::ArmoredReader::new(bytes);
    let decryptor = age::Decryptor::new(reader).map_err(|e| Error::Corrupt {
        file: file.into(),
        reason: e.to_string(),
    })?;
    let mut stream = match decryptor.decrypt(identity.as_age()) {
        Ok(s) => s,
        Err(age::DecryptError::NoMatchingKeys) => {
            return Err(Error::WrongIdentity {
                file: file.into(),
                identity: identity.path.clone(),
                fingerprint: identity.describe(),
            });
        }
        Err(age::DecryptError::KeyDecryptionFailed) => {
            return Err(Error::BadIdentity {
                path: identity.path.clone(),
                reason: "its passphrase was not given or is wrong".into(),
            });
        }
        Err(e) => {
            return Err(Error::Corrupt {
                file: file.into(),
                reason: e.to_string(),
            });
        }
    };
    let mut out = Zeroizing::new(Vec::new());
    stream.read_to_end(&mut out).map_err(|e| Error::Corrupt {
        file: file.into(),
        reason: e.to_string(),
    })?;
    Ok(out)
}

/// The recipient stanzas of an age file that name a key: `(kind, tag)`
/// for `ssh-ed25519` and `ssh-rsa`; `X25519` stanzas carry no key
/// identifier and come back as `("X25519", "")`. Grease stanzas (random
/// ones age adds so parsers stay tolerant) are left out.
pub(crate) fn recipient_stanzas(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    let stanzas = crate::secret_files::stanzas(bytes)?;
    Some(
        stanzas
            .into_iter()
            .filter_map(|s| {
                let kind = s.first()?.clone();
                match kind.as_str() {
                    "ssh-ed25519" | "ssh-rsa" => {
                        Some((kind, s.get(1).cloned().unwrap_or_default()))
                    }
                    "X25519" | "scrypt" => Some((kind, String::new())),
                    k if k.ends_with("-grease") => None,
                    _ => Some((kind, String::new())),
                }
            })
            .collect(),
    )
}
