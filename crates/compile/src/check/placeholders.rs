//! Values the project ships as examples, still in a spec: the admin key of
//! `homelab init` and the README (and of each built-in example), whose
//! private half nobody holds, and boot or pool disks that name no disk
//! (`/dev/disk/by-id/nvme-YOUR-BOOT-DISK`). `check`, `show` and `report`
//! work on such a spec (it is how one starts), so the finding is a
//! warning there; the commands that write from the spec — `build`,
//! `secrets` and the installer — make it an error ([`as_errors`]): a
//! secret encrypted to the example key can be read by nobody, and a
//! placeholder disk cannot be installed.

use crate::diagnostic::{Diagnostic, Severity};
use crate::fleet::Fleet;
use crate::spec::Sp;

/// The diagnostic code.
pub const CODE: &str = "placeholder";

/// Where each shipped example key comes from, by its base64 body: the
/// starter spec (`homelab init`, README.md) and the built-in examples.
/// `tests` below hold the list to the files: every key they carry is here.
pub const EXAMPLE_KEYS: &[(&str, &str)] = &[
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAIAUr/CbQjP5d7q+2ClaqY3sG6QLwEf/fWpttzLV3kRgd",
        "the example key of `homelab init` and the README",
    ),
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAIPHsjWnzXS2vGbyhlOffm+BBDBOJA9xeRG9qZQeN2u2h",
        "the example key of examples/frame1",
    ),
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAIF0w8WNdzdhzbxPFZKKJsuDacooces0BzH1d5hBF929T",
        "the example key of examples/frame1",
    ),
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAII65ANq94G89AIZbW5FfU6va1Rc8N90YjcxZQAuKG2TX",
        "the example key of examples/nuc and examples/family",
    ),
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAICL8l2H70FvPcoqPKxr/+fFrGq/umogEVm0qf34Fk9Wt",
        "the example key of examples/nuc",
    ),
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAIKNF3rLRYwxKY2JtiZlfIldH8PfARHeERfE8pjOcr+cq",
        "the example key of examples/family",
    ),
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAIEfkeW02ImCSAPVDb6ACvBwXZECChj52b0zVXkDjmWnJ",
        "the example key of examples/family",
    ),
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAIERGbyzrAndgEiSlSqzir/1IVW09TglR6AVhJH3sS6Gv",
        "the example key of examples/family",
    ),
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAIF3kUQQGsZjzsM4m11ykErVbOvaLewt4SDTXpn505+mc",
        "the example key of examples/family and examples/forge",
    ),
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAIA9HtfSX7uI4Gb2QOHhXAybBI9NGYE8PMycgZyWlBlf1",
        "the example key of examples/forge",
    ),
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAIIimZ5GTDj+oOeU8uuwVeyXoczvq3hxENl8gJFbwBq5X",
        "the example key of examples/forge",
    ),
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAID95ADo2HOpQNemsiantQNbukuR/CbYxfeSS8VtEdYuX",
        "the example key of examples/forge",
    ),
    (
        "AAAAC3NzaC1lZDI1NTE5AAAAIA1Aer95F83M5XubwXY59gRfTzK7d9acvkZt/hQy7hqP",
        "the example key of examples/forge",
    ),
];

/// Disks the documentation shows as examples (docs/install.md).
const EXAMPLE_DISKS: &[&str] = &["/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T000000"];

/// Where a key line comes from when it is one the project ships.
pub fn example_key(line: &str) -> Option<&'static str> {
    let body = line.split_whitespace().nth(1)?;
    EXAMPLE_KEYS
        .iter()
        .find(|(key, _)| *key == body)
        .map(|(_, from)| *from)
}

/// Whether a disk path is a placeholder: `YOUR-…` (any case), or a disk
/// the documentation shows as an example.
pub fn placeholder_disk(path: &str) -> bool {
    path.to_ascii_uppercase().contains("YOUR-") || EXAMPLE_DISKS.contains(&path)
}

