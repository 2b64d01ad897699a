//! The code nodes of the Nix model (selection, interpolation,
//! concatenation, application) read back by the real Nix: what the printer
//! writes parses with `nix-instantiate --parse`, and evaluates to what the
//! node means, whatever the names and text inside it hold. Needs
//! `nix-instantiate` (Debian's nix-bin).

// Tests run the real Nix; the library may not (clippy.toml).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use compile::nix::{Attrs, Nix, print, set};
use proptest::prelude::*;
use std::process::Command;

fn nix_instantiate(args: &[&str], expr: &str) -> String {
    let out = Command::new("nix-instantiate")
        .args(args)
        .args(["-E", expr])
        .output()
        .expect("nix-instantiate runs (install Debian's nix-bin)");
    assert!(
        out.status.success(),
        "nix rejected:\n{expr}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn eval_json(expr: &str) -> serde_json::Value {
    let out = nix_instantiate(&["--eval", "--strict", "--json"], expr);
    serde_json::from_str(&out).expect("nix prints JSON")
}

/// `let <name> = <value>; in <body>`, each printed by the printer.
fn with(name: &str, value: &Nix, body: &Nix) -> String {
    format!(
        "let {name} = {}; in {}",
        print(value).trim_end(),
        print(body).trim_end()
    )
}

/// Text biased towards what is special in a Nix string.
fn tricky() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("${".to_string()),
        Just("$".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\\".to_string()),
        Just("\"".to_string()),
        Just("''".to_string()),
        Just("\n".to_string()),
        Just(".".to_string()),
        "[a-z -]{0,6}",
        any::<char>()
            .prop_filter("Nix strings hold no NUL", |c| *c != '\0')
            .prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

#[test]
fn a_module_with_every_code_node_parses() {
    let mut m = Attrs::new();
    set(&mut m, &["a"], Nix::age_secret_path("grafana admin"));
    set(
        &mut m,
        &["b"],
        Nix::Concat(vec![
            Nix::Interp(vec![
                Nix::select("pkgs", ["systemd"]),
                Nix::str("/bin/systemctl start"),
            ]),
            Nix::str(" a.service"),
        ]),
    );
    set(
        &mut m,
        &["c"],
        Nix::Concat(vec![Nix::Path("../secrets".into()), Nix::str("/x.age")]),
    );
    set(
        &mut m,
        &["d"],
        Nix::List(vec![
            Nix::apply(
                Nix::select("deploy-rs", ["lib", "x86_64-linux", "activate", "nixos"]),
                vec![Nix::select("self", ["nixosConfigurations", "my host"])],
            ),
            Nix::Concat(vec![Nix::str("a"), Nix::str("b")]),
        ]),
    );
    let module = Nix::Lambda {
        formals: ["config", "pkgs", "self", "deploy-rs"]
            .map(String::from)
            .to_vec(),
        ellipsis: true,
        at: None,
        body: Box::new(Nix::Attrs(m)),
    };
    let text = print(&module);
    assert_eq!(
        text,
        r#"{ config, pkgs, self, deploy-rs, ... }:
{
  a = config.age.secrets."grafana admin".path;
  b = "${pkgs.systemd}/bin/systemctl start" + " a.service";
  c = ../secrets + "/x.age";
  d = [
    (deploy-rs.lib.x86_64-linux.activate.nixos self.nixosConfigurations."my host")
    ("a" + "b")
  ];
}
"#
    );
    let parsed = nix_instantiate(&["--parse"], &text);
    assert!(
        parsed.contains("(config).age.secrets.\"grafana admin\".path"),
        "{parsed}"
    );
}

#[test]
fn a_path_plus_a_name_is_a_path() {
    let file = Nix::Concat(vec![Nix::Path("./secrets".into()), Nix::str("/a b.age")]);
    let expr = format!(
        "let f = {}; in [ (builtins.typeOf f) (baseNameOf f) ]",
        print(&file).trim_end()
    );
    assert_eq!(eval_json(&expr), serde_json::json!(["path", "a b.age"]));
}

#[test]
fn an_application_keeps_its_arguments_whole() {
    let lib = {
        let mut a = Attrs::new();
        a.insert("f".into(), Nix::raw("a: b: [ a b ]"));
        Nix::Attrs(a)
    };
    let call = Nix::apply(
        Nix::select("lib", ["f"]),
        vec![
            Nix::Concat(vec![Nix::str("x"), Nix::str("y")]),
            Nix::Int(-1),
        ],
    );
    assert_eq!(
        eval_json(&with("lib", &lib, &call)),
        serde_json::json!(["xy", -1])
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A selection reaches the attribute whatever its name.
    #[test]
    fn a_selection_reads_back_any_name(name in tricky()) {
        let mut config = Attrs::new();
        set(&mut config, &["age", "secrets", &name, "path"], "found");
        let expr = with("config", &Nix::Attrs(config), &Nix::age_secret_path(&name));
        prop_assert_eq!(eval_json(&expr), serde_json::json!("found"));
    }

    /// Text around interpolated code stays text, code stays code.
    #[test]
    fn interpolation_keeps_text_and_code_apart(before in tricky(), between in tricky(), after in tricky()) {
        let mut pkgs = Attrs::new();
        set(&mut pkgs, &["systemd"], "/S");
        let code = || Nix::select("pkgs", ["systemd"]);
        let value = Nix::Interp(vec![
            Nix::Str(before.clone()),
            code(),
            Nix::Str(between.clone()),
            Nix::Str(after.clone()),
            code(),
        ]);
        let expected = format!("{before}/S{between}{after}/S");
        prop_assert_eq!(eval_json(&with("pkgs", &Nix::Attrs(pkgs), &value)), serde_json::json!(expected));
    }
}

#[test]
fn a_module_names_a_value_once_and_uses_it_in_its_body() {
    let mut body = Attrs::new();
    set(
        &mut body,
        &["a"],
        Nix::Interp(vec![
            Nix::select("standIns", Vec::<String>::new()),
            Nix::str("/x"),
        ]),
    );
    set(
        &mut body,
        &["b"],
        Nix::select("standIns", Vec::<String>::new()),
    );
    let module = Nix::module_with(vec![("standIns".into(), Nix::raw("pkgs.hello"))], body);
    let text = print(&module);
    assert_eq!(
        text,
        r#"{ config, lib, pkgs, ... }:
let
  standIns = pkgs.hello;
in
{
  a = "${standIns}/x";
  b = standIns;
}
"#
    );
    // Applied to a stand-in `pkgs`, the binding reaches both attributes.
    let applied = format!(
        "({}) {{ config = {{ }}; lib = {{ }}; pkgs = {{ hello = \"/h\"; }}; }}",
        text.trim_end()
    );
    assert_eq!(
        eval_json(&applied),
        serde_json::json!({ "a": "/h/x", "b": "/h" })
    );
    // No bindings: the plain module.
    assert_eq!(
        Nix::module_with(vec![], Attrs::new()),
        Nix::module(Attrs::new())
    );
}
