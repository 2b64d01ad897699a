//! The host plan of every example: each service with its data, database,
//! repositories and probe, read off the same fleet as the Nix; secrets only
//! as the paths of their decrypted files; and it reads back unchanged.

use compile::plan::{self, Plan};
use compile::spec::DataClass;

fn plans(example: &str) -> (compile::fleet::Fleet, Vec<Plan>) {
    let text = compile::examples::get(example).unwrap();
    let (fleet, _) = compile::compile(text).expect("example compiles");
    let plans = fleet.hosts.iter().map(|h| plan::plan(&fleet, h)).collect();
    (fleet, plans)
}

#[test]
fn every_service_with_data_is_in_its_hosts_plan() {
    for example in compile::examples::names() {
        let (fleet, plans) = plans(example);
        for i in fleet.instances.iter().filter(|i| !i.data.is_empty()) {
            let plan = plans.iter().find(|p| p.host == i.host).unwrap();
            let s = plan
                .services
                .iter()
                .find(|s| s.name == i.name.value)
                .unwrap_or_else(|| panic!("{example}: {} missing", i.name.value));
            let paths: Vec<&str> = s.paths.iter().map(|p| p.path.as_str()).collect();
            let expected: Vec<&str> = i.data.iter().map(|d| d.path.as_str()).collect();
            assert_eq!(paths, expected, "{example}/{}", s.name);
            assert!(!s.units.is_empty());
            assert_eq!(s.database.as_ref().map(|d| &d.name), i.database.as_ref());
        }
    }
}

#[test]
fn the_family_plan_names_units_datasets_repositories_and_probes() {
    let (_, plans) = plans("family");
    let server = plans.iter().find(|p| p.host == "server").unwrap();
    let immich = server.services.iter().find(|s| s.name == "immich").unwrap();
    assert_eq!(
        immich.units,
        ["immich-server.service", "immich-machine-learning.service"]
    );
    assert_eq!(immich.class, DataClass::Critical);
    assert_eq!(immich.max_age_hours, 26);
    let library = immich.paths.iter().find(|p| p.name == "library").unwrap();
    assert_eq!(library.dataset.as_deref(), Some("tank/immich/library"));
    let db = immich.database.as_ref().unwrap();
    assert_eq!(
        (db.name.as_str(), db.socket_dir.as_str()),
        ("immich", "/run/postgresql")
    );
    let offsite = &immich.repositories[0];
    assert_eq!(offsite.url, "s3:https://s3.example.org/family-backups");
    assert_eq!(offsite.password_file, "/run/agenix/restic-password");
    assert_eq!(
        offsite.environment_file.as_deref(),
        Some("/run/agenix/restic-s3-credentials")
    );
    let probe = immich.health.as_ref().unwrap();
    assert_eq!(probe.status, 200);
    assert!(probe.url.starts_with("http://127.0.0.1:"), "{}", probe.url);
    assert_eq!(server.drill.max_age_days, 30);
}

#[test]
fn secrets_appear_only_as_decrypted_file_paths() {
    for example in compile::examples::names() {
        let (fleet, plans) = plans(example);
        for p in &plans {
            let json = plan::to_json(p);
            for name in fleet.secrets.keys() {
                let path = format!("/run/agenix/{name}");
                let bare = json.matches(name.as_str()).count();
                let as_path = json.matches(path.as_str()).count();
                assert_eq!(bare, as_path, "{example}: secret {name} outside a path");
            }
            for r in p.services.iter().flat_map(|s| &s.repositories) {
                assert!(r.password_file.starts_with("/run/agenix/"));
            }
            assert!(!json.contains("\"password\""), "no password field");
        }
    }
}

#[test]
fn the_plan_reads_back_unchanged() {
    for example in compile::examples::names() {
        for p in plans(example).1 {
            let back: Plan = serde_json::from_str(&plan::to_json(&p)).unwrap();
            assert_eq!(back, p);
        }
    }
}
