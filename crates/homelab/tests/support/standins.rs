//! Stand-ins for what systemd and NixOS do on a machine, which cannot run
//! here: `systemctl`, `systemd-run`, `nix-env` and `zfs` in a folder of the
//! test (a host's `/usr/local/bin`, or first on `PATH`), fake systems whose
//! `bin/switch-to-configuration` does what the test says ([`Activation`]),
//! and the `nix` of whoever builds ([`install_nix`]). Each keeps its state
//! and records what it was asked in folders of the test ([`Standins`]).

#![allow(dead_code)] // each test binary uses its part

use std::path::{Path, PathBuf};

/// The stand-in `systemctl` of a machine: systemd cannot run here.
///
/// `show [--property=…] -- UNIT…` answers in systemd's format: for each
/// unit the properties asked (all it knows when none is), in the order
/// systemd prints a service's (`Result` and `ExecMain…` before `Id` and
/// the states), units apart by an empty line. Each unit's state is read
/// from the file named after it in `@UNITS@`, `LOAD ACTIVE SUB RESULT
/// [EXECMAINSTATUS EXECMAINCODE]`; without one a unit is `loaded active
/// running success`, and a switch unit (`homelab-switch-…`) does not exist
/// (`not-found inactive dead`).
///
/// `stop` and `reset-failed` are recorded in `@CALLS@/systemctl` and end
/// a transient unit as systemd does: `stop` kills its process if it still
/// runs and unloads it unless it failed; `reset-failed` unloads a failed
/// one.
const SYSTEMCTL: &str = r#"#!/bin/sh
units=@UNITS@
verb=$1
shift
case $verb in
  show) ;;
  stop | reset-failed)
    echo "$verb $*" >> "@CALLS@/systemctl"
    for unit; do
      f=$units/$unit
      [ -f "$f" ] || continue
      read -r load active sub result status code < "$f"
      if [ "$verb" = stop ] && [ -f "$f.pid" ]; then
        kill "$(cat "$f.pid")" 2> /dev/null
        rm -f "$f.pid"
      fi
      if [ "$active" = failed ]; then
        if [ "$verb" = reset-failed ]; then rm -f "$f" "$f.transient"; fi
      elif [ "$verb" = stop ]; then
        if [ -f "$f.transient" ]; then
          rm -f "$f" "$f.transient"
        else
          echo "loaded inactive dead success" > "$f"
        fi
      fi
    done
    exit 0 ;;
  *)
    echo "systemctl (test stand-in): only show, stop and reset-failed are answered" >&2
    exit 1 ;;
esac
props=
while [ "$#" -gt 0 ]; do
  case $1 in
    --) shift; break ;;
    --property=*) props="$props,${1#--property=}" ;;
    -p) props="$props,$2"; shift ;;
  esac
  shift
done
[ -n "$props" ] || props=,Result,ExecMainCode,ExecMainStatus,Id,LoadState,ActiveState,SubState
first=yes
for unit; do
  [ "$first" = yes ] || echo
  first=no
  load=loaded active=active sub=running result=success status= code=
  case $unit in
    homelab-switch-*) load=not-found active=inactive sub=dead ;;
  esac
  if [ -f "$units/$unit" ]; then
    read -r load active sub result status code < "$units/$unit"
  fi
  for p in Result ExecMainCode ExecMainStatus Id LoadState ActiveState SubState; do
    case "$props," in
      *",$p,"*) ;;
      *) continue ;;
    esac
    case $p in
      Result) v=$result ;;
      ExecMainCode) v=${code:-0} ;;
      ExecMainStatus) v=${status:-0} ;;
      Id) v=$unit ;;
      LoadState) v=$load ;;
      ActiveState) v=$active ;;
      SubState) v=$sub ;;
    esac
    printf '%s=%s\n' "$p" "$v"
  done
done
"#;

/// The stand-in `systemd-run`: records its arguments in
/// `@CALLS@/systemd-run`, then runs the command after `--` detached
/// (`setsid`, no terminal, no inherited output), so it outlives the SSH
/// session that started it, as a transient unit does. The unit is
/// `active (running)` while the command runs; when it ends the unit keeps
/// its result where the stand-in `systemctl show` reads it, as
/// `RemainAfterExit=yes` keeps it: `active (exited)` after exit 0, else
/// `failed` with the exit status (ExecMainCode 1) or the signal
/// (ExecMainCode 2). A unit of that name still loaded refuses the start.
const SYSTEMD_RUN: &str = r#"#!/bin/sh
units=@UNITS@
echo "$*" >> "@CALLS@/systemd-run"
unit=
while [ "$#" -gt 0 ]; do
  case $1 in
    --unit=*) unit=${1#--unit=} ;;
    --) shift; break ;;
    -*) ;;
    *) break ;;
  esac
  shift
