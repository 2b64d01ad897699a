//! The typed spec: what `homelab.toml` says, validated field by field but
//! not yet combined with the catalog. Every value keeps its span so later
//! stages can point back at the line that caused a problem.

use super::reader::Sp;

#[derive(Debug, Clone)]
pub struct Spec {
    pub homelab: Homelab,
    pub hosts: Vec<Host>,
    pub services: Vec<ServiceSpec>,
    pub access: Access,
    pub backup: Option<Backup>,
    pub secrets: Vec<SecretSpec>,
    /// `[media]`: limits of the shared media tree.
    pub media: Media,
    /// `[external.<name>]`: machines the fleet uses but does not configure.
    pub external: Vec<External>,
    /// `[alerts]`: where alert mail goes and the relay that carries it.
    pub alerts: Option<Alerts>,
    /// `[status]`: how the homelab is probed, where defaults do not fit.
    pub status: Status,
    /// `[deploy]`: how changes reach the hosts (`spec::deploy`).
    pub deploy: Deploy,
    /// `[network]`: the segments (VLANs) of the home network.
    pub network: Network,
}

/// `[network]` (`spec::network`).
#[derive(Debug, Clone, Default)]
pub struct Network {
    pub segments: Vec<Segment>,
}

/// `[network.segments.<name>]`: a VLAN of the home network and who in it
/// may reach what. Isolated unless it says otherwise: its clients reach
/// only the services it `uses`, on hosts that join it.
#[derive(Debug, Clone)]
pub struct Segment {
    pub name: Sp<String>,
    /// The 802.1Q tag, 2 to 4094.
    pub vlan: Sp<u16>,
    pub subnet: Sp<Subnet>,
    pub description: Option<Sp<String>>,
    /// Whether the router lets its clients out to the internet (default
    /// true; `internet = false` denies it).
    pub internet: Sp<bool>,
    /// Whether the router routes it to the LAN, so its clients reach what
    /// the LAN reaches (default false).
    pub lan: Sp<bool>,
    /// The services its clients open connections to: instance names,
    /// catalog names or roles (`mqtt-broker`).
    pub uses: Vec<Sp<String>>,
    /// Named devices with fixed addresses; none: every address of the
    /// subnet is a client.
    pub clients: Vec<SegmentClient>,
    /// Rules silenced for this segment: code and the reason.
    pub silence: Vec<(Sp<String>, Sp<String>)>,
}

/// `doorbell = "10.50.0.11"` in `[network.segments.<name>.clients]`.
#[derive(Debug, Clone)]
pub struct SegmentClient {
    pub name: Sp<String>,
    pub address: Sp<core::net::Ipv4Addr>,
}

