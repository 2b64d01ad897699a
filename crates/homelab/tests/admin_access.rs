//! Admin-only services over the tailnet, with the real parts
//! (`support/lab.rs`): each host a network namespace on a LAN, a tailnet
//! and the internet, the real Caddy serving the virtual hosts the flake
//! gives it, each host behind the firewall its modules configure. On the
//! tailnet stand a family phone (100.100.0.2, and an IPv6 address in
//! Tailscale's fd7a:115c:a1e0::/48) and a device at each address of the
//! spec's `[access.tailscale] admins`.
//!
//! An `admins` name answers the LAN and the admin devices, and the proxy
//! refuses the family phone (403), over IPv4 and IPv6; where no name is
//! served to the whole tailnet, the firewall refuses the family phone
//! before the proxy. `verify exposure --from admin` and `--from tailnet`
//! prove it from each device, and catch a device that is not where it
//! says. tailscaled's own chain, which would accept every port of the
//! tailnet interface ahead of the firewall, is kept out by the flake.
//!
//! Stand-ins: a veth network instead of tailscaled (and, for the last
//! test, tailscaled's chain built as the daemon builds it); plain HTTP or a
//! test authority's certificate instead of ACME; a stub for oauth2-proxy.
//! Needs root, iproute2, iptables, curl, python3, openssl and Debian's
//! caddy.

#[path = "support/bin.rs"]
mod bin;
#[path = "support/examples.rs"]
#[allow(dead_code)]
mod examples;
#[path = "support/lab.rs"]
mod lab;
#[path = "support/netns.rs"]
mod netns;
#[path = "support/sshd.rs"]
mod sshd;
#[path = "support/standins.rs"]
mod standins;

use lab::{Firewall, Lab, Serve};
use netns::Netns;
use serde_json::Value;

/// The proxy's refusal, as the route answers it.
const REFUSAL: &str = "Not reachable from this network";

/// The sign-in gateway's stub lets this request through.
const SIGNED_IN: [&str; 1] = ["X-Test-Signed-In: yes"];

/// Asks for `name` over plain HTTP at `address` from `client`: the status
/// and body, or `None` when nothing answered (refused or dropped).
fn ask(client: &Netns, name: &str, address: &str) -> Option<(u16, String)> {
    client.get(
        &format!("http://{name}/"),
        Some((name, address)),
        &SIGNED_IN,
    )
}

/// The internal names of `exposure` in the lab, with their services.
fn names(lab: &Lab, exposure: &str) -> Vec<(String, String)> {
    lab.ports
        .iter()
        .filter(|p| p.exposure == exposure)
        .filter_map(|p| {
            let url = p.url.as_deref()?;
            Some((
                url.trim_start_matches("https://").to_string(),
                p.service.clone(),
            ))
        })
        .collect()
}

#[test]
fn the_admin_devices_reach_the_admin_services_and_the_family_is_refused() {
    let lab = Lab::start("nuc", Serve::Http);
    let admin = names(&lab, "admins");
    let mut services: Vec<&str> = admin.iter().map(|(_, s)| s.as_str()).collect();
    services.sort();
    // Seed 004's "admin only" over Tailscale (its 3.2): the *arr apps, the
    // torrent client and the pastebin.
    assert_eq!(
        services,
        [
            "bazarr", "deluge", "microbin", "prowlarr", "radarr", "sonarr"
        ]
    );
    let host = "nuc-server";
    let (lan, tail, tail6) = (
        &lab.lan_address[host],
        &lab.tailnet_address[host],
        format!("[{}]", lab.tailnet_address_v6[host]),
    );
    for (name, service) in &admin {
        let answer = Some((200, service.clone()));
        for (device, client) in &lab.admins {
            assert_eq!(ask(client, name, tail), answer, "{name} from {device}");
        }
        assert_eq!(ask(&lab.lan, name, lan), answer, "{name} from the LAN");
        let refused = Some((403, REFUSAL.to_string()));
        assert_eq!(
            ask(&lab.tailnet, name, tail),
            refused,
            "{name} from the family phone"
        );
        // The phone's IPv6 tailnet address lies inside Caddy's
        // `private_ranges` (fd00::/8): the route takes it out.
        assert_eq!(
            ask(&lab.tailnet, name, &tail6),
            refused,
            "{name} from the family phone over IPv6"
        );
        let outside = ask(&lab.internet, name, &lab.internet_address[host]);
        assert_eq!(outside.map(|o| o.0), Some(403), "{name} from the internet");
    }
    // A `tailnet` name answers every device of the tailnet; a `lan` name
    // none, over IPv6 neither.
    for (name, service) in names(&lab, "tailnet") {
        let answer = Some((200, service));
        assert_eq!(ask(&lab.tailnet, &name, tail), answer, "{name}");
        assert_eq!(ask(&lab.admins["laptop"], &name, tail), answer, "{name}");
    }
    for (name, _) in names(&lab, "lan") {
        for (who, client, at) in [
            ("the family phone", &lab.tailnet, tail.as_str()),
            ("the family phone over IPv6", &lab.tailnet, tail6.as_str()),
            ("the laptop", &lab.admins["laptop"], tail.as_str()),
        ] {
            let answer = ask(client, &name, at).map(|a| a.0);
            assert_eq!(answer, Some(403), "{name} from {who}");
        }
    }
}

