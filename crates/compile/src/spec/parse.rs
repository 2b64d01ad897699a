//! Decodes `homelab.toml` into a [`Spec`], reporting every problem at once.

use super::grammar::{self, Grammar};
use super::model::*;
use super::reader::{Sink, Sp, Table, type_name};
use crate::diagnostic::{Diagnostic, Span, line_col, name_list};
use toml::de::{DeTable, DeValue};

/// Parses and validates the spec text. On any error, returns every
/// diagnostic found (and no spec), in the order found: `analyze` sorts.
pub fn parse(text: &str) -> Result<Spec, Vec<Diagnostic>> {
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => return Err(vec![syntax_error(&e, text)]),
    };
    let mut sink = Sink::default();
    grammar::no_nul(doc.get_ref(), &mut sink);
    let mut root = Table::new(doc.get_ref(), 0..0, "");
    let spec = decode(&mut root, &mut sink, text);
    root.finish(&mut sink);
    match spec {
        Some(spec) if sink.diags.is_empty() => Ok(spec),
        _ => Err(sink.diags),
    }
}

fn syntax_error(e: &toml::de::Error, text: &str) -> Diagnostic {
    let span = e.span().unwrap_or(0..0);
    let start = span.start.min(text.len());
    // Point at one character so the caret sits where the parser stopped.
    let end = text[start..]
        .chars()
        .next()
        .filter(|c| *c != '\n' && *c != '\r')
        .map_or(start, |c| start + c.len_utf8());
    let message = e.message().trim().trim_end_matches('.').to_string();
    let d = Diagnostic::error("syntax", "the spec is not valid TOML").at(start..end, &message);
    if message.starts_with("duplicate key") {
        return duplicate(d, text, start);
    }
    let help = if message.contains("must be quoted") {
        "text values need double quotes: `name = \"home\"`; sizes too: `quota = \"500G\"`"
    } else if message.contains("basic string") || message.contains("literal string") {
        "close the string on the same line; multi-line text goes between `\"\"\"` and `\"\"\"`"
    } else if message.contains("expected `=`") {
        "every key needs a value: `key = value`"
    } else if message.contains("expected newline") {
        "one `key = value` per line"
    } else if message.starts_with("unclosed array") {
        "close the array with `]`; it may span lines until then"
    } else if message.starts_with("unclosed") {
        "close the bracket"
    } else {
        "see https://toml.io for the syntax, and docs/spec.md for the keys of homelab.toml"
    };
    d.help(help)
}

/// A duplicate key or table: also point at its first occurrence, found by
/// the text of the line (a table header, or a key within the same table).
fn duplicate(d: Diagnostic, text: &str, at: usize) -> Diagnostic {
    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    let line = text[line_start..].lines().next().unwrap_or("").trim();
    let is_header = line.starts_with('[');
    let key = if is_header {
        line.split('#').next().unwrap_or("").trim()
    } else {
        line.split('=').next().unwrap_or("").trim()
    };
    let mut offset = 0;
    let mut first = None;
    for l in text[..line_start].split_inclusive('\n') {
        let t = l.trim();
        let this = if is_header {
            t.split('#').next().unwrap_or("").trim()
        } else {
            if t.starts_with('[') {
                first = None; // another table: an earlier same key is fine
            }
            t.split('=').next().unwrap_or("").trim()
        };
        if !key.is_empty() && this == key {
            let indent = l.len() - l.trim_start().len();
            first = Some(offset + indent..offset + indent + key.len());
        }
        offset += l.len();
    }
    let (first_note, help) = if is_header {
        (
            "first opened here",
            "a table may be opened once; merge the two into one",
        )
    } else {
        (
            "first set here",
            "a key may be set once per table; keep one of them",
        )
    };
    let d = match first {
        Some(span) => d.also(span, first_note),
        None => d,
    };
    d.help(help)
}

/// The keys of `[homelab]`, to recognise them written above any table.
const HOMELAB_KEYS: [&str; 8] = [
    "name",
    "domain",
    "internal_domain",
    "timezone",
    "admin_email",
    "admin_user",
    "admin_keys",
    "homelab_flake",
];

