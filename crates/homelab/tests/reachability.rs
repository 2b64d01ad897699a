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
    _switch: Switch,
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
            _switch: switch,
        }
    }

    /// A stub listening at `bind:port` on `host`, answering as `service`.
    fn stub(&mut self, dir: &Path, host: &str, service: &str, bind: &str, port: u16) {
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

#[test]
fn every_name_answers_where_its_exposure_says_and_nowhere_else() {
    for example in compile::examples::names() {
        check(example);
    }
}
