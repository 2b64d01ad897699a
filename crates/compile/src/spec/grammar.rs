//! Target grammars: what a spec value may look like where it leaves a Nix
//! string literal.
//!
//! The Nix printer escapes every string, so no value can become Nix code.
//! But some values go further: a pool name into a shell script and a ZFS
//! command line, the backup schedule into a unit file's `OnCalendar=`, a key into an `authorized_keys` line, a
//! user name into `/etc/passwd`, a disk into a device path. Each is checked
//! here against the grammar of that target, so a value that would mean
//! something else there is refused in the spec stage with a diagnostic, and
//! never reaches a generated file.

use super::reader::{Sink, Sp};
use crate::diagnostic::Diagnostic;
use toml::de::{DeTable, DeValue};

/// A grammar a value must match, with what to tell the user when not.
pub struct Grammar {
    /// What the value is, for the message: "ZFS pool name".
    pub what: &'static str,
    pub accepts: fn(&str) -> bool,
    /// The caret note: what was expected.
    pub expected: &'static str,
    pub help: &'static str,
}

impl Grammar {
    /// Pushes a diagnostic when `s` does not match.
    pub fn check(&self, sink: &mut Sink, s: &Sp<String>) -> bool {
        if (self.accepts)(&s.value) {
            return true;
        }
        let code = if s.value.chars().any(char::is_control) {
            "control-character"
        } else {
            "invalid-value"
        };
        sink.push(
            Diagnostic::error(code, format!("`{}` is not a valid {}", s.value, self.what))
                .at(s.span.clone(), self.expected)
                .help(self.help),
        );
        false
    }
}

pub(crate) const POOL_NAME: Grammar = Grammar {
    what: "ZFS pool name",
    accepts: is_pool_name,
    expected: "a letter, then letters, digits, `_`, `-`, `.` or `:`",
    help: "pool names appear in ZFS commands and scripts; use a plain name like `tank` or `data`",
};

pub(crate) const CALENDAR: Grammar = Grammar {
    what: "systemd calendar expression",
    accepts: is_calendar,
    expected: "one line like `daily` or `*-*-* 03:30:00`",
    help: "write a systemd OnCalendar= value: `daily`, `weekly` or `*-*-* 03:30:00` (see `man systemd.time`)",
};

pub(crate) const FLAKE_REF: Grammar = Grammar {
    what: "flake reference",
    accepts: is_flake_ref,
    expected: "a flake URL like `github:owner/homelab/v0.2.0`",
    help: "name your fork as a flake input URL: `github:<owner>/<repo>/<tag or commit>` (also `gitlab:`, `sourcehut:`, `git+https://`, `git+ssh://`, `https://`; a local clone: `git+file:///…` or `path:/…`)",
};

pub(crate) const USER_NAME: Grammar = Grammar {
    what: "user name",
    accepts: is_user_name,
    expected: "a lowercase letter or `_`, then up to 31 letters, digits, `_` or `-`",
    help: "use a plain Linux user name like `admin` or `alice`",
};

pub const ADDRESS: Grammar = Grammar {
    what: "host address",
    accepts: is_address,
    expected: "an IP address or a DNS name",
    help: "write the LAN address (`192.168.1.10`) or the name the deployer resolves (`nas.lan`)",
};

pub const DISK: Grammar = Grammar {
    what: "disk path",
    accepts: is_disk,
    expected: "a device path under /dev, e.g. `/dev/disk/by-id/…`",
    help: "use the stable name from `ls -l /dev/disk/by-id/`",
};

pub const COMPRESSION: Grammar = Grammar {
    what: "ZFS compression",
    accepts: is_compression,
    expected: "`zstd`, `zstd-<1-19>`, `lz4`, `gzip-<1-9>`, `zle`, `on` or `off`",
    help: "`zstd` suits almost everything; `lz4` is the fastest",
};

pub(crate) const UUID: Grammar = Grammar {
    what: "tunnel id",
    accepts: is_uuid,
    expected: "a UUID like `6ff42ae2-765d-4adf-8112-31c55c1551ef`",
    help: "copy the tunnel id from `cloudflared tunnel list`",
};

