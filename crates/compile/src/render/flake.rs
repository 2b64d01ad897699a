//! `flake.nix`: every input pinned to the commit in
//! `nixos-options/release.json` (the revision the option facts describe),
//! one `nixosConfigurations.<host>` and one deploy-rs node per host.

use super::File;
use crate::fleet::Fleet;
use crate::nix::{Attrs, Nix, set};

/// The `homelab` flake the hosts install: the spec's `homelab_flake` (a
/// fork, a local clone), or the one `homelab build` chose
/// ([`crate::spec::Homelab::use_homelab_flake`]); else the release tag of
/// the version that generated this flake, so the tool on the hosts reads
/// the plans it wrote. (`build` never leaves it at the tag while no
/// release is published: it names a source that exists.)
pub(crate) fn homelab_flake(fleet: &Fleet) -> String {
    match &fleet.homelab.homelab_flake {
        Some(url) => url.value.clone(),
        None => release_flake(),
    }
}

/// `github:<owner>/<repo>/v<version>`, from the workspace's `repository`.
pub(crate) fn release_flake() -> String {
    let repository = env!("CARGO_PKG_REPOSITORY");
    let path = repository
        .strip_prefix("https://github.com/")
        .expect("the workspace `repository` is a GitHub URL");
    format!("github:{path}/v{}", env!("CARGO_PKG_VERSION"))
}

/// Inputs whose own flake has a `nixpkgs` input, made to use ours (one
/// nixpkgs in the closure). Read from each flake's `flake.nix` at the
/// pinned commit.
const FOLLOWS_NIXPKGS: [&str; 3] = ["agenix", "disko", "deploy-rs"];

/// deploy-rs's checks of every system, and `<host>-vm`, the NixOS VM test
/// of each host (`hosts/<h>/vm-test.nix`), under the host's system.
fn checks(fleet: &Fleet) -> Nix {
    let mut vm = Attrs::new();
    for host in &fleet.hosts {
        let name = host.name();
        let system = &host.spec.system.value;
        let mut args = Attrs::new();
        args.insert(
            "pkgs".into(),
            Nix::select("nixpkgs", ["legacyPackages", system]),
        );
        args.insert("inputs".into(), Nix::raw("inputs"));
        let test = Nix::apply(
            Nix::raw("import"),
            vec![
                Nix::Path(format!("./hosts/{name}/vm-test.nix")),
                Nix::Attrs(args),
            ],
        );
        set(&mut vm, &[system, &format!("{name}-vm")], test);
    }
    Nix::call(
        "nixpkgs.lib.recursiveUpdate",
        vec![
            Nix::raw(
                "builtins.mapAttrs (system: deployLib: deployLib.deployChecks self.deploy) deploy-rs.lib",
            ),
            Nix::Attrs(vm),
        ],
    )
}

/// The flake inputs' modules a host imports besides its own folder, as
/// `inputs.<name>…` (for files outside `flake.nix`, where only `inputs`
/// is in scope).
pub(crate) fn input_modules(fleet: &Fleet, host: &crate::fleet::HostPlan) -> Vec<Nix> {
    let mut modules = vec![
        Nix::raw("inputs.agenix.nixosModules.default"),
        Nix::raw("inputs.disko.nixosModules.disko"),
        Nix::raw("inputs.homelab.nixosModules.default"),
    ];
    if super::media::confines(fleet, host) {
        modules.push(Nix::raw("inputs.vpn-confinement.nixosModules.default"));
    }
    modules
}

pub fn flake(fleet: &Fleet) -> File {
    let release = crate::release::release();
    let mut inputs = Attrs::new();
    set(&mut inputs, &["nixpkgs", "url"], release.nixpkgs_url());
    // VPN-Confinement only when a host confines a service to the VPN.
    let confining = fleet.hosts.iter().any(|h| super::media::confines(fleet, h));
    let mut extra_inputs = vec!["agenix", "disko", "deploy-rs"];
    if confining {
        extra_inputs.push("vpn-confinement");
    }
    for name in extra_inputs {
        let url = release
            .input_url(name)
            .unwrap_or_else(|| panic!("nixos-options/release.json pins `{name}`"));
        set(&mut inputs, &[name, "url"], url);
        // VPN-Confinement's flake has no inputs: nothing to follow.
        if FOLLOWS_NIXPKGS.contains(&name) {
            set(
                &mut inputs,
                &[name, "inputs", "nixpkgs", "follows"],
                "nixpkgs",
            );
        }
    }

    // The hosts install `homelab` itself (backups, drills, preseed).
    set(&mut inputs, &["homelab", "url"], homelab_flake(fleet));
    set(
        &mut inputs,
        &["homelab", "inputs", "nixpkgs", "follows"],
        "nixpkgs",
    );

    let mut outputs = Attrs::new();
    for host in &fleet.hosts {
        let name = host.name();
        let mut system = Attrs::new();
        set(&mut system, &["specialArgs", "inputs"], Nix::raw("inputs"));
        let mut modules = vec![
            Nix::raw("agenix.nixosModules.default"),
            Nix::raw("disko.nixosModules.disko"),
            // The `homelab` package and its option, for the backup, drill
            // and preseed units of `operations.nix`.
            Nix::raw("homelab.nixosModules.default"),
        ];
        if super::media::confines(fleet, host) {
            modules.push(Nix::raw("inputs.vpn-confinement.nixosModules.default"));
        }
        modules.push(Nix::Path(format!("./hosts/{name}")));
        system.insert("modules".into(), Nix::List(modules));
        set(
            &mut outputs,
            &["nixosConfigurations", name],
            Nix::call("nixpkgs.lib.nixosSystem", vec![Nix::Attrs(system)]),
        );

        let mut node = Attrs::new();
        node.insert("hostname".into(), Nix::str(&host.spec.address.value));
        node.insert("sshUser".into(), Nix::str(&fleet.homelab.admin_user.value));
        set(&mut node, &["profiles", "system", "user"], "root");
        set(
            &mut node,
            &["profiles", "system", "path"],
            Nix::apply(
                Nix::select(
                    "deploy-rs",
                    ["lib", &host.spec.system.value, "activate", "nixos"],
                ),
                vec![Nix::select("self", ["nixosConfigurations", name])],
            ),
        );
        set(&mut outputs, &["deploy", "nodes", name], Nix::Attrs(node));
    }
    outputs.insert("checks".into(), checks(fleet));

    let mut flake = Attrs::new();
    flake.insert(
        "description".into(),
        Nix::str(format!("The {} homelab", fleet.homelab.name.value)),
    );
    flake.insert("inputs".into(), Nix::Attrs(inputs));
    flake.insert(
        "outputs".into(),
        Nix::Lambda {
            formals: ["self", "nixpkgs", "agenix", "disko", "deploy-rs", "homelab"]
                .map(String::from)
                .to_vec(),
            ellipsis: true,
            at: Some("inputs".into()),
            body: Box::new(Nix::Attrs(outputs)),
        },
    );
    File::tool("flake.nix", Nix::Attrs(flake))
}
