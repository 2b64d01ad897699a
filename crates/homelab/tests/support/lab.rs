//! A homelab of real parts in network namespaces, for the tests that ask
//! it things from outside (`reachability.rs`, `status.rs`,
//! `exposure_proof.rs`): for an example, each host is a network namespace
//! on a LAN, a tailnet and the internet; the real Caddy runs the virtual
//! hosts the flake gives that host's proxy; a stub service listens at
//! every bind `homelab show ports` reports; each host runs behind the
//! firewall its modules configure; clients stand on each network.
//!
//! Stand-ins, because the real thing cannot run here: plain HTTP, or TLS
//! with a certificate from a test authority made here with `openssl`,
//! instead of ACME certificates (no ACME server offline; the `tls` lines
//! are the only part of the virtual host left out or replaced); a veth
//! network from 100.64.0.0/10 instead of tailscaled; a stub that answers
//! for oauth2-proxy's `/oauth2/auth` (signed in when the request carries
//! `X-Test-Signed-In`); the Cloudflare tunnel's connector is played by a
//! request from the tunnel host to the ingress target, after the rule's
//! `path` filter as cloudflared applies it (`Front::tunnel_passes`: the
//! expression searched in the request path, RE2 syntax, which the `regex`
//! crate shares); the firewall is
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
//!
//! A host can also answer over SSH (`Lab::ssh`): the real `sshd` runs in
//! its namespace, in a mount namespace of its own (`sshd.rs`) where a
//! folder of the test is mounted over `/var/lib` (homelab's records live
//! at `/var/lib/homelab/…` in it, never on the machine), another over
//! `/usr/local/bin`, and a tmpfs over `/nix` holding the host's own
//! `/nix/store` and `/nix/var/nix/profiles`, folders of the test too.
//!
//! What systemd and NixOS do cannot run here; `/usr/local/bin` holds
//! stand-ins for it (`standins.rs`): `systemctl show` answers in systemd's
//! format from states the test chooses (`Lab::unit_state`) or a transient
//! unit left, `stop` and `reset-failed` end such a unit; `systemd-run`
//! runs its command detached, so it outlives the SSH session, as a
//! transient unit with `RemainAfterExit`; `nix-env --set` links a new
//! generation of the profile; `zfs` records what it is asked. For a
//! deploy, each host's store holds fake systems whose
//! `bin/switch-to-configuration` records its goal and does what the test
//! says (`Activation`: exit with a code, break a service or bring every
//! one back, drop SSH half way), and the admin machine has a stand-in
//! `nix` on its PATH (`build` prints the fake system the test built,
//! `copy` sends it over the real SSH into the host's store).
//!
//! An example with segments (VLANs) also gets each host's interface in
//! the segments it joins, a device for each segment client and a router
//! between the networks (`SegmentLab`, which says what stands in for what).
//!
//! Needs root, iproute2, iptables, curl, python3, openssl, OpenSSH, Nix's
//! `/nix` (Debian's nix-bin; nothing is written to it) and Debian's caddy.
//! Everything is removed when the lab is dropped.

#![allow(dead_code)] // each test binary uses its part

use crate::netns::{Netns, Switch};
use crate::sshd::{Client, Machine};
use crate::standins::{Activation, Standins, install_nix};
use compile::nix::{Attrs, Nix};
#[path = "test_ca.rs"]
mod test_ca;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
pub use test_ca::Tls;

/// Answers every request with the name of the service it stands for;
/// `@auth` plays oauth2-proxy's authentication endpoint. While the file
/// named by the fourth argument exists, the service is down: it answers
/// 503 (a system a deploy switched to broke it).
pub const STUB: &str = r#"
import http.server, os, sys
name, bind, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
down = sys.argv[4] if len(sys.argv) > 4 else None
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code, body = 200, name
        if name == "@auth" and self.path.startswith("/oauth2/auth"):
            code = 202 if self.headers.get("X-Test-Signed-In") else 401
        elif down and os.path.exists(down):
            code, body = 503, name + " is down"
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
pub struct Port {
    pub host: String,
    pub service: String,
    pub port: u16,
    pub bind: String,
    pub exposure: String,
    pub url: Option<String>,
}