/// frame1 with Grafana `admins` and one admin device: no name of its proxy
/// is served to the whole tailnet.
fn frame1_for_the_admin() -> Lab {
    let mut spec: toml::Table = compile::examples::get("frame1").unwrap().parse().unwrap();
    let grafana = spec["services"]["grafana"].as_table_mut().unwrap();
    grafana.insert("exposure".into(), "admins".into());
    grafana.insert("exposure_reason".into(), "dashboards from away".into());
    let tailscale = spec["access"]["tailscale"].as_table_mut().unwrap();
    tailscale.insert(
        "admins".into(),
        toml::toml! { laptop = "100.90.0.7" }.into(),
    );
    Lab::start_spec(
        "frame1-admin",
        &toml::to_string(&spec).unwrap(),
        Serve::Http,
    )
}

#[test]
fn with_no_name_for_the_whole_tailnet_the_firewall_lets_only_the_admin_devices_in() {
    let lab = frame1_for_the_admin();
    let firewall = &lab.fronts["frame1"].firewall;
    assert!(
        firewall
            .extra
            .contains("-s 100.90.0.7 -m multiport --dports 80,443 -j nixos-fw-accept"),
        "{}",
        firewall.extra
    );
    let (tail, tail6) = (
        &lab.tailnet_address["frame1"],
        format!("[{}]", lab.tailnet_address_v6["frame1"]),
    );
    let grafana = "grafana.local.kaifer.dev";
    let homepage = "local.kaifer.dev";
    let laptop = &lab.admins["laptop"];
    assert_eq!(ask(laptop, grafana, tail), Some((200, "grafana".into())));
    // The laptop reaches the proxy; a `lan` name still refuses it there.
    assert_eq!(ask(laptop, homepage, tail).map(|a| a.0), Some(403));
    // The family phone does not reach the proxy at all, IPv4 or IPv6.
    for at in [tail.as_str(), tail6.as_str()] {
        assert_eq!(ask(&lab.tailnet, grafana, at), None, "grafana at {at}");
        assert_eq!(ask(&lab.tailnet, homepage, at), None, "homepage at {at}");
    }
    // The LAN as before.
    let lan = &lab.lan_address["frame1"];
    assert_eq!(ask(&lab.lan, grafana, lan), Some((200, "grafana".into())));
    assert_eq!(ask(&lab.lan, homepage, lan), Some((200, "homepage".into())));
}

/// `homelab verify exposure SPEC --from FROM --json` on `client`: the
/// exit code and the proofs.
fn verify(lab: &Lab, client: &Netns, from: &str) -> (i32, Vec<Value>) {
    let spec = lab.write_spec(toml::toml! { probe_timeout = "2s" }, true);
    let args = [
        "verify",
        "exposure",
        spec.to_str().unwrap(),
        "--from",
        from,
        "--json",
    ];
    let (code, out, err) = lab.homelab(client, &args);
    let proofs = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("--json does not parse: {e}\n{out}\n{err}"));
    (code, proofs)
}

/// The services of `proofs` whose internal name has `verdict`, and
/// whether each was declared open.
fn named(proofs: &[Value], verdict: &str) -> Vec<(String, bool)> {
    proofs
        .iter()
        .filter(|p| p["check"]["route"]["kind"] == "proxy-name" && p["verdict"] == verdict)
        .map(|p| {
            let service = p["check"]["service"].as_str().unwrap().to_string();
            (service, p["check"]["open"] == true)
        })
        .collect()
}

