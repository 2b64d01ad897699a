//! The host plan of every example: each service with its data, database,
//! repositories and probe, read off the same fleet as the Nix; secrets only
//! by name; and it reads back unchanged.

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
    // The NAS first (nearer, append-only), then offsite; a repository
    // of the host's own in each.
    let nas = &immich.repositories[0];
    assert_eq!(
        (nas.name.as_str(), nas.url.as_str(), nas.offsite, &nas.keep),
        ("nas", "rest:http://192.168.1.20:8000/server/", false, &None)
    );
    assert_eq!(nas.environment_secret.as_deref(), Some("restic-nas-server"));
    let offsite = &immich.repositories[1];
    assert!(offsite.offsite);
    assert_eq!(
        offsite.url,
        "s3:https://s3.example.org/family-backups/server"
    );
    assert_eq!(offsite.password_secret, "restic-password");
    assert_eq!(
        offsite.environment_secret.as_deref(),
        Some("restic-s3-credentials")
    );
    let probe = immich.health.as_ref().unwrap();
    assert_eq!(probe.status, 200);
    assert!(probe.url.starts_with("http://127.0.0.1:"), "{}", probe.url);
    assert_eq!(server.drill.max_age_days, 30);
}

/// A plan names secrets (agenix names, decrypted on the host) and never
/// holds a value: each secret name appears only as a `*_secret` field.
#[test]
fn secrets_appear_only_by_name() {
    for example in compile::examples::names() {
        let (fleet, plans) = plans(example);
        for p in &plans {
            let json = plan::to_json(p);
            for name in fleet.secrets.keys() {
                let anywhere = json.matches(&format!("\"{name}\"")).count();
                let as_field = json.matches(&format!("_secret\": \"{name}\"")).count();
                assert_eq!(
                    anywhere, as_field,
                    "{example}: secret {name} outside a *_secret field"
                );
            }
            for r in p.services.iter().flat_map(|s| &s.repositories) {
                assert!(fleet.secrets.contains_key(&r.password_secret));
            }
            assert!(!json.contains("password\":"), "no password field");
            assert!(
                !json.contains("/run/agenix"),
                "no decrypted path spelled out"
            );
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
