//! The two programs that send alert mail, configured for the relay of
//! `[alerts.smtp]`: Alertmanager (metric alerts) reads the password as a
//! systemd credential, Gatus (status-page alerts) from an environment file.
//! Mail is the channel `mail`; `channels.rs` puts it in the receivers.

use crate::fleet::Fleet;
use crate::fleet::alerts::{PASSWORD_CREDENTIAL, PASSWORD_VARIABLE, environment_secret};
use crate::nix::{Attrs, Nix, set};
use crate::render::gatus::environment_file as gatus_environment_file;
use crate::render::secrets::{age_secret, load_credential};
use crate::spec::Alerts;
use crate::spec::channels::MAIL;

/// Alertmanager's relay, and the credential its password comes in as.
pub(super) fn alertmanager(m: &mut Attrs, fleet: &Fleet) {
    let Some(a) = &fleet.alerts else { return };
    let Some(smtp) = a.smtp.as_ref().filter(|_| a.takes_metric_alerts(MAIL)) else {
        return;
    };
    let conf = ["services", "prometheus", "alertmanager", "configuration"];
    let global = |key: &'static str| [conf[0], conf[1], conf[2], conf[3], "global", key];
    set(
        m,
        &global("smtp_smarthost"),
        format!("{}:{}", smtp.host.value, smtp.port.value),
    );
    set(m, &global("smtp_from"), smtp.from.value.as_str());
    if let (Some(user), Some(secret)) = (&smtp.username, &smtp.password_secret) {
        set(m, &global("smtp_auth_username"), user.value.as_str());
        set(
            m,
            &global("smtp_auth_password_file"),
            format!("/run/credentials/alertmanager.service/{PASSWORD_CREDENTIAL}"),
        );
        set(
            m,
            &[
                "systemd",
                "services",
                "alertmanager",
                "serviceConfig",
                "LoadCredential",
            ],
            Nix::list([load_credential(PASSWORD_CREDENTIAL, &secret.value)]),
        );
        age_secret(m, fleet, &secret.value, 3);
    }
}

/// The e-mail integration of a receiver: a mail to the spec's address,
/// and another when the alert resolves.
pub(super) fn email_config(a: &Alerts) -> Attrs {
    let mut email = Attrs::new();
    email.insert("to".into(), Nix::str(&a.email.value));
    email.insert("send_resolved".into(), Nix::Bool(true));
    email
}

/// Gatus' mail alerting: the relay, and the default every endpoint's
/// `alerts` entry uses (three failed checks open an alert, two passing
/// ones resolve it with a second mail).
pub(super) fn gatus(m: &mut Attrs, fleet: &Fleet) {
    let Some(a) = &fleet.alerts else { return };
    let Some(smtp) = a.smtp.as_ref().filter(|_| a.takes_status_alerts(MAIL)) else {
        return;
    };
    let email = ["services", "gatus", "settings", "alerting", "email"];
    let key = |k: &'static str| [email[0], email[1], email[2], email[3], email[4], k];
    set(m, &key("from"), smtp.from.value.as_str());
    set(m, &key("host"), smtp.host.value.as_str());
    set(m, &key("port"), smtp.port.value);
    set(m, &key("to"), a.email.value.as_str());
    if let (Some(user), Some(secret)) = (&smtp.username, &smtp.password_secret) {
        set(m, &key("username"), user.value.as_str());
        // Gatus expands `${VAR}` in its configuration when it starts.
        set(m, &key("password"), format!("${{{PASSWORD_VARIABLE}}}"));
        let env = environment_secret(&secret.value);
        gatus_environment_file(m, &env);
        age_secret(m, fleet, &env, 3);
    }
    let default = |k: &'static str| {
        [
            email[0],
            email[1],
            email[2],
            email[3],
            email[4],
            "default-alert",
            k,
        ]
    };
    set(m, &default("failure-threshold"), 3i64);
    set(m, &default("success-threshold"), 2i64);
    set(m, &default("send-on-resolved"), true);
}
