//! What the alert channels of `[alerts.channels]` add to the fleet, named
//! once: the secrets each channel reads and in which shape each program
//! gets them. Alertmanager reads a secret as a systemd credential (its
//! `*_file` fields), except an ntfy topic, which is part of the URL it
//! posts to and comes in from an environment file (`envsubst`). Gatus
//! reads every secret from an environment file (`${VAR}` in its
//! settings). The environment files are machine-made copies of the
//! secrets the user stores.

use super::Fleet;
use super::alerts::environment_secret;
use super::model::Instance;
use super::secrets::{SecretUse, Secrets};
use crate::catalog::Generator;
use crate::spec::{ChannelKind, Route, Sp, Spec};

/// The environment variable holding a channel's secret, in Gatus' and
/// Alertmanager's environment files: `ntfy-topic` is `ALERT_NTFY_TOPIC`.
pub fn variable(secret: &str) -> String {
    format!(
        "ALERT_{}",
        secret.to_ascii_uppercase().replace(['-', '.'], "_")
    )
}

/// The systemd credential Alertmanager reads one secret of a channel
/// from: `phone` and `user_key_secret` make `phone-user-key`. Channel
/// names are unique, so the credentials are too, and none can be the
/// relay's `smtp-password`.
pub fn credential(channel: &str, key: &str) -> String {
    let field = key.strip_suffix("_secret").unwrap_or(key).replace('_', "-");
    format!("{channel}-{field}")
}

/// Whether Alertmanager reads the secret at `key` as a file; an ntfy
/// topic is part of a URL, so it comes from the environment instead.
pub fn read_as_file(kind: &ChannelKind, key: &str) -> bool {
    !(matches!(kind, ChannelKind::Ntfy { .. }) && key == "topic_secret")
}

/// The Gatus alerting provider of a channel type.
pub fn gatus_type(kind: &ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Mail => "email",
        ChannelKind::Webhook { .. } => "custom",
        other => other.type_name(),
    }
}

/// The Gatus providers every status check alerts through, in the order
/// of the `status` route; empty without `[alerts]`.
pub fn status_alert_types(fleet: &Fleet) -> Vec<&'static str> {
    let Some(a) = &fleet.alerts else {
        return Vec::new();
    };
    let mut types: Vec<&'static str> = Vec::new();
    for c in a.routed(Route::Status) {
        let t = gatus_type(&c.kind);
        if !types.contains(&t) {
            types.push(t);
        }
    }
    types
}

/// What a secret of a channel holds, for `homelab secrets list`.
fn what(kind: &ChannelKind, key: &str) -> &'static str {
    match (kind, key) {
        (ChannelKind::Ntfy { .. }, "topic_secret") => "ntfy topic",
        (ChannelKind::Ntfy { .. }, _) => "ntfy access token",
        (ChannelKind::Pushover { .. }, "user_key_secret") => "Pushover user key",
        (ChannelKind::Pushover { .. }, _) => "Pushover application token",
        (ChannelKind::Discord { .. }, _) => "Discord webhook URL",
        (ChannelKind::Telegram { .. }, _) => "Telegram bot token",
        _ => "webhook URL",
    }
}

/// Every secret of every channel: the value as the user stores it, read
/// by Alertmanager where it runs (only by the admin otherwise, to make
/// the copies), and its environment-file copy where Gatus reads it, and
/// where Alertmanager reads an ntfy topic.
pub(super) fn channel_secrets(secrets: &mut Secrets, spec: &Spec, instances: &[Instance]) {
    let Some(a) = &spec.alerts else { return };
    let host_of = |entry: &str| {
        instances
            .iter()
            .find(|i| i.entry.name == entry)
            .map(|i| i.host.as_str())
    };
    let (alertmanager, gatus) = (host_of("alertmanager"), host_of("gatus"));
    for c in &a.channels {
        let metric = alertmanager.filter(|_| a.takes_metric_alerts(&c.name.value));
        let status = gatus.filter(|_| a.takes_status_alerts(&c.name.value));
        let used_by = format!("[alerts.channels.{}]", c.name.value);
        for (key, secret) in c.kind.secrets() {
            let what = format!(
                "{} of the alert channel `{}`",
                what(&c.kind, key),
                c.name.value
            );
            let file = read_as_file(&c.kind, key);
            let mut source = SecretUse::new(what.clone(), &used_by, "");
            source.host = metric.filter(|_| file).map(String::from);
            if source.host.is_some() {
                source = source.unit("alertmanager.service".into());
            }
            secrets.add(secret, source);
            let var = variable(&secret.value);
            let readers = [
                status.map(|h| (h, "gatus.service")),
                metric
                    .filter(|_| !file)
                    .map(|h| (h, "alertmanager.service")),
            ];
            for (host, unit) in readers.into_iter().flatten() {
                let env = Sp::new(environment_secret(&secret.value), secret.span.clone());
                let u = SecretUse::new(
                    format!("{what} as an environment file ({var}=…)"),
                    &used_by,
                    host,
                )
                .unit(unit.into())
                .made_by(Generator::Copy {
                    from: secret.value.clone(),
                    template: format!("{var}=@value@"),
                });
                secrets.add(&env, u);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{credential, variable};
    use crate::fleet::resolve;
    use crate::fleet::testing;

    #[test]
    fn names_of_variables_and_credentials() {
        assert_eq!(variable("ntfy-topic"), "ALERT_NTFY_TOPIC");
        assert_eq!(variable("tg.bot_token"), "ALERT_TG_BOT_TOKEN");
        assert_eq!(credential("phone", "user_key_secret"), "phone-user-key");
        assert_eq!(credential("chat", "webhook_secret"), "chat-webhook");
    }

    /// Alertmanager on `server`, Gatus on `nas`; a Pushover channel for
    /// critical alerts and the status page, an ntfy channel for warnings.
    const CHANNELS: &str = r#"[services.alertmanager]
host = "server"
[services.gatus]
host = "nas"

[alerts.channels.phone]
type = "pushover"
user_key_secret = "pushover-user"
token_secret = "pushover-token"

[alerts.channels.topic]
type = "ntfy"
topic_secret = "ntfy-topic"

[alerts.routes]
critical = ["phone"]
warning = ["topic"]
"#;

    #[test]
    fn each_secret_goes_where_its_reader_runs() {
        let (_, spec) = testing::spec(CHANNELS);
        let fleet = resolve(&spec).unwrap();
        let s = |name: &str| {
            let s = &fleet.secrets[name];
            (s.hosts.join(","), s.units.join(","))
        };
        // Pushover: Alertmanager reads the keys as credentials, Gatus
        // (the status route follows critical) from environment files.
        assert_eq!(
            s("pushover-user"),
            ("server".into(), "alertmanager.service".into())
        );
        assert_eq!(
            s("pushover-user-environment"),
            ("nas".into(), "gatus.service".into())
        );
        assert_eq!(
            fleet.secrets["pushover-user-environment"].generator,
            Some(crate::catalog::Generator::Copy {
                from: "pushover-user".into(),
                template: "ALERT_PUSHOVER_USER=@value@".into(),
            })
        );
        // The ntfy topic: only the admin reads it as it is; Alertmanager
        // reads its environment line; Gatus sends no warnings.
        assert_eq!(s("ntfy-topic"), (String::new(), String::new()));
        assert_eq!(
            s("ntfy-topic-environment"),
            ("server".into(), "alertmanager.service".into())
        );
    }
}
