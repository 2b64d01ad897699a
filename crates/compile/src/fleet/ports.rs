//! The ports the infrastructure itself takes on a host, in one place: the
//! ports of its infrastructure entries in the catalog (SSH, the proxy, the
//! tailnet, the database server…) and of the daemons the renderer runs
//! beside them without a catalog entry (the sign-in gateway, vmalert, the
//! NAS repository). The renderer takes each daemon's port from here, and
//! `port-clash` and `homelab show ports` read the same list, so a fixed
//! port the renderer uses cannot be left out of either.

use super::model::{BIND_ADDRESS, Fleet, HostPlan};
use crate::catalog::{self, Entry};

/// Where oauth2-proxy, the sign-in gateway, listens on the front proxy's
/// host (the module's default `httpAddress`).
pub(crate) const GATEWAY_PORT: u16 = 4180;
/// vmalert's own port (its default), on VictoriaMetrics' host when the
/// fleet evaluates metric alerts (Prometheus evaluates them itself).
pub(crate) const VMALERT_PORT: u16 = 8880;
/// The NAS restic repository's port: rest-server's, as the NixOS module
/// defaults it (`services.restic.server.listenAddress = "8000"`), on the
/// replica host.
pub(crate) const REST_SERVER_PORT: u16 = 8000;

/// A port the host's infrastructure takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FixedPort {
    pub(crate) port: u16,
    /// What takes it, as tables name it: an entry's title, or the
    /// daemon's program.
    pub(crate) owner: &'static str,
    /// What that daemon is for, when its name does not say
    /// (`the sign-in gateway`).
    pub(crate) role: Option<&'static str>,
    /// Where it listens, as `homelab show ports` prints it (`127.0.0.1`,
    /// `0.0.0.0 udp`, the host's LAN address).
    pub(crate) bind: String,
}

impl FixedPort {
    /// How a message names what takes the port: `Caddy`,
    /// `oauth2-proxy (the sign-in gateway)`.
    pub(crate) fn label(&self) -> String {
        match self.role {
            Some(role) => format!("{} ({role})", self.owner),
            None => self.owner.to_string(),
        }
    }
}

impl Fleet {
    /// Every port the infrastructure takes on `host`, in a stable order:
    /// its catalog entries' ports, then the daemons the renderer adds.
    pub(crate) fn infrastructure_ports(&self, host: &HostPlan) -> Vec<FixedPort> {
        let mut out = Vec::new();
        for infra in &host.infrastructure {
            let e = catalog::get(infra).expect("infrastructure entries exist");
            for &port in e.port.iter().chain(&e.extra_ports) {
                out.push(FixedPort {
                    port,
                    owner: e.title.as_str(),
                    role: None,
                    bind: port_bind(e, port, port),
                });
            }
        }
        let loopback = |port, owner, role| FixedPort {
            port,
            owner,
            role: Some(role),
            bind: BIND_ADDRESS.to_string(),
        };
        if self.runs_gateway(host.name()) {
            out.push(loopback(
                GATEWAY_PORT,
                "oauth2-proxy",
                "the sign-in gateway",
            ));
        }
        if self.runs_vmalert(host.name()) {
            out.push(loopback(VMALERT_PORT, "vmalert", "the metric alert rules"));
        }
        if self.serves_nas_repository(host.name()) {
            out.push(FixedPort {
                port: REST_SERVER_PORT,
                owner: "rest-server",
                role: Some("the NAS repository"),
                bind: host.spec.address.value.clone(),
            });
        }
        out
    }

    /// Whether the sign-in gateway runs on `host` (the front proxy's, when
    /// some service sits behind it).
    pub(crate) fn runs_gateway(&self, host: &str) -> bool {
        self.sso
            .as_ref()
            .and_then(|s| s.gateway.as_ref())
            .is_some_and(|g| g.host == host)
    }
}

