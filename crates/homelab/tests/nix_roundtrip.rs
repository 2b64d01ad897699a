//! Property tests: whatever string reaches the printer — directly, or as a
//! value or key in the spec's pass-through settings — the real Nix
//! evaluator reads back unchanged. Needs `nix-instantiate` (Debian nix-bin).

use compile::nix::{Attrs, Nix, print};
use proptest::prelude::*;

#[path = "support/nix_eval.rs"]
mod nix_eval;

/// Evaluates a Nix expression to JSON with the real evaluator.
fn eval_json(expr: &str) -> serde_json::Value {
    nix_eval::eval_json(expr)
}

/// Strings biased towards what is special in Nix: quotes, `${`, `''`,
/// backslashes, newlines, indentation, and any Unicode.
fn tricky() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("${".to_string()),
        Just("$${".to_string()),
        Just("''".to_string()),
        Just("'''".to_string()),
        Just("\\".to_string()),
        Just("\"".to_string()),
        Just("\n".to_string()),
        Just("\n  ".to_string()),
        Just("\t".to_string()),
        Just("\r".to_string()),
        Just("'".to_string()),
        Just("$".to_string()),
        Just("}".to_string()),
        "[a-z ]{0,6}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

/// NUL cannot be in a Nix string at all; the spec refuses it earlier (TOML
/// has no raw NUL either), so it is left out here.
fn no_nul(s: &str) -> bool {
    !s.contains('\0')
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn printed_strings_and_keys_read_back(values in prop::collection::vec(tricky(), 1..10)) {
        let values: Vec<String> = values.into_iter().filter(|s| no_nul(s)).collect();
        let mut attrs = Attrs::new();
        for (n, v) in values.iter().enumerate() {
            attrs.insert(v.clone(), Nix::Int(n as i64));
        }
        let expr = print(&Nix::List(vec![
            Nix::List(values.iter().cloned().map(Nix::Str).collect()),
            Nix::Attrs(attrs.clone()),
        ]));
        let back = eval_json(&expr);
        let strings: Vec<String> = back[0].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        prop_assert_eq!(&strings, &values);
        let keys: Vec<String> = back[1].as_object().unwrap().keys().cloned().collect();
        let mut expected: Vec<String> = attrs.keys().cloned().collect();
        expected.sort();
        let mut keys = keys;
        keys.sort();
        prop_assert_eq!(keys, expected);
    }
}

const SPEC: &str = r#"
[homelab]
name = "home"
domain = "example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEBTIGiXnUDiGk9cY1PIrmdVLGAqMXOkUmnI4w2GTgRN me@laptop"]

[hosts.server]
address = "192.168.1.10"
ram_gb = 16

[hosts.server.boot]
disk = "/dev/disk/by-id/nvme-SSD"

[services.victoriametrics]
exposure = "host"
"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// End to end: a string written in the spec's pass-through table comes
    /// out of the generated service file unchanged, as key and as value.
    #[test]
    fn spec_strings_survive_the_pipeline(key in tricky(), value in tricky()) {
        prop_assume!(no_nul(&key) && no_nul(&value));
        let mut table = toml::Table::new();
        table.insert(key.clone(), toml::Value::String(value.clone()));
        let spec = format!(
            "{SPEC}\n[services.victoriametrics.nixos.prometheusConfig.global]\n{}",
            toml::to_string(&table).unwrap(),
        );
        let (fleet, _) = compile::compile(&spec).expect("spec compiles");
        let files = compile::render::render(&fleet);
        let file = files.iter().find(|f| f.path.ends_with("services/victoriametrics.nix")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.nix");
        std::fs::write(&path, file.text()).unwrap();
        let expr = format!(
            "(import {} {{ config = {{ }}; lib = {{ }}; pkgs = {{ }}; }}).services.victoriametrics.prometheusConfig.global",
            path.display()
        );
        let back = eval_json(&expr);
        prop_assert_eq!(back[&key].as_str(), Some(value.as_str()));
    }
}
