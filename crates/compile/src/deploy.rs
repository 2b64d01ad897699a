//! What a deploy does to each host, read off the fleet: where it is
//! reached, the attribute of its system in the flake, the critical
//! datasets snapshotted before it switches, and the probes and times of
//! its health gate (its part of `homelab status`: reachable, its units
//! active, its names answering; not its backup records, which a deploy
//! does not change).

use crate::fleet::{Fleet, Gate};
use crate::probes::{HostProbes, probes};
use crate::spec::DataClass;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub host: String,
    /// `nixosConfigurations.<host>.config.system.build.toplevel`.
    pub attribute: String,
    /// `pool/dataset` of every critical dataset on the host.
    pub datasets: Vec<String>,
    pub gate: Gate,
    /// The gate's probes, and how SSH reaches the host.
    pub probes: HostProbes,
}

/// Where every deploy target is; `probes` has the limits of each probe.
pub fn targets(fleet: &Fleet) -> Vec<Target> {
    let all = probes(fleet);
    fleet
        .hosts
        .iter()
        .zip(all.hosts)
        .map(|(h, mut p)| {
            p.records.clear();
            let plan = crate::plan::plan(fleet, h);
            let mut datasets: Vec<String> = plan
                .services
                .iter()
                .flat_map(|s| &s.paths)
                .filter(|p| p.class == DataClass::Critical)
                .filter_map(|p| p.dataset.clone())
                .collect();
            datasets.sort();
            datasets.dedup();
            Target {
                host: h.name().to_string(),
                attribute: format!(
                    "nixosConfigurations.{}.config.system.build.toplevel",
                    h.name()
                ),
                datasets,
                gate: fleet.deploy.gate_of(&h.spec),
                probes: p,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_host_is_a_target_with_its_critical_datasets_and_gate() {
        let text = crate::examples::get("family").unwrap().to_string()
            + "\n[deploy]\ngate_window = \"3m\"\n";
        let (fleet, _) = crate::compile(&text).unwrap();
        let t = targets(&fleet);
        assert_eq!(t.len(), 3);
        let server = &t[0];
        assert_eq!(server.host, "server");
        assert_eq!(
            server.attribute,
            "nixosConfigurations.server.config.system.build.toplevel"
        );
        assert!(
            server.datasets.contains(&"tank/immich/library".to_string()),
            "{:?}",
            server.datasets
        );
        assert!(
            !server.datasets.iter().any(|d| d.contains("thumbs")),
            "disposable data is not snapshotted"
        );
        assert_eq!(server.gate.window_ms, 180_000);
        assert_eq!((server.gate.interval_ms, server.gate.passes), (2_000, 3));
        assert!(server.probes.records.is_empty());
        assert!(!server.probes.units.is_empty());
    }
}
