use super::*;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Every host plan of every built-in example, as the build writes it.
fn example_plans() -> Vec<Plan> {
    crate::examples::names()
        .into_iter()
        .flat_map(|name| {
            let (fleet, _) = crate::compile(crate::examples::get(name).unwrap())
                .unwrap_or_else(|d| panic!("{name}: {d:?}"));
            fleet
                .hosts
                .iter()
                .map(|h| crate::plan::plan(&fleet, h))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_plan_the_build_writes_loads() {
    let plans = example_plans();
    assert!(plans.len() >= 6, "{}", plans.len());
    for plan in plans {
        let text = crate::plan::to_json(&plan);
        match load(&text) {
            Ok(loaded) => assert!(loaded == plan, "{} reads back changed", plan.host),
            Err(e) => panic!("{}: {e}", plan.host),
        }
    }
}

/// A small plan with one service of every kind of field.
fn plan() -> Value {
    json!({
        "version": 1,
        "host": "server",
        "state_dir": "/var/lib/homelab",
        "drill": {
            "schedule": "weekly",
            "max_age_days": 30,
            "scratch_dir": "/var/lib/homelab-drill",
            "postgres_user": "postgres",
            "data_check": { "subset": "1G", "every_days": 7 }
        },
        "services": [{
            "name": "app",
            "entry": "app",
            "units": ["app.service"],
            "class": "critical",
            "paths": [{ "name": "data", "path": "/var/lib/app", "class": "critical",
                        "dataset": "tank/app", "backed_up": true }],
            "database": { "name": "app", "user": "app", "socket_dir": "/run/postgresql" },
            "dump_dir": "/var/lib/homelab/dumps/app",
            "repositories": [{ "name": "nas", "url": "/srv/restic/nas",
                               "password_secret": "restic-password",
                               "environment_secret": null, "offsite": false }],
            "health": { "url": "http://127.0.0.1:8080/health", "status": 200,
                        "timeout_seconds": 30 },
            "schedule": "daily",
            "max_age_hours": 26
        }],
        "status_page": { "url": "http://127.0.0.1:8080", "token_secret": "heartbeat-token" },
        "metrics_dir": "/var/lib/homelab-metrics"
    })
}

/// The error of the plan with `pointer` set to `value`.
fn refused(pointer: &str, value: Value) -> PlanError {
    let mut p = plan();
    *p.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = value;
    load(&p.to_string()).expect_err(pointer)
}

#[test]
fn the_small_plan_loads() {
    load(&plan().to_string()).unwrap();
}

#[test]
fn each_bad_field_is_named() {
    let cases: &[(&str, Value, &str, &str)] = &[
        (
            "/services/0/name",
            json!(".."),
            "services[0].name",
            "is not a name",
        ),
        (
            "/services/0/name",
            json!("a/b"),
            "services[0].name",
            "is not a name",
        ),
        (
            "/services/0/paths/0/path",
            json!("/var/lib/../etc"),
            "services[0].paths[0].path",
            "plain parts",
        ),
        (
            "/services/0/paths/0/path",
            json!("var/lib/app"),
            "services[0].paths[0].path",
            "plain parts",
        ),
        (
            "/services/0/paths/0/path",
            json!("/var/lib/app/"),
            "services[0].paths[0].path",
            "plain parts",
        ),
        (
            "/services/0/paths/0/path",
            json!("/etc/ssh"),
            "services[0].paths[0].path",
            "system folder",
        ),
        (
            "/services/0/paths/0/path",
            json!("/srv"),
            "services[0].paths[0].path",
            "top-level",
        ),
        (
            "/services/0/paths/0/path",
            json!("/var/lib/homelab/x"),
            "services[0].paths[0].path",
            "homelab's state folder",
        ),
        (
            "/services/0/paths/0/path",
            json!("/var/lib"),
            "services[0].paths[0].path",
            "overlaps",
        ),
        (
            "/services/0/paths/0/dataset",
            json!("tank/app@snap"),
            "services[0].paths[0].dataset",
            "ZFS dataset",
        ),
        (
            "/services/0/dump_dir",
            json!("/var/lib/homelab/dumps/other"),
            "services[0].dump_dir",
            "dump folder",
        ),
        (
            "/services/0/units/0",
            json!("app.service; rm -rf /"),
            "services[0].units[0]",
            "unit name",
        ),
        (
            "/services/0/units/0",
            json!("--now"),
            "services[0].units[0]",
            "unit name",
        ),
        (
            "/services/0/database/name",
            json!("host=10.0.0.1 dbname=app"),
            "services[0].database.name",
            "database identifier",
        ),
        (
            "/services/0/database/socket_dir",
            json!("/tmp/evil"),
            "services[0].database.socket_dir",
            "below /run",
        ),
        (
            "/services/0/repositories/0/password_secret",
            json!("../../etc/shadow"),
            "services[0].repositories[0].password_secret",
            "secret name",
        ),
        (
            "/services/0/repositories/0/url",
            json!("/etc"),
            "services[0].repositories[0].url",
            "system folder",
        ),
        (
            "/services/0/repositories/0/url",
            json!("ftp://x"),
            "services[0].repositories[0].url",
            "restic repository",
        ),
        (
            "/services/0/repositories/0/url",
            json!("s3:https://a b"),
            "services[0].repositories[0].url",
            "restic repository",
        ),
        (
            "/services/0/health/url",
            json!("http://user@evil:80/"),
            "services[0].health.url",
            "not a URL",
        ),
        (
            "/services/0/health/url",
            json!("file:///etc/passwd"),
            "services[0].health.url",
            "not a URL",
        ),
        (
            "/services/0/schedule",
            json!("daily\nExecStart=/bin/sh"),
            "services[0].schedule",
            "calendar",
        ),
        (
            "/state_dir",
            json!("/var/lib/../../etc"),
            "state_dir",
            "plain parts",
        ),
        (
            "/state_dir",
            json!("/etc/homelab"),
            "state_dir",
            "below /var/lib",
        ),
        (
            "/metrics_dir",
            json!("/var/lib/homelab"),
            "metrics_dir",
            "overlaps",
        ),
        (
            "/drill/scratch_dir",
            json!("/var/lib/homelab/drill"),
            "drill.scratch_dir",
            "overlaps",
        ),
        (
            "/drill/scratch_dir",
            json!("/"),
            "drill.scratch_dir",
            "plain parts",
        ),
        (
            "/drill/postgres_user",
            json!("root\n"),
            "drill.postgres_user",
            "user name",
        ),
        (
            "/drill/data_check/subset",
            json!("--read-data"),
            "drill.data_check.subset",
            "data subset",
        ),
        (
            "/status_page/token_secret",
            json!("a/b"),
            "status_page.token_secret",
            "secret name",
        ),
        ("/host", json!("Server 1"), "host", "host name"),
        ("/version", json!(2), "version", "version 2 plan"),
    ];
    for (pointer, value, field, problem) in cases {
        let e = refused(pointer, value.clone());
        assert_eq!(e.field, *field, "{pointer} = {value}: {e}");
        assert!(e.problem.contains(problem), "{pointer} = {value}: {e}");
        assert!(e.to_string().starts_with(&format!("`{field}`: ")), "{e}");
    }
}

#[test]
fn duplicates_and_unknown_fields_are_refused() {
    let mut p = plan();
    let s = p["services"][0].clone();
    p["services"].as_array_mut().unwrap().push(s);
    assert_eq!(load(&p.to_string()).unwrap_err().field, "services[1].name");
    let mut p = plan();
    p["services"][0]["extra"] = json!(1);
    let e = load(&p.to_string()).unwrap_err();
    assert!(e.problem.contains("unknown field `extra`"), "{e}");
    let mut p = plan();
    let r = p["services"][0]["repositories"][0].clone();
    p["services"][0]["repositories"]
        .as_array_mut()
        .unwrap()
        .push(r);
    assert_eq!(
        load(&p.to_string()).unwrap_err().field,
        "services[0].repositories[1].name"
    );
}

#[test]
fn values_in_messages_cannot_paint_the_terminal() {
    let e = refused("/services/0/name", json!("\u{1b}[2Jx"));
    assert!(!e.to_string().contains('\u{1b}'), "{e}");
}

#[test]
fn data_subsets_follow_restic() {
    for ok in ["1/10", "5%", "2.5%", "1G", "500m", "1024"] {
        assert!(is_data_subset(ok), "{ok}");
    }
    for bad in ["", "1/", "/2", "%", "1GG", "-1G", "1G ", "1.5G", "a/b"] {
        assert!(!is_data_subset(bad), "{bad}");
    }
}

/// A string that looks like a path, often hostile.
fn path_like() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("..".to_string()),
            Just(".".to_string()),
            Just(String::new()),
            Just("var".to_string()),
            Just("lib".to_string()),
            Just("etc".to_string()),
            Just("homelab".to_string()),
            "[a-z\\.\\x00\n]{1,4}",
        ],
        0..6,
    )
    .prop_map(|parts| parts.join("/"))
    .prop_flat_map(|p| prop_oneof![Just(p.clone()), Just(format!("/{p}"))])
}

