//! Segments (VLANs) with the real parts: the `family` example's hosts in
//! network namespaces behind the firewalls their modules configure
//! (`support/lab.rs`, with each host's interface in the segments it joins),
//! a device for each client of the IoT and camera segments, and a router
//! that routes between everything — the worst case, where the hosts must
//! hold on their own. What `homelab show network` says the router must do
//! is checked against `docs/network.md`.
//!
//! Each refusal is shown to be the firewall's: the rule the flake renders
//! is taken out and the same request then gets through.
//! Needs root, iproute2, iptables, curl, python3 and Debian's caddy.

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

use lab::{Lab, Serve, route, run};
use netns::Netns;

/// The `family` example: the hub joins `iot` (VLAN 40) at 10.40.0.2 and
/// runs Mosquitto and Home Assistant; the server joins `cameras` (VLAN 50)
/// at 10.50.0.2 on a port of its own and runs Frigate and Vaultwarden.
const HUB_IOT: &str = "10.40.0.2";
const SERVER_CAMERAS: &str = "10.50.0.2";
const VAULT: &str = "passwords.home.example.org";

fn lab() -> Lab {
    Lab::start("family", Serve::Http)
}

/// Whether `from` gets any answer from `url` within two seconds.
fn reaches(from: &Netns, url: &str) -> bool {
    from.answers_within(url, 2)
}

/// Whether `from` reaches the vault through the front proxy.
fn reaches_the_vault(from: &Netns, lab: &Lab) -> bool {
    let at = lab.lan_address["server"].as_str();
    from.get(&format!("http://{VAULT}/"), Some((VAULT, at)), &[])
        .is_some()
}

