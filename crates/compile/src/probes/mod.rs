//! What the homelab is asked, read off the fleet: the same facts the
//! status page's checks, the host plans and the VM tests come from, so a
//! new service brings its probes with it.
//!
//! Per host: that it answers over SSH; that each unit of its services and
//! of its infrastructure is active; that each name the front proxy serves
//! for its services answers through the proxy (the service's health path
//! where the catalog knows one); that the proxy's certificate has days
//! left (on the front proxy's host); that each backed-up service's last
//! backup and drill are within its data class's limits.
//!
//! This is a description, not a run: `operate::probe` runs it, from
//! wherever the command runs. `exposure` adds who must and must not reach
//! what, for `homelab verify exposure`.

pub mod exposure;

use crate::fleet::{Fleet, GATEWAY_PREFIX, HostPlan, Instance};
use crate::spec::DataClass;
use crate::spec::status::{CERTIFICATE_DAYS, PROBE_TIMEOUT_MS, RUN_TIMEOUT_MS};
use serde::Serialize;

/// Every probe of the fleet, and the limits they run under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probes {
    pub limits: Limits,
    /// The host whose proxy serves every name, where web probes connect.
    pub front: Option<Front>,
    pub hosts: Vec<HostProbes>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Each probe's time limit.
    pub probe_ms: u64,
    /// The whole run's.
    pub run_ms: u64,
    /// A certificate valid for fewer days is a problem.
    pub certificate_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Front {
    pub host: String,
    pub address: String,
    pub port: u16,
}

/// The port names are asked for at: the front proxy's, as its catalog
/// entry declares it (`fleet/ports.rs` keeps every port a host listens
/// on); a tunnel name is asked for where the internet reaches it, on the
/// same HTTPS port.
pub fn https_port() -> u16 {
    crate::catalog::get("caddy")
        .and_then(|e| e.port)
        .expect("the proxy's catalog entry has its port")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostProbes {
    pub host: String,
    /// Its LAN address, where SSH reaches it.
    pub address: String,
    pub ssh_user: String,
    pub ssh_port: u16,
    /// Where homelab keeps its records on the host.
    pub state_dir: String,
    pub units: Vec<UnitProbe>,
    pub web: Vec<WebProbe>,
    pub certificate: Option<CertificateProbe>,
    pub records: Vec<RecordProbe>,
}

/// A systemd unit that must be active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitProbe {
    /// The service (or infrastructure part) it belongs to.
    pub service: String,
    pub unit: String,
}

/// A name the front proxy serves, asked for with TLS (SNI and `Host` set
/// to the name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebProbe {
    pub service: String,
    pub name: String,
    pub path: String,
    pub expect: Expect,
}

/// What a web probe must see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    /// The catalog's health path answers 200.
    Healthy,
    /// Any answer below 500: the proxy reached the service (it has no
    /// health path, or its internal name sends visitors to its public
    /// one).
    Answers,
    /// A redirect to the sign-in gateway: the service is behind it, and a
    /// visitor who has not signed in goes there.
    SignIn,
}

impl Expect {
    /// Whether `status` (and the `Location` of a redirect) is what was
    /// expected.
    pub fn met(self, status: u16, location: Option<&str>) -> bool {
        match self {
            Expect::Healthy => status == 200,
            Expect::Answers => (100..500).contains(&status),
            Expect::SignIn => {
                matches!(status, 302 | 303 | 307)
                    && location.is_some_and(|l| l.contains(GATEWAY_PREFIX))
            }
        }
    }

    /// What was expected, for a message.
    pub fn describe(self) -> &'static str {
        match self {
            Expect::Healthy => "200",
            Expect::Answers => "an answer below 500",
            Expect::SignIn => "a redirect to the sign-in page",
        }
    }
}

/// The front proxy's certificate, asked for by one of its names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateProbe {
    pub name: String,
}

/// A backed-up service's last backup and drill, against its class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordProbe {
    pub service: String,
    pub class: DataClass,
    pub repositories: Vec<String>,
    pub backup_max_age_hours: u32,
    pub drill_max_age_days: u32,
}

