//! Who reaches what, with the real parts: for every example, each host is
//! a network namespace on a LAN, a tailnet and the internet; the real
//! Caddy runs the virtual hosts the flake gives that host's proxy; a stub
//! service listens at every bind `homelab show ports` reports; clients on
//! each network ask for every name. A LAN name must answer from its
//! service on the LAN and be refused (403) from the tailnet and the
//! internet; a tailnet name must also answer from the tailnet; a gated
//! name must send a visitor who has not signed in to the sign-in page.
//! Each host runs behind its own firewall, and every port is also asked
//! for directly: it answers only where its exposure reaches and only when
//! no proxy fronts it.
//!
//! Stand-ins, because the real thing cannot run here: plain HTTP instead
//! of ACME certificates (no ACME server offline; the `tls` lines are the
//! only part of the virtual host left out); a veth network from
//! 100.64.0.0/10 instead of tailscaled; a stub that answers for
//! oauth2-proxy's `/oauth2/auth` (signed in when the request carries
//! `X-Test-Signed-In`); the Cloudflare tunnel's connector is played by a
//! request from the tunnel host to the ingress target; the firewall is
//! the NixOS iptables chain rebuilt here (see `Firewall::script`).
//!
//! A service confined to the VPN runs in a namespace of its own beside
//! its host, built as VPN-Confinement's `vpn-up.nix` (at the pinned commit)
//! builds it: the host's bridge `wg-br` (192.168.15.5) and a veth pair to
//! the namespace (192.168.15.1), a namespace firewall that drops its input
//! except the mapped ports on the veth, a default route into the tunnel,
//! and for each `portMappings` entry the module's DNAT in the host's nat
//! PREROUTING (chain `wg-prerouting`), which matches the port on every
//! address of the host, from every source. Stand-ins: a veth pair for the
//! WireGuard interface, to a namespace that takes what the tunnel carries
//! and answers nothing (the VPN provider's end); IPv4 only (the module's
//! IPv6 rules mirror these).
//! Needs root, iproute2, iptables, curl, python3 and Debian's caddy.

#[path = "support/examples.rs"]
#[allow(dead_code)]
mod examples;
#[path = "support/netns.rs"]
mod netns;

use compile::nix::{Attrs, Nix};
use netns::{Netns, Switch};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Answers every request with the name of the service it stands for;
/// `@auth` plays oauth2-proxy's authentication endpoint.
const STUB: &str = r#"
import http.server, sys
name, bind, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code, body = 200, name
        if name == "@auth" and self.path.startswith("/oauth2/auth"):
            code = 202 if self.headers.get("X-Test-Signed-In") else 401
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((bind, port), Handler).serve_forever()
"#;

/// One row of `homelab show ports --json`.
struct Port {
    host: String,
    service: String,
    port: u16,
    bind: String,
    exposure: String,
    url: Option<String>,
}

fn port_map(example: &str) -> Vec<Port> {
    let out = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(["show", "ports", "--json", "--example", example])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.iter()
        .map(|r| Port {
            host: r["host"].as_str().unwrap().into(),
            service: r["service"].as_str().unwrap().into(),
            port: r["port"].as_u64().unwrap() as u16,
            bind: r["bind"].as_str().unwrap().into(),
            exposure: r["exposure"].as_str().unwrap().into(),
            url: r["url"].as_str().map(String::from),
        })
        .collect()
}

fn table<'a>(a: &'a Attrs, path: &[&str]) -> Option<&'a Attrs> {
    path.iter().try_fold(a, |a, key| match a.get(*key)? {
        Nix::Attrs(next) => Some(next),
        _ => None,
    })
}