/// How to print one's own key, for the help lines.
const OWN_KEY: &str = "print it with `cat ~/.ssh/id_ed25519.pub`, and make one with `ssh-keygen -t ed25519` if there is none";

/// Every shipped example value in the spec, as a warning.
pub(crate) fn placeholders(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let key = |out: &mut Vec<Diagnostic>, what: &str, key: &Sp<String>, help: String| {
        if let Some(from) = example_key(&key.value) {
            out.push(
                Diagnostic::warning(CODE, format!("{what} {from}"))
                    .at(
                        key.span.clone(),
                        "nobody holds its private half: secrets encrypted to it cannot be read",
                    )
                    .help(help),
            );
        }
    };
    for admin in &fleet.homelab.admin_keys {
        key(
            out,
            "`admin_keys` holds",
            admin,
            format!("put your own public key here ({OWN_KEY})"),
        );
    }
    for host in &fleet.hosts {
        let name = host.name();
        if let Some(host_key) = &host.spec.host_key {
            key(
                out,
                &format!("the `host_key` of `{name}` is"),
                host_key,
                format!(
                    "record the host's own key with `homelab secrets add-host {name} --scan` (or `--generate` before it is installed)"
                ),
            );
        }
        let boot = host.spec.boot.iter().flat_map(|b| &b.disks);
        let disks = boot.map(|d| (d, "boot disk")).chain(
            host.spec
                .pools
                .iter()
                .flat_map(|p| p.disks.iter().map(|d| (d, "pool disk"))),
        );
        for (disk, what) in disks.filter(|(d, _)| placeholder_disk(&d.value)) {
            out.push(
                Diagnostic::warning(
                    CODE,
                    format!("the {what} `{}` of `{name}` is a placeholder", disk.value),
                )
                .at(disk.span.clone(), "names no disk of the machine")
                .help(format!(
                    "on the machine, `ls -l /dev/disk/by-id/` lists its disks by stable name: put the one for `{name}` here (the install erases it)"
                )),
            );
        }
    }
    if let Some(replica) = fleet.backup.as_ref().and_then(|b| b.replica.as_ref()) {
        key(
            out,
            "`replica_public_key` is",
            &replica.public_key,
            "remove it and run `homelab secrets generate`, which makes the key pair and writes its public half here".into(),
        );
    }
}

/// For the commands that write from the spec (`build`, `secrets`, the
/// installer): a placeholder is an error there.
pub fn as_errors(diags: &mut [Diagnostic]) {
    for d in diags.iter_mut().filter(|d| d.code == CODE) {
        d.severity = Severity::Error;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ed25519 key in the starter and the built-in examples is one
    /// the rule knows.
    #[test]
    fn every_shipped_key_is_listed() {
        let texts = crate::examples::names()
            .into_iter()
            .filter_map(crate::examples::get)
            .chain([crate::examples::STARTER]);
        for text in texts {
            for (n, _) in text.match_indices("ssh-ed25519 ") {
                let line = &text[n..text[n..].find(['"', '\n']).map_or(text.len(), |e| n + e)];
                if crate::spec::parse_ssh_key(line).is_none() {
                    continue; // `ssh-ed25519 AAAA…` in a comment
                }
                assert!(example_key(line).is_some(), "unlisted example key: {line}");
            }
        }
    }

    #[test]
    fn placeholder_disks() {
        assert!(placeholder_disk("/dev/disk/by-id/nvme-YOUR-BOOT-DISK"));
        assert!(placeholder_disk("/dev/disk/by-id/ata-your-disk-a"));
        assert!(placeholder_disk(
            "/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T000000"
        ));
        assert!(!placeholder_disk(
            "/dev/disk/by-id/nvme-Samsung_SSD_990_PRO_2TB_S7DNNJ0W123456"
        ));
        assert!(!placeholder_disk("/dev/disk/by-id/nvme-A"));
    }
}
