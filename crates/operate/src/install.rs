//! A first install with nixos-anywhere and disko, as the seeds do it by
//! hand, in the one order that works: the host's SSH key exists before
//! the install and the secrets are encrypted to it, so agenix decrypts
//! them on the first boot; the key reaches the new system through
//! `--extra-files`; disko lays out the disks the spec names (so a target
//! whose disks are not those is refused first); the hardware scan lands in
//! `hosts/<host>/hardware.nix`.
//!
//! nixos-anywhere runs `ssh` with options of its own and sets
//! `NIX_SSHOPTS` itself for `nix copy`, so an ssh configuration file
//! (`ssh -F`) reaches it only through the `ssh` it finds first on its
//! `PATH`: one that reads that file ([`ssh_reading`]).

use crate::runner::{Cmd, Runner, shell_quote};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The disks the spec names that the target does not have, by their
/// `/dev/disk/by-id` names. What the target lists is only compared.
pub fn missing_disks(target: &dyn Runner, expected: &[String]) -> Result<Vec<String>, String> {
    let out = target
        .run(&Cmd::new("ls").args(["-1", "/dev/disk/by-id"]))
        .map_err(|e| format!("cannot run ssh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "listing the target's disks failed: {}",
            crate::backup::last_words(&out.stderr)
        ));
    }
    let present: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    Ok(expected
        .iter()
        .filter(|d| {
            let name = d.strip_prefix("/dev/disk/by-id/").unwrap_or(d);
            !present.iter().any(|p| p == name)
        })
        .cloned()
        .collect())
}

/// The folder nixos-anywhere copies onto the new system: the host's SSH
/// key pair at `etc/ssh/`, the private half readable by root only.
pub fn extra_files(dir: &Path, private: &[u8], public: &str) -> std::io::Result<()> {
    let ssh = dir.join("etc/ssh");
    std::fs::create_dir_all(&ssh)?;
    let key = ssh.join("ssh_host_ed25519_key");
    crate::fs_guard::write_file(&key, private)?;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
    let public_file = ssh.join("ssh_host_ed25519_key.pub");
    crate::fs_guard::write_file(&public_file, format!("{}\n", public.trim()).as_bytes())?;
    std::fs::set_permissions(&public_file, std::fs::Permissions::from_mode(0o644))
}

/// Writes `dir/ssh`: the system's `ssh` (the first on `path`, which must
/// not hold `dir`) reading `config` instead of the user's configuration.
/// Put ahead on nixos-anywhere's `PATH`, every ssh it runs (its own,
/// `ssh-copy-id`'s, `nix copy`'s) reads the file.
pub fn ssh_reading(dir: &Path, config: &Path, path: &std::ffi::OsStr) -> std::io::Result<()> {
    let ssh = std::env::split_paths(path)
        .map(|d| d.join("ssh"))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no ssh on PATH"))?;
    let config = std::path::absolute(config)?;
    std::fs::create_dir_all(dir)?;
    let script = dir.join("ssh");
    crate::fs_guard::write_file(
        &script,
        format!(
            "#!/bin/sh\nexec {} -F {} \"$@\"\n",
            shell_quote(&ssh.to_string_lossy()),
            shell_quote(&config.to_string_lossy())
        )
        .as_bytes(),
    )?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700))
}

/// What nixos-anywhere is told.
pub struct Install<'a> {
    /// `path:<flake folder>`.
    pub flake: &'a str,
    pub host: &'a str,
    pub target: &'a str,
    pub port: u16,
    pub extra_files: &'a Path,
    /// Where the hardware scan is written (`hosts/<host>/hardware.nix`).
    pub hardware: PathBuf,
    /// Its `PATH`, when it must find another `ssh` first
    /// ([`ssh_reading`]).
    pub path: Option<&'a std::ffi::OsStr>,
}

/// The nixos-anywhere command line: kexec into its installer, disko, the
/// install with the extra files, the hardware scan, the reboot.
pub fn nixos_anywhere(i: &Install) -> Cmd {
    let mut cmd = Cmd::new("nixos-anywhere").args([
        "--flake".to_string(),
        format!("{}#{}", i.flake, i.host),
        "--target-host".into(),
        format!("root@{}", i.target),
        "--extra-files".into(),
        i.extra_files.display().to_string(),
        "--generate-hardware-config".into(),
        "nixos-generate-config".into(),
        i.hardware.display().to_string(),
    ]);
    if i.port != 22 {
        cmd = cmd.args(["--ssh-port".to_string(), i.port.to_string()]);
    }
    if let Some(path) = i.path {
        cmd = cmd.env("PATH", path.to_string_lossy());
    }
    cmd
}

/// Waits until the host answers over SSH; how long it took.
pub fn wait_for(host: &dyn Runner, within: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut last = String::from("no answer");
    while started.elapsed() < within {
        match host.run(&Cmd::new("true")) {
            Ok(out) if out.status.success() => return Ok(started.elapsed()),
            Ok(out) => last = crate::backup::last_words(&out.stderr),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    Err(format!(
        "{} did not answer over SSH within {} s: {last}",
        host.name(),
        within.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_pair_lands_where_the_new_system_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        extra_files(dir.path(), b"PRIVATE\n", "ssh-ed25519 AAAA root@server").unwrap();
        let key = dir.path().join("etc/ssh/ssh_host_ed25519_key");
        assert_eq!(std::fs::read(&key).unwrap(), b"PRIVATE\n");
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("etc/ssh/ssh_host_ed25519_key.pub")).unwrap(),
            "ssh-ed25519 AAAA root@server\n"
        );
    }

    #[test]
    fn the_ssh_found_first_reads_the_configuration_given() {
        let dir = tempfile::tempdir().unwrap();
        // The system's ssh, here one that prints its arguments.
        let system = dir.path().join("usr bin");
        std::fs::create_dir(&system).unwrap();
        std::fs::write(system.join("ssh"), "#!/bin/sh\nprintf '%s\\n' \"$@\"\n").unwrap();
        std::fs::set_permissions(system.join("ssh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let path = std::env::join_paths([dir.path().join("none"), system]).unwrap();
        let bin = dir.path().join("bin");
        ssh_reading(&bin, Path::new("/etc/it's config"), &path).unwrap();
        let mode = std::fs::metadata(bin.join("ssh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let out = std::process::Command::new(bin.join("ssh"))
            .args(["-p", "2222", "root@192.168.1.50", "true"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "-F\n/etc/it's config\n-p\n2222\nroot@192.168.1.50\ntrue\n"
        );
        let empty = dir.path().join("empty");
        assert!(ssh_reading(&empty, Path::new("/c"), dir.path().as_os_str()).is_err());
    }

    #[test]
    fn nixos_anywhere_is_given_the_flake_the_key_and_the_scan() {
        let cmd = nixos_anywhere(&Install {
            flake: "path:/home/me/flake",
            host: "server",
            target: "192.168.1.50",
            port: 2222,
            extra_files: Path::new("/tmp/x"),
            hardware: PathBuf::from("/home/me/flake/hosts/server/hardware.nix"),
            path: None,
        });
        assert_eq!(
            cmd.shell_line(),
            "nixos-anywhere --flake 'path:/home/me/flake#server' --target-host root@192.168.1.50 \
             --extra-files /tmp/x --generate-hardware-config nixos-generate-config \
             /home/me/flake/hosts/server/hardware.nix --ssh-port 2222"
        );
    }
}
