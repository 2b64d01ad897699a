//! Test hosts in network namespaces: each namespace is a machine of its
//! own with its loopback, joined to others by veth links through bridges
//! in a "switch" namespace. Everything made here is removed on drop.
//! Needs root (or CAP_NET_ADMIN) and iproute2.

#![allow(dead_code)] // each test binary uses its part

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("ip runs (install Debian's iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {} (network namespaces need root)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One network namespace, deleted with everything started in it.
pub struct Netns {
    pub name: String,
    children: Vec<Child>,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Netns {
    /// A fresh namespace with its loopback up; `tag` makes it readable in
    /// `ip netns list` while a test runs.
    pub fn new(tag: &str) -> Netns {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("hl{}-{n}-{tag}", std::process::id());
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        Netns {
            name,
            children: Vec::new(),
        }
    }

    /// A command that runs inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Starts a long-running program inside the namespace; it is killed
    /// when the namespace is dropped, or by [`Netns::stop`] with the
    /// number returned.
    pub fn spawn(&mut self, mut command: Command) -> usize {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the program starts");
        self.children.push(child);
        self.children.len() - 1
    }

    /// Kills a program [`Netns::spawn`] started, and waits for its end.
    pub fn stop(&mut self, process: usize) {
        let child = &mut self.children[process];
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Waits until something listens on TCP `port` in the namespace, up to
    /// ten seconds.
    pub fn wait_for_listener(&self, port: u16) {
        let start = Instant::now();
        loop {
            let out = self
                .command("ss")
                .args(["-Hltn", &format!("sport = :{port}")])
                .output()
                .expect("ss runs (iproute2)");
            if !out.stdout.is_empty() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nothing listens on port {port} in {}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Gives the namespace's `dev` an address and brings it up.
    pub fn address(&self, dev: &str, cidr: &str) {
        ip(&["-n", &self.name, "addr", "add", cidr, "dev", dev]);
        ip(&["-n", &self.name, "link", "set", dev, "up"]);
    }

    /// Gives the namespace's `dev` an IPv6 address, usable at once (no
    /// duplicate address detection: every address of the test is its own).
    pub fn address6(&self, dev: &str, cidr: &str) {
        ip(&["-n", &self.name, "addr", "add", cidr, "dev", dev, "nodad"]);
    }

    /// An extra address on the loopback (a bind address the host has on
    /// an interface this test does not build, such as a VPN bridge).
    pub fn loopback_address(&self, addr: &str) {
        ip(&[
            "-n",
            &self.name,
            "addr",
            "add",
            &format!("{addr}/32"),
            "dev",
            "lo",
        ]);
    }

    /// `curl` from inside the namespace: the status code and the body, or
    /// `None` when nothing answered.
    pub fn get(
        &self,
        url: &str,
        resolve: Option<(&str, &str)>,
        headers: &[&str],
    ) -> Option<(u16, String)> {
        self.ask(url, resolve, headers).map(|a| (a.0, a.1))
    }

    /// The status code and where a redirect points, or `None` when nothing
    /// answered.
    pub fn redirect(&self, url: &str, resolve: Option<(&str, &str)>) -> Option<(u16, String)> {
        self.ask(url, resolve, &[]).map(|a| (a.0, a.2))
    }

    /// Whether `url` answers at all within `seconds`: for a probe that
    /// must go unanswered where packets are dropped, not refused.
    pub fn answers_within(&self, url: &str, seconds: u32) -> bool {
        self.ask_within(url, None, &[], seconds).is_some()
    }

    /// Status, body and redirect target of one request.
    fn ask(
        &self,
        url: &str,
        resolve: Option<(&str, &str)>,
        headers: &[&str],
    ) -> Option<(u16, String, String)> {
        self.ask_within(url, resolve, headers, 5)
    }

    fn ask_within(
        &self,
        url: &str,
        resolve: Option<(&str, &str)>,
        headers: &[&str],
        seconds: u32,
    ) -> Option<(u16, String, String)> {
        let mut c = self.command("curl");
        c.args(["-s", "--max-time", &seconds.to_string(), "-o", "-"]);
        c.args(["-w", "\n%{http_code} %{redirect_url}"]);
        // An `https://` URL is asked for without checking the certificate:
        // whether anything answers, not whom to trust.
        let https = url.starts_with("https://");
        if https {
            c.arg("--insecure");
        }
        if let Some((name, addr)) = resolve {
            let port = if https { 443 } else { 80 };
            c.args(["--resolve", &format!("{name}:{port}:{addr}")]);
        }
        for h in headers {
            c.args(["-H", h]);
        }
        let out = c.arg(url).output().expect("curl runs");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, tail) = text.rsplit_once('\n')?;
        let (code, location) = tail.split_once(' ')?;
        match code.parse::<u16>() {
            Ok(0) | Err(_) => None,
            Ok(code) => Some((code, body.to_string(), location.to_string())),
        }
    }

    /// Waits until `url` answers at all (any status), up to ten seconds.
    pub fn wait_for(&self, url: &str, resolve: Option<(&str, &str)>) {
        let start = Instant::now();
        while self.get(url, resolve, &[]).is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{url} does not answer in {}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A switch: a namespace holding one bridge per network; machines are
/// plugged in with a veth pair whose far end is `dev` in their namespace.
pub struct Switch {
    ns: Netns,
    ports: usize,
}

impl Switch {
    pub fn new(networks: &[&str]) -> Switch {
        let ns = Netns::new("switch");
        for net in networks {
            ip(&["-n", &ns.name, "link", "add", net, "type", "bridge"]);
            ip(&["-n", &ns.name, "link", "set", net, "up"]);
        }
        Switch { ns, ports: 0 }
    }

    /// Adds a network (a bridge) after the switch is made.
    pub fn add_network(&mut self, network: &str) {
        ip(&[
            "-n",
            &self.ns.name,
            "link",
            "add",
            network,
            "type",
            "bridge",
        ]);
        ip(&["-n", &self.ns.name, "link", "set", network, "up"]);
    }

    /// Plugs `machine` into `network` as its interface `dev` with `cidr`.
    pub fn plug(&mut self, network: &str, machine: &Netns, dev: &str, cidr: &str) {
        self.ports += 1;
        let port = format!("p{}", self.ports);
        ip(&[
            "-n",
            &self.ns.name,
            "link",
            "add",
            &port,
            "type",
            "veth",
            "peer",
            "name",
            dev,
            "netns",
            &machine.name,
        ]);
        ip(&["-n", &self.ns.name, "link", "set", &port, "master", network]);
        ip(&["-n", &self.ns.name, "link", "set", &port, "up"]);
        machine.address(dev, cidr);
    }
}
