//! The manifest reader: a manifest comes back from a repository and may
//! be forged. No input may panic the reader or the comparison after it,
//! and an accepted manifest names only the service's own files and its
//! plan's database.

#![no_main]

use compile::plan::{DatabasePlan, ServicePlan, StatePath};
use compile::spec::DataClass;
use libfuzzer_sys::fuzz_target;
use operate::backup::manifest;

fn service() -> ServicePlan {
    ServicePlan {
        name: "app".into(),
        entry: "app".into(),
        units: vec!["app.service".into()],
        class: DataClass::Critical,
        paths: vec![StatePath {
            name: "data".into(),
            path: "/var/lib/app".into(),
            class: DataClass::Critical,
            dataset: None,
            backed_up: true,
        }],
        database: Some(DatabasePlan {
            name: "app".into(),
            user: "app".into(),
            socket_dir: "/run/postgresql".into(),
        }),
        dump_dir: "/var/lib/homelab/dumps/app".into(),
        repositories: Vec::new(),
        health: None,
        schedule: "daily".into(),
        max_age_hours: 26,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let service = service();
    let Ok(m) = manifest::parse(text, &service) else { return };
    for f in &m.files {
        assert!(f.path.starts_with("/var/lib/app/"), "{}", f.path);
    }
    for d in &m.dumps {
        assert_eq!(d.database, "app");
    }
    // Every difference is named without panicking, whatever the hashes.
    let mut other = m.files.clone();
    for f in &mut other {
        f.sha256 = "0".into();
        f.size = f.size.wrapping_add(1);
    }
    let _ = manifest::verify(&m.files, &other);
    let _ = manifest::verify(&other, &m.files);
});
