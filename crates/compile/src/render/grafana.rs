//! Grafana's data source: the fleet's metrics store, named after it
//! (`VictoriaMetrics`, `Prometheus`). Both answer Prometheus' query API,
//! so the source's type is `prometheus` either way. Grafana needs the
//! `metrics-store` role, so wiring lets it reach the store on another
//! host.

use crate::fleet::{Fleet, Instance};
use crate::nix::{Attrs, Nix, set};

/// The default data source, in Grafana's own file.
pub(crate) fn contribute(m: &mut Attrs, fleet: &Fleet, i: &Instance) {
    if i.entry.name != "grafana" {
        return;
    }
    let Some(store) = fleet.metrics_store().map(|(_, store)| store) else {
        return;
    };
    let Some(url) = store.local_endpoint() else {
        return;
    };
    let mut source = Attrs::new();
    source.insert("name".into(), Nix::str(&store.entry.title));
    source.insert("type".into(), Nix::str("prometheus"));
    source.insert("url".into(), Nix::str(url));
    source.insert("isDefault".into(), Nix::Bool(true));
    set(
        m,
        &[
            "services",
            "grafana",
            "provision",
            "datasources",
            "settings",
            "datasources",
        ],
        Nix::list([Nix::Attrs(source)]),
    );
}
