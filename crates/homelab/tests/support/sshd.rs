//! A machine that answers over SSH, for the tests that ask a host things
//! (`lab.rs`, `install.rs`): the real `sshd` in the machine's network
//! namespace, in a mount namespace of its own (`unshare -m`) where a
//! folder of the test is mounted over `/var/lib` (homelab's records live
//! at `/var/lib/homelab/…` in it, never on the machine), another over
//! `/usr/local/bin`, holding the stand-ins of `standins.rs` (systemd and
//! NixOS cannot run here: `systemctl show` answers from states the test
//! chooses, `Machine::unit_state`) and any program the test puts there
//! (`Machine::program`), and, where the machine has `/nix`, a tmpfs over
//! it holding the machine's own `/nix/store` and `/nix/var/nix/profiles`,
//! folders of the test too.
//!
//! A machine booted into an installer (`Machine::installer`) has the disks
//! the test chooses, as `/dev/disk/by-id` lists them: a folder of the test
//! holding an empty file for each is mounted there; and its `/mnt`, where
//! an installer mounts the new system's root, is a folder of the test.
//!
//! Root logs in with the test's key; the client's side is an ssh
//! configuration of the test's own (`Client::config`, what `--ssh-config`
//! is given), which knows each machine's host key.
//!
//! Dropping a machine kills what its sshd's namespace does not take with
//! it: an sshd a switch started again, a switch still running in its
//! transient unit.
//!
//! Needs root and OpenSSH.

#![allow(dead_code)] // each test binary uses its part

use crate::netns::Netns;
use crate::standins::Standins;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Run inside the machine's network namespace by `unshare -m`: the mounts
/// are the sshd's own, gone with it. `/run` is a fresh tmpfs holding the
/// privilege separation folder sshd wants. Where the machine has `/nix`,
/// a tmpfs over it holds the machine's store (`$5`) and profiles (`$6`).
/// An installer's disks (`$7`) are mounted over `/dev/disk/by-id`, where
/// the machine has no such folder (a container without udev) on a
/// writable layer of tmpfs over `/dev`, in this namespace only; its new
/// root (`$8`) over `/mnt`.
const SSHD_MOUNTS: &str = r#"set -e
mount --bind "$1" /var/lib
mount --bind "$2" /usr/local/bin
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0755 /run/sshd
if [ -d /nix ]; then
  mount -t tmpfs -o mode=0755 tmpfs /nix
  mkdir -p /nix/store /nix/var/nix/profiles
  mount --bind "$5" /nix/store
  mount --bind "$6" /nix/var/nix/profiles
fi
if [ -n "$7" ]; then
  if [ ! -d /dev/disk/by-id ]; then
    mkdir /run/dev-upper /run/dev-work
    mount -t overlay overlay \
      -o lowerdir=/dev,upperdir=/run/dev-upper,workdir=/run/dev-work /dev
    mkdir -p /dev/disk/by-id
  fi
  mount --bind "$7" /dev/disk/by-id
  mount --bind "$8" /mnt
fi
exec "$3" -D -e -f "$4"
"#;

/// The client's side: the test's key, the known hosts, and an ssh
/// configuration that uses them and nothing of the user's.
pub struct Client {
    dir: PathBuf,
}

impl Client {
    /// The client in `dir`, its key made on first use.
    pub fn new(dir: &Path) -> Client {
        let client = Client {
            dir: dir.to_path_buf(),
        };
        if !dir.join("client").exists() {
            std::fs::create_dir_all(dir).unwrap();
            crate::bin::keygen(dir, "client");
            std::fs::write(
                client.config(),
                format!(
                    "Host *\n  IdentityFile {d}/client\n  IdentitiesOnly yes\n  \
                     UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n  \
                     StrictHostKeyChecking yes\n  UpdateHostKeys no\n",
                    d = dir.display()
                ),
            )
            .unwrap();
        }
        client
    }

    /// The ssh configuration (`ssh -F`, `--ssh-config`).
    pub fn config(&self) -> PathBuf {
        self.dir.join("config")
    }

    /// The public half of the test's key, which every machine lets in.
    pub fn authorized_keys(&self) -> PathBuf {
        self.dir.join("client.pub")
    }

    /// Trusts `public` as the host key at each of `addresses`, `port`.
    pub fn know(&self, addresses: &[&str], port: u16, public: &str) {
        use std::io::Write;
        let mut known = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("known_hosts"))
            .unwrap();
        for address in addresses {
            let name = if port == 22 {
                address.to_string()
            } else {
                format!("[{address}]:{port}")
            };
            writeln!(known, "{name} {}", public.trim()).unwrap();
        }
    }
}

/// A machine's own folders, for its sshd.
pub struct Machine {
    dir: PathBuf,
    /// Whether it runs an installer (`Machine::installer`).
    installer: bool,
}

