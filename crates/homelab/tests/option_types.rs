//! Every value the renderer emits, checked against the type of its option
//! in the NixOS option index: a wrong type is caught here, not by
//! `nixos-rebuild` on the user's machine. The unit tests prove each kind
//! of mismatch is found; the last test runs the check over every example.

#[path = "support/option_types.rs"]
mod option_types;

use compile::nix::{Attrs, Nix, set};
use option_types::{Type, TypeIndex};
use std::path::Path;

/// One index file with an option of each kind the checker reads.
const FIXTURE: &str = r#"{ "options": [
  { "path": "s.enable", "type": "bool (mkEnableOption)" },
  { "path": "s.port", "type": "port" },
  { "path": "s.workers", "type": "ints.between 1 8" },
  { "path": "s.name", "type": "types.str" },
  { "path": "s.level", "type": "enum [ \"info\" \"debug\" ]" },
  { "path": "s.flags", "type": "listOf str" },
  { "path": "s.env", "type": "attrsOf str" },
  { "path": "s.key", "type": "nullOr path" },
  { "path": "s.interval", "type": "either str (listOf str)" },
  { "path": "s.package", "type": "package" },
  { "path": "s.mode", "type": "strMatching \"[0-7]{4}\"" },
  { "path": "s.hook", "type": "functionTo (listOf package)" },
  { "path": "s.users", "type": "listOf submodule" },
  { "path": "s.users.*.name", "type": "str" },
  { "path": "s.users.*.admin", "type": "bool" },
  { "path": "s.hosts", "type": "attrsOf (submodule)" },
  { "path": "s.hosts.<name>.address", "type": "str" },
  { "path": "s.settings", "type": "format:yaml", "freeform": true },
  { "path": "vm", "type": "submodule", "nested_configuration": true }
] }"#;

fn index() -> TypeIndex {
    TypeIndex::from_json(&[FIXTURE])
}

fn body(assignments: &[(&str, Nix)]) -> Attrs {
    let mut m = Attrs::new();
    for (path, v) in assignments {
        let parts: Vec<&str> = path.split('.').collect();
        set(&mut m, &parts, v.clone());
    }
    m
}

