//! The resolved fleet: every service instance placed on a host with its
//! port, names, datasets, database, secrets and module settings. A pure
//! function of spec and catalog; every later stage reads only this.

use crate::catalog::Entry;
use crate::diagnostic::Span;
use crate::nix::Attrs;
use crate::spec::{Access, Backup, DataClass, Exposure, Homelab, Host, Size, Sp};
use std::collections::BTreeMap;

/// Services listen here; only the proxy and the tunnel reach them.
pub const BIND_ADDRESS: &str = "127.0.0.1";
/// The tailnet's address range (Tailscale's CGNAT block).
pub const TAILNET_RANGE: &str = "100.64.0.0/10";
/// The tailnet's IPv6 range (Tailscale's ULA block). It lies inside
/// `fd00::/8`, which Caddy's `private_ranges` counts as private.
pub const TAILNET_RANGE_V6: &str = "fd7a:115c:a1e0::/48";
/// Where a service confined to the VPN namespace is reached from its host
/// (the namespace's own address; VPN-Confinement's default).
pub(crate) const VPN_NAMESPACE_ADDRESS: &str = "192.168.15.1";
/// The VPN namespace (VPN-Confinement wants fewer than 8 characters).
pub(crate) const VPN_NAMESPACE: &str = "wg";
/// The shared media tree: downloads and the library on one dataset.
pub(crate) const MEDIA_ROOT: &str = "/srv/media";

#[derive(Debug, Clone)]
pub struct Fleet {
    pub homelab: Homelab,
    pub hosts: Vec<HostPlan>,
    pub instances: Vec<Instance>,
    pub access: Access,
    pub backup: Option<Backup>,
    /// The host that keeps replicas of the critical datasets.
    pub replica: Option<super::ReplicaPlan>,
    /// Every agenix secret the fleet uses, by name.
    pub secrets: BTreeMap<String, Secret>,
    /// Project quotas on folders of the media tree (`[media.quotas]`).
    pub media_quotas: Vec<super::ProjectQuota>,
    /// Machines the fleet uses but does not configure (`[external]`).
    pub external: Vec<crate::spec::External>,
    /// The provider's clients and groups, when the flake provisions them.
    pub sso: Option<super::SsoPlan>,
    /// Where alert mail goes (`[alerts]`).
    pub alerts: Option<crate::spec::Alerts>,
    /// How the homelab is probed (`[status]`).
    pub status: crate::spec::Status,
    /// How changes reach the hosts (`[deploy]`).
    pub deploy: super::DeployPlan,
    /// The segments (VLANs) of the home network (`[network]`).
    pub segments: Vec<super::SegmentPlan>,
}

impl Fleet {
    /// The admin devices on the tailnet (`[access.tailscale] admins`):
    /// the only devices there that reach an `admins` service.
    pub fn admin_devices(&self) -> &[crate::spec::AdminDevice] {
        self.access
            .tailscale
            .as_ref()
            .map_or(&[][..], |t| t.admins.as_slice())
    }

    /// Whether `[backup] repository` is a copy on another machine, off the
    /// fleet: there is one, and it is neither a folder on the host nor a
    /// server that is one of the fleet's hosts.
    pub fn has_offsite(&self) -> bool {
        self.backup.is_some() && self.offsite_shortfall().is_none()
    }

    /// Why `[backup] repository` is not offsite, when it is set and is not.
    pub fn offsite_shortfall(&self) -> Option<String> {
        let backup = self.backup.as_ref()?;
        let hosts: Vec<(&str, &str)> = self
            .hosts
            .iter()
            .map(|h| (h.name(), h.spec.address.value.as_str()))
            .collect();
        super::policy::not_offsite(&backup.repository.value, &hosts)
    }

    /// The host whose proxy serves every name of the fleet.
    pub fn front_proxy(&self) -> Option<&HostPlan> {
        // The rule of `wiring::front_proxy`, on the resolved hosts.
        self.hosts
            .iter()
            .find(|h| h.spec.role.value == crate::spec::Role::Main)
            .or_else(|| self.hosts.first())
    }

    /// The host that runs the fleet's instance of a catalog entry (the
    /// status page, the metrics store), if the fleet has one.
    pub fn host_of(&self, entry: &str) -> Option<&str> {
        self.instances
            .iter()
            .find(|i| i.entry.name == entry)
            .map(|i| i.host.as_str())
    }

