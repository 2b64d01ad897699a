//! What `[alerts]` adds to the fleet, named once: where the hosts keep
//! metrics files for the node exporter, and how the relay password reaches
//! the two programs that send mail. `docs/alerts.md` says what fires.

use super::{Fleet, Instance};

/// The node exporter's textfile folder on every host that runs one:
/// `homelab backup` writes `homelab.prom` here, the certificate check
/// `tls.prom`. Readable by the exporter's own user.
pub(crate) const METRICS_DIR: &str = "/var/lib/homelab-metrics";

/// The environment variable Gatus reads the relay password from.
pub(crate) const PASSWORD_VARIABLE: &str = "SMTP_PASSWORD";

/// The systemd credential Alertmanager reads the relay password from.
pub(crate) const PASSWORD_CREDENTIAL: &str = "smtp-password";

/// The name of the machine-made copy of the relay password in the shape
/// Gatus' environment file wants.
pub fn environment_secret(password_secret: &str) -> String {
    format!("{password_secret}-environment")
}

impl Fleet {
    /// The fleet's instance of a catalog entry, if it has one.
    pub fn instance_of(&self, entry: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.entry.name == entry)
    }

    /// Whether `host` evaluates the metric alert rules (Prometheus, or
    /// vmalert beside VictoriaMetrics): the spec has `[alerts]` and an
    /// Alertmanager, and `host` runs the metrics store.
    pub(crate) fn evaluates_alert_rules(&self, host: &str) -> bool {
        self.alerts.is_some()
            && self.instance_of("alertmanager").is_some()
            && self.metrics_host() == Some(host)
    }

    /// The node exporter's textfile folder on `host`, when one runs there.
    pub fn metrics_dir(&self, host: &str) -> Option<&'static str> {
        self.instances_on(host)
            .any(|i| i.entry.name == "node-exporter")
            .then_some(METRICS_DIR)
    }
}
