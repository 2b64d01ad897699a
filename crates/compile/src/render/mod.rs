//! Stage 5: render. Fleet → Nix values → the files of the generated flake.
//!
//! The layout follows the contribution pattern: `hosts/<h>/services/<s>.nix`
//! holds a service and everything it contributes (dataset, backup paths,
//! proxy route, status check, dashboard entry, database, secrets), so a
//! reader finds all of a service in one file; `core.nix` and
//! `infrastructure.nix` hold what the host needs whatever it runs.

mod alerts;
mod core;
mod datasets;
mod devices;
mod disko;
mod flake;
mod gatus;
mod grafana;
mod hardware;
mod heartbeats;
mod infrastructure;
mod media;
mod nas;
mod operations;
mod reach;
mod replication;
mod scrape;
mod secrets;
mod segments;
mod service;
mod sso;
mod sso_gateway;
mod timers;
pub mod vm;
pub(crate) mod vm_secrets;
pub mod vm_test;
mod watch;
mod wiring;

use crate::fleet::{Fleet, HostPlan};
use crate::nix::{self, Attrs, Nix};

/// Who owns a file of the flake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Rewritten on every build; hand edits are detected and refused.
    Tool,
    /// Written once when missing, never touched again.
    User,
}

/// One file of the generated flake.
#[derive(Debug, Clone)]
pub struct File {
    /// Relative path with `/` separators.
    pub path: String,
    pub owner: Owner,
    pub value: Nix,
    /// A comment printed above the value (without `#`).
    pub comment: Option<String>,
}

impl File {
    fn tool(path: impl Into<String>, value: Nix) -> File {
        File {
            path: path.into(),
            owner: Owner::Tool,
            value,
            comment: None,
        }
    }

    /// The module body, for files that are NixOS modules.
    pub fn module_body(&self) -> Option<&Attrs> {
        match &self.value {
            Nix::Lambda { body, .. } => match body.as_ref() {
                Nix::Attrs(a) => Some(a),
                Nix::Let { body, .. } => match body.as_ref() {
                    Nix::Attrs(a) => Some(a),
                    _ => None,
                },
                _ => None,
            },
            Nix::Attrs(a) if self.path.starts_with("hosts/") => Some(a),
            _ => None,
        }
    }

    /// Whether the file is JSON data (the host plan) rather than Nix.
    pub fn is_json(&self) -> bool {
        self.path.ends_with(".json")
    }

    /// The file's text: its comment, then the printed value.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(c) = &self.comment {
            for line in c.lines() {
                out.push_str(if line.is_empty() { "#" } else { "# " });
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push_str(&nix::print(&self.value));
        out
    }
}

/// Renders the whole flake, in a fixed order.
pub fn render(fleet: &Fleet) -> Vec<File> {
    let mut files = vec![flake::flake(fleet), secrets::recipients(fleet)];
    for host in &fleet.hosts {
        files.extend(host_files(fleet, host));
    }
    files
}