fn decode(root: &mut Table, sink: &mut Sink, root_text: &str) -> Option<Spec> {
    let homelab = match root.table(sink, "homelab") {
        Some(mut t) => {
            let h = homelab(&mut t, sink);
            t.finish(sink);
            h
        }
        None => {
            // Settings written above any table: the header was forgotten.
            let stray: Vec<(&str, Span)> = HOMELAB_KEYS
                .iter()
                .filter_map(|k| root.key_span(k).map(|span| (*k, span)))
                .collect();
            if let Some(first) = stray.iter().map(|(_, s)| s.clone()).min_by_key(|s| s.start) {
                let (line, _) = line_col(root_text, first.start);
                let names: Vec<&str> = stray.iter().map(|(k, _)| *k).collect();
                sink.push(
                    Diagnostic::error("missing-key", "the spec has no `[homelab]` table")
                        .at(
                            first,
                            format!("{} belong in `[homelab]`", name_list(&names)),
                        )
                        .help(format!("add a line `[homelab]` above line {line}")),
                );
            } else {
                sink.push(
                    Diagnostic::error("missing-key", "the spec has no `[homelab]` table")
                        .at(
                            0..0,
                            "expected `[homelab]` with the name, domains and time zone",
                        )
                        .help("run `homelab init` for a commented starter spec"),
                );
            }
            None
        }
    };

    let mut hosts = Vec::new();
    for (name, mut t) in root.named_tables(sink, "hosts") {
        dns_label(sink, &name, "host name");
        if let Some(h) = host(name, &mut t, sink) {
            hosts.push(h);
        }
        t.finish(sink);
    }

    let mut services = Vec::new();
    for (name, mut t) in root.named_tables(sink, "services") {
        if let Some(s) = service(name, &mut t, sink) {
            services.push(s);
        }
        t.finish(sink);
    }

    let access = match root.table(sink, "access") {
        Some(mut t) => {
            let a = access(&mut t, sink);
            t.finish(sink);
            a
        }
        None => Access::default(),
    };

    let backup = root.table(sink, "backup").and_then(|mut t| {
        let b = backup(&mut t, sink);
        t.finish(sink);
        b
    });

    let mut secrets = Vec::new();
    for (name, mut t) in root.named_tables(sink, "secrets") {
        secret_name(sink, &name);
        let owner = t.str(sink, "owner");
        checked(sink, &grammar::USER_NAME, &owner);
        secrets.push(SecretSpec {
            name,
            owner,
            hosts: t.str_list(sink, "hosts").unwrap_or_default(),
        });
        t.finish(sink);
    }

    let media = match root.table(sink, "media") {
        Some(mut t) => {
            let m = super::media::media(&mut t, sink);
            t.finish(sink);
            m
        }
        None => Media::default(),
    };

    let mut external = Vec::new();
    for (name, mut t) in root.named_tables(sink, "external") {
        dns_label(sink, &name, "host name");
        if let Some(e) = super::external::external(name, &mut t, sink) {
            external.push(e);
        }
        t.finish(sink);
    }

    let alerts = root.table(sink, "alerts").and_then(|mut t| {
        let a = super::alerts::alerts(&mut t, sink, homelab.as_ref());
        t.finish(sink);
        a
    });

    let status = match root.table(sink, "status") {
        Some(mut t) => {
            let s = super::status::status(&mut t, sink);
            t.finish(sink);
            s
        }
        None => Status::default(),
    };

    let network = match root.table(sink, "network") {
        Some(mut t) => {
            let n = super::network::network(&mut t, sink);
            t.finish(sink);
            n
        }
        None => Network::default(),
    };

    let deploy = match root.table(sink, "deploy") {
        Some(mut t) => {
            let d = super::deploy::deploy(&mut t, sink);
            t.finish(sink);
            d
        }
        None => Deploy::default(),
    };

    Some(Spec {
        homelab: homelab?,
        alerts,
        status,
        deploy,
        network,
        external,
        hosts,
        services,
        access,
        backup,
        secrets,
        media,
    })
}

fn homelab(t: &mut Table, sink: &mut Sink) -> Option<Homelab> {
    let name = t.req_str(sink, "name", "\"home\"");
    let domain = t.req_str(sink, "domain", "\"example.org\"");
    let internal_domain = t.str(sink, "internal_domain");
    let timezone = t.req_str(sink, "timezone", "\"Europe/Prague\"");
    let admin_email = t.req_str(sink, "admin_email", "\"you@example.org\"");
    let admin_user = t.str(sink, "admin_user");
    let admin_keys = t.str_list(sink, "admin_keys").unwrap_or_default();
    let homelab_flake = t.str(sink, "homelab_flake");
    checked(sink, &grammar::FLAKE_REF, &homelab_flake);
    if let Some(n) = &name {
        dns_label(sink, n, "homelab name");
    }
    for d in [&domain, &internal_domain].into_iter().flatten() {
        domain_name(sink, d);
    }
    if let Some(tz) = &timezone {
        time_zone(sink, tz);
    }
    if let Some(m) = &admin_email
        && !m.value.contains('@')
    {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                format!("`{}` is not an e-mail address", m.value),
            )
            .at(m.span.clone(), "expected `name@domain`"),
        );
    }
    for key in &admin_keys {
        ssh_key(sink, key);
    }
    if let Some(u) = &admin_user {
        admin_user_name(sink, u);
    }
    let domain = domain?;
    Some(Homelab {
        internal_domain: internal_domain
            .unwrap_or_else(|| Sp::new(format!("home.{}", domain.value), domain.span.clone())),
        name: name?,
        domain,
        timezone: timezone?,
        admin_email: admin_email?,
        admin_user: admin_user.unwrap_or_else(|| Sp::new("admin".to_string(), 0..0)),
        admin_keys,
        homelab_flake,
    })
}

