//! `homelab secrets` against the real tools: keys from `ssh-keygen` and
//! `age-keygen`, files read and written by the `age` command line, and
//! the binary itself as a user runs it.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[path = "support/bin.rs"]
mod bin;
#[path = "support/own_keys.rs"]
mod own_keys;
use bin::keygen;

/// A folder with an admin key, two host keys and a spec whose secrets
/// `s1` (host a), `s2` (host b) and `s3` (admin only) are declared.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let admin = keygen(dir.path(), "admin");
        let a = keygen(dir.path(), "a");
        keygen(dir.path(), "b");
        let spec = format!(
            r#"[homelab]
name = "home"
domain = "example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["{admin}"]

[hosts.a]
address = "192.168.1.10"
ram_gb = 16
host_key = "{a}"  # the first server

# The second server, not installed yet.
[hosts.b]
address = "127.0.0.1"
ram_gb = 8

[secrets.s1]
hosts = ["a"]

[secrets.s2]
hosts = ["b"]

[secrets.s3]

[hosts.a.boot]
disk = "/dev/disk/by-id/nvme-A"

[hosts.b.boot]
disk = "/dev/disk/by-id/nvme-B"
"#
        );
        std::fs::write(dir.path().join("homelab.toml"), spec).unwrap();
        Lab { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn secret(&self, name: &str) -> PathBuf {
        self.path(&format!("flake/secrets/{name}.age"))
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        run_in(self.dir.path(), args, stdin, &[])
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        run_in(self.dir.path(), args, b"", env)
    }
}

fn run_in(dir: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    bin::finish_within_a_minute(
        Command::new(env!("CARGO_BIN_EXE_homelab"))
            .args(args)
            .current_dir(dir)
            .env("HOMELAB_IDENTITY", dir.join("admin"))
            .envs(env.iter().copied()),
        stdin,
    )
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the real `age` CLI decrypts `file` to with `key`, or `None`.
fn age_decrypt(file: &Path, key: &Path) -> Option<Vec<u8>> {
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(key)
        .arg(file)
        .output()
        .expect("age runs (Debian age)");
    out.status.success().then_some(out.stdout)
}

#[test]
fn a_file_set_by_homelab_is_decrypted_by_the_age_cli_with_host_and_admin_keys() {
    let lab = Lab::new();
    ok(&lab.run(&["secrets", "set", "s1"], b"correct horse\n"));
    let file = lab.secret("s1");
    assert_eq!(
        age_decrypt(&file, &lab.path("a")).unwrap(),
        b"correct horse\n"
    );
    assert_eq!(
        age_decrypt(&file, &lab.path("admin")).unwrap(),
        b"correct horse\n"
    );
    // Host b does not use s1: not a recipient.
    assert_eq!(age_decrypt(&file, &lab.path("b")), None);
}

#[test]
fn files_written_by_the_age_cli_are_shown() {
    let lab = Lab::new();
    std::fs::create_dir_all(lab.path("flake/secrets")).unwrap();
    // To the admin's SSH key, as `agenix -e` or a user with age would.
    let written = Command::new("age")
        .arg("-R")
        .arg(lab.path("admin.pub"))
        .arg("-o")
        .arg(lab.secret("s3"))
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(b"from age -R")?;
            c.wait()
        })
        .unwrap();
    assert!(written.success());
    assert_eq!(ok(&lab.run(&["secrets", "show", "s3"], b"")), "from age -R");

    // Armored, to a native X25519 recipient, read with an age identity file.
    let key = lab.path("admin.agekey");
    assert!(
        Command::new("age-keygen")
            .arg("-o")
            .arg(&key)
            .output()
            .unwrap()
            .status
            .success()
    );
    let text = std::fs::read_to_string(&key).unwrap();
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap();
    let written = Command::new("age")
        .args(["-a", "-r", recipient, "-o"])
        .arg(lab.secret("s1"))
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(b"x25519 value")?;
            c.wait()
        })
        .unwrap();
    assert!(written.success());
    let shown = lab.run(
        &["secrets", "show", "s1", "--identity", key.to_str().unwrap()],
        b"",
    );
    assert_eq!(ok(&shown), "x25519 value");
}

