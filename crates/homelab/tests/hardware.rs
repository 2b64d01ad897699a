//! Hardware facts that do something: a host's GPU gives its vendor's
//! graphics stack and the transcoding services their acceleration, a Coral
//! becomes Frigate's detector, a USB coordinator's stable path reaches its
//! bridge; without the device, none of it is written.

use compile::nix::Nix;
use compile::render::render;

fn spec(hardware: &str, devices: &str) -> String {
    format!(
        r#"[homelab]
name = "home"
domain = "example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKxvdSzfFbgBFW3wZmZjF3YqAb0H2kFyQ3wZjAfSLw+6 admin@laptop"]

[hosts.server]
address = "192.168.1.10"
ram_gb = 64
hardware = [{hardware}]
{devices}
[hosts.server.boot]
disk = "/dev/disk/by-id/nvme-test"

[hosts.server.pools.tank]
disks = ["/dev/disk/by-id/ata-test"]
size = "20T"

[access.proxy]
dns_provider = "cloudflare"
credentials_secret = "dns-token"

[backup]
repository = "s3:https://s3.example.org/home"
password_secret = "restic-password"

[services.plex]
[services.jellyfin]
[services.frigate]
"#
    )
}

const ZIGBEE: &str = "/dev/serial/by-id/usb-ITead_Sonoff_Zigbee_3.0_USB_Dongle_Plus-if00-port0";

/// The module bodies of the host's files, merged by file name.
fn host(text: &str) -> std::collections::BTreeMap<String, Nix> {
    let (fleet, _) = compile::compile(text).expect("the spec checks");
    render(&fleet)
        .into_iter()
        .filter_map(|f| {
            let name = f.path.strip_prefix("hosts/server/")?.to_string();
            let body = f.module_body()?.clone();
            Some((name, Nix::Attrs(body)))
        })
        .collect()
}

fn get<'a>(v: &'a Nix, path: &[&str]) -> Option<&'a Nix> {
    path.iter().try_fold(v, |v, k| match v {
        Nix::Attrs(a) => a.get(*k),
        _ => None,
    })
}

#[test]
fn an_intel_gpu_gives_vaapi_to_jellyfin_and_groups_to_plex() {
    let files = host(&spec(r#""gpu-intel""#, ""));
    let infra = &files["infrastructure.nix"];
    assert_eq!(
        get(infra, &["hardware", "graphics", "enable"]),
        Some(&Nix::Bool(true))
    );
    assert_eq!(
        get(infra, &["hardware", "graphics", "extraPackages"]),
        Some(&Nix::list([Nix::raw("pkgs.intel-media-driver")]))
    );
    let jellyfin = &files["services/jellyfin.nix"];
    let hw = ["services", "jellyfin", "hardwareAcceleration"];
    assert_eq!(
        get(jellyfin, &[hw[0], hw[1], hw[2], "type"]),
        Some(&Nix::str("vaapi"))
    );
    assert_eq!(
        get(jellyfin, &[hw[0], hw[1], hw[2], "device"]),
        Some(&Nix::str("/dev/dri/renderD128"))
    );
    let groups = get(
        &files["services/plex.nix"],
        &["users", "users", "plex", "extraGroups"],
    );
    assert_eq!(
        groups,
        Some(&Nix::strs(["media", "render", "video"])),
        "{groups:?}"
    );
    // Plex is unfree, whatever the GPU.
    let Some(Nix::Raw(unfree)) = get(infra, &["nixpkgs", "config", "allowUnfreePredicate"]) else {
        panic!("no unfree allow-list");
    };
    assert!(unfree.contains("\"plexmediaserver\""), "{unfree}");
    assert!(!unfree.contains("nvidia"), "{unfree}");
}

#[test]
fn an_nvidia_gpu_gives_the_driver_and_nvenc() {
    let files = host(&spec(r#""gpu-nvidia""#, ""));
    let infra = &files["infrastructure.nix"];
    assert_eq!(
        get(infra, &["services", "xserver", "videoDrivers"]),
        Some(&Nix::strs(["nvidia"]))
    );
    assert_eq!(
        get(infra, &["hardware", "nvidia", "open"]),
        Some(&Nix::Bool(false))
    );
    let Some(Nix::Raw(unfree)) = get(infra, &["nixpkgs", "config", "allowUnfreePredicate"]) else {
        panic!("no unfree allow-list");
    };
    assert!(unfree.contains("\"nvidia-x11\""), "{unfree}");
    let jellyfin = &files["services/jellyfin.nix"];
    assert_eq!(
        get(
            jellyfin,
            &["services", "jellyfin", "hardwareAcceleration", "type"]
        ),
        Some(&Nix::str("nvenc"))
    );
    assert!(
        get(
            jellyfin,
            &[
                "systemd",
                "services",
                "jellyfin",
                "serviceConfig",
                "DeviceAllow"
            ]
        )
        .is_some()
    );
    assert_eq!(
        get(
            &files["services/frigate.nix"],
            &["services", "frigate", "settings", "ffmpeg", "hwaccel_args"]
        ),
        Some(&Nix::str("preset-nvidia"))
    );
}

#[test]
fn a_coral_is_frigates_detector() {
    let files = host(&spec(r#""coral-pcie""#, ""));
    assert_eq!(
        get(
            &files["infrastructure.nix"],
            &["hardware", "coral", "pcie", "enable"]
        ),
        Some(&Nix::Bool(true))
    );
    let frigate = &files["services/frigate.nix"];
    let Some(Nix::Attrs(coral)) = get(
        frigate,
        &["services", "frigate", "settings", "detectors", "coral"],
    ) else {
        panic!("no detector");
    };
    assert_eq!(coral.get("type"), Some(&Nix::str("edgetpu")));
    assert_eq!(coral.get("device"), Some(&Nix::str("pci")));
    assert_eq!(
        get(frigate, &["users", "users", "frigate", "extraGroups"]),
        Some(&Nix::strs(["coral"]))
    );
}

#[test]
fn without_devices_nothing_is_accelerated() {
    let files = host(&spec("", ""));
    assert!(get(&files["infrastructure.nix"], &["hardware"]).is_none());
    assert!(
        get(
            &files["services/jellyfin.nix"],
            &["services", "jellyfin", "hardwareAcceleration"]
        )
        .is_none()
    );
    assert!(
        get(
            &files["services/frigate.nix"],
            &["services", "frigate", "settings", "detectors"]
        )
        .is_none()
    );
}

#[test]
fn a_zigbee_stick_reaches_zigbee2mqtt_by_its_stable_path() {
    let text = spec(
        r#""zigbee-usb""#,
        &format!("\n[hosts.server.devices]\nzigbee-usb = \"{ZIGBEE}\"\n"),
    )
    .replace(
        "[services.plex]\n[services.jellyfin]\n[services.frigate]\n",
        "[services.zigbee2mqtt]\n[services.mosquitto]\n",
    );
    let files = host(&text);
    assert_eq!(
        get(
            &files["services/zigbee2mqtt.nix"],
            &["services", "zigbee2mqtt", "settings", "serial", "port"]
        ),
        Some(&Nix::str(ZIGBEE))
    );
    // The same spec on a host without the stick is refused.
    let without = text
        .replace(r#"hardware = ["zigbee-usb"]"#, "hardware = []")
        .replace(
            &format!("\n[hosts.server.devices]\nzigbee-usb = \"{ZIGBEE}\"\n"),
            "",
        );
    let codes: Vec<&str> = match compile::compile(&without) {
        Ok(_) => Vec::new(),
        Err(diags) => diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect(),
    };
    assert_eq!(codes, ["missing-hardware"]);
}