/// Devices a host can have. The part before `-` is what a catalog entry
/// asks for (`hardware = ["zigbee"]`): `gpu-intel` is a `gpu`.
pub(crate) const HARDWARE: [&str; 7] = [
    "gpu-intel",
    "gpu-nvidia",
    "gpu-amd",
    "coral-usb",
    "coral-pcie",
    "zigbee-usb",
    "zwave-usb",
];
/// Devices reached through a serial port, whose stable path the host must
/// give in `[hosts.<h>.devices]`.
pub(crate) const SERIAL_DEVICES: [&str; 2] = ["zigbee-usb", "zwave-usb"];
const SYSTEMS: [&str; 2] = ["x86_64-linux", "aarch64-linux"];
const POOL_MODES: [&str; 5] = ["single", "mirror", "raidz1", "raidz2", "raidz3"];

fn host(name: Sp<String>, t: &mut Table, sink: &mut Sink) -> Option<Host> {
    let role = t.choice(sink, "role", &Role::NAMES);
    let system = t.choice(sink, "system", &SYSTEMS);
    let address = t.req_str(sink, "address", "\"192.168.1.10\"");
    let ram_gb = t.int(sink, "ram_gb", 1, 4096);
    if t.get("ram_gb").is_none() {
        sink.push(
            Diagnostic::error("missing-key", format!("`[{}]` has no `ram_gb`", t.path))
                .at(t.span.clone(), "`ram_gb` (an integer) is required here")
                .help("add `ram_gb = 16`: the RAM budget of the host's services is checked against it"),
        );
    }
    checked(sink, &grammar::ADDRESS, &address);
    let host_key = t.str(sink, "host_key");
    if let Some(k) = &host_key {
        ssh_key(sink, k);
    }
    let ssh_port = t
        .int(sink, "ssh_port", 1, 65535)
        .map(|p| Sp::new(p.value as u16, p.span));
    let gate_window = super::deploy::window(t, sink, "gate_window");
    let tailnet_address = t.str(sink, "tailnet_address");
    if let Some(a) = &tailnet_address {
        super::status::ip_literal(sink, a, "the host's tailnet address");
    }
    let boot = t.table(sink, "boot").and_then(|mut b| {
        let boot = boot(&mut b, sink);
        b.finish(sink);
        boot
    });
    let cpu = t
        .choice(sink, "cpu", &Cpu::NAMES)
        .and_then(|c| Cpu::parse(&c.value).map(|v| Sp::new(v, c.span)));
    let state_version = t.str(sink, "state_version");
    if let Some(v) = &state_version {
        state_version_value(sink, v);
    }
    let hardware = t.str_list(sink, "hardware").unwrap_or_default();
    for h in &hardware {
        if !HARDWARE.contains(&h.value.as_str()) {
            sink.push(
                Diagnostic::error("invalid-value", format!("unknown hardware `{}`", h.value)).at(
                    h.span.clone(),
                    format!(
                        "expected one of {}",
                        crate::diagnostic::name_list(&HARDWARE)
                    ),
                ),
            );
        }
    }
    let devices = devices(t, sink, &name.value, &hardware);
    let data = super::data::plain(t, sink);
    let interface = t.str(sink, "interface");
    if let Some(i) = &interface {
        super::network::interface_name(sink, i);
    }
    let segments = super::network::host_segments(t, sink);
    let mut pools = Vec::new();
    for (pool_name, mut p) in t.named_tables(sink, "pools") {
        grammar::POOL_NAME.check(sink, &pool_name);
        let mode = p.choice(sink, "mode", &POOL_MODES);
        let disks = p.str_list(sink, "disks").unwrap_or_default();
        for d in &disks {
            grammar::DISK.check(sink, d);
        }
        let size = size(&mut p, sink, "size");
        if p.get("size").is_none() {
            sink.push(
                Diagnostic::error("missing-key", format!("`[{}]` has no `size`", p.path))
                    .at(p.span.clone(), "`size` (usable size) is required here")
                    .help("add `size = \"18T\"`: dataset quotas are budgeted against it"),
            );
        }
        let compression = p.str(sink, "compression");
        checked(sink, &grammar::COMPRESSION, &compression);
        p.finish(sink);
        if let Some(size) = size {
            pools.push(Pool {
                mode: mode.unwrap_or_else(|| Sp::new("single".into(), pool_name.span.clone())),
                compression: compression
                    .unwrap_or_else(|| Sp::new("zstd".into(), pool_name.span.clone())),
                name: pool_name,
                disks,
                size,
            });
        }
    }
    Some(Host {
        role: role
            .and_then(|r| Role::parse(&r.value).map(|v| Sp::new(v, r.span)))
            .unwrap_or_else(|| Sp::new(Role::Main, name.span.clone())),
        system: system.unwrap_or_else(|| Sp::new("x86_64-linux".into(), name.span.clone())),
        name,
        address: address?,
        ram_gb: ram_gb?,
        host_key,
        ssh_port,
        tailnet_address,
        gate_window,
        boot,
        cpu,
        state_version,
        hardware,
        devices,
        pools,
        data,
        interface,
        segments,
    })
}