/// `homelab show ports --json` of the spec `args` name (`--example NAME`
/// or a file).
fn ports_of(args: &[&str]) -> Vec<Port> {
    let out = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(["show", "ports", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
/// directives, and tunnel ingress name → target URL (and the path filter
/// of a rule that has one).
#[derive(Default)]
pub struct Front {
    pub vhosts: BTreeMap<String, String>,
    pub ingress: BTreeMap<String, String>,
    pub ingress_paths: BTreeMap<String, regex::Regex>,
    pub firewall: Firewall,
    /// VPN-Confinement's `portMappings` of the host's namespace: the host
    /// port and the namespace port.
    pub port_mappings: Vec<(i64, i64)>,
}

/// What a host's modules give its firewall (the iptables backend, the
/// default): the TCP ports open to all, the trusted interfaces, and the
/// extra commands (the per-source rules for other hosts of the fleet).
#[derive(Default)]
pub struct Firewall {
    pub tcp: Vec<i64>,
    pub trusted: Vec<String>,
    pub extra: String,
    /// tailscaled runs on the host and jumps from `INPUT` to its own
    /// chain (its default netfilter mode): see [`Firewall::tailscaled`].
    pub tailscaled_diverts: bool,
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

    /// Whether tailscaled, as the host's modules run it, diverts `INPUT`
    /// to its own chain: it does unless `tailscale set` (or `up`) is
    /// given `--netfilter-mode=nodivert` or `off`.
    fn read_tailscale(&mut self, body: &Attrs) {
        let Some(ts) = table(body, &["services", "tailscale"]) else {
            return;
        };
        if !matches!(ts.get("enable"), Some(Nix::Bool(true))) {
            return;
        }
        let keeps_out = match ts.get("extraSetFlags") {
            Some(Nix::List(flags)) => flags
                .iter()
                .map(string)
                .any(|f| f == "--netfilter-mode=nodivert" || f == "--netfilter-mode=off"),
            _ => false,
        };
        self.tailscaled_diverts = !keeps_out;
    }

    /// The chain tailscaled 1.98 (the pinned release's) builds in its
    /// default netfilter mode (`util/linuxfw/iptables_runner.go`,
    /// `addBase4`, `addBase6` and the hook): inserted first in `INPUT`,
    /// ahead of the firewall's, it accepts everything that arrives on
    /// `tailscale0`. A stand-in for the daemon, which cannot run here.
    pub fn tailscaled() -> &'static str {
        "iptables -w -N ts-input\n\
         iptables -w -A ts-input ! -i tailscale0 -s 100.115.92.0/23 -j RETURN\n\
         iptables -w -A ts-input ! -i tailscale0 -s 100.64.0.0/10 -j DROP\n\
         iptables -w -A ts-input -i tailscale0 -j ACCEPT\n\
         iptables -w -I INPUT 1 -j ts-input\n\
         ip6tables -w -N ts-input\n\
         ip6tables -w -A ts-input -i tailscale0 -j ACCEPT\n\
         ip6tables -w -I INPUT 1 -j ts-input\n"
    }

    /// What `services.openssh.openFirewall` adds: its ports (22 unless
    /// set) to the ports open to all.
    fn read_openssh(&mut self, body: &Attrs) {
        let Some(ssh) = table(body, &["services", "openssh"]) else {
            return;
        };
        if !matches!(ssh.get("openFirewall"), Some(Nix::Bool(true))) {
            return;
        }
        match ssh.get("ports") {
            Some(Nix::List(ports)) => self.tcp.extend(ports.iter().map(|p| match p {
                Nix::Int(p) => *p,
                other => panic!("a port: {other:?}"),
            })),
            _ => self.tcp.push(22),
        }
    }

    /// The chain `firewall-iptables.nix` builds at the pinned nixpkgs, in
    /// its order, for IPv4 and IPv6 (`ip46tables`, as the module's helper),
    /// without logging and reverse-path filtering. Refused packets are
    /// rejected rather than dropped (the module's default) so that a
    /// refused probe does not wait out its timeout; what is refused is the
    /// same. tailscaled's chain comes first when it diverts `INPUT`.
    pub fn script(&self) -> String {
        let mut s = String::from(
            "ip46tables() { iptables -w \"$@\" && ip6tables -w \"$@\"; }\n\
             ip46tables -N nixos-fw-accept\n\
             ip46tables -A nixos-fw-accept -j ACCEPT\n\
             ip46tables -N nixos-fw-refuse\n\
             ip46tables -A nixos-fw-refuse -p tcp -j REJECT --reject-with tcp-reset\n\
             ip46tables -A nixos-fw-refuse -j REJECT\n\
             ip46tables -N nixos-fw-log-refuse\n\
             ip46tables -A nixos-fw-log-refuse -j nixos-fw-refuse\n\
             ip46tables -N nixos-fw\n",
        );
        // The module always trusts the loopback.
        for iface in std::iter::once("lo").chain(self.trusted.iter().map(String::as_str)) {
            s.push_str(&format!(
                "ip46tables -A nixos-fw -i {iface} -j nixos-fw-accept\n"
            ));
        }
        s.push_str(
            "ip46tables -A nixos-fw -m conntrack --ctstate ESTABLISHED,RELATED -j nixos-fw-accept\n",
        );
        for port in &self.tcp {
            s.push_str(&format!(
                "ip46tables -A nixos-fw -p tcp --dport {port} -j nixos-fw-accept\n"
            ));
        }
        // `networking.enableIPv6` (the default): ICMPv6 but redirects and
        // node information queries, so neighbour discovery works.
        s.push_str(
            "ip6tables -w -A nixos-fw -p icmpv6 --icmpv6-type redirect -j DROP\n\
             ip6tables -w -A nixos-fw -p icmpv6 --icmpv6-type 139 -j DROP\n\
             ip6tables -w -A nixos-fw -p icmpv6 -j nixos-fw-accept\n",
        );
        s.push_str(&self.extra);
        s.push_str(
            "\nip46tables -A nixos-fw -j nixos-fw-log-refuse\nip46tables -A INPUT -j nixos-fw\n",
        );
        if self.tailscaled_diverts {
            s.push_str(Firewall::tailscaled());
        }
        s
    }
}

pub fn fronts(files: &[compile::render::File]) -> BTreeMap<String, Front> {
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
        front.firewall.read_openssh(body);
        front.firewall.read_tailscale(body);
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
                    for (name, rule) in ingress {
                        let target = match rule {
                            Nix::Attrs(rule) => {
                                if let Some(path) = rule.get("path") {
                                    let re = regex::Regex::new(&string(path)).unwrap();
                                    front.ingress_paths.insert(name.clone(), re);
                                }
                                string(&rule["service"])
                            }
                            target => string(target),
                        };
                        front.ingress.insert(name.clone(), target);
                    }
                }
            }
        }
    }
    out
}