/// Where an entry's port listens: every interface or localhost, and the
/// protocol when it is not TCP. `default` is the catalog port it stands
/// for (an instance's main port may have moved).
pub(crate) fn port_bind(e: &Entry, port: u16, default: u16) -> String {
    let address = if e.wildcard_ports.contains(&default) {
        "0.0.0.0"
    } else {
        BIND_ADDRESS
    };
    if e.udp_ports.contains(&port) {
        format!("{address} udp")
    } else {
        address.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::resolve;
    use crate::fleet::testing::spec;

    /// Each daemon the renderer adds: the gateway on the front proxy's
    /// host, vmalert on the metrics store's, rest-server on the replica.
    const EVERYTHING: &str = r#"
[hosts.nas.pools.vault]
mode = "mirror"
disks = ["/dev/disk/by-id/ata-C", "/dev/disk/by-id/ata-D"]
size = "8T"

[services.vaultwarden]
host = "server"
[services.victoriametrics]
host = "server"
[services.grafana]
host = "server"
[services.alertmanager]
host = "server"
[services.pocket-id]
host = "server"

[access.proxy]
dns_provider = "cloudflare"
credentials_secret = "acme-dns"

[access.sso]
provider = "pocket-id"
[access.sso.groups]
admin = ["alice"]

[alerts]
email = "admin@example.org"
[alerts.smtp]
host = "smtp.example.org"
from = "lab@example.org"

[backup]
repository = "s3:https://s3.example.org/home"
password_secret = "restic-password"
replica = "nas"
replica_key_secret = "replication-ssh-key"
replica_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII65ANq94G89AIZbW5FfU6va1Rc8N90YjcxZQAuKG2TX syncoid@nas"
"#;

    fn owners(fleet: &Fleet, host: usize) -> Vec<(u16, String)> {
        fleet
            .infrastructure_ports(&fleet.hosts[host])
            .into_iter()
            .map(|p| (p.port, p.label()))
            .collect()
    }

    #[test]
    fn the_daemons_beside_the_infrastructure_take_their_ports_where_they_run() {
        let (_, spec) = spec(EVERYTHING);
        let fleet = resolve(&spec).unwrap();
        let server = owners(&fleet, 0);
        let has = |ports: &[(u16, String)], port: u16, label: &str| {
            ports.iter().any(|(p, l)| *p == port && l == label)
        };
        assert!(has(&server, 22, "OpenSSH"), "{server:?}");
        assert!(has(&server, 443, "Caddy") && has(&server, 80, "Caddy"));
        assert!(has(
            &server,
            GATEWAY_PORT,
            "oauth2-proxy (the sign-in gateway)"
        ));
        assert!(has(
            &server,
            VMALERT_PORT,
            "vmalert (the metric alert rules)"
        ));
        assert!(
            !server.iter().any(|p| p.0 == REST_SERVER_PORT),
            "{server:?}"
        );
        let nas = owners(&fleet, 1);
        assert!(has(
            &nas,
            REST_SERVER_PORT,
            "rest-server (the NAS repository)"
        ));
        assert!(
            !nas.iter()
                .any(|p| p.0 == GATEWAY_PORT || p.0 == VMALERT_PORT)
        );
        let rest = &fleet.infrastructure_ports(&fleet.hosts[1]);
        let rest = rest.iter().find(|p| p.port == REST_SERVER_PORT).unwrap();
        assert_eq!(rest.bind, "192.168.1.20");
    }

    #[test]
    fn prometheus_evaluates_the_rules_itself_so_vmalert_takes_no_port() {
        let text = EVERYTHING.replace("[services.victoriametrics]", "[services.prometheus]");
        let (_, spec) = spec(&text);
        let fleet = resolve(&spec).unwrap();
        assert!(fleet.evaluates_alert_rules("server"));
        let server = owners(&fleet, 0);
        assert!(!server.iter().any(|p| p.0 == VMALERT_PORT), "{server:?}");
    }

    #[test]
    fn without_the_daemons_their_ports_stay_free() {
        let (_, spec) = spec("[services.vaultwarden]\nhost = \"server\"\n");
        let fleet = resolve(&spec).unwrap();
        for host in 0..2 {
            let ports = owners(&fleet, host);
            for port in [GATEWAY_PORT, VMALERT_PORT, REST_SERVER_PORT] {
                assert!(!ports.iter().any(|p| p.0 == port), "{ports:?}");
            }
        }
    }
}
