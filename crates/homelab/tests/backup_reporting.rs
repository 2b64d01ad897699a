//! What a backup run leaves behind besides snapshots: repositories made
//! on first use, retention applied after a good backup, each result
//! pushed to the status page (a real HTTP server on loopback that records
//! what it is sent) and `homelab.prom` for node-exporter, parsed here.
//! Real restic and PostgreSQL, as in backup.rs.

#[path = "support/host.rs"]
mod host;
#[path = "support/http.rs"]
mod http;

use host::Host;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

fn seeded() -> Host {
    let h = Host::new();
    let data = h.root_path("/var/lib/app");
    std::fs::write(data.join("config.toml"), "name = \"app\"\n").unwrap();
    h.sql(
        "app",
        "create table notes (id int); insert into notes select generate_series(1, 20)",
    );
    h
}

fn snapshots(h: &Host, repo: &str) -> usize {
    let out = h.restic(repo, &["snapshots", "--json", "--tag", "app"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout)
        .unwrap()
        .len()
}

#[test]
fn the_first_run_creates_missing_repositories_and_later_runs_reuse_them() {
    let h = seeded();
    assert!(!h.root_path("/srv/restic/nas").exists());
    let (code, out, err) = h.homelab(&["backup", "run", "app", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let result: Value = serde_json::from_str(&out).unwrap();
    let repos = &result[0]["outcome"]["repositories"];
    assert_eq!(repos[0]["repository"], "nas");
    assert_eq!(repos[0]["created"], true);
    assert_eq!(repos[1]["created"], true);
    let (code, _, err) = h.homelab(&["backup", "run", "app"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("created repository"), "{err}");
    assert_eq!(snapshots(&h, "nas"), 2);

    // An existing repository that does not open is never made anew.
    let config = std::fs::read(h.root_path("/srv/restic/nas/config")).unwrap();
    std::fs::write(h.root_path("/run/agenix/restic-password"), "other\n").unwrap();
    let (code, _, err) = h.homelab(&["backup", "run", "app"]);
    assert_eq!(code, 1);
    assert!(err.contains("wrong password for repository `nas`"), "{err}");
    assert!(!err.contains("created repository"), "{err}");
    assert_eq!(
        std::fs::read(h.root_path("/srv/restic/nas/config")).unwrap(),
        config
    );
}

#[test]
fn retention_applies_per_repository_and_its_failure_keeps_the_backup() {
    let h = seeded();
    let mut plan = h.plan_json();
    plan["services"][0]["repositories"][0]["keep"] =
        json!({ "daily": 1, "weekly": 0, "monthly": 0, "yearly": 0 });
    h.write_plan(plan);
    let mut last = Value::Null;
    for _ in 0..3 {
        let (code, out, err) = h.homelab(&["backup", "run", "app", "--json"]);
        assert_eq!(code, 0, "{out}{err}");
        last = serde_json::from_str(&out).unwrap();
    }
    let repos = &last[0]["outcome"]["repositories"];
    assert_eq!(repos[0]["forgotten"], 1, "{repos}");
    assert!(repos[1]["forgotten"].is_null(), "{repos}");
    // nas keeps one a day; offsite (no policy) keeps everything.
    assert_eq!(snapshots(&h, "nas"), 1);
    assert_eq!(snapshots(&h, "offsite"), 3);

    // restic forget fails (a stand-in in front of the real restic):
    // the snapshot stands, is recorded, and the run says what failed.
    let restic = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v restic"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let wrapper = h.bin.join("restic");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$1\" = forget ]; then echo 'Fatal: unable to create lock in backend' >&2; exit 1; fi\nexec {} \"$@\"\n",
            restic.trim()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, out, err) = h.homelab(&["backup", "run", "app", "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    let result: Value = serde_json::from_str(&out).unwrap();
    let nas = &result[0]["outcome"]["repositories"][0];
    assert!(nas["snapshot"].is_string(), "{nas}");
    assert!(
        nas["retention_error"]
            .as_str()
            .unwrap()
            .starts_with("applying retention to `app` in `nas`: repository `nas` is locked"),
        "{nas}"
    );
    let record: Value = serde_json::from_slice(
        &std::fs::read(h.root_path("/var/lib/homelab/backups/app.json")).unwrap(),
    )
    .unwrap();
    let nas = &record["repositories"]["nas"];
    assert_eq!(
        nas["last_snapshot"],
        result[0]["outcome"]["repositories"][0]["snapshot"]
    );
    assert!(nas["last_error"].is_null());
    assert_eq!(snapshots(&h, "nas"), 2, "the new snapshot is kept");
}

/// One request as the status page saw it.
#[derive(Debug, Clone)]
struct Request {
    line: String,
    authorization: Option<String>,
}

/// A real HTTP server on loopback that answers 200 and records requests.
fn status_page() -> (u16, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let req = http::read(&stream);
            let target = match req.query.as_str() {
                "" => req.path.clone(),
                query => format!("{}?{query}", req.path),
            };
            log.lock().unwrap().push(Request {
                line: format!("{} {target} HTTP/1.1", req.method),
                authorization: req.header("authorization").map(String::from),
            });
            http::reply(stream, 200, "");
        }
    });
    (port, seen)
}

/// Parses `homelab.prom`: metric name with labels → value, and checks
/// every sample has its `# HELP` and `# TYPE … gauge` lines before it.
fn parse_prom(text: &str) -> BTreeMap<String, f64> {
    let mut typed = std::collections::BTreeSet::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(kind, "gauge");
            typed.insert(name.to_string());
        } else if line.starts_with("# HELP ") {
        } else {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let name = series.split('{').next().unwrap();
            assert!(typed.contains(name), "{name} has no # TYPE line");
            samples.insert(series.to_string(), value.parse().unwrap());
        }
    }
    samples
}

