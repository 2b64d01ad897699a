//! Secrets stay out of the spec: a password, token or key written inline
//! would end up in the Nix store, readable by every user of the machine.
//!
//! A value is a secret by its key (the words of its name: `pass`, `pw`,
//! `token`, `privateKey`, `auth_header`…) or by its shape (a URL with a
//! password in it, `postgres://user:pw@db`), whatever the key. Both the
//! pass-through settings and `[backup] repository` are covered.

use crate::diagnostic::Diagnostic;
use crate::fleet::Fleet;

/// Words of a key name that mean it holds a credential.
const SECRET_WORDS: [&str; 17] = [
    "password",
    "passwd",
    "pass",
    "pw",
    "pwd",
    "passphrase",
    "token",
    "secret",
    "secrets",
    "apikey",
    "credential",
    "credentials",
    "bearer",
    "authorization",
    "privatekey",
    "psk",
    "cookie",
];

/// Last words that make the key name a path or a switch, which is the fix
/// (`passwordFile`, `tokenPath`) or harmless (`passwordAuthentication`).
const NOT_SECRET_LAST: [&str; 10] = [
    "file",
    "files",
    "path",
    "dir",
    "command",
    "authentication",
    "length",
    "policy",
    "hash",
    "enable",
];

/// The words of a key's last part (`services.x.privateKey` → `private`,
/// `key`).
fn words(key: &str) -> Vec<String> {
    super::passthrough::words(key.rsplit('.').next().unwrap_or(key))
}

/// Whether a key names a credential.
pub(crate) fn looks_secret(key: &str) -> bool {
    let w = words(key);
    let Some(last) = w.last() else { return false };
    if NOT_SECRET_LAST.contains(&last.as_str()) {
        return false;
    }
    let has = |x: &str| w.iter().any(|v| v == x);
    SECRET_WORDS.iter().any(|s| has(s))
        // `key`, `api_key`, `privateKey`, `secretKey`, `ADMIN_KEY`
        || last == "key"
        // `auth_header`, `authHeader`, `auth_string`
        || (has("auth") && matches!(last.as_str(), "header" | "string" | "value"))
}

/// Whether a text holds a URL with a password in its user part
/// (`scheme://user:password@host`, also inside `rest:https://…`).
pub(crate) fn has_url_credentials(text: &str) -> bool {
    text.match_indices("://").any(|(at, _)| {
        let rest = &text[at + 3..];
        let authority = rest.split(['/', '?', '#', ' ']).next().unwrap_or("");
        authority
            .rsplit_once('@')
            .is_some_and(|(user, _)| user.split_once(':').is_some_and(|(_, pw)| !pw.is_empty()))
    })
}

pub(crate) fn no_literal_secrets(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        for leaf in &i.passthrough {
            let by_key = looks_secret(&leaf.key)
                && matches!(leaf.value, toml::Value::String(_) | toml::Value::Integer(_));
            let by_shape = leaf.value.as_str().is_some_and(has_url_credentials);
            if !(by_key || by_shape) {
                continue;
            }
            let key = &leaf.key;
            let note = if by_shape && !by_key {
                "a URL with a password in it; it would be world-readable in the Nix store"
            } else {
                "this value would be world-readable in the Nix store"
            };
            out.push(
                Diagnostic::error("literal-secret", format!("`{key}` of `{}` holds a secret in plain text", i.name.value))
                    .at(leaf.span.clone(), note)
                    .help(format!(
                        "move it into an agenix secret: declare `[secrets.{}-{}]`, encrypt it with `agenix -e`, and point the module's file option at it",
                        i.name.value,
                        key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase().replace('_', "-")
                    ))
                    .about(&i.name.value),
            );
        }
    }
    if let Some(b) = &fleet.backup
        && has_url_credentials(&b.repository.value)
    {
        out.push(
            Diagnostic::error("literal-secret", "the backup repository URL holds a password")
                .at(b.repository.span.clone(), "it would be in the Nix store of every host")
                .help("remove `user:password@` from the URL and put the credentials in the secret `environment_secret` names (`RESTIC_REST_USERNAME=…`, `RESTIC_REST_PASSWORD=…`, or `AWS_ACCESS_KEY_ID=…`)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{has_url_credentials, looks_secret};

    #[test]
    fn credential_keys_are_recognised() {
        for k in [
            "password",
            "settings.admin_password",
            "ADMIN_TOKEN",
            "api_key",
            "config.secret",
            "pass",
            "pw",
            "pass_phrase",
            "passphrase",
            "privateKey",
            "private_key",
            "credentials",
            "bearer",
            "auth_header",
            "authHeader",
            "settings.key",
            "secretKey",
            "DB_PASS",
            "smtp.pwd",
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
            "passwordAuthentication",
            "keys",
            "passthrough",
            "bypass",
            "authorizedKeys",
            "secretKeyFile",
        ] {
            assert!(!looks_secret(k), "{k}");
        }
    }

    #[test]
    fn passwords_in_urls_are_recognised() {
        assert!(has_url_credentials("postgres://user:pw@db/app"));
        assert!(has_url_credentials(
            "rest:https://user:pw@backup.example.org/"
        ));
        assert!(has_url_credentials("x postgresql://a:b@c"));
        assert!(!has_url_credentials("https://user@example.org/"));
        assert!(!has_url_credentials("https://example.org/a:b@c"));
        assert!(!has_url_credentials("s3:https://s3.example.org/home"));
        assert!(!has_url_credentials("user:pw@host"));
    }
}
