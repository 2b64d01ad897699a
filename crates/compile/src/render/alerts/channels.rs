//! The alert channels in the two programs that send alerts. Alertmanager
//! gets one receiver per severity with the native integration of every
//! channel the route names (ntfy through its webhook, rendered by ntfy's
//! own `alertmanager` template) and a route tree by the `severity` label;
//! Gatus gets an alerting provider per channel of the `status` route.
//! Secrets come in as systemd credentials (Alertmanager's `*_file`
//! fields) and environment files, never through the Nix store;
//! `fleet::channels` says which shape each secret has where.

use super::mail;
use crate::fleet::Fleet;
use crate::fleet::alerts::environment_secret;
use crate::fleet::channels::{credential, gatus_type, read_as_file, variable};
use crate::nix::{Attrs, Nix, set};
use crate::render::gatus::environment_file as gatus_environment_file;
use crate::render::secrets::{age_secret, load_credential};
use crate::spec::{Alerts, Channel, ChannelKind, Route};

/// `services.prometheus.alertmanager.configuration`.
const CONF: [&str; 4] = ["services", "prometheus", "alertmanager", "configuration"];

/// Where systemd puts Alertmanager's credentials.
const CREDENTIALS: &str = "/run/credentials/alertmanager.service";

/// The severities of the rules, each a receiver of its own.
const SEVERITIES: [Route; 2] = [Route::Critical, Route::Warning];

/// Alertmanager's receivers, in place of the catalog's empty one; the
/// route tree; the secrets of the channels it sends to; and a host that
/// is down holding back its services' alerts.
pub(super) fn alertmanager(m: &mut Attrs, fleet: &Fleet) {
    let Some(a) = &fleet.alerts else { return };
    let receivers = SEVERITIES.map(|route| Nix::Attrs(receiver(a, route)));
    replace(m, &conf("receivers"), Nix::list(receivers));
    routes(m);
    for c in a
        .channels
        .iter()
        .filter(|c| a.takes_metric_alerts(&c.name.value))
    {
        alertmanager_secrets(m, fleet, c);
    }
    let mut inhibit = Attrs::new();
    inhibit.insert(
        "source_matchers".into(),
        Nix::strs(["alertname = HostDown"]),
    );
    inhibit.insert(
        "target_matchers".into(),
        Nix::strs(["alertname = ServiceDown"]),
    );
    inhibit.insert("equal".into(), Nix::strs(["host"]));
    set(m, &conf("inhibit_rules"), Nix::list([Nix::Attrs(inhibit)]));
}

fn conf(key: &'static str) -> [&'static str; 5] {
    [CONF[0], CONF[1], CONF[2], CONF[3], key]
}

/// One receiver: the integrations of every channel of `route`. A route
/// without channels is a receiver without integrations, which drops what
/// reaches it (`check` warns when the spec left a severity out).
fn receiver(a: &Alerts, route: Route) -> Attrs {
    let mut r = Attrs::new();
    r.insert("name".into(), Nix::str(route.key()));
    for c in a.routed(route) {
        let (key, config) = integration(a, c, route);
        match r.get_mut(key) {
            Some(Nix::List(list)) => list.push(Nix::Attrs(config)),
            _ => {
                r.insert(key.into(), Nix::list([Nix::Attrs(config)]));
            }
        }
    }
    r
}

/// The route tree: each severity to its receiver, grouped by alert and
/// host, repeated every 12 hours while it lasts. An alert of another
/// severity (a test alert made by hand) goes where critical ones go.
fn routes(m: &mut Attrs) {
    let route = |key: &'static str| [CONF[0], CONF[1], CONF[2], CONF[3], "route", key];
    set(m, &route("receiver"), Route::Critical.key());
    set(m, &route("group_by"), Nix::strs(["alertname", "host"]));
    set(m, &route("repeat_interval"), "12h");
    let children = SEVERITIES.map(|r| {
        let mut child = Attrs::new();
        child.insert(
            "matchers".into(),
            Nix::strs([format!("severity = {}", r.key())]),
        );
        child.insert("receiver".into(), Nix::str(r.key()));
        Nix::Attrs(child)
    });
    set(m, &route("routes"), Nix::list(children));
}

/// Pushover's priority: high (through quiet hours) for a critical alert,
/// normal for a warning, quiet (no sound) for a resolution.
fn pushover_priority(route: Route) -> &'static str {
    match route {
        Route::Critical => r#"{{ if eq .Status "firing" }}1{{ else }}-1{{ end }}"#,
        _ => r#"{{ if eq .Status "firing" }}0{{ else }}-1{{ end }}"#,
    }
}

