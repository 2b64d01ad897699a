//! `hosts/<h>/vm-test.nix`: a NixOS VM test that boots the host's own
//! modules plus `vm.nix` and waits for every service's units and health
//! endpoint, the same probe the operating commands run after a restore
//! (`plan.json`'s `health`: HTTP 200 from the catalog's health path).
//!
//! Facts read (nixpkgs): `pkgs/build-support/testers/default.nix` —
//! `runNixOSTest` is `nixos.runTest` with `hostPkgs = pkgs` and
//! `node.pkgs = pkgsLinux`; `nixos/lib/testing/nodes.nix` — a set
//! `node.pkgs` makes `nixpkgs.*` read-only unless `node.pkgsReadOnly =
//! false`, which a host that sets `nixpkgs.hostPlatform` (and an unfree
//! allow-list) needs; `node.specialArgs` passes `inputs` as the flake's
//! `nixosSystem` does. The test driver (`nixos/lib/test-driver`) names a
//! node's Python variable after it with every character outside
//! `[A-Za-z0-9_]` turned into `_`, and offers `start`, `wait_for_unit`
//! and `wait_until_succeeds(command, timeout=…)`.

use super::File;
use super::vm;
use crate::catalog::Entry;
use crate::fleet::{Fleet, HostPlan, Instance};
use crate::nix::{Attrs, Nix, set};

/// Seconds a service may take to answer its health probe after boot
/// (PostgreSQL-backed services migrate their schema on first start).
pub(crate) const HEALTH_TIMEOUT_SECONDS: u32 = 600;

/// Infrastructure the test waits for, with its systemd unit; tailscale and
/// cloudflared are off in the VM (see `vm.rs`).
const INFRA_UNITS: [(&str, &str); 4] = [
    ("openssh", "sshd.service"),
    ("postgresql", "postgresql.service"),
    ("caddy", "caddy.service"),
    ("fail2ban", "fail2ban.service"),
];

/// Units a timer starts, not boot (nixpkgs `nextcloud.nix`:
/// `systemd.timers.nextcloud-cron`, first run 5 minutes after boot): the
/// test does not wait for them; the service's health probe covers it.
const TIMER_STARTED: [&str; 1] = ["nextcloud-cron.service"];

/// What the test does for one service of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub service: String,
    pub units: Vec<String>,
    /// The health URL, answered with HTTP 200 when the service works.
    pub health: Option<String>,
    /// Why the test does not wait for it, when it does not.
    pub skipped: Option<String>,
}

/// Every service of the host, in the spec's order.
pub fn probes(fleet: &Fleet, host: &HostPlan) -> Vec<Probe> {
    fleet
        .instances_on(host.name())
        .map(|i| Probe {
            service: i.name.value.clone(),
            units: i
                .units()
                .iter()
                .map(|u| unit_name(u))
                .filter(|u| !TIMER_STARTED.contains(&u.as_str()))
                .collect(),
            health: health_url(i),
            skipped: vm::not_started(i).or_else(|| downloads_at_start(i.entry)),
        })
        .collect()
}

fn health_url(i: &Instance) -> Option<String> {
    match (&i.entry.health, i.local_endpoint()) {
        (Some(path), Some(endpoint)) => Some(format!("{endpoint}{path}")),
        _ => None,
    }
}

/// A container image is pulled when its unit starts; the check's sandbox
/// has no network, so the test cannot wait for it (`build-vm` can).
fn downloads_at_start(entry: &Entry) -> Option<String> {
    entry
        .module
        .starts_with("virtualisation.oci-containers")
        .then(|| "pulls its container image at start, which the sandbox of a check cannot".into())
}

fn unit_name(u: &str) -> String {
    if u.contains('.') {
        u.to_string()
    } else {
        format!("{u}.service")
    }
}

