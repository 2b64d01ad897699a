//! `homelab install HOST --target ADDR`: everything a first install needs,
//! in order, each step skipped when it is done already: the host's key
//! made and recorded in the spec, the secrets encrypted to it, the flake
//! written, the target's disks held against the spec's, nixos-anywhere
//! with the key in `--extra-files` and the hardware scan, then the host
//! awaited and probed.

use crate::cli::{Format, SecretsPlace};
use crate::print::{Paint, fail};
use crate::source::load;
use compile::fleet::Fleet;
use operate::install::{self, Install};
use operate::probe::status::{Options as ProbeOptions, status};
use operate::runner::Ssh;
use operate::secrets::{Store, age_file, host_key};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

pub struct Options {
    pub host: String,
    pub target: String,
    pub port: u16,
    pub place: SecretsPlace,
    pub dry_run: bool,
    pub force: bool,
    pub ssh_config: Option<PathBuf>,
    /// How long to wait for the installed host.
    pub wait: Duration,
}

pub fn run(o: &Options) -> ExitCode {
    let fleet = match install(o) {
        Ok(Some(fleet)) => fleet,
        Ok(None) => return ExitCode::SUCCESS,
        Err(code) => return code,
    };
    match wait_for_host(&fleet, o) {
        Ok(reach) => probe_installed(&fleet, o, &reach.options),
        Err(code) => code,
    }
}

/// Steps 1 to 5: the host installed from the spec's flake, and the spec
/// it was installed from; `None` after a dry run, which installs nothing.
/// An error is the exit code, its reason already said.
pub fn install(o: &Options) -> Result<Option<Fleet>, ExitCode> {
    let cx = super::secrets::context(&o.place)?;
    let Some(host) = cx.fleet.hosts.iter().find(|h| h.name() == o.host) else {
        let names: Vec<&str> = cx.fleet.hosts.iter().map(|h| h.name()).collect();
        return Err(fail(format!(
            "the spec has no host `{}`; hosts: {}",
            o.host,
            names.join(", ")
        )));
    };
    let disks = disks(&cx.fleet, &o.host);
    let flake = cx
        .store
        .dir
        .parent()
        .map_or_else(|| PathBuf::from("flake"), Path::to_path_buf);
    let flake = std::path::absolute(&flake).unwrap_or(flake);
    if o.dry_run {
        print!(
            "{}",
            dry_run(o, &flake, &disks, host.spec.host_key.is_some())
        );
        return Ok(None);
    }
    // 1. The host's key: made now unless the spec has one.
    let cx = if host.spec.host_key.is_none() {
        step(1, "making the host's SSH key and recording it in the spec");
        if let Err(e) = super::secrets::add_host::run(&cx, &o.host, None, false, None, true) {
            return Err(fail(e));
        }
        super::secrets::context(&o.place)?
    } else {
        step(1, "the spec has the host's key");
        cx
    };
    let key_name = host_key::key_name(&o.host);
    let private = match cx.store.read(&key_name) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return Err(fail(format!(
                "the spec records a host_key for `{}` but {} holds no private key: the \
                 installed host would make a key of its own that the secrets are not \
                 encrypted to\nhelp: run `homelab secrets add-host {} --generate` (a new key), \
                 then install again",
                o.host,
                Store::shown(&key_name),
                o.host
            )));
        }
        Err(e) => return Err(fail(e)),
    };
    // 2. Every secret encrypted to it.
    step(2, "encrypting the secrets to the host's key");
    super::secrets::rekey::rekey(&cx)?;
    // 3. The flake.
    step(3, "writing the flake");
    let src = load(&crate::cli::Input {
        spec: o.place.spec.clone(),
        example: None,
    })?;
    super::build::write(&src, Some(flake.clone()), false, None, Format::Human, false)?;
    // 4. The target's disks.
    step(4, &format!("checking the disks of {}", o.target));
    let target = target_ssh(o);
    match install::missing_disks(&target, &disks) {
        Ok(missing) if missing.is_empty() => {}
        Ok(missing) if o.force => eprintln!(
            "warning: the target has none of {}; installing anyway (--force)",
            missing.join(", ")
        ),
        Ok(missing) => {
            return Err(step_failed(format!(
                "the target {} has no {}: disko would lay out other disks than the spec names\n\
                 help: check `ls -l /dev/disk/by-id/` on the target and put its disks in the spec \
                 (`[hosts.{}.boot] disk` or `disks`, the pools' `disks`), or give --force",
                o.target,
                missing.join(", "),
                o.host
            )));
        }
        Err(e) => return Err(step_failed(format!("{}: {e}", o.target))),
    }
    // 5. nixos-anywhere, with the key and the hardware scan.
    step(5, "installing with nixos-anywhere");
    let identity = match cx.identity() {
        Ok(id) => id,
        Err(e) => return Err(fail(e)),
    };
    let plain = match age_file::decrypt(&Store::shown(&key_name), &private, &identity) {
        Ok(p) => p,
        Err(e) => return Err(fail(e)),
    };
    let public = host_public_key(&cx.fleet, &o.host);
    // The clear key, and the ssh that reads --ssh-config, for this run
    // only: removed with the folder, whatever happens.
    let private_dir = match tempfile::Builder::new()
        .prefix("homelab-install-")
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => return Err(fail(format!("making a private folder: {e}"))),
    };
    let extra = private_dir.path().join("root");
    if let Err(e) = install::extra_files(&extra, plain.as_ref(), &public) {
        return Err(fail(format!("writing the host key for the install: {e}")));
    }
    let path = match &o.ssh_config {
        Some(config) => {
            let bin = private_dir.path().join("bin");
            let inherited = std::env::var_os("PATH").unwrap_or_default();
            if let Err(e) = install::ssh_reading(&bin, config, &inherited) {
                return Err(fail(format!(
                    "giving nixos-anywhere an ssh that reads {}: {e}",
                    config.display()
                )));
            }
            let mut path = bin.into_os_string();
            path.push(":");
            path.push(inherited);
            Some(path)
        }
        None => None,
    };
    let cmd = nixos_anywhere(o, &flake, &extra, path.as_deref());
    match operate::runner::run_in_view(&cmd) {
        Ok(s) if s.success() => {}
        Ok(s) => {
            return Err(step_failed(format!(
                "nixos-anywhere failed ({s}); the target may be half installed: run the install again"
            )));
        }
        Err(e) => {
            return Err(fail(format!(
                "cannot run nixos-anywhere: {e}\nhelp: `nix run github:nix-community/nixos-anywhere -- --help`, or install it"
            )));
        }
    }
    drop(private_dir);
    Ok(Some(cx.fleet))
}

