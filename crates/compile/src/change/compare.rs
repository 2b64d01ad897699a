//! The comparison itself: the facts of two fleets, field by field, each
//! difference a [`Change`] with its severity and a line of text.

use super::facts::{DirFacts, DirKey, Facts, HostFacts, PoolFacts, ServiceFacts};
use super::{Change, Changes, Kind, Severity};
use crate::spec::{DataClass, Exposure, Size};

pub(super) fn compare(old: &Facts, new: &Facts) -> Changes {
    let mut c = Collect::default();
    fleet(&mut c, old, new);
    admin_devices(&mut c, old, new);
    for h in &new.hosts {
        match old.host(&h.name) {
            None => c.host(
                h,
                Kind::HostAdded,
                Severity::Change,
                "host added (install it: docs/install.md)",
            ),
            Some(o) => host(&mut c, old, o, h),
        }
    }
    for o in &old.hosts {
        if new.host(&o.name).is_none() {
            c.host(
                o,
                Kind::HostRemoved,
                Severity::Disruptive,
                "host removed from the spec (the machine keeps its last deployment and gets no more updates)",
            );
        }
    }
    for s in &new.services {
        match old.service(&s.name) {
            None => service_added(&mut c, old, new, s),
            Some(o) => service(&mut c, o, s),
        }
    }
    for o in &old.services {
        if new.service(&o.name).is_none() {
            let (severity, text) = if o.has_data {
                (
                    Severity::Risk,
                    format!(
                        "{}: removed (its data stays on {}, no longer snapshotted or backed up)",
                        o.name, o.host
                    ),
                )
            } else {
                (Severity::Change, format!("{}: removed", o.name))
            };
            c.push(
                Kind::ServiceRemoved,
                severity,
                Some(&o.host),
                Some(&o.name),
                text,
            );
        }
    }
    dirs(&mut c, old, new);
    plain_datasets(&mut c, old, new);
    secrets(&mut c, old, new);

    let mut blocks = vec![None];
    blocks.extend(new.hosts.iter().map(|h| Some(h.name.clone())));
    blocks.extend(
        old.hosts
            .iter()
            .filter(|h| new.host(&h.name).is_none())
            .map(|h| Some(h.name.clone())),
    );
    let addresses = new
        .hosts
        .iter()
        .filter_map(|h| {
            let o = old.host(&h.name)?;
            (o.address != h.address).then(|| (h.name.clone(), o.address.clone(), h.address.clone()))
        })
        .collect();
    Changes::new(c.list, blocks, addresses)
}

#[derive(Default)]
struct Collect {
    list: Vec<Change>,
}

impl Collect {
    fn push(
        &mut self,
        kind: Kind,
        severity: Severity,
        host: Option<&str>,
        service: Option<&str>,
        text: String,
    ) {
        self.list.push(Change {
            kind,
            severity,
            host: host.map(str::to_string),
            service: service.map(str::to_string),
            text,
        });
    }

    fn host(&mut self, h: &HostFacts, kind: Kind, severity: Severity, text: impl Into<String>) {
        self.push(kind, severity, Some(&h.name), None, text.into());
    }

    /// A new way into the whole fleet: a risk, but on a first build the
    /// admin's own setup, a change.
    fn way_in(&mut self, kind: Kind, first: bool, text: String) {
        let severity = if first {
            Severity::Change
        } else {
            Severity::Risk
        };
        self.push(kind, severity, None, None, text);
    }
}

