//! Every diagnostic code, in one table: its severity, whether a service
//! can silence it, a one-line summary and where it is documented.
//!
//! Call sites name a code by its string (`Diagnostic::error("port-clash",
//! …)`); this table is what gives the string its meaning. Constructing a
//! diagnostic checks (in debug builds) that the code is here with that
//! severity, `check` validates `[services.<name>.silence]` against the
//! silenceable rows, and `tests/rules.rs` holds the table, the sources and
//! `docs/` to each other: a code missing from its page, or documented and
//! never raised, fails the build.

use super::Severity;

/// The severity a code is raised with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    /// Depends on the finding (`no-offsite`: error for critical data,
    /// warning for standard data).
    ErrorOrWarning,
}

impl Level {
    /// Whether a diagnostic of `severity` may carry a code of this level.
    /// A silenced finding was raised at its own level first.
    pub fn allows(self, severity: Severity) -> bool {
        matches!(
            (self, severity),
            (_, Severity::Silenced)
                | (Level::Error | Level::ErrorOrWarning, Severity::Error)
                | (Level::Warning | Level::ErrorOrWarning, Severity::Warning)
        )
    }
}

/// One diagnostic code.
#[derive(Debug)]
pub struct Rule {
    /// Stable identifier, shown as `error[code]` and `"code"` in JSON.
    pub code: &'static str,
    pub level: Level,
    /// Can be turned off for one service with a reason.
    pub silenceable: bool,
    /// Its documentation: a page under `docs/` and the anchor of the
    /// section that explains it.
    pub doc: &'static str,
    pub summary: &'static str,
}

const fn rule(
    code: &'static str,
    level: Level,
    silenceable: bool,
    doc: &'static str,
    summary: &'static str,
) -> Rule {
    Rule {
        code,
        level,
        silenceable,
        doc,
        summary,
    }
}

use Level::{Error, ErrorOrWarning, Warning};

const SPEC: &str = "diagnostics.md#reading-the-spec";
const RESOLVE: &str = "diagnostics.md#resolving-against-the-catalog";
const BUILD: &str = "diagnostics.md#writing-the-flake";
const SILENCING: &str = "rules.md#silencing-a-rule-for-one-service";

