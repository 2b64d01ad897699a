//! A scratch host for the backup tests: a root folder with a service's
//! files, a real PostgreSQL server (started here, socket in the root, no
//! TCP), real restic repositories, a host plan pointing at all of it, and
//! a `systemctl` on `PATH` that starts and stops the service's process.
//!
//! That `systemctl` is the one stand-in: systemd cannot run in the test
//! environment. It starts the unit's command in the background and, on
//! stop, sends SIGTERM and waits for the process to exit, as systemd does.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PG_USER: &str = "postgres";

pub fn pg_tool(name: &str) -> String {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (Debian package postgresql)")
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop().unwrap().display().to_string()
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

/// Runs a PostgreSQL tool as the postgres user when we are root.
pub fn as_pg(name: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", PG_USER, "--", &pg_tool(name)]);
        c
    } else {
        Command::new(pg_tool(name))
    }
}

fn chown_pg(path: &Path) {
    if is_root() {
        let ok = Command::new("chown")
            .arg(PG_USER)
            .arg(path)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

pub fn ok(mut c: Command) -> Output {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub struct Host {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub plan: PathBuf,
    pub bin: PathBuf,
    pub health_port: u16,
    pg_data: PathBuf,
}

impl Host {
    pub fn root_path(&self, p: &str) -> PathBuf {
        self.root.join(p.trim_start_matches('/'))
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.root_path("/run/postgresql")
    }

    /// A host with the service `app`: files in /var/lib/app, database
    /// `app`, two local repositories (`nas`, `offsite`).
    pub fn new() -> Host {
        let dir = tempfile::tempdir().unwrap();
        // PostgreSQL's user must reach the socket and data below it.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path().join("root");
        let bin = dir.path().join("bin");
        for d in [&root, &bin] {
            std::fs::create_dir_all(d).unwrap();
        }
        let health_port = serve_health();
        let host = Host {
            plan: dir.path().join("plan.json"),
            pg_data: dir.path().join("pgdata"),
            root,
            bin,
            health_port,
            dir,
        };
        host.write_systemctl();
        host.start_postgres();
        std::fs::create_dir_all(host.root_path("/run/agenix")).unwrap();
        std::fs::write(
            host.root_path("/run/agenix/restic-password"),
            "correct horse battery staple\n",
        )
        .unwrap();
        std::fs::create_dir_all(host.root_path("/var/lib/app")).unwrap();
        host.write_plan(host.plan_json());
        host
    }

    pub fn plan_json(&self) -> Value {
        let repo = |name: &str, offsite: bool| {
            json!({
                "name": name,
                "url": format!("/srv/restic/{name}"),
                "password_secret": "restic-password",
                "environment_secret": null,
                "offsite": offsite
            })
        };
        json!({
            "version": 1,
            "host": "testhost",
            "state_dir": "/var/lib/homelab",
            "drill": {
                "schedule": "weekly",
                "max_age_days": 30,
                "scratch_dir": "/var/lib/homelab-drill",
                "postgres_user": PG_USER
            },
            "services": [{
                "name": "app",
                "entry": "app",
                "units": ["app.service"],
                "class": "critical",
                "paths": [{
                    "name": "data",
                    "path": "/var/lib/app",
                    "class": "critical",
                    "dataset": null,
                    "backed_up": true
                }],
                "database": { "name": "app", "user": "app", "socket_dir": "/run/postgresql" },
                "dump_dir": "/var/lib/homelab/dumps/app",
                "repositories": [repo("nas", false), repo("offsite", true)],
                "health": {
                    "url": format!("http://127.0.0.1:{}/health", self.health_port),
                    "status": 200,
                    // Healthy answers end the wait at once; the room is for
                    // a loaded machine.
                    "timeout_seconds": 30
                },
                "schedule": "daily",
                "max_age_hours": 26
            }]
        })
    }

    pub fn write_plan(&self, plan: Value) {
        std::fs::write(&self.plan, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    }

    /// The stand-in `systemctl`: `start` runs `<units>/<unit>.cmd` in the
    /// background, `stop` sends SIGTERM and waits for the exit.
    fn write_systemctl(&self) {
        let units = self.dir.path().join("units");
        std::fs::create_dir_all(&units).unwrap();
        let script = format!(
            r#"#!/bin/sh
verb="$1"; shift
for unit in "$@"; do
  pidfile="{units}/$unit.pid"
  case "$verb" in
    start)
      if [ -f "{units}/$unit.cmd" ] && ! {{ [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }}; then
        setsid sh "{units}/$unit.cmd" </dev/null >/dev/null 2>&1 &
        echo $! > "$pidfile"
      fi
      echo "start $unit" >> "{units}/log" ;;
    stop)
      if [ -f "$pidfile" ]; then
        pid="$(cat "$pidfile")"
        kill -TERM "$pid" 2>/dev/null
        while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
        rm -f "$pidfile"
      fi
      echo "stop $unit" >> "{units}/log" ;;
    *) echo "systemctl stand-in: unknown verb $verb" >&2; exit 1 ;;
  esac
done
"#,
            units = units.display()
        );
        let path = self.bin.join("systemctl");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Sets the command a unit runs.
    pub fn unit(&self, unit: &str, command: &str) {
        std::fs::write(
            self.dir.path().join("units").join(format!("{unit}.cmd")),
            command,
        )
        .unwrap();
    }

    pub fn unit_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("units/log")).unwrap_or_default()
    }

    fn start_postgres(&self) {
        std::fs::create_dir_all(&self.pg_data).unwrap();
        let socket = self.socket_dir();
        std::fs::create_dir_all(&socket).unwrap();
        chown_pg(&self.pg_data);
        chown_pg(&socket);
        let mut init = as_pg("initdb");
        init.arg("-D")
            .arg(&self.pg_data)
            .args(["-U", "postgres", "--auth=trust", "--no-sync"]);
        ok(init);
        let mut start = as_pg("pg_ctl");
        start
            .arg("-D")
            .arg(&self.pg_data)
            .arg("-o")
            .arg(format!(
                "-c listen_addresses= -k {} -c fsync=off",
                socket.display()
            ))
            .arg("-l")
            .arg(self.pg_data.join("server.log"))
            .args(["-w", "start"]);
        ok(start);
        self.sql("postgres", "create role app login");
        self.sql("postgres", "create database app owner app");
    }

    /// Runs SQL on the live server and returns the output (unaligned).
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let mut c = Command::new(pg_tool("psql"));
        c.arg("-h").arg(self.socket_dir()).args([
            "-U",
            "postgres",
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            db,
            "-c",
            sql,
        ]);
        String::from_utf8(ok(c).stdout).unwrap().trim().to_string()
    }

    /// `homelab <args> --plan … --root …` with the stand-in systemctl.
    pub fn homelab(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.homelab_cmd(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn homelab_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_homelab"));
        c.args(args)
            .arg("--plan")
            .arg(&self.plan)
            .arg("--root")
            .arg(&self.root)
            .env(
                "PATH",
                format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap()),
            );
        c
    }

    /// A restic command on one of the test repositories.
    pub fn restic(&self, repo: &str, args: &[&str]) -> Output {
        Command::new("restic")
            .args(args)
            .env(
                "RESTIC_REPOSITORY",
                self.root_path(&format!("/srv/restic/{repo}")),
            )
            .env(
                "RESTIC_PASSWORD_FILE",
                self.root_path("/run/agenix/restic-password"),
            )
            .env("RESTIC_CACHE_DIR", self.dir.path().join("cache"))
            .output()
            .unwrap()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = Command::new(self.bin.join("systemctl"))
            .args(["stop", "app.service", "writer.service"])
            .output();
        let mut stop = as_pg("pg_ctl");
        stop.arg("-D")
            .arg(&self.pg_data)
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.output();
    }
}

