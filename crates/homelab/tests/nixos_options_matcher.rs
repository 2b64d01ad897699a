//! The option-index walker used by `tests/flake.rs`, on small modules.

mod support;

use compile::nix::{Attrs, Nix, set};
use std::path::Path;
use support::nixos_options::Index;

fn index() -> Index {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Index::load(&[&root.join("nixos-options")])
}

fn unknown(paths: &[(&[&str], Nix)]) -> Vec<String> {
    let mut m = Attrs::new();
    for (p, v) in paths {
        set(&mut m, p, v.clone());
    }
    index().unknown_paths(&m)
}

#[test]
fn declared_paths_are_accepted() {
    let found = unknown(&[
        (&["services", "caddy", "enable"], Nix::Bool(true)),
        (
            &[
                "services",
                "caddy",
                "virtualHosts",
                "a.example.org",
                "extraConfig",
            ],
            Nix::str("x"),
        ),
        (&["age", "secrets", "x", "file"], Nix::raw("./x.age")),
        (
            &["networking", "firewall", "allowedTCPPorts"],
            Nix::list([Nix::Int(443)]),
        ),
    ]);
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn freeform_sub_paths_are_accepted() {
    let found = unknown(&[(
        &["services", "grafana", "settings", "anything", "at_all"],
        Nix::Int(1),
    )]);
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn typos_are_caught_at_any_depth() {
    let found = unknown(&[
        (&["services", "caddy", "enabel"], Nix::Bool(true)),
        (&["age", "secrets", "x", "fiel"], Nix::raw("./x.age")),
        (&["servics", "x"], Nix::Bool(true)),
    ]);
    assert_eq!(
        found,
        vec!["age.secrets.x.fiel", "services.caddy.enabel", "servics"]
    );
}

#[test]
fn list_elements_of_submodules_are_checked() {
    let mut good = Attrs::new();
    good.insert("name".into(), Nix::str("immich"));
    good.insert("ensureDBOwnership".into(), Nix::Bool(true));
    let mut bad = Attrs::new();
    bad.insert("nmae".into(), Nix::str("immich"));
    let found = unknown(&[(
        &["services", "postgresql", "ensureUsers"],
        Nix::list([Nix::Attrs(good), Nix::Attrs(bad)]),
    )]);
    assert_eq!(found, vec!["services.postgresql.ensureUsers.*.nmae"]);
}

#[test]
fn a_nested_configuration_is_walked_from_the_root() {
    let vm = ["virtualisation", "vmVariant"];
    let found = unknown(&[
        (
            &[vm[0], vm[1], "imports"],
            Nix::list([Nix::Path("./vm.nix".into())]),
        ),
        (
            &[vm[0], vm[1], "virtualisation", "graphics"],
            Nix::Bool(false),
        ),
        (
            &[vm[0], vm[1], "services", "caddy", "enable"],
            Nix::Bool(true),
        ),
        (
            &[vm[0], vm[1], "services", "cadyy", "enable"],
            Nix::Bool(true),
        ),
        (
            &[vm[0], vm[1], "virtualisation", "memorySise"],
            Nix::Int(2048),
        ),
    ]);
    assert_eq!(
        found,
        vec![
            "virtualisation.vmVariant.services.cadyy".to_string(),
            "virtualisation.vmVariant.virtualisation.memorySise".to_string(),
        ]
    );
}
