//! Every catalog service, placed alone (with what it depends on) on a
//! one-host spec, checks clean and renders a service file that, with the
//! rest of its host's files, sets every option its NixOS module requires
//! (declared without a default in the option index), and binds the service
//! to 127.0.0.1 through the option the entry names, or says why it cannot.
//! Every file of the host uses only indexed option paths with values of
//! their option's type, and the service
//! and infrastructure files parse with the real Nix parser.

#[path = "support/option_types.rs"]
mod option_types;
mod support;

use compile::catalog::{Entry, Kind, catalog, get};
use compile::nix::{Attrs, Nix, split_path};
use option_types::TypeIndex;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use support::nixos_options::Index;

/// A digest for the spec to pin container images with; the test checks
/// the wiring, nothing pulls it.
const TEST_DIGEST: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The device a host lists for a kind an entry asks for.
fn device_for(kind: &str) -> &'static str {
    match kind {
        "gpu" => "gpu-intel",
        "coral" => "coral-usb",
        "zigbee" => "zigbee-usb",
        "zwave" => "zwave-usb",
        other => panic!("no device for `{other}`"),
    }
}

/// The entry and every service it needs to check clean: its service
/// dependencies and a provider of each role it needs, transitively.
fn with_requirements(entry: &'static Entry) -> Vec<&'static Entry> {
    let mut out: Vec<&'static Entry> = Vec::new();
    let mut todo = vec![entry];
    while let Some(e) = todo.pop() {
        if out.iter().any(|x| x.name == e.name) {
            continue;
        }
        out.push(e);
        for dep in &e.depends {
            let d = get(dep).expect("dependency exists");
            if d.kind == Kind::Service {
                todo.push(d);
            }
        }
        for role in &e.needs {
            let provider = catalog()
                .values()
                .find(|p| p.kind == Kind::Service && p.provides.contains(role))
                .unwrap_or_else(|| panic!("no entry provides `{role}`"));
            todo.push(provider);
        }
    }
    out
}

/// A one-host spec running `entry` and what it needs.
fn spec_for(entry: &'static Entry) -> String {
    let services = with_requirements(entry);
    let mut devices: BTreeSet<&str> = BTreeSet::new();
    for e in &services {
        for kind in e.hardware.iter().chain(&e.optional_hardware) {
            devices.insert(device_for(kind));
        }
    }
    let hardware: Vec<String> = devices.iter().map(|d| format!("\"{d}\"")).collect();
    let mut text = format!(
        r#"[homelab]
name = "test"
domain = "example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKxvdSzfFbgBFW3wZmZjF3YqAb0H2kFyQ3wZjAfSLw+6 admin@laptop"]

[hosts.server]
address = "192.168.1.10"
ram_gb = 256
hardware = [{}]

[hosts.server.boot]
disk = "/dev/disk/by-id/nvme-test"

[hosts.server.pools.tank]
disks = ["/dev/disk/by-id/ata-test"]
size = "100T"

[access.proxy]
dns_provider = "cloudflare"
credentials_secret = "dns-token"

[backup]
repository = "s3:https://s3.example.org/test"
password_secret = "restic-password"
"#,
        hardware.join(", ")
    );
    let serial: Vec<&&str> = devices
        .iter()
        .filter(|d| d.ends_with("-usb") && !d.starts_with("coral"))
        .collect();
    if !serial.is_empty() {
        text.push_str("\n[hosts.server.devices]\n");
        for d in serial {
            text.push_str(&format!("{d} = \"/dev/serial/by-id/usb-test-{d}\"\n"));
        }
    }
    if services.iter().any(|e| e.vpn) {
        text.push_str("\n[access.vpn]\nwireguard_secret = \"wg-conf\"\n");
    }
    for e in &services {
        text.push_str(&format!("\n[services.{}]\n", e.name));
        if e.module
            .starts_with("virtualisation.oci-containers.containers.")
        {
            let image = e.nixos_image().expect("a container entry names its image");
            text.push_str(&format!(
                "\n[services.{}.nixos]\nimage = \"{image}@sha256:{TEST_DIGEST}\"\n",
                e.name
            ));
        }
    }
    text
}

/// Small helper trait: the image a container entry names.
trait ContainerImage {
    fn nixos_image(&self) -> Option<String>;
}

impl ContainerImage for Entry {
    fn nixos_image(&self) -> Option<String> {
        let mut t = &self.nixos;
        let parts = split_path(&self.module);
        for part in &parts {
            t = t.get(part)?.as_table()?;
        }
        t.get("image")?.as_str().map(str::to_string)
    }
}