fn step(n: u8, what: &str) {
    eprintln!("[{n}/6] {what}");
}

/// A step that ran and failed (exit status 1; `fail` is 2, could not run).
fn step_failed(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(1)
}

/// How the installed host is reached: through the SSH configuration
/// given, trusting the key the spec records for it, in a known_hosts file
/// of its own (the installer at that address had another key, and the
/// user's known_hosts holds that one or none).
pub struct Reach {
    _dir: tempfile::TempDir,
    pub options: ProbeOptions,
}

/// Step 6, first half: waits until the installed host answers SSH at its
/// own address, with the key the spec records.
pub fn wait_for_host(fleet: &Fleet, o: &Options) -> Result<Reach, ExitCode> {
    step(6, "waiting for the installed host, then probing it");
    let probes = compile::probes::probes(fleet);
    let Some(h) = probes.hosts.iter().find(|h| h.host == o.host) else {
        return Err(fail("the host has no probes"));
    };
    let dir = tempfile::Builder::new()
        .prefix("homelab-known-hosts-")
        .tempdir()
        .map_err(|e| fail(format!("making a private folder: {e}")))?;
    let known = dir.path().join("known_hosts");
    let at = match h.ssh_port {
        22 => h.address.clone(),
        port => format!("[{}]:{port}", h.address),
    };
    let line = format!("{at} {}\n", host_public_key(fleet, &o.host));
    std::fs::write(&known, line).map_err(|e| fail(format!("writing {}: {e}", known.display())))?;
    let options = ProbeOptions {
        ssh_config: o.ssh_config.clone(),
        known_hosts: Some(known),
        ..ProbeOptions::default()
    };
    install::wait_for(&options.ssh(h, Duration::from_secs(5)), o.wait).map_err(step_failed)?;
    Ok(Reach { _dir: dir, options })
}

