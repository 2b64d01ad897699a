//! Per-host agents: a spec that places the node exporter or Alloy once
//! asks for host metrics or shipped logs, and those are wanted from every
//! host, not one. Each host without its own instance gets one, named
//! `<entry>-<host>`, so the metrics store scrapes and the log store hears
//! from the whole fleet without the user repeating a table per host.

use crate::spec::{ServiceSpec, Sp, Spec};

/// Catalog entries that run on every host once the spec places one.
pub(crate) const AGENTS: [&str; 2] = ["node-exporter", "alloy"];

/// The spec's services, then the agents the hosts lack.
pub(crate) fn with_agents(spec: &Spec) -> Vec<ServiceSpec> {
    let mut out = spec.services.clone();
    for agent in AGENTS {
        let Some(first) = spec.services.iter().find(|s| s.service.value == agent) else {
            continue;
        };
        for host in &spec.hosts {
            let name = &host.name.value;
            let has_one = spec.services.iter().any(|s| {
                s.service.value == agent
                    && s.host
                        .as_ref()
                        .map_or(spec.hosts.len() == 1, |h| &h.value == name)
            });
            let instance = format!("{agent}-{name}");
            if has_one || spec.services.iter().any(|s| s.name.value == instance) {
                continue;
            }
            // Spans point at the instance that asked for the agent.
            let mut s = first.clone();
            s.name = Sp::new(instance, first.name.span.clone());
            s.host = Some(Sp::new(name.clone(), first.name.span.clone()));
            s.port = None;
            s.data.clear();
            s.nixos = None;
            s.nixos_leaves.clear();
            s.silence.clear();
            s.nfs.clear();
            s.groups.clear();
            out.push(s);
        }
    }
    out
}