impl Front {
    /// Whether the tunnel's rule for `name` takes a request for `path`
    /// (cloudflared's `Rule::Matches`: no path filter, or the expression
    /// found in the path); one it does not take gets the tunnel's default.
    pub fn tunnel_passes(&self, name: &str, path: &str) -> bool {
        self.ingress_paths
            .get(name)
            .is_none_or(|re| re.is_match(path))
    }
}

/// The example's machines and its three networks.
pub struct Lab {
    pub example: String,
    pub hosts: BTreeMap<String, Netns>,
    pub lan_address: BTreeMap<String, String>,
    pub tailnet_address: BTreeMap<String, String>,
    /// Each host's IPv6 address on the tailnet.
    pub tailnet_address_v6: BTreeMap<String, String>,
    pub internet_address: BTreeMap<String, String>,
    /// A client on each network; the tailnet's is a family device, not
    /// one of the spec's admin devices.
    pub lan: Netns,
    pub tailnet: Netns,
    pub internet: Netns,
    /// A client at the address of each admin device of the spec
    /// (`[access.tailscale] admins`), by device name.
    pub admins: BTreeMap<String, Netns>,
    /// The spec the lab runs, as text.
    pub spec: String,
    /// What each host's modules give its proxy and firewall.
    pub fronts: BTreeMap<String, Front>,
    /// `homelab show ports` of the example.
    pub ports: Vec<Port>,
    /// The certificate the proxies serve, when they serve TLS.
    pub tls: Option<Tls>,
    /// Bind addresses added to a host's loopback.
    extra: BTreeSet<(String, String)>,
    /// The VPN namespace beside each host that confines a service.
    pub vpn: BTreeMap<String, Netns>,
    /// The far end of each namespace's tunnel.
    tunnels: Vec<Netns>,
    /// Every stub started: its host, service, whether it runs in the VPN
    /// namespace, and its process there.
    stubs: Vec<(String, String, bool, usize)>,
    /// The process of each host's sshd.
    sshd: BTreeMap<String, usize>,
    /// The segments' devices and the router between the networks, when
    /// the example has segments (`Lab::segments`).
    pub segments: Option<SegmentLab>,
    /// The folders of each host where sshd runs.
    machines: BTreeMap<String, Machine>,
    _switch: Switch,
    /// Stubs, Caddy's files, keys, the hosts' `/var/lib`: removed last.
    pub dir: tempfile::TempDir,
}