/// What the spec says once for every host: the admin keys, the offsite
/// repository, the replica host.
fn fleet(c: &mut Collect, old: &Facts, new: &Facts) {
    // On a first build the keys are the admin's own, not a new way in.
    let first = old.hosts.is_empty();
    for k in new
        .admin_keys
        .iter()
        .filter(|k| !old.admin_keys.contains(k))
    {
        c.way_in(
            Kind::AdminKey,
            first,
            format!(
                "admin key added: {} (logs in to every host and decrypts every secret)",
                key_name(k)
            ),
        );
    }
    for k in old
        .admin_keys
        .iter()
        .filter(|k| !new.admin_keys.contains(k))
    {
        c.push(
            Kind::AdminKey,
            Severity::Change,
            None,
            None,
            format!(
                "admin key removed: {} (re-encrypt the secrets: `homelab secrets rekey`)",
                key_name(k)
            ),
        );
    }
    match (&old.backup, &new.backup) {
        (None, Some(r)) => c.push(
            Kind::Backup,
            Severity::Change,
            None,
            None,
            format!("offsite backup added: {r}"),
        ),
        (Some(r), None) => c.push(
            Kind::Backup,
            Severity::Risk,
            None,
            None,
            format!("offsite backup removed: nothing is copied to {r} any more"),
        ),
        (Some(a), Some(b)) if a != b => c.push(
            Kind::Backup,
            Severity::Change,
            None,
            None,
            format!(
                "offsite repository {a} → {b} (backups start over there; {a} keeps its snapshots)"
            ),
        ),
        _ => {}
    }
    match (&old.replica, &new.replica) {
        (None, Some(h)) => c.push(
            Kind::Replica,
            Severity::Change,
            None,
            None,
            format!("replica on {h} added: critical datasets get a second copy there"),
        ),
        (Some(h), None) => c.push(
            Kind::Replica,
            Severity::Risk,
            None,
            None,
            format!("replica on {h} removed: critical datasets lose their second copy"),
        ),
        (Some(a), Some(b)) if a != b => c.push(
            Kind::Replica,
            Severity::Change,
            None,
            None,
            format!(
                "replica host {a} → {b} (the copies start over on {b}; {a} keeps the old ones)"
            ),
        ),
        _ => {}
    }
}

/// The admin devices of the tailnet added and removed: a device added
/// (or moved to another address) reaches every `admins` service.
fn admin_devices(c: &mut Collect, old: &Facts, new: &Facts) {
    let first = old.hosts.is_empty();
    for (name, address) in new
        .admin_devices
        .iter()
        .filter(|d| !old.admin_devices.contains(d))
    {
        c.way_in(
            Kind::AdminDevice,
            first,
            format!(
                "admin device added: `{name}` at {address} (reaches the `admins` services from the tailnet)"
            ),
        );
    }
    for (name, address) in old
        .admin_devices
        .iter()
        .filter(|d| !new.admin_devices.contains(d))
    {
        c.push(
            Kind::AdminDevice,
            Severity::Change,
            None,
            None,
            format!(
                "admin device removed: `{name}` at {address} (no longer reaches the `admins` services)"
            ),
        );
    }
}

/// `admin@laptop` for a key with a comment, else the start of the key.
fn key_name(key: &str) -> String {
    let mut words = key.split_whitespace();
    let (kind, body, comment) = (words.next(), words.next(), words.next());
    match (comment, body) {
        (Some(c), _) => format!("`{c}`"),
        (None, Some(b)) => format!("`{} {}…`", kind.unwrap_or(""), &b[..b.len().min(16)]),
        (None, None) => format!("`{key}`"),
    }
}