/// `[hosts.<h>.devices]`: the serial path of each USB coordinator, which a
/// serial device must have (`/dev/ttyACM0` changes with plugging order;
/// `/dev/serial/by-id/…` does not).
fn devices(
    t: &mut Table,
    sink: &mut Sink,
    host: &str,
    hardware: &[Sp<String>],
) -> Vec<(Sp<String>, Sp<String>)> {
    let mut out = Vec::new();
    if let Some(table) = t.table(sink, "devices") {
        for (k, v) in table.entries() {
            let key = Sp::new(k.get_ref().to_string(), k.span());
            let listed = hardware.iter().any(|h| h.value == key.value);
            if !SERIAL_DEVICES.contains(&key.value.as_str()) || !listed {
                sink.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!("no serial device `{}` on this host", key.value),
                    )
                    .at(key.span.clone(), "not a serial device listed in `hardware`")
                    .help(format!(
                        "device paths are for {} listed in the host's `hardware`",
                        crate::diagnostic::name_list(&SERIAL_DEVICES)
                    )),
                );
                continue;
            }
            match v.get_ref() {
                DeValue::String(path) if path.starts_with("/dev/") => {
                    out.push((key, Sp::new(path.to_string(), v.span())));
                }
                _ => sink.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!("`{}` needs a device path", key.value),
                    )
                    .at(v.span(), "expected a path below /dev")
                    .help(format!(
                        "write `{} = \"/dev/serial/by-id/usb-…\"`",
                        key.value
                    )),
                ),
            }
        }
    }
    for h in hardware {
        let serial = SERIAL_DEVICES.contains(&h.value.as_str());
        if serial && !out.iter().any(|(k, _)| k.value == h.value) {
            sink.push(
                Diagnostic::error("missing-device", format!("`{}` has no device path", h.value))
                    .at(h.span.clone(), "a serial coordinator needs its stable path")
                    .help(format!(
                        "add `[hosts.{host}.devices]` with `{} = \"/dev/serial/by-id/usb-…\"` (`ls -l /dev/serial/by-id/` on the host)",
                        h.value
                    )),
            );
        }
    }
    out
}

/// `[hosts.<name>.boot]`: the disk is required, the root defaults to ext4.
fn boot(t: &mut Table, sink: &mut Sink) -> Option<Boot> {
    let disks = boot_disks(t, sink);
    for d in disks.iter().flatten() {
        grammar::DISK.check(sink, d);
    }
    let mirrored = disks.as_ref().is_some_and(|d| d.len() > 1);
    let fs = t
        .choice(sink, "fs", &RootFs::NAMES)
        .and_then(|f| RootFs::parse(&f.value).map(|v| Sp::new(v, f.span)));
    if let (Some(f), true) = (&fs, mirrored)
        && f.value != RootFs::Zfs
    {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                "a mirrored boot disk's root file system is ZFS",
            )
            .at(f.span.clone(), "ext4 cannot span several disks")
            .help("remove `fs` (a mirror's root is a ZFS mirror), or boot from one `disk`"),
        );
    }
    let default_fs = if mirrored { RootFs::Zfs } else { RootFs::Ext4 };
    let swap = size(t, sink, "swap");
    Some(Boot {
        span: t.span.clone(),
        fs: fs.unwrap_or_else(|| Sp::new(default_fs, t.span.clone())),
        disks: disks?,
        swap,
    })
}

/// `disk = "…"`, or `disks = ["…", "…"]` for a mirror: one of the two,
/// and a mirror of two disks or more.
fn boot_disks(t: &mut Table, sink: &mut Sink) -> Option<Vec<Sp<String>>> {
    let list_span = t.key_span("disks");
    let one = t.str(sink, "disk");
    let list = t.str_list(sink, "disks");
    match (one, list, list_span) {
        (Some(d), None, _) => Some(vec![d]),
        (None, Some(list), Some(span)) if list.len() < 2 => {
            sink.push(
                Diagnostic::error(
                    "invalid-value",
                    "a mirrored boot disk needs two disks or more",
                )
                .at(span, format!("{} disk(s) listed", list.len()))
                .help("list both disks of the mirror, or write `disk = \"…\"` for one disk"),
            );
            None
        }
        (None, Some(list), _) => Some(list),
        (Some(d), Some(_), Some(span)) => {
            sink.push(
                Diagnostic::error("exclusive-keys", "`disk` and `disks` are both set")
                    .at(span, "a mirror of disks")
                    .also(d.span, "one disk")
                    .help("keep `disk` for one boot disk, or `disks` for a mirror"),
            );
            None
        }
        _ => {
            sink.push(
                Diagnostic::error("missing-key", format!("`[{}]` has no `disk`", t.path))
                    .at(t.span.clone(), "`disk` (a string) or `disks` (a mirror) is required here")
                    .help("add `disk = \"/dev/disk/by-id/nvme-…\"`, or `disks = [\"…\", \"…\"]` for a mirror"),
            );
            None
        }
    }
}

