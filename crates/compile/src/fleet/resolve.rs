//! Spec + catalog → fleet. Reports dangling references (unknown service,
//! host, state directory, pool) with what exists instead.

use super::model::*;
use crate::catalog::{self, Entry, Kind, Placeholders};
use crate::diagnostic::{Diagnostic, did_you_mean, name_list};
use crate::nix::{Attrs, Nix, merge_into};
use crate::spec::{Exposure, Host, ServiceSpec, Size, Sp, Spec};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Resolves a parsed spec. Returns every problem found, or the fleet.
pub fn resolve(spec: &Spec) -> Result<Fleet, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    if spec.hosts.is_empty() {
        diags.push(
            Diagnostic::error("no-hosts", "the spec has no hosts")
                .at(
                    spec.homelab.name.span.clone(),
                    "this homelab has no `[hosts.<name>]`",
                )
                .help("add a host: `[hosts.server]` with `address` and `ram_gb`"),
        );
        return Err(diags);
    }

    // Pass 1: place each instance and pick its entry, so that pass 2 can
    // fill `@endpoint:<entry>@` from the whole fleet.
    let mut placed = Vec::new();
    for s in &spec.services {
        match (lookup_entry(s), place(spec, s)) {
            (Ok(entry), Ok(host)) => placed.push((s, entry, host)),
            (entry, host) => diags.extend(entry.err().into_iter().chain(host.err())),
        }
    }

    // Sets computed once, so a large spec stays linear.
    let single_host = placed
        .windows(2)
        .all(|w| w[0].2.name.value == w[1].2.name.value);
    let placed_entries: HashSet<&str> = placed.iter().map(|(_, e, _)| e.name.as_str()).collect();
    let named_entries: HashSet<&str> = spec
        .services
        .iter()
        .map(|o| o.service.value.as_str())
        .collect();
    let endpoints: BTreeMap<String, String> = placed
        .iter()
        .filter_map(|(s, e, h)| {
            let port = port_of(s, e)?;
            let addr = if single_host {
                BIND_ADDRESS.to_string()
            } else {
                h.address.value.clone()
            };
            Some((e.name.clone(), format!("http://{addr}:{port}")))
        })
        .collect();

    let mut missing = Vec::new();
    for (s, entry, _) in &placed {
        for dep in &entry.depends {
            // The catalog test proves every dependency exists.
            let Some(dep_entry) = catalog::get(dep) else {
                continue;
            };
            if dep_entry.kind == Kind::Infrastructure {
                continue;
            }
            if placed_entries.contains(dep.as_str()) {
                continue;
            }
            // In the spec but not placed: its own error says why; this
            // instance only cannot be completed.
            if named_entries.contains(dep.as_str()) {
                missing.push(s.name.value.as_str());
                continue;
            }
            {
                diags.push(
                    Diagnostic::error(
                        "missing-dependency",
                        format!(
                            "`{}` needs `{dep}`, which the spec does not have",
                            s.name.value
                        ),
                    )
                    .at(
                        s.name.span.clone(),
                        format!("{} depends on {}", entry.title, dep_entry.title),
                    )
                    .help(format!("add `[services.{dep}]`")),
                );
                missing.push(s.name.value.as_str());
            }
        }
    }

    let mut instances = Vec::new();
    for (s, entry, host) in &placed {
        match instance(spec, s, entry, host, &endpoints) {
            Ok(i) => instances.push(i),
            // A missing dependency was reported above; the template error
            // it causes would only repeat it.
            Err(d) if missing.contains(&s.name.value.as_str()) => {
                diags.extend(d.into_iter().filter(|d| d.code != "catalog"));
            }
            Err(mut d) => diags.append(&mut d),
        }
    }

    let mut secrets = secrets(spec, &instances, &mut diags);
    let sso = super::sso::wire(spec, &mut instances, &mut secrets);
    let replica = super::replica::resolve(spec, &mut diags);
    if !diags.is_empty() {
        return Err(diags);
    }
    let mut by_host: HashMap<&str, Vec<&Instance>> = HashMap::new();
    for i in &instances {
        by_host.entry(i.host.as_str()).or_default().push(i);
    }
    let hosts = spec
        .hosts
        .iter()
        .map(|h| {
            let mine = by_host
                .get(h.name.value.as_str())
                .map_or(&[][..], Vec::as_slice);
            let infrastructure = infrastructure(spec, h, mine);
            HostPlan {
                host_id: host_id(&spec.homelab.name.value, &h.name.value),
                data: infrastructure_data(h, &infrastructure),
                infrastructure,
                spec: h.clone(),
            }
        })
        .collect::<Vec<_>>();
    let media_quotas = super::quotas::resolve(&spec.media.quotas, &hosts);
    let mut fleet = Fleet {
        homelab: spec.homelab.clone(),
        hosts,
        instances,
        access: spec.access.clone(),
        backup: spec.backup.clone(),
        replica,
        secrets,
        media_quotas,
        sso,
    };
    drop_idle_replica_key(&mut fleet, spec);
    Ok(fleet)
}