/// A host in both fleets: its identity, disks and what it runs.
fn host(c: &mut Collect, old_facts: &Facts, o: &HostFacts, h: &HostFacts) {
    if o.address != h.address {
        c.host(
            h,
            Kind::Address,
            Severity::Disruptive,
            format!(
                "address {} → {} (deploys go to the new address; the hosts that reach its services are told the new one)",
                o.address, h.address
            ),
        );
    }
    if o.system != h.system {
        c.host(
            h,
            Kind::System,
            Severity::Disruptive,
            format!(
                "system {} → {} (another architecture: the host must be reinstalled)",
                o.system, h.system
            ),
        );
    }
    if o.role != h.role {
        c.host(
            h,
            Kind::Role,
            Severity::Change,
            format!("role {} → {}", o.role, h.role),
        );
    }
    if o.state_version != h.state_version {
        c.host(
            h,
            Kind::StateVersion,
            Severity::Disruptive,
            format!(
                "state_version {} → {} (data formats and paths of services follow it; an installed host keeps the one it was installed with)",
                o.state_version, h.state_version
            ),
        );
    }
    if o.host_id != h.host_id {
        c.host(
            h,
            Kind::HostId,
            Severity::Disruptive,
            format!(
                "host id {} → {} (follows `[homelab] name`; ZFS may refuse at boot to import pools last used under the old id)",
                o.host_id, h.host_id
            ),
        );
    }
    boot(c, o, h);
    for p in &h.pools {
        match o.pools.iter().find(|x| x.name == p.name) {
            None => c.host(
                h,
                Kind::Pool,
                Severity::Disruptive,
                format!(
                    "pool `{}` added ({}) (disko creates pools only at install: create it on the running host before deploying)",
                    p.name,
                    pool_layout(p)
                ),
            ),
            Some(op) => pool(c, h, op, p),
        }
    }
    for p in &o.pools {
        if !h.pools.iter().any(|x| x.name == p.name) {
            c.host(
                h,
                Kind::Pool,
                Severity::Disruptive,
                format!(
                    "pool `{}` removed (its datasets are no longer mounted; the disks keep their data)",
                    p.name
                ),
            );
        }
    }
    for x in h.hardware.iter().filter(|x| !o.hardware.contains(x)) {
        c.host(
            h,
            Kind::Hardware,
            Severity::Change,
            format!("hardware `{x}` added"),
        );
    }
    for x in o.hardware.iter().filter(|x| !h.hardware.contains(x)) {
        c.host(
            h,
            Kind::Hardware,
            Severity::Change,
            format!("hardware `{x}` removed"),
        );
    }
    for i in h
        .infrastructure
        .iter()
        .filter(|i| !o.infrastructure.contains(i))
    {
        c.host(
            h,
            Kind::Infrastructure,
            Severity::Change,
            format!("now runs {i}"),
        );
    }
    for i in o
        .infrastructure
        .iter()
        .filter(|i| !h.infrastructure.contains(i))
    {
        let with_data = old_facts.dirs.iter().any(|d| {
            !d.service && d.owner == *i && d.host == o.name && d.class != DataClass::Disposable
        });
        if with_data {
            c.host(
                h,
                Kind::Infrastructure,
                Severity::Risk,
                format!("no longer runs {i} (its data stays on disk, no longer snapshotted or backed up)"),
            );
        } else {
            c.host(
                h,
                Kind::Infrastructure,
                Severity::Change,
                format!("no longer runs {i}"),
            );
        }
    }
}

fn boot(c: &mut Collect, o: &HostFacts, h: &HostFacts) {
    const AT_INSTALL: &str =
        "disko applies it only when the host is installed again, erasing the disk";
    match (&o.boot, &h.boot) {
        (None, Some(b)) => c.host(
            h,
            Kind::Boot,
            Severity::Disruptive,
            format!(
                "boot disk declared: {} with {} (the root file system now comes from disko.nix; it must match the installed disk)",
                b.disk, b.fs
            ),
        ),
        (Some(b), None) => c.host(
            h,
            Kind::Boot,
            Severity::Disruptive,
            format!(
                "boot disk {} no longer declared (the root file system no longer comes from disko.nix)",
                b.disk
            ),
        ),
        (Some(a), Some(b)) => {
            if a.disk != b.disk {
                c.host(
                    h,
                    Kind::Boot,
                    Severity::Disruptive,
                    format!("boot disk {} → {} ({AT_INSTALL})", a.disk, b.disk),
                );
            }
            if a.fs != b.fs {
                c.host(
                    h,
                    Kind::Boot,
                    Severity::Disruptive,
                    format!("boot fs {} → {} ({AT_INSTALL})", a.fs, b.fs),
                );
            }
            if a.swap != b.swap {
                c.host(
                    h,
                    Kind::Boot,
                    Severity::Disruptive,
                    format!(
                        "swap {} → {} ({AT_INSTALL})",
                        size_or(a.swap, "none"),
                        size_or(b.swap, "none")
                    ),
                );
            }
        }
        (None, None) => {}
    }
}

