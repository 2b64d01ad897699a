//! The secret files next to the flake, checked against real age files
//! encrypted with the `age` library to real OpenSSH keys (`ssh-keygen`).

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::str::FromStr;

#[path = "support/bin.rs"]
mod bin;
use bin::keygen;

fn encrypt(to: &[&str], path: &Path) {
    let recipients: Vec<age::ssh::Recipient> = to
        .iter()
        .map(|k| age::ssh::Recipient::from_str(k).unwrap())
        .collect();
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .unwrap();
    let mut out = Vec::new();
    let mut w = encryptor.wrap_output(&mut out).unwrap();
    w.write_all(b"s3cr3t").unwrap();
    w.finish().unwrap();
    std::fs::write(path, out).unwrap();
}

fn codes(dir: &Path) -> (i32, Vec<(String, String)>) {
    let out = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(["check", "--format", "json"])
        .current_dir(dir)
        .output()
        .unwrap();
    let diags: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = diags
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"].as_str().unwrap().starts_with("secret"))
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (out.status.code().unwrap(), found)
}

#[test]
fn secret_files_must_exist_be_encrypted_and_reach_their_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let admin = keygen(keys.path(), "admin");
    let host = keygen(keys.path(), "host");
    let spec = format!(
        r#"[homelab]
name = "home"
domain = "example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["{admin}"]

[hosts.server]
address = "192.168.1.10"
ram_gb = 16
host_key = "{host}"

[hosts.server.boot]
disk = "/dev/disk/by-id/nvme-SSD"

[services.vaultwarden]

[access.proxy]
dns_provider = "cloudflare"
credentials_secret = "acme-dns"

[backup]
repository = "s3:https://s3.example.org/home"
password_secret = "restic-password"
"#
    );
    std::fs::write(dir.path().join("homelab.toml"), spec).unwrap();
    let built = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .arg("build")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let secrets = dir.path().join("flake/secrets");

    let (code, found) = codes(dir.path());
    assert_eq!(code, 0, "missing files are warnings");
    let missing: Vec<&str> = found
        .iter()
        .filter(|(c, _)| c == "secret-missing")
        .map(|(_, m)| m.as_str())
        .collect();
    assert_eq!(
        missing,
        [
            "secret `vaultwarden-admin-password` has no file secrets/vaultwarden-admin-password.age yet",
            "secret `vaultwarden-admin-token` has no file secrets/vaultwarden-admin-token.age yet",
            "secret `acme-dns` has no file secrets/acme-dns.age yet",
            "secret `restic-password` has no file secrets/restic-password.age yet",
        ]
    );

    encrypt(&[&admin, &host], &secrets.join("acme-dns.age"));
    // The admin's copy of the password: the host keeps only its hash.
    encrypt(&[&admin], &secrets.join("vaultwarden-admin-password.age"));
    encrypt(&[&admin], &secrets.join("restic-password.age"));
    std::fs::write(
        secrets.join("vaultwarden-admin-token.age"),
        "ADMIN_TOKEN=plain\n",
    )
    .unwrap();
    let (code, found) = codes(dir.path());
    assert_eq!(code, 1);
    assert_eq!(
        found,
        [
            (
                "secret-plaintext".to_string(),
                "secrets/vaultwarden-admin-token.age is not age-encrypted".to_string()
            ),
            (
                "secret-recipients".to_string(),
                "secrets/restic-password.age is not encrypted to host `server`".to_string()
            ),
        ]
    );

    // Re-encrypted to both, and the token encrypted: nothing left to say.
    encrypt(&[&admin, &host], &secrets.join("restic-password.age"));
    encrypt(
        &[&admin, &host],
        &secrets.join("vaultwarden-admin-token.age"),
    );
    let (code, found) = codes(dir.path());
    assert_eq!((code, found), (0, vec![]));
}
