//! One metrics store per fleet: VictoriaMetrics or Prometheus. Each
//! scrapes every host and evaluates the alert rules, and Grafana reads
//! one; a second would scrape everything again and raise every alert
//! twice, or not at all.

use crate::diagnostic::Diagnostic;
use crate::fleet::{Fleet, MetricsStore};

/// `two-metrics-stores`: a second store beside the first.
pub(crate) fn one_metrics_store(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let mut stores = fleet
        .instances
        .iter()
        .filter(|i| MetricsStore::of(&i.entry.name).is_some());
    let Some(first) = stores.next() else { return };
    for second in stores {
        let keep = if second.entry.name == first.entry.name {
            format!(
                "keep one `{}`: remove `[services.{}]`",
                first.entry.name, second.name.value
            )
        } else {
            format!(
                "keep one store: remove `[services.{}]` or `[services.{}]`",
                second.name.value, first.name.value
            )
        };
        out.push(
            Diagnostic::error(
                "two-metrics-stores",
                format!(
                    "`{}` is a second metrics store beside `{}`",
                    second.name.value, first.name.value
                ),
            )
            .at(second.name.span.clone(), format!("{} as well", second.entry.title))
            .also(first.name.span.clone(), "the fleet's metrics store")
            .help(format!(
                "{keep}; one store scrapes every host, evaluates the alert rules and is Grafana's data source"
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::resolve;
    use crate::fleet::testing::{found, spec};

    fn diags(services: &str) -> (String, Vec<Diagnostic>) {
        let (text, spec) = spec(services);
        let fleet = resolve(&spec).unwrap();
        let mut out = Vec::new();
        one_metrics_store(&fleet, &mut out);
        (text, out)
    }

    #[test]
    fn one_store_of_either_kind_is_fine() {
        for store in MetricsStore::ALL {
            let (_, out) = diags(&format!(
                "[services.{}]\nhost = \"server\"\n[services.grafana]\nhost = \"server\"\n",
                store.entry()
            ));
            assert!(out.is_empty(), "{out:?}");
        }
    }

    #[test]
    fn prometheus_beside_victoriametrics_is_refused_at_the_second() {
        let (text, out) = diags(
            "[services.victoriametrics]\nhost = \"server\"\n[services.prometheus]\nhost = \"nas\"\n",
        );
        assert_eq!(found(&text, &out), ["two-metrics-stores@22:11"]);
        let help = out[0].help.as_deref().unwrap();
        assert!(
            help.starts_with(
                "keep one store: remove `[services.prometheus]` or `[services.victoriametrics]`;"
            ),
            "{help}"
        );
    }

    #[test]
    fn two_instances_of_one_store_are_refused_too() {
        let (text, out) = diags(
            "[services.victoriametrics]\nhost = \"server\"\n[services.vm2]\nservice = \"victoriametrics\"\nhost = \"nas\"\n",
        );
        assert_eq!(found(&text, &out), ["two-metrics-stores@22:11"]);
        assert!(
            out[0]
                .help
                .as_deref()
                .unwrap()
                .starts_with("keep one `victoriametrics`: remove `[services.vm2]`;")
        );
    }
}