fn pool_layout(p: &PoolFacts) -> String {
    let n = p.disks.len();
    format!("{} of {n} disk{}", p.mode, if n == 1 { "" } else { "s" })
}

fn pool(c: &mut Collect, h: &HostFacts, o: &PoolFacts, p: &PoolFacts) {
    const RECREATE: &str =
        "disko applies it only when the host is installed again, erasing the pool's disks";
    if o.mode != p.mode {
        c.host(
            h,
            Kind::Pool,
            Severity::Disruptive,
            format!(
                "pool `{}`: mode {} → {} ({RECREATE})",
                p.name, o.mode, p.mode
            ),
        );
    }
    let added: Vec<&str> = p
        .disks
        .iter()
        .filter(|d| !o.disks.contains(d))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = o
        .disks
        .iter()
        .filter(|d| !p.disks.contains(d))
        .map(String::as_str)
        .collect();
    if !added.is_empty() || !removed.is_empty() {
        let mut what = Vec::new();
        if !added.is_empty() {
            what.push(format!("added {}", added.join(", ")));
        }
        if !removed.is_empty() {
            what.push(format!("removed {}", removed.join(", ")));
        }
        c.host(
            h,
            Kind::Pool,
            Severity::Disruptive,
            format!("pool `{}`: disks {} ({RECREATE})", p.name, what.join("; ")),
        );
    }
    if o.size != p.size {
        c.host(
            h,
            Kind::Pool,
            Severity::Change,
            format!(
                "pool `{}`: size {} → {} (the quota budget)",
                p.name,
                o.size.zfs(),
                p.size.zfs()
            ),
        );
    }
    if o.compression != p.compression {
        c.host(
            h,
            Kind::Pool,
            Severity::Change,
            format!(
                "pool `{}`: compression {} → {} (applies to data written from now on)",
                p.name, o.compression, p.compression
            ),
        );
    }
}

/// Where a service is reached from at an exposure, for the text.
fn reach(e: Exposure) -> &'static str {
    match e {
        Exposure::Host => "its host only",
        Exposure::Lan => "the LAN",
        Exposure::Admins => "the admin devices on the tailnet",
        Exposure::Tailnet => "the tailnet",
        Exposure::Public => "the internet through the tunnel",
    }
}

fn service_added(c: &mut Collect, old: &Facts, new: &Facts, s: &ServiceFacts) {
    let url = s
        .public_fqdn
        .as_ref()
        .or(s.fqdn.as_ref())
        .map(|f| format!(": https://{f}"))
        .unwrap_or_default();
    let (severity, text) = if s.exposure == Exposure::Public {
        (
            Severity::Risk,
            format!(
                "{}: added, public (reachable from {}{url})",
                s.name,
                reach(Exposure::Public)
            ),
        )
    } else {
        (
            Severity::Change,
            format!("{}: added ({}{url})", s.name, s.exposure.as_str()),
        )
    };
    c.push(
        Kind::ServiceAdded,
        severity,
        Some(&s.host),
        Some(&s.name),
        text,
    );
    new_datasets(c, old, new, &s.name, &s.host);
}