/// A replica with nothing critical to pull renders nothing, so its key is
/// not a secret to create (a warning says why the replica has no effect).
fn drop_idle_replica_key(fleet: &mut Fleet, spec: &Spec) {
    let Some(r) = &fleet.replica else { return };
    let declared = spec.secrets.iter().any(|s| s.name.value == r.key_secret);
    if fleet.pulled().is_empty() && !declared {
        let key = r.key_secret.clone();
        fleet.secrets.remove(&key);
    }
}

fn lookup_entry(s: &ServiceSpec) -> Result<&'static Entry, Diagnostic> {
    match catalog::get(&s.service.value) {
        Some(e) if e.kind == Kind::Service => Ok(e),
        Some(e) => Err(Diagnostic::error(
            "not-a-service",
            format!("`{}` is infrastructure, not a service", e.name),
        )
        .at(s.service.span.clone(), "placed by the tool itself")
        .help(format!(
            "remove this table; `{}` is added when the spec needs it (see `[access]`)",
            e.name
        ))),
        None => {
            let names = catalog::service_names();
            let mut d = Diagnostic::error(
                "unknown-service",
                format!("the catalog has no service `{}`", s.service.value),
            )
            .at(s.service.span.clone(), "not in the catalog");
            d = match did_you_mean(&s.service.value, names.iter().copied()) {
                Some(m) => d.help(format!("did you mean `{m}`?")),
                None => d.help(format!("known services: {}", name_list(&names))),
            };
            Err(d)
        }
    }
}

fn place<'s>(spec: &'s Spec, s: &ServiceSpec) -> Result<&'s Host, Diagnostic> {
    let names: Vec<&str> = spec.hosts.iter().map(|h| h.name.value.as_str()).collect();
    match &s.host {
        Some(h) => spec
            .hosts
            .iter()
            .find(|x| x.name.value == h.value)
            .ok_or_else(|| {
                let d =
                    Diagnostic::error("unknown-host", format!("there is no host `{}`", h.value))
                        .at(h.span.clone(), "not a host of this spec");
                match did_you_mean(&h.value, names.iter().copied()) {
                    Some(m) => d.help(format!("did you mean `{m}`? hosts: {}", name_list(&names))),
                    None => d.help(format!("hosts: {}", name_list(&names))),
                }
            }),
        None if spec.hosts.len() == 1 => Ok(&spec.hosts[0]),
        None => Err(Diagnostic::error(
            "missing-host",
            format!("`{}` does not say which host runs it", s.name.value),
        )
        .at(s.name.span.clone(), "several hosts could run this")
        .help(format!(
            "add `host = \"{}\"` (hosts: {})",
            names[0],
            name_list(&names)
        ))),
    }
}

fn port_of(s: &ServiceSpec, e: &Entry) -> Option<u16> {
    s.port.as_ref().map(|p| p.value as u16).or(e.port)
}

