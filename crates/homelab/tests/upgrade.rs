//! `homelab upgrade` as a host's timer runs it, on the plan `homelab
//! build` writes for frame1 (whose `[deploy] schedule` and `source` give
//! it an upgrade), with a Gatus on the spec so the plan reports to a
//! status page, and a short gate (a check every second, 2 passes in a
//! row, within 4 s). It runs with `--plan` and `--root` (the system
//! profile and the state folder under a folder of the test) in a mount
//! namespace of its own whose `/nix/store` is a folder of the test.
//!
//! Stand-ins, because a NixOS activation cannot run here (`Standins` in
//! `support/standins.rs`), first on its PATH: `nix` (`flake metadata` reports
//! the revision the test chose, `build` prints the fake system the test
//! made for it), `systemd-run` (the switch detached, its unit's end kept
//! for `systemctl show`), `systemctl` (units' states in systemd's format,
//! `stop`, `reset-failed`), `nix-env` (the profile's generations). Each
//! fake system's `switch-to-configuration` records its goal and brings
//! every service up or leaves one down (its unit `failed`, its health URL
//! answering 503). The plan's health URLs are moved, path kept, to one
//! loopback server of the test that answers as each service is; the
//! status page is a loopback server that records each push.

#[path = "support/bin.rs"]
mod bin;
#[path = "support/http.rs"]
mod http;
#[path = "support/standins.rs"]
mod standins;

use serde_json::Value;
use standins::{Activation, Standins, pair};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const SOURCE: &str = "git+https://git.example.org/kaifer/homelab-flake.git";
const ATTRIBUTE: &str = "nixosConfigurations.frame1.config.system.build.toplevel";
const TOKEN: &str = "upgrade-s3cret";

/// One push as the status page saw it.
#[derive(Debug, Clone)]
struct Push {
    method: String,
    target: String,
    authorization: Option<String>,
}

/// A status page on loopback that answers 200 and records each request.
fn status_page() -> (u16, Arc<Mutex<Vec<Push>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let req = http::read(&stream);
            log.lock().unwrap().push(Push {
                method: req.method.clone(),
                target: format!("{}?{}", req.path, req.query),
                authorization: req.header("authorization").map(String::from),
            });
            http::reply(stream, 200, "");
        }
    });
    (port, seen)
}

/// Every service's health URL on loopback: `/<service>/…` answers 200,
/// or 503 while `down/<service>` exists.
fn health(down: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let req = http::read(&stream);
            let service = req.path.trim_start_matches('/').split('/').next().unwrap();
            let code = if down.join(service).exists() {
                503
            } else {
                200
            };
            http::reply(stream, code, "");
        }
    });
    port
}

/// frame1, upgrading itself.
struct Frame1 {
    /// Everything of the test: removed last.
    _dir: tempfile::TempDir,
    standins: Standins,
    /// The stand-in `nix`'s folder.
    nix: PathBuf,
    root: PathBuf,
    plan: PathBuf,
    /// The system it ran before any upgrade.
    before: String,
    pushes: Arc<Mutex<Vec<Push>>>,
    grafana: Vec<String>,
}

