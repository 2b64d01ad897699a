//! `homelab recover` on a host that was lost: a scratch tree stands in for
//! the new machine (its service's folder empty, its database without a
//! table, no homelab state at all), with real restic repositories (the
//! replica and offsite) and a real PostgreSQL. Every service comes back,
//! files and rows, proven by a drill, with the age of its data and the
//! time it took; the plan-only mode touches nothing; a replica that does
//! not answer is named, and offsite used instead.

#[path = "support/host.rs"]
mod host;

use host::{Host, backed_up, tree};
use serde_json::Value;

/// What a new machine has: the service's folder empty, its database
/// empty, no homelab state.
fn lost(h: &Host) {
    let data = h.root_path("/var/lib/app");
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    h.sql("app", "drop table notes");
    std::fs::remove_dir_all(h.root_path("/var/lib/homelab")).unwrap();
}

fn tables(h: &Host) -> String {
    h.sql(
        "app",
        "select count(*) from pg_tables where schemaname = 'public'",
    )
}

fn json(h: &Host, args: &[&str]) -> (i32, Value) {
    let (code, stdout, stderr) = h.homelab(args);
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    (code, v)
}

#[test]
fn every_service_comes_back_from_the_replica_with_its_age_and_time() {
    let h = backed_up();
    let files = tree(&h.root_path("/var/lib/app"));
    lost(&h);

    // Plan only: what would come back from where, and how old; nothing moves.
    let (code, plan) = json(&h, &["recover", "--plan-only", "--json"]);
    assert_eq!(code, 0, "{plan}");
    let app = &plan["services"][0];
    assert_eq!(app["outcome"], "would-restore", "{plan}");
    assert_eq!(app["repository"], "nas");
    assert!(app["rpo_hours"].as_f64().unwrap() >= 0.0);
    assert!(tree(&h.root_path("/var/lib/app")).is_empty());
    assert_eq!(tables(&h), "0");
    assert!(!h.root_path("/var/lib/homelab/restored").exists());

    let (code, report) = json(&h, &["recover", "--json"]);
    assert_eq!(code, 0, "{report}");
    let app = &report["services"][0];
    assert_eq!(app["outcome"], "restored", "{report}");
    assert_eq!(app["repository"], "nas");
    assert!(app["rto_seconds"].as_f64().unwrap() > 0.0, "{app}");
    assert!(app["rpo_hours"].as_f64().is_some(), "{app}");
    assert_eq!(app["drill"]["passed"], true, "{app}");
    assert_eq!(tree(&h.root_path("/var/lib/app")), files);
    assert_eq!(h.sql("app", "select count(*) from notes"), "50");

    // Again: the data is there, and the record says what brought it.
    let (code, stdout, _) = h.homelab(&["recover"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("restored-at-boot"), "{stdout}");
}

#[test]
fn an_unreachable_replica_falls_back_to_offsite_and_says_so() {
    let h = backed_up();
    let files = tree(&h.root_path("/var/lib/app"));
    lost(&h);
    // The NAS is gone with the server: its REST server does not answer.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut plan = h.plan_json();
    plan["services"][0]["repositories"][0]["url"] =
        format!("rest:http://127.0.0.1:{closed}/").into();
    h.write_plan(plan);
    let (code, stdout, stderr) = h.homelab(&["recover"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("offsite"), "{stdout}");
    assert!(
        stdout.contains("app: not from nas: unreachable"),
        "{stdout}"
    );
    assert_eq!(tree(&h.root_path("/var/lib/app")), files);
    assert_eq!(h.sql("app", "select count(*) from notes"), "50");
}