fn instance(
    spec: &Spec,
    s: &ServiceSpec,
    entry: &'static Entry,
    host: &Host,
    endpoints: &BTreeMap<String, String>,
) -> Result<Instance, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let name = s.name.value.clone();
    if let Some(p) = &s.port {
        if entry.port_fixed && entry.port != Some(p.value as u16) {
            diags.push(
                Diagnostic::error(
                    "fixed-port",
                    format!("{} cannot listen on another port", entry.title),
                )
                .at(
                    p.span.clone(),
                    format!(
                        "the NixOS module fixes the port at {}",
                        entry.port.unwrap_or(0)
                    ),
                )
                .help("remove `port`; the proxy reaches the service on its own port"),
            );
        } else if entry.port.is_none() {
            diags.push(
                Diagnostic::error("no-port", format!("{} has no port to set", entry.title))
                    .at(p.span.clone(), "this service does not listen on a port")
                    .help("remove `port`"),
            );
        }
    }
    let exposure = s
        .exposure
        .clone()
        .unwrap_or_else(|| Sp::new(entry.default_exposure, s.name.span.clone()));

    let subdomain = s.subdomain.clone().unwrap_or_else(|| {
        Sp::new(
            entry.subdomain.clone().unwrap_or_else(|| name.clone()),
            s.name.span.clone(),
        )
    });
    let join = |sub: &str, zone: &str| {
        if sub.is_empty() {
            zone.to_string()
        } else {
            format!("{sub}.{zone}")
        }
    };
    let served = entry.proxied && exposure.value >= Exposure::Lan;
    let fqdn = served.then(|| {
        Sp::new(
            join(&subdomain.value, &spec.homelab.internal_domain.value),
            subdomain.span.clone(),
        )
    });
    let public_fqdn = (entry.proxied && exposure.value == Exposure::Public).then(|| {
        Sp::new(
            join(&subdomain.value, &spec.homelab.domain.value),
            subdomain.span.clone(),
        )
    });
    if !entry.proxied && exposure.value > Exposure::Host {
        diags.push(
            Diagnostic::error(
                "not-proxied",
                format!("{} has no web interface to expose", entry.title),
            )
            .at(
                exposure.span.clone(),
                format!("`{}` needs a web interface", exposure.value.as_str()),
            )
            .help("use `exposure = \"host\"`"),
        );
    }

    let data = data_dirs(s, entry, host, &mut diags);
    let database = entry
        .database
        .as_ref()
        .map(|db| db.name.clone().unwrap_or_else(|| name.replace('-', "_")));
    let secrets: BTreeMap<String, String> = entry
        .secrets
        .iter()
        .map(|slot| (slot.name.clone(), format!("{name}-{}", slot.name)))
        .collect();

    let mut ph = Placeholders {
        port: port_of(s, entry),
        data: data
            .iter()
            .map(|d| (d.state.clone(), d.path.clone()))
            .collect(),
        secrets: secrets.clone(),
        endpoints: endpoints.clone(),
        devices: device_paths(entry, host),
        ..Default::default()
    };
    let url = public_fqdn
        .as_ref()
        .or(fqdn.as_ref())
        .map(|f| format!("https://{}", f.value))
        .unwrap_or_else(|| format!("http://{BIND_ADDRESS}:{}", ph.port.unwrap_or(80)));
    let h = &spec.homelab;
    for (k, v) in [
        ("address", BIND_ADDRESS.to_string()),
        // One canonical name, the same one `@url@` holds: the public name
        // when there is one.
        (
            "fqdn",
            public_fqdn
                .as_ref()
                .or(fqdn.as_ref())
                .map_or(BIND_ADDRESS.to_string(), |f| f.value.clone()),
        ),
        (
            "fqdns",
            if public_fqdn.is_none() && fqdn.is_none() {
                BIND_ADDRESS.to_string()
            } else {
                public_fqdn
                    .iter()
                    .chain(fqdn.iter())
                    .map(|f| f.value.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            },
        ),
        ("url", url),
        ("db", database.clone().unwrap_or_default()),
        ("timezone", h.timezone.value.clone()),
        ("admin_email", h.admin_email.value.clone()),
        ("domain", h.domain.value.clone()),
        ("internal_domain", h.internal_domain.value.clone()),
        ("hostname", host.name.value.clone()),
        ("instance", name.clone()),
    ] {
        ph.simple.insert(k, v);
    }
    let mut nixos = match catalog::expand(&entry.nixos, &ph) {
        Ok(n) => n,
        Err(e) => {
            diags.push(
                Diagnostic::error("catalog", format!("cannot configure `{name}`: {e}"))
                    .at(s.name.span.clone(), "while configuring this service"),
            );
            Attrs::new()
        }
    };
    if let Some(extra) = &s.nixos {
        pass_through(&mut nixos, entry, extra, &mut diags);
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Instance {
        host_span: s
            .host
            .as_ref()
            .map_or(s.name.span.clone(), |h| h.span.clone()),
        port_span: s
            .port
            .as_ref()
            .map_or(s.name.span.clone(), |p| p.span.clone()),
        name: s.name.clone(),
        entry,
        host: host.name.value.clone(),
        port: port_of(s, entry),
        exposure,
        fqdn,
        public_fqdn,
        data,
        database,
        secrets,
        nixos,
        passthrough: s.nixos_leaves.clone(),
        exposure_reason: s.exposure_reason.clone(),
        silence: s.silence.clone(),
        groups: s.groups.clone(),
    })
}

