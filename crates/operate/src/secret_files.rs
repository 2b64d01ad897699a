//! The encrypted secret files next to the generated flake: every secret the
//! fleet uses has `secrets/<name>.age`, it is really age-encrypted, and it
//! is encrypted to every key that must read it (the admin keys and the
//! hosts that use it). Read from the age header alone; nothing is
//! decrypted, and no more of a file is read than its header needs. A
//! secret file that is not a regular file (a FIFO would block the read) is
//! named as what it is, without being opened.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use compile::diagnostic::Diagnostic;
use compile::fleet::Fleet;
use compile::spec::parse_ssh_key;
use sha2::{Digest, Sha256};
use std::path::Path;

const MAGIC: &str = "age-encryption.org/v1";
const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";

/// How much of a secret file is read for its header: far more than the
/// header of a file encrypted to hundreds of keys.
const HEADER_BYTES: u64 = 1 << 20;

/// The start of the secret file at `path` (through a symlink the user
/// keeps there): at most [`HEADER_BYTES`], after checking it is a regular
/// file.
fn head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = crate::fs_guard::open_file_or_link(path)?;
    crate::fs_guard::read_head(&mut file, HEADER_BYTES)
}

/// The recipient stanzas of an age file (`ssh-ed25519 TAG …`), or `None`
/// when the bytes are not an age file. `bytes` may be the start of a
/// file only, as long as it holds the whole header.
pub(crate) fn stanzas(bytes: &[u8]) -> Option<Vec<Vec<String>>> {
    let dearmored;
    let bytes = match std::str::from_utf8(bytes.get(..ARMOR_BEGIN.len())?) {
        Ok(ARMOR_BEGIN) => {
            // Cut at a character and a line: the start of a longer file
            // may end inside either.
            let text = match std::str::from_utf8(bytes) {
                Ok(text) => text,
                Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok()?,
            };
            let text = if bytes.len() as u64 >= HEADER_BYTES {
                &text[..text.rfind('\n').unwrap_or(0)]
            } else {
                text
            };
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
    let none_made = fleet.secrets.keys().all(|name| {
        crate::fs_guard::type_of(&dir.join(format!("{name}.age"))).is_ok_and(|t| t.is_none())
    });
    if !fleet.secrets.is_empty() && none_made && !dir.join("secrets.nix").exists() {
        // Nothing built and no secret made yet: one reminder rather than
        // one per secret. (A built flake alone says nothing: `homelab
        // secrets` makes the files before or after the first build.)
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
        let make = if secret.generator.is_some() {
            "generate"
        } else {
            "set"
        };
        let bytes = match head(&file) {
            Ok(bytes) => bytes,
            Err(e) if let Some(what) = crate::fs_guard::not_a_file(&e) => {
                out.push(
                    Diagnostic::error(
                        "secret-not-a-file",
                        format!("{shown} is {}, not a file", what.name()),
                    )
                    .at(secret.span.clone(), secret.description.clone())
                    .help(format!(
                        "remove it, then run `homelab secrets {make} {}`",
                        secret.name
                    )),
                );
                continue;
            }
            Err(_) => {
                out.push(
                    Diagnostic::warning(
                        "secret-missing",
                        format!("secret `{}` has no file {shown} yet", secret.name),
                    )
                    .at(secret.span.clone(), secret.description.clone())
                    .help(format!(
                        "run `homelab secrets {make} {}`; the host cannot start what needs it until then",
                        secret.name,
                    )),
                );
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHsjWnzXS2vGbyhlOffm+BBDBOJA9xeRG9qZQeN2u2h a";

    #[test]
    fn the_header_is_read_from_the_start_of_a_large_armored_file() {
        let binary =
            crate::secrets::age_file::encrypt("x", &[KEY.into()], &vec![7; 2 << 20]).unwrap();
        let lines: Vec<String> = STANDARD
            .encode(&binary)
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let armored = format!(
            "{ARMOR_BEGIN}\n{}\n-----END AGE ENCRYPTED FILE-----\n",
            lines.join("\n")
        );
        let start = &armored.as_bytes()[..HEADER_BYTES as usize];
        let expected = stanzas(&binary).unwrap();
        assert!(
            expected.iter().any(|s| s[0] == "ssh-ed25519"),
            "{expected:?}"
        );
        assert_eq!(stanzas(start), Some(expected.clone()));
        assert_eq!(stanzas(armored.as_bytes()), Some(expected));
    }
}
