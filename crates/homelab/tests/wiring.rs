//! Services on other hosts, in the generated flake of each example: the
//! front proxy routes to them, the status page checks and the metrics
//! store scrapes every host (the same jobs whichever the store), Grafana
//! reads the store wherever it runs, Zigbee2MQTT reaches the broker, NFS
//! exports are mounted before the services that work in them, and a
//! service binds to its host's LAN address only when another host
//! reaches it.

use compile::fleet::{BIND_ADDRESS, Fleet, MetricsStore};
use compile::nix::Nix;
use compile::render::{File, render};

#[path = "support/examples.rs"]
mod examples;
use examples::{example, example_with_store, text};

/// Every file of one host, concatenated.
fn host_text(files: &[File], host: &str) -> String {
    let prefix = format!("hosts/{host}/");
    files
        .iter()
        .filter(|f| f.path.starts_with(&prefix))
        .map(File::text)
        .collect()
}

fn address(fleet: &Fleet, host: &str) -> String {
    let h = fleet.hosts.iter().find(|h| h.name() == host).unwrap();
    h.spec.address.value.clone()
}

/// Over every example: a service no other host reaches binds to
/// 127.0.0.1; one that is reached binds to its host's address, and its
/// file admits exactly its peers on its port.
#[test]
fn services_bind_to_localhost_unless_another_host_reaches_them() {
    for name in compile::examples::names() {
        let (fleet, files) = example(name);
        for i in &fleet.instances {
            let file = text(
                &files,
                &format!("hosts/{}/services/{}.nix", i.host, i.name.value),
            );
            if i.peers.is_empty() {
                assert_eq!(i.address, BIND_ADDRESS, "{name}: {}", i.name.value);
                assert!(!file.contains("nixos-fw-accept"), "{name}: {file}");
                continue;
            }
            assert_eq!(
                i.address,
                address(&fleet, &i.host),
                "{name}: {}",
                i.name.value
            );
            let port = i.port.unwrap();
            for p in &i.peers {
                let rule = format!(
                    "iptables -A nixos-fw -p tcp -s {} -d {} --dport {port} -j nixos-fw-accept",
                    p.address, i.address
                );
                assert!(file.contains(&rule), "{name}: no `{rule}` in\n{file}");
            }
            assert_eq!(
                file.matches("-j nixos-fw-accept").count(),
                i.peers.len(),
                "{name}: {}",
                i.name.value
            );
        }
    }
}

/// Over every example: each served name has one route, on the front
/// proxy's host, to the address the service listens on.
#[test]
fn the_front_proxy_routes_every_name() {
    for name in compile::examples::names() {
        let (fleet, files) = example(name);
        let Some(proxy) = fleet.front_proxy() else {
            continue;
        };
        let front = host_text(&files, proxy.name());
        for i in fleet.instances.iter().filter(|i| i.fqdn.is_some()) {
            let fqdn = &i.fqdn.as_ref().unwrap().value;
            assert!(
                front.contains(&format!("\"{fqdn}\" = {{"))
                    || front.contains(&format!("virtualHosts.\"{fqdn}\"")),
                "{name}: no route for {fqdn} on {}",
                proxy.name()
            );
            if i.host != proxy.name() && !i.entry.vpn {
                let upstream = format!("reverse_proxy {}:{}", i.address, i.port.unwrap());
                assert!(front.contains(&upstream), "{name}: no `{upstream}`");
            }
        }
        for h in fleet.hosts.iter().filter(|h| h.name() != proxy.name()) {
            let other = host_text(&files, h.name());
            assert!(
                !other.contains("caddy"),
                "{name}: {} runs a proxy",
                h.name()
            );
        }
    }
}

