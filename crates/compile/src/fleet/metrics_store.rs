//! The fleet's metrics store: VictoriaMetrics or Prometheus, one of them
//! (`two-metrics-stores`). What differs between the two is named here
//! once — the catalog entry, the option that holds the scrape jobs, what
//! evaluates the alert rules — so the renderer and the checks ask the
//! store, never an entry's name.

use super::{Fleet, Instance};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsStore {
    /// Scrapes through its Prometheus-compatible `prometheusConfig`;
    /// vmalert beside it evaluates the alert rules.
    VictoriaMetrics,
    /// Scrapes and evaluates the alert rules itself.
    Prometheus,
}

impl MetricsStore {
    pub const ALL: [MetricsStore; 2] = [MetricsStore::VictoriaMetrics, MetricsStore::Prometheus];

    /// Its catalog entry.
    pub fn entry(self) -> &'static str {
        match self {
            MetricsStore::VictoriaMetrics => "victoriametrics",
            MetricsStore::Prometheus => "prometheus",
        }
    }

    /// The store a catalog entry is, if it is one.
    pub fn of(entry: &str) -> Option<MetricsStore> {
        MetricsStore::ALL.into_iter().find(|s| s.entry() == entry)
    }

    /// The option that holds the scrape jobs. Both take a list of
    /// Prometheus `scrape_config`s with the same keys (`job_name`,
    /// `metrics_path`, `static_configs` of `targets` and `labels`):
    /// VictoriaMetrics as free-form YAML, Prometheus' module as a
    /// submodule of those names (prometheus/default.nix `scrape_config`).
    pub(crate) fn scrape_jobs_option(self) -> &'static [&'static str] {
        match self {
            MetricsStore::VictoriaMetrics => &[
                "services",
                "victoriametrics",
                "prometheusConfig",
                "scrape_configs",
            ],
            MetricsStore::Prometheus => &["services", "prometheus", "scrapeConfigs"],
        }
    }

    /// Whether vmalert evaluates the alert rules beside it: VictoriaMetrics
    /// evaluates none itself, Prometheus does.
    pub(crate) fn needs_vmalert(self) -> bool {
        self == MetricsStore::VictoriaMetrics
    }

    /// What evaluates the alert rules, as the rule file's header says it.
    pub(crate) fn evaluator(self) -> &'static str {
        match self {
            MetricsStore::VictoriaMetrics => "vmalert against VictoriaMetrics",
            MetricsStore::Prometheus => "Prometheus",
        }
    }
}

impl Fleet {
    /// The fleet's metrics store and its instance, when it has one.
    pub fn metrics_store(&self) -> Option<(MetricsStore, &Instance)> {
        self.instances
            .iter()
            .find_map(|i| MetricsStore::of(&i.entry.name).map(|s| (s, i)))
    }

    /// The host that runs the metrics store.
    pub fn metrics_host(&self) -> Option<&str> {
        self.metrics_store().map(|(_, i)| i.host.as_str())
    }

    /// Whether vmalert runs on `host`: it evaluates the alert rules and
    /// its store does not do that itself.
    pub(crate) fn runs_vmalert(&self, host: &str) -> bool {
        self.evaluates_alert_rules(host)
            && self.metrics_store().is_some_and(|(s, _)| s.needs_vmalert())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    /// What the catalog's store entries provide, and Grafana needs.
    const METRICS_STORE_ROLE: &str = "metrics-store";

    #[test]
    fn each_store_is_a_catalog_entry_that_provides_the_role() {
        for store in MetricsStore::ALL {
            let entry = catalog::get(store.entry()).unwrap();
            assert_eq!(MetricsStore::of(&entry.name), Some(store));
            assert!(entry.provides.iter().any(|r| r == METRICS_STORE_ROLE));
            assert!(entry.metrics.is_some(), "{}: scraped itself", entry.name);
        }
        // No other entry claims the role.
        let providers = catalog::service_names()
            .into_iter()
            .filter(|n| {
                catalog::get(n).is_some_and(|e| e.provides.iter().any(|r| r == METRICS_STORE_ROLE))
            })
            .count();
        assert_eq!(providers, MetricsStore::ALL.len());
    }
}
