//! The spec both single sign-on tests start from: one server with a
//! pool, the proxy's DNS credentials and an offsite repository.

/// A literal, so tests can `concat!` their services and `[access.sso]`.
#[macro_export]
macro_rules! sso_server_spec {
    () => {
        r#"[homelab]
name = "home"
domain = "example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEBTIGiXnUDiGk9cY1PIrmdVLGAqMXOkUmnI4w2GTgRN me@laptop"]

[hosts.server]
address = "192.168.1.10"
ram_gb = 32

[hosts.server.boot]
disk = "/dev/disk/by-id/nvme-server"

[hosts.server.pools.tank]
mode = "mirror"
disks = ["/dev/disk/by-id/ata-A", "/dev/disk/by-id/ata-B"]
size = "4T"

[access.proxy]
dns_provider = "cloudflare"
credentials_secret = "acme-dns"

[backup]
repository = "s3:https://s3.example.org/home"
password_secret = "restic-password"
"#
    };
}