/// A `system.stateVersion`: a release number no newer than the pinned
/// nixpkgs (a host cannot have been installed from a later release).
fn state_version_value(sink: &mut Sink, v: &Sp<String>) {
    let pinned = &crate::release::release().nixpkgs.version;
    if !crate::release::is_release_number(&v.value) {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                format!("`{}` is not a NixOS release", v.value),
            )
            .at(v.span.clone(), "expected a release like \"25.11\"")
            .help("releases are `YY.05` or `YY.11`: write the one the host was installed with"),
        );
    } else if v.value.as_str() > pinned.as_str() {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                format!("`{}` is newer than the pinned NixOS {pinned}", v.value),
            )
            .at(v.span.clone(), "no host can have been installed from it")
            .help(format!("leave it out for a new host ({pinned}), or write the release the host was installed with")),
        );
    }
}

pub(super) fn size(t: &mut Table, sink: &mut Sink, key: &'static str) -> Option<Sp<Size>> {
    let s = t.str(sink, key)?;
    match Size::parse(&s.value) {
        Some(v) => Some(Sp::new(v, s.span)),
        None => {
            sink.push(
                Diagnostic::error("invalid-value", format!("`{}` is not a size", s.value))
                    .at(s.span, "expected a number and a unit")
                    .help("write sizes like ZFS does: \"500G\", \"2T\", \"3.5T\" (\"4TB\" and \"4 TB\" mean 4T too)"),
            );
            None
        }
    }
}

fn service(name: Sp<String>, t: &mut Table, sink: &mut Sink) -> Option<ServiceSpec> {
    dns_label(sink, &name, "service instance name");
    let service = t.str(sink, "service").unwrap_or_else(|| name.clone());
    let host = t.str(sink, "host");
    let exposure = t
        .choice(sink, "exposure", &Exposure::NAMES)
        .and_then(|e| Exposure::parse(&e.value).map(|v| Sp::new(v, e.span)));
    let subdomain = t.str(sink, "subdomain");
    if let Some(s) = &subdomain
        && !s.value.is_empty()
    {
        dns_label(sink, s, "subdomain");
    }
    let port = t.int(sink, "port", 1, 65535);
    let mut data = Vec::new();
    for (dir, mut d) in t.named_tables(sink, "data") {
        let class = d
            .choice(sink, "class", &DataClass::NAMES)
            .and_then(|c| DataClass::parse(&c.value).map(|v| Sp::new(v, c.span)));
        let quota = size(&mut d, sink, "quota");
        let recordsize = d.str(sink, "recordsize");
        if let Some(r) = &recordsize {
            recordsize_value(sink, r);
        }
        let pool = d.str(sink, "pool");
        let snapshots = super::data::schedule(&mut d, sink);
        d.finish(sink);
        data.push(DataSpec {
            name: dir,
            class,
            quota,
            recordsize,
            pool,
            snapshots,
        });
    }
    let nixos = t.get("nixos").and_then(|v| match v.get_ref() {
        DeValue::Table(_) => plain_value(v, sink).map(|val| Sp::new(val, v.span())),
        other => {
            sink.push(
                Diagnostic::error("wrong-type", format!("`{}.nixos` must be a table", t.path))
                    .at(v.span(), format!("this is {}", type_name(other)))
                    .help("write extra module settings as `[services.<name>.nixos]` keys"),
            );
            None
        }
    });
    let mut nixos_leaves = Vec::new();
    if let Some(v) = t.get("nixos") {
        leaves(v, String::new(), &mut Vec::new(), &mut nixos_leaves);
    }
    let exposure_reason = t.str(sink, "exposure_reason");
    let (vpn, vpn_reason) = vpn_choice(t, sink);
    let nfs = t.str_list(sink, "nfs").unwrap_or_default();
    let groups = t.str_list(sink, "groups").unwrap_or_default();
    let silence = silences(t, sink);
    let segments = t.str_list(sink, "segments").unwrap_or_default();
    Some(ServiceSpec {
        name,
        service,
        host,
        exposure,
        subdomain,
        port,
        data,
        nixos,
        exposure_reason,
        vpn,
        vpn_reason,
        silence,
        nixos_leaves,
        nfs,
        groups,
        segments,
    })
}

/// `silence = { <code> = "<reason>" }`: rules turned off for what the
/// table declares, each with a reason.
pub(super) fn silences(t: &mut Table, sink: &mut Sink) -> Vec<(Sp<String>, Sp<String>)> {
    let mut silence = Vec::new();
    let Some(s) = t.table(sink, "silence") else {
        return silence;
    };
    for (code, reason) in s.entries() {
        match reason.get_ref() {
            DeValue::String(r) if !r.trim().is_empty() => silence.push((
                Sp::new(code.get_ref().to_string(), code.span()),
                Sp::new(r.to_string(), reason.span()),
            )),
            _ => sink.push(
                Diagnostic::error(
                    "wrong-type",
                    format!("silencing `{}` needs a reason", code.get_ref()),
                )
                .at(reason.span(), "expected a non-empty string")
                .help(format!(
                    "write `{} = \"why this is fine here\"`",
                    code.get_ref()
                )),
            ),
        }
    }
    silence
}

