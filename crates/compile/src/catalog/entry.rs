//! The shape of one catalog file. `docs/catalog.md` documents every field.

use crate::spec::{DataClass, Exposure};
use serde::Deserialize;

/// Where systemd keeps the state of `DynamicUser=` services (each
/// `/var/lib/<name>` is a link into it).
pub(crate) const PRIVATE_STATE_ROOT: &str = "/var/lib/private/";

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
    /// True when the NixOS module can run several instances on one host
    /// (otherwise a second instance there is a `duplicate-module` error).
    #[serde(default)]
    pub(crate) several_per_host: bool,
    /// Default listening port (TCP) of the web UI or API.
    pub port: Option<u16>,
    /// True when the module cannot move the port (an override is refused).
    #[serde(default)]
    pub port_fixed: bool,
    /// Other ports the service opens on localhost, for clash detection.
    #[serde(default)]
    pub extra_ports: Vec<u16>,
    /// Default ports bound on every interface rather than localhost (no
    /// listen-address option, or meant to be reached from the network);
    /// the firewall decides who reaches them.
    #[serde(default)]
    pub(crate) wildcard_ports: Vec<u16>,
    /// Ports that are UDP, not TCP.
    #[serde(default)]
    pub(crate) udp_ports: Vec<u16>,
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
    /// `coral`); the host must list a matching device under `hardware`
    /// (`gpu-intel` is a `gpu`, `zigbee-usb` a `zigbee`).
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
    /// Roles it uses when the fleet has them, without needing them (Home
    /// Assistant talks to an MQTT broker if there is one): the wiring
    /// lets it reach them on other hosts.
    #[serde(default)]
    pub wants: Vec<String>,
    /// Runs only inside the VPN namespace, with a kill switch (torrent
    /// clients): without `[access.vpn]` the spec is refused.
    #[serde(default)]
    pub vpn: bool,
    /// A page meant to be read by anyone (a status page): `public` draws
    /// neither `admin-public` nor `public-without-auth`, and the tunnel
    /// passes only the paths of the page itself.
    pub public_page: Option<PublicPage>,
    /// How a `vpn` service runs when the spec takes it out of the VPN
    /// (`vpn = false`); an entry without it cannot leave the namespace.
    pub(crate) unconfined: Option<Unconfined>,
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
    pub(crate) icon: Option<String>,
    /// System user owning the state directories.
    pub user: Option<String>,
    /// The module runs the service with systemd's `DynamicUser=`: there is
    /// no fixed user (`user` stays empty), and its state directories live
    /// below `/var/lib/private`, which systemd wants at mode 0700.
    #[serde(default)]
    pub(crate) dynamic_user: bool,
    #[serde(default)]
    pub state: Vec<State>,
    pub database: Option<Database>,
    #[serde(default)]
    pub secrets: Vec<SecretSlot>,
    /// A list option (absolute path) that takes the instance's further
    /// host names, e.g. Nextcloud's `settings.trusted_domains`: its
    /// settings name the canonical one, this option admits the others.
    pub(crate) alias_option: Option<String>,
    /// Module settings, as a tree of absolute option paths. Strings may hold
    /// `@placeholders@` (see `template.rs`).
    #[serde(default)]
    pub nixos: toml::Table,
    /// Where the NixOS facts for this entry are recorded
    /// (file name under `nixos-options/`).
    pub options_file: Option<String>,
    /// The option that holds the listen address (set to `@address@`), so
    /// a test can prove the service binds to localhost.
    pub bind: Option<String>,
    /// Why the service cannot be bound to localhost when `bind` is absent
    /// (the module has no such option, or the VPN namespace confines it).
    pub bind_exception: Option<String>,
    /// Devices the service uses when its host has them, without needing
    /// them (a GPU for transcoding, a Coral for detection).
    #[serde(default)]
    pub optional_hardware: Vec<String>,
    /// The systemd units the module runs, when they are not named after the
    /// module's last path component (`deluged` and `delugeweb`).
    #[serde(default)]
    pub units: Vec<String>,
    /// Unfree packages the module installs (their `lib.getName`), for the
    /// host's unfree allow-list.
    #[serde(default)]
    pub unfree: Vec<String>,
    /// How the service signs people in with the fleet's OpenID Connect
    /// provider, when it can (`[access.sso]`).
    pub oidc: Option<Oidc>,
    /// The service sits behind the proxy's sign-in gateway when the fleet
    /// has `[access.sso]`: it has no login of its own, or one it hands to
    /// the proxy (the *arr apps' `External` method).
    pub forward_auth: Option<ForwardAuth>,
    /// The pass-through options whose values reach the program's command
    /// line, and the program's flags among them that move where it listens.
    pub command_line: Option<CommandLine>,
}

