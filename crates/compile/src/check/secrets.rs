//! Secrets stay out of the spec: a password, token or key written inline
//! would end up in the Nix store, readable by every user of the machine.

use crate::diagnostic::Diagnostic;
use crate::fleet::Fleet;

/// Key names that hold credentials.
const SECRET_WORDS: [&str; 6] = ["password", "passwd", "token", "secret", "apikey", "api_key"];

fn looks_secret(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    // `passwordFile`, `tokenFile`, `…_file` name a path, which is the fix.
    if last.ends_with("file") || last.ends_with("path") {
        return false;
    }
    SECRET_WORDS.iter().any(|w| last.contains(w))
        || last == "key"
        || last.ends_with("_key")
        || last.ends_with("-key")
}

pub fn no_literal_secrets(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        for (key, span) in &i.passthrough_strings {
            if looks_secret(key) {
                out.push(
                    Diagnostic::error("literal-secret", format!("`{key}` of `{}` holds a secret in plain text", i.name.value))
                        .at(span.clone(), "this value would be world-readable in the Nix store")
                        .help(format!(
                            "move it into an agenix secret: declare `[secrets.{}-{}]`, encrypt it with `agenix -e`, and point the module's file option at it",
                            i.name.value,
                            key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase().replace('_', "-")
                        ))
                        .about(&i.name.value),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::looks_secret;

    #[test]
    fn credential_keys_are_recognised() {
        for k in [
            "password",
            "settings.admin_password",
            "ADMIN_TOKEN",
            "api_key",
            "config.secret",
        ] {
            assert!(looks_secret(k), "{k}");
        }
        for k in [
            "passwordFile",
            "tokenFile",
            "environmentFile",
            "keyboard",
            "monkey",
            "settings.port",
        ] {
            assert!(!looks_secret(k), "{k}");
        }
    }
}
