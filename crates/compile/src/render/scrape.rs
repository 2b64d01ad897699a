//! Scrape jobs of the metrics store, each labelled with the host it
//! watches.

use crate::nix::{Attrs, Nix, set};

/// `{ host = "<name>"; }`: every scrape target's host, so a mail says
/// which machine, and a host that is down silences its services' alerts.
pub(crate) fn host_label(host: &str) -> Nix {
    let mut labels = Attrs::new();
    labels.insert("host".into(), Nix::str(host));
    Nix::Attrs(labels)
}

/// One scrape job of the metrics store, labelled with the host it watches.
pub(crate) fn scrape_job(
    m: &mut Attrs,
    name: &str,
    target: String,
    path: &str,
    host: Option<&str>,
) {
    let mut static_config = Attrs::new();
    static_config.insert("targets".into(), Nix::strs([target]));
    if let Some(host) = host {
        static_config.insert("labels".into(), host_label(host));
    }
    let mut job = Attrs::new();
    job.insert("job_name".into(), Nix::str(name));
    job.insert("metrics_path".into(), Nix::str(path));
    job.insert(
        "static_configs".into(),
        Nix::list([Nix::Attrs(static_config)]),
    );
    set(
        m,
        &[
            "services",
            "victoriametrics",
            "prometheusConfig",
            "scrape_configs",
        ],
        Nix::list([Nix::Attrs(job)]),
    );
}