impl Frame1 {
    fn new() -> Frame1 {
        assert!(
            Path::new("/nix/store").is_dir(),
            "the test mounts its store over /nix/store (install Debian's nix-bin)"
        );
        let dir = tempfile::tempdir().unwrap();
        let (page, pushes) = status_page();
        let plan = built_plan(dir.path(), page);
        let root = dir.path().join("root");
        let host = dir.path().join("host");
        let standins = Standins {
            profiles: root.join("nix/var/nix/profiles"),
            ..Standins::at(&host)
        };
        standins.install();
        let nix = dir.path().join("nix");
        standins::install_nix(&nix);
        let mut plan: Value =
            serde_json::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap();
        assert_eq!(
            plan["status_page"]["url"],
            format!("http://127.0.0.1:{page}"),
            "the spec's Gatus is the status page"
        );
        let secret = plan["status_page"]["token_secret"].as_str().unwrap();
        std::fs::create_dir_all(root.join("run/agenix")).unwrap();
        std::fs::write(root.join("run/agenix").join(secret), format!("{TOKEN}\n")).unwrap();
        let upgrade = &mut plan["upgrade"];
        assert_eq!(upgrade["source"], SOURCE);
        assert_eq!(upgrade["attribute"], ATTRIBUTE);
        assert_eq!(
            upgrade["gate"],
            serde_json::json!({ "window_ms": 4000, "interval_ms": 1000, "passes": 2 })
        );
        // Each health URL on the test's server, its path kept.
        let port = health(standins.down.clone());
        for check in upgrade["checks"].as_array_mut().unwrap() {
            let service = check["service"].as_str().unwrap().to_string();
            let url = check["health"]["url"].as_str().unwrap();
            let path = url
                .strip_prefix("http://127.0.0.1:")
                .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
                .unwrap_or_else(|| panic!("a loopback URL: {url}"));
            check["health"]["url"] = format!("http://127.0.0.1:{port}/{service}{path}").into();
        }
        let grafana: Vec<String> = upgrade["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["service"] == "grafana")
            .map(|c| {
                c["units"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap();
        let plan_path = dir.path().join("plan.json");
        std::fs::write(&plan_path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
        std::fs::create_dir_all(&standins.profiles).unwrap();
        let before = standins.system(
            &standins.store,
            "nixos-system-frame1-25.11-before",
            &Activation::healthy(),
        );
        standins.boot(&before);
        Frame1 {
            _dir: dir,
            standins,
            nix,
            root,
            plan: plan_path,
            before,
            pushes,
            grafana,
        }
    }

    /// The flake's newest revision is `revision`, which builds a system
    /// whose switch does `activation`; returns its store path.
    fn publish(&self, revision: &str, label: &str, activation: &Activation) -> String {
        let name = format!("nixos-system-frame1-25.11-{label}");
        let system = self
            .standins
            .system(&self.standins.store, &name, activation);
        std::fs::write(self.nix.join("revision"), revision).unwrap();
        std::fs::write(self.nix.join("built").join(revision), format!("{system}\n")).unwrap();
        system
    }

    /// `homelab upgrade --plan … --root … args` with the stand-ins first
    /// on PATH, in a mount namespace whose `/nix/store` is the test's.
    fn upgrade(&self, args: &[&str]) -> (i32, String, String) {
        let path = format!(
            "{}:{}:{}",
            self.standins.bin.display(),
            self.nix.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut c = std::process::Command::new("unshare");
        c.args([
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount --bind \"$1\" /nix/store && shift && exec \"$@\"",
            "sh",
        ])
        .arg(&self.standins.store)
        .arg("env")
        .arg(format!("PATH={path}"))
        .arg("NO_COLOR=1")
        .arg(env!("CARGO_BIN_EXE_homelab"))
        .arg("upgrade")
        .args(args)
        .arg("--plan")
        .arg(&self.plan)
        .arg("--root")
        .arg(&self.root);
        let out = bin::finish_within_a_minute(&mut c, b"");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn upgrade_json(&self) -> (i32, Value) {
        let (code, out, err) = self.upgrade(&["--json"]);
        let report = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("--json does not parse: {e}\n{out}\n{err}"));
        (code, report)
    }

    /// `<root>/var/lib/homelab/upgrade.json`.
    fn kept(&self) -> Value {
        let path = self.root.join("var/lib/homelab/upgrade.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Where the system profile points.
    fn system(&self) -> String {
        self.standins.current()
    }

    fn switches(&self) -> Vec<(String, String)> {
        self.standins.switches()
    }

    /// What the stand-in `nix` was asked, a line per call.
    fn nix_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.nix.join("calls"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn pushes(&self) -> Vec<Push> {
        self.pushes.lock().unwrap().clone()
    }
}

/// frame1's spec, with the test's key (a build refuses the example's), a
/// Gatus at the status page's port and a short gate, built; the plan of
/// frame1.
fn built_plan(dir: &Path, status_page: u16) -> PathBuf {
    let key = bin::keygen(dir, "admin");
    let text = compile::examples::get("frame1").unwrap();
    let mut spec: toml::Table = text.parse().unwrap();
    spec["homelab"]["admin_keys"] = toml::Value::Array(vec![key.clone().into()]);
    spec["hosts"]["frame1"]["host_key"] = key.into();
    let deploy = spec["deploy"].as_table_mut().unwrap();
    assert!(deploy.contains_key("schedule") && deploy.contains_key("source"));
    deploy.extend(toml::toml! {
        gate_interval = "1s"
        gate_passes = 2
        gate_window = "4s"
    });
    let services = spec["services"].as_table_mut().unwrap();
    let mut gatus = toml::Table::new();
    gatus.insert("port".into(), i64::from(status_page).into());
    services.insert("gatus".into(), gatus.into());
    std::fs::write(dir.join("homelab.toml"), toml::to_string(&spec).unwrap()).unwrap();
    let (code, out, err) = bin::run_in(dir, &["build"]);
    assert_eq!(code, 0, "{out}{err}");
    dir.join("flake/hosts/frame1/plan.json")
}

const FIRST: &str = "3f9a2c1e0b7d44a1c0ffee0123456789abcdef01";
const BROKEN: &str = "b0bb1e5b0bb1e5b0bb1e5b0bb1e5b0bb1e5b0bb1";
const FIXED: &str = "f00df00df00df00df00df00df00df00df00df00d";

/// The push of an upgrade's result: its target starts with this.
fn push_target(success: bool) -> String {
    format!("/api/v1/endpoints/upgrades_frame1-upgrade/external?success={success}")
}

#[test]
fn an_upgrade_that_passes_its_gate_is_kept_and_reported() {
    let h = Frame1::new();
    let first = h.publish(FIRST, "first", &Activation::healthy());

    let (code, out, err) = h.upgrade(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        format!(
            "frame1: upgraded to revision {}; the health gate passed\n",
            &FIRST[..12]
        )
    );
    assert_eq!(h.system(), first);
    assert_eq!(
        h.switches(),
        vec![pair("nixos-system-frame1-25.11-first", "switch")]
    );
    let flags = "--extra-experimental-features nix-command flakes";
    assert_eq!(
        h.nix_calls(),
        vec![
            format!("{flags} flake metadata --json --refresh {SOURCE}"),
            format!("{flags} build --no-link --print-out-paths {SOURCE}?rev={FIRST}#{ATTRIBUTE}"),
        ]
    );
    let profile = h.root.join("nix/var/nix/profiles/system");
    assert_eq!(
        h.standins.calls("nix-env"),
        vec![format!("-p {} --set {first}", profile.display())]
    );
    let run = h.standins.calls("systemd-run");
    assert_eq!(run.len(), 1);
    assert!(
        run[0].ends_with(&format!(
            "--property=RemainAfterExit=yes --service-type=exec --quiet -- \
             {first}/bin/switch-to-configuration switch"
        )),
        "{run:?}"
    );
    let unit = run[0].split_whitespace().next().unwrap();
    let unit = unit.strip_prefix("--unit=").unwrap();
    assert_eq!(
        h.standins.calls("systemctl"),
        vec![
            format!("stop {unit}.service"),
            format!("reset-failed {unit}.service")
        ]
    );
    let kept = h.kept();
    assert_eq!(kept["result"], "upgraded", "{kept:#}");
    assert_eq!(kept["revision"], FIRST);
    assert_eq!(kept["before"], h.before.as_str());
    assert_eq!(kept["after"], first.as_str());
    assert_eq!(kept["gate"]["passed"], true);
    assert_eq!(kept["gate"]["rounds"], 2);
    assert!(kept["failed_revision"].is_null());
    let pushes = h.pushes();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    assert_eq!(pushes[0].method, "POST");
    assert!(
        pushes[0].target.starts_with(&push_target(true)),
        "{pushes:?}"
    );
    assert_eq!(
        pushes[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    // The next run finds the system it runs: nothing to do.
    let (code, out, err) = h.upgrade(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        format!("frame1: up to date at revision {}\n", &FIRST[..12])
    );
    assert_eq!(h.switches().len(), 1, "no second switch");
    assert_eq!(h.kept()["result"], "up-to-date");
    let pushes = h.pushes();
    assert_eq!(pushes.len(), 2);
    assert!(pushes[1].target.starts_with(&push_target(true)));
}

#[test]
fn a_revision_that_fails_its_gate_is_rolled_back_remembered_and_not_tried_again() {
    let h = Frame1::new();
    let broken = h.publish(
        BROKEN,
        "broken",
        &Activation::breaking("grafana", &h.grafana),
    );

    let (code, report) = h.upgrade_json();
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["result"], "rolled-back", "{report:#}");
    assert_eq!(report["revision"], BROKEN);
    assert_eq!(report["failed_revision"], BROKEN);
    assert_eq!(report["before"], h.before.as_str());
    assert_eq!(report["after"], h.before.as_str());
    assert_eq!(report["gate"]["passed"], false);
    let unit = &h.grafana[0];
    assert_eq!(
        report["gate"]["failed"],
        serde_json::json!([format!("grafana unit {unit}"), "failed (exit-code)"])
    );
    assert_eq!(
        report["message"],
        format!(
            "the health gate failed: grafana unit {unit}: failed (exit-code); \
             back on the previous system, which is healthy"
        )
    );
    assert_eq!(h.kept(), report, "kept as reported");
    // Switched to the broken system, then back, and healthy again.
    assert_eq!(h.system(), h.before);
    assert_eq!(
        h.switches(),
        vec![
            pair("nixos-system-frame1-25.11-broken", "switch"),
            pair("nixos-system-frame1-25.11-before", "switch")
        ]
    );
    let profile = h.root.join("nix/var/nix/profiles/system");
    assert_eq!(
        h.standins.calls("nix-env"),
        vec![
            format!("-p {} --set {broken}", profile.display()),
            format!("-p {} --set {}", profile.display(), h.before),
        ]
    );
    assert_eq!(h.standins.unit_files(), Vec::<String>::new());
    // The status page hears of it, with the token of the plan's secret.
    let pushes = h.pushes();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    assert_eq!(pushes[0].method, "POST");
    assert!(
        pushes[0].target.starts_with(&format!(
            "{}&error=the%20health%20gate%20failed",
            push_target(false)
        )),
        "{pushes:?}"
    );
    assert_eq!(
        pushes[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    // The same revision again: stuck, nothing built or switched.
    let calls = h.nix_calls().len();
    let (code, out, err) = h.upgrade(&[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.starts_with(&format!(
            "frame1: stuck: revision {} failed here before\n  revision {BROKEN} failed on this host before and is not tried again",
            &BROKEN[..12]
        )),
        "{out}"
    );
    let asked = &h.nix_calls()[calls..];
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].contains("flake metadata"), "{asked:?}");
    assert_eq!(h.switches().len(), 2, "no switch");
    assert_eq!(h.system(), h.before);
    let kept = h.kept();
    assert_eq!(kept["result"], "stuck");
    assert_eq!(kept["failed_revision"], BROKEN);
    let pushes = h.pushes();
    assert_eq!(pushes.len(), 2);
    assert!(
        pushes[1]
            .target
            .starts_with(&format!("{}&error=revision%20{BROKEN}", push_target(false))),
        "{pushes:?}"
    );

    // The flake moves on: the new revision is tried, and passes.
    let fixed = h.publish(FIXED, "fixed", &Activation::healthy());
    let (code, report) = h.upgrade_json();
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["result"], "upgraded");
    assert_eq!(report["revision"], FIXED);
    assert!(report["failed_revision"].is_null(), "{report:#}");
    assert_eq!(h.system(), fixed);
    assert_eq!(
        h.switches().last().unwrap(),
        &pair("nixos-system-frame1-25.11-fixed", "switch")
    );
    assert!(h.pushes()[2].target.starts_with(&push_target(true)));
}