fn data_dirs(
    s: &ServiceSpec,
    entry: &Entry,
    host: &Host,
    diags: &mut Vec<Diagnostic>,
) -> Vec<DataDir> {
    let states: Vec<&str> = entry.state.iter().map(|st| st.name.as_str()).collect();
    for o in &s.data {
        if !states.contains(&o.name.value.as_str()) {
            let d = Diagnostic::error(
                "unknown-state",
                format!(
                    "{} keeps no state directory `{}`",
                    entry.title, o.name.value
                ),
            )
            .at(o.name.span.clone(), "not a state directory of this service");
            diags.push(match did_you_mean(&o.name.value, states.iter().copied()) {
                Some(m) => d.help(format!(
                    "did you mean `{m}`? ({} keeps {})",
                    entry.title,
                    name_list(&states)
                )),
                None => d.help(format!("{} keeps {}", entry.title, name_list(&states))),
            });
        }
        if let Some(p) = &o.pool
            && !host.pools.iter().any(|x| x.name.value == p.value)
        {
            let pools: Vec<&str> = host.pools.iter().map(|x| x.name.value.as_str()).collect();
            diags.push(
                Diagnostic::error(
                    "unknown-pool",
                    format!("host `{}` has no pool `{}`", host.name.value, p.value),
                )
                .at(p.span.clone(), "not a pool of this host")
                .help(if pools.is_empty() {
                    format!(
                        "declare it under `[hosts.{}.pools.{}]`",
                        host.name.value, p.value
                    )
                } else {
                    format!("pools of `{}`: {}", host.name.value, name_list(&pools))
                }),
            );
        }
    }
    entry
        .state
        .iter()
        .map(|st| {
            let o = s.data.iter().find(|o| o.name.value == st.name);
            let pool = o
                .and_then(|o| o.pool.as_ref().map(|p| p.value.clone()))
                .or_else(|| host.pools.first().map(|p| p.name.value.clone()));
            DataDir {
                state: st.name.clone(),
                path: st.path.clone(),
                class: o
                    .and_then(|o| o.class.as_ref().map(|c| c.value))
                    .unwrap_or(st.class),
                recordsize: o
                    .and_then(|o| o.recordsize.as_ref().map(|r| r.value.clone()))
                    .unwrap_or_else(|| st.recordsize.clone()),
                quota: o
                    .and_then(|o| o.quota.as_ref().map(|q| q.value))
                    .or_else(|| st.quota.as_deref().and_then(Size::parse)),
                dataset: pool.map(|p| (p, format!("{}/{}", s.name.value, st.name))),
                span: o.map(|o| o.name.span.clone()),
                offsite: st.offsite,
                module_creates: st.module_creates,
            }
        })
        .collect()
}