/// Every assigned path of a module body, list elements numbered (`*0`).
fn assigned(prefix: &mut Vec<String>, v: &Nix, out: &mut Vec<(Vec<String>, Nix)>) {
    out.push((prefix.clone(), v.clone()));
    match v {
        Nix::Attrs(a) => {
            for (k, v) in a {
                for part in split_path(k) {
                    prefix.push(part);
                }
                let added = split_path(k).len();
                assigned(prefix, v, out);
                prefix.truncate(prefix.len() - added);
            }
        }
        Nix::List(items) => {
            for (n, item) in items.iter().enumerate() {
                prefix.push(format!("*{n}"));
                assigned(prefix, item, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn body_paths(body: &Attrs) -> Vec<(Vec<String>, Nix)> {
    let mut out = Vec::new();
    assigned(&mut Vec::new(), &Nix::Attrs(body.clone()), &mut out);
    out
}

/// An index pattern part matches a concrete path part: `<name>` any key,
/// `*` any list element.
fn part_matches(pattern: &str, part: &str) -> bool {
    if pattern == "*" {
        return part.starts_with('*');
    }
    if pattern.starts_with('<') && pattern.ends_with('>') {
        return !part.starts_with('*');
    }
    pattern == part
}

fn matches(pattern: &[String], path: &[String]) -> bool {
    pattern.len() == path.len() && pattern.iter().zip(path).all(|(p, k)| part_matches(p, k))
}

/// The index: options declared without a default, and every option, as
/// path patterns.
fn index_options() -> (Vec<Vec<String>>, BTreeSet<Vec<String>>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut required = Vec::new();
    let mut all = BTreeSet::new();
    for dir in [root.join("nixos-options")] {
        let Ok(files) = std::fs::read_dir(&dir) else {
            continue;
        };
        for file in files {
            let path = file.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let json: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for o in json["options"].as_array().into_iter().flatten() {
                let Some(p) = o["path"].as_str() else {
                    continue;
                };
                if o["required"].as_bool() == Some(true) {
                    required.push(split_path(p));
                }
                all.insert(split_path(p));
            }
        }
    }
    required.sort();
    required.dedup();
    (required, all)
}

/// The required options `body` leaves unset. An option without `<name>` or
/// `*` is required when it lies below the entry's module; one inside a
/// submodule is required in every instance of that submodule the body sets.
fn unset_required(
    entry: &Entry,
    body: &[(Vec<String>, Nix)],
    required: &[Vec<String>],
    options: &BTreeSet<Vec<String>>,
) -> Vec<String> {
    let module = split_path(&entry.module);
    let mut out = Vec::new();
    for pattern in required {
        let wildcard = pattern
            .iter()
            .rposition(|p| p == "*" || (p.starts_with('<') && p.ends_with('>')));
        match wildcard {
            None => {
                // Inside a group with its own `enable` (an S3 object store),
                // an option is read only when the group is enabled.
                let mut switch = pattern[..pattern.len() - 1].to_vec();
                switch.push("enable".into());
                let group_off = switch.len() > module.len() + 1
                    && options.contains(&switch)
                    && !body
                        .iter()
                        .any(|(p, v)| p == &switch && *v == Nix::Bool(true));
                if pattern.starts_with(&module)
                    && !group_off
                    && !body.iter().any(|(p, _)| p == pattern)
                {
                    out.push(pattern.join("."));
                }
            }
            Some(w) => {
                let parent = &pattern[..=w];
                for (instance, _) in body.iter().filter(|(p, _)| matches(parent, p)) {
                    let mut want = instance.clone();
                    want.extend_from_slice(&pattern[w + 1..]);
                    if !body.iter().any(|(p, _)| p == &want) {
                        out.push(want.join("."));
                    }
                }
            }
        }
    }
    out
}

/// The values at the entry's bind option (every list element for `*`).
fn bind_values<'b>(bind: &str, body: &'b [(Vec<String>, Nix)]) -> Vec<&'b Nix> {
    let pattern = split_path(bind);
    body.iter()
        .filter(|(p, _)| matches(&pattern, p))
        .map(|(_, v)| v)
        .collect()
}

/// An address (`127.0.0.1`), an address with its port (`127.0.0.1:8428`),
/// or a flag that sets one (`--server.http.listen-addr=127.0.0.1:12345`).
fn is_localhost(v: &Nix) -> bool {
    match v {
        Nix::Str(s) => s == "127.0.0.1" || s.starts_with("127.0.0.1:") || s.contains("=127.0.0.1:"),
        // A list of addresses, or of flags: one binds to localhost and
        // none to every address.
        Nix::List(items) => {
            items.iter().any(is_localhost)
                && !items.iter().any(
                    |i| matches!(i, Nix::Str(s) if s.contains("0.0.0.0") || s.contains("[::]")),
                )
        }
        _ => false,
    }
}

#[test]
fn every_service_sets_required_options_and_binds_to_localhost() {
    let (required, options) = index_options();
    assert!(
        required
            .iter()
            .any(|p| p.join(".") == "services.zwave-js-ui.serialPort"),
        "the index marks options without a default"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let index = Index::load(&[root.join("nixos-options").as_path()]);
    let types = TypeIndex::load(&[root.join("nixos-options").as_path()]);
    let scratch = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let mut checked = 0;
    for entry in catalog().values().filter(|e| e.kind == Kind::Service) {
        let spec = spec_for(entry);
        let fleet = match compile::compile(&spec) {
            Ok((fleet, _warnings)) => fleet,
            Err(diags) => {
                let errors: Vec<String> = diags
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| format!("{}: {}", d.code, d.message))
                    .collect();
                problems.push(format!(
                    "{}: the one-host spec does not check: {errors:?}",
                    entry.name
                ));
                continue;
            }
        };
        let files = compile::render::render(&fleet);
        let path = format!("hosts/server/services/{}.nix", entry.name);
        let file = files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{} renders {path}", entry.name));
        for f in files.iter().filter(|f| f.path.starts_with("hosts/server/")) {
            if let Some(body) = f.module_body() {
                for m in types.check(body).mismatches {
                    problems.push(format!(
                        "{}: {}: `{}` has the wrong type: {}",
                        entry.name, f.path, m.path, m.why
                    ));
                }
                for unknown in index.unknown_paths(body) {
                    problems.push(format!(
                        "{}: {}: `{unknown}` is not in the option index",
                        entry.name, f.path
                    ));
                }
            }
        }
        for f in [
            file,
            files
                .iter()
                .find(|f| f.path == "hosts/server/infrastructure.nix")
                .unwrap(),
        ] {
            if let Err(e) = parses(&scratch.path().join("module.nix"), &f.text()) {
                problems.push(format!("{}: {} does not parse: {e}", entry.name, f.path));
            }
        }
        let body = body_paths(file.module_body().expect("a service file is a module"));
        // The module system merges the host's files: a submodule the
        // service file opens may be completed in another one.
        let host: Vec<(Vec<String>, Nix)> = files
            .iter()
            .filter(|f| f.path.starts_with("hosts/server/"))
            .filter_map(|f| f.module_body())
            .flat_map(body_paths)
            .collect();
        for option in unset_required(entry, &body, &required, &options)
            .into_iter()
            .filter(|o| !host.iter().any(|(p, _)| p.join(".") == *o))
        {
            problems.push(format!(
                "{}: required option `{option}` is not set",
                entry.name
            ));
        }
        match (&entry.bind, &entry.bind_exception) {
            (Some(bind), _) => {
                let values = bind_values(bind, &body);
                if values.is_empty() || !values.iter().all(|v| is_localhost(v)) {
                    problems.push(format!(
                        "{}: `{bind}` should be 127.0.0.1, is {values:?}",
                        entry.name
                    ));
                }
            }
            (None, Some(_)) => {}
            (None, None) if entry.port.is_none() => {}
            (None, None) => problems.push(format!(
                "{}: names neither the option that binds it (`bind`) nor why it cannot (`bind_exception`)",
                entry.name
            )),
        }
        checked += 1;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 40, "only {checked} services were checked");
}

/// The real Nix parser on one generated file.
fn parses(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).unwrap();
    let out = Command::new("nix-instantiate")
        .arg("--parse")
        .arg(path)
        .output()
        .expect("nix-instantiate runs (install Debian's nix-bin)");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The test's own matcher: a required option inside a list element is
/// required in every element the body sets, and an unset one is found.
#[test]
fn a_required_option_in_a_list_element_is_found_unset() {
    let entry = get("mosquitto").unwrap();
    let mut listener = Attrs::new();
    listener.insert("port".into(), Nix::Int(1883));
    let mut plugin = Attrs::new();
    plugin.insert("denySpecialChars".into(), Nix::Bool(true));
    listener.insert("authPlugins".into(), Nix::List(vec![Nix::Attrs(plugin)]));
    let mut body = Attrs::new();
    body.insert(
        "services.mosquitto.listeners".into(),
        Nix::List(vec![Nix::Attrs(listener)]),
    );
    let (required, options) = index_options();
    let missing = unset_required(entry, &body_paths(&body), &required, &options);
    assert_eq!(
        missing,
        vec!["services.mosquitto.listeners.*0.authPlugins.*0.plugin".to_string()]
    );
}

/// An option of a group with its own `enable` is required only when the
/// group is enabled: Nextcloud's S3 bucket.
#[test]
fn a_required_option_of_a_disabled_group_is_not_required() {
    let entry = get("nextcloud").unwrap();
    let (required, options) = index_options();
    let bucket = "services.nextcloud.config.objectstore.s3.bucket".to_string();
    let mut body = Attrs::new();
    body.insert("services.nextcloud.enable".into(), Nix::Bool(true));
    let missing = unset_required(entry, &body_paths(&body), &required, &options);
    assert!(!missing.contains(&bucket), "{missing:?}");
    body.insert(
        "services.nextcloud.config.objectstore.s3.enable".into(),
        Nix::Bool(true),
    );
    let missing = unset_required(entry, &body_paths(&body), &required, &options);
    assert!(missing.contains(&bucket), "{missing:?}");
}