/// The lab's stub answering as `name` at `bind:port` in `ns`, once it
/// answers; stopped when dropped, however the test ends.
fn stub(lab: &Lab, ns: &Netns, name: &str, bind: &str, port: u16) -> Stub {
    let child = ns
        .command("python3")
        .arg(lab.dir.path().join("stub.py"))
        .args([name, bind, &port.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the stub starts");
    let stub = Stub(child);
    ns.wait_for(&format!("http://{bind}:{port}/"), None);
    stub
}

struct Stub(std::process::Child);

impl Drop for Stub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `iptables args` on `host`.
fn iptables(lab: &Lab, host: &str, args: &[&str]) {
    let mut c = lab.hosts[host].command("iptables");
    c.arg("-w").args(args);
    run(c, &format!("{host}: iptables {}", args.join(" ")));
}

#[test]
fn an_iot_device_reaches_its_broker_and_home_assistant_and_nothing_else() {
    let lab = lab();
    let segments = lab.segments.as_ref().expect("family has segments");
    let plug = &segments.device("iot").ns;
    assert!(
        reaches(plug, &format!("http://{HUB_IOT}:1883/")),
        "the broker"
    );
    assert!(
        reaches(plug, &format!("http://{HUB_IOT}:8123/")),
        "Home Assistant"
    );
    // Not the hub's other ports on the segment: SSH, Zigbee2MQTT's UI.
    for port in [22, 8080] {
        assert!(
            !reaches(plug, &format!("http://{HUB_IOT}:{port}/")),
            "port {port} of the hub"
        );
    }
    // Not the hub's LAN address, routed by the router.
    let hub = lab.lan_address["hub"].as_str();
    assert!(
        !reaches(plug, &format!("http://{hub}:1883/")),
        "the broker on the LAN"
    );
    // Not the vault, though the router routes it to the proxy, which would
    // let a private address in.
    assert!(!reaches_the_vault(plug, &lab), "the vault");
    iptables(
        &lab,
        "server",
        &[
            "-D",
            "nixos-fw",
            "-s",
            "10.40.0.0/24",
            "-m",
            "conntrack",
            "--ctstate",
            "NEW",
            "-j",
            "nixos-fw-log-refuse",
        ],
    );
    assert!(
        reaches_the_vault(plug, &lab),
        "without the server's rule the router's route reaches the vault"
    );
}

#[test]
fn a_camera_reaches_nothing_and_frigate_reaches_the_cameras() {
    let lab = lab();
    let segments = lab.segments.as_ref().unwrap();
    let camera = segments.device("cameras");
    let hub = lab.lan_address["hub"].as_str();
    for url in [
        format!("http://{HUB_IOT}:1883/"),
        format!("http://{hub}:1883/"),
        format!("http://{HUB_IOT}:8123/"),
        format!("http://{hub}:8123/"),
        format!("http://{SERVER_CAMERAS}:22/"),
        format!("http://{SERVER_CAMERAS}:80/"),
        format!("http://{SERVER_CAMERAS}:5000/"),
    ] {
        assert!(!reaches(&camera.ns, &url), "the camera reaches {url}");
    }
    assert!(
        !reaches_the_vault(&camera.ns, &lab),
        "the camera reaches the vault"
    );

    // The camera's stream (a stub on RTSP's port stands for it), asked for
    // by Frigate's host on the segment.
    let _camera = stub(&lab, &camera.ns, "camera", &camera.address, 8554);
    let from_frigate =
        lab.hosts["server"].get(&format!("http://{}:8554/", camera.address), None, &[]);
    assert_eq!(
        from_frigate,
        Some((200, "camera".to_string())),
        "Frigate's host reaches the camera"
    );
    // Who else reaches the cameras is the router's to decide: this one
    // routes everything, and the hub, which joins no camera segment,
    // reaches the camera through it. The hosts filter what comes in, not
    // what they open (docs/network.md).
    assert!(
        reaches(
            &lab.hosts["hub"],
            &format!("http://{}:8554/", camera.address)
        ),
        "the hub reaches the camera through the router"
    );
}

/// A host that forwards packets (the server does: VPN-Confinement turns
/// forwarding on) is still no way out of a segment: a device that names
/// the host its gateway does not reach the internet through it, and does
/// once the host's drop in `FORWARD` is taken out.
#[test]
fn a_segment_with_the_internet_denied_gets_no_way_out_through_a_host() {
    let lab = lab();
    let segments = lab.segments.as_ref().unwrap();
    // A server on the internet; its way back to the segments is the hosts'.
    let _cloud = stub(&lab, &lab.internet, "vendor-cloud", "203.0.113.200", 8443);
    for (segment, host, via) in [
        ("iot", "hub", HUB_IOT),
        ("cameras", "server", SERVER_CAMERAS),
    ] {
        let device = segments.device(segment);
        let h = &lab.hosts[host];
        let mut c = h.command("sysctl");
        c.args(["-qw", "net.ipv4.ip_forward=1"]);
        run(c, "forwarding on the host");
        route(&device.ns, "203.0.113.0/24", via);
        let subnet = format!("{}.0/24", via.rsplit_once('.').unwrap().0);
        route(&lab.internet, &subnet, &lab.internet_address[host]);
        let url = "http://203.0.113.200:8443/";
        assert!(
            !reaches(&device.ns, url),
            "{segment}: the device reaches the internet through {host}"
        );
        let iface = lab.fronts[host]
            .firewall
            .extra
            .lines()
            .find_map(|l| l.strip_prefix("ip46tables -I FORWARD -i "))
            .and_then(|rest| rest.split_whitespace().next())
            .map(String::from)
            .unwrap();
        iptables(&lab, host, &["-D", "FORWARD", "-i", &iface, "-j", "DROP"]);
        iptables(&lab, host, &["-D", "FORWARD", "-o", &iface, "-j", "DROP"]);
        assert!(
            reaches(&device.ns, url),
            "{segment}: without the drops {host} routes the device out"
        );
    }
}

#[test]
fn show_network_prints_what_docs_network_md_shows() {
    let out = bin::run_in(
        std::path::Path::new("."),
        &["show", "network", "--example", "family"],
    );
    assert_eq!(out.0, 0, "{}", out.2);
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/network.md"),
    )
    .unwrap();
    assert!(
        doc.contains(&out.1),
        "docs/network.md shows `homelab show network --example family` as it prints:\n{}",
        out.1
    );
    for line in [
        "switch port of hub (enp2s0): VLAN 40 tagged, the LAN untagged (a trunk)",
        "switch port of server (enp4s0): VLAN 50 untagged only (an access port)",
        "DHCP reservation: doorbell → 10.50.0.11",
        "block VLAN 40 from the internet",
    ] {
        assert!(out.1.contains(line), "{line}");
    }
}

#[test]
fn the_report_has_a_column_per_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = bin::run_in(
        dir.path(),
        &["report", "--example", "family", "-o", "r.html"],
    );
    assert_eq!(code, 0, "{stderr}");
    let page = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(page.contains("<th>segment iot (VLAN 40)</th><th>segment cameras (VLAN 50)</th>"));
    let row = |service: &str| {
        let at = page.find(&format!("<b>{service}</b>")).unwrap();
        let end = at + page[at..].find("</tr>").unwrap();
        page[at..end].to_string()
    };
    // LAN, tailnet, tunnel, then iot and cameras.
    let marks = |row: String| -> Vec<bool> {
        row.split("<td class=\"")
            .skip(1)
            .filter_map(|c| c.split('"').next())
            .filter(|c| *c == "yes" || *c == "no")
            .map(|c| c == "yes")
            .collect()
    };
    assert_eq!(marks(row("mosquitto"))[3..], [true, false]);
    assert_eq!(marks(row("home-assistant"))[3..], [true, false]);
    assert_eq!(marks(row("frigate"))[3..], [false, false]);
    assert_eq!(marks(row("vaultwarden"))[3..], [false, false]);
}

/// The interfaces and the firewall each host of `family` gets: the hub
/// tags VLAN 40 on its LAN port, the server has a port of its own on the
/// cameras' switch, the NAS joins nothing and refuses both segments.
#[test]
fn the_flake_gives_each_host_its_segments() {
    let (_, files) = examples::example("family");
    for host in ["hub", "server", "nas"] {
        let text = examples::text(&files, &format!("hosts/{host}/segments.nix"));
        insta::assert_snapshot!(format!("segments-{host}"), text);
        let default = examples::text(&files, &format!("hosts/{host}/default.nix"));
        assert!(default.contains("./segments.nix"), "{host} imports it");
    }
}