/// forge: Prometheus on forge scrapes the node exporter of every
/// host, the remote ones at their LAN address; every host's Alloy pushes
/// to Loki on forge; the status page checks the exporters of the others.
#[test]
fn forge_watches_every_host() {
    let (fleet, files) = example("forge");
    let forge = host_text(&files, "forge");
    assert!(
        forge.contains("targets = [ \"127.0.0.1:9100\" ];"),
        "{forge}"
    );
    for host in ["nas-1", "luna"] {
        let addr = address(&fleet, host);
        let target = format!("targets = [ \"{addr}:9100\" ];");
        assert!(forge.contains(&target), "no scrape of {host}");
        let exporter = text(
            &files,
            &format!("hosts/{host}/services/node-exporter-{host}.nix"),
        );
        assert!(
            exporter.contains(&format!("listenAddress = \"{addr}\";")),
            "{exporter}"
        );
        assert!(exporter.contains("-s 10.20.0.10 -d"), "{exporter}");
        let alloy = text(&files, &format!("hosts/{host}/services/alloy-{host}.nix"));
        assert!(
            alloy.contains("http://10.20.0.10:3100/loki/api/v1/push"),
            "{alloy}"
        );
    }
    let loki = text(&files, "hosts/forge/services/loki.nix");
    assert!(
        loki.contains("http_listen_address = \"10.20.0.10\";"),
        "{loki}"
    );
    assert!(
        loki.contains("-s 10.20.0.30 -d 10.20.0.10 --dport 3100"),
        "{loki}"
    );
    let checks = text(&files, "hosts/forge/wiring.nix");
    for host in ["nas-1", "luna"] {
        let name = format!("name = \"node-exporter-{host}\";");
        let url = format!("url = \"http://{}:9100/\";", address(&fleet, host));
        // The check's own attributes: from its name to the next check's.
        let (_, check) = checks
            .split_once(&name)
            .unwrap_or_else(|| panic!("no `{name}` in\n{checks}"));
        let check = check.split(" name = ").next().unwrap();
        assert!(check.contains(&url), "no `{url}` in\n{check}");
    }
    // AdGuard Home on luna is served by forge's proxy.
    assert!(checks.contains("reverse_proxy 10.20.0.30:3053"), "{checks}");
}

/// forge: Zigbee2MQTT on forge logs in to Mosquitto on luna; the password
/// is machine-made once and read in two shapes.
#[test]
fn zigbee2mqtt_logs_in_to_the_broker_on_another_host() {
    let (fleet, files) = example("forge");
    let z2m = text(&files, "hosts/forge/services/zigbee2mqtt.nix");
    assert!(
        z2m.contains("server = \"mqtt://10.20.0.30:1883\";"),
        "{z2m}"
    );
    assert!(z2m.contains("user = \"zigbee2mqtt\";"), "{z2m}");
    assert!(z2m.contains(
        "serviceConfig.EnvironmentFile = config.age.secrets.zigbee2mqtt-mqtt-environment.path;"
    ));
    let broker = text(&files, "hosts/luna/services/mosquitto.nix");
    assert!(broker.contains("address = \"10.20.0.30\";"), "{broker}");
    assert!(broker.contains("passwordFile = config.age.secrets.zigbee2mqtt-mqtt-password.path;"));
    assert!(
        broker.contains("-s 10.20.0.10 -d 10.20.0.30 --dport 1883"),
        "{broker}"
    );
    let password = &fleet.secrets["zigbee2mqtt-mqtt-password"];
    assert_eq!(password.hosts, ["luna"]);
    let environment = &fleet.secrets["zigbee2mqtt-mqtt-environment"];
    assert_eq!(environment.hosts, ["forge"]);
    assert_eq!(
        environment.generator,
        Some(compile::catalog::Generator::Copy {
            from: "zigbee2mqtt-mqtt-password".into(),
            template: "ZIGBEE2MQTT_CONFIG_MQTT_PASSWORD=@value@".into(),
        })
    );
}

