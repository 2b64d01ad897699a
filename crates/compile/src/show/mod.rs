//! `homelab show`: the tables homelab owners keep by hand (port map,
//! access matrix, storage budget, snapshot plan, RAM budget, dependency
//! graph, backup coverage), computed from the fleet so they cannot drift.

pub mod entries;
mod network;
mod table;

pub use table::{Cell, Table};

use crate::catalog;
use crate::fleet::{Fleet, policy};
use crate::spec::{Exposure, Size};

/// The tables `show` knows, in the order `--help` lists them.
pub const TABLES: [&str; 8] = [
    "ports",
    "exposure",
    "storage",
    "snapshots",
    "resources",
    "graph",
    "backups",
    "network",
];

pub fn table(fleet: &Fleet, name: &str) -> Option<Table> {
    Some(match name {
        "ports" => ports(fleet),
        "exposure" => exposure(fleet),
        "storage" => storage(fleet),
        "snapshots" => snapshots(fleet),
        "resources" => resources(fleet),
        "graph" => graph(fleet),
        "backups" => backups(fleet),
        "network" => network::network(fleet),
        _ => return None,
    })
}

/// Every listening port per host: services and infrastructure.
pub fn ports(fleet: &Fleet) -> Table {
    let mut t = Table::new(
        "Port map",
        &["host", "service", "port", "bind", "exposure", "url"],
    );
    for host in &fleet.hosts {
        let mut rows: Vec<(u16, Vec<Cell>)> = Vec::new();
        for p in fleet.infrastructure_ports(host) {
            rows.push((
                p.port,
                vec![
                    host.name().into(),
                    p.owner.into(),
                    u64::from(p.port).into(),
                    p.bind.into(),
                    "infrastructure".into(),
                    Cell::from(None::<String>),
                ],
            ));
        }
        for i in fleet.instances_on(host.name()) {
            for (n, port) in i.port.iter().chain(&i.entry.extra_ports).enumerate() {
                // Extra ports (workers, gRPC) are never proxied.
                let (url, exposure) = if n == 0 {
                    (i.url(), i.exposure.value.as_str())
                } else {
                    (None, "host")
                };
                rows.push((
                    *port,
                    vec![
                        host.name().into(),
                        i.name.value.as_str().into(),
                        u64::from(*port).into(),
                        instance_bind(i, n, *port).into(),
                        exposure.into(),
                        url.into(),
                    ],
                ));
            }
        }
        rows.sort_by_key(|(p, _)| *p);
        for (_, row) in rows {
            t.row(row);
        }
    }
    t
}

/// An instance's `n`th port: a service confined to the VPN namespace is
/// reached at the namespace's address, not on the host's localhost; the
/// main port of one other hosts reach listens on the wired address.
fn instance_bind(i: &crate::fleet::Instance, n: usize, port: u16) -> String {
    if i.confined() {
        return crate::fleet::VPN_NAMESPACE_ADDRESS.to_string();
    }
    if n == 0 && i.bind != crate::fleet::BIND_ADDRESS {
        let wildcard = i
            .entry
            .port
            .is_some_and(|p| i.entry.wildcard_ports.contains(&p));
        if !wildcard {
            return i.bind.clone();
        }
    }
    let default = if n == 0 {
        i.entry.port.unwrap_or(port)
    } else {
        port
    };
    crate::fleet::port_bind(i.entry, port, default)
}

/// Who can reach each service, the access matrix.
pub fn exposure(fleet: &Fleet) -> Table {
    let mut t = Table::new(
        "Access matrix (services listen on 127.0.0.1; reached through the proxy or the tunnel)",
        &[
            "service",
            "host",
            "exposure",
            "lan",
            "tailnet",
            "tunnel",
            "internal url",
            "public url",
            "sign-in",
        ],
    );
    for i in &fleet.instances {
        let e = i.exposure.value;
        let sign_in = fleet.sso.as_ref().map_or_else(
            || crate::fleet::own_sign_in(i).to_string(),
            |p| p.sign_in(i),
        );
        let mark = |open: bool| Cell::with_text(open, if open { "✓" } else { "✗" });
        t.row(vec![
            i.name.value.as_str().into(),
            i.host.as_str().into(),
            e.as_str().into(),
            mark(e >= Exposure::Lan && i.fqdn.is_some()),
            tailnet_cell(e, i.fqdn.is_some()),
            mark(i.public_fqdn.is_some()),
            i.fqdn
                .as_ref()
                .map(|f| format!("https://{}", f.value))
                .into(),
            i.public_fqdn
                .as_ref()
                .map(|f| format!("https://{}", f.value))
                .into(),
            sign_in.into(),
        ]);
    }
    t
}

