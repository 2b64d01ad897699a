//! The real Alertmanager on loopback, for the alert tests: a generated
//! module written as `homelab build` writes it, its configuration
//! evaluated by the real `nix-instantiate`, fitted to Debian's
//! Alertmanager where that one predates the pinned release, started on a
//! free port, and handed alerts as vmalert hands them (through `amtool`).

use compile::render::File;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Runs a tool and asserts it succeeded, showing its output otherwise.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .expect("the tool runs (see the README's test command)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?}\n{text}");
    text
}

/// Writes the example's files below `dir`, as `homelab build` would (the
/// header is a YAML comment too).
pub fn write(files: &[File], dir: &Path) {
    for f in files {
        let path = dir.join(&f.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, operate::flake_tree::with_header(f, "homelab.toml")).unwrap();
    }
}

/// Evaluates one attribute of a generated module with stand-in arguments
/// (no nixpkgs offline); only that attribute is forced.
pub fn eval(file: &Path, attr: &str) -> Value {
    eval_with(file, &format!("m.{attr}"))
}

/// Evaluates an expression of `m`, a generated module called with stand-in
/// arguments. Paths come out as the text of where they point
/// (`toString`), not copied to a store.
pub fn eval_with(file: &Path, expr: &str) -> Value {
    let expr = format!(
        "let m = import {} {{ config = {{ }}; lib = {{ }}; pkgs = {{ }}; inputs = {{ }}; }}; \
         text = x: if builtins.isPath x then toString x \
           else if builtins.isList x then map text x \
           else if builtins.isAttrs x then builtins.mapAttrs (_: text) x else x; \
         in text ({expr})",
        file.display()
    );
    let out =
        run(Command::new("nix-instantiate").args(["--eval", "--strict", "--json", "-E", &expr]));
    serde_json::from_str(&out).unwrap()
}

/// A free loopback port (bound, then released for the server to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Stops a server started by the test when the test ends, however it ends.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The secrets Alertmanager reads from files: the `*_file` fields of the
/// pinned release (0.33) and the field Debian's 0.25 has instead. 0.25
/// predates them (Pushover's, Telegram's and the webhook's came with
/// 0.26, Discord's with 0.27), and knows the relay password's file only.
pub const FILE_FIELDS: [(&str, &str); 5] = [
    ("user_key_file", "user_key"),
    ("token_file", "token"),
    ("bot_token_file", "bot_token"),
    ("webhook_url_file", "webhook_url"),
    ("url_file", "url"),
];

/// Fits a configuration for the pinned release to Debian's 0.25: each
/// `*_file` of [`FILE_FIELDS`] in a receiver becomes the field 0.25 has,
/// with the value `inline` gives for (that field, the file's path). The
/// rest of the configuration stays as generated.
pub fn for_debian(config: &mut Value, inline: impl Fn(&str, &str) -> String) {
    for receiver in config["receivers"].as_array_mut().unwrap() {
        for (key, integrations) in receiver.as_object_mut().unwrap() {
            if !key.ends_with("_configs") {
                continue;
            }
            for i in integrations.as_array_mut().unwrap() {
                let i = i.as_object_mut().unwrap();
                for (file, field) in FILE_FIELDS {
                    if let Some(path) = i.remove(file) {
                        let value = inline(field, path.as_str().unwrap());
                        i.insert(field.into(), value.into());
                    }
                }
            }
        }
    }
}

/// Starts the real Alertmanager with `config` in `dir`, on a free
/// loopback port, without its cluster port.
pub fn start(dir: &Path, config: &Value) -> (Server, u16) {
    let yml = dir.join("alertmanager.yml");
    std::fs::write(&yml, config.to_string()).unwrap();
    let port = free_port();
    let server = Server(
        Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", yml.display()))
            .arg(format!("--storage.path={}", dir.join("am").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("prometheus-alertmanager runs"),
    );
    (server, port)
}

/// Adds an alert with `amtool` (labels as `name=value`, then
/// `--annotation=…` arguments), retrying until Alertmanager is up; false
/// when it never took it.
pub fn add_alert(port: u16, args: &[&str]) -> bool {
    let url = format!("http://127.0.0.1:{port}");
    (0..100).any(|_| {
        let ok = Command::new("amtool")
            .arg(format!("--alertmanager.url={url}"))
            .args(["alert", "add"])
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        ok
    })
}

/// A mail relay on loopback that accepts one login and any mail, and
/// hands back each conversation it had.
pub fn smtp_sink() -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut out) = stream else { return };
            let mut lines = BufReader::new(out.try_clone().unwrap());
            let mut said = String::new();
            let _ = out.write_all(b"220 localhost ESMTP sink\r\n");
            let mut in_data = false;
            let mut line = String::new();
            while lines.read_line(&mut line).unwrap_or(0) > 0 {
                said.push_str(&line);
                let reply: &[u8] = if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        b"250 queued\r\n"
                    } else {
                        b""
                    }
                } else {
                    match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                        "EHLO" => b"250-localhost\r\n250 AUTH PLAIN LOGIN\r\n",
                        "AUTH" => b"235 accepted\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go on\r\n"
                        }
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 ok\r\n",
                    }
                };
                let _ = out.write_all(reply);
                line.clear();
            }
            let _ = tx.send(said);
        }
    });
    (port, rx)
}