/// The datasets of an owner that a host already installed has to get by
/// hand: disko creates datasets only at install.
fn new_datasets(c: &mut Collect, old: &Facts, new: &Facts, owner: &str, host: &str) {
    if old.host(host).is_none() {
        return;
    }
    let datasets: Vec<&str> = new
        .dirs
        .iter()
        .filter(|d| d.owner == owner && d.host == host)
        .filter_map(|d| d.dataset.as_deref())
        .collect();
    if datasets.is_empty() {
        return;
    }
    let plural = datasets.len() > 1;
    c.push(
        Kind::Dataset,
        Severity::Disruptive,
        Some(host),
        Some(owner),
        format!(
            "{owner}: new dataset{} {} (disko creates datasets only at install: create {} on the running host before deploying)",
            if plural { "s" } else { "" },
            datasets.join(", "),
            if plural { "them" } else { "it" }
        ),
    );
}

/// A service in both fleets.
fn service(c: &mut Collect, o: &ServiceFacts, s: &ServiceFacts) {
    let name = &s.name;
    if o.host != s.host {
        // The host it leaves hears of it too.
        c.push(
            Kind::ServiceMoved,
            Severity::Change,
            Some(&o.host),
            Some(name),
            format!(
                "{name}: moved to {} (it stops here{})",
                s.host,
                if o.has_data { "; its data stays" } else { "" }
            ),
        );
    }
    let mut push = |kind, severity, text: String| {
        c.push(kind, severity, Some(&s.host), Some(&s.name), text);
    };
    if o.host != s.host {
        if o.has_data {
            push(
                Kind::ServiceMoved,
                Severity::Risk,
                format!(
                    "{name}: moved from {} to {} (its data does not move: it stays on {}; restore it here from a backup)",
                    o.host, s.host, o.host
                ),
            );
        } else {
            push(
                Kind::ServiceMoved,
                Severity::Change,
                format!("{name}: moved from {} to {}", o.host, s.host),
            );
        }
    }
    if o.entry != s.entry {
        push(
            Kind::Entry,
            Severity::Change,
            format!("{name}: catalog entry {} → {}", o.entry, s.entry),
        );
    }
    if o.exposure < s.exposure {
        push(
            Kind::Exposure,
            Severity::Risk,
            format!(
                "{name}: exposure {} → {} (now reachable from {})",
                o.exposure.as_str(),
                s.exposure.as_str(),
                reach(s.exposure)
            ),
        );
    } else if o.exposure > s.exposure {
        push(
            Kind::Exposure,
            Severity::Change,
            format!(
                "{name}: exposure {} → {} (no longer reachable from {})",
                o.exposure.as_str(),
                s.exposure.as_str(),
                lost_reach(s.exposure, o.exposure)
            ),
        );
    }
    if o.sign_in != s.sign_in {
        let (severity, why) = match (&o.gateway, &s.gateway) {
            (Some(_), None) => (
                Severity::Risk,
                " (the sign-in gateway no longer guards it)".to_string(),
            ),
            (Some(a), Some(b)) if !a.is_empty() && b.is_empty() => (
                Severity::Risk,
                " (any signed-in user gets through the gateway)".to_string(),
            ),
            (Some(a), Some(b)) if !a.is_empty() && b.iter().any(|g| !a.contains(g)) => (
                Severity::Risk,
                " (more groups get through the gateway)".to_string(),
            ),
            _ => (Severity::Change, String::new()),
        };
        push(
            Kind::SignIn,
            severity,
            format!("{name}: sign-in {} → {}{why}", o.sign_in, s.sign_in),
        );
    }
    if o.port != s.port {
        push(
            Kind::Port,
            Severity::Change,
            format!(
                "{name}: port {} → {}",
                port_or_none(o.port),
                port_or_none(s.port)
            ),
        );
    }
    if let (Some(a), Some(b)) = (&o.fqdn, &s.fqdn)
        && a != b
    {
        push(
            Kind::Name,
            Severity::Change,
            format!("{name}: name {a} → {b}"),
        );
    }
    if let (Some(a), Some(b)) = (&o.public_fqdn, &s.public_fqdn)
        && a != b
    {
        push(
            Kind::Name,
            Severity::Change,
            format!("{name}: public name {a} → {b}"),
        );
    }
    for (k, v) in &s.settings {
        match o.settings.get(k) {
            None => push(
                Kind::Settings,
                Severity::Change,
                format!("{name}: nixos setting `{k}` = {v} added"),
            ),
            Some(ov) if ov != v => push(
                Kind::Settings,
                Severity::Change,
                format!("{name}: nixos setting `{k}` {ov} → {v}"),
            ),
            Some(_) => {}
        }
    }
    for (k, v) in &o.settings {
        if !s.settings.contains_key(k) {
            push(
                Kind::Settings,
                Severity::Change,
                format!("{name}: nixos setting `{k}` = {v} removed"),
            );
        }
    }
}