#[test]
fn set_refuses_an_empty_value_and_writes_nothing() {
    let lab = Lab::new();
    for empty in [&b""[..], b"\n", b"  \n"] {
        let out = lab.run(&["secrets", "set", "s1"], empty);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("refusing an empty value for `s1`"));
        assert!(!lab.secret("s1").exists());
    }
}

#[test]
fn a_wrong_identity_gives_one_clear_message() {
    let lab = Lab::new();
    ok(&lab.run(&["secrets", "set", "s3"], b"v"));
    let out = lab.run(&["secrets", "show", "s3", "--identity", "b"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: secrets/s3.age is not encrypted to the identity b (SSH key)"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = lab.run(
        &["secrets", "show", "s3", "--identity", "homelab.toml"],
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("homelab.toml is not a usable identity"),
        "{err}"
    );
}

#[test]
fn rekey_follows_added_replaced_and_removed_hosts_and_leaves_the_rest_untouched() {
    let lab = Lab::new();
    for s in ["s1", "s2", "s3"] {
        ok(&lab.run(&["secrets", "set", s], format!("value of {s}").as_bytes()));
    }
    let before = |s: &str| std::fs::read(lab.secret(s)).unwrap();
    let (s1, s3) = (before("s1"), before("s3"));
    assert_eq!(age_decrypt(&lab.secret("s2"), &lab.path("b")), None);

    // Add host b from its public key file, then rekey.
    let out = ok(&lab.run(&["secrets", "add-host", "b", "--key", "b.pub"], b""));
    assert!(out.contains("SHA256:"), "{out}");
    let spec = std::fs::read_to_string(lab.path("homelab.toml")).unwrap();
    assert!(spec.contains("# The second server, not installed yet."));
    assert!(spec.contains("  # the first server"));
    let out = ok(&lab.run(&["secrets", "rekey"], b""));
    assert!(out.contains("rekeyed secrets/s2.age"), "{out}");
    assert!(!out.contains("s1.age") && !out.contains("s3.age"), "{out}");
    assert_eq!(
        age_decrypt(&lab.secret("s2"), &lab.path("b")).unwrap(),
        b"value of s2"
    );
    assert_eq!(before("s1"), s1, "s1's recipients did not change");
    assert_eq!(before("s3"), s3, "s3's recipients did not change");

    // Host a is reinstalled with a new key: its old key no longer reads s1.
    keygen(lab.dir.path(), "a2");
    ok(&lab.run(&["secrets", "add-host", "a", "--key", "a2.pub"], b""));
    let spec = std::fs::read_to_string(lab.path("homelab.toml")).unwrap();
    assert!(
        spec.contains("  # the first server"),
        "comment after the key kept:\n{spec}"
    );
    ok(&lab.run(&["secrets", "rekey"], b""));
    assert_eq!(
        age_decrypt(&lab.secret("s1"), &lab.path("a2")).unwrap(),
        b"value of s1"
    );
    assert_eq!(age_decrypt(&lab.secret("s1"), &lab.path("a")), None);

    // s2 no longer goes to host b: b's key no longer decrypts it.
    let spec = spec.replace("[secrets.s2]\nhosts = [\"b\"]", "[secrets.s2]");
    std::fs::write(lab.path("homelab.toml"), spec).unwrap();
    let s3 = before("s3");
    ok(&lab.run(&["secrets", "rekey"], b""));
    assert_eq!(age_decrypt(&lab.secret("s2"), &lab.path("b")), None);
    assert_eq!(
        age_decrypt(&lab.secret("s2"), &lab.path("admin")).unwrap(),
        b"value of s2"
    );
    assert_eq!(before("s3"), s3);
    let out = ok(&lab.run(&["secrets", "rekey"], b""));
    assert!(out.contains("nothing to rekey"), "{out}");
}

/// A stub `$EDITOR`: records the path it was given, then runs `body`.
fn editor(lab: &Lab, body: &str) -> (String, PathBuf) {
    let record = lab.path("edited-path");
    let script = lab.path("editor.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n{body}\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script.display().to_string(), record)
}

#[test]
fn edit_leaves_no_plaintext_whatever_the_editor_does() {
    let lab = Lab::new();
    ok(&lab.run(&["secrets", "set", "s1"], b"old value"));
    let original = std::fs::read(lab.secret("s1")).unwrap();
    let cases = [
        (
            "exits non-zero",
            "printf 'half-typed' > \"$1\"\nexit 3",
            Some(2),
        ),
        (
            "is killed",
            "printf 'half-typed' > \"$1\"\nkill -9 $$",
            Some(2),
        ),
        (
            "saves nothing new",
            "test \"$(cat \"$1\")\" = 'old value'",
            Some(0),
        ),
    ];
    for (what, body, code) in cases {
        let (script, record) = editor(&lab, body);
        let out = lab.run_env(&["secrets", "edit", "s1"], &[("EDITOR", script.as_str())]);
        assert_eq!(
            out.status.code(),
            code,
            "editor {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let edited = PathBuf::from(std::fs::read_to_string(&record).unwrap());
        assert!(edited.is_absolute(), "{what}: {}", edited.display());
        assert!(
            !edited.exists(),
            "editor {what}: {} is still there",
            edited.display()
        );
        assert!(
            !edited.parent().unwrap().exists(),
            "editor {what}: its folder is still there"
        );
        assert_eq!(
            std::fs::read(lab.secret("s1")).unwrap(),
            original,
            "editor {what}: file changed"
        );
    }

    // The file handed to the editor is private, and a real change is saved.
    let (script, record) = editor(
        &lab,
        "stat -c '%a' \"$1\" \"$(dirname \"$1\")\" > \"$1.modes\"; cp \"$1.modes\" /dev/stderr; printf 'new value' > \"$1\"",
    );
    let out = lab.run_env(&["secrets", "edit", "s1"], &[("EDITOR", script.as_str())]);
    ok(&out);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "600\n700\n");
    let edited = PathBuf::from(std::fs::read_to_string(&record).unwrap());
    assert!(!edited.parent().unwrap().exists());
    assert_eq!(
        age_decrypt(&lab.secret("s1"), &lab.path("a")).unwrap(),
        b"new value"
    );
}

#[test]
fn check_names_each_kind_of_problem() {
    let lab = Lab::new();
    let check = |lab: &Lab| {
        let out = lab.run(&["secrets", "check", "--json"], b"");
        let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let kinds: Vec<(String, String)> = found
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["kind"].as_str().unwrap().into(),
                    p["secret"].as_str().unwrap().into(),
                )
            })
            .collect();
        (out.status.code(), kinds)
    };
    let (code, kinds) = check(&lab);
    assert_eq!(code, Some(1));
    for s in ["s1", "s2", "s3"] {
        assert!(kinds.contains(&("missing".into(), s.into())), "{kinds:?}");
    }
    assert!(
        kinds.contains(&("host-without-key".into(), "s2".into())),
        "{kinds:?}"
    );

    ok(&lab.run(&["secrets", "set", "s1"], b"v1"));
    ok(&lab.run(&["secrets", "add-host", "b", "--key", "b.pub"], b""));
    ok(&lab.run(&["secrets", "set", "s2"], b"v2"));
    ok(&lab.run(&["secrets", "set", "s3"], b"v3"));
    assert_eq!(check(&lab), (Some(0), vec![]));

    // Plaintext in place of s1; s2 encrypted with age to host b only (the
    // admin key cannot read it and is not among its recipients); s3 made
    // stale by a new admin key.
    std::fs::write(lab.secret("s1"), "hunter2\n").unwrap();
    let written = Command::new("age")
        .arg("-R")
        .arg(lab.path("b.pub"))
        .arg("-o")
        .arg(lab.secret("s2"))
        .arg(lab.path("b.pub"))
        .status()
        .unwrap();
    assert!(written.success());
    let (code, kinds) = check(&lab);
    assert_eq!(code, Some(1));
    assert!(
        kinds.contains(&("plaintext".into(), "s1".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("stale-recipients".into(), "s2".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("undecryptable".into(), "s2".into())),
        "{kinds:?}"
    );
    assert!(!kinds.iter().any(|(_, s)| s == "s3"), "{kinds:?}");

    // Human output: one message per problem, exit 1.
    let out = lab.run(&["secrets", "check"], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error[plaintext]: secrets/s1.age is not age-encrypted"),
        "{err}"
    );
    assert!(
        err.contains(
            "error[stale-recipients]: secrets/s2.age is not encrypted to admin key `admin`"
        ),
        "{err}"
    );
    assert!(
        err.contains("error[undecryptable]: secrets/s2.age is not encrypted to the identity"),
        "{err}"
    );
    assert!(!err.contains("hunter2"));
}

#[test]
fn generate_makes_only_what_is_missing_unless_asked() {
    let lab = Lab::new();
    let spec = std::fs::read_to_string(lab.path("homelab.toml")).unwrap();
    std::fs::write(lab.path("homelab.toml"), format!("{spec}\n[services.vaultwarden]\nhost = \"a\"\nexposure = \"host\"\n\n[services.vaultwarden.silence]\nno-offsite = \"a test\"\n")).unwrap();
    let out = ok(&lab.run(&["secrets", "generate"], b""));
    assert!(
        out.contains("generated secrets/vaultwarden-admin-password.age"),
        "{out}"
    );
    assert!(
        out.contains("still to set by hand (`homelab secrets set NAME`): s1, s2, s3"),
        "{out}"
    );
    let password = ok(&lab.run(&["secrets", "show", "vaultwarden-admin-password"], b""));
    assert_eq!(password.len(), 32);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    // The host holds only the hash (and cannot read the password).
    let token = age_decrypt(&lab.secret("vaultwarden-admin-token"), &lab.path("a")).unwrap();
    let token = String::from_utf8(token).unwrap();
    assert!(token.starts_with("ADMIN_TOKEN='$argon2id$v=19$"), "{token}");
    assert!(!token.contains(&password));
    assert_eq!(
        age_decrypt(&lab.secret("vaultwarden-admin-password"), &lab.path("a")),
        None
    );

    let files = |lab: &Lab| {
        ["vaultwarden-admin-password", "vaultwarden-admin-token"]
            .map(|s| std::fs::read(lab.secret(s)).unwrap())
    };
    let first = files(&lab);
    let out = ok(&lab.run(&["secrets", "generate"], b""));
    assert!(out.contains("nothing generated"), "{out}");
    assert_eq!(files(&lab), first);

    // Regenerating the password makes its hash again with it.
    ok(&lab.run(
        &[
            "secrets",
            "generate",
            "--regenerate",
            "vaultwarden-admin-password",
        ],
        b"",
    ));
    let second = files(&lab);
    assert_ne!(second[0], first[0]);
    assert_ne!(second[1], first[1]);
    let out = lab.run(&["secrets", "generate", "s1"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`s1` is not machine-made"));
}

#[test]
fn add_host_generate_keeps_the_private_half_encrypted_to_the_admin() {
    let lab = Lab::new();
    ok(&lab.run(&["secrets", "add-host", "b", "--generate"], b""));
    let private = age_decrypt(
        &lab.path("flake/secrets/host-keys/b.age"),
        &lab.path("admin"),
    )
    .unwrap();
    let key = lab.path("b-installed");
    std::fs::write(&key, private).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let public = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&key)
        .output()
        .unwrap();
    assert!(public.status.success());
    let public = String::from_utf8(public.stdout).unwrap();
    let public: Vec<&str> = public.split_whitespace().take(2).collect();
    let spec = std::fs::read_to_string(lab.path("homelab.toml")).unwrap();
    assert!(
        spec.contains(&format!("host_key = \"{}\"", public.join(" "))),
        "{spec}"
    );
    // Secrets for b now decrypt with the key the installer will place.
    ok(&lab.run(&["secrets", "set", "s2"], b"for b"));
    assert_eq!(age_decrypt(&lab.secret("s2"), &key).unwrap(), b"for b");
    // Made once: a second --generate would orphan an installed host.
    let out = lab.run(&["secrets", "add-host", "b", "--generate"], b"");
    assert_eq!(out.status.code(), Some(2));
}

/// Every built-in example, with the test's admin key in place of the
/// example's: build, generate the machine-made secrets, set the others,
/// and `check` passes. Then no generated file and no host plan holds any
/// of the values.
#[test]
fn every_example_generates_and_checks_clean_and_no_value_reaches_the_flake() {
    for example in compile::examples::names() {
        let dir = tempfile::tempdir().unwrap();
        let admin = keygen(dir.path(), "admin");
        let text = own_keys::own_keys(compile::examples::get(example).unwrap());
        let spec: String = text
            .lines()
            .map(|l| {
                if l.starts_with("admin_keys") {
                    format!("admin_keys = [\"{admin}\"]\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        assert_ne!(spec, text, "{example}: the admin key was replaced");
        std::fs::write(dir.path().join("homelab.toml"), &spec).unwrap();
        let run = |args: &[&str], stdin: &[u8]| run_in(dir.path(), args, stdin, &[]);

        ok(&run(&["build"], b""));
        ok(&run(&["secrets", "generate"], b""));
        let list: serde_json::Value =
            serde_json::from_str(&ok(&run(&["secrets", "list", "--json"], b""))).unwrap();
        // Set what only the admin knows; then `generate` makes what is
        // derived from it (the SMTP password's copy for Gatus).
        for s in list.as_array().unwrap() {
            let name = s["name"].as_str().unwrap();
            if s["state"] == "missing" && s["machine_made"] == false {
                let value = format!("{name}-value-{}", std::process::id());
                ok(&run(&["secrets", "set", name], value.as_bytes()));
            }
        }
        ok(&run(&["secrets", "generate"], b""));
        let list: serde_json::Value =
            serde_json::from_str(&ok(&run(&["secrets", "list", "--json"], b""))).unwrap();
        let mut values = Vec::new();
        for s in list.as_array().unwrap() {
            let name = s["name"].as_str().unwrap();
            assert_ne!(s["state"], "missing", "{example}: {name} was not made");
            values.push(ok(&run(&["secrets", "show", name], b"")));
        }
        assert!(!values.is_empty(), "{example} uses secrets");
        let out = run(&["secrets", "check"], b"");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The spec may have changed (a generated key's public half): build again.
        ok(&run(&["build"], b""));
        let out = run(&["check"], b"");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        let mut files = Vec::new();
        collect(&dir.path().join("flake"), &mut files);
        let generated: Vec<&PathBuf> = files
            .iter()
            .filter(|f| f.extension().is_none_or(|e| e != "age"))
            .collect();
        assert!(generated.iter().any(|f| f.ends_with("flake.nix")));
        for f in generated {
            let text = std::fs::read(f).unwrap();
            let text = String::from_utf8_lossy(&text);
            for v in &values {
                // Every line of a multi-line value (an environment file).
                // Of a `KEY=value` line only the value is secret: a login
                // name beside it (`RESTIC_REST_USERNAME=server`) is not.
                let parts = v.lines().map(|l| {
                    let l = l.trim();
                    match l.split_once('=') {
                        Some((k, value)) if is_variable(k) => value,
                        _ => l,
                    }
                });
                for part in parts.filter(|p| p.len() >= 8) {
                    assert!(
                        !text.contains(part),
                        "{example}: {} holds a secret value",
                        f.display()
                    );
                }
            }
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A real sshd on a free loopback port, stopped when dropped.
struct Sshd {
    child: std::process::Child,
    port: u16,
}

impl Sshd {
    fn start(host_key: &Path) -> Sshd {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/sbin/sshd")
            .args([
                "-D",
                "-e",
                "-f",
                "/dev/null",
                "-o",
                "ListenAddress=127.0.0.1",
                "-o",
                "PidFile=none",
            ])
            .args(["-o", &format!("Port={port}")])
            .arg("-o")
            .arg(format!("HostKey={}", host_key.display()))
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd runs (Debian openssh-server)");
        let sshd = Sshd { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return sshd;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        drop(sshd);
        panic!("sshd did not listen on port {port}");
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn add_host_scan_asks_the_running_host_with_ssh_keyscan() {
    let lab = Lab::new();
    let sshd = Sshd::start(&lab.path("b"));
    let port = sshd.port.to_string();
    let out = ok(&lab.run(
        &["secrets", "add-host", "b", "--scan", "--port", &port],
        b"",
    ));
    drop(sshd);
    let b = std::fs::read_to_string(lab.path("b.pub")).unwrap();
    let b: Vec<&str> = b.split_whitespace().take(2).collect();
    let b = b.join(" ");
    assert!(out.contains(&b), "{out}");
    let fingerprint = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(lab.path("b.pub"))
        .output()
        .unwrap();
    let fingerprint = String::from_utf8(fingerprint.stdout).unwrap();
    assert!(
        out.contains(fingerprint.split_whitespace().nth(1).unwrap()),
        "{out}\n{fingerprint}"
    );
    let spec = std::fs::read_to_string(lab.path("homelab.toml")).unwrap();
    assert!(
        spec.contains(&format!(
            "address = \"127.0.0.1\"\nram_gb = 8\nhost_key = \"{b}\""
        )),
        "{spec}"
    );
    ok(&lab.run(&["secrets", "set", "s2"], b"for b"));
    assert_eq!(
        age_decrypt(&lab.secret("s2"), &lab.path("b")).unwrap(),
        b"for b"
    );

    // Nobody listening: one clear error, the spec untouched.
    let out = lab.run(
        &["secrets", "add-host", "a", "--scan", "--port", &port],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did not answer with an ed25519 host key"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(lab.path("homelab.toml")).unwrap(),
        spec
    );
}

#[test]
fn a_new_admin_key_is_taken_in_by_rekey_also_for_host_keys() {
    let lab = Lab::new();
    ok(&lab.run(&["secrets", "add-host", "b", "--generate"], b""));
    ok(&lab.run(&["secrets", "set", "s3"], b"admin only"));
    let admin = std::fs::read_to_string(lab.path("admin.pub")).unwrap();
    let second = keygen(lab.dir.path(), "admin2");
    let spec = std::fs::read_to_string(lab.path("homelab.toml")).unwrap();
    let spec = spec.replace(
        &format!("admin_keys = [\"{}\"]", admin.trim()),
        &format!("admin_keys = [\"{}\", \"{second}\"]", admin.trim()),
    );
    std::fs::write(lab.path("homelab.toml"), spec).unwrap();
    let list = ok(&lab.run(&["secrets", "list", "--json"], b""));
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let stale: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] == "stale")
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(stale, ["s3", "host-keys/b"]);
    ok(&lab.run(&["secrets", "rekey"], b""));
    assert_eq!(
        age_decrypt(&lab.secret("s3"), &lab.path("admin2")).unwrap(),
        b"admin only"
    );
    assert!(age_decrypt(&lab.secret("host-keys/b"), &lab.path("admin2")).is_some());
}

/// Ctrl-C in the terminal signals the whole foreground process group:
/// homelab holds the signal until the editor is gone, then cleans up.
#[test]
fn edit_cleans_up_after_ctrl_c() {
    use std::os::unix::process::CommandExt;
    let lab = Lab::new();
    ok(&lab.run(&["secrets", "set", "s1"], b"old value"));
    let original = std::fs::read(lab.secret("s1")).unwrap();
    let (script, record) = editor(&lab, "printf 'half-typed' > \"$1\"\nkill -INT 0\nsleep 5");
    let out = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(["secrets", "edit", "s1"])
        .current_dir(lab.dir.path())
        .env("HOMELAB_IDENTITY", lab.path("admin"))
        .env("EDITOR", &script)
        // Its own process group, as a terminal's foreground job has.
        .process_group(0)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("interrupted by signal 2; nothing was changed")
    );
    let edited = PathBuf::from(std::fs::read_to_string(&record).unwrap());
    assert!(
        !edited.parent().unwrap().exists(),
        "{} is still there",
        edited.display()
    );
    assert_eq!(std::fs::read(lab.secret("s1")).unwrap(), original);
}

/// An environment-file variable name: `[A-Z_][A-Z0-9_]*`.
fn is_variable(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The commands that write into the secrets folder, each with the file it
/// would write. [`writing_lab`] gives each something to do.
const WRITERS: [(&[&str], &str); 5] = [
    (&["secrets", "set", "s1"], "s1"),
    (&["secrets", "edit", "s1"], "s1"),
    (&["secrets", "generate"], "vaultwarden-admin-password"),
    (&["secrets", "rekey"], "s1"),
    (&["secrets", "add-host", "b", "--generate"], "host-keys/b"),
];

/// A lab where `s1` is set, a second admin key makes it stale (work for
/// `rekey`) and Vaultwarden's secrets are machine-made (for `generate`).
fn writing_lab() -> Lab {
    let lab = Lab::new();
    ok(&lab.run(&["secrets", "set", "s1"], b"old value"));
    let admin = std::fs::read_to_string(lab.path("admin.pub")).unwrap();
    let second = keygen(lab.dir.path(), "admin2");
    let spec = std::fs::read_to_string(lab.path("homelab.toml"))
        .unwrap()
        .replace(
            &format!("admin_keys = [\"{}\"]", admin.trim()),
            &format!("admin_keys = [\"{}\", \"{second}\"]", admin.trim()),
        );
    std::fs::write(
        lab.path("homelab.toml"),
        format!("{spec}\n[services.vaultwarden]\nhost = \"a\"\nexposure = \"host\"\n\n[services.vaultwarden.silence]\nno-offsite = \"a test\"\n"),
    )
    .unwrap();
    lab
}

fn run_writer(lab: &Lab, args: &[&str]) -> Output {
    let (script, _) = editor(lab, "printf 'new value' > \"$1\"");
    run_in(lab.dir.path(), args, b"new value", &[("EDITOR", &script)])
}

/// Every entry under `dir`: a file's bytes, a symlink's target, a folder.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let kind = std::fs::symlink_metadata(&path).unwrap().file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            out.push((path, target.display().to_string().into_bytes()));
        } else if kind.is_dir() {
            out.push((path.clone(), b"folder".to_vec()));
            out.extend(snapshot(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    out
}

fn refused(out: &Output, args: &[&str], says: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(says), "{args:?}: {stderr}");
    assert!(stderr.contains("nothing was written"), "{args:?}: {stderr}");
}

#[test]
fn every_secrets_write_refuses_a_symlinked_flake_or_secrets_folder() {
    for linked in ["flake", "flake/secrets"] {
        for (args, _) in WRITERS {
            let lab = writing_lab();
            let real = lab.path("elsewhere");
            std::fs::rename(lab.path(linked), &real).unwrap();
            std::os::unix::fs::symlink(&real, lab.path(linked)).unwrap();
            let spec = std::fs::read_to_string(lab.path("homelab.toml")).unwrap();
            let before = snapshot(&real);

            let out = run_writer(&lab, args);
            refused(&out, args, &format!("{linked} is a symlink"));
            assert_eq!(
                snapshot(&real),
                before,
                "{args:?}: the link's target is untouched"
            );
            assert_eq!(
                std::fs::read_to_string(lab.path("homelab.toml")).unwrap(),
                spec,
                "{args:?}: the spec is untouched"
            );
            assert!(
                std::fs::symlink_metadata(lab.path(linked))
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
        }
    }
}

#[test]
fn add_host_generate_refuses_a_symlinked_host_keys_folder() {
    let lab = Lab::new();
    std::fs::create_dir_all(lab.path("flake/secrets")).unwrap();
    std::fs::create_dir(lab.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(lab.path("elsewhere"), lab.path("flake/secrets/host-keys")).unwrap();
    let spec = std::fs::read_to_string(lab.path("homelab.toml")).unwrap();
    let args = ["secrets", "add-host", "b", "--generate"];
    refused(
        &lab.run(&args, b""),
        &args,
        "flake/secrets/host-keys is a symlink",
    );
    assert_eq!(std::fs::read_dir(lab.path("elsewhere")).unwrap().count(), 0);
    assert_eq!(
        std::fs::read_to_string(lab.path("homelab.toml")).unwrap(),
        spec
    );
}

#[test]
fn a_secret_file_that_is_a_symlink_is_refused_and_its_target_untouched() {
    for (args, name) in WRITERS {
        let lab = writing_lab();
        let file = lab.secret(name);
        let victim = lab.path("victim.age");
        match std::fs::rename(&file, &victim) {
            Ok(()) => {}
            Err(_) => std::fs::write(&victim, "precious").unwrap(),
        }
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&victim, &file).unwrap();
        let before = std::fs::read(&victim).unwrap();

        let out = run_writer(&lab, args);
        refused(&out, args, &format!("secrets/{name}.age is a symlink"));
        assert_eq!(std::fs::read(&victim).unwrap(), before, "{args:?}");
        assert!(
            std::fs::symlink_metadata(&file)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}

#[test]
fn a_secret_file_that_is_a_fifo_is_refused_promptly() {
    use std::os::unix::fs::FileTypeExt;
    for (args, name) in WRITERS {
        let lab = writing_lab();
        let file = lab.secret(name);
        let _ = std::fs::remove_file(&file);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        assert!(
            Command::new("mkfifo")
                .arg(&file)
                .status()
                .unwrap()
                .success()
        );

        let out = run_writer(&lab, args);
        refused(&out, args, &format!("secrets/{name}.age is a FIFO"));
        assert!(
            std::fs::symlink_metadata(&file)
                .unwrap()
                .file_type()
                .is_fifo()
        );
    }
    // Reading commands stop on it too, rather than wait for a writer.
    let lab = writing_lab();
    std::fs::remove_file(lab.secret("s1")).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(lab.secret("s1"))
            .status()
            .unwrap()
            .success()
    );
    for args in [
        &["secrets", "list"][..],
        &["secrets", "check"],
        &["secrets", "show", "s1"],
    ] {
        let out = lab.run(args, b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("secrets/s1.age is a FIFO, not a file"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_symlinked_spec_is_not_replaced_by_a_spec_edit() {
    let lab = Lab::new();
    std::fs::create_dir(lab.path("dotfiles")).unwrap();
    let real = lab.path("dotfiles/homelab.toml");
    std::fs::rename(lab.path("homelab.toml"), &real).unwrap();
    std::os::unix::fs::symlink(&real, lab.path("homelab.toml")).unwrap();
    let spec = std::fs::read_to_string(&real).unwrap();
    for args in [
        &["secrets", "add-host", "b", "--key", "b.pub"][..],
        &["secrets", "add-host", "b", "--generate"],
    ] {
        refused(&lab.run(args, b""), args, "homelab.toml is a symlink");
        assert_eq!(std::fs::read_to_string(&real).unwrap(), spec);
        assert!(
            std::fs::symlink_metadata(lab.path("homelab.toml"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
    assert!(
        !lab.path("flake/secrets/host-keys/b.age").exists(),
        "no key made for a spec it cannot record it in"
    );
}

#[test]
fn secrets_made_before_the_first_build_are_taken_over_and_counted_alike() {
    // The install guide's order: the host key and the secrets first, then
    // the first build, into the folder `homelab secrets` created.
    let lab = Lab::new();
    ok(&lab.run(&["secrets", "add-host", "b", "--generate"], b""));
    for name in ["s1", "s2", "s3"] {
        ok(&lab.run(&["secrets", "set", name], b"value\n"));
    }
    ok(&lab.run(&["secrets", "check"], b""));
    let build = lab.run(&["build"], b"");
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(build.status.success(), "{stderr}");
    assert!(!stderr.contains("secret-missing"), "{stderr}");
    assert!(lab.path("flake/flake.nix").is_file());
    assert!(lab.secret("host-keys/b").is_file(), "the secrets are kept");
    // `check` after the build reads the same files.
    let check = lab.run(&["check"], b"");
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{stderr}");
    assert!(!stderr.contains("secret-missing"), "{stderr}");
}

#[test]
fn one_missing_secret_is_named_before_the_first_build() {
    let lab = Lab::new();
    ok(&lab.run(&["secrets", "set", "s1"], b"value\n"));
    let check = lab.run(&["check"], b"");
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.contains("secret `s2` has no file secrets/s2.age yet")
            && stderr.contains("secret `s3` has no file secrets/s3.age yet")
            && !stderr.contains("s1.age"),
        "{stderr}"
    );
}

#[test]
fn build_refuses_a_folder_with_anything_besides_the_secrets() {
    let lab = Lab::new();
    ok(&lab.run(&["secrets", "set", "s1"], b"value\n"));
    std::fs::write(lab.path("flake/secrets/notes.txt"), "mine").unwrap();
    let build = lab.run(&["build"], b"");
    assert!(!build.status.success());
    assert!(
        String::from_utf8_lossy(&build.stderr).contains("holds no flake generated by homelab"),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    assert!(!lab.path("flake/flake.nix").exists());
}