#[test]
fn results_reach_the_status_page_and_the_metrics_file() {
    let h = seeded();
    let (port, seen) = status_page();
    std::fs::write(h.root_path("/run/agenix/gatus-token"), "s3cret-token\n").unwrap();
    let mut plan = h.plan_json();
    plan["status_page"] =
        json!({ "url": format!("http://127.0.0.1:{port}"), "token_secret": "gatus-token" });
    plan["metrics_dir"] = json!("/var/lib/node-exporter/textfile");
    h.write_plan(plan.clone());
    let prom_path = h.root_path("/var/lib/node-exporter/textfile/homelab.prom");

    let before = jiff::Timestamp::now().as_second();
    let (code, out, err) = h.homelab(&["backup", "run", "app"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        !format!("{out}{err}").contains("s3cret"),
        "the token stays secret"
    );
    let prom = parse_prom(&std::fs::read_to_string(&prom_path).unwrap());
    for repo in ["nas", "offsite"] {
        let at = prom[&format!(
            "homelab_backup_last_success_timestamp_seconds{{service=\"app\",repository=\"{repo}\"}}"
        )];
        assert!(at as i64 >= before, "{repo}: {at}");
    }
    assert_eq!(
        prom["homelab_backup_max_age_seconds{service=\"app\"}"],
        26.0 * 3600.0
    );
    assert_eq!(
        prom["homelab_drill_last_success_timestamp_seconds{service=\"app\"}"],
        0.0
    );
    assert_eq!(
        prom["homelab_drill_max_age_seconds{service=\"app\"}"],
        30.0 * 86400.0
    );
    assert!(
        !prom.contains_key("homelab_drill_last_run_success{service=\"app\"}"),
        "absent until a drill ran"
    );

    let (code, out, _) = h.homelab(&["backup", "drill", "app"]);
    assert_eq!(code, 0, "{out}");
    let prom = parse_prom(&std::fs::read_to_string(&prom_path).unwrap());
    assert_eq!(prom["homelab_drill_last_run_success{service=\"app\"}"], 1.0);
    assert!(prom["homelab_drill_last_success_timestamp_seconds{service=\"app\"}"] as i64 >= before);
    assert!(prom["homelab_drill_recovery_seconds{service=\"app\"}"] > 0.0);
    assert!(
        prom.contains_key(
            "homelab_backup_last_success_timestamp_seconds{service=\"app\",repository=\"nas\"}"
        ),
        "a drill rewrites the whole file, backups included"
    );

    // A failing drill: its push says why, its metric says 0, and the last
    // passing drill's time and recovery stay.
    let passed_at = prom["homelab_drill_last_success_timestamp_seconds{service=\"app\"}"];
    std::fs::write(h.root_path("/run/agenix/restic-password"), "wrong\n").unwrap();
    let (code, _, _) = h.homelab(&["backup", "drill", "app"]);
    assert_eq!(code, 1);
    let prom = parse_prom(&std::fs::read_to_string(&prom_path).unwrap());
    assert_eq!(prom["homelab_drill_last_run_success{service=\"app\"}"], 0.0);
    assert_eq!(
        prom["homelab_drill_last_success_timestamp_seconds{service=\"app\"}"],
        passed_at
    );

    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 3, "{requests:?}");
    for r in &requests {
        assert_eq!(r.authorization.as_deref(), Some("Bearer s3cret-token"));
    }
    let (method, target) = requests[0].line.split_once(' ').unwrap();
    assert_eq!(method, "POST");
    assert!(
        target.starts_with("/api/v1/endpoints/backups_app-backup/external?success=true&duration="),
        "{target}"
    );
    assert!(
        requests[1].line.starts_with(
            "POST /api/v1/endpoints/backups_app-drill/external?success=true&duration="
        ),
        "{:?}",
        requests[1]
    );
    assert!(
        requests[2].line.starts_with(
            "POST /api/v1/endpoints/backups_app-drill/external?success=false&error=restoring%20snapshot"
        ) || requests[2].line.contains("?success=false&error=listing%20snapshots"),
        "{:?}",
        requests[2]
    );
    assert!(
        requests[2].line.contains("wrong%20password"),
        "{:?}",
        requests[2]
    );

    // A status page that refuses is a warning; the backup stands.
    std::fs::write(
        h.root_path("/run/agenix/restic-password"),
        "correct horse battery staple\n",
    )
    .unwrap();
    let refusing = host::unhealthy_port();
    plan["status_page"]["url"] = json!(format!("http://127.0.0.1:{refusing}"));
    h.write_plan(plan);
    let (code, out, err) = h.homelab(&["backup", "run", "app"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(
            "warning: the status page did not take the result of backups_app-backup: 127.0.0.1:"
        ) && err.contains("answered `HTTP/1.0 503 Service Unavailable`"),
        "{err}"
    );
}

/// A public status page (read through the tunnel) learns that a run
/// failed, never why: the error text names paths, repositories and hosts.
#[test]
fn a_public_status_page_gets_a_failure_without_its_text() {
    let h = seeded();
    let (port, seen) = status_page();
    std::fs::write(h.root_path("/run/agenix/gatus-token"), "s3cret-token\n").unwrap();
    let mut plan = h.plan_json();
    plan["status_page"] = json!({
        "url": format!("http://127.0.0.1:{port}"),
        "token_secret": "gatus-token",
        "public": true,
    });
    h.write_plan(plan);
    std::fs::write(h.root_path("/run/agenix/restic-password"), "wrong\n").unwrap();
    let (code, _, _) = h.homelab(&["backup", "drill", "app"]);
    assert_eq!(code, 1);
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0].line.starts_with(
            "POST /api/v1/endpoints/backups_app-drill/external?success=false&duration="
        ),
        "{:?}",
        requests[0]
    );
}
