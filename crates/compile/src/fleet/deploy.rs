//! `[deploy]` resolved: where systems are built, the health gate's times,
//! whether datasets are snapshotted first, the tool, and the scheduled
//! upgrade. A builder that is not `local`, `target` or a host of the spec
//! is `unknown-host`.

use crate::diagnostic::{Diagnostic, did_you_mean, name_list};
use crate::spec::Spec;
use crate::spec::deploy::{GATE_INTERVAL_MS, GATE_PASSES, GATE_WINDOW_MS};
use serde::Serialize;

/// Where the hosts' systems are built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "on", content = "host")]
pub enum BuildOn {
    /// The machine `homelab deploy` runs on.
    Local,
    /// Each host builds its own system.
    Target,
    /// One host builds for all (a remote builder).
    Host(String),
}

/// The health gate: probe every `interval_ms` until `passes` runs in a row
/// pass, within `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gate {
    pub window_ms: u64,
    pub interval_ms: u64,
    pub passes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployPlan {
    pub build_on: BuildOn,
    pub gate: Gate,
    pub snapshots: bool,
    /// `homelab` or `deploy-rs`.
    pub tool: String,
    pub schedule: Option<String>,
    pub source: Option<String>,
}

impl DeployPlan {
    /// The gate of `host`: its own window when the spec gives one.
    pub fn gate_of(&self, spec_host: &crate::spec::Host) -> Gate {
        Gate {
            window_ms: spec_host
                .gate_window
                .as_ref()
                .map_or(self.gate.window_ms, |w| w.value),
            ..self.gate
        }
    }
}

pub fn resolve(spec: &Spec, diags: &mut Vec<Diagnostic>) -> DeployPlan {
    let d = &spec.deploy;
    let build_on = match d.build_on.as_ref() {
        None => BuildOn::Local,
        Some(b) if b.value == "local" => BuildOn::Local,
        Some(b) if b.value == "target" => BuildOn::Target,
        Some(b) => {
            let names: Vec<&str> = spec.hosts.iter().map(|h| h.name.value.as_str()).collect();
            if !names.contains(&b.value.as_str()) {
                let e = Diagnostic::error(
                    "unknown-host",
                    format!("the builder `{}` is not a host of the spec", b.value),
                )
                .at(b.span.clone(), "not `local`, `target` or a host");
                diags.push(match did_you_mean(&b.value, names.iter().copied()) {
                    Some(m) => e.help(format!("did you mean `{m}`?")),
                    None => e.help(format!(
                        "build on `local` (this machine), `target` (each host), or one of {}",
                        name_list(&names)
                    )),
                });
            }
            BuildOn::Host(b.value.clone())
        }
    };
    DeployPlan {
        build_on,
        gate: Gate {
            window_ms: d.gate_window.as_ref().map_or(GATE_WINDOW_MS, |w| w.value),
            interval_ms: d
                .gate_interval
                .as_ref()
                .map_or(GATE_INTERVAL_MS, |w| w.value),
            passes: d.gate_passes.as_ref().map_or(GATE_PASSES, |p| p.value),
        },
        snapshots: d.snapshots.as_ref().is_none_or(|s| s.value),
        tool: d
            .tool
            .as_ref()
            .map_or_else(|| "homelab".to_string(), |t| t.value.clone()),
        schedule: d.schedule.as_ref().map(|s| s.value.clone()),
        source: d.source.as_ref().map(|s| s.value.clone()),
    }
}