/// What of a module's pass-through reaches its program's command line,
/// read from the module (how it builds `ExecStart`) and the program (its
/// flags). A pass-through value that sets one of the listen flags is the
/// `owned-option` error, like the options the renderer owns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandLine {
    /// Options below the module whose values the module puts on the
    /// command line as words: flag lists (`extraFlags`), and strings it
    /// splices into the start command (`webExternalUrl`). Dotted.
    pub options: Vec<String>,
    /// The flags that decide where the program listens, spelled as the
    /// program documents them: a listen address or port
    /// (`--web.listen-address`, `-p`), or the configuration file that
    /// holds them (`--config`). A long flag matches with one or two dashes,
    /// alone (its value the next word) or as `flag=value`; a short one
    /// (`-p`) also with the value attached (`-p80`) or among other short
    /// flags (`-dp`). A flag without dashes (Grafana's
    /// `cfg:server.http_port`) matches as itself or `name=value`.
    #[serde(default)]
    pub listen_flags: Vec<String>,
    /// The program takes a unique prefix of a long flag (Python's argparse
    /// does unless told not to): `--conf` is `--config`.
    #[serde(default)]
    pub abbreviations: bool,
    /// Options the module turns into a listen flag whatever their value
    /// (oci-containers' `networks`, each `--network=<value>`).
    #[serde(default)]
    pub listen_options: Vec<String>,
}

/// What the tunnel passes to a public page: the page and its read-only
/// API; the rest of the service (metrics, pushes) stays on the LAN.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicPage {
    /// An RE2 regular expression on the request path (cloudflared's
    /// ingress `path`), anchored at both ends.
    pub paths: String,
}

/// A VPN client run outside the namespace: what it then needs that the
/// namespace gave it (the namespace keeps its web UI off the network;
/// outside, it binds to its address like any other service).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unconfined {
    /// Settings merged over `[nixos]`, with the same placeholders.
    #[serde(default)]
    pub nixos: toml::Table,
}

/// A service the proxy's gateway signs people in for (forward-auth).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardAuth {
    /// Settings the service needs behind the gateway (its own login
    /// turned over to the proxy), merged into `[nixos]`.
    #[serde(default)]
    pub nixos: toml::Table,
}

/// A service that is an OpenID Connect client of the fleet's provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oidc {
    /// The redirect (callback) path on the service's own URL.
    pub(crate) redirect_path: String,
    /// Further redirects the provider must accept: a path on the
    /// service's URL (`/user-settings`), or a whole URI (a mobile app's
    /// `app.immich:///oauth-callback`).
    #[serde(default)]
    pub(crate) extra_redirects: Vec<String>,
    /// Whether the service sends a PKCE challenge (the provider then
    /// requires one).
    #[serde(default)]
    pub pkce: bool,
    /// The client secret's file, when the service reads it as more than
    /// the bare value: `@value@` stands for the secret, e.g.
    /// `OIDC_CLIENT_SECRET=@value@\n` for an environment file. Only text
    /// before `@value@` and a final newline are allowed (the provider's
    /// side strips them).
    pub(crate) secret_template: Option<String>,
    /// Settings that make it a client, merged into `[nixos]`. Besides the
    /// usual placeholders: `@oidc-issuer@` (the provider's issuer URL),
    /// `@oidc-client-id@`, `@oidc-scopes@` (the scopes that bring the
    /// `groups` claim), and `@secret:oidc-client-secret@` (the client
    /// secret, machine-made and shared with the provider).
    pub nixos: toml::Table,
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
    /// The module creates this directory itself with its own owner and
    /// mode (a tmpfiles `d` rule), which also fixes a freshly mounted
    /// dataset: the renderer adds no rule that would repeat or contradict it.
    #[serde(default)]
    pub(crate) module_creates: bool,
    /// Where the module kept the directory on hosts installed before a
    /// release: modules move state only for new installs, gated on
    /// `system.stateVersion`.
    pub(crate) path_before: Option<PathBefore>,
}