/// `vpn = false` with its `vpn_reason`: running a client outside the VPN
/// is a decision the spec writes down, and a reason without the choice
/// explains nothing.
fn vpn_choice(t: &mut Table, sink: &mut Sink) -> (Option<Sp<bool>>, Option<Sp<String>>) {
    let vpn = t.bool(sink, "vpn");
    let reason = t.str(sink, "vpn_reason");
    let reason = reason.filter(|r| !r.value.trim().is_empty());
    match (&vpn, &reason) {
        (Some(v), None) if !v.value => sink.push(
            Diagnostic::error("missing-key", "`vpn = false` needs `vpn_reason`")
                .at(v.span.clone(), "runs the client outside the VPN")
                .help("say why peers may see the home address: `vpn_reason = \"…\"` next to it"),
        ),
        (v, Some(r)) if v.as_ref().is_none_or(|v| v.value) => sink.push(
            Diagnostic::error("missing-key", "`vpn_reason` without `vpn = false`")
                .at(
                    r.span.clone(),
                    "a reason for a choice the spec does not make",
                )
                .help(
                    "add `vpn = false` to run the client outside the VPN, or remove `vpn_reason`",
                ),
        ),
        _ => {}
    }
    (vpn, reason)
}

/// Record sizes ZFS accepts: powers of two from 512 bytes to 16M.
pub(super) fn recordsize_value(sink: &mut Sink, r: &Sp<String>) {
    let ok = Size::parse(&r.value)
        .is_some_and(|s| s.0.is_power_of_two() && (512..=16 << 20).contains(&s.0));
    if !ok {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                format!("`{}` is not a ZFS record size", r.value),
            )
            .at(r.span.clone(), "expected a power of two from 512 to 16M")
            .help("databases want \"8K\" or \"16K\", media \"1M\", the default is \"128K\""),
        );
    }
}

fn access(t: &mut Table, sink: &mut Sink) -> Access {
    let proxy = t.table(sink, "proxy").and_then(|mut p| {
        let dns_provider = p.req_str(sink, "dns_provider", "\"cloudflare\"");
        checked(sink, &grammar::PROVIDER, &dns_provider);
        let credentials_secret = p.req_str(sink, "credentials_secret", "\"acme-dns\"");
        let span = p.span.clone();
        p.finish(sink);
        Some(Proxy {
            span,
            dns_provider: dns_provider?,
            credentials_secret: credentials_secret?,
        })
    });
    let tailscale = t.table(sink, "tailscale").map(|mut p| {
        let ts = Tailscale {
            span: p.span.clone(),
            auth_key_secret: p.str(sink, "auth_key_secret"),
            ssh: p.bool(sink, "ssh").unwrap_or_else(|| Sp::new(false, 0..0)),
            admins: super::admins::admins(&mut p, sink),
        };
        p.finish(sink);
        ts
    });
    let tunnel = t.table(sink, "tunnel").and_then(|mut p| {
        let id = p.req_str(sink, "id", "\"00000000-0000-0000-0000-000000000000\"");
        checked(sink, &grammar::UUID, &id);
        let credentials_secret = p.req_str(sink, "credentials_secret", "\"cloudflared\"");
        let span = p.span.clone();
        p.finish(sink);
        Some(Tunnel {
            span,
            id: id?,
            credentials_secret: credentials_secret?,
        })
    });
    let vpn = t.table(sink, "vpn").and_then(|mut p| {
        let wireguard_secret = p.req_str(sink, "wireguard_secret", "\"vpn-wireguard\"");
        let span = p.span.clone();
        p.finish(sink);
        Some(Vpn {
            span,
            wireguard_secret: wireguard_secret?,
        })
    });
    let sso = t.table(sink, "sso").and_then(|mut p| {
        let s = super::sso::sso(&mut p, sink);
        p.finish(sink);
        s
    });
    let names = [
        proxy.as_ref().map(|p| &p.credentials_secret),
        tailscale.as_ref().and_then(|t| t.auth_key_secret.as_ref()),
        tunnel.as_ref().map(|t| &t.credentials_secret),
        vpn.as_ref().map(|v| &v.wireguard_secret),
    ];
    for name in names.into_iter().flatten() {
        secret_name(sink, name);
    }
    Access {
        proxy,
        tailscale,
        tunnel,
        vpn,
        sso,
    }
}

fn backup(t: &mut Table, sink: &mut Sink) -> Option<Backup> {
    let repository = t.req_str(sink, "repository", "\"s3:https://s3.example.org/homelab\"");
    let password_secret = t.req_str(sink, "password_secret", "\"restic-password\"");
    let environment_secret = t.str(sink, "environment_secret");
    let schedule = t.str(sink, "schedule");
    checked(sink, &grammar::CALENDAR, &schedule);
    let replica = replica(t, sink);
    for name in [
        &password_secret,
        &environment_secret,
        &replica.as_ref().map(|r| r.key_secret.clone()),
    ]
    .into_iter()
    .flatten()
    {
        secret_name(sink, name);
    }
    Some(Backup {
        span: t.span.clone(),
        repository: repository?,
        password_secret: password_secret?,
        environment_secret,
        schedule: schedule.unwrap_or_else(|| Sp::new("daily".into(), 0..0)),
        replica,
    })
}