/// family: Home Assistant and the broker share the hub, so the MQTT
/// address there is the loopback one; both also serve the `iot`
/// segment's devices, so they listen on every address and the broker
/// opens no port in the firewall (only the segment's chain admits them,
/// `segments.rs`); the proxy on the server is the only host Home
/// Assistant trusts.
#[test]
fn family_hub_keeps_mqtt_on_localhost_and_trusts_the_server_proxy() {
    let (_, files) = example("family");
    let z2m = text(&files, "hosts/hub/services/zigbee2mqtt.nix");
    assert!(z2m.contains("server = \"mqtt://127.0.0.1:1883\";"), "{z2m}");
    let broker = text(&files, "hosts/hub/services/mosquitto.nix");
    assert!(broker.contains("address = \"0.0.0.0\";"), "{broker}");
    assert!(!broker.contains("nixos-fw-accept"));
    assert!(!broker.contains("allowedTCPPorts"), "{broker}");
    // Home Assistant too serves the `iot` segment: every address, with
    // the firewall admitting the segment's devices and the proxy only.
    let hass = text(&files, "hosts/hub/services/home-assistant.nix");
    assert!(hass.contains("server_host = [ \"0.0.0.0\" ];"), "{hass}");
    assert!(
        hass.contains("trusted_proxies = [ \"192.168.1.10\" ];"),
        "{hass}"
    );
    let front = text(&files, "hosts/server/wiring.nix");
    assert!(front.contains("reverse_proxy 192.168.1.30:8123"), "{front}");
    assert!(front.contains("url = \"http://192.168.1.30:8123/manifest.json\";"));
}

/// forge and family: the NAS pulls the critical datasets of the other
/// hosts with syncoid, and every host with data backs it up with
/// `homelab backup run`.
#[test]
fn replicas_and_backups_cover_every_host() {
    for (name, nas, sources) in [
        ("forge", "nas-1", &["forge"][..]),
        ("family", "nas", &["server", "hub"][..]),
    ] {
        let (fleet, files) = example(name);
        let replica = text(&files, &format!("hosts/{nas}/infrastructure.nix"));
        for host in sources {
            let pulled = format!("source = \"syncoid@{}:", address(&fleet, host));
            assert!(replica.contains(&pulled), "{name}: {host} is not pulled");
            let ops = text(&files, &format!("hosts/{host}/operations.nix"));
            assert!(ops.contains("homelab backup run --plan"), "{name}: {host}");
        }
    }
}

/// forge: the TrueNAS export is mounted on forge once, Plex and Tdarr
/// start only once it is mounted, and the status page checks its NFS port.
#[test]
fn nfs_mounts_come_before_their_services() {
    let (_, files) = example("forge");
    let wiring = text(&files, "hosts/forge/wiring.nix");
    assert_eq!(
        wiring.matches("fileSystems.\"/mnt/nas-0/media\"").count(),
        1
    );
    assert!(
        wiring.contains("device = \"10.20.0.20:/mnt/tank/media\";"),
        "{wiring}"
    );
    assert!(wiring.contains("fsType = \"nfs\";"));
    assert!(wiring.contains("\"x-systemd.automount\""));
    assert!(wiring.contains("\"_netdev\""));
    assert!(wiring.contains("url = \"tcp://10.20.0.20:2049\";"));
    assert!(wiring.contains("\"[CONNECTED] == true\""));
    // Every unit the service runs (tdarr's server and its node, as
    // nixpkgs tdarr.nix names them).
    for (service, unit) in [
        ("plex", "services.plex"),
        ("tdarr", "tdarr-server"),
        ("tdarr", "tdarr-node-main"),
    ] {
        let file = text(&files, &format!("hosts/forge/services/{service}.nix"));
        assert!(
            file.contains(&format!(
                "{unit}.unitConfig.RequiresMountsFor = [ \"/mnt/nas-0/media\" ];"
            )),
            "{file}"
        );
    }
    let sonarr = text(&files, "hosts/forge/services/sonarr.nix");
    assert!(!sonarr.contains("RequiresMountsFor"));
}

/// Home Assistant on one host and the broker on another: the broker
/// listens on its LAN address and admits Home Assistant's host, whose
/// MQTT integration uses the broker though it does not need one.
#[test]
fn home_assistant_reaches_a_broker_on_another_host() {
    let spec = r#"
[homelab]
name = "home"
domain = "example.org"
internal_domain = "home.example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEBTIGiXnUDiGk9cY1PIrmdVLGAqMXOkUmnI4w2GTgRN me@laptop"]