done
case $unit in
  "") echo "systemd-run (test stand-in): give --unit=" >&2; exit 1 ;;
  *.service) ;;
  *) unit=$unit.service ;;
esac
f=$units/$unit
if [ -e "$f" ]; then
  echo "Failed to start transient service unit: Unit $unit was already loaded or has a fragment file." >&2
  exit 1
fi
if [ ! -x "$1" ]; then
  echo "Failed to start transient service unit: $1: No such file or directory" >&2
  exit 1
fi
: > "$f.transient"
echo "loaded active running success" > "$f"
setsid sh -c '
  f=$1
  shift
  echo "$$" > "$f.pid"
  "$@"
  code=$?
  if [ "$code" -eq 0 ]; then
    s="loaded active exited success 0 1"
  elif [ "$code" -gt 128 ]; then
    s="loaded failed failed signal $((code - 128)) 2"
  else
    s="loaded failed failed exit-code $code 1"
  fi
  if [ -e "$f.transient" ]; then
    echo "$s" > "$f.new" && mv "$f.new" "$f"
  fi
  rm -f "$f.pid"
' sh "$f" "$@" < /dev/null > /dev/null 2>&1 &
"#;

/// The stand-in `nix-env`: `-p PROFILE --set PATH` only, recorded in
/// `@CALLS@/nix-env`. As Nix does, it refuses a path that is not in the
/// store, links a new generation `PROFILE-<n>-link` to the path and
/// points the profile at it.
const NIX_ENV: &str = r#"#!/bin/sh
echo "$*" >> "@CALLS@/nix-env"
if [ "$#" -ne 4 ] || [ "$1" != -p ] || [ "$3" != --set ]; then
  echo "nix-env (test stand-in): only -p PROFILE --set PATH is answered" >&2
  exit 1
fi
profile=$2 system=$4
if [ ! -d "$system" ]; then
  echo "error: path '$system' is not valid" >&2
  exit 1
fi
dir=${profile%/*} name=${profile##*/}
n=1
while [ -L "$dir/$name-$n-link" ]; do n=$((n + 1)); done
ln -s "$system" "$dir/$name-$n-link"
ln -s "$name-$n-link" "$dir/.$name.new"
mv -T "$dir/.$name.new" "$profile"
"#;

/// The stand-in `zfs`: records what it was asked in `@CALLS@/zfs`.
const ZFS: &str = r#"#!/bin/sh
echo "$*" >> "@CALLS@/zfs"
"#;

