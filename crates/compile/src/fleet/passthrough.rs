//! `[services.<name>.nixos]`: settings the catalog does not model, passed
//! to the service's NixOS module as they are. User data only: strings stay
//! strings, so nothing from the spec becomes Nix code.

use crate::catalog::Entry;
use crate::diagnostic::Diagnostic;
use crate::nix::{Attrs, Nix, merge_into};
use crate::spec::Sp;

/// Merges `[services.x.nixos]` below the entry's module; the user wins.
pub(super) fn pass_through(
    nixos: &mut Attrs,
    entry: &Entry,
    extra: &Sp<toml::Value>,
    diags: &mut Vec<Diagnostic>,
) {
    if entry.module.is_empty() {
        diags.push(
            Diagnostic::error(
                "no-module",
                format!("{} has no NixOS module to pass settings to", entry.title),
            )
            .at(extra.span.clone(), "nothing to pass these to")
            .help("put hand-written Nix in `hosts/<host>/extra.nix`"),
        );
        return;
    }
    let mut path: Vec<String> = crate::nix::split_path(&entry.module);
    let leaf = path.pop().expect("module path is not empty");
    merge_into(attrs_at(nixos, &path), &leaf, toml_to_nix(&extra.value));
}

/// The attribute set at `path`, created on the way; a value that is not a
/// set is replaced by one (the module path wins over a stray leaf).
fn attrs_at<'a>(mut cursor: &'a mut Attrs, path: &[String]) -> &'a mut Attrs {
    for part in path {
        let next = cursor
            .entry(part.clone())
            .or_insert_with(|| Nix::Attrs(Attrs::new()));
        if !matches!(next, Nix::Attrs(_)) {
            *next = Nix::Attrs(Attrs::new());
        }
        let Nix::Attrs(inner) = next else {
            unreachable!("replaced by a set just above")
        };
        cursor = inner;
    }
    cursor
}

/// User data only: strings stay strings, so nothing here becomes Nix code.
pub(crate) fn toml_to_nix(v: &toml::Value) -> Nix {
    match v {
        toml::Value::String(s) => Nix::Str(s.clone()),
        toml::Value::Integer(i) => Nix::Int(*i),
        toml::Value::Float(f) => Nix::Float(*f),
        toml::Value::Boolean(b) => Nix::Bool(*b),
        toml::Value::Datetime(d) => Nix::Str(d.to_string()),
        toml::Value::Array(a) => Nix::List(a.iter().map(toml_to_nix).collect()),
        toml::Value::Table(t) => {
            Nix::Attrs(t.iter().map(|(k, v)| (k.clone(), toml_to_nix(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    fn table(text: &str) -> Sp<toml::Value> {
        Sp::new(toml::Value::Table(text.parse().unwrap()), 5..9)
    }

    #[test]
    fn settings_merge_below_the_module_and_win() {
        let entry = catalog::get("grafana").unwrap();
        let mut nixos = Attrs::new();
        let mut diags = Vec::new();
        pass_through(&mut nixos, entry, &table("a = 1\nb = \"x\""), &mut diags);
        assert!(diags.is_empty());
        let mut here = &nixos;
        for part in crate::nix::split_path(&entry.module) {
            let Some(Nix::Attrs(inner)) = here.get(&part) else {
                panic!("{part} is a set in {nixos:?}")
            };
            here = inner;
        }
        assert_eq!(here.get("a"), Some(&Nix::Int(1)));
        assert_eq!(here.get("b"), Some(&Nix::Str("x".into())));
    }

    #[test]
    fn a_stray_leaf_on_the_module_path_becomes_a_set() {
        let mut nixos = Attrs::new();
        nixos.insert("services".into(), Nix::Bool(true));
        let path = vec!["services".to_string(), "x".to_string()];
        attrs_at(&mut nixos, &path).insert("y".into(), Nix::Int(2));
        let Some(Nix::Attrs(services)) = nixos.get("services") else {
            panic!("{nixos:?}")
        };
        assert!(matches!(services.get("x"), Some(Nix::Attrs(_))));
    }

    #[test]
    fn a_service_without_module_takes_no_settings() {
        let entry = Entry {
            module: String::new(),
            ..catalog::get("grafana").unwrap().clone()
        };
        let mut diags = Vec::new();
        pass_through(&mut Attrs::new(), &entry, &table("a = 1"), &mut diags);
        assert_eq!(diags[0].code, "no-module");
        assert_eq!(diags[0].primary.as_ref().unwrap().span, 5..9);
    }

    #[test]
    fn strings_stay_strings() {
        let v: toml::Value = toml::Value::String("${pkgs.evil}".into());
        assert_eq!(toml_to_nix(&v), Nix::Str("${pkgs.evil}".into()));
    }
}
