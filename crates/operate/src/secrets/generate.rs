//! Machine-made secrets: random strings with the length and alphabet the
//! catalog gives, SSH ed25519 key pairs (made by the real `ssh-keygen`),
//! and Argon2id hashes of another secret for services that keep only the
//! hash. A secret that has a file is never made again unless asked by
//! name (`--regenerate`); a secret derived from a regenerated one is made
//! again with it, so the pair never disagrees.

use super::age_file::{self, Plaintext};
use super::{Error, Identity, Store, Wanted};
use crate::runner::{Cmd, Runner};
use compile::catalog::{Alphabet, Generator};
use rand::Rng;
use rand::rngs::OsRng;
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// `length` characters drawn uniformly from `alphabet` with the
/// operating system's random source.
pub fn random(length: u16, alphabet: Alphabet) -> Plaintext {
    let chars = alphabet.chars();
    let mut rng = OsRng;
    Zeroizing::new(
        (0..length)
            .map(|_| chars[rng.gen_range(0..chars.len())])
            .collect(),
    )
}

/// `template` with `@value@` replaced by the value; the value alone
/// without a template. The value is ASCII from the alphabet.
pub fn templated(value: Plaintext, template: Option<&str>) -> Plaintext {
    let Some(template) = template else {
        return value;
    };
    let text = std::str::from_utf8(&value).expect("random values are ASCII");
    Zeroizing::new(template.replace("@value@", text).into_bytes())
}