/// The test driver's Python name of a node (its `pythonize_name`:
/// `re.sub(r"^[^A-z_]|[^A-z0-9_]", "_", name)`).
pub fn python_name(host: &str) -> String {
    host.chars()
        .enumerate()
        .map(|(n, c)| {
            let keeps = c.is_ascii_alphabetic() || c == '_' || (n > 0 && c.is_ascii_digit());
            if keeps { c } else { '_' }
        })
        .collect()
}

/// A Python string literal (JSON's escapes are Python's).
fn py(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// The test script: flat statements, one per line.
pub fn script(fleet: &Fleet, host: &HostPlan) -> Vec<String> {
    let m = python_name(host.name());
    let mut out = vec![
        "import shlex".to_string(),
        format!(
            "probe = lambda url: \"test \\\"$(\" + curl + \" --silent --output /dev/null --write-out '%{{http_code}}' --max-time 10 \" + shlex.quote(url) + \")\\\" = 200\""
        ),
        format!("{m}.start()"),
        format!("{m}.wait_for_unit(\"multi-user.target\")"),
    ];
    for (infra, unit) in INFRA_UNITS {
        if host.runs(infra) {
            out.push(format!("{m}.wait_for_unit({})", py(unit)));
        }
    }
    for p in probes(fleet, host) {
        if let Some(why) = &p.skipped {
            out.push(format!("# {}: {why}; not waited for", p.service));
            continue;
        }
        for unit in &p.units {
            out.push(format!("{m}.wait_for_unit({})", py(unit)));
        }
        if let Some(url) = &p.health {
            out.push(format!(
                "{m}.wait_until_succeeds(probe({}), timeout={HEALTH_TIMEOUT_SECONDS})",
                py(url)
            ));
        }
    }
    out
}

/// `hosts/<h>/vm-test.nix`: `{ pkgs, inputs }: pkgs.testers.runNixOSTest {…}`.
pub fn file(fleet: &Fleet, host: &HostPlan, modules: Vec<Nix>) -> File {
    let name = host.name();
    let mut test = Attrs::new();
    test.insert("name".into(), Nix::str(format!("{name}-vm")));
    set(&mut test, &["node", "pkgsReadOnly"], false);
    set(
        &mut test,
        &["node", "specialArgs", "inputs"],
        Nix::raw("inputs"),
    );
    let mut imports = modules;
    imports.push(Nix::Path("./.".into()));
    imports.push(Nix::Path("./vm.nix".into()));
    set(&mut test, &["nodes", name, "imports"], Nix::List(imports));
    let mut text = String::from("curl = \"");
    let mut parts = vec![];
    parts.push(Nix::str(std::mem::take(&mut text)));
    parts.push(Nix::raw("pkgs.curl"));
    let mut rest = String::from("/bin/curl\"\n");
    for l in script(fleet, host) {
        rest.push_str(&l);
        rest.push('\n');
    }
    parts.push(Nix::str(rest));
    test.insert("testScript".into(), Nix::Interp(parts));
    let value = Nix::Lambda {
        formals: vec!["pkgs".into(), "inputs".into()],
        ellipsis: false,
        at: None,
        body: Box::new(Nix::call(
            "pkgs.testers.runNixOSTest",
            vec![Nix::Attrs(test)],
        )),
    };
    let mut file = File::tool(format!("hosts/{name}/vm-test.nix"), value);
    file.comment = Some(format!(
        "The VM test of {name}: `nix flake check` (or `nix build .#checks.{}.{name}-vm`)\nboots this host with vm.nix and waits for every service and health endpoint.",
        host.spec.system.value
    ));
    file
}

#[cfg(test)]
mod tests {
    use super::python_name;

    #[test]
    fn node_names_become_python_names_as_the_driver_makes_them() {
        assert_eq!(python_name("nas-1"), "nas_1");
        assert_eq!(python_name("nuc.server"), "nuc_server");
        assert_eq!(python_name("forge"), "forge");
        assert_eq!(python_name("1u-rack"), "_u_rack");
    }
}