    /// Who must be able to decrypt secret `name`, and with which public
    /// key: every admin key, then each host that decrypts it and has a
    /// host key. A key listed twice is one reader.
    pub fn secret_readers(&self, name: &str) -> Vec<Reader> {
        let mut out: Vec<Reader> = Vec::new();
        let mut push = |who: String, key: &str| {
            if !out.iter().any(|r| r.key == key) {
                out.push(Reader {
                    who,
                    key: key.to_string(),
                });
            }
        };
        for (n, k) in self.homelab.admin_keys.iter().enumerate() {
            let comment = k.value.split_whitespace().nth(2);
            let who = match comment {
                Some(c) => format!("admin key `{c}`"),
                None => format!("admin key {}", n + 1),
            };
            push(who, &k.value);
        }
        let Some(secret) = self.secrets.get(name) else {
            return out;
        };
        for host in &secret.hosts {
            if let Some(k) = self
                .hosts
                .iter()
                .find(|h| h.name() == host)
                .and_then(|h| h.spec.host_key.as_ref())
            {
                push(format!("host `{host}`"), &k.value);
            }
        }
        out
    }

    /// The service instances placed on `host`, in spec order.
    pub(crate) fn instances_on<'a>(
        &'a self,
        host: &'a str,
    ) -> impl Iterator<Item = &'a Instance> + 'a {
        self.instances.iter().filter(move |i| i.host == host)
    }

    /// The catalog's RAM estimates of a host's services and of its
    /// infrastructure, in MiB.
    pub(crate) fn ram_estimate_mb(&self, host: &HostPlan) -> (u64, u64) {
        let infra: u64 = host
            .infrastructure
            .iter()
            .filter_map(|n| crate::catalog::get(n))
            .map(|e| u64::from(e.ram_mb))
            .sum();
        let services: u64 = self
            .instances_on(host.name())
            .map(|i| u64::from(i.entry.ram_mb))
            .sum();
        (services, infra)
    }

    /// Every state directory on a host, its services', its
    /// infrastructure's, then its plain datasets, with the name of what
    /// owns it.
    pub fn data_on<'a>(&'a self, host: &'a HostPlan) -> Vec<(&'a str, &'a DataDir)> {
        let services = self
            .instances_on(host.name())
            .flat_map(|i| i.data.iter().map(move |d| (i.name.value.as_str(), d)));
        let infrastructure = host.data.iter().map(|(e, d)| (e.name.as_str(), d));
        let plain = host
            .plain_data
            .iter()
            .map(|p| (p.name.value.as_str(), &p.dir));
        services.chain(infrastructure).chain(plain).collect()
    }
}

#[derive(Debug, Clone)]
pub struct HostPlan {
    pub spec: Host,
    /// `networking.hostId`, derived from the names so it is stable.
    pub(crate) host_id: String,
    /// Infrastructure the host needs, as catalog entry names.
    pub infrastructure: Vec<&'static str>,
    /// State of that infrastructure (PostgreSQL's databases, certificates,
    /// tailnet identity), with the entry it belongs to.
    pub data: Vec<(&'static Entry, DataDir)>,
    /// `[hosts.<name>.data.<dataset>]`: datasets no service owns.
    pub plain_data: Vec<super::PlainDataset>,
}

impl HostPlan {
    pub fn name(&self) -> &str {
        &self.spec.name.value
    }

    pub fn runs(&self, infra: &str) -> bool {
        self.infrastructure.contains(&infra)
    }
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub name: Sp<String>,
    pub entry: &'static Entry,
    pub host: String,
    /// Where the spec places it (`host = …`, or the instance name).
    pub(crate) host_span: Span,
    pub port: Option<u16>,
    /// Where the port was set (the override, or the instance name when the
    /// catalog default applies), for clash reports.
    pub(crate) port_span: Span,
    pub exposure: Sp<Exposure>,
    /// LAN/tailnet name served by the proxy, e.g. `grafana.home.example.org`.
    pub fqdn: Option<Sp<String>>,
    /// Internet name served through the tunnel.
    pub(crate) public_fqdn: Option<Sp<String>>,
    pub data: Vec<DataDir>,
    /// PostgreSQL database (and role) name.
    pub database: Option<String>,
    /// Slot name to agenix secret name.
    pub secrets: BTreeMap<String, String>,
    /// The module settings: catalog `[nixos]` expanded, pass-through merged.
    pub nixos: Attrs,
    /// Every setting of the spec's pass-through table, by key path below
    /// the module, with its span: checked for literal secrets and for
    /// options the renderer owns.
    pub(crate) passthrough: Vec<crate::spec::NixosLeaf>,
    pub exposure_reason: Option<Sp<String>>,
    /// `vpn = false`: a client the catalog confines runs outside the VPN.
    pub vpn_off: Option<VpnOff>,
    /// Silenced rule codes with the reason given.
    pub silence: Vec<(Sp<String>, Sp<String>)>,
    /// Where the fleet reaches it: `127.0.0.1`, or its host's LAN address
    /// when another host reaches it (see `wiring.rs`).
    pub address: String,
    /// The address it listens on: `address`, or `0.0.0.0` when a segment
    /// reaches it as well (see `segments.rs`).
    pub bind: String,
    /// The hosts that reach it from elsewhere; the firewall admits them.
    pub peers: Vec<super::Peer>,
    /// NFS exports it works in, mounted on its host before it starts.
    pub nfs: Vec<super::NfsMount>,
    /// The `[access.sso]` groups let in (`groups = ["family"]`).
    pub groups: Vec<Sp<String>>,
}

/// Where the spec takes a VPN client out of the VPN (`vpn = false`), and
/// the `vpn_reason` it gives.
#[derive(Debug, Clone)]
pub struct VpnOff {
    pub at: Span,
    pub reason: Sp<String>,
}

impl Instance {
    /// Whether it runs in the VPN namespace: its entry says so and the
    /// spec did not take it out (`vpn = false`).
    pub fn confined(&self) -> bool {
        self.entry.vpn && self.vpn_off.is_none()
    }