/// The older location of a state directory, for hosts whose
/// `system.stateVersion` is older than `release`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PathBefore {
    pub(crate) release: String,
    pub(crate) path: String,
}

impl State {
    /// The directory on a host with this `system.stateVersion` (`YY.MM`,
    /// which orders as text).
    pub(crate) fn path_at(&self, state_version: &str) -> &str {
        match &self.path_before {
            Some(b) if state_version < b.release.as_str() => &b.path,
            _ => &self.path,
        }
    }
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
    pub(crate) module_managed: bool,
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
    /// Group of the decrypted file; agenix's default is the owner's group.
    pub group: Option<String>,
    /// Permissions of the decrypted file.
    #[serde(default = "default_mode")]
    pub mode: String,
    /// The systemd units that read the decrypted file, ordered after
    /// agenix has put it in place.
    #[serde(default)]
    pub units: Vec<String>,
    /// False for a secret only the admin reads (the clear form of a
    /// password the host keeps only hashed): never decrypted on a host.
    #[serde(default = "yes")]
    pub(crate) on_host: bool,
    /// How `homelab secrets generate` makes it; none when only the owner
    /// can provide it (an API token from a provider).
    pub generate: Option<Generator>,
}

/// The mode agenix gives a decrypted secret when none is set.
pub(crate) fn default_mode() -> String {
    "0400".to_string()
}

/// How a machine-made secret is made.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Generator {
    /// `length` characters drawn uniformly from `alphabet`.
    Random {
        length: u16,
        #[serde(default)]
        alphabet: Alphabet,
        /// The file holds this text with `@value@` replaced by the random
        /// value (an environment file line, for instance); none: the
        /// value alone.
        #[serde(default)]
        template: Option<String>,
    },
    /// An OpenSSH ed25519 private key. Its public half is written into the
    /// spec at `public_key` (a dotted key path, e.g.
    /// `backup.replica_public_key`) when the spec needs it.
    SshKey {
        #[serde(default)]
        public_key: Option<String>,
    },
    /// The Argon2id PHC string of the secret `from` (a slot of the same
    /// entry in the catalog, the full secret name in the fleet), put into
    /// `template` at `@hash@` (an environment file line, for instance).
    Argon2 {
        from: String,
        #[serde(default = "bare_hash")]
        template: String,
    },
    /// The secret `from` (named like `Argon2`'s) as it is, put into
    /// `template` at `@value@`: one password in the shape a second reader
    /// wants (an environment file line), so the two never disagree.
    Copy { from: String, template: String },
}

fn bare_hash() -> String {
    "@hash@".to_string()
}

/// The characters a random secret is drawn from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alphabet {
    /// `A–Z a–z 0–9`: safe in URLs, environment files and config formats.
    #[default]
    Alphanumeric,
    /// `0–9 a–f`, for keys a service wants as hex.
    Hex,
}

impl Alphabet {
    pub fn chars(self) -> &'static [u8] {
        match self {
            Alphabet::Alphanumeric => {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            }
            Alphabet::Hex => b"0123456789abcdef",
        }
    }
}

impl Generator {
    /// The secret this one is made from, if it is derived.
    pub fn source(&self) -> Option<&str> {
        match self {
            Generator::Argon2 { from, .. } | Generator::Copy { from, .. } => Some(from),
            _ => None,
        }
    }
}

impl Entry {
    /// Whether the service's settings bind it to one name (`@url@` or
    /// `@fqdn@`: links, cookies, WebAuthn) and it has no option for more:
    /// then every other name of the instance redirects to the canonical one.
    pub(crate) fn binds_one_name(&self) -> bool {
        fn mentions(v: &toml::Value) -> bool {
            match v {
                toml::Value::String(s) => s.contains("@url@") || s.contains("@fqdn@"),
                toml::Value::Array(a) => a.iter().any(mentions),
                toml::Value::Table(t) => t.values().any(mentions),
                _ => false,
            }
        }
        self.alias_option.is_none() && self.nixos.values().any(mentions)
    }
}
