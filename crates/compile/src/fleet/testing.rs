//! Small specs for the unit tests of the resolver: one valid base, and
//! where a span lands in the text (1-based line and column), so tests pin
//! positions the way a user reads them.

use crate::diagnostic::{Diagnostic, Span, line_col};
use crate::spec::{Spec, parse};

/// Two hosts (`server` with pool `tank`, `nas` without one), no services;
/// 19 lines, so what a test appends starts on line 20.
pub const BASE: &str = r#"[homelab]
name = "home"
domain = "example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEBTIGiXnUDiGk9cY1PIrmdVLGAqMXOkUmnI4w2GTgRN me@laptop"]

[hosts.server]
address = "192.168.1.10"
ram_gb = 16

[hosts.server.pools.tank]
mode = "mirror"
disks = ["/dev/disk/by-id/ata-A", "/dev/disk/by-id/ata-B"]
size = "4T"

[hosts.nas]
address = "192.168.1.20"
ram_gb = 8
"#;

/// The base spec with `more` appended: its text and the parsed spec.
pub fn spec(more: &str) -> (String, Spec) {
    let text = format!("{BASE}{more}");
    let spec = parse(&text).unwrap_or_else(|d| panic!("the test spec parses: {d:?}"));
    (text, spec)
}

/// `line:column` of the start of a span.
pub(crate) fn pos(text: &str, span: &Span) -> String {
    let (line, column) = line_col(text, span.start);
    format!("{line}:{column}")
}

/// `code@line:column` of each diagnostic, for one-line assertions.
pub fn found(text: &str, diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .map(|d| {
            let at = d
                .primary
                .as_ref()
                .map_or("-".into(), |p| pos(text, &p.span));
            format!("{}@{at}", d.code)
        })
        .collect()
}