/// The stand-in `switch-to-configuration` of a fake system (a NixOS
/// activation cannot run here). It records its system, goal and time in
/// `@CALLS@/switch-to-configuration`; `boot` does nothing more. `switch`
/// does to the machine what the `activation` file beside `bin/` says (see
/// [`Activation`]): drop SSH (kill sshd's sessions and sshd itself, start
/// sshd again 2 s later), bring every unit and service back up, leave
/// units failed and services down, and exit with its code.
const SWITCH: &str = r#"#!/bin/sh
. "$(dirname "$0")/../activation"
echo "@NAME@ $1 $(date +%s.%N)" >> "@CALLS@/switch-to-configuration"
[ "$1" = switch ] || exit 0
sleep 0.2
if [ "$drop_ssh" = yes ]; then
  listener=$(cat "@SSHD_PID@")
  for st in /proc/[0-9]*/status; do
    if [ "$(sed -n 's/^PPid:[[:space:]]*//p' "$st" 2> /dev/null)" = "$listener" ]; then
      p=${st#/proc/}
      kill -KILL "${p%/status}" 2> /dev/null
    fi
  done
  kill -KILL "$listener"
  echo "dropped $(date +%s.%N)" >> "@CALLS@/ssh"
  sleep 2
  "$(command -v sshd)" -f "@SSHD_CONFIG@" -E "@CALLS@/sshd.log"
  echo "back $(date +%s.%N)" >> "@CALLS@/ssh"
fi
if [ "$restore" = yes ]; then
  for f in "@UNITS@"/*; do
    case ${f##*/} in
      homelab-switch-*) ;;
      *) rm -f "$f" ;;
    esac
  done
  rm -f "@DOWN@"/*
fi
for u in $fail_units; do
  echo "loaded failed failed exit-code" > "@UNITS@/$u"
done
for s in $down; do
  : > "@DOWN@/$s"
done
exit "$exit_code"
"#;

/// The stand-in `nix` on the PATH of whoever builds (the admin machine
/// for a deploy, the host for its upgrade), keeping its state in `@DIR@`.
/// Each call is recorded in `@DIR@/calls`, a copy's `NIX_SSHOPTS` in
/// `@DIR@/copies` with its arguments.
///
/// - `build … <flake>#<attribute>` prints the system the test built: the
///   path in `built/<host>` (the host of the attribute), or in
///   `built/<revision>` for a flake pinned with `?rev=`;
/// - `copy --to ssh-ng://<user>@<address> <system>` sends the system's
///   folder from `@DIR@/store` over the real ssh, with `NIX_SSHOPTS`,
///   into the host's `/nix/store`;
/// - `flake metadata --json …` reports the revision in `revision`.
const NIX: &str = r#"#!/bin/sh
dir=@DIR@
all=$*
echo "$all" >> "$dir/calls"
while [ "$1" = --extra-experimental-features ]; do shift 2; done
verb=$1
shift
for last; do :; done
case $verb in
  build)
    flake=${last%%#*} attr=${last#*#}
    case $flake in
      *rev=*) key=${flake##*rev=}; key=${key%%&*} ;;
      *) key=$(echo "$attr" | cut -d. -f2) ;;
    esac
    if [ ! -f "$dir/built/$key" ]; then
      echo "error: nix (test stand-in) built nothing for $key" >&2
      exit 1
    fi
    cat "$dir/built/$key" ;;
  copy)
    echo "NIX_SSHOPTS=$NIX_SSHOPTS $all" >> "$dir/copies"
    to= prev=
    for a; do
      [ "$prev" = --to ] && to=$a
      prev=$a
    done
    name=${last##*/}
    # shellcheck disable=SC2086 # NIX_SSHOPTS is split into words, as Nix splits it
    tar -C "$dir/store" -c -f - "$name" |
      ssh $NIX_SSHOPTS -o BatchMode=yes "${to#ssh-ng://}" tar -x -f - -C /nix/store ;;
  flake)
    if [ "$1" != metadata ] || [ ! -f "$dir/revision" ]; then
      echo "error: nix (test stand-in) has no revision" >&2
      exit 1
    fi
    rev=$(cat "$dir/revision")
    printf '{"locked":{"rev":"%s","type":"git"},"originalUrl":"%s","revision":"%s","url":"%s?rev=%s"}\n' \
      "$rev" "$last" "$rev" "$last" "$rev" ;;
  *)
    echo "nix (test stand-in): $verb is not answered" >&2
    exit 1 ;;
esac
"#;

/// What a fake system's `switch-to-configuration switch` does to the
/// machine it runs on.
#[derive(Debug, Clone, Default)]
pub struct Activation {
    /// Its exit code: 0, or 1, 2, 4 as `switch-to-configuration` fails.
    pub exit: i32,
    /// Every unit active and every service answering again (what a
    /// healthy system does).
    pub restore: bool,
    /// Units it leaves `failed (exit-code)`.
    pub fail_units: Vec<String>,
    /// Services whose stubs answer 503 after it.
    pub down: Vec<String>,
    /// It drops SSH half way: every session and sshd itself killed, sshd
    /// started again 2 s later (a switch that restarts sshd).
    pub drop_ssh: bool,
}

impl Activation {
    /// Brings every unit and service up, exits 0.
    pub fn healthy() -> Activation {
        Activation {
            restore: true,
            ..Activation::default()
        }
    }

    /// Leaves `service` down and its `units` failed, exits 0.
    pub fn breaking(service: &str, units: &[String]) -> Activation {
        Activation {
            fail_units: units.to_vec(),
            down: vec![service.to_string()],
            ..Activation::default()
        }
    }

    fn file(&self) -> String {
        format!(
            "exit_code={}\nrestore={}\nfail_units='{}'\ndown='{}'\ndrop_ssh={}\n",
            self.exit,
            if self.restore { "yes" } else { "no" },
            self.fail_units.join(" "),
            self.down.join(" "),
            if self.drop_ssh { "yes" } else { "no" },
        )
    }
}

/// A machine's stand-ins for what a switch touches, and where they keep
/// their state. On a machine with an sshd (`sshd.rs`) the mount namespace
/// of its sshd puts `bin` over `/usr/local/bin`, `store` over `/nix/store`
/// and `profiles` over `/nix/var/nix/profiles`; a host's own upgrade puts
/// `bin` first on PATH.
pub struct Standins {
    /// `systemctl`, `systemd-run`, `nix-env`, `zfs`.
    pub bin: PathBuf,
    /// Each unit's state (see [`SYSTEMCTL`]).
    pub units: PathBuf,
    /// What each stand-in was asked: a file per program, a line per call.
    pub calls: PathBuf,
    /// A service named by a file here is down: its stubs answer 503.
    pub down: PathBuf,
    /// The machine's `/nix/store`.
    pub store: PathBuf,
    /// The machine's `/nix/var/nix/profiles`.
    pub profiles: PathBuf,
    /// sshd's pid file and configuration (for a switch that drops SSH).
    pub sshd: (PathBuf, PathBuf),
}