fn host_files(fleet: &Fleet, host: &HostPlan) -> Vec<File> {
    let dir = format!("hosts/{}", host.name());
    let services: Vec<_> = fleet.instances_on(host.name()).collect();
    let mut imports = vec![
        Nix::Path("./hardware.nix".into()),
        Nix::Path("./extra.nix".into()),
        Nix::Path("./core.nix".into()),
        Nix::Path("./infrastructure.nix".into()),
        Nix::Path("./disko.nix".into()),
    ];
    let wiring = wiring::wiring(fleet, host);
    if !wiring.is_empty() {
        imports.push(Nix::Path("./wiring.nix".into()));
    }
    let segments = segments::segments(fleet, host);
    if !segments.is_empty() {
        imports.push(Nix::Path("./segments.nix".into()));
    }
    let operations = operations::operations(fleet, host);
    if operations.is_some() {
        imports.push(Nix::Path("./operations.nix".into()));
    }
    let alerts = alerts::host_alerts(fleet, host);
    if !alerts.is_empty() {
        imports.push(Nix::Path("./alerts.nix".into()));
    }
    imports.extend(
        services
            .iter()
            .map(|i| Nix::Path(format!("./services/{}.nix", i.name.value))),
    );
    let mut default = Attrs::new();
    default.insert("imports".into(), Nix::List(imports));
    // The operating commands on the host read the plan from here.
    nix::set(
        &mut default,
        &["environment", "etc", "homelab/plan.json", "source"],
        Nix::Path("./plan.json".into()),
    );
    // `nixos-rebuild build-vm`: the host with vm.nix, a serial console and
    // SSH and HTTPS forwarded to the user's machine (docs/testing.md).
    nix::set(
        &mut default,
        &["virtualisation", "vmVariant"],
        Nix::Attrs(vm_variant()),
    );

    let mut files = vec![
        File::tool(format!("{dir}/default.nix"), Nix::Attrs(default)),
        File::tool(
            format!("{dir}/core.nix"),
            Nix::module(core::core(fleet, host)),
        ),
        File::tool(
            format!("{dir}/infrastructure.nix"),
            Nix::module(infrastructure::infrastructure(fleet, host)),
        ),
        File::tool(format!("{dir}/disko.nix"), Nix::module(disko::disko(host))),
    ];
    if !wiring.is_empty() {
        files.push(File::tool(format!("{dir}/wiring.nix"), Nix::module(wiring)));
    }
    if !segments.is_empty() {
        files.push(File::tool(
            format!("{dir}/segments.nix"),
            Nix::module(segments),
        ));
    }
    if let Some(body) = operations {
        files.push(File::tool(
            format!("{dir}/operations.nix"),
            operations_module(body),
        ));
    }
    if !alerts.is_empty() {
        files.push(File::tool(format!("{dir}/alerts.nix"), Nix::module(alerts)));
    }
    files.extend(alerts::rules_file(fleet, host));
    for i in services {
        files.push(File::tool(
            format!("{dir}/services/{}.nix", i.name.value),
            Nix::module(service::service(fleet, host, i)),
        ));
    }
    files.push(plan_file(fleet, host, &dir));
    files.push(File::tool(
        format!("{dir}/vm.nix"),
        Nix::module_with(vm::bindings(fleet, host), vm::module(fleet, host)),
    ));
    files.push(vm_secrets::file(fleet, host));
    files.push(vm_test::file(
        fleet,
        host,
        flake::input_modules(fleet, host),
    ));
    files.push(hardware::hardware(host));
    files.push(user_file(
        format!("{dir}/extra.nix"),
        "Hand-written NixOS settings for this host.\nThis file is yours: homelab created it once and never rewrites it.",
    ));
    files
}

/// Host ports of `build-vm`'s forwards (loopback only): SSH and HTTPS.
pub(crate) const VM_FORWARDS: [(u16, u16); 2] = [(2222, 22), (8443, 443)];

/// `virtualisation.vmVariant` of `default.nix`.
fn vm_variant() -> Attrs {
    let mut v = Attrs::new();
    v.insert(
        "imports".into(),
        Nix::List(vec![Nix::Path("./vm.nix".into())]),
    );
    nix::set(&mut v, &["virtualisation", "graphics"], false);
    let forwards = VM_FORWARDS.iter().map(|(from, to)| {
        let mut f = Attrs::new();
        nix::set(&mut f, &["from"], "host");
        nix::set(&mut f, &["host", "address"], "127.0.0.1");
        nix::set(&mut f, &["host", "port"], *from);
        nix::set(&mut f, &["guest", "port"], *to);
        Nix::Attrs(f)
    });
    nix::set(
        &mut v,
        &["virtualisation", "forwardPorts"],
        Nix::List(forwards.collect()),
    );
    v
}

/// A module that also takes the flake's `inputs` (the `homelab` package).
fn operations_module(body: Attrs) -> Nix {
    Nix::Lambda {
        formals: ["config", "lib", "pkgs", "inputs"]
            .map(String::from)
            .to_vec(),
        ellipsis: true,
        at: None,
        body: Box::new(Nix::Attrs(body)),
    }
}

/// `plan.json`: JSON, so it carries no comment header (see `File::text`).
fn plan_file(fleet: &Fleet, host: &HostPlan, dir: &str) -> File {
    let plan = crate::plan::plan(fleet, host);
    File::tool(
        format!("{dir}/plan.json"),
        Nix::raw(crate::plan::to_json(&plan)),
    )
}

fn user_file(path: String, comment: &str) -> File {
    File {
        path,
        owner: Owner::User,
        value: Nix::module(Attrs::new()),
        comment: Some(comment.to_string()),
    }
}