fn attrs(pairs: &[(&str, Nix)]) -> Nix {
    Nix::Attrs(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// The paths the checker flags.
fn flagged(assignments: &[(&str, Nix)]) -> Vec<String> {
    index()
        .check(&body(assignments))
        .mismatches
        .into_iter()
        .map(|m| m.path)
        .collect()
}

#[test]
fn right_values_pass() {
    let report = index().check(&body(&[
        ("s.enable", Nix::Bool(true)),
        ("s.port", Nix::Int(8080)),
        ("s.workers", Nix::Int(4)),
        ("s.name", Nix::str("x")),
        ("s.level", Nix::str("debug")),
        ("s.flags", Nix::strs(["--a"])),
        ("s.env", attrs(&[("A", Nix::str("1"))])),
        ("s.key", Nix::Null),
        ("s.interval", Nix::strs(["hourly"])),
        ("s.package", Nix::raw("pkgs.hello")),
        ("s.mode", Nix::str("0700")),
        ("s.hook", Nix::raw("ps: [ ps.a ]")),
        (
            "s.users",
            Nix::list([attrs(&[
                ("name", Nix::str("a")),
                ("admin", Nix::Bool(false)),
            ])]),
        ),
        ("s.hosts.a.address", Nix::str("192.168.1.1")),
        ("s.settings.any.thing", Nix::Int(1)),
        // Code is not evaluated: an expression fits any type.
        ("s.name", Nix::raw("config.networking.hostName")),
    ]));
    assert_eq!(report.mismatches, vec![]);
    assert_eq!(report.unchecked, ["s.hook"]);
}

#[test]
fn an_int_where_a_string_belongs_and_back() {
    assert_eq!(
        flagged(&[("s.name", Nix::Int(1)), ("s.port", Nix::str("8080"))]),
        ["s.name", "s.port"]
    );
}

#[test]
fn a_port_out_of_range() {
    assert_eq!(flagged(&[("s.port", Nix::Int(70000))]), ["s.port"]);
    assert_eq!(flagged(&[("s.workers", Nix::Int(0))]), ["s.workers"]);
}

#[test]
fn a_list_where_a_set_belongs_and_back() {
    assert_eq!(
        flagged(&[
            ("s.env", Nix::strs(["A=1"])),
            ("s.flags", attrs(&[("a", Nix::str("b"))])),
            ("s.users", attrs(&[("name", Nix::str("a"))])),
        ]),
        ["s.env", "s.flags", "s.users"]
    );
}

#[test]
fn a_nested_configuration_is_checked_as_a_module_of_its_own() {
    assert_eq!(
        flagged(&[
            ("vm.s.port", Nix::str("8080")),
            ("vm.s.enable", Nix::Bool(true)),
            ("vm.imports", Nix::list([Nix::Path("./vm.nix".into())])),
        ]),
        ["vm.s.port"]
    );
}

#[test]
fn a_value_that_is_no_enum_member() {
    assert_eq!(flagged(&[("s.level", Nix::str("verbose"))]), ["s.level"]);
}

#[test]
fn null_or_takes_null_and_the_type_only() {
    assert_eq!(flagged(&[("s.key", Nix::Null)]), Vec::<String>::new());
    assert_eq!(flagged(&[("s.key", Nix::Bool(false))]), ["s.key"]);
    assert_eq!(flagged(&[("s.key", Nix::str("relative/key"))]), ["s.key"]);
}

#[test]
fn a_key_that_is_no_option_of_the_submodule() {
    assert_eq!(
        flagged(&[
            ("s.users", Nix::list([attrs(&[("nmae", Nix::str("a"))])])),
            ("s.hosts.a.adress", Nix::str("x")),
        ]),
        ["s.hosts.a.adress", "s.users.*.nmae"]
    );
    // A value of the wrong type inside a submodule is found too.
    assert_eq!(
        flagged(&[("s.users", Nix::list([attrs(&[("admin", Nix::str("yes"))])]))]),
        ["s.users.*.admin"]
    );
}

#[test]
fn either_takes_one_of_its_alternatives() {
    assert_eq!(
        flagged(&[("s.interval", Nix::str("daily"))]),
        Vec::<String>::new()
    );
    assert_eq!(flagged(&[("s.interval", Nix::Int(5))]), ["s.interval"]);
    assert_eq!(
        flagged(&[("s.interval", Nix::list([Nix::Int(5)]))]),
        ["s.interval"]
    );
}

#[test]
fn strings_for_packages_and_patterns_are_found() {
    assert_eq!(
        flagged(&[
            ("s.package", Nix::str("hello")),
            ("s.mode", Nix::str("755"))
        ]),
        ["s.mode", "s.package"]
    );
}

#[test]
fn the_grammar_reads_nested_types_and_drops_remarks() {
    assert_eq!(
        Type::parse("nullOr (listOf (enum [ \"a\" 1 ]))"),
        Type::NullOr(Box::new(Type::ListOf(Box::new(Type::Enum(vec![
            Nix::str("a"),
            Nix::Int(1)
        ])))))
    );
    assert_eq!(
        Type::parse("package (mkPackageOption pkgs \"sanoid\")"),
        Type::Package
    );
    assert_eq!(
        Type::parse("coercedTo (listOf str) f (attrsOf bool)"),
        Type::OneOf(vec![
            Type::ListOf(Box::new(Type::Str)),
            Type::AttrsOf(Box::new(Type::Bool))
        ])
    );
    // The index's own form names no coercion function.
    assert_eq!(
        Type::parse("coercedTo (listOf str) (attrsOf bool)"),
        Type::parse("coercedTo (listOf str) f (attrsOf bool)")
    );
    assert_eq!(
        Type::parse("nullOr (coercedTo path str)"),
        Type::NullOr(Box::new(Type::OneOf(vec![Type::Path, Type::Str])))
    );
    assert!(matches!(
        Type::parse("listOf (str checked against names)"),
        Type::Unchecked(_)
    ));
}

/// The option index of the repository.
fn repository_index() -> TypeIndex {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    TypeIndex::load(&[&root.join("nixos-options")])
}

#[test]
fn every_value_of_every_example_fits_its_option_type() {
    let index = repository_index();
    let mut wrong = Vec::new();
    let mut unchecked = std::collections::BTreeSet::new();
    let mut checked_files = 0;
    let mut checked_values = 0;
    for example in compile::examples::names() {
        let text = compile::examples::get(example).unwrap();
        let (fleet, _) = compile::compile(text).expect("example compiles");
        for file in compile::render::render(&fleet) {
            let Some(body) = file.module_body() else {
                continue;
            };
            checked_files += 1;
            let report = index.check(body);
            checked_values += report.checked;
            for m in report.mismatches {
                wrong.push(format!("{example}: {}: {}: {}", file.path, m.path, m.why));
            }
            unchecked.extend(report.unchecked);
        }
    }
    assert!(checked_files > 20, "checked {checked_files} files");
    println!("values checked against their option type: {checked_values}");
    assert!(checked_values > 300, "checked {checked_values} values");
    // Options whose index type the grammar cannot read are not checked;
    // they are listed so that the index can be made regular.
    println!(
        "options assigned but not type-checked ({}):\n{}",
        unchecked.len(),
        unchecked.into_iter().collect::<Vec<_>>().join("\n")
    );
    assert!(
        wrong.is_empty(),
        "values of the wrong type:\n{}",
        wrong.join("\n")
    );
}