/// Every code, in the order of the documentation. Silenceable rules keep
/// their relative order: help lines list them in it.
#[rustfmt::skip]
pub static RULES: &[Rule] = &[
    // Reading the spec.
    rule("syntax", Error, false, SPEC, "the file is not valid TOML"),
    rule("unknown-key", Error, false, SPEC, "a key the table does not have"),
    rule("wrong-type", Error, false, SPEC, "a value of the wrong type"),
    rule("missing-key", Error, false, SPEC, "a required key is absent"),
    rule("out-of-range", Error, false, SPEC, "an integer outside its range"),
    rule("invalid-value", Error, false, SPEC, "a value that is not one of the allowed ones"),
    rule("invalid-name", Error, false, SPEC, "a host, service, subdomain or domain that is not a DNS name"),
    // Resolving against the catalog.
    rule("no-hosts", Error, false, RESOLVE, "the spec has no host"),
    rule("unknown-service", Error, false, RESOLVE, "a service the catalog does not have"),
    rule("not-a-service", Error, false, RESOLVE, "an infrastructure entry placed as a service"),
    rule("unknown-host", Error, false, RESOLVE, "a host the spec does not have"),
    rule("unknown-export", Error, false, RESOLVE, "an NFS export of no `[external]` host"),
    rule("unknown-channel", Error, false, RESOLVE, "an alert route names a channel `[alerts]` does not have"),
    rule("missing-host", Error, false, RESOLVE, "several hosts and the service does not say which runs it"),
    rule("fixed-port", Error, false, RESOLVE, "`port` on a service whose module cannot move its port"),
    rule("no-port", Error, false, RESOLVE, "`port` on a service that listens on no port"),
    rule("not-proxied", Error, false, RESOLVE, "a web exposure for a service without a web interface"),
    rule("unknown-state", Error, false, RESOLVE, "a data directory the service does not have"),
    rule("unknown-pool", Error, false, RESOLVE, "a ZFS pool the host does not have"),
    rule("replica-without-pool", Error, false, RESOLVE, "the replica host has no ZFS pool"),
    rule("dataset-without-pool", Error, false, RESOLVE, "a plain dataset on a host without a ZFS pool"),
    rule("no-module", Error, false, RESOLVE, "module settings for a service without a NixOS module"),
    rule("missing-dependency", Error, false, RESOLVE, "a service or role the service needs is absent"),
    rule("catalog", Error, false, RESOLVE, "a catalog entry could not be filled in"),
    // Silencing.
    rule("unknown-rule", Error, false, SILENCING, "a silence that names no silenceable rule"),
    rule("unused-silence", Warning, false, SILENCING, "a silence that silences nothing"),
    // Policy: exposure.
    rule("admin-public", Error, true, "rules.md#admin-public--error-silenceable", "an admin tool is public"),
    rule("public-without-auth", Error, true, "rules.md#public-without-auth--error-silenceable", "a public service without authentication"),
    rule("exposure-without-reason", Error, true, "rules.md#exposure-without-reason--error-silenceable", "an exposure wider than the default, without a reason"),
    rule("missing-access", Error, false, "rules.md#missing-access--error", "an exposure without the access path it needs"),
    // Policy: backups.
    rule("no-snapshots", Warning, true, "rules.md#no-snapshots--warning-silenceable", "data on a host without a ZFS pool"),
    rule("no-offsite", ErrorOrWarning, true, "rules.md#no-offsite--error-for-critical-data-warning-for-standard-silenceable", "data with no offsite copy"),
    rule("no-replica", Warning, true, "rules.md#no-replica--warning-silenceable", "critical data on one machine only"),
    rule("critical-without-daily", Error, true, "rules.md#critical-without-daily--error-silenceable", "a schedule that keeps no daily snapshot of critical data"),
    rule("path-clash", Error, false, "rules.md#path-clash--error", "a plain dataset mounted at, above or below other data of its host"),
    rule("duplicate-dataset", Error, false, "rules.md#duplicate-dataset--error", "a plain dataset named like a service, the infrastructure or another dataset"),
    // Policy: secrets.
    rule("literal-secret", Error, true, "rules.md#literal-secret--error-silenceable", "a credential written into the spec"),
    rule("secret-missing", Warning, false, "rules.md#secret-missing--warning", "a secret without its encrypted file"),
    rule("secret-plaintext", Error, false, "rules.md#secret-plaintext--error", "a secret file that is not encrypted"),
    rule("secret-not-a-file", Error, false, "rules.md#secret-not-a-file--error", "a secret's path holds a FIFO, socket, device or folder"),
    rule("secret-recipients", Error, false, "rules.md#secret-recipients--error", "a secret not encrypted to every key that reads it"),
    rule("no-admin-key", Error, false, "rules.md#no-admin-key--error", "nobody could log in"),
    rule("missing-boot-disk", Error, false, "rules.md#missing-boot-disk--error", "a host without a boot disk"),
    rule("placeholder", ErrorOrWarning, false, "rules.md#placeholder--error-for-build-and-secrets-warning-for-check-show-and-report", "an example key or disk of the starter spec, still in place"),
    // Policy: resources.
    rule("ram-high", Warning, false, "rules.md#ram-high--warning-ram-over--error", "services estimated above 80 % of a host's memory"),
    rule("ram-over", Error, false, "rules.md#ram-high--warning-ram-over--error", "services estimated above a host's memory"),
    rule("pool-overcommitted", Error, false, "rules.md#pool-overcommitted--error", "quotas above 85 % of a pool"),
    rule("recordsize", Warning, true, "rules.md#recordsize--warning-silenceable", "a record size that fights the content"),
    // Policy: placement and the media stack.
    rule("missing-hardware", Error, false, "rules.md#missing-hardware--error", "a device the host does not have"),
    rule("vpn-required", Error, false, "rules.md#vpn-required--error", "a torrent client outside the VPN"),
    rule("media-split", Error, false, "rules.md#media-split--error", "the media stack on several hosts"),
    rule("two-metrics-stores", Error, false, "rules.md#two-metrics-stores--error", "a second metrics store beside the first"),
    // Policy: network.
    rule("port-clash", Error, false, "rules.md#port-clash--error", "one port used twice on a host"),
    rule("duplicate-name", Error, false, "rules.md#duplicate-name--error", "two services under one name"),
    // Policy: services on other hosts.
    rule("address-not-ip", Error, false, "rules.md#address-not-ip--error", "a host others reach, or the replica host, known by a DNS name"),
    rule("remote-confined", Error, false, "rules.md#remote-confined--error", "a VPN-confined service served from another host than the proxy"),
    rule("loopback-only", Error, false, "rules.md#loopback-only--error", "a loopback-only service reached from another host"),
    // Policy: configuration that changes nothing.
    rule("unused-tunnel", Warning, false, "rules.md#unused-tunnel--warning", "a tunnel no public service uses"),
    rule("idle-replica", Warning, false, "rules.md#idle-replica--warning", "a replica with no critical dataset to pull"),
    rule("unused-hardware", Warning, false, "rules.md#unused-hardware--warning", "a device no service on the host uses"),
    rule("unscraped-exporter", Warning, false, "rules.md#unscraped-exporter--warning", "an exporter nothing scrapes"),
    rule("unused-schedule", Warning, false, "rules.md#unused-schedule--warning", "a snapshot schedule on data without a dataset"),
    // Added with single sign-on, devices, images and pass-through guards.
    rule("control-character", Error, false, SPEC, "a control character where one line is expected"),
    rule("owned-option", Error, false, "rules.md#owned-option--error", "a pass-through setting homelab sets from the spec"),
    rule("unknown-option", Error, false, "rules.md#unknown-option--error", "a pass-through setting the NixOS module does not have"),
    rule("duplicate-module", Error, false, "rules.md#duplicate-module--error", "two instances of one NixOS module on one host"),
    rule("missing-device", Error, false, "rules.md#missing-device--error", "a serial coordinator without its device path"),
    rule("unpinned-image", Error, false, "rules.md#unpinned-image--error", "a container image without a pinned digest"),
    rule("unused-media-quota", Warning, false, "rules.md#unused-media-quota--warning", "a media quota nothing uses"),
    rule("sso-provider-missing", Error, false, "rules.md#sso-provider-missing--error", "single sign-on without its provider"),
    rule("sso-empty-group", Error, false, "rules.md#sso-empty-group--error", "a single sign-on group without members"),
    rule("sso-unknown-group", Error, false, "rules.md#sso-unknown-group--error", "a group single sign-on does not define"),
    rule("sso-missing", Error, false, "rules.md#sso-missing--error", "service groups without `[access.sso]`"),
    rule("sso-not-enforced", Warning, false, "rules.md#sso-not-enforced--warning", "groups that gate nothing"),
    // Added with alerts.
    rule("alerts-without-alertmanager", Error, false, "rules.md#alerts-without-alertmanager--error", "metric alerts without Alertmanager to send them"),
    rule("alerts-unwatched", Error, false, "rules.md#alerts-unwatched--error", "alerts in a fleet that nothing watches"),
    rule("alertmanager-without-alerts", Warning, false, "rules.md#alertmanager-without-alerts--warning", "Alertmanager without `[alerts]` to send to"),
    rule("unrouted-severity", Warning, false, "rules.md#unrouted-severity--warning", "a severity no alert route sends anywhere"),
    rule("unused-channel", Warning, false, "rules.md#unused-channel--warning", "an alert channel no route names"),
    rule("status-channel-clash", Error, false, "rules.md#status-channel-clash--error", "two status-page alert channels of one type"),
    rule("sso-provider-unreachable", Error, false, "rules.md#sso-provider-unreachable--error", "a client reached from farther away than its provider"),
    rule("sso-ungated", Warning, true, "rules.md#sso-ungated--warning-silenceable", "a service without a login that single sign-on does not guard"),
    // Added with network segments.
    rule("unknown-segment", Error, false, RESOLVE, "a segment `[network.segments]` does not have"),
    rule("segment-clash", Error, false, RESOLVE, "two segments on one VLAN or subnet, or a segment over the LAN"),
    rule("segment-address", Error, false, RESOLVE, "an address outside its segment, or taken twice in it"),
    rule("segment-not-joined", Error, false, RESOLVE, "a service on a segment its host does not join"),
    rule("segment-unreachable", Error, false, "rules.md#segment-unreachable--error", "a service a segment uses that its clients cannot reach"),
    rule("segment-open", Warning, true, "rules.md#segment-open--warning-silenceable", "a segment of devices routed to the LAN or the internet"),
    // Added with the catalog's choices.
    rule("vpn-not-optional", Error, false, RESOLVE, "a `vpn` choice the service does not have"),
    rule("exclusive-keys", Error, false, SPEC, "two keys that exclude each other"),
    rule("duplicate-disk", Error, false, "rules.md#duplicate-disk--error", "one disk named twice on a host"),
    rule("public-page-internals", Error, false, "rules.md#public-page-internals--error", "checks added by hand to a public status page"),
    rule("vpn-off", Warning, false, "rules.md#vpn-off--warning", "a torrent client outside the VPN, by choice"),
    // Added with admin devices on the tailnet.
    rule("admin-not-tailnet", Error, false, SPEC, "an admin device's address that is not on the tailnet"),
    rule("no-admin-devices", Error, false, "rules.md#no-admin-devices--error", "an `admins` service and no admin device to reach it"),
    // Writing the flake.
    rule("edited-by-hand", Error, false, BUILD, "generated files were changed since the last build"),
];