/// The reach lost when exposure narrows from `old` to `new`, widest first.
fn lost_reach(new: Exposure, old: Exposure) -> String {
    // The tailnet includes its admin devices: name them only when the
    // rest of the tailnet did not reach it before either.
    let lost: Vec<&str> = [
        Exposure::Public,
        Exposure::Tailnet,
        Exposure::Admins,
        Exposure::Lan,
    ]
    .into_iter()
    .filter(|e| *e > new && *e <= old)
    .filter(|e| *e != Exposure::Admins || old == Exposure::Admins)
    .map(|e| match e {
        Exposure::Public => "the internet",
        Exposure::Tailnet if new == Exposure::Admins => "the tailnet but its admin devices",
        Exposure::Tailnet => "the tailnet",
        Exposure::Admins => "the admin devices on the tailnet",
        _ => "the LAN",
    })
    .collect();
    match lost.as_slice() {
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
        [] => String::new(),
    }
}

fn port_or_none(p: Option<u16>) -> String {
    p.map_or("none".into(), |p| p.to_string())
}

fn size_or(s: Option<Size>, none: &str) -> String {
    s.map_or(none.into(), Size::zfs)
}

/// What protects each state directory, for directories whose owner is in
/// both fleets.
fn dirs(c: &mut Collect, old: &Facts, new: &Facts) {
    // Losses and gains of one owner, grouped into one line each.
    let mut grouped: Vec<(Group, Vec<String>)> = Vec::new();
    let mut group = |g: Group, state: &str| match grouped.iter_mut().find(|(x, _)| *x == g) {
        Some((_, states)) => states.push(format!("`{state}`")),
        None => grouped.push((g, vec![format!("`{state}`")])),
    };
    let mut moved_owners: Vec<(String, String)> = Vec::new();
    for d in &new.dirs {
        let key: DirKey = d.key();
        let Some(o) = old.dir(&key) else {
            continue;
        };
        if d.service && o.host != d.host {
            // A moved service: its data does not follow (the move says
            // so); the datasets to create on an installed host are named.
            if !moved_owners.contains(&(d.owner.clone(), d.host.clone())) {
                moved_owners.push((d.owner.clone(), d.host.clone()));
            }
            continue;
        }
        dir(c, o, d);
        let mut note = |lost: bool, what: What| {
            group(
                Group {
                    owner: d.owner.clone(),
                    host: d.host.clone(),
                    service: d.service,
                    lost,
                    what,
                },
                &d.state,
            );
        };
        if o.kept.is_some() != d.kept.is_some() {
            note(o.kept.is_some(), What::Snapshots);
        }
        if old.replica == new.replica && o.replica != d.replica {
            note(o.replica.is_some(), What::Replica(new.replica.clone()));
        }
        if old.backup.is_some() && new.backup.is_some() && o.offsite != d.offsite {
            note(o.offsite, What::Offsite);
        }
    }
    for (owner, host) in moved_owners {
        new_datasets(c, old, new, &owner, &host);
    }
    // Infrastructure that starts on a host already installed.
    for h in &new.hosts {
        let Some(oh) = old.host(&h.name) else {
            continue;
        };
        for i in h
            .infrastructure
            .iter()
            .filter(|i| !oh.infrastructure.contains(i))
        {
            new_datasets(c, old, new, i, &h.name);
        }
    }
    for (g, states) in grouped {
        let (severity, text) = match (&g.what, g.lost) {
            (What::Snapshots, true) => (Severity::Risk, "no longer snapshotted".to_string()),
            (What::Snapshots, false) => (Severity::Change, "now snapshotted".to_string()),
            (What::Replica(h), true) => (
                Severity::Risk,
                format!(
                    "no longer replicated to {}",
                    h.as_deref().unwrap_or("the replica host")
                ),
            ),
            (What::Replica(h), false) => (
                Severity::Change,
                format!(
                    "now replicated to {}",
                    h.as_deref().unwrap_or("the replica host")
                ),
            ),
            (What::Offsite, true) => (Severity::Risk, "no longer copied offsite".to_string()),
            (What::Offsite, false) => (Severity::Change, "now copied offsite".to_string()),
        };
        let kind = match g.what {
            What::Snapshots => Kind::Snapshots,
            What::Replica(_) => Kind::Replica,
            What::Offsite => Kind::Offsite,
        };
        c.push(
            kind,
            severity,
            Some(&g.host),
            g.service.then_some(g.owner.as_str()),
            format!("{}: {} {text}", g.owner, states.join(", ")),
        );
    }
}

