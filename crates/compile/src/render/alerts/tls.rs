//! The proxy's certificate expiry as a node-exporter metric, for the
//! `CertificateExpiring` alert.

use crate::fleet::alerts::METRICS_DIR;
use crate::fleet::{Fleet, HostPlan};
use crate::nix::shell::{code, line, value};
use crate::nix::{Attrs, Nix, set};

/// The unit that writes the certificate metric.
const TLS_METRICS_UNIT: &str = "homelab-tls-metrics";

/// The wildcard certificate's expiry as a metric, on the front proxy
/// (where ACME keeps it), written hourly into the textfile folder. A
/// missing or unreadable certificate reads as expired (0).
pub(super) fn tls_metrics(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    let is_proxy = fleet.front_proxy().is_some_and(|p| p.name() == host.name());
    if !is_proxy || fleet.access.proxy.is_none() || fleet.metrics_dir(host.name()).is_none() {
        return;
    }
    let zone = fleet.homelab.internal_domain.value.as_str();
    let cert = format!("/var/lib/acme/{zone}/cert.pem");
    let target = format!("{METRICS_DIR}/tls.prom");
    let script = vec![
        line([code("expiry=0")]),
        line([
            code("if end=$(openssl x509 -enddate -noout -in"),
            value(cert),
            code("); then expiry=$(date -d \"$(echo \"$end\" | cut -d= -f2)\" +%s); fi"),
        ]),
        line([
            code("tmp=$(mktemp"),
            value(format!("{METRICS_DIR}/.tls.prom.XXXXXX")),
            code(")"),
        ]),
        line([
            code(
                "printf '# HELP homelab_tls_certificate_expiry_timestamp_seconds When the certificate stops being valid.\\n# TYPE homelab_tls_certificate_expiry_timestamp_seconds gauge\\nhomelab_tls_certificate_expiry_timestamp_seconds{certificate=\"%s\"} %s\\n'",
            ),
            value(zone),
            code("\"$expiry\" > \"$tmp\""),
        ]),
        line([code("chmod 0644 \"$tmp\"")]),
        line([code("mv \"$tmp\""), value(target)]),
    ];
    let u = ["systemd", "services", TLS_METRICS_UNIT];
    set(
        m,
        &[u[0], u[1], u[2], "description"],
        "Expiry of the proxy's certificate, for the node exporter",
    );
    set(m, &[u[0], u[1], u[2], "startAt"], "hourly");
    set(
        m,
        &[u[0], u[1], u[2], "path"],
        Nix::list([Nix::raw("pkgs.openssl"), Nix::raw("pkgs.coreutils")]),
    );
    set(m, &[u[0], u[1], u[2], "serviceConfig", "Type"], "oneshot");
    set(m, &[u[0], u[1], u[2], "script"], Nix::script(script));
}