/// ntfy's priority: `high` (a long vibration) for critical alerts.
fn ntfy_priority(route: Route) -> &'static str {
    match route {
        Route::Critical => "high",
        _ => "default",
    }
}

/// The integration of one channel in the receiver of `route`: the key of
/// its list (`pushover_configs`…) and its settings.
fn integration(a: &Alerts, c: &Channel, route: Route) -> (&'static str, Attrs) {
    let file = |key: &str| Nix::str(format!("{CREDENTIALS}/{}", credential(&c.name.value, key)));
    let mut i = Attrs::new();
    let key = match &c.kind {
        ChannelKind::Mail => return ("email_configs", mail::email_config(a)),
        ChannelKind::Pushover { .. } => {
            i.insert("user_key_file".into(), file("user_key_secret"));
            i.insert("token_file".into(), file("token_secret"));
            i.insert("priority".into(), Nix::str(pushover_priority(route)));
            "pushover_configs"
        }
        ChannelKind::Discord { .. } => {
            i.insert("webhook_url_file".into(), file("webhook_secret"));
            "discord_configs"
        }
        ChannelKind::Telegram { chat_id, .. } => {
            i.insert("bot_token_file".into(), file("token_secret"));
            i.insert("chat_id".into(), Nix::Int(chat_id.value));
            "telegram_configs"
        }
        ChannelKind::Webhook { .. } => {
            i.insert("url_file".into(), file("url_secret"));
            "webhook_configs"
        }
        ChannelKind::Ntfy {
            server,
            topic_secret,
            token_secret,
        } => {
            // The unit's `envsubst` puts the topic in from its
            // environment file; ntfy formats the webhook's JSON with its
            // own `alertmanager` template.
            let url = format!(
                "{}/${{{}}}?template=alertmanager&priority={}",
                server.value.trim_end_matches('/'),
                variable(&topic_secret.value),
                ntfy_priority(route)
            );
            i.insert("url".into(), Nix::str(url));
            if token_secret.is_some() {
                let mut auth = Attrs::new();
                auth.insert("credentials_file".into(), file("token_secret"));
                let mut http = Attrs::new();
                http.insert("authorization".into(), Nix::Attrs(auth));
                i.insert("http_config".into(), Nix::Attrs(http));
            }
            "webhook_configs"
        }
    };
    i.insert("send_resolved".into(), Nix::Bool(true));
    (key, i)
}

/// The secrets of a channel, where Alertmanager reads them: a credential
/// from its agenix file, or (an ntfy topic) an environment file.
fn alertmanager_secrets(m: &mut Attrs, fleet: &Fleet, c: &Channel) {
    let service = ["systemd", "services", "alertmanager", "serviceConfig"];
    for (key, secret) in c.kind.secrets() {
        if read_as_file(&c.kind, key) {
            set(
                m,
                &[
                    service[0],
                    service[1],
                    service[2],
                    service[3],
                    "LoadCredential",
                ],
                Nix::list([load_credential(
                    &credential(&c.name.value, key),
                    &secret.value,
                )]),
            );
            age_secret(m, fleet, &secret.value, 3);
        } else {
            let env = environment_secret(&secret.value);
            set(
                m,
                &[
                    service[0],
                    service[1],
                    service[2],
                    service[3],
                    "EnvironmentFile",
                ],
                Nix::list([Nix::age_secret_path(&env)]),
            );
            age_secret(m, fleet, &env, 3);
        }
    }
}

/// Sets `path` to `value`, replacing a list instead of extending it.
fn replace(m: &mut Attrs, path: &[&str], value: Nix) {
    let (last, parents) = path.split_last().expect("a path is never empty");
    set(m, path, Nix::Null);
    let mut at = m;
    for p in parents {
        let Some(Nix::Attrs(inner)) = at.get_mut(*p) else {
            return;
        };
        at = inner;
    }
    at.insert((*last).to_string(), value);
}