/// The replica keys of `[backup]`: with `replica`, the key pair it pulls
/// with is required.
fn replica(t: &mut Table, sink: &mut Sink) -> Option<Replica> {
    let host = t.str(sink, "replica");
    let pool = t.str(sink, "replica_pool");
    checked(sink, &grammar::POOL_NAME, &pool);
    let (key_secret, public_key) = if host.is_some() {
        (
            t.req_str(sink, "replica_key_secret", "\"replication-ssh-key\""),
            t.req_str(
                sink,
                "replica_public_key",
                "\"ssh-ed25519 AAAA… syncoid@nas\"",
            ),
        )
    } else {
        (
            t.str(sink, "replica_key_secret"),
            t.str(sink, "replica_public_key"),
        )
    };
    if let Some(k) = &public_key {
        ssh_key(sink, k);
    }
    let Some(host) = host else {
        for stray in [&pool, &key_secret, &public_key].into_iter().flatten() {
            sink.push(
                Diagnostic::error("missing-key", "replica settings without `replica`")
                    .at(stray.span.clone(), "used only with `replica = \"<host>\"`")
                    .help("add `replica = \"<host>\"` to `[backup]`, or remove this key"),
            );
        }
        return None;
    };
    Some(Replica {
        host,
        pool,
        key_secret: key_secret?,
        public_key: public_key?,
    })
}

/// Converts a free-form TOML value to a plain `toml::Value`. Date-times have
/// no Nix equivalent and are refused.
fn plain_value(v: &toml::Spanned<DeValue>, sink: &mut Sink) -> Option<toml::Value> {
    Some(match v.get_ref() {
        DeValue::String(s) => toml::Value::String(s.to_string()),
        DeValue::Integer(i) => {
            let n = i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok()?;
            toml::Value::Integer(n)
        }
        DeValue::Float(f) => {
            let x: f64 = f.as_str().replace('_', "").parse().ok()?;
            if !x.is_finite() {
                sink.push(
                    Diagnostic::error("invalid-value", "Nix has no infinity or NaN")
                        .at(v.span(), "not a finite number"),
                );
                return None;
            }
            toml::Value::Float(x)
        }
        DeValue::Boolean(b) => toml::Value::Boolean(*b),
        DeValue::Datetime(_) => {
            sink.push(
                Diagnostic::error("invalid-value", "Nix has no date-time values")
                    .at(v.span(), "a TOML date-time")
                    .help("write the date as a string in quotes"),
            );
            return None;
        }
        DeValue::Array(items) => toml::Value::Array(
            items
                .iter()
                .map(|i| plain_value(i, sink))
                .collect::<Option<Vec<_>>>()?,
        ),
        DeValue::Table(t) => {
            let mut out = toml::Table::new();
            for (k, item) in t.iter() {
                out.insert(k.get_ref().to_string(), plain_value(item, sink)?);
            }
            toml::Value::Table(out)
        }
    })
}

/// Every value under `v` that is not a table or array, with its dotted
/// key path, its parts and span.
fn leaves(
    v: &toml::Spanned<DeValue>,
    path: String,
    parts: &mut Vec<(String, crate::diagnostic::Span)>,
    out: &mut Vec<NixosLeaf>,
) {
    let scalar = |value, parts: &Vec<(String, crate::diagnostic::Span)>| NixosLeaf {
        key: path.clone(),
        value,
        span: v.span(),
        parts: parts.clone(),
    };
    match v.get_ref() {
        DeValue::String(s) => out.push(scalar(toml::Value::String(s.to_string()), parts)),
        DeValue::Integer(i) => {
            if let Ok(n) = i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
                out.push(scalar(toml::Value::Integer(n), parts));
            }
        }
        DeValue::Float(f) => {
            if let Ok(x) = f.as_str().replace('_', "").parse() {
                out.push(scalar(toml::Value::Float(x), parts));
            }
        }
        DeValue::Boolean(b) => out.push(scalar(toml::Value::Boolean(*b), parts)),
        DeValue::Datetime(_) => {}
        DeValue::Array(items) => {
            for item in items {
                // A table in a list is an element with options of its own.
                let element = matches!(item.get_ref(), DeValue::Table(_));
                if element {
                    let span = parts.last().map_or(v.span(), |p| p.1.clone());
                    parts.push(("*".into(), span));
                }
                leaves(item, path.clone(), parts, out);
                if element {
                    parts.pop();
                }
            }
        }
        DeValue::Table(t) => {
            for (k, item) in t.iter() {
                let key = if path.is_empty() {
                    k.get_ref().to_string()
                } else {
                    format!("{path}.{}", k.get_ref())
                };
                parts.push((k.get_ref().to_string(), k.span()));
                leaves(item, key, parts, out);
                parts.pop();
            }
        }
    }
}

