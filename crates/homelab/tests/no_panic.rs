//! No input makes the front half of the pipeline panic: arbitrary text, and
//! valid specs cut, spliced and sprinkled with TOML-ish fragments so the
//! inputs reach resolution and the checks, not just the TOML parser.

use proptest::prelude::*;

const BASE: &str = r#"
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

[hosts.server.pools.tank]
disks = ["/dev/disk/by-id/a"]
size = "4T"

[services.grafana]
port = 3001
exposure = "lan"

[services.grafana.data.data]
quota = "10G"

[services.victoriametrics]

[access.proxy]
dns_provider = "cloudflare"
credentials_secret = "acme"
"#;

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n[services.x]\n".to_string()),
        Just("\nport = 22\n".to_string()),
        Just("\nport = -1\n".to_string()),
        Just("\nexposure = \"public\"\n".to_string()),
        Just("\nhost = \"nope\"\n".to_string()),
        Just("\nsubdomain = \"\"\n".to_string()),
        Just("\n[services.grafana.nixos]\na.b = 1979-05-27\n".to_string()),
        Just("\nquota = \"1e400T\"\n".to_string()),
        Just("\nsize = \"99999999999P\"\n".to_string()),
        Just("\"".to_string()),
        Just("[[".to_string()),
        Just("=".to_string()),
        "[a-z_.\\[\\]=\" \n0-9]{0,20}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = compile::compile(&text);
    }

    #[test]
    fn mutated_specs_never_panic(cut in 0usize..BASE.len(), len in 0usize..40, insert in fragment()) {
        let mut text = BASE.to_string();
        let start = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap();
        let end = (start + len).min(text.len());
        let end = (end..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap();
        text.replace_range(start..end, &insert);
        if let Ok((fleet, _)) = compile::compile(&text) {
            // Whatever compiles also renders and prints.
            for f in compile::render::render(&fleet) {
                let _ = f.text();
            }
        }
    }
}

/// A reader that goes away (`homelab show ports --json | head -c 1`) ends
/// the program as it ends any command-line tool, by SIGPIPE, never by a
/// panic (exit 101) on the next print.
#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(["show", "ports", "--json", "--example", "family"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    const SIGPIPE: i32 = 13;
    assert_eq!(out.status.signal(), Some(SIGPIPE), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