/// A tiny HTTP server on loopback answering 200 to everything: the
/// service's health endpoint.
fn serve_health() -> u16 {
    serve_status("200 OK")
}

/// A loopback port where a service answers `503 Service Unavailable` to
/// everything: an unhealthy service, or a status page that refuses. The
/// port stays taken for the whole test run; a port that was merely
/// closed could be handed to a parallel test's server and start
/// answering 200.
pub fn unhealthy_port() -> u16 {
    serve_status("503 Service Unavailable")
}

/// Points the first service's health probe of a plan at
/// [`unhealthy_port`], giving the restored service `timeout_seconds`.
pub fn make_unhealthy(plan: &mut Value, timeout_seconds: u32) {
    let unhealthy = unhealthy_port();
    let health = &mut plan["services"][0]["health"];
    health["url"] = format!("http://127.0.0.1:{unhealthy}/health").into();
    health["timeout_seconds"] = timeout_seconds.into();
}

fn serve_status(status: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            // One thread per connection: a client that connects and never
            // speaks (one killed half way) cannot hold up the next probe.
            std::thread::spawn(move || {
                // The whole request head first: closing with unread
                // bytes makes the kernel reset the connection, and the
                // client may lose the answer.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!("HTTP/1.0 {status}\r\nContent-Length: 2\r\n\r\nok");
                let _ = stream.write_all(answer.as_bytes());
            });
        }
    });
    port
}

/// Every file below `dir` with its content, for comparisons.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, d: &Path, out: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(base).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

/// A real sshd on 127.0.0.1:<port> that lets the test's key (`<dir>/client`)
/// in as root, with SFTP.
pub struct Sshd {
    child: std::process::Child,
    pub port: u16,
}

impl Sshd {
    /// Stops it now, as a host that goes down.
    pub fn stop(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sshd(dir: &Path) -> Sshd {
    std::fs::create_dir_all(dir).unwrap();
    for key in ["host", "client"] {
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join(key))
            .status()
            .unwrap();
        assert!(ok.success());
    }
    std::fs::copy(dir.join("client.pub"), dir.join("authorized_keys")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.join("sshd_config"),
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\nAuthorizedKeysFile {d}/authorized_keys\n\
             PidFile {d}/sshd.pid\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nSubsystem sftp internal-sftp\n",
            d = dir.display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let child = Command::new(which_sshd())
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Sshd { child, port }
}

/// sshd by its full path, as sshd requires to re-execute itself.
fn which_sshd() -> String {
    let out = Command::new("sh")
        .args(["-c", "command -v sshd"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The host with `app`'s files (a config and a 3 MB file) and 50 rows.
pub fn seeded() -> Host {
    let h = Host::new();
    let data = h.root_path("/var/lib/app");
    std::fs::write(data.join("config.toml"), "name = \"app\"\n").unwrap();
    std::fs::write(
        data.join("big.bin"),
        (0..3_000_000u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    h.sql(
        "app",
        "create table notes (id int); insert into notes select generate_series(1, 50)",
    );
    h
}

pub fn backed_up() -> Host {
    let h = seeded();
    let (code, out, err) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 0, "{out}{err}");
    h
}

/// The live files and table, to prove a fault left them untouched.
pub fn live(
    h: &Host,
) -> (
    std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
    String,
) {
    (
        tree(&h.root_path("/var/lib/app")),
        h.sql("app", "select count(*) from notes"),
    )
}

pub fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

pub fn which(name: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