/// Whether the tailnet reaches a name: `✓` all of it, `admins` its admin
/// devices only (`false` in JSON: not the tailnet as a whole).
fn tailnet_cell(e: Exposure, served: bool) -> Cell {
    match e {
        Exposure::Admins if served => Cell::with_text(false, "admins"),
        _ => {
            let open = served && e >= Exposure::Tailnet;
            Cell::with_text(open, if open { "✓" } else { "✗" })
        }
    }
}

fn size_cell(s: Option<Size>) -> Cell {
    match s {
        Some(s) => Cell::with_text(s.0, s.zfs()),
        None => Cell::with_text(serde_json::Value::Null, "-"),
    }
}

/// Datasets per pool with quotas, and the quota total against pool size.
pub fn storage(fleet: &Fleet) -> Table {
    let mut t = Table::new(
        "Storage allocation",
        &[
            "host",
            "pool",
            "dataset",
            "mountpoint",
            "class",
            "recordsize",
            "quota",
        ],
    );
    for host in &fleet.hosts {
        for pool in &host.spec.pools {
            let mut total = 0u64;
            let mut unbounded = 0;
            for (_, d) in fleet.data_on(host) {
                let Some((p, name)) = &d.dataset else {
                    continue;
                };
                if p != &pool.name.value {
                    continue;
                }
                match d.quota {
                    Some(q) => total += q.0,
                    None => unbounded += 1,
                }
                t.row(vec![
                    host.name().into(),
                    p.as_str().into(),
                    format!("{p}/{name}").into(),
                    d.path.as_str().into(),
                    d.class.as_str().into(),
                    d.recordsize.as_str().into(),
                    size_cell(d.quota),
                ]);
            }
            for q in fleet.projects_on(host.name(), &pool.name.value) {
                let (p, name) = q.dataset.as_ref().expect("projects_on keeps datasets");
                t.row(vec![
                    host.name().into(),
                    p.as_str().into(),
                    format!("{p}/{name} project {}", q.id).into(),
                    q.path.as_str().into(),
                    "project".into(),
                    "-".into(),
                    size_cell(Some(q.size.value)),
                ]);
            }
            total += fleet.project_excess(host, &pool.name.value);
            let size = pool.size.value.0;
            let pct = if size == 0 {
                0.0
            } else {
                total as f64 * 100.0 / size as f64
            };
            t.notes.push(format!(
                "{}/{}: quotas total {} of {} ({pct:.0}%), {} free{}",
                host.name(),
                pool.name.value,
                Size(total).zfs(),
                pool.size.value.zfs(),
                Size(size.saturating_sub(total)).zfs(),
                if unbounded > 0 {
                    format!("; {unbounded} dataset(s) without a quota")
                } else {
                    String::new()
                },
            ));
        }
        for (_, d) in fleet
            .data_on(host)
            .into_iter()
            .filter(|(_, d)| d.dataset.is_none())
        {
            t.row(vec![
                host.name().into(),
                "-".into(),
                "- (root file system)".into(),
                d.path.as_str().into(),
                d.class.as_str().into(),
                "-".into(),
                size_cell(d.quota),
            ]);
        }
    }
    t
}

/// What is snapshotted how often, per dataset.
pub fn snapshots(fleet: &Fleet) -> Table {
    let mut t = Table::new(
        "Snapshot strategy (snapshots kept)",
        &[
            "dataset", "class", "15 min", "hourly", "daily", "weekly", "monthly", "yearly",
        ],
    );
    for host in &fleet.hosts {
        for (_, d) in fleet.data_on(host) {
            let name = match &d.dataset {
                Some((pool, name)) => format!("{pool}/{name}"),
                None => format!("{} (no dataset: not snapshotted)", d.path),
            };
            let p = d.snapshots();
            let n = |f: fn(&policy::SnapshotPolicy) -> u32| match &p {
                Some(p) => Cell::from(u64::from(f(p))),
                None => Cell::with_text(0, "-"),
            };
            t.row(vec![
                name.into(),
                d.class.as_str().into(),
                n(|p| p.frequently),
                n(|p| p.hourly),
                n(|p| p.daily),
                n(|p| p.weekly),
                n(|p| p.monthly),
                n(|p| p.yearly),
            ]);
        }
    }
    t
}

