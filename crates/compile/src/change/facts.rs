//! What `plan` compares: the facts of a fleet that a change can touch,
//! flattened into plain values (no spans, no catalog references), so two
//! fleets compare field by field and an empty fleet is `Facts::default()`.

use crate::fleet::policy::SnapshotPolicy;
use crate::fleet::{DataDir, Fleet, HostPlan, Instance};
use crate::spec::{DataClass, Exposure, RootFs, Size};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub(super) struct Facts {
    pub hosts: Vec<HostFacts>,
    pub services: Vec<ServiceFacts>,
    pub dirs: Vec<DirFacts>,
    /// Secret name → the hosts that decrypt it.
    pub secrets: BTreeMap<String, Vec<String>>,
    pub admin_keys: Vec<String>,
    /// The admin devices on the tailnet: name and address.
    pub admin_devices: Vec<(String, String)>,
    /// The offsite repository of `[backup]`.
    pub backup: Option<String>,
    /// The host that keeps replicas of the critical datasets.
    pub replica: Option<String>,
}

#[derive(Debug)]
pub(super) struct HostFacts {
    pub name: String,
    pub address: String,
    pub system: String,
    pub role: &'static str,
    pub state_version: String,
    pub host_id: String,
    pub boot: Option<BootFacts>,
    pub pools: Vec<PoolFacts>,
    pub infrastructure: Vec<&'static str>,
    pub hardware: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) struct BootFacts {
    /// The disk, or the disks of a mirror, joined with `+`.
    pub disk: String,
    pub fs: &'static str,
    pub swap: Option<Size>,
}

#[derive(Debug)]
pub(super) struct PoolFacts {
    pub name: String,
    pub mode: String,
    pub disks: Vec<String>,
    pub size: Size,
    pub compression: String,
}

#[derive(Debug)]
pub(super) struct ServiceFacts {
    pub name: String,
    pub entry: String,
    pub host: String,
    pub port: Option<u16>,
    pub exposure: Exposure,
    pub fqdn: Option<String>,
    pub public_fqdn: Option<String>,
    /// How people sign in, as `show exposure` says it.
    pub sign_in: String,
    /// The groups the sign-in gateway lets in, when it guards the service
    /// (empty: any signed-in user).
    pub gateway: Option<Vec<String>>,
    /// It keeps data worth backing up (state or a database).
    pub has_data: bool,
    /// The spec's pass-through settings: key below the module → value.
    pub settings: BTreeMap<String, String>,
}

#[derive(Debug)]
pub(super) struct DirFacts {
    pub owner: String,
    /// Owned by a service instance (else by the host's infrastructure or
    /// the spec's plain dataset).
    pub service: bool,
    /// A plain dataset of the spec (`[hosts.<h>.data.<name>]`).
    pub plain: bool,
    pub host: String,
    pub state: String,
    pub path: String,
    pub class: DataClass,
    pub recordsize: String,
    pub quota: Option<Size>,
    /// `pool/dataset`, when it has one.
    pub dataset: Option<String>,
    /// The counts kept of each period (a class's, or a schedule's); none:
    /// not snapshotted.
    pub kept: Option<SnapshotPolicy>,
    /// The host that keeps its replica.
    pub replica: Option<String>,
    pub offsite: bool,
}

/// Identifies a state directory across two fleets: a service's by owner
/// and state (wherever it runs), the infrastructure's also by host.
pub(super) type DirKey = (String, Option<String>, String);

impl DirFacts {
    pub fn key(&self) -> DirKey {
        let host = (!self.service).then(|| self.host.clone());
        (self.owner.clone(), host, self.state.clone())
    }
}