    /// The systemd units the service runs: the catalog's list, else the
    /// module's last name (`services.plex` runs `plex.service`).
    pub fn units(&self) -> Vec<&str> {
        if self.entry.units.is_empty() {
            vec![
                self.entry
                    .module
                    .rsplit('.')
                    .next()
                    .unwrap_or(&self.entry.module),
            ]
        } else {
            self.entry.units.iter().map(String::as_str).collect()
        }
    }

    /// The most demanding class among its state directories (critical
    /// when it has none but a database).
    pub(crate) fn data_class(&self) -> DataClass {
        self.data
            .iter()
            .map(|d| d.class)
            .min()
            .unwrap_or(DataClass::Critical)
    }

    /// Whether its data goes to the backup repositories: it has state or
    /// a database, and not only re-creatable state.
    pub fn backed_up(&self) -> bool {
        (!self.data.is_empty() || self.database.is_some())
            && self.data_class() != DataClass::Disposable
    }

    /// The URL a person opens: the public one when there is one.
    pub fn url(&self) -> Option<String> {
        self.public_fqdn
            .as_ref()
            .or(self.fqdn.as_ref())
            .map(|f| format!("https://{}", f.value))
    }

    /// `http://address:port`, how the proxy and checks reach it (from
    /// its host or from a peer); a service confined to the VPN is reached
    /// at its namespace's address.
    pub fn local_endpoint(&self) -> Option<String> {
        let address = if self.confined() {
            VPN_NAMESPACE_ADDRESS
        } else {
            self.address.as_str()
        };
        self.port.map(|p| format!("http://{address}:{p}"))
    }
}

/// A state directory of an instance and where it lives.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub state: String,
    pub path: String,
    pub class: DataClass,
    pub recordsize: String,
    pub quota: Option<Size>,
    /// `(pool, dataset below the pool)` when the host has a ZFS pool.
    pub dataset: Option<(String, String)>,
    /// Where the spec overrides this directory, if it does.
    pub span: Option<Span>,
    /// False when another copy is what goes offsite (database dumps).
    pub offsite: bool,
    /// The module creates the directory with its own owner and mode.
    pub(crate) module_creates: bool,
    /// The spec's `snapshots = { … }`, over the class's counts.
    pub schedule: Option<crate::spec::Schedule>,
}

impl DataDir {
    /// Whether the offsite backup copies this directory.
    pub(crate) fn goes_offsite(&self) -> bool {
        self.offsite && super::policy::offsite(self.class)
    }

    /// The snapshots kept of it: its class's, changed by its schedule;
    /// none without a dataset, or when nothing is kept.
    pub fn snapshots(&self) -> Option<super::policy::SnapshotPolicy> {
        self.dataset.as_ref()?;
        super::policy::schedule(self.class, self.schedule.as_ref())
    }
}

/// One recipient of a secret: who it is (for messages) and its public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub who: String,
    pub key: String,
}

#[derive(Debug, Clone)]
pub struct Secret {
    pub name: String,
    pub description: String,
    /// Owner of the decrypted file on the host.
    pub owner: Option<String>,
    /// Group of the decrypted file (agenix's default: the owner's group).
    pub group: Option<String>,
    /// Permissions of the decrypted file.
    pub mode: String,
    /// Hosts that decrypt it (agenix recipients besides the admin keys).
    pub hosts: Vec<String>,
    /// What reads it: service instances, `[access.proxy]`, `[backup]`…
    pub used_by: Vec<String>,
    /// systemd units that read the decrypted file.
    pub units: Vec<String>,
    /// How it is made by machine; `Argon2::from` names a fleet secret.
    pub generator: Option<crate::catalog::Generator>,
    /// Where the spec names it (or the service that needs it).
    pub span: Span,
}
