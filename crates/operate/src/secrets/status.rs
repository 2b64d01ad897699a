//! The state of each secret file: missing, not encrypted, encrypted to the
//! wrong keys, or right. Read from the age header alone; whether the admin
//! identity decrypts it is [`decryptable`]'s separate question.

use super::age_file::{self, recipient_stanzas};
use super::{Error, Identity, Store, Wanted};
use crate::secret_files::ssh_tag;

/// What is wrong with a file, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Missing,
    /// The file is not an age file: the value may be on disk in the clear.
    Plaintext,
    /// Encrypted, but not to the recipients the spec says.
    Stale {
        /// Readers the file is not encrypted to.
        missing: Vec<String>,
        /// Stanzas for keys the spec no longer lists (removed hosts, old
        /// admin keys, or X25519 recipients, which the spec never names).
        extra: usize,
    },
    Ok,
}

impl State {
    pub fn word(&self) -> &'static str {
        match self {
            State::Missing => "missing",
            State::Plaintext => "plaintext",
            State::Stale { .. } => "stale",
            State::Ok => "present",
        }
    }
}

/// One secret with the state of its file.
#[derive(Debug, Clone)]
pub struct Status {
    pub wanted: Wanted,
    pub state: State,
}

/// The state of the file for `w`.
pub fn status(store: &Store, w: &Wanted) -> Result<Status, Error> {
    let state = match store.read(&w.name)? {
        None => State::Missing,
        Some(bytes) => state_of(&bytes, w),
    };
    Ok(Status {
        wanted: w.clone(),
        state,
    })
}

/// Compares the recipient stanzas of `bytes` with the readers of `w`.
/// SSH stanzas carry a tag of their key; every stanza that matches no
/// reader counts as extra. The spec names only SSH keys, so an X25519
/// stanza is always a recipient the spec does not list.
pub(crate) fn state_of(bytes: &[u8], w: &Wanted) -> State {
    let Some(stanzas) = recipient_stanzas(bytes) else {
        return State::Plaintext;
    };
    let mut matched = vec![false; stanzas.len()];
    let mut missing = Vec::new();
    for r in &w.readers {
        let Some((kind, tag)) = ssh_tag(&r.key) else {
            missing.push(r.who.clone());
            continue;
        };
        match stanzas.iter().position(|s| s.0 == kind && s.1 == tag) {
            Some(i) => matched[i] = true,
            None => missing.push(r.who.clone()),
        }
    }
    let extra = matched.iter().filter(|m| !**m).count();
    if missing.is_empty() && extra == 0 {
        State::Ok
    } else {
        State::Stale { missing, extra }
    }
}

/// Which example key the project ships (the starter's admin key, an
/// example's) the file of `name` is encrypted to, if any: a file made
/// while the spec still held one, which nobody can decrypt.
pub fn example_recipient(store: &Store, name: &str) -> Result<Option<&'static str>, Error> {
    let Some(stanzas) = store.read(name)?.as_deref().and_then(recipient_stanzas) else {
        return Ok(None);
    };
    Ok(compile::check::placeholders::EXAMPLE_KEYS
        .iter()
        .find(|(body, _)| {
            ssh_tag(&format!("ssh-ed25519 {body}"))
                .is_some_and(|(kind, tag)| stanzas.iter().any(|s| s.0 == kind && s.1 == tag))
        })
        .map(|(_, from)| *from))
}

/// Whether the admin identity decrypts the file of `name` (the value is
/// dropped, and wiped, at once).
pub fn decryptable(store: &Store, name: &str, identity: &Identity) -> Result<(), Error> {
    let Some(bytes) = store.read(name)? else {
        return Ok(());
    };
    age_file::decrypt(&Store::shown(name), &bytes, identity).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use compile::fleet::Reader;

    fn wanted(keys: &[&str]) -> Wanted {
        Wanted {
            name: "x".into(),
            description: String::new(),
            used_by: Vec::new(),
            hosts: Vec::new(),
            hosts_without_key: Vec::new(),
            readers: keys
                .iter()
                .enumerate()
                .map(|(i, k)| Reader {
                    who: format!("key {i}"),
                    key: k.to_string(),
                })
                .collect(),
            generator: None,
        }
    }

    const A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHsjWnzXS2vGbyhlOffm+BBDBOJA9xeRG9qZQeN2u2h a";
    const B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF0w8WNdzdhzbxPFZKKJsuDacooces0BzH1d5hBF929T b";

    #[test]
    fn recipients_are_read_from_the_header() {
        let file = age_file::encrypt("x", &[A.into(), B.into()], b"v").unwrap();
        assert_eq!(state_of(&file, &wanted(&[A, B])), State::Ok);
        assert_eq!(state_of(&file, &wanted(&[B, A])), State::Ok);
        assert_eq!(
            state_of(&file, &wanted(&[A])),
            State::Stale {
                missing: vec![],
                extra: 1
            }
        );
        let only_a = age_file::encrypt("x", &[A.into()], b"v").unwrap();
        assert_eq!(
            state_of(&only_a, &wanted(&[A, B])),
            State::Stale {
                missing: vec!["key 1".into()],
                extra: 0
            }
        );
        // An X25519 recipient is never one the spec lists.
        let x = age::x25519::Identity::generate().to_public().to_string();
        let mixed = age_file::encrypt("x", &[A.into(), x], b"v").unwrap();
        assert_eq!(
            state_of(&mixed, &wanted(&[A])),
            State::Stale {
                missing: vec![],
                extra: 1
            }
        );
        assert_eq!(state_of(b"hunter2\n", &wanted(&[A])), State::Plaintext);
    }
}