#[test]
fn verify_proves_the_admin_services_from_an_admin_device_and_a_family_one() {
    let lab = Lab::start("nuc", Serve::Https { days: 90 });
    let laptop = &lab.admins["laptop"];
    let admin_only = [
        "deluge", "sonarr", "radarr", "bazarr", "prowlarr", "microbin",
    ];

    // From the laptop as an admin device: clean, the admin names open.
    let (code, proofs) = verify(&lab, laptop, "admin");
    assert_eq!(code, 0, "{proofs:#?}");
    assert!(named(&proofs, "exposed").is_empty(), "{proofs:#?}");
    assert!(named(&proofs, "unreachable").is_empty(), "{proofs:#?}");
    for service in admin_only {
        let open = named(&proofs, "as-declared").contains(&(service.to_string(), true));
        assert!(open, "{service} answers the laptop: {proofs:#?}");
    }

    // From the family phone as the tailnet: clean, the admin names refused
    // by the proxy.
    let (code, proofs) = verify(&lab, &lab.tailnet, "tailnet");
    assert_eq!(code, 0, "{proofs:#?}");
    assert!(named(&proofs, "exposed").is_empty(), "{proofs:#?}");
    for service in admin_only {
        let p = proofs
            .iter()
            .find(|p| {
                p["check"]["service"] == service && p["check"]["route"]["kind"] == "proxy-name"
            })
            .unwrap();
        assert_eq!(p["check"]["open"], false, "{p:#}");
        assert_eq!(
            p["saw"], "the proxy refused: not reachable from this network",
            "{p:#}"
        );
        assert_eq!(
            p["check"]["rule"], "exposure `admins` reaches the admin devices of the tailnet only",
            "{p:#}"
        );
    }

    // The family phone claiming to be an admin device: the admin names do
    // not answer it (warnings, not proof).
    let (code, proofs) = verify(&lab, &lab.tailnet, "admin");
    assert_eq!(code, 0, "warnings only: {proofs:#?}");
    let mut missing: Vec<String> = named(&proofs, "unreachable")
        .into_iter()
        .map(|p| p.0)
        .collect();
    missing.sort();
    let mut expected = admin_only.map(String::from).to_vec();
    expected.sort();
    assert_eq!(missing, expected);

    // The laptop run as a family device: the admin names answer where the
    // rest of the tailnet must be refused, an error for each.
    let (code, proofs) = verify(&lab, laptop, "tailnet");
    assert_eq!(code, 1, "{proofs:#?}");
    let mut exposed: Vec<String> = named(&proofs, "exposed").into_iter().map(|p| p.0).collect();
    exposed.sort();
    assert_eq!(exposed, expected);
}

#[test]
fn verify_from_an_admin_device_needs_admin_devices_in_the_spec() {
    let lab = Lab::start("frame1", Serve::Http);
    let spec = lab.write_spec(toml::Table::new(), true);
    let args = [
        "verify",
        "exposure",
        spec.to_str().unwrap(),
        "--from",
        "admin",
    ];
    let (code, out, err) = lab.homelab(&lab.tailnet, &args);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("no admin device to verify from: list yours in `[access.tailscale]`"),
        "{err}"
    );
}

#[test]
fn tailscaleds_own_chain_is_kept_out_of_the_firewall() {
    let lab = Lab::start("frame1", Serve::Http);
    // The flake runs tailscaled with `--netfilter-mode=nodivert`, so the
    // lab builds no chain of tailscaled's.
    assert!(!lab.fronts["frame1"].firewall.tailscaled_diverts);
    // Homepage listens on every address of the host, behind the proxy:
    // its port stays closed to the tailnet.
    let homepage = lab
        .ports
        .iter()
        .find(|p| p.service == "homepage" && p.bind == "0.0.0.0")
        .expect("homepage listens on every address");
    let url = format!(
        "http://{}:{}/",
        lab.tailnet_address["frame1"], homepage.port
    );
    assert_eq!(lab.tailnet.get(&url, None, &[]), None);
    // What tailscaled's default mode would do: its chain, first in INPUT,
    // accepts everything on tailscale0, and the port answers the tailnet.
    let out = lab.hosts["frame1"]
        .command("sh")
        .args(["-e", "-c", Firewall::tailscaled()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        lab.tailnet.get(&url, None, &[]).map(|a| a.0),
        Some(200),
        "tailscaled's chain opens the port to the tailnet"
    );
}
