//! Every agenix secret the fleet uses, with who reads it and where: the
//! services' secrets, the access and backup secrets of each host that
//! needs them, and the secrets the spec declares itself.

use super::model::{Instance, Secret, VPN_NAMESPACE};
use crate::catalog::{self, Alphabet, Generator, SecretSlot};
use crate::diagnostic::Diagnostic;
use crate::spec::{SecretSpec, Sp, Spec};
use std::collections::BTreeMap;

/// One use of a secret: what reads it, where and how.
pub(super) struct SecretUse {
    description: String,
    owner: Option<String>,
    group: Option<String>,
    mode: String,
    /// The host that decrypts it; none for an admin-only secret.
    pub(super) host: Option<String>,
    used_by: String,
    units: Vec<String>,
    generator: Option<Generator>,
}

impl SecretUse {
    pub(super) fn new(description: impl Into<String>, used_by: &str, host: &str) -> SecretUse {
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

    pub(super) fn unit(mut self, unit: String) -> SecretUse {
        self.units.push(unit);
        self
    }

    fn owned_by(mut self, owner: &str) -> SecretUse {
        self.owner = Some(owner.to_string());
        self
    }

    pub(super) fn made_by(mut self, generator: Generator) -> SecretUse {
        self.generator = Some(generator);
        self
    }
}

/// The secrets by name. The first use of a name gives its description,
/// owner, mode, generator and span; each use adds its host, reader and
/// units.
#[derive(Default)]
pub(super) struct Secrets(BTreeMap<String, Secret>);

impl Secrets {
    pub(super) fn add(&mut self, name: &Sp<String>, u: SecretUse) {
        let s = self.0.entry(name.value.clone()).or_insert_with(|| Secret {
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
}

pub(super) fn collect(
    spec: &Spec,
    instances: &[Instance],
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Secret> {
    let mut secrets = Secrets::default();
    for i in instances {
        for slot in &i.entry.secrets {
            let name = Sp::new(i.secrets[&slot.name].clone(), i.name.span.clone());
            secrets.add(&name, service_use(i, slot));
        }
    }
    // Access and backup secrets live on every host that uses them.
    for h in &spec.hosts {
        access_secrets(&mut secrets, spec, instances, &h.name.value);
        backup_secrets(&mut secrets, spec, &h.name.value);
    }
    alert_secrets(&mut secrets, spec, instances);
    super::channels::channel_secrets(&mut secrets, spec, instances);
    for declared in &spec.secrets {
        declared_secret(&mut secrets, spec, declared, diags);
    }
    secrets.0
}

/// A secret slot of a service, owned by the slot's or the entry's user; a
/// slot decrypted by the admin only (`on_host = false`) has no host.
fn service_use(i: &Instance, slot: &SecretSlot) -> SecretUse {
    // A derived secret names its source by slot; the fleet by name.
    let generator = slot.generate.clone().map(|g| match g {
        Generator::Argon2 { from, template } => Generator::Argon2 {
            from: i.secrets.get(&from).cloned().unwrap_or(from),
            template,
        },
        Generator::Copy { from, template } => Generator::Copy {
            from: i.secrets.get(&from).cloned().unwrap_or(from),
            template,
        },
        other => other,
    });
    SecretUse {
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
    }
}

/// The proxy's DNS credentials on the front proxy when anything is served
/// on a name, the tunnel's where the host serves through it, the Tailscale
/// key everywhere, the VPN configuration where a confined service runs.
fn access_secrets(secrets: &mut Secrets, spec: &Spec, instances: &[Instance], host: &str) {
    let mine = || instances.iter().filter(|i| i.host == host);
    let access = &spec.access;
    if let Some(p) = &access.proxy
        && super::wiring::is_front_proxy(spec, host)
        && instances.iter().any(|i| i.fqdn.is_some())
    {
        let description = format!(
            "{} DNS API credentials for the ACME DNS-01 challenge",
            p.dns_provider.value
        );
        let unit = format!("acme-{}.service", spec.homelab.internal_domain.value);
        let u = SecretUse::new(description, "[access.proxy]", host)
            .unit(unit)
            .owned_by("acme");
        secrets.add(&p.credentials_secret, u);
    }
    if let Some(k) = access
        .tailscale
        .as_ref()
        .and_then(|t| t.auth_key_secret.as_ref())
    {
        let u = SecretUse::new(
            "Tailscale auth key for joining the tailnet",
            "[access.tailscale]",
            host,
        )
        .unit("tailscaled-autoconnect.service".into());
        secrets.add(k, u);
    }
    if let Some(t) = &access.tunnel
        && mine().any(|i| i.public_fqdn.is_some())
    {
        let u = SecretUse::new(
            "Cloudflare Tunnel credentials file",
            "[access.tunnel]",
            host,
        )
        .unit(format!("cloudflared-tunnel-{}.service", t.id.value));
        secrets.add(&t.credentials_secret, u);
    }
    if let Some(v) = &access.vpn
        && mine().any(Instance::confined)
    {
        let u = SecretUse::new(
            "wg-quick configuration of the VPN torrent clients are confined to",
            "[access.vpn]",
            host,
        )
        .unit(format!("{VPN_NAMESPACE}.service"));
        secrets.add(&v.wireguard_secret, u);
    }
}

/// The restic password (made by machine) and credentials on every host;
/// the replication key on the replica host.
fn backup_secrets(secrets: &mut Secrets, spec: &Spec, host: &str) {
    let Some(b) = &spec.backup else { return };
    let backup = super::BACKUP_UNIT.to_string();
    let u = SecretUse::new("restic repository password", "[backup]", host)
        .unit(backup.clone())
        .unit(super::DRILL_UNIT.into())
        .made_by(Generator::Random {
            length: 40,
            alphabet: Alphabet::Alphanumeric,
            template: None,
        });
    secrets.add(&b.password_secret, u);
    if let Some(e) = &b.environment_secret {
        let u = SecretUse::new(
            "restic repository credentials (environment file)",
            "[backup]",
            host,
        )
        .unit(backup)
        .unit(super::DRILL_UNIT.into());
        secrets.add(e, u);
    }
    if let Some(r) = b.replica.as_ref().filter(|r| r.host.value == host) {
        let u = SecretUse::new(
            "SSH private key the replica host pulls ZFS snapshots with",
            "[backup] replica",
            host,
        )
        .made_by(Generator::SshKey {
            public_key: Some("backup.replica_public_key".into()),
        });
        // syncoid runs as a dynamic user and gets the key as a systemd
        // credential, which root reads: no owner.
        secrets.add(&r.key_secret, u);
    }
}

/// The secrets of the operating side, once the hosts are planned (a
/// host's own state counts as much as its services'): the NAS logins and
/// the heartbeat token of every host that backs up.
pub(super) fn add_operations_secrets(fleet: &mut super::Fleet, spec: &Spec) {
    let hosts: Vec<String> = fleet
        .hosts
        .iter()
        .filter(|h| fleet.backs_up(h.name()))
        .map(|h| h.name().to_string())
        .collect();
    let mut secrets = Secrets(std::mem::take(&mut fleet.secrets));
    for host in &hosts {
        nas_secrets(&mut secrets, spec, host);
        heartbeat_secrets(&mut secrets, &fleet.instances, host);
    }
    fleet.secrets = secrets.0;
}

/// The rest-server login of a host that backs up to the NAS: read by the
/// host's backups and drills, and by the NAS, which makes its `.htpasswd`
/// entry from it.
fn nas_secrets(secrets: &mut Secrets, spec: &Spec, host: &str) {
    let Some(r) = spec.backup.as_ref().and_then(|b| b.replica.as_ref()) else {
        return;
    };
    if r.host.value == host {
        return;
    }
    let name = Sp::new(super::nas_login_secret(host), r.host.span.clone());
    let template = format!("RESTIC_REST_USERNAME={host}\nRESTIC_REST_PASSWORD=@value@\n");
    let generator = Generator::Random {
        length: 40,
        alphabet: Alphabet::Alphanumeric,
        template: Some(template),
    };
    let description = format!("login of `{host}` to the NAS restic repository (rest-server)");
    let source = SecretUse::new(description.clone(), "[backup] replica", host)
        .unit(super::BACKUP_UNIT.into())
        .unit(super::DRILL_UNIT.into())
        .made_by(generator.clone());
    secrets.add(&name, source);
    // The NAS's unit orders itself after agenix (`render::nas`).
    let nas = SecretUse::new(description, "[backup] replica", &r.host.value).made_by(generator);
    secrets.add(&name, nas);
}

/// The token backups and drills push their results to the status page
/// with: the raw token on every host that backs up, the same token as an
/// environment line for Gatus on its host.
fn heartbeat_secrets(secrets: &mut Secrets, instances: &[Instance], host: &str) {
    let Some(gatus) = instances.iter().find(|i| i.entry.name == "gatus") else {
        return;
    };
    let span = gatus.name.span.clone();
    let token = Sp::new(super::HEARTBEAT_TOKEN_SECRET.to_string(), span.clone());
    let u = SecretUse::new(
        "token backups and drills report to the status page with",
        "[backup]",
        host,
    )
    .unit(super::BACKUP_UNIT.into())
    .unit(super::DRILL_UNIT.into())
    .made_by(Generator::Random {
        length: 40,
        alphabet: Alphabet::Alphanumeric,
        template: None,
    });
    secrets.add(&token, u);
    let env = Sp::new(super::HEARTBEAT_ENV_SECRET.to_string(), span);
    let u = SecretUse::new(
        "the heartbeat token as Gatus reads it (environment file)",
        &gatus.name.value,
        &gatus.host,
    )
    .unit("gatus.service".into())
    .made_by(Generator::Copy {
        from: super::HEARTBEAT_TOKEN_SECRET.into(),
        template: format!("{}=@value@\n", super::HEARTBEAT_TOKEN_VARIABLE),
    });
    secrets.add(&env, u);
}

/// The relay password where Alertmanager runs (a systemd credential,
/// which root reads: no owner), and the same password as an environment
/// file line where Gatus runs (`${SMTP_PASSWORD}` in its settings).
fn alert_secrets(secrets: &mut Secrets, spec: &Spec, instances: &[Instance]) {
    let Some((a, p)) = spec
        .alerts
        .as_ref()
        .and_then(|a| Some((a, a.smtp.as_ref()?.password_secret.as_ref()?)))
    else {
        return;
    };
    let mail = crate::spec::channels::MAIL;
    let host_of = |entry: &str| instances.iter().find(|i| i.entry.name == entry);
    let mut source = SecretUse::new("SMTP relay password for alert mail", "[alerts.smtp]", "");
    // Without Alertmanager only the admin reads it, to make Gatus' copy;
    // so too when the routes send no metric alert by mail.
    source.host = host_of("alertmanager")
        .filter(|_| a.takes_metric_alerts(mail))
        .map(|am| am.host.clone());
    if source.host.is_some() {
        source = source.unit("alertmanager.service".into());
    }
    secrets.add(p, source);
    if let Some(gatus) = host_of("gatus").filter(|_| a.takes_status_alerts(mail)) {
        let env = Sp::new(super::alerts::environment_secret(&p.value), p.span.clone());
        let u = SecretUse::new(
            "the SMTP relay password as Gatus' environment file (SMTP_PASSWORD=…)",
            "[alerts.smtp]",
            &gatus.host,
        )
        .unit("gatus.service".into())
        .made_by(Generator::Copy {
            from: p.value.clone(),
            template: format!("{}=@value@", super::alerts::PASSWORD_VARIABLE),
        });
        secrets.add(&env, u);
    }
}

/// A `[secrets.<name>]` of the spec: its owner wins, its hosts are added;
/// a host the spec does not have is reported.
fn declared_secret(
    secrets: &mut Secrets,
    spec: &Spec,
    declared: &SecretSpec,
    diags: &mut Vec<Diagnostic>,
) {
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
    let s = secrets
        .0
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

#[cfg(test)]
mod tests {
    use crate::fleet::testing::{self, found, pos};
    use crate::fleet::{Secret, resolve};

    fn summary(text: &str, s: &Secret) -> String {
        format!(
            "{} {:?} {} @{}",
            s.name,
            s.owner,
            s.hosts.join(","),
            pos(text, &s.span)
        )
    }

    #[test]
    fn service_access_and_backup_secrets_with_their_hosts() {
        let (text, spec) = testing::spec(
            r#"[services.grafana]
host = "server"
[services.victoriametrics]
host = "server"
[services.homepage]
host = "nas"

[access.proxy]
dns_provider = "cloudflare"
credentials_secret = "acme-dns"

[access.tailscale]
auth_key_secret = "tailscale-authkey"

[backup]
repository = "s3:https://s3.example.org/home"
password_secret = "restic-password"
"#,
        );
        let fleet = resolve(&spec).unwrap();
        let all: Vec<String> = fleet.secrets.values().map(|s| summary(&text, s)).collect();
        // Homepage on `nas` is served by the front proxy on `server`, the
        // one host that needs the DNS credentials.
        assert_eq!(
            all,
            [
                "acme-dns Some(\"acme\") server @29:22",
                "grafana-admin-password Some(\"grafana\") server @20:11",
                "grafana-secret-key Some(\"grafana\") server @20:11",
                "restic-password None server,nas @36:19",
                "tailscale-authkey None server,nas @32:19",
            ]
        );
    }

    /// `[alerts]` with a relay whose password is the secret `smtp`.
    const RELAY: &str = r#"
[alerts]
[alerts.smtp]
host = "smtp.example.org"
from = "homelab@example.org"
username = "alerts@example.org"
password_secret = "smtp"
"#;

    #[test]
    fn the_relay_password_goes_where_alertmanager_and_gatus_run() {
        let (text, spec) = testing::spec(&format!(
            "[services.alertmanager]\nhost = \"server\"\n[services.gatus]\nhost = \"nas\"\n{RELAY}"
        ));
        let fleet = resolve(&spec).unwrap();
        assert_eq!(
            summary(&text, &fleet.secrets["smtp"]),
            "smtp None server @30:19"
        );
        let env = &fleet.secrets["smtp-environment"];
        assert_eq!(summary(&text, env), "smtp-environment None nas @30:19");
        assert_eq!(env.units, ["gatus.service"]);
        assert_eq!(
            env.generator,
            Some(crate::catalog::Generator::Copy {
                from: "smtp".into(),
                template: "SMTP_PASSWORD=@value@".into(),
            })
        );
    }

    #[test]
    fn without_alertmanager_only_the_admin_reads_the_relay_password() {
        let (_, spec) = testing::spec(&format!("[services.gatus]\nhost = \"nas\"\n{RELAY}"));
        let fleet = resolve(&spec).unwrap();
        // Without `email`, mail goes to the admin; 587 is the default port.
        let alerts = fleet.alerts.as_ref().unwrap();
        assert_eq!(alerts.email.value, "admin@example.org");
        assert_eq!(alerts.smtp.as_ref().unwrap().port.value, 587);
        assert!(fleet.secrets["smtp"].hosts.is_empty());
        assert_eq!(fleet.secrets["smtp-environment"].hosts, ["nas"]);
    }

    #[test]
    fn declared_secrets_add_hosts_and_report_unknown_ones() {
        let (text, spec) =
            testing::spec("[secrets.wifi]\nhosts = [\"server\", \"nowhere\"]\nowner = \"hass\"\n");
        let diags = resolve(&spec).unwrap_err();
        assert_eq!(found(&text, &diags), ["unknown-host@21:20"]);

        let (text, spec) =
            testing::spec("[secrets.wifi]\nhosts = [\"server\", \"nas\"]\nowner = \"hass\"\n");
        let fleet = resolve(&spec).unwrap();
        assert_eq!(
            summary(&text, &fleet.secrets["wifi"]),
            "wifi Some(\"hass\") server,nas @20:10"
        );
    }
}