[hosts.server]
role = "main"
address = "192.168.1.10"
ram_gb = 16
boot = { disk = "/dev/disk/by-id/nvme-server" }

[hosts.pi]
role = "home-automation"
address = "192.168.1.11"
ram_gb = 4
boot = { disk = "/dev/disk/by-id/nvme-pi" }

[services.home-assistant]
host = "server"
exposure = "host"

[services.mosquitto]
host = "pi"
"#;
    // Resolved, not checked: the policy findings about its backups are
    // beside the point here.
    let fleet = compile::fleet::resolve(&compile::spec::parse(spec).unwrap()).unwrap();
    let files = render(&fleet);
    let broker = text(&files, "hosts/pi/services/mosquitto.nix");
    assert!(broker.contains("address = \"192.168.1.11\";"), "{broker}");
    assert!(
        broker.contains("-s 192.168.1.10 -d 192.168.1.11 --dport 1883 -j nixos-fw-accept"),
        "{broker}"
    );
    // Home Assistant itself is reached by no one else: it stays local.
    let hass = text(&files, "hosts/server/services/home-assistant.nix");
    assert!(hass.contains("server_host = [ \"127.0.0.1\" ];"), "{hass}");
}

/// The value at `path` below a value, if it has one.
fn at<'a>(mut value: &'a Nix, path: &[&str]) -> Option<&'a Nix> {
    for key in path {
        let Nix::Attrs(attrs) = value else {
            return None;
        };
        value = attrs.get(*key)?;
    }
    Some(value)
}

/// The value at `path` of a module body, if the module sets it.
fn in_module<'a>(body: &'a compile::nix::Attrs, path: &[&str]) -> Option<&'a Nix> {
    let (first, rest) = path.split_first()?;
    at(body.get(*first)?, rest)
}

/// The option a store reads its scrape jobs from, as its NixOS module
/// declares it.
fn jobs_option(store: MetricsStore) -> &'static [&'static str] {
    match store {
        MetricsStore::Prometheus => &["services", "prometheus", "scrapeConfigs"],
        MetricsStore::VictoriaMetrics => &[
            "services",
            "victoriametrics",
            "prometheusConfig",
            "scrape_configs",
        ],
    }
}

/// Every scrape job the modules of the store's host set in the store's
/// option, by job name.
fn scrape_jobs(fleet: &Fleet, files: &[File]) -> std::collections::BTreeMap<String, Nix> {
    let (store, instance) = fleet.metrics_store().unwrap();
    let mut jobs = std::collections::BTreeMap::new();
    for f in files
        .iter()
        .filter(|f| f.path.starts_with(&format!("hosts/{}/", instance.host)))
    {
        let Some(body) = f.module_body() else {
            continue;
        };
        let Some(Nix::List(list)) = in_module(body, jobs_option(store)) else {
            continue;
        };
        for job in list {
            let Some(Nix::Str(name)) = at(job, &["job_name"]) else {
                panic!("{}: a job without a name: {job:?}", f.path);
            };
            assert!(
                jobs.insert(name.clone(), job.clone()).is_none(),
                "{}: job {name} twice",
                f.path
            );
        }
    }
    jobs
}

