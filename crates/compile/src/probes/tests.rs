use super::exposure::{Route, Vantage, checks};
use super::*;

fn fleet(name: &str) -> Fleet {
    crate::compile(crate::examples::get(name).unwrap())
        .unwrap_or_else(|d| panic!("{name}: {d:?}"))
        .0
}

fn host<'a>(p: &'a Probes, name: &str) -> &'a HostProbes {
    p.hosts.iter().find(|h| h.host == name).unwrap()
}

#[test]
fn every_name_the_proxy_serves_is_probed_on_its_services_host() {
    for example in crate::examples::names() {
        let f = fleet(example);
        let p = probes(&f);
        for i in f.instances.iter().filter(|i| i.fqdn.is_some()) {
            let h = host(&p, &i.host);
            let web = h.web.iter().find(|w| w.service == i.name.value);
            let web = web.unwrap_or_else(|| panic!("{example}: {} has no web probe", i.name.value));
            assert_eq!(web.name, i.fqdn.as_ref().unwrap().value);
        }
        let fronts: Vec<&HostProbes> = p.hosts.iter().filter(|h| h.certificate.is_some()).collect();
        assert_eq!(fronts.len(), usize::from(p.front.is_some()), "{example}");
        if let (Some(front), Some(h)) = (&p.front, fronts.first()) {
            assert_eq!(front.host, h.host);
            assert_eq!(front.port, 443);
        }
    }
}

#[test]
fn family_probes_read_as_the_spec_says() {
    let f = fleet("family");
    let p = probes(&f);
    assert_eq!(
        p.limits,
        Limits {
            probe_ms: 5_000,
            run_ms: 30_000,
            certificate_days: 14
        }
    );
    let server = host(&p, "server");
    assert_eq!(server.address, "192.168.1.10");
    assert_eq!((server.ssh_user.as_str(), server.ssh_port), ("admin", 22));
    let unit = |s: &str, u: &str| server.units.iter().any(|x| x.service == s && x.unit == u);
    assert!(
        unit("immich", "immich-server.service"),
        "{:?}",
        server.units
    );
    assert!(unit("caddy", "caddy.service"));
    assert!(unit("openssh", "sshd.service"));
    let photos = server.web.iter().find(|w| w.service == "immich").unwrap();
    assert_eq!(
        (photos.name.as_str(), photos.path.as_str(), photos.expect),
        (
            "photos.home.example.org",
            "/api/server/ping",
            Expect::Healthy
        )
    );
    let immich = server
        .records
        .iter()
        .find(|r| r.service == "immich")
        .unwrap();
    assert_eq!(
        (immich.backup_max_age_hours, immich.drill_max_age_days),
        (26, 30)
    );
    assert_eq!(immich.repositories, ["nas", "offsite"]);
    // The hub's services are probed on the hub, through the server's proxy.
    let hub = host(&p, "hub");
    assert!(hub.web.iter().any(|w| w.service == "home-assistant"));
    assert!(hub.certificate.is_none());
    assert_eq!(p.front.as_ref().unwrap().address, "192.168.1.10");
}

#[test]
fn what_each_answer_must_be() {
    assert!(Expect::Healthy.met(200, None));
    assert!(!Expect::Healthy.met(204, None));
    assert!(Expect::Answers.met(401, None));
    assert!(!Expect::Answers.met(502, None));
    assert!(Expect::SignIn.met(302, Some("https://x/oauth2/sign_in?rd=/")));
    assert!(!Expect::SignIn.met(302, Some("https://x/login")));
    assert!(!Expect::SignIn.met(200, None));
}

#[test]
fn status_keys_set_the_limits() {
    let text = crate::examples::get("frame1").unwrap().to_string()
        + "\n[status]\nprobe_timeout = \"1500ms\"\ntimeout = \"1m\"\ncertificate_days = 21\n";
    let (f, _) = crate::compile(&text).unwrap();
    assert_eq!(
        probes(&f).limits,
        Limits {
            probe_ms: 1_500,
            run_ms: 60_000,
            certificate_days: 21
        }
    );
}

fn find<'a>(
    c: &'a [super::exposure::Check],
    service: &str,
    port: bool,
) -> &'a super::exposure::Check {
    c.iter()
        .find(|c| c.service == service && matches!(c.route, Route::Port { .. }) == port)
        .unwrap_or_else(|| panic!("{service} port={port}"))
}

#[test]
fn who_must_reach_what_from_each_vantage() {
    let f = fleet("family");
    let lan = checks(&f, Vantage::Lan, None);
    // A tailnet service's name answers on the LAN, its port never.
    assert!(find(&lan, "immich", false).open);
    assert!(!find(&lan, "immich", true).open);
    assert_eq!(
        find(&lan, "immich", true).rule,
        "a service behind the proxy is reached through it only"
    );
    // A host service (no name): its port does not answer on the LAN.
    let mqtt = find(&lan, "mosquitto", true);
    assert!(!mqtt.open, "{mqtt:?}");
    // The VPN-confined client's port never answers directly.
    assert!(!find(&lan, "qbittorrent", true).open);
    // Without tailnet addresses, the tailnet checks names only through
    // `--via`; with it, a LAN service is refused there.
    let tail = checks(&f, Vantage::Tailnet, Some("100.64.0.1"));
    assert!(find(&tail, "immich", false).open);
    let grafana = find(&tail, "grafana", false);
    assert!(!grafana.open);
    assert_eq!(grafana.rule, "exposure `lan` does not reach the tailnet");
    assert!(matches!(
        &grafana.route,
        Route::ProxyName { address: Some(a), .. } if a == "100.64.0.1"
    ));
    let internet = checks(&f, Vantage::Internet, Some("203.0.113.7"));
    assert!(
        internet.iter().all(|c| !c.open),
        "family has nothing public"
    );
}

#[test]
fn a_public_service_answers_from_the_internet_through_the_tunnel() {
    let f = fleet("nuc");
    let internet = checks(&f, Vantage::Internet, None);
    let tunnel: Vec<_> = internet
        .iter()
        .filter(|c| matches!(c.route, Route::TunnelName { .. }))
        .collect();
    assert!(!tunnel.is_empty(), "nuc has public services");
    assert!(tunnel.iter().all(|c| c.open));
    assert!(
        internet
            .iter()
            .filter(|c| matches!(c.route, Route::ProxyName { .. }))
            .all(|c| !c.open)
    );
}
