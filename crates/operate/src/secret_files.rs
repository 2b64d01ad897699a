//! The encrypted secret files next to the generated flake: every secret the
//! fleet uses has `secrets/<name>.age`, it is really age-encrypted, and it
//! is encrypted to every key that must read it (the admin keys and the
//! hosts that use it). Read from the age header alone; nothing is
//! decrypted.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use compile::diagnostic::Diagnostic;
use compile::fleet::Fleet;
use compile::spec::parse_ssh_key;
use sha2::{Digest, Sha256};
use std::path::Path;

const MAGIC: &str = "age-encryption.org/v1";
const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";

/// The recipient stanzas of an age file (`ssh-ed25519 TAG …`), or `None`
/// when the bytes are not an age file.
pub(crate) fn stanzas(bytes: &[u8]) -> Option<Vec<Vec<String>>> {
    let dearmored;
    let bytes = match std::str::from_utf8(bytes.get(..ARMOR_BEGIN.len())?) {
        Ok(ARMOR_BEGIN) => {
            let text = std::str::from_utf8(bytes).ok()?;
            let body: String = text
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .map(str::trim)
                .collect();
            dearmored = STANDARD.decode(body).ok()?;
            &dearmored[..]
        }
        _ => bytes,
    };
    let mut lines = bytes.split(|b| *b == b'\n');
    if lines.next()? != MAGIC.as_bytes() {
        return None;
    }
    let mut out = Vec::new();
    for line in lines {
        let line = std::str::from_utf8(line).ok()?;
        if let Some(args) = line.strip_prefix("-> ") {
            out.push(args.split(' ').map(String::from).collect());
        } else if line.starts_with("---") {
            return Some(out);
        }
    }
    None
}

/// The stanza tag age writes for an SSH recipient: the first four bytes of
/// the SHA-256 of the key's wire form, in base64.
pub(crate) fn ssh_tag(key_line: &str) -> Option<(String, String)> {
    let blob = parse_ssh_key(key_line)?;
    let kind = key_line.split_whitespace().next()?.to_string();
    Some((kind, STANDARD_NO_PAD.encode(&Sha256::digest(&blob)[..4])))
}

pub fn check(fleet: &Fleet, flake: &Path) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let dir = flake.join("secrets");
    if !fleet.secrets.is_empty() && !dir.join("secrets.nix").exists() {
        // Nothing built yet: one reminder rather than one per secret.
        let names: Vec<&str> = fleet.secrets.keys().map(String::as_str).collect();
        out.push(
            Diagnostic::warning(
                "secret-missing",
                format!("{} secret(s) still to create", names.len()),
            )
            .at(fleet.homelab.name.span.clone(), names.join(", "))
            .help(format!(
                "run `homelab secrets generate` for the machine-made ones and `homelab secrets set <name>` for the others (they go to {})",
                dir.display()
            )),
        );
        return out;
    }
    for secret in fleet.secrets.values() {
        let file = dir.join(format!("{}.age", secret.name));
        let shown = format!("secrets/{}.age", secret.name);
        let Ok(bytes) = std::fs::read(&file) else {
            out.push(
                Diagnostic::warning(
                    "secret-missing",
                    format!("secret `{}` has no file {shown} yet", secret.name),
                )
                .at(secret.span.clone(), secret.description.clone())
                .help(format!(
                    "run `homelab secrets {} {}`; the host cannot start what needs it until then",
                    if secret.generator.is_some() {
                        "generate"
                    } else {
                        "set"
                    },
                    secret.name,
                )),
            );
            continue;
        };
        let Some(stanzas) = stanzas(&bytes) else {
            out.push(
                Diagnostic::error("secret-plaintext", format!("{shown} is not age-encrypted"))
                    .at(
                        secret.span.clone(),
                        "its file would hold the secret in the clear",
                    )
                    .help(format!(
                        "delete it and create it with `homelab secrets set {}`",
                        secret.name
                    )),
            );
            continue;
        };
        let readers: Vec<(String, String)> = fleet
            .secret_readers(&secret.name)
            .into_iter()
            .map(|r| (r.who, r.key))
            .collect();
        let missing: Vec<String> = readers
            .iter()
            .filter(|(_, key)| {
                ssh_tag(key).is_some_and(|(kind, tag)| {
                    !stanzas
                        .iter()
                        .any(|s| s.first() == Some(&kind) && s.get(1) == Some(&tag))
                })
            })
            .map(|(who, _)| who.clone())
            .collect();
        if !missing.is_empty() {
            out.push(
                Diagnostic::error(
                    "secret-recipients",
                    format!("{shown} is not encrypted to {}", missing.join(" and ")),
                )
                .at(secret.span.clone(), "they could not decrypt it")
                .help("run `homelab secrets rekey`"),
            );
        }
    }
    out
}