/// Merges `[services.x.nixos]` below the entry's module; the user wins.
fn pass_through(
    nixos: &mut Attrs,
    entry: &Entry,
    extra: &Sp<toml::Value>,
    diags: &mut Vec<Diagnostic>,
) {
    if entry.module.is_empty() {
        diags.push(
            Diagnostic::error(
                "no-module",
                format!("{} has no NixOS module to pass settings to", entry.title),
            )
            .at(extra.span.clone(), "nothing to pass these to")
            .help("put hand-written Nix in `hosts/<host>/extra.nix`"),
        );
        return;
    }
    let value = toml_to_nix(&extra.value);
    let mut path: Vec<String> = crate::nix::split_path(&entry.module);
    let leaf = path.pop().expect("module path is not empty");
    let mut cursor = nixos;
    for part in &path {
        let next = cursor
            .entry(part.clone())
            .or_insert_with(|| Nix::Attrs(Attrs::new()));
        if !matches!(next, Nix::Attrs(_)) {
            *next = Nix::Attrs(Attrs::new());
        }
        let Nix::Attrs(inner) = next else {
            unreachable!()
        };
        cursor = inner;
    }
    merge_into(cursor, &leaf, value);
}

/// User data only: strings stay strings, so nothing here becomes Nix code.
pub fn toml_to_nix(v: &toml::Value) -> Nix {
    match v {
        toml::Value::String(s) => Nix::Str(s.clone()),
        toml::Value::Integer(i) => Nix::Int(*i),
        toml::Value::Float(f) => Nix::Float(*f),
        toml::Value::Boolean(b) => Nix::Bool(*b),
        toml::Value::Datetime(d) => Nix::Str(d.to_string()),
        toml::Value::Array(a) => Nix::List(a.iter().map(toml_to_nix).collect()),
        toml::Value::Table(t) => {
            Nix::Attrs(t.iter().map(|(k, v)| (k.clone(), toml_to_nix(v))).collect())
        }
    }
}

/// One use of a secret: what reads it, where and how.
struct SecretUse {
    description: String,
    owner: Option<String>,
    group: Option<String>,
    mode: String,
    /// The host that decrypts it; none for an admin-only secret.
    host: Option<String>,
    used_by: String,
    units: Vec<String>,
    generator: Option<catalog::Generator>,
}

impl SecretUse {
    fn new(description: impl Into<String>, used_by: &str, host: &str) -> SecretUse {
        SecretUse {
            description: description.into(),
            owner: None,
            group: None,
            mode: catalog::default_mode(),
            host: Some(host.to_string()),
            used_by: used_by.to_string(),
            units: Vec::new(),
            generator: None,
        }
    }

    fn unit(mut self, unit: String) -> SecretUse {
        self.units.push(unit);
        self
    }

    fn made_by(mut self, generator: catalog::Generator) -> SecretUse {
        self.generator = Some(generator);
        self
    }
}

fn add_secret(out: &mut BTreeMap<String, Secret>, name: &Sp<String>, u: SecretUse) {
    let s = out.entry(name.value.clone()).or_insert_with(|| Secret {
        name: name.value.clone(),
        description: u.description,
        owner: u.owner,
        group: u.group,
        mode: u.mode,
        hosts: Vec::new(),
        used_by: Vec::new(),
        units: Vec::new(),
        generator: u.generator,
        span: name.span.clone(),
    });
    if let Some(host) = u.host
        && !s.hosts.contains(&host)
    {
        s.hosts.push(host);
    }
    if !s.used_by.contains(&u.used_by) {
        s.used_by.push(u.used_by);
    }
    for unit in u.units {
        if !s.units.contains(&unit) {
            s.units.push(unit);
        }
    }
}

