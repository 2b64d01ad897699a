//! `hosts/<h>/vm-secrets.nix`: the stand-in secrets of a host's VM. A
//! derivation makes a throwaway age identity at build time and encrypts a
//! stand-in of every secret of the host to it; `vm.nix` points agenix at
//! both (docs/testing.md, *Secrets in the VM*, says why this way).

use super::File;
use super::vm::{SECRETS_FILE, host_secrets};
use crate::catalog::Generator;
use crate::fleet::{Fleet, HostPlan, Secret};
use crate::nix::{Attrs, Nix};

/// `hosts/<h>/vm-secrets.nix`: a derivation that makes a throwaway age
/// identity and encrypts a stand-in of every secret of the host to it.
/// The values are fixed text of this renderer, shaped like the real ones
/// where a service parses them (environment lines, an SSH key, a
/// wg-quick file), and are no secret. They reach the build as JSON data
/// (`passAsFile`), never as shell code; the script is fixed text.
pub fn file(fleet: &Fleet, host: &HostPlan) -> File {
    let wireguard = fleet
        .access
        .vpn
        .as_ref()
        .map(|v| v.wireguard_secret.value.as_str());
    let mut texts = Attrs::new();
    let (mut ssh_keys, mut tunnels) = (vec![], vec![]);
    for s in host_secrets(fleet, host) {
        if wireguard == Some(s.name.as_str()) {
            tunnels.push(s.name.clone());
        } else if matches!(s.generator, Some(Generator::SshKey { .. })) {
            ssh_keys.push(s.name.clone());
        } else {
            texts.insert(s.name.clone(), Nix::str(stand_in_value(fleet, s)));
        }
    }
    let mut inputs = Attrs::new();
    inputs.insert(
        "nativeBuildInputs".into(),
        Nix::list(["age", "jq", "openssh", "wireguard-tools"].map(Nix::raw)),
    );
    inputs.insert(
        "texts".into(),
        Nix::call("builtins.toJSON", vec![Nix::Attrs(texts)]),
    );
    inputs.insert("passAsFile".into(), Nix::strs(["texts"]));
    inputs.insert("sshKeys".into(), Nix::strs(ssh_keys));
    inputs.insert("wireguard".into(), Nix::strs(tunnels));
    let body = Nix::call(
        "runCommand",
        vec![
            Nix::str(format!("homelab-vm-secrets-{}", host.name())),
            Nix::Attrs(inputs),
            Nix::str(STAND_IN_SCRIPT),
        ],
    );
    let value = Nix::Lambda {
        formals: ["runCommand", "age", "jq", "openssh", "wireguard-tools"]
            .map(String::from)
            .to_vec(),
        ellipsis: false,
        at: None,
        body: Box::new(body),
    };
    let mut file = File::tool(format!("hosts/{}/{SECRETS_FILE}", host.name()), value);
    file.comment = Some(
        "Stand-in secrets for the VM of this host (checks and build-vm): a throwaway\nage identity and fixed test values, never a real secret."
            .into(),
    );
    file
}

/// The build script of `vm-secrets.nix`. Secret names are checked by the
/// spec (letters, digits, `-`, `_`), so they are safe as words; texts are
/// read from the JSON file. No line is indented, so the file keeps it as
/// an indented string. The tunnel's peer is the VM's own loopback, as in
/// VPN-Confinement's own test: its `vpn-up` waits until `ping` reaches
/// the endpoint (modules/vpn-up.nix at the pinned 880b3bd), then the
/// interface comes up; nothing answers, so no handshake ever happens.
const STAND_IN_SCRIPT: &str = r#"mkdir -p "$out"
age-keygen -o "$out/identity" 2>/dev/null
recipient=$(age-keygen -y "$out/identity")
for name in $(jq -r 'keys[]' "$textsPath"); do
jq -j --arg name "$name" '.[$name]' "$textsPath" | age --encrypt -r "$recipient" -o "$out/$name.age"
done
for name in $sshKeys; do
ssh-keygen -q -t ed25519 -N "" -C homelab-vm-stand-in -f key
age --encrypt -r "$recipient" -o "$out/$name.age" key
rm key key.pub
done
for name in $wireguard; do
printf '[Interface]\nPrivateKey = %s\nAddress = 10.2.0.2/32\n[Peer]\nPublicKey = %s\nAllowedIPs = 0.0.0.0/0\nEndpoint = 127.0.0.1:51820\n' "$(wg genkey)" "$(wg genkey | wg pubkey)" | age --encrypt -r "$recipient" -o "$out/$name.age"
done
"#;

/// The text of a stand-in: the generator's template around a value of its
/// alphabet and length, or a plain marker for a secret the user supplies.
pub(crate) fn stand_in_value(fleet: &Fleet, s: &Secret) -> String {
    let source = |from: &str| {
        fleet
            .secrets
            .get(from)
            .map_or_else(|| marker(from), |f| stand_in_value(fleet, f))
    };
    match &s.generator {
        Some(Generator::Random {
            length,
            alphabet,
            template,
        }) => {
            let chars = alphabet.chars();
            let v: String = (0..usize::from(*length))
                .map(|n| char::from(chars[(n * 7 + 3) % chars.len()]))
                .collect();
            fill(template.as_deref(), "@value@", &v)
        }
        // The service takes the plain password where it expects a hash
        // (Vaultwarden's ADMIN_TOKEN accepts both).
        Some(Generator::Argon2 { from, template }) => fill(Some(template), "@hash@", &source(from)),
        Some(Generator::Copy { from, template }) => fill(Some(template), "@value@", &source(from)),
        _ => marker(&s.name),
    }
}

fn fill(template: Option<&str>, placeholder: &str, v: &str) -> String {
    template.map_or_else(|| v.to_string(), |t| t.replace(placeholder, v))
}

fn marker(name: &str) -> String {
    format!("homelab-vm-stand-in-{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Alphabet;

    fn fleet() -> Fleet {
        crate::compile(crate::examples::get("family").unwrap())
            .unwrap()
            .0
    }

    fn secret(generator: Option<Generator>) -> Secret {
        let mut s = fleet().secrets.values().next().unwrap().clone();
        s.name = "x".into();
        s.generator = generator;
        s
    }

    #[test]
    fn a_generated_stand_in_keeps_its_template_alphabet_and_length() {
        let s = secret(Some(Generator::Random {
            length: 24,
            alphabet: Alphabet::Hex,
            template: Some("TOKEN=@value@\n".into()),
        }));
        let v = stand_in_value(&fleet(), &s);
        let value = v
            .strip_prefix("TOKEN=")
            .unwrap()
            .strip_suffix('\n')
            .unwrap();
        assert_eq!(value.len(), 24);
        assert!(value.bytes().all(|b| Alphabet::Hex.chars().contains(&b)));
    }

    #[test]
    fn a_secret_the_user_supplies_is_a_named_marker() {
        assert_eq!(
            stand_in_value(&fleet(), &secret(None)),
            "homelab-vm-stand-in-x"
        );
    }
}