pub const PROVIDER: Grammar = Grammar {
    what: "DNS provider name",
    accepts: is_provider,
    expected: "a lego provider code such as `cloudflare`",
    help: "see https://go-acme.github.io/lego/dns/ for the codes",
};

/// ZFS pool name: a letter first, then alphanumerics, `_`, `-`, `.`, `:`
/// (zpool(8) also allows spaces; a space would split a shell word, so it
/// is refused here). The vdev keywords zpool refuses as names, too.
pub(crate) fn is_pool_name(s: &str) -> bool {
    const RESERVED: [&str; 6] = ["mirror", "raidz", "draid", "spare", "log", "special"];
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let reserved = RESERVED.iter().any(|r| s.starts_with(r))
        || (s.len() >= 2 && s.starts_with('c') && s.as_bytes()[1].is_ascii_digit());
    first_ok
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
        && !reserved
}

/// A systemd calendar expression, kept to the characters its grammar uses
/// (`man systemd.time`): no newline or other control character can end the
/// `OnCalendar=` line, no `;`, `$`, `%` or quote can mean anything in a
/// unit file.
pub(crate) fn is_calendar(s: &str) -> bool {
    !s.trim().is_empty()
        && s.len() <= 128
        && s.trim() == s
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " *:,./~-+".contains(c))
}

/// A flake reference of a scheme Nix fetches, with a location after it,
/// of URL characters only (it is the `url` of a flake input).
/// A flake reference `[homelab] homelab_flake` accepts.
pub fn is_flake_ref(s: &str) -> bool {
    const SCHEMES: [&str; 8] = [
        "github:",
        "gitlab:",
        "sourcehut:",
        "git+https://",
        "git+ssh://",
        "git+file:///",
        "https://",
        "path:/",
    ];
    let Some(rest) = SCHEMES.iter().find_map(|p| s.strip_prefix(p)) else {
        return false;
    };
    !rest.is_empty()
        && s.len() <= 256
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/._-~+?=&@%".contains(c))
}

/// A Linux user name (the `useradd` default pattern, 32 characters).
pub(crate) fn is_user_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Accounts the system or the generated configuration already has: the
/// administrator must be a separate, ordinary login.
pub(crate) const RESERVED_USERS: [&str; 8] = [
    "root", "nobody", "daemon", "bin", "sys", "sshd", "nixbld", "syncoid",
];

/// An IP address, or a DNS name (letters of any case, digits, hyphens).
/// (`core::net` only parses text; it opens nothing.)
pub(crate) fn is_address(s: &str) -> bool {
    if s.parse::<core::net::IpAddr>().is_ok() {
        return true;
    }
    is_dns_name(s.strip_suffix('.').unwrap_or(s))
}

/// A DNS name: dot-separated labels of letters of any case, digits and
/// inner hyphens.
pub(crate) fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// A device path under `/dev` of the characters udev puts in link names.
pub(crate) fn is_disk(s: &str) -> bool {
    s.strip_prefix("/dev/").is_some_and(|rest| {
        !rest.is_empty()
            && s.len() <= 255
            && !rest
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._:+@/-".contains(c))
    })
}

/// The name of an NFS export in `[external.<host>.exports]`: it becomes a
/// folder of the mount point (`/mnt/<host>/<export>`) and a systemd mount
/// unit's name, so it is one plain path component. A letter or digit
/// first, then letters, digits, `_` and `-`: no `/`, no `.` and so no `..`,
/// nothing a shell or a unit file reads.
pub(crate) fn is_export_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.len() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Folders of a server that are never the data a service works in: its
/// root, and the trees of the operating system (programs, libraries, the
/// boot loader, configuration, root's home, kernel and runtime state, the
/// Nix store). Mounting one hands a service the server's own system, and
/// through a writable export lets it change it. Data shares live elsewhere:
/// TrueNAS under `/mnt/<pool>`, Synology under `/volume<n>`, a Linux server
/// under `/srv`, `/export` or `/home`. `/var` is not listed: `/var/nfs` is
/// a common place for shares.
pub(crate) const SYSTEM_FOLDERS: [&str; 13] = [
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/nix", "/proc", "/root", "/run", "/sbin",
    "/sys", "/usr",
];