fn secrets(
    spec: &Spec,
    instances: &[Instance],
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Secret> {
    let mut out: BTreeMap<String, Secret> = BTreeMap::new();
    for i in instances {
        for slot in &i.entry.secrets {
            // A derived secret names its source by slot; the fleet by name.
            let generator = slot.generate.clone().map(|g| match g {
                catalog::Generator::Argon2 { from, template } => catalog::Generator::Argon2 {
                    from: i.secrets.get(&from).cloned().unwrap_or(from),
                    template,
                },
                other => other,
            });
            let u = SecretUse {
                description: slot.description.clone(),
                owner: slot.owner.clone().or_else(|| i.entry.user.clone()),
                group: slot.group.clone(),
                mode: slot.mode.clone(),
                host: slot.on_host.then(|| i.host.clone()),
                used_by: i.name.value.clone(),
                units: if slot.on_host {
                    slot.units.clone()
                } else {
                    Vec::new()
                },
                generator,
            };
            add_secret(
                &mut out,
                &Sp::new(i.secrets[&slot.name].clone(), i.name.span.clone()),
                u,
            );
        }
    }
    // Access and backup secrets live on every host that uses them.
    let hosts_where = |f: fn(&Instance) -> bool| -> HashSet<&str> {
        instances
            .iter()
            .filter(|i| f(i))
            .map(|i| i.host.as_str())
            .collect()
    };
    let proxied = hosts_where(|i| i.fqdn.is_some());
    let tunnelled = hosts_where(|i| i.public_fqdn.is_some());
    let confined = hosts_where(|i| i.entry.vpn);
    for h in &spec.hosts {
        let host = h.name.value.as_str();
        let runs_proxy = proxied.contains(host);
        let runs_tunnel = tunnelled.contains(host);
        if let (Some(p), true) = (&spec.access.proxy, runs_proxy) {
            let mut u = SecretUse::new(
                format!(
                    "{} DNS API credentials for the ACME DNS-01 challenge",
                    p.dns_provider.value
                ),
                "[access.proxy]",
                host,
            )
            .unit(format!(
                "acme-{}.service",
                spec.homelab.internal_domain.value
            ));
            u.owner = Some("acme".into());
            add_secret(&mut out, &p.credentials_secret, u);
        }
        if let Some(t) = &spec.access.tailscale
            && let Some(k) = &t.auth_key_secret
        {
            let u = SecretUse::new(
                "Tailscale auth key for joining the tailnet",
                "[access.tailscale]",
                host,
            )
            .unit("tailscaled-autoconnect.service".into());
            add_secret(&mut out, k, u);
        }
        if let (Some(t), true) = (&spec.access.tunnel, runs_tunnel) {
            let u = SecretUse::new(
                "Cloudflare Tunnel credentials file",
                "[access.tunnel]",
                host,
            )
            .unit(format!("cloudflared-tunnel-{}.service", t.id.value));
            add_secret(&mut out, &t.credentials_secret, u);
        }
        let runs_confined = confined.contains(host);
        if let (Some(v), true) = (&spec.access.vpn, runs_confined) {
            let u = SecretUse::new(
                "wg-quick configuration of the VPN torrent clients are confined to",
                "[access.vpn]",
                host,
            )
            .unit(format!("{VPN_NAMESPACE}.service"));
            add_secret(&mut out, &v.wireguard_secret, u);
        }
        if let Some(b) = &spec.backup {
            let restic = "restic-backups-offsite.service".to_string();
            let u = SecretUse::new("restic repository password", "[backup]", host)
                .unit(restic.clone())
                .made_by(catalog::Generator::Random {
                    length: 40,
                    alphabet: catalog::Alphabet::Alphanumeric,
                    template: None,
                });
            add_secret(&mut out, &b.password_secret, u);
            if let Some(e) = &b.environment_secret {
                let u = SecretUse::new(
                    "restic repository credentials (environment file)",
                    "[backup]",
                    host,
                )
                .unit(restic);
                add_secret(&mut out, e, u);
            }
            if let Some(r) = b.replica.as_ref().filter(|r| r.host.value == host) {
                let u = SecretUse::new(
                    "SSH private key the replica host pulls ZFS snapshots with",
                    "[backup] replica",
                    host,
                )
                .made_by(catalog::Generator::SshKey {
                    public_key: Some("backup.replica_public_key".into()),
                });
                // syncoid runs as a dynamic user and gets the key as a
                // systemd credential, which root reads: no owner.
                add_secret(&mut out, &r.key_secret, u);
            }
        }
    }
    for declared in &spec.secrets {
        let mut hosts = Vec::new();
        for h in &declared.hosts {
            if spec.hosts.iter().any(|x| x.name.value == h.value) {
                hosts.push(h.value.clone());
            } else {
                diags.push(
                    Diagnostic::error(
                        "unknown-host",
                        format!(
                            "secret `{}` names no host `{}`",
                            declared.name.value, h.value
                        ),
                    )
                    .at(h.span.clone(), "not a host of this spec"),
                );
            }
        }
        let s = out
            .entry(declared.name.value.clone())
            .or_insert_with(|| Secret {
                name: declared.name.value.clone(),
                description: "declared in the spec".into(),
                owner: None,
                group: None,
                mode: catalog::default_mode(),
                hosts: Vec::new(),
                used_by: vec![format!("[secrets.{}]", declared.name.value)],
                units: Vec::new(),
                generator: None,
                span: declared.name.span.clone(),
            });
        if let Some(o) = &declared.owner {
            s.owner = Some(o.value.clone());
        }
        for h in hosts {
            if !s.hosts.contains(&h) {
                s.hosts.push(h);
            }
        }
    }
    out
}

/// The infrastructure a host runs, derived from what its services need.
fn infrastructure(spec: &Spec, host: &Host, mine: &[&Instance]) -> Vec<&'static str> {
    let mut out = vec!["openssh", "firewall", "fail2ban"];
    let zfs_root = host
        .boot
        .as_ref()
        .is_some_and(|b| b.fs.value == crate::spec::RootFs::Zfs);
    if !host.pools.is_empty() || zfs_root {
        out.push("zfs");
    }
    if spec.access.proxy.is_some() && mine.iter().any(|i| i.fqdn.is_some()) {
        out.push("caddy");
    }
    if spec.access.tailscale.is_some() {
        out.push("tailscale");
    }
    if spec.access.tunnel.is_some() && mine.iter().any(|i| i.public_fqdn.is_some()) {
        out.push("cloudflared");
    }
    if mine.iter().any(|i| i.database.is_some()) {
        out.push("postgresql");
    }
    if mine.iter().any(|i| i.entry.media) {
        out.push("media");
    }
    out
}