/// Gatus' providers for the channels of the `status` route (mail is
/// `mail.rs`'s), each reading its secrets from an environment file, with
/// the default alert of every check: three failed checks open an alert,
/// two passing ones resolve it. Gatus has one provider per type (`check`
/// refuses two channels of one type there).
pub(super) fn gatus(m: &mut Attrs, fleet: &Fleet) {
    let Some(a) = &fleet.alerts else { return };
    let mut done: Vec<&str> = Vec::new();
    for c in a.routed(Route::Status) {
        let kind = gatus_type(&c.kind);
        if matches!(c.kind, ChannelKind::Mail) || done.contains(&kind) {
            continue;
        }
        done.push(kind);
        let mut p = provider(&c.kind);
        p.insert("default-alert".into(), Nix::Attrs(default_alert()));
        set(
            m,
            &["services", "gatus", "settings", "alerting", kind],
            Nix::Attrs(p),
        );
        for (_, secret) in c.kind.secrets() {
            let env = environment_secret(&secret.value);
            gatus_environment_file(m, &env);
            age_secret(m, fleet, &env, 3);
        }
    }
}

/// `${VAR}` of a secret, which Gatus expands from its environment.
fn expanded(secret: &crate::spec::Sp<String>) -> Nix {
    Nix::str(format!("${{{}}}", variable(&secret.value)))
}

/// A Gatus provider's settings (keys of the Gatus README, "Alerting").
fn provider(kind: &ChannelKind) -> Attrs {
    let mut p = Attrs::new();
    match kind {
        ChannelKind::Mail => {}
        ChannelKind::Ntfy {
            server,
            topic_secret,
            token_secret,
        } => {
            p.insert("url".into(), Nix::str(server.value.trim_end_matches('/')));
            p.insert("topic".into(), expanded(topic_secret));
            // 4 is ntfy's `high`, as for critical metric alerts.
            p.insert("priority".into(), Nix::Int(4));
            if let Some(t) = token_secret {
                p.insert("token".into(), expanded(t));
            }
        }
        ChannelKind::Pushover {
            user_key_secret,
            token_secret,
        } => {
            p.insert("application-token".into(), expanded(token_secret));
            p.insert("user-key".into(), expanded(user_key_secret));
            p.insert("priority".into(), Nix::Int(1));
            p.insert("resolved-priority".into(), Nix::Int(-1));
        }
        ChannelKind::Discord { webhook_secret } => {
            p.insert("webhook-url".into(), expanded(webhook_secret));
        }
        ChannelKind::Telegram {
            token_secret,
            chat_id,
        } => {
            p.insert("token".into(), expanded(token_secret));
            p.insert("id".into(), Nix::str(chat_id.value.to_string()));
        }
        ChannelKind::Webhook { url_secret } => {
            p.insert("url".into(), expanded(url_secret));
            p.insert("method".into(), Nix::str("POST"));
            let mut headers = Attrs::new();
            headers.insert("Content-Type".into(), Nix::str("application/json"));
            p.insert("headers".into(), Nix::Attrs(headers));
            p.insert("body".into(), Nix::str(WEBHOOK_BODY));
            let mut states = Attrs::new();
            states.insert("TRIGGERED".into(), Nix::str("firing"));
            states.insert("RESOLVED".into(), Nix::str("resolved"));
            let mut placeholders = Attrs::new();
            placeholders.insert("ALERT_TRIGGERED_OR_RESOLVED".into(), Nix::Attrs(states));
            p.insert("placeholders".into(), Nix::Attrs(placeholders));
        }
    }
    p
}

/// What Gatus posts to a webhook: the shape of Alertmanager's webhook
/// JSON (one alert, `StatusCheckFailing`), so one receiver reads both.
/// The `[…]` are Gatus' placeholders.
const WEBHOOK_BODY: &str = r#"{"version":"4","receiver":"status","status":"[ALERT_TRIGGERED_OR_RESOLVED]","groupLabels":{"alertname":"StatusCheckFailing"},"commonLabels":{"alertname":"StatusCheckFailing","severity":"critical","service":"[ENDPOINT_NAME]"},"alerts":[{"status":"[ALERT_TRIGGERED_OR_RESOLVED]","labels":{"alertname":"StatusCheckFailing","severity":"critical","service":"[ENDPOINT_NAME]","group":"[ENDPOINT_GROUP]"},"annotations":{"summary":"[ENDPOINT_NAME] fails its status check","description":"[RESULT_ERRORS]"}}]}"#;

fn default_alert() -> Attrs {
    let mut d = Attrs::new();
    d.insert("failure-threshold".into(), Nix::Int(3));
    d.insert("success-threshold".into(), Nix::Int(2));
    d.insert("send-on-resolved".into(), Nix::Bool(true));
    d
}
