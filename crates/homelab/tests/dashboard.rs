//! The dashboard lists every service of the fleet, whichever host runs it,
//! each group once; the catalog's container images run pinned.

#[path = "support/examples.rs"]
mod examples;

use compile::nix::{Nix, print};
use examples::{example, text};

/// Group name → titles, from homepage's `services` list.
fn groups(services: &Nix) -> Vec<(String, Vec<String>)> {
    let Nix::List(groups) = services else {
        panic!("a list of groups: {}", print(services))
    };
    groups
        .iter()
        .map(|g| {
            let Nix::Attrs(g) = g else { panic!("a group") };
            assert_eq!(g.len(), 1, "one group per element");
            let (name, entries) = g.iter().next().unwrap();
            let Nix::List(entries) = entries else {
                panic!("entries")
            };
            let titles = entries
                .iter()
                .map(|e| match e {
                    Nix::Attrs(e) => e.keys().next().unwrap().clone(),
                    _ => panic!("an entry"),
                })
                .collect();
            (name.clone(), titles)
        })
        .collect()
}

#[test]
fn homepage_lists_the_services_of_every_host_once_per_group() {
    let (fleet, files) = example("family");
    let homepage = fleet
        .instances
        .iter()
        .find(|i| i.entry.name == "homepage")
        .unwrap();
    let path = format!("hosts/{}/services/homepage.nix", homepage.host);
    let body = files
        .iter()
        .find(|f| f.path == path)
        .unwrap()
        .module_body()
        .unwrap()
        .clone();
    let Some(Nix::Attrs(services)) = body.get("services") else {
        panic!("services")
    };
    let Some(Nix::Attrs(dashboard)) = services.get("homepage-dashboard") else {
        panic!("homepage-dashboard")
    };
    let listed = groups(&dashboard["services"]);
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(names, unique, "each group once");

    let mut expected: Vec<String> = fleet
        .instances
        .iter()
        .filter(|i| i.url().is_some() && i.entry.name != "homepage")
        .map(|i| i.entry.title.clone())
        .collect();
    expected.sort();
    let mut titles: Vec<String> = listed.into_iter().flat_map(|(_, t)| t).collect();
    titles.sort();
    assert_eq!(
        titles, expected,
        "every service with an address, on every host"
    );
    let elsewhere: Vec<&str> = fleet
        .instances
        .iter()
        .filter(|i| i.url().is_some() && i.host != homepage.host)
        .map(|i| i.name.value.as_str())
        .collect();
    assert!(!elsewhere.is_empty(), "family runs services on other hosts");

    // A service on another host is checked where the homepage host is
    // one of its admitted peers, at the address it listens on.
    let text = text(&files, &path);
    for i in fleet.instances.iter().filter(|i| i.host != homepage.host) {
        let (Some(endpoint), Some(_), Some(health)) =
            (i.local_endpoint(), i.url(), &i.entry.health)
        else {
            continue;
        };
        let monitored = text.contains(&format!("siteMonitor = \"{endpoint}{health}\""));
        let peer = i.peers.iter().any(|p| p.host == homepage.host);
        assert_eq!(monitored, peer, "{}", i.name.value);
    }
}

#[test]
fn enclosed_runs_a_pinned_image_without_being_told() {
    let entry = compile::catalog::get("enclosed").unwrap();
    let image = toml::to_string(&entry.nixos).unwrap();
    assert!(
        image.contains("ghcr.io/corentinth/enclosed:1.16.0@sha256:d1e78c34ae7027c0c7b7a9ba67f352520049b9f260560fb8a0b3b1c55488cdc8"),
        "{image}"
    );
    let spec = compile::examples::get("frame1").unwrap().replace(
        "\n[access.proxy]\n",
        "\n[services.enclosed]\n\n[access.proxy]\n",
    );
    assert!(
        spec.contains("[services.enclosed]"),
        "the spec places Enclosed"
    );
    let analysis = compile::analyze(&spec);
    let codes: Vec<&str> = analysis.diagnostics.iter().map(|d| d.code).collect();
    assert!(!codes.contains(&"unpinned-image"), "{codes:?}");
    assert!(
        !analysis.diagnostics.iter().any(|d| d.is_error()),
        "{codes:?}"
    );
}