/// Step 6, second half: the installed host probed.
fn probe_installed(fleet: &Fleet, o: &Options, options: &ProbeOptions) -> ExitCode {
    let probes = compile::probes::probes(fleet);
    let mut one = probes.clone();
    one.hosts.retain(|x| x.host == o.host);
    // A fresh host has no backup yet: its records are not held against it.
    for x in &mut one.hosts {
        x.records.clear();
    }
    let report = status(&one, options);
    print!(
        "{}",
        super::status::text(&fleet.homelab.name.value, &report, Paint::stdout())
    );
    if report.all_up() {
        println!("{} is installed and every probe is up", o.host);
        ExitCode::SUCCESS
    } else {
        println!(
            "{} is installed, but not every probe is up (above); `homelab status --host {}` again in a minute",
            o.host, o.host
        );
        ExitCode::from(1)
    }
}

fn target_ssh(o: &Options) -> Ssh {
    let mut ssh = Ssh::new(format!("root@{}", o.target));
    ssh.port = Some(o.port);
    ssh.config = o.ssh_config.clone();
    ssh.options.push("ConnectTimeout=10".into());
    ssh
}

/// Every disk the spec names for the host: its boot disk (each disk of a
/// mirror) and its pools'.
fn disks(fleet: &Fleet, host: &str) -> Vec<String> {
    let Some(h) = fleet.hosts.iter().find(|h| h.name() == host) else {
        return Vec::new();
    };
    h.spec
        .boot
        .iter()
        .flat_map(|b| b.disks.iter().map(|d| d.value.clone()))
        .chain(
            h.spec
                .pools
                .iter()
                .flat_map(|p| p.disks.iter().map(|d| d.value.clone())),
        )
        .collect()
}

fn host_public_key(fleet: &Fleet, host: &str) -> String {
    fleet
        .hosts
        .iter()
        .find(|h| h.name() == host)
        .and_then(|h| h.spec.host_key.as_ref())
        .map(|k| k.value.clone())
        .unwrap_or_default()
}

/// nixos-anywhere on the flake folder, with the key pair in `extra`.
fn nixos_anywhere(
    o: &Options,
    flake: &Path,
    extra: &Path,
    path: Option<&std::ffi::OsStr>,
) -> operate::runner::Cmd {
    install::nixos_anywhere(&Install {
        flake: &format!("path:{}", flake.display()),
        host: &o.host,
        target: &o.target,
        port: o.port,
        extra_files: extra,
        hardware: flake.join(format!("hosts/{}/hardware.nix", o.host)),
        path,
    })
}

/// The steps and the exact commands; nothing is made or changed.
fn dry_run(o: &Options, flake: &Path, disks: &[String], has_key: bool) -> String {
    let spec = o.place.spec.display();
    let mut out = format!(
        "install {} on {} (nothing is changed: --dry-run)\n",
        o.host, o.target
    );
    out.push_str(&if has_key {
        "  1. key       the spec has the host's key (host_key)\n".to_string()
    } else {
        format!(
            "  1. key       homelab secrets add-host {} --generate --spec {spec}\n",
            o.host
        )
    });
    out.push_str(&format!(
        "  2. secrets   homelab secrets rekey --spec {spec}\n"
    ));
    out.push_str(&format!(
        "  3. flake     homelab build --out {} {spec}\n",
        flake.display()
    ));
    let ssh = target_ssh(o)
        .ssh_args()
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    out.push_str(&format!(
        "  4. disks     ssh {ssh} ls -1 /dev/disk/by-id   (must list {})\n",
        disks
            .iter()
            .map(|d| d.strip_prefix("/dev/disk/by-id/").unwrap_or(d))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let path = o.ssh_config.as_ref().map(|config| {
        std::ffi::OsString::from(format!(
            "<a private folder whose ssh reads {}>:$PATH",
            config.display()
        ))
    });
    let cmd = nixos_anywhere(
        o,
        flake,
        Path::new("<a private folder with etc/ssh/ssh_host_ed25519_key>"),
        path.as_deref(),
    );
    out.push_str(&format!("  5. install   {}\n", cmd.shell_line()));
    out.push_str(&format!(
        "  6. probe     wait for the host over SSH, then homelab status --host {}\n",
        o.host
    ));
    out
}