/// What is wrong with the exported folder of an NFS export, if anything.
/// It reaches `fileSystems.<mount>.device` (`<address>:<path>`, a field of
/// `/etc/fstab`), so it is one word of printable characters; it must be
/// absolute and normal (no empty, `.` or `..` component, no trailing `/`),
/// not the server's root and not below one of [`SYSTEM_FOLDERS`].
pub(crate) fn export_path_problem(s: &str) -> Option<String> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it holds a space or a control character".into());
    }
    let Some(rest) = s.strip_prefix('/') else {
        return Some("it is not absolute".into());
    };
    if rest.is_empty() {
        return Some("it is the server's root folder".into());
    }
    if let Some(bad) = rest
        .split('/')
        .find(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Some(if bad.is_empty() {
            "it has an empty component (`//` or a trailing `/`)".into()
        } else {
            format!("it has a `{bad}` component")
        });
    }
    SYSTEM_FOLDERS
        .iter()
        .find(|f| s == **f || s.strip_prefix(**f).is_some_and(|r| r.starts_with('/')))
        .map(|f| format!("it is in `{f}`, a system folder of the server"))
}

/// The `compression` values OpenZFS accepts.
pub(crate) fn is_compression(s: &str) -> bool {
    let level = |rest: &str, max: u32| rest.parse::<u32>().is_ok_and(|n| (1..=max).contains(&n));
    match s {
        "on" | "off" | "lz4" | "zstd" | "zstd-fast" | "gzip" | "lzjb" | "zle" => true,
        _ => {
            if let Some(n) = s.strip_prefix("zstd-fast-") {
                matches!(n, "500" | "1000") || level(n, 100)
            } else if let Some(n) = s.strip_prefix("zstd-") {
                level(n, 19)
            } else if let Some(n) = s.strip_prefix("gzip-") {
                level(n, 9)
            } else {
                false
            }
        }
    }
}

pub(crate) fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

pub(crate) fn is_provider(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
}

