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
pub fn state_of(bytes: &[u8], w: &Wanted) -> State {
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

/// Whether the admin identity decrypts the file of `name` (the value is
/// dropped, and wiped, at once).
pub fn decryptable(store: &Store, name: &str, identity: &Identity) -> Result<(), Error> {
    let Some(bytes) = store.read(name)? else {
        return Ok(());
    };
    age_file::decrypt(&Store::shown(name), &bytes, identity).map(drop)
}
