//! Every agenix secret the fleet uses, with the hosts that decrypt it:
//! the services' secrets, the access and backup secrets of each host that
//! needs them, and the secrets the spec declares itself.

use super::model::{Instance, Secret};
use crate::diagnostic::Diagnostic;
use crate::spec::{Sp, Spec};
use std::collections::BTreeMap;

/// The secrets by name. The first use of a name gives its description,
/// owner and span; each further use adds its host.
#[derive(Default)]
struct Secrets(BTreeMap<String, Secret>);

impl Secrets {
    fn add(&mut self, name: &Sp<String>, description: &str, owner: Option<&str>, host: &str) {
        let s = self.0.entry(name.value.clone()).or_insert_with(|| Secret {
            name: name.value.clone(),
            description: description.to_string(),
            owner: owner.map(str::to_string),
            hosts: Vec::new(),
            span: name.span.clone(),
        });
        if !s.hosts.iter().any(|h| h == host) {
            s.hosts.push(host.to_string());
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
        service_secrets(&mut secrets, i);
    }
    // Access and backup secrets live on every host that uses them.
    for h in &spec.hosts {
        access_secrets(&mut secrets, spec, instances, &h.name.value);
        backup_secrets(&mut secrets, spec, &h.name.value);
    }
    for declared in &spec.secrets {
        declared_secret(&mut secrets, spec, declared, diags);
    }
    secrets.0
}

/// The secret slots of a service, owned by its slot's or entry's user,
/// pointing at the service.
fn service_secrets(secrets: &mut Secrets, i: &Instance) {
    for slot in &i.entry.secrets {
        let owner = slot.owner.as_ref().or(i.entry.user.as_ref());
        secrets.add(
            &Sp::new(i.secrets[&slot.name].clone(), i.name.span.clone()),
            &slot.description,
            owner.map(String::as_str),
            &i.host,
        );
    }
}

/// The proxy's DNS credentials and the tunnel's where the host serves
/// through them, the Tailscale key everywhere, the VPN configuration where
/// a confined service runs.
fn access_secrets(secrets: &mut Secrets, spec: &Spec, instances: &[Instance], host: &str) {
    let mine = || instances.iter().filter(|i| i.host == host);
    let access = &spec.access;
    if let Some(p) = &access.proxy
        && mine().any(|i| i.fqdn.is_some())
    {
        let description = format!(
            "{} DNS API credentials for the ACME DNS-01 challenge",
            p.dns_provider.value
        );
        secrets.add(&p.credentials_secret, &description, Some("acme"), host);
    }
    if let Some(k) = access
        .tailscale
        .as_ref()
        .and_then(|t| t.auth_key_secret.as_ref())
    {
        secrets.add(k, "Tailscale auth key for joining the tailnet", None, host);
    }
    if let Some(t) = &access.tunnel
        && mine().any(|i| i.public_fqdn.is_some())
    {
        secrets.add(
            &t.credentials_secret,
            "Cloudflare Tunnel credentials file",
            None,
            host,
        );
    }
    if let Some(v) = &access.vpn
        && mine().any(|i| i.entry.vpn)
    {
        secrets.add(
            &v.wireguard_secret,
            "wg-quick configuration of the VPN torrent clients are confined to",
            None,
            host,
        );
    }
}

/// The restic password and credentials on every host; the replication key
/// on the replica host.
fn backup_secrets(secrets: &mut Secrets, spec: &Spec, host: &str) {
    let Some(b) = &spec.backup else { return };
    secrets.add(&b.password_secret, "restic repository password", None, host);
    if let Some(e) = &b.environment_secret {
        secrets.add(
            e,
            "restic repository credentials (environment file)",
            None,
            host,
        );
    }
    if let Some(r) = b.replica.as_ref().filter(|r| r.host.value == host) {
        secrets.add(
            &r.key_secret,
            "SSH private key the replica host pulls ZFS snapshots with",
            Some("syncoid"),
            host,
        );
    }
}

/// A `[secrets.<name>]` of the spec: its owner wins, its hosts are added;
/// a host the spec does not have is reported.
fn declared_secret(
    secrets: &mut Secrets,
    spec: &Spec,
    declared: &crate::spec::SecretSpec,
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
            hosts: Vec::new(),
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
        assert_eq!(
            all,
            [
                "acme-dns Some(\"acme\") server,nas @29:22",
                "grafana-admin-password Some(\"grafana\") server @20:11",
                "grafana-secret-key Some(\"grafana\") server @20:11",
                "restic-password None server,nas @36:19",
                "tailscale-authkey None server,nas @32:19",
            ]
        );
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
