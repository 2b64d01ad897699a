//! Hardware facts that do something. A host's GPU gets the graphics stack
//! of its vendor, and the services that transcode join the groups that
//! open `/dev/dri` to them and switch on their acceleration options; a
//! Coral gets its udev rules and becomes Frigate's detector; a USB
//! coordinator's stable path reaches its bridge through `@device:…@`.

use crate::fleet::{Fleet, HostPlan, Instance};
use crate::nix::{Attrs, Nix, set};

/// Groups that own the GPU's device nodes (`/dev/dri/renderD*`, `card*`).
const GPU_GROUPS: [&str; 2] = ["render", "video"];
/// NVIDIA device nodes besides `/dev/nvidia0` that NVENC opens.
const NVIDIA_NODES: [&str; 3] = ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"];
/// Unfree packages of the NVIDIA driver, for the unfree allow-list.
const NVIDIA_UNFREE: [&str; 3] = ["nvidia-x11", "nvidia-settings", "nvidia-persistenced"];

fn gpu(host: &HostPlan) -> Option<&str> {
    host.spec.devices_of("gpu").next()
}

fn coral(host: &HostPlan) -> Option<&str> {
    host.spec.devices_of("coral").next()
}

/// The host's part: drivers, udev rules and the unfree allow-list.
pub fn infrastructure(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    let mut unfree: Vec<String> = fleet
        .instances_on(host.name())
        .flat_map(|i| i.entry.unfree.iter().cloned())
        .collect();
    match gpu(host) {
        Some("gpu-intel") => {
            set(m, &["hardware", "graphics", "enable"], true);
            // iHD: VA-API for Broadwell and newer, what Jellyfin's `vaapi`
            // and Plex use.
            set(
                m,
                &["hardware", "graphics", "extraPackages"],
                Nix::list([Nix::raw("pkgs.intel-media-driver")]),
            );
        }
        Some("gpu-amd") => {
            // Mesa's radeonsi VA-API driver is part of the default stack.
            set(m, &["hardware", "graphics", "enable"], true);
        }
        Some("gpu-nvidia") => {
            set(m, &["hardware", "graphics", "enable"], true);
            // Loads the kernel module on a machine without a desktop too.
            set(
                m,
                &["services", "xserver", "videoDrivers"],
                Nix::strs(["nvidia"]),
            );
            // The proprietary module: the open one needs Turing or newer,
            // and the module asserts the choice is written down.
            set(m, &["hardware", "nvidia", "open"], false);
            unfree.extend(NVIDIA_UNFREE.iter().map(|s| s.to_string()));
        }
        _ => {}
    }
    match coral(host) {
        Some("coral-usb") => set(m, &["hardware", "coral", "usb", "enable"], true),
        Some("coral-pcie") => set(m, &["hardware", "coral", "pcie", "enable"], true),
        _ => {}
    }
    unfree.sort();
    unfree.dedup();
    if !unfree.is_empty() {
        let names = unfree
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(" ");
        set(
            m,
            &["nixpkgs", "config", "allowUnfreePredicate"],
            Nix::raw(format!("pkg: builtins.elem (lib.getName pkg) [ {names} ]")),
        );
    }
}

/// A service's part: device groups and acceleration settings.
pub(crate) fn contribute(m: &mut Attrs, host: &HostPlan, i: &Instance) {
    let uses = |kind: &str| i.entry.optional_hardware.iter().any(|k| k == kind);
    if let (true, Some(device)) = (uses("gpu"), gpu(host)) {
        if let Some(user) = &i.entry.user {
            set(
                m,
                &["users", "users", user, "extraGroups"],
                Nix::strs(GPU_GROUPS),
            );
        }
        accelerate(m, i, device);
    }
    if let (true, Some(device), Some(user)) = (uses("coral"), coral(host), &i.entry.user) {
        set(
            m,
            &["users", "users", user, "extraGroups"],
            Nix::strs(["coral"]),
        );
        detector(m, i, device);
    }
}

/// The module's own acceleration switches, per entry.
fn accelerate(m: &mut Attrs, i: &Instance, device: &str) {
    match i.entry.name.as_str() {
        "jellyfin" => jellyfin(m, device),
        // Decoding the camera streams on the GPU; Frigate's presets pick
        // the ffmpeg arguments for the vendor.
        "frigate" => {
            let preset = match device {
                "gpu-nvidia" => "preset-nvidia",
                _ => "preset-vaapi",
            };
            set(
                m,
                &["services", "frigate", "settings", "ffmpeg", "hwaccel_args"],
                preset,
            );
        }
        "tdarr" => {
            let w = ["services", "tdarr", "nodes", "main", "workers"];
            set(
                m,
                &[w[0], w[1], w[2], w[3], w[4], "transcodeGPU"],
                Nix::Int(1),
            );
            set(
                m,
                &[w[0], w[1], w[2], w[3], w[4], "healthcheckGPU"],
                Nix::Int(1),
            );
        }
        _ => {}
    }
}

/// Jellyfin's acceleration: the module opens one device to the service
/// (DeviceAllow) and writes `encoding.xml` on first start.
fn jellyfin(m: &mut Attrs, device: &str) {
    let hw = ["services", "jellyfin", "hardwareAcceleration"];
    set(m, &[hw[0], hw[1], hw[2], "enable"], true);
    if device == "gpu-nvidia" {
        set(m, &[hw[0], hw[1], hw[2], "type"], "nvenc");
        set(m, &[hw[0], hw[1], hw[2], "device"], "/dev/nvidia0");
        // NVENC also needs the control and unified-memory nodes.
        set(
            m,
            &[
                "systemd",
                "services",
                "jellyfin",
                "serviceConfig",
                "DeviceAllow",
            ],
            Nix::strs(NVIDIA_NODES.iter().map(|n| format!("{n} rw"))),
        );
    } else {
        set(m, &[hw[0], hw[1], hw[2], "type"], "vaapi");
        // The first GPU's render node.
        set(m, &[hw[0], hw[1], hw[2], "device"], "/dev/dri/renderD128");
    }
    let t = ["services", "jellyfin", "transcoding"];
    set(m, &[t[0], t[1], t[2], "enableHardwareEncoding"], true);
    // Codecs every supported GPU generation decodes (Intel gen 9, NVIDIA
    // Pascal, AMD Polaris and later).
    for codec in ["h264", "hevc", "hevc10bit", "vp9"] {
        set(
            m,
            &[t[0], t[1], t[2], "hardwareDecodingCodecs", codec],
            true,
        );
    }
}

/// Frigate's object detector on the Coral.
fn detector(m: &mut Attrs, i: &Instance, device: &str) {
    if i.entry.name != "frigate" {
        return;
    }
    let mut coral = Attrs::new();
    coral.insert("type".into(), Nix::str("edgetpu"));
    coral.insert(
        "device".into(),
        Nix::str(if device == "coral-pcie" { "pci" } else { "usb" }),
    );
    set(
        m,
        &["services", "frigate", "settings", "detectors", "coral"],
        Nix::Attrs(coral),
    );
}
