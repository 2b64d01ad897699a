//! The `homelab` binary as a user runs it, and the keys tests encrypt to.

use std::path::Path;
use std::process::Command;

/// Runs `homelab` with `args` in `dir`; returns exit code, stdout, stderr.
#[allow(dead_code)] // not every test binary runs the CLI
pub fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("homelab runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Makes an ed25519 key pair `dir/name` with the real `ssh-keygen`;
/// returns the public key line.
#[allow(dead_code)] // not every test binary makes keys
pub fn keygen(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs (Debian openssh-client)");
    assert!(ok.success());
    std::fs::read_to_string(path.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string()
}

/// Runs `cmd` with `stdin` and waits at most a minute: a command that
/// blocks (on a FIFO, say) is killed and fails the test instead of hanging
/// the run.
#[allow(dead_code)] // not every test binary needs a deadline
pub fn finish_within_a_minute(cmd: &mut Command, stdin: &[u8]) -> std::process::Output {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = r.read_to_end(&mut out);
            out
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within a minute: it blocks");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}
