//! The option names of `[services.<name>.nixos]`: every key must be an
//! option the service's NixOS module declares at the pinned nixpkgs, or
//! lie below one whose value is data or free-form (RFC 42 `settings`,
//! `freeformType`, environment sets), so a misspelt option stops `check`
//! rather than the host's evaluation.
//!
//! The names come from the option index (`nixos-options/*.json`), read at
//! build time by `build.rs` into a table of the options under each module
//! a catalog entry drives, and embedded like the catalog entries.

use super::passthrough;
use crate::diagnostic::{Diagnostic, did_you_mean, name_list};
use crate::fleet::{Fleet, Instance};
use crate::nix::split_path;
use crate::spec::NixosLeaf;
use std::sync::OnceLock;

/// The table `build.rs` writes: flags, a tab, an option path; or `r`, an
/// old path and its new one (empty when removed).
static TABLE: &str = include_str!(concat!(env!("OUT_DIR"), "/options.tsv"));

struct Opt {
    parts: Vec<String>,
    /// Its value is a set of further options (a submodule).
    container: bool,
    /// Any key below it is accepted.
    freeform: bool,
}

struct Index {
    options: Vec<Opt>,
    /// Renamed or removed options: old path, new path ("" when removed).
    renamed: Vec<(Vec<String>, String)>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = Index {
            options: Vec::new(),
            renamed: Vec::new(),
        };
        for line in TABLE.lines() {
            let mut cols = line.split('\t');
            let (Some(flags), Some(path)) = (cols.next(), cols.next()) else {
                continue;
            };
            if flags == "r" {
                index
                    .renamed
                    .push((split_path(path), cols.next().unwrap_or("").to_string()));
            } else {
                index.options.push(Opt {
                    parts: split_path(path),
                    container: flags.contains('c'),
                    freeform: flags.contains('f'),
                });
            }
        }
        index
    })
}

/// An index path matches an assigned path part by part: `<…>` stands for
/// any key the user chooses, `*` for an element of a list.
fn matches(pattern: &[String], path: &[String]) -> bool {
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(path)
            .all(|(p, k)| p == k || (p.starts_with('<') && p.ends_with('>') && k != "*"))
}

/// Where an assigned path leaves the module's options: the index of its
/// first part no option declares, or `None` when the path is an option,
/// or lies below a data or free-form one.
fn first_unknown(index: &Index, full: &[String]) -> Option<usize> {
    for k in 1..=full.len() {
        let prefix = &full[..k];
        let exact: Vec<&Opt> = index
            .options
            .iter()
            .filter(|o| matches(&o.parts, prefix))
            .collect();
        if exact.iter().any(|o| o.freeform || !o.container) {
            return None; // a data option, or free-form: its value is below
        }
        if k == full.len() && !exact.is_empty() {
            return None;
        }
        let goes_on = !exact.is_empty()
            || index
                .options
                .iter()
                .any(|o| o.parts.len() > k && matches(&o.parts[..k], prefix));
        if !goes_on {
            return Some(k - 1);
        }
    }
    None
}

/// The option names declared right below `prefix`.
fn children<'a>(index: &'a Index, prefix: &[String]) -> Vec<&'a str> {
    let mut names: Vec<&str> = index
        .options
        .iter()
        .filter(|o| o.parts.len() > prefix.len() && matches(&o.parts[..prefix.len()], prefix))
        .map(|o| o.parts[prefix.len()].as_str())
        .filter(|n| *n != "*" && !n.starts_with('<'))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Every pass-through key of a service is an option of its module.
pub(crate) fn options_exist(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let index = index();
    for i in &fleet.instances {
        let root = split_path(&i.entry.module);
        if i.entry.module.is_empty()
            || !index
                .options
                .iter()
                .any(|o| o.parts.len() > root.len() && o.parts[..root.len()] == root[..])
        {
            continue; // a module the index does not describe
        }
        for leaf in &i.passthrough {
            if passthrough::owned_by_renderer(i.entry, leaf) {
                continue; // `owned-option` says what to use instead
            }
            let mut full = root.clone();
            full.extend(leaf.parts.iter().map(|(p, _)| p.clone()));
            if let Some(at) = first_unknown(index, &full) {
                out.push(unknown(index, i, leaf, &full, at, root.len()));
            }
        }
    }
}

fn unknown(
    index: &Index,
    i: &Instance,
    leaf: &NixosLeaf,
    full: &[String],
    at: usize,
    root: usize,
) -> Diagnostic {
    let path = full[..=at].join(".");
    let key = full[root..=at].join(".");
    let span = leaf
        .parts
        .get(at - root)
        .map_or(leaf.span.clone(), |p| p.1.clone());
    let renamed = index
        .renamed
        .iter()
        .find(|(old, _)| full.len() >= old.len() && full[..old.len()] == old[..]);
    let names = children(index, &full[..at]);
    let help = if let Some((_, new)) = renamed {
        match new.strip_prefix(&format!("{}.", i.entry.module)) {
            Some(new) => format!("the module renamed it: use `{new}`"),
            None if new.is_empty() => "the module removed it".to_string(),
            None => format!("the module renamed it to `{new}`"),
        }
    } else if let Some(close) = did_you_mean(&full[at], names.iter().copied()) {
        let mut fixed = full[root..at].to_vec();
        fixed.push(close.to_string());
        format!("did you mean `{}`?", fixed.join("."))
    } else if names.is_empty() {
        format!(
            "`{}` declares no option there; write other Nix in hosts/{}/extra.nix",
            i.entry.module, i.host
        )
    } else {
        let shown: Vec<&str> = names.iter().copied().take(12).collect();
        format!(
            "the options there are {}{}",
            name_list(&shown),
            if names.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        )
    };
    Diagnostic::error(
        "unknown-option",
        format!(
            "`{key}` is not an option of the NixOS module `{}`",
            i.entry.module
        ),
    )
    .at(
        span,
        format!("`{path}` does not exist at the pinned nixpkgs"),
    )
    .help(help)
    .about(&i.name.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown_at(path: &str) -> Option<usize> {
        first_unknown(index(), &split_path(path))
    }

    #[test]
    fn declared_free_form_and_data_options_are_known() {
        for path in [
            "services.grafana.enable",
            "services.grafana.settings.users.allow_sign_up",
            "services.grafana.settings.anything.at.all",
            "services.vaultwarden.config.SIGNUPS_ALLOWED",
        ] {
            assert_eq!(unknown_at(path), None, "{path}");
        }
    }

    #[test]
    fn a_misspelt_option_is_found_where_it_goes_wrong() {
        assert_eq!(unknown_at("services.grafana.setings.users.x"), Some(2));
        assert_eq!(unknown_at("services.vaultwarden.confg.X"), Some(2));
    }

    #[test]
    fn the_table_holds_the_modules_of_the_catalog() {
        assert!(index().options.len() > 100);
        let roots: Vec<Vec<String>> = crate::catalog::catalog()
            .values()
            .map(|e| split_path(&e.module))
            .collect();
        for o in &index().options {
            assert!(
                roots
                    .iter()
                    .any(|r| !r.is_empty() && o.parts.starts_with(r)),
                "{:?} is under no catalog module",
                o.parts
            );
        }
    }
}