/// Writes an executable script.
pub fn executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A switch to system `name` for `goal`, as [`Standins::switches`] lists
/// it.
pub fn pair(name: &str, goal: &str) -> (String, String) {
    (name.to_string(), goal.to_string())
}

/// A store hash made from `name`: 32 characters of Nix's base-32.
fn store_hash(name: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdfghijklmnpqrsvwxyz";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (0..32)
        .map(|_| {
            h = h
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ALPHABET[(h >> 59) as usize] as char
        })
        .collect()
}

impl Standins {
    /// The stand-ins of the machine whose test folder is `dir`.
    pub fn at(dir: &Path) -> Standins {
        Standins {
            bin: dir.join("bin"),
            units: dir.join("units"),
            calls: dir.join("calls"),
            down: dir.join("down"),
            store: dir.join("store"),
            profiles: dir.join("profiles"),
            sshd: (dir.join("sshd.pid"), dir.join("sshd_config")),
        }
    }

    /// Writes the stand-ins and makes their folders.
    pub fn install(&self) {
        for d in [
            &self.bin,
            &self.units,
            &self.calls,
            &self.down,
            &self.store,
            &self.profiles,
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        let fill = |text: &str| {
            text.replace("@UNITS@", &self.units.display().to_string())
                .replace("@CALLS@", &self.calls.display().to_string())
        };
        executable(&self.bin.join("systemctl"), &fill(SYSTEMCTL));
        executable(&self.bin.join("systemd-run"), &fill(SYSTEMD_RUN));
        executable(&self.bin.join("nix-env"), &fill(NIX_ENV));
        executable(&self.bin.join("zfs"), &fill(ZFS));
    }

    /// A fake system `name` in the store folder `store` (this machine's,
    /// or the admin's before it is copied), whose switch does `activation`
    /// to this machine; returns its path as the machine sees it,
    /// `/nix/store/<hash>-<name>`.
    pub fn system(&self, store: &Path, name: &str, activation: &Activation) -> String {
        let base = format!("{}-{name}", store_hash(name));
        let dir = store.join(&base);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let script = SWITCH
            .replace("@NAME@", name)
            .replace("@CALLS@", &self.calls.display().to_string())
            .replace("@UNITS@", &self.units.display().to_string())
            .replace("@DOWN@", &self.down.display().to_string())
            .replace("@SSHD_PID@", &self.sshd.0.display().to_string())
            .replace("@SSHD_CONFIG@", &self.sshd.1.display().to_string());
        executable(&dir.join("bin").join("switch-to-configuration"), &script);
        std::fs::write(dir.join("activation"), activation.file()).unwrap();
        format!("/nix/store/{base}")
    }

    /// Points the system profile at `system`, as an installed host has it.
    pub fn boot(&self, system: &str) {
        let link = self.profiles.join("system-1-link");
        std::os::unix::fs::symlink(system, &link).unwrap();
        std::os::unix::fs::symlink("system-1-link", self.profiles.join("system")).unwrap();
    }

    /// The system the profile points at.
    pub fn current(&self) -> String {
        let generation = std::fs::read_link(self.profiles.join("system")).unwrap();
        let target = std::fs::read_link(self.profiles.join(generation)).unwrap();
        target.display().to_string()
    }

    /// What `program`'s stand-in was asked, a line per call.
    pub fn calls(&self, program: &str) -> Vec<String> {
        std::fs::read_to_string(self.calls.join(program))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// Each `switch-to-configuration` run: the system's name and the goal.
    pub fn switches(&self) -> Vec<(String, String)> {
        self.calls("switch-to-configuration")
            .iter()
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                (w[0].to_string(), w[1].to_string())
            })
            .collect()
    }

    /// The state file of every unit the stand-ins know of.
    pub fn unit_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.units)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// The stand-in `nix` in `dir/bin`, its state in `dir` (see [`NIX`]).
pub fn install_nix(dir: &Path) {
    for sub in ["bin", "built", "store"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    executable(
        &dir.join("bin").join("nix"),
        &NIX.replace("@DIR@", &dir.display().to_string()),
    );
}