proptest! {
    /// Whatever a path field holds, a plan that loads has only normal
    /// absolute paths of its kind: joined under any root, none climbs out.
    #[test]
    fn a_loaded_plan_never_names_a_path_that_leaves_the_root(
        state in path_like(),
        dump in path_like(),
        scratch in path_like(),
        metrics in path_like(),
        socket in path_like(),
        repo in path_like(),
        name in "[a-z\\./]{1,6}",
    ) {
        let mut p = plan();
        p["services"][0]["paths"][0]["path"] = json!(state);
        p["services"][0]["dump_dir"] = json!(dump);
        p["drill"]["scratch_dir"] = json!(scratch);
        p["metrics_dir"] = json!(metrics);
        p["services"][0]["database"]["socket_dir"] = json!(socket);
        p["services"][0]["repositories"][0]["url"] = json!(repo);
        p["services"][0]["name"] = json!(name);
        if let Ok(plan) = load(&p.to_string()) {
            let s = &plan.services[0];
            let paths = [
                s.paths[0].path.as_str(),
                s.dump_dir.as_str(),
                plan.drill.scratch_dir.as_str(),
                plan.metrics_dir.as_deref().unwrap(),
                s.database.as_ref().unwrap().socket_dir.as_str(),
                s.repositories[0].url.as_str(),
            ];
            for path in paths {
                prop_assert!(is_normal_absolute(path), "{path}");
            }
            prop_assert!(is_name(&s.name));
            prop_assert!(!is_at_or_below(&s.paths[0].path, "/etc"));
        }
    }
}