/// The family phone's IPv6 address on the tailnet (Tailscale gives every
/// device one in fd7a:115c:a1e0::/48 beside its IPv4 address).
pub const FAMILY_PHONE_V6: &str = "fd7a:115c:a1e0::100:2/48";

/// How the proxies serve their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serve {
    /// Plain HTTP on port 80.
    Http,
    /// HTTPS on port 443, with a certificate for the example's internal
    /// domain valid for this many days.
    Https { days: u32 },
}

/// VPN-Confinement's names and addresses at their defaults, as the flake
/// leaves them: the namespace `wg`, its bridge `wg-br` on the host, the
/// veth pair, and the module's `namespaceAddress` and `bridgeAddress`.
pub const VPN_NAMESPACE: &str = "wg";
pub const VPN_ADDRESS: &str = "192.168.15.1";
pub const VPN_BRIDGE_ADDRESS: &str = "192.168.15.5";

/// Runs `program args` and fails the test when it fails.
pub fn run(mut c: Command, what: &str) {
    let out = c.output().expect("the program runs");
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Lab {
    /// The example's homelab running: the VPN namespaces, a stub at every
    /// bind, the sign-in gateway's stub, each proxy with its virtual
    /// hosts served as `serve` says, each host behind its firewall.
    pub fn start(example: &str, serve: Serve) -> Lab {
        Lab::start_spec(example, compile::examples::get(example).unwrap(), serve)
    }

    /// As [`Lab::start`], for a spec of the test's own (`name` tags it).
    pub fn start_spec(name: &str, text: &str, serve: Serve) -> Lab {
        let mut lab = Lab::new(name, text);
        if let Serve::Https { days } = serve {
            let spec: toml::Table = text.parse().unwrap();
            let domain = spec["homelab"]["internal_domain"].as_str().unwrap();
            lab.tls = Some(Tls::new(&lab.dir.path().join("tls"), domain, days));
        }
        std::fs::write(lab.dir.path().join("stub.py"), STUB).unwrap();
        let fronts = std::mem::take(&mut lab.fronts);
        for (host, front) in &fronts {
            if !front.port_mappings.is_empty() {
                lab.vpn_namespace(host, &front.port_mappings);
            }
        }
        let ports = std::mem::take(&mut lab.ports);
        let mut started = BTreeSet::new();
        for p in &ports {
            let listens = p.exposure != "infrastructure" && !p.bind.contains(' ');
            if listens && started.insert((p.host.clone(), p.bind.clone(), p.port)) {
                lab.stub(&p.host, &p.service, &p.bind, p.port);
            }
        }
        lab.ports = ports;
        for (host, front) in &fronts {
            for directives in front.vhosts.values() {
                if let Some((addr, port)) = auth_endpoint(directives)
                    && started.insert((host.clone(), addr.clone(), port))
                {
                    lab.stub(host, "@auth", &addr, port);
                }
            }
            if !front.vhosts.is_empty() {
                lab.caddy(host, &front.vhosts);
            }
        }
        for (host, front) in &fronts {
            lab.firewall(host, &front.firewall);
        }
        lab.fronts = fronts;
        lab
    }

    /// The example's machines on their networks, with nothing running.
    fn new(example: &str, text: &str) -> Lab {
        let spec: toml::Table = text.parse().unwrap();
        let (fleet, _) = compile::compile(text).unwrap();
        let files = compile::render::render(&fleet);
        let mut switch = Switch::new(&["lan", "tailnet", "internet"]);
        let mut hosts = BTreeMap::new();
        let mut lan_address = BTreeMap::new();
        let mut tailnet_address = BTreeMap::new();
        let mut tailnet_address_v6 = BTreeMap::new();
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
            let tail6 = format!("fd7a:115c:a1e0::{}", n + 1);
            ns.address6("tailscale0", &format!("{tail6}/48"));
            tailnet_address_v6.insert(name.clone(), tail6);
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
        tailnet.address6("tailscale0", FAMILY_PHONE_V6);
        let mut admins = BTreeMap::new();
        let devices = spec.get("access").and_then(|a| a.get("tailscale"));
        let devices = devices
            .and_then(|t| t.get("admins"))
            .and_then(|a| a.as_table());
        for (device, address) in devices.into_iter().flatten() {
            let ns = Netns::new(device);
            let cidr = format!("{}/10", address.as_str().unwrap());
            switch.plug("tailnet", &ns, "tailscale0", &cidr);
            admins.insert(device.clone(), ns);
        }
        let dir = tempfile::tempdir().unwrap();
        let spec_file = dir.path().join("homelab.toml");
        std::fs::write(&spec_file, text).unwrap();
        let internet = Netns::new("internet");
        switch.plug("internet", &internet, "wan0", "203.0.113.200/24");
        let segments = SegmentLab::new(&fleet, &mut switch, &hosts, &lan_address);
        Lab {
            example: example.to_string(),
            hosts,
            lan_address,
            tailnet_address,
            tailnet_address_v6,
            internet_address,
            lan,
            tailnet,
            internet,
            admins,
            spec: text.to_string(),
            fronts: fronts(&files),
            ports: ports_of(&[spec_file.to_str().unwrap()]),
            tls: None,
            extra: BTreeSet::new(),
            vpn: BTreeMap::new(),
            tunnels: Vec::new(),
            stubs: Vec::new(),
            sshd: BTreeMap::new(),
            segments,
            machines: BTreeMap::new(),
            _switch: switch,
            dir,
        }
    }

    /// The lab's spec with `[status]` keys and, when asked, each host's
    /// `tailnet_address` in the lab, written beside the lab.
    pub fn write_spec(&self, status: toml::Table, tailnet_addresses: bool) -> PathBuf {
        let mut spec: toml::Table = self.spec.parse().unwrap();
        spec.insert("status".into(), status.into());
        if tailnet_addresses {
            let hosts = spec["hosts"].as_table_mut().unwrap();
            for (name, host) in hosts.iter_mut() {
                let address = self.tailnet_address[name.as_str()].clone();
                host.as_table_mut()
                    .unwrap()
                    .insert("tailnet_address".into(), address.into());
            }
        }
        let path = self.dir.path().join("homelab.toml");
        std::fs::write(&path, toml::to_string(&spec).unwrap()).unwrap();
        path
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
    pub fn accepted(&self, host: &str, to: i64) -> u64 {
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
    pub fn stub(&mut self, host: &str, service: &str, bind: &str, port: u16) {
        let script = self.dir.path().join("stub.py");
        let down = Standins::at(&self.host_dir(host)).down.join(service);
        if bind == VPN_ADDRESS
            && let Some(vpn) = self.vpn.get_mut(host)
        {
            let mut c = vpn.command("python3");
            c.arg(&script)
                .args([service, bind, &port.to_string()])
                .arg(&down);
            let process = vpn.spawn(c);
            self.stubs
                .push((host.to_string(), service.to_string(), true, process));
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
        c.arg(&script)
            .args([service, bind, &port.to_string()])
            .arg(&down);
        let process = ns.spawn(c);
        self.stubs
            .push((host.to_string(), service.to_string(), false, process));
        let at = if bind == "0.0.0.0" { "127.0.0.1" } else { bind };
        ns.wait_for(&format!("http://{at}:{port}/"), None);
    }

    /// Stops every stub of `service` on `host`: the service is down.
    pub fn stop(&mut self, host: &str, service: &str) {
        let mut stopped = 0;
        for (h, s, in_vpn, process) in &self.stubs {
            if h != host || s != service {
                continue;
            }
            let ns = if *in_vpn {
                self.vpn.get_mut(host).unwrap()
            } else {
                self.hosts.get_mut(host).unwrap()
            };
            ns.stop(*process);
            stopped += 1;
        }
        assert!(stopped > 0, "no stub of {service} runs on {host}");
    }

    /// The host's firewall, as its modules configure it.
    pub fn firewall(&self, host: &str, firewall: &Firewall) {
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

    /// The real Caddy on `host` with its virtual hosts, over plain HTTP,
    /// or over HTTPS with the lab's certificate (`tls <cert> <key>` in
    /// each site, where the flake has `useACMEHost`).
    pub fn caddy(&mut self, host: &str, vhosts: &BTreeMap<String, String>) {
        let mut caddyfile = String::from("{\n\tadmin off\n\tauto_https off\n}\n");
        for (name, directives) in vhosts {
            match &self.tls {
                None => caddyfile.push_str(&format!("http://{name} {{\n{directives}}}\n")),
                Some(tls) => caddyfile.push_str(&format!(
                    "https://{name} {{\n\ttls {} {}\n{directives}}}\n",
                    tls.cert.display(),
                    tls.key.display()
                )),
            }
        }
        let home = self.dir.path().join(format!("caddy-{host}"));
        std::fs::create_dir_all(&home).unwrap();
        let file = home.join("Caddyfile");
        std::fs::write(&file, &caddyfile).unwrap();
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let ns = self.hosts.get_mut(host).unwrap();
        let mut c = ns.command("caddy");
        c.args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&file)
            .env("HOME", &home)
            .env("XDG_DATA_HOME", &home)
            .env("XDG_CONFIG_HOME", &home);
        ns.spawn(c);
        let name = vhosts.keys().next().unwrap();
        ns.wait_for(&format!("{scheme}://{name}/"), Some((name, "127.0.0.1")));
    }
}

/// The segments (VLANs) of an example: each host's interface in the
/// segments it joins, a device for each client, and a router.
///
/// The kernel here has no 802.1Q (`ip link add … type vlan` is refused,
/// and so is a bridge's `vlan_filtering`): each segment is a bridge of its
/// own, and a host that joins one over a VLAN is plugged into it by a
/// veth named as the flake names the VLAN interface (`vlan40`). What the
/// firewall sees — the interface a packet comes in on, the addresses — is
/// what it sees on the machine; the tag itself is the switch's.
///
/// The router stands for one that routes everything: the LAN and every
/// segment, nothing filtered. That is the case the hosts must hold on
/// their own: what reaches a host is the host's to refuse. Each device's
/// default route is the router; each host that does not join a segment
/// reaches it through the router too.
pub struct SegmentLab {
    pub router: Netns,
    /// The router's address on the LAN.
    pub router_address: String,
    pub devices: Vec<Device>,
}

/// A client of a segment: a named one of the spec, or a device at the
/// end of the subnet when the segment names none.
pub struct Device {
    pub segment: String,
    pub name: String,
    pub address: String,
    pub ns: Netns,
}

impl SegmentLab {
    fn new(
        fleet: &compile::fleet::Fleet,
        switch: &mut Switch,
        hosts: &BTreeMap<String, Netns>,
        lan_address: &BTreeMap<String, String>,
    ) -> Option<SegmentLab> {
        if fleet.segments.is_empty() {
            return None;
        }
        let router = Netns::new("router");
        let first = lan_address.values().next().unwrap();
        let router_address = format!("{}.1", first.rsplit_once('.').unwrap().0);
        switch.plug("lan", &router, "lan0", &format!("{router_address}/24"));
        let mut devices = Vec::new();
        for seg in &fleet.segments {
            let net = seg.spec.subnet.value;
            let bridge = format!("seg{}", seg.spec.vlan.value);
            switch.add_network(&bridge);
            let gateway = nth(net, 1);
            switch.plug(
                &bridge,
                &router,
                &bridge,
                &format!("{gateway}/{}", net.prefix),
            );
            for m in &seg.members {
                let cidr = format!("{}/{}", m.address, net.prefix);
                switch.plug(&bridge, &hosts[&m.host], &m.interface, &cidr);
            }
            for (host, ns) in hosts {
                if seg.member(host).is_none() {
                    route(ns, &net.to_string(), &router_address);
                }
            }
            let clients: Vec<(String, String)> = if seg.spec.clients.is_empty() {
                let last = (1u32 << (32 - u32::from(net.prefix))) - 6;
                vec![("device".into(), nth(net, last))]
            } else {
                seg.spec
                    .clients
                    .iter()
                    .map(|c| (c.name.value.clone(), c.address.value.to_string()))
                    .collect()
            };
            for (name, address) in clients {
                let ns = Netns::new(&name);
                switch.plug(&bridge, &ns, "eth0", &format!("{address}/{}", net.prefix));
                route(&ns, "default", &gateway);
                devices.push(Device {
                    segment: seg.name().to_string(),
                    name,
                    address,
                    ns,
                });
            }
        }
        let mut c = router.command("sysctl");
        c.args(["-qw", "net.ipv4.ip_forward=1"]);
        run(c, "forwarding on the router");
        Some(SegmentLab {
            router,
            router_address,
            devices,
        })
    }

    /// The first client of `segment`.
    pub fn device(&self, segment: &str) -> &Device {
        self.devices
            .iter()
            .find(|d| d.segment == segment)
            .unwrap_or_else(|| panic!("no device on segment {segment}"))
    }
}

/// The `n`th address of a subnet.
fn nth(net: compile::spec::Subnet, n: u32) -> String {
    core::net::Ipv4Addr::from(u32::from(net.address) + n).to_string()
}

/// `ip route add <to> via <via>` in a namespace.
pub fn route(ns: &Netns, to: &str, via: &str) {
    let mut c = ns.command("ip");
    c.args(["route", "add", to, "via", via]);
    run(c, &format!("a route to {to} in {}", ns.name));
}

/// Where `forward_auth` sends the proxy's authentication requests.
pub fn auth_endpoint(directives: &str) -> Option<(String, u16)> {
    let line = directives
        .lines()
        .find_map(|l| l.trim().strip_prefix("forward_auth "))?;
    let (addr, port) = line.split_whitespace().next()?.rsplit_once(':')?;
    Some((addr.to_string(), port.parse().ok()?))
}

/// The proxies' certificate: one leaf for `*.<domain>` and `<domain>`
/// (what the flake's ACME certificate covers), signed by an authority made
/// for the test, valid for a chosen number of days from now. Clients trust
/// the authority through `SSL_CERT_FILE`; Caddy's `tls <cert_file>
/// <key_file>` loads the leaf and its key.
impl Tls {
    pub fn new(dir: &Path, domain: &str, days: u32) -> Tls {
        // Each authority has a name of its own (its folder's).
        let name = dir.file_name().unwrap().to_string_lossy();
        let wildcard = format!("*.{domain}");
        Tls::issue(
            dir,
            &format!("homelab test authority {name}"),
            &[&wildcard, domain],
            days,
        )
    }
}

impl Lab {
    /// The test folder of `host`.
    pub fn host_dir(&self, host: &str) -> PathBuf {
        self.dir.path().join("hosts").join(host)
    }

    /// The folder a host's sshd sees as `/var/lib`.
    pub fn var_lib(&self, host: &str) -> PathBuf {
        self.machine(host).var_lib()
    }

    /// Sets a unit's state on `host` as systemd would report it:
    /// `"failed failed exit-code"` (active state, sub-state, result).
    pub fn unit_state(&self, host: &str, unit: &str, state: &str) {
        self.machine(host).unit_state(unit, state);
    }

    /// The client's ssh configuration (`--ssh-config`): the test's key,
    /// and the hosts' keys known.
    pub fn ssh_config(&self) -> PathBuf {
        self.client().config()
    }

    /// The test's public key, which every sshd of the lab lets in.
    pub fn client_key(&self) -> String {
        let path = self.client().authorized_keys();
        std::fs::read_to_string(path).unwrap().trim().to_string()
    }

    /// The public host key of `host`'s sshd.
    pub fn host_key(&self, host: &str) -> String {
        self.machine(host).host_key()
    }

    /// The stand-ins of `host` (after [`Lab::ssh`]).
    pub fn standins(&self, host: &str) -> Standins {
        self.machine(host).standins()
    }

    fn client(&self) -> Client {
        Client::new(&self.dir.path().join("ssh"))
    }

    fn machine(&self, host: &str) -> &Machine {
        self.machines
            .get(host)
            .unwrap_or_else(|| panic!("no sshd was started on {host}"))
    }

    /// The real sshd on `host`, at port 22 of every address, letting root
    /// in with the test's key; its own `/var/lib`, stand-ins in
    /// `/usr/local/bin`, `/nix/store` and `/nix/var/nix/profiles` (see
    /// `sshd.rs`). Records go in [`Lab::var_lib`].
    pub fn ssh(&mut self, host: &str) {
        let client = self.client();
        let machine = Machine::new(&self.host_dir(host));
        client.know(
            &[
                &self.lan_address[host],
                &self.tailnet_address[host],
                &self.internet_address[host],
            ],
            22,
            &machine.host_key(),
        );
        let process = machine.sshd(self.hosts.get_mut(host).unwrap(), &client, 22);
        self.sshd.insert(host.to_string(), process);
        self.machines.insert(host.to_string(), machine);
    }

    /// Stops the sshd of `host`: the host no longer answers over SSH.
    pub fn stop_ssh(&mut self, host: &str) {
        let process = self.sshd.remove(host).expect("sshd runs there");
        self.hosts.get_mut(host).unwrap().stop(process);
        // One a switch started again, if any.
        self.machine(host).kill_sshd();
    }

    /// The admin machine's folder: its stand-in `nix` in `bin`, the
    /// systems it built in `store`, what its `nix` was asked in `calls`
    /// and `copies`, the deploy history in `state`.
    pub fn admin(&self) -> PathBuf {
        let dir = self.dir.path().join("admin");
        if !dir.join("bin").join("nix").exists() {
            install_nix(&dir);
        }
        dir
    }

    /// `host` runs `nixos-system-<host>-25.11-before`, a system whose
    /// switch brings every unit and service up; returns its store path.
    pub fn running(&self, host: &str) -> String {
        assert!(
            Path::new("/nix").is_dir(),
            "the hosts' store and profiles are mounted over /nix: install Debian's nix-bin"
        );
        let s = self.standins(host);
        let name = format!("nixos-system-{host}-25.11-before");
        let system = s.system(&s.store, &name, &Activation::healthy());
        s.boot(&system);
        system
    }

    /// The system `nix build` gives the admin for `host`,
    /// `nixos-system-<host>-25.11-after`, whose switch does `activation`
    /// on the host; returns its store path.
    pub fn built(&self, host: &str, activation: &Activation) -> String {
        let admin = self.admin();
        let name = format!("nixos-system-{host}-25.11-after");
        let system = self
            .standins(host)
            .system(&admin.join("store"), &name, activation);
        std::fs::write(admin.join("built").join(host), format!("{system}\n")).unwrap();
        system
    }

    /// The system `host`'s profile points at.
    pub fn system(&self, host: &str) -> String {
        self.standins(host).current()
    }

    /// `homelab args` from the LAN client as the administrator runs it:
    /// the admin's `nix` first on PATH, the deploy history in the admin's
    /// `state` (`XDG_STATE_HOME`), the lab's authority trusted.
    pub fn admin_homelab(&self, args: &[&str]) -> (i32, String, String) {
        let admin = self.admin();
        let path = format!(
            "{}:{}",
            admin.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let state = admin.join("state").display().to_string();
        let env = [("PATH", path.as_str()), ("XDG_STATE_HOME", state.as_str())];
        let ca = self.tls.as_ref().map(|t| t.ca.as_path());
        self.homelab_with(&self.lan, ca, &env, args)
    }

    /// Runs `homelab args` in the namespace `client` as a user there
    /// would, trusting the lab's certificate authority; exit code, stdout
    /// and stderr.
    pub fn homelab(&self, client: &Netns, args: &[&str]) -> (i32, String, String) {
        let ca = self.tls.as_ref().map(|t| t.ca.as_path());
        self.homelab_trusting(client, ca, args)
    }

    /// Runs `homelab args` in `client` trusting only the authority in the
    /// file `ca` (`SSL_CERT_FILE`).
    pub fn homelab_trusting(
        &self,
        client: &Netns,
        ca: Option<&Path>,
        args: &[&str],
    ) -> (i32, String, String) {
        self.homelab_with(client, ca, &[], args)
    }

    /// [`Lab::homelab_trusting`] with more of the environment set.
    pub fn homelab_with(
        &self,
        client: &Netns,
        ca: Option<&Path>,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> (i32, String, String) {
        let mut c = client.command("env");
        c.arg("NO_COLOR=1");
        if let Some(ca) = ca {
            c.arg(format!("SSL_CERT_FILE={}", ca.display()));
        }
        for (k, v) in env {
            c.arg(format!("{k}={v}"));
        }
        c.arg(env!("CARGO_BIN_EXE_homelab")).args(args);
        let out = crate::bin::finish_within_a_minute(&mut c, b"");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}