/// An `authorized_keys` line must stay one line: a newline (or any control
/// character) in a key's comment would start a second line, with options
/// such as `command=` the spec never meant.
pub(crate) fn ssh_key_is_one_line(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// Reports every string in the document (values and keys) holding a NUL
/// byte: Nix strings cannot hold one, C code reading the generated files
/// would stop at it, and nothing in a spec needs it.
pub fn no_nul(table: &DeTable, sink: &mut Sink) {
    for (key, value) in table.iter() {
        if key.get_ref().contains('\0') {
            push_nul(sink, key.span());
        }
        no_nul_value(value, sink);
    }
}

fn no_nul_value(v: &toml::Spanned<DeValue>, sink: &mut Sink) {
    match v.get_ref() {
        DeValue::String(s) if s.contains('\0') => push_nul(sink, v.span()),
        DeValue::Array(items) => items.iter().for_each(|i| no_nul_value(i, sink)),
        DeValue::Table(t) => no_nul(t, sink),
        _ => {}
    }
}

fn push_nul(sink: &mut Sink, span: crate::diagnostic::Span) {
    sink.push(
        Diagnostic::error("control-character", "a NUL byte in the spec")
            .at(span, "this text holds `\\u0000`")
            .help("remove the `\\u0000` escape: no setting can hold a NUL byte"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_names_are_plain() {
        for ok in ["tank", "data", "rpool", "tank2", "fast_ssd", "a.b:c-d"] {
            assert!(is_pool_name(ok), "{ok}");
        }
        for bad in [
            "tank$(touch /tmp/pwned)",
            "tank;reboot",
            "tank pool",
            "2tank",
            "-tank",
            "mirror1",
            "c0",
            "",
            "tank\n",
            "tank/child",
        ] {
            assert!(!is_pool_name(bad), "{bad}");
        }
    }

    #[test]
    fn calendars_are_one_safe_line() {
        for ok in [
            "daily",
            "*-*-* 03:30:00",
            "Mon..Fri 02:00",
            "hourly",
            "*-*-1/2",
        ] {
            assert!(is_calendar(ok), "{ok}");
        }
        for bad in [
            "daily\nExecStart=/bin/sh",
            "",
            " daily",
            "daily;",
            "$HOME",
            "%h",
        ] {
            assert!(!is_calendar(bad), "{bad}");
        }
    }

    #[test]
    fn user_names_follow_useradd() {
        assert!(is_user_name("admin"));
        assert!(is_user_name("_svc-1"));
        for bad in ["Admin", "1x", "a b", "", "x\n", &"a".repeat(33)] {
            assert!(!is_user_name(bad), "{bad}");
        }
    }

    #[test]
    fn addresses_are_ips_or_names() {
        for ok in [
            "192.168.1.10",
            "fd00::1",
            "nas.lan",
            "NAS",
            "server.example.org.",
        ] {
            assert!(is_address(ok), "{ok}");
        }
        for bad in ["a b", "-x", "x..y", "user@host", "host:22", "$(id)", ""] {
            assert!(!is_address(bad), "{bad}");
        }
    }

    #[test]
    fn disks_are_device_paths() {
        assert!(is_disk(
            "/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S649NL0T123456"
        ));
        assert!(is_disk("/dev/sda"));
        for bad in [
            "/dev/",
            "/etc/passwd",
            "/dev/../etc",
            "/dev/a b",
            "sda",
            "/dev/x;y",
        ] {
            assert!(!is_disk(bad), "{bad}");
        }
    }

    #[test]
    fn export_names_are_one_plain_component() {
        for ok in ["media", "Photos", "tv_shows", "backup-2", "0"] {
            assert!(is_export_name(ok), "{ok}");
        }
        for bad in [
            "..",
            ".",
            "../../etc",
            "a/b",
            "",
            "-x",
            ".hidden",
            "a b",
            "x\n",
            &"a".repeat(64),
        ] {
            assert!(!is_export_name(bad), "{bad}");
        }
    }

    #[test]
    fn exported_folders_are_absolute_normal_and_not_system_folders() {
        for ok in [
            "/mnt/tank/media",
            "/volume1/photos",
            "/srv/nfs",
            "/var/nfs/general",
            "/etcetera",
            "/mnt/a.b/c-d",
        ] {
            assert_eq!(export_path_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("mnt/tank", "not absolute"),
            ("/", "root"),
            ("/mnt/tank/../../etc", "`..`"),
            ("/mnt/./tank", "`.`"),
            ("/mnt//tank", "empty"),
            ("/mnt/tank/", "empty"),
            ("/etc", "`/etc`"),
            ("/etc/nixos", "`/etc`"),
            ("/nix/store", "`/nix`"),
            ("/boot", "`/boot`"),
            ("/mnt/tank media", "space"),
        ] {
            let problem = export_path_problem(bad).unwrap_or_else(|| panic!("{bad} passed"));
            assert!(problem.contains(why), "{bad}: {problem}");
        }
    }

    #[test]
    fn compression_values_are_openzfs_ones() {
        for ok in ["zstd", "zstd-3", "lz4", "gzip-9", "off", "zstd-fast-10"] {
            assert!(is_compression(ok), "{ok}");
        }
        for bad in ["zstd-20", "gzip-0", "brotli", "", "lz4 "] {
            assert!(!is_compression(bad), "{bad}");
        }
    }

    #[test]
    fn small_grammars() {
        assert!(is_uuid("6ff42ae2-765d-4adf-8112-31c55c1551ef"));
        assert!(!is_uuid("6ff42ae2-765d-4adf-8112"));
        assert!(is_provider("cloudflare") && !is_provider("cloud flare"));
        assert!(ssh_key_is_one_line("ssh-ed25519 AAAA me@x"));
        assert!(!ssh_key_is_one_line(
            "ssh-ed25519 AAAA me\ncommand=\"sh\" ssh-ed25519 AAAA"
        ));
    }
}