/// The row of `code`, if it is one.
pub fn lookup(code: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.code == code)
}

/// Codes of the rules that can be silenced for one service (or one
/// plain dataset).
pub fn silenceable() -> Vec<&'static str> {
    RULES
        .iter()
        .filter(|r| r.silenceable)
        .map(|r| r.code)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique() {
        for (n, r) in RULES.iter().enumerate() {
            assert!(
                RULES[n + 1..].iter().all(|o| o.code != r.code),
                "`{}` is listed twice",
                r.code
            );
        }
    }

    #[test]
    fn silenceable_rules_keep_their_order() {
        assert_eq!(
            silenceable(),
            [
                "admin-public",
                "public-without-auth",
                "exposure-without-reason",
                "no-snapshots",
                "no-offsite",
                "no-replica",
                "critical-without-daily",
                "literal-secret",
                "recordsize",
                "sso-ungated",
                "segment-open",
            ]
        );
    }

    #[test]
    fn a_level_allows_its_severities() {
        assert!(Level::Error.allows(Severity::Error));
        assert!(!Level::Error.allows(Severity::Warning));
        assert!(!Level::Warning.allows(Severity::Error));
        assert!(Level::ErrorOrWarning.allows(Severity::Warning));
        assert!(Level::Warning.allows(Severity::Silenced));
    }
}