impl Facts {
    pub fn of(fleet: &Fleet) -> Facts {
        let mut dirs = Vec::new();
        for host in &fleet.hosts {
            for i in fleet.instances_on(host.name()) {
                for d in &i.data {
                    dirs.push(dir(fleet, host, &i.name.value, true, d));
                }
            }
            for (entry, d) in &host.data {
                dirs.push(dir(fleet, host, &entry.name, false, d));
            }
            for p in &host.plain_data {
                dirs.push(DirFacts {
                    plain: true,
                    ..dir(fleet, host, &p.name.value, false, &p.dir)
                });
            }
        }
        Facts {
            hosts: fleet.hosts.iter().map(host).collect(),
            services: fleet.instances.iter().map(|i| service(fleet, i)).collect(),
            dirs,
            secrets: fleet
                .secrets
                .values()
                .map(|s| (s.name.clone(), s.hosts.clone()))
                .collect(),
            admin_keys: fleet
                .homelab
                .admin_keys
                .iter()
                .map(|k| k.value.clone())
                .collect(),
            admin_devices: fleet
                .admin_devices()
                .iter()
                .map(|d| (d.name.value.clone(), d.address.value.clone()))
                .collect(),
            backup: fleet.backup.as_ref().map(|b| b.repository.value.clone()),
            replica: fleet.replica.as_ref().map(|r| r.host.clone()),
        }
    }

    pub fn host(&self, name: &str) -> Option<&HostFacts> {
        self.hosts.iter().find(|h| h.name == name)
    }

    pub fn service(&self, name: &str) -> Option<&ServiceFacts> {
        self.services.iter().find(|s| s.name == name)
    }

    pub fn dir(&self, key: &DirKey) -> Option<&DirFacts> {
        self.dirs.iter().find(|d| &d.key() == key)
    }
}

fn host(h: &HostPlan) -> HostFacts {
    let s = &h.spec;
    HostFacts {
        name: h.name().to_string(),
        address: s.address.value.clone(),
        system: s.system.value.clone(),
        role: s.role.value.as_str(),
        state_version: crate::release::state_version(
            s.state_version.as_ref().map(|v| v.value.as_str()),
        )
        .to_string(),
        host_id: h.host_id.clone(),
        boot: s.boot.as_ref().map(|b| BootFacts {
            disk: b
                .disks
                .iter()
                .map(|d| d.value.as_str())
                .collect::<Vec<_>>()
                .join(" + "),
            fs: match b.fs.value {
                RootFs::Ext4 => "ext4",
                RootFs::Zfs => "zfs",
            },
            swap: b.swap.as_ref().map(|s| s.value),
        }),
        pools: s
            .pools
            .iter()
            .map(|p| PoolFacts {
                name: p.name.value.clone(),
                mode: p.mode.value.clone(),
                disks: p.disks.iter().map(|d| d.value.clone()).collect(),
                size: p.size.value,
                compression: p.compression.value.clone(),
            })
            .collect(),
        infrastructure: h.infrastructure.clone(),
        hardware: s.hardware.iter().map(|x| x.value.clone()).collect(),
    }
}

fn service(fleet: &Fleet, i: &Instance) -> ServiceFacts {
    let sign_in = fleet.sso.as_ref().map_or_else(
        || crate::fleet::own_sign_in(i).to_string(),
        |p| p.sign_in(i),
    );
    let gateway = fleet
        .sso
        .as_ref()
        .and_then(|p| p.gateway.as_ref())
        .and_then(|g| g.route(&i.name.value))
        .map(|r| r.groups.clone());
    let mut settings: BTreeMap<String, String> = BTreeMap::new();
    for leaf in &i.passthrough {
        let value = leaf.value.to_string();
        settings
            .entry(leaf.key.clone())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    ServiceFacts {
        name: i.name.value.clone(),
        entry: i.entry.name.clone(),
        host: i.host.clone(),
        port: i.port,
        exposure: i.exposure.value,
        fqdn: i.fqdn.as_ref().map(|f| f.value.clone()),
        public_fqdn: i.public_fqdn.as_ref().map(|f| f.value.clone()),
        sign_in,
        gateway,
        has_data: i.backed_up(),
        settings,
    }
}

fn dir(fleet: &Fleet, host: &HostPlan, owner: &str, service: bool, d: &DataDir) -> DirFacts {
    DirFacts {
        owner: owner.to_string(),
        service,
        plain: false,
        host: host.name().to_string(),
        state: d.state.clone(),
        path: d.path.clone(),
        class: d.class,
        recordsize: d.recordsize.clone(),
        quota: d.quota,
        dataset: d.dataset.as_ref().map(|(p, n)| format!("{p}/{n}")),
        kept: d.snapshots(),
        replica: fleet
            .replica
            .as_ref()
            .filter(|_| fleet.replicated(host.name(), d))
            .map(|r| r.host.clone()),
        offsite: fleet.backup.is_some() && d.goes_offsite(),
    }
}