/// Catalog RAM estimates against each host's memory.
pub fn resources(fleet: &Fleet) -> Table {
    let mut t = Table::new(
        "RAM budget (catalog estimates)",
        &["host", "component", "kind", "ram"],
    );
    let mib = |m: u64| Cell::with_text(m, format!("{m} MiB"));
    for host in &fleet.hosts {
        let mut total = 0u64;
        for infra in &host.infrastructure {
            let e = catalog::get(infra).expect("infrastructure entries exist");
            total += u64::from(e.ram_mb);
            t.row(vec![
                host.name().into(),
                e.title.as_str().into(),
                "infrastructure".into(),
                mib(e.ram_mb.into()),
            ]);
        }
        for i in fleet.instances_on(host.name()) {
            total += u64::from(i.entry.ram_mb);
            t.row(vec![
                host.name().into(),
                i.name.value.as_str().into(),
                "service".into(),
                mib(i.entry.ram_mb.into()),
            ]);
        }
        let ram = host.spec.ram_gb.value as u64 * 1024;
        t.notes.push(format!(
            "{}: {total} MiB of {ram} MiB ({:.0}%)",
            host.name(),
            total as f64 * 100.0 / ram.max(1) as f64
        ));
    }
    t
}

/// What each service needs: the dependency graph as edges.
pub fn graph(fleet: &Fleet) -> Table {
    let mut t = Table::new("Dependency graph", &["service", "host", "needs", "kind"]);
    for i in &fleet.instances {
        for dep in &i.entry.depends {
            let kind = catalog::get(dep).map_or("service", |e| match e.kind {
                catalog::Kind::Service => "service",
                catalog::Kind::Infrastructure => "infrastructure",
            });
            t.row(vec![
                i.name.value.as_str().into(),
                i.host.as_str().into(),
                dep.as_str().into(),
                kind.into(),
            ]);
        }
        // Roles: every service of the fleet that fills one the entry needs.
        for role in &i.entry.needs {
            for provider in fleet
                .instances
                .iter()
                .filter(|o| o.entry.provides.contains(role))
            {
                t.row(vec![
                    i.name.value.as_str().into(),
                    i.host.as_str().into(),
                    provider.entry.name.as_str().into(),
                    role.as_str().into(),
                ]);
            }
        }
        if i.fqdn.is_some() {
            t.row(vec![
                i.name.value.as_str().into(),
                i.host.as_str().into(),
                "caddy".into(),
                "infrastructure".into(),
            ]);
        }
        if i.public_fqdn.is_some() {
            t.row(vec![
                i.name.value.as_str().into(),
                i.host.as_str().into(),
                "cloudflared".into(),
                "infrastructure".into(),
            ]);
        }
    }
    t
}

/// Backup coverage of every state directory.
pub fn backups(fleet: &Fleet) -> Table {
    let mut t = Table::new(
        "Backup coverage",
        &[
            "host",
            "owner",
            "path",
            "class",
            "snapshots",
            "replica",
            "offsite",
            "database dump",
        ],
    );
    for host in &fleet.hosts {
        for (owner, d) in fleet.data_on(host) {
            let snap = d.snapshots().is_some();
            let replica = fleet
                .replica
                .as_ref()
                .filter(|_| fleet.replicated(host.name(), d))
                .map(|r| r.host.clone());
            let offsite = fleet.has_offsite() && d.goes_offsite();
            let database = fleet
                .instances
                .iter()
                .find(|i| i.name.value == owner)
                .and_then(|i| i.database.clone());
            t.row(vec![
                host.name().into(),
                owner.into(),
                d.path.as_str().into(),
                d.class.as_str().into(),
                snap.into(),
                replica.into(),
                offsite.into(),
                database.into(),
            ]);
        }
    }
    if fleet.backup.is_none() {
        t.notes
            .push("no [backup] target: nothing is copied offsite".into());
    } else if let Some(why) = fleet.offsite_shortfall() {
        t.notes.push(format!(
            "[backup] repository is {why}: a copy there is not offsite"
        ));
    }
    t
}