/// Each example with either store: one job per service with metrics on
/// every host, labelled with its host; nothing of the other store is
/// configured; and but for the store's own job (and vmalert's, which
/// runs beside VictoriaMetrics only) the jobs are the same for both.
#[test]
fn the_store_scrapes_the_same_jobs_whichever_it_is() {
    for name in compile::examples::names() {
        if example(name).0.metrics_store().is_none() {
            continue;
        }
        let [vm, prometheus] = MetricsStore::ALL.map(|store| {
            let (fleet, files) = example_with_store(name, store);
            let mut jobs = scrape_jobs(&fleet, &files);
            for i in fleet.instances.iter().filter(|i| i.entry.metrics.is_some()) {
                let job = &jobs[&i.name.value];
                let Some(Nix::List(configs)) = at(job, &["static_configs"]) else {
                    panic!("{name}: {job:?}");
                };
                assert_eq!(
                    at(&configs[0], &["labels", "host"]),
                    Some(&Nix::str(&i.host)),
                    "{name}: {}",
                    i.name.value
                );
            }
            let other = MetricsStore::ALL.into_iter().find(|s| *s != store).unwrap();
            for body in files.iter().filter_map(File::module_body) {
                assert!(in_module(body, &["services", other.entry(), "enable"]).is_none());
                assert!(in_module(body, jobs_option(other)).is_none());
                if store == MetricsStore::Prometheus {
                    assert!(in_module(body, &["services", "vmalert"]).is_none());
                }
            }
            let own = &fleet.metrics_store().unwrap().1.name.value;
            jobs.remove(own).expect("the store scrapes itself");
            jobs.remove("vmalert-homelab");
            jobs
        });
        assert!(!vm.is_empty(), "{name}");
        assert_eq!(vm, prometheus, "{name}");
    }
}

/// Grafana reads the fleet's store, named after it, wherever it runs: on
/// another host the store listens on its LAN address and admits Grafana's
/// host (Grafana needs the `metrics-store` role).
#[test]
fn grafana_reads_the_store_on_another_host() {
    for store in MetricsStore::ALL {
        let spec = format!(
            r#"
[homelab]
name = "home"
domain = "example.org"
internal_domain = "home.example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEBTIGiXnUDiGk9cY1PIrmdVLGAqMXOkUmnI4w2GTgRN me@laptop"]

[hosts.server]
role = "main"
address = "192.168.1.10"
ram_gb = 16
boot = {{ disk = "/dev/disk/by-id/nvme-server" }}

[hosts.nas]
address = "192.168.1.20"
ram_gb = 8
boot = {{ disk = "/dev/disk/by-id/nvme-nas" }}

[services.grafana]
host = "server"

[services.{}]
host = "nas"
"#,
            store.entry()
        );
        let fleet = compile::fleet::resolve(&compile::spec::parse(&spec).unwrap()).unwrap();
        let files = render(&fleet);
        let (_, at_nas) = fleet.metrics_store().unwrap();
        let port = at_nas.port.unwrap();
        let grafana = text(&files, "hosts/server/services/grafana.nix");
        for line in [
            format!("name = \"{}\";", at_nas.entry.title),
            "type = \"prometheus\";".to_string(),
            format!("url = \"http://192.168.1.20:{port}\";"),
            "isDefault = true;".to_string(),
        ] {
            assert!(
                grafana.contains(&line),
                "{store:?}: no `{line}` in {grafana}"
            );
        }
        let stored = text(&files, &format!("hosts/nas/services/{}.nix", store.entry()));
        assert!(
            stored.contains(&format!(
                "-s 192.168.1.10 -d 192.168.1.20 --dport {port} -j nixos-fw-accept"
            )),
            "{stored}"
        );
    }
}

/// A torrent client run outside the VPN (forge's qBittorrent) has no
/// namespace to keep its web UI off the network: it binds the UI to its
/// address (`Preferences/WebUI/Address`), as any service binds; one in
/// the VPN (family's) is bound by its namespace and sets none.
#[test]
fn a_torrent_client_outside_the_vpn_binds_its_web_ui_to_its_address() {
    let mut outside = 0;
    for name in compile::examples::names() {
        let (fleet, files) = example(name);
        for i in fleet.instances.iter().filter(|i| i.entry.vpn) {
            let file = text(
                &files,
                &format!("hosts/{}/services/{}.nix", i.host, i.name.value),
            );
            if i.confined() {
                assert!(!file.contains("WebUI.Address"), "{name}: {file}");
                assert!(file.contains("vpnConfinement"), "{name}: {file}");
            } else {
                outside += 1;
                let bind = format!("Preferences.WebUI.Address = \"{}\";", i.address);
                assert!(file.contains(&bind), "{name}: no `{bind}` in\n{file}");
                assert!(!file.contains("vpnConfinement"), "{name}: {file}");
            }
        }
    }
    assert_eq!(outside, 1, "forge's qBittorrent");
}