#[derive(PartialEq, Eq)]
struct Group {
    owner: String,
    host: String,
    service: bool,
    lost: bool,
    what: What,
}

#[derive(PartialEq, Eq)]
enum What {
    Snapshots,
    /// The replica host (the same in both fleets).
    Replica(Option<String>),
    Offsite,
}

/// Plain datasets added or removed. A new one on an installed host is
/// made by hand (disko makes datasets only at install); how it is
/// protected is said here, once: a disposable one is never backed up.
fn plain_datasets(c: &mut Collect, old: &Facts, new: &Facts) {
    for d in new.dirs.iter().filter(|d| d.plain) {
        if old.dir(&d.key()).is_some() {
            continue;
        }
        let protection = match (d.class, d.offsite) {
            (DataClass::Disposable, _) => "never backed up",
            (_, true) => "backed up",
            (_, false) => "not backed up: the spec has no `[backup]`",
        };
        let (severity, make) = if old.host(&d.host).is_some() {
            (
                Severity::Disruptive,
                "; disko creates datasets only at install: create it on the running host before deploying",
            )
        } else {
            (Severity::Change, "")
        };
        c.push(
            Kind::Dataset,
            severity,
            Some(&d.host),
            None,
            format!(
                "{}: new dataset {} at {} ({}, {protection}{make})",
                d.owner,
                d.dataset.as_deref().unwrap_or("-"),
                d.path,
                d.class.as_str()
            ),
        );
    }
    for o in old.dirs.iter().filter(|d| d.plain) {
        if new.dir(&o.key()).is_none() {
            c.push(
                Kind::Dataset,
                Severity::Risk,
                Some(&o.host),
                None,
                format!(
                    "{}: dataset removed (its data stays in {}, no longer snapshotted or backed up)",
                    o.owner,
                    o.dataset.as_deref().unwrap_or(&o.path)
                ),
            );
        }
    }
}