/// A fresh OpenSSH ed25519 key pair from `ssh-keygen`, made in a private
/// temporary folder that is removed before this returns.
pub(crate) fn ssh_key_pair(
    runner: &dyn Runner,
    comment: &str,
) -> Result<(Plaintext, String), Error> {
    let dir = tempfile::Builder::new()
        .prefix("homelab-key-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map_err(Error::io(
            "create a temporary folder in",
            std::env::temp_dir(),
        ))?;
    let key = dir.path().join("key");
    let cmd = Cmd::new("ssh-keygen").args([
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        comment,
        "-f",
        &key.display().to_string(),
    ]);
    let out = runner
        .run(&cmd)
        .map_err(|e| Error::Refused(format!("cannot run ssh-keygen (OpenSSH client): {e}")))?;
    if !out.status.success() {
        return Err(Error::Refused(format!(
            "ssh-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let private = Zeroizing::new(std::fs::read(&key).map_err(Error::io("read", &key))?);
    let public = std::fs::read_to_string(key.with_extension("pub"))
        .map_err(Error::io("read", key.with_extension("pub")))?;
    Ok((private, public.trim().to_string()))
}

/// The Argon2id PHC string of `password`, with a random salt and the
/// library's default cost (the OWASP recommendation: 19 MiB, 2 passes).
pub(crate) fn argon2_phc(password: &[u8]) -> Result<Plaintext, Error> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2::Argon2::default()
        .hash_password(password, &salt)
        .map_err(|e| Error::Refused(format!("cannot hash: {e}")))?;
    Ok(Zeroizing::new(hash.to_string().into_bytes()))
}

/// One secret made by [`generate`].
#[derive(Debug, Clone)]
pub struct Made {
    pub name: String,
    /// The spec key that must hold the public half, and the public key.
    pub public_key: Option<(String, String)>,
}

/// What to make: the named secrets (all machine-made ones when none is
/// named), those `regenerate` names even when they exist, and whatever is
/// derived from a regenerated one.
pub struct Request<'a> {
    pub names: &'a [String],
    pub regenerate: &'a [String],
}

/// Makes every requested machine-made secret that has no file (or is to
/// be regenerated), encrypts it to its readers and writes it. Sources are
/// made before what is derived from them; a derived secret whose source
/// already exists decrypts it with `identity`.
pub fn generate(
    store: &Store,
    all: &[Wanted],
    request: &Request,
    identity: impl Fn() -> Result<Identity, Error>,
    runner: &dyn Runner,
) -> Result<Vec<Made>, Error> {
    for name in request.names.iter().chain(request.regenerate) {
        let w = super::wanted::find(all, name)?;
        if w.generator.is_none() {
            return Err(Error::Refused(format!(
                "`{name}` is not machine-made ({}); set it with `homelab secrets set {name}`",
                w.description
            )));
        }
    }
    let mut fresh: BTreeMap<String, Plaintext> = BTreeMap::new();
    let mut made = Vec::new();
    let mut identity_cache: Option<Identity> = None;
    // Sources (random, SSH keys) first, then what derives from them.
    let mut order: Vec<&Wanted> = all.iter().filter(|w| w.generator.is_some()).collect();
    order.sort_by_key(|w| w.generator.as_ref().and_then(Generator::source).is_some());
    for w in order {
        let forced = request.regenerate.contains(&w.name)
            || w.generator
                .as_ref()
                .and_then(Generator::source)
                .is_some_and(|from| request.regenerate.iter().any(|r| r == from));
        let asked = request.names.is_empty() && request.regenerate.is_empty()
            || request.names.contains(&w.name)
            || forced;
        if !asked || (store.read(&w.name)?.is_some() && !forced) {
            continue;
        }
        let generator = w.generator.as_ref().expect("filtered on generator");
        // Made from a secret the admin sets (the SMTP password), it waits
        // for that one when everything is generated; named, the error
        // below says what to set first.
        let everything = request.names.is_empty() && request.regenerate.is_empty();
        if let Some(from) = generator.source()
            && everything
            && !fresh.contains_key(from)
            && store.read(from)?.is_none()
        {
            continue;
        }
        let (value, public_key) = match generator {
            Generator::Random {
                length,
                alphabet,
                template,
            } => (
                templated(random(*length, *alphabet), template.as_deref()),
                None,
            ),
            Generator::SshKey { public_key } => {
                let (private, public) = ssh_key_pair(runner, &w.name)?;
                (private, public_key.clone().map(|p| (p, public)))
            }
            Generator::Argon2 { from, template } => {
                let source = match fresh.get(from) {
                    Some(v) => v.clone(),
                    None => source_value(store, from, &identity, &mut identity_cache)?,
                };
                let hash = argon2_phc(&source)?;
                let hash = std::str::from_utf8(&hash).expect("PHC strings are ASCII");
                (
                    Zeroizing::new(template.replace("@hash@", hash).into_bytes()),
                    None,
                )
            }
            Generator::Copy { from, template } => {
                let source = match fresh.get(from) {
                    Some(v) => v.clone(),
                    None => source_value(store, from, &identity, &mut identity_cache)?,
                };
                let text = std::str::from_utf8(&source)
                    .map_err(|_| Error::Refused(format!("`{from}` is not text")))?;
                (
                    Zeroizing::new(template.replace("@value@", text.trim_end()).into_bytes()),
                    None,
                )
            }
        };
        let ciphertext = age_file::encrypt(&w.name, &w.keys(), &value)?;
        store.write(&w.name, &ciphertext)?;
        fresh.insert(w.name.clone(), value);
        made.push(Made {
            name: w.name.clone(),
            public_key,
        });
    }
    Ok(made)
}

/// The value of an existing secret a derived one is made from.
fn source_value(
    store: &Store,
    name: &str,
    identity: &impl Fn() -> Result<Identity, Error>,
    cache: &mut Option<Identity>,
) -> Result<Plaintext, Error> {
    let Some(bytes) = store.read(name)? else {
        return Err(Error::Refused(format!(
            "{} is missing; make it first (`homelab secrets generate {name}` or `homelab secrets set {name}`)",
            Store::shown(name)
        )));
    };
    if cache.is_none() {
        *cache = Some(identity()?);
    }
    let id = cache.as_ref().expect("just loaded");
    age_file::decrypt(&Store::shown(name), &bytes, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_have_the_length_and_alphabet_asked() {
        let v = random(64, Alphabet::Hex);
        assert_eq!(v.len(), 64);
        assert!(v.iter().all(|c| b"0123456789abcdef".contains(c)));
        assert_ne!(
            *random(32, Alphabet::Alphanumeric),
            *random(32, Alphabet::Alphanumeric)
        );
    }

    #[test]
    fn a_template_holds_the_value_once() {
        let v = templated(random(20, Alphabet::Alphanumeric), Some("KEY=@value@\n"));
        let text = String::from_utf8(v.to_vec()).unwrap();
        let value = text
            .strip_prefix("KEY=")
            .unwrap()
            .strip_suffix('\n')
            .unwrap();
        assert_eq!(value.len(), 20);
        assert!(value.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(*templated(Zeroizing::new(b"abc".to_vec()), None), *b"abc");
    }

    #[test]
    fn argon2_hashes_verify_against_the_password() {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let phc = argon2_phc(b"hunter2").unwrap();
        let phc = std::str::from_utf8(&phc).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        let parsed = PasswordHash::new(phc).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(b"hunter2", &parsed)
                .is_ok()
        );
        assert!(
            argon2::Argon2::default()
                .verify_password(b"hunter3", &parsed)
                .is_err()
        );
    }
}
