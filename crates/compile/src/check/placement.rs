//! Placement: a service runs where the hardware it needs is, and a device
//! a host declares is used by something on it.

use crate::diagnostic::{Diagnostic, name_list};
use crate::fleet::Fleet;
use crate::spec::{HARDWARE, hardware_kind};

/// `missing-hardware`: a service needs a kind of device (`zigbee`) its host
/// does not list (`zigbee-usb`).
pub(crate) fn hardware_present(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let hosts: std::collections::HashMap<&str, &crate::fleet::HostPlan> =
        fleet.hosts.iter().map(|h| (h.name(), h)).collect();
    for i in &fleet.instances {
        let Some(host) = hosts.get(i.host.as_str()) else {
            continue;
        };
        let missing: Vec<&str> = i
            .entry
            .hardware
            .iter()
            .map(String::as_str)
            .filter(|kind| host.spec.devices_of(kind).next().is_none())
            .collect();
        if missing.is_empty() {
            continue;
        }
        let devices: Vec<&str> = HARDWARE
            .iter()
            .copied()
            .filter(|d| missing.contains(&hardware_kind(d)))
            .collect();
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
                "place it on a host that has it, or add the device to `[hosts.{}]` (one of {})",
                i.host,
                name_list(&devices)
            ))
            .about(&i.name.value),
        );
    }
}

/// `unused-hardware`: a device a host lists that no service on it needs or
/// uses; the host configures it (drivers, groups) for nothing.
pub(crate) fn hardware_used(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for host in &fleet.hosts {
        for device in &host.spec.hardware {
            let kind = hardware_kind(&device.value);
            let used = fleet.instances_on(host.name()).any(|i| {
                i.entry.hardware.iter().any(|k| k == kind)
                    || i.entry.optional_hardware.iter().any(|k| k == kind)
            });
            if !used {
                out.push(
                    Diagnostic::warning(
                        "unused-hardware",
                        format!(
                            "no service on `{}` uses its `{}`",
                            host.name(),
                            device.value
                        ),
                    )
                    .at(device.span.clone(), "nothing here needs this device")
                    .help(format!(
                        "place a service that uses a {kind} on `{}`, or remove the device",
                        host.name()
                    )),
                );
            }
        }
    }
}