/// One state directory in both fleets, on the same host.
fn dir(c: &mut Collect, o: &DirFacts, d: &DirFacts) {
    let owner = &d.owner;
    let state = &d.state;
    let service = d.service.then_some(owner.as_str());
    let mut push = |kind, severity, text: String| {
        c.push(kind, severity, Some(&d.host), service, text);
    };
    match (&o.dataset, &d.dataset) {
        (Some(a), Some(b)) if a != b => push(
            Kind::Dataset,
            Severity::Risk,
            format!(
                "{owner}: `{state}` dataset {a} → {b} (the data does not move; the new dataset starts empty)"
            ),
        ),
        (Some(a), None) => push(
            Kind::Dataset,
            Severity::Risk,
            format!(
                "{owner}: `{state}` loses its dataset {a} (no longer mounted at {}; the service starts on an empty folder)",
                o.path
            ),
        ),
        (None, Some(b)) => push(
            Kind::Dataset,
            Severity::Disruptive,
            format!(
                "{owner}: `{state}` gets dataset {b} (disko creates datasets only at install: create it on the running host and move {} into it before deploying)",
                d.path
            ),
        ),
        _ => {}
    }
    if o.path != d.path {
        push(
            Kind::Path,
            Severity::Disruptive,
            format!(
                "{owner}: `{state}` path {} → {} (the files are not moved)",
                o.path, d.path
            ),
        );
    }
    if o.class != d.class {
        let severity = if d.class > o.class {
            Severity::Risk
        } else {
            Severity::Change
        };
        push(
            Kind::DataClass,
            severity,
            format!(
                "{owner}: `{state}` data class {} → {}",
                o.class.as_str(),
                d.class.as_str()
            ),
        );
    }
    if let (Some(a), Some(b)) = (&o.kept, &d.kept)
        && a != b
    {
        let fewer = a
            .counts()
            .iter()
            .zip(b.counts())
            .any(|((_, x), (_, y))| y < *x);
        push(
            Kind::Snapshots,
            if fewer {
                Severity::Risk
            } else {
                Severity::Change
            },
            format!(
                "{owner}: `{state}` snapshots kept {} → {}",
                a.kept(),
                b.kept()
            ),
        );
    }
    if o.quota != d.quota && d.dataset.is_some() {
        push(
            Kind::Quota,
            Severity::Change,
            format!(
                "{owner}: `{state}` quota {} → {}",
                size_or(o.quota, "none"),
                size_or(d.quota, "none")
            ),
        );
    }
    if o.recordsize != d.recordsize && d.dataset.is_some() {
        push(
            Kind::Recordsize,
            Severity::Change,
            format!(
                "{owner}: `{state}` recordsize {} → {} (applies to files written from now on)",
                o.recordsize, d.recordsize
            ),
        );
    }
}

/// Secrets, in the block of each host that starts or stops decrypting
/// one; a secret only the admin reads is fleet-wide.
fn secrets(c: &mut Collect, old: &Facts, new: &Facts) {
    for (name, hosts) in &new.secrets {
        let before = old.secrets.get(name);
        let make = format!("make it: `homelab secrets set {name}` or `homelab secrets generate`");
        if hosts.is_empty() && before.is_none() {
            c.push(
                Kind::Secret,
                Severity::Change,
                None,
                None,
                format!("secret `{name}` added ({make})"),
            );
        }
        for h in hosts {
            let text = match before {
                None => format!("secret `{name}` added, decrypted here ({make})"),
                Some(b) if !b.contains(h) => format!(
                    "secret `{name}` now decrypted here (re-encrypt it: `homelab secrets rekey`)"
                ),
                Some(_) => continue,
            };
            c.push(Kind::Secret, Severity::Change, Some(h), None, text);
        }
        if let Some(b) = before {
            for h in b.iter().filter(|h| !hosts.contains(h)) {
                c.push(
                    Kind::Secret,
                    Severity::Change,
                    Some(h),
                    None,
                    format!(
                        "secret `{name}` no longer decrypted here (re-encrypt it: `homelab secrets rekey`)"
                    ),
                );
            }
        }
    }
    for (name, hosts) in &old.secrets {
        if new.secrets.contains_key(name) {
            continue;
        }
        if hosts.is_empty() {
            c.push(
                Kind::Secret,
                Severity::Change,
                None,
                None,
                format!("secret `{name}` removed"),
            );
        }
        for h in hosts {
            c.push(
                Kind::Secret,
                Severity::Change,
                Some(h),
                None,
                format!("secret `{name}` removed (no longer decrypted here)"),
            );
        }
    }
}