/// RFC 1123 label: lowercase letters, digits and inner hyphens, 1 to 63.
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Whether `s` is a DNS label; when not, says so, naming it a `what`.
pub(super) fn dns_label(sink: &mut Sink, s: &Sp<String>, what: &str) -> bool {
    let ok = is_dns_label(&s.value);
    if !ok {
        sink.push(
            Diagnostic::error(
                "invalid-name",
                format!("`{}` is not a valid {what}", s.value),
            )
            .at(s.span.clone(), "not a DNS label")
            .help("use 1 to 63 lowercase letters, digits and inner hyphens, e.g. `photos`"),
        );
    }
    ok
}

fn domain_name(sink: &mut Sink, s: &Sp<String>) {
    let ok = s.value.len() <= 253 && s.value.contains('.') && s.value.split('.').all(is_dns_label);
    if !ok {
        sink.push(
            Diagnostic::error(
                "invalid-name",
                format!("`{}` is not a valid domain", s.value),
            )
            .at(s.span.clone(), "expected a domain like `example.org`")
            .help("use lowercase DNS labels separated by dots"),
        );
    }
}

/// The IANA time zone names (`timezones.txt` says how it was made).
static TIME_ZONES: &str = include_str!("timezones.txt");

/// `time.timeZone` must name a zone of the tz database, or the host boots
/// with a broken `/etc/localtime`.
fn time_zone(sink: &mut Sink, s: &Sp<String>) {
    let zones = || TIME_ZONES.lines().filter(|l| !l.starts_with('#'));
    if zones().any(|z| z == s.value) {
        return;
    }
    let d = Diagnostic::error("invalid-value", format!("`{}` is not a time zone", s.value))
        .at(s.span.clone(), "not in the IANA time zone database");
    sink.push(match crate::diagnostic::did_you_mean(&s.value, zones()) {
        Some(m) => d.help(format!("did you mean `{m}`?")),
        None => d.help("use an IANA name like \"Europe/Prague\" or \"UTC\" (`timedatectl list-timezones` lists them)"),
    });
}

/// Secret names become file names (`secrets/<name>.age`).
pub(super) fn secret_name(sink: &mut Sink, s: &Sp<String>) {
    let ok = s.value.len() <= 100
        && s.value
            .starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if !ok {
        sink.push(
            Diagnostic::error(
                "invalid-name",
                format!("`{}` is not a valid secret name", s.value),
            )
            .at(s.span.clone(), "it names the file secrets/<name>.age")
            .help("use lowercase letters, digits, `-`, `_` and `.`, e.g. `restic-password`"),
        );
    }
}

/// Checks an optional value against its target grammar.
fn checked(sink: &mut Sink, grammar: &Grammar, value: &Option<Sp<String>>) {
    if let Some(v) = value {
        grammar.check(sink, v);
    }
}

/// The administrator is an ordinary login with sudo, never root or an
/// account the system already has.
fn admin_user_name(sink: &mut Sink, u: &Sp<String>) {
    if !grammar::USER_NAME.check(sink, u) {
        return;
    }
    if grammar::RESERVED_USERS.contains(&u.value.as_str()) {
        sink.push(
            Diagnostic::error(
                "invalid-name",
                format!("`{}` cannot be the administrator's user", u.value),
            )
            .at(u.span.clone(), "a system account")
            .help("name an ordinary login such as `admin`: it gets sudo, and root logs in by key only through it"),
        );
    }
}

fn ssh_key(sink: &mut Sink, k: &Sp<String>) {
    if !grammar::ssh_key_is_one_line(&k.value) {
        sink.push(
            Diagnostic::error("control-character", "an SSH key must be one line")
                .at(k.span.clone(), "a newline or control character here would start another `authorized_keys` line")
                .help("paste exactly one line of `~/.ssh/id_ed25519.pub`; the comment after the key may not hold line breaks"),
        );
        return;
    }
    if parse_ssh_key(&k.value).is_none() {
        sink.push(
            Diagnostic::error("invalid-value", "not an SSH public key")
                .at(k.span.clone(), "expected `ssh-ed25519 AAAA…`")
                .help("paste the line from `~/.ssh/id_ed25519.pub` or `/etc/ssh/ssh_host_ed25519_key.pub`"),
        );
    }
}

/// The wire-format blob of an OpenSSH public key line (`type base64
/// [comment]`), when the line is one: the blob must decode and start with
/// the same key type, and an ed25519 key must hold 32 bytes.
pub fn parse_ssh_key(line: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let mut parts = line.split_whitespace();
    let kind = parts.next()?;
    if !matches!(kind, "ssh-ed25519" | "ssh-rsa" | "ecdsa-sha2-nistp256") {
        return None;
    }
    let blob = base64::engine::general_purpose::STANDARD
        .decode(parts.next()?)
        .ok()?;
    let field = |at: usize| -> Option<(&[u8], usize)> {
        let len = u32::from_be_bytes(blob.get(at..at + 4)?.try_into().ok()?) as usize;
        Some((blob.get(at + 4..at + 4 + len)?, at + 4 + len))
    };
    let (name, next) = field(0)?;
    if name != kind.as_bytes() {
        return None;
    }
    if kind == "ssh-ed25519" {
        let (key, end) = field(next)?;
        if key.len() != 32 || end != blob.len() {
            return None;
        }
    }
    Some(blob)
}
