//! `admins` of `[access.tailscale]`: the owner's own devices on the
//! tailnet, by name and tailnet address. A service with `exposure =
//! "admins"` is reached from them (and the LAN), never from the other
//! devices of the tailnet (the family's phones and laptops).
//!
//! Addresses, not Tailscale tags or device names: the proxy and the
//! firewall see only where a packet comes from. A tag lives in the
//! tailnet's policy, which the host never reads, so the host could not
//! enforce it; a MagicDNS name could point anywhere. Tailscale keeps a
//! device's address for as long as the device stays in the tailnet.

use super::model::AdminDevice;
use super::reader::{Sink, Sp, Table};
use crate::diagnostic::Diagnostic;
use core::net::Ipv4Addr;
use toml::de::DeValue;

/// The tailnet's IPv4 block, 100.64.0.0/10, as a network and mask.
const TAILNET: (u32, u32) = (0x6440_0000, 0xffc0_0000);

/// The devices of `admins = { laptop = "100.101.102.103" }`.
pub fn admins(t: &mut Table, sink: &mut Sink) -> Vec<AdminDevice> {
    let mut out = Vec::new();
    let Some(table) = t.table(sink, "admins") else {
        return out;
    };
    for (k, v) in table.entries() {
        let name = Sp::new(k.get_ref().to_string(), k.span());
        if !super::parse::dns_label(sink, &name, "device name") {
            continue;
        }
        let DeValue::String(address) = v.get_ref() else {
            sink.push(
                Diagnostic::error(
                    "wrong-type",
                    format!("`access.tailscale.admins.{}` must be a string", name.value),
                )
                .at(v.span(), "expected the device's tailnet address")
                .help(format!("write `{} = \"100.101.102.103\"`", name.value)),
            );
            continue;
        };
        let address = Sp::new(address.to_string(), v.span());
        if let Some(d) = not_tailnet(&name.value, &address) {
            sink.push(d);
            continue;
        }
        out.push(AdminDevice { name, address });
    }
    out
}

/// Why `address` is not a device's IPv4 address on the tailnet, if it is
/// not: the proxy and the firewall match the address packets come from.
fn not_tailnet(device: &str, address: &Sp<String>) -> Option<Diagnostic> {
    let why = match address.value.parse::<Ipv4Addr>() {
        Ok(ip) if u32::from(ip) & TAILNET.1 == TAILNET.0 => return None,
        Ok(_) => "outside the tailnet's addresses, 100.64.0.0/10",
        Err(_) if address.value.starts_with("fd7a:") => {
            "the device's IPv6 address: give its IPv4 address on the tailnet"
        }
        Err(_) => "not an IPv4 address (a name or a tag cannot be matched by the host)",
    };
    Some(
        Diagnostic::error(
            "admin-not-tailnet",
            format!(
                "admin device `{device}`: `{}` is not a tailnet address",
                address.value
            ),
        )
        .at(address.span.clone(), why)
        .help(format!(
            "run `tailscale ip -4` on {device} (or read it in the Tailscale admin console's Machines page) and write that address, 100.x.y.z"
        )),
    )
}

#[cfg(test)]
mod tests {
    fn errors(admins: &str) -> Vec<(String, String)> {
        let text = format!(
            "[homelab]\nname = \"h\"\ndomain = \"example.org\"\ntimezone = \"UTC\"\n\
             admin_email = \"a@example.org\"\n[hosts.s]\naddress = \"192.168.1.2\"\nram_gb = 8\n\
             [access.tailscale]\nadmins = {admins}\n"
        );
        match crate::spec::parse(&text) {
            Ok(_) => Vec::new(),
            Err(ds) => ds
                .into_iter()
                .map(|d| (d.code.to_string(), d.primary.unwrap().note))
                .collect(),
        }
    }

    #[test]
    fn tailnet_addresses_are_admin_devices() {
        let text = "[homelab]\nname = \"h\"\ndomain = \"example.org\"\ntimezone = \"UTC\"\n\
                    admin_email = \"a@example.org\"\n[hosts.s]\naddress = \"192.168.1.2\"\nram_gb = 8\n\
                    [access.tailscale]\nadmins = { laptop = \"100.64.0.1\", phone = \"100.127.255.254\" }\n";
        let spec = crate::spec::parse(text).unwrap();
        let admins = &spec.access.tailscale.unwrap().admins;
        let got: Vec<(&str, &str)> = admins
            .iter()
            .map(|d| (d.name.value.as_str(), d.address.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [("laptop", "100.64.0.1"), ("phone", "100.127.255.254")]
        );
    }

    #[test]
    fn an_address_off_the_tailnet_is_refused_with_why() {
        for (address, why) in [
            ("100.63.255.255", "outside the tailnet's addresses"),
            ("100.128.0.0", "outside the tailnet's addresses"),
            ("192.168.1.20", "outside the tailnet's addresses"),
            ("fd7a:115c:a1e0::1", "the device's IPv6 address"),
            ("laptop.tail1234.ts.net", "not an IPv4 address"),
            ("tag:admin", "not an IPv4 address"),
        ] {
            let e = errors(&format!("{{ laptop = \"{address}\" }}"));
            assert_eq!(e.len(), 1, "{address}: {e:?}");
            assert_eq!(e[0].0, "admin-not-tailnet", "{address}");
            assert!(e[0].1.starts_with(why), "{address}: {}", e[0].1);
        }
    }

    #[test]
    fn a_device_needs_a_name_and_a_string() {
        assert_eq!(errors("{ Laptop = \"100.64.0.1\" }")[0].0, "invalid-name");
        assert_eq!(errors("{ laptop = 1 }")[0].0, "wrong-type");
        assert_eq!(errors("[\"100.64.0.1\"]")[0].0, "wrong-type");
    }
}