/// The probes of every host.
pub fn probes(fleet: &Fleet) -> Probes {
    let status = &fleet.status;
    let front = fleet.front_proxy().and_then(|h| {
        let serves = fleet.instances.iter().any(|i| i.fqdn.is_some());
        serves.then(|| Front {
            host: h.name().to_string(),
            address: h.spec.address.value.clone(),
            port: https_port(),
        })
    });
    Probes {
        limits: Limits {
            probe_ms: status
                .probe_timeout
                .as_ref()
                .map_or(PROBE_TIMEOUT_MS, |t| t.value),
            run_ms: status.timeout.as_ref().map_or(RUN_TIMEOUT_MS, |t| t.value),
            certificate_days: status
                .certificate_days
                .as_ref()
                .map_or(CERTIFICATE_DAYS, |d| d.value),
        },
        hosts: fleet
            .hosts
            .iter()
            .map(|h| host(fleet, h, front.as_ref()))
            .collect(),
        front,
    }
}

fn host(fleet: &Fleet, h: &HostPlan, front: Option<&Front>) -> HostProbes {
    let plan = crate::plan::plan(fleet, h);
    let mut units: Vec<UnitProbe> = fleet
        .instances_on(h.name())
        .flat_map(|i| {
            crate::plan::units(i).into_iter().map(|unit| UnitProbe {
                service: i.name.value.clone(),
                unit,
            })
        })
        .collect();
    units.extend(h.infrastructure.iter().flat_map(|infra| {
        infrastructure_units(infra).iter().map(|unit| UnitProbe {
            service: (*infra).to_string(),
            unit: (*unit).to_string(),
        })
    }));
    let web = fleet
        .instances_on(h.name())
        .filter_map(|i| web(fleet, i))
        .collect();
    let certificate = front.filter(|f| f.host == h.name()).and_then(|_| {
        fleet.instances.iter().find_map(|i| {
            i.fqdn.as_ref().map(|f| CertificateProbe {
                name: f.value.clone(),
            })
        })
    });
    let records = plan
        .services
        .iter()
        .filter(|s| !s.repositories.is_empty())
        .map(|s| RecordProbe {
            service: s.name.clone(),
            class: s.class,
            repositories: s.repositories.iter().map(|r| r.name.clone()).collect(),
            backup_max_age_hours: s.max_age_hours,
            drill_max_age_days: plan.drill.max_age_days,
        })
        .collect();
    HostProbes {
        host: h.name().to_string(),
        address: h.spec.address.value.clone(),
        ssh_user: fleet
            .status
            .ssh_user
            .as_ref()
            .unwrap_or(&fleet.homelab.admin_user)
            .value
            .clone(),
        ssh_port: h.spec.ssh_port.as_ref().map_or(22, |p| p.value),
        state_dir: plan.state_dir,
        units,
        web,
        certificate,
        records,
    }
}

/// The web probe of an instance the front proxy serves.
fn web(fleet: &Fleet, i: &Instance) -> Option<WebProbe> {
    let name = i.fqdn.as_ref()?.value.clone();
    let gated = fleet
        .sso
        .as_ref()
        .and_then(|s| s.gateway.as_ref())
        .is_some_and(|g| g.route(&i.name.value).is_some());
    let (path, expect) = match (&i.entry.health, gated, i.public_fqdn.is_some()) {
        (_, true, _) => ("/".to_string(), Expect::SignIn),
        (Some(health), false, false) => (health.clone(), Expect::Healthy),
        (Some(health), false, true) => (health.clone(), Expect::Answers),
        (None, false, _) => ("/".to_string(), Expect::Answers),
    };
    Some(WebProbe {
        service: i.name.value.clone(),
        name,
        path,
        expect,
    })
}

/// The units of the infrastructure parts a host runs, as their NixOS
/// modules name them (`services.openssh` runs `sshd.service`,
/// `services.tailscale` runs `tailscaled.service`, the iptables firewall
/// is `firewall.service`). Parts whose unit names depend on settings
/// (the tunnel's, ZFS's imports) are watched through their services.
fn infrastructure_units(infra: &str) -> &'static [&'static str] {
    match infra {
        "caddy" => &["caddy.service"],
        "openssh" => &["sshd.service"],
        "tailscale" => &["tailscaled.service"],
        "postgresql" => &["postgresql.service"],
        "fail2ban" => &["fail2ban.service"],
        "firewall" => &["firewall.service"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests;
