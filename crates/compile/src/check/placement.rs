//! Placement: a service runs where the hardware it needs is.

use crate::diagnostic::{Diagnostic, name_list};
use crate::fleet::Fleet;

pub fn hardware_present(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let hosts: std::collections::HashMap<&str, &crate::fleet::HostPlan> =
        fleet.hosts.iter().map(|h| (h.name(), h)).collect();
    for i in &fleet.instances {
        let Some(host) = hosts.get(i.host.as_str()) else {
            continue;
        };
        let has: Vec<&str> = host
            .spec
            .hardware
            .iter()
            .map(|h| h.value.as_str())
            .collect();
        let missing: Vec<&str> = i
            .entry
            .hardware
            .iter()
            .map(String::as_str)
            .filter(|n| !has.contains(n))
            .collect();
        if !missing.is_empty() {
            out.push(
                Diagnostic::error(
                    "missing-hardware",
                    format!(
                        "`{}` needs {} on host `{}`",
                        i.name.value,
                        name_list(&missing),
                        i.host
                    ),
                )
                .at(
                    i.name.span.clone(),
                    format!("{} needs {}", i.entry.title, name_list(&missing)),
                )
                .help(format!(
                    "place it on a host that has it, or add `hardware = [{}]` to `[hosts.{}]`",
                    missing
                        .iter()
                        .map(|m| format!("\"{m}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                    i.host
                ))
                .about(&i.name.value),
            );
        }
    }
}
