//! The shape of one catalog file. `docs/catalog.md` documents every field.

use crate::spec::{DataClass, Exposure};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An application a user places with `[services.<name>]`.
    Service,
    /// A piece the tool places itself when the spec calls for it
    /// (reverse proxy, tailnet, tunnel, database server, SSH, ZFS…).
    Infrastructure,
}

/// Who the service is for; admin tools are never public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Audience {
    Admin,
    Family,
}

/// How the service authenticates its users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    Own,
    Oidc,
    ForwardAuth,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub name: String,
    /// Display name for the dashboard and tables.
    pub title: String,
    pub description: String,
    pub kind: Kind,
    /// Root of the NixOS module, e.g. `services.grafana`; empty when none.
    /// User pass-through settings (`[services.x.nixos]`) land below it.
    #[serde(default)]
    pub module: String,
    /// Default listening port (TCP) of the web UI or API.
    pub port: Option<u16>,
    /// True when the module cannot move the port (an override is refused).
    #[serde(default)]
    pub port_fixed: bool,
    /// Other ports the service opens on localhost, for clash detection.
    #[serde(default)]
    pub extra_ports: Vec<u16>,
    /// Estimated resident memory in MiB, for the RAM budget.
    pub ram_mb: u32,
    pub audience: Audience,
    pub auth: Auth,
    /// Exposure when the spec does not say.
    pub default_exposure: Exposure,
    /// Subdomain when the spec does not say (`""` is the bare internal domain).
    pub subdomain: Option<String>,
    /// True when the service has a web UI reached through the proxy.
    #[serde(default = "yes")]
    pub proxied: bool,
    /// Catalog entries this service cannot work without.
    #[serde(default)]
    pub depends: Vec<String>,
    /// Devices the service needs on its host (`gpu`, `zigbee`, `zwave`,
    /// `coral`); the host must list them under `hardware`.
    #[serde(default)]
    pub hardware: Vec<String>,
    /// Roles this service fills for others (`download-client`,
    /// `indexer-manager`, `media-manager`).
    #[serde(default)]
    pub provides: Vec<String>,
    /// Roles some service of the fleet must fill (an *arr app needs a
    /// download client and an indexer manager).
    #[serde(default)]
    pub needs: Vec<String>,
    /// Runs only inside the VPN namespace, with a kill switch (torrent
    /// clients): without `[access.vpn]` the spec is refused.
    #[serde(default)]
    pub vpn: bool,
    /// Works in the host's shared media tree (`/srv/media`): downloads and
    /// the library on one dataset, so imports are hardlinks, not copies.
    #[serde(default)]
    pub media: bool,
    /// HTTP path that answers 200 when the service is healthy.
    pub health: Option<String>,
    /// Prometheus metrics path on the service port, if it exports metrics.
    pub metrics: Option<String>,
    /// Dashboard group and icon (homepage).
    pub group: Option<String>,
    pub icon: Option<String>,
    /// System user owning the state directories.
    pub user: Option<String>,
    #[serde(default)]
    pub state: Vec<State>,
    /// systemd units that run the service (default: `<name>.service`);
    /// stopped while its data is captured or restored.
    #[serde(default)]
    pub units: Vec<String>,
    pub database: Option<Database>,
    #[serde(default)]
    pub secrets: Vec<SecretSlot>,
    /// Module settings, as a tree of absolute option paths. Strings may hold
    /// `@placeholders@` (see `template.rs`).
    #[serde(default)]
    pub nixos: toml::Table,
    /// Where the NixOS facts for this entry are recorded
    /// (file name under `nixos-options/`).
    pub options_file: Option<String>,
}

fn yes() -> bool {
    true
}

/// A state directory and the dataset that holds it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Short name, used in dataset names and `[services.x.data.<name>]`.
    pub name: String,
    pub path: String,
    pub class: DataClass,
    /// ZFS recordsize suited to the content (`16K` databases, `1M` media).
    #[serde(default = "default_recordsize")]
    pub recordsize: String,
    /// Default quota, e.g. `20G`.
    pub quota: Option<String>,
    /// False when the files are not the backup: a running database's files
    /// are inconsistent, its dumps are what goes offsite.
    #[serde(default = "yes")]
    pub offsite: bool,
    /// Infrastructure state that gets a dataset whatever its class (the
    /// media tree); service state always has one.
    #[serde(default)]
    pub dataset: bool,
}

fn default_recordsize() -> String {
    "128K".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// Only `postgresql` today.
    pub engine: String,
    /// Database and role name; defaults to the instance name.
    pub name: Option<String>,
    /// True when the NixOS module creates the database itself
    /// (then the tool only dumps it).
    #[serde(default)]
    pub module_managed: bool,
}

/// A secret the service needs. The agenix secret is named
/// `<instance>-<name>`, and `@secret:<name>@` in `[nixos]` refers to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSlot {
    pub name: String,
    pub description: String,
    /// Owner of the decrypted file; defaults to the entry's `user`.
    pub owner: Option<String>,
}
