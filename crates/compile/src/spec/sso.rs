//! `[access.sso]`: the fleet's one OpenID Connect provider and the groups
//! of people that decide who reaches which service. The provider is a
//! service instance of the spec (`provider = "pocket-id"`); `check` makes
//! sure it is placed and can be one.

use super::model::{Sso, SsoGroup};
use super::reader::{Sink, Sp, Table};
use crate::diagnostic::Diagnostic;
use toml::de::DeValue;

pub fn sso(t: &mut Table, sink: &mut Sink) -> Option<Sso> {
    let provider = t.req_str(sink, "provider", "\"pocket-id\"");
    let mut groups = Vec::new();
    if let Some(table) = t.table(sink, "groups") {
        for (k, v) in table.entries() {
            let name = Sp::new(k.get_ref().to_string(), k.span());
            if !is_group_name(&name.value) {
                sink.push(
                    Diagnostic::error(
                        "invalid-name",
                        format!("`{}` is not a valid group name", name.value),
                    )
                    .at(
                        name.span.clone(),
                        "expected 2 to 63 lowercase letters, digits and hyphens",
                    )
                    .help("name groups for who is in them: `admin`, `family`, `media`"),
                );
                continue;
            }
            let DeValue::Array(items) = v.get_ref() else {
                sink.push(
                    Diagnostic::error(
                        "wrong-type",
                        format!(
                            "`access.sso.groups.{}` must be an array of strings",
                            name.value
                        ),
                    )
                    .at(v.span(), "expected the members' user names")
                    .help(format!("write `{} = [\"alice\", \"bob\"]`", name.value)),
                );
                continue;
            };
            let mut members = Vec::new();
            for item in items {
                match item.get_ref() {
                    DeValue::String(s) => members.push(Sp::new(s.to_string(), item.span())),
                    _ => sink.push(
                        Diagnostic::error(
                            "wrong-type",
                            format!("members of `{}` must be user names", name.value),
                        )
                        .at(item.span(), "not a string")
                        .help("write members as strings: `[\"alice\", \"bob\"]`"),
                    ),
                }
            }
            groups.push(SsoGroup {
                name,
                span: v.span(),
                members,
            });
        }
    }
    Some(Sso {
        span: t.span.clone(),
        provider: provider?,
        groups,
    })
}

fn is_group_name(s: &str) -> bool {
    // Pocket ID wants at least two characters.
    s.len() >= 2
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