impl Machine {
    /// The machine's folders in `dir`: its `/var/lib`, its stand-ins
    /// (`/usr/local/bin`, the units' states, its store and profiles), its
    /// host key.
    pub fn new(dir: &Path) -> Machine {
        for sub in ["var-lib/homelab/backups", "var-lib/homelab/drills"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        Standins::at(dir).install();
        crate::bin::keygen(dir, "ssh_host_ed25519_key");
        Machine {
            dir: dir.to_path_buf(),
            installer: false,
        }
    }

    /// The machine's stand-ins and their state.
    pub fn standins(&self) -> Standins {
        Standins::at(&self.dir)
    }

    /// The folder the machine's sshd sees as `/var/lib`.
    pub fn var_lib(&self) -> PathBuf {
        self.dir.join("var-lib")
    }

    /// The public half of the machine's host key.
    pub fn host_key(&self) -> String {
        std::fs::read_to_string(self.dir.join("ssh_host_ed25519_key.pub"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// Sets a unit's state as systemd would report it:
    /// `"failed failed exit-code"` (active state, sub-state, result).
    pub fn unit_state(&self, unit: &str, state: &str) {
        let units = self.standins().units;
        std::fs::write(units.join(unit), format!("loaded {state}\n")).unwrap();
    }

    /// Puts `program` on the machine's `PATH` (its `/usr/local/bin`): a
    /// shell script with `body`.
    pub fn program(&self, program: &str, body: &str) {
        let path = self.standins().bin.join(program);
        crate::standins::executable(&path, &format!("#!/bin/sh\n{body}"));
    }

    /// The machine runs an installer, from the next start of its sshd on:
    /// `/dev/disk/by-id` lists `disks` (`nvme-…`, `ata-…`), and its `/mnt`
    /// is [`Machine::new_root`].
    pub fn installer(&mut self, disks: &[&str]) {
        std::fs::create_dir_all(self.new_root()).unwrap();
        let dir = self.dir.join("disk-by-id");
        std::fs::create_dir_all(&dir).unwrap();
        for name in disks {
            std::fs::write(dir.join(name), "").unwrap();
        }
        self.installer = true;
    }

    /// The installer's `/mnt`: the new system's root.
    pub fn new_root(&self) -> PathBuf {
        self.dir.join("mnt")
    }

    /// The real sshd in `ns`, at `port` of every address, letting root in
    /// with `client`'s key, its pid in `sshd.pid` and its configuration in
    /// `sshd_config` (where a switch that drops SSH finds them, see
    /// [`Standins`]); the number of its process in `ns`.
    pub fn sshd(&self, ns: &mut Netns, client: &Client, port: u16) -> usize {
        let standins = self.standins();
        let (pid_file, config) = &standins.sshd;
        std::fs::write(
            config,
            format!(
                "Port {port}\nHostKey {dir}/ssh_host_ed25519_key\nAuthorizedKeysFile {keys}\n\
                 PidFile {pid}\nUsePAM no\nStrictModes no\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPrintMotd no\n",
                keys = client.authorized_keys().display(),
                dir = self.dir.display(),
                pid = pid_file.display(),
            ),
        )
        .unwrap();
        let sshd = String::from_utf8(
            Command::new("sh")
                .args(["-c", "command -v sshd"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        assert!(
            !sshd.trim().is_empty(),
            "sshd is not installed (Debian openssh-server)"
        );
        let mut c = ns.command("unshare");
        c.args([
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            SSHD_MOUNTS,
            "sh",
        ])
        .arg(self.var_lib())
        .arg(&standins.bin)
        .arg(sshd.trim())
        .arg(config)
        .arg(&standins.store)
        .arg(&standins.profiles);
        if self.installer {
            c.arg(self.dir.join("disk-by-id")).arg(self.new_root());
        }
        let process = ns.spawn(c);
        ns.wait_for_listener(port);
        process
    }

    /// Kills the sshd whose pid the pid file holds, if it is ours: one a
    /// switch started again, outside the namespace's list of processes.
    pub fn kill_sshd(&self) {
        let (pid_file, config) = &self.standins().sshd;
        if let Ok(pid) = std::fs::read_to_string(pid_file) {
            kill_ours(&pid, config, false);
        }
    }
}

impl Drop for Machine {
    /// What the namespace does not take with it: an sshd a switch started
    /// again, a switch still running in its transient unit.
    fn drop(&mut self) {
        self.kill_sshd();
        let units = self.standins().units;
        for e in std::fs::read_dir(&units).into_iter().flatten().flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "pid") {
                let pid = std::fs::read_to_string(&path).unwrap_or_default();
                // The switch runs in the session `setsid` made.
                kill_ours(&pid, &units, true);
            }
        }
    }
}

/// Kills process `pid` (with `group`, its whole process group) if its
/// command line names `needle` (a folder of this test): a process this
/// test started, not one that took its number since.
fn kill_ours(pid: &str, needle: &Path, group: bool) {
    let Ok(pid) = pid.trim().parse::<i32>() else {
        return;
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let needle = needle.display().to_string();
    if String::from_utf8_lossy(&cmdline).contains(&needle) {
        // SAFETY: a plain signal to a process this test started.
        unsafe {
            libc::kill(if group { -pid } else { pid }, libc::SIGKILL);
        }
    }
}