/// An IPv4 network, `10.40.0.0/24`: its first address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub address: core::net::Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    /// Parses `a.b.c.d/n`; `None` unless both parts are valid.
    pub fn parse(s: &str) -> Option<Subnet> {
        let (address, prefix) = s.split_once('/')?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
        let address = address.parse().ok()?;
        Some(Subnet { address, prefix })
    }

    fn mask(self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    /// The network with the host bits of `address` cleared.
    pub fn network(self) -> Subnet {
        Subnet {
            address: (u32::from(self.address) & self.mask()).into(),
            prefix: self.prefix,
        }
    }

    pub fn contains(self, a: core::net::Ipv4Addr) -> bool {
        u32::from(a) & self.mask() == u32::from(self.address) & self.mask()
    }

    /// An address a device can have: inside, and neither the network's
    /// own address nor its broadcast address.
    pub fn holds_host(self, a: core::net::Ipv4Addr) -> bool {
        let host = u32::from(a) & !self.mask();
        self.contains(a) && (self.prefix >= 31 || (host != 0 && host != !self.mask()))
    }

    pub fn overlaps(self, other: Subnet) -> bool {
        self.contains(other.address) || other.contains(self.address)
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// `[deploy]` (every key optional; `spec::deploy` has the defaults).
#[derive(Debug, Clone, Default)]
pub struct Deploy {
    /// `local`, `target` or a host's name.
    pub build_on: Option<Sp<String>>,
    /// Milliseconds.
    pub gate_window: Option<Sp<u64>>,
    pub gate_interval: Option<Sp<u64>>,
    pub gate_passes: Option<Sp<u32>>,
    pub snapshots: Option<Sp<bool>>,
    /// `homelab` or `deploy-rs`.
    pub tool: Option<Sp<String>>,
    /// The hosts' upgrade timer (`OnCalendar`).
    pub schedule: Option<Sp<String>>,
    /// The flake the hosts upgrade from.
    pub source: Option<Sp<String>>,
}

/// `[status]` (every key optional; `spec::status` has the defaults).
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Each probe's time limit, in milliseconds.
    pub probe_timeout: Option<Sp<u64>>,
    /// The whole run's time limit, in milliseconds.
    pub timeout: Option<Sp<u64>>,
    /// A certificate valid for fewer days is a problem.
    pub certificate_days: Option<Sp<u32>>,
    /// The user SSH logs in as (default: `[homelab] admin_user`).
    pub ssh_user: Option<Sp<String>>,
    /// The home's public IP address, asked from the internet for ports.
    pub public_address: Option<Sp<String>>,
}

/// `[alerts]`: metric and status-page alerts, sent by e-mail and to the
/// channels of `[alerts.channels]` (`spec::channels`).
#[derive(Debug, Clone)]
pub struct Alerts {
    /// The `[alerts]` table, for findings about the section as a whole.
    pub span: crate::diagnostic::Span,
    /// Who receives the mail (default: `[homelab] admin_email`).
    pub email: Sp<String>,
    /// The relay; without it there is no `mail` channel.
    pub smtp: Option<Smtp>,
    /// Every channel, `mail` first when there is a relay.
    pub channels: Vec<super::channels::Channel>,
    /// `[alerts.routes]`; without it every channel takes every alert.
    pub routes: Option<super::channels::Routes>,
}

/// `[alerts.smtp]`: the relay that accepts the fleet's mail.
#[derive(Debug, Clone)]
pub struct Smtp {
    pub host: Sp<String>,
    /// 587 (STARTTLS) unless given; 465 is TLS from the first byte.
    pub port: Sp<u16>,
    /// The sender address.
    pub from: Sp<String>,
    /// Login at the relay; with it, `password_secret` is required.
    pub username: Option<Sp<String>>,
    /// Agenix secret holding the relay password as it is.
    pub password_secret: Option<Sp<String>>,
}

/// A machine that is not NixOS but serves the fleet (a TrueNAS box).
#[derive(Debug, Clone)]
pub struct External {
    pub name: Sp<String>,
    /// Its LAN address: where its exports are mounted from.
    pub address: Sp<String>,
    pub exports: Vec<NfsExport>,
}

/// `media = "/mnt/tank/media"` in `[external.<name>.exports]`.
#[derive(Debug, Clone)]
pub struct NfsExport {
    pub name: Sp<String>,
    /// The exported folder on the server.
    pub path: Sp<String>,
}

/// `[media]`.
#[derive(Debug, Clone, Default)]
pub struct Media {
    /// Folders of the media tree and their ZFS project quotas.
    pub quotas: Vec<MediaQuota>,
}

/// `"library/movies" = "6T"` in `[media.quotas]`.
#[derive(Debug, Clone)]
pub struct MediaQuota {
    /// Relative to the media tree's root.
    pub dir: Sp<String>,
    pub size: Sp<Size>,
}

#[derive(Debug, Clone)]
pub struct Homelab {
    pub name: Sp<String>,
    /// Public DNS zone, for `public` services (`photos.example.org`).
    pub domain: Sp<String>,
    /// Zone for LAN and tailnet names (`grafana.home.example.org`).
    pub internal_domain: Sp<String>,
    pub timezone: Sp<String>,
    pub admin_email: Sp<String>,
    pub admin_user: Sp<String>,
    /// SSH public keys of the administrator (login and agenix recipient).
    pub admin_keys: Vec<Sp<String>>,
    /// The `homelab` flake the hosts install (a fork); none: the release
    /// that generated the flake.
    pub(crate) homelab_flake: Option<Sp<String>>,
}

impl Homelab {
    /// The spec's `homelab_flake`, if it names one.
    pub fn homelab_flake(&self) -> Option<&str> {
        self.homelab_flake.as_ref().map(|f| f.value.as_str())
    }

    /// Names the `homelab` flake the generated flake takes as its input,
    /// chosen outside the spec (`homelab build --homelab-flake`, or the
    /// clone the binary was built from); `None` when `url` is not a flake
    /// reference the spec would accept.
    pub fn use_homelab_flake(&mut self, url: &str) -> Option<()> {
        super::grammar::is_flake_ref(url).then_some(())?;
        self.homelab_flake = Some(Sp::new(url.to_string(), 0..0));
        Some(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Main,
    HomeAutomation,
    Nas,
}

impl Role {
    pub(crate) const NAMES: [&'static str; 3] = ["main", "home-automation", "nas"];

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "main" => Some(Role::Main),
            "home-automation" => Some(Role::HomeAutomation),
            "nas" => Some(Role::Nas),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Role::NAMES[self as usize]
    }
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: Sp<String>,
    pub role: Sp<Role>,
    pub system: Sp<String>,
    /// How the deployer reaches the host (LAN address or DNS name).
    pub address: Sp<String>,
    pub ram_gb: Sp<i64>,
    /// The host's SSH public key: agenix encrypts its secrets to it.
    pub host_key: Option<Sp<String>>,
    /// The port its SSH server listens on (default 22).
    pub ssh_port: Option<Sp<u16>>,
    /// Its address on the tailnet, where the tailnet reaches it.
    pub tailnet_address: Option<Sp<String>>,
    /// The deploy's health gate window for this host (milliseconds).
    pub gate_window: Option<Sp<u64>>,
    /// `[hosts.<name>.boot]`: the disk the host boots from.
    pub boot: Option<Boot>,
    /// The CPU vendor, for microcode updates in `hardware.nix`.
    pub cpu: Option<Sp<Cpu>>,
    /// `system.stateVersion`: the release the host was installed with.
    pub(crate) state_version: Option<Sp<String>>,
    /// Devices services may need or use: `gpu-intel`, `gpu-nvidia`,
    /// `gpu-amd`, `coral-usb`, `coral-pcie`, `zigbee-usb`, `zwave-usb`.
    pub hardware: Vec<Sp<String>>,
    /// Stable paths of the serial devices (`zigbee-usb` →
    /// `/dev/serial/by-id/…`).
    pub devices: Vec<(Sp<String>, Sp<String>)>,
    pub pools: Vec<Pool>,
    /// `[hosts.<name>.data.<dataset>]`: datasets no service owns.
    pub data: Vec<PlainData>,
    /// The network interface that carries `address` (`enp3s0`): the
    /// segments' VLANs are tagged on it.
    pub interface: Option<Sp<String>>,
    /// `[hosts.<name>.segments.<segment>]`: the segments it joins.
    pub segments: Vec<HostSegment>,
}

/// The host's place in one segment.
#[derive(Debug, Clone)]
pub struct HostSegment {
    pub segment: Sp<String>,
    /// Its fixed address in the segment's subnet.
    pub address: Sp<core::net::Ipv4Addr>,
    /// A network interface of its own on the segment (an untagged switch
    /// port); none: a VLAN tagged on the host's `interface`.
    pub interface: Option<Sp<String>>,
}

/// The boot disk: an EFI system partition and the root file system,
/// partitioned by disko when nixos-anywhere installs the host. Two disks
/// or more are a mirror: each has its own EFI system partition, and the
/// root is a ZFS mirror across them.
#[derive(Debug, Clone)]
pub struct Boot {
    /// Where `[hosts.<name>.boot]` is named.
    pub span: crate::diagnostic::Span,
    /// The whole disks, e.g. `/dev/disk/by-id/nvme-…` (erased at
    /// install): `disk`, or the mirror's `disks`.
    pub disks: Vec<Sp<String>>,
    pub fs: Sp<RootFs>,
    /// A swap partition of this size.
    pub swap: Option<Sp<Size>>,
}

impl Boot {
    /// Whether it is a mirror of several disks.
    pub fn mirrored(&self) -> bool {
        self.disks.len() > 1
    }
}

/// The root file system of a boot disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootFs {
    Ext4,
    /// A pool of its own, `rpool`, with datasets for `/` and `/nix`.
    Zfs,
}

impl RootFs {
    pub(crate) const NAMES: [&'static str; 2] = ["ext4", "zfs"];

    pub fn parse(s: &str) -> Option<RootFs> {
        match s {
            "ext4" => Some(RootFs::Ext4),
            "zfs" => Some(RootFs::Zfs),
            _ => None,
        }
    }
}

/// The CPU vendor of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cpu {
    Intel,
    Amd,
}

impl Cpu {
    pub(crate) const NAMES: [&'static str; 2] = ["intel", "amd"];

    pub fn parse(s: &str) -> Option<Cpu> {
        match s {
            "intel" => Some(Cpu::Intel),
            "amd" => Some(Cpu::Amd),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Cpu::NAMES[self as usize]
    }
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub name: Sp<String>,
    /// `single`, `mirror`, `raidz1`, `raidz2` or `raidz3`.
    pub mode: Sp<String>,
    pub disks: Vec<Sp<String>>,
    /// Usable size, for quota budgeting.
    pub size: Sp<Size>,
    pub compression: Sp<String>,
}

/// A size in bytes, written like ZFS does: `20T`, `3.95T`, `500G`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

impl Size {
    /// Parses `<number>[K|M|G|T|P][B]` (binary units, as ZFS uses); a
    /// space may separate number and unit (`4TB` and `4 TB` are one size).
    pub fn parse(s: &str) -> Option<Size> {
        let s = s.trim();
        let (num, unit) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
            Some((i, _)) => (s[..i].trim_end(), &s[i..]),
            None => (s, ""),
        };
        let shift = match unit.to_ascii_uppercase().trim_end_matches('B') {
            "" => 0,
            "K" => 10,
            "M" => 20,
            "G" => 30,
            "T" => 40,
            "P" => 50,
            _ => return None,
        };
        if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
            return None;
        }
        let value: f64 = num
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
        let bytes = value * (1u64 << shift) as f64;
        (bytes < u64::MAX as f64).then_some(Size(bytes.round() as u64))
    }

    /// The size as ZFS accepts it, in the largest unit it reaches, with at
    /// most two decimals (`6T`, `500G`, `3.95T`).
    pub fn zfs(self) -> String {
        const UNITS: [(&str, u32); 5] = [("P", 50), ("T", 40), ("G", 30), ("M", 20), ("K", 10)];
        for (unit, shift) in UNITS {
            let base = 1u64 << shift;
            if self.0 >= base {
                let text = format!("{:.2}", self.0 as f64 / base as f64);
                let text = text.trim_end_matches('0').trim_end_matches('.');
                return format!("{text}{unit}");
            }
        }
        self.0.to_string()
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    Host,
    Lan,
    /// The LAN, and the admin devices of `[access.tailscale] admins` on
    /// the tailnet (no other device of the tailnet).
    Admins,
    Tailnet,
    Public,
}

impl Exposure {
    pub(crate) const NAMES: [&'static str; 5] = ["host", "lan", "admins", "tailnet", "public"];

    pub fn parse(s: &str) -> Option<Exposure> {
        match s {
            "host" => Some(Exposure::Host),
            "lan" => Some(Exposure::Lan),
            "admins" => Some(Exposure::Admins),
            "tailnet" => Some(Exposure::Tailnet),
            "public" => Some(Exposure::Public),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Exposure::NAMES[self as usize]
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum DataClass {
    Critical,
    Standard,
    Disposable,
}

impl DataClass {
    pub(crate) const NAMES: [&'static str; 3] = ["critical", "standard", "disposable"];

    pub fn parse(s: &str) -> Option<DataClass> {
        match s {
            "critical" => Some(DataClass::Critical),
            "standard" => Some(DataClass::Standard),
            "disposable" => Some(DataClass::Disposable),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        DataClass::NAMES[self as usize]
    }
}

/// One service instance: `[services.<name>]`.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub name: Sp<String>,
    /// Catalog entry; defaults to the instance name.
    pub service: Sp<String>,
    pub host: Option<Sp<String>>,
    pub exposure: Option<Sp<Exposure>>,
    pub subdomain: Option<Sp<String>>,
    pub port: Option<Sp<i64>>,
    pub data: Vec<DataSpec>,
    /// Extra NixOS settings below the service's module, passed through.
    pub nixos: Option<Sp<toml::Value>>,
    /// Why the exposure is wider than the catalog default.
    pub exposure_reason: Option<Sp<String>>,
    /// `vpn = false`: a client the catalog confines to the VPN runs
    /// outside it, for the reason in `vpn_reason` (required with it).
    pub vpn: Option<Sp<bool>>,
    pub vpn_reason: Option<Sp<String>>,
    /// Rules silenced for this service: code and the reason.
    pub silence: Vec<(Sp<String>, Sp<String>)>,
    /// Every value in `nixos` that is not a table, by dotted key path.
    pub(crate) nixos_leaves: Vec<NixosLeaf>,
    /// NFS exports it works in, as `<external host>/<export>`.
    pub nfs: Vec<Sp<String>>,
    /// `groups = ["family"]`: the `[access.sso]` groups let in.
    pub groups: Vec<Sp<String>>,
    /// `segments = ["iot"]`: the segments it is on (its host joins them).
    pub segments: Vec<Sp<String>>,
}

/// One setting of `[services.<name>.nixos]`: its dotted key below the
/// module, the value (an array's items each count), and its span.
#[derive(Debug, Clone)]
pub struct NixosLeaf {
    pub key: String,
    pub value: toml::Value,
    pub span: crate::diagnostic::Span,
    /// The key's parts as written (a quoted part may hold a dot), `*` for
    /// an element of a list of tables, each with the span of its key.
    pub(crate) parts: Vec<(String, crate::diagnostic::Span)>,
}

/// Overrides for one state directory of a service: `[services.x.data.<dir>]`.
#[derive(Debug, Clone)]
pub struct DataSpec {
    pub name: Sp<String>,
    pub class: Option<Sp<DataClass>>,
    pub quota: Option<Sp<Size>>,
    pub recordsize: Option<Sp<String>>,
    pub pool: Option<Sp<String>>,
    /// `snapshots = { … }`: counts kept over the class's.
    pub snapshots: Option<Schedule>,
}

/// `[hosts.<h>.data.<name>]`: a dataset no catalog entry owns (an ISO
/// collection, a folder of dumps), protected by its class like a
/// service's data.
#[derive(Debug, Clone)]
pub struct PlainData {
    pub name: Sp<String>,
    /// Where it is mounted.
    pub path: Sp<String>,
    pub class: Sp<DataClass>,
    pub quota: Option<Sp<Size>>,
    pub recordsize: Option<Sp<String>>,
    pub pool: Option<Sp<String>>,
    pub snapshots: Option<Schedule>,
    /// Rules silenced for this dataset: code and the reason.
    pub silence: Vec<(Sp<String>, Sp<String>)>,
}

/// `snapshots = { daily = 7, … }`: how many snapshots of each period a
/// dataset keeps, where it differs from its class (sanoid's words:
/// `frequently` is every 15 minutes).
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The `snapshots` key, for findings about the schedule as a whole.
    pub span: crate::diagnostic::Span,
    /// Each period written, one of [`Schedule::PERIODS`], with its count.
    pub counts: Vec<(&'static str, Sp<u32>)>,
}

impl Schedule {
    /// The periods sanoid keeps snapshots for, shortest first.
    pub const PERIODS: [&'static str; 6] = [
        "frequently",
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "yearly",
    ];
    /// The most snapshots of one period a dataset may keep.
    pub const MAX: u32 = 1000;

    /// The count written for `period`, if any.
    pub fn count(&self, period: &str) -> Option<&Sp<u32>> {
        self.counts
            .iter()
            .find(|(p, _)| *p == period)
            .map(|(_, n)| n)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Access {
    pub proxy: Option<Proxy>,
    pub tailscale: Option<Tailscale>,
    pub tunnel: Option<Tunnel>,
    pub vpn: Option<Vpn>,
    pub sso: Option<Sso>,
}

/// `[access.sso]`: one OpenID Connect provider for the fleet.
#[derive(Debug, Clone)]
pub struct Sso {
    pub span: crate::diagnostic::Span,
    /// The service instance that is the provider (`pocket-id`, `keycloak`).
    pub provider: Sp<String>,
    /// `[access.sso.groups]`: who belongs to `admin`, `family`, `media`…
    pub groups: Vec<SsoGroup>,
}

/// One group of `[access.sso.groups]` and its members' user names.
#[derive(Debug, Clone)]
pub struct SsoGroup {
    pub name: Sp<String>,
    /// The member list's span.
    pub span: crate::diagnostic::Span,
    pub members: Vec<Sp<String>>,
}

/// `[access.vpn]`: the WireGuard tunnel that torrent clients are confined
/// to (a network namespace whose only way out is the VPN).
#[derive(Debug, Clone)]
pub struct Vpn {
    pub span: crate::diagnostic::Span,
    /// Secret holding the provider's wg-quick configuration file.
    pub wireguard_secret: Sp<String>,
}

/// Reverse proxy with a DNS-01 wildcard certificate.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub span: crate::diagnostic::Span,
    /// lego DNS provider name, e.g. `cloudflare`.
    pub dns_provider: Sp<String>,
    /// Secret holding the provider's credentials as environment variables.
    pub credentials_secret: Sp<String>,
}

#[derive(Debug, Clone)]
pub struct Tailscale {
    pub span: crate::diagnostic::Span,
    pub auth_key_secret: Option<Sp<String>>,
    pub ssh: Sp<bool>,
    /// `admins = { laptop = "100.101.102.103" }`: the devices `admins`
    /// services are reached from on the tailnet (`spec::admins`).
    pub admins: Vec<AdminDevice>,
}

/// One admin device: its name in the spec and its tailnet address.
#[derive(Debug, Clone)]
pub struct AdminDevice {
    pub name: Sp<String>,
    /// An IPv4 address in 100.64.0.0/10.
    pub address: Sp<String>,
}

/// Cloudflare Tunnel for `public` services.
#[derive(Debug, Clone)]
pub struct Tunnel {
    pub span: crate::diagnostic::Span,
    /// Tunnel UUID as Cloudflare shows it.
    pub id: Sp<String>,
    pub credentials_secret: Sp<String>,
}

/// Offsite backup target (restic repository).
#[derive(Debug, Clone)]
pub struct Backup {
    pub span: crate::diagnostic::Span,
    pub repository: Sp<String>,
    pub password_secret: Sp<String>,
    /// Secret with `AWS_ACCESS_KEY_ID` etc. for S3-style repositories.
    pub environment_secret: Option<Sp<String>>,
    pub schedule: Sp<String>,
    /// The second machine that pulls a ZFS replica of every critical dataset.
    pub replica: Option<Replica>,
}

/// `[backup] replica = "nas"` and its keys: the replica host pulls the
/// critical datasets of the other hosts with syncoid over SSH.
#[derive(Debug, Clone)]
pub struct Replica {
    pub host: Sp<String>,
    /// The replica host's pool to keep the copies in (default: its only pool).
    pub pool: Option<Sp<String>>,
    /// Agenix secret with the SSH private key the replica host pulls with.
    pub(crate) key_secret: Sp<String>,
    /// Its public half, authorized for the `syncoid` user on the sources.
    pub public_key: Sp<String>,
}

/// `[secrets.<name>]`: a secret the spec declares explicitly.
#[derive(Debug, Clone)]
pub struct SecretSpec {
    pub name: Sp<String>,
    pub owner: Option<Sp<String>>,
    pub hosts: Vec<Sp<String>>,
}

/// What a catalog entry asks for when a host has this device: `gpu-intel`
/// is a `gpu`, `zigbee-usb` a `zigbee`.
pub(crate) fn hardware_kind(device: &str) -> &str {
    device.split('-').next().unwrap_or(device)
}

impl Host {
    /// The host's devices of one kind (`gpu`, `coral`, `zigbee`, `zwave`).
    pub(crate) fn devices_of<'h>(&'h self, kind: &'h str) -> impl Iterator<Item = &'h str> + 'h {
        self.hardware
            .iter()
            .map(|h| h.value.as_str())
            .filter(move |h| hardware_kind(h) == kind)
    }

    /// The path given for a serial device of this kind, if any.
    pub(crate) fn device_path(&self, kind: &str) -> Option<&str> {
        self.devices
            .iter()
            .find(|(k, _)| hardware_kind(&k.value) == kind)
            .map(|(_, p)| p.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Size;

    #[test]
    fn sizes_parse_in_binary_units() {
        assert_eq!(Size::parse("2G"), Some(Size(2 << 30)));
        assert_eq!(Size::parse("1.5K"), Some(Size(1536)));
        assert_eq!(Size::parse("20TB"), Some(Size(20 << 40)));
        assert_eq!(Size::parse("20 TB"), Size::parse("20TB"));
        assert_eq!(Size::parse("20 T"), Size::parse("20T"));
        assert_eq!(Size::parse("2 0T"), None);
        assert_eq!(Size::parse("2X"), None);
        assert_eq!(Size::parse("."), None);
        assert_eq!(Size::parse(""), None);
    }

    #[test]
    fn sizes_print_for_zfs() {
        assert_eq!(Size(500 << 30).zfs(), "500G");
        assert_eq!(Size(6 << 40).zfs(), "6T");
        assert_eq!(Size::parse("3.95T").unwrap().zfs(), "3.95T");
        assert_eq!(Size(1000).zfs(), "1000");
    }
}
