//! The two programs that send alert mail, configured for the relay of
//! `[alerts.smtp]`: Alertmanager (metric alerts) reads the password as a
//! systemd credential, Gatus (status-page alerts) from an environment file.

use crate::fleet::Fleet;
use crate::fleet::alerts::{PASSWORD_CREDENTIAL, PASSWORD_VARIABLE, environment_secret};
use crate::nix::{Attrs, Nix, set};
use crate::render::gatus::environment_file as gatus_environment_file;
use crate::render::secrets::age_secret;

/// Alertmanager's configuration: the relay, one receiver (the spec's
/// address) in place of the catalog's empty one, grouping by alert and
/// host, and a host that is down holding back its services' alerts.
pub(super) fn alertmanager(m: &mut Attrs, fleet: &Fleet) {
    let Some(a) = &fleet.alerts else { return };
    let conf = ["services", "prometheus", "alertmanager", "configuration"];
    let global = |key: &'static str| [conf[0], conf[1], conf[2], conf[3], "global", key];
    set(
        m,
        &global("smtp_smarthost"),
        format!("{}:{}", a.smtp.host.value, a.smtp.port.value),
    );
    set(m, &global("smtp_from"), a.smtp.from.value.as_str());
    if let (Some(user), Some(secret)) = (&a.smtp.username, &a.smtp.password_secret) {
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
            Nix::list([Nix::Interp(vec![
                Nix::str(format!("{PASSWORD_CREDENTIAL}:")),
                Nix::age_secret_path(&secret.value),
            ])]),
        );
        age_secret(m, fleet, &secret.value, 3);
    }
    let mut email = Attrs::new();
    email.insert("to".into(), Nix::str(&a.email.value));
    email.insert("send_resolved".into(), Nix::Bool(true));
    let mut receiver = Attrs::new();
    receiver.insert("name".into(), Nix::str("admin"));
    receiver.insert("email_configs".into(), Nix::list([Nix::Attrs(email)]));
    replace(
        m,
        &[conf[0], conf[1], conf[2], conf[3], "receivers"],
        Nix::list([Nix::Attrs(receiver)]),
    );
    let route = |key: &'static str| [conf[0], conf[1], conf[2], conf[3], "route", key];
    set(m, &route("group_by"), Nix::strs(["alertname", "host"]));
    set(m, &route("repeat_interval"), "12h");
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
    set(
        m,
        &[conf[0], conf[1], conf[2], conf[3], "inhibit_rules"],
        Nix::list([Nix::Attrs(inhibit)]),
    );
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

/// Gatus' mail alerting: the relay, and the default every endpoint's
/// `alerts` entry uses (three failed checks open an alert, two passing
/// ones resolve it with a second mail).
pub(super) fn gatus(m: &mut Attrs, fleet: &Fleet) {
    let Some(a) = &fleet.alerts else { return };
    let email = ["services", "gatus", "settings", "alerting", "email"];
    let key = |k: &'static str| [email[0], email[1], email[2], email[3], email[4], k];
    set(m, &key("from"), a.smtp.from.value.as_str());
    set(m, &key("host"), a.smtp.host.value.as_str());
    set(m, &key("port"), a.smtp.port.value);
    set(m, &key("to"), a.email.value.as_str());
    if let (Some(user), Some(secret)) = (&a.smtp.username, &a.smtp.password_secret) {
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