/// Infrastructure state. Critical state (databases) and the media tree get
/// a dataset on the host's first pool, for record size and snapshots; the
/// rest is small and stays on the root file system, backed up like
/// everything else.
fn infrastructure_data(
    host: &Host,
    infrastructure: &[&'static str],
) -> Vec<(&'static Entry, DataDir)> {
    let pool = host.pools.first().map(|p| p.name.value.clone());
    infrastructure
        .iter()
        .filter_map(|name| catalog::get(name))
        .flat_map(|entry| {
            let pool = pool.clone();
            entry.state.iter().map(move |st| {
                let dataset = (st.class == crate::spec::DataClass::Critical || st.dataset)
                    .then(|| {
                        pool.clone()
                            .map(|p| (p, format!("{}/{}", entry.name, st.name)))
                    })
                    .flatten();
                (
                    entry,
                    DataDir {
                        state: st.name.clone(),
                        path: st.path.clone(),
                        class: st.class,
                        recordsize: st.recordsize.clone(),
                        quota: st.quota.as_deref().and_then(Size::parse),
                        dataset,
                        span: None,
                        offsite: st.offsite,
                        module_creates: st.module_creates,
                    },
                )
            })
        })
        .collect()
}

/// A stable 8-hex-digit `networking.hostId` (ZFS needs one per machine).
fn host_id(homelab: &str, host: &str) -> String {
    let digest = Sha256::digest(format!("{homelab}/{host}").as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// The serial paths an entry's settings name (`@device:zigbee@`). A device
/// the host lacks gets a path that names the gap; `missing-hardware`
/// (an error that cannot be silenced) stops such a spec before it builds.
fn device_paths(entry: &Entry, host: &Host) -> BTreeMap<String, String> {
    entry
        .hardware
        .iter()
        .map(|kind| {
            let path = host
                .device_path(kind)
                .map_or_else(|| format!("/dev/missing-{kind}"), str::to_string);
            (kind.clone(), path)
        })
        .collect()
}