fn string(v: &Nix) -> String {
    match v {
        Nix::Str(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

/// What a host's modules give its proxy: virtual host name → Caddy
/// directives, and tunnel ingress name → target URL.
#[derive(Default)]
struct Front {
    vhosts: BTreeMap<String, String>,
    ingress: BTreeMap<String, String>,
    firewall: Firewall,
    /// VPN-Confinement's `portMappings` of the host's namespace: the host
    /// port and the namespace port.
    port_mappings: Vec<(i64, i64)>,
}

/// What a host's modules give its firewall (the iptables backend, the
/// default): the TCP ports open to all, the trusted interfaces, and the
/// extra commands (the per-source rules for other hosts of the fleet).
#[derive(Default)]
struct Firewall {
    tcp: Vec<i64>,
    trusted: Vec<String>,
    extra: String,
}

impl Firewall {
    fn read(&mut self, body: &Attrs) {
        let Some(fw) = table(body, &["networking", "firewall"]) else {
            return;
        };
        if let Some(Nix::List(ports)) = fw.get("allowedTCPPorts") {
            self.tcp.extend(ports.iter().map(|p| match p {
                Nix::Int(p) => *p,
                other => panic!("a port: {other:?}"),
            }));
        }
        if let Some(Nix::List(names)) = fw.get("trustedInterfaces") {
            self.trusted.extend(names.iter().map(string));
        }
        if let Some(extra) = fw.get("extraCommands") {
            self.extra.push_str(&string(extra));
        }
        assert!(
            !fw.contains_key("interfaces"),
            "per-interface ports are not emulated here"
        );
    }

    /// The chain `firewall-iptables.nix` builds at the pinned nixpkgs, in
    /// its order, for IPv4, without logging and reverse-path filtering.
    /// Refused packets are rejected rather than dropped (the module's
    /// default) so that a refused probe does not wait out its timeout;
    /// what is refused is the same.
    fn script(&self) -> String {
        let mut s = String::from(
            "ip46tables() { iptables -w \"$@\"; }\n\
             iptables -N nixos-fw-accept\n\
             iptables -A nixos-fw-accept -j ACCEPT\n\
             iptables -N nixos-fw-refuse\n\
             iptables -A nixos-fw-refuse -p tcp -j REJECT --reject-with tcp-reset\n\
             iptables -A nixos-fw-refuse -j REJECT\n\
             iptables -N nixos-fw-log-refuse\n\
             iptables -A nixos-fw-log-refuse -j nixos-fw-refuse\n\
             iptables -N nixos-fw\n",
        );
        // The module always trusts the loopback.
        for iface in std::iter::once("lo").chain(self.trusted.iter().map(String::as_str)) {
            s.push_str(&format!(
                "iptables -A nixos-fw -i {iface} -j nixos-fw-accept\n"
            ));
        }
        s.push_str(
            "iptables -A nixos-fw -m conntrack --ctstate ESTABLISHED,RELATED -j nixos-fw-accept\n",
        );
        for port in &self.tcp {
            s.push_str(&format!(
                "iptables -A nixos-fw -p tcp --dport {port} -j nixos-fw-accept\n"
            ));
        }
        s.push_str(&self.extra);
        s.push_str(
            "\niptables -A nixos-fw -j nixos-fw-log-refuse\niptables -A INPUT -j nixos-fw\n",
        );
        s
    }
}

fn fronts(files: &[compile::render::File]) -> BTreeMap<String, Front> {
    let mut out: BTreeMap<String, Front> = BTreeMap::new();
    // vm.nix and the VM test apply in the VM only.
    let on_the_machine = |f: &&compile::render::File| !f.path.contains("/vm");
    for f in files.iter().filter(on_the_machine) {
        let (Some(host), Some(body)) = (
            f.path
                .strip_prefix("hosts/")
                .and_then(|p| p.split('/').next()),
            f.module_body(),
        ) else {
            continue;
        };
        let front = out.entry(host.to_string()).or_default();
        front.firewall.read(body);
        if let Some(vhosts) = table(body, &["services", "caddy", "virtualHosts"]) {
            for (name, v) in vhosts {
                let Nix::Attrs(v) = v else { continue };
                front.vhosts.insert(name.clone(), string(&v["extraConfig"]));
            }
        }
        if let Some(namespaces) = table(body, &["vpnNamespaces"]) {
            for (name, ns) in namespaces {
                assert_eq!(
                    name, VPN_NAMESPACE,
                    "one namespace, named as the test builds it"
                );
                let Nix::Attrs(ns) = ns else { continue };
                let Some(Nix::List(mappings)) = ns.get("portMappings") else {
                    continue;
                };
                for m in mappings {
                    let Nix::Attrs(m) = m else {
                        panic!("a mapping: {m:?}")
                    };
                    assert!(
                        m.get("protocol").is_none_or(|p| string(p) == "tcp"),
                        "TCP mappings only are built here"
                    );
                    let port = |k: &str| match &m[k] {
                        Nix::Int(p) => *p,
                        other => panic!("a port: {other:?}"),
                    };
                    front.port_mappings.push((port("from"), port("to")));
                }
            }
        }
        if let Some(tunnels) = table(body, &["services", "cloudflared", "tunnels"]) {
            for t in tunnels.values() {
                let Nix::Attrs(t) = t else { continue };
                if let Some(Nix::Attrs(ingress)) = t.get("ingress") {
                    for (name, target) in ingress {
                        front.ingress.insert(name.clone(), string(target));
                    }
                }
            }
        }
    }
    out
}

/// The example's machines and its three networks.
struct Lab {
    hosts: BTreeMap<String, Netns>,
    lan_address: BTreeMap<String, String>,
    tailnet_address: BTreeMap<String, String>,
    internet_address: BTreeMap<String, String>,
    lan: Netns,
    tailnet: Netns,
    internet: Netns,
    /// Bind addresses added to a host's loopback.
    extra: std::collections::BTreeSet<(String, String)>,
    /// The VPN namespace beside each host that confines a service.
    vpn: BTreeMap<String, Netns>,
    /// The far end of each namespace's tunnel.
    tunnels: Vec<Netns>,
    _switch: Switch,
}

/// VPN-Confinement's names and addresses at their defaults, as the flake
/// leaves them: the namespace `wg`, its bridge `wg-br` on the host, the
/// veth pair, and the module's `namespaceAddress` and `bridgeAddress`.
const VPN_NAMESPACE: &str = "wg";
const VPN_ADDRESS: &str = "192.168.15.1";
const VPN_BRIDGE_ADDRESS: &str = "192.168.15.5";

/// Runs `program args` and fails the test when it fails.
fn run(mut c: Command, what: &str) {
    let out = c.output().expect("the program runs");
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Lab {
    fn new(example: &str) -> Lab {
        let spec: toml::Table = compile::examples::get(example).unwrap().parse().unwrap();
        let mut switch = Switch::new(&["lan", "tailnet", "internet"]);
        let mut hosts = BTreeMap::new();
        let mut lan_address = BTreeMap::new();
        let mut tailnet_address = BTreeMap::new();
        let mut internet_address = BTreeMap::new();
        let spec_hosts = spec["hosts"].as_table().unwrap();
        for (n, (name, h)) in spec_hosts.iter().enumerate() {
            let ns = Netns::new(name);
            let lan = h["address"].as_str().unwrap().to_string();
            let (tail, net) = (
                format!("100.64.0.{}", n + 1),
                format!("203.0.113.{}", n + 1),
            );
            switch.plug("lan", &ns, "eth0", &format!("{lan}/24"));
            switch.plug("tailnet", &ns, "tailscale0", &format!("{tail}/10"));
            switch.plug("internet", &ns, "wan0", &format!("{net}/24"));
            hosts.insert(name.clone(), ns);
            lan_address.insert(name.clone(), lan);
            tailnet_address.insert(name.clone(), tail);
            internet_address.insert(name.clone(), net);
        }
        // The LAN client takes the last address of the first host's /24.
        let first: &String = lan_address.values().next().unwrap();
        let client = format!("{}.250", first.rsplit_once('.').unwrap().0);
        let lan = Netns::new("lan-client");
        switch.plug("lan", &lan, "eth0", &format!("{client}/24"));
        let tailnet = Netns::new("phone");
        switch.plug("tailnet", &tailnet, "tailscale0", "100.100.0.2/10");
        let internet = Netns::new("internet");
        switch.plug("internet", &internet, "wan0", "203.0.113.200/24");
        Lab {
            hosts,
            lan_address,
            tailnet_address,
            internet_address,
            lan,
            tailnet,
            internet,
            extra: Default::default(),
            vpn: BTreeMap::new(),
            tunnels: Vec::new(),
            _switch: switch,
        }
    }

    /// The VPN namespace beside `host`, as `vpn-up.nix` builds it, with
    /// the DNAT and the namespace's accept rule of each port mapping.
    fn vpn_namespace(&mut self, host: &str, mappings: &[(i64, i64)]) {
        let vpn = Netns::new(VPN_NAMESPACE);
        let h = &self.hosts[host];
        let in_vpn = |args: &[&str]| {
            let mut c = vpn.command("iptables");
            c.arg("-w").args(args);
            run(c, &format!("{VPN_NAMESPACE}: iptables {}", args.join(" ")));
        };
        let ip = |args: &[&str]| {
            let mut c = Command::new("ip");
            c.args(args);
            run(c, &format!("ip {}", args.join(" ")));
        };
        // Set up netns firewall.
        in_vpn(&["-P", "INPUT", "DROP"]);
        in_vpn(&["-P", "FORWARD", "DROP"]);
        in_vpn(&["-A", "INPUT", "-i", "lo", "-j", "ACCEPT"]);
        in_vpn(&[
            "-A",
            "INPUT",
            "-m",
            "conntrack",
            "--ctstate",
            "INVALID",
            "-j",
            "DROP",
        ]);
        in_vpn(&[
            "-A",
            "INPUT",
            "-m",
            "conntrack",
            "--ctstate",
            "ESTABLISHED,RELATED",
            "-j",
            "ACCEPT",
        ]);
        // The tunnel's interface, up in the namespace. A veth pair stands
        // in for WireGuard: its far end, the VPN provider's, takes what
        // the namespace sends and answers nothing.
        let wg0 = format!("{VPN_NAMESPACE}0");
        let tunnel = Netns::new("tunnel");
        ip(&[
            "-n",
            &vpn.name,
            "link",
            "add",
            &wg0,
            "type",
            "veth",
            "peer",
            "name",
            "provider",
            "netns",
            &tunnel.name,
        ]);
        ip(&["-n", &tunnel.name, "link", "set", "provider", "up"]);
        ip(&["-n", &vpn.name, "link", "set", &wg0, "up"]);
        self.tunnels.push(tunnel);
        // Create a bridge; a veth pair links the namespace with it.
        let (bridge, veth_br, veth) = (
            format!("{VPN_NAMESPACE}-br"),
            format!("veth-{VPN_NAMESPACE}-br"),
            format!("veth-{VPN_NAMESPACE}"),
        );
        ip(&["-n", &h.name, "link", "add", &bridge, "type", "bridge"]);
        ip(&[
            "-n",
            &h.name,
            "addr",
            "add",
            &format!("{VPN_BRIDGE_ADDRESS}/24"),
            "dev",
            &bridge,
        ]);
        ip(&["-n", &h.name, "link", "set", "dev", &bridge, "up"]);
        ip(&[
            "-n", &h.name, "link", "add", &veth_br, "type", "veth", "peer", "name", &veth, "netns",
            &vpn.name,
        ]);
        ip(&["-n", &h.name, "link", "set", &veth_br, "master", &bridge]);
        ip(&["-n", &h.name, "link", "set", "dev", &veth_br, "up"]);
        ip(&[
            "-n",
            &vpn.name,
            "addr",
            "add",
            &format!("{VPN_ADDRESS}/24"),
            "dev",
            &veth,
        ]);
        ip(&["-n", &vpn.name, "link", "set", "dev", &veth, "up"]);
        // Add routes: everything else goes into the tunnel.
        ip(&["-n", &vpn.name, "route", "add", "default", "dev", &wg0]);
        // Add prerouting rules: the port on every address of the host,
        // from anywhere (generatePreroutingRules).
        let chain = format!("{VPN_NAMESPACE}-prerouting");
        let on_host = |args: &[&str]| {
            let mut c = h.command("iptables");
            c.arg("-w").args(args);
            run(c, &format!("{host}: iptables {}", args.join(" ")));
        };
        on_host(&["-t", "nat", "-N", &chain]);
        on_host(&["-t", "nat", "-A", "PREROUTING", "-j", &chain]);
        for (from, to) in mappings {
            on_host(&[
                "-t",
                "nat",
                "-A",
                &chain,
                "-p",
                "tcp",
                "--dport",
                &from.to_string(),
                "-j",
                "DNAT",
                "--to-destination",
                &format!("{VPN_ADDRESS}:{to}"),
            ]);
            // Add veth INPUT rules (generatePortMapRules).
            in_vpn(&[
                "-A",
                "INPUT",
                "-p",
                "tcp",
                "--dport",
                &to.to_string(),
                "-j",
                "ACCEPT",
                "-i",
                &veth,
            ]);
        }
        // The module turns forwarding on (boot.kernel.sysctl).
        let mut c = h.command("sysctl");
        c.args(["-qw", "net.ipv4.ip_forward=1"]);
        run(c, "forwarding on the host");
        self.vpn.insert(host.to_string(), vpn);
    }

    /// The packets the namespace of `host` accepted on port `to` from its
    /// veth (the module's INPUT rule of the mapping).
    fn accepted(&self, host: &str, to: i64) -> u64 {
        let out = self.vpn[host]
            .command("iptables")
            .args(["-w", "-L", "INPUT", "-v", "-x", "-n"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let rule = text
            .lines()
            .find(|l| l.contains("ACCEPT") && l.contains(&format!("dpt:{to}")))
            .unwrap_or_else(|| panic!("no accept rule for {to}:\n{text}"));
        rule.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// A stub listening at `bind:port` on `host`, answering as `service`.
    fn stub(&mut self, dir: &Path, host: &str, service: &str, bind: &str, port: u16) {
        if bind == VPN_ADDRESS
            && let Some(vpn) = self.vpn.get_mut(host)
        {
            let mut c = vpn.command("python3");
            c.arg(dir.join("stub.py"))
                .args([service, bind, &port.to_string()]);
            vpn.spawn(c);
            // Up inside the namespace; from the host only a mapped port is
            // reached (`confined_ports`), as the proxy reaches it.
            vpn.wait_for(&format!("http://{bind}:{port}/"), None);
            return;
        }
        let own = &self.lan_address[host];
        let ns = self.hosts.get_mut(host).unwrap();
        let extra = !["0.0.0.0", "127.0.0.1", own.as_str()].contains(&bind);
        if extra && self.extra.insert((host.to_string(), bind.to_string())) {
            ns.loopback_address(bind);
        }
        let mut c = ns.command("python3");
        c.arg(dir.join("stub.py"))
            .args([service, bind, &port.to_string()]);
        ns.spawn(c);
        let at = if bind == "0.0.0.0" { "127.0.0.1" } else { bind };
        ns.wait_for(&format!("http://{at}:{port}/"), None);
    }

    /// The host's firewall, as its modules configure it.
    fn firewall(&self, host: &str, firewall: &Firewall) {
        let out = self.hosts[host]
            .command("sh")
            .args(["-e", "-c", &firewall.script()])
            .output()
            .expect("sh runs");
        assert!(
            out.status.success(),
            "the firewall of {host}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            firewall.script()
        );
    }

    /// The real Caddy on `host` with its virtual hosts over plain HTTP.
    fn caddy(&mut self, dir: &Path, host: &str, vhosts: &BTreeMap<String, String>) {
        let mut caddyfile = String::from("{\n\tadmin off\n\tauto_https off\n}\n");
        for (name, directives) in vhosts {
            caddyfile.push_str(&format!("http://{name} {{\n{directives}}}\n"));
        }
        let home = dir.join(format!("caddy-{host}"));
        std::fs::create_dir_all(&home).unwrap();
        let file = home.join("Caddyfile");
        std::fs::write(&file, &caddyfile).unwrap();
        let ns = self.hosts.get_mut(host).unwrap();
        let mut c = ns.command("caddy");
        c.args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&file)
            .env("HOME", &home)
            .env("XDG_DATA_HOME", &home)
            .env("XDG_CONFIG_HOME", &home);
        ns.spawn(c);
        let name = vhosts.keys().next().unwrap();
        ns.wait_for(&format!("http://{name}/"), Some((name, "127.0.0.1")));
    }
}

/// Where `forward_auth` sends the proxy's authentication requests.
fn auth_endpoint(directives: &str) -> Option<(String, u16)> {
    let line = directives
        .lines()
        .find_map(|l| l.trim().strip_prefix("forward_auth "))?;
    let (addr, port) = line.split_whitespace().next()?.rsplit_once(':')?;
    Some((addr.to_string(), port.parse().ok()?))
}

fn check(example: &str) {
    let (_, files) = examples::example(example);
    let fronts = fronts(&files);
    let ports = port_map(example);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stub.py"), STUB).unwrap();
    let mut lab = Lab::new(example);
    for (host, front) in &fronts {
        if !front.port_mappings.is_empty() {
            lab.vpn_namespace(host, &front.port_mappings);
        }
    }

    let mut started = std::collections::BTreeSet::new();
    for p in &ports {
        let listens = p.exposure != "infrastructure" && !p.bind.contains(' ');
        if listens && started.insert((p.host.clone(), p.bind.clone(), p.port)) {
            lab.stub(dir.path(), &p.host, &p.service, &p.bind, p.port);
        }
    }
    for (host, front) in &fronts {
        for directives in front.vhosts.values() {
            if let Some((addr, port)) = auth_endpoint(directives)
                && started.insert((host.clone(), addr.clone(), port))
            {
                lab.stub(dir.path(), host, "@auth", &addr, port);
            }
        }
        if !front.vhosts.is_empty() {
            lab.caddy(dir.path(), host, &front.vhosts);
        }
    }

    for (host, front) in &fronts {
        lab.firewall(host, &front.firewall);
    }
    direct_ports(example, &lab, &ports);
    confined_ports(example, &lab, &fronts);

    let mut checked = std::collections::BTreeSet::new();
    for p in ports.iter().filter(|p| p.url.is_some()) {
        let name = p.url.as_deref().unwrap().trim_start_matches("https://");
        let url = format!("http://{name}/");
        let what = format!("{example}: {} at {name}", p.service);
        if let Some((front, f)) = fronts.iter().find(|(_, f)| f.vhosts.contains_key(name)) {
            let signed_in = ["X-Test-Signed-In: yes"];
            let lan = lab
                .lan
                .get(&url, Some((name, &lab.lan_address[front])), &signed_in);
            assert_eq!(lan, Some((200, p.service.clone())), "{what} from the LAN");
            let tail = lab
                .tailnet
                .get(&url, Some((name, &lab.tailnet_address[front])), &signed_in);
            let from_tailnet = if p.exposure == "tailnet" { 200 } else { 403 };
            assert_eq!(
                tail.map(|t| t.0),
                Some(from_tailnet),
                "{what} from the tailnet"
            );
            let outside =
                lab.internet
                    .get(&url, Some((name, &lab.internet_address[front])), &signed_in);
            assert_eq!(outside.map(|o| o.0), Some(403), "{what} from the internet");
            if auth_endpoint(&f.vhosts[name]).is_some() {
                let stranger = lab
                    .lan
                    .get(&url, Some((name, &lab.lan_address[front])), &[]);
                assert_eq!(stranger.map(|s| s.0), Some(302), "{what}: not signed in");
            }
        } else if let Some((front, f)) = fronts.iter().find(|(_, f)| f.ingress.contains_key(name)) {
            // The tunnel's connector runs on `front` and asks the target.
            let target = format!("{}/", f.ingress[name]);
            let answer = lab.hosts[front].get(&target, None, &[]);
            assert_eq!(
                answer,
                Some((200, p.service.clone())),
                "{what} through the tunnel"
            );
        } else {
            panic!("{what}: no proxy and no tunnel serves it");
        }
        checked.insert(name.to_string());
    }
    assert!(!checked.is_empty(), "{example} has names to check");
    // A name the port map does not list: the internal name of a public
    // service (`files.home…` beside `files.…`). On the LAN it reaches the
    // service, or sends a service that answers to one name only there.
    for (front, f) in &fronts {
        for name in f.vhosts.keys().filter(|n| !checked.contains(*n)) {
            let label = name.split('.').next().unwrap();
            let public = checked
                .iter()
                .find(|c| c.split('.').next() == Some(label))
                .unwrap_or_else(|| panic!("{example}: {name} is the name of nothing"));
            let service = &ports
                .iter()
                .find(|p| p.url.as_deref() == Some(&format!("https://{public}")))
                .unwrap()
                .service;
            let url = format!("http://{name}/");
            let at = Some((name.as_str(), lab.lan_address[front].as_str()));
            match lab.lan.get(&url, at, &[]) {
                Some((200, body)) => assert_eq!(&body, service, "{example}: {name}"),
                _ => assert_eq!(
                    lab.lan.redirect(&url, at),
                    Some((301, format!("https://{public}/"))),
                    "{example}: {name} moves to {public}"
                ),
            }
        }
    }
}

/// Each port asked for directly, from the LAN, the tailnet and the
/// internet: a service behind the proxy is reached through it only, a
/// service the proxy does not front is reached where its exposure says,
/// and nothing is reached from where its exposure does not reach.
fn direct_ports(example: &str, lab: &Lab, ports: &[Port]) {
    let reaches = |exposure: &str, from: &str| match from {
        "lan" => ["lan", "tailnet", "public"].contains(&exposure),
        "tailnet" => ["tailnet", "public"].contains(&exposure),
        _ => exposure == "public",
    };
    for p in ports {
        if p.exposure == "infrastructure" || p.bind.contains(' ') {
            continue;
        }
        if p.bind == VPN_ADDRESS && lab.vpn.contains_key(&p.host) {
            // Dropped rather than refused: `confined_ports` asks for it.
            continue;
        }
        for (from, client, addresses) in [
            ("lan", &lab.lan, &lab.lan_address),
            ("tailnet", &lab.tailnet, &lab.tailnet_address),
            ("internet", &lab.internet, &lab.internet_address),
        ] {
            let url = format!("http://{}:{}/", addresses[&p.host], p.port);
            let answer = client.get(&url, None, &[]);
            let expected = p.url.is_none() && reaches(&p.exposure, from);
            assert_eq!(
                answer.is_some(),
                expected,
                "{example}: {} ({} exposure, bound to {}) on {}:{} from the {from}",
                p.service,
                p.exposure,
                p.bind,
                p.host,
                p.port
            );
        }
    }
}

/// Each port VPN-Confinement maps into its namespace, asked for directly
/// at the host from the LAN, the tailnet and the internet: nothing
/// answers, and nothing even reaches the namespace (its accept rule counts
/// no packet), so the confined web UI is reached through the host's proxy
/// only. The same holds with a way back from the namespace to each client
/// network (what VPN-Confinement's `accessibleFrom` adds), where the
/// module's DNAT alone would let the UI answer the LAN directly.
fn confined_ports(example: &str, lab: &Lab, fronts: &BTreeMap<String, Front>) {
    for (host, front) in fronts.iter().filter(|(_, f)| !f.port_mappings.is_empty()) {
        let lan = format!("{}.0/24", lab.lan_address[host].rsplit_once('.').unwrap().0);
        let clients = [
            ("LAN", &lab.lan, &lab.lan_address, lan.as_str()),
            (
                "tailnet",
                &lab.tailnet,
                &lab.tailnet_address,
                "100.64.0.0/10",
            ),
            (
                "internet",
                &lab.internet,
                &lab.internet_address,
                "203.0.113.0/24",
            ),
        ];
        for way_back in [false, true] {
            if way_back {
                for (_, _, _, network) in &clients {
                    let mut c = lab.vpn[host].command("ip");
                    c.args(["route", "replace", network, "via", VPN_BRIDGE_ADDRESS]);
                    run(c, "a route back from the namespace");
                }
            }
            for (from, to) in &front.port_mappings {
                let before = lab.accepted(host, *to);
                for (network, client, addresses, _) in &clients {
                    let url = format!("http://{}:{from}/", addresses[host]);
                    assert!(
                        !client.answers_within(&url, 1),
                        "{example}: the confined port {from} of {host} answers the {network} directly{}",
                        if way_back { " (with a route back)" } else { "" }
                    );
                }
                assert_eq!(
                    lab.accepted(host, *to),
                    before,
                    "{example}: the {network_list} reach the confined port {to} in {host}'s namespace{}",
                    if way_back { " (with a route back)" } else { "" },
                    network_list = "LAN, tailnet or internet"
                );
                // The host, where the proxy runs, still reaches it.
                let url = format!("http://{VPN_ADDRESS}:{to}/");
                assert!(
                    lab.hosts[host].answers_within(&url, 5),
                    "{example}: {host} reaches its confined port {to}"
                );
            }
        }
    }
}

#[test]
fn every_name_answers_where_its_exposure_says_and_nowhere_else() {
    for example in compile::examples::names() {
        check(example);
    }
}
